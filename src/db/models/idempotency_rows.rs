//! `idempotency_keys`: claiming a key, reading what it answered, recording the result,
//! deleting expired ones.

use super::*;

/// A row of `idempotency_keys`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(
    table_name = idempotency_keys,
    check_for_backend(Sqlite, Pg),
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
pub struct IdempotencyRow {
    pub scope: String,
    pub idem_key: String,
    pub fingerprint: String,
    /// The reservation or series the first success made; empty until its transaction records it.
    pub result_id: String,
    pub detail: Option<String>,
    pub created_at: i64,
}

impl IdempotencyRow {
    /// Inserts the row unless the key exists; whether it was inserted. On PostgreSQL a
    /// concurrent transaction that inserted the same key first makes this wait for it to end:
    /// if it commits, nothing is inserted (and its row is then visible); if it rolls back,
    /// this one inserts.
    pub fn claim(&self, conn: &mut Conn<'_>) -> QueryResult<bool> {
        let n = dispatch!(conn, |c| diesel::insert_into(idempotency_keys::table)
            .values(self)
            .on_conflict_do_nothing()
            .execute(c))?;
        Ok(n == 1)
    }

    /// The row of `key` in `scope`, locked for the rest of the transaction on PostgreSQL.
    pub fn find_for_update(
        conn: &mut Conn<'_>,
        scope: &str,
        key: &str,
    ) -> QueryResult<Option<IdempotencyRow>> {
        let q = idempotency_keys::table
            .filter(idempotency_keys::scope.eq(scope))
            .filter(idempotency_keys::idem_key.eq(key));
        let rows: Vec<IdempotencyRow> = load_locked!(conn, q, IdempotencyRow)?;
        Ok(rows.into_iter().next())
    }

    /// Writes this row's fingerprint, result, detail and time over the stored one.
    pub fn overwrite(&self, conn: &mut Conn<'_>) -> QueryResult<usize> {
        dispatch!(conn, |c| diesel::update(
            idempotency_keys::table
                .filter(idempotency_keys::scope.eq(&self.scope))
                .filter(idempotency_keys::idem_key.eq(&self.idem_key))
        )
        .set((
            idempotency_keys::fingerprint.eq(&self.fingerprint),
            idempotency_keys::result_id.eq(&self.result_id),
            idempotency_keys::detail.eq(&self.detail),
            idempotency_keys::created_at.eq(self.created_at),
        ))
        .execute(c))
    }

    /// Deletes every key created before `before`; how many.
    pub fn delete_expired(conn: &mut Conn<'_>, before: i64) -> QueryResult<usize> {
        dispatch!(conn, |c| diesel::delete(
            idempotency_keys::table.filter(idempotency_keys::created_at.lt(before))
        )
        .execute(c))
    }
}
