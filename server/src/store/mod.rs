//! Storage: rows in, rows out, transactions, migrations — no product rules.
//!
//! The rules (which thread a `send` goes to, idempotency, where contextual data lands …)
//! live in [`crate::service`] and run against a [`Tx`]: a transaction handle with row-level
//! operations. A [`Store`] runs such a function inside one of its transactions:
//!
//! - [`Store::submit`]: a write. The function runs inside a write transaction (SQLite and
//!   PostgreSQL: one savepoint of a group-commit batch, see [`writer`]); `done` is called
//!   after the commit that made it durable, and the function's [`Effects`] are handed to the
//!   [`Publisher`] after that commit, in commit order. A function that returns `Err` leaves
//!   no trace.
//! - [`Store::read`]: a read of committed data (blocking).
//!
//! Backends: [`memory::MemoryStore`] (tests of the service layer), [`sqlite::SqliteStore`]
//! (the embedded default) and [`postgres::PostgresStore`] (several nodes on one database).

pub mod memory;
pub mod postgres;
pub mod sqlite;
pub mod writer;

/// Receives the effects of every committed mutation, in commit order.
pub type Publisher = std::sync::Arc<dyn Fn(&Effects) + Send + Sync>;

/// Turns a mutation's effects into notification payloads that a backend able to notify
/// inside a transaction (PostgreSQL `pg_notify`) sends in the batch's own transaction: they
/// go out if and only if it commits, so no node crash between commit and notify can hold an
/// event back.
pub struct Announcer {
    /// The notification channel.
    pub channel: &'static str,
    /// Appends the payloads for one mutation's effects.
    pub payloads: Box<dyn Fn(&Effects, &mut Vec<String>) + Send + Sync>,
}

/// Completion of a submitted mutation: called exactly once, after the change is durable
/// (or with the error that stopped it). It may run on a storage thread: keep it short.
pub type Done<T> = Box<dyn FnOnce(StoreResult<T>) + Send>;

/// A write: runs inside a transaction, returns what to publish after commit. It may run
/// again in a later transaction when a backend retries it (PostgreSQL, after a deadlock
/// with another node), so it must not consume its inputs.
pub type WriteFn = Box<dyn FnMut(&mut dyn Tx) -> StoreResult<Effects> + Send>;

use std::collections::BTreeMap;

use livechat_protocol::{Author, Customer, Event, Json, Message, Seq, ThreadStatus};
use serde::{Deserialize, Serialize};

/// Storage errors.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreError {
    /// Same idempotency key, different body.
    Conflict,
    /// The thread does not exist or belongs to someone else.
    UnknownThread,
    /// The thread is not open.
    ThreadClosed,
    /// The JWT id was already used.
    JtiReplayed,
    /// The visitor's write limit is used up; a token is there after this many ms.
    RateLimited {
        /// Milliseconds until the next write may pass.
        retry_after_ms: u64,
    },
    /// Something failed in the backend.
    Internal(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Conflict => write!(f, "idempotency conflict"),
            StoreError::UnknownThread => write!(f, "unknown thread"),
            StoreError::ThreadClosed => write!(f, "thread closed"),
            StoreError::JtiReplayed => write!(f, "jti already used"),
            StoreError::RateLimited { retry_after_ms } => write!(f, "rate limited for {retry_after_ms} ms"),
            StoreError::Internal(e) => write!(f, "storage error: {e}"),
        }
    }
}

/// Result of store calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// A visitor (anonymous) or customer (authenticated) whose events have their own sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// Opaque id.
    pub id: String,
    /// The widget.
    pub widget_id: String,
    /// Set for authenticated customers.
    pub customer: Option<Customer>,
}

/// A stored visitor event to push.
#[derive(Debug, Clone)]
pub struct VisitorEvent {
    /// Whose stream.
    pub principal_id: String,
    /// Its sequence number in that stream.
    pub seq: Seq,
    /// The event.
    pub event: Event,
}

/// A message as agents see it: the visitor's [`Message`] plus what only agents see
/// (CUSTOM_DATA's agent message and payload). The JSON is the message's fields, flat, with
/// `agent_message` / `custom_data` added and `custom` always present.
#[derive(Deserialize, Debug, Clone, PartialEq)]
pub struct AgentMessage {
    /// The message as the visitor sees it.
    #[serde(flatten)]
    pub message: Message,
    /// CUSTOM_DATA `agentMessage` (agents only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_message: Option<String>,
    /// CUSTOM_DATA payload (agents only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_data: Option<Json>,
}

impl Serialize for AgentMessage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        /// `Message` omits `custom` when false; the agent API always has it.
        #[derive(Serialize)]
        struct Wire<'a> {
            #[serde(flatten)]
            message: &'a Message,
            #[serde(skip_serializing_if = "Option::is_none")]
            agent_message: Option<&'a String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            custom_data: Option<&'a Json>,
            #[serde(skip_serializing_if = "Option::is_none")]
            custom: Option<bool>,
        }
        Wire {
            message: &self.message,
            agent_message: self.agent_message.as_ref(),
            custom_data: self.custom_data.as_ref(),
            custom: (!self.message.custom).then_some(false),
        }
        .serialize(s)
    }
}

impl AgentMessage {
    /// The visitor's view of this message.
    pub fn visitor_view(&self) -> Message {
        self.message.clone()
    }
}

/// One metadata value with the time it arrived.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct MetaEntry {
    /// The value.
    pub value: Json,
    /// When it arrived (ms since epoch).
    pub updated_at: u64,
}

/// Who a conversation belongs to, for agents.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct PrincipalView {
    /// Opaque principal id.
    pub id: String,
    /// `visitor` or `customer`.
    pub kind: String,
    /// The customer identity, when authenticated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Customer>,
}

/// A conversation (thread) in agent listings.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ConversationSummary {
    /// Thread id.
    pub id: String,
    /// Widget id.
    pub widget_id: String,
    /// Owner.
    pub principal: PrincipalView,
    /// Status.
    pub status: ThreadStatus,
    /// Created at.
    pub created_at: u64,
    /// Last change (message or status).
    pub updated_at: u64,
    /// Number of messages.
    pub message_count: u64,
    /// Visitor messages after the last agent message.
    pub unread_count: u64,
    /// The latest message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message: Option<AgentMessage>,
}

/// Events pushed on the agent event stream (`GET /v1/agent/events`).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentEvent {
    /// A message was added.
    Message {
        /// Widget.
        widget_id: String,
        /// Thread.
        thread_id: String,
        /// The message (agent view).
        message: AgentMessage,
    },
    /// A conversation was created (or moved to a customer on `auth`).
    ThreadOpened {
        /// Widget.
        widget_id: String,
        /// The conversation.
        conversation: ConversationSummary,
    },
    /// Status changed.
    ThreadStatus {
        /// Widget.
        widget_id: String,
        /// Thread.
        thread_id: String,
        /// New status.
        status: ThreadStatus,
    },
    /// Contextual data changed (the full merged metadata of the thread).
    MetadataUpdated {
        /// Widget.
        widget_id: String,
        /// Thread.
        thread_id: String,
        /// Merged metadata.
        metadata: BTreeMap<String, MetaEntry>,
    },
}

/// What a mutation asks the server to publish.
#[derive(Debug, Default, Clone)]
pub struct Effects {
    /// Stored visitor events, in order.
    pub visitor: Vec<VisitorEvent>,
    /// Agent stream events, in order.
    pub agent: Vec<AgentEvent>,
}

/// A new attachment (bytes already written by the caller when `file` is set).
#[derive(Debug, Clone)]
pub struct NewAttachment {
    /// Random id.
    pub id: String,
    /// File name.
    pub file_name: String,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// File name inside the attachments directory.
    pub file: Option<String>,
    /// External `https://` URL (not fetched).
    pub external_url: Option<String>,
}

/// The content of a visitor message.
#[derive(Debug, Clone, Default)]
pub struct NewContent {
    /// Visitor-facing text.
    pub text: Option<String>,
    /// Attachment.
    pub attachment: Option<NewAttachment>,
    /// CUSTOM_DATA.
    pub custom: bool,
    /// CUSTOM_DATA payload.
    pub custom_data: Option<Json>,
    /// CUSTOM_DATA agent message.
    pub agent_message: Option<String>,
}

/// A stored attachment's record.
#[derive(Debug, Clone)]
pub struct AttachmentRecord {
    /// File name.
    pub file_name: String,
    /// MIME type.
    pub content_type: String,
    /// Size.
    pub size: u64,
    /// File inside the attachments directory.
    pub file: Option<String>,
    /// External URL.
    pub external_url: Option<String>,
}

/// A session row.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    /// Owner.
    pub principal_id: String,
    /// Widget.
    pub widget_id: String,
    /// Last `hello` with it (ms).
    pub last_used_at: u64,
    /// Ended by `logout` or replaced by `auth`.
    pub ended: bool,
    /// When an authenticated session needs a fresh JWT (ms).
    pub auth_expires_at: Option<u64>,
}

/// A thread row.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadRow {
    /// Thread id.
    pub id: String,
    /// Widget.
    pub widget_id: String,
    /// Owner.
    pub principal_id: String,
    /// Status.
    pub status: ThreadStatus,
    /// Created at (ms).
    pub created_at: u64,
    /// Last message (or creation) (ms): what inactivity is measured from.
    pub last_activity_at: u64,
    /// Last message or status change (ms).
    pub updated_at: u64,
}

/// A stored idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRow {
    /// `send` or `context`.
    pub kind: String,
    /// Hash of the request body.
    pub body_hash: String,
    /// The stored answer (JSON).
    pub response: String,
}

/// One contextual-data entry: key, JSON value (text), arrival time.
pub type MetaRow = (String, String, u64);

/// Row-level operations inside one transaction. Implemented by every backend; the service
/// layer's rules are written once against it. Every method is a plain query or statement;
/// none decides anything.
pub trait Tx {
    /// Serializes writers of one principal across nodes until the transaction ends
    /// (PostgreSQL: a row lock; single-writer backends: nothing to do).
    fn lock_principal(&mut self, principal_id: &str) -> StoreResult<()>;
    /// A principal, `None` when unknown.
    fn principal(&mut self, id: &str) -> StoreResult<Option<Principal>>;
    /// Inserts a principal (visitor when `customer` is `None`).
    fn insert_principal(&mut self, p: &Principal, now: u64) -> StoreResult<()>;
    /// The customer principal of `(widget, stp, sub)`.
    fn find_customer(&mut self, widget_id: &str, c: &Customer) -> StoreResult<Option<String>>;
    /// The principal's last sequence number (0 = none).
    fn head(&mut self, principal_id: &str) -> StoreResult<Seq>;
    /// The principal's write bucket `(tokens, at_ms)`; `None` before its first charged write.
    fn rate_bucket(&mut self, principal_id: &str) -> StoreResult<Option<(f64, u64)>>;
    /// Stores the principal's write bucket.
    fn set_rate_bucket(&mut self, principal_id: &str, tokens: f64, at: u64) -> StoreResult<()>;
    /// Increments and returns the principal's head sequence number.
    fn next_seq(&mut self, principal_id: &str) -> StoreResult<Seq>;
    /// Stores an event.
    fn insert_event(&mut self, principal_id: &str, seq: Seq, event: &Event, now: u64) -> StoreResult<()>;
    /// Stored events after `after`, in order.
    fn events_after(&mut self, principal_id: &str, after: Seq) -> StoreResult<Vec<(Seq, Event)>>;

    /// A session by token hash.
    fn session(&mut self, token_hash: &str) -> StoreResult<Option<SessionRow>>;
    /// Inserts a session (unique token hash).
    fn insert_session(&mut self, token_hash: &str, s: &SessionRow, now: u64) -> StoreResult<()>;
    /// Marks a session used at `now`.
    fn touch_session(&mut self, token_hash: &str, now: u64) -> StoreResult<()>;
    /// Ends a session.
    fn end_session(&mut self, token_hash: &str) -> StoreResult<()>;
    /// Remembers a JWT id until `exp`; false when it was already there (unique in the database).
    fn insert_jti(&mut self, widget_id: &str, jti: &str, exp: u64) -> StoreResult<bool>;
    /// Forgets jtis expired before `now` and sessions unused since before `session_cutoff`.
    fn purge(&mut self, now: u64, session_cutoff: u64) -> StoreResult<()>;

    /// A thread.
    fn thread(&mut self, id: &str) -> StoreResult<Option<ThreadRow>>;
    /// Inserts a thread.
    fn insert_thread(&mut self, t: &ThreadRow) -> StoreResult<()>;
    /// Sets a thread's status and `updated_at`.
    fn set_thread_status(&mut self, id: &str, status: ThreadStatus, now: u64) -> StoreResult<()>;
    /// The principal's open thread with the newest message (else the newest open thread).
    fn active_open_thread(&mut self, principal_id: &str) -> StoreResult<Option<String>>;
    /// The principal's open threads, oldest first.
    fn open_threads(&mut self, principal_id: &str) -> StoreResult<Vec<String>>;
    /// The principal's newest `limit` threads, oldest first.
    fn threads_of(&mut self, principal_id: &str, limit: usize) -> StoreResult<Vec<ThreadRow>>;
    /// Gives every thread of `from` to `to`.
    fn move_threads(&mut self, from: &str, to: &str) -> StoreResult<()>;
    /// Open threads of a widget with no activity since `cutoff`: (thread, principal).
    fn stale_open_threads(&mut self, widget_id: &str, cutoff: u64, limit: usize) -> StoreResult<Vec<(String, String)>>;
    /// Thread ids, most recently updated first.
    fn list_threads(&mut self, widget_id: Option<&str>, status: Option<ThreadStatus>, limit: usize) -> StoreResult<Vec<String>>;

    /// Inserts a message (with its attachment record, if any) and marks the thread active at
    /// the message's time.
    fn insert_message(&mut self, m: &AgentMessage, attachment: Option<&NewAttachment>) -> StoreResult<()>;
    /// Time of the thread's newest message.
    fn last_message_time(&mut self, thread_id: &str) -> StoreResult<Option<u64>>;
    /// The newest `limit` messages of a thread, oldest first (`0` = all).
    fn thread_messages(&mut self, thread_id: &str, limit: usize) -> StoreResult<Vec<AgentMessage>>;
    /// The newest `limit` messages of a thread stored before message `before` (before the
    /// end when `None`), oldest first; `None` when `before` is not a message of the thread.
    fn messages_before(&mut self, thread_id: &str, before: Option<&str>, limit: usize) -> StoreResult<Option<Vec<AgentMessage>>>;
    /// (messages, visitor messages after the last agent message) of a thread.
    fn message_counts(&mut self, thread_id: &str) -> StoreResult<(u64, u64)>;
    /// An attachment record.
    fn attachment(&mut self, id: &str) -> StoreResult<Option<AttachmentRecord>>;

    /// A stored idempotency key.
    fn request(&mut self, principal_id: &str, req: &str) -> StoreResult<Option<RequestRow>>;
    /// Stores an idempotency key (unique per principal in the database).
    fn insert_request(&mut self, principal_id: &str, req: &str, r: &RequestRow, now: u64) -> StoreResult<()>;
    /// Gives `from`'s idempotency keys to `to` (keys `to` already has stay `to`'s).
    fn move_requests(&mut self, from: &str, to: &str) -> StoreResult<()>;

    /// Merges entries into a thread's metadata (an entry older than the stored one loses).
    fn merge_metadata(&mut self, thread_id: &str, entries: &[MetaRow]) -> StoreResult<()>;
    /// A thread's metadata.
    fn metadata(&mut self, thread_id: &str) -> StoreResult<BTreeMap<String, MetaEntry>>;
    /// Puts entries into the principal's pending queue (`sticky`: for every future thread).
    fn put_pending(&mut self, principal_id: &str, sticky: bool, entries: &[MetaRow]) -> StoreResult<()>;
    /// The pending entries, oldest first (`sticky_only`: only the sticky ones).
    fn pending(&mut self, principal_id: &str, sticky_only: bool) -> StoreResult<Vec<MetaRow>>;
    /// Drops the one-shot (non-sticky) pending entries.
    fn clear_oneshot_pending(&mut self, principal_id: &str) -> StoreResult<()>;
    /// Gives `from`'s pending entries to `to` (the newer entry wins per key).
    fn move_pending(&mut self, from: &str, to: &str) -> StoreResult<()>;
}

/// A storage backend: runs [`Tx`] functions in its transactions.
pub trait Store: Send + Sync + 'static {
    /// Sets where committed effects go (called once at start).
    fn set_publisher(&self, publisher: Publisher);
    /// Sends `announcer`'s payloads inside each commit; false (the default) when the backend
    /// cannot, and the caller must notify after commit itself.
    fn set_announcer(&self, announcer: Announcer) -> bool {
        let _ = announcer;
        false
    }
    /// Queues a write; `done` is called once, after the commit that made it durable (and
    /// after its effects were published), or with the error that stopped it. Returns at once
    /// for backends with a writer queue; the memory store runs it inline.
    fn submit(&self, f: WriteFn, done: Done<()>);
    /// Runs `f` against committed data. Blocking.
    fn read(&self, f: &mut dyn FnMut(&mut dyn Tx) -> StoreResult<()>) -> StoreResult<()>;
}

/// Runs a write and hands its value to `done` after commit.
pub fn submit<T: Send + 'static>(
    store: &dyn Store,
    mut f: impl FnMut(&mut dyn Tx) -> StoreResult<(T, Effects)> + Send + 'static,
    done: Done<T>,
) {
    let slot = std::sync::Arc::new(std::sync::Mutex::new(None));
    let put = slot.clone();
    store.submit(
        Box::new(move |tx| {
            let (value, fx) = f(tx)?;
            *put.lock().unwrap_or_else(|p| p.into_inner()) = Some(value);
            Ok(fx)
        }),
        Box::new(move |r| {
            done(r.and_then(|()| {
                slot.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take()
                    .ok_or_else(|| StoreError::Internal("write lost its result".into()))
            }))
        }),
    );
}

/// Runs a write and blocks until it is durable.
pub fn write<T: Send + 'static>(
    store: &dyn Store,
    f: impl FnMut(&mut dyn Tx) -> StoreResult<(T, Effects)> + Send + 'static,
) -> StoreResult<T> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    submit(store, f, Box::new(move |r| {
        let _ = tx.send(r);
    }));
    rx.recv()
        .unwrap_or_else(|_| Err(StoreError::Internal("store dropped the request".into())))
}

/// Runs a read (blocking).
pub fn read<T>(store: &dyn Store, f: impl FnOnce(&mut dyn Tx) -> StoreResult<T>) -> StoreResult<T> {
    let mut f = Some(f);
    let mut out = None;
    store.read(&mut |tx| {
        let f = f.take().ok_or_else(|| StoreError::Internal("read ran twice".into()))?;
        out = Some(f(tx)?);
        Ok(())
    })?;
    out.ok_or_else(|| StoreError::Internal("read did not run".into()))
}

/// Status as stored (the protocol's names).
pub fn status_str(s: ThreadStatus) -> &'static str {
    s.as_str()
}

/// Parses a stored status; an unknown value reads as the most restrictive status.
pub fn parse_status(s: &str) -> ThreadStatus {
    ThreadStatus::parse(s).unwrap_or(ThreadStatus::Closed)
}

/// Author as stored (the protocol's names).
pub fn author_str(a: Author) -> &'static str {
    a.as_str()
}

/// Parses a stored author; an unknown value reads as `system`.
pub fn parse_author(s: &str) -> Author {
    Author::parse(s).unwrap_or(Author::System)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(custom: bool) -> AgentMessage {
        AgentMessage {
            message: Message {
                id: "m".into(),
                thread_id: "t".into(),
                client_id: Some("c".into()),
                author: Author::Visitor,
                agent_name: None,
                text: Some("hi".into()),
                attachment: None,
                custom,
                created_at: 5,
            },
            agent_message: custom.then(|| "for agents".into()),
            custom_data: custom.then(|| serde_json::json!({"order": 1})),
        }
    }

    /// The agent API's message JSON: the message's fields flat, `custom` always present
    /// exactly once, the CUSTOM_DATA parts only when set; and it reads back.
    #[test]
    fn agent_message_json() {
        let plain = serde_json::to_value(message(false)).unwrap();
        assert_eq!(
            plain,
            serde_json::json!({"id": "m", "thread_id": "t", "client_id": "c", "author": "visitor",
                "text": "hi", "custom": false, "created_at": 5})
        );
        let custom = serde_json::to_string(&message(true)).unwrap();
        assert_eq!(custom.matches("\"custom\"").count(), 1, "{custom}");
        let v: Json = serde_json::from_str(&custom).unwrap();
        assert_eq!(v["custom"], true);
        assert_eq!(v["agent_message"], "for agents");
        assert_eq!(v["custom_data"], serde_json::json!({"order": 1}));
        for m in [message(false), message(true)] {
            let back: AgentMessage = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
            assert_eq!(back, m);
        }
    }
}
