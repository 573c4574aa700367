//! Tokens made in the test, and servers in secured mode that trust them: HS256 with a shared
//! secret, RS256 / ES256 / EdDSA with the checked-in test keys (tests/fixtures/jwt), or a JWKS
//! built from those keys when the test runs.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use roombook::config::{AuthArgs, Secret, ServeConfig};
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp};

pub const SECRET: &str = "roombook-test-secret-that-is-32-bytes-or-more";
pub const ISSUER: &str = "https://id.example.test";
pub const AUDIENCE: &str = "roombook";
pub const ADMIN_ROLE: &str = "roombook-admin";

pub fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/jwt")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).expect("test key")
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The claims of member `sub` (named and addressed after it), valid for an hour.
pub fn member(sub: &str) -> Value {
    json!({
        "sub": sub, "iss": ISSUER, "aud": AUDIENCE,
        "name": format!("Member {sub}"), "email": format!("{sub}@example.com"),
        "iat": now(), "exp": now() + 3600,
    })
}

/// The claims of an admin.
pub fn admin(sub: &str) -> Value {
    let mut c = member(sub);
    c["roles"] = json!(["staff", ADMIN_ROLE]);
    c
}

/// `claims` with `key` set to `value` (`null` removes it).
pub fn with(mut claims: Value, key: &str, value: Value) -> Value {
    match value {
        Value::Null => {
            claims.as_object_mut().unwrap().remove(key);
        }
        v => claims[key] = v,
    }
    claims
}

fn sign(alg: Algorithm, kid: Option<&str>, claims: &Value, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).expect("token signs")
}

pub fn hs256(claims: &Value) -> String {
    sign(
        Algorithm::HS256,
        None,
        claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
}

pub fn rs256(claims: &Value, kid: Option<&str>) -> String {
    let key = EncodingKey::from_rsa_pem(&read("rsa-private.pem")).unwrap();
    sign(Algorithm::RS256, kid, claims, &key)
}

/// RS256, signed by a key nobody trusts.
pub fn rs256_forged(claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(&read("other-rsa-private.pem")).unwrap();
    sign(Algorithm::RS256, None, claims, &key)
}

pub fn es256(claims: &Value, kid: Option<&str>) -> String {
    let key = EncodingKey::from_ec_pem(&read("ec-private.pem")).unwrap();
    sign(Algorithm::ES256, kid, claims, &key)
}

pub fn eddsa(claims: &Value) -> String {
    let key = EncodingKey::from_ed_pem(&read("ed-private.pem")).unwrap();
    sign(Algorithm::EdDSA, None, claims, &key)
}

/// HS256 signed with the server's RSA *public* key as the secret: the key-confusion attack.
pub fn hs256_with_public_key(claims: &Value) -> String {
    sign(
        Algorithm::HS256,
        None,
        claims,
        &EncodingKey::from_secret(&read("rsa-public.pem")),
    )
}

/// An unsigned token (`alg: none`).
pub fn unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{body}.")
}

fn secured(auth: AuthArgs) -> impl FnOnce(ServeConfig) -> ServeConfig {
    move |c| ServeConfig { auth, ..c }
}

/// The HS256 secret, issuer and audience, and `leeway` seconds of leeway.
pub fn hs256_auth(leeway: u64) -> AuthArgs {
    AuthArgs {
        jwt_secret: Some(Secret(SECRET.into())),
        jwt_issuer: Some(ISSUER.into()),
        jwt_audience: Some(AUDIENCE.into()),
        jwt_leeway_seconds: leeway,
        ..AuthArgs::default()
    }
}

/// Secured mode with the HS256 secret, issuer and audience, and `leeway` seconds of leeway.
pub async fn spawn_hs256_with_leeway(leeway: u64) -> TestApp {
    spawn_app_with(secured(hs256_auth(leeway))).await
}

/// Secured mode with the HS256 secret (the default leeway, 60 s).
pub async fn spawn_hs256() -> TestApp {
    spawn_hs256_with_leeway(60).await
}

/// Secured mode trusting the public key in `file` (a fixture).
pub async fn spawn_public_key(file: &str) -> TestApp {
    spawn_app_with(secured(AuthArgs {
        jwt_public_key_file: Some(fixture(file)),
        jwt_issuer: Some(ISSUER.into()),
        jwt_audience: Some(AUDIENCE.into()),
        ..AuthArgs::default()
    }))
    .await
}

/// Secured mode with a JWKS of the RSA key (`kid` "rsa-1") and the EC key ("ec-1").
pub async fn spawn_jwks() -> TestApp {
    let rsa = EncodingKey::from_rsa_pem(&read("rsa-private.pem")).unwrap();
    let ec = EncodingKey::from_ec_pem(&read("ec-private.pem")).unwrap();
    let mut keys = Vec::new();
    for (kid, key, alg) in [
        ("rsa-1", &rsa, Algorithm::RS256),
        ("ec-1", &ec, Algorithm::ES256),
    ] {
        let mut jwk = Jwk::from_encoding_key(key, alg).unwrap();
        jwk.common.key_id = Some(kid.into());
        keys.push(jwk);
    }
    let path = std::env::temp_dir().join(format!("roombook-jwks-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&path, serde_json::to_vec(&JwkSet { keys }).unwrap()).unwrap();
    spawn_app_with(secured(AuthArgs {
        jwks_file: Some(path),
        jwt_issuer: Some(ISSUER.into()),
        jwt_audience: Some(AUDIENCE.into()),
        ..AuthArgs::default()
    }))
    .await
}

impl TestApp {
    /// POSTs an operation with `token` (none: anonymous) and returns the HTTP response.
    pub async fn post_as(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({"query": query, "variables": variables}));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        req.send().await.expect("request sent")
    }

    /// POSTs an operation with `token` and returns the JSON body; the status must be 200.
    pub async fn graphql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let resp = self.post_as(token, query, variables).await;
        assert_eq!(resp.status(), 200, "POST /graphql status");
        resp.json().await.expect("JSON body")
    }
}
