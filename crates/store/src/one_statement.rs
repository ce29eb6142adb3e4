//! A batch in one PostgreSQL statement (issue 18). A batch in a transaction is `BEGIN`, each
//! write, `COMMIT`: on a passkey sign-in six round trips, each a message PostgreSQL parses,
//! runs and answers over the socket (with two nodes and `fsync` on, PostgreSQL's sends alone
//! were a sixth of the machine). Here the writes become the data-modifying `WITH` parts of
//! one statement, which PostgreSQL runs as one implicit transaction: all of it is kept, or,
//! on an error, none.
//!
//! A stop: the statement ends by dividing by one only if every write that must change a row
//! changed exactly one, else by zero, and the error undoes the whole statement. Which write
//! stopped is then found by running the batch again as a transaction
//! ([`crate::write::run_until_stop`]), the one place that decides it. A stop is the rare
//! path (a replay, a race); it costs one statement more.
//!
//! Not every batch can be one statement: the parts of a `WITH` all read the snapshot taken
//! before any of them ran, and the order they run in is not defined. A batch goes this way
//! only if [`independent`]: inserts and updates (a delete might cascade into a table another
//! write fills), each into a table of its own that no other write's statement names. Any
//! other batch runs as a transaction, as before. Foreign keys are checked at the end of the
//! statement, so a write may refer to a row another write of the batch inserts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::bulk::Param;
use crate::lean_pool::LeanPool;
use crate::one_trip::renumber;
use crate::write::Write;
use crate::{Result, StoreError};

/// The errors after which the batch runs again as a transaction (each undid the whole
/// statement): `division_by_zero`, how [`statement`] says a write stopped the batch; and a
/// deadlock or a serialization failure, which the parts of one statement, taking their locks
/// in an order PostgreSQL does not define, may meet where the writes in order would have
/// waited and stopped.
const FALL_BACK: [&str; 3] = ["22012", "40P01", "40001"];

/// How the one statement ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ran {
    /// Every write committed.
    Committed,
    /// Nothing was kept: a write that must change a row did not, or the parts met a
    /// deadlock. The batch is to run as a transaction.
    Undone,
}

/// Runs `writes` as one statement on a connection of `pool`, if they are [`independent`];
/// `None` if they are not (nothing was run, no connection taken).
pub(crate) async fn run(pool: &LeanPool, writes: &[(Write, bool)]) -> Option<Result<Ran>> {
    let (sql, params) = statement(writes)?;
    Some(match pool.execute(&sql, &params).await {
        Ok(_) => Ok(Ran::Committed),
        Err(sqlx::Error::Database(e))
            if e.code().is_some_and(|c| FALL_BACK.contains(&c.as_ref())) =>
        {
            Ok(Ran::Undone)
        }
        Err(e) => Err(StoreError::from(e)),
    })
}

/// The one statement and its values, if the writes may be one.
fn statement(writes: &[(Write, bool)]) -> Option<(Arc<str>, Vec<Param>)> {
    let sql = shaped(writes)?;
    Some((
        sql,
        writes.iter().flat_map(|(w, _)| w.params.clone()).collect(),
    ))
}

/// A batch's shape: each write's statement (the store's own, `'static`: its address and
/// length name its text), whether it must change a row, and how many values it has.
type Shape = Vec<(usize, usize, bool, usize)>;

/// Shapes kept at most: the store's batches are a few dozen.
const SHAPES_KEPT: usize = 256;

/// [`text`] of `writes`, built once per [`Shape`]: the checks and the renumbering scan every
/// statement's text, which on a sign-in was half a percent of the machine, for the same answer
/// each time.
fn shaped(writes: &[(Write, bool)]) -> Option<Arc<str>> {
    static SHAPES: OnceLock<Mutex<HashMap<Shape, Option<Arc<str>>>>> = OnceLock::new();
    let shape: Shape = writes
        .iter()
        .map(|(w, must)| (w.sql.as_ptr() as usize, w.sql.len(), *must, w.params.len()))
        .collect();
    // Nothing panics holding the lock; were it poisoned, the map is still whole.
    let shapes = || {
        SHAPES
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    };
    if let Some(known) = shapes().get(&shape) {
        return known.clone();
    }
    let built: Option<Arc<str>> = text(writes).map(Arc::from);
    let mut kept = shapes();
    if kept.len() < SHAPES_KEPT {
        kept.insert(shape, built.clone());
    }
    built
}

/// The text of the one statement `writes` make, if they may be one.
fn text(writes: &[(Write, bool)]) -> Option<String> {
    if writes.is_empty() || !independent(writes) {
        return None;
    }
    let mut sql = String::from("WITH ");
    let mut values = 0;
    let mut musts = Vec::new();
    for (i, (w, must)) in writes.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let (renumbered, highest) = renumber(w.sql, values);
        // A write with fewer values than its statement names would take the next write's.
        if highest != values + w.params.len() {
            return None;
        }
        sql.push_str(&format!("w{i} AS ({renumbered} RETURNING 1)"));
        values += w.params.len();
        if *must {
            musts.push(format!("(SELECT count(*) FROM w{i}) = 1"));
        }
    }
    if musts.is_empty() {
        sql.push_str(" SELECT 1");
    } else {
        sql.push_str(&format!(
            " SELECT 1 / (CASE WHEN {} THEN 1 ELSE 0 END)",
            musts.join(" AND ")
        ));
    }
    Some(sql)
}

/// Whether `writes` give the same result as one statement as they do one after another: each
/// an insert or an update of a table no other write touches or names, none with a
/// `RETURNING` of its own (or a `WITH` before it: the statement must begin `INSERT` or
/// `UPDATE`).
fn independent(writes: &[(Write, bool)]) -> bool {
    let Some(targets) = writes
        .iter()
        .map(|(w, _)| target(w.sql))
        .collect::<Option<Vec<&str>>>()
    else {
        return false;
    };
    writes.iter().enumerate().all(|(i, (w, _))| {
        !names(w.sql, "RETURNING")
            && targets
                .iter()
                .enumerate()
                .all(|(j, t)| i == j || !names(w.sql, t))
    })
}

/// The table an `INSERT INTO t` or `UPDATE t` writes; `None` for any other statement.
fn target(sql: &str) -> Option<&str> {
    let mut words = sql.split_whitespace();
    let first = words.next()?;
    let table = if first.eq_ignore_ascii_case("INSERT") {
        words.next().filter(|w| w.eq_ignore_ascii_case("INTO"))?;
        words.next()?
    } else if first.eq_ignore_ascii_case("UPDATE") {
        words.next()?
    } else {
        return None;
    };
    let table = table.split('(').next().unwrap_or(table);
    (!table.is_empty() && table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(table)
}

/// Whether `sql` has `word` as a whole word (letters, digits and `_`), in any case.
fn names(sql: &str, word: &str) -> bool {
    sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|w| w.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(sql: &'static str, params: Vec<Param>) -> Write {
        Write::new(sql, params)
    }

    #[test]
    fn the_writes_become_the_parts_of_one_statement_which_divides_by_zero_on_a_stop() {
        let writes = vec![
            (
                w(
                    "INSERT INTO spent (id) VALUES ($1) ON CONFLICT (id) DO NOTHING",
                    vec![Param::Text("c".into())],
                ),
                true,
            ),
            (
                w(
                    "INSERT INTO log (id, at) VALUES ($1, $2)",
                    vec![Param::Text("l".into()), Param::Int(7)],
                ),
                false,
            ),
            (
                w(
                    "UPDATE keys SET n = $1 WHERE id = $2 AND n = $3",
                    vec![Param::Int(2), Param::Text("k".into()), Param::Int(1)],
                ),
                true,
            ),
        ];
        let (sql, params) = statement(&writes).unwrap();
        assert_eq!(
            &*sql,
            "WITH w0 AS (INSERT INTO spent (id) VALUES ($1) ON CONFLICT (id) DO NOTHING RETURNING 1), \
             w1 AS (INSERT INTO log (id, at) VALUES ($2, $3) RETURNING 1), \
             w2 AS (UPDATE keys SET n = $4 WHERE id = $5 AND n = $6 RETURNING 1) \
             SELECT 1 / (CASE WHEN (SELECT count(*) FROM w0) = 1 AND (SELECT count(*) FROM w2) = 1 THEN 1 ELSE 0 END)"
        );
        assert_eq!(
            params,
            [
                Param::Text("c".into()),
                Param::Text("l".into()),
                Param::Int(7),
                Param::Int(2),
                Param::Text("k".into()),
                Param::Int(1),
            ]
        );
        // Built once per shape: the same batch with other values reuses the text.
        let mut other = writes.clone();
        other[1].0.params = vec![Param::Text("m".into()), Param::Int(8)];
        let (again, params) = statement(&other).unwrap();
        assert!(Arc::ptr_eq(&sql, &again), "{again}");
        assert_eq!(params[1..3], [Param::Text("m".into()), Param::Int(8)]);
        // What must change a row and how many values are part of the shape: the same
        // statements otherwise make another text, or none.
        let mut loose = writes.clone();
        loose[0].1 = false;
        let (sql_loose, _) = statement(&loose).unwrap();
        assert!(!sql_loose.contains("FROM w0)"), "{sql_loose}");
        let mut short = writes.clone();
        short[1].0.params.pop();
        assert!(statement(&short).is_none());
        assert!(statement(&short).is_none(), "a refused shape stays refused");
        let (sql, _) = statement(&writes[1..2]).unwrap();
        assert!(sql.ends_with(" SELECT 1"), "{sql}");
    }

    /// Only writes that cannot see or touch each other's rows go in one statement.
    #[test]
    fn writes_that_depend_on_each_other_are_not_one_statement() {
        let ins = |sql| (w(sql, vec![]), false);
        // Two writes of one table: the second would not see the first's row.
        assert!(statement(&[
            ins("INSERT INTO t (k) VALUES ('a')"),
            ins("UPDATE t SET k = 'b' WHERE k = 'a'"),
        ])
        .is_none());
        // A write that reads a table another writes.
        assert!(statement(&[
            ins("INSERT INTO codes (k) VALUES ('a')"),
            ins("UPDATE grants SET n = 1 WHERE id IN (SELECT g FROM Codes)"),
        ])
        .is_none());
        // A delete (it may cascade), a statement of another kind, one with its own RETURNING.
        assert!(statement(&[ins("DELETE FROM t WHERE k = 'a'")]).is_none());
        assert!(statement(&[ins("SELECT 1")]).is_none());
        assert!(statement(&[ins("INSERT INTO t (k) VALUES ('a') RETURNING k")]).is_none());
        assert!(statement(&[ins("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x")]).is_none());
        // A name that is only part of another word is not the table.
        assert!(statement(&[
            ins("INSERT INTO passkeys (k) VALUES ('a')"),
            ins("INSERT INTO passkeys_log (k) VALUES ('b')"),
        ])
        .is_some());
        // A write with fewer values than its statement names (it would take the next's).
        assert!(statement(&[
            (
                w("INSERT INTO a (k, v) VALUES ($1, $2)", vec![Param::Int(1)]),
                false
            ),
            (
                w("INSERT INTO b (k) VALUES ($1)", vec![Param::Int(2)]),
                false
            ),
        ])
        .is_none());
        assert_eq!(target("INSERT INTO t(k) VALUES (1)"), Some("t"));
        assert_eq!(target("update  users SET a = 1"), Some("users"));
        assert_eq!(target("INSERT t VALUES (1)"), None);
    }
}
