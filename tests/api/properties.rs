//! Property test: random sequences of createRoom / bookRoom / cancelReservation /
//! rescheduleReservation / bookSeries / cancelSeries, some concurrent, run against the real
//! schema next to a simple model.
//! After every step: the stored reservations are exactly the model's, no two CONFIRMED ones of
//! a room overlap, every acknowledged change is visible, and every refusal has the code the
//! model predicts.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use roombook::graphql::AppSchema;
use serde_json::{json, Value};

use crate::helpers::{base, fmt};

/// Slots are quarter hours: 0 and after from `base()` (days ahead), negative ones counting
/// back from an hour ago. The mapping keeps their order, so the model can reason in slots.
fn t(slot: i64) -> DateTime<Utc> {
    static PAST: std::sync::OnceLock<DateTime<Utc>> = std::sync::OnceLock::new();
    if slot >= 0 {
        base() + Duration::minutes(15 * slot)
    } else {
        *PAST.get_or_init(|| Utc::now() - Duration::hours(1)) + Duration::minutes(15 * slot)
    }
}

#[derive(Clone, Debug)]
enum Op {
    CreateRoom(usize),
    Book {
        room: usize,
        start: i64,
        len: i64,
    },
    Cancel(usize),
    Reschedule {
        res: usize,
        start: Option<i64>,
        len: Option<i64>,
        room: Option<usize>,
    },
    /// Bookings sent all at once.
    Burst(Vec<(usize, i64, i64)>),
    /// A daily series of `count` from slot `start`; SKIP or FAIL on conflicts.
    Series {
        room: usize,
        start: i64,
        len: i64,
        count: i64,
        skip: bool,
    },
    /// `cancelSeries` of the i-th series booked, from slot `from` (negative: the past).
    CancelSeries {
        series: usize,
        from: Option<i64>,
    },
}

/// Slots in a day: a daily series' occurrences are this many slots apart.
const DAY: i64 = 96;

const NAMES: [&str; 4] = ["Oak", "oak", "Elm", "Ash"];

fn op() -> impl Strategy<Value = Op> {
    // Small ranges so collisions are common; room index 3 may be unknown.
    let book = (0..4usize, -2..40i64, -1..6i64);
    prop_oneof![
        1 => (0..4usize).prop_map(Op::CreateRoom),
        5 => book.clone().prop_map(|(room, start, len)| Op::Book { room, start, len }),
        2 => (0..12usize).prop_map(Op::Cancel),
        3 => (0..12usize, proptest::option::of(-1..40i64), proptest::option::of(-1..6i64), proptest::option::of(0..4usize))
            .prop_map(|(res, start, len, room)| Op::Reschedule { res, start, len, room }),
        1 => proptest::collection::vec(book, 2..8).prop_map(Op::Burst),
        2 => (0..4usize, 0..40i64, -1..6i64, 1..5i64, any::<bool>())
            .prop_map(|(room, start, len, count, skip)| Op::Series { room, start, len, count, skip }),
        1 => (0..3usize, proptest::option::of(-2..400i64))
            .prop_map(|(series, from)| Op::CancelSeries { series, from }),
    ]
}

#[derive(Clone, Debug, PartialEq)]
struct Res {
    room: String,
    start: i64,
    end: i64,
    confirmed: bool,
}

#[derive(Default)]
struct Model {
    rooms: Vec<(String, String)>, // (id, lowercase name)
    res: BTreeMap<String, Res>,
    order: Vec<String>,                 // reservation ids in creation order
    series: Vec<(String, Vec<String>)>, // (series id, occurrence ids)
}

impl Model {
    fn room_id(&self, i: usize) -> String {
        self.rooms
            .get(i)
            .map(|r| r.0.clone())
            .unwrap_or_else(|| "00000000-0000-4000-8000-000000000000".into())
    }

    fn overlapping(&self, room: &str, start: i64, end: i64, except: Option<&str>) -> Vec<String> {
        self.res
            .iter()
            .filter(|(id, r)| {
                r.confirmed
                    && r.room == room
                    && r.start < end
                    && start < r.end
                    && Some(id.as_str()) != except
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The code a booking of [start, end) in `room` gets, or None if it is accepted.
    fn predict_book(&self, room: &str, start: i64, end: i64) -> Option<&'static str> {
        if start >= end {
            Some("INVALID_TIME_RANGE")
        } else if start < 0 {
            Some("IN_PAST")
        } else if !self.rooms.iter().any(|r| r.0 == room) {
            Some("NOT_FOUND")
        } else if !self.overlapping(room, start, end, None).is_empty() {
            Some("OVERLAP")
        } else {
            None
        }
    }
}

/// The schema over a fresh database of the backend under test.
async fn fresh_schema() -> AppSchema {
    let db = crate::helpers::fresh_db(roombook::events::EventLog::DEFAULT_CAPACITY).await;
    roombook::graphql::build(db, &roombook::config::Limits::default(), chrono_tz::Tz::UTC)
}

async fn run(schema: &AppSchema, query: &str, variables: Value) -> Value {
    let req = async_graphql::Request::new(query)
        .variables(async_graphql::Variables::from_json(variables))
        .data(roombook::auth::Principal::Open);
    let mut resp = schema.execute(req).await;
    roombook::graphql::fill_codes(&mut resp);
    serde_json::to_value(&resp).unwrap()
}

fn code(v: &Value) -> Option<&str> {
    v["errors"][0]["extensions"]["code"].as_str()
}

const BOOK: &str = "mutation($i: BookRoomInput!) { bookRoom(input: $i) { id } }";

fn book_vars(room: &str, start: i64, len: i64) -> Value {
    json!({"i": {"roomId": room, "start": fmt(t(start)), "end": fmt(t(start + len)),
                 "organizerName": "Prop", "organizerEmail": "prop@example.com"}})
}

async fn check_state(schema: &AppSchema, model: &Model) -> Result<(), TestCaseError> {
    let v = run(
        schema,
        "query($f: DateTime, $t: DateTime) { reservations(from: $f, to: $t, includeCancelled: true) { id start end status room { id } } }",
        json!({"f": fmt(t(-100)), "t": fmt(t(2000))}),
    )
    .await;
    let mut stored = BTreeMap::new();
    for r in v["data"]["reservations"]
        .as_array()
        .ok_or_else(|| TestCaseError::fail(format!("{v}")))?
    {
        let slot = |k: &str| -> i64 {
            let at = DateTime::parse_from_rfc3339(r[k].as_str().unwrap())
                .unwrap()
                .with_timezone(&Utc);
            (at - base()).num_minutes() / 15
        };
        stored.insert(
            r["id"].as_str().unwrap().to_owned(),
            Res {
                room: r["room"]["id"].as_str().unwrap().to_owned(),
                start: slot("start"),
                end: slot("end"),
                confirmed: r["status"] == "CONFIRMED",
            },
        );
    }
    prop_assert_eq!(&stored, &model.res, "stored state differs from the model");
    for (id, a) in stored.iter().filter(|(_, r)| r.confirmed) {
        let clash = model.overlapping(&a.room, a.start, a.end, Some(id));
        prop_assert!(clash.is_empty(), "{} overlaps {:?}", id, clash);
    }
    Ok(())
}

async fn step(schema: &AppSchema, model: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    match op {
        Op::CreateRoom(i) => {
            let name = NAMES[*i];
            let v = run(
                schema,
                "mutation($n: String!) { createRoom(input: {name: $n, capacity: 4}) { id } }",
                json!({"n": name}),
            )
            .await;
            if model.rooms.iter().any(|r| r.1 == name.to_lowercase()) {
                prop_assert_eq!(code(&v), Some("ALREADY_EXISTS"), "{}", v);
            } else {
                let id = v["data"]["createRoom"]["id"]
                    .as_str()
                    .ok_or_else(|| TestCaseError::fail(format!("{v}")))?;
                model.rooms.push((id.to_owned(), name.to_lowercase()));
            }
        }
        Op::Book { room, start, len } => {
            let room = model.room_id(*room);
            let v = run(schema, BOOK, book_vars(&room, *start, *len)).await;
            match model.predict_book(&room, *start, start + len) {
                Some(expected) => {
                    prop_assert_eq!(code(&v), Some(expected), "{}", v);
                    if expected == "OVERLAP" {
                        let named = v["errors"][0]["extensions"]["conflictingReservationId"]
                            .as_str()
                            .unwrap_or_default();
                        prop_assert!(
                            model
                                .overlapping(&room, *start, start + len, None)
                                .iter()
                                .any(|id| id == named),
                            "names {}",
                            named
                        );
                    }
                }
                None => {
                    let id = v["data"]["bookRoom"]["id"]
                        .as_str()
                        .ok_or_else(|| TestCaseError::fail(format!("{v}")))?
                        .to_owned();
                    model.res.insert(
                        id.clone(),
                        Res {
                            room,
                            start: *start,
                            end: start + len,
                            confirmed: true,
                        },
                    );
                    model.order.push(id);
                }
            }
        }
        Op::Cancel(i) => {
            let id = model
                .order
                .get(*i)
                .cloned()
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            let v = run(
                schema,
                "mutation($id: ID!) { cancelReservation(id: $id) { status } }",
                json!({"id": id}),
            )
            .await;
            match model.res.get_mut(&id) {
                None => prop_assert_eq!(code(&v), Some("NOT_FOUND")),
                Some(r) if !r.confirmed => prop_assert_eq!(code(&v), Some("ALREADY_CANCELLED")),
                Some(r) => {
                    prop_assert_eq!(
                        &v["data"]["cancelReservation"]["status"],
                        "CANCELLED",
                        "{}",
                        v
                    );
                    r.confirmed = false;
                }
            }
        }
        Op::Reschedule {
            res,
            start,
            len,
            room,
        } => {
            let id = model
                .order
                .get(*res)
                .cloned()
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            let mut input = json!({"id": id});
            let cur = model.res.get(&id).cloned();
            // A length is applied to the (new or current) start.
            let new_start = start.or(cur.as_ref().map(|c| c.start)).unwrap_or(0);
            let new_end = len.map(|l| new_start + l);
            if let Some(s) = start {
                input["start"] = json!(fmt(t(*s)));
            }
            if let Some(e) = new_end {
                input["end"] = json!(fmt(t(e)));
            }
            let new_room = room.map(|r| model.room_id(r));
            if let Some(r) = &new_room {
                input["roomId"] = json!(r);
            }
            let v = run(schema, "mutation($i: RescheduleReservationInput!) { rescheduleReservation(input: $i) { id } }", json!({"i": input})).await;
            let expected = if start.is_none() && new_end.is_none() && new_room.is_none() {
                Some("BAD_USER_INPUT")
            } else {
                match &cur {
                    None => Some("NOT_FOUND"),
                    Some(c) if !c.confirmed => Some("ALREADY_CANCELLED"),
                    Some(c) => {
                        let (s, e) = (start.unwrap_or(c.start), new_end.unwrap_or(c.end));
                        let r = new_room.clone().unwrap_or_else(|| c.room.clone());
                        if s >= e {
                            Some("INVALID_TIME_RANGE")
                        } else if s < 0 {
                            Some("IN_PAST")
                        } else if r != c.room && !model.rooms.iter().any(|x| x.0 == r) {
                            Some("NOT_FOUND")
                        } else if !model.overlapping(&r, s, e, Some(&id)).is_empty() {
                            Some("OVERLAP")
                        } else {
                            None
                        }
                    }
                }
            };
            match expected {
                Some(code_expected) => {
                    prop_assert_eq!(code(&v), Some(code_expected), "{} for {}", v, input)
                }
                None => {
                    prop_assert!(
                        v["data"]["rescheduleReservation"].is_object(),
                        "{} for {}",
                        v,
                        input
                    );
                    let c = model.res.get_mut(&id).unwrap();
                    c.start = start.unwrap_or(c.start);
                    c.end = new_end.unwrap_or(c.end);
                    if let Some(r) = new_room {
                        c.room = r;
                    }
                }
            }
        }
        Op::Burst(bookings) => {
            let reqs: Vec<(String, i64, i64)> = bookings
                .iter()
                .map(|(r, s, l)| (model.room_id(*r), *s, s + l))
                .collect();
            let results = futures_util::future::join_all(
                reqs.iter()
                    .map(|(room, s, e)| run(schema, BOOK, book_vars(room, *s, e - s))),
            )
            .await;
            // Order is the server's to choose: accept its winners if they are consistent.
            let mut accepted = Vec::new();
            for ((room, s, e), v) in reqs.iter().zip(&results) {
                if let Some(id) = v["data"]["bookRoom"]["id"].as_str() {
                    prop_assert!(
                        *s < *e && *s >= 0 && model.overlapping(room, *s, *e, None).is_empty(),
                        "accepted a booking the rules refuse: {}",
                        v
                    );
                    model.res.insert(
                        id.to_owned(),
                        Res {
                            room: room.clone(),
                            start: *s,
                            end: *e,
                            confirmed: true,
                        },
                    );
                    model.order.push(id.to_owned());
                    accepted.push(id.to_owned());
                }
            }
            for ((room, s, e), v) in reqs.iter().zip(&results) {
                if v["data"]["bookRoom"].is_object() {
                    continue;
                }
                let got = code(v);
                match got {
                    Some("OVERLAP") => {
                        let named = v["errors"][0]["extensions"]["conflictingReservationId"]
                            .as_str()
                            .unwrap_or_default();
                        prop_assert!(
                            model
                                .overlapping(room, *s, *e, None)
                                .iter()
                                .any(|id| id == named),
                            "OVERLAP names {} which is not in the way",
                            named
                        );
                    }
                    other => {
                        let alone = Model {
                            rooms: model.rooms.clone(),
                            ..Model::default()
                        }
                        .predict_book(room, *s, *e);
                        prop_assert_eq!(other, alone, "{}", v);
                    }
                }
            }
        }
        Op::Series {
            room,
            start,
            len,
            count,
            skip,
        } => {
            let room = model.room_id(*room);
            let v = run(
                schema,
                "mutation($i: BookSeriesInput!) { bookSeries(input: $i) { series { id } occurrences { id start } skipped { start code conflictingReservationId } } }",
                json!({"i": {"roomId": room, "start": fmt(t(*start)), "end": fmt(t(start + len)),
                             "recurrence": {"frequency": "DAILY", "count": count},
                             "onConflict": if *skip { "SKIP" } else { "FAIL" },
                             "organizerName": "Prop", "organizerEmail": "prop@example.com"}}),
            )
            .await;
            let slots: Vec<i64> = (0..*count).map(|k| start + k * DAY).collect();
            let whole = if *len <= 0 {
                Some("INVALID_TIME_RANGE")
            } else if !model.rooms.iter().any(|r| r.0 == room) {
                Some("NOT_FOUND")
            } else {
                None
            };
            if let Some(expected) = whole {
                prop_assert_eq!(code(&v), Some(expected), "{}", v);
                return check_state(schema, model).await;
            }
            let refused: Vec<i64> = slots
                .iter()
                .copied()
                .filter(|s| !model.overlapping(&room, *s, s + len, None).is_empty())
                .collect();
            let accepted: Vec<i64> = slots
                .iter()
                .copied()
                .filter(|s| !refused.contains(s))
                .collect();
            if accepted.is_empty() || (!refused.is_empty() && !*skip) {
                prop_assert_eq!(code(&v), Some("SERIES_CONFLICT"), "{}", v);
                let listed = v["errors"][0]["extensions"]["conflicts"]
                    .as_array()
                    .map_or(0, Vec::len);
                prop_assert_eq!(listed, refused.len(), "{}", v);
            } else {
                let b = &v["data"]["bookSeries"];
                let occurrences = b["occurrences"]
                    .as_array()
                    .ok_or_else(|| TestCaseError::fail(format!("{v}")))?;
                prop_assert_eq!(occurrences.len(), accepted.len(), "{}", v);
                let skipped = b["skipped"].as_array().map_or(0, Vec::len);
                prop_assert_eq!(skipped, refused.len(), "{}", v);
                for sk in b["skipped"].as_array().into_iter().flatten() {
                    prop_assert_eq!(&sk["code"], "OVERLAP", "{}", v);
                }
                let mut ids = Vec::new();
                for (o, s) in occurrences.iter().zip(&accepted) {
                    prop_assert_eq!(&o["start"], &json!(fmt(t(*s))), "{}", v);
                    let id = o["id"].as_str().unwrap_or_default().to_owned();
                    model.res.insert(
                        id.clone(),
                        Res {
                            room: room.clone(),
                            start: *s,
                            end: s + len,
                            confirmed: true,
                        },
                    );
                    model.order.push(id.clone());
                    ids.push(id);
                }
                let series = b["series"]["id"].as_str().unwrap_or_default().to_owned();
                model.series.push((series, ids));
            }
        }
        Op::CancelSeries { series, from } => {
            let (id, occurrences) = model
                .series
                .get(*series)
                .cloned()
                .unwrap_or_else(|| (uuid::Uuid::new_v4().to_string(), Vec::new()));
            let v = run(
                schema,
                "mutation($id: ID!, $f: DateTime) { cancelSeries(id: $id, from: $f) { id } }",
                json!({"id": id, "f": from.map(|f| fmt(t(f)))}),
            )
            .await;
            if *series >= model.series.len() {
                prop_assert_eq!(code(&v), Some("NOT_FOUND"), "{}", v);
            } else {
                prop_assert!(v["data"]["cancelSeries"].is_object(), "{}", v);
                // Every occurrence starts in the future; a past `from` means now.
                let from = from.unwrap_or(-1);
                for o in occurrences {
                    if let Some(r) = model.res.get_mut(&o) {
                        if r.confirmed && (from < 0 || r.start >= from) {
                            r.confirmed = false;
                        }
                    }
                }
            }
        }
    }
    check_state(schema, model).await
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_keep_every_rule(ops in proptest::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let schema = fresh_schema().await;
            let mut model = Model::default();
            // Start with two rooms so most operations have somewhere to go.
            step(&schema, &mut model, &Op::CreateRoom(0)).await?;
            step(&schema, &mut model, &Op::CreateRoom(2)).await?;
            for op in &ops {
                step(&schema, &mut model, op).await?;
            }
            Ok::<(), TestCaseError>(())
        })?;
    }
}

/// A random room policy and time zone for the free-slots property.
#[derive(Clone, Debug)]
struct RandomRoom {
    zone: &'static str,
    buffer: i64,
    min: Option<i64>,
    max: Option<i64>,
    horizon: Option<i64>,
    hours: usize,
}

fn random_room() -> impl Strategy<Value = RandomRoom> {
    (
        prop::sample::select(vec![
            "UTC",
            "Europe/Berlin",
            "America/New_York",
            "Asia/Kolkata",
        ]),
        prop::sample::select(vec![0i64, 5, 15, 30]),
        proptest::option::of(prop::sample::select(vec![15i64, 30])),
        proptest::option::of(prop::sample::select(vec![60i64, 120, 240])),
        proptest::option::of(2..6i64),
        0..4usize,
    )
        .prop_map(|(zone, buffer, min, max, horizon, hours)| RandomRoom {
            zone,
            buffer,
            min,
            max,
            horizon,
            hours,
        })
}

fn opening_hours(kind: usize) -> Value {
    let days = [
        "MONDAY",
        "TUESDAY",
        "WEDNESDAY",
        "THURSDAY",
        "FRIDAY",
        "SATURDAY",
        "SUNDAY",
    ];
    let entries: Vec<Value> = match kind {
        0 => return Value::Null,
        // office hours with a lunch break
        1 => days[..5]
            .iter()
            .flat_map(|d| {
                [
                    json!({"weekday": d, "opens": "08:00", "closes": "12:00"}),
                    json!({"weekday": d, "opens": "13:00", "closes": "18:30"}),
                ]
            })
            .collect(),
        // long days, every day
        2 => days
            .iter()
            .map(|d| json!({"weekday": d, "opens": "06:15", "closes": "22:00"}))
            .collect(),
        // evenings until midnight, and the small hours after
        _ => days
            .iter()
            .flat_map(|d| {
                [
                    json!({"weekday": d, "opens": "00:00", "closes": "02:00"}),
                    json!({"weekday": d, "opens": "17:00", "closes": "24:00"}),
                ]
            })
            .collect(),
    };
    Value::Array(entries)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// `Room.freeSlots`: any booking of an allowed length inside a returned slot succeeds,
    /// whatever the room's zone, policy and calendar.
    #[test]
    fn a_booking_inside_a_free_slot_succeeds(
        room in random_room(),
        bookings in proptest::collection::vec((0..400i64, 1..12i64), 0..25),
        picks in proptest::collection::vec((any::<u16>(), any::<u16>(), any::<u16>()), 1..6),
        min_minutes in prop::sample::select(vec![15i64, 30, 60]),
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let schema = fresh_schema().await;
            let policy = json!({
                "bufferMinutes": room.buffer, "minDurationMinutes": room.min,
                "maxDurationMinutes": room.max, "bookingHorizonDays": room.horizon,
                "openingHours": opening_hours(room.hours),
            });
            let created = run(&schema,
                "mutation($i: CreateRoomInput!) { createRoom(input: $i) { id } }",
                json!({"i": {"name": "Prop", "capacity": 4, "timeZone": room.zone, "policy": policy}}),
            ).await;
            let id = created["data"]["createRoom"]["id"].as_str().unwrap_or_else(|| panic!("{created}")).to_owned();
            // Some reservations first; the policy refuses many of them, which is fine.
            for (start, len) in &bookings {
                run(&schema, BOOK, book_vars(&id, *start, *len)).await;
            }
            let free = run(&schema,
                "query($r: ID!, $t: DateTime, $m: Int) { room(id: $r) { freeSlots(to: $t, minDurationMinutes: $m) { start end } } }",
                json!({"r": id, "t": fmt(base() + Duration::days(5)), "m": min_minutes}),
            ).await;
            let slots = free["data"]["room"]["freeSlots"].as_array().unwrap_or_else(|| panic!("{free}")).clone();
            let parse = |v: &Value| -> DateTime<Utc> {
                DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap().into()
            };
            for (slot_pick, start_pick, len_pick) in picks {
                if slots.is_empty() {
                    break;
                }
                let slot = &slots[usize::from(slot_pick) % slots.len()];
                // Not at the very start if that is about now: the booking arrives a moment later.
                let from = parse(&slot["start"]).max(Utc::now() + Duration::seconds(5));
                let to = parse(&slot["end"]);
                let room_slot = (to - from).num_minutes();
                let shortest = room.min.unwrap_or(1).max(1);
                let longest = room.max.unwrap_or(i64::MAX).min(room_slot);
                if longest < shortest {
                    continue;
                }
                let len = shortest + i64::from(len_pick) % (longest - shortest + 1);
                let offset = i64::from(start_pick) % (room_slot - len + 1);
                let start = from + Duration::minutes(offset);
                let end = start + Duration::minutes(len);
                prop_assert!(end <= to);
                let vars = json!({"i": {"roomId": id, "start": fmt(start), "end": fmt(end),
                    "organizerName": "Prop", "organizerEmail": "prop@example.com"}});
                let booked = run(&schema, BOOK, vars).await;
                prop_assert!(booked.get("errors").is_none(),
                    "booking {}..{} inside free slot {} of {:?} was refused: {}", fmt(start), fmt(end), slot, room, booked);
                // Booked: the slots change, so stop here.
                break;
            }
            Ok::<(), TestCaseError>(())
        })?;
    }
}

// ---- approval and quotas

/// Who acts in the approval property: two members, the manager of the approval room, and an
/// admin (who reads the state).
const PEOPLE: [&str; 3] = ["p1", "p2", "mgr"];

fn caller(who: &str) -> roombook::auth::Principal {
    roombook::auth::Principal::Token(std::sync::Arc::new(roombook::auth::Identity {
        subject: Some(who.into()),
        issuer: "https://id.example.test".into(),
        name: Some(format!("Person {who}")),
        email: Some(format!("{who}@example.com")),
        roles: Vec::new(),
        admin: who == "admin",
        expires_at: i64::MAX,
    }))
}

async fn run_as(schema: &AppSchema, who: &str, query: &str, variables: Value) -> Value {
    let req = async_graphql::Request::new(query)
        .variables(async_graphql::Variables::from_json(variables))
        .data(caller(who));
    let mut resp = schema.execute(req).await;
    roombook::graphql::fill_codes(&mut resp);
    serde_json::to_value(&resp).unwrap()
}

/// Room 0 needs approval (managed by `mgr`, at most 3 active reservations per person, a
/// 1-hour approval timeout); room 1 is plain with at most 2 hours per person per ISO week.
const ACTIVE_MAX: usize = 3;
const WEEK_MINUTES_MAX: i64 = 120;

#[derive(Clone, Debug)]
enum AOp {
    Book {
        who: usize,
        room: usize,
        start: i64,
        len: i64,
    },
    /// One person's bookings sent all at once.
    Burst {
        who: usize,
        room: usize,
        slots: Vec<(i64, i64)>,
    },
    Cancel {
        who: usize,
        res: usize,
    },
    Approve(usize),
    Decline(usize),
    /// The clock passes every approval deadline so far; the expiry job runs.
    Expire,
}

fn aop() -> impl Strategy<Value = AOp> {
    let slot = (0..60i64, 1..6i64);
    prop_oneof![
        6 => (0..3usize, 0..2usize, slot.clone())
            .prop_map(|(who, room, (start, len))| AOp::Book { who, room, start, len }),
        1 => (0..3usize, 0..2usize, proptest::collection::vec(slot, 2..7))
            .prop_map(|(who, room, slots)| AOp::Burst { who, room, slots }),
        2 => (0..3usize, 0..16usize).prop_map(|(who, res)| AOp::Cancel { who, res }),
        2 => (0..16usize).prop_map(AOp::Approve),
        1 => (0..16usize).prop_map(AOp::Decline),
        1 => Just(AOp::Expire),
    ]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    Confirmed,
    Pending,
    Cancelled,
    Declined,
    Expired,
}

impl St {
    fn holds(self) -> bool {
        matches!(self, St::Confirmed | St::Pending)
    }
    fn shown(self) -> &'static str {
        match self {
            St::Confirmed => "CONFIRMED",
            St::Pending => "PENDING",
            St::Cancelled => "CANCELLED",
            St::Declined => "DECLINED",
            St::Expired => "EXPIRED",
        }
    }
}

#[derive(Clone, Debug)]
struct ARes {
    id: String,
    room: usize,
    who: usize,
    start: i64,
    end: i64,
    status: St,
}

#[derive(Default)]
struct AModel {
    rooms: Vec<String>,
    res: Vec<ARes>,
}

/// The ISO week (UTC: both rooms' zone) of slot `s`, as the Monday it starts on.
fn iso_week(s: i64) -> chrono::NaiveDate {
    use chrono::Datelike;
    let day = t(s).date_naive();
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

impl AModel {
    /// The code a booking by `who` of `[start, end)` in `room` gets (with the policy for a
    /// POLICY_VIOLATION), or None if accepted.
    fn predict(
        &self,
        who: usize,
        room: usize,
        start: i64,
        end: i64,
    ) -> Option<(&'static str, Option<&'static str>)> {
        let holding = |r: &&ARes| r.room == room && r.status.holds();
        if self
            .res
            .iter()
            .filter(holding)
            .any(|r| r.start < end && start < r.end)
        {
            return Some(("OVERLAP", None));
        }
        let mine: Vec<&ARes> = self
            .res
            .iter()
            .filter(holding)
            .filter(|r| r.who == who)
            .collect();
        if room == 0 && mine.len() + 1 > ACTIVE_MAX {
            return Some(("POLICY_VIOLATION", Some("QUOTA_ACTIVE")));
        }
        if room == 1 {
            // Minutes of `[a, b)` (slots) inside the week starting `monday`.
            let inside = |a: i64, b: i64, monday: chrono::NaiveDate| -> i64 {
                (a..b).filter(|s| iso_week(*s) == monday).count() as i64 * 15
            };
            let mut weeks: Vec<chrono::NaiveDate> = (start..end).map(iso_week).collect();
            weeks.dedup();
            for w in weeks {
                let held: i64 = mine.iter().map(|r| inside(r.start, r.end, w)).sum();
                if held + inside(start, end, w) > WEEK_MINUTES_MAX {
                    return Some(("POLICY_VIOLATION", Some("QUOTA_HOURS")));
                }
            }
        }
        None
    }

    fn status_of_new(room: usize, who: usize) -> St {
        if room == 0 && PEOPLE[who] != "mgr" {
            St::Pending
        } else {
            St::Confirmed
        }
    }
}

fn abook_vars(room: &str, start: i64, len: i64) -> Value {
    json!({"i": {"roomId": room, "start": fmt(t(start)), "end": fmt(t(start + len))}})
}

const ABOOK: &str = "mutation($i: BookRoomInput!) { bookRoom(input: $i) { id status } }";

async fn acheck_state(schema: &AppSchema, model: &AModel) -> Result<(), TestCaseError> {
    let v = run_as(
        schema,
        "admin",
        "query($f: DateTime, $t: DateTime) { reservations(from: $f, to: $t, includeCancelled: true) { id start end status room { id } organizerEmail } }",
        json!({"f": fmt(t(-100)), "t": fmt(t(2000))}),
    )
    .await;
    let listed = v["data"]["reservations"]
        .as_array()
        .ok_or_else(|| TestCaseError::fail(format!("{v}")))?;
    prop_assert_eq!(listed.len(), model.res.len(), "{}", v);
    for r in &model.res {
        let stored = listed
            .iter()
            .find(|l| l["id"] == r.id.as_str())
            .ok_or_else(|| TestCaseError::fail(format!("{} is missing: {v}", r.id)))?;
        prop_assert_eq!(&stored["status"], r.status.shown(), "{:?} vs {}", r, stored);
        prop_assert_eq!(&stored["start"], &json!(fmt(t(r.start))));
        prop_assert_eq!(&stored["end"], &json!(fmt(t(r.end))));
        prop_assert_eq!(&stored["room"]["id"], &json!(model.rooms[r.room]));
        prop_assert_eq!(
            &stored["organizerEmail"],
            &json!(format!("{}@example.com", PEOPLE[r.who]))
        );
    }
    // What waits for the manager is exactly the PENDING ones, soonest deadline first.
    let v = run_as(
        schema,
        "mgr",
        "{ pendingApprovals { id approvalDeadline } }",
        json!({}),
    )
    .await;
    let waiting = v["data"]["pendingApprovals"]
        .as_array()
        .ok_or_else(|| TestCaseError::fail(format!("{v}")))?;
    let deadlines: Vec<DateTime<Utc>> = waiting
        .iter()
        .map(|p| p["approvalDeadline"].as_str().unwrap_or_default())
        .map(|d| DateTime::parse_from_rfc3339(d).map(Into::into))
        .collect::<Result<_, _>>()
        .map_err(|e| TestCaseError::fail(format!("{e}: {v}")))?;
    prop_assert!(deadlines.windows(2).all(|w| w[0] <= w[1]), "{}", v);
    let mut waiting: Vec<&str> = waiting.iter().filter_map(|p| p["id"].as_str()).collect();
    waiting.sort_unstable();
    let mut pending: Vec<&str> = model
        .res
        .iter()
        .filter(|r| r.status == St::Pending)
        .map(|r| r.id.as_str())
        .collect();
    pending.sort_unstable();
    prop_assert_eq!(waiting, pending);
    Ok(())
}

async fn astep(
    schema: &AppSchema,
    db: &roombook::db::Db,
    model: &mut AModel,
    op: &AOp,
) -> Result<(), TestCaseError> {
    match op {
        AOp::Book {
            who,
            room,
            start,
            len,
        } => {
            let id = model.rooms[*room].clone();
            let v = run_as(schema, PEOPLE[*who], ABOOK, abook_vars(&id, *start, *len)).await;
            match model.predict(*who, *room, *start, start + len) {
                Some((expected, policy)) => {
                    prop_assert_eq!(code(&v), Some(expected), "{}", v);
                    prop_assert_eq!(v["errors"][0]["extensions"]["policy"].as_str(), policy);
                }
                None => {
                    let status = AModel::status_of_new(*room, *who);
                    prop_assert_eq!(&v["data"]["bookRoom"]["status"], status.shown(), "{}", v);
                    model.res.push(ARes {
                        id: v["data"]["bookRoom"]["id"]
                            .as_str()
                            .unwrap_or_default()
                            .into(),
                        room: *room,
                        who: *who,
                        start: *start,
                        end: start + len,
                        status,
                    });
                }
            }
        }
        AOp::Burst { who, room, slots } => {
            let id = model.rooms[*room].clone();
            let answers = futures_util::future::join_all(
                slots
                    .iter()
                    .map(|(s, l)| run_as(schema, PEOPLE[*who], ABOOK, abook_vars(&id, *s, *l))),
            )
            .await;
            // The server orders them: accept its winners if the rules allow them together.
            for ((s, l), v) in slots.iter().zip(&answers) {
                if let Some(rid) = v["data"]["bookRoom"]["id"].as_str() {
                    prop_assert_eq!(model.predict(*who, *room, *s, s + l), None, "{}", v);
                    model.res.push(ARes {
                        id: rid.into(),
                        room: *room,
                        who: *who,
                        start: *s,
                        end: s + l,
                        status: AModel::status_of_new(*room, *who),
                    });
                }
            }
            // Each refusal holds against what the burst ended with.
            for ((s, l), v) in slots.iter().zip(&answers) {
                if v["data"]["bookRoom"].is_object() {
                    continue;
                }
                let got = (code(v), v["errors"][0]["extensions"]["policy"].as_str());
                let now = model
                    .predict(*who, *room, *s, s + l)
                    .map(|(c, p)| (Some(c), p));
                prop_assert!(now.is_some(), "refused, yet the rules allow it now: {}", v);
                if got.0 == Some("POLICY_VIOLATION") && got.1 == Some("QUOTA_ACTIVE") {
                    let active = model
                        .res
                        .iter()
                        .filter(|r| r.room == *room && r.who == *who && r.status.holds())
                        .count();
                    prop_assert_eq!(active, ACTIVE_MAX, "{}", v);
                } else if got.0 == Some("POLICY_VIOLATION") {
                    prop_assert_eq!(got.1, Some("QUOTA_HOURS"), "{}", v);
                } else {
                    prop_assert_eq!(got.0, Some("OVERLAP"), "{}", v);
                }
            }
        }
        AOp::Cancel { who, res } => {
            let Some(r) = model.res.get(*res).cloned() else {
                return acheck_state(schema, model).await;
            };
            let v = run_as(
                schema,
                PEOPLE[*who],
                "mutation($id: ID!) { cancelReservation(id: $id) { status } }",
                json!({"id": r.id}),
            )
            .await;
            let manages = r.room == 0 && PEOPLE[*who] == "mgr";
            if r.who != *who && !manages {
                prop_assert_eq!(code(&v), Some("FORBIDDEN"), "{}", v);
            } else if !r.status.holds() {
                prop_assert_eq!(code(&v), Some("ALREADY_CANCELLED"), "{}", v);
            } else {
                prop_assert_eq!(
                    &v["data"]["cancelReservation"]["status"],
                    "CANCELLED",
                    "{}",
                    v
                );
                model.res[*res].status = St::Cancelled;
            }
        }
        AOp::Approve(i) | AOp::Decline(i) => {
            let Some(r) = model.res.get(*i).cloned() else {
                return acheck_state(schema, model).await;
            };
            let approve = matches!(op, AOp::Approve(_));
            let query = if approve {
                "mutation($id: ID!) { d: approveReservation(id: $id) { status } }"
            } else {
                "mutation($id: ID!) { d: declineReservation(id: $id) { status } }"
            };
            let v = run_as(schema, "mgr", query, json!({"id": r.id})).await;
            if r.room != 0 {
                prop_assert_eq!(code(&v), Some("FORBIDDEN"), "{}", v);
            } else if r.status != St::Pending {
                prop_assert_eq!(code(&v), Some("NOT_PENDING"), "{}", v);
            } else {
                let next = if approve { St::Confirmed } else { St::Declined };
                prop_assert_eq!(&v["data"]["d"]["status"], next.shown(), "{}", v);
                model.res[*i].status = next;
            }
        }
        AOp::Expire => {
            db.clock().advance(Duration::minutes(61));
            let mut due = db
                .expire_due(500)
                .await
                .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            while due == 500 {
                due = db
                    .expire_due(500)
                    .await
                    .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            }
            for r in model.res.iter_mut().filter(|r| r.status == St::Pending) {
                r.status = St::Expired;
            }
        }
    }
    acheck_state(schema, model).await
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Approval and quotas against the model: PENDING holds its slot and counts for quotas,
    /// only the manager decides, expiry frees the slot, and quotas hold under concurrency.
    #[test]
    fn approval_and_quotas_keep_every_rule(ops in proptest::collection::vec(aop(), 1..40)) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let db = crate::helpers::fresh_db(roombook::events::EventLog::DEFAULT_CAPACITY).await;
            let schema = roombook::graphql::build(db.clone(), &roombook::config::Limits::default(), chrono_tz::Tz::UTC);
            let mut model = AModel::default();
            for (name, policy, managers) in [
                ("Approval", json!({"approvalRequired": true, "approvalTimeoutHours": 1,
                                    "maxActiveReservationsPerPerson": ACTIVE_MAX}), json!(["mgr"])),
                ("Plain", json!({"maxHoursPerPersonPerWeek": WEEK_MINUTES_MAX / 60}), json!([])),
            ] {
                let v = run_as(&schema, "admin",
                    "mutation($i: CreateRoomInput!) { createRoom(input: $i) { id } }",
                    json!({"i": {"name": name, "capacity": 4, "policy": policy, "managers": managers}})).await;
                model.rooms.push(v["data"]["createRoom"]["id"].as_str().unwrap_or_else(|| panic!("{v}")).to_owned());
            }
            for op in &ops {
                astep(&schema, &db, &mut model, op).await?;
            }
            Ok::<(), TestCaseError>(())
        })?;
    }
}
