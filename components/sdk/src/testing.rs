//! In-memory fakes of the host capabilities for native tests of flows: [`FakeApi`] (a
//! handler closure plus a log of every request), [`MemoryState`] and [`MemoryReport`].

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::capabilities::{Api, Entry, Report, State};
use crate::types::{Exception, Level, Method, Request, Response, SendError, System};

type Handler = Box<dyn FnMut(&Request) -> Result<Response, SendError>>;

/// An [`Api`] that answers with a closure and records every request.
pub struct FakeApi {
    handler: RefCell<Handler>,
    log: RefCell<Vec<Request>>,
}

impl FakeApi {
    /// A fake answering every request with `handler`.
    pub fn new(handler: impl FnMut(&Request) -> Result<Response, SendError> + 'static) -> Self {
        FakeApi {
            handler: RefCell::new(Box::new(handler)),
            log: RefCell::new(vec![]),
        }
    }

    /// Every request sent so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.log.borrow().clone()
    }

    /// How many requests went to `system` with `method` and a path starting with `prefix`.
    pub fn count(&self, system: System, method: Method, prefix: &str) -> usize {
        self.log
            .borrow()
            .iter()
            .filter(|r| r.system == system && r.method == method && r.path.starts_with(prefix))
            .count()
    }

    /// How many requests went to `system`.
    pub fn count_system(&self, system: System) -> usize {
        self.log
            .borrow()
            .iter()
            .filter(|r| r.system == system)
            .count()
    }

    /// The JSON bodies of the requests to `system` with `method` and exactly `path`.
    pub fn bodies(&self, system: System, method: Method, path: &str) -> Vec<serde_json::Value> {
        self.log
            .borrow()
            .iter()
            .filter(|r| r.system == system && r.method == method && r.path == path)
            .filter_map(|r| r.body.as_deref().and_then(|b| serde_json::from_str(b).ok()))
            .collect()
    }

    /// Forget the request log.
    pub fn clear_log(&self) {
        self.log.borrow_mut().clear();
    }
}

impl Api for FakeApi {
    fn send(&self, req: Request) -> Result<Response, SendError> {
        self.log.borrow_mut().push(req.clone());
        (self.handler.borrow_mut())(&req)
    }
}

/// A [`State`] in memory with versions and compare-and-swap like the host's.
#[derive(Default)]
pub struct MemoryState {
    entries: RefCell<BTreeMap<String, Entry>>,
}

impl MemoryState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every key and value, sorted.
    pub fn dump(&self) -> Vec<(String, String)> {
        self.entries
            .borrow()
            .iter()
            .map(|(k, e)| (k.clone(), e.value.clone()))
            .collect()
    }
}

impl State for MemoryState {
    fn get(&self, key: &str) -> Option<Entry> {
        self.entries.borrow().get(key).cloned()
    }

    fn set(&self, key: &str, value: &str) -> u64 {
        let mut map = self.entries.borrow_mut();
        let version = map.get(key).map(|e| e.version).unwrap_or(0) + 1;
        map.insert(
            key.to_string(),
            Entry {
                value: value.to_string(),
                version,
            },
        );
        version
    }

    fn compare_and_swap(&self, key: &str, expected_version: u64, value: &str) -> Result<u64, u64> {
        let mut map = self.entries.borrow_mut();
        let current = map.get(key).map(|e| e.version).unwrap_or(0);
        if current != expected_version {
            return Err(current);
        }
        map.insert(
            key.to_string(),
            Entry {
                value: value.to_string(),
                version: current + 1,
            },
        );
        Ok(current + 1)
    }

    fn delete(&self, key: &str) {
        self.entries.borrow_mut().remove(key);
    }

    fn list(&self, prefix: &str, limit: u32) -> Vec<(String, String)> {
        self.entries
            .borrow()
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .take(limit as usize)
            .map(|(k, e)| (k.clone(), e.value.clone()))
            .collect()
    }
}

/// A [`Report`] in memory: open exceptions keyed by (kind, entity), resolutions, logs.
#[derive(Default)]
pub struct MemoryReport {
    open: RefCell<BTreeMap<(String, String), Exception>>,
    raised: RefCell<Vec<Exception>>,
    resolved: RefCell<Vec<(String, String)>>,
    logs: RefCell<Vec<(Level, String)>>,
    progress: RefCell<Option<(u64, Option<u64>)>>,
}

impl MemoryReport {
    pub fn new() -> Self {
        Self::default()
    }

    /// The open exceptions, sorted by (kind, entity).
    pub fn open_exceptions(&self) -> Vec<Exception> {
        self.open.borrow().values().cloned().collect()
    }

    /// Every `raise` call, in order.
    pub fn raised(&self) -> Vec<Exception> {
        self.raised.borrow().clone()
    }

    /// Every `resolve` call that closed an open exception, in order.
    pub fn resolved(&self) -> Vec<(String, String)> {
        self.resolved.borrow().clone()
    }

    /// Every log line.
    pub fn logs(&self) -> Vec<(Level, String)> {
        self.logs.borrow().clone()
    }

    /// The last progress report.
    pub fn last_progress(&self) -> Option<(u64, Option<u64>)> {
        *self.progress.borrow()
    }
}

impl Report for MemoryReport {
    fn raise(&self, e: Exception) {
        self.raised.borrow_mut().push(e.clone());
        self.open
            .borrow_mut()
            .insert((e.kind.clone(), e.entity.clone()), e);
    }

    fn resolve(&self, kind: &str, entity: &str) {
        if self
            .open
            .borrow_mut()
            .remove(&(kind.to_string(), entity.to_string()))
            .is_some()
        {
            self.resolved
                .borrow_mut()
                .push((kind.to_string(), entity.to_string()));
        }
    }

    fn open(&self, entity_prefix: &str) -> Vec<(String, String)> {
        self.open
            .borrow()
            .keys()
            .filter(|(_, entity)| entity.starts_with(entity_prefix))
            .cloned()
            .collect()
    }

    fn progress(&self, done: u64, total: Option<u64>) {
        *self.progress.borrow_mut() = Some((done, total));
    }

    fn log(&self, level: Level, message: &str) {
        self.logs.borrow_mut().push((level, message.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bigcommerce;
    use crate::brightpearl;

    #[test]
    fn state_versions_and_compare_and_swap() {
        let s = MemoryState::new();
        assert_eq!(s.compare_and_swap("k", 0, "a"), Ok(1));
        assert_eq!(s.compare_and_swap("k", 0, "b"), Err(1));
        assert_eq!(s.set("k", "c"), 2);
        assert_eq!(
            s.get("k"),
            Some(Entry {
                value: "c".into(),
                version: 2
            })
        );
        s.set("k2", "x");
        s.set("j", "y");
        assert_eq!(
            s.list("k", 10),
            vec![("k".into(), "c".into()), ("k2".into(), "x".into())]
        );
        assert_eq!(s.list("k", 1).len(), 1);
        s.delete("k");
        assert_eq!(s.get("k"), None);
    }

    #[test]
    fn bigcommerce_client_pages_orders_until_204_and_reads_empty_transactions() {
        let api = FakeApi::new(|req| {
            if req.path.starts_with("/v2/orders?") {
                if req.path.ends_with("page=1") {
                    let rows: Vec<serde_json::Value> = (1..=2)
                        .map(|i| serde_json::json!({"id": i, "status_id": 11, "total_inc_tax": "1.0000"}))
                        .collect();
                    Ok(Response::new(200, serde_json::to_string(&rows).unwrap()))
                } else {
                    Ok(Response::new(204, ""))
                }
            } else if req.path == "/v3/orders/1/transactions" {
                Ok(Response::new(204, ""))
            } else {
                Ok(Response::new(
                    404,
                    "[{\"status\":404,\"message\":\"not found\"}]",
                ))
            }
        });
        let bc = bigcommerce::Client::new(&api);
        let orders = bc
            .orders_modified_since("Thu, 20 Apr 2017 11:32:00 +0000", 2, 10)
            .unwrap();
        assert_eq!(orders.iter().map(|o| o.id).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(
            api.requests()[0].path,
            "/v2/orders?min_date_modified=Thu%2C%2020%20Apr%202017%2011%3A32%3A00%20%2B0000&sort=date_modified:asc&limit=2&page=1"
        );
        assert_eq!(
            api.count(System::Bigcommerce, Method::Get, "/v2/orders?"),
            2
        );
        assert_eq!(bc.order_transactions(1).unwrap(), vec![]);
        assert_eq!(bc.order(9).unwrap(), None);
    }

    #[test]
    fn brightpearl_search_rows_zip_with_columns_and_errors_are_decoded() {
        let api = FakeApi::new(|req| {
            if req.path.starts_with("/contact-service/contact-search") {
                Ok(Response::new(
                    200,
                    r#"{"response":{"metaData":{"morePagesAvailable":false,"resultsAvailable":3,"resultsReturned":3,"firstResult":1,"lastResult":3,
                       "columns":[{"name":"primaryEmail"},{"name":"contactId"}]},
                       "results":[["JANE@acme.test",207],["jane@acme.test",204],["janet@acme.test",9]]},"reference":{}}"#,
                ))
            } else {
                Ok(Response::new(
                    400,
                    r#"{"errors":[{"code":"ORDC-005","message":"You have not supplied an order type code"}]}"#,
                ))
            }
        });
        let bp = brightpearl::Client::new(&api);
        let found = bp.contacts_by_email("jane@acme.test").unwrap();
        assert_eq!(
            found.iter().map(|c| c.contact_id).collect::<Vec<_>>(),
            vec![204, 207]
        );
        assert_eq!(
            api.requests()[0].path,
            "/contact-service/contact-search?primaryEmail=jane%40acme.test&pageSize=500&firstResult=1"
        );
        let err = bp
            .create_postal_address(&brightpearl::PostalAddress::default())
            .unwrap_err();
        assert_eq!(err.status(), Some(400));
        assert!(!err.is_retryable());
        assert_eq!(
            err.to_string(),
            "POST /contact-service/postal-address: HTTP 400: ORDC-005 You have not supplied an order type code"
        );
    }

    #[test]
    fn bigcommerce_nulls_and_numbers_in_text_fields_decode() {
        let order: bigcommerce::Order = serde_json::from_str(
            r#"{"id": 5, "customer_message": null, "staff_notes": null, "payment_method": "Credit Card",
                "billing_address": {"first_name": "A", "company": null, "zip": 10115, "email": "a@b.c"},
                "total_inc_tax": "12.3400", "store_default_to_transactional_exchange_rate": null}"#,
        )
        .unwrap();
        assert_eq!(order.customer_message, "");
        assert_eq!(order.billing_address.company, "");
        assert_eq!(order.billing_address.zip, "10115");
        assert_eq!(order.total_inc_tax.to_string(), "12.3400");
        assert_eq!(order.store_default_to_transactional_exchange_rate, None);
        let t: bigcommerce::Transaction =
            serde_json::from_str(r#"{"id": 1, "order_id": "5", "event": "purchase", "method": "store_credit", "amount": 24.5, "gateway": null, "gateway_transaction_id": null}"#)
                .unwrap();
        assert_eq!(
            (
                t.amount.to_string(),
                t.gateway.as_str(),
                t.order_id.as_str()
            ),
            ("24.5".to_string(), "", "5")
        );
    }

    #[test]
    fn bigcommerce_tax_product_id_and_coupon_discount_decode_in_either_form() {
        // `orders.v2.oas2.yml` types `order_product_id` as a string and coupon `discount` as a
        // number [doc]; the simulator used to send the other forms, real stores may too.
        let taxes: Vec<bigcommerce::OrderTax> = serde_json::from_str(
            r#"[{"id": 1, "order_id": 5, "order_product_id": "5501", "line_item_type": "item", "line_amount": "7.2000"},
                {"id": 2, "order_id": 5, "order_product_id": 5502, "line_item_type": "item", "line_amount": 1.5},
                {"id": 3, "order_id": 5, "order_product_id": null, "line_item_type": "shipping"},
                {"id": 4, "order_id": 5, "order_product_id": "", "line_item_type": "gift-wrapping"}]"#,
        )
        .unwrap();
        assert_eq!(
            taxes
                .iter()
                .map(|t| (t.order_product_id, t.line_amount.to_string()))
                .collect::<Vec<_>>(),
            vec![
                (Some(5501), "7.2000".to_string()),
                (Some(5502), "1.5".to_string()),
                (None, "0".to_string()),
                (None, "0".to_string())
            ]
        );
        assert!(
            serde_json::from_str::<bigcommerce::OrderTax>(r#"{"order_product_id": "x1"}"#).is_err()
        );
        let coupons: Vec<bigcommerce::OrderCoupon> = serde_json::from_str(
            r#"[{"id": 3, "code": "SPRING10", "amount": 10, "type": 1, "discount": 6.3},
                {"id": 4, "code": "SPRING10", "amount": "10.0000", "type": 1, "discount": "6.3000"}]"#,
        )
        .unwrap();
        assert_eq!(
            coupons
                .iter()
                .map(|c| (c.amount.to_string(), c.discount.to_string()))
                .collect::<Vec<_>>(),
            vec![
                ("10".to_string(), "6.3".to_string()),
                ("10.0000".to_string(), "6.3000".to_string())
            ]
        );
        assert_eq!(coupons[0].discount, coupons[1].discount);
    }

    #[test]
    fn report_keys_exceptions_by_kind_and_entity() {
        let r = MemoryReport::new();
        let e = |kind: &str| Exception {
            kind: kind.into(),
            entity: "bigcommerce:order:1".into(),
            message: "m".into(),
            owner: crate::types::Team::Ecommerce,
            impact: None,
            retryable: true,
        };
        r.raise(e("unmapped-sku"));
        r.raise(e("unmapped-sku"));
        r.raise(e("unmapped-tax-class"));
        assert_eq!(r.open("bigcommerce:order:").len(), 2);
        r.resolve("unmapped-sku", "bigcommerce:order:1");
        r.resolve("unmapped-sku", "bigcommerce:order:1");
        assert_eq!(r.resolved().len(), 1);
        assert_eq!(r.open_exceptions().len(), 1);
    }
}
