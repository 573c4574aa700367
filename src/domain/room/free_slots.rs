//! The free slots a room's reservations and rules leave on a day.

use super::*;

/// What `Room.freeSlots` computes from.
pub struct FreeSlotsQuery<'a> {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub now: DateTime<Utc>,
    pub policy: &'a RoomPolicy,
    pub tz: Tz,
    /// The room's CONFIRMED reservations reaching into `[from - buffer, to + buffer)`.
    pub busy: &'a [Slot],
    pub min_minutes: i64,
}

/// The maximal intervals inside `[from, to)` in which a booking satisfies every rule of the
/// room, at least `min_minutes` (and the policy's minimum) long, sorted by start: a booking of
/// an allowed length inside one of them succeeds. Opening intervals are not joined even when
/// they touch, since a booking may not span two.
pub fn free_slots(q: &FreeSlotsQuery<'_>) -> Vec<Slot> {
    let start = q.from.max(q.now);
    let end = match q.policy.horizon(q.now) {
        Some(h) => q.to.min(h),
        None => q.to,
    };
    if start >= end {
        return Vec::new();
    }
    let open: Vec<Slot> = match &q.policy.opening_hours {
        None => Slot::new(start, end).into_iter().collect(),
        Some(hours) => {
            let first = start.with_timezone(&q.tz).date_naive();
            let last = end.with_timezone(&q.tz).date_naive();
            let mut out = Vec::new();
            let mut day = first.pred_opt().unwrap_or(first);
            while day <= last {
                out.extend(
                    opening_intervals(hours, day, q.tz)
                        .into_iter()
                        .filter_map(|s| Slot::new(s.start().max(start), s.end().min(end)).ok()),
                );
                match day.succ_opt() {
                    Some(next) => day = next,
                    None => break,
                }
            }
            out
        }
    };
    let buffer = q.policy.buffer();
    let min_len = Duration::minutes(
        q.min_minutes
            .max(q.policy.min_duration_minutes.map_or(0, i64::from))
            .max(0),
    );
    let mut blocked: Vec<(DateTime<Utc>, DateTime<Utc>)> = q
        .busy
        .iter()
        .map(|b| (b.start() - buffer, b.end() + buffer))
        .collect();
    blocked.sort();
    let mut out = Vec::new();
    for interval in open {
        let mut cursor = interval.start();
        for &(b_start, b_end) in &blocked {
            if b_end <= cursor {
                continue;
            }
            if b_start >= interval.end() {
                break;
            }
            if b_start > cursor {
                out.extend(Slot::new(cursor, b_start).ok());
            }
            cursor = cursor.max(b_end);
        }
        if cursor < interval.end() {
            out.extend(Slot::new(cursor, interval.end()).ok());
        }
    }
    out.retain(|s| s.end() - s.start() >= min_len);
    out.sort_by_key(|s| (s.start(), s.end()));
    out
}
