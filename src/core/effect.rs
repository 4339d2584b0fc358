//! What the core asks the driver to do, and the results it hands to callbacks.

use alloc::string::String;
use alloc::vec::Vec;
use livechat_protocol::{ClientFrame, Customer, Millis};
use serde::Serialize;

use super::error::ApiError;
use super::state::StoredState;

/// Identifies one `liveChat` call; the driver keeps the JS callback under this id.
pub type CallId = u32;

/// An instruction for the driver. Drain them with `Widget::poll_effect` after every input.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Call the callback of `call` with `(error)` or `(null, result)`.
    Reply {
        /// The call answered.
        call: CallId,
        /// Outcome.
        result: Result<Reply, ApiError>,
    },
    /// Read `livechat:<widget_id>` and answer with `Widget::handle_stored_state`.
    LoadState {
        /// Which widget.
        widget_id: String,
    },
    /// Write the state (the driver serializes it).
    Persist(alloc::boxed::Box<StoredState>),
    /// Remove every key the SDK owns for this widget.
    ClearStorage {
        /// Which widget.
        widget_id: String,
    },
    /// `GET /v1/widgets/{id}/config?attempt={attempt}`, answer with `Widget::handle_config`
    /// (with the same `attempt`).
    FetchConfig {
        /// Which widget.
        widget_id: String,
        /// The page's n-th configuration request (from 0), for a URL of its own: a browser
        /// holds a request for a URL still pending instead of sending it.
        attempt: u32,
    },
    /// Open the websocket at this path on the server's origin.
    OpenSocket {
        /// e.g. `/v1/ws`.
        path: String,
    },
    /// Ask for this widget's cross-tab lock (Web Locks); answer with
    /// `Widget::handle_role(Role::Leader)` once it is held. A lock held for another widget
    /// is released.
    ClaimSocket {
        /// Which widget.
        widget_id: String,
    },
    /// Close the current socket and forget it (no `closed` event will follow).
    CloseSocket,
    /// Send a frame on the open socket.
    SendFrame(ClientFrame),
    /// Make the UI texts of `language` available (built in: at once; else load
    /// `i18n/<language>.txt`), then answer with `Widget::handle_language_ready` or
    /// `Widget::handle_language_failed`.
    LoadTexts {
        /// One of the 31 tags.
        language: &'static str,
    },
    /// The visible state changed: re-render the view.
    Render,
    /// Tell the page something happened (a `livechat:<name>` DOM event).
    Emit(WidgetEvent),
}

/// Events the page can listen to (`window.addEventListener('livechat:reauth_required', …)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WidgetEvent {
    /// The server wants a fresh JWT: call `liveChat('auth', newJwt)`.
    ReauthRequired,
    /// The server refused the widget for good (unknown widget, origin not allowed).
    Fatal {
        /// The server's code.
        code: String,
    },
}

impl WidgetEvent {
    /// The DOM event name (without the `livechat:` prefix).
    pub fn name(&self) -> &'static str {
        match self {
            Self::ReauthRequired => "reauth_required",
            Self::Fatal { .. } => "fatal",
        }
    }
}

/// The `result` a successful call hands to its callback.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Reply {
    /// `init`.
    Init(InitResult),
    /// `auth`.
    Auth(AuthResult),
    /// `logout`, `clear`.
    Reset(ResetResult),
    /// `show`, `hide`, `show_launcher`, `hide_launcher`.
    Ui(UiResult),
    /// `set_theme`.
    Theme(ThemeResult),
    /// `send` with BASIC or CUSTOM_DATA, once stored by the server.
    Sent(SentResult),
    /// `send` with DRAFT.
    Draft(DraftResult),
    /// `send_contextual_data`, once stored by the server.
    Contextual(ContextualResult),
    /// `set_language`.
    Language(LanguageResult),
}

/// Result of `init`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitResult {
    /// The active widget.
    pub widget_id: String,
    /// The UI language in use.
    pub language: String,
    /// Whether an agent is online.
    pub online: bool,
    /// The authenticated customer, if the stored session has one.
    #[serde(serialize_with = "camel_customer_opt")]
    pub customer: Option<Customer>,
}

/// Result of `auth`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthResult {
    /// Who the visitor now is.
    #[serde(serialize_with = "camel_customer")]
    pub customer: Customer,
}

/// Result of `logout` and `clear`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetResult {
    /// The widget whose local state was removed.
    pub cleared: String,
    /// True when the server session was ended too.
    pub logged_out: bool,
}

/// Result of the visibility commands: the state after the command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UiResult {
    /// The window is expanded.
    pub open: bool,
    /// The launcher is visible.
    pub launcher: bool,
}

/// Result of `set_theme`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThemeResult {
    /// The applied theme.
    pub theme: String,
}

/// Result of a stored `send`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SentResult {
    /// Server id of the message.
    pub message_id: String,
    /// The thread it went to.
    pub thread_id: String,
    /// The client id (idempotency key) it was sent with.
    pub client_id: String,
    /// Server time it was stored.
    pub created_at: Millis,
}

/// Result of `send` DRAFT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DraftResult {
    /// The composer's text now.
    pub draft: String,
}

/// Result of `send_contextual_data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextualResult {
    /// The request id (idempotency key).
    pub request_id: String,
    /// Threads that received the data now.
    pub thread_ids: Vec<String>,
    /// True when no conversation existed yet: the data lands on the first one.
    pub queued: bool,
}

/// Result of `set_language`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LanguageResult {
    /// The language now in use.
    pub language: String,
    /// True when the requested tag was missing or unsupported and en-US was used.
    pub fallback: bool,
    /// The tag as requested, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested: Option<String>,
}

/// Why the core wants to be woken up, for readable timer bugs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// When.
    pub at: Millis,
    /// Why.
    pub reason: &'static str,
}

/// The customer as JavaScript sees it: `{subject, subjectType}` (the wire uses snake_case).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CustomerJs<'a> {
    subject: &'a str,
    subject_type: &'a str,
}

fn camel_customer<S: serde::Serializer>(c: &Customer, s: S) -> Result<S::Ok, S::Error> {
    CustomerJs { subject: &c.subject, subject_type: &c.subject_type }.serialize(s)
}

fn camel_customer_opt<S: serde::Serializer>(c: &Option<Customer>, s: S) -> Result<S::Ok, S::Error> {
    c.as_ref().map(|c| CustomerJs { subject: &c.subject, subject_type: &c.subject_type }).serialize(s)
}
