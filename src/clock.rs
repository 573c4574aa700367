//! The server's clock. Every rule that depends on time takes `now` from here, so tests can
//! move the server's time forward (auto-release, check-in windows) without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::Notify;

/// The system clock plus an offset that only ever grows (zero outside tests). Cheap to clone;
/// clones share the offset.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    offset_micros: AtomicI64,
    moved: Notify,
}

impl Clock {
    /// Now, at microsecond precision (the precision of storage).
    pub fn now(&self) -> DateTime<Utc> {
        let now = crate::domain::truncate_to_micros(Utc::now());
        let offset = self.inner.offset_micros.load(Ordering::Relaxed);
        now.checked_add_signed(Duration::microseconds(offset))
            .unwrap_or(now)
    }

    /// Moves this clock forward by `by` (tests); the one waiter in `moved` is woken (or, if it
    /// is not waiting yet, its next wait returns at once).
    pub fn advance(&self, by: Duration) {
        let micros = by.num_microseconds().unwrap_or(0).max(0);
        self.inner
            .offset_micros
            .fetch_add(micros, Ordering::Relaxed);
        self.inner.moved.notify_one();
    }

    /// Resolves when the clock has been moved forward (for one waiter: the release task).
    pub async fn moved(&self) {
        self.inner.moved.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_advanced_clock_is_ahead_of_the_system_clock() {
        let clock = Clock::default();
        let copy = clock.clone();
        clock.advance(Duration::minutes(10));
        let ahead = copy.now() - Utc::now();
        assert!(
            ahead > Duration::minutes(9) && ahead <= Duration::minutes(10),
            "{ahead}"
        );
    }
}
