//! One WebSocket connection: its loop (keep-alives, the token's expiry, shutdown), the client's
//! messages in both protocols, and how it closes (the close codes, waiting for the peer's close).

use super::*;

/// The close frame owed for a read that failed on the peer's frames, or `None` when the
/// connection itself is gone. tungstenite's error reaches us boxed in `axum::Error`, whose text
/// is tungstenite's own; the WebSocket tests hold each case to its code.
pub(super) fn read_failure(e: &axum::Error, max_message_bytes: usize) -> Option<(u16, String)> {
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
pub(super) async fn close_gracefully(socket: &mut WebSocket, code: u16, reason: &str) {
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
pub(super) const CLOSE_REPLY_WAIT: Duration = Duration::from_secs(2);

/// A close frame; its reason is cut to the 123 bytes a close frame can carry.
pub(super) fn close(code: u16, reason: &str) -> Message {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from(&reason[..end]),
    }))
}

/// graphql-transport-ws messages from the client.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum ClientMessage {
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
pub(super) enum LegacyMessage {
    ConnectionInit { payload: Option<Value> },
    Start { id: String, payload: Box<Request> },
    Stop { id: String },
    ConnectionTerminate,
}

/// Whether to keep the connection after a message.
pub(super) enum Flow {
    Continue,
    Close(u16, String),
}

pub(super) struct Connection {
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
    /// The upgrade request's `Authorization` (or why it cannot be used), until
    /// `connection_init` decides who this is.
    authorization: Result<Option<String>, String>,
    /// Who the operations of this connection run as (decided at `connection_init`).
    principal: Principal,
    /// When the connection's token expires (plus leeway): set at `connection_init`, taken
    /// by the loop to arm its timer.
    expires: Option<Instant>,
}

impl Connection {
    pub(super) fn new(
        socket: WebSocket,
        protocol: Protocol,
        schema: AppSchema,
        state: WsState,
        authorization: Result<Option<String>, String>,
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

    pub(super) async fn run(mut self) {
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
                Ok(mut msg) => {
                    if let ClientMessage::Subscribe { payload, .. } = &mut msg {
                        with_document_id(raw, payload);
                    }
                    self.on_transport_message(msg).await
                }
                Err(e) => self.invalid(&format!("Invalid message received: {e}")),
            },
            Protocol::Legacy => match serde_json::from_str::<LegacyMessage>(raw) {
                Ok(mut msg) => {
                    if let LegacyMessage::Start { payload, .. } = &mut msg {
                        with_document_id(raw, payload);
                    }
                    self.on_legacy_message(msg).await
                }
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
                // One identity per connection, as graphql-transport-ws has it: a second init
                // would switch callers mid-connection and re-arm the expiry timer.
                if self.init_received {
                    let reason = "Too many initialisation requests";
                    let msg = json!({"type": "connection_error", "payload": {"message": reason}});
                    let _ = self.socket.send(text(msg)).await;
                    return Flow::Close(4429, reason.into());
                }
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
    /// upgrade request's. A credential that is bad in any way (a token that does not verify, a
    /// value that is not a string, two of them, an upgrade header that is not text) is refused,
    /// never taken for anonymous; a valid token closes the connection when it expires.
    fn authenticate(&mut self, payload: Option<&Value>) -> Result<(), String> {
        let upgrade = std::mem::replace(&mut self.authorization, Ok(None));
        let auth = &self.state.auth;
        let principal = if auth.is_secured() {
            let from_init = match payload {
                Some(p) => authorization_in(p)?,
                None => None,
            };
            let value = match from_init {
                Some(v) => Some(v),
                None => upgrade.as_ref().map_err(Clone::clone)?.as_deref(),
            };
            auth.authenticate(value).map_err(|r| r.0)
        } else {
            Ok(Principal::Open)
        }
        .map_err(|reason| {
            tracing::info!(%reason, "WebSocket token refused");
            reason
        })?;
        if let Principal::Token(id) = &principal {
            self.expires = Some(Instant::now() + auth.token_valid_for(id));
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
            self.state
                .documents
                .admit(&mut request, self.principal.is_admin())
                .err()
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
        let run = tracing::Instrument::in_current_span(op.run(start, generation));
        let handle = self.tasks.spawn(run);
        self.operations.insert(id, (generation, handle));
    }
}

/// The `Authorization` value in a `connection_init` payload, at its top level or under
/// `headers` (names ignore case, as HTTP's do). One that is not a string, or more than one,
/// is refused.
pub(super) fn authorization_in(payload: &Value) -> Result<Option<&str>, String> {
    fn all(map: &serde_json::Map<String, Value>) -> impl Iterator<Item = &Value> {
        map.iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .map(|(_, v)| v)
    }
    let Some(map) = payload.as_object() else {
        return Ok(None);
    };
    let headers = map.get("headers").and_then(Value::as_object);
    let mut found = all(map).chain(headers.into_iter().flat_map(all));
    let Some(value) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() {
        return Err("connection_init carries more than one Authorization; send one".into());
    }
    value
        .as_str()
        .map(Some)
        .ok_or_else(|| "the Authorization in connection_init must be a string".into())
}

/// Puts the payload's `documentId` (trusted documents), if the message has one, in the
/// request's extensions, as over HTTP; messages that do not mention it are not read again.
fn with_document_id(raw: &str, payload: &mut Request) {
    #[derive(Deserialize)]
    struct Message {
        payload: Named,
    }
    #[derive(Deserialize)]
    struct Named {
        #[serde(rename = "documentId")]
        document_id: Option<String>,
    }
    if !raw.contains("\"documentId\"") {
        return;
    }
    if let Ok(Message {
        payload: Named {
            document_id: Some(id),
        },
    }) = serde_json::from_str(raw)
    {
        crate::graphql::name_document(payload, id);
    }
}
