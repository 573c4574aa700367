//! Verifying bearer tokens (JWT) with `jsonwebtoken`: the keys configured at start, the
//! algorithm each one allows, the checks of its claims, and a cache of verified tokens.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

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

/// The claims roombook reads, each of the type it must be (`claims_of`). `exp` (required),
/// `nbf`, `iss` and `aud` are checked by `jsonwebtoken` before these are looked at.
struct Claims {
    /// Absent, or a non-empty string.
    sub: Option<String>,
    iss: Option<String>,
    exp: i64,
    name: Option<String>,
    email: Option<String>,
    roles: Vec<String>,
}

/// At most this many characters of a value the token chose (its `kid`, `alg`, `crit`) are
/// quoted back to the client and the log: a token is the caller's to make as long as it likes.
const QUOTED_CHARS: usize = 40;

/// Why a token was refused; said to the client (it names no secret).
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal(pub String);

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

/// The token's JOSE header, read before any key is picked or signature checked, so that what
/// is wrong with it is named: not a JWT, unsigned (`alg: none`), an algorithm
/// `jsonwebtoken` does not know, or a critical extension (`crit`, RFC 7515 4.1.11: a
/// recipient that does not implement one must refuse the token; roombook implements none).
fn read_header(token: &str) -> Result<Map<String, Value>, Refusal> {
    let not_jwt =
        || Refusal("the token is not a JWT: three base64url parts separated by dots".into());
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(not_jwt());
    };
    let bytes = URL_SAFE_NO_PAD.decode(header).map_err(|_| not_jwt())?;
    let header: Map<String, Value> = serde_json::from_slice(&bytes)
        .map_err(|_| Refusal("the token's header is not a JSON object".into()))?;
    let alg = match header.get("alg") {
        Some(Value::String(alg)) if alg.eq_ignore_ascii_case("none") => {
            return Err(Refusal(
                "the token is unsigned (`alg: none`); only signed tokens are accepted".into(),
            ))
        }
        Some(Value::String(alg)) => alg,
        _ => {
            return Err(Refusal(
                "the token's header names no algorithm (`alg`)".into(),
            ))
        }
    };
    if let Some(crit) = header.get("crit") {
        return Err(Refusal(format!(
            "the token's header marks {} as critical (`crit`), and this server implements no \
             JWS extension (RFC 7515, 4.1.11)",
            quoted(&crit.to_string())
        )));
    }
    if alg.parse::<Algorithm>().is_err() {
        return Err(Refusal(format!(
            "the token's algorithm {} is not one this server knows",
            quoted(alg)
        )));
    }
    if jsonwebtoken::decode_header(token).is_err() {
        return Err(Refusal(
            "the token's header has a registered parameter of the wrong type (RFC 7515, 4.1)"
                .into(),
        ));
    }
    Ok(header)
}

/// The claims roombook reads from a verified token's payload, or which one is not of its type.
fn claims_of(map: &Map<String, Value>) -> Result<Claims, Refusal> {
    let text = |name: &str| match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Refusal(format!(
            "the token's `{name}` claim must be a string"
        ))),
    };
    let sub = text("sub")?;
    if sub.as_deref().is_some_and(str::is_empty) {
        return Err(Refusal(
            "the token's `sub` claim is empty: it must name the subject (or be left out)".into(),
        ));
    }
    let roles = match map.get("roles") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|r| r.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Refusal("the token's `roles` claim must be a list of strings".into()))?,
        Some(_) => {
            return Err(Refusal(
                "the token's `roles` claim must be a list of strings".into(),
            ))
        }
    };
    // `jsonwebtoken` accepted it as a whole number of seconds (u64).
    let exp = map
        .get("exp")
        .and_then(Value::as_u64)
        .and_then(|e| i64::try_from(e).ok())
        .ok_or_else(|| Refusal(time_claim_malformed("exp")))?;
    Ok(Claims {
        sub,
        iss: text("iss")?,
        exp,
        name: text("name")?,
        email: text("email")?,
        roles,
    })
}

fn time_claim_malformed(claim: &str) -> String {
    format!("the token's `{claim}` claim must be a whole number of seconds since 1970")
}

/// `value` quoted, cut to [`QUOTED_CHARS`] characters (saying how long it was).
fn quoted(value: &str) -> String {
    let mut chars = value.chars();
    let head: String = chars.by_ref().take(QUOTED_CHARS).collect();
    if chars.next().is_none() {
        format!("{head:?}")
    } else {
        format!("{head:?}... ({} bytes)", value.len())
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

/// What the client is told about a token `jsonwebtoken` refused. Its header was read already
/// (`read_header`); a claim it calls missing may be present but of the wrong type, which is
/// then said (the signature verified by that point).
fn refusal(e: jsonwebtoken::errors::Error, token: &str) -> Refusal {
    use jsonwebtoken::errors::ErrorKind as K;
    let why = match e.kind() {
        K::ExpiredSignature => "the token has expired".to_owned(),
        K::ImmatureSignature => "the token is not valid yet (`nbf`)".to_owned(),
        K::InvalidIssuer => {
            "the token's issuer (`iss`) is not the one this server trusts".to_owned()
        }
        K::InvalidAudience => "the token is not meant for this server (`aud`)".to_owned(),
        K::MissingRequiredClaim(c) => {
            let present = jsonwebtoken::dangerous::insecure_decode::<Map<String, Value>>(token)
                .is_ok_and(|data| data.claims.get(c).is_some_and(|v| !v.is_null()));
            match c.as_str() {
                "exp" | "nbf" if present => time_claim_malformed(c),
                _ if present => format!("the token's `{c}` claim is malformed"),
                _ => format!("the token has no `{c}` claim"),
            }
        }
        K::InvalidClaimFormat(c) if c == "exp" || c == "nbf" => time_claim_malformed(c),
        K::InvalidClaimFormat(c) => format!("the token's `{c}` claim is malformed"),
        K::InvalidAlgorithm => "the token's algorithm is not the one its key allows".to_owned(),
        K::InvalidSignature => "the token's signature does not verify".to_owned(),
        K::Json(_) => "the token's payload is not a JSON object of claims".to_owned(),
        K::Base64(_) | K::Utf8(_) => "the token's payload or signature is not base64url".to_owned(),
        _ => "the token is not a well-formed JWT".to_owned(),
    };
    Refusal(why)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_value_the_token_chose_is_quoted_back_cut_short() {
        assert_eq!(quoted("k1"), "\"k1\"");
        let long = "k".repeat(100_000);
        let q = quoted(&long);
        assert!(q.len() < 80, "{q}");
        assert!(q.ends_with("... (100000 bytes)"), "{q}");
    }
}
