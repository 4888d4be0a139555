//! Per-flow API policy from a 1.1.0 component's `manifest.needs()`: a request goes out only
//! when a need covers its system, method and path. 1.0.0 components have no manifest and
//! keep only the system-wide path policy of the connections.

use crate::bindings::{Method, Need, Request, System};

/// Why a flow may not send `req`: `None` when one of `needs` covers it, else the text of the
/// `send-error::denied`, e.g. ``flow `orders` did not declare GET /v2/foo in its manifest``
/// (the path without its query string, which may hold personal data).
pub fn denied(flow: &str, needs: &[Need], req: &Request) -> Option<String> {
    let path = path_only(&req.path);
    if needs
        .iter()
        .any(|n| covers(n, req.system, req.method, path))
    {
        return None;
    }
    Some(format!(
        "flow `{flow}` did not declare {} {path} in its manifest",
        method_name(req.method)
    ))
}

/// Whether `need` covers `method` on `path` (no query string) of `system`: same system, a
/// listed method, and the prefix's segments are the path's first segments. A path with a
/// `.`/`..` segment or a percent-encoded dot is never covered.
pub fn covers(need: &Need, system: System, method: Method, path: &str) -> bool {
    if need.system != system || !need.methods.contains(&method) {
        return false;
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let dotted = segments.iter().any(|s| *s == "." || *s == "..")
        || path.to_ascii_lowercase().contains("%2e");
    if dotted || !path.starts_with('/') {
        return false;
    }
    let prefix: Vec<&str> = need
        .path_prefix
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    segments.len() >= prefix.len() && segments[..prefix.len()] == prefix[..]
}

fn path_only(path: &str) -> &str {
    path.split(['?', '#']).next().unwrap_or(path)
}

/// A method as HTTP names it, e.g. `GET`.
pub fn method_name(m: Method) -> &'static str {
    match m {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Patch => "PATCH",
        Method::Delete => "DELETE",
    }
}

/// A system as `client.toml` names it, e.g. `bigcommerce`.
pub fn system_name(s: System) -> &'static str {
    match s {
        System::Bigcommerce => "bigcommerce",
        System::Brightpearl => "brightpearl",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(system: System, methods: &[Method], prefix: &str) -> Need {
        Need {
            system,
            methods: methods.to_vec(),
            path_prefix: prefix.into(),
        }
    }

    fn get(system: System, path: &str) -> Request {
        Request {
            system,
            method: Method::Get,
            path: path.into(),
            body: None,
            headers: vec![],
        }
    }

    #[test]
    fn prefixes_match_whole_segments() {
        let n = need(System::Bigcommerce, &[Method::Get], "/v2/orders");
        let ok = |p: &str| covers(&n, System::Bigcommerce, Method::Get, p);
        assert!(ok("/v2/orders"));
        assert!(ok("/v2/orders/118/products"));
        assert!(!ok("/v2/orders_x"));
        assert!(!ok("/v2"));
        assert!(!ok("/v2/customers"));
        assert!(!ok("/v2/orders/../customers"));
        assert!(!ok("/v2/orders/%2E%2E/customers"));
        assert!(!covers(&n, System::Bigcommerce, Method::Post, "/v2/orders"));
        assert!(!covers(&n, System::Brightpearl, Method::Get, "/v2/orders"));
        let trailing = need(
            System::Brightpearl,
            &[Method::Post],
            "/order-service/sales-order/",
        );
        assert!(covers(
            &trailing,
            System::Brightpearl,
            Method::Post,
            "/order-service/sales-order"
        ));
    }

    #[test]
    fn denied_names_flow_method_and_path_without_query() {
        let needs = [need(System::Bigcommerce, &[Method::Get], "/v2/orders")];
        assert_eq!(
            denied(
                "orders",
                &needs,
                &get(System::Bigcommerce, "/v2/orders/118/products?page=1")
            ),
            None
        );
        assert_eq!(
            denied(
                "orders",
                &needs,
                &get(System::Bigcommerce, "/v2/foo?email=a@b.c")
            )
            .as_deref(),
            Some("flow `orders` did not declare GET /v2/foo in its manifest")
        );
        assert!(denied("orders", &[], &get(System::Bigcommerce, "/v2/orders")).is_some());
    }
}
