//! send_contextual_data before and after a conversation exists (spec 000).
#![cfg(not(target_arch = "wasm32"))]
mod common;

use common::Harness;
use livechat_widget::core::Reply;
use serde_json::json;

#[test]
fn data_sent_before_a_conversation_is_queued_then_lands_on_the_first_thread() {
    let mut h = Harness::ready();
    let Reply::Contextual(r) = h.call_ok("send_contextual_data", Some(json!({"metadata": {"model": "Roadster", "color": "red"}}))) else { panic!() };
    assert!(r.queued, "no conversation yet: the result says queued");
    assert!(r.thread_ids.is_empty());
    let Reply::Sent(sent) = h.call_ok("send", Some(json!({"type": "BASIC", "message": "Is this in stock?"}))) else { panic!() };
    let meta = h.server.metadata.get(&sent.thread_id).expect("metadata on the new thread");
    assert_eq!(meta.get("color"), Some(&json!("red")));
}

#[test]
fn data_sent_offline_waits_in_the_outbox() {
    let mut h = Harness::ready();
    h.server.up = false;
    h.drop_connection();
    let call = h.call("send_contextual_data", Some(json!({"metadata": {"step": 3}})));
    assert!(h.reply(call).is_none());
    assert_eq!(h.stored().unwrap().outbox.len(), 1, "persisted while waiting");
    h.server.up = true;
    h.advance(60_000);
    assert!(matches!(h.reply(call), Some(Ok(Reply::Contextual(_)))));
    assert!(h.widget.outbox().is_empty());
}

#[test]
fn data_sent_with_a_conversation_goes_to_the_active_thread() {
    let mut h = Harness::ready();
    let Reply::Sent(sent) = h.call_ok("send", Some(json!({"type": "BASIC", "message": "hi"}))) else { panic!() };
    let Reply::Contextual(r) = h.call_ok("send_contextual_data", Some(json!({"metadata": {"size": "M"}, "multiThreadStrategy": "ALL"}))) else { panic!() };
    assert!(!r.queued);
    assert_eq!(r.thread_ids, vec![sent.thread_id.clone()]);
    assert_eq!(h.server.metadata[&sent.thread_id].get("size"), Some(&json!("M")));
}
