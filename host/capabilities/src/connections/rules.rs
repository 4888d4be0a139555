//! The plain rules of the connections capability: which paths and headers a flow may send,
//! how a response or a failed attempt is classified, and how long to back off. No I/O here.

use std::time::Duration;

use super::{Method, System};

/// Longest path (with query string) a flow may send, in bytes. BigCommerce and Brightpearl
/// answer 414 well below this; the cap keeps audit lines bounded.
pub const MAX_PATH_BYTES: usize = 8192;

/// Checks a flow's `path` for `system` and returns why it is refused.
///
/// Rules: starts with `/`; no `..`, `//`, `://`, `\`, `#` or control characters, also after
/// percent-decoding the part before `?` (so `%2e%2e` and `%2f` tricks fail too); BigCommerce
/// paths start with `/v2/` or `/v3/` (bigcommerce-api.md §1 [doc]); Brightpearl paths with
/// `/{service}-service/` (brightpearl-api.md §1.1 [doc]), or are exactly `/multi-message`
/// (§3.7 [doc]: its messages name their own service paths, within the same account).
pub fn check_path(system: System, path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err("path must start with '/'".into());
    }
    if path.len() > MAX_PATH_BYTES {
        return Err(format!("path longer than {MAX_PATH_BYTES} bytes"));
    }
    check_path_text(path)?;
    let (route, _query) = path.split_once('?').unwrap_or((path, ""));
    let lower = route.to_ascii_lowercase();
    if ["%2f", "%3f", "%5c", "%23"]
        .iter()
        .any(|e| lower.contains(e))
    {
        return Err("path must not percent-encode '/', '?', '\\' or '#'".into());
    }
    let decoded = percent_decode(route);
    if decoded != route {
        check_path_text(&decoded).map_err(|why| format!("{why} (after percent-decoding)"))?;
    }
    match system {
        System::BigCommerce => {
            if !(route.starts_with("/v2/") || route.starts_with("/v3/")) {
                return Err("BigCommerce paths must start with /v2/ or /v3/".into());
            }
        }
        System::Brightpearl if route == "/multi-message" => {}
        System::Brightpearl => {
            let service = route[1..].split('/').next().unwrap_or("");
            let name = service.strip_suffix("-service").unwrap_or("");
            let well_formed = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && route.len() > service.len() + 1;
            if !well_formed {
                return Err("Brightpearl paths must start with /{service}-service/".into());
            }
        }
    }
    Ok(())
}

fn check_path_text(path: &str) -> Result<(), String> {
    if path.contains("..") {
        return Err("path must not contain '..'".into());
    }
    if path.contains("://") {
        return Err("path must not contain '://' (no absolute URLs)".into());
    }
    if path.contains("//") {
        return Err("path must not contain '//'".into());
    }
    if path.contains('\\') {
        return Err("path must not contain '\\'".into());
    }
    if path.contains('#') {
        return Err("path must not contain '#'".into());
    }
    if path.chars().any(char::is_control) {
        return Err("path must not contain control characters".into());
    }
    Ok(())
}

/// Decodes `%XX` escapes (invalid escapes are kept as they are; bytes that are not UTF-8 are
/// replaced, which is enough to look for forbidden characters).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Header names a flow may never send: credentials (the host sets them), cookies, the host,
/// and the framing headers the HTTP client owns.
const REFUSED_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-auth-token",
    "x-auth-client",
    "brightpearl-app-ref",
    "brightpearl-dev-ref",
    "brightpearl-auth",
    "cookie",
    "host",
    "user-agent",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
];

/// Checks the flow's extra headers and returns them with lower-case names, or why they are
/// refused. Refused: every name in the credential/framing list, any `brightpearl-*-token`
/// (account, staff, ...), `proxy-*`, and names or values that are not valid HTTP.
/// `accept` and `content-type` are allowed and replace the host's defaults.
pub fn check_headers(headers: &[(String, String)]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        let lower = name.trim().to_ascii_lowercase();
        let credential_like = REFUSED_HEADERS.contains(&lower.as_str())
            || (lower.starts_with("brightpearl-") && lower.ends_with("-token"))
            || lower.starts_with("proxy-");
        if credential_like {
            return Err(format!(
                "header '{lower}' is set by the host and may not be sent by a flow"
            ));
        }
        let valid_name = !lower.is_empty()
            && lower
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !valid_name {
            return Err(format!(
                "header name '{}' is not a valid HTTP header name",
                lower.escape_debug()
            ));
        }
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(format!(
                "header '{lower}' has control characters in its value"
            ));
        }
        out.push((lower, value.clone()));
    }
    Ok(out)
}

/// Whether a response is the server saying "over quota, not processed": BigCommerce 429
/// (bigcommerce-api.md §2 [doc]); Brightpearl 429 or 503 whose body says "too many requests"
/// (brightpearl-api.md §2: 503 "Too Busy" [doc], body text [client]). Other 503s are
/// maintenance or a suspended account and are not throttles.
pub fn is_throttle(status: u16, body: &str) -> bool {
    status == 429 || (status == 503 && body.to_ascii_lowercase().contains("too many requests"))
}

/// Whether a GET that got `status` is worth repeating: 500, 502, 503, 504 (not 501/505)
/// (bigcommerce-api.md §2 [doc]).
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 500 | 502 | 503 | 504)
}

/// Whether a GET that got `status` and `body` is worth repeating: a retryable status
/// ([`is_retryable_status`]) that is not a Brightpearl application error. Brightpearl answers
/// an unparsable filter with 500 and an `errors` array (`CMNC-018`), which fails the same way
/// every time (brightpearl-api.md §3.2 and gotcha 11 [obs]). Gateway answers (502, 503,
/// 504) are always worth repeating, whatever their body.
pub fn is_worth_repeating(system: System, status: u16, body: &str) -> bool {
    is_retryable_status(status)
        && !(system == System::Brightpearl && status == 500 && has_error_codes(body))
}

/// Whether a Brightpearl body is `{"errors":[{"code":...}, ...]}` with at least one code.
fn has_error_codes(body: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("errors")?.as_array().map(|errors| {
                errors
                    .iter()
                    .any(|e| e.get("code").is_some_and(|c| c.is_string()))
            })
        })
        == Some(true)
}

/// Query parameters whose values are personal data (a customer's e-mail, name, phone or
/// address), matched on the name case-insensitively, without `_`/`-` and any `:in`/`:like`
/// suffix (`primaryEmail`, `email:in`, `first_name`).
/// Their values never reach an audit line (DESIGN.md "Boundary hygiene").
const PERSONAL_PARAMS: &[&str] = &[
    "email",
    "primaryemail",
    "secondaryemail",
    "firstname",
    "lastname",
    "name",
    "companyname",
    "company",
    "phone",
    "telephone",
    "mobile",
    "postcode",
    "postalcode",
    "zip",
    "address",
    "street",
];

/// `path` as an audit line keeps it: the path and every query parameter, with the values of
/// personal-data parameters ([`PERSONAL_PARAMS`]) replaced by `[personal]`, e.g.
/// `/contact-service/contact-search?primaryEmail=[personal]&pageSize=500`.
pub fn audit_path(path: &str) -> String {
    let Some((base, query)) = path.split_once('?') else {
        return path.to_string();
    };
    let params: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_personal(name) => format!("{name}=[personal]"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{base}?{}", params.join("&"))
}

fn is_personal(name: &str) -> bool {
    let name = percent_decode(name)
        .to_ascii_lowercase()
        .replace(['_', '-'], "");
    let name = name.split(':').next().unwrap_or_default();
    PERSONAL_PARAMS.contains(&name.trim_end_matches("[]"))
}

/// Whether the method changes data on the server (only retried when it was not processed).
pub fn is_write(method: Method) -> bool {
    !matches!(method, Method::Get)
}

/// Backoff before retry number `retry` (1 = first retry): `base × 2^(retry-1)` capped at `max`,
/// then "equal jitter": a uniform value in [half, full] of that, from `unit` in [0, 1).
pub fn backoff(base: Duration, max: Duration, retry: u32, unit: f64) -> Duration {
    let exp = retry.saturating_sub(1).min(20);
    let full = base.saturating_mul(1u32 << exp).min(max);
    let half = full / 2;
    half + (full - half).mul_f64(unit.clamp(0.0, 1.0))
}

/// Reads a header (names compared case-insensitively).
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// What the server's rate-limit headers say: requests left in the window and milliseconds
/// until it resets. BigCommerce `X-Rate-Limit-Requests-Left` / `X-Rate-Limit-Time-Reset-Ms`,
/// with `X-Retry-After` (seconds) making the reset the longer of the two
/// (bigcommerce-api.md §2 [doc]); Brightpearl `brightpearl-requests-remaining` /
/// `brightpearl-next-throttle-period` in ms (brightpearl-api.md §2 [doc]/[obs]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateHeaders {
    pub left: Option<u64>,
    pub reset_ms: Option<u64>,
}

pub fn rate_headers(system: System, headers: &[(String, String)]) -> RateHeaders {
    let num = |name: &str| {
        header(headers, name)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    match system {
        System::BigCommerce => {
            let reset = num("x-rate-limit-time-reset-ms");
            let retry_after = num("x-retry-after").map(|s| s * 1000.0);
            let reset_ms = match (reset, retry_after) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            RateHeaders {
                left: num("x-rate-limit-requests-left").map(|v| v as u64),
                reset_ms: reset_ms.map(|v| v.ceil() as u64),
            }
        }
        System::Brightpearl => RateHeaders {
            left: num("brightpearl-requests-remaining").map(|v| v as u64),
            reset_ms: num("brightpearl-next-throttle-period").map(|v| v.ceil() as u64),
        },
    }
}

/// The server's request id to put in the audit line: `x-request-id` (BigCommerce) or `ruid`
/// (Brightpearl, brightpearl-api.md §1.2 [obs]).
pub fn request_id(system: System, headers: &[(String, String)]) -> Option<String> {
    let name = match system {
        System::BigCommerce => "x-request-id",
        System::Brightpearl => "ruid",
    };
    header(headers, name).map(|v| v.chars().filter(|c| !c.is_control()).take(128).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn audit_paths_keep_no_personal_data() {
        assert_eq!(
            super::audit_path(
                "/contact-service/contact-search?primaryEmail=jane%40acme.test&pageSize=500&firstResult=1"
            ),
            "/contact-service/contact-search?primaryEmail=[personal]&pageSize=500&firstResult=1"
        );
        assert_eq!(
            super::audit_path("/v3/customers?email:in=a%40b.test,c%40d.test&include=addresses"),
            "/v3/customers?email:in=[personal]&include=addresses"
        );
        assert_eq!(
            super::audit_path("/v3/customers?FirstName=Jane&last_name=x&page=2"),
            "/v3/customers?FirstName=[personal]&last_name=[personal]&page=2"
        );
        assert_eq!(
            super::audit_path("/v2/orders?min_date_modified=2026-01-01&page=1"),
            "/v2/orders?min_date_modified=2026-01-01&page=1"
        );
        assert_eq!(super::audit_path("/v2/orders/118"), "/v2/orders/118");
    }

    use super::*;

    #[test]
    fn paths() {
        assert_eq!(check_path(System::BigCommerce, "/v2/orders?page=1"), Ok(()));
        assert_eq!(
            check_path(System::BigCommerce, "/v3/catalog/products"),
            Ok(())
        );
        assert_eq!(
            check_path(System::Brightpearl, "/order-service/sales-order"),
            Ok(())
        );
        assert_eq!(
            check_path(System::Brightpearl, "/order-service/order/1,2,3"),
            Ok(())
        );
        assert_eq!(check_path(System::Brightpearl, "/multi-message"), Ok(()));
        assert!(check_path(System::Brightpearl, "/multi-message/x").is_err());
        for (sys, bad) in [
            (System::BigCommerce, "v2/orders"),
            (System::BigCommerce, "/v4/orders"),
            (System::BigCommerce, "/v2/../v3/x"),
            (System::BigCommerce, "/v2/%2e%2e/x"),
            (System::BigCommerce, "/v2/%2E%2e/x"),
            (System::BigCommerce, "/v2//orders"),
            (System::BigCommerce, "/v2/x?u=http://evil"),
            (System::BigCommerce, "/v2/a\\b"),
            (System::BigCommerce, "/v2/a#b"),
            (System::BigCommerce, "/v2/a\r\nHost: x"),
            (System::BigCommerce, "/v2/a%2fb"),
            (System::BigCommerce, "/v2/a%0d%0ab"),
            (System::Brightpearl, "/public-api/x/order-service/order"),
            (System::Brightpearl, "/-service/order"),
            (System::Brightpearl, "/order-service"),
            (System::Brightpearl, "/Order-service/order"),
        ] {
            assert!(check_path(sys, bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn headers() {
        let ok = check_headers(&[("If-Match".into(), "7".into())]).unwrap();
        assert_eq!(ok, vec![("if-match".to_string(), "7".to_string())]);
        for name in [
            "Authorization",
            "X-Auth-Token",
            "brightpearl-account-token",
            "brightpearl-staff-token",
            "Cookie",
            "HOST",
            "brightpearl-app-ref",
            "brightpearl-dev-ref",
            "proxy-authorization",
        ] {
            let err = check_headers(&[(name.into(), "v".into())]).unwrap_err();
            assert!(err.contains(&name.to_ascii_lowercase()), "{err}");
        }
        assert!(check_headers(&[("x-a".into(), "v\r\nx-b: y".into())]).is_err());
        assert!(check_headers(&[("x a".into(), "v".into())]).is_err());
    }

    #[test]
    fn classification() {
        assert!(is_throttle(429, ""));
        assert!(is_throttle(
            503,
            r#"{"response":"You have sent too many requests. Please wait before sending another request"}"#
        ));
        assert!(!is_throttle(503, "Service under maintenance"));
        assert_eq!(
            [500, 501, 502, 503, 504, 505].map(is_retryable_status),
            [true, false, true, true, true, false]
        );
    }

    #[test]
    fn brightpearl_filter_errors_are_not_repeated() {
        let cmnc = r#"{"errors":[{"code":"CMNC-018","message":"BAD PARAM cannot be parsed as: INTEGER"}]}"#;
        assert!(!is_worth_repeating(System::Brightpearl, 500, cmnc));
        assert!(is_worth_repeating(System::BigCommerce, 500, cmnc));
        assert!(is_worth_repeating(
            System::Brightpearl,
            500,
            "Internal Server Error"
        ));
        assert!(is_worth_repeating(
            System::Brightpearl,
            503,
            r#"{"response":"maintenance"}"#
        ));
        assert!(!is_worth_repeating(System::Brightpearl, 400, "{}"));
        let gateway = r#"{"errors":[{"code":"CMNC-500","message":"Bad gateway"}]}"#;
        assert!(is_worth_repeating(System::Brightpearl, 502, gateway));
    }

    #[test]
    fn backoff_grows_and_caps() {
        let b = Duration::from_millis(100);
        let m = Duration::from_millis(1000);
        assert_eq!(backoff(b, m, 1, 1.0), Duration::from_millis(100));
        assert_eq!(backoff(b, m, 1, 0.0), Duration::from_millis(50));
        assert_eq!(backoff(b, m, 3, 1.0), Duration::from_millis(400));
        assert_eq!(backoff(b, m, 9, 0.0), Duration::from_millis(500));
    }

    #[test]
    fn rate_header_parsing() {
        let h = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            rate_headers(
                System::BigCommerce,
                &h(&[
                    ("X-Rate-Limit-Requests-Left", "0"),
                    ("x-rate-limit-time-reset-ms", "1500"),
                    ("x-retry-after", "3")
                ])
            ),
            RateHeaders {
                left: Some(0),
                reset_ms: Some(3000)
            }
        );
        assert_eq!(
            rate_headers(
                System::Brightpearl,
                &h(&[
                    ("Brightpearl-Requests-Remaining", "12"),
                    ("brightpearl-next-throttle-period", "5598")
                ])
            ),
            RateHeaders {
                left: Some(12),
                reset_ms: Some(5598)
            }
        );
        assert_eq!(
            rate_headers(
                System::Brightpearl,
                &h(&[("x-rate-limit-requests-left", "1")])
            ),
            RateHeaders::default()
        );
    }
}
