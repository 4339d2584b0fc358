//! SQLite implementation of [`Store`]: one writer and one reader connection, WAL,
//! `synchronous = FULL`, schema migrations by `PRAGMA user_version` at open. SQL only: the
//! rules are in [`crate::service::rules`] and run against [`Tx`] on these connections.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex, OnceLock};

use livechat_protocol::{Attachment, Customer, Event, Message, Seq, ThreadStatus};
use rusqlite::{params, Connection, OptionalExtension};

use super::writer::{self, Job};
use super::*;

mod embedded {
    refinery::embed_migrations!("migrations/sqlite");
}

/// The SQLite store.
///
/// Writes use group commit (see [`writer`](super::writer)): a dedicated thread owns the write
/// connection and applies every mutation queued meanwhile in one transaction, one savepoint
/// per mutation, with one commit (one fsync). Callers are answered only after that commit.
/// Reads use their own connection and see committed data only (WAL).
pub struct SqliteStore {
    /// Queue of the writer thread; `None` once the store is being dropped.
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    reader: Mutex<Connection>,
    publisher: Arc<OnceLock<Publisher>>,
}

fn internal<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::Internal(e.to_string())
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        internal(e)
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        internal(e)
    }
}

/// Page cache bound of each connection, KiB.
const CACHE_KIB: i64 = 64 * 1024;

fn open_conn(path: &Path) -> Result<Connection, String> {
    let c = Connection::open(path).map_err(|e| format!("open {}: {e}", path.display()))?;
    c.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(|e| e.to_string())?;
    c.pragma_update(None, "journal_mode", "WAL")
        .map_err(|e| e.to_string())?;
    c.pragma_update(None, "synchronous", "FULL")
        .map_err(|e| e.to_string())?;
    c.pragma_update(None, "foreign_keys", "ON")
        .map_err(|e| e.to_string())?;
    // Savepoints (one per mutation in a group-commit batch) keep their undo pages in the
    // statement journal: in memory, not in a temp file written for every mutation.
    c.pragma_update(None, "temp_store", "MEMORY")
        .map_err(|e| e.to_string())?;
    // Inserts land on random pages of several indexes (random ids, per-principal keys):
    // with the 2 MiB default cache most of them were re-read from the WAL by `pread`.
    // This is an upper bound (pages are allocated on use), per connection.
    c.pragma_update(None, "cache_size", -CACHE_KIB)
        .map_err(|e| e.to_string())?;
    // The hot write path prepares ~12 distinct statements; keep them all cached.
    c.set_prepared_statement_cache_capacity(64);
    Ok(c)
}

/// Runs the migrations of `server/migrations/sqlite/` that are not applied yet (refinery).
/// A database from before refinery counted its versions in `PRAGMA user_version`: those are
/// recorded as applied without running them again.
fn migrate(c: &mut Connection) -> Result<(), String> {
    let legacy: i64 = c
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|e| e.to_string())?;
    let has_history: bool = c
        .query_row(
            "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'refinery_schema_history'",
            [],
            |r| r.get(0),
        )
        .map_err(|e| e.to_string())?;
    if legacy > 0 && !has_history {
        embedded::migrations::runner()
            .set_target(refinery::Target::FakeVersion(legacy as i32))
            .run(c)
            .map_err(|e| format!("migrations: {e}"))?;
    }
    embedded::migrations::runner()
        .run(c)
        .map_err(|e| format!("migrations: {e}"))?;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating and migrating) `dir/livechat.sqlite3`.
    pub fn open(dir: &Path) -> Result<SqliteStore, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("data dir {}: {e}", dir.display()))?;
        let path = dir.join("livechat.sqlite3");
        let mut w = open_conn(&path)?;
        migrate(&mut w)?;
        let r = open_conn(&path)?;
        let publisher = Arc::new(OnceLock::new());
        let (tx, rx) = mpsc::channel();
        let p = publisher.clone();
        let writer = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer::run(Writer(w), rx, p))
            .map_err(|e| format!("writer thread: {e}"))?;
        Ok(SqliteStore {
            jobs: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            reader: Mutex::new(r),
            publisher,
        })
    }

}

impl Drop for SqliteStore {
    /// Closes the queue and waits for the writer to finish what was queued, so every
    /// accepted mutation is committed (or answered with an error) before the store is gone.
    fn drop(&mut self) {
        drop(self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take());
        let handle = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            if h.join().is_err() {
                eprintln!("sqlite writer thread panicked");
            }
        }
    }
}


/// The writer's connection.
struct Writer(Connection);

impl writer::Conn for Writer {
    fn begin(&mut self) -> StoreResult<()> {
        self.0
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| StoreError::Internal(format!("begin failed: {e}")))
    }
    fn savepoint(&mut self) -> StoreResult<()> {
        Ok(self.0.execute_batch("SAVEPOINT job")?)
    }
    fn release(&mut self) -> StoreResult<()> {
        Ok(self.0.execute_batch("RELEASE job")?)
    }
    fn rollback_to(&mut self) -> bool {
        self.0.execute_batch("ROLLBACK TO job; RELEASE job").is_ok() && !self.0.is_autocommit()
    }
    fn commit(&mut self) -> StoreResult<()> {
        Ok(self.0.execute_batch("COMMIT")?)
    }
    fn rollback(&mut self) {
        if !self.0.is_autocommit() {
            let _ = self.0.execute_batch("ROLLBACK");
        }
    }
    fn aborted(&mut self) -> bool {
        self.0.is_autocommit()
    }
    fn tx(&mut self) -> Option<&mut dyn Tx> {
        Some(&mut self.0)
    }
}

impl Store for SqliteStore {
    fn set_publisher(&self, publisher: Publisher) {
        let _ = self.publisher.set(publisher);
    }

    fn submit(&self, f: WriteFn, done: Done<()>) {
        let job = writer::job(f, done);
        let queue = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        let rejected = match queue.as_ref() {
            Some(q) => q.send(job).err().map(|e| e.0),
            None => Some(job),
        };
        drop(queue);
        if let Some(job) = rejected {
            // The writer is gone (shutdown or a crash): the job answers with an error.
            writer::reject(job, StoreError::Internal("store writer stopped".into()));
        }
    }

    fn read(&self, f: &mut dyn FnMut(&mut dyn Tx) -> StoreResult<()>) -> StoreResult<()> {
        let mut c = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        c.execute_batch("BEGIN DEFERRED")?;
        let out = f(&mut *c);
        let end = if out.is_ok() { "COMMIT" } else { "ROLLBACK" };
        let ended = c.execute_batch(end);
        out?;
        Ok(ended?)
    }
}

const MSG_COLS: &str =
    "m.id, m.thread_id, m.client_id, m.author, m.agent_name, m.text, m.agent_message, m.custom, \
     m.custom_data, m.created_at, a.id, a.file_name, a.content_type, a.size, a.external_url";

fn msg_from_row(r: &rusqlite::Row) -> rusqlite::Result<AgentMessage> {
    let custom_data: Option<String> = r.get(8)?;
    let att_id: Option<String> = r.get(10)?;
    let attachment = match att_id {
        Some(id) => {
            let external: Option<String> = r.get(14)?;
            Some(Attachment {
                url: external.unwrap_or_else(|| format!("/v1/attachments/{id}")),
                id,
                file_name: r.get(11)?,
                content_type: r.get(12)?,
                size: r.get::<_, i64>(13)? as u64,
            })
        }
        None => None,
    };
    Ok(AgentMessage {
        message: Message {
            id: r.get(0)?,
            thread_id: r.get(1)?,
            client_id: r.get(2)?,
            author: parse_author(&r.get::<_, String>(3)?),
            agent_name: r.get(4)?,
            text: r.get(5)?,
            custom: r.get::<_, i64>(7)? != 0,
            created_at: r.get::<_, i64>(9)? as u64,
            attachment,
        },
        agent_message: r.get(6)?,
        custom_data: custom_data.and_then(|s| serde_json::from_str(&s).ok()),
    })
}

const THREAD_COLS: &str = "id, widget_id, principal_id, status, created_at, last_activity_at, updated_at";

fn thread_from_row(r: &rusqlite::Row) -> rusqlite::Result<ThreadRow> {
    Ok(ThreadRow {
        id: r.get(0)?,
        widget_id: r.get(1)?,
        principal_id: r.get(2)?,
        status: parse_status(&r.get::<_, String>(3)?),
        created_at: r.get::<_, i64>(4)? as u64,
        last_activity_at: r.get::<_, i64>(5)? as u64,
        updated_at: r.get::<_, i64>(6)? as u64,
    })
}

fn customer_of(sub: Option<String>, stp: Option<String>) -> Option<Customer> {
    match (sub, stp) {
        (Some(subject), Some(subject_type)) => Some(Customer {
            subject,
            subject_type,
        }),
        _ => None,
    }
}

/// The message row inserted last on this connection (`last_insert_rowid`, when that was a
/// message: rowid tables written by the rules are threads, attachments and messages, and
/// a rule stores the message right before its event and its idempotency row), as visitors
/// see it.
fn last_inserted_message(c: &Connection) -> StoreResult<Option<(i64, Message)>> {
    let n = c.last_insert_rowid();
    Ok(c
        .prepare_cached(&format!(
            "SELECT {MSG_COLS} FROM messages m LEFT JOIN attachments a ON a.id = m.attachment_id WHERE m.n = ?1"
        ))?
        .query_row(params![n], |r| Ok((n, msg_from_row(r)?.message)))
        .optional()?)
}

/// `n` of the message row `message` repeats exactly, when it is the last one inserted.
fn last_message(c: &Connection, message: &Message) -> StoreResult<Option<i64>> {
    Ok(last_inserted_message(c)?.filter(|(_, m)| m == message).map(|(n, _)| n))
}

fn meta_rows(st: &mut rusqlite::CachedStatement<'_>, p: impl rusqlite::Params) -> StoreResult<Vec<MetaRow>> {
    let rows = st.query_map(p, |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)? as u64))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl Tx for Connection {
    fn lock_principal(&mut self, _principal_id: &str) -> StoreResult<()> {
        // One writer: every write transaction is already exclusive.
        Ok(())
    }

    fn principal(&mut self, id: &str) -> StoreResult<Option<Principal>> {
        Ok(self
            .prepare_cached("SELECT widget_id, subject, subject_type FROM principals WHERE id = ?1")?
            .query_row(params![id], |r| {
                Ok(Principal {
                    id: id.to_string(),
                    widget_id: r.get(0)?,
                    customer: customer_of(r.get(1)?, r.get(2)?),
                })
            })
            .optional()?)
    }

    fn insert_principal(&mut self, p: &Principal, now: u64) -> StoreResult<()> {
        let (kind, sub, stp) = match &p.customer {
            Some(c) => ("customer", Some(&c.subject), Some(&c.subject_type)),
            None => ("visitor", None, None),
        };
        self.prepare_cached(
            "INSERT INTO principals(id, widget_id, kind, subject, subject_type, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![p.id, p.widget_id, kind, sub, stp, now as i64])?;
        Ok(())
    }

    fn find_customer(&mut self, widget_id: &str, c: &Customer) -> StoreResult<Option<String>> {
        Ok(self
            .prepare_cached(
                "SELECT id FROM principals WHERE kind = 'customer' AND widget_id = ?1 AND subject_type = ?2 AND subject = ?3",
            )?
            .query_row(params![widget_id, c.subject_type, c.subject], |r| r.get(0))
            .optional()?)
    }

    fn head(&mut self, principal_id: &str) -> StoreResult<Seq> {
        Ok(self
            .prepare_cached("SELECT head_seq FROM principals WHERE id = ?1")?
            .query_row(params![principal_id], |r| r.get::<_, i64>(0))
            .optional()?
            .unwrap_or(0) as Seq)
    }

    fn rate_bucket(&mut self, principal_id: &str) -> StoreResult<Option<(f64, u64)>> {
        Ok(self
            .prepare_cached("SELECT rate_tokens, rate_at FROM principals WHERE id = ?1 AND rate_at IS NOT NULL")?
            .query_row(params![principal_id], |r| Ok((r.get::<_, f64>(0)?, r.get::<_, i64>(1)? as u64)))
            .optional()?)
    }

    fn set_rate_bucket(&mut self, principal_id: &str, tokens: f64, at: u64) -> StoreResult<()> {
        self.prepare_cached("UPDATE principals SET rate_tokens = ?2, rate_at = ?3 WHERE id = ?1")?
            .execute(params![principal_id, tokens, at as i64])?;
        Ok(())
    }

    fn next_seq(&mut self, principal_id: &str) -> StoreResult<Seq> {
        let seq: i64 = self
            .prepare_cached("UPDATE principals SET head_seq = head_seq + 1 WHERE id = ?1 RETURNING head_seq")?
            .query_row(params![principal_id], |r| r.get(0))?;
        Ok(seq as Seq)
    }

    fn insert_event(&mut self, principal_id: &str, seq: Seq, event: &Event, now: u64) -> StoreResult<()> {
        // A message event refers to the message row it repeats (inserted just before by the
        // same rule) instead of holding a copy of its JSON; anything else keeps its JSON.
        if let Event::Message { message } = event {
            if let Some(n) = last_message(self, message)? {
                self.prepare_cached("INSERT INTO events(principal_id, seq, message_n, created_at) VALUES (?1, ?2, ?3, ?4)")?
                    .execute(params![principal_id, seq as i64, n, now as i64])?;
                return Ok(());
            }
        }
        self.prepare_cached("INSERT INTO events(principal_id, seq, body, created_at) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![principal_id, seq as i64, serde_json::to_string(event)?, now as i64])?;
        Ok(())
    }

    fn events_after(&mut self, principal_id: &str, after: Seq) -> StoreResult<Vec<(Seq, Event)>> {
        let mut st = self.prepare_cached(&format!(
            "SELECT {MSG_COLS}, e.seq, e.body FROM events e LEFT JOIN messages m ON m.n = e.message_n \
             LEFT JOIN attachments a ON a.id = m.attachment_id \
             WHERE e.principal_id = ?1 AND e.seq > ?2 ORDER BY e.seq"
        ))?;
        let rows = st.query_map(params![principal_id, after as i64], |r| {
            let body: Option<String> = r.get(16)?;
            let message = match body {
                Some(_) => None,
                None => Some(msg_from_row(r)?.message),
            };
            Ok((r.get::<_, i64>(15)?, body, message))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, body, message) = row?;
            let event = match (body, message) {
                (Some(body), _) => serde_json::from_str(&body)?,
                (None, Some(message)) => Event::Message { message },
                (None, None) => return Err(internal(format!("event {seq} has neither body nor message"))),
            };
            out.push((seq as Seq, event));
        }
        Ok(out)
    }

    fn session(&mut self, token_hash: &str) -> StoreResult<Option<SessionRow>> {
        Ok(self
            .prepare_cached(
                "SELECT principal_id, widget_id, last_used_at, ended, auth_expires_at FROM sessions WHERE token_hash = ?1",
            )?
            .query_row(params![token_hash], |r| {
                Ok(SessionRow {
                    principal_id: r.get(0)?,
                    widget_id: r.get(1)?,
                    last_used_at: r.get::<_, i64>(2)? as u64,
                    ended: r.get::<_, i64>(3)? != 0,
                    auth_expires_at: r.get::<_, Option<i64>>(4)?.map(|t| t as u64),
                })
            })
            .optional()?)
    }

    fn insert_session(&mut self, token_hash: &str, s: &SessionRow, now: u64) -> StoreResult<()> {
        self.prepare_cached(
            "INSERT INTO sessions(token_hash, principal_id, widget_id, created_at, last_used_at, ended, auth_expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            token_hash,
            s.principal_id,
            s.widget_id,
            now as i64,
            s.last_used_at as i64,
            s.ended as i64,
            s.auth_expires_at.map(|t| t as i64)
        ])?;
        Ok(())
    }

    fn touch_session(&mut self, token_hash: &str, now: u64) -> StoreResult<()> {
        self.prepare_cached("UPDATE sessions SET last_used_at = ?2 WHERE token_hash = ?1")?
            .execute(params![token_hash, now as i64])?;
        Ok(())
    }

    fn end_session(&mut self, token_hash: &str) -> StoreResult<()> {
        self.prepare_cached("UPDATE sessions SET ended = 1 WHERE token_hash = ?1")?
            .execute(params![token_hash])?;
        Ok(())
    }

    fn insert_jti(&mut self, widget_id: &str, jti: &str, exp: u64) -> StoreResult<bool> {
        let n = self
            .prepare_cached("INSERT OR IGNORE INTO used_jtis(widget_id, jti, exp) VALUES (?1, ?2, ?3)")?
            .execute(params![widget_id, jti, exp as i64])?;
        Ok(n == 1)
    }

    fn purge(&mut self, now: u64, session_cutoff: u64) -> StoreResult<()> {
        self.execute("DELETE FROM used_jtis WHERE exp < ?1", params![now as i64])?;
        self.execute("DELETE FROM sessions WHERE last_used_at < ?1", params![session_cutoff as i64])?;
        Ok(())
    }

    fn thread(&mut self, id: &str) -> StoreResult<Option<ThreadRow>> {
        Ok(self
            .prepare_cached(&format!("SELECT {THREAD_COLS} FROM threads WHERE id = ?1"))?
            .query_row(params![id], thread_from_row)
            .optional()?)
    }

    fn insert_thread(&mut self, t: &ThreadRow) -> StoreResult<()> {
        self.prepare_cached(
            "INSERT INTO threads(id, widget_id, principal_id, status, created_at, last_activity_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            t.id,
            t.widget_id,
            t.principal_id,
            status_str(t.status),
            t.created_at as i64,
            t.last_activity_at as i64,
            t.updated_at as i64
        ])?;
        Ok(())
    }

    fn set_thread_status(&mut self, id: &str, status: ThreadStatus, now: u64) -> StoreResult<()> {
        self.prepare_cached("UPDATE threads SET status = ?2, updated_at = ?3 WHERE id = ?1")?
            .execute(params![id, status_str(status), now as i64])?;
        Ok(())
    }

    fn active_open_thread(&mut self, principal_id: &str) -> StoreResult<Option<String>> {
        Ok(self
            .prepare_cached(
                "SELECT id FROM threads WHERE principal_id = ?1 AND status = 'OPEN' \
                 ORDER BY (SELECT MAX(n) FROM messages WHERE thread_id = threads.id) DESC NULLS LAST, \
                 created_at DESC, rowid DESC LIMIT 1",
            )?
            .query_row(params![principal_id], |r| r.get(0))
            .optional()?)
    }

    fn open_threads(&mut self, principal_id: &str) -> StoreResult<Vec<String>> {
        let mut st = self.prepare_cached(
            "SELECT id FROM threads WHERE principal_id = ?1 AND status = 'OPEN' ORDER BY created_at, rowid",
        )?;
        let v = st
            .query_map(params![principal_id], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(v)
    }

    fn threads_of(&mut self, principal_id: &str, limit: usize) -> StoreResult<Vec<ThreadRow>> {
        let lim = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut st = self.prepare_cached(&format!(
            "SELECT {THREAD_COLS} FROM (SELECT *, rowid AS r FROM threads WHERE principal_id = ?1 \
             ORDER BY created_at DESC, rowid DESC LIMIT ?2) ORDER BY created_at, r"
        ))?;
        let v = st
            .query_map(params![principal_id, lim], thread_from_row)?
            .collect::<Result<_, _>>()?;
        Ok(v)
    }

    fn move_threads(&mut self, from: &str, to: &str) -> StoreResult<()> {
        self.execute("UPDATE threads SET principal_id = ?2 WHERE principal_id = ?1", params![from, to])?;
        Ok(())
    }

    fn stale_open_threads(&mut self, widget_id: &str, cutoff: u64, limit: usize) -> StoreResult<Vec<(String, String)>> {
        let mut st = self.prepare_cached(
            "SELECT id, principal_id FROM threads WHERE widget_id = ?1 AND status = 'OPEN' AND last_activity_at < ?2 LIMIT ?3",
        )?;
        let v = st
            .query_map(params![widget_id, cutoff as i64, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(v)
    }

    fn list_threads(&mut self, widget_id: Option<&str>, status: Option<ThreadStatus>, limit: usize) -> StoreResult<Vec<String>> {
        let mut st = self.prepare_cached(
            "SELECT id FROM threads WHERE (?1 IS NULL OR widget_id = ?1) AND (?2 IS NULL OR status = ?2) \
             ORDER BY updated_at DESC, rowid DESC LIMIT ?3",
        )?;
        let v = st
            .query_map(params![widget_id, status.map(status_str), limit as i64], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(v)
    }

    fn insert_message(&mut self, m: &AgentMessage, attachment: Option<&NewAttachment>) -> StoreResult<()> {
        let msg = &m.message;
        if let Some(a) = attachment {
            self.prepare_cached(
                "INSERT INTO attachments(id, file_name, content_type, size, file, external_url, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![a.id, a.file_name, a.content_type, a.size as i64, a.file, a.external_url, msg.created_at as i64])?;
        }
        self.prepare_cached(
            "INSERT INTO messages(id, thread_id, client_id, author, agent_name, text, agent_message, custom, custom_data, attachment_id, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            msg.id,
            msg.thread_id,
            msg.client_id,
            author_str(msg.author),
            msg.agent_name,
            msg.text,
            m.agent_message,
            msg.custom as i64,
            m.custom_data.as_ref().map(|v| v.to_string()),
            attachment.map(|a| a.id.as_str()),
            msg.created_at as i64
        ])?;
        self.prepare_cached("UPDATE threads SET last_activity_at = ?2, updated_at = ?2 WHERE id = ?1")?
            .execute(params![msg.thread_id, msg.created_at as i64])?;
        Ok(())
    }

    fn last_message_time(&mut self, thread_id: &str) -> StoreResult<Option<u64>> {
        // Message times increase with storage order (see `rules::message_time`), so the last
        // by `n` has the greatest time: the `messages_thread` index finds it without a scan.
        Ok(self
            .prepare_cached("SELECT created_at FROM messages WHERE thread_id = ?1 ORDER BY n DESC LIMIT 1")?
            .query_row(params![thread_id], |r| r.get::<_, i64>(0))
            .optional()?
            .map(|t| t as u64))
    }

    fn thread_messages(&mut self, thread_id: &str, limit: usize) -> StoreResult<Vec<AgentMessage>> {
        let lim: i64 = if limit == 0 { -1 } else { i64::try_from(limit).unwrap_or(i64::MAX) };
        let mut st = self.prepare_cached(&format!(
            "SELECT {MSG_COLS} FROM messages m LEFT JOIN attachments a ON a.id = m.attachment_id \
             WHERE m.thread_id = ?1 ORDER BY m.n DESC LIMIT ?2"
        ))?;
        let mut v = st
            .query_map(params![thread_id, lim], msg_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        v.reverse();
        Ok(v)
    }

    fn messages_before(&mut self, thread_id: &str, before: Option<&str>, limit: usize) -> StoreResult<Option<Vec<AgentMessage>>> {
        let bound: i64 = match before {
            None => i64::MAX,
            Some(id) => {
                // No index on the message id (V4): messages_thread narrows it to the thread's
                // rows, which this scans; one lookup per page the visitor scrolls to.
                let n = self
                    .prepare_cached("SELECT n FROM messages WHERE id = ?1 AND thread_id = ?2")?
                    .query_row(params![id, thread_id], |r| r.get(0))
                    .optional()?;
                match n {
                    Some(n) => n,
                    None => return Ok(None),
                }
            }
        };
        let lim = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut st = self.prepare_cached(&format!(
            "SELECT {MSG_COLS} FROM messages m LEFT JOIN attachments a ON a.id = m.attachment_id \
             WHERE m.thread_id = ?1 AND m.n < ?2 ORDER BY m.n DESC LIMIT ?3"
        ))?;
        let mut v = st
            .query_map(params![thread_id, bound, lim], msg_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        v.reverse();
        Ok(Some(v))
    }

    fn message_counts(&mut self, thread_id: &str) -> StoreResult<(u64, u64)> {
        let count: i64 = self
            .prepare_cached("SELECT COUNT(*) FROM messages WHERE thread_id = ?1")?
            .query_row(params![thread_id], |r| r.get(0))?;
        let unread: i64 = self
            .prepare_cached(
                "SELECT COUNT(*) FROM messages WHERE thread_id = ?1 AND author = 'visitor' AND n > \
                 COALESCE((SELECT MAX(n) FROM messages WHERE thread_id = ?1 AND author = 'agent'), 0)",
            )?
            .query_row(params![thread_id], |r| r.get(0))?;
        Ok((count as u64, unread as u64))
    }

    fn attachment(&mut self, id: &str) -> StoreResult<Option<AttachmentRecord>> {
        Ok(self
            .prepare_cached("SELECT file_name, content_type, size, file, external_url FROM attachments WHERE id = ?1")?
            .query_row(params![id], |r| {
                Ok(AttachmentRecord {
                    file_name: r.get(0)?,
                    content_type: r.get(1)?,
                    size: r.get::<_, i64>(2)? as u64,
                    file: r.get(3)?,
                    external_url: r.get(4)?,
                })
            })
            .optional()?)
    }

    fn request(&mut self, principal_id: &str, req: &str) -> StoreResult<Option<RequestRow>> {
        let row = self
            .prepare_cached(&format!(
                "SELECT {MSG_COLS}, r.kind, r.body_hash, r.response FROM requests r \
                 LEFT JOIN messages m ON m.n = r.message_n LEFT JOIN attachments a ON a.id = m.attachment_id \
                 WHERE r.principal_id = ?1 AND r.req = ?2"
            ))?
            .query_row(params![principal_id, req], |r| {
                let response: Option<String> = r.get(17)?;
                let message = match response {
                    Some(_) => None,
                    None => Some(msg_from_row(r)?.message),
                };
                Ok((r.get::<_, String>(15)?, r.get::<_, String>(16)?, response, message))
            })
            .optional()?;
        let Some((kind, body_hash, response, message)) = row else { return Ok(None) };
        let response = match (response, message) {
            (Some(r), _) => r,
            // A send's answer is its message: stored as a reference to the row.
            (None, Some(m)) => serde_json::to_string(&m)?,
            (None, None) => return Err(internal("request without a response")),
        };
        Ok(Some(RequestRow { kind, body_hash, response }))
    }

    fn insert_request(&mut self, principal_id: &str, req: &str, r: &RequestRow, now: u64) -> StoreResult<()> {
        // A send's answer is the JSON of the message the rule just stored: keep a reference
        // to that row when it reproduces the answer exactly, else the answer itself.
        if r.kind == "send" {
            if let Some((n, m)) = last_inserted_message(self)? {
                if serde_json::to_string(&m)? == r.response {
                    self.prepare_cached(
                        "INSERT INTO requests(principal_id, req, kind, body_hash, message_n, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?
                    .execute(params![principal_id, req, r.kind, r.body_hash, n, now as i64])?;
                    return Ok(());
                }
            }
        }
        self.prepare_cached(
            "INSERT INTO requests(principal_id, req, kind, body_hash, response, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![principal_id, req, r.kind, r.body_hash, r.response, now as i64])?;
        Ok(())
    }

    fn move_requests(&mut self, from: &str, to: &str) -> StoreResult<()> {
        self.execute("UPDATE OR IGNORE requests SET principal_id = ?2 WHERE principal_id = ?1", params![from, to])?;
        self.execute("DELETE FROM requests WHERE principal_id = ?1", params![from])?;
        Ok(())
    }

    fn merge_metadata(&mut self, thread_id: &str, entries: &[MetaRow]) -> StoreResult<()> {
        let mut st = self.prepare_cached(
            "INSERT INTO thread_metadata(thread_id, key, value, updated_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT(thread_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at \
             WHERE excluded.updated_at >= thread_metadata.updated_at",
        )?;
        for (k, v, t) in entries {
            st.execute(params![thread_id, k, v, *t as i64])?;
        }
        Ok(())
    }

    fn metadata(&mut self, thread_id: &str) -> StoreResult<BTreeMap<String, MetaEntry>> {
        let mut st = self.prepare_cached("SELECT key, value, updated_at FROM thread_metadata WHERE thread_id = ?1")?;
        Ok(meta_rows(&mut st, params![thread_id])?
            .into_iter()
            .map(|(k, v, t)| {
                (
                    k,
                    MetaEntry {
                        value: serde_json::from_str(&v).unwrap_or(Json::Null),
                        updated_at: t,
                    },
                )
            })
            .collect())
    }

    fn put_pending(&mut self, principal_id: &str, sticky: bool, entries: &[MetaRow]) -> StoreResult<()> {
        let mut st = self.prepare_cached(
            "INSERT INTO pending_metadata(principal_id, sticky, key, value, updated_at) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT(principal_id, sticky, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )?;
        for (k, v, t) in entries {
            st.execute(params![principal_id, sticky as i64, k, v, *t as i64])?;
        }
        Ok(())
    }

    fn pending(&mut self, principal_id: &str, sticky_only: bool) -> StoreResult<Vec<MetaRow>> {
        let mut st = self.prepare_cached(
            "SELECT key, value, updated_at FROM pending_metadata WHERE principal_id = ?1 AND sticky >= ?2 \
             ORDER BY updated_at, sticky, key",
        )?;
        meta_rows(&mut st, params![principal_id, sticky_only as i64])
    }

    fn clear_oneshot_pending(&mut self, principal_id: &str) -> StoreResult<()> {
        self.prepare_cached("DELETE FROM pending_metadata WHERE principal_id = ?1 AND sticky = 0")?
            .execute(params![principal_id])?;
        Ok(())
    }

    fn move_pending(&mut self, from: &str, to: &str) -> StoreResult<()> {
        self.execute(
            "INSERT INTO pending_metadata(principal_id, sticky, key, value, updated_at) \
             SELECT ?2, sticky, key, value, updated_at FROM pending_metadata WHERE principal_id = ?1 \
             ON CONFLICT(principal_id, sticky, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at \
             WHERE excluded.updated_at >= pending_metadata.updated_at",
            params![from, to],
        )?;
        self.execute("DELETE FROM pending_metadata WHERE principal_id = ?1", params![from])?;
        Ok(())
    }
}
