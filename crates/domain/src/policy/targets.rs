//! Include and exclude targets of a method configuration, and who they cover (R2).

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

use crate::directory::Group;

/// The special include-target id that means "every user".
pub const ALL_USERS: &str = "all_users";

/// What a target id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetId {
    /// `all_users`.
    AllUsers,
    /// A group's object id.
    Group(Uuid),
}

/// An include target (`authenticationMethodTarget` / `passkeyAuthenticationMethodTarget`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IncludeTarget {
    /// Accepted on input for SDK compatibility; never needed.
    #[serde(rename = "@odata.type", default, skip_serializing)]
    pub odata_type: Option<String>,
    /// `all_users` or a group object id.
    pub id: String,
    /// Always `group` here (R2).
    #[serde(default = "group_type")]
    pub target_type: String,
    /// Whether users in this target are nudged to register.
    #[serde(default)]
    pub is_registration_required: bool,
    /// Passkey profiles this target may use (FIDO2 only, R9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_passkey_profiles: Option<Vec<String>>,
}

/// An exclude target (`excludeTarget`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExcludeTarget {
    /// Accepted on input for SDK compatibility.
    #[serde(rename = "@odata.type", default, skip_serializing)]
    pub odata_type: Option<String>,
    /// A group object id.
    pub id: String,
    /// Always `group` here (R2).
    #[serde(default = "group_type")]
    pub target_type: String,
}

fn group_type() -> String {
    "group".into()
}

impl IncludeTarget {
    /// An include target for every user.
    pub fn all_users() -> Self {
        IncludeTarget {
            odata_type: None,
            id: ALL_USERS.into(),
            target_type: group_type(),
            is_registration_required: false,
            allowed_passkey_profiles: None,
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
    UnknownGroup(String),
    /// R2: user targets are not allowed.
    #[error("target '{0}' has targetType 'user'; only security groups can be targeted — put the user in a security group and target that")]
    UserTarget(String),
    /// An unknown targetType.
    #[error("targetType '{0}' is not supported; use 'group'")]
    BadTargetType(String),
    /// `all_users` in the exclude list.
    #[error("'all_users' cannot be excluded; set the method's state to disabled instead")]
    ExcludeAllUsers,
    /// The same id twice in one list.
    #[error("target '{0}' appears more than once")]
    Duplicate(String),
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

fn parse_target(
    id: &str,
    target_type: &str,
    groups: &(impl GroupLookup + ?Sized),
) -> Result<TargetId, TargetError> {
    match target_type {
        "group" => {}
        "user" => return Err(TargetError::UserTarget(id.to_string())),
        other => return Err(TargetError::BadTargetType(other.to_string())),
    }
    if id.eq_ignore_ascii_case(ALL_USERS) {
        return Ok(TargetId::AllUsers);
    }
    let gid = Uuid::parse_str(id).map_err(|_| TargetError::UnknownGroup(id.to_string()))?;
    let g = groups
        .group(gid)
        .ok_or_else(|| TargetError::UnknownGroup(id.to_string()))?;
    if !g.security_enabled {
        return Err(TargetError::NotSecurityGroup {
            id: g.id,
            name: g.display_name.clone(),
        });
    }
    Ok(TargetId::Group(gid))
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
        let id = parse_target(&t.id, &t.target_type, groups)?;
        if !seen.insert(id) {
            return Err(TargetError::Duplicate(t.id.clone()));
        }
    }
    let mut seen = HashSet::new();
    for t in exclude {
        match parse_target(&t.id, &t.target_type, groups)? {
            TargetId::AllUsers => return Err(TargetError::ExcludeAllUsers),
            id => {
                if !seen.insert(id) {
                    return Err(TargetError::Duplicate(t.id.clone()));
                }
            }
        }
    }
    Ok(())
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
    let in_group = |id: &str| {
        Uuid::parse_str(id)
            .map(|g| member_of.contains(&g))
            .unwrap_or(false)
    };
    if let Some(ex) = exclude.iter().find(|t| in_group(&t.id)) {
        return Scope::Excluded(Uuid::parse_str(&ex.id).unwrap_or_default());
    }
    include
        .iter()
        .find(|t| t.id.eq_ignore_ascii_case(ALL_USERS) || in_group(&t.id))
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
        IncludeTarget {
            id: id.into(),
            ..IncludeTarget::all_users()
        }
    }

    fn exc(id: &str) -> ExcludeTarget {
        ExcludeTarget {
            odata_type: None,
            id: id.into(),
            target_type: "group".into(),
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
            target_type: "user".into(),
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
