//! What the widget keeps across reloads: one versioned entry per widget (`livechat:<id>`).
//!
//! The format is pinned by `tests/snapshots/stored_state_v1.json`: change a field here and
//! the snapshot test fails, which is the cue to bump [`STATE_VERSION`].

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use livechat_protocol::{Customer, Json, Millis, MultiThreadStrategy, OutgoingBody, Seq, Thread, WidgetConfig};
use serde::{Deserialize, Serialize};

/// Version of the stored format. Data of another version is discarded, never migrated in place.
pub const STATE_VERSION: u32 = 1;
/// Storage key prefix; the key is `livechat:<widgetId>`.
pub const STORAGE_PREFIX: &str = "livechat:";
/// Messages kept per thread in storage (the server holds the full history).
pub const STORED_MESSAGES_PER_THREAD: usize = 100;
/// Threads kept in storage, most recent first.
pub const STORED_THREADS: usize = 20;

/// Returns the storage key of a widget.
pub fn storage_key(widget_id: &str) -> String {
    let mut key = String::from(STORAGE_PREFIX);
    key.push_str(widget_id);
    key
}

/// The persisted state of one widget.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct StoredState {
    /// Always [`STATE_VERSION`] when written.
    pub version: u32,
    /// The widget this belongs to.
    pub widget_id: String,
    /// Opaque server session token (resumes the visitor or customer).
    #[serde(default)]
    pub session: Option<String>,
    /// The authenticated customer, if any.
    #[serde(default)]
    pub customer: Option<Customer>,
    /// Last event sequence applied.
    #[serde(default)]
    pub last_seq: Seq,
    /// Window, launcher and composer.
    pub ui: UiState,
    /// Language chosen with `set_language` (`None` = widget/browser default).
    #[serde(default)]
    pub language: Option<String>,
    /// Theme chosen with `set_theme` (`None` = default).
    #[serde(default)]
    pub theme: Option<String>,
    /// Threads with their most recent messages, oldest first.
    #[serde(default)]
    pub threads: Vec<Thread>,
    /// The thread the visitor looks at (multi-thread widgets).
    #[serde(default)]
    pub active_thread: Option<String>,
    /// Requests not yet acknowledged by the server, in send order.
    #[serde(default)]
    pub outbox: Vec<OutboxItem>,
    /// The last widget configuration seen, so a reload renders without the network.
    #[serde(default)]
    pub config: Option<WidgetConfig>,
    /// Session tokens ended by `logout`/`clear` that the server has not heard of yet: the
    /// next `hello` ends them first (absent when empty, so older entries read the same).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ended_sessions: Vec<String>,
    /// Threads of `threads` stored from their first message on (the widget saw the thread
    /// open, or the server said nothing is older): reaching the top of one asks the server
    /// nothing (absent when empty, so older entries read the same).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub complete_threads: Vec<String>,
}

impl StoredState {
    /// A fresh state for a widget: launcher visible, window closed, nothing sent.
    pub fn fresh(widget_id: &str) -> Self {
        Self {
            version: STATE_VERSION,
            widget_id: String::from(widget_id),
            session: None,
            customer: None,
            last_seq: 0,
            ui: UiState::default(),
            language: None,
            theme: None,
            threads: Vec::new(),
            active_thread: None,
            outbox: Vec::new(),
            config: None,
            ended_sessions: Vec::new(),
            complete_threads: Vec::new(),
        }
    }

    /// Returns the state if it is usable for `widget_id`: right version, right widget.
    pub fn validated(self, widget_id: &str) -> Option<Self> {
        (self.version == STATE_VERSION && self.widget_id == widget_id).then_some(self)
    }
}

/// Visible state of the widget chrome.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct UiState {
    /// The chat window is expanded.
    pub open: bool,
    /// The launcher button is on the page.
    pub launcher: bool,
    /// Text in the composer.
    #[serde(default)]
    pub draft: String,
    /// Agent messages that arrived while the window was closed (the launcher's badge).
    #[serde(default)]
    pub unread: u32,
    /// Multi-thread widgets: the visitor looks at the list of conversations.
    #[serde(default)]
    pub thread_list: bool,
    /// Multi-thread widgets: the visitor is starting a new conversation.
    #[serde(default)]
    pub new_thread: bool,
}

impl Default for UiState {
    fn default() -> Self {
        Self { open: false, launcher: true, draft: String::new(), unread: 0, thread_list: false, new_thread: false }
    }
}

/// A request waiting for the server's acknowledgement. Its `id` is the idempotency key.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct OutboxItem {
    /// Client-generated id, sent as `req`.
    pub id: String,
    /// What to send.
    pub request: OutboxRequest,
    /// Sending, or failed with the server's reason.
    pub status: Delivery,
    /// When the visitor or page created it.
    pub created_at: Millis,
}

/// The request an outbox item carries.
///
/// Stored externally tagged (`{"message": {…}}`): internally tagged enums make serde
/// buffer and re-instantiate every nested type, which costs wasm size for nothing here.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum OutboxRequest {
    /// A visitor message.
    Message {
        /// Target thread, `None` = active.
        thread_id: Option<String>,
        /// Start a new thread (multi-thread widgets).
        #[serde(default)]
        new_thread: bool,
        /// The body.
        #[serde(with = "stored_body")]
        body: OutgoingBody,
    },
    /// Contextual data.
    ContextualData {
        /// Key-value pairs.
        metadata: BTreeMap<String, Json>,
        /// Which threads.
        strategy: MultiThreadStrategy,
    },
}

/// Delivery state of an outbox item.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Will be (re)sent whenever connected.
    Sending,
    /// The server refused it; kept for a manual retry, never dropped silently.
    Failed {
        /// The server's error code.
        code: String,
        /// The server's explanation.
        message: String,
    },
}

/// Stores a message body externally tagged (the wire format tags it internally).
mod stored_body {
    use alloc::string::String;
    use livechat_protocol::{Json, OutgoingAttachment, OutgoingBody};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Body {
        Basic { text: Option<String>, attachment: Option<OutgoingAttachment> },
        CustomData { custom_data: Json, agent_message: Option<String>, user_message: Option<String> },
    }

    pub fn serialize<S: Serializer>(body: &OutgoingBody, s: S) -> Result<S::Ok, S::Error> {
        match body.clone() {
            OutgoingBody::Basic { text, attachment } => Body::Basic { text, attachment },
            OutgoingBody::CustomData { custom_data, agent_message, user_message } => {
                Body::CustomData { custom_data, agent_message, user_message }
            }
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OutgoingBody, D::Error> {
        Ok(match Body::deserialize(d)? {
            Body::Basic { text, attachment } => OutgoingBody::Basic { text, attachment },
            Body::CustomData { custom_data, agent_message, user_message } => {
                OutgoingBody::CustomData { custom_data, agent_message, user_message }
            }
        })
    }
}
