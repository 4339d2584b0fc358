//! `liveChat` calls through their life: waiting for `init`, queued while the widget loads,
//! waiting for the server's answer. Each call is answered exactly once: by its result, or by
//! an error when the widget is reset or fails to start.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use super::command::Command;
use super::effect::{CallId, Effect, Reply};
use super::error::ApiError;
use super::vec_map::VecMap;

/// Calls not answered yet.
#[derive(Debug, Default)]
pub struct Calls {
    /// `init` calls waiting for the widget to be ready.
    init: Vec<CallId>,
    /// Calls made while loading, replayed in order when ready.
    queued: VecDeque<(CallId, Command)>,
    /// Callbacks waiting for the server, by request id (outbox items, auth, logout).
    awaiting: VecMap<String, CallId>,
}

impl Calls {
    /// An `init` waits for the widget to be ready.
    #[inline]
    pub fn wait_for_init(&mut self, call: CallId) {
        self.init.push(call);
    }

    /// A call made while loading waits its turn.
    #[inline]
    pub fn queue(&mut self, call: CallId, command: Command) {
        self.queued.push_back((call, command));
    }

    /// The next queued call, in the order made.
    #[inline]
    pub fn next_queued(&mut self) -> Option<(CallId, Command)> {
        self.queued.pop_front()
    }

    /// `call` waits for the server's answer to request `req`.
    #[inline]
    pub fn await_answer(&mut self, req: String, call: CallId) {
        self.awaiting.insert(req, call);
    }

    /// The call waiting for `req`, no longer waiting.
    #[inline]
    pub fn take_awaiting(&mut self, req: &str) -> Option<CallId> {
        self.awaiting.remove(req)
    }

    /// Answers the call waiting for `req`, if one does.
    pub fn answer(&mut self, req: &str, result: Result<Reply, ApiError>, out: &mut VecDeque<Effect>) {
        if let Some(call) = self.awaiting.remove(req) {
            out.push_back(Effect::Reply { call, result });
        }
    }

    /// The widget is ready: the `init` calls to answer.
    #[inline]
    pub fn take_init(&mut self) -> Vec<CallId> {
        core::mem::take(&mut self.init)
    }

    /// The widget could not start: `init` and the queued calls get `error`.
    pub fn fail_start(&mut self, error: &ApiError, out: &mut VecDeque<Effect>) {
        for call in core::mem::take(&mut self.init) {
            out.push_back(Effect::Reply { call, result: Err(error.clone()) });
        }
        for (call, _) in core::mem::take(&mut self.queued) {
            out.push_back(Effect::Reply { call, result: Err(error.clone()) });
        }
    }

    /// The widget was reset: every call still waiting gets `error`.
    #[inline]
    pub fn cancel_all(&mut self, error: &ApiError, out: &mut VecDeque<Effect>) {
        for (_, call) in self.awaiting.take() {
            out.push_back(Effect::Reply { call, result: Err(error.clone()) });
        }
        self.fail_start(error, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::ErrorCode;
    use crate::core::effect::UiResult;

    fn answered(out: &VecDeque<Effect>) -> Vec<(CallId, bool)> {
        out.iter()
            .map(|e| match e {
                Effect::Reply { call, result } => (*call, result.is_ok()),
                other => panic!("unexpected effect {other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_server_answer_reaches_its_call_once() {
        let mut calls = Calls::default();
        let mut out = VecDeque::new();
        calls.await_answer("m-1".into(), 7);

        calls.answer("m-1", Ok(Reply::Ui(UiResult { open: true, launcher: true })), &mut out);
        calls.answer("m-1", Ok(Reply::Ui(UiResult { open: true, launcher: true })), &mut out);

        assert_eq!(answered(&out), [(7, true)]);
    }

    #[test]
    fn queued_calls_come_back_in_order() {
        let mut calls = Calls::default();
        calls.queue(1, Command::Show);
        calls.queue(2, Command::Hide);

        assert_eq!(calls.next_queued().map(|(c, _)| c), Some(1));
        assert_eq!(calls.next_queued().map(|(c, _)| c), Some(2));
        assert!(calls.next_queued().is_none());
    }

    #[test]
    fn a_failed_start_answers_init_and_queued_calls_with_the_error() {
        let mut calls = Calls::default();
        let mut out = VecDeque::new();
        calls.wait_for_init(1);
        calls.queue(2, Command::Show);

        calls.fail_start(&ApiError::new(ErrorCode::ConfigUnavailable, "down"), &mut out);

        assert_eq!(answered(&out), [(1, false), (2, false)]);
        assert!(calls.next_queued().is_none());
    }

    #[test]
    fn a_reset_cancels_every_waiting_call_once() {
        let mut calls = Calls::default();
        let mut out = VecDeque::new();
        calls.await_answer("a-1".into(), 3);
        calls.wait_for_init(4);
        calls.queue(5, Command::Show);

        calls.cancel_all(&ApiError::new(ErrorCode::Cancelled, "reset"), &mut out);
        calls.cancel_all(&ApiError::new(ErrorCode::Cancelled, "reset"), &mut out);

        assert_eq!(answered(&out), [(3, false), (4, false), (5, false)]);
    }

    #[test]
    fn ready_hands_over_every_init_once() {
        let mut calls = Calls::default();
        calls.wait_for_init(1);
        calls.wait_for_init(2);

        assert_eq!(calls.take_init(), [1, 2]);
        assert!(calls.take_init().is_empty());
    }
}
