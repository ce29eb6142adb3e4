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
    backup::backup_file(&cfg.data_dir.join("portcullis.db"), &a.to).await?;
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
    // The copy goes in under a temporary name first, flushed.
    let incoming = cfg.data_dir.join("portcullis.db.restoring");
    std::fs::copy(&a.from, &incoming).map_err(|e| io("copying the backup", e))?;
    File::open(&incoming)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("flushing the copy", e))?;
    // The database it replaces: its log folded in, then kept under a name of its own (a
    // second name of the same file, so there is never a moment without portcullis.db).
    let kept = if db.exists() {
        backup::checkpoint(&db).await?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let kept = cfg
            .data_dir
            .join(format!("portcullis.db.before-restore-{stamp}"));
        if kept.exists() {
            return Err(CliError::Other(format!(
                "{} exists: try again in a second",
                kept.display()
            )));
        }
        std::fs::hard_link(&db, &kept).map_err(|e| io("keeping the replaced database", e))?;
        Some(kept)
    } else {
        None
    };
    // The checkpoint left the log empty; the restored database starts its own.
    for suffix in ["-wal", "-shm"] {
        match std::fs::remove_file(format!("{}{suffix}", db.display())) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io("removing the replaced database's log", e))
            }
            _ => {}
        }
    }
    // One rename replaces it: a crash leaves the old database or the new one, whole.
    std::fs::rename(&incoming, &db).map_err(|e| io("putting the backup in place", e))?;
    File::open(&cfg.data_dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("flushing the data directory", e))?;
    drop(lock);
    match kept {
        Some(k) => println!(
            "Restored {} from {}. The database it replaced is kept as {}.",
            db.display(),
            a.from.display(),
            k.display()
        ),
        None => println!("Restored {} from {}.", db.display(), a.from.display()),
    }
    Ok(())
}
