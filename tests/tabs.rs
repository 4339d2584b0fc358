//! Several tabs of one site: the tab holding the widget's lock (leader) owns the only
//! socket; the others (followers) learn everything through storage. The browser's
//! `storage` event is played by hand here: each write of one tab is handed to the other.

mod common;

use common::*;
use livechat_protocol::ClientFrame;
use livechat_widget::core::{Delivery, Reply, Role};
use serde_json::json;

/// Two tabs on one store; only the leader's fake server is reachable from a socket.
struct Tabs {
    leader: Harness,
    follower: Harness,
}

impl Tabs {
    fn new() -> Self {
        let mut leader = Harness::new();
        leader.widget.handle_role(Role::Follower, leader.now);
        leader.call_ok("init", Some(json!(WIDGET)));
        assert_eq!(leader.opens, 0, "no socket before the lock is held");
        leader.widget.handle_role(Role::Leader, leader.now);
        leader.settle();
        assert!(leader.socket_open, "the lock holder connects");

        let mut follower = Harness::with(leader.store.clone(), FakeServer::new());
        // Tabs seed their ids from crypto.getRandomValues: never the same.
        follower.widget = livechat_widget::core::Widget::new(7, vec!["en-US".into()]);
        follower.widget.handle_role(Role::Follower, follower.now);
        follower.call_ok("init", Some(json!(WIDGET)));
        assert_eq!(follower.claims, vec![WIDGET.to_string()], "the follower queues for the lock");
        Tabs { leader, follower }
    }

    /// The follower's last write reaches the leader (a `storage` event).
    fn to_leader(&mut self) {
        let stored = self.follower.stored();
        self.leader.store = self.follower.store.clone();
        self.leader.widget.handle_storage_changed(stored, self.leader.now);
        self.leader.settle();
    }

    /// The leader's last write reaches the follower.
    fn to_follower(&mut self) {
        let stored = self.leader.stored();
        self.follower.store = self.leader.store.clone();
        self.follower.widget.handle_storage_changed(stored, self.follower.now);
        self.follower.settle();
    }
}

#[test]
fn a_follower_tab_opens_no_socket() {
    let t = Tabs::new();
    assert_eq!(t.follower.opens, 0);
    assert!(!t.follower.socket_open);
}

#[test]
fn a_follower_shows_what_the_leader_receives() {
    let mut t = Tabs::new();
    t.leader.call_ok("send", Some(json!({"type": "BASIC", "message": "from the leader"})));
    t.leader.server.agent_reply("agent answer", t.leader.now);
    t.leader.settle();
    t.to_follower();
    assert_eq!(t.follower.texts(), vec!["from the leader", "agent answer"]);
    assert_eq!(t.follower.widget.last_seq(), t.leader.widget.last_seq(), "the sequence comes along");
    // A second copy of the same write changes nothing.
    t.to_follower();
    assert_eq!(t.follower.texts(), vec!["from the leader", "agent answer"]);
}

#[test]
fn a_follower_send_goes_out_once_through_the_leader_and_its_callback_is_answered() {
    let mut t = Tabs::new();
    let call = t.follower.call("send", Some(json!({"type": "BASIC", "message": "typed in tab B"})));
    assert!(t.follower.reply(call).is_none(), "waiting for the leader");
    assert_eq!(t.follower.widget.outbox().len(), 1, "queued in the shared outbox");

    t.to_leader();
    let sends = |h: &Harness| h.server.received.iter().filter(|f| matches!(f, ClientFrame::Send { .. })).count();
    assert_eq!(sends(&t.leader), 1, "the leader sends it at once (no grace period: it owns the only socket)");
    assert_eq!(t.leader.server.stored_messages(), 1);

    t.to_follower();
    let answers: Vec<_> = t.follower.replies.iter().filter(|(c, _)| *c == call).collect();
    assert_eq!(answers.len(), 1, "exactly one callback");
    match &answers[0].1 {
        Ok(Reply::Sent(r)) => assert_eq!(r.thread_id, t.leader.widget.conversations().threads()[0].id),
        other => panic!("expected a sent result, got {other:?}"),
    }
    assert!(t.follower.widget.outbox().is_empty());
    assert_eq!(t.follower.texts(), vec!["typed in tab B"]);

    // The follower's next write still holds nothing for the leader to send again.
    t.follower.call_ok("show", None);
    t.to_leader();
    assert_eq!(sends(&t.leader), 1);
}

#[test]
fn a_message_the_server_refuses_fails_in_the_follower_too() {
    let mut t = Tabs::new();
    t.leader.server.refuse_sends = Some(livechat_protocol::error_code::INVALID_MESSAGE);
    let call = t.follower.call("send", Some(json!({"type": "BASIC", "message": "refused"})));
    t.to_leader();
    t.to_follower();
    let answers: Vec<_> = t.follower.replies.iter().filter(|(c, _)| *c == call).collect();
    assert_eq!(answers.len(), 1, "exactly one callback");
    assert!(answers[0].1.is_err(), "the refusal reaches the page that sent it");
    assert!(matches!(t.follower.widget.outbox()[0].status, Delivery::Failed { .. }), "shown as failed, with retry");
}

#[test]
fn when_the_leader_closes_a_follower_takes_over_and_resumes() {
    let mut t = Tabs::new();
    t.leader.call_ok("send", Some(json!({"type": "BASIC", "message": "before"})));
    t.to_follower();
    let seq = t.follower.widget.last_seq();
    assert!(seq > 0);

    // The leader's tab closes (the browser releases its lock); meanwhile the follower
    // queued a message and the agent answered.
    let server = std::mem::take(&mut t.leader.server);
    t.follower.server = server;
    t.follower.server.agent_reply("while nobody listened", t.follower.now);
    let call = t.follower.call("send", Some(json!({"type": "BASIC", "message": "queued in B"})));
    t.follower.widget.handle_role(Role::Leader, t.follower.now);
    t.follower.settle();

    assert!(t.follower.socket_open, "the new leader connects");
    let resumed = t.follower.server.received.iter().rev().find_map(|f| match f {
        ClientFrame::Hello { last_seq, .. } => Some(*last_seq),
        _ => None,
    });
    assert_eq!(resumed, Some(seq), "resumes after what the old leader stored");
    assert!(matches!(t.follower.reply(call), Some(Ok(Reply::Sent(_)))));
    assert_eq!(t.follower.texts(), vec!["before", "while nobody listened", "queued in B"]);
    assert_eq!(t.follower.server.stored_messages(), 2, "each visitor message stored once");
}

#[test]
fn a_follower_opens_a_socket_for_auth_and_closes_it_after() {
    let mut t = Tabs::new();
    t.follower.server = FakeServer::new();
    let call = t.follower.call("auth", Some(json!(jwt_like())));
    assert_eq!(t.follower.opens, 1, "auth needs the server's answer");
    assert!(matches!(t.follower.reply(call), Some(Ok(Reply::Auth(_)))));
    assert!(!t.follower.socket_open, "closed once answered");
    assert!(t.follower.widget.customer().is_some());
}

fn jwt_like() -> String {
    // The fake server accepts any JWT-shaped token; the real one verifies it.
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln".to_string()
}

#[test]
fn a_follower_opens_a_socket_for_an_older_page_and_closes_it_after() {
    let mut t = Tabs::new();
    t.leader.call_ok("send", Some(json!({"type": "BASIC", "message": "m0"})));
    for i in 1..=120 {
        t.leader.server.agent_reply(&format!("m{i}"), t.leader.now + i);
    }
    t.leader.settle();
    t.to_follower();
    assert_eq!(t.follower.texts().len(), 100, "what the leader stored");
    // The same server behind the follower's socket.
    t.follower.server.threads = t.leader.server.threads.clone();
    t.follower.server.events = t.leader.server.events.clone();
    t.follower.server.session = t.leader.server.session.clone();
    t.follower.ui(livechat_widget::core::UiAction::LoadOlder);
    assert_eq!(t.follower.opens, 1, "history needs the server");
    assert!(t.follower.server.received.iter().any(|f| matches!(f, ClientFrame::History { .. })));
    let all: Vec<String> = (0..=120).map(|i| format!("m{i}")).collect();
    assert_eq!(t.follower.texts(), all, "the older page arrived");
    assert!(!t.follower.socket_open, "closed once answered");
    assert_eq!(t.leader.server.received.iter().filter(|f| matches!(f, ClientFrame::History { .. })).count(), 0);
}

#[test]
fn a_follower_asks_nothing_for_a_conversation_the_leader_holds_from_its_start() {
    let mut t = Tabs::new();
    t.leader.call_ok("send", Some(json!({"type": "BASIC", "message": "m0"})));
    t.leader.server.agent_reply("m1", t.leader.now);
    t.leader.settle();
    t.to_follower();
    assert_eq!(t.follower.texts(), vec!["m0", "m1"]);
    t.follower.ui(livechat_widget::core::UiAction::LoadOlder);
    assert_eq!(t.follower.opens, 0, "the leader's write says the thread starts there: no socket");
    assert!(t.follower.server.received.is_empty());
}

/// A customer on both tabs (authenticated through the leader), then the server becomes
/// unreachable: the leader's socket is lost. Returns the session token.
fn customer_then_offline(t: &mut Tabs) -> String {
    t.leader.call_ok("auth", Some(json!(jwt_like())));
    let token = t.leader.widget.snapshot().session.expect("a customer session");
    t.to_follower();
    assert!(t.follower.widget.customer().is_some());
    t.leader.server.up = false;
    t.leader.drop_connection();
    t.follower.server.up = false;
    token
}

#[test]
fn a_follower_logs_out_offline_at_once_like_the_leader() {
    let mut t = Tabs::new();
    let token = customer_then_offline(&mut t);

    let call = t.follower.call("logout", None);
    match t.follower.reply(call) {
        Some(Ok(Reply::Reset(r))) => assert!(r.logged_out, "{r:?}"),
        other => panic!("answered at once, as the leader does offline: {other:?}"),
    }
    assert!(!t.follower.socket_open && t.follower.widget.customer().is_none());
    let stored = t.follower.stored().unwrap();
    assert_eq!(stored.ended_sessions, vec![token.clone()], "kept for the next hello");
    assert!(stored.session.is_none());
    t.follower.advance(60_000);
    assert_eq!(t.follower.opens, 1, "no socket kept trying for it");

    // The leader takes the removal, then the write (two `storage` events), and ends the
    // session first thing when the server is back.
    t.leader.widget.handle_storage_changed(None, t.leader.now);
    t.to_leader();
    assert!(t.leader.widget.customer().is_none());
    t.leader.server.up = true;
    t.leader.advance(60_000);
    assert!(t.leader.widget.connected());
    assert_eq!(t.leader.server.ended_sessions, vec![token]);
    assert!(t.leader.stored().unwrap().ended_sessions.is_empty());
}

#[test]
fn a_session_a_follower_ended_offline_is_ended_by_a_leader_already_reconnecting() {
    let mut t = Tabs::new();
    let token = customer_then_offline(&mut t);
    t.follower.call_ok("logout", None);
    // The server is back for the leader. The removal reaches it first: it starts over as a
    // new visitor and its hello goes out; the write naming the session comes before the
    // welcome does.
    t.leader.server.up = true;
    t.leader.widget.handle_storage_changed(None, t.leader.now);
    t.leader.run_effects();
    assert!(t.leader.socket_open);
    let stored = t.follower.stored();
    t.leader.widget.handle_storage_changed(stored, t.leader.now);
    t.leader.settle();
    t.leader.advance(60_000);
    assert!(t.leader.widget.connected());
    assert_eq!(t.leader.server.ended_sessions, vec![token], "named in a hello before it is forgotten");
    assert!(t.leader.stored().unwrap().ended_sessions.is_empty());
}

#[test]
fn a_follower_whose_browser_is_offline_logs_out_without_a_socket() {
    let mut t = Tabs::new();
    let token = customer_then_offline(&mut t);
    t.follower.widget.handle_network(false); // navigator.onLine, told before each command
    let Reply::Reset(r) = t.follower.call_ok("logout", None) else { panic!("a reset result") };
    assert!(r.logged_out);
    assert_eq!(t.follower.opens, 0, "no socket for it");
    assert_eq!(t.follower.stored().unwrap().ended_sessions, vec![token]);
    // Online (as far as the browser knows) but the server unreachable: one try, then the same.
    let mut t = Tabs::new();
    customer_then_offline(&mut t);
    t.follower.widget.handle_network(true);
    t.follower.call_ok("logout", None);
    assert_eq!(t.follower.opens, 1);
}

#[test]
fn a_follower_online_logs_out_through_the_server() {
    let mut t = Tabs::new();
    t.leader.call_ok("auth", Some(json!(jwt_like())));
    t.to_follower();
    // The same server behind the follower's socket.
    t.follower.server = std::mem::take(&mut t.leader.server);
    let Reply::Reset(r) = t.follower.call_ok("logout", None) else { panic!("a reset result") };
    assert!(r.logged_out);
    assert_eq!(t.follower.opens, 1, "a socket for it");
    assert!(t.follower.server.received.iter().any(|f| matches!(f, ClientFrame::Logout { .. })));
    assert!(!t.follower.socket_open, "closed once answered");
    assert!(t.follower.stored().map_or(true, |s| s.ended_sessions.is_empty()), "nothing left to end");
}
