//! The people a user can be when they sign in (R50): a desktop browser on each system, iOS,
//! and Android with a personal or a work profile.

use serde::Serialize;

use crate::conditional_access::platform::Platform;
use crate::passkey::{AndroidProfile, Passkey};

/// One way a user meets the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Persona {
    /// A browser on Windows.
    WindowsDesktop,
    /// A browser on macOS.
    MacDesktop,
    /// A browser on Linux.
    LinuxDesktop,
    /// iPhone or iPad.
    Ios,
    /// Android, personal profile.
    AndroidPersonal,
    /// Android, work profile (a separate passkey store: R20).
    AndroidWork,
}

impl Persona {
    /// Every persona, desktop first.
    pub const ALL: [Persona; 6] = [
        Persona::WindowsDesktop,
        Persona::MacDesktop,
        Persona::LinuxDesktop,
        Persona::Ios,
        Persona::AndroidPersonal,
        Persona::AndroidWork,
    ];

    /// The platform Conditional Access sees.
    pub fn platform(self) -> Platform {
        match self {
            Persona::WindowsDesktop => Platform::Windows,
            Persona::MacDesktop => Platform::MacOs,
            Persona::LinuxDesktop => Platform::Linux,
            Persona::Ios => Platform::Ios,
            Persona::AndroidPersonal | Persona::AndroidWork => Platform::Android,
        }
    }

    /// A phone or tablet, where the Authenticator app registers passkeys.
    pub fn is_mobile(self) -> bool {
        self.platform().is_mobile()
    }

    /// The Android profile it signs in from, if one.
    pub fn android_profile(self) -> Option<AndroidProfile> {
        match self {
            Persona::AndroidPersonal => Some(AndroidProfile::Personal),
            Persona::AndroidWork => Some(AndroidProfile::Work),
            _ => None,
        }
    }

    /// R20: whether this persona can use the passkey — from an Android profile, not one made
    /// in the other profile (from anywhere else, one on a phone is reached across devices).
    pub fn can_use(self, p: &Passkey) -> bool {
        match (self.android_profile(), p.android_profile()) {
            (Some(mine), Some(made_in)) => mine == made_in,
            _ => true,
        }
    }

    /// Stable name (for JSON and CSV).
    pub fn code(self) -> &'static str {
        match self {
            Persona::WindowsDesktop => "windowsDesktop",
            Persona::MacDesktop => "macDesktop",
            Persona::LinuxDesktop => "linuxDesktop",
            Persona::Ios => "ios",
            Persona::AndroidPersonal => "androidPersonal",
            Persona::AndroidWork => "androidWork",
        }
    }
}
