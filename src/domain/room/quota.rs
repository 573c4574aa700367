//! Quotas (API.md "Quotas"): how much of one room one person may hold, per ISO week of the
//! room's time zone and in reservations that have not ended.

use super::*;

/// The ISO weeks (Monday 00:00 to the next Monday 00:00, local time in `tz`) that `slot`
/// touches, as UTC intervals, in order.
pub fn iso_weeks(slot: Slot, tz: Tz) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let monday_of =
        |day: NaiveDate| day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
    let midnight = |day: NaiveDate| {
        earliest_at_or_after(tz, day.and_time(NaiveTime::MIN))
            .unwrap_or_else(|| day.and_time(NaiveTime::MIN).and_utc())
    };
    let mut monday = monday_of(slot.start().with_timezone(&tz).date_naive());
    let mut weeks = Vec::new();
    loop {
        let next = monday + Duration::days(7);
        let (from, to) = (midnight(monday), midnight(next));
        if from >= slot.end() {
            break;
        }
        weeks.push((from, to));
        monday = next;
    }
    weeks
}

/// The part of `[start, end)` inside `[from, to)`.
fn overlap(
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> Duration {
    (end.min(to) - start.max(from)).max(Duration::zero())
}

impl RoomPolicy {
    /// Whether this policy has a quota (and bookings need the person's reservations).
    pub fn has_quota(&self) -> bool {
        self.max_hours_per_person_per_week.is_some()
            || self.max_active_reservations_per_person.is_some()
    }

    /// What of `free` (a room's free slots, sorted) a person holding `held` and `active` there
    /// may still book at least `min_len` of (`Room.freeSlots` for its caller): nothing once
    /// `active` is at its limit; without the ISO weeks in which less than `min_len` of their
    /// weekly hours is left. Pieces shorter than `min_len` are dropped.
    pub fn within_quotas(
        &self,
        free: Vec<Slot>,
        tz: Tz,
        held: &[(DateTime<Utc>, DateTime<Utc>)],
        active: usize,
        min_len: Duration,
    ) -> Vec<Slot> {
        if let Some(max) = self.max_active_reservations_per_person {
            if active >= usize::try_from(max).unwrap_or(0) {
                return Vec::new();
            }
        }
        let Some(max) = self.max_hours_per_person_per_week else {
            return free;
        };
        let (Some(first), Some(last)) = (free.first(), free.last()) else {
            return free;
        };
        let Ok(span) = Slot::new(first.start(), last.end()) else {
            return free;
        };
        let limit = Duration::hours(i64::from(max));
        let full: Vec<(DateTime<Utc>, DateTime<Utc>)> = iso_weeks(span, tz)
            .into_iter()
            .filter(|&week| {
                let booked: Duration = held.iter().map(|&h| overlap(h, week)).sum();
                limit - booked < min_len.max(Duration::minutes(1))
            })
            .collect();
        let mut out = Vec::new();
        for slot in free {
            let mut cursor = slot.start();
            for &(from, to) in &full {
                if to <= cursor || from >= slot.end() {
                    continue;
                }
                if from > cursor {
                    out.extend(Slot::new(cursor, from).ok());
                }
                cursor = cursor.max(to);
            }
            if cursor < slot.end() {
                out.extend(Slot::new(cursor, slot.end()).ok());
            }
        }
        out.retain(|s| s.end() - s.start() >= min_len);
        out
    }

    /// The quotas for a new `slot` of a person who already holds `held` (start, end) in the
    /// room, every one that touches a week of `slot`, and `active` reservations there that
    /// have not ended (CONFIRMED and PENDING, the one being moved left out): `QUOTA_HOURS`,
    /// then `QUOTA_ACTIVE`.
    pub fn check_quotas(
        &self,
        slot: Slot,
        tz: Tz,
        held: &[(DateTime<Utc>, DateTime<Utc>)],
        active: usize,
    ) -> Result<()> {
        if let Some(max) = self.max_hours_per_person_per_week {
            let limit = Duration::hours(i64::from(max));
            for week in iso_weeks(slot, tz) {
                let booked: Duration = held.iter().map(|&h| overlap(h, week)).sum();
                let wanted = overlap((slot.start(), slot.end()), week);
                if booked + wanted > limit {
                    let monday = week.0.with_timezone(&tz).date_naive();
                    return Err(violation(
                        PolicyRule::QuotaHours,
                        format!(
                            "one person may hold this room {max} hours per week; in the week of \
                             {monday} you hold {} minutes already, and this slot adds {}",
                            booked.num_minutes(),
                            wanted.num_minutes()
                        ),
                    ));
                }
            }
        }
        if let Some(max) = self.max_active_reservations_per_person {
            if active >= usize::try_from(max).unwrap_or(0) {
                return Err(violation(
                    PolicyRule::QuotaActive,
                    format!(
                        "one person may hold at most {max} reservations of this room that have \
                         not ended; you hold {active}: cancel one, or book after one has ended"
                    ),
                ));
            }
        }
        Ok(())
    }
}
