//! Online backup of the embedded database (R60): a consistent copy of the live SQLite file
//! while the server reads and writes (`VACUUM INTO`), and the check a restore makes of a
//! copy before it replaces anything. PostgreSQL is backed up with its own tools.

use std::path::Path;

use crate::{Backend, Result, Store, StoreError};

/// Writes a consistent copy of the database to `to` (a new file). Every transaction
/// committed before it starts is in the copy; none half.
pub async fn backup_into(store: &Store, to: &Path) -> Result<()> {
    if store.backend() != Backend::Sqlite {
        return Err(StoreError::Unsupported(
            "online backup is for the embedded SQLite database; back PostgreSQL up with pg_dump or its physical backups".into(),
        ));
    }
    if to.exists() {
        return Err(StoreError::Unsupported(format!(
            "{} exists; a backup never overwrites a file",
            to.display()
        )));
    }
    let path = to
        .to_str()
        .ok_or_else(|| StoreError::Unsupported(format!("{} is not valid UTF-8", to.display())))?;
    let mut c = store.conn().await?;
    sqlx::query("VACUUM INTO $1")
        .bind(path)
        .execute(&mut *c)
        .await?;
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
