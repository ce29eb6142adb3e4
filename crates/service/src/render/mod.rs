//! The one place a Conditional Access decision becomes words and codes (issue 13, point 3):
//! the domain decides in data ([`Verdict`], [`Refusal`], [`Remedy`], [`Unmet`]); each surface
//! renders it here — the sign-in surface (refusal page and sign-in log: codes and Entra error
//! numbers), the registration API, token refresh, and What If (CLI JSON, Graph `evaluate`).

pub mod adoption;
pub mod csv;
mod factors;
pub mod inventory;
pub mod logs;
mod methods;
pub mod readiness;

pub use factors::{oath_enrol_refusal, password_refusal};
pub use methods::{
    fido2_warning, key_restrictions, passkey_reach, passkey_refusal, ruleset,
    strength_needs_attestation, tap_refusal, INVALID_CREDENTIALS,
};

use portcullis_domain::conditional_access::evaluate::{Evaluation, Unmet};
use portcullis_domain::conditional_access::remedy::{Refusal, Remedy, Requirement, Verdict};
use portcullis_domain::conditional_access::Policy;
use serde_json::{json, Value};

/// One unmet control, in words.
pub fn unmet(u: &Unmet) -> String {
    match u {
        Unmet::Block => "access is blocked".into(),
        Unmet::Mfa => "multifactor authentication is required".into(),
        Unmet::Strength { name, .. } => format!("the authentication strength '{name}' is required"),
        Unmet::CompliantDevice => "a device that your organisation marks compliant is required".into(),
        Unmet::DomainJoinedDevice => "a hybrid-joined device is required (Portcullis has none)".into(),
        Unmet::ApprovedApplication => "an approved client app is required (the Authenticator app is not one)".into(),
        Unmet::CompliantApplication => "an app protected by an app protection policy is required (the Authenticator app is not one)".into(),
    }
}

/// A control as the sign-in log's `enforcedGrantControls` names it.
pub fn control(u: &Unmet) -> String {
    match u {
        Unmet::Block => "Block".into(),
        Unmet::Mfa => "Mfa".into(),
        Unmet::Strength { name, .. } => format!("AuthenticationStrength: {name}"),
        Unmet::CompliantDevice => "RequireCompliantDevice".into(),
        Unmet::DomainJoinedDevice => "RequireDomainJoinedDevice".into(),
        Unmet::ApprovedApplication => "RequireApprovedApp".into(),
        Unmet::CompliantApplication => "RequireCompliantApp".into(),
    }
}

/// What a policy asks for: its controls joined by "or" (any one will do) or "and".
pub fn requirement(r: &Requirement) -> String {
    r.unmet
        .iter()
        .map(unmet)
        .collect::<Vec<_>>()
        .join(if r.any_of { ", or " } else { ", and " })
}

fn all_of(rs: &[Requirement]) -> String {
    rs.iter().map(requirement).collect::<Vec<_>>().join(" and ")
}

/// Why a sign-in is refused, as a sentence.
pub fn refusal(why: &Refusal) -> String {
    match why {
        Refusal::AccountDisabled => "This account is disabled.".into(),
        Refusal::Blocked => "A Conditional Access policy blocks this sign-in.".into(),
        Refusal::NoMethod(r) => format!(
            "To continue, {}; you have no method that meets it.",
            requirement(r)
        ),
        Refusal::CannotMeet(r) => format!("To continue, {}.", requirement(r)),
        Refusal::NoSingleMethod(rs) => format!(
            "To continue, {}; each of your methods meets only some of these, and one sign-in uses one method.",
            rs.iter().map(requirement).collect::<Vec<_>>().join(", and ")
        ),
        Refusal::NotRegistrable(r) => format!(
            "To continue, {}; you have no method that meets it, and your organisation's passkey settings let you add none that does.",
            requirement(r)
        ),
    }
}

/// What would fix a refusal, as a sentence.
pub fn remedy(r: Remedy) -> &'static str {
    match r {
        Remedy::AskAdministrator => "Ask your administrator.",
        Remedy::AskWhichPolicyBlocks => "Ask your administrator which policy blocks you and why.",
        Remedy::PassToRegister => "Ask your administrator for a Temporary Access Pass: signing in with it lets you register a method that meets this requirement. Administrators can also split the policy by platform (TAP allowed on mobile) or target applications with a filter instead of All resources.",
        Remedy::RegisterInSecurityInfo => "Register a method that meets this requirement on Security info (a Temporary Access Pass from your administrator lets you in), then sign in again.",
        Remedy::UseCompliantDevice => "Use a device your organisation manages and marks compliant, or ask your administrator for a temporary exclusion.",
        Remedy::CannotMeetHere => "Ask your administrator: this requirement cannot be met from this app or device.",
        Remedy::AlignPolicies => "Ask your administrator: the policies on this application must accept one method you can hold (for example, strengths that allow the same passkey models).",
        Remedy::AllowAPasskeyThatMeets => "Ask your administrator: the Passkey (FIDO2) settings must let you add a passkey that meets this requirement (the method on for you, self-service registration on, the required models allowed by key restrictions, and attestation enforced where a strength names models).",
    }
}

/// What the sign-in surface shows and logs when it does not issue a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// Stable code (`stepUpRequired`, `registrationRequired`, `conditionalAccessLoop`,
    /// `conditionalAccessRefused`).
    pub code: &'static str,
    /// Entra's error number for the sign-in log (50074, 50079, 53003).
    pub error_number: i64,
    /// The policy, when one refuses.
    pub policy: String,
    /// Why.
    pub reason: String,
    /// What would fix it.
    pub remedy: String,
    /// A loop (R44).
    pub is_loop: bool,
}

/// The sign-in surface's rendering of a verdict: `None` when a code is issued.
pub fn denial(v: &Verdict) -> Option<Denial> {
    match v {
        Verdict::Allow | Verdict::AllowForRegistration { .. } => None,
        Verdict::StepUp { requirements } => Some(Denial {
            code: "stepUpRequired",
            error_number: 50074,
            policy: String::new(),
            reason: format!("To continue, {}.", all_of(requirements)),
            remedy: "Sign in again with a method that meets it (you have one registered).".into(),
            is_loop: false,
        }),
        // Entra's "the user must enrol a method first" (50079).
        Verdict::RegisterFirst { requirement: r } => Some(Denial {
            code: "registrationRequired",
            error_number: 50079,
            policy: r.policy.clone(),
            reason: format!(
                "To continue, {}; you have no method that meets it yet.",
                requirement(r)
            ),
            remedy: "Passkeys cannot be added in the middle of a sign-in. Add one in Security info, then sign in again with it to continue.".into(),
            is_loop: false,
        }),
        Verdict::Refused {
            policy,
            why,
            remedy: fix,
            is_loop,
        } => Some(Denial {
            code: if *is_loop {
                "conditionalAccessLoop"
            } else {
                "conditionalAccessRefused"
            },
            error_number: 53003,
            policy: policy.clone(),
            reason: refusal(why),
            remedy: remedy(*fix).into(),
            is_loop: *is_loop,
        }),
    }
}

/// The sign-in log's failure for a verdict: (Entra error number, code, message).
pub fn sign_in_failure(v: &Verdict) -> Option<(i64, &'static str, String)> {
    let d = denial(v)?;
    let message = match v {
        Verdict::StepUp { requirements } => requirements
            .iter()
            .map(requirement)
            .collect::<Vec<_>>()
            .join("; "),
        Verdict::RegisterFirst { requirement: r } => requirement(r),
        _ if d.is_loop => format!("{} {}", d.reason, d.remedy),
        _ => d.reason,
    };
    Some((d.error_number, d.code, message))
}

/// The registration API's refusal of a verdict: (code, message); `None` when it may register.
pub fn registration_refusal(v: &Verdict) -> Option<(&'static str, String)> {
    match v {
        Verdict::Allow | Verdict::AllowForRegistration { .. } => None,
        Verdict::StepUp { requirements } => Some((
            "conditionalAccess",
            format!(
                "Registering security info needs {}; sign in again with it.",
                all_of(requirements)
            ),
        )),
        Verdict::RegisterFirst { requirement: r } => Some(("conditionalAccess", format!("The policy '{}' does not let you register security info here: to continue, {}, and you have no method that meets it. A Temporary Access Pass from your administrator lets you in to register.", r.policy, requirement(r)))),
        Verdict::Refused {
            policy,
            why,
            remedy: fix,
            is_loop,
        } => Some((
            if *is_loop {
                "conditionalAccessLoop"
            } else {
                "conditionalAccess"
            },
            format!(
                "The policy '{policy}' does not let you register security info here: {} {}",
                refusal(why),
                remedy(*fix)
            ),
        )),
    }
}

/// Why a refresh is refused now that the access decision says `v`.
pub fn refresh_refusal(v: &Verdict) -> String {
    match v {
        Verdict::StepUp { requirements } => format!("it now needs {}", all_of(requirements)),
        Verdict::RegisterFirst { requirement: r } => {
            format!("it now needs that you {}", requirement(r))
        }
        Verdict::Refused { why, .. } => refusal(why),
        Verdict::Allow | Verdict::AllowForRegistration { .. } => String::new(),
    }
}

/// A verdict as JSON, for every surface that answers What If (the CLI's `outcome`, Graph
/// `evaluate`'s `@portcullis.verdict` annotation): `result` is `allow`,
/// `allowForRegistration`, `stepUp`, `registerFirst`, `loop` or `refused`, with what the
/// user needs, the policy, the reason and the remedy.
pub fn verdict_json(v: &Verdict) -> Value {
    let texts = |rs: &[Requirement]| rs.iter().map(requirement).collect::<Vec<_>>();
    match v {
        Verdict::Allow => json!({"result": "allow"}),
        Verdict::AllowForRegistration { skipped } => {
            json!({"result": "allowForRegistration", "skippedForProofUp": texts(skipped)})
        }
        Verdict::StepUp { requirements } => {
            json!({"result": "stepUp", "requirements": texts(requirements)})
        }
        Verdict::RegisterFirst { requirement: r } => {
            json!({"result": "registerFirst", "policy": r.policy, "requirement": requirement(r), "where": "Security info"})
        }
        Verdict::Refused {
            policy,
            why,
            remedy: fix,
            is_loop,
        } => {
            json!({"result": if *is_loop { "loop" } else { "refused" }, "policy": policy, "reason": refusal(why), "remedy": remedy(*fix)})
        }
    }
}

/// `appliedConditionalAccessPolicies` for the sign-in log and What If.
pub fn applied_policies_json(e: &Evaluation, policies: &[Policy]) -> Value {
    json!(e
        .policies
        .iter()
        .filter_map(|r| {
            let p = policies.get(r.index)?;
            Some(json!({
                "id": p.id, "displayName": p.display_name, "result": r.result,
                "enforcedGrantControls": r.controls().iter().map(control).collect::<Vec<_>>(), "enforcedSessionControls": [],
                "unmet": r.unmet().iter().map(unmet).collect::<Vec<_>>(),
                "analysisReasons": if r.not_applied_because.is_empty() { "notSet".to_string() } else { r.not_applied_because.list().join(",") },
            }))
        })
        .collect::<Vec<_>>())
}
