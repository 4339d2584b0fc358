//! Group commit, shared by the SQL backends: one thread owns the write connection.
//!
//! Mutations arrive on a channel as [`Job`]s. The writer takes the first waiting job, drains
//! whatever else is already queued (up to [`MAX_BATCH`]), runs every job in its own savepoint
//! inside ONE transaction, commits once (one fsync), publishes the batch's effects in job
//! order, and only then answers each job. So:
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
//!
//! Savepoints are not free (SQLite copies every page a savepoint first touches into its
//! statement journal; PostgreSQL pays two round trips per job), and jobs rarely fail. So a
//! batch first runs without them; only when a job fails (or panics) is the transaction
//! rolled back and the batch run again, one savepoint per job, as described above. A write
//! function may run more than once by contract ([`WriteFn`]). After such a failure the next
//! [`CAREFUL_BATCHES`] batches use savepoints from the start, so a stream of bad requests
//! does not make every batch run twice.

use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, OnceLock};

use super::{Done, Effects, Publisher, StoreError, StoreResult, Tx, WriteFn};

/// Most jobs in one transaction: bounds the latency a batch adds to its first job and the
/// size of what one commit writes.
pub const MAX_BATCH: usize = 256;

/// Batches run with savepoints from the start after a batch in which a job failed.
pub const CAREFUL_BATCHES: u32 = 8;

/// A write connection as the writer drives it.
pub trait Conn {
    /// Starts the batch's transaction.
    fn begin(&mut self) -> StoreResult<()>;
    /// `SAVEPOINT job`.
    fn savepoint(&mut self) -> StoreResult<()>;
    /// `RELEASE job`.
    fn release(&mut self) -> StoreResult<()>;
    /// `ROLLBACK TO job; RELEASE job`; false when that failed too.
    fn rollback_to(&mut self) -> bool;
    /// Commits (durable when it returns `Ok`).
    fn commit(&mut self) -> StoreResult<()>;
    /// Rolls the whole transaction back.
    fn rollback(&mut self);
    /// True when the transaction was aborted as a whole (e.g. SQLite after an I/O error).
    fn aborted(&mut self) -> bool;
    /// True when the last failed job failed on a conflict with another writer (a deadlock,
    /// say) and may succeed in a later transaction. Single-writer backends: never.
    fn retryable(&mut self) -> bool {
        false
    }
    /// The row-level operations on this connection (`None`: no connection).
    fn tx(&mut self) -> Option<&mut dyn Tx>;
    /// Last statement of the batch before `COMMIT`: announces the committed jobs' effects
    /// inside the transaction (PostgreSQL `pg_notify`). Default: nothing.
    fn announce(&mut self, effects: &[&Effects]) -> StoreResult<()> {
        let _ = effects;
        Ok(())
    }
}

/// A queued write and its completion.
pub struct Job {
    f: WriteFn,
    done: Done<()>,
    retried: bool,
}

/// A write queued for the writer.
pub fn job(f: WriteFn, done: Done<()>) -> Job {
    Job { f, done, retried: false }
}

enum Outcome {
    Ran(Ran),
    /// Failed on a conflict with another node's writer: runs again in the next batch.
    Retry(Job),
}

/// What a job leaves behind after running in its savepoint.
struct Ran {
    ok: bool,
    effects: Effects,
    /// The job's error, or the loss of its changes after it ran.
    err: Option<StoreError>,
    done: Done<()>,
}

/// Answers a job that cannot run with `e`, without touching storage.
pub fn reject(job: Job, e: StoreError) {
    (job.done)(Err(e));
}

/// The writer thread's loop: runs until every sender is dropped and the queue is empty.
pub fn run<C: Conn>(mut conn: C, jobs: Receiver<Job>, publisher: Arc<OnceLock<Publisher>>) {
    let mut retry: Vec<Job> = Vec::new();
    let mut careful = 0u32;
    loop {
        // Jobs to retry after a conflict with another node run with savepoints.
        let retrying = !retry.is_empty();
        let mut batch = std::mem::take(&mut retry);
        if batch.is_empty() {
            match jobs.recv() {
                Ok(first) => batch.push(first),
                Err(_) => return,
            }
        }
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(j) => batch.push(j),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        if careful == 0 && !retrying {
            match commit_fast(&mut conn, batch, &publisher) {
                Ok(()) => continue,
                Err(b) => {
                    careful = CAREFUL_BATCHES;
                    batch = b;
                }
            }
        } else {
            careful = careful.saturating_sub(1);
        }
        retry = commit_batch(&mut conn, batch, &publisher);
    }
}

/// Runs `batch` in one transaction without savepoints, commits, publishes, answers. When a
/// job fails, panics or the transaction breaks, everything is rolled back and the batch
/// comes back untouched (nobody answered, nothing published) for [`commit_batch`].
fn commit_fast<C: Conn>(conn: &mut C, mut batch: Vec<Job>, publisher: &OnceLock<Publisher>) -> Result<(), Vec<Job>> {
    if conn.begin().is_err() {
        return Err(batch);
    }
    let mut effects = Vec::with_capacity(batch.len());
    for job in batch.iter_mut() {
        let Some(tx) = conn.tx() else {
            conn.rollback();
            return Err(batch);
        };
        let f = &mut job.f;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(tx))) {
            Ok(Ok(fx)) if !conn.aborted() => effects.push(fx),
            _ => {
                conn.rollback();
                return Err(batch);
            }
        }
    }
    let refs: Vec<&Effects> = effects.iter().collect();
    let announced = conn.announce(&refs);
    drop(refs);
    let committed = match announced {
        // Without its notifications the batch must not commit: other nodes would not hear of it.
        Err(e) => {
            eprintln!("announce failed: {e}");
            conn.rollback();
            Err(StoreError::Internal(format!("announce failed: {e}")))
        }
        Ok(()) => conn.commit().map_err(|e| {
            eprintln!("commit failed: {e}");
            conn.rollback();
            StoreError::Internal(format!("commit failed: {e}"))
        }),
    };
    let ran: Vec<Ran> = batch
        .into_iter()
        .zip(effects)
        .map(|(job, effects)| Ran { ok: true, effects, err: None, done: job.done })
        .collect();
    if committed.is_ok() {
        publish(publisher, &ran);
    }
    answer_all(ran, committed);
    Ok(())
}

/// Runs `batch` in one transaction, commits, publishes, answers. Returns the jobs to retry.
fn commit_batch<C: Conn>(conn: &mut C, batch: Vec<Job>, publisher: &OnceLock<Publisher>) -> Vec<Job> {
    let mut retry = Vec::new();
    let mut ran: Vec<Ran> = Vec::with_capacity(batch.len());
    let mut open = false;
    for job in batch {
        if !open {
            if let Err(e) = conn.begin() {
                // BEGIN failed (disk, lock, connection): answer without running; the next
                // job retries.
                reject(job, e);
                continue;
            }
            open = true;
        }
        let r = match run_in_savepoint(conn, job) {
            Outcome::Ran(r) => r,
            Outcome::Retry(job) => {
                retry.push(job);
                continue;
            }
        };
        let broken = r.err.is_some() && r.ok;
        ran.push(r);
        if broken || conn.aborted() {
            // An error that aborts the whole transaction (I/O, disk full, a lost connection)
            // took the earlier jobs' changes with it: none of them may be acknowledged.
            conn.rollback();
            let e = StoreError::Internal("transaction aborted by a storage error".into());
            answer_all(std::mem::take(&mut ran), Err(e));
            open = false;
        }
    }
    if !open {
        return retry;
    }
    let stored: Vec<&Effects> = ran.iter().filter(|r| r.ok && r.err.is_none()).map(|r| &r.effects).collect();
    if let Err(e) = conn.announce(&stored) {
        // Without its notifications the batch must not commit: other nodes would not hear of it.
        eprintln!("announce failed: {e}");
        conn.rollback();
        answer_all(ran, Err(StoreError::Internal(format!("announce failed: {e}"))));
        return retry;
    }
    let committed = conn.commit().map_err(|e| {
        eprintln!("commit failed: {e}");
        conn.rollback();
        StoreError::Internal(format!("commit failed: {e}"))
    });
    if committed.is_ok() {
        publish(publisher, &ran);
    }
    answer_all(ran, committed);
    retry
}

/// Runs one job between `SAVEPOINT` and `RELEASE`, rolling back to the savepoint on error,
/// so a failed job leaves no trace in the batch. A job whose savepoint cannot be undone
/// comes back with `ok` and `err` both set: the transaction is broken.
fn run_in_savepoint<C: Conn>(conn: &mut C, mut job: Job) -> Outcome {
    let failed = |done, e| {
        Outcome::Ran(Ran { ok: false, effects: Effects::default(), err: Some(e), done })
    };
    if let Err(e) = conn.savepoint() {
        return failed(job.done, StoreError::Internal(format!("savepoint failed: {e}")));
    }
    let Some(tx) = conn.tx() else {
        return failed(job.done, StoreError::Internal("no database connection".into()));
    };
    let f = &mut job.f;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(tx)))
        .unwrap_or_else(|_| Err(StoreError::Internal("panic in store mutation".into())));
    match result {
        Ok(effects) => match conn.release() {
            Ok(()) => Outcome::Ran(Ran { ok: true, effects, err: None, done: job.done }),
            Err(e) => {
                let undone = conn.rollback_to();
                Outcome::Ran(Ran {
                    ok: !undone,
                    effects: Effects::default(),
                    err: Some(StoreError::Internal(format!("release failed: {e}"))),
                    done: job.done,
                })
            }
        },
        Err(e) => {
            let retryable = conn.retryable();
            let undone = conn.rollback_to();
            if undone && retryable && !job.retried {
                job.retried = true;
                return Outcome::Retry(job);
            }
            Outcome::Ran(Ran { ok: !undone, effects: Effects::default(), err: Some(e), done: job.done })
        }
    }
}

/// Pushes the effects of the batch's successful jobs, in job (= commit) order.
fn publish(publisher: &OnceLock<Publisher>, ran: &[Ran]) {
    let Some(p) = publisher.get() else { return };
    for r in ran.iter().filter(|r| r.ok && r.err.is_none()) {
        if r.effects.visitor.is_empty() && r.effects.agent.is_empty() {
            continue;
        }
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| p(&r.effects))).is_err() {
            eprintln!("publisher panicked; the effects of one mutation were not pushed");
        }
    }
}

fn answer_all(ran: Vec<Ran>, committed: StoreResult<()>) {
    for r in ran {
        let result = match r.err {
            Some(e) => Err(e),
            None => committed.clone(),
        };
        (r.done)(result);
    }
}
