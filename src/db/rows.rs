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
    Ok(Reservation {
        id: row.id.0,
        room_id: row.room_id.0,
        start: instant(row.start_at)?,
        end: instant(row.end_at)?,
        title: row.title,
        organizer_name: row.organizer_name,
        organizer_email: row.organizer_email,
        status: row.status.0,
        created_at: instant(row.created_at)?,
        updated_at: instant(row.updated_at)?,
        series_id: row.series_id.map(|s| s.0),
        checked_in_at: row.checked_in_at.map(instant).transpose()?,
        released_at: row.released_at.map(instant).transpose()?,
        auto_release_at: row.auto_release_at.map(instant).transpose()?,
        owner: Owner::from_columns(row.owner_subject, row.owner_issuer),
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

/// The row of a new CONFIRMED reservation of `room_id` in `slot`, made at `now` (of series
/// `series_id`, if any), with its check-in deadline from the room's `rules`. The one place a
/// new reservation's columns are filled.
pub(super) fn new_confirmed_row(
    room_id: Uuid,
    slot: Slot,
    booker: &Booker<'_>,
    series_id: Option<StoredUuid>,
    rules: &Rules,
    now: DateTime<Utc>,
) -> ReservationRow {
    let (start_at, end_at) = micros(slot);
    let at = domain::to_micros(now);
    ReservationRow {
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
    }
}
