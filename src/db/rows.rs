//! Row <-> domain conversions: ids, instants, slots, rooms, reservations, series.

use super::*;

pub(super) fn slot_of((start, end): (i64, i64)) -> Result<Slot> {
    Slot::new(instant(start)?, instant(end)?)
        .map_err(|_| Error::internal(format_args!("stored slot {start}..{end}")))
}

/// A new row id: a UUID v7, whose leading bits are the time, so ids sort by creation and each
/// insert lands at the end of the primary-key index. A random v4 id lands on a random page of
/// it, and as the table grows most of those pages have fallen out of the CPU caches.
pub(super) fn new_id() -> Uuid {
    Uuid::now_v7()
}

pub(super) fn micros(slot: Slot) -> (i64, i64) {
    (
        domain::to_micros(slot.start()),
        domain::to_micros(slot.end()),
    )
}

pub(super) fn instant(us: i64) -> Result<DateTime<Utc>> {
    domain::from_micros(us).ok_or_else(|| Error::internal(format_args!("stored instant {us}")))
}

pub(super) fn room_from_row(row: RoomRow) -> Result<Room> {
    let rules = rules_from_row(row.rules)?;
    Ok(Room {
        id: row.id.0,
        name: row.name,
        capacity: row.capacity,
        created_at: instant(row.created_at)?,
        time_zone: rules.tz,
        building: row.building,
        floor: row.floor,
        features: Features::from_stored(&row.features),
        description: row.description,
        archived: rules.archived,
        policy: rules.policy,
        managers: rules.managers,
    })
}

pub(super) fn reservation_from_row(row: ReservationRow) -> Result<Reservation> {
    let approval = approval_of(row.approval.as_deref())?;
    Ok(Reservation {
        id: row.id.0,
        room_id: row.room_id.0,
        start: instant(row.start_at)?,
        end: instant(row.end_at)?,
        title: row.title,
        organizer_name: row.organizer_name,
        organizer_email: row.organizer_email,
        status: ReservationStatus::shown(row.status.0, approval),
        created_at: instant(row.created_at)?,
        updated_at: instant(row.updated_at)?,
        series_id: row.series_id.map(|s| s.0),
        checked_in_at: row.checked_in_at.map(instant).transpose()?,
        released_at: row.released_at.map(instant).transpose()?,
        auto_release_at: row.auto_release_at.map(instant).transpose()?,
        owner: Owner::from_columns(row.owner_subject, row.owner_issuer),
        approval: match (approval, row.approval_deadline, row.decided_at) {
            (None, None, None) => None,
            (_, deadline, decided_at) => Some(Box::new(ApprovalRecord {
                deadline: deadline.map(instant).transpose()?,
                decided_at: decided_at.map(instant).transpose()?,
                reason: row.decision_reason,
            })),
        },
    })
}

/// The stored `approval` column, parsed.
pub(super) fn approval_of(stored: Option<&str>) -> Result<Option<Approval>> {
    stored
        .map(|a| {
            Approval::parse(a).ok_or_else(|| Error::internal(format_args!("stored approval {a:?}")))
        })
        .transpose()
}

/// A slot listing's row of a reservation of `room_id` (which holds its slot: CONFIRMED, or
/// PENDING by its approval).
pub(super) fn slot_from_row(
    room_id: Uuid,
    (id, start, end, approval): SlotRow,
) -> Result<ReservationSlot> {
    Ok(ReservationSlot {
        id: id.0,
        room_id,
        start: instant(start)?,
        end: instant(end)?,
        status: ReservationStatus::shown(
            ReservationStatus::Confirmed,
            approval_of(approval.as_deref())?,
        ),
    })
}

pub(super) fn series_from_row(row: SeriesRow) -> Result<Series> {
    let time_zone = domain::parse_time_zone(&row.time_zone)
        .map_err(|_| Error::internal(format_args!("stored time zone {:?}", row.time_zone)))?;
    Ok(Series {
        id: row.id.0,
        room_id: row.room_id.0,
        rrule: row.rrule,
        time_zone,
        first_start: instant(row.first_start)?,
        title: row.title,
        organizer_name: row.organizer_name,
        organizer_email: row.organizer_email,
        created_at: instant(row.created_at)?,
        owner: Owner::from_columns(row.owner_subject, row.owner_issuer),
    })
}

/// A list longer than a client may ask for at once.
pub(super) fn too_many(what: &str, max: usize, hint: &str) -> Error {
    Error::BadUserInput(format!(
        "more than {max} {what} match; at most {max} are returned at once: {hint}"
    ))
}

/// Who a new reservation is for, as both a single booking and a series' occurrences carry it.
pub(super) struct Booker<'a> {
    pub(super) title: Option<&'a str>,
    pub(super) organizer_name: &'a str,
    pub(super) organizer_email: &'a str,
    pub(super) owner: Option<&'a Owner>,
}

/// The row of a new reservation of `room_id` in `slot`, made at `now` (of series `series_id`,
/// if any): CONFIRMED with its check-in deadline from the room's `rules`, or PENDING until
/// `pending` (its approval deadline), its check-in deadline set when approved. The one place a
/// new reservation's columns are filled.
pub(super) fn new_row(
    room_id: Uuid,
    slot: Slot,
    booker: &Booker<'_>,
    series_id: Option<StoredUuid>,
    rules: &Rules,
    pending: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> ReservationRow {
    let (start_at, end_at) = micros(slot);
    let at = domain::to_micros(now);
    let mut row = ReservationRow {
        id: StoredUuid(new_id()),
        room_id: StoredUuid(room_id),
        start_at,
        end_at,
        title: booker.title.map(str::to_owned),
        organizer_name: booker.organizer_name.to_owned(),
        organizer_email: booker.organizer_email.to_owned(),
        status: StoredStatus(ReservationStatus::Confirmed),
        created_at: at,
        updated_at: at,
        series_id,
        checked_in_at: None,
        released_at: None,
        auto_release_at: release_deadline(slot, rules),
        owner_subject: booker.owner.map(|o| o.subject.clone()),
        owner_issuer: booker.owner.map(|o| o.issuer.clone()),
        approval: None,
        approval_deadline: None,
        decided_at: None,
        decision_reason: None,
    };
    if let Some(deadline) = pending {
        row.wait_for_approval(deadline);
    }
    row
}

/// Whether a booking of `slot` by `actor` in a room with `rules`, at `now`, waits for approval,
/// and until when (API.md "Room managers and approval").
pub(super) fn pending_until(
    rules: &Rules,
    actor: &Actor,
    slot: Slot,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if !rules.policy.approval_required {
        return None;
    }
    domain::approval_deadline(
        &rules.policy,
        actor.manages(&rules.managers),
        slot.start(),
        now,
    )
}

impl ReservationRow {
    /// Makes this (slot-holding) row PENDING until `deadline`: no check-in deadline until it is
    /// approved, no decision yet.
    pub(super) fn wait_for_approval(&mut self, deadline: DateTime<Utc>) {
        self.approval = Some(Approval::Pending.as_str().to_owned());
        self.approval_deadline = Some(domain::to_micros(deadline));
        self.auto_release_at = None;
        self.decided_at = None;
        self.decision_reason = None;
    }

    /// The row no longer holding its slot, as of `at` (micros): `status` CANCELLED or
    /// RELEASED, with `approval` saying why when a decision or its want ended it (DECLINED,
    /// EXPIRED). Nothing it waited for is left: no check-in or approval deadline. The one
    /// place a reservation leaves its slot.
    pub(super) fn leave_slot(
        &mut self,
        status: ReservationStatus,
        approval: Option<Approval>,
        at: i64,
    ) {
        self.status = StoredStatus(status);
        if let Some(approval) = approval {
            self.approval = Some(approval.as_str().to_owned());
            self.decided_at = Some(at);
        }
        self.updated_at = at;
        self.auto_release_at = None;
        self.approval_deadline = None;
    }
}
