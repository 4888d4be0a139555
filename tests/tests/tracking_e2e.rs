//! Issue 10, end to end: the orders component posts the demo store's orders, goods-out notes
//! are shipped in the Brightpearl simulator (whole, partial, split, one without tracking), and
//! the tracking component in the host turns them into BigCommerce shipments, once each.

use std::collections::{BTreeMap, BTreeSet};

use pearlbridge::bindings::{Event, System, Trigger};
use pearlbridge::demo::{DemoEnv, DemoOptions, build_seed};
use pearlbridge::host::RunReport;
use pearlbridge_capabilities::clients::load_client;
use pearlbridge_capabilities::state::ExceptionFilter;
use pearlbridge_sandbox::faults::{FaultKind, FaultRule};
use pearlbridge_tests::components_dir;

/// The second client of the demo host: the same sandbox connections and secrets, the
/// tracking flow pinned.
const CLIENT: &str = "shipping";

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

/// Pin the tracking component for [`CLIENT`] on the demo's host.
async fn add_tracking_client(env: &mut DemoEnv, dir: &std::path::Path) {
    add_tracking_client_with(env, dir, "").await
}

/// [`add_tracking_client`] with more of the mapping section (TOML appended to it).
async fn add_tracking_client_with(env: &mut DemoEnv, dir: &std::path::Path, more: &str) {
    let stored = env
        .host
        .components
        .add(&env.host.runtime, &components_dir().join("tracking.wasm"))
        .await
        .expect("store tracking.wasm (run ./dev build)");
    let bc = &env.sandbox.info.bigcommerce;
    let bp = &env.sandbox.info.brightpearl;
    let toml = format!(
        r#"[connections.bigcommerce]
store_hash = "{}"
api_base = "{}"
token_secret = "demo_bc_token"

[connections.brightpearl]
account = "{}"
api_base = "{}"
auth = "system"
app_ref = "{}"
token_secret = "demo_bp_token"

[flows.tracking]
component = "{}"
sha256 = "{}"

[flows.tracking.mapping]
ref_prefix = "BC-"

[flows.tracking.mapping.shipping_methods]
default = {{ shipping_provider = "royalmail" }}

[flows.tracking.mapping.missing_tracking]
action = "hold"
{}"#,
        bc.store_hash,
        bc.base_url,
        bp.account,
        bp.base_url,
        bp.app_ref,
        stored.id(),
        stored.sha256,
        more
    );
    let client_dir = dir.join(CLIENT);
    std::fs::create_dir_all(&client_dir).unwrap();
    std::fs::write(client_dir.join("client.toml"), toml).unwrap();
    let client = load_client(&client_dir).expect("valid client");
    env.host.add_client(client);
}

async fn run_tracking(env: &DemoEnv) -> RunReport {
    let r = env
        .host
        .run_flow(CLIENT, "tracking", Trigger::Scheduled)
        .await
        .expect("tracking runs");
    assert!(r.outcome.is_ok(), "tracking run failed: {:?}", r.outcome);
    r
}

/// A posted sales order: its id, BigCommerce order id, warehouse and product rows
/// `(row id, order product id, quantity)`.
struct Posted {
    id: i64,
    order_id: i64,
    warehouse_id: i64,
    rows: Vec<(i64, u64, i64)>,
}

fn posted_orders(env: &DemoEnv) -> Vec<Posted> {
    let mut out = vec![];
    for so in env.sandbox.brightpearl.sales_orders() {
        if so["orderTypeCode"] != "SO" {
            continue;
        }
        let Some(order_id) = so["externalRef"].as_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        let mut rows = vec![];
        for (row_id, row) in so["orderRows"].as_object().unwrap() {
            let product = row["productId"].as_i64().unwrap_or(0);
            let opid = row["externalRef"].as_str().and_then(|s| s.parse().ok());
            let qty: f64 = row["quantity"]["magnitude"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0.0);
            if let (true, Some(opid)) = (product > 0, opid) {
                rows.push((row_id.parse().unwrap(), opid, qty as i64));
            }
        }
        if !rows.is_empty() {
            out.push(Posted {
                id: so["id"].as_i64().unwrap(),
                order_id,
                warehouse_id: so["warehouseId"].as_i64().unwrap(),
                rows,
            });
        }
    }
    out
}

/// The shipment a note should become, per order address: address → (tracking, items).
type Expected = BTreeMap<i64, (String, Vec<(u64, i64)>)>;

fn expected(env: &DemoEnv, order_id: i64, lines: &[(u64, i64)], tracking: &str) -> Expected {
    let address: BTreeMap<u64, i64> = env
        .sandbox
        .bigcommerce
        .order_products(order_id)
        .iter()
        .map(|p| {
            (
                p["id"].as_u64().unwrap(),
                p["order_address_id"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut out: Expected = BTreeMap::new();
    for (opid, q) in lines {
        let e = out
            .entry(address[opid])
            .or_insert_with(|| (tracking.to_string(), vec![]));
        e.1.push((*opid, *q));
        e.1.sort();
    }
    out
}

/// A shipment as (order address, tracking number, sorted items).
type Seen = (i64, String, Vec<(u64, i64)>);

/// The BigCommerce shipments of an order.
fn shipments(env: &DemoEnv, order_id: i64) -> BTreeSet<Seen> {
    env.sandbox
        .bigcommerce
        .shipments(order_id)
        .iter()
        .map(|s| {
            let mut items: Vec<(u64, i64)> = s["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    (
                        i["order_product_id"].as_u64().unwrap(),
                        i["quantity"].as_i64().unwrap(),
                    )
                })
                .collect();
            items.sort();
            (
                s["order_address_id"].as_i64().unwrap(),
                s["tracking_number"].as_str().unwrap_or("").to_string(),
                items,
            )
        })
        .collect()
}

fn as_set(e: &[Expected]) -> BTreeSet<Seen> {
    e.iter()
        .flat_map(|m| m.iter().map(|(a, (t, i))| (*a, t.clone(), i.clone())))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipped_notes_become_shipments_once_whole_partial_split_and_held_without_tracking() {
    let opts = options(40, 5, None);
    let (seed, facts) = build_seed(&opts).unwrap();
    let mut env = DemoEnv::start(&opts, seed, facts).await.unwrap();
    env.run_orders(opts.max_runs).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    add_tracking_client(&mut env, tmp.path()).await;

    let posted = posted_orders(&env);
    let bp = env.sandbox.brightpearl.clone();
    // Whole: every product row of the first order on one note.
    let whole = posted
        .iter()
        .find(|p| !p.rows.is_empty())
        .expect("a posted order");
    // Partial: one unit of a line of more than one unit (another order).
    let partial = posted
        .iter()
        .find(|p| p.id != whole.id && p.rows.iter().any(|r| r.2 > 1))
        .expect("an order with a line of 2+ units");
    // Split: an order with 2+ product rows, shipped on two notes.
    let split = posted
        .iter()
        .find(|p| p.id != whole.id && p.id != partial.id && p.rows.len() > 1)
        .expect("an order with two product rows");
    // No tracking: the next order.
    let untracked = posted
        .iter()
        .find(|p| ![whole.id, partial.id, split.id].contains(&p.id))
        .expect("a fourth order");

    let mut want: BTreeMap<i64, Vec<Expected>> = BTreeMap::new();
    let note = |p: &Posted, rows: Vec<(i64, i64)>, tracking: &str| -> i64 {
        let id = bp.create_goods_out_note(p.id, p.warehouse_id, rows);
        bp.ship_goods_out_note(id, None, tracking);
        id
    };
    note(
        whole,
        whole.rows.iter().map(|r| (r.0, r.2)).collect(),
        "TRK-WHOLE",
    );
    want.entry(whole.order_id).or_default().push(expected(
        &env,
        whole.order_id,
        &whole.rows.iter().map(|r| (r.1, r.2)).collect::<Vec<_>>(),
        "TRK-WHOLE",
    ));
    let line = partial.rows.iter().find(|r| r.2 > 1).unwrap();
    note(partial, vec![(line.0, 1)], "TRK-PART");
    want.entry(partial.order_id).or_default().push(expected(
        &env,
        partial.order_id,
        &[(line.1, 1)],
        "TRK-PART",
    ));
    let (first, rest) = split.rows.split_first().unwrap();
    note(split, vec![(first.0, first.2)], "TRK-SPLIT-1");
    note(
        split,
        rest.iter().map(|r| (r.0, r.2)).collect(),
        "TRK-SPLIT-2",
    );
    want.entry(split.order_id).or_default().push(expected(
        &env,
        split.order_id,
        &[(first.1, first.2)],
        "TRK-SPLIT-1",
    ));
    want.entry(split.order_id).or_default().push(expected(
        &env,
        split.order_id,
        &rest.iter().map(|r| (r.1, r.2)).collect::<Vec<_>>(),
        "TRK-SPLIT-2",
    ));
    let want_count_notes = 4;
    let untracked_note = note(
        untracked,
        untracked.rows.iter().map(|r| (r.0, r.2)).collect(),
        "",
    );

    let first_run = run_tracking(&env).await;
    let created = first_run.count("shipments_created");
    let want_count: usize = want.values().flatten().map(|e| e.len()).sum();
    assert_eq!(created as usize, want_count, "{:?}", first_run.outcome);
    for (order_id, notes) in &want {
        assert_eq!(
            shipments(&env, *order_id),
            as_set(notes),
            "BigCommerce order {order_id}"
        );
        // BigCommerce moved the order itself: Shipped (2) or Partially Shipped (3).
        let status = env.sandbox.bigcommerce.order(*order_id).unwrap()["status_id"].clone();
        assert!(status == 2 || status == 3, "order {order_id}: {status}");
    }
    assert_eq!(
        env.sandbox.bigcommerce.order(partial.order_id).unwrap()["status_id"],
        3
    );
    assert!(shipments(&env, untracked.order_id).is_empty());
    let open = env
        .host
        .store
        .exceptions(&ExceptionFilter {
            client: Some(CLIENT.into()),
            open_only: true,
            ..Default::default()
        })
        .unwrap();
    let held: Vec<(&str, &str)> = open
        .iter()
        .map(|e| (e.kind.as_str(), e.entity.as_str()))
        .collect();
    assert_eq!(
        held,
        vec![(
            "missing-tracking",
            format!("brightpearl:note:{untracked_note}").as_str()
        )]
    );
    assert_eq!(open[0].owner.as_str(), "customer-service");
    assert!(open[0].impact.is_some());

    // The reconciliation of the day finds the note without tracking and nothing else (the
    // store's own Shipped orders are older than the window).
    let since = env.sandbox.clock.now() - chrono::Duration::hours(1);
    let rec = env
        .host
        .run_flow(
            CLIENT,
            "tracking",
            Trigger::Replay(vec![format!(
                "reconcile:shipments:{}",
                since.format("%Y-%m-%dT%H:%M:%SZ")
            )]),
        )
        .await
        .unwrap();
    let summary = rec.outcome.as_ref().expect("reconciliation runs");
    assert_eq!(rec.count("missing"), 1, "{:?}", summary.notes);
    assert_eq!(rec.count("missing_shipments"), 1);
    // The whole, partial and split orders, each Shipped or Partially Shipped by now.
    assert_eq!(rec.count("checked_orders"), 3);
    assert_eq!(rec.count("checked_notes") as usize, want_count_notes + 1);
    assert!(
        summary.notes[1].contains(&format!("brightpearl:note:{untracked_note}")),
        "{:?}",
        summary.notes
    );

    // Every shipment emailed the customer once; a second run posts nothing.
    let emails = env.sandbox.bigcommerce.shipment_emails_sent().len();
    assert_eq!(emails, want_count);
    let second = run_tracking(&env).await;
    assert_eq!(second.count("shipments_created"), 0);
    assert_eq!(env.sandbox.bigcommerce.shipment_emails_sent().len(), emails);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_faults_no_shipment_is_duplicated_or_lost() {
    let opts = options(60, 9, None);
    let (seed, facts) = build_seed(&opts).unwrap();
    let mut env = DemoEnv::start(&opts, seed, facts).await.unwrap();
    env.run_orders(opts.max_runs).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    add_tracking_client(&mut env, tmp.path()).await;

    // Every posted order ships: on one note, or (every third) split over two notes.
    let bp = env.sandbox.brightpearl.clone();
    let mut want: BTreeMap<i64, Vec<Expected>> = BTreeMap::new();
    for (i, p) in posted_orders(&env).iter().enumerate() {
        let parts: Vec<&[(i64, u64, i64)]> = if i % 3 == 0 && p.rows.len() > 1 {
            let (a, b) = p.rows.split_at(1);
            vec![a, b]
        } else {
            vec![&p.rows]
        };
        for (n, rows) in parts.into_iter().enumerate() {
            let tracking = format!("TRK-{}-{n}", p.id);
            let id = bp.create_goods_out_note(
                p.id,
                p.warehouse_id,
                rows.iter().map(|r| (r.0, r.2)).collect(),
            );
            bp.ship_goods_out_note(id, None, &tracking);
            want.entry(p.order_id).or_default().push(expected(
                &env,
                p.order_id,
                &rows.iter().map(|r| (r.1, r.2)).collect::<Vec<_>>(),
                &tracking,
            ));
        }
    }
    let want_count: usize = want.values().flatten().map(|e| e.len()).sum();
    assert!(want_count >= 30, "only {want_count} shipments planned");

    // A third of the shipment POSTs commit but lose their answer; 5xx on every read.
    let rule = |method: Option<&str>, path: &str, probability: f64, kind: FaultKind| FaultRule {
        method: method.map(str::to_string),
        path: path.to_string(),
        probability,
        kind,
    };
    env.sandbox.bigcommerce.faults().set_rules(vec![
        rule(
            Some("POST"),
            "/v2/orders/*/shipments",
            0.3,
            FaultKind::CommitThenDrop,
        ),
        rule(Some("GET"), "*", 0.05, FaultKind::Status { status: 503 }),
    ]);
    env.sandbox.brightpearl.faults().set_rules(vec![rule(
        Some("GET"),
        "*",
        0.05,
        FaultKind::Status { status: 502 },
    )]);

    let mut created = 0;
    let mut runs = 0;
    for _ in 0..15 {
        runs += 1;
        let r = env
            .host
            .run_flow(CLIENT, "tracking", Trigger::Scheduled)
            .await
            .expect("tracking runs");
        created += r.count("shipments_created");
        if r.outcome.is_ok() && r.count("pending_retry") == 0 && r.count("shipments_created") == 0 {
            break;
        }
    }
    assert!(runs < 15, "still pending after {runs} runs");
    // The faults did fire: shipment POSTs whose answer was lost.
    let lost = env
        .host
        .store
        .audit_lines(Some(CLIENT), 100_000)
        .unwrap()
        .iter()
        .filter(|l| l.method == "POST" && l.path.ends_with("/shipments") && l.status.is_none())
        .count();
    assert!(lost >= 5, "only {lost} shipment POSTs lost their answer");
    for (order_id, notes) in &want {
        let got = env.sandbox.bigcommerce.shipments(*order_id);
        assert_eq!(
            got.len(),
            notes.iter().map(|e| e.len()).sum::<usize>(),
            "order {order_id}: {got:?}"
        );
        assert_eq!(
            shipments(&env, *order_id),
            as_set(notes),
            "order {order_id}"
        );
    }
    assert_eq!(created as usize, want_count);
    assert_eq!(
        env.sandbox.bigcommerce.shipment_emails_sent().len(),
        want_count
    );
    env.sandbox.bigcommerce.faults().set_rules(vec![]);
    env.sandbox.brightpearl.faults().set_rules(vec![]);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_are_written_back_once_and_paid_cancellations_held_under_faults() {
    let opts = options(40, 13, None);
    let (seed, facts) = build_seed(&opts).unwrap();
    let mut env = DemoEnv::start(&opts, seed, facts).await.unwrap();
    env.run_orders(opts.max_runs).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // The sandbox account's statuses: 5 Cancelled, 7 On hold.
    add_tracking_client_with(
        &mut env,
        tmp.path(),
        r#"
[flows.tracking.mapping.statuses]
brightpearl_cancelled = 5

[flows.tracking.mapping.statuses.to_bigcommerce]
"7" = 12
"#,
    )
    .await;
    let posted = posted_orders(&env);
    assert!(posted.len() >= 12, "only {} posted orders", posted.len());
    let bp = env.sandbox.brightpearl.clone();
    // Eight sales orders put on hold in Brightpearl; three orders cancelled by the customer
    // in BigCommerce (all are paid, so Brightpearl refuses to cancel them).
    let on_hold: Vec<&Posted> = posted.iter().take(8).collect();
    for p in &on_hold {
        bp.try_set_order_status(p.id, 7, None).unwrap();
    }
    let cancelled: Vec<&Posted> = posted.iter().skip(8).take(3).collect();
    for p in &cancelled {
        assert!(env.sandbox.bigcommerce.update_order_status(p.order_id, 5));
    }
    // 40% of the status PUTs commit but lose their answer; 5xx on reads.
    let rule = |method: Option<&str>, path: &str, probability: f64, kind: FaultKind| FaultRule {
        method: method.map(str::to_string),
        path: path.to_string(),
        probability,
        kind,
    };
    env.sandbox.bigcommerce.faults().set_rules(vec![
        rule(Some("PUT"), "/v2/orders/*", 0.4, FaultKind::CommitThenDrop),
        rule(Some("GET"), "*", 0.05, FaultKind::Status { status: 503 }),
    ]);
    env.sandbox.brightpearl.faults().set_rules(vec![rule(
        Some("GET"),
        "*",
        0.05,
        FaultKind::Status { status: 502 },
    )]);
    let mut written = 0;
    let mut runs = 0;
    for _ in 0..15 {
        runs += 1;
        let r = env
            .host
            .run_flow(CLIENT, "tracking", Trigger::Scheduled)
            .await
            .expect("tracking runs");
        written += r.count("statuses_written");
        if r.outcome.is_ok() && r.count("pending_retry") == 0 {
            break;
        }
    }
    assert!(runs < 15, "still pending after {runs} runs");
    env.sandbox.bigcommerce.faults().set_rules(vec![]);
    env.sandbox.brightpearl.faults().set_rules(vec![]);
    assert_eq!(written, 8);
    for p in &on_hold {
        assert_eq!(
            env.sandbox.bigcommerce.order(p.order_id).unwrap()["status_id"],
            12,
            "order {}",
            p.order_id
        );
    }
    // Never a second PUT after one whose answer was lost (the order was read instead).
    let mut lines = env.host.store.audit_lines(Some(CLIENT), 100_000).unwrap();
    lines.sort_by_key(|l| l.at);
    let puts: Vec<_> = lines.iter().filter(|l| l.method == "PUT").collect();
    let lost = puts.iter().filter(|l| l.status.is_none()).count();
    assert!(lost >= 1, "no status PUT lost its answer");
    for p in &on_hold {
        let path = format!("/v2/orders/{}", p.order_id);
        let mine: Vec<_> = puts.iter().filter(|l| l.path == path).collect();
        let first_done = mine
            .iter()
            .position(|l| l.status.is_none_or(|s| (200..300).contains(&s)))
            .unwrap_or_else(|| panic!("order {}: no PUT went through: {mine:?}", p.order_id));
        assert_eq!(first_done + 1, mine.len(), "order {}: {mine:?}", p.order_id);
    }
    // The paid cancellations are held for customer service with Brightpearl's reason; no
    // sales order was cancelled.
    let open = env
        .host
        .store
        .exceptions(&ExceptionFilter {
            client: Some(CLIENT.into()),
            open_only: true,
            ..Default::default()
        })
        .unwrap();
    let mut rejected: Vec<String> = open
        .iter()
        .filter(|e| e.kind == "cancellation-rejected")
        .map(|e| e.entity.clone())
        .collect();
    rejected.sort();
    let mut want: Vec<String> = cancelled
        .iter()
        .map(|p| format!("bigcommerce:order:{}", p.order_id))
        .collect();
    want.sort();
    assert_eq!(rejected, want, "{open:?}");
    for so in env.sandbox.brightpearl.sales_orders() {
        assert_ne!(so["orderStatus"]["orderStatusId"], 5, "{}", so["id"]);
    }
    // BigCommerce's statusUpdated events for our own writes change nothing.
    let events: Vec<Event> = on_hold
        .iter()
        .map(|p| Event {
            source: System::Bigcommerce,
            scope: "store/order/statusUpdated".into(),
            entity_id: p.order_id.to_string(),
            payload: "{}".into(),
        })
        .collect();
    let count_puts = |system: &str| {
        env.host
            .store
            .audit_lines(Some(CLIENT), 100_000)
            .unwrap()
            .iter()
            .filter(|l| l.method == "PUT" && l.system == system)
            .count()
    };
    let (bc_before, bp_before) = (count_puts("bigcommerce"), count_puts("brightpearl"));
    let r = env
        .host
        .run_flow(CLIENT, "tracking", Trigger::Events(events))
        .await
        .unwrap();
    assert!(r.outcome.is_ok(), "{:?}", r.outcome);
    assert_eq!(count_puts("bigcommerce"), bc_before);
    // Only the three held cancellations were retried (and refused again by Brightpearl).
    assert_eq!(count_puts("brightpearl"), bp_before + 3);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellations_both_ways_on_the_sandbox_are_written_once_and_never_echoed() {
    let opts = options(40, 17, None);
    let (mut seed, facts) = build_seed(&opts).unwrap();
    // Two orders awaiting fulfilment with no money taken yet (manual payment, pending):
    // posted without customer payments, so Brightpearl lets them be cancelled.
    let mut unpaid = vec![];
    for b in seed.bigcommerce.orders.iter_mut() {
        let o = &b.order;
        let zero = |k: &str| {
            o[k].as_str()
                .and_then(|s| s.parse::<f64>().ok())
                .unwrap_or(0.0)
                == 0.0
        };
        if o["status_id"] == 11
            && zero("gift_certificate_amount")
            && zero("store_credit_amount")
            && unpaid.len() < 8
        {
            b.order["payment_method"] = "Manual".into();
            b.order["payment_status"] = "pending".into();
            b.transactions.clear();
            unpaid.push(b.order["id"].as_i64().unwrap());
        }
    }
    assert_eq!(unpaid.len(), 8);
    let mut env = DemoEnv::start(&opts, seed, facts).await.unwrap();
    env.run_orders(opts.max_runs).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    add_tracking_client_with(
        &mut env,
        tmp.path(),
        "\n[flows.tracking.mapping.statuses]\nbrightpearl_cancelled = 5\n",
    )
    .await;
    let so_of = |order: i64| {
        env.sandbox
            .brightpearl
            .sales_orders()
            .into_iter()
            .find(|so| so["externalRef"].as_str() == Some(&order.to_string()))
            .unwrap_or_else(|| panic!("order {order} was not posted"))
    };
    // Two of them the orders flow posted (others may be held, e.g. for an unknown SKU).
    let posted: Vec<i64> = unpaid
        .iter()
        .copied()
        .filter(|id| {
            env.sandbox
                .brightpearl
                .sales_orders()
                .iter()
                .any(|so| so["externalRef"].as_str() == Some(&id.to_string()))
        })
        .collect();
    assert!(posted.len() >= 2, "posted: {posted:?} of {unpaid:?}");
    let (a, b) = (posted[0], posted[1]);
    let (so_a, so_b) = (
        so_of(a)["id"].as_i64().unwrap(),
        so_of(b)["id"].as_i64().unwrap(),
    );
    // A: the customer cancels in BigCommerce. B: the warehouse cancels in Brightpearl.
    assert!(env.sandbox.bigcommerce.update_order_status(a, 5));
    env.sandbox
        .brightpearl
        .try_set_order_status(so_b, 5, Some("Out of stock: cancelled"))
        .unwrap();
    let puts = |system: &str| {
        env.host
            .store
            .audit_lines(Some(CLIENT), 100_000)
            .unwrap()
            .iter()
            .filter(|l| l.method == "PUT" && l.system == system)
            .map(|l| l.path.clone())
            .collect::<Vec<_>>()
    };
    let first = run_tracking(&env).await;
    assert_eq!(
        first.count("cancelled_in_brightpearl"),
        1,
        "{:?}",
        first.outcome
    );
    assert_eq!(first.count("cancelled_in_bigcommerce"), 1);
    assert_eq!(so_of(a)["orderStatus"]["orderStatusId"], 5);
    assert_eq!(env.sandbox.bigcommerce.order(b).unwrap()["status_id"], 5);
    assert_eq!(
        puts("brightpearl"),
        vec![format!("/order-service/order/{so_a}/status")]
    );
    assert_eq!(puts("bigcommerce"), vec![format!("/v2/orders/{b}")]);
    // The sweeps see both changes the flow made: each skipped as its own echo (the
    // Brightpearl one already in the first run, whose statuses pass follows its
    // cancellations pass; the BigCommerce one in the next).
    let second = run_tracking(&env).await;
    assert_eq!(
        first.count("echo_skipped") + second.count("echo_skipped"),
        2,
        "{:?} {:?}",
        first.outcome,
        second.outcome
    );
    assert_eq!(second.count("cancelled_in_brightpearl"), 0);
    assert_eq!(second.count("cancelled_in_bigcommerce"), 0);
    // The platforms' events for them change nothing either.
    let events = vec![
        Event {
            source: System::Bigcommerce,
            scope: "store/order/statusUpdated".into(),
            entity_id: b.to_string(),
            payload: "{}".into(),
        },
        Event {
            source: System::Brightpearl,
            scope: "order.modified.order-status".into(),
            entity_id: format!("{so_a},{so_b}"),
            payload: "{}".into(),
        },
    ];
    let r = env
        .host
        .run_flow(CLIENT, "tracking", Trigger::Events(events))
        .await
        .unwrap();
    assert!(r.outcome.is_ok(), "{:?}", r.outcome);
    assert_eq!(puts("brightpearl").len(), 1);
    assert_eq!(puts("bigcommerce").len(), 1);
    let open = env
        .host
        .store
        .exceptions(&ExceptionFilter {
            client: Some(CLIENT.into()),
            open_only: true,
            ..Default::default()
        })
        .unwrap();
    assert!(open.is_empty(), "{open:?}");
    env.shutdown().await;
}
