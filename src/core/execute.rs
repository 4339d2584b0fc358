//! Executing `liveChat` commands and the visitor's own actions once the widget is ready.

use alloc::format;
use alloc::string::String;

use livechat_protocol::{attachment, ClientFrame, Millis, OutgoingBody};

use super::effect::{DraftResult, ThemeResult, UiResult};
use super::{command, language, ApiError, CallId, Command, Effect, ErrorCode, OutboxRequest, Reply, Role, SendPayload, Widget};

/// The theme name that resets `set_theme` to the widget's default look.
pub const DEFAULT_THEME: &str = "default";

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
    /// The visitor reached the top of the conversation: show older messages.
    LoadOlder,
}

/// Why a file the visitor picked was refused (the view shows it in the visitor's language).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachmentProblem {
    /// Larger than the widget's limit.
    TooLarge,
    /// A type the widget does not accept.
    TypeNotAllowed,
}

impl Widget {
    /// The visitor used the widget's own controls.
    pub fn handle_ui(&mut self, action: UiAction, now: Millis) {
        if self.lifecycle != super::Lifecycle::Ready {
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
                    Some(problem) => self.attach_error = Some(problem),
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
            UiAction::LoadOlder => {
                let Some(thread) = self.current_thread().map(String::from) else { return };
                let held = self.conversations.get(&thread).map_or(0, |t| t.messages.len());
                if !self.history.reach_top(&thread, held) {
                    return; // nothing changes: no render
                }
                self.open_socket_for_request(now);
            }
        }
        self.render = true;
        self.settle(now);
    }

    pub(super) fn execute(&mut self, call: CallId, command: Command, now: Millis) {
        match command {
            Command::Init { .. } => self.reply_ok(call, Reply::Init(self.init_result())),
            Command::Auth { jwt } => {
                let req = self.rng.id("a-");
                self.calls.await_answer(req.clone(), call);
                self.session.auth(req, jwt);
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
                let follower_online = self.tabs.role() == Role::Follower && self.connection.is_idle() && !self.offline;
                if self.connected() || follower_online {
                    // (A follower has no socket while idle: it opens one to log out, and
                    // logs out the offline way if that one fails. Not when the browser
                    // says it is offline, nor when a socket it opened for `auth`/`history`
                    // is not welcomed yet: that says as much as the leader's would.)
                    let req = self.rng.id("l-");
                    self.calls.await_answer(req.clone(), call);
                    self.session.logout(req);
                    self.send_requests();
                    self.open_socket_for_request(now);
                } else {
                    // Offline: the session ends here now, and on the server first thing on
                    // the next connection (its token is kept, persisted, until then).
                    self.reset_ending_session(now);
                    self.reply_ok(call, self.reset_result(true));
                }
            }
            Command::Clear { widget_id } => match widget_id {
                Some(other) if other != self.state.widget_id => {
                    self.effects.push_back(Effect::ClearStorage { widget_id: other.clone() });
                    self.reply_ok(call, Reply::Reset(super::ResetResult { cleared: other, logged_out: false }));
                }
                named => {
                    // With the widget id named, the spec asks to log the user out as well.
                    let log_out = named.is_some() && self.state.customer.is_some();
                    if log_out && self.connected() {
                        let req = self.rng.id("l-");
                        self.effects.push_back(Effect::SendFrame(ClientFrame::Logout { req }));
                    }
                    if log_out {
                        // Also named in the next hello: ended even if the frame above is lost.
                        self.reset_ending_session(now);
                    } else {
                        self.reset(true, now);
                    }
                    self.reply_ok(call, self.reset_result(log_out));
                }
            },
            Command::Show => self.set_ui(call, true, None),
            Command::Hide => self.set_ui(call, false, None),
            Command::ShowLauncher => self.set_ui(call, self.state.ui.open, Some(true)),
            Command::HideLauncher => self.set_ui(call, false, Some(false)),
            Command::SetTheme { name } => self.set_theme(call, name),
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
                self.calls.await_answer(id.clone(), call);
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

    fn set_theme(&mut self, call: CallId, name: String) {
        let known = self.config.as_ref().is_some_and(|c| c.themes.contains_key(&name));
        if known || name == DEFAULT_THEME {
            self.state.theme = (name != DEFAULT_THEME).then(|| name.clone());
            self.render = true;
            return self.reply_ok(call, Reply::Theme(ThemeResult { theme: name }));
        }
        // Listed by hand: `join` is over a KB of wasm for each item type.
        let mut why = format!("theme '{name}' is not configured for this widget; available: ");
        for theme in self.config.iter().flat_map(|c| c.themes.keys()) {
            why.push_str(theme);
            why.push_str(", ");
        }
        why.push_str(DEFAULT_THEME);
        self.reply_err(call, ApiError::new(ErrorCode::UnknownTheme, why));
    }

    /// The server's attachment rules (`livechat_protocol::attachment`), applied before
    /// queueing so a refusal is answered at once with the code the server would give.
    fn check_attachment(&self, file_name: &str, content: &str) -> Result<(), ApiError> {
        let Some(policy) = self.config.as_ref().map(|c| &c.attachments) else { return Ok(()) };
        attachment::check(file_name, content, &policy.allowed_types, policy.max_bytes)
            .map(|_| ())
            .map_err(|r| ApiError::rejected(r.code(), &r.message(&policy.allowed_types)))
    }

    /// Why the widget's policy refuses a file the visitor picked, if it does. Content the
    /// policy calls invalid (an empty file) is sent: the server's refusal shows on its row.
    fn attachment_refusal(&self, file_name: &str, content: &str) -> Option<AttachmentProblem> {
        let policy = &self.config.as_ref()?.attachments;
        match attachment::check(file_name, content, &policy.allowed_types, policy.max_bytes) {
            Err(attachment::Refusal::TooLarge { .. }) => Some(AttachmentProblem::TooLarge),
            Err(attachment::Refusal::TypeNotAllowed { .. }) => Some(AttachmentProblem::TypeNotAllowed),
            Ok(_) | Err(attachment::Refusal::Invalid(_)) => None,
        }
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
            self.calls.await_answer(id.clone(), call);
        }
        self.outbox.push(id, OutboxRequest::Message { thread_id, new_thread, body }, now);
        self.render = true;
        self.flush_outbox();
    }
}

