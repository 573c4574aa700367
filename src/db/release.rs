//! Auto-release of no-shows: what is due, when the next deadline falls, waking the job.

use super::*;

impl Db {
    /// Releases up to `limit` reservations whose check-in deadline has passed, in one
    /// transaction: each by a conditional update, so a racing check-in, or another replica
    /// releasing too, leaves it as that one made it, and only the writer whose update changed
    /// the row publishes `RELEASED`. Returns how many were due (released or not).
    pub async fn release_due(&self, limit: i64) -> Result<usize> {
        self.write(move |conn, now| {
            let at = domain::to_micros(now);
            let due = ReservationRow::lock_due(conn, at, limit)?;
            lock_rooms(conn, due.iter().map(|r| r.room_id.0))?;
            let mut events = Vec::new();
            for row in &due {
                if ReservationRow::release(conn, &row.id.0.to_string(), at)? {
                    let released = ReservationRow {
                        status: StoredStatus(ReservationStatus::Released),
                        released_at: Some(at),
                        auto_release_at: None,
                        updated_at: at,
                        ..row.clone()
                    };
                    let reservation = reservation_from_row(released)?;
                    events.push(event(EventKind::Released, &reservation, None, now));
                }
            }
            Ok((due.len(), events))
        })
        .await
    }

    /// The earliest check-in deadline still pending, if any; the release task sleeps until
    /// then (or until `release_deadline_moved` wakes it).
    pub async fn next_release(&self) -> Result<Option<DateTime<Utc>>> {
        let next = self
            .interact(|conn| Ok(ReservationRow::next_release(conn)?))
            .await?;
        self.inner.release_wake.sleeps_until(next);
        next.map(instant).transpose()
    }

    /// Resolves when a write set a deadline earlier than the one the release task sleeps for.
    pub async fn release_deadline_moved(&self) {
        self.inner.release_wake.moved().await;
    }

    /// A write set a check-in deadline: wakes the release task if it is sooner than the one it
    /// sleeps for.
    pub(super) fn deadline_set(&self, at: Option<DateTime<Utc>>) {
        self.inner.release_wake.set(at);
    }
}

/// What a deadline task (release, approval expiry) sleeps for, and how a write that sets a
/// sooner deadline wakes it.
pub(super) struct DeadlineWake {
    /// Microseconds; `i64::MAX`: none.
    next: std::sync::atomic::AtomicI64,
    wake: tokio::sync::Notify,
}

impl Default for DeadlineWake {
    fn default() -> Self {
        DeadlineWake {
            next: std::sync::atomic::AtomicI64::new(i64::MAX),
            wake: tokio::sync::Notify::new(),
        }
    }
}

impl DeadlineWake {
    /// The task sleeps until `next` (micros; `None`: no deadline).
    pub(super) fn sleeps_until(&self, next: Option<i64>) {
        self.next.store(
            next.unwrap_or(i64::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// A write set deadline `at`: wakes the task if it is sooner than the one it sleeps for.
    pub(super) fn set(&self, at: Option<DateTime<Utc>>) {
        let Some(at) = at else { return };
        if domain::to_micros(at) < self.next.load(std::sync::atomic::Ordering::Relaxed) {
            self.wake.notify_one();
        }
    }

    pub(super) async fn moved(&self) {
        self.wake.notified().await;
    }
}
