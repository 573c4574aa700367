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

/// Where a reservation stands, as the API shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReservationStatus {
    Confirmed,
    Cancelled,
    /// Nobody checked in in time (auto-release).
    Released,
    /// Waiting for a manager's decision (an approval room): holds its slot as CONFIRMED does.
    Pending,
    /// A manager said no: blocks nothing.
    Declined,
    /// Nobody decided by its approval deadline: blocks nothing.
    Expired,
}

impl ReservationStatus {
    /// Every status, in the order listings name them.
    pub const ALL: [ReservationStatus; 6] = [
        ReservationStatus::Confirmed,
        ReservationStatus::Cancelled,
        ReservationStatus::Released,
        ReservationStatus::Pending,
        ReservationStatus::Declined,
        ReservationStatus::Expired,
    ];

    /// What storage's `status` column holds: whether the slot is held (CONFIRMED) or why not.
    /// PENDING is stored as CONFIRMED and DECLINED and EXPIRED as CANCELLED, each with its
    /// [`Approval`], so that everything keyed on holding a slot (the overlap and buffer probes,
    /// quotas, PostgreSQL's exclusion constraint, and a replica of the release before) holds a
    /// PENDING reservation's slot with no change.
    pub const STORED: [ReservationStatus; 3] = [
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
            ReservationStatus::Pending => "PENDING",
            ReservationStatus::Declined => "DECLINED",
            ReservationStatus::Expired => "EXPIRED",
        }
    }

    /// Parses the spelling of a stored status (one of [`Self::STORED`]).
    pub fn parse_stored(s: &str) -> Option<Self> {
        Self::STORED.into_iter().find(|status| status.as_str() == s)
    }

    /// The status shown for a stored `status` and `approval`: the one place they combine.
    pub fn shown(stored: ReservationStatus, approval: Option<Approval>) -> Self {
        match (stored, approval) {
            (ReservationStatus::Confirmed, Some(Approval::Pending)) => ReservationStatus::Pending,
            (ReservationStatus::Cancelled, Some(Approval::Declined)) => ReservationStatus::Declined,
            (ReservationStatus::Cancelled, Some(Approval::Expired)) => ReservationStatus::Expired,
            (stored, _) => stored,
        }
    }

    /// Whether it holds its slot (CONFIRMED or PENDING).
    pub fn holds_slot(self) -> bool {
        matches!(
            self,
            ReservationStatus::Confirmed | ReservationStatus::Pending
        )
    }
}

/// Where a reservation of an approval room stands with its managers (API.md "Room managers
/// and approval"); stored beside its status (see [`ReservationStatus::STORED`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Approval {
    Pending,
    Approved,
    Declined,
    Expired,
}

impl Approval {
    pub const ALL: [Approval; 4] = [
        Approval::Pending,
        Approval::Approved,
        Approval::Declined,
        Approval::Expired,
    ];

    /// The stored spelling (held to the migration's CHECK by `db`'s tests).
    pub const fn as_str(self) -> &'static str {
        match self {
            Approval::Pending => "PENDING",
            Approval::Approved => "APPROVED",
            Approval::Declined => "DECLINED",
            Approval::Expired => "EXPIRED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
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
    /// Where it stands with an approval room's managers, if it ever needed approval: boxed,
    /// so the reservations that never do (nearly all) stay small to list and copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Box<ApprovalRecord>>,
}

/// A reservation's approval: when it expires while PENDING, and the decision.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    /// While PENDING: when it expires unless a manager decides first.
    #[serde(
        default,
        with = "chrono::serde::ts_microseconds_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub deadline: Option<DateTime<Utc>>,
    /// When it was approved, declined or expired.
    #[serde(
        default,
        with = "chrono::serde::ts_microseconds_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was declined, as the manager said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Reservation {
    /// While PENDING: when it expires unless decided.
    pub fn approval_deadline(&self) -> Option<DateTime<Utc>> {
        self.approval.as_ref().and_then(|a| a.deadline)
    }

    /// When it was approved, declined or expired.
    pub fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.approval.as_ref().and_then(|a| a.decided_at)
    }

    /// Why it was declined.
    pub fn decision_reason(&self) -> Option<&str> {
        self.approval.as_ref().and_then(|a| a.reason.as_deref())
    }
}
