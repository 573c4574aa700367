//! GraphQL over WebSocket on `/graphql`: `graphql-transport-ws` (the graphql-ws library's
//! PROTOCOL.md, with every close code it names) and the legacy `graphql-ws`
//! (subscriptions-transport-ws). One task per connection owns the socket; each operation
//! runs in its own task and hands its messages to the connection's writer. A lone
//! `reservationEvents` subscription is delivered by `graphql::Live` (no execution of its own);
//! everything else runs through async-graphql's `execute_stream`.

mod connection;
mod operation;

use connection::*;
use operation::*;

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
/// `authorization` is the upgrade request's `Authorization` header (or why it is unusable),
/// used unless `connection_init` carries one.
pub fn upgrade(
    ws: WebSocketUpgrade,
    schema: AppSchema,
    state: WsState,
    authorization: Result<Option<String>, String>,
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
    // The connection's log lines carry the upgrade request's span (its `request_id`).
    let span = tracing::Span::current();
    ws.on_upgrade(move |mut socket| {
        tracker.track_future(tracing::Instrument::instrument(
            async move {
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
            },
            span,
        ))
    })
}

fn text(value: Value) -> Message {
    Message::Text(Utf8Bytes::from(value.to_string()))
}
