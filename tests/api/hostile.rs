//! Nothing a request sends may abort or stall the server: documents nested deeper than the
//! parser and validator can recurse are refused before parsing, fragment fan-outs before they
//! are expanded, documents the specification refuses are refused, and every answer, WebSocket
//! close and malformed request included, is one a client can read. After each refusal the next
//! request is served. Without `graphql::guard`, the first of these tests aborts the whole test
//! binary (a stack overflow is an abort, not a panic).

use std::io::{Read, Write};

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use roombook::config::{Limits, ServeConfig};
use roombook::graphql::MAX_NESTING;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::ws_client::*;

/// Depths up to 100,000. Without the guard, where the process dies depends on the build: pest
/// (the parser's first pass) refuses very deep text when its stack runs low, but the passes
/// after it do not, so a debug build aborts at 500 and a release build at 2,000 (SIGABRT, "has
/// overflowed its stack"). Those come first, so a reverted guard aborts this test binary.
const DEPTHS: [usize; 9] = [500, 2_000, 100_000, 10_000, 3_000, 1_000, 300, 100, 65];

/// A server that takes bodies large enough for 100,000 levels of every shape.
async fn spawn_roomy() -> TestApp {
    spawn_app_with(|c| ServeConfig {
        limits: Limits {
            max_body_bytes: 4 << 20,
            ..Limits::default()
        },
        ..c
    })
    .await
}

/// Every shape a request controls that the parser or validator recurses on, `n` deep.
fn shapes(n: usize) -> Vec<(&'static str, String)> {
    let (open, close) = ("[".repeat(n), "]".repeat(n));
    vec![
        (
            "list literal",
            format!("{{ rooms(features: {open}\"a\"{close}) {{ id }} }}"),
        ),
        (
            "object literal",
            format!(
                "mutation {{ createRoom(input: {}1{}) {{ id }} }}",
                "{a: ".repeat(n),
                "}".repeat(n)
            ),
        ),
        (
            "list type of a variable",
            format!("query($v: {open}String{close}) {{ rooms {{ id }} }}"),
        ),
        (
            "directive argument",
            format!("{{ rooms @include(if: {open}true{close}) {{ id }} }}"),
        ),
        (
            "variable default",
            format!("query($v: [String] = {open}\"a\"{close}) {{ rooms(features: $v) {{ id }} }}"),
        ),
        (
            "selection sets",
            format!("{}{}", "{ a ".repeat(n), "}".repeat(n)),
        ),
        (
            "inline fragments",
            format!(
                "{{{} __typename{}}}",
                " ... on Query {".repeat(n),
                "}".repeat(n)
            ),
        ),
    ]
}

fn assert_nesting_refused(body: &Value, what: &str) {
    let err = assert_refused(body, "BAD_USER_INPUT");
    let message = err["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("nests deeper than {MAX_NESTING}")),
        "{what}: {message}"
    );
    assert!(err["locations"][0]["line"].is_number(), "{what}: {body}");
    assert!(body.get("data").is_none(), "{what}: {body}");
}

async fn still_serving(app: &TestApp) {
    let body = app.graphql("{ rooms { id } }", json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

async fn post(app: &TestApp, body: &Value) -> (u16, String, Value) {
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header(ACCEPT, "application/graphql-response+json")
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ty = resp.headers()[CONTENT_TYPE].to_str().unwrap().to_owned();
    (status, ty, resp.json().await.unwrap())
}

#[tokio::test]
async fn deeply_nested_documents_are_refused_before_parsing_over_http() {
    let app = spawn_roomy().await;
    for n in DEPTHS {
        for (what, query) in shapes(n) {
            let (status, ty, body) = post(&app, &json!({ "query": query })).await;
            assert_eq!(
                status, 400,
                "{what} at {n}: a parse error is a request error"
            );
            assert!(ty.starts_with("application/graphql-response+json"), "{ty}");
            assert_nesting_refused(&body, &format!("{what} at {n}"));
        }
        still_serving(&app).await;
    }
    // GET: the document in the query string.
    for (what, query) in shapes(1_000) {
        let resp = app
            .client
            .get(app.url("/graphql"))
            .query(&[("query", query.as_str())])
            .header(ACCEPT, "application/graphql-response+json")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{what}");
        assert_nesting_refused(&resp.json().await.unwrap(), what);
    }
    // A batch with one such document among ordinary ones.
    let (_, _, body) = post(
        &app,
        &json!([{"query": "{ rooms { id } }"}, {"query": shapes(100_000)[0].1}]),
    )
    .await;
    assert_nesting_refused(&body, "a batch");
    still_serving(&app).await;
}

/// Each shape as deep as fits in a WebSocket message (64 KiB): 4,000 to 20,000 levels.
fn within_a_message() -> Vec<(&'static str, String)> {
    let (one, two) = (shapes(1), shapes(2));
    (0..one.len())
        .map(|i| {
            let per_level = two[i].1.len() - one[i].1.len();
            let n = (60_000 / per_level).min(20_000);
            shapes(n).swap_remove(i)
        })
        .collect()
}

#[tokio::test]
async fn deeply_nested_documents_are_refused_over_both_websocket_protocols() {
    let app = spawn_app().await;
    let mut ws = WsClient::ready(&app).await;
    for (i, (what, query)) in within_a_message().into_iter().enumerate() {
        ws.subscribe(&i.to_string(), &query, json!({})).await;
        let msg = ws.recv().await;
        assert_eq!(msg["type"], "error", "{what}: {msg}");
        assert_eq!(msg["id"], i.to_string());
        let message = msg["payload"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("nests deeper than"), "{what}: {msg}");
        assert_eq!(
            msg["payload"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{msg}"
        );
    }
    ws.subscribe("ok", "{ rooms { id } }", json!({})).await;
    assert_eq!(ws.recv().await["type"], "next");

    let mut legacy = WsClient::connect(&app, Some(LEGACY)).await;
    legacy.send(json!({"type": "connection_init"})).await;
    assert_eq!(legacy.recv().await["type"], "connection_ack");
    for (i, (what, query)) in within_a_message().into_iter().enumerate() {
        legacy
            .send(json!({"type": "start", "id": i.to_string(), "payload": {"query": query}}))
            .await;
        let msg = legacy.recv().await;
        assert_eq!(msg["type"], "error", "{what}: {msg}");
        let message = msg["payload"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("nests deeper than"), "{what}: {msg}");
    }
    legacy
        .send(json!({"type": "start", "id": "ok", "payload": {"query": "{ rooms { id } }"}}))
        .await;
    assert_eq!(legacy.recv().await["type"], "data");
    still_serving(&app).await;
}

#[tokio::test]
async fn documents_nested_up_to_the_bound_are_parsed_and_validated_safely() {
    let app = spawn_app().await;
    // Each shape with its brackets nested exactly to the bound: the guard lets it through,
    // and the parser and validator (debug build: the largest stack frames) get to answer.
    let shapes_at_bound: Vec<(&str, String)> = (0..shapes(1).len())
        .map(|i| {
            let extra = deepest(&shapes(1)[i].1) - 1;
            let shape = shapes(MAX_NESTING - extra).swap_remove(i);
            assert_eq!(deepest(&shape.1), MAX_NESTING, "{}", shape.0);
            shape
        })
        .collect();
    for (what, query) in shapes_at_bound {
        let body = app.graphql(&query, json!({})).await;
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(!message.contains("nests deeper"), "{what}: {body}");
    }
    still_serving(&app).await;
}

/// How deep brackets nest in `query` (outside strings).
fn deepest(query: &str) -> usize {
    let (mut depth, mut deepest, mut in_string) = (0usize, 0usize, false);
    for c in query.chars() {
        match c {
            '"' => in_string = !in_string,
            '[' | '{' | '(' if !in_string => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ']' | '}' | ')' if !in_string => depth -= 1,
            _ => {}
        }
    }
    deepest
}

/// 25, 40 or 64 fragments, each spreading the next twice: 2^levels fields once expanded.
fn fan_out(levels: usize) -> String {
    let mut q = "{ ...L0 }".to_owned();
    for i in 0..levels {
        q += &format!(" fragment L{i} on Query {{ ...L{n} ...L{n} }}", n = i + 1);
    }
    q + &format!(" fragment L{levels} on Query {{ __typename }}")
}

#[tokio::test]
async fn fragment_fan_outs_are_refused_without_being_expanded() {
    let app = spawn_app().await;
    let mut ws = WsClient::ready(&app).await;
    for levels in [25, 40, 64] {
        let body = app.graphql(&fan_out(levels), json!({})).await;
        let err = assert_refused(&body, "BAD_USER_INPUT");
        let message = err["message"].as_str().unwrap();
        assert!(
            message.contains("too complex") || message.contains("nest deeper than 64"),
            "{levels}: {message}"
        );
        ws.subscribe("f", &fan_out(levels), json!({})).await;
        assert_eq!(ws.recv().await["type"], "error");
        still_serving(&app).await;
    }
    // 2^25 fields: the count is exact, fragment by fragment.
    let body = app.graphql(&fan_out(25), json!({})).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("selects 33554432 fields"),
        "{body}"
    );
    // A fan-out within the limit (2^9 = 512 fields) is served.
    let body = app.graphql(&fan_out(9), json!({})).await;
    assert_eq!(body, json!({"data": {"__typename": "Query"}}));
    // A cycle is refused by the guard too, before validation walks it.
    let body = app
        .graphql(
            "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
            json!({}),
        )
        .await;
    let err = assert_refused(&body, "BAD_USER_INPUT");
    assert!(err["message"]
        .as_str()
        .unwrap()
        .starts_with("Cannot spread fragment"));
}

/// A request error: refused before execution, nothing ran.
fn assert_invalid(body: &Value, needle: &str) {
    assert_refused(body, "BAD_USER_INPUT");
    assert!(body.get("data").is_none(), "nothing may run: {body}");
    let errors = body["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["message"].as_str().unwrap_or_default().contains(needle)),
        "expected {needle:?}: {body}"
    );
}

#[tokio::test]
async fn documents_the_specification_refuses_are_not_executed() {
    let app = spawn_app().await;
    // All Variable Usages Are Allowed: the value would have fitted, the declared type does not.
    let body = app
        .graphql(
            "query($v: Int!) { reservations(includeCancelled: $v) { id } }",
            json!({"v": true}),
        )
        .await;
    assert_invalid(&body, "used in position expecting type");
    let body = app
        .graphql(
            "query($v: DateTime) { rooms(building: $v) { id } }",
            json!({"v": "2030-01-01T00:00:00Z"}),
        )
        .await;
    assert_invalid(&body, "used in position expecting type");
    // ... while a nullable variable with a default fits a non-null position.
    let body = app
        .graphql(
            "query($v: Boolean = true) { reservations(includeCancelled: $v) { id } }",
            json!({}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");

    // Input Object Field Uniqueness: nothing created, not "b".
    let body = app
        .graphql(
            r#"mutation { createRoom(input: {name: "a", name: "b", capacity: 1}) { name } }"#,
            json!({}),
        )
        .await;
    assert_invalid(&body, "only one input field named \"name\"");

    // Values of Correct Type: an enum is an enum value, not a string.
    let series = |frequency: &str| {
        format!(
            r#"mutation {{ bookSeries(input: {{roomId: "00000000-0000-0000-0000-000000000000",
                start: "{}", end: "{}", title: "x", organizerName: "A", organizerEmail: "a@example.com",
                recurrence: {{frequency: {frequency}, count: 2}}}}) {{ series {{ id }} }} }}"#,
            at(0),
            at(30)
        )
    };
    assert_invalid(
        &app.graphql(&series("\"WEEKLY\""), json!({})).await,
        "cannot represent non-enum value",
    );
    let body = app.graphql(&series("WEEKLY"), json!({})).await;
    assert_eq!(
        code(&body),
        Some("NOT_FOUND"),
        "valid, then refused: {body}"
    );
    let body = app
        .graphql(
            "query($f: Frequency = \"DAILY\") { rooms { id } }",
            json!({}),
        )
        .await;
    assert_invalid(&body, "cannot represent non-enum value");
    // ... an Int is 32 bits, an input object an object.
    assert_invalid(
        &app.graphql(
            r#"mutation { createRoom(input: {name: "a", capacity: 3000000000}) { id } }"#,
            json!({}),
        )
        .await,
        "Invalid value",
    );
    assert_invalid(
        &app.graphql("mutation { updateRoom(input: 3) { id } }", json!({}))
            .await,
        "Invalid value",
    );
    let rooms = app.graphql("{ rooms { id } }", json!({})).await;
    assert_eq!(rooms["data"]["rooms"], json!([]), "nothing was created");
}

#[tokio::test]
async fn websocket_closes_are_answered_and_bad_frames_get_their_close_code() {
    let app = spawn_app().await;
    for protocol in [TRANSPORT, LEGACY] {
        let mut ws = WsClient::connect(&app, Some(protocol)).await;
        ws.send(json!({"type": "connection_init"})).await;
        assert_eq!(ws.recv().await["type"], "connection_ack");
        assert!(
            ws.close_and_await_reply().await,
            "{protocol}: our close frame must be answered (RFC 6455 5.5.1)"
        );

        let mut ws = WsClient::connect(&app, Some(protocol)).await;
        ws.send_text(&"x".repeat(70 * 1024)).await;
        assert_eq!(ws.closed().await.code, 1009, "{protocol}: message too big");
    }
    still_serving(&app).await;
}

/// One raw HTTP/1.1 exchange: the status line, headers and body as text.
fn raw(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn every_answer_on_graphql_has_a_json_body() {
    let app = spawn_app().await;
    // A header value with a control character: hyper refuses it before any route runs.
    let request =
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\x01b\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
    let addr = app.addr;
    let answer = tokio::task::spawn_blocking(move || raw(addr, request))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.contains("content-type: application/json"), "{head}");
    let body: Value = serde_json::from_str(body).expect("a JSON body");
    assert_refused(&body, "BAD_USER_INPUT");

    // Other methods: 405, with Allow and a GraphQL error body.
    let resp = app
        .client
        .put(app.url("/graphql"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "GET, POST");
    assert_refused(&resp.json().await.unwrap(), "BAD_USER_INPUT");
    still_serving(&app).await;
}
