//! Fuzzes `command::parse` (and the depth pre-check the browser bridge runs first).
//!
//! Input: bytes parsed as JSON with serde_json. `["name", arg]` calls `parse("name", arg)`;
//! any other JSON value is given as the argument of every known command. Invalid JSON
//! (and invalid UTF-8) still exercises the depth check on the raw text. The parser must
//! never panic, must accept only known command names, and every refusal has a message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use livechat_widget::core::command::{check_json_depth, parse, MAX_ARG_DEPTH};
use serde_json::Value;

const NAMES: &[&str] = &[
    "init", "auth", "logout", "clear", "show", "hide", "show_launcher", "hide_launcher", "set_theme", "send",
    "send_contextual_data", "set_language",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = check_json_depth(&text, MAX_ARG_DEPTH);
    let Ok(value) = serde_json::from_slice::<Value>(data) else { return };
    match value {
        Value::Array(mut items) if items.len() == 2 && items[0].is_string() => {
            let arg = items.pop();
            let name = items.pop().and_then(|n| n.as_str().map(str::to_owned)).unwrap_or_default();
            check(&name, arg);
        }
        other => {
            for name in NAMES {
                check(name, Some(other.clone()));
            }
            check(name_of(&other), None);
        }
    }
});

fn name_of(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn check(name: &str, arg: Option<Value>) {
    match parse(name, arg) {
        Ok(_) => assert!(NAMES.contains(&name), "accepted an unknown command {name:?}"),
        Err(e) => assert!(!e.message.is_empty(), "an error without a message"),
    }
}
