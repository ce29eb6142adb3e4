//! Fresh stores on both backends for tests.
//!
//! PostgreSQL comes from `TEST_POSTGRES_URL` (an administrative URL; the test
//! script starts a throwaway server and sets it). When it is missing or the server
//! cannot be reached, the PostgreSQL half of a test **fails**: a suite that silently
//! skipped a backend would claim more than it checked.

pub mod browser;
pub mod haproxy;
pub mod snapshot;
pub mod softkey;
pub mod testca;
pub use fantoccini;

use portcullis_store::Store;
use sqlx::{AnyConnection, Connection, Executor};
use std::path::PathBuf;

/// Environment variable naming the PostgreSQL server for tests.
pub const PG_ENV: &str = "TEST_POSTGRES_URL";

/// A store on one backend, with whatever keeps it alive.
pub struct TestStore {
    /// `sqlite` or `postgres`.
    pub name: &'static str,
    /// The store.
    pub store: Store,
    /// The URL it was opened with (for a second node or a restarted server).
    pub url: String,
    /// Keeps the SQLite directory until the test ends.
    pub _dir: Option<tempfile::TempDir>,
    /// Drops the PostgreSQL database when the test ends (declared after
    /// `store`, so the pool goes first).
    pub _db: Option<DropDatabase>,
}

/// Drops a test database when it goes out of scope, so a run's disk use stays
/// bounded by the tests alive at once rather than growing with every test
/// (a full run creates hundreds of databases of about 8 MB each).
pub struct DropDatabase {
    admin: String,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Its own thread and runtime: this may run inside the test's runtime,
        // which cannot be blocked on from within.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut conn) = AnyConnection::connect(&admin).await {
                    let _ = conn.execute(sql.as_str()).await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

/// A fresh, migrated SQLite store in a temporary directory.
pub async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = portcullis_store::sqlite_url_for(dir.path());
    let store = Store::open(&url).await.expect("open sqlite store");
    TestStore {
        name: "sqlite",
        store,
        url,
        _dir: Some(dir),
        _db: None,
    }
}

/// A fresh, empty PostgreSQL database, dropped when this goes out of scope; it reads as its
/// URL (`&*db`, `Option::as_deref`).
pub struct FreshPostgres {
    url: String,
    _drop: DropDatabase,
}

impl std::ops::Deref for FreshPostgres {
    type Target = str;
    fn deref(&self) -> &str {
        &self.url
    }
}

/// A fresh, empty PostgreSQL database. Panics (fails the test) when PostgreSQL is not
/// configured or not reachable.
pub async fn fresh_postgres_url() -> FreshPostgres {
    let admin = std::env::var(PG_ENV).unwrap_or_else(|_| {
        panic!("{PG_ENV} is not set: PostgreSQL tests need a server. Run the suite with scripts/test.sh, which starts one.")
    });
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {admin}: {e}"));
    let db = format!("pt_{}", uuid::Uuid::new_v4().simple());
    conn.execute(format!("CREATE DATABASE {db}").as_str())
        .await
        .expect("create test database");
    let _ = conn.close().await;
    let (base, _) = admin
        .rsplit_once('/')
        .expect("TEST_POSTGRES_URL must end with /DATABASE");
    FreshPostgres {
        url: format!("{base}/{db}"),
        _drop: DropDatabase { admin, name: db },
    }
}

/// A fresh, migrated PostgreSQL store; its database is dropped with it.
pub async fn postgres() -> TestStore {
    let FreshPostgres { url, _drop } = fresh_postgres_url().await;
    let store = Store::open(&url).await.expect("open postgres store");
    TestStore {
        name: "postgres",
        store,
        url,
        _dir: None,
        _db: Some(_drop),
    }
}

/// One fresh store on each backend: SQLite, then PostgreSQL.
pub async fn both() -> Vec<TestStore> {
    vec![sqlite().await, postgres().await]
}

/// A fresh temporary directory.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Path of a file inside a temp dir.
pub fn path_in(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// Awaits every task, failing the test (with `what`) when they are not all done within
/// `seconds`: for bursts that must be answered promptly, not wait out a pool's timeout.
pub async fn all_within<T>(
    seconds: u64,
    what: &str,
    tasks: Vec<tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    tokio::time::timeout(std::time::Duration::from_secs(seconds), async {
        let mut out = vec![];
        for task in tasks {
            out.push(task.await.expect("a task of the burst panicked"));
        }
        out
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: still waiting after {seconds} s"))
}
