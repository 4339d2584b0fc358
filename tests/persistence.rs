//! A reload restores what the visitor had; logout and clear remove it; storage may fail.
#![cfg(not(target_arch = "wasm32"))]
mod common;

use common::{FakeServer, Harness, MemoryStore, WIDGET};
use livechat_widget::core::{Delivery, UiAction};
use serde_json::json;

#[test]
fn a_reload_restores_window_draft_language_theme_and_history() {
    let mut h = Harness::ready();
    h.call_ok("show", None);
    h.call_ok("set_language", Some(json!("de-DE")));
    h.call_ok("set_theme", Some(json!("dark")));
    h.call_ok("send", Some(json!({"type": "BASIC", "message": "first"})));
    h.call_ok("send", Some(json!({"type": "DRAFT", "message": "half-typed"})));
    h.reload();
    assert!(h.widget.ui().open);
    assert_eq!(h.widget.ui().draft, "half-typed");
    assert_eq!(h.widget.language(), "de-DE");
    assert_eq!(h.widget.theme(), Some("dark"));
    assert_eq!(h.texts(), vec!["first"]);
}

#[test]
fn a_reload_resumes_after_the_last_applied_event() {
    let mut h = Harness::ready();
    h.call_ok("send", Some(json!({"type": "BASIC", "message": "hi"})));
    let seq = h.widget.last_seq();
    assert!(seq > 0);
    h.reload();
    let hellos: Vec<_> = h.server.received.iter().filter(|f| matches!(f, livechat_protocol::ClientFrame::Hello { .. })).collect();
    assert!(matches!(hellos.last().unwrap(), livechat_protocol::ClientFrame::Hello { last_seq, session: Some(_), .. } if *last_seq == seq));
}

#[test]
fn the_outbox_survives_a_reload_and_is_delivered_once() {
    let mut server = FakeServer::new();
    server.up = false;
    let mut h = Harness::with(MemoryStore::default(), server);
    h.call_ok("init", Some(json!(WIDGET)));
    let call = h.call("send", Some(json!({"type": "BASIC", "message": "written offline"})));
    assert!(h.reply(call).is_none(), "answered when the server acks, not before");
    assert_eq!(h.stored().unwrap().outbox.len(), 1);
    h.reload();
    assert_eq!(h.widget.outbox().len(), 1);
    h.server.up = true;
    h.advance(60_000);
    assert_eq!(h.server.stored_messages(), 1);
    assert!(h.widget.outbox().is_empty());
    assert_eq!(h.texts(), vec!["written offline"]);
    h.reload();
    assert_eq!(h.server.stored_messages(), 1, "nothing resent after the ack");
}

#[test]
fn logout_and_clear_remove_every_key() {
    let mut h = Harness::ready();
    h.call_ok("show", None);
    h.call_ok("send", Some(json!({"type": "BASIC", "message": "private"})));
    let before = h.stored().unwrap();
    h.call_ok("clear", None);
    assert_eq!(h.clears, 1, "clear removed the entry");
    // The widget starts over as a new visitor: whatever it writes now holds nothing of before.
    let after = h.stored().expect("the fresh state is written again");
    assert_ne!(after.session, before.session);
    assert!(after.threads.is_empty() && after.outbox.is_empty() && !after.ui.open);

    h.call_ok("auth", Some(json!("eyJh.eyJz.c2ln")));
    assert!(h.stored().unwrap().customer.is_some());
    h.call_ok("logout", None);
    assert_eq!(h.clears, 2, "logout removed the entry");
    let after = h.stored().expect("fresh state");
    assert!(after.customer.is_none() && after.threads.is_empty());
}

#[test]
fn clear_with_another_widget_id_only_clears_that_widget() {
    let mut h = Harness::ready();
    h.call_ok("show", None);
    h.store.entries.insert("livechat:other".into(), "{}".into());
    h.call_ok("clear", Some(json!("other")));
    assert!(!h.store.entries.contains_key("livechat:other"));
    assert!(h.stored().is_some() && h.widget.ui().open);
}

#[test]
fn broken_storage_keeps_the_widget_working_in_memory() {
    let mut store = MemoryStore::default();
    store.broken = true;
    let mut h = Harness::with(store, FakeServer::new());
    h.call_ok("init", Some(json!(WIDGET)));
    h.call_ok("show", None);
    h.call_ok("send", Some(json!({"type": "BASIC", "message": "still works"})));
    assert!(h.widget.ui().open);
    assert_eq!(h.texts(), vec!["still works"]);
}

#[test]
fn another_tab_changes_are_adopted_without_echo() {
    let mut h = Harness::ready();
    let mut other = h.widget.snapshot();
    other.ui.open = true;
    other.language = Some("fr-FR".into());
    let persisted_before = h.store.entries.clone();
    h.widget.handle_storage_changed(Some(other), h.now);
    h.settle();
    assert!(h.widget.ui().open);
    assert_eq!(h.widget.language(), "fr-FR");
    assert_eq!(h.store.entries, persisted_before, "adopting does not write back");
}

#[test]
fn another_tab_logging_out_resets_this_one() {
    let mut h = Harness::ready();
    h.call_ok("send", Some(json!({"type": "BASIC", "message": "x"})));
    h.widget.handle_storage_changed(None, h.now);
    h.settle();
    assert!(h.widget.conversations().is_empty());
}

#[test]
fn composer_submit_sends_the_draft() {
    let mut h = Harness::ready();
    h.ui(UiAction::Draft("typed in the widget".into()));
    h.ui(UiAction::Submit);
    assert_eq!(h.widget.ui().draft, "");
    assert_eq!(h.texts(), vec!["typed in the widget"]);
    assert!(h.widget.outbox().iter().all(|o| o.status == Delivery::Sending));
}

#[test]
fn outbox_items_of_another_tab_are_left_to_it_for_a_grace_period() {
    use livechat_protocol::ClientFrame;
    use livechat_widget::core::{Delivery, OutboxItem, OutboxRequest, ADOPT_GRACE_MS};
    let mut h = Harness::ready();
    let mut other = h.widget.snapshot();
    other.outbox.push(OutboxItem {
        id: "m-from-tab-b".into(),
        request: OutboxRequest::Message {
            thread_id: None,
            new_thread: false,
            body: livechat_protocol::OutgoingBody::Basic { text: Some("typed in tab B".into()), attachment: None },
        },
        status: Delivery::Sending,
        created_at: h.now,
    });
    h.widget.handle_storage_changed(Some(other), h.now);
    h.settle();
    let sent = |h: &Harness| h.server.received.iter().filter(|f| matches!(f, ClientFrame::Send { req, .. } if req == "m-from-tab-b")).count();
    assert_eq!(sent(&h), 0, "tab B sends its own message");
    h.advance(ADOPT_GRACE_MS + 1);
    assert_eq!(sent(&h), 1, "still pending after the grace period: this tab sends it");
    assert_eq!(h.server.stored_messages(), 1);
    assert!(h.widget.outbox().is_empty());
}
