//! The simulator accepts the generator's Brightpearl seed as it is (the seed contract).

mod brightpearl_support;

use brightpearl_support::*;
use pearlbridge_sandbox::brightpearl::BrightpearlSim;
use pearlbridge_sandbox::clock::Clock;
use pearlbridge_sandbox::faults::Faults;
use pearlbridge_sandbox::generator::{GeneratorOptions, generate};
use serde_json::json;

#[tokio::test]
async fn generated_account_serves_lookups_and_orders() {
    let store = generate(&GeneratorOptions {
        seed: 3,
        orders: 5,
        products: 6,
        customers: 5,
    });
    let seed = store.seed.brightpearl.clone();
    let sim = BrightpearlSim::new(config(), seed.clone(), Clock::scaled(60.0), Faults::none());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = sim.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let bp = Bp {
        sim,
        base: format!("http://{addr}"),
        client: reqwest::Client::new(),
    };

    let contact = &seed.contacts[0];
    let contact_id = contact["contactId"].as_i64().unwrap();
    let email = contact["communication"]["emails"]["PRI"]["email"]
        .as_str()
        .unwrap();
    let r = bp
        .get(&format!(
            "/contact-service/contact-search?primaryEmail={email}"
        ))
        .await;
    let rows = search_rows(&r.body);
    assert!(
        rows.iter().any(|x| x["contactId"] == contact_id),
        "{email} → {rows:?}"
    );
    let r = bp
        .get(&format!("/contact-service/contact/{contact_id}"))
        .await;
    assert_eq!(r.body["response"][0], *contact);

    let product = seed
        .products
        .iter()
        .find(|p| p["stock"]["stockTracked"] == true)
        .unwrap();
    let pid = product["id"].as_i64().unwrap();
    let sku = product["identity"]["sku"].as_str().unwrap();
    let r = bp
        .get(&format!(
            "/product-service/product-search?SKU={}",
            sku.replace(' ', "%20")
        ))
        .await;
    assert_eq!(search_rows(&r.body)[0]["productId"], pid);
    let r = bp
        .get(&format!("/warehouse-service/product-availability/{pid}"))
        .await;
    assert_eq!(r.status, 200);
    if let Some(seeded) = seed.availability.get(&pid.to_string()) {
        assert_eq!(
            r.body["response"][pid.to_string()]["total"]["onHand"],
            seeded["total"]["onHand"]
        );
    }
    assert_eq!(
        bp.get("/order-service/order-status").await.body["response"],
        json!(seed.order_statuses)
    );

    let tax_code = seed.tax_codes[0]["code"].as_str().unwrap();
    let warehouse = seed.warehouses[0]["id"].as_i64().unwrap();
    let r = bp
        .post(
            "/order-service/sales-order",
            json!({"customer": {"id": contact_id}, "ref": "BC-1", "externalRef": "bc:1", "warehouseId": warehouse,
                   "rows": [{"productId": pid, "quantity": "1", "taxCode": tax_code, "net": "10.00", "tax": "0.00"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body, json!({"response": 1001}));
    assert_eq!(bp.sim.sales_orders()[0]["orderStatus"]["orderStatusId"], 1);
}
