//! The admin center (issue 15): server-rendered pages for administrators signed in through
//! Portcullis. Each handler states what it needs in its signature ([`AdminSession`] to look,
//! [`AdminPost`] to change, which also refuses cross-site posts) and asks the authorization
//! table for the capability of its page or action; every change goes through the same
//! service call as Graph and the CLI, and so is validated and audited the same way.

mod ca;
mod form;
mod guard;
mod logs;
mod methods;
mod strengths;
mod users;
mod what_if;

use axum::routing::{get, post};
use axum::Router;
use portcullis_domain::authz::Capability;

pub(crate) use guard::{AdminPost, AdminSession};

use crate::pages::admin::{NavLink, Viewer};
use crate::AppState;

/// The admin center's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(home))
        .route("/admin/authentication-methods", get(methods::list))
        .route(
            "/admin/authentication-methods/fido2",
            get(methods::fido2).post(methods::post_fido2),
        )
        .route("/admin/conditional-access", get(ca::list))
        .route(
            "/admin/conditional-access/new",
            get(ca::new).post(ca::post_new),
        )
        .route(
            "/admin/conditional-access/named-locations",
            get(ca::locations).post(ca::add_location),
        )
        .route("/admin/conditional-access/what-if", get(what_if::page))
        .route(
            "/admin/conditional-access/{id}",
            get(ca::edit).post(ca::post_edit),
        )
        .route("/admin/conditional-access/{id}/delete", post(ca::delete))
        .route("/admin/strengths", get(strengths::list))
        .route(
            "/admin/strengths/new",
            get(strengths::new).post(strengths::post_new),
        )
        .route(
            "/admin/strengths/{id}",
            get(strengths::edit).post(strengths::post_edit),
        )
        .route("/admin/strengths/{id}/delete", post(strengths::delete))
        .route("/admin/users", get(users::list).post(users::create))
        .route("/admin/users/{id}", get(users::user))
        .route("/admin/users/{id}/enabled", post(users::set_enabled))
        .route("/admin/users/{id}/tap", post(users::create_tap))
        .route(
            "/admin/users/{id}/passkeys/{passkey}/delete",
            get(users::confirm_delete).post(users::delete),
        )
        .route("/admin/sign-ins", get(logs::sign_ins))
        .route("/admin/audit", get(logs::audit))
        .route("/admin/readiness", get(logs::readiness))
}

/// The sections of the admin center, each with the capability that opens it.
const SECTIONS: [(&str, &str, Capability); 7] = [
    ("/admin/users", "Users", Capability::ReadUsers),
    (
        "/admin/authentication-methods",
        "Authentication methods",
        Capability::ReadPolicy,
    ),
    (
        "/admin/strengths",
        "Authentication strengths",
        Capability::ReadStrengths,
    ),
    (
        "/admin/conditional-access",
        "Conditional Access",
        Capability::ReadCa,
    ),
    ("/admin/readiness", "Readiness", Capability::RunReadiness),
    ("/admin/sign-ins", "Sign-in logs", Capability::ReadAudit),
    ("/admin/audit", "Audit logs", Capability::ReadAudit),
];

impl AdminSession {
    /// The viewer as the frame shows them: the sections their roles open.
    pub fn nav(&self) -> Viewer {
        Viewer {
            upn: self.user.user_principal_name.to_string(),
            roles: self
                .roles
                .iter()
                .map(|r| r.display_name().to_string())
                .collect(),
            links: SECTIONS
                .iter()
                .filter(|(_, _, cap)| self.may(*cap))
                .map(|(href, label, _)| NavLink { href, label })
                .collect(),
        }
    }
}

/// `/admin`: the first section the viewer's roles open.
async fn home(admin: AdminSession) -> axum::response::Response {
    use axum::response::IntoResponse;
    match admin.nav().links.first() {
        Some(l) => axum::response::Redirect::to(l.href).into_response(),
        None => crate::error::PageError::Forbidden(
            "Your role opens no section of the admin center.".into(),
        )
        .into_response(),
    }
}
