//! The loader with a widget's launcher preset: `widget/livechat.js?id=<widget id>`.
//!
//! On a first visit the loader draws the launcher before the wasm arrives; what it looks
//! like (the brand colour, the widget's default language) is in the widget's
//! configuration. Fetched after the loader has run, that is a second round trip before
//! the launcher is painted. A snippet that names its widget in the loader's URL gets the
//! preset in the same response instead: one statement before the loader's code,
//! `import.meta.lc = {…};` (module scope: nothing the host page can see or set). The
//! loader without `id` (older snippets) still draws from the configuration.
//!
//! The preset is given only to pages the widget allows (`Origin`, as the configuration
//! endpoint checks it; a same-origin module request has no `Origin`); any other page gets
//! the plain loader, which then draws nothing until the configuration says why.

use std::io::Write as _;

use axum::http::{header, HeaderMap};

use super::static_files::Encoding;
use crate::App;

/// The statement that carries widget `id`'s launcher preset, if the page may have it.
pub fn preset(app: &App, id: &str, headers: &HeaderMap) -> Option<String> {
    let w = app.config.widget(id)?;
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        if !w.origin_allowed(origin) {
            return None;
        }
    }
    Some(statement(&w.id, &w.color, &w.default_language))
}

/// `import.meta.lc={…};` with the launcher's look. JSON is JavaScript but for two characters
/// that engines before ES2019 refuse in a string literal (a syntax error would stop the
/// whole loader): those are escaped.
fn statement(id: &str, color: &str, default_language: &str) -> String {
    let preset = serde_json::json!({ "id": id, "color": color, "default_language": default_language });
    let preset = preset.to_string().replace('\u{2028}', "\\u2028").replace('\u{2029}', "\\u2029");
    format!("import.meta.lc={preset};\n")
}

/// What [`with_preset`] made, kept per (preset, sha256 of the loader file, encoding): every
/// page view of a returning visitor revalidates the loader, and each answer (a 304 too)
/// needs the bytes' validator; gzip at level 9 is ~1 ms of CPU, the file read and its hash
/// ~0.05 ms. Two entries per widget (gzip or not) per loader build; the oldest go first.
type Made = (Vec<u8>, Option<Encoding>, String);
type MadeKey = (String, [u8; 32], bool);
static MADE: std::sync::Mutex<Vec<(MadeKey, std::sync::Arc<Made>)>> = std::sync::Mutex::new(Vec::new());
const MADE_MAX: usize = 1024;

/// [`with_preset`] of the loader file at `path`, from [`MADE`] when made before.
pub async fn made(preset: &str, path: &std::path::Path, accepted: &[Encoding]) -> Option<std::sync::Arc<Made>> {
    use sha2::{Digest, Sha256};
    let raw = tokio::fs::read(path).await.ok()?;
    let key: MadeKey = (preset.to_string(), Sha256::digest(&raw).into(), accepted.contains(&Encoding::Gzip));
    if let Some((_, m)) = MADE.lock().ok()?.iter().find(|(k, _)| *k == key) {
        return Some(m.clone());
    }
    let m = std::sync::Arc::new(with_preset(preset, &raw, accepted));
    let mut cache = MADE.lock().ok()?;
    if cache.len() >= MADE_MAX {
        cache.remove(0);
    }
    cache.push((key, m.clone()));
    Some(m)
}

/// The loader's bytes with the preset in front, gzipped when `accepted` allows it, and a
/// strong validator of exactly these bytes.
pub fn with_preset(preset: &str, loader: &[u8], accepted: &[Encoding]) -> Made {
    let mut body = Vec::with_capacity(preset.len() + loader.len());
    body.extend_from_slice(preset.as_bytes());
    body.extend_from_slice(loader);
    let (body, encoding) = if accepted.contains(&Encoding::Gzip) {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        match gz.write_all(&body).and_then(|()| gz.finish()) {
            Ok(z) => (z, Some(Encoding::Gzip)),
            Err(_) => (body, None),
        }
    } else {
        (body, None)
    };
    let etag = {
        use sha2::{Digest, Sha256};
        let d = Sha256::digest(&body);
        let hex: String = d[..12].iter().map(|b| format!("{b:02x}")).collect();
        format!("\"p{hex}\"")
    };
    (body, encoding, etag)
}

#[cfg(test)]
mod tests {
    use super::statement;

    #[test]
    fn the_preset_is_one_statement_of_plain_ascii_safe_json() {
        let s = statement("w-1", "#0b57d0\u{2028}\u{2029}\"</script>", "de-DE");
        assert_eq!(
            s,
            "import.meta.lc={\"color\":\"#0b57d0\\u2028\\u2029\\\"</script>\",\"default_language\":\"de-DE\",\"id\":\"w-1\"};\n"
        );
        let json = s.strip_prefix("import.meta.lc=").unwrap().strip_suffix(";\n").unwrap();
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(v["color"], "#0b57d0\u{2028}\u{2029}\"</script>");
    }
}
