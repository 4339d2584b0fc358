//! Multi-thread widgets: a new conversation starts a thread; an older one can be reopened.
#![cfg(not(target_arch = "wasm32"))]
mod common;

use common::{config, ConfigAnswer, FakeServer, Harness, MemoryStore, WIDGET};
use livechat_widget::core::{Reply, UiAction};
use serde_json::json;

fn multi() -> Harness {
    let mut server = FakeServer::new();
    server.multi_thread = true;
    let mut h = Harness::with(MemoryStore::default(), server);
    let mut c = config(WIDGET);
    c.multi_thread = true;
    h.config = ConfigAnswer::Ok(c);
    h.call_ok("init", Some(json!(WIDGET)));
    h
}

fn type_and_send(h: &mut Harness, text: &str) {
    h.ui(UiAction::Draft(text.into()));
    h.ui(UiAction::Submit);
}

#[test]
fn a_new_conversation_starts_a_thread_and_older_ones_can_be_reopened() {
    let mut h = multi();
    type_and_send(&mut h, "about shoes");
    let first = h.widget.current_thread().unwrap().to_string();

    h.ui(UiAction::SelectThread(None));
    assert_eq!(h.widget.current_thread(), None, "composing a new conversation");
    type_and_send(&mut h, "about my invoice");
    let second = h.widget.current_thread().unwrap().to_string();
    assert_ne!(first, second, "a second thread was created");
    assert_eq!(h.widget.conversations().threads().len(), 2);

    h.ui(UiAction::ShowThreadList);
    assert!(h.widget.ui().thread_list);
    h.ui(UiAction::SelectThread(Some(first.clone())));
    assert!(!h.widget.ui().thread_list);
    type_and_send(&mut h, "shoes again");
    let texts: Vec<_> = h.widget.conversations().get(&first).unwrap().messages.iter().filter_map(|m| m.text.clone()).collect();
    assert_eq!(texts, vec!["about shoes", "shoes again"]);
}

#[test]
fn send_with_thread_id_goes_to_that_thread() {
    let mut h = multi();
    type_and_send(&mut h, "one");
    let first = h.widget.current_thread().unwrap().to_string();
    h.ui(UiAction::SelectThread(None));
    type_and_send(&mut h, "two");
    let Reply::Sent(r) = h.call_ok("send", Some(json!({"type": "BASIC", "message": "to the first", "threadId": first}))) else { panic!() };
    assert_eq!(r.thread_id, first);
}

#[test]
fn single_thread_widgets_ignore_new_conversation_requests() {
    let mut h = Harness::ready();
    type_and_send(&mut h, "one");
    h.ui(UiAction::SelectThread(None));
    type_and_send(&mut h, "two");
    assert_eq!(h.widget.conversations().threads().len(), 1);
}
