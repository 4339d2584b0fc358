//! Starting a widget: `init`, the stored state, the configuration; calls made meanwhile
//! wait in [`super::Calls`] and replay in order once ready.

use alloc::format;
use alloc::string::{String, ToString};

use livechat_protocol::{error_code, Millis, WidgetConfig};

use super::config_fetch::{self, Due};
use super::effect::InitResult;
use super::{ApiError, CallId, Conversations, Effect, ErrorCode, Lifecycle, Outbox, Reply, StoredState, Widget};

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

impl Widget {
    /// Answers [`Effect::LoadState`] with what storage held (`None`: nothing or unreadable).
    pub fn handle_stored_state(&mut self, widget_id: &str, stored: Option<StoredState>, now: Millis) {
        if self.lifecycle != Lifecycle::Loading || widget_id != self.state.widget_id {
            return;
        }
        if let Some(mut stored) = stored.and_then(|s| s.validated(widget_id)) {
            self.conversations = Conversations::new(stored.threads.clone());
            self.restore_complete(&stored.complete_threads);
            self.config = stored.config.clone();
            self.persisted = Some(stored.clone());
            // The outbox lives in its own part; `snapshot` puts it back for storage.
            self.outbox = Outbox::new(core::mem::take(&mut stored.outbox));
            self.state = stored;
        }
        self.config_fetch.start(widget_id, now, &mut self.effects);
        if self.config.is_some() {
            // A cached configuration renders at once; the fetch refreshes it.
            self.become_ready(now);
        }
        self.settle(now);
    }

    /// Answers [`Effect::FetchConfig`] number `attempt`. A network or server failure is
    /// retried (`core::config_fetch`) before `init` fails, and counts only when it is the
    /// attempt in flight's; any other answer is taken from any attempt (a late good one too).
    pub fn handle_config(&mut self, widget_id: &str, attempt: u32, result: Result<WidgetConfig, ConfigError>, now: Millis) {
        if self.lifecycle == Lifecycle::Uninitialized || widget_id != self.state.widget_id {
            return;
        }
        if matches!(result, Err(ConfigError::Unavailable(_))) && self.config_fetch.handle_failed(attempt, now) {
            return self.settle(now); // tried again after a pause, or an abandoned attempt's
        }
        self.config_done(result, now);
    }

    /// The configuration arrived, or the request failed for good.
    fn config_done(&mut self, result: Result<WidgetConfig, ConfigError>, now: Millis) {
        self.config_fetch.stop();
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
                        format!("could not load the widget configuration ({}): {why}", config_fetch::ATTEMPTS),
                    ),
                };
                self.calls.fail_start(&error, &mut self.effects);
                self.lifecycle = Lifecycle::Uninitialized;
                self.render = true; // nothing to show: a launcher the loader drew goes
            }
            // Ready on a cached configuration: keep it and carry on.
            Err(_) => {}
        }
        self.settle(now);
    }

    /// The configuration request's timer: a retry is due, or the last attempt went unanswered.
    pub(super) fn handle_config_timeout(&mut self, now: Millis) {
        if self.config_fetch.handle_timeout(&self.state.widget_id, now, &mut self.effects) == Some(Due::TimedOut) {
            self.config_done(Err(ConfigError::Unavailable(config_fetch::TIMED_OUT.into())), now);
        }
    }

    pub(super) fn start(&mut self, call: CallId, widget_id: String) {
        if self.tabs.handle_start() {
            // Each widget has its own lock: follow until this tab holds the new one.
            self.effects.push_back(Effect::ClaimSocket { widget_id: widget_id.clone() });
        }
        self.lifecycle = Lifecycle::Loading;
        self.switch_allowed = false;
        self.state = StoredState::fresh(&widget_id);
        self.conversations = Conversations::default();
        self.outbox = Outbox::default();
        self.config = None;
        self.persisted = None;
        self.calls.wait_for_init(call);
        self.effects.push_back(Effect::LoadState { widget_id });
    }

    fn become_ready(&mut self, now: Millis) {
        self.lifecycle = Lifecycle::Ready;
        let result = self.init_result();
        for call in self.calls.take_init() {
            self.reply_ok(call, Reply::Init(result.clone()));
        }
        self.open_socket(now);
        self.render = true;
        while let Some((call, command)) = self.calls.next_queued() {
            self.handle_command(call, command, now);
        }
    }

    pub(super) fn init_result(&self) -> InitResult {
        InitResult {
            widget_id: self.state.widget_id.clone(),
            language: self.language().to_string(),
            online: self.online,
            customer: self.state.customer.clone(),
        }
    }
}
