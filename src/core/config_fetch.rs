//! The configuration request's deadline and retries: a request that is never answered (a
//! hung proxy, a stalled server) must not leave `init` waiting forever.
//!
//! Each attempt gets [`CONFIG_ATTEMPT_TIMEOUT_MS`]; a failed or timed-out attempt is retried
//! after [`CONFIG_RETRY_DELAYS_MS`], then `init` is answered with `config_unavailable`.
//! Every request of the page has its own number (the URL's `?attempt=n`): a browser holds a
//! request for a URL that is still pending (Chromium's HTTP cache lock) instead of sending
//! it, and an earlier attempt may hang for good.
//!
//! The driver answers with the number of the attempt. Only the attempt in flight counts
//! for the retries: a network or server failure of an attempt already abandoned (it timed
//! out, its retry is out) is ignored, so a hung request failing late cannot take a retry
//! from the attempt in flight nor make `init` give up early. Any other answer of an older
//! attempt is taken like the current one's: a configuration (it is the same document; the
//! widget is ready sooner) or the server's refusal of the widget or the page's origin
//! (404/403 say the same whichever request carried them).

use alloc::collections::VecDeque;
use alloc::string::String;

use livechat_protocol::Millis;

use super::effect::{Deadline, Effect};

/// How long one configuration request may take.
pub const CONFIG_ATTEMPT_TIMEOUT_MS: Millis = 10_000;
/// The waits before the second and third attempt (its length bounds the attempts).
pub const CONFIG_RETRY_DELAYS_MS: [Millis; 2] = [1_000, 3_000];
/// How an attempt without an answer is reported (a unit test holds it to the constant).
pub const TIMED_OUT: &str = "no answer within 10 s";
/// The number of attempts, in words for the error message (held to the constants too).
pub const ATTEMPTS: &str = "3 attempts";

/// Where the request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Stage {
    /// None in progress (answered, given up, or not wanted).
    #[default]
    Idle,
    /// Attempt `n` (0-based) is out; taken for failed at the deadline.
    InFlight(usize, Millis),
    /// Attempt `n` failed; the next one goes out at the moment given.
    Waiting(usize, Millis),
}

/// What became of the attempt in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// It failed or timed out and a retry is scheduled: keep waiting.
    Retry,
    /// It timed out and no attempt is left (handle it as a failure).
    TimedOut,
}

/// The configuration request of the active widget, and how many the page made.
#[derive(Debug, Default)]
pub struct ConfigFetch {
    stage: Stage,
    requests: u32,
}

impl ConfigFetch {
    /// Sends a first attempt now.
    pub fn start(&mut self, widget_id: &str, now: Millis, effects: &mut VecDeque<Effect>) {
        self.send(0, widget_id, now, effects);
    }

    fn send(&mut self, n: usize, widget_id: &str, now: Millis, effects: &mut VecDeque<Effect>) {
        self.stage = Stage::InFlight(n, now + CONFIG_ATTEMPT_TIMEOUT_MS);
        effects.push_back(Effect::FetchConfig { widget_id: String::from(widget_id), attempt: self.requests });
        self.requests += 1;
    }

    /// Nothing is wanted any more (answered, or the widget stopped).
    pub fn stop(&mut self) {
        self.stage = Stage::Idle;
    }

    /// The timer this part wants, with its reason.
    pub fn poll_timeout(&self) -> Option<Deadline> {
        match self.stage {
            Stage::Idle => None,
            Stage::InFlight(_, at) => Some(Deadline { at, reason: "config timeout" }),
            Stage::Waiting(_, at) => Some(Deadline { at, reason: "config retry" }),
        }
    }

    /// Attempt number `attempt` failed (network or server). True when nothing more is to be
    /// done: a retry is scheduled (or was already), or it was not the attempt in flight.
    /// False: no attempt is left (handle it as a failure).
    pub fn handle_failed(&mut self, attempt: u32, now: Millis) -> bool {
        attempt.wrapping_add(1) != self.requests || self.fail(now)
    }

    /// The latest attempt failed: schedules a retry if one is left (true) or stops (false).
    /// A failure while a retry is already scheduled changes nothing.
    fn fail(&mut self, now: Millis) -> bool {
        match self.stage {
            Stage::InFlight(n, _) => match CONFIG_RETRY_DELAYS_MS.get(n) {
                Some(delay) => {
                    self.stage = Stage::Waiting(n, now + delay);
                    true
                }
                None => {
                    self.stage = Stage::Idle;
                    false
                }
            },
            Stage::Waiting(..) => true,
            Stage::Idle => false,
        }
    }

    /// The timer fired: sends a due retry, or reports the attempt in flight as timed out.
    pub fn handle_timeout(&mut self, widget_id: &str, now: Millis, effects: &mut VecDeque<Effect>) -> Option<Due> {
        match self.stage {
            Stage::InFlight(_, at) if now >= at => {
                Some(if self.fail(now) { Due::Retry } else { Due::TimedOut })
            }
            Stage::Waiting(n, at) if now >= at => {
                self.send(n + 1, widget_id, now, effects);
                Some(Due::Retry)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempts(effects: &VecDeque<Effect>) -> alloc::vec::Vec<u32> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::FetchConfig { attempt, .. } => Some(*attempt),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn three_attempts_then_give_up() {
        let (mut f, mut out) = (ConfigFetch::default(), VecDeque::new());
        f.start("w", 0, &mut out);
        assert_eq!(f.poll_timeout().map(|d| (d.at, d.reason)), Some((10_000, "config timeout")));
        assert_eq!(f.handle_timeout("w", 9_999, &mut out), None);
        assert_eq!(f.handle_timeout("w", 10_000, &mut out), Some(Due::Retry));
        assert_eq!(f.poll_timeout().map(|d| (d.at, d.reason)), Some((11_000, "config retry")));
        assert_eq!(f.handle_timeout("w", 11_000, &mut out), Some(Due::Retry));
        assert!(f.handle_failed(1, 11_500), "a network error, at once: retried after 3 s");
        assert_eq!(f.poll_timeout().map(|d| d.at), Some(14_500));
        assert_eq!(f.handle_timeout("w", 14_500, &mut out), Some(Due::Retry));
        assert_eq!(f.handle_timeout("w", 24_500, &mut out), Some(Due::TimedOut));
        assert_eq!(f.poll_timeout(), None);
        assert_eq!(attempts(&out), [0, 1, 2]);
        // A later start (another init) does not reuse a number that may still hang.
        f.start("w", 30_000, &mut out);
        assert_eq!(attempts(&out), [0, 1, 2, 3]);
    }

    #[test]
    fn a_late_failure_while_waiting_changes_nothing() {
        let (mut f, mut out) = (ConfigFetch::default(), VecDeque::new());
        f.start("w", 0, &mut out);
        assert!(f.handle_failed(0, 10));
        let due = f.poll_timeout();
        assert!(f.handle_failed(0, 500));
        assert_eq!(f.poll_timeout(), due);
        f.stop();
        assert!(!f.handle_failed(0, 600), "nothing in progress");
        assert_eq!(f.poll_timeout(), None);
    }

    #[test]
    fn only_the_attempt_in_flight_counts() {
        let (mut f, mut out) = (ConfigFetch::default(), VecDeque::new());
        f.start("w", 0, &mut out);
        assert_eq!(f.handle_timeout("w", 10_000, &mut out), Some(Due::Retry), "0 timed out");
        assert_eq!(f.handle_timeout("w", 11_000, &mut out), Some(Due::Retry), "1 is out");
        let due = f.poll_timeout();
        assert!(f.handle_failed(0, 12_000), "attempt 0, abandoned: ignored");
        assert_eq!(f.poll_timeout(), due, "attempt 1 keeps its deadline");
        assert!(f.handle_failed(7, 12_000), "not a number of this page's attempts either");
        assert_eq!(f.poll_timeout(), due);
        assert!(f.handle_failed(1, 13_000), "attempt 1: retried");
        assert_eq!(f.poll_timeout().map(|d| (d.at, d.reason)), Some((16_000, "config retry")));
        f.handle_timeout("w", 16_000, &mut out);
        assert!(f.handle_failed(1, 17_000), "attempt 1 again (late copy): ignored");
        assert!(!f.handle_failed(2, 18_000), "the last attempt failed: give up");
        assert_eq!(attempts(&out), [0, 1, 2]);
    }

    #[test]
    fn the_messages_say_the_constants() {
        assert_eq!(TIMED_OUT, alloc::format!("no answer within {} s", CONFIG_ATTEMPT_TIMEOUT_MS / 1000));
        assert_eq!(ATTEMPTS, alloc::format!("{} attempts", CONFIG_RETRY_DELAYS_MS.len() + 1));
    }
}
