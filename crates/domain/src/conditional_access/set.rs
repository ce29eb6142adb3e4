//! The tenant's policies, parsed and indexed once per configuration version (issue 13,
//! point 1). [`PolicySet::new`] is the only constructor: it fixes the order policies are
//! evaluated in, parses each one, and builds the index from the parsed values, so there is one
//! matching path and no index can describe other policies than the ones it is kept with.

use super::index::PolicyIndex;
use super::parsed::{parse, CaPolicyError, ParsedPolicy};
use super::{Policy, PolicyState};

/// Policies in evaluation order, each with its parsed form.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    policies: Vec<Policy>,
    parsed: Vec<Result<ParsedPolicy, CaPolicyError>>,
    /// Per policy, its state and whether its grant operator is OR, side by side: listing the
    /// many policies that do not concern a user then touches neither policy form.
    meta: Vec<(PolicyState, bool)>,
    index: PolicyIndex,
}

impl PolicySet {
    /// Parses and indexes `policies`. They are evaluated by display name, then id — never in
    /// the order storage returned them, so two tenants with the same policies decide alike.
    /// A stored policy that no longer parses (saving refuses such policies; only an edit
    /// behind the API makes one) is kept, and evaluation fails closed on it: it blocks.
    pub fn new(mut policies: Vec<Policy>) -> Self {
        policies.sort_by(|a, b| {
            a.display_name
                .cmp(&b.display_name)
                .then_with(|| a.id.cmp(&b.id))
        });
        let parsed: Vec<_> = policies.iter().map(parse).collect();
        let index = PolicyIndex::build(&parsed);
        let meta = policies
            .iter()
            .zip(&parsed)
            .map(|(p, r)| (p.state, r.as_ref().is_ok_and(|r| r.grant.any_of)))
            .collect();
        PolicySet {
            policies,
            parsed,
            meta,
            index,
        }
    }

    /// The same set with `policy` added, or replacing the policy with its id.
    pub fn with_policy(&self, policy: Policy) -> Self {
        let mut policies: Vec<Policy> = self
            .policies
            .iter()
            .filter(|p| p.id != policy.id)
            .cloned()
            .collect();
        policies.push(policy);
        PolicySet::new(policies)
    }

    /// The policies in Graph's shape, in evaluation order ([`super::evaluate::PolicyResult`]
    /// positions index this).
    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    /// The policies that no longer parse, with why.
    pub fn unreadable(&self) -> impl Iterator<Item = (&Policy, &CaPolicyError)> {
        self.policies
            .iter()
            .zip(&self.parsed)
            .filter_map(|(p, r)| r.as_ref().err().map(|e| (p, e)))
    }

    pub(crate) fn parsed(&self) -> &[Result<ParsedPolicy, CaPolicyError>] {
        &self.parsed
    }

    pub(crate) fn meta(&self) -> &[(PolicyState, bool)] {
        &self.meta
    }

    pub(crate) fn index(&self) -> &PolicyIndex {
        &self.index
    }

    /// Number of policies.
    pub fn len(&self) -> usize {
        self.policies.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::super::evaluate::{evaluate, Config, Outcome, Resource, Signals};
    use super::super::platform::ClientAppType;
    use super::super::{Applications, Conditions, GrantControls, Users};
    use super::*;
    use crate::application::Application;
    use crate::directory::{DirectoryRole, Upn, User};
    use crate::strength::{Strength, BUILT_IN};
    use time::macros::datetime;
    use uuid::Uuid;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    fn policy(i: usize, users: Users, controls: &[&str]) -> Policy {
        Policy {
            id: format!("{:04}", 9999 - i),
            display_name: format!("P{i:02}"),
            description: None,
            state: PolicyState::Enabled,
            conditions: Conditions {
                users,
                applications: Applications {
                    include_applications: vec!["All".into()],
                    ..Default::default()
                },
                ..Default::default()
            },
            grant_controls: Some(GrantControls {
                operator: "OR".into(),
                built_in_controls: controls.iter().map(|c| c.to_string()).collect(),
                ..Default::default()
            }),
            session_controls: None,
            created_date_time: None,
            modified_date_time: None,
        }
    }

    /// Graph's meaning of a user assignment, read straight off the wire shape: the oracle the
    /// parsed and indexed path must agree with.
    fn assigned(u: &Users, user: Uuid, groups: &[Uuid], roles: &[DirectoryRole]) -> bool {
        let has = |l: &[String], v: &Uuid| l.iter().any(|x| x.eq_ignore_ascii_case(&v.to_string()));
        let role = |l: &[String]| {
            l.iter().any(|r| {
                roles.iter().any(|h| {
                    r.eq_ignore_ascii_case(&h.template_id().to_string())
                        || r.eq_ignore_ascii_case(h.display_name())
                })
            })
        };
        let inc = u.include_users.iter().any(|x| x == "All")
            || has(&u.include_users, &user)
            || groups.iter().any(|g| has(&u.include_groups, g))
            || role(&u.include_roles);
        let exc = has(&u.exclude_users, &user)
            || groups.iter().any(|g| has(&u.exclude_groups, g))
            || role(&u.exclude_roles);
        inc && !exc
    }

    fn tenant() -> Vec<Policy> {
        let admin = DirectoryRole::GlobalAdministrator;
        (0..40usize)
            .map(|i| {
                let n = i as u128;
                let users = Users {
                    include_users: if i % 7 == 0 {
                        vec!["All".into()]
                    } else {
                        vec![id(n % 5).to_string().to_uppercase()]
                    },
                    include_groups: vec![
                        id(100 + n % 9).to_string(),
                        id(100 + (n * 3) % 9).to_string(),
                    ],
                    include_roles: match i % 4 {
                        0 => vec![admin.template_id().to_string()],
                        1 => vec![admin.display_name().into()],
                        _ => vec![],
                    },
                    exclude_users: if i % 6 == 0 {
                        vec![id(1).to_string()]
                    } else {
                        vec![]
                    },
                    exclude_groups: if i % 5 == 0 {
                        vec![id(104).to_string()]
                    } else {
                        vec![]
                    },
                    exclude_roles: if i % 8 == 0 {
                        vec![admin.display_name().into()]
                    } else {
                        vec![]
                    },
                    temporary_exclusions: vec![],
                };
                let mut p = policy(i, users, if i % 11 == 3 { &["block"] } else { &["mfa"] });
                p.state = match i % 10 {
                    3 => PolicyState::Disabled,
                    7 => PolicyState::EnabledForReportingButNotEnforced,
                    _ => PolicyState::Enabled,
                };
                p
            })
            .collect()
    }

    fn user(n: u128) -> User {
        User {
            id: id(n),
            user_principal_name: Upn::parse("x@contoso.com").unwrap(),
            display_name: "X".into(),
            account_enabled: true,
            created_date_time: datetime!(2026-01-01 0:00 UTC),
        }
    }

    fn signals<'a>(
        user: &'a User,
        groups: &'a [Uuid],
        roles: &'a [DirectoryRole],
        app: &'a Application,
    ) -> Signals<'a> {
        Signals {
            user,
            groups,
            roles,
            resource: Resource::Application(app),
            client: Some(app),
            platform: None,
            ip: None,
            client_app_type: ClientAppType::Browser,
            device: None,
            methods: &[],
            now: datetime!(2026-01-01 0:00 UTC),
        }
    }

    fn strengths() -> Vec<Strength> {
        BUILT_IN.iter().map(|b| b.to_strength()).collect()
    }

    /// The one matching path (typed ids, resolved roles, the index) agrees with Graph's
    /// meaning of every user, group, role and exclusion, roles named either way.
    #[test]
    fn the_indexed_typed_path_agrees_with_the_wire_meaning_of_assignments() {
        let app = Application {
            app_id: "a".into(),
            ..Default::default()
        };
        let set = PolicySet::new(tenant());
        let st = strengths();
        let cfg = Config {
            policies: &set,
            strengths: &st,
            locations: &[],
        };
        let mut both = (false, false);
        for u in 0..6u128 {
            for (groups, roles) in [
                (vec![], vec![]),
                (vec![id(100), id(104)], vec![]),
                (vec![id(103)], vec![DirectoryRole::GlobalAdministrator]),
            ] {
                let user = user(u);
                let e = evaluate(&cfg, &signals(&user, &groups, &roles, &app));
                for r in &e.policies {
                    let Some(p) = set.policies().get(r.index) else {
                        panic!("a result without its policy")
                    };
                    if p.state == PolicyState::Disabled {
                        continue;
                    }
                    let expected = assigned(&p.conditions.users, user.id, &groups, &roles);
                    assert_eq!(
                        r.applies, expected,
                        "{} for user {u}, {groups:?}, {roles:?}",
                        p.display_name
                    );
                    if expected {
                        both.0 = true
                    } else {
                        both.1 = true
                    }
                }
            }
        }
        assert_eq!(both, (true, true), "the tenant exercises both outcomes");
    }

    /// Issue 13, point 10: identical tenants decide alike whatever order storage returns
    /// their policies in (names, not random ids, fix the order).
    #[test]
    fn decisions_do_not_depend_on_storage_order() {
        let app = Application {
            app_id: "a".into(),
            ..Default::default()
        };
        let st = strengths();
        let policies = tenant();
        let mut reversed = policies.clone();
        reversed.reverse();
        let mut rotated = policies.clone();
        rotated.rotate_left(17);
        let sets = [policies, reversed, rotated].map(PolicySet::new);
        for u in 0..6u128 {
            let user = user(u);
            let groups = [id(100 + u)];
            let decisions: Vec<_> = sets
                .iter()
                .map(|set| {
                    let cfg = Config {
                        policies: set,
                        strengths: &st,
                        locations: &[],
                    };
                    let e = evaluate(&cfg, &signals(&user, &groups, &[], &app));
                    let named: Vec<_> = e
                        .policies
                        .iter()
                        .map(|r| {
                            (
                                set.policies().get(r.index).map(|p| p.id.clone()),
                                r.result,
                                r.unmet().to_vec(),
                            )
                        })
                        .collect();
                    (e.outcome, named)
                })
                .collect();
            assert!(decisions.windows(2).all(|w| w[0] == w[1]), "user {u}");
        }
    }

    /// A stored policy that no longer parses (only an edit behind the API makes one) is not
    /// skipped: it applies to everyone and blocks, and the set says which and why.
    #[test]
    fn a_policy_that_no_longer_parses_fails_closed() {
        let app = Application {
            app_id: "a".into(),
            ..Default::default()
        };
        let mut broken = policy(
            1,
            Users {
                include_users: vec!["All".into()],
                ..Default::default()
            },
            &["mfa"],
        );
        broken.conditions.users.include_roles = vec!["Chief Everything Officer".into()];
        let fine = policy(
            2,
            Users {
                include_users: vec![id(9).to_string()],
                ..Default::default()
            },
            &["mfa"],
        );
        let set = PolicySet::new(vec![broken.clone(), fine]);
        let unreadable: Vec<_> = set
            .unreadable()
            .map(|(p, e)| (p.id.clone(), e.clone()))
            .collect();
        assert_eq!(
            unreadable,
            vec![(
                broken.id.clone(),
                CaPolicyError::UnknownRole("Chief Everything Officer".into())
            )]
        );
        let st = strengths();
        let cfg = Config {
            policies: &set,
            strengths: &st,
            locations: &[],
        };
        let stranger = user(77);
        assert_eq!(
            evaluate(&cfg, &signals(&stranger, &[], &[], &app)).outcome,
            Outcome::Block {
                policy: broken.display_name.clone()
            }
        );
        // Switched off, it is only reported as not enabled.
        broken.state = PolicyState::Disabled;
        let set = PolicySet::new(vec![broken]);
        let cfg = Config {
            policies: &set,
            strengths: &st,
            locations: &[],
        };
        assert_eq!(
            evaluate(&cfg, &signals(&stranger, &[], &[], &app)).outcome,
            Outcome::Allow
        );
    }

    /// Parsing names the field that is wrong, as a typed error.
    #[test]
    fn parse_errors_name_the_field() {
        let mut p = policy(
            0,
            Users {
                include_users: vec!["bob".into()],
                ..Default::default()
            },
            &["mfa"],
        );
        assert_eq!(
            parse(&p),
            Err(CaPolicyError::NotAnId {
                field: "includeUsers",
                value: "bob".into()
            })
        );
        assert!(parse(&p).unwrap_err().to_string().contains("includeUsers"));
        p.conditions.users.include_users = vec!["None".into()];
        p.conditions.users.exclude_groups = vec!["staff".into()];
        assert_eq!(
            parse(&p),
            Err(CaPolicyError::NotAnId {
                field: "excludeGroups",
                value: "staff".into()
            })
        );
        p.conditions.users.exclude_groups = vec![];
        p.conditions.client_app_types = vec!["exchangeActiveSync".into()];
        assert_eq!(
            parse(&p),
            Err(CaPolicyError::UnknownClientAppType(
                "exchangeActiveSync".into()
            ))
        );
        p.conditions.client_app_types = vec![];
        p.conditions.devices = Some(super::super::Devices {
            device_filter: Some(super::super::Filter {
                mode: "include".into(),
                rule: "device.colour -eq \"red\"".into(),
            }),
        });
        assert!(matches!(
            parse(&p),
            Err(CaPolicyError::FilterRule {
                field: "devices.deviceFilter",
                ..
            })
        ));
        p.conditions.devices = None;
        p.grant_controls = Some(GrantControls {
            operator: "XOR".into(),
            built_in_controls: vec!["mfa".into()],
            ..Default::default()
        });
        assert_eq!(parse(&p), Err(CaPolicyError::Operator("XOR".into())));
    }
}
