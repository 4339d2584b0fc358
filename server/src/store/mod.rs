//! Storage interface. The server talks to storage only through [`Store`], so another
//! backend (PostgreSQL) can implement it later. [`sqlite::SqliteStore`] is the embedded default.
//!
//! Every mutating method is atomic and durable when it returns `Ok`: the caller acknowledges
//! to the client only after that. The [`Effects`] of a mutation (ordered visitor events,
//! already stored with their sequence numbers, and agent-stream events) are handed to the
//! [`Publisher`] after commit, in commit order, so sockets see each principal's events in
//! sequence order; the methods also return a copy for the caller's information.
//! The methods are blocking; the server calls them from blocking threads, except the
//! `submit_*` methods, which take a completion callback (the SQLite store queues them to its
//! group-commit writer and returns at once).

pub mod sqlite;
mod writer;

/// Receives the effects of every committed mutation, in commit order.
pub type Publisher = std::sync::Arc<dyn Fn(&Effects) + Send + Sync>;

/// Completion of a submitted mutation: called exactly once, after the change is durable
/// (or with the error that stopped it). It may run on a storage thread: keep it short.
pub type Done<T> = Box<dyn FnOnce(StoreResult<T>) + Send>;

use std::collections::BTreeMap;

use livechat_protocol::{
    Attachment, Author, Customer, Event, Json, Message, MultiThreadStrategy, Seq, Thread,
    ThreadStatus,
};
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

/// A message as agents see it (includes CUSTOM_DATA's agent message and data).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct AgentMessage {
    /// Message id.
    pub id: String,
    /// Thread id.
    pub thread_id: String,
    /// The visitor's client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Who wrote it.
    pub author: Author,
    /// Agent name (agent messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    /// Text (for CUSTOM_DATA: the visitor-facing `userMessage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// CUSTOM_DATA `agentMessage` (agents only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_message: Option<String>,
    /// CUSTOM_DATA payload (agents only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_data: Option<Json>,
    /// Attachment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Attachment>,
    /// True for CUSTOM_DATA.
    #[serde(default)]
    pub custom: bool,
    /// Stored at.
    pub created_at: u64,
}

impl AgentMessage {
    /// The visitor's view of this message.
    pub fn visitor_view(&self) -> Message {
        Message {
            id: self.id.clone(),
            thread_id: self.thread_id.clone(),
            client_id: self.client_id.clone(),
            author: self.author,
            agent_name: self.agent_name.clone(),
            text: self.text.clone(),
            attachment: self.attachment.clone(),
            custom: self.custom,
            created_at: self.created_at,
        }
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

/// A `send`.
#[derive(Debug, Clone)]
pub struct SendRequest {
    /// Widget id.
    pub widget_id: String,
    /// Sender.
    pub principal_id: String,
    /// Idempotency key.
    pub req: String,
    /// Hash of the request body (for conflict detection).
    pub body_hash: String,
    /// Explicit thread.
    pub thread_id: Option<String>,
    /// Start a new thread (multi-thread widgets, no `thread_id`).
    pub new_thread: bool,
    /// What to store.
    pub content: NewContent,
    /// Now, ms.
    pub now: u64,
}

/// Answer to a `send`.
#[derive(Debug, Clone)]
pub enum SendOutcome {
    /// Stored now.
    Stored {
        /// The message (visitor view).
        message: Message,
        /// Events to publish.
        effects: Effects,
    },
    /// Already stored with the same body earlier: the same message.
    Duplicate {
        /// The stored message.
        message: Message,
    },
}

/// A `contextual_data` request.
#[derive(Debug, Clone)]
pub struct ContextRequest {
    /// Widget id.
    pub widget_id: String,
    /// Whether the widget is multi-thread (single-thread ignores the strategy).
    pub multi_thread: bool,
    /// Sender.
    pub principal_id: String,
    /// Idempotency key.
    pub req: String,
    /// Body hash.
    pub body_hash: String,
    /// Key/values.
    pub metadata: BTreeMap<String, Json>,
    /// Strategy.
    pub strategy: MultiThreadStrategy,
    /// Now, ms.
    pub now: u64,
}

/// Answer to `contextual_data`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ContextResult {
    /// Threads that received the data now.
    pub thread_ids: Vec<String>,
    /// True when it waits for the next conversation.
    pub queued: bool,
}

/// An `auth`.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    /// Widget id.
    pub widget_id: String,
    /// Single-thread widgets keep one open thread after merging.
    pub multi_thread: bool,
    /// The principal of the socket now.
    pub from: Principal,
    /// The session token hash being replaced, if any.
    pub old_token_hash: Option<String>,
    /// Hash of the new session token.
    pub new_token_hash: String,
    /// Verified identity.
    pub customer: Customer,
    /// JWT id (single use).
    pub jti: String,
    /// JWT expiry, ms (the jti is remembered until then).
    pub jti_exp_ms: u64,
    /// When the new session needs a fresh JWT (ms); `None`: never.
    pub auth_expires_ms: Option<u64>,
    /// Messages per thread in inherited-thread events.
    pub recent_messages: usize,
    /// Now, ms.
    pub now: u64,
}

/// Full state for `sync`.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Head sequence.
    pub last_seq: Seq,
    /// Threads with recent messages.
    pub threads: Vec<Thread>,
    /// `ALL_PLUS_NEW` data waiting for future threads.
    pub pending: BTreeMap<String, Json>,
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

/// The storage interface.
pub trait Store: Send + Sync + 'static {
    /// Sets where committed effects go (called once at start).
    fn set_publisher(&self, publisher: Publisher);
    /// Resolves a live session token (hash) of `widget_id` and marks it used. `None` when
    /// unknown, ended, of another widget, or idle longer than `idle_ms`.
    fn resolve_session(
        &self,
        token_hash: &str,
        widget_id: &str,
        now: u64,
        idle_ms: u64,
    ) -> StoreResult<Option<Principal>>;
    /// Creates an anonymous visitor with a session.
    fn create_visitor(&self, widget_id: &str, token_hash: &str, now: u64)
        -> StoreResult<Principal>;
    /// When the authenticated session of this token needs a fresh JWT (ms), if ever.
    fn session_auth_expiry(&self, token_hash: &str) -> StoreResult<Option<u64>>;
    /// Ends a session (logout).
    fn end_session(&self, token_hash: &str) -> StoreResult<()>;
    /// Authenticates: consumes the jti, finds or creates the customer, moves an anonymous
    /// visitor's threads to it, and creates a session for it.
    fn authenticate(&self, req: AuthRequest) -> StoreResult<(Principal, Effects)>;
    /// The last sequence number of a principal (0 = none).
    fn head(&self, principal_id: &str) -> StoreResult<Seq>;
    /// Stored events after `after`, in order.
    fn events_after(&self, principal_id: &str, after: Seq) -> StoreResult<Vec<(Seq, Event)>>;
    /// Full state of a principal.
    fn snapshot(&self, principal_id: &str, messages_per_thread: usize) -> StoreResult<Snapshot>;
    /// Stores a visitor message (idempotent by `req`).
    fn send_message(&self, req: SendRequest) -> StoreResult<SendOutcome>;
    /// Stores contextual data (idempotent by `req`). Returns the result, effects, and whether it was a duplicate.
    fn contextual_data(&self, req: ContextRequest) -> StoreResult<(ContextResult, Effects, bool)>;
    /// [`send_message`](Store::send_message) without blocking the caller: `done` gets the
    /// outcome once the message is durable. Lets the websocket path await a queued write
    /// instead of parking a thread per message. The default runs the blocking call inline
    /// (backends without a write queue), so only call it where blocking is acceptable.
    fn submit_send(&self, req: SendRequest, done: Done<SendOutcome>) {
        done(self.send_message(req))
    }
    /// [`contextual_data`](Store::contextual_data) without blocking; see [`Store::submit_send`].
    fn submit_contextual_data(
        &self,
        req: ContextRequest,
        done: Done<(ContextResult, Effects, bool)>,
    ) {
        done(self.contextual_data(req))
    }
    /// Stores an agent reply in an open thread.
    fn agent_reply(
        &self,
        thread_id: &str,
        agent_name: &str,
        text: &str,
        now: u64,
    ) -> StoreResult<(AgentMessage, Effects)>;
    /// Sets a thread's status.
    fn set_status(&self, thread_id: &str, status: ThreadStatus, now: u64) -> StoreResult<Effects>;
    /// Closes the widget's open threads inactive since before `cutoff`.
    fn close_inactive(&self, widget_id: &str, cutoff: u64, now: u64) -> StoreResult<Effects>;
    /// Stores an availability event for each principal.
    fn availability(
        &self,
        principal_ids: &[String],
        online: bool,
        now: u64,
    ) -> StoreResult<Effects>;
    /// Forgets expired jtis and long-expired sessions.
    fn purge(&self, now: u64, session_idle_ms: u64) -> StoreResult<()>;
    /// Conversations, newest activity first.
    fn list_conversations(
        &self,
        widget_id: Option<&str>,
        status: Option<ThreadStatus>,
        limit: usize,
    ) -> StoreResult<Vec<ConversationSummary>>;
    /// One conversation.
    fn conversation(&self, thread_id: &str) -> StoreResult<Option<ConversationSummary>>;
    /// All messages of a thread (agent view), `None` when unknown.
    fn conversation_messages(&self, thread_id: &str) -> StoreResult<Option<Vec<AgentMessage>>>;
    /// Merged metadata of a thread, `None` when unknown.
    fn conversation_metadata(
        &self,
        thread_id: &str,
    ) -> StoreResult<Option<BTreeMap<String, MetaEntry>>>;
    /// An attachment record.
    fn attachment(&self, id: &str) -> StoreResult<Option<AttachmentRecord>>;
}
