//! Passkey profiles (R9): a profile's page reads into a typed `PasskeyProfile` and the
//! Passkey (FIDO2) settings with it (added or replaced, made the default, used by the
//! include targets ticked) or without it; the result is previewed and saved through the
//! same service calls as the Passkey (FIDO2) page and Graph.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_domain::authz::Capability;
use portcullis_domain::policy::fido2::{
    AttestationEnforcement, EnforcementType, PasskeyTypes, AUTHENTICATOR_AAGUIDS,
};
use portcullis_domain::policy::{
    Fido2Configuration, KeyRestrictions, MethodConfiguration, PasskeyProfile, PolicyError, TargetId,
};
use portcullis_service::ServiceError;
use uuid::Uuid;

use super::form::Fields;
use super::methods::fido2_config as fido2;
use super::targets::Errors;
use super::{AdminPost, AdminSession};
use crate::error::PageError;
use crate::pages::admin::{self as page, ProfileInput, ProfilePage, ProfileRow, PROFILES};
use crate::AppState;

/// The include targets, as a profile's page offers them: (id, in words).
async fn target_choices(
    st: &AppState,
    cfg: &Fido2Configuration,
) -> Result<Vec<(String, String)>, PageError> {
    let mut out = vec![];
    for t in &cfg.include_targets {
        let label = match t.id {
            TargetId::AllUsers => "All users".to_string(),
            TargetId::Group(g) => st
                .service
                .find_group(&g.to_string())
                .await
                .map_or_else(|_| g.to_string(), |g| g.display_name),
        };
        out.push((t.id.to_string(), label));
    }
    Ok(out)
}

/// The profiles, as the Passkey (FIDO2) page lists them.
pub(super) async fn rows(
    st: &AppState,
    cfg: &Fido2Configuration,
) -> Result<Vec<ProfileRow>, PageError> {
    let choices = target_choices(st, cfg).await?;
    Ok(cfg
        .passkey_profiles
        .iter()
        .map(|p| ProfileRow {
            id: p.id.to_string(),
            name: p.name.clone(),
            types: match (
                p.passkey_types.accepts(false),
                p.passkey_types.accepts(true),
            ) {
                (true, true) => "Device-bound and synced".into(),
                (true, false) => "Device-bound".into(),
                _ => "Synced".into(),
            },
            attestation: p.attestation_enforcement == AttestationEnforcement::RegistrationOnly,
            keys: portcullis_service::render::key_restrictions(&p.key_restrictions),
            default: cfg.default_passkey_profile == Some(p.id),
            targets: cfg
                .include_targets
                .iter()
                .filter(|t| {
                    t.allowed_passkey_profiles
                        .iter()
                        .flatten()
                        .any(|x| *x == p.id)
                })
                .filter_map(|t| {
                    choices
                        .iter()
                        .find(|(id, _)| *id == t.id.to_string())
                        .map(|(_, l)| l.clone())
                })
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect())
}

fn input_of(cfg: &Fido2Configuration, p: &PasskeyProfile) -> ProfileInput {
    let kr = &p.key_restrictions;
    let authenticator = AUTHENTICATOR_AAGUIDS
        .iter()
        .all(|a| kr.aa_guids.contains(a));
    ProfileInput {
        version: super::version::of(cfg),
        name: p.name.clone(),
        device_bound: p.passkey_types.accepts(false),
        synced: p.passkey_types.accepts(true),
        attestation: p.attestation_enforcement == AttestationEnforcement::RegistrationOnly,
        enforce_keys: kr.is_enforced,
        allow: kr.enforcement_type == EnforcementType::Allow,
        authenticator,
        aaguids: kr
            .aa_guids
            .iter()
            .filter(|a| !(authenticator && AUTHENTICATOR_AAGUIDS.contains(a)))
            .map(Uuid::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
        default: cfg.default_passkey_profile == Some(p.id),
        targets: cfg
            .include_targets
            .iter()
            .filter(|t| {
                t.allowed_passkey_profiles
                    .iter()
                    .flatten()
                    .any(|x| *x == p.id)
            })
            .map(|t| t.id.to_string())
            .collect(),
    }
}

fn input_from(f: &Fields) -> ProfileInput {
    ProfileInput {
        version: f.get(super::version::FIELD).into(),
        name: f.get("name").to_string(),
        device_bound: f.is("type", "deviceBound"),
        synced: f.is("type", "synced"),
        attestation: f.is("attestation", "on"),
        enforce_keys: f.is("enforce_keys", "on"),
        allow: f.get("restriction") == "allow",
        authenticator: f.is("authenticator", "on"),
        aaguids: f.get("aaguids").to_string(),
        default: f.is("default", "on"),
        targets: f.all("target").map(str::to_string).collect(),
    }
}

/// The settings with the profile as the form describes it; its errors on their fields.
fn with_profile(
    cfg: &Fido2Configuration,
    id: Uuid,
    i: &ProfileInput,
    errors: &mut Errors,
) -> Fido2Configuration {
    let types = match (i.device_bound, i.synced) {
        (true, true) => PasskeyTypes::BOTH,
        (true, false) => PasskeyTypes::DEVICE_BOUND,
        (false, true) => PasskeyTypes::SYNCED,
        (false, false) => {
            errors.insert("type", "Accept at least one type of passkey.".into());
            PasskeyTypes::BOTH
        }
    };
    let mut aaguids: Vec<Uuid> = if i.authenticator {
        AUTHENTICATOR_AAGUIDS.to_vec()
    } else {
        vec![]
    };
    for line in i.aaguids.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match Uuid::parse_str(line) {
            Ok(a) if !aaguids.contains(&a) => aaguids.push(a),
            Ok(_) => {}
            Err(_) => {
                errors.insert("aaguids", format!("'{line}' is not an AAGUID."));
            }
        }
    }
    let known: Vec<String> = cfg
        .include_targets
        .iter()
        .map(|t| t.id.to_string())
        .collect();
    if let Some(t) = i.targets.iter().find(|t| !known.contains(t)) {
        errors.insert(
            "target",
            format!("'{t}' is not one of the Passkey (FIDO2) include targets."),
        );
    }
    let profile = PasskeyProfile {
        odata_type: None,
        id,
        name: i.name.trim().to_string(),
        passkey_types: types,
        attestation_enforcement: if i.attestation {
            AttestationEnforcement::RegistrationOnly
        } else {
            AttestationEnforcement::Disabled
        },
        key_restrictions: KeyRestrictions {
            odata_type: None,
            is_enforced: i.enforce_keys,
            enforcement_type: if i.allow {
                EnforcementType::Allow
            } else {
                EnforcementType::Block
            },
            aa_guids: aaguids,
        },
    };
    let mut out = cfg.clone();
    match out.passkey_profiles.iter_mut().find(|p| p.id == id) {
        Some(slot) => *slot = profile,
        None => out.passkey_profiles.push(profile),
    }
    if i.default || out.default_passkey_profile.is_none() {
        out.default_passkey_profile = Some(id);
    } else if out.default_passkey_profile == Some(id) {
        errors.insert(
            "default",
            "This is the default profile: make another one the default first.".into(),
        );
    }
    for t in &mut out.include_targets {
        let mut ids: Vec<Uuid> = t.allowed_passkey_profiles.clone().unwrap_or_default();
        ids.retain(|x| *x != id);
        if i.targets.contains(&t.id.to_string()) {
            ids.push(id);
        }
        t.allowed_passkey_profiles = (!ids.is_empty()).then_some(ids);
    }
    out
}

/// The settings without the profile: no target uses it; the default passes to the first
/// profile left, if any.
fn without_profile(cfg: &Fido2Configuration, id: Uuid) -> Fido2Configuration {
    let mut out = cfg.clone();
    out.passkey_profiles.retain(|p| p.id != id);
    for t in &mut out.include_targets {
        let ids: Vec<Uuid> = t
            .allowed_passkey_profiles
            .iter()
            .flatten()
            .copied()
            .filter(|x| *x != id)
            .collect();
        t.allowed_passkey_profiles = (!ids.is_empty()).then_some(ids);
    }
    if out.default_passkey_profile == Some(id) {
        out.default_passkey_profile = out.passkey_profiles.first().map(|p| p.id);
    }
    out
}

/// One rendering of a profile's page.
struct Shown<'a> {
    errors: Errors,
    impact: Option<&'a portcullis_service::readiness::Readiness>,
    confirm: Option<&'static str>,
    not_saved: Option<String>,
}

async fn render(
    st: &AppState,
    admin: &AdminSession,
    cfg: &Fido2Configuration,
    id: Option<&str>,
    input: &ProfileInput,
    shown: Shown<'_>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let targets = target_choices(st, cfg).await?;
    let viewer = admin.nav();
    Ok((
        status,
        page::profile_page(&ProfilePage {
            viewer: &viewer,
            id,
            input,
            targets: &targets,
            errors: &shown.errors,
            impact: shown.impact,
            confirm: shown.confirm,
            not_saved: shown.not_saved.as_deref(),
            can_write: admin.may(Capability::WritePolicy),
        }),
    )
        .into_response())
}

fn profile_id(s: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(s)
        .map_err(|_| PageError::NotFound("There is no passkey profile with that id.".into()))
}

/// Add passkey profile: the empty form.
pub(crate) async fn new(
    admin: AdminSession,
    State(st): State<AppState>,
) -> Result<Response, PageError> {
    admin.require(Capability::WritePolicy, "Adding passkey profiles")?;
    let cfg = fido2(&st).await?;
    let input = ProfileInput {
        version: super::version::of(&cfg),
        device_bound: true,
        synced: true,
        default: cfg.passkey_profiles.is_empty(),
        ..ProfileInput::default()
    };
    let shown = Shown {
        errors: Errors::new(),
        impact: None,
        confirm: None,
        not_saved: None,
    };
    render(&st, &admin, &cfg, None, &input, shown, StatusCode::OK).await
}

/// A profile's page.
pub(crate) async fn get(
    admin: AdminSession,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    admin.require(Capability::ReadPolicy, "Passkey profiles")?;
    let cfg = fido2(&st).await?;
    let pid = profile_id(&id)?;
    let p = cfg
        .passkey_profiles
        .iter()
        .find(|p| p.id == pid)
        .ok_or_else(|| PageError::NotFound("There is no passkey profile with that id.".into()))?;
    let input = input_of(&cfg, p);
    let shown = Shown {
        errors: Errors::new(),
        impact: None,
        confirm: None,
        not_saved: None,
    };
    render(&st, &admin, &cfg, Some(&id), &input, shown, StatusCode::OK).await
}

/// Add passkey profile: Preview impact, Save, Save anyway.
pub(crate) async fn post_new(
    AdminPost(admin): AdminPost,
    State(st): State<AppState>,
    f: Fields,
) -> Result<Response, PageError> {
    admin.require(Capability::WritePolicy, "Adding passkey profiles")?;
    submit(&st, &admin, None, &f).await
}

/// A profile: Preview impact, Save, Save anyway, Delete, Delete anyway.
pub(crate) async fn post(
    AdminPost(admin): AdminPost,
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: Fields,
) -> Result<Response, PageError> {
    admin.require(Capability::WritePolicy, "Changing passkey profiles")?;
    let cfg = fido2(&st).await?;
    let pid = profile_id(&id)?;
    if !cfg.passkey_profiles.iter().any(|p| p.id == pid) {
        return Err(PageError::NotFound(
            "There is no passkey profile with that id.".into(),
        ));
    }
    submit(&st, &admin, Some(&id), &f).await
}

async fn submit(
    st: &AppState,
    admin: &AdminSession,
    id: Option<&str>,
    f: &Fields,
) -> Result<Response, PageError> {
    let action = f.get("action");
    let deleting = matches!(action, "delete" | "delete-anyway");
    let allowed: &[&str] = if id.is_some() {
        &["preview", "save", "save-anyway", "delete", "delete-anyway"]
    } else {
        &["preview", "save", "save-anyway"]
    };
    if !allowed.contains(&action) {
        return Err(PageError::BadRequest(format!(
            "'{action}' is not an action of this form: use {}.",
            allowed.join(", ")
        )));
    }
    let current = fido2(st).await?;
    if action != "preview" && super::version::stale(f, &super::version::of(&current)) {
        let errors = Errors::from([("form", super::version::refusal().1)]);
        let shown = Shown {
            errors,
            impact: None,
            confirm: None,
            not_saved: None,
        };
        return render(
            st,
            admin,
            &current,
            id,
            &input_from(f),
            shown,
            StatusCode::CONFLICT,
        )
        .await;
    }
    let pid = match id {
        Some(i) => profile_id(i)?,
        None => Uuid::new_v4(),
    };
    let input = input_from(f);
    let mut errors = Errors::new();
    if !deleting && !["allow", "block"].contains(&f.get("restriction")) {
        errors.insert(
            "restriction",
            format!("'{}' is not Allow or Block.", f.get("restriction")),
        );
    }
    let proposed = if deleting {
        without_profile(&current, pid)
    } else {
        with_profile(&current, pid, &input, &mut errors)
    };
    let shown = |errors: Errors| Shown {
        errors,
        impact: None,
        confirm: None,
        not_saved: None,
    };
    if !errors.is_empty() {
        return render(
            st,
            admin,
            &current,
            id,
            &input,
            shown(errors),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let place = |e: ServiceError, errors: &mut Errors| -> Result<(), PageError> {
        let field = match &e {
            ServiceError::Policy(PolicyError::Invalid { field, .. }) => match *field {
                "passkeyProfiles.name" => "name",
                "passkeyProfiles.keyRestrictions.aaGuids" => "aaguids",
                "defaultPasskeyProfile" => "default",
                _ => "form",
            },
            ServiceError::EmptyAllowList { .. } => "aaguids",
            ServiceError::Store(_) | ServiceError::Internal(_) => return Err(e.into()),
            _ => "form",
        };
        errors.insert(field, e.to_string());
        Ok(())
    };
    let method = MethodConfiguration::Fido2(proposed);
    let preview = match st.service.preview_method_configuration(&method).await {
        Ok(p) => p,
        Err(e) => {
            place(e, &mut errors)?;
            return render(
                st,
                admin,
                &current,
                id,
                &input,
                shown(errors),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let stranded = preview.stranded().len();
    if action == "preview" || (matches!(action, "save" | "delete") && stranded > 0) {
        let held = action != "preview";
        let s = Shown {
            errors,
            impact: Some(&preview.readiness),
            confirm: (stranded > 0).then_some(if deleting {
                "delete-anyway"
            } else {
                "save-anyway"
            }),
            not_saved: held.then(|| super::held(stranded)),
        };
        let status = if held {
            StatusCode::CONFLICT
        } else {
            StatusCode::OK
        };
        return render(st, admin, &current, id, &input, s, status).await;
    }
    match st
        .service
        .save_method_configuration_opened_on(
            &admin.actor(),
            method,
            false,
            super::version::opened_on(f),
        )
        .await
    {
        Ok(_) if deleting => {
            Ok(Redirect::to("/admin/authentication-methods/fido2").into_response())
        }
        Ok(_) => Ok(Redirect::to(&format!("{PROFILES}/{pid}")).into_response()),
        Err(e) => {
            let status = if matches!(e, ServiceError::Stale) {
                StatusCode::CONFLICT
            } else {
                StatusCode::BAD_REQUEST
            };
            place(e, &mut errors)?;
            render(st, admin, &current, id, &input, shown(errors), status).await
        }
    }
}
