//! A parsed policy written back in Graph's shape: [`super::parse`] of what [`to_graph`]
//! writes gives the same [`ParsedPolicy`], and a policy in canonical form (ids in lower case,
//! roles by template id, rules as [`super::filter::Rule::render`] writes them) is written back
//! unchanged — the engine's property test holds both.

use serde_json::json;

use super::parsed::{Control, FilterMode, LocationRef, ModeFilter, ParsedPolicy, Target};
use super::{
    Applications, Conditions, Devices, Filter, GrantControls, Locations, Platforms,
    TemporaryExclusion, Users, REGISTER_SECURITY_INFO,
};
use crate::time_fmt::rfc3339;

fn filter(f: &ModeFilter) -> Filter {
    Filter {
        mode: match f.mode {
            FilterMode::Include => "include",
            FilterMode::Exclude => "exclude",
        }
        .into(),
        rule: f.rule.render(),
    }
}

fn locations(list: &[LocationRef]) -> Vec<String> {
    list.iter()
        .map(|r| match r {
            LocationRef::All => "All".to_string(),
            LocationRef::AllTrusted => "AllTrusted".to_string(),
            LocationRef::Named(id) => id.clone(),
        })
        .collect()
}

fn ids(list: &[uuid::Uuid]) -> Vec<String> {
    list.iter().map(uuid::Uuid::to_string).collect()
}

/// The conditions and grant controls of `p`, in Graph's shape.
pub fn to_graph(p: &ParsedPolicy) -> (Conditions, GrantControls) {
    let u = &p.users;
    let include_users = u
        .all
        .then(|| "All".to_string())
        .into_iter()
        .chain(u.none.then(|| "None".to_string()))
        .chain(ids(&u.users))
        .collect();
    let roles = |r: &[crate::directory::DirectoryRole]| -> Vec<String> {
        r.iter().map(|r| r.template_id().to_string()).collect()
    };
    let users = Users {
        include_users,
        exclude_users: ids(&u.exclude_users),
        include_groups: ids(&u.groups),
        exclude_groups: ids(&u.exclude_groups),
        include_roles: roles(&u.roles),
        exclude_roles: roles(&u.exclude_roles),
        temporary_exclusions: u
            .excluded_until
            .iter()
            .map(|(user, until)| TemporaryExclusion {
                user_id: user.to_string(),
                until: rfc3339(*until),
            })
            .collect(),
    };
    let applications = match &p.target {
        Target::RegisterSecurityInfo => Applications {
            include_user_actions: vec![REGISTER_SECURITY_INFO.into()],
            ..Default::default()
        },
        Target::Resources {
            all,
            include,
            exclude,
            filter: f,
        } => Applications {
            include_applications: all
                .then(|| "All".to_string())
                .into_iter()
                .chain(include.iter().cloned())
                .collect(),
            exclude_applications: exclude.clone(),
            include_user_actions: vec![],
            application_filter: f.as_ref().map(filter),
        },
    };
    let platforms = p.platforms.as_ref().map(|pl| Platforms {
        include_platforms: pl
            .all
            .then(|| "all".to_string())
            .into_iter()
            .chain(pl.include.iter().map(|x| x.as_str().to_string()))
            .collect(),
        exclude_platforms: pl.exclude.iter().map(|x| x.as_str().to_string()).collect(),
    });
    let conditions = Conditions {
        users,
        applications,
        platforms,
        locations: p.locations.as_ref().map(|l| Locations {
            include_locations: locations(&l.include),
            exclude_locations: locations(&l.exclude),
        }),
        client_app_types: match &p.client_apps {
            None => vec!["all".into()],
            Some(types) => types.iter().map(|t| t.as_str().to_string()).collect(),
        },
        devices: p.device_filter.as_ref().map(|f| Devices {
            device_filter: Some(filter(f)),
        }),
    };
    let grant = GrantControls {
        operator: if p.grant.any_of { "OR" } else { "AND" }.into(),
        built_in_controls: p
            .grant
            .controls
            .iter()
            .filter_map(|c| Control::ALL.iter().find(|(_, k)| k == c))
            .map(|(name, _)| name.to_string())
            .collect(),
        authentication_strength: p.grant.strength.as_ref().map(|id| json!({ "id": id })),
        custom_authentication_factors: vec![],
        terms_of_use: vec![],
    };
    (conditions, grant)
}
