//! Row structs and the queries on them, written once for both backends (see `conn`). Every
//! function takes the connection and returns `QueryResult`; which rows mean what is decided
//! by the callers in `db`'s files by concern.

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::prelude::*;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::{Sqlite, SqliteValue};
use std::io::Write;
use uuid::Uuid;

mod approval_rows;
mod event_rows;
mod idempotency_rows;
mod reservation_rows;
mod room_rows;
mod series_rows;
#[cfg(test)]
mod tests;

pub use event_rows::*;
pub use idempotency_rows::*;
pub use reservation_rows::*;
pub use room_rows::*;
pub use series_rows::*;

use super::conn::{dispatch, load_locked, Conn, Fetch};
use super::schema::{
    event_log, events, idempotency_keys, reservations, room_features, rooms, series,
};
use crate::domain::ReservationStatus;

/// A UUID stored as its hyphenated text, parsed straight from the database's buffer: no
/// `String` per value (a 100-row listing reads 200 of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct StoredUuid(pub Uuid);

impl FromSql<Text, Sqlite> for StoredUuid {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        Ok(StoredUuid(Uuid::parse_str(value.read_text())?))
    }
}

impl ToSql<Text, Sqlite> for StoredUuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.hyphenated().to_string());
        Ok(IsNull::No)
    }
}

impl FromSql<Text, Pg> for StoredUuid {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        Ok(StoredUuid(Uuid::try_parse_ascii(value.as_bytes())?))
    }
}

impl ToSql<Text, Pg> for StoredUuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        let mut buf = Uuid::encode_buffer();
        out.write_all(self.0.hyphenated().encode_lower(&mut buf).as_bytes())?;
        Ok(IsNull::No)
    }
}

/// A reservation's stored status (one of `ReservationStatus::STORED`), as its spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct StoredStatus(pub ReservationStatus);

pub(super) fn parse_status(text: &str) -> deserialize::Result<StoredStatus> {
    ReservationStatus::parse_stored(text)
        .map(StoredStatus)
        .ok_or_else(|| format!("unknown stored status {text:?}").into())
}

impl FromSql<Text, Sqlite> for StoredStatus {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        parse_status(value.read_text())
    }
}

impl ToSql<Text, Sqlite> for StoredStatus {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.as_str());
        Ok(IsNull::No)
    }
}

impl FromSql<Text, Pg> for StoredStatus {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        parse_status(std::str::from_utf8(value.as_bytes())?)
    }
}

impl ToSql<Text, Pg> for StoredStatus {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(self.0.as_str().as_bytes())?;
        Ok(IsNull::No)
    }
}
