//! Pages (API.md "Pages"): the `...Connection` fields page by position (keyset), forward and
//! backward, with exact flags and `totalCount`; paging while others book and cancel neither
//! repeats nor skips; a cursor works only where it came from; `first`/`last` are bounded.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::helpers::*;

const ROOM_PAGE: &str = "query($id: ID!, $first: Int, $after: String, $last: Int, $before: String,
                                 $from: DateTime, $to: DateTime) {
  room(id: $id) { reservationsConnection(first: $first, after: $after, last: $last,
                                         before: $before, from: $from, to: $to) {
    totalCount
    edges { cursor node { id start } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }";

const QUERY_PAGE: &str = "query($first: Int, $after: String, $last: Int, $before: String,
                                  $room: ID, $from: DateTime, $to: DateTime, $all: Boolean) {
  reservationsConnection(first: $first, after: $after, last: $last, before: $before,
                         roomId: $room, from: $from, to: $to, includeCancelled: $all) {
    totalCount
    edges { cursor node { id start status } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }";

/// Books `n` half-hour reservations in `room`, an hour apart from `at(0)`; their ids in order.
async fn book_many(app: &TestApp, room: &str, n: i64) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(app.book(room, &at(60 * i), &at(60 * i + 30)).await);
    }
    ids
}

fn connection<'a>(body: &'a Value, path: &[&str]) -> &'a Value {
    let mut v = &body["data"];
    for p in path {
        v = &v[*p];
    }
    assert!(v.is_object(), "no connection at {path:?}: {body}");
    v
}

fn ids(conn: &Value) -> Vec<String> {
    conn["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

fn flags(conn: &Value) -> (bool, bool) {
    let p = &conn["pageInfo"];
    (
        p["hasPreviousPage"].as_bool().unwrap(),
        p["hasNextPage"].as_bool().unwrap(),
    )
}

#[tokio::test]
async fn a_room_pages_forward_and_backward_with_exact_flags_and_total() {
    let app = spawn_app().await;
    let room = app.create_room("Paged", 4).await;
    let booked = book_many(&app, &room, 25).await;
    let window = json!({"from": at(-60), "to": at(60 * 30)});
    let vars = |extra: Value| {
        let mut v = json!({"id": room});
        for (k, x) in window
            .as_object()
            .unwrap()
            .iter()
            .chain(extra.as_object().unwrap())
        {
            v[k] = x.clone();
        }
        v
    };
    // Forward: 10, 10, 5.
    let mut seen = Vec::new();
    let mut after = Value::Null;
    let mut pages = Vec::new();
    loop {
        let body = app
            .graphql(ROOM_PAGE, vars(json!({"first": 10, "after": after})))
            .await;
        let conn = connection(&body, &["room", "reservationsConnection"]).clone();
        assert_eq!(conn["totalCount"], 25, "{body}");
        let edges = conn["edges"].as_array().unwrap();
        if !edges.is_empty() {
            assert_eq!(conn["pageInfo"]["startCursor"], edges[0]["cursor"]);
            assert_eq!(
                conn["pageInfo"]["endCursor"],
                edges[edges.len() - 1]["cursor"]
            );
        }
        seen.extend(ids(&conn));
        pages.push((ids(&conn).len(), flags(&conn)));
        if !conn["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, booked);
    assert_eq!(
        pages,
        vec![(10, (false, true)), (10, (true, true)), (5, (true, false))]
    );
    // Backward from the end: 10, 10, 5, the same items.
    let mut back = Vec::new();
    let mut before = Value::Null;
    let mut pages = Vec::new();
    loop {
        let body = app
            .graphql(ROOM_PAGE, vars(json!({"last": 10, "before": before})))
            .await;
        let conn = connection(&body, &["room", "reservationsConnection"]).clone();
        let mut page = ids(&conn);
        page.extend(back);
        back = page;
        pages.push((ids(&conn).len(), flags(&conn)));
        if !conn["pageInfo"]["hasPreviousPage"].as_bool().unwrap() {
            break;
        }
        before = conn["pageInfo"]["startCursor"].clone();
    }
    assert_eq!(back, booked);
    assert_eq!(
        pages,
        vec![(10, (true, false)), (10, (true, true)), (5, (false, true))]
    );
    // Whole reservations (not only their slots) page the same way.
    let whole = "query($id: ID!, $after: String) { room(id: $id) {
        reservationsConnection(first: 20, after: $after) { edges { node { id title organizerName } } } } }";
    let body = app.graphql(whole, json!({"id": room})).await;
    let conn = connection(&body, &["room", "reservationsConnection"]);
    assert_eq!(ids(conn), booked[..20].to_vec());
    assert!(
        conn["edges"][0]["node"]["organizerName"].is_string(),
        "{body}"
    );
    // `totalCount` follows the window, not the page.
    let body = app
        .graphql(
            ROOM_PAGE,
            json!({"id": room, "first": 1, "from": at(0), "to": at(60 * 5)}),
        )
        .await;
    assert_eq!(
        connection(&body, &["room", "reservationsConnection"])["totalCount"],
        5
    );
}

#[tokio::test]
async fn paging_while_others_book_and_cancel_never_repeats_and_never_skips() {
    let app = spawn_app().await;
    let room = app.create_room("Busy", 4).await;
    // Every other hour, so there is room to book between them later.
    let mut throughout = Vec::new();
    for i in 0..30 {
        throughout.push(app.book(&room, &at(120 * i), &at(120 * i + 30)).await);
    }
    let vars = |after: &Value| json!({"id": room, "first": 7, "after": after, "from": at(-60), "to": at(120 * 40)});
    let mut seen: Vec<String> = Vec::new();
    let mut after = Value::Null;
    let mut cancelled = HashSet::new();
    for round in 0.. {
        let body = app.graphql(ROOM_PAGE, vars(&after)).await;
        let conn = connection(&body, &["room", "reservationsConnection"]).clone();
        seen.extend(ids(&conn));
        if !conn["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
        // Between pages: a booking before the cursor, one after it, one just cancelled ahead,
        // and the item the cursor points at cancelled too.
        let r = round as i64;
        app.book(&room, &at(60 + 120 * r), &at(90 + 120 * r)).await;
        app.book(&room, &at(60 + 120 * (r + 20)), &at(90 + 120 * (r + 20)))
            .await;
        let ahead = &throughout[(7 * (r as usize + 1) + 3).min(29)];
        if cancelled.insert(ahead.clone()) {
            assert!(app.cancel(ahead).await["errors"].is_null());
        }
        let last = ids(&conn).last().unwrap().clone();
        if cancelled.insert(last.clone()) {
            assert!(app.cancel(&last).await["errors"].is_null());
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "an item came twice: {seen:?}");
    for id in throughout.iter().filter(|id| !cancelled.contains(*id)) {
        assert!(
            unique.contains(id),
            "{id} was there throughout and was skipped"
        );
    }
}

#[tokio::test]
async fn a_cursor_works_only_in_its_own_list_with_its_own_arguments() {
    let app = spawn_app().await;
    let a = app.create_room("A", 4).await;
    let b = app.create_room("B", 4).await;
    book_many(&app, &a, 3).await;
    book_many(&app, &b, 3).await;
    let first = app.graphql(ROOM_PAGE, json!({"id": a, "first": 1})).await;
    let cursor =
        connection(&first, &["room", "reservationsConnection"])["pageInfo"]["endCursor"].clone();
    // The same room and arguments: fine.
    let ok = app
        .graphql(ROOM_PAGE, json!({"id": a, "first": 1, "after": cursor}))
        .await;
    assert_eq!(
        ids(connection(&ok, &["room", "reservationsConnection"])).len(),
        1
    );
    for (query, vars) in [
        // Another room.
        (ROOM_PAGE, json!({"id": b, "first": 1, "after": cursor})),
        // Another window.
        (
            ROOM_PAGE,
            json!({"id": a, "first": 1, "after": cursor, "from": at(0)}),
        ),
        // Another field.
        (QUERY_PAGE, json!({"room": a, "first": 1, "after": cursor})),
        // Not a cursor at all.
        (
            ROOM_PAGE,
            json!({"id": a, "first": 1, "before": "not-a-cursor"}),
        ),
    ] {
        let body = app.graphql(query, vars.clone()).await;
        let err = assert_refused(&body, "BAD_USER_INPUT");
        assert!(
            err["message"].as_str().unwrap().contains("start again"),
            "{vars}: {body}"
        );
    }
    // includeCancelled is part of the list.
    let all = app
        .graphql(QUERY_PAGE, json!({"room": a, "first": 1, "all": true}))
        .await;
    let c = connection(&all, &["reservationsConnection"])["pageInfo"]["endCursor"].clone();
    let body = app
        .graphql(QUERY_PAGE, json!({"room": a, "first": 1, "after": c}))
        .await;
    assert_refused(&body, "BAD_USER_INPUT");
}

#[tokio::test]
async fn first_and_last_are_one_of_them_from_1_to_500() {
    let app = spawn_app().await;
    let room = app.create_room("Bounds", 4).await;
    for vars in [
        json!({"id": room}),
        json!({"id": room, "first": 1, "last": 1}),
        json!({"id": room, "first": 0}),
        json!({"id": room, "first": 501}),
        json!({"id": room, "last": -1}),
    ] {
        let body = app.graphql(ROOM_PAGE, vars.clone()).await;
        assert_refused(&body, "BAD_USER_INPUT");
    }
    for vars in [
        json!({"id": room, "first": 500}),
        json!({"id": room, "last": 1}),
    ] {
        let body = app.graphql(ROOM_PAGE, vars.clone()).await;
        assert!(body["errors"].is_null(), "{vars}: {body}");
    }
}

#[tokio::test]
async fn the_query_wide_connection_filters_as_the_list_field_does() {
    let app = spawn_app().await;
    let a = app.create_room("QA", 4).await;
    let b = app.create_room("QB", 4).await;
    let in_a = book_many(&app, &a, 4).await;
    app.book(&b, &at(15), &at(45)).await;
    assert!(app.cancel(&in_a[1]).await["errors"].is_null());
    let page = |vars: Value| {
        let app = &app;
        async move { app.graphql(QUERY_PAGE, vars).await }
    };
    let body = page(json!({"room": a, "first": 10})).await;
    let conn = connection(&body, &["reservationsConnection"]);
    assert_eq!(
        ids(conn),
        vec![in_a[0].clone(), in_a[2].clone(), in_a[3].clone()]
    );
    assert_eq!(conn["totalCount"], 3);
    let body = page(json!({"room": a, "first": 10, "all": true})).await;
    assert_eq!(ids(connection(&body, &["reservationsConnection"])), in_a);
    // Both rooms, by start then id.
    let body = page(json!({"first": 10, "from": at(0), "to": at(100)})).await;
    let conn = connection(&body, &["reservationsConnection"]);
    assert_eq!(conn["totalCount"], 2);
    // An unknown room is NOT_FOUND, as for the list field.
    let body = page(json!({"room": uuid::Uuid::new_v4().to_string(), "first": 1})).await;
    assert_refused(&body, "NOT_FOUND");
}

#[tokio::test]
async fn rooms_and_a_series_page_too() {
    let app = spawn_app().await;
    let mut names: Vec<String> = (0..12).map(|i| format!("Room {i:02}")).collect();
    for n in &names {
        app.create_room(n, 2 + names.len() as i32 % 3).await;
    }
    names.sort();
    let rooms =
        "query($first: Int, $after: String) { roomsConnection(first: $first, after: $after) {
        totalCount edges { node { name } } pageInfo { hasNextPage endCursor } } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let body = app
            .graphql(rooms, json!({"first": 5, "after": after}))
            .await;
        let conn = connection(&body, &["roomsConnection"]).clone();
        assert_eq!(conn["totalCount"], 12);
        seen.extend(
            conn["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["name"].as_str().unwrap().to_owned()),
        );
        if !conn["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, names);

    let room = app.create_room("Weekly", 4).await;
    let body = crate::series::try_series(
        &app,
        json!({"roomId": room, "start": "2030-03-19T09:00:00Z", "end": "2030-03-19T10:00:00Z",
               "recurrence": {"frequency": "WEEKLY", "count": 9}}),
    )
    .await;
    let series = body["data"]["bookSeries"]["series"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let occurrences = "query($id: ID!, $last: Int, $before: String) { series(id: $id) {
        occurrencesConnection(last: $last, before: $before) {
          totalCount edges { node { start } } pageInfo { hasPreviousPage startCursor } } } }";
    let mut starts = Vec::new();
    let mut before = Value::Null;
    loop {
        let body = app
            .graphql(
                occurrences,
                json!({"id": series, "last": 4, "before": before}),
            )
            .await;
        let conn = connection(&body, &["series", "occurrencesConnection"]).clone();
        assert_eq!(conn["totalCount"], 9);
        let mut page: Vec<String> = conn["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["start"].as_str().unwrap().to_owned())
            .collect();
        page.extend(starts);
        starts = page;
        if !conn["pageInfo"]["hasPreviousPage"].as_bool().unwrap() {
            break;
        }
        before = conn["pageInfo"]["startCursor"].clone();
    }
    assert_eq!(starts.len(), 9);
    assert_eq!(starts[0], "2030-03-19T09:00:00Z");
    assert!(starts.windows(2).all(|w| w[0] < w[1]), "{starts:?}");
}

#[tokio::test]
async fn a_list_field_over_its_limit_names_the_connection_to_use() {
    let app = spawn_app_with(|mut c| {
        c.limits.max_list = 2;
        c
    })
    .await;
    let room = app.create_room("Full", 4).await;
    book_many(&app, &room, 3).await;
    for (query, connection_field) in [
        (
            "query($r: ID) { reservations(roomId: $r) { id } }",
            "reservationsConnection",
        ),
        (
            "query($r: ID!) { room(id: $r) { reservations { id } } }",
            "reservationsConnection",
        ),
    ] {
        let body = app.graphql(query, json!({"r": room})).await;
        let err = assert_refused(&body, "BAD_USER_INPUT");
        assert!(
            err["message"].as_str().unwrap().contains(connection_field),
            "{body}"
        );
    }
    for n in ["X1", "X2"] {
        app.create_room(n, 2).await;
    }
    let body = app.graphql("{ rooms { id } }", json!({})).await;
    let err = assert_refused(&body, "BAD_USER_INPUT");
    assert!(
        err["message"].as_str().unwrap().contains("roomsConnection"),
        "{body}"
    );
    // The connection serves what the list field refuses.
    let body = app
        .graphql(ROOM_PAGE, json!({"id": room, "first": 500}))
        .await;
    assert_eq!(
        ids(connection(&body, &["room", "reservationsConnection"])).len(),
        3
    );
}

#[tokio::test]
async fn in_secured_mode_pages_keep_the_list_fields_rules() {
    use crate::tokens::{hs256, member, spawn_hs256};
    let app = spawn_hs256().await;
    let room = crate::identity::room_of(&app, "Guarded").await;
    let (ada, bob) = (hs256(&member("ada")), hs256(&member("bob")));
    let book = "mutation($i: BookRoomInput!) { bookRoom(input: $i) { id } }";
    let mut adas = Vec::new();
    for (i, who) in [&ada, &bob, &ada, &bob, &ada].iter().enumerate() {
        let i = i as i64;
        let body = app
            .graphql_as(
                Some(who),
                book,
                json!({"i": {"roomId": room, "start": at(60 * i), "end": at(60 * i + 30)}}),
            )
            .await;
        let id = body["data"]["bookRoom"]["id"].as_str().unwrap().to_owned();
        if *who == &ada {
            adas.push(id);
        }
    }
    // Anonymous: the room's page is refused as its list is (null room, the error at the field).
    let body = app
        .graphql_as(None, ROOM_PAGE, json!({"id": room, "first": 10}))
        .await;
    assert_refused(&body, "UNAUTHENTICATED");
    assert_eq!(
        body["errors"][0]["path"],
        json!(["room", "reservationsConnection"])
    );
    // A member pages everyone's in the room, and only their own under `me`.
    let body = app
        .graphql_as(Some(&bob), ROOM_PAGE, json!({"id": room, "first": 10}))
        .await;
    assert_eq!(
        connection(&body, &["room", "reservationsConnection"])["totalCount"],
        5
    );
    let mine = "query($after: String) { me { reservationsConnection(first: 2, after: $after) {
        totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor } } } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let body = app
            .graphql_as(Some(&ada), mine, json!({"after": after}))
            .await;
        let conn = connection(&body, &["me", "reservationsConnection"]).clone();
        assert_eq!(conn["totalCount"], 3, "{body}");
        seen.extend(ids(&conn));
        if !conn["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, adas);
    // Ada's cursor is not Bob's list.
    let body = app
        .graphql_as(Some(&bob), mine, json!({"after": after}))
        .await;
    assert_refused(&body, "BAD_USER_INPUT");
    // Anonymous: an empty page, as `reservations` is empty.
    let body = app.graphql_as(None, mine, json!({})).await;
    assert_eq!(
        connection(&body, &["me", "reservationsConnection"])["totalCount"],
        0
    );
}

#[tokio::test]
async fn edges_answer_alike_however_their_fields_are_selected() {
    let app = spawn_app().await;
    let room = app.create_room("Shapes", 4).await;
    book_many(&app, &room, 3).await;
    let page = |edges: &str| {
        format!(
            "query($id: ID!) {{ room(id: $id) {{ reservationsConnection(first: 3) {{ edges {edges} }} }} }}"
        )
    };
    let plain = app
        .graphql(
            &page("{ __typename cursor node { id start } }"),
            json!({"id": room}),
        )
        .await;
    let edges = &connection(&plain, &["room", "reservationsConnection"])["edges"];
    assert_eq!(edges.as_array().unwrap().len(), 3);
    assert_eq!(edges[0]["__typename"], "ReservationEdge");
    for other in [
        // A fragment, an inline fragment, a directive, and a field named twice take the
        // executor's general way; the answer is the same.
        "{ ...E } } } } fragment E on ReservationEdge { __typename cursor node { id start }",
        "{ ... on ReservationEdge { __typename cursor } node { id start } }",
        "{ __typename cursor node @include(if: true) { id start } }",
        "{ __typename cursor node { id } node { start } }",
    ] {
        let query = if other.contains("fragment E") {
            format!(
                "query($id: ID!) {{ room(id: $id) {{ reservationsConnection(first: 3) {{ edges {other} }}"
            )
        } else {
            page(other)
        };
        let body = app.graphql(&query, json!({"id": room})).await;
        assert_eq!(body, plain, "{query}");
    }
    // A node's Non-Null field failing nulls the nearest nullable parent (the room), with the
    // error at its place.
    let body = app
        .graphql(
            &page("{ cursor node { id start(timeZone: \"Nowhere/Land\") } }"),
            json!({"id": room}),
        )
        .await;
    assert_eq!(body["data"]["room"], Value::Null, "{body}");
    assert_eq!(
        body["errors"][0]["path"],
        json!([
            "room",
            "reservationsConnection",
            "edges",
            0,
            "node",
            "start"
        ]),
        "{body}"
    );
}
