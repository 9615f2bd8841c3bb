//! Rate limits: a token bucket per client and one shared by the whole server.
//!
//! A bucket holds up to one second of its rate and refills continuously; a rate of 0
//! means unlimited (no clock read, no lock). A client over its own limit gets an
//! ERROR rate-limited per refused message, and one that keeps sending while refused
//! (`MAX_STRIKES` refusals in a row) is disconnected. The global bucket refuses too,
//! but never disconnects: its overflow is not one client's fault.

use std::sync::Mutex;
use std::time::Instant;

/// Consecutive refused messages after which a client is disconnected.
pub const MAX_STRIKES: u32 = 3;

/// A token bucket: `rate` tokens per second, at most `rate` banked (a one-second burst).
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket; `rate` 0 is unlimited.
    pub fn new(rate: u32) -> TokenBucket {
        TokenBucket::full_at(rate, Instant::now())
    }

    /// A full bucket whose refill clock starts at `now`.
    pub fn full_at(rate: u32, now: Instant) -> TokenBucket {
        TokenBucket {
            rate: f64::from(rate),
            tokens: f64::from(rate),
            last: now,
        }
    }

    /// Whether this bucket limits anything.
    pub fn is_unlimited(&self) -> bool {
        self.rate == 0.0
    }

    /// Takes one token if there is one at `now`.
    pub fn try_take(&mut self, now: Instant) -> bool {
        if self.is_unlimited() {
            return true;
        }
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The server-wide bucket, shared by every connection.
#[derive(Debug)]
pub struct GlobalLimiter(Option<Mutex<TokenBucket>>);

impl GlobalLimiter {
    /// `rate` 0 is unlimited.
    pub fn new(rate: u32) -> GlobalLimiter {
        GlobalLimiter((rate > 0).then(|| Mutex::new(TokenBucket::new(rate))))
    }

    /// Takes one token from the shared bucket.
    pub fn try_take(&self, now: Instant) -> bool {
        match &self.0 {
            None => true,
            Some(m) => m.lock().map(|mut b| b.try_take(now)).unwrap_or(true),
        }
    }

    pub fn is_unlimited(&self) -> bool {
        self.0.is_none()
    }
}

/// What to do with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Handle it.
    Allow,
    /// Refuse it with ERROR rate-limited; the connection stays.
    Limited,
    /// Refuse it and disconnect: the client ignores the refusals.
    Disconnect,
}

/// One connection's limiter: its own bucket, its strikes, and the global bucket.
#[derive(Debug)]
pub struct ClientLimiter {
    own: TokenBucket,
    strikes: u32,
}

impl ClientLimiter {
    pub fn new(rate: u32) -> ClientLimiter {
        ClientLimiter {
            own: TokenBucket::new(rate),
            strikes: 0,
        }
    }

    /// Whether neither bucket limits anything (the hot path skips the clock).
    pub fn is_unlimited(&self, global: &GlobalLimiter) -> bool {
        self.own.is_unlimited() && global.is_unlimited()
    }

    /// The verdict on one message arriving at `now`.
    pub fn check(&mut self, global: &GlobalLimiter, now: Instant) -> Verdict {
        if !self.own.try_take(now) {
            self.strikes += 1;
            return if self.strikes >= MAX_STRIKES {
                Verdict::Disconnect
            } else {
                Verdict::Limited
            };
        }
        self.strikes = 0;
        if global.try_take(now) {
            Verdict::Allow
        } else {
            Verdict::Limited
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_allows_a_burst_then_refills() {
        let t0 = Instant::now();
        let mut b = TokenBucket::full_at(10, t0);
        assert!((0..10).all(|_| b.try_take(t0)));
        assert!(!b.try_take(t0));
        assert!(b.try_take(t0 + Duration::from_millis(100)));
        assert!(!b.try_take(t0 + Duration::from_millis(100)));
        assert!(TokenBucket::new(0).try_take(t0));
    }

    #[test]
    fn ignoring_refusals_disconnects_but_global_never_does() {
        let t0 = Instant::now();
        let global = GlobalLimiter::new(0);
        let mut c = ClientLimiter::new(2);
        assert_eq!(c.check(&global, t0), Verdict::Allow);
        assert_eq!(c.check(&global, t0), Verdict::Allow);
        assert_eq!(c.check(&global, t0), Verdict::Limited);
        assert_eq!(c.check(&global, t0), Verdict::Limited);
        assert_eq!(c.check(&global, t0), Verdict::Disconnect);

        let global = GlobalLimiter::new(1);
        let mut c = ClientLimiter::new(0);
        assert_eq!(c.check(&global, t0), Verdict::Allow);
        assert!((0..10).all(|_| c.check(&global, t0) == Verdict::Limited));
    }
}
