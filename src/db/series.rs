//! Recurring series: booking one, cancelling it, reading it and its occurrences.

use super::*;

impl Db {
    /// Books every occurrence of the series `req` describes, in one transaction: each one is
    /// checked against every booking rule and policy as if booked alone (an index probe
    /// each). A refused one fails the whole series (`SERIES_CONFLICT`, listing every refused
    /// occurrence) or, with `ConflictMode::Skip`, is reported and left out. One BOOKED event
    /// per occurrence, in start order. In an approval room each is PENDING unless `actor` runs
    /// it. With `once`, a retry of a series that was booked returns it as it is now.
    pub async fn book_series(
        &self,
        req: SeriesRequest,
        actor: Actor,
        once: Option<Once>,
    ) -> Result<SeriesBooking> {
        let inner = Arc::clone(&self.inner);
        let booking = self
            .write(move |conn, now| {
                let at = domain::to_micros(now);
                if let Claimed::Replay(id, detail) = claim(conn, once.as_ref(), at)? {
                    return Ok((replayed_series(conn, id, detail)?, Vec::new()));
                }
                let room_id = req.room_id;
                let rules = lock_room(conn, &inner.rules, room_id)?;
                OnBehalf::check(req.on_behalf.as_ref(), &rules.managers)?;
                if rules.archived {
                    return Err(Error::RoomArchived(room_id));
                }
                let slots = req.recurrence.expand(req.first, rules.tz)?;
                domain::check_spacing(&slots, rules.policy.buffer_minutes)?;
                let near = near_slots(conn, room_id, &slots, buffer_micros(&rules.policy))?;
                let mut accepted = Vec::with_capacity(slots.len());
                let mut refused = Vec::new();
                for (i, &slot) in slots.iter().enumerate() {
                    let verdict = Slot::bookable(slot.start(), slot.end(), now)
                        .and_then(|_| {
                            if near.as_ref().is_some_and(|near| !near.contains(&i)) {
                                // Nothing within the buffer, so no overlap either: the policy
                                // decides.
                                rules.policy.check(slot, now, rules.tz)
                            } else {
                                admit(conn, &rules, room_id, slot, None, now, Probe::Now)
                            }
                        })
                        .and_then(|_| {
                            // Quotas count the occurrences accepted so far.
                            let email = &req.organizer_email;
                            check_quotas(conn, &rules, room_id, slot, email, None, &accepted, now)
                        });
                    match verdict {
                        Ok(()) => accepted.push(slot),
                        Err(e) => match OccurrenceConflict::of(slot, &e) {
                            Some(conflict) => refused.push(conflict),
                            None => return Err(e),
                        },
                    }
                }
                if accepted.is_empty()
                    || (!refused.is_empty() && req.on_conflict == ConflictMode::Fail)
                {
                    return Err(Error::SeriesConflict {
                        total: slots.len(),
                        conflicts: refused,
                    });
                }
                let first_day =
                    domain::Weekday::of(req.first.start().with_timezone(&rules.tz).date_naive());
                let series = SeriesRow {
                    id: StoredUuid(new_id()),
                    room_id: StoredUuid(room_id),
                    rrule: req.recurrence.rrule(first_day),
                    time_zone: rules.tz.name().to_owned(),
                    first_start: domain::to_micros(req.first.start()),
                    title: req.title.clone(),
                    organizer_name: req.organizer_name.clone(),
                    organizer_email: req.organizer_email.clone(),
                    created_at: at,
                    owner_subject: req.owner.as_ref().map(|o| o.subject.clone()),
                    owner_issuer: req.owner.as_ref().map(|o| o.issuer.clone()),
                };
                series.insert(conn)?;
                let booker = Booker {
                    title: req.title.as_deref(),
                    organizer_name: &req.organizer_name,
                    organizer_email: &req.organizer_email,
                    owner: req.owner.as_ref(),
                };
                let rows: Vec<ReservationRow> = accepted
                    .iter()
                    .map(|&slot| {
                        let pending = pending_until(&rules, &actor, slot, now);
                        new_row(
                            room_id,
                            slot,
                            &booker,
                            Some(series.id),
                            &rules,
                            pending,
                            now,
                        )
                    })
                    .collect();
                // Large series in chunks: SQLite binds at most 32,766 values per statement.
                for chunk in rows.chunks(500) {
                    ReservationRow::insert_many(conn, chunk)?;
                }
                let occurrences = rows
                    .into_iter()
                    .map(reservation_from_row)
                    .collect::<Result<Vec<_>>>()?;
                let events = occurrences
                    .iter()
                    .map(|r| event(EventKind::Booked, r, None, now))
                    .collect();
                record(
                    conn,
                    once.as_ref(),
                    series.id.0,
                    skipped_detail(&refused)?,
                    at,
                )?;
                let booking = SeriesBooking {
                    series: series_from_row(series)?,
                    occurrences,
                    skipped: refused,
                };
                Ok((booking, events))
            })
            .await?;
        let first = booking
            .occurrences
            .iter()
            .filter_map(|r| r.auto_release_at)
            .min();
        self.deadline_set(first);
        let waiting = booking
            .occurrences
            .iter()
            .filter_map(Reservation::approval_deadline)
            .min();
        self.approval_deadline_set(waiting);
        Ok(booking)
    }

    /// Cancels every CONFIRMED occurrence of series `id` starting at or after `from` (now if
    /// omitted or earlier: occurrences already started are kept), in one transaction, with a
    /// CANCELLED event each in start order.
    pub async fn cancel_series(
        &self,
        id: Uuid,
        from: Option<DateTime<Utc>>,
        actor: Actor,
    ) -> Result<Series> {
        self.write(move |conn, now| {
            let key = id.to_string();
            let series = SeriesRow::find(conn, &key)?.ok_or_else(|| series_not_found(id))?;
            let owner =
                Owner::from_columns(series.owner_subject.clone(), series.owner_issuer.clone());
            let managers = || {
                RoomRow::find(conn, &series.room_id.0.to_string())
                    .ok()
                    .flatten()
                    .map(|room| Managers::from_stored(&room.rules.managers))
                    .unwrap_or_default()
            };
            actor.may_change(owner.as_ref(), managers, "series", id)?;
            let from = from.map_or(now, |f| f.max(now));
            let mut rows =
                ReservationRow::lock_of_series_from(conn, &key, domain::to_micros(from))?;
            lock_rooms(conn, rows.iter().map(|r| r.room_id.0))?;
            let at = domain::to_micros(now);
            let ids: Vec<String> = rows.iter().map(|r| r.id.0.to_string()).collect();
            for chunk in ids.chunks(500) {
                ReservationRow::set_status(
                    conn,
                    chunk,
                    StoredStatus(ReservationStatus::Cancelled),
                    at,
                )?;
            }
            let mut events = Vec::with_capacity(rows.len());
            for mut row in rows.drain(..) {
                row.leave_slot(ReservationStatus::Cancelled, None, at);
                let reservation = reservation_from_row(row)?;
                events.push(event(EventKind::Cancelled, &reservation, None, now));
            }
            Ok((series_from_row(series)?, events))
        })
        .await
    }

    /// Series `id`, if there is one.
    pub async fn series(&self, id: Uuid) -> Result<Option<Series>> {
        self.interact(move |conn| {
            SeriesRow::find(conn, &id.to_string())?
                .map(series_from_row)
                .transpose()
        })
        .await
    }

    /// The series among `ids` that exist.
    pub async fn series_by_id(&self, ids: Vec<Uuid>) -> Result<HashMap<Uuid, Series>> {
        self.interact(move |conn| {
            let keys: Vec<String> = ids.iter().map(Uuid::to_string).collect();
            SeriesRow::find_many(conn, &keys)?
                .into_iter()
                .map(|row| series_from_row(row).map(|s| (s.id, s)))
                .collect()
        })
        .await
    }

    /// The occurrences of series `id`, by start: CONFIRMED ones, or every one.
    pub async fn series_occurrences(
        &self,
        id: Uuid,
        include_cancelled: bool,
    ) -> Result<Vec<Reservation>> {
        self.interact(move |conn| {
            let statuses: &[&str] = if include_cancelled {
                &STATUSES
            } else {
                &[CONFIRMED]
            };
            ReservationRow::of_series(conn, &id.to_string(), statuses)?
                .into_iter()
                .map(reservation_from_row)
                .collect()
        })
        .await
    }
}

pub(super) fn series_not_found(id: Uuid) -> Error {
    Error::NotFound(format!("no series with id {id}"))
}
