//! The Graph-compatible admin API (graph-api.md): a route table in which every route
//! declares the scopes, app roles and directory roles it needs; case-insensitive path
//! matching; Graph's error body with a server-made `request-id` on every 4xx/5xx.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_domain::actor::Actor;
use portcullis_domain::authz::{authorize_capability, Capability, Principal};
use portcullis_service::ServiceError;
use serde_json::{json, Value};

use crate::AppState;

mod apps;
mod body;
pub(crate) mod ca;
mod devices;
mod directory;
mod factors;
mod methods;
pub(crate) mod odata;
mod policy;
pub(crate) mod reports;
mod strength_configs;
pub(crate) mod users;

/// What a route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `GET policies/authenticationMethodsPolicy`.
    GetPolicy,
    /// `PATCH policies/authenticationMethodsPolicy` → 200 with the policy.
    PatchPolicy,
    /// `GET …/authenticationMethodConfigurations`.
    ListConfigs,
    /// `GET …/authenticationMethodConfigurations/{id}`.
    GetConfig,
    /// `PATCH …/authenticationMethodConfigurations/{id}` → 204.
    PatchConfig,
    /// `DELETE …/authenticationMethodConfigurations/{id}` → reset, 204.
    ResetConfig,
    /// `GET users`.
    ListUsers,
    /// `POST users`.
    CreateUser,
    /// `GET users/{id}`.
    GetUser,
    /// `PATCH users/{id}`.
    UpdateUser,
    /// `DELETE users/{id}`.
    DeleteUser,
    /// `GET users/{id}/authentication/methods`.
    ListMethods,
    /// `GET users/{id}/authentication/softwareOathMethods`.
    ListOath,
    /// `GET users/{id}/authentication/softwareOathMethods/{sub}`.
    GetOath,
    /// `DELETE users/{id}/authentication/softwareOathMethods/{sub}`.
    DeleteOath,
    /// `GET users/{id}/authentication/microsoftAuthenticatorMethods`.
    ListAuthenticators,
    /// `GET users/{id}/authentication/microsoftAuthenticatorMethods/{sub}`.
    GetAuthenticator,
    /// `DELETE users/{id}/authentication/microsoftAuthenticatorMethods/{sub}`.
    DeleteAuthenticator,
    /// `GET users/{id}/authentication/passwordMethods`.
    ListPasswords,
    /// `GET users/{id}/authentication/passwordMethods/{sub}`.
    GetPassword,
    /// `GET users/{id}/authentication/temporaryAccessPassMethods`.
    ListTaps,
    /// `POST users/{id}/authentication/temporaryAccessPassMethods`.
    CreateTap,
    /// `GET users/{id}/authentication/temporaryAccessPassMethods/{sub}`.
    GetTap,
    /// `DELETE users/{id}/authentication/temporaryAccessPassMethods/{sub}`.
    DeleteTap,
    /// `GET users/{id}/authentication/fido2Methods`.
    ListFido2,
    /// `GET users/{id}/authentication/fido2Methods/{sub}`.
    GetFido2,
    /// `DELETE users/{id}/authentication/fido2Methods/{sub}`.
    DeleteFido2,
    /// `GET policies/authenticationStrengthPolicies`.
    ListStrengths,
    /// `GET policies/authenticationStrengthPolicies/{id}`.
    GetStrength,
    /// `GET auditLogs/directoryAudits`.
    ListAudits,
    /// `GET reports/authenticationMethods/userRegistrationDetails`.
    ListRegistrationDetails,
    /// `GET reports/authenticationMethods/userRegistrationDetails/{id}`.
    GetRegistrationDetails,
    /// `GET reports/authenticationMethods/usersRegisteredByMethod(…)`.
    UsersRegisteredByMethod,
    /// `GET groups`.
    ListGroups,
    /// `POST groups`.
    CreateGroup,
    /// `GET groups/{id}/members`.
    ListGroupMembers,
    /// `POST groups/{id}/members/$ref`.
    AddGroupMember,
    /// `GET directoryRoles`.
    ListRoles,
    /// `GET directoryRoles/{id}/members`.
    ListRoleMembers,
    /// `POST directoryRoles/{id}/members/$ref`.
    AddRoleMember,
    /// `GET me/authentication/methods`.
    MeListMethods,
    /// `GET me/authentication/fido2Methods`.
    MeListFido2,
    /// `DELETE me/authentication/fido2Methods/{sub}` (the user removes their own passkey, R25).
    MeDeleteFido2,
    /// `GET users/{id}/authentication/fido2Methods/creationOptions(…)`.
    Fido2CreationOptions,
    /// `POST users/{id}/authentication/fido2Methods` (provisioning).
    ProvisionFido2,
    /// `GET devices`.
    ListDevices,
    /// `GET devices/{id}`.
    GetDevice,
    /// `PATCH devices/{id}`.
    UpdateDevice,
    /// `DELETE devices/{id}`.
    DeleteDevice,
    /// `GET applications`.
    ListApplications,
    /// `POST applications`.
    CreateApplication,
    /// `GET applications/{id}`.
    GetApplication,
    /// `PATCH applications/{id}`.
    UpdateApplication,
    /// `DELETE applications/{id}`.
    DeleteApplication,
    /// `POST applications/{id}/addPassword`.
    AddPassword,
    /// `POST applications/{id}/removePassword`.
    RemovePassword,
    /// `GET servicePrincipals`.
    ListServicePrincipals,
    /// `POST servicePrincipals`.
    CreateServicePrincipal,
    /// `GET servicePrincipals/{id}`.
    GetServicePrincipal,
    /// `PATCH servicePrincipals/{id}`.
    UpdateServicePrincipal,
    /// `DELETE servicePrincipals/{id}`.
    DeleteServicePrincipal,
    /// `GET identity/conditionalAccess/policies`.
    ListCaPolicies,
    /// `POST identity/conditionalAccess/policies`.
    CreateCaPolicy,
    /// `GET identity/conditionalAccess/policies/{id}`.
    GetCaPolicy,
    /// `PATCH identity/conditionalAccess/policies/{id}`.
    UpdateCaPolicy,
    /// `DELETE identity/conditionalAccess/policies/{id}`.
    DeleteCaPolicy,
    /// `GET identity/conditionalAccess/namedLocations`.
    ListLocations,
    /// `POST identity/conditionalAccess/namedLocations`.
    CreateLocation,
    /// `GET identity/conditionalAccess/namedLocations/{id}`.
    GetLocation,
    /// `DELETE identity/conditionalAccess/namedLocations/{id}`.
    DeleteLocation,
    /// `POST identity/conditionalAccess/evaluate`.
    Evaluate,
    /// `GET identity/conditionalAccess/authenticationStrength/authenticationMethodModes`.
    MethodModes,
    /// `POST policies/authenticationStrengthPolicies`.
    CreateStrength,
    /// `PATCH policies/authenticationStrengthPolicies/{id}`.
    UpdateStrength,
    /// `DELETE policies/authenticationStrengthPolicies/{id}`.
    DeleteStrength,
    /// `POST policies/authenticationStrengthPolicies/{id}/updateAllowedCombinations`.
    UpdateAllowedCombinations,
    /// `GET policies/authenticationStrengthPolicies/{id}/combinationConfigurations`.
    ListCombinationConfigurations,
    /// `GET …/combinationConfigurations/{ccId}`.
    GetCombinationConfiguration,
    /// `POST …/combinationConfigurations`.
    CreateCombinationConfiguration,
    /// `PATCH …/combinationConfigurations/{ccId}`.
    UpdateCombinationConfiguration,
    /// `DELETE …/combinationConfigurations/{ccId}`.
    DeleteCombinationConfiguration,
    /// `GET auditLogs/signIns`.
    ListSignIns,
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
    /// What it does, and so who may call it (the domain's one table).
    pub capability: Capability,
}

/// Every route of the admin API, with what it requires. One test walks this table.
/// (The application routes take the application's object id; its client id works too.)
pub const ROUTES: &[RouteSpec] = &[
    RouteSpec {
        method: "GET",
        pattern: &["policies", "authenticationmethodspolicy"],
        op: Op::GetPolicy,
        capability: Capability::ReadPolicy,
    },
    RouteSpec {
        method: "PATCH",
        pattern: &["policies", "authenticationmethodspolicy"],
        op: Op::PatchPolicy,
        capability: Capability::WritePolicy,
    },
    RouteSpec {
        method: "GET",
        pattern: &[
            "policies",
            "authenticationmethodspolicy",
            "authenticationmethodconfigurations",
        ],
        op: Op::ListConfigs,
        capability: Capability::ReadPolicy,
    },
    RouteSpec {
        method: "GET",
        pattern: &[
            "policies",
            "authenticationmethodspolicy",
            "authenticationmethodconfigurations",
            "{id}",
        ],
        op: Op::GetConfig,
        capability: Capability::ReadPolicy,
    },
    RouteSpec {
        method: "PATCH",
        pattern: &[
            "policies",
            "authenticationmethodspolicy",
            "authenticationmethodconfigurations",
            "{id}",
        ],
        op: Op::PatchConfig,
        capability: Capability::WritePolicy,
    },
    RouteSpec {
        method: "DELETE",
        pattern: &[
            "policies",
            "authenticationmethodspolicy",
            "authenticationmethodconfigurations",
            "{id}",
        ],
        op: Op::ResetConfig,
        capability: Capability::WritePolicy,
    },
    RouteSpec {
        method: "GET",
        pattern: &["users"],
        op: Op::ListUsers,
        capability: Capability::ReadUsers,
    },
    RouteSpec {
        method: "POST",
        pattern: &["users"],
        op: Op::CreateUser,
        capability: Capability::WriteUsers,
    },
    RouteSpec {
        method: "GET",
        pattern: &["users", "{id}"],
        op: Op::GetUser,
        capability: Capability::ReadUsers,
    },
    RouteSpec {
        method: "PATCH",
        pattern: &["users", "{id}"],
        op: Op::UpdateUser,
        capability: Capability::WriteUsers,
    },
    RouteSpec {
        method: "DELETE",
        pattern: &["users", "{id}"],
        op: Op::DeleteUser,
        capability: Capability::WriteUsers,
    },
    RouteSpec {
        method: "GET",
        pattern: &["users", "{id}", "authentication", "methods"],
        op: Op::ListMethods,
        capability: Capability::ReadMethods,
    },
    RouteSpec {
        method: "GET",
        pattern: &["users", "{id}", "authentication", "softwareoathmethods"],
        op: Op::ListOath,
        capability: Capability::ReadMethods,
    },
    RouteSpec {
        method: "GET",
        pattern: &[
            "users",
            "{id}",
            "authentication",
            "softwareoathmethods",
            "{sub}",
        ],
        op: Op::GetOath,
        capability: Capability::ReadMethods,
    },
    RouteSpec {
        method: "DELETE",
        pattern: &[
            "users",
            "{id}",
            "authentication",
            "softwareoathmethods",
            "{sub}",
        ],
        op: Op::DeleteOath,
        capability: Capability::WriteMethods,
    },
    RouteSpec {
        method: "GET",
        pattern: &[
            "users",
            "{id}",
            "authentication",
            "microsoftauthenticatormethods",
        ],
        op: Op::ListAuthenticators,
        capability: Capability::ReadMethods,
    },
    RouteSpec {
        method: "GET",
        pattern: &[
            "users",
            "{id}",
            "authentication",
            "microsoftauthenticatormethods",
            "{sub}",
        ],
        op: Op::GetAuthenticator,
        capability: Capability::ReadMethods,
    },
    RouteSpec {
        method: "DELETE",
        pattern: &[
            "users",
            "{id}",
            "authentication",
            "microsoftauthenticatormethods",
            "{sub}",
        ],
        op: Op::DeleteAuthenticator,
        capability: Capability::WriteMethods,
    },
    RouteSpec {
        method: "GET",
        pattern: &["users", "{id}", "authentication", "passwordmethods"],
        op: Op::ListPasswords,
        capability: Capability::ReadMethods,
    },
    RouteSpec {
        method: "GET",
        pattern: &[
            "users",
            "{id}",
            "authentication",
            "passwordmethods",
            "{sub}",
        ],
        op: Op::GetPassword,
        capability: Capability::ReadMethods,
    },
    RouteSpec {
        method: "GET",
        pattern: &[
            "users",
            "{id}",
            "authentication",
            "temporaryaccesspassmethods",
        ],
        op: Op::ListTaps,
        capability: Capability::ReadTap,
    },
    RouteSpec {
        method: "POST",
        pattern: &[
            "users",
            "{id}",
            "authentication",
            "temporaryaccesspassmethods",
        ],
        op: Op::CreateTap,
        capability: Capability::WriteTap,
    },
    RouteSpec {
        method: "GET",
        pattern: &[
            "users",
            "{id}",
            "authentication",
            "temporaryaccesspassmethods",
            "{sub}",
        ],
        op: Op::GetTap,
        capability: Capability::ReadTap,
    },
    RouteSpec {
        method: "DELETE",
        pattern: &[
            "users",
            "{id}",
            "authentication",
            "temporaryaccesspassmethods",
            "{sub}",
        ],
        op: Op::DeleteTap,
        capability: Capability::WriteTap,
    },
    RouteSpec {
        method: "GET",
        pattern: &["users", "{id}", "authentication", "fido2methods"],
        op: Op::ListFido2,
        capability: Capability::ReadFido2,
    },
    RouteSpec {
        method: "GET",
        pattern: &[
            "users",
            "{id}",
            "authentication",
            "fido2methods",
            "creationoptions",
        ],
        op: Op::Fido2CreationOptions,
        capability: Capability::WriteFido2,
    },
    RouteSpec {
        method: "POST",
        pattern: &["users", "{id}", "authentication", "fido2methods"],
        op: Op::ProvisionFido2,
        capability: Capability::WriteFido2,
    },
    RouteSpec {
        method: "GET",
        pattern: &["users", "{id}", "authentication", "fido2methods", "{sub}"],
        op: Op::GetFido2,
        capability: Capability::ReadFido2,
    },
    RouteSpec {
        method: "DELETE",
        pattern: &["users", "{id}", "authentication", "fido2methods", "{sub}"],
        op: Op::DeleteFido2,
        capability: Capability::WriteFido2,
    },
    RouteSpec {
        method: "GET",
        pattern: &["policies", "authenticationstrengthpolicies"],
        op: Op::ListStrengths,
        capability: Capability::ReadStrengths,
    },
    RouteSpec {
        method: "GET",
        pattern: &["policies", "authenticationstrengthpolicies", "{id}"],
        op: Op::GetStrength,
        capability: Capability::ReadStrengths,
    },
    RouteSpec {
        method: "GET",
        pattern: &["auditlogs", "directoryaudits"],
        op: Op::ListAudits,
        capability: Capability::ReadAudit,
    },
    RouteSpec {
        method: "GET",
        pattern: &["auditlogs", "signins"],
        op: Op::ListSignIns,
        capability: Capability::ReadAudit,
    },
    RouteSpec {
        method: "GET",
        pattern: &[
            "reports",
            "authenticationmethods",
            "userregistrationdetails",
        ],
        op: Op::ListRegistrationDetails,
        capability: Capability::ReadReports,
    },
    RouteSpec {
        method: "GET",
        pattern: &[
            "reports",
            "authenticationmethods",
            "userregistrationdetails",
            "{id}",
        ],
        op: Op::GetRegistrationDetails,
        capability: Capability::ReadReports,
    },
    RouteSpec {
        method: "GET",
        pattern: &[
            "reports",
            "authenticationmethods",
            "usersregisteredbymethod",
        ],
        op: Op::UsersRegisteredByMethod,
        capability: Capability::ReadReports,
    },
    RouteSpec {
        method: "GET",
        pattern: &["groups"],
        op: Op::ListGroups,
        capability: Capability::ReadGroups,
    },
    RouteSpec {
        method: "POST",
        pattern: &["groups"],
        op: Op::CreateGroup,
        capability: Capability::WriteGroups,
    },
    RouteSpec {
        method: "GET",
        pattern: &["groups", "{id}", "members"],
        op: Op::ListGroupMembers,
        capability: Capability::ReadGroups,
    },
    RouteSpec {
        method: "POST",
        pattern: &["groups", "{id}", "members", "$ref"],
        op: Op::AddGroupMember,
        capability: Capability::WriteGroups,
    },
    RouteSpec {
        method: "GET",
        pattern: &["directoryroles"],
        op: Op::ListRoles,
        capability: Capability::ReadRoles,
    },
    RouteSpec {
        method: "GET",
        pattern: &["directoryroles", "{id}", "members"],
        op: Op::ListRoleMembers,
        capability: Capability::ReadRoles,
    },
    RouteSpec {
        method: "POST",
        pattern: &["directoryroles", "{id}", "members", "$ref"],
        op: Op::AddRoleMember,
        capability: Capability::WriteRoles,
    },
    RouteSpec {
        method: "GET",
        pattern: &["me", "authentication", "methods"],
        op: Op::MeListMethods,
        capability: Capability::MeRead,
    },
    RouteSpec {
        method: "GET",
        pattern: &["me", "authentication", "fido2methods"],
        op: Op::MeListFido2,
        capability: Capability::MeRead,
    },
    RouteSpec {
        method: "DELETE",
        pattern: &["me", "authentication", "fido2methods", "{sub}"],
        op: Op::MeDeleteFido2,
        capability: Capability::MeWrite,
    },
    RouteSpec {
        method: "GET",
        pattern: &["devices"],
        op: Op::ListDevices,
        capability: Capability::ReadDevices,
    },
    RouteSpec {
        method: "GET",
        pattern: &["devices", "{id}"],
        op: Op::GetDevice,
        capability: Capability::ReadDevices,
    },
    RouteSpec {
        method: "PATCH",
        pattern: &["devices", "{id}"],
        op: Op::UpdateDevice,
        capability: Capability::WriteDevices,
    },
    RouteSpec {
        method: "DELETE",
        pattern: &["devices", "{id}"],
        op: Op::DeleteDevice,
        capability: Capability::WriteDevices,
    },
    RouteSpec {
        method: "GET",
        pattern: &["applications"],
        op: Op::ListApplications,
        capability: Capability::ReadApps,
    },
    RouteSpec {
        method: "POST",
        pattern: &["applications"],
        op: Op::CreateApplication,
        capability: Capability::WriteApps,
    },
    RouteSpec {
        method: "GET",
        pattern: &["applications", "{id}"],
        op: Op::GetApplication,
        capability: Capability::ReadApps,
    },
    RouteSpec {
        method: "PATCH",
        pattern: &["applications", "{id}"],
        op: Op::UpdateApplication,
        capability: Capability::WriteApps,
    },
    RouteSpec {
        method: "DELETE",
        pattern: &["applications", "{id}"],
        op: Op::DeleteApplication,
        capability: Capability::WriteApps,
    },
    RouteSpec {
        method: "POST",
        pattern: &["applications", "{id}", "addpassword"],
        op: Op::AddPassword,
        capability: Capability::AppCredentials,
    },
    RouteSpec {
        method: "POST",
        pattern: &["applications", "{id}", "removepassword"],
        op: Op::RemovePassword,
        capability: Capability::AppCredentials,
    },
    RouteSpec {
        method: "GET",
        pattern: &["serviceprincipals"],
        op: Op::ListServicePrincipals,
        capability: Capability::ReadApps,
    },
    RouteSpec {
        method: "POST",
        pattern: &["serviceprincipals"],
        op: Op::CreateServicePrincipal,
        capability: Capability::WriteApps,
    },
    RouteSpec {
        method: "GET",
        pattern: &["serviceprincipals", "{id}"],
        op: Op::GetServicePrincipal,
        capability: Capability::ReadApps,
    },
    RouteSpec {
        method: "PATCH",
        pattern: &["serviceprincipals", "{id}"],
        op: Op::UpdateServicePrincipal,
        capability: Capability::WriteApps,
    },
    RouteSpec {
        method: "DELETE",
        pattern: &["serviceprincipals", "{id}"],
        op: Op::DeleteServicePrincipal,
        capability: Capability::WriteApps,
    },
    RouteSpec {
        method: "GET",
        pattern: &["identity", "conditionalaccess", "policies"],
        op: Op::ListCaPolicies,
        capability: Capability::ReadCa,
    },
    RouteSpec {
        method: "POST",
        pattern: &["identity", "conditionalaccess", "policies"],
        op: Op::CreateCaPolicy,
        capability: Capability::WriteCa,
    },
    RouteSpec {
        method: "GET",
        pattern: &["identity", "conditionalaccess", "policies", "{id}"],
        op: Op::GetCaPolicy,
        capability: Capability::ReadCa,
    },
    RouteSpec {
        method: "PATCH",
        pattern: &["identity", "conditionalaccess", "policies", "{id}"],
        op: Op::UpdateCaPolicy,
        capability: Capability::WriteCa,
    },
    RouteSpec {
        method: "DELETE",
        pattern: &["identity", "conditionalaccess", "policies", "{id}"],
        op: Op::DeleteCaPolicy,
        capability: Capability::WriteCa,
    },
    RouteSpec {
        method: "GET",
        pattern: &["identity", "conditionalaccess", "namedlocations"],
        op: Op::ListLocations,
        capability: Capability::ReadCa,
    },
    RouteSpec {
        method: "POST",
        pattern: &["identity", "conditionalaccess", "namedlocations"],
        op: Op::CreateLocation,
        capability: Capability::WriteCa,
    },
    RouteSpec {
        method: "GET",
        pattern: &["identity", "conditionalaccess", "namedlocations", "{id}"],
        op: Op::GetLocation,
        capability: Capability::ReadCa,
    },
    RouteSpec {
        method: "DELETE",
        pattern: &["identity", "conditionalaccess", "namedlocations", "{id}"],
        op: Op::DeleteLocation,
        capability: Capability::WriteCa,
    },
    RouteSpec {
        method: "POST",
        pattern: &["identity", "conditionalaccess", "evaluate"],
        op: Op::Evaluate,
        capability: Capability::ReadCa,
    },
    RouteSpec {
        method: "GET",
        pattern: &[
            "identity",
            "conditionalaccess",
            "authenticationstrength",
            "authenticationmethodmodes",
        ],
        op: Op::MethodModes,
        capability: Capability::ReadStrengths,
    },
    RouteSpec {
        method: "POST",
        pattern: &["policies", "authenticationstrengthpolicies"],
        op: Op::CreateStrength,
        capability: Capability::WriteStrengths,
    },
    RouteSpec {
        method: "PATCH",
        pattern: &["policies", "authenticationstrengthpolicies", "{id}"],
        op: Op::UpdateStrength,
        capability: Capability::WriteStrengths,
    },
    RouteSpec {
        method: "DELETE",
        pattern: &["policies", "authenticationstrengthpolicies", "{id}"],
        op: Op::DeleteStrength,
        capability: Capability::WriteStrengths,
    },
    RouteSpec {
        method: "POST",
        pattern: &[
            "policies",
            "authenticationstrengthpolicies",
            "{id}",
            "updateallowedcombinations",
        ],
        op: Op::UpdateAllowedCombinations,
        capability: Capability::WriteStrengths,
    },
    RouteSpec {
        method: "GET",
        pattern: &[
            "policies",
            "authenticationstrengthpolicies",
            "{id}",
            "combinationconfigurations",
        ],
        op: Op::ListCombinationConfigurations,
        capability: Capability::ReadStrengths,
    },
    RouteSpec {
        method: "POST",
        pattern: &[
            "policies",
            "authenticationstrengthpolicies",
            "{id}",
            "combinationconfigurations",
        ],
        op: Op::CreateCombinationConfiguration,
        capability: Capability::WriteStrengths,
    },
    RouteSpec {
        method: "GET",
        pattern: &[
            "policies",
            "authenticationstrengthpolicies",
            "{id}",
            "combinationconfigurations",
            "{sub}",
        ],
        op: Op::GetCombinationConfiguration,
        capability: Capability::ReadStrengths,
    },
    RouteSpec {
        method: "PATCH",
        pattern: &[
            "policies",
            "authenticationstrengthpolicies",
            "{id}",
            "combinationconfigurations",
            "{sub}",
        ],
        op: Op::UpdateCombinationConfiguration,
        capability: Capability::WriteStrengths,
    },
    RouteSpec {
        method: "DELETE",
        pattern: &[
            "policies",
            "authenticationstrengthpolicies",
            "{id}",
            "combinationconfigurations",
            "{sub}",
        ],
        op: Op::DeleteCombinationConfiguration,
        capability: Capability::WriteStrengths,
    },
];

/// Per-request ids for the error body and headers.
struct Ids {
    request_id: String,
    client_request_id: String,
}

/// Properties of a body that need a capability beyond their route's (checked with
/// [`Ctx::also_requires`] when the property is present): the capability test's list.
#[cfg(test)]
pub(crate) const PROPERTY_CAPABILITIES: &[(&str, Capability)] = &[users::PASSWORD_PROFILE];

/// A Graph error.
pub(crate) struct GraphError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

pub(crate) fn gerr(
    status: StatusCode,
    code: &'static str,
    message: impl Into<String>,
) -> GraphError {
    GraphError {
        status,
        code,
        message: message.into(),
    }
}

impl From<odata::ODataError> for GraphError {
    fn from(e: odata::ODataError) -> Self {
        gerr(StatusCode::BAD_REQUEST, e.code(), e.to_string())
    }
}

impl From<ServiceError> for GraphError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound(m) => gerr(StatusCode::NOT_FOUND, "Request_ResourceNotFound", m),
            ServiceError::Forbidden(m) => gerr(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                m.to_string(),
            ),
            ServiceError::AppPrivilege(m) => gerr(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                m.to_string(),
            ),
            ServiceError::Conflict(m) => gerr(StatusCode::CONFLICT, "Request_BadRequest", m),
            ServiceError::Store(_) | ServiceError::Internal(_) => {
                tracing::error!(error = %e, "Graph request failed");
                gerr(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "generalException",
                    "An internal error occurred.",
                )
            }
            other => gerr(StatusCode::BAD_REQUEST, "badRequest", other.to_string()),
        }
    }
}

fn error_response(e: GraphError, ids: &Ids, now: &str) -> Response {
    let body = json!({"error": {"code": e.code, "message": e.message, "innerError": {"date": now, "request-id": ids.request_id, "client-request-id": ids.client_request_id}}});
    let mut res = (e.status, axum::Json(body)).into_response();
    if e.status == StatusCode::UNAUTHORIZED {
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    res
}

/// Path parameters of a matched route.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Params<'a> {
    pub id: Option<&'a str>,
    pub sub: Option<&'a str>,
}

fn matches<'a>(pattern: &[&str], segs: &'a [String]) -> Option<Params<'a>> {
    if pattern.len() != segs.len() {
        return None;
    }
    let mut p = Params::default();
    for (pat, s) in pattern.iter().zip(segs) {
        match *pat {
            "{id}" => p.id = Some(s.as_str()),
            "{sub}" => p.sub = Some(s.as_str()),
            lit if !lit.eq_ignore_ascii_case(s) => return None,
            _ => {}
        }
    }
    Some(p)
}

/// The caller of an admin API: a bearer token that verifies, holding what `capability`
/// requires (the domain's one table), as the actor the audit log records.
pub(crate) async fn authenticate(
    st: &AppState,
    headers: &HeaderMap,
    capability: Capability,
) -> Result<(Actor, Option<portcullis_domain::directory::User>), GraphError> {
    let token = crate::oidc::bearer(headers);
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err(gerr(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty.",
        ));
    };
    let issuer = &st.config.issuer();
    let (principal, user) = st.service.verify_token(issuer, token).await?.map_err(|e| {
        gerr(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            e.to_string(),
        )
    })?;
    authorize_capability(capability, &principal).map_err(|d| {
        gerr(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            d.to_string(),
        )
    })?;
    let actor = match (&principal, &user) {
        (Principal::Delegated { roles, .. }, Some(u)) => Actor::User {
            id: u.id,
            upn: u.user_principal_name.to_string(),
            roles: roles.clone(),
        },
        (Principal::App { app_id, .. }, _) => Actor::Application {
            app_id: app_id.clone(),
        },
        _ => Actor::System,
    };
    Ok((actor, user))
}

/// Entry point for `/v1.0/…` and `/beta/…`.
pub async fn dispatch(
    State(st): State<AppState>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let result = match body {
        Ok(body) => handle(&st, &method, &uri, &headers, &body).await,
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(gerr(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request_BadRequest",
            "The request body is too large.",
        )),
        Err(r) => Err(gerr(StatusCode::BAD_REQUEST, "BadRequest", r.body_text())),
    };
    finish(&st, &headers, result)
}

/// Whether the request says its body is JSON (`application/json`, any parameters, or a
/// `+json` type).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase())
        .is_some_and(|t| {
            t == "application/json" || (t.starts_with("application/") && t.ends_with("+json"))
        })
}

/// A handler's answer as the admin API gives it: errors in Graph's error shape, and the
/// request ids on every response.
pub(crate) fn finish(
    st: &AppState,
    headers: &HeaderMap,
    result: Result<Response, GraphError>,
) -> Response {
    let ids = Ids {
        request_id: headers
            .get(crate::edge::REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string),
        client_request_id: headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(64).collect())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
    };
    let now = portcullis_domain::time_fmt::rfc3339(st.service.now());
    let mut res = match result {
        Ok(r) => r,
        Err(e) => error_response(e, &ids, &now),
    };
    for (k, v) in [
        ("request-id", &ids.request_id),
        ("client-request-id", &ids.client_request_id),
    ] {
        if let Ok(v) = HeaderValue::from_str(v) {
            res.headers_mut().insert(k, v);
        }
    }
    res
}

async fn handle(
    st: &AppState,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, GraphError> {
    let path = uri.path();
    let mut segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let version = if segs.is_empty() {
        String::new()
    } else {
        segs.remove(0)
    };
    // `creationOptions()`, `creationOptions(challengeTimeoutInMinutes=10)` and the SDK's
    // `creationOptions(challengeTimeoutInMinutes=@challengeTimeoutInMinutes)` name one function.
    let mut function_args = None;
    // So do `usersRegisteredByMethod()` and `usersRegisteredByMethod(includedUserTypes='all',…)`.
    if let Some(last) = segs.last_mut() {
        let lower = last.to_ascii_lowercase();
        if let Some(name) = ["creationOptions", "usersRegisteredByMethod"]
            .into_iter()
            .find(|f| lower.starts_with(&f.to_ascii_lowercase()))
        {
            function_args = last
                .find('(')
                .map(|i| last[i..].trim_matches(|c| c == '(' || c == ')').to_string());
            *last = name.into();
        }
    }
    // Entra's own how-to PATCHes `/beta/authenticationMethodsPolicy/…` without `policies/`.
    if segs
        .first()
        .is_some_and(|s| s.eq_ignore_ascii_case("authenticationMethodsPolicy"))
    {
        segs.insert(0, "policies".into());
    }
    let candidates: Vec<(&RouteSpec, Params<'_>)> = ROUTES
        .iter()
        .filter_map(|r| matches(r.pattern, &segs).map(|p| (r, p)))
        .collect();
    if candidates.is_empty() {
        return Err(gerr(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!(
                "Resource not found for the segment '{}'.",
                segs.last().cloned().unwrap_or_default()
            ),
        ));
    }
    let Some((route, params)) = candidates
        .iter()
        .find(|(r, _)| r.method == method.as_str())
        .copied()
    else {
        return Err(gerr(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request_BadRequest",
            format!("The {method} method is not supported on this resource."),
        ));
    };
    let (actor, user) = authenticate(st, headers, route.capability).await?;
    // Bodies are read as JSON only, once the caller is known.
    if !body.is_empty() && !is_json(headers) {
        return Err(gerr(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            format!(
                "A request body is read as JSON: send it with Content-Type: application/json, not {}.",
                headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map_or_else(|| "no Content-Type".to_string(), |v| format!("'{}'", v.chars().take(80).collect::<String>()))
            ),
        ));
    }
    let base = format!("{}/{}", st.config.issuer(), version);
    let mut query = parse_query(uri.query().unwrap_or(""));
    if let Some(args) = function_args.filter(|a| !a.is_empty()) {
        for (k, v) in function_arguments(&args) {
            if !v.starts_with('@') {
                query.push((format!("fn:{k}"), v));
            }
        }
    }
    let cx = Ctx {
        st,
        actor: &actor,
        base: &base,
        beta: version.eq_ignore_ascii_case("beta"),
        params,
        query,
        body,
        headers,
    };
    match route.op {
        Op::ListUsers => return users::list(&cx).await,
        Op::CreateUser => return users::create(&cx).await,
        Op::GetUser => return users::get(&cx).await,
        Op::UpdateUser => return users::update(&cx).await,
        Op::DeleteUser => return users::delete(&cx).await,
        Op::ListMethods => return methods::list_all(&cx).await,
        Op::ListTaps => return methods::list_taps(&cx).await,
        Op::ListOath => return factors::list_oath(&cx).await,
        Op::GetOath => return factors::get_oath(&cx).await,
        Op::DeleteOath => return factors::delete_oath(&cx).await,
        Op::ListPasswords => return factors::list_passwords(&cx).await,
        Op::ListAuthenticators => return factors::list_authenticators(&cx).await,
        Op::GetAuthenticator => return factors::get_authenticator(&cx).await,
        Op::DeleteAuthenticator => return factors::delete_authenticator(&cx).await,
        Op::GetPassword => return factors::get_password(&cx).await,
        Op::CreateTap => return methods::create_tap(&cx).await,
        Op::GetTap => return methods::get_tap(&cx).await,
        Op::DeleteTap => return methods::delete_tap(&cx).await,
        Op::ListFido2 => return methods::list_fido2(&cx).await,
        Op::GetFido2 => return methods::get_fido2(&cx).await,
        Op::DeleteFido2 => return methods::delete_fido2(&cx).await,
        Op::ListStrengths => return reports::list_strengths(&cx).await,
        Op::GetStrength => return reports::get_strength(&cx).await,
        Op::ListAudits => return reports::list_audits(&cx).await,
        Op::ListSignIns => return reports::list_sign_ins(&cx).await,
        Op::ListRegistrationDetails => return reports::list_registration_details(&cx).await,
        Op::GetRegistrationDetails => return reports::get_registration_details(&cx).await,
        Op::UsersRegisteredByMethod => return reports::users_registered_by_method(&cx).await,
        Op::ListGroups => return directory::list_groups(&cx).await,
        Op::CreateGroup => return directory::create_group(&cx).await,
        Op::ListGroupMembers => return directory::list_members(&cx).await,
        Op::AddGroupMember => return directory::add_member(&cx).await,
        Op::ListRoles => return directory::list_roles(&cx),
        Op::ListRoleMembers => return directory::list_role_members(&cx).await,
        Op::AddRoleMember => return directory::add_role_member(&cx).await,
        Op::Fido2CreationOptions => return methods::creation_options(&cx).await,
        Op::ProvisionFido2 => return methods::provision_fido2(&cx).await,
        Op::ListDevices => return devices::list_devices(&cx).await,
        Op::GetDevice => return devices::get_device(&cx).await,
        Op::UpdateDevice => return devices::update_device(&cx).await,
        Op::DeleteDevice => return devices::delete_device(&cx).await,
        Op::ListApplications => return apps::list_applications(&cx).await,
        Op::CreateApplication => return apps::create_application(&cx).await,
        Op::GetApplication => return apps::get_application(&cx).await,
        Op::UpdateApplication => return apps::update_application(&cx).await,
        Op::DeleteApplication => return apps::delete_application(&cx).await,
        Op::AddPassword => return apps::add_password(&cx).await,
        Op::RemovePassword => return apps::remove_password(&cx).await,
        Op::ListServicePrincipals => return apps::list_service_principals(&cx).await,
        Op::CreateServicePrincipal => return apps::create_service_principal(&cx).await,
        Op::GetServicePrincipal => return apps::get_service_principal(&cx).await,
        Op::UpdateServicePrincipal => return apps::update_service_principal(&cx).await,
        Op::DeleteServicePrincipal => return apps::delete_service_principal(&cx).await,
        Op::ListCaPolicies => return ca::list_policies(&cx).await,
        Op::CreateCaPolicy => return ca::create_policy(&cx).await,
        Op::GetCaPolicy => return ca::get_policy(&cx).await,
        Op::UpdateCaPolicy => return ca::update_policy(&cx).await,
        Op::DeleteCaPolicy => return ca::delete_policy(&cx).await,
        Op::ListLocations => return ca::list_locations(&cx).await,
        Op::CreateLocation => return ca::create_location(&cx).await,
        Op::GetLocation => return ca::get_location(&cx).await,
        Op::DeleteLocation => return ca::delete_location(&cx).await,
        Op::Evaluate => return ca::evaluate(&cx).await,
        Op::MethodModes => return ca::method_modes(&cx),
        Op::CreateStrength => return ca::create_strength(&cx).await,
        Op::UpdateStrength => return ca::update_strength(&cx).await,
        Op::DeleteStrength => return ca::delete_strength(&cx).await,
        Op::UpdateAllowedCombinations => return ca::update_allowed_combinations(&cx).await,
        Op::ListCombinationConfigurations => return strength_configs::list(&cx).await,
        Op::GetCombinationConfiguration => return strength_configs::get(&cx).await,
        Op::CreateCombinationConfiguration => return strength_configs::create(&cx).await,
        Op::UpdateCombinationConfiguration => return strength_configs::update(&cx).await,
        Op::DeleteCombinationConfiguration => return strength_configs::delete(&cx).await,
        Op::MeListMethods | Op::MeListFido2 | Op::MeDeleteFido2 => {
            let me = user.as_ref().ok_or_else(|| {
                gerr(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "/me is only valid with a delegated token.",
                )
            })?;
            return methods::me(&cx, route.op, me).await;
        }
        _ => {}
    }
    policy::handle(&cx, route.op).await
}

/// What a handler gets.
pub(crate) struct Ctx<'a> {
    pub st: &'a AppState,
    pub actor: &'a Actor,
    /// Absolute base, e.g. `http://localhost:8080/v1.0`.
    pub base: &'a str,
    /// Whether the call came through `/beta`.
    pub beta: bool,
    pub params: Params<'a>,
    /// Query options, `$` names decoded (`%24filter` → `$filter`).
    pub query: Vec<(String, String)>,
    pub body: &'a Bytes,
    /// The request's headers, for a second capability a body may call for.
    pub headers: &'a HeaderMap,
}

impl Ctx<'_> {
    /// Checks that the caller also holds what `capability` requires (a body that does more
    /// than its route: a `passwordProfile` in a user's write sets a credential).
    pub async fn also_requires(&self, capability: Capability) -> Result<(), GraphError> {
        authenticate(self.st, self.headers, capability)
            .await
            .map(|_| ())
    }

    /// A query option by name (case-insensitive).
    pub fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The JSON body as an object.
    pub fn json_body(&self) -> Result<serde_json::Map<String, Value>, GraphError> {
        match serde_json::from_slice::<Value>(self.body) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(gerr(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "The request body must be a JSON object.",
            )),
            Err(e) => Err(gerr(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!("The request body is not valid JSON: {e}"),
            )),
        }
    }
}

/// The query string's options, decoded as a form (`%XX` escapes, `+` as a space), by `url`.
/// A function call's arguments, `name=value` separated by commas — where a value in quotes
/// ends at its closing quote, since the Graph SDKs' URI templates drop the comma after one
/// (`usersRegisteredByMethod(includedUserTypes='all'includedUserRoles='user')`).
fn function_arguments(args: &str) -> Vec<(String, String)> {
    let mut out = vec![];
    let mut rest = args.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim().to_string();
        let after = after.trim_start();
        let (value, next) = match after.strip_prefix('\'') {
            Some(quoted) => match quoted.split_once('\'') {
                Some((v, next)) => (format!("'{v}'"), next),
                None => (format!("'{quoted}"), ""),
            },
            None => match after.split_once(',') {
                Some((v, next)) => (v.trim().to_string(), next),
                None => (after.trim().to_string(), ""),
            },
        };
        out.push((key, value));
        rest = next.trim_start_matches(',').trim();
    }
    out
}

fn parse_query(q: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .collect()
}

#[cfg(test)]
mod table_tests {
    use super::*;

    /// Function arguments, with or without the comma the SDKs' templates drop.
    #[test]
    fn function_arguments_are_read_with_or_without_commas() {
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let both = pairs(&[
            ("includedUserTypes", "'all'"),
            ("includedUserRoles", "'user'"),
        ]);
        assert_eq!(
            function_arguments("includedUserTypes='all',includedUserRoles='user'"),
            both
        );
        assert_eq!(
            function_arguments("includedUserTypes='all'includedUserRoles='user'"),
            both
        );
        assert_eq!(
            function_arguments("challengeTimeoutInMinutes=10"),
            pairs(&[("challengeTimeoutInMinutes", "10")])
        );
        assert_eq!(
            function_arguments("challengeTimeoutInMinutes=@challengeTimeoutInMinutes"),
            pairs(&[("challengeTimeoutInMinutes", "@challengeTimeoutInMinutes")])
        );
        assert!(function_arguments("").is_empty());
    }

    /// Every capability of the domain's table is a route's (the route test walks them all)
    /// or a property's (its refusal is tested where the property is: passwordProfile in the
    /// conditional-access factors suite).
    #[test]
    fn every_capability_is_some_route() {
        for c in Capability::ALL {
            assert!(
                ROUTES.iter().any(|r| r.capability == c)
                    || crate::admin_api::ROUTES.iter().any(|r| r.2 == c)
                    || PROPERTY_CAPABILITIES.iter().any(|p| p.1 == c),
                "{c:?} is no route's"
            );
        }
    }
}
