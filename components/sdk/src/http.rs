//! Shared plumbing for the typed clients: send, check the status, decode errors and bodies.

use serde::de::DeserializeOwned;

use crate::capabilities::{Api, ApiError, ErrorItem};
use crate::types::{Request, Response};

/// Send `req`; a 2xx comes back as the response, anything else as an [`ApiError`] naming
/// `what` (e.g. `GET /v2/orders/118`).
pub(crate) fn send(api: &dyn Api, req: Request, what: &str) -> Result<Response, ApiError> {
    let system = req.system;
    let resp = api.send(req).map_err(|error| ApiError::Send {
        what: what.into(),
        error,
    })?;
    if (200..300).contains(&resp.status) {
        Ok(resp)
    } else {
        Err(ApiError::Status {
            system,
            what: what.into(),
            status: resp.status,
            errors: error_items(&resp.body),
            body: resp.body,
        })
    }
}

/// Decode a JSON body into `T`. A value that does not fit its field is an
/// [`ApiError::Decode`] naming the field's path and the value, e.g. `GET /v2/orders/118:
/// cannot decode the response: total_inc_tax: "12.x4" is not a decimal amount`; in a list,
/// the row's `id` is named too (`[3].total_inc_tax: … (row id 118)`). An error of the body
/// as a whole (not JSON, wrong top-level shape) keeps serde's message with its position.
pub(crate) fn decode<T: DeserializeOwned>(body: &str, what: &str) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_str(body);
    let decoded = match serde_path_to_error::deserialize(&mut de) {
        Ok(v) => de.end().map(|()| v).map_err(|e| e.to_string()),
        Err(e) => Err(decode_message(body, &e)),
    };
    decoded.map_err(|message| ApiError::Decode {
        what: what.into(),
        message,
    })
}

fn decode_message(body: &str, e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    use serde_path_to_error::Segment;
    let inner = e.inner();
    let path = e.path();
    if path.iter().next().is_none() || inner.is_syntax() || inner.is_eof() {
        return inner.to_string();
    }
    // The message without serde's " at line L column C" (the path says where).
    let full = inner.to_string();
    let suffix = format!(" at line {} column {}", inner.line(), inner.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    // The id of the innermost list row on the path, when the body has one.
    let mut row_id = None;
    if let Ok(mut v) = serde_json::from_str::<serde_json::Value>(body) {
        for segment in path.iter() {
            let next = match segment {
                Segment::Seq { index } => v.get(*index).cloned(),
                Segment::Map { key } => v.get(key).cloned(),
                _ => None,
            };
            let Some(next) = next else { break };
            if matches!(segment, Segment::Seq { .. })
                && let Some(id) = next.get("id").filter(|id| id.is_number() || id.is_string())
            {
                row_id = Some(id.to_string());
            }
            v = next;
        }
    }
    match row_id {
        Some(id) => format!("{path}: {message} (row id {id})"),
        None => format!("{path}: {message}"),
    }
}

/// Error items of a Brightpearl `{"errors":[{code,message}]}` body, a `{"response":"..."}`
/// string (401), a BigCommerce v2 `[{status,message}]` array or a v3 `{title, errors{}}`.
pub(crate) fn error_items(body: &str) -> Vec<ErrorItem> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        return vec![];
    };
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(errors) = v.get("errors").and_then(|e| e.as_array()) {
        return errors
            .iter()
            .map(|e| ErrorItem {
                code: e.get("code").map(text).unwrap_or_default(),
                message: e.get("message").map(text).unwrap_or_default(),
            })
            .collect();
    }
    if let Some(arr) = v.as_array() {
        return arr
            .iter()
            .map(|e| ErrorItem {
                code: e.get("status").map(text).unwrap_or_default(),
                message: e.get("message").map(text).unwrap_or_default(),
            })
            .collect();
    }
    if let Some(title) = v.get("title") {
        let detail = v.get("errors").map(|e| e.to_string()).unwrap_or_default();
        return vec![ErrorItem {
            code: v.get("status").map(text).unwrap_or_default(),
            message: format!("{} {}", text(title), detail).trim().to_string(),
        }];
    }
    if let Some(serde_json::Value::String(s)) = v.get("response") {
        return vec![ErrorItem {
            code: String::new(),
            message: s.clone(),
        }];
    }
    vec![]
}

/// Accept an integer given as a JSON number or a string (`5` or `"5"`); `null`/`""` → 0.
pub(crate) mod lenient_u64 {
    use serde::Deserializer;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        Ok(super::lenient_opt_u64::deserialize(d)?.unwrap_or(0))
    }
}

/// Accept an optional integer given as a number, a string, `null` or `""`.
pub(crate) mod lenient_opt_u64 {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        match &v {
            serde_json::Value::Null => Ok(None),
            serde_json::Value::String(s) if s.trim().is_empty() => Ok(None),
            serde_json::Value::Number(n) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("not an id: {v}"))),
            serde_json::Value::String(s) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| D::Error::custom(format!("not an id: {v}"))),
            _ => Err(D::Error::custom(format!("not an id: {v}"))),
        }
    }
}

/// Accept a text or money value given as a string, a JSON number (kept as its text) or `null` (→ `""`).
pub(crate) mod money_text {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        match v {
            serde_json::Value::String(s) => Ok(s),
            serde_json::Value::Number(n) => Ok(n.to_string()),
            serde_json::Value::Null => Ok(String::new()),
            other => Err(D::Error::custom(format!("not a money value: {other}"))),
        }
    }
}
