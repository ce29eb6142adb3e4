//! Registration details per user (graph-api.md §7.3), computed from what the user holds and
//! whether each method is usable under the current policy.

use serde_json::{json, Value};

use crate::directory::{DirectoryRole, User};
use crate::passkey::Passkey;
use crate::policy::fido2::AUTHENTICATOR_AAGUIDS;
use crate::time_fmt::rfc3339;
use crate::Timestamp;

/// What one user holds, as the shell loaded it.
#[derive(Debug, Clone)]
pub struct Holdings<'a> {
    /// The user.
    pub user: &'a User,
    /// Their directory roles.
    pub roles: &'a [DirectoryRole],
    /// Their passkeys, each with whether it can sign in now.
    pub passkeys: Vec<(&'a Passkey, bool)>,
    /// Whether they hold a Temporary Access Pass, and whether it is usable now.
    pub tap: Option<bool>,
}

/// The `methodsRegistered` name of a passkey.
fn passkey_kind(p: &Passkey) -> &'static str {
    if AUTHENTICATOR_AAGUIDS.contains(&p.aaguid) {
        "passKeyDeviceBoundAuthenticator"
    } else if p.synced {
        "passKeySynced"
    } else {
        "passKeyDeviceBound"
    }
}

/// The `userRegistrationDetails` JSON for one user.
pub fn registration_details(h: &Holdings<'_>, now: Timestamp) -> Value {
    let mut methods: Vec<&str> = h.passkeys.iter().map(|(p, _)| passkey_kind(p)).collect();
    if h.tap.is_some() {
        methods.push("temporaryAccessPass");
    }
    methods.sort_unstable();
    methods.dedup();
    let usable_passkey = h.passkeys.iter().any(|(_, ok)| *ok);
    json!({
        "id": h.user.id, "userPrincipalName": h.user.user_principal_name, "userDisplayName": h.user.display_name,
        "userType": "member", "isAdmin": !h.roles.is_empty(),
        "isMfaRegistered": !methods.is_empty(),
        "isMfaCapable": usable_passkey || h.tap == Some(true),
        "isPasswordlessCapable": usable_passkey,
        "isSsprRegistered": false, "isSsprEnabled": false, "isSsprCapable": false,
        "isSystemPreferredAuthenticationMethodEnabled": false, "systemPreferredAuthenticationMethods": [],
        "userPreferredMethodForSecondaryAuthentication": "none",
        "methodsRegistered": methods, "lastUpdatedDateTime": rfc3339(now)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use uuid::Uuid;

    #[test]
    fn capable_means_registered_and_usable() {
        let now = datetime!(2026-06-01 12:00 UTC);
        let u = User {
            id: Uuid::nil(),
            user_principal_name: crate::directory::Upn::parse("a@b.c").unwrap(),
            display_name: "A".into(),
            account_enabled: true,
            created_date_time: now,
        };
        let p = Passkey {
            id: Uuid::nil(),
            user_id: Uuid::nil(),
            credential_id: "x".into(),
            aaguid: AUTHENTICATOR_AAGUIDS[0],
            display_name: "k".into(),
            fmt: "none".into(),
            attested: false,
            synced: false,
            created_at: now,
            last_used_at: None,
            sign_count: 0,
            device: None,
            device_profile: None,
            flagged_clone: false,
            disabled: false,
        };
        let none = registration_details(
            &Holdings {
                user: &u,
                roles: &[],
                passkeys: vec![],
                tap: None,
            },
            now,
        );
        assert_eq!(
            (
                none["isMfaRegistered"].clone(),
                none["isMfaCapable"].clone()
            ),
            (json!(false), json!(false))
        );
        let blocked = registration_details(
            &Holdings {
                user: &u,
                roles: &[DirectoryRole::GlobalAdministrator],
                passkeys: vec![(&p, false)],
                tap: None,
            },
            now,
        );
        assert_eq!(
            (
                blocked["isMfaRegistered"].clone(),
                blocked["isPasswordlessCapable"].clone(),
                blocked["isAdmin"].clone()
            ),
            (json!(true), json!(false), json!(true))
        );
        assert_eq!(
            blocked["methodsRegistered"],
            json!(["passKeyDeviceBoundAuthenticator"])
        );
        let ok = registration_details(
            &Holdings {
                user: &u,
                roles: &[],
                passkeys: vec![(&p, true)],
                tap: Some(true),
            },
            now,
        );
        assert_eq!(
            (
                ok["isMfaCapable"].clone(),
                ok["isPasswordlessCapable"].clone()
            ),
            (json!(true), json!(true))
        );
    }
}
