//! Background work owned by the app, started by `app::build`: keeping the event log to its
//! retention, off the request path.

use std::time::Duration;

use crate::db::Db;

/// Starts the background jobs over `db`; they run until the runtime stops.
pub fn spawn(db: &Db, event_retention: u64) {
    tokio::spawn(prune_events(db.clone(), event_retention));
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
