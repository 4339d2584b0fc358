//! Socket lifecycle as plain data: when to connect, ping, and give up on a silent socket.
//!
//! Reconnects back off exponentially with "equal jitter": the n-th retry waits a random
//! time in `[d/2, d]` where `d = min(BACKOFF_CAP, BACKOFF_BASE · 2ⁿ)`, so a crowd of
//! clients dropped at once spreads out, and nobody retries in a tight loop.

use livechat_protocol::Millis;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// No socket and none wanted (not ready, or stopped for good).
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
