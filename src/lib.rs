//! roombook: meeting-room reservations over GraphQL. See `app` for how the pieces fit.

pub mod app;
pub mod auth;
pub mod calendar;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod graphiql;
pub mod graphql;
pub mod http;
pub mod instant;
pub mod jobs;
pub mod metrics;
pub mod pg_tls;
pub mod socket;
pub mod ws;

pub use error::{Error, Result};
