-- Idempotency keys (API.md "Idempotent mutations"): a mutation sent with a key records here,
-- in the transaction of its change, what it was asked (`fingerprint`) and what it made
-- (`result_id`: the reservation or series; `detail`: a series' skipped occurrences, JSON).
-- A retry within 24 hours finds the row and answers from it. `scope` is whose key it is (the
-- token's issuer and subject; empty in open mode). Rows older than a day are deleted by a job.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    result_id TEXT NOT NULL,
    detail TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
