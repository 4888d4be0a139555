//! The SKU → Brightpearl product id index, kept in state and rebuilt from
//! `product-search` (paged without a filter, brightpearl-api.md §3.3 [doc]/[obs], §7 [obs])
//! when it is older than `product_index_refresh_minutes`.
//!
//! State keys:
//! - `product-index` → `{"builtAt":<unix seconds>,"chunks":<n>,"products":<count>}`;
//! - `product-index:<i>` (i = 0..n) → a JSON object `{"<SKU>":<product id>,..}`, each value
//!   at most [`CHUNK_BYTES`] (state values stay well under 1 MiB).

use std::collections::BTreeMap;

use pearlbridge_sdk::State;
use serde::{Deserialize, Serialize};

/// State key of the index's metadata.
pub const META_KEY: &str = "product-index";
/// Prefix of the index's chunk keys (`product-index:0`, `product-index:1`, ...).
pub const CHUNK_PREFIX: &str = "product-index:";
/// Largest chunk value in bytes (JSON text).
pub const CHUNK_BYTES: usize = 512 * 1024;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    built_at: i64,
    chunks: usize,
    products: usize,
}

/// SKU → product id of every Brightpearl product, as of `built_at` (unix seconds).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProductIndex {
    pub built_at: i64,
    pub skus: BTreeMap<String, u64>,
    /// trimmed, lower-cased SKU → the first indexed SKU that normalises to it.
    normalised: BTreeMap<String, String>,
}

fn normalise(sku: &str) -> String {
    sku.trim().to_lowercase()
}

impl ProductIndex {
    /// An index of `skus` built at `built_at` (unix seconds).
    pub fn new(built_at: i64, skus: BTreeMap<String, u64>) -> Self {
        let mut normalised = BTreeMap::new();
        for sku in skus.keys() {
            normalised
                .entry(normalise(sku))
                .or_insert_with(|| sku.clone());
        }
        ProductIndex {
            built_at,
            skus,
            normalised,
        }
    }

    /// Younger than `refresh_minutes` at `now` (unix seconds). A clock that went back by
    /// more than the period also makes it stale.
    pub fn is_fresh(&self, now: i64, refresh_minutes: i64) -> bool {
        (now - self.built_at).abs() < refresh_minutes.max(1) * 60
    }

    /// The product id of exactly `sku`.
    pub fn get(&self, sku: &str) -> Option<u64> {
        self.skus.get(sku).copied()
    }

    /// For a SKU that is not indexed: the indexed SKU it equals but for case or surrounding
    /// whitespace (`" hood-051-olv-m"` → `HOOD-051-OLV-M`).
    pub fn suggestion(&self, sku: &str) -> Option<&str> {
        if self.skus.contains_key(sku) {
            return None;
        }
        self.normalised.get(&normalise(sku)).map(String::as_str)
    }

    /// The chunk values: JSON objects of consecutive SKUs, each at most [`CHUNK_BYTES`] long
    /// (a single entry longer than that gets a chunk of its own).
    pub fn chunks(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut current: BTreeMap<&str, u64> = BTreeMap::new();
        let mut size = 2; // "{}"
        for (sku, id) in &self.skus {
            let entry = serde_json::to_string(sku)
                .map(|s| s.len())
                .unwrap_or(sku.len() + 2)
                + 1
                + id.to_string().len()
                + 1;
            if !current.is_empty() && size + entry > CHUNK_BYTES {
                out.push(serde_json::to_string(&current).unwrap_or_default());
                current.clear();
                size = 2;
            }
            current.insert(sku, *id);
            size += entry;
        }
        if !current.is_empty() || out.is_empty() {
            out.push(serde_json::to_string(&current).unwrap_or_default());
        }
        out
    }

    /// Read the index from state; `None` when it was never stored or a chunk is missing or
    /// unreadable (it is then rebuilt).
    pub fn load(state: &dyn State) -> Option<ProductIndex> {
        let meta: Meta = serde_json::from_str(&state.get(META_KEY)?.value).ok()?;
        let mut skus = BTreeMap::new();
        for i in 0..meta.chunks {
            let chunk: BTreeMap<String, u64> =
                serde_json::from_str(&state.get(&format!("{CHUNK_PREFIX}{i}"))?.value).ok()?;
            skus.extend(chunk);
        }
        Some(ProductIndex::new(meta.built_at, skus))
    }

    /// Write the index to state: the chunks first, then the metadata; chunks of an earlier,
    /// larger index are deleted.
    pub fn store(&self, state: &dyn State) {
        let before = state
            .get(META_KEY)
            .and_then(|e| serde_json::from_str::<Meta>(&e.value).ok())
            .map(|m| m.chunks)
            .unwrap_or(0);
        let chunks = self.chunks();
        for (i, c) in chunks.iter().enumerate() {
            state.set(&format!("{CHUNK_PREFIX}{i}"), c);
        }
        let meta = Meta {
            built_at: self.built_at,
            chunks: chunks.len(),
            products: self.skus.len(),
        };
        state.set(META_KEY, &serde_json::to_string(&meta).unwrap_or_default());
        for i in chunks.len()..before {
            state.delete(&format!("{CHUNK_PREFIX}{i}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pearlbridge_sdk::testing::MemoryState;

    #[test]
    fn suggestions_ignore_case_and_surrounding_whitespace_only() {
        let idx = ProductIndex::new(
            0,
            BTreeMap::from([("HOOD-051-OLV-M".to_string(), 7), ("CAP".to_string(), 8)]),
        );
        assert_eq!(idx.suggestion("hood-051-olv-m"), Some("HOOD-051-OLV-M"));
        assert_eq!(idx.suggestion(" HOOD-051-OLV-M\t"), Some("HOOD-051-OLV-M"));
        assert_eq!(idx.suggestion("HOOD-051-OLV-M"), None, "indexed exactly");
        assert_eq!(idx.suggestion("HOOD-051-OLVM"), None);
        assert_eq!(idx.get("hood-051-olv-m"), None, "lookups are exact");
    }

    #[test]
    fn freshness_is_the_refresh_period() {
        let idx = ProductIndex::new(1_000_000, BTreeMap::new());
        assert!(idx.is_fresh(1_000_000 + 3599, 60));
        assert!(!idx.is_fresh(1_000_000 + 3600, 60));
        assert!(!idx.is_fresh(1_000_000 - 3600, 60));
    }

    #[test]
    fn a_large_index_is_split_into_chunks_under_the_limit_and_reads_back() {
        let skus: BTreeMap<String, u64> = (0..40_000u64)
            .map(|i| (format!("SKU-{i:08}-LONGER-NAME-XYZ"), 100_000 + i))
            .collect();
        let idx = ProductIndex::new(42, skus.clone());
        let chunks = idx.chunks();
        assert_eq!(
            chunks.len(),
            3,
            "40 000 entries of 38 bytes in chunks of 512 KiB"
        );
        assert!(
            chunks.iter().all(|c| c.len() <= CHUNK_BYTES),
            "{:?}",
            chunks.iter().map(String::len).collect::<Vec<_>>()
        );
        let state = MemoryState::new();
        state.set("product-index:9", "{}");
        state.set(META_KEY, r#"{"builtAt":1,"chunks":10,"products":1}"#);
        idx.store(&state);
        assert!(
            state.get("product-index:9").is_none(),
            "stale chunks are deleted"
        );
        assert_eq!(
            state.get(META_KEY).unwrap().value,
            r#"{"builtAt":42,"chunks":3,"products":40000}"#
        );
        let back = ProductIndex::load(&state).unwrap();
        assert_eq!(back.skus, skus);
        assert_eq!(back.built_at, 42);
        state.delete("product-index:2");
        assert!(
            ProductIndex::load(&state).is_none(),
            "a missing chunk means no index"
        );
    }
}
