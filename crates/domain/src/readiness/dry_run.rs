//! R51: a dry run analyses the tenant as it is and as a proposal would leave it. When the
//! proposal changes only Conditional Access policies, a user none of the changed policies
//! (before or after) could include is decided alike under both — a policy that does not
//! include a user neither applies to them nor is named in their findings — so only the users
//! some changed policy could include are analysed again. Anything else that differs (methods,
//! strengths, locations, applications), or a changed policy that does not parse (it blocks
//! everyone), and every user is analysed again.

use std::collections::HashSet;
use std::num::NonZeroUsize;

use uuid::Uuid;

use super::{analyse, Subject, Tenant, UserFinding};
use crate::conditional_access::parsed::UserAssignment;
use crate::conditional_access::set::PolicySet;

/// The findings before and after a proposed change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DryRun {
    /// Under the configuration as it is.
    pub now: Vec<UserFinding>,
    /// Under the proposed configuration.
    pub then: Vec<UserFinding>,
    /// How many users were analysed again for `then`.
    pub reanalysed: usize,
}

/// Analyses `subjects` under `current` and under `proposed`; `then` is exactly what
/// [`analyse`] of `proposed` finds (the engine's property test holds it to that).
pub fn dry_run(
    current: &Tenant<'_>,
    proposed: &Tenant<'_>,
    subjects: &[Subject<'_>],
    workers: NonZeroUsize,
) -> DryRun {
    let now = analyse(current, subjects, workers);
    let Some(changed) = changed_assignments(current, proposed) else {
        return DryRun {
            then: analyse(proposed, subjects, workers),
            reanalysed: subjects.len(),
            now,
        };
    };
    let touched: Vec<Subject<'_>> = subjects
        .iter()
        .filter(|s| changed.iter().any(|a| could_include(a, s)))
        .copied()
        .collect();
    let again: HashSet<Uuid> = touched.iter().map(|s| s.user.id).collect();
    let mut then: Vec<UserFinding> = now
        .iter()
        .filter(|f| !again.contains(&f.user))
        .cloned()
        .collect();
    then.extend(analyse(proposed, &touched, workers));
    then.sort();
    DryRun {
        now,
        then,
        reanalysed: touched.len(),
    }
}

/// Whether the assignment includes the user, ignoring its exclusions: as the engine's
/// applicability test, widened (a user it excludes is still analysed again).
fn could_include(a: &UserAssignment, s: &Subject<'_>) -> bool {
    a.all
        || a.users.contains(&s.user.id)
        || a.groups.iter().any(|g| s.groups.contains(g))
        || a.roles.iter().any(|r| s.roles.contains(r))
}

/// The user assignments of every policy that is not in both tenants unchanged — when nothing
/// but policies differs and each such policy parses; `None` otherwise.
fn changed_assignments<'a>(
    a: &'a Tenant<'_>,
    b: &'a Tenant<'_>,
) -> Option<Vec<&'a UserAssignment>> {
    let rest_alike = a.config.strengths == b.config.strengths
        && a.config.locations == b.config.locations
        && a.methods.fido2 == b.methods.fido2
        && a.methods.tap == b.methods.tap
        && a.applications == b.applications
        && a.portal == b.portal
        && a.authenticator == b.authenticator
        && a.networks == b.networks
        && a.trust == b.trust
        && a.now == b.now;
    if !rest_alike {
        return None;
    }
    let mut out = vec![];
    for (set, other) in [
        (a.config.policies, b.config.policies),
        (b.config.policies, a.config.policies),
    ] {
        out.extend(unmatched(set, other)?);
    }
    Some(out)
}

/// The assignments of `set`'s policies that `other` does not hold unchanged; `None` when one
/// of them does not parse.
fn unmatched<'a>(set: &'a PolicySet, other: &PolicySet) -> Option<Vec<&'a UserAssignment>> {
    let mut out = vec![];
    for (p, parsed) in set.policies().iter().zip(set.parsed()) {
        let kept = other.policies().iter().any(|q| q.id == p.id && q == p);
        if !kept {
            out.push(&parsed.as_ref().ok()?.users);
        }
    }
    Some(out)
}
