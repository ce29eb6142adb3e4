//! Several reads in one PostgreSQL round trip (issue 18). A [`Reader::many`] of a sign-in
//! sends four statements, each a round trip through the pool connection and a statement of
//! PostgreSQL's own; on a busy machine those round trips, not the work, are most of what a
//! read costs. Here the statements become the parts of one `UNION ALL`: each part returns its
//! rows as `row_to_json` text, tagged with the part's index, and its `$n` are renumbered
//! after the parts before it. The rows are then parsed by the same [`Cells`] parsers as any
//! other read, through [`JsonCells`].
//!
//! Order: a part keeps its own `ORDER BY` (PostgreSQL runs a `UNION ALL`'s parts one after
//! the other, each a subquery whose order the outer projection keeps — how it plans this
//! shape, though SQL does not promise it); the store suite checks the orders the callers
//! rely on, on PostgreSQL, with rows stored out of that order. Rows of different parts are
//! told apart by `part`, never by position.
//!
//! [`Reader::many`]: crate::bulk::Reader::many

use serde_json::{Map, Value};
use sqlx::Row;

use crate::bulk::{Cells, Param, Query};
use crate::lean_pool::LeanPool;
use crate::{Result, StoreError};

/// Every part of `queries` in one statement: the rows of each, in order.
pub(crate) async fn many<T>(pool: &LeanPool, queries: &[Query<T>]) -> Result<Vec<Vec<T>>> {
    let (sql, params) = statement(queries);
    let rows = pool.rows(&sql, &params).await?;
    let mut out: Vec<Vec<T>> = queries.iter().map(|_| Vec::new()).collect();
    for row in &rows {
        let part: i64 = row.try_get("part")?;
        let cells: String = row.try_get("cells")?;
        let cells: Map<String, Value> = serde_json::from_str(&cells)
            .map_err(|e| StoreError::Corrupt(format!("a row as JSON: {e}")))?;
        let index = usize::try_from(part).ok();
        let (Some(query), Some(rows)) = (
            index.and_then(|i| queries.get(i)),
            index.and_then(|i| out.get_mut(i)),
        ) else {
            return Err(StoreError::Corrupt(format!("a row of no part ({part})")));
        };
        rows.push((query.parse)(&JsonCells(&cells))?);
    }
    Ok(out)
}

/// The one statement and its values.
fn statement<T>(queries: &[Query<T>]) -> (String, Vec<Param>) {
    let mut sql = String::new();
    let mut params: Vec<Param> = Vec::new();
    for (i, q) in queries.iter().enumerate() {
        if i > 0 {
            sql.push_str(" UNION ALL ");
        }
        // The alias names no column of the store, so `row_to_json` takes the whole row.
        sql.push_str(&format!(
            "SELECT {i}::BIGINT AS part, row_to_json(one_trip_row)::TEXT AS cells FROM ({}) one_trip_row",
            renumber(&q.sql, params.len()).0
        ));
        params.extend(q.params.iter().cloned());
    }
    (sql, params)
}

/// `sql` with every `$n` outside a quoted literal or name made `$(n + by)`, and the highest
/// number it then names (`by` if none). The statements given to [`many`] and to
/// [`crate::one_statement`] are the store's own, which use no dollar quoting, no `E''`
/// strings (a backslash-escaped quote would end the literal here) and no comments.
pub(crate) fn renumber(sql: &str, by: usize) -> (String, usize) {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut highest = by;
    let mut chars = sql.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        out.push(c);
        match (quote, c) {
            // A doubled quote inside a literal closes and reopens it: the same state.
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => continue,
            (None, '\'' | '"') => quote = Some(c),
            _ => {}
        }
        if c != '$' {
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
            digits.push(d);
            chars.next();
        }
        match digits.parse::<usize>() {
            Ok(n) => {
                let n = n.saturating_add(by);
                highest = highest.max(n);
                out.push_str(&n.to_string());
            }
            Err(_) => out.push_str(&digits),
        }
    }
    (out, highest)
}

/// A row as `row_to_json` wrote it: TEXT columns are strings, BIGINT ones numbers, NULL null.
struct JsonCells<'a>(&'a Map<String, Value>);

impl JsonCells<'_> {
    fn cell(&self, col: &str) -> Result<&Value> {
        self.0
            .get(col)
            .ok_or_else(|| StoreError::Corrupt(format!("no column '{col}' in the result")))
    }
}

fn not(kind: &str, col: &str, v: &Value) -> StoreError {
    StoreError::Corrupt(format!("column '{col}' is not {kind}: {v}"))
}

impl Cells for JsonCells<'_> {
    fn text(&self, col: &str) -> Result<String> {
        self.opt_text(col)?
            .ok_or_else(|| StoreError::Corrupt(format!("column '{col}' is NULL")))
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>> {
        match self.cell(col)? {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            v => Err(not("text", col, v)),
        }
    }
    fn int(&self, col: &str) -> Result<i64> {
        self.opt_int(col)?
            .ok_or_else(|| StoreError::Corrupt(format!("column '{col}' is NULL")))
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        match self.cell(col)? {
            Value::Null => Ok(None),
            v => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| not("an integer", col, v)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_renumbered_after_the_parts_before() {
        assert_eq!(
            renumber("SELECT * FROM t WHERE a = $1 AND b = $2 OR c = $1", 3),
            (
                "SELECT * FROM t WHERE a = $4 AND b = $5 OR c = $4".into(),
                5
            )
        );
        assert_eq!(renumber("x = $10", 0), ("x = $10".into(), 10));
        // Inside a literal or a quoted name a `$` is text, doubled quotes included.
        assert_eq!(
            renumber(
                "a = '$2b$x' AND b = $1 AND \"c$1\" = 'it''s $1' AND d = $2",
                2
            ),
            (
                "a = '$2b$x' AND b = $3 AND \"c$1\" = 'it''s $1' AND d = $4".into(),
                4
            )
        );
        assert_eq!(
            renumber("no placeholders", 5),
            ("no placeholders".into(), 5)
        );
    }

    #[test]
    fn the_parts_are_tagged_in_order_with_their_values_in_order() {
        let parse: crate::bulk::Parse<()> = |_| Ok(());
        let queries = vec![
            Query {
                sql: "SELECT a FROM t WHERE x = $1 ORDER BY a".into(),
                params: vec![Param::Text("one".into())],
                parse,
            },
            Query {
                sql: "SELECT b FROM u WHERE y = $1 AND z = $2".into(),
                params: vec![Param::Int(2), Param::NullText],
                parse,
            },
        ];
        let (sql, params) = statement(&queries);
        assert_eq!(
            sql,
            "SELECT 0::BIGINT AS part, row_to_json(one_trip_row)::TEXT AS cells FROM (SELECT a FROM t WHERE x = $1 ORDER BY a) one_trip_row \
             UNION ALL SELECT 1::BIGINT AS part, row_to_json(one_trip_row)::TEXT AS cells FROM (SELECT b FROM u WHERE y = $2 AND z = $3) one_trip_row"
        );
        assert_eq!(
            params,
            [Param::Text("one".into()), Param::Int(2), Param::NullText]
        );
    }

    #[test]
    fn json_cells_read_text_integers_and_nulls_and_refuse_the_wrong_kind() {
        let row: Map<String, Value> = serde_json::from_str(
            r#"{"s": "text", "n": 1764547200000, "none": null, "json": "{\"a\":1}"}"#,
        )
        .unwrap();
        let c = JsonCells(&row);
        assert_eq!(c.text("s").unwrap(), "text");
        assert_eq!(c.text("json").unwrap(), r#"{"a":1}"#);
        assert_eq!(c.int("n").unwrap(), 1_764_547_200_000);
        assert_eq!(c.opt_text("none").unwrap(), None);
        assert_eq!(c.opt_int("none").unwrap(), None);
        assert!(c.text("none").is_err());
        assert!(c.int("s").is_err());
        assert!(c.text("n").is_err());
        assert!(c.text("missing").is_err());
    }
}
