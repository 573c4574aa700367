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
    /// then (or until `deadline_set` wakes it).
    pub async fn next_release(&self) -> Result<Option<DateTime<Utc>>> {
        let next = self
            .interact(|conn| Ok(ReservationRow::next_release(conn)?))
            .await?;
        self.inner.next_release.store(
            next.unwrap_or(i64::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
        next.map(instant).transpose()
    }

    /// Resolves when a write set a deadline earlier than the one the release task sleeps for.
    pub async fn release_deadline_moved(&self) {
        self.inner.release_wake.notified().await;
    }

    /// A write set a check-in deadline: wakes the release task if it is sooner than the one it
    /// sleeps for.
    pub(super) fn deadline_set(&self, at: Option<DateTime<Utc>>) {
        let Some(at) = at else { return };
        let next = self
            .inner
            .next_release
            .load(std::sync::atomic::Ordering::Relaxed);
        if domain::to_micros(at) < next {
            self.inner.release_wake.notify_one();
        }
    }
}
