//! Background work owned by the app, started by `app::build`: keeping the event log to its
//! retention, off the request path, releasing reservations nobody checked in to, expiring
//! those nobody approved in time, and forgetting idempotency keys past their day.

use std::time::Duration;

use crate::db::Db;

/// Starts the background jobs over `db`; they run until the runtime stops.
pub fn spawn(db: &Db, event_retention: u64) {
    tokio::spawn(prune_events(db.clone(), event_retention));
    tokio::spawn(run_deadlines(db.clone(), Release(db.clone())));
    tokio::spawn(run_deadlines(db.clone(), Expiry(db.clone())));
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
        tokio::time::sleep(EVERY).await;
    }
}

/// A task that acts on deadlines stored in the reservations: what it does with those due,
/// where the next one falls, and how a write that sets a sooner one wakes it.
trait Deadlines {
    /// For the logs.
    const WHAT: &'static str;
    /// Acts on up to `batch` of those due; how many were due.
    async fn act_on_due(&self, batch: i64) -> crate::error::Result<usize>;
    async fn next(&self) -> crate::error::Result<Option<chrono::DateTime<chrono::Utc>>>;
    async fn sooner_set(&self);
}

/// Releases reservations whose check-in deadline has passed (API.md, "Check-in and release").
struct Release(Db);

impl Deadlines for Release {
    const WHAT: &'static str = "release overdue reservations";
    async fn act_on_due(&self, batch: i64) -> crate::error::Result<usize> {
        self.0.release_due(batch).await
    }
    async fn next(&self) -> crate::error::Result<Option<chrono::DateTime<chrono::Utc>>> {
        self.0.next_release().await
    }
    async fn sooner_set(&self) {
        self.0.release_deadline_moved().await
    }
}

/// Expires PENDING reservations nobody decided on by their approval deadline (API.md "Room
/// managers and approval"): the release task's sibling, with the same guarantees.
struct Expiry(Db);

impl Deadlines for Expiry {
    const WHAT: &'static str = "expire undecided reservations";
    async fn act_on_due(&self, batch: i64) -> crate::error::Result<usize> {
        self.0.expire_due(batch).await
    }
    async fn next(&self) -> crate::error::Result<Option<chrono::DateTime<chrono::Utc>>> {
        self.0.next_expiry().await
    }
    async fn sooner_set(&self) {
        self.0.expiry_deadline_moved().await
    }
}

/// Runs a deadline task: everything overdue at once (so also what fell due while the server
/// was down), then sleeps until the next deadline, one index probe away, or until a write sets
/// a sooner one or the clock is moved (tests). It never scans the table on a timer; at most
/// every 30 s it looks again, for deadlines set through another replica (which each replica's
/// task may then act on: every change is a conditional update, so exactly one of them does).
async fn run_deadlines<T: Deadlines>(db: Db, task: T) {
    const BATCH: i64 = 500;
    const LOOK_AGAIN: Duration = Duration::from_secs(30);
    let mut moves = db.clock().moves();
    loop {
        loop {
            match task.act_on_due(BATCH).await {
                Ok(due) if due as i64 == BATCH => tokio::task::yield_now().await,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = ?e, "cannot {}; trying again", T::WHAT);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break;
                }
            }
        }
        let wait = match task.next().await {
            Ok(Some(at)) => (at - db.now()).to_std().unwrap_or_default().min(LOOK_AGAIN),
            Ok(None) => LOOK_AGAIN,
            Err(e) => {
                tracing::warn!(error = ?e, "cannot read the next deadline to {}", T::WHAT);
                Duration::from_secs(1)
            }
        };
        // A deadline just passing between the two reads is acted on on the next turn; the
        // floor keeps such a turn from spinning.
        let wait = wait.max(Duration::from_millis(5));
        tracing::debug!(
            wait_ms = wait.as_millis() as u64,
            "task to {} sleeps",
            T::WHAT
        );
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = task.sooner_set() => {}
            _ = moves.next() => {}
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
