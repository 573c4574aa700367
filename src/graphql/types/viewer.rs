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

    /// `reservations` as pages (API.md "Pages"): by start, then id; `first`/`after` forward,
    /// `last`/`before` backward (1-500). Empty where `reservations` is.
    #[allow(clippy::too_many_arguments)]
    async fn reservations_connection(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        #[graphql(default_with = "Some(false)")] include_cancelled: Option<bool>,
    ) -> Result<ReservationConnection> {
        let (from, to) = (from.map(|t| t.0), to.map(|t| t.0));
        let include_cancelled = include_cancelled.unwrap_or(false);
        let owner = self.0.identity().and_then(|i| i.owner());
        let id = ListId::new(
            "Viewer.reservationsConnection",
            &[&owner, &from, &to, &include_cancelled],
        );
        // Arguments are checked for everyone, so a client learns of a bad one in open mode too.
        id.request::<(i64, uuid::Uuid)>(first, after.as_deref(), last, before.as_deref())
            .gql()?;
        let window = Window::resolve(from, to, data::<Db>(ctx)?.now()).gql()?;
        let Some(owner) = owner else {
            return Ok(super::pages::empty(id).into());
        };
        let list = crate::db::ReservationList {
            owner: Some(owner),
            include_cancelled,
            ..Default::default()
        };
        reservations_connection(ctx, id, list, window, first, after, last, before).await
    }
}
