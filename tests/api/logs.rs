//! The log as a machine reads it (`--log-format json`): one JSON object a line, a request id
//! returned in `x-request-id` and carried by every line the request causes, and never a
//! token or a secret.

use std::process::{Command, Stdio};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::process::{free_port, wait_until_healthy, BIN};
use crate::tokens::{admin, hs256, member, SECRET};

/// The lines whose span carries `id`.
fn lines_of<'a>(lines: &'a [Value], id: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| l["span"]["request_id"] == id)
        .collect()
}

#[tokio::test]
async fn json_logs_parse_line_by_line_and_carry_the_request_id_never_a_token() {
    let port = free_port();
    let log = std::env::temp_dir().join(format!("roombook-json-log-{port}.log"));
    let mut child = Command::new(BIN)
        .args([
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--log-format",
            "json",
        ])
        .env("ROOMBOOK_JWT_SECRET", SECRET)
        .env("RUST_LOG", "info")
        .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_until_healthy(&base).await;
    let client = reqwest::Client::new();
    let post = |token: Option<String>, request_id: Option<&str>, query: &str| {
        let mut req = client
            .post(format!("{base}/graphql"))
            .json(&json!({"query": query}));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        if let Some(id) = request_id {
            req = req.header("x-request-id", id);
        }
        req.send()
    };
    let id_of =
        |resp: &reqwest::Response| resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let good = hs256(&admin("root"));
    let created = post(
        Some(good.clone()),
        None,
        r#"mutation MakeRoom { createRoom(input: {name: "Logged", capacity: 4}) { id } }"#,
    )
    .await
    .unwrap();
    let created_id = id_of(&created);
    // Signed with another secret: refused, and the refusal's line is the request's.
    let forged = {
        let key = jsonwebtoken::EncodingKey::from_secret(b"another-secret-of-at-least-32-bytes!!");
        jsonwebtoken::encode(&jsonwebtoken::Header::default(), &member("eve"), &key).unwrap()
    };
    let refused = post(Some(forged.clone()), None, "{ rooms { id } }")
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let refused_id = id_of(&refused);
    // A proxy's plain id is kept; one that is not plain is replaced.
    let proxied = post(None, Some("edge-42.a_b"), "{ rooms { id } }")
        .await
        .unwrap();
    assert_eq!(id_of(&proxied), "edge-42.a_b");
    let odd = post(None, Some("has space"), "{ rooms { id } }")
        .await
        .unwrap();
    let odd_id = id_of(&odd);
    assert_ne!(odd_id, "has space");
    // Ids the server makes differ request by request.
    assert_ne!(created_id, refused_id);
    // A WebSocket whose token does not verify: its refusal is logged under the upgrade's id.
    let mut req = format!("ws://127.0.0.1:{port}/graphql")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, upgrade) = tokio_tungstenite::connect_async(req).await.unwrap();
    let ws_id = upgrade.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let init = json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {forged}")}});
    ws.send(Message::text(init.to_string())).await.unwrap();
    while let Some(Ok(msg)) = ws.next().await {
        if msg.is_close() {
            break;
        }
    }

    // Stop the server so that everything is written.
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    child.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for line in &lines {
        for field in ["timestamp", "level", "message", "target"] {
            assert!(line[field].is_string(), "no {field}: {line}");
        }
    }
    // Secrets and tokens never reach the log.
    for secret in [SECRET, good.as_str(), forged.as_str()] {
        assert!(!text.contains(secret), "a secret or token is in the log");
    }
    let served = |id: &str| {
        lines_of(&lines, id)
            .into_iter()
            .find(|l| l["message"] == "served")
            .unwrap_or_else(|| panic!("no served line for {id}:\n{text}"))
            .clone()
    };
    let line = served(&created_id);
    assert_eq!(line["status"], 200);
    assert_eq!(line["span"]["operation"], "MakeRoom");
    assert_eq!(line["span"]["method"], "POST");
    assert!(line["latency_ms"].is_string(), "{line}");
    assert_eq!(served(&refused_id)["status"], 401);
    let refusal = lines_of(&lines, &refused_id);
    assert!(
        refusal.iter().any(|l| l["message"] == "token refused"
            && l["reason"]
                .as_str()
                .is_some_and(|r| r.contains("signature"))),
        "{refusal:?}"
    );
    served("edge-42.a_b");
    served(&odd_id);
    assert!(
        lines_of(&lines, &ws_id)
            .iter()
            .any(|l| l["message"] == "WebSocket token refused"),
        "{text}"
    );
}
