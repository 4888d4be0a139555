//! Resource search (`…-search`) in Brightpearl's columns/results/metaData format (§3.3).
//!
//! * Column filters `col=value` by data type **\[obs\]**: `INTEGER`/`IDSET` (an ID set such as
//!   `1-5,7`; a value that is not a number answers **500 `CMNC-018`** "…cannot be parsed as:
//!   INTEGER" **\[obs\]**), `STRING` (exact, case-insensitive **\[unconfirmed\]**), `SEARCH_STRING`
//!   (case-insensitive substring — a text search **\[obs\]**; callers compare exactly client-side),
//!   `BOOLEAN` (`true`/`false`), `PERIOD` (`start/end`, either side may be empty **\[obs\]**).
//! * `columns=a,b` chooses and orders columns **\[doc\]**; `sort=col.DESC` **\[doc\]/\[obs\]**;
//!   `pageSize` (default and maximum 500 **\[obs\]**), `firstResult` (1-based **\[doc\]**).
//! * Body: `{"response":{"metaData":{morePagesAvailable, resultsAvailable, resultsReturned,
//!   firstResult, lastResult, columns[], sorting[]}, "results":[[…positional…]]}, "reference":{…}}`
//!   **\[obs\]**. Unknown query parameters are ignored **\[unconfirmed\]**.

use std::cmp::Ordering;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::model::{ApiError, ApiResult, codes, parse_id_set, parse_time};

/// A search column's data type (`reportDataType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Integer,
    IdSet,
    String,
    SearchString,
    Boolean,
    Period,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Integer => "INTEGER",
            Kind::IdSet => "IDSET",
            Kind::String => "STRING",
            Kind::SearchString => "SEARCH_STRING",
            Kind::Boolean => "BOOLEAN",
            Kind::Period => "PERIOD",
        }
    }
}

/// One column of a search resource: its name, `reportDataType` and the `referenceData` lookups
/// (names of maps in the body's `reference` sibling, e.g. `orderStatusNames`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub reference: &'static [&'static str],
}

pub(crate) const fn col(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        reference: &[],
    }
}

/// A column with `referenceData` lookups.
pub(crate) const fn col_ref(
    name: &'static str,
    kind: Kind,
    reference: &'static [&'static str],
) -> Column {
    Column {
        name,
        kind,
        reference,
    }
}

/// Maximum and default `pageSize` **\[obs\]**.
pub(crate) const MAX_PAGE_SIZE: usize = 500;

fn column_json(c: &Column) -> Value {
    json!({
        "name": c.name,
        "sortable": true,
        "filterable": true,
        "reportDataType": c.kind.name(),
        "referenceData": c.reference,
        "isFreeTextSearchable": c.kind == Kind::SearchString,
        "required": false
    })
}

fn unparsable(value: &str, col: &Column, as_type: &str) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        codes::UNPARSABLE_FILTER,
        format!(
            "The value '{value}' for column '{}' cannot be parsed as: {as_type}",
            col.name
        ),
    )
}

/// A filter compiled from one query parameter.
enum Filter {
    Ids(Vec<i64>),
    Text(String, bool /* substring */),
    Bool(bool),
    Period(
        Option<chrono::DateTime<chrono::Utc>>,
        Option<chrono::DateTime<chrono::Utc>>,
    ),
}

fn compile(col: &Column, raw: &str) -> Result<Filter, ApiError> {
    Ok(match col.kind {
        Kind::Integer | Kind::IdSet => {
            Filter::Ids(parse_id_set(raw).map_err(|_| unparsable(raw, col, "INTEGER"))?)
        }
        Kind::String => Filter::Text(raw.to_lowercase(), false),
        Kind::SearchString => Filter::Text(raw.to_lowercase(), true),
        Kind::Boolean => match raw.to_ascii_lowercase().as_str() {
            "true" => Filter::Bool(true),
            "false" => Filter::Bool(false),
            _ => return Err(unparsable(raw, col, "BOOLEAN")),
        },
        Kind::Period => {
            let (a, b) = raw.split_once('/').unwrap_or((raw, raw));
            let parse = |s: &str| -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
                if s.trim().is_empty() {
                    Ok(None)
                } else {
                    parse_time(s)
                        .map(Some)
                        .ok_or_else(|| unparsable(raw, col, "PERIOD"))
                }
            };
            Filter::Period(parse(a)?, parse(b)?)
        }
    })
}

fn matches(f: &Filter, v: &Value) -> bool {
    match f {
        Filter::Ids(ids) => v.as_i64().is_some_and(|x| ids.binary_search(&x).is_ok()),
        Filter::Text(t, substring) => {
            let s = match v {
                Value::String(s) => s.to_lowercase(),
                Value::Number(n) => n.to_string(),
                _ => return false,
            };
            if *substring {
                s.contains(t.as_str())
            } else {
                s == *t
            }
        }
        Filter::Bool(b) => v.as_bool() == Some(*b),
        Filter::Period(start, end) => match v.as_str().and_then(parse_time) {
            Some(t) => start.is_none_or(|s| t >= s) && end.is_none_or(|e| t <= e),
            None => false,
        },
    }
}

fn cmp_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => a.to_string().cmp(&b.to_string()),
    }
}

/// Runs a search over `rows` (positional, in `columns` order) with the request's query pairs.
/// `reference` is the body's `reference` sibling (e.g. `orderStatusNames`).
pub(crate) fn search(
    columns: &[Column],
    rows: Vec<Vec<Value>>,
    query: &[(String, String)],
    reference: Value,
) -> ApiResult {
    let mut filters: Vec<(usize, Filter)> = Vec::new();
    let mut page_size = MAX_PAGE_SIZE;
    let mut first_result = 1usize;
    let mut sort: (usize, bool) = (0, false);
    let mut selected: Vec<usize> = (0..columns.len()).collect();
    for (k, v) in query {
        match k.as_str() {
            "pageSize" => {
                let n: usize = v
                    .parse()
                    .map_err(|_| unparsable(v, &col("pageSize", Kind::Integer), "INTEGER"))?;
                page_size = n.clamp(1, MAX_PAGE_SIZE);
            }
            "firstResult" => {
                let n: usize = v
                    .parse()
                    .map_err(|_| unparsable(v, &col("firstResult", Kind::Integer), "INTEGER"))?;
                first_result = n.max(1);
            }
            "columns" => {
                let chosen: Vec<usize> = v
                    .split(',')
                    .filter_map(|name| columns.iter().position(|c| c.name == name.trim()))
                    .collect();
                if !chosen.is_empty() {
                    selected = chosen;
                }
            }
            "sort" => {
                let (name, dir) = v.split_once('.').unwrap_or((v.as_str(), "ASC"));
                if let Some(i) = columns.iter().position(|c| c.name == name) {
                    sort = (i, dir.eq_ignore_ascii_case("DESC"));
                }
            }
            other => {
                if let Some(i) = columns.iter().position(|c| c.name == other) {
                    filters.push((i, compile(&columns[i], v)?));
                }
            }
        }
    }
    let mut hits: Vec<Vec<Value>> = rows
        .into_iter()
        .filter(|row| filters.iter().all(|(i, f)| matches(f, &row[*i])))
        .collect();
    hits.sort_by(|a, b| {
        let o = cmp_values(&a[sort.0], &b[sort.0]);
        if sort.1 { o.reverse() } else { o }
    });
    let available = hits.len();
    let start = (first_result - 1).min(available);
    let end = (start + page_size).min(available);
    let page: Vec<Value> = hits[start..end]
        .iter()
        .map(|row| Value::Array(selected.iter().map(|i| row[*i].clone()).collect()))
        .collect();
    let returned = page.len();
    let sort_col = column_json(&columns[sort.0]);
    Ok((
        StatusCode::OK,
        json!({
            "response": {
                "metaData": {
                    "morePagesAvailable": end < available,
                    "resultsAvailable": available,
                    "resultsReturned": returned,
                    "firstResult": first_result,
                    "lastResult": if returned == 0 { first_result - 1 } else { start + returned },
                    "columns": selected.iter().map(|i| column_json(&columns[*i])).collect::<Vec<_>>(),
                    "sorting": [{ "filterable": sort_col, "direction": if sort.1 { "DESC" } else { "ASC" } }]
                },
                "results": page
            },
            "reference": reference
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: [Column; 3] = [
        col("id", Kind::IdSet),
        col("email", Kind::SearchString),
        col("active", Kind::Boolean),
    ];

    fn rows() -> Vec<Vec<Value>> {
        (1..=7)
            .map(|i| vec![json!(i), json!(format!("u{i}@x.test")), json!(i % 2 == 0)])
            .collect()
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn paging_and_filters() {
        let (_, body) = search(
            &COLS,
            rows(),
            &q(&[("pageSize", "3"), ("firstResult", "4")]),
            json!({}),
        )
        .unwrap();
        let md = &body["response"]["metaData"];
        assert_eq!(md["resultsAvailable"], 7);
        assert_eq!(md["resultsReturned"], 3);
        assert_eq!(md["firstResult"], 4);
        assert_eq!(md["lastResult"], 6);
        assert_eq!(md["morePagesAvailable"], true);
        assert_eq!(
            body["response"]["results"][0],
            json!([4, "u4@x.test", true])
        );

        let (_, body) = search(
            &COLS,
            rows(),
            &q(&[("active", "true"), ("sort", "id.DESC"), ("columns", "id")]),
            json!({}),
        )
        .unwrap();
        assert_eq!(body["response"]["results"], json!([[6], [4], [2]]));
        assert_eq!(body["response"]["metaData"]["morePagesAvailable"], false);

        let many: Vec<Vec<Value>> = (1..=1200)
            .map(|i| vec![json!(i), json!("e"), json!(true)])
            .collect();
        let (_, body) =
            search(&COLS, many.clone(), &q(&[("pageSize", "1000")]), json!({})).unwrap();
        let md = &body["response"]["metaData"];
        assert_eq!(
            (
                md["resultsReturned"].as_u64(),
                md["lastResult"].as_u64(),
                md["morePagesAvailable"].as_bool()
            ),
            (Some(500), Some(500), Some(true))
        );
        let (_, body) = search(&COLS, many, &q(&[("firstResult", "1001")]), json!({})).unwrap();
        let md = &body["response"]["metaData"];
        assert_eq!(
            (
                md["resultsReturned"].as_u64(),
                md["lastResult"].as_u64(),
                md["morePagesAvailable"].as_bool()
            ),
            (Some(200), Some(1200), Some(false))
        );
        assert_eq!(body["response"]["results"][0][0], 1001);

        let err = search(&COLS, rows(), &q(&[("id", "BAD PARAM")]), json!({})).unwrap_err();
        assert_eq!(err.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(err.code, "CMNC-018");
    }
}
