//! API.md, "Calendar feed": `GET /calendar/rooms/{roomId}.ics`, read back by an independent
//! parser (the `ical` crate), with ETag / If-None-Match, and busy times only for anonymous
//! callers in secured mode.

use serde_json::{json, Value};

use crate::helpers::{at, spawn_app, TestApp};
use crate::tokens::{admin, hs256, member, spawn_hs256};

/// GETs the feed of `room` with `headers`.
async fn get(app: &TestApp, room: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app
        .client
        .get(app.url(&format!("/calendar/rooms/{room}.ics")));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

/// A component's properties: name (with its parameters) and value.
type Props = Vec<(String, String)>;

/// The feed parsed by `ical`: the calendar's properties and each event's, by name.
fn parse(body: &str) -> (Props, Vec<Props>) {
    let mut calendars = ical::IcalParser::new(std::io::BufReader::new(body.as_bytes()));
    let cal = calendars
        .next()
        .expect("one calendar")
        .unwrap_or_else(|e| panic!("the feed does not parse: {e}\n{body}"));
    assert!(calendars.next().is_none(), "one VCALENDAR only");
    let props = |ps: &[ical::property::Property]| -> Props {
        ps.iter()
            .map(|p| {
                let params = p
                    .params
                    .iter()
                    .flatten()
                    .map(|(k, v)| format!(";{k}={}", v.join(",")))
                    .collect::<String>();
                (
                    format!("{}{params}", p.name),
                    p.value.clone().unwrap_or_default(),
                )
            })
            .collect()
    };
    (
        props(&cal.properties),
        cal.events.iter().map(|e| props(&e.properties)).collect(),
    )
}

fn value<'a>(props: &'a [(String, String)], name: &str) -> Option<&'a str> {
    props
        .iter()
        .find(|(k, _)| k == name || k.starts_with(&format!("{name};")))
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn a_rooms_feed_lists_its_confirmed_reservations_and_reads_back() {
    let app = spawn_app().await;
    let room = app.create_room("Blue, 2nd floor", 6).await;
    let other = app.create_room("Elsewhere", 6).await;
    let long_title =
        "Quarterly planning; budget, hiring \\ and the roadmap for the next twelve months — ü";
    let body = app
        .graphql(
            "mutation($i: BookRoomInput!) { bookRoom(input: $i) { id } }",
            json!({"i": {"roomId": room, "start": at(0), "end": at(60), "title": long_title,
                "organizerName": "Lovelace, Ada", "organizerEmail": "ada@example.com"}}),
        )
        .await;
    let first = body["data"]["bookRoom"]["id"].as_str().unwrap().to_owned();
    let untitled = app
        .graphql(
            "mutation($i: BookRoomInput!) { bookRoom(input: $i) { id } }",
            json!({"i": {"roomId": room, "start": at(120), "end": at(150),
                "organizerName": "Grace", "organizerEmail": "grace@example.com"}}),
        )
        .await["data"]["bookRoom"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cancelled = app.book(&room, &at(200), &at(230)).await;
    app.cancel(&cancelled).await;
    app.book(&other, &at(0), &at(30)).await;

    let resp = get(&app, &room, &[]).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    assert!(resp.headers().contains_key("etag"));
    let text = resp.text().await.unwrap();
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n") && text.ends_with("END:VCALENDAR\r\n"));
    for line in text.split("\r\n") {
        assert!(line.len() <= 75, "{line:?} is {} octets", line.len());
    }
    let (cal, events) = parse(&text);
    assert_eq!(value(&cal, "VERSION"), Some("2.0"));
    assert!(value(&cal, "PRODID").is_some());
    assert_eq!(value(&cal, "X-WR-CALNAME"), Some("Blue\\, 2nd floor"));
    // Two CONFIRMED reservations: not the cancelled one, not the other room's.
    assert_eq!(events.len(), 2, "{text}");
    let e = &events[0];
    assert_eq!(value(e, "UID"), Some(format!("{first}@roombook").as_str()));
    let compact = |s: String| s.replace(['-', ':'], "");
    assert_eq!(value(e, "DTSTART"), Some(compact(at(0)).as_str()));
    assert_eq!(value(e, "DTEND"), Some(compact(at(60)).as_str()));
    assert!(value(e, "DTSTAMP").is_some() && value(e, "LAST-MODIFIED").is_some());
    // Folded, then unfolded by the parser: the escaped title, whole.
    let escaped = long_title
        .replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,");
    assert_eq!(value(e, "SUMMARY"), Some(escaped.as_str()));
    assert_eq!(value(e, "ORGANIZER"), Some("mailto:ada@example.com"));
    assert!(
        e.iter()
            .any(|(k, _)| k.contains("CN=") && k.contains("Lovelace")),
        "{e:?}"
    );
    assert_eq!(
        value(&events[1], "UID"),
        Some(format!("{untitled}@roombook").as_str())
    );
    assert_eq!(value(&events[1], "SUMMARY"), Some("Reserved"));
}

#[tokio::test]
async fn the_etag_answers_if_none_match_with_304_until_the_room_changes() {
    let app = spawn_app().await;
    let room = app.create_room("Tagged", 4).await;
    let id = app.book(&room, &at(0), &at(30)).await;
    let resp = get(&app, &room, &[]).await;
    let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
    let again = get(&app, &room, &[("If-None-Match", &etag)]).await;
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag.as_str());
    assert!(again.text().await.unwrap().is_empty());
    assert_eq!(
        get(&app, &room, &[("If-None-Match", "\"stale\"")])
            .await
            .status(),
        200
    );
    // A change to the room's reservations is a new feed: 200 with a new ETag.
    app.reschedule(json!({"id": id, "end": at(45)})).await;
    let changed = get(&app, &room, &[("If-None-Match", &etag)]).await;
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()["etag"], etag.as_str());
}

#[tokio::test]
async fn an_unknown_or_malformed_room_is_404() {
    let app = spawn_app().await;
    for path in [
        format!("/calendar/rooms/{}.ics", uuid::Uuid::new_v4()),
        "/calendar/rooms/not-a-room.ics".into(),
        format!("/calendar/rooms/{}", uuid::Uuid::new_v4()),
    ] {
        let resp = app.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn in_secured_mode_only_members_see_titles_and_organizers() {
    let app = spawn_hs256().await;
    let root = hs256(&admin("root"));
    let body: Value = app
        .graphql_as(
            Some(&root),
            "mutation { createRoom(input: {name: \"Board\", capacity: 8}) { id } }",
            json!({}),
        )
        .await;
    let room = body["data"]["createRoom"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.graphql_as(
        Some(&hs256(&member("ada"))),
        "mutation($i: BookRoomInput!) { bookRoom(input: $i) { id } }",
        json!({"i": {"roomId": room, "start": at(0), "end": at(30), "title": "Acquisition talks"}}),
    )
    .await;
    let anonymous = get(&app, &room, &[]).await.text().await.unwrap();
    let (_, events) = parse(&anonymous);
    assert_eq!(value(&events[0], "SUMMARY"), Some("Busy"));
    assert!(value(&events[0], "ORGANIZER").is_none());
    assert!(!anonymous.contains("Acquisition") && !anonymous.contains("ada@"));
    let bearer = format!("Bearer {}", hs256(&member("bob")));
    let full = get(&app, &room, &[("Authorization", &bearer)]).await;
    assert_eq!(full.headers()["vary"], "authorization");
    let (_, events) = parse(&full.text().await.unwrap());
    assert_eq!(value(&events[0], "SUMMARY"), Some("Acquisition talks"));
    assert_eq!(
        value(&events[0], "ORGANIZER"),
        Some("mailto:ada@example.com")
    );
    // A bad token is refused, as on /graphql.
    let bad = get(&app, &room, &[("Authorization", "Bearer not.a.token")]).await;
    assert_eq!(bad.status(), 401);
    assert_eq!(
        bad.headers()["www-authenticate"],
        r#"Bearer error="invalid_token""#
    );
}

#[tokio::test]
async fn the_feed_holds_what_ends_after_30_days_ago_and_starts_before_366_days_ahead() {
    let clock = roombook::clock::Clock::default();
    let app = crate::helpers::spawn_app_with(|c| roombook::config::ServeConfig {
        clock: clock.clone(),
        ..c
    })
    .await;
    let room = app.create_room("Window", 4).await;
    let now = chrono::Utc::now();
    let fmt = crate::helpers::fmt;
    let day = |d: i64| now + chrono::Duration::days(d);
    let soon = app
        .book(
            &room,
            &fmt(day(1)),
            &fmt(day(1) + chrono::Duration::hours(1)),
        )
        .await;
    let last = app
        .book(
            &room,
            &fmt(day(365)),
            &fmt(day(365) + chrono::Duration::hours(1)),
        )
        .await;
    let beyond = app
        .book(
            &room,
            &fmt(day(367)),
            &fmt(day(367) + chrono::Duration::hours(1)),
        )
        .await;
    let uids = |text: &str| -> Vec<String> {
        parse(text)
            .1
            .iter()
            .map(|e| value(e, "UID").unwrap().to_owned())
            .collect()
    };
    let feed = get(&app, &room, &[]).await.text().await.unwrap();
    assert_eq!(
        uids(&feed),
        [format!("{soon}@roombook"), format!("{last}@roombook")]
    );
    assert!(!feed.contains(&beyond));
    // 30 days after `soon` ended it is still there; a day later it is gone, and `beyond` in.
    clock.advance(chrono::Duration::days(30));
    let feed = get(&app, &room, &[]).await.text().await.unwrap();
    assert!(feed.contains(&soon), "{feed}");
    clock.advance(chrono::Duration::days(2));
    let feed = get(&app, &room, &[]).await.text().await.unwrap();
    assert_eq!(
        uids(&feed),
        [format!("{last}@roombook"), format!("{beyond}@roombook")]
    );
}
