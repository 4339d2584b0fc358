//! Every command with valid and invalid arguments, per spec 001's tables.
#![cfg(not(target_arch = "wasm32"))]
mod common;

use common::{Harness, WIDGET};
use livechat_widget::core::{command, Command, ErrorCode, Reply, SendPayload};
use livechat_protocol::MultiThreadStrategy;
use serde_json::{json, Value};

fn parse(name: &str, arg: Value) -> Result<Command, ErrorCode> {
    command::parse(name, Some(arg)).map_err(|e| e.code)
}

#[test]
fn unknown_commands_are_errors() {
    for name in ["", "INIT", "open", "send_message", "__proto__", "init "] {
        let err = command::parse(name, None).unwrap_err();
        assert_eq!(err.code, ErrorCode::UnknownCommand, "{name}");
        assert!(err.message.contains("init, auth"), "the message lists the commands");
    }
}

#[test]
fn init_needs_a_widget_id_string() {
    assert_eq!(parse("init", json!(WIDGET)), Ok(Command::Init { widget_id: Some(WIDGET.into()) }));
    assert_eq!(command::parse("init", None), Ok(Command::Init { widget_id: None }));
    for bad in [json!(42), json!({}), json!([]), json!(""), json!("has space"), json!("a/b"), json!("x".repeat(65))] {
        assert_eq!(parse("init", bad.clone()), Err(ErrorCode::InvalidArgument), "{bad}");
    }
}

#[test]
fn auth_needs_a_jwt_shaped_string() {
    assert!(parse("auth", json!("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")).is_ok());
    assert_eq!(command::parse("auth", None).unwrap_err().code, ErrorCode::InvalidArgument);
    for bad in [json!("not-a-jwt"), json!("a.b"), json!("a.b.c.d"), json!("a..c"), json!("a.b."), json!("a b.c.d"), json!(1), json!({"jwt": "a.b.c"})] {
        assert_eq!(parse("auth", bad.clone()), Err(ErrorCode::InvalidArgument), "{bad}");
    }
}

#[test]
fn commands_without_argument_refuse_one() {
    for name in ["logout", "show", "hide", "show_launcher", "hide_launcher"] {
        assert!(command::parse(name, None).is_ok(), "{name}");
        assert!(command::parse(name, Some(Value::Null)).is_ok(), "{name} with null");
        assert_eq!(parse(name, json!("x")), Err(ErrorCode::InvalidArgument), "{name}");
    }
}

#[test]
fn clear_takes_an_optional_widget_id() {
    assert_eq!(command::parse("clear", None), Ok(Command::Clear { widget_id: None }));
    assert_eq!(parse("clear", json!(WIDGET)), Ok(Command::Clear { widget_id: Some(WIDGET.into()) }));
    assert_eq!(parse("clear", json!(5)), Err(ErrorCode::InvalidArgument));
}

#[test]
fn set_theme_needs_a_non_empty_name() {
    assert_eq!(parse("set_theme", json!("dark")), Ok(Command::SetTheme { name: "dark".into() }));
    for bad in [json!(""), json!("   "), json!(3), json!(null)] {
        assert_eq!(command::parse("set_theme", Some(bad.clone())).map_err(|e| e.code), Err(ErrorCode::InvalidArgument), "{bad}");
    }
}

#[test]
fn send_follows_the_type_rules() {
    let ok = [
        json!({"type": "BASIC", "message": "Hello! I need help with my order."}),
        json!({"type": "BASIC", "attachment": "aGk=", "fileName": "a.png"}),
        json!({"type": "BASIC", "message": "x", "threadId": "t1"}),
        json!({"type": "DRAFT", "message": "Hi, I need help with my recent order number:"}),
        json!({"type": "CUSTOM_DATA", "customData": {"orderId": "ORD-6789", "action": "track_order"},
               "agentMessage": "User requested tracking info for order ORD-6789.", "userMessage": "Track my order."}),
        json!({"type": "CUSTOM_DATA", "customData": 5}),
    ];
    for arg in ok {
        assert!(parse("send", arg.clone()).is_ok(), "{arg}");
    }
    let bad = [
        json!("hello"),
        json!({}),
        json!({"type": "basic", "message": "x"}),
        json!({"type": "TEXT", "message": "x"}),
        json!({"type": "BASIC"}),
        json!({"type": "BASIC", "message": "   "}),
        json!({"type": "BASIC", "message": 5}),
        json!({"type": "BASIC", "attachment": "aGk="}),
        json!({"type": "BASIC", "attachment": "aGk=", "fileName": " "}),
        json!({"type": "BASIC", "message": "x", "threadId": ""}),
        json!({"type": "BASIC", "message": "x", "threadId": 7}),
        json!({"type": "BASIC", "message": "x".repeat(10_001)}),
        json!({"type": "DRAFT"}),
        json!({"type": "DRAFT", "message": {}}),
        json!({"type": "CUSTOM_DATA"}),
        json!({"type": "CUSTOM_DATA", "customData": null}),
        json!({"type": "CUSTOM_DATA", "customData": {}, "agentMessage": 1}),
    ];
    for arg in bad {
        assert_eq!(parse("send", arg.clone()), Err(ErrorCode::InvalidArgument), "{arg}");
    }
}

#[test]
fn send_basic_keeps_the_attachment_with_its_file_name() {
    let cmd = parse("send", json!({"type": "BASIC", "attachment": "aGk=", "fileName": "a.png"})).unwrap();
    let Command::Send(SendPayload::Basic { attachment: Some(a), text: None, thread_id: None }) = cmd else { panic!("{cmd:?}") };
    assert_eq!((a.file_name.as_str(), a.content.as_str()), ("a.png", "aGk="));
}

#[test]
fn send_contextual_data_needs_a_plain_object_and_a_known_strategy() {
    let cmd = parse("send_contextual_data", json!({"metadata": {"color": "green", "size": "M"}, "multiThreadStrategy": "ALL"})).unwrap();
    assert!(matches!(cmd, Command::SendContextualData { strategy: MultiThreadStrategy::All, .. }));
    let cmd = parse("send_contextual_data", json!({"metadata": {"color": "red"}})).unwrap();
    assert!(matches!(cmd, Command::SendContextualData { strategy: MultiThreadStrategy::Active, .. }));
    let cmd = parse("send_contextual_data", json!({"metadata": {"a": 1}, "multiThreadStrategy": "ALL_PLUS_NEW"})).unwrap();
    assert!(matches!(cmd, Command::SendContextualData { strategy: MultiThreadStrategy::AllPlusNew, .. }));
    let deep = (0..12).fold(json!(1), |acc, _| json!({ "k": acc }));
    for bad in [
        json!({}),
        json!({"metadata": {}}),
        json!({"metadata": [1, 2]}),
        json!({"metadata": "color=red"}),
        json!({"metadata": {"a": 1}, "multiThreadStrategy": "SOME"}),
        json!({"metadata": {"a": 1}, "multiThreadStrategy": 1}),
        json!({"metadata": deep}),
        json!({"metadata": {"big": "x".repeat(20_000)}}),
        json!([{"metadata": {"a": 1}}]),
    ] {
        assert_eq!(parse("send_contextual_data", bad.clone()), Err(ErrorCode::InvalidArgument), "{bad}");
    }
}

#[test]
fn metadata_keys_like_proto_are_plain_data() {
    let cmd = parse("send_contextual_data", json!({"metadata": {"__proto__": {"x": 1}, "constructor": 2}})).unwrap();
    let Command::SendContextualData { metadata, .. } = cmd else { panic!() };
    assert_eq!(metadata.get("__proto__"), Some(&json!({"x": 1})));
}

#[test]
fn set_language_falls_back_to_en_us_and_says_so() {
    let mut h = Harness::ready();
    let Reply::Language(r) = h.call_ok("set_language", Some(json!("it-IT"))) else { panic!() };
    assert_eq!((r.language.as_str(), r.fallback), ("it-IT", false));
    let Reply::Language(r) = h.call_ok("set_language", Some(json!("pt-br"))) else { panic!() };
    assert_eq!((r.language.as_str(), r.fallback), ("pt-BR", false), "tags match case-insensitively");
    let Reply::Language(r) = h.call_ok("set_language", Some(json!("xx-YY"))) else { panic!() };
    assert_eq!((r.language.as_str(), r.fallback, r.requested.as_deref()), ("en-US", true, Some("xx-YY")));
    let Reply::Language(r) = h.call_ok("set_language", None) else { panic!() };
    assert_eq!((r.language.as_str(), r.fallback), ("en-US", true));
    assert_eq!(h.call_err("set_language", Some(json!(7))).code, ErrorCode::InvalidArgument);
}

#[test]
fn all_31_languages_are_accepted() {
    let mut h = Harness::ready();
    for tag in livechat_protocol::LANGUAGES {
        let Reply::Language(r) = h.call_ok("set_language", Some(json!(tag))) else { panic!() };
        assert_eq!((r.language.as_str(), r.fallback), (tag, false));
        assert_eq!(h.widget.language(), tag);
    }
}

#[test]
fn argument_depth_is_checked_before_parsing() {
    let deep = "[".repeat(40) + &"]".repeat(40);
    assert_eq!(command::check_json_depth(&deep, 32).unwrap_err().code, ErrorCode::InvalidArgument);
    assert!(command::check_json_depth(r#"{"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}"#, 32).is_ok(), "brackets in strings do not count");
    assert!(command::check_json_depth(r#"{"a":"\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}"#, 2).is_ok(), "escaped quotes stay in the string");
}
