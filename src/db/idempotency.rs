//! Idempotent mutations (API.md "Idempotent mutations"): a key is claimed inside the change's
//! own transaction, before anything else is locked, and its result recorded there; a retry
//! is answered from what the first success recorded; expired keys are deleted off the
//! request path (`jobs`).

use super::reservations::find_reservation;
use super::series::series_not_found;
use super::*;
use crate::domain::{Once, IDEMPOTENCY_WINDOW_MICROS};

/// What a mutation's key says before it runs.
pub(super) enum Claimed {
    /// No key, or a new (or expired) one: do the work, then `record` its result.
    Fresh,
    /// A retry: the first success made this reservation or series (and left this detail).
    Replay(Uuid, Option<String>),
}

/// Claims `once`'s key for this transaction at `now`. On PostgreSQL a concurrent first
/// attempt with the same key makes this wait for its end: committed, its result is replayed
/// here; rolled back (a failed attempt stores nothing), this one goes ahead. Another input
/// under the key is `IDEMPOTENCY_KEY_REUSED`.
pub(super) fn claim(conn: &mut Conn<'_>, once: Option<&Once>, now: i64) -> Result<Claimed> {
    let Some(once) = once else {
        return Ok(Claimed::Fresh);
    };
    let row = IdempotencyRow {
        scope: once.scope.clone(),
        idem_key: once.key.clone(),
        fingerprint: once.fingerprint.clone(),
        result_id: String::new(),
        detail: None,
        created_at: now,
    };
    for _ in 0..2 {
        if row.claim(conn)? {
            return Ok(Claimed::Fresh);
        }
        // Deleted by the cleanup meanwhile: claim it again.
        let Some(stored) = IdempotencyRow::find_for_update(conn, &once.scope, &once.key)? else {
            continue;
        };
        if stored.created_at <= now - IDEMPOTENCY_WINDOW_MICROS {
            row.overwrite(conn)?;
            return Ok(Claimed::Fresh);
        }
        if stored.fingerprint != once.fingerprint {
            return Err(once.reused());
        }
        let id = Uuid::parse_str(&stored.result_id).map_err(|e| {
            Error::internal(format_args!(
                "stored idempotency result {:?}: {e}",
                stored.result_id
            ))
        })?;
        return Ok(Claimed::Replay(id, stored.detail));
    }
    Err(Error::internal(
        "an idempotency key could be neither claimed nor read",
    ))
}

/// Records what the claimed key's first success made (nothing without a key).
pub(super) fn record(
    conn: &mut Conn<'_>,
    once: Option<&Once>,
    result: Uuid,
    detail: Option<String>,
    now: i64,
) -> Result<()> {
    let Some(once) = once else { return Ok(()) };
    IdempotencyRow {
        scope: once.scope.clone(),
        idem_key: once.key.clone(),
        fingerprint: once.fingerprint.clone(),
        result_id: result.to_string(),
        detail,
        created_at: now,
    }
    .overwrite(conn)?;
    Ok(())
}

/// A reservation mutation's answer to a retry: the reservation as it is now, no event.
pub(super) fn replayed_reservation(
    conn: &mut Conn<'_>,
    id: Uuid,
) -> Result<(Reservation, Vec<ReservationEvent>)> {
    Ok((
        reservation_from_row(find_reservation(conn, id)?)?,
        Vec::new(),
    ))
}

/// A skipped occurrence as a series' key keeps it (`detail`), to answer a retry with it.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredSkip {
    start: i64,
    end: i64,
    code: String,
    policy: Option<String>,
    conflicting: Option<Uuid>,
}

/// `skipped` as a series' key keeps it.
pub(super) fn skipped_detail(skipped: &[OccurrenceConflict]) -> Result<Option<String>> {
    let stored: Vec<StoredSkip> = skipped
        .iter()
        .map(|c| StoredSkip {
            start: domain::to_micros(c.start),
            end: domain::to_micros(c.end),
            code: c.code.to_owned(),
            policy: c.policy.map(|p| p.as_str().to_owned()),
            conflicting: c.conflicting,
        })
        .collect();
    serde_json::to_string(&stored)
        .map(Some)
        .map_err(|e| Error::internal(format_args!("skipped occurrences as JSON: {e}")))
}

/// A series booking's answer to a retry: the series and its occurrences as they are now,
/// and what the first success skipped.
pub(super) fn replayed_series(
    conn: &mut Conn<'_>,
    id: Uuid,
    detail: Option<String>,
) -> Result<SeriesBooking> {
    let key = id.to_string();
    let series = SeriesRow::find(conn, &key)?.ok_or_else(|| series_not_found(id))?;
    let occurrences = ReservationRow::of_series(conn, &key, &STATUSES)?
        .into_iter()
        .map(reservation_from_row)
        .collect::<Result<Vec<_>>>()?;
    let stored: Vec<StoredSkip> = match detail.as_deref() {
        Some(text) => serde_json::from_str(text)
            .map_err(|e| Error::internal(format_args!("stored skipped occurrences: {e}")))?,
        None => Vec::new(),
    };
    let skipped = stored
        .into_iter()
        .map(|s| {
            Ok(OccurrenceConflict {
                start: instant(s.start)?,
                end: instant(s.end)?,
                code: match s.code.as_str() {
                    "IN_PAST" => "IN_PAST",
                    "OVERLAP" => "OVERLAP",
                    "POLICY_VIOLATION" => "POLICY_VIOLATION",
                    other => return Err(Error::internal(format_args!("stored code {other:?}"))),
                },
                policy: s
                    .policy
                    .as_deref()
                    .and_then(crate::error::PolicyRule::parse),
                conflicting: s.conflicting,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(SeriesBooking {
        series: series_from_row(series)?,
        occurrences,
        skipped,
    })
}

impl Db {
    /// The reservation a booking with `once`'s key made, if that key answered for this same
    /// input within the last day: for a retry the request's own checks would now refuse (its
    /// start has passed since the first attempt).
    pub async fn replay_booking(&self, once: Once) -> Result<Option<Reservation>> {
        let now = domain::to_micros(self.now());
        self.interact(move |conn| {
            let stored = IdempotencyRow::find_for_update(conn, &once.scope, &once.key)?;
            let Some(stored) = stored.filter(|s| {
                s.created_at > now - IDEMPOTENCY_WINDOW_MICROS && !s.result_id.is_empty()
            }) else {
                return Ok(None);
            };
            if stored.fingerprint != once.fingerprint {
                return Err(once.reused());
            }
            let id = Uuid::parse_str(&stored.result_id)
                .map_err(|e| Error::internal(format_args!("stored idempotency result: {e}")))?;
            Ok(Some(replayed_reservation(conn, id)?.0))
        })
        .await
    }

    /// Deletes the idempotency keys older than a day; how many.
    pub async fn forget_expired_keys(&self) -> Result<usize> {
        let before = domain::to_micros(self.now()) - IDEMPOTENCY_WINDOW_MICROS;
        self.interact(move |conn| Ok(IdempotencyRow::delete_expired(conn, before)?))
            .await
    }
}
