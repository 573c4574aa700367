//! `Viewer`: who the caller is (`me`).

use super::*;

/// Who the caller is (`me`).
pub struct Viewer(pub Principal);

#[Object]
impl Viewer {
    /// The token's `sub`; null for anonymous callers and in open mode.
    async fn subject(&self) -> Option<&str> {
        self.0.identity().and_then(|i| i.subject.as_deref())
    }

    /// The token's `name` claim.
    async fn name(&self) -> Option<&str> {
        self.0.identity().and_then(|i| i.name.as_deref())
    }

    /// The token's `email` claim.
    async fn email(&self) -> Option<&str> {
        self.0.identity().and_then(|i| i.email.as_deref())
    }

    /// The token's `roles` claim; empty without a token.
    async fn roles(&self) -> &[String] {
        self.0.identity().map_or(&[], |i| i.roles.as_slice())
    }

    /// May do everything: holds the admin role, or the server runs in open mode.
    async fn is_admin(&self) -> bool {
        self.0.is_admin()
    }

    /// The reservations the caller booked with their token (owner = its `sub` and `iss`),
    /// overlapping `[from, to)`, sorted by start; windows as `Query.reservations`. Empty for
    /// anonymous callers and in open mode, where nothing has an owner.
    async fn reservations(
        &self,
        ctx: &Context<'_>,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        #[graphql(default_with = "Some(false)")] include_cancelled: Option<bool>,
    ) -> Result<Vec<Reservation>> {
        let db = data::<Db>(ctx)?;
        let window = Window::resolve(from.map(|t| t.0), to.map(|t| t.0), db.now()).gql()?;
        let Some(owner) = self.0.identity().and_then(|i| i.owner()) else {
            return Ok(Vec::new());
        };
        let list = db
            .reservations_owned(
                owner,
                window,
                include_cancelled.unwrap_or(false),
                data::<ListLimit>(ctx)?.0,
            )
            .await
            .gql()?;
        Ok(list.into_iter().map(Reservation::from).collect())
    }
}
