//! Whether the UI texts of a language are at hand.
//!
//! The wasm build carries en-US only; the other tables load on demand. The core asks for
//! the table of its language ([`Effect::LoadTexts`]); the driver answers with
//! [`super::Widget::handle_language_ready`] (at once for a table it has) or
//! [`super::Widget::handle_language_failed`]. The view's first mount waits for the
//! visitor's table, so a widget in another language never flashes English, but no longer
//! than [`TEXTS_WAIT_MS`]: then it mounts in the language it has, and switches when the
//! late table arrives.

use alloc::vec::Vec;

use livechat_protocol::Millis;

use super::effect::{Deadline, Effect};

/// How long the first mount of the view waits for the visitor's language table.
pub const TEXTS_WAIT_MS: Millis = 1_500;

/// Where a language table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    /// Asked for; the first mount waits for it until then.
    Waiting(Millis),
    /// At hand (built in or installed).
    Ready,
    /// Failed or late: nothing waits for it (a wake asks again).
    Missing,
}

/// The language tables asked for (since the last wake) and where each one is.
#[derive(Debug, Default)]
pub struct Texts {
    tables: Vec<(&'static str, Table)>,
}

impl Texts {
    fn table(&mut self, lang: &'static str) -> Option<&mut Table> {
        self.tables.iter_mut().find(|(l, _)| *l == lang).map(|(_, t)| t)
    }

    /// True while the view's first mount should wait for `lang`'s table.
    #[inline]
    pub fn pending(&self, lang: &'static str) -> bool {
        self.tables.iter().find(|(l, _)| *l == lang).map_or(true, |(_, t)| matches!(t, Table::Waiting(_)))
    }

    /// The widget shows `lang`: asks for its table once (until the next wake).
    #[inline]
    pub fn want(&mut self, lang: &'static str, now: Millis) -> Option<Effect> {
        if self.table(lang).is_some() {
            return None;
        }
        self.tables.push((lang, Table::Waiting(now + TEXTS_WAIT_MS)));
        Some(Effect::LoadTexts { language: lang })
    }

    /// `lang`'s table is at hand (it may come after its deadline). Returns whether this is news.
    #[inline]
    pub fn handle_ready(&mut self, lang: &'static str) -> bool {
        match self.table(lang) {
            Some(Table::Ready) => false,
            Some(t) => {
                *t = Table::Ready;
                true
            }
            None => {
                self.tables.push((lang, Table::Ready));
                true
            }
        }
    }

    /// `lang`'s table could not be loaded: nothing waits for it (a wake asks again).
    /// Returns whether this is news.
    #[inline]
    pub fn handle_failed(&mut self, lang: &'static str) -> bool {
        match self.table(lang) {
            Some(t @ Table::Waiting(_)) => {
                *t = Table::Missing;
                true
            }
            _ => false,
        }
    }

    /// Tables whose deadline passed count as missing (a late one is still taken). Returns
    /// whether any did.
    #[inline]
    pub fn handle_timeout(&mut self, now: Millis) -> bool {
        let mut late = false;
        for (_, t) in &mut self.tables {
            if matches!(*t, Table::Waiting(at) if now >= at) {
                *t = Table::Missing;
                late = true;
            }
        }
        late
    }

    /// The network came back: tables that failed are asked for again.
    #[inline]
    pub fn handle_wake(&mut self) {
        self.tables.retain(|(_, t)| *t != Table::Missing);
    }

    /// The first mount's deadline, with its reason.
    #[inline]
    pub fn poll_timeout(&self) -> Option<Deadline> {
        let at = self.tables.iter().filter_map(|(_, t)| if let Table::Waiting(at) = t { Some(*at) } else { None }).min()?;
        Some(Deadline { at, reason: "language_wait" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_is_asked_for_once_and_ends_the_wait() {
        let mut texts = Texts::default();

        assert_eq!(texts.want("de", 0), Some(Effect::LoadTexts { language: "de" }));
        assert_eq!(texts.want("de", 10), None, "asked once");
        assert!(texts.pending("de"));
        assert_eq!(texts.poll_timeout(), Some(Deadline { at: TEXTS_WAIT_MS, reason: "language_wait" }));

        assert!(texts.handle_ready("de"));

        assert!(!texts.pending("de"));
        assert_eq!(texts.poll_timeout(), None);
        assert_eq!(texts.want("de", 20), None, "at hand");
    }

    #[test]
    fn the_deadline_stops_the_wait_and_a_late_table_is_still_taken() {
        let mut texts = Texts::default();
        texts.want("fr", 0);

        assert!(!texts.handle_timeout(TEXTS_WAIT_MS - 1));
        assert!(texts.pending("fr"));
        assert!(texts.handle_timeout(TEXTS_WAIT_MS));

        assert!(!texts.pending("fr"), "mounts without it");
        assert_eq!(texts.poll_timeout(), None);
        assert!(texts.handle_ready("fr"), "late table taken");
    }

    #[test]
    fn a_failed_table_is_asked_for_again_after_a_wake() {
        let mut texts = Texts::default();
        texts.want("ja", 0);
        texts.handle_failed("ja");
        assert_eq!(texts.want("ja", 1), None, "not again before a wake");

        texts.handle_wake();

        assert!(texts.pending("ja"));
        assert_eq!(texts.want("ja", 2), Some(Effect::LoadTexts { language: "ja" }));
    }
}
