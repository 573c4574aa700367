//! Idempotency keys (API.md "Idempotent mutations"): who a key belongs to, and the
//! fingerprint of what it was first used for, so a retry can be told from a reuse.

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// How long a key answers for the first success: 24 hours, in microseconds.
pub const IDEMPOTENCY_WINDOW_MICROS: i64 = 24 * 3600 * 1_000_000;

/// Keys are 1-200 characters.
pub const MAX_KEY_CHARS: usize = 200;

/// A mutation sent with an `idempotencyKey`: whose key, the key, and what it asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Once {
    /// The caller the key belongs to: the token's issuer and subject in secured mode, empty in
    /// open mode (where keys belong to everyone).
    pub scope: String,
    pub key: String,
    /// SHA-256 (hex) of the mutation's name and its input as validated: equal for a retry,
    /// different for another input or another mutation under the same key.
    pub fingerprint: String,
}

impl Once {
    /// `key` (1-200 characters, else `BAD_USER_INPUT`) for `operation` with `input`, the
    /// validated input's fields in a fixed order.
    pub fn new(
        scope: String,
        key: &str,
        operation: &str,
        input: &serde_json::Value,
    ) -> Result<Self> {
        let chars = key.chars().count();
        if chars == 0 || chars > MAX_KEY_CHARS {
            return Err(Error::BadUserInput(format!(
                "`idempotencyKey` must be 1-{MAX_KEY_CHARS} characters (this one has {chars})"
            )));
        }
        let mut hash = Sha256::new();
        hash.update(operation.as_bytes());
        hash.update([0]);
        hash.update(input.to_string().as_bytes());
        let fingerprint = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Ok(Once {
            scope,
            key: key.to_owned(),
            fingerprint,
        })
    }

    /// The refusal of a key already used for another input or mutation.
    pub fn reused(&self) -> Error {
        Error::IdempotencyKeyReused(format!(
            "idempotency key {} was used in the last 24 hours for another input or another \
             mutation; a retry must send exactly the same input, anything new needs a new key",
            crate::error::quoted(&self.key)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_same_input_has_the_same_fingerprint_and_any_change_another() {
        let a = Once::new(String::new(), "k", "bookRoom", &json!({"start": 1})).unwrap();
        let b = Once::new(String::new(), "k", "bookRoom", &json!({"start": 1})).unwrap();
        let c = Once::new(String::new(), "k", "bookRoom", &json!({"start": 2})).unwrap();
        let d = Once::new(
            String::new(),
            "k",
            "rescheduleReservation",
            &json!({"start": 1}),
        )
        .unwrap();
        assert_eq!(a, b);
        assert_ne!(a.fingerprint, c.fingerprint);
        assert_ne!(a.fingerprint, d.fingerprint);
        assert_eq!(a.fingerprint.len(), 64);
    }

    #[test]
    fn keys_are_one_to_two_hundred_characters() {
        let input = json!({});
        assert!(Once::new(String::new(), "", "bookRoom", &input).is_err());
        assert!(Once::new(String::new(), &"é".repeat(200), "bookRoom", &input).is_ok());
        let e = Once::new(String::new(), &"k".repeat(201), "bookRoom", &input).unwrap_err();
        assert_eq!(e.code(), "BAD_USER_INPUT");
    }
}
