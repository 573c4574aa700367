//! API.md "Room managers and approval" (managers) and "Quotas": who runs a room and what they
//! may do there, by subject or by role; a member who is not a manager refused everywhere a
//! manager is allowed; quotas per person, exact under concurrency.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::tokens::*;

const CREATE: &str = "mutation($i: CreateRoomInput!) { createRoom(input: $i) { id managers policy { maxHoursPerPersonPerWeek maxActiveReservationsPerPerson } } }";
const UPDATE: &str =
    "mutation($i: UpdateRoomInput!) { updateRoom(input: $i) { id name managers } }";
const BOOK: &str =
    "mutation($i: BookRoomInput!) { bookRoom(input: $i) { id organizerName organizerEmail } }";
const CANCEL: &str = "mutation($id: ID!) { cancelReservation(id: $id) { id status } }";
const RESCHEDULE: &str =
    "mutation($i: RescheduleReservationInput!) { rescheduleReservation(input: $i) { id start } }";
const CHECK_OUT: &str = "mutation($id: ID!) { checkOut(id: $id) { id end } }";

fn root() -> String {
    hs256(&admin("root"))
}

/// A room created by an admin of `app` with `input`'s fields (a name is added).
async fn room(app: &TestApp, name: &str, mut input: Value) -> Value {
    input["name"] = json!(name);
    input["capacity"] = json!(6);
    let v = app
        .graphql_as(Some(&root()), CREATE, json!({ "i": input }))
        .await;
    assert!(v["errors"].is_null(), "{v}");
    v["data"]["createRoom"].clone()
}

async fn book(app: &TestApp, token: &str, room: &str, from: i64, to: i64) -> Value {
    app.graphql_as(
        Some(token),
        BOOK,
        json!({"i": {"roomId": room, "start": at(from), "end": at(to)}}),
    )
    .await
}

fn id_of(v: &Value) -> String {
    v["data"]["bookRoom"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_owned()
}

/// Everything a manager may do in their room, tried by `token`: each answer.
async fn managers_work(app: &TestApp, token: &str, room: &str, n: i64) -> Vec<(String, Value)> {
    let ada = hs256(&member("ada"));
    let hour = 24 * 60 * n;
    let theirs = id_of(&book(app, &ada, room, hour, hour + 30).await);
    let mut answers = Vec::new();
    let rename = json!({"i": {"id": room, "name": format!("Renamed {n}")}});
    answers.push((
        "updateRoom".into(),
        app.graphql_as(Some(token), UPDATE, rename).await,
    ));
    let moving = json!({"i": {"id": theirs, "start": at(hour + 60), "end": at(hour + 90)}});
    answers.push((
        "rescheduleReservation".into(),
        app.graphql_as(Some(token), RESCHEDULE, moving).await,
    ));
    answers.push((
        "cancelReservation".into(),
        app.graphql_as(Some(token), CANCEL, json!({"id": theirs}))
            .await,
    ));
    let for_bob = json!({"i": {"roomId": room, "start": at(hour + 120), "end": at(hour + 150),
                               "organizerName": "Bob", "organizerEmail": "bob@example.com"}});
    answers.push((
        "bookRoom for someone else".into(),
        app.graphql_as(Some(token), BOOK, for_bob).await,
    ));
    answers
}

#[tokio::test]
async fn managers_by_subject_and_by_role_run_their_room_and_others_are_refused() {
    let app = spawn_hs256().await;
    let managed = room(
        &app,
        "Boardroom",
        json!({"managers": ["role:facilities", "mia", " mia "]}),
    )
    .await;
    assert_eq!(managed["managers"], json!(["mia", "role:facilities"]));
    let id = managed["id"].as_str().unwrap().to_owned();
    let mia = hs256(&member("mia"));
    let fac = hs256(&with(member("fred"), "roles", json!(["facilities"])));
    let other = hs256(&with(
        member("otto"),
        "roles",
        json!(["staff", "role:facilities"]),
    ));
    for (n, token) in [(1, &mia), (2, &fac)] {
        for (what, v) in managers_work(&app, token, &id, n).await {
            assert!(v["errors"].is_null(), "a manager may {what}: {v}");
        }
    }
    let booked = managers_work(&app, &fac, &id, 3).await;
    assert_eq!(
        booked[3].1["data"]["bookRoom"]["organizerEmail"],
        "bob@example.com"
    );
    for (what, v) in managers_work(&app, &other, &id, 4).await {
        assert_refused(&v, "FORBIDDEN");
        assert!(
            v["data"].is_null() || v["data"].as_object().is_some(),
            "{what}"
        );
    }
    // Nor in a room where the manager is not one.
    let plain = room(&app, "Plain", json!({})).await;
    let plain = plain["id"].as_str().unwrap().to_owned();
    for (what, v) in managers_work(&app, &mia, &plain, 5).await {
        assert_eq!(code(&v), Some("FORBIDDEN"), "{what} elsewhere: {v}");
    }
    // Managers do not set managers; admins do.
    let v = app
        .graphql_as(
            Some(&mia),
            UPDATE,
            json!({"i": {"id": id, "managers": ["mia", "otto"]}}),
        )
        .await;
    assert_refused(&v, "FORBIDDEN");
    let v = app
        .graphql_as(
            Some(&root()),
            UPDATE,
            json!({"i": {"id": id, "managers": []}}),
        )
        .await;
    assert_eq!(v["data"]["updateRoom"]["managers"], json!([]), "{v}");
    let v = app
        .graphql_as(Some(&mia), UPDATE, json!({"i": {"id": id, "name": "Mine"}}))
        .await;
    assert_refused(&v, "FORBIDDEN");
}

#[tokio::test]
async fn a_manager_checks_out_what_someone_else_booked() {
    let app = spawn_hs256().await;
    let r = room(&app, "Huddle", json!({"managers": ["mia"]})).await;
    let id = r["id"].as_str().unwrap().to_owned();
    let ada = hs256(&member("ada"));
    let theirs = id_of(&book(&app, &ada, &id, 0, 60).await);
    app.db
        .clock()
        .advance(base() + chrono::Duration::minutes(10) - app.db.now());
    let v = app
        .graphql_as(
            Some(&hs256(&member("mia"))),
            CHECK_OUT,
            json!({"id": theirs}),
        )
        .await;
    assert!(v["errors"].is_null(), "{v}");
    let v = app
        .graphql_as(
            Some(&hs256(&member("otto"))),
            CHECK_OUT,
            json!({"id": theirs}),
        )
        .await;
    assert_refused(&v, "FORBIDDEN");
}

#[tokio::test]
async fn managers_are_checked_when_set() {
    let app = spawn_hs256().await;
    let many: Vec<String> = (0..51).map(|i| format!("u{i}")).collect();
    for managers in [json!(many), json!(["role:"]), json!([""])] {
        let v = app
            .graphql_as(
                Some(&root()),
                CREATE,
                json!({"i": {"name": "X", "capacity": 2, "managers": managers}}),
            )
            .await;
        assert_refused(&v, "BAD_USER_INPUT");
    }
}

fn quota_room(hours: Option<i32>, active: Option<i32>) -> Value {
    json!({"policy": {"maxHoursPerPersonPerWeek": hours, "maxActiveReservationsPerPerson": active}})
}

#[tokio::test]
async fn active_reservations_per_person_are_limited_per_room() {
    let app = spawn_hs256().await;
    let r = room(&app, "Focus", quota_room(None, Some(2))).await;
    assert_eq!(r["policy"]["maxActiveReservationsPerPerson"], 2);
    let id = r["id"].as_str().unwrap().to_owned();
    let ada = hs256(&member("ada"));
    let first = id_of(&book(&app, &ada, &id, 0, 30).await);
    id_of(&book(&app, &ada, &id, 60, 90).await);
    let third = book(&app, &ada, &id, 120, 150).await;
    let e = assert_refused(&third, "POLICY_VIOLATION");
    assert_eq!(e["extensions"]["policy"], "QUOTA_ACTIVE", "{e}");
    // Someone else is counted apart; a cancelled one frees a place.
    id_of(&book(&app, &hs256(&member("bob")), &id, 120, 150).await);
    app.graphql_as(Some(&ada), CANCEL, json!({"id": first}))
        .await;
    id_of(&book(&app, &ada, &id, 180, 210).await);
    // An admin booking for Ada counts against Ada, and binds the admin too.
    let v = app
        .graphql_as(
            Some(&root()),
            BOOK,
            json!({"i": {"roomId": id, "start": at(240), "end": at(270),
                         "organizerName": "Ada", "organizerEmail": "ADA@example.com"}}),
        )
        .await;
    assert_eq!(code(&v), Some("POLICY_VIOLATION"), "{v}");
    // One in progress still counts ...
    app.db
        .clock()
        .advance(base() + chrono::Duration::minutes(70) - app.db.now());
    let v = book(&app, &ada, &id, 300, 330).await;
    let e = assert_refused(&v, "POLICY_VIOLATION");
    assert_eq!(e["extensions"]["policy"], "QUOTA_ACTIVE", "{e}");
    // ... once it has ended, it no longer does.
    app.db
        .clock()
        .advance(base() + chrono::Duration::minutes(95) - app.db.now());
    id_of(&book(&app, &ada, &id, 300, 330).await);
}

#[tokio::test]
async fn hours_per_person_are_counted_per_iso_week_of_the_rooms_zone() {
    let app = spawn_app().await;
    // Berlin leaves summer time on Sunday 2030-10-27: that week has 169 hours.
    let r = room(
        &app,
        "Berlin",
        json!({"timeZone": "Europe/Berlin", "policy": {"maxHoursPerPersonPerWeek": 3}}),
    )
    .await;
    let id = r["id"].as_str().unwrap().to_owned();
    let book = |start: &str, end: &str, email: &str| {
        app.graphql(
            BOOK,
            json!({"i": {"roomId": id, "start": start, "end": end,
                         "organizerName": "Ada", "organizerEmail": email}}),
        )
    };
    // Monday 00:00 Berlin (CEST, +02:00) opens the week; two hours on Monday morning.
    let v = book(
        "2030-10-21T00:00:00+02:00",
        "2030-10-21T02:00:00+02:00",
        "ada@example.com",
    )
    .await;
    assert!(v["errors"].is_null(), "{v}");
    // Sunday 23:00 CET (+01:00) to Monday 01:00: one hour in this week, one in the next.
    let v = book(
        "2030-10-27T23:00:00+01:00",
        "2030-10-28T01:00:00+01:00",
        "Ada@Example.com",
    )
    .await;
    assert!(
        v["errors"].is_null(),
        "3 hours in the week, exactly the limit: {v}"
    );
    // Anything more that week is refused, at the end of Sunday local time ...
    let v = book(
        "2030-10-27T22:30:00+01:00",
        "2030-10-27T23:00:00+01:00",
        "ada@example.com",
    )
    .await;
    let e = assert_refused(&v, "POLICY_VIOLATION");
    assert_eq!(e["extensions"]["policy"], "QUOTA_HOURS", "{e}");
    // ... and the week before Monday 00:00 Berlin is another week (22:00Z Sunday in summer).
    let v = book(
        "2030-10-20T23:00:00+02:00",
        "2030-10-21T00:00:00+02:00",
        "ada@example.com",
    )
    .await;
    assert!(v["errors"].is_null(), "the previous week: {v}");
    // The next week holds one hour already (the part after Monday 00:00).
    let v = book(
        "2030-10-28T09:00:00+01:00",
        "2030-10-28T11:00:00+01:00",
        "ada@example.com",
    )
    .await;
    assert!(v["errors"].is_null(), "1 + 2 hours next week: {v}");
    let v = book(
        "2030-10-29T09:00:00+01:00",
        "2030-10-29T09:30:00+01:00",
        "ada@example.com",
    )
    .await;
    assert_refused(&v, "POLICY_VIOLATION");
    // Another person has a quota of their own.
    let v = book(
        "2030-10-29T09:00:00+01:00",
        "2030-10-29T12:00:00+01:00",
        "bob@example.com",
    )
    .await;
    assert!(v["errors"].is_null(), "{v}");
}

#[tokio::test]
async fn a_series_counts_its_own_occurrences_against_the_quota() {
    let app = spawn_app().await;
    let r = room(&app, "Weekly", quota_room(None, Some(3))).await;
    let id = r["id"].as_str().unwrap().to_owned();
    let series = |on_conflict: &str| {
        json!({"i": {"roomId": id, "start": at(0), "end": at(30),
            "recurrence": {"frequency": "DAILY", "count": 5}, "onConflict": on_conflict,
            "organizerName": "Ada", "organizerEmail": "ada@example.com"}})
    };
    let q = "mutation($i: BookSeriesInput!) { bookSeries(input: $i) { occurrences { id } skipped { code policy } } }";
    let v = app.graphql(q, series("FAIL")).await;
    assert_refused(&v, "SERIES_CONFLICT");
    let v = app.graphql(q, series("SKIP")).await;
    assert_eq!(
        v["data"]["bookSeries"]["occurrences"]
            .as_array()
            .map(Vec::len),
        Some(3),
        "{v}"
    );
    assert_eq!(
        v["data"]["bookSeries"]["skipped"],
        json!([{"code": "POLICY_VIOLATION", "policy": "QUOTA_ACTIVE"}, {"code": "POLICY_VIOLATION", "policy": "QUOTA_ACTIVE"}])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_bookings_by_one_person_stop_at_the_quota() {
    let app = spawn_app().await;
    let r = room(&app, "Busy", quota_room(None, Some(3))).await;
    let id = r["id"].as_str().unwrap().to_owned();
    let answers = futures_util::future::join_all((0..16).map(|i| {
        app.graphql(
            BOOK,
            json!({"i": {"roomId": id, "start": at(60 * i), "end": at(60 * i + 30),
                         "organizerName": "Ada", "organizerEmail": "ada@example.com"}}),
        )
    }))
    .await;
    let ok = answers.iter().filter(|a| a["errors"].is_null()).count();
    assert_eq!(ok, 3, "{answers:?}");
    let metrics = crate::metrics::scrape(&app).await;
    assert!(
        metrics.contains("roombook_bookings_total{outcome=\"QUOTA_ACTIVE\"} 13"),
        "each quota is an outcome of its own: {metrics}"
    );
}

/// API.md "Quotas" in `availableRooms` and `freeSlots`: for a caller whose token names their
/// email, a room where their quota refuses the booking is not available and has no free slot
/// there; for anyone else (or anonymous, who cannot be told apart) nothing changes.
#[tokio::test]
async fn available_rooms_and_free_slots_count_the_callers_quotas() {
    use chrono::{Datelike, Duration};
    let app = spawn_hs256().await;
    let one = room(
        &app,
        "One each",
        json!({"policy": {"maxActiveReservationsPerPerson": 1}}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let weekly = room(
        &app,
        "Two hours",
        json!({"policy": {"maxHoursPerPersonPerWeek": 2}}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ada, bob) = (hs256(&member("ada")), hs256(&member("bob")));
    id_of(&book(&app, &ada, &one, 0, 30).await);
    id_of(&book(&app, &ada, &weekly, 0, 120).await);
    const AVAILABLE: &str =
        "query($s: DateTime!, $e: DateTime!) { availableRooms(start: $s, end: $e) { name } }";
    let names = |v: &Value| -> Vec<String> {
        v["data"]["availableRooms"]
            .as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let slot = json!({"s": at(180), "e": at(210)});
    let as_ada = app.graphql_as(Some(&ada), AVAILABLE, slot.clone()).await;
    assert_eq!(names(&as_ada), Vec::<String>::new(), "{as_ada}");
    for token in [Some(bob.as_str()), None] {
        let v = app.graphql_as(token, AVAILABLE, slot.clone()).await;
        assert_eq!(names(&v), ["One each", "Two hours"], "{v}");
    }
    // The ISO week (UTC) of the bookings: ada has none of its hours left there.
    let day = base().date_naive();
    let monday = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
    let (week, next) = (
        monday.and_hms_opt(0, 0, 0).unwrap().and_utc(),
        (monday + Duration::days(7))
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc(),
    );
    const FREE: &str = "query($r: ID!, $f: DateTime, $t: DateTime) { room(id: $r) { freeSlots(from: $f, to: $t) { start end } } }";
    let window = |r: &str| json!({"r": r, "f": fmt(week), "t": fmt(next + Duration::days(7))});
    let slots = |v: &Value| -> Vec<(String, String)> {
        v["data"]["room"]["freeSlots"]
            .as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .map(|s| {
                (
                    s["start"].as_str().unwrap().into(),
                    s["end"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    let v = app.graphql_as(Some(&ada), FREE, window(&weekly)).await;
    let free = slots(&v);
    assert_eq!(free.first().map(|s| s.0.clone()), Some(fmt(next)), "{v}");
    let v = app.graphql_as(Some(&bob), FREE, window(&weekly)).await;
    assert!(slots(&v).iter().any(|s| s.0 < fmt(next)), "{v}");
    let v = app.graphql_as(Some(&ada), FREE, window(&one)).await;
    assert_eq!(slots(&v), Vec::<(String, String)>::new(), "{v}");
    let v = app.graphql_as(Some(&bob), FREE, window(&one)).await;
    assert!(!slots(&v).is_empty(), "{v}");
}
