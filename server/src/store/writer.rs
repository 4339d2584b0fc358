//! Group commit for the SQLite store: one thread owns the write connection.
//!
//! Mutations arrive on a channel as [`Job`]s. The writer takes the first waiting job, drains
//! whatever else is already queued (up to [`MAX_BATCH`]), runs every job in its own savepoint
//! inside ONE transaction, commits once (one fsync with `synchronous = FULL`), publishes the
//! batch's effects in job order, and only then answers each job. So:
//!
//! - durability before ack: nobody is answered `Ok` before the transaction holding their
//!   change has committed; if the commit fails, every job of the batch gets the error;
//! - one bad job does not fail its neighbours: a job that returns `Err` (or panics) is rolled
//!   back to its savepoint, the others stay in the transaction;
//! - ordering: jobs run, commit and publish in arrival order, exactly as with one transaction
//!   per job, so sequence numbers stay gap-free and fan-out order is commit order.
//!
//! There is no timer: a batch is whatever queued up while the previous one was committing,
//! so a lone request is not delayed and a busy server amortizes each fsync over many requests.

use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, OnceLock};

use rusqlite::Connection;

use super::{Effects, Publisher, StoreError, StoreResult};

/// Most jobs in one transaction: bounds the latency a batch adds to its first job and the
/// size of the WAL frame set one commit writes.
pub const MAX_BATCH: usize = 256;

/// What a job leaves behind after running in its savepoint.
pub struct Ran {
    /// Whether the job succeeded (its savepoint is kept) or failed (rolled back).
    ok: bool,
    /// Effects to publish after commit (empty for failed jobs).
    effects: Effects,
    /// Set when the job's own changes were lost after it ran (its savepoint could not be
    /// released): answered instead of the commit result.
    lost: Option<StoreError>,
    /// Answers the caller. A successful job gets `Ok(())` when the batch committed, else the
    /// error; a failed job ignores the argument and reports its own error.
    answer: Box<dyn FnOnce(StoreResult<()>) + Send>,
}

/// A mutation queued for the writer. Called once: with the connection to run on (inside a
/// savepoint of the open transaction), or with the error that prevents running it.
pub type Job = Box<dyn FnOnce(Result<&Connection, StoreError>) -> Ran + Send>;

/// Wraps a mutation and its completion callback into a [`Job`]. `f` runs inside the batch's
/// transaction; `done` is called exactly once, with `f`'s result after the commit or with the
/// error that stopped it.
pub fn job<T, F, D>(f: F, done: D) -> Job
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> StoreResult<(T, Effects)> + Send + 'static,
    D: FnOnce(StoreResult<(T, Effects)>) + Send + 'static,
{
    Box::new(move |conn: Result<&Connection, StoreError>| {
        // A panicking mutation must fail only itself, not the writer thread.
        let result = conn.and_then(|conn| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)))
                .unwrap_or_else(|_| Err(StoreError::Internal("panic in store mutation".into())))
        });
        match result {
            Ok((value, effects)) => Ran {
                ok: true,
                effects: effects.clone(),
                lost: None,
                answer: Box::new(move |committed| done(committed.map(|()| (value, effects)))),
            },
            Err(e) => Ran {
                ok: false,
                effects: Effects::default(),
                lost: None,
                answer: Box::new(move |_| done(Err(e))),
            },
        }
    })
}

/// Answers a job that cannot run with `e`, without touching storage.
pub fn reject(job: Job, e: StoreError) {
    answer(job(Err(e)), Ok(()));
}

/// The writer thread's loop: runs until every sender is dropped and the queue is empty.
pub fn run(conn: Connection, jobs: Receiver<Job>, publisher: Arc<OnceLock<Publisher>>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = Vec::with_capacity(16);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(j) => batch.push(j),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        commit_batch(&conn, batch, &publisher);
    }
}

/// Runs `batch` in one transaction, commits, publishes, answers.
fn commit_batch(conn: &Connection, batch: Vec<Job>, publisher: &OnceLock<Publisher>) {
    let mut ran: Vec<Ran> = Vec::with_capacity(batch.len());
    let mut open = false;
    for job in batch {
        if !open {
            if let Err(e) = begin(conn) {
                // BEGIN failed (disk, lock): answer without running; the next job retries.
                reject(job, e);
                continue;
            }
            open = true;
        }
        ran.push(run_in_savepoint(conn, job));
        if conn.is_autocommit() {
            // An error that aborts the whole transaction (I/O, disk full) took the earlier
            // jobs' changes with it: none of them may be acknowledged.
            let e = StoreError::Internal("transaction aborted by a storage error".into());
            answer_all(std::mem::take(&mut ran), Err(e));
            open = false;
        }
    }
    if !open {
        return;
    }
    let committed = conn.execute_batch("COMMIT").map_err(|e| {
        eprintln!("commit failed: {e}");
        let _ = conn.execute_batch("ROLLBACK");
        StoreError::Internal(format!("commit failed: {e}"))
    });
    if committed.is_ok() {
        publish(publisher, &ran);
    }
    answer_all(ran, committed);
}

fn begin(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| StoreError::Internal(format!("begin failed: {e}")))
}

/// Runs one job between `SAVEPOINT` and `RELEASE`, rolling back to the savepoint on error,
/// so a failed job leaves no trace in the batch.
fn run_in_savepoint(conn: &Connection, job: Job) -> Ran {
    if let Err(e) = conn.execute_batch("SAVEPOINT job") {
        return job(Err(StoreError::Internal(format!("savepoint failed: {e}"))));
    }
    let mut ran = job(Ok(conn));
    if ran.ok {
        if let Err(e) = conn.execute_batch("RELEASE job") {
            let _ = conn.execute_batch("ROLLBACK TO job; RELEASE job");
            ran.ok = false;
            ran.effects = Effects::default();
            ran.lost = Some(StoreError::Internal(format!("release failed: {e}")));
        }
    } else {
        let _ = conn.execute_batch("ROLLBACK TO job; RELEASE job");
    }
    ran
}

/// Pushes the effects of the batch's successful jobs, in job (= commit) order.
fn publish(publisher: &OnceLock<Publisher>, ran: &[Ran]) {
    let Some(p) = publisher.get() else { return };
    for r in ran.iter().filter(|r| r.ok) {
        if r.effects.visitor.is_empty() && r.effects.agent.is_empty() {
            continue;
        }
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| p(&r.effects))).is_err() {
            eprintln!("publisher panicked; the effects of one mutation were not pushed");
        }
    }
}

fn answer(r: Ran, committed: StoreResult<()>) {
    let result = match r.lost {
        Some(e) => Err(e),
        None => committed,
    };
    (r.answer)(result);
}

fn answer_all(ran: Vec<Ran>, committed: StoreResult<()>) {
    for r in ran {
        answer(r, committed.clone());
    }
}
