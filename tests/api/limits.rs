//! One client cannot exhaust the server: each limit refuses clearly, and normal traffic goes on.

use std::io::{Read, Write};

use roombook::config::{Limits, ServeConfig};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::ws_client::*;

fn with(limits: Limits) -> impl FnOnce(ServeConfig) -> ServeConfig {
    move |c| ServeConfig { limits, ..c }
}

/// After a refusal, an ordinary query is still answered.
async fn assert_still_serving(app: &TestApp) {
    let body = app.graphql("{ rooms { id } }", json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
}

fn aliases(n: usize) -> String {
    let fields: Vec<String> = (0..n).map(|i| format!("a{i}: rooms {{ id }}")).collect();
    format!("{{ {} }}", fields.join(" "))
}

#[tokio::test]
async fn too_many_aliases_are_refused_over_http_and_websocket() {
    let app = spawn_app().await;
    assert!(app
        .graphql(&aliases(30), json!({}))
        .await
        .get("errors")
        .is_none());
    let body = app.graphql(&aliases(31), json!({})).await;
    let err = assert_refused(&body, "BAD_USER_INPUT");
    assert!(
        err["message"].as_str().unwrap().contains("31 aliases"),
        "{body}"
    );
    assert!(body.get("data").is_none());

    let mut ws = WsClient::ready(&app).await;
    ws.subscribe("1", &aliases(31), json!({})).await;
    let msg = ws.recv().await;
    assert_eq!(msg["type"], "error", "{msg}");
    assert!(msg["payload"][0]["message"]
        .as_str()
        .unwrap()
        .contains("aliases"));
    // Normal traffic goes on, on the same connection too.
    ws.subscribe("2", "{ rooms { id } }", json!({})).await;
    assert_eq!(ws.recv().await["type"], "next");
}

#[tokio::test]
async fn too_complex_an_operation_is_refused() {
    let app = spawn_app_with(with(Limits {
        max_complexity: 10,
        ..Limits::default()
    }))
    .await;
    let fields = "id name capacity createdAt";
    let q = format!("{{ rooms {{ {fields} reservations {{ id start end title status room {{ {fields} }} }} }} }}");
    let body = app.graphql(&q, json!({})).await;
    let err = assert_refused(&body, "BAD_USER_INPUT");
    assert!(
        err["message"].as_str().unwrap().contains("too complex"),
        "{body}"
    );
    assert_still_serving(&app).await;
}

#[tokio::test]
async fn batches_are_served_up_to_their_limit() {
    let app = spawn_app().await;
    let op = json!({"query": "{ rooms { id } }"});
    let post = |n: usize| {
        app.client
            .post(app.url("/graphql"))
            .json(&Value::Array(vec![op.clone(); n]))
            .send()
    };
    let resp = post(10).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>()
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        10
    );
    let resp = post(11).await.unwrap();
    assert_eq!(resp.status(), 400);
    assert_refused(&resp.json::<Value>().await.unwrap(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn list_fields_are_bounded() {
    let app = spawn_app_with(with(Limits {
        max_list: 3,
        ..Limits::default()
    }))
    .await;
    let room = app.create_room("A", 2).await;
    for i in 0..3 {
        app.book(&room, &at(60 * i), &at(60 * i + 30)).await;
    }
    let list = "query($r: ID) { reservations(roomId: $r) { id } }";
    assert_eq!(
        app.graphql(list, json!({"r": room})).await["data"]["reservations"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    app.book(&room, &at(300), &at(330)).await;
    let body = app.graphql(list, json!({"r": room})).await;
    let err = assert_refused(&body, "BAD_USER_INPUT");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("more than 3 reservations"),
        "{body}"
    );
    let body = app
        .graphql(
            "query($id: ID!) { room(id: $id) { reservations { id } } }",
            json!({"id": room}),
        )
        .await;
    assert_refused(&body, "BAD_USER_INPUT");
    // A narrower window is served.
    let body = app
        .graphql("query($r: ID, $f: DateTime, $t: DateTime) { reservations(roomId: $r, from: $f, to: $t) { id } }", json!({"r": room, "f": at(0), "t": at(100)}))
        .await;
    assert_eq!(
        body["data"]["reservations"].as_array().unwrap().len(),
        2,
        "{body}"
    );
    for name in ["B", "C", "D"] {
        app.create_room(name, 2).await;
    }
    assert_refused(
        &app.graphql("{ rooms { id } }", json!({})).await,
        "BAD_USER_INPUT",
    );
    assert_eq!(
        app.graphql("{ rooms(minCapacity: 2) { id } }", json!({}))
            .await["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
}

#[tokio::test]
async fn the_body_limit_is_configurable() {
    let app = spawn_app_with(with(Limits {
        max_body_bytes: 1024,
        ..Limits::default()
    }))
    .await;
    let padded = format!("{{ rooms {{ id }} }} # {}", "x".repeat(2000));
    let resp = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({"query": padded}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    assert_still_serving(&app).await;
}

#[tokio::test]
async fn a_request_that_takes_too_long_times_out() {
    let app = spawn_app_with(with(Limits {
        request_timeout_ms: 300,
        ..Limits::default()
    }))
    .await;
    // A client that announces a body and never sends it.
    let addr = app.addr;
    let status = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        s.write_all(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{").unwrap();
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).to_string()
    })
    .await
    .unwrap();
    assert!(status.starts_with("HTTP/1.1 408"), "{status}");
    assert_still_serving(&app).await;
}

#[tokio::test]
async fn every_operation_in_the_documentation_fits_the_default_limits() {
    let app = spawn_app().await;
    let docs = [
        include_str!("../../README.md"),
        include_str!("../../docs/api.md"),
        include_str!("../../docs/running.md"),
        include_str!("../../docs/design.md"),
    ];
    let mut checked = 0;
    for block in docs.iter().flat_map(|d| d.split("```graphql").skip(1)) {
        let op = block.split("```").next().unwrap();
        let body = app.graphql(op, json!({})).await;
        for e in body["errors"].as_array().into_iter().flatten() {
            let m = e["message"].as_str().unwrap_or_default();
            assert!(
                !m.contains("too deep") && !m.contains("too complex") && !m.contains("aliases"),
                "{op}: {m}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 20, "found {checked} operations");
}
