//! `logout` / `clear(widgetId)` while offline (issue 12 §4): the session is over for the
//! visitor at once (`loggedOut: true`) and for the server on the next connection, whose
//! `hello` names it in `end_sessions` before anything else (kept in storage until then, so a
//! reload does not lose it; another tab that connects first names it too).
#![cfg(not(target_arch = "wasm32"))]
mod common;

use common::{FakeServer, Harness, WIDGET};
use livechat_protocol::ClientFrame;
use livechat_widget::core::{Reply, Role, Widget};
use serde_json::json;

/// The `hello` frames the server received, as (session, end_sessions).
fn hellos(h: &Harness) -> Vec<(Option<String>, Vec<String>)> {
    h.server
        .received
        .iter()
        .filter_map(|f| match f {
            ClientFrame::Hello { session, end_sessions, .. } => Some((session.clone(), end_sessions.clone())),
            _ => None,
        })
        .collect()
}

/// A customer whose connection is then lost (the server unreachable); returns the token.
fn customer_offline(h: &mut Harness) -> String {
    h.call_ok("auth", Some(json!("eyJh.eyJz.c2ln")));
    let token = h.widget.snapshot().session.expect("an authenticated session");
    h.server.up = false;
    h.drop_connection();
    token
}

#[test]
fn logout_offline_ends_the_session_on_the_next_connection_even_after_a_reload() {
    let mut h = Harness::ready();
    let token = customer_offline(&mut h);

    let Reply::Reset(r) = h.call_ok("logout", None) else { panic!("a reset result") };
    assert!(r.logged_out, "the session is ended for this visitor now");
    assert!(h.widget.customer().is_none());
    let stored = h.stored().expect("the ended session is stored");
    assert_eq!(stored.ended_sessions, vec![token.clone()]);
    assert!(stored.session.is_none() && stored.customer.is_none() && stored.threads.is_empty());

    // A reload while still offline keeps it.
    h.reload();
    assert_eq!(h.stored().unwrap().ended_sessions, vec![token.clone()]);
    let before = h.server.received.len();
    h.server.up = true;
    h.advance(60_000);
    assert!(h.widget.connected());
    // The first frame of the new connection ends the old session, as a fresh visitor.
    let first = &h.server.received[before];
    assert!(
        matches!(first, ClientFrame::Hello { session: None, end_sessions, .. } if *end_sessions == vec![token.clone()]),
        "{first:?}"
    );
    assert_eq!(h.server.ended_sessions, vec![token.clone()]);
    // Welcomed: the server has ended it; nothing is kept any more nor named again.
    assert!(h.stored().unwrap().ended_sessions.is_empty());
    h.drop_connection();
    h.advance(60_000);
    assert!(hellos(&h).last().unwrap().1.is_empty(), "named once");
    assert_ne!(h.widget.snapshot().session.as_deref(), Some(token.as_str()));
}

#[test]
fn clear_with_the_widget_id_offline_logs_out_the_same_way() {
    let mut h = Harness::ready();
    let token = customer_offline(&mut h);
    let Reply::Reset(r) = h.call_ok("clear", Some(json!(WIDGET))) else { panic!() };
    assert!(r.logged_out);
    assert_eq!(h.stored().unwrap().ended_sessions, vec![token.clone()]);
    h.server.up = true;
    h.advance(60_000);
    assert_eq!(h.server.ended_sessions, vec![token]);
    // An anonymous visitor's clear ends nothing (there is no login to end).
    let Reply::Reset(r) = h.call_ok("clear", Some(json!(WIDGET))) else { panic!() };
    assert!(!r.logged_out);
    assert!(h.stored().map_or(true, |s| s.ended_sessions.is_empty()));
    // Nor does clear without the id (the spec logs out only with it).
    h.call_ok("auth", Some(json!("eyJh.eyJz.c2ln")));
    let Reply::Reset(r) = h.call_ok("clear", None) else { panic!() };
    assert!(!r.logged_out);
}

#[test]
fn clear_online_also_names_the_session_in_the_next_hello() {
    // The logout frame clear sends may be lost with the socket it closes.
    let mut h = Harness::ready();
    h.call_ok("auth", Some(json!("eyJh.eyJz.c2ln")));
    let token = h.widget.snapshot().session.unwrap();
    let Reply::Reset(r) = h.call_ok("clear", Some(json!(WIDGET))) else { panic!() };
    assert!(r.logged_out);
    h.advance(1_000);
    assert!(h.widget.connected());
    assert_eq!(hellos(&h).last().unwrap(), &(None, vec![token.clone()]));
    assert_eq!(h.server.ended_sessions, vec![token]);
    assert!(h.stored().unwrap().ended_sessions.is_empty());
}

#[test]
fn logout_online_waits_for_the_server_and_names_nothing() {
    let mut h = Harness::ready();
    h.call_ok("auth", Some(json!("eyJh.eyJz.c2ln")));
    let Reply::Reset(r) = h.call_ok("logout", None) else { panic!() };
    assert!(r.logged_out);
    h.advance(1_000);
    assert!(hellos(&h).iter().all(|(_, ended)| ended.is_empty()));
    assert!(h.stored().map_or(true, |s| s.ended_sessions.is_empty()));
}

#[test]
fn another_tab_that_connects_first_names_the_ended_session() {
    // Two tabs without a shared lock (each its own socket, `Role::Solo`): tab A logs out
    // offline and is closed; tab B, which adopted A's write, ends the session when it connects.
    let mut a = Harness::ready();
    let token = customer_offline(&mut a);
    let mut b = Harness::with(a.store.clone(), FakeServer::new());
    b.server.up = false;
    b.widget = Widget::new(7, vec!["en-US".into()]);
    b.widget.handle_role(Role::Solo, b.now);
    b.call_ok("init", Some(json!(WIDGET)));
    assert_eq!(b.widget.snapshot().session.as_deref(), Some(token.as_str()));
    a.call_ok("logout", None);
    // A's clear, then its write, reach B.
    b.widget.handle_storage_changed(None, b.now);
    b.widget.handle_storage_changed(a.stored(), b.now);
    b.store = a.store.clone();
    b.settle();
    assert_eq!(b.stored().unwrap().ended_sessions, vec![token.clone()]);
    b.server.up = true;
    b.advance(60_000);
    assert!(b.widget.connected());
    assert_eq!(b.server.ended_sessions, vec![token]);
    assert!(b.widget.customer().is_none());
}

#[test]
fn a_logout_whose_socket_is_lost_before_the_answer_ends_the_session_the_offline_way() {
    let mut h = Harness::ready();
    h.call_ok("auth", Some(json!("eyJh.eyJz.c2ln")));
    let token = h.widget.snapshot().session.unwrap();
    // The logout goes out, its answer is lost with the socket, the server is unreachable.
    h.lose_server_frames = true;
    let call = h.call("logout", None);
    assert!(h.reply(call).is_none(), "online: waits for the server's answer");
    h.lose_server_frames = false;
    h.server.up = false;
    h.drop_connection();
    let Some(Ok(Reply::Reset(r))) = h.reply(call) else { panic!("answered when the socket went: {:?}", h.reply(call)) };
    assert!(r.logged_out);
    assert_eq!(h.stored().unwrap().ended_sessions, vec![token.clone()]);
    h.server.up = true;
    h.advance(60_000);
    assert!(h.widget.connected());
    assert_eq!(hellos(&h).last().unwrap(), &(None, vec![token]), "named in the next hello");
    assert_eq!(h.replies.iter().filter(|(c, _)| *c == call).count(), 1, "answered once");
}
