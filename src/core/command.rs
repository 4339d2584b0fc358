//! Parses a `liveChat(command, arg)` call into a typed [`Command`], once, at the boundary.
//!
//! The argument arrives as JSON (the driver runs it through the browser's own
//! `JSON.stringify`/`JSON.parse`, so functions, symbols and cycles never get here).
//! Every rule of spec 001's command tables is checked here; nothing later re-validates.

use alloc::format;
use alloc::string::{String, ToString};
use livechat_protocol::{Json, MultiThreadStrategy, OutgoingAttachment};
use serde_json::Map;

use super::error::{ApiError, ErrorCode};

/// Longest widget id accepted (it becomes part of a URL and a storage key).
pub const MAX_WIDGET_ID_LEN: usize = 64;
/// Longest JWT accepted.
pub const MAX_JWT_LEN: usize = 8 * 1024;
/// Longest message text, in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// Deepest nesting accepted in `metadata` and `customData`.
pub const MAX_DATA_DEPTH: usize = 8;
/// Largest `metadata` / `customData`, as serialized JSON bytes (approximate).
pub const MAX_DATA_BYTES: usize = 16 * 1024;
/// Deepest nesting the driver lets through to the parser at all.
pub const MAX_ARG_DEPTH: usize = 32;

/// A `liveChat` command with a valid argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `init`: start the widget. `None` re-confirms the active widget.
    Init {
        /// The widget id, when given.
        widget_id: Option<String>,
    },
    /// `auth`: authenticate with a JWT.
    Auth {
        /// The token, JWT-shaped.
        jwt: String,
    },
    /// `logout`: end the authenticated session and reset.
    Logout,
    /// `clear`: wipe local state (and log out when a widget id is given).
    Clear {
        /// The widget whose storage to clear; `None` = the active one.
        widget_id: Option<String>,
    },
    /// `show`: expand the window.
    Show,
    /// `hide`: collapse the window, keep the launcher.
    Hide,
    /// `show_launcher`: show the launcher without expanding.
    ShowLauncher,
    /// `hide_launcher`: collapse the window and remove the launcher.
    HideLauncher,
    /// `set_theme`: apply a configured theme.
    SetTheme {
        /// Theme name.
        name: String,
    },
    /// `send`: send a message or set the draft.
    Send(SendPayload),
    /// `send_contextual_data`: attach metadata to conversations.
    SendContextualData {
        /// Key-value pairs.
        metadata: Map<String, Json>,
        /// ACTIVE (default), ALL or ALL_PLUS_NEW.
        strategy: MultiThreadStrategy,
    },
    /// `set_language`: switch the UI language. `None` = the argument was absent.
    SetLanguage {
        /// The tag as given.
        requested: Option<String>,
    },
}

/// The argument of `send`, by `type`.
#[derive(Debug, Clone, PartialEq)]
pub enum SendPayload {
    /// `BASIC`: text and/or an attachment.
    Basic {
        /// Text.
        text: Option<String>,
        /// Attachment with its file name.
        attachment: Option<OutgoingAttachment>,
        /// Target thread.
        thread_id: Option<String>,
    },
    /// `DRAFT`: fill the composer.
    Draft {
        /// The draft text.
        text: String,
        /// Target thread (opens it in multi-thread widgets).
        thread_id: Option<String>,
    },
    /// `CUSTOM_DATA`: structured data with optional per-audience texts.
    CustomData {
        /// Any JSON.
        custom_data: Json,
        /// Shown to agents only.
        agent_message: Option<String>,
        /// Shown to the visitor only.
        user_message: Option<String>,
        /// Target thread.
        thread_id: Option<String>,
    },
}

/// The command names of spec 001.
pub const NAMES: [&str; 12] = [
    "init", "auth", "logout", "clear", "show", "hide", "show_launcher", "hide_launcher", "set_theme", "send",
    "send_contextual_data", "set_language",
];

/// Parses a command name and its argument (`None` for `undefined`/`null`).
///
/// # Errors
/// [`ErrorCode::UnknownCommand`] for a name not in spec 001, [`ErrorCode::InvalidArgument`]
/// when the argument breaks the command's rules; the message names the rule.
pub fn parse(name: &str, arg: Option<Json>) -> Result<Command, ApiError> {
    let arg = arg.filter(|a| !a.is_null());
    match name {
        "init" => Ok(Command::Init { widget_id: arg.map(|a| widget_id("init", a)).transpose()? }),
        "auth" => Ok(Command::Auth { jwt: jwt(required("auth", "a JWT string", arg)?)? }),
        "logout" => no_arg("logout", arg, Command::Logout),
        "clear" => Ok(Command::Clear { widget_id: arg.map(|a| widget_id("clear", a)).transpose()? }),
        "show" => no_arg("show", arg, Command::Show),
        "hide" => no_arg("hide", arg, Command::Hide),
        "show_launcher" => no_arg("show_launcher", arg, Command::ShowLauncher),
        "hide_launcher" => no_arg("hide_launcher", arg, Command::HideLauncher),
        "set_theme" => Ok(Command::SetTheme { name: theme(required("set_theme", "a theme name", arg)?)? }),
        "send" => send(required("send", "a message object", arg)?).map(Command::Send),
        "send_contextual_data" => contextual(required("send_contextual_data", "an object with `metadata`", arg)?),
        "set_language" => Ok(Command::SetLanguage {
            requested: arg.map(|a| string_arg("set_language", "a language tag such as 'it-IT'", a)).transpose()?,
        }),
        _ => Err(ApiError::new(
            ErrorCode::UnknownCommand,
            format!(
                "unknown command '{}'; expected one of init, auth, logout, clear, show, hide, show_launcher, \
                 hide_launcher, set_theme, send, send_contextual_data, set_language",
                truncate(name, 40)
            ),
        )),
    }
}

fn required(cmd: &str, what: &str, arg: Option<Json>) -> Result<Json, ApiError> {
    arg.ok_or_else(|| ApiError::invalid(format!("{cmd} requires {what}")))
}

fn no_arg(cmd: &str, arg: Option<Json>, command: Command) -> Result<Command, ApiError> {
    match arg {
        None => Ok(command),
        Some(other) => Err(ApiError::invalid(format!(
            "{cmd} takes no argument (pass null), got {}",
            kind(&other)
        ))),
    }
}

fn string_arg(cmd: &str, what: &str, arg: Json) -> Result<String, ApiError> {
    match arg {
        Json::String(s) => Ok(s),
        other => Err(ApiError::invalid(format!("{cmd} expects {what}, got {}", kind(&other)))),
    }
}

fn widget_id(cmd: &str, arg: Json) -> Result<String, ApiError> {
    let id = string_arg(cmd, "a widget id string", arg)?;
    let ok = !id.is_empty()
        && id.len() <= MAX_WIDGET_ID_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(id)
    } else {
        Err(ApiError::invalid(format!(
            "{cmd}: widget id must be 1–{MAX_WIDGET_ID_LEN} characters of A–Z, a–z, 0–9, '-' or '_'"
        )))
    }
}

fn jwt(arg: Json) -> Result<String, ApiError> {
    let token = string_arg("auth", "a JWT string", arg)?;
    let b64url = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let mut parts = token.split('.');
    let shaped = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) => {
            !h.is_empty() && !p.is_empty() && !s.is_empty() && b64url(h) && b64url(p) && b64url(s)
        }
        _ => false,
    };
    if token.len() > MAX_JWT_LEN {
        return Err(ApiError::invalid(format!("auth: JWT longer than {MAX_JWT_LEN} bytes")));
    }
    if !shaped {
        return Err(ApiError::invalid(
            "auth expects a signed JWT: three base64url parts joined by '.' (header.payload.signature)",
        ));
    }
    Ok(token)
}

fn theme(arg: Json) -> Result<String, ApiError> {
    let name = string_arg("set_theme", "a theme name", arg)?;
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed.len() > 64 {
        return Err(ApiError::invalid("set_theme expects a non-empty theme name (at most 64 characters)"));
    }
    Ok(trimmed.to_string())
}

fn send(arg: Json) -> Result<SendPayload, ApiError> {
    let Json::Object(obj) = arg else {
        return Err(ApiError::invalid(format!(
            "send expects an object like {{ type: 'BASIC', message: 'Hello' }}, got {}",
            kind(&arg)
        )));
    };
    let thread_id = opt_string(&obj, "send", "threadId")?;
    if thread_id.as_deref() == Some("") {
        return Err(ApiError::invalid("send: threadId must be a non-empty string when given"));
    }
    let ty = opt_string(&obj, "send", "type")?;
    match ty.as_deref() {
        Some("BASIC") => {
            let text = opt_string(&obj, "send", "message")?.filter(|t| !t.trim().is_empty());
            let attachment = opt_string(&obj, "send", "attachment")?.filter(|a| !a.is_empty());
            let file_name = opt_string(&obj, "send", "fileName")?;
            if let Some(t) = &text {
                check_text("message", t)?;
            }
            let attachment = match (attachment, file_name) {
                (Some(content), Some(file_name)) if !file_name.trim().is_empty() => {
                    Some(OutgoingAttachment { file_name, content })
                }
                (Some(_), _) => {
                    return Err(ApiError::invalid("send BASIC: fileName is required when attachment is set"))
                }
                (None, _) => None,
            };
            if text.is_none() && attachment.is_none() {
                return Err(ApiError::invalid("send BASIC needs a non-empty message or an attachment"));
            }
            Ok(SendPayload::Basic { text, attachment, thread_id })
        }
        Some("DRAFT") => {
            let Some(text) = opt_string(&obj, "send", "message")? else {
                return Err(ApiError::invalid("send DRAFT requires message (the text to put in the input)"));
            };
            check_text("message", &text)?;
            Ok(SendPayload::Draft { text, thread_id })
        }
        Some("CUSTOM_DATA") => {
            let custom_data = match obj.get("customData") {
                None | Some(Json::Null) => {
                    return Err(ApiError::invalid("send CUSTOM_DATA requires customData"))
                }
                Some(v) => v.clone(),
            };
            check_data("customData", &custom_data)?;
            let agent_message = opt_string(&obj, "send", "agentMessage")?;
            let user_message = opt_string(&obj, "send", "userMessage")?;
            for (field, t) in [("agentMessage", &agent_message), ("userMessage", &user_message)] {
                if let Some(t) = t {
                    check_text(field, t)?;
                }
            }
            Ok(SendPayload::CustomData { custom_data, agent_message, user_message, thread_id })
        }
        Some(other) => Err(ApiError::invalid(format!(
            "send: type must be 'BASIC', 'DRAFT' or 'CUSTOM_DATA', got '{}'",
            truncate(other, 40)
        ))),
        None => Err(ApiError::invalid("send: type is required ('BASIC', 'DRAFT' or 'CUSTOM_DATA')")),
    }
}

fn contextual(arg: Json) -> Result<Command, ApiError> {
    let Json::Object(obj) = arg else {
        return Err(ApiError::invalid(format!(
            "send_contextual_data expects {{ metadata: {{…}}, multiThreadStrategy?: 'ACTIVE' }}, got {}",
            kind(&arg)
        )));
    };
    let metadata = match obj.get("metadata") {
        Some(value @ Json::Object(m)) => {
            if m.is_empty() {
                return Err(ApiError::invalid("send_contextual_data: metadata has no keys"));
            }
            check_data("metadata", value)?;
            m.clone()
        }
        None | Some(Json::Null) => {
            return Err(ApiError::invalid("send_contextual_data requires metadata (an object of key-value pairs)"))
        }
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "send_contextual_data: metadata must be a plain object, got {}",
                kind(other)
            )))
        }
    };
    let strategy = match opt_string(&obj, "send_contextual_data", "multiThreadStrategy")? {
        None => MultiThreadStrategy::Active,
        Some(name) => MultiThreadStrategy::parse(&name).ok_or_else(|| {
            ApiError::invalid(format!(
                "send_contextual_data: multiThreadStrategy must be 'ACTIVE', 'ALL' or 'ALL_PLUS_NEW', got '{}'",
                truncate(&name, 40)
            ))
        })?,
    };
    Ok(Command::SendContextualData { metadata, strategy })
}

fn opt_string(obj: &Map<String, Json>, cmd: &str, field: &str) -> Result<Option<String>, ApiError> {
    match obj.get(field) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ApiError::invalid(format!("{cmd}: {field} must be a string, got {}", kind(other)))),
    }
}

fn check_text(field: &str, text: &str) -> Result<(), ApiError> {
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::invalid(format!("send: {field} is longer than {MAX_TEXT_CHARS} characters")));
    }
    Ok(())
}

fn check_data(field: &str, value: &Json) -> Result<(), ApiError> {
    let (depth, bytes) = measure(value);
    if depth > MAX_DATA_DEPTH {
        return Err(ApiError::invalid(format!("{field} is nested deeper than {MAX_DATA_DEPTH} levels")));
    }
    if bytes > MAX_DATA_BYTES {
        return Err(ApiError::invalid(format!("{field} is larger than {} KB", MAX_DATA_BYTES / 1024)));
    }
    Ok(())
}

/// Returns (nesting depth, approximate serialized size in bytes) of a JSON value.
fn measure(value: &Json) -> (usize, usize) {
    match value {
        Json::Null | Json::Bool(_) => (0, 5),
        Json::Number(_) => (0, 12),
        Json::String(s) => (0, s.len() + 2),
        Json::Array(items) => items.iter().fold((1, 2), |(d, b), v| {
            let (vd, vb) = measure(v);
            (d.max(vd + 1), b + vb + 1)
        }),
        Json::Object(map) => map.iter().fold((1, 2), |(d, b), (k, v)| {
            let (vd, vb) = measure(v);
            (d.max(vd + 1), b + k.len() + vb + 4)
        }),
    }
}

/// Checks JSON text (from `JSON.stringify`) for nesting depth before it is parsed, so a
/// hostile argument cannot exhaust the wasm stack during deserialization.
///
/// # Errors
/// [`ErrorCode::InvalidArgument`] when the text nests deeper than `max_depth`.
pub fn check_json_depth(text: &str, max_depth: usize) -> Result<(), ApiError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for b in text.bytes() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max_depth {
                    return Err(ApiError::invalid(format!("argument is nested deeper than {max_depth} levels")));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Moves a parsed object into the `BTreeMap` the protocol types hold. It is already sorted:
/// inserting in order avoids `collect`, which sorts again (and brings a slice sort into the wasm).
pub fn into_btree(map: Map<String, Json>) -> alloc::collections::BTreeMap<String, Json> {
    let mut out = alloc::collections::BTreeMap::new();
    for (k, v) in map {
        out.insert(k, v);
    }
    out
}

/// A short name of a JSON value's type, for error messages.
pub fn kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn truncate(s: &str, max_chars: usize) -> &str {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => s.get(..i).unwrap_or(s), // `get`: no slice-panic path in the wasm
        None => s,
    }
}
