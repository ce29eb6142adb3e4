//! Fresh stores on both backends for tests.
//!
//! PostgreSQL comes from `TEST_POSTGRES_URL` (an administrative URL; the test
//! script starts a throwaway server and sets it). When it is missing or the server
//! cannot be reached, the PostgreSQL half of a test **fails**: a suite that silently
//! skipped a backend would claim more than it checked.

pub mod browser;
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
    }
}

/// A URL for a fresh, empty PostgreSQL database. Panics (fails the test) when
/// PostgreSQL is not configured or not reachable.
pub async fn fresh_postgres_url() -> String {
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
    format!("{base}/{db}")
}

/// A fresh, migrated PostgreSQL store.
pub async fn postgres() -> TestStore {
    let url = fresh_postgres_url().await;
    let store = Store::open(&url).await.expect("open postgres store");
    TestStore {
        name: "postgres",
        store,
        url,
        _dir: None,
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
