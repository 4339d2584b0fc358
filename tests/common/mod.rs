//! Shared harness for the core's scenario tests: a fake clock, an in-memory store that
//! round-trips through JSON like localStorage would, and a fake server that speaks the
//! real protocol types (idempotent acks, ordered events, resume, queued metadata).
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, VecDeque};

use livechat_protocol::{
    error_code, AttachmentPolicy, Author, ClientFrame, Customer, Event, Json, Message, MultiThreadStrategy,
    OutgoingBody, ServerFrame, Thread, ThreadStatus, WidgetConfig,
};
use livechat_widget::core::{
    command, ApiError, CallId, ConfigError, Effect, Reply, StoredState, UiAction, Widget, WidgetEvent,
};
use serde_json::json;

/// The spec's example widget id.
pub const WIDGET: &str = "85ea1938-f457-496d-8532-8fa489beea63";
/// Start of the fake clock.
pub const T0: u64 = 1_700_000_000_000;

/// A demo configuration like the server's.
pub fn config(widget_id: &str) -> WidgetConfig {
    let mut themes = BTreeMap::new();
    themes.insert("dark".to_string(), livechat_protocol::Theme { primary: Some("#111".into()), ..Default::default() });
    WidgetConfig {
        id: widget_id.to_string(),
        title: "Support".into(),
        color: "#0055ff".into(),
        themes,
        languages: vec![],
        default_language: "en-US".into(),
        multi_thread: false,
        attachments: AttachmentPolicy { max_bytes: 1024, allowed_types: vec!["image/*".into(), "application/pdf".into()] },
        offline_message: "We reply by email".into(),
        online: true,
        ws_path: "/v1/ws".into(),
    }
}

/// localStorage stand-in: keeps JSON text, so every write is a real serialization round trip.
#[derive(Default, Clone)]
pub struct MemoryStore {
    pub entries: HashMap<String, String>,
    /// When set, reads return nothing and writes are dropped (storage unavailable).
    pub broken: bool,
}

impl MemoryStore {
    pub fn load(&self, widget_id: &str) -> Option<StoredState> {
        if self.broken {
            return None;
        }
        let text = self.entries.get(&livechat_widget::core::state::storage_key(widget_id))?;
        serde_json::from_str(text).ok()
    }
    pub fn save(&mut self, state: &StoredState) {
        if !self.broken {
            let key = livechat_widget::core::state::storage_key(&state.widget_id);
            self.entries.insert(key, serde_json::to_string(state).unwrap());
        }
    }
    pub fn remove(&mut self, widget_id: &str) {
        self.entries.remove(&livechat_widget::core::state::storage_key(widget_id));
    }
}

/// An in-memory server for one visitor.
#[derive(Default)]
pub struct FakeServer {
    /// Accepts sockets.
    pub up: bool,
    /// Frames waiting to reach the widget.
    pub outbound: VecDeque<ServerFrame>,
    /// Every event, in seq order.
    pub events: Vec<(u64, Event)>,
    pub threads: Vec<Thread>,
    /// Answers by request id (idempotency), with the frame that produced them.
    pub answers: BTreeMap<String, (ClientFrame, ServerFrame)>,
    /// Metadata per thread.
    pub metadata: BTreeMap<String, serde_json::Map<String, Json>>,
    /// Metadata waiting for the first thread.
    pub pending_metadata: serde_json::Map<String, Json>,
    pub session: Option<String>,
    pub customer: Option<Customer>,
    pub next_id: u64,
    /// Frames received, in order.
    pub received: Vec<ClientFrame>,
    pub multi_thread: bool,
    /// Reply to `send` with this error code instead of storing.
    pub refuse_sends: Option<&'static str>,
    /// The customer's JWT expired: sends get `reauth_required` until the next `auth`.
    pub reauth: bool,
    /// Never answer pings (half-open socket).
    pub silent: bool,
    /// Session tokens a `hello` asked to end, in order (kept across visitors).
    pub ended_sessions: Vec<String>,
}

impl FakeServer {
    pub fn new() -> Self {
        Self { up: true, ..Default::default() }
    }

    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{}", self.next_id)
    }

    pub fn emit(&mut self, event: Event) {
        let seq = self.events.len() as u64 + 1;
        self.events.push((seq, event.clone()));
        self.outbound.push_back(ServerFrame::Event { seq, event });
    }

    /// Number of stored visitor messages.
    pub fn stored_messages(&self) -> usize {
        self.threads.iter().flat_map(|t| &t.messages).filter(|m| m.author == Author::Visitor).count()
    }

    /// An agent answers in the active thread.
    pub fn agent_reply(&mut self, text: &str, now: u64) {
        let thread_id = self.threads.iter().rev().find(|t| t.status == ThreadStatus::Open).map(|t| t.id.clone()).expect("an open thread");
        let message = Message {
            id: self.id("msg-"),
            thread_id: thread_id.clone(),
            client_id: None,
            author: Author::Agent,
            agent_name: Some("Ana".into()),
            text: Some(text.into()),
            attachment: None,
            custom: false,
            created_at: now,
        };
        self.threads.iter_mut().find(|t| t.id == thread_id).unwrap().messages.push(message.clone());
        self.emit(Event::Message { message });
    }

    /// Handles one frame from the widget.
    pub fn receive(&mut self, frame: ClientFrame, now: u64) {
        self.received.push(frame.clone());
        match frame {
            ClientFrame::Hello { session, last_seq, end_sessions, .. } => {
                // Ended before this hello's own session is looked at.
                if end_sessions.iter().any(|t| Some(t) == self.session.as_ref()) {
                    self.session = None;
                }
                self.ended_sessions.extend(end_sessions);
                let known = session.is_some() && session == self.session;
                let resumable = known && last_seq <= self.events.len() as u64;
                if !known {
                    // No or unknown session: a new anonymous visitor with nothing yet.
                    let received = std::mem::take(&mut self.received);
                    *self = FakeServer { up: true, received, next_id: self.next_id, multi_thread: self.multi_thread, silent: self.silent, refuse_sends: self.refuse_sends, ended_sessions: std::mem::take(&mut self.ended_sessions), ..Default::default() };
                    self.session = Some(self.id("sess-"));
                }
                self.outbound.push_back(ServerFrame::Welcome {
                    protocol: 1,
                    session: self.session.clone().unwrap(),
                    customer: self.customer.clone(),
                    resumed: resumable,
                    online: true,
                });
                if resumable {
                    for (seq, event) in self.events.clone().into_iter().filter(|(s, _)| *s > last_seq) {
                        self.outbound.push_back(ServerFrame::Event { seq, event });
                    }
                } else {
                    self.outbound.push_back(ServerFrame::Sync {
                        last_seq: self.events.len() as u64,
                        threads: self.threads.clone(),
                        pending_metadata: None,
                    });
                }
            }
            ClientFrame::Send { ref req, ref thread_id, new_thread, ref body } => {
                if let Some((first, answer)) = self.answers.get(req) {
                    let answer = if *first == frame {
                        answer.clone()
                    } else {
                        error(req, error_code::IDEMPOTENCY_CONFLICT)
                    };
                    self.outbound.push_back(answer);
                    return;
                }
                if self.reauth {
                    self.outbound.push_back(error(req, error_code::REAUTH_REQUIRED));
                    return;
                }
                if let Some(code) = self.refuse_sends {
                    self.outbound.push_back(error(req, code));
                    return;
                }
                let active = if new_thread && self.multi_thread {
                    None
                } else {
                    self.threads.iter().rev().find(|t| t.status == ThreadStatus::Open).map(|t| t.id.clone())
                };
                let thread_id = match thread_id {
                    Some(t) => t.clone(),
                    None => match active {
                        Some(t) => t,
                        None => {
                            let thread = Thread { id: self.id("thr-"), status: ThreadStatus::Open, created_at: now, messages: vec![] };
                            self.threads.push(thread.clone());
                            let pending = std::mem::take(&mut self.pending_metadata);
                            if !pending.is_empty() {
                                self.metadata.insert(thread.id.clone(), pending);
                            }
                            self.emit(Event::ThreadOpened { thread: thread.clone() });
                            thread.id
                        }
                    },
                };
                let (text, custom) = match body {
                    OutgoingBody::Basic { text, .. } => (text.clone(), false),
                    OutgoingBody::CustomData { user_message, .. } => (user_message.clone(), true),
                };
                let message = Message {
                    id: self.id("msg-"),
                    thread_id: thread_id.clone(),
                    client_id: Some(req.clone()),
                    author: Author::Visitor,
                    agent_name: None,
                    text,
                    attachment: None,
                    custom,
                    created_at: now,
                };
                self.threads.iter_mut().find(|t| t.id == thread_id).unwrap().messages.push(message.clone());
                let ack = ServerFrame::Ack { req: req.clone(), message: message.clone() };
                self.answers.insert(req.clone(), (frame.clone(), ack.clone()));
                self.outbound.push_back(ack);
                self.emit(Event::Message { message });
            }
            ClientFrame::ContextualData { ref req, ref metadata, strategy } => {
                if let Some((_, answer)) = self.answers.get(req) {
                    self.outbound.push_back(answer.clone());
                    return;
                }
                let open: Vec<String> = self.threads.iter().filter(|t| t.status == ThreadStatus::Open).map(|t| t.id.clone()).collect();
                let targets: Vec<String> = match strategy {
                    _ if open.is_empty() => vec![],
                    MultiThreadStrategy::Active => vec![open.last().unwrap().clone()],
                    _ => open,
                };
                if targets.is_empty() {
                    self.pending_metadata.extend(metadata.clone());
                } else {
                    for t in &targets {
                        self.metadata.entry(t.clone()).or_default().extend(metadata.clone());
                    }
                }
                let ack = ServerFrame::ContextAck { req: req.clone(), queued: targets.is_empty(), thread_ids: targets };
                self.answers.insert(req.clone(), (frame.clone(), ack.clone()));
                self.outbound.push_back(ack);
            }
            ClientFrame::Auth { req, jwt } => {
                if jwt.starts_with("bad") {
                    self.outbound.push_back(error(&req, error_code::INVALID_TOKEN));
                    return;
                }
                let customer = Customer { subject: "ana@example.com".into(), subject_type: "email".into() };
                self.reauth = false;
                self.customer = Some(customer.clone());
                self.session = Some(self.id("sess-"));
                self.outbound.push_back(ServerFrame::AuthOk { req, customer, session: self.session.clone().unwrap() });
                self.outbound.push_back(ServerFrame::Sync { last_seq: self.events.len() as u64, threads: self.threads.clone(), pending_metadata: None });
            }
            ClientFrame::Logout { req } => {
                // The next hello starts a new anonymous visitor with nothing.
                let received = std::mem::take(&mut self.received);
                *self = FakeServer { up: true, received, next_id: self.next_id, multi_thread: self.multi_thread, ..Default::default() };
                self.outbound.push_back(ServerFrame::LoggedOut { req });
            }
            ClientFrame::History { req, thread_id, before, limit } => {
                if self.reauth {
                    return self.outbound.push_back(error(&req, error_code::REAUTH_REQUIRED));
                }
                let Some(thread) = self.threads.iter().find(|t| t.id == thread_id) else {
                    return self.outbound.push_back(error(&req, error_code::UNKNOWN_THREAD));
                };
                let end = match &before {
                    None => thread.messages.len(),
                    Some(id) => match thread.messages.iter().position(|m| m.id == *id) {
                        Some(i) => i,
                        None => return self.outbound.push_back(error(&req, error_code::UNKNOWN_THREAD)),
                    },
                };
                let start = end.saturating_sub(limit.clamp(1, livechat_protocol::MAX_HISTORY_PAGE) as usize);
                let messages = thread.messages[start..end].to_vec();
                self.outbound.push_back(ServerFrame::HistoryPage { req, thread_id, messages, more: start > 0 });
            }
            ClientFrame::Ping { nonce } => {
                if !self.silent {
                    self.outbound.push_back(ServerFrame::Pong { nonce });
                }
            }
        }
    }
}

fn error(req: &str, code: &str) -> ServerFrame {
    ServerFrame::Error { req: Some(req.into()), code: code.into(), message: format!("refused: {code}"), retry_after_ms: None }
}

/// What the harness does when the widget asks for its configuration.
#[derive(Clone)]
pub enum ConfigAnswer {
    Ok(WidgetConfig),
    Err(ConfigError),
    /// Hold the answer until `deliver_config`.
    Hold,
}

/// One widget on a fake clock, with its store and a fake server.
pub struct Harness {
    pub widget: Widget,
    pub now: u64,
    pub store: MemoryStore,
    pub server: FakeServer,
    pub config: ConfigAnswer,
    /// Every callback answer, by call, in order (to check "exactly once").
    pub replies: Vec<(CallId, Result<Reply, ApiError>)>,
    pub events: Vec<WidgetEvent>,
    pub socket_open: bool,
    pub opens: usize,
    pub renders: usize,
    /// Every OpenSocket time, for backoff checks.
    pub open_times: Vec<u64>,
    /// While set, frames from the server are lost on the way (e.g. an ack before a drop).
    pub lose_server_frames: bool,
    /// How many times the widget asked to remove its storage.
    pub clears: usize,
    /// Widgets whose cross-tab socket lock the widget asked for.
    pub claims: Vec<String>,
    /// Languages whose tables the widget asked for, in order.
    pub texts_asked: Vec<&'static str>,
    /// While set, asked-for tables are not answered (a slow network); else they are at once.
    pub hold_texts: bool,
    next_call: CallId,
    /// Configuration requests held by [`ConfigAnswer::Hold`]: widget id and attempt number.
    held_configs: Vec<(String, u32)>,
    /// When each configuration request went out, and its attempt number.
    pub config_fetches: Vec<(u64, u32)>,
}

impl Harness {
    pub fn new() -> Self {
        Self::with(MemoryStore::default(), FakeServer::new())
    }

    pub fn with(store: MemoryStore, server: FakeServer) -> Self {
        Self {
            widget: Widget::new(42, vec!["en-US".into()]),
            now: T0,
            store,
            server,
            config: ConfigAnswer::Ok(config(WIDGET)),
            replies: Vec::new(),
            events: Vec::new(),
            socket_open: false,
            opens: 0,
            renders: 0,
            open_times: Vec::new(),
            lose_server_frames: false,
            clears: 0,
            claims: Vec::new(),
            texts_asked: Vec::new(),
            hold_texts: false,
            next_call: 0,
            held_configs: Vec::new(),
            config_fetches: Vec::new(),
        }
    }

    /// A harness already initialized with [`WIDGET`] and connected.
    pub fn ready() -> Self {
        let mut h = Self::new();
        h.call_ok("init", Some(json!(WIDGET)));
        h
    }

    /// Calls `liveChat(name, arg)` as the driver would: parse, then hand to the core.
    pub fn call(&mut self, name: &str, arg: Option<Json>) -> CallId {
        self.next_call += 1;
        let call = self.next_call;
        match command::parse(name, arg) {
            Ok(cmd) => self.widget.handle_command(call, cmd, self.now),
            Err(e) => self.replies.push((call, Err(e))),
        }
        self.settle();
        call
    }

    /// Calls and expects a success now.
    pub fn call_ok(&mut self, name: &str, arg: Option<Json>) -> Reply {
        let call = self.call(name, arg);
        match self.reply(call) {
            Some(Ok(r)) => r,
            other => panic!("{name}: expected success, got {other:?}"),
        }
    }

    /// Calls and expects an error now.
    pub fn call_err(&mut self, name: &str, arg: Option<Json>) -> ApiError {
        let call = self.call(name, arg);
        match self.reply(call) {
            Some(Err(e)) => e,
            other => panic!("{name}: expected an error, got {other:?}"),
        }
    }

    /// The answer of a call; panics if it was answered more than once.
    pub fn reply(&self, call: CallId) -> Option<Result<Reply, ApiError>> {
        let answers: Vec<_> = self.replies.iter().filter(|(c, _)| *c == call).collect();
        assert!(answers.len() <= 1, "call {call} answered {} times", answers.len());
        answers.first().map(|(_, r)| r.clone())
    }

    pub fn ui(&mut self, action: UiAction) {
        self.widget.handle_ui(action, self.now);
        self.settle();
    }

    /// Drains effects only: frames the server sent meanwhile wait for [`Harness::settle`].
    pub fn run_effects(&mut self) {
        while let Some(effect) = self.widget.poll_effect() {
            self.apply(effect);
        }
    }

    /// Drains effects and delivers server frames until both are quiet.
    pub fn settle(&mut self) {
        for _ in 0..10_000 {
            if let Some(effect) = self.widget.poll_effect() {
                self.apply(effect);
                continue;
            }
            if self.lose_server_frames {
                self.server.outbound.clear();
            }
            if self.socket_open {
                if let Some(frame) = self.server.outbound.pop_front() {
                    self.widget.handle_frame(frame, self.now);
                    continue;
                }
            }
            return;
        }
        panic!("effects never settled");
    }

    fn apply(&mut self, effect: Effect) {
        match effect {
            Effect::Reply { call, result } => self.replies.push((call, result)),
            Effect::LoadState { widget_id } => {
                let stored = self.store.load(&widget_id);
                self.widget.handle_stored_state(&widget_id, stored, self.now);
            }
            Effect::Persist(state) => self.store.save(&state),
            Effect::ClearStorage { widget_id } => {
                self.clears += 1;
                self.store.remove(&widget_id)
            }
            Effect::FetchConfig { widget_id, attempt } => {
                self.config_fetches.push((self.now, attempt));
                match self.config.clone() {
                    ConfigAnswer::Ok(mut c) => {
                        c.id = widget_id.clone();
                        self.widget.handle_config(&widget_id, attempt, Ok(c), self.now)
                    }
                    ConfigAnswer::Err(e) => self.widget.handle_config(&widget_id, attempt, Err(e), self.now),
                    ConfigAnswer::Hold => self.held_configs.push((widget_id, attempt)),
                }
            }
            Effect::OpenSocket { .. } => {
                self.opens += 1;
                self.open_times.push(self.now);
                self.server.outbound.clear();
                if self.server.up {
                    self.socket_open = true;
                    self.widget.handle_socket_open(self.now);
                } else {
                    self.widget.handle_socket_closed(self.now);
                }
            }
            Effect::ClaimSocket { widget_id } => self.claims.push(widget_id),
            Effect::CloseSocket => {
                self.socket_open = false;
                self.server.outbound.clear();
            }
            Effect::SendFrame(frame) => {
                if self.socket_open {
                    self.server.receive(frame, self.now);
                }
            }
            Effect::LoadTexts { language } => {
                self.texts_asked.push(language);
                if !self.hold_texts {
                    self.widget.handle_language_ready(language, self.now);
                }
            }
            Effect::Render => self.renders += 1,
            Effect::Emit(e) => self.events.push(e),
        }
    }

    /// Delivers the configuration to the latest held request.
    pub fn deliver_config(&mut self) {
        let (id, attempt) = self.held_configs.last().cloned().expect("a held config request");
        self.answer_config(attempt, Ok(config(&id)));
    }

    /// Answers the configuration request of this attempt number (late or not, held or
    /// answered before: the browser may report one twice).
    pub fn answer_config(&mut self, attempt: u32, result: Result<WidgetConfig, ConfigError>) {
        let id = self.held_configs.iter().find(|(_, n)| *n == attempt).map_or(WIDGET.into(), |(id, _)| id.clone());
        self.held_configs.retain(|(_, n)| *n != attempt);
        self.widget.handle_config(&id, attempt, result, self.now);
        self.settle();
    }

    /// The connection drops: frames in flight are lost, the widget sees a close.
    pub fn drop_connection(&mut self) {
        self.socket_open = false;
        self.server.outbound.clear();
        self.widget.handle_socket_closed(self.now);
        self.settle();
    }

    /// Advances the fake clock by `ms`, firing every timer that comes due on the way.
    pub fn advance(&mut self, ms: u64) {
        let end = self.now + ms;
        while let Some(deadline) = self.widget.poll_timeout() {
            if deadline.at > end {
                break;
            }
            self.now = self.now.max(deadline.at);
            self.widget.handle_timeout(self.now);
            self.settle();
        }
        self.now = end;
        self.settle();
    }

    /// Simulates a page reload: a new core on the same storage and server, `init` again.
    pub fn reload(&mut self) {
        self.socket_open = false;
        self.server.outbound.clear();
        self.widget = Widget::new(self.now, vec!["en-US".into()]);
        self.call_ok("init", Some(json!(WIDGET)));
    }

    /// What is stored for the widget now.
    pub fn stored(&self) -> Option<StoredState> {
        self.store.load(WIDGET)
    }

    /// Texts of the messages the view shows of the current thread, in order.
    pub fn shown_texts(&self) -> Vec<String> {
        let Some(id) = self.widget.current_thread() else { return Vec::new() };
        let messages = &self.widget.conversations().get(id).unwrap().messages;
        let from = messages.len().saturating_sub(self.widget.history().shown(id));
        messages[from..].iter().filter_map(|m| m.text.clone()).collect()
    }

    /// Visitor-visible texts of every message, in order.
    pub fn texts(&self) -> Vec<String> {
        self.widget
            .conversations()
            .threads()
            .iter()
            .flat_map(|t| t.messages.iter())
            .filter_map(|m| m.text.clone())
            .collect()
    }
}
