//! Who is making a change, and what they may do to whom.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::directory::DirectoryRole;

/// The initiator of an administrative change, as recorded in the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Actor {
    /// Someone with access to the machine running the CLI (the break-glass path):
    /// acting with the store's own credentials, outside the directory's roles.
    Operator {
        /// Who ran it, as far as the OS says.
        name: String,
    },
    /// The server itself, e.g. the first-start bootstrap.
    System,
    /// An application acting as itself (app-only token).
    Application {
        /// Client id.
        app_id: String,
    },
    /// A signed-in directory user, with the roles they hold.
    User {
        /// Object id.
        id: Uuid,
        /// userPrincipalName, for the log.
        upn: String,
        /// Directory roles held at the time of the request.
        roles: Vec<DirectoryRole>,
    },
}

impl Actor {
    /// A short label for logs and the audit trail.
    pub fn label(&self) -> String {
        match self {
            Actor::Operator { name } => format!("operator {name} (CLI)"),
            Actor::System => "Portcullis".into(),
            Actor::Application { app_id } => format!("application {app_id}"),
            Actor::User { upn, .. } => upn.clone(),
        }
    }
}

/// Why an actor may not manage another user's authentication methods.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MethodAdminDenied {
    /// Nobody manages their own methods through administrator rights (graph-api.md §2.2).
    #[error("administrators cannot create or manage a Temporary Access Pass or other methods for themselves; ask another administrator")]
    SelfService,
    /// The target holds an administrator role and the actor is only an Authentication Administrator.
    #[error("the user holds an administrator role; only a Privileged Authentication Administrator or Global Administrator can manage their methods")]
    TargetIsAdmin,
    /// The actor holds no role that manages methods.
    #[error("managing users' authentication methods needs the Authentication Administrator, Privileged Authentication Administrator or Global Administrator role")]
    NoRole,
}

/// Decides whether `actor` may create, view or delete the authentication methods
/// (TAP, passkeys) of a user who holds `target_roles` (graph-api.md §2.2, §8.4).
pub fn may_manage_methods(
    actor: &Actor,
    target_id: Uuid,
    target_roles: &[DirectoryRole],
) -> Result<(), MethodAdminDenied> {
    match actor {
        Actor::Operator { .. } | Actor::System | Actor::Application { .. } => Ok(()),
        Actor::User { id, roles, .. } => {
            if *id == target_id {
                return Err(MethodAdminDenied::SelfService);
            }
            let has = |r: DirectoryRole| roles.contains(&r);
            if has(DirectoryRole::GlobalAdministrator)
                || has(DirectoryRole::PrivilegedAuthenticationAdministrator)
            {
                Ok(())
            } else if has(DirectoryRole::AuthenticationAdministrator) {
                if target_roles.iter().any(|r| r.is_privileged()) {
                    Err(MethodAdminDenied::TargetIsAdmin)
                } else {
                    Ok(())
                }
            } else {
                Err(MethodAdminDenied::NoRole)
            }
        }
    }
}

/// Whether `actor` may *view* a user's methods (never a TAP code): everyone their own,
/// Global Readers anyone's, and anyone who may manage them.
pub fn may_view_methods(
    actor: &Actor,
    target_id: Uuid,
    target_roles: &[DirectoryRole],
) -> Result<(), MethodAdminDenied> {
    match actor {
        Actor::User { id, .. } if *id == target_id => Ok(()),
        Actor::User { roles, .. } if roles.contains(&DirectoryRole::GlobalReader) => Ok(()),
        _ => may_manage_methods(actor, target_id, target_roles),
    }
}

/// Application permissions that lead to Global Administrator: assigning directory roles
/// (`RoleManagement.ReadWrite.Directory`), granting application permissions
/// (`AppRoleAssignment.ReadWrite.All`), writing the directory (`Directory.ReadWrite.All`),
/// and creating an administrator's Temporary Access Pass (`UserAuthenticationMethod.ReadWrite.All`).
/// Whoever can sign in as an application holding one can become Global Administrator.
pub const PRIVILEGED_APP_PERMISSIONS: [&str; 4] = [
    "RoleManagement.ReadWrite.Directory",
    "AppRoleAssignment.ReadWrite.All",
    "Directory.ReadWrite.All",
    "UserAuthenticationMethod.ReadWrite.All",
];

/// Whether a permission is one of [`PRIVILEGED_APP_PERMISSIONS`] (any casing).
pub fn is_privileged_app_permission(permission: &str) -> bool {
    PRIVILEGED_APP_PERMISSIONS
        .iter()
        .any(|p| p.eq_ignore_ascii_case(permission))
}

/// Why an actor may not change an application's credentials or grant it a permission.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppPrivilegeDenied {
    /// The application holds (or would hold) a privileged permission.
    #[error("'{app}' holds {permissions}, which lead to Global Administrator: only a Global Administrator or Privileged Role Administrator may add or remove its credentials or grant it such a permission")]
    Privileged {
        /// The application's name.
        app: String,
        /// The privileged permissions, comma-separated.
        permissions: String,
    },
}

/// Whether `actor` may change the credentials of (or grant permissions to) an application
/// that holds `permissions`: whoever holds its credentials acts with its permissions, so an
/// application holding a privileged one is managed only by those who could grant themselves
/// Global Administrator anyway — Global Administrators, Privileged Role Administrators and
/// the operator. Other applications stay with every role the route allows (Application
/// Administrators and the rest).
pub fn may_manage_app_credentials(
    actor: &Actor,
    app: &str,
    permissions: &[String],
) -> Result<(), AppPrivilegeDenied> {
    let privileged: Vec<&str> = permissions
        .iter()
        .map(String::as_str)
        .filter(|p| is_privileged_app_permission(p))
        .collect();
    if privileged.is_empty() {
        return Ok(());
    }
    let allowed = match actor {
        Actor::Operator { .. } | Actor::System => true,
        Actor::Application { .. } => false,
        Actor::User { roles, .. } => roles.iter().any(|r| {
            matches!(
                r,
                DirectoryRole::GlobalAdministrator | DirectoryRole::PrivilegedRoleAdministrator
            )
        }),
    };
    if allowed {
        Ok(())
    } else {
        Err(AppPrivilegeDenied::Privileged {
            app: app.to_string(),
            permissions: privileged.join(", "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DirectoryRole::*;

    #[test]
    fn only_privileged_role_holders_touch_credentials_of_privileged_apps() {
        let privileged = vec![
            "User.Read.All".to_string(),
            "rolemanagement.readwrite.directory".to_string(),
        ];
        let plain = vec!["Policy.Read.All".to_string()];
        let (_, app_admin) = user(vec![
            ApplicationAdministrator,
            CloudApplicationAdministrator,
        ]);
        assert!(may_manage_app_credentials(&app_admin, "Ops", &plain).is_ok());
        let denied = may_manage_app_credentials(&app_admin, "Ops", &privileged).unwrap_err();
        assert!(denied
            .to_string()
            .contains("rolemanagement.readwrite.directory"));
        for role in [GlobalAdministrator, PrivilegedRoleAdministrator] {
            let (_, u) = user(vec![role]);
            assert!(
                may_manage_app_credentials(&u, "Ops", &privileged).is_ok(),
                "{role}"
            );
        }
        let app = Actor::Application { app_id: "x".into() };
        assert!(
            may_manage_app_credentials(&app, "Ops", &privileged).is_err(),
            "an application never manages a privileged one's credentials"
        );
        assert!(may_manage_app_credentials(
            &Actor::Operator {
                name: "root".into()
            },
            "Ops",
            &privileged
        )
        .is_ok());
    }

    fn user(roles: Vec<DirectoryRole>) -> (Uuid, Actor) {
        let id = Uuid::new_v4();
        (
            id,
            Actor::User {
                id,
                upn: "a@b.c".into(),
                roles,
            },
        )
    }

    #[test]
    fn nobody_manages_their_own_methods_as_admin() {
        let (id, ga) = user(vec![GlobalAdministrator]);
        assert_eq!(
            may_manage_methods(&ga, id, &[GlobalAdministrator]),
            Err(MethodAdminDenied::SelfService)
        );
        assert_eq!(
            may_manage_methods(&ga, Uuid::new_v4(), &[GlobalAdministrator]),
            Ok(())
        );
    }

    #[test]
    fn everyone_may_view_their_own_methods_but_not_manage_them() {
        let (id, ga) = user(vec![GlobalAdministrator]);
        assert_eq!(may_view_methods(&ga, id, &[GlobalAdministrator]), Ok(()));
        assert_eq!(
            may_manage_methods(&ga, id, &[GlobalAdministrator]),
            Err(MethodAdminDenied::SelfService)
        );
        let (_, reader) = user(vec![GlobalReader]);
        assert_eq!(
            may_view_methods(&reader, Uuid::new_v4(), &[GlobalAdministrator]),
            Ok(())
        );
        let (_, nobody) = user(vec![]);
        assert_eq!(
            may_view_methods(&nobody, Uuid::new_v4(), &[]),
            Err(MethodAdminDenied::NoRole)
        );
    }

    #[test]
    fn authentication_admin_cannot_touch_admins() {
        let (_, aa) = user(vec![AuthenticationAdministrator]);
        assert_eq!(may_manage_methods(&aa, Uuid::new_v4(), &[]), Ok(()));
        assert_eq!(
            may_manage_methods(&aa, Uuid::new_v4(), &[GlobalAdministrator]),
            Err(MethodAdminDenied::TargetIsAdmin)
        );
        let (_, paa) = user(vec![PrivilegedAuthenticationAdministrator]);
        assert_eq!(
            may_manage_methods(&paa, Uuid::new_v4(), &[GlobalAdministrator]),
            Ok(())
        );
        let (_, reader) = user(vec![GlobalReader]);
        assert_eq!(
            may_manage_methods(&reader, Uuid::new_v4(), &[]),
            Err(MethodAdminDenied::NoRole)
        );
    }
}
