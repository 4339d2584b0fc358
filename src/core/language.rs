//! Language selection: the 31 tags of spec 001, with en-US as the fallback.

use alloc::string::{String, ToString};
use livechat_protocol::{DEFAULT_LANGUAGE, LANGUAGES};

use super::effect::LanguageResult;

/// Returns the canonical tag for `tag` (case-insensitive), if supported.
pub fn supported(tag: &str) -> Option<&'static str> {
    LANGUAGES.iter().copied().find(|l| l.eq_ignore_ascii_case(tag))
}

/// Applies `set_language`: a missing or unsupported tag falls back to en-US, and says so.
pub fn choose(requested: Option<String>) -> LanguageResult {
    match requested.as_deref().and_then(supported) {
        Some(tag) => LanguageResult { language: tag.to_string(), fallback: false, requested },
        None => LanguageResult { language: DEFAULT_LANGUAGE.to_string(), fallback: true, requested },
    }
}

/// The language in use: the page's choice, else the browser's first supported language
/// (matched by tag, then by primary subtag), else the widget's default, else en-US.
pub fn resolve_default(chosen: Option<&str>, widget_default: Option<&str>, browser: &[String]) -> &'static str {
    if let Some(tag) = chosen.and_then(supported) {
        return tag;
    }
    for b in browser {
        if let Some(tag) = supported(b) {
            return tag;
        }
        let primary = b.split('-').next().unwrap_or("");
        if let Some(tag) = LANGUAGES.iter().copied().find(|l| l.split('-').next() == Some(primary)) {
            return tag;
        }
    }
    widget_default.and_then(supported).unwrap_or(DEFAULT_LANGUAGE)
}
