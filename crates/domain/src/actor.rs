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

#[cfg(test)]
mod tests {
    use super::*;
    use DirectoryRole::*;

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
