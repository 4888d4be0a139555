//! Planted SKU gaps and near-matches are exactly what `StoreFacts` lists; every other
//! BigCommerce SKU has exactly one Brightpearl product with the same SKU.

use pearlbridge_sandbox::generator::{GeneratorOptions, generate};
use std::collections::{BTreeMap, BTreeSet};

#[test]
fn planted_gaps_and_near_matches_are_exactly_as_listed() {
    for seed in [1u64, 8, 1234] {
        let s = generate(&GeneratorOptions {
            seed,
            ..GeneratorOptions::default()
        });
        let f = &s.facts;
        assert_eq!(f.unknown_skus.len(), 3, "60 products → 60/20 gaps");
        assert_eq!(
            f.near_match_skus.len(),
            4,
            "60 products → 60/15 near-matches"
        );

        let bc_skus: Vec<String> = s
            .seed
            .bigcommerce
            .products
            .iter()
            .flat_map(|p| {
                p["variants"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v["sku"].as_str().unwrap().to_string())
            })
            .collect();
        let unique: BTreeSet<&String> = bc_skus.iter().collect();
        assert_eq!(
            unique.len(),
            bc_skus.len(),
            "BigCommerce variant SKUs are unique"
        );
        let mut bp: BTreeMap<String, usize> = BTreeMap::new();
        for p in &s.seed.brightpearl.products {
            *bp.entry(p["identity"]["sku"].as_str().unwrap().to_string())
                .or_default() += 1;
        }

        for sku in &f.unknown_skus {
            assert!(bc_skus.contains(sku), "{sku} is sold on BigCommerce");
            let norm = sku.trim().to_lowercase();
            assert!(
                bp.keys().all(|k| k.trim().to_lowercase() != norm),
                "{sku} has no Brightpearl product, even loosely"
            );
        }
        for (bc, bpsku) in &f.near_match_skus {
            assert!(bc_skus.contains(bc), "{bc:?} is sold on BigCommerce");
            assert_eq!(
                bp.get(bpsku),
                Some(&1),
                "{bpsku:?} is one Brightpearl product"
            );
            assert_ne!(bc, bpsku);
            assert_eq!(
                bc.trim().to_lowercase(),
                bpsku.trim().to_lowercase(),
                "differ only by case/whitespace"
            );
            assert!(!bp.contains_key(bc), "no exact match for {bc:?}");
        }
        let planted: BTreeSet<&String> = f
            .unknown_skus
            .iter()
            .chain(f.near_match_skus.iter().map(|(b, _)| b))
            .collect();
        let mut checked = 0;
        for sku in bc_skus.iter().filter(|s| !planted.contains(s)) {
            assert_eq!(
                bp.get(sku),
                Some(&1),
                "{sku} has exactly one Brightpearl product"
            );
            checked += 1;
        }
        assert_eq!(checked + planted.len(), bc_skus.len());
        assert_eq!(
            s.seed.brightpearl.products.len(),
            bc_skus.len() - f.unknown_skus.len()
        );
    }
}

#[test]
fn orders_with_unknown_skus_are_exactly_those_selling_them() {
    let s = generate(&GeneratorOptions::default());
    let unknown: BTreeSet<&str> = s.facts.unknown_skus.iter().map(String::as_str).collect();
    let expected: Vec<i64> = s
        .seed
        .bigcommerce
        .orders
        .iter()
        .filter(|b| {
            b.products
                .iter()
                .any(|p| unknown.contains(p["sku"].as_str().unwrap()))
        })
        .map(|b| b.order["id"].as_i64().unwrap())
        .collect();
    assert_eq!(s.facts.orders_with_unknown_skus, expected);
    assert!(
        expected.len() >= 15,
        "every 20th order sells a gap: {}",
        expected.len()
    );
    let sold_near: BTreeSet<&str> = s
        .seed
        .bigcommerce
        .orders
        .iter()
        .flat_map(|b| b.products.iter().map(|p| p["sku"].as_str().unwrap()))
        .filter(|sku| s.facts.near_match_skus.iter().any(|(bc, _)| bc == sku))
        .collect();
    assert_eq!(
        sold_near.len(),
        s.facts.near_match_skus.len(),
        "every near-match is sold"
    );
}

#[test]
fn order_products_point_at_real_catalog_variants_and_prices_exist_per_price_list() {
    let s = generate(&GeneratorOptions::default());
    let mut variants = BTreeMap::new();
    for p in &s.seed.bigcommerce.products {
        for v in p["variants"].as_array().unwrap() {
            variants.insert(
                v["id"].as_i64().unwrap(),
                (
                    p["id"].as_i64().unwrap(),
                    v["sku"].as_str().unwrap().to_string(),
                ),
            );
        }
    }
    for b in &s.seed.bigcommerce.orders {
        for p in &b.products {
            let (product_id, sku) = &variants[&p["variant_id"].as_i64().unwrap()];
            assert_eq!(p["product_id"].as_i64().unwrap(), *product_id);
            assert_eq!(p["sku"].as_str().unwrap(), sku);
        }
    }
    // Each Brightpearl product has a price on each of the 6 price lists.
    let lists: BTreeSet<i64> = s
        .seed
        .brightpearl
        .price_lists
        .iter()
        .map(|l| l["id"].as_i64().unwrap())
        .collect();
    assert_eq!(lists, BTreeSet::from([1, 2, 3, 4, 5, 6]));
    assert_eq!(
        s.seed.brightpearl.product_prices.len(),
        s.seed.brightpearl.products.len()
    );
    for pp in &s.seed.brightpearl.product_prices {
        let ids: BTreeSet<i64> = pp["priceLists"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["priceListId"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, lists);
    }
    // The tealight (product 112) carries the 4-dp trade price.
    let tealight = s
        .seed
        .brightpearl
        .product_prices
        .iter()
        .find(|p| p["productId"] == 1001)
        .unwrap();
    let trade = tealight["priceLists"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["priceListId"] == 3)
        .unwrap();
    assert_eq!(trade["quantityPrice"]["1"], "0.8325");
    // Availability is keyed by Brightpearl product id with onHand = inStock − allocated.
    for (id, a) in &s.seed.brightpearl.availability {
        assert!(
            s.seed
                .brightpearl
                .products
                .iter()
                .any(|p| p["id"].as_i64().unwrap().to_string() == *id)
        );
        let t = &a["total"];
        assert_eq!(
            t["onHand"].as_i64().unwrap(),
            t["inStock"].as_i64().unwrap() - t["allocated"].as_i64().unwrap()
        );
    }
}
