//! Backoff with jitter and a cap, heartbeats, immediate retry on wake.
#![cfg(not(target_arch = "wasm32"))]
mod common;

use common::{FakeServer, Harness, MemoryStore, WIDGET};
use livechat_protocol::ClientFrame;
use livechat_widget::core::connection::{BACKOFF_CAP_MS, HEARTBEAT_INTERVAL_MS, HEARTBEAT_TIMEOUT_MS};
use serde_json::json;

#[test]
fn backoff_grows_with_jitter_and_stays_under_the_cap() {
    let mut h = Harness::ready();
    h.server.up = false;
    h.drop_connection();
    h.advance(10 * 60_000);
    let gaps: Vec<u64> = h.open_times.windows(2).skip(1).map(|w| w[1] - w[0]).collect();
    assert!(gaps.len() > 10, "kept retrying: {gaps:?}");
    assert!(gaps.iter().all(|g| *g <= BACKOFF_CAP_MS), "capped: {gaps:?}");
    assert!(gaps.iter().all(|g| *g >= 250), "never a tight loop: {gaps:?}");
    assert!(gaps[5] > gaps[0], "grows: {gaps:?}");
    h.server.up = true;
    h.advance(BACKOFF_CAP_MS);
    assert!(h.widget.connected(), "recovers");
}

#[test]
fn many_clients_spread_their_reconnects() {
    let mut first_retry = Vec::new();
    for seed in 0..200u64 {
        let mut h = Harness::with(MemoryStore::default(), FakeServer::new());
        h.widget = livechat_widget::core::Widget::new(seed.wrapping_mul(0x9E37_79B9), vec![]);
        h.call_ok("init", Some(json!(WIDGET)));
        h.server.up = false;
        h.drop_connection();
        let before = h.open_times.len();
        h.advance(BACKOFF_CAP_MS);
        first_retry.push(h.open_times[before] - common::T0);
    }
    first_retry.sort_unstable();
    let spread = first_retry.last().unwrap() - first_retry.first().unwrap();
    assert!(spread >= 150, "jitter spreads the first retry: {spread} ms");
}

#[test]
fn a_silent_socket_is_detected_by_the_heartbeat_and_replaced() {
    let mut h = Harness::ready();
    h.server.silent = true;
    let opens = h.opens;
    h.advance(HEARTBEAT_INTERVAL_MS + HEARTBEAT_TIMEOUT_MS + 1);
    assert!(h.server.received.iter().any(|f| matches!(f, ClientFrame::Ping { .. })));
    h.server.silent = false;
    h.advance(BACKOFF_CAP_MS);
    assert!(h.opens > opens, "a new socket was opened");
    assert!(h.widget.connected());
}

#[test]
fn waking_up_retries_at_once() {
    let mut h = Harness::ready();
    h.server.up = false;
    h.drop_connection();
    h.advance(20_000);
    h.server.up = true;
    h.widget.handle_wake(h.now);
    h.settle();
    assert!(h.widget.connected());
}

#[test]
fn pagehide_closes_the_socket_and_pageshow_reopens_it() {
    let mut h = Harness::ready();
    let opens = h.opens;
    h.widget.handle_suspend(h.now);
    h.settle();
    assert!(!h.widget.connected());
    assert!(!h.socket_open, "the socket was closed");
    h.advance(1_000);
    assert_eq!(h.opens, opens, "no reconnect while hidden");
    h.widget.handle_wake(h.now);
    h.settle();
    assert!(h.widget.connected());
    assert_eq!(h.opens, opens + 1);
}

#[test]
fn waking_up_with_an_open_socket_checks_it_at_once() {
    let mut h = Harness::ready();
    h.server.silent = true; // died while the tab was hidden: no close event, no pong
    h.advance(1_000);
    let pings = |h: &Harness| h.server.received.iter().filter(|f| matches!(f, ClientFrame::Ping { .. })).count();
    assert_eq!(pings(&h), 0);
    h.widget.handle_wake(h.now);
    h.settle();
    assert_eq!(pings(&h), 1, "a ping goes out on wake, not at the next heartbeat");
    let opens = h.opens;
    h.server.silent = false;
    h.advance(HEARTBEAT_TIMEOUT_MS + BACKOFF_CAP_MS);
    assert!(h.opens > opens, "the dead socket was replaced within the timeout, not after a full interval");
    assert!(h.widget.connected());
}

#[test]
fn a_heartbeat_timer_that_fires_late_in_a_throttled_tab_still_detects_a_dead_socket() {
    // Hidden tabs run timers late (Chrome aligns them to 1 min after 5 min hidden). The
    // deadlines are wall-clock times, so each late wake-up does the work that is due.
    let mut h = Harness::ready();
    h.server.silent = true;
    let opens = h.opens;
    let mut now = h.now;
    for _ in 0..3 {
        now += 60_000; // one throttled wake-up a minute
        h.now = now;
        h.widget.handle_timeout(now);
        h.settle();
    }
    assert!(h.server.received.iter().any(|f| matches!(f, ClientFrame::Ping { .. })));
    assert!(h.opens > opens, "detected on the second throttled wake-up and reconnected");
}

#[test]
fn an_auth_in_flight_when_the_socket_is_restarted_goes_out_again() {
    // A gap in the events restarts the socket (no close event of the old one reaches the
    // core): an `auth` sent on it and not answered is sent on the new one.
    let mut h = Harness::ready();
    h.call_ok("send", Some(json!({"type": "BASIC", "message": "hi"})));
    h.lose_server_frames = true;
    let call = h.call("auth", Some(json!("eyJh.eyJz.c2ln")));
    h.lose_server_frames = false;
    let seq = h.widget.last_seq();
    h.widget.handle_frame(
        livechat_protocol::ServerFrame::Event { seq: seq + 5, event: livechat_protocol::Event::Availability { online: true } },
        h.now,
    );
    h.settle();
    let auths = h.server.received.iter().filter(|f| matches!(f, ClientFrame::Auth { .. })).count();
    assert_eq!(auths, 2, "sent again on the new socket");
    assert!(matches!(h.reply(call), Some(Ok(livechat_widget::core::Reply::Auth(_)))));
}
