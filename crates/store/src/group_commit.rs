//! Group commit on SQLite (issue 18): one thread with its own connection runs the batches
//! ([`crate::write::Batch`]) of every request waiting at that moment in one transaction —
//! each in a savepoint of its own, so that one that stops keeps nothing and the others are
//! unaffected — commits once (one fsync for all of them under `synchronous = FULL`), and only
//! then answers each. What was answered was committed: a crash between the commit and the
//! answer loses an answer, never a write that was answered.
//!
//! Through sqlx a transaction of five statements is seven round trips to the connection's
//! worker thread, each a hand-off between threads; here a request hands its batch over once.
//! The thread takes the process's write gate for each group, so the pool's transactions and
//! the groups take turns.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::bulk::bind_numbered;
use crate::write::{Batch, Write};
use crate::{Durability, Result, StoreError};

/// The most batches one transaction takes: enough to gather every request a busy server has
/// in flight, few enough that a group's fsync is not held up by its own size.
const MOST_IN_A_GROUP: usize = 256;

/// Where a batch stopped (the index of the write that changed no row), if it did.
type Answer = Result<Option<usize>>;

struct Job {
    writes: Vec<(Write, bool)>,
    reply: oneshot::Sender<Answer>,
}

/// The committer: hands batches to its thread. The thread ends, closing its connection,
/// when the last handle is dropped.
#[derive(Clone)]
pub(crate) struct GroupCommit {
    jobs: mpsc::UnboundedSender<Job>,
    counts: Arc<Counts>,
}

/// Batches and the transactions they were committed in, since the store opened.
#[derive(Default)]
struct Counts {
    batches: AtomicU64,
    groups: AtomicU64,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GroupCommit")
    }
}

impl GroupCommit {
    /// Opens the database at `path` for writing and starts the thread.
    pub(crate) fn start(
        path: &Path,
        durability: Durability,
        gate: Arc<tokio::sync::Mutex<()>>,
    ) -> Result<GroupCommit> {
        let conn = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        let sync = match durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        // As the pool's connections are set up (src/lib.rs): the same durability, and the
        // foreign keys SQLite leaves off by default.
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON;"
        ))?;
        conn.set_prepared_statement_cache_capacity(64);
        let (jobs, rx) = mpsc::unbounded_channel();
        let counts = Arc::new(Counts::default());
        let kept = counts.clone();
        std::thread::Builder::new()
            .name("portcullis-commit".into())
            .spawn(move || serve(&conn, rx, &gate, &kept))
            .map_err(|e| StoreError::Unsupported(format!("cannot start the committer: {e}")))?;
        Ok(GroupCommit { jobs, counts })
    }

    /// Batches handed over so far, and the transactions that took them.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.counts.batches.load(Ordering::Relaxed),
            self.counts.groups.load(Ordering::Relaxed),
        )
    }

    /// Commits `writes` with whatever else is waiting; answered once the commit is durable.
    pub(crate) async fn commit(&self, writes: Vec<(Write, bool)>) -> Answer {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { writes, reply })
            .map_err(|_| StoreError::Commit("the committer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Commit("the committer stopped before answering".into()))?
    }
}

fn serve(
    conn: &rusqlite::Connection,
    mut rx: mpsc::UnboundedReceiver<Job>,
    gate: &tokio::sync::Mutex<()>,
    counts: &Counts,
) {
    while let Some(first) = rx.blocking_recv() {
        let mut jobs = vec![first];
        while jobs.len() < MOST_IN_A_GROUP {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let answers = {
            let _turn = gate.blocking_lock();
            group(conn, &jobs)
        };
        counts.batches.fetch_add(
            u64::try_from(jobs.len()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        counts.groups.fetch_add(1, Ordering::Relaxed);
        for (job, answer) in jobs.into_iter().zip(answers) {
            // A request that went away meanwhile: its writes stand, as any answered write's.
            drop(job.reply.send(answer));
        }
    }
}

/// Runs `jobs` in one transaction; each one's answer.
fn group(c: &rusqlite::Connection, jobs: &[Job]) -> Vec<Answer> {
    let all_fail = |why: &str| -> Vec<Answer> {
        jobs.iter()
            .map(|_| Err(StoreError::Commit(why.to_string())))
            .collect()
    };
    if let Err(e) = c.execute_batch("BEGIN IMMEDIATE") {
        return all_fail(&e.to_string());
    }
    let mut answers = Vec::with_capacity(jobs.len());
    for job in jobs {
        match one(c, &job.writes) {
            Ok(answer) => answers.push(answer),
            Err(e) => {
                // A savepoint that could not be rolled back: nothing of the group is kept.
                drop(c.execute_batch("ROLLBACK"));
                return all_fail(&e.to_string());
            }
        }
    }
    if let Err(e) = c.execute_batch("COMMIT") {
        drop(c.execute_batch("ROLLBACK"));
        return all_fail(&e.to_string());
    }
    answers
}

/// Runs one batch in a savepoint: its answer, or (the outer error) a savepoint that failed.
fn one(c: &rusqlite::Connection, writes: &[(Write, bool)]) -> Result<Answer> {
    c.execute_batch("SAVEPOINT batch")?;
    let answer = (|| -> Answer {
        for (i, (w, must)) in writes.iter().enumerate() {
            let mut stmt = c.prepare_cached(w.sql)?;
            bind_numbered(&mut stmt, &w.params)?;
            let changed = u64::try_from(stmt.raw_execute()?).unwrap_or(u64::MAX);
            if Batch::<()>::stops(*must, changed) {
                return Ok(Some(i));
            }
        }
        Ok(None)
    })();
    match answer {
        Ok(None) => c.execute_batch("RELEASE batch")?,
        _ => c.execute_batch("ROLLBACK TO batch; RELEASE batch")?,
    }
    Ok(answer)
}
