//! The pure mapping rules: which BigCommerce order a sales order is, tracking numbers,
//! quantities, and how an existing shipment is recognised.

use serde_json::json;
use tracking::config;
use tracking::mapping::{
    NewShipment, SalesOrderView, Shipment, ShipmentItem, bigcommerce_order_id, same_items,
    same_shipment, tracking_numbers, whole_quantity,
};

fn cfg(extra: serde_json::Value) -> config::TrackingConfig {
    let mut v = json!({"shipping_methods": {"default": {"shipping_provider": ""}}});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    config::parse(&v.to_string()).unwrap()
}

fn so(v: serde_json::Value) -> SalesOrderView {
    serde_json::from_value(v).unwrap()
}

#[test]
fn the_bigcommerce_order_comes_from_external_ref_then_the_ref_prefix() {
    let c = cfg(json!({}));
    assert_eq!(
        bigcommerce_order_id(
            &so(json!({"orderTypeCode": "SO", "externalRef": "118", "reference": "PO-7781"})),
            &c
        ),
        Some(118)
    );
    assert_eq!(
        bigcommerce_order_id(
            &so(json!({"orderTypeCode": "SO", "externalRef": null, "reference": "BC-119"})),
            &c
        ),
        Some(119)
    );
    assert_eq!(
        bigcommerce_order_id(
            &so(json!({"orderTypeCode": "SO", "externalRef": "", "reference": "PO-7781"})),
            &c
        ),
        None
    );
    // A sales credit, or a channel the client did not name, is not a BigCommerce order.
    assert_eq!(
        bigcommerce_order_id(
            &so(json!({"orderTypeCode": "SC", "externalRef": "118"})),
            &c
        ),
        None
    );
    let only_web = cfg(json!({"channel_ids": [4]}));
    let on = |ch: u64| {
        so(
            json!({"orderTypeCode": "SO", "externalRef": "118", "assignment": {"current": {"channelId": ch}}}),
        )
    };
    assert_eq!(bigcommerce_order_id(&on(4), &only_web), Some(118));
    assert_eq!(bigcommerce_order_id(&on(5), &only_web), None);
}

#[test]
fn tracking_numbers_and_quantities() {
    assert_eq!(
        tracking_numbers(" 1Z999 , 1Z998;RM1 "),
        vec!["1Z999", "1Z998", "RM1"]
    );
    assert!(tracking_numbers(" , ").is_empty());
    assert_eq!(whole_quantity(&json!(2)), Some(2));
    assert_eq!(whole_quantity(&json!("3.0000")), Some(3));
    assert_eq!(whole_quantity(&json!("1.5")), None);
    assert_eq!(whole_quantity(&json!(-1)), None);
    assert_eq!(whole_quantity(&json!(null)), None);
}

#[test]
fn a_shipment_is_the_same_when_address_tracking_and_items_are() {
    let item = |order_product_id, quantity| ShipmentItem {
        order_product_id,
        quantity,
    };
    let wanted = NewShipment {
        order_address_id: 11,
        tracking_number: "RM1".into(),
        shipping_provider: "royalmail".into(),
        tracking_carrier: String::new(),
        shipping_method: None,
        comments: String::new(),
        items: vec![item(501, 2), item(502, 1)],
    };
    let existing = Shipment {
        id: 9,
        order_id: 100,
        order_address_id: 11,
        tracking_number: "RM1".into(),
        shipping_provider: "royalmail".into(),
        // The same items in another order, one line split in two.
        items: vec![item(502, 1), item(501, 1), item(501, 1)],
    };
    assert!(same_shipment(&existing, &wanted));
    let other_tracking = Shipment {
        tracking_number: "RM2".into(),
        ..existing.clone()
    };
    assert!(!same_shipment(&other_tracking, &wanted));
    assert!(same_items(&other_tracking, &wanted));
    let fewer = Shipment {
        items: vec![item(501, 2)],
        ..existing.clone()
    };
    assert!(!same_items(&fewer, &wanted));
    let other_address = Shipment {
        order_address_id: 12,
        ..existing
    };
    assert!(!same_items(&other_address, &wanted));
}

#[test]
fn bundle_components_ship_as_whole_bundles_of_their_order_product() {
    use pearlbridge_sdk::bigcommerce::OrderProduct;
    use tracking::mapping::{GoodsOutNote, map_note};
    let c = cfg(json!({}));
    // The orders flow posted the bundle row 80 (2 × KIT, order product 601); Brightpearl
    // added its components 81 (1 per kit) and 82 (2 per kit).
    let sales_order = so(
        json!({"orderTypeCode": "SO", "externalRef": "100", "orderRows": {
            "80": {"productId": 2000, "productSku": "KIT", "quantity": {"magnitude": "2.0000"}, "externalRef": "601",
                   "composition": {"bundleParent": true, "bundleChild": false, "parentOrderRowId": 0}},
            "81": {"productId": 2001, "productSku": "KIT-A", "quantity": {"magnitude": "2.0000"}, "externalRef": "",
                   "composition": {"bundleParent": false, "bundleChild": true, "parentOrderRowId": 80}},
            "82": {"productId": 2002, "productSku": "KIT-B", "quantity": {"magnitude": "4.0000"}, "externalRef": "",
                   "composition": {"bundleParent": false, "bundleChild": true, "parentOrderRowId": 80}}
        }}),
    );
    let products: Vec<OrderProduct> = serde_json::from_value(json!([
        {"id": 601, "order_id": 100, "order_address_id": 11, "sku": "KIT", "quantity": 2}
    ]))
    .unwrap();
    let note = |rows: serde_json::Value| -> GoodsOutNote {
        serde_json::from_value(json!({"orderId": 9001, "status": {"shipped": true},
            "shipping": {"reference": "RM1", "shippingMethodId": 6}, "orderRows": rows}))
        .unwrap()
    };
    let one_kit = note(
        json!({"81": [{"productId": 2001, "quantity": 1}], "82": [{"productId": 2002, "quantity": 2}]}),
    );
    let mapped = map_note(7001, &one_kit, &sales_order, 100, &products, &c).unwrap();
    assert_eq!(
        serde_json::to_value(&mapped.shipments).unwrap(),
        json!([{"order_address_id": 11, "tracking_number": "RM1", "shipping_provider": "",
                "items": [{"order_product_id": 601, "quantity": 1}]}])
    );
    let half_kit = note(
        json!({"81": [{"productId": 2001, "quantity": 1}], "82": [{"productId": 2002, "quantity": 1}]}),
    );
    let problems = map_note(7002, &half_kit, &sales_order, 100, &products, &c).unwrap_err();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].kind, "invalid-note-data");
    assert!(
        problems[0]
            .message
            .contains("the components of bundle row 80 on the note (row 81 × 1, row 82 × 1) do not make whole bundles"),
        "{}",
        problems[0].message
    );
}
