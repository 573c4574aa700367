//! API.md, "Identity and permissions": open and secured mode, tokens that verify and every
//! kind that must not, roles, ownership, and who a booking's organizer is.

use serde_json::{json, Value};

use crate::helpers::{
    assert_refused, at, code, fresh_database, on_postgres, spawn_app, spawn_app_with,
};
use crate::tokens::*;

const ME: &str =
    "{ me { subject name email roles isAdmin reservations(includeCancelled: true) { id } } }";
const CREATE_ROOM: &str =
    "mutation($n: String!) { createRoom(input: {name: $n, capacity: 4}) { id } }";
const BOOK: &str = "mutation($i: BookRoomInput!) { bookRoom(input: $i) { id organizerName organizerEmail status } }";
const CANCEL: &str = "mutation($id: ID!) { cancelReservation(id: $id) { id status } }";
const RESERVATION: &str =
    "query($id: ID!) { reservation(id: $id) { id status start end organizerName checkedInAt } }";

/// A room made by an admin of `app`.
pub async fn room_of(app: &crate::helpers::TestApp, name: &str) -> String {
    let body = app
        .graphql_as(
            Some(&hs256(&admin("root"))),
            CREATE_ROOM,
            json!({"n": name}),
        )
        .await;
    body["data"]["createRoom"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("createRoom: {body}"))
        .to_owned()
}

/// Books `[at(from), at(to))` in `room` as the bearer of `token`; the reservation's id.
async fn book_as(
    app: &crate::helpers::TestApp,
    token: &str,
    room: &str,
    from: i64,
    to: i64,
) -> String {
    let body = app
        .graphql_as(
            Some(token),
            BOOK,
            json!({"i": {"roomId": room, "start": at(from), "end": at(to)}}),
        )
        .await;
    body["data"]["bookRoom"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("bookRoom: {body}"))
        .to_owned()
}

/// Asserts a request was refused as a whole for its token: 401, `WWW-Authenticate`, one
/// UNAUTHENTICATED error, no data.
async fn assert_token_refused(resp: reqwest::Response, what: &str) {
    assert_eq!(resp.status(), 401, "{what}");
    assert_eq!(
        resp.headers()["www-authenticate"],
        r#"Bearer error="invalid_token""#,
        "{what}"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["errors"].as_array().map(Vec::len),
        Some(1),
        "{what}: {body}"
    );
    assert_refused(&body, "UNAUTHENTICATED");
    assert!(body.get("data").is_none(), "{what}: {body}");
}

// ---- open mode

#[tokio::test]
async fn open_mode_lets_everyone_do_everything_and_ignores_tokens() {
    let app = spawn_app().await;
    let me = app.graphql(ME, json!({})).await;
    assert_eq!(
        me["data"]["me"],
        json!({"subject": null, "name": null, "email": null, "roles": [], "isAdmin": true, "reservations": []})
    );
    // Organizer fields come from the input, and are required.
    let room = app.create_room("Open", 4).await;
    let body = app
        .graphql(BOOK, json!({"i": {"roomId": room, "start": at(0), "end": at(30), "organizerEmail": "a@example.com"}}))
        .await;
    let err = assert_refused(&body, "BAD_USER_INPUT");
    assert!(
        err["message"].as_str().unwrap().contains("organizerName"),
        "{err}"
    );
    // A header that would be refused in secured mode is not looked at.
    let body = app
        .graphql_as(Some("garbage"), "{ rooms { id } }", json!({}))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
}

// ---- tokens that verify, and every kind that must not

#[tokio::test]
async fn hs256_tokens_verify_and_bad_ones_are_refused_as_a_whole() {
    let app = spawn_hs256().await;
    let ok = hs256(&member("ada"));
    let me = app.graphql_as(Some(&ok), ME, json!({})).await;
    assert_eq!(me["data"]["me"]["subject"], "ada");
    assert_eq!(me["data"]["me"]["email"], "ada@example.com");
    assert_eq!(me["data"]["me"]["isAdmin"], false);
    // Within the leeway (60 s): still accepted.
    let late = hs256(&with(member("ada"), "exp", json!(now() - 30)));
    let me = app.graphql_as(Some(&late), ME, json!({})).await;
    assert_eq!(me["data"]["me"]["subject"], "ada", "{me}");

    let refused: Vec<(&str, String)> = vec![
        ("alg none", unsigned(&member("ada"))),
        (
            "expired beyond the leeway",
            hs256(&with(member("ada"), "exp", json!(now() - 120))),
        ),
        ("no exp", hs256(&with(member("ada"), "exp", Value::Null))),
        (
            "nbf in the future",
            hs256(&with(member("ada"), "nbf", json!(now() + 600))),
        ),
        (
            "wrong issuer",
            hs256(&with(member("ada"), "iss", json!("https://evil.example"))),
        ),
        ("no issuer", hs256(&with(member("ada"), "iss", Value::Null))),
        (
            "wrong audience",
            hs256(&with(member("ada"), "aud", json!("another-service"))),
        ),
        ("signed with another secret", {
            let key =
                jsonwebtoken::EncodingKey::from_secret(b"another-secret-of-at-least-32-bytes!!");
            jsonwebtoken::encode(&jsonwebtoken::Header::default(), &member("ada"), &key).unwrap()
        }),
        ("RS256 on an HS256 server", rs256(&member("ada"), None)),
        (
            "roles not a list",
            hs256(&with(member("ada"), "roles", json!("roombook-admin"))),
        ),
        ("garbage", "not.a.jwt".into()),
        ("one part", "abc".into()),
    ];
    for (what, token) in &refused {
        let resp = app
            .post_as(Some(token), "{ rooms { id } }", json!({}))
            .await;
        assert_token_refused(resp, what).await;
    }
    // Schemes other than Bearer, and an empty bearer, are refused too, never anonymous.
    for value in ["Basic dXNlcjpwYXNzd29yZA==", "Bearer ", "Bearer", &ok] {
        let resp = app
            .client
            .post(app.url("/graphql"))
            .header("Authorization", value)
            .json(&json!({"query": "{ rooms { id } }"}))
            .send()
            .await
            .unwrap();
        assert_token_refused(resp, value).await;
    }
    // Two Authorization headers (a member's, then an admin's): refused, neither one picked;
    // as is one that is not text.
    let two = app
        .client
        .post(app.url("/graphql"))
        .header("Authorization", format!("Bearer {ok}"))
        .header("Authorization", format!("Bearer {}", hs256(&admin("root"))))
        .json(&json!({"query": "{ rooms { id } }"}))
        .send()
        .await
        .unwrap();
    assert_token_refused(two, "two Authorization headers").await;
    let not_text = app
        .client
        .post(app.url("/graphql"))
        .header(
            "Authorization",
            reqwest::header::HeaderValue::from_bytes(b"Bearer \xff").unwrap(),
        )
        .json(&json!({"query": "{ rooms { id } }"}))
        .send()
        .await
        .unwrap();
    assert_token_refused(not_text, "an Authorization that is not text").await;
    // GET carries tokens the same way.
    let resp = app
        .client
        .get(app.url("/graphql?query=%7Brooms%7Bid%7D%7D"))
        .header(
            "Authorization",
            format!("Bearer {}", unsigned(&member("ada"))),
        )
        .send()
        .await
        .unwrap();
    assert_token_refused(resp, "GET with alg none").await;
}

#[tokio::test]
async fn rs256_public_keys_refuse_key_confusion_and_forged_signatures() {
    let app = spawn_public_key("rsa-public.pem").await;
    let me = app
        .graphql_as(Some(&rs256(&member("ada"), None)), ME, json!({}))
        .await;
    assert_eq!(me["data"]["me"]["subject"], "ada", "{me}");
    for (what, token) in [
        (
            "HS256 signed with the public key",
            hs256_with_public_key(&member("ada")),
        ),
        ("HS256 with a secret", hs256(&member("ada"))),
        ("signed by an untrusted key", rs256_forged(&member("ada"))),
        ("alg none", unsigned(&member("ada"))),
        (
            "no audience",
            rs256(&with(member("ada"), "aud", Value::Null), None),
        ),
        ("ES256", es256(&member("ada"), None)),
    ] {
        let resp = app.post_as(Some(&token), ME, json!({})).await;
        assert_token_refused(resp, what).await;
    }
}

#[tokio::test]
async fn es256_and_eddsa_public_keys_verify_their_own_algorithm_only() {
    let ec = spawn_public_key("ec-public.pem").await;
    let me = ec
        .graphql_as(Some(&es256(&member("ec"), None)), ME, json!({}))
        .await;
    assert_eq!(me["data"]["me"]["subject"], "ec", "{me}");
    assert_token_refused(
        ec.post_as(Some(&rs256(&member("ec"), None)), ME, json!({}))
            .await,
        "RS256 on ES256",
    )
    .await;

    let ed = spawn_public_key("ed-public.pem").await;
    let me = ed
        .graphql_as(Some(&eddsa(&member("ed"))), ME, json!({}))
        .await;
    assert_eq!(me["data"]["me"]["subject"], "ed", "{me}");
    assert_token_refused(
        ed.post_as(Some(&es256(&member("ed"), None)), ME, json!({}))
            .await,
        "ES256 on EdDSA",
    )
    .await;
}

#[tokio::test]
async fn a_jwks_picks_the_key_by_kid_and_refuses_unknown_kids() {
    let app = spawn_jwks().await;
    for (token, sub) in [
        (rs256(&member("r"), Some("rsa-1")), "r"),
        (es256(&member("e"), Some("ec-1")), "e"),
    ] {
        let me = app.graphql_as(Some(&token), ME, json!({})).await;
        assert_eq!(me["data"]["me"]["subject"], sub, "{me}");
    }
    for (what, token) in [
        ("unknown kid", rs256(&member("r"), Some("rsa-2"))),
        ("no kid", rs256(&member("r"), None)),
        (
            "a kid of another key type",
            rs256(&member("r"), Some("ec-1")),
        ),
    ] {
        assert_token_refused(app.post_as(Some(&token), ME, json!({})).await, what).await;
    }
    // A 100 KB `kid` is quoted back cut short (the same reason goes to the log).
    let long = "k".repeat(100_000);
    let resp = app
        .post_as(Some(&rs256(&member("r"), Some(&long))), ME, json!({}))
        .await;
    assert_eq!(resp.status(), 401);
    let body = resp.text().await.unwrap();
    assert!(body.len() < 1_000, "{} bytes: {}", body.len(), &body[..200]);
    assert!(body.contains("100000 bytes"), "{body}");
}

// ---- roles

#[tokio::test]
async fn anonymous_callers_read_rooms_and_busy_times_only() {
    let app = spawn_hs256().await;
    let room = room_of(&app, "Anon").await;
    let ada = hs256(&member("ada"));
    let id = book_as(&app, &ada, &room, 0, 30).await;

    let readable = app
        .graphql_as(
            None,
            "query($r: ID!, $s: DateTime!, $e: DateTime!) {
               rooms { id } room(id: $r) { name busy { start end } freeSlots { start end } }
               availableRooms(start: $s, end: $e) { id }
               me { subject roles isAdmin reservations { id } } }",
            json!({"r": room, "s": at(60), "e": at(90)}),
        )
        .await;
    assert!(readable.get("errors").is_none(), "{readable}");
    assert_eq!(
        readable["data"]["room"]["busy"],
        json!([{"start": at(0), "end": at(30)}])
    );
    assert_eq!(
        readable["data"]["me"],
        json!({"subject": null, "roles": [], "isAdmin": false, "reservations": []})
    );
    for query in [
        "query($id: ID!) { reservation(id: $id) { id } }".to_owned(),
        "{ reservations { id } }".to_owned(),
        format!("{{ room(id: \"{room}\") {{ reservations {{ id }} }} }}"),
        "query($id: ID!) { series(id: $id) { id } }".to_owned(),
    ] {
        let body = app.graphql_as(None, &query, json!({"id": id})).await;
        assert_refused(&body, "UNAUTHENTICATED");
        let text = body.to_string();
        assert!(!text.contains("ada@example.com"), "{text}");
    }
}

#[tokio::test]
async fn members_book_as_themselves_and_admins_on_behalf_of_anyone() {
    let app = spawn_hs256().await;
    let room = room_of(&app, "Who").await;
    let ada = hs256(&member("ada"));
    // The organizer comes from the token.
    let body = app
        .graphql_as(
            Some(&ada),
            BOOK,
            json!({"i": {"roomId": room, "start": at(0), "end": at(30)}}),
        )
        .await;
    assert_eq!(
        body["data"]["bookRoom"]["organizerName"], "Member ada",
        "{body}"
    );
    assert_eq!(
        body["data"]["bookRoom"]["organizerEmail"],
        "ada@example.com"
    );
    // Repeating it is fine; anything else is someone else.
    let same = app
        .graphql_as(
            Some(&ada),
            BOOK,
            json!({"i": {"roomId": room, "start": at(30), "end": at(60),
            "organizerName": "Member ada", "organizerEmail": "ADA@example.com"}}),
        )
        .await;
    assert!(same.get("errors").is_none(), "{same}");
    for spoof in [
        json!({"organizerName": "Grace Hopper"}),
        json!({"organizerEmail": "grace@example.com"}),
    ] {
        let mut input = json!({"roomId": room, "start": at(60), "end": at(90)});
        input
            .as_object_mut()
            .unwrap()
            .extend(spoof.as_object().unwrap().clone());
        let body = app.graphql_as(Some(&ada), BOOK, json!({"i": input})).await;
        assert_refused(&body, "FORBIDDEN");
    }
    // A token without email, or without sub, cannot book; it says which claim is missing.
    for (claim, token) in [
        (
            "email",
            hs256(&with(member("nomail"), "email", Value::Null)),
        ),
        ("sub", hs256(&with(member("nosub"), "sub", Value::Null))),
    ] {
        let body = app
            .graphql_as(
                Some(&token),
                BOOK,
                json!({"i": {"roomId": room, "start": at(90), "end": at(120)}}),
            )
            .await;
        let err = assert_refused(&body, "FORBIDDEN");
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains(&format!("`{claim}`")),
            "{err}"
        );
    }
    // An admin books for someone else, and then owns it.
    let root = hs256(&admin("root"));
    let body = app
        .graphql_as(
            Some(&root),
            BOOK,
            json!({"i": {"roomId": room, "start": at(120), "end": at(150),
            "organizerName": "Grace Hopper", "organizerEmail": "grace@example.com"}}),
        )
        .await;
    assert_eq!(
        body["data"]["bookRoom"]["organizerName"], "Grace Hopper",
        "{body}"
    );
    let me = app.graphql_as(Some(&root), ME, json!({})).await;
    assert_eq!(me["data"]["me"]["isAdmin"], true);
    assert_eq!(me["data"]["me"]["roles"], json!(["staff", ADMIN_ROLE]));
    assert_eq!(
        me["data"]["me"]["reservations"].as_array().unwrap().len(),
        1,
        "{me}"
    );
    // Members manage no rooms.
    let body = app
        .graphql_as(Some(&ada), CREATE_ROOM, json!({"n": "Mine"}))
        .await;
    assert_refused(&body, "FORBIDDEN");
    // `me.reservations` are the caller's own.
    let me = app.graphql_as(Some(&ada), ME, json!({})).await;
    assert_eq!(
        me["data"]["me"]["reservations"].as_array().unwrap().len(),
        2,
        "{me}"
    );
}

#[tokio::test]
async fn a_member_cannot_change_another_members_reservation_and_nothing_changes() {
    let app = spawn_hs256().await;
    let room = room_of(&app, "Mine").await;
    let a = hs256(&member("a"));
    let b = hs256(&member("b"));
    // Starts in 5 minutes: inside the check-in window, and within reach of every change.
    let start = chrono::Utc::now() + chrono::Duration::minutes(5);
    let body = app
        .graphql_as(Some(&a), BOOK, json!({"i": {"roomId": room,
            "start": crate::helpers::fmt(start), "end": crate::helpers::fmt(start + chrono::Duration::minutes(60))}}))
        .await;
    let id = body["data"]["bookRoom"]["id"].as_str().unwrap().to_owned();
    let before = app
        .graphql_as(Some(&a), RESERVATION, json!({"id": id}))
        .await;
    for (query, vars) in [
        (CANCEL, json!({"id": id})),
        ("mutation($id: ID!) { rescheduleReservation(input: {id: $id, start: \"2099-01-01T10:00:00Z\", end: \"2099-01-01T11:00:00Z\"}) { id } }", json!({"id": id})),
        ("mutation($id: ID!) { checkIn(id: $id) { id } }", json!({"id": id})),
        ("mutation($id: ID!) { checkOut(id: $id) { id } }", json!({"id": id})),
    ] {
        let body = app.graphql_as(Some(&b), query, vars).await;
        assert_refused(&body, "FORBIDDEN");
        let after = app.graphql_as(Some(&a), RESERVATION, json!({"id": id})).await;
        assert_eq!(after, before, "{query}");
    }
    // The owner may; so may an admin.
    let body = app
        .graphql_as(
            Some(&a),
            "mutation($id: ID!) { checkIn(id: $id) { checkedInAt } }",
            json!({"id": id}),
        )
        .await;
    assert!(body["data"]["checkIn"]["checkedInAt"].is_string(), "{body}");
    let body = app
        .graphql_as(Some(&hs256(&admin("root"))), CANCEL, json!({"id": id}))
        .await;
    assert_eq!(
        body["data"]["cancelReservation"]["status"], "CANCELLED",
        "{body}"
    );
    // The same subject from another issuer is someone else (an HS256 server trusting no
    // issuer in particular would see both).
}

#[tokio::test]
async fn series_have_owners_too() {
    let app = spawn_hs256().await;
    let room = room_of(&app, "Weekly").await;
    let a = hs256(&member("a"));
    let b = hs256(&member("b"));
    let body = app
        .graphql_as(Some(&a), "mutation($i: BookSeriesInput!) { bookSeries(input: $i) { series { id organizerEmail } occurrences { id organizerEmail } } }",
            json!({"i": {"roomId": room, "start": at(0), "end": at(30), "recurrence": {"frequency": "DAILY", "count": 3}}}))
        .await;
    let series = body["data"]["bookSeries"]["series"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        body["data"]["bookSeries"]["series"]["organizerEmail"],
        "a@example.com"
    );
    let occurrence = body["data"]["bookSeries"]["occurrences"][1]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cancel_series = "mutation($id: ID!) { cancelSeries(id: $id) { id occurrences { id } } }";
    assert_refused(
        &app.graphql_as(Some(&b), cancel_series, json!({"id": series}))
            .await,
        "FORBIDDEN",
    );
    assert_refused(
        &app.graphql_as(Some(&b), CANCEL, json!({"id": occurrence}))
            .await,
        "FORBIDDEN",
    );
    let left = app
        .graphql_as(
            Some(&b),
            "query($id: ID!) { series(id: $id) { occurrences { id } } }",
            json!({"id": series}),
        )
        .await;
    assert_eq!(
        left["data"]["series"]["occurrences"]
            .as_array()
            .unwrap()
            .len(),
        3,
        "{left}"
    );
    let body = app
        .graphql_as(Some(&a), cancel_series, json!({"id": series}))
        .await;
    assert_eq!(
        body["data"]["cancelSeries"]["occurrences"],
        json!([]),
        "{body}"
    );
}

#[tokio::test]
async fn reservations_made_in_open_mode_have_no_owner_so_only_admins_change_them() {
    let database = if on_postgres() {
        fresh_database().await
    } else {
        std::env::temp_dir()
            .join(format!("roombook-upgrade-{}.db", uuid::Uuid::new_v4()))
            .display()
            .to_string()
    };
    let open = spawn_app_with(|c| roombook::config::ServeConfig {
        database: database.clone(),
        ..c
    })
    .await;
    let room = open.create_room("Before", 4).await;
    let id = open.book(&room, &at(0), &at(30)).await;
    let secured = spawn_app_with(|c| roombook::config::ServeConfig {
        database: database.clone(),
        auth: roombook::config::AuthArgs {
            jwt_secret: Some(roombook::config::Secret(SECRET.into())),
            ..Default::default()
        },
        ..c
    })
    .await;
    let member_token = hs256(&member("ada"));
    assert_refused(
        &secured
            .graphql_as(Some(&member_token), CANCEL, json!({"id": id}))
            .await,
        "FORBIDDEN",
    );
    let body = secured
        .graphql_as(Some(&hs256(&admin("root"))), CANCEL, json!({"id": id}))
        .await;
    assert_eq!(
        body["data"]["cancelReservation"]["status"], "CANCELLED",
        "{body}"
    );
}

// ---- every field has a rule

/// What a caller gets from a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gets {
    Data,
    Refused(&'static str),
}
use Gets::{Data, Refused};

/// Every query, mutation and subscription field of the schema, with what an anonymous caller
/// and a member who owns nothing involved get. A field missing here fails the test: decide
/// its rule (a guard in the resolver), then add it.
#[tokio::test]
async fn every_field_of_the_schema_has_a_rule_for_anonymous_callers_and_non_owners() {
    let app = spawn_hs256().await;
    let room = room_of(&app, "Rules").await;
    let a = hs256(&member("a"));
    let b = hs256(&member("b"));
    let start = chrono::Utc::now() + chrono::Duration::minutes(5);
    let fmt = crate::helpers::fmt;
    let body = app
        .graphql_as(Some(&a), BOOK, json!({"i": {"roomId": room, "start": fmt(start), "end": fmt(start + chrono::Duration::minutes(60))}}))
        .await;
    let mine = body["data"]["bookRoom"]["id"].as_str().unwrap().to_owned();
    let body = app
        .graphql_as(Some(&a), "mutation($i: BookSeriesInput!) { bookSeries(input: $i) { series { id } } }",
            json!({"i": {"roomId": room, "start": at(0), "end": at(30), "recurrence": {"frequency": "DAILY", "count": 2}}}))
        .await;
    let series = body["data"]["bookSeries"]["series"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let vars = json!({"room": room, "mine": mine, "series": series,
        "s": at(60), "e": at(90), "s2": at(600), "e2": at(630), "s3": at(700), "e3": at(730)});

    // field -> (operation, anonymous gets, member b gets)
    let rules: Vec<(&str, &str, Gets, Gets)> = vec![
        ("rooms", "{ rooms { id } }", Data, Data),
        ("room", "query($room: ID!) { room(id: $room) { id } }", Data, Data),
        ("availableRooms", "query($s: DateTime!, $e: DateTime!) { availableRooms(start: $s, end: $e) { id } }", Data, Data),
        ("me", "{ me { isAdmin } }", Data, Data),
        ("reservation", "query($mine: ID!) { reservation(id: $mine) { id } }", Refused("UNAUTHENTICATED"), Data),
        ("reservations", "{ reservations { id } }", Refused("UNAUTHENTICATED"), Data),
        ("reservationsConnection", "{ reservationsConnection(first: 5) { totalCount } }", Refused("UNAUTHENTICATED"), Data),
        ("roomsConnection", "{ roomsConnection(first: 5) { edges { node { id } } } }", Data, Data),
        ("series", "query($series: ID!) { series(id: $series) { id } }", Refused("UNAUTHENTICATED"), Data),
        ("node", "query($mine: ID!) { node(id: $mine) { id } }", Refused("UNAUTHENTICATED"), Data),
        ("nodes", "query($series: ID!) { nodes(ids: [$series]) { id } }", Refused("UNAUTHENTICATED"), Data),
        ("createRoom", "mutation { createRoom(input: {name: \"New\", capacity: 2}) { id } }", Refused("UNAUTHENTICATED"), Refused("FORBIDDEN")),
        ("updateRoom", "mutation($room: ID!) { updateRoom(input: {id: $room, capacity: 9}) { id } }", Refused("UNAUTHENTICATED"), Refused("FORBIDDEN")),
        ("archiveRoom", "mutation($room: ID!) { archiveRoom(id: $room, cancelFutureReservations: true) { id } }", Refused("UNAUTHENTICATED"), Refused("FORBIDDEN")),
        ("restoreRoom", "mutation($room: ID!) { restoreRoom(id: $room) { id } }", Refused("UNAUTHENTICATED"), Refused("FORBIDDEN")),
        ("bookRoom", "mutation($room: ID!, $s2: DateTime!, $e2: DateTime!) { bookRoom(input: {roomId: $room, start: $s2, end: $e2}) { id } }", Refused("UNAUTHENTICATED"), Data),
        ("cancelReservation", "mutation($mine: ID!) { cancelReservation(id: $mine) { id } }", Refused("UNAUTHENTICATED"), Refused("FORBIDDEN")),
        ("rescheduleReservation", "mutation($mine: ID!, $s3: DateTime!, $e3: DateTime!) { rescheduleReservation(input: {id: $mine, start: $s3, end: $e3}) { id } }", Refused("UNAUTHENTICATED"), Refused("FORBIDDEN")),
        ("checkIn", "mutation($mine: ID!) { checkIn(id: $mine) { id } }", Refused("UNAUTHENTICATED"), Refused("FORBIDDEN")),
        ("checkOut", "mutation($mine: ID!) { checkOut(id: $mine) { id } }", Refused("UNAUTHENTICATED"), Refused("FORBIDDEN")),
        ("bookSeries", "mutation($room: ID!, $s3: DateTime!, $e3: DateTime!) { bookSeries(input: {roomId: $room, start: $s3, end: $e3, recurrence: {frequency: WEEKLY, count: 2}}) { series { id } } }", Refused("UNAUTHENTICATED"), Data),
        ("cancelSeries", "mutation($series: ID!) { cancelSeries(id: $series) { id } }", Refused("UNAUTHENTICATED"), Refused("FORBIDDEN")),
        ("pendingApprovals", "{ pendingApprovals { id } }", Refused("UNAUTHENTICATED"), Data),
        ("approveReservation", "mutation($mine: ID!) { approveReservation(id: $mine) { id } }", Refused("UNAUTHENTICATED"), Refused("FORBIDDEN")),
        ("declineReservation", "mutation($mine: ID!) { declineReservation(id: $mine) { id } }", Refused("UNAUTHENTICATED"), Refused("FORBIDDEN")),
        ("approveSeries", "mutation($series: ID!) { approveSeries(id: $series) { id } }", Refused("UNAUTHENTICATED"), Refused("FORBIDDEN")),
        ("declineSeries", "mutation($series: ID!) { declineSeries(id: $series) { id } }", Refused("UNAUTHENTICATED"), Refused("FORBIDDEN")),
        ("reservationEvents", "subscription { reservationEvents { kind } }", Refused("UNAUTHENTICATED"), Data),
    ];

    let schema = app
        .graphql_as(None, "{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }", json!({}))
        .await;
    let mut fields: Vec<String> = ["queryType", "mutationType", "subscriptionType"]
        .iter()
        .flat_map(|t| {
            schema["data"]["__schema"][t]["fields"]
                .as_array()
                .unwrap()
                .clone()
        })
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    fields.sort();
    let mut ruled: Vec<String> = rules.iter().map(|r| r.0.to_owned()).collect();
    ruled.sort();
    assert_eq!(
        fields, ruled,
        "every root field needs a rule here (and a guard if it is not for everyone)"
    );

    let before = app
        .graphql_as(Some(&a), RESERVATION, json!({"id": mine}))
        .await;
    for (field, operation, anonymous, member_b) in &rules {
        for (who, token, expected) in [
            ("anonymous", None, anonymous),
            ("member b", Some(b.as_str()), member_b),
        ] {
            let got = if operation.starts_with("subscription") {
                subscribe_outcome(&app, token, operation).await
            } else {
                let body = app.graphql_as(token, operation, vars.clone()).await;
                match code(&body) {
                    None => Data,
                    Some(c) => Refused(if c == "UNAUTHENTICATED" {
                        "UNAUTHENTICATED"
                    } else if c == "FORBIDDEN" {
                        "FORBIDDEN"
                    } else {
                        panic!("{field} as {who}: {body}")
                    }),
                }
            };
            assert_eq!(got, *expected, "{field} as {who}");
        }
    }
    // Member a's reservation is as it was: nothing refused changed it.
    let after = app
        .graphql_as(Some(&a), RESERVATION, json!({"id": mine}))
        .await;
    assert_eq!(after, before);
}

/// What a subscription gets on a socket authenticated with `token`.
async fn subscribe_outcome(
    app: &crate::helpers::TestApp,
    token: Option<&str>,
    query: &str,
) -> Gets {
    let mut ws = crate::ws_client::WsClient::connect(app, Some(crate::ws_client::TRANSPORT)).await;
    let payload = token.map_or(
        json!({}),
        |t| json!({"Authorization": format!("Bearer {t}")}),
    );
    ws.send(json!({"type": "connection_init", "payload": payload}))
        .await;
    assert_eq!(ws.recv().await["type"], "connection_ack");
    ws.subscribe("1", query, json!({})).await;
    match ws.try_recv(std::time::Duration::from_millis(500)).await {
        None => Data, // subscribed and waiting for events
        Some(msg) if msg["type"] == "error" => {
            assert_eq!(
                msg["payload"][0]["extensions"]["code"], "UNAUTHENTICATED",
                "{msg}"
            );
            Refused("UNAUTHENTICATED")
        }
        Some(msg) => panic!("unexpected {msg}"),
    }
}

// ---- WebSocket

use crate::ws_client::{WsClient, EVENTS, LEGACY, TRANSPORT};

#[tokio::test]
async fn a_websocket_takes_its_token_from_connection_init_in_both_forms_or_the_upgrade() {
    let app = spawn_hs256().await;
    let room = room_of(&app, "Live").await;
    let token = hs256(&member("ada"));
    let bearer = format!("Bearer {token}");
    let mut sockets = Vec::new();
    for payload in [
        json!({"Authorization": bearer}),
        json!({"headers": {"authorization": bearer}}),
    ] {
        let mut ws = WsClient::connect(&app, Some(TRANSPORT)).await;
        ws.send(json!({"type": "connection_init", "payload": payload}))
            .await;
        assert_eq!(ws.recv().await["type"], "connection_ack");
        sockets.push(ws);
    }
    let mut ws = WsClient::connect_with_authorization(app.addr, TRANSPORT, &bearer).await;
    ws.send(json!({"type": "connection_init"})).await;
    assert_eq!(ws.recv().await["type"], "connection_ack");
    sockets.push(ws);
    for ws in &mut sockets {
        ws.subscribe("1", EVENTS, json!({"room": room})).await;
    }
    app.wait_for_subscribers(3).await;
    // An admin books; each member's socket gets it.
    let id = book_as(&app, &hs256(&admin("root")), &room, 0, 30).await;
    for ws in &mut sockets {
        assert_eq!(ws.event("1").await["reservation"]["id"], id);
    }
}

#[tokio::test]
async fn a_bad_token_closes_the_socket_with_4403_and_never_becomes_anonymous() {
    let app = spawn_hs256().await;
    let bad = format!("Bearer {}", unsigned(&member("ada")));
    let mut ws = WsClient::connect(&app, Some(TRANSPORT)).await;
    ws.send(json!({"type": "connection_init", "payload": {"Authorization": bad}}))
        .await;
    assert_eq!(ws.closed().await.code, 4403);
    // A bad token in the upgrade request, and none in connection_init: refused too.
    let mut ws =
        WsClient::connect_with_authorization(app.addr, TRANSPORT, "Basic dXNlcjpwYXNz").await;
    ws.send(json!({"type": "connection_init"})).await;
    assert_eq!(ws.closed().await.code, 4403);
    // Legacy: connection_error, then the close.
    let mut ws = WsClient::connect(&app, Some(LEGACY)).await;
    ws.send(json!({"type": "connection_init", "payload": {"Authorization": bad}}))
        .await;
    let msg = ws.recv().await;
    assert_eq!(msg["type"], "connection_error", "{msg}");
    assert!(
        msg["payload"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{msg}"
    );
    assert_eq!(ws.closed().await.code, 4403);
}

#[tokio::test]
async fn a_bad_websocket_credential_of_any_kind_is_refused_never_anonymous() {
    let app = spawn_hs256().await;
    let member_bearer = format!("Bearer {}", hs256(&member("ada")));
    let admin_bearer = format!("Bearer {}", hs256(&admin("root")));
    let upgrades: Vec<(&str, Vec<&[u8]>)> = vec![
        (
            "an upgrade Authorization that is not text",
            vec![b"Bearer \xff\xfe"],
        ),
        (
            "two upgrade Authorization headers",
            vec![member_bearer.as_bytes(), admin_bearer.as_bytes()],
        ),
    ];
    for (what, values) in &upgrades {
        for protocol in [TRANSPORT, LEGACY] {
            let mut ws = WsClient::connect_with_authorizations(app.addr, protocol, values).await;
            ws.send(json!({"type": "connection_init"})).await;
            if protocol == LEGACY {
                let msg = ws.recv().await;
                assert_eq!(msg["type"], "connection_error", "{what}: {msg}");
            }
            assert_eq!(ws.closed().await.code, 4403, "{what} ({protocol})");
        }
    }
    let payloads = [
        ("a number", json!({"Authorization": 42})),
        (
            "an object",
            json!({"headers": {"Authorization": {"Bearer": "x"}}}),
        ),
        (
            "two of them",
            json!({"Authorization": member_bearer, "headers": {"authorization": admin_bearer}}),
        ),
    ];
    for (what, payload) in payloads {
        for protocol in [TRANSPORT, LEGACY] {
            let mut ws = WsClient::connect(&app, Some(protocol)).await;
            ws.send(json!({"type": "connection_init", "payload": payload}))
                .await;
            if protocol == LEGACY {
                let msg = ws.recv().await;
                assert_eq!(msg["type"], "connection_error", "{what}: {msg}");
            }
            assert_eq!(ws.closed().await.code, 4403, "{what} ({protocol})");
        }
    }
}

#[tokio::test]
async fn a_legacy_socket_takes_one_connection_init_and_no_second_identity() {
    let app = spawn_hs256().await;
    let room = room_of(&app, "Once").await;
    let short = hs256(&with(member("ada"), "exp", json!(now() + 3600)));
    let mut ws = WsClient::connect(&app, Some(LEGACY)).await;
    ws.send(
        json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {short}")}}),
    )
    .await;
    assert_eq!(ws.recv().await["type"], "connection_ack");
    // A second init, as an admin: refused, and the connection ends (no switch of caller, no
    // re-armed expiry).
    let admin = format!("Bearer {}", hs256(&admin("root")));
    ws.send(json!({"type": "connection_init", "payload": {"Authorization": admin}}))
        .await;
    let msg = ws.recv().await;
    assert_eq!(msg["type"], "connection_error", "{msg}");
    assert_eq!(ws.closed().await.code, 4429);
    // The first identity is still what a fresh socket gets; nothing was booked on the way.
    let body = app
        .graphql_as(
            Some(&short),
            "query($r: ID!) { room(id: $r) { reservations { id } } }",
            json!({"r": room}),
        )
        .await;
    assert_eq!(body["data"]["room"]["reservations"], json!([]), "{body}");
}

#[tokio::test]
async fn anonymous_sockets_may_not_subscribe_in_either_protocol() {
    let app = spawn_hs256().await;
    let mut ws = WsClient::ready(&app).await;
    ws.subscribe("1", EVENTS, json!({})).await;
    let msg = ws.recv().await;
    assert_eq!(msg["type"], "error", "{msg}");
    assert_eq!(
        msg["payload"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{msg}"
    );
    let mut legacy = WsClient::connect(&app, Some(LEGACY)).await;
    legacy
        .send(json!({"type": "connection_init", "payload": {}}))
        .await;
    assert_eq!(legacy.recv().await["type"], "connection_ack");
    legacy
        .send(json!({"type": "start", "id": "1", "payload": {"query": EVENTS}}))
        .await;
    let msg = legacy.recv().await;
    assert_eq!(msg["type"], "error", "{msg}");
    assert_eq!(
        msg["payload"]["extensions"]["code"], "UNAUTHENTICATED",
        "{msg}"
    );
    // Anonymous sockets still read what anonymous callers may.
    ws.subscribe("2", "{ rooms { id } }", json!({})).await;
    assert_eq!(ws.recv().await["type"], "next");
}

#[tokio::test]
async fn the_server_closes_a_socket_when_its_token_expires_plus_leeway() {
    let app = spawn_hs256_with_leeway(1).await;
    let token = hs256(&with(member("ada"), "exp", json!(now() + 2)));
    let mut ws = WsClient::connect(&app, Some(TRANSPORT)).await;
    ws.send(
        json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}}),
    )
    .await;
    assert_eq!(ws.recv().await["type"], "connection_ack");
    ws.subscribe("1", EVENTS, json!({})).await;
    let opened = std::time::Instant::now();
    let closed = ws.closed().await;
    assert_eq!(closed.code, 4403, "{closed:?}");
    assert!(closed.reason.contains("expired"), "{closed:?}");
    // Not before exp + leeway (allowing for the second `now()` is rounded to).
    assert!(
        opened.elapsed() >= std::time::Duration::from_millis(1500),
        "{:?}",
        opened.elapsed()
    );
}
