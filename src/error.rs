//! The one error type of roombook and its only mapping to GraphQL `extensions.code`.

use async_graphql::ErrorExtensions;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::instant;

/// Result with roombook's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every way an operation can be refused or fail; each variant is one code of API.md.
#[derive(Clone, Debug, thiserror::Error)]
pub enum Error {
    /// The input is malformed or breaks a field limit.
    #[error("{0}")]
    BadUserInput(String),
    /// `start` is not before `end` (or `to` not after `from`).
    #[error("{0}")]
    InvalidTimeRange(String),
    /// The slot or reservation lies in the past.
    #[error("{0}")]
    InPast(String),
    /// The slot overlaps a CONFIRMED reservation of the same room.
    #[error("the room is already booked in that time by reservation {conflicting}; choose a slot that does not overlap it")]
    Overlap {
        /// The reservation in the way.
        conflicting: Uuid,
    },
    /// An unknown room or reservation.
    #[error("{0}")]
    NotFound(String),
    /// The reservation is cancelled, declined or expired already (the message says which).
    #[error("{0}")]
    AlreadyCancelled(String),
    /// The reservation was released (nobody checked in).
    #[error("reservation {0} was released because nobody checked in; book the slot again")]
    AlreadyReleased(Uuid),
    /// Check-in is not open for the reservation now.
    #[error("{0}")]
    CheckInClosed(String),
    /// Check-out of a reservation that is not in progress.
    #[error("{0}")]
    NotInProgress(String),
    /// A room of that name exists already.
    #[error("{0}")]
    AlreadyExists(String),
    /// The room's policy refuses the slot (booking rule 6).
    #[error("{message}")]
    PolicyViolation {
        policy: PolicyRule,
        message: String,
        /// For `BUFFER`: the reservation too close.
        conflicting: Option<Uuid>,
    },
    /// The room is archived: it cannot be booked.
    #[error("room {0} is archived and cannot be booked; restore it first (restoreRoom)")]
    RoomArchived(Uuid),
    /// Archiving a room that still has reservations to come.
    #[error("room {room} still has {total} CONFIRMED reservations that have not ended; cancel them, or archive with cancelFutureReservations: true")]
    RoomInUse {
        room: Uuid,
        total: usize,
        /// At most 100 of them.
        reservations: Vec<Uuid>,
    },
    /// Occurrences of a series refused (nothing written in FAIL mode; none bookable in SKIP).
    #[error("{}", series_conflict_message(*.total, .conflicts))]
    SeriesConflict {
        /// How many occurrences the series has.
        total: usize,
        /// Every refused occurrence, in start order.
        conflicts: Vec<OccurrenceConflict>,
    },
    /// Automatic persisted queries: the hash names no document this process knows; the client
    /// sends hash and document (Apollo's clients expect exactly this message).
    #[error("PersistedQueryNotFound")]
    PersistedQueryNotFound,
    /// `--trusted-documents-only`: a non-admin sent a document the operator does not trust.
    #[error("{0}")]
    DocumentNotTrusted(String),
    /// No valid token where one is needed (anonymous caller), or a token that does not verify.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is known but may not do this (not the owner, not an admin, a claim missing).
    #[error("{0}")]
    Forbidden(String),
    /// A subscriber fell behind the event log and missed this many events (`INTERNAL`, with
    /// `missedEvents`); the feed goes on.
    #[error("this subscription fell behind and missed {0} events; refetch what you show, the feed goes on from here")]
    MissedEvents(u64),
    /// An idempotency key sent again with another input or for another mutation.
    #[error("{0}")]
    IdempotencyKeyReused(String),
    /// Approving or declining a reservation (or series) with nothing PENDING.
    #[error("{0}")]
    NotPending(String),
    /// Anything that is the server's fault. The detail is logged, never sent.
    #[error("internal error")]
    Internal(String),
}

/// At most this many characters of a value a caller chose (a token's `kid`, an id that is not
/// a UUID) are quoted back in a refusal and the log: the caller may make it as long as it likes.
pub const QUOTED_CHARS: usize = 40;

/// `value` quoted, cut to [`QUOTED_CHARS`] characters (saying how long it was).
pub fn quoted(value: &str) -> String {
    let mut chars = value.chars();
    let head: String = chars.by_ref().take(QUOTED_CHARS).collect();
    if chars.next().is_none() {
        format!("{head:?}")
    } else {
        format!("{head:?}... ({} bytes)", value.len())
    }
}

/// Which part of a room's policy refused a slot (`extensions.policy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyRule {
    MinDuration,
    MaxDuration,
    BookingHorizon,
    OpeningHours,
    Buffer,
    QuotaHours,
    QuotaActive,
}

impl PolicyRule {
    /// Every rule, in the order the policy checks them.
    pub const ALL: [PolicyRule; 7] = [
        PolicyRule::MinDuration,
        PolicyRule::MaxDuration,
        PolicyRule::BookingHorizon,
        PolicyRule::OpeningHours,
        PolicyRule::Buffer,
        PolicyRule::QuotaHours,
        PolicyRule::QuotaActive,
    ];

    /// The rule `as_str` spells `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PolicyRule::MinDuration => "MIN_DURATION",
            PolicyRule::MaxDuration => "MAX_DURATION",
            PolicyRule::BookingHorizon => "BOOKING_HORIZON",
            PolicyRule::OpeningHours => "OPENING_HOURS",
            PolicyRule::Buffer => "BUFFER",
            PolicyRule::QuotaHours => "QUOTA_HOURS",
            PolicyRule::QuotaActive => "QUOTA_ACTIVE",
        }
    }
}

/// An occurrence of a series a booking rule or policy refused: one entry of
/// `extensions.conflicts` (`SERIES_CONFLICT`), and what `bookSeries` with SKIP reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OccurrenceConflict {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// `IN_PAST`, `OVERLAP` or `POLICY_VIOLATION`.
    pub code: &'static str,
    pub policy: Option<PolicyRule>,
    pub conflicting: Option<Uuid>,
}

impl Error {
    /// The `extensions.code` of this error, as API.md names it.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadUserInput(_) => "BAD_USER_INPUT",
            Error::InvalidTimeRange(_) => "INVALID_TIME_RANGE",
            Error::InPast(_) => "IN_PAST",
            Error::Overlap { .. } => "OVERLAP",
            Error::NotFound(_) => "NOT_FOUND",
            Error::AlreadyCancelled(_) => "ALREADY_CANCELLED",
            Error::AlreadyExists(_) => "ALREADY_EXISTS",
            Error::AlreadyReleased(_) => "ALREADY_RELEASED",
            Error::CheckInClosed(_) => "CHECK_IN_CLOSED",
            Error::NotInProgress(_) => "NOT_IN_PROGRESS",
            Error::PolicyViolation { .. } => "POLICY_VIOLATION",
            Error::RoomArchived(_) => "ROOM_ARCHIVED",
            Error::RoomInUse { .. } => "ROOM_IN_USE",
            Error::SeriesConflict { .. } => "SERIES_CONFLICT",
            Error::Unauthenticated(_) => "UNAUTHENTICATED",
            Error::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Error::DocumentNotTrusted(_) => "DOCUMENT_NOT_TRUSTED",
            Error::Forbidden(_) => "FORBIDDEN",
            Error::IdempotencyKeyReused(_) => "IDEMPOTENCY_KEY_REUSED",
            Error::NotPending(_) => "NOT_PENDING",
            Error::Internal(_) | Error::MissedEvents(_) => "INTERNAL",
        }
    }

    /// This error as a request-level GraphQL error (no path), at `pos` if it has one.
    pub fn into_server_error(self, pos: Option<async_graphql::Pos>) -> async_graphql::ServerError {
        let extended = self.extend();
        let mut error = async_graphql::ServerError::new(extended.message, pos);
        error.extensions = extended.extensions;
        error
    }

    /// An internal error from anything displayable; the detail stays in the log.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Error::Internal(detail.to_string())
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        Error::internal(format_args!("database: {e}"))
    }
}

impl ErrorExtensions for Error {
    fn extend(&self) -> async_graphql::Error {
        if let Error::Internal(detail) = self {
            tracing::error!(%detail, "internal error");
        }
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", self.code());
            match self {
                Error::Overlap { conflicting } => {
                    ext.set("conflictingReservationId", conflicting.to_string());
                }
                Error::PolicyViolation {
                    policy,
                    conflicting,
                    ..
                } => {
                    ext.set("policy", policy.as_str());
                    if let Some(id) = conflicting {
                        ext.set("conflictingReservationId", id.to_string());
                    }
                }
                Error::RoomInUse { reservations, .. } => {
                    let ids: Vec<async_graphql::Value> = reservations
                        .iter()
                        .map(|id| async_graphql::Value::String(id.to_string()))
                        .collect();
                    ext.set("reservationIds", async_graphql::Value::List(ids));
                }
                Error::SeriesConflict { conflicts, .. } => {
                    let list = conflicts.iter().map(conflict_value).collect();
                    ext.set("conflicts", async_graphql::Value::List(list));
                }
                Error::MissedEvents(missed) => ext.set("missedEvents", *missed),
                _ => {}
            }
        })
    }
}

fn series_conflict_message(total: usize, conflicts: &[OccurrenceConflict]) -> String {
    let first = match conflicts.first() {
        Some(c) => format!(
            "; the first, at {}, is refused with {}{}",
            instant::format(c.start),
            c.code,
            c.policy
                .map(|p| format!(" ({})", p.as_str()))
                .unwrap_or_default()
        ),
        None => String::new(),
    };
    format!(
        "{} of the series' {total} occurrences cannot be booked{first}; nothing was booked. \
         extensions.conflicts lists each one: move or shorten the series, or book it with \
         onConflict: SKIP to book the others",
        conflicts.len()
    )
}

/// One entry of `extensions.conflicts`: `{start, end, code, policy?, conflictingReservationId?}`.
fn conflict_value(c: &OccurrenceConflict) -> async_graphql::Value {
    use async_graphql::{Name, Value};
    let mut map = async_graphql::indexmap::IndexMap::new();
    map.insert(Name::new("start"), Value::String(instant::format(c.start)));
    map.insert(Name::new("end"), Value::String(instant::format(c.end)));
    map.insert(Name::new("code"), Value::String(c.code.to_owned()));
    if let Some(policy) = c.policy {
        map.insert(
            Name::new("policy"),
            Value::String(policy.as_str().to_owned()),
        );
    }
    if let Some(id) = c.conflicting {
        map.insert(
            Name::new("conflictingReservationId"),
            Value::String(id.to_string()),
        );
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_the_caller_chose_is_quoted_back_cut_short() {
        assert_eq!(quoted("k1"), "\"k1\"");
        let long = "k".repeat(100_000);
        let q = quoted(&long);
        assert!(q.len() < 80, "{q}");
        assert!(q.ends_with("... (100000 bytes)"), "{q}");
    }

    #[test]
    fn internal_errors_hide_their_detail() {
        let e = Error::internal("UNIQUE constraint failed: rooms.name_key");
        let gql = e.extend();
        assert_eq!(gql.message, "internal error");
        let ext = format!("{:?}", gql.extensions);
        assert!(ext.contains("INTERNAL"));
        assert!(!ext.contains("UNIQUE"));
    }

    #[test]
    fn overlap_names_the_reservation_in_the_way() {
        let id = Uuid::new_v4();
        let gql = Error::Overlap { conflicting: id }.extend();
        let ext = format!("{:?}", gql.extensions);
        assert!(ext.contains("OVERLAP"));
        assert!(ext.contains(&id.to_string()));
    }
}
