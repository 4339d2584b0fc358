//! The TOML configuration file. Every key is documented in `docs/server.md`.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use livechat_protocol::{AttachmentPolicy, Theme, WidgetConfig, DEFAULT_LANGUAGE, LANGUAGES};
use serde::Deserialize;

/// The whole configuration file.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Enables `POST /demo/jwt` (demo sign-in only; never enable in production).
    #[serde(default)]
    pub demo_jwt_mint: bool,
    /// Server-wide limits and timers.
    #[serde(default)]
    pub limits: Limits,
    /// Optional automatic agent answer so a newcomer sees a reply without an agent.
    #[serde(default)]
    pub auto_reply: Option<AutoReply>,
    /// Bearer tokens of the agent / integration API.
    #[serde(default)]
    pub agents: Vec<AgentToken>,
    /// The widgets this server serves.
    #[serde(default)]
    pub widgets: Vec<WidgetSettings>,
}

/// Server-wide limits.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest websocket frame / message accepted, bytes.
    pub frame_max_bytes: usize,
    /// Longest message text, in characters.
    pub text_max_chars: usize,
    /// Largest serialized contextual-data object, bytes.
    pub metadata_max_bytes: usize,
    /// Deepest nesting of contextual-data values.
    pub metadata_max_depth: usize,
    /// Largest serialized CUSTOM_DATA payload, bytes.
    pub custom_data_max_bytes: usize,
    /// Token-bucket refill rate, frames per second per connection.
    pub rate_limit_per_sec: f64,
    /// Token-bucket size (burst), frames.
    pub rate_limit_burst: f64,
    /// Stored writes (`send`, `contextual_data`) per second per visitor, across all of the
    /// visitor's sockets and every node (kept in the visitor's row).
    pub visitor_rate_limit_per_sec: f64,
    /// Burst of stored writes per visitor.
    pub visitor_rate_limit_burst: f64,
    /// An idle session (no `hello`) expires after this many seconds.
    pub session_idle_timeout_secs: u64,
    /// How often the background sweep closes inactive threads, milliseconds.
    pub sweep_interval_ms: u64,
    /// Messages per thread included in a `sync`.
    pub sync_messages_per_thread: usize,
    /// A socket that sends nothing for this long is closed (0 = never).
    pub ws_idle_timeout_secs: u64,
    /// Websocket read buffer per connection, bytes.
    pub ws_read_buffer_bytes: usize,
    /// Websocket write buffer per connection, bytes.
    pub ws_write_buffer_bytes: usize,
    /// Outgoing frames queued for one slow socket before it is disconnected.
    pub ws_outbound_queue: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            frame_max_bytes: 16 * 1024 * 1024,
            text_max_chars: 10_000,
            metadata_max_bytes: 16 * 1024,
            metadata_max_depth: 8,
            custom_data_max_bytes: 64 * 1024,
            rate_limit_per_sec: 20.0,
            rate_limit_burst: 40.0,
            visitor_rate_limit_per_sec: 20.0,
            visitor_rate_limit_burst: 40.0,
            session_idle_timeout_secs: 30 * 24 * 3600,
            sweep_interval_ms: 5_000,
            sync_messages_per_thread: 200,
            ws_idle_timeout_secs: 300,
            ws_read_buffer_bytes: 4 * 1024,
            ws_write_buffer_bytes: 4 * 1024,
            ws_outbound_queue: 1024,
        }
    }
}

/// Demo auto-reply.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct AutoReply {
    /// Text of the reply.
    pub text: String,
    /// Delay after the visitor's message, milliseconds.
    #[serde(default = "default_auto_reply_delay")]
    pub delay_ms: u64,
    /// Agent name shown on the reply.
    #[serde(default = "default_bot_name")]
    pub agent_name: String,
}

fn default_auto_reply_delay() -> u64 {
    1000
}
fn default_bot_name() -> String {
    "Demo bot".into()
}

/// One agent API token.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct AgentToken {
    /// Display name used on replies sent with this token.
    pub name: String,
    /// The bearer token.
    pub token: String,
}

impl fmt::Debug for AgentToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentToken")
            .field("name", &self.name)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// One JWT signing key of a widget.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct SecretKey {
    /// Key id (the JWT `ski`).
    pub ski: String,
    /// Base64 of the secret bytes.
    pub secret: String,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("ski", &self.ski)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl SecretKey {
    /// The decoded secret bytes.
    pub fn bytes(&self) -> Option<Vec<u8>> {
        let s = self.secret.trim();
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(s))
            .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(s))
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s))
            .ok()
    }
}

/// Attachment limits of a widget.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct Attachments {
    /// Largest decoded attachment, bytes.
    pub max_bytes: u64,
    /// Allowed MIME types; `type/*` wildcards allowed.
    pub allowed_types: Vec<String>,
}

impl Default for Attachments {
    fn default() -> Self {
        Attachments {
            max_bytes: 10 * 1024 * 1024,
            allowed_types: [
                "image/png",
                "image/jpeg",
                "image/gif",
                "image/webp",
                "application/pdf",
                "text/plain",
                "text/csv",
                "application/zip",
                "application/msword",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.ms-excel",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        }
    }
}

/// One widget.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct WidgetSettings {
    /// Widget id (the JWT `iss`).
    pub id: String,
    /// Window title.
    #[serde(default = "default_title")]
    pub title: String,
    /// Brand colour `#rrggbb`.
    #[serde(default = "default_color")]
    pub color: String,
    /// JWT keys; the first is used by the demo mint.
    #[serde(default)]
    pub secret_keys: Vec<SecretKey>,
    /// Origins allowed to load the config and open sockets.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Named themes.
    #[serde(default)]
    pub themes: BTreeMap<String, Theme>,
    /// Languages offered (empty = all supported).
    #[serde(default)]
    pub languages: Vec<String>,
    /// Default language.
    #[serde(default = "default_language")]
    pub default_language: String,
    /// Several open threads per visitor.
    #[serde(default)]
    pub multi_thread: bool,
    /// Attachment limits.
    #[serde(default)]
    pub attachments: Attachments,
    /// An open thread with no message for this long is closed, seconds.
    #[serde(default = "default_inactivity")]
    pub inactivity_timeout_secs: f64,
    /// Shown while no agent is online.
    #[serde(default = "default_offline")]
    pub offline_message: String,
    /// Report agents as online even when none is connected.
    #[serde(default)]
    pub agents_online: bool,
    /// An authenticated session lasts until its JWT's `exp`: then the server asks the
    /// widget for a fresh token (`reauth_required`) and holds the customer's sends until
    /// `auth`. `false`: the session lives as long as any session.
    #[serde(default = "default_true")]
    pub reauth_on_token_expiry: bool,
}

fn default_true() -> bool {
    true
}

fn default_title() -> String {
    "Chat with us".into()
}
fn default_color() -> String {
    "#0b57d0".into()
}
fn default_language() -> String {
    DEFAULT_LANGUAGE.into()
}
fn default_inactivity() -> f64 {
    1800.0
}
fn default_offline() -> String {
    "We are offline right now. Leave a message and we will answer as soon as we can.".into()
}

impl Config {
    /// Parses and validates a TOML document.
    pub fn from_toml_str(s: &str) -> Result<Config, String> {
        let c: Config = toml::from_str(s).map_err(|e| format!("config: {e}"))?;
        c.validate()?;
        Ok(c)
    }

    /// Reads and validates a TOML file.
    pub fn load(path: &std::path::Path) -> Result<Config, String> {
        let s =
            std::fs::read_to_string(path).map_err(|e| format!("config {}: {e}", path.display()))?;
        Config::from_toml_str(&s)
    }

    fn validate(&self) -> Result<(), String> {
        let mut ids = std::collections::HashSet::new();
        for w in &self.widgets {
            if w.id.is_empty() {
                return Err("config: widget id must not be empty".into());
            }
            if !ids.insert(w.id.as_str()) {
                return Err(format!("config: duplicate widget id {}", w.id));
            }
            for k in &w.secret_keys {
                match k.bytes() {
                    Some(b) if !b.is_empty() => {}
                    _ => {
                        return Err(format!(
                            "config: widget {} key {}: secret is not base64",
                            w.id, k.ski
                        ))
                    }
                }
            }
            if w.inactivity_timeout_secs.is_nan() || w.inactivity_timeout_secs <= 0.0 {
                return Err(format!(
                    "config: widget {}: inactivity_timeout_secs must be > 0",
                    w.id
                ));
            }
            for l in &w.languages {
                if !LANGUAGES.contains(&l.as_str()) {
                    return Err(format!("config: widget {}: unsupported language {l}", w.id));
                }
            }
        }
        for a in &self.agents {
            if a.token.len() < 8 {
                return Err(format!(
                    "config: agent {}: token too short (min 8 chars)",
                    a.name
                ));
            }
        }
        let l = &self.limits;
        if l.rate_limit_per_sec <= 0.0 || l.rate_limit_burst < 1.0 || l.visitor_rate_limit_per_sec <= 0.0 || l.visitor_rate_limit_burst < 1.0 {
            return Err("config: rate limits must be positive".into());
        }
        Ok(())
    }

    /// The widget with this id.
    pub fn widget(&self, id: &str) -> Option<&WidgetSettings> {
        self.widgets.iter().find(|w| w.id == id)
    }
}

impl WidgetSettings {
    /// Whether `origin` (the `Origin` header value) is allowed.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.allowed_origins
            .iter()
            .any(|p| origin_matches(p, origin))
    }

    /// The config served over HTTP.
    pub fn public_config(&self, online: bool) -> WidgetConfig {
        WidgetConfig {
            id: self.id.clone(),
            title: self.title.clone(),
            color: self.color.clone(),
            themes: self.themes.clone().into_iter().collect(),
            languages: if self.languages.is_empty() {
                LANGUAGES.iter().map(|s| s.to_string()).collect()
            } else {
                self.languages.clone()
            },
            default_language: self.default_language.clone(),
            multi_thread: self.multi_thread,
            attachments: AttachmentPolicy {
                max_bytes: self.attachments.max_bytes,
                allowed_types: self.attachments.allowed_types.clone(),
            },
            offline_message: self.offline_message.clone(),
            online,
            ws_path: "/v1/ws".into(),
        }
    }

    /// Inactivity timeout in milliseconds.
    pub fn inactivity_ms(&self) -> u64 {
        (self.inactivity_timeout_secs * 1000.0) as u64
    }
}

/// Matches an allow-list entry against an `Origin` value. Entries are exact origins
/// (`https://shop.example`), `*` (any origin), or have a port wildcard (`http://localhost:*`).
pub fn origin_matches(pattern: &str, origin: &str) -> bool {
    let pattern = pattern.trim_end_matches('/');
    if pattern == "*" {
        return true;
    }
    if let Some(prefix) = pattern.strip_suffix(":*") {
        if origin == prefix {
            return true;
        }
        if let Some(port) = origin
            .strip_prefix(prefix)
            .and_then(|r| r.strip_prefix(':'))
        {
            return !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
        }
        return false;
    }
    pattern.eq_ignore_ascii_case(origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_patterns() {
        assert!(origin_matches(
            "http://localhost:*",
            "http://localhost:8080"
        ));
        assert!(origin_matches("http://localhost:*", "http://localhost"));
        assert!(!origin_matches(
            "http://localhost:*",
            "http://localhost.evil.com:80"
        ));
        assert!(!origin_matches(
            "http://localhost:*",
            "http://localhost:80x"
        ));
        assert!(origin_matches(
            "https://shop.example",
            "https://shop.example"
        ));
        assert!(!origin_matches(
            "https://shop.example",
            "https://shop.example.evil"
        ));
        assert!(!origin_matches("https://shop.example", "null"));
    }

    fn luminance(hex: &str) -> f64 {
        let hex = hex.trim_start_matches('#');
        let c = |i: usize| {
            let v = u8::from_str_radix(&hex[i..i + 2], 16).unwrap() as f64 / 255.0;
            if v <= 0.03928 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * c(0) + 0.7152 * c(2) + 0.0722 * c(4)
    }

    fn contrast(a: &str, b: &str) -> f64 {
        let (la, lb) = (luminance(a), luminance(b));
        let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
        (hi + 0.05) / (lo + 0.05)
    }

    #[test]
    fn demo_config_parses_and_themes_have_contrast() {
        let c = Config::from_toml_str(include_str!("../demo.toml")).unwrap();
        let w = c.widget("85ea1938-f457-496d-8532-8fa489beea63").unwrap();
        assert!(!w.multi_thread);
        assert!(c.widget("demo-multi").unwrap().multi_thread);
        for w in &c.widgets {
            assert!(w.themes.contains_key("light") && w.themes.contains_key("dark"));
            for (name, t) in &w.themes {
                let (p, op) = (
                    t.primary.as_deref().unwrap(),
                    t.on_primary.as_deref().unwrap(),
                );
                let (bg, tx) = (t.background.as_deref().unwrap(), t.text.as_deref().unwrap());
                assert!(
                    contrast(p, op) >= 4.5,
                    "{name}: on_primary contrast {}",
                    contrast(p, op)
                );
                assert!(
                    contrast(bg, tx) >= 4.5,
                    "{name}: text contrast {}",
                    contrast(bg, tx)
                );
            }
        }
        assert!(w.origin_allowed("http://127.0.0.1:5173"));
        assert!(w.origin_allowed("http://localhost:8080"));
        // Secrets never show in Debug output.
        let dbg = format!("{c:?}");
        for k in &w.secret_keys {
            assert!(!dbg.contains(&k.secret));
        }
    }
}
