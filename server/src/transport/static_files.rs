//! Static files from `--static-dir` (the widget, the demo shop, the agent console).
//!
//! What a CDN in front of the widget would do, so that the server as shipped serves the
//! widget at the size we measure: a request that accepts `br` or `gzip` gets the
//! precompressed sidecar (`file.br`, `file.gz`, written by `scripts/build-widget.sh`) when
//! one exists and is not older than the file (by more than a copy's moments). Every
//! response carries a strong `ETag`. A URL with `?v=<content hash>` (how the loader names
//! the glue and the wasm) is cached for a year, `immutable`; everything else is
//! `no-cache` (revalidated with `If-None-Match`: `304 Not Modified` instead of the bytes
//! again), but the loader, which a returning visitor's browser runs from its cache while it
//! revalidates in the background ([`LOADER_CACHE`]). Every file allows any origin to read
//! it (CORS `*`): the widget is loaded from other sites' pages.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;

use super::http::error;
use crate::App;

/// Fallback route: static files (GET/HEAD), JSON 404 otherwise.
pub async fn serve(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let not_found = || error(StatusCode::NOT_FOUND, "not_found", "not found");
    let Some(root) = &app.static_dir else {
        return not_found();
    };
    if method != Method::GET && method != Method::HEAD {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed",
        );
    }
    let Some(mut path) = resolve(root, uri.path()) else {
        return not_found();
    };
    let Ok(mut meta) = tokio::fs::metadata(&path).await else {
        return not_found();
    };
    if meta.is_dir() {
        path.push("index.html");
        let Ok(m) = tokio::fs::metadata(&path).await else {
            return not_found();
        };
        meta = m;
    }
    let accepted = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (file, encoding, meta) = pick_representation(&path, meta, accepted).await;
    let loader = is_loader(&path);
    // `widget/livechat.js?id=<widget>`: the loader with that widget's launcher preset, made
    // per request (transport/loader.rs); the answer then depends on the page's origin.
    let preset_for = loader.then(|| query_param(&uri, "id")).flatten();
    let preset_asked = preset_for.is_some();
    let preset = preset_for.and_then(|id| super::loader::preset(&app, id, &headers));
    let (etag, encoding, made) = match preset {
        Some(preset) => {
            let Some(made) = super::loader::made(&preset, &path, &accepted_encodings(accepted)).await else {
                return not_found();
            };
            let (body, encoding, etag) = &*made;
            (etag.clone(), *encoding, Some(body.clone()))
        }
        None => (etag(&meta, encoding), encoding, None),
    };

    let mut r = if if_none_match(&headers, &etag) {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let bytes = match made {
            Some(body) => body,
            None => match tokio::fs::read(&file).await {
                Ok(bytes) => bytes,
                Err(_) => return not_found(),
            },
        };
        let length = bytes.len();
        let mut r = Response::new(if method == Method::HEAD {
            Body::empty()
        } else {
            Body::from(bytes)
        });
        let h = r.headers_mut();
        // A HEAD answer says how long the GET's body would be (an empty body says 0).
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime(&path)));
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if let Some(enc) = encoding {
            h.insert(
                header::CONTENT_ENCODING,
                HeaderValue::from_static(enc.name()),
            );
        }
        r
    };
    let h = r.headers_mut();
    // The snippet loads the widget from the host site's page: a module script and the
    // wasm `fetch` are CORS requests (no credentials), so the widget files must allow any
    // origin or the widget cannot load anywhere but on this server's own pages. Who may
    // chat is decided by the websocket's and the configuration's origin checks.
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    // Host pages may measure what the widget costs them (resource timing sizes and phases).
    h.insert("timing-allow-origin", HeaderValue::from_static("*"));
    // `?v=<content hash>` (the loader's URLs of the glue and the wasm): when it is the
    // file's own hash, that URL's content never changes and it is cached for a year without
    // revalidation. A `v` that is not the hash (a deploy that copied the loader before the
    // files it names, or a hand-made `?v=2`) is revalidated like everything else, so a
    // mismatched pair is never frozen into caches.
    let pinned = match version_param(&uri) {
        Some(v) => content_hash_is(&path, v).await,
        None => false,
    };
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if pinned {
            "public, max-age=31536000, immutable"
        } else if loader {
            LOADER_CACHE
        } else {
            "no-cache"
        }),
    );
    h.insert(
        header::VARY,
        // The loader's preset depends on the page's origin (transport/loader.rs).
        HeaderValue::from_static(if preset_asked { "Accept-Encoding, Origin" } else { "Accept-Encoding" }),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    r
}

/// How the loader (`widget/livechat.js`, the snippet's fixed URL) may be cached: a
/// returning visitor's browser runs its cached copy at once and revalidates it in the
/// background (`stale-while-revalidate`, a day), so the launcher is not held up by a
/// round trip on every page view; a new build reaches that visitor on the next page
/// view. Older than a day, it is revalidated before use, as with `no-cache`. An old
/// loader names the glue and wasm of its own build (`?v=`), which that browser has cached.
pub const LOADER_CACHE: &str = "max-age=0, stale-while-revalidate=86400";

/// The widget's loader: the snippet's script.
fn is_loader(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "livechat.js")
        && path.parent().and_then(Path::file_name).is_some_and(|d| d == "widget")
}

/// The first value of the query parameter `name`, as written (not percent-decoded).
fn query_param<'a>(uri: &'a Uri, name: &str) -> Option<&'a str> {
    uri.query()?.split('&').find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
}

/// The `v` query parameter, when it looks like a hash prefix (8–64 hex digits).
fn version_param(uri: &Uri) -> Option<&str> {
    query_param(uri, "v")
        .filter(|v| (8..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether the hex sha256 of the file (the uncompressed one) starts with `prefix`, as
/// `scripts/build-widget.sh` writes it.
async fn content_hash_is(path: &Path, prefix: &str) -> bool {
    use sha2::{Digest, Sha256};
    let Ok(bytes) = tokio::fs::read(path).await else {
        return false;
    };
    let digest = Sha256::digest(&bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex.starts_with(&prefix.to_ascii_lowercase())
}

/// A precompressed representation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Brotli,
    Gzip,
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gzip",
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gz",
        }
    }
}

/// The encodings an `Accept-Encoding` value allows, best first (brotli, then gzip).
/// A coding with `q=0` is refused; `*` allows both unless they are named with `q=0`.
pub fn accepted_encodings(accept: &str) -> Vec<Encoding> {
    let mut named = Vec::new(); // (coding, allowed)
    for part in accept.split(',') {
        let mut it = part.split(';');
        let coding = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let refused = it.any(|p| {
            let p = p.trim();
            p.strip_prefix("q=")
                .map(|q| q.trim().parse::<f32>().map_or(false, |q| q <= 0.0))
                .unwrap_or(false)
        });
        if !coding.is_empty() {
            named.push((coding, !refused));
        }
    }
    let allows = |name: &str| match named.iter().find(|(c, _)| c == name) {
        Some((_, ok)) => *ok,
        None => named.iter().any(|(c, ok)| c == "*" && *ok),
    };
    let mut out = Vec::new();
    if allows("br") {
        out.push(Encoding::Brotli);
    }
    if allows("gzip") || allows("x-gzip") {
        out.push(Encoding::Gzip);
    }
    out
}

/// How much older than its file a sidecar may be and still be served.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

/// The file to send: the best accepted sidecar that exists and is at least as new as the
/// file itself (a stale sidecar of a rebuilt file is never served), else the file.
async fn pick_representation(
    path: &Path,
    meta: std::fs::Metadata,
    accept: &str,
) -> (PathBuf, Option<Encoding>, std::fs::Metadata) {
    let modified = meta.modified().ok();
    for enc in accepted_encodings(accept) {
        let mut name = path.as_os_str().to_owned();
        name.push(".");
        name.push(enc.suffix());
        let sidecar = PathBuf::from(name);
        if let Ok(m) = tokio::fs::metadata(&sidecar).await {
            // Copies (`cp -r`, a deploy) restamp files in any order within moments: only a
            // sidecar clearly older than its file (the file edited or rebuilt alone) is stale.
            let fresh = match (m.modified().ok(), modified) {
                (Some(s), Some(f)) => s + STALE_AFTER >= f,
                _ => false,
            };
            if m.is_file() && fresh {
                return (sidecar, Some(enc), m);
            }
        }
    }
    (path.to_path_buf(), None, meta)
}

/// A strong validator from the representation's length and modification time.
fn etag(meta: &std::fs::Metadata, encoding: Option<Encoding>) -> String {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let enc = encoding.map_or("", |e| e.suffix());
    format!(
        "\"{:x}-{:x}{}{}\"",
        meta.len(),
        mtime,
        if enc.is_empty() { "" } else { "-" },
        enc
    )
}

/// Whether `If-None-Match` names `etag` (or is `*`). Weak comparison, as RFC 9110 asks.
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    let Some(v) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    v.split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/") == etag)
}

/// MIME type for static files.
pub fn mime(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "wasm" => "application/wasm",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Maps a URL path to a file under `root`, refusing anything that could leave it.
pub fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(url_path)?;
    if decoded.contains('\0') || decoded.contains('\\') {
        return None;
    }
    let mut p = root.to_path_buf();
    for comp in Path::new(decoded.trim_start_matches('/')).components() {
        match comp {
            Component::Normal(c) => p.push(c),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_escape() {
        let root = Path::new("/srv/www");
        assert_eq!(resolve(root, "/"), Some(PathBuf::from("/srv/www")));
        assert_eq!(
            resolve(root, "/a/b.js"),
            Some(PathBuf::from("/srv/www/a/b.js"))
        );
        assert_eq!(resolve(root, "/../etc/passwd"), None);
        assert_eq!(resolve(root, "/a/%2e%2e/%2e%2e/etc"), None);
        assert_eq!(resolve(root, "/a\\..\\b"), None);
        assert_eq!(mime(Path::new("x.wasm")), "application/wasm");
    }

    #[test]
    fn accept_encoding_is_negotiated() {
        use Encoding::*;
        assert_eq!(
            accepted_encodings("gzip, deflate, br, zstd"),
            vec![Brotli, Gzip]
        );
        assert_eq!(accepted_encodings("gzip, deflate"), vec![Gzip]);
        assert_eq!(accepted_encodings(""), vec![]);
        assert_eq!(accepted_encodings("identity"), vec![]);
        assert_eq!(accepted_encodings("br;q=0, gzip;q=0.5"), vec![Gzip]);
        assert_eq!(accepted_encodings("*"), vec![Brotli, Gzip]);
        assert_eq!(accepted_encodings("*, br;q=0"), vec![Gzip]);
        assert_eq!(accepted_encodings("GZIP ; q=1.0"), vec![Gzip]);
    }
}
