//! Brightpearl ID sets (brightpearl-api.md §3.5 [doc]): a single id `8`, an ascending range
//! `100-200`, a list `1,5,9` or a mixture `1-5,7,9`, and the per-request limits.

/// Order GET: at most 200 ids per request [doc].
pub const ORDER_GET_LIMIT: usize = 200;
/// Contact GET: at most 200 ids per request [doc].
pub const CONTACT_GET_LIMIT: usize = 200;
/// Product-price GET: at most 200 ids [doc].
pub const PRODUCT_PRICE_GET_LIMIT: usize = 200;
/// Goods-out note GET: at most 500 ids per set [doc].
pub const GOODS_OUT_NOTE_GET_LIMIT: usize = 500;
/// Product and product-availability GET: undocumented; 100 keeps URIs short [unconfirmed].
pub const PRODUCT_GET_LIMIT: usize = 100;
/// Search pages return at most 500 rows [obs].
pub const SEARCH_PAGE_SIZE: usize = 500;

/// Format ids as an ID set: sorted, deduplicated, runs of 3 or more consecutive ids as
/// `a-b` (e.g. `[7, 1, 2, 3, 4, 5]` → `1-5,7`; `[1, 2]` → `1,2`).
pub fn format(ids: &[u64]) -> String {
    let mut ids: Vec<u64> = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let start = ids[i];
        let mut j = i;
        while j + 1 < ids.len() && ids[j + 1] == ids[j] + 1 {
            j += 1;
        }
        if j - i >= 2 {
            parts.push(format!("{}-{}", start, ids[j]));
        } else {
            for id in &ids[i..=j] {
                parts.push(id.to_string());
            }
        }
        i = j + 1;
    }
    parts.join(",")
}

/// Sort and deduplicate `ids`, then split them into ID sets of at most `limit` ids each.
pub fn chunks(ids: &[u64], limit: usize) -> Vec<String> {
    let mut ids: Vec<u64> = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    ids.chunks(limit.max(1)).map(format).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_ranges_and_lists() {
        assert_eq!(format(&[7, 1, 2, 3, 4, 5]), "1-5,7");
        assert_eq!(format(&[1, 2]), "1,2");
        assert_eq!(format(&[9, 5, 1, 5]), "1,5,9");
        assert_eq!(format(&[100, 101, 102, 200]), "100-102,200");
        assert_eq!(format(&[]), "");
    }

    #[test]
    fn chunks_to_the_limit() {
        let ids: Vec<u64> = (1..=450).collect();
        assert_eq!(
            chunks(&ids, ORDER_GET_LIMIT),
            vec!["1-200", "201-400", "401-450"]
        );
        assert_eq!(chunks(&[5, 3, 1], 2), vec!["1,3", "5"]);
    }
}
