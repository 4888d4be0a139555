//! Percent-encoding of query values (RFC 3986 unreserved characters kept). BigCommerce date
//! filters must be URL-encoded (bigcommerce-api.md §3, bigcommerce/api #121 [doc]).

/// Encode one query-string value: everything but `A-Z a-z 0-9 - . _ ~` becomes `%XX`.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_dates_and_emails() {
        assert_eq!(
            super::encode("Thu, 20 Apr 2017 11:32:00 +0000"),
            "Thu%2C%2020%20Apr%202017%2011%3A32%3A00%20%2B0000"
        );
        assert_eq!(
            super::encode("jane+b2b@acme.test"),
            "jane%2Bb2b%40acme.test"
        );
    }
}
