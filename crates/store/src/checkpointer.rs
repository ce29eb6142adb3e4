//! Checkpoints off the commit path (issue 18). SQLite copies the write-ahead log back into
//! the database file in a checkpoint, which by default the connection that commits runs
//! itself once the log passes 1,000 pages. On the group committer's connection that put a
//! checkpoint, with its copying and its two fsyncs, inside a group's commit now and then:
//! 7.7% of a pinned server's samples, with every sign-in of that group waiting on it. The committer's connection therefore does not checkpoint; after a group
//! commits it pokes this thread, which waits [`PERIOD`] for more to gather, then checkpoints
//! on its own connection while the committer goes on.
//!
//! The checkpoint is `PASSIVE`: it takes no writer's lock and waits for no reader, so it
//! holds up no commit, and it copies only what is already durable in the log. Nothing
//! depends on it for durability; it keeps the log short, and reads fast.

use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::{Result, StoreError};

/// How long a checkpoint waits after the first commit that asks for one, so that the
/// commits meanwhile share it: at most ten checkpoints a second, whatever the rate.
pub(crate) const PERIOD: Duration = Duration::from_millis(100);

/// The committer's side: asks for a checkpoint. Dropping it ends the thread.
pub(crate) struct Poke(SyncSender<()>);

impl Poke {
    /// Asks for a checkpoint; one already asked for takes this one in.
    pub(crate) fn after_commit(&self) {
        // Full: one is asked for already. Disconnected: the thread has stopped, which it
        // does only once the committer has.
        let _ = self.0.try_send(());
    }
}

/// Opens the database at `path` on a connection of its own and starts the thread: the
/// handle that asks it to checkpoint, and the thread (which ends when the handle is
/// dropped).
pub(crate) fn start(path: &Path) -> Result<(Poke, JoinHandle<()>)> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // Its own commits never happen; a checkpoint of its own on closing would be harmless.
    conn.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
    // One pending request is enough: it is taken in by the next checkpoint.
    let (poke, asked) = sync_channel(1);
    let thread = std::thread::Builder::new()
        .name("portcullis-checkpoint".into())
        .spawn(move || run(&conn, &asked))
        .map_err(|e| StoreError::Unsupported(format!("cannot start the checkpointer: {e}")))?;
    Ok((Poke(poke), thread))
}

fn run(conn: &rusqlite::Connection, asked: &Receiver<()>) {
    while asked.recv().is_ok() {
        std::thread::sleep(PERIOD);
        // Requests that came meanwhile are answered by this checkpoint.
        while asked.try_recv().is_ok() {}
        checkpoint(conn);
    }
    // The committer has stopped: what it committed last goes into the file too.
    checkpoint(conn);
}

/// One `PASSIVE` checkpoint. A failure is logged and left to the next one: the log keeps
/// every committed page until a checkpoint copies it.
fn checkpoint(conn: &rusqlite::Connection) {
    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        tracing::warn!(error = %e, "checkpointing the write-ahead log failed; the next commit asks again");
    }
}
