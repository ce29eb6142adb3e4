//! `applications` and `servicePrincipals`. In Portcullis every application has exactly one
//! service principal from the moment it is registered: both resources show the same record,
//! the application with its redirect URIs and client type, the service principal with the
//! custom security attributes and the two Conditional Access flags (as `tags`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_domain::application::{
    custom_security_attributes_json, Application, IdTokenSigning,
};
use portcullis_domain::time_fmt::rfc3339;
use portcullis_service::apps::{ApplicationPatch, NewApplication, PasswordCredential};
use serde_json::{json, Map, Value};

use super::body::{bad, date_time, flag, list_body, only_known, string};
use super::{Ctx, GraphError};

/// `tags` that carry the Conditional Access flags on a service principal.
pub const TAG_APPROVED_CLIENT_APP: &str = "PortcullisApprovedClientApp";
/// `tags` value for "supports app protection policy".
pub const TAG_APP_PROTECTION: &str = "PortcullisAppProtectionPolicy";
/// `tags` value for "sign this application's ID tokens with ES256" (OpenID Connect's
/// `id_token_signed_response_alg`; without it, RS256).
pub const TAG_ID_TOKEN_ES256: &str = "PortcullisIdTokenES256";

fn uris(a: &Application, public: bool) -> &[String] {
    if a.public_client == public {
        &a.redirect_uris
    } else {
        &[]
    }
}

fn application_json(a: &Application) -> Value {
    json!({
        "id": a.object_id, "appId": a.app_id, "displayName": a.display_name, "signInAudience": "AzureADMyOrg",
        "isFallbackPublicClient": a.public_client,
        "web": {"redirectUris": uris(a, false)}, "publicClient": {"redirectUris": uris(a, true)}, "spa": {"redirectUris": []},
        "tags": tags(a),
    })
}

fn tags(a: &Application) -> Vec<&'static str> {
    let mut t = vec![];
    if a.approved_client_app {
        t.push(TAG_APPROVED_CLIENT_APP);
    }
    if a.app_protection_policy {
        t.push(TAG_APP_PROTECTION);
    }
    if a.id_token_signing == IdTokenSigning::Es256 {
        t.push(TAG_ID_TOKEN_ES256);
    }
    t
}

fn service_principal_json(a: &Application) -> Value {
    json!({
        "id": a.service_principal_id, "appId": a.app_id, "displayName": a.display_name, "accountEnabled": true,
        "servicePrincipalType": "Application", "appOwnerOrganizationId": null,
        "replyUrls": a.redirect_uris, "tags": tags(a),
        "customSecurityAttributes": custom_security_attributes_json(&a.custom_security_attributes),
    })
}

/// `web`/`publicClient`/`spa` `{redirectUris: [...]}`: the URIs in one of them, if present.
fn redirect_uris(b: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, GraphError> {
    let Some(v) = b.get(key).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let Value::Object(o) = v else {
        return Err(bad(format!("'{key}' must be an object.")));
    };
    if let Some(k) = o
        .keys()
        .find(|k| k.as_str() != "redirectUris" && !k.starts_with('@'))
    {
        return Err(bad(format!(
            "'{key}.{k}' is not kept by Portcullis; only redirectUris."
        )));
    }
    match o.get("redirectUris") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|u| {
                u.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad(format!("'{key}.redirectUris' must be strings.")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(bad(format!("'{key}.redirectUris' must be an array."))),
    }
}

/// All redirect URIs of a body, and whether it names any.
fn all_redirect_uris(b: &Map<String, Value>) -> Result<Option<(Vec<String>, bool)>, GraphError> {
    let (web, public, spa) = (
        redirect_uris(b, "web")?,
        redirect_uris(b, "publicClient")?,
        redirect_uris(b, "spa")?,
    );
    if web.is_none() && public.is_none() && spa.is_none() {
        return Ok(None);
    }
    let native_only = web.as_ref().is_none_or(Vec::is_empty)
        && (public.as_ref().is_some_and(|p| !p.is_empty())
            || spa.as_ref().is_some_and(|s| !s.is_empty()));
    Ok(Some((
        [
            web.unwrap_or_default(),
            public.unwrap_or_default(),
            spa.unwrap_or_default(),
        ]
        .concat(),
        native_only,
    )))
}

/// What an application's `tags` say. One record carries them for both the application and
/// its service principal, and a list of tags replaces the whole set, as Graph's does.
#[derive(Debug, Clone, Copy, Default)]
struct Tags {
    approved_client_app: bool,
    app_protection_policy: bool,
    id_token_signing: IdTokenSigning,
}

/// The `tags` of a body, if it has them; other tags are refused rather than lost.
fn tag_flags(b: &Map<String, Value>) -> Result<Option<Tags>, GraphError> {
    let Some(v) = b.get("tags").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let Value::Array(a) = v else {
        return Err(bad("'tags' must be an array of strings."));
    };
    let mut flags = Tags::default();
    for t in a {
        match t.as_str() {
            Some(TAG_APPROVED_CLIENT_APP) => flags.approved_client_app = true,
            Some(TAG_APP_PROTECTION) => flags.app_protection_policy = true,
            Some(TAG_ID_TOKEN_ES256) => flags.id_token_signing = IdTokenSigning::Es256,
            Some(other) => return Err(bad(format!("Portcullis keeps only the tags {TAG_APPROVED_CLIENT_APP}, {TAG_APP_PROTECTION} and {TAG_ID_TOKEN_ES256}, not '{other}'."))),
            None => return Err(bad("'tags' must be an array of strings.")),
        }
    }
    Ok(Some(flags))
}

/// The application a path names: `applications/{id}` takes the object id (or the client id).
async fn by_path(cx: &Ctx<'_>) -> Result<Application, GraphError> {
    Ok(cx
        .st
        .service
        .application(cx.params.id.unwrap_or_default())
        .await?)
}

/// `GET applications`.
pub(crate) async fn list_applications(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let apps = cx.st.service.applications().await?;
    Ok(list_body(
        cx,
        "applications",
        apps.iter().map(|(a, _)| application_json(a)).collect(),
    ))
}

/// `GET applications/{id}`.
pub(crate) async fn get_application(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let app = by_path(cx).await?;
    let mut v = application_json(&app);
    crate::json::set(
        &mut v,
        "passwordCredentials",
        Value::Array(
            cx.st
                .service
                .client_secrets(&app.app_id)
                .await?
                .iter()
                .map(password_credential_json)
                .collect(),
        ),
    );
    Ok(axum::Json(v).into_response())
}

/// `POST applications` → 201. A confidential client gets its secret from `addPassword`.
pub(crate) async fn create_application(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let b = cx.json_body()?;
    only_known(
        &b,
        &[
            "@odata.type",
            "displayName",
            "isFallbackPublicClient",
            "web",
            "publicClient",
            "spa",
            "signInAudience",
            "tags",
        ],
        "application",
    )?;
    let name = string(&b, "displayName")?.ok_or_else(|| bad("displayName is required."))?;
    if let Some(aud) = string(&b, "signInAudience")?.filter(|a| a != "AzureADMyOrg") {
        return Err(bad(format!("signInAudience '{aud}' is not supported: a Portcullis tenant signs in only its own users (AzureADMyOrg).")));
    }
    let (uris, native_only) = all_redirect_uris(&b)?.unwrap_or_default();
    let public_client = flag(&b, "isFallbackPublicClient")?.unwrap_or(native_only);
    let tags = tag_flags(&b)?.unwrap_or_default();
    let spec = NewApplication {
        display_name: name,
        public_client,
        redirect_uris: uris,
        approved_client_app: tags.approved_client_app,
        app_protection_policy: tags.app_protection_policy,
        id_token_signing: tags.id_token_signing,
        custom_security_attributes: None,
        issue_secret: false,
    };
    let (app, _) = cx.st.service.add_application(cx.actor, spec).await?;
    Ok((StatusCode::CREATED, axum::Json(application_json(&app))).into_response())
}

/// `PATCH applications/{id}` → 204.
pub(crate) async fn update_application(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let b = cx.json_body()?;
    only_known(
        &b,
        &[
            "@odata.type",
            "displayName",
            "isFallbackPublicClient",
            "web",
            "publicClient",
            "spa",
            "tags",
        ],
        "application",
    )?;
    let app = by_path(cx).await?;
    if flag(&b, "isFallbackPublicClient")?.is_some_and(|p| p != app.public_client) {
        return Err(bad("isFallbackPublicClient cannot change: register a new application for another client type."));
    }
    let flags = tag_flags(&b)?;
    let patch = ApplicationPatch {
        display_name: string(&b, "displayName")?,
        redirect_uris: all_redirect_uris(&b)?.map(|(u, _)| u),
        approved_client_app: flags.map(|f| f.approved_client_app),
        app_protection_policy: flags.map(|f| f.app_protection_policy),
        id_token_signing: flags.map(|f| f.id_token_signing),
        custom_security_attributes: None,
    };
    cx.st
        .service
        .update_application(cx.actor, &app.app_id, patch)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE applications/{id}` → 204 (its service principal, grants and tokens go with it).
pub(crate) async fn delete_application(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let app = by_path(cx).await?;
    cx.st
        .service
        .delete_application(cx.actor, &app.app_id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A `passwordCredential` as Graph shows it (never the secret: that is in `addPassword`'s
/// answer only).
fn password_credential_json(c: &PasswordCredential) -> Value {
    json!({
        "keyId": c.key_id, "displayName": c.display_name, "hint": c.hint, "secretText": null, "customKeyIdentifier": null,
        "startDateTime": rfc3339(c.start_at), "endDateTime": rfc3339(c.end_at),
    })
}

/// `POST applications/{id}/addPassword` → 200 with the new secret, shown only in this
/// answer. It adds to the application's `passwordCredentials`; it never replaces them.
pub(crate) async fn add_password(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let b = if cx.body.is_empty() {
        Map::new()
    } else {
        cx.json_body()?
    };
    only_known(&b, &["passwordCredential"], "application.addPassword")?;
    let (display_name, end) = match b.get("passwordCredential") {
        None | Some(Value::Null) => (None, None),
        Some(Value::Object(p)) => {
            only_known(
                p,
                &["displayName", "endDateTime", "startDateTime", "@odata.type"],
                "passwordCredential",
            )?;
            // A secret is valid from when it is added: a start is refused, not dropped.
            if date_time(p, "startDateTime", "passwordCredential.startDateTime")?.is_some() {
                return Err(bad("passwordCredential.startDateTime is not supported: a secret is valid from when it is added; omit it."));
            }
            let end = date_time(p, "endDateTime", "passwordCredential.endDateTime")?;
            (string(p, "displayName")?, end)
        }
        Some(_) => return Err(bad("passwordCredential must be an object.")),
    };
    let app = by_path(cx).await?;
    let (_, cred, secret) = cx
        .st
        .service
        .add_client_secret(cx.actor, &app.app_id, display_name, end)
        .await?;
    let mut v = password_credential_json(&cred);
    crate::json::set(&mut v, "secretText", json!(secret));
    crate::json::set(
        &mut v,
        "@odata.context",
        json!(format!(
            "{}/$metadata#microsoft.graph.passwordCredential",
            cx.base
        )),
    );
    Ok(axum::Json(v).into_response())
}

/// `POST applications/{id}/removePassword` `{keyId}` → 204.
pub(crate) async fn remove_password(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let b = cx.json_body()?;
    only_known(&b, &["keyId"], "application.removePassword")?;
    let key_id = b
        .get("keyId")
        .and_then(Value::as_str)
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
        .ok_or_else(|| {
            bad("keyId is required: the keyId of one of the application's passwordCredentials.")
        })?;
    let app = by_path(cx).await?;
    cx.st
        .service
        .remove_client_secret(cx.actor, &app.app_id, key_id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET servicePrincipals`.
pub(crate) async fn list_service_principals(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let apps = cx.st.service.applications().await?;
    Ok(list_body(
        cx,
        "servicePrincipals",
        apps.iter()
            .map(|(a, _)| service_principal_json(a))
            .collect(),
    ))
}

/// `GET servicePrincipals/{id}`.
pub(crate) async fn get_service_principal(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    Ok(axum::Json(service_principal_json(&by_path(cx).await?)).into_response())
}

/// `POST servicePrincipals` `{appId}` → 201. The service principal exists from registration,
/// so this returns it: scripts written for Entra (create the app, then its service
/// principal) work unchanged.
pub(crate) async fn create_service_principal(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let b = cx.json_body()?;
    only_known(&b, &["@odata.type", "appId", "tags"], "servicePrincipal")?;
    let app_id = string(&b, "appId")?.ok_or_else(|| bad("appId is required."))?;
    let mut app = cx.st.service.application(&app_id).await?;
    if let Some(tags) = tag_flags(&b)? {
        let patch = ApplicationPatch {
            approved_client_app: Some(tags.approved_client_app),
            app_protection_policy: Some(tags.app_protection_policy),
            id_token_signing: Some(tags.id_token_signing),
            ..Default::default()
        };
        app = cx
            .st
            .service
            .update_application(cx.actor, &app.app_id, patch)
            .await?;
    }
    Ok((
        StatusCode::CREATED,
        axum::Json(service_principal_json(&app)),
    )
        .into_response())
}

/// `PATCH servicePrincipals/{id}` → 204: `customSecurityAttributes` (merged; `null` removes)
/// and `tags` (the Conditional Access flags).
pub(crate) async fn update_service_principal(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let b = cx.json_body()?;
    only_known(
        &b,
        &[
            "@odata.type",
            "customSecurityAttributes",
            "tags",
            "displayName",
        ],
        "servicePrincipal",
    )?;
    let app = by_path(cx).await?;
    let flags = tag_flags(&b)?;
    let attrs = match b.get("customSecurityAttributes") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(_) => {
            return Err(bad(
                "'customSecurityAttributes' must be an object of attribute sets.",
            ))
        }
    };
    let patch = ApplicationPatch {
        display_name: string(&b, "displayName")?,
        approved_client_app: flags.map(|f| f.approved_client_app),
        app_protection_policy: flags.map(|f| f.app_protection_policy),
        id_token_signing: flags.map(|f| f.id_token_signing),
        custom_security_attributes: attrs,
        ..Default::default()
    };
    cx.st
        .service
        .update_application(cx.actor, &app.app_id, patch)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE servicePrincipals/{id}` → 204. One service principal per application: deleting
/// it deletes the application.
pub(crate) async fn delete_service_principal(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    delete_application(cx).await
}
