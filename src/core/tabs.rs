//! Tabs of one site showing the same widget: who owns the socket, and what a tab takes
//! from another tab's write to the shared storage entry (the `storage` event): the
//! [`Tabs`] part, and the two inputs of [`Widget`] that wire it (`handle_role`,
//! `handle_storage_changed`).
//!
//! Where the browser has Web Locks the lock holder is the [`Role::Leader`] and keeps the
//! only socket; the others are followers that learn everything through the leader's
//! writes. Without locks every tab is [`Role::Solo`]. The outbox's side of adoption is
//! [`super::Outbox::adopt`].

use alloc::vec::Vec;

use livechat_protocol::{Millis, Seq, Thread};

use super::conversation::Conversations;
use super::state::StoredState;
use super::{Lifecycle, Widget};

/// Which tab owns the websocket when several tabs of a site show the same widget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// No coordination between tabs is available (no Web Locks): every tab keeps its own
    /// socket, and outbox items adopted from another tab wait [`super::ADOPT_GRACE_MS`]
    /// before this tab sends them too.
    #[default]
    Solo,
    /// This tab holds the widget's lock: it keeps the only socket, sends what other tabs
    /// queue in the shared outbox at once, and writes what the server sends to storage.
    Leader,
    /// Another tab holds the lock: no socket while idle; history, sequence and outbox
    /// state come from the leader's writes to storage. A socket opens only for `auth` and
    /// `logout`, which need the server's answer, and closes when they are done.
    Follower,
}

/// This tab's place among the tabs showing the widget.
#[derive(Debug, Default)]
pub struct Tabs {
    role: Role,
}

impl Tabs {
    /// Socket ownership.
    #[inline]
    pub fn role(&self) -> Role {
        self.role
    }

    /// True when this tab may hold the socket and send the outbox (not a follower).
    #[inline]
    pub fn owns_socket(&self) -> bool {
        self.role != Role::Follower
    }

    /// The driver tells this tab's role. Returns true when the tab just took the socket
    /// over (it must connect and send what is queued, including other tabs' items).
    pub fn handle_role(&mut self, role: Role) -> bool {
        let was = core::mem::replace(&mut self.role, role);
        was != role && role != Role::Follower
    }

    /// A widget starts (`init`): with tab coordination, this tab follows until it holds the
    /// new widget's lock. Returns whether the lock must be claimed.
    #[inline]
    pub fn handle_start(&mut self) -> bool {
        if self.role == Role::Solo {
            return false;
        }
        self.role = Role::Follower;
        true
    }

    /// A follower takes the leader's view of the conversations: what the leader's socket
    /// received, up to the sequence it stored. Opens in `conversations` the threads new to
    /// this tab (with the leader's status) and returns that sequence; the caller then
    /// applies the messages it lacks (they may complete its own outbox items). `None`: the
    /// write holds nothing new (e.g. an older write from another follower).
    #[inline]
    pub fn adopt_history(&self, conversations: &mut Conversations, ours: &StoredState, other: &StoredState) -> Option<Seq> {
        if other.session != ours.session || other.last_seq < ours.last_seq {
            if other.session == ours.session {
                return None;
            }
            *conversations = Conversations::default(); // another identity: start over
        }
        for thread in &other.threads {
            if conversations.get(&thread.id).is_none() {
                conversations.open_thread(Thread { messages: Vec::new(), ..thread.clone() });
            }
            conversations.set_status(&thread.id, thread.status);
        }
        Some(other.last_seq)
    }
}

/// What every tab shows alike, taken from another tab's write: window and launcher,
/// draft, language, theme, the thread looked at.
#[inline]
pub fn adopt_shared(ours: &mut StoredState, other: &StoredState) {
    ours.ui = other.ui.clone();
    ours.language = other.language.clone();
    ours.theme = other.theme.clone();
    ours.active_thread = other.active_thread.clone();
}

impl Widget {
    /// Tab coordination: the driver says `Follower` before `init` when it can elect a
    /// socket owner (Web Locks), then `Leader` once this tab holds the widget's lock.
    pub fn handle_role(&mut self, role: Role, now: Millis) {
        if self.tabs.handle_role(role) && self.lifecycle == Lifecycle::Ready {
            // Took over from a tab that closed: resume from the sequence it last stored,
            // and send what is queued, including what other tabs queued.
            self.outbox.resume();
            if self.connection.is_idle() {
                self.open_socket(now);
            } else {
                self.flush_outbox();
            }
            self.render = true;
        }
        self.settle(now);
    }

    /// Another tab changed (`Some`) or removed (`None`) this widget's stored state.
    pub fn handle_storage_changed(&mut self, stored: Option<StoredState>, now: Millis) {
        if self.lifecycle != Lifecycle::Ready {
            return;
        }
        let Some(other) = stored.and_then(|s| s.validated(&self.state.widget_id)) else {
            // Logged out or cleared in another tab: follow, without touching storage.
            self.reset(false, now);
            return self.settle(now);
        };
        let identity_changed = other.session != self.state.session;
        if self.tabs.role() == Role::Follower {
            if let Some(last_seq) = self.tabs.adopt_history(&mut self.conversations, &self.state, &other) {
                // Messages new to this tab may complete its own outbox items and callbacks.
                for thread in &other.threads {
                    for message in &thread.messages {
                        if self.conversations.has_message(&thread.id, &message.id).is_none() {
                            self.apply_message(message.clone());
                        }
                    }
                }
                self.state.last_seq = last_seq;
                self.restore_complete(&other.complete_threads);
            }
        }
        adopt_shared(&mut self.state, &other);
        let conversations = &self.conversations;
        let adoption = self.outbox.adopt(&other.outbox, self.tabs.role(), |id| conversations.has_client_id(id).is_some(), now);
        for (id, error) in adoption.failed {
            self.calls.answer(&id, Err(error), &mut self.effects);
        }
        if adoption.send_now {
            self.flush_outbox();
        }
        // Sessions another tab ended offline: whoever connects next names them. New ones
        // take a new hello: one already sent without them would be welcomed, and the
        // welcome drops the list, so they would never be named.
        let ended_news = !other.ended_sessions.is_empty() && other.ended_sessions != self.state.ended_sessions;
        self.state.ended_sessions = other.ended_sessions.clone();
        if identity_changed {
            self.state.session = other.session.clone();
            self.state.customer = other.customer.clone();
            self.state.last_seq = 0;
        }
        if identity_changed || ended_news {
            self.restart_socket(now);
        }
        // What we adopted came from storage: writing it back would only echo.
        self.persisted = Some(self.snapshot());
        self.render = true;
        self.settle(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;
    use livechat_protocol::{Author, Message, ThreadStatus};

    fn message(thread: &str, id: &str) -> Message {
        Message {
            id: id.to_string(),
            thread_id: thread.to_string(),
            client_id: None,
            author: Author::Agent,
            agent_name: None,
            text: Some(id.to_string()),
            attachment: None,
            custom: false,
            created_at: 1,
        }
    }

    fn thread(id: &str, messages: Vec<Message>) -> Thread {
        Thread { id: id.to_string(), status: ThreadStatus::Open, created_at: 1, messages }
    }

    fn stored(session: &str, last_seq: Seq, threads: Vec<Thread>) -> StoredState {
        StoredState {
            session: Some(session.to_string()),
            last_seq,
            threads,
            ..StoredState::fresh("w")
        }
    }

    #[test]
    fn a_follower_opens_the_threads_it_lacks_and_takes_the_leaders_sequence() {
        let tabs = Tabs { role: Role::Follower };
        let mut conversations = Conversations::new(vec![thread("t-1", vec![message("t-1", "m-1")])]);
        let ours = stored("s", 3, conversations.to_stored());
        let other = stored(
            "s",
            5,
            vec![thread("t-1", vec![message("t-1", "m-1"), message("t-1", "m-2")]), thread("t-2", vec![message("t-2", "m-3")])],
        );

        let last_seq = tabs.adopt_history(&mut conversations, &ours, &other);

        assert_eq!(last_seq, Some(5));
        assert!(conversations.get("t-2").is_some_and(|t| t.messages.is_empty()), "opened, messages left to the caller");
        assert_eq!(conversations.get("t-1").map(|t| t.messages.len()), Some(1), "kept as it was");
    }

    #[test]
    fn an_older_write_of_the_same_session_brings_nothing() {
        let tabs = Tabs { role: Role::Follower };
        let mut conversations = Conversations::default();
        let ours = stored("s", 5, vec![]);

        let last_seq = tabs.adopt_history(&mut conversations, &ours, &stored("s", 4, vec![thread("t-1", vec![])]));

        assert_eq!(last_seq, None);
        assert!(conversations.is_empty());
    }

    #[test]
    fn another_identity_starts_the_history_over() {
        let tabs = Tabs { role: Role::Follower };
        let mut conversations = Conversations::new(vec![thread("t-old", vec![message("t-old", "m-old")])]);
        let ours = stored("s-1", 9, conversations.to_stored());

        let last_seq = tabs.adopt_history(&mut conversations, &ours, &stored("s-2", 1, vec![]));

        assert_eq!(last_seq, Some(1));
        assert!(conversations.get("t-old").is_none());
    }

    #[test]
    fn taking_the_lock_over_is_told_once_and_following_never() {
        let mut tabs = Tabs::default();
        assert!(!tabs.handle_start(), "no coordination: nothing to claim");

        assert!(!tabs.handle_role(Role::Follower));
        assert!(tabs.handle_start(), "a new widget's lock is claimed");
        assert!(!tabs.owns_socket());
        assert!(tabs.handle_role(Role::Leader), "took over");
        assert!(!tabs.handle_role(Role::Leader), "already leader");
        assert!(tabs.owns_socket());
        assert!(tabs.handle_role(Role::Solo), "storage failed: every tab on its own");
    }

    #[test]
    fn shared_ui_follows_the_other_tab() {
        let mut ours = StoredState::fresh("w");
        let mut other = StoredState::fresh("w");
        other.ui.open = true;
        other.language = Some("de".into());
        other.theme = Some("dark".into());
        other.active_thread = Some("t-1".into());
        other.last_seq = 7;

        adopt_shared(&mut ours, &other);

        assert_eq!((ours.ui, ours.language, ours.theme, ours.active_thread), (other.ui, other.language, other.theme, other.active_thread));
        assert_eq!(ours.last_seq, 0, "the sequence is not shared UI");
    }
}
