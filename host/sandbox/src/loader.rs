//! Loads and writes seed data in the APIs' own JSON formats, for
//! `pearlbridge demo --orders-from DIR --brightpearl-from FILE`.
//!
//! # BigCommerce orders directory
//! One folder per order (any name; folders are read in natural order, so `99` before `100`),
//! each holding the API responses for that order:
//!
//! | file | API call (`bigcommerce-api.md` §5, §7) | when missing or `[]` / empty |
//! |---|---|---|
//! | `order.json` (required) | `GET /v2/orders/{id}` | error |
//! | `products.json` | `GET /v2/orders/{id}/products` | no products (204) |
//! | `shipping_addresses.json` | `GET /v2/orders/{id}/shipping_addresses` | none (204) |
//! | `coupons.json` | `GET /v2/orders/{id}/coupons` | none (204) |
//! | `taxes.json` | `GET /v2/orders/{id}/taxes?details=true` | none (204) |
//! | `transactions.json` | `GET /v3/orders/{id}/transactions` (the `data` array, or the whole `{data, meta}` body) | none (204) |
//! | `customer.json` | `GET /v3/customers?id:in={customer_id}` (`data[0]`, or the whole body) | guest / not loaded |
//!
//! A file that is empty or only whitespace is read like a 204 (no content). Errors name the
//! folder and file and, for JSON syntax or type errors, serde's line and column.
//!
//! # Brightpearl account file
//! One JSON object in the [`BrightpearlSeed`] layout (camelCase keys: `products`, `contacts`,
//! `postalAddresses`, `priceLists`, `productPrices`, `warehouses`, `availability`, `taxCodes`,
//! `nominalCodes`, `paymentMethods`, `shippingMethods`, `channels`, `orderStatuses`), each
//! member the `response` of the matching Brightpearl GET; every member is optional.

use crate::seed::{BigCommerceOrderBundle, BrightpearlSeed};
use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The files of one order folder, in the order they are written.
pub const ORDER_FILES: [&str; 7] = [
    "order.json",
    "products.json",
    "shipping_addresses.json",
    "coupons.json",
    "taxes.json",
    "transactions.json",
    "customer.json",
];

/// Reads a JSON file; `Ok(None)` when the file is missing or blank (a 204). Errors carry the
/// path and serde's line/column.
fn read_json(path: &Path) -> Result<Option<Value>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(anyhow!(e).context(format!("reading {}", path.display()))),
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(&text).map(Some).map_err(|e| {
        anyhow!(
            "{}: invalid JSON at line {}, column {}: {}",
            path.display(),
            e.line(),
            e.column(),
            e
        )
    })
}

/// Position (1-based line, column) of the `index`-th element of the top-level array in `text`,
/// for error messages about an element that parsed but has the wrong shape.
fn element_position(path: &Path, index: usize) -> String {
    let Ok(text) = std::fs::read_to_string(path) else {
        return String::new();
    };
    // Walk the text outside strings: track depth and count top-level elements.
    let (mut depth, mut count, mut in_str, mut esc) = (0i32, 0usize, false, false);
    let (mut line, mut col) = (1usize, 0usize);
    let mut expecting = false;
    for ch in text.chars() {
        if ch == '\n' {
            line += 1;
            col = 0;
        } else {
            col += 1;
        }
        if in_str {
            if esc {
                esc = false;
            } else if ch == '\\' {
                esc = true;
            } else if ch == '"' {
                in_str = false;
            }
            continue;
        }
        if depth == 1 && expecting && !ch.is_whitespace() {
            if count == index {
                return format!(" (line {line}, column {col})");
            }
            expecting = false;
        }
        match ch {
            '"' => in_str = true,
            '[' | '{' => {
                depth += 1;
                if depth == 1 {
                    expecting = true;
                }
            }
            ']' | '}' => depth -= 1,
            ',' if depth == 1 => {
                count += 1;
                expecting = true;
            }
            _ => {}
        }
    }
    String::new()
}

/// Reads a file that holds a JSON array of objects (or, for v3 bodies, `{"data": [...]}`).
fn read_list(folder: &Path, file: &str) -> Result<Vec<Value>> {
    let path = folder.join(file);
    let list = match read_json(&path)? {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(Value::Object(mut m)) if m.get("data").is_some_and(Value::is_array) => {
            match m.remove("data") {
                Some(Value::Array(a)) => a,
                _ => unreachable!(),
            }
        }
        Some(other) => bail!(
            "{}: expected a JSON array (line 1, column 1), found {}",
            path.display(),
            kind(&other)
        ),
    };
    for (k, item) in list.iter().enumerate() {
        if !item.is_object() {
            bail!(
                "{}: element {} is {}, expected an object{}",
                path.display(),
                k,
                kind(item),
                element_position(&path, k)
            );
        }
    }
    Ok(list)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Loads one order folder.
pub fn load_order_folder(folder: &Path) -> Result<BigCommerceOrderBundle> {
    let order_path = folder.join("order.json");
    let order = match read_json(&order_path)? {
        Some(v @ Value::Object(_)) => v,
        Some(other) => bail!(
            "{}: expected the order object (line 1, column 1), found {}",
            order_path.display(),
            kind(&other)
        ),
        None => bail!(
            "{}: missing or empty; every order folder needs order.json",
            order_path.display()
        ),
    };
    if !order.get("id").is_some_and(Value::is_i64) {
        bail!("{}: the order has no integer \"id\"", order_path.display());
    }
    let customer_path = folder.join("customer.json");
    let customer = match read_json(&customer_path)? {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) if v.get("data").is_none() => Some(v),
        Some(Value::Object(mut m)) => match m.remove("data") {
            Some(Value::Array(mut a)) if a.len() <= 1 => a.pop().filter(Value::is_object),
            _ => bail!(
                "{}: expected a customer object or a {{\"data\": [customer]}} body",
                customer_path.display()
            ),
        },
        Some(Value::Array(mut a)) if a.len() <= 1 => a.pop().filter(Value::is_object),
        Some(other) => bail!(
            "{}: expected a customer object (line 1, column 1), found {}",
            customer_path.display(),
            kind(&other)
        ),
    };
    Ok(BigCommerceOrderBundle {
        order,
        products: read_list(folder, "products.json")?,
        shipping_addresses: read_list(folder, "shipping_addresses.json")?,
        coupons: read_list(folder, "coupons.json")?,
        taxes: read_list(folder, "taxes.json")?,
        transactions: read_list(folder, "transactions.json")?,
        customer,
    })
}

/// Natural sort key: numeric folder names by value, before any other names.
fn folder_key(p: &Path) -> (u8, u128, String) {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.parse::<u128>() {
        Ok(n) => (0, n, name),
        Err(_) => (1, 0, name),
    }
}

/// Load BigCommerce orders from DIR: one folder per order with order.json, products.json,
/// shipping_addresses.json, coupons.json, taxes.json, transactions.json, customer.json
/// (optional); a missing or empty-list file means the API answers 204/empty. Errors name the
/// folder, file and (serde) line/column. Folders are read in natural order; files at the top
/// level and folders starting with `.` are ignored.
pub fn load_bigcommerce_orders(dir: &Path) -> Result<Vec<BigCommerceOrderBundle>> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("reading orders directory {}", dir.display()))?;
    let mut folders: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("reading orders directory {}", dir.display()))?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if path.is_dir() && !hidden {
            folders.push(path);
        }
    }
    folders.sort_by_key(|p| folder_key(p));
    let mut out = Vec::with_capacity(folders.len());
    let mut seen = std::collections::BTreeMap::new();
    for folder in &folders {
        let bundle = load_order_folder(folder)?;
        let id = bundle.order["id"].as_i64().unwrap_or_default();
        if let Some(first) = seen.insert(id, folder.clone()) {
            bail!(
                "{}: order id {} is also in {}",
                folder.join("order.json").display(),
                id,
                first.display()
            );
        }
        out.push(bundle);
    }
    Ok(out)
}

/// Load a Brightpearl account file (BrightpearlSeed JSON, camelCase keys as in seed.rs).
/// Errors name the file and serde's line/column.
pub fn load_brightpearl(file: &Path) -> Result<BrightpearlSeed> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        anyhow!(
            "{}: invalid Brightpearl account file at line {}, column {}: {}",
            file.display(),
            e.line(),
            e.column(),
            e
        )
    })
}

fn write_pretty(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)
        .with_context(|| format!("serialising {}", path.display()))?;
    text.push('\n');
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Write a generated store out in the same layouts (so a generated store round-trips through
/// the loader): `DIR/<order id>/` per order, every list file written (empty lists as `[]`),
/// `customer.json` only for orders that carry a customer. Creates DIR if needed; existing
/// files of the same names are overwritten.
pub fn write_bigcommerce_orders(dir: &Path, orders: &[BigCommerceOrderBundle]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for bundle in orders {
        let id = bundle
            .order
            .get("id")
            .and_then(Value::as_i64)
            .ok_or_else(|| anyhow!("an order has no integer \"id\""))?;
        let folder = dir.join(id.to_string());
        std::fs::create_dir_all(&folder)
            .with_context(|| format!("creating {}", folder.display()))?;
        write_pretty(&folder.join("order.json"), &bundle.order)?;
        write_pretty(&folder.join("products.json"), &bundle.products)?;
        write_pretty(
            &folder.join("shipping_addresses.json"),
            &bundle.shipping_addresses,
        )?;
        write_pretty(&folder.join("coupons.json"), &bundle.coupons)?;
        write_pretty(&folder.join("taxes.json"), &bundle.taxes)?;
        write_pretty(&folder.join("transactions.json"), &bundle.transactions)?;
        let customer = folder.join("customer.json");
        match &bundle.customer {
            Some(c) => write_pretty(&customer, c)?,
            None => {
                if customer.exists() {
                    std::fs::remove_file(&customer)
                        .with_context(|| format!("removing {}", customer.display()))?;
                }
            }
        }
    }
    Ok(())
}

/// Write a Brightpearl account file (pretty JSON, the [`BrightpearlSeed`] layout).
pub fn write_brightpearl(file: &Path, seed: &BrightpearlSeed) -> Result<()> {
    if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    write_pretty(file, seed)
}
