//! Gives every error an `extensions.code`: async-graphql's own parse, validation and input
//! coercion errors carry none, and API.md promises one on every refusal. Applied to responses
//! as they leave the server (HTTP and WebSocket), not as a schema extension: an extension
//! would put a hook on the resolution of every field.

use async_graphql::{Response, ServerError};

/// Sets `BAD_USER_INPUT` on every error of `response` that has no code.
pub fn fill_codes(response: &mut Response) {
    response.errors.iter_mut().for_each(fill_one);
}

fn fill_one(error: &mut ServerError) {
    let ext = error.extensions.get_or_insert_with(Default::default);
    if ext.get("code").is_none() {
        // Every error our resolvers raise has a code; one without came from checking the
        // request against the schema, which is the client's to fix.
        ext.set("code", "BAD_USER_INPUT");
    }
}

/// A response in which nothing executed: the request did not parse, validate or coerce its
/// variables (errors without a path, no data).
pub fn is_request_error(response: &Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}
