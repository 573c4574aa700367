//! The event log and the live feed.
//!
//! Every committed change to a reservation is one row of the `events` table, written in the
//! transaction that makes the change (`db`), so an event exists if and only if its change
//! committed. Its sequence number is the subscription cursor. Live delivery reads from the log
//! in sequence order: on SQLite straight after commit (one writer at a time), on PostgreSQL
//! through each replica's log reader (`pg`), which `NOTIFY` only wakes. The in-process fan-out
//! to subscribers is a bounded broadcast: publishing never waits for a subscriber, and one that
//! lags catches up from the log.

pub mod pg;

use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, Notify};
use uuid::Uuid;

use crate::domain::Reservation;
use crate::error::{Error, Result};

/// What happened to a reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventKind {
    Booked,
    Rescheduled,
    Cancelled,
    CheckedIn,
    CheckedOut,
    Released,
    /// A manager approved a PENDING reservation: now CONFIRMED.
    Approved,
    /// A manager declined a PENDING reservation: its slot is free.
    Declined,
    /// Nobody decided by the approval deadline: its slot is free.
    Expired,
}

/// The slot a rescheduled reservation held before.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousSlot {
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub start: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub end: DateTime<Utc>,
    pub room_id: Uuid,
}

/// One committed change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationEvent {
    /// Its place in the log (0 until it is written).
    #[serde(skip)]
    pub seq: i64,
    pub kind: EventKind,
    /// The reservation as it is after the change.
    pub reservation: Reservation,
    /// For `Rescheduled`: where it was.
    pub previous: Option<PreviousSlot>,
    /// When the change committed.
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub at: DateTime<Utc>,
}

impl ReservationEvent {
    /// Whether a subscriber to `room_id` wants this event: the reservation's room now, or the
    /// room it moved away from.
    pub fn concerns_room(&self, room_id: Uuid) -> bool {
        self.reservation.room_id == room_id || self.previous.is_some_and(|p| p.room_id == room_id)
    }

    /// The stored form (the log's `payload`).
    pub fn to_payload(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| Error::internal(format_args!("event payload: {e}")))
    }

    /// Reads a stored event back.
    pub fn from_payload(seq: i64, payload: &str) -> Result<Self> {
        let mut event: ReservationEvent = serde_json::from_str(payload)
            .map_err(|e| Error::internal(format_args!("stored event {seq}: {e}")))?;
        event.seq = seq;
        Ok(event)
    }
}

/// Where a subscription stands in the log: opaque to clients, and only valid on the database
/// that issued it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor(pub i64);

const CURSOR_PREFIX: &str = "rb1";

/// Encodes `seq` as a cursor of database `database_id`.
pub fn encode_cursor(database_id: &str, seq: i64) -> String {
    format!("{CURSOR_PREFIX}.{database_id}.{seq}")
}

/// Decodes a cursor issued by database `database_id`; anything else is `BAD_USER_INPUT`
/// telling the client to refetch.
pub fn decode_cursor(database_id: &str, cursor: &str) -> Result<Cursor> {
    let refetch = |why: &str| {
        Error::BadUserInput(format!(
            "cursor {cursor:?} {why}; refetch what you show and subscribe without `after`"
        ))
    };
    let mut parts = cursor.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(CURSOR_PREFIX), Some(db), Some(seq), None) => {
            if db != database_id {
                return Err(refetch("belongs to another database"));
            }
            seq.parse::<i64>()
                .ok()
                .filter(|s| *s >= 0)
                .map(Cursor)
                .ok_or_else(|| refetch("is not a cursor this server issued"))
        }
        _ => Err(refetch("is not a cursor this server issued")),
    }
}

/// The process's view of the log: which database it is, how far events have been published
/// here, the fan-out to this process's subscribers, and the bells that wake the log reader.
#[derive(Debug)]
pub struct EventLog {
    tx: broadcast::Sender<Arc<ReservationEvent>>,
    database_id: String,
    /// Every event with `seq <= published` has been published (or was committed before this
    /// process started); none after it has.
    published: AtomicI64,
    /// Subscriptions that have started (see [`EventLog::started`]).
    started: AtomicUsize,
    /// Events published here since start (`roombook_events_published_total`).
    published_total: AtomicU64,
    /// Rung after a local commit (PostgreSQL): read the log now.
    pub(crate) wake_reader: Notify,
    /// Rung after a local commit (PostgreSQL): tell the other replicas.
    pub(crate) wake_notifier: Notify,
}

impl EventLog {
    /// How many events a subscriber may fall behind before it catches up from the log.
    pub const DEFAULT_CAPACITY: usize = 4096;

    pub fn new(database_id: String, published: i64, capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        EventLog {
            tx,
            database_id,
            published: AtomicI64::new(published),
            started: AtomicUsize::new(0),
            published_total: AtomicU64::new(0),
            wake_reader: Notify::new(),
            wake_notifier: Notify::new(),
        }
    }

    pub fn database_id(&self) -> &str {
        &self.database_id
    }

    /// The cursor of `event`.
    pub fn cursor(&self, event: &ReservationEvent) -> String {
        encode_cursor(&self.database_id, event.seq)
    }

    /// Publishes `event` (the next in sequence order) to every current subscriber; never
    /// blocks. No subscriber is not an error: the change is committed either way.
    pub fn publish(&self, event: ReservationEvent) {
        self.published.fetch_max(event.seq, Ordering::AcqRel);
        self.published_total.fetch_add(1, Ordering::Relaxed);
        let _ = self.tx.send(Arc::new(event));
    }

    /// How many events were published here since this process started.
    pub fn published_total(&self) -> u64 {
        self.published_total.load(Ordering::Relaxed)
    }

    /// The highest sequence number published here.
    pub fn published(&self) -> i64 {
        self.published.load(Ordering::Acquire)
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ReservationEvent>> {
        self.tx.subscribe()
    }

    /// How many subscriptions have started (everything committed from then on is theirs)
    /// and not ended.
    pub fn subscriber_count(&self) -> usize {
        self.started.load(Ordering::Acquire)
    }

    /// Counts a started subscription until the returned guard is dropped.
    pub fn started(self: &Arc<Self>) -> Started {
        self.started.fetch_add(1, Ordering::AcqRel);
        Started(Arc::clone(self))
    }
}

/// A started subscription, counted while it lives.
#[derive(Debug)]
pub struct Started(Arc<EventLog>);

impl Drop for Started {
    fn drop(&mut self) {
        self.0.started.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_on_its_own_database() {
        let c = encode_cursor("abc", 42);
        assert_eq!(decode_cursor("abc", &c).unwrap(), Cursor(42));
    }

    #[test]
    fn a_cursor_of_another_database_is_refused_with_a_hint_to_refetch() {
        let c = encode_cursor("abc", 42);
        let e = decode_cursor("xyz", &c).unwrap_err();
        assert_eq!(e.code(), "BAD_USER_INPUT");
        assert!(e.to_string().contains("refetch"), "{e}");
    }

    #[test]
    fn garbage_is_not_a_cursor() {
        for bad in [
            "",
            "42",
            "rb1.abc",
            "rb1.abc.-1",
            "rb1.abc.x",
            "rb1.abc.1.2",
        ] {
            assert_eq!(
                decode_cursor("abc", bad).unwrap_err().code(),
                "BAD_USER_INPUT"
            );
        }
    }
}
