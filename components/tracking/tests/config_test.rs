//! `check-config` lists every problem of the mapping section with its path; `describe` and
//! the manifest.

use pearlbridge_sdk::types::{Method, System};
use tracking::config::{self, MissingTrackingAction};

fn paths(json: &str) -> Vec<String> {
    config::check(json).into_iter().map(|p| p.path).collect()
}

#[test]
fn a_minimal_config_takes_the_defaults() {
    let cfg = config::parse(r#"{"shipping_methods": {"6": {"shipping_provider": "royalmail"}}}"#)
        .unwrap();
    assert_eq!(cfg.ref_prefix, "BC-");
    assert_eq!(cfg.missing_tracking.action, MissingTrackingAction::Hold);
    assert_eq!(cfg.missing_tracking.grace_minutes, 60);
    assert_eq!(cfg.sweep.overlap_minutes, 30);
    assert_eq!(cfg.retry_exception_after, 3);
    assert_eq!(cfg.provider(6).unwrap().shipping_provider, "royalmail");
    assert!(cfg.provider(7).is_none());
}

#[test]
fn every_problem_is_listed_with_its_path() {
    let json = r#"{
        "shipping_methods": {
            "6": {"shipping_provider": "royal-mail"},
            "ups": {"shipping_provider": "ups"},
            "8": {"tracking_carrier": "DPD UK", "colour": "red"},
            "9": {"shipping_provider": "carrier_12", "shipping_method": ""},
            "default": "ups"
        },
        "ref_prefix": 7,
        "channel_ids": [4, 0],
        "missing_tracking": {"action": "email", "grace_minutes": -5, "notify": true},
        "sweep": {"overlap_minutes": -1, "initial_lookback_hours": 0, "max_pages": 1000, "speed": 1},
        "retry_exception_after": 0,
        "colour": 1
    }"#;
    let mut got = paths(json);
    got.sort();
    let mut want = vec![
        "colour",
        "shipping_methods.6.shipping_provider",
        "shipping_methods.ups",
        "shipping_methods.8.colour",
        "shipping_methods.8.shipping_provider",
        "shipping_methods.8.tracking_carrier",
        "shipping_methods.9.shipping_method",
        "shipping_methods.default",
        "ref_prefix",
        "channel_ids[1]",
        "missing_tracking.action",
        "missing_tracking.grace_minutes",
        "missing_tracking.notify",
        "sweep.overlap_minutes",
        "sweep.initial_lookback_hours",
        "sweep.max_pages",
        "sweep.speed",
        "retry_exception_after",
    ];
    want.sort();
    assert_eq!(got, want);
    let problems = config::check(json);
    let provider = problems
        .iter()
        .find(|p| p.path == "shipping_methods.6.shipping_provider")
        .unwrap();
    assert!(
        provider.message.contains("\"royalmail\""),
        "{}",
        provider.message
    );
    assert!(provider.message.contains("carrier_<id>"));
}

#[test]
fn shipping_methods_are_required_and_json_is_checked() {
    assert_eq!(paths("{}"), vec!["shipping_methods"]);
    assert_eq!(paths("[1]"), vec![""]);
    assert_eq!(paths("{not json"), vec![""]);
}

#[test]
fn describe_and_the_manifest() {
    let info = tracking::describe();
    assert_eq!(info.name, "tracking");
    assert_eq!(
        info.event_scopes,
        vec![
            "goods-out-note.modified.shipped",
            "order.modified.order-status",
            "store/order/statusUpdated"
        ]
    );
    let needs = tracking::needs();
    let covered = |s, m, p: &str| needs.iter().any(|n| n.covers(s, m, p));
    assert!(covered(
        System::Bigcommerce,
        Method::Post,
        "/v2/orders/100/shipments"
    ));
    // The status write-back and cancellations.
    assert!(covered(System::Bigcommerce, Method::Put, "/v2/orders/100"));
    assert!(covered(
        System::Brightpearl,
        Method::Put,
        "/order-service/order/1/status"
    ));
    assert!(!covered(
        System::Brightpearl,
        Method::Post,
        "/order-service/sales-order"
    ));
    assert!(!covered(
        System::Bigcommerce,
        Method::Put,
        "/v3/catalog/products"
    ));
}

#[test]
fn statuses_map_brightpearl_statuses_to_bigcommerce_and_default_the_cancel_statuses() {
    let cfg = config::parse(
        r#"{"shipping_methods": {"default": {"shipping_provider": ""}},
            "statuses": {"brightpearl_cancelled": 5, "to_bigcommerce": {"12": 12, "20": 8}}}"#,
    )
    .unwrap();
    let st = cfg.statuses.unwrap();
    assert_eq!(st.bigcommerce_status(12), Some(12));
    assert_eq!(st.bigcommerce_status(20), Some(8));
    assert_eq!(st.bigcommerce_status(5), Some(5));
    assert_eq!(st.bigcommerce_status(3), None);
    assert_eq!(st.bigcommerce_cancel, vec![5, 4]);
    assert!(st.cancels(5) && st.cancels(4) && !st.cancels(6) && !st.cancels(11));
    // Without a section: no statuses at all.
    let cfg = config::parse(r#"{"shipping_methods": {}}"#).unwrap();
    assert!(cfg.statuses.is_none());
    // Without brightpearl_cancelled: the write-back only, no cancellations.
    let cfg =
        config::parse(r#"{"shipping_methods": {}, "statuses": {"to_bigcommerce": {"12": 12}}}"#)
            .unwrap();
    assert!(!cfg.statuses.unwrap().cancels(5));
}

#[test]
fn every_bad_status_mapping_is_named_by_its_field() {
    let json = r#"{
        "shipping_methods": {},
        "statuses": {
            "brightpearl_cancelled": "five",
            "bigcommerce_cancel": [5, 11],
            "to_bigcommerce": {"12": 2, "on-hold": 12, "14": 99, "15": 5, "16": 8},
            "colour": 1
        }
    }"#;
    let problems = config::check(json);
    let mut got: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            "statuses.bigcommerce_cancel[1]",
            "statuses.brightpearl_cancelled",
            "statuses.colour",
            "statuses.to_bigcommerce.12",
            "statuses.to_bigcommerce.14",
            "statuses.to_bigcommerce.15",
            "statuses.to_bigcommerce.on-hold",
        ]
    );
    let msg = |path: &str| {
        problems
            .iter()
            .find(|p| p.path == path)
            .unwrap()
            .message
            .clone()
    };
    assert!(
        msg("statuses.to_bigcommerce.12")
            .contains("Shipped / Partially Shipped are set by BigCommerce"),
        "{}",
        msg("statuses.to_bigcommerce.12")
    );
    assert!(msg("statuses.bigcommerce_cancel[1]").contains("got 11"));
    // The cancelled status cannot also be mapped; cancel statuses need the cancelled status.
    let problems = config::check(
        r#"{"shipping_methods": {}, "statuses": {"brightpearl_cancelled": 5, "to_bigcommerce": {"5": 12}}}"#,
    );
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path, "statuses.to_bigcommerce.5");
    assert!(
        problems[0]
            .message
            .contains("is statuses.brightpearl_cancelled")
    );
    let problems =
        config::check(r#"{"shipping_methods": {}, "statuses": {"bigcommerce_cancel": [5]}}"#);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path, "statuses.bigcommerce_cancel");
    assert!(
        problems[0]
            .message
            .contains("needs statuses.brightpearl_cancelled")
    );
}
