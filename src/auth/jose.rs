//! What a token says, read strictly: its JOSE header before `jsonwebtoken` sees it (`crit`,
//! `alg: none`, an unknown algorithm), its claims after (each of its type), and the refusal
//! that names what is wrong, quoting what the token chose only cut short.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

pub(super) use crate::error::quoted;

/// The claims roombook reads, each of the type it must be (`claims_of`). `exp` (required),
/// `nbf`, `iss` and `aud` are checked by `jsonwebtoken` before these are looked at.
pub(super) struct Claims {
    /// Absent, or a non-empty string.
    pub sub: Option<String>,
    pub iss: Option<String>,
    pub exp: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub roles: Vec<String>,
}

/// Why a token was refused; said to the client (it names no secret).
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal(pub String);

/// The token's JOSE header, read before any key is picked or signature checked, so that what
/// is wrong with it is named: not a JWT, unsigned (`alg: none`), an algorithm
/// `jsonwebtoken` does not know, or a critical extension (`crit`, RFC 7515 4.1.11: a
/// recipient that does not implement one must refuse the token; roombook implements none).
pub(super) fn read_header(token: &str) -> Result<Map<String, Value>, Refusal> {
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
pub(super) fn claims_of(map: &Map<String, Value>) -> Result<Claims, Refusal> {
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

/// What the client is told about a token `jsonwebtoken` refused. Its header was read already
/// (`read_header`); a claim it calls missing may be present but of the wrong type, which is
/// then said (the signature verified by that point).
pub(super) fn refusal(e: jsonwebtoken::errors::Error, token: &str) -> Refusal {
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
