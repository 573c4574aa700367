//! The stored things, as the rest of the program sees them.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::room::{Features, Managers, RoomPolicy};

/// A bookable room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Room {
    pub id: Uuid,
    pub name: String,
    pub capacity: i32,
    pub created_at: DateTime<Utc>,
    /// Opening hours are read in this zone.
    pub time_zone: Tz,
    pub building: Option<String>,
    pub floor: Option<String>,
    pub features: Features,
    pub description: Option<String>,
    /// Archived rooms cannot be booked and are not listed.
    pub archived: bool,
    pub policy: RoomPolicy,
    pub managers: Managers,
}

/// What describes a room, everything but its identity; validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomDetails {
    pub name: super::RoomName,
    pub capacity: super::Capacity,
    pub time_zone: Tz,
    pub building: Option<String>,
    pub floor: Option<String>,
    pub features: Features,
    pub description: Option<String>,
    pub policy: RoomPolicy,
    pub managers: Managers,
}

impl RoomDetails {
    /// A room with only a name and a capacity: in UTC, no features, the default policy.
    pub fn named(name: super::RoomName, capacity: super::Capacity) -> Self {
        RoomDetails {
            name,
            capacity,
            time_zone: Tz::UTC,
            building: None,
            floor: None,
            features: Features::default(),
            description: None,
            policy: RoomPolicy::default(),
            managers: Managers::default(),
        }
    }
}

impl Room {
    /// This room's describing fields, to be changed by `updateRoom`.
    pub fn details(&self) -> Result<RoomDetails, crate::error::Error> {
        Ok(RoomDetails {
            name: super::RoomName::parse(&self.name)?,
            capacity: super::Capacity::parse(self.capacity)?,
            time_zone: self.time_zone,
            building: self.building.clone(),
            floor: self.floor.clone(),
            features: self.features.clone(),
            description: self.description.clone(),
            policy: self.policy.clone(),
            managers: self.managers.clone(),
        })
    }
}

/// Whether a reservation holds its slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReservationStatus {
    Confirmed,
    Cancelled,
    /// Nobody checked in in time (auto-release).
    Released,
}

impl ReservationStatus {
    /// Every status, in the order listings name them.
    pub const ALL: [ReservationStatus; 3] = [
        ReservationStatus::Confirmed,
        ReservationStatus::Cancelled,
        ReservationStatus::Released,
    ];

    /// The stored and published spelling: the one home of it (storage's constants, the SQL
    /// it writes and the migrations' CHECK constraints are held to it by `db`'s tests).
    pub const fn as_str(self) -> &'static str {
        match self {
            ReservationStatus::Confirmed => "CONFIRMED",
            ReservationStatus::Cancelled => "CANCELLED",
            ReservationStatus::Released => "RELEASED",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }
}

/// Who booked a reservation or series in secured mode: the `sub` and `iss` of the token.
/// Subjects are unique only within an issuer, so both make the owner.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Owner {
    pub subject: String,
    pub issuer: String,
}

impl Owner {
    /// The owner stored in two nullable columns; `None` unless both are there.
    pub fn from_columns(subject: Option<String>, issuer: Option<String>) -> Option<Self> {
        Some(Owner {
            subject: subject?,
            issuer: issuer?,
        })
    }
}

/// Only what places a reservation: which room, when, and whether it holds that slot. What a
/// listing loads when its client asks for nothing more (see `graphql::types::Reservation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReservationSlot {
    pub id: Uuid,
    pub room_id: Uuid,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub status: ReservationStatus,
}

/// One reservation of one room for a half-open interval `[start, end)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub id: Uuid,
    pub room_id: Uuid,
    // Stored (in the event log) as integer microseconds: the precision kept, and no date
    // formatting on the booking path.
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub start: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub end: DateTime<Utc>,
    pub title: Option<String>,
    pub organizer_name: String,
    pub organizer_email: String,
    pub status: ReservationStatus,
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub updated_at: DateTime<Utc>,
    /// The series it was booked in, if any. (Absent from events logged before series.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series_id: Option<Uuid>,
    /// When it was checked in (`checkIn`).
    #[serde(
        default,
        with = "chrono::serde::ts_microseconds_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub checked_in_at: Option<DateTime<Utc>>,
    /// When it was released for want of a check-in.
    #[serde(
        default,
        with = "chrono::serde::ts_microseconds_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub released_at: Option<DateTime<Utc>>,
    /// While CONFIRMED and not checked in: when it is released unless checked in (its room
    /// required check-in when it was booked or moved there). `None`: never.
    #[serde(
        default,
        with = "chrono::serde::ts_microseconds_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub auto_release_at: Option<DateTime<Utc>>,
    /// Who booked it with a token; `None`: booked in open mode (only admins change it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
}
