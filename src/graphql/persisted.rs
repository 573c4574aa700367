//! Automatic persisted queries (Apollo's protocol, API.md v3): a request may name its
//! document by the SHA-256 of its text (`extensions.persistedQuery = {version: 1,
//! sha256Hash}`) instead of sending it; the server answers `PERSISTED_QUERY_NOT_FOUND` for a
//! hash it does not know, and the client sends hash and document once, which the server
//! checks and keeps, bounded, per process. Trusted documents: an operator's file of
//! documents by hash (`--trusted-documents`), named by `documentId` (or the same hash), and
//! with `--trusted-documents-only` the only documents non-admins may run.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_graphql::{Request, ServerError, Value};
use sha2::{Digest, Sha256};

use crate::error::Error;

/// Documents known by their SHA-256 (lower-case hex), at most `capacity`; when full, the
/// oldest half is forgotten (clients then resend the document once, as the protocol expects).
pub struct Persisted {
    capacity: usize,
    docs: Mutex<Known>,
    trusted: Option<Trusted>,
}

/// The documents of `--trusted-documents`, by hash and by text.
pub struct Trusted {
    by_hash: HashMap<String, Arc<str>>,
    texts: HashSet<Arc<str>>,
    /// `--trusted-documents-only`: non-admins run nothing else.
    only: bool,
}

impl Trusted {
    /// Reads `path`: a JSON object of SHA-256 hex hashes (optionally `sha256:`-prefixed) to
    /// documents, as graphql-codegen's client preset and Relay's `--persist-output` write it.
    /// Why it cannot be used names the file and, for a bad entry, which one.
    pub fn load(path: &Path, only: bool) -> Result<Self, String> {
        let at = |why: String| format!("--trusted-documents {}: {why}", path.display());
        let text = std::fs::read_to_string(path).map_err(|e| at(e.to_string()))?;
        let entries: HashMap<String, serde_json::Value> = serde_json::from_str(&text)
            .map_err(|e| at(format!("not a JSON object of hashes to documents: {e}")))?;
        let mut by_hash = HashMap::new();
        let mut texts = HashSet::new();
        for (key, doc) in entries {
            let entry = |why: &str| at(format!("entry {key:?}: {why}"));
            let serde_json::Value::String(doc) = doc else {
                return Err(entry("its document is not a string"));
            };
            let hash = key
                .strip_prefix("sha256:")
                .unwrap_or(&key)
                .to_ascii_lowercase();
            if sha256_hex(&doc) != hash {
                return Err(entry(&format!(
                    "it is not the SHA-256 of its document ({})",
                    sha256_hex(&doc)
                )));
            }
            let doc: Arc<str> = Arc::from(doc);
            texts.insert(Arc::clone(&doc));
            by_hash.insert(hash, doc);
        }
        Ok(Trusted {
            by_hash,
            texts,
            only,
        })
    }
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

/// The hash a request's `documentId` names (`sha256:<hex>`; the transports put a request's
/// top-level `documentId` in its extensions).
fn document_id(request: &Request) -> Result<Option<String>, Error> {
    match request.extensions.get("documentId") {
        None => Ok(None),
        Some(Value::String(id)) => match id.strip_prefix("sha256:") {
            Some(h) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Ok(Some(h.to_ascii_lowercase()))
            }
            _ => Err(Error::BadUserInput(
                "`documentId` must be \"sha256:\" and 64 hex digits".into(),
            )),
        },
        Some(_) => Err(Error::BadUserInput("`documentId` must be a string".into())),
    }
}

/// Records that `request` names its document by `id` (a request's top-level `documentId`,
/// which async-graphql's `Request` has no field for; each transport reads it and puts it here).
pub fn name_document(request: &mut Request, id: String) {
    request
        .extensions
        .insert("documentId".into(), Value::String(id));
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
            trusted: None,
        }
    }

    /// Knows the documents of `trusted` too, and enforces `--trusted-documents-only`.
    pub fn with_trusted(mut self, trusted: Option<Trusted>) -> Self {
        self.trusted = trusted;
        self
    }

    /// The document `hash` names: a trusted one, else one kept from an earlier request.
    fn known(&self, hash: &str) -> Option<Arc<str>> {
        let trusted = self.trusted.as_ref().and_then(|t| t.by_hash.get(hash));
        trusted
            .cloned()
            .or_else(|| self.lock().0.get(hash).cloned())
    }

    /// Gives `request` the document its `documentId` or persisted-query hash names (when it
    /// sent none), or checks and keeps the one it sent under that hash; then, with
    /// `--trusted-documents-only`, refuses a document that is not trusted unless `admin`.
    pub fn resolve(&self, request: &mut Request, admin: bool) -> Result<(), ServerError> {
        self.resolve_inner(request, admin)
            .map_err(|e| e.into_server_error(None))
    }

    fn resolve_inner(&self, request: &mut Request, admin: bool) -> Result<(), Error> {
        let hash = match document_id(request)? {
            Some(id) => Some(id),
            None => named_hash(request)?,
        };
        let mut register = None;
        if let Some(hash) = hash {
            if request.query.is_empty() {
                let doc = self.known(&hash).ok_or(Error::PersistedQueryNotFound)?;
                request.query = doc.to_string();
            } else if sha256_hex(&request.query) != hash {
                return Err(Error::BadUserInput(
                    "the hash sent with the query (`documentId` or \
                     `extensions.persistedQuery.sha256Hash`) is not its SHA-256"
                        .into(),
                ));
            } else {
                register = Some(hash);
            }
        }
        if let Some(trusted) = self.trusted.as_ref().filter(|t| t.only && !admin) {
            if !trusted.texts.contains(request.query.as_str()) {
                return Err(Error::DocumentNotTrusted(
                    "this server runs only the documents its operator trusts \
                     (--trusted-documents-only); send one of those, by `documentId` or in full"
                        .into(),
                ));
            }
        }
        if let Some(hash) = register {
            self.keep(hash, &request.query);
        }
        Ok(())
    }

    /// Keeps `query` under `hash`, forgetting the oldest half when full.
    fn keep(&self, hash: String, query: &str) {
        let mut guard = self.lock();
        let Known(docs, order) = &mut *guard;
        if !docs.contains_key(&hash) {
            if docs.len() >= self.capacity {
                for old in order.drain(..order.len().div_ceil(2)) {
                    docs.remove(&old);
                }
            }
            docs.insert(hash.clone(), Arc::from(query));
            order.push_back(hash);
        }
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
            p.resolve(&mut named(q, &sha256_hex(q)), false).unwrap();
        }
        let known = |q: &str| p.resolve(&mut named("", &sha256_hex(q)), false).is_ok();
        assert!(!known(&queries[0]) && !known(&queries[1]));
        assert!(known(&queries[2]) && known(&queries[3]) && known(&queries[4]));
    }
}
