//! Gives every error an `extensions.code`: async-graphql's own parse, validation and input
//! coercion errors carry none, and API.md promises one on every refusal.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextRequest, NextSubscribe,
};
use async_graphql::{Response, ServerError};
use futures_util::stream::{BoxStream, StreamExt};

/// The schema extension that fills in missing codes with `BAD_USER_INPUT`.
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodes)
    }
}

fn fill(mut response: Response) -> Response {
    response.errors.iter_mut().for_each(fill_one);
    response
}

fn fill_one(error: &mut ServerError) {
    let ext = error.extensions.get_or_insert_with(Default::default);
    if ext.get("code").is_none() {
        // Every error our resolvers raise has a code; one without came from checking the
        // request against the schema, which is the client's to fix.
        ext.set("code", "BAD_USER_INPUT");
    }
}

#[async_trait::async_trait]
impl Extension for ErrorCodes {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        fill(next.run(ctx).await)
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        next.run(ctx, stream).map(fill).boxed()
    }
}
