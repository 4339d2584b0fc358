//! Older history: the view shows the newest messages of a conversation; reaching the top
//! shows more of what the widget holds, then asks the server for the page before the oldest
//! message held, until the first message.
#![cfg(not(target_arch = "wasm32"))]
mod common;

use common::Harness;
use livechat_protocol::{ClientFrame, ServerFrame};
use livechat_widget::core::history::SHOWN;
use livechat_widget::core::UiAction;
use serde_json::json;

/// The visitor's `m0` and `replies` agent replies `m1…`, all received live.
fn conversation(replies: usize) -> (Harness, Vec<String>) {
    let mut h = Harness::ready();
    h.call_ok("send", Some(json!({"type": "BASIC", "message": "m0"})));
    for i in 1..=replies {
        h.server.agent_reply(&format!("m{i}"), h.now + i as u64);
    }
    h.settle();
    (h, (0..=replies).map(|i| format!("m{i}")).collect())
}

/// The same after a reload: the widget has the newest 100 from storage and resumes.
fn reloaded(replies: usize) -> (Harness, Vec<String>) {
    let (mut h, all) = conversation(replies);
    h.reload();
    h.advance(1_000);
    assert!(h.widget.connected());
    assert_eq!(h.texts(), all[all.len() - 100..], "the newest 100 after the reload");
    (h, all)
}

fn history_requests(h: &Harness) -> Vec<(String, Option<String>, u32)> {
    h.server
        .received
        .iter()
        .filter_map(|f| match f {
            ClientFrame::History { req, before, limit, .. } => Some((req.clone(), before.clone(), *limit)),
            _ => None,
        })
        .collect()
}

fn id_of(h: &Harness, text: &str) -> String {
    let thread = h.widget.current_thread().unwrap();
    let t = h.widget.conversations().get(thread).unwrap();
    t.messages.iter().find(|m| m.text.as_deref() == Some(text)).unwrap().id.clone()
}

#[test]
fn held_messages_are_shown_first_then_the_server_says_nothing_is_older() {
    let (mut h, all) = conversation(259);
    // Known from a sync (which does not say where the thread starts), not seen opening.
    h.call_ok("auth", Some(json!("eyJh.eyJz.c2ln")));
    assert_eq!(h.shown_texts(), all[all.len() - SHOWN..], "the newest 200 of 260");
    let renders = h.renders;
    h.ui(UiAction::LoadOlder);
    assert_eq!(h.shown_texts(), all[10..], "50 more of what is held: no request");
    assert!(h.renders > renders);
    h.ui(UiAction::LoadOlder);
    assert_eq!(h.shown_texts(), all, "the rest held");
    assert!(history_requests(&h).is_empty());
    h.ui(UiAction::LoadOlder);
    let asked = history_requests(&h);
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].1, Some(id_of(&h, "m0")), "the page before the oldest held");
    let thread = h.widget.current_thread().unwrap().to_string();
    assert!(h.widget.history().exhausted(&thread), "m0 is the first message");
    let renders = h.renders;
    h.ui(UiAction::LoadOlder);
    assert_eq!(history_requests(&h).len(), 1, "nothing older: no request");
    assert_eq!(h.renders, renders, "nothing changed: no render");
    assert_eq!(h.texts(), all, "nothing twice");
}

#[test]
fn scrolling_to_the_top_pages_back_to_the_first_message_in_order() {
    let (mut h, all) = reloaded(259);
    assert_eq!(h.shown_texts(), all[160..]);
    let thread = h.widget.current_thread().unwrap().to_string();
    let mut befores = Vec::new();
    for end in [110, 60, 10, 0] {
        let oldest = h.widget.conversations().get(&thread).unwrap().messages[0].id.clone();
        h.ui(UiAction::LoadOlder);
        let asked = history_requests(&h);
        let (_, before, limit) = asked.last().unwrap().clone();
        assert_eq!((before.as_deref(), limit), (Some(oldest.as_str()), 50), "the page before the oldest held");
        befores.push(before);
        assert_eq!(h.texts(), all[end..], "older messages on top, in order, none twice");
        assert_eq!(h.shown_texts(), all[end..], "and shown");
        assert!(!h.widget.history().loading(&thread));
    }
    assert!(h.widget.history().exhausted(&thread));
    h.ui(UiAction::LoadOlder);
    assert_eq!(history_requests(&h).len(), 4, "nothing after the first message");
    befores.dedup();
    assert_eq!(befores.len(), 4, "never the same page twice");

    // Live messages still arrive below; storage keeps the newest 100, not the pages.
    h.server.agent_reply("newest", h.now);
    h.settle();
    assert_eq!(h.texts().last().map(String::as_str), Some("newest"));
    assert_eq!(h.texts().len(), 261);
    assert_eq!(h.stored().unwrap().threads[0].messages.len(), 100);
}

#[test]
fn one_request_in_flight_asked_again_on_a_new_socket_and_none_offline_until_then() {
    let (mut h, all) = reloaded(199);
    let thread = h.widget.current_thread().unwrap().to_string();
    h.server.up = false;
    h.drop_connection();
    h.ui(UiAction::LoadOlder);
    assert!(history_requests(&h).is_empty(), "offline: nothing sent");
    assert!(h.widget.history().loading(&thread), "but asked for");
    h.server.up = true;
    h.advance(60_000);
    assert!(h.widget.connected());
    assert_eq!(history_requests(&h).len(), 1, "sent once welcomed");
    assert_eq!(h.texts(), all[50..], "the page arrived");

    // An answer lost with its socket: asked again on the next one, with a new id.
    h.lose_server_frames = true;
    h.ui(UiAction::LoadOlder);
    h.lose_server_frames = false;
    assert!(h.widget.history().loading(&thread));
    h.ui(UiAction::LoadOlder);
    assert_eq!(history_requests(&h).len(), 2, "one page in flight at a time");
    h.drop_connection();
    h.advance(60_000);
    let asked = history_requests(&h);
    assert_eq!(asked.len(), 3, "asked again on the new socket");
    assert_eq!(asked[1].1, asked[2].1, "the same page");
    assert_ne!(asked[1].0, asked[2].0, "a new request id");
    assert_eq!(h.texts(), all, "the first message reached, nothing twice");
    assert!(h.widget.history().exhausted(&thread));
}

#[test]
fn pages_are_merged_by_id_and_stale_or_refused_answers_change_nothing() {
    let (mut h, all) = reloaded(150);
    let thread = h.widget.current_thread().unwrap().to_string();
    let before = h.server.threads[0].messages.clone();
    // Hold the answer: the request is sent, the page is delivered by hand below.
    h.lose_server_frames = true;
    h.ui(UiAction::LoadOlder);
    h.lose_server_frames = false;
    let (req, _, _) = history_requests(&h).pop().unwrap();
    // A page that overlaps what is held (the server's newer messages) adds only the new ones.
    let page = before[10..60].to_vec();
    h.widget.handle_frame(ServerFrame::HistoryPage { req: req.clone(), thread_id: thread.clone(), messages: page.clone(), more: true }, h.now);
    h.settle();
    assert_eq!(h.texts(), all[10..], "in order, none twice");
    assert_eq!(h.shown_texts(), all[10..]);
    // The same answer again (nobody waits for it) changes nothing.
    h.widget.handle_frame(ServerFrame::HistoryPage { req, thread_id: thread.clone(), messages: before[..10].to_vec(), more: false }, h.now);
    h.settle();
    assert_eq!(h.texts(), all[10..]);
    assert!(!h.widget.history().exhausted(&thread));

    // A refusal ends the request; `unknown_thread` ends paging for the thread.
    h.server.threads[0].id = "gone".into();
    h.ui(UiAction::LoadOlder);
    assert!(!h.widget.history().loading(&thread));
    assert!(h.widget.history().exhausted(&thread));
    h.ui(UiAction::LoadOlder);
    assert_eq!(history_requests(&h).len(), 2, "not asked again");
}

#[test]
fn a_sync_starts_over_and_drops_an_answer_asked_before_it() {
    let (mut h, all) = reloaded(150);
    h.ui(UiAction::LoadOlder);
    assert_eq!(h.texts(), all[1..]);
    h.lose_server_frames = true;
    h.ui(UiAction::LoadOlder);
    h.lose_server_frames = false;
    let (req, _, _) = history_requests(&h).pop().unwrap();
    let threads = vec![livechat_protocol::Thread { messages: h.server.threads[0].messages[140..].to_vec(), ..h.server.threads[0].clone() }];
    h.widget.handle_frame(ServerFrame::Sync { last_seq: h.server.events.len() as u64, threads, pending_metadata: None }, h.now);
    let thread = h.widget.current_thread().unwrap().to_string();
    assert!(!h.widget.history().loading(&thread), "started over");
    h.widget.handle_frame(ServerFrame::HistoryPage { req, thread_id: thread, messages: h.server.threads[0].messages[..1].to_vec(), more: false }, h.now);
    h.settle();
    assert_eq!(h.texts(), all[140..], "the late page was dropped");
}

#[test]
fn an_expired_customer_session_asks_only_after_the_fresh_auth() {
    let (mut h, _) = conversation(3);
    h.call_ok("auth", Some(json!("eyJh.eyJz.c2ln")));
    h.server.reauth = true;
    h.call("send", Some(json!({"type": "BASIC", "message": "waits"})));
    let thread = h.widget.current_thread().unwrap().to_string();
    h.ui(UiAction::LoadOlder);
    assert!(history_requests(&h).is_empty(), "the server would refuse it");
    assert!(h.widget.history().loading(&thread));
    h.call_ok("auth", Some(json!("eyJh.eyJz.c2ln")));
    assert_eq!(history_requests(&h).len(), 1, "sent once the fresh auth is answered");
}

#[test]
fn a_conversation_that_fits_asks_nothing_once_its_first_message_is_known_even_after_reloads() {
    // Opened live: the widget saw the thread start, so it holds every message of it.
    let (mut h, all) = conversation(3);
    let thread = h.widget.current_thread().unwrap().to_string();
    h.ui(UiAction::LoadOlder); // the view's observer: the top is in sight at once
    assert!(history_requests(&h).is_empty(), "the thread was opened live: nothing is older");
    assert!(h.widget.history().exhausted(&thread));
    for _ in 0..2 {
        h.reload();
        h.advance(1_000);
        assert!(h.widget.connected());
        h.ui(UiAction::LoadOlder);
        assert!(history_requests(&h).is_empty(), "known from storage after a reload");
        assert_eq!(h.texts(), all);
    }

    // Known from a sync only (here: after `auth`): asked once, then never again.
    h.call_ok("auth", Some(json!("eyJh.eyJz.c2ln")));
    h.ui(UiAction::LoadOlder);
    assert_eq!(history_requests(&h).len(), 1, "a sync does not say where the thread starts");
    assert!(h.widget.history().exhausted(&thread));
    h.reload();
    h.advance(1_000);
    h.ui(UiAction::LoadOlder);
    assert_eq!(history_requests(&h).len(), 1, "the answer was kept");
    assert_eq!(h.texts(), all);
}

#[test]
fn a_thread_longer_than_what_storage_keeps_is_asked_for_after_a_reload() {
    // 101 messages, all seen live: complete in memory, but storage keeps the newest 100.
    let (mut h, all) = conversation(100);
    let thread = h.widget.current_thread().unwrap().to_string();
    h.ui(UiAction::LoadOlder);
    assert!(history_requests(&h).is_empty());
    h.reload();
    h.advance(1_000);
    assert!(!h.widget.history().exhausted(&thread));
    h.ui(UiAction::LoadOlder);
    assert_eq!(history_requests(&h).len(), 1, "the oldest message is not held any more");
    assert_eq!(h.texts(), all);
}

#[test]
fn a_thread_opened_with_only_its_newest_messages_is_not_taken_as_complete() {
    // The server announces the threads that move to a customer at `auth` with their newest
    // messages only (`sync_messages_per_thread`): older ones may exist. A thread opened
    // empty (a new conversation) is complete; this one is not.
    let (mut h, _) = conversation(3);
    let first = h.widget.current_thread().unwrap().to_string();
    assert!(h.widget.history().exhausted(&first), "opened empty and seen live");
    let mut moved = h.server.threads[0].clone();
    moved.id = "thr-moved".into();
    moved.messages = moved.messages[2..]
        .iter()
        .cloned()
        .map(|mut m| {
            m.id = format!("{}-moved", m.id);
            m.thread_id = "thr-moved".into();
            m
        })
        .collect();
    h.server.emit(livechat_protocol::Event::ThreadOpened { thread: moved });
    h.settle();
    assert!(h.widget.conversations().threads().iter().any(|t| t.id == "thr-moved"));
    assert!(!h.widget.history().exhausted("thr-moved"), "its older messages are still to be asked for");
}
