//! The one integration test binary: the real server, spoken to over HTTP.

mod booking;
mod calendar;
mod check_in;
mod cli;
mod concurrency;
mod connections;
mod helpers;
mod http;
mod identity;
mod limits;
mod listing;
mod live;
mod metrics;
mod postgres;
mod process;
mod properties;
mod replicas;
mod reschedule_cancel;
mod resume;
mod room_management;
mod room_policies;
mod rooms;
mod series;
mod subscriptions;
mod tokens;
mod ws_client;
