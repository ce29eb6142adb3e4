//! Writes as values: a statement and its parameters, built by the module that owns the table
//! and run by whoever commits — the SQLite group committer ([`crate::group_commit`]), which
//! runs the writes of many requests in one transaction and one fsync; on PostgreSQL one
//! statement whose parts are a batch's writes ([`crate::one_statement`]), when they touch
//! separate tables; else a transaction of the pool. Each write's statement text is the
//! same whichever runs it (on PostgreSQL, a part of the one statement).
//!
//! A [`Batch`] is all or nothing: a write that must change a row and changes none stops it,
//! nothing of it is kept, and the caller is told which stop it met.

use crate::bulk::Param;
use crate::{Conn, Result, StoreError};

/// One statement with its parameters (`$1`, `$2`… by number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub(crate) sql: &'static str,
    pub(crate) params: Vec<Param>,
}

impl Write {
    pub(crate) fn new(sql: &'static str, params: Vec<Param>) -> Write {
        Write { sql, params }
    }

    /// Runs it on `c`; how many rows it changed.
    pub(crate) async fn run(&self, c: &mut Conn) -> Result<u64> {
        let mut q = sqlx::query(self.sql);
        for p in &self.params {
            q = p.bind(q);
        }
        Ok(q.execute(&mut *c).await?.rows_affected())
    }
}

/// Writes committed together or not at all. `S` is the caller's reason for a stop.
#[derive(Debug)]
pub struct Batch<S> {
    pub(crate) writes: Vec<(Write, Option<S>)>,
}

impl<S> Default for Batch<S> {
    fn default() -> Self {
        Batch { writes: vec![] }
    }
}

impl<S> Batch<S> {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a write.
    pub fn then(mut self, w: Write) -> Self {
        self.writes.push((w, None));
        self
    }

    /// Adds a write that must change exactly one row: if it changes none (a ceremony spent
    /// already, a counter moved by another sign-in), the batch stops there, keeps nothing,
    /// and its outcome is `stop`.
    pub fn must_change(mut self, w: Write, stop: S) -> Self {
        self.writes.push((w, Some(stop)));
        self
    }

    /// The writes, each with whether it may stop the batch; and the reasons, in order.
    pub(crate) fn split(self) -> (Vec<(Write, bool)>, Vec<Option<S>>) {
        self.writes
            .into_iter()
            .map(|(w, stop)| ((w, stop.is_some()), stop))
            .unzip()
    }

    /// The outcome of a batch that stopped at `stopped_at` (if it did), given its reasons.
    pub(crate) fn outcome(
        stopped_at: Option<usize>,
        mut stops: Vec<Option<S>>,
    ) -> Result<Outcome<S>> {
        match stopped_at {
            None => Ok(Outcome::Committed),
            Some(i) => stops
                .get_mut(i)
                .and_then(Option::take)
                .map(Outcome::Stopped)
                .ok_or_else(|| {
                    StoreError::Commit(format!("write {i} stopped a batch it may not stop"))
                }),
        }
    }
}

/// Whether a write that changed `n` rows stops its batch: one that must change a row, and
/// changed none (or, by a broken condition, several).
pub(crate) fn stops(must: bool, n: u64) -> bool {
    must && n != 1
}

/// Runs `writes` in order on `c` (inside a transaction) until one that may stop the batch
/// does; its index.
pub(crate) async fn run_until_stop(
    c: &mut Conn,
    writes: &[(Write, bool)],
) -> Result<Option<usize>> {
    for (i, (w, must)) in writes.iter().enumerate() {
        if stops(*must, w.run(c).await?) {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// How a batch ended, once it was answered: everything is durable, or nothing was kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<S> {
    /// Every write committed.
    Committed,
    /// A write that had to change a row changed none: nothing was kept.
    Stopped(S),
}
