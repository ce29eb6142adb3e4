//! Audit records (R54): every administrative change, with actor, target, before and after.

use serde::Serialize;
use serde_json::Value;

use crate::actor::Actor;

/// Graph's `operationType` of a directory audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Operation {
    /// Something was created.
    Add,
    /// Something was changed.
    Update,
    /// Something was removed.
    Delete,
    /// A role or membership was given.
    Assign,
}

impl Operation {
    /// As Graph spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Add => "Add",
            Operation::Update => "Update",
            Operation::Delete => "Delete",
            Operation::Assign => "Assign",
        }
    }
}

/// What a change was made to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditTarget {
    /// Object id (or a configuration id such as `Fido2`).
    pub id: String,
    /// Name shown to people.
    pub display_name: String,
    /// `User`, `Group`, `Policy`, `Role` …
    pub kind: &'static str,
}

/// One audit entry, before it is stamped with an id and a time by the store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    /// Graph's `activityDisplayName`, e.g. `Add user`.
    pub activity: &'static str,
    /// Graph's `category`.
    pub category: &'static str,
    /// Graph's `loggedByService`.
    pub service: &'static str,
    /// Graph's `operationType`.
    pub operation: Operation,
    /// Who did it.
    pub actor: Actor,
    /// What it was done to.
    pub target: AuditTarget,
    /// State before (absent for a creation).
    pub before: Option<Value>,
    /// State after (absent for a deletion).
    pub after: Option<Value>,
    /// Graph's `resultReason`: a sentence for people.
    pub reason: String,
}

/// Services and categories, as Entra names them (graph-api.md §7.2).
pub mod kinds {
    /// User and group changes.
    pub const CORE_DIRECTORY: &str = "Core Directory";
    /// Authentication methods and policy changes.
    pub const AUTH_METHODS: &str = "Authentication Methods";
    /// Users.
    pub const USER_MANAGEMENT: &str = "UserManagement";
    /// Groups.
    pub const GROUP_MANAGEMENT: &str = "GroupManagement";
    /// Roles.
    pub const ROLE_MANAGEMENT: &str = "RoleManagement";
    /// Applications.
    pub const APPLICATION_MANAGEMENT: &str = "ApplicationManagement";
    /// Conditional Access.
    pub const CONDITIONAL_ACCESS: &str = "Conditional Access";
    /// Token signing keys.
    pub const KEY_MANAGEMENT: &str = "KeyManagement";
}
