//! The token bucket behind every rate limit: a socket's frames (`transport::ws`, in the
//! node's memory) and a visitor's stored writes ([`super::rules`], in the principal's row, so
//! the limit holds across all of the visitor's sockets on every node).

/// Refill rate and size of a bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Tokens added per second.
    pub per_sec: f64,
    /// Most tokens held (the burst).
    pub burst: f64,
}

/// A bucket's state: tokens left at time `at` (ms).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Tokens left.
    pub tokens: f64,
    /// When `tokens` was computed, ms.
    pub at: u64,
}

impl Bucket {
    /// A full bucket.
    pub fn full(limit: RateLimit, now: u64) -> Bucket {
        Bucket { tokens: limit.burst, at: now }
    }

    /// Refills for the time since `at` (none if the clock went back), then takes one
    /// token. `Err` carries the milliseconds until a token is there; nothing is taken then.
    pub fn take(&mut self, limit: RateLimit, now: u64) -> Result<(), u64> {
        let elapsed = now.saturating_sub(self.at) as f64 / 1000.0;
        self.tokens = (self.tokens + elapsed * limit.per_sec).min(limit.burst);
        self.at = self.at.max(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err((((1.0 - self.tokens) / limit.per_sec) * 1000.0).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: RateLimit = RateLimit { per_sec: 20.0, burst: 40.0 };

    #[test]
    fn the_burst_then_the_refill_rate() {
        let mut b = Bucket::full(L, 1_000);
        assert!((0..40).all(|_| b.take(L, 1_000).is_ok()));
        assert_eq!(b.take(L, 1_000), Err(50), "one token every 50 ms");
        assert_eq!(b.take(L, 1_025), Err(25));
        assert_eq!(b.take(L, 1_050), Ok(()));
        // A long pause refills to the burst, not beyond.
        assert!((0..40).all(|_| b.take(L, 60_000).is_ok()));
        assert!(b.take(L, 60_000).is_err());
    }

    #[test]
    fn a_clock_that_goes_back_refills_nothing() {
        let mut b = Bucket { tokens: 0.0, at: 5_000 };
        assert_eq!(b.take(L, 4_000), Err(50));
        assert_eq!(b.at, 5_000);
    }
}
