//! `users` (graph-api.md §8.2 paging and `$filter`/`$select`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis_domain::authz::Capability;
use portcullis_domain::directory::User;
use portcullis_domain::time_fmt::rfc3339;
use portcullis_store::directory::UserFilter;
use serde_json::{json, Value};

use super::odata::{self, Checked, Field, Kind, ODataError, Op, Schema};
use super::{gerr, Ctx, GraphError};

/// A property that needs more than its route's capability: setting a password is setting a
/// credential (listed in [`super::PROPERTY_CAPABILITIES`]).
pub(crate) const PASSWORD_PROFILE: (&str, Capability) =
    ("passwordProfile", Capability::SetPasswords);

const MAX_TOP: i64 = 999;

/// A user in Graph's shape.
pub(crate) fn user_json(u: &User) -> Value {
    json!({
        "id": u.id, "userPrincipalName": u.user_principal_name, "displayName": u.display_name,
        "accountEnabled": u.account_enabled, "createdDateTime": rfc3339(u.created_date_time), "userType": "Member"
    })
}

/// Keeps only the `$select`ed properties (and `id`); a `$select` that is not a list of
/// property names is refused. A property Graph has and Portcullis does not hold is left out.
pub(crate) fn select(v: Value, sel: Option<&str>) -> Result<Value, ODataError> {
    let (Some(sel), Value::Object(m)) = (sel, &v) else {
        return Ok(v);
    };
    let keep = odata::select(sel)?;
    Ok(Value::Object(
        m.iter()
            .filter(|(k, _)| {
                *k == "id" || k.starts_with('@') || keep.contains(&k.to_ascii_lowercase())
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    ))
}

/// A user field `$filter` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserField {
    /// `userPrincipalName`
    Upn,
    /// `displayName` (`userDisplayName` in registration details)
    Name,
}

const TEXT_OPS: &[Op] = &[Op::Eq, Op::StartsWith];

/// `users`: `userPrincipalName` and `displayName`, `eq` or `startswith`, joined by `and`.
pub(crate) const USERS: Schema<UserField> = Schema {
    fields: &[
        Field {
            name: "userPrincipalName",
            key: UserField::Upn,
            kind: Kind::Text,
            ops: TEXT_OPS,
        },
        Field {
            name: "displayName",
            key: UserField::Name,
            kind: Kind::Text,
            ops: TEXT_OPS,
        },
    ],
    any_logic: false,
};

/// `userRegistrationDetails`: `userPrincipalName` and `userDisplayName`, likewise.
pub(crate) const REGISTRATION_DETAILS: Schema<UserField> = Schema {
    fields: &[
        Field {
            name: "userPrincipalName",
            key: UserField::Upn,
            kind: Kind::Text,
            ops: TEXT_OPS,
        },
        Field {
            name: "userDisplayName",
            key: UserField::Name,
            kind: Kind::Text,
            ops: TEXT_OPS,
        },
    ],
    any_logic: false,
};

/// The store's filter for a checked user filter; a condition given twice is refused.
fn user_filter(f: &Checked<UserField>) -> Result<UserFilter, ODataError> {
    let mut out = UserFilter::default();
    for c in f.clauses() {
        let slot = match (c.field, c.op) {
            (UserField::Upn, Op::StartsWith) => &mut out.upn_prefix,
            (UserField::Upn, _) => &mut out.upn_eq,
            (UserField::Name, Op::StartsWith) => &mut out.name_prefix,
            (UserField::Name, _) => &mut out.name_eq,
        };
        if slot.is_some() {
            return Err(ODataError::Unsupported("the same condition twice"));
        }
        *slot = c.text().map(str::to_string);
    }
    Ok(out)
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A page over users ordered by userPrincipalName: `$top`, `$filter`, and `$skiptoken`
/// (the last userPrincipalName seen, base64url).
pub(crate) struct UserPage {
    pub top: i64,
    pub filter: UserFilter,
    pub after: Option<String>,
}

/// Reads the paging query options shared by `users` and `userRegistrationDetails`, whose
/// filterable fields `schema` names.
pub(crate) fn user_page(cx: &Ctx<'_>, schema: &Schema<UserField>) -> Result<UserPage, GraphError> {
    let top = odata::top(cx.q("$top"), 100, MAX_TOP)?;
    let filter = match cx.q("$filter") {
        Some(f) => user_filter(&schema.parse(f)?)?,
        None => UserFilter::default(),
    };
    let after = match cx.q("$skiptoken") {
        None => None,
        Some(t) => Some(
            URL_SAFE_NO_PAD
                .decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    gerr(
                        StatusCode::BAD_REQUEST,
                        "Request_BadRequest",
                        "Invalid $skiptoken.",
                    )
                })?,
        ),
    };
    Ok(UserPage { top, filter, after })
}

/// Cuts a page fetched with `top + 1` rows back to `top`; true when more follow.
pub(crate) fn trim<T>(page: &mut Vec<T>, top: i64) -> bool {
    let more = i64::try_from(page.len()).unwrap_or(i64::MAX) > top;
    page.truncate(usize::try_from(top).unwrap_or(0));
    more
}

/// The absolute `@odata.nextLink` after `last_upn`, carrying `$filter` and `$select`.
pub(crate) fn next_link(cx: &Ctx<'_>, path: &str, top: i64, last_upn: &str) -> String {
    let mut link = format!(
        "{}/{path}?$top={top}&$skiptoken={}",
        cx.base,
        URL_SAFE_NO_PAD.encode(last_upn)
    );
    for k in ["$filter", "$select"] {
        if let Some(v) = cx.q(k) {
            link.push_str(&format!("&{k}={}", enc(v)));
        }
    }
    link
}

/// `GET users`: `$filter`, `$select`, `$top`, and an absolute `@odata.nextLink`.
pub(crate) async fn list(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let p = user_page(cx, &USERS)?;
    let mut page = cx
        .st
        .service
        .users_page(&p.filter, p.after.as_deref(), p.top + 1)
        .await?;
    let more = trim(&mut page, p.top);
    let mut body = json!({
        "@odata.context": format!("{}/$metadata#users", cx.base),
        "value": page.iter().map(|u| select(user_json(u), cx.q("$select"))).collect::<Result<Vec<_>, _>>()?,
    });
    if let (true, Some(last)) = (more, page.last()) {
        crate::json::set(
            &mut body,
            "@odata.nextLink",
            json!(next_link(
                cx,
                "users",
                p.top,
                last.user_principal_name.as_str()
            )),
        );
    }
    Ok(axum::Json(body).into_response())
}

/// `GET users/{id or UPN}`.
pub(crate) async fn get(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let u = cx.st.service.user(cx.params.id.unwrap_or_default()).await?;
    let mut v = select(user_json(&u), cx.q("$select"))?;
    crate::json::set(
        &mut v,
        "@odata.context",
        json!(format!("{}/$metadata#users/$entity", cx.base)),
    );
    Ok(axum::Json(v).into_response())
}

/// Graph's `passwordProfile`, parsed once.
pub(crate) struct PasswordProfile {
    password: String,
    /// `forceChangePasswordNextSignIn` (or its `…WithMfa` form): true when omitted, so that a
    /// password an administrator knows is replaced at the first sign-in.
    must_change: bool,
}

fn bad(m: impl Into<String>) -> GraphError {
    gerr(StatusCode::BAD_REQUEST, "Request_BadRequest", m)
}

fn password_profile(v: &Value) -> Result<PasswordProfile, GraphError> {
    let Value::Object(m) = v else {
        return Err(bad("'passwordProfile' must be an object."));
    };
    let mut must_change = None;
    let mut password = None;
    for (k, v) in m {
        match k.as_str() {
            "@odata.type" => {}
            "password" => {
                password = Some(
                    v.as_str()
                        .ok_or_else(|| bad("'passwordProfile.password' must be a string."))?
                        .to_string(),
                )
            }
            "forceChangePasswordNextSignIn" | "forceChangePasswordNextSignInWithMfa" => {
                let b = v
                    .as_bool()
                    .ok_or_else(|| bad(format!("'passwordProfile.{k}' must be a boolean.")))?;
                must_change = Some(must_change.unwrap_or(false) || b);
            }
            other => {
                return Err(bad(format!(
                    "Property '{other}' does not exist on type 'microsoft.graph.passwordProfile'."
                )))
            }
        }
    }
    Ok(PasswordProfile {
        password: password.ok_or_else(|| bad("'passwordProfile.password' is required."))?,
        must_change: must_change.unwrap_or(true),
    })
}

impl From<portcullis_service::password::SetPasswordError> for GraphError {
    fn from(e: portcullis_service::password::SetPasswordError) -> Self {
        use portcullis_service::password::SetPasswordError as E;
        match e {
            E::Failed(e) => e.into(),
            E::Weak(w) => bad(format!(
                "The specified password does not comply with password complexity requirements: {w}."
            )),
            E::WrongCurrent => bad("The current password is not correct."),
            E::LockedOut { .. } => gerr(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                e.to_string(),
            ),
        }
    }
}

const CREATE_FIELDS: [&str; 6] = [
    "@odata.type",
    "accountEnabled",
    "displayName",
    "mailNickname",
    "userPrincipalName",
    "passwordProfile",
];

/// `POST users` → 201; with a `passwordProfile`, the user and the password are kept together
/// or not at all.
pub(crate) async fn create(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let b = cx.json_body()?;
    if let Some(k) = b.keys().find(|k| !CREATE_FIELDS.contains(&k.as_str())) {
        return Err(gerr(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            format!("Property '{k}' does not exist on type 'microsoft.graph.user'."),
        ));
    }
    let text = |k: &str| {
        b.get(k)
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    gerr(
                        StatusCode::BAD_REQUEST,
                        "Request_BadRequest",
                        format!("'{k}' must be a string."),
                    )
                })
            })
            .transpose()
    };
    let upn = text("userPrincipalName")?.ok_or_else(|| {
        gerr(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "userPrincipalName is required.",
        )
    })?;
    let name = text("displayName")?.ok_or_else(|| {
        gerr(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "displayName is required.",
        )
    })?;
    let enabled = match b.get("accountEnabled") {
        None => true,
        Some(v) => v.as_bool().ok_or_else(|| {
            gerr(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                "'accountEnabled' must be a boolean.",
            )
        })?,
    };
    let profile = b
        .get(PASSWORD_PROFILE.0)
        .map(password_profile)
        .transpose()?;
    if profile.is_some() {
        cx.also_requires(PASSWORD_PROFILE.1).await?;
    }
    let mut u = match profile {
        Some(p) => {
            cx.st
                .service
                .add_user_with_password(cx.actor, &upn, &name, &p.password, p.must_change)
                .await?
        }
        None => cx.st.service.add_user(cx.actor, &upn, &name).await?,
    };
    if !enabled {
        u = cx
            .st
            .service
            .update_user(cx.actor, &u.id.to_string(), None, Some(false))
            .await?;
    }
    let mut v = user_json(&u);
    crate::json::set(
        &mut v,
        "@odata.context",
        json!(format!("{}/$metadata#users/$entity", cx.base)),
    );
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

/// `PATCH users/{id}` → 204 (displayName, accountEnabled, passwordProfile: an administrator's
/// password reset).
pub(crate) async fn update(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    let b = cx.json_body()?;
    if let Some(k) = b.keys().find(|k| {
        ![
            "@odata.type",
            "displayName",
            "accountEnabled",
            "passwordProfile",
        ]
        .contains(&k.as_str())
    }) {
        return Err(gerr(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            format!("Property '{k}' cannot be changed here (displayName, accountEnabled and passwordProfile can)."),
        ));
    }
    let profile = b
        .get(PASSWORD_PROFILE.0)
        .map(password_profile)
        .transpose()?;
    if profile.is_some() {
        cx.also_requires(PASSWORD_PROFILE.1).await?;
    }
    let name = b
        .get("displayName")
        .map(|v| {
            v.as_str().ok_or_else(|| {
                gerr(
                    StatusCode::BAD_REQUEST,
                    "Request_BadRequest",
                    "'displayName' must be a string.",
                )
            })
        })
        .transpose()?;
    let enabled = b
        .get("accountEnabled")
        .map(|v| {
            v.as_bool().ok_or_else(|| {
                gerr(
                    StatusCode::BAD_REQUEST,
                    "Request_BadRequest",
                    "'accountEnabled' must be a boolean.",
                )
            })
        })
        .transpose()?;
    // Everything is checked before anything changes: the name here, the password by the
    // service before it stores it (which it does first, so a refused name changes nothing).
    if let Some(n) = name {
        portcullis_domain::directory::validate_display_name(n)
            .map_err(|e| bad(format!("'displayName': {e}")))?;
    }
    let user = cx.params.id.unwrap_or_default();
    if let Some(p) = profile {
        cx.st
            .service
            .set_password(cx.actor, user, &p.password, p.must_change)
            .await?;
    }
    if name.is_some() || enabled.is_some() {
        cx.st
            .service
            .update_user(cx.actor, user, name, enabled)
            .await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE users/{id}` → 204.
pub(crate) async fn delete(cx: &Ctx<'_>) -> Result<Response, GraphError> {
    cx.st
        .service
        .delete_user(cx.actor, cx.params.id.unwrap_or_default())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
