//! Which policies could apply to a user, found from their ids instead of by testing every
//! policy: in a large tenant most policies target other groups, and a sign-in should cost in
//! proportion to the policies that concern its user, not to all of them.

use std::collections::HashMap;

use super::{ids, role_ids, Policy, PolicyState};

/// An inverted index from included user, group and role ids to policy positions, built once
/// per loaded configuration (see [`super::evaluate::Config::index`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyIndex {
    /// Per policy: its state and whether its grant operator is OR, kept side by side so that
    /// the policies a user is not in are reported without touching the policies themselves.
    pub(crate) meta: Vec<(PolicyState, bool)>,
    /// Policies that include all users.
    all: Vec<u32>,
    /// Policies by each user, group or role id they include (ids are UUIDs from disjoint
    /// spaces; a collision would only add a candidate, which is then tested in full).
    by_id: HashMap<u128, Vec<u32>>,
}

impl PolicyIndex {
    /// Indexes `policies` in their order.
    pub fn build(policies: &[Policy]) -> Self {
        let mut ix = PolicyIndex::default();
        for (i, p) in policies.iter().enumerate() {
            let i = i as u32;
            let u = &p.conditions.users;
            ix.meta.push((
                p.state,
                p.grant_controls
                    .as_ref()
                    .is_some_and(|g| g.operator == "OR"),
            ));
            if u.include_users
                .iter()
                .any(|x| x.eq_ignore_ascii_case("All"))
            {
                ix.all.push(i);
                continue;
            }
            for id in ids(&u.include_users)
                .into_iter()
                .chain(ids(&u.include_groups))
                .chain(role_ids(&u.include_roles))
            {
                let list = ix.by_id.entry(id).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        ix
    }

    /// Number of policies indexed.
    pub fn len(&self) -> usize {
        self.meta.len()
    }

    /// Whether no policy is indexed.
    pub fn is_empty(&self) -> bool {
        self.meta.is_empty()
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
