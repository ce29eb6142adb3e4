//! Authentication strengths (read-only built-ins, §4) and the directory audit log (§7.2).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_domain::time_fmt::rfc3339;
use portcullis_store::audit::{AuditEntry, AuditFilter};
use serde_json::{json, Value};

use super::odata::{self, Checked, Field, Kind, Literal, ODataError, Op, Schema};
use super::{gerr, Ctx, GraphError};

/// A strength field `$filter` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StrengthField {
    PolicyType,
    DisplayName,
}

/// Authentication strengths: `policyType` and `displayName` with `eq`, `ne`, `in` (and
/// `startswith` on the name), combined with `and`, `or`, `not` (graph-api.md §4).
const STRENGTHS: Schema<StrengthField> = Schema {
    fields: &[
        Field {
            name: "policyType",
            key: StrengthField::PolicyType,
            kind: Kind::Text,
            ops: &[Op::Eq, Op::Ne, Op::In],
        },
        Field {
            name: "displayName",
            key: StrengthField::DisplayName,
            kind: Kind::Text,
            ops: &[Op::Eq, Op::Ne, Op::In, Op::StartsWith],
        },
    ],
    any_logic: true,
};

/// `GET policies/authenticationStrengthPolicies` (`$filter` as [`STRENGTHS`] offers).
pub(crate) async fn list_strengths(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let filter = cx.q("$filter").map(|f| STRENGTHS.parse(f)).transpose()?;
    let data = cx.st.service.ca_data().await?;
    let value: Vec<Value> = data
        .strengths
        .iter()
        .filter(|s| {
            filter.as_ref().is_none_or(|f| {
                f.matches(&|field| match field {
                    StrengthField::PolicyType => {
                        Literal::Text(if s.built_in { "builtIn" } else { "custom" }.into())
                    }
                    StrengthField::DisplayName => Literal::Text(s.display_name.clone()),
                })
            })
        })
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

/// An audit field `$filter` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuditField {
    Activity,
    When,
}

/// Directory audits: `activityDisplayName eq '…'` and `activityDateTime ge|gt|le|lt
/// <date-time>`, joined by `and`.
const AUDITS: Schema<AuditField> = Schema {
    fields: &[
        Field {
            name: "activityDisplayName",
            key: AuditField::Activity,
            kind: Kind::Text,
            ops: &[Op::Eq],
        },
        Field {
            name: "activityDateTime",
            key: AuditField::When,
            kind: Kind::DateTime,
            ops: &[Op::Ge, Op::Gt, Op::Le, Op::Lt],
        },
    ],
    any_logic: false,
};

fn audit_filter(f: &Checked<AuditField>) -> Result<AuditFilter, ODataError> {
    let mut out = AuditFilter::default();
    // Times are kept to the millisecond: `gt t` is `ge t + 1 ms`, and the store's upper bound
    // is exclusive, so `le t` is `lt t + 1 ms`.
    let ms = time::Duration::milliseconds(1);
    let twice = || ODataError::Unsupported("the same condition twice");
    for c in f.clauses() {
        match (c.field, c.value()) {
            (AuditField::Activity, Some(Literal::Text(t))) => {
                if out.activity.replace(t.clone()).is_some() {
                    return Err(twice());
                }
            }
            (AuditField::When, Some(Literal::DateTime(t))) => {
                let (slot, at) = match c.op {
                    Op::Ge => (&mut out.since, *t),
                    Op::Gt => (&mut out.since, t.saturating_add(ms)),
                    Op::Le => (&mut out.until, t.saturating_add(ms)),
                    _ => (&mut out.until, *t),
                };
                if slot.replace(at).is_some() {
                    return Err(twice());
                }
            }
            _ => return Err(ODataError::Unsupported("this condition")),
        }
    }
    Ok(out)
}

/// `GET auditLogs/directoryAudits`: newest first, `$filter`, `$top`, absolute `@odata.nextLink`.
pub(crate) async fn list_audits(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let (top, offset) = offset_paging(cx, 100)?;
    let filter = cx
        .q("$filter")
        .map(|f| AUDITS.parse(f).and_then(|f| audit_filter(&f)))
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
    use super::users::{next_link, trim, user_page, REGISTRATION_DETAILS};
    let p = user_page(cx, &REGISTRATION_DETAILS)?;
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
        crate::json::set(
            &mut body,
            "@odata.nextLink",
            json!(next_link(
                cx,
                "reports/authenticationMethods/userRegistrationDetails",
                p.top,
                &last
            )),
        );
    }
    Ok(axum::Json(body).into_response())
}

/// `GET reports/authenticationMethods/usersRegisteredByMethod(includedUserTypes='…',
/// includedUserRoles='…')` (graph-api.md §7.3): how many of the users the arguments select
/// have registered each method, counted from the same per-user details as
/// `userRegistrationDetails`. Every user here is a member; roles are `all`, `admin` (any
/// directory role), `privilegedAdmin` (a privileged one) or `user` (none).
pub(crate) async fn users_registered_by_method(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let arg = |k: &str| {
        cx.q(&format!("fn:{k}"))
            .map(|v| v.trim_matches('\'').to_string())
            .unwrap_or_else(|| "all".into())
    };
    let (types, roles) = (arg("includedUserTypes"), arg("includedUserRoles"));
    let bad = |name: &str, v: &str, allowed: &str| {
        gerr(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            format!("'{v}' is not a value of {name}: use {allowed}."),
        )
    };
    if !["all", "member", "guest"].contains(&types.as_str()) {
        return Err(bad("includedUserTypes", &types, "all, member or guest"));
    }
    if !["all", "privilegedAdmin", "admin", "user"].contains(&roles.as_str()) {
        return Err(bad(
            "includedUserRoles",
            &roles,
            "all, privilegedAdmin, admin or user",
        ));
    }
    let mut total = 0u64;
    let mut counts: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    let mut after: Option<String> = None;
    // Nobody here is a guest: for guests, nothing to read.
    let mut more = types != "guest";
    while more {
        let page = cx
            .st
            .service
            .registration_details(&Default::default(), after.as_deref(), 1000)
            .await?;
        for d in &page {
            let admin = d["isAdmin"] == json!(true);
            let selected = match roles.as_str() {
                "admin" => admin,
                "user" => !admin,
                "privilegedAdmin" => {
                    admin && {
                        let id = d["id"].as_str().and_then(|i| uuid::Uuid::parse_str(i).ok());
                        match id {
                            Some(id) => cx
                                .st
                                .service
                                .user_roles(id)
                                .await?
                                .iter()
                                .any(|r| r.is_privileged()),
                            None => false,
                        }
                    }
                }
                _ => true,
            };
            if !selected {
                continue;
            }
            total += 1;
            for m in d["methodsRegistered"].as_array().into_iter().flatten() {
                if let Some(m) = m.as_str() {
                    *counts.entry(m.to_string()).or_default() += 1;
                }
            }
        }
        more = page.len() == 1000;
        after = page
            .last()
            .and_then(|v| v["userPrincipalName"].as_str())
            .map(str::to_string);
    }
    let by_method: Vec<Value> = counts
        .iter()
        .map(|(m, n)| json!({"authenticationMethod": m, "userCount": n}))
        .collect();
    Ok(axum::Json(json!({
        "@odata.context": format!("{}/$metadata#microsoft.graph.userRegistrationMethodSummary", cx.base),
        "id": format!("{types}-{roles}"),
        "userTypes": types, "userRoles": roles,
        "totalUserCount": total, "userRegistrationMethodCounts": by_method,
    }))
    .into_response())
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

/// A sign-in field `$filter` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SignInField {
    Upn,
    AppId,
    ErrorCode,
    Created,
}

/// Sign-ins: `userPrincipalName eq`, `appId eq`, `status/errorCode eq` and
/// `createdDateTime ge`, joined by `and`.
const SIGN_INS: Schema<SignInField> = Schema {
    fields: &[
        Field {
            name: "userPrincipalName",
            key: SignInField::Upn,
            kind: Kind::Text,
            ops: &[Op::Eq],
        },
        Field {
            name: "appId",
            key: SignInField::AppId,
            kind: Kind::Text,
            ops: &[Op::Eq],
        },
        Field {
            name: "status/errorCode",
            key: SignInField::ErrorCode,
            kind: Kind::Int,
            ops: &[Op::Eq],
        },
        Field {
            name: "createdDateTime",
            key: SignInField::Created,
            kind: Kind::DateTime,
            ops: &[Op::Ge],
        },
    ],
    any_logic: false,
};

fn sign_in_filter(
    f: &Checked<SignInField>,
) -> Result<portcullis_store::signins::SignInFilter, ODataError> {
    let mut out = portcullis_store::signins::SignInFilter::default();
    // A condition given twice is refused, not half applied.
    let first = |taken: bool| {
        if taken {
            Err(ODataError::Unsupported("the same condition twice"))
        } else {
            Ok(())
        }
    };
    for c in f.clauses() {
        match (c.field, c.value()) {
            (SignInField::Upn, Some(Literal::Text(t))) => {
                first(out.upn.replace(t.to_lowercase()).is_some())?
            }
            (SignInField::AppId, Some(Literal::Text(t))) => {
                first(out.app_id.replace(t.clone()).is_some())?
            }
            (SignInField::ErrorCode, Some(Literal::Int(n))) => {
                first(out.error_code.replace(*n).is_some())?
            }
            (SignInField::Created, Some(Literal::DateTime(t))) => {
                first(out.since.replace(*t).is_some())?
            }
            _ => return Err(ODataError::Unsupported("this condition")),
        }
    }
    Ok(out)
}

fn sign_in_json(
    e: &portcullis_store::signins::SignInEvent,
    models: &std::collections::BTreeMap<uuid::Uuid, String>,
) -> Value {
    // R28: the passkey's model and AAGUID, and whether the AAGUID is attested, as Graph's
    // authenticationDetails carries a method's detail.
    let details: Vec<Value> = match e.passkey_aaguid {
        Some(a) => vec![json!({
            "authenticationMethod": "Passkey",
            "authenticationMethodDetail": format!(
                "{} (AAGUID {a}, {}){}",
                models.get(&a).map_or("Unknown model", String::as_str),
                if e.passkey_attested == Some(true) { "attested" } else { "self-reported" },
                // R24: how it reached the browser, when the browser said.
                e.passkey_client.as_ref().map_or_else(String::new, |c| format!(
                    "; {}",
                    portcullis_service::render::passkey_reach(c)
                ))
            ),
            "succeeded": e.error_code == 0,
        })],
        None => vec![],
    };
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
        "authenticationDetails": details,
    })
}

/// `GET auditLogs/signIns`: newest first, `$top` (≤ 1000), `$filter`, `$skiptoken` paging.
pub(crate) async fn list_sign_ins(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let (top, offset) = offset_paging(cx, 1000)?;
    let filter = cx
        .q("$filter")
        .map(|f| SIGN_INS.parse(f).and_then(|f| sign_in_filter(&f)))
        .transpose()?
        .unwrap_or_default();
    let mut page = cx.st.service.sign_in_page(&filter, top + 1, offset).await?;
    let more = super::users::trim(&mut page, top);
    let models = cx
        .st
        .service
        .model_names(
            page.iter()
                .filter_map(|e| e.passkey_aaguid)
                .collect::<Vec<_>>(),
        )
        .await?;
    Ok(offset_page(
        cx,
        "auditLogs/signIns",
        page.iter().map(|e| sign_in_json(e, &models)).collect(),
        more,
        top,
        offset,
    ))
}

/// `$top` (1–1000, `default` when absent) and the `$skiptoken` offset of a log listing.
fn offset_paging(cx: &Ctx<'_>, default: i64) -> Result<(i64, i64), GraphError> {
    let top = odata::top(cx.q("$top"), default, 1000)?;
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
        crate::json::set(&mut body, "@odata.nextLink", json!(link));
    }
    axum::Json(body).into_response()
}

/// Every `$filter` of this module, as its route reads it (the fuzz targets).
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_filters(text: &str) {
    let _ = STRENGTHS.parse(text);
    let _ = AUDITS.parse(text).and_then(|f| audit_filter(&f));
    let _ = SIGN_INS.parse(text).and_then(|f| sign_in_filter(&f));
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn filter(text: &str) -> Result<AuditFilter, ODataError> {
        AUDITS.parse(text).and_then(|f| audit_filter(&f))
    }

    /// `gt` excludes the instant itself and `le` includes it (times are kept to the
    /// millisecond); a condition given twice is refused rather than half applied.
    #[test]
    fn audit_time_bounds_are_exact_and_conditions_are_not_repeated() {
        let t = datetime!(2026-11-29 12:00 UTC);
        let ms = time::Duration::milliseconds(1);
        assert_eq!(
            filter("activityDateTime ge 2026-11-29T12:00:00Z")
                .unwrap()
                .since,
            Some(t)
        );
        assert_eq!(
            filter("activityDateTime gt 2026-11-29T12:00:00Z")
                .unwrap()
                .since,
            Some(t + ms)
        );
        assert_eq!(
            filter("activityDateTime lt 2026-11-29T12:00:00Z")
                .unwrap()
                .until,
            Some(t)
        );
        assert_eq!(
            filter("activityDateTime le 2026-11-29T12:00:00Z")
                .unwrap()
                .until,
            Some(t + ms)
        );
        for twice in [
            "activityDateTime ge 2026-11-29T12:00:00Z and activityDateTime gt 2026-11-29T13:00:00Z",
            "activityDisplayName eq 'a' and activityDisplayName eq 'b'",
        ] {
            assert!(
                matches!(filter(twice), Err(ODataError::Unsupported(_))),
                "{twice}"
            );
        }
        let repeated = SIGN_INS
            .parse("appId eq 'a' and appId eq 'b'")
            .and_then(|f| sign_in_filter(&f));
        assert!(matches!(repeated, Err(ODataError::Unsupported(_))));
        let both = filter(
            "activityDateTime ge 2026-11-29T12:00:00Z and activityDateTime lt 2026-11-29T13:00:00Z",
        )
        .unwrap();
        assert_eq!(
            (both.since, both.until),
            (Some(t), Some(t + time::Duration::hours(1)))
        );
    }
}
