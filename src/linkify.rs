//! Splits message text into plain text and http(s) links, so the view can make links
//! clickable while everything else stays text. Pure, tested natively.

/// A piece of message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment<'a> {
    /// Shown as text.
    Text(&'a str),
    /// An `http://` or `https://` URL, shown as a link.
    Link(&'a str),
}

/// The first `end` bytes of `s` (every index here is at an ASCII byte). `get`, not
/// slicing: slicing brings the slice-panic path and its `Debug` formatting into the wasm.
fn head(s: &str, end: usize) -> &str {
    s.get(..end).unwrap_or_default()
}

/// Splits `text` into text and links. A link runs from `http://` or `https://` to the
/// next whitespace, minus trailing punctuation that usually ends a sentence.
pub fn segments(text: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = find_scheme(rest) {
        let tail = rest.get(start..).unwrap_or_default();
        let mut end = tail.find(char::is_whitespace).unwrap_or(tail.len());
        while end > 0 && head(tail, end).ends_with(['.', ',', '!', '?', ';', ':', ')', ']', '"', '\'']) {
            // Keep a closing parenthesis that belongs to the URL, e.g. wiki links.
            if head(tail, end).ends_with(')') && head(tail, end).matches('(').count() >= head(tail, end).matches(')').count() {
                break;
            }
            end -= 1;
        }
        let scheme_len = if tail.get(..8).is_some_and(|p| p.eq_ignore_ascii_case("https://")) { 8 } else { 7 };
        if end <= scheme_len {
            // A bare scheme is not a link; keep it as text and move on.
            out.push(Segment::Text(head(rest, start + scheme_len)));
            rest = rest.get(start + scheme_len..).unwrap_or_default();
            continue;
        }
        if start > 0 {
            out.push(Segment::Text(head(rest, start)));
        }
        out.push(Segment::Link(head(tail, end)));
        rest = tail.get(end..).unwrap_or_default();
    }
    if !rest.is_empty() {
        out.push(Segment::Text(rest));
    }
    out
}

fn find_scheme(s: &str) -> Option<usize> {
    // Over bytes, not `str::find`: core's substring searcher brings the slice-panic path and
    // its `Debug` formatting (several KB) into the wasm.
    s.as_bytes().windows(7).enumerate().position(|(i, w)| {
        w.eq_ignore_ascii_case(b"http://")
            || (w.eq_ignore_ascii_case(b"https:/") && s.as_bytes().get(i + 7) == Some(&b'/'))
    })
}

#[cfg(test)]
mod tests {
    use super::Segment::{Link, Text};
    use super::*;

    #[test]
    fn finds_links_and_keeps_the_rest_as_text() {
        assert_eq!(
            segments("See https://example.com/a?b=1, then http://x.org."),
            vec![Text("See "), Link("https://example.com/a?b=1"), Text(", then "), Link("http://x.org"), Text(".")]
        );
    }

    #[test]
    fn only_http_and_https_are_links() {
        assert_eq!(segments("javascript:alert(1) ftp://x data:text/html,hi"), vec![Text("javascript:alert(1) ftp://x data:text/html,hi")]);
        assert_eq!(segments("https://"), vec![Text("https://")]);
    }

    #[test]
    fn balanced_parentheses_stay_in_the_link() {
        assert_eq!(
            segments("(see https://en.wikipedia.org/wiki/Rust_(language))"),
            vec![Text("(see "), Link("https://en.wikipedia.org/wiki/Rust_(language)"), Text(")")]
        );
    }

    #[test]
    fn text_without_links_is_one_segment() {
        assert_eq!(segments("<b>hi</b>"), vec![Text("<b>hi</b>")]);
        assert!(segments("").is_empty());
    }
}
