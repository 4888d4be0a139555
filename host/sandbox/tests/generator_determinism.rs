//! The generator is a pure function of its options.

use pearlbridge_sandbox::generator::{GeneratorOptions, generate};

fn bytes(opts: &GeneratorOptions) -> String {
    serde_json::to_string(&generate(opts).seed).unwrap()
}

#[test]
fn same_seed_gives_byte_identical_seed_and_equal_facts() {
    let opts = GeneratorOptions {
        seed: 42,
        orders: 250,
        products: 40,
        customers: 50,
    };
    let (a, b) = (generate(&opts), generate(&opts));
    assert_eq!(
        serde_json::to_string(&a.seed).unwrap(),
        serde_json::to_string(&b.seed).unwrap()
    );
    assert_eq!(a.facts, b.facts);
}

#[test]
fn different_seeds_give_different_stores() {
    let a = bytes(&GeneratorOptions {
        seed: 1,
        ..GeneratorOptions::default()
    });
    let b = bytes(&GeneratorOptions {
        seed: 2,
        ..GeneratorOptions::default()
    });
    assert_ne!(a, b);
    let a = generate(&GeneratorOptions {
        seed: 1,
        ..GeneratorOptions::default()
    });
    let b = generate(&GeneratorOptions {
        seed: 2,
        ..GeneratorOptions::default()
    });
    assert_ne!(
        a.seed.bigcommerce.orders[0].order["total_inc_tax"],
        serde_json::Value::Null
    );
    assert_ne!(
        a.seed
            .bigcommerce
            .orders
            .iter()
            .map(|o| o.order["total_inc_tax"].clone())
            .collect::<Vec<_>>(),
        b.seed
            .bigcommerce
            .orders
            .iter()
            .map(|o| o.order["total_inc_tax"].clone())
            .collect::<Vec<_>>()
    );
}

#[test]
fn counts_follow_the_options() {
    let s = generate(&GeneratorOptions {
        seed: 9,
        orders: 17,
        products: 12,
        customers: 7,
    });
    assert_eq!(s.seed.bigcommerce.orders.len(), 17);
    assert_eq!(s.seed.bigcommerce.products.len(), 12);
    assert_eq!(s.seed.bigcommerce.customers.len(), 7);
    let ids: Vec<i64> = s
        .seed
        .bigcommerce
        .orders
        .iter()
        .map(|b| b.order["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, (100..117).collect::<Vec<i64>>());
    let d = GeneratorOptions::default();
    assert_eq!((d.orders, d.products, d.customers), (300, 60, 80));
}

#[test]
fn tiny_and_customerless_stores_still_generate() {
    let s = generate(&GeneratorOptions {
        seed: 3,
        orders: 5,
        products: 1,
        customers: 0,
    });
    assert_eq!(s.seed.bigcommerce.products.len(), 1);
    assert!(
        s.seed
            .bigcommerce
            .orders
            .iter()
            .all(|b| b.order["customer_id"] == 0 && b.customer.is_none())
    );
    assert!(s.seed.brightpearl.contacts.is_empty());
    let s = generate(&GeneratorOptions {
        seed: 3,
        orders: 0,
        products: 5,
        customers: 5,
    });
    assert!(s.seed.bigcommerce.orders.is_empty());
    assert!(s.facts.orders_with_unknown_skus.is_empty());
}
