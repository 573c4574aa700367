//! One operation of a connection: started through the schema (or live delivery), its results
//! relayed to the connection's outbox until it ends.

use super::*;

/// What an operation task tells its connection.
pub(super) enum Outgoing {
    Send(Message),
    /// Operation `id` (of generation `u64`) has ended on its own.
    Done(String, u64),
}

/// Nothing ran because the caller may not: no data, an `UNAUTHENTICATED` or `FORBIDDEN` error.
pub(super) fn is_auth_refusal(resp: &async_graphql::Response) -> bool {
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

/// One running operation of a connection.
pub(super) struct Operation {
    pub(super) id: String,
    pub(super) protocol: Protocol,
    pub(super) out: mpsc::Sender<Outgoing>,
}

/// What an operation starts from.
pub(super) struct Start {
    pub(super) schema: AppSchema,
    pub(super) live: Arc<Live>,
    pub(super) request: Request,
    pub(super) principal: Principal,
}

impl Operation {
    /// Runs the operation. Boxed where it is not live delivery: the future of an idle
    /// subscription is most of its memory, and should not carry room for the rest.
    pub(super) async fn run(self, start: Box<Start>, generation: u64) {
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
