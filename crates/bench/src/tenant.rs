//! The generated Conditional Access tenant the benchmarks share (issue 6, issue 14): each
//! policy includes 8 random groups and excludes one; a third target All resources, the rest
//! one application; half exclude Android and iOS; a tenth are report-only; all ask for
//! phishing-resistant MFA, a quarter also offering a compliant device.

use portcullis_domain::application::Application;
use portcullis_domain::conditional_access::{
    Applications, Conditions, GrantControls, Platforms, Policy, PolicyState, Users,
};
use portcullis_domain::directory::{Upn, User};
use portcullis_domain::passkey::Passkey;
use rand::rngs::StdRng;
use rand::Rng;
use uuid::Uuid;

/// Groups in the tenant.
pub const GROUPS: usize = 10_000;
/// Groups per user.
pub const GROUPS_PER_USER: usize = 5;
/// Conditional Access policies.
pub const POLICIES: usize = 100;
/// Passkey models.
pub const MODELS: usize = 30;

/// `n` random ids (groups, models).
pub fn ids(rng: &mut StdRng, n: usize) -> Vec<Uuid> {
    (0..n).map(|_| Uuid::from_u128(rng.gen())).collect()
}

/// The 50 applications of the generated tenant.
pub fn apps(rng: &mut StdRng) -> Vec<Application> {
    (0..50)
        .map(|i| Application {
            app_id: Uuid::from_u128(rng.gen()).to_string(),
            display_name: format!("App {i}"),
            ..Default::default()
        })
        .collect()
}

/// Policy number `i` of the generated tenant.
pub fn policy(rng: &mut StdRng, i: usize, groups: &[Uuid], apps: &[Application]) -> Policy {
    let group = |rng: &mut StdRng| groups[rng.gen_range(0..groups.len())].to_string();
    let include_groups = (0..8).map(|_| group(rng)).collect();
    let include_applications = if i.is_multiple_of(3) {
        vec!["All".to_string()]
    } else {
        vec![apps[rng.gen_range(0..apps.len())].app_id.clone()]
    };
    Policy {
        id: format!("p{i}"),
        display_name: format!("Policy {i}"),
        description: None,
        state: if i.is_multiple_of(10) {
            PolicyState::EnabledForReportingButNotEnforced
        } else {
            PolicyState::Enabled
        },
        conditions: Conditions {
            users: Users {
                include_groups,
                exclude_groups: vec![group(rng)],
                ..Default::default()
            },
            applications: Applications {
                include_applications,
                ..Default::default()
            },
            platforms: (i.is_multiple_of(2)).then(|| Platforms {
                include_platforms: vec!["all".into()],
                exclude_platforms: vec!["android".into(), "iOS".into()],
            }),
            locations: None,
            client_app_types: vec!["all".into()],
            devices: None,
        },
        grant_controls: Some(GrantControls {
            operator: "OR".into(),
            built_in_controls: if i.is_multiple_of(4) {
                vec!["compliantDevice".into()]
            } else {
                vec![]
            },
            authentication_strength: Some(
                serde_json::json!({"id": "00000000-0000-0000-0000-000000000004"}),
            ),
            ..Default::default()
        }),
        session_controls: None,
        created_date_time: None,
        modified_date_time: None,
    }
}

/// The users of the generated tenant, with their groups and passkeys.
pub struct World {
    /// The users.
    pub users: Vec<User>,
    /// Each user's groups.
    pub groups: Vec<Vec<Uuid>>,
    /// Each user's passkeys.
    pub passkeys: Vec<Vec<Passkey>>,
}

/// `n` users in `groups` (5 each), two passkeys each of `models` (none for one in ten).
pub fn world(rng: &mut StdRng, n: usize, groups: &[Uuid], models: &[Uuid]) -> World {
    let now = time::OffsetDateTime::now_utc();
    let mut w = World {
        users: Vec::with_capacity(n),
        groups: Vec::with_capacity(n),
        passkeys: Vec::with_capacity(n),
    };
    for i in 0..n {
        let id = Uuid::from_u128(rng.gen());
        w.users.push(User {
            id,
            user_principal_name: Upn::parse(&format!("u{i}@contoso.com"))
                .unwrap_or_else(|_| unreachable!()),
            display_name: format!("U{i}"),
            account_enabled: true,
            created_date_time: now,
        });
        w.groups.push(
            (0..GROUPS_PER_USER)
                .map(|_| groups[rng.gen_range(0..GROUPS)])
                .collect(),
        );
        // One user in ten has not registered yet (a pass an administrator issues is their way in).
        let held = if i % 10 == 0 { 0 } else { 2 };
        w.passkeys.push(
            (0..held)
                .map(|k| Passkey {
                    id: Uuid::from_u128(rng.gen()),
                    user_id: id,
                    credential_id: format!("c{i}-{k}"),
                    aaguid: models[rng.gen_range(0..models.len())],
                    display_name: "key".into(),
                    fmt: "packed".into(),
                    attested: rng.gen_bool(0.5),
                    synced: rng.gen_bool(0.5),
                    created_at: now,
                    last_used_at: None,
                    sign_count: 0,
                    device: None,
                    device_profile: None,
                    flagged_clone: false,
                    disabled: false,
                })
                .collect(),
        );
    }
    w
}
