//! Named locations: the list and New IP ranges location.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_domain::authz::Capability;
use portcullis_service::ServiceError;

use super::super::form::Fields;
use super::super::{AdminPost, AdminSession, NoticeQuery};
use super::form::lines;
use crate::error::PageError;
use crate::pages::admin::{self as page, FieldErrors};
use crate::AppState;

/// Named locations.
pub(crate) async fn locations(
    admin: AdminSession,
    State(st): State<AppState>,
    q: Result<Query<NoticeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    admin.require(Capability::ReadCa, "Named locations")?;
    let created = q.ok().and_then(|Query(q)| q.notice).as_deref() == Some("created");
    let data = st.service.ca_data().await?;
    Ok(page::locations_page(
        &admin.nav(),
        &data.locations,
        admin.may(Capability::WriteCa),
        ("", "", false),
        &FieldErrors::new(),
        created.then_some("Named location created."),
    )
    .into_response())
}

/// New IP ranges location.
pub(crate) async fn add_location(
    AdminPost(admin): AdminPost,
    State(st): State<AppState>,
    f: Fields,
) -> Result<Response, PageError> {
    admin.require(Capability::WriteCa, "Creating named locations")?;
    let (name, ranges, trusted) = (f.get("name"), f.get("ranges"), f.is("trusted", "on"));
    let cidrs: Vec<String> = lines(ranges).map(str::to_string).collect();
    let mut errors = FieldErrors::new();
    match st
        .service
        .add_named_location(&admin.actor(), name, &cidrs, trusted)
        .await
    {
        // Post, then redirect: reloading the page does not create the location again.
        Ok(_) => {
            return Ok(
                Redirect::to("/admin/conditional-access/named-locations?notice=created")
                    .into_response(),
            )
        }
        Err(e @ ServiceError::DisplayName(_)) => {
            errors.insert("name", e.to_string());
        }
        Err(e @ (ServiceError::Cidr(_) | ServiceError::Invalid(_))) => {
            errors.insert("ranges", e.to_string());
        }
        Err(e) => return Err(e.into()),
    }
    let data = st.service.ca_data().await?;
    Ok((
        StatusCode::BAD_REQUEST,
        page::locations_page(
            &admin.nav(),
            &data.locations,
            true,
            (name, ranges, trusted),
            &errors,
            None,
        ),
    )
        .into_response())
}
