//! The generated Conditional Access tenant the benchmarks share (issue 6, issue 14): each
//! policy includes 8 random groups and excludes one; a third target All resources, the rest
//! one application; half exclude Android and iOS; a tenth are report-only; all ask for
//! phishing-resistant MFA, a quarter also offering a compliant device.

use portcullis_domain::application::Application;
use portcullis_domain::conditional_access::{
    Applications, Conditions, GrantControls, Platforms, Policy, PolicyState, Users,
};
use rand::rngs::StdRng;
use rand::Rng;
use uuid::Uuid;

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
