//! The widget's pure state machine: no browser APIs, no clock, no randomness of its own.
//!
//! Inputs go in through `handle_*`; after every input the driver drains
//! [`Widget::poll_effect`] until it returns `None`, then arms one timer for
//! [`Widget::poll_timeout`]. Time (`now`, milliseconds since the epoch) and the random
//! seed are arguments, so tests run on a fake clock against a fake server.

pub mod command;
pub mod connection;
pub mod conversation;
pub mod effect;
pub mod error;
pub mod language;
pub mod outbox;
pub mod rng;
pub mod state;
pub mod vec_map;

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use livechat_protocol::{
    error_code, ClientFrame, Customer, Event, Message, Millis, OutgoingBody, ServerFrame, Thread, WidgetConfig,
    PROTOCOL_VERSION,
};

pub use command::{Command, SendPayload};
pub use connection::Role;
use connection::{Backoff, Link, CONNECT_TIMEOUT_MS, HEARTBEAT_INTERVAL_MS, HEARTBEAT_TIMEOUT_MS};
pub use conversation::Conversations;
pub use effect::{CallId, Deadline, Effect, Reply, WidgetEvent};
use effect::{
    AuthResult, ContextualResult, DraftResult, InitResult, ResetResult, SentResult, ThemeResult, UiResult,
};
pub use error::{ApiError, ErrorCode};
use rng::Rng;
use vec_map::VecMap;
pub use outbox::{Outbox, ADOPT_GRACE_MS};
pub use state::{Delivery, OutboxItem, OutboxRequest, StoredState, UiState};

/// Where the widget is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// No `init` yet.
    Uninitialized,
    /// `init` received; waiting for stored state and configuration.
    Loading,
    /// Configured and answering commands.
    Ready,
}

/// Why the configuration could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The server does not know this widget (HTTP 404).
    UnknownWidget,
    /// The server refused this page's origin (HTTP 403).
    OriginNotAllowed,
    /// Network or server failure.
    Unavailable(String),
}

/// A request sent to the server whose answer a callback waits for.
#[derive(Debug, Clone)]
enum Pending {
    Auth { jwt: String, sent: bool },
    Logout,
}

/// The widget core. One per page.
#[derive(Debug)]
pub struct Widget {
    rng: Rng,
    lifecycle: Lifecycle,
    /// Set by `logout`/`clear`: the next `init` may name another widget.
    switch_allowed: bool,
    state: StoredState,
    conversations: Conversations,
    config: Option<WidgetConfig>,
    browser_languages: Vec<String>,
    online: bool,
    link: Link,
    /// Socket ownership among tabs (see [`Role`]).
    role: Role,
    backoff: Backoff,
    /// Stop reconnecting (the server refused the widget for good).
    halted: bool,
    /// Requests waiting for the server's acknowledgement.
    outbox: Outbox,
    /// The server wants a fresh JWT for this customer: sends wait (still "sending") until
    /// `auth` succeeds; the page got `livechat:reauth_required` once.
    reauth_pending: bool,
    /// Calls waiting for `ready`.
    init_calls: Vec<CallId>,
    /// Calls made while loading, replayed in order when ready.
    queued_calls: VecDeque<(CallId, Command)>,
    /// Callbacks waiting for the server, by request id (outbox items, auth, logout).
    awaiting: VecMap<String, CallId>,
    /// Auth/logout requests (not persisted: a JWT is kept only until it is used).
    requests: VecMap<String, Pending>,
    effects: VecDeque<Effect>,
    /// Why the last file the visitor picked was refused (shown until the next try).
    attach_error: Option<AttachmentProblem>,
    render: bool,
    persisted: Option<StoredState>,
}

impl Widget {
    /// Creates an uninitialized widget. `seed` feeds ids and jitter; `browser_languages`
    /// (from `navigator.languages`) picks the default language.
    pub fn new(seed: u64, browser_languages: Vec<String>) -> Self {
        Self {
            rng: Rng::new(seed),
            lifecycle: Lifecycle::Uninitialized,
            switch_allowed: false,
            state: StoredState::fresh(""),
            conversations: Conversations::default(),
            config: None,
            browser_languages,
            online: false,
            link: Link::Idle,
            role: Role::Solo,
            backoff: Backoff::default(),
            halted: false,
            outbox: Outbox::default(),
            reauth_pending: false,
            init_calls: Vec::new(),
            queued_calls: VecDeque::new(),
            awaiting: VecMap::default(),
            requests: VecMap::default(),
            effects: VecDeque::new(),
            attach_error: None,
            render: false,
            persisted: None,
        }
    }

    // ----- getters ------------------------------------------------------------------

    /// The lifecycle stage.
    pub fn lifecycle(&self) -> Lifecycle {
        self.lifecycle
    }

    /// The active widget id, once `init` was called.
    pub fn widget_id(&self) -> Option<&str> {
        (self.lifecycle != Lifecycle::Uninitialized).then_some(self.state.widget_id.as_str())
    }

    /// Window, launcher and draft.
    pub fn ui(&self) -> &UiState {
        &self.state.ui
    }

    /// The configuration in use.
    pub fn config(&self) -> Option<&WidgetConfig> {
        self.config.as_ref()
    }

    /// The UI language in use (one of the 31 tags).
    pub fn language(&self) -> &'static str {
        language::resolve_default(
            self.state.language.as_deref(),
            self.config.as_ref().map(|c| c.default_language.as_str()),
            &self.browser_languages,
        )
    }

    /// The theme chosen with `set_theme`.
    pub fn theme(&self) -> Option<&str> {
        self.state.theme.as_deref()
    }

    /// The authenticated customer.
    pub fn customer(&self) -> Option<&Customer> {
        self.state.customer.as_ref()
    }

    /// Whether an agent is online.
    pub fn online(&self) -> bool {
        self.online
    }

    /// True while the socket is open and welcomed.
    pub fn connected(&self) -> bool {
        matches!(self.link, Link::Open { .. })
    }

    /// Threads and messages.
    pub fn conversations(&self) -> &Conversations {
        &self.conversations
    }

    /// Requests not yet acknowledged.
    pub fn outbox(&self) -> &[OutboxItem] {
        self.outbox.items()
    }

    /// Why the last file the visitor picked was refused.
    pub fn attach_error(&self) -> Option<AttachmentProblem> {
        self.attach_error
    }

    /// Last event sequence applied.
    pub fn last_seq(&self) -> u64 {
        self.state.last_seq
    }

    /// The thread the visitor looks at: the chosen one, else the most recent.
    pub fn current_thread(&self) -> Option<&str> {
        if self.state.ui.new_thread {
            return None;
        }
        self.state
            .active_thread
            .as_deref()
            .filter(|id| self.conversations.get(id).is_some())
            .or_else(|| self.conversations.threads().last().map(|t| t.id.as_str()))
    }

    // ----- outputs ------------------------------------------------------------------

    /// Returns the next effect for the driver, `None` when drained.
    pub fn poll_effect(&mut self) -> Option<Effect> {
        if let Some(e) = self.effects.pop_front() {
            return Some(e);
        }
        if self.render {
            self.render = false;
            return Some(Effect::Render);
        }
        None
    }

    /// Returns the earliest moment the core wants `handle_timeout`, with the reason.
    pub fn poll_timeout(&self) -> Option<Deadline> {
        let link = match self.link {
            Link::Idle => None,
            Link::Waiting { retry_at } => Some(Deadline { at: retry_at, reason: "reconnect" }),
            Link::Connecting { deadline } => Some(Deadline { at: deadline, reason: "connect timeout" }),
            Link::Open { silent_deadline: Some(at), .. } => Some(Deadline { at, reason: "heartbeat timeout" }),
            Link::Open { ping_at, .. } => Some(Deadline { at: ping_at, reason: "heartbeat" }),
        };
        let resend = self.outbox.poll_timeout();
        match (link, resend) {
            (Some(a), Some(b)) => Some(if b.at < a.at { b } else { a }),
            (a, b) => a.or(b),
        }
    }

    // ----- inputs -------------------------------------------------------------------

    /// Tab coordination: the driver says `Follower` before `init` when it can elect a
    /// socket owner (Web Locks), then `Leader` once this tab holds the widget's lock.
    pub fn handle_role(&mut self, role: Role, now: Millis) {
        let was = core::mem::replace(&mut self.role, role);
        if was != role && role != Role::Follower && self.lifecycle == Lifecycle::Ready {
            // Took over from a tab that closed: resume from the sequence it last stored,
            // and send what is queued, including what other tabs queued.
            self.outbox.resume();
            if matches!(self.link, Link::Idle) {
                self.open_socket(now);
            } else {
                self.flush_outbox();
            }
            self.render = true;
        }
        self.settle();
    }

    /// Socket ownership among tabs.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Handles a parsed `liveChat` call.
    pub fn handle_command(&mut self, call: CallId, command: Command, now: Millis) {
        match (self.lifecycle, command) {
            (Lifecycle::Uninitialized, Command::Init { widget_id: Some(id) }) => self.start(call, id, now),
            (Lifecycle::Uninitialized, Command::Init { widget_id: None }) => self.reply_err(
                call,
                ApiError::invalid("init requires the widget id on its first call, e.g. liveChat('init', '<widget id>')"),
            ),
            (Lifecycle::Uninitialized, _) => self.reply_err(
                call,
                ApiError::new(ErrorCode::NotInitialized, "call liveChat('init', '<widget id>') before any other command"),
            ),
            (_, Command::Init { widget_id: Some(id) }) if id != self.state.widget_id => {
                if self.switch_allowed {
                    self.teardown();
                    self.start(call, id, now);
                } else {
                    self.reply_err(
                        call,
                        ApiError::new(
                            ErrorCode::AlreadyInitialized,
                            format!(
                                "widget '{}' is active; call logout or clear before init with another widget id",
                                self.state.widget_id
                            ),
                        ),
                    );
                }
            }
            (Lifecycle::Loading, Command::Init { .. }) => self.init_calls.push(call),
            (Lifecycle::Loading, command) => self.queued_calls.push_back((call, command)),
            (Lifecycle::Ready, command) => self.execute(call, command, now),
        }
        self.settle();
    }

    /// Answers [`Effect::LoadState`] with what storage held (`None`: nothing or unreadable).
    pub fn handle_stored_state(&mut self, widget_id: &str, stored: Option<StoredState>, now: Millis) {
        if self.lifecycle != Lifecycle::Loading || widget_id != self.state.widget_id {
            return;
        }
        if let Some(mut stored) = stored.and_then(|s| s.validated(widget_id)) {
            self.conversations = Conversations::new(stored.threads.clone());
            self.config = stored.config.clone();
            self.persisted = Some(stored.clone());
            // The outbox lives in its own part; `snapshot` puts it back for storage.
            self.outbox = Outbox::new(core::mem::take(&mut stored.outbox));
            self.state = stored;
        }
        self.effects.push_back(Effect::FetchConfig { widget_id: widget_id.to_string() });
        if self.config.is_some() {
            // A cached configuration renders at once; the fetch refreshes it.
            self.become_ready(now);
        }
        self.settle();
    }

    /// Answers [`Effect::FetchConfig`].
    pub fn handle_config(&mut self, widget_id: &str, result: Result<WidgetConfig, ConfigError>, now: Millis) {
        if self.lifecycle == Lifecycle::Uninitialized || widget_id != self.state.widget_id {
            return;
        }
        match result {
            Ok(config) => {
                self.online = config.online;
                self.config = Some(config);
                self.render = true;
                if self.lifecycle == Lifecycle::Loading {
                    self.become_ready(now);
                }
            }
            Err(err) if self.lifecycle == Lifecycle::Loading => {
                let error = match err {
                    ConfigError::UnknownWidget => ApiError::new(
                        ErrorCode::UnknownWidget,
                        format!("the server does not know widget '{}'", self.state.widget_id),
                    ),
                    ConfigError::OriginNotAllowed => ApiError::rejected(
                        error_code::ORIGIN_NOT_ALLOWED,
                        "this page's origin is not in the widget's allowed origins",
                    ),
                    ConfigError::Unavailable(why) => ApiError::new(
                        ErrorCode::ConfigUnavailable,
                        format!("could not load the widget configuration: {why}"),
                    ),
                };
                for call in core::mem::take(&mut self.init_calls) {
                    self.reply_err(call, error.clone());
                }
                for (call, _) in core::mem::take(&mut self.queued_calls) {
                    self.reply_err(call, error.clone());
                }
                self.lifecycle = Lifecycle::Uninitialized;
            }
            // Ready on a cached configuration: keep it and carry on.
            Err(_) => {}
        }
        self.settle();
    }

    /// The socket opened: say hello.
    pub fn handle_socket_open(&mut self, now: Millis) {
        if !matches!(self.link, Link::Connecting { .. }) {
            return;
        }
        self.link = Link::Connecting { deadline: now + CONNECT_TIMEOUT_MS };
        self.effects.push_back(Effect::SendFrame(ClientFrame::Hello {
            protocol: PROTOCOL_VERSION,
            widget_id: self.state.widget_id.clone(),
            session: self.state.session.clone(),
            last_seq: self.state.last_seq,
        }));
        self.settle();
    }

    /// The socket closed or failed: schedule a reconnect.
    pub fn handle_socket_closed(&mut self, now: Millis) {
        if matches!(self.link, Link::Connecting { .. } | Link::Open { .. }) {
            self.schedule_reconnect(now);
            self.render = true;
        }
        self.settle();
    }

    /// A frame arrived.
    pub fn handle_frame(&mut self, frame: ServerFrame, now: Millis) {
        if let Link::Open { silent_deadline, .. } = &mut self.link {
            // Any frame proves the socket is alive.
            *silent_deadline = None;
        }
        match frame {
            ServerFrame::Welcome { session, customer, online, .. } => {
                self.state.session = Some(session);
                self.state.customer = customer;
                self.online = online;
                self.link = Link::Open { ping_at: now + HEARTBEAT_INTERVAL_MS, silent_deadline: None };
                self.backoff.reset();
                self.send_requests();
                self.flush_outbox();
                self.render = true;
            }
            ServerFrame::Sync { last_seq, threads, .. } => {
                self.conversations = Conversations::new(threads);
                self.state.last_seq = last_seq;
                self.settle_outbox_from_history();
                self.render = true;
            }
            ServerFrame::Event { seq, event } => self.apply_event(seq, event, now),
            ServerFrame::Ack { req, message } => {
                let started = self.outbox.remove(&req).is_some_and(|o| {
                    matches!(o.request, OutboxRequest::Message { new_thread: true, .. })
                });
                if started && self.state.ui.new_thread {
                    self.state.ui.new_thread = false;
                    self.state.active_thread = Some(message.thread_id.clone());
                }
                let result = SentResult {
                    message_id: message.id.clone(),
                    thread_id: message.thread_id.clone(),
                    client_id: req.clone(),
                    created_at: message.created_at,
                };
                self.conversations.insert(message);
                self.answer(&req, Ok(Reply::Sent(result)));
                self.render = true;
            }
            ServerFrame::ContextAck { req, thread_ids, queued } => {
                self.outbox.remove(&req);
                let result = ContextualResult { request_id: req.clone(), thread_ids, queued };
                self.answer(&req, Ok(Reply::Contextual(result)));
            }
            ServerFrame::AuthOk { req, customer, session } => {
                self.requests.remove(&req);
                self.state.customer = Some(customer.clone());
                self.state.session = Some(session);
                if core::mem::take(&mut self.reauth_pending) {
                    self.flush_outbox(); // what waited for the fresh token goes out now
                }
                self.answer(&req, Ok(Reply::Auth(AuthResult { customer })));
                self.render = true;
            }
            ServerFrame::LoggedOut { req } => {
                self.requests.remove(&req);
                let call = self.awaiting.remove(&req);
                self.reset(true, now);
                if let Some(call) = call {
                    self.reply_ok(call, Reply::Reset(ResetResult { cleared: self.state.widget_id.clone(), logged_out: true }));
                }
            }
            ServerFrame::Error { req: Some(req), code, message, retry_after_ms } => {
                self.handle_request_error(req, &code, &message, retry_after_ms, now)
            }
            ServerFrame::Error { req: None, code, .. } => self.handle_connection_error(&code, now),
            ServerFrame::Pong { .. } => {}
        }
        self.settle();
    }

    /// A timer armed from [`Widget::poll_timeout`] fired (early or late calls are fine).
    pub fn handle_timeout(&mut self, now: Millis) {
        match self.link {
            Link::Waiting { retry_at } if now >= retry_at => self.open_socket(now),
            Link::Connecting { deadline } if now >= deadline => {
                self.effects.push_back(Effect::CloseSocket);
                self.schedule_reconnect(now);
            }
            Link::Open { silent_deadline: Some(at), .. } if now >= at => {
                // Half-open socket: no close event will come, so drop it ourselves.
                self.effects.push_back(Effect::CloseSocket);
                self.schedule_reconnect(now);
                self.render = true;
            }
            Link::Open { ping_at, silent_deadline: None } if now >= ping_at => {
                self.effects.push_back(Effect::SendFrame(ClientFrame::Ping { nonce: now }));
                self.link = Link::Open {
                    ping_at: now + HEARTBEAT_INTERVAL_MS,
                    silent_deadline: Some(now + HEARTBEAT_TIMEOUT_MS),
                };
            }
            _ => {}
        }
        if self.outbox.handle_timeout(now) {
            self.flush_outbox();
        }
        self.settle();
    }

    /// The network came back or the tab became visible: retry a waiting connection now.
    pub fn handle_wake(&mut self, now: Millis) {
        match self.link {
            Link::Waiting { .. } => self.open_socket(now),
            Link::Open { silent_deadline: None, .. } => {
                // Back from a hidden (throttled) tab or a network change: the socket may have
                // died meanwhile without a close event. Check now rather than at the next
                // heartbeat, which a throttled tab may run a minute late.
                self.effects.push_back(Effect::SendFrame(ClientFrame::Ping { nonce: now }));
                self.link = Link::Open {
                    ping_at: now + HEARTBEAT_INTERVAL_MS,
                    silent_deadline: Some(now + HEARTBEAT_TIMEOUT_MS),
                };
            }
            _ => {}
        }
        self.settle();
    }

    /// The page is being hidden or put in the back/forward cache (`pagehide`): close the
    /// socket cleanly; [`Widget::handle_wake`] reopens it on `pageshow`.
    pub fn handle_suspend(&mut self, now: Millis) {
        if matches!(self.link, Link::Connecting { .. } | Link::Open { .. }) {
            self.effects.push_back(Effect::CloseSocket);
            // If the page carries on without a pageshow, the timer still reconnects.
            self.link = Link::Waiting { retry_at: now + connection::BACKOFF_CAP_MS };
        }
        self.settle();
    }

    /// Another tab changed (`Some`) or removed (`None`) this widget's stored state.
    pub fn handle_storage_changed(&mut self, stored: Option<StoredState>, now: Millis) {
        if self.lifecycle != Lifecycle::Ready {
            return;
        }
        match stored.and_then(|s| s.validated(&self.state.widget_id)) {
            None => {
                // Logged out or cleared in another tab: follow, without touching storage.
                self.reset(false, now);
            }
            Some(other) => {
                let identity_changed = other.session != self.state.session;
                if self.role == Role::Follower {
                    self.adopt_history(&other);
                }
                self.state.ui = other.ui.clone();
                self.state.language = other.language.clone();
                self.state.theme = other.theme.clone();
                self.state.active_thread = other.active_thread.clone();
                let conversations = &self.conversations;
                let adoption =
                    self.outbox.adopt(&other.outbox, self.role, |id| conversations.has_client_id(id).is_some(), now);
                for (id, error) in adoption.failed {
                    self.answer(&id, Err(error));
                }
                if adoption.send_now {
                    self.flush_outbox();
                }
                if identity_changed {
                    self.state.session = other.session.clone();
                    self.state.customer = other.customer.clone();
                    self.state.last_seq = 0;
                    self.restart_socket(now);
                }
                // What we adopted came from storage: writing it back would only echo.
                self.persisted = Some(self.snapshot());
                self.render = true;
            }
        }
        self.settle();
    }

    /// A follower takes the leader's view of the conversations: what the leader's socket
    /// received, up to the sequence it stored. Messages new to this tab go through
    /// `apply_message`, which completes this tab's own outbox items and their callbacks.
    fn adopt_history(&mut self, other: &StoredState) {
        if other.session != self.state.session || other.last_seq < self.state.last_seq {
            if other.session == self.state.session {
                return; // an older write (e.g. from another follower): nothing new in it
            }
            self.conversations = Conversations::default(); // another identity: start over
        }
        for thread in &other.threads {
            if self.conversations.get(&thread.id).is_none() {
                self.conversations.open_thread(Thread { messages: Vec::new(), ..thread.clone() });
            }
            self.conversations.set_status(&thread.id, thread.status);
            for message in &thread.messages {
                if self.conversations.has_message(&thread.id, &message.id).is_none() {
                    self.apply_message(message.clone());
                }
            }
        }
        self.state.last_seq = other.last_seq;
    }

    /// The visitor used the widget's own controls.
    pub fn handle_ui(&mut self, action: UiAction, now: Millis) {
        if self.lifecycle != Lifecycle::Ready {
            return;
        }
        match action {
            UiAction::Toggle => self.open_window(!self.state.ui.open),
            UiAction::Close => self.open_window(false),
            UiAction::Draft(text) => self.state.ui.draft = text,
            UiAction::Submit => {
                let text = core::mem::take(&mut self.state.ui.draft);
                if !text.trim().is_empty() {
                    let body = OutgoingBody::Basic { text: Some(text), attachment: None };
                    self.send_from_widget(body, now);
                }
            }
            UiAction::Attach { file_name, content } => {
                self.attach_error = None;
                match self.attachment_refusal(&file_name, &content) {
                    None => {
                        let attachment = livechat_protocol::OutgoingAttachment { file_name, content };
                        let body = OutgoingBody::Basic { text: None, attachment: Some(attachment) };
                        self.send_from_widget(body, now);
                    }
                    Some((problem, _)) => self.attach_error = Some(problem),
                }
            }
            UiAction::Retry(id) => {
                if self.outbox.retry(&id) {
                    self.flush_outbox();
                }
            }
            UiAction::SelectThread(id) => {
                self.state.ui.thread_list = false;
                self.state.ui.new_thread = id.is_none();
                self.state.active_thread = id;
            }
            UiAction::ShowThreadList => self.state.ui.thread_list = true,
        }
        self.render = true;
        self.settle();
    }

    // ----- command execution ---------------------------------------------------------

    fn start(&mut self, call: CallId, widget_id: String, _now: Millis) {
        if self.role != Role::Solo {
            // Each widget has its own lock: follow until this tab holds the new one.
            self.role = Role::Follower;
            self.effects.push_back(Effect::ClaimSocket { widget_id: widget_id.clone() });
        }
        self.lifecycle = Lifecycle::Loading;
        self.switch_allowed = false;
        self.state = StoredState::fresh(&widget_id);
        self.conversations = Conversations::default();
        self.outbox = Outbox::default();
        self.config = None;
        self.persisted = None;
        self.init_calls.push(call);
        self.effects.push_back(Effect::LoadState { widget_id });
    }

    fn become_ready(&mut self, now: Millis) {
        self.lifecycle = Lifecycle::Ready;
        let result = self.init_result();
        for call in core::mem::take(&mut self.init_calls) {
            self.reply_ok(call, Reply::Init(result.clone()));
        }
        self.open_socket(now);
        self.render = true;
        while let Some((call, command)) = self.queued_calls.pop_front() {
            self.handle_command(call, command, now);
        }
    }

    fn init_result(&self) -> InitResult {
        InitResult {
            widget_id: self.state.widget_id.clone(),
            language: self.language().to_string(),
            online: self.online,
            customer: self.state.customer.clone(),
        }
    }

    fn execute(&mut self, call: CallId, command: Command, now: Millis) {
        match command {
            Command::Init { .. } => self.reply_ok(call, Reply::Init(self.init_result())),
            Command::Auth { jwt } => {
                let req = self.rng.id("a-");
                self.awaiting.insert(req.clone(), call);
                self.requests.insert(req, Pending::Auth { jwt, sent: false });
                self.send_requests();
                self.open_socket_for_request(now);
            }
            Command::Logout => {
                if self.state.customer.is_none() {
                    return self.reply_err(
                        call,
                        ApiError::new(ErrorCode::NotAuthenticated, "logout needs an authenticated session; call auth first"),
                    );
                }
                if self.connected() || self.role == Role::Follower {
                    // (A follower has no socket while idle: it opens one to log out.)
                    let req = self.rng.id("l-");
                    self.awaiting.insert(req.clone(), call);
                    self.requests.insert(req, Pending::Logout);
                    self.send_requests();
                    self.open_socket_for_request(now);
                } else {
                    // Offline: forget the session locally; the server expires it.
                    self.reset(true, now);
                    self.reply_ok(call, Reply::Reset(ResetResult { cleared: self.state.widget_id.clone(), logged_out: false }));
                }
            }
            Command::Clear { widget_id } => match widget_id {
                Some(other) if other != self.state.widget_id => {
                    self.effects.push_back(Effect::ClearStorage { widget_id: other.clone() });
                    self.reply_ok(call, Reply::Reset(ResetResult { cleared: other, logged_out: false }));
                }
                named => {
                    // With the widget id named, the spec asks to log the user out as well.
                    let log_out = named.is_some() && self.state.customer.is_some() && self.connected();
                    if log_out {
                        let req = self.rng.id("l-");
                        self.effects.push_back(Effect::SendFrame(ClientFrame::Logout { req }));
                    }
                    self.reset(true, now);
                    self.reply_ok(call, Reply::Reset(ResetResult { cleared: self.state.widget_id.clone(), logged_out: log_out }));
                }
            },
            Command::Show => self.set_ui(call, true, None),
            Command::Hide => self.set_ui(call, false, None),
            Command::ShowLauncher => self.set_ui(call, self.state.ui.open, Some(true)),
            Command::HideLauncher => self.set_ui(call, false, Some(false)),
            Command::SetTheme { name } => {
                let known = self.config.as_ref().is_some_and(|c| c.themes.contains_key(&name));
                if known || name == DEFAULT_THEME {
                    self.state.theme = (name != DEFAULT_THEME).then(|| name.clone());
                    self.render = true;
                    self.reply_ok(call, Reply::Theme(ThemeResult { theme: name }));
                } else {
                    let names: Vec<&str> = self
                        .config
                        .iter()
                        .flat_map(|c| c.themes.keys().map(String::as_str))
                        .chain(core::iter::once(DEFAULT_THEME))
                        .collect();
                    self.reply_err(
                        call,
                        ApiError::new(
                            ErrorCode::UnknownTheme,
                            format!("theme '{name}' is not configured for this widget; available: {}", names.join(", ")),
                        ),
                    );
                }
            }
            Command::Send(SendPayload::Draft { text, thread_id }) => {
                self.state.ui.draft = text.clone();
                if thread_id.is_some() {
                    self.state.active_thread = thread_id;
                }
                self.render = true;
                self.reply_ok(call, Reply::Draft(DraftResult { draft: text }));
            }
            Command::Send(SendPayload::Basic { text, attachment, thread_id }) => {
                if let Some(a) = &attachment {
                    if let Err(e) = self.check_attachment(&a.file_name, &a.content) {
                        return self.reply_err(call, e);
                    }
                }
                self.enqueue_message(Some(call), thread_id, false, OutgoingBody::Basic { text, attachment }, now);
            }
            Command::Send(SendPayload::CustomData { custom_data, agent_message, user_message, thread_id }) => {
                let body = OutgoingBody::CustomData { custom_data, agent_message, user_message };
                self.enqueue_message(Some(call), thread_id, false, body, now);
            }
            Command::SendContextualData { metadata, strategy } => {
                let id = self.rng.id("d-");
                self.awaiting.insert(id.clone(), call);
                let request = OutboxRequest::ContextualData { metadata: command::into_btree(metadata), strategy };
                self.outbox.push(id, request, now);
                self.flush_outbox();
            }
            Command::SetLanguage { requested } => {
                let result = language::choose(requested);
                self.state.language = Some(result.language.clone());
                self.render = true;
                self.reply_ok(call, Reply::Language(result));
            }
        }
    }

    fn set_ui(&mut self, call: CallId, open: bool, launcher: Option<bool>) {
        self.open_window(open);
        if let Some(l) = launcher {
            self.state.ui.launcher = l;
        }
        self.render = true;
        self.reply_ok(call, Reply::Ui(UiResult { open: self.state.ui.open, launcher: self.state.ui.launcher }));
    }

    fn open_window(&mut self, open: bool) {
        self.state.ui.open = open;
        if open {
            self.state.ui.unread = 0;
        }
    }

    fn check_attachment(&self, file_name: &str, content: &str) -> Result<(), ApiError> {
        self.attachment_refusal(file_name, content)
            .map_or(Ok(()), |(_, why)| Err(ApiError::rejected(error_code::ATTACHMENT_REJECTED, &why)))
    }

    /// Why the widget's policy refuses this attachment, if it does.
    fn attachment_refusal(&self, file_name: &str, content: &str) -> Option<(AttachmentProblem, String)> {
        let policy = &self.config.as_ref()?.attachments;
        if content.starts_with("https://") || content.starts_with("http://") {
            return None; // a link: the server fetches nothing, it stores the URL as given
        }
        let (mime, data) = match content.strip_prefix("data:").and_then(|rest| rest.split_once(',')) {
            Some((header, data)) => (header.split(';').next().unwrap_or("").to_string(), data),
            None => (mime_from_file_name(file_name).to_string(), content),
        };
        let bytes = (data.len() as u64) * 3 / 4;
        if bytes > policy.max_bytes {
            let why = format!("attachment is about {} KB; the limit is {} KB", bytes / 1024, policy.max_bytes / 1024);
            return Some((AttachmentProblem::TooLarge, why));
        }
        let allowed = policy.allowed_types.iter().any(|t| match t.strip_suffix("/*") {
            Some(prefix) => mime.split('/').next() == Some(prefix),
            None => *t == mime,
        });
        if !allowed {
            let why = format!("attachment type '{mime}' is not allowed; allowed: {}", policy.allowed_types.join(", "));
            return Some((AttachmentProblem::TypeNotAllowed, why));
        }
        None
    }

    /// A message typed or attached in the widget goes to the thread the visitor looks at;
    /// in multi-thread widgets a new conversation (or a thread no longer open) starts one.
    fn send_from_widget(&mut self, body: OutgoingBody, now: Millis) {
        let multi = self.config.as_ref().is_some_and(|c| c.multi_thread);
        let current = self
            .current_thread()
            .and_then(|id| self.conversations.get(id))
            .filter(|t| t.status == livechat_protocol::ThreadStatus::Open)
            .map(|t| t.id.clone());
        let (thread_id, new_thread) = match (multi, current) {
            (false, _) => (None, false),
            (true, Some(id)) if !self.state.ui.new_thread => (Some(id), false),
            (true, _) => (None, true),
        };
        self.enqueue_message(None, thread_id, new_thread, body, now);
    }

    fn enqueue_message(
        &mut self,
        call: Option<CallId>,
        thread_id: Option<String>,
        new_thread: bool,
        body: OutgoingBody,
        now: Millis,
    ) {
        let id = self.rng.id("m-");
        if let Some(call) = call {
            self.awaiting.insert(id.clone(), call);
        }
        let request = OutboxRequest::Message { thread_id, new_thread, body };
        self.outbox.push(id, request, now);
        self.render = true;
        self.flush_outbox();
    }

    // ----- connection ------------------------------------------------------------------

    /// Whether this tab should hold a socket now.
    fn wants_socket(&self) -> bool {
        self.role != Role::Follower || !self.requests.is_empty()
    }

    /// A follower opens a socket when it has an `auth` or `logout` to send.
    fn open_socket_for_request(&mut self, now: Millis) {
        if matches!(self.link, Link::Idle) && self.role == Role::Follower {
            self.backoff.reset();
            self.open_socket(now);
        }
    }

    fn open_socket(&mut self, now: Millis) {
        self.outbox.forget_sent();
        if self.halted || self.lifecycle != Lifecycle::Ready || !self.wants_socket() {
            self.link = Link::Idle;
            return;
        }
        let path = self.config.as_ref().map_or_else(|| "/v1/ws".to_string(), |c| c.ws_path.clone());
        self.effects.push_back(Effect::OpenSocket { path });
        self.link = Link::Connecting { deadline: now + CONNECT_TIMEOUT_MS };
    }

    fn schedule_reconnect(&mut self, now: Millis) {
        let delay = self.backoff.next_delay(&mut self.rng);
        self.link = Link::Waiting { retry_at: now + delay };
        // Sent-but-unacked requests go out again on the next socket (they are idempotent).
        for (_, pending) in self.requests.iter_mut() {
            if let Pending::Auth { sent, .. } = pending {
                *sent = false;
            }
        }
    }

    fn restart_socket(&mut self, now: Millis) {
        if !matches!(self.link, Link::Idle) {
            self.effects.push_back(Effect::CloseSocket);
        }
        self.backoff.reset();
        self.open_socket(now);
    }

    /// Sends every outbox item still marked sending, in order (only when welcomed).
    fn flush_outbox(&mut self) {
        if !self.connected() || self.reauth_pending || self.role == Role::Follower {
            return;
        }
        while let Some(frame) = self.outbox.poll_transmit() {
            self.effects.push_back(Effect::SendFrame(frame));
        }
    }

    fn send_requests(&mut self) {
        if !self.connected() {
            return;
        }
        for (req, pending) in self.requests.iter_mut() {
            match pending {
                Pending::Auth { jwt, sent: sent @ false } => {
                    *sent = true;
                    self.effects.push_back(Effect::SendFrame(ClientFrame::Auth { req: req.clone(), jwt: jwt.clone() }));
                }
                Pending::Logout => {
                    self.effects.push_back(Effect::SendFrame(ClientFrame::Logout { req: req.clone() }));
                }
                Pending::Auth { .. } => {}
            }
        }
    }

    fn apply_event(&mut self, seq: u64, event: Event, now: Millis) {
        if seq <= self.state.last_seq {
            return; // already applied (replay overlap)
        }
        if seq != self.state.last_seq + 1 && self.state.last_seq != 0 {
            // A gap means we missed something: resume from what we have.
            self.restart_socket(now);
            return;
        }
        self.state.last_seq = seq;
        match event {
            Event::Message { message } => self.apply_message(message),
            Event::ThreadOpened { thread } => self.conversations.open_thread(thread),
            Event::ThreadStatus { thread_id, status } => {
                self.conversations.set_status(&thread_id, status);
            }
            Event::Availability { online } => self.online = online,
        }
        self.render = true;
    }

    fn apply_message(&mut self, message: Message) {
        if message.author == livechat_protocol::Author::Agent
            && !self.state.ui.open
            && self.conversations.has_message(&message.thread_id, &message.id).is_none()
        {
            self.state.ui.unread = self.state.ui.unread.saturating_add(1);
        }
        if let Some(client_id) = message.client_id.clone() {
            // Our own message stored (maybe sent by another tab): it is no longer pending.
            if self.outbox.remove(&client_id).is_some() {
                let result = SentResult {
                    message_id: message.id.clone(),
                    thread_id: message.thread_id.clone(),
                    client_id: client_id.clone(),
                    created_at: message.created_at,
                };
                self.answer(&client_id, Ok(Reply::Sent(result)));
            }
        }
        self.conversations.insert(message);
    }

    /// After a `sync`, outbox messages the server already stored are done.
    fn settle_outbox_from_history(&mut self) {
        let stored: Vec<(String, Message)> = self
            .outbox
            .items()
            .iter()
            .filter_map(|o| self.conversations.has_client_id(&o.id).map(|m| (o.id.clone(), m.clone())))
            .collect();
        for (id, message) in stored {
            self.apply_message(Message { client_id: Some(id), ..message });
        }
    }

    fn handle_request_error(&mut self, req: String, code: &str, message: &str, retry_after: Option<u64>, now: Millis) {
        if code == error_code::RATE_LIMITED {
            // Not a refusal of the content: keep it and send everything again later, in order.
            self.outbox.handle_rate_limit(now + retry_after.unwrap_or(outbox::RATE_LIMIT_PAUSE_MS));
            return;
        }
        if let Some(pending) = self.requests.remove(&req) {
            if matches!(pending, Pending::Auth { .. }) && code == error_code::REAUTH_REQUIRED {
                self.effects.push_back(Effect::Emit(WidgetEvent::ReauthRequired));
            }
            self.answer(&req, Err(ApiError::rejected(code, message)));
            return;
        }
        if code == error_code::REAUTH_REQUIRED && self.outbox.get(&req).is_some() {
            // Not a refusal of the content: it waits for a fresh JWT and goes out after `auth`.
            self.outbox.handle_reauth_required(&req);
            self.need_reauth();
            return;
        }
        if self.outbox.handle_refused(&req, code, message) {
            self.render = true;
            self.answer(&req, Err(ApiError::rejected(code, message)));
        }
    }

    fn handle_connection_error(&mut self, code: &str, now: Millis) {
        match code {
            error_code::SESSION_EXPIRED => {
                // The server starts a new session and sends a full sync.
                self.state.last_seq = 0;
            }
            error_code::REAUTH_REQUIRED => {
                // The customer's JWT expired: keep the session, history and outbox; sends
                // wait until the page calls `auth` with a fresh token.
                self.outbox.forget_sent();
                self.need_reauth();
            }
            error_code::UNKNOWN_WIDGET | error_code::ORIGIN_NOT_ALLOWED | error_code::BAD_HELLO => {
                self.halted = true;
                self.effects.push_back(Effect::CloseSocket);
                self.effects.push_back(Effect::Emit(WidgetEvent::Fatal { code: code.to_string() }));
                self.link = Link::Idle;
            }
            _ => {
                let _ = now;
            }
        }
    }

    fn need_reauth(&mut self) {
        if !self.reauth_pending {
            self.reauth_pending = true;
            self.effects.push_back(Effect::Emit(WidgetEvent::ReauthRequired));
            self.render = true;
        }
    }

    // ----- reset and teardown ---------------------------------------------------------

    /// Back to a fresh anonymous state for the same widget (`logout`, `clear`).
    fn reset(&mut self, clear_storage: bool, now: Millis) {
        self.cancel_pending("the widget was reset by logout or clear");
        let widget_id = self.state.widget_id.clone();
        let keep_config = self.state.config.clone();
        self.state = StoredState::fresh(&widget_id);
        self.state.config = keep_config;
        self.conversations = Conversations::default();
        self.switch_allowed = true;
        self.outbox = Outbox::default();
        self.reauth_pending = false;
        if clear_storage {
            self.effects.push_back(Effect::ClearStorage { widget_id });
        }
        // Nothing to write until something changes again.
        self.persisted = Some(self.snapshot());
        self.render = true;
        if !matches!(self.link, Link::Idle) {
            self.effects.push_back(Effect::CloseSocket);
            self.link = Link::Idle;
        }
        self.backoff.reset();
        self.open_socket(now);
    }

    /// Stops the active widget before another `init`.
    fn teardown(&mut self) {
        self.cancel_pending("another widget was initialized");
        if !matches!(self.link, Link::Idle) {
            self.effects.push_back(Effect::CloseSocket);
        }
        self.link = Link::Idle;
        self.halted = false;
        self.reauth_pending = false;
        self.lifecycle = Lifecycle::Uninitialized;
        self.render = true;
    }

    fn cancel_pending(&mut self, why: &str) {
        let error = ApiError::new(ErrorCode::Cancelled, why);
        for (_, call) in self.awaiting.take() {
            self.reply_err(call, error.clone());
        }
        for call in core::mem::take(&mut self.init_calls) {
            self.reply_err(call, error.clone());
        }
        for (call, _) in core::mem::take(&mut self.queued_calls) {
            self.reply_err(call, error.clone());
        }
        self.requests.take();
    }

    // ----- bookkeeping ----------------------------------------------------------------

    fn answer(&mut self, req: &str, result: Result<Reply, ApiError>) {
        if let Some(call) = self.awaiting.remove(req) {
            self.effects.push_back(Effect::Reply { call, result });
        }
    }

    fn reply_ok(&mut self, call: CallId, reply: Reply) {
        self.effects.push_back(Effect::Reply { call, result: Ok(reply) });
    }

    fn reply_err(&mut self, call: CallId, error: ApiError) {
        self.effects.push_back(Effect::Reply { call, result: Err(error) });
    }

    /// The state as it would be stored now.
    pub fn snapshot(&self) -> StoredState {
        StoredState {
            threads: self.conversations.to_stored(),
            outbox: self.outbox.items().to_vec(),
            config: self.config.clone(),
            ..self.state.clone()
        }
    }

    /// Queues a `Persist` when the storable state changed since the last write; closes a
    /// follower's socket once its `auth`/`logout` is answered.
    fn settle(&mut self) {
        if !self.wants_socket() && !matches!(self.link, Link::Idle) {
            self.effects.push_back(Effect::CloseSocket);
            self.link = Link::Idle;
            self.outbox.forget_sent();
        }
        if self.lifecycle != Lifecycle::Ready {
            return;
        }
        let now = self.snapshot();
        if self.persisted.as_ref() != Some(&now) {
            self.persisted = Some(now.clone());
            self.effects.push_back(Effect::Persist(Box::new(now)));
        }
    }
}

/// The theme name that resets `set_theme` to the widget's default look.
pub const DEFAULT_THEME: &str = "default";

/// Guesses a MIME type from a file extension, for attachments sent as bare base64.
fn mime_from_file_name(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "zip" => "application/zip",
        "mp4" => "video/mp4",
        "mp3" => "audio/mpeg",
        _ => "application/octet-stream",
    }
}

/// Why a file the visitor picked was refused (the view shows it in the visitor's language).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachmentProblem {
    /// Larger than the widget's limit.
    TooLarge,
    /// A type the widget does not accept.
    TypeNotAllowed,
}

/// What the visitor did with the widget's own controls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UiAction {
    /// Launcher clicked.
    Toggle,
    /// Close button or Escape.
    Close,
    /// Composer text changed.
    Draft(String),
    /// Enter in the composer.
    Submit,
    /// Retry a failed message.
    Retry(String),
    /// Send a file picked or dropped by the visitor (`content` is a data URL).
    Attach {
        /// The file's name.
        file_name: String,
        /// `data:<mime>;base64,…`.
        content: String,
    },
    /// Open a thread (`None` = start a new conversation).
    SelectThread(Option<String>),
    /// Multi-thread widgets: show the list of conversations.
    ShowThreadList,
}
