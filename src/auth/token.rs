//! Verifying bearer tokens (JWT) with `jsonwebtoken`: the keys configured at start, the
//! algorithm each one allows, the checks of its claims, and a cache of verified tokens.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use super::jose::{claims_of, quoted, read_header, refusal, Refusal};
use super::Identity;

/// Verified tokens kept (by token text) until they expire; beyond this many, the expired
/// ones are dropped, and if that is not enough, all of them.
const CACHE_CAPACITY: usize = 10_000;

/// The shortest HS256 secret accepted (RFC 7518, 3.2: a key as long as the hash).
pub const MIN_SECRET_BYTES: usize = 32;

/// Where the verification key comes from (one of them), and what tokens must say.
#[derive(Clone, Debug, Default)]
pub struct KeyConfig {
    pub secret: Option<Vec<u8>>,
    pub public_key_pem: Option<Vec<u8>>,
    pub jwks: Option<Vec<u8>>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub leeway_seconds: u64,
    pub admin_role: String,
}

/// One key and the one algorithm it verifies.
struct Key {
    key: DecodingKey,
    validation: Validation,
}

/// The keys of secured mode.
enum Keys {
    /// A shared secret or one public key: every token is checked against it.
    Single(Box<Key>),
    /// A JWKS: the token's `kid` picks the key.
    ById(HashMap<String, Key>),
}

/// Checks tokens against the configured keys and claims; remembers what it verified.
pub struct Verifier {
    keys: Keys,
    leeway: u64,
    admin_role: String,
    cache: Mutex<HashMap<Arc<str>, Arc<Identity>>>,
}

impl Verifier {
    /// The verifier of `config`, or why the configuration cannot work (said at start).
    pub fn new(config: &KeyConfig) -> Result<Self, String> {
        let validation = |alg: Algorithm| {
            let mut v = Validation::new(alg);
            v.leeway = config.leeway_seconds;
            v.validate_nbf = true;
            let mut required = vec!["exp"];
            if let Some(iss) = &config.issuer {
                v.set_issuer(&[iss]);
                required.push("iss");
            }
            match &config.audience {
                Some(aud) => {
                    v.set_audience(&[aud]);
                    required.push("aud");
                }
                None => v.validate_aud = false,
            }
            v.set_required_spec_claims(&required);
            v
        };
        let keys =
            match (&config.secret, &config.public_key_pem, &config.jwks) {
                (Some(secret), None, None) => {
                    if secret.len() < MIN_SECRET_BYTES {
                        return Err(format!(
                        "--jwt-secret must be at least {MIN_SECRET_BYTES} bytes long (it has {})",
                        secret.len()
                    ));
                    }
                    Keys::Single(Box::new(Key {
                        key: DecodingKey::from_secret(secret),
                        validation: validation(Algorithm::HS256),
                    }))
                }
                (None, Some(pem), None) => {
                    require_issuer_and_audience(config, "--jwt-public-key-file")?;
                    let (key, alg) = public_key_from_pem(pem)?;
                    Keys::Single(Box::new(Key {
                        key,
                        validation: validation(alg),
                    }))
                }
                (None, None, Some(jwks)) => {
                    require_issuer_and_audience(config, "--jwks-file")?;
                    let set: JwkSet = serde_json::from_slice(jwks)
                        .map_err(|e| format!("--jwks-file is not a JWKS document: {e}"))?;
                    let mut keys = HashMap::new();
                    for jwk in &set.keys {
                        let kid = jwk.common.key_id.clone().ok_or(
                            "--jwks-file: every key needs a `kid` (tokens pick their key by it)",
                        )?;
                        let alg = jwk_algorithm(jwk)
                            .map_err(|e| format!("--jwks-file: key {kid:?}: {e}"))?;
                        let key = DecodingKey::from_jwk(jwk)
                            .map_err(|e| format!("--jwks-file: key {kid:?}: {e}"))?;
                        keys.insert(
                            kid,
                            Key {
                                key,
                                validation: validation(alg),
                            },
                        );
                    }
                    if keys.is_empty() {
                        return Err("--jwks-file holds no keys".into());
                    }
                    Keys::ById(keys)
                }
                _ => return Err(
                    "give one of --jwt-secret, --jwt-public-key-file and --jwks-file, not several"
                        .into(),
                ),
            };
        Ok(Verifier {
            keys,
            leeway: config.leeway_seconds,
            admin_role: config.admin_role.clone(),
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The identity `token` proves, or why it proves none. A token verified before is
    /// answered from the cache while it is valid.
    pub fn verify(&self, token: &str, now: i64) -> Result<Arc<Identity>, Refusal> {
        if let Some(hit) = self.cached(token, now) {
            return Ok(hit);
        }
        let identity = Arc::new(self.verify_uncached(token)?);
        self.remember(token, &identity, now);
        Ok(identity)
    }

    /// The last second (Unix time) `identity`'s token is accepted: its `exp` plus the leeway,
    /// the moment jsonwebtoken would refuse it. The one home of that rule (the cache, and a
    /// WebSocket's expiry, ask it).
    pub fn accepted_until(&self, identity: &Identity) -> i64 {
        identity.expires_at.saturating_add(self.leeway as i64)
    }

    fn cached(&self, token: &str, now: i64) -> Option<Arc<Identity>> {
        let cache = self.cache.lock().ok()?;
        let hit = cache.get(token)?;
        (now < self.accepted_until(hit)).then(|| Arc::clone(hit))
    }

    fn remember(&self, token: &str, identity: &Arc<Identity>, now: i64) {
        let Ok(mut cache) = self.cache.lock() else {
            return;
        };
        if cache.len() >= CACHE_CAPACITY {
            cache.retain(|_, id| now < self.accepted_until(id));
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(Arc::from(token), Arc::clone(identity));
    }

    fn verify_uncached(&self, token: &str) -> Result<Identity, Refusal> {
        let header = read_header(token)?;
        let key = match &self.keys {
            Keys::Single(key) => key,
            Keys::ById(keys) => {
                let kid = match header.get("kid") {
                    None => return Err(Refusal("the token's header names no key (`kid`)".into())),
                    Some(Value::String(kid)) => kid,
                    Some(_) => return Err(Refusal("the token's `kid` must be a string".into())),
                };
                keys.get(kid).ok_or_else(|| {
                    Refusal(format!("the token's key {} is not known here", quoted(kid)))
                })?
            }
        };
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &key.validation)
            .map_err(|e| refusal(e, token))?;
        let claims = claims_of(&data.claims)?;
        let admin = claims.roles.contains(&self.admin_role);
        Ok(Identity {
            subject: claims.sub,
            issuer: claims.iss.unwrap_or_default(),
            name: claims.name,
            email: claims.email,
            roles: claims.roles,
            admin,
            expires_at: claims.exp,
        })
    }
}

fn require_issuer_and_audience(config: &KeyConfig, flag: &str) -> Result<(), String> {
    if config.issuer.is_none() || config.audience.is_none() {
        return Err(format!(
            "{flag} needs --jwt-issuer and --jwt-audience: without them any token signed by that \
             key for another service would be accepted"
        ));
    }
    Ok(())
}

/// A PEM public key and the algorithm it verifies: RSA keys RS256, P-256 keys ES256, P-384
/// keys ES384, Ed25519 keys EdDSA. One algorithm per key: a token naming another is refused,
/// so neither `alg: none` nor an HS256 token signed with the public key gets through.
fn public_key_from_pem(pem: &[u8]) -> Result<(DecodingKey, Algorithm), String> {
    if pem.windows(11).any(|w| w == b"PRIVATE KEY") {
        return Err(
            "--jwt-public-key-file holds a private key: give the server only the public half"
                .into(),
        );
    }
    if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
        return Ok((key, Algorithm::RS256));
    }
    if let Ok(key) = DecodingKey::from_ec_pem(pem) {
        // The uncompressed point: 65 bytes on P-256, 97 on P-384.
        let alg = match key.as_bytes().len() {
            65 => Algorithm::ES256,
            97 => Algorithm::ES384,
            n => {
                return Err(format!(
                    "--jwt-public-key-file: an EC key of {n} bytes is neither P-256 nor P-384"
                ))
            }
        };
        return Ok((key, alg));
    }
    if let Ok(key) = DecodingKey::from_ed_pem(pem) {
        return Ok((key, Algorithm::EdDSA));
    }
    Err("--jwt-public-key-file is not a PEM public key (RSA, EC P-256/P-384 or Ed25519)".into())
}

/// The one algorithm a JWK verifies: its `alg` if it names one of its key type's, else the
/// key type's usual one. Symmetric (`oct`) keys are refused: a JWKS publishes public keys.
fn jwk_algorithm(jwk: &jsonwebtoken::jwk::Jwk) -> Result<Algorithm, String> {
    let default = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Algorithm::ES256,
            EllipticCurve::P384 => Algorithm::ES384,
            ref other => return Err(format!("curve {other:?} is not supported")),
        },
        AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
        AlgorithmParameters::OctetKey(_) => {
            return Err("symmetric keys do not belong in a JWKS; use --jwt-secret".into())
        }
    };
    let Some(named) = jwk.common.key_algorithm else {
        return Ok(default);
    };
    let alg = match named {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        other => return Err(format!("algorithm {other:?} is not supported")),
    };
    if alg.family() != default.family() {
        return Err(format!("its `alg` {alg:?} does not fit its key type"));
    }
    Ok(alg)
}

/// Reads a key file named on the command line.
pub fn read_key_file(path: &Path, flag: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{flag} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    fn fixture(name: &str) -> Vec<u8> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jwt");
        std::fs::read(dir.join(name)).expect("test key")
    }

    fn config() -> KeyConfig {
        KeyConfig {
            issuer: Some("https://id.example".into()),
            audience: Some("roombook".into()),
            leeway_seconds: 60,
            admin_role: "roombook-admin".into(),
            ..KeyConfig::default()
        }
    }

    fn hs256(claims: serde_json::Value, secret: &[u8]) -> String {
        let key = jsonwebtoken::EncodingKey::from_secret(secret);
        jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap()
    }

    #[test]
    fn refuses_a_secret_shorter_than_32_bytes() {
        let short = KeyConfig {
            secret: Some(vec![b'x'; 31]),
            ..config()
        };
        assert!(Verifier::new(&short)
            .err()
            .unwrap()
            .contains("at least 32 bytes"));
        let enough = KeyConfig {
            secret: Some(vec![b'x'; 32]),
            ..config()
        };
        assert!(Verifier::new(&enough).is_ok());
    }

    #[test]
    fn infers_one_algorithm_from_each_kind_of_public_key() {
        for (file, alg) in [
            ("rsa-public.pem", Algorithm::RS256),
            ("ec-public.pem", Algorithm::ES256),
            ("ed-public.pem", Algorithm::EdDSA),
        ] {
            let (_, got) = public_key_from_pem(&fixture(file)).unwrap();
            assert_eq!(got, alg, "{file}");
        }
        assert!(public_key_from_pem(b"not a key").is_err());
        // A private key is not what the server should be given.
        for file in ["rsa-private.pem", "ec-private.pem", "ed-private.pem"] {
            let err = public_key_from_pem(&fixture(file)).err().unwrap();
            assert!(err.contains("private key"), "{file}: {err}");
        }
    }

    #[test]
    fn a_jwks_with_a_symmetric_key_or_an_alg_of_another_family_is_refused() {
        let oct = serde_json::json!({"keys": [{"kty": "oct", "kid": "s", "k": "c2VjcmV0"}]});
        let cfg = KeyConfig {
            jwks: Some(oct.to_string().into_bytes()),
            ..config()
        };
        assert!(Verifier::new(&cfg).err().unwrap().contains("symmetric"));
        let rsa = jsonwebtoken::EncodingKey::from_rsa_pem(&fixture("rsa-private.pem")).unwrap();
        let mut jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&rsa, Algorithm::RS256).unwrap();
        jwk.common.key_id = Some("r".into());
        jwk.common.key_algorithm = Some(KeyAlgorithm::ES256);
        let set = serde_json::json!({ "keys": [jwk] });
        let cfg = KeyConfig {
            jwks: Some(set.to_string().into_bytes()),
            ..config()
        };
        assert!(Verifier::new(&cfg).err().unwrap().contains("does not fit"));
    }

    #[test]
    fn a_verified_token_is_answered_from_the_cache_until_exp_plus_leeway() {
        let secret = [b's'; 40];
        let verifier = Verifier::new(&KeyConfig {
            secret: Some(secret.to_vec()),
            ..config()
        })
        .unwrap();
        let now = jsonwebtoken::get_current_timestamp() as i64;
        let exp = now + 100;
        let token = hs256(
            serde_json::json!({"sub": "a", "iss": "https://id.example", "aud": "roombook", "exp": exp, "roles": ["roombook-admin"]}),
            &secret,
        );
        let id = verifier.verify(&token, now).unwrap();
        assert!(id.admin);
        assert_eq!(id.expires_at, exp);
        assert!(verifier.cached(&token, exp + 59).is_some());
        assert!(verifier.cached(&token, exp + 60).is_none());
        // A refused token is not remembered.
        let wrong = hs256(serde_json::json!({"sub": "a", "exp": exp}), &[b'x'; 40]);
        assert!(verifier.verify(&wrong, now).is_err());
        assert!(verifier.cached(&wrong, now).is_none());
    }

    /// A token made by hand: `header` and `claims` as given, signed with `secret` (HS256).
    fn forged(header: serde_json::Value, claims: &str, secret: &[u8]) -> String {
        use hmac_sign::sign;
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let c = URL_SAFE_NO_PAD.encode(claims);
        let sig = sign(format!("{h}.{c}").as_bytes(), secret);
        format!("{h}.{c}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    /// HS256 through jsonwebtoken's own signer, for payloads it would not encode itself.
    mod hmac_sign {
        pub fn sign(message: &[u8], secret: &[u8]) -> Vec<u8> {
            let key = jsonwebtoken::EncodingKey::from_secret(secret);
            let sig =
                jsonwebtoken::crypto::sign(message, &key, jsonwebtoken::Algorithm::HS256).unwrap();
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(sig)
                .unwrap()
        }
    }

    #[test]
    fn each_refusal_names_its_own_cause() {
        let secret = [b's'; 40];
        let verifier = Verifier::new(&KeyConfig {
            secret: Some(secret.to_vec()),
            ..config()
        })
        .unwrap();
        let exp = jsonwebtoken::get_current_timestamp() + 600;
        let ok = |extra: &str| {
            format!(
                r#"{{"iss":"https://id.example","aud":"roombook","exp":{exp},"sub":"a"{extra}}}"#
            )
        };
        let hs = serde_json::json!({"alg": "HS256", "typ": "JWT"});
        let cases: Vec<(String, &str)> = vec![
            (forged(hs.clone(), &ok(""), &secret), ""),
            (
                forged(serde_json::json!({"alg": "none"}), &ok(""), &secret),
                "unsigned (`alg: none`)",
            ),
            (
                forged(hs.clone(), "not json", &secret),
                "payload is not a JSON object",
            ),
            (
                forged(
                    hs.clone(),
                    &ok(r#","sub":7"#).replace(r#","sub":"a""#, ""),
                    &secret,
                ),
                "`sub` claim must be a string",
            ),
            (
                forged(
                    hs.clone(),
                    &ok("").replace(r#""sub":"a""#, r#""sub":"""#),
                    &secret,
                ),
                "`sub` claim is empty",
            ),
            (
                forged(
                    hs.clone(),
                    &ok("").replace(&exp.to_string(), "1e30"),
                    &secret,
                ),
                "`exp` claim must be a whole number of seconds",
            ),
            (
                forged(
                    hs.clone(),
                    &ok("").replace(&format!(r#","exp":{exp}"#), ""),
                    &secret,
                ),
                "has no `exp` claim",
            ),
            (
                forged(hs.clone(), &ok(r#","roles":"admin""#), &secret),
                "`roles` claim must be a list of strings",
            ),
            (
                forged(
                    serde_json::json!({"alg": "HS256", "crit": ["exp-ext"], "exp-ext": 1}),
                    &ok(""),
                    &secret,
                ),
                "critical (`crit`)",
            ),
            (
                forged(serde_json::json!({"alg": "HS999"}), &ok(""), &secret),
                "algorithm \"HS999\" is not one this server knows",
            ),
            (
                forged(hs.clone(), &ok(""), &[b'x'; 40]),
                "signature does not verify",
            ),
            ("a.b".into(), "not a JWT"),
        ];
        for (token, want) in cases {
            let got = verifier.verify_uncached(&token);
            match (want, got) {
                ("", Ok(id)) => assert_eq!(id.subject.as_deref(), Some("a")),
                ("", Err(e)) => panic!("a good token was refused: {e:?}"),
                (want, Ok(_)) => panic!("{want}: accepted"),
                (want, Err(Refusal(why))) => assert!(why.contains(want), "{want}: {why}"),
            }
        }
    }
}
