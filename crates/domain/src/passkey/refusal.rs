//! Why a passkey cannot be registered or used (R1–R5, R9, R14, R22), as data.

use uuid::Uuid;

use crate::policy::ScopeMiss;

/// Why a passkey cannot be registered or used: data, with no words in it; each surface says
/// it (`service::render::passkey_refusal`), with what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasskeyRefusal {
    /// R1: the method is off.
    MethodDisabled,
    /// R2: the user is outside the method's targets.
    NotInScope(ScopeMiss),
    /// R3: self-service registration is off.
    SelfServiceDisabled,
    /// R4: no attestation, or only self attestation, while attestation is enforced.
    AttestationMissing {
        /// Self attestation (rather than none at all).
        self_attested: bool,
    },
    /// R4: a chain that does not reach a trusted root.
    AttestationUntrusted(Uuid),
    /// R4, R5: attestation is enforced with an allow list, and the statement does not sign
    /// the AAGUID, so the model on the list is only claimed.
    AaguidNotAttested(Uuid),
    /// R5: key restrictions refuse the model.
    KeyRestricted {
        /// The model.
        aaguid: Uuid,
        /// Refused by an allow list that lacks it (rather than a block list naming it).
        allow_list: bool,
    },
    /// R9: the passkey meets none of the user's passkey profiles.
    NoProfileMatch(ProfileMiss),
    /// R14: no strong sign-in in the last ten minutes.
    StepUpRequired,
    /// R22: flagged as possibly cloned.
    FlaggedClone,
    /// R26: disabled by an administrator.
    Disabled,
}

/// Why no passkey profile takes a passkey (R9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileMiss {
    /// The profile does not allow passkeys of this kind.
    Kind {
        /// The profile's name.
        profile: String,
        /// The passkey is synced (else device-bound).
        synced: bool,
    },
    /// Several profiles apply and none takes it: the first one's reason.
    NoneFits {
        /// How many were checked.
        checked: usize,
        /// The first profile's refusal.
        first: Box<PasskeyRefusal>,
    },
    /// No profile applies.
    NoneApplies,
}

impl PasskeyRefusal {
    /// Stable code for APIs and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MethodDisabled => "fido2Disabled",
            Self::NotInScope(_) => "fido2NotInScope",
            Self::SelfServiceDisabled => "selfServiceDisabled",
            Self::AttestationMissing { .. } => "attestationRequired",
            Self::AttestationUntrusted(_) => "attestationUntrusted",
            Self::AaguidNotAttested(_) => "aaguidNotAttested",
            Self::KeyRestricted { .. } => "keyRestricted",
            Self::NoProfileMatch(_) => "noPasskeyProfileMatch",
            Self::StepUpRequired => "stepUpRequired",
            Self::FlaggedClone => "passkeyFlaggedClone",
            Self::Disabled => "passkeyDisabled",
        }
    }
}

/// The stable code; words are the surfaces' (`service::render`).
impl std::fmt::Display for PasskeyRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl std::error::Error for PasskeyRefusal {}
