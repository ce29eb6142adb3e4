//! The one table of who may do what: each administrative [`Capability`] and its
//! [`Requirement`] (graph-api.md §1.1, §8.3–8.4). Graph routes, admin pages and their tests
//! read it; nothing else lists roles or scopes.

use super::{authorize, holds_role, Denied, Principal, Requirement};
use crate::directory::DirectoryRole;
use DirectoryRole::*;

/// A requirement whose delegated scopes and application permissions are the same names.
const fn both(
    permissions: &'static [&'static str],
    directory_roles: &'static [DirectoryRole],
) -> Requirement {
    Requirement {
        scopes: permissions,
        app_roles: permissions,
        directory_roles,
    }
}

const ALL_ADMIN_ROLES: &[DirectoryRole] = &DirectoryRole::ALL;

/// Who reads users' methods: the authentication administrators and the Global Reader.
const METHOD_READERS: &[DirectoryRole] = &[
    AuthenticationAdministrator,
    PrivilegedAuthenticationAdministrator,
    GlobalReader,
];

/// Who changes users' methods.
const METHOD_WRITERS: &[DirectoryRole] = &[
    AuthenticationAdministrator,
    PrivilegedAuthenticationAdministrator,
];

/// Who reads the logs and reports.
const LOG_READERS: &[DirectoryRole] = &[
    ReportsReader,
    SecurityReader,
    SecurityAdministrator,
    GlobalReader,
];

/// The permissions that write applications, delegated or app-only.
const APP_WRITE_PERMISSIONS: &[&str] = &["Application.ReadWrite.All", "Directory.ReadWrite.All"];

const READ_POLICY: Requirement = both(
    &[
        "Policy.Read.AuthenticationMethod",
        "Policy.ReadWrite.AuthenticationMethod",
        "Policy.Read.All",
    ],
    &[
        AuthenticationPolicyAdministrator,
        GlobalReader,
        SecurityReader,
        SecurityAdministrator,
    ],
);

const WRITE_POLICY: Requirement = both(
    &["Policy.ReadWrite.AuthenticationMethod"],
    &[AuthenticationPolicyAdministrator],
);

/// `User.ReadBasic.All` is a delegated scope only.
const READ_USERS: Requirement = Requirement {
    scopes: &[
        "User.Read.All",
        "User.ReadBasic.All",
        "User.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
    app_roles: &[
        "User.Read.All",
        "User.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
    directory_roles: ALL_ADMIN_ROLES,
};

const WRITE_USERS: Requirement = both(
    &["User.ReadWrite.All", "Directory.ReadWrite.All"],
    &[GlobalAdministrator],
);

const READ_METHODS: Requirement = both(
    &[
        "UserAuthenticationMethod.Read.All",
        "UserAuthenticationMethod.ReadWrite.All",
    ],
    METHOD_READERS,
);

const READ_TAP: Requirement = both(
    &[
        "UserAuthMethod-TAP.Read.All",
        "UserAuthMethod-TAP.ReadWrite.All",
        "UserAuthenticationMethod.Read.All",
        "UserAuthenticationMethod.ReadWrite.All",
    ],
    METHOD_READERS,
);

const WRITE_TAP: Requirement = both(
    &[
        "UserAuthMethod-TAP.ReadWrite.All",
        "UserAuthenticationMethod.ReadWrite.All",
    ],
    METHOD_WRITERS,
);

const READ_FIDO2: Requirement = both(
    &[
        "UserAuthMethod-Passkey.Read.All",
        "UserAuthMethod-Passkey.ReadWrite.All",
        "UserAuthenticationMethod.Read.All",
        "UserAuthenticationMethod.ReadWrite.All",
    ],
    METHOD_READERS,
);

const WRITE_FIDO2: Requirement = both(
    &[
        "UserAuthMethod-Passkey.ReadWrite.All",
        "UserAuthenticationMethod.ReadWrite.All",
    ],
    METHOD_WRITERS,
);

const WRITE_METHODS: Requirement =
    both(&["UserAuthenticationMethod.ReadWrite.All"], METHOD_WRITERS);

/// Setting a password (`passwordProfile`) is setting a credential: what changing a user's
/// methods needs, not only what writing the user's other properties does.
const SET_PASSWORDS: Requirement = both(
    &[
        "UserAuthenticationMethod.ReadWrite.All",
        "User-PasswordProfile.ReadWrite.All",
    ],
    METHOD_WRITERS,
);

const READ_STRENGTHS: Requirement = both(
    &[
        "Policy.Read.All",
        "Policy.ReadWrite.ConditionalAccess",
        "Policy.ReadWrite.AuthenticationMethod",
    ],
    &[
        ConditionalAccessAdministrator,
        SecurityAdministrator,
        SecurityReader,
        GlobalReader,
        AuthenticationPolicyAdministrator,
    ],
);

const READ_AUDIT: Requirement = both(&["AuditLog.Read.All"], LOG_READERS);

const READ_REPORTS: Requirement = both(
    &["AuditLog.Read.All", "UserAuthenticationMethod.Read.All"],
    LOG_READERS,
);

const READ_GROUPS: Requirement = both(
    &[
        "Group.Read.All",
        "Group.ReadWrite.All",
        "GroupMember.Read.All",
        "GroupMember.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
    ALL_ADMIN_ROLES,
);

const WRITE_GROUPS: Requirement = both(
    &[
        "Group.ReadWrite.All",
        "GroupMember.ReadWrite.All",
        "Directory.ReadWrite.All",
    ],
    &[GlobalAdministrator],
);

const READ_ROLES: Requirement = both(
    &[
        "RoleManagement.Read.Directory",
        "RoleManagement.ReadWrite.Directory",
        "Directory.Read.All",
    ],
    ALL_ADMIN_ROLES,
);

const WRITE_ROLES: Requirement = both(
    &["RoleManagement.ReadWrite.Directory"],
    &[GlobalAdministrator, PrivilegedRoleAdministrator],
);

const READ_APPS: Requirement = both(
    &[
        "Application.Read.All",
        "Application.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
    ALL_ADMIN_ROLES,
);

const READ_DEVICES: Requirement = both(
    &[
        "Device.Read.All",
        "Device.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
    &[
        GlobalAdministrator,
        GlobalReader,
        SecurityReader,
        SecurityAdministrator,
        ConditionalAccessAdministrator,
        CloudDeviceAdministrator,
        IntuneAdministrator,
    ],
);

const WRITE_DEVICES: Requirement = both(
    &["Device.ReadWrite.All", "Directory.ReadWrite.All"],
    &[
        GlobalAdministrator,
        CloudDeviceAdministrator,
        IntuneAdministrator,
    ],
);

const WRITE_APPS: Requirement = both(
    APP_WRITE_PERMISSIONS,
    &[
        GlobalAdministrator,
        ApplicationAdministrator,
        CloudApplicationAdministrator,
    ],
);

/// Adding or removing an application's secret: the application administrators, and the
/// Privileged Role Administrator, who alone (with Global Administrators) may do it for an
/// application holding a privileged permission (the service decides that part:
/// `actor::may_manage_app_credentials`).
const APP_CREDENTIALS: Requirement = both(
    APP_WRITE_PERMISSIONS,
    &[
        GlobalAdministrator,
        ApplicationAdministrator,
        CloudApplicationAdministrator,
        PrivilegedRoleAdministrator,
    ],
);

const READ_CA: Requirement = both(
    &[
        "Policy.Read.All",
        "Policy.Read.ConditionalAccess",
        "Policy.ReadWrite.ConditionalAccess",
    ],
    &[
        ConditionalAccessAdministrator,
        SecurityAdministrator,
        SecurityReader,
        GlobalReader,
    ],
);

const WRITE_CA: Requirement = both(
    &["Policy.ReadWrite.ConditionalAccess"],
    &[ConditionalAccessAdministrator, SecurityAdministrator],
);

/// Readiness and the dry run read the whole configuration and every user's methods.
const RUN_READINESS: Requirement = both(
    &["Policy.Read.All"],
    &[
        GlobalReader,
        AuthenticationPolicyAdministrator,
        ConditionalAccessAdministrator,
        SecurityAdministrator,
    ],
);

const WRITE_STRENGTHS: Requirement = both(
    &[
        "Policy.ReadWrite.ConditionalAccess",
        "Policy.ReadWrite.AuthenticationMethod",
    ],
    &[
        ConditionalAccessAdministrator,
        SecurityAdministrator,
        AuthenticationPolicyAdministrator,
    ],
);

/// A user about themselves (`me/…`): delegated only, no directory role.
const ME_READ: Requirement = Requirement {
    scopes: &[
        "UserAuthenticationMethod.Read",
        "UserAuthenticationMethod.ReadWrite",
        "UserAuthMethod-Passkey.Read",
        "UserAuthMethod-Passkey.ReadWrite",
    ],
    app_roles: &[],
    directory_roles: &[],
};

const ME_WRITE: Requirement = Requirement {
    scopes: &[
        "UserAuthenticationMethod.ReadWrite",
        "UserAuthMethod-Passkey.ReadWrite",
    ],
    app_roles: &[],
    directory_roles: &[],
};

/// An administrative capability: what a Graph route, an admin page or a command asks to do.
/// Its [`Requirement`] is the one table of who may (graph-api.md §1.1, §8.3–8.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Read the authentication methods policy.
    ReadPolicy,
    /// Change the authentication methods policy.
    WritePolicy,
    /// Read users.
    ReadUsers,
    /// Create, change and delete users.
    WriteUsers,
    /// Read a user's authentication methods.
    ReadMethods,
    /// Delete a user's other methods (authenticator app).
    WriteMethods,
    /// Set a user's password (`passwordProfile`).
    SetPasswords,
    /// Read a user's Temporary Access Pass.
    ReadTap,
    /// Create and delete a user's Temporary Access Pass.
    WriteTap,
    /// Read a user's passkeys.
    ReadFido2,
    /// Add (provision) and delete a user's passkeys.
    WriteFido2,
    /// Read authentication strengths.
    ReadStrengths,
    /// Read the audit and sign-in logs.
    ReadAudit,
    /// Read the registration reports.
    ReadReports,
    /// Read groups.
    ReadGroups,
    /// Change groups and their members.
    WriteGroups,
    /// Read directory roles and their members.
    ReadRoles,
    /// Assign and remove directory roles.
    WriteRoles,
    /// Read applications and service principals.
    ReadApps,
    /// Read devices.
    ReadDevices,
    /// Change and delete devices.
    WriteDevices,
    /// Create, change and delete applications and service principals.
    WriteApps,
    /// Add and remove an application's secrets.
    AppCredentials,
    /// Read Conditional Access policies and named locations.
    ReadCa,
    /// Change Conditional Access policies and named locations.
    WriteCa,
    /// Create, change and delete authentication strengths.
    WriteStrengths,
    /// Read one's own authentication methods.
    MeRead,
    /// Change one's own authentication methods.
    MeWrite,
    /// Run the readiness analysis and dry runs (R50, R51).
    RunReadiness,
}

impl Capability {
    /// Every capability.
    pub const ALL: [Capability; 29] = [
        Capability::ReadPolicy,
        Capability::WritePolicy,
        Capability::ReadUsers,
        Capability::WriteUsers,
        Capability::ReadMethods,
        Capability::WriteMethods,
        Capability::SetPasswords,
        Capability::ReadTap,
        Capability::WriteTap,
        Capability::ReadFido2,
        Capability::WriteFido2,
        Capability::ReadStrengths,
        Capability::ReadAudit,
        Capability::ReadReports,
        Capability::ReadGroups,
        Capability::WriteGroups,
        Capability::ReadRoles,
        Capability::WriteRoles,
        Capability::ReadApps,
        Capability::ReadDevices,
        Capability::WriteDevices,
        Capability::WriteApps,
        Capability::AppCredentials,
        Capability::ReadCa,
        Capability::WriteCa,
        Capability::WriteStrengths,
        Capability::MeRead,
        Capability::MeWrite,
        Capability::RunReadiness,
    ];

    /// Who may: scopes, application permissions and directory roles.
    pub fn requirement(self) -> Requirement {
        match self {
            Capability::ReadPolicy => READ_POLICY,
            Capability::WritePolicy => WRITE_POLICY,
            Capability::ReadUsers => READ_USERS,
            Capability::WriteUsers => WRITE_USERS,
            Capability::ReadMethods => READ_METHODS,
            Capability::WriteMethods => WRITE_METHODS,
            Capability::SetPasswords => SET_PASSWORDS,
            Capability::ReadTap => READ_TAP,
            Capability::WriteTap => WRITE_TAP,
            Capability::ReadFido2 => READ_FIDO2,
            Capability::WriteFido2 => WRITE_FIDO2,
            Capability::ReadStrengths => READ_STRENGTHS,
            Capability::ReadAudit => READ_AUDIT,
            Capability::ReadReports => READ_REPORTS,
            Capability::ReadGroups => READ_GROUPS,
            Capability::WriteGroups => WRITE_GROUPS,
            Capability::ReadRoles => READ_ROLES,
            Capability::WriteRoles => WRITE_ROLES,
            Capability::ReadApps => READ_APPS,
            Capability::ReadDevices => READ_DEVICES,
            Capability::WriteDevices => WRITE_DEVICES,
            Capability::WriteApps => WRITE_APPS,
            Capability::AppCredentials => APP_CREDENTIALS,
            Capability::ReadCa => READ_CA,
            Capability::WriteCa => WRITE_CA,
            Capability::WriteStrengths => WRITE_STRENGTHS,
            Capability::MeRead => ME_READ,
            Capability::MeWrite => ME_WRITE,
            Capability::RunReadiness => RUN_READINESS,
        }
    }
}

/// Decides whether `p` may exercise `cap`.
pub fn authorize_capability(cap: Capability, p: &Principal) -> Result<(), Denied> {
    authorize(&cap.requirement(), p)
}

/// Decides whether a user signed in to the admin center (a first-party page, so no scopes)
/// holding `roles` may exercise `cap`: its directory roles, Global Administrator always.
pub fn authorize_page(cap: Capability, roles: &[DirectoryRole]) -> Result<(), Denied> {
    holds_role(&cap.requirement(), roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_capability_names_who_may_and_a_page_needs_one_of_its_roles() {
        for c in Capability::ALL {
            let r = c.requirement();
            assert!(!r.scopes.is_empty(), "{c:?} names no scope");
        }
        assert_eq!(
            authorize_page(Capability::ReadAudit, &[ReportsReader]),
            Ok(())
        );
        assert_eq!(
            authorize_page(Capability::ReadAudit, &[GlobalAdministrator]),
            Ok(())
        );
        assert!(matches!(
            authorize_page(Capability::ReadAudit, &[AuthenticationAdministrator]),
            Err(Denied::MissingRole(names)) if names.contains("Reports Reader")
        ));
        assert!(
            authorize_page(Capability::MeRead, &[]).is_err(),
            "a page is for administrators: no role, no page"
        );
    }
}
