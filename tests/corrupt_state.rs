//! Stored data of another version, another widget, or garbage is discarded, never fatal.
#![cfg(not(target_arch = "wasm32"))]
mod common;

use common::{Harness, MemoryStore, FakeServer, WIDGET};
use livechat_widget::core::{state::{storage_key, STATE_VERSION}, Lifecycle, StoredState};
use serde_json::json;

fn harness_with(entry: String) -> Harness {
    let mut store = MemoryStore::default();
    store.entries.insert(storage_key(WIDGET), entry);
    Harness::with(store, FakeServer::new())
}

#[test]
fn garbage_is_discarded() {
    for junk in ["", "{", "null", "42", "[]", "{\"version\":1}", "\u{0}\u{1}"] {
        let mut h = harness_with(junk.to_string());
        h.call_ok("init", Some(json!(WIDGET)));
        assert_eq!(h.widget.lifecycle(), Lifecycle::Ready, "{junk:?}");
        assert!(!h.widget.ui().open);
        let stored = h.stored().expect("a clean state was written");
        assert_eq!(stored.version, STATE_VERSION);
    }
}

#[test]
fn another_version_is_discarded() {
    let mut old = StoredState::fresh(WIDGET);
    old.version = STATE_VERSION + 1;
    old.ui.open = true;
    let mut h = harness_with(serde_json::to_string(&old).unwrap());
    h.call_ok("init", Some(json!(WIDGET)));
    assert!(!h.widget.ui().open, "state of an unknown version is not trusted");
}

#[test]
fn another_widgets_state_is_not_used() {
    let mut foreign = StoredState::fresh("someone-else");
    foreign.ui.open = true;
    let mut h = harness_with(serde_json::to_string(&foreign).unwrap());
    h.call_ok("init", Some(json!(WIDGET)));
    assert!(!h.widget.ui().open);
}

#[test]
fn wrong_types_inside_are_discarded() {
    let mut h = harness_with(json!({"version": 1, "widget_id": WIDGET, "ui": {"open": "yes", "launcher": true}}).to_string());
    h.call_ok("init", Some(json!(WIDGET)));
    assert!(!h.widget.ui().open);
}
