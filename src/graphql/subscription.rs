//! The live feed: `reservationEvents`, fed by the event log.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use async_graphql::{Context, Enum, ErrorExtensions, Object, Result, Subscription, ID};
use futures_util::stream::{self, BoxStream, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;
use uuid::Uuid;

use super::scalars::Timestamp;
use super::types::{room_by_id, Reservation, Room};
use super::{data, parse_id, GqlResultExt};
use crate::auth::Need;
use crate::db::Db;
use crate::error::Error;
use crate::events::{self, decode_cursor, EventKind};

/// Events read from the log per query while a subscription catches up.
const REPLAY_BATCH: i64 = 500;

/// The root of every subscription.
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// Every reservation change that commits after the subscription started, in commit order:
    /// for one room (a reschedule into or out of it included) or, without `roomId`, all rooms.
    /// With `after` (the `cursor` of the last event a client saw), first every matching event
    /// committed after that one, then the live feed: no gap, no duplicate. A cursor older than
    /// the log keeps, or from another database, is `BAD_USER_INPUT`. A subscriber that falls
    /// behind catches up from the log; if the log no longer has what it missed, it gets an
    /// error saying how many events it missed (`extensions.missedEvents`), then the feed goes on.
    #[graphql(guard = "Need::Member")]
    async fn reservation_events(
        &self,
        ctx: &Context<'_>,
        room_id: Option<ID>,
        after: Option<String>,
    ) -> Result<BoxStream<'static, Result<ReservationEvent>>> {
        let room_id = room_id.map(|id| parse_id(&id, "room")).transpose().gql()?;
        let db = data::<Db>(ctx)?.clone();
        let after = after
            .map(|c| decode_cursor(db.events().database_id(), &c))
            .transpose()
            .gql()?;
        // Subscribe before anything else, so nothing committed meanwhile is missed; what had
        // committed by then is not sent, though it may not have been published yet.
        let published = db.events().published();
        let rx = db.events().subscribe();
        let before = match after {
            Some(_) => Vec::new(),
            None => db.committed_after(published).await.gql()?,
        };
        if let Some(id) = room_id {
            if db.room(id).await.gql()?.is_none() {
                return Err(Error::NotFound(format!("no room with id {id}")).extend());
            }
        }
        let mut feed = Feed {
            db,
            room: room_id,
            rx,
            // Without `after`, nothing up to what was published when it started is owed.
            last: after.map_or(published, |c| c.0),
            catch_up_to: 0,
            backlog: VecDeque::new(),
            exhausted_to: None,
            before: before.into_iter().collect(),
            _started: None,
        };
        if after.is_some() {
            // The first batch now, so a cursor the log cannot serve is refused at once.
            feed.catch_up_to = feed.db.events().published();
            feed.replay().await.gql()?;
        }
        // Started: everything committed from here on is this subscription's.
        feed._started = Some(feed.db.events().started());
        if let Ok(capture) = ctx.data::<Capture>() {
            // The WebSocket endpoint delivers it itself (`live`): hand the feed over.
            capture.put(feed);
            return Ok(stream::empty().boxed());
        }
        Ok(stream::unfold(feed, |mut feed| async move {
            let item = feed.next().await?;
            Some((item, feed))
        })
        .boxed())
    }
}

/// Request data asking `reservationEvents` to hand its started feed over rather than run it
/// as a stream (see `live`).
#[derive(Clone, Default)]
pub(crate) struct Capture(Arc<Mutex<Option<Feed>>>);

impl Capture {
    fn put(&self, feed: Feed) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(feed);
    }

    /// The feed, if the subscription started.
    pub(crate) fn take(&self) -> Option<Feed> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// One subscription's position: the live receiver, and the log behind it.
pub(crate) struct Feed {
    db: Db,
    room: Option<Uuid>,
    rx: Receiver<Arc<events::ReservationEvent>>,
    /// Every event with `seq <= last` has been sent or passed over.
    last: i64,
    /// While `last < catch_up_to`, events come from the log rather than the receiver.
    catch_up_to: i64,
    backlog: VecDeque<events::ReservationEvent>,
    /// Once the backlog is sent, everything up to this has been read from the log.
    exhausted_to: Option<i64>,
    /// Events that committed before this subscription started, not to be sent.
    before: HashSet<i64>,
    /// Counts this subscription as started while it lives.
    _started: Option<events::Started>,
}

impl Feed {
    /// Reads the next batch of the log after `last`, up to `catch_up_to`.
    async fn replay(&mut self) -> crate::error::Result<()> {
        // Boxed: a feed waits on its receiver almost all its life, and its future should not
        // carry the space of a database call it rarely makes.
        let batch =
            Box::pin(
                self.db
                    .replay(self.last, self.catch_up_to + 1, self.room, REPLAY_BATCH),
            )
            .await?;
        if (batch.len() as i64) < REPLAY_BATCH {
            // All that matches up to the target is in hand; the rest was for other rooms.
            self.exhausted_to = Some(self.catch_up_to);
        }
        self.backlog.extend(batch);
        Ok(())
    }

    /// The next event owed to this subscriber, or the error saying how many it missed; `None`
    /// once the log closes.
    pub(crate) async fn next(&mut self) -> Option<Result<ReservationEvent>> {
        loop {
            if self.backlog.is_empty() && self.backlog.capacity() > 0 {
                // Caught up: give back what the catch-up held.
                self.backlog = VecDeque::new();
            }
            if self.before.is_empty() && self.before.capacity() > 0 {
                self.before = HashSet::new();
            }
            if let Some(event) = self.backlog.pop_front() {
                self.last = event.seq;
                if self.before.remove(&event.seq) {
                    continue;
                }
                return Some(Ok(ReservationEvent(Arc::new(event))));
            }
            if let Some(to) = self.exhausted_to.take() {
                self.last = self.last.max(to);
            }
            if self.last < self.catch_up_to {
                if let Err(e) = self.replay().await {
                    // The log no longer has it: say so, and go on live.
                    let (from, to) = (self.last, self.catch_up_to);
                    let before = self
                        .before
                        .iter()
                        .filter(|s| (from + 1..=to).contains(*s))
                        .count();
                    let missed = ((to - from).max(0) as u64).saturating_sub(before as u64);
                    tracing::warn!(error = %e, "a subscriber could not catch up from the log");
                    self.last = self.catch_up_to;
                    return Some(Err(lagged(missed)));
                }
                continue;
            }
            match self.rx.recv().await {
                Ok(event) if event.seq <= self.last => {}
                Ok(event) => {
                    // Passed, sent or not: a catch-up later starts after it.
                    self.last = event.seq;
                    let owed = !self.before.remove(&event.seq);
                    if owed && self.room.is_none_or(|r| event.concerns_room(r)) {
                        return Some(Ok(ReservationEvent(event)));
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::info!(missed, "a subscriber fell behind; catching up from the log");
                    self.catch_up_to = self.db.events().published();
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

fn lagged(missed: u64) -> async_graphql::Error {
    tracing::warn!(missed, "a subscriber fell behind and missed events");
    Error::MissedEvents(missed).extend()
}

/// What happened to a reservation.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "ReservationEventKind")]
pub enum ReservationEventKind {
    Booked,
    Rescheduled,
    Cancelled,
    /// Someone checked in (`checkIn`).
    CheckedIn,
    /// The meeting ended early (`checkOut`): `end` is when.
    CheckedOut,
    /// Nobody checked in in time: the slot is free again.
    Released,
    /// A manager approved the PENDING reservation: it is CONFIRMED.
    Approved,
    /// A manager declined the PENDING reservation: the slot is free again.
    Declined,
    /// Nobody decided by its approval deadline: the slot is free again.
    Expired,
}

/// One committed change to a reservation.
pub struct ReservationEvent(pub Arc<events::ReservationEvent>);

#[Object]
impl ReservationEvent {
    async fn kind(&self) -> ReservationEventKind {
        match self.0.kind {
            EventKind::Booked => ReservationEventKind::Booked,
            EventKind::Rescheduled => ReservationEventKind::Rescheduled,
            EventKind::Cancelled => ReservationEventKind::Cancelled,
            EventKind::CheckedIn => ReservationEventKind::CheckedIn,
            EventKind::CheckedOut => ReservationEventKind::CheckedOut,
            EventKind::Released => ReservationEventKind::Released,
            EventKind::Approved => ReservationEventKind::Approved,
            EventKind::Declined => ReservationEventKind::Declined,
            EventKind::Expired => ReservationEventKind::Expired,
        }
    }

    /// The reservation as it was right after the change.
    async fn reservation(&self) -> Reservation {
        Reservation::from(self.0.reservation.clone())
    }

    /// For RESCHEDULED: the start before the change.
    async fn previous_start(&self) -> Option<Timestamp> {
        self.0.previous.map(|p| Timestamp(p.start))
    }

    /// For RESCHEDULED: the end before the change.
    async fn previous_end(&self) -> Option<Timestamp> {
        self.0.previous.map(|p| Timestamp(p.end))
    }

    /// For RESCHEDULED: the room before the change.
    async fn previous_room(&self, ctx: &Context<'_>) -> Result<Option<Room>> {
        match self.0.previous {
            Some(p) => room_by_id(ctx, p.room_id).await.map(Some),
            None => Ok(None),
        }
    }

    /// When the change committed.
    async fn at(&self) -> Timestamp {
        Timestamp(self.0.at)
    }

    /// Where this event stands in the log: pass it as `after` to resume after it, on any
    /// replica of the same database.
    async fn cursor(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(data::<Db>(ctx)?.events().cursor(&self.0))
    }
}
