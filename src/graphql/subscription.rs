//! The live feed: `reservationEvents`, fed by the event bus.

use std::sync::Arc;

use async_graphql::{Context, Enum, ErrorExtensions, Object, Result, Subscription, ID};
use futures_util::stream::{Stream, StreamExt};
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;

use super::scalars::Timestamp;
use super::types::{room_by_id, Reservation, Room};
use super::{data, parse_id, GqlResultExt};
use crate::db::Db;
use crate::error::Error;
use crate::events::{self, EventKind};

/// The root of every subscription.
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// Every reservation change that commits after the subscription started, in commit order:
    /// for one room (a reschedule into or out of it included) or, without `roomId`, all rooms.
    /// A subscriber that falls too far behind gets an error saying how many events it missed
    /// (`extensions.missedEvents`), then the feed goes on.
    async fn reservation_events(
        &self,
        ctx: &Context<'_>,
        room_id: Option<ID>,
    ) -> Result<impl Stream<Item = Result<ReservationEvent>>> {
        let room_id = room_id.map(|id| parse_id(&id, "room")).transpose().gql()?;
        let db = data::<Db>(ctx)?;
        // Subscribe before looking the room up, so nothing committed meanwhile is missed.
        let events = BroadcastStream::new(db.bus().subscribe());
        if let Some(id) = room_id {
            if db.room(id).await.gql()?.is_none() {
                return Err(Error::NotFound(format!("no room with id {id}")).extend());
            }
        }
        Ok(events.filter_map(move |item| async move {
            match item {
                Ok(event) if room_id.is_none_or(|r| event.concerns_room(r)) => {
                    Some(Ok(ReservationEvent(event)))
                }
                Ok(_) => None,
                Err(BroadcastStreamRecvError::Lagged(missed)) => Some(Err(lagged(missed))),
            }
        }))
    }
}

fn lagged(missed: u64) -> async_graphql::Error {
    tracing::warn!(missed, "a subscriber fell behind and missed events");
    async_graphql::Error::new(format!(
        "this subscription fell behind and missed {missed} events; refetch what you show, \
         the feed goes on from here"
    ))
    .extend_with(|_, ext| {
        ext.set("code", "INTERNAL");
        ext.set("missedEvents", missed);
    })
}

/// What happened to a reservation.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "ReservationEventKind")]
pub enum ReservationEventKind {
    Booked,
    Rescheduled,
    Cancelled,
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
        }
    }

    /// The reservation as it is after the change.
    async fn reservation(&self) -> Reservation {
        Reservation(self.0.reservation.clone())
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
}
