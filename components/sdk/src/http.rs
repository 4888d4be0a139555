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

/// Decode a JSON body into `T`.
pub(crate) fn decode<T: DeserializeOwned>(body: &str, what: &str) -> Result<T, ApiError> {
    serde_json::from_str(body).map_err(|e| ApiError::Decode {
        what: what.into(),
        message: e.to_string(),
    })
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
