//! Online backup of the embedded database (R60): a consistent copy of the live SQLite file
//! while the server reads and writes (`VACUUM INTO`), and the check a restore makes of a
//! copy before it replaces anything. PostgreSQL is backed up with its own tools.

use std::path::Path;

use crate::{Result, StoreError};

async fn open_file(db: &Path, mode: &str) -> Result<sqlx::AnyPool> {
    sqlx::any::install_default_drivers();
    if !db.exists() {
        return Err(StoreError::Unsupported(format!(
            "there is no database at {}",
            db.display()
        )));
    }
    Ok(sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&format!("sqlite://{}?mode={mode}", db.display()))
        .await?)
}

fn sync(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::Unsupported(format!("flushing {}: {e}", path.display())))
}

/// Writes a consistent copy of the SQLite database `db` to `to` (a new file), reading `db`
/// read-only — no migration, nothing created — while a server reads and writes it. Every
/// transaction committed before it starts is in the copy, none half; the copy is flushed to
/// disk (`VACUUM INTO` does not).
pub async fn backup_file(db: &Path, to: &Path) -> Result<()> {
    if to.exists() {
        return Err(StoreError::Unsupported(format!(
            "{} exists; a backup never overwrites a file",
            to.display()
        )));
    }
    let path = to
        .to_str()
        .ok_or_else(|| StoreError::Unsupported(format!("{} is not valid UTF-8", to.display())))?;
    let pool = open_file(db, "ro").await?;
    sqlx::query("VACUUM INTO $1")
        .bind(path)
        .execute(&pool)
        .await?;
    pool.close().await;
    sync(to)?;
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        sync(dir)?;
    }
    Ok(())
}

/// Folds the write-ahead log of `db` into the database file, so the file alone is whole
/// (before a restore keeps it aside). Only with no server running on it.
pub async fn checkpoint(db: &Path) -> Result<()> {
    let pool = open_file(db, "rw").await?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await?;
    pool.close().await;
    Ok(())
}

/// Checks that `file` is a sound Portcullis database (SQLite's integrity check, and the
/// tenant table present) before a restore puts it in place.
pub async fn check_copy(file: &Path) -> Result<()> {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=ro", file.display());
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await?;
    let ok: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await?;
    if ok != "ok" {
        return Err(StoreError::Corrupt(format!(
            "{} fails SQLite's integrity check: {ok}",
            file.display()
        )));
    }
    let tenants: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenant")
        .fetch_one(&pool)
        .await
        .map_err(|_| {
            StoreError::Corrupt(format!("{} is not a Portcullis database", file.display()))
        })?;
    pool.close().await;
    if tenants != 1 {
        return Err(StoreError::Corrupt(format!(
            "{} holds no tenant: not a Portcullis database",
            file.display()
        )));
    }
    Ok(())
}
