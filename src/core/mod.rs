//! The widget's pure state machine: no browser APIs, no clock, no randomness of its own.
//!
//! Inputs go in through `handle_*`; after every input the driver drains
//! [`Widget::poll_effect`] until it returns `None`, then arms one timer for
//! [`Widget::poll_timeout`]. Time (`now`, milliseconds since the epoch) and the random
//! seed are arguments, so tests run on a fake clock against a fake server.
//!
//! [`Widget`] coordinates typed parts, each with its own tests: [`Outbox`] (requests
//! waiting for an ack), [`Connection`] (the socket's life), [`Session`] (auth/logout and
//! re-authentication), [`Tabs`] (who owns the socket, what another tab's write brings),
//! [`Calls`] (`liveChat` calls until answered), [`ConfigFetch`] (the configuration request's
//! deadline and retries), [`Texts`] (language tables and the first
//! mount's wait for them), [`History`] (what the view shows of a conversation, older pages
//! asked from the server). What the server
//! says is applied in `server.rs`, startup (`init`, stored state, configuration) is in
//! `startup.rs`, commands and UI actions are executed in `execute.rs`, and `reset.rs` ends
//! what `logout`, `clear` or another `init` ends.

pub mod calls;
pub mod command;
pub mod config_fetch;
pub mod connection;
pub mod conversation;
pub mod effect;
pub mod error;
mod execute;
pub mod history;
pub mod language;
pub mod outbox;
pub mod rng;
mod reset;
mod server;
pub mod session;
mod startup;
pub mod state;
pub mod tabs;
pub mod texts;
pub mod vec_map;

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use livechat_protocol::{ClientFrame, Customer, Millis, WidgetConfig, PROTOCOL_VERSION};

pub use calls::Calls;
pub use command::{Command, SendPayload};
pub use config_fetch::ConfigFetch;
pub use connection::Connection;
use connection::Due;
pub use conversation::Conversations;
pub use effect::{CallId, Deadline, Effect, Reply, WidgetEvent};
use effect::ResetResult;
pub use error::{ApiError, ErrorCode};
pub use execute::{AttachmentProblem, UiAction, DEFAULT_THEME};
pub use history::History;
pub use outbox::{Outbox, ADOPT_GRACE_MS};
use rng::Rng;
pub use session::Session;
pub use startup::ConfigError;
pub use state::{Delivery, OutboxItem, OutboxRequest, StoredState, UiState};
pub use tabs::{Role, Tabs};
pub use texts::Texts;

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

/// The widget core. One per page.
#[derive(Debug)]
pub struct Widget {
    rng: Rng,
    lifecycle: Lifecycle,
    /// Set by `logout`/`clear`: the next `init` may name another widget.
    switch_allowed: bool,
    /// Identity, UI, language, theme, `last_seq` (threads and outbox live in their parts).
    state: StoredState,
    conversations: Conversations,
    /// What the view shows of each conversation; older pages asked from the server.
    history: History,
    config: Option<WidgetConfig>,
    config_fetch: ConfigFetch,
    browser_languages: Vec<String>,
    online: bool,
    /// The browser says it has no network (`navigator.onLine`, told before each command).
    offline: bool,
    connection: Connection,
    tabs: Tabs,
    session: Session,
    outbox: Outbox,
    calls: Calls,
    texts: Texts,
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
            history: History::default(),
            config: None,
            config_fetch: ConfigFetch::default(),
            browser_languages,
            online: false,
            offline: false,
            connection: Connection::default(),
            tabs: Tabs::default(),
            session: Session::default(),
            outbox: Outbox::default(),
            calls: Calls::default(),
            texts: Texts::default(),
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

    /// True while the view's first mount should wait for the table of [`Widget::language`]
    /// (asked for with [`Effect::LoadTexts`], at most [`texts::TEXTS_WAIT_MS`]).
    pub fn language_pending(&self) -> bool {
        self.texts.pending(self.language())
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
        self.connection.is_open()
    }

    /// Socket ownership among tabs.
    pub fn role(&self) -> Role {
        self.tabs.role()
    }

    /// Threads and messages.
    pub fn conversations(&self) -> &Conversations {
        &self.conversations
    }

    /// What the view shows of each conversation, and the older pages on their way.
    pub fn history(&self) -> &History {
        &self.history
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

    /// The state as it would be stored now.
    pub fn snapshot(&self) -> StoredState {
        let threads = self.conversations.to_stored();
        // Complete in storage only when storage keeps every message the widget holds.
        // (A loop, not `filter().map().collect()`: smaller in the wasm.)
        let mut complete_threads = Vec::new();
        for t in &threads {
            let all_stored = self.conversations.get(&t.id).is_some_and(|held| held.messages.len() == t.messages.len());
            if all_stored && self.history.exhausted(&t.id) {
                complete_threads.push(t.id.clone());
            }
        }
        StoredState {
            threads,
            complete_threads,
            outbox: self.outbox.items().to_vec(),
            config: self.config.clone(),
            ..self.state.clone()
        }
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
        let socket_or_outbox = earliest(self.connection.poll_timeout(), self.outbox.poll_timeout());
        let texts_or_config = earliest(self.texts.poll_timeout(), self.config_fetch.poll_timeout());
        earliest(socket_or_outbox, texts_or_config)
    }

    // ----- inputs -------------------------------------------------------------------

    /// Handles a parsed `liveChat` call.
    pub fn handle_command(&mut self, call: CallId, command: Command, now: Millis) {
        match (self.lifecycle, command) {
            (Lifecycle::Uninitialized, Command::Init { widget_id: Some(id) }) => self.start(call, id),
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
                    self.start(call, id);
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
            (Lifecycle::Loading, Command::Init { .. }) => self.calls.wait_for_init(call),
            (Lifecycle::Loading, command) => self.calls.queue(call, command),
            (Lifecycle::Ready, command) => self.execute(call, command, now),
        }
        self.settle(now);
    }

    /// Answers [`Effect::LoadTexts`]: the table of `tag` is at hand (also when it arrives
    /// after the first mount stopped waiting for it).
    pub fn handle_language_ready(&mut self, tag: &str, now: Millis) {
        self.handle_language(tag, true, now);
    }

    /// Answers [`Effect::LoadTexts`]: the table of `tag` could not be loaded (the view
    /// mounts without it; a wake asks again).
    pub fn handle_language_failed(&mut self, tag: &str, now: Millis) {
        self.handle_language(tag, false, now);
    }

    fn handle_language(&mut self, tag: &str, loaded: bool, now: Millis) {
        let news = language::supported(tag)
            .is_some_and(|tag| if loaded { self.texts.handle_ready(tag) } else { self.texts.handle_failed(tag) });
        self.render |= news;
        self.settle(now);
    }

    /// The socket opened: say hello.
    pub fn handle_socket_open(&mut self, now: Millis) {
        if self.connection.handle_open(now) {
            self.effects.push_back(Effect::SendFrame(ClientFrame::Hello {
                protocol: PROTOCOL_VERSION,
                widget_id: self.state.widget_id.clone(),
                session: self.state.session.clone(),
                last_seq: self.state.last_seq,
                end_sessions: self.state.ended_sessions.clone(),
            }));
        }
        self.settle(now);
    }

    /// The socket closed or failed: schedule a reconnect.
    pub fn handle_socket_closed(&mut self, now: Millis) {
        if self.connection.handle_closed(now, &mut self.rng) {
            self.session.forget_sent();
            self.render = true;
            self.end_logout_offline(now);
        }
        self.settle(now);
    }

    /// A timer armed from [`Widget::poll_timeout`] fired (early or late calls are fine).
    pub fn handle_timeout(&mut self, now: Millis) {
        self.handle_config_timeout(now);
        match self.connection.handle_timeout(now, &mut self.rng, &mut self.effects) {
            Some(Due::Connect) => self.open_socket(now),
            Some(Due::Abandoned) => {
                self.session.forget_sent();
                self.end_logout_offline(now);
            }
            Some(Due::Lost) => {
                self.session.forget_sent();
                self.render = true;
                self.end_logout_offline(now);
            }
            None => {}
        }
        if self.outbox.handle_timeout(now) {
            self.flush_outbox();
        }
        if self.texts.handle_timeout(now) {
            self.render = true; // the first mount stops waiting for a late language table
        }
        self.settle(now);
    }

    /// The network came back or the tab became visible: retry a waiting connection now,
    /// check an open one, ask again for language tables that failed.
    pub fn handle_wake(&mut self, now: Millis) {
        if self.connection.handle_wake(now, &mut self.effects) == Some(Due::Connect) {
            self.open_socket(now);
        }
        self.texts.handle_wake();
        self.settle(now);
    }

    /// Whether the browser has a network (`navigator.onLine`; the driver tells it before each
    /// command). `false` is sure (`true` may still be offline): a follower's `logout` then
    /// ends the session the offline way at once, without opening a socket for it.
    pub fn handle_network(&mut self, online: bool) {
        self.offline = !online;
    }

    /// The page is being hidden or put in the back/forward cache (`pagehide`): close the
    /// socket cleanly; [`Widget::handle_wake`] reopens it on `pageshow`.
    pub fn handle_suspend(&mut self, now: Millis) {
        self.connection.handle_suspend(now, &mut self.effects);
        self.settle(now);
    }

    // ----- the socket -------------------------------------------------------------------

    /// Whether this tab should hold a socket now (a follower only for `auth`/`logout` or an
    /// older page of history).
    fn wants_socket(&self) -> bool {
        self.tabs.owns_socket() || self.session.has_requests() || self.history.wants_socket()
    }

    /// A follower opens a socket when it has an `auth`, `logout` or `history` to send.
    fn open_socket_for_request(&mut self, now: Millis) {
        if self.connection.is_idle() && self.tabs.role() == Role::Follower {
            self.connection.reset_backoff();
            self.open_socket(now);
        }
    }

    /// Opens a socket if one is wanted (none is live when this is called).
    fn open_socket(&mut self, now: Millis) {
        self.outbox.forget_sent();
        self.history.forget_sent();
        self.session.forget_sent(); // (a restart closes a socket without a close event)
        if self.lifecycle != Lifecycle::Ready || !self.wants_socket() {
            return self.connection.stay_idle();
        }
        let path = self.config.as_ref().map_or_else(|| "/v1/ws".to_string(), |c| c.ws_path.clone());
        self.connection.open(path, now, &mut self.effects);
    }

    fn restart_socket(&mut self, now: Millis) {
        self.connection.restart(&mut self.effects);
        self.open_socket(now);
    }

    /// Sends every outbox item still marked sending, in order (only when welcomed, the
    /// session does not wait for a fresh JWT, and this tab owns the socket).
    fn flush_outbox(&mut self) {
        if !self.connected() || self.session.reauth_pending() || !self.tabs.owns_socket() {
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
        self.session.poll_transmit(&mut self.effects);
    }

    /// Sends the older-history requests waiting for a socket, each for the page before the
    /// oldest message held of its thread (not while the session waits for a fresh JWT: the
    /// server would refuse them).
    fn send_history_requests(&mut self) {
        if !self.connected() || self.session.reauth_pending() {
            return;
        }
        while let Some(thread_id) = self.history.next_wanted().map(String::from) {
            let before = self.conversations.get(&thread_id).and_then(|t| t.messages.first()).map(|m| m.id.clone());
            let req = self.rng.id("h-");
            self.history.sent(&thread_id, req.clone());
            self.effects.push_back(Effect::SendFrame(ClientFrame::History { req, thread_id, before, limit: history::PAGE }));
        }
    }

    // ----- bookkeeping ----------------------------------------------------------------

    /// Storage (this tab's or the leader's write) says these threads are held from their
    /// first message on: reaching their top asks nothing (only threads held here).
    fn restore_complete(&mut self, thread_ids: &[String]) {
        for id in thread_ids {
            if self.conversations.get(id).is_some() {
                self.history.complete(id);
            }
        }
    }

    fn answer(&mut self, req: &str, result: Result<Reply, ApiError>) {
        self.calls.answer(req, result, &mut self.effects);
    }

    fn reply_ok(&mut self, call: CallId, reply: Reply) {
        self.effects.push_back(Effect::Reply { call, result: Ok(reply) });
    }

    fn reply_err(&mut self, call: CallId, error: ApiError) {
        self.effects.push_back(Effect::Reply { call, result: Err(error) });
    }

    /// After every input: sends older-history requests a socket can take, closes a
    /// follower's socket once its `auth`/`logout`/`history` is answered, asks for the
    /// language table the widget shows, and queues a `Persist` when the storable state
    /// changed since the last write.
    fn settle(&mut self, now: Millis) {
        self.send_history_requests();
        if !self.wants_socket() && !self.connection.is_idle() {
            self.connection.close(&mut self.effects);
            self.outbox.forget_sent();
        }
        if self.lifecycle == Lifecycle::Uninitialized {
            return;
        }
        if self.config.is_some() {
            if let Some(load) = self.texts.want(self.language(), now) {
                self.effects.push_back(load);
            }
        }
        if self.lifecycle != Lifecycle::Ready {
            return;
        }
        let snapshot = self.snapshot();
        if self.persisted.as_ref() != Some(&snapshot) {
            self.persisted = Some(snapshot.clone());
            self.effects.push_back(Effect::Persist(Box::new(snapshot)));
        }
    }
}

/// The earlier of two deadlines (the first on a tie).
fn earliest(a: Option<Deadline>, b: Option<Deadline>) -> Option<Deadline> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.at < a.at { b } else { a }),
        (a, b) => a.or(b),
    }
}
