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
    /// Attestation is enforced, and a model the settings allow cannot be attested: the
    /// metadata store has no trusted root for it, or (for the Authenticator) no app
    /// attestation service is configured (R4, R7).
    AttestationUnverifiable,
    /// The user works in both Android profiles, and their passkeys live in one: the other
    /// profile cannot use them (R20).
    AndroidSingleProfile,
    /// The user's known phones are below Android 14 / iOS 17, and a passkey in the
    /// Authenticator is the only way to meet a requirement (R19).
    OsTooOld,
    /// A passkey that meets a requirement can be registered on the strength of a weaker MFA
    /// claim the user holds — a passkey that does not meet it (R14): the new passkey is only
    /// as trustworthy as that claim.
    WeakMfaCanRegister,
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
            FindingCode::AttestationUnverifiable => "attestationUnverifiable",
            FindingCode::AndroidSingleProfile => "androidSingleProfile",
            FindingCode::OsTooOld => "osTooOld",
            FindingCode::WeakMfaCanRegister => "weakMfaCanRegister",
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
            FindingCode::AttestationUnverifiable => &[
                RemedyCode::ImportMetadata,
                RemedyCode::ConfigureAppAttestation,
                RemedyCode::RemoveUnverifiableModel,
            ],
            FindingCode::AndroidSingleProfile => &[RemedyCode::SecondProfilePasskey],
            FindingCode::OsTooOld => &[RemedyCode::UpdateOs, RemedyCode::AllowAnotherModel],
            FindingCode::WeakMfaCanRegister => &[RemedyCode::ProtectRegistration],
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
    /// Import the model's metadata (an MDS3 BLOB or its statement) with its roots.
    ImportMetadata,
    /// Configure the Authenticator's app attestation service (`app_attestation_root`).
    ConfigureAppAttestation,
    /// Take the model nobody can attest out of the allow list.
    RemoveUnverifiableModel,
    /// Register a passkey in the other Android profile too.
    SecondProfilePasskey,
    /// Update the phone to Android 14 / iOS 17 or later.
    UpdateOs,
    /// Allow a model that works without the Authenticator (a security key).
    AllowAnotherModel,
    /// Protect the "register security info" user action with a strength the weaker claim
    /// does not meet (the passkey required, or a Temporary Access Pass to bootstrap).
    ProtectRegistration,
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
            RemedyCode::ImportMetadata => "importMetadata",
            RemedyCode::ConfigureAppAttestation => "configureAppAttestation",
            RemedyCode::RemoveUnverifiableModel => "removeUnverifiableModel",
            RemedyCode::SecondProfilePasskey => "secondProfilePasskey",
            RemedyCode::UpdateOs => "updateOs",
            RemedyCode::AllowAnotherModel => "allowAnotherModel",
            RemedyCode::ProtectRegistration => "protectRegistration",
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
    /// The methods-policy settings (and facts) responsible.
    pub settings: Vec<Setting>,
}

/// A setting (or a fact outside Conditional Access) a finding blames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Setting {
    /// Passkey (FIDO2) `state`.
    Fido2State,
    /// Passkey (FIDO2) include/exclude targets.
    Fido2Targets,
    /// `isSelfServiceRegistrationAllowed`.
    Fido2SelfService,
    /// Key restrictions, naming this model.
    KeyRestrictions(Uuid),
    /// `isAttestationEnforced` (or a profile's), for this model.
    AttestationEnforced(Uuid),
    /// The metadata store's roots for this model.
    MetadataRoots(Uuid),
    /// The Authenticator's app attestation service.
    AppAttestationService,
    /// Temporary Access Pass `state` and targets.
    TapTargets,
    /// The operating system versions of the user's phones.
    DeviceOsVersion,
    /// The Android profile the user's passkeys were made in.
    PasskeyProfile,
}

impl Setting {
    /// Where it is, as Graph or Portcullis names it.
    pub fn path(self) -> String {
        match self {
            Setting::Fido2State => "fido2.state".into(),
            Setting::Fido2Targets => "fido2.includeTargets".into(),
            Setting::Fido2SelfService => "fido2.isSelfServiceRegistrationAllowed".into(),
            Setting::KeyRestrictions(m) => format!("fido2.keyRestrictions.aaGuids[{m}]"),
            Setting::AttestationEnforced(m) => format!("fido2.isAttestationEnforced[{m}]"),
            Setting::MetadataRoots(m) => format!("metadata[{m}].attestationRootCertificates"),
            Setting::AppAttestationService => "appAttestationRoot".into(),
            Setting::TapTargets => "temporaryAccessPass.includeTargets".into(),
            Setting::DeviceOsVersion => "devices.operatingSystemVersion".into(),
            Setting::PasskeyProfile => "passkeys.deviceProfile".into(),
        }
    }
}
