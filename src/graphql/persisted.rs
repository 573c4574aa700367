//! Automatic persisted queries (Apollo's protocol, API.md v3): a request may name its
//! document by the SHA-256 of its text (`extensions.persistedQuery = {version: 1,
//! sha256Hash}`) instead of sending it; the server answers `PERSISTED_QUERY_NOT_FOUND` for a
//! hash it does not know, and the client sends hash and document once, which the server
//! checks and keeps, bounded, per process.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use async_graphql::{Request, ServerError, Value};
use sha2::{Digest, Sha256};

use crate::error::Error;

/// Documents known by their SHA-256 (lower-case hex), at most `capacity`; when full, the
/// oldest half is forgotten (clients then resend the document once, as the protocol expects).
pub struct Persisted {
    capacity: usize,
    docs: Mutex<Known>,
}

/// The documents by hash, and the hashes in the order they were first kept.
#[derive(Default)]
struct Known(HashMap<String, Arc<str>>, VecDeque<String>);

/// The hash a request names, and the protocol version it speaks.
fn named_hash(request: &Request) -> Result<Option<String>, Error> {
    let Some(persisted) = request.extensions.get("persistedQuery") else {
        return Ok(None);
    };
    let Value::Object(fields) = persisted else {
        return Err(Error::BadUserInput(
            "`extensions.persistedQuery` must be an object {version: 1, sha256Hash}".into(),
        ));
    };
    match fields.get("version") {
        Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
        _ => {
            return Err(Error::BadUserInput(
                "`extensions.persistedQuery.version` must be 1".into(),
            ))
        }
    }
    match fields.get("sha256Hash") {
        Some(Value::String(h)) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(Some(h.to_ascii_lowercase()))
        }
        _ => Err(Error::BadUserInput(
            "`extensions.persistedQuery.sha256Hash` must be 64 hex digits".into(),
        )),
    }
}

/// The SHA-256 of `text`, lower-case hex.
pub fn sha256_hex(text: &str) -> String {
    use std::fmt::Write;
    Sha256::digest(text.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

impl Persisted {
    pub fn new(capacity: usize) -> Self {
        Persisted {
            capacity: capacity.max(1),
            docs: Mutex::new(Default::default()),
        }
    }

    /// Gives `request` the document its hash names (when it sent none), or checks and keeps
    /// the one it sent under that hash. A request without `persistedQuery` is left alone.
    pub fn resolve(&self, request: &mut Request) -> Result<(), ServerError> {
        let hash = named_hash(request).map_err(|e| e.into_server_error(None))?;
        let Some(hash) = hash else {
            return Ok(());
        };
        if request.query.is_empty() {
            let known = self.lock().0.get(&hash).cloned();
            return match known {
                Some(doc) => {
                    request.query = doc.to_string();
                    Ok(())
                }
                None => Err(Error::PersistedQueryNotFound.into_server_error(None)),
            };
        }
        if sha256_hex(&request.query) != hash {
            return Err(Error::BadUserInput(
                "`extensions.persistedQuery.sha256Hash` is not the SHA-256 of the query sent \
                 with it"
                    .into(),
            )
            .into_server_error(None));
        }
        let mut guard = self.lock();
        let Known(docs, order) = &mut *guard;
        if !docs.contains_key(&hash) {
            if docs.len() >= self.capacity {
                for old in order.drain(..order.len().div_ceil(2)) {
                    docs.remove(&old);
                }
            }
            docs.insert(hash.clone(), Arc::from(request.query.as_str()));
            order.push_back(hash);
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Known> {
        // A map and its insertion order; a panic cannot leave them inconsistent in a way
        // that matters (a stale order entry is skipped): recover from poisoning.
        self.docs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(query: &str, hash: &str) -> Request {
        let mut r = Request::new(query);
        r.extensions.insert(
            "persistedQuery".into(),
            Value::from_json(serde_json::json!({"version": 1, "sha256Hash": hash})).unwrap(),
        );
        r
    }

    #[test]
    fn the_hash_is_sha256_in_lower_case_hex() {
        // FIPS 180-2, appendix B.1.
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn oldest_half_is_forgotten_when_full() {
        let p = Persisted::new(4);
        let queries: Vec<String> = (0..5).map(|i| format!("{{ q{i} }}")).collect();
        for q in &queries {
            p.resolve(&mut named(q, &sha256_hex(q))).unwrap();
        }
        let known = |q: &str| p.resolve(&mut named("", &sha256_hex(q))).is_ok();
        assert!(!known(&queries[0]) && !known(&queries[1]));
        assert!(known(&queries[2]) && known(&queries[3]) && known(&queries[4]));
    }
}
