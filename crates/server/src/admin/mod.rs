//! The admin center (issue 15): server-rendered pages for administrators signed in through
//! Portcullis. Each handler states what it needs in its signature ([`AdminSession`] to look,
//! [`AdminPost`] to change, which also refuses cross-site posts) and asks the authorization
//! table for the capability of its page or action; every change goes through the same
//! service call as Graph and the CLI, and so is validated and audited the same way.

mod adoption;
mod ca;
mod form;
mod groups;
mod guard;
mod inventory;
mod logs;
mod methods;
mod profiles;
mod strengths;
mod tap_settings;
mod targets;
mod users;
mod version;
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
        .route(
            "/admin/users/{id}/passkeys/{passkey}/state",
            post(users::set_state),
        )
        .route(
            "/admin/authentication-methods/fido2/profiles/new",
            get(profiles::new).post(profiles::post_new),
        )
        .route(
            "/admin/authentication-methods/fido2/profiles/{id}",
            get(profiles::get).post(profiles::post),
        )
        .route(
            "/admin/authentication-methods/tap",
            get(tap_settings::get).post(tap_settings::post),
        )
        .route("/admin/groups", get(groups::list).post(groups::create))
        .route("/admin/groups/{id}", get(groups::group))
        .route("/admin/groups/{id}/members", post(groups::add_member))
        .route("/admin/sign-ins", get(logs::sign_ins))
        .route("/admin/audit", get(logs::audit))
        .route("/admin/readiness", get(logs::readiness))
        .route("/admin/inventory", get(inventory::page))
        .route("/admin/adoption", get(adoption::page))
        .route("/admin/adoption/{file}", get(adoption::export))
        .route(
            "/admin/inventory/change",
            get(inventory::confirm_change).post(inventory::change),
        )
}

/// `?notice=` after a redirect: each page maps it to one of a fixed set of sentences, never
/// text from the address.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct NoticeQuery {
    pub notice: Option<String>,
}

/// Why a change that strands users (R51's delta) was not saved, and how to go ahead.
pub(crate) fn held(stranded: usize) -> String {
    format!(
        "This change strands {stranded} user(s), listed below. Review them; to go ahead regardless, use the confirmation under the list."
    )
}

/// The registered applications as the forms offer them: (client id, name).
pub(crate) async fn applications(
    st: &AppState,
) -> Result<Vec<(String, String)>, crate::error::PageError> {
    Ok(st
        .service
        .applications()
        .await?
        .into_iter()
        .map(|(a, _)| (a.app_id, a.display_name))
        .collect())
}

/// The sections of the admin center, each with the capability that opens it.
const SECTIONS: [(&str, &str, Capability); 10] = [
    ("/admin/users", "Users", Capability::ReadUsers),
    ("/admin/groups", "Groups", Capability::ReadGroups),
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
    (
        "/admin/inventory",
        "Passkey inventory",
        Capability::ReadFido2,
    ),
    ("/admin/adoption", "Adoption", Capability::ReadReports),
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
            links: std::iter::once(NavLink {
                href: "/admin",
                label: "Home",
            })
            .chain(
                SECTIONS
                    .iter()
                    .filter(|(_, _, cap)| self.may(*cap))
                    .map(|(href, label, _)| NavLink { href, label }),
            )
            .collect(),
        }
    }
}

/// `/admin`: tenant health at a glance, the cards the viewer's roles can follow.
async fn home(
    admin: AdminSession,
    axum::extract::State(st): axum::extract::State<AppState>,
) -> Result<axum::response::Response, crate::error::PageError> {
    use axum::response::IntoResponse;
    let health = st
        .service
        .tenant_health(admin.may(Capability::RunReadiness))
        .await?;
    let can = crate::pages::admin::HomeAccess {
        users: admin.may(Capability::ReadUsers),
        logs: admin.may(Capability::ReadAudit),
    };
    Ok(crate::pages::admin::home_page(&admin.nav(), &health, can).into_response())
}
