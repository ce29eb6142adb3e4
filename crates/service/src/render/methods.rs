//! The methods policy in words: why a passkey cannot be added or used, and why a Temporary
//! Access Pass did not sign someone in — each with what to do — and what a change to the
//! Passkey (FIDO2) settings or a strength would do. The domain decides in data
//! ([`PasskeyRefusal`], [`TapRefusal`], [`Fido2Warning`], [`RulesetRef`]); the pages, the
//! APIs, the logs and the CLI say it with these functions.

use portcullis_domain::metadata::builtin_name;
use portcullis_domain::passkey::{
    ClientReport, Fido2Warning, PasskeyRefusal, ProfileMiss, Reach, RulesetRef,
};
use portcullis_domain::policy::fido2::EnforcementType;
use portcullis_domain::policy::{KeyRestrictions, ScopeMiss};
use portcullis_domain::tap::TapRefusal;
use portcullis_domain::time_fmt::rfc3339;
use uuid::Uuid;

/// The one answer to an unknown user, a user without a pass and a wrong code, so that the
/// sign-in page reveals neither who has an account nor who holds a pass.
pub const INVALID_CREDENTIALS: &str =
    "The username or the Temporary Access Pass is not correct. Check both and try again.";

const NOTHING_SAVED: &str =
    "Nothing was saved — remove the passkey this attempt may have left on your device.";

fn model(aaguid: Uuid) -> String {
    builtin_name(aaguid).map_or_else(
        || format!("AAGUID {aaguid}"),
        |n| format!("{n} (AAGUID {aaguid})"),
    )
}

/// Why a passkey cannot be added or used, and what to do, for the person it concerns.
pub fn passkey_refusal(r: &PasskeyRefusal) -> String {
    match r {
        PasskeyRefusal::MethodDisabled => {
            "Passkeys (FIDO2) are turned off in this organisation's authentication methods policy.".into()
        }
        PasskeyRefusal::NotInScope(miss) => format!(
            "Passkeys are not enabled for your account: {}. Ask your administrator.",
            match miss {
                ScopeMiss::Excluded => "your account is in a group excluded from the passkey policy",
                ScopeMiss::NotIncluded => "your account is in no group the passkey policy includes",
            }
        ),
        PasskeyRefusal::SelfServiceDisabled => "Your organisation does not allow adding passkeys yourself (self-service registration is off). Ask your administrator.".into(),
        PasskeyRefusal::AttestationMissing { self_attested } => format!(
            "Your organisation requires attested passkeys, and this authenticator sent {}. Use a security key or the Authenticator app whose attestation your organisation trusts. {NOTHING_SAVED}",
            if *self_attested { "only self attestation" } else { "no attestation" }
        ),
        PasskeyRefusal::AttestationUntrusted(aaguid) => format!(
            "This authenticator's attestation does not chain to a root your organisation trusts ({}). {NOTHING_SAVED}",
            model(*aaguid)
        ),
        PasskeyRefusal::AaguidNotAttested(aaguid) => format!(
            "Your organisation allows only listed authenticator models and requires attestation, but this authenticator's attestation does not sign its model ({} is self-reported), so it cannot show it is one of them (R4, R5). {NOTHING_SAVED}",
            model(*aaguid)
        ),
        PasskeyRefusal::KeyRestricted { aaguid, allow_list } => format!(
            "This authenticator model ({}) is {} by your organisation's key restrictions.",
            model(*aaguid),
            if *allow_list { "not on the allow list" } else { "blocked" }
        ),
        PasskeyRefusal::NoProfileMatch(miss) => format!(
            "This passkey does not meet any passkey profile that applies to you ({}).",
            profile_miss(miss)
        ),
        PasskeyRefusal::StepUpRequired => "To add a passkey, first verify your identity again: sign in with a Temporary Access Pass or an existing passkey (within the last 10 minutes).".into(),
        PasskeyRefusal::FlaggedClone => "This passkey has been flagged as possibly cloned (its signature counter went backwards) and cannot be used. Contact your administrator.".into(),
        PasskeyRefusal::Disabled => "Your administrator has disabled this passkey. It is kept, and signs in again once they enable it; meanwhile use another passkey, or ask them for a Temporary Access Pass.".into(),
    }
}

fn profile_miss(m: &ProfileMiss) -> String {
    match m {
        ProfileMiss::Kind { profile, synced } => format!(
            "profile '{profile}' does not allow {} passkeys",
            if *synced { "synced" } else { "device-bound" }
        ),
        ProfileMiss::NoneFits { checked, first } => format!(
            "{checked} profiles checked; first refusal: {}",
            passkey_refusal(first)
        ),
        ProfileMiss::NoneApplies => "no profile applies".into(),
    }
}

/// Why a TAP sign-in was refused, for the sign-in page. An unknown user, a user without a
/// pass and a wrong code read alike.
pub fn tap_refusal(r: &TapRefusal) -> String {
    match r {
        TapRefusal::MalformedUsername => {
            "Enter your username as name@domain, for example alice@contoso.com.".into()
        }
        TapRefusal::UnknownUser | TapRefusal::NoPass | TapRefusal::WrongCode => {
            INVALID_CREDENTIALS.into()
        }
        TapRefusal::AccountDisabled => {
            "Your account has been disabled. Contact your administrator.".into()
        }
        TapRefusal::MethodDisabled => "Temporary Access Pass sign-in is turned off in this organisation's authentication methods policy.".into(),
        TapRefusal::NotInScope(miss) => format!(
            "Temporary Access Pass sign-in is not enabled for your account (you are {}). Ask your administrator.",
            match miss {
                ScopeMiss::Excluded => "excluded from the Temporary Access Pass policy",
                ScopeMiss::NotIncluded => "not in a group the Temporary Access Pass policy includes",
            }
        ),
        TapRefusal::NotYetValid(from) => format!(
            "Your Temporary Access Pass is not valid yet: it can be used from {}.",
            rfc3339(*from)
        ),
        TapRefusal::Expired(at) => format!(
            "Your Temporary Access Pass expired at {}. Ask your administrator for a new one.",
            rfc3339(*at)
        ),
        TapRefusal::AlreadyUsed => "This one-time Temporary Access Pass has already been used. Ask your administrator for a new one.".into(),
        TapRefusal::MultiUseBlocked => "Sign-in blocked due to User Credential Policy: this organisation only accepts one-time passes, and yours is multi-use. Ask your administrator for a new one.".into(),
        TapRefusal::LockedOut { until } => {
            format!("Too many wrong attempts. Try again after {}.", rfc3339(*until))
        }
    }
}

/// What key restrictions let through, in words an administrator can check (R5, R6).
pub fn key_restrictions(kr: &KeyRestrictions) -> String {
    let names = || {
        kr.aa_guids
            .iter()
            .map(|a| builtin_name(*a).map_or_else(|| a.to_string(), |n| format!("{n} ({a})")))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (kr.is_enforced, kr.enforcement_type, kr.aa_guids.is_empty()) {
        (false, _, _) => "Key restrictions are off: passkeys of every authenticator model may register and sign in.".into(),
        (true, EnforcementType::Allow, true) => "Key restrictions are an enforced allow list with no model on it: every passkey is refused, at registration and at sign-in.".into(),
        (true, EnforcementType::Allow, false) => format!("Key restrictions allow only {}: every other model is refused, at registration and at sign-in.", names()),
        (true, EnforcementType::Block, true) => "Key restrictions are an enforced block list with no model on it: passkeys of every authenticator model may register and sign in.".into(),
        (true, EnforcementType::Block, false) => format!("Key restrictions block {}: every other model may register and sign in.", names()),
    }
}

/// A set of passkey rules, named for an administrator.
pub fn ruleset(r: &RulesetRef) -> String {
    match r {
        RulesetRef::Method => "the Passkey (FIDO2) settings".into(),
        RulesetRef::Profile(name) => format!("the passkey profile '{name}'"),
    }
}

/// A consequence of saving new Passkey (FIDO2) settings, for the administrator saving them.
pub fn fido2_warning(w: &Fido2Warning) -> String {
    match w {
        Fido2Warning::ShortcutOff { now } => format!(
            "The Microsoft Authenticator shortcut no longer applies: Security info stops offering \"Passkey in Microsoft Authenticator\". {}",
            key_restrictions(now)
        ),
        Fido2Warning::Stranded { aaguid, count } => format!(
            "{count} registered passkey(s) of {} (AAGUID {aaguid}) stop working for sign-in at once; they are kept and work again if the model is allowed again.",
            builtin_name(*aaguid).unwrap_or("this model")
        ),
        Fido2Warning::ListNotEnforced { listed, authenticator } => format!(
            "Enforce key restrictions is off, so the {listed} AAGUID(s) listed{} restrict nothing: every authenticator model may register. Turn enforcement on for the list to apply.",
            if *authenticator { ", the Microsoft Authenticator's included," } else { "" }
        ),
        Fido2Warning::AttestationAtRegistrationOnly => "Attestation is checked when a passkey is registered, never afterwards: passkeys registered before it was enforced keep working without it.".into(),
    }
}

/// R32: a strength that names models while no passkey ruleset enforces attestation.
pub fn strength_needs_attestation(strength_name: &str) -> String {
    format!(
        "The strength '{strength_name}' restricts passkeys to listed AAGUIDs, and only an attested AAGUID counts (R32). No Passkey (FIDO2) setting or passkey profile enforces attestation, so passkeys are registered without it and their AAGUIDs are self-reported: until attestation is enforced, no passkey can meet this strength."
    )
}

/// How a passkey reached the browser (R24), in words: at registration, how it was made; at a
/// sign-in, how it answered. The transports follow in WebAuthn's names.
pub fn passkey_reach(r: &ClientReport) -> String {
    let how = match r.reach() {
        Reach::ThisDevice => "On the device itself",
        Reach::AcrossDevices => "Across devices (hybrid: QR code and Bluetooth)",
        Reach::SecurityKey => "Security key",
        Reach::Unreported => "Not reported by the browser",
    };
    if r.transports.is_empty() {
        how.to_string()
    } else {
        format!("{how} · transports: {}", r.transports.codes().join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r5_r6_warnings_say_what_happens() {
        let off = KeyRestrictions::default();
        let w = fido2_warning(&Fido2Warning::ShortcutOff { now: off });
        assert!(
            w.contains("shortcut no longer applies")
                && w.contains("every authenticator model may register"),
            "{w}"
        );
        let empty = KeyRestrictions {
            is_enforced: true,
            enforcement_type: EnforcementType::Allow,
            ..Default::default()
        };
        assert!(key_restrictions(&empty).contains("every passkey is refused"));
        let chromium = uuid::uuid!("01020304-0506-0708-0102-030405060708");
        let w = fido2_warning(&Fido2Warning::Stranded {
            aaguid: chromium,
            count: 3,
        });
        assert!(
            w.starts_with("3 registered passkey(s) of Chromium virtual authenticator"),
            "{w}"
        );
        assert_eq!(ruleset(&RulesetRef::Method), "the Passkey (FIDO2) settings");
        let w = fido2_warning(&Fido2Warning::ListNotEnforced {
            listed: 2,
            authenticator: true,
        });
        assert!(
            w.contains("Microsoft Authenticator") && w.contains("restrict nothing"),
            "{w}"
        );
    }
}
