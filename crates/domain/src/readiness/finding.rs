//! What readiness finds (R50), as data: a stable code, a severity, the step that fails, the
//! policies responsible, and the documents' remedies. Words are the surfaces'.

use serde::Serialize;
use uuid::Uuid;

use super::persona::Persona;

/// A kind of trap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum FindingCode {
    /// A strength requiring a passkey the user cannot yet hold also covers the app or page
    /// where it would be registered.
    StrengthLoop,
    /// Conditional Access requires a passkey, and the Passkey (FIDO2) settings let the user
    /// register none (outside the targets, method off, self-service off, or no allowed model
    /// meets the strength).
    NotEnabledForPasskeys,
    /// An approved client app or app protection policy covers what the Authenticator needs.
    ApprovedClientAppBlock,
    /// A compliant (or hybrid-joined) device is required where the user has none.
    CompliantDeviceUnreachable,
    /// iOS or Android is blocked where desktops are not, so the Authenticator cannot register.
    MobilePlatformBlocked,
    /// The "register security info" user action is a policy the user cannot meet.
    RegisterSecurityInfoUnsatisfiable,
    /// The user needs a Temporary Access Pass to start, and the TAP settings exclude them.
    TapUnavailable,
    /// Key restrictions make the user's registered passkeys unusable.
    AaguidBlockedInUse,
    /// Every enabled Global Administrator is blocked from the admin surfaces (R45).
    AdminLockout,
    /// Required before registered: no persona offers a way to register what an application
    /// requires.
    EnforcedBeforeRegistered,
    /// From a desktop, the passkey required must be added in the Authenticator across devices
    /// (a QR code and Bluetooth, R24).
    CrossDeviceNeedsBluetooth,
}

impl FindingCode {
    /// The code as JSON and CSV carry it.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingCode::StrengthLoop => "strengthLoop",
            FindingCode::NotEnabledForPasskeys => "notEnabledForPasskeys",
            FindingCode::ApprovedClientAppBlock => "approvedClientAppBlock",
            FindingCode::CompliantDeviceUnreachable => "compliantDeviceUnreachable",
            FindingCode::MobilePlatformBlocked => "mobilePlatformBlocked",
            FindingCode::RegisterSecurityInfoUnsatisfiable => "registerSecurityInfoUnsatisfiable",
            FindingCode::TapUnavailable => "tapUnavailable",
            FindingCode::AaguidBlockedInUse => "aaguidBlockedInUse",
            FindingCode::AdminLockout => "adminLockout",
            FindingCode::EnforcedBeforeRegistered => "enforcedBeforeRegistered",
            FindingCode::CrossDeviceNeedsBluetooth => "crossDeviceNeedsBluetooth",
        }
    }

    /// The documents' remedies for this trap.
    pub fn remedies(self) -> &'static [RemedyCode] {
        match self {
            FindingCode::StrengthLoop => &[
                RemedyCode::IssueTap,
                RemedyCode::SplitDesktopMobile,
                RemedyCode::ApplicationFilter,
            ],
            FindingCode::NotEnabledForPasskeys => &[RemedyCode::EnablePasskeysForUser],
            FindingCode::ApprovedClientAppBlock => &[
                RemedyCode::ExcludeAuthenticatorApp,
                RemedyCode::CompliantDeviceOr,
            ],
            FindingCode::CompliantDeviceUnreachable => {
                &[RemedyCode::EnrolDevice, RemedyCode::TemporaryExclusion]
            }
            FindingCode::MobilePlatformBlocked => &[RemedyCode::AllowMobilePlatforms],
            FindingCode::RegisterSecurityInfoUnsatisfiable => {
                &[RemedyCode::RelaxRegistrationPolicy]
            }
            FindingCode::TapUnavailable => &[RemedyCode::IncludeInTapPolicy],
            FindingCode::AaguidBlockedInUse => &[RemedyCode::ReAddAaguid, RemedyCode::IssueTap],
            FindingCode::AdminLockout => &[RemedyCode::ExcludeBreakGlass],
            FindingCode::EnforcedBeforeRegistered => &[
                RemedyCode::RegisterBeforeEnforcing,
                RemedyCode::RelaxRegistrationPolicy,
            ],
            FindingCode::CrossDeviceNeedsBluetooth => &[RemedyCode::RegisterOnThePhone],
        }
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Severity {
    /// The user cannot reach an application they are targeted for.
    Blocker,
    /// Something will bite, but the user has a way through.
    Warning,
    /// Worth knowing.
    Info,
}

/// Where the user's path fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Step {
    /// Signing in to the application.
    SignIn,
    /// Registering a passkey.
    Register,
    /// Obtaining a Temporary Access Pass to start with.
    ObtainPass,
}

/// What an administrator can do, from the source documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RemedyCode {
    /// Issue the user a Temporary Access Pass: it opens Security info for proof-up.
    IssueTap,
    /// Split the policy: the passkey strength on desktops, a TAP accepted on mobile.
    SplitDesktopMobile,
    /// Target applications with a filter instead of All resources.
    ApplicationFilter,
    /// Put the user in the Passkey (FIDO2) targets, turn it (or self-service) on, or allow a
    /// model that meets the strength.
    EnablePasskeysForUser,
    /// Exclude the Authenticator from the approved-app requirement.
    ExcludeAuthenticatorApp,
    /// Offer a compliant device as an OR alternative.
    CompliantDeviceOr,
    /// Enrol a compliant device of that platform.
    EnrolDevice,
    /// A time-bound exclusion while the user gets there.
    TemporaryExclusion,
    /// Allow iOS and Android (at least for registering).
    AllowMobilePlatforms,
    /// Let the registration policy accept what the user can hold (a TAP, a named location).
    RelaxRegistrationPolicy,
    /// Include the user in the Temporary Access Pass targets.
    IncludeInTapPolicy,
    /// Allow the model again (its passkeys work again at once).
    ReAddAaguid,
    /// Exclude a break-glass account or a role.
    ExcludeBreakGlass,
    /// Keep the policy report-only until the users have registered, then enforce it.
    RegisterBeforeEnforcing,
    /// Register on the phone itself (same-device), or make sure Bluetooth is on.
    RegisterOnThePhone,
}

impl RemedyCode {
    /// The code as JSON carries it.
    pub fn as_str(self) -> &'static str {
        match self {
            RemedyCode::IssueTap => "issueTap",
            RemedyCode::SplitDesktopMobile => "splitDesktopMobile",
            RemedyCode::ApplicationFilter => "applicationFilter",
            RemedyCode::EnablePasskeysForUser => "enablePasskeysForUser",
            RemedyCode::ExcludeAuthenticatorApp => "excludeAuthenticatorApp",
            RemedyCode::CompliantDeviceOr => "compliantDeviceOr",
            RemedyCode::EnrolDevice => "enrolDevice",
            RemedyCode::TemporaryExclusion => "temporaryExclusion",
            RemedyCode::AllowMobilePlatforms => "allowMobilePlatforms",
            RemedyCode::RelaxRegistrationPolicy => "relaxRegistrationPolicy",
            RemedyCode::IncludeInTapPolicy => "includeInTapPolicy",
            RemedyCode::ReAddAaguid => "reAddAaguid",
            RemedyCode::ExcludeBreakGlass => "excludeBreakGlass",
            RemedyCode::RegisterBeforeEnforcing => "registerBeforeEnforcing",
            RemedyCode::RegisterOnThePhone => "registerOnThePhone",
        }
    }
}

/// One user's trap.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UserFinding {
    /// What.
    pub code: FindingCode,
    /// How bad.
    pub severity: Severity,
    /// Who.
    pub user: Uuid,
    /// As whom (none for what holds in every persona).
    pub persona: Option<Persona>,
    /// Which application (its app id), if one.
    pub application: Option<String>,
    /// Where the path fails.
    pub step: Step,
    /// The policies responsible, by name.
    pub policies: Vec<String>,
}
