//! Who may use the admin center, stated in each handler's signature: [`AdminSession`] for a
//! page (signed in through Portcullis, holding an administrator role), [`AdminPost`] for a
//! change (the same, and sent from this site). What each page or action needs beyond that is
//! the authorization table's capability, asked through [`AdminSession::require`].

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_domain::actor::Actor;
use portcullis_domain::authz::{authorize_page, Capability};
use portcullis_domain::directory::{DirectoryRole, User};

use crate::error::PageError;
use crate::routes::{check_same_origin, signed_in};
use crate::AppState;

/// A signed-in administrator: any directory role opens the admin center; each page and
/// action then asks for its own capability.
#[derive(Debug, Clone)]
pub(crate) struct AdminSession {
    /// Who.
    pub user: User,
    /// The directory roles they hold now (read on every request: a role removed takes
    /// effect at once).
    pub roles: Vec<DirectoryRole>,
}

impl AdminSession {
    /// Whether the table lets these roles exercise `cap` (a page renders what they cannot
    /// do as inactive).
    pub fn may(&self, cap: Capability) -> bool {
        authorize_page(cap, &self.roles).is_ok()
    }

    /// Refuses with 403, naming `what` and the roles that may, unless the roles allow `cap`.
    pub fn require(&self, cap: Capability, what: &str) -> Result<(), PageError> {
        authorize_page(cap, &self.roles)
            .map_err(|d| PageError::Forbidden(format!("{what} is not open to your role. {d}")))
    }

    /// The actor the audit log names.
    pub fn actor(&self) -> Actor {
        Actor::User {
            id: self.user.id,
            upn: self.user.user_principal_name.to_string(),
            roles: self.roles.clone(),
        }
    }
}

impl FromRequestParts<AppState> for AdminSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        // A form posted while held resumes at its section's page, not at the POST address.
        let back = if parts.method == axum::http::Method::GET {
            parts.uri.path_and_query().map(|p| p.to_string())
        } else {
            Some("/admin".to_string())
        };
        let signed_in = match signed_in(st, &parts.headers).await {
            Err(PageError::RegistrationDue(_)) => Err(PageError::RegistrationDue(back)),
            other => other,
        };
        let Some((session, user)) = signed_in.map_err(IntoResponse::into_response)? else {
            let back = parts.uri.path_and_query().map_or("/admin", |p| p.as_str());
            let back: String = url::form_urlencoded::byte_serialize(back.as_bytes()).collect();
            return Err(Redirect::to(&format!("/signin?return_to={back}")).into_response());
        };
        let roles = st
            .service
            .user_roles(user.id)
            .await
            .map_err(|e| PageError::from(e).into_response())?;
        // Administration needs two factors: a password alone (a user who holds nothing
        // stronger yet) never reaches it.
        if !roles.is_empty() && !portcullis_domain::session::is_mfa(&session.methods) {
            let back = parts.uri.path_and_query().map_or("/admin", |p| p.as_str());
            return Err(PageError::Forbidden(format!(
                "The admin center needs a sign-in with two factors; you signed in with a password only. Sign in with a passkey, a Temporary Access Pass, or your password and an authenticator app, then open {back} again."
            ))
            .into_response());
        }
        if roles.is_empty() {
            return Err(PageError::Forbidden(
                "The admin center is for administrators, and your account holds no administrator role. Security info is at /security-info.".into(),
            )
            .into_response());
        }
        Ok(AdminSession { user, roles })
    }
}

/// A change posted from an admin-center form: refused when sent from another site (before
/// the session is even read), then an [`AdminSession`].
#[derive(Debug, Clone)]
pub(crate) struct AdminPost(pub AdminSession);

impl FromRequestParts<AppState> for AdminPost {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        check_same_origin(&parts.headers, st).map_err(IntoResponse::into_response)?;
        Ok(AdminPost(
            AdminSession::from_request_parts(parts, st).await?,
        ))
    }
}
