//! Recurring series (API.md, "Recurring series"): expansion in the room's zone across DST,
//! limits, every kind of refused occurrence in FAIL and SKIP mode, occurrences as ordinary
//! reservations, cancelSeries, and the events, over HTTP and a real WebSocket.

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::room_policies::room_with;
use crate::ws_client::WsClient;

pub const SERIES_FIELDS: &str = "series { id rrule timeZone title organizerName organizerEmail \
    createdAt room { id } } occurrences { id start end status series { id } } \
    skipped { start end code policy conflictingReservationId }";

/// Books a series from a whole `BookSeriesInput` (organizer filled in); the response body.
pub async fn try_series(app: &TestApp, mut input: Value) -> Value {
    if let Some(i) = input.as_object_mut() {
        i.entry("organizerName").or_insert(json!("Ada Lovelace"));
        i.entry("organizerEmail")
            .or_insert(json!("ada@example.com"));
        i.entry("title").or_insert(json!("Weekly sync"));
    }
    app.graphql(
        &format!(
            "mutation($i: BookSeriesInput!) {{ bookSeries(input: $i) {{ {SERIES_FIELDS} }} }}"
        ),
        json!({"i": input}),
    )
    .await
}

fn booked(body: &Value) -> &Value {
    let b = &body["data"]["bookSeries"];
    assert!(b.is_object(), "bookSeries refused: {body}");
    b
}

/// The booked series' id and its occurrences' ids, in start order.
fn series_and_occurrences(body: &Value) -> (String, Vec<String>) {
    let b = booked(body);
    let ids = b["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    (b["series"]["id"].as_str().unwrap().to_owned(), ids)
}

fn starts(body: &Value) -> Vec<String> {
    booked(body)["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["start"].as_str().unwrap().to_owned())
        .collect()
}

fn conflicts(body: &Value) -> &Vec<Value> {
    assert_refused(body, "SERIES_CONFLICT");
    body["errors"][0]["extensions"]["conflicts"]
        .as_array()
        .unwrap_or_else(|| panic!("extensions.conflicts: {body}"))
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn zoned_room(app: &TestApp, name: &str, zone: &str) -> String {
    room_with(app, name, json!({}), json!({"timeZone": zone})).await
}

/// Every reservation of `room` in the 366 days from `from`, any status.
async fn all_of(app: &TestApp, room: &str, from: &str) -> Vec<Value> {
    let to = fmt(t(from) + Duration::days(366));
    let body = app
        .graphql(
            "query($r: ID!, $f: DateTime!, $t: DateTime!) { reservations(roomId: $r, from: $f, to: $t, includeCancelled: true) { id start status } }",
            json!({"r": room, "f": from, "t": to}),
        )
        .await;
    body["data"]["reservations"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .clone()
}

#[tokio::test]
async fn a_weekly_series_keeps_its_local_time_across_both_berlin_transitions() {
    let app = spawn_app().await;
    let room = zoned_room(&app, "Berlin", "Europe/Berlin").await;
    // Tuesdays 10:00-11:00 Berlin time from 2030-03-19 (CET) for 34 weeks: over the spring
    // change (31 March) and the autumn one (27 October).
    let body = try_series(
        &app,
        json!({"roomId": room, "start": "2030-03-19T09:00:00Z", "end": "2030-03-19T10:00:00Z",
               "recurrence": {"frequency": "WEEKLY", "count": 34}}),
    )
    .await;
    let b = booked(&body);
    assert_eq!(
        b["series"]["rrule"],
        "FREQ=WEEKLY;INTERVAL=1;BYDAY=TU;COUNT=34"
    );
    assert_eq!(b["series"]["timeZone"], "Europe/Berlin");
    assert_eq!(b["series"]["room"]["id"], room.as_str());
    assert_eq!(b["series"]["title"], "Weekly sync");
    assert_eq!(b["series"]["organizerName"], "Ada Lovelace");
    assert_eq!(b["skipped"], json!([]));
    let s = starts(&body);
    assert_eq!(s.len(), 34);
    assert_eq!(s[1], "2030-03-26T09:00:00Z");
    assert_eq!(s[2], "2030-04-02T08:00:00Z");
    assert_eq!(s[31], "2030-10-22T08:00:00Z");
    assert_eq!(s[32], "2030-10-29T09:00:00Z");
    let series = b["series"]["id"].as_str().unwrap();
    for o in b["occurrences"].as_array().unwrap() {
        assert_eq!(o["series"]["id"], series);
        assert_eq!(o["status"], "CONFIRMED");
        assert_eq!(
            t(o["end"].as_str().unwrap()) - t(o["start"].as_str().unwrap()),
            Duration::hours(1)
        );
    }
    // Read back: local wall-clock time through `start(timeZone:)`, and the series itself.
    let read = app
        .graphql(
            "query($id: ID!) { series(id: $id) { id rrule occurrences { start(timeZone: \"Europe/Berlin\") series { id } } } }",
            json!({"id": series}),
        )
        .await;
    let occ = read["data"]["series"]["occurrences"].as_array().unwrap();
    assert_eq!(occ.len(), 34, "{read}");
    assert_eq!(occ[0]["start"], "2030-03-19T10:00:00+01:00");
    assert_eq!(occ[2]["start"], "2030-04-02T10:00:00+02:00");
    assert_eq!(occ[32]["start"], "2030-10-29T10:00:00+01:00");
    assert!(occ.iter().all(|o| o["series"]["id"] == series));
}

#[tokio::test]
async fn new_york_skips_the_spring_gap_and_takes_the_earlier_autumn_offset() {
    let app = spawn_app().await;
    let room = zoned_room(&app, "Manhattan", "America/New_York").await;
    // Daily 02:30 local: 2030-03-10 02:30 does not exist, so it is skipped and not counted.
    let body = try_series(
        &app,
        json!({"roomId": room, "start": "2030-03-08T07:30:00Z", "end": "2030-03-08T08:00:00Z",
               "recurrence": {"frequency": "DAILY", "count": 4}}),
    )
    .await;
    assert_eq!(
        starts(&body),
        [
            "2030-03-08T07:30:00Z",
            "2030-03-09T07:30:00Z",
            "2030-03-11T06:30:00Z",
            "2030-03-12T06:30:00Z"
        ]
    );
    // Daily 01:30 local: 2030-11-03 01:30 happens twice; the first (EDT) one is taken.
    let body = try_series(
        &app,
        json!({"roomId": room, "start": "2030-11-02T05:30:00Z", "end": "2030-11-02T06:00:00Z",
               "recurrence": {"frequency": "DAILY", "until": "2030-11-04T06:30:00Z"}}),
    )
    .await;
    assert_eq!(
        starts(&body),
        [
            "2030-11-02T05:30:00Z",
            "2030-11-03T05:30:00Z",
            "2030-11-04T06:30:00Z"
        ]
    );
    assert_eq!(
        booked(&body)["series"]["rrule"],
        "FREQ=DAILY;INTERVAL=1;UNTIL=20301104T063000Z"
    );
}

#[tokio::test]
async fn monthly_on_the_31st_and_every_other_week_on_several_days() {
    let app = spawn_app().await;
    let room = app.create_room("Calendar", 4).await;
    let body = try_series(
        &app,
        json!({"roomId": room, "start": "2030-01-31T09:00:00Z", "end": "2030-01-31T10:00:00Z",
               "recurrence": {"frequency": "MONTHLY", "count": 4}}),
    )
    .await;
    assert_eq!(
        starts(&body),
        [
            "2030-01-31T09:00:00Z",
            "2030-03-31T09:00:00Z",
            "2030-05-31T09:00:00Z",
            "2030-07-31T09:00:00Z"
        ]
    );
    assert_eq!(
        booked(&body)["series"]["rrule"],
        "FREQ=MONTHLY;INTERVAL=1;COUNT=4"
    );
    // Wednesday 2030-01-02: Mondays, Wednesdays and Fridays of every second week.
    let body = try_series(
        &app,
        json!({"roomId": room, "start": "2030-01-02T09:00:00Z", "end": "2030-01-02T10:00:00Z",
               "recurrence": {"frequency": "WEEKLY", "interval": 2,
                              "byWeekday": ["FRIDAY", "MONDAY", "WEDNESDAY"],
                              "until": "2030-01-28T09:00:00Z"}}),
    )
    .await;
    assert_eq!(
        starts(&body),
        [
            "2030-01-02T09:00:00Z",
            "2030-01-04T09:00:00Z",
            "2030-01-14T09:00:00Z",
            "2030-01-16T09:00:00Z",
            "2030-01-18T09:00:00Z",
            "2030-01-28T09:00:00Z"
        ]
    );
    assert_eq!(
        booked(&body)["series"]["rrule"],
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR;UNTIL=20300128T090000Z"
    );
}

#[tokio::test]
async fn count_and_until_edges_and_every_limit() {
    let app = spawn_app().await;
    let room = app.create_room("Limits", 4).await;
    let first = |rec: Value| {
        json!({"roomId": room, "start": "2030-01-01T09:00:00Z", "end": "2030-01-01T09:30:00Z",
               "recurrence": rec})
    };
    // `until` is inclusive; one second earlier leaves the last occurrence out.
    let body = try_series(
        &app,
        first(json!({"frequency": "DAILY", "until": "2030-01-03T09:00:00Z"})),
    )
    .await;
    assert_eq!(starts(&body).len(), 3);
    let body = try_series(
        &app,
        json!({"roomId": room, "start": "2030-02-01T09:00:00Z", "end": "2030-02-01T09:30:00Z",
               "recurrence": {"frequency": "DAILY", "until": "2030-02-03T08:59:59Z"}}),
    )
    .await;
    assert_eq!(
        starts(&body),
        ["2030-02-01T09:00:00Z", "2030-02-02T09:00:00Z"]
    );
    let refused: Vec<(Value, &str)> = vec![
        (json!({"frequency": "DAILY", "count": 0}), "1 to 366"),
        (json!({"frequency": "DAILY", "count": 367}), "366"),
        (
            json!({"frequency": "DAILY", "interval": 0, "count": 2}),
            "interval",
        ),
        (
            json!({"frequency": "DAILY", "interval": 100, "count": 2}),
            "interval",
        ),
        (json!({"frequency": "DAILY"}), "exactly one"),
        (
            json!({"frequency": "DAILY", "count": 2, "until": "2030-02-01T00:00:00Z"}),
            "exactly one",
        ),
        (
            json!({"frequency": "DAILY", "byWeekday": ["TUESDAY"], "count": 2}),
            "WEEKLY",
        ),
        (
            json!({"frequency": "WEEKLY", "byWeekday": [], "count": 2}),
            "at least one",
        ),
        (
            json!({"frequency": "WEEKLY", "byWeekday": ["MONDAY"], "count": 2}),
            "TUESDAY",
        ),
        (
            json!({"frequency": "DAILY", "until": "2030-01-01T08:00:00Z"}),
            "before the first",
        ),
        (
            json!({"frequency": "DAILY", "until": "2031-06-01T00:00:00Z"}),
            "more than 366",
        ),
        (json!({"frequency": "MONTHLY", "count": 26}), "731 days"),
        (
            json!({"frequency": "WEEKLY", "until": "2033-01-01T00:00:00Z"}),
            "731 days",
        ),
    ];
    for (rec, says) in refused {
        let body = try_series(&app, first(rec.clone())).await;
        let e = assert_refused(&body, "BAD_USER_INPUT");
        assert!(
            e["message"].as_str().unwrap().contains(says),
            "{rec}: {body}"
        );
    }
    // The limits themselves are allowed: 366 occurrences, and one 731 days after the first.
    let body = try_series(
        &app,
        json!({"roomId": room, "start": "2035-01-01T09:00:00Z", "end": "2035-01-01T09:30:00Z",
               "recurrence": {"frequency": "DAILY", "count": 366}}),
    )
    .await;
    assert_eq!(starts(&body).len(), 366);
    let body = try_series(
        &app,
        json!({"roomId": room, "start": "2040-01-03T09:00:00Z", "end": "2040-01-03T09:30:00Z",
               "recurrence": {"frequency": "MONTHLY", "interval": 24, "count": 2}}),
    )
    .await;
    assert_eq!(
        starts(&body),
        ["2040-01-03T09:00:00Z", "2042-01-03T09:00:00Z"]
    );
    // Nothing was written by any refusal: in 2030 only the three and the two.
    assert_eq!(all_of(&app, &room, "2030-01-01T00:00:00Z").await.len(), 5);
}

#[tokio::test]
async fn a_bad_first_occurrence_or_room_is_refused_as_a_single_booking_would_be() {
    let app = spawn_app().await;
    let room = app.create_room("Plain", 4).await;
    let rec = json!({"frequency": "DAILY", "count": 3});
    let body = try_series(
        &app,
        json!({"roomId": room, "start": at(60), "end": at(0), "recurrence": rec}),
    )
    .await;
    assert_refused(&body, "INVALID_TIME_RANGE");
    let body = try_series(
        &app,
        json!({"roomId": uuid::Uuid::new_v4().to_string(), "start": at(0), "end": at(30), "recurrence": rec}),
    )
    .await;
    assert_refused(&body, "NOT_FOUND");
    let body = try_series(
        &app,
        json!({"roomId": "nope", "start": at(0), "end": at(30), "recurrence": rec}),
    )
    .await;
    assert_refused(&body, "BAD_USER_INPUT");
    let body = try_series(
        &app,
        json!({"roomId": room, "start": at(0), "end": at(30), "recurrence": rec, "organizerEmail": "nope"}),
    )
    .await;
    assert_refused(&body, "BAD_USER_INPUT");
    // Daily occurrences 25 hours long would overlap each other.
    let body = try_series(
        &app,
        json!({"roomId": room, "start": at(0), "end": at(25 * 60), "recurrence": rec}),
    )
    .await;
    let e = assert_refused(&body, "BAD_USER_INPUT");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("overlap each other"),
        "{body}"
    );
    let archived = app.create_room("Gone", 4).await;
    app.graphql(
        "mutation($id: ID!) { archiveRoom(id: $id) { id } }",
        json!({"id": archived}),
    )
    .await;
    let body = try_series(
        &app,
        json!({"roomId": archived, "start": at(0), "end": at(30), "recurrence": rec}),
    )
    .await;
    assert_refused(&body, "ROOM_ARCHIVED");
}

#[tokio::test]
async fn fail_mode_writes_nothing_and_lists_every_refused_occurrence() {
    let app = spawn_app().await;
    // Open 08:00-18:00 UTC on weekdays, a 15-minute buffer, bookings up to 20 days ahead.
    let days = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"];
    let hours: Vec<Value> = days
        .iter()
        .map(|d| json!({"weekday": d, "opens": "08:00", "closes": "18:00"}))
        .collect();
    let room = room_with(
        &app,
        "Strict",
        json!({"bufferMinutes": 15, "bookingHorizonDays": 20, "openingHours": hours}),
        json!({}),
    )
    .await;
    // Daily 10:00-11:00 UTC for 28 days from the first Monday at least two days ahead.
    let mut day = (Utc::now() + Duration::days(2)).date_naive();
    while day.format("%a").to_string() != "Mon" {
        day = day.succ_opt().unwrap();
    }
    let first = day.and_hms_opt(10, 0, 0).unwrap().and_utc();
    let occurrence = |n: i64| first + Duration::days(n);
    // In the way: an overlap on day 1, a reservation ending 10 minutes before day 2's.
    let overlap = app
        .book(
            &room,
            &fmt(occurrence(1) + Duration::minutes(30)),
            &fmt(occurrence(1) + Duration::minutes(90)),
        )
        .await;
    let near = app
        .book(
            &room,
            &fmt(occurrence(2) - Duration::minutes(60)),
            &fmt(occurrence(2) - Duration::minutes(10)),
        )
        .await;
    let input = json!({"roomId": room, "start": fmt(first), "end": fmt(first + Duration::hours(1)),
                       "recurrence": {"frequency": "DAILY", "count": 28}});
    let body = try_series(&app, input.clone()).await;
    let listed = conflicts(&body);
    let msg = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains(&format!("{} of the series' 28 occurrences", listed.len())),
        "{msg}"
    );
    let find = |n: i64| {
        listed
            .iter()
            .find(|c| c["start"] == fmt(occurrence(n)).as_str())
            .unwrap_or_else(|| panic!("occurrence {n} not listed: {body}"))
    };
    assert_eq!(find(1)["code"], "OVERLAP");
    assert_eq!(find(1)["conflictingReservationId"], overlap.as_str());
    assert!(find(1).get("policy").is_none());
    assert_eq!(find(2)["code"], "POLICY_VIOLATION");
    assert_eq!(find(2)["policy"], "BUFFER");
    assert_eq!(find(2)["conflictingReservationId"], near.as_str());
    assert_eq!(
        find(2)["end"],
        fmt(occurrence(2) + Duration::hours(1)).as_str()
    );
    let mut expected = vec![1, 2];
    for n in 0..28 {
        let start = occurrence(n);
        let weekend = matches!(start.format("%a").to_string().as_str(), "Sat" | "Sun");
        let beyond = start > Utc::now() + Duration::days(20);
        if n > 2 && (weekend || beyond) {
            let c = find(n);
            assert_eq!(c["code"], "POLICY_VIOLATION");
            // API.md's order: the horizon before opening hours.
            let policy = if beyond {
                "BOOKING_HORIZON"
            } else {
                "OPENING_HOURS"
            };
            assert_eq!(c["policy"], policy, "occurrence {n}: {c}");
            expected.push(n);
        }
    }
    assert_eq!(listed.len(), expected.len(), "{body}");
    // Sorted by start, and nothing was written.
    let listed_starts: Vec<&str> = listed
        .iter()
        .map(|c| c["start"].as_str().unwrap())
        .collect();
    let mut sorted = listed_starts.clone();
    sorted.sort();
    assert_eq!(listed_starts, sorted);
    assert_eq!(
        all_of(&app, &room, &fmt(first - Duration::days(1)))
            .await
            .len(),
        2
    );

    // SKIP books the rest and reports the same ones.
    let mut skip = input.clone();
    skip["onConflict"] = json!("SKIP");
    let body = try_series(&app, skip).await;
    let b = booked(&body);
    assert_eq!(
        b["skipped"].as_array().unwrap().len(),
        expected.len(),
        "{body}"
    );
    assert_eq!(
        b["occurrences"].as_array().unwrap().len(),
        28 - expected.len()
    );
    assert_eq!(b["skipped"][0]["start"], fmt(occurrence(1)).as_str());
    assert_eq!(b["skipped"][0]["code"], "OVERLAP");
    assert_eq!(b["skipped"][0]["policy"], Value::Null);
    assert_eq!(
        b["skipped"][0]["conflictingReservationId"],
        overlap.as_str()
    );
    assert_eq!(b["skipped"][1]["policy"], "BUFFER");
    assert_eq!(
        all_of(&app, &room, &fmt(first - Duration::days(1)))
            .await
            .len(),
        2 + 28 - expected.len()
    );
    // Nothing left to book: SKIP refuses too.
    let mut again = input;
    again["onConflict"] = json!("SKIP");
    let body = try_series(&app, again).await;
    assert_eq!(conflicts(&body).len(), 28);
}

#[tokio::test]
async fn occurrences_already_past_are_in_past_and_skip_books_the_rest() {
    let app = spawn_app().await;
    let room = app.create_room("Yesterday", 4).await;
    let first = base() - Duration::days(4);
    let input = json!({"roomId": room, "start": fmt(first), "end": fmt(first + Duration::minutes(30)),
                       "recurrence": {"frequency": "DAILY", "count": 5}});
    let body = try_series(&app, input.clone()).await;
    let listed = conflicts(&body);
    assert!(listed.len() >= 2, "{body}");
    assert!(listed.iter().all(|c| c["code"] == "IN_PAST"), "{body}");
    let mut skip = input;
    skip["onConflict"] = json!("SKIP");
    let body = try_series(&app, skip).await;
    let b = booked(&body);
    assert_eq!(
        b["occurrences"].as_array().unwrap().len() + b["skipped"].as_array().unwrap().len(),
        5
    );
    assert_eq!(b["skipped"][0]["code"], "IN_PAST");
    assert_eq!(
        b["occurrences"][0]["start"],
        fmt(first + Duration::days(listed.len() as i64)).as_str()
    );
}

#[tokio::test]
async fn an_occurrence_cancelled_or_moved_alone_stays_in_its_series() {
    let app = spawn_app().await;
    let room = app.create_room("Standup", 4).await;
    let other = app.create_room("Annex", 4).await;
    let body = try_series(
        &app,
        json!({"roomId": room, "start": at(0), "end": at(15), "recurrence": {"frequency": "DAILY", "count": 5}}),
    )
    .await;
    let (series, ids) = series_and_occurrences(&body);
    assert_eq!(
        app.cancel(&ids[1]).await["data"]["cancelReservation"]["status"],
        "CANCELLED"
    );
    let moved = app
        .reschedule(json!({"id": ids[2], "roomId": other, "start": at(2 * 1440 + 60), "end": at(2 * 1440 + 90)}))
        .await;
    assert_eq!(
        moved["data"]["rescheduleReservation"]["room"]["id"],
        other.as_str(),
        "{moved}"
    );
    let read = |include: bool| {
        app.graphql(
            "query($id: ID!, $c: Boolean!) { series(id: $id) { occurrences(includeCancelled: $c) { id status room { id } series { id } } } }",
            json!({"id": series, "c": include}),
        )
    };
    let confirmed = read(false).await;
    let occ = confirmed["data"]["series"]["occurrences"]
        .as_array()
        .unwrap();
    assert_eq!(occ.len(), 4, "{confirmed}");
    assert!(occ
        .iter()
        .all(|o| o["status"] == "CONFIRMED" && o["series"]["id"] == series.as_str()));
    assert_eq!(occ[1]["id"], ids[2].as_str());
    assert_eq!(occ[1]["room"]["id"], other.as_str());
    let every = read(true).await;
    let occ = every["data"]["series"]["occurrences"].as_array().unwrap();
    assert_eq!(occ.len(), 5);
    assert_eq!(occ[1]["status"], "CANCELLED");
    let r = app
        .graphql(
            "query($id: ID!) { reservation(id: $id) { series { id } } }",
            json!({"id": ids[1]}),
        )
        .await;
    assert_eq!(r["data"]["reservation"]["series"]["id"], series.as_str());
    // A single booking has no series; an unknown series is null.
    let single = app.book(&room, &at(-60), &at(-30)).await;
    let r = app
        .graphql(
            "query($id: ID!, $s: ID!) { reservation(id: $id) { series { id } } series(id: $s) { id } }",
            json!({"id": single, "s": uuid::Uuid::new_v4().to_string()}),
        )
        .await;
    assert_eq!(r["data"]["reservation"]["series"], Value::Null, "{r}");
    assert_eq!(r["data"]["series"], Value::Null);
}

#[tokio::test]
async fn cancel_series_cancels_the_future_ones_in_one_step_with_an_event_each() {
    let app = spawn_app().await;
    let room = app.create_room("Retro", 4).await;
    let body = try_series(
        &app,
        json!({"roomId": room, "start": at(0), "end": at(30), "recurrence": {"frequency": "DAILY", "count": 6}}),
    )
    .await;
    let (series, ids) = series_and_occurrences(&body);
    app.cancel(&ids[4]).await;
    let mut ws = WsClient::ready(&app).await;
    ws.subscribe("1", crate::ws_client::EVENTS, json!({"room": room}))
        .await;
    app.wait_for_subscribers(1).await;
    let cancel = |from: Option<String>| {
        app.graphql(
            "mutation($id: ID!, $from: DateTime) { cancelSeries(id: $id, from: $from) { id occurrences { id } } }",
            json!({"id": series, "from": from}),
        )
    };
    // From the third day on: occurrences 2, 3 and 5 (4 is cancelled already).
    let done = cancel(Some(at(2 * 1440))).await;
    assert_eq!(
        done["data"]["cancelSeries"]["id"],
        series.as_str(),
        "{done}"
    );
    let left: Vec<&str> = done["data"]["cancelSeries"]["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(left, [ids[0].as_str(), ids[1].as_str()]);
    for expected in [&ids[2], &ids[3], &ids[5]] {
        let e = ws.event("1").await;
        assert_eq!(e["kind"], "CANCELLED");
        assert_eq!(e["reservation"]["id"], expected.as_str());
        assert_eq!(e["reservation"]["status"], "CANCELLED");
    }
    assert!(ws
        .try_recv(std::time::Duration::from_millis(200))
        .await
        .is_none());
    // Default and past `from` mean now: the rest goes, nothing started is touched.
    let done = cancel(Some(at(-3 * 1440))).await;
    assert_eq!(
        done["data"]["cancelSeries"]["occurrences"],
        json!([]),
        "{done}"
    );
    assert_eq!(ws.event("1").await["reservation"]["id"], ids[0].as_str());
    assert_eq!(ws.event("1").await["reservation"]["id"], ids[1].as_str());
    let again = cancel(None).await;
    assert_eq!(again["data"]["cancelSeries"]["occurrences"], json!([]));
    assert!(ws
        .try_recv(std::time::Duration::from_millis(200))
        .await
        .is_none());
    let body = app
        .graphql(
            "mutation($id: ID!) { cancelSeries(id: $id) { id } }",
            json!({"id": uuid::Uuid::new_v4().to_string()}),
        )
        .await;
    assert_refused(&body, "NOT_FOUND");
}

#[tokio::test]
async fn cancel_series_keeps_an_occurrence_that_has_started() {
    let app = spawn_app().await;
    let room = app.create_room("Running", 4).await;
    // The first occurrence starts in two seconds and lasts an hour; wait until it has started.
    let first = Utc::now().duration_trunc(Duration::seconds(1)).unwrap() + Duration::seconds(2);
    let body = try_series(
        &app,
        json!({"roomId": room, "start": fmt(first), "end": fmt(first + Duration::hours(1)),
               "recurrence": {"frequency": "DAILY", "count": 3}}),
    )
    .await;
    let series = booked(&body)["series"]["id"].as_str().unwrap().to_owned();
    while Utc::now() <= first {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let done = app
        .graphql(
            "mutation($id: ID!, $f: DateTime) { cancelSeries(id: $id, from: $f) { occurrences { start } } }",
            json!({"id": series, "f": fmt(first - Duration::hours(1))}),
        )
        .await;
    assert_eq!(
        done["data"]["cancelSeries"]["occurrences"],
        json!([{"start": fmt(first)}]),
        "{done}"
    );
}

#[tokio::test]
async fn subscribers_get_one_booked_event_per_occurrence_in_start_order() {
    let app = spawn_app().await;
    let room = app.create_room("Feed", 4).await;
    let mut ws = WsClient::ready(&app).await;
    ws.subscribe(
        "1",
        "subscription { reservationEvents { kind reservation { id start series { id rrule } } } }",
        json!({}),
    )
    .await;
    app.wait_for_subscribers(1).await;
    let body = try_series(
        &app,
        json!({"roomId": room, "start": at(0), "end": at(30),
               "recurrence": {"frequency": "WEEKLY", "count": 10}}),
    )
    .await;
    let b = booked(&body);
    let series = b["series"]["id"].as_str().unwrap();
    for o in b["occurrences"].as_array().unwrap() {
        let e = ws.event("1").await;
        assert_eq!(e["kind"], "BOOKED");
        assert_eq!(e["reservation"]["id"], o["id"]);
        assert_eq!(e["reservation"]["start"], o["start"]);
        assert_eq!(e["reservation"]["series"]["id"], series);
        assert_eq!(
            e["reservation"]["series"]["rrule"],
            "FREQ=WEEKLY;INTERVAL=1;BYDAY=".to_owned() + &weekday(&at(0)) + ";COUNT=10"
        );
    }
    // A refused series sends nothing.
    let body = try_series(
        &app,
        json!({"roomId": room, "start": at(0), "end": at(30), "recurrence": {"frequency": "DAILY", "count": 3}}),
    )
    .await;
    conflicts(&body);
    assert!(ws
        .try_recv(std::time::Duration::from_millis(300))
        .await
        .is_none());
}

fn weekday(s: &str) -> String {
    t(s).format("%a").to_string()[..2].to_uppercase()
}
