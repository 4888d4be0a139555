//! The pricing-specific part of a run on the SDK's flow engine. The entities are the mapped
//! BigCommerce price lists (`bigcommerce:pricelist:<id>`); a scheduled run takes every one,
//! a replay the ones named. For them, at the end of the run ([`Flow::finish`]):
//!
//! 1. the catalogs: every Brightpearl product with a SKU (`product-search`, pages of 500)
//!    and every BigCommerce variant (`GET /v3/catalog/variants`, pages of 250), matched by
//!    SKU exactly;
//! 2. Brightpearl prices of every product on the mapped lists
//!    (`GET /product-service/product-price/{≤200 ids}/price-list/{lists}`; 404 = none);
//! 3. the wanted records ([`mapping::record`]) of each list; only those that differ from
//!    the last pushed are written, `PUT /v3/pricelists/{id}/records` ≤ 1,000 a call, one
//!    call at a time (the component's calls are sequential, so never more than one upsert
//!    runs per store from this flow, within the limit of two);
//! 4. each list's assignments (`GET /v3/pricelists/assignments?price_list_id=`), the
//!    missing (group, channel) ones created (`POST /v3/pricelists/assignments`, ≤ 25);
//! 5. reconciliation: the list's records read back (`GET /v3/pricelists/{id}/records`) and
//!    compared with the wanted ones (`prices.checked`, `prices.mismatched`); a mismatched
//!    record is forgotten as pushed, so the next run writes it again;
//! 6. the B2B contacts check: each BigCommerce customer of a mapped group
//!    (`GET /v3/customers?customer_group_id:in=`), its Brightpearl contact by e-mail
//!    (`contact-search`, remembered), the contacts read in sets of 200, and
//!    `financialDetails.priceListId` compared with the group's list.
//!
//! State keys:
//! - `pushed:pricelist:<bc list id>` → `{"<variant id>:<currency>": "<record JSON>"}`: the
//!   records last written to BigCommerce ([`mapping::Record::json`]);
//! - `contact:customer:<bc customer id>` → `{"email": .., "contact_id": ..}`: the Brightpearl
//!   contact found for the customer's e-mail;
//! - [`WRONG_LIST_KEY`] → `hold` | `post-with-group-list`: the client's `wrong_list`
//!   setting, for the orders flow (state is per client × flow: the orders flow needs the
//!   host to share it, or its own copy of the setting);
//! - `held:`/`retry:pricelist:<id>` — the engine's.

use std::collections::{BTreeMap, BTreeSet};

use pearlbridge_sdk::bigcommerce::{self, Customer};
use pearlbridge_sdk::brightpearl::{self, Contact, Envelope};
use pearlbridge_sdk::dates::Timestamp;
use pearlbridge_sdk::engine::{
    self, Cx, Flow, Key, Mark, Outcome, Problem, Settings, Stop, Sweep, Swept, SweptList,
};
use pearlbridge_sdk::idset;
use pearlbridge_sdk::types::{
    Event, FlowError, Level as LogLevel, Method, Request, RunSummary, System, Team, Trigger,
};
use pearlbridge_sdk::{Api, ApiError, Report, State};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::PricingConfig;
use crate::mapping::{self, ProductPrice, Record};

/// Exception kinds this flow raises.
pub mod kinds {
    /// A B2B customer's Brightpearl contact is on another price list than its group's.
    pub const PRICE_LIST_MISMATCH: &str = "price-list-mismatch";
    /// A Brightpearl product sold in BigCommerce has no usable price on a mapped list.
    pub const PRICE_MISSING: &str = "price-missing";
    /// A Brightpearl product priced on a mapped list has no BigCommerce variant.
    pub const SKU_NOT_IN_BIGCOMMERCE: &str = "sku-not-in-bigcommerce";
    /// BigCommerce refused records of a price list (or its assignment).
    pub const PRICE_RECORD_REJECTED: &str = "price-record-rejected";
    /// Writing a price list failed on several runs in a row.
    pub const PRICE_PUSH_FAILED: &str = "price-push-failed";
}

/// The state key of the `wrong_list` setting, for the orders flow.
pub const WRONG_LIST_KEY: &str = "setting:wrong_list";

const PUSHED: Mark = Mark::Cache("pushed");
const CONTACT: Mark = Mark::Cache("contact");

/// The run summary's counters, in order.
pub const COUNTERS: &[&str] = &[
    "products_read",
    "variants_matched",
    "price_records_upserted",
    "writes",
    "assignments_created",
    "prices.checked",
    "prices.mismatched",
    "customers_checked",
    "contacts_on_wrong_list",
    "held",
    "pending_retry",
];

/// Most customers, variants and assignments a v3 page returns (bigcommerce-api.md §2).
const V3_PAGE: u32 = bigcommerce::V3_MAX_LIMIT;
/// Most assignments in one `POST /v3/pricelists/assignments` (bigcommerce-api.md §9 [doc]).
const ASSIGNMENTS_PER_POST: usize = 25;
/// Pages read at most from one paged list (a guard against a server that never ends).
const MAX_PAGES: u32 = 2000;

/// Run for one trigger at `now` (unix seconds, UTC); see [`engine::run`] for when the run
/// fails. A replay names price lists: `bigcommerce:pricelist:<bc list id>`.
pub fn run_at(
    trigger: &Trigger,
    cfg: &PricingConfig,
    api: &dyn Api,
    state: &dyn State,
    report: &dyn Report,
    now: i64,
) -> Result<RunSummary, FlowError> {
    let mut flow = Pricing::new(cfg);
    engine::run(&mut flow, trigger, api, state, report, Timestamp(now))
}

/// The pricing flow on the engine.
pub struct Pricing<'c> {
    cfg: &'c PricingConfig,
    /// BigCommerce price list ids queued for the end of the run.
    queue: BTreeSet<u64>,
}

impl<'c> Pricing<'c> {
    pub fn new(cfg: &'c PricingConfig) -> Self {
        Pricing {
            cfg,
            queue: BTreeSet::new(),
        }
    }
}

/// One BigCommerce variant: id, SKU.
#[derive(Debug, Clone)]
struct Variant {
    id: u64,
    sku: String,
}

#[derive(Serialize, Deserialize)]
struct ContactLink {
    email: String,
    contact_id: u64,
}

fn product_entity(id: u64) -> String {
    Key::new(System::Brightpearl, "product", id).entity()
}

fn customer_entity(id: u64) -> String {
    Key::new(System::Bigcommerce, "customer", id).entity()
}

impl Flow for Pricing<'_> {
    type Id = u64;
    type Item = ();

    fn settings(&self) -> Settings {
        Settings {
            name: "pricing",
            system: System::Bigcommerce,
            kind: "pricelist",
            plural: "price lists",
            open_marks: &[],
            retry_kind: kinds::PRICE_PUSH_FAILED,
            retry_owner: Team::Ecommerce,
            retry_exception_after: self.cfg.retry_exception_after,
            sweep: Some(Sweep::All),
            counters: COUNTERS,
        }
    }

    /// No events: prices are read on a schedule.
    fn event_id(&self, _e: &Event) -> Option<String> {
        None
    }

    /// Every mapped BigCommerce price list.
    fn sweep(&mut self, _cx: &mut Cx, _from: Timestamp) -> Result<SweptList<Self>, ApiError> {
        Ok(self
            .cfg
            .lists()
            .into_keys()
            .map(|id| Swept {
                id,
                modified: None,
                item: (),
            })
            .collect())
    }

    /// Queue a mapped list; a list no longer mapped (held or pending from an older config)
    /// is cleared.
    fn process(&mut self, cx: &mut Cx, id: &u64, _item: Option<()>) -> Result<Outcome, Stop> {
        if !self.cfg.lists().contains_key(id) {
            cx.log(
                LogLevel::Warn,
                &format!(
                    "{}: not in flows.pricing.mapping.groups; nothing to do",
                    cx.key(id).entity()
                ),
            );
            return Ok(Outcome::Clear);
        }
        self.queue.insert(*id);
        Ok(Outcome::Deferred)
    }

    fn finish(&mut self, cx: &mut Cx) {
        let queue = std::mem::take(&mut self.queue);
        if queue.is_empty() {
            return;
        }
        let setting = self.cfg.wrong_list.as_str();
        if cx.state.get(WRONG_LIST_KEY).map(|e| e.value).as_deref() != Some(setting) {
            cx.state.set(WRONG_LIST_KEY, setting);
        }
        let complete = queue.len() == self.cfg.lists().len();
        let wanted = match self.wanted(cx, &queue, complete) {
            Ok(w) => w,
            Err(e) => {
                for id in &queue {
                    cx.failed(&cx.key(id), &e);
                }
                return;
            }
        };
        for (list, records) in &wanted {
            if cx.stopping() {
                return;
            }
            self.push_list(cx, *list, records);
            cx.progress(1);
        }
        if cx.stopping() {
            return;
        }
        if let Err(e) = self.check_contacts(cx, complete) {
            match e.credentials_problem() {
                Some(m) => cx.stop(m),
                None => {
                    cx.log(LogLevel::Warn, &format!("contacts check skipped: {e}"));
                    cx.note(format!("contacts check skipped: {e}"));
                }
            }
        }
    }
}

impl Pricing<'_> {
    /// The records wanted on each queued BigCommerce list, from both catalogs and the
    /// Brightpearl prices; raises and resolves `price-missing` and `sku-not-in-bigcommerce`
    /// (resolved only when every mapped list was read: `complete`).
    fn wanted(
        &self,
        cx: &mut Cx,
        queue: &BTreeSet<u64>,
        complete: bool,
    ) -> Result<BTreeMap<u64, Vec<Record>>, ApiError> {
        let skus = brightpearl::Client::new(cx.api)
            .product_skus(None, brightpearl::PRODUCT_INDEX_MAX_PAGES)?
            .index;
        let variants = self.variants(cx)?;
        let lists = self.cfg.lists();
        let bp_lists: BTreeSet<u64> = queue.iter().filter_map(|l| lists.get(l)).copied().collect();
        let ids: Vec<u64> = skus.values().copied().collect();
        for _ in &ids {
            cx.count("products_read");
        }
        let prices = self.prices(cx, &ids, &bp_lists)?;
        let mut wanted: BTreeMap<u64, Vec<Record>> = queue.iter().map(|l| (*l, vec![])).collect();
        let mut missing: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        let mut not_in_bc: BTreeMap<u64, String> = BTreeMap::new();
        let currency = self.cfg.currency.trim();
        for (sku, pid) in &skus {
            let lps = prices.get(pid);
            let Some(v) = variants.get(sku) else {
                let priced = lps.is_some_and(|l| {
                    l.iter().any(|lp| {
                        bp_lists.contains(&lp.price_list_id) && !lp.quantity_price.is_empty()
                    })
                });
                if priced {
                    not_in_bc.insert(*pid, sku.clone());
                }
                continue;
            };
            cx.count("variants_matched");
            for bc_list in queue {
                let bp_list = lists[bc_list];
                let lp = lps.and_then(|l| l.iter().find(|lp| lp.price_list_id == bp_list));
                let why = match lp {
                    None => Some(format!("no price on Brightpearl price list {bp_list}")),
                    Some(lp) if !lp.currency_code.eq_ignore_ascii_case(currency) => Some(format!(
                        "Brightpearl price list {bp_list} is in {} but flows.pricing.mapping.currency is {currency}",
                        lp.currency_code
                    )),
                    Some(lp) => match mapping::breaks(lp) {
                        Err(e) => Some(format!("Brightpearl price list {bp_list}: {e}")),
                        Ok(b) if b.is_empty() => {
                            Some(format!("no price on Brightpearl price list {bp_list}"))
                        }
                        Ok(b) => {
                            if let Some(r) = mapping::record(v.id, &v.sku, currency, &b) {
                                wanted.entry(*bc_list).or_default().push(r);
                            }
                            None
                        }
                    },
                };
                if let Some(why) = why {
                    missing
                        .entry(*pid)
                        .or_default()
                        .push(format!("{why} (BigCommerce price list {bc_list})"));
                }
            }
        }
        self.settle_catalog_problems(cx, &skus, &missing, &not_in_bc, complete);
        Ok(wanted)
    }

    fn settle_catalog_problems(
        &self,
        cx: &mut Cx,
        skus: &BTreeMap<String, u64>,
        missing: &BTreeMap<u64, Vec<String>>,
        not_in_bc: &BTreeMap<u64, String>,
        complete: bool,
    ) {
        let sku_of: BTreeMap<u64, &String> = skus.iter().map(|(s, id)| (*id, s)).collect();
        for (pid, why) in missing {
            let entity = product_entity(*pid);
            let sku = sku_of.get(pid).map(|s| s.as_str()).unwrap_or("");
            cx.raise(
                kinds::PRICE_MISSING,
                &entity,
                Team::Ecommerce,
                format!(
                    "{entity}: SKU `{sku}` is sold in BigCommerce but has {}; its B2B customers see the catalog price",
                    why.join("; ")
                ),
                None,
                true,
            );
        }
        for (pid, sku) in not_in_bc {
            let entity = product_entity(*pid);
            cx.raise(
                kinds::SKU_NOT_IN_BIGCOMMERCE,
                &entity,
                Team::Ecommerce,
                format!(
                    "{entity}: SKU `{sku}` has a price on a mapped Brightpearl price list but no BigCommerce variant has this SKU, so its price is not published"
                ),
                None,
                true,
            );
        }
        if !complete {
            return;
        }
        for (kind, entity) in cx.report.open("brightpearl:product:") {
            let id = entity
                .rsplit(':')
                .next()
                .and_then(|i| i.parse::<u64>().ok());
            let open = match kind.as_str() {
                kinds::PRICE_MISSING => id.is_some_and(|i| missing.contains_key(&i)),
                kinds::SKU_NOT_IN_BIGCOMMERCE => id.is_some_and(|i| not_in_bc.contains_key(&i)),
                _ => continue,
            };
            if !open {
                cx.report.resolve(&kind, &entity);
            }
        }
    }

    /// SKU → variant of every BigCommerce variant with a SKU:
    /// `GET /v3/catalog/variants?include_fields=id,product_id,sku&limit=250&page=N` until
    /// `meta.pagination.total_pages` (bigcommerce-api.md §8 [doc]).
    fn variants(&self, cx: &Cx) -> Result<BTreeMap<String, Variant>, ApiError> {
        let mut out = BTreeMap::new();
        for page in v3_pages(cx.api, |page| {
            format!(
                "/v3/catalog/variants?include_fields=id,product_id,sku&limit={V3_PAGE}&page={page}"
            )
        })? {
            for v in page {
                let (Some(id), Some(sku)) = (v["id"].as_u64(), v["sku"].as_str()) else {
                    continue;
                };
                let sku = sku.trim();
                if !sku.is_empty() {
                    out.entry(sku.to_string()).or_insert(Variant {
                        id,
                        sku: sku.to_string(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Product id → its prices on `lists`, from
    /// `GET /product-service/product-price/{≤200 ids}/price-list/{lists}` (brightpearl-api.md
    /// §7 [doc]); a set with no prices at all answers 404 (`CMNC-404` [obs]): none.
    fn prices(
        &self,
        cx: &Cx,
        ids: &[u64],
        lists: &BTreeSet<u64>,
    ) -> Result<BTreeMap<u64, Vec<mapping::ListPrice>>, ApiError> {
        let mut out = BTreeMap::new();
        let lists: Vec<u64> = lists.iter().copied().collect();
        let pls = idset::format(&lists);
        for set in idset::chunks(ids, idset::PRODUCT_PRICE_GET_LIMIT) {
            let path = format!("/product-service/product-price/{set}/price-list/{pls}");
            match engine::get_json::<Envelope<Vec<ProductPrice>>>(
                cx.api,
                System::Brightpearl,
                &path,
            ) {
                Ok(body) => {
                    for p in body.response {
                        out.insert(p.product_id, p.price_lists);
                    }
                }
                Err(ApiError::Status { status: 404, .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Write the changed records of `list`, ensure its assignments, reconcile; settles the
    /// list's entity (clear, held with `price-record-rejected`, or pending).
    fn push_list(&self, cx: &mut Cx, list: u64, records: &[Record]) {
        let key = cx.key(list);
        let mut pushed: BTreeMap<String, String> = cx
            .mark(&key, PUSHED)
            .and_then(|v| serde_json::from_str(&v).ok())
            .unwrap_or_default();
        let changed: Vec<&Record> = records
            .iter()
            .filter(|r| pushed.get(&r.pushed_key()) != Some(&r.json()))
            .collect();
        let mut rejected: BTreeMap<u64, (String, String)> = BTreeMap::new();
        let path = format!("/v3/pricelists/{list}/records");
        let what = format!("PUT {path}");
        for batch in changed.chunks(mapping::RECORDS_PER_PUT) {
            let all: Vec<Record> = batch.iter().map(|r| (*r).clone()).collect();
            let req = Request {
                system: System::Bigcommerce,
                method: Method::Put,
                path: path.clone(),
                body: Some(mapping::records_body(&all)),
                headers: vec![],
            };
            cx.count("writes");
            let refused = match engine::send(cx.api, req, &what) {
                Ok(resp) => mapping::rejected(&resp.body),
                Err(e) if e.status() == Some(422) => match &e {
                    ApiError::Status { body, .. } => {
                        let r = mapping::rejected(body);
                        if r.is_empty() {
                            // Refused as a whole: every record of the batch.
                            let m = e.server_message();
                            batch.iter().map(|r| (r.variant_id, m.clone())).collect()
                        } else {
                            r
                        }
                    }
                    _ => BTreeMap::new(),
                },
                Err(e) => {
                    self.save_pushed(cx, &key, &pushed);
                    cx.failed(&key, &e);
                    return;
                }
            };
            for r in batch {
                match refused.get(&r.variant_id) {
                    Some(why) => {
                        rejected.insert(r.variant_id, (r.sku.clone(), why.clone()));
                    }
                    None => {
                        pushed.insert(r.pushed_key(), r.json());
                        cx.count("price_records_upserted");
                    }
                }
            }
            self.save_pushed(cx, &key, &pushed);
        }
        if let Err(e) = self.ensure_assignments(cx, list) {
            if e.status().is_some_and(|s| s == 422 || s == 404) {
                rejected.insert(0, (String::new(), format!("assignment: {e}")));
            } else {
                cx.failed(&key, &e);
                return;
            }
        }
        match self.reconcile(cx, list, records) {
            Ok(mismatched) => {
                if !mismatched.is_empty() {
                    for k in &mismatched {
                        pushed.remove(k);
                    }
                    self.save_pushed(cx, &key, &pushed);
                    cx.log(
                        LogLevel::Warn,
                        &format!(
                            "{}: {} record(s) differ from Brightpearl after the run; written again on the next run",
                            key.entity(),
                            mismatched.len()
                        ),
                    );
                }
            }
            Err(e) => match e.credentials_problem() {
                Some(m) => {
                    cx.stop(m);
                    return;
                }
                None => cx.note(format!("{}: reconciliation skipped: {e}", key.entity())),
            },
        }
        if rejected.is_empty() {
            cx.clear(&key);
        } else {
            let n = rejected.len();
            let shown: Vec<String> = rejected
                .iter()
                .take(5)
                .map(|(v, (sku, why))| {
                    if *v == 0 {
                        why.clone()
                    } else {
                        format!("variant {v} (SKU `{sku}`): {why}")
                    }
                })
                .collect();
            cx.hold(
                &key,
                vec![Problem {
                    kind: kinds::PRICE_RECORD_REJECTED,
                    owner: Team::Ecommerce,
                    message: format!(
                        "{}: BigCommerce refused {n} write(s): {}",
                        key.entity(),
                        shown.join("; ")
                    ),
                    impact: None,
                }],
            );
        }
    }

    fn save_pushed(&self, cx: &Cx, key: &Key, pushed: &BTreeMap<String, String>) {
        let text = serde_json::to_string(pushed).unwrap_or_default();
        if cx.mark(key, PUSHED).as_deref() != Some(text.as_str()) {
            cx.set_mark(key, PUSHED, &text);
        }
    }

    /// Create the missing assignments of `list`: one per mapped (customer group, channel),
    /// read from `GET /v3/pricelists/assignments?price_list_id=<list>`, created with
    /// `POST /v3/pricelists/assignments` `[{price_list_id, customer_group_id, channel_id}]`
    /// (≤ 25 a call, bigcommerce-api.md §9 [doc]).
    fn ensure_assignments(&self, cx: &mut Cx, list: u64) -> Result<(), ApiError> {
        let mut have: BTreeSet<(u64, u64)> = BTreeSet::new();
        for page in v3_pages(cx.api, |page| {
            format!("/v3/pricelists/assignments?price_list_id={list}&limit={V3_PAGE}&page={page}")
        })? {
            for a in page {
                if a["price_list_id"].as_u64() == Some(list)
                    && let (Some(g), Some(c)) =
                        (a["customer_group_id"].as_u64(), a["channel_id"].as_u64())
                {
                    have.insert((g, c));
                }
            }
        }
        let missing: Vec<Value> = self
            .cfg
            .groups_of(list)
            .into_iter()
            .filter(|g| !have.contains(&(g.customer_group_id, g.channel_id)))
            .map(|g| {
                serde_json::json!({"price_list_id": list, "customer_group_id": g.customer_group_id, "channel_id": g.channel_id})
            })
            .collect();
        for batch in missing.chunks(ASSIGNMENTS_PER_POST) {
            let req = Request::post(
                System::Bigcommerce,
                "/v3/pricelists/assignments",
                Value::Array(batch.to_vec()).to_string(),
            );
            cx.count("writes");
            engine::send(cx.api, req, "POST /v3/pricelists/assignments")?;
            for _ in batch {
                cx.count("assignments_created");
            }
        }
        Ok(())
    }

    /// Compare `records` with what BigCommerce holds on `list` in the flow's currency
    /// (`GET /v3/pricelists/{list}/records?currency=&include=bulk_pricing_tiers&limit=1000`,
    /// paged); counts `prices.checked` and `prices.mismatched`; returns the pushed keys of
    /// the mismatched records.
    fn reconcile(
        &self,
        cx: &mut Cx,
        list: u64,
        records: &[Record],
    ) -> Result<Vec<String>, ApiError> {
        let currency = self.cfg.currency.trim().to_ascii_lowercase();
        let mut held: BTreeMap<u64, Value> = BTreeMap::new();
        for page in v3_pages(cx.api, |page| {
            format!(
                "/v3/pricelists/{list}/records?currency={currency}&include=bulk_pricing_tiers&limit={}&page={page}",
                mapping::RECORDS_PER_PUT
            )
        })? {
            for r in page {
                if let Some(v) = r["variant_id"].as_u64() {
                    held.insert(v, r);
                }
            }
        }
        let mut mismatched = vec![];
        for r in records {
            cx.count("prices.checked");
            if !held.get(&r.variant_id).is_some_and(|bc| r.matches(bc)) {
                cx.count("prices.mismatched");
                mismatched.push(r.pushed_key());
            }
        }
        Ok(mismatched)
    }

    /// The B2B contacts check: every BigCommerce customer of a mapped group, its Brightpearl
    /// contact (by e-mail), and `price-list-mismatch` (ecommerce, no money impact: no order
    /// is involved) when the contact's `financialDetails.priceListId` is set and is not the
    /// group's list; resolved when it is, and (when every list was read) for customers no
    /// longer in a mapped group. A customer with no contact yet is skipped (the orders flow
    /// creates it with the group's list).
    fn check_contacts(&self, cx: &mut Cx, complete: bool) -> Result<(), ApiError> {
        let groups: BTreeSet<u64> = self
            .cfg
            .groups
            .iter()
            .map(|g| g.customer_group_id)
            .collect();
        let csv = groups
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let mut customers: Vec<Customer> = vec![];
        for page in v3_pages(cx.api, |page| {
            format!("/v3/customers?customer_group_id:in={csv}&limit={V3_PAGE}&page={page}")
        })? {
            for c in page {
                if let Ok(c) = serde_json::from_value::<Customer>(c) {
                    customers.push(c);
                }
            }
        }
        let bp = brightpearl::Client::new(cx.api);
        let mut contact_of: BTreeMap<u64, u64> = BTreeMap::new();
        for c in &customers {
            if c.email.trim().is_empty() {
                continue;
            }
            let key = Key::new(System::Bigcommerce, "customer", c.id);
            let cached = cx
                .mark(&key, CONTACT)
                .and_then(|v| serde_json::from_str::<ContactLink>(&v).ok())
                .filter(|l| l.email.eq_ignore_ascii_case(c.email.trim()));
            let id = match cached {
                Some(l) => Some(l.contact_id),
                None => {
                    let found = bp
                        .contacts_by_email(c.email.trim())?
                        .first()
                        .map(|m| m.contact_id);
                    if let Some(id) = found {
                        let link = ContactLink {
                            email: c.email.trim().to_string(),
                            contact_id: id,
                        };
                        cx.set_mark(
                            &key,
                            CONTACT,
                            &serde_json::to_string(&link).unwrap_or_default(),
                        );
                    }
                    found
                }
            };
            if let Some(id) = id {
                contact_of.insert(c.id, id);
            }
        }
        let ids: Vec<u64> = contact_of.values().copied().collect();
        let mut contacts: BTreeMap<u64, Contact> = BTreeMap::new();
        for set in idset::chunks(&ids, idset::CONTACT_GET_LIMIT) {
            match engine::get_json::<Envelope<Vec<Contact>>>(
                cx.api,
                System::Brightpearl,
                &format!("/contact-service/contact/{set}"),
            ) {
                Ok(body) => {
                    for c in body.response {
                        contacts.insert(c.contact_id, c);
                    }
                }
                Err(ApiError::Status { status: 404, .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let mut wrong: BTreeSet<String> = BTreeSet::new();
        for c in &customers {
            cx.count("customers_checked");
            let entity = customer_entity(c.id);
            let Some(group) = self.cfg.group(c.customer_group_id) else {
                continue;
            };
            let Some(contact) = contact_of.get(&c.id).and_then(|id| contacts.get(id)) else {
                continue;
            };
            match contact.financial_details.price_list_id {
                Some(has) if has != group.price_list_id => {
                    cx.count("contacts_on_wrong_list");
                    cx.raise(
                        kinds::PRICE_LIST_MISMATCH,
                        &entity,
                        Team::Ecommerce,
                        format!(
                            "{entity}: BigCommerce customer {} (customer group {}) maps to Brightpearl price list {}, but Brightpearl contact {} is on price list {has}; orders follow flows.pricing.mapping.wrong_list = \"{}\"",
                            c.id,
                            c.customer_group_id,
                            group.price_list_id,
                            contact.contact_id,
                            self.cfg.wrong_list.as_str()
                        ),
                        None,
                        true,
                    );
                    wrong.insert(entity);
                }
                Some(_) => cx.report.resolve(kinds::PRICE_LIST_MISMATCH, &entity),
                None => {}
            }
        }
        if complete {
            let in_groups: BTreeSet<String> =
                customers.iter().map(|c| customer_entity(c.id)).collect();
            for (kind, entity) in cx.report.open("bigcommerce:customer:") {
                if kind == kinds::PRICE_LIST_MISMATCH && !in_groups.contains(&entity) {
                    cx.report.resolve(&kind, &entity);
                }
            }
        }
        Ok(())
    }
}

/// Every page of a BigCommerce v3 list (`{data, meta{pagination{total_pages}}}`), `path`
/// giving the path of page N (from 1); stops at `total_pages`, an empty page or a 204.
fn v3_pages(api: &dyn Api, path: impl Fn(u32) -> String) -> Result<Vec<Vec<Value>>, ApiError> {
    let mut pages = vec![];
    for page in 1..=MAX_PAGES {
        let p = path(page);
        let what = format!("GET {}", p.split('?').next().unwrap_or(&p));
        let resp = engine::send(api, Request::get(System::Bigcommerce, p), &what)?;
        if resp.status == 204 || resp.body.trim().is_empty() {
            break;
        }
        let body: Value = serde_json::from_str(&resp.body).map_err(|e| ApiError::Decode {
            what: what.clone(),
            message: e.to_string(),
        })?;
        let data = body["data"].as_array().cloned().unwrap_or_default();
        let n = data.len();
        let total = body["meta"]["pagination"]["total_pages"]
            .as_u64()
            .unwrap_or(1);
        pages.push(data);
        if n == 0 || u64::from(page) >= total {
            break;
        }
    }
    Ok(pages)
}
