//! Who is acting. Open mode (no key configured) lets every caller do everything; secured mode
//! knows callers by a verified bearer token (`token`). Decisions live here and only here: the
//! role guards the schema's fields carry ([`Need`]), the one ownership check of every change
//! to a reservation or series ([`Actor::may_change`]), and who a booking's organizer is
//! ([`Principal::organizer`]).

mod jose;
mod token;

use std::sync::Arc;

use async_graphql::{Context, ErrorExtensions};
use uuid::Uuid;

use crate::domain::{Managers, OnBehalf, Owner};
use crate::error::Error;
pub use jose::Refusal;
pub use token::{read_key_file, KeyConfig, Verifier, MIN_SECRET_BYTES};

/// What a verified token says about its bearer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// `sub`: without it the bearer may read but not book.
    pub subject: Option<String>,
    /// `iss` (empty when the token has none).
    pub issuer: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub roles: Vec<String>,
    /// Holds the admin role.
    pub admin: bool,
    /// `exp`, in seconds since the epoch.
    pub expires_at: i64,
}

/// What resolvers can see of an identity: every field but when it expires. Destructured in
/// full, so a new field of `Identity` must be placed on one side or the other here.
type Visible<'a> = (
    &'a Option<String>,
    &'a str,
    &'a Option<String>,
    &'a Option<String>,
    &'a [String],
    bool,
);

impl Identity {
    fn visible(&self) -> Visible<'_> {
        let Identity {
            subject,
            issuer,
            name,
            email,
            roles,
            admin,
            expires_at: _,
        } = self;
        (subject, issuer, name, email, roles, *admin)
    }

    /// The owner of what this bearer books; `None` without `sub`.
    pub fn owner(&self) -> Option<Owner> {
        Some(Owner {
            subject: self.subject.clone()?,
            issuer: self.issuer.clone(),
        })
    }
}

/// The caller of one request or WebSocket connection.
#[derive(Clone, Debug)]
pub enum Principal {
    /// Open mode: no keys configured, everyone may do everything.
    Open,
    /// Secured mode, no token.
    Anonymous,
    /// Secured mode, a verified token.
    Token(Arc<Identity>),
}

/// A principal compared as resolvers see it: open, anonymous, or a token's identity but for
/// its expiry (the same person's tokens with other lifetimes are the same caller). What may
/// share work done for one caller with another (live delivery's plans) keys on this.
#[derive(Clone, Debug)]
pub struct SameCaller(pub Principal);

impl PartialEq for SameCaller {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Principal::Open, Principal::Open) | (Principal::Anonymous, Principal::Anonymous) => {
                true
            }
            (Principal::Token(a), Principal::Token(b)) => a.visible() == b.visible(),
            _ => false,
        }
    }
}

impl Eq for SameCaller {}

impl std::hash::Hash for SameCaller {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::mem::discriminant(&self.0).hash(state);
        if let Principal::Token(id) = &self.0 {
            id.visible().hash(state);
        }
    }
}

/// What a field needs of its caller. The schema's fields carry these as guards; a field
/// without one is open to anonymous callers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Any valid token (a member; admins too).
    Member,
    /// A token with the admin role.
    Admin,
}

impl async_graphql::Guard for Need {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let field = ctx.item.node.name.node.as_str();
        principal(ctx)?
            .require(*self, field)
            .map_err(|e| e.extend())
    }
}

/// The caller of the operation `ctx` belongs to. Every request and connection gets one; its
/// absence is a bug.
pub fn principal<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Principal> {
    ctx.data::<Principal>()
        .map_err(|e| Error::internal(format_args!("no principal: {}", e.message)).extend())
}

impl Principal {
    /// Whether this caller may use a field that needs `need` (`field` names it in the refusal).
    pub fn require(&self, need: Need, field: &str) -> Result<(), Error> {
        match (self, need) {
            (Principal::Open, _) => Ok(()),
            (Principal::Anonymous, _) => Err(Error::Unauthenticated(format!(
                "`{field}` needs a signed-in caller: send `Authorization: Bearer <token>`"
            ))),
            (Principal::Token(_), Need::Member) => Ok(()),
            (Principal::Token(id), Need::Admin) if id.admin => Ok(()),
            (Principal::Token(_), Need::Admin) => Err(Error::Forbidden(format!(
                "`{field}` is for admins: your token does not carry the admin role"
            ))),
        }
    }

    /// May do everything: open mode, or a token with the admin role. The one answer to "is
    /// this caller an admin".
    pub fn is_admin(&self) -> bool {
        match self {
            Principal::Open => true,
            Principal::Anonymous => false,
            Principal::Token(id) => id.admin,
        }
    }

    /// Who acts on reservations and series: anyone's (open mode, admins) or only their own.
    pub fn actor(&self) -> Actor {
        match self {
            _ if self.is_admin() => Actor::Anyone,
            Principal::Token(id) => Actor::Owner {
                owner: id.owner(),
                roles: id.roles.clone(),
            },
            Principal::Open | Principal::Anonymous => Actor::Owner {
                owner: None,
                roles: Vec::new(),
            },
        }
    }

    /// Whose idempotency keys this caller's are (API.md "Idempotent mutations"): the token's
    /// issuer and subject; everyone's in open mode.
    pub fn key_scope(&self) -> String {
        match self {
            Principal::Open | Principal::Anonymous => String::new(),
            Principal::Token(id) => {
                format!("{}\n{}", id.issuer, id.subject.as_deref().unwrap_or(""))
            }
        }
    }

    /// The identity of a token caller.
    pub fn identity(&self) -> Option<&Identity> {
        match self {
            Principal::Token(id) => Some(id),
            _ => None,
        }
    }

    /// The organizer and owner of a booking by this caller, from what the input gave
    /// (`name`, `email`; validated later like any input):
    /// - open mode: the input's, both required; no owner;
    /// - a member: the token's `name` (else its `email`) and `email`; input that differs is
    ///   `FORBIDDEN`, as is a token without `sub` or `email`;
    /// - an admin: the input's (booking on behalf of anyone), else the token's.
    pub fn organizer(&self, name: Option<&str>, email: Option<&str>) -> Result<Organizer, Error> {
        let id = match self {
            Principal::Open => {
                let missing = |field: &str| {
                    Error::BadUserInput(format!(
                        "`{field}` is required: this server runs in open mode, where the \
                         organizer comes from the input"
                    ))
                };
                return Ok(Organizer {
                    name: name.ok_or_else(|| missing("organizerName"))?.to_owned(),
                    email: email.ok_or_else(|| missing("organizerEmail"))?.to_owned(),
                    owner: None,
                    on_behalf: None,
                });
            }
            Principal::Anonymous => {
                return Err(Error::Unauthenticated(
                    "booking needs a signed-in caller: send `Authorization: Bearer <token>`".into(),
                ))
            }
            Principal::Token(id) => id,
        };
        let owner = id.owner().ok_or_else(|| {
            Error::Forbidden("your token has no `sub` claim, so what you book would have no owner; ask for a token with `sub`".into())
        })?;
        let claim_email = id.email.as_deref();
        let claim_name = id.name.as_deref().or(claim_email);
        if id.admin {
            let missing = |field: &str, claim: &str| {
                Error::BadUserInput(format!(
                    "give `{field}`: your token has no `{claim}` claim to take it from"
                ))
            };
            return Ok(Organizer {
                name: name
                    .or(claim_name)
                    .ok_or_else(|| missing("organizerName", "name"))?
                    .to_owned(),
                email: email
                    .or(claim_email)
                    .ok_or_else(|| missing("organizerEmail", "email"))?
                    .to_owned(),
                owner: Some(owner),
                on_behalf: None,
            });
        }
        // A member books as themselves; for anyone else only as a manager of the room,
        // which storage decides with the room (`on_behalf`), refusing with `refusal`.
        let refusal = match (claim_email, claim_name) {
            (None, _) | (_, None) if email.is_none() => {
                return Err(Error::Forbidden(
                    "your token has no `email` claim, and members book as the address their token names; ask for a token with `email`".into(),
                ))
            }
            (Some(_), Some(claim_name)) if name.is_some_and(|n| n.trim() != claim_name.trim()) => {
                format!(
                    "members book as themselves: leave out `organizerName` or give {claim_name:?}, the name your token carries; only a room's managers and admins book on behalf of others"
                )
            }
            (Some(claim_email), Some(_))
                if email.is_none_or(|e| e.trim().eq_ignore_ascii_case(claim_email.trim())) =>
            {
                return Ok(Organizer {
                    name: claim_name.unwrap_or(claim_email).to_owned(),
                    email: claim_email.to_owned(),
                    owner: Some(owner),
                    on_behalf: None,
                });
            }
            _ => format!(
                "members book as themselves: leave out `organizerEmail` or give the address your token carries{}; only a room's managers and admins book on behalf of others",
                claim_email.map(|c| format!(" ({c:?})")).unwrap_or_default()
            ),
        };
        let Some(email) = email.or(claim_email) else {
            return Err(Error::Forbidden(refusal));
        };
        Ok(Organizer {
            name: name.or(claim_name).unwrap_or(email).to_owned(),
            email: email.to_owned(),
            owner: Some(owner),
            on_behalf: Some(OnBehalf {
                subject: id.subject.clone(),
                roles: id.roles.clone(),
                refusal,
            }),
        })
    }
}

/// A booking's organizer fields (unvalidated) and owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organizer {
    pub name: String,
    pub email: String,
    pub owner: Option<Owner>,
    /// A member booking for someone else: allowed only if they manage the room.
    pub on_behalf: Option<OnBehalf>,
}

/// Whose reservations and series a caller may change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// Anyone's: open mode and admins.
    Anyone,
    /// What this owner booked (`None`: nothing), and anything in the rooms whose managers
    /// name the token's subject or one of its `roles`.
    Owner {
        owner: Option<Owner>,
        roles: Vec<String>,
    },
}

impl Actor {
    /// The one ownership check: may this actor change `what` (`id`), owned by `owner`, in a
    /// room run by `managers` (read only when the actor does not own it)? What was booked
    /// without a token (open mode, before an upgrade) has no owner: only admins and managers.
    pub fn may_change(
        &self,
        owner: Option<&Owner>,
        managers: impl FnOnce() -> Managers,
        what: &str,
        id: Uuid,
    ) -> Result<(), Error> {
        match self {
            Actor::Owner {
                owner: Some(me), ..
            } if owner == Some(me) => Ok(()),
            _ if self.manages(&managers()) => Ok(()),
            Actor::Anyone | Actor::Owner { .. } => Err(Error::Forbidden(format!(
                "{what} {id} is not yours: only the member who booked it, a manager of its room, \
                 or an admin, may change it"
            ))),
        }
    }

    /// Whether this actor may act as a manager of a room run by `managers` (admins may).
    pub fn manages(&self, managers: &Managers) -> bool {
        match self {
            Actor::Anyone => true,
            Actor::Owner { owner, roles } => {
                managers.include(owner.as_ref().map(|o| o.subject.as_str()), roles)
            }
        }
    }

    /// A room's managers' work refused to this actor: `FORBIDDEN` naming `what`.
    pub fn refuse_unless_manager(&self, managers: &Managers, what: &str) -> Result<(), Error> {
        match self.manages(managers) {
            true => Ok(()),
            false => Err(Error::Forbidden(format!(
                "{what} is for the room's managers and admins; you are neither"
            ))),
        }
    }
}

/// How this server knows its callers; fixed at start.
#[derive(Clone)]
pub struct Auth {
    verifier: Option<Arc<Verifier>>,
}

impl Auth {
    /// Open mode: every caller may do everything.
    pub fn open() -> Self {
        Auth { verifier: None }
    }

    /// Secured mode with the keys of `config`, or why they cannot be used.
    pub fn secured(config: &KeyConfig) -> Result<Self, String> {
        Ok(Auth {
            verifier: Some(Arc::new(Verifier::new(config)?)),
        })
    }

    pub fn is_secured(&self) -> bool {
        self.verifier.is_some()
    }

    /// How much longer `identity`'s token is accepted (its `exp` plus the leeway, on the clock
    /// tokens are verified with): when a WebSocket opened with it must close.
    pub fn token_valid_for(&self, identity: &Identity) -> std::time::Duration {
        let until = self
            .verifier
            .as_ref()
            .map_or(identity.expires_at, |v| v.accepted_until(identity));
        let left = until.saturating_sub(chrono::Utc::now().timestamp()).max(0);
        std::time::Duration::from_secs(left.unsigned_abs())
    }

    /// The caller presenting `authorization` (an `Authorization` value, if any). In open mode
    /// it is ignored. A value that is not a valid bearer token is refused, never taken for
    /// anonymous.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, Refusal> {
        let Some(verifier) = &self.verifier else {
            return Ok(Principal::Open);
        };
        let Some(value) = authorization else {
            return Ok(Principal::Anonymous);
        };
        let token = bearer_token(value)
            .ok_or_else(|| Refusal("the Authorization header must be `Bearer <token>`".into()))?;
        let now = jsonwebtoken::get_current_timestamp() as i64;
        verifier.verify(token, now).map(Principal::Token)
    }
}

/// The token of a `Bearer <token>` value (the scheme is case-insensitive, RFC 7235).
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: Option<&str>, email: Option<&str>) -> Principal {
        Principal::Token(Arc::new(Identity {
            subject: Some("u1".into()),
            issuer: "https://id.example".into(),
            name: name.map(Into::into),
            email: email.map(Into::into),
            roles: vec![],
            admin: false,
            expires_at: i64::MAX,
        }))
    }

    #[test]
    fn the_same_caller_is_everything_of_the_token_but_its_expiry() {
        use std::collections::HashSet;
        let with = |f: &dyn Fn(&mut Identity)| {
            let Principal::Token(id) = member(Some("Ada"), None) else {
                unreachable!()
            };
            let mut id = (*id).clone();
            f(&mut id);
            SameCaller(Principal::Token(Arc::new(id)))
        };
        let ada = with(&|_| {});
        assert_eq!(ada, with(&|id| id.expires_at = 1));
        assert_ne!(ada, with(&|id| id.roles = vec!["x".into()]));
        assert_ne!(ada, with(&|id| id.email = Some("a@example.com".into())));
        assert_ne!(ada, SameCaller(Principal::Open));
        let set: HashSet<_> = [
            ada.clone(),
            with(&|id| id.expires_at = 7),
            SameCaller(Principal::Open),
        ]
        .into_iter()
        .collect();
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn a_member_books_as_the_name_and_email_of_the_token() {
        let p = member(Some("Ada"), Some("ada@example.com"));
        let o = p.organizer(None, None).unwrap();
        assert_eq!(
            (o.name.as_str(), o.email.as_str()),
            ("Ada", "ada@example.com")
        );
        assert_eq!(o.owner.unwrap().subject, "u1");
        assert!(o.on_behalf.is_none());
        let same = p.organizer(Some(" Ada "), Some("ADA@example.com")).unwrap();
        assert!(same.on_behalf.is_none());
        // Anyone else's name or address: only if the room's managers include the caller.
        for (name, email) in [(Some("Bob"), None), (None, Some("bob@example.com"))] {
            let o = p.organizer(name, email).unwrap();
            let on_behalf = o.on_behalf.as_ref().expect("booking for someone else");
            let refused = OnBehalf::check(Some(on_behalf), &Managers::default()).unwrap_err();
            assert_eq!(refused.code(), "FORBIDDEN");
            assert!(refused.to_string().contains("managers"), "{refused}");
            let managed = Managers::parse(&["u1".to_owned()]).unwrap();
            assert!(OnBehalf::check(Some(on_behalf), &managed).is_ok());
        }
        let o = p.organizer(Some("Bob"), Some("bob@example.com")).unwrap();
        assert_eq!(
            (o.name.as_str(), o.email.as_str()),
            ("Bob", "bob@example.com")
        );
    }

    #[test]
    fn a_member_token_without_email_or_sub_cannot_book() {
        let e = member(Some("Ada"), None).organizer(None, None).unwrap_err();
        assert!(e.to_string().contains("`email`"), "{e}");
        let no_sub = Principal::Token(Arc::new(Identity {
            subject: None,
            ..member(None, Some("a@example.com"))
                .identity()
                .unwrap()
                .clone()
        }));
        let e = no_sub.organizer(None, None).unwrap_err();
        assert_eq!(e.code(), "FORBIDDEN");
        assert!(e.to_string().contains("`sub`"), "{e}");
    }

    #[test]
    fn without_a_name_claim_the_email_names_the_organizer() {
        let o = member(None, Some("ada@example.com"))
            .organizer(None, None)
            .unwrap();
        assert_eq!(o.name, "ada@example.com");
    }

    #[test]
    fn only_the_owner_or_anyone_may_change() {
        let mine = Owner {
            subject: "u1".into(),
            issuer: "i".into(),
        };
        let same_sub_other_issuer = Owner {
            subject: "u1".into(),
            issuer: "j".into(),
        };
        let id = Uuid::nil();
        let me = Actor::Owner {
            owner: Some(mine.clone()),
            roles: vec!["staff".into()],
        };
        let none = Managers::default;
        assert!(me.may_change(Some(&mine), none, "reservation", id).is_ok());
        assert!(me
            .may_change(Some(&same_sub_other_issuer), none, "reservation", id)
            .is_err());
        assert!(me.may_change(None, none, "reservation", id).is_err());
        let nobody = Actor::Owner {
            owner: None,
            roles: Vec::new(),
        };
        assert!(nobody.may_change(None, none, "reservation", id).is_err());
        assert!(Actor::Anyone
            .may_change(None, none, "reservation", id)
            .is_ok());
        // A manager of the room, by subject or by role, may change what others booked.
        let by = |entries: &[&str]| {
            let entries: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
            move || Managers::parse(&entries).unwrap()
        };
        assert!(me.may_change(None, by(&["u1"]), "reservation", id).is_ok());
        assert!(me
            .may_change(None, by(&["role:staff"]), "reservation", id)
            .is_ok());
        assert!(me
            .may_change(None, by(&["u2", "role:x"]), "reservation", id)
            .is_err());
        assert!(nobody
            .may_change(None, by(&["role:staff"]), "reservation", id)
            .is_err());
    }

    #[test]
    fn only_bearer_values_carry_a_token() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic dXNlcjpwYXNz"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("abc"), None);
    }
}
