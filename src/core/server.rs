//! What the server says, applied to the parts: welcome, sync, events, acks, answers to
//! `auth`/`logout`, and errors.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use livechat_protocol::{error_code, Event, Message, Millis, ServerFrame};

use super::effect::{AuthResult, ContextualResult, SentResult};
use super::session::Pending;
use super::{ApiError, Conversations, Effect, OutboxRequest, Reply, Widget, WidgetEvent};

impl Widget {
    /// A frame arrived.
    pub fn handle_frame(&mut self, frame: ServerFrame, now: Millis) {
        self.connection.handle_frame();
        match frame {
            ServerFrame::Welcome { session, customer, online, .. } => {
                // The server ended the sessions our hello named before welcoming us.
                self.state.ended_sessions.clear();
                self.state.session = Some(session);
                self.state.customer = customer;
                self.online = online;
                self.connection.handle_welcome(now);
                self.send_requests();
                self.flush_outbox();
                self.render = true;
            }
            ServerFrame::Sync { last_seq, threads, .. } => {
                self.conversations = Conversations::new(threads);
                self.history.clear();
                self.state.last_seq = last_seq;
                self.settle_outbox_from_history();
                self.render = true;
            }
            ServerFrame::Event { seq, event } => self.apply_event(seq, event, now),
            ServerFrame::Ack { req, message } => {
                let started = self
                    .outbox
                    .remove(&req)
                    .is_some_and(|o| matches!(o.request, OutboxRequest::Message { new_thread: true, .. }));
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
                self.session.handle_answer(&req);
                self.state.customer = Some(customer.clone());
                self.state.session = Some(session);
                if self.session.reauthenticated() {
                    self.flush_outbox(); // what waited for the fresh token goes out now
                }
                self.answer(&req, Ok(Reply::Auth(AuthResult { customer })));
                self.render = true;
            }
            ServerFrame::LoggedOut { req } => {
                self.session.handle_answer(&req);
                let call = self.calls.take_awaiting(&req);
                self.reset(true, now);
                if let Some(call) = call {
                    self.reply_ok(call, self.reset_result(true));
                }
            }
            ServerFrame::Error { req: Some(req), code, message, retry_after_ms } => {
                self.handle_request_error(req, &code, &message, retry_after_ms, now)
            }
            ServerFrame::Error { req: None, code, .. } => self.handle_connection_error(&code),
            ServerFrame::HistoryPage { req, thread_id, messages, more } => self.apply_history_page(&req, &thread_id, messages, more),
            ServerFrame::Pong { .. } => {}
        }
        self.settle(now);
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
            Event::ThreadOpened { thread } => {
                // Opened empty (a new conversation), it is seen from its start: every message
                // of it comes after, nothing is older. A thread that arrives with messages
                // (moved to the customer at `auth`) carries only its newest ones.
                if thread.messages.is_empty() {
                    self.history.complete(&thread.id);
                }
                self.conversations.open_thread(thread);
            }
            Event::ThreadStatus { thread_id, status } => {
                self.conversations.set_status(&thread_id, status);
            }
            Event::Availability { online } => self.online = online,
        }
        self.render = true;
    }

    /// A stored message, from the server or from the leader tab's write: counted as unread,
    /// and when it is ours (maybe sent by another tab) its outbox item is done.
    pub(super) fn apply_message(&mut self, message: Message) {
        if message.author == livechat_protocol::Author::Agent
            && !self.state.ui.open
            && self.conversations.has_message(&message.thread_id, &message.id).is_none()
        {
            self.state.ui.unread = self.state.ui.unread.saturating_add(1);
        }
        if let Some(client_id) = message.client_id.clone() {
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

    /// An older page of a thread: merged by id (nothing twice) in time order, which is the
    /// server's storage order. An answer nobody waits for any more (the conversations were
    /// replaced meanwhile) is dropped.
    fn apply_history_page(&mut self, req: &str, thread_id: &str, messages: Vec<Message>, more: bool) {
        let Some(asked) = self.history.take_answer(req) else { return };
        if asked != thread_id {
            // Not the page that was asked for: a server not to page through.
            self.history.add_page(&asked, 0, false);
            return;
        }
        let mut added = 0;
        for m in messages.into_iter().filter(|m| m.thread_id == thread_id) {
            added += usize::from(self.conversations.insert(m));
        }
        self.history.add_page(thread_id, added, more);
        // (A message of ours whose ack was lost cannot be in it: the outbox went out again
        // on this socket before any `history`, and its acks came first.)
        self.render = true;
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
        if self.history.refused(&req, code == error_code::UNKNOWN_THREAD) {
            self.render = true;
            return; // (anything else: a later visit to the top asks again)
        }
        if code == error_code::RATE_LIMITED {
            // Not a refusal of the content: keep it and send everything again later, in order.
            self.outbox.handle_rate_limit(now + retry_after.unwrap_or(super::outbox::RATE_LIMIT_PAUSE_MS));
            return;
        }
        if let Some(pending) = self.session.handle_answer(&req) {
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

    fn handle_connection_error(&mut self, code: &str) {
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
                self.connection.halt(&mut self.effects);
                self.effects.push_back(Effect::Emit(WidgetEvent::Fatal { code: code.to_string() }));
            }
            _ => {}
        }
    }

    fn need_reauth(&mut self) {
        if self.session.require_reauth() {
            self.effects.push_back(Effect::Emit(WidgetEvent::ReauthRequired));
            self.render = true;
        }
    }
}
