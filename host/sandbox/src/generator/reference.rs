//! The store's fixed reference data: tax classes and codes, nominal codes, payment and
//! shipping methods, customer groups and price lists, warehouses and inventory locations,
//! channels and order statuses, in both APIs' shapes.
//!
//! Shapes: Brightpearl `brightpearl-api.md` §5 (payment methods, nominal codes), §7 (price
//! lists), §8 (warehouses), §9 (shipping methods), §12 (tax codes, channels, order statuses);
//! BigCommerce `bigcommerce-api.md` §8 (locations), §9 (price lists, customer groups).

use rust_decimal::Decimal;
use serde_json::{Value, json};

/// A BigCommerce tax class and the Brightpearl tax code it maps to.
#[derive(Clone, Copy, Debug)]
pub struct TaxClass {
    /// BigCommerce `tax_class_id`.
    pub id: i64,
    /// BigCommerce class name (the `class` of an order tax row).
    pub name: &'static str,
    /// UK VAT rate in percent.
    pub rate: i64,
    /// Brightpearl tax code.
    pub bp_code: &'static str,
}

impl TaxClass {
    pub fn rate(&self) -> Decimal {
        Decimal::from(self.rate)
    }
}

/// BigCommerce's built-in classes (0 default, 1 non-taxable, 2 shipping, 3 gift wrapping) plus
/// a reduced-rate class, charged at UK VAT rates.
pub const TAX_CLASSES: [TaxClass; 5] = [
    TaxClass {
        id: 0,
        name: "Default Tax Class",
        rate: 20,
        bp_code: "T20",
    },
    TaxClass {
        id: 1,
        name: "Non-Taxable Products",
        rate: 0,
        bp_code: "T0",
    },
    TaxClass {
        id: 2,
        name: "Shipping",
        rate: 20,
        bp_code: "T20",
    },
    TaxClass {
        id: 3,
        name: "Gift Wrapping",
        rate: 20,
        bp_code: "T20",
    },
    TaxClass {
        id: 4,
        name: "Reduced Rate",
        rate: 5,
        bp_code: "T5",
    },
];

pub const CLASS_DEFAULT: i64 = 0;
pub const CLASS_ZERO: i64 = 1;
pub const CLASS_SHIPPING: i64 = 2;
pub const CLASS_WRAPPING: i64 = 3;
pub const CLASS_REDUCED: i64 = 4;

pub fn tax_class(id: i64) -> TaxClass {
    TAX_CLASSES
        .iter()
        .copied()
        .find(|c| c.id == id)
        .expect("known tax class")
}

/// BigCommerce tax rate ids and names per VAT rate (the `tax_rate_id` / `name` of tax rows).
pub fn tax_rate_row(rate: i64) -> (i64, &'static str) {
    match rate {
        20 => (1, "UK VAT Standard"),
        5 => (2, "UK VAT Reduced"),
        _ => (3, "UK VAT Zero"),
    }
}

/// A currency the store sells in: BigCommerce currency id, ISO code, rate from GBP.
#[derive(Clone, Copy, Debug)]
pub struct Currency {
    pub bc_id: i64,
    pub code: &'static str,
    /// Store default (GBP) → this currency, as BigCommerce's exchange-rate string has it.
    pub rate: &'static str,
    /// Brightpearl currency id.
    pub bp_id: i64,
    pub symbol: &'static str,
}

pub const GBP: Currency = Currency {
    bc_id: 1,
    code: "GBP",
    rate: "1.0000000000",
    bp_id: 1,
    symbol: "£",
};
pub const EUR: Currency = Currency {
    bc_id: 2,
    code: "EUR",
    rate: "1.1700000000",
    bp_id: 2,
    symbol: "€",
};
pub const USD: Currency = Currency {
    bc_id: 3,
    code: "USD",
    rate: "1.2700000000",
    bp_id: 3,
    symbol: "$",
};
pub const CURRENCIES: [Currency; 3] = [GBP, EUR, USD];

impl Currency {
    pub fn rate(&self) -> Decimal {
        self.rate.parse().expect("rate")
    }
}

/// A payment gateway on BigCommerce and its Brightpearl payment method and bank nominal code.
#[derive(Clone, Copy, Debug)]
pub struct PaymentMethod {
    /// v3 transaction `gateway`.
    pub gateway: &'static str,
    /// v3 transaction `method`.
    pub method: &'static str,
    /// v2 order `payment_method` display name.
    pub display: &'static str,
    pub bp_id: i64,
    pub bp_code: &'static str,
    pub bp_name: &'static str,
    pub nominal: &'static str,
}

pub const PAY_STRIPE: PaymentMethod = PaymentMethod {
    gateway: "stripe",
    method: "credit_card",
    display: "Credit Card",
    bp_id: 1,
    bp_code: "STRIPE",
    bp_name: "Stripe (BigCommerce)",
    nominal: "1220",
};
pub const PAY_PAYPAL: PaymentMethod = PaymentMethod {
    gateway: "paypalcommerce",
    method: "electronic_wallet",
    display: "PayPal",
    bp_id: 2,
    bp_code: "PAYPAL",
    bp_name: "PayPal",
    nominal: "1210",
};
pub const PAY_BANK: PaymentMethod = PaymentMethod {
    gateway: "bankdeposit",
    method: "offline",
    display: "Bank Deposit",
    bp_id: 3,
    bp_code: "BANKTRANSFER",
    bp_name: "Bank transfer",
    nominal: "1200",
};
pub const PAY_GIFT: PaymentMethod = PaymentMethod {
    gateway: "giftcertificate",
    method: "gift_certificate",
    display: "Gift Certificate",
    bp_id: 4,
    bp_code: "GIFTCERT",
    bp_name: "Gift certificate",
    nominal: "1230",
};
pub const PAY_CREDIT: PaymentMethod = PaymentMethod {
    gateway: "storecredit",
    method: "store_credit",
    display: "Store Credit",
    bp_id: 5,
    bp_code: "STORECREDIT",
    bp_name: "Store credit",
    nominal: "1240",
};
pub const PAYMENT_METHODS: [PaymentMethod; 5] =
    [PAY_STRIPE, PAY_PAYPAL, PAY_BANK, PAY_GIFT, PAY_CREDIT];

/// A shipping method: BigCommerce `shipping_method` name, Brightpearl id, GBP price.
#[derive(Clone, Copy, Debug)]
pub struct ShippingMethod {
    pub name: &'static str,
    pub bp_id: i64,
    pub code: &'static str,
    /// Price in GBP, in the order's pricing mode.
    pub price: &'static str,
    pub carrier: &'static str,
}

pub const SHIP_RM48: ShippingMethod = ShippingMethod {
    name: "Royal Mail Tracked 48",
    bp_id: 1,
    code: "RM48",
    price: "3.95",
    carrier: "royalmail",
};
pub const SHIP_RMSD: ShippingMethod = ShippingMethod {
    name: "Royal Mail Special Delivery",
    bp_id: 2,
    code: "RMSD",
    price: "9.95",
    carrier: "royalmail",
};
pub const SHIP_DPD: ShippingMethod = ShippingMethod {
    name: "DPD Next Day",
    bp_id: 3,
    code: "DPDND",
    price: "6.95",
    carrier: "dpd",
};
pub const SHIP_FREE: ShippingMethod = ShippingMethod {
    name: "Free Shipping",
    bp_id: 4,
    code: "FREE",
    price: "0.00",
    carrier: "royalmail",
};
pub const SHIP_DHL_EU: ShippingMethod = ShippingMethod {
    name: "DHL Express Europe",
    bp_id: 5,
    code: "DHLEU",
    price: "14.95",
    carrier: "dhl",
};
pub const SHIP_DHL_WW: ShippingMethod = ShippingMethod {
    name: "DHL Express Worldwide",
    bp_id: 6,
    code: "DHLWW",
    price: "24.95",
    carrier: "dhl",
};
pub const SHIP_PALLET: ShippingMethod = ShippingMethod {
    name: "Pallet Delivery",
    bp_id: 7,
    code: "PALLET",
    price: "35.00",
    carrier: "palletways",
};
pub const SHIPPING_METHODS: [ShippingMethod; 7] = [
    SHIP_RM48,
    SHIP_RMSD,
    SHIP_DPD,
    SHIP_FREE,
    SHIP_DHL_EU,
    SHIP_DHL_WW,
    SHIP_PALLET,
];

/// A BigCommerce customer group and the Brightpearl price list it maps to.
#[derive(Clone, Copy, Debug)]
pub struct CustomerGroup {
    pub id: i64,
    pub name: &'static str,
    /// BigCommerce v3 price list assigned to the group (None: catalog prices).
    pub bc_price_list_id: Option<i64>,
    pub bp_price_list_id: i64,
    pub b2b: bool,
}

pub const GROUP_RETAIL: CustomerGroup = CustomerGroup {
    id: 1,
    name: "Retail",
    bc_price_list_id: None,
    bp_price_list_id: 1,
    b2b: false,
};
pub const GROUP_TRADE: CustomerGroup = CustomerGroup {
    id: 2,
    name: "Trade",
    bc_price_list_id: Some(1),
    bp_price_list_id: 3,
    b2b: true,
};
pub const GROUP_WHOLESALE: CustomerGroup = CustomerGroup {
    id: 3,
    name: "Wholesale",
    bc_price_list_id: Some(2),
    bp_price_list_id: 4,
    b2b: true,
};
pub const CUSTOMER_GROUPS: [CustomerGroup; 3] = [GROUP_RETAIL, GROUP_TRADE, GROUP_WHOLESALE];

/// Brightpearl price list ids.
pub const PL_RETAIL: i64 = 1;
pub const PL_COST: i64 = 2;
pub const PL_TRADE: i64 = 3;
pub const PL_WHOLESALE: i64 = 4;
pub const PL_RETAIL_EUR: i64 = 5;
pub const PL_RETAIL_USD: i64 = 6;

/// A Brightpearl warehouse and the BigCommerce inventory location it feeds.
#[derive(Clone, Copy, Debug)]
pub struct Warehouse {
    pub bp_id: i64,
    pub bc_location_id: i64,
    pub name: &'static str,
    pub code: &'static str,
    pub city: &'static str,
    pub postcode: &'static str,
    pub country: &'static str,
    pub time_zone: &'static str,
}

pub const WAREHOUSES: [Warehouse; 3] = [
    Warehouse {
        bp_id: 2,
        bc_location_id: 1,
        name: "Bristol Distribution Centre",
        code: "BRS",
        city: "Bristol",
        postcode: "BS3 4AQ",
        country: "GB",
        time_zone: "Europe/London",
    },
    Warehouse {
        bp_id: 3,
        bc_location_id: 2,
        name: "Leeds Shop",
        code: "LDS",
        city: "Leeds",
        postcode: "LS1 6HQ",
        country: "GB",
        time_zone: "Europe/London",
    },
    Warehouse {
        bp_id: 4,
        bc_location_id: 3,
        name: "Amsterdam 3PL",
        code: "AMS",
        city: "Amsterdam",
        postcode: "1043 AP",
        country: "NL",
        time_zone: "Europe/Amsterdam",
    },
];

/// The Brightpearl channel for the BigCommerce store.
pub const CHANNEL_ID: i64 = 4;
pub const SALES_NOMINAL: &str = "4000";
pub const SHIPPING_NOMINAL: &str = "4040";

/// The ISO 8601 stamp used for reference data creation dates.
const REF_CREATED: &str = "2025-01-06T09:00:00Z";

/// `GET /accounting-service/tax-code` objects; `rate` is omitted for zero codes [doc].
pub fn bp_tax_codes() -> Vec<Value> {
    vec![
        json!({"id": 7, "code": "T20", "description": "Standard rate VAT (20%)", "rate": 20}),
        json!({"id": 8, "code": "T5", "description": "Reduced rate VAT (5%)", "rate": 5}),
        json!({"id": 9, "code": "T0", "description": "Zero rated VAT"}),
        json!({"id": 10, "code": "T9", "description": "Outside the scope of VAT"}),
    ]
}

/// (id, code, name, type id, bank, discount, default tax code) of a nominal code.
type NominalRow = (
    i64,
    &'static str,
    &'static str,
    i64,
    bool,
    bool,
    Option<&'static str>,
);

/// `GET /accounting-service/nominal-code` objects ([obs] shape).
pub fn bp_nominal_codes() -> Vec<Value> {
    let rows: [NominalRow; 14] = [
        (1, "1001", "Stock", 1, false, false, None),
        (2, "1100", "Debtors control account", 1, false, false, None),
        (3, "1200", "Bank current account", 1, true, false, None),
        (4, "1210", "PayPal account", 1, true, false, None),
        (5, "1220", "Stripe clearing account", 1, true, false, None),
        (
            6,
            "1230",
            "Gift certificates redeemed",
            1,
            true,
            false,
            None,
        ),
        (7, "1240", "Store credit redeemed", 1, true, false, None),
        (
            8,
            "2200",
            "Sales tax control account",
            2,
            false,
            false,
            None,
        ),
        (9, "4000", "Sales", 4, false, false, Some("T20")),
        (10, "4010", "Sales - trade", 4, false, false, Some("T20")),
        (
            11,
            "4040",
            "Carriage on sales",
            4,
            false,
            false,
            Some("T20"),
        ),
        (12, "4009", "Discounts allowed", 4, false, true, Some("T20")),
        (
            13,
            "4900",
            "Rounding differences",
            4,
            false,
            false,
            Some("T0"),
        ),
        (14, "5000", "Cost of sales - goods", 5, false, false, None),
    ];
    rows.iter()
        .map(|(id, code, name, ty, bank, discount, tax)| {
            json!({
                "id": id, "code": code, "name": name, "type": {"id": ty},
                "bank": if *bank { 1 } else { 0 }, "expense": if *ty == 5 { 1 } else { 0 },
                "discount": if *discount { 1 } else { 0 }, "editable": 1, "active": 1,
                "taxCode": tax.map(Value::from).unwrap_or(Value::Null),
                "description": name, "reconcile": if *bank { 1 } else { 0 }
            })
        })
        .collect()
}

/// `GET /accounting-service/payment-method` objects ([doc] shape): one bank account per
/// currency, all on the method's bank nominal code.
pub fn bp_payment_methods() -> Vec<Value> {
    PAYMENT_METHODS
        .iter()
        .map(|m| {
            let banks: Vec<Value> = CURRENCIES
                .iter()
                .map(|c| json!({"paymentMethodId": m.bp_id, "currencyIsoCode": c.code, "bankAccountNominalCode": m.nominal}))
                .collect();
            json!({"id": m.bp_id, "name": m.bp_name, "code": m.bp_code, "isActive": true,
                   "bankAccounts": banks, "installedIntegrationId": Value::Null})
        })
        .collect()
}

/// `GET /warehouse-service/shipping-method` objects, named exactly as on BigCommerce
/// (Brightpearl's BigCommerce app matches by name [doc]).
pub fn bp_shipping_methods() -> Vec<Value> {
    SHIPPING_METHODS
        .iter()
        .map(|s| {
            json!({"id": s.bp_id, "name": s.name, "code": s.code, "methodType": 2,
                   "carrier": s.carrier, "additionalInformationRequired": false, "breaks": []})
        })
        .collect()
}

/// `GET /product-service/channel` objects ([doc] shape).
pub fn bp_channels() -> Vec<Value> {
    vec![
        json!({"id": 1, "name": "Brightpearl", "channelTypeId": 2, "channelBrandId": 1,
               "defaultWarehouseId": 2, "contactGroupId": 0, "defaultPriceListId": PL_RETAIL,
               "warehouseIds": [2, 3, 4], "integrationDetail": Value::Null}),
        json!({"id": CHANNEL_ID, "name": "BigCommerce UK", "channelTypeId": 1, "channelBrandId": 1,
               "defaultWarehouseId": 2, "contactGroupId": 1, "defaultPriceListId": PL_RETAIL,
               "warehouseIds": [2, 3, 4],
               "integrationDetail": {"externalStoreName": "Harbour & Field", "installedIntegrationInstanceId": 11}}),
    ]
}

/// `GET /order-service/order-status` objects ([doc] shape): sales order (SO) and sales credit
/// (SC) statuses of a typical account.
pub fn bp_order_statuses() -> Vec<Value> {
    let rows: [(i64, &str, &str, i64, &str); 10] = [
        (1, "Draft / Quote", "SO", 1, "#cccccc"),
        (2, "New web order", "SO", 2, "#3399ff"),
        (3, "Awaiting payment", "SO", 3, "#ff9900"),
        (6, "Ready to ship", "SO", 4, "#33cc33"),
        (4, "Invoiced", "SO", 5, "#009900"),
        (5, "Cancelled", "SO", 6, "#cc0000"),
        (7, "On hold", "SO", 7, "#999999"),
        (21, "Sales credit - pending", "SC", 1, "#ff9900"),
        (22, "Sales credit - complete", "SC", 2, "#009900"),
        (23, "Sales credit - cancelled", "SC", 3, "#cc0000"),
    ];
    rows.iter()
        .map(|(id, name, ty, sort, color)| {
            json!({"statusId": id, "name": name, "orderTypeCode": ty, "sortOrder": sort,
                   "disabled": false, "visible": true, "color": color, "remindAfterDays": 0,
                   "alertEmails": [], "batchProcess": false, "state": Value::Null})
        })
        .collect()
}

/// `GET /product-service/price-list` objects ([doc] shape).
pub fn bp_price_lists() -> Vec<Value> {
    let rows: [(i64, &str, &str, Currency, &str, bool); 6] = [
        (PL_RETAIL, "Retail", "RETAIL", GBP, "SELL", true),
        (PL_COST, "Cost", "COST", GBP, "BUY", false),
        (PL_TRADE, "Trade", "TRADE", GBP, "SELL", false),
        (PL_WHOLESALE, "Wholesale", "WHOLE", GBP, "SELL", false),
        (PL_RETAIL_EUR, "Retail EUR", "RETAILEUR", EUR, "SELL", true),
        (PL_RETAIL_USD, "Retail USD", "RETAILUSD", USD, "SELL", false),
    ];
    rows.iter()
        .map(|(id, name, code, cur, ty, gross)| {
            json!({"id": id, "name": {"languageCode": "en", "text": name, "format": "PLAINTEXT"},
                   "code": code, "currencyCode": cur.code, "currencySymbol": cur.symbol,
                   "currencyId": cur.bp_id, "priceListTypeCode": ty, "gross": gross})
        })
        .collect()
}

/// `GET /warehouse-service/warehouse` objects ([obs] `id`, `name`; the rest [unconfirmed]).
pub fn bp_warehouses() -> Vec<Value> {
    WAREHOUSES
        .iter()
        .map(|w| {
            json!({"id": w.bp_id, "name": w.name, "typeCode": "OWN", "typeDescription": "Own warehouse",
                   "address": {"addressLine1": "Unit 4", "addressLine3": w.city, "postalCode": w.postcode,
                               "countryIsoCode": if w.country == "GB" { "GBR" } else { "NLD" }}})
        })
        .collect()
}

/// `GET /v3/inventory/locations` objects (§8 fields).
pub fn bc_locations() -> Vec<Value> {
    WAREHOUSES
        .iter()
        .map(|w| {
            let day = json!({"open": true, "opening": "09:00", "closing": "17:30"});
            let closed = json!({"open": false, "opening": "00:00", "closing": "00:00"});
            json!({
                "id": w.bc_location_id, "code": w.code, "label": w.name,
                "description": format!("Stock held at {}", w.name),
                "managed_by_external_source": true, "type_id": "PHYSICAL", "enabled": true,
                "storefront_visibility": w.bc_location_id == 2,
                "operating_hours": {"sunday": closed, "monday": day, "tuesday": day, "wednesday": day,
                                    "thursday": day, "friday": day, "saturday": closed},
                "time_zone": w.time_zone,
                "address": {"address1": "Unit 4", "address2": "", "city": w.city, "state": "",
                            "zip": w.postcode, "email": format!("{}@harbourandfield.example", w.code.to_lowercase()),
                            "phone": "0117 496 0000", "country_code": w.country,
                            "geo_coordinates": {"latitude": 51.4545, "longitude": -2.5879}},
                "special_hours": [],
                "created_at": REF_CREATED, "updated_at": REF_CREATED
            })
        })
        .collect()
}

/// `GET /v2/customer_groups` objects (§9 fields; v2 dates RFC 2822).
pub fn bc_customer_groups() -> Vec<Value> {
    CUSTOMER_GROUPS
        .iter()
        .map(|g| {
            let rules: Vec<Value> = g
                .bc_price_list_id
                .map(|pl| vec![json!({"type": "price_list", "price_list_id": pl})])
                .unwrap_or_default();
            json!({"id": g.id, "name": g.name, "is_default": g.id == GROUP_RETAIL.id,
                   "category_access": {"type": "all"}, "discount_rules": rules,
                   "is_group_for_guests": false,
                   "date_created": "Mon, 06 Jan 2025 09:00:00 +0000",
                   "date_modified": "Mon, 06 Jan 2025 09:00:00 +0000"})
        })
        .collect()
}

/// `GET /v3/pricelists` objects and `GET /v3/pricelists/assignments` objects.
pub fn bc_price_lists() -> (Vec<Value>, Vec<Value>) {
    let lists = vec![
        json!({"id": 1, "name": "Trade", "active": true, "date_created": REF_CREATED, "date_modified": REF_CREATED}),
        json!({"id": 2, "name": "Wholesale", "active": true, "date_created": REF_CREATED, "date_modified": REF_CREATED}),
    ];
    let assignments = CUSTOMER_GROUPS
        .iter()
        .filter_map(|g| g.bc_price_list_id.map(|pl| (g, pl)))
        .enumerate()
        .map(|(i, (g, pl))| json!({"id": i + 1, "price_list_id": pl, "customer_group_id": g.id, "channel_id": 1}))
        .collect();
    (lists, assignments)
}
