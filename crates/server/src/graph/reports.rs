//! Authentication strengths (read-only built-ins, §4) and the directory audit log (§7.2).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_domain::time_fmt::{parse_rfc3339, rfc3339};
use portcullis_store::audit::{AuditEntry, AuditFilter};
use serde_json::{json, Value};

use super::{gerr, Ctx, GraphError};

/// `GET policies/authenticationStrengthPolicies` (`$filter=policyType eq 'builtIn'|'custom'`).
pub(crate) async fn list_strengths(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let want = match cx
        .q("$filter")
        .map(|f| f.replace(' ', "").to_ascii_lowercase())
    {
        None => None,
        Some(f) if f == "policytypeeq'builtin'" => Some(true),
        Some(f) if f == "policytypeeq'custom'" => Some(false),
        Some(f) => {
            return Err(gerr(
                StatusCode::BAD_REQUEST,
                "Request_UnsupportedQuery",
                format!("Unsupported filter: {f}"),
            ))
        }
    };
    let data = cx.st.service.ca_data().await?;
    let all = &data.strengths;
    let value: Vec<Value> = all
        .iter()
        .filter(|s| want.is_none_or(|b| s.built_in == b))
        .map(|s| s.to_json())
        .collect();
    Ok(axum::Json(json!({"@odata.context": format!("{}/$metadata#policies/authenticationStrengthPolicies", cx.base), "value": value})).into_response())
}

/// `GET policies/authenticationStrengthPolicies/{id}`.
pub(crate) async fn get_strength(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let id = cx.params.id.unwrap_or_default();
    let data = cx.st.service.ca_data().await?;
    let all = &data.strengths;
    let s = all
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| {
            gerr(
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                format!("No authentication strength '{id}' exists."),
            )
        })?;
    Ok(axum::Json(s.to_json()).into_response())
}

fn modified(before: &Option<Value>, after: &Option<Value>) -> Vec<Value> {
    let obj = |v: &Option<Value>| {
        v.as_ref()
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let (b, a) = (obj(before), obj(after));
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| b.get(*k) != a.get(*k))
        .map(|k| json!({"displayName": k, "oldValue": b.get(k).map(|v| v.to_string()), "newValue": a.get(k).map(|v| v.to_string())}))
        .collect()
}

fn audit_json(e: &AuditEntry) -> Value {
    let initiated = match e.actor_type.as_str() {
        "user" => {
            json!({"user": {"id": e.actor_id, "userPrincipalName": e.actor_name, "displayName": null, "ipAddress": null}, "app": null})
        }
        "app" => {
            json!({"user": null, "app": {"appId": e.actor_id, "displayName": e.actor_name, "servicePrincipalId": null, "servicePrincipalName": null}})
        }
        _ => {
            json!({"user": null, "app": {"appId": null, "displayName": e.actor_name, "servicePrincipalId": null, "servicePrincipalName": null}})
        }
    };
    json!({
        "id": e.id, "activityDateTime": rfc3339(e.activity_date_time), "activityDisplayName": e.activity_display_name,
        "category": e.category, "correlationId": e.id, "loggedByService": e.logged_by_service, "operationType": e.operation_type,
        "result": e.result, "resultReason": e.result_reason, "initiatedBy": initiated,
        "targetResources": [{"id": e.target_id, "displayName": e.target_name, "type": e.target_kind,
            "userPrincipalName": if e.target_kind == "User" { Some(&e.target_name) } else { None },
            "modifiedProperties": modified(&e.before, &e.after)}],
        "additionalDetails": []
    })
}

/// `activityDisplayName eq '…'` and `activityDateTime ge|gt|le|lt <date-time>`, joined by `and`.
fn parse_filter(f: &str) -> Result<AuditFilter, GraphError> {
    let bad = |c: &str| {
        gerr(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            format!("Unsupported or invalid query filter clause: {c}"),
        )
    };
    let mut out = AuditFilter::default();
    for c in f.split(" and ") {
        let parts: Vec<&str> = c.trim().splitn(3, ' ').collect();
        let [field, op, value] = parts.as_slice() else {
            return Err(bad(c));
        };
        match (
            field.to_ascii_lowercase().as_str(),
            op.to_ascii_lowercase().as_str(),
        ) {
            ("activitydisplayname", "eq") => {
                let v = value
                    .trim()
                    .strip_prefix('\'')
                    .and_then(|v| v.strip_suffix('\''))
                    .ok_or_else(|| bad(c))?;
                out.activity = Some(v.replace("''", "'"));
            }
            ("activitydatetime", op @ ("ge" | "gt" | "le" | "lt")) => {
                let t = parse_rfc3339(value.trim()).map_err(|_| bad(c))?;
                if op.starts_with('g') {
                    out.since = Some(t);
                } else {
                    out.until = Some(t + time::Duration::milliseconds(i64::from(op == "le")));
                }
            }
            _ => return Err(bad(c)),
        }
    }
    Ok(out)
}

/// `GET auditLogs/directoryAudits`: newest first, `$filter`, `$top`, absolute `@odata.nextLink`.
pub(crate) async fn list_audits(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let (top, offset) = offset_paging(cx, 100)?;
    let filter = cx
        .q("$filter")
        .map(parse_filter)
        .transpose()?
        .unwrap_or_default();
    let mut page = cx.st.service.audit_page(&filter, top + 1, offset).await?;
    let more = super::users::trim(&mut page, top);
    Ok(offset_page(
        cx,
        "auditLogs/directoryAudits",
        page.iter().map(audit_json).collect(),
        more,
        top,
        offset,
    ))
}

/// `GET reports/authenticationMethods/userRegistrationDetails`: paged like `users`.
pub(crate) async fn list_registration_details(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    use super::users::{next_link, trim, user_page};
    let p = user_page(cx)?;
    let mut page = cx
        .st
        .service
        .registration_details(&p.filter, p.after.as_deref(), p.top + 1)
        .await?;
    let more = trim(&mut page, p.top);
    let last = page
        .last()
        .and_then(|v| v["userPrincipalName"].as_str())
        .map(str::to_string);
    let mut body = json!({"@odata.context": format!("{}/$metadata#reports/authenticationMethods/userRegistrationDetails", cx.base), "value": page});
    if let (true, Some(last)) = (more, last) {
        body["@odata.nextLink"] = json!(next_link(
            cx,
            "reports/authenticationMethods/userRegistrationDetails",
            p.top,
            &last
        ));
    }
    Ok(axum::Json(body).into_response())
}

/// `GET reports/authenticationMethods/userRegistrationDetails/{id}`.
pub(crate) async fn get_registration_details(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let u = cx.st.service.user(cx.params.id.unwrap_or_default()).await?;
    let f = portcullis_store::directory::UserFilter {
        upn_eq: Some(u.user_principal_name.to_string()),
        ..Default::default()
    };
    let one = cx
        .st
        .service
        .registration_details(&f, None, 1)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| {
            gerr(
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                "No such user.",
            )
        })?;
    Ok(axum::Json(one).into_response())
}

/// `$filter` for sign-ins: `userPrincipalName eq '…'`, `appId eq '…'`, `status/errorCode eq N`
/// and `createdDateTime ge …`, joined with `and`.
fn parse_sign_in_filter(f: &str) -> Result<portcullis_store::signins::SignInFilter, GraphError> {
    let mut out = portcullis_store::signins::SignInFilter::default();
    let unsupported = || {
        gerr(StatusCode::BAD_REQUEST, "Request_UnsupportedQuery", format!("Unsupported filter: {f}. Use userPrincipalName eq, appId eq, status/errorCode eq or createdDateTime ge, joined with and."))
    };
    for clause in f.split(" and ") {
        let parts: Vec<&str> = clause.trim().splitn(3, ' ').collect();
        let [field, op, value] = parts[..] else {
            return Err(unsupported());
        };
        let text = || value.trim_matches('\'').to_string();
        match (field, op.to_ascii_lowercase().as_str()) {
            ("userPrincipalName", "eq") => out.upn = Some(text().to_lowercase()),
            ("appId", "eq") => out.app_id = Some(text()),
            ("status/errorCode", "eq") => {
                out.error_code = Some(value.parse().map_err(|_| unsupported())?)
            }
            ("createdDateTime", "ge") => {
                out.since = Some(
                    portcullis_domain::time_fmt::parse_rfc3339(value).map_err(|_| unsupported())?,
                )
            }
            _ => return Err(unsupported()),
        }
    }
    Ok(out)
}

fn sign_in_json(e: &portcullis_store::signins::SignInEvent) -> Value {
    let applied: Vec<Value> = e
        .applied_conditional_access_policies
        .as_ref()
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|p| json!({"id": p["id"], "displayName": p["displayName"], "result": p["result"], "enforcedGrantControls": p["enforcedGrantControls"], "enforcedSessionControls": []})).collect())
        .unwrap_or_default();
    json!({
        "id": e.id, "createdDateTime": portcullis_domain::time_fmt::rfc3339(e.created_date_time),
        "userPrincipalName": e.user_principal_name, "userId": e.user_id, "appId": e.app_id, "appDisplayName": e.app_display_name,
        "ipAddress": e.ip_address, "userAgent": e.user_agent, "isInteractive": true,
        "clientAppUsed": "Browser", "conditionalAccessStatus": e.conditional_access_status.clone().unwrap_or_else(|| "notApplied".into()),
        "status": {"errorCode": e.error_code, "failureReason": e.failure_reason, "additionalDetails": e.failure_code},
        "appliedConditionalAccessPolicies": applied, "authenticationMethodsUsed": [e.method],
    })
}

/// `GET auditLogs/signIns`: newest first, `$top` (≤ 1000), `$filter`, `$skiptoken` paging.
pub(crate) async fn list_sign_ins(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let (top, offset) = offset_paging(cx, 1000)?;
    let filter = cx
        .q("$filter")
        .map(parse_sign_in_filter)
        .transpose()?
        .unwrap_or_default();
    let mut page = cx.st.service.sign_in_page(&filter, top + 1, offset).await?;
    let more = super::users::trim(&mut page, top);
    Ok(offset_page(
        cx,
        "auditLogs/signIns",
        page.iter().map(sign_in_json).collect(),
        more,
        top,
        offset,
    ))
}

/// `$top` (1–1000, `default` when absent) and the `$skiptoken` offset of a log listing.
fn offset_paging(cx: &Ctx<'_>, default: i64) -> Result<(i64, i64), GraphError> {
    let top = match cx.q("$top") {
        None => default,
        Some(t) => t
            .parse::<i64>()
            .ok()
            .filter(|t| (1..=1000).contains(t))
            .ok_or_else(|| {
                gerr(
                    StatusCode::BAD_REQUEST,
                    "Request_BadRequest",
                    "$top must be between 1 and 1000.",
                )
            })?,
    };
    let offset = match cx.q("$skiptoken") {
        None => 0,
        Some(t) => t.parse::<i64>().ok().filter(|o| *o >= 0).ok_or_else(|| {
            gerr(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                "Invalid $skiptoken.",
            )
        })?,
    };
    Ok((top, offset))
}

/// A log page with an absolute `@odata.nextLink` that keeps `$filter`.
fn offset_page(
    cx: &Ctx<'_>,
    entity: &str,
    value: Vec<Value>,
    more: bool,
    top: i64,
    offset: i64,
) -> Response {
    let mut body =
        json!({"@odata.context": format!("{}/$metadata#{entity}", cx.base), "value": value});
    if more {
        let mut link = format!(
            "{}/{entity}?$top={top}&$skiptoken={}",
            cx.base,
            offset + top
        );
        if let Some(f) = cx.q("$filter") {
            link.push_str(&format!(
                "&$filter={}",
                url::form_urlencoded::byte_serialize(f.as_bytes()).collect::<String>()
            ));
        }
        body["@odata.nextLink"] = json!(link);
    }
    axum::Json(body).into_response()
}
