//! The catalogue: BigCommerce v3 products with `variants`, BigCommerce price list records,
//! Brightpearl products (one per sellable SKU), product prices and stock availability, with a
//! few planted SKU gaps (BigCommerce SKUs with no Brightpearl product) and near-matches
//! (SKUs differing only by case or whitespace).

use super::Rng;
use super::money::{round2, round4, v3};
use super::reference::{
    self, CLASS_DEFAULT, CLASS_REDUCED, CLASS_ZERO, EUR, PL_COST, PL_RETAIL, PL_RETAIL_EUR,
    PL_RETAIL_USD, PL_TRADE, PL_WHOLESALE, USD, WAREHOUSES,
};
use rand::Rng as _;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

/// One sellable SKU: a BigCommerce variant and, unless planted as a gap, its Brightpearl product.
#[derive(Clone, Debug)]
pub struct Variant {
    pub bc_product_id: i64,
    pub bc_variant_id: i64,
    /// SKU as BigCommerce has it (what order products carry).
    pub bc_sku: String,
    /// SKU as Brightpearl has it; `None` for a planted gap.
    pub bp_sku: Option<String>,
    pub bp_product_id: Option<i64>,
    pub product_name: String,
    pub brand: &'static str,
    /// (option display name, value label, BigCommerce option id, option value id).
    pub options: Vec<(String, String, i64, i64)>,
    pub tax_class_id: i64,
    /// Catalogue price in GBP, VAT included (the store enters prices tax-inclusive).
    pub retail_inc: Decimal,
    /// Trade and wholesale prices in GBP, VAT excluded (BigCommerce price list records).
    pub trade_ex: Decimal,
    pub wholesale_ex: Decimal,
    pub cost: Decimal,
    pub weight: Decimal,
    pub upc: String,
    /// Sold in packs: B2B quantities are multiples of this (tealights: 4).
    pub pack: u32,
}

impl Variant {
    /// Net (ex-VAT) retail price in GBP to 4 dp.
    pub fn retail_ex(&self) -> Decimal {
        let r = reference::tax_class(self.tax_class_id).rate();
        round4(self.retail_inc * Decimal::ONE_HUNDRED / (Decimal::ONE_HUNDRED + r))
    }
}

/// The generated catalogue on both sides.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    pub variants: Vec<Variant>,
    pub bc_products: Vec<Value>,
    pub bc_price_list_records: Vec<Value>,
    pub bp_products: Vec<Value>,
    pub bp_product_prices: Vec<Value>,
    pub bp_availability: Map<String, Value>,
    pub unknown_skus: Vec<String>,
    pub near_match_skus: Vec<(String, String)>,
}

/// A BigCommerce product before its variants' stock is known.
struct ProductDraft {
    product_id: i64,
    name: String,
    base_sku: String,
    template: &'static Template,
    retail_inc: Decimal,
    cost: Decimal,
    first_variant_id: i64,
    /// (option display name, BigCommerce option id).
    option_ids: Vec<(String, i64)>,
    /// No options: one base variant, stock tracked on the product.
    simple: bool,
}

enum Opts {
    None,
    Colour,
    Size,
    ColourSize,
    KidsSize,
}

struct Template {
    prefix: &'static str,
    name: &'static str,
    brand: &'static str,
    class: i64,
    /// Retail price range in whole pounds (inclusive of VAT).
    low: i64,
    high: i64,
    opts: Opts,
    weight: &'static str,
}

static TEMPLATES: [Template; 16] = [
    Template {
        prefix: "TLT",
        name: "Beeswax Tealight",
        brand: "Fieldcraft",
        class: CLASS_DEFAULT,
        low: 4,
        high: 4,
        opts: Opts::None,
        weight: "0.05",
    },
    Template {
        prefix: "TEE",
        name: "Organic Cotton Tee",
        brand: "Harbour & Co",
        class: CLASS_DEFAULT,
        low: 18,
        high: 30,
        opts: Opts::ColourSize,
        weight: "0.2",
    },
    Template {
        prefix: "HOOD",
        name: "Heavyweight Hoodie",
        brand: "Harbour & Co",
        class: CLASS_DEFAULT,
        low: 45,
        high: 70,
        opts: Opts::ColourSize,
        weight: "0.7",
    },
    Template {
        prefix: "MUG",
        name: "Enamel Camp Mug",
        brand: "Fieldcraft",
        class: CLASS_DEFAULT,
        low: 9,
        high: 16,
        opts: Opts::Colour,
        weight: "0.3",
    },
    Template {
        prefix: "BOOK",
        name: "Field Guide",
        brand: "Wren Press",
        class: CLASS_ZERO,
        low: 12,
        high: 25,
        opts: Opts::None,
        weight: "0.6",
    },
    Template {
        prefix: "SEAT",
        name: "Infant Car Seat",
        brand: "Little Wren",
        class: CLASS_REDUCED,
        low: 120,
        high: 180,
        opts: Opts::Colour,
        weight: "4.5",
    },
    Template {
        prefix: "SOCK",
        name: "Merino Hiking Socks",
        brand: "Fieldcraft",
        class: CLASS_DEFAULT,
        low: 12,
        high: 18,
        opts: Opts::Size,
        weight: "0.1",
    },
    Template {
        prefix: "BTL",
        name: "Insulated Bottle 750ml",
        brand: "Fieldcraft",
        class: CLASS_DEFAULT,
        low: 20,
        high: 32,
        opts: Opts::Colour,
        weight: "0.4",
    },
    Template {
        prefix: "CAP",
        name: "Waxed Cotton Cap",
        brand: "Harbour & Co",
        class: CLASS_DEFAULT,
        low: 22,
        high: 35,
        opts: Opts::None,
        weight: "0.15",
    },
    Template {
        prefix: "MAP",
        name: "Walking Map",
        brand: "Wren Press",
        class: CLASS_ZERO,
        low: 9,
        high: 12,
        opts: Opts::None,
        weight: "0.1",
    },
    Template {
        prefix: "TRCH",
        name: "LED Head Torch",
        brand: "Fieldcraft",
        class: CLASS_DEFAULT,
        low: 25,
        high: 45,
        opts: Opts::None,
        weight: "0.12",
    },
    Template {
        prefix: "TOTE",
        name: "Canvas Tote Bag",
        brand: "Harbour & Co",
        class: CLASS_DEFAULT,
        low: 15,
        high: 25,
        opts: Opts::Colour,
        weight: "0.25",
    },
    Template {
        prefix: "KIDS",
        name: "Children's Raincoat",
        brand: "Little Wren",
        class: CLASS_ZERO,
        low: 25,
        high: 40,
        opts: Opts::KidsSize,
        weight: "0.35",
    },
    Template {
        prefix: "BLKT",
        name: "Wool Picnic Blanket",
        brand: "Harbour & Co",
        class: CLASS_DEFAULT,
        low: 55,
        high: 90,
        opts: Opts::Colour,
        weight: "1.2",
    },
    Template {
        prefix: "NOTE",
        name: "Recycled Notebook",
        brand: "Wren Press",
        class: CLASS_DEFAULT,
        low: 6,
        high: 11,
        opts: Opts::None,
        weight: "0.2",
    },
    Template {
        prefix: "CHR",
        name: "Folding Camp Chair",
        brand: "Fieldcraft",
        class: CLASS_DEFAULT,
        low: 35,
        high: 60,
        opts: Opts::Colour,
        weight: "2.1",
    },
];

const SERIES: [&str; 12] = [
    "Harbour",
    "Moorland",
    "Estuary",
    "Fell",
    "Coastal",
    "Heath",
    "Ridge",
    "Tarn",
    "Combe",
    "Saltmarsh",
    "Beacon",
    "Dale",
];
const COLOURS: [(&str, &str); 6] = [
    ("BLK", "Black"),
    ("NVY", "Navy"),
    ("OLV", "Olive"),
    ("SND", "Sand"),
    ("RST", "Rust"),
    ("GRY", "Grey"),
];
const SIZES: [&str; 4] = ["S", "M", "L", "XL"];
const KIDS_SIZES: [&str; 4] = ["3-4Y", "5-6Y", "7-8Y", "9-10Y"];
/// Price endings added to (pounds − 1): 18 → 18.00, 17.50, 17.95, 17.99.
const ENDINGS: [&str; 4] = ["1.00", "0.50", "0.95", "0.99"];

/// Catalogue creation stamp (ISO 8601, as v3 catalog returns dates).
const CATALOG_CREATED: &str = "2025-02-03T10:00:00+00:00";

/// The catalog's creation time plus `n` minutes: products were last edited one after another
/// (spread modification times, as a live catalog has), in BigCommerce's
/// (`2025-02-03T10:01:00+00:00`) or Brightpearl's (`2025-02-03T10:01:00.000Z`) form.
fn minutes_after_creation(n: i64, brightpearl: bool) -> String {
    let t = chrono::DateTime::parse_from_rfc3339(CATALOG_CREATED)
        .expect("CATALOG_CREATED is RFC 3339")
        .with_timezone(&chrono::Utc)
        + chrono::Duration::minutes(n);
    if brightpearl {
        t.format("%Y-%m-%dT%H:%M:%S.000Z").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    }
}

fn d(s: &str) -> Decimal {
    s.parse().expect("decimal literal")
}

/// Builds the catalogue: `count` BigCommerce products (at least one). Product 0 is always the
/// rounding-case tealight (4.00 inc VAT retail, trade 0.8325 ex VAT, sold to trade in fours).
pub fn build(rng: &mut Rng, count: usize) -> Catalog {
    let count = count.max(1);
    let mut variants = Vec::new();
    let mut bc_products = Vec::new();
    let mut next_variant_id = 201i64;
    let mut next_option_id = 1i64;
    let mut next_option_value_id = 101i64;

    for i in 0..count {
        let t = &TEMPLATES[i % TEMPLATES.len()];
        let product_id = 112 + i as i64;
        let name = if i == 0 {
            t.name.to_string()
        } else {
            format!(
                "{} {}",
                SERIES[(i / TEMPLATES.len() + i) % SERIES.len()],
                t.name
            )
        };
        let base_sku = format!("{}-{:03}", t.prefix, i + 1);
        let retail_inc = if i == 0 {
            d("4.00")
        } else {
            let pounds = rng.random_range(t.low..=t.high);
            Decimal::from(pounds - 1) + d(ENDINGS[rng.random_range(0..ENDINGS.len())])
        };
        // Option matrix.
        let mut combos: Vec<Vec<(String, String, String)>> = Vec::new(); // (option name, label, code)
        let colours: Vec<(&str, &str)> = {
            let n = rng.random_range(2..=3);
            let start = rng.random_range(0..COLOURS.len());
            (0..n)
                .map(|k| COLOURS[(start + k) % COLOURS.len()])
                .collect()
        };
        match t.opts {
            Opts::None => combos.push(vec![]),
            Opts::Colour => {
                for (code, label) in &colours {
                    combos.push(vec![("Colour".into(), label.to_string(), code.to_string())]);
                }
            }
            Opts::Size => {
                for s in &SIZES[..3] {
                    combos.push(vec![("Size".into(), s.to_string(), s.to_string())]);
                }
            }
            Opts::KidsSize => {
                for s in KIDS_SIZES {
                    combos.push(vec![(
                        "Size".into(),
                        s.to_string(),
                        s.replace(['-', 'Y'], ""),
                    )]);
                }
            }
            Opts::ColourSize => {
                for (code, label) in colours.iter().take(2) {
                    for s in &SIZES[..3] {
                        combos.push(vec![
                            ("Colour".into(), label.to_string(), code.to_string()),
                            ("Size".into(), s.to_string(), s.to_string()),
                        ]);
                    }
                }
            }
        }
        // Option ids for this product (BigCommerce options are per product).
        let mut option_ids: Vec<(String, i64)> = Vec::new();
        let mut value_ids: Vec<(String, String, i64)> = Vec::new();
        for combo in &combos {
            for (opt, label, _) in combo {
                if !option_ids.iter().any(|(o, _)| o == opt) {
                    option_ids.push((opt.clone(), next_option_id));
                    next_option_id += 1;
                }
                if !value_ids.iter().any(|(o, l, _)| o == opt && l == label) {
                    value_ids.push((opt.clone(), label.clone(), next_option_value_id));
                    next_option_value_id += 1;
                }
            }
        }
        let trade_ex = if i == 0 {
            d("0.8325")
        } else {
            round2(
                round4(
                    retail_inc * Decimal::ONE_HUNDRED
                        / (Decimal::ONE_HUNDRED
                            + Decimal::from(reference::tax_class(t.class).rate)),
                ) * d("0.70"),
            )
        };
        let wholesale_ex = if i == 0 {
            d("0.7475")
        } else {
            round2(trade_ex * d("0.90"))
        };
        let cost = if i == 0 {
            d("0.41")
        } else {
            round2(trade_ex * d("0.55"))
        };
        let first_variant_id = next_variant_id;
        for combo in &combos {
            let vid = next_variant_id;
            next_variant_id += 1;
            let sku = if combo.is_empty() {
                base_sku.clone()
            } else {
                let codes: Vec<&str> = combo.iter().map(|(_, _, c)| c.as_str()).collect();
                format!("{}-{}", base_sku, codes.join("-"))
            };
            let options: Vec<(String, String, i64, i64)> = combo
                .iter()
                .map(|(opt, label, _)| {
                    let oid = option_ids.iter().find(|(o, _)| o == opt).unwrap().1;
                    let vid = value_ids
                        .iter()
                        .find(|(o, l, _)| o == opt && l == label)
                        .unwrap()
                        .2;
                    (opt.clone(), label.clone(), oid, vid)
                })
                .collect();
            let upc = format!("50{:011}", rng.random_range(0..100_000_000_000u64));
            variants.push(Variant {
                bc_product_id: product_id,
                bc_variant_id: vid,
                bc_sku: sku.clone(),
                bp_sku: Some(sku),
                bp_product_id: None,
                product_name: name.clone(),
                brand: t.brand,
                options,
                tax_class_id: t.class,
                retail_inc,
                trade_ex,
                wholesale_ex,
                cost,
                weight: d(t.weight),
                upc,
                pack: if i == 0 { 4 } else { 1 },
            });
        }
        bc_products.push(ProductDraft {
            product_id,
            name,
            base_sku,
            template: t,
            retail_inc,
            cost,
            first_variant_id,
            option_ids,
            simple: combos.is_empty() || combos[0].is_empty(),
        });
    }

    // Plant gaps and near-matches among products other than the tealight.
    let mut unknown_skus = Vec::new();
    let mut near_match_skus = Vec::new();
    let candidates: Vec<usize> = (0..variants.len())
        .filter(|&k| variants[k].bc_product_id != 112)
        .collect();
    let n_unknown = (count / 20)
        .max(if count > 1 { 1 } else { 0 })
        .min(candidates.len());
    let n_near = (count / 15)
        .max(if count > 2 { 1 } else { 0 })
        .min(candidates.len().saturating_sub(n_unknown));
    let mut chosen: Vec<usize> = Vec::new();
    while chosen.len() < n_unknown + n_near {
        let k = candidates[rng.random_range(0..candidates.len())];
        if !chosen.contains(&k) {
            chosen.push(k);
        }
    }
    for (n, &k) in chosen.iter().enumerate() {
        let v = &mut variants[k];
        if n < n_unknown {
            v.bp_sku = None;
            unknown_skus.push(v.bc_sku.clone());
        } else {
            // Alternate the kind of near-match: BP lower case, BC trailing space, BP leading
            // space, BC mixed case.
            let sku = v.bc_sku.clone();
            let (bc, bp) = match (n - n_unknown) % 4 {
                0 => (sku.clone(), sku.to_lowercase()),
                1 => (format!("{sku} "), sku.clone()),
                2 => (sku.clone(), format!(" {sku}")),
                _ => {
                    let mut mixed = sku.to_lowercase();
                    mixed.replace_range(0..1, &sku[0..1]);
                    (mixed, sku.clone())
                }
            };
            v.bc_sku = bc.clone();
            v.bp_sku = Some(bp.clone());
            near_match_skus.push((bc, bp));
        }
    }

    // Brightpearl product ids, in catalogue order.
    let mut next_bp = 1001i64;
    for v in variants.iter_mut() {
        if v.bp_sku.is_some() {
            v.bp_product_id = Some(next_bp);
            next_bp += 1;
        }
    }

    // BigCommerce stock per variant at each location; Brightpearl availability mirrors it.
    let mut bp_availability = Map::new();
    let mut levels: Vec<i64> = Vec::new();
    for v in &variants {
        let mut total = (0i64, 0i64, 0i64);
        let mut whs = Map::new();
        for (wi, w) in WAREHOUSES.iter().enumerate() {
            let present = match wi {
                0 => true,
                1 => rng.random_bool(0.6),
                _ => rng.random_bool(0.3),
            };
            if !present {
                continue;
            }
            let in_stock = rng
                .random_range(if wi == 0 { 5 } else { 1 }..=if wi == 0 { 240 } else { 40 })
                as i64;
            let allocated = rng.random_range(0..=in_stock.min(12));
            whs.insert(
                w.bp_id.to_string(),
                json!({"inStock": in_stock, "onHand": in_stock - allocated, "allocated": allocated, "inTransit": 0}),
            );
            total.0 += in_stock;
            total.1 += in_stock - allocated;
            total.2 += allocated;
            if wi == 0 {
                levels.push(in_stock - allocated);
            }
        }
        if let Some(id) = v.bp_product_id {
            bp_availability.insert(
                id.to_string(),
                json!({"total": {"inStock": total.0, "onHand": total.1, "allocated": total.2, "inTransit": 0},
                       "warehouses": whs}),
            );
        }
    }

    // BigCommerce v3 products with variants.
    let mut products_json = Vec::new();
    for draft in &bc_products {
        let ProductDraft {
            product_id,
            name,
            base_sku,
            template: t,
            retail_inc,
            cost,
            first_variant_id,
            option_ids,
            simple,
        } = draft;
        let mine: Vec<(usize, &Variant)> = variants
            .iter()
            .enumerate()
            .filter(|(_, v)| v.bc_product_id == *product_id)
            .collect();
        let vjson: Vec<Value> = mine
            .iter()
            .map(|(k, v)| {
                let option_values: Vec<Value> = v
                    .options
                    .iter()
                    .map(|(opt, label, oid, vid)| json!({"id": vid, "label": label, "option_id": oid, "option_display_name": opt}))
                    .collect();
                json!({
                    "id": v.bc_variant_id, "product_id": product_id, "sku": v.bc_sku, "sku_id": v.bc_variant_id + 1000,
                    "price": Value::Null, "calculated_price": v3(*retail_inc), "sale_price": Value::Null,
                    "retail_price": Value::Null, "map_price": Value::Null, "weight": Value::Null,
                    "calculated_weight": v3(v.weight), "width": Value::Null, "height": Value::Null, "depth": Value::Null,
                    "is_free_shipping": false, "fixed_cost_shipping_price": Value::Null,
                    "purchasing_disabled": false, "purchasing_disabled_message": "", "image_url": "",
                    "cost_price": v3(v.cost), "upc": v.upc, "mpn": "", "gtin": "",
                    "inventory_level": levels[*k], "inventory_warning_level": 5,
                    "bin_picking_number": format!("A{:02}-{:02}", product_id % 40, k % 20),
                    "option_values": option_values
                })
            })
            .collect();
        let total_level: i64 = mine.iter().map(|(k, _)| levels[*k]).sum();
        let options: Vec<Value> = option_ids
            .iter()
            .map(|(o, id)| json!({"id": id, "product_id": product_id, "display_name": o, "type": "rectangles"}))
            .collect();
        let product = json!({
            "id": product_id, "name": name, "type": "physical", "sku": base_sku,
            "description": format!("<p>{name} from {}.</p>", t.brand),
            "weight": v3(d(t.weight)), "width": 0, "depth": 0, "height": 0,
            "price": v3(*retail_inc), "cost_price": v3(*cost), "retail_price": 0, "sale_price": 0, "map_price": 0,
            "calculated_price": v3(*retail_inc),
            "tax_class_id": t.class, "product_tax_code": "", "categories": [23 + (*product_id % 5)],
            "brand_id": match t.brand { "Harbour & Co" => 36, "Fieldcraft" => 37, "Wren Press" => 38, _ => 39 },
            "option_set_id": Value::Null, "option_set_display": "right",
            "inventory_level": total_level, "inventory_warning_level": 5,
            "inventory_tracking": if *simple { "product" } else { "variant" },
        });
        let middle = json!({
            "fixed_cost_shipping_price": 0, "is_free_shipping": false, "is_visible": true, "is_featured": false,
            "warranty": "", "bin_picking_number": "", "layout_file": "product.html",
            "upc": "", "mpn": "", "gtin": "", "search_keywords": t.name.to_lowercase(),
            "availability": "available", "availability_description": "", "condition": "New",
            "is_condition_shown": false, "sort_order": 0, "order_quantity_minimum": 0, "order_quantity_maximum": 0
        });
        let more = json!({
            "page_title": "", "meta_description": "", "view_count": 0, "total_sold": 0,
            "date_created": CATALOG_CREATED, "date_modified": minutes_after_creation(*product_id, false),
            "base_variant_id": if *simple { Value::from(*first_variant_id) } else { Value::Null },
            "options": options,
            "variants": vjson
        });
        let mut product = product;
        super::money::merge(&mut product, middle);
        super::money::merge(&mut product, more);
        products_json.push(product);
    }

    // BigCommerce price list records (Trade = list 1, Wholesale = list 2), GBP, ex VAT.
    let mut records = Vec::new();
    for (list, pick_price) in [(1i64, true), (2i64, false)] {
        for v in &variants {
            let price = if pick_price {
                v.trade_ex
            } else {
                v.wholesale_ex
            };
            records.push(json!({
                "price_list_id": list, "variant_id": v.bc_variant_id, "product_id": v.bc_product_id,
                "sku": v.bc_sku, "currency": "gbp", "price": v3(price), "sale_price": Value::Null,
                "retail_price": Value::Null, "map_price": Value::Null, "calculated_price": v3(price),
                "bulk_pricing_tiers": [], "date_created": CATALOG_CREATED, "date_modified": CATALOG_CREATED
            }));
        }
    }

    // Brightpearl products and prices (net, 4 dp strings).
    let mut bp_products = Vec::new();
    let mut bp_prices = Vec::new();
    for (k, v) in variants.iter().enumerate() {
        let (Some(id), Some(sku)) = (v.bp_product_id, &v.bp_sku) else {
            continue;
        };
        let tc = reference::tax_class(v.tax_class_id);
        let tax_code_id = match tc.bp_code {
            "T20" => 7,
            "T5" => 8,
            _ => 9,
        };
        let group = if v.options.is_empty() {
            0
        } else {
            500 + (v.bc_product_id - 112)
        };
        let variations: Vec<Value> = v
            .options
            .iter()
            .map(|(opt, label, oid, vid)| json!({"optionId": oid, "optionName": opt, "optionValueId": vid, "optionValue": label}))
            .collect();
        let display_name = if v.options.is_empty() {
            v.product_name.clone()
        } else {
            format!(
                "{} - {}",
                v.product_name,
                v.options
                    .iter()
                    .map(|o| o.1.as_str())
                    .collect::<Vec<_>>()
                    .join(" / ")
            )
        };
        bp_products.push(json!({
            "id": id, "brandId": match v.brand { "Harbour & Co" => 74, "Fieldcraft" => 75, "Wren Press" => 76, _ => 77 },
            "productTypeId": 1, "productGroupId": group, "featured": false, "version": 1 + (k as i64 % 5),
            "identity": {"sku": sku, "ean": "", "upc": v.upc, "isbn": "", "mpn": "", "barcode": v.upc},
            "stock": {"stockTracked": true, "weight": {"magnitude": v3(v.weight)},
                      "dimensions": {"length": 0, "height": 0, "width": 0, "volume": 0}},
            "financialDetails": {"taxable": tc.rate != 0, "taxCode": {"id": tax_code_id, "code": tc.bp_code}},
            "salesChannels": [{"salesChannelName": "Brightpearl", "productName": display_name,
                               "productCondition": "new", "categories": [{"categoryCode": "276"}],
                               "description": {"languageCode": "en", "text": format!("<p>{}</p>", v.product_name), "format": "HTML_FRAGMENT"}}],
            "composition": {"bundle": false},
            "variations": variations,
            "nominalCodeStock": "1001", "nominalCodePurchases": "5000", "nominalCodeSales": "4000",
            "createdOn": "2025-02-03T10:00:00.000Z", "updatedOn": minutes_after_creation(k as i64, true)
        }));
        let retail_ex = v.retail_ex();
        let eur_ex = round4(
            round2(v.retail_inc * EUR.rate()) * Decimal::ONE_HUNDRED
                / (Decimal::ONE_HUNDRED + tc.rate()),
        );
        let usd_ex = round2(retail_ex * USD.rate());
        let rows: [(i64, &str, i64, Decimal); 6] = [
            (PL_RETAIL, "GBP", 1, retail_ex),
            (PL_COST, "GBP", 1, v.cost),
            (PL_TRADE, "GBP", 1, v.trade_ex),
            (PL_WHOLESALE, "GBP", 1, v.wholesale_ex),
            (PL_RETAIL_EUR, "EUR", 2, eur_ex),
            (PL_RETAIL_USD, "USD", 3, usd_ex),
        ];
        let lists: Vec<Value> = rows
            .iter()
            .map(|(pl, cur, cid, price)| {
                json!({"priceListId": pl, "currencyCode": cur, "currencyId": cid, "sku": sku,
                       "quantityPrice": {"1": super::money::money4(*price)}})
            })
            .collect();
        bp_prices.push(json!({"productId": id, "priceLists": lists}));
    }

    Catalog {
        variants,
        bc_products: products_json,
        bc_price_list_records: records,
        bp_products,
        bp_product_prices: bp_prices,
        bp_availability,
        unknown_skus,
        near_match_skus,
    }
}
