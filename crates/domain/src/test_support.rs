//! Values the domain's unit tests share: a passkey and the Passkey (FIDO2) settings enabled
//! for everyone.

use uuid::Uuid;

use crate::passkey::Passkey;
use crate::policy::{Fido2Configuration, MethodState};
use crate::Timestamp;

/// A plain passkey of `aaguid` owned by `user`, registered at `created`: no attestation,
/// device-bound, never used, enabled.
pub(crate) fn passkey_of(user: Uuid, aaguid: Uuid, created: Timestamp) -> Passkey {
    Passkey {
        id: Uuid::new_v4(),
        user_id: user,
        credential_id: "x".into(),
        aaguid,
        display_name: "k".into(),
        fmt: "none".into(),
        attested: false,
        synced: false,
        created_at: created,
        last_used_at: None,
        sign_count: 0,
        device: None,
        device_profile: None,
        flagged_clone: false,
        disabled: false,
    }
}

/// The Passkey (FIDO2) settings enabled for all users, attestation not enforced.
pub(crate) fn fido2_for_everyone() -> Fido2Configuration {
    Fido2Configuration {
        state: MethodState::Enabled,
        is_attestation_enforced: false,
        ..Default::default()
    }
}
