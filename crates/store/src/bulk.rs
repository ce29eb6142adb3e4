//! Reads in one hand-off: many rows in one statement, for the readiness analysis, the
//! inventory and adoption; and a few statements read together, for a sign-in (issue 18).
//!
//! Through sqlx's SQLite driver every row crosses from the connection's worker thread to the
//! async task through a channel and becomes an `Any` row: measured at 12× the `sqlite3`
//! shell's time for the same rows (BENCHMARKS.md). A [`Reader`] on SQLite instead runs the
//! statement to its end with a read-only connection of its own (WAL lets it read beside the
//! writer) — many rows on a blocking thread, a request's few rows on the calling thread —
//! and hands back the parsed rows once. On PostgreSQL it
//! takes a connection of [`crate::lean_pool`]. Either way a row is parsed by the same
//! function, written against [`Cells`], so a read has one statement and one parser whichever
//! database answers. [`Reader::many`] runs
//! several statements on one connection (on SQLite: in one snapshot, and on the calling
//! thread when it can; see there).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::lean_pool::LeanPool;
use crate::{Result, StoreError};

/// A value bound to a statement's `$n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    /// TEXT.
    Text(String),
    /// BIGINT.
    Int(i64),
    /// NULL where TEXT goes (PostgreSQL types a parameter by what is bound to it).
    NullText,
    /// NULL where a BIGINT goes.
    NullInt,
}

impl Param {
    /// TEXT, or NULL.
    pub fn text_or_null(v: Option<impl Into<String>>) -> Param {
        v.map_or(Param::NullText, |s| Param::Text(s.into()))
    }

    /// BIGINT, or NULL.
    pub fn int_or_null(v: Option<i64>) -> Param {
        v.map_or(Param::NullInt, Param::Int)
    }

    /// Binds it to the next placeholder of a sqlx query.
    pub(crate) fn bind<'q>(
        &self,
        q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        match self {
            Param::Text(s) => q.bind(s.clone()),
            Param::Int(i) => q.bind(*i),
            Param::NullText => q.bind(None::<String>),
            Param::NullInt => q.bind(None::<i64>),
        }
    }
}

/// The cells of one row, by column name, whichever driver read it.
pub trait Cells {
    /// A TEXT cell.
    fn text(&self, col: &str) -> Result<String>;
    /// A TEXT cell that may be NULL.
    fn opt_text(&self, col: &str) -> Result<Option<String>>;
    /// A BIGINT cell.
    fn int(&self, col: &str) -> Result<i64>;
    /// A BIGINT cell that may be NULL.
    fn opt_int(&self, col: &str) -> Result<Option<i64>>;
}

impl Cells for AnyRow {
    fn text(&self, col: &str) -> Result<String> {
        Ok(self.try_get(col)?)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>> {
        Ok(self.try_get(col)?)
    }
    fn int(&self, col: &str) -> Result<i64> {
        Ok(self.try_get(col)?)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        Ok(self.try_get(col)?)
    }
}

/// A row read by the SQLite reader, with its statement's column names.
struct SqliteCells<'a> {
    row: &'a rusqlite::Row<'a>,
    columns: &'a [String],
}

impl SqliteCells<'_> {
    fn get<T: rusqlite::types::FromSql>(&self, col: &str) -> Result<T> {
        // A scan of a score of short names costs less than hashing the name (measured).
        let i = self
            .columns
            .iter()
            .position(|c| c == col)
            .ok_or_else(|| StoreError::Corrupt(format!("no column '{col}' in the result")))?;
        Ok(self.row.get(i)?)
    }
}

impl Cells for SqliteCells<'_> {
    fn text(&self, col: &str) -> Result<String> {
        self.get(col)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>> {
        self.get(col)
    }
    fn int(&self, col: &str) -> Result<i64> {
        self.get(col)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        self.get(col)
    }
}

/// Parses one row.
pub type Parse<T> = fn(&dyn Cells) -> Result<T>;

/// One statement of [`Reader::many`]: its SQL, its `$n` values and the parser of its rows.
pub(crate) struct Query<T> {
    pub(crate) sql: String,
    pub(crate) params: Vec<Param>,
    pub(crate) parse: Parse<T>,
}

/// How many SQLite reads run at once, each on a connection of its own; that many idle
/// connections are kept for the next reads. Further reads wait for one to end rather than
/// open a connection (and a page cache) each.
const SQLITE_READERS: usize = 8;

/// Runs reads: [`Reader::rows`] for many rows, [`Reader::many`] and [`Reader::one_row`] for
/// a request's few. Cheap to clone; on SQLite its connections are opened when needed, at
/// most [`SQLITE_READERS`] of them, and kept for the next reads.
#[derive(Clone)]
pub struct Reader(Inner);

#[derive(Clone)]
enum Inner {
    Sqlite(Arc<SqliteReaders>),
    /// PostgreSQL's connections (a SQLite store always has its file, and an in-memory one is
    /// refused at open).
    Postgres(LeanPool),
}

/// The SQLite file, its idle read-only connections, and a permit per read in progress.
struct SqliteReaders {
    path: PathBuf,
    idle: Mutex<Vec<rusqlite::Connection>>,
    permits: Arc<tokio::sync::Semaphore>,
}

impl SqliteReaders {
    /// An idle connection, or a new one. A panic while the list's lock was held leaves no
    /// half-made state behind: it only holds read-only connections between reads.
    fn take(&self) -> Result<rusqlite::Connection> {
        let taken = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match taken {
            Some(c) => Ok(c),
            None => open(&self.path),
        }
    }

    /// Keeps `c` for the next read if its read ended; a connection still inside a
    /// transaction (its `ROLLBACK` failed) is closed instead.
    fn give_back(&self, c: rusqlite::Connection) {
        if c.is_autocommit() {
            self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(c);
        }
    }
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Inner::Sqlite(r) => write!(f, "Reader(sqlite {})", r.path.display()),
            Inner::Postgres(_) => write!(f, "Reader(postgres)"),
        }
    }
}

impl Reader {
    pub(crate) fn sqlite(path: PathBuf) -> Self {
        Reader(Inner::Sqlite(Arc::new(SqliteReaders {
            path,
            idle: Mutex::default(),
            permits: Arc::new(tokio::sync::Semaphore::new(SQLITE_READERS)),
        })))
    }

    pub(crate) fn postgres(pool: LeanPool) -> Self {
        Reader(Inner::Postgres(pool))
    }

    /// Closes the SQLite reader's idle connections (a later read opens another).
    pub(crate) fn close(&self) {
        match &self.0 {
            Inner::Sqlite(r) => r.idle.lock().unwrap_or_else(|e| e.into_inner()).clear(),
            Inner::Postgres(p) => p.close(),
        }
    }

    /// Whether the rows come from SQLite (for a planner hint only SQLite takes).
    pub(crate) fn is_sqlite(&self) -> bool {
        matches!(self.0, Inner::Sqlite(_))
    }

    /// Every row `sql` selects with `params` bound to `$1`, `$2`…, each parsed by `parse`;
    /// on SQLite on a blocking thread, however many rows there are.
    pub(crate) async fn rows<T: Send + 'static>(
        &self,
        sql: impl Into<String>,
        params: Vec<Param>,
        parse: Parse<T>,
    ) -> Result<Vec<T>> {
        let one = one(sql, params, parse);
        let read = match &self.0 {
            Inner::Sqlite(r) => on_sqlite(r, move |c| read_all(c, &one)).await?,
            Inner::Postgres(_) => self.many(one).await?,
        };
        Ok(read.into_iter().flatten().collect())
    }

    /// The first row `sql` selects (a lookup by key), read as [`Reader::many`] reads.
    pub(crate) async fn one_row<T: Send + 'static>(
        &self,
        sql: impl Into<String>,
        params: Vec<Param>,
        parse: Parse<T>,
    ) -> Result<Option<T>> {
        let read = self.many(one(sql, params, parse)).await?;
        Ok(read.into_iter().flatten().next())
    }

    /// The rows of each of `queries`, in order, read on one connection: the few rows a
    /// request is decided on. On SQLite in one read transaction, so every statement sees the
    /// same snapshot, and on the calling thread (see [`inline`]); on PostgreSQL as one
    /// statement, in one round trip (see [`crate::one_trip`]).
    pub(crate) async fn many<T: Send + 'static>(
        &self,
        queries: Vec<Query<T>>,
    ) -> Result<Vec<Vec<T>>> {
        match &self.0 {
            Inner::Postgres(pool) if queries.len() > 1 => {
                crate::one_trip::many(pool, &queries).await
            }
            Inner::Postgres(pool) => {
                let mut out = Vec::with_capacity(queries.len());
                for query in &queries {
                    let rows = pool.rows(&query.sql, &query.params).await?;
                    out.push(
                        rows.iter()
                            .map(|r| (query.parse)(r))
                            .collect::<Result<Vec<T>>>()?,
                    );
                }
                Ok(out)
            }
            Inner::Sqlite(r) => match inline(r, |c| read_all(c, &queries)) {
                Some(read) => read,
                None => on_sqlite(r, move |c| read_all(c, &queries)).await,
            },
        }
    }
}

/// One statement, as [`Reader::many`] takes them.
fn one<T>(sql: impl Into<String>, params: Vec<Param>, parse: Parse<T>) -> Vec<Query<T>> {
    vec![Query {
        sql: sql.into(),
        params,
        parse,
    }]
}

/// Every one of `queries` in one read transaction of `c`. `BEGIN` and `ROLLBACK` are cached
/// statements like the reads: rusqlite's transaction prepares its `BEGIN` anew each time, and
/// a pinned server spent 0.4% of its CPU on that (issue 18).
fn read_all<T>(c: &rusqlite::Connection, queries: &[Query<T>]) -> Result<Vec<Vec<T>>> {
    c.prepare_cached("BEGIN")?.raw_execute()?;
    let out = queries
        .iter()
        .map(|q| run(c, &q.sql, &q.params, q.parse))
        .collect::<Result<Vec<_>>>();
    // Read-only: ending it keeps nothing either way. A read's own error comes first (a lock
    // sends the read to a blocking thread); a connection that could not end its transaction
    // is not kept ([`SqliteReaders::give_back`]).
    let ended = c
        .prepare_cached("ROLLBACK")
        .and_then(|mut s| s.raw_execute());
    let out = out?;
    ended?;
    Ok(out)
}

/// Runs the small read `f` on the calling thread, an async worker: `None` when it must go to
/// a blocking thread instead, because [`SQLITE_READERS`] reads are in progress or because
/// the database is locked.
///
/// A hand-off to a blocking thread and back is two context switches, and on a virtual
/// machine those cost more than the read itself: with a passkey sign-in's two reads each in
/// a hand-off, the pinned server spent about a third more CPU per sign-in (issue 18,
/// BENCHMARKS.md). A read of a few rows, from pages the kernel holds, takes tens of
/// microseconds. It can take longer, rarely: pages the kernel no longer holds are read from
/// the disk (after a start, or under memory pressure), and SQLite's start of a WAL read
/// retries, sleeping, while it races a checkpoint. The long wait it is kept from is a lock: a
/// WAL reader meets one while another connection holds the database exclusively (a restore,
/// `locking_mode = EXCLUSIVE`, recovery after a crash). So an idle connection waits for no
/// lock (busy timeout zero): a locked database answers at once, and the read goes to a
/// blocking thread, which waits as long as any.
fn inline<T>(
    readers: &SqliteReaders,
    f: impl FnOnce(&rusqlite::Connection) -> Result<T>,
) -> Option<Result<T>> {
    let _permit = readers.permits.try_acquire().ok()?;
    let c = match readers.take() {
        Ok(c) => c,
        Err(e) => return Some(Err(e)),
    };
    let out = f(&c);
    let locked = matches!(&out, Err(e) if is_locked(e));
    // A connection that failed otherwise is dropped, as on a blocking thread.
    if locked || out.is_ok() {
        readers.give_back(c);
    }
    if locked {
        return None;
    }
    Some(out)
}

/// Whether SQLite refused for a lock another connection holds (busy) or this one does.
fn is_locked(e: &StoreError) -> bool {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    matches!(e, StoreError::Read(rusqlite::Error::SqliteFailure(f, _))
        if matches!(f.code, DatabaseBusy | DatabaseLocked))
}

/// Runs `f` on an idle SQLite reader connection (or a new one) on a blocking thread, once
/// fewer than [`SQLITE_READERS`] reads are in progress, and keeps the connection for the
/// next read.
async fn on_sqlite<T: Send + 'static>(
    readers: &Arc<SqliteReaders>,
    f: impl FnOnce(&rusqlite::Connection) -> Result<T> + Send + 'static,
) -> Result<T> {
    let permit = Arc::clone(&readers.permits)
        .acquire_owned()
        .await
        .map_err(|_| StoreError::Unsupported("the reader is closed".into()))?;
    let r = Arc::clone(readers);
    tokio::task::spawn_blocking(move || {
        // Held until the connection is back, even when the caller stopped waiting.
        let _permit = permit;
        let c = r.take()?;
        // Here a lock is waited for, as long as a writer would; idle, it is not waited for.
        c.busy_timeout(LOCK_WAIT)?;
        let out = f(&c)?;
        c.busy_timeout(Duration::ZERO)?;
        r.give_back(c);
        Ok(out)
    })
    .await?
}

fn open(path: &std::path::Path) -> Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let c = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // Set for each read on a blocking thread; see [`inline`].
    c.busy_timeout(Duration::ZERO)?;
    // Room for every statement the readers run. With rusqlite's default of 16 the sign-in's,
    // the decision's and the token's reads evicted each other, and a pinned server spent
    // 2.5% of its CPU preparing statements again (issue 18).
    c.set_prepared_statement_cache_capacity(READER_STATEMENTS);
    Ok(c)
}

/// How many prepared statements a reader connection keeps.
const READER_STATEMENTS: usize = 256;

/// How long a read on a blocking thread waits for a lock.
const LOCK_WAIT: Duration = Duration::from_secs(10);

fn run<T>(
    c: &rusqlite::Connection,
    sql: &str,
    params: &[Param],
    parse: Parse<T>,
) -> Result<Vec<T>> {
    let mut stmt = c.prepare_cached(sql)?;
    bind_numbered(&mut stmt, params)?;
    let columns: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
    let mut rows = stmt.raw_query();
    let mut out = vec![];
    while let Some(row) = rows.next()? {
        out.push(parse(&SqliteCells {
            row,
            columns: &columns,
        })?);
    }
    Ok(out)
}

/// Binds `$n` by its number, as sqlx does: SQLite numbers named parameters in the order they
/// first appear, which is not their number when a statement names `$7` before `$8`.
pub(crate) fn bind_numbered(stmt: &mut rusqlite::Statement<'_>, params: &[Param]) -> Result<()> {
    for i in 1..=stmt.parameter_count() {
        let n = stmt
            .parameter_name(i)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| StoreError::Unsupported(format!("parameter {i} of a statement")))?;
        let p = n
            .checked_sub(1)
            .and_then(|k| params.get(k))
            .ok_or_else(|| StoreError::Unsupported(format!("no value for ${n}")))?;
        match p {
            Param::Text(s) => stmt.raw_bind_parameter(i, s.as_str())?,
            Param::Int(v) => stmt.raw_bind_parameter(i, *v)?,
            Param::NullText | Param::NullInt => {
                stmt.raw_bind_parameter(i, rusqlite::types::Null)?
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WAL database whose table `t` holds the row `x = 1`: its directory (removed when
    /// dropped), a writing connection, and a reader.
    fn one_row_table() -> (impl Sized, rusqlite::Connection, Reader) {
        let dir = portcullis_testkit::temp_dir();
        let path = dir.path().join("t.db");
        let w = rusqlite::Connection::open(&path).unwrap();
        w.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE t (x BIGINT); INSERT INTO t VALUES (1);",
        )
        .unwrap();
        (dir, w, Reader::sqlite(path))
    }

    /// The reader is for reads only: a statement that writes is refused by its connection,
    /// so nothing can go around the one writer and its transactions.
    #[tokio::test]
    async fn the_sqlite_reader_cannot_write() {
        let (_dir, w, r) = one_row_table();
        let read = r
            .rows("SELECT x FROM t WHERE x = $1", vec![Param::Int(1)], |c| {
                c.int("x")
            })
            .await
            .unwrap();
        assert_eq!(read, vec![1]);
        for sql in [
            "DELETE FROM t RETURNING x",
            "INSERT INTO t VALUES (2) RETURNING x",
        ] {
            let e = r.rows(sql, vec![], |c| c.int("x")).await;
            assert!(matches!(e, Err(StoreError::Read(_))), "{sql}: {e:?}");
        }
        let n: i64 = w
            .query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0))
            .unwrap();
        assert_eq!(n, 1, "nothing was written");
    }

    /// A request's small read runs on the async thread, which must never wait on a lock:
    /// while another connection holds the database exclusively (as a restore does), the read
    /// waits on a blocking thread — the one async thread meanwhile serves other tasks — and
    /// answers once the lock is gone.
    #[tokio::test(flavor = "current_thread")]
    async fn a_locked_database_does_not_hold_the_async_thread() {
        use std::sync::atomic::{AtomicU64, Ordering};
        let (_dir, w, r) = one_row_table();
        let read = || {
            r.many(vec![Query {
                sql: "SELECT x FROM t ORDER BY x".into(),
                params: vec![],
                parse: |c: &dyn Cells| c.int("x"),
            }])
        };
        // Held before the reader opens a connection: a WAL connection keeps a shared lock
        // on the file while open, so none can be taken exclusively beside it.
        w.execute_batch(
            "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; INSERT INTO t VALUES (2); COMMIT;",
        )
        .unwrap();
        let held = Duration::from_millis(400);
        let release = std::thread::spawn(move || {
            std::thread::sleep(held);
            drop(w);
        });
        let ticks = Arc::new(AtomicU64::new(0));
        let ticker = tokio::spawn({
            let ticks = Arc::clone(&ticks);
            async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    ticks.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        let t = std::time::Instant::now();
        let rows = read().await.unwrap();
        let waited = t.elapsed();
        ticker.abort();
        release.join().unwrap();
        assert_eq!(rows, vec![vec![1, 2]], "the committed row is read");
        assert!(
            waited >= held - Duration::from_millis(50),
            "the lock held the read ({waited:?})"
        );
        let ticks = ticks.load(Ordering::Relaxed);
        assert!(
            ticks >= 10,
            "the async thread served other tasks while the read waited ({ticks} ticks)"
        );
    }
}
