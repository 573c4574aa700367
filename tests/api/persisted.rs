//! API.md v3, "Persisted and trusted documents": automatic persisted queries (Apollo's
//! protocol) over POST, GET and WebSocket, with a bounded cache.

use serde_json::{json, Value};

use crate::helpers::{assert_refused, spawn_app, spawn_app_with, TestApp};
use crate::ws_client::WsClient;

const QUERY: &str = "query Persisted { rooms { id name } }";

fn hash_of(query: &str) -> String {
    roombook::graphql::sha256_hex(query)
}

fn persisted(hash: &str) -> Value {
    json!({"persistedQuery": {"version": 1, "sha256Hash": hash}})
}

async fn post(app: &TestApp, body: Value, accept: &str) -> (u16, Value) {
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("accept", accept)
        .json(&body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

fn assert_not_found(body: &Value) {
    let err = assert_refused(body, "PERSISTED_QUERY_NOT_FOUND");
    assert_eq!(err["message"], "PersistedQueryNotFound", "{body}");
    assert!(body.get("data").is_none_or(Value::is_null), "{body}");
}

#[tokio::test]
async fn a_hash_first_then_the_document_then_the_hash_alone() {
    let app = spawn_app().await;
    app.create_room("Persisted", 3).await;
    let hash = hash_of(QUERY);
    // Unknown hash: refused as a request error, 200 with application/json, 400 with the
    // GraphQL response type.
    let (status, body) = post(
        &app,
        json!({"extensions": persisted(&hash)}),
        "application/json",
    )
    .await;
    assert_eq!(status, 200);
    assert_not_found(&body);
    let (status, body) = post(
        &app,
        json!({"extensions": persisted(&hash)}),
        "application/graphql-response+json",
    )
    .await;
    assert_eq!(status, 400);
    assert_not_found(&body);
    // A document whose hash is not the one named: BAD_USER_INPUT, and nothing is kept.
    let (_, body) = post(
        &app,
        json!({"query": "{ rooms { id } }", "extensions": persisted(&hash)}),
        "application/json",
    )
    .await;
    assert_refused(&body, "BAD_USER_INPUT");
    // Hash and document: runs, and is kept.
    let (_, body) = post(
        &app,
        json!({"query": QUERY, "extensions": persisted(&hash)}),
        "application/json",
    )
    .await;
    assert_eq!(body["data"]["rooms"][0]["name"], "Persisted", "{body}");
    // The hash alone now runs it: POST, GET and WebSocket.
    let (_, body) = post(
        &app,
        json!({"extensions": persisted(&hash)}),
        "application/json",
    )
    .await;
    assert_eq!(body["data"]["rooms"][0]["name"], "Persisted", "{body}");
    let url = reqwest::Url::parse_with_params(
        &app.url("/graphql"),
        &[("extensions", persisted(&hash).to_string())],
    )
    .unwrap();
    let body: Value = app
        .client
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["rooms"][0]["name"], "Persisted", "{body}");
    let mut ws = WsClient::ready(&app).await;
    ws.send(json!({"type": "subscribe", "id": "1",
        "payload": {"query": "", "extensions": persisted(&hash)}}))
        .await;
    let msg = ws.recv().await;
    assert_eq!(msg["type"], "next", "{msg}");
    assert_eq!(
        msg["payload"]["data"]["rooms"][0]["name"], "Persisted",
        "{msg}"
    );
    // Over GET an unknown hash is refused the same way.
    let other = hash_of("{ me { isAdmin } }");
    let url = reqwest::Url::parse_with_params(
        &app.url("/graphql"),
        &[("extensions", persisted(&other).to_string())],
    )
    .unwrap();
    let body: Value = app
        .client
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_not_found(&body);
    // A malformed persistedQuery is BAD_USER_INPUT, never taken for a missing query.
    for bad in [
        json!({"persistedQuery": {"version": 2, "sha256Hash": hash}}),
        json!({"persistedQuery": {"version": 1, "sha256Hash": "abc"}}),
        json!({"persistedQuery": "yes"}),
    ] {
        let (_, body) = post(&app, json!({"extensions": bad}), "application/json").await;
        assert_refused(&body, "BAD_USER_INPUT");
    }
    // Without persistedQuery a missing query is still refused.
    let (status, _) = post(&app, json!({"extensions": {}}), "application/json").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_cache_is_bounded_by_its_flag() {
    let app = spawn_app_with(|c| roombook::config::ServeConfig {
        persisted_cache_size: 2,
        ..c
    })
    .await;
    let queries = [
        "{ rooms { id } }",
        "{ rooms { name } }",
        "{ me { isAdmin } }",
    ];
    for q in queries {
        let (_, body) = post(
            &app,
            json!({"query": q, "extensions": persisted(&hash_of(q))}),
            "application/json",
        )
        .await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    // Full at two: registering the third forgot the oldest.
    let (_, body) = post(
        &app,
        json!({"extensions": persisted(&hash_of(queries[0]))}),
        "application/json",
    )
    .await;
    assert_not_found(&body);
    let (_, body) = post(
        &app,
        json!({"extensions": persisted(&hash_of(queries[2]))}),
        "application/json",
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
}
