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
