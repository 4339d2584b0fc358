//! Decodes server frames from the value `JSON.parse` produced.
//!
//! serde's derive for internally tagged enums (`{"type": …}`) buffers every frame into an
//! intermediate `Content` tree and instantiates every nested type a second time for it,
//! which cost most of the wasm's size. The widget instead reads the tag, then lets serde
//! decode each field into its protocol type directly. The server keeps the derive.

use livechat_protocol::{Event, ServerFrame};
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;

use super::bridge::get;

fn field<T: DeserializeOwned>(obj: &JsValue, name: &str) -> Option<T> {
    serde_wasm_bindgen::from_value(get(obj, name)).ok()
}

/// Decodes one server frame; `None` for anything that is not a valid frame.
pub fn decode(v: &JsValue) -> Option<ServerFrame> {
    let f = |name: &str| get(v, name);
    Some(match get(v, "type").as_string()?.as_str() {
        "welcome" => ServerFrame::Welcome {
            protocol: field(v, "protocol")?,
            session: field(v, "session")?,
            customer: field(v, "customer")?,
            resumed: field(v, "resumed")?,
            online: field(v, "online")?,
        },
        "sync" => ServerFrame::Sync { last_seq: field(v, "last_seq")?, threads: field(v, "threads")?, pending_metadata: None },
        "event" => ServerFrame::Event { seq: field(v, "seq")?, event: decode_event(&f("event"))? },
        "ack" => ServerFrame::Ack { req: field(v, "req")?, message: field(v, "message")? },
        "context_ack" => ServerFrame::ContextAck {
            req: field(v, "req")?,
            thread_ids: field(v, "thread_ids")?,
            queued: field(v, "queued")?,
        },
        "auth_ok" => {
            ServerFrame::AuthOk { req: field(v, "req")?, customer: field(v, "customer")?, session: field(v, "session")? }
        }
        "logged_out" => ServerFrame::LoggedOut { req: field(v, "req")? },
        "error" => ServerFrame::Error {
            req: field(v, "req")?,
            code: field(v, "code")?,
            message: field(v, "message")?,
            retry_after_ms: field(v, "retry_after_ms")?,
        },
        "pong" => ServerFrame::Pong { nonce: field(v, "nonce")? },
        _ => return None,
    })
}

fn decode_event(v: &JsValue) -> Option<Event> {
    Some(match get(v, "kind").as_string()?.as_str() {
        "message" => Event::Message { message: field(v, "message")? },
        "thread_opened" => Event::ThreadOpened { thread: field(v, "thread")? },
        "thread_status" => Event::ThreadStatus { thread_id: field(v, "thread_id")?, status: field(v, "status")? },
        "availability" => Event::Availability { online: field(v, "online")? },
        _ => return None,
    })
}
