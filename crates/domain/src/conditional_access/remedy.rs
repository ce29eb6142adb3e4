//! What a user can do about unmet requirements (R18, R44): step up with a method they hold,
//! register first in Security info, register with a Temporary Access Pass (the strength is
//! skipped for proof-up), or nothing — a loop, explained with the policy, the requirement and
//! the remedy; never a redirect in a circle.
//!
//! R18: registration offered in the middle of a sign-in (interrupt mode) does not include
//! passkeys, and every method a Portcullis strength can require is a passkey or an
//! administrator-issued pass. So a sign-in never registers anything itself: the user is sent
//! to Security info (wizard mode) or the Authenticator, and comes back to sign in again.

use super::evaluate::{Outcome, PolicyUnmet, Unmet};
use crate::directory::{AUTHENTICATOR_APP, SECURITY_INFO_APP};
use crate::strength::{Strength, UsedMethod};

/// What one policy asks for that the sign-in lacks: any one of its unmet controls (`OR`),
/// or all of them (`AND`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The policy's name.
    pub policy: String,
    /// The unmet controls.
    pub unmet: Vec<Unmet>,
    /// Whether any one will do.
    pub any_of: bool,
}

/// Why a sign-in is refused (rendered once per surface, outside the domain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The account is disabled.
    AccountDisabled,
    /// A policy blocks the sign-in.
    Blocked,
    /// A method is required that the user does not hold and cannot get from here.
    NoMethod(Requirement),
    /// A device, app or hybrid join is required that nothing the user does provides.
    CannotMeet(Requirement),
    /// Several policies each ask for a method, and no one held method meets them all (a
    /// session holds one method).
    NoSingleMethod(Vec<Requirement>),
    /// A method is required that the user does not hold, and the methods policy lets them
    /// register no passkey that meets it (method off, out of its targets, no self-service,
    /// the models allowed are not the ones required, or their AAGUIDs cannot be attested).
    NotRegistrable(Requirement),
}

/// What would fix a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remedy {
    /// Only an administrator can help.
    AskAdministrator,
    /// Ask which policy blocks, and why.
    AskWhichPolicyBlocks,
    /// Registering: a Temporary Access Pass lets the user register a method that meets it
    /// (or the administrator splits or filters the policy).
    PassToRegister,
    /// Register a method in Security info (a pass lets the user in), then sign in again.
    RegisterInSecurityInfo,
    /// Use a compliant device, or ask for a temporary exclusion.
    UseCompliantDevice,
    /// The requirement cannot be met from this app or device.
    CannotMeetHere,
    /// The policies must accept one method the user can hold.
    AlignPolicies,
    /// The Passkey (FIDO2) settings must let the user register a passkey that meets the
    /// requirement.
    AllowAPasskeyThatMeets,
}

/// The verdict for a sign-in after evaluation: data only; each surface renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Issue the code.
    Allow,
    /// A registration-only pass: the user signed in with a TAP to a registration app
    /// (Security info or the Authenticator) and holds no method that satisfies the strength,
    /// so the strength is skipped for proof-up (`skippedForProofUp`).
    AllowForRegistration {
        /// The requirements skipped.
        skipped: Vec<Requirement>,
    },
    /// The user holds a method that would satisfy every requirement: ask for it.
    StepUp {
        /// What to ask for (under OR, only the alternatives the user holds).
        requirements: Vec<Requirement>,
    },
    /// The user holds no method that meets a requirement, and can register one in Security
    /// info (wizard mode), which is open to them; then sign in again with it (R18: the sign-in
    /// itself cannot offer a passkey).
    RegisterFirst {
        /// What to register.
        requirement: Requirement,
    },
    /// Refused, and nothing the user can do now changes it.
    Refused {
        /// The policies that refuse (empty for a disabled account).
        policy: String,
        /// Why.
        why: Refusal,
        /// What would fix it.
        remedy: Remedy,
        /// The only remedy is blocked by the same requirement (R44).
        is_loop: bool,
    },
}

impl Verdict {
    /// The refusal for a disabled account.
    pub fn account_disabled() -> Verdict {
        Verdict::Refused {
            policy: String::new(),
            why: Refusal::AccountDisabled,
            remedy: Remedy::AskAdministrator,
            is_loop: false,
        }
    }

    /// The policy a refusal or "register first" names, if any.
    pub fn policy(&self) -> Option<&str> {
        match self {
            Verdict::RegisterFirst { requirement } => Some(&requirement.policy),
            Verdict::Refused { policy, .. } => Some(policy),
            _ => None,
        }
    }
}

/// What the user holds and used, for deciding what they can do.
#[derive(Clone, Copy)]
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
    /// Whether signing in again with this held method alone would get the user through (the
    /// caller evaluates that sign-in): a session holds the one method it signed in with, and
    /// stepping up gives up the pass and its proof-up skip, so a step-up is a remedy only
    /// with such a method (issue 13, point 10).
    pub completes: &'a dyn Fn(&UsedMethod) -> bool,
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
                why: Refusal::Blocked,
                remedy: Remedy::AskWhichPolicyBlocks,
                is_loop: false,
            };
        }
        Outcome::Unmet(u) => u,
    };
    let registering = h
        .client_app_id
        .is_some_and(|c| c == AUTHENTICATOR_APP.app_id || c == SECURITY_INFO_APP.app_id);
    let with_tap = h.used.iter().any(UsedMethod::is_pass);
    let mut step_up = vec![];
    // The policies a step-up would answer: the method stepped up with must answer them all.
    let mut asked: Vec<&PolicyUnmet> = vec![];
    let mut skipped = vec![];
    // Whether a method answers a policy: one of its alternatives (OR), or all it lacks (AND).
    let meets =
        |a: &Unmet, m: &UsedMethod| strength_of(a, strengths).is_some_and(|s| s.allows_alone(*m));
    let answers = |p: &PolicyUnmet, m: &UsedMethod| {
        if p.any_of {
            p.unmet.iter().any(|a| meets(a, m))
        } else {
            p.unmet.iter().all(|a| meets(a, m))
        }
    };
    for p in unmet {
        // What the user can act on: a missing method. Under AND, every unmet control must
        // be one; under OR, any one will do.
        let methods: Vec<Unmet> = p
            .unmet
            .iter()
            .filter(|a| strength_of(a, strengths).is_some())
            .cloned()
            .collect();
        let actionable = if p.any_of {
            !methods.is_empty()
        } else {
            methods.len() == p.unmet.len()
        };
        let requirement = |unmet: Vec<Unmet>| Requirement {
            policy: p.policy.clone(),
            unmet,
            any_of: p.any_of,
        };
        if actionable && h.registered.iter().any(|m| answers(p, m)) {
            // Name what the user holds (under OR, only the alternatives they can use).
            let held = methods
                .iter()
                .filter(|a| !p.any_of || h.registered.iter().any(|m| meets(a, m)))
                .cloned()
                .collect();
            step_up.push(requirement(held));
            asked.push(p);
            continue;
        }
        if actionable {
            if registering && with_tap {
                skipped.push(requirement(methods));
                continue;
            }
            if !registering && h.registration_open {
                return Verdict::RegisterFirst {
                    requirement: requirement(methods),
                };
            }
            // Registering, or (the arm above took the rest) Security info is closed:
            // either way the user cannot get the method from here.
            return Verdict::Refused {
                policy: p.policy.clone(),
                why: Refusal::NoMethod(requirement(methods)),
                remedy: if registering {
                    Remedy::PassToRegister
                } else {
                    Remedy::RegisterInSecurityInfo
                },
                is_loop: true,
            };
        }
        // Nothing the user holds or registers meets this: a device, an app, or (under AND)
        // a method together with one of those.
        let beyond: Vec<Unmet> = p
            .unmet
            .iter()
            .filter(|a| strength_of(a, strengths).is_none())
            .cloned()
            .collect();
        let remedy = if beyond.contains(&Unmet::CompliantDevice) {
            Remedy::UseCompliantDevice
        } else {
            Remedy::CannotMeetHere
        };
        // The Authenticator can never satisfy approved/compliant app: registering in it loops.
        let is_loop = registering
            && beyond.iter().all(|u| {
                matches!(
                    u,
                    Unmet::ApprovedApplication
                        | Unmet::CompliantApplication
                        | Unmet::DomainJoinedDevice
                )
            });
        return Verdict::Refused {
            policy: p.policy.clone(),
            why: Refusal::CannotMeet(requirement(beyond)),
            remedy,
            is_loop,
        };
    }
    if step_up.is_empty() {
        return Verdict::AllowForRegistration { skipped };
    }
    // The method to step up with answers what is asked, and then, alone, gets the user
    // through (the caller's evaluation): not the method already used, whose own way through
    // — a pass's proof-up skip — is what the step-up would give up.
    if h.registered
        .iter()
        .any(|m| asked.iter().all(|p| answers(p, m)) && (h.completes)(m))
    {
        return Verdict::StepUp {
            requirements: step_up,
        };
    }
    if registering && with_tap {
        // Registering with a pass: keep it, and skip every strength for proof-up.
        skipped.extend(step_up);
        return Verdict::AllowForRegistration { skipped };
    }
    no_single_method(step_up)
}

/// The loop when no one held method meets every policy that asks for one.
pub fn no_single_method(requirements: Vec<Requirement>) -> Verdict {
    let policies: Vec<&str> = requirements.iter().map(|r| r.policy.as_str()).collect();
    Verdict::Refused {
        policy: policies.join(", "),
        why: Refusal::NoSingleMethod(requirements),
        remedy: Remedy::AlignPolicies,
        is_loop: true,
    }
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
            allowed_combinations: vec![crate::strength::Combination::parse("fido2").unwrap()],
            fido2_allowed_aaguids: Some(vec![Uuid::parse_str(AUTHN).unwrap()]),
            fido2_configuration_id: None,
            created: String::new(),
            modified: String::new(),
        }
    }

    fn unmet_of(policy: &str, unmet: Vec<Unmet>) -> PolicyUnmet {
        PolicyUnmet {
            policy: policy.into(),
            unmet,
            any_of: true,
        }
    }

    fn unmet() -> Outcome {
        Outcome::Unmet(vec![unmet_of(
            "Passkey everywhere",
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
            completes: &|_| true,
        };
        match verdict(&unmet(), &strengths, &h) {
            Verdict::Refused {
                is_loop: true,
                remedy,
                policy,
                ..
            } => {
                assert!(remedy == Remedy::PassToRegister && policy == "Passkey everywhere")
            }
            other => panic!("{other:?}"),
        }
        let tap = UsedMethod::TAP;
        let h = Holdings {
            used: &[tap],
            registered: &[tap],
            client_app_id: Some(AUTHENTICATOR_APP.app_id),
            registration_open: false,
            completes: &|_| true,
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
            completes: &|_| true,
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
                Verdict::RegisterFirst { ref requirement } if requirement.unmet == vec![Unmet::Strength { id: "pia".into(), name: "Passkey in Authenticator".into() }]
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
            completes: &|_| true,
        };
        assert!(matches!(
            verdict(&unmet(), &strengths, &h),
            Verdict::StepUp { .. }
        ));
    }

    fn yubikey_only() -> Strength {
        Strength {
            id: "yk".into(),
            display_name: "YubiKey only".into(),
            fido2_allowed_aaguids: Some(vec![Uuid::from_u128(1)]),
            ..in_authenticator()
        }
    }

    fn two_policies() -> Outcome {
        Outcome::Unmet(vec![
            unmet_of(
                "Authenticator passkeys",
                vec![Unmet::Strength {
                    id: "pia".into(),
                    name: "Passkey in Authenticator".into(),
                }],
            ),
            unmet_of(
                "Security keys",
                vec![Unmet::Strength {
                    id: "yk".into(),
                    name: "YubiKey only".into(),
                }],
            ),
        ])
    }

    /// Issue 13, point 10: two policies on one application that each need a different
    /// passkey sent the user to step up in a circle — a session holds one method. A step-up
    /// is offered only when the caller found a held method that alone gets the user through
    /// (`access` evaluates that sign-in); otherwise it is a loop.
    #[test]
    fn a_step_up_that_no_single_method_completes_is_a_loop() {
        let mut strengths: Vec<Strength> = BUILT_IN.iter().map(|b| b.to_strength()).collect();
        strengths.extend([in_authenticator(), yubikey_only()]);
        let authn = UsedMethod::passkey(Some(Uuid::parse_str(AUTHN).unwrap()), true);
        let yubikey = UsedMethod::passkey(Some(Uuid::from_u128(1)), true);
        // The caller found that no held method, alone, gets the user through.
        let h = Holdings {
            used: &[UsedMethod::TAP],
            registered: &[UsedMethod::TAP, authn, yubikey],
            client_app_id: Some("payroll"),
            registration_open: true,
            completes: &|_| false,
        };
        match verdict(&two_policies(), &strengths, &h) {
            Verdict::Refused {
                is_loop: true,
                policy,
                ..
            } => assert_eq!(policy, "Authenticator passkeys, Security keys"),
            other => panic!("expected a loop, got {other:?}"),
        }
        let both = Outcome::Unmet(vec![
            unmet_of(
                "Authenticator passkeys",
                vec![Unmet::Strength {
                    id: "pia".into(),
                    name: "Passkey in Authenticator".into(),
                }],
            ),
            unmet_of(
                "Also Authenticator",
                vec![Unmet::Strength {
                    id: "pia".into(),
                    name: "Passkey in Authenticator".into(),
                }],
            ),
        ]);
        // One strength for both, and the Authenticator passkey alone gets the user through.
        let completes = |m: &UsedMethod| *m == authn;
        let h = Holdings {
            completes: &completes,
            ..h
        };
        assert!(matches!(
            verdict(&both, &strengths, &h),
            Verdict::StepUp { .. }
        ));
    }

    /// Issue 13, point 10: signed in with a pass at Security info, holding a passkey that
    /// meets one policy but not the other: stepping up would give up the pass and its
    /// proof-up skip and land on a loop. The pass is kept and both strengths are skipped.
    #[test]
    fn a_pass_at_security_info_is_not_traded_for_a_step_up_that_loses_the_skip() {
        let mut strengths: Vec<Strength> = BUILT_IN.iter().map(|b| b.to_strength()).collect();
        strengths.extend([in_authenticator(), yubikey_only()]);
        let authn = UsedMethod::passkey(Some(Uuid::parse_str(AUTHN).unwrap()), true);
        let h = Holdings {
            used: &[UsedMethod::TAP],
            registered: &[UsedMethod::TAP, authn],
            client_app_id: Some(SECURITY_INFO_APP.app_id),
            registration_open: false,
            completes: &|_| false,
        };
        match verdict(&two_policies(), &strengths, &h) {
            Verdict::AllowForRegistration { skipped } => assert_eq!(skipped.len(), 2),
            other => panic!("expected proof-up, got {other:?}"),
        }
    }

    /// Found by the engine's property test: an AND policy (MFA and a hybrid-joined device)
    /// was read as alternatives, and the user was sent to step up with MFA, after which the
    /// device was still missing. Under AND every unmet control must be met.
    #[test]
    fn under_and_a_step_up_is_offered_only_when_it_meets_everything_unmet() {
        let strengths: Vec<Strength> = BUILT_IN.iter().map(|b| b.to_strength()).collect();
        let passkey = UsedMethod::passkey(None, false);
        let h = Holdings {
            used: &[],
            registered: &[passkey],
            client_app_id: Some("payroll"),
            registration_open: true,
            completes: &|_| true,
        };
        let mut p = unmet_of(
            "MFA and hybrid join",
            vec![Unmet::Mfa, Unmet::DomainJoinedDevice],
        );
        p.any_of = false;
        assert!(matches!(
            verdict(&Outcome::Unmet(vec![p.clone()]), &strengths, &h),
            Verdict::Refused { is_loop: false, why: Refusal::CannotMeet(ref r), .. } if r.unmet == vec![Unmet::DomainJoinedDevice]
        ));
        // The same controls as alternatives: MFA will do.
        p.any_of = true;
        assert!(matches!(
            verdict(&Outcome::Unmet(vec![p]), &strengths, &h),
            Verdict::StepUp { .. }
        ));
    }

    #[test]
    fn r42_approved_app_in_the_authenticator_is_a_loop() {
        let strengths: Vec<Strength> = BUILT_IN.iter().map(|b| b.to_strength()).collect();
        let o = Outcome::Unmet(vec![unmet_of(
            "Approved apps",
            vec![Unmet::ApprovedApplication, Unmet::CompliantApplication],
        )]);
        let h = Holdings {
            used: &[],
            registered: &[],
            client_app_id: Some(AUTHENTICATOR_APP.app_id),
            registration_open: false,
            completes: &|_| true,
        };
        assert!(matches!(
            verdict(&o, &strengths, &h),
            Verdict::Refused { is_loop: true, .. }
        ));
    }
}
