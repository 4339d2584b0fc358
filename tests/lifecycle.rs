//! init first; loading queues calls; widget switching; config failures.
#![cfg(not(target_arch = "wasm32"))]
mod common;

use common::{config, ConfigAnswer, Harness, T0, WIDGET};
use livechat_widget::core::{ConfigError, ErrorCode, Lifecycle, Reply};
use serde_json::json;

#[test]
fn every_command_before_init_is_an_error() {
    let mut h = Harness::new();
    for (name, arg) in [
        ("auth", Some(json!("a.b.c"))),
        ("logout", None),
        ("clear", None),
        ("show", None),
        ("hide", None),
        ("show_launcher", None),
        ("hide_launcher", None),
        ("set_theme", Some(json!("dark"))),
        ("send", Some(json!({"type": "BASIC", "message": "hi"}))),
        ("send_contextual_data", Some(json!({"metadata": {"a": 1}}))),
        ("set_language", Some(json!("de-DE"))),
    ] {
        assert_eq!(h.call_err(name, arg).code, ErrorCode::NotInitialized, "{name}");
    }
    assert_eq!(h.call_err("init", None).code, ErrorCode::InvalidArgument, "first init needs the id");
    assert_eq!(h.widget.lifecycle(), Lifecycle::Uninitialized);
}

#[test]
fn init_answers_once_ready_and_connects() {
    let mut h = Harness::new();
    let Reply::Init(r) = h.call_ok("init", Some(json!(WIDGET))) else { panic!() };
    assert_eq!((r.widget_id.as_str(), r.language.as_str(), r.online), (WIDGET, "en-US", true));
    assert_eq!(h.widget.lifecycle(), Lifecycle::Ready);
    assert!(h.widget.connected());
    assert!(matches!(h.server.received[0], livechat_protocol::ClientFrame::Hello { last_seq: 0, session: None, .. }));
}

#[test]
fn calls_made_while_loading_replay_in_order() {
    let mut h = Harness::new();
    h.config = ConfigAnswer::Hold;
    let init = h.call("init", Some(json!(WIDGET)));
    let show = h.call("show", None);
    let theme = h.call("set_theme", Some(json!("dark")));
    let hide = h.call("hide", None);
    assert!(h.replies.is_empty(), "nothing answered before the config arrives");
    h.deliver_config();
    let order: Vec<_> = h.replies.iter().map(|(c, _)| *c).collect();
    assert_eq!(order, vec![init, show, theme, hide]);
    assert!(h.replies.iter().all(|(_, r)| r.is_ok()));
    assert!(!h.widget.ui().open, "hide came last");
    assert_eq!(h.widget.theme(), Some("dark"));
}

#[test]
fn init_again_with_the_same_id_succeeds_and_another_id_is_refused() {
    let mut h = Harness::ready();
    assert!(matches!(h.call_ok("init", Some(json!(WIDGET))), Reply::Init(_)));
    assert!(matches!(h.call_ok("init", None), Reply::Init(_)), "later init may omit the id");
    let e = h.call_err("init", Some(json!("other-widget")));
    assert_eq!(e.code, ErrorCode::AlreadyInitialized);
    assert!(e.message.contains("logout or clear"));
}

#[test]
fn clear_allows_switching_to_another_widget() {
    let mut h = Harness::ready();
    h.call_ok("clear", None);
    let Reply::Init(r) = h.call_ok("init", Some(json!("other-widget"))) else { panic!() };
    assert_eq!(r.widget_id, "other-widget");
    assert_eq!(h.widget.widget_id(), Some("other-widget"));
}

#[test]
fn logout_without_auth_is_an_error() {
    let mut h = Harness::ready();
    assert_eq!(h.call_err("logout", None).code, ErrorCode::NotAuthenticated);
}

#[test]
fn auth_then_logout_resets_to_anonymous() {
    let mut h = Harness::ready();
    h.call_ok("send", Some(json!({"type": "BASIC", "message": "hello"})));
    let Reply::Auth(a) = h.call_ok("auth", Some(json!("eyJh.eyJz.c2ln"))) else { panic!() };
    assert_eq!(a.customer.subject, "ana@example.com");
    assert_eq!(h.widget.customer().map(|c| c.subject_type.as_str()), Some("email"));
    assert!(h.stored().unwrap().customer.is_some());
    let Reply::Reset(r) = h.call_ok("logout", None) else { panic!() };
    assert!(r.logged_out);
    assert!(h.widget.customer().is_none());
    assert!(h.widget.conversations().is_empty(), "local history is gone");
    assert!(h.stored().is_none() || h.stored().unwrap().customer.is_none());
}

#[test]
fn rejected_auth_keeps_the_visitor() {
    let mut h = Harness::ready();
    let e = h.call_err("auth", Some(json!("bad.token.sig")));
    assert_eq!((e.code, e.reason.as_deref()), (ErrorCode::Rejected, Some("invalid_token")));
    assert!(h.widget.customer().is_none());
}

#[test]
fn unknown_widget_fails_init_and_queued_calls_then_init_can_be_retried() {
    let mut h = Harness::new();
    h.config = ConfigAnswer::Hold;
    let init = h.call("init", Some(json!("nope")));
    let show = h.call("show", None);
    h.answer_config(0, Err(ConfigError::UnknownWidget));
    assert_eq!(h.reply(init).unwrap().unwrap_err().code, ErrorCode::UnknownWidget);
    assert_eq!(h.reply(show).unwrap().unwrap_err().code, ErrorCode::UnknownWidget);
    h.config = ConfigAnswer::Ok(config(WIDGET));
    assert!(matches!(h.call_ok("init", Some(json!(WIDGET))), Reply::Init(_)));
}

#[test]
fn cached_config_makes_a_reload_ready_without_the_network() {
    let mut h = Harness::ready();
    h.config = ConfigAnswer::Err(ConfigError::Unavailable("offline".into()));
    h.server.up = false;
    h.reload();
    assert_eq!(h.widget.lifecycle(), Lifecycle::Ready);
    assert!(!h.widget.connected());
}

#[test]
fn unknown_theme_is_an_error_naming_the_available_ones() {
    let mut h = Harness::ready();
    let e = h.call_err("set_theme", Some(json!("neon")));
    assert_eq!(e.code, ErrorCode::UnknownTheme);
    assert!(e.message.contains("dark"));
    assert!(matches!(h.call_ok("set_theme", Some(json!("default"))), Reply::Theme(_)));
    assert_eq!(h.widget.theme(), None);
}

#[test]
fn visibility_commands_follow_the_spec() {
    let mut h = Harness::ready();
    let ui = |r: Reply| match r { Reply::Ui(u) => (u.open, u.launcher), other => panic!("{other:?}") };
    assert_eq!(ui(h.call_ok("show", None)), (true, true));
    assert_eq!(ui(h.call_ok("hide", None)), (false, true), "hide keeps the launcher");
    assert_eq!(ui(h.call_ok("show", None)), (true, true));
    assert_eq!(ui(h.call_ok("hide_launcher", None)), (false, false), "hide_launcher collapses too");
    assert_eq!(ui(h.call_ok("show_launcher", None)), (false, true), "show_launcher does not expand");
}

#[test]
fn an_expired_customer_session_keeps_sends_waiting_until_a_fresh_auth() {
    use livechat_widget::core::{Delivery, WidgetEvent};
    let mut h = Harness::ready();
    h.call_ok("auth", Some(json!("eyJh.eyJz.c2ln")));
    h.call_ok("send", Some(json!({"type": "BASIC", "message": "before expiry"})));
    // The JWT behind the session expired: the server refuses sends until a new `auth`.
    h.server.reauth = true;
    let call = h.call("send", Some(json!({"type": "BASIC", "message": "waits for the new token"})));
    let again = h.call("send", Some(json!({"type": "BASIC", "message": "and this one"})));
    let asked = h.events.iter().filter(|e| **e == WidgetEvent::ReauthRequired).count();
    assert_eq!(asked, 1, "the page is told once: {:?}", h.events);
    assert!(h.reply(call).is_none() && h.reply(again).is_none(), "no error: the messages wait");
    assert_eq!(h.widget.outbox().len(), 2);
    assert!(h.widget.outbox().iter().all(|o| o.status == Delivery::Sending), "shown as sending, not failed");
    assert!(h.widget.customer().is_some(), "still the customer; history kept");
    assert_eq!(h.texts().len(), 1);
    // A reconnect meanwhile does not spend them against the server again and again.
    h.drop_connection();
    h.advance(30_000);
    assert_eq!(h.widget.outbox().len(), 2);

    h.call_ok("auth", Some(json!("eyJh.eyJz.c2ln")));
    assert!(matches!(h.reply(call), Some(Ok(Reply::Sent(_)))), "delivered after the fresh auth");
    assert!(matches!(h.reply(again), Some(Ok(Reply::Sent(_)))));
    assert_eq!(h.texts(), vec!["before expiry", "waits for the new token", "and this one"]);
    assert_eq!(h.replies.iter().filter(|(c, _)| *c == call).count(), 1, "exactly one callback");
}

/// When the configuration requests went out (relative to the start), and their numbers.
fn fetches(h: &Harness) -> Vec<(u64, u32)> {
    h.config_fetches.iter().map(|(t, n)| (t - T0, *n)).collect()
}

#[test]
fn a_config_request_never_answered_is_retried_then_init_gets_config_unavailable() {
    let mut h = Harness::new();
    h.config = ConfigAnswer::Hold;
    let init = h.call("init", Some(json!(WIDGET)));
    let show = h.call("show", None);
    assert_eq!(fetches(&h), vec![(0, 0)]);
    let deadline = h.widget.poll_timeout().expect("a deadline while loading");
    assert_eq!((deadline.at - T0, deadline.reason), (10_000, "config timeout"));
    // 10 s per attempt, 1 s then 3 s between attempts: three requests, each its own number.
    h.advance(33_999);
    assert_eq!(fetches(&h), vec![(0, 0), (11_000, 1), (24_000, 2)]);
    assert!(h.reply(init).is_none(), "still trying");
    h.advance(1);
    let e = h.reply(init).expect("init answered").unwrap_err();
    assert_eq!(e.code, ErrorCode::ConfigUnavailable);
    assert!(e.message.contains("3 attempts") && e.message.contains("no answer within 10 s"), "{}", e.message);
    assert_eq!(h.reply(show).unwrap().unwrap_err().code, ErrorCode::ConfigUnavailable);
    assert_eq!(h.widget.lifecycle(), Lifecycle::Uninitialized);
    assert_eq!(h.widget.poll_timeout(), None, "no timer left behind");
    // Nothing more is asked, and a later init starts over with a number not used before
    // (the URL of an attempt that may still hang would wait behind it).
    h.advance(60_000);
    assert_eq!(h.config_fetches.len(), 3);
    h.config = ConfigAnswer::Ok(config(WIDGET));
    assert!(matches!(h.call_ok("init", Some(json!(WIDGET))), Reply::Init(_)));
    assert_eq!(h.config_fetches[3].1, 3);
    assert_eq!(h.replies.iter().filter(|(c, _)| *c == init).count(), 1, "answered once");
}

#[test]
fn a_failed_config_request_is_retried_and_a_later_answer_makes_init_ready() {
    let mut h = Harness::new();
    h.config = ConfigAnswer::Err(ConfigError::Unavailable("HTTP 503".into()));
    let init = h.call("init", Some(json!(WIDGET)));
    assert!(h.reply(init).is_none(), "a 503 is retried, not answered at once");
    h.config = ConfigAnswer::Ok(config(WIDGET));
    h.advance(1_000);
    assert_eq!(fetches(&h), vec![(0, 0), (1_000, 1)]);
    assert!(matches!(h.reply(init), Some(Ok(Reply::Init(_)))));
    assert_eq!(h.widget.lifecycle(), Lifecycle::Ready);
    // Three failures in a row: the third one answers at once, with the last reason.
    let mut h = Harness::new();
    h.config = ConfigAnswer::Err(ConfigError::Unavailable("network error".into()));
    let init = h.call("init", Some(json!(WIDGET)));
    h.advance(3_999);
    assert!(h.reply(init).is_none());
    h.advance(1);
    assert_eq!(fetches(&h), vec![(0, 0), (1_000, 1), (4_000, 2)]);
    let e = h.reply(init).unwrap().unwrap_err();
    assert_eq!(e.code, ErrorCode::ConfigUnavailable);
    assert!(e.message.contains("network error"), "{}", e.message);
    // A hung first attempt answered late (after its retry went out) is still taken, once.
    let mut h = Harness::new();
    h.config = ConfigAnswer::Hold;
    let init = h.call("init", Some(json!(WIDGET)));
    h.advance(11_000);
    assert_eq!(h.config_fetches.len(), 2);
    h.answer_config(0, Ok(config(WIDGET)));
    assert!(matches!(h.reply(init), Some(Ok(Reply::Init(_)))));
    h.advance(60_000);
    assert_eq!(h.replies.iter().filter(|(c, _)| *c == init).count(), 1, "answered once");
    assert_eq!(h.config_fetches.len(), 2);
}

#[test]
fn a_late_failure_of_an_abandoned_attempt_does_not_count_against_the_one_in_flight() {
    let unavailable = || Err(ConfigError::Unavailable("network error".into()));
    let mut h = Harness::new();
    h.config = ConfigAnswer::Hold;
    let init = h.call("init", Some(json!(WIDGET)));
    h.advance(11_000);
    assert_eq!(fetches(&h), vec![(0, 0), (11_000, 1)], "attempt 0 timed out, attempt 1 is out");
    // The abandoned attempt 0 fails late (the hung proxy gives up): attempt 1 keeps its 10 s.
    h.advance(1_000);
    h.answer_config(0, unavailable());
    assert_eq!(h.widget.poll_timeout().map(|d| (d.at - T0, d.reason)), Some((21_000, "config timeout")));
    h.advance(4_000);
    assert_eq!(fetches(&h), vec![(0, 0), (11_000, 1)], "no retry for a failure that was not attempt 1's");
    // Attempt 1 itself fails: retried after 3 s, as the second failure.
    h.answer_config(1, unavailable());
    h.advance(3_000);
    assert_eq!(fetches(&h), vec![(0, 0), (11_000, 1), (19_000, 2)]);
    assert!(h.reply(init).is_none(), "two failures so far: still trying");
    // A second late copy of an old failure changes nothing either; the last attempt answers.
    h.answer_config(1, unavailable());
    assert!(h.reply(init).is_none(), "attempt 2 is still in flight");
    h.advance(5_000);
    h.answer_config(2, Ok(config(WIDGET)));
    assert!(matches!(h.reply(init), Some(Ok(Reply::Init(_)))));
    assert_eq!(h.widget.lifecycle(), Lifecycle::Ready);
}

#[test]
fn an_unknown_widget_is_not_retried() {
    let mut h = Harness::new();
    h.config = ConfigAnswer::Err(ConfigError::UnknownWidget);
    let e = h.call_err("init", Some(json!(WIDGET)));
    assert_eq!(e.code, ErrorCode::UnknownWidget);
    h.advance(60_000);
    assert_eq!(h.config_fetches.len(), 1);
}

#[test]
fn a_hung_refresh_of_a_cached_config_keeps_the_widget_ready() {
    let mut h = Harness::ready();
    h.config = ConfigAnswer::Hold;
    h.reload();
    assert_eq!(h.widget.lifecycle(), Lifecycle::Ready);
    h.advance(120_000);
    assert_eq!(h.widget.lifecycle(), Lifecycle::Ready);
    assert!(h.widget.config().is_some());
    assert_eq!(h.widget.poll_timeout().map(|d| d.reason), Some("heartbeat"), "no config timer left");
}
