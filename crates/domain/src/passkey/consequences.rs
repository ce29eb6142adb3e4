//! What a change to the Passkey (FIDO2) settings or a strength would do that an administrator
//! should hear before it surprises users (R5, R6, R32) — as data; the surfaces say it
//! (`service::render`).

use uuid::Uuid;

use super::{authenticator_option_offered, key_allowed, some_ruleset_enforces_attestation};
use crate::policy::fido2::{EnforcementType, AUTHENTICATOR_AAGUIDS};
use crate::policy::{Fido2Configuration, KeyRestrictions};

/// A set of passkey rules: the method's own settings, or a passkey profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulesetRef {
    /// The Passkey (FIDO2) settings themselves.
    Method,
    /// A passkey profile, by name.
    Profile(String),
}

/// A consequence of saving new Passkey (FIDO2) settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fido2Warning {
    /// R6: Security info stops offering "Passkey in Microsoft Authenticator"; the key
    /// restrictions now in force are these.
    ShortcutOff {
        /// The method's key restrictions after the change.
        now: KeyRestrictions,
    },
    /// R5: live passkeys of this model stop signing in at once (they are kept).
    Stranded {
        /// The model.
        aaguid: Uuid,
        /// How many live passkeys of it.
        count: i64,
    },
    /// R5, R6: key restrictions are not enforced, so the AAGUIDs listed (the Microsoft
    /// Authenticator's among them, or not) restrict nothing: every model may register.
    ListNotEnforced {
        /// How many AAGUIDs are listed.
        listed: usize,
        /// Whether both Authenticator AAGUIDs are among them.
        authenticator: bool,
    },
    /// R4: attestation is checked when a passkey is registered, never again: passkeys
    /// registered before it was enforced stay usable without it.
    AttestationAtRegistrationOnly,
}

/// R32: a strength restricting passkeys to listed AAGUIDs while no passkey ruleset enforces
/// attestation: browsers then send none, every AAGUID stays self-reported, and no passkey can
/// meet the strength.
pub fn strength_needs_attestation(
    allowed_aaguids: Option<&[Uuid]>,
    cfg: &Fido2Configuration,
) -> bool {
    allowed_aaguids.is_some() && !some_ruleset_enforces_attestation(cfg)
}

/// R5: the rulesets whose key restrictions are an enforced allow list with nothing on it —
/// which refuses every passkey.
pub fn empty_allow_lists(cfg: &Fido2Configuration) -> Vec<RulesetRef> {
    let empty = |kr: &KeyRestrictions| {
        kr.is_enforced && kr.enforcement_type == EnforcementType::Allow && kr.aa_guids.is_empty()
    };
    let mut out = vec![];
    if empty(&cfg.key_restrictions) {
        out.push(RulesetRef::Method);
    }
    out.extend(
        cfg.passkey_profiles
            .iter()
            .filter(|p| empty(&p.key_restrictions))
            .map(|p| RulesetRef::Profile(p.name.clone())),
    );
    out
}

/// What the settings themselves mean, whatever they replace: a key list that restricts
/// nothing because enforcement is off, and attestation checked at registration only.
pub fn standing_warnings(cfg: &Fido2Configuration) -> Vec<Fido2Warning> {
    let mut w = vec![];
    let kr = &cfg.key_restrictions;
    if !kr.is_enforced && !kr.aa_guids.is_empty() {
        w.push(Fido2Warning::ListNotEnforced {
            listed: kr.aa_guids.len(),
            authenticator: AUTHENTICATOR_AAGUIDS
                .iter()
                .all(|a| kr.aa_guids.contains(a)),
        });
    }
    if cfg.is_attestation_enforced {
        w.push(Fido2Warning::AttestationAtRegistrationOnly);
    }
    w
}

/// What saving `after` over `before` would do: the Authenticator shortcut switched off (R6),
/// and passkeys in use that the new method-level key restrictions stop at once (R5).
/// `in_use` lists each AAGUID with the number of live passkeys of that model.
pub fn change_warnings(
    before: &Fido2Configuration,
    after: &Fido2Configuration,
    in_use: &[(Uuid, i64)],
) -> Vec<Fido2Warning> {
    let mut w = vec![];
    if authenticator_option_offered(before) && !authenticator_option_offered(after) {
        w.push(Fido2Warning::ShortcutOff {
            now: after.key_restrictions.clone(),
        });
    }
    for (aaguid, count) in in_use {
        if key_allowed(&before.key_restrictions, *aaguid).is_ok()
            && key_allowed(&after.key_restrictions, *aaguid).is_err()
        {
            w.push(Fido2Warning::Stranded {
                aaguid: *aaguid,
                count: *count,
            });
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::fido2::AUTHENTICATOR_AAGUIDS;
    use crate::policy::MethodState;

    #[test]
    fn r4_r5_r6_standing_warnings_name_a_list_that_restricts_nothing_and_attestation_timing() {
        let mut cfg = Fido2Configuration {
            is_attestation_enforced: false,
            ..Default::default()
        };
        assert_eq!(standing_warnings(&cfg), vec![]);
        cfg.key_restrictions.aa_guids = AUTHENTICATOR_AAGUIDS.to_vec();
        assert_eq!(
            standing_warnings(&cfg),
            vec![Fido2Warning::ListNotEnforced {
                listed: 2,
                authenticator: true
            }]
        );
        cfg.key_restrictions.is_enforced = true;
        assert_eq!(standing_warnings(&cfg), vec![]);
        cfg.is_attestation_enforced = true;
        assert_eq!(
            standing_warnings(&cfg),
            vec![Fido2Warning::AttestationAtRegistrationOnly]
        );
    }

    #[test]
    fn r5_r6_saving_warns_about_the_shortcut_and_stranded_passkeys() {
        let chromium = uuid::uuid!("01020304-0506-0708-0102-030405060708");
        let on = Fido2Configuration {
            state: MethodState::Enabled,
            key_restrictions: KeyRestrictions {
                odata_type: None,
                is_enforced: true,
                enforcement_type: EnforcementType::Allow,
                aa_guids: AUTHENTICATOR_AAGUIDS.to_vec(),
            },
            ..Default::default()
        };
        let off = Fido2Configuration {
            key_restrictions: KeyRestrictions {
                is_enforced: false,
                ..on.key_restrictions.clone()
            },
            ..on.clone()
        };
        assert_eq!(
            change_warnings(&on, &off, &[]),
            vec![Fido2Warning::ShortcutOff {
                now: off.key_restrictions.clone()
            }]
        );
        let empty = Fido2Configuration {
            key_restrictions: KeyRestrictions {
                aa_guids: vec![],
                ..on.key_restrictions.clone()
            },
            ..on.clone()
        };
        assert!(matches!(
            change_warnings(&on, &empty, &[]).as_slice(),
            [Fido2Warning::ShortcutOff { now }] if now.aa_guids.is_empty()
        ));
        assert_eq!(empty_allow_lists(&empty), vec![RulesetRef::Method]);
        assert!(empty_allow_lists(&on).is_empty() && empty_allow_lists(&off).is_empty());
        assert!(change_warnings(&off, &on, &[]).is_empty());
        assert_eq!(
            change_warnings(&off, &on, &[(chromium, 3)]),
            vec![Fido2Warning::Stranded {
                aaguid: chromium,
                count: 3
            }]
        );
        let unattested = Fido2Configuration {
            is_attestation_enforced: false,
            ..on.clone()
        };
        assert!(strength_needs_attestation(Some(&[chromium]), &unattested));
        assert!(!strength_needs_attestation(None, &unattested));
        assert!(!strength_needs_attestation(Some(&[chromium]), &on));
    }
}
