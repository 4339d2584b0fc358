//! Browser tests of the driver (`wasm-pack test --headless --chrome -- --test web`).
//!
//! No server runs here: the widget starts from a cached configuration in localStorage
//! (the offline-start path), so every command is answered by the real global `liveChat`.
//! All tests share one page and one driver, so each starts from `clear` + `init`.
#![cfg(target_arch = "wasm32")]

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const WIDGET: &str = "85ea1938-f457-496d-8532-8fa489beea63";
const KEY: &str = "livechat:85ea1938-f457-496d-8532-8fa489beea63";

fn window() -> web_sys::Window {
    web_sys::window().unwrap()
}

fn storage() -> web_sys::Storage {
    window().local_storage().unwrap().unwrap()
}

/// A stored state with a cached configuration, so `init` is ready without the network.
fn cached_state(open: bool) -> String {
    cached_state_of(WIDGET, open)
}

/// A stored state with a cached configuration, so `init` is ready without a server (here
/// a configuration request fails, and is retried for 4 s before `init` fails).
fn cached_state_of(widget: &str, open: bool) -> String {
    let state = serde_json::json!({
        "version": 1, "widget_id": widget, "session": null, "customer": null, "last_seq": 0,
        "ui": {"open": open, "launcher": true, "draft": "kept draft"},
        "language": "hr-HR", "theme": null, "threads": [], "active_thread": null, "outbox": [],
        "config": {
            "id": widget, "title": "Test", "color": "#0b57d0",
            "themes": {"dark": {"primary": "#111111"}}, "languages": [], "default_language": "en-US",
            "multi_thread": false, "attachments": {"max_bytes": 1000000, "allowed_types": ["image/*"]},
            "offline_message": "", "online": false, "ws_path": "/v1/ws"
        }
    });
    state.to_string()
}

thread_local! {
    static BOOTED: Cell<bool> = const { Cell::new(false) };
    /// Commands whose callbacks ran, in order, for the calls queued before boot.
    static REPLAYED: Array = Array::new();
}

/// Starts the driver once for the whole page. Like the snippet, it first installs a stub
/// `liveChat` whose queue holds calls made "before the script loaded".
fn ensure_booted() {
    if BOOTED.with(|b| b.replace(true)) {
        return;
    }
    storage().set_item(KEY, &cached_state(false)).unwrap();
    let stub = Object::new();
    let queue = Array::new();
    for (cmd, arg) in [("init", JsValue::from_str(WIDGET)), ("show", JsValue::NULL), ("set_language", "de-DE".into())] {
        let name = cmd.to_string();
        let cb = Closure::<dyn Fn(JsValue, JsValue)>::new(move |_e: JsValue, _r: JsValue| {
            REPLAYED.with(|r| r.push(&name.clone().into()));
        });
        queue.push(&Array::of3(&cmd.into(), &arg, cb.as_ref()));
        cb.forget();
    }
    Reflect::set(&stub, &"q".into(), &queue).unwrap();
    Reflect::set(&window(), &"liveChat".into(), &stub).unwrap();
    livechat_widget::boot("http://127.0.0.1:9".into(), None, JsValue::UNDEFINED, None, JsValue::UNDEFINED);
}

struct Answer {
    error: JsValue,
    result: JsValue,
    calls: Rc<Cell<u32>>,
}

impl Answer {
    fn code(&self) -> Option<String> {
        Reflect::get(&self.error, &"code".into()).ok().and_then(|c| c.as_string())
    }
    fn message(&self) -> String {
        Reflect::get(&self.error, &"message".into()).ok().and_then(|c| c.as_string()).unwrap_or_default()
    }
    fn field(&self, name: &str) -> JsValue {
        Reflect::get(&self.result, &name.into()).unwrap_or(JsValue::UNDEFINED)
    }
}

async fn sleep(ms: i32) {
    let p = Promise::new(&mut |resolve, _| {
        window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms).unwrap();
    });
    JsFuture::from(p).await.unwrap();
}

fn live_chat() -> Function {
    Reflect::get(&window(), &"liveChat".into()).unwrap().dyn_into().unwrap()
}

/// Calls `liveChat(command, arg, cb)` and waits for the callback (or 1 s).
async fn call(command: &str, arg: JsValue) -> Answer {
    call_within(command, arg, 1_000).await
}

/// Leaves the active widget for a throwaway one (`clear` allows switching widgets), ready at
/// once on its cached configuration, and clears that one too.
async fn switch_away() {
    let _ = call("clear", JsValue::NULL).await;
    storage().set_item("livechat:switch-away", &cached_state_of("switch-away", false)).unwrap();
    let a = call("init", "switch-away".into()).await;
    assert!(a.error.is_null() || a.error.is_undefined(), "init failed: {:?}", a.error);
    let _ = call("clear", JsValue::NULL).await;
}

/// [`call`], waiting up to `ms` for the callback.
async fn call_within(command: &str, arg: JsValue, ms: u32) -> Answer {
    let calls = Rc::new(Cell::new(0u32));
    let slot: Rc<std::cell::RefCell<(JsValue, JsValue)>> = Default::default();
    let (c, s) = (calls.clone(), slot.clone());
    let cb = Closure::<dyn Fn(JsValue, JsValue)>::new(move |e: JsValue, r: JsValue| {
        c.set(c.get() + 1);
        *s.borrow_mut() = (e, r);
    });
    let thrown = live_chat().call3(&JsValue::NULL, &command.into(), &arg, cb.as_ref());
    assert!(thrown.is_ok(), "liveChat threw into the page for {command}");
    for _ in 0..ms / 20 {
        if calls.get() > 0 {
            break;
        }
        sleep(20).await;
    }
    sleep(20).await; // a second callback would show up here
    cb.forget();
    let (error, result) = slot.borrow().clone();
    Answer { error, result, calls }
}

fn json(text: &str) -> JsValue {
    JSON::parse(text).unwrap()
}

async fn fresh_start() {
    ensure_booted();
    switch_away().await;
    storage().set_item(KEY, &cached_state(false)).unwrap();
    let a = call("init", WIDGET.into()).await;
    assert!(a.error.is_null() || a.error.is_undefined(), "init failed: {:?}", a.error);
}

#[wasm_bindgen_test]
async fn queued_calls_replay_in_order_when_the_widget_boots() {
    ensure_booted();
    sleep(50).await;
    let got: Vec<String> = REPLAYED.with(|r| r.iter().filter_map(|v| v.as_string()).collect());
    assert_eq!(got, vec!["init", "show", "set_language"]);
    assert_eq!(Reflect::get(&live_chat(), &"loaded".into()).unwrap(), JsValue::TRUE);
    // Booting again (the script loaded twice) changes nothing.
    livechat_widget::boot("http://127.0.0.1:9".into(), None, JsValue::UNDEFINED, None, JsValue::UNDEFINED);
    let hosts = window().document().unwrap().query_selector_all("#livechat-widget").unwrap();
    assert!(hosts.length() <= 1);
}

#[wasm_bindgen_test]
async fn every_command_answers_once_valid_and_invalid() {
    fresh_start().await;
    let valid: Vec<(&str, JsValue)> = vec![
        ("init", WIDGET.into()),
        ("show", JsValue::NULL),
        ("hide", JsValue::NULL),
        ("show_launcher", JsValue::NULL),
        ("hide_launcher", JsValue::NULL),
        ("set_theme", "dark".into()),
        ("send", json(r#"{"type":"DRAFT","message":"Hi, I need help with my recent order number:"}"#)),
        ("set_language", "it-IT".into()),
    ];
    for (cmd, arg) in valid {
        let a = call(cmd, arg).await;
        assert_eq!(a.calls.get(), 1, "{cmd} answered once");
        assert!(a.error.is_null(), "{cmd} failed: {:?}", JSON::stringify(&a.error));
    }
    let invalid: Vec<(&str, JsValue, &str)> = vec![
        ("nope", JsValue::NULL, "unknown_command"),
        ("init", 42.into(), "invalid_argument"),
        ("init", "other-widget".into(), "already_initialized"),
        ("auth", "not a jwt".into(), "invalid_argument"),
        ("logout", JsValue::NULL, "not_authenticated"),
        ("show", "x".into(), "invalid_argument"),
        ("set_theme", "neon".into(), "unknown_theme"),
        ("set_theme", "".into(), "invalid_argument"),
        ("send", json(r#"{"type":"BASIC"}"#), "invalid_argument"),
        ("send", json(r#"{"type":"BASIC","attachment":"aGk="}"#), "invalid_argument"),
        ("send", json(r#"{"type":"CUSTOM_DATA"}"#), "invalid_argument"),
        ("send_contextual_data", json(r#"{"metadata":[1]}"#), "invalid_argument"),
        ("send_contextual_data", json(r#"{"metadata":{"a":1},"multiThreadStrategy":"X"}"#), "invalid_argument"),
        ("set_language", 5.into(), "invalid_argument"),
    ];
    for (cmd, arg, code) in invalid {
        let a = call(cmd, arg).await;
        assert_eq!(a.calls.get(), 1, "{cmd} answered once");
        assert_eq!(a.code().as_deref(), Some(code), "{cmd}");
        let message = Reflect::get(&a.error, &"message".into()).unwrap().as_string().unwrap_or_default();
        assert!(!message.is_empty(), "{cmd} error has a message");
    }
    let fallback = call("set_language", "xx-XX".into()).await;
    assert_eq!(fallback.field("language").as_string().as_deref(), Some("en-US"));
    assert_eq!(fallback.field("fallback"), JsValue::TRUE);
}

#[wasm_bindgen_test]
async fn hostile_arguments_get_clean_errors() {
    fresh_start().await;
    let cyclic = Object::new();
    Reflect::set(&cyclic, &"self".into(), &cyclic).unwrap();
    let deep = json(&("[".repeat(2000) + &"]".repeat(2000)));
    let function: JsValue = Function::new_no_args("return 1").into();
    let symbol: JsValue = js_sys::Symbol::for_("x").into();
    let bigint: JsValue = js_sys::BigInt::from(5u64).into();
    for arg in [cyclic.into(), deep, function, symbol, bigint] {
        let a = call("send_contextual_data", arg).await;
        assert_eq!(a.calls.get(), 1);
        assert_eq!(a.code().as_deref(), Some("invalid_argument"));
    }
    let a = call(&"x".repeat(100_000), JsValue::NULL).await;
    assert_eq!(a.code().as_deref(), Some("unknown_command"));
    // The widget still works.
    assert!(call("show", JsValue::NULL).await.error.is_null());
}

#[wasm_bindgen_test]
async fn a_throwing_callback_does_not_break_the_widget() {
    fresh_start().await;
    let thrower = Function::new_with_args("e, r", "throw new Error('page bug')");
    let r = live_chat().call3(&JsValue::NULL, &"show".into(), &JsValue::NULL, &thrower);
    assert!(r.is_ok(), "nothing thrown into the page");
    let a = call("hide", JsValue::NULL).await;
    assert!(a.error.is_null());
    assert_eq!(a.field("open"), JsValue::FALSE);
}

#[wasm_bindgen_test]
async fn a_call_from_inside_a_callback_is_answered_after_it() {
    fresh_start().await;
    let order = Array::new();
    let o = order.clone();
    let inner = Closure::<dyn Fn(JsValue, JsValue)>::new(move |_e: JsValue, _r: JsValue| {
        o.push(&"inner".into());
    });
    let o = order.clone();
    let inner_fn: Function = inner.as_ref().clone().unchecked_into();
    inner.forget();
    let outer = Closure::<dyn Fn(JsValue, JsValue)>::new(move |_e: JsValue, _r: JsValue| {
        let _ = live_chat().call3(&JsValue::NULL, &"hide".into(), &JsValue::NULL, &inner_fn);
        o.push(&"outer".into());
    });
    let _ = live_chat().call3(&JsValue::NULL, &"show".into(), &JsValue::NULL, outer.as_ref());
    outer.forget();
    sleep(30).await;
    let got: Vec<String> = order.iter().filter_map(|v| v.as_string()).collect();
    assert_eq!(got, vec!["outer", "inner"], "no re-entry: the inner call waits for the outer callback");
}

#[wasm_bindgen_test]
async fn state_is_persisted_and_restored_from_storage() {
    fresh_start().await;
    call("show", JsValue::NULL).await;
    call("send", json(r#"{"type":"DRAFT","message":"draft to keep"}"#)).await;
    // The state is written in a task after the event's (off its critical path).
    sleep(10).await;
    let stored = storage().get_item(KEY).unwrap().expect("state written");
    let parsed = JSON::parse(&stored).unwrap();
    let ui = Reflect::get(&parsed, &"ui".into()).unwrap();
    assert_eq!(Reflect::get(&ui, &"open".into()).unwrap(), JsValue::TRUE);
    assert_eq!(Reflect::get(&ui, &"draft".into()).unwrap().as_string().as_deref(), Some("draft to keep"));
    // The visible textarea holds the draft.
    let host = window().document().unwrap().get_element_by_id("livechat-widget").expect("widget mounted");
    let textarea = host.shadow_root().unwrap().query_selector("textarea").unwrap().unwrap();
    assert_eq!(textarea.unchecked_into::<web_sys::HtmlTextAreaElement>().value(), "draft to keep");
}

#[wasm_bindgen_test]
async fn corrupt_stored_data_starts_clean() {
    ensure_booted();
    switch_away().await;
    storage().set_item("livechat:corrupt-widget", "{not json").unwrap();
    // No server here: with the garbage discarded there is no cached config either, so init
    // fails once the configuration request failed three times (retried after 1 s and 3 s).
    let a = call_within("init", "corrupt-widget".into(), 8_000).await;
    assert_eq!(a.code().as_deref(), Some("config_unavailable"));
    assert!(a.message().contains("3 attempts"), "{}", a.message());
    assert_eq!(a.calls.get(), 1);
}

#[wasm_bindgen_test]
async fn throwing_local_storage_keeps_the_widget_working() {
    fresh_start().await;
    let proto = Reflect::get(&js_sys::global(), &"Storage".into()).unwrap();
    let proto = Reflect::get(&proto, &"prototype".into()).unwrap();
    let original = Reflect::get(&proto, &"setItem".into()).unwrap();
    let thrower = Function::new_no_args("throw new DOMException('full', 'QuotaExceededError')");
    Reflect::set(&proto, &"setItem".into(), &thrower).unwrap();
    let shown = call("show", JsValue::NULL).await;
    let drafted = call("send", json(r#"{"type":"DRAFT","message":"in memory"}"#)).await;
    Reflect::set(&proto, &"setItem".into(), &original).unwrap();
    assert!(shown.error.is_null() && drafted.error.is_null());
    assert_eq!(drafted.field("draft").as_string().as_deref(), Some("in memory"));
}

/// The stored text is written by hand in Rust (`wire`); it must be exactly what
/// `JSON.stringify` gives for the same data (the format before, with serde-wasm-bindgen):
/// JavaScript's number formatting, escaping and key order (array indices first).
#[wasm_bindgen_test]
async fn stored_text_is_exactly_what_json_stringify_writes() {
    fresh_start().await;
    // Keys in the order a sorted map keeps them, index keys first as JavaScript orders them.
    let metadata = r#"{"0":0,"2":"two","10":"ten","-0":-0,"a\"b":"q\"uote","big":1e+21,"ctl":"\u0000\u001f\b\f\n\r\t\\/","em":"😀 漢 é \u2028\u2029","f":0.1,"neg":-12.5,"nested":{"arr":[1,2.5,null,true,false,{}],"tiny":5e-324,"x":-1e-7},"safe":9007199254740991,"unsafe":9007199254740993}"#;
    let arg = format!(r#"{{"metadata":{metadata},"multiThreadStrategy":"ALL"}}"#);
    let _ = call("send_contextual_data", json(&arg)).await;
    let custom = r#"{"type":"CUSTOM_DATA","customData":{"z":[1.25,"\u0001"],"a":null},"userMessage":"hi \"there\"\n"}"#;
    let _ = call("send", json(custom)).await;
    let stored = storage().get_item(KEY).unwrap().expect("state written");
    let canonical = JSON::stringify(&JSON::parse(&stored).unwrap()).unwrap().as_string().unwrap();
    assert_eq!(stored, canonical);
    let parsed = JSON::parse(&stored).unwrap();
    let outbox: Array = Reflect::get(&parsed, &"outbox".into()).unwrap().dyn_into().unwrap();
    let request = Reflect::get(&outbox.get(0), &"request".into()).unwrap();
    let data = Reflect::get(&request, &"contextual_data".into()).unwrap();
    let written = JSON::stringify(&Reflect::get(&data, &"metadata".into()).unwrap()).unwrap().as_string().unwrap();
    let given = JSON::stringify(&json(metadata)).unwrap().as_string().unwrap();
    assert_eq!(written, given);
    assert_eq!(outbox.length(), 2, "{stored}");
}
