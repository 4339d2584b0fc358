//! send → ack, resends after a drop, resume, ordering, refusals.
#![cfg(not(target_arch = "wasm32"))]
mod common;

use common::Harness;
use livechat_protocol::{error_code, ClientFrame};
use livechat_widget::core::{Delivery, ErrorCode, Reply, UiAction};
use serde_json::json;

#[test]
fn send_answers_with_the_stored_message() {
    let mut h = Harness::ready();
    let Reply::Sent(r) = h.call_ok("send", Some(json!({"type": "BASIC", "message": "Hello! I need help with my order."}))) else { panic!() };
    assert!(r.client_id.starts_with("m-"));
    assert_eq!(h.server.stored_messages(), 1);
    assert_eq!(h.texts(), vec!["Hello! I need help with my order."]);
}

#[test]
fn a_drop_before_the_ack_resends_with_the_same_id_and_stores_once() {
    let mut h = Harness::ready();
    // The frame reaches the server but the connection dies before the ack arrives.
    h.lose_server_frames = true;
    let call = h.call("send", Some(json!({"type": "BASIC", "message": "once"})));
    let ClientFrame::Send { req, .. } = h.server.received.last().unwrap().clone() else { panic!() };
    assert_eq!(h.server.stored_messages(), 1);
    h.drop_connection();
    h.lose_server_frames = false;
    assert!(h.reply(call).is_none());
    h.advance(60_000);
    let sends: Vec<_> = h.server.received.iter().filter(|f| matches!(f, ClientFrame::Send { req: r, .. } if *r == req)).collect();
    assert_eq!(sends.len(), 2, "resent with the same id");
    assert_eq!(h.server.stored_messages(), 1, "stored once");
    assert!(matches!(h.reply(call), Some(Ok(Reply::Sent(_)))));
    assert_eq!(h.texts(), vec!["once"], "shown once");
}

#[test]
fn agent_replies_missed_while_disconnected_arrive_in_order_once() {
    let mut h = Harness::ready();
    h.call_ok("send", Some(json!({"type": "BASIC", "message": "question"})));
    h.drop_connection();
    for i in 1..=3 {
        h.server.agent_reply(&format!("answer {i}"), h.now + i);
    }
    h.advance(60_000);
    assert_eq!(h.texts(), vec!["question", "answer 1", "answer 2", "answer 3"]);
    let hello = h.server.received.iter().rev().find(|f| matches!(f, ClientFrame::Hello { .. })).unwrap();
    assert!(matches!(hello, ClientFrame::Hello { last_seq, .. } if *last_seq > 0), "resumed, not resynced");
}

#[test]
fn a_refused_message_is_marked_failed_and_can_be_retried() {
    let mut h = Harness::ready();
    h.server.refuse_sends = Some(error_code::INVALID_MESSAGE);
    let e = h.call_err("send", Some(json!({"type": "BASIC", "message": "nope"})));
    assert_eq!((e.code, e.reason.as_deref()), (ErrorCode::Rejected, Some("invalid_message")));
    let item = &h.widget.outbox()[0];
    assert!(matches!(item.status, Delivery::Failed { .. }), "kept, never silently dropped");
    let id = item.id.clone();
    h.server.refuse_sends = None;
    h.ui(UiAction::Retry(id));
    assert!(h.widget.outbox().is_empty());
    assert_eq!(h.server.stored_messages(), 1);
}

#[test]
fn rate_limited_messages_wait_and_go_out_in_order() {
    let mut h = Harness::ready();
    h.server.refuse_sends = Some(error_code::RATE_LIMITED);
    let a = h.call("send", Some(json!({"type": "BASIC", "message": "a"})));
    h.server.refuse_sends = None;
    let b = h.call("send", Some(json!({"type": "BASIC", "message": "b"})));
    h.advance(5_000);
    assert!(matches!(h.reply(a), Some(Ok(_))) && matches!(h.reply(b), Some(Ok(_))));
    assert_eq!(h.texts(), vec!["a", "b"], "the refused one first: order is kept");
    assert_eq!(h.server.stored_messages(), 2);
}

#[test]
fn custom_data_shows_only_the_user_message() {
    let mut h = Harness::ready();
    h.call_ok("send", Some(json!({"type": "CUSTOM_DATA", "customData": {"orderId": "ORD-6789"}, "agentMessage": "for agents", "userMessage": "Track my order."})));
    assert_eq!(h.texts(), vec!["Track my order."]);
}

#[test]
fn draft_fills_the_composer_and_sends_nothing() {
    let mut h = Harness::ready();
    let Reply::Draft(d) = h.call_ok("send", Some(json!({"type": "DRAFT", "message": "Hi, I need help with my recent order number:"}))) else { panic!() };
    assert_eq!(d.draft, h.widget.ui().draft);
    assert!(!h.server.received.iter().any(|f| matches!(f, ClientFrame::Send { .. })));
}

#[test]
fn attachments_over_the_limit_or_of_a_refused_type_are_refused_before_sending() {
    let mut h = Harness::ready();
    let big = "A".repeat(4_000);
    let e = h.call_err("send", Some(json!({"type": "BASIC", "attachment": big, "fileName": "a.png"})));
    assert_eq!(e.reason.as_deref(), Some("attachment_rejected"));
    let e = h.call_err("send", Some(json!({"type": "BASIC", "attachment": "data:text/html;base64,PGI+", "fileName": "x.html"})));
    assert!(e.message.contains("text/html"));
    assert!(matches!(h.call_ok("send", Some(json!({"type": "BASIC", "attachment": "data:image/png;base64,iVBO", "fileName": "a.png"}))), Reply::Sent(_)));
}

/// The widget applies the server's rules (`livechat_protocol::attachment`), so what the
/// server would refuse is answered at once, with the server's code, and never queued.
#[test]
fn attachments_the_server_would_refuse_are_refused_with_its_code() {
    let mut h = Harness::ready();
    let cases = [
        ("setup.exe", "data:image/png;base64,TVo=", "attachment_rejected"), // the name's type counts too
        ("a.exe", "https://example.com/a.exe", "attachment_rejected"),     // links are typed by name
        ("A.PNG", "data:TEXT/HTML;base64,PGI+", "attachment_rejected"),    // types compare case-insensitively
        ("a.png", "http://example.com/a.png", "invalid_message"),          // links must be https
        ("a.png", "data:image/png,iVBO", "invalid_message"),               // data URLs must be base64
        ("a.png", "data:image/png;base64,", "invalid_message"),            // empty
    ];
    for (file_name, content, reason) in cases {
        let e = h.call_err("send", Some(json!({"type": "BASIC", "attachment": content, "fileName": file_name})));
        assert_eq!(e.reason.as_deref(), Some(reason), "{file_name} {content}: {e:?}");
    }
    assert!(h.widget.outbox().is_empty());
    assert!(!h.server.received.iter().any(|f| matches!(f, ClientFrame::Send { .. })));
    let ok = json!({"type": "BASIC", "attachment": "https://example.com/a.pdf", "fileName": "a.pdf"});
    assert!(matches!(h.call_ok("send", Some(ok)), Reply::Sent(_)));
}

#[test]
fn agent_replies_while_closed_count_as_unread_until_the_window_opens() {
    let mut h = Harness::ready();
    h.call_ok("send", Some(json!({"type": "BASIC", "message": "q"})));
    h.server.agent_reply("one", h.now);
    h.server.agent_reply("two", h.now);
    h.settle();
    assert_eq!(h.widget.ui().unread, 2);
    h.call_ok("show", None);
    assert_eq!(h.widget.ui().unread, 0);
    h.server.agent_reply("three", h.now);
    h.settle();
    assert_eq!(h.widget.ui().unread, 0, "read while the window is open");
}

#[test]
fn files_picked_in_the_widget_are_checked_then_sent() {
    let mut h = Harness::ready();
    h.ui(UiAction::Attach { file_name: "page.html".into(), content: "data:text/html;base64,PGI+".into() });
    assert_eq!(h.widget.attach_error(), Some(livechat_widget::core::AttachmentProblem::TypeNotAllowed));
    h.ui(UiAction::Attach { file_name: "big.png".into(), content: format!("data:image/png;base64,{}", "A".repeat(4_000)) });
    assert_eq!(h.widget.attach_error(), Some(livechat_widget::core::AttachmentProblem::TooLarge));
    assert_eq!(h.server.stored_messages(), 0);
    h.ui(UiAction::Attach { file_name: "cat.png".into(), content: "data:image/png;base64,iVBO".into() });
    assert!(h.widget.attach_error().is_none());
    assert_eq!(h.server.stored_messages(), 1);
}

#[test]
fn a_burst_of_sends_puts_each_frame_on_the_wire_once() {
    let mut h = Harness::ready();
    h.lose_server_frames = true; // no acks yet: everything stays in the outbox
    for i in 0..10 {
        h.call("send", Some(json!({"type": "BASIC", "message": format!("m{i}")})));
    }
    let sends = h.server.received.iter().filter(|f| matches!(f, ClientFrame::Send { .. })).count();
    assert_eq!(sends, 10, "one frame per message, not a resend of the whole outbox per send");
    h.lose_server_frames = false;
    h.drop_connection();
    h.advance(60_000);
    assert_eq!(h.server.stored_messages(), 10);
    assert!(h.widget.outbox().is_empty());
}
