//! A WebSocket client that speaks graphql-transport-ws or graphql-ws message by message.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::TestApp;

pub const TRANSPORT: &str = "graphql-transport-ws";
pub const LEGACY: &str = "graphql-ws";

pub const EVENTS: &str =
    "subscription($room: ID, $after: String) { reservationEvents(roomId: $room, after: $after) {
    kind at cursor previousStart previousEnd previousRoom { id name }
    reservation { id start end status title room { id name } } } }";

pub struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How a connection ended, as the client saw it.
#[derive(Debug, PartialEq, Eq)]
pub struct Closed {
    pub code: u16,
    pub reason: String,
}

impl WsClient {
    pub async fn connect(app: &TestApp, protocol: Option<&str>) -> WsClient {
        WsClient::connect_to(app.addr, protocol).await
    }

    /// Connects to a server at `addr` (a replica process, say).
    pub async fn connect_to(addr: std::net::SocketAddr, protocol: Option<&str>) -> WsClient {
        let mut req = format!("ws://{addr}/graphql")
            .into_client_request()
            .unwrap();
        if let Some(p) = protocol {
            req.headers_mut()
                .insert("Sec-WebSocket-Protocol", HeaderValue::from_str(p).unwrap());
        }
        let (ws, resp) = tokio_tungstenite::connect_async(req)
            .await
            .expect("WebSocket connects");
        if let Some(p) = protocol {
            assert_eq!(resp.headers()["sec-websocket-protocol"], p);
        }
        WsClient { ws }
    }

    /// Connects with `protocol`, sending `authorization` in the upgrade request.
    pub async fn connect_with_authorization(
        addr: std::net::SocketAddr,
        protocol: &str,
        authorization: &str,
    ) -> WsClient {
        WsClient::connect_with_authorizations(addr, protocol, &[authorization.as_bytes()]).await
    }

    /// Connects with `protocol`, sending each of `values` as an `Authorization` header of the
    /// upgrade request: any bytes, several headers. The handshake is written by hand, since
    /// tungstenite's client sends only text header values.
    pub async fn connect_with_authorizations(
        addr: std::net::SocketAddr,
        protocol: &str,
        values: &[&[u8]],
    ) -> WsClient {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let mut req = format!(
            "GET /graphql HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: {protocol}\r\n"
        )
        .into_bytes();
        for value in values {
            req.extend_from_slice(b"Authorization: ");
            req.extend_from_slice(value);
            req.extend_from_slice(b"\r\n");
        }
        req.extend_from_slice(b"\r\n");
        stream.write_all(&req).await.unwrap();
        // The 101 answer, up to its blank line, byte by byte (a frame may follow it).
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(stream.read_u8().await.expect("an upgrade answer"));
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        let ws = WebSocketStream::from_raw_socket(
            MaybeTlsStream::Plain(stream),
            tokio_tungstenite::tungstenite::protocol::Role::Client,
            None,
        )
        .await;
        WsClient { ws }
    }

    /// Connects with graphql-transport-ws and completes the handshake.
    pub async fn ready(app: &TestApp) -> WsClient {
        WsClient::ready_at(app.addr).await
    }

    /// Connects to `addr` with graphql-transport-ws and completes the handshake.
    pub async fn ready_at(addr: std::net::SocketAddr) -> WsClient {
        let mut c = WsClient::connect_to(addr, Some(TRANSPORT)).await;
        c.send(json!({"type": "connection_init"})).await;
        assert_eq!(c.recv().await["type"], "connection_ack");
        c
    }

    pub async fn send(&mut self, v: Value) {
        self.send_text(&v.to_string()).await;
    }

    pub async fn send_text(&mut self, t: &str) {
        self.ws.send(Message::text(t)).await.expect("sent");
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({"type": "subscribe", "id": id, "payload": {"query": query, "variables": variables}}))
            .await;
    }

    /// The next text message as JSON, keep-alives included, within 10 s.
    async fn next_json(&mut self) -> Value {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("a message within 10 s")
                .expect("connection open")
                .expect("a frame");
            match msg {
                Message::Text(t) => return serde_json::from_str(t.as_str()).expect("JSON message"),
                Message::Close(frame) => panic!("closed while waiting for a message: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// The next protocol message (server keep-alives skipped), within 10 s.
    pub async fn recv(&mut self) -> Value {
        loop {
            let v = self.next_json().await;
            if v["type"] != "ka" && v["type"] != "ping" {
                return v;
            }
        }
    }

    /// The next protocol message, or `None` once the connection has closed (no close frame
    /// needed); within 10 s.
    pub async fn recv_or_closed(&mut self) -> Option<Value> {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("a message or a close within 10 s");
            match msg {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(t.as_str()).expect("JSON message");
                    if v["type"] != "ka" && v["type"] != "ping" {
                        return Some(v);
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// The next protocol message within `wait`, if one comes.
    pub async fn try_recv(&mut self, wait: Duration) -> Option<Value> {
        tokio::time::timeout(wait, self.recv()).await.ok()
    }

    /// The `type` of the next text message, keep-alives included.
    pub async fn recv_raw_type(&mut self) -> String {
        self.next_json().await["type"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The next event of operation `id`, as its `reservationEvents` payload.
    pub async fn event(&mut self, id: &str) -> Value {
        let msg = self.recv().await;
        assert_eq!(msg["id"], id, "{msg}");
        assert!(msg["type"] == "next" || msg["type"] == "data", "{msg}");
        assert!(msg["payload"].get("errors").is_none(), "{msg}");
        msg["payload"]["data"]["reservationEvents"].clone()
    }

    /// Waits for the server to close the connection, within 10 s.
    pub async fn closed(&mut self) -> Closed {
        loop {
            let next = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("closed within 10 s");
            match next {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return Closed {
                        code: u16::from(frame.code),
                        reason: frame.reason.to_string(),
                    }
                }
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => {
                    return Closed {
                        code: u16::from(CloseCode::Status),
                        reason: String::new(),
                    }
                }
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Sends a close frame and reports whether the server answered with one within 5 s.
    pub async fn close_and_await_reply(&mut self) -> bool {
        self.ws.close(None).await.expect("close frame sent");
        let wait = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Close(_))) => return true,
                    Some(Ok(_)) => continue,
                    None | Some(Err(_)) => return false,
                }
            }
        });
        wait.await.unwrap_or(false)
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
