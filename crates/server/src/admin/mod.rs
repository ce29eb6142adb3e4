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

use portcullis_domain::authz::Capability;

pub(crate) use guard::{AdminPost, AdminSession};

use crate::pages::admin::{NavLink, Viewer};
use crate::route_table::{route_table, Pipe};
use crate::AppState;

route_table! {
    /// The admin center's routes: each page and action asks the authorization table for
    /// its capability.
    pub(crate) const ROUTES;
    pub(crate) fn table_router;
    "/admin" => Page, Administrator { Get home };
    "/admin/authentication-methods" => Page, Administrator { Get methods::list };
    "/admin/authentication-methods/fido2" => Page, Administrator {
        Get methods::fido2,
        Post methods::post_fido2,
    };
    "/admin/authentication-methods/fido2/profiles/new" => Page, Administrator {
        Get profiles::new,
        Post profiles::post_new,
    };
    "/admin/authentication-methods/fido2/profiles/{id}" => Page, Administrator {
        Get profiles::get,
        Post profiles::post,
    };
    "/admin/authentication-methods/tap" => Page, Administrator {
        Get tap_settings::get,
        Post tap_settings::post,
    };
    "/admin/conditional-access" => Page, Administrator { Get ca::list };
    "/admin/conditional-access/new" => Page, Administrator { Get ca::new, Post ca::post_new };
    "/admin/conditional-access/named-locations" => Page, Administrator {
        Get ca::locations,
        Post ca::add_location,
    };
    "/admin/conditional-access/what-if" => Page, Administrator { Get what_if::page };
    "/admin/conditional-access/{id}" => Page, Administrator { Get ca::edit, Post ca::post_edit };
    "/admin/conditional-access/{id}/delete" => Page, Administrator { Post ca::delete };
    "/admin/strengths" => Page, Administrator { Get strengths::list };
    "/admin/strengths/new" => Page, Administrator {
        Get strengths::new,
        Post strengths::post_new,
    };
    "/admin/strengths/{id}" => Page, Administrator {
        Get strengths::edit,
        Post strengths::post_edit,
    };
    "/admin/strengths/{id}/delete" => Page, Administrator { Post strengths::delete };
    "/admin/users" => Page, Administrator { Get users::list, Post users::create };
    "/admin/users/{id}" => Page, Administrator { Get users::user };
    "/admin/users/{id}/enabled" => Page, Administrator { Post users::set_enabled };
    "/admin/users/{id}/tap" => Page, Administrator { Post users::create_tap };
    "/admin/users/{id}/passkeys/{passkey}/delete" => Page, Administrator {
        Get users::confirm_delete,
        Post users::delete,
    };
    "/admin/users/{id}/passkeys/{passkey}/state" => Page, Administrator {
        Post users::set_state
    };
    "/admin/groups" => Page, Administrator { Get groups::list, Post groups::create };
    "/admin/groups/{id}" => Page, Administrator { Get groups::group };
    "/admin/groups/{id}/members" => Page, Administrator { Post groups::add_member };
    "/admin/sign-ins" => Page, Administrator { Get logs::sign_ins };
    "/admin/audit" => Page, Administrator { Get logs::audit };
    "/admin/readiness" => Page, Administrator { Get logs::readiness };
    "/admin/inventory" => Page, Administrator { Get inventory::page };
    "/admin/inventory/change" => Page, Administrator {
        Get inventory::confirm_change,
        Post inventory::change,
    };
    "/admin/adoption" => Page, Administrator { Get adoption::page };
    "/admin/adoption/{file}" => Page, Administrator { Get adoption::export };
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
