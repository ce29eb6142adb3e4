//! Persistence for Portcullis.
//!
//! One set of SQL statements serves SQLite and PostgreSQL through sqlx's `Any`
//! driver: placeholders are `$n` (both accept them), ids are UUID text, times are
//! BIGINT milliseconds. Every function takes a connection, so a caller can group
//! a change and its audit entry in one transaction.

pub mod adoption;
pub mod applications;
pub mod audit;
pub mod backup;
pub mod bulk;
pub mod campaign;
pub mod ceremonies;
mod checkpoint;
pub mod conditional_access;
pub mod decision_reads;
pub mod devices;
pub mod directory;
pub mod forwarders;
mod group_commit;
pub mod inventory;
pub mod keys;
mod lean_pool;
pub mod lockout;
pub mod metadata;
pub mod oath;
pub mod oauth;
mod one_statement;
mod one_trip;
pub mod passkeys;
pub mod passwords;
pub mod policy;
pub mod push;
pub mod sessions;
pub mod sign_in_reads;
pub mod signins;
pub mod tap;
pub mod tenant;
pub mod token_reads;
pub mod write;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Connection, Executor, Transaction};
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use sqlx::Any;

/// A database connection, pooled or inside a transaction.
pub type Conn = AnyConnection;

/// An open transaction. On SQLite it also holds this process's write gate (see
/// [`Store::begin`]) until it commits or is dropped.
pub struct Tx {
    tx: Transaction<'static, Any>,
    _gate: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl std::ops::Deref for Tx {
    type Target = Transaction<'static, Any>;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// How long a transaction waits for the write gate: as long as SQLite's busy timeout.
pub(crate) const WRITE_WAIT: Duration = Duration::from_secs(10);

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded, a file in the data directory.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no supported database.
    #[error("unsupported database URL '{0}': use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    /// The database answered with an error.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// Text the database cannot hold: PostgreSQL refuses the NUL character in text (SQLite
    /// would keep it). A client's input, never a failure of the store.
    #[error("Text may not contain the NUL character (U+0000).")]
    NulInText,
    /// SQLite answered the bulk reader or the group committer with an error.
    #[error("database error: {0}")]
    Read(#[from] rusqlite::Error),
    /// A group commit failed: nothing of the batches in it was kept.
    #[error("database error: a group commit failed: {0}")]
    Commit(String),
    /// The thread running a bulk read stopped before it answered.
    #[error("a database read stopped: {0}")]
    Reader(#[from] tokio::task::JoinError),
    /// A transaction waited longer than its limit for another to finish.
    #[error("the database is busy: a write waited over {0:?} for others to finish")]
    Busy(Duration),
    /// Migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The PostgreSQL connection pool could not be set up.
    #[error("cannot set up the connection pool: {0}")]
    Pool(#[from] deadpool::managed::BuildError),
    /// What was asked is not done on this database, or not like that.
    #[error("{0}")]
    Unsupported(String),
    /// A stored value does not parse; the database was changed outside Portcullis.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The data directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        /// Directory.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if lean_pool::breaks_connection(&e) {
            lean_pool::note_broken();
        }
        // SQLSTATE 22021, character_not_in_repertoire: PostgreSQL's answer to a NUL in text.
        let nul = e
            .as_database_error()
            .and_then(|d| d.code())
            .is_some_and(|c| c == "22021");
        if nul {
            StoreError::NulInText
        } else {
            StoreError::Database(e)
        }
    }
}

impl StoreError {
    /// Whether the error is a uniqueness violation (a concurrent insert won).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => e.is_unique_violation(),
            // A batch's statement, run by the SQLite group committer.
            StoreError::Read(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ),
            _ => false,
        }
    }
}

/// Result alias.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A PostgreSQL connection idle longer than this is pinged before it is handed out.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// PostgreSQL connections of each pool: the sqlx pool's, and the lean pool's
/// ([`lean_pool`]) for the reader and batches as one statement.
const POSTGRES_CONNECTIONS: usize = 16;

/// How long a request waits for a connection.
const ACQUIRE_WAIT: Duration = Duration::from_secs(30);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How hard SQLite works to keep a commit (PostgreSQL keeps its own settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Every commit is fsynced before it is acknowledged: survives power loss.
    #[default]
    Full,
    /// WAL commits reach the OS before they are acknowledged and are fsynced at
    /// checkpoints (every 40 MB of log): survives a crash of the process (`kill -9`), not a
    /// power loss.
    Normal,
}

/// The store: a connection pool and the backend it talks to.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    reader: bulk::Reader,
    /// SQLite has one writer: this process's transactions queue here, asynchronously,
    /// rather than in SQLite's busy handler, which sleeps the connection's thread (1 ms,
    /// then longer) and left the CPU idle under load (issue 18's profile).
    write_gate: Arc<tokio::sync::Mutex<()>>,
    /// On a SQLite file: the committer that runs batches together ([`group_commit`]).
    group: Option<group_commit::GroupCommit>,
    /// On PostgreSQL: the connections of the reader and of batches as one statement.
    lean: Option<lean_pool::LeanPool>,
    /// Batches committed elsewhere: as one statement ([`one_statement`]), in a transaction.
    one_statement: Arc<AtomicU64>,
    in_transaction: Arc<AtomicU64>,
}

/// How the batches committed since the store opened were committed (`/metrics`): on SQLite
/// in groups (fewer groups than batches is commits shared), on PostgreSQL each as one
/// statement or, when its writes depend on each other or it stopped, in a transaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchCounts {
    /// Batches the SQLite group committer took.
    pub in_groups: u64,
    /// The transactions (commits) it took them in.
    pub groups: u64,
    /// Batches committed as one statement.
    pub as_one_statement: u64,
    /// Batches committed in a transaction of their own.
    pub in_transaction: u64,
}

/// The default SQLite URL for a data directory.
pub fn sqlite_url_for(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("portcullis.db").display())
}

impl Store {
    /// Opens (creating if needed) the database at `url` and applies pending migrations,
    /// with SQLite commits fsynced (`synchronous = FULL`).
    pub async fn open(url: &str) -> Result<Self> {
        Self::open_with(url, Durability::Full).await
    }

    /// Like [`Store::open`], choosing SQLite's durability.
    pub async fn open_with(url: &str, durability: Durability) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_string()));
        };
        let (url, sqlite_path) = match backend {
            Backend::Sqlite => {
                let url = if url.contains('?') {
                    url.to_string()
                } else {
                    format!("{url}?mode=rwc")
                };
                // The file sqlx opens (its filename percent-decoded): its directory is made
                // here, and the bulk reader and the group committer open the same file.
                let o = sqlx::sqlite::SqliteConnectOptions::from_str(&url)?;
                let file = o.get_filename();
                // An in-memory database has no file they could open (and sqlx names
                // `sqlite::memory:` `file:sqlx-in-memory-N`): refused, rather than reads and
                // writes that would silently go elsewhere.
                let in_memory = file == Path::new(":memory:")
                    || file.to_string_lossy().starts_with("file:sqlx-in-memory")
                    || url
                        .split_once('?')
                        .is_some_and(|(_, q)| q.split('&').any(|kv| kv == "mode=memory"));
                if in_memory {
                    return Err(StoreError::Unsupported(
                        "an in-memory SQLite database is not supported: Portcullis reads and commits through connections of its own to the database file; give a file (sqlite://PATH)".into(),
                    ));
                }
                if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
                        path: dir.display().to_string(),
                        source,
                    })?;
                }
                (url, Some(file.to_path_buf()))
            }
            Backend::Postgres => (url.to_string(), None),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool_options = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 2,
                Backend::Postgres => POSTGRES_CONNECTIONS as u32,
            })
            .acquire_timeout(ACQUIRE_WAIT)
            // A file's connection does not go stale, and the ping sqlx sends before handing
            // one out is a round trip to its worker thread on every acquire (issue 18's
            // profile: context switches were a quarter of a sign-in's time). A PostgreSQL
            // connection can be dropped by the server, so one that sat idle is checked
            // first, and every one for a while after one broke (a restart of PostgreSQL
            // kills them all, idle or not: see src/lean_pool.rs); one back in the pool a
            // moment ago answered just now, and pinging it too was a round trip on every
            // acquire (with `fsync` on, a tenth of two nodes' rate).
            .test_before_acquire(false)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the one writer; FULL makes every
                        // acknowledged commit durable; the busy timeout queues writers
                        // instead of failing them; foreign keys are off by default in SQLite.
                        let sync = group_commit::synchronous(durability);
                        // Checkpoints are the committer's checkpointer's (src/checkpoint.rs);
                        // a connection of the pool makes one only if it has fallen far behind.
                        let backstop = checkpoint::BACKSTOP_PAGES;
                        conn.execute(format!("PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = {backstop}; PRAGMA journal_size_limit = {};", checkpoint::CHECKPOINT_BYTES).as_str()).await?;
                    }
                    Ok(())
                })
            });
        let pool = match backend {
            Backend::Postgres => pool_options.before_acquire(|conn, meta| {
                Box::pin(async move {
                    if lean_pool::check_first(meta.idle_for) {
                        conn.ping()
                            .await
                            .inspect_err(|_| lean_pool::note_broken())?;
                    }
                    Ok(true)
                })
            }),
            Backend::Sqlite => pool_options,
        }
        .connect_with(options.clone())
        .await?;
        MIGRATOR.run(&pool).await?;
        let write_gate: Arc<tokio::sync::Mutex<()>> = Arc::default();
        let group = match &sqlite_path {
            Some(path) => Some(group_commit::GroupCommit::start(
                path,
                durability,
                write_gate.clone(),
            )?),
            None => None,
        };
        let (reader, lean) = match sqlite_path {
            Some(path) => (bulk::Reader::sqlite(path), None),
            None => {
                let lean = lean_pool::LeanPool::new(options, POSTGRES_CONNECTIONS, ACQUIRE_WAIT)?;
                (bulk::Reader::postgres(lean.clone()), Some(lean))
            }
        };
        Ok(Store {
            pool,
            backend,
            reader,
            write_gate,
            group,
            lean,
            one_statement: Arc::default(),
            in_transaction: Arc::default(),
        })
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for single statements.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The reader for bulk reads (see [`bulk`]).
    pub fn reader(&self) -> &bulk::Reader {
        &self.reader
    }

    /// A connection from the pool.
    pub async fn conn(&self) -> Result<sqlx::pool::PoolConnection<Any>> {
        Ok(self.pool.acquire().await?)
    }

    /// Begins a transaction. On SQLite it first takes this process's write gate, then the
    /// write lock at once (BEGIN IMMEDIATE) so read-then-write transactions never fail
    /// half-way on a lock upgrade; other processes on the same file (the CLI) still meet
    /// SQLite's busy timeout. A transaction that waits over 10 s for the gate fails, as one
    /// that met SQLite's busy timeout does.
    pub async fn begin(&self) -> Result<Tx> {
        match self.backend {
            Backend::Sqlite => {
                let gate = tokio::time::timeout(WRITE_WAIT, self.write_gate.clone().lock_owned())
                    .await
                    .map_err(|_| StoreError::Busy(WRITE_WAIT))?;
                let conn = self.pool.acquire().await?;
                Ok(Tx {
                    tx: Transaction::begin(conn, Some("BEGIN IMMEDIATE".into())).await?,
                    _gate: Some(gate),
                })
            }
            Backend::Postgres => Ok(Tx {
                tx: self.pool.begin().await?,
                _gate: None,
            }),
        }
    }

    /// Commits `batch` — on a SQLite file together with the batches of other requests
    /// waiting at the same moment ([`group_commit`]); on PostgreSQL as one statement
    /// ([`one_statement`]) if its writes touch separate tables, else (and to find where a
    /// stop was) in a transaction of its own — and answers once it is durable, or says which
    /// stop it met (nothing then was kept).
    ///
    /// Never while holding a [`Tx`] or a connection of the pool: on SQLite the committer
    /// waits for the write gate, which a transaction holds, and whose holder may be waiting
    /// for a connection (it gives up after 10 s with [`StoreError::Busy`]).
    pub async fn commit_batch<S>(&self, batch: write::Batch<S>) -> Result<write::Outcome<S>> {
        let (writes, stops) = batch.split();
        let stopped_at = match &self.group {
            Some(g) => g.commit(writes).await?,
            None => {
                if let Some(lean) = &self.lean {
                    match one_statement::run(lean, &writes).await {
                        Some(Ok(one_statement::Ran::Committed)) => {
                            self.one_statement.fetch_add(1, Ordering::Relaxed);
                            return write::Batch::outcome(None, stops);
                        }
                        Some(Err(e)) => return Err(e),
                        // A stop (or a deadlock): the transaction below finds which write
                        // stopped, if one did.
                        Some(Ok(one_statement::Ran::Undone)) | None => {}
                    }
                }
                let mut tx = self.begin().await?;
                let at = write::run_until_stop(&mut tx, &writes).await?;
                if at.is_none() {
                    commit(tx).await?;
                    self.in_transaction.fetch_add(1, Ordering::Relaxed);
                }
                at
            }
        };
        write::Batch::outcome(stopped_at, stops)
    }

    /// How the batches committed so far were committed.
    pub fn batch_counts(&self) -> BatchCounts {
        let (in_groups, groups) = self
            .group
            .as_ref()
            .map_or((0, 0), group_commit::GroupCommit::counts);
        BatchCounts {
            in_groups,
            groups,
            as_one_statement: self.one_statement.load(Ordering::Relaxed),
            in_transaction: self.in_transaction.load(Ordering::Relaxed),
        }
    }

    /// Closes every connection, the bulk reader's too.
    pub async fn close(&self) {
        if let Some(g) = &self.group {
            g.stop().await;
        }
        self.pool.close().await;
        self.reader.close();
    }

    /// Connections the pools hold open (on PostgreSQL the sqlx pool's and the lean pool's),
    /// and how many of them are idle.
    pub fn pool_stats(&self) -> (u32, usize) {
        let (lean, lean_idle) = self
            .lean
            .as_ref()
            .map_or((0, 0), lean_pool::LeanPool::stats);
        (
            self.pool
                .size()
                .saturating_add(u32::try_from(lean).unwrap_or(u32::MAX)),
            self.pool.num_idle().saturating_add(lean_idle),
        )
    }

    /// Whether every migration this build knows has been applied (a node of a newer build on
    /// an older database is not ready; an older node beside a newer one, in a rolling
    /// upgrade, still is).
    pub async fn migrations_applied(&self) -> Result<bool> {
        let known = i64::try_from(MIGRATOR.iter().count()).unwrap_or(i64::MAX);
        let applied: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&self.pool)
                .await?;
        Ok(applied >= known)
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> Result<()> {
        let mut c = self.pool.acquire().await?;
        c.ping().await?;
        Ok(())
    }
}

/// Commits a transaction.
pub async fn commit(tx: Tx) -> Result<()> {
    tx.tx.commit().await?;
    Ok(())
}

/// Helpers for decoding rows.
pub(crate) mod row {
    use super::{Result, StoreError};
    use crate::bulk::Cells;
    use portcullis_domain::{time_fmt, Timestamp};
    use uuid::Uuid;

    pub fn uuid<R: Cells + ?Sized>(r: &R, col: &str) -> Result<Uuid> {
        let s = r.text(col)?;
        Uuid::parse_str(&s).map_err(|_| StoreError::Corrupt(format!("{col} = '{s}' is not a UUID")))
    }

    pub fn ts<R: Cells + ?Sized>(r: &R, col: &str) -> Result<Timestamp> {
        let ms = r.int(col)?;
        Ok(time_fmt::from_millis(ms))
    }

    pub fn opt_ts<R: Cells + ?Sized>(r: &R, col: &str) -> Result<Option<Timestamp>> {
        let ms = r.opt_int(col)?;
        Ok(ms.map(time_fmt::from_millis))
    }

    /// Flags are BIGINT 0/1 on both backends.
    pub fn flag<R: Cells + ?Sized>(r: &R, col: &str) -> Result<bool> {
        let v = r.int(col)?;
        Ok(v != 0)
    }

    pub fn ms(t: Timestamp) -> i64 {
        time_fmt::to_millis(t)
    }
}
