//! Background work owned by the app, started by `app::build`: keeping the event log to its
//! retention, off the request path, releasing reservations nobody checked in to, and
//! forgetting idempotency keys past their day.

use std::time::Duration;

use crate::db::Db;

/// Starts the background jobs over `db`; they run until the runtime stops.
pub fn spawn(db: &Db, event_retention: u64) {
    tokio::spawn(prune_events(db.clone(), event_retention));
    tokio::spawn(release_no_shows(db.clone()));
    tokio::spawn(forget_expired_keys(db.clone()));
}

/// Deletes idempotency keys older than a day (API.md "Idempotent mutations"), every ten
/// minutes: a key past its day no longer answers (claiming it treats it as new), so this only
/// keeps the table small. Every replica runs it; a delete of what another deleted is a no-op.
async fn forget_expired_keys(db: Db) {
    const EVERY: Duration = Duration::from_secs(600);
    loop {
        match db.forget_expired_keys().await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(deleted = n, "forgot expired idempotency keys"),
            Err(e) => tracing::warn!(error = ?e, "cannot delete expired idempotency keys"),
        }
        // Not woken by `Clock::moved`: that wakes one waiter, the release task's.
        tokio::time::sleep(EVERY).await;
    }
}

/// Releases reservations whose check-in deadline has passed (API.md, "Check-in and
/// release"): everything overdue at once (so also what fell due while the server was down),
/// then sleeps until the next deadline, one index probe away, or until a write sets a sooner
/// one (`Db::release_deadline_moved`) or the clock is moved (tests). It never scans the table
/// on a timer; at most every 30 s it looks again, for deadlines set through another replica.
async fn release_no_shows(db: Db) {
    const BATCH: i64 = 500;
    const LOOK_AGAIN: Duration = Duration::from_secs(30);
    loop {
        loop {
            match db.release_due(BATCH).await {
                Ok(due) if due as i64 == BATCH => tokio::task::yield_now().await,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = ?e, "cannot release overdue reservations; trying again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break;
                }
            }
        }
        let wait = match db.next_release().await {
            Ok(Some(at)) => (at - db.now()).to_std().unwrap_or_default().min(LOOK_AGAIN),
            Ok(None) => LOOK_AGAIN,
            Err(e) => {
                tracing::warn!(error = ?e, "cannot read the next check-in deadline");
                Duration::from_secs(1)
            }
        };
        // A deadline just passing between the two reads is released on the next turn; the
        // floor keeps such a turn from spinning.
        let wait = wait.max(Duration::from_millis(5));
        tracing::debug!(wait_ms = wait.as_millis() as u64, "release task sleeps");
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = db.release_deadline_moved() => {}
            _ = db.clock().moved() => {}
        }
    }
}

/// Keeps the event log to its retention, off the request path: after every tenth of the
/// retention's worth of new events, and at least once a minute.
async fn prune_events(db: Db, retention: u64) {
    let keep = i64::try_from(retention).unwrap_or(i64::MAX);
    let step = (keep / 10).max(1);
    let mut checked_at = i64::MIN;
    let mut since = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let published = db.events().published();
        if published.saturating_sub(checked_at) < step && since.elapsed() < Duration::from_secs(60)
        {
            continue;
        }
        checked_at = published;
        since = tokio::time::Instant::now();
        match db.prune_events(keep).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(deleted = n, "pruned the event log"),
            Err(e) => tracing::warn!(error = ?e, "cannot prune the event log"),
        }
    }
}
