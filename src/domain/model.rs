//! The stored things, as the rest of the program sees them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A bookable room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Room {
    pub id: Uuid,
    pub name: String,
    pub capacity: i32,
    pub created_at: DateTime<Utc>,
}

/// Whether a reservation holds its slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReservationStatus {
    Confirmed,
    Cancelled,
}

impl ReservationStatus {
    /// The stored and published spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ReservationStatus::Confirmed => "CONFIRMED",
            ReservationStatus::Cancelled => "CANCELLED",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "CONFIRMED" => Some(ReservationStatus::Confirmed),
            "CANCELLED" => Some(ReservationStatus::Cancelled),
            _ => None,
        }
    }
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
}
