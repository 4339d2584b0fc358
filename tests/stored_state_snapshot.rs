//! Pins the stored-state format. If this fails, stored data of existing visitors would no
//! longer load: either keep the format or bump STATE_VERSION (and regenerate with
//! `UPDATE_SNAPSHOTS=1 cargo test --test stored_state_snapshot`).
#![cfg(not(target_arch = "wasm32"))]
mod common;

use livechat_protocol::{Author, Customer, Message, MultiThreadStrategy, OutgoingBody, Thread, ThreadStatus};
use livechat_widget::core::{Delivery, OutboxItem, OutboxRequest, StoredState};
use serde_json::json;

const SNAPSHOT: &str = "tests/snapshots/stored_state_v1.json";

fn sample() -> StoredState {
    let mut s = StoredState::fresh(common::WIDGET);
    s.session = Some("sess-1".into());
    s.customer = Some(Customer { subject: "ana@example.com".into(), subject_type: "email".into() });
    s.last_seq = 7;
    s.ui.open = true;
    s.ui.draft = "half".into();
    s.language = Some("hr-HR".into());
    s.theme = Some("dark".into());
    s.threads = vec![Thread {
        id: "thr-1".into(),
        status: ThreadStatus::Open,
        created_at: 1,
        messages: vec![Message {
            id: "msg-1".into(),
            thread_id: "thr-1".into(),
            client_id: Some("m-1".into()),
            author: Author::Visitor,
            agent_name: None,
            text: Some("hi".into()),
            attachment: None,
            custom: false,
            created_at: 2,
        }],
    }];
    s.active_thread = Some("thr-1".into());
    s.outbox = vec![
        OutboxItem {
            id: "m-2".into(),
            request: OutboxRequest::Message { thread_id: None, new_thread: false, body: OutgoingBody::Basic { text: Some("later".into()), attachment: None } },
            status: Delivery::Sending,
            created_at: 3,
        },
        OutboxItem {
            id: "d-1".into(),
            request: OutboxRequest::ContextualData {
                metadata: [("color".to_string(), json!("red"))].into_iter().collect(),
                strategy: MultiThreadStrategy::All,
            },
            status: Delivery::Failed { code: "invalid_metadata".into(), message: "too deep".into() },
            created_at: 4,
        },
    ];
    s.config = Some(common::config(common::WIDGET));
    s
}

#[test]
fn stored_state_format_is_unchanged() {
    let text = serde_json::to_string_pretty(&sample()).unwrap() + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(SNAPSHOT, &text).unwrap();
    }
    let pinned = std::fs::read_to_string(SNAPSHOT).expect("snapshot file (UPDATE_SNAPSHOTS=1 to create)");
    assert_eq!(text, pinned, "the stored-state format changed: bump STATE_VERSION or keep the format");
}

#[test]
fn the_pinned_format_still_loads() {
    let pinned = std::fs::read_to_string(SNAPSHOT).unwrap();
    let loaded: StoredState = serde_json::from_str(&pinned).unwrap();
    assert_eq!(loaded, sample());
}

#[test]
fn complete_threads_are_written_only_when_there_are_some() {
    // Entries written before the field existed read the same (`the_pinned_format_still_loads`).
    let mut s = sample();
    assert!(!serde_json::to_string(&s).unwrap().contains("complete_threads"));
    s.complete_threads = vec!["thr-1".into()];
    let v = serde_json::to_value(&s).unwrap();
    assert_eq!(v["complete_threads"], json!(["thr-1"]));
    assert_eq!(serde_json::from_value::<StoredState>(v).unwrap(), s);
}
