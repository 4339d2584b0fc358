//! The one error type that reaches JavaScript: a stable `code` and a human `message`.

use alloc::string::{String, ToString};
use serde::Serialize;

/// Stable error codes handed to `liveChat` callbacks (listed in README.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The first argument is not a known command name.
    UnknownCommand,
    /// The argument is missing, of the wrong type, or breaks a rule of the command.
    InvalidArgument,
    /// A command other than `init` came before `init`.
    NotInitialized,
    /// `init` with another widget id while one is active (call `logout` or `clear` first).
    AlreadyInitialized,
    /// `logout` without an authenticated session.
    NotAuthenticated,
    /// `set_theme` with a theme the widget does not configure.
    UnknownTheme,
    /// The server does not know the widget id.
    UnknownWidget,
    /// The widget configuration could not be loaded and none is cached.
    ConfigUnavailable,
    /// The command was cancelled because `logout`, `clear` or another `init` reset the widget.
    Cancelled,
    /// The server refused the request; `message` says why (the server's code is in `reason`).
    Rejected,
    /// The server asks for a fresh JWT (call `auth` again).
    ReauthRequired,
}

impl ErrorCode {
    /// The code string JavaScript sees.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownCommand => "unknown_command",
            Self::InvalidArgument => "invalid_argument",
            Self::NotInitialized => "not_initialized",
            Self::AlreadyInitialized => "already_initialized",
            Self::NotAuthenticated => "not_authenticated",
            Self::UnknownTheme => "unknown_theme",
            Self::UnknownWidget => "unknown_widget",
            Self::ConfigUnavailable => "config_unavailable",
            Self::Cancelled => "cancelled",
            Self::Rejected => "rejected",
            Self::ReauthRequired => "reauth_required",
        }
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// An error answered to a `liveChat` call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiError {
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// What went wrong and how to fix it.
    pub message: String,
    /// For [`ErrorCode::Rejected`]: the server's own error code (e.g. `attachment_rejected`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ApiError {
    /// Builds an error with a code and message.
    pub fn new(code: ErrorCode, message: impl ToString) -> Self {
        Self { code, message: message.to_string(), reason: None }
    }

    /// Shorthand for [`ErrorCode::InvalidArgument`].
    pub fn invalid(message: impl ToString) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }

    /// A server refusal carrying the server's code.
    pub fn rejected(reason: &str, message: &str) -> Self {
        use livechat_protocol::error_code as server;
        let code = match reason {
            server::NOT_AUTHENTICATED => ErrorCode::NotAuthenticated,
            server::UNKNOWN_WIDGET => ErrorCode::UnknownWidget,
            server::REAUTH_REQUIRED => ErrorCode::ReauthRequired,
            _ => ErrorCode::Rejected,
        };
        Self { code, message: message.to_string(), reason: Some(reason.to_string()) }
    }
}
