//! The JavaScript boundary: `JsValue` in, typed command out; results and errors back to JS.
//! Nothing here throws into the page: every failure becomes an [`ApiError`].

use js_sys::{Array, Function, Object, Reflect, JSON};
use livechat_protocol::Json;
use wasm_bindgen::{JsCast, JsValue};

use crate::core::command::{self, check_json_depth, MAX_ARG_DEPTH};
use crate::core::{ApiError, Command, ErrorCode, Reply};
use crate::wire;

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
    from_js(&parsed).map(Some).ok_or_else(|| ApiError::invalid("the argument contains a value that is not JSON data"))
}

/// Deepest nesting [`from_js`] converts (arguments are limited to [`MAX_ARG_DEPTH`] before).
const MAX_VALUE_DEPTH: u32 = 100;

/// Converts what `JSON.parse` produced into a [`Json`] value (the readers in [`wire`] take
/// it from there). Integers within JavaScript's safe range become integers, other numbers
/// floats; `None` when nested deeper than [`MAX_VALUE_DEPTH`].
pub fn from_js(v: &JsValue) -> Option<Json> {
    convert(v, 0)
}

fn convert(v: &JsValue, depth: u32) -> Option<Json> {
    if let Some(b) = v.as_bool() {
        return Some(Json::Bool(b));
    }
    if let Some(f) = v.as_f64() {
        return Some(if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_991.0 {
            Json::from(f as i64)
        } else {
            serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number)
        });
    }
    if let Some(s) = v.as_string() {
        return Some(Json::String(s));
    }
    if !v.is_object() {
        return Some(Json::Null);
    }
    if depth >= MAX_VALUE_DEPTH {
        return None;
    }
    if Array::is_array(v) {
        return Array::from(v).iter().map(|item| convert(&item, depth + 1)).collect::<Option<_>>().map(Json::Array);
    }
    let mut map = serde_json::Map::new();
    for key in Object::keys(v.unchecked_ref::<Object>()).iter() {
        let value = convert(&Reflect::get(v, &key).unwrap_or(JsValue::NULL), depth + 1)?;
        map.insert(key.as_string()?, value);
    }
    Some(Json::Object(map))
}

/// A callback's result as a plain object.
pub fn reply_js(reply: &Reply) -> JsValue {
    parse(&wire::write_reply(reply))
}

/// An error as a plain `{code, message[, reason]}` object.
pub fn error_js(error: &ApiError) -> JsValue {
    parse(&wire::write_error(error))
}

fn parse(text: &str) -> JsValue {
    JSON::parse(text).unwrap_or(JsValue::NULL)
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
