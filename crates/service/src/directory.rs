//! Directory administration: users, groups, memberships, roles — each change audited.

use portcullis_domain::actor::Actor;
use portcullis_domain::audit::{kinds, AuditRecord, AuditTarget, Operation};
use portcullis_domain::directory::{validate_display_name, DirectoryRole, Group, Upn, User};
use portcullis_store::{audit, commit, directory, sessions, Conn};
use serde_json::json;
use uuid::Uuid;

use crate::{Result, Service, ServiceError};

fn user_target(u: &User) -> AuditTarget {
    AuditTarget {
        id: u.id.to_string(),
        display_name: u.user_principal_name.to_string(),
        kind: "User",
    }
}

fn group_target(g: &Group) -> AuditTarget {
    AuditTarget {
        id: g.id.to_string(),
        display_name: g.display_name.clone(),
        kind: "Group",
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Option<serde_json::Value> {
    serde_json::to_value(v).ok()
}

/// Finds a user named by object id or by userPrincipalName.
pub async fn resolve_user(c: &mut Conn, key: &str) -> Result<User> {
    let key = key.trim();
    let found = if let Ok(id) = Uuid::parse_str(key) {
        directory::user_by_id(c, id).await?
    } else {
        directory::user_by_upn(c, &Upn::parse(key)?).await?
    };
    found.ok_or_else(|| ServiceError::NotFound(format!("no user '{key}' exists in the directory")))
}

/// Finds a user whose authentication methods `actor` may manage (graph-api.md §8.4):
/// never their own through admin rights, admins only with the privileged roles.
pub async fn managed_user(c: &mut Conn, actor: &Actor, key: &str) -> Result<User> {
    let target = resolve_user(c, key).await?;
    let roles = directory::roles_of(c, target.id).await?;
    portcullis_domain::actor::may_manage_methods(actor, target.id, &roles)?;
    Ok(target)
}

/// Finds a user whose authentication methods `actor` may view (Global Readers included).
pub async fn viewable_user(c: &mut Conn, actor: &Actor, key: &str) -> Result<User> {
    let target = resolve_user(c, key).await?;
    let roles = directory::roles_of(c, target.id).await?;
    portcullis_domain::actor::may_view_methods(actor, target.id, &roles)?;
    Ok(target)
}

/// An audit record of a change to a user's security info (methods), as Entra files them.
pub fn security_info_record(
    activity: &'static str,
    operation: Operation,
    actor: &Actor,
    user: &User,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
    reason: String,
) -> AuditRecord {
    AuditRecord {
        activity,
        category: kinds::USER_MANAGEMENT,
        service: kinds::AUTH_METHODS,
        operation,
        actor: actor.clone(),
        target: user_target(user),
        before,
        after,
        reason,
    }
}

/// Finds a group named by object id or by display name.
pub async fn resolve_group(c: &mut Conn, key: &str) -> Result<Group> {
    let key = key.trim();
    let found = match Uuid::parse_str(key) {
        Ok(id) => directory::group_by_id(c, id).await?,
        Err(_) => directory::group_by_name(c, key).await?,
    };
    found.ok_or_else(|| ServiceError::NotFound(format!("no group '{key}' exists in the directory")))
}

impl Service {
    /// Adds a user.
    pub async fn add_user(&self, actor: &Actor, upn: &str, display_name: &str) -> Result<User> {
        let mut tx = self.store().begin().await?;
        let user = self.insert_user(&mut tx, actor, upn, display_name).await?;
        commit(tx).await?;
        Ok(user)
    }

    /// Adds many users at once (a bulk import): all of them, each audited, or — when one is
    /// refused (a malformed or taken userPrincipalName, a bad name) — none, and the error
    /// names the entry by its 1-based position.
    pub async fn add_users(&self, actor: &Actor, users: &[(String, String)]) -> Result<Vec<User>> {
        let mut tx = self.store().begin().await?;
        let mut added = Vec::with_capacity(users.len());
        for (i, (upn, name)) in users.iter().enumerate() {
            let u = self
                .insert_user(&mut tx, actor, upn, name)
                .await
                .map_err(|e| match e {
                    ServiceError::Conflict(m) => {
                        ServiceError::Conflict(format!("entry {}: {m}", i + 1))
                    }
                    ServiceError::Internal(m) => ServiceError::Internal(m),
                    other => ServiceError::Invalid(format!("entry {}: {other}", i + 1)),
                })?;
            added.push(u);
        }
        commit(tx).await?;
        Ok(added)
    }

    pub(crate) async fn insert_user(
        &self,
        tx: &mut portcullis_store::Tx,
        actor: &Actor,
        upn: &str,
        display_name: &str,
    ) -> Result<User> {
        let upn = Upn::parse(upn)?;
        let display_name = validate_display_name(display_name)?;
        let now = self.now();
        let user = User {
            id: Uuid::new_v4(),
            user_principal_name: upn,
            display_name,
            account_enabled: true,
            created_date_time: now,
        };
        if directory::user_by_upn(tx, &user.user_principal_name)
            .await?
            .is_some()
        {
            return Err(ServiceError::Conflict(format!(
                "a user with userPrincipalName '{}' already exists",
                user.user_principal_name
            )));
        }
        directory::insert_user(tx, &user).await?;
        audit::append(
            tx,
            &AuditRecord {
                activity: "Add user",
                category: kinds::USER_MANAGEMENT,
                service: kinds::CORE_DIRECTORY,
                operation: Operation::Add,
                actor: actor.clone(),
                target: user_target(&user),
                before: None,
                after: to_json(&user),
                reason: format!("User {} created", user.user_principal_name),
            },
            now,
        )
        .await?;
        Ok(user)
    }

    /// A user by id or userPrincipalName, with their groups and roles.
    pub async fn user_details(&self, key: &str) -> Result<(User, Vec<Group>, Vec<DirectoryRole>)> {
        let mut c = self.store().conn().await?;
        let user = resolve_user(&mut c, key).await?;
        let ids = directory::member_of(&mut c, user.id).await?;
        let groups = directory::groups_by_ids(&mut c, &ids).await?;
        let roles = directory::roles_of(&mut c, user.id).await?;
        Ok((user, groups, roles))
    }

    /// Every user, by userPrincipalName.
    pub async fn list_users(&self) -> Result<Vec<User>> {
        let mut c = self.store().conn().await?;
        let mut out = vec![];
        loop {
            let page = directory::list_users(
                &mut c,
                out.last().map(|u: &User| u.user_principal_name.as_str()),
                500,
            )
            .await?;
            let done = page.len() < 500;
            out.extend(page);
            if done {
                return Ok(out);
            }
        }
    }

    /// Disables (or re-enables) an account. Disabling also ends the user's sessions.
    pub async fn set_user_enabled(&self, actor: &Actor, key: &str, enabled: bool) -> Result<User> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let before = resolve_user(&mut tx, key).await?;
        if before.account_enabled == enabled {
            return Ok(before);
        }
        directory::set_user_enabled(&mut tx, before.id, enabled).await?;
        if !enabled {
            sessions::revoke_user(&mut tx, before.id, now).await?;
        }
        let after = User {
            account_enabled: enabled,
            ..before.clone()
        };
        audit::append(
            &mut tx,
            &AuditRecord {
                activity: if enabled {
                    "Enable account"
                } else {
                    "Disable account"
                },
                category: kinds::USER_MANAGEMENT,
                service: kinds::CORE_DIRECTORY,
                operation: Operation::Update,
                actor: actor.clone(),
                target: user_target(&after),
                before: Some(json!({"accountEnabled": before.account_enabled})),
                after: Some(json!({"accountEnabled": enabled})),
                reason: format!(
                    "Account {} {}",
                    after.user_principal_name,
                    if enabled {
                        "enabled"
                    } else {
                        "disabled; its sessions were ended"
                    }
                ),
            },
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(after)
    }

    /// Adds a group (a security group unless `security_enabled` is false).
    pub async fn add_group(
        &self,
        actor: &Actor,
        name: &str,
        security_enabled: bool,
    ) -> Result<Group> {
        let name = validate_display_name(name)?;
        let now = self.now();
        let group = Group {
            id: Uuid::new_v4(),
            display_name: name,
            security_enabled,
        };
        let mut tx = self.store().begin().await?;
        if directory::group_by_name(&mut tx, &group.display_name)
            .await?
            .is_some()
        {
            return Err(ServiceError::Conflict(format!(
                "a group named '{}' already exists",
                group.display_name
            )));
        }
        directory::insert_group(&mut tx, &group, now).await?;
        audit::append(
            &mut tx,
            &AuditRecord {
                activity: "Add group",
                category: kinds::GROUP_MANAGEMENT,
                service: kinds::CORE_DIRECTORY,
                operation: Operation::Add,
                actor: actor.clone(),
                target: group_target(&group),
                before: None,
                after: to_json(&group),
                reason: format!(
                    "{} group '{}' created",
                    if security_enabled {
                        "Security"
                    } else {
                        "Non-security"
                    },
                    group.display_name
                ),
            },
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(group)
    }

    /// Every group.
    pub async fn list_groups(&self) -> Result<Vec<Group>> {
        let mut c = self.store().conn().await?;
        Ok(directory::list_groups(&mut c).await?)
    }

    /// Members of a group named by id or name.
    pub async fn group_members(&self, group: &str) -> Result<(Group, Vec<User>)> {
        let mut c = self.store().conn().await?;
        let g = resolve_group(&mut c, group).await?;
        let m = directory::members(&mut c, g.id).await?;
        Ok((g, m))
    }

    /// A group and a page of its members, by userPrincipalName, after `after_upn`.
    pub async fn group_members_page(
        &self,
        group: &str,
        after_upn: Option<&str>,
        limit: i64,
    ) -> Result<(Group, Vec<User>)> {
        let mut c = self.store().conn().await?;
        let g = resolve_group(&mut c, group).await?;
        let m = directory::members_page(&mut c, g.id, after_upn, limit).await?;
        Ok((g, m))
    }

    /// Adds a user to a group; adding an existing member changes nothing and logs nothing.
    pub async fn add_member(&self, actor: &Actor, group: &str, user: &str) -> Result<bool> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let g = resolve_group(&mut tx, group).await?;
        let u = resolve_user(&mut tx, user).await?;
        if !directory::add_member(&mut tx, g.id, u.id).await? {
            return Ok(false);
        }
        audit::append(
            &mut tx,
            &AuditRecord {
                activity: "Add member to group",
                category: kinds::GROUP_MANAGEMENT,
                service: kinds::CORE_DIRECTORY,
                operation: Operation::Assign,
                actor: actor.clone(),
                target: group_target(&g),
                before: None,
                after: Some(json!({"memberAdded": {"id": u.id, "userPrincipalName": u.user_principal_name}})),
                reason: format!("{} added to '{}'", u.user_principal_name, g.display_name),
            },
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(true)
    }

    /// Gives a user a directory role; giving it again changes nothing.
    pub async fn assign_role(
        &self,
        actor: &Actor,
        user: &str,
        role: DirectoryRole,
    ) -> Result<bool> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let u = resolve_user(&mut tx, user).await?;
        let before = directory::roles_of(&mut tx, u.id).await?;
        if !directory::assign_role(&mut tx, u.id, role, now).await? {
            return Ok(false);
        }
        let after = directory::roles_of(&mut tx, u.id).await?;
        // A pass issued to a non-administrator may have been issued by someone who may not
        // manage an administrator's methods (an Authentication Administrator), and may be in
        // their hands: it does not survive the user becoming an administrator, nor do the
        // sessions and grants it opened.
        if role.is_privileged() && !before.iter().any(|r| r.is_privileged()) {
            if let Some(p) = portcullis_store::tap::for_user(&mut tx, u.id).await? {
                crate::sessions::revoke_pass(
                    &mut tx,
                    &p.pass,
                    "the user became an administrator",
                    now,
                )
                .await?;
                audit::append(
                    &mut tx,
                    &AuditRecord {
                        activity: "Delete temporary access pass method for user",
                        category: kinds::USER_MANAGEMENT,
                        service: kinds::AUTH_METHODS,
                        operation: Operation::Delete,
                        actor: actor.clone(),
                        target: user_target(&u),
                        before: Some(serde_json::json!({"id": p.pass.id})),
                        after: None,
                        reason: format!(
                            "{}'s Temporary Access Pass was revoked, with the sessions it opened, because they now hold {role}: a pass issued to a non-administrator may not have been issued by someone allowed to manage an administrator's methods",
                            u.user_principal_name
                        ),
                    },
                    now,
                )
                .await?;
            }
        }
        audit::append(
            &mut tx,
            &AuditRecord {
                activity: "Add member to role",
                category: kinds::ROLE_MANAGEMENT,
                service: kinds::CORE_DIRECTORY,
                operation: Operation::Assign,
                actor: actor.clone(),
                target: user_target(&u),
                before: to_json(&before),
                after: to_json(&after),
                reason: format!(
                    "{} now holds {} (template {})",
                    u.user_principal_name,
                    role,
                    role.template_id()
                ),
            },
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(true)
    }
}

impl Service {
    /// Users holding a directory role.
    pub async fn role_holders(&self, role: DirectoryRole) -> Result<Vec<User>> {
        let mut c = self.store().conn().await?;
        Ok(directory::holders_of(&mut c, role).await?)
    }

    /// A page of users matching a filter, ordered by userPrincipalName.
    pub async fn users_page(
        &self,
        f: &directory::UserFilter,
        after_upn: Option<&str>,
        limit: i64,
    ) -> Result<Vec<User>> {
        let mut c = self.store().conn().await?;
        Ok(directory::list_users_filtered(&mut c, f, after_upn, limit).await?)
    }

    /// A user by id or userPrincipalName.
    pub async fn user(&self, key: &str) -> Result<User> {
        let mut c = self.store().conn().await?;
        resolve_user(&mut c, key).await
    }

    /// Changes a user's displayName and/or accountEnabled (absent values stay); audited.
    pub async fn update_user(
        &self,
        actor: &Actor,
        key: &str,
        display_name: Option<&str>,
        enabled: Option<bool>,
    ) -> Result<User> {
        let name = display_name.map(validate_display_name).transpose()?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let before = resolve_user(&mut tx, key).await?;
        let mut after = before.clone();
        if let Some(n) = name {
            directory::set_display_name(&mut tx, before.id, &n).await?;
            after.display_name = n;
        }
        if let Some(e) = enabled {
            directory::set_user_enabled(&mut tx, before.id, e).await?;
            if !e {
                sessions::revoke_user(&mut tx, before.id, now).await?;
            }
            after.account_enabled = e;
        }
        if after == before {
            return Ok(after);
        }
        audit::append(
            &mut tx,
            &AuditRecord {
                activity: "Update user",
                category: kinds::USER_MANAGEMENT,
                service: kinds::CORE_DIRECTORY,
                operation: Operation::Update,
                actor: actor.clone(),
                target: user_target(&after),
                before: to_json(&before),
                after: to_json(&after),
                reason: format!("User {} updated", after.user_principal_name),
            },
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(after)
    }

    /// Deletes a user with everything that is theirs; audited.
    pub async fn delete_user(&self, actor: &Actor, key: &str) -> Result<()> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let u = resolve_user(&mut tx, key).await?;
        if let Actor::User { id, .. } = actor {
            if *id == u.id {
                return Err(ServiceError::Invalid(
                    "administrators cannot delete their own account".into(),
                ));
            }
        }
        directory::delete_user(&mut tx, u.id).await?;
        audit::append(
            &mut tx,
            &AuditRecord {
                activity: "Delete user",
                category: kinds::USER_MANAGEMENT,
                service: kinds::CORE_DIRECTORY,
                operation: Operation::Delete,
                actor: actor.clone(),
                target: user_target(&u),
                before: to_json(&u),
                after: None,
                reason: format!("User {} deleted", u.user_principal_name),
            },
            now,
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }

    /// A page of the audit log, newest first.
    pub async fn audit_page(
        &self,
        f: &portcullis_store::audit::AuditFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<portcullis_store::audit::AuditEntry>> {
        let mut c = self.store().conn().await?;
        Ok(portcullis_store::audit::list_page(&mut c, f, limit, offset).await?)
    }
}

impl Service {
    /// A page of the sign-in log, newest first.
    pub async fn sign_in_page(
        &self,
        f: &portcullis_store::signins::SignInFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<portcullis_store::signins::SignInEvent>> {
        let mut c = self.store().conn().await?;
        Ok(portcullis_store::signins::list_page(&mut c, f, limit, offset).await?)
    }
}

impl Service {
    /// A user's directory roles.
    pub async fn user_roles(
        &self,
        user: uuid::Uuid,
    ) -> Result<Vec<portcullis_domain::directory::DirectoryRole>> {
        let mut c = self.store().conn().await?;
        Ok(portcullis_store::directory::roles_of(&mut c, user).await?)
    }
}
