//! The authentication methods policy as the access decisions read it: which of a user's
//! methods they may use now (a step-up is offered only with one), and which passkeys they
//! could register (a "register first" is a remedy only if one of them would let them in).

use uuid::Uuid;

use crate::passkey::{self, Passkey};
use crate::policy::{targets, Fido2Configuration, TapConfiguration};
use crate::strength::UsedMethod;
use crate::tap::{decide_redeem, TemporaryAccessPass};
use crate::Timestamp;

/// The Passkey (FIDO2) and Temporary Access Pass settings of the methods policy.
#[derive(Debug, Clone, Copy)]
pub struct MethodsPolicy<'a> {
    /// Passkey (FIDO2).
    pub fido2: &'a Fido2Configuration,
    /// Temporary Access Pass.
    pub tap: &'a TapConfiguration,
}

/// The methods a user has registered and may sign in with now, as strengths see them: each
/// passkey the Passkey (FIDO2) settings still let sign in (R1, R2, R5, R9, R22), and the pass,
/// when the TAP settings and its own window let it sign in (R10–R12). A method that could
/// not sign in is no step-up (issue 13, point 10).
pub fn usable_methods(
    methods: MethodsPolicy<'_>,
    member_of: &[Uuid],
    passkeys: &[Passkey],
    pass: Option<&TemporaryAccessPass>,
    now: Timestamp,
) -> Vec<UsedMethod> {
    let mut out: Vec<UsedMethod> = passkeys
        .iter()
        .filter(|p| passkey::sign_in_usability(methods.fido2, member_of, p).is_ok())
        .map(|p| UsedMethod::passkey(Some(p.aaguid), p.attested))
        .collect();
    let tap = methods.tap;
    let scope = targets::scope(&tap.include_targets, &tap.exclude_targets, member_of);
    if pass.is_some_and(|p| decide_redeem(p, true, tap, &scope, now).is_ok()) {
        out.push(UsedMethod::TAP);
    }
    out
}

/// The passkeys this user could register now, of a model no list names or one of `models`
/// (see [`passkey::registrable`]).
pub fn registrable(
    methods: MethodsPolicy<'_>,
    member_of: &[Uuid],
    models: &[Uuid],
) -> Vec<UsedMethod> {
    passkey::registrable(methods.fido2, member_of, models)
}
