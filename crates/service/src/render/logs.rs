//! The sign-in and audit logs as CSV, for the admin center's exports.

use std::collections::BTreeMap;

use portcullis_domain::time_fmt::rfc3339;
use portcullis_store::audit::AuditEntry;
use portcullis_store::signins::SignInEvent;
use serde_json::Value;
use uuid::Uuid;

use super::csv::line;

/// Each applied policy that did something, as `name: result`, joined by `; `.
pub fn applied_policies(e: &SignInEvent) -> String {
    match &e.applied_conditional_access_policies {
        Some(Value::Array(ps)) => ps
            .iter()
            .filter(|p| {
                !matches!(
                    p["result"].as_str(),
                    Some("notApplied" | "notEnabled" | "reportOnlyNotApplied")
                )
            })
            .map(|p| {
                format!(
                    "{}: {}",
                    p["displayName"].as_str().unwrap_or_default(),
                    p["result"].as_str().unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => String::new(),
    }
}

/// Sign-ins, one per line; `models` names the passkey models known.
pub fn sign_ins_csv(events: &[SignInEvent], models: &BTreeMap<Uuid, String>) -> String {
    let mut out = line(&[
        "createdDateTime",
        "userPrincipalName",
        "userId",
        "appDisplayName",
        "appId",
        "method",
        "passkeyAaguid",
        "passkeyModel",
        "passkeyAaguidAttested",
        "passkeyReach",
        "ipAddress",
        "userAgent",
        "status",
        "errorCode",
        "failureCode",
        "failureReason",
        "conditionalAccessStatus",
        "appliedConditionalAccessPolicies",
    ]);
    for e in events {
        let aaguid = e.passkey_aaguid;
        out.push_str(&line(&[
            rfc3339(e.created_date_time),
            e.user_principal_name.clone(),
            e.user_id.map(|u| u.to_string()).unwrap_or_default(),
            e.app_display_name.clone().unwrap_or_default(),
            e.app_id.clone().unwrap_or_default(),
            e.method.clone(),
            aaguid.map(|a| a.to_string()).unwrap_or_default(),
            aaguid
                .and_then(|a| models.get(&a).cloned())
                .unwrap_or_default(),
            e.passkey_attested
                .map(|a| a.to_string())
                .unwrap_or_default(),
            e.passkey_client
                .as_ref()
                .map(|c| c.reach().code().to_string())
                .unwrap_or_default(),
            e.ip_address.clone(),
            e.user_agent.clone(),
            if e.error_code == 0 {
                "success"
            } else {
                "failure"
            }
            .to_string(),
            e.error_code.to_string(),
            e.failure_code.clone().unwrap_or_default(),
            e.failure_reason.clone().unwrap_or_default(),
            e.conditional_access_status.clone().unwrap_or_default(),
            applied_policies(e),
        ]));
    }
    out
}

/// Audit entries, one per line, with what changed before and after (as JSON).
pub fn audit_csv(entries: &[AuditEntry]) -> String {
    let json = |v: &Option<Value>| v.as_ref().map(Value::to_string).unwrap_or_default();
    let mut out = line(&[
        "activityDateTime",
        "activityDisplayName",
        "category",
        "loggedByService",
        "operationType",
        "initiatedByType",
        "initiatedBy",
        "targetId",
        "targetName",
        "targetType",
        "before",
        "after",
    ]);
    for e in entries {
        out.push_str(&line(&[
            rfc3339(e.activity_date_time),
            e.activity_display_name.clone(),
            e.category.clone(),
            e.logged_by_service.clone(),
            e.operation_type.clone(),
            e.actor_type.clone(),
            e.actor_name.clone(),
            e.target_id.clone(),
            e.target_name.clone(),
            e.target_kind.clone(),
            json(&e.before),
            json(&e.after),
        ]));
    }
    out
}
