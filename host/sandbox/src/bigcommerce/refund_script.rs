//! Scripting refunds through the simulated API's own rules (the demo and the refunds tests):
//! a refund quote for the items, one of its refund options (the order's gateways, store
//! credit, or a custom offline refund), then `POST /v3/orders/{id}/payment_actions/refunds`
//! with that payment, exactly as a merchant's app would (bigcommerce-api.md §7 [doc]).

use serde_json::{Value, json};

use super::BigCommerceSim;
use axum::http::Method;

use super::http::Req;
use super::json::text;
use super::payments;

/// Which refund option of the quote pays the refund back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundTo {
    /// The order's payment gateways (the quote's first option when it offers them).
    Gateway,
    /// Store credit (registered customers only, else 422 [doc]).
    StoreCredit,
    /// A custom offline refund (`provider_id` `custom`).
    Offline,
}

impl BigCommerceSim {
    /// Refund `items` (the v3 refund `items` shapes, §7) of order `order_id` to `to`: the
    /// quote prices them, the chosen option's payments are sent with them. Returns the
    /// refund (v3 JSON) or the simulator's error status and body.
    pub fn refund_items(
        &self,
        order_id: i64,
        items: Value,
        to: RefundTo,
    ) -> Result<Value, (u16, Value)> {
        self.with_state(|st, ctx| {
            let post = |body: &Value| Req {
                method: Method::POST,
                query: vec![],
                body: body.to_string().into_bytes(),
            };
            let quote = payments::refund_quote(st, order_id, &post(&json!({"items": items})));
            let quote_body = quote.body.clone().unwrap_or(Value::Null);
            if quote.status != 201 {
                return Err((quote.status, quote_body));
            }
            let options = quote_body["data"]["refund_methods"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let provider_of = |o: &Value| {
                o.as_array()
                    .and_then(|l| l.first())
                    .map(|m| text(m, "provider_id").to_string())
                    .unwrap_or_default()
            };
            let chosen = options.iter().find(|o| {
                let p = provider_of(o);
                match to {
                    RefundTo::Gateway => p != "storecredit" && p != "custom",
                    RefundTo::StoreCredit => p == "storecredit",
                    RefundTo::Offline => p == "custom",
                }
            });
            let Some(chosen) = chosen else {
                return Err((
                    422,
                    json!({"title": format!("the quote offers no {to:?} refund option")}),
                ));
            };
            let payments: Vec<Value> = chosen
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| {
                    json!({"provider_id": m["provider_id"], "amount": m["amount"], "offline": m["offline"]})
                })
                .collect();
            let body = json!({"items": items, "payments": payments});
            let resp = payments::create_refund(st, ctx, order_id, &post(&body));
            let resp_body = resp.body.unwrap_or(Value::Null);
            if resp.status != 201 {
                return Err((resp.status, resp_body));
            }
            Ok(resp_body["data"].clone())
        })
    }

    /// The order's shipping addresses as `GET /v2/orders/{id}/shipping_addresses` returns them.
    pub fn shipping_addresses(&self, order_id: i64) -> Vec<Value> {
        let st = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        st.orders
            .get(&order_id)
            .map(|r| r.shipping_addresses.clone())
            .unwrap_or_default()
    }

    /// The order's transactions as `GET /v3/orders/{id}/transactions` returns them.
    pub fn transactions(&self, order_id: i64) -> Vec<Value> {
        let st = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        st.orders
            .get(&order_id)
            .map(|r| r.transactions.clone())
            .unwrap_or_default()
    }

    /// Every refund of the store (v3 refund JSON), ascending by id.
    pub fn all_refunds(&self) -> Vec<Value> {
        let st = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut all = st.refunds.clone();
        all.sort_by_key(|r| r.get("id").and_then(Value::as_i64));
        all
    }
}
