//! Socket lifecycle as plain data: when to connect, ping, and give up on a silent socket.
//!
//! Reconnects back off exponentially with "equal jitter": the n-th retry waits a random
//! time in `[d/2, d]` where `d = min(BACKOFF_CAP, BACKOFF_BASE · 2ⁿ)`, so a crowd of
//! clients dropped at once spreads out, and nobody retries in a tight loop.

use alloc::collections::VecDeque;
use alloc::string::String;

use livechat_protocol::{ClientFrame, Millis};

use super::effect::{Deadline, Effect};
use super::rng::Rng;

/// First reconnect delay (upper bound of the jitter window).
pub const BACKOFF_BASE_MS: Millis = 500;
/// Largest reconnect delay.
pub const BACKOFF_CAP_MS: Millis = 30_000;
/// A ping goes out after this long without one.
pub const HEARTBEAT_INTERVAL_MS: Millis = 25_000;
/// A socket with no frame for this long after a ping is taken for dead.
pub const HEARTBEAT_TIMEOUT_MS: Millis = 10_000;
/// A socket that has not opened and welcomed us in this long is abandoned.
pub const CONNECT_TIMEOUT_MS: Millis = 10_000;

/// Where the socket is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Link {
    /// No socket and none wanted (not ready, or stopped for good).
    #[default]
    Idle,
    /// Waiting until `retry_at` to open a socket.
    Waiting {
        /// When to try.
        retry_at: Millis,
    },
    /// Socket requested; waiting for open and `welcome`.
    Connecting {
        /// Give up at.
        deadline: Millis,
    },
    /// `welcome` received: frames flow.
    Open {
        /// Next ping at.
        ping_at: Millis,
        /// Set while a ping is unanswered: the socket is dead after this.
        silent_deadline: Option<Millis>,
    },
}

/// Backoff bookkeeping.
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    attempts: u32,
}

impl Backoff {
    /// Returns the delay before the next attempt and counts it.
    pub fn next_delay(&mut self, rng: &mut Rng) -> Millis {
        let exp = BACKOFF_BASE_MS.saturating_mul(1u64 << self.attempts.min(16));
        let ceiling = exp.min(BACKOFF_CAP_MS);
        self.attempts = self.attempts.saturating_add(1);
        ceiling / 2 + rng.below(ceiling / 2 + 1)
    }

    /// Forgets past failures (after a welcome).
    pub fn reset(&mut self) {
        self.attempts = 0;
    }

    /// Failed attempts since the last success.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

/// The websocket's life: connect, welcome, heartbeat, backoff, give up for good.
///
/// Effects it needs (open, close, ping) go into the caller's queue; whether a socket is
/// wanted at all (ready, this tab's role, pending requests) is the caller's decision.
#[derive(Debug, Default)]
pub struct Connection {
    link: Link,
    backoff: Backoff,
    /// Stop reconnecting (the server refused the widget for good).
    halted: bool,
}

/// What a timer or a wake-up asks of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Open a socket now.
    Connect,
    /// No welcome in time: the socket was abandoned and a reconnect is scheduled.
    Abandoned,
    /// A welcomed socket went silent: it was dropped and a reconnect is scheduled.
    Lost,
}


impl Connection {
    // ----- getters ------------------------------------------------------------------

    /// Where the socket is.
    pub fn link(&self) -> Link {
        self.link
    }

    /// True while the socket is open and welcomed.
    #[inline]
    pub fn is_open(&self) -> bool {
        matches!(self.link, Link::Open { .. })
    }

    /// True when there is no socket and none is scheduled.
    #[inline]
    pub fn is_idle(&self) -> bool {
        matches!(self.link, Link::Idle)
    }

    /// True when a socket is open or opening.
    fn is_live(&self) -> bool {
        matches!(self.link, Link::Connecting { .. } | Link::Open { .. })
    }

    /// Failed attempts since the last welcome.
    pub fn attempts(&self) -> u32 {
        self.backoff.attempts()
    }

    // ----- inputs -------------------------------------------------------------------

    /// Opens a socket on `path`, unless the server refused the widget for good.
    #[inline]
    pub fn open(&mut self, path: String, now: Millis, out: &mut VecDeque<Effect>) {
        if self.halted {
            self.link = Link::Idle;
            return;
        }
        out.push_back(Effect::OpenSocket { path });
        self.link = Link::Connecting { deadline: now + CONNECT_TIMEOUT_MS };
    }

    /// Wants no socket for now (none is live: a scheduled retry is dropped).
    #[inline]
    pub fn stay_idle(&mut self) {
        self.link = Link::Idle;
    }

    /// Drops the socket (if any) and wants none until [`Connection::open`].
    #[inline]
    pub fn close(&mut self, out: &mut VecDeque<Effect>) {
        if !self.is_idle() {
            out.push_back(Effect::CloseSocket);
        }
        self.link = Link::Idle;
    }

    /// Closes and forgets past failures, before opening a fresh socket (a gap in the
    /// events, another identity, a reset).
    #[inline]
    pub fn restart(&mut self, out: &mut VecDeque<Effect>) {
        self.close(out);
        self.backoff.reset();
    }

    /// Forgets past failures (a socket wanted for a new reason connects at once).
    #[inline]
    pub fn reset_backoff(&mut self) {
        self.backoff.reset();
    }

    /// The server refused the widget for good: close and never reconnect.
    #[inline]
    pub fn halt(&mut self, out: &mut VecDeque<Effect>) {
        self.halted = true;
        out.push_back(Effect::CloseSocket);
        self.link = Link::Idle;
    }

    /// Another widget starts: closed, and allowed to connect again.
    #[inline]
    pub fn stop(&mut self, out: &mut VecDeque<Effect>) {
        self.close(out);
        self.halted = false;
    }

    /// The socket opened: returns whether this was the socket asked for (then the caller
    /// says hello, and the welcome must come within [`CONNECT_TIMEOUT_MS`]).
    #[inline]
    pub fn handle_open(&mut self, now: Millis) -> bool {
        if !matches!(self.link, Link::Connecting { .. }) {
            return false;
        }
        self.link = Link::Connecting { deadline: now + CONNECT_TIMEOUT_MS };
        true
    }

    /// Any frame proves the socket alive.
    #[inline]
    pub fn handle_frame(&mut self) {
        if let Link::Open { silent_deadline, .. } = &mut self.link {
            *silent_deadline = None;
        }
    }

    /// The server welcomed us: frames flow, past failures are forgotten.
    #[inline]
    pub fn handle_welcome(&mut self, now: Millis) {
        self.link = Link::Open { ping_at: now + HEARTBEAT_INTERVAL_MS, silent_deadline: None };
        self.backoff.reset();
    }

    /// The socket closed or failed: returns whether it was ours (a reconnect is scheduled).
    #[inline]
    pub fn handle_closed(&mut self, now: Millis, rng: &mut Rng) -> bool {
        if !self.is_live() {
            return false;
        }
        self.schedule_reconnect(now, rng);
        true
    }

    /// Waits a backoff delay before the next socket.
    #[inline]
    pub fn schedule_reconnect(&mut self, now: Millis, rng: &mut Rng) {
        let delay = self.backoff.next_delay(rng);
        self.link = Link::Waiting { retry_at: now + delay };
    }

    /// A timer fired (early or late calls are fine).
    #[inline]
    pub fn handle_timeout(&mut self, now: Millis, rng: &mut Rng, out: &mut VecDeque<Effect>) -> Option<Due> {
        match self.link {
            Link::Waiting { retry_at } if now >= retry_at => Some(Due::Connect),
            Link::Connecting { deadline } if now >= deadline => {
                out.push_back(Effect::CloseSocket);
                self.schedule_reconnect(now, rng);
                Some(Due::Abandoned)
            }
            Link::Open { silent_deadline: Some(at), .. } if now >= at => {
                // Half-open socket: no close event will come, so drop it ourselves.
                out.push_back(Effect::CloseSocket);
                self.schedule_reconnect(now, rng);
                Some(Due::Lost)
            }
            Link::Open { ping_at, silent_deadline: None } if now >= ping_at => {
                self.ping(now, out);
                None
            }
            _ => None,
        }
    }

    /// The network came back or the tab became visible: a waiting connection is due now,
    /// an open one is checked with a ping.
    #[inline]
    pub fn handle_wake(&mut self, now: Millis, out: &mut VecDeque<Effect>) -> Option<Due> {
        match self.link {
            Link::Waiting { .. } => Some(Due::Connect),
            Link::Open { silent_deadline: None, .. } => {
                // Back from a hidden (throttled) tab or a network change: the socket may have
                // died meanwhile without a close event. Check now rather than at the next
                // heartbeat, which a throttled tab may run a minute late.
                self.ping(now, out);
                None
            }
            _ => None,
        }
    }

    /// The page is being hidden (`pagehide`): close cleanly; a wake reconnects.
    #[inline]
    pub fn handle_suspend(&mut self, now: Millis, out: &mut VecDeque<Effect>) {
        if self.is_live() {
            out.push_back(Effect::CloseSocket);
            // If the page carries on without a pageshow, the timer still reconnects.
            self.link = Link::Waiting { retry_at: now + BACKOFF_CAP_MS };
        }
    }

    #[inline]
    fn ping(&mut self, now: Millis, out: &mut VecDeque<Effect>) {
        out.push_back(Effect::SendFrame(ClientFrame::Ping { nonce: now }));
        self.link = Link::Open { ping_at: now + HEARTBEAT_INTERVAL_MS, silent_deadline: Some(now + HEARTBEAT_TIMEOUT_MS) };
    }

    // ----- outputs ------------------------------------------------------------------

    /// The socket's next deadline, with its reason.
    #[inline]
    pub fn poll_timeout(&self) -> Option<Deadline> {
        match self.link {
            Link::Idle => None,
            Link::Waiting { retry_at } => Some(Deadline { at: retry_at, reason: "reconnect" }),
            Link::Connecting { deadline } => Some(Deadline { at: deadline, reason: "connect timeout" }),
            Link::Open { silent_deadline: Some(at), .. } => Some(Deadline { at, reason: "heartbeat timeout" }),
            Link::Open { ping_at, .. } => Some(Deadline { at: ping_at, reason: "heartbeat" }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn opened(now: Millis) -> (Connection, Rng, VecDeque<Effect>) {
        let mut c = Connection::default();
        let mut out = VecDeque::new();
        c.open("/v1/ws".to_string(), now, &mut out);
        assert!(c.handle_open(now));
        c.handle_welcome(now);
        (c, Rng::new(1), out)
    }

    #[test]
    fn opening_asks_for_a_socket_with_a_connect_deadline() {
        let mut c = Connection::default();
        let mut out = VecDeque::new();

        c.open("/v1/ws".to_string(), 100, &mut out);

        assert_eq!(out.pop_front(), Some(Effect::OpenSocket { path: "/v1/ws".into() }));
        assert_eq!(c.poll_timeout(), Some(Deadline { at: 100 + CONNECT_TIMEOUT_MS, reason: "connect timeout" }));
        assert!(!c.is_open());
    }

    #[test]
    fn no_welcome_in_time_abandons_the_socket_and_backs_off() {
        let mut c = Connection::default();
        let mut rng = Rng::new(1);
        let mut out = VecDeque::new();
        c.open("/v1/ws".to_string(), 0, &mut out);
        out.clear();

        assert_eq!(c.handle_timeout(CONNECT_TIMEOUT_MS - 1, &mut rng, &mut out), None);
        assert_eq!(c.handle_timeout(CONNECT_TIMEOUT_MS, &mut rng, &mut out), Some(Due::Abandoned));

        assert_eq!(out.pop_front(), Some(Effect::CloseSocket));
        let retry = c.poll_timeout().expect("a retry is scheduled");
        assert_eq!(retry.reason, "reconnect");
        assert!(retry.at >= CONNECT_TIMEOUT_MS + BACKOFF_BASE_MS / 2 && retry.at <= CONNECT_TIMEOUT_MS + BACKOFF_BASE_MS);
        assert_eq!(c.handle_timeout(retry.at, &mut rng, &mut out), Some(Due::Connect));
    }

    #[test]
    fn an_unanswered_ping_drops_the_socket() {
        let (mut c, mut rng, mut out) = opened(0);
        out.clear();

        assert_eq!(c.handle_timeout(HEARTBEAT_INTERVAL_MS, &mut rng, &mut out), None);
        assert_eq!(out.pop_front(), Some(Effect::SendFrame(ClientFrame::Ping { nonce: HEARTBEAT_INTERVAL_MS })));
        let silent = HEARTBEAT_INTERVAL_MS + HEARTBEAT_TIMEOUT_MS;
        assert_eq!(c.poll_timeout(), Some(Deadline { at: silent, reason: "heartbeat timeout" }));

        assert_eq!(c.handle_timeout(silent, &mut rng, &mut out), Some(Due::Lost));
        assert_eq!(out.pop_front(), Some(Effect::CloseSocket));
        assert!(!c.is_open());
    }

    #[test]
    fn any_frame_answers_the_ping() {
        let (mut c, mut rng, mut out) = opened(0);
        c.handle_timeout(HEARTBEAT_INTERVAL_MS, &mut rng, &mut out);

        c.handle_frame();

        assert_eq!(c.poll_timeout(), Some(Deadline { at: 2 * HEARTBEAT_INTERVAL_MS, reason: "heartbeat" }));
    }

    #[test]
    fn a_close_of_our_socket_schedules_a_reconnect_and_a_stale_one_is_ignored() {
        let (mut c, mut rng, _) = opened(0);

        assert!(c.handle_closed(5, &mut rng));
        assert!(!c.handle_closed(6, &mut rng), "already waiting");
        assert_eq!(c.attempts(), 1);
        assert!(!c.handle_open(7), "no socket was asked for");
    }

    #[test]
    fn a_halted_connection_never_opens_again_until_stopped() {
        let (mut c, _, mut out) = opened(0);
        out.clear();

        c.halt(&mut out);
        c.open("/v1/ws".to_string(), 1, &mut out);

        assert_eq!(out.pop_front(), Some(Effect::CloseSocket));
        assert!(out.is_empty() && c.is_idle());
        c.stop(&mut out);
        c.open("/v1/ws".to_string(), 2, &mut out);
        assert_eq!(out.pop_front(), Some(Effect::OpenSocket { path: "/v1/ws".into() }));
    }

    #[test]
    fn waking_connects_a_waiting_link_and_pings_an_open_one() {
        let (mut c, mut rng, mut out) = opened(0);
        out.clear();
        assert_eq!(c.handle_wake(10, &mut out), None);
        assert_eq!(out.pop_front(), Some(Effect::SendFrame(ClientFrame::Ping { nonce: 10 })));

        c.handle_closed(11, &mut rng);
        assert_eq!(c.handle_wake(12, &mut out), Some(Due::Connect));
    }

    #[test]
    fn suspending_closes_and_retries_at_the_cap() {
        let (mut c, _, mut out) = opened(0);
        out.clear();

        c.handle_suspend(50, &mut out);

        assert_eq!(out.pop_front(), Some(Effect::CloseSocket));
        assert_eq!(c.poll_timeout(), Some(Deadline { at: 50 + BACKOFF_CAP_MS, reason: "reconnect" }));
    }
}
