//! Scripting endpoints under `/_sandbox/bigcommerce/` (not part of the BigCommerce API): the
//! same operations as the Rust scripting API on [`BigCommerceSim`].
//!
//! The endpoint list is in the `bigcommerce` module docs.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::BigCommerceSim;
use crate::seed::BigCommerceOrderBundle;

type S = State<Arc<BigCommerceSim>>;

pub(crate) fn routes() -> Router<Arc<BigCommerceSim>> {
    Router::new()
        .route("/_sandbox/bigcommerce/orders", post(create_order))
        .route("/_sandbox/bigcommerce/orders/{id}", get(order))
        .route("/_sandbox/bigcommerce/orders/{id}/status", put(status))
        .route("/_sandbox/bigcommerce/orders/{id}/refunds", post(refund))
        .route(
            "/_sandbox/bigcommerce/orders/{id}/shipments",
            get(shipments),
        )
        .route("/_sandbox/bigcommerce/shipment_emails", get(emails))
        .route("/_sandbox/bigcommerce/inventory", get(inventory))
        .route(
            "/_sandbox/bigcommerce/pricelists/{id}/records",
            get(records),
        )
        .route("/_sandbox/bigcommerce/webhooks", get(webhooks))
        .route("/_sandbox/bigcommerce/webhook_callback", put(callback))
        .route("/_sandbox/bigcommerce/stats", get(stats))
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"error": "not found"}))).into_response()
}

async fn create_order(State(sim): S, Json(b): Json<BigCommerceOrderBundle>) -> Response {
    (
        StatusCode::CREATED,
        Json(json!({"id": sim.create_order(b)})),
    )
        .into_response()
}

async fn order(State(sim): S, Path(id): Path<i64>) -> Response {
    sim.order(id)
        .map_or_else(not_found, |o| Json(o).into_response())
}

async fn status(State(sim): S, Path(id): Path<i64>, Json(b): Json<Value>) -> Response {
    let Some(s) = b.get("status_id").and_then(Value::as_i64) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "status_id is required"})),
        )
            .into_response();
    };
    if sim.update_order_status(id, s) {
        order(State(sim), Path(id)).await
    } else {
        not_found()
    }
}

async fn refund(State(sim): S, Path(id): Path<i64>, Json(b): Json<Value>) -> Response {
    match sim.create_refund(id, b) {
        Some(rid) => (StatusCode::CREATED, Json(json!({"id": rid}))).into_response(),
        None => not_found(),
    }
}

async fn shipments(State(sim): S, Path(id): Path<i64>) -> Response {
    Json(sim.shipments(id)).into_response()
}

async fn emails(State(sim): S) -> Response {
    let rows: Vec<Value> = sim
        .shipment_emails_sent()
        .into_iter()
        .map(|(o, s)| json!({"order_id": o, "shipment_id": s}))
        .collect();
    Json(rows).into_response()
}

async fn inventory(State(sim): S) -> Response {
    Json(sim.inventory_levels()).into_response()
}

async fn records(State(sim): S, Path(id): Path<i64>) -> Response {
    Json(sim.price_list_records(id)).into_response()
}

async fn webhooks(State(sim): S) -> Response {
    Json(sim.webhook_deliveries()).into_response()
}

async fn callback(State(sim): S, Json(b): Json<Value>) -> Response {
    sim.set_webhook_callback(b.get("url").and_then(Value::as_str).map(str::to_string));
    StatusCode::NO_CONTENT.into_response()
}

async fn stats(State(sim): S) -> Response {
    Json(json!({"request_count": sim.request_count(), "throttled_count": sim.throttled_count()}))
        .into_response()
}
