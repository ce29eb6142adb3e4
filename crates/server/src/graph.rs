//! The Graph-compatible admin API (graph-api.md): a route table in which every route
//! declares the scopes, app roles and directory roles it needs; case-insensitive path
//! matching; Graph's error body with a server-made `request-id` on every 4xx/5xx.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_domain::actor::Actor;
use portcullis_domain::authz::{authorize, Principal, Requirement};
use portcullis_domain::directory::DirectoryRole::*;
use portcullis_domain::policy::{MethodConfiguration, MethodId};
use portcullis_service::ServiceError;
use serde_json::{json, Value};

use crate::AppState;

/// What a route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `GET policies/authenticationMethodsPolicy`.
    GetPolicy,
    /// `GET …/authenticationMethodConfigurations`.
    ListConfigs,
    /// `GET …/authenticationMethodConfigurations/{id}`.
    GetConfig,
    /// `PATCH …/authenticationMethodConfigurations/{id}` → 204.
    PatchConfig,
    /// `DELETE …/authenticationMethodConfigurations/{id}` → reset, 204.
    ResetConfig,
}

/// One route: method, lower-case path pattern (`{id}` matches one segment), operation, requirement.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    /// HTTP method.
    pub method: &'static str,
    /// Path after `/v1.0/` or `/beta/`.
    pub pattern: &'static [&'static str],
    /// Operation.
    pub op: Op,
    /// Who may call it (graph-api.md §1.1, §8.3–8.4).
    pub requirement: Requirement,
}

const READ_POLICY: Requirement = Requirement {
    scopes: &["Policy.Read.AuthenticationMethod", "Policy.ReadWrite.AuthenticationMethod", "Policy.Read.All"],
    app_roles: &["Policy.Read.AuthenticationMethod", "Policy.ReadWrite.AuthenticationMethod", "Policy.Read.All"],
    directory_roles: &[AuthenticationPolicyAdministrator, GlobalReader, SecurityReader, SecurityAdministrator],
};

const WRITE_POLICY: Requirement = Requirement {
    scopes: &["Policy.ReadWrite.AuthenticationMethod"],
    app_roles: &["Policy.ReadWrite.AuthenticationMethod"],
    directory_roles: &[AuthenticationPolicyAdministrator],
};

/// Every route of the admin API, with what it requires. One test walks this table.
pub const ROUTES: &[RouteSpec] = &[
    RouteSpec { method: "GET", pattern: &["policies", "authenticationmethodspolicy"], op: Op::GetPolicy, requirement: READ_POLICY },
    RouteSpec { method: "GET", pattern: &["policies", "authenticationmethodspolicy", "authenticationmethodconfigurations"], op: Op::ListConfigs, requirement: READ_POLICY },
    RouteSpec { method: "GET", pattern: &["policies", "authenticationmethodspolicy", "authenticationmethodconfigurations", "{id}"], op: Op::GetConfig, requirement: READ_POLICY },
    RouteSpec { method: "PATCH", pattern: &["policies", "authenticationmethodspolicy", "authenticationmethodconfigurations", "{id}"], op: Op::PatchConfig, requirement: WRITE_POLICY },
    RouteSpec { method: "DELETE", pattern: &["policies", "authenticationmethodspolicy", "authenticationmethodconfigurations", "{id}"], op: Op::ResetConfig, requirement: WRITE_POLICY },
];

/// Per-request ids for the error body and headers.
struct Ids {
    request_id: String,
    client_request_id: String,
}

/// A Graph error.
struct GraphError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

fn gerr(status: StatusCode, code: &'static str, message: impl Into<String>) -> GraphError {
    GraphError { status, code, message: message.into() }
}

impl From<ServiceError> for GraphError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound(m) => gerr(StatusCode::NOT_FOUND, "Request_ResourceNotFound", m),
            ServiceError::Forbidden(m) => gerr(StatusCode::FORBIDDEN, "Authorization_RequestDenied", m.to_string()),
            ServiceError::Conflict(m) => gerr(StatusCode::CONFLICT, "Request_BadRequest", m),
            ServiceError::Store(_) | ServiceError::Internal(_) => {
                tracing::error!(error = %e, "Graph request failed");
                gerr(StatusCode::INTERNAL_SERVER_ERROR, "generalException", "An internal error occurred.")
            }
            other => gerr(StatusCode::BAD_REQUEST, "badRequest", other.to_string()),
        }
    }
}

fn error_response(e: GraphError, ids: &Ids, now: &str) -> Response {
    let body = json!({"error": {"code": e.code, "message": e.message, "innerError": {"date": now, "request-id": ids.request_id, "client-request-id": ids.client_request_id}}});
    let mut res = (e.status, axum::Json(body)).into_response();
    if e.status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    res
}

fn matches<'a>(pattern: &[&str], segs: &'a [String]) -> Option<Option<&'a str>> {
    if pattern.len() != segs.len() {
        return None;
    }
    let mut id = None;
    for (p, s) in pattern.iter().zip(segs) {
        if *p == "{id}" {
            id = Some(s.as_str());
        } else if !p.eq_ignore_ascii_case(s) {
            return None;
        }
    }
    Some(id)
}

/// Entry point for `/v1.0/…` and `/beta/…`.
pub async fn dispatch(State(st): State<AppState>, method: Method, OriginalUri(uri): OriginalUri, headers: HeaderMap, body: Result<Bytes, axum::extract::rejection::BytesRejection>) -> Response {
    let ids = Ids {
        request_id: uuid::Uuid::new_v4().to_string(),
        client_request_id: headers.get("client-request-id").and_then(|v| v.to_str().ok()).map(|s| s.chars().take(64).collect()).unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
    };
    let now = portcullis_domain::time_fmt::rfc3339(st.service.now());
    let result = match body {
        Ok(body) => handle(&st, &method, uri.path(), &headers, &body).await,
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(gerr(StatusCode::PAYLOAD_TOO_LARGE, "Request_BadRequest", "The request body is too large.")),
        Err(r) => Err(gerr(StatusCode::BAD_REQUEST, "BadRequest", r.body_text())),
    };
    let mut res = match result {
        Ok(r) => r,
        Err(e) => error_response(e, &ids, &now),
    };
    for (k, v) in [("request-id", &ids.request_id), ("client-request-id", &ids.client_request_id)] {
        if let Ok(v) = HeaderValue::from_str(v) {
            res.headers_mut().insert(k, v);
        }
    }
    res
}

async fn handle(st: &AppState, method: &Method, path: &str, headers: &HeaderMap, body: &Bytes) -> Result<Response, GraphError> {
    let mut segs: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect();
    let version = if segs.is_empty() { String::new() } else { segs.remove(0) };
    let candidates: Vec<(&RouteSpec, Option<&str>)> = ROUTES.iter().filter_map(|r| matches(r.pattern, &segs).map(|id| (r, id))).collect();
    if candidates.is_empty() {
        return Err(gerr(StatusCode::NOT_FOUND, "Request_ResourceNotFound", format!("Resource not found for the segment '{}'.", segs.last().cloned().unwrap_or_default())));
    }
    let Some((route, id)) = candidates.iter().find(|(r, _)| r.method == method.as_str()).copied() else {
        return Err(gerr(StatusCode::METHOD_NOT_ALLOWED, "Request_BadRequest", format!("The {method} method is not supported on this resource.")));
    };
    let token = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer "))).map(str::trim);
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err(gerr(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", "Access token is empty."));
    };
    let issuer = st.config.public_url.as_str();
    let (principal, user) = st.service.verify_token(issuer, token).await?.map_err(|e| gerr(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", e.to_string()))?;
    authorize(&route.requirement, &principal).map_err(|d| gerr(StatusCode::FORBIDDEN, "Authorization_RequestDenied", d.to_string()))?;
    let actor = match (&principal, &user) {
        (Principal::Delegated { roles, .. }, Some(u)) => Actor::User { id: u.id, upn: u.user_principal_name.to_string(), roles: roles.clone() },
        (Principal::App { app_id, .. }, _) => Actor::Application { app_id: app_id.clone() },
        _ => Actor::System,
    };
    let base = format!("{}{}", st.config.public_url.as_str(), version);
    let config_id = || id.and_then(MethodId::parse).ok_or_else(|| gerr(StatusCode::NOT_FOUND, "Request_ResourceNotFound", format!("No authentication method configuration '{}' exists.", id.unwrap_or_default())));
    match route.op {
        Op::GetPolicy => {
            let mut configs = vec![];
            for m in MethodId::ALL {
                configs.push(st.service.method_configuration(m).await?.to_json());
            }
            Ok(axum::Json(json!({
                "@odata.context": format!("{base}/$metadata#policies/authenticationMethodsPolicy/$entity"),
                "id": "authenticationMethodsPolicy", "displayName": "Authentication Methods Policy",
                "description": "The tenant-wide policy that controls which authentication methods are allowed in the tenant, authentication method registration requirements, and self-service password reset settings",
                "policyVersion": "1.5", "policyMigrationState": "migrationComplete", "reconfirmationInDays": 0,
                "authenticationMethodConfigurations": configs
            }))
            .into_response())
        }
        Op::ListConfigs => {
            let mut configs = vec![];
            for m in MethodId::ALL {
                configs.push(st.service.method_configuration(m).await?.to_json());
            }
            Ok(axum::Json(json!({"@odata.context": format!("{base}/$metadata#policies/authenticationMethodsPolicy/authenticationMethodConfigurations"), "value": configs})).into_response())
        }
        Op::GetConfig => {
            let m = config_id()?;
            let mut v = st.service.method_configuration(m).await?.to_json();
            v["@odata.context"] = json!(format!("{base}/$metadata#policies/authenticationMethodsPolicy/authenticationMethodConfigurations/$entity"));
            Ok(axum::Json(v).into_response())
        }
        Op::PatchConfig => {
            let m = config_id()?;
            let v: Value = serde_json::from_slice(body).map_err(|e| gerr(StatusCode::BAD_REQUEST, "BadRequest", format!("The request body is not valid JSON: {e}")))?;
            let t = v.get("@odata.type").and_then(Value::as_str);
            if !t.is_some_and(|t| t.eq_ignore_ascii_case(m.odata_type())) {
                return Err(gerr(StatusCode::BAD_REQUEST, "BadRequest", format!("The request body must carry \"@odata.type\": \"{}\".", m.odata_type())));
            }
            let saved = st.service.patch_method_configuration(&actor, m, v).await?;
            let mut res = StatusCode::NO_CONTENT.into_response();
            // Consequences (R5, R6) travel in a header: a 204 has no body.
            if let Some(w) = saved.warnings.first().and_then(|w| HeaderValue::from_str(&w.replace(['\n', '\r'], " ")).ok()) {
                res.headers_mut().insert("x-portcullis-warning", w);
            }
            Ok(res)
        }
        Op::ResetConfig => {
            let m = config_id()?;
            let _: MethodConfiguration = st.service.reset_method_configuration(&actor, m).await?.config;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
    }
}
