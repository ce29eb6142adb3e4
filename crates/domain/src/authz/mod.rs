//! Who may call an admin API route (graph-api.md §8.3–8.4): delegated callers need a
//! listed scope **and** a listed directory role; applications need a listed app role.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::directory::DirectoryRole;

mod table;

pub use table::{authorize_capability, authorize_page, Capability};

/// What a route demands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    /// Delegated scopes (`scp`), any one suffices.
    pub scopes: &'static [&'static str],
    /// Application permissions (`roles`), any one suffices.
    pub app_roles: &'static [&'static str],
    /// Directory roles a delegated caller must hold, any one suffices; empty for routes a
    /// user calls about themselves (`me/…`).
    pub directory_roles: &'static [DirectoryRole],
}

/// The caller, as its verified token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Principal {
    /// A signed-in user acting through an application.
    Delegated {
        /// The user.
        user_id: Uuid,
        /// Granted scopes.
        scopes: Vec<String>,
        /// Directory roles the user holds now.
        roles: Vec<DirectoryRole>,
    },
    /// An application acting as itself.
    App {
        /// Client id.
        app_id: String,
        /// Granted application permissions.
        roles: Vec<String>,
    },
}

/// Why a call is refused (403; a missing or bad token is 401 and decided before this).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// No granted permission is one the route accepts.
    #[error("Either the signed-in user or the application lacks the required permission: one of {0} is needed.")]
    MissingPermission(String),
    /// The user holds none of the directory roles the route needs.
    #[error(
        "The signed-in user holds none of the required directory roles: one of {0} is needed."
    )]
    MissingRole(String),
}

fn granted(have: &[String], want: &[&str]) -> bool {
    have.iter()
        .any(|h| want.iter().any(|w| h.eq_ignore_ascii_case(w)))
}

/// Whether `roles` include one `r` names; Global Administrator always does.
fn holds_role(r: &Requirement, roles: &[DirectoryRole]) -> Result<(), Denied> {
    if roles.contains(&DirectoryRole::GlobalAdministrator)
        || roles.iter().any(|h| r.directory_roles.contains(h))
    {
        Ok(())
    } else {
        Err(Denied::MissingRole(role_names(r.directory_roles)))
    }
}

/// The roles' display names, comma-separated.
fn role_names(roles: &[DirectoryRole]) -> String {
    roles
        .iter()
        .map(|d| d.display_name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Decides whether `p` may call a route with requirement `r`. Global Administrator
/// satisfies any directory-role demand.
pub fn authorize(r: &Requirement, p: &Principal) -> Result<(), Denied> {
    match p {
        Principal::App { roles, .. } => {
            if granted(roles, r.app_roles) {
                Ok(())
            } else {
                Err(Denied::MissingPermission(r.app_roles.join(", ")))
            }
        }
        Principal::Delegated { scopes, roles, .. } => {
            if !granted(scopes, r.scopes) {
                return Err(Denied::MissingPermission(r.scopes.join(", ")));
            }
            if r.directory_roles.is_empty() {
                Ok(())
            } else {
                holds_role(r, roles)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DirectoryRole::*;

    const WRITE: Requirement = Requirement {
        scopes: &["Policy.ReadWrite.AuthenticationMethod"],
        app_roles: &["Policy.ReadWrite.AuthenticationMethod"],
        directory_roles: &[AuthenticationPolicyAdministrator],
    };

    fn user(scopes: &[&str], roles: Vec<DirectoryRole>) -> Principal {
        Principal::Delegated {
            user_id: Uuid::nil(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            roles,
        }
    }

    #[test]
    fn delegated_calls_need_scope_and_role() {
        assert_eq!(
            authorize(
                &WRITE,
                &user(
                    &["Policy.ReadWrite.AuthenticationMethod"],
                    vec![AuthenticationPolicyAdministrator]
                )
            ),
            Ok(())
        );
        assert_eq!(
            authorize(
                &WRITE,
                &user(
                    &["policy.readwrite.authenticationmethod"],
                    vec![GlobalAdministrator]
                )
            ),
            Ok(())
        );
        assert!(matches!(
            authorize(
                &WRITE,
                &user(&["Policy.Read.All"], vec![GlobalAdministrator])
            ),
            Err(Denied::MissingPermission(_))
        ));
        assert!(matches!(
            authorize(
                &WRITE,
                &user(
                    &["Policy.ReadWrite.AuthenticationMethod"],
                    vec![ReportsReader]
                )
            ),
            Err(Denied::MissingRole(_))
        ));
    }

    #[test]
    fn self_service_routes_need_only_the_scope() {
        const ME: Requirement = Requirement {
            scopes: &["UserAuthenticationMethod.Read"],
            app_roles: &[],
            directory_roles: &[],
        };
        assert_eq!(
            authorize(&ME, &user(&["UserAuthenticationMethod.Read"], vec![])),
            Ok(())
        );
        assert!(authorize(&ME, &user(&["User.Read"], vec![])).is_err());
        assert!(
            authorize(
                &ME,
                &Principal::App {
                    app_id: "x".into(),
                    roles: vec!["UserAuthenticationMethod.Read".into()]
                }
            )
            .is_err(),
            "apps have no 'me'"
        );
    }

    #[test]
    fn app_calls_need_an_app_role() {
        let app = |r: &str| Principal::App {
            app_id: "x".into(),
            roles: vec![r.into()],
        };
        assert_eq!(
            authorize(&WRITE, &app("Policy.ReadWrite.AuthenticationMethod")),
            Ok(())
        );
        assert!(matches!(
            authorize(&WRITE, &app("Policy.Read.All")),
            Err(Denied::MissingPermission(_))
        ));
    }
}
