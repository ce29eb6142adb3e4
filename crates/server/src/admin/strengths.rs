//! Authentication strengths in the admin center: the list (built-ins read-only), New
//! authentication strength and edit — Review shows the save's warnings and, for a strength a
//! policy requires, who the change strands — and delete, which the service refuses while a
//! policy requires the strength, naming it.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_domain::authz::Capability;
use portcullis_domain::policy::fido2::AUTHENTICATOR_AAGUIDS;
use portcullis_domain::strength::{
    CombinationConfiguration, Strength, StrengthDocument, StrengthDocumentError,
};
use portcullis_service::ServiceError;
use uuid::Uuid;

use super::form::Fields;
use super::{AdminPost, AdminSession, NoticeQuery};
use crate::error::PageError;
use crate::pages::admin::{self as page, FieldErrors, StrengthForm, StrengthInput, StrengthRow};
use crate::AppState;

const SECTION: &str = "/admin/strengths";

/// The strengths list.
pub(crate) async fn list(
    admin: AdminSession,
    State(st): State<AppState>,
    q: Result<Query<NoticeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    admin.require(Capability::ReadStrengths, "Authentication strengths")?;
    let notice = match q.ok().and_then(|Query(q)| q.notice).as_deref() {
        Some("created") => Some("Authentication strength created."),
        Some("saved") => Some("Authentication strength saved."),
        Some("deleted") => Some("Authentication strength deleted."),
        _ => None,
    };
    render_list(&st, &admin, StatusCode::OK, notice, None).await
}

async fn render_list(
    st: &AppState,
    admin: &AdminSession,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<&str>,
) -> Result<Response, PageError> {
    let data = st.service.ca_data().await?;
    let mut rows = vec![];
    for s in &data.strengths {
        let mut models = vec![];
        for a in s.fido2_allowed_aaguids.iter().flatten() {
            models.push((
                a.to_string(),
                st.service.metadata_for(*a).await?.map(|m| m.name),
            ));
        }
        let used_by = data
            .policies()
            .iter()
            .filter(|p| {
                p.grant_controls.as_ref().and_then(|g| g.strength_id()) == Some(s.id.as_str())
            })
            .map(|p| p.display_name.clone())
            .collect();
        rows.push(StrengthRow {
            strength: s,
            models,
            used_by,
        });
    }
    Ok((
        status,
        page::strengths_page(
            &admin.nav(),
            &rows,
            admin.may(Capability::WriteStrengths),
            notice,
            error,
        ),
    )
        .into_response())
}

/// New authentication strength: the empty form.
pub(crate) async fn new(admin: AdminSession) -> Result<Response, PageError> {
    admin.require(
        Capability::WriteStrengths,
        "Creating authentication strengths",
    )?;
    let input = StrengthInput::default();
    Ok(form_page(&admin, None, &input, &FieldErrors::new(), None, false, None).into_response())
}

/// A custom strength's edit form.
pub(crate) async fn edit(
    admin: AdminSession,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    admin.require(Capability::ReadStrengths, "Authentication strengths")?;
    let s = custom(&st, &id).await?;
    let mut aaguids = s.fido2_allowed_aaguids.clone().unwrap_or_default();
    let authenticator = AUTHENTICATOR_AAGUIDS.iter().all(|a| aaguids.contains(a));
    if authenticator {
        aaguids.retain(|a| !AUTHENTICATOR_AAGUIDS.contains(a));
    }
    let input = StrengthInput {
        version: super::version::of(&s),
        name: s.display_name.clone(),
        description: s.description.clone(),
        combinations: s
            .allowed_combinations
            .iter()
            .map(|c| c.as_str().to_string())
            .collect(),
        aaguids: aaguids
            .iter()
            .map(Uuid::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
        authenticator,
    };
    Ok(form_page(
        &admin,
        Some(&id),
        &input,
        &FieldErrors::new(),
        None,
        false,
        None,
    )
    .into_response())
}

async fn custom(st: &AppState, id: &str) -> Result<Strength, PageError> {
    st.service
        .ca_data()
        .await?
        .strengths
        .iter()
        .find(|s| s.id == id && !s.built_in)
        .cloned()
        .ok_or_else(|| {
            PageError::NotFound("There is no custom authentication strength with that id.".into())
        })
}

fn form_page(
    admin: &AdminSession,
    id: Option<&str>,
    input: &StrengthInput,
    errors: &FieldErrors,
    review: Option<(&[String], &portcullis_service::readiness::Readiness)>,
    confirm: bool,
    not_saved: Option<&str>,
) -> maud::Markup {
    let viewer = admin.nav();
    page::strength_form_page(&StrengthForm {
        viewer: &viewer,
        id,
        input,
        errors,
        review,
        confirm,
        not_saved,
        can_write: admin.may(Capability::WriteStrengths),
    })
}

/// The form's values as posted, and the document they describe (`None` when an AAGUID does
/// not parse: that is an error on its field).
fn parse(
    f: &Fields,
    id: Option<&str>,
    errors: &mut FieldErrors,
) -> (StrengthInput, Option<StrengthDocument>) {
    let input = StrengthInput {
        version: f.get(super::version::FIELD).into(),
        name: f.get("name").to_string(),
        description: f.get("description").to_string(),
        combinations: f.all("combination").map(str::to_string).collect(),
        aaguids: f.get("aaguids").to_string(),
        authenticator: f.is("authenticator", "on"),
    };
    if input.combinations.is_empty() {
        errors.insert("combinations", "Choose at least one combination.".into());
    }
    let mut aaguids: Vec<Uuid> = if input.authenticator {
        AUTHENTICATOR_AAGUIDS.to_vec()
    } else {
        vec![]
    };
    let mut bad = vec![];
    for line in input
        .aaguids
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        match Uuid::parse_str(line) {
            Ok(a) if !aaguids.contains(&a) => aaguids.push(a),
            Ok(_) => {}
            Err(_) => bad.push(format!("'{line}'")),
        }
    }
    if !bad.is_empty() {
        errors.insert(
            "aaguids",
            format!("{} is not an AAGUID (32 hexadecimal digits, 00000000-0000-0000-0000-000000000000).", bad.join(", ")),
        );
    }
    if !errors.is_empty() {
        return (input, None);
    }
    let doc = StrengthDocument {
        id: id.map(str::to_string),
        display_name: input.name.clone(),
        description: input.description.clone(),
        allowed_combinations: input.combinations.clone(),
        combination_configurations: if aaguids.is_empty() {
            vec![]
        } else {
            vec![CombinationConfiguration {
                odata_type: "#microsoft.graph.fido2CombinationConfiguration".into(),
                allowed_aaguids: aaguids,
            }]
        },
    };
    (input, Some(doc))
}

/// Puts a refusal next to its field: the name, or the combinations and models.
fn place(e: ServiceError, errors: &mut FieldErrors) -> Result<StatusCode, PageError> {
    let (field, status) = match &e {
        ServiceError::DisplayName(_) => ("name", StatusCode::BAD_REQUEST),
        ServiceError::Conflict(_) => ("name", StatusCode::CONFLICT),
        ServiceError::Strength(
            StrengthDocumentError::AaguidsWithoutFido2 | StrengthDocumentError::Configuration(_),
        ) => ("aaguids", StatusCode::BAD_REQUEST),
        ServiceError::Strength(_) | ServiceError::Combination(_) => {
            ("combinations", StatusCode::BAD_REQUEST)
        }
        ServiceError::Stale => ("form", StatusCode::CONFLICT),
        _ => return Err(e.into()),
    };
    errors.insert(field, e.to_string());
    Ok(status)
}

/// Create (New authentication strength).
pub(crate) async fn post_new(
    AdminPost(admin): AdminPost,
    State(st): State<AppState>,
    f: Fields,
) -> Result<Response, PageError> {
    admin.require(
        Capability::WriteStrengths,
        "Creating authentication strengths",
    )?;
    submit(&st, &admin, None, &f).await
}

/// Save (an edited custom strength).
pub(crate) async fn post_edit(
    AdminPost(admin): AdminPost,
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: Fields,
) -> Result<Response, PageError> {
    admin.require(
        Capability::WriteStrengths,
        "Changing authentication strengths",
    )?;
    custom(&st, &id).await?;
    submit(&st, &admin, Some(&id), &f).await
}

async fn submit(
    st: &AppState,
    admin: &AdminSession,
    id: Option<&str>,
    f: &Fields,
) -> Result<Response, PageError> {
    let action = f.get("action");
    if !["review", "save", "save-anyway"].contains(&action) {
        return Err(PageError::BadRequest(format!(
            "'{action}' is not an action of this form: use review, save or save-anyway."
        )));
    }
    let mut errors = FieldErrors::new();
    if let Some(id) = id.filter(|_| action != "review") {
        if super::version::stale(f, &super::version::of(&custom(st, id).await?)) {
            errors.insert("form", super::version::refusal().1);
            let (input, _) = parse(f, Some(id), &mut FieldErrors::new());
            let page = form_page(admin, Some(id), &input, &errors, None, false, None);
            return Ok((StatusCode::CONFLICT, page).into_response());
        }
    }
    let (input, doc) = parse(f, id, &mut errors);
    let Some(doc) = doc else {
        let page = form_page(admin, id, &input, &errors, None, false, None);
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    };
    let preview = match st.service.preview_strength(&doc).await {
        Ok(p) => p,
        Err(e) => {
            let status = place(e, &mut errors)?;
            let page = form_page(admin, id, &input, &errors, None, false, None);
            return Ok((status, page).into_response());
        }
    };
    let stranded = preview.stranded().len();
    if action == "review" || (action == "save" && stranded > 0) {
        let not_saved = (action == "save").then(|| super::held(stranded));
        let status = if not_saved.is_some() {
            StatusCode::CONFLICT
        } else {
            StatusCode::OK
        };
        let page = form_page(
            admin,
            id,
            &input,
            &errors,
            Some((&preview.warnings, &preview.readiness)),
            stranded > 0,
            not_saved.as_deref(),
        );
        return Ok((status, page).into_response());
    }
    let actor = admin.actor();
    let saved = match id {
        None => {
            let (combos, aaguids) = (
                &doc.allowed_combinations,
                doc.combination_configurations
                    .first()
                    .map(|c| c.allowed_aaguids.clone()),
            );
            st.service
                .add_strength(&actor, &doc.display_name, &doc.description, combos, aaguids)
                .await
        }
        Some(id) => {
            st.service
                .replace_strength(&actor, id, &doc, super::version::opened_on(f))
                .await
        }
    };
    match saved {
        Ok(_) => Ok(Redirect::to(&format!(
            "{SECTION}?notice={}",
            if id.is_some() { "saved" } else { "created" }
        ))
        .into_response()),
        Err(e) => {
            let status = place(e, &mut errors)?;
            let page = form_page(admin, id, &input, &errors, None, false, None);
            Ok((status, page).into_response())
        }
    }
}

/// Delete: refused, naming the policy, while a policy requires the strength.
pub(crate) async fn delete(
    AdminPost(admin): AdminPost,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    admin.require(
        Capability::WriteStrengths,
        "Deleting authentication strengths",
    )?;
    match st.service.delete_strength(&admin.actor(), &id).await {
        Ok(()) => Ok(Redirect::to(&format!("{SECTION}?notice=deleted")).into_response()),
        Err(ServiceError::Invalid(m)) => {
            render_list(&st, &admin, StatusCode::CONFLICT, None, Some(&m)).await
        }
        Err(e) => Err(e.into()),
    }
}
