//! Request and response values the endpoint functions work with, and the error envelopes.
//!
//! Error bodies (`bigcommerce-api.md` §11, [doc]):
//! * v2: a JSON array `[{"status": 400, "message": "..."}]`.
//! * v3: an object `{"status", "title", "type", "errors": {field: msg}}`.

use axum::http::Method;
use serde_json::{Value, json};

use super::json as jsonx;

/// The `type` URL BigCommerce puts in v3 error bodies [doc].
pub(crate) const ERROR_TYPE: &str =
    "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes";

/// One API request after routing: method, path after `/stores/{hash}`, decoded query pairs, body.
pub(crate) struct Req {
    pub method: Method,
    pub query: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Req {
    /// The first value of query parameter `key`.
    pub fn q(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The JSON body, or a 400 in the envelope of `ver`.
    pub fn json(&self, ver: Ver) -> Result<Value, Resp> {
        serde_json::from_slice(&self.body).map_err(|e| match ver {
            Ver::V2 => Resp::v2_error(400, &format!("The request body is not valid JSON: {e}")),
            Ver::V3 => Resp::v3_error(
                400,
                "Input is invalid",
                json!({"body": format!("not valid JSON: {e}")}),
            ),
        })
    }
}

/// API version of a path, which picks the error envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ver {
    V2,
    V3,
}

/// A response: status and an optional JSON body (`None` = empty body, e.g. 204).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resp {
    pub status: u16,
    pub body: Option<Value>,
}

impl Resp {
    pub fn ok(body: Value) -> Resp {
        Resp {
            status: 200,
            body: Some(body),
        }
    }
    pub fn created(body: Value) -> Resp {
        Resp {
            status: 201,
            body: Some(body),
        }
    }
    pub fn with_status(status: u16, body: Value) -> Resp {
        Resp {
            status,
            body: Some(body),
        }
    }
    /// `204 No Content` with an empty body (empty v2 page [obs], delete).
    pub fn no_content() -> Resp {
        Resp {
            status: 204,
            body: None,
        }
    }
    /// v2 error envelope `[{"status", "message"}]` [doc].
    pub fn v2_error(status: u16, message: &str) -> Resp {
        Resp {
            status,
            body: Some(json!([{"status": status, "message": message}])),
        }
    }
    /// v3 error envelope `{"status", "title", "type", "errors"}` [doc].
    pub fn v3_error(status: u16, title: &str, errors: Value) -> Resp {
        Resp {
            status,
            body: Some(
                json!({"status": status, "title": title, "type": ERROR_TYPE, "errors": errors}),
            ),
        }
    }
    /// 404 in the envelope of `ver`. Messages are [unconfirmed]: the reference does not quote them.
    pub fn not_found(ver: Ver) -> Resp {
        match ver {
            Ver::V2 => Resp::v2_error(404, "The requested resource was not found."),
            Ver::V3 => Resp::v3_error(404, "The requested resource was not found.", json!({})),
        }
    }
    /// An error in the envelope of `ver`.
    pub fn error(ver: Ver, status: u16, message: &str) -> Resp {
        match ver {
            Ver::V2 => Resp::v2_error(status, message),
            Ver::V3 => Resp::v3_error(status, message, json!({})),
        }
    }
}

/// `page` and `limit` of a list request, 1-based page.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paging {
    pub page: usize,
    pub limit: usize,
}

impl Paging {
    /// Reads `page` and `limit` (default `default_limit`). A limit above `max` answers 413 in v2
    /// (archived v2 docs: max 250, "can return 413" [doc]) and 422 in v3 (`maximum: 250` in the
    /// spec; the status for exceeding it is [unconfirmed]). Non-numeric values answer 400/422.
    pub fn parse(req: &Req, ver: Ver, default_limit: usize, max: usize) -> Result<Paging, Resp> {
        let bad = |field: &str| match ver {
            Ver::V2 => Resp::v2_error(
                400,
                &format!("The field '{field}' is not valid for this resource."),
            ),
            Ver::V3 => Resp::v3_error(
                422,
                "Input is invalid",
                json!({ field: "must be a positive integer" }),
            ),
        };
        let page = match req.q("page") {
            None => 1,
            Some(p) => p
                .parse::<usize>()
                .ok()
                .filter(|p| *p >= 1)
                .ok_or_else(|| bad("page"))?,
        };
        let limit = match req.q("limit") {
            None => default_limit,
            Some(l) => l
                .parse::<usize>()
                .ok()
                .filter(|l| *l >= 1)
                .ok_or_else(|| bad("limit"))?,
        };
        if limit > max {
            return Err(match ver {
                Ver::V2 => Resp::v2_error(413, &format!("The limit may not exceed {max}.")),
                Ver::V3 => Resp::v3_error(
                    422,
                    "Input is invalid",
                    json!({"limit": format!("must be at most {max}")}),
                ),
            });
        }
        Ok(Paging { page, limit })
    }

    /// The slice of `items` on this page.
    pub fn slice<T: Clone>(&self, items: &[T]) -> Vec<T> {
        items
            .iter()
            .skip((self.page - 1) * self.limit)
            .take(self.limit)
            .cloned()
            .collect()
    }

    /// v3 `meta.pagination` for `total` items [doc]: `{total, count, per_page, current_page,
    /// total_pages, links{previous?, current, next?}}`. The link strings (`?page=N&limit=M`) are
    /// [unconfirmed].
    pub fn meta(&self, total: usize, count: usize) -> Value {
        let total_pages = total.div_ceil(self.limit);
        let link = |p: usize| format!("?page={p}&limit={}", self.limit);
        let mut links = serde_json::Map::new();
        if self.page > 1 {
            links.insert("previous".into(), Value::String(link(self.page - 1)));
        }
        links.insert("current".into(), Value::String(link(self.page)));
        if self.page < total_pages {
            links.insert("next".into(), Value::String(link(self.page + 1)));
        }
        json!({"pagination": {
            "total": total, "count": count, "per_page": self.limit,
            "current_page": self.page, "total_pages": total_pages, "links": Value::Object(links)
        }})
    }

    /// A v3 list body `{data, meta{pagination}}` for this page of `items`.
    pub fn v3_list(&self, items: &[Value]) -> Resp {
        let data = self.slice(items);
        let meta = self.meta(items.len(), data.len());
        Resp::ok(json!({"data": data, "meta": meta}))
    }

    /// A v2 list body: a bare array, or 204 with no body when the page is empty [obs].
    pub fn v2_list(&self, items: &[Value]) -> Resp {
        let data = self.slice(items);
        if data.is_empty() {
            Resp::no_content()
        } else {
            Resp::ok(Value::Array(data))
        }
    }
}

/// Integer list filter `key` (`id:in=1,2`); 422 when a value is not an integer.
pub(crate) fn int_list_filter(req: &Req, key: &str) -> Result<Option<Vec<i64>>, Resp> {
    match req.q(key) {
        None => Ok(None),
        Some(s) => jsonx::csv_ints(s).map(Some).ok_or_else(|| {
            Resp::v3_error(
                422,
                "Input is invalid",
                json!({ key: "must be a list of integers" }),
            )
        }),
    }
}

/// Integer filter `key`; 422 (v3) / 400 (v2) when not an integer.
pub(crate) fn int_filter(req: &Req, ver: Ver, key: &str) -> Result<Option<i64>, Resp> {
    match req.q(key) {
        None => Ok(None),
        Some(s) => s.trim().parse().map(Some).map_err(|_| match ver {
            Ver::V2 => Resp::v2_error(
                400,
                &format!("The field '{key}' is not valid for this resource."),
            ),
            Ver::V3 => Resp::v3_error(
                422,
                "Input is invalid",
                json!({ key: "must be an integer" }),
            ),
        }),
    }
}
