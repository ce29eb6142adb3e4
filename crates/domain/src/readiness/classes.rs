//! Users whose decision inputs are equal are decided once (R50): the key holds what the
//! engine reads of a user and nothing else, so the cost of an analysis grows with the variety
//! of users, not their number.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use uuid::Uuid;

use super::facts::usable_profiles;
use super::{analyse_user, Persona, Subject, Tenant, UserFinding};
use crate::access::usable_methods;
use crate::conditional_access::platform::Platform;
use crate::device::{Device, DeviceProperty, Ownership};
use crate::directory::DirectoryRole;
use crate::passkey::{sign_in_usability, AndroidProfile, Passkey, PasskeyRefusal};
use crate::policy::TargetId;

/// What the configuration can tell users apart by.
struct Relevance {
    /// Users a policy names (included, excluded, or excluded for a time).
    users: HashSet<Uuid>,
    /// Groups a policy or a method's targets name.
    groups: HashSet<Uuid>,
    /// Whether some policy filters devices by their properties.
    device_filters: bool,
    /// Authenticator models a strength, key restrictions or a profile names.
    models: HashSet<Uuid>,
}

impl Relevance {
    fn of(t: &Tenant<'_>) -> Relevance {
        let mut r = Relevance {
            users: HashSet::new(),
            groups: HashSet::new(),
            device_filters: false,
            models: HashSet::new(),
        };
        r.models.extend(
            t.config
                .strengths
                .iter()
                .flat_map(|s| s.fido2_allowed_aaguids.iter().flatten()),
        );
        r.models.extend(&t.methods.fido2.key_restrictions.aa_guids);
        r.models.extend(
            t.methods
                .fido2
                .passkey_profiles
                .iter()
                .flat_map(|p| &p.key_restrictions.aa_guids),
        );
        for p in t.config.policies.parsed().iter().flatten() {
            let u = &p.users;
            r.users.extend(u.users.iter().chain(&u.exclude_users));
            r.users.extend(u.excluded_until.iter().map(|(id, _)| *id));
            r.groups.extend(u.groups.iter().chain(&u.exclude_groups));
            r.device_filters |= p.device_filter.is_some();
        }
        let fido2 = t.methods.fido2;
        let tap = t.methods.tap;
        let ids = fido2
            .include_targets
            .iter()
            .chain(&tap.include_targets)
            .map(|x| x.id)
            .chain(
                fido2
                    .exclude_targets
                    .iter()
                    .chain(&tap.exclude_targets)
                    .map(|x| x.id),
            );
        r.groups.extend(ids.filter_map(|id| match id {
            TargetId::Group(g) => Some(g),
            TargetId::AllUsers => None,
        }));
        r
    }

    fn key(&self, t: &Tenant<'_>, s: &Subject<'_>) -> Key {
        let mut groups: Vec<Uuid> = s
            .groups
            .iter()
            .filter(|g| self.groups.contains(g))
            .copied()
            .collect();
        groups.sort_unstable();
        let mut roles = s.roles.to_vec();
        roles.sort_unstable();
        // What the engine reads of the methods: those the user may use now, as strengths see
        // them (a model only where something names it), and whether key restrictions stop one.
        let seen = |passkeys: &[Passkey]| -> Vec<Held> {
            let mut held: Vec<Held> = usable_methods(t.methods, s.groups, passkeys, s.pass, t.now)
                .iter()
                .map(|m| match m.aaguid.filter(|a| self.models.contains(a)) {
                    Some(a) => (m.is_pass(), Some(a), m.aaguid_attested),
                    None => (m.is_pass(), None, false),
                })
                .collect();
            held.sort_unstable();
            held.dedup();
            held
        };
        let held = seen(s.passkeys);
        let mut restricted: Vec<Uuid> = s
            .passkeys
            .iter()
            .filter_map(|p| match sign_in_usability(t.methods.fido2, s.groups, p) {
                Err(PasskeyRefusal::KeyRestricted { aaguid, .. }) => Some(aaguid),
                _ => None,
            })
            .collect();
        restricted.sort_unstable();
        restricted.dedup();
        // R20: what each Android persona holds (only its profile's passkeys), and the
        // profiles the usable ones were made in.
        let android: Vec<Vec<Held>> = if s.passkeys.iter().any(|p| p.android_profile().is_some()) {
            [Persona::AndroidPersonal, Persona::AndroidWork]
                .iter()
                .map(|persona| {
                    let mine: Vec<Passkey> = s
                        .passkeys
                        .iter()
                        .filter(|p| persona.can_use(p))
                        .cloned()
                        .collect();
                    seen(&mine)
                })
                .collect()
        } else {
            vec![]
        };
        let profiles: Vec<AndroidProfile> = usable_profiles(t, s).into_iter().collect();
        let mut devices: Vec<DeviceKey> = s.devices.iter().map(|d| self.device(d)).collect();
        devices.sort_unstable();
        Key {
            named: self.users.contains(&s.user.id).then_some(s.user.id),
            enabled: s.user.account_enabled,
            groups,
            roles,
            held,
            restricted,
            android,
            profiles,
            devices,
        }
    }

    fn device(&self, d: &Device) -> DeviceKey {
        let facts = if self.device_filters {
            d.facts().values.into_iter().collect()
        } else {
            vec![]
        };
        DeviceKey {
            platform: d.platform,
            compliant: d.is_compliant,
            ownership: d.properties.device_ownership,
            authenticator_passkeys: d.runs_authenticator_passkeys(),
            facts,
        }
    }
}

/// What the analysis reads of a device.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct DeviceKey {
    platform: Platform,
    compliant: bool,
    ownership: Option<Ownership>,
    authenticator_passkeys: Option<bool>,
    facts: Vec<(DeviceProperty, String)>,
}

/// A method as strengths see it: (a pass?, the model if something names it, attested?).
type Held = (bool, Option<Uuid>, bool);

/// What the engine reads of one user.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    named: Option<Uuid>,
    enabled: bool,
    groups: Vec<Uuid>,
    roles: Vec<DirectoryRole>,
    held: Vec<Held>,
    restricted: Vec<Uuid>,
    android: Vec<Vec<Held>>,
    profiles: Vec<AndroidProfile>,
    devices: Vec<DeviceKey>,
}

/// Analyses every subject: each class of equal users once — the classes shared out among
/// `workers` threads — its findings given to each of its users.
pub fn analyse(
    t: &Tenant<'_>,
    subjects: &[Subject<'_>],
    workers: NonZeroUsize,
) -> Vec<UserFinding> {
    let relevance = Relevance::of(t);
    // Each subject's class, and the first subject of each class.
    let mut classes: HashMap<Key, usize> = HashMap::new();
    let mut first: Vec<usize> = vec![];
    let class_of: Vec<usize> = subjects
        .iter()
        .enumerate()
        .map(|(i, s)| {
            *classes.entry(relevance.key(t, s)).or_insert_with(|| {
                first.push(i);
                first.len().saturating_sub(1)
            })
        })
        .collect();
    drop(classes);
    let n = workers.get().clamp(1, first.len().max(1));
    let mut decided: Vec<Vec<UserFinding>> = vec![vec![]; first.len()];
    std::thread::scope(|scope| {
        let first = &first;
        let handles: Vec<_> = (0..n)
            .map(|w| {
                scope.spawn(move || {
                    // Interleaved, so costly classes spread over the workers.
                    first
                        .iter()
                        .enumerate()
                        .skip(w)
                        .step_by(n)
                        .filter_map(|(c, i)| subjects.get(*i).map(|s| (c, analyse_user(t, s))))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            let done = h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            for (c, found) in done {
                if let Some(slot) = decided.get_mut(c) {
                    *slot = found;
                }
            }
        }
    });
    let mut out = vec![];
    for (s, c) in subjects.iter().zip(class_of) {
        if let Some(found) = decided.get(c) {
            out.extend(found.iter().map(|f| UserFinding {
                user: s.user.id,
                ..f.clone()
            }));
        }
    }
    out.sort();
    out
}

/// How many classes `subjects` fall into (for the benchmark and tests).
pub fn classes(t: &Tenant<'_>, subjects: &[Subject<'_>]) -> usize {
    let relevance = Relevance::of(t);
    let keys: HashSet<Key> = subjects.iter().map(|s| relevance.key(t, s)).collect();
    keys.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::MethodsPolicy;
    use crate::application::Application;
    use crate::conditional_access::evaluate::Config;
    use crate::conditional_access::set::PolicySet;
    use crate::conditional_access::Policy;
    use crate::directory::{Upn, User, SECURITY_INFO_APP};
    use crate::policy::{Fido2Configuration, MethodState, TapConfiguration};
    use crate::readiness::FindingCode;
    use crate::strength::BUILT_IN;
    use serde_json::json;
    use time::macros::datetime;

    fn user(n: u128) -> User {
        User {
            id: Uuid::from_u128(n),
            user_principal_name: Upn::parse(&format!("u{n}@contoso.com")).unwrap(),
            display_name: format!("U{n}"),
            account_enabled: true,
            created_date_time: datetime!(2026-11-01 0:00 UTC),
        }
    }

    /// Equal facts, one analysis; a user a policy names, or a group it names, is told apart;
    /// a group nothing names is not.
    #[test]
    fn users_with_equal_inputs_are_decided_once_and_named_ones_apart() {
        let (named, pilots, book_club) = (
            Uuid::from_u128(3),
            Uuid::from_u128(0x100),
            Uuid::from_u128(0x200),
        );
        let block: Policy = serde_json::from_value(json!({
            "id": "p", "displayName": "Compliant devices for payroll", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"], "excludeUsers": [named]},
                "applications": {"includeApplications": ["payroll"]}},
            "grantControls": {"operator": "OR", "builtInControls": ["compliantDevice"]}
        }))
        .unwrap();
        let set = PolicySet::new(vec![block]);
        let strengths: Vec<_> = BUILT_IN.iter().map(|b| b.to_strength()).collect();
        let fido2 = Fido2Configuration {
            state: MethodState::Enabled,
            ..Default::default()
        };
        let tap = TapConfiguration {
            state: MethodState::Enabled,
            exclude_targets: vec![crate::policy::ExcludeTarget::group(pilots)],
            ..Default::default()
        };
        let apps = [Application {
            app_id: "payroll".into(),
            ..Default::default()
        }];
        let portal = Application {
            app_id: SECURITY_INFO_APP.app_id.into(),
            ..Default::default()
        };
        let authenticator = Application {
            app_id: crate::directory::AUTHENTICATOR_APP.app_id.into(),
            ..Default::default()
        };
        let t = Tenant {
            config: Config {
                policies: &set,
                strengths: &strengths,
                locations: &[],
            },
            methods: MethodsPolicy {
                fido2: &fido2,
                tap: &tap,
            },
            applications: &apps,
            portal: &portal,
            authenticator: &authenticator,
            networks: &[None],
            trust: &crate::readiness::AttestationTrust {
                app_attestation: true,
                ..Default::default()
            },
            now: datetime!(2026-11-29 12:00 UTC),
        };
        let users: Vec<User> = (1..=4).map(user).collect();
        let groups = [vec![], vec![book_club], vec![], vec![pilots]];
        let subjects: Vec<Subject<'_>> = users
            .iter()
            .zip(&groups)
            .map(|(u, g)| Subject {
                user: u,
                groups: g,
                roles: &[],
                passkeys: &[],
                pass: None,
                devices: &[],
            })
            .collect();
        // Users 1 and 2 differ only by a group nothing names; 3 is named; 4 is a pilot, whom
        // the TAP settings exclude.
        assert_eq!(classes(&t, &subjects), 3);
        let found = analyse(&t, &subjects, NonZeroUsize::MIN.saturating_add(1));
        let mut one_by_one: Vec<UserFinding> =
            subjects.iter().flat_map(|s| analyse_user(&t, s)).collect();
        one_by_one.sort();
        assert_eq!(found, one_by_one, "classes answer as the users one by one");
        let codes = |n: u128| -> HashSet<FindingCode> {
            found
                .iter()
                .filter(|f| f.user == Uuid::from_u128(n))
                .map(|f| f.code)
                .collect()
        };
        assert_eq!(
            codes(1),
            HashSet::from([FindingCode::CompliantDeviceUnreachable])
        );
        assert_eq!(codes(2), codes(1));
        assert!(codes(3).is_empty(), "excluded by name");
        assert_eq!(codes(4), HashSet::from([FindingCode::TapUnavailable]));
    }

    /// R20: two users with the same passkeys overall, whose work profiles hold different
    /// things (one has a security key beside a personal-profile passkey, the other only the
    /// passkey), are two classes — and the classes answer as the users one by one.
    #[test]
    fn what_each_android_profile_holds_tells_users_apart() {
        use crate::conditional_access::platform::Platform;
        use crate::device::{DeviceProperties, Ownership};
        let now = datetime!(2026-11-29 12:00 UTC);
        let key = |user: u128, n: u128, profile: Option<&str>| Passkey {
            id: Uuid::from_u128(n),
            user_id: Uuid::from_u128(user),
            credential_id: format!("c{n}"),
            aaguid: Uuid::from_u128(0xA0),
            display_name: "key".into(),
            fmt: "packed".into(),
            attested: false,
            synced: false,
            created_at: now,
            last_used_at: None,
            sign_count: 0,
            device: None,
            device_profile: profile.map(str::to_string),
            flagged_clone: false,
            disabled: false,
        };
        let phone = |owner: u128| Device {
            id: Uuid::from_u128(owner + 0x1000),
            owner: Uuid::from_u128(owner),
            display_name: "Pixel".into(),
            platform: Platform::Android,
            is_compliant: false,
            public_key: String::new(),
            created_at: now,
            properties: DeviceProperties {
                device_ownership: Some(Ownership::Personal),
                ..Default::default()
            },
        };
        let fido2 = Fido2Configuration {
            state: MethodState::Enabled,
            is_attestation_enforced: false,
            ..Default::default()
        };
        let tap = TapConfiguration {
            state: MethodState::Disabled,
            ..Default::default()
        };
        let set = PolicySet::new(vec![]);
        let strengths: Vec<_> = BUILT_IN.iter().map(|b| b.to_strength()).collect();
        let apps = [Application {
            app_id: "payroll".into(),
            ..Default::default()
        }];
        let portal = Application {
            app_id: SECURITY_INFO_APP.app_id.into(),
            ..Default::default()
        };
        let authenticator = Application {
            app_id: crate::directory::AUTHENTICATOR_APP.app_id.into(),
            ..Default::default()
        };
        let trust = crate::readiness::AttestationTrust::default();
        let t = Tenant {
            config: Config {
                policies: &set,
                strengths: &strengths,
                locations: &[],
            },
            methods: MethodsPolicy {
                fido2: &fido2,
                tap: &tap,
            },
            applications: &apps,
            portal: &portal,
            authenticator: &authenticator,
            networks: &[None],
            trust: &trust,
            now,
        };
        let users: Vec<User> = (1..=2).map(user).collect();
        let passkeys = [
            vec![key(1, 11, Some("personal")), key(1, 12, None)],
            vec![key(2, 21, Some("personal"))],
        ];
        let devices = [vec![phone(1)], vec![phone(2)]];
        let subjects: Vec<Subject<'_>> = users
            .iter()
            .zip(&passkeys)
            .zip(&devices)
            .map(|((u, p), d)| Subject {
                user: u,
                groups: &[],
                roles: &[],
                passkeys: p,
                pass: None,
                devices: d,
            })
            .collect();
        assert_eq!(classes(&t, &subjects), 2);
        let found = analyse(&t, &subjects, NonZeroUsize::MIN);
        let mut one_by_one: Vec<UserFinding> =
            subjects.iter().flat_map(|s| analyse_user(&t, s)).collect();
        one_by_one.sort();
        assert_eq!(found, one_by_one);
        assert!(found
            .iter()
            .all(|f| f.code == FindingCode::AndroidSingleProfile));
        assert_eq!(
            found.len(),
            2,
            "both are told about the work profile: {found:?}"
        );
    }
}
