//! R51: a dry run re-analyses only the users a changed Conditional Access policy could
//! include, and still finds exactly what a full analysis of the proposed configuration finds.

use std::num::NonZeroUsize;

use portcullis_domain::directory::AUTHENTICATOR_APP;
use portcullis_domain::readiness::{
    analyse, dry_run, networks, AttestationTrust, Subject, Tenant, UserFinding,
};

use crate::tenant::*;

struct People {
    users: Vec<User>,
    passkeys: Vec<Vec<Passkey>>,
    passes: Vec<Option<TemporaryAccessPass>>,
    groups: Vec<Vec<Uuid>>,
    roles: Vec<Vec<DirectoryRole>>,
}

impl People {
    fn of(asks: &[Ask]) -> People {
        let mut p = People {
            users: vec![],
            passkeys: vec![],
            passes: vec![],
            groups: vec![],
            roles: vec![],
        };
        for a in asks {
            let u = a_user(a.user, a.enabled);
            if p.users.iter().any(|x| x.id == u.id) {
                continue;
            }
            p.passkeys.push(held_passkeys(u.id, &a.passkeys));
            p.passes.push(held_pass(u.id, a.pass));
            p.groups.push(a.groups.clone());
            p.roles.push(a.roles.clone());
            p.users.push(u);
        }
        p
    }

    fn subjects(&self) -> Vec<Subject<'_>> {
        (0..self.users.len())
            .map(|i| Subject {
                user: &self.users[i],
                groups: &self.groups[i],
                roles: &self.roles[i],
                passkeys: &self.passkeys[i],
                pass: self.passes[i].as_ref(),
                devices: &[],
            })
            .collect()
    }
}

fn sorted(mut v: Vec<UserFinding>) -> Vec<UserFinding> {
    v.sort();
    v
}

/// Analyses `people` before and after, both ways: the dry run and two full analyses.
fn both_ways(
    before: Vec<Policy>,
    after: Vec<Policy>,
    people: &People,
    fido2: &Fido2Configuration,
    tap: &TapConfiguration,
) -> (
    portcullis_domain::readiness::DryRun,
    Vec<UserFinding>,
    Vec<UserFinding>,
) {
    let (st, locs) = (strengths(), locations());
    let (now_set, then_set) = (PolicySet::new(before), PolicySet::new(after));
    let apps: Vec<Application> = APPS.iter().map(|a| app(a, Some("1"))).collect();
    let (portal, authenticator) = (portal(), app(AUTHENTICATOR_APP.app_id, None));
    let nets = networks(&locs);
    let trust = AttestationTrust::default();
    let now = Tenant {
        config: Config {
            policies: &now_set,
            strengths: &st,
            locations: &locs,
        },
        methods: MethodsPolicy { fido2, tap },
        applications: &apps,
        portal: &portal,
        authenticator: &authenticator,
        networks: &nets,
        trust: &trust,
        now: NOW,
    };
    let then = Tenant {
        config: Config {
            policies: &then_set,
            strengths: &st,
            locations: &locs,
        },
        ..now
    };
    let subjects = people.subjects();
    let workers = NonZeroUsize::MIN;
    (
        dry_run(&now, &then, &subjects, workers),
        sorted(analyse(&now, &subjects, workers)),
        sorted(analyse(&then, &subjects, workers)),
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 3_000,
        max_shrink_iters: 1_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn r51_a_dry_run_finds_what_a_full_analysis_of_the_proposal_finds(
        current in proptest::collection::vec(parsed_policy(), 0..=10),
        changes in proptest::collection::vec(
            (0usize..12, proptest::option::weighted(0.8, parsed_policy()), any::<bool>()),
            1..=3,
        ),
        asks in proptest::collection::vec(ask(), 1..=6),
        (fido2, tap) in methods_policy(),
    ) {
        let before: Vec<Policy> = current.iter().enumerate().map(|(n, p)| policy(n, p)).collect();
        // Each change replaces policy n (adds it, past the end), or deletes it; a replaced
        // one may be renamed, which moves it in the evaluation order.
        let mut after = before.clone();
        for (n, changed, renamed) in &changes {
            let id = Uuid::from_u128(0x9000 + *n as u128).to_string();
            after.retain(|p| p.id != id);
            if let Some(p) = changed {
                let mut p = policy(*n, p);
                if *renamed {
                    p.display_name = format!("A renamed {n}");
                }
                after.push(p);
            }
        }
        let people = People::of(&asks);
        let (run, now, then) = both_ways(before, after, &people, &fido2, &tap);
        prop_assert_eq!(sorted(run.now), now);
        prop_assert_eq!(sorted(run.then), then);
        prop_assert!(run.reanalysed <= people.users.len());
    }
}

/// The shortcut is taken: a change to a policy for one group re-analyses that group's
/// members only (and a change to the methods policy, everyone).
#[test]
fn r51_a_change_for_one_group_reanalyses_its_members_only() {
    let only_group = |g: u128, block: bool| {
        let users = UserAssignment {
            groups: vec![group_id(g)],
            ..UserAssignment::default()
        };
        policy(
            0,
            &ParsedPolicy {
                state: PolicyState::Enabled,
                users,
                target: Target::Resources {
                    all: true,
                    include: vec![],
                    exclude: vec![],
                    filter: None,
                },
                platforms: None,
                locations: None,
                client_apps: None,
                device_filter: None,
                grant: Grant {
                    any_of: true,
                    controls: vec![if block { Control::Block } else { Control::Mfa }],
                    strength: None,
                },
            },
        )
    };
    let asks: Vec<Ask> = (0..4u128)
        .map(|n| Ask {
            user: n,
            enabled: true,
            groups: vec![group_id(n % 2)],
            roles: vec![],
            app: None,
            platform: None,
            ip: None,
            native: false,
            device: None,
            used: vec![],
            passkeys: vec![(MODEL_A, true)],
            pass: None,
        })
        .collect();
    let people = People::of(&asks);
    let (fido2, tap) = (Fido2Configuration::default(), TapConfiguration::default());
    let (run, _, then) = both_ways(
        vec![only_group(1, false)],
        vec![only_group(1, true)],
        &people,
        &fido2,
        &tap,
    );
    assert_eq!(run.reanalysed, 2, "the two members of group 1");
    assert_eq!(sorted(run.then), then);
    assert!(!then.is_empty(), "blocking group 1 is found");
}
