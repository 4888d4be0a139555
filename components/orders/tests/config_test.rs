//! `check-config` lists every problem of the mapping section with its path; `describe`.

use orders::config;

fn paths(json: &str) -> Vec<String> {
    config::check(json).into_iter().map(|p| p.path).collect()
}

#[test]
fn the_fixture_config_is_valid() {
    let json = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/config.json"
    ))
    .unwrap();
    assert_eq!(config::check(&json), vec![]);
    let cfg = config::parse(&json).unwrap();
    assert_eq!(cfg.statuses, vec![11]);
    assert_eq!(cfg.payment_methods["stripe"].code, "STRIPE");
    assert_eq!(cfg.rounding.tolerance.to_string(), "0.02");
    assert_eq!(cfg.sweep.overlap_minutes, 10);
    assert_eq!(cfg.ref_prefix, "BC-");
}

#[test]
fn every_problem_is_listed_with_its_path() {
    let json = r#"{
        "statuses": [11, 99],
        "channel_id": "4",
        "warehouse": {"default": 0, "by_country": {"uk": 3}},
        "nominal_codes": {"sales": "40A0", "shipping": "4040", "handling": "4040", "wrapping": "4000", "discount": "4010", "rounding": "4090", "fees": "1"},
        "tax_codes": {"Standard": ""},
        "no_tax_code": "T0",
        "payment_methods": {"stripe": {"code": "STRIPE"}, "paypal": {"code": "PAYPAL", "bank_nominal_code": "1220"}},
        "on_account_methods": ["paypal"],
        "shipping_methods": {"Flat Rate": 0},
        "customer_groups": {"wholesale": 5},
        "rounding": {"tolerance": "-1", "mode": "nearest"},
        "discount_mode": "spread",
        "colour": 1
    }"#;
    assert_eq!(
        paths(json),
        vec![
            "colour",
            "order_status_id",
            "statuses[1]",
            "channel_id",
            "warehouse.default",
            "warehouse.by_country.uk",
            "nominal_codes.sales",
            "nominal_codes.fees",
            "tax_codes.Standard",
            "payment_methods.stripe.bank_nominal_code",
            "on_account_methods[0]",
            "shipping_methods.Flat Rate",
            "customer_groups.wholesale",
            "discount_mode",
            "rounding.mode",
            "rounding.tolerance",
        ]
    );
    let problems = config::check(json);
    assert_eq!(problems[1].message, "missing");
    assert_eq!(
        problems[6].message,
        "a nominal code is a string of digits, e.g. \"4000\"; got \"40A0\""
    );
    assert_eq!(
        problems[10].message,
        "\"paypal\" is also in payment_methods; a method is either paid or on account"
    );
}

#[test]
fn not_json_or_not_a_table_is_one_problem() {
    assert_eq!(paths("[1]"), vec![""]);
    assert_eq!(config::check("{").len(), 1);
    assert_eq!(paths("{}").len(), 8, "every required key is missing");
}

#[test]
fn describe_names_the_flow() {
    let info = orders::describe();
    assert_eq!(info.name, "orders");
    assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(info.triggers, vec!["scheduled", "events", "replay"]);
    assert_eq!(info.event_scopes, vec!["store/order/*"]);
    assert_eq!(info.default_schedule.as_deref(), Some("5m"));
}

#[test]
fn the_product_index_refresh_defaults_to_an_hour_and_is_checked() {
    let json = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/config.json"
    ))
    .unwrap();
    assert_eq!(
        config::parse(&json).unwrap().product_index_refresh_minutes,
        60
    );
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["product_index_refresh_minutes"] = serde_json::json!(15);
    assert_eq!(
        config::parse(&v.to_string())
            .unwrap()
            .product_index_refresh_minutes,
        15
    );
    v["product_index_refresh_minutes"] = serde_json::json!(0);
    let problems = config::check(&v.to_string());
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path, "product_index_refresh_minutes");
    assert_eq!(problems[0].message, "1 to 10080 minutes; got 0");
}
