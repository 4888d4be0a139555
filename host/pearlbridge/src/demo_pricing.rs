//! The demo's B2B pricing: the demo client's `pricing` flow pushes the Brightpearl Trade and
//! Wholesale price lists into the BigCommerce price lists assigned to the matching customer
//! groups, then runs again (nothing changed: no record is sent). `--json` adds
//! `flows.pricing` and `reconciliation.prices` (the flow's read-back of the BigCommerce
//! records against the Brightpearl prices after the first run, through the host's
//! connections).

use anyhow::anyhow;
use serde_json::{Value, json};

use crate::bindings::Trigger;
use crate::demo::DemoEnv;
use pearlbridge_sandbox::seed::StoreSeed;

/// The pricing flow's mapping for the sandbox: each BigCommerce price list assignment
/// (customer group → BigCommerce price list, channel) with the Brightpearl price list the
/// orders mapping gives that group; the store's default currency (the stock mapping's).
/// `None` when no assignment maps (exported orders have no price lists): no pricing flow.
pub fn pricing_mapping(seed: &StoreSeed, orders: &Value, stock: &Value) -> Option<Value> {
    let groups: Vec<Value> = seed
        .bigcommerce
        .price_list_assignments
        .iter()
        .filter_map(|a| {
            let group = a.get("customer_group_id")?.as_u64()?;
            let bp = orders["customer_groups"][group.to_string()].as_u64()?;
            Some(json!({
                "customer_group_id": group,
                "price_list_id": bp,
                "bc_price_list_id": a.get("price_list_id")?.as_u64()?,
                "channel_id": a.get("channel_id").and_then(Value::as_u64).unwrap_or(1),
            }))
        })
        .collect();
    (!groups.is_empty()).then(|| {
        json!({"currency": stock["currency"].clone(), "wrong_list": "post-with-group-list", "groups": groups})
    })
}

/// Run pricing twice; returns `flows.pricing` and `reconciliation.prices`.
pub async fn run(env: &DemoEnv) -> anyhow::Result<(Value, Value)> {
    let first = env
        .host
        .run_flow("demo", "pricing", Trigger::Scheduled)
        .await?;
    if let Err(e) = &first.outcome {
        return Err(anyhow!("the pricing run failed: {e}"));
    }
    let second = env
        .host
        .run_flow("demo", "pricing", Trigger::Scheduled)
        .await?;
    if let Err(e) = &second.outcome {
        return Err(anyhow!("the second pricing run failed: {e}"));
    }
    let flow = json!({
        "price_records_upserted": first.count("price_records_upserted"),
        "writes": first.count("writes"),
        "assignments_created": first.count("assignments_created"),
        "customers_checked": first.count("customers_checked"),
        "contacts_on_wrong_list": first.count("contacts_on_wrong_list"),
        "second_run_price_records_upserted": second.count("price_records_upserted"),
    });
    let reconciliation = json!({
        "checked": first.count("prices.checked"),
        "mismatched": first.count("prices.mismatched"),
    });
    Ok((flow, reconciliation))
}

/// The problems of `reconciliation.prices`: mismatched records, or records sent again by a
/// run with nothing changed.
pub fn reconciliation_problems(report: &Value) -> Vec<String> {
    let mut problems = vec![];
    let p = &report["reconciliation"]["prices"];
    if p["mismatched"].as_u64().unwrap_or(0) > 0 {
        problems.push(format!(
            "{} BigCommerce price list records differ from Brightpearl's prices",
            p["mismatched"]
        ));
    }
    let f = &report["flows"]["pricing"];
    if f["second_run_price_records_upserted"].as_u64().unwrap_or(0) > 0 {
        problems.push(format!(
            "a pricing run with nothing changed sent {} price records",
            f["second_run_price_records_upserted"]
        ));
    }
    problems
}

/// The text lines of the demo report.
pub fn render_text(r: &Value) -> String {
    let f = &r["flows"]["pricing"];
    if f.is_null() {
        return String::new();
    }
    let p = &r["reconciliation"]["prices"];
    format!(
        "pricing        {} price list records written in {} call(s), {} assignments created; {} records checked against Brightpearl, {} mismatched; a second run sent {}\n",
        f["price_records_upserted"],
        f["writes"],
        f["assignments_created"],
        p["checked"],
        p["mismatched"],
        f["second_run_price_records_upserted"]
    )
}
