//! Writing a generated store and loading it back gives equal data; malformed files give
//! errors naming the folder, the file and the line.

use pearlbridge_sandbox::generator::{GeneratorOptions, generate};
use pearlbridge_sandbox::loader::{
    load_bigcommerce_orders, load_brightpearl, write_bigcommerce_orders, write_brightpearl,
};
use std::path::{Path, PathBuf};

/// A fresh scratch directory for one test (removed when dropped).
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("pearlbridge-loader-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn copy_examples(to: &Path) {
    let from = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/orders");
    for order in std::fs::read_dir(from).unwrap() {
        let order = order.unwrap().path();
        let target = to.join(order.file_name().unwrap());
        std::fs::create_dir_all(&target).unwrap();
        for f in std::fs::read_dir(&order).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, target.join(f.file_name().unwrap())).unwrap();
        }
    }
}

#[test]
fn a_generated_store_round_trips_through_the_files() {
    let store = generate(&GeneratorOptions {
        seed: 11,
        orders: 40,
        products: 20,
        customers: 15,
    });
    let dir = Scratch::new("roundtrip");
    let orders_dir = dir.path().join("orders");
    write_bigcommerce_orders(&orders_dir, &store.seed.bigcommerce.orders).unwrap();
    let loaded = load_bigcommerce_orders(&orders_dir).unwrap();
    assert_eq!(loaded.len(), 40);
    assert_eq!(loaded, store.seed.bigcommerce.orders);
    // Guests have no customer.json; registered customers do.
    let guest = store
        .seed
        .bigcommerce
        .orders
        .iter()
        .find(|b| b.customer.is_none())
        .unwrap();
    let guest_dir = orders_dir.join(guest.order["id"].to_string());
    assert!(!guest_dir.join("customer.json").exists());
    assert!(guest_dir.join("coupons.json").exists());

    let bp_file = dir.path().join("account/brightpearl.json");
    write_brightpearl(&bp_file, &store.seed.brightpearl).unwrap();
    assert_eq!(load_brightpearl(&bp_file).unwrap(), store.seed.brightpearl);
}

#[test]
fn folders_load_in_numeric_order_and_blank_files_mean_no_content() {
    let store = generate(&GeneratorOptions {
        seed: 4,
        orders: 3,
        products: 5,
        customers: 3,
    });
    let dir = Scratch::new("order");
    let mut bundles = store.seed.bigcommerce.orders.clone();
    bundles[0].order["id"] = 99.into();
    write_bigcommerce_orders(dir.path(), &bundles).unwrap();
    std::fs::write(dir.path().join("101/coupons.json"), "  \n").unwrap();
    std::fs::remove_file(dir.path().join("102/taxes.json")).unwrap();
    let loaded = load_bigcommerce_orders(dir.path()).unwrap();
    let ids: Vec<i64> = loaded
        .iter()
        .map(|b| b.order["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![99, 101, 102]);
    assert!(loaded[1].coupons.is_empty());
    assert!(loaded[2].taxes.is_empty());
    assert_eq!(loaded[2].products, bundles[2].products);
}

#[test]
fn a_syntax_error_names_folder_file_and_line() {
    let dir = Scratch::new("syntax");
    copy_examples(dir.path());
    let file = dir.path().join("1002/products.json");
    let text = std::fs::read_to_string(&file).unwrap();
    // Drop the comma at the end of line 4 (`"order_id": 1002,`): serde stops at line 5.
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[3].trim(), "\"order_id\": 1002,");
    let broken = text.replacen("\"order_id\": 1002,", "\"order_id\": 1002", 1);
    std::fs::write(&file, broken).unwrap();
    let err = format!("{:#}", load_bigcommerce_orders(dir.path()).unwrap_err());
    assert!(err.contains("1002"), "{err}");
    assert!(
        err.contains(&format!("1002{}products.json", std::path::MAIN_SEPARATOR)),
        "{err}"
    );
    assert!(err.contains("line 5, column"), "{err}");
}

#[test]
fn a_wrong_shape_names_the_file_and_the_element_line() {
    let dir = Scratch::new("shape");
    copy_examples(dir.path());
    std::fs::write(
        dir.path().join("1001/taxes.json"),
        "[\n  {\"id\": 1},\n  \"oops\"\n]\n",
    )
    .unwrap();
    let err = format!("{:#}", load_bigcommerce_orders(dir.path()).unwrap_err());
    assert!(
        err.contains(&format!("1001{}taxes.json", std::path::MAIN_SEPARATOR)),
        "{err}"
    );
    assert!(err.contains("element 1 is a string"), "{err}");
    assert!(err.contains("line 3, column 3"), "{err}");

    std::fs::write(dir.path().join("1001/taxes.json"), "{\"id\": 1}").unwrap();
    let err = format!("{:#}", load_bigcommerce_orders(dir.path()).unwrap_err());
    assert!(err.contains("taxes.json: expected a JSON array"), "{err}");
}

#[test]
fn a_folder_without_order_json_is_an_error() {
    let dir = Scratch::new("missing");
    copy_examples(dir.path());
    std::fs::remove_file(dir.path().join("1001/order.json")).unwrap();
    let err = format!("{:#}", load_bigcommerce_orders(dir.path()).unwrap_err());
    assert!(
        err.contains(&format!(
            "1001{}order.json: missing",
            std::path::MAIN_SEPARATOR
        )),
        "{err}"
    );
}

#[test]
fn a_malformed_brightpearl_file_names_the_file_and_line() {
    let dir = Scratch::new("bp");
    let file = dir.path().join("brightpearl.json");
    std::fs::write(
        &file,
        "{\n  \"products\": [],\n  \"taxCodes\": {\"id\": 7}\n}\n",
    )
    .unwrap();
    let err = format!("{:#}", load_brightpearl(&file).unwrap_err());
    assert!(err.contains("brightpearl.json"), "{err}");
    assert!(err.contains("line 3, column"), "{err}");
    assert!(
        err.contains("invalid type: map, expected a sequence"),
        "{err}"
    );
}
