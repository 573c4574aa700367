//! PostgreSQL: each replica's log reader and its one LISTEN connection.
//!
//! Every replica publishes events by reading the shared log, its own commits included, so
//! all replicas deliver the same events in the same (`seq`) order. `NOTIFY` only rings the
//! readers' bells: a lost notification or a dropped listening connection costs latency (the
//! reader also polls), never an event.
//!
//! Identity values are taken before commit, so across rooms a row can become visible after a
//! row with a higher `seq`. The reader never passes a missing `seq` while a transaction that
//! may still commit it is running: a transaction holding a `seq` has held a transaction id since
//! before it took the `seq` (it locked its room first), so once every transaction that was
//! running when the gap was seen has ended (`xmin` of a later snapshot has passed that
//! snapshot's `xmax`), a `seq` still missing belongs to a rolled-back transaction and is
//! skipped.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use postgres_openssl::MakeTlsConnector;
use tokio_postgres::AsyncMessage;

use super::{EventLog, ReservationEvent};
use crate::error::Result;
use crate::pg_tls::PgTarget;

/// The transaction-id bounds of a PostgreSQL snapshot: every transaction below `xmin` has
/// ended; every one that has a transaction id at all is below `xmax`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub xmin: u64,
    pub xmax: u64,
}

/// What the log reader needs from storage. Storage (`db::Db`) implements it and starts the
/// reader, so the reader depends on this trait, not on storage: no import cycle.
pub trait LogStore: Clone + Send + Sync + 'static {
    /// The PostgreSQL database, if the store is PostgreSQL (the reader runs only there).
    fn postgres(&self) -> Option<&PgTarget>;
    /// The in-process log the reader publishes to.
    fn events(&self) -> &Arc<EventLog>;
    /// Up to `limit` events from `seq` `next` on, with the bounds of the snapshot they were
    /// read in.
    fn read_log(
        &self,
        next: i64,
        limit: i64,
    ) -> impl Future<Output = Result<(Vec<ReservationEvent>, Option<Snapshot>)>> + Send;
}

/// The channel replicas NOTIFY after a commit.
pub const CHANNEL: &str = "roombook_events";
/// The listening connection's `application_name`, as `pg_stat_activity` shows it.
pub const LISTENER_NAME: &str = "roombook-listener";
/// Events read per query.
const BATCH: i64 = 1_000;
/// How often the reader looks at the log with no bell rung: the bound on the latency a lost
/// notification costs.
const POLL: Duration = Duration::from_millis(500);
/// How often it looks while waiting for a gap to be filled or given up.
const GAP_POLL: Duration = Duration::from_millis(5);
/// Reads of the log, and NOTIFYs, at most this often: under load one of each serves many
/// commits (each otherwise costs PostgreSQL a statement per commit), at a cost of at most this
/// much latency.
const COALESCE: Duration = Duration::from_millis(1);

/// A missing `seq` range below `upto`, seen in a snapshot whose `xmax` was `xmax`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gap {
    pub upto: i64,
    pub xmax: u64,
}

/// How many of `seqs` (ascending, all `>= *next`, read in snapshot `snap`) can be published
/// now, in order; advances `next` past them and past gaps that can no longer be filled, and
/// records a gap that still may be.
pub fn deliverable(next: &mut i64, seqs: &[i64], snap: Snapshot, gap: &mut Option<Gap>) -> usize {
    let mut n = 0;
    for &seq in seqs {
        if seq > *next {
            if let Some(g) = *gap {
                if snap.xmin >= g.xmax && *next < g.upto {
                    // Everything running when the gap was seen has ended: what is still
                    // missing below `upto` was rolled back.
                    *next = seq.min(g.upto);
                }
            }
        }
        if seq != *next {
            if gap.is_none_or(|g| g.upto <= *next) {
                *gap = Some(Gap {
                    upto: seq,
                    xmax: snap.xmax,
                });
            }
            break;
        }
        n += 1;
        *next += 1;
    }
    if gap.is_some_and(|g| g.upto <= *next) {
        *gap = None;
    }
    n
}

/// Starts this replica's log reader and its LISTEN connection; both run until the runtime
/// stops. Fails (before starting either) when the listener's TLS settings cannot be used.
pub fn spawn<S: LogStore>(db: &S) -> std::result::Result<(), String> {
    let Some(target) = db.postgres() else {
        return Ok(());
    };
    let (mut config, tls) = target.listener()?;
    config.application_name(LISTENER_NAME);
    tokio::spawn(read_log(db.clone()));
    tokio::spawn(listen(
        db.clone(),
        config,
        tls,
        uuid::Uuid::new_v4().simple().to_string(),
    ));
    Ok(())
}

/// Publishes the log in `seq` order, woken by local commits, NOTIFY, or the poll.
async fn read_log<S: LogStore>(db: S) {
    let log = db.events();
    let mut next = log.published() + 1;
    let mut gap: Option<Gap> = None;
    let mut failing = false;
    loop {
        let wait = if gap.is_some() { GAP_POLL } else { POLL };
        tokio::select! {
            () = log.wake_reader.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
        tokio::time::sleep(COALESCE).await;
        loop {
            match db.read_log(next, BATCH).await {
                Ok((events, snap)) => {
                    if failing {
                        tracing::info!("event log readable again; catching up");
                        failing = false;
                    }
                    let read = events.len();
                    let Some(snap) = snap else { break };
                    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
                    let n = deliverable(&mut next, &seqs, snap, &mut gap);
                    for event in events.into_iter().take(n) {
                        log.publish(event);
                    }
                    if read < BATCH as usize || gap.is_some() {
                        break;
                    }
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(error = %e, "cannot read the event log; retrying");
                        failing = true;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    break;
                }
            }
        }
    }
}

/// Keeps one connection LISTENing (reconnecting with backoff), rings the reader on every
/// notification and on every (re)connect, and sends this replica's NOTIFYs, several commits
/// folded into one.
async fn listen<S: LogStore>(
    db: S,
    config: tokio_postgres::Config,
    tls: MakeTlsConnector,
    me: String,
) {
    let log = db.events();
    let mut backoff = Duration::from_millis(100);
    loop {
        match config.connect(tls.clone()).await {
            Ok((client, mut connection)) => {
                let messages = async {
                    let mut stream =
                        futures_util::stream::poll_fn(|cx| connection.poll_message(cx));
                    while let Some(message) = stream.next().await {
                        match message {
                            // Its own commits already woke this replica's reader.
                            Ok(AsyncMessage::Notification(n)) if n.payload() == me => {}
                            Ok(AsyncMessage::Notification(_)) => log.wake_reader.notify_one(),
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, "event listener connection failed");
                                return;
                            }
                        }
                    }
                    tracing::warn!("event listener connection closed");
                };
                let client = Arc::new(client);
                let notify = async {
                    if let Err(e) = client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                        tracing::warn!(error = %e, "cannot LISTEN for events");
                        return;
                    }
                    backoff = Duration::from_millis(100);
                    // Anything committed while this connection was down.
                    log.wake_reader.notify_one();
                    let notify = format!("NOTIFY {CHANNEL}, '{me}'");
                    loop {
                        log.wake_notifier.notified().await;
                        tokio::time::sleep(COALESCE).await;
                        if let Err(e) = client.batch_execute(&notify).await {
                            tracing::warn!(error = %e, "cannot NOTIFY other replicas");
                            return;
                        }
                    }
                };
                tokio::select! {
                    () = messages => {}
                    () = notify => {}
                }
            }
            Err(e) => tracing::warn!(error = %e, "event listener cannot connect; retrying"),
        }
        log.wake_reader.notify_one();
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(xmin: u64, xmax: u64) -> Snapshot {
        Snapshot { xmin, xmax }
    }

    #[test]
    fn events_in_sequence_are_all_delivered() {
        let (mut next, mut gap) = (1, None);
        assert_eq!(
            deliverable(&mut next, &[1, 2, 3], snap(10, 10), &mut gap),
            3
        );
        assert_eq!((next, gap), (4, None));
    }

    #[test]
    fn a_later_event_waits_while_an_earlier_one_may_still_commit() {
        let (mut next, mut gap) = (1, None);
        // seq 2 committed first; seq 1's transaction (xid 7) is still running.
        assert_eq!(deliverable(&mut next, &[2], snap(7, 9), &mut gap), 0);
        assert_eq!(next, 1);
        assert_eq!(gap, Some(Gap { upto: 2, xmax: 9 }));
        // Still running.
        assert_eq!(deliverable(&mut next, &[2], snap(7, 12), &mut gap), 0);
        // It commits: both, in sequence order.
        assert_eq!(deliverable(&mut next, &[1, 2], snap(12, 12), &mut gap), 2);
        assert_eq!((next, gap), (3, None));
    }

    #[test]
    fn a_gap_left_by_a_rollback_is_passed_once_its_transactions_have_ended() {
        let (mut next, mut gap) = (1, None);
        assert_eq!(deliverable(&mut next, &[3], snap(7, 9), &mut gap), 0);
        // xmin 8 < 9: a transaction seen running may still commit 1 or 2.
        assert_eq!(deliverable(&mut next, &[3], snap(8, 12), &mut gap), 0);
        // Every transaction running then has ended; 2 committed, 1 never will.
        assert_eq!(deliverable(&mut next, &[2, 3], snap(9, 12), &mut gap), 2);
        assert_eq!((next, gap), (4, None));
    }

    #[test]
    fn a_gap_seen_later_is_judged_by_its_own_snapshot() {
        let (mut next, mut gap) = (1, None);
        assert_eq!(deliverable(&mut next, &[1, 3], snap(7, 9), &mut gap), 1);
        assert_eq!(gap, Some(Gap { upto: 3, xmax: 9 }));
        assert_eq!(deliverable(&mut next, &[3, 5], snap(9, 11), &mut gap), 1);
        assert_eq!(next, 4);
        assert_eq!(gap, Some(Gap { upto: 5, xmax: 11 }));
    }
}
