//! Issue #12 (catalog audit) in the sandbox: the catalog component in the host against both
//! simulators finds exactly what was planted in a generated catalogue — the generator's SKU
//! gaps and near-matches, plus a duplicate on each side, a Brightpearl-only product, a
//! tracking mismatch and a variant without a SKU — and nothing else, largest impact first.
//! (Resolution when fixed and `disable-purchasing` are in `components/catalog/tests`.)

use std::collections::BTreeSet;

use pearlbridge::audit::audit_catalog;
use pearlbridge::demo::{DemoEnv, DemoOptions, build_seed};
use pearlbridge_tests::components_dir;
use serde_json::{Value, json};

fn sku(v: &Value) -> String {
    v["sku"].as_str().unwrap_or("").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_finds_exactly_the_planted_discrepancies_and_nothing_else() {
    let opts = DemoOptions {
        orders: 10,
        seed: 11,
        components_dir: components_dir(),
        time_scale: 200.0,
        max_runs: 10,
        ..DemoOptions::default()
    };
    let (mut seed, facts) = build_seed(&opts).unwrap();
    let facts_ = facts.clone().unwrap();
    let unknown: BTreeSet<String> = facts_.unknown_skus.iter().cloned().collect();
    let near: BTreeSet<String> = facts_
        .near_match_skus
        .iter()
        .map(|(bc, _)| bc.clone())
        .collect();

    // Plants beyond the generator's, on products the generator left clean.
    let bc = &mut seed.bigcommerce.products;
    let clean: Vec<usize> = (0..bc.len())
        .filter(|&i| {
            bc[i]["variants"]
                .as_array()
                .unwrap()
                .iter()
                .all(|v| !unknown.contains(&sku(v)) && !near.contains(&sku(v)))
        })
        .collect();
    let multi: Vec<usize> = clean
        .iter()
        .copied()
        .filter(|&i| bc[i]["variants"].as_array().unwrap().len() > 1)
        .collect();
    let simple: Vec<usize> = clean
        .iter()
        .copied()
        .filter(|&i| bc[i]["variants"].as_array().unwrap().len() == 1)
        .collect();
    // 1. BigCommerce duplicate: a simple product takes another simple product's SKU (and
    //    its Brightpearl product becomes Brightpearl-only).
    let (a, b) = (simple[0], simple[1]);
    let dup_sku = sku(&bc[a]["variants"][0]);
    let orphaned_sku = sku(&bc[b]["variants"][0]);
    bc[b]["variants"][0]["sku"] = json!(dup_sku.clone());
    bc[b]["sku"] = json!(dup_sku.clone());
    // 2. BigCommerce stops tracking a simple product's stock.
    let untracked = simple[2];
    bc[untracked]["inventory_tracking"] = json!("none");
    let untracked_variant = bc[untracked]["variants"][0]["id"].as_i64().unwrap();
    // 3. A variant without a SKU (its Brightpearl product becomes Brightpearl-only too).
    let m = multi[0];
    let blank_variant = bc[m]["variants"][0]["id"].as_i64().unwrap();
    let blanked_sku = sku(&bc[m]["variants"][0]);
    let blank_product = bc[m]["id"].as_i64().unwrap();
    bc[m]["variants"][0]["sku"] = json!("");
    // 4. Brightpearl duplicate: a second product with an existing SKU.
    let bp_dup_sku = sku(&bc[simple[3]]["variants"][0]);
    let bp = &mut seed.brightpearl.products;
    let mut twin = bp
        .iter()
        .find(|p| p["identity"]["sku"] == bp_dup_sku.as_str())
        .unwrap()
        .clone();
    twin["id"] = json!(9001);
    bp.push(twin);

    let bc_products = seed.bigcommerce.products.clone();
    let bp_id_of = |s: &str| -> i64 {
        seed.brightpearl
            .products
            .iter()
            .find(|p| p["identity"]["sku"] == s)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let orphaned_bp = bp_id_of(&orphaned_sku);
    let blanked_bp = bp_id_of(&blanked_sku);
    let env = DemoEnv::start(&opts, seed.clone(), facts).await.unwrap();

    // What must be found: the generator's plants by the rule each falls under, and ours.
    let mut want: BTreeSet<(String, String)> = BTreeSet::new();
    for p in &bc_products {
        let vs = p["variants"].as_array().unwrap();
        let unmatched = |v: &Value| unknown.contains(&sku(v));
        if vs.iter().all(unmatched) {
            want.insert((
                "product-without-brightpearl-master".into(),
                format!("bigcommerce:product:{}", p["id"]),
            ));
            continue;
        }
        for v in vs {
            let entity = format!("bigcommerce:variant:{}", v["id"]);
            if unknown.contains(&sku(v)) {
                want.insert(("sku-not-in-brightpearl".into(), entity));
            } else if near.contains(&sku(v)) {
                want.insert(("sku-near-match".into(), entity));
            }
        }
    }
    want.insert(("duplicate-sku".into(), format!("bigcommerce:sku:{dup_sku}")));
    want.insert((
        "duplicate-sku".into(),
        format!("brightpearl:sku:{bp_dup_sku}"),
    ));
    want.insert((
        "sku-not-in-bigcommerce".into(),
        format!("brightpearl:product:{orphaned_bp}"),
    ));
    want.insert((
        "sku-not-in-bigcommerce".into(),
        format!("brightpearl:product:{blanked_bp}"),
    ));
    want.insert((
        "inventory-tracking-mismatch".into(),
        format!("bigcommerce:variant:{untracked_variant}"),
    ));
    want.insert((
        "sku-not-in-brightpearl".into(),
        format!("bigcommerce:variant:{blank_variant}"),
    ));
    assert!(want.len() >= 10, "{want:?}");

    let r = audit_catalog(&env.host, "demo").await.unwrap();
    let got: BTreeSet<(String, String)> = r
        .discrepancies
        .iter()
        .map(|d| (d.kind.clone(), d.entity.clone()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(r.discrepancy_count as usize, want.len());
    let variants: u64 = bc_products
        .iter()
        .map(|p| p["variants"].as_array().unwrap().len() as u64)
        .sum();
    assert_eq!(r.bigcommerce_variants, variants);
    assert_eq!(
        r.brightpearl_products,
        seed.brightpearl.products.len() as u64
    );
    // Largest impact first; the blank variant's message names its product.
    let amounts: Vec<rust_decimal::Decimal> = r
        .discrepancies
        .iter()
        .map(|d| d.impact.as_deref().unwrap_or("0").parse().unwrap())
        .collect();
    assert!(amounts.windows(2).all(|w| w[0] >= w[1]), "{amounts:?}");
    let blank = r
        .discrepancies
        .iter()
        .find(|d| d.entity == format!("bigcommerce:variant:{blank_variant}"))
        .unwrap();
    assert!(
        blank.message.starts_with(&format!(
            "variant {blank_variant} of product {blank_product} "
        )),
        "{}",
        blank.message
    );
    assert!(blank.message.contains("has no SKU"), "{}", blank.message);
    assert_eq!(blank.owner, "ecommerce");
    assert_eq!(blank.currency.as_deref(), Some("GBP"));

    // A second audit with nothing changed raises the same, resolves nothing.
    let again = audit_catalog(&env.host, "demo").await.unwrap();
    assert_eq!(again.discrepancies, r.discrepancies);

    env.shutdown().await;
}
