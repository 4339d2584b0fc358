//! Decodes server frames from the value `JSON.parse` produced.
//!
//! serde's derives (through serde-wasm-bindgen) cost most of the wasm's size: the widget
//! converts the parsed value into a [`livechat_protocol::Json`] and reads it with the
//! hand-written readers of [`crate::wire`]. The server keeps the derive.

use livechat_protocol::ServerFrame;
use wasm_bindgen::JsValue;

use super::bridge::from_js;

/// Decodes one server frame; `None` for anything that is not a valid frame.
pub fn decode(v: &JsValue) -> Option<ServerFrame> {
    crate::wire::server_frame(&from_js(v)?)
}
