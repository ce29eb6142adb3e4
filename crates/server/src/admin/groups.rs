//! Groups in the admin center: the list, New group, a group's members and Add member —
//! through the same service calls as Graph and the CLI, audited.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_domain::authz::Capability;
use portcullis_service::ServiceError;
use serde::Deserialize;

use super::form::Fields;
use super::{AdminPost, AdminSession};
use crate::error::PageError;
use crate::pages::admin::{self as page, FieldErrors};
use crate::AppState;

const PAGE: usize = 100;

/// `?page=` of the list.
#[derive(Debug, Deserialize)]
pub(crate) struct PageQuery {
    #[serde(default)]
    page: usize,
}

async fn render_list(
    st: &AppState,
    admin: &AdminSession,
    page_no: usize,
    new_group: (&str, bool),
    errors: &FieldErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let all = st.service.list_groups().await?;
    let shown: Vec<_> = all
        .iter()
        .skip(page_no.saturating_mul(PAGE))
        .take(PAGE)
        .cloned()
        .collect();
    let after = page_no.saturating_add(1);
    let next = (all.len() > after.saturating_mul(PAGE)).then_some(after);
    Ok((
        status,
        page::groups_page(
            &admin.nav(),
            &shown,
            next,
            admin.may(Capability::WriteGroups),
            new_group,
            errors,
        ),
    )
        .into_response())
}

/// The groups list.
pub(crate) async fn list(
    admin: AdminSession,
    State(st): State<AppState>,
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    admin.require(Capability::ReadGroups, "Groups")?;
    let Query(q) = q.map_err(|e| PageError::BadRequest(e.body_text()))?;
    render_list(
        &st,
        &admin,
        q.page,
        ("", true),
        &FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

/// New group.
pub(crate) async fn create(
    AdminPost(admin): AdminPost,
    State(st): State<AppState>,
    f: Fields,
) -> Result<Response, PageError> {
    admin.require(Capability::WriteGroups, "Creating groups")?;
    let name = f.get("name");
    let mut errors = FieldErrors::new();
    let security = match f.get("group_type") {
        "security" => true,
        "m365" => false,
        other => {
            errors.insert(
                "group_type",
                format!("'{other}' is not Security or Microsoft 365."),
            );
            true
        }
    };
    if errors.is_empty() {
        match st.service.add_group(&admin.actor(), name, security).await {
            Ok(g) => {
                return Ok(
                    Redirect::to(&format!("/admin/groups/{}?notice=created", g.id)).into_response(),
                )
            }
            Err(e @ ServiceError::DisplayName(_)) => {
                errors.insert("name", e.to_string());
            }
            Err(e @ ServiceError::Conflict(_)) => {
                errors.insert("name", e.to_string());
            }
            Err(e) => return Err(e.into()),
        }
    }
    render_list(
        &st,
        &admin,
        0,
        (name, security),
        &errors,
        StatusCode::BAD_REQUEST,
    )
    .await
}

/// Members shown per page of a group.
const MEMBERS_PAGE: i64 = 100;

/// `?notice=` after a redirect and `?after=` (a user principal name) of the members' paging.
#[derive(Debug, Deserialize)]
pub(crate) struct GroupQuery {
    notice: Option<String>,
    #[serde(default)]
    after: String,
}

async fn render_group(
    st: &AppState,
    admin: &AdminSession,
    id: &str,
    after: Option<&str>,
    errors: &FieldErrors,
    notice: Option<&str>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (group, mut members) = st
        .service
        .group_members_page(id, after, MEMBERS_PAGE + 1)
        .await?;
    let next = (members.len() as i64 > MEMBERS_PAGE).then(|| {
        members.truncate(MEMBERS_PAGE as usize);
        members
            .last()
            .map(|u| u.user_principal_name.to_string())
            .unwrap_or_default()
    });
    Ok((
        status,
        page::group_page(
            &admin.nav(),
            &page::GroupView {
                group: &group,
                members: &members,
                after,
                next: next.as_deref(),
            },
            admin.may(Capability::WriteGroups),
            errors,
            notice,
        ),
    )
        .into_response())
}

/// A group and its members.
pub(crate) async fn group(
    admin: AdminSession,
    State(st): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<GroupQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    admin.require(Capability::ReadGroups, "Groups")?;
    let Query(q) = q.map_err(|e| PageError::BadRequest(e.body_text()))?;
    let after = Some(q.after.as_str()).filter(|a| !a.is_empty());
    let notice = match q.notice.as_deref() {
        Some("created") => Some("Group created."),
        Some("added") => Some("Member added."),
        Some("already") => Some("That user was already a member: nothing changed."),
        _ => None,
    };
    render_group(
        &st,
        &admin,
        &id,
        after,
        &FieldErrors::new(),
        notice,
        StatusCode::OK,
    )
    .await
}

/// Add member.
pub(crate) async fn add_member(
    AdminPost(admin): AdminPost,
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: Fields,
) -> Result<Response, PageError> {
    admin.require(Capability::WriteGroups, "Changing group members")?;
    let (group, _) = st.service.group_members_page(&id, None, 0).await?;
    let member = f.get("member");
    match st.service.user(member).await {
        Ok(u) => {
            let added = st
                .service
                .add_member(&admin.actor(), &group.id.to_string(), &u.id.to_string())
                .await?;
            let notice = if added { "added" } else { "already" };
            Ok(
                Redirect::to(&format!("/admin/groups/{}?notice={notice}", group.id))
                    .into_response(),
            )
        }
        Err(e @ (ServiceError::NotFound(_) | ServiceError::Upn(_))) => {
            let errors = FieldErrors::from([("member", e.to_string())]);
            render_group(
                &st,
                &admin,
                &id,
                None,
                &errors,
                None,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
