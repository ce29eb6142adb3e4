//! Groups, their members, and directory roles (enough to grant the roles of §8.4).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_domain::directory::{DirectoryRole, Group};
use serde_json::{json, Value};

use super::users::user_json;
use super::{gerr, Ctx, GraphError};

fn group_json(g: &Group) -> Value {
    json!({"id": g.id, "displayName": g.display_name, "securityEnabled": g.security_enabled, "mailEnabled": !g.security_enabled, "groupTypes": if g.security_enabled { json!([]) } else { json!(["Unified"]) }})
}

fn role_json(r: DirectoryRole) -> Value {
    json!({"@odata.type": "#microsoft.graph.directoryRole", "id": r.template_id(), "roleTemplateId": r.template_id(), "displayName": r.display_name()})
}

/// The object id at the end of an `@odata.id` reference.
fn referenced_id(cx: &Ctx<'_>) -> Result<String, GraphError> {
    let b = cx.json_body()?;
    super::body::only_known(&b, &["@odata.id"], "referenceCreate")?;
    let r = b.get("@odata.id").and_then(Value::as_str).ok_or_else(|| {
        gerr(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "The body must carry \"@odata.id\" naming the directory object.",
        )
    })?;
    Ok(r.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("")
        .trim_matches(|c| c == '\'' || c == '(' || c == ')')
        .to_string())
}

/// `GET groups`.
pub(crate) async fn list_groups(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let groups = cx.st.service.list_groups().await?;
    Ok(axum::Json(json!({"@odata.context": format!("{}/$metadata#groups", cx.base), "value": groups.iter().map(group_json).collect::<Vec<_>>()})).into_response())
}

/// `POST groups` → 201 (`securityEnabled` true makes a security group, the only kind a policy may target).
pub(crate) async fn create_group(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let b = cx.json_body()?;
    if let Some(k) = b.keys().find(|k| {
        ![
            "@odata.type",
            "displayName",
            "securityEnabled",
            "mailEnabled",
            "mailNickname",
            "groupTypes",
            "description",
        ]
        .contains(&k.as_str())
    }) {
        return Err(gerr(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            format!("Property '{k}' does not exist on type 'microsoft.graph.group'."),
        ));
    }
    let name = b
        .get("displayName")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            gerr(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                "displayName is required.",
            )
        })?;
    let security = match b.get("securityEnabled") {
        None => false,
        Some(v) => v.as_bool().ok_or_else(|| {
            gerr(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                "'securityEnabled' must be a boolean.",
            )
        })?,
    };
    let g = cx.st.service.add_group(cx.actor, name, security).await?;
    Ok((StatusCode::CREATED, axum::Json(group_json(&g))).into_response())
}

/// `GET groups/{id}/members`.
pub(crate) async fn list_members(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let (_, members) = cx
        .st
        .service
        .group_members(cx.params.id.unwrap_or_default())
        .await?;
    let value: Vec<Value> = members
        .iter()
        .map(|u| {
            let mut v = user_json(u);
            crate::json::set(&mut v, "@odata.type", json!("#microsoft.graph.user"));
            v
        })
        .collect();
    Ok(axum::Json(json!({"@odata.context": format!("{}/$metadata#directoryObjects", cx.base), "value": value})).into_response())
}

/// `POST groups/{id}/members/$ref` → 204.
pub(crate) async fn add_member(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let user = referenced_id(cx)?;
    cx.st
        .service
        .add_member(cx.actor, cx.params.id.unwrap_or_default(), &user)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn role(cx: &Ctx<'_>) -> Result<DirectoryRole, GraphError> {
    let id = cx.params.id.unwrap_or_default();
    DirectoryRole::parse(id).ok_or_else(|| {
        gerr(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!("No directory role '{id}' exists."),
        )
    })
}

/// `GET directoryRoles`: the roles Portcullis knows (id = role template id).
pub(crate) fn list_roles(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    Ok(axum::Json(json!({"@odata.context": format!("{}/$metadata#directoryRoles", cx.base), "value": DirectoryRole::ALL.iter().map(|r| role_json(*r)).collect::<Vec<_>>()})).into_response())
}

/// `GET directoryRoles/{id}/members`.
pub(crate) async fn list_role_members(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let r = role(cx)?;
    let holders = cx.st.service.role_holders(r).await?;
    Ok(axum::Json(json!({"@odata.context": format!("{}/$metadata#directoryObjects", cx.base), "value": holders.iter().map(user_json).collect::<Vec<_>>()})).into_response())
}

/// `POST directoryRoles/{id}/members/$ref` → 204.
pub(crate) async fn add_role_member(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let r = role(cx)?;
    let user = referenced_id(cx)?;
    cx.st.service.assign_role(cx.actor, &user, r).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
