//! Hand-written JSON readers and writers for the widget's own formats: the stored state,
//! the wire frames, the widget configuration and the results handed to callbacks.
//!
//! The serde derives on these types stay (the server and the native tests use them), but
//! in the wasm they cost most of the binary: every struct instantiated serde's visitors for
//! serde-wasm-bindgen, and serde's error paths pulled in float formatting. Here instead:
//!
//! - **reading** goes over a [`Json`] value (the driver converts the browser's `JSON.parse`
//!   output into one), with serde's rules: a missing or wrong-typed required field fails,
//!   a missing `#[serde(default)]` field takes its default, a `null` or missing `Option`
//!   is `None`, unknown fields are ignored. Any failure is `None`.
//! - **writing** produces the exact text `JSON.stringify` gave for the value serde-wasm-bindgen
//!   built before: same field order, same skipped fields, same string escaping, object keys
//!   that are array indices first in numeric order (as JavaScript orders them), and numbers
//!   formatted by JavaScript itself in the wasm (so no float formatting code in Rust).
//!
//! `tests/wire.rs` checks both directions against serde_json and the derives.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use livechat_protocol::{
    Attachment, AttachmentPolicy, Author, ClientFrame, Customer, Event, Json, Message, MultiThreadStrategy,
    OutgoingAttachment, OutgoingBody, ServerFrame, Theme, Thread, ThreadStatus, WidgetConfig,
};
use serde_json::Map;

use crate::core::effect::Reply;
use crate::core::state::{Delivery, OutboxItem, OutboxRequest, StoredState, UiState};
use crate::core::ApiError;

// ---------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------

type Obj = Map<String, Json>;
type Read<T> = fn(&Json) -> Option<T>;

fn string(v: &Json) -> Option<String> {
    v.as_str().map(String::from)
}

fn boolean(v: &Json) -> Option<bool> {
    v.as_bool()
}

fn uint(v: &Json) -> Option<u64> {
    v.as_u64()
}

fn uint32(v: &Json) -> Option<u32> {
    u32::try_from(v.as_u64()?).ok()
}

fn list<T>(v: &Json, item: Read<T>) -> Option<Vec<T>> {
    v.as_array()?.iter().map(item).collect()
}

fn strings(v: &Json) -> Option<Vec<String>> {
    list(v, string)
}

// Maps are built by `insert`, in the source's (sorted) order: `collect` would sort again and
// bring a copy of the slice sort for each map type into the wasm.
fn object(v: &Json) -> Option<BTreeMap<String, Json>> {
    let mut map = BTreeMap::new();
    for (k, v) in v.as_object()? {
        map.insert(k.clone(), v.clone());
    }
    Some(map)
}

/// A required field.
fn req<T>(o: &Obj, key: &str, read: Read<T>) -> Option<T> {
    read(o.get(key)?)
}

/// An `Option` field: missing or `null` is `None`.
fn opt<T>(o: &Obj, key: &str, read: Read<T>) -> Option<Option<T>> {
    match o.get(key) {
        None | Some(Json::Null) => Some(None),
        Some(v) => read(v).map(Some),
    }
}

/// A `#[serde(default)]` field: missing takes the default, present must be valid.
fn or_default<T: Default>(o: &Obj, key: &str, read: Read<T>) -> Option<T> {
    match o.get(key) {
        None => Some(T::default()),
        Some(v) => read(v),
    }
}

/// An externally tagged enum variant: `"name"` (unit) or `{"name": payload}`.
fn variant(v: &Json) -> Option<(&str, &Json)> {
    match v {
        Json::String(s) => Some((s, &Json::Null)),
        Json::Object(o) if o.len() == 1 => o.iter().next().map(|(k, v)| (k.as_str(), v)),
        _ => None,
    }
}

fn customer(v: &Json) -> Option<Customer> {
    let o = v.as_object()?;
    Some(Customer { subject: req(o, "subject", string)?, subject_type: req(o, "subject_type", string)? })
}

fn thread_status(v: &Json) -> Option<ThreadStatus> {
    ThreadStatus::parse(v.as_str()?)
}

fn author(v: &Json) -> Option<Author> {
    Author::parse(v.as_str()?)
}

fn strategy(v: &Json) -> Option<MultiThreadStrategy> {
    MultiThreadStrategy::parse(v.as_str()?)
}

fn attachment(v: &Json) -> Option<Attachment> {
    let o = v.as_object()?;
    Some(Attachment {
        id: req(o, "id", string)?,
        file_name: req(o, "file_name", string)?,
        content_type: req(o, "content_type", string)?,
        size: req(o, "size", uint)?,
        url: req(o, "url", string)?,
    })
}

fn message(v: &Json) -> Option<Message> {
    let o = v.as_object()?;
    Some(Message {
        id: req(o, "id", string)?,
        thread_id: req(o, "thread_id", string)?,
        client_id: opt(o, "client_id", string)?,
        author: req(o, "author", author)?,
        agent_name: opt(o, "agent_name", string)?,
        text: opt(o, "text", string)?,
        attachment: opt(o, "attachment", attachment)?,
        custom: or_default(o, "custom", boolean)?,
        created_at: req(o, "created_at", uint)?,
    })
}

fn thread(v: &Json) -> Option<Thread> {
    let o = v.as_object()?;
    Some(Thread {
        id: req(o, "id", string)?,
        status: req(o, "status", thread_status)?,
        created_at: req(o, "created_at", uint)?,
        messages: or_default(o, "messages", |v| list(v, message))?,
    })
}

fn theme(v: &Json) -> Option<Theme> {
    let o = v.as_object()?;
    Some(Theme {
        primary: opt(o, "primary", string)?,
        on_primary: opt(o, "on_primary", string)?,
        background: opt(o, "background", string)?,
        text: opt(o, "text", string)?,
        font: opt(o, "font", string)?,
        launcher_position: opt(o, "launcher_position", string)?,
    })
}

fn themes(v: &Json) -> Option<BTreeMap<String, Theme>> {
    let mut map = BTreeMap::new();
    for (k, v) in v.as_object()? {
        map.insert(k.clone(), theme(v)?);
    }
    Some(map)
}

fn policy(v: &Json) -> Option<AttachmentPolicy> {
    let o = v.as_object()?;
    Some(AttachmentPolicy { max_bytes: req(o, "max_bytes", uint)?, allowed_types: req(o, "allowed_types", strings)? })
}

/// Reads a widget configuration (`GET /v1/widgets/{id}/config`, or the cached copy).
pub fn widget_config(v: &Json) -> Option<WidgetConfig> {
    let o = v.as_object()?;
    Some(WidgetConfig {
        id: req(o, "id", string)?,
        title: req(o, "title", string)?,
        color: req(o, "color", string)?,
        themes: or_default(o, "themes", themes)?,
        languages: or_default(o, "languages", strings)?,
        default_language: match o.get("default_language") {
            None => String::from(livechat_protocol::DEFAULT_LANGUAGE),
            Some(v) => string(v)?,
        },
        multi_thread: or_default(o, "multi_thread", boolean)?,
        attachments: req(o, "attachments", policy)?,
        offline_message: or_default(o, "offline_message", string)?,
        online: or_default(o, "online", boolean)?,
        ws_path: match o.get("ws_path") {
            None => String::from("/v1/ws"),
            Some(v) => string(v)?,
        },
    })
}

fn ui(v: &Json) -> Option<UiState> {
    let o = v.as_object()?;
    Some(UiState {
        open: req(o, "open", boolean)?,
        launcher: req(o, "launcher", boolean)?,
        draft: or_default(o, "draft", string)?,
        unread: or_default(o, "unread", uint32)?,
        thread_list: or_default(o, "thread_list", boolean)?,
        new_thread: or_default(o, "new_thread", boolean)?,
    })
}

fn outgoing_attachment(v: &Json) -> Option<OutgoingAttachment> {
    let o = v.as_object()?;
    Some(OutgoingAttachment { file_name: req(o, "file_name", string)?, content: req(o, "content", string)? })
}

/// The stored (externally tagged) form of a message body.
fn stored_body(v: &Json) -> Option<OutgoingBody> {
    let (tag, payload) = variant(v)?;
    let o = payload.as_object()?;
    Some(match tag {
        "basic" => OutgoingBody::Basic {
            text: opt(o, "text", string)?,
            attachment: opt(o, "attachment", outgoing_attachment)?,
        },
        "custom_data" => OutgoingBody::CustomData {
            custom_data: req(o, "custom_data", |v| Some(v.clone()))?,
            agent_message: opt(o, "agent_message", string)?,
            user_message: opt(o, "user_message", string)?,
        },
        _ => return None,
    })
}

fn outbox_request(v: &Json) -> Option<OutboxRequest> {
    let (tag, payload) = variant(v)?;
    let o = payload.as_object()?;
    Some(match tag {
        "message" => OutboxRequest::Message {
            thread_id: opt(o, "thread_id", string)?,
            new_thread: or_default(o, "new_thread", boolean)?,
            body: req(o, "body", stored_body)?,
        },
        "contextual_data" => OutboxRequest::ContextualData {
            metadata: req(o, "metadata", object)?,
            strategy: req(o, "strategy", strategy)?,
        },
        _ => return None,
    })
}

fn delivery(v: &Json) -> Option<Delivery> {
    let (tag, payload) = variant(v)?;
    Some(match tag {
        "sending" if payload.is_null() => Delivery::Sending,
        "failed" => {
            let o = payload.as_object()?;
            Delivery::Failed { code: req(o, "code", string)?, message: req(o, "message", string)? }
        }
        _ => return None,
    })
}

fn outbox_item(v: &Json) -> Option<OutboxItem> {
    let o = v.as_object()?;
    Some(OutboxItem {
        id: req(o, "id", string)?,
        request: req(o, "request", outbox_request)?,
        status: req(o, "status", delivery)?,
        created_at: req(o, "created_at", uint)?,
    })
}

/// Reads a stored state; `None` for anything not of the stored format.
pub fn stored_state(v: &Json) -> Option<StoredState> {
    let o = v.as_object()?;
    Some(StoredState {
        version: req(o, "version", uint32)?,
        widget_id: req(o, "widget_id", string)?,
        session: opt(o, "session", string)?,
        customer: opt(o, "customer", customer)?,
        last_seq: or_default(o, "last_seq", uint)?,
        ui: req(o, "ui", ui)?,
        language: opt(o, "language", string)?,
        theme: opt(o, "theme", string)?,
        threads: or_default(o, "threads", |v| list(v, thread))?,
        active_thread: opt(o, "active_thread", string)?,
        outbox: or_default(o, "outbox", |v| list(v, outbox_item))?,
        config: opt(o, "config", widget_config)?,
    })
}

fn event(v: &Json) -> Option<Event> {
    let o = v.as_object()?;
    Some(match o.get("kind")?.as_str()? {
        "message" => Event::Message { message: req(o, "message", message)? },
        "thread_opened" => Event::ThreadOpened { thread: req(o, "thread", thread)? },
        "thread_status" => {
            Event::ThreadStatus { thread_id: req(o, "thread_id", string)?, status: req(o, "status", thread_status)? }
        }
        "availability" => Event::Availability { online: req(o, "online", boolean)? },
        _ => return None,
    })
}

/// Reads one server frame; `None` for anything that is not a valid frame. `pending_metadata`
/// of `sync` is informational and not read.
pub fn server_frame(v: &Json) -> Option<ServerFrame> {
    let o = v.as_object()?;
    Some(match o.get("type")?.as_str()? {
        "welcome" => ServerFrame::Welcome {
            protocol: req(o, "protocol", uint32)?,
            session: req(o, "session", string)?,
            customer: opt(o, "customer", customer)?,
            resumed: req(o, "resumed", boolean)?,
            online: req(o, "online", boolean)?,
        },
        "sync" => ServerFrame::Sync {
            last_seq: req(o, "last_seq", uint)?,
            threads: req(o, "threads", |v| list(v, thread))?,
            pending_metadata: None,
        },
        "event" => ServerFrame::Event { seq: req(o, "seq", uint)?, event: req(o, "event", event)? },
        "ack" => ServerFrame::Ack { req: req(o, "req", string)?, message: req(o, "message", message)? },
        "context_ack" => ServerFrame::ContextAck {
            req: req(o, "req", string)?,
            thread_ids: req(o, "thread_ids", strings)?,
            queued: req(o, "queued", boolean)?,
        },
        "auth_ok" => ServerFrame::AuthOk {
            req: req(o, "req", string)?,
            customer: req(o, "customer", customer)?,
            session: req(o, "session", string)?,
        },
        "logged_out" => ServerFrame::LoggedOut { req: req(o, "req", string)? },
        "error" => ServerFrame::Error {
            req: opt(o, "req", string)?,
            code: req(o, "code", string)?,
            message: req(o, "message", string)?,
            retry_after_ms: opt(o, "retry_after_ms", uint)?,
        },
        "pong" => ServerFrame::Pong { nonce: req(o, "nonce", uint)? },
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------

/// JSON text under construction. Commas are placed by looking at the last byte written:
/// after `{`, `[` or nothing, none is needed.
struct Writer {
    out: String,
}

impl Writer {
    fn new() -> Self {
        Self { out: String::with_capacity(256) }
    }

    fn comma(&mut self) {
        if !matches!(self.out.as_bytes().last(), None | Some(b'{' | b'[' | b':')) {
            self.out.push(',');
        }
    }

    /// `"key":` for a field name (plain ASCII, nothing to escape).
    fn key(&mut self, key: &str) {
        self.comma();
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
    }

    fn raw(&mut self, text: &str) {
        self.comma();
        self.out.push_str(text);
    }

    fn str(&mut self, s: &str) {
        self.comma();
        self.out.push('"');
        let mut start = 0;
        for (i, b) in s.bytes().enumerate() {
            let escape = match b {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0x08 => "\\b",
                0x0c => "\\f",
                0..=0x1f => "",
                _ => continue,
            };
            // Slicing at ASCII bytes; `get` keeps the slice-panic path out of the wasm.
            self.out.push_str(s.get(start..i).unwrap_or_default());
            if escape.is_empty() {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                self.out.push_str("\\u00");
                self.out.push(HEX[usize::from(b >> 4)] as char);
                self.out.push(HEX[usize::from(b & 15)] as char);
            } else {
                self.out.push_str(escape);
            }
            start = i + 1;
        }
        self.out.push_str(s.get(start..).unwrap_or_default());
        self.out.push('"');
    }

    fn bool(&mut self, b: bool) {
        self.raw(if b { "true" } else { "false" });
    }

    fn null(&mut self) {
        self.raw("null");
    }

    fn uint(&mut self, n: u64) {
        self.comma();
        self.digits(n);
    }

    fn digits(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for &d in &digits[i..] {
            self.out.push(d as char);
        }
    }

    fn number(&mut self, n: &serde_json::Number) {
        if let Some(u) = n.as_u64() {
            self.uint(u);
        } else if let Some(i) = n.as_i64() {
            self.comma();
            self.out.push('-');
            self.digits(i.unsigned_abs());
        } else if let Some(f) = n.as_f64() {
            self.comma();
            float(f, &mut self.out);
        }
    }

    fn opt_str(&mut self, s: &Option<String>) {
        match s {
            Some(s) => self.str(s),
            None => self.null(),
        }
    }

    /// A field skipped when `None` (`skip_serializing_if = "Option::is_none"`).
    fn some_str(&mut self, key: &str, s: &Option<String>) {
        if let Some(s) = s {
            self.key(key);
            self.str(s);
        }
    }

    fn field_str(&mut self, key: &str, s: &str) {
        self.key(key);
        self.str(s);
    }

    fn field_uint(&mut self, key: &str, n: u64) {
        self.key(key);
        self.uint(n);
    }

    fn field_bool(&mut self, key: &str, b: bool) {
        self.key(key);
        self.bool(b);
    }

    fn strings(&mut self, items: &[String]) {
        self.raw("[");
        for s in items {
            self.str(s);
        }
        self.out.push(']');
    }

    /// An object from a sorted map, with keys in the order JavaScript gives them: array
    /// indices ("0", "17", …) first in numeric order, then the others as inserted.
    fn map<'a, V: 'a>(&mut self, entries: impl Iterator<Item = (&'a String, &'a V)> + Clone, value: fn(&mut Self, &V)) {
        self.raw("{");
        let mut indices: Vec<(&String, &V)> = entries.clone().filter(|(k, _)| is_index(k)).collect();
        // Sorted as strings already; numeric order is by length, then as strings.
        for i in 1..indices.len() {
            let mut j = i;
            while j > 0 && indices[j - 1].0.len() > indices[j].0.len() {
                indices.swap(j - 1, j);
                j -= 1;
            }
        }
        for (k, v) in indices.into_iter().chain(entries.filter(|(k, _)| !is_index(k))) {
            self.str(k);
            self.out.push(':');
            value(self, v);
        }
        self.out.push('}');
    }

    fn json(&mut self, v: &Json) {
        match v {
            Json::Null => self.null(),
            Json::Bool(b) => self.bool(*b),
            Json::Number(n) => self.number(n),
            Json::String(s) => self.str(s),
            Json::Array(items) => {
                self.raw("[");
                for item in items {
                    self.json(item);
                }
                self.out.push(']');
            }
            Json::Object(map) => self.map(map.iter(), Self::json),
        }
    }

    fn end(&mut self) {
        self.out.push('}');
    }
}

/// Whether JavaScript treats an object key as an array index (it then comes first).
fn is_index(k: &str) -> bool {
    let b = k.as_bytes();
    if b.is_empty() || b.len() > 10 || (b.len() > 1 && b[0] == b'0') || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    b.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')) < 4_294_967_295
}

/// Formats a finite float the way JavaScript does, by asking JavaScript.
#[cfg(target_arch = "wasm32")]
fn float(f: f64, out: &mut String) {
    match js_sys::JSON::stringify(&wasm_bindgen::JsValue::from_f64(f)).ok().and_then(|s| s.as_string()) {
        Some(s) => out.push_str(&s),
        None => out.push_str("null"),
    }
}

/// Native builds (tests): serde_json's shortest representation.
#[cfg(not(target_arch = "wasm32"))]
fn float(f: f64, out: &mut String) {
    use core::fmt::Write;
    match serde_json::Number::from_f64(f) {
        Some(n) => {
            let _ = write!(out, "{n}");
        }
        None => out.push_str("null"),
    }
}

fn write_customer(w: &mut Writer, c: &Customer) {
    w.raw("{");
    w.field_str("subject", &c.subject);
    w.field_str("subject_type", &c.subject_type);
    w.end();
}

fn write_attachment(w: &mut Writer, a: &Attachment) {
    w.raw("{");
    w.field_str("id", &a.id);
    w.field_str("file_name", &a.file_name);
    w.field_str("content_type", &a.content_type);
    w.field_uint("size", a.size);
    w.field_str("url", &a.url);
    w.end();
}

fn write_message(w: &mut Writer, m: &Message) {
    w.raw("{");
    w.field_str("id", &m.id);
    w.field_str("thread_id", &m.thread_id);
    w.some_str("client_id", &m.client_id);
    w.field_str("author", m.author.as_str());
    w.some_str("agent_name", &m.agent_name);
    w.some_str("text", &m.text);
    if let Some(a) = &m.attachment {
        w.key("attachment");
        write_attachment(w, a);
    }
    if m.custom {
        w.field_bool("custom", true);
    }
    w.field_uint("created_at", m.created_at);
    w.end();
}

fn write_thread(w: &mut Writer, t: &Thread) {
    w.raw("{");
    w.field_str("id", &t.id);
    w.field_str("status", t.status.as_str());
    w.field_uint("created_at", t.created_at);
    w.key("messages");
    w.raw("[");
    for m in &t.messages {
        write_message(w, m);
    }
    w.out.push(']');
    w.end();
}

fn write_theme(w: &mut Writer, t: &Theme) {
    w.raw("{");
    w.some_str("primary", &t.primary);
    w.some_str("on_primary", &t.on_primary);
    w.some_str("background", &t.background);
    w.some_str("text", &t.text);
    w.some_str("font", &t.font);
    w.some_str("launcher_position", &t.launcher_position);
    w.end();
}

fn write_config(w: &mut Writer, c: &WidgetConfig) {
    w.raw("{");
    w.field_str("id", &c.id);
    w.field_str("title", &c.title);
    w.field_str("color", &c.color);
    w.key("themes");
    w.map(c.themes.iter(), write_theme);
    w.key("languages");
    w.strings(&c.languages);
    w.field_str("default_language", &c.default_language);
    w.field_bool("multi_thread", c.multi_thread);
    w.key("attachments");
    w.raw("{");
    w.field_uint("max_bytes", c.attachments.max_bytes);
    w.key("allowed_types");
    w.strings(&c.attachments.allowed_types);
    w.end();
    w.field_str("offline_message", &c.offline_message);
    w.field_bool("online", c.online);
    w.field_str("ws_path", &c.ws_path);
    w.end();
}


fn write_outgoing_attachment(w: &mut Writer, a: &OutgoingAttachment) {
    w.raw("{");
    w.field_str("file_name", &a.file_name);
    w.field_str("content", &a.content);
    w.end();
}

/// The stored, externally tagged body: `{"basic": {"text": …, "attachment": …}}`, `None` as null.
fn write_stored_body(w: &mut Writer, body: &OutgoingBody) {
    w.raw("{");
    match body {
        OutgoingBody::Basic { text, attachment } => {
            w.key("basic");
            w.raw("{");
            w.key("text");
            w.opt_str(text);
            w.key("attachment");
            match attachment {
                Some(a) => write_outgoing_attachment(w, a),
                None => w.null(),
            }
        }
        OutgoingBody::CustomData { custom_data, agent_message, user_message } => {
            w.key("custom_data");
            w.raw("{");
            w.key("custom_data");
            w.json(custom_data);
            w.key("agent_message");
            w.opt_str(agent_message);
            w.key("user_message");
            w.opt_str(user_message);
        }
    }
    w.end();
    w.end();
}

/// The wire body, tagged by `kind`, `None` fields skipped.
fn write_body(w: &mut Writer, body: &OutgoingBody) {
    w.raw("{");
    match body {
        OutgoingBody::Basic { text, attachment } => {
            w.field_str("kind", OutgoingBody::BASIC);
            w.some_str("text", text);
            if let Some(a) = attachment {
                w.key("attachment");
                write_outgoing_attachment(w, a);
            }
        }
        OutgoingBody::CustomData { custom_data, agent_message, user_message } => {
            w.field_str("kind", OutgoingBody::CUSTOM_DATA);
            w.key("custom_data");
            w.json(custom_data);
            w.some_str("agent_message", agent_message);
            w.some_str("user_message", user_message);
        }
    }
    w.end();
}

fn write_outbox_item(w: &mut Writer, item: &OutboxItem) {
    w.raw("{");
    w.field_str("id", &item.id);
    w.key("request");
    w.raw("{");
    match &item.request {
        OutboxRequest::Message { thread_id, new_thread, body } => {
            w.key("message");
            w.raw("{");
            w.key("thread_id");
            w.opt_str(thread_id);
            w.field_bool("new_thread", *new_thread);
            w.key("body");
            write_stored_body(w, body);
        }
        OutboxRequest::ContextualData { metadata, strategy } => {
            w.key("contextual_data");
            w.raw("{");
            w.key("metadata");
            w.map(metadata.iter(), Writer::json);
            w.field_str("strategy", strategy.as_str());
        }
    }
    w.end();
    w.end();
    w.key("status");
    match &item.status {
        Delivery::Sending => w.str("sending"),
        Delivery::Failed { code, message } => {
            w.raw("{");
            w.key("failed");
            w.raw("{");
            w.field_str("code", code);
            w.field_str("message", message);
            w.end();
            w.end();
        }
    }
    w.field_uint("created_at", item.created_at);
    w.end();
}

/// The stored state as JSON text (the format pinned by `tests/snapshots/stored_state_v1.json`).
pub fn write_stored_state(s: &StoredState) -> String {
    let mut w = Writer::new();
    w.raw("{");
    w.field_uint("version", u64::from(s.version));
    w.field_str("widget_id", &s.widget_id);
    w.key("session");
    w.opt_str(&s.session);
    w.key("customer");
    match &s.customer {
        Some(c) => write_customer(&mut w, c),
        None => w.null(),
    }
    w.field_uint("last_seq", s.last_seq);
    w.key("ui");
    w.raw("{");
    w.field_bool("open", s.ui.open);
    w.field_bool("launcher", s.ui.launcher);
    w.field_str("draft", &s.ui.draft);
    w.field_uint("unread", u64::from(s.ui.unread));
    w.field_bool("thread_list", s.ui.thread_list);
    w.field_bool("new_thread", s.ui.new_thread);
    w.end();
    w.key("language");
    w.opt_str(&s.language);
    w.key("theme");
    w.opt_str(&s.theme);
    w.key("threads");
    w.raw("[");
    for t in &s.threads {
        write_thread(&mut w, t);
    }
    w.out.push(']');
    w.key("active_thread");
    w.opt_str(&s.active_thread);
    w.key("outbox");
    w.raw("[");
    for item in &s.outbox {
        write_outbox_item(&mut w, item);
    }
    w.out.push(']');
    w.key("config");
    match &s.config {
        Some(c) => write_config(&mut w, c),
        None => w.null(),
    }
    w.end();
    w.out
}

/// A client frame as JSON text (tagged by `type`, `None` fields skipped).
pub fn write_client_frame(frame: &ClientFrame) -> String {
    let mut w = Writer::new();
    w.raw("{");
    match frame {
        ClientFrame::Hello { protocol, widget_id, session, last_seq } => {
            w.field_str("type", "hello");
            w.field_uint("protocol", u64::from(*protocol));
            w.field_str("widget_id", widget_id);
            w.some_str("session", session);
            w.field_uint("last_seq", *last_seq);
        }
        ClientFrame::Auth { req, jwt } => {
            w.field_str("type", "auth");
            w.field_str("req", req);
            w.field_str("jwt", jwt);
        }
        ClientFrame::Logout { req } => {
            w.field_str("type", "logout");
            w.field_str("req", req);
        }
        ClientFrame::Send { req, thread_id, new_thread, body } => {
            w.field_str("type", "send");
            w.field_str("req", req);
            w.some_str("thread_id", thread_id);
            if *new_thread {
                w.field_bool("new_thread", true);
            }
            w.key("body");
            write_body(&mut w, body);
        }
        ClientFrame::ContextualData { req, metadata, strategy } => {
            w.field_str("type", "contextual_data");
            w.field_str("req", req);
            w.key("metadata");
            w.map(metadata.iter(), Writer::json);
            w.field_str("strategy", strategy.as_str());
        }
        ClientFrame::Ping { nonce } => {
            w.field_str("type", "ping");
            w.field_uint("nonce", *nonce);
        }
    }
    w.end();
    w.out
}

fn write_customer_js(w: &mut Writer, c: &Customer) {
    w.raw("{");
    w.field_str("subject", &c.subject);
    w.field_str("subjectType", &c.subject_type);
    w.end();
}

/// A callback's result as JSON text (the driver hands `JSON.parse` of it to the page).
pub fn write_reply(reply: &Reply) -> String {
    let mut w = Writer::new();
    w.raw("{");
    match reply {
        Reply::Init(r) => {
            w.field_str("widgetId", &r.widget_id);
            w.field_str("language", &r.language);
            w.field_bool("online", r.online);
            w.key("customer");
            match &r.customer {
                Some(c) => write_customer_js(&mut w, c),
                None => w.null(),
            }
        }
        Reply::Auth(r) => {
            w.key("customer");
            write_customer_js(&mut w, &r.customer);
        }
        Reply::Reset(r) => {
            w.field_str("cleared", &r.cleared);
            w.field_bool("loggedOut", r.logged_out);
        }
        Reply::Ui(r) => {
            w.field_bool("open", r.open);
            w.field_bool("launcher", r.launcher);
        }
        Reply::Theme(r) => w.field_str("theme", &r.theme),
        Reply::Sent(r) => {
            w.field_str("messageId", &r.message_id);
            w.field_str("threadId", &r.thread_id);
            w.field_str("clientId", &r.client_id);
            w.field_uint("createdAt", r.created_at);
        }
        Reply::Draft(r) => w.field_str("draft", &r.draft),
        Reply::Contextual(r) => {
            w.field_str("requestId", &r.request_id);
            w.key("threadIds");
            w.strings(&r.thread_ids);
            w.field_bool("queued", r.queued);
        }
        Reply::Language(r) => {
            w.field_str("language", &r.language);
            w.field_bool("fallback", r.fallback);
            w.some_str("requested", &r.requested);
        }
    }
    w.end();
    w.out
}

/// An error handed to a callback, as JSON text: `{code, message[, reason]}`.
pub fn write_error(e: &ApiError) -> String {
    let mut w = Writer::new();
    w.raw("{");
    w.field_str("code", e.code.as_str());
    w.field_str("message", &e.message);
    w.some_str("reason", &e.reason);
    w.end();
    w.out
}

/// A JSON value as text.
pub fn write_json(v: &Json) -> String {
    let mut w = Writer::new();
    w.json(v);
    w.out
}
