//! Approval (API.md "Room managers and approval"): approving and declining reservations and
//! series, the managers' list of what waits for them, and expiry at the approval deadline.
//! Creating a PENDING reservation is booking's (`rows::pending_until`).

use super::reservations::find_reservation_for_update;
use super::*;

/// A manager's decision on a PENDING reservation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Approve,
    /// With the reason kept (validated: `domain::decision_reason`).
    Decline(Option<String>),
}

impl Decision {
    /// What `row` (PENDING, locked, in a room with `rules`) becomes at `now`, and its event.
    fn apply(
        &self,
        row: &mut ReservationRow,
        rules: &Rules,
        now: DateTime<Utc>,
    ) -> Result<EventKind> {
        let at = domain::to_micros(now);
        match self {
            Decision::Approve => {
                row.approval = Some(Approval::Approved.as_str().to_owned());
                row.approval_deadline = None;
                row.decided_at = Some(at);
                row.updated_at = at;
                // Its check-in deadline counts from approval, by the room's rules now.
                row.auto_release_at = release_deadline(slot_of((row.start_at, row.end_at))?, rules);
                Ok(EventKind::Approved)
            }
            Decision::Decline(reason) => {
                row.leave_slot(ReservationStatus::Cancelled, Some(Approval::Declined), at);
                row.decision_reason = reason.clone();
                Ok(EventKind::Declined)
            }
        }
    }

    fn what(&self) -> &'static str {
        match self {
            Decision::Approve => "approving reservations",
            Decision::Decline(_) => "declining reservations",
        }
    }
}

impl Db {
    /// Approves or declines PENDING reservation `id` as a manager of its room (`actor`):
    /// `FORBIDDEN` for anyone else, `NOT_PENDING` unless it is PENDING with its deadline still
    /// ahead. Locked like every change of a reservation, so a racing expiry or decision leaves
    /// one winner.
    pub async fn decide(&self, id: Uuid, decision: Decision, actor: Actor) -> Result<Reservation> {
        let inner = Arc::clone(&self.inner);
        let decided = self
            .write(move |conn, now| {
                let mut row = find_reservation_for_update(conn, id)?;
                let rules = lock_room(conn, &inner.rules, row.room_id.0)?;
                actor.refuse_unless_manager(&rules.managers, decision.what())?;
                domain::check_pending(&reservation_from_row(row.clone())?, now)?;
                let kind = decision.apply(&mut row, &rules, now)?;
                row.update(conn)?;
                let reservation = reservation_from_row(row)?;
                let event = event(kind, &reservation, None, now);
                Ok((reservation, vec![event]))
            })
            .await?;
        self.deadline_set(decided.auto_release_at);
        Ok(decided)
    }

    /// Approves or declines every PENDING occurrence of series `id` at once, in one
    /// transaction (an event each, in start order), as a manager of its room: `NOT_PENDING`
    /// if none is.
    pub async fn decide_series(
        &self,
        id: Uuid,
        decision: Decision,
        actor: Actor,
    ) -> Result<Series> {
        let inner = Arc::clone(&self.inner);
        let (series, first) = self
            .write(move |conn, now| {
                let key = id.to_string();
                let series = SeriesRow::find(conn, &key)?
                    .ok_or_else(|| super::series::series_not_found(id))?;
                let mut rows = ReservationRow::lock_waiting_of_series(conn, &key)?;
                let rules = lock_room(conn, &inner.rules, series.room_id.0)?;
                actor.refuse_unless_manager(&rules.managers, decision.what())?;
                let at = domain::to_micros(now);
                // Past its deadline, an occurrence is EXPIRED however late the job runs.
                rows.retain(|r| r.approval_deadline.is_some_and(|d| d > at));
                if rows.is_empty() {
                    return Err(Error::NotPending(format!(
                        "series {id} has no PENDING occurrence: nothing waits for approval"
                    )));
                }
                let mut events = Vec::with_capacity(rows.len());
                let mut first = None::<DateTime<Utc>>;
                for mut row in rows {
                    let kind = decision.apply(&mut row, &rules, now)?;
                    row.update(conn)?;
                    let reservation = reservation_from_row(row)?;
                    first = first
                        .min(reservation.auto_release_at)
                        .or(reservation.auto_release_at);
                    events.push(event(kind, &reservation, None, now));
                }
                Ok(((series_from_row(series)?, first), events))
            })
            .await?;
        self.deadline_set(first);
        Ok(series)
    }

    /// The PENDING reservations `actor` may decide on (of `room`, if given: `NOT_FOUND` if it
    /// does not exist, `FORBIDDEN` if they do not manage it), by approval deadline; more than
    /// `max` is refused. Those past their deadline are left out: they are EXPIRED, whether
    /// or not the job has run yet.
    pub async fn pending_approvals(
        &self,
        actor: Actor,
        room: Option<Uuid>,
        max: usize,
    ) -> Result<Vec<Reservation>> {
        let now = domain::to_micros(self.now());
        self.interact(move |conn| {
            let room = room.map(|r| r.to_string());
            if let Some(room) = &room {
                let row = RoomRow::find(conn, room)?.ok_or_else(|| room_not_found(room))?;
                let managers = Managers::from_stored(&row.rules.managers);
                actor.refuse_unless_manager(&managers, "pendingApprovals of a room")?;
            }
            // Read whole, then kept by the caller's rooms: PENDING reservations are few (each
            // waits at most a week), and every one of them is in the partial index read.
            let (rows, _) = ReservationRow::waiting_in(conn, room.as_deref(), usize::MAX)?;
            let mut managed: HashMap<Uuid, bool> = HashMap::new();
            let mut kept = Vec::new();
            for row in rows {
                if row.approval_deadline.is_none_or(|d| d <= now) {
                    continue;
                }
                let room_id = row.room_id.0;
                let manages = match managed.get(&room_id) {
                    Some(m) => *m,
                    None => {
                        let managers = RoomRow::find(conn, &room_id.to_string())?
                            .map(|r| Managers::from_stored(&r.rules.managers))
                            .unwrap_or_default();
                        let m = actor.manages(&managers);
                        managed.insert(room_id, m);
                        m
                    }
                };
                if manages {
                    if kept.len() == max {
                        return Err(too_many(
                            "reservations",
                            max,
                            "decide on some first, or ask for one room with `roomId`",
                        ));
                    }
                    kept.push(reservation_from_row(row)?);
                }
            }
            Ok(kept)
        })
        .await
    }

    /// Expires up to `limit` PENDING reservations whose approval deadline has passed, in one
    /// transaction: each by a conditional update, so a racing decision, or another replica
    /// expiring too, leaves it as that one made it, and only the writer whose update changed
    /// the row publishes `EXPIRED`. Returns how many were due (expired or not).
    pub async fn expire_due(&self, limit: i64) -> Result<usize> {
        self.write(move |conn, now| {
            let at = domain::to_micros(now);
            let due = ReservationRow::lock_approval_due(conn, at, limit)?;
            lock_rooms(conn, due.iter().map(|r| r.room_id.0))?;
            let mut events = Vec::new();
            for row in &due {
                if ReservationRow::expire(conn, &row.id.0.to_string(), at)? {
                    let mut expired = row.clone();
                    expired.leave_slot(ReservationStatus::Cancelled, Some(Approval::Expired), at);
                    let reservation = reservation_from_row(expired)?;
                    events.push(event(EventKind::Expired, &reservation, None, now));
                }
            }
            Ok((due.len(), events))
        })
        .await
    }

    /// The earliest approval deadline still ahead of a PENDING reservation, if any; the expiry
    /// task sleeps until then (or until `expiry_deadline_moved` wakes it).
    pub async fn next_expiry(&self) -> Result<Option<DateTime<Utc>>> {
        let next = self
            .interact(|conn| Ok(ReservationRow::next_expiry(conn)?))
            .await?;
        self.inner.expiry_wake.sleeps_until(next);
        next.map(instant).transpose()
    }

    /// Resolves when a write set an approval deadline earlier than the one the expiry task
    /// sleeps for.
    pub async fn expiry_deadline_moved(&self) {
        self.inner.expiry_wake.moved().await;
    }

    /// A write made a reservation PENDING until `at`: wakes the expiry task if that is sooner
    /// than what it sleeps for.
    pub(super) fn approval_deadline_set(&self, at: Option<DateTime<Utc>>) {
        self.inner.expiry_wake.set(at);
    }
}
