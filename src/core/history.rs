//! Older history: which messages of a conversation the view shows, and the pages of older
//! ones asked from the server when the visitor reaches the top.
//!
//! The widget holds only the newest messages of each thread (a `sync` carries the newest
//! of each, storage keeps [`super::state::STORED_MESSAGES_PER_THREAD`]) and the view shows
//! the newest [`SHOWN`] of them. Reaching the top first shows more of what the widget
//! holds, then asks `history` for the page before the oldest message held, one request per
//! thread at a time, until the server says there is nothing older. Pages live in memory
//! only (storage keeps the newest messages, as before).
//!
//! A thread whose first message the widget holds asks nothing: one it saw open (the
//! `thread_opened` event; every message of it comes after), or one the server said is
//! exhausted. That is stored (`StoredState::complete_threads`) while storage keeps every
//! message of the thread, so a conversation that fits in the view does not ask the server
//! on every page load when the view's observer sees the top at once.

use alloc::string::String;
use alloc::vec::Vec;

use livechat_protocol::MAX_HISTORY_PAGE;

/// Messages asked for per page (also how many more held ones a step shows).
pub const PAGE: u32 = MAX_HISTORY_PAGE;

/// Messages of a conversation the view shows before the visitor scrolls up.
pub const SHOWN: usize = 200;

/// Where a thread's request for an older page is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Ask {
    /// Nothing asked.
    #[default]
    Idle,
    /// Asked for, not sent yet (no socket, or a socket that went away before the answer).
    Wanted,
    /// Sent with this request id.
    Sent(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ThreadHistory {
    ask: Ask,
    /// The server said nothing is older than what the widget holds.
    exhausted: bool,
    /// Older messages shown on top of the newest [`SHOWN`].
    extra: usize,
}

/// The older-history state of every thread the visitor scrolled up in.
#[derive(Debug, Clone, Default)]
pub struct History {
    threads: Vec<(String, ThreadHistory)>,
    /// Changes whenever anything here does (the view looks at the top of the log again).
    version: u32,
}

impl History {
    // ----- getters -----------------------------------------------------------------------

    /// How many of the thread's newest messages the view shows.
    pub fn shown(&self, thread_id: &str) -> usize {
        SHOWN + self.get(thread_id).map_or(0, |h| h.extra)
    }

    /// True while an older page of the thread is asked for and not answered.
    pub fn loading(&self, thread_id: &str) -> bool {
        self.get(thread_id).is_some_and(|h| h.ask != Ask::Idle)
    }

    /// True when the server has nothing older than what the widget holds of the thread.
    pub fn exhausted(&self, thread_id: &str) -> bool {
        self.get(thread_id).is_some_and(|h| h.exhausted)
    }

    /// Changes with every change of this state.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// True when a request waits for a socket.
    pub fn wants_socket(&self) -> bool {
        self.threads.iter().any(|(_, h)| h.ask != Ask::Idle)
    }

    // ----- inputs ------------------------------------------------------------------------

    /// The visitor reached the top of the thread, of which the widget holds `held`
    /// messages. Shows up to a page more of them when some are not shown; else asks the
    /// server (unless a request is on its way or nothing is older). Returns true when
    /// something changed.
    pub fn reach_top(&mut self, thread_id: &str, held: usize) -> bool {
        let h = self.entry(thread_id);
        let hidden = held.saturating_sub(SHOWN + h.extra);
        let changed = if hidden > 0 {
            h.extra += hidden.min(PAGE as usize);
            true
        } else if h.ask == Ask::Idle && !h.exhausted {
            h.ask = Ask::Wanted;
            true
        } else {
            false
        };
        self.version = self.version.wrapping_add(u32::from(changed));
        changed
    }

    /// The next thread whose request is to be sent (see [`History::sent`]).
    pub fn next_wanted(&self) -> Option<&str> {
        self.threads.iter().find(|(_, h)| h.ask == Ask::Wanted).map(|(id, _)| id.as_str())
    }

    /// The thread's request went out with id `req`.
    pub fn sent(&mut self, thread_id: &str, req: String) {
        self.entry(thread_id).ask = Ask::Sent(req);
    }

    /// The answer to `req` arrived: returns its thread when the request is ours and still
    /// awaited (then [`History::add_page`] records what it brought).
    pub fn take_answer(&mut self, req: &str) -> Option<String> {
        let (id, h) = self.threads.iter_mut().find(|(_, h)| matches!(&h.ask, Ask::Sent(r) if r == req))?;
        h.ask = Ask::Idle;
        Some(id.clone())
    }

    /// A page of the thread brought `added` messages the widget did not hold; `more` is
    /// false when nothing is older.
    pub fn add_page(&mut self, thread_id: &str, added: usize, more: bool) {
        let h = self.entry(thread_id);
        h.extra += added;
        h.exhausted = !more;
        self.version = self.version.wrapping_add(1);
    }

    /// Nothing is older than what the widget holds of the thread (it saw the thread open,
    /// or storage says so).
    pub fn complete(&mut self, thread_id: &str) {
        self.entry(thread_id).exhausted = true;
        self.version = self.version.wrapping_add(1);
    }

    /// The server refused `req`. `for_good`: the thread has nothing to page through (e.g.
    /// `unknown_thread`); otherwise the visitor's next visit to the top asks again (not at
    /// once: [`History::version`] stays, so a failing server is not asked in a loop). True
    /// when it was ours.
    pub fn refused(&mut self, req: &str, for_good: bool) -> bool {
        let Some(id) = self.take_answer(req) else { return false };
        self.entry(&id).exhausted |= for_good;
        true
    }

    /// A new socket: what was sent on the last one is not going to be answered; it is sent
    /// again once the new one is welcomed.
    pub fn forget_sent(&mut self) {
        for (_, h) in &mut self.threads {
            if matches!(h.ask, Ask::Sent(_)) {
                h.ask = Ask::Wanted;
            }
        }
    }

    /// The conversations were replaced (`sync`, reset, another widget): start over.
    pub fn clear(&mut self) {
        self.threads.clear();
        self.version = self.version.wrapping_add(1);
    }

    fn get(&self, thread_id: &str) -> Option<&ThreadHistory> {
        self.threads.iter().find(|(id, _)| id == thread_id).map(|(_, h)| h)
    }

    fn entry(&mut self, thread_id: &str) -> &mut ThreadHistory {
        let i = match self.threads.iter().position(|(id, _)| id == thread_id) {
            Some(i) => i,
            None => {
                self.threads.push((thread_id.into(), ThreadHistory::default()));
                self.threads.len() - 1
            }
        };
        &mut self.threads[i].1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_messages_are_shown_before_anything_is_asked() {
        let mut h = History::default();
        assert_eq!(h.shown("t"), SHOWN);
        assert!(h.reach_top("t", SHOWN + 70));
        assert_eq!((h.shown("t"), h.loading("t")), (SHOWN + 50, false), "a page of what is held");
        assert!(h.reach_top("t", SHOWN + 70));
        assert_eq!((h.shown("t"), h.loading("t")), (SHOWN + 70, false), "the rest of it");
        assert!(h.reach_top("t", SHOWN + 70));
        assert!(h.loading("t"), "everything held is shown: ask the server");
        assert_eq!(h.next_wanted(), Some("t"));
    }

    #[test]
    fn one_request_per_thread_until_nothing_is_older() {
        let mut h = History::default();
        assert!(h.reach_top("t", 3));
        assert!(!h.reach_top("t", 3), "already asked");
        assert!(h.reach_top("u", 0), "another thread asks on its own");
        h.sent("t", "h-1".into());
        assert_eq!(h.next_wanted(), Some("u"));
        h.sent("u", "h-2".into());
        assert_eq!(h.next_wanted(), None);
        assert!(h.wants_socket());
        assert_eq!(h.take_answer("h-9"), None, "not ours");
        assert_eq!(h.take_answer("h-1").as_deref(), Some("t"));
        assert_eq!(h.take_answer("h-1"), None, "answered once");
        h.add_page("t", 50, true);
        assert_eq!((h.shown("t"), h.loading("t"), h.exhausted("t")), (SHOWN + 50, false, false));
        assert!(h.reach_top("t", 53));
        h.sent("t", "h-3".into());
        assert_eq!(h.take_answer("h-3").as_deref(), Some("t"));
        h.add_page("t", 7, false);
        assert!(h.exhausted("t"));
        assert!(!h.reach_top("t", 60), "nothing older: nothing asked");
        assert_eq!(h.shown("t"), SHOWN + 57);
    }

    #[test]
    fn a_request_lost_with_its_socket_goes_out_again_and_refusals_end_it() {
        let mut h = History::default();
        h.reach_top("t", 1);
        h.sent("t", "h-1".into());
        h.forget_sent();
        assert_eq!(h.take_answer("h-1"), None, "asked on a socket that is gone");
        assert_eq!(h.next_wanted(), Some("t"), "wanted again");
        h.sent("t", "h-2".into());
        let v = h.version();
        assert!(h.refused("h-2", false));
        assert_eq!(h.version(), v, "the view does not look again by itself");
        assert!(!h.loading("t") && !h.exhausted("t"));
        assert!(h.reach_top("t", 1), "a later visit to the top asks again");
        h.sent("t", "h-3".into());
        assert!(h.refused("h-3", true));
        assert!(h.exhausted("t") && !h.reach_top("t", 1), "unknown_thread: never again");
        assert!(!h.refused("h-3", true));
        h.clear();
        assert!(!h.exhausted("t") && !h.wants_socket());
        assert_eq!(h.shown("t"), SHOWN);
    }
}
