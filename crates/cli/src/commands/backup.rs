//! `portcullis backup` and `portcullis restore` (R60): an online copy of the embedded
//! database while `serve` runs, and putting a checked copy back while it does not.
//!
//! `serve` holds a shared lock on `<data_dir>/serve.lock` for as long as it runs; a restore
//! takes it exclusively, so it cannot replace the database under a running server.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use clap::Args as ClapArgs;
use portcullis_store::backup;

use super::{CliError, CmdResult};
use crate::config::Config;

/// `portcullis backup`.
#[derive(ClapArgs, Debug)]
pub struct BackupArgs {
    /// The file to write (must not exist).
    #[arg(long, value_name = "FILE")]
    to: PathBuf,
}

/// `portcullis restore`.
#[derive(ClapArgs, Debug)]
pub struct RestoreArgs {
    /// A file `portcullis backup` wrote.
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
}

/// The lock file `serve` holds (shared) and a restore takes (exclusive).
fn lock_file(data_dir: &Path) -> Result<File, CliError> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| CliError::Other(format!("{}: {e}", data_dir.display())))?;
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(data_dir.join("serve.lock"))
        .map_err(|e| CliError::Other(format!("{}: {e}", data_dir.join("serve.lock").display())))
}

/// Held by `serve` while it runs on the embedded database of `data_dir`: a restore waits
/// for no one and refuses while it is held.
pub fn hold_while_serving(cfg: &Config) -> Result<Option<File>, CliError> {
    if cfg.database.is_some() {
        return Ok(None);
    }
    let f = lock_file(&cfg.data_dir)?;
    f.try_lock_shared().map_err(|e| {
        CliError::Other(format!(
            "{} is being restored ({e}); start the server once the restore is done",
            cfg.data_dir.display()
        ))
    })?;
    Ok(Some(f))
}

fn embedded_only(cfg: &Config) -> Result<(), CliError> {
    match &cfg.database {
        Some(url) if !url.starts_with("sqlite:") => Err(CliError::Usage(
            "backup and restore are for the embedded SQLite database; back PostgreSQL up with pg_dump (or its physical backups) and restore with pg_restore".into(),
        )),
        Some(_) => Err(CliError::Usage(
            "backup and restore work on the data directory's database: drop --database".into(),
        )),
        None => Ok(()),
    }
}

/// Writes a consistent copy of the live database, then checks it.
pub async fn backup(cfg: &Config, a: BackupArgs) -> CmdResult {
    embedded_only(cfg)?;
    let store = portcullis_store::Store::open(&cfg.database_url()).await?;
    backup::backup_into(&store, &a.to).await?;
    backup::check_copy(&a.to).await?;
    let size = std::fs::metadata(&a.to)
        .map(|m| m.len())
        .unwrap_or_default();
    println!(
        "Backed up to {} ({size} bytes): every change committed before it started is in it.",
        a.to.display()
    );
    Ok(())
}

/// Puts a checked copy in place of the data directory's database, keeping the one it
/// replaces beside it.
pub async fn restore(cfg: &Config, a: RestoreArgs) -> CmdResult {
    embedded_only(cfg)?;
    backup::check_copy(&a.from).await?;
    let lock = lock_file(&cfg.data_dir)?;
    lock.try_lock().map_err(|_| {
        CliError::Other(format!(
            "a server is running on {}: stop it, then restore",
            cfg.data_dir.display()
        ))
    })?;
    let db = cfg.data_dir.join("portcullis.db");
    let io = |what: &str, e: std::io::Error| CliError::Other(format!("{what}: {e}"));
    // The copy goes in under a temporary name first, flushed, then takes the name at once.
    let incoming = cfg.data_dir.join("portcullis.db.restoring");
    std::fs::copy(&a.from, &incoming).map_err(|e| io("copying the backup", e))?;
    File::open(&incoming)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("flushing the copy", e))?;
    let kept = cfg.data_dir.join("portcullis.db.before-restore");
    if db.exists() {
        std::fs::rename(&db, &kept).map_err(|e| io("keeping the replaced database", e))?;
        // Its write-ahead log goes with it, so the kept database is whole.
        for suffix in ["-wal", "-shm"] {
            let from = PathBuf::from(format!("{}{suffix}", db.display()));
            if from.exists() {
                std::fs::rename(&from, format!("{}{suffix}", kept.display()))
                    .map_err(|e| io("keeping the replaced write-ahead log", e))?;
            }
        }
    }
    std::fs::rename(&incoming, &db).map_err(|e| io("putting the backup in place", e))?;
    File::open(&cfg.data_dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("flushing the data directory", e))?;
    drop(lock);
    println!(
        "Restored {} from {}. The database it replaced is kept as {}.",
        db.display(),
        a.from.display(),
        kept.display()
    );
    Ok(())
}
