//! One connection type over both backends, and the few helpers whose SQL differs.
//!
//! Queries are written once, as diesel expressions, and instantiated for each backend by
//! [`dispatch!`]: each arm is the same code, type-checked against that backend, so there is no
//! erased `MultiBackend` on the hot path and no second hand-written copy of a query.

use diesel::connection::DefaultLoadingMode;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::query_dsl::methods::{LimitDsl, LoadQuery};
use diesel::sqlite::SqliteConnection;

/// A borrowed connection of either backend.
pub enum Conn<'a> {
    Sqlite(&'a mut SqliteConnection),
    Pg(&'a mut PgConnection),
}

/// Runs the same code with the connection of whichever backend `conn` is.
macro_rules! dispatch {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::conn::Conn::Sqlite($c) => {
                let $c: &mut diesel::sqlite::SqliteConnection = &mut **$c;
                $body
            }
            $crate::db::conn::Conn::Pg($c) => {
                let $c: &mut diesel::pg::PgConnection = &mut **$c;
                $body
            }
        }
    };
}
pub(crate) use dispatch;

/// Loads the rows of `$query` as `$row`, locked for the rest of the transaction on PostgreSQL
/// (`FOR UPDATE`); SQLite's immediate transaction already holds the whole database.
macro_rules! load_locked {
    ($conn:expr, $query:expr, $row:ty) => {
        match $conn {
            $crate::db::conn::Conn::Sqlite(c) => $query.select(<$row>::as_select()).load(*c),
            $crate::db::conn::Conn::Pg(c) => {
                $query.select(<$row>::as_select()).for_update().load(*c)
            }
        }
    };
}
pub(crate) use load_locked;

/// Reading a bounded number of rows: the one place the backends want different SQL.
///
/// SQLite reads without `LIMIT`: diesel binds `LIMIT ?`, and SQLite re-prepares a statement
/// with a bound LIMIT on every execution (measured 15.3 us against 2.3 us per overlap probe),
/// while stepping the cursor reads the same rows from the cached plan. PostgreSQL's connection
/// loads a whole result before the first row is seen, so there the bound must be in the SQL.
pub trait Fetch: Sized {
    /// The first row of `query`, if any.
    fn first_row<'q, Q, U>(&mut self, query: Q) -> QueryResult<Option<U>>
    where
        Q: LimitDsl,
        Q: LoadQuery<'q, Self, U, DefaultLoadingMode>,
        diesel::dsl::Limit<Q>: LoadQuery<'q, Self, U, DefaultLoadingMode>,
        U: 'q;

    /// At most `max` rows of `query`, and whether there were more.
    fn at_most<'q, Q, U>(&mut self, query: Q, max: usize) -> QueryResult<(Vec<U>, bool)>
    where
        Q: LimitDsl,
        Q: LoadQuery<'q, Self, U, DefaultLoadingMode>,
        diesel::dsl::Limit<Q>: LoadQuery<'q, Self, U, DefaultLoadingMode>,
        U: 'q;
}

fn split_more<U>(mut rows: Vec<U>, max: usize) -> (Vec<U>, bool) {
    let more = rows.len() > max;
    rows.truncate(max);
    (rows, more)
}

impl Fetch for SqliteConnection {
    fn first_row<'q, Q, U>(&mut self, query: Q) -> QueryResult<Option<U>>
    where
        Q: LimitDsl,
        Q: LoadQuery<'q, Self, U, DefaultLoadingMode>,
        diesel::dsl::Limit<Q>: LoadQuery<'q, Self, U, DefaultLoadingMode>,
        U: 'q,
    {
        query.load_iter(self)?.next().transpose()
    }

    fn at_most<'q, Q, U>(&mut self, query: Q, max: usize) -> QueryResult<(Vec<U>, bool)>
    where
        Q: LimitDsl,
        Q: LoadQuery<'q, Self, U, DefaultLoadingMode>,
        diesel::dsl::Limit<Q>: LoadQuery<'q, Self, U, DefaultLoadingMode>,
        U: 'q,
    {
        let rows = query
            .load_iter(self)?
            .take(max.saturating_add(1))
            .collect::<QueryResult<Vec<U>>>()?;
        Ok(split_more(rows, max))
    }
}

impl Fetch for PgConnection {
    fn first_row<'q, Q, U>(&mut self, query: Q) -> QueryResult<Option<U>>
    where
        Q: LimitDsl,
        Q: LoadQuery<'q, Self, U, DefaultLoadingMode>,
        diesel::dsl::Limit<Q>: LoadQuery<'q, Self, U, DefaultLoadingMode>,
        U: 'q,
    {
        query.limit(1).load_iter(self)?.next().transpose()
    }

    fn at_most<'q, Q, U>(&mut self, query: Q, max: usize) -> QueryResult<(Vec<U>, bool)>
    where
        Q: LimitDsl,
        Q: LoadQuery<'q, Self, U, DefaultLoadingMode>,
        diesel::dsl::Limit<Q>: LoadQuery<'q, Self, U, DefaultLoadingMode>,
        U: 'q,
    {
        let limit = i64::try_from(max.saturating_add(1)).unwrap_or(i64::MAX);
        let rows = query
            .limit(limit)
            .load_iter(self)?
            .collect::<QueryResult<Vec<U>>>()?;
        Ok(split_more(rows, max))
    }
}

/// Whether a connection is usable at all, for `/readyz`.
pub fn ping(conn: &mut Conn<'_>) -> QueryResult<()> {
    dispatch!(conn, |c| diesel::select(diesel::dsl::sql::<
        diesel::sql_types::Integer,
    >("1"))
    .execute(c)
    .map(|_| ()))
}
