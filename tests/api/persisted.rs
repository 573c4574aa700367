//! API.md v3, "Persisted and trusted documents": automatic persisted queries (Apollo's
//! protocol) over POST, GET and WebSocket, with a bounded cache.

use serde_json::{json, Value};

use crate::helpers::{assert_refused, spawn_app, spawn_app_with, TestApp};
use crate::process::{free_port, BIN};
use crate::tokens::{admin, hs256, hs256_auth, member};
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
    let body = app
        .get_graphql(&[("extensions", &persisted(&hash).to_string())])
        .await;
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
    let body = app
        .get_graphql(&[("extensions", &persisted(&other).to_string())])
        .await;
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

const TRUSTED_ROOMS: &str = "query TrustedRooms { rooms { id name } }";
const TRUSTED_ME: &str = "query TrustedMe { me { isAdmin } }";

/// A trusted-documents file holding `docs` (keyed `sha256:<hash>` for the first, bare hash
/// for the rest, as the two tools write them); its path.
fn trusted_file(docs: &[&str]) -> std::path::PathBuf {
    let map: serde_json::Map<String, Value> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let key = if i == 0 {
                format!("sha256:{}", hash_of(d))
            } else {
                hash_of(d)
            };
            (key, json!(d))
        })
        .collect();
    let path = std::env::temp_dir().join(format!("roombook-trusted-{}.json", free_port()));
    std::fs::write(&path, Value::Object(map).to_string()).unwrap();
    path
}

#[tokio::test]
async fn trusted_documents_are_named_by_id_and_only_they_run_for_non_admins() {
    let file = trusted_file(&[TRUSTED_ROOMS, TRUSTED_ME]);
    let app = spawn_app_with(|c| roombook::config::ServeConfig {
        auth: hs256_auth(60),
        trusted_documents: Some(file.clone()),
        trusted_documents_only: true,
        ..c
    })
    .await;
    let root = hs256(&admin("root"));
    let ada = hs256(&member("ada"));
    let as_ = |token: Option<&str>, body: Value| {
        let mut req = app.client.post(app.url("/graphql")).json(&body);
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    // An admin may run anything (GraphiQL stays usable): create a room.
    let body = as_(
        Some(&root),
        json!({"query": "mutation { createRoom(input: {name: \"Trusted\", capacity: 2}) { id } }"}),
    )
    .await;
    assert!(body["data"]["createRoom"]["id"].is_string(), "{body}");
    // By documentId, anonymous: POST, GET, WebSocket.
    let id = format!("sha256:{}", hash_of(TRUSTED_ROOMS));
    let body = as_(None, json!({"documentId": id})).await;
    assert_eq!(body["data"]["rooms"][0]["name"], "Trusted", "{body}");
    let body = app.get_graphql(&[("documentId", &id)]).await;
    assert_eq!(body["data"]["rooms"][0]["name"], "Trusted", "{body}");
    let mut ws = WsClient::ready(&app).await;
    ws.send(json!({"type": "subscribe", "id": "1", "payload": {"query": "", "documentId": id}}))
        .await;
    let msg = ws.recv().await;
    assert_eq!(
        msg["payload"]["data"]["rooms"][0]["name"], "Trusted",
        "{msg}"
    );
    // The bare-hash entry, by the APQ hash alone; and a trusted document sent in full.
    let body = as_(
        Some(&ada),
        json!({"extensions": persisted(&hash_of(TRUSTED_ME))}),
    )
    .await;
    assert_eq!(body["data"]["me"]["isAdmin"], false, "{body}");
    let body = as_(Some(&ada), json!({"query": TRUSTED_ME})).await;
    assert_eq!(body["data"]["me"]["isAdmin"], false, "{body}");
    // Anything else, from a member or anonymous: DOCUMENT_NOT_TRUSTED, also when registered
    // as a persisted query (and then not kept).
    for token in [Some(ada.as_str()), None] {
        let body = as_(token, json!({"query": "{ rooms { id } }"})).await;
        assert_refused(&body, "DOCUMENT_NOT_TRUSTED");
    }
    let other = "{ rooms { name } }";
    let body = as_(
        Some(&ada),
        json!({"query": other, "extensions": persisted(&hash_of(other))}),
    )
    .await;
    assert_refused(&body, "DOCUMENT_NOT_TRUSTED");
    let body = as_(
        Some(&root),
        json!({"extensions": persisted(&hash_of(other))}),
    )
    .await;
    assert_not_found(&body);
    // An unknown id, and one that is not sha256:<hex>.
    let body = as_(
        None,
        json!({"documentId": format!("sha256:{}", hash_of(other))}),
    )
    .await;
    assert_not_found(&body);
    let body = as_(None, json!({"documentId": "md5:abc"})).await;
    assert_refused(&body, "BAD_USER_INPUT");
    let _ = std::fs::remove_file(file);
}

#[test]
fn a_trusted_documents_file_that_cannot_be_used_stops_the_start_in_one_line() {
    let wrong = std::env::temp_dir().join(format!("roombook-trusted-wrong-{}.json", free_port()));
    std::fs::write(
        &wrong,
        json!({ hash_of("{ me { isAdmin } }"): "{ rooms { id } }" }).to_string(),
    )
    .unwrap();
    let garbage =
        std::env::temp_dir().join(format!("roombook-trusted-garbage-{}.json", free_port()));
    std::fs::write(&garbage, "[1, 2]").unwrap();
    for (file, says) in [
        (&wrong, "is not the SHA-256 of its document"),
        (&garbage, "not a JSON object"),
    ] {
        let out = std::process::Command::new(BIN)
            .args(["--addr", "127.0.0.1:0", "--trusted-documents"])
            .arg(file)
            .env("RUST_LOG", "off")
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(
            err.contains(says) && err.contains("--trusted-documents"),
            "{err}"
        );
    }
    // Only-mode without a file is a flag error.
    let out = std::process::Command::new(BIN)
        .args(["--trusted-documents-only"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let _ = (std::fs::remove_file(wrong), std::fs::remove_file(garbage));
}
