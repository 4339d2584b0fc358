//! The widget's JSON readers and writers, generated from one declaration per type: the
//! stored state, the wire frames, the widget configuration and the results handed to
//! callbacks.
//!
//! Each type's fields are listed once, below, in the [`declare!`] macro with how each is read
//! and written; the reader and the writer both come from that list. The serde derives of
//! these types (in `livechat-protocol` and `core::state`) stay the reference: the server and
//! the native tests use them, and `tests/wire.rs` checks this layer against them, on fixed
//! and on random documents. The derives are not used in the wasm: through serde-wasm-bindgen
//! or serde_json they cost several KB of gzip (`docs/architecture.md` has the figures).
//!
//! - **Reading** goes over a [`Json`] value (the driver converts the browser's `JSON.parse`
//!   output into one), with serde's rules: a missing or wrong-typed required field fails,
//!   a missing `default` field takes its default, a `null` or missing `Option` is `None`,
//!   unknown fields are ignored. Any failure is `None`.
//! - **Writing** produces the exact text `JSON.stringify` gives for the value serde would
//!   build: same field order, same skipped fields, same string escaping, object keys that are
//!   array indices first in numeric order (as JavaScript orders them), and numbers formatted
//!   by JavaScript itself in the wasm (so no float formatting code in Rust).
//!
//! Field modes (serde's attribute in brackets):
//!
//! | mode | read | write |
//! |---|---|---|
//! | `req` | required | always |
//! | `opt` | missing or `null` = `None` | skipped when `None` (`default, skip_serializing_if = "Option::is_none"`) |
//! | `null` | missing or `null` = `None` | `null` when `None` (a plain `Option`) |
//! | `default` / `default(expr)` | missing = `Default` / `expr` | always (`default`) |
//! | `flag` | missing = `false` | only when `true` (`default, skip_serializing_if = "is_false"`) |
//! | `list` | missing = empty | only when not empty (`default, skip_serializing_if = "Vec::is_empty"`) |
//!
//! `as "key"` renames a field (`camelCase` results); `with Codec` reads and writes it in
//! another form than its type's own (the stored message body, the customer in results).

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use livechat_protocol::{
    Attachment, AttachmentPolicy, Author, ClientFrame, Customer, Event, Json, Message, MultiThreadStrategy,
    OutgoingAttachment, OutgoingBody, ServerFrame, Theme, Thread, ThreadStatus, WidgetConfig, DEFAULT_LANGUAGE,
};

use crate::core::effect::{
    AuthResult, ContextualResult, DraftResult, InitResult, LanguageResult, Reply, ResetResult, SentResult,
    ThemeResult, UiResult,
};
use crate::core::state::{Delivery, OutboxItem, OutboxRequest, StoredState, UiState};
use crate::core::{ApiError, ErrorCode};

// ---------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------

/// Reads a value of any declared type; `None` for anything not of its format.
pub fn read<T>(v: &Json) -> Option<T>
where
    Auto: Codec<T>,
{
    Auto::read(v)
}

/// Writes a value of any declared type as JSON text.
pub fn write<T>(value: &T) -> String
where
    Auto: Codec<T>,
{
    let mut w = Writer::new();
    Auto::write(value, &mut w);
    w.out
}

/// Reads one server frame; `None` for anything that is not a valid frame.
pub fn server_frame(v: &Json) -> Option<ServerFrame> {
    read(v)
}

/// Reads a stored state; `None` for anything not of the stored format.
pub fn stored_state(v: &Json) -> Option<StoredState> {
    read(v)
}

/// Reads a widget configuration (`GET /v1/widgets/{id}/config`, or the cached copy).
pub fn widget_config(v: &Json) -> Option<WidgetConfig> {
    read(v)
}

/// The stored state as JSON text (the format pinned by `tests/snapshots/stored_state_v1.json`).
pub fn write_stored_state(s: &StoredState) -> String {
    write(s)
}

/// A client frame as JSON text (tagged by `type`, `None` fields skipped).
pub fn write_client_frame(frame: &ClientFrame) -> String {
    write(frame)
}

/// A callback's result as JSON text (the driver hands `JSON.parse` of it to the page).
pub fn write_reply(reply: &Reply) -> String {
    write(reply)
}

/// An error handed to a callback, as JSON text: `{code, message[, reason]}`.
pub fn write_error(e: &ApiError) -> String {
    write(e)
}

/// A JSON value as text.
pub fn write_json(v: &Json) -> String {
    write(v)
}

// ---------------------------------------------------------------------------------------
// The declarations
// ---------------------------------------------------------------------------------------

declare!(record Customer { subject: req, subject_type: req });
declare!(record Attachment { id: req, file_name: req, content_type: req, size: req, url: req });
declare!(record Message {
    id: req, thread_id: req, client_id: opt, author: req, agent_name: opt, text: opt, attachment: opt,
    custom: flag, created_at: req,
});
declare!(record Thread { id: req, status: req, created_at: req, messages: default });
declare!(record Theme {
    primary: opt, on_primary: opt, background: opt, text: opt, font: opt, launcher_position: opt,
});
declare!(record AttachmentPolicy { max_bytes: req, allowed_types: req });
declare!(record WidgetConfig {
    id: req, title: req, color: req, themes: default, languages: default,
    default_language: default(String::from(DEFAULT_LANGUAGE)), multi_thread: default, attachments: req,
    offline_message: default, online: default, ws_path: default(String::from("/v1/ws")),
});
declare!(record OutgoingAttachment { file_name: req, content: req });

declare!(tagged "kind" OutgoingBody {
    Basic = "BASIC" { text: opt, attachment: opt },
    CustomData = "CUSTOM_DATA" { custom_data: req, agent_message: opt, user_message: opt },
});

declare!(tagged "type" ClientFrame {
    Hello = "hello" { protocol: req, widget_id: req, session: opt, last_seq: default, end_sessions: list },
    Auth = "auth" { req: req, jwt: req },
    Logout = "logout" { req: req },
    Send = "send" { req: req, thread_id: opt, new_thread: flag, body: req },
    ContextualData = "contextual_data" { req: req, metadata: req, strategy: default },
    History = "history" { req: req, thread_id: req, before: opt, limit: req },
    Ping = "ping" { nonce: req },
});

declare!(tagged "kind" Event {
    Message = "message" { message: req },
    ThreadOpened = "thread_opened" { thread: req },
    ThreadStatus = "thread_status" { thread_id: req, status: req },
    Availability = "availability" { online: req },
});

declare!(tagged "type" ServerFrame {
    Welcome = "welcome" { protocol: req, session: req, customer: opt, resumed: req, online: req },
    Sync = "sync" { last_seq: req, threads: req, pending_metadata: opt },
    Event = "event" { seq: req, event: req },
    Ack = "ack" { req: req, message: req },
    ContextAck = "context_ack" { req: req, thread_ids: req, queued: req },
    AuthOk = "auth_ok" { req: req, customer: req, session: req },
    LoggedOut = "logged_out" { req: req },
    Error = "error" { req: opt, code: req, message: req, retry_after_ms: opt },
    HistoryPage = "history_page" { req: req, thread_id: req, messages: req, more: req },
    Pong = "pong" { nonce: req },
});

// The stored state (`core::state`).

declare!(record StoredState {
    version: req, widget_id: req, session: null, customer: null, last_seq: default, ui: req, language: null,
    theme: null, threads: default, active_thread: null, outbox: default, config: null, ended_sessions: list,
    complete_threads: list,
});
declare!(record UiState { open: req, launcher: req, draft: default, unread: default, thread_list: default, new_thread: default });
declare!(record OutboxItem { id: req, request: req, status: req, created_at: req });
declare!(external OutboxRequest {
    Message = "message" { thread_id: null, new_thread: default, body: req with StoredBody },
    ContextualData = "contextual_data" { metadata: req, strategy: req },
});

/// The stored form of a message body: externally tagged, `None` as `null`
/// (`{"basic": {"text": …, "attachment": null}}`), where the wire tags it by `kind`.
pub struct StoredBody;
declare!(external OutgoingBody in StoredBody {
    Basic = "basic" { text: null, attachment: null },
    CustomData = "custom_data" { custom_data: req, agent_message: null, user_message: null },
});

/// `"sending"` or `{"failed": {"code": …, "message": …}}` (serde's externally tagged form).
impl Codec<Delivery> for Auto {
    fn read(v: &Json) -> Option<Delivery> {
        let (tag, payload) = variant(v)?;
        Some(match tag {
            "sending" if payload.is_null() => Delivery::Sending,
            "failed" => {
                let o = payload.as_object()?;
                Delivery::Failed { code: req::<Auto, _>(o, "code")?, message: req::<Auto, _>(o, "message")? }
            }
            _ => return None,
        })
    }

    fn write(v: &Delivery, w: &mut Writer) {
        match v {
            Delivery::Sending => w.str("sending"),
            Delivery::Failed { code, message } => {
                w.raw("{");
                w.key("failed");
                w.raw("{");
                put::<Auto, _>(w, "code", code);
                put::<Auto, _>(w, "message", message);
                w.end();
                w.end();
            }
        }
    }
}

// Results handed to callbacks (write only: JavaScript never sends them back).

/// The customer as JavaScript sees it: `{subject, subjectType}` (the wire uses snake_case).
pub struct CamelCustomer;
declare!(record Customer in CamelCustomer { subject: req, subject_type as "subjectType": req });
declare!(record InitResult {
    widget_id as "widgetId": req, language: req, online: req, customer: null with CamelCustomer,
});
declare!(record AuthResult { customer: req with CamelCustomer });
declare!(record ResetResult { cleared: req, logged_out as "loggedOut": req });
declare!(record UiResult { open: req, launcher: req });
declare!(record ThemeResult { theme: req });
declare!(record SentResult {
    message_id as "messageId": req, thread_id as "threadId": req, client_id as "clientId": req,
    created_at as "createdAt": req,
});
declare!(record DraftResult { draft: req });
declare!(record ContextualResult { request_id as "requestId": req, thread_ids as "threadIds": req, queued: req });
declare!(record LanguageResult { language: req, fallback: req, requested: opt });
declare!(record ApiError { code: req, message: req, reason: opt });

/// Untagged: each result is its own object.
impl Codec<Reply> for Auto {
    fn read(_: &Json) -> Option<Reply> {
        None // results only go to JavaScript
    }

    fn write(v: &Reply, w: &mut Writer) {
        match v {
            Reply::Init(r) => Auto::write(r, w),
            Reply::Auth(r) => Auto::write(r, w),
            Reply::Reset(r) => Auto::write(r, w),
            Reply::Ui(r) => Auto::write(r, w),
            Reply::Theme(r) => Auto::write(r, w),
            Reply::Sent(r) => Auto::write(r, w),
            Reply::Draft(r) => Auto::write(r, w),
            Reply::Contextual(r) => Auto::write(r, w),
            Reply::Language(r) => Auto::write(r, w),
        }
    }
}

impl Codec<ErrorCode> for Auto {
    fn read(_: &Json) -> Option<ErrorCode> {
        None // error codes only go to JavaScript
    }

    fn write(v: &ErrorCode, w: &mut Writer) {
        w.str(v.as_str());
    }
}

// ---------------------------------------------------------------------------------------
// Codecs of the leaves
// ---------------------------------------------------------------------------------------

/// How a value of `T` is read from a [`Json`] value and written as JSON text.
pub trait Codec<T> {
    /// Reads a `T`; `None` when `v` is not of its format.
    fn read(v: &Json) -> Option<T>;
    /// Appends `v` as JSON text.
    fn write(v: &T, w: &mut Writer);
}

/// A placeholder a reader starts a value from before its fields are read; never seen
/// outside the reader.
pub trait Blank {
    /// The placeholder.
    fn blank() -> Self;
}

macro_rules! blank {
    ($($ty:ty = $value:expr),+ $(,)?) => {$(
        impl Blank for $ty {
            fn blank() -> Self {
                $value
            }
        }
    )+};
}
blank!(
    String = String::new(),
    bool = false,
    u64 = 0,
    u32 = 0,
    Json = Json::Null,
    ThreadStatus = ThreadStatus::Open,
    Author = Author::System,
    MultiThreadStrategy = MultiThreadStrategy::Active,
    ErrorCode = ErrorCode::InvalidArgument,
    Delivery = Delivery::Sending,
    Event = Event::Availability { online: false },
    OutgoingBody = OutgoingBody::Basic { text: None, attachment: None },
    OutboxRequest = OutboxRequest::ContextualData { metadata: BTreeMap::new(), strategy: MultiThreadStrategy::Active },
);

impl<T> Blank for Option<T> {
    fn blank() -> Self {
        None
    }
}

impl<T> Blank for Vec<T> {
    fn blank() -> Self {
        Vec::new()
    }
}

impl<T> Blank for BTreeMap<String, T> {
    fn blank() -> Self {
        BTreeMap::new()
    }
}

/// Each type's own format (the one its serde derive defines).
pub struct Auto;

impl Codec<String> for Auto {
    fn read(v: &Json) -> Option<String> {
        v.as_str().map(String::from)
    }

    fn write(v: &String, w: &mut Writer) {
        w.str(v);
    }
}

impl Codec<bool> for Auto {
    fn read(v: &Json) -> Option<bool> {
        v.as_bool()
    }

    fn write(v: &bool, w: &mut Writer) {
        w.bool(*v);
    }
}

impl Codec<u64> for Auto {
    fn read(v: &Json) -> Option<u64> {
        v.as_u64()
    }

    fn write(v: &u64, w: &mut Writer) {
        w.uint(*v);
    }
}

impl Codec<u32> for Auto {
    fn read(v: &Json) -> Option<u32> {
        u32::try_from(v.as_u64()?).ok()
    }

    fn write(v: &u32, w: &mut Writer) {
        w.uint(u64::from(*v));
    }
}

impl Codec<Json> for Auto {
    fn read(v: &Json) -> Option<Json> {
        Some(v.clone())
    }

    fn write(v: &Json, w: &mut Writer) {
        w.json(v);
    }
}

impl<T> Codec<Vec<T>> for Auto
where
    Auto: Codec<T>,
{
    fn read(v: &Json) -> Option<Vec<T>> {
        v.as_array()?.iter().map(Auto::read).collect()
    }

    fn write(v: &Vec<T>, w: &mut Writer) {
        w.raw("[");
        for item in v {
            Auto::write(item, w);
        }
        w.out.push(']');
    }
}

// Maps are built by `insert`, in the source's (sorted) order: `collect` would sort again and
// bring a copy of the slice sort for each map type into the wasm.
impl<T> Codec<BTreeMap<String, T>> for Auto
where
    Auto: Codec<T>,
{
    fn read(v: &Json) -> Option<BTreeMap<String, T>> {
        let mut map = BTreeMap::new();
        for (k, v) in v.as_object()? {
            map.insert(k.clone(), Auto::read(v)?);
        }
        Some(map)
    }

    fn write(v: &BTreeMap<String, T>, w: &mut Writer) {
        w.map(v.iter(), |w, v| Auto::write(v, w));
    }
}

/// Unit-variant enums, by their protocol names (`as_str` / `parse`).
macro_rules! names {
    ($($ty:ty),+) => {$(
        impl Codec<$ty> for Auto {
            fn read(v: &Json) -> Option<$ty> {
                <$ty>::parse(v.as_str()?)
            }

            fn write(v: &$ty, w: &mut Writer) {
                w.str(v.as_str());
            }
        }
    )+};
}
names!(ThreadStatus, Author, MultiThreadStrategy);

/// An externally tagged enum variant: `"name"` (unit) or `{"name": payload}`.
fn variant(v: &Json) -> Option<(&str, &Json)> {
    match v {
        Json::String(s) => Some((s, &Json::Null)),
        Json::Object(o) if o.len() == 1 => o.iter().next().map(|(k, v)| (k.as_str(), v)),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// The declaration macro
// ---------------------------------------------------------------------------------------

/// Declares how a type is read and written (see the module docs for the field modes):
///
/// - `record T [in Codec] { field [as "key"]: mode [with Codec], … }`: an object;
/// - `tagged "tag" T { Variant = "name" { fields }, … }`: an enum tagged inside the object;
/// - `external T [in Codec] { Variant = "name" { fields }, … }`: `{"name": {fields}}`.
macro_rules! declare {
    (record $ty:ident { $($fields:tt)* }) => {
        declare!(@blank $ty, { $($fields)* });
        declare!(@record $ty, Auto, { $($fields)* });
    };
    (record $ty:ident in $codec:ident { $($fields:tt)* }) => {
        declare!(@record $ty, $codec, { $($fields)* });
    };
    (@blank $ty:ident, { $($f:ident $(as $key:literal)?: $mode:ident $(($default:expr))? $(with $c:ty)?),* $(,)? }) => {
        impl Blank for $ty {
            fn blank() -> Self {
                Self { $($f: Blank::blank()),* }
            }
        }
    };
    (@record $ty:ident, $codec:ty, {
        $($f:ident $(as $key:literal)?: $mode:ident $(($default:expr))? $(with $c:ty)?),* $(,)?
    }) => {
        impl Codec<$ty> for $codec {
            fn read(v: &Json) -> Option<$ty> {
                let o = v.as_object()?;
                // Filled in place: a field that fails drops one value, not each field read so far.
                let mut out = <$ty as Blank>::blank();
                $(out.$f = read_field!(o, key!($f $($key)?), $mode, codec!($($c)?) $(, $default)?);)*
                Some(out)
            }

            fn write(v: &$ty, w: &mut Writer) {
                w.raw("{");
                $(write_field!(w, key!($f $($key)?), $mode, codec!($($c)?), &v.$f);)*
                w.end();
            }
        }
    };
    (tagged $tag:literal $ty:ident {
        $($variant:ident = $name:literal {
            $($f:ident: $mode:ident $(($default:expr))? $(with $c:ty)?),* $(,)?
        }),* $(,)?
    }) => {
        impl Codec<$ty> for Auto {
            fn read(v: &Json) -> Option<$ty> {
                let o = v.as_object()?;
                Some(match o.get($tag)?.as_str()? {
                    $($name => $ty::$variant {
                        $($f: read_field!(o, stringify!($f), $mode, codec!($($c)?) $(, $default)?)),*
                    },)*
                    _ => return None,
                })
            }

            fn write(v: &$ty, w: &mut Writer) {
                w.raw("{");
                match v {
                    $($ty::$variant { $($f),* } => {
                        w.key($tag);
                        w.str($name);
                        $(write_field!(w, stringify!($f), $mode, codec!($($c)?), $f);)*
                    })*
                }
                w.end();
            }
        }
    };
    (external $ty:ident $(in $codec:ident)? { $($variants:tt)* }) => {
        declare!(@external $ty, codec!($($codec)?), { $($variants)* });
    };
    (@external $ty:ident, $codec:ty, {
        $($variant:ident = $name:literal {
            $($f:ident: $mode:ident $(($default:expr))? $(with $c:ty)?),* $(,)?
        }),* $(,)?
    }) => {
        impl Codec<$ty> for $codec {
            fn read(v: &Json) -> Option<$ty> {
                let (tag, payload) = variant(v)?;
                let o = payload.as_object()?;
                Some(match tag {
                    $($name => $ty::$variant {
                        $($f: read_field!(o, stringify!($f), $mode, codec!($($c)?) $(, $default)?)),*
                    },)*
                    _ => return None,
                })
            }

            fn write(v: &$ty, w: &mut Writer) {
                w.raw("{");
                match v {
                    $($ty::$variant { $($f),* } => {
                        w.key($name);
                        w.raw("{");
                        $(write_field!(w, stringify!($f), $mode, codec!($($c)?), $f);)*
                        w.end();
                    })*
                }
                w.end();
            }
        }
    };
}
use declare;

/// The codec named, or [`Auto`].
macro_rules! codec {
    () => {
        Auto
    };
    ($c:ty) => {
        $c
    };
}
use codec;

/// The field's key: its `as "key"`, or its name.
macro_rules! key {
    ($f:ident) => {
        stringify!($f)
    };
    ($f:ident $key:literal) => {
        $key
    };
}
use key;

macro_rules! read_field {
    ($o:ident, $key:expr, req, $c:ty) => {
        req::<$c, _>($o, $key)?
    };
    ($o:ident, $key:expr, opt, $c:ty) => {
        opt::<$c, _>($o, $key)?
    };
    ($o:ident, $key:expr, null, $c:ty) => {
        opt::<$c, _>($o, $key)?
    };
    ($o:ident, $key:expr, default, $c:ty) => {
        or_default::<$c, _>($o, $key)?
    };
    ($o:ident, $key:expr, flag, $c:ty) => {
        or_default::<$c, bool>($o, $key)?
    };
    ($o:ident, $key:expr, list, $c:ty) => {
        or_default::<$c, _>($o, $key)?
    };
    ($o:ident, $key:expr, default, $c:ty, $default:expr) => {
        match $o.get($key) {
            None => $default,
            Some(v) => <$c as Codec<_>>::read(v)?,
        }
    };
}
use read_field;

macro_rules! write_field {
    ($w:ident, $key:expr, req, $c:ty, $v:expr) => {
        put::<$c, _>($w, $key, $v)
    };
    ($w:ident, $key:expr, default, $c:ty, $v:expr) => {
        put::<$c, _>($w, $key, $v)
    };
    ($w:ident, $key:expr, opt, $c:ty, $v:expr) => {
        put_some::<$c, _>($w, $key, $v)
    };
    ($w:ident, $key:expr, null, $c:ty, $v:expr) => {
        put_null::<$c, _>($w, $key, $v)
    };
    ($w:ident, $key:expr, flag, $c:ty, $v:expr) => {
        if *$v {
            put::<$c, bool>($w, $key, $v)
        }
    };
    ($w:ident, $key:expr, list, $c:ty, $v:expr) => {
        if !$v.is_empty() {
            put::<$c, _>($w, $key, $v)
        }
    };
}
use write_field;

// The field operations the macros expand to, one function per mode and leaf type (inline
// expansions at every field cost more wasm than these calls).

type Obj = serde_json::Map<String, Json>;

/// A required field.
fn req<C: Codec<T>, T>(o: &Obj, key: &str) -> Option<T> {
    C::read(o.get(key)?)
}

/// An `Option` field: missing or `null` is `None`.
fn opt<C: Codec<T>, T>(o: &Obj, key: &str) -> Option<Option<T>> {
    match o.get(key) {
        None | Some(Json::Null) => Some(None),
        Some(v) => C::read(v).map(Some),
    }
}

/// A `default` field: missing takes the default, present must be valid.
fn or_default<C: Codec<T>, T: Default>(o: &Obj, key: &str) -> Option<T> {
    match o.get(key) {
        None => Some(T::default()),
        Some(v) => C::read(v),
    }
}

fn put<C: Codec<T>, T>(w: &mut Writer, key: &str, v: &T) {
    w.key(key);
    C::write(v, w);
}

/// Skipped when `None`.
fn put_some<C: Codec<T>, T>(w: &mut Writer, key: &str, v: &Option<T>) {
    if let Some(v) = v {
        put::<C, T>(w, key, v);
    }
}

/// `null` when `None`.
fn put_null<C: Codec<T>, T>(w: &mut Writer, key: &str, v: &Option<T>) {
    w.key(key);
    match v {
        Some(v) => C::write(v, w),
        None => w.null(),
    }
}

// ---------------------------------------------------------------------------------------
// Writing JSON text
// ---------------------------------------------------------------------------------------

/// JSON text under construction. Commas are placed by looking at the last byte written:
/// after `{`, `[` or nothing, none is needed.
pub struct Writer {
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

