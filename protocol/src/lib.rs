//! Wire types exchanged by the live-chat widget and its server.
//!
//! Both sides depend on this crate so they cannot drift apart. Everything is plain
//! serde data; there is no I/O here. Frames are JSON text, tagged by `type`.
//! `docs/protocol.md` describes the semantics (idempotency, ordering, resume).
#![no_std]
extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

pub use serde_json::Value as Json;

pub mod attachment;

/// The protocol version the widget states in its first frame (`hello`).
pub const PROTOCOL_VERSION: u32 = 1;

/// Per-visitor (or per-customer) event sequence number; the first event is 1.
pub type Seq = u64;

/// Milliseconds since the Unix epoch.
pub type Millis = u64;

/// The thirty-one language tags the widget supports (spec 001, "Supported languages").
pub const LANGUAGES: [&str; 31] = [
    "ar-AE", "bs-BA", "da-DK", "de-DE", "el-GR", "en-US", "es-ES", "es-LA", "fr-FR", "hr-HR",
    "hu-HU", "it-IT", "ja-JP", "ko-KR", "lt-LT", "lv-LV", "pl-PL", "pt-BR", "pt-PT", "ro-RO",
    "ru-RU", "sl-SI", "sq-AL", "sr-Latn", "sv-SE", "th-TH", "tr-TR", "uk-UA", "zh-Hans",
    "zh-Hant", "zh-TW",
];

/// How many ended session tokens one `hello` may carry (more are ignored).
pub const MAX_END_SESSIONS: usize = 8;

/// The language used when none or an unsupported one is asked for.
pub const DEFAULT_LANGUAGE: &str = "en-US";

/// The most messages one [`ServerFrame::HistoryPage`] carries (a larger `limit` is capped).
pub const MAX_HISTORY_PAGE: u32 = 50;

// ---------------------------------------------------------------------------------------
// Client → server
// ---------------------------------------------------------------------------------------

/// A frame the widget sends.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// First frame on every socket. Resumes `session` after `last_seq` when both are given.
    Hello {
        /// Must be [`PROTOCOL_VERSION`].
        protocol: u32,
        /// The widget the visitor talks to.
        widget_id: String,
        /// Opaque session token from an earlier [`ServerFrame::Welcome`], if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
        /// The last event sequence the widget applied (0 = none).
        #[serde(default)]
        last_seq: Seq,
        /// Session tokens the visitor ended while offline (`logout`/`clear`): the server
        /// ends them before it looks at `session` (at most [`MAX_END_SESSIONS`] are read).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        end_sessions: Vec<String>,
    },
    /// Authenticate the visitor as a customer with a JWT (spec 001 `auth`).
    Auth {
        /// Client request id, echoed in the answer.
        req: String,
        /// The HS256 JWT.
        jwt: String,
    },
    /// End the authenticated session (spec 001 `logout`).
    Logout {
        /// Client request id, echoed in the answer.
        req: String,
    },
    /// Store a visitor message. `req` is the idempotency key: a resend is acked again, stored once.
    Send {
        /// Client-generated message id (idempotency key).
        req: String,
        /// Target thread; `None` = the active open thread, created when none is open.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thread_id: Option<String>,
        /// Multi-thread widgets: start a new thread instead of using the active one
        /// (ignored when `thread_id` is set or the widget is single-thread).
        #[serde(default, skip_serializing_if = "is_false")]
        new_thread: bool,
        /// What is sent.
        body: OutgoingBody,
    },
    /// Attach contextual data (spec 000). `req` is the idempotency key.
    ContextualData {
        /// Client-generated request id (idempotency key).
        req: String,
        /// Key-value pairs, merged by key into each target conversation's metadata.
        metadata: BTreeMap<String, Json>,
        /// Which threads receive it.
        #[serde(default)]
        strategy: MultiThreadStrategy,
    },
    /// Older messages of one of the principal's threads: the newest `limit` stored before
    /// message `before` (before the end when `None`); answered by [`ServerFrame::HistoryPage`].
    History {
        /// Client request id, echoed in the answer.
        req: String,
        /// Which thread.
        thread_id: String,
        /// The oldest message the widget holds of it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<String>,
        /// At most this many (1 to [`MAX_HISTORY_PAGE`]; the server clamps it).
        limit: u32,
    },
    /// Heartbeat; answered by [`ServerFrame::Pong`] with the same nonce.
    Ping {
        /// Echoed back.
        nonce: u64,
    },
}

/// The body of a visitor message.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OutgoingBody {
    /// Text and/or one attachment.
    Basic {
        /// Text content.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        /// An attachment sent inline.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attachment: Option<OutgoingAttachment>,
    },
    /// Structured data for back-end processes (spec 001 `CUSTOM_DATA`).
    CustomData {
        /// Any JSON value.
        custom_data: Json,
        /// Shown only to agents.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent_message: Option<String>,
        /// Shown only to the visitor.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_message: Option<String>,
    },
}

/// An attachment as the widget sends it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct OutgoingAttachment {
    /// The file name shown to both sides.
    pub file_name: String,
    /// A `data:<mime>;base64,<…>` URL, bare base64, or an `https://` URL.
    pub content: String,
}

impl OutgoingBody {
    /// The `kind` tag of a [`OutgoingBody::Basic`] body (also the `type` of spec 001's `send`).
    pub const BASIC: &'static str = "BASIC";
    /// The `kind` tag of a [`OutgoingBody::CustomData`] body.
    pub const CUSTOM_DATA: &'static str = "CUSTOM_DATA";

    /// The `kind` tag this body is sent with.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Basic { .. } => Self::BASIC,
            Self::CustomData { .. } => Self::CUSTOM_DATA,
        }
    }
}

/// Which threads contextual data goes to (spec 000).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MultiThreadStrategy {
    /// The active thread only.
    #[default]
    Active,
    /// Every open thread.
    All,
    /// Every open thread, and threads opened later.
    AllPlusNew,
}

/// `as_str` (the serde name) and `parse` (its inverse, exact match) of a unit-variant enum.
macro_rules! names {
    ($ty:ident { $($variant:ident = $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every variant, in declaration order.
            pub const VARIANTS: &'static [Self] = &[$(Self::$variant),+];

            /// The name on the wire (what serde writes).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name),+
                }
            }

            /// The variant named `s` (exact, case-sensitive), if any.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($name => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

names!(MultiThreadStrategy { Active = "ACTIVE", All = "ALL", AllPlusNew = "ALL_PLUS_NEW" });
names!(ThreadStatus { Open = "OPEN", Solved = "SOLVED", Closed = "CLOSED" });
names!(Author { Visitor = "visitor", Agent = "agent", System = "system" });

// ---------------------------------------------------------------------------------------
// Server → client
// ---------------------------------------------------------------------------------------

/// A frame the server sends.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Answer to `hello`. When `resumed` is false a [`ServerFrame::Sync`] follows.
    Welcome {
        /// Protocol version the server speaks.
        protocol: u32,
        /// Opaque token for resuming this session on a later socket.
        session: String,
        /// The authenticated customer, if the session is authenticated.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        customer: Option<Customer>,
        /// True when the server replays events after the client's `last_seq`.
        resumed: bool,
        /// Whether an agent is online (spec 004).
        online: bool,
    },
    /// Full state: replaces what the widget knows. Sent when a session cannot resume and after `auth`.
    Sync {
        /// The sequence of the last event included in this snapshot.
        last_seq: Seq,
        /// Every thread of the visitor with its recent messages, oldest first.
        threads: Vec<Thread>,
        /// Contextual data the server holds for `ALL_PLUS_NEW` (informational).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pending_metadata: Option<BTreeMap<String, Json>>,
    },
    /// One ordered event. `seq` increases by one per event of this visitor.
    Event {
        /// Sequence number.
        seq: Seq,
        /// What happened.
        event: Event,
    },
    /// A `send` was stored durably.
    Ack {
        /// The client message id.
        req: String,
        /// The stored message.
        message: Message,
    },
    /// A `contextual_data` request was stored.
    ContextAck {
        /// The client request id.
        req: String,
        /// Threads that received it now.
        thread_ids: Vec<String>,
        /// True when no conversation existed: the data waits for the first one.
        queued: bool,
    },
    /// `auth` succeeded; a `sync` follows.
    AuthOk {
        /// The client request id.
        req: String,
        /// Who the visitor now is.
        customer: Customer,
        /// The new session token (replaces the old one).
        session: String,
    },
    /// `logout` ended the session; the socket closes after this.
    LoggedOut {
        /// The client request id.
        req: String,
    },
    /// A request failed, or the connection has a problem (`req` absent).
    Error {
        /// The request this answers, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<String>,
        /// Stable machine-readable code, see [`error_code`].
        code: String,
        /// Human explanation.
        message: String,
        /// For `rate_limited`: when to try again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
    /// Answer to [`ClientFrame::History`].
    HistoryPage {
        /// The client request id.
        req: String,
        /// Which thread.
        thread_id: String,
        /// The page, oldest first, as the visitor sees the messages.
        messages: Vec<Message>,
        /// True when older messages exist before the page.
        more: bool,
    },
    /// Heartbeat answer.
    Pong {
        /// The nonce of the ping.
        nonce: u64,
    },
}

/// Stable error codes in [`ServerFrame::Error`] and HTTP error bodies.
pub mod error_code {
    /// Frame is not valid JSON or not a known frame.
    pub const MALFORMED_FRAME: &str = "malformed_frame";
    /// Frame larger than the server accepts.
    pub const FRAME_TOO_LARGE: &str = "frame_too_large";
    /// `hello` missing, repeated, or with an unsupported protocol.
    pub const BAD_HELLO: &str = "bad_hello";
    /// Unknown widget id.
    pub const UNKNOWN_WIDGET: &str = "unknown_widget";
    /// Origin not allowed for this widget.
    pub const ORIGIN_NOT_ALLOWED: &str = "origin_not_allowed";
    /// JWT rejected (the message says which rule).
    pub const INVALID_TOKEN: &str = "invalid_token";
    /// The authenticated session needs a fresh JWT.
    pub const REAUTH_REQUIRED: &str = "reauth_required";
    /// `logout` without an authenticated session.
    pub const NOT_AUTHENTICATED: &str = "not_authenticated";
    /// A field has a wrong value (empty message, too long, bad attachment …).
    pub const INVALID_MESSAGE: &str = "invalid_message";
    /// Attachment too large or of a type not allowed.
    pub const ATTACHMENT_REJECTED: &str = "attachment_rejected";
    /// Metadata too large or too deep.
    pub const INVALID_METADATA: &str = "invalid_metadata";
    /// `thread_id` unknown or not the visitor's.
    pub const UNKNOWN_THREAD: &str = "unknown_thread";
    /// Thread is closed.
    pub const THREAD_CLOSED: &str = "thread_closed";
    /// Same idempotency key reused with a different body.
    pub const IDEMPOTENCY_CONFLICT: &str = "idempotency_conflict";
    /// Too many frames; see `retry_after_ms`.
    pub const RATE_LIMITED: &str = "rate_limited";
    /// The session token is unknown or expired; a `sync` follows.
    pub const SESSION_EXPIRED: &str = "session_expired";
    /// Something failed on the server.
    pub const INTERNAL: &str = "internal";
    /// This server node cannot serve right now (it lost its database, or it is shutting
    /// down): nothing was stored; reconnect (through the balancer) and send again.
    pub const UNAVAILABLE: &str = "unavailable";
}

/// An ordered event in a visitor's stream.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A message was added (by the visitor on any device, an agent, or the system).
    Message {
        /// The message.
        message: Message,
    },
    /// A thread was created.
    ThreadOpened {
        /// The new thread (no messages).
        thread: Thread,
    },
    /// A thread changed status.
    ThreadStatus {
        /// Which thread.
        thread_id: String,
        /// Its new status.
        status: ThreadStatus,
    },
    /// Agent availability changed (spec 004).
    Availability {
        /// Whether any agent is online.
        online: bool,
    },
}

/// A conversation thread (spec 003).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Thread {
    /// Server-assigned id.
    pub id: String,
    /// OPEN, SOLVED or CLOSED.
    pub status: ThreadStatus,
    /// Creation time.
    pub created_at: Millis,
    /// Recent messages, oldest first (may be empty in events).
    #[serde(default)]
    pub messages: Vec<Message>,
}

/// Thread status (spec README).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ThreadStatus {
    /// Accepting messages.
    Open,
    /// Solved by an agent; a new visitor message reopens a new thread.
    Solved,
    /// Closed (by an agent or after inactivity).
    Closed,
}

/// Who wrote a message.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    /// The visitor or customer.
    Visitor,
    /// An agent (or the demo auto-reply).
    Agent,
    /// The system (thread opened, closed …).
    System,
}

/// A stored message as the visitor may see it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Message {
    /// Server-assigned id.
    pub id: String,
    /// The thread it belongs to.
    pub thread_id: String,
    /// The client id it was sent with (visitor messages only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Who wrote it.
    pub author: Author,
    /// The agent's display name (agent messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    /// Text to show. For CUSTOM_DATA this is the `userMessage` (visitor-facing) only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// An attachment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Attachment>,
    /// True for CUSTOM_DATA messages.
    #[serde(default, skip_serializing_if = "is_false")]
    pub custom: bool,
    /// Server time it was stored.
    pub created_at: Millis,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A stored attachment.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Attachment {
    /// Server-assigned id.
    pub id: String,
    /// Original file name.
    pub file_name: String,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Path to download it (relative to the server origin), served as `Content-Disposition: attachment`.
    pub url: String,
}

/// An authenticated customer (JWT `sub` and `stp`).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// The identity (`sub`).
    pub subject: String,
    /// `email`, `msisdn` or `externalPersonId` (`stp`).
    pub subject_type: String,
}

// ---------------------------------------------------------------------------------------
// HTTP: GET /v1/widgets/{id}/config
// ---------------------------------------------------------------------------------------

/// The widget configuration served over HTTP before the socket opens.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct WidgetConfig {
    /// The widget id.
    pub id: String,
    /// Title in the window header.
    pub title: String,
    /// Brand colour (`#rrggbb`).
    pub color: String,
    /// Themes by name (`set_theme`).
    #[serde(default)]
    pub themes: BTreeMap<String, Theme>,
    /// Languages offered; the widget falls back to en-US for others.
    #[serde(default)]
    pub languages: Vec<String>,
    /// Language used when the page sets none.
    #[serde(default = "default_language")]
    pub default_language: String,
    /// Whether a visitor may have several open threads.
    #[serde(default)]
    pub multi_thread: bool,
    /// Attachment limits.
    pub attachments: AttachmentPolicy,
    /// Shown when no agent is online.
    #[serde(default)]
    pub offline_message: String,
    /// Whether an agent is online now (spec 004).
    #[serde(default)]
    pub online: bool,
    /// Websocket path (relative to the config URL's origin), e.g. `/v1/ws`.
    #[serde(default = "default_ws_path")]
    pub ws_path: String,
}

fn default_language() -> String {
    String::from(DEFAULT_LANGUAGE)
}

fn default_ws_path() -> String {
    String::from("/v1/ws")
}

/// A named theme: colours, font and launcher position, applied through CSS custom properties.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Theme {
    /// Brand colour (header, launcher, visitor bubbles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<String>,
    /// Text colour on the brand colour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_primary: Option<String>,
    /// Window background.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<String>,
    /// Body text colour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// CSS font-family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub font: Option<String>,
    /// `right` (default) or `left`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launcher_position: Option<String>,
}

/// Attachment limits of a widget.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct AttachmentPolicy {
    /// Largest accepted file, in bytes (decoded).
    pub max_bytes: u64,
    /// Allowed MIME types (`image/*` style wildcards allowed).
    pub allowed_types: Vec<String>,
}

/// Body of every HTTP error response: `{"code": …, "message": …}`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct HttpError {
    /// Stable code, see [`error_code`].
    pub code: String,
    /// Human explanation.
    pub message: String,
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use serde_json::json;

    #[test]
    fn client_frames_are_tagged_by_type() {
        let frame = ClientFrame::Send {
            req: "c1".into(),
            thread_id: None,
            new_thread: false,
            body: OutgoingBody::Basic { text: Some("hi".into()), attachment: None },
        };
        let v = serde_json::to_value(&frame).unwrap();
        assert_eq!(v, json!({"type":"send","req":"c1","body":{"kind":"BASIC","text":"hi"}}));
        assert_eq!(serde_json::from_value::<ClientFrame>(v).unwrap(), frame);
    }

    #[test]
    fn hello_defaults_when_fields_missing() {
        let f: ClientFrame =
            serde_json::from_value(json!({"type":"hello","protocol":1,"widget_id":"w"})).unwrap();
        assert_eq!(
            f,
            ClientFrame::Hello { protocol: 1, widget_id: "w".into(), session: None, last_seq: 0, end_sessions: Vec::new() }
        );
    }

    #[test]
    fn strategy_defaults_to_active_and_uses_spec_names() {
        let f: ClientFrame = serde_json::from_value(
            json!({"type":"contextual_data","req":"r","metadata":{"color":"red"}}),
        )
        .unwrap();
        let ClientFrame::ContextualData { strategy, .. } = f else { panic!("wrong frame") };
        assert_eq!(strategy, MultiThreadStrategy::Active);
        assert_eq!(serde_json::to_value(MultiThreadStrategy::AllPlusNew).unwrap(), json!("ALL_PLUS_NEW"));
    }

    #[test]
    fn server_event_round_trips() {
        let f = ServerFrame::Event {
            seq: 7,
            event: Event::ThreadStatus { thread_id: "t".into(), status: ThreadStatus::Solved },
        };
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(
            v,
            json!({"type":"event","seq":7,"event":{"kind":"thread_status","thread_id":"t","status":"SOLVED"}})
        );
        assert_eq!(serde_json::from_value::<ServerFrame>(v).unwrap(), f);
    }

    #[test]
    fn enum_names_are_the_serde_names() {
        fn check<T: Serialize + serde::de::DeserializeOwned + PartialEq + core::fmt::Debug + Copy>(
            all: &[T],
            as_str: fn(T) -> &'static str,
            parse: fn(&str) -> Option<T>,
        ) {
            for &v in all {
                assert_eq!(serde_json::to_value(v).unwrap(), json!(as_str(v)));
                assert_eq!(parse(as_str(v)), Some(v));
                assert_eq!(serde_json::from_value::<T>(json!(as_str(v))).unwrap(), v);
            }
            assert_eq!(parse(""), None);
            assert_eq!(parse("nope"), None);
        }
        check(MultiThreadStrategy::VARIANTS, MultiThreadStrategy::as_str, MultiThreadStrategy::parse);
        check(ThreadStatus::VARIANTS, ThreadStatus::as_str, ThreadStatus::parse);
        check(Author::VARIANTS, Author::as_str, Author::parse);
        assert_eq!(MultiThreadStrategy::VARIANTS.len(), 3);
        assert_eq!(ThreadStatus::VARIANTS.len(), 3);
        assert_eq!(Author::VARIANTS.len(), 3);
    }

    #[test]
    fn body_kind_is_the_serde_tag() {
        let bodies = [
            OutgoingBody::Basic { text: Some("t".into()), attachment: None },
            OutgoingBody::CustomData { custom_data: json!(1), agent_message: None, user_message: None },
        ];
        for b in bodies {
            assert_eq!(serde_json::to_value(&b).unwrap()["kind"], json!(b.kind()));
        }
    }

    #[test]
    fn unknown_frame_type_is_an_error() {
        assert!(serde_json::from_value::<ClientFrame>(json!({"type":"nope"})).is_err());
    }
}
