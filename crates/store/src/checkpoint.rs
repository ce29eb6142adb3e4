//! Checkpoints beside the committer (issue 18): the log is copied into the database by a
//! thread of its own, and the committer only finishes each copy.
//!
//! A checkpoint writes each page changed since the last one once, however often it changed.
//! A sign-in's pages (the last page of each log and index, the passkey's) change in every
//! commit, so the longer the log between checkpoints, the fewer pages a sign-in costs: at
//! SQLite's default of 1,000 pages, checkpoints were 7% of a pinned server's CPU. But a
//! checkpoint run by the committer (SQLite's `wal_autocheckpoint`) holds up every commit
//! behind it: run at 10,000 pages, it put 3 to 7 ms on the 99th percentile (A/Bs of
//! 2026-12-02, BENCHMARKS.md).
//!
//! So the committer wakes this thread when the log has grown by [`CHECKPOINT_BYTES`]
//! and goes on committing. The thread copies the log in passes, each taking what was
//! appended during the one before, until a pass finds little left. A copy taken beside a
//! writer can never take the whole log, and the log is only reused from its start once all
//! of it is copied (a checkpointer beside the committer alone, tried on 2026-12-02, never
//! completed and let the log grow to 2.6 GB). So the thread then hands over: the committer,
//! between two groups, copies what is left (a few pages) and its next commit starts the log
//! again from its start. A copy held back (by a reader's snapshot, or another checkpoint)
//! hands nothing over; the thread is woken again while the log is long, and SQLite's own
//! checkpoint, at four times the length, is the backstop.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::{Durability, Result, StoreError};

/// The log's length after which it is copied into the database: 40 MB (10,000 × 4 KiB;
/// with each frame's header, about 9,940 pages).
pub(crate) const CHECKPOINT_BYTES: u64 = 10_000 * 4096;

/// What a copy may leave for the committer: a copy ends when a pass had no more than this
/// to take (what was committed during the pass before) and left no more than this behind.
const LEFT_FOR_THE_COMMITTER: u64 = 512;

/// The most passes one copy takes. Readers holding old snapshots can keep a pass from
/// copying, and another checkpoint (a backstop, another process's) from running at all: a
/// copy that did not catch up hands nothing over, and the thread is woken again while the
/// log is long.
const MOST_PASSES: usize = 8;

/// The pause before a pass that a reader's snapshot or another checkpoint held back.
const PAUSE: Duration = Duration::from_millis(5);

/// The length, in pages, at which any connection that commits checkpoints by itself
/// (SQLite's `wal_autocheckpoint`): only if this thread has fallen far behind.
pub(crate) const BACKSTOP_PAGES: u64 = 40_000;

/// The committer's side: when to wake the thread, and what it reported.
pub(crate) struct Checkpointer {
    wake: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
    /// Whether the thread is copying.
    running: bool,
    /// The log's file.
    log: PathBuf,
}

#[derive(Default)]
struct Shared {
    /// Set by the thread when a copy is done, and taken by the committer.
    done: AtomicBool,
    /// Whether that copy left only a few pages for the committer.
    caught_up: AtomicBool,
}

impl Checkpointer {
    /// Opens a connection of its own to the database at `path` and starts the thread.
    pub(crate) fn start(path: &Path, durability: Durability) -> Result<Checkpointer> {
        // The commits' own `synchronous`: any setting but OFF makes a checkpoint sync the
        // database file before the log can start again.
        let conn = crate::group_commit::open_writer(path, durability)?;
        let (wake, woken) = sync_channel::<()>(1);
        let shared = Arc::new(Shared::default());
        let theirs = shared.clone();
        let thread = std::thread::Builder::new()
            .name("portcullis-checkpoint".into())
            .spawn(move || {
                while woken.recv().is_ok() {
                    let caught_up = copy(&conn);
                    theirs.caught_up.store(caught_up, Ordering::Release);
                    theirs.done.store(true, Ordering::Release);
                }
            })
            .map_err(|e| StoreError::Unsupported(format!("cannot start the checkpointer: {e}")))?;
        Ok(Checkpointer {
            wake: Some(wake),
            thread: Some(thread),
            shared,
            running: false,
            log: wal_path(path),
        })
    }

    /// Called by the committer after each group, once its batches are answered: finishes a
    /// copy the thread has done, or wakes the thread when the log has grown long enough.
    pub(crate) fn after_group(&mut self, conn: &rusqlite::Connection) {
        if self.running {
            if self.shared.done.swap(false, Ordering::AcqRel) {
                self.running = false;
                // What the passes left (a few pages): the next commit starts the log again.
                // A copy that did not catch up leaves the log long, and the thread is woken
                // again after the next group.
                if self.shared.caught_up.load(Ordering::Acquire) {
                    if let Err(e) = passive(conn) {
                        tracing::warn!(error = %e, "finishing a checkpoint failed: the log stays long until the next one");
                    }
                }
            }
            return;
        }
        // The log's file is cut back to [`CHECKPOINT_BYTES`] whenever the log starts
        // again (`journal_size_limit`): past that, it is as long as the log.
        let long = std::fs::metadata(&self.log).is_ok_and(|m| m.len() > CHECKPOINT_BYTES);
        if long {
            if let Some(wake) = &self.wake {
                match wake.try_send(()) {
                    Ok(()) | Err(TrySendError::Full(())) => self.running = true,
                    Err(TrySendError::Disconnected(())) => {}
                }
            }
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // The thread ends once its channel is closed, after the copy it is making.
        drop(self.wake.take());
        if let Some(thread) = self.thread.take() {
            drop(thread.join());
        }
    }
}

/// One copy, in passes: `true` once a pass had little to take and left little behind,
/// `false` after [`MOST_PASSES`] or a failure.
fn copy(conn: &rusqlite::Connection) -> bool {
    let mut before = 0;
    for _ in 0..MOST_PASSES {
        match passive(conn) {
            Ok(Pass::Copied { log, copied }) => {
                // What this pass had to take: everything committed since the last one.
                let new = log.saturating_sub(before);
                let left = log.saturating_sub(copied);
                before = copied;
                if new <= LEFT_FOR_THE_COMMITTER && left <= LEFT_FOR_THE_COMMITTER {
                    return true;
                }
                if left > LEFT_FOR_THE_COMMITTER {
                    // A reader's snapshot held the pass back.
                    std::thread::sleep(PAUSE);
                }
            }
            Ok(Pass::Busy) => std::thread::sleep(PAUSE),
            Err(e) => {
                tracing::warn!(error = %e, "a checkpoint failed: tried again while the log is long");
                return false;
            }
        }
    }
    false
}

/// The log's file beside the database at `path` (SQLite puts it beside the file a link
/// names).
fn wal_path(path: &Path) -> PathBuf {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// What a passive checkpoint did.
#[derive(Debug, PartialEq, Eq)]
enum Pass {
    /// Another checkpoint held the lock: nothing was copied.
    Busy,
    /// The log's length and how far into it the database now holds, in pages.
    Copied { log: u64, copied: u64 },
}

/// A passive checkpoint: it waits for no reader and no writer, and copies what no reader's
/// snapshot still needs from the log.
fn passive(conn: &rusqlite::Connection) -> Result<Pass> {
    let (busy, log, copied): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    if busy != 0 {
        return Ok(Pass::Busy);
    }
    // -1 when the database is not in WAL mode: no log.
    Ok(Pass::Copied {
        log: u64::try_from(log).unwrap_or(0),
        copied: u64::try_from(copied).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A committer's connection, as the group commit sets it up, on a new database.
    fn committer() -> (impl Sized, PathBuf, rusqlite::Connection) {
        let dir = portcullis_testkit::temp_dir();
        let path = dir.path().join("t.db");
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES}; \
             PRAGMA journal_size_limit = {CHECKPOINT_BYTES}; CREATE TABLE t (k TEXT);"
        ))
        .unwrap();
        (dir, path, c)
    }

    fn log(path: &Path) -> u64 {
        std::fs::metadata(wal_path(path)).map_or(0, |m| m.len())
    }

    fn commit(c: &rusqlite::Connection, n: usize) {
        for _ in 0..n {
            c.execute("INSERT INTO t VALUES (?1)", ["x".repeat(8_000)])
                .unwrap();
        }
    }

    /// The log is copied by the thread when it has grown past [`CHECKPOINT_BYTES`], not
    /// before; what the thread's copy could not reach is copied by the committer's finish;
    /// and the next commit starts the log again, its file cut back to that length. Without
    /// the finish, the log would go on growing under a committer that never pauses.
    #[test]
    fn a_long_log_is_copied_beside_the_committer_which_finishes_the_copy() {
        let (_dir, path, c) = committer();
        let mut k = Checkpointer::start(&path, Durability::Normal).unwrap();
        commit(&c, 10);
        k.after_group(&c);
        assert!(!k.running, "a short log is left alone");
        while log(&path) <= CHECKPOINT_BYTES {
            commit(&c, 100);
        }
        // A reader's snapshot keeps the thread from copying what is committed after it, as
        // commits made during a copy are out of its reach.
        let reader = rusqlite::Connection::open(&path).unwrap();
        reader
            .execute_batch("BEGIN; SELECT count(*) FROM t;")
            .unwrap();
        commit(&c, 10);
        k.after_group(&c);
        assert!(k.running, "a long log wakes the thread");
        let started = std::time::Instant::now();
        while !k.shared.done.load(Ordering::Acquire) {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the copy never ended"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        // Until a copy, every page is in the log and the database's file is as it was made.
        assert!(
            std::fs::metadata(&path).unwrap().len() > CHECKPOINT_BYTES / 2,
            "the thread copied what the reader's snapshot allowed"
        );
        assert!(k.shared.caught_up.load(Ordering::Acquire));
        reader.execute_batch("COMMIT").unwrap();
        commit(&c, 1);
        assert!(
            log(&path) > CHECKPOINT_BYTES,
            "what the thread could not copy is left"
        );
        k.after_group(&c);
        assert!(!k.running);
        commit(&c, 1);
        assert_eq!(log(&path), CHECKPOINT_BYTES, "the log started again");
        let rows: i64 = c
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert!(rows > 1_000);
    }
}
