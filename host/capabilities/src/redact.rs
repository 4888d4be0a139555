//! Redaction: every secret value the host holds is scrubbed from every text that leaves it.
//!
//! A server may echo a credential: real Brightpearl answers a revoked token with
//! `401 {"response":"Invalid instance token: <the token sent>"}` (brightpearl-api.md §1.2
//! [obs]); a proxy may repeat `Authorization: Bearer <token>` or put it in a redirect URL.
//! So the host does not trust any text it did not write itself. The mechanism is one
//! process-wide registry: every [`crate::secrets::Secret`] registers its value when it is made
//! ([`register`]), and [`scrub`] replaces every registered value, in each form a server or a
//! log may spell it (raw — which covers `Bearer <token>` and any other prefix or suffix —
//! percent-encoded with upper- or lower-case hex, form-encoded, JSON-escaped), with
//! [`REDACTED`]. The host applies [`scrub`] at its boundaries, not per call site:
//! - what a component receives from a connection (response body, header values, transport
//!   error texts): `connections::Connection::send`;
//! - what is persisted: [`crate::state::Scrubbed`] wraps the state store (runs, exceptions,
//!   audit lines, flow state);
//! - what is logged: [`ScrubbingWriter`] wraps the log writer;
//! - what the CLI prints (`pearlbridge`'s `main.rs` prints through [`scrub`]).
//!
//! Values shorter than [`MIN_SECRET_CHARS`] are not registered (they would redact ordinary
//! text); [`crate::secrets::Secrets::resolve`] refuses such credentials.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::io::{self, Write};
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What a URL query component escapes (RFC 3986: all but ALPHA / DIGIT / `-._~`).
const URL_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// What a secret value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Shortest value, in characters, that the host accepts as a credential and scrubs.
pub const MIN_SECRET_CHARS: usize = 8;

#[derive(Default)]
struct Registry {
    forms: BTreeSet<String>,
    matcher: Option<Arc<AhoCorasick>>,
}

static REGISTRY: RwLock<Registry> = RwLock::new(Registry {
    forms: BTreeSet::new(),
    matcher: None,
});

/// The spellings of `value` a server, URL or JSON text may carry.
fn forms(value: &str) -> Vec<String> {
    let mut out = vec![value.to_string()];
    // Every non-alphanumeric escaped, and RFC 3986's unreserved `-._~` left as they are.
    for set in [NON_ALPHANUMERIC, URL_COMPONENT] {
        let pct = utf8_percent_encode(value, set).to_string();
        out.push(lower_hex(&pct));
        out.push(pct.replace("%20", "+"));
        out.push(pct);
    }
    // The inside of a JSON string literal (`/` may be written `\/`).
    if let Ok(json) = serde_json::to_string(value) {
        let inner = json[1..json.len() - 1].to_string();
        out.push(inner.replace('/', "\\/"));
        out.push(inner);
    }
    out.sort();
    out.dedup();
    out
}

/// `%2F` → `%2f`, leaving the other characters as they are.
fn lower_hex(pct: &str) -> String {
    let mut out = String::with_capacity(pct.len());
    let mut rest = pct;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let esc = rest.get(i..i + 3).unwrap_or(&rest[i..]);
        out.push_str(&esc.to_ascii_lowercase());
        rest = &rest[i + esc.len()..];
    }
    out.push_str(rest);
    out
}

/// Registers `value` so that [`scrub`] removes it from now on, for the life of the process.
/// Values under [`MIN_SECRET_CHARS`] characters are ignored. Idempotent.
pub fn register(value: &str) {
    if value.chars().count() < MIN_SECRET_CHARS {
        return;
    }
    let new: Vec<String> = {
        let reg = REGISTRY.read().unwrap_or_else(|p| p.into_inner());
        forms(value)
            .into_iter()
            .filter(|f| !reg.forms.contains(f))
            .collect()
    };
    if new.is_empty() {
        return;
    }
    let mut reg = REGISTRY.write().unwrap_or_else(|p| p.into_inner());
    reg.forms.extend(new);
    // Longest match first, so a percent-encoded form is replaced whole.
    reg.matcher = AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .build(&reg.forms)
        .ok()
        .map(Arc::new);
}

/// `text` with every registered secret value (in every registered form) replaced by
/// [`REDACTED`]. Borrowed when nothing matched.
pub fn scrub(text: &str) -> Cow<'_, str> {
    let matcher = {
        let reg = REGISTRY.read().unwrap_or_else(|p| p.into_inner());
        match &reg.matcher {
            Some(m) => m.clone(),
            None => return Cow::Borrowed(text),
        }
    };
    if !matcher.is_match(text) {
        return Cow::Borrowed(text);
    }
    let replacements = vec![REDACTED; matcher.patterns_len()];
    Cow::Owned(matcher.replace_all(text, &replacements))
}

/// [`scrub`] for an owned string (no copy when nothing matched).
pub fn scrub_string(text: String) -> String {
    match scrub(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(s) => s,
    }
}

/// A writer that scrubs every write before passing it on, for log output. Each `write` call
/// is scrubbed whole (tracing's formatter writes one event per call), and always reports the
/// whole buffer written.
#[derive(Debug)]
pub struct ScrubbingWriter<W>(pub W);

impl<W: Write> Write for ScrubbingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        match scrub(&text) {
            Cow::Borrowed(_) => self.0.write_all(buf)?,
            Cow::Owned(s) => self.0.write_all(s.as_bytes())?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_a_registered_value_is_replaced() {
        let token = "unit-TOKEN/with space+plus";
        register(token);
        let pct = utf8_percent_encode(token, NON_ALPHANUMERIC).to_string();
        let texts = [
            format!("Invalid instance token: {token}"),
            format!("Authorization: Bearer {token}."),
            format!("https://x.example/login?t={pct}&next=1"),
            format!("https://x.example/login?t={}", lower_hex(&pct)),
            format!("t={}", pct.replace("%20", "+")),
            format!("t={}", utf8_percent_encode(token, URL_COMPONENT)),
            serde_json::json!({ "response": token }).to_string(),
            format!(r#"{{"response":"{}"}}"#, token.replace('/', "\\/")),
        ];
        for t in &texts {
            let s = scrub(t);
            assert!(s.contains(REDACTED), "{t} → {s}");
            assert!(!s.contains("TOKEN"), "{t} → {s}");
        }
        assert_eq!(
            scrub(&format!("Invalid instance token: {token}")),
            "Invalid instance token: [redacted]"
        );
        assert_eq!(scrub(&format!("Bearer {token}!")), "Bearer [redacted]!");
    }

    #[test]
    fn short_values_are_not_registered_and_clean_text_is_borrowed() {
        register("short");
        assert_eq!(scrub("a short text"), "a short text");
        assert!(matches!(scrub("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_writer_scrubs_what_it_writes() {
        register("writer-secret-value");
        let mut w = ScrubbingWriter(Vec::new());
        w.write_all(b"token=writer-secret-value end\n").unwrap();
        assert_eq!(String::from_utf8(w.0).unwrap(), "token=[redacted] end\n");
    }
}
