//! PostgreSQL connections for the statements of a sign-in (issue 18): a sign-in's reads
//! ([`crate::one_trip`]) and its batch of writes ([`crate::one_statement`]) are one statement
//! each. sqlx's pool pings every connection it takes back (a `Sync` and its answer: a round
//! trip, and a wake-up of both processes), so each of those statements cost two round trips;
//! with two nodes and `fsync` on, that second trip was an eighth of the rate.
//!
//! Here a connection is checked before it is handed out only when it was last handed out
//! over [`crate::PING_AFTER_IDLE`] ago, or when a connection broke in the last
//! [`SUSPECT_FOR`]: when PostgreSQL restarts or drops its sessions, the pool's idle
//! connections are dead however recently they were used, and the first failure makes the
//! pools (this one and sqlx's) check every connection for a while. A connection that broke is closed, not taken back,
//! and a read that met one is run once more on another (a read may be repeated; a write may
//! have committed before the socket failed, and is not). A connection whose statement was
//! abandoned (its request cancelled, say by a client that went away) is closed too: what was
//! left of its answer — an error, perhaps — would otherwise be read as the next statement's,
//! and a message cut off half-way could leave a statement waiting on the server. sqlx's own
//! pool pings a connection it takes back to the same end. The most recently returned
//! connection is handed out first, so a quiet server keeps a few connections in use rather
//! than all of them idle long enough to be pinged; one older than [`MOST_AGE`] is replaced.
//!
//! The pool is [`deadpool`]'s. A request waits at most [`crate::ACQUIRE_WAIT`] for a
//! connection, as long again for a new one to open, and [`CHECK_WAIT`] for a check.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use deadpool::managed::{self, Metrics, Object, PoolError, QueueMode, RecycleError, RecycleResult};
use sqlx::any::{AnyConnectOptions, AnyQueryResult, AnyRow};
use sqlx::{AnyConnection, Connection};

use crate::bulk::Param;
use crate::{Result, StoreError};

/// Opens and checks connections.
#[derive(Debug)]
pub(crate) struct Connector {
    options: AnyConnectOptions,
}

impl managed::Manager for Connector {
    type Type = AnyConnection;
    type Error = sqlx::Error;

    async fn create(&self) -> std::result::Result<AnyConnection, sqlx::Error> {
        AnyConnection::connect_with(&self.options).await
    }

    async fn recycle(&self, c: &mut AnyConnection, m: &Metrics) -> RecycleResult<sqlx::Error> {
        if m.age() > MOST_AGE {
            return Err(RecycleError::message("replaced: open for half an hour"));
        }
        if check_first(m.last_used()) {
            c.ping().await.inspect_err(|_| note_broken())?;
        }
        Ok(())
    }
}

/// The pool.
#[derive(Clone, Debug)]
pub(crate) struct LeanPool(managed::Pool<Connector>);

/// A connection of the pool.
pub(crate) type Lent = Object<Connector>;

impl LeanPool {
    /// Up to `size` connections to what `options` name, opened when first needed.
    pub(crate) fn new(options: AnyConnectOptions, size: usize, wait: Duration) -> Result<Self> {
        managed::Pool::builder(Connector { options })
            .max_size(size)
            .queue_mode(QueueMode::Lifo)
            .wait_timeout(Some(wait))
            .create_timeout(Some(wait))
            .recycle_timeout(Some(CHECK_WAIT))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map(LeanPool)
            .map_err(StoreError::from)
    }

    /// The rows `sql` selects with `params`; run once more, on another connection, if the
    /// first broke.
    pub(crate) async fn rows(
        &self,
        sql: &str,
        params: &[Param],
    ) -> std::result::Result<Vec<AnyRow>, sqlx::Error> {
        match self.rows_once(sql, params).await {
            Err(e) if breaks_connection(&e) => self.rows_once(sql, params).await,
            out => out,
        }
    }

    async fn rows_once(
        &self,
        sql: &str,
        params: &[Param],
    ) -> std::result::Result<Vec<AnyRow>, sqlx::Error> {
        let mut c = Busy(Some(self.get().await?));
        let out = match c.0.as_mut() {
            Some(conn) => bound(sql, params).fetch_all(&mut **conn).await,
            None => Err(sqlx::Error::PoolClosed),
        };
        settle(c, &out);
        out
    }

    /// Runs the write `sql` with `params`, once: it may have committed before a connection
    /// broke.
    pub(crate) async fn execute(
        &self,
        sql: &str,
        params: &[Param],
    ) -> std::result::Result<AnyQueryResult, sqlx::Error> {
        let mut c = Busy(Some(self.get().await?));
        let out = match c.0.as_mut() {
            Some(conn) => bound(sql, params).execute(&mut **conn).await,
            None => Err(sqlx::Error::PoolClosed),
        };
        settle(c, &out);
        out
    }

    async fn get(&self) -> std::result::Result<Lent, sqlx::Error> {
        self.0.get().await.map_err(|e| match e {
            PoolError::Backend(e) => e,
            PoolError::Timeout(_) => sqlx::Error::PoolTimedOut,
            PoolError::Closed => sqlx::Error::PoolClosed,
            other => sqlx::Error::Configuration(other.to_string().into()),
        })
    }

    /// Connections open, and how many of them wait idle.
    pub(crate) fn stats(&self) -> (usize, usize) {
        let s = self.0.status();
        (s.size, s.available)
    }

    /// Closes the idle connections and refuses new ones.
    pub(crate) fn close(&self) {
        self.0.close();
    }
}

/// `sql` with `params` bound to `$1`, `$2`…
fn bound<'q>(
    sql: &'q str,
    params: &[Param],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    params.iter().fold(sqlx::query(sql), |q, p| p.bind(q))
}

/// A connection while its statement runs: dropped before [`settle`] (the request was
/// cancelled), it is closed, not taken back.
struct Busy(Option<Lent>);

impl Drop for Busy {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            drop(Object::take(c));
        }
    }
}

/// Takes the connection back once its statement finished, or closes it if `out` says it
/// broke.
fn settle<T>(mut c: Busy, out: &std::result::Result<T, sqlx::Error>) {
    let Some(lent) = c.0.take() else { return };
    if out.as_ref().is_err_and(breaks_connection) {
        note_broken();
        drop(Object::take(lent));
    }
}

/// How long a check of a connection may take before another is tried.
const CHECK_WAIT: Duration = Duration::from_secs(5);

/// How long a connection serves before it is replaced (as sqlx's pool does, by default).
const MOST_AGE: Duration = Duration::from_secs(30 * 60);

/// How long after a connection broke every connection is checked before use.
pub(crate) const SUSPECT_FOR: Duration = Duration::from_secs(10);

/// When a connection last broke: milliseconds after [`epoch`], plus one (0: never).
static BROKE_AT: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn since_epoch() -> u64 {
    u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Whether `e` says the connection is gone: the socket or the protocol failed, or PostgreSQL
/// ended the session (SQLSTATE class 08, connection exception; 57P0x: an administrator, a
/// crash or a shutdown ended it).
pub(crate) fn breaks_connection(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P0")),
        _ => false,
    }
}

/// Remembers that a connection broke: for [`SUSPECT_FOR`], every connection is checked.
pub(crate) fn note_broken() {
    BROKE_AT.store(since_epoch().saturating_add(1), Ordering::Relaxed);
}

/// Whether a connection idle for `idle` is checked before it is handed out.
pub(crate) fn check_first(idle: Duration) -> bool {
    let broke = BROKE_AT.load(Ordering::Relaxed);
    let suspect = broke != 0
        && since_epoch().saturating_sub(broke.saturating_sub(1))
            < u64::try_from(SUSPECT_FOR.as_millis()).unwrap_or(u64::MAX);
    idle > crate::PING_AFTER_IDLE || suspect
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    /// A request cancelled while its statement runs (a client that went away) leaves nothing
    /// to the next statement on that connection: not its error.
    #[tokio::test]
    async fn a_statement_abandoned_half_way_leaves_nothing_to_the_next() {
        let db = portcullis_testkit::fresh_postgres_url().await;
        sqlx::any::install_default_drivers();
        let options = AnyConnectOptions::from_str(&db).unwrap();
        // One connection, so the next statement would get the abandoned one's.
        let pool = LeanPool::new(options, 1, Duration::from_secs(10)).unwrap();
        pool.rows("SELECT 1", &[]).await.unwrap();
        // Fails with division_by_zero once it has slept (pg_sleep returns void: '' as text).
        let slow_failure = "SELECT 1 / length(pg_sleep(0.3)::text)";
        let abandoned =
            tokio::time::timeout(Duration::from_millis(100), pool.rows(slow_failure, &[])).await;
        assert!(abandoned.is_err(), "the statement was to be abandoned");
        let next = pool.rows("SELECT $1::BIGINT AS n", &[Param::Int(7)]).await;
        assert_eq!(next.map(|rows| rows.len()).ok(), Some(1));
    }
}
