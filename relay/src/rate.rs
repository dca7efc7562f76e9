//! A token bucket that is told the time instead of reading a clock.

use std::time::Instant;

/// Allows `rate` events per second on average and `burst` at once.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    /// Tokens added per second.
    rate: f64,
    /// The most tokens the bucket holds.
    burst: f64,
    /// Tokens now; one is taken per event.
    tokens: f64,
    /// When `tokens` was last brought up to date.
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: u32, burst: u32, now: Instant) -> Self {
        let burst = f64::from(burst.max(1));
        Self { rate: f64::from(rate.max(1)), burst, tokens: burst, updated: now }
    }

    /// A full bucket that gains one token per `interval` (for rates slower than one a second).
    pub fn one_per(interval: std::time::Duration, burst: u32, now: Instant) -> Self {
        let burst = f64::from(burst.max(1));
        let rate = 1.0 / interval.as_secs_f64().max(0.001);
        Self { rate, burst, tokens: burst, updated: now }
    }

    /// Whether a token is there, without taking it.
    pub fn has_token(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= 1.0
    }

    /// Whether the bucket is full again (nothing to remember about it).
    pub fn is_full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= self.burst
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated);
        self.updated = now;
        self.tokens = (self.tokens + elapsed.as_secs_f64() * self.rate).min(self.burst);
    }

    /// Takes `amount` tokens if there are that many (for budgets of bytes); `false` takes none.
    pub fn try_take_amount(&mut self, now: Instant, amount: u32) -> bool {
        self.refill(now);
        if self.tokens >= f64::from(amount) {
            self.tokens -= f64::from(amount);
            true
        } else {
            false
        }
    }

    /// Takes a token if there is one; `false` means the event exceeds the rate.
    pub fn try_take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn burst_then_refill() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, 3, start);
        assert!(bucket.try_take(start));
        assert!(bucket.try_take(start));
        assert!(bucket.try_take(start));
        assert!(!bucket.try_take(start));
        assert!(!bucket.try_take(start + Duration::from_millis(50)));
        assert!(bucket.try_take(start + Duration::from_millis(110)));
        // A long pause refills only up to the burst size.
        let later = start + Duration::from_secs(60);
        assert!((0..3).all(|_| bucket.try_take(later)));
        assert!(!bucket.try_take(later));
    }

    #[test]
    fn a_byte_budget_gives_its_burst_then_its_rate() {
        let start = Instant::now();
        let mut budget = TokenBucket::new(250_000, 65_536, start);
        let mut sent = 0;
        while budget.try_take_amount(start, 1_200) {
            sent += 1_200;
        }
        assert_eq!(sent, 64_800, "the burst, in whole packets");
        assert!(!budget.try_take_amount(start, 1_200), "no further packet at once");
        let later = start + std::time::Duration::from_millis(100);
        assert!(budget.try_take_amount(later, 24_000), "a tenth of a second's rate");
        assert!(!budget.try_take_amount(later, 2_000));
    }
}
