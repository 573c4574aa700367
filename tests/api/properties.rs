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
