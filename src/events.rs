//! The event bus: every committed change to a reservation, fanned out to subscribers in
//! commit order. Publishing never waits for a subscriber; one that lags is told how much it
//! missed (see `graphql::subscription`).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::domain::Reservation;

/// What happened to a reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Booked,
    Rescheduled,
    Cancelled,
}

/// The slot a rescheduled reservation held before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreviousSlot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub room_id: Uuid,
}

/// One committed change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReservationEvent {
    pub kind: EventKind,
    /// The reservation as it is after the change.
    pub reservation: Reservation,
    /// For `Rescheduled`: where it was.
    pub previous: Option<PreviousSlot>,
    /// When the change committed.
    pub at: DateTime<Utc>,
}

impl ReservationEvent {
    /// Whether a subscriber to `room_id` wants this event: the reservation's room now, or the
    /// room it moved away from.
    pub fn concerns_room(&self, room_id: Uuid) -> bool {
        self.reservation.room_id == room_id || self.previous.is_some_and(|p| p.room_id == room_id)
    }
}

/// A bounded broadcast of [`ReservationEvent`]s, shared by the writers and every subscriber.
#[derive(Clone, Debug)]
pub struct EventBus {
    tx: broadcast::Sender<Arc<ReservationEvent>>,
}

impl EventBus {
    /// How many events a subscriber may fall behind before it is told it missed some.
    pub const DEFAULT_CAPACITY: usize = 4096;

    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        EventBus { tx }
    }

    /// Sends `event` to every current subscriber; never blocks. Called after commit, under the
    /// database lock, so the order of events is the order of commits.
    pub fn publish(&self, event: ReservationEvent) {
        // No subscriber is not an error: the change is committed either way.
        let _ = self.tx.send(Arc::new(event));
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ReservationEvent>> {
        self.tx.subscribe()
    }

    /// How many receivers are live.
    pub fn subscriber_count(&self) -> usize {
        self.tx.receiver_count()
    }
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::new(Self::DEFAULT_CAPACITY)
    }
}
