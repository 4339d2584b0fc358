//! The JavaScript boundary: `JsValue` in, typed command out; results and errors back to JS.
//! Nothing here throws into the page: every failure becomes an [`ApiError`].

use js_sys::{Function, Reflect, JSON};
use livechat_protocol::Json;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};

use crate::core::command::{self, check_json_depth, MAX_ARG_DEPTH};
use crate::core::{ApiError, Command, ErrorCode};

/// Largest argument accepted, as JSON text (room for a 10 MB attachment in base64).
const MAX_ARG_BYTES: u32 = 16 * 1024 * 1024;

/// Turns `liveChat(command, arg)` into a typed command.
pub fn parse_call(command: &JsValue, arg: &JsValue) -> Result<Command, ApiError> {
    let Some(name) = command.as_string() else {
        return Err(ApiError::new(
            ErrorCode::UnknownCommand,
            "the first argument of liveChat must be a command name string, e.g. 'init'",
        ));
    };
    if !command::NAMES.contains(&name.as_str()) {
        // The name is checked first: an unknown command is reported as such whatever its argument.
        return command::parse(&name, None);
    }
    command::parse(&name, to_json(arg)?)
}

/// Converts an argument through the browser's own JSON, with size and depth limits, so
/// cycles, getters that throw, BigInts and hostile nesting end as errors, not panics.
fn to_json(arg: &JsValue) -> Result<Option<Json>, ApiError> {
    if arg.is_undefined() || arg.is_null() {
        return Ok(None);
    }
    if arg.is_function() || arg.is_symbol() || arg.is_bigint() {
        return Err(ApiError::invalid(
            "the argument must be JSON data (string, number, object…), not a function, symbol or BigInt",
        ));
    }
    let text = JSON::stringify(arg)
        .map_err(|_| ApiError::invalid("the argument cannot be turned into JSON (it has a cycle or a BigInt)"))?;
    if !text.is_string() {
        // e.g. an object whose toJSON returns undefined or a function
        return Err(ApiError::invalid("the argument is not JSON data (JSON.stringify gave undefined)"));
    }
    if text.length() > MAX_ARG_BYTES {
        return Err(ApiError::invalid("the argument is larger than 16 MB"));
    }
    let Some(text) = text.as_string() else { return Ok(None) };
    check_json_depth(&text, MAX_ARG_DEPTH)?;
    let parsed = JSON::parse(&text).map_err(|_| ApiError::invalid("the argument is not valid JSON"))?;
    serde_wasm_bindgen::from_value::<Json>(parsed)
        .map(Some)
        .map_err(|_| ApiError::invalid("the argument contains a value that is not JSON data"))
}

/// Serializes a value the way `JSON.parse` would have produced it (plain objects, nulls).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).unwrap_or(JsValue::NULL)
}

/// Calls a page callback; a callback that throws is reported, never propagated.
pub fn invoke(callback: &Function, error: JsValue, result: JsValue) {
    let outcome = if error.is_null() {
        callback.call2(&JsValue::NULL, &JsValue::NULL, &result)
    } else {
        callback.call1(&JsValue::NULL, &error)
    };
    if let Err(thrown) = outcome {
        web_sys::console::error_2(&"liveChat: a callback threw; the widget carries on:".into(), &thrown);
    }
}

/// The callback argument if it is a function; warns about anything else that is not absent.
pub fn callback_of(value: &JsValue) -> Option<Function> {
    if value.is_undefined() || value.is_null() {
        return None;
    }
    match value.dyn_ref::<Function>() {
        Some(f) => Some(f.clone()),
        None => {
            web_sys::console::warn_1(&"liveChat: the third argument should be a callback function; ignoring it".into());
            None
        }
    }
}

/// Reads `obj[key]` without throwing.
pub fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}
