//! Group commit on SQLite (issue 18): one thread with its own connection runs the batches
//! ([`crate::write::Batch`]) of every request waiting at that moment in one transaction —
//! when one stops, again with each in a savepoint of its own, so that it keeps nothing and
//! the others are unaffected — commits once (one fsync for all of them under
//! `synchronous = FULL`), and only then answers each. What was answered was committed: a
//! crash between the commit and the answer loses an answer, never a write that was answered.
//!
//! Through sqlx a transaction of five statements is seven round trips to the connection's
//! worker thread, each a hand-off between threads; here a request hands its batch over once.
//! The thread takes the process's write gate for each group, so the pool's transactions and
//! the groups take turns; a group that waits for it longer than a transaction may is
//! answered [`StoreError::Busy`], as such a transaction is.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::bulk::bind_numbered;
use crate::checkpoint::{Checkpointer, BACKSTOP_PAGES, CHECKPOINT_BYTES};
use crate::write::{stops, Write};
use crate::{Durability, Result, StoreError, WRITE_WAIT};

/// The most batches one transaction takes: enough to gather every request a busy server has
/// in flight, few enough that a group's fsync is not held up by its own size.
const MOST_IN_A_GROUP: usize = 256;

/// How many times the committer lets the other threads on its core run before it commits,
/// while each time brings more batches. A group's commit (its log pages, its fsync) costs
/// about the same for one batch as for ten; the requests about to hand theirs over are often
/// threads waiting for this core. On a core of its own a yield returns at once, nothing new
/// has come, and the group is committed as it is.
const GATHER_ROUNDS: usize = 4;

/// The committer's page cache, in KiB. SQLite's default (2 MiB) holds less than the
/// sessions' token index of a busy day, so inserts read their leaves again from the file:
/// 1.56 `pread`s per sign-in, counted with `/proc/<pid>/task/*/io` under the benchmark's
/// load; with 64 MiB, under one per ten sign-ins (BENCHMARKS.md, 2026-12-02 afternoon).
/// The cache lasts between the committer's transactions because it alone writes while
/// sign-ins are committed (a transaction of the pool resets it once).
const COMMITTER_CACHE_KIB: u32 = 64 * 1024;

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
    /// `None` once stopped.
    jobs: Arc<Mutex<Option<mpsc::UnboundedSender<Job>>>>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
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
        let conn = open_writer(path, durability)?;
        // As the pool's connections are set up (src/lib.rs): the foreign keys SQLite leaves
        // off by default, and checkpoints left to the checkpointer (src/checkpoint.rs)
        // unless it falls far behind. A larger page cache than theirs (see
        // `COMMITTER_CACHE_KIB`).
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
             PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES}; \
             PRAGMA journal_size_limit = {CHECKPOINT_BYTES}; PRAGMA cache_size = -{COMMITTER_CACHE_KIB};"
        ))?;
        let mut checkpointer = Checkpointer::start(path, durability)?;
        conn.set_prepared_statement_cache_capacity(64);
        let (jobs, rx) = mpsc::unbounded_channel();
        let counts = Arc::new(Counts::default());
        let kept = counts.clone();
        let thread = std::thread::Builder::new()
            .name("portcullis-commit".into())
            .spawn(move || {
                // A clock for the wait at the write gate, made and dropped on this thread.
                match tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()
                {
                    Ok(clock) => serve(&conn, rx, &gate, &kept, &clock, &mut checkpointer),
                    Err(e) => refuse_all(rx, &e.to_string()),
                }
            })
            .map_err(|e| StoreError::Unsupported(format!("cannot start the committer: {e}")))?;
        Ok(GroupCommit {
            jobs: Arc::new(Mutex::new(Some(jobs))),
            thread: Arc::new(Mutex::new(Some(thread))),
            counts,
        })
    }

    /// Stops taking batches, lets the thread finish the group it is committing, and closes
    /// its connection.
    pub(crate) async fn stop(&self) {
        drop(lock(&self.jobs).take());
        let thread = lock(&self.thread).take();
        if let Some(thread) = thread {
            // The thread ends once its channel is empty and closed.
            drop(tokio::task::spawn_blocking(move || thread.join()).await);
        }
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
        lock(&self.jobs)
            .as_ref()
            .ok_or_else(|| StoreError::Commit("the store is closed".into()))?
            .send(Job { writes, reply })
            .map_err(|_| StoreError::Commit("the committer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Commit("the committer stopped before answering".into()))?
    }
}

/// A connection of one thread's own that writes to the database at `path` with
/// `durability`, waiting up to 10 s for another process's lock: the committer's and the
/// checkpointer's.
pub(crate) fn open_writer(path: &Path, durability: Durability) -> Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {};",
        synchronous(durability)
    ))?;
    Ok(conn)
}

/// SQLite's `synchronous` setting for `durability`.
pub(crate) fn synchronous(durability: Durability) -> &'static str {
    match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    }
}

/// A lock that a panic elsewhere cannot spoil: what it guards is a handle, never half-made.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn serve(
    conn: &rusqlite::Connection,
    mut rx: mpsc::UnboundedReceiver<Job>,
    gate: &tokio::sync::Mutex<()>,
    counts: &Counts,
    clock: &tokio::runtime::Runtime,
    checkpointer: &mut Checkpointer,
) {
    let mut cautious = false;
    while let Some(first) = rx.blocking_recv() {
        let mut jobs = vec![first];
        gather(&mut rx, &mut jobs);
        for _ in 0..GATHER_ROUNDS {
            let had = jobs.len();
            std::thread::yield_now();
            gather(&mut rx, &mut jobs);
            if jobs.len() == had || jobs.len() >= MOST_IN_A_GROUP {
                break;
            }
        }
        // The timer is made inside the clock's context: made outside, it finds no runtime.
        let turn = clock.block_on(async { tokio::time::timeout(WRITE_WAIT, gate.lock()).await });
        let answers = match turn {
            Ok(_turn) => group(conn, &jobs, &mut cautious),
            Err(_) => jobs
                .iter()
                .map(|_| Err(StoreError::Busy(WRITE_WAIT)))
                .collect(),
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
        checkpointer.after_group(conn);
    }
}

/// Adds the batches waiting now to `jobs`, up to [`MOST_IN_A_GROUP`].
fn gather(rx: &mut mpsc::UnboundedReceiver<Job>, jobs: &mut Vec<Job>) {
    while jobs.len() < MOST_IN_A_GROUP {
        match rx.try_recv() {
            Ok(job) => jobs.push(job),
            Err(_) => break,
        }
    }
}

/// Without a clock the committer cannot bound its wait: it refuses every batch.
fn refuse_all(mut rx: mpsc::UnboundedReceiver<Job>, why: &str) {
    while let Some(job) = rx.blocking_recv() {
        drop(job.reply.send(Err(StoreError::Commit(format!(
            "the committer has no clock: {why}"
        )))));
    }
}

/// Runs `jobs` in one transaction; each one's answer. First as one whole: when every batch
/// goes through — nearly always — that is all. A batch that stops or fails rolls the whole
/// group back, and the group runs again with a savepoint per batch, so that one that stops
/// keeps nothing and spoils none beside it. (A savepoint copies each page a batch touches
/// into a sub-journal before changing it: 5% of a pinned server's samples, paid by every
/// sign-in for the rare one that stops.)
///
/// A stop is cheap to cause (a replayed sign-in answer), and it makes its group run twice:
/// after a group in which a batch stopped or failed, `cautious` is set and the next group
/// starts with savepoints, so that a steady trickle of replays costs what savepoints cost,
/// never twice the work.
fn group(c: &rusqlite::Connection, jobs: &[Job], cautious: &mut bool) -> Vec<Answer> {
    let whole = if *cautious { None } else { whole(c, jobs) };
    let answers = whole.unwrap_or_else(|| savepointed(c, jobs));
    *cautious = answers.iter().any(|a| !matches!(a, Ok(None)));
    answers
}

/// Every batch answered with the same failure.
fn all_fail(jobs: &[Job], why: &str) -> Vec<Answer> {
    jobs.iter()
        .map(|_| Err(StoreError::Commit(why.to_string())))
        .collect()
}

/// Opens the group's transaction, or every batch's refusal.
fn begin(c: &rusqlite::Connection, jobs: &[Job]) -> std::result::Result<(), Vec<Answer>> {
    // A transaction left open by a rollback that failed would refuse every later BEGIN.
    if !c.is_autocommit() {
        drop(c.execute_batch("ROLLBACK"));
    }
    match c.execute_batch("BEGIN IMMEDIATE") {
        Ok(()) => Ok(()),
        // Another process (the CLI) held the file's write lock past the busy timeout.
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => Err(jobs
            .iter()
            .map(|_| Err(StoreError::Busy(WRITE_WAIT)))
            .collect()),
        Err(e) => Err(all_fail(jobs, &e.to_string())),
    }
}

/// The group without savepoints: `None` (nothing kept) when a batch stopped or failed.
fn whole(c: &rusqlite::Connection, jobs: &[Job]) -> Option<Vec<Answer>> {
    if let Err(refused) = begin(c, jobs) {
        return Some(refused);
    }
    if !jobs
        .iter()
        .all(|job| matches!(writes(c, &job.writes), Ok(None)))
    {
        drop(c.execute_batch("ROLLBACK"));
        return None;
    }
    if let Err(e) = c.execute_batch("COMMIT") {
        drop(c.execute_batch("ROLLBACK"));
        return Some(all_fail(jobs, &e.to_string()));
    }
    Some(jobs.iter().map(|_| Ok(None)).collect())
}

/// The group with a savepoint per batch.
fn savepointed(c: &rusqlite::Connection, jobs: &[Job]) -> Vec<Answer> {
    if let Err(refused) = begin(c, jobs) {
        return refused;
    }
    let mut answers = Vec::with_capacity(jobs.len());
    for job in jobs {
        match one(c, &job.writes) {
            Ok(answer) => answers.push(answer),
            Err(e) => {
                // A savepoint that could not be rolled back: nothing of the group is kept.
                drop(c.execute_batch("ROLLBACK"));
                return all_fail(jobs, &e.to_string());
            }
        }
    }
    if let Err(e) = c.execute_batch("COMMIT") {
        drop(c.execute_batch("ROLLBACK"));
        return all_fail(jobs, &e.to_string());
    }
    answers
}

/// Runs one batch in a savepoint: its answer, or (the outer error) a savepoint that failed.
fn one(c: &rusqlite::Connection, batch: &[(Write, bool)]) -> Result<Answer> {
    c.execute_batch("SAVEPOINT batch")?;
    let answer = writes(c, batch);
    match answer {
        Ok(None) => c.execute_batch("RELEASE batch")?,
        _ => c.execute_batch("ROLLBACK TO batch; RELEASE batch")?,
    }
    Ok(answer)
}

/// Runs a batch's writes in order, up to the first that stops it (its index).
fn writes(c: &rusqlite::Connection, batch: &[(Write, bool)]) -> Answer {
    for (i, (w, must)) in batch.iter().enumerate() {
        let mut stmt = c.prepare_cached(w.sql)?;
        bind_numbered(&mut stmt, &w.params)?;
        let changed = u64::try_from(stmt.raw_execute()?).unwrap_or(u64::MAX);
        if stops(*must, changed) {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bulk::Param;

    fn db() -> (impl Sized, rusqlite::Connection) {
        let dir = portcullis_testkit::temp_dir();
        let c = rusqlite::Connection::open(dir.path().join("t.db")).unwrap();
        c.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (k TEXT PRIMARY KEY);")
            .unwrap();
        (dir, c)
    }

    /// A WAL database holding the table `t`, closed: its path, for a committer to open.
    fn db_file() -> (impl Sized, std::path::PathBuf) {
        let dir = portcullis_testkit::temp_dir();
        let path = dir.path().join("t.db");
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (k TEXT PRIMARY KEY);")
            .unwrap();
        (dir, path)
    }

    fn insert(k: &str) -> (Write, bool) {
        (
            Write::new("INSERT INTO t (k) VALUES ($1)", vec![Param::Text(k.into())]),
            false,
        )
    }

    /// The write gate alone — no SQLite lock held — keeps a batch waiting, and only as long
    /// as a transaction may wait: then it is refused Busy, and the next goes through.
    #[tokio::test]
    async fn a_batch_waits_for_the_write_gate_and_no_longer_than_a_transaction() {
        let (_dir, path) = db_file();
        let gate: Arc<tokio::sync::Mutex<()>> = Arc::default();
        let g = GroupCommit::start(&path, Durability::Full, gate.clone()).unwrap();
        let held = gate.clone().lock_owned().await;
        let started = std::time::Instant::now();
        let refused = tokio::time::timeout(Duration::from_secs(30), g.commit(vec![insert("a")]))
            .await
            .expect("the wait is bounded");
        assert!(matches!(refused, Err(StoreError::Busy(_))), "{refused:?}");
        assert!(started.elapsed() >= WRITE_WAIT);
        drop(held);
        assert!(matches!(g.commit(vec![insert("b")]).await, Ok(None)));
        g.stop().await;
        let c = rusqlite::Connection::open(&path).unwrap();
        assert_eq!(keys(&c), ["b"]);
        // Stopped: a batch is refused, not lost in a queue nobody reads.
        assert!(g.commit(vec![insert("c")]).await.is_err());
    }

    /// Under steady load the write-ahead log stays short: each checkpoint completes, so the
    /// log is reused from its start. (A checkpointer running beside the committer, tried on
    /// 2026-12-02, overlapped a commit every time, never completed, and let the log grow to
    /// 2.6 GB in a 20-second benchmark.) Here 32 writers commit 160 MB of rows in all, back
    /// to back (overflow pages and the index make it more in the log); the log's file must
    /// end no longer than the length at which it is copied and what the copy let pass.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn under_steady_load_the_log_is_reused_not_grown() {
        let (_dir, path) = db_file();
        let g = GroupCommit::start(&path, Durability::Full, Arc::default()).unwrap();
        // The log's longest, sampled while the writers run.
        let wal = path.with_extension("db-wal");
        let running = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let sampler = {
            let (wal, running) = (wal.clone(), running.clone());
            tokio::task::spawn_blocking(move || {
                let mut longest = 0;
                while running.load(Ordering::Relaxed) {
                    longest = longest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
                    std::thread::sleep(Duration::from_millis(1));
                }
                longest
            })
        };
        let writers: Vec<_> = (0..32)
            .map(|w| {
                let g = g.clone();
                tokio::spawn(async move {
                    for i in 0..625 {
                        let k = format!("{w:02}-{i:04}-{}", "x".repeat(8_000));
                        assert!(matches!(g.commit(vec![insert(&k)]).await, Ok(None)));
                    }
                })
            })
            .collect();
        for w in writers {
            w.await.unwrap();
        }
        let (batches, groups) = g.counts();
        assert_eq!(batches, 20_000);
        assert!(groups < batches, "the writers' batches shared commits");
        running.store(false, Ordering::Relaxed);
        let longest = sampler.await.unwrap();
        // Far under SQLite's own checkpoint (the backstop, at four times the length), which
        // alone would let it reach that.
        assert!(
            longest < 3 * CHECKPOINT_BYTES,
            "the log grew to {longest} bytes"
        );
        let log = std::fs::metadata(&wal).unwrap().len();
        assert!(log < 2 * CHECKPOINT_BYTES, "the log grew to {log} bytes");
        g.stop().await;
    }

    fn job(writes: Vec<(Write, bool)>) -> Job {
        let (reply, _) = oneshot::channel();
        Job { writes, reply }
    }

    fn keys(c: &rusqlite::Connection) -> Vec<String> {
        let mut s = c.prepare("SELECT k FROM t ORDER BY k").unwrap();
        let rows = s.query_map([], |r| r.get(0)).unwrap();
        rows.map(Result::unwrap).collect()
    }

    /// In one group: a batch whose second statement fails keeps nothing, one that stops
    /// keeps nothing, and the batches before and after them are kept.
    #[test]
    fn in_one_group_a_failing_or_stopped_batch_keeps_nothing_and_spoils_no_other() {
        let (_dir, c) = db();
        let jobs = vec![
            job(vec![insert("a1"), insert("a2")]),
            // "a1" again: a unique violation after "b1" was written.
            job(vec![insert("b1"), insert("a1")]),
            job(vec![
                insert("c1"),
                (
                    Write::new("UPDATE t SET k = 'x' WHERE k = 'none'", vec![]),
                    true,
                ),
            ]),
            job(vec![insert("d1")]),
        ];
        let answers = group(&c, &jobs, &mut false);
        assert!(matches!(answers[0], Ok(None)), "{:?}", answers[0]);
        assert!(answers[1]
            .as_ref()
            .is_err_and(StoreError::is_unique_violation));
        assert!(matches!(answers[2], Ok(Some(1))), "{:?}", answers[2]);
        assert!(matches!(answers[3], Ok(None)), "{:?}", answers[3]);
        assert_eq!(keys(&c), ["a1", "a2", "d1"]);
        assert!(c.is_autocommit(), "the group's transaction is over");
    }

    fn stop() -> (Write, bool) {
        (
            Write::new("UPDATE t SET k = 'x' WHERE k = 'none'", vec![]),
            true,
        )
    }

    /// A stop (say, a replayed sign-in) makes the next group start with savepoints — an
    /// attacker's replays cost what savepoints cost, not every group run twice — and a group
    /// without one ends that; every group still keeps exactly its batches that went through.
    #[test]
    fn after_a_stop_the_next_group_starts_with_savepoints_until_one_has_none() {
        let (_dir, c) = db();
        let mut cautious = false;
        let answers = group(
            &c,
            &[job(vec![insert("a")]), job(vec![stop()])],
            &mut cautious,
        );
        assert!(matches!(answers[0], Ok(None)) && matches!(answers[1], Ok(Some(0))));
        assert!(cautious, "a stop makes the next group cautious");
        let answers = group(
            &c,
            &[job(vec![insert("b")]), job(vec![stop()])],
            &mut cautious,
        );
        assert!(matches!(answers[0], Ok(None)) && matches!(answers[1], Ok(Some(0))));
        assert!(cautious);
        let answers = group(&c, &[job(vec![insert("c")])], &mut cautious);
        assert!(matches!(answers[0], Ok(None)));
        assert!(!cautious, "a group without a stop ends it");
        assert_eq!(keys(&c), ["a", "b", "c"]);
        assert!(c.is_autocommit());
    }

    /// A group that cannot be kept (the file may not grow: SQLite rolls the transaction
    /// back, and the next savepoint's rollback fails) is answered with an error for every
    /// batch in it, and nothing of it is kept — not one batch answered as kept.
    #[test]
    fn a_group_that_cannot_be_kept_is_refused_whole() {
        let (_dir, c) = db();
        let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
        c.execute_batch(&format!("PRAGMA max_page_count = {pages}"))
            .unwrap();
        let big = "x".repeat(64 * 1024);
        let jobs = vec![
            job(vec![insert("small")]),
            job(vec![insert(&big)]),
            job(vec![insert("also-small")]),
        ];
        let answers = group(&c, &jobs, &mut false);
        assert!(answers.iter().all(Result::is_err), "{answers:?}");
        assert!(keys(&c).is_empty());
        assert!(c.is_autocommit());
        // And the next group goes through once there is room.
        c.execute_batch("PRAGMA max_page_count = 1000000").unwrap();
        let answers = group(&c, &[job(vec![insert("later")])], &mut false);
        assert!(matches!(answers[0], Ok(None)), "{:?}", answers[0]);
        assert_eq!(keys(&c), ["later"]);
    }
}
