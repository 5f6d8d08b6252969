//! Restart backoff for one service: the first delay, doubled after each quick exit, capped.
//! Pure arithmetic; time comes in as arguments and nothing here can overflow or panic.

use std::time::{Duration, Instant};

/// No delay or interval is ever shorter than this, so a zero in the config cannot make a
/// crash loop (or a readiness check) spin.
pub const MIN_DELAY: Duration = Duration::from_millis(10);

/// A run that stayed ready at least this long was not a crash loop: the next delay starts
/// again from the first one.
pub const STABLE_AFTER: Duration = Duration::from_secs(10);

/// Consecutive quick exits and the delay they earn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            max,
            failures: 0,
        }
    }

    /// Consecutive quick exits so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Start counting again (a stable run, or an operator's explicit start).
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Count one more quick exit and return how long to wait before the next start:
    /// `first * 2^(n-1)` for the n-th consecutive one, capped at `max`, never below
    /// [`MIN_DELAY`].
    pub fn next_delay(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        self.delay()
    }

    /// The delay earned by the exits counted so far (the first delay when none).
    pub fn delay(&self) -> Duration {
        let cap = self.max.max(MIN_DELAY);
        let mut d = self.first.clamp(MIN_DELAY, cap);
        // At most ~64 doublings can matter before the cap (or Duration's range) is hit.
        for _ in 1..self.failures.min(80) {
            if d >= cap {
                break;
            }
            d = d.saturating_mul(2).min(cap);
        }
        d
    }
}

/// `now + d`, saturating: an absurd duration gives a deadline in the far future, not a panic.
pub fn deadline(now: Instant, d: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    now.checked_add(d)
        .or_else(|| now.checked_add(FAR))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(non_snake_case)]
    fn MS(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn doubles_then_caps() {
        // (first, max, delays for the 1st, 2nd, ... consecutive failure)
        let cases: &[(u64, u64, &[u64])] = &[
            (100, 1000, &[100, 200, 400, 800, 1000, 1000]),
            (250, 250, &[250, 250, 250]),
            (300, 1000, &[300, 600, 1000, 1000]),
            // first above the cap: the cap wins
            (5000, 1000, &[1000, 1000]),
            // zeros never spin
            (0, 0, &[10, 10, 10]),
            (0, 1000, &[10, 20, 40, 80]),
        ];
        for (first, max, want) in cases {
            let mut b = Backoff::new(MS(*first), MS(*max));
            let got: Vec<u64> = want
                .iter()
                .map(|_| u64::try_from(b.next_delay().as_millis()).unwrap_or(u64::MAX))
                .collect();
            assert_eq!(&got, want, "first {first} max {max}");
        }
    }

    #[test]
    fn reset_starts_over() {
        let mut b = Backoff::new(MS(100), MS(10_000));
        b.next_delay();
        b.next_delay();
        assert_eq!(b.next_delay(), MS(400));
        b.reset();
        assert_eq!(b.failures(), 0);
        assert_eq!(b.next_delay(), MS(100));
    }

    #[test]
    fn no_overflow() {
        let mut b = Backoff::new(Duration::MAX, Duration::MAX);
        for _ in 0..200 {
            assert_eq!(b.next_delay(), Duration::MAX);
        }
        let mut b = Backoff::new(MS(1), Duration::MAX);
        for _ in 0..200 {
            b.next_delay();
        }
        assert!(b.delay() >= Duration::from_secs(1 << 40));
        let now = Instant::now();
        assert!(deadline(now, Duration::MAX) > now);
        assert_eq!(deadline(now, MS(5)), now + MS(5));
    }

    #[test]
    fn crash_loop_costs_log_wakeups() {
        // 100ms doubling to a 30s cap: a service that dies at once for 60s is started
        // only a handful of times.
        let mut b = Backoff::new(MS(100), Duration::from_secs(30));
        let (mut t, mut starts) = (Duration::ZERO, 0);
        while t < Duration::from_secs(60) {
            t += b.next_delay();
            starts += 1;
        }
        assert!(starts <= 12, "{starts} starts");
    }
}
