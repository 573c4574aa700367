//! Unit tests of rooms' rules.

use super::*;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn slot(a: &str, b: &str) -> Slot {
    Slot::new(t(a), t(b)).unwrap()
}

fn lt(s: &str) -> LocalTime {
    LocalTime::parse(s).unwrap()
}

fn weekdays(opens: &str, closes: &str) -> Vec<OpeningHours> {
    [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
    ]
    .into_iter()
    .map(|weekday| OpeningHours {
        weekday,
        opens: lt(opens),
        closes: lt(closes),
    })
    .collect()
}

fn berlin() -> Tz {
    parse_time_zone("Europe/Berlin").unwrap()
}

fn policy_code(r: Result<()>) -> Option<&'static str> {
    match r {
        Err(Error::PolicyViolation { policy, .. }) => Some(policy.as_str()),
        Err(e) => panic!("not a policy violation: {e:?}"),
        Ok(()) => None,
    }
}

const NOW: &str = "2030-01-01T00:00:00Z";

#[test]
fn local_times_are_hh_mm_up_to_24_00() {
    assert_eq!(lt("00:00").minutes(), 0);
    assert_eq!(lt("08:30").minutes(), 510);
    assert_eq!(lt("24:00"), LocalTime::MIDNIGHT_END);
    for bad in [
        "8:00", "24:01", "12:60", "25:00", "12-00", "", "12:0a", "+1:00",
    ] {
        assert!(LocalTime::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(lt("07:05").to_string(), "07:05");
}

#[test]
fn opening_hours_are_stored_as_text_and_read_back() {
    let mut hours = weekdays("08:00", "12:00");
    hours.push(OpeningHours {
        weekday: Weekday::Sunday,
        opens: lt("00:00"),
        closes: LocalTime::MIDNIGHT_END,
    });
    let stored = OpeningHours::to_stored(&hours);
    assert!(stored.starts_with("MONDAY 08:00-12:00,TUESDAY"), "{stored}");
    assert!(stored.ends_with("SUNDAY 00:00-24:00"), "{stored}");
    assert_eq!(OpeningHours::from_stored(&stored), Some(hours));
    assert_eq!(OpeningHours::from_stored(""), Some(Vec::new()));
    for bad in [
        "MONDAY",
        "MONDAY 8-9",
        "FUNDAY 08:00-09:00",
        "MONDAY 08:00-09:00,",
    ] {
        assert_eq!(OpeningHours::from_stored(bad), None, "{bad}");
    }
}

#[test]
fn unknown_time_zones_are_refused() {
    assert!(parse_time_zone("Europe/Berlin").is_ok());
    assert!(parse_time_zone("UTC").is_ok());
    let e = parse_time_zone("Mars/Olympus").unwrap_err();
    assert_eq!(e.code(), "BAD_USER_INPUT");
}

#[test]
fn features_are_trimmed_lower_cased_sorted_and_deduplicated() {
    let f = Features::parse(&["Projector ", "display", "projector", "video-conf"]).unwrap();
    assert_eq!(f.names(), ["display", "projector", "video-conf"]);
    assert_eq!(Features::from_stored(&f.to_stored()), f);
    assert_eq!(Features::from_stored(""), Features::default());
    for bad in ["", " ", "white board", "café", "a,b", &"x".repeat(51)] {
        assert!(Features::parse(&[bad]).is_err(), "{bad:?}");
    }
    let many: Vec<String> = (0..51).map(|i| format!("f{i}")).collect();
    assert!(Features::parse(&many).is_err());
    assert!(Features::parse(&many[..50]).is_ok());
}

#[test]
fn policy_limits_are_enforced() {
    let ok = RoomPolicy::default();
    assert!(ok.clone().validate().is_ok());
    let cases = [
        RoomPolicy {
            min_duration_minutes: Some(0),
            ..ok.clone()
        },
        RoomPolicy {
            max_duration_minutes: Some(10081),
            ..ok.clone()
        },
        RoomPolicy {
            min_duration_minutes: Some(60),
            max_duration_minutes: Some(30),
            ..ok.clone()
        },
        RoomPolicy {
            buffer_minutes: 241,
            ..ok.clone()
        },
        RoomPolicy {
            buffer_minutes: -1,
            ..ok.clone()
        },
        RoomPolicy {
            booking_horizon_days: Some(3651),
            ..ok.clone()
        },
        RoomPolicy {
            check_in_opens_minutes: 121,
            ..ok.clone()
        },
        RoomPolicy {
            auto_release_minutes: 0,
            ..ok.clone()
        },
        RoomPolicy {
            opening_hours: Some(weekdays("18:00", "08:00")),
            ..ok.clone()
        },
        RoomPolicy {
            opening_hours: Some(weekdays("08:00", "08:00")),
            ..ok.clone()
        },
        RoomPolicy {
            opening_hours: Some((0..29).flat_map(|_| weekdays("08:00", "09:00")).collect()),
            ..ok.clone()
        },
    ];
    for p in cases {
        let e = p.clone().validate().unwrap_err();
        assert_eq!(e.code(), "BAD_USER_INPUT", "{p:?}");
    }
}

#[test]
fn durations_are_checked_before_the_horizon_and_opening_hours() {
    let p = RoomPolicy {
        min_duration_minutes: Some(30),
        max_duration_minutes: Some(120),
        booking_horizon_days: Some(7),
        opening_hours: Some(weekdays("08:00", "18:00")),
        ..RoomPolicy::default()
    };
    let tz = berlin();
    let now = t(NOW);
    // 2030-01-07 is a Monday; Berlin is UTC+1 in winter.
    let check = |a, b| policy_code(p.check(slot(a, b), now, tz));
    assert_eq!(
        check("2030-01-07T09:00:00Z", "2030-01-07T09:29:00Z"),
        Some("MIN_DURATION")
    );
    assert_eq!(check("2030-01-07T09:00:00Z", "2030-01-07T09:30:00Z"), None);
    assert_eq!(check("2030-01-07T09:00:00Z", "2030-01-07T11:00:00Z"), None);
    assert_eq!(
        check("2030-01-07T09:00:00Z", "2030-01-07T11:00:01Z"),
        Some("MAX_DURATION")
    );
    // A too-short slot far ahead and at night is refused for its length first.
    assert_eq!(
        check("2030-03-01T02:00:00Z", "2030-03-01T02:10:00Z"),
        Some("MIN_DURATION")
    );
    assert_eq!(
        check("2030-01-09T09:00:00Z", "2030-01-09T10:00:00Z"),
        Some("BOOKING_HORIZON")
    );
    // Exactly at the horizon is fine.
    let p2 = RoomPolicy {
        booking_horizon_days: Some(1),
        ..RoomPolicy::default()
    };
    assert!(p2
        .check(
            slot("2030-01-02T00:00:00Z", "2030-01-02T01:00:00Z"),
            now,
            tz
        )
        .is_ok());
    assert_eq!(
        policy_code(p2.check(
            slot("2030-01-02T00:00:00.000001Z", "2030-01-02T01:00:00Z"),
            now,
            tz
        )),
        Some("BOOKING_HORIZON")
    );
}

#[test]
fn opening_hours_follow_the_rooms_local_time_across_dst() {
    let p = RoomPolicy {
        opening_hours: Some(weekdays("08:00", "18:00")),
        ..RoomPolicy::default()
    };
    let tz = berlin();
    let now = t(NOW);
    let check = |a, b| policy_code(p.check(slot(a, b), now, tz));
    // Winter (UTC+1): open 07:00Z-17:00Z.
    assert_eq!(check("2030-01-07T07:00:00Z", "2030-01-07T17:00:00Z"), None);
    assert_eq!(
        check("2030-01-07T06:59:00Z", "2030-01-07T08:00:00Z"),
        Some("OPENING_HOURS")
    );
    assert_eq!(
        check("2030-01-07T16:00:00Z", "2030-01-07T17:01:00Z"),
        Some("OPENING_HOURS")
    );
    // Summer (UTC+2): open 06:00Z-16:00Z.
    assert_eq!(check("2030-07-01T06:00:00Z", "2030-07-01T16:00:00Z"), None);
    assert_eq!(
        check("2030-07-01T16:00:00Z", "2030-07-01T16:30:00Z"),
        Some("OPENING_HOURS")
    );
    // A Saturday is closed.
    assert_eq!(
        check("2030-01-05T09:00:00Z", "2030-01-05T10:00:00Z"),
        Some("OPENING_HOURS")
    );
}

#[test]
fn a_slot_must_lie_in_one_interval_of_one_day() {
    let mut hours = weekdays("08:00", "12:00");
    hours.extend(weekdays("13:00", "18:00"));
    hours.push(OpeningHours {
        weekday: Weekday::Saturday,
        opens: lt("20:00"),
        closes: LocalTime::MIDNIGHT_END,
    });
    hours.push(OpeningHours {
        weekday: Weekday::Sunday,
        opens: lt("00:00"),
        closes: lt("02:00"),
    });
    let p = RoomPolicy {
        opening_hours: Some(hours),
        ..RoomPolicy::default()
    };
    let tz = parse_time_zone("UTC").unwrap();
    let now = t(NOW);
    let check = |a, b| policy_code(p.check(slot(a, b), now, tz));
    assert_eq!(check("2030-01-07T08:00:00Z", "2030-01-07T12:00:00Z"), None);
    // Across the lunch break.
    assert_eq!(
        check("2030-01-07T11:00:00Z", "2030-01-07T13:30:00Z"),
        Some("OPENING_HOURS")
    );
    assert_eq!(
        check("2030-01-07T12:00:00Z", "2030-01-07T13:00:00Z"),
        Some("OPENING_HOURS")
    );
    // Until midnight with "24:00".
    assert_eq!(check("2030-01-05T22:00:00Z", "2030-01-06T00:00:00Z"), None);
    // Saturday night into Sunday morning spans two days' intervals.
    assert_eq!(
        check("2030-01-05T23:00:00Z", "2030-01-06T01:00:00Z"),
        Some("OPENING_HOURS")
    );
    assert_eq!(check("2030-01-06T00:00:00Z", "2030-01-06T02:00:00Z"), None);
}

#[test]
fn local_times_in_a_dst_gap_or_overlap_map_to_one_instant() {
    let tz = berlin();
    // 2030-03-31: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist.
    let spring = NaiveDate::from_ymd_opt(2030, 3, 31).unwrap();
    assert_eq!(
        local_instant(tz, spring, lt("02:30")),
        Some(t("2030-03-31T01:00:00Z"))
    );
    assert_eq!(
        local_instant(tz, spring, lt("08:00")),
        Some(t("2030-03-31T06:00:00Z"))
    );
    // 2030-10-27: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
    let autumn = NaiveDate::from_ymd_opt(2030, 10, 27).unwrap();
    assert_eq!(
        local_instant(tz, autumn, lt("02:30")),
        Some(t("2030-10-27T00:30:00Z"))
    );
    assert_eq!(
        local_instant(tz, autumn, LocalTime::MIDNIGHT_END),
        Some(t("2030-10-27T23:00:00Z"))
    );
    // The spring day is 23 hours long, the autumn one 25.
    let p = RoomPolicy {
        opening_hours: Some(vec![OpeningHours {
            weekday: Weekday::Sunday,
            opens: lt("00:00"),
            closes: LocalTime::MIDNIGHT_END,
        }]),
        ..RoomPolicy::default()
    };
    let now = t(NOW);
    assert!(p
        .check(
            slot("2030-03-30T23:00:00Z", "2030-03-31T22:00:00Z"),
            now,
            tz
        )
        .is_ok());
    assert!(p
        .check(
            slot("2030-10-26T22:00:00Z", "2030-10-27T23:00:00Z"),
            now,
            tz
        )
        .is_ok());
}

fn free(q: &FreeSlotsQuery<'_>) -> Vec<(String, String)> {
    free_slots(q)
        .into_iter()
        .map(|s| (fmt(s.start()), fmt(s.end())))
        .collect()
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_owned(), b.to_owned())
}

#[test]
fn free_slots_are_the_gaps_around_buffered_reservations() {
    let p = RoomPolicy {
        buffer_minutes: 15,
        ..RoomPolicy::default()
    };
    let busy = [slot("2030-01-07T10:00:00Z", "2030-01-07T11:00:00Z")];
    let q = FreeSlotsQuery {
        from: t("2030-01-07T08:00:00Z"),
        to: t("2030-01-07T14:00:00Z"),
        now: t(NOW),
        policy: &p,
        tz: berlin(),
        busy: &busy,
        min_minutes: 30,
    };
    assert_eq!(
        free(&q),
        [
            pair("2030-01-07T08:00:00Z", "2030-01-07T09:45:00Z"),
            pair("2030-01-07T11:15:00Z", "2030-01-07T14:00:00Z")
        ]
    );
    // Short gaps are left out.
    let q = FreeSlotsQuery {
        min_minutes: 120,
        ..q
    };
    assert_eq!(
        free(&q),
        [pair("2030-01-07T11:15:00Z", "2030-01-07T14:00:00Z")]
    );
}

#[test]
fn free_slots_respect_now_the_horizon_and_opening_hours() {
    let mut hours = weekdays("08:00", "12:00");
    hours.extend(weekdays("13:00", "18:00"));
    let p = RoomPolicy {
        opening_hours: Some(hours),
        booking_horizon_days: Some(1),
        min_duration_minutes: Some(45),
        ..RoomPolicy::default()
    };
    let now = t("2030-01-07T07:30:00Z"); // Monday 08:30 in Berlin
    let busy = [slot("2030-01-07T12:00:00Z", "2030-01-07T12:30:00Z")];
    let q = FreeSlotsQuery {
        from: t("2030-01-07T00:00:00Z"),
        to: t("2030-01-09T00:00:00Z"),
        now,
        policy: &p,
        tz: berlin(),
        busy: &busy,
        min_minutes: 30,
    };
    // From now to the lunch break, and after the reservation until closing. Tuesday's
    // morning is cut at the horizon (now + 1 day) to 30 minutes, below the policy's
    // minimum of 45, so it is left out.
    assert_eq!(
        free(&q),
        [
            pair("2030-01-07T07:30:00Z", "2030-01-07T11:00:00Z"),
            pair("2030-01-07T12:30:00Z", "2030-01-07T17:00:00Z"),
        ]
    );
    let q = FreeSlotsQuery {
        policy: &RoomPolicy {
            min_duration_minutes: None,
            ..p.clone()
        },
        ..q
    };
    assert_eq!(
        free(&q).last(),
        Some(&pair("2030-01-08T07:00:00Z", "2030-01-08T07:30:00Z"))
    );
}

#[test]
fn free_slots_within_quotas_leave_out_full_weeks_and_everything_at_the_active_limit() {
    let policy = RoomPolicy {
        max_hours_per_person_per_week: Some(2),
        max_active_reservations_per_person: Some(3),
        ..RoomPolicy::default()
    };
    // Sunday 2030-01-13 to Tuesday 2030-01-15 (UTC): Monday 00:00 splits two ISO weeks.
    let free = vec![slot("2030-01-13T20:00:00Z", "2030-01-15T02:00:00Z")];
    let min = Duration::minutes(30);
    // The week before Monday is full (2 h held), the next has 2 h left: only the latter.
    let held = [(t("2030-01-10T09:00:00Z"), t("2030-01-10T11:00:00Z"))];
    let kept = policy.within_quotas(free.clone(), Tz::UTC, &held, 1, min);
    assert_eq!(
        kept,
        vec![slot("2030-01-14T00:00:00Z", "2030-01-15T02:00:00Z")]
    );
    // 100 minutes held: 20 left, less than the 30 asked for; 15 would do.
    let held = [(t("2030-01-10T09:00:00Z"), t("2030-01-10T10:40:00Z"))];
    let kept = policy.within_quotas(free.clone(), Tz::UTC, &held, 1, min);
    assert_eq!(
        kept,
        vec![slot("2030-01-14T00:00:00Z", "2030-01-15T02:00:00Z")]
    );
    let kept = policy.within_quotas(free.clone(), Tz::UTC, &held, 1, Duration::minutes(15));
    assert_eq!(kept, free);
    // At the active limit nothing is bookable; without quotas everything is.
    assert!(policy
        .within_quotas(free.clone(), Tz::UTC, &[], 3, min)
        .is_empty());
    let none = RoomPolicy::default();
    assert_eq!(
        none.within_quotas(free.clone(), Tz::UTC, &held, 99, min),
        free
    );
}
