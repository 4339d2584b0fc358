//! PostgreSQL implementation of [`Store`], for several nodes sharing one database. SQL only:
//! the rules are [`crate::service::rules`], run against [`Tx`] on these connections.
//!
//! - Client: `tokio-postgres` with a `deadpool-postgres` pool, driven by a small runtime of
//!   the store's own ("pg-io"), so the store's blocking API works from any blocking thread.
//! - Writes: the same group-commit writer as SQLite ([`writer`]): one thread, one pooled
//!   connection, a batch per transaction, a savepoint per mutation, answered after `COMMIT`
//!   (`synchronous_commit = on`: durable). A mutation that fails on a deadlock, a
//!   serialization failure or a unique violation caused by another node is retried once in
//!   the next batch.
//! - Across nodes: every rule that changes a principal's stream first takes that
//!   principal's row lock ([`Tx::lock_principal`], `SELECT … FOR UPDATE`), so the sequence
//!   number (`UPDATE … head_seq + 1`) is gap-free and in commit order even when two nodes
//!   write for the same principal; jtis, idempotency keys and session tokens are primary
//!   keys, so they hold across nodes.
//! - Reads: a pooled connection, `REPEATABLE READ READ ONLY`.
//! - Migrations: refinery (`server/migrations/postgres/`), under an advisory lock so nodes
//!   starting together migrate once.

use std::collections::BTreeMap;
use std::sync::{mpsc, Arc, Mutex, OnceLock};

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use livechat_protocol::{Attachment, Customer, Event, Message, Seq, ThreadStatus};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use super::writer::{self, Job};
use super::*;

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// Advisory lock key held while migrating.
const MIGRATION_LOCK: i64 = 0x6c69_7665_6368_6174; // "livechat"

/// Connections in the pool: the writer's plus readers.
const POOL_SIZE: usize = 8;

/// The PostgreSQL store.
pub struct PostgresStore {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    pool: Pool,
    rt: Mutex<Option<tokio::runtime::Runtime>>,
    handle: tokio::runtime::Handle,
    publisher: Arc<OnceLock<Publisher>>,
    announcer: Arc<OnceLock<Announcer>>,
}

fn pg_err(e: tokio_postgres::Error) -> StoreError {
    StoreError::Internal(format!("postgres: {e}"))
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db`), migrates, starts the writer.
    /// Blocking: call it from a blocking thread (not from async code).
    pub fn open(url: &str) -> Result<PostgresStore, String> {
        let pg: tokio_postgres::Config = url.parse().map_err(|e| format!("database url: {e}"))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("pg-io")
            .enable_all()
            .build()
            .map_err(|e| format!("runtime: {e}"))?;
        let handle = rt.handle().clone();
        // Migrations on a connection of their own, under an advisory lock.
        handle.block_on(async {
            let (mut client, conn) = pg.connect(NoTls).await.map_err(|e| format!("connect: {e}"))?;
            let driver = tokio::spawn(conn);
            client
                .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
                .await
                .map_err(|e| format!("migration lock: {e}"))?;
            let r = embedded::migrations::runner().run_async(&mut client).await;
            let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).await;
            drop(client);
            let _ = driver.await;
            r.map(|_| ()).map_err(|e| format!("migrations: {e}"))
        })?;
        let mgr = Manager::from_config(
            pg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| format!("pool: {e}"))?;
        let first = handle
            .block_on(pool.get())
            .map_err(|e| format!("connect: {e}"))?;
        let publisher = Arc::new(OnceLock::new());
        let announcer = Arc::new(OnceLock::new());
        let (tx, rx) = mpsc::channel();
        let p = publisher.clone();
        let w = PgWriter {
            conn: Some(PgConn {
                obj: first,
                rt: handle.clone(),
                last_code: None,
            }),
            pool: pool.clone(),
            rt: handle.clone(),
            announcer: announcer.clone(),
        };
        let writer = std::thread::Builder::new()
            .name("pg-writer".into())
            .spawn(move || writer::run(w, rx, p))
            .map_err(|e| format!("writer thread: {e}"))?;
        Ok(PostgresStore {
            jobs: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            pool,
            rt: Mutex::new(Some(rt)),
            handle,
            publisher,
            announcer,
        })
    }
}

impl Drop for PostgresStore {
    /// Lets the writer finish what was queued, then stops the store's runtime.
    fn drop(&mut self) {
        drop(self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take());
        if let Some(h) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            if h.join().is_err() {
                eprintln!("postgres writer thread panicked");
            }
        }
        self.pool.close();
        if let Some(rt) = self.rt.lock().unwrap_or_else(|p| p.into_inner()).take() {
            rt.shutdown_background();
        }
    }
}

impl Store for PostgresStore {
    fn set_publisher(&self, publisher: Publisher) {
        let _ = self.publisher.set(publisher);
    }

    fn set_announcer(&self, announcer: Announcer) -> bool {
        self.announcer.set(announcer).is_ok()
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
            writer::reject(job, StoreError::Internal("store writer stopped".into()));
        }
    }

    fn read(&self, f: &mut dyn FnMut(&mut dyn Tx) -> StoreResult<()>) -> StoreResult<()> {
        let obj = self
            .handle
            .block_on(self.pool.get())
            .map_err(|e| StoreError::Internal(format!("postgres pool: {e}")))?;
        let mut c = PgConn {
            obj,
            rt: self.handle.clone(),
            last_code: None,
        };
        c.batch("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        let out = f(&mut c);
        let ended = c.batch(if out.is_ok() { "COMMIT" } else { "ROLLBACK" });
        out?;
        ended
    }
}

/// A pooled connection with blocking row-level operations.
struct PgConn {
    obj: Object,
    rt: tokio::runtime::Handle,
    /// SQLSTATE of the last failed statement.
    last_code: Option<String>,
}

type P<'a> = &'a (dyn ToSql + Sync);

impl PgConn {
    fn fail(&mut self, e: tokio_postgres::Error) -> StoreError {
        self.last_code = e.code().map(|c| c.code().to_string());
        pg_err(e)
    }

    fn batch(&mut self, sql: &str) -> StoreResult<()> {
        let r = self.rt.block_on(self.obj.batch_execute(sql));
        r.map_err(|e| self.fail(e))
    }

    fn query(&mut self, sql: &str, params: &[P]) -> StoreResult<Vec<Row>> {
        let obj = &self.obj;
        let r = self.rt.block_on(async {
            let st = obj.prepare_cached(sql).await?;
            obj.query(&st, params).await
        });
        r.map_err(|e| self.fail(e))
    }

    fn opt(&mut self, sql: &str, params: &[P]) -> StoreResult<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    fn exec(&mut self, sql: &str, params: &[P]) -> StoreResult<u64> {
        let obj = &self.obj;
        let r = self.rt.block_on(async {
            let st = obj.prepare_cached(sql).await?;
            obj.execute(&st, params).await
        });
        r.map_err(|e| self.fail(e))
    }
}

/// The writer's connection (reconnects from the pool after a lost connection).
struct PgWriter {
    conn: Option<PgConn>,
    pool: Pool,
    rt: tokio::runtime::Handle,
    announcer: Arc<OnceLock<Announcer>>,
}

impl PgWriter {
    fn conn(&mut self) -> StoreResult<&mut PgConn> {
        if self.conn.as_ref().is_none_or(|c| c.obj.is_closed()) {
            self.conn = None;
            let obj = self
                .rt
                .block_on(self.pool.get())
                .map_err(|e| StoreError::Internal(format!("postgres connect: {e}")))?;
            self.conn = Some(PgConn {
                obj,
                rt: self.rt.clone(),
                last_code: None,
            });
        }
        self.conn
            .as_mut()
            .ok_or_else(|| StoreError::Internal("no connection".into()))
    }
}

/// SQLSTATEs worth one retry in a later batch: deadlock, serialization failure, and a
/// unique violation (another node inserted the same row first; the rule will see it).
fn transient(code: &str) -> bool {
    matches!(code, "40P01" | "40001" | "23505")
}

impl writer::Conn for PgWriter {
    fn begin(&mut self) -> StoreResult<()> {
        self.conn()?.batch("BEGIN")
    }
    fn savepoint(&mut self) -> StoreResult<()> {
        let c = self.conn()?;
        c.last_code = None;
        c.batch("SAVEPOINT job")
    }
    fn release(&mut self) -> StoreResult<()> {
        self.conn()?.batch("RELEASE job")
    }
    fn rollback_to(&mut self) -> bool {
        match self.conn.as_mut() {
            Some(c) => c.batch("ROLLBACK TO job; RELEASE job").is_ok(),
            None => false,
        }
    }
    fn commit(&mut self) -> StoreResult<()> {
        self.conn()?.batch("COMMIT")
    }
    fn rollback(&mut self) {
        if let Some(c) = self.conn.as_mut() {
            if c.batch("ROLLBACK").is_err() {
                self.conn = None;
            }
        }
    }
    fn aborted(&mut self) -> bool {
        self.conn.as_ref().is_none_or(|c| c.obj.is_closed())
    }
    fn retryable(&mut self) -> bool {
        self.conn
            .as_mut()
            .and_then(|c| c.last_code.take())
            .is_some_and(|c| transient(&c))
    }
    fn tx(&mut self) -> Option<&mut dyn Tx> {
        self.conn.as_mut().map(|c| c as &mut dyn Tx)
    }
    fn announce(&mut self, effects: &[&Effects]) -> StoreResult<()> {
        let Some(a) = self.announcer.get() else { return Ok(()) };
        let mut payloads = Vec::new();
        for fx in effects {
            (a.payloads)(fx, &mut payloads);
        }
        if payloads.is_empty() {
            return Ok(());
        }
        let channel = a.channel;
        self.conn()?.exec("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", &[&channel, &payloads])?;
        Ok(())
    }
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

const MSG_COLS: &str =
    "m.id, m.thread_id, m.client_id, m.author, m.agent_name, m.text, m.agent_message, m.custom, \
     m.custom_data, m.created_at, a.id, a.file_name, a.content_type, a.size, a.external_url";

fn msg_from_row(r: &Row) -> StoreResult<AgentMessage> {
    let custom_data: Option<String> = r.get(8);
    let att_id: Option<String> = r.get(10);
    let attachment = att_id.map(|id| {
        let external: Option<String> = r.get(14);
        Attachment {
            url: external.unwrap_or_else(|| format!("/v1/attachments/{id}")),
            id,
            file_name: r.get(11),
            content_type: r.get(12),
            size: u(r.get(13)),
        }
    });
    Ok(AgentMessage {
        message: Message {
            id: r.get(0),
            thread_id: r.get(1),
            client_id: r.get(2),
            author: parse_author(r.get(3)),
            agent_name: r.get(4),
            text: r.get(5),
            custom: r.get(7),
            created_at: u(r.get(9)),
            attachment,
        },
        agent_message: r.get(6),
        custom_data: custom_data.and_then(|s| serde_json::from_str(&s).ok()),
    })
}

const THREAD_COLS: &str = "id, widget_id, principal_id, status, created_at, last_activity_at, updated_at";

fn thread_from_row(r: &Row) -> ThreadRow {
    ThreadRow {
        id: r.get(0),
        widget_id: r.get(1),
        principal_id: r.get(2),
        status: parse_status(r.get(3)),
        created_at: u(r.get(4)),
        last_activity_at: u(r.get(5)),
        updated_at: u(r.get(6)),
    }
}

fn meta_from_rows(rows: Vec<Row>) -> Vec<MetaRow> {
    rows.iter()
        .map(|r| (r.get(0), r.get(1), u(r.get(2))))
        .collect()
}

impl Tx for PgConn {
    fn lock_principal(&mut self, principal_id: &str) -> StoreResult<()> {
        self.query("SELECT 1 FROM principals WHERE id = $1 FOR UPDATE", &[&principal_id])?;
        Ok(())
    }

    fn principal(&mut self, id: &str) -> StoreResult<Option<Principal>> {
        Ok(self
            .opt("SELECT widget_id, subject, subject_type FROM principals WHERE id = $1", &[&id])?
            .map(|r| Principal {
                id: id.to_string(),
                widget_id: r.get(0),
                customer: match (r.get::<_, Option<String>>(1), r.get::<_, Option<String>>(2)) {
                    (Some(subject), Some(subject_type)) => Some(Customer { subject, subject_type }),
                    _ => None,
                },
            }))
    }

    fn insert_principal(&mut self, p: &Principal, now: u64) -> StoreResult<()> {
        let (kind, sub, stp) = match &p.customer {
            Some(c) => ("customer", Some(c.subject.as_str()), Some(c.subject_type.as_str())),
            None => ("visitor", None, None),
        };
        self.exec(
            "INSERT INTO principals(id, widget_id, kind, subject, subject_type, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&p.id, &p.widget_id, &kind, &sub, &stp, &i(now)],
        )?;
        Ok(())
    }

    fn find_customer(&mut self, widget_id: &str, c: &Customer) -> StoreResult<Option<String>> {
        Ok(self
            .opt(
                "SELECT id FROM principals WHERE kind = 'customer' AND widget_id = $1 AND subject_type = $2 AND subject = $3",
                &[&widget_id, &c.subject_type, &c.subject],
            )?
            .map(|r| r.get(0)))
    }

    fn head(&mut self, principal_id: &str) -> StoreResult<Seq> {
        Ok(self
            .opt("SELECT head_seq FROM principals WHERE id = $1", &[&principal_id])?
            .map_or(0, |r| u(r.get(0))))
    }

    fn rate_bucket(&mut self, principal_id: &str) -> StoreResult<Option<(f64, u64)>> {
        Ok(self
            .opt("SELECT rate_tokens, rate_at FROM principals WHERE id = $1 AND rate_at IS NOT NULL", &[&principal_id])?
            .map(|r| (r.get::<_, f64>(0), u(r.get(1)))))
    }

    fn set_rate_bucket(&mut self, principal_id: &str, tokens: f64, at: u64) -> StoreResult<()> {
        self.exec("UPDATE principals SET rate_tokens = $2, rate_at = $3 WHERE id = $1", &[&principal_id, &tokens, &i(at)])?;
        Ok(())
    }

    fn next_seq(&mut self, principal_id: &str) -> StoreResult<Seq> {
        let r = self
            .opt(
                "UPDATE principals SET head_seq = head_seq + 1 WHERE id = $1 RETURNING head_seq",
                &[&principal_id],
            )?
            .ok_or_else(|| StoreError::Internal("unknown principal".into()))?;
        Ok(u(r.get(0)))
    }

    fn insert_event(&mut self, principal_id: &str, seq: Seq, event: &Event, now: u64) -> StoreResult<()> {
        let body = serde_json::to_string(event).map_err(|e| StoreError::Internal(e.to_string()))?;
        self.exec(
            "INSERT INTO events(principal_id, seq, body, created_at) VALUES ($1, $2, $3, $4)",
            &[&principal_id, &i(seq), &body, &i(now)],
        )?;
        Ok(())
    }

    fn events_after(&mut self, principal_id: &str, after: Seq) -> StoreResult<Vec<(Seq, Event)>> {
        let rows = self.query(
            "SELECT seq, body FROM events WHERE principal_id = $1 AND seq > $2 ORDER BY seq",
            &[&principal_id, &i(after)],
        )?;
        rows.iter()
            .map(|r| {
                let body: &str = r.get(1);
                Ok((
                    u(r.get(0)),
                    serde_json::from_str(body).map_err(|e| StoreError::Internal(e.to_string()))?,
                ))
            })
            .collect()
    }

    fn session(&mut self, token_hash: &str) -> StoreResult<Option<SessionRow>> {
        Ok(self
            .opt(
                "SELECT principal_id, widget_id, last_used_at, ended, auth_expires_at FROM sessions WHERE token_hash = $1",
                &[&token_hash],
            )?
            .map(|r| SessionRow {
                principal_id: r.get(0),
                widget_id: r.get(1),
                last_used_at: u(r.get(2)),
                ended: r.get(3),
                auth_expires_at: r.get::<_, Option<i64>>(4).map(u),
            }))
    }

    fn insert_session(&mut self, token_hash: &str, s: &SessionRow, now: u64) -> StoreResult<()> {
        self.exec(
            "INSERT INTO sessions(token_hash, principal_id, widget_id, created_at, last_used_at, ended, auth_expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &token_hash,
                &s.principal_id,
                &s.widget_id,
                &i(now),
                &i(s.last_used_at),
                &s.ended,
                &s.auth_expires_at.map(i),
            ],
        )?;
        Ok(())
    }

    fn touch_session(&mut self, token_hash: &str, now: u64) -> StoreResult<()> {
        self.exec("UPDATE sessions SET last_used_at = $2 WHERE token_hash = $1", &[&token_hash, &i(now)])?;
        Ok(())
    }

    fn end_session(&mut self, token_hash: &str) -> StoreResult<()> {
        self.exec("UPDATE sessions SET ended = TRUE WHERE token_hash = $1", &[&token_hash])?;
        Ok(())
    }

    fn insert_jti(&mut self, widget_id: &str, jti: &str, exp: u64) -> StoreResult<bool> {
        let n = self.exec(
            "INSERT INTO used_jtis(widget_id, jti, exp) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&widget_id, &jti, &i(exp)],
        )?;
        Ok(n == 1)
    }

    fn purge(&mut self, now: u64, session_cutoff: u64) -> StoreResult<()> {
        self.exec("DELETE FROM used_jtis WHERE exp < $1", &[&i(now)])?;
        self.exec("DELETE FROM sessions WHERE last_used_at < $1", &[&i(session_cutoff)])?;
        Ok(())
    }

    fn thread(&mut self, id: &str) -> StoreResult<Option<ThreadRow>> {
        Ok(self
            .opt(&format!("SELECT {THREAD_COLS} FROM threads WHERE id = $1"), &[&id])?
            .map(|r| thread_from_row(&r)))
    }

    fn insert_thread(&mut self, t: &ThreadRow) -> StoreResult<()> {
        self.exec(
            "INSERT INTO threads(id, widget_id, principal_id, status, created_at, last_activity_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &t.id,
                &t.widget_id,
                &t.principal_id,
                &status_str(t.status),
                &i(t.created_at),
                &i(t.last_activity_at),
                &i(t.updated_at),
            ],
        )?;
        Ok(())
    }

    fn set_thread_status(&mut self, id: &str, status: ThreadStatus, now: u64) -> StoreResult<()> {
        self.exec(
            "UPDATE threads SET status = $2, updated_at = $3 WHERE id = $1",
            &[&id, &status_str(status), &i(now)],
        )?;
        Ok(())
    }

    fn active_open_thread(&mut self, principal_id: &str) -> StoreResult<Option<String>> {
        Ok(self
            .opt(
                "SELECT id FROM threads WHERE principal_id = $1 AND status = 'OPEN' \
                 ORDER BY (SELECT MAX(n) FROM messages WHERE thread_id = threads.id) DESC NULLS LAST, \
                 created_at DESC, n DESC LIMIT 1",
                &[&principal_id],
            )?
            .map(|r| r.get(0)))
    }

    fn open_threads(&mut self, principal_id: &str) -> StoreResult<Vec<String>> {
        Ok(self
            .query(
                "SELECT id FROM threads WHERE principal_id = $1 AND status = 'OPEN' ORDER BY created_at, n",
                &[&principal_id],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn threads_of(&mut self, principal_id: &str, limit: usize) -> StoreResult<Vec<ThreadRow>> {
        let lim = i64::try_from(limit).unwrap_or(i64::MAX);
        Ok(self
            .query(
                &format!(
                    "SELECT {THREAD_COLS} FROM (SELECT * FROM threads WHERE principal_id = $1 \
                     ORDER BY created_at DESC, n DESC LIMIT $2) t ORDER BY created_at, n"
                ),
                &[&principal_id, &lim],
            )?
            .iter()
            .map(thread_from_row)
            .collect())
    }

    fn move_threads(&mut self, from: &str, to: &str) -> StoreResult<()> {
        self.exec("UPDATE threads SET principal_id = $2 WHERE principal_id = $1", &[&from, &to])?;
        Ok(())
    }

    fn stale_open_threads(&mut self, widget_id: &str, cutoff: u64, limit: usize) -> StoreResult<Vec<(String, String)>> {
        let lim = i64::try_from(limit).unwrap_or(i64::MAX);
        Ok(self
            .query(
                "SELECT id, principal_id FROM threads WHERE widget_id = $1 AND status = 'OPEN' AND last_activity_at < $2 \
                 ORDER BY n LIMIT $3",
                &[&widget_id, &i(cutoff), &lim],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    fn list_threads(&mut self, widget_id: Option<&str>, status: Option<ThreadStatus>, limit: usize) -> StoreResult<Vec<String>> {
        let lim = i64::try_from(limit).unwrap_or(i64::MAX);
        let status = status.map(status_str);
        Ok(self
            .query(
                "SELECT id FROM threads WHERE ($1::text IS NULL OR widget_id = $1) AND ($2::text IS NULL OR status = $2) \
                 ORDER BY updated_at DESC, n DESC LIMIT $3",
                &[&widget_id, &status, &lim],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn insert_message(&mut self, m: &AgentMessage, attachment: Option<&NewAttachment>) -> StoreResult<()> {
        let msg = &m.message;
        if let Some(a) = attachment {
            self.exec(
                "INSERT INTO attachments(id, file_name, content_type, size, file, external_url, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[&a.id, &a.file_name, &a.content_type, &i(a.size), &a.file, &a.external_url, &i(msg.created_at)],
            )?;
        }
        let custom_data = m.custom_data.as_ref().map(|v| v.to_string());
        let attachment_id = attachment.map(|a| a.id.as_str());
        self.exec(
            "INSERT INTO messages(id, thread_id, client_id, author, agent_name, text, agent_message, custom, custom_data, attachment_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                &msg.id,
                &msg.thread_id,
                &msg.client_id,
                &author_str(msg.author),
                &msg.agent_name,
                &msg.text,
                &m.agent_message,
                &msg.custom,
                &custom_data,
                &attachment_id,
                &i(msg.created_at),
            ],
        )?;
        self.exec(
            "UPDATE threads SET last_activity_at = $2, updated_at = $2 WHERE id = $1",
            &[&msg.thread_id, &i(msg.created_at)],
        )?;
        Ok(())
    }

    fn last_message_time(&mut self, thread_id: &str) -> StoreResult<Option<u64>> {
        Ok(self
            .opt(
                "SELECT created_at FROM messages WHERE thread_id = $1 ORDER BY n DESC LIMIT 1",
                &[&thread_id],
            )?
            .map(|r| u(r.get(0))))
    }

    fn thread_messages(&mut self, thread_id: &str, limit: usize) -> StoreResult<Vec<AgentMessage>> {
        let lim: Option<i64> = (limit > 0).then(|| i64::try_from(limit).unwrap_or(i64::MAX));
        let rows = self.query(
            &format!(
                "SELECT {MSG_COLS} FROM messages m LEFT JOIN attachments a ON a.id = m.attachment_id \
                 WHERE m.thread_id = $1 ORDER BY m.n DESC LIMIT $2"
            ),
            &[&thread_id, &lim],
        )?;
        let mut v = rows.iter().map(msg_from_row).collect::<StoreResult<Vec<_>>>()?;
        v.reverse();
        Ok(v)
    }

    fn messages_before(&mut self, thread_id: &str, before: Option<&str>, limit: usize) -> StoreResult<Option<Vec<AgentMessage>>> {
        let bound: i64 = match before {
            None => i64::MAX,
            Some(id) => match self.opt("SELECT n FROM messages WHERE id = $1 AND thread_id = $2", &[&id, &thread_id])? {
                Some(r) => r.get(0),
                None => return Ok(None),
            },
        };
        let lim = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.query(
            &format!(
                "SELECT {MSG_COLS} FROM messages m LEFT JOIN attachments a ON a.id = m.attachment_id \
                 WHERE m.thread_id = $1 AND m.n < $2 ORDER BY m.n DESC LIMIT $3"
            ),
            &[&thread_id, &bound, &lim],
        )?;
        let mut v = rows.iter().map(msg_from_row).collect::<StoreResult<Vec<_>>>()?;
        v.reverse();
        Ok(Some(v))
    }

    fn message_counts(&mut self, thread_id: &str) -> StoreResult<(u64, u64)> {
        let r = self
            .opt(
                "SELECT COUNT(*), COUNT(*) FILTER (WHERE author = 'visitor' AND n > \
                 COALESCE((SELECT MAX(n) FROM messages WHERE thread_id = $1 AND author = 'agent'), 0)) \
                 FROM messages WHERE thread_id = $1",
                &[&thread_id],
            )?
            .ok_or_else(|| StoreError::Internal("count".into()))?;
        Ok((u(r.get(0)), u(r.get(1))))
    }

    fn attachment(&mut self, id: &str) -> StoreResult<Option<AttachmentRecord>> {
        Ok(self
            .opt(
                "SELECT file_name, content_type, size, file, external_url FROM attachments WHERE id = $1",
                &[&id],
            )?
            .map(|r| AttachmentRecord {
                file_name: r.get(0),
                content_type: r.get(1),
                size: u(r.get(2)),
                file: r.get(3),
                external_url: r.get(4),
            }))
    }

    fn request(&mut self, principal_id: &str, req: &str) -> StoreResult<Option<RequestRow>> {
        Ok(self
            .opt(
                "SELECT kind, body_hash, response FROM requests WHERE principal_id = $1 AND req = $2",
                &[&principal_id, &req],
            )?
            .map(|r| RequestRow {
                kind: r.get(0),
                body_hash: r.get(1),
                response: r.get(2),
            }))
    }

    fn insert_request(&mut self, principal_id: &str, req: &str, r: &RequestRow, now: u64) -> StoreResult<()> {
        self.exec(
            "INSERT INTO requests(principal_id, req, kind, body_hash, response, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&principal_id, &req, &r.kind, &r.body_hash, &r.response, &i(now)],
        )?;
        Ok(())
    }

    fn move_requests(&mut self, from: &str, to: &str) -> StoreResult<()> {
        self.exec(
            "UPDATE requests r SET principal_id = $2 WHERE r.principal_id = $1 \
             AND NOT EXISTS (SELECT 1 FROM requests o WHERE o.principal_id = $2 AND o.req = r.req)",
            &[&from, &to],
        )?;
        self.exec("DELETE FROM requests WHERE principal_id = $1", &[&from])?;
        Ok(())
    }

    fn merge_metadata(&mut self, thread_id: &str, entries: &[MetaRow]) -> StoreResult<()> {
        for (k, v, t) in entries {
            self.exec(
                "INSERT INTO thread_metadata(thread_id, key, value, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (thread_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at \
                 WHERE excluded.updated_at >= thread_metadata.updated_at",
                &[&thread_id, k, v, &i(*t)],
            )?;
        }
        Ok(())
    }

    fn metadata(&mut self, thread_id: &str) -> StoreResult<BTreeMap<String, MetaEntry>> {
        let rows = self.query(
            "SELECT key, value, updated_at FROM thread_metadata WHERE thread_id = $1",
            &[&thread_id],
        )?;
        Ok(meta_from_rows(rows)
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
        for (k, v, t) in entries {
            self.exec(
                "INSERT INTO pending_metadata(principal_id, sticky, key, value, updated_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (principal_id, sticky, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                &[&principal_id, &sticky, k, v, &i(*t)],
            )?;
        }
        Ok(())
    }

    fn pending(&mut self, principal_id: &str, sticky_only: bool) -> StoreResult<Vec<MetaRow>> {
        let rows = self.query(
            "SELECT key, value, updated_at FROM pending_metadata WHERE principal_id = $1 AND (sticky OR NOT $2) \
             ORDER BY updated_at, sticky, key COLLATE \"C\"",
            &[&principal_id, &sticky_only],
        )?;
        Ok(meta_from_rows(rows))
    }

    fn clear_oneshot_pending(&mut self, principal_id: &str) -> StoreResult<()> {
        self.exec(
            "DELETE FROM pending_metadata WHERE principal_id = $1 AND NOT sticky",
            &[&principal_id],
        )?;
        Ok(())
    }

    fn move_pending(&mut self, from: &str, to: &str) -> StoreResult<()> {
        self.exec(
            "INSERT INTO pending_metadata(principal_id, sticky, key, value, updated_at) \
             SELECT $2, sticky, key, value, updated_at FROM pending_metadata WHERE principal_id = $1 \
             ON CONFLICT (principal_id, sticky, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at \
             WHERE excluded.updated_at >= pending_metadata.updated_at",
            &[&from, &to],
        )?;
        self.exec("DELETE FROM pending_metadata WHERE principal_id = $1", &[&from])?;
        Ok(())
    }
}
