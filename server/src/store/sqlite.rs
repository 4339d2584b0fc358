//! SQLite implementation of [`Store`]: one writer and one reader connection, WAL,
//! `synchronous = FULL`, schema migrations by `PRAGMA user_version` at open.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex, OnceLock};

use livechat_protocol::{
    Attachment, Author, Customer, Event, Json, Message, MultiThreadStrategy, Seq, Thread,
    ThreadStatus,
};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::writer::{self, Job};
use super::*;
use crate::util::random_id;

const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE principals(
  id TEXT PRIMARY KEY, widget_id TEXT NOT NULL, kind TEXT NOT NULL,
  subject TEXT, subject_type TEXT, head_seq INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);
CREATE UNIQUE INDEX principals_customer ON principals(widget_id, subject_type, subject) WHERE kind = 'customer';
CREATE TABLE sessions(
  token_hash TEXT PRIMARY KEY, principal_id TEXT NOT NULL, widget_id TEXT NOT NULL,
  created_at INTEGER NOT NULL, last_used_at INTEGER NOT NULL, ended INTEGER NOT NULL DEFAULT 0);
CREATE TABLE events(
  principal_id TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY(principal_id, seq)) WITHOUT ROWID;
CREATE TABLE threads(
  id TEXT PRIMARY KEY, widget_id TEXT NOT NULL, principal_id TEXT NOT NULL, status TEXT NOT NULL,
  created_at INTEGER NOT NULL, last_activity_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE INDEX threads_principal ON threads(principal_id, status);
CREATE INDEX threads_widget_status ON threads(widget_id, status, last_activity_at);
CREATE INDEX threads_updated ON threads(updated_at);
CREATE TABLE messages(
  n INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, thread_id TEXT NOT NULL,
  client_id TEXT, author TEXT NOT NULL, agent_name TEXT, text TEXT, agent_message TEXT,
  custom INTEGER NOT NULL DEFAULT 0, custom_data TEXT, attachment_id TEXT, created_at INTEGER NOT NULL);
CREATE INDEX messages_thread ON messages(thread_id, n);
CREATE TABLE attachments(
  id TEXT PRIMARY KEY, file_name TEXT NOT NULL, content_type TEXT NOT NULL, size INTEGER NOT NULL,
  file TEXT, external_url TEXT, created_at INTEGER NOT NULL);
CREATE TABLE requests(
  principal_id TEXT NOT NULL, req TEXT NOT NULL, kind TEXT NOT NULL, body_hash TEXT NOT NULL,
  response TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY(principal_id, req)) WITHOUT ROWID;
CREATE TABLE thread_metadata(
  thread_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY(thread_id, key)) WITHOUT ROWID;
CREATE TABLE pending_metadata(
  principal_id TEXT NOT NULL, sticky INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  updated_at INTEGER NOT NULL, PRIMARY KEY(principal_id, sticky, key)) WITHOUT ROWID;
CREATE TABLE used_jtis(
  widget_id TEXT NOT NULL, jti TEXT NOT NULL, exp INTEGER NOT NULL, PRIMARY KEY(widget_id, jti)) WITHOUT ROWID;
"#,
// 2: an authenticated session lasts as long as the JWT that created it (NULL: no limit).
"ALTER TABLE sessions ADD COLUMN auth_expires_at INTEGER;"];

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

fn status_str(s: ThreadStatus) -> &'static str {
    s.as_str()
}

/// Unknown stored values read as the most restrictive status / author.
fn parse_status(s: &str) -> ThreadStatus {
    ThreadStatus::parse(s).unwrap_or(ThreadStatus::Closed)
}

fn author_str(a: Author) -> &'static str {
    a.as_str()
}

fn parse_author(s: &str) -> Author {
    Author::parse(s).unwrap_or(Author::System)
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

impl SqliteStore {
    /// Opens (creating and migrating) `dir/livechat.sqlite3`.
    pub fn open(dir: &Path) -> Result<SqliteStore, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("data dir {}: {e}", dir.display()))?;
        let path = dir.join("livechat.sqlite3");
        let mut w = open_conn(&path)?;
        let version: i64 = w
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| e.to_string())?;
        for (i, m) in MIGRATIONS.iter().enumerate() {
            let v = i as i64 + 1;
            if v > version {
                let tx = w.transaction().map_err(|e| e.to_string())?;
                tx.execute_batch(m)
                    .map_err(|e| format!("migration {v}: {e}"))?;
                tx.pragma_update(None, "user_version", v)
                    .map_err(|e| e.to_string())?;
                tx.commit().map_err(|e| e.to_string())?;
            }
        }
        let r = open_conn(&path)?;
        let publisher = Arc::new(OnceLock::new());
        let (tx, rx) = mpsc::channel();
        let p = publisher.clone();
        let writer = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer::run(w, rx, p))
            .map_err(|e| format!("writer thread: {e}"))?;
        Ok(SqliteStore {
            jobs: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            reader: Mutex::new(r),
            publisher,
        })
    }

    /// Queues a mutation for the writer; `done` gets its result after the batch commits.
    fn submit<T, F, D>(&self, f: F, done: D)
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<(T, Effects)> + Send + 'static,
        D: FnOnce(StoreResult<(T, Effects)>) + Send + 'static,
    {
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

    /// Runs a mutation through the writer and blocks until its batch committed.
    fn write_fx<T, F>(&self, f: F) -> StoreResult<(T, Effects)>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<(T, Effects)> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        self.submit(f, move |r| {
            let _ = tx.send(r);
        });
        rx.recv()
            .unwrap_or_else(|_| Err(StoreError::Internal("store writer dropped the request".into())))
    }

    /// [`write_fx`](Self::write_fx) for mutations without effects.
    fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.write_fx(move |c| f(c).map(|t| (t, Effects::default())))
            .map(|(t, _)| t)
    }

    fn read<T>(&self, f: impl FnOnce(&Transaction) -> StoreResult<T>) -> StoreResult<T> {
        let mut c = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        let tx = c.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
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

// ---------------------------------------------------------------------------------------
// Helpers running inside a transaction
// ---------------------------------------------------------------------------------------

fn append_event(
    tx: &Connection,
    principal_id: &str,
    event: Event,
    now: u64,
    fx: &mut Effects,
) -> StoreResult<Seq> {
    let seq: i64 = tx
        .prepare_cached("UPDATE principals SET head_seq = head_seq + 1 WHERE id = ?1 RETURNING head_seq")?
        .query_row(params![principal_id], |r| r.get(0))?;
    tx.prepare_cached(
        "INSERT INTO events(principal_id, seq, body, created_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(
        params![
            principal_id,
            seq,
            serde_json::to_string(&event)?,
            now as i64
        ])?;
    fx.visitor.push(VisitorEvent {
        principal_id: principal_id.to_string(),
        seq: seq as Seq,
        event,
    });
    Ok(seq as Seq)
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
        id: r.get(0)?,
        thread_id: r.get(1)?,
        client_id: r.get(2)?,
        author: parse_author(&r.get::<_, String>(3)?),
        agent_name: r.get(4)?,
        text: r.get(5)?,
        agent_message: r.get(6)?,
        custom: r.get::<_, i64>(7)? != 0,
        custom_data: custom_data.and_then(|s| serde_json::from_str(&s).ok()),
        created_at: r.get::<_, i64>(9)? as u64,
        attachment,
    })
}

/// The last `limit` messages of a thread, oldest first (`limit` 0 = all).
fn thread_messages(
    tx: &Connection,
    thread_id: &str,
    limit: usize,
) -> StoreResult<Vec<AgentMessage>> {
    let lim: i64 = if limit == 0 { -1 } else { limit as i64 };
    let mut st = tx.prepare_cached(&format!(
        "SELECT {MSG_COLS} FROM messages m LEFT JOIN attachments a ON a.id = m.attachment_id \
         WHERE m.thread_id = ?1 ORDER BY m.n DESC LIMIT ?2"
    ))?;
    let mut v = st
        .query_map(params![thread_id, lim], msg_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    v.reverse();
    Ok(v)
}

/// The time a new message in `thread_id` gets: now, but always after the thread's last
/// message, so time order equals storage order (concurrent writers take `now` before the
/// write lock) and clients that sort by time show what the server stored, in its order.
/// Because of that invariant the last message by storage order (`n`) has the greatest
/// time, which the `messages_thread` index finds without scanning the thread.
fn message_time(tx: &Connection, thread_id: &str, now: u64) -> StoreResult<u64> {
    let last: Option<i64> = tx
        .prepare_cached("SELECT created_at FROM messages WHERE thread_id = ?1 ORDER BY n DESC LIMIT 1")?
        .query_row(params![thread_id], |r| r.get(0))
        .optional()?;
    Ok(last.map_or(now, |l| now.max(l as u64 + 1)))
}

fn insert_message(
    tx: &Connection,
    m: &AgentMessage,
    attachment_id: Option<&str>,
) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO messages(id, thread_id, client_id, author, agent_name, text, agent_message, custom, custom_data, attachment_id, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
            m.id,
            m.thread_id,
            m.client_id,
            author_str(m.author),
            m.agent_name,
            m.text,
            m.agent_message,
            m.custom as i64,
            m.custom_data.as_ref().map(|v| v.to_string()),
            attachment_id,
            m.created_at as i64
        ])?;
    tx.prepare_cached("UPDATE threads SET last_activity_at = ?2, updated_at = ?2 WHERE id = ?1")?
        .execute(params![m.thread_id, m.created_at as i64])?;
    Ok(())
}

fn principal_view(tx: &Connection, principal_id: &str) -> StoreResult<PrincipalView> {
    let v = tx
        .query_row(
            "SELECT kind, subject, subject_type FROM principals WHERE id = ?1",
            params![principal_id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            },
        )
        .optional()?;
    let (kind, sub, stp) = v.unwrap_or_else(|| ("visitor".into(), None, None));
    let customer = match (sub, stp) {
        (Some(subject), Some(subject_type)) => Some(Customer {
            subject,
            subject_type,
        }),
        _ => None,
    };
    Ok(PrincipalView {
        id: principal_id.to_string(),
        kind,
        customer,
    })
}

fn summary(tx: &Connection, thread_id: &str) -> StoreResult<Option<ConversationSummary>> {
    let row = tx
        .query_row(
            "SELECT widget_id, principal_id, status, created_at, updated_at FROM threads WHERE id = ?1",
            params![thread_id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            },
        )
        .optional()?;
    let Some((widget_id, principal_id, status, created_at, updated_at)) = row else {
        return Ok(None);
    };
    let message_count: i64 = tx.query_row(
        "SELECT COUNT(*) FROM messages WHERE thread_id = ?1",
        params![thread_id],
        |r| r.get(0),
    )?;
    let unread_count: i64 = tx.query_row(
        "SELECT COUNT(*) FROM messages WHERE thread_id = ?1 AND author = 'visitor' AND n > \
         COALESCE((SELECT MAX(n) FROM messages WHERE thread_id = ?1 AND author = 'agent'), 0)",
        params![thread_id],
        |r| r.get(0),
    )?;
    let last_message = thread_messages(tx, thread_id, 1)?.pop();
    Ok(Some(ConversationSummary {
        id: thread_id.to_string(),
        widget_id,
        principal: principal_view(tx, &principal_id)?,
        status: parse_status(&status),
        created_at: created_at as u64,
        updated_at: updated_at as u64,
        message_count: message_count as u64,
        unread_count: unread_count as u64,
        last_message,
    }))
}

fn metadata_of(tx: &Connection, thread_id: &str) -> StoreResult<BTreeMap<String, MetaEntry>> {
    let mut st = tx.prepare_cached(
        "SELECT key, value, updated_at FROM thread_metadata WHERE thread_id = ?1",
    )?;
    let rows = st.query_map(params![thread_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (k, v, t) = row?;
        out.insert(
            k,
            MetaEntry {
                value: serde_json::from_str(&v).unwrap_or(Json::Null),
                updated_at: t as u64,
            },
        );
    }
    Ok(out)
}

fn merge_metadata(
    tx: &Connection,
    thread_id: &str,
    entries: &[(String, String, u64)],
) -> StoreResult<()> {
    let mut st = tx.prepare_cached(
        "INSERT INTO thread_metadata(thread_id, key, value, updated_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT(thread_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at \
         WHERE excluded.updated_at >= thread_metadata.updated_at",
    )?;
    for (k, v, t) in entries {
        st.execute(params![thread_id, k, v, *t as i64])?;
    }
    Ok(())
}

fn widget_of_thread(
    tx: &Connection,
    thread_id: &str,
) -> StoreResult<Option<(String, String, String)>> {
    Ok(tx
        .prepare_cached("SELECT widget_id, principal_id, status FROM threads WHERE id = ?1")?
        .query_row(params![thread_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?)
}

/// Creates an open thread, lands pending contextual data on it, emits the events.
fn create_thread(
    tx: &Connection,
    widget_id: &str,
    principal_id: &str,
    now: u64,
    fx: &mut Effects,
) -> StoreResult<String> {
    let id = random_id();
    tx.execute(
        "INSERT INTO threads(id, widget_id, principal_id, status, created_at, last_activity_at, updated_at) \
         VALUES (?1, ?2, ?3, 'OPEN', ?4, ?4, ?4)",
        params![id, widget_id, principal_id, now as i64],
    )?;
    append_event(
        tx,
        principal_id,
        Event::ThreadOpened {
            thread: Thread {
                id: id.clone(),
                status: ThreadStatus::Open,
                created_at: now,
                messages: vec![],
            },
        },
        now,
        fx,
    )?;
    // Pending contextual data: oldest first so later values win.
    let pending: Vec<(String, String, u64)> = {
        let mut st = tx.prepare_cached(
            "SELECT key, value, updated_at FROM pending_metadata WHERE principal_id = ?1 ORDER BY updated_at, sticky",
        )?;
        let rows = st.query_map(params![principal_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)? as u64,
            ))
        })?;
        rows.collect::<Result<_, _>>()?
    };
    if let Some(c) = summary(tx, &id)? {
        fx.agent.push(AgentEvent::ThreadOpened {
            widget_id: widget_id.to_string(),
            conversation: c,
        });
    }
    if !pending.is_empty() {
        merge_metadata(tx, &id, &pending)?;
        tx.execute(
            "DELETE FROM pending_metadata WHERE principal_id = ?1 AND sticky = 0",
            params![principal_id],
        )?;
        fx.agent.push(AgentEvent::MetadataUpdated {
            widget_id: widget_id.to_string(),
            thread_id: id.clone(),
            metadata: metadata_of(tx, &id)?,
        });
    }
    Ok(id)
}

fn active_open_thread(tx: &Connection, principal_id: &str) -> StoreResult<Option<String>> {
    Ok(tx
        .prepare_cached(
            "SELECT id FROM threads WHERE principal_id = ?1 AND status = 'OPEN' \
             ORDER BY (SELECT MAX(n) FROM messages WHERE thread_id = threads.id) DESC NULLS LAST, \
             created_at DESC, rowid DESC LIMIT 1",
        )?
        .query_row(params![principal_id], |r| r.get(0))
        .optional()?)
}

fn open_threads(tx: &Connection, principal_id: &str) -> StoreResult<Vec<String>> {
    let mut st = tx.prepare_cached(
        "SELECT id FROM threads WHERE principal_id = ?1 AND status = 'OPEN' ORDER BY created_at, rowid",
    )?;
    let v = st
        .query_map(params![principal_id], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(v)
}

/// Looks up an idempotency key: `Ok(None)` new, `Ok(Some(response))` same body, `Err(Conflict)`.
fn check_request(
    tx: &Connection,
    principal_id: &str,
    req: &str,
    kind: &str,
    hash: &str,
) -> StoreResult<Option<String>> {
    let row = tx
        .prepare_cached(
            "SELECT kind, body_hash, response FROM requests WHERE principal_id = ?1 AND req = ?2",
        )?
        .query_row(params![principal_id, req], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
        })
        .optional()?;
    match row {
        None => Ok(None),
        Some((k, h, resp)) if k == kind && h == hash => Ok(Some(resp)),
        Some(_) => Err(StoreError::Conflict),
    }
}

fn set_status_tx(
    tx: &Connection,
    thread_id: &str,
    widget_id: &str,
    principal_id: &str,
    status: ThreadStatus,
    now: u64,
    fx: &mut Effects,
) -> StoreResult<()> {
    tx.execute(
        "UPDATE threads SET status = ?2, updated_at = ?3 WHERE id = ?1",
        params![thread_id, status_str(status), now as i64],
    )?;
    append_event(
        tx,
        principal_id,
        Event::ThreadStatus {
            thread_id: thread_id.to_string(),
            status,
        },
        now,
        fx,
    )?;
    fx.agent.push(AgentEvent::ThreadStatus {
        widget_id: widget_id.to_string(),
        thread_id: thread_id.to_string(),
        status,
    });
    Ok(())
}

fn load_principal(tx: &Connection, id: &str) -> StoreResult<Principal> {
    let (widget_id, sub, stp) = tx.query_row(
        "SELECT widget_id, subject, subject_type FROM principals WHERE id = ?1",
        params![id],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        },
    )?;
    let customer = match (sub, stp) {
        (Some(subject), Some(subject_type)) => Some(Customer {
            subject,
            subject_type,
        }),
        _ => None,
    };
    Ok(Principal {
        id: id.to_string(),
        widget_id,
        customer,
    })
}

/// Stores a visitor message unless `req.req` was seen: the body of [`Store::send_message`].
fn send_tx(tx: &Connection, req: &SendRequest) -> StoreResult<(SendOutcome, Effects)> {
    if let Some(resp) = check_request(tx, &req.principal_id, &req.req, "send", &req.body_hash)? {
        return Ok((SendOutcome::Duplicate { message: serde_json::from_str(&resp)? }, Effects::default()));
    }
    let now = req.now;
    let mut fx = Effects::default();
    let thread_id = match &req.thread_id {
        Some(tid) => match widget_of_thread(tx, tid)? {
            Some((_, owner, _)) if owner != req.principal_id => return Err(StoreError::UnknownThread),
            None => return Err(StoreError::UnknownThread),
            Some((_, _, status)) if status != ThreadStatus::Open.as_str() => return Err(StoreError::ThreadClosed),
            Some(_) => tid.clone(),
        },
        None if req.new_thread => create_thread(tx, &req.widget_id, &req.principal_id, now, &mut fx)?,
        None => match active_open_thread(tx, &req.principal_id)? {
            Some(t) => t,
            None => create_thread(tx, &req.widget_id, &req.principal_id, now, &mut fx)?,
        },
    };
    let c = &req.content;
    let attachment = c.attachment.as_ref().map(|a| Attachment {
        id: a.id.clone(),
        file_name: a.file_name.clone(),
        content_type: a.content_type.clone(),
        size: a.size,
        url: a.external_url.clone().unwrap_or_else(|| format!("/v1/attachments/{}", a.id)),
    });
    if let Some(a) = &c.attachment {
        tx.execute(
            "INSERT INTO attachments(id, file_name, content_type, size, file, external_url, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![a.id, a.file_name, a.content_type, a.size as i64, a.file, a.external_url, now as i64],
        )?;
    }
    let m = AgentMessage {
        id: random_id(),
        thread_id: thread_id.clone(),
        client_id: Some(req.req.clone()),
        author: Author::Visitor,
        agent_name: None,
        text: c.text.clone(),
        agent_message: c.agent_message.clone(),
        custom_data: c.custom_data.clone(),
        attachment,
        custom: c.custom,
        created_at: message_time(tx, &thread_id, now)?,
    };
    insert_message(tx, &m, c.attachment.as_ref().map(|a| a.id.as_str()))?;
    let visible = m.visitor_view();
    append_event(tx, &req.principal_id, Event::Message { message: visible.clone() }, now, &mut fx)?;
    fx.agent.push(AgentEvent::Message { widget_id: req.widget_id.clone(), thread_id, message: m });
    tx.prepare_cached(
        "INSERT INTO requests(principal_id, req, kind, body_hash, response, created_at) VALUES (?1, ?2, 'send', ?3, ?4, ?5)",
    )?
    .execute(params![req.principal_id, req.req, req.body_hash, serde_json::to_string(&visible)?, now as i64])?;
    Ok((SendOutcome::Stored { message: visible, effects: fx.clone() }, fx))
}

/// Stores contextual data unless `req.req` was seen: the body of [`Store::contextual_data`].
fn context_tx(tx: &Connection, req: &ContextRequest) -> StoreResult<((ContextResult, bool), Effects)> {
    if let Some(resp) = check_request(tx, &req.principal_id, &req.req, "context", &req.body_hash)? {
        return Ok(((serde_json::from_str(&resp)?, true), Effects::default()));
    }
    let now = req.now;
    let mut fx = Effects::default();
    let strategy = if req.multi_thread { req.strategy } else { MultiThreadStrategy::Active };
    let targets = match strategy {
        MultiThreadStrategy::Active => active_open_thread(tx, &req.principal_id)?.into_iter().collect(),
        MultiThreadStrategy::All | MultiThreadStrategy::AllPlusNew => open_threads(tx, &req.principal_id)?,
    };
    let entries: Vec<(String, String, u64)> =
        req.metadata.iter().map(|(k, v)| (k.clone(), v.to_string(), now)).collect();
    for tid in &targets {
        merge_metadata(tx, tid, &entries)?;
        fx.agent.push(AgentEvent::MetadataUpdated {
            widget_id: req.widget_id.clone(),
            thread_id: tid.clone(),
            metadata: metadata_of(tx, tid)?,
        });
    }
    let sticky = strategy == MultiThreadStrategy::AllPlusNew;
    if sticky || targets.is_empty() {
        let mut st = tx.prepare_cached(
            "INSERT INTO pending_metadata(principal_id, sticky, key, value, updated_at) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT(principal_id, sticky, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )?;
        for (k, v, t) in &entries {
            st.execute(params![req.principal_id, sticky as i64, k, v, *t as i64])?;
        }
    }
    let result = ContextResult { queued: targets.is_empty(), thread_ids: targets };
    tx.execute(
        "INSERT INTO requests(principal_id, req, kind, body_hash, response, created_at) VALUES (?1, ?2, 'context', ?3, ?4, ?5)",
        params![req.principal_id, req.req, req.body_hash, serde_json::to_string(&result)?, now as i64],
    )?;
    Ok(((result, false), fx))
}

impl Store for SqliteStore {
    fn resolve_session(
        &self,
        token_hash: &str,
        widget_id: &str,
        now: u64,
        idle_ms: u64,
    ) -> StoreResult<Option<Principal>> {
        let token_hash = token_hash.to_owned();
        let widget_id = widget_id.to_owned();
        self.write(move |tx| {
            let row = tx
                .query_row(
                    "SELECT principal_id, widget_id, last_used_at, ended FROM sessions WHERE token_hash = ?1",
                    params![token_hash],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?)),
                )
                .optional()?;
            let Some((pid, wid, last, ended)) = row else { return Ok(None) };
            if ended != 0 || wid != widget_id || (last as u64).saturating_add(idle_ms) < now {
                return Ok(None);
            }
            tx.execute("UPDATE sessions SET last_used_at = ?2 WHERE token_hash = ?1", params![token_hash, now as i64])?;
            Ok(Some(load_principal(tx, &pid)?))
        })
    }

    fn create_visitor(
        &self,
        widget_id: &str,
        token_hash: &str,
        now: u64,
    ) -> StoreResult<Principal> {
        let widget_id = widget_id.to_owned();
        let token_hash = token_hash.to_owned();
        self.write(move |tx| {
            let id = random_id();
            tx.execute(
                "INSERT INTO principals(id, widget_id, kind, created_at) VALUES (?1, ?2, 'visitor', ?3)",
                params![id, widget_id, now as i64],
            )?;
            tx.execute(
                "INSERT INTO sessions(token_hash, principal_id, widget_id, created_at, last_used_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                params![token_hash, id, widget_id, now as i64],
            )?;
            Ok(Principal { id, widget_id: widget_id.to_string(), customer: None })
        })
    }

    fn session_auth_expiry(&self, token_hash: &str) -> StoreResult<Option<u64>> {
        self.read(|tx| {
            Ok(tx
                .query_row("SELECT auth_expires_at FROM sessions WHERE token_hash = ?1", params![token_hash], |r| {
                    r.get::<_, Option<i64>>(0)
                })
                .optional()?
                .flatten()
                .map(|t| t as u64))
        })
    }

    fn end_session(&self, token_hash: &str) -> StoreResult<()> {
        let token_hash = token_hash.to_owned();
        self.write(move |tx| {
            tx.execute(
                "UPDATE sessions SET ended = 1 WHERE token_hash = ?1",
                params![token_hash],
            )?;
            Ok(())
        })
    }

    fn set_publisher(&self, publisher: Publisher) {
        let _ = self.publisher.set(publisher);
    }

    fn authenticate(&self, req: AuthRequest) -> StoreResult<(Principal, Effects)> {
        self.write_fx(move |tx| {
            let now = req.now;
            let mut fx = Effects::default();
            let fresh = tx.execute(
                "INSERT OR IGNORE INTO used_jtis(widget_id, jti, exp) VALUES (?1, ?2, ?3)",
                params![req.widget_id, req.jti, req.jti_exp_ms as i64],
            )?;
            if fresh == 0 {
                return Err(StoreError::JtiReplayed);
            }
            let existing: Option<String> = tx
                .query_row(
                    "SELECT id FROM principals WHERE kind = 'customer' AND widget_id = ?1 AND subject_type = ?2 AND subject = ?3",
                    params![req.widget_id, req.customer.subject_type, req.customer.subject],
                    |r| r.get(0),
                )
                .optional()?;
            let customer_id = match existing {
                Some(id) => id,
                None => {
                    let id = random_id();
                    tx.execute(
                        "INSERT INTO principals(id, widget_id, kind, subject, subject_type, created_at) VALUES (?1, ?2, 'customer', ?3, ?4, ?5)",
                        params![id, req.widget_id, req.customer.subject, req.customer.subject_type, now as i64],
                    )?;
                    id
                }
            };
            if req.from.customer.is_none() && req.from.id != customer_id {
                let visitor = &req.from.id;
                // Inherit the anonymous visitor's conversations, idempotency keys and queued data.
                let moved: Vec<String> = {
                    let mut st = tx.prepare("SELECT id FROM threads WHERE principal_id = ?1 ORDER BY created_at, rowid")?;
                    let v = st.query_map(params![visitor], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
                    v
                };
                tx.execute("UPDATE threads SET principal_id = ?2 WHERE principal_id = ?1", params![visitor, customer_id])?;
                tx.execute("UPDATE OR IGNORE requests SET principal_id = ?2 WHERE principal_id = ?1", params![visitor, customer_id])?;
                tx.execute("DELETE FROM requests WHERE principal_id = ?1", params![visitor])?;
                tx.execute(
                    "INSERT INTO pending_metadata(principal_id, sticky, key, value, updated_at) \
                     SELECT ?2, sticky, key, value, updated_at FROM pending_metadata WHERE principal_id = ?1 \
                     ON CONFLICT(principal_id, sticky, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at \
                     WHERE excluded.updated_at >= pending_metadata.updated_at",
                    params![visitor, customer_id],
                )?;
                tx.execute("DELETE FROM pending_metadata WHERE principal_id = ?1", params![visitor])?;
                for tid in &moved {
                    let (status, created_at): (String, i64) = tx.query_row(
                        "SELECT status, created_at FROM threads WHERE id = ?1",
                        params![tid],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )?;
                    let messages = thread_messages(tx, tid, req.recent_messages)?.iter().map(AgentMessage::visitor_view).collect();
                    let thread = Thread { id: tid.clone(), status: parse_status(&status), created_at: created_at as u64, messages };
                    append_event(tx, &customer_id, Event::ThreadOpened { thread }, now, &mut fx)?;
                    if let Some(c) = summary(tx, tid)? {
                        fx.agent.push(AgentEvent::ThreadOpened { widget_id: req.widget_id.clone(), conversation: c });
                    }
                }
                if !req.multi_thread {
                    // Keep at most one open thread: the most recently active.
                    if let Some(active) = active_open_thread(tx, &customer_id)? {
                        for tid in open_threads(tx, &customer_id)? {
                            if tid != active {
                                set_status_tx(tx, &tid, &req.widget_id, &customer_id, ThreadStatus::Closed, now, &mut fx)?;
                            }
                        }
                    }
                }
            }
            if let Some(old) = &req.old_token_hash {
                tx.execute("UPDATE sessions SET ended = 1 WHERE token_hash = ?1", params![old])?;
            }
            tx.execute(
                "INSERT INTO sessions(token_hash, principal_id, widget_id, created_at, last_used_at, auth_expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
                params![req.new_token_hash, customer_id, req.widget_id, now as i64, req.auth_expires_ms.map(|t| t as i64)],
            )?;
            Ok((Principal { id: customer_id, widget_id: req.widget_id.clone(), customer: Some(req.customer.clone()) }, fx))
        })
    }

    fn head(&self, principal_id: &str) -> StoreResult<Seq> {
        self.read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT head_seq FROM principals WHERE id = ?1",
                    params![principal_id],
                    |r| r.get::<_, i64>(0),
                )
                .optional()?
                .unwrap_or(0) as Seq)
        })
    }

    fn events_after(&self, principal_id: &str, after: Seq) -> StoreResult<Vec<(Seq, Event)>> {
        self.read(|tx| {
            let mut st = tx.prepare_cached(
                "SELECT seq, body FROM events WHERE principal_id = ?1 AND seq > ?2 ORDER BY seq",
            )?;
            let rows = st.query_map(params![principal_id, after as i64], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (seq, body) = row?;
                out.push((seq as Seq, serde_json::from_str(&body)?));
            }
            Ok(out)
        })
    }

    fn snapshot(&self, principal_id: &str, messages_per_thread: usize) -> StoreResult<Snapshot> {
        self.read(|tx| {
            let last_seq = tx
                .query_row("SELECT head_seq FROM principals WHERE id = ?1", params![principal_id], |r| r.get::<_, i64>(0))
                .optional()?
                .unwrap_or(0) as Seq;
            let rows: Vec<(String, String, i64)> = {
                let mut st = tx.prepare_cached(
                    "SELECT id, status, created_at FROM (SELECT id, status, created_at, rowid AS r FROM threads WHERE principal_id = ?1 \
                     ORDER BY created_at DESC, rowid DESC LIMIT 100) ORDER BY created_at, r",
                )?;
                let v = st.query_map(params![principal_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
                v
            };
            let mut threads = Vec::with_capacity(rows.len());
            for (id, status, created_at) in rows {
                let messages: Vec<Message> =
                    thread_messages(tx, &id, messages_per_thread)?.iter().map(AgentMessage::visitor_view).collect();
                threads.push(Thread { id, status: parse_status(&status), created_at: created_at as u64, messages });
            }
            let mut pending = BTreeMap::new();
            let mut st = tx.prepare_cached("SELECT key, value FROM pending_metadata WHERE principal_id = ?1 AND sticky = 1")?;
            for row in st.query_map(params![principal_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
                let (k, v) = row?;
                pending.insert(k, serde_json::from_str(&v).unwrap_or(Json::Null));
            }
            Ok(Snapshot { last_seq, threads, pending })
        })
    }

    fn send_message(&self, req: SendRequest) -> StoreResult<SendOutcome> {
        self.write_fx(move |tx| send_tx(tx, &req)).map(|(o, _)| o)
    }

    fn submit_send(&self, req: SendRequest, done: Done<SendOutcome>) {
        self.submit(move |tx| send_tx(tx, &req), move |r| done(r.map(|(o, _)| o)));
    }

    fn contextual_data(&self, req: ContextRequest) -> StoreResult<(ContextResult, Effects, bool)> {
        self.write_fx(move |tx| context_tx(tx, &req))
            .map(|((r, dup), fx)| (r, fx, dup))
    }

    fn submit_contextual_data(&self, req: ContextRequest, done: Done<(ContextResult, Effects, bool)>) {
        self.submit(move |tx| context_tx(tx, &req), move |r| {
            done(r.map(|((r, dup), fx)| (r, fx, dup)))
        });
    }

    fn agent_reply(
        &self,
        thread_id: &str,
        agent_name: &str,
        text: &str,
        now: u64,
    ) -> StoreResult<(AgentMessage, Effects)> {
        let thread_id = thread_id.to_owned();
        let agent_name = agent_name.to_owned();
        let text = text.to_owned();
        self.write_fx(move |tx| {
            let (widget_id, principal_id, status) =
                widget_of_thread(tx, &thread_id)?.ok_or(StoreError::UnknownThread)?;
            if status != ThreadStatus::Open.as_str() {
                return Err(StoreError::ThreadClosed);
            }
            let mut fx = Effects::default();
            let m = AgentMessage {
                id: random_id(),
                thread_id: thread_id.to_string(),
                client_id: None,
                author: Author::Agent,
                agent_name: Some(agent_name.to_string()),
                text: Some(text.to_string()),
                agent_message: None,
                custom_data: None,
                attachment: None,
                custom: false,
                created_at: message_time(tx, &thread_id, now)?,
            };
            insert_message(tx, &m, None)?;
            append_event(
                tx,
                &principal_id,
                Event::Message {
                    message: m.visitor_view(),
                },
                now,
                &mut fx,
            )?;
            fx.agent.push(AgentEvent::Message {
                widget_id,
                thread_id: thread_id.to_string(),
                message: m.clone(),
            });
            Ok((m, fx))
        })
    }

    fn set_status(&self, thread_id: &str, status: ThreadStatus, now: u64) -> StoreResult<Effects> {
        let thread_id = thread_id.to_owned();
        self.write_fx(move |tx| {
            let (widget_id, principal_id, current) =
                widget_of_thread(tx, &thread_id)?.ok_or(StoreError::UnknownThread)?;
            let mut fx = Effects::default();
            if current != status_str(status) {
                set_status_tx(
                    tx,
                    &thread_id,
                    &widget_id,
                    &principal_id,
                    status,
                    now,
                    &mut fx,
                )?;
            }
            Ok(((), fx))
        })
        .map(|((), fx)| fx)
    }

    fn close_inactive(&self, widget_id: &str, cutoff: u64, now: u64) -> StoreResult<Effects> {
        let widget_id = widget_id.to_owned();
        self.write_fx(move |tx| {
            let stale: Vec<(String, String)> = {
                let mut st = tx.prepare_cached(
                    "SELECT id, principal_id FROM threads WHERE widget_id = ?1 AND status = 'OPEN' AND last_activity_at < ?2 LIMIT 1000",
                )?;
                let v = st.query_map(params![widget_id, cutoff as i64], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
                v
            };
            let mut fx = Effects::default();
            for (tid, pid) in stale {
                set_status_tx(tx, &tid, &widget_id, &pid, ThreadStatus::Closed, now, &mut fx)?;
            }
            Ok(((), fx))
        })
        .map(|((), fx)| fx)
    }

    fn availability(
        &self,
        principal_ids: &[String],
        online: bool,
        now: u64,
    ) -> StoreResult<Effects> {
        let principal_ids = principal_ids.to_vec();
        self.write_fx(move |tx| {
            let mut fx = Effects::default();
            for pid in &principal_ids {
                append_event(tx, pid, Event::Availability { online }, now, &mut fx)?;
            }
            Ok(((), fx))
        })
        .map(|((), fx)| fx)
    }

    fn purge(&self, now: u64, session_idle_ms: u64) -> StoreResult<()> {
        self.write(move |tx| {
            tx.execute("DELETE FROM used_jtis WHERE exp < ?1", params![now as i64])?;
            let cutoff = now.saturating_sub(session_idle_ms) as i64;
            tx.execute(
                "DELETE FROM sessions WHERE last_used_at < ?1",
                params![cutoff],
            )?;
            Ok(())
        })
    }

    fn list_conversations(
        &self,
        widget_id: Option<&str>,
        status: Option<ThreadStatus>,
        limit: usize,
    ) -> StoreResult<Vec<ConversationSummary>> {
        self.read(|tx| {
            let ids: Vec<String> = {
                let mut st = tx.prepare_cached(
                    "SELECT id FROM threads WHERE (?1 IS NULL OR widget_id = ?1) AND (?2 IS NULL OR status = ?2) \
                     ORDER BY updated_at DESC, rowid DESC LIMIT ?3",
                )?;
                let v = st
                    .query_map(params![widget_id, status.map(status_str), limit as i64], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                v
            };
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(s) = summary(tx, &id)? {
                    out.push(s);
                }
            }
            Ok(out)
        })
    }

    fn conversation(&self, thread_id: &str) -> StoreResult<Option<ConversationSummary>> {
        self.read(|tx| summary(tx, thread_id))
    }

    fn conversation_messages(&self, thread_id: &str) -> StoreResult<Option<Vec<AgentMessage>>> {
        self.read(|tx| {
            if widget_of_thread(tx, thread_id)?.is_none() {
                return Ok(None);
            }
            Ok(Some(thread_messages(tx, thread_id, 0)?))
        })
    }

    fn conversation_metadata(
        &self,
        thread_id: &str,
    ) -> StoreResult<Option<BTreeMap<String, MetaEntry>>> {
        self.read(|tx| {
            if widget_of_thread(tx, thread_id)?.is_none() {
                return Ok(None);
            }
            Ok(Some(metadata_of(tx, thread_id)?))
        })
    }

    fn attachment(&self, id: &str) -> StoreResult<Option<AttachmentRecord>> {
        self.read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT file_name, content_type, size, file, external_url FROM attachments WHERE id = ?1",
                    params![id],
                    |r| {
                        Ok(AttachmentRecord {
                            file_name: r.get(0)?,
                            content_type: r.get(1)?,
                            size: r.get::<_, i64>(2)? as u64,
                            file: r.get(3)?,
                            external_url: r.get(4)?,
                        })
                    },
                )
                .optional()?)
        })
    }
}
