//! Which policies could apply to a user, found from their ids instead of by testing every
//! policy: in a large tenant most policies target other groups, and a sign-in should cost in
//! proportion to the policies that concern its user, not to all of them.

use std::collections::HashMap;

use super::parsed::{CaPolicyError, ParsedPolicy};

/// An inverted index from included user, group and role ids to policy positions, built only
/// by [`super::set::PolicySet::new`] from the parsed policies it keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyIndex {
    /// Policies that include all users (and those that do not parse: they are evaluated for
    /// everyone, and block).
    all: Vec<u32>,
    /// Policies by each user, group or role id they include (ids are UUIDs from disjoint
    /// spaces; a collision would only add a candidate, which is then tested in full).
    by_id: HashMap<u128, Vec<u32>>,
}

impl PolicyIndex {
    /// Indexes `policies` in their order.
    pub(crate) fn build(policies: &[Result<ParsedPolicy, CaPolicyError>]) -> Self {
        let mut ix = PolicyIndex::default();
        for (i, p) in (0u32..).zip(policies) {
            let u = match p {
                Ok(p) if !p.users.all => &p.users,
                _ => {
                    ix.all.push(i);
                    continue;
                }
            };
            let roles = u.roles.iter().map(|r| r.template_id());
            for id in u.users.iter().chain(&u.groups).copied().chain(roles) {
                let list = ix.by_id.entry(id.as_u128()).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        ix
    }

    /// Positions, ascending and without repeats, of the policies whose user assignment could
    /// include someone with these ids. Every other policy does not apply (reason `users`).
    pub fn candidates(&self, user: u128, groups: &[u128], roles: &[u128]) -> Vec<u32> {
        let mut out = self.all.clone();
        for id in std::iter::once(&user).chain(groups).chain(roles) {
            if let Some(list) = self.by_id.get(id) {
                out.extend_from_slice(list);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}
