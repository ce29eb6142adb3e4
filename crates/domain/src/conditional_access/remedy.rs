//! What a user can do about unmet requirements (R18, R44): step up with a method they hold,
//! register first in Security info, register with a Temporary Access Pass (the strength is
//! skipped for proof-up), or nothing — a loop, explained with the policy, the requirement and
//! the remedy; never a redirect in a circle.
//!
//! R18: registration offered in the middle of a sign-in (interrupt mode) does not include
//! passkeys, and every method a Portcullis strength can require is a passkey or an
//! administrator-issued pass. So a sign-in never registers anything itself: the user is sent
//! to Security info (wizard mode) or the Authenticator, and comes back to sign in again.

use super::evaluate::{Outcome, Unmet};
use crate::directory::{AUTHENTICATOR_APP, SECURITY_INFO_APP};
use crate::strength::{Strength, UsedMethod};

/// The verdict for a sign-in after evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Issue the code.
    Allow,
    /// A registration-only pass: the user signed in with a TAP to a registration app
    /// (Security info or the Authenticator) and holds no method that satisfies the strength,
    /// so the strength is skipped for proof-up (`skippedForProofUp`).
    AllowForRegistration {
        /// The strengths skipped.
        skipped: Vec<String>,
    },
    /// The user holds a method that would satisfy every requirement: ask for it.
    StepUp {
        /// What to ask for.
        requirements: Vec<String>,
    },
    /// The user holds no method that meets a requirement, and can register one in Security
    /// info (wizard mode), which is open to them; then sign in again with it (R18: the sign-in
    /// itself cannot offer a passkey).
    RegisterFirst {
        /// The policy.
        policy: String,
        /// The unmet requirement, in words.
        requirement: String,
    },
    /// Refused, and nothing the user can do now changes it.
    Refused {
        /// The policy.
        policy: String,
        /// The unmet requirement, in words.
        reason: String,
        /// What would fix it.
        remedy: String,
        /// The only remedy is blocked by the same requirement (R44).
        is_loop: bool,
    },
}

/// What the user holds and used, for deciding what they can do.
#[derive(Debug, Clone, Copy)]
pub struct Holdings<'a> {
    /// Methods used in this session.
    pub used: &'a [UsedMethod],
    /// Methods registered and usable (each passkey with its AAGUID; a usable TAP).
    pub registered: &'a [UsedMethod],
    /// The client app of the request.
    pub client_app_id: Option<&'a str>,
    /// Whether the user could get into Security info now to register (the shell evaluates
    /// that sign-in too); when not, being sent there would be a circle.
    pub registration_open: bool,
}

fn strength_of<'a>(u: &Unmet, strengths: &'a [Strength]) -> Option<&'a Strength> {
    match u {
        Unmet::Strength { id, .. } => strengths.iter().find(|s| &s.id == id),
        Unmet::Mfa => strengths
            .iter()
            .find(|s| s.id == crate::strength::MFA_STRENGTH_ID),
        _ => None,
    }
}

/// Classifies an evaluation outcome into what happens next.
pub fn verdict(outcome: &Outcome, strengths: &[Strength], h: &Holdings<'_>) -> Verdict {
    let unmet = match outcome {
        Outcome::Allow => return Verdict::Allow,
        Outcome::Block { policy } => {
            return Verdict::Refused {
                policy: policy.clone(),
                reason: "A Conditional Access policy blocks this sign-in.".into(),
                remedy: "Ask your administrator which policy blocks you and why.".into(),
                is_loop: false,
            };
        }
        Outcome::Unmet(u) => u,
    };
    let registering = h
        .client_app_id
        .is_some_and(|c| c == AUTHENTICATOR_APP.app_id || c == SECURITY_INFO_APP.app_id);
    let with_tap = h
        .used
        .iter()
        .any(|m| m.mode.starts_with("temporaryAccessPass"));
    let mut step_up = vec![];
    let mut skipped = vec![];
    for (policy, alternatives) in unmet {
        // Any one alternative of a policy will do: prefer one the user can act on.
        let holdable = alternatives.iter().find(|a| {
            strength_of(a, strengths)
                .is_some_and(|s| h.registered.iter().any(|m| s.allows_alone(*m)))
        });
        if let Some(a) = holdable {
            step_up.push(a.describe());
            continue;
        }
        let method_requirement = alternatives
            .iter()
            .find(|a| strength_of(a, strengths).is_some());
        match method_requirement {
            Some(a) if registering && with_tap => skipped.push(a.describe()),
            Some(a) if !registering && h.registration_open => {
                return Verdict::RegisterFirst {
                    policy: policy.clone(),
                    requirement: a.describe(),
                };
            }
            Some(a) => {
                // Registering, or (the arm above took the rest) Security info is closed:
                // either way the user cannot get the method from here.
                let is_loop = true;
                let remedy = if registering {
                    "Ask your administrator for a Temporary Access Pass: signing in with it lets you register a method that meets this requirement. Administrators can also split the policy by platform (TAP allowed on mobile) or target applications with a filter instead of All resources."
                } else {
                    "Register a method that meets this requirement on Security info (a Temporary Access Pass from your administrator lets you in), then sign in again."
                };
                return Verdict::Refused {
                    policy: policy.clone(),
                    reason: format!(
                        "To continue, {}; you have no method that meets it.",
                        a.describe()
                    ),
                    remedy: remedy.into(),
                    is_loop,
                };
            }
            None => {
                let reason = alternatives
                    .iter()
                    .map(Unmet::describe)
                    .collect::<Vec<_>>()
                    .join(", or ");
                let remedy = if alternatives.contains(&Unmet::CompliantDevice) {
                    "Use a device your organisation manages and marks compliant, or ask your administrator for a temporary exclusion."
                } else {
                    "Ask your administrator: this requirement cannot be met from this app or device."
                };
                // The Authenticator can never satisfy approved/compliant app: registering in it loops.
                let is_loop = registering
                    && alternatives.iter().all(|u| {
                        matches!(
                            u,
                            Unmet::ApprovedApplication
                                | Unmet::CompliantApplication
                                | Unmet::DomainJoinedDevice
                        )
                    });
                return Verdict::Refused {
                    policy: policy.clone(),
                    reason: format!("To continue, {reason}."),
                    remedy: remedy.into(),
                    is_loop,
                };
            }
        }
    }
    if !step_up.is_empty() {
        return Verdict::StepUp {
            requirements: step_up,
        };
    }
    Verdict::AllowForRegistration { skipped }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strength::BUILT_IN;
    use uuid::Uuid;

    const AUTHN: &str = "90a3ccdf-635c-4729-a248-9b709135078f";

    fn in_authenticator() -> Strength {
        Strength {
            id: "pia".into(),
            display_name: "Passkey in Authenticator".into(),
            description: String::new(),
            built_in: false,
            allowed_combinations: vec!["fido2".into()],
            fido2_allowed_aaguids: Some(vec![Uuid::parse_str(AUTHN).unwrap()]),
            fido2_configuration_id: None,
            created: String::new(),
            modified: String::new(),
        }
    }

    fn unmet() -> Outcome {
        Outcome::Unmet(vec![(
            "Passkey everywhere".into(),
            vec![Unmet::Strength {
                id: "pia".into(),
                name: "Passkey in Authenticator".into(),
            }],
        )])
    }

    #[test]
    fn r44_no_qualifying_method_in_the_authenticator_is_a_loop_and_a_tap_skips_for_proof_up() {
        let mut strengths: Vec<Strength> = BUILT_IN.iter().map(|b| b.to_strength()).collect();
        strengths.push(in_authenticator());
        let yubikey = UsedMethod::passkey(Some(Uuid::from_u128(1)), true);
        let h = Holdings {
            used: &[yubikey],
            registered: &[yubikey],
            client_app_id: Some(AUTHENTICATOR_APP.app_id),
            registration_open: false,
        };
        match verdict(&unmet(), &strengths, &h) {
            Verdict::Refused {
                is_loop: true,
                remedy,
                policy,
                ..
            } => {
                assert!(remedy.contains("Temporary Access Pass") && policy == "Passkey everywhere")
            }
            other => panic!("{other:?}"),
        }
        let tap = UsedMethod::TAP;
        let h = Holdings {
            used: &[tap],
            registered: &[tap],
            client_app_id: Some(AUTHENTICATOR_APP.app_id),
            registration_open: false,
        };
        assert!(matches!(
            verdict(&unmet(), &strengths, &h),
            Verdict::AllowForRegistration { .. }
        ));
        // The same TAP does not open an ordinary application.
        let h = Holdings {
            used: &[tap],
            registered: &[tap],
            client_app_id: Some("payroll"),
            registration_open: false,
        };
        assert!(matches!(
            verdict(&unmet(), &strengths, &h),
            Verdict::Refused { is_loop: true, .. }
        ));
        let h = Holdings {
            registration_open: true,
            ..h
        };
        assert!(
            matches!(
                verdict(&unmet(), &strengths, &h),
                Verdict::RegisterFirst { ref requirement, .. } if requirement.contains("Passkey in Authenticator")
            ),
            "R18: Security info is open: register there (wizard mode), not in the sign-in"
        );
        // R18 step-up: the user holds an Authenticator passkey, used something else.
        let theirs = UsedMethod::passkey(Some(Uuid::parse_str(AUTHN).unwrap()), true);
        let h = Holdings {
            used: &[tap],
            registered: &[tap, theirs],
            client_app_id: Some("payroll"),
            registration_open: false,
        };
        assert!(matches!(
            verdict(&unmet(), &strengths, &h),
            Verdict::StepUp { .. }
        ));
    }

    #[test]
    fn r42_approved_app_in_the_authenticator_is_a_loop() {
        let strengths: Vec<Strength> = BUILT_IN.iter().map(|b| b.to_strength()).collect();
        let o = Outcome::Unmet(vec![(
            "Approved apps".into(),
            vec![Unmet::ApprovedApplication, Unmet::CompliantApplication],
        )]);
        let h = Holdings {
            used: &[],
            registered: &[],
            client_app_id: Some(AUTHENTICATOR_APP.app_id),
            registration_open: false,
        };
        assert!(matches!(
            verdict(&o, &strengths, &h),
            Verdict::Refused { is_loop: true, .. }
        ));
    }
}
