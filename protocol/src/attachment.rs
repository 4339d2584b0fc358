//! The attachment policy both sides apply: one MIME table, one type rule, one size rule,
//! one reading of `OutgoingAttachment::content`.
//!
//! The widget checks an attachment with [`check`] before it queues it (so a refusal is
//! answered at once, with the code the server would give); the server checks it again with
//! the same function before it decodes and stores the bytes. The two cannot disagree.
//!
//! - **Content**: an `https://` URL (stored as a link, at most 2,048 characters of printable
//!   ASCII: no spaces, non-ASCII percent-encoded), a `data:<type>;base64,<data>` URL (base64
//!   the last parameter, as RFC 2397 has it), or bare base64. `http://` links are
//!   refused (mixed content on an https page, and a link the visitor's agent may not reach).
//! - **Type**: the data URL's type when it names one, else the type of the file name's
//!   extension ([`mime_from_file_name`]), else `application/octet-stream`. It must match the
//!   widget's allow-list ([`type_allowed`]); so must the extension's own type, whatever the
//!   data URL claims (`setup.exe` sent as `data:image/png;…` is refused).
//! - **Size**: the decoded size ([`decoded_len`]) is at most `max_bytes`; empty is refused.
//! - **Where a stored attachment is** ([`Location`]): the server answers every attachment
//!   with a `url` that is either the link as sent (`https://…`) or its own path
//!   (`/v1/attachments/{id}`). A renderer resolves it with [`locate`]; anything else is not
//!   linked at all.

use alloc::format;
use alloc::string::String;

use crate::error_code;

/// The type given to content whose type is not known.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// The longest link accepted as an attachment.
pub const MAX_URL_LEN: usize = 2048;

/// The MIME type of a file name's extension (case-insensitive), if the table knows it.
///
/// The table is the union of what the widget (15 extensions) and the server (34) used to
/// guess, plus a few more program types: common images, documents, archives and media, and
/// the types a page or a program is served as (`html`, `svg`, `js`, `exe`, `bat`, `jar` …),
/// so that an allow-list without them refuses such files by name even when their content
/// claims another type. Unknown extensions are `None` (the content is then
/// `application/octet-stream` unless a data URL names its type).
pub fn mime_from_file_name(name: &str) -> Option<&'static str> {
    let (_, ext) = name.rsplit_once('.')?;
    // A table scanned in order, not a `match`: a few hundred bytes less of wasm.
    MIME_TYPES.iter().find(|(e, _)| e.eq_ignore_ascii_case(ext)).map(|(_, mime)| *mime)
}

/// Extensions (lower case) and their MIME type.
const MIME_TYPES: &[(&str, &str)] = &[
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("svg", "image/svg+xml"),
    ("bmp", "image/bmp"),
    ("ico", "image/x-icon"),
    ("pdf", "application/pdf"),
    ("txt", "text/plain"),
    ("log", "text/plain"),
    ("csv", "text/csv"),
    ("json", "application/json"),
    ("xml", "application/xml"),
    ("zip", "application/zip"),
    ("doc", "application/msword"),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("xls", "application/vnd.ms-excel"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("html", "text/html"),
    ("htm", "text/html"),
    ("xhtml", "application/xhtml+xml"),
    ("js", "text/javascript"),
    ("mjs", "text/javascript"),
    ("css", "text/css"),
    ("wasm", "application/wasm"),
    ("mp3", "audio/mpeg"),
    ("wav", "audio/wav"),
    ("ogg", "audio/ogg"),
    ("mp4", "video/mp4"),
    ("webm", "video/webm"),
    ("exe", "application/x-msdownload"),
    ("dll", "application/x-msdownload"),
    ("msi", "application/x-msdownload"),
    ("bat", "application/x-msdownload"),
    ("cmd", "application/x-msdownload"),
    ("com", "application/x-msdownload"),
    ("scr", "application/x-msdownload"),
    ("jar", "application/java-archive"),
    ("apk", "application/vnd.android.package-archive"),
    ("sh", "application/x-sh"),
];

/// Whether `mime` matches an allow-list: exact types, `type/*` wildcards, `*` or `*/*`;
/// case-insensitive, entries trimmed.
pub fn type_allowed(allowed: &[String], mime: &str) -> bool {
    let mime = mime.trim();
    let major = before(mime, b'/');
    allowed.iter().any(|a| {
        let a = a.trim();
        if a == "*" || a == "*/*" {
            return true;
        }
        match a.strip_suffix("/*") {
            Some(prefix) => prefix.eq_ignore_ascii_case(major),
            None => a.eq_ignore_ascii_case(mime),
        }
    })
}

/// The part of `s` before the first `byte`, or all of it.
fn before(s: &str, byte: u8) -> &str {
    s.bytes().position(|b| b == byte).and_then(|i| s.get(..i)).unwrap_or(s)
}

/// The number of bytes base64 `data` decodes to, counting its alphabet characters (padding
/// and whitespace do not count). Exact for valid base64, standard or URL-safe.
pub fn decoded_len(data: &str) -> u64 {
    let chars = data.bytes().filter(|b| !b.is_ascii_whitespace() && *b != b'=').count() as u64;
    chars * 3 / 4
}

/// Where an accepted attachment's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source<'a> {
    /// An `https://` link, stored as given.
    Link(&'a str),
    /// Base64 data (the part after the comma of a data URL, or the whole content).
    Base64(&'a str),
}

/// An attachment that passed [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked<'a> {
    /// The type it is stored and served with (lower case).
    pub content_type: String,
    /// Its bytes.
    pub source: Source<'a>,
    /// Its decoded size ([`decoded_len`]; 0 for links).
    pub size: u64,
}

/// Why [`check`] refused an attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The content type, or the file name's type, is not in the allow-list.
    TypeNotAllowed {
        /// The refused type.
        content_type: String,
    },
    /// Larger than the widget's limit.
    TooLarge {
        /// Decoded size.
        size: u64,
        /// The limit.
        max_bytes: u64,
    },
    /// The content is not a valid link, data URL or base64 (empty included).
    Invalid(&'static str),
}

impl Refusal {
    /// The server's error code for it: `attachment_rejected` or `invalid_message`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TypeNotAllowed { .. } | Self::TooLarge { .. } => error_code::ATTACHMENT_REJECTED,
            Self::Invalid(_) => error_code::INVALID_MESSAGE,
        }
    }

    /// A human explanation (English), naming the limit or the allowed types.
    pub fn message(&self, allowed: &[String]) -> String {
        match self {
            Self::TypeNotAllowed { content_type } => {
                // Listed by hand: `join` is over a KB of wasm.
                let mut message = format!("attachment type '{content_type}' is not allowed; allowed:");
                for (i, a) in allowed.iter().enumerate() {
                    message.push_str(if i == 0 { " " } else { ", " });
                    message.push_str(a);
                }
                message
            }
            Self::TooLarge { size, max_bytes } => {
                format!("attachment is {size} bytes; the limit is {max_bytes} bytes")
            }
            Self::Invalid(why) => String::from(*why),
        }
    }
}

/// Checks an attachment (`file_name`, `content`) against a widget's allow-list and size
/// limit, with the rules of this module's summary. The content is not decoded: the server
/// still decodes it and refuses invalid base64.
///
/// # Errors
/// The first rule broken, in this order: content form, type, size, emptiness.
pub fn check<'a>(file_name: &str, content: &'a str, allowed: &[String], max_bytes: u64) -> Result<Checked<'a>, Refusal> {
    let content = content.trim();
    let by_name = mime_from_file_name(file_name);
    let (declared, source) = if content.starts_with("https://") {
        if content.len() > MAX_URL_LEN || !content.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Refusal::Invalid("attachment URL is not valid"));
        }
        (None, Source::Link(content))
    } else if content.starts_with("http://") {
        return Err(Refusal::Invalid("attachment URLs must be https"));
    } else if let Some(rest) = content.strip_prefix("data:") {
        let Some((head, data)) = rest.split_once(',') else {
            return Err(Refusal::Invalid("attachment data URL has no comma"));
        };
        // RFC 2397: `data:[<type>][;<param>]*[;base64],<data>`; base64 is the last parameter.
        let base64 = head.len().checked_sub(7).and_then(|i| head.get(i..));
        if !base64.is_some_and(|p| p.eq_ignore_ascii_case(";base64")) {
            return Err(Refusal::Invalid("attachment data URL must be base64"));
        }
        let mime = before(head, b';').trim();
        let declared = (!mime.is_empty() && !mime.eq_ignore_ascii_case(OCTET_STREAM)).then_some(mime);
        (declared, Source::Base64(data))
    } else {
        (None, Source::Base64(content))
    };
    let content_type = declared.or(by_name).unwrap_or(OCTET_STREAM).to_ascii_lowercase();
    if !type_allowed(allowed, &content_type) || by_name.is_some_and(|m| !type_allowed(allowed, m)) {
        return Err(Refusal::TypeNotAllowed { content_type });
    }
    let size = match source {
        Source::Link(_) => 0,
        Source::Base64(data) => decoded_len(data),
    };
    if size > max_bytes {
        return Err(Refusal::TooLarge { size, max_bytes });
    }
    if size == 0 && matches!(source, Source::Base64(_)) {
        return Err(Refusal::Invalid("attachment is empty"));
    }
    Ok(Checked { content_type, source, size })
}

/// Where a stored attachment's `url` points, as a renderer must treat it.
#[derive(Debug, PartialEq, Eq)]
pub enum Location {
    /// Bytes the server stores: `{server origin}{url}`, a download, may be drawn inline.
    Server(String),
    /// A link the visitor sent: opened as is, in a new tab. Not drawn inline (a third-party
    /// image would load from a host the site's CSP likely refuses and learn the visitor's
    /// address just by the conversation being shown).
    External(String),
}

/// Resolves a stored attachment `url` against the server origin `base`; `None` when it is
/// neither an `https://` link nor a server path (never a `javascript:` or scheme-relative
/// `//host` link, whoever sent it).
pub fn locate(base: &str, url: &str) -> Option<Location> {
    if url.starts_with("https://") && url.len() <= MAX_URL_LEN && url.bytes().all(|b| b.is_ascii_graphic()) {
        Some(Location::External(url.into()))
    } else if url.starts_with('/') && !url.starts_with("//") && url.bytes().all(|b| b.is_ascii_graphic()) {
        Some(Location::Server(format!("{}{url}", base.trim_end_matches('/'))))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;
    use alloc::vec::Vec;

    fn allowed() -> Vec<String> {
        vec!["image/*".to_string(), " Application/PDF ".to_string()]
    }

    fn refusal(name: &str, content: &str) -> Option<Refusal> {
        check(name, content, &allowed(), 6).err()
    }

    #[test]
    fn the_table_is_case_insensitive_and_knows_dangerous_types() {
        assert_eq!(mime_from_file_name("Shot.PNG"), Some("image/png"));
        assert_eq!(mime_from_file_name("a.tar.zip"), Some("application/zip"));
        assert_eq!(mime_from_file_name("run.Bat"), Some("application/x-msdownload"));
        assert_eq!(mime_from_file_name("setup.exe"), Some("application/x-msdownload"));
        assert_eq!(mime_from_file_name("page.HTML"), Some("text/html"));
        assert_eq!(mime_from_file_name("x.svg"), Some("image/svg+xml"));
        assert_eq!(mime_from_file_name("noext"), None);
        assert_eq!(mime_from_file_name("x.unknownext"), None);
        assert_eq!(mime_from_file_name("x."), None);
    }

    #[test]
    fn wildcards_and_case() {
        let a = allowed();
        assert!(type_allowed(&a, "image/png"));
        assert!(type_allowed(&a, "IMAGE/webp"));
        assert!(type_allowed(&a, "application/pdf"));
        assert!(!type_allowed(&a, "text/html"));
        assert!(!type_allowed(&a, "imagex/png"));
        assert!(!type_allowed(&[], "image/png"));
        assert!(type_allowed(&["*/*".to_string()], "text/html"));
        assert!(type_allowed(&["*".to_string()], "x/y"));
    }

    #[test]
    fn decoded_len_is_exact_for_valid_base64() {
        for n in 0..20usize {
            let bytes: Vec<u8> = (0..n as u8).collect();
            let b64 = encode(&bytes);
            assert_eq!(decoded_len(&b64), n as u64, "{b64}");
            assert_eq!(decoded_len(b64.trim_end_matches('=')), n as u64);
            let spaced: String = b64.chars().flat_map(|c| [c, '\n']).collect();
            assert_eq!(decoded_len(&spaced), n as u64);
        }
    }

    fn encode(bytes: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    #[test]
    fn stored_urls_resolve_to_the_server_or_stay_external_links() {
        let base = "http://127.0.0.1:8080";
        assert_eq!(locate(base, "/v1/attachments/abc"), Some(Location::Server("http://127.0.0.1:8080/v1/attachments/abc".into())));
        assert_eq!(locate("https://chat.example.com/", "/v1/attachments/abc"), Some(Location::Server("https://chat.example.com/v1/attachments/abc".into())));
        // The defect this fixes: a link was drawn as `{server}https://…`.
        assert_eq!(locate(base, "https://cdn.example.com/a.png"), Some(Location::External("https://cdn.example.com/a.png".into())));
        for bad in ["javascript:alert(1)", "//evil.example/a.png", "http://example.com/a.png", "data:image/png;base64,AAAA", "", "v1/attachments/x", "/a b"] {
            assert_eq!(locate(base, bad), None, "{bad}");
        }
    }

    #[test]
    fn accepted_forms() {
        let ok = check("a.png", "data:image/png;base64,AAAA", &allowed(), 6).unwrap();
        assert_eq!(ok, Checked { content_type: "image/png".into(), source: Source::Base64("AAAA"), size: 3 });
        let ok = check("doc.pdf", " JVBERg== ", &allowed(), 6).unwrap();
        assert_eq!((ok.content_type.as_str(), ok.size), ("application/pdf", 4));
        let ok = check("x", "data:IMAGE/GIF;charset=x;BASE64,R0lG", &allowed(), 6).unwrap();
        assert_eq!(ok.content_type, "image/gif");
        let ok = check("a.png", "data:application/octet-stream;base64,AAAA", &allowed(), 6).unwrap();
        assert_eq!(ok.content_type, "image/png", "octet-stream falls back to the name");
        let ok = check("a.pdf", "https://example.com/a.pdf", &allowed(), 6).unwrap();
        assert_eq!(ok, Checked { content_type: "application/pdf".into(), source: Source::Link("https://example.com/a.pdf"), size: 0 });
    }

    #[test]
    fn type_is_refused_by_content_or_by_name() {
        let html = Refusal::TypeNotAllowed { content_type: "text/html".into() };
        assert_eq!(refusal("page.png", "data:text/html;base64,PGI+"), Some(html.clone()));
        assert_eq!(refusal("page.html", "PGI+"), Some(html));
        assert!(matches!(refusal("setup.exe", "data:image/png;base64,TVo="), Some(Refusal::TypeNotAllowed { .. })));
        assert!(matches!(refusal("noext", "AAAA"), Some(Refusal::TypeNotAllowed { content_type }) if content_type == OCTET_STREAM));
        assert!(matches!(refusal("a.exe", "https://example.com/a.exe"), Some(Refusal::TypeNotAllowed { .. })));
        assert_eq!(refusal("a.png", "data:text/html;base64,PGI+").unwrap().code(), error_code::ATTACHMENT_REJECTED);
    }

    #[test]
    fn size_limit_is_inclusive_and_empty_is_refused() {
        assert_eq!(refusal("a.png", "AAAAAAAA"), None, "6 bytes, limit 6");
        assert_eq!(refusal("a.png", "AAAAAAAAAA=="), Some(Refusal::TooLarge { size: 7, max_bytes: 6 }));
        assert_eq!(refusal("a.png", "data:image/png;base64,"), Some(Refusal::Invalid("attachment is empty")));
        assert_eq!(refusal("a.png", "   "), Some(Refusal::Invalid("attachment is empty")));
        let too_large = Refusal::TooLarge { size: 7, max_bytes: 6 };
        assert_eq!(too_large.message(&allowed()), "attachment is 7 bytes; the limit is 6 bytes");
    }

    #[test]
    fn malformed_content_is_invalid() {
        let invalid = |name, content| refusal(name, content).map(|r| r.code());
        assert_eq!(refusal("a.png", "http://example.com/a.png"), Some(Refusal::Invalid("attachment URLs must be https")));
        assert_eq!(refusal("a.png", "https://example.com/a b.png"), Some(Refusal::Invalid("attachment URL is not valid")));
        let long = format!("https://example.com/{}.png", "a".repeat(MAX_URL_LEN));
        assert_eq!(invalid("a.png", long.as_str()), Some(error_code::INVALID_MESSAGE));
        assert_eq!(refusal("a.png", "data:image/png;base64"), Some(Refusal::Invalid("attachment data URL has no comma")));
        assert_eq!(refusal("a.png", "data:image/png,AAAA"), Some(Refusal::Invalid("attachment data URL must be base64")));
        assert_eq!(refusal("a.png", "data:image/png;base64;x=1,AAAA"), Some(Refusal::Invalid("attachment data URL must be base64")));
        assert_eq!(refusal("a.png", "https://example.com/é.png"), Some(Refusal::Invalid("attachment URL is not valid")));
        assert_eq!(refusal("a.png", "https://example.com/a\u{7f}.png"), Some(Refusal::Invalid("attachment URL is not valid")));
        assert_eq!(invalid("a.png", "data:,"), Some(error_code::INVALID_MESSAGE));
    }
}
