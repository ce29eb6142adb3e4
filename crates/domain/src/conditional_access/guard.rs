//! The lock-out guard (R45): a policy set that would block every enabled Global
//! Administrator from the admin surfaces, whatever device or place they sign in from, is
//! refused unless the change explicitly accepts it. It asks the sign-in's own entry point,
//! [`crate::access::decide`], for every platform, client type and device it tries.

use uuid::Uuid;

use super::evaluate::{Config, Detail, Outcome};
use super::platform::{ClientAppType, Platform};
use crate::access::{decide, MethodsPolicy, SignIn};
use crate::application::Application;
use crate::device::DeviceFacts;
use crate::directory::{DirectoryRole, User};
use crate::strength::UsedMethod;
use crate::Timestamp;

/// A Global Administrator as evaluation sees them.
#[derive(Debug, Clone)]
pub struct Admin {
    /// The user.
    pub user: User,
    /// Their groups.
    pub groups: Vec<Uuid>,
    /// Their roles.
    pub roles: Vec<DirectoryRole>,
    /// Their enrolled devices (each as if it proved possession), so a device filter that
    /// admits an admin's workstation does not count as a lock-out.
    pub devices: Vec<DeviceFacts>,
}

/// The enabled admins who could still sign in to `portal` from some platform and client type
/// with the strongest methods, from no known device, from a compliant one, or from one of
/// their own enrolled devices. Empty means everyone is locked out.
pub fn admins_still_in(
    cfg: &Config<'_>,
    methods: MethodsPolicy<'_>,
    admins: &[Admin],
    portal: &Application,
    now: Timestamp,
) -> Vec<Uuid> {
    // Every method mode Portcullis has, so only blocks and impossible controls remain.
    let strongest = [UsedMethod::passkey(None, false), UsedMethod::TAP];
    let platforms = [
        Platform::Windows,
        Platform::MacOs,
        Platform::Linux,
        Platform::Ios,
        Platform::Android,
    ];
    let compliant = DeviceFacts {
        is_compliant: true,
        ..Default::default()
    };
    admins
        .iter()
        .filter(|a| a.user.account_enabled)
        .filter(|a| {
            let devices = [None, Some(&compliant)]
                .into_iter()
                .chain(a.devices.iter().map(Some));
            let combos = devices.flat_map(|d| platforms.iter().map(move |p| (d, p)));
            combos.into_iter().any(|(device, p)| {
                [
                    ClientAppType::Browser,
                    ClientAppType::MobileAppsAndDesktopClients,
                ]
                .iter()
                .any(|t| {
                    let s = SignIn {
                        user: &a.user,
                        groups: &a.groups,
                        roles: &a.roles,
                        used: &strongest,
                        registered: &strongest,
                        config: *cfg,
                        methods,
                        platform: Some(*p),
                        ip: None,
                        client_app_type: *t,
                        device,
                        now,
                        detail: Detail::FirstReason,
                    };
                    !matches!(
                        decide(&s, portal, None).evaluation.outcome,
                        Outcome::Block { .. }
                    )
                })
            })
        })
        .map(|a| a.user.id)
        .collect()
}
