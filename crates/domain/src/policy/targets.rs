//! Include and exclude targets of a method configuration, and who they cover (R2).

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

use crate::directory::Group;

/// The special include-target id that means "every user".
pub const ALL_USERS: &str = "all_users";

/// What a target id names: `all_users` or a group's object id. Parsed once, from the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetId {
    /// `all_users`.
    AllUsers,
    /// A group's object id.
    Group(Uuid),
}

impl TargetId {
    /// Whether a member of `member_of` is covered by this target.
    pub fn covers(self, member_of: &[Uuid]) -> bool {
        match self {
            TargetId::AllUsers => true,
            TargetId::Group(g) => member_of.contains(&g),
        }
    }
}

impl std::fmt::Display for TargetId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetId::AllUsers => f.write_str(ALL_USERS),
            TargetId::Group(g) => write!(f, "{g}"),
        }
    }
}

/// A target id that is neither `all_users` nor a GUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is neither 'all_users' nor a group's object id (a GUID)")]
pub struct BadTargetId(pub String);

impl std::str::FromStr for TargetId {
    type Err = BadTargetId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case(ALL_USERS) {
            return Ok(TargetId::AllUsers);
        }
        Uuid::parse_str(s)
            .map(TargetId::Group)
            .map_err(|_| BadTargetId(s.to_string()))
    }
}

crate::serde_as_text!(TargetId);

/// A target's `targetType`. Only `group` is accepted (R2); `user` parses so that the refusal
/// can say what to do instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum TargetType {
    /// A security group (or `all_users`).
    #[default]
    Group,
    /// A single user: refused (R2).
    User,
}

/// An include target (`authenticationMethodTarget` / `passkeyAuthenticationMethodTarget`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IncludeTarget {
    /// Accepted on input for SDK compatibility; never needed.
    #[serde(rename = "@odata.type", default, skip_serializing)]
    pub odata_type: Option<String>,
    /// `all_users` or a group object id.
    pub id: TargetId,
    /// Always `group` here (R2).
    #[serde(default)]
    pub target_type: TargetType,
    /// Whether users in this target are nudged to register.
    #[serde(default)]
    pub is_registration_required: bool,
    /// Passkey profiles this target may use (FIDO2 only, R9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_passkey_profiles: Option<Vec<Uuid>>,
    /// How the Authenticator may be used (Microsoft Authenticator only): `any`, `push` or
    /// `deviceBasedPush`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication_mode: Option<AuthenticationMode>,
}

/// `microsoftAuthenticatorAuthenticationMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AuthenticationMode {
    /// Push approvals and passwordless phone sign-in.
    Any,
    /// Push approvals only.
    Push,
    /// Passwordless phone sign-in only.
    DeviceBasedPush,
}

/// An exclude target (`excludeTarget`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExcludeTarget {
    /// Accepted on input for SDK compatibility.
    #[serde(rename = "@odata.type", default, skip_serializing)]
    pub odata_type: Option<String>,
    /// A group object id (`all_users` parses, and is refused by [`validate`]).
    pub id: TargetId,
    /// Always `group` here (R2).
    #[serde(default)]
    pub target_type: TargetType,
}

impl IncludeTarget {
    /// An include target for every user.
    pub fn all_users() -> Self {
        IncludeTarget::of(TargetId::AllUsers)
    }

    /// An include target for this id, with Graph's defaults.
    pub fn of(id: TargetId) -> Self {
        IncludeTarget {
            odata_type: None,
            id,
            target_type: TargetType::Group,
            is_registration_required: false,
            allowed_passkey_profiles: None,
            authentication_mode: None,
        }
    }
}

impl ExcludeTarget {
    /// An exclude target for this group.
    pub fn group(id: Uuid) -> Self {
        ExcludeTarget {
            odata_type: None,
            id: TargetId::Group(id),
            target_type: TargetType::Group,
        }
    }
}

/// Why a target was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// R2: a group that is not a security group.
    #[error("group '{name}' ({id}) is not a security group; only security groups can be included in or excluded from an authentication method policy")]
    NotSecurityGroup {
        /// Group id.
        id: Uuid,
        /// Group display name.
        name: String,
    },
    /// The id names no group in the directory.
    #[error("no group with id '{0}' exists in the directory")]
    UnknownGroup(Uuid),
    /// R2: user targets are not allowed.
    #[error("target '{0}' has targetType 'user'; only security groups can be targeted — put the user in a security group and target that")]
    UserTarget(TargetId),
    /// `all_users` in the exclude list.
    #[error("'all_users' cannot be excluded; set the method's state to disabled instead")]
    ExcludeAllUsers,
    /// The same id twice in one list.
    #[error("target '{0}' appears more than once")]
    Duplicate(TargetId),
}

/// Finds groups by id; the shell passes what it loaded from the store.
pub trait GroupLookup {
    /// The group with this id, if any.
    fn group(&self, id: Uuid) -> Option<&Group>;
}

impl GroupLookup for HashMap<Uuid, Group> {
    fn group(&self, id: Uuid) -> Option<&Group> {
        self.get(&id)
    }
}

impl GroupLookup for [Group] {
    fn group(&self, id: Uuid) -> Option<&Group> {
        self.iter().find(|g| g.id == id)
    }
}

fn check_target(
    id: TargetId,
    target_type: TargetType,
    groups: &(impl GroupLookup + ?Sized),
) -> Result<(), TargetError> {
    if target_type == TargetType::User {
        return Err(TargetError::UserTarget(id));
    }
    let TargetId::Group(gid) = id else {
        return Ok(());
    };
    let g = groups.group(gid).ok_or(TargetError::UnknownGroup(gid))?;
    if !g.security_enabled {
        return Err(TargetError::NotSecurityGroup {
            id: g.id,
            name: g.display_name.clone(),
        });
    }
    Ok(())
}

/// R2: checks every include and exclude target against the directory. Either all
/// are valid or the first problem is returned (the save is all or nothing, R8).
pub fn validate(
    include: &[IncludeTarget],
    exclude: &[ExcludeTarget],
    groups: &(impl GroupLookup + ?Sized),
) -> Result<(), TargetError> {
    let mut seen = HashSet::new();
    for t in include {
        check_target(t.id, t.target_type, groups)?;
        if !seen.insert(t.id) {
            return Err(TargetError::Duplicate(t.id));
        }
    }
    let mut seen = HashSet::new();
    for t in exclude {
        if t.id == TargetId::AllUsers {
            return Err(TargetError::ExcludeAllUsers);
        }
        check_target(t.id, t.target_type, groups)?;
        if !seen.insert(t.id) {
            return Err(TargetError::Duplicate(t.id));
        }
    }
    Ok(())
}

/// Why a user is not covered by a method's targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeMiss {
    /// In a group the method excludes (exclusion wins).
    Excluded,
    /// In no group the method includes.
    NotIncluded,
}

/// Whether a user is covered by a method's targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Included through this target and not excluded.
    Included(IncludeTarget),
    /// Excluded through this group (exclusion always wins).
    Excluded(Uuid),
    /// In no include target.
    NotIncluded,
}

/// Decides whether a member of `member_of` is covered by the targets. Exclusion wins.
pub fn scope(include: &[IncludeTarget], exclude: &[ExcludeTarget], member_of: &[Uuid]) -> Scope {
    let excluded = exclude.iter().find_map(|t| match t.id {
        TargetId::Group(g) if member_of.contains(&g) => Some(g),
        _ => None,
    });
    if let Some(g) = excluded {
        return Scope::Excluded(g);
    }
    include
        .iter()
        .find(|t| t.id.covers(member_of))
        .map(|t| Scope::Included(t.clone()))
        .unwrap_or(Scope::NotIncluded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups() -> (Group, Group) {
        let sec = Group {
            id: Uuid::new_v4(),
            display_name: "Passkey pilots".into(),
            security_enabled: true,
        };
        let m365 = Group {
            id: Uuid::new_v4(),
            display_name: "Marketing".into(),
            security_enabled: false,
        };
        (sec, m365)
    }

    fn inc(id: &str) -> IncludeTarget {
        IncludeTarget::of(id.parse().unwrap())
    }

    fn exc(id: &str) -> ExcludeTarget {
        ExcludeTarget {
            odata_type: None,
            id: id.parse().unwrap(),
            target_type: TargetType::Group,
        }
    }

    #[test]
    fn r2_only_security_groups_are_targets() {
        let (sec, m365) = groups();
        let dir = vec![sec.clone(), m365.clone()];
        assert_eq!(
            validate(&[inc(&sec.id.to_string())], &[], dir.as_slice()),
            Ok(())
        );
        assert!(matches!(
            validate(&[inc(&m365.id.to_string())], &[], dir.as_slice()),
            Err(TargetError::NotSecurityGroup { .. })
        ));
        assert!(matches!(
            validate(&[], &[exc(&m365.id.to_string())], dir.as_slice()),
            Err(TargetError::NotSecurityGroup { .. })
        ));
        let user_target = IncludeTarget {
            target_type: TargetType::User,
            ..inc(&Uuid::new_v4().to_string())
        };
        assert!(matches!(
            validate(&[user_target], &[], dir.as_slice()),
            Err(TargetError::UserTarget(_))
        ));
        assert!(matches!(
            validate(&[inc(&Uuid::new_v4().to_string())], &[], dir.as_slice()),
            Err(TargetError::UnknownGroup(_))
        ));
        assert_eq!(
            validate(&[], &[exc(ALL_USERS)], dir.as_slice()),
            Err(TargetError::ExcludeAllUsers)
        );
        let s = sec.id.to_string();
        assert!(matches!(
            validate(&[inc(&s), inc(&s)], &[], dir.as_slice()),
            Err(TargetError::Duplicate(_))
        ));
    }

    #[test]
    fn target_ids_and_types_are_parsed_on_the_way_in() {
        let t: IncludeTarget =
            serde_json::from_value(serde_json::json!({"id": "ALL_USERS"})).unwrap();
        assert_eq!(
            (t.id, t.target_type),
            (TargetId::AllUsers, TargetType::Group)
        );
        let bad = serde_json::from_value::<IncludeTarget>(serde_json::json!({"id": "pilots"}));
        assert!(bad.unwrap_err().to_string().contains("'pilots' is neither"));
        let bad = serde_json::from_value::<ExcludeTarget>(
            serde_json::json!({"id": Uuid::nil(), "targetType": "device"}),
        );
        assert!(bad.is_err(), "an unknown targetType does not parse");
        let g = Uuid::new_v4();
        let round = serde_json::to_value(ExcludeTarget::group(g)).unwrap();
        assert_eq!(round, serde_json::json!({"id": g, "targetType": "group"}));
    }

    #[test]
    fn exclusion_beats_inclusion() {
        let (sec, _) = groups();
        let member = [sec.id];
        assert!(matches!(
            scope(&[IncludeTarget::all_users()], &[], &member),
            Scope::Included(_)
        ));
        assert_eq!(
            scope(
                &[IncludeTarget::all_users()],
                &[exc(&sec.id.to_string())],
                &member
            ),
            Scope::Excluded(sec.id)
        );
        assert_eq!(
            scope(&[inc(&Uuid::new_v4().to_string())], &[], &member),
            Scope::NotIncluded
        );
        assert!(matches!(
            scope(&[inc(&sec.id.to_string())], &[], &member),
            Scope::Included(_)
        ));
    }
}
