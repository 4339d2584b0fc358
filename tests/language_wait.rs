//! The view's first mount waits for the visitor's language table, at most `TEXTS_WAIT_MS`,
//! so a widget in another language never flashes English first; a late or failed table
//! never keeps the widget hidden.
#![cfg(not(target_arch = "wasm32"))]
mod common;

use common::{Harness, WIDGET};
use livechat_widget::core::texts::TEXTS_WAIT_MS;
use livechat_widget::core::Widget;
use serde_json::json;

/// A visitor whose browser asks for German, with the table not loaded yet.
fn german_visitor() -> Harness {
    let mut h = Harness::new();
    h.widget = Widget::new(42, vec!["de-DE".into()]);
    h.hold_texts = true;
    h.call_ok("init", Some(json!(WIDGET)));
    h
}

fn next_reason(h: &Harness) -> Option<&'static str> {
    h.widget.poll_timeout().map(|d| d.reason)
}

#[test]
fn the_first_mount_waits_for_a_table_that_arrives_in_time() {
    let mut h = german_visitor();
    assert_eq!(h.texts_asked, ["de-DE"]);
    assert!(h.widget.language_pending(), "the view waits for German");
    assert_eq!(next_reason(&h), Some("language_wait"));

    h.advance(TEXTS_WAIT_MS - 1);
    assert!(h.widget.language_pending(), "still waiting just before the deadline");
    let renders = h.renders;
    h.widget.handle_language_ready("de-DE", h.now);
    h.settle();

    assert!(!h.widget.language_pending());
    assert!(h.renders > renders, "rendered in German");
    assert_ne!(next_reason(&h), Some("language_wait"), "no deadline left");
    h.advance(2 * TEXTS_WAIT_MS);
    assert_eq!(h.texts_asked, ["de-DE"], "asked once");
}

#[test]
fn the_first_mount_stops_waiting_at_the_deadline_and_a_late_table_is_still_taken() {
    let mut h = german_visitor();
    let renders = h.renders;

    h.advance(TEXTS_WAIT_MS);

    assert!(!h.widget.language_pending(), "mounts in the language it has");
    assert!(h.renders > renders, "a render mounts the view");
    assert_ne!(next_reason(&h), Some("language_wait"));
    let renders = h.renders;
    h.widget.handle_language_ready("de-DE", h.now);
    h.settle();
    assert!(h.renders > renders, "switches to German when the late table comes");
}

#[test]
fn a_table_that_failed_is_asked_for_again_after_a_wake() {
    let mut h = german_visitor();
    h.widget.handle_language_failed("de-DE", h.now);
    h.settle();
    assert!(!h.widget.language_pending(), "a failed table does not keep the widget hidden");
    h.advance(TEXTS_WAIT_MS);
    assert_eq!(h.texts_asked, ["de-DE"], "not asked again before a wake");

    h.widget.handle_wake(h.now);
    h.settle();

    assert_eq!(h.texts_asked, ["de-DE", "de-DE"]);
    assert_eq!(next_reason(&h), Some("language_wait"));
}

#[test]
fn set_language_asks_for_the_new_table_and_built_in_english_waits_for_nothing() {
    let mut h = Harness::ready();
    assert_eq!(h.texts_asked, ["en-US"]);
    assert!(!h.widget.language_pending(), "answered at once");
    h.hold_texts = true;

    h.call_ok("set_language", Some(json!("fr-FR")));

    assert_eq!(h.texts_asked, ["en-US", "fr-FR"]);
    assert_eq!(next_reason(&h), Some("language_wait"));
}
