//! The iCalendar feed of a room (`GET /calendar/rooms/{roomId}.ics`, API.md "Calendar feed"):
//! written by the `icalendar` crate, which folds lines at 75 octets, ends them with CRLF and
//! escapes text. Its body depends only on the stored reservations, so its hash is the ETag.

use std::hash::{Hash, Hasher};

use chrono::{DateTime, Duration, Utc};
use icalendar::{Calendar, Component, Event, EventLike, EventStatus, Property};

use crate::domain::{Reservation, ReservationStatus, Room, Window};

/// Reservations ending after this many days ago are in the feed ...
pub const PAST_DAYS: i64 = 30;
/// ... and those starting before this many days ahead.
pub const AHEAD_DAYS: i64 = 366;

/// The reservations a feed made at `now` shows: those overlapping this window.
pub fn window(now: DateTime<Utc>) -> Window {
    Window {
        from: now - Duration::days(PAST_DAYS),
        to: now + Duration::days(AHEAD_DAYS),
    }
}

/// How much of each reservation a caller sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// Title and organizer (members, admins, open mode).
    Full,
    /// `SUMMARY:Busy`, no organizer (anonymous callers in secured mode).
    BusyOnly,
}

/// The feed of `room` with `reservations` (CONFIRMED and PENDING, sorted), as `view` allows. A
/// PENDING one is `STATUS:TENTATIVE` (RFC 5545, 3.8.1.11): it holds the slot, not yet for sure.
pub fn feed(room: &Room, reservations: &[Reservation], view: View) -> String {
    let mut cal = Calendar::empty();
    cal.append_property(Property::new("VERSION", "2.0"));
    cal.append_property(Property::new("PRODID", "-//roombook//roombook//EN"));
    cal.append_property(Property::new("CALSCALE", "GREGORIAN"));
    // An x-property's value is not known to be TEXT unless it says so, and only TEXT is
    // escaped: a room named "Blue, 2nd floor" must not become two values.
    cal.append_property(
        Property::new("X-WR-CALNAME", &room.name)
            .add_parameter("VALUE", "TEXT")
            .done(),
    );
    for r in reservations {
        let mut event = Event::new();
        event
            .uid(&format!("{}@roombook", r.id))
            .starts(r.start)
            .ends(r.end)
            // Without a METHOD, DTSTAMP is when the information last changed (RFC 5545,
            // 3.8.7.2): the feed then depends on the data alone, and so does its ETag.
            .timestamp(r.updated_at)
            .last_modified(r.updated_at);
        if r.status == ReservationStatus::Pending {
            event.status(EventStatus::Tentative);
        }
        match view {
            View::Full => {
                event.summary(r.title.as_deref().unwrap_or("Reserved"));
                event.append_property(
                    Property::new("ORGANIZER", format!("mailto:{}", r.organizer_email))
                        .add_parameter("CN", &param_value(&r.organizer_name))
                        .done(),
                );
            }
            View::BusyOnly => {
                event.summary("Busy");
            }
        }
        cal.push(event.done());
    }
    cal.to_string()
}

/// A parameter value can hold neither a double quote nor a control character (RFC 5545,
/// 3.1: `param-value`); the crate quotes the rest.
fn param_value(text: &str) -> String {
    text.chars()
        .map(|c| if c == '"' { '\'' } else { c })
        .filter(|c| !c.is_control())
        .collect()
}

/// The ETag of a feed's body: a hash of it, quoted. Equal bodies, equal tags, on every
/// replica of one build.
pub fn etag(body: &str) -> String {
    // SipHash with fixed keys: deterministic, unlike a `RandomState`.
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new();
    body.hash(&mut h);
    format!("\"{:016x}\"", h.finish())
}

/// Whether an `If-None-Match` value matches `etag` (weak comparison, RFC 9110 13.1.2).
pub fn none_match(if_none_match: &str, etag: &str) -> bool {
    if_none_match.trim() == "*"
        || if_none_match
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == etag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Features, ReservationStatus, RoomPolicy};
    use uuid::Uuid;

    fn room(name: &str) -> Room {
        Room {
            id: Uuid::nil(),
            name: name.into(),
            capacity: 4,
            created_at: Utc::now(),
            time_zone: chrono_tz::Tz::UTC,
            building: None,
            floor: None,
            features: Features::default(),
            description: None,
            archived: false,
            policy: RoomPolicy::default(),
            managers: crate::domain::Managers::default(),
        }
    }

    fn reservation(title: Option<&str>, organizer: &str) -> Reservation {
        let t = DateTime::parse_from_rfc3339("2030-01-21T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        Reservation {
            id: Uuid::from_u128(7),
            room_id: Uuid::nil(),
            start: t,
            end: t + Duration::minutes(30),
            title: title.map(Into::into),
            organizer_name: organizer.into(),
            organizer_email: "ada@example.com".into(),
            status: ReservationStatus::Confirmed,
            created_at: t - Duration::days(1),
            updated_at: t - Duration::days(1),
            series_id: None,
            checked_in_at: None,
            released_at: None,
            auto_release_at: None,
            owner: None,
            approval: None,
        }
    }

    #[test]
    fn a_pending_reservation_is_tentative_and_a_confirmed_one_is_not() {
        let confirmed = feed(&room("R"), &[reservation(None, "Ada")], View::Full);
        assert!(!confirmed.contains("STATUS:"), "{confirmed}");
        let mut pending = reservation(None, "Ada");
        pending.status = ReservationStatus::Pending;
        let body = feed(&room("R"), &[pending], View::BusyOnly);
        assert!(body.contains("STATUS:TENTATIVE\r\n"), "{body}");
    }

    #[test]
    fn a_feed_has_crlf_lines_of_at_most_75_octets_and_escaped_text() {
        let long =
            "Quarterly planning, budget; review \\ and a very long title ü ü ü ü ü ü ü ü ü ü";
        let body = feed(
            &room("Blue, 2nd floor"),
            &[reservation(Some(long), "Lovelace, \"Ada\"")],
            View::Full,
        );
        assert!(body.ends_with("\r\n"));
        for line in body.split("\r\n") {
            assert!(line.len() <= 75, "{line:?} is {} octets", line.len());
            assert!(!line.contains('\n'), "{line:?}");
        }
        let unfolded = body.replace("\r\n ", "");
        assert!(
            unfolded.contains("X-WR-CALNAME;VALUE=TEXT:Blue\\, 2nd floor\r\n"),
            "{unfolded}"
        );
        assert!(
            unfolded.contains("SUMMARY:Quarterly planning\\, budget\\; review \\\\ and"),
            "{unfolded}"
        );
        assert!(
            unfolded.contains("ORGANIZER;CN=\"Lovelace, 'Ada'\":mailto:ada@example.com"),
            "{unfolded}"
        );
        assert!(unfolded.contains("UID:00000000-0000-0000-0000-000000000007@roombook"));
        assert!(unfolded.contains("DTSTART:20300121T090000Z"), "{unfolded}");
        assert!(unfolded.contains("DTEND:20300121T093000Z"));
        assert!(unfolded.contains("DTSTAMP:20300120T090000Z"));
    }

    #[test]
    fn busy_only_shows_no_title_and_no_organizer() {
        let body = feed(
            &room("R"),
            &[reservation(Some("Secret"), "Ada")],
            View::BusyOnly,
        );
        assert!(body.contains("SUMMARY:Busy"));
        assert!(!body.contains("Secret") && !body.contains("ORGANIZER") && !body.contains("ada@"));
        let untitled = feed(&room("R"), &[reservation(None, "Ada")], View::Full);
        assert!(untitled.contains("SUMMARY:Reserved"));
    }

    #[test]
    fn the_same_data_gives_the_same_etag_and_any_change_another() {
        let r = reservation(Some("A"), "Ada");
        let a = etag(&feed(&room("R"), std::slice::from_ref(&r), View::Full));
        assert_eq!(
            a,
            etag(&feed(&room("R"), std::slice::from_ref(&r), View::Full))
        );
        let moved = Reservation {
            end: r.end + Duration::minutes(1),
            ..r.clone()
        };
        assert_ne!(a, etag(&feed(&room("R"), &[moved], View::Full)));
        assert_ne!(a, etag(&feed(&room("R"), &[r], View::BusyOnly)));
        assert!(none_match(&a, &a));
        assert!(none_match(&format!("\"x\", W/{a}"), &a));
        assert!(none_match("*", &a));
        assert!(!none_match("\"other\"", &a));
    }
}
