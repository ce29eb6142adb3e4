//! Authentication methods in the admin center: the policy list and the Passkey (FIDO2)
//! settings. A post is read once into the form's values (to show them again) and then into
//! a typed configuration; Preview impact and Save both ask the service's preview (the save's
//! own checks, its warnings, the readiness dry run), and Save is refused until confirmed
//! when the change strands anyone.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_domain::authz::Capability;
use portcullis_domain::passkey::standing_warnings;
use portcullis_domain::policy::fido2::{EnforcementType, AUTHENTICATOR_AAGUIDS};
use portcullis_domain::policy::{
    Fido2Configuration, KeyRestrictions, MethodConfiguration, MethodId, MethodState, PolicyError,
    TapConfiguration, TargetId,
};
use portcullis_service::ServiceError;
use uuid::Uuid;

use super::form::Fields;
use super::{AdminPost, AdminSession};
use crate::error::PageError;
use crate::pages::admin::{self as page, AaguidRow, Fido2Input, Fido2Page, Notice};
use crate::AppState;

use super::targets::{self, Errors};

/// The methods policy's list.
pub(crate) async fn list(
    admin: AdminSession,
    State(st): State<AppState>,
) -> Result<Response, PageError> {
    admin.require(Capability::ReadPolicy, "The authentication methods policy")?;
    let fido2 = fido2_config(&st).await?;
    let tap = match st
        .service
        .method_configuration(MethodId::TemporaryAccessPass)
        .await?
    {
        MethodConfiguration::TemporaryAccessPass(t) => t,
        _ => TapConfiguration::default(),
    };
    Ok(page::methods_page(&admin.nav(), &fido2, &tap).into_response())
}

/// The Passkey (FIDO2) settings as stored.
pub(super) async fn fido2_config(st: &AppState) -> Result<Fido2Configuration, PageError> {
    match st.service.method_configuration(MethodId::Fido2).await? {
        MethodConfiguration::Fido2(f) => Ok(f),
        _ => Err(PageError::Internal(
            "the store returned another method's configuration for Fido2".into(),
        )),
    }
}

/// The Passkey (FIDO2) settings as saved.
pub(crate) async fn fido2(
    admin: AdminSession,
    State(st): State<AppState>,
) -> Result<Response, PageError> {
    admin.require(Capability::ReadPolicy, "The Passkey (FIDO2) settings")?;
    let cfg = fido2_config(&st).await?;
    let input = input_of(&st, &cfg).await?;
    let warnings = saved_warnings(&cfg, vec![]);
    let view = View {
        input: &input,
        errors: &Errors::new(),
        warnings: &warnings,
        impact: None,
        notice: None,
        confirm: false,
        accept_empty: false,
    };
    render(&st, &admin, &cfg, StatusCode::OK, view).await
}

/// What the settings in force mean (R4, R5, R6), after what a save said.
fn saved_warnings(cfg: &Fido2Configuration, mut from_save: Vec<String>) -> Vec<String> {
    from_save.extend(
        standing_warnings(cfg)
            .iter()
            .map(portcullis_service::render::fido2_warning),
    );
    from_save
}

/// What a post asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// Add AAGUID: show the list with it, save nothing.
    Add,
    /// Preview impact.
    Preview,
    /// Save, refused if it strands anyone.
    Save,
    /// Save anyway: confirmed.
    SaveAnyway,
}

impl Action {
    fn parse(s: &str) -> Result<Action, PageError> {
        match s {
            "add" => Ok(Action::Add),
            "preview" => Ok(Action::Preview),
            "save" => Ok(Action::Save),
            "save-anyway" => Ok(Action::SaveAnyway),
            other => Err(PageError::BadRequest(format!(
                "'{other}' is not an action of this form: use add, preview, save or save-anyway."
            ))),
        }
    }
}

/// Add AAGUID, Preview impact, Save and Save anyway.
pub(crate) async fn post_fido2(
    AdminPost(admin): AdminPost,
    State(st): State<AppState>,
    fields: Fields,
) -> Result<Response, PageError> {
    // Every action of this form needs the right to change it: a preview analyses every
    // user and shows who a change would strand, which no read-only role is to run from here.
    admin.require(
        Capability::WritePolicy,
        "Changing the Passkey (FIDO2) settings",
    )?;
    let action = Action::parse(fields.get("action"))?;
    let current = fido2_config(&st).await?;
    let mut errors = Errors::new();
    let input = input_from(&fields, &mut errors);
    if matches!(action, Action::Save | Action::SaveAnyway)
        && super::version::stale(&fields, &super::version::of(&current))
    {
        errors.insert("form", super::version::refusal().1);
        let view = View::with_errors(&input, &errors);
        return render(&st, &admin, &current, StatusCode::CONFLICT, view).await;
    }
    let proposed = proposed(&st, &current, &input, &mut errors).await?;
    let refused = |errors: &Errors, input: &Fido2Input| {
        let status = StatusCode::BAD_REQUEST;
        (status, errors.clone(), input.clone())
    };
    let Some((cfg, sources)) = proposed.filter(|_| errors.is_empty()) else {
        let (status, errors, input) = refused(&errors, &input);
        let view = View::with_errors(&input, &errors);
        return render(&st, &admin, &current, status, view).await;
    };
    if action == Action::Add {
        let warnings = saved_warnings(&cfg, vec![]);
        let view = View {
            warnings: &warnings,
            ..View::with_errors(&input, &errors)
        };
        return render(&st, &admin, &current, StatusCode::OK, view).await;
    }
    let method = MethodConfiguration::Fido2(cfg);
    let preview = match st.service.preview_method_configuration(&method).await {
        Ok(p) => p,
        Err(e) => {
            place(e, &sources, &mut errors)?;
            let view = View::with_errors(&input, &errors);
            return render(&st, &admin, &current, StatusCode::BAD_REQUEST, view).await;
        }
    };
    let stranded = preview.stranded().len();
    if action == Action::Preview || (action == Action::Save && stranded > 0) {
        let (status, notice) = if action == Action::Save {
            (
                StatusCode::CONFLICT,
                Some(Notice::NotSaved(super::held(stranded))),
            )
        } else {
            (StatusCode::OK, None)
        };
        let view = View {
            input: &input,
            errors: &errors,
            warnings: &preview.warnings,
            impact: Some(&preview.readiness),
            notice,
            confirm: stranded > 0,
            accept_empty: false,
        };
        return render(&st, &admin, &current, status, view).await;
    }
    match st
        .service
        .save_method_configuration_opened_on(
            &admin.actor(),
            method,
            fields.is("accept_empty_allow_list", "on"),
            super::version::opened_on(&fields),
        )
        .await
    {
        Ok(saved) => {
            let MethodConfiguration::Fido2(now) = &saved.config else {
                return Err(PageError::Internal("saved a TAP configuration".into()));
            };
            let input = input_of(&st, now).await?;
            let warnings = saved_warnings(now, saved.warnings);
            let view = View {
                input: &input,
                errors: &Errors::new(),
                warnings: &warnings,
                impact: None,
                notice: Some(Notice::Saved),
                confirm: false,
                accept_empty: false,
            };
            render(&st, &admin, now, StatusCode::OK, view).await
        }
        Err(e) => {
            let empty = matches!(e, ServiceError::EmptyAllowList { .. });
            let status = if matches!(e, ServiceError::Stale) {
                StatusCode::CONFLICT
            } else {
                StatusCode::BAD_REQUEST
            };
            place(e, &sources, &mut errors)?;
            let view = View {
                accept_empty: empty,
                ..View::with_errors(&input, &errors)
            };
            render(&st, &admin, &current, status, view).await
        }
    }
}

/// Puts a refusal next to the field that caused it: a target's group in the list that named
/// it, anything else at the top of the form. Failures of the server stay errors.
fn place(
    e: ServiceError,
    sources: &[(Uuid, &'static str)],
    errors: &mut Errors,
) -> Result<(), PageError> {
    let field = match &e {
        ServiceError::Policy(PolicyError::Target(t)) => targets::field_of(t, sources),
        ServiceError::Policy(PolicyError::Invalid { field, .. })
            if field.starts_with("keyRestrictions") =>
        {
            "aaguids"
        }
        ServiceError::EmptyAllowList { .. } => "aaguids",
        ServiceError::Store(_) | ServiceError::Internal(_) => return Err(e.into()),
        _ => "form",
    };
    errors.insert(field, e.to_string());
    Ok(())
}

/// The form's values as posted. Malformed choices are errors on their field.
fn input_from(f: &Fields, errors: &mut Errors) -> Fido2Input {
    let mut yes = |name: &'static str| match f.get(name) {
        "yes" => true,
        "no" => false,
        other => {
            errors.insert(name, format!("'{other}' is not Yes or No."));
            false
        }
    };
    let self_service = yes("self_service");
    let attestation = yes("attestation");
    let enforce_keys = yes("enforce_keys");
    let allow = match f.get("restriction") {
        "allow" => true,
        "block" => false,
        other => {
            errors.insert("restriction", format!("'{other}' is not Allow or Block."));
            false
        }
    };
    let mut input = Fido2Input {
        version: f.get(super::version::FIELD).into(),
        enabled: f.is("enabled", "on"),
        all_users: match f.get("include") {
            "all" => true,
            "groups" => false,
            other => {
                errors.insert(
                    targets::INCLUDE,
                    format!("'{other}' is not All users or Select groups."),
                );
                false
            }
        },
        include_groups: f.get("include_groups").to_string(),
        exclude_groups: f.get("exclude_groups").to_string(),
        self_service,
        attestation,
        enforce_keys,
        allow,
        listed: f.all("listed").map(str::to_string).collect(),
        aaguids: f.all("aaguid").map(str::to_string).collect(),
        authenticator: f.is("authenticator", "on"),
        add_aaguid: String::new(),
    };
    let add = f.get("add_aaguid");
    if !add.is_empty() {
        match Uuid::parse_str(add) {
            Ok(a) if AUTHENTICATOR_AAGUIDS.contains(&a) => input.authenticator = true,
            Ok(a) => {
                let a = a.to_string();
                if !input.listed.contains(&a) {
                    input.listed.push(a.clone());
                }
                if !input.aaguids.contains(&a) {
                    input.aaguids.push(a);
                }
            }
            Err(_) => {
                input.add_aaguid = add.to_string();
                errors.insert(
                    "add_aaguid",
                    format!("'{add}' is not an AAGUID: an AAGUID is 32 hexadecimal digits in the form 00000000-0000-0000-0000-000000000000."),
                );
            }
        }
    }
    input
}

/// The configuration the form describes, on top of what is saved (passkey profiles and each
/// kept target's own settings stay): the groups named found in the directory — each with
/// the field that named it — and the AAGUIDs parsed. `None` when something is not found.
async fn proposed(
    st: &AppState,
    current: &Fido2Configuration,
    input: &Fido2Input,
    errors: &mut Errors,
) -> Result<Option<(Fido2Configuration, Vec<(Uuid, &'static str)>)>, PageError> {
    let (include, exclude, sources) = targets::read(
        st,
        &current.include_targets,
        input.all_users,
        &input.include_groups,
        &input.exclude_groups,
        errors,
    )
    .await?;
    let mut aaguids: Vec<Uuid> = vec![];
    for a in &input.aaguids {
        match Uuid::parse_str(a) {
            Ok(u) if !aaguids.contains(&u) => aaguids.push(u),
            Ok(_) => {}
            Err(_) => {
                errors.insert("aaguids", format!("'{a}' is not an AAGUID."));
            }
        }
    }
    if input.authenticator {
        for a in AUTHENTICATOR_AAGUIDS {
            if !aaguids.contains(&a) {
                aaguids.push(a);
            }
        }
    }
    if !errors.is_empty() {
        return Ok(None);
    }
    let cfg = Fido2Configuration {
        state: if input.enabled {
            MethodState::Enabled
        } else {
            MethodState::Disabled
        },
        include_targets: include,
        exclude_targets: exclude,
        is_self_service_registration_allowed: input.self_service,
        is_attestation_enforced: input.attestation,
        key_restrictions: KeyRestrictions {
            odata_type: None,
            is_enforced: input.enforce_keys,
            enforcement_type: if input.allow {
                EnforcementType::Allow
            } else {
                EnforcementType::Block
            },
            aa_guids: aaguids,
        },
        ..current.clone()
    };
    Ok(Some((cfg, sources)))
}

/// The form's values for a saved configuration: groups by name (by id where a name is
/// ambiguous), the Authenticator's pair as its checkbox.
async fn input_of(st: &AppState, cfg: &Fido2Configuration) -> Result<Fido2Input, PageError> {
    let kr = &cfg.key_restrictions;
    let authenticator = AUTHENTICATOR_AAGUIDS
        .iter()
        .all(|a| kr.aa_guids.contains(a));
    let listed: Vec<String> = kr
        .aa_guids
        .iter()
        .filter(|a| !(authenticator && AUTHENTICATOR_AAGUIDS.contains(a)))
        .map(Uuid::to_string)
        .collect();
    Ok(Fido2Input {
        version: super::version::of(cfg),
        enabled: cfg.state == MethodState::Enabled,
        all_users: cfg
            .include_targets
            .iter()
            .any(|t| t.id == TargetId::AllUsers),
        include_groups: targets::lines(st, cfg.include_targets.iter().map(|t| t.id).collect())
            .await?,
        exclude_groups: targets::lines(st, cfg.exclude_targets.iter().map(|t| t.id).collect())
            .await?,
        self_service: cfg.is_self_service_registration_allowed,
        attestation: cfg.is_attestation_enforced,
        enforce_keys: kr.is_enforced,
        allow: kr.enforcement_type == EnforcementType::Allow,
        aaguids: listed.clone(),
        listed,
        authenticator,
        add_aaguid: String::new(),
    })
}

/// What one rendering of the page shows besides the rows.
struct View<'a> {
    input: &'a Fido2Input,
    errors: &'a Errors,
    warnings: &'a [String],
    impact: Option<&'a portcullis_service::readiness::Readiness>,
    notice: Option<Notice>,
    confirm: bool,
    /// Offer the separate confirmation of an allow list with nothing on it (R5).
    accept_empty: bool,
}

impl<'a> View<'a> {
    fn with_errors(input: &'a Fido2Input, errors: &'a Errors) -> View<'a> {
        View {
            input,
            errors,
            warnings: &[],
            impact: None,
            notice: None,
            confirm: false,
            accept_empty: false,
        }
    }
}

/// Renders the page: each listed AAGUID with its model's name and how many passkeys use it.
async fn render(
    st: &AppState,
    admin: &AdminSession,
    cfg: &Fido2Configuration,
    status: StatusCode,
    v: View<'_>,
) -> Result<Response, PageError> {
    let usage = st.service.aaguid_usage().await?;
    let usage = &usage;
    let row = |aaguid: String| async move {
        let parsed = Uuid::parse_str(&aaguid).ok();
        let model = match parsed {
            Some(a) => st.service.metadata_for(a).await?.map(|m| m.name),
            None => None,
        };
        let passkeys = parsed
            .and_then(|a| usage.iter().find(|(u, _)| *u == a))
            .map_or(0, |(_, n)| *n);
        Ok::<AaguidRow, ServiceError>(AaguidRow {
            aaguid,
            model,
            passkeys,
        })
    };
    let mut rows = vec![];
    for a in &v.input.listed {
        rows.push(row(a.clone()).await?);
    }
    let mut authenticator_rows = vec![];
    for a in AUTHENTICATOR_AAGUIDS {
        authenticator_rows.push(row(a.to_string()).await?);
    }
    let profiles = super::profiles::rows(st, cfg).await?;
    let viewer = admin.nav();
    let markup = page::fido2_page(&Fido2Page {
        viewer: &viewer,
        input: v.input,
        rows,
        authenticator_rows,
        errors: v.errors,
        warnings: v.warnings,
        impact: v.impact,
        can_write: admin.may(Capability::WritePolicy),
        notice: v.notice,
        confirm: v.confirm,
        accept_empty: v.accept_empty,
        profiles,
    });
    Ok((status, markup).into_response())
}
