//! The server's clock. Every rule that depends on time takes `now` from here, so tests can
//! move the server's time forward (auto-release, check-in windows) without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::watch;

/// The system clock plus an offset that only ever grows (zero outside tests). Cheap to clone;
/// clones share the offset.
#[derive(Clone, Debug)]
pub struct Clock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    offset_micros: AtomicI64,
    /// How many times it was moved: each waiter keeps its own receiver (`Clock::moves`).
    moved: watch::Sender<u64>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            inner: Arc::new(Inner {
                offset_micros: AtomicI64::new(0),
                moved: watch::Sender::new(0),
            }),
        }
    }
}

/// One waiter's view of a clock's moves (`Clock::moves`).
pub struct Moves(watch::Receiver<u64>);

impl Moves {
    /// Resolves when the clock has been moved forward since this was made or last resolved.
    pub async fn next(&mut self) {
        if self.0.changed().await.is_err() {
            // The clock is gone: it will not move again.
            std::future::pending::<()>().await;
        }
    }
}

impl Clock {
    /// Now, at microsecond precision (the precision of storage).
    pub fn now(&self) -> DateTime<Utc> {
        let now = crate::domain::truncate_to_micros(Utc::now());
        let offset = self.inner.offset_micros.load(Ordering::Relaxed);
        now.checked_add_signed(Duration::microseconds(offset))
            .unwrap_or(now)
    }

    /// Moves this clock forward by `by` (tests); every waiter's `Moves::next` resolves (at
    /// once, if it is not waiting yet).
    pub fn advance(&self, by: Duration) {
        let micros = by.num_microseconds().unwrap_or(0).max(0);
        self.inner
            .offset_micros
            .fetch_add(micros, Ordering::Relaxed);
        self.inner.moved.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A waiter's handle on this clock's moves (the deadline tasks sleep until the next
    /// deadline or a move, whichever comes first).
    pub fn moves(&self) -> Moves {
        Moves(self.inner.moved.subscribe())
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
