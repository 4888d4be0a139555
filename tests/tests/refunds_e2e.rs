//! Issue 11, end to end: the orders component posts the demo store's orders, some are
//! refunded in the BigCommerce simulator through its own refund API (full, partial twice,
//! shipping only, store credit, one whose sales order is not invoiced), and the refunds
//! component in the host turns each refund into one Brightpearl sales credit with its
//! refund payments; the not-invoiced one is held, then posts by itself once the sales order
//! is invoiced. Under injected faults (5xx, 429/503, lost responses of committed sales-credit,
//! customer-payment and multi-message POSTs) nothing is duplicated or lost.

use pearlbridge::demo::{DemoEnv, DemoOptions, build_seed};
use pearlbridge::demo_refunds;
use pearlbridge_tests::components_dir;
use serde_json::Value;

fn options(orders: usize, seed: u64, fault_seed: Option<u64>) -> DemoOptions {
    DemoOptions {
        orders,
        seed,
        components_dir: components_dir(),
        time_scale: 200.0,
        fault_seed,
        max_runs: 20,
        ..DemoOptions::default()
    }
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

async fn refund_and_reconcile(opts: DemoOptions) -> (Value, Value, DemoEnv) {
    let (seed, facts) = build_seed(&opts).unwrap();
    let env = DemoEnv::start(&opts, seed, facts).await.unwrap();
    env.run_orders(opts.max_runs).await.unwrap();
    let flow = demo_refunds::run(&env, opts.max_runs).await.unwrap();
    let rec = demo_refunds::reconcile(&env).unwrap();
    (flow, rec, env)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refund_becomes_one_sales_credit_with_its_refund_payments() {
    let (flow, rec, env) = refund_and_reconcile(options(40, 5, None)).await;
    let cases = flow["cases"].as_array().unwrap();
    let names: Vec<&str> = cases.iter().map(|c| c["case"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        vec![
            "full",
            "partial",
            "partial (second refund, same order)",
            "shipping only",
            "store credit",
            "sales order not invoiced"
        ],
        "{flow}"
    );
    assert!(cases.iter().all(|c| c.get("refund").is_some()), "{flow}");
    assert_eq!(n(&flow["credits_created"]), 6, "{flow}");
    assert_eq!(n(&flow["refund_payments_posted"]), 6, "{flow}");
    assert_eq!(n(&flow["blocked_not_invoiced"]), 1, "{flow}");
    assert_eq!(n(&flow["held_before_invoice"]), 1, "{flow}");
    assert_eq!(n(&flow["held"]), 0, "{flow}");
    assert_eq!(n(&rec["checked"]), 6, "{rec}");
    assert_eq!(n(&rec["mismatched"]), 0, "{rec}");
    assert_eq!(n(&rec["duplicated"]), 0, "{rec}");
    assert_eq!(n(&rec["missing"]), 0, "{rec}");
    // Each credit names its sales order as parent and its refund in externalRef; the store
    // credit refund's payment is on the store credit payment method, type PAYMENT.
    let credits: Vec<Value> = env
        .sandbox
        .brightpearl
        .sales_orders()
        .into_iter()
        .filter(|o| o["orderTypeCode"] == "SC")
        .collect();
    for c in cases {
        let credit = credits
            .iter()
            .find(|o| o["externalRef"] == format!("bc-refund-{}", c["refund"]))
            .unwrap_or_else(|| panic!("no credit for {c}"));
        assert_eq!(credit["parentOrderId"], c["sales_order"], "{c}");
    }
    let store_credit = &cases[4];
    let credit = credits
        .iter()
        .find(|o| o["externalRef"] == format!("bc-refund-{}", store_credit["refund"]))
        .unwrap();
    let paid: Vec<Value> = env
        .sandbox
        .brightpearl
        .customer_payments()
        .into_iter()
        .filter(|p| p["orderId"] == credit["id"])
        .collect();
    assert_eq!(paid.len(), 1, "{paid:?}");
    assert_eq!(paid[0]["paymentType"], "PAYMENT");
    assert_eq!(
        paid[0]["transactionRef"].as_str().unwrap(),
        format!(
            "bc-refund-{}-{}",
            store_credit["refund"],
            env.sandbox.bigcommerce.all_refunds()[4]["payments"][0]["id"]
        )
    );
    // The not-invoiced refund's exception is resolved once it posted.
    let open = env
        .host
        .store
        .exceptions(&pearlbridge_capabilities::state::ExceptionFilter {
            client: Some("demo".into()),
            open_only: true,
            ..Default::default()
        })
        .unwrap();
    assert!(
        open.iter()
            .all(|e| !e.entity.starts_with("bigcommerce:refund:")),
        "{:?}",
        open.iter()
            .map(|e| (&e.kind, &e.entity))
            .collect::<Vec<_>>()
    );
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_faults_no_credit_or_refund_payment_is_duplicated_or_lost() {
    for fault_seed in [3, 11] {
        let (flow, rec, env) = refund_and_reconcile(options(40, 5, Some(fault_seed))).await;
        let made = flow["refunds"].as_u64().unwrap();
        assert!(made >= 5, "{flow}");
        assert_eq!(n(&rec["checked"]), made, "seed {fault_seed}: {rec} {flow}");
        assert_eq!(n(&rec["mismatched"]), 0, "seed {fault_seed}: {rec}");
        assert_eq!(n(&rec["duplicated"]), 0, "seed {fault_seed}: {rec}");
        assert_eq!(n(&rec["missing"]), 0, "seed {fault_seed}: {rec}");
        env.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_lost_credit_and_payment_response_is_recovered_once() {
    use pearlbridge_sandbox::faults::{FaultKind, FaultRule};
    let opts = options(40, 5, None);
    let (seed, facts) = build_seed(&opts).unwrap();
    let env = DemoEnv::start(&opts, seed, facts).await.unwrap();
    env.run_orders(opts.max_runs).await.unwrap();
    let rule = |method: Option<&str>, path: &str, probability: f64, kind: FaultKind| FaultRule {
        method: method.map(str::to_string),
        path: path.to_string(),
        probability,
        kind,
    };
    // Every credit and payment POST commits and loses its answer; 503s and 429s around them.
    env.sandbox.brightpearl.faults().set_rules(vec![
        rule(
            Some("POST"),
            "/order-service/sales-credit",
            1.0,
            FaultKind::CommitThenDrop,
        ),
        rule(
            Some("POST"),
            "/accounting-service/customer-payment",
            1.0,
            FaultKind::CommitThenDrop,
        ),
        rule(
            Some("POST"),
            "/multi-message",
            1.0,
            FaultKind::CommitThenDrop,
        ),
        rule(Some("GET"), "*", 0.2, FaultKind::Status { status: 503 }),
    ]);
    env.sandbox.bigcommerce.faults().set_rules(vec![
        rule(None, "*", 0.1, FaultKind::Status { status: 429 }),
        rule(None, "*", 0.1, FaultKind::Status { status: 500 }),
    ]);
    let flow = demo_refunds::run(&env, opts.max_runs).await.unwrap();
    let rec = demo_refunds::reconcile(&env).unwrap();
    assert_eq!(n(&flow["refunds"]), 6, "{flow}");
    assert_eq!(n(&rec["checked"]), 6, "{rec} {flow}");
    assert_eq!(n(&rec["mismatched"]), 0, "{rec}");
    assert_eq!(n(&rec["duplicated"]), 0, "{rec}");
    assert_eq!(n(&rec["missing"]), 0, "{rec}");
    let lost = env
        .host
        .store
        .audit_lines(Some("demo"), u32::MAX)
        .unwrap()
        .into_iter()
        .filter(|l| l.flow == "refunds" && l.outcome == "outcome-unknown")
        .count();
    assert!(lost >= 6, "only {lost} lost responses");
    env.shutdown().await;
}

/// `restock = true`: every credited product row goes back into stock once, with one goods-in
/// note per credit against the sales credit, even when every goods-in POST commits and loses
/// its answer; Brightpearl's on-hand rises by exactly the credited units.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restock_receives_each_credits_units_once_even_when_answers_are_lost() {
    use pearlbridge_sandbox::faults::{FaultKind, FaultRule};
    use std::collections::BTreeMap;
    let opts = options(40, 5, None);
    let (seed, facts) = build_seed(&opts).unwrap();
    let env = DemoEnv::start(&opts, seed, facts).await.unwrap();
    env.run_orders(opts.max_runs).await.unwrap();
    let mut client = (*env.host.client("demo").unwrap()).clone();
    client.flows.get_mut("refunds").unwrap().mapping["restock"] = Value::Bool(true);
    env.host.put_client(client);
    let bp = &env.sandbox.brightpearl;
    // On-hand of every product before the refunds.
    let products: Vec<i64> = bp
        .sales_orders()
        .iter()
        .flat_map(|o| {
            o["orderRows"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(_, r)| r["productId"].as_i64())
                .collect::<Vec<_>>()
        })
        .filter(|p| *p > 0)
        .collect();
    let before: BTreeMap<i64, i64> = products
        .iter()
        .map(|p| (*p, bp.on_hand(*p).values().sum()))
        .collect();
    bp.faults().set_rules(vec![FaultRule {
        method: Some("POST".into()),
        path: "/warehouse-service/order/*/goods-note/goods-in".into(),
        probability: 1.0,
        kind: FaultKind::CommitThenDrop,
    }]);
    let flow = demo_refunds::run(&env, opts.max_runs).await.unwrap();
    assert_eq!(n(&flow["credits_created"]), 6, "{flow}");
    let credits: Vec<Value> = bp
        .sales_orders()
        .into_iter()
        .filter(|o| o["orderTypeCode"] == "SC")
        .collect();
    let notes = bp.goods_in_notes();
    // The credited units of stock-tracked products, per product, from the credits' rows.
    let mut credited: BTreeMap<i64, i64> = BTreeMap::new();
    let mut with_units = 0;
    for c in &credits {
        let mut units = 0;
        for r in c["orderRows"].as_object().unwrap().values() {
            let p = r["productId"].as_i64().unwrap_or(0);
            if p > 0 && before.contains_key(&p) {
                let q: f64 = r["quantity"]["magnitude"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                *credited.entry(p).or_default() += q as i64;
                units += q as i64;
            }
        }
        let of_credit: Vec<&Value> = notes.iter().filter(|n| n["orderId"] == c["id"]).collect();
        if units > 0 {
            with_units += 1;
            assert_eq!(of_credit.len(), 1, "credit {}: {of_credit:?}", c["id"]);
            assert_eq!(
                of_credit[0]["userBatchReference"], c["externalRef"],
                "{of_credit:?}"
            );
        } else {
            assert!(of_credit.is_empty(), "credit {}: {of_credit:?}", c["id"]);
        }
    }
    assert!(with_units >= 4, "{credits:?}");
    assert_eq!(notes.len(), with_units);
    for (p, was) in &before {
        let now: i64 = bp.on_hand(*p).values().sum();
        assert_eq!(
            now - was,
            credited.get(p).copied().unwrap_or(0),
            "product {p}"
        );
    }
    let lost = env
        .host
        .store
        .audit_lines(Some("demo"), u32::MAX)
        .unwrap()
        .into_iter()
        .filter(|l| l.flow == "refunds" && l.outcome == "outcome-unknown")
        .count();
    assert!(lost >= with_units, "only {lost} lost responses");
    env.shutdown().await;
}
