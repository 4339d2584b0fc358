//! The service layer: the product's rules as plain Rust over the [`Store`] trait. No
//! sockets, no HTTP, no SQL. The transport layer (`ws`, `http`, `agent`) decodes and
//! authorizes, calls a method here, and encodes the answer.
//!
//! Every mutation is one of the functions in [`rules`], run inside one store transaction, so
//! SQLite, PostgreSQL and the in-memory test store share the same rules. Methods that touch
//! storage block (call them from a blocking thread), except [`Service::send`] and
//! [`Service::contextual_data`], which await the store's group-commit writer.

pub mod rate;
pub mod rules;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use livechat_protocol::{
    Customer, Event, Json, Message, MultiThreadStrategy, OutgoingBody, Seq, Thread, ThreadStatus,
};
use serde::{Deserialize, Serialize};

use crate::config::{Config, WidgetSettings};
use crate::store::{
    self, AgentMessage, AttachmentRecord, ConversationSummary, Effects, MetaEntry, NewContent,
    Principal, Store, StoreError, StoreResult,
};
use crate::util::{random_id, sha256_hex};
use livechat_protocol::MAX_END_SESSIONS;

/// A session token as a client may present it (anything else resumes and ends nothing).
fn valid_token(t: &str) -> bool {
    !t.is_empty() && t.len() <= 256
}
use crate::validate;

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
    /// The visitor's write limit (`None`: unlimited).
    pub rate: Option<rate::RateLimit>,
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
        /// Events published.
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
    /// The visitor's write limit (`None`: unlimited).
    pub rate: Option<rate::RateLimit>,
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

/// An `auth` whose JWT was verified.
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

/// A session opened by `hello`.
#[derive(Debug, Clone)]
pub struct Opened {
    /// Whose socket it is.
    pub principal: Principal,
    /// The session token (new when `fresh`).
    pub token: String,
    /// Its hash (what is stored).
    pub token_hash: String,
    /// A new visitor (the presented session was missing or invalid).
    pub fresh: bool,
    /// When the customer's JWT expires (ms), for sessions that must re-authenticate.
    pub auth_expires: Option<u64>,
}

/// What a socket gets after `welcome`.
#[derive(Debug, Clone)]
pub enum CatchUp {
    /// `resumed: true`: every stored event after the client's `last_seq`.
    Resume(Vec<(Seq, Event)>),
    /// `resumed: false`: the full state.
    Sync(Snapshot),
}

/// The rules, over a store.
pub struct Service {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Configuration.
    pub config: Arc<Config>,
}

impl Service {
    /// A service over `store`.
    pub fn new(store: Arc<dyn Store>, config: Arc<Config>) -> Service {
        Service { store, config }
    }

    fn write<T: Send + 'static>(
        &self,
        f: impl FnMut(&mut dyn store::Tx) -> StoreResult<(T, Effects)> + Send + 'static,
    ) -> StoreResult<T> {
        store::write(&*self.store, f)
    }

    async fn write_async<T: Send + 'static>(
        &self,
        f: impl FnMut(&mut dyn store::Tx) -> StoreResult<(T, Effects)> + Send + 'static,
    ) -> StoreResult<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        store::submit(
            &*self.store,
            f,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        rx.await
            .unwrap_or_else(|_| Err(StoreError::Internal("store dropped the request".into())))
    }

    /// `hello`'s session rule: a presented token resumes its principal when the session is
    /// live (known, not ended, this widget, not idle past `session_idle_timeout_secs`);
    /// otherwise a new anonymous visitor with a new token. Blocking.
    pub fn open_session(&self, widget: &WidgetSettings, token: Option<String>, now: u64) -> StoreResult<Opened> {
        self.hello(widget, token, &[], now)
    }

    /// `hello`: first ends the sessions the visitor ended while offline (`end_sessions`,
    /// each token its own proof; at most [`MAX_END_SESSIONS`], malformed ones ignored), in
    /// the same transaction as it then resolves `token` — so a hello can never resume a
    /// session it names — then [`Service::open_session`]'s rule. Blocking.
    pub fn hello(&self, widget: &WidgetSettings, token: Option<String>, end_sessions: &[String], now: u64) -> StoreResult<Opened> {
        let idle_ms = self.config.limits.session_idle_timeout_secs.saturating_mul(1000);
        let ended: Vec<String> = end_sessions
            .iter()
            .take(MAX_END_SESSIONS)
            .filter(|t| valid_token(t))
            .map(|t| sha256_hex(t.as_bytes()))
            .collect();
        let token = token.filter(|t| valid_token(t));
        if token.is_some() || !ended.is_empty() {
            let hash = token.as_ref().map(|t| sha256_hex(t.as_bytes()));
            let (h, wid) = (hash.clone(), widget.id.clone());
            let found = self.write(move |tx| {
                rules::end_sessions(tx, &ended)?;
                let found = match &h {
                    Some(h) => rules::resolve_session(tx, h, &wid, now, idle_ms)?,
                    None => None,
                };
                Ok((found, Effects::default()))
            })?;
            if let (Some((principal, auth_expires)), Some(token), Some(hash)) = (found, token, hash) {
                return Ok(Opened {
                    principal,
                    token,
                    token_hash: hash,
                    fresh: false,
                    auth_expires,
                });
            }
        }
        let token = random_id();
        let hash = sha256_hex(token.as_bytes());
        let (h, wid) = (hash.clone(), widget.id.clone());
        let principal = self.write(move |tx| Ok((rules::create_visitor(tx, &wid, &h, now)?, Effects::default())))?;
        Ok(Opened {
            principal,
            token,
            token_hash: hash,
            fresh: true,
            auth_expires: None,
        })
    }

    /// Resume or sync: resume when the session is not new and `0 < last_seq ≤ head` (or
    /// both are 0); otherwise the full state. Blocking.
    pub fn catch_up(&self, principal_id: &str, last_seq: Seq, fresh: bool) -> StoreResult<CatchUp> {
        let per_thread = self.config.limits.sync_messages_per_thread;
        store::read(&*self.store, |tx| {
            let head = tx.head(principal_id)?;
            let resumed = !fresh && last_seq <= head && (last_seq > 0 || head == 0);
            if resumed {
                Ok(CatchUp::Resume(tx.events_after(principal_id, last_seq)?))
            } else {
                Ok(CatchUp::Sync(rules::snapshot(tx, principal_id, per_thread)?))
            }
        })
    }

    /// The full state of a principal (after `auth`). Blocking.
    pub fn snapshot(&self, principal_id: &str) -> StoreResult<Snapshot> {
        let per_thread = self.config.limits.sync_messages_per_thread;
        store::read(&*self.store, |tx| rules::snapshot(tx, principal_id, per_thread))
    }

    /// `history`: a page of older messages of one of the principal's threads (see
    /// [`rules::history_page`]). Blocking.
    pub fn history(&self, principal_id: &str, thread_id: &str, before: Option<&str>, limit: u32) -> StoreResult<(Vec<Message>, bool)> {
        store::read(&*self.store, |tx| rules::history_page(tx, principal_id, thread_id, before, limit))
    }

    /// Builds the stored form of a `send`: `new_thread` only counts on multi-thread widgets
    /// without a `thread_id`; the idempotency hash covers what the visitor sent; the content
    /// is validated (an inline attachment is decoded and written to `attachments_dir`, so
    /// this blocks when there is one).
    pub fn prepare_send(
        &self,
        widget: &WidgetSettings,
        principal_id: String,
        req: String,
        thread_id: Option<String>,
        new_thread: bool,
        body: OutgoingBody,
        attachments_dir: &Path,
        now: u64,
    ) -> Result<SendRequest, validate::Reject> {
        let new_thread = new_thread && thread_id.is_none() && widget.multi_thread;
        let body_hash = sha256_hex(&serde_json::to_vec(&(&thread_id, new_thread, &body)).unwrap_or_default());
        let content = validate::prepare_body(body, widget, &self.config.limits, attachments_dir)?;
        Ok(SendRequest {
            widget_id: widget.id.clone(),
            principal_id,
            req,
            body_hash,
            thread_id,
            new_thread,
            content,
            rate: Some(self.visitor_rate()),
            now,
        })
    }

    /// A visitor's stored writes (`send`, `contextual_data`) across all of their sockets.
    fn visitor_rate(&self) -> rate::RateLimit {
        let l = &self.config.limits;
        rate::RateLimit { per_sec: l.visitor_rate_limit_per_sec, burst: l.visitor_rate_limit_burst }
    }

    /// Stores a visitor message (idempotent by `req`); resolves once durable.
    pub async fn send(&self, req: SendRequest) -> StoreResult<SendOutcome> {
        self.write_async(move |tx| rules::send(tx, &req)).await
    }

    /// Builds a `contextual_data` request (idempotency hash over metadata and strategy).
    pub fn prepare_context(
        &self,
        widget: &WidgetSettings,
        principal_id: String,
        req: String,
        metadata: BTreeMap<String, Json>,
        strategy: MultiThreadStrategy,
        now: u64,
    ) -> Result<ContextRequest, validate::Reject> {
        validate::check_metadata(&metadata, &self.config.limits)?;
        Ok(ContextRequest {
            widget_id: widget.id.clone(),
            multi_thread: widget.multi_thread,
            principal_id,
            req,
            body_hash: sha256_hex(&serde_json::to_vec(&(&metadata, strategy)).unwrap_or_default()),
            metadata,
            strategy,
            rate: Some(self.visitor_rate()),
            now,
        })
    }

    /// Stores contextual data (idempotent by `req`); resolves once durable. The flag is true
    /// for a duplicate.
    pub async fn contextual_data(&self, req: ContextRequest) -> StoreResult<(ContextResult, bool)> {
        self.write_async(move |tx| rules::contextual_data(tx, &req)).await
    }

    /// `auth` with a verified JWT. Blocking.
    pub fn authenticate(&self, req: AuthRequest) -> StoreResult<Principal> {
        self.write(move |tx| rules::authenticate(tx, &req))
    }

    /// `logout`: ends the session. Blocking.
    pub fn end_session(&self, token_hash: &str) -> StoreResult<()> {
        let h = token_hash.to_string();
        self.write(move |tx| Ok((tx.end_session(&h)?, Effects::default())))
    }

    /// An agent's reply into an open thread. Blocking.
    pub fn agent_reply(&self, thread_id: &str, agent_name: &str, text: &str, now: u64) -> StoreResult<AgentMessage> {
        let (t, a, x) = (thread_id.to_string(), agent_name.to_string(), text.to_string());
        self.write(move |tx| rules::agent_reply(tx, &t, &a, &x, now))
    }

    /// An agent sets a thread's status; returns the conversation after it. Blocking.
    pub fn set_status(&self, thread_id: &str, status: ThreadStatus, now: u64) -> StoreResult<Option<ConversationSummary>> {
        let t = thread_id.to_string();
        self.write(move |tx| {
            let fx = rules::agent_set_status(tx, &t, status, now)?;
            Ok((rules::summary(tx, &t)?, fx))
        })
    }

    /// Inactivity close for every widget, and (when `purge`) forgetting expired jtis and
    /// sessions. Blocking.
    pub fn sweep(&self, now: u64, purge: bool) -> StoreResult<()> {
        for w in &self.config.widgets {
            let cutoff = now.saturating_sub(w.inactivity_ms());
            let wid = w.id.clone();
            self.write(move |tx| Ok(((), rules::close_inactive(tx, &wid, cutoff, now)?)))?;
        }
        if purge {
            let idle = self.config.limits.session_idle_timeout_secs.saturating_mul(1000);
            self.write(move |tx| Ok((tx.purge(now, now.saturating_sub(idle))?, Effects::default())))?;
        }
        Ok(())
    }

    /// Availability (spec 004): online when the widget says so or an agent is connected.
    pub fn online(widget: &WidgetSettings, agents_connected: usize) -> bool {
        widget.agents_online || agents_connected > 0
    }

    /// Agents came online or went offline: an `availability` event for each connected
    /// principal of the widgets whose availability follows the agents. Blocking.
    pub fn availability_changed(&self, connected: impl Fn(&str) -> Vec<String>, online: bool, now: u64) -> StoreResult<()> {
        for w in &self.config.widgets {
            if w.agents_online {
                continue;
            }
            let principals = connected(&w.id);
            if principals.is_empty() {
                continue;
            }
            self.write(move |tx| Ok(((), rules::availability(tx, &principals, online, now)?)))?;
        }
        Ok(())
    }

    /// Whether a customer's request must wait for a fresh `auth` (the JWT expired).
    pub fn reauth_due(auth_expires: Option<u64>, now: u64) -> bool {
        auth_expires.is_some_and(|t| t <= now)
    }

    /// Conversations, newest activity first. Blocking.
    pub fn list_conversations(&self, widget_id: Option<&str>, status: Option<ThreadStatus>, limit: usize) -> StoreResult<Vec<ConversationSummary>> {
        store::read(&*self.store, |tx| {
            let ids = tx.list_threads(widget_id, status, limit)?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(s) = rules::summary(tx, &id)? {
                    out.push(s);
                }
            }
            Ok(out)
        })
    }

    /// One conversation. Blocking.
    pub fn conversation(&self, thread_id: &str) -> StoreResult<Option<ConversationSummary>> {
        store::read(&*self.store, |tx| rules::summary(tx, thread_id))
    }

    /// All messages of a thread (agent view), `None` when unknown. Blocking.
    pub fn conversation_messages(&self, thread_id: &str) -> StoreResult<Option<Vec<AgentMessage>>> {
        store::read(&*self.store, |tx| {
            if tx.thread(thread_id)?.is_none() {
                return Ok(None);
            }
            Ok(Some(tx.thread_messages(thread_id, 0)?))
        })
    }

    /// Merged metadata of a thread, `None` when unknown. Blocking.
    pub fn conversation_metadata(&self, thread_id: &str) -> StoreResult<Option<BTreeMap<String, MetaEntry>>> {
        store::read(&*self.store, |tx| {
            if tx.thread(thread_id)?.is_none() {
                return Ok(None);
            }
            Ok(Some(tx.metadata(thread_id)?))
        })
    }

    /// An attachment record. Blocking.
    pub fn attachment(&self, id: &str) -> StoreResult<Option<AttachmentRecord>> {
        store::read(&*self.store, |tx| tx.attachment(id))
    }
}
