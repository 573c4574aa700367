//! GraphQL over WebSocket on `/graphql`: `graphql-transport-ws` (the graphql-ws library's
//! PROTOCOL.md, with every close code it names) and the legacy `graphql-ws`
//! (subscriptions-transport-ws). One task per connection owns the socket; each operation
//! runs in its own task and hands its messages to the connection's writer. A lone
//! `reservationEvents` subscription is delivered by `graphql::Live` (no execution of its own);
//! everything else runs through async-graphql's `execute_stream`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::Request;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response as HttpResponse;
use futures_channel::mpsc;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::{Auth, Principal};
use crate::graphql::{
    fill_codes, is_request_error, AppSchema, Documents, Live, LiveSubscription, Started,
};

/// The two subprotocols, as named in `Sec-WebSocket-Protocol`.
pub const TRANSPORT_WS: &str = "graphql-transport-ws";
/// The legacy subprotocol of subscriptions-transport-ws.
pub const LEGACY_WS: &str = "graphql-ws";

/// Each connection's initial read buffer.
const READ_BUFFER_BYTES: usize = 1024;

/// Limits and timers of WebSocket connections.
#[derive(Clone, Debug)]
pub struct WsConfig {
    /// How long a client may take to send `connection_init` (graphql-transport-ws: 4408).
    pub init_timeout: Duration,
    /// How often the server pings (and, on the legacy protocol, sends `ka`); a peer silent
    /// for three of these is gone.
    pub keepalive: Duration,
    /// Operations one connection may run at once.
    pub max_operations: usize,
    /// Largest message accepted, in bytes.
    pub max_message_bytes: usize,
}

impl Default for WsConfig {
    fn default() -> Self {
        WsConfig {
            init_timeout: Duration::from_secs(3),
            keepalive: Duration::from_secs(15),
            max_operations: 100,
            max_message_bytes: 64 * 1024,
        }
    }
}

/// What the WebSocket endpoint shares: the schema, limits, authentication and shutdown.
#[derive(Clone)]
pub struct WsState {
    pub config: WsConfig,
    /// Who connections act as (their token from `connection_init` or the upgrade request).
    pub auth: Auth,
    /// Cancelled when the server shuts down: every connection then closes with 1001.
    pub shutdown: CancellationToken,
    /// Tracks connection tasks so shutdown can wait for them to close.
    pub connections: TaskTracker,
    /// Runs `reservationEvents` subscriptions without an execution each.
    pub live: Arc<Live>,
    /// Parses and bounds every document, as for HTTP.
    pub documents: Arc<Documents>,
}

impl WsState {
    pub fn new(config: WsConfig, auth: Auth, live: Arc<Live>, documents: Arc<Documents>) -> Self {
        WsState {
            config,
            auth,
            live,
            documents,
            shutdown: CancellationToken::new(),
            connections: TaskTracker::new(),
        }
    }

    /// Closes every connection and waits, at most `grace`, for them to finish.
    pub async fn close_all(&self, grace: Duration) {
        self.shutdown.cancel();
        self.connections.close();
        if tokio::time::timeout(grace, self.connections.wait())
            .await
            .is_err()
        {
            tracing::warn!("some WebSocket connections did not close in time");
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    TransportWs,
    Legacy,
}

impl Protocol {
    /// The type of the message carrying one result: `next`, or the legacy `data`.
    fn result_type(self) -> &'static str {
        match self {
            Protocol::TransportWs => "next",
            Protocol::Legacy => "data",
        }
    }
}

/// Upgrades to a WebSocket speaking whichever of the two protocols the client offers.
/// `authorization` is the upgrade request's `Authorization` header, used unless
/// `connection_init` carries one.
pub fn upgrade(
    ws: WebSocketUpgrade,
    schema: AppSchema,
    state: WsState,
    authorization: Option<String>,
) -> HttpResponse {
    let ws = ws
        .protocols([TRANSPORT_WS, LEGACY_WS])
        // tungstenite allocates (and zero-fills) its whole read buffer per connection: 128 KiB
        // by default, almost all of an idle socket's memory (146 KB per subscribed socket; 19
        // KB with 1 KiB, `cargo bench --bench load -- idle-sockets`; live delivery and a lean
        // connection took it to 7 KB). Protocol messages are small; a larger one grows the
        // buffer to its length as it arrives.
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(state.config.max_message_bytes)
        .max_frame_size(state.config.max_message_bytes);
    let protocol = match ws.selected_protocol().and_then(|p| p.to_str().ok()) {
        Some(TRANSPORT_WS) => Some(Protocol::TransportWs),
        Some(LEGACY_WS) => Some(Protocol::Legacy),
        _ => None,
    };
    let tracker = state.connections.clone();
    ws.on_upgrade(move |mut socket| {
        tracker.track_future(async move {
            match protocol {
                Some(protocol) => {
                    Connection::new(socket, protocol, schema, state, authorization)
                        .run()
                        .await
                }
                None => {
                    let reason =
                        "Subprotocol not acceptable: use graphql-transport-ws or graphql-ws";
                    close_gracefully(&mut socket, 4406, reason).await;
                }
            }
        })
    })
}

/// The close frame owed for a read that failed on the peer's frames, or `None` when the
/// connection itself is gone. tungstenite's error reaches us boxed in `axum::Error`, whose text
/// is tungstenite's own; the WebSocket tests hold each case to its code.
fn read_failure(e: &axum::Error, max_message_bytes: usize) -> Option<(u16, String)> {
    let text = e.to_string();
    if text.starts_with("Space limit exceeded") {
        Some((
            1009,
            format!("message too big: at most {max_message_bytes} bytes"),
        ))
    } else if text.starts_with("WebSocket protocol error") {
        Some((1002, text))
    } else if text.starts_with("UTF-8 encoding error") {
        Some((1007, "text message is not UTF-8".to_owned()))
    } else {
        None
    }
}

/// Sends our close frame, then reads (and drops) what the peer still sends until its close
/// frame, for at most `CLOSE_REPLY_WAIT`. Closing the socket with unread data in it makes the
/// kernel reset the connection, and a reset can destroy the close frame we just sent before
/// the peer reads it.
async fn close_gracefully(socket: &mut WebSocket, code: u16, reason: &str) {
    if socket.send(close(code, reason)).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(CLOSE_REPLY_WAIT, async {
        while let Some(Ok(msg)) = socket.recv().await {
            if matches!(msg, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

/// How long a closing connection waits for the peer's close frame.
const CLOSE_REPLY_WAIT: Duration = Duration::from_secs(2);

/// A close frame; its reason is cut to the 123 bytes a close frame can carry.
fn close(code: u16, reason: &str) -> Message {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from(&reason[..end]),
    }))
}

fn text(value: Value) -> Message {
    Message::Text(Utf8Bytes::from(value.to_string()))
}

/// What an operation task tells its connection.
enum Outgoing {
    Send(Message),
    /// Operation `id` (of generation `u64`) has ended on its own.
    Done(String, u64),
}

/// graphql-transport-ws messages from the client.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    ConnectionInit {
        payload: Option<Value>,
    },
    Ping {
        payload: Option<Value>,
    },
    Pong {
        #[allow(dead_code)]
        payload: Option<Value>,
    },
    Subscribe {
        id: String,
        payload: Box<Request>,
    },
    Complete {
        id: String,
    },
}

/// subscriptions-transport-ws messages from the client.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum LegacyMessage {
    ConnectionInit { payload: Option<Value> },
    Start { id: String, payload: Box<Request> },
    Stop { id: String },
    ConnectionTerminate,
}

/// Whether to keep the connection after a message.
enum Flow {
    Continue,
    Close(u16, String),
}

struct Connection {
    socket: WebSocket,
    protocol: Protocol,
    schema: AppSchema,
    state: WsState,
    init_received: bool,
    acked: bool,
    operations: HashMap<String, (u64, AbortHandle)>,
    tasks: JoinSet<()>,
    generation: u64,
    out_tx: mpsc::Sender<Outgoing>,
    out_rx: mpsc::Receiver<Outgoing>,
    /// The upgrade request's `Authorization`, until `connection_init` decides who this is.
    authorization: Option<String>,
    /// Who the operations of this connection run as (decided at `connection_init`).
    principal: Principal,
    /// When the connection's token expires (plus leeway): set at `connection_init`, taken
    /// by the loop to arm its timer.
    expires: Option<Instant>,
}

impl Connection {
    fn new(
        socket: WebSocket,
        protocol: Protocol,
        schema: AppSchema,
        state: WsState,
        authorization: Option<String>,
    ) -> Self {
        // futures' channel rather than tokio's: tokio's allocates a block of 32 slots up front
        // (~1.5 KB a connection, idle or not); this one allocates per message in flight.
        let (out_tx, out_rx) = mpsc::channel(256);
        Connection {
            socket,
            protocol,
            schema,
            state,
            authorization,
            principal: Principal::Anonymous,
            expires: None,
            init_received: false,
            acked: false,
            operations: HashMap::new(),
            tasks: JoinSet::new(),
            generation: 0,
            out_tx,
            out_rx,
        }
    }

    async fn run(mut self) {
        let init_deadline = tokio::time::sleep(self.state.config.init_timeout);
        tokio::pin!(init_deadline);
        let keepalive_every = self.state.config.keepalive;
        let mut keepalive =
            tokio::time::interval_at(Instant::now() + keepalive_every, keepalive_every);
        let mut last_heard = Instant::now();
        let shutdown = self.state.shutdown.clone();
        // Armed at `connection_init` when the token has an expiry.
        let expiry = tokio::time::sleep(Duration::from_secs(u32::MAX as u64));
        tokio::pin!(expiry);
        let mut expiry_armed = false;
        let ending = loop {
            if let Some(at) = self.expires.take() {
                expiry.as_mut().reset(at);
                expiry_armed = true;
            }
            tokio::select! {
                () = shutdown.cancelled() => break Some((1001, "server shutting down".to_owned())),
                () = &mut expiry, if expiry_armed => {
                    break Some((4403, "Forbidden: the token has expired".to_owned()));
                }
                () = &mut init_deadline, if !self.init_received && self.protocol == Protocol::TransportWs => {
                    break Some((4408, "Connection initialisation timeout".to_owned()));
                }
                _ = keepalive.tick() => {
                    if last_heard.elapsed() > keepalive_every * 3 {
                        tracing::debug!("WebSocket peer went silent; closing");
                        break Some((1001, "no response to keep-alive pings".to_owned()));
                    }
                    if Box::pin(self.send_keepalive()).await.is_err() {
                        break None;
                    }
                }
                Some(out) = self.out_rx.next() => match out {
                    Outgoing::Send(msg) => {
                        if self.socket.send(msg).await.is_err() {
                            break None;
                        }
                    }
                    Outgoing::Done(id, generation) => {
                        if self.operations.get(&id).is_some_and(|(g, _)| *g == generation) {
                            self.operations.remove(&id);
                        }
                    }
                },
                incoming = self.socket.recv() => {
                    let msg = match incoming {
                        Some(Ok(msg)) => msg,
                        // RFC 6455 7.4.1: the close code says why (1009 too big, 1002 a
                        // protocol violation, 1007 text that is not UTF-8).
                        Some(Err(e)) => match read_failure(&e, self.state.config.max_message_bytes) {
                            Some(ending) => {
                                tracing::info!(error = %e, "WebSocket closed: bad frame");
                                break Some(ending);
                            }
                            None => {
                                tracing::debug!(error = %e, "WebSocket read failed");
                                break None;
                            }
                        },
                        None => break None,
                    };
                    last_heard = Instant::now();
                    let flow = match msg {
                        // Boxed: the future of a connection waiting for its next message should
                        // not carry room for handling one.
                        Message::Text(t) => Box::pin(self.on_text(t.as_str())).await,
                        Message::Binary(_) => self.invalid("binary messages are not part of the protocol"),
                        // RFC 6455 5.5.1: the peer's close is answered with a close frame, which
                        // tungstenite queued on reading it; flushing sends it.
                        Message::Close(_) => {
                            let _ = self.socket.flush().await;
                            break None;
                        }
                        Message::Ping(_) | Message::Pong(_) => Flow::Continue,
                    };
                    if let Flow::Close(code, reason) = flow {
                        break Some((code, reason));
                    }
                }
            }
        };
        // Stop every operation first: nothing more is sent after the close frame.
        self.tasks.abort_all();
        if let Some((code, reason)) = ending {
            Box::pin(close_gracefully(&mut self.socket, code, &reason)).await;
        }
    }

    async fn send_keepalive(&mut self) -> Result<(), axum::Error> {
        self.socket.send(Message::Ping(Default::default())).await?;
        match self.protocol {
            Protocol::TransportWs => self.socket.send(text(json!({"type": "ping"}))).await,
            Protocol::Legacy if self.acked => self.socket.send(text(json!({"type": "ka"}))).await,
            Protocol::Legacy => Ok(()),
        }
    }

    /// An invalid message: graphql-transport-ws closes with 4400; legacy reports an error.
    fn invalid(&mut self, reason: &str) -> Flow {
        match self.protocol {
            Protocol::TransportWs => Flow::Close(4400, reason.to_owned()),
            Protocol::Legacy => {
                let msg = text(json!({"type": "error", "payload": {"message": reason}}));
                self.queue(msg);
                Flow::Continue
            }
        }
    }

    fn queue(&mut self, msg: Message) {
        if self.out_tx.try_send(Outgoing::Send(msg)).is_err() {
            tracing::debug!("WebSocket outbox full; dropping a protocol message");
        }
    }

    async fn on_text(&mut self, raw: &str) -> Flow {
        match self.protocol {
            Protocol::TransportWs => match serde_json::from_str::<ClientMessage>(raw) {
                Ok(msg) => self.on_transport_message(msg).await,
                Err(e) => self.invalid(&format!("Invalid message received: {e}")),
            },
            Protocol::Legacy => match serde_json::from_str::<LegacyMessage>(raw) {
                Ok(msg) => self.on_legacy_message(msg).await,
                Err(e) => self.invalid(&format!("Invalid message received: {e}")),
            },
        }
    }

    async fn on_transport_message(&mut self, msg: ClientMessage) -> Flow {
        match msg {
            ClientMessage::ConnectionInit { payload } => {
                if self.init_received {
                    return Flow::Close(4429, "Too many initialisation requests".into());
                }
                self.init_received = true;
                if let Err(reason) = self.authenticate(payload.as_ref()) {
                    return Flow::Close(4403, format!("Forbidden: {reason}"));
                }
                self.acked = true;
                self.queue(text(json!({"type": "connection_ack"})));
            }
            ClientMessage::Ping { payload } => {
                let pong = match payload {
                    Some(p) => json!({"type": "pong", "payload": p}),
                    None => json!({"type": "pong"}),
                };
                self.queue(text(pong));
            }
            ClientMessage::Pong { .. } => {}
            ClientMessage::Subscribe { id, payload } => {
                if !self.acked {
                    return Flow::Close(4401, "Unauthorized".into());
                }
                if self.operations.contains_key(&id) {
                    return Flow::Close(4409, format!("Subscriber for {id} already exists"));
                }
                self.start(id, *payload);
            }
            ClientMessage::Complete { id } => {
                self.stop(&id);
            }
        }
        Flow::Continue
    }

    async fn on_legacy_message(&mut self, msg: LegacyMessage) -> Flow {
        match msg {
            LegacyMessage::ConnectionInit { payload } => {
                self.init_received = true;
                if let Err(reason) = self.authenticate(payload.as_ref()) {
                    let msg = json!({"type": "connection_error", "payload": {"message": reason}});
                    let _ = self.socket.send(text(msg)).await;
                    return Flow::Close(4403, format!("Forbidden: {reason}"));
                }
                self.acked = true;
                self.queue(text(json!({"type": "connection_ack"})));
                self.queue(text(json!({"type": "ka"})));
            }
            LegacyMessage::Start { id, payload } => {
                if !self.acked {
                    let msg = json!({"type": "error", "id": id,
                        "payload": {"message": "send connection_init before start"}});
                    self.queue(text(msg));
                } else {
                    // subscriptions-transport-ws replaces an operation whose id is reused.
                    self.stop(&id);
                    self.start(id, *payload);
                }
            }
            LegacyMessage::Stop { id } => {
                // API.md (v2): a legacy `stop` is answered with `complete` for that id.
                if self.stop(&id) {
                    self.queue(text(json!({"type": "complete", "id": id})));
                }
            }
            LegacyMessage::ConnectionTerminate => return Flow::Close(1000, "terminated".into()),
        }
        Flow::Continue
    }

    /// Decides who this connection is: the token in the `connection_init` payload
    /// (`{"Authorization": "Bearer ..."}` or `{"headers": {"Authorization": ...}}`), else the
    /// upgrade request's. A token that does not verify is refused (never taken for
    /// anonymous); a valid one closes the connection when it expires.
    fn authenticate(&mut self, payload: Option<&Value>) -> Result<(), String> {
        let from_init = payload.and_then(authorization_in);
        let value = from_init.or(self.authorization.as_deref());
        let principal = self.state.auth.authenticate(value).map_err(|r| {
            tracing::info!(reason = %r.0, "WebSocket token refused");
            r.0
        })?;
        self.authorization = None;
        if let Principal::Token(id) = &principal {
            self.expires = Some(Instant::now() + self.state.auth.token_valid_for(id));
        }
        self.principal = principal;
        Ok(())
    }

    /// Ends operation `id`, if it runs; whether it did.
    fn stop(&mut self, id: &str) -> bool {
        match self.operations.remove(id) {
            Some((_, handle)) => {
                handle.abort();
                true
            }
            None => false,
        }
    }

    fn start(&mut self, id: String, mut request: Request) {
        let refusal = if self.operations.len() >= self.state.config.max_operations {
            let message = format!(
                "too many operations on this connection (at most {}); complete one first",
                self.state.config.max_operations
            );
            Some(crate::error::Error::BadUserInput(message).into_server_error(None))
        } else {
            // The guard, parsing and aliases, exactly as over HTTP.
            self.state.documents.admit(&mut request).err()
        };
        if let Some(error) = refusal {
            tracing::info!(message = %error.message, "WebSocket operation refused");
            let msg = match self.protocol {
                Protocol::TransportWs => json!({"type": "error", "id": id, "payload": [error]}),
                Protocol::Legacy => {
                    json!({"type": "error", "id": id, "payload": {"message": error.message}})
                }
            };
            self.queue(text(msg));
            return;
        }
        self.generation += 1;
        let generation = self.generation;
        let op = Operation {
            id: id.clone(),
            protocol: self.protocol,
            out: self.out_tx.clone(),
        };
        let start = Box::new(Start {
            schema: self.schema.clone(),
            live: Arc::clone(&self.state.live),
            request,
            principal: self.principal.clone(),
        });
        let handle = self.tasks.spawn(op.run(start, generation));
        self.operations.insert(id, (generation, handle));
    }
}

/// Nothing ran because the caller may not: no data, an `UNAUTHENTICATED` or `FORBIDDEN` error.
fn is_auth_refusal(resp: &async_graphql::Response) -> bool {
    resp.data == async_graphql::Value::Null
        && resp.errors.iter().any(|e| {
            e.extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .is_some_and(|c| {
                    *c == async_graphql::Value::from("UNAUTHENTICATED")
                        || *c == async_graphql::Value::from("FORBIDDEN")
                })
        })
}

/// The `Authorization` value in a `connection_init` payload, at its top level or under
/// `headers` (names ignore case, as HTTP's do).
fn authorization_in(payload: &Value) -> Option<&str> {
    fn find(map: &serde_json::Map<String, Value>) -> Option<&str> {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .and_then(|(_, v)| v.as_str())
    }
    let map = payload.as_object()?;
    find(map).or_else(|| map.get("headers")?.as_object().and_then(find))
}

/// One running operation of a connection.
struct Operation {
    id: String,
    protocol: Protocol,
    out: mpsc::Sender<Outgoing>,
}

/// What an operation starts from.
struct Start {
    schema: AppSchema,
    live: Arc<Live>,
    request: Request,
    principal: Principal,
}

impl Operation {
    /// Runs the operation. Boxed where it is not live delivery: the future of an idle
    /// subscription is most of its memory, and should not carry room for the rest.
    async fn run(self, start: Box<Start>, generation: u64) {
        let started = Box::pin(
            start
                .live
                .start(&start.schema, start.request, start.principal),
        );
        match started.await {
            Started::Live(subscription) => self.deliver(subscription, generation).await,
            Started::Responses(stream) => Box::pin(self.relay(stream, generation)).await,
        }
    }

    /// Sends a live subscription's events until it ends or the connection goes.
    async fn deliver(mut self, mut subscription: LiveSubscription, generation: u64) {
        let ty = self.protocol.result_type();
        let id = Value::from(self.id.as_str()).to_string();
        while let Some(payload) = subscription.next().await {
            let msg = format!(r#"{{"type":"{ty}","id":{id},"payload":{payload}}}"#);
            let msg = Message::Text(Utf8Bytes::from(msg));
            if self.out.send(Outgoing::Send(msg)).await.is_err() {
                return; // the connection is gone
            }
        }
        self.finish(generation).await;
    }

    async fn finish(mut self, generation: u64) {
        let complete = json!({"type": "complete", "id": self.id});
        let _ = self.out.send(Outgoing::Send(text(complete))).await;
        let _ = self.out.send(Outgoing::Done(self.id, generation)).await;
    }

    /// Sends the responses of an execution (a refusal ends it with `error`).
    async fn relay(
        mut self,
        mut stream: futures_util::stream::BoxStream<'static, async_graphql::Response>,
        generation: u64,
    ) {
        let mut first = true;
        while let Some(mut resp) = stream.next().await {
            fill_codes(&mut resp);
            let refused = first
                && (is_request_error(&resp) && self.protocol == Protocol::TransportWs
                    || is_auth_refusal(&resp));
            let msg = if refused {
                // PROTOCOL.md: errors before execution end the operation with `error`; so does
                // a caller refused the subscription (API.md: anonymous sockets get an `error`).
                let msg = match self.protocol {
                    Protocol::TransportWs => {
                        json!({"type": "error", "id": self.id, "payload": resp.errors})
                    }
                    Protocol::Legacy => {
                        json!({"type": "error", "id": self.id, "payload": resp.errors[0]})
                    }
                };
                let _ = self.out.send(Outgoing::Send(text(msg))).await;
                let _ = self.out.send(Outgoing::Done(self.id, generation)).await;
                return;
            } else {
                json!({"type": self.protocol.result_type(), "id": self.id, "payload": resp})
            };
            first = false;
            if self.out.send(Outgoing::Send(text(msg))).await.is_err() {
                return; // the connection is gone
            }
        }
        self.finish(generation).await;
    }
}
