//! Ending what `logout`, `clear` or another widget's `init` ends: the state back to a fresh
//! anonymous visitor (sessions still to end on the server kept for the next `hello`), calls
//! in flight cancelled, the socket restarted or stopped.

use livechat_protocol::Millis;

use super::effect::ResetResult;
use super::{ApiError, Conversations, Effect, ErrorCode, Lifecycle, Outbox, Reply, StoredState, Widget};

impl Widget {
    /// Back to a fresh anonymous state for the same widget (`logout`, `clear`). Sessions
    /// still to be ended on the server are kept (and written again after the clear).
    pub(super) fn reset(&mut self, clear_storage: bool, now: Millis) {
        self.cancel_pending("the widget was reset by logout or clear");
        let widget_id = self.state.widget_id.clone();
        let keep_config = self.state.config.clone();
        let ended = core::mem::take(&mut self.state.ended_sessions);
        self.state = StoredState::fresh(&widget_id);
        self.state.config = keep_config;
        self.state.ended_sessions = ended;
        self.conversations = Conversations::default();
        self.history.clear();
        self.outbox = Outbox::default();
        self.switch_allowed = true;
        if clear_storage {
            self.effects.push_back(Effect::ClearStorage { widget_id });
        }
        // Nothing to write until something changes again, but sessions still to end.
        self.persisted = self.state.ended_sessions.is_empty().then(|| self.snapshot());
        self.render = true;
        self.connection.restart(&mut self.effects);
        self.open_socket(now);
    }

    /// [`Widget::reset`] that keeps the dropped session's token for the next `hello`, whose
    /// `end_sessions` makes the server end it before anything else (`logout`/`clear` while
    /// offline, or a `logout` frame that may be lost with the socket `clear` closes). The
    /// list stays short: a new session needs the server, whose `welcome` empties it.
    pub(super) fn reset_ending_session(&mut self, now: Millis) {
        if let Some(session) = self.state.session.take() {
            self.state.ended_sessions.push(session);
        }
        self.reset(true, now);
    }

    /// The socket a `logout` waited for failed or was lost before the answer (a follower's
    /// own, opened for it, or the leader's): the session ends the offline way, here now and
    /// on the server with the next `hello` (the server ends it once, if the `logout` frame
    /// did reach it). A logout never waits for the network.
    pub(super) fn end_logout_offline(&mut self, now: Millis) {
        let Some(req) = self.session.take_logout() else { return };
        let call = self.calls.take_awaiting(&req);
        self.reset_ending_session(now);
        if let Some(call) = call {
            self.reply_ok(call, self.reset_result(true));
        }
    }

    pub(super) fn reset_result(&self, logged_out: bool) -> Reply {
        Reply::Reset(ResetResult { cleared: self.state.widget_id.clone(), logged_out })
    }

    /// Stops the active widget before another `init`.
    pub(super) fn teardown(&mut self) {
        self.cancel_pending("another widget was initialized");
        self.connection.stop(&mut self.effects);
        self.config_fetch.stop();
        self.history.clear();
        self.lifecycle = Lifecycle::Uninitialized;
        self.render = true;
    }

    pub(super) fn cancel_pending(&mut self, why: &str) {
        self.calls.cancel_all(&ApiError::new(ErrorCode::Cancelled, why), &mut self.effects);
        self.session.clear();
    }
}
