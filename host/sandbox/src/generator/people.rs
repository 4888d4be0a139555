//! Customers and addresses: BigCommerce v3 customers (B2C and B2B, with `customer_group_id`),
//! Brightpearl contacts and postal addresses for about half of them, and guest shoppers.

use super::Rng;
use super::money::v3;
use super::reference::{
    Currency, CustomerGroup, EUR, GBP, GROUP_RETAIL, GROUP_TRADE, GROUP_WHOLESALE, USD,
};
use chrono::{DateTime, Duration, Utc};
use rand::Rng as _;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// A postal address in BigCommerce v2 order terms.
#[derive(Clone, Debug)]
pub struct Address {
    pub street_1: String,
    pub street_2: String,
    pub city: &'static str,
    pub state: &'static str,
    pub zip: &'static str,
    pub country: &'static str,
    pub country_iso2: &'static str,
    pub country_iso3: &'static str,
}

/// A shopper: a registered customer's or a guest's details.
#[derive(Clone, Debug)]
pub struct Person {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub company: String,
    pub address: Address,
}

/// A registered BigCommerce customer.
#[derive(Clone, Debug)]
pub struct Customer {
    pub id: i64,
    pub person: Person,
    pub group: CustomerGroup,
    pub currency: Currency,
    /// Store credit available (in GBP; only spent on GBP orders).
    pub store_credit: Decimal,
    pub bp_contact_id: Option<i64>,
    /// The `GET /v3/customers` object (with `addresses`).
    pub json: Value,
}

/// Everything the people step produces.
#[derive(Clone, Debug, Default)]
pub struct People {
    pub customers: Vec<Customer>,
    pub bp_contacts: Vec<Value>,
    pub bp_postal_addresses: Vec<Value>,
    emails: BTreeSet<String>,
}

const FIRST: [&str; 32] = [
    "Olivia", "Amelia", "Isla", "Ava", "Mia", "Grace", "Freya", "Lily", "Ella", "Sophie", "Ruby",
    "Evie", "Oliver", "George", "Arthur", "Noah", "Leo", "Harry", "Oscar", "Jack", "Charlie",
    "Thomas", "James", "Henry", "Aoife", "Siobhan", "Lukas", "Hannah", "Camille", "Lucas", "Daan",
    "Madison",
];
const LAST: [&str; 32] = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Wood", "Jackson", "Clarke", "Hughes", "O'Brien", "Murphy", "Müller", "Schmidt", "Dubois",
    "Martin", "de Vries", "Bakker", "Miller", "Garcia",
];
const COMPANIES: [&str; 12] = [
    "Peak Outdoor Supplies Ltd",
    "Cotswold Gift Co",
    "Northern Trails Ltd",
    "The Camping Shed",
    "Lakeland Living Ltd",
    "Harbourside Gifts",
    "Bramble & Thistle Ltd",
    "Summit Retail Group",
    "Wildwood Stores Ltd",
    "Shoreline Boutique",
    "Valley Hardware Ltd",
    "Trailhead Co-operative",
];

type Place = (&'static str, &'static str, &'static str);
const GB_PLACES: [Place; 8] = [
    ("Bristol", "Avon", "BS1 4DJ"),
    ("Manchester", "Greater Manchester", "M1 2AB"),
    ("Leeds", "West Yorkshire", "LS2 7EE"),
    ("Edinburgh", "Midlothian", "EH1 1YZ"),
    ("Cardiff", "South Glamorgan", "CF10 1EP"),
    ("London", "Greater London", "SE1 9SG"),
    ("York", "North Yorkshire", "YO1 7HH"),
    ("Norwich", "Norfolk", "NR2 1TF"),
];
const GB_STREETS: [&str; 6] = [
    "High Street",
    "Church Road",
    "Station Road",
    "Victoria Road",
    "Mill Lane",
    "Park Avenue",
];

/// (country, iso2, iso3, places, streets, currency)
fn country(
    code: &str,
) -> (
    &'static str,
    &'static str,
    &'static str,
    &'static [Place],
    &'static [&'static str],
    Currency,
) {
    match code {
        "IE" => (
            "Ireland",
            "IE",
            "IRL",
            &[
                ("Dublin", "County Dublin", "D02 X285"),
                ("Cork", "County Cork", "T12 RX2F"),
            ],
            &["Main Street", "Grafton Street"],
            EUR,
        ),
        "DE" => (
            "Germany",
            "DE",
            "DEU",
            &[
                ("Berlin", "Berlin", "10115"),
                ("Hamburg", "Hamburg", "20095"),
            ],
            &["Hauptstraße", "Bahnhofstraße"],
            EUR,
        ),
        "FR" => (
            "France",
            "FR",
            "FRA",
            &[
                ("Lyon", "Rhône", "69002"),
                ("Nantes", "Loire-Atlantique", "44000"),
            ],
            &["Rue de la République", "Rue Nationale"],
            EUR,
        ),
        "NL" => (
            "Netherlands",
            "NL",
            "NLD",
            &[
                ("Utrecht", "Utrecht", "3511 LX"),
                ("Haarlem", "Noord-Holland", "2011 HP"),
            ],
            &["Oudegracht", "Grote Markt"],
            EUR,
        ),
        "US" => (
            "United States",
            "US",
            "USA",
            &[
                ("Portland", "Oregon", "97205"),
                ("Austin", "Texas", "78701"),
                ("Boston", "Massachusetts", "02108"),
            ],
            &["Main Street", "Oak Avenue", "Maple Drive"],
            USD,
        ),
        _ => ("United Kingdom", "GB", "GBR", &GB_PLACES, &GB_STREETS, GBP),
    }
}

/// Picks a destination country: mostly UK, some euro-zone, some US.
pub fn random_country(rng: &mut Rng) -> &'static str {
    match rng.random_range(0..100) {
        0..70 => "GB",
        70..74 => "IE",
        74..79 => "DE",
        79..83 => "FR",
        83..88 => "NL",
        _ => "US",
    }
}

/// The currency a shopper in `country_iso2` pays in.
pub fn currency_for(country_iso2: &str) -> Currency {
    country(country_iso2).5
}

/// A random address in `code`'s country.
pub fn random_address(rng: &mut Rng, code: &str) -> Address {
    let (name, iso2, iso3, places, streets, _) = country(code);
    let (city, state, zip) = places[rng.random_range(0..places.len())];
    let street = streets[rng.random_range(0..streets.len())];
    let number = rng.random_range(1..180);
    let street_1 = if matches!(iso2, "DE" | "NL") {
        format!("{street} {number}")
    } else {
        format!("{number} {street}")
    };
    let street_2 = if rng.random_bool(0.2) {
        format!("Flat {}", rng.random_range(1..30))
    } else {
        String::new()
    };
    Address {
        street_1,
        street_2,
        city,
        state,
        zip,
        country: name,
        country_iso2: iso2,
        country_iso3: iso3,
    }
}

fn phone(rng: &mut Rng, iso2: &str) -> String {
    match iso2 {
        "GB" => format!("07700 900{:03}", rng.random_range(0..1000)),
        "US" => format!("+1 503 555 {:04}", rng.random_range(100..200)),
        "IE" => format!("+353 1 555 {:04}", rng.random_range(0..10000)),
        _ => format!("+49 30 5550 {:04}", rng.random_range(0..10000)),
    }
}

fn slug(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            'ü' => Some('u'),
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

impl People {
    /// A new shopper with an email address no other shopper uses.
    pub fn person(&mut self, rng: &mut Rng, code: &str, company: bool) -> Person {
        let first = FIRST[rng.random_range(0..FIRST.len())].to_string();
        let last = LAST[rng.random_range(0..LAST.len())].to_string();
        let company = if company {
            COMPANIES[rng.random_range(0..COMPANIES.len())].to_string()
        } else {
            String::new()
        };
        let address = random_address(rng, code);
        let domain = if !company.is_empty() {
            format!("{}.example", slug(&company).trim_end_matches("ltd"))
        } else {
            ["example.com", "example.co.uk", "example.net", "example.org"][rng.random_range(0..4)]
                .to_string()
        };
        let mut email = format!("{}.{}@{}", slug(&first), slug(&last), domain);
        let mut n = 2;
        while self.emails.contains(&email) {
            email = format!("{}.{}{}@{}", slug(&first), slug(&last), n, domain);
            n += 1;
        }
        self.emails.insert(email.clone());
        let phone = phone(rng, address.country_iso2);
        Person {
            first_name: first,
            last_name: last,
            email,
            phone,
            company,
            address,
        }
    }
}

/// Builds `n` registered customers (ids 1..=n) created before `epoch`; about half get a
/// Brightpearl contact (ids from 201, postal addresses from 301).
pub fn build(rng: &mut Rng, n: usize, epoch: DateTime<Utc>) -> People {
    let mut people = People::default();
    for i in 0..n {
        let id = i as i64 + 1;
        let group = match rng.random_range(0..100) {
            0..72 => GROUP_RETAIL,
            72..90 => GROUP_TRADE,
            _ => GROUP_WHOLESALE,
        };
        let code = if group.b2b { "GB" } else { random_country(rng) };
        let person = people.person(rng, code, group.b2b);
        let currency = currency_for(code);
        let store_credit = if !group.b2b && currency.code == "GBP" && rng.random_bool(0.3) {
            Decimal::from(rng.random_range(1..=8) * 5)
        } else {
            Decimal::ZERO
        };
        let created = epoch - Duration::days(400) + Duration::hours(rng.random_range(0..9000));
        let created_iso = created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let a = &person.address;
        let json = json!({
            "id": id,
            "authentication": {"force_password_reset": false},
            "company": person.company,
            "customer_group_id": group.id,
            "email": person.email,
            "first_name": person.first_name,
            "last_name": person.last_name,
            "notes": "",
            "phone": person.phone,
            "registration_ip_address": format!("81.2.69.{}", id % 250),
            "tax_exempt_category": "",
            "date_created": created_iso,
            "date_modified": created_iso,
            "accepts_product_review_abandoned_cart_emails": false,
            "store_credit_amounts": [{"amount": v3(store_credit)}],
            "origin_channel_id": 1,
            "channel_ids": [1],
            "address_count": 1,
            "attribute_count": 0,
            "addresses": [{
                "id": id, "customer_id": id, "first_name": person.first_name, "last_name": person.last_name,
                "company": person.company, "address1": a.street_1, "address2": a.street_2, "city": a.city,
                "state_or_province": a.state, "postal_code": a.zip, "country": a.country,
                "country_code": a.country_iso2, "phone": person.phone,
                "address_type": if group.b2b { "commercial" } else { "residential" }
            }]
        });
        let bp_contact_id = if rng.random_bool(0.5) {
            let k = people.bp_contacts.len() as i64;
            let contact_id = 201 + k;
            let address_id = 301 + k;
            people.bp_postal_addresses.push(json!({
                "id": address_id, "addressLine1": a.street_1, "addressLine2": a.street_2,
                "addressLine3": a.city, "addressLine4": a.state, "postalCode": a.zip,
                "countryId": match a.country_iso3 { "GBR" => 222, "IRL" => 103, "DEU" => 80, "FRA" => 73, "NLD" => 150, _ => 223 },
                "countryIsoCode": a.country_iso3
            }));
            let bp_created =
                (created + Duration::days(1)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let mut telephones = serde_json::Map::new();
            telephones.insert(
                if group.b2b {
                    "PRI".into()
                } else {
                    "MOB".into()
                },
                Value::from(person.phone.clone()),
            );
            people.bp_contacts.push(json!({
                "contactId": contact_id, "isPrimaryContact": true, "salutation": "",
                "firstName": person.first_name, "lastName": person.last_name,
                "postAddressIds": {"DEF": address_id, "BIL": address_id, "DEL": address_id},
                "communication": {"emails": {"PRI": {"email": person.email}}, "telephones": telephones, "websites": {}},
                "contactStatus": {"current": {"contactStatusId": 1, "contactStatusName": "Active"}},
                "relationshipToAccount": {"isSupplier": false, "isStaff": false},
                "marketingDetails": {"isReceiveEmailNewsletter": rng.random_bool(0.4)},
                "financialDetails": {"priceListId": group.bp_price_list_id,
                                     "nominalCode": if group.b2b { 4010 } else { 4000 },
                                     "taxCodeId": 7, "creditLimit": if group.b2b { 5000 } else { 0 },
                                     "creditTermDays": if group.b2b { 30 } else { 0 },
                                     "currencyId": currency.bp_id, "discountPercentage": 0, "taxNumber": ""},
                "assignment": {"current": {"staffOwnerContactId": 4, "leadSourceId": 0,
                                           "accountReference": format!("BC{id:05}")}},
                "organisation": if person.company.is_empty() { json!({}) } else { json!({"name": person.company}) },
                "createdOn": bp_created, "updatedOn": bp_created, "contactTags": []
            }));
            Some(contact_id)
        } else {
            None
        };
        people.customers.push(Customer {
            id,
            person,
            group,
            currency,
            store_credit,
            bp_contact_id,
            json,
        });
    }
    people
}
