//! Reservations: booking, cancelling, rescheduling, check-in and check-out, and the lists.

use super::*;
use crate::domain::page::{Direction, Page, PageRequest};

impl Db {
    pub async fn reservation(&self, id: Uuid) -> Result<Option<Reservation>> {
        self.interact(move |conn| {
            ReservationRow::find(conn, &id.to_string())?
                .map(reservation_from_row)
                .transpose()
        })
        .await
    }

    /// Reservations overlapping `window`, sorted by start; only CONFIRMED ones unless
    /// `include_cancelled`. An unknown `room_id` is `NOT_FOUND`; more than `max` is refused.
    pub async fn reservations(
        &self,
        window: Window,
        room_id: Option<Uuid>,
        include_cancelled: bool,
        max: usize,
    ) -> Result<Vec<Reservation>> {
        self.list(window, room_id, None, include_cancelled, max, true)
            .await
    }

    /// The reservations `owner` booked overlapping `window`, sorted by start; only CONFIRMED
    /// ones unless `include_cancelled`; more than `max` is refused.
    pub async fn reservations_owned(
        &self,
        owner: Owner,
        window: Window,
        include_cancelled: bool,
        max: usize,
    ) -> Result<Vec<Reservation>> {
        self.list(window, None, Some(owner), include_cancelled, max, false)
            .await
    }

    /// The CONFIRMED reservations of `room` (just read, so known to exist: rooms are never
    /// deleted) overlapping `window`, sorted by start; more than `max` is refused.
    pub async fn reservations_of(
        &self,
        room: &Room,
        window: Window,
        max: usize,
    ) -> Result<Vec<Reservation>> {
        let (room, from, to) = (room.id.to_string(), window.from, window.to);
        self.interact(move |conn| {
            let (from, to) = (domain::to_micros(from), domain::to_micros(to));
            let (rows, more) = ReservationRow::list_in_room(conn, &room, from, to, max)?;
            refuse_more(more, max)?;
            rows.into_iter().map(reservation_from_row).collect()
        })
        .await
    }

    /// As `reservations_of`, only where each one is: for a listing that shows nothing else,
    /// a third of the row to read and send.
    pub async fn slots_of(
        &self,
        room: &Room,
        window: Window,
        max: usize,
    ) -> Result<Vec<ReservationSlot>> {
        let (room_id, from, to) = (room.id, window.from, window.to);
        self.interact(move |conn| {
            let room = room_id.to_string();
            let (from, to) = (domain::to_micros(from), domain::to_micros(to));
            let (rows, more) = ReservationRow::list_slots_in_room(conn, &room, from, to, max)?;
            refuse_more(more, max)?;
            rows.into_iter()
                .map(|row| slot_from_row(room_id, row))
                .collect()
        })
        .await
    }

    /// A page of the reservations `list` selects in `window` (API.md "Pages"), ordered by
    /// (start, id); `total` too when `want_total`. Keys are (start in micros, id).
    pub async fn reservations_page(
        &self,
        list: ReservationList,
        window: Window,
        req: PageRequest<(i64, Uuid)>,
        want_total: bool,
    ) -> Result<Page<Reservation>> {
        self.interact(move |conn| {
            let room = list.room_id.map(|id| id.to_string());
            if let Some(room) = room.as_ref().filter(|_| list.check_room) {
                if !RoomRow::exists(conn, room)? {
                    return Err(room_not_found(room));
                }
            }
            let filter = ListFilter {
                room_id: room.as_deref(),
                owner: list.owner.as_ref(),
                include_cancelled: list.include_cancelled,
                from: domain::to_micros(window.from),
                to: domain::to_micros(window.to),
            };
            let after = req.after.map(|(s, id)| (s, id.to_string()));
            let before = req.before.map(|(s, id)| (s, id.to_string()));
            let bounds = PageBounds {
                after: after.as_ref().map(|(s, id)| (*s, id.as_str())),
                before: before.as_ref().map(|(s, id)| (*s, id.as_str())),
                backward: req.direction == Direction::Backward,
                limit: req.limit,
            };
            let (mut rows, more) = ReservationRow::page(conn, &filter, &bounds)?;
            let (has_next, has_previous) = match req.direction {
                Direction::Forward => (
                    more,
                    match bounds.after {
                        Some(at) => ReservationRow::any_beyond(conn, &filter, at, false)?,
                        None => false,
                    },
                ),
                Direction::Backward => {
                    rows.reverse();
                    let next = match bounds.before {
                        Some(at) => ReservationRow::any_beyond(conn, &filter, at, true)?,
                        None => false,
                    };
                    (next, more)
                }
            };
            let total = match want_total {
                true => Some(usize::try_from(ReservationRow::count(conn, &filter)?).unwrap_or(0)),
                false => None,
            };
            Ok(Page {
                items: rows
                    .into_iter()
                    .map(reservation_from_row)
                    .collect::<Result<_>>()?,
                has_next,
                has_previous,
                total,
            })
        })
        .await
    }

    /// A forward page (`first`/`after`) of `room`'s CONFIRMED reservations in `window`:
    /// `reservations_page`'s answer for `Room.reservationsConnection`'s common case, by one
    /// prepared statement (plus one for `after`'s previous page, and the count if wanted).
    /// `slots_only`: read each reservation's slot alone (a third of the row).
    pub async fn room_page(
        &self,
        room: &Room,
        window: Window,
        after: Option<(i64, Uuid)>,
        limit: usize,
        slots_only: bool,
        want_total: bool,
    ) -> Result<Page<Held>> {
        let room_id = room.id;
        self.interact(move |conn| {
            let room = room_id.to_string();
            let bounds = (domain::to_micros(window.from), domain::to_micros(window.to));
            let after_id = after.map(|(_, id)| id.to_string());
            let position = match (&after, &after_id) {
                (Some((start, _)), Some(id)) => (*start, id.as_str()),
                _ => (i64::MIN, ""),
            };
            let (items, more) = if slots_only {
                let (rows, more) =
                    ReservationRow::room_page_slots(conn, &room, bounds, position, limit)?;
                let items = rows
                    .into_iter()
                    .map(|row| slot_from_row(room_id, row).map(Held::Slot))
                    .collect::<Result<Vec<_>>>()?;
                (items, more)
            } else {
                let (rows, more) = ReservationRow::room_page(conn, &room, bounds, position, limit)?;
                let items = rows
                    .into_iter()
                    .map(|r| reservation_from_row(r).map(Held::Full))
                    .collect::<Result<Vec<_>>>()?;
                (items, more)
            };
            let filter = ListFilter {
                room_id: Some(&room),
                owner: None,
                include_cancelled: false,
                from: bounds.0,
                to: bounds.1,
            };
            let has_previous = match after {
                Some(_) => ReservationRow::any_beyond(conn, &filter, position, false)?,
                None => false,
            };
            let total = match want_total {
                true => Some(usize::try_from(ReservationRow::count(conn, &filter)?).unwrap_or(0)),
                false => None,
            };
            Ok(Page {
                items,
                has_next: more,
                has_previous,
                total,
            })
        })
        .await
    }

    pub(super) async fn list(
        &self,
        window: Window,
        room_id: Option<Uuid>,
        owner: Option<Owner>,
        include_cancelled: bool,
        max: usize,
        check_room: bool,
    ) -> Result<Vec<Reservation>> {
        self.interact(move |conn| {
            let room = room_id.map(|id| id.to_string());
            if let Some(room) = room.as_ref().filter(|_| check_room) {
                if !RoomRow::exists(conn, room)? {
                    return Err(room_not_found(room));
                }
            }
            let filter = ListFilter {
                room_id: room.as_deref(),
                owner: owner.as_ref(),
                include_cancelled,
                from: domain::to_micros(window.from),
                to: domain::to_micros(window.to),
            };
            let (rows, more) = ReservationRow::list(conn, &filter, max)?;
            refuse_more(more, max)?;
            rows.into_iter().map(reservation_from_row).collect()
        })
        .await
    }

    /// Books `req` for `actor` if its room exists and the slot is free: check and write in one
    /// step; PENDING in an approval room unless `actor` runs it. With `once`, a retry of a
    /// booking that succeeded returns that reservation as it is now (`replayed`), and changes
    /// nothing.
    pub async fn book(
        &self,
        req: BookingRequest,
        actor: Actor,
        once: Option<Once>,
    ) -> Result<Booked> {
        let slot = micros(req.slot);
        let room_id = req.room_id;
        let probe = move |conn: &mut Conn<'_>| {
            Ok(ReservationRow::conflict(
                conn,
                &room_id.to_string(),
                slot.0,
                slot.1,
                None,
            )?)
        };
        let inner = Arc::clone(&self.inner);
        let write = move |conn: &mut Conn<'_>, now: DateTime<Utc>| {
            let at = domain::to_micros(now);
            if let Claimed::Replay(id, _) = claim(conn, once.as_ref(), at)? {
                let (reservation, none) = replayed_reservation(conn, id)?;
                return Ok((
                    Booked {
                        reservation,
                        replayed: true,
                    },
                    none,
                ));
            }
            let rules = lock_room(conn, &inner.rules, room_id)?;
            OnBehalf::check(req.on_behalf.as_ref(), &rules.managers)?;
            admit(conn, &rules, room_id, req.slot, None, now, Probe::AtWrite)?;
            let email = &req.organizer_email;
            check_quotas(conn, &rules, room_id, req.slot, email, None, &[], now)?;
            let booker = Booker {
                title: req.title.as_deref(),
                organizer_name: &req.organizer_name,
                organizer_email: &req.organizer_email,
                owner: req.owner.as_ref(),
            };
            let pending = pending_until(&rules, &actor, req.slot, now);
            let row = new_row(room_id, req.slot, &booker, None, &rules, pending, now);
            guard_overlap(row.insert(conn))?;
            let reservation = reservation_from_row(row)?;
            record(conn, once.as_ref(), reservation.id, None, at)?;
            let event = event(EventKind::Booked, &reservation, None, now);
            let booked = Booked {
                reservation,
                replayed: false,
            };
            Ok((booked, vec![event]))
        };
        let booked = self.guarded(write, probe).await?;
        self.deadline_set(booked.reservation.auto_release_at);
        self.approval_deadline_set(booked.reservation.approval_deadline());
        Ok(booked)
    }

    /// Cancels reservation `id`: its slot is free again.
    pub async fn cancel(&self, id: Uuid, actor: Actor, once: Option<Once>) -> Result<Reservation> {
        let inner = Arc::clone(&self.inner);
        self.write(move |conn, now| {
            let at = domain::to_micros(now);
            if let Claimed::Replay(id, _) = claim(conn, once.as_ref(), at)? {
                return replayed_reservation(conn, id);
            }
            let mut row = find_reservation_for_update(conn, id)?;
            let rules = lock_room(conn, &inner.rules, row.room_id.0)?;
            may_change(&actor, &row, &rules)?;
            check_cancellable(&reservation_from_row(row.clone())?, now)?;
            row.leave_slot(ReservationStatus::Cancelled, None, at);
            row.update(conn)?;
            let reservation = reservation_from_row(row)?;
            record(conn, once.as_ref(), reservation.id, None, at)?;
            let event = event(EventKind::Cancelled, &reservation, None, now);
            Ok((reservation, vec![event]))
        })
        .await
    }

    /// Moves reservation `id` as `req` says, if the new slot obeys every booking rule; the
    /// reservation itself never blocks its new slot.
    pub async fn reschedule(
        &self,
        id: Uuid,
        req: RescheduleRequest,
        actor: Actor,
        once: Option<Once>,
    ) -> Result<Reservation> {
        let req = Arc::new(req);
        let wanted = Arc::clone(&req);
        let clock = self.inner.clock.clone();
        // Only when the database's guard refused: the slot asked for, against what is stored.
        let probe = move |conn: &mut Conn<'_>| {
            let current = reservation_from_row(find_reservation(conn, id)?)?;
            let (room, slot) = wanted.apply(&current, clock.now())?;
            let (start, end) = micros(slot);
            Ok(ReservationRow::conflict(
                conn,
                &room.to_string(),
                start,
                end,
                Some(&id.to_string()),
            )?)
        };
        let write = move |conn: &mut Conn<'_>, now: DateTime<Utc>| {
            let at = domain::to_micros(now);
            if let Claimed::Replay(id, _) = claim(conn, once.as_ref(), at)? {
                return replayed_reservation(conn, id);
            }
            let mut row = find_reservation_for_update(conn, id)?;
            let before = reservation_from_row(row.clone())?;
            let room_id = req.room_id.unwrap_or(before.room_id);
            let room = room_id.to_string();
            let mut locked = lock_rooms(conn, [row.room_id.0, room_id])?;
            let mut rules_of = |wanted: Uuid| {
                locked
                    .iter_mut()
                    .find(|(id, _)| *id == wanted)
                    .and_then(|(_, rules)| rules.take())
            };
            let current = rules_of(row.room_id.0);
            let managers = || {
                current
                    .as_ref()
                    .map(|r| Managers::from_stored(&r.managers))
                    .unwrap_or_default()
            };
            actor.may_change(before.owner.as_ref(), managers, "reservation", before.id)?;
            let (_, slot) = req.apply(&before, now)?;
            let rules = match (room_id == row.room_id.0, rules_of(room_id)) {
                (true, _) => current.clone(),
                (false, other) => other,
            }
            .ok_or_else(|| room_not_found(&room))?;
            let rules = rules_from_row(rules)?;
            admit(
                conn,
                &rules,
                room_id,
                slot,
                Some(&row.id.0.to_string()),
                now,
                Probe::AtWrite,
            )?;
            let moved = row.id.0.to_string();
            let email = row.organizer_email.clone();
            check_quotas(conn, &rules, room_id, slot, &email, Some(&moved), &[], now)?;
            let (start, end) = micros(slot);
            row.room_id = StoredUuid(room_id);
            row.start_at = start;
            row.end_at = end;
            row.updated_at = domain::to_micros(now);
            let waiting = row.approval_deadline.map(instant).transpose()?;
            match (pending_until(&rules, &actor, slot, now), waiting) {
                // Moved by someone who does not run the (new) room: waits again, from now.
                (Some(deadline), _) => row.wait_for_approval(deadline),
                // Moved by a manager while waiting: still waiting, never past its start.
                (None, Some(deadline)) => row.wait_for_approval(deadline.min(slot.start())),
                (None, None) if row.checked_in_at.is_none() => {
                    row.auto_release_at = release_deadline(slot, &rules);
                }
                (None, None) => {}
            }
            guard_overlap(row.update(conn))?;
            let reservation = reservation_from_row(row)?;
            record(conn, once.as_ref(), reservation.id, None, at)?;
            let previous = PreviousSlot {
                start: before.start,
                end: before.end,
                room_id: before.room_id,
            };
            let event = event(EventKind::Rescheduled, &reservation, Some(previous), now);
            Ok((reservation, vec![event]))
        };
        let moved = self.guarded(write, probe).await?;
        self.deadline_set(moved.auto_release_at);
        self.approval_deadline_set(moved.approval_deadline());
        Ok(moved)
    }

    /// Checks reservation `id` in (API.md, "Check-in and release"); checked in already: it is
    /// returned unchanged, with no event.
    pub async fn check_in(&self, id: Uuid, actor: Actor) -> Result<Reservation> {
        let inner = Arc::clone(&self.inner);
        self.write(move |conn, now| {
            let mut row = find_reservation_for_update(conn, id)?;
            let rules = lock_room(conn, &inner.rules, row.room_id.0)?;
            may_change(&actor, &row, &rules)?;
            let current = reservation_from_row(row.clone())?;
            match domain::check_in(&current, rules.policy.check_in_opens_minutes, now)? {
                domain::CheckIn::Already => Ok((current, Vec::new())),
                domain::CheckIn::Now => {
                    let at = domain::to_micros(now);
                    row.checked_in_at = Some(at);
                    row.auto_release_at = None;
                    row.updated_at = at;
                    row.update(conn)?;
                    let reservation = reservation_from_row(row)?;
                    let event = event(EventKind::CheckedIn, &reservation, None, now);
                    Ok((reservation, vec![event]))
                }
            }
        })
        .await
    }

    /// Ends reservation `id` now, while it is in progress: the rest of its slot is free.
    pub async fn check_out(&self, id: Uuid, actor: Actor) -> Result<Reservation> {
        let inner = Arc::clone(&self.inner);
        self.write(move |conn, now| {
            let mut row = find_reservation_for_update(conn, id)?;
            let rules = lock_room(conn, &inner.rules, row.room_id.0)?;
            may_change(&actor, &row, &rules)?;
            domain::check_out(&reservation_from_row(row.clone())?, now)?;
            let at = domain::to_micros(now);
            row.end_at = at;
            row.auto_release_at = None;
            row.updated_at = at;
            row.update(conn)?;
            let reservation = reservation_from_row(row)?;
            let event = event(EventKind::CheckedOut, &reservation, None, now);
            Ok((reservation, vec![event]))
        })
        .await
    }
}

pub(super) fn find_reservation(conn: &mut Conn<'_>, id: Uuid) -> Result<ReservationRow> {
    ReservationRow::find(conn, &id.to_string())?
        .ok_or_else(|| Error::NotFound(format!("no reservation with id {id}")))
}

pub(super) fn find_reservation_for_update(conn: &mut Conn<'_>, id: Uuid) -> Result<ReservationRow> {
    ReservationRow::find_for_update(conn, &id.to_string())?
        .ok_or_else(|| Error::NotFound(format!("no reservation with id {id}")))
}

/// The ownership check (`auth`) on a reservation about to change in the locked room with
/// `rules`, before any rule of the change: a caller who may not change it learns nothing more.
pub(super) fn may_change(actor: &Actor, row: &ReservationRow, rules: &Rules) -> Result<()> {
    let owner = Owner::from_columns(row.owner_subject.clone(), row.owner_issuer.clone());
    actor.may_change(
        owner.as_ref(),
        || rules.managers.clone(),
        "reservation",
        row.id.0,
    )
}

/// What `bookRoom` made: the reservation, and whether it was made before (a retry with the
/// same idempotency key, answered without a change).
#[derive(Clone, Debug)]
pub struct Booked {
    pub reservation: Reservation,
    pub replayed: bool,
}

/// A reservation as a page read it: whole, or only its slot.
#[derive(Clone, Debug)]
// Unboxed on purpose: a listing holds 100 of these, and boxing the full one would cost an
// allocation each on the listing path for a few hundred bytes of stack.
#[allow(clippy::large_enum_variant)]
pub enum Held {
    Full(Reservation),
    Slot(ReservationSlot),
}

/// Which reservations a paged listing selects (the window comes apart).
#[derive(Clone, Debug, Default)]
pub struct ReservationList {
    pub room_id: Option<Uuid>,
    /// Only what this owner booked.
    pub owner: Option<Owner>,
    pub include_cancelled: bool,
    /// An unknown `room_id` is `NOT_FOUND` (else the room is known to exist).
    pub check_room: bool,
}

/// A listing with more than `max` reservations is refused.
fn refuse_more(more: bool, max: usize) -> Result<()> {
    match more {
        false => Ok(()),
        true => Err(too_many(
            "reservations",
            max,
            "ask for a shorter window or one room, or page through reservationsConnection",
        )),
    }
}
