//! PostgreSQL connections for the statements of a sign-in (issue 18): a sign-in's reads
//! ([`crate::one_trip`]) and its batch of writes ([`crate::one_statement`]) are one statement
//! each. sqlx's pool pings every connection it takes back (a `Sync` and its answer: a round
//! trip, and a wake-up of both processes), so each of those statements cost two round trips;
//! with two nodes and `fsync` on, that second trip was an eighth of the rate.
//!
//! Here a connection is checked before it is handed out only when it sat idle over
//! [`crate::PING_AFTER_IDLE`], or when a connection broke in the last [`SUSPECT_FOR`]: when
//! PostgreSQL restarts or drops its sessions, the pool's idle connections are dead however
//! recently they were used, and the first failure makes the pools (this one and sqlx's)
//! check every connection for a while. A connection that broke is closed, not taken back,
//! and a read that met one is run once more on another (a read may be repeated; a write may
//! have committed before the socket failed, and is not). A statement begun and abandoned (its
//! request cancelled) is not a hazard: sqlx reads what is left of the last answer before it
//! sends the next statement, and these statements hold no transaction open between them.
//!
//! The pool is [`deadpool`]'s; it waits at most as long as the sqlx pool does for a
//! connection.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use deadpool::managed::{self, Metrics, Object, PoolError, RecycleResult};
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
        if check_first(m.last_used()) {
            c.ping().await?;
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
            .wait_timeout(Some(wait))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map(LeanPool)
            .map_err(|e| StoreError::Unsupported(format!("cannot build the connection pool: {e}")))
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
        let mut c = self.get().await?;
        let mut q = sqlx::query(sql);
        for p in params {
            q = p.bind(q);
        }
        let out = q.fetch_all(&mut *c).await;
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
        let mut c = self.get().await?;
        let mut q = sqlx::query(sql);
        for p in params {
            q = p.bind(q);
        }
        let out = q.execute(&mut *c).await;
        settle(c, &out);
        out
    }

    async fn get(&self) -> std::result::Result<Lent, sqlx::Error> {
        self.0.get().await.map_err(|e| match e {
            PoolError::Backend(e) => e,
            PoolError::Timeout(_) => sqlx::Error::PoolTimedOut,
            PoolError::Closed => sqlx::Error::PoolClosed,
            other => sqlx::Error::Protocol(format!("connection pool: {other}")),
        })
    }

    /// Closes the idle connections and refuses new ones.
    pub(crate) fn close(&self) {
        self.0.close();
    }
}

/// Closes `c` rather than take it back if `out` says it broke.
fn settle<T>(c: Lent, out: &std::result::Result<T, sqlx::Error>) {
    if out.as_ref().is_err_and(breaks_connection) {
        note_broken();
        drop(Object::take(c));
    }
}

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
/// ended the session (SQLSTATE class 08, connection exception; 57P01–57P03, shutdown).
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
