//! R55: the registration campaign's interrupt after sign-in. A session it interrupted
//! reaches this page, Security info and sign-out only ([`crate::routes::signed_in`] sends
//! everything else here) until its user adds the passkey or chooses "Not now".

use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use crate::error::PageError;
use crate::routes::{check_same_origin, safe_return_to, signed_in_any};
use crate::{pages, AppState};
use portcullis_domain::policy::campaign::SnoozeRefusal;
use portcullis_service::campaign::SnoozeError;

/// The page to continue to afterwards.
#[derive(Debug, Default, Deserialize)]
pub struct Back {
    return_to: Option<String>,
}

/// Where the interrupt page is, for a session it holds up on its way to `back`.
/// (The signed-in page when none is given.)
pub fn page_url(back: Option<&str>) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("return_to", back.unwrap_or("/me"));
    format!("/registration-campaign?{}", q.finish())
}

/// `GET /registration-campaign`: what the campaign asks now. A session it no longer holds
/// up continues at once.
pub async fn page(
    State(st): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<Back>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let back = q
        .ok()
        .and_then(|Query(b)| safe_return_to(b.return_to.as_deref()))
        .unwrap_or_else(|| "/me".into());
    let Some((session, _)) = signed_in_any(&st, &headers).await? else {
        return Ok(Redirect::to("/signin").into_response());
    };
    let (nudge, days) = st.service.campaign_interrupt(&session).await?;
    if !nudge.interrupts() {
        return Ok(Redirect::to(&back).into_response());
    }
    Ok(pages::campaign::interrupt_page(&nudge, &back, days).into_response())
}

/// `POST /registration-campaign/snooze`: "Not now", while the campaign allows it.
pub async fn snooze(
    State(st): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<Back>, FormRejection>,
) -> Result<Response, PageError> {
    check_same_origin(&headers, &st)?;
    let back = form
        .ok()
        .and_then(|Form(b)| safe_return_to(b.return_to.as_deref()))
        .unwrap_or_else(|| "/me".into());
    let Some((session, _)) = signed_in_any(&st, &headers).await? else {
        return Ok(Redirect::to("/signin").into_response());
    };
    match st.service.snooze_campaign(&session).await {
        Ok(_) => Ok(Redirect::to(&back).into_response()),
        Err(SnoozeError::Refused(r)) => {
            let status = match r {
                SnoozeRefusal::RegistrationRequired => StatusCode::FORBIDDEN,
                SnoozeRefusal::NotAsked => StatusCode::CONFLICT,
            };
            Ok((
                status,
                pages::error_page(status, &format!("Not postponed: {r}.")),
            )
                .into_response())
        }
        Err(SnoozeError::Failed(e)) => Err(e.into()),
    }
}
