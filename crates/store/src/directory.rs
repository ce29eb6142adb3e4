//! Users, groups, memberships and role assignments.

use portcullis_domain::directory::{DirectoryRole, Group, Upn, User};
use portcullis_domain::Timestamp;
use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

use crate::bulk::{Cells, Param, Reader};

use crate::row::{flag, ms, ts, uuid};
use crate::write::Write;
use crate::{Conn, Result, StoreError};

pub(crate) fn user_from<R: Cells + ?Sized>(r: &R) -> Result<User> {
    let upn = r.text("upn")?;
    Ok(User {
        id: uuid(r, "id")?,
        user_principal_name: Upn::parse(&upn).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        display_name: r.text("display_name")?,
        account_enabled: flag(r, "account_enabled")?,
        created_date_time: ts(r, "created_at")?,
    })
}

fn group_from(r: &AnyRow) -> Result<Group> {
    Ok(Group {
        id: uuid(r, "id")?,
        display_name: r.try_get("display_name")?,
        security_enabled: flag(r, "security_enabled")?,
    })
}

/// Inserts a user.
pub async fn insert_user(c: &mut Conn, u: &User) -> Result<()> {
    sqlx::query("INSERT INTO users (id, upn, display_name, account_enabled, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(u.id.to_string())
        .bind(u.user_principal_name.as_str())
        .bind(&u.display_name)
        .bind(i64::from(u.account_enabled))
        .bind(ms(u.created_date_time))
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Sets whether an account is enabled.
pub async fn set_user_enabled(c: &mut Conn, id: Uuid, enabled: bool) -> Result<()> {
    sqlx::query("UPDATE users SET account_enabled = $1 WHERE id = $2")
        .bind(i64::from(enabled))
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// A user by object id.
pub async fn user_by_id(c: &mut Conn, id: Uuid) -> Result<Option<User>> {
    let r = sqlx::query("SELECT * FROM users WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *c)
        .await?;
    r.as_ref().map(user_from).transpose()
}

/// A user by userPrincipalName.
pub async fn user_by_upn(c: &mut Conn, upn: &Upn) -> Result<Option<User>> {
    let r = sqlx::query("SELECT * FROM users WHERE upn = $1")
        .bind(upn.as_str())
        .fetch_optional(&mut *c)
        .await?;
    r.as_ref().map(user_from).transpose()
}

/// Users ordered by userPrincipalName, `limit` from after `after_upn`.
pub async fn list_users(c: &mut Conn, after_upn: Option<&str>, limit: i64) -> Result<Vec<User>> {
    let rows = sqlx::query("SELECT * FROM users WHERE upn > $1 ORDER BY upn LIMIT $2")
        .bind(after_upn.unwrap_or(""))
        .bind(limit)
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(user_from).collect()
}

/// A filter on the user list (Graph `$filter` on userPrincipalName and displayName).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// userPrincipalName equals (lower-case).
    pub upn_eq: Option<String>,
    /// userPrincipalName starts with (lower-case).
    pub upn_prefix: Option<String>,
    /// displayName equals (case-insensitive).
    pub name_eq: Option<String>,
    /// displayName starts with (case-insensitive).
    pub name_prefix: Option<String>,
    /// displayName or userPrincipalName starts with (case-insensitive): the admin center's
    /// search, in one ordered query so that paging by userPrincipalName holds.
    pub any_prefix: Option<String>,
}

/// A page of users matching `f`, by userPrincipalName, after `after_upn`.
pub async fn list_users_filtered(
    c: &mut Conn,
    f: &UserFilter,
    after_upn: Option<&str>,
    limit: i64,
) -> Result<Vec<User>> {
    let rows = sqlx::query(
        "SELECT * FROM users WHERE upn > $1
           AND ($2 = '' OR upn = $2)
           AND ($3 = '' OR substr(upn, 1, length($3)) = $3)
           AND ($4 = '' OR lower(display_name) = $4)
           AND ($5 = '' OR substr(lower(display_name), 1, length($5)) = $5)
           AND ($7 = '' OR substr(upn, 1, length($7)) = $7 OR substr(lower(display_name), 1, length($7)) = $7)
         ORDER BY upn LIMIT $6",
    )
    .bind(after_upn.unwrap_or(""))
    .bind(f.upn_eq.clone().unwrap_or_default().to_lowercase())
    .bind(f.upn_prefix.clone().unwrap_or_default().to_lowercase())
    .bind(f.name_eq.clone().unwrap_or_default().to_lowercase())
    .bind(f.name_prefix.clone().unwrap_or_default().to_lowercase())
    .bind(limit)
    .bind(f.any_prefix.clone().unwrap_or_default().to_lowercase())
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(user_from).collect()
}

/// Renames a user.
pub async fn set_display_name(c: &mut Conn, id: Uuid, name: &str) -> Result<()> {
    sqlx::query("UPDATE users SET display_name = $1 WHERE id = $2")
        .bind(name)
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Deletes a user (memberships, roles, passes, passkeys and sessions go with them).
pub async fn delete_user(c: &mut Conn, id: Uuid) -> Result<bool> {
    Ok(sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *c)
        .await?
        .rows_affected()
        == 1)
}

/// Number of users.
pub async fn count_users(c: &mut Conn) -> Result<i64> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM users")
        .fetch_one(&mut *c)
        .await?
        .try_get("n")?)
}

/// Inserts a group.
pub async fn insert_group(c: &mut Conn, g: &Group, now: Timestamp) -> Result<()> {
    sqlx::query("INSERT INTO directory_groups (id, display_name, security_enabled, created_at) VALUES ($1, $2, $3, $4)")
        .bind(g.id.to_string())
        .bind(&g.display_name)
        .bind(i64::from(g.security_enabled))
        .bind(ms(now))
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// A group by id.
pub async fn group_by_id(c: &mut Conn, id: Uuid) -> Result<Option<Group>> {
    let r = sqlx::query("SELECT * FROM directory_groups WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *c)
        .await?;
    r.as_ref().map(group_from).transpose()
}

/// A group by display name (names are unique here, case-sensitive).
pub async fn group_by_name(c: &mut Conn, name: &str) -> Result<Option<Group>> {
    let r = sqlx::query("SELECT * FROM directory_groups WHERE display_name = $1")
        .bind(name)
        .fetch_optional(&mut *c)
        .await?;
    r.as_ref().map(group_from).transpose()
}

/// Every group, by name.
pub async fn list_groups(c: &mut Conn) -> Result<Vec<Group>> {
    let rows = sqlx::query("SELECT * FROM directory_groups ORDER BY display_name")
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(group_from).collect()
}

/// The groups with these ids that exist (for validating policy targets).
pub async fn groups_by_ids(c: &mut Conn, ids: &[Uuid]) -> Result<Vec<Group>> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(g) = group_by_id(c, *id).await? {
            out.push(g);
        }
    }
    Ok(out)
}

/// Adds a member; returns false when they were already one.
pub async fn add_member(c: &mut Conn, group: Uuid, user: Uuid) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(group.to_string())
    .bind(user.to_string())
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Members of a group, by userPrincipalName.
pub async fn members(c: &mut Conn, group: Uuid) -> Result<Vec<User>> {
    let rows = sqlx::query("SELECT u.* FROM users u JOIN group_members m ON m.user_id = u.id WHERE m.group_id = $1 ORDER BY u.upn")
        .bind(group.to_string())
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(user_from).collect()
}

/// A page of a group's members, by userPrincipalName, after `after_upn`.
pub async fn members_page(
    c: &mut Conn,
    group: Uuid,
    after_upn: Option<&str>,
    limit: i64,
) -> Result<Vec<User>> {
    let rows = sqlx::query("SELECT u.* FROM users u JOIN group_members m ON m.user_id = u.id WHERE m.group_id = $1 AND u.upn > $2 ORDER BY u.upn LIMIT $3")
        .bind(group.to_string())
        .bind(after_upn.unwrap_or(""))
        .bind(limit)
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(user_from).collect()
}

/// Ids of the groups a user belongs to.
pub async fn member_of(c: &mut Conn, user: Uuid) -> Result<Vec<Uuid>> {
    let rows = sqlx::query("SELECT group_id FROM group_members WHERE user_id = $1")
        .bind(user.to_string())
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(|r| uuid(r, "group_id")).collect()
}

/// Assigns a role; returns false when the user already held it.
pub async fn assign_role(
    c: &mut Conn,
    user: Uuid,
    role: DirectoryRole,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query("INSERT INTO role_assignments (user_id, role_template_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(user.to_string())
        .bind(role.template_id().to_string())
        .bind(ms(now))
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The roles a user holds.
pub async fn roles_of(c: &mut Conn, user: Uuid) -> Result<Vec<DirectoryRole>> {
    let rows = sqlx::query("SELECT role_template_id FROM role_assignments WHERE user_id = $1 ORDER BY role_template_id")
        .bind(user.to_string())
        .fetch_all(&mut *c)
        .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("role_template_id")?;
            DirectoryRole::parse(&id)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown role template id {id}")))
        })
        .collect()
}

/// Users holding a role.
pub async fn holders_of(c: &mut Conn, role: DirectoryRole) -> Result<Vec<User>> {
    let rows = sqlx::query("SELECT u.* FROM users u JOIN role_assignments r ON r.user_id = u.id WHERE r.role_template_id = $1 ORDER BY u.upn")
        .bind(role.template_id().to_string())
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(user_from).collect()
}

/// The user's preferred sign-in method (R23), if one was set.
pub async fn preferred_method(c: &mut Conn, user: Uuid) -> Result<Option<String>> {
    let r = sqlx::query("SELECT preferred_method FROM users WHERE id = $1")
        .bind(user.to_string())
        .fetch_optional(&mut *c)
        .await?;
    Ok(match r {
        Some(r) => r.try_get("preferred_method")?,
        None => None,
    })
}

/// Makes `method` the user's preferred method unless they already have one.
pub async fn prefer_if_unset(c: &mut Conn, user: Uuid, method: &str) -> Result<()> {
    prefer_if_unset_write(user, method).run(c).await?;
    Ok(())
}

/// [`prefer_if_unset`] as a write of a batch.
pub fn prefer_if_unset_write(user: Uuid, method: &str) -> Write {
    Write::new(
        "UPDATE users SET preferred_method = $1 WHERE id = $2 AND preferred_method IS NULL",
        vec![
            Param::Text(method.to_string()),
            Param::Text(user.to_string()),
        ],
    )
}

/// Every membership, as (user, group): one read for an analysis of every user.
pub async fn all_memberships(r: &Reader) -> Result<Vec<(Uuid, Uuid)>> {
    r.rows("SELECT user_id, group_id FROM group_members", vec![], |r| {
        Ok((uuid(r, "user_id")?, uuid(r, "group_id")?))
    })
    .await
}

/// Every user, in userPrincipalName order: one read for an analysis of every user.
pub async fn all_users(r: &Reader) -> Result<Vec<User>> {
    r.rows(
        "SELECT id, upn, display_name, account_enabled, created_at FROM users ORDER BY upn",
        vec![],
        |r| user_from(r),
    )
    .await
}

/// Every role assignment, as (user, role): one read for an analysis of every user.
pub async fn all_role_assignments(r: &Reader) -> Result<Vec<(Uuid, DirectoryRole)>> {
    r.rows(
        "SELECT user_id, role_template_id FROM role_assignments",
        vec![],
        |r| {
            let id = r.text("role_template_id")?;
            let role = DirectoryRole::parse(&id)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown role template id {id}")))?;
            Ok((uuid(r, "user_id")?, role))
        },
    )
    .await
}
