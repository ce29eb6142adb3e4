//! `GET|POST /oauth2/v2.0/authorize`: validate, sign the user in (or reuse the single-sign-on
//! session), ask the domain's access decision, and send a code back.

use axum::extract::{ConnectInfo, OriginalUri, RawForm, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_domain::application::Application;
use portcullis_domain::oidc::{
    sign_in_need, AuthorizeError, AuthorizeParams, AuthorizeRequest, SignInNeed,
};
use portcullis_service::oidc::{redirect_with, AuthorizeOutcome, Continuation, NextStep};
use std::net::SocketAddr;

use super::AUTHORIZE_PATH;
use crate::error::PageError;
use crate::pages;
use crate::routes::{request_context, signed_in_any};
use crate::AppState;

const KNOWN: [&str; 13] = [
    "client_id",
    "redirect_uri",
    "response_type",
    "response_mode",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
    "login_after",
];

/// Reads the parameters; a parameter sent twice is refused (OIDC Core §3.1.2.1), and with
/// no trusted redirect URI yet, only a page can say so.
pub(crate) fn parse(raw: &str) -> Result<(AuthorizeParams, Vec<(String, String)>), PageError> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect();
    let mut p = AuthorizeParams::default();
    for (k, v) in &pairs {
        let slot = match k.as_str() {
            "client_id" => &mut p.client_id,
            "redirect_uri" => &mut p.redirect_uri,
            "response_type" => &mut p.response_type,
            "response_mode" => &mut p.response_mode,
            "scope" => &mut p.scope,
            "state" => &mut p.state,
            "nonce" => &mut p.nonce,
            "code_challenge" => &mut p.code_challenge,
            "code_challenge_method" => &mut p.code_challenge_method,
            "prompt" => &mut p.prompt,
            "max_age" => &mut p.max_age,
            "login_hint" => &mut p.login_hint,
            "login_after" => &mut p.login_after,
            _ => continue,
        };
        if slot.is_some() {
            return Err(PageError::BadRequest(format!(
                "The parameter '{k}' was sent more than once."
            )));
        }
        *slot = Some(v.clone());
    }
    Ok((p, pairs))
}

/// The authorize URL to come back to after signing in: the same request — `prompt=login`
/// included, so that dropping the bound from the URL cannot cancel it — with a signed
/// `login_after` when the sign-in must be fresh.
async fn return_url(
    st: &AppState,
    pairs: &[(String, String)],
    fresh_after: Option<i64>,
) -> Result<String, PageError> {
    let request = request_params(pairs);
    let token = match fresh_after {
        Some(t) => Some(
            st.service
                .login_after_token(&st.config.issuer(), &request, t)
                .await?,
        ),
        None => None,
    };
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &request {
        q.append_pair(k, v);
    }
    if let Some(token) = &token {
        q.append_pair("login_after", token);
    }
    Ok(format!("{AUTHORIZE_PATH}?{}", q.finish()))
}

/// The authorization request's own parameters: the known ones, `login_after` aside.
fn request_params(pairs: &[(String, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .filter(|(k, _)| KNOWN.contains(&k.as_str()) && k != "login_after")
        .cloned()
        .collect()
}

fn see_other(url: &str) -> Response {
    Redirect::to(url).into_response()
}

/// `GET /oauth2/v2.0/authorize`.
pub async fn get(
    st: State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: OriginalUri,
) -> Response {
    let raw = uri.query().unwrap_or("").to_string();
    handle(st, peer, headers, &raw)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// `POST /oauth2/v2.0/authorize` (form-encoded, OIDC Core §3.1.2.1).
pub async fn post(
    st: State<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<RawForm, axum::extract::rejection::RawFormRejection>,
) -> Response {
    let Ok(RawForm(body)) = form else {
        return PageError::BadRequest("The request body could not be read.".into()).into_response();
    };
    let raw = String::from_utf8_lossy(&body).into_owned();
    handle(st, peer, headers, &raw)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// An authorization request checked against its application, with the query's pairs (a
/// return URL is rebuilt from them).
struct Checked {
    request: AuthorizeRequest,
    app: Application,
    pairs: Vec<(String, String)>,
}

/// The request a query holds, checked against its application (`login_after` verified: it
/// counts only as this server signed it, for this very request; anything else is dropped,
/// and `prompt=login`, kept in the URL, asks for the sign-in again). Or the answer when it
/// is not one: a page, or the application's redirect with the error.
async fn checked(st: &AppState, raw: &str) -> Result<Result<Checked, Response>, PageError> {
    let issuer = st.config.issuer();
    let (mut params, pairs) = parse(raw)?;
    params.login_after = match &params.login_after {
        Some(token) => st
            .service
            .verify_login_after(&issuer, &request_params(&pairs), token)
            .await?
            .map(|t| t.to_string()),
        None => None,
    };
    Ok(match st.service.check_authorize(&params).await? {
        Ok((request, app)) => Ok(Checked {
            request,
            app,
            pairs,
        }),
        Err(AuthorizeError::NoRedirect(message)) => return Err(PageError::BadRequest(message)),
        Err(AuthorizeError::Redirect {
            redirect_uri,
            state,
            error,
            description,
        }) => {
            let mut q = vec![
                ("error", error),
                ("error_description", description.as_str()),
            ];
            if let Some(s) = &state {
                q.push(("state", s));
            }
            q.push(("iss", &issuer));
            Err(see_other(&redirect_with(&redirect_uri, &q)))
        }
    })
}

/// The authorization request a sign-in page returns to, when `return_to` is one this
/// endpoint would go on to decide (checked as [`get`] checks it): what the passkey's answer
/// may continue (issue 18). Anything else — another page, a request in error — is left to
/// the browser to follow, and answered there as it always is.
pub(crate) async fn continuation(st: &AppState, return_to: &str) -> Option<Continuation> {
    let (path, query) = return_to.split_once('?')?;
    // A fragment is the browser's, never sent to the endpoint: a URL with one is left to
    // the browser, so that what is continued is exactly what the endpoint would receive.
    if path != AUTHORIZE_PATH || query.contains('#') {
        return None;
    }
    match checked(st, query).await {
        Ok(Ok(Checked { request, app, .. })) => Some(Continuation {
            issuer: st.config.issuer(),
            request,
            app,
        }),
        Ok(Err(_)) | Err(PageError::BadRequest(_)) => None,
        Err(e) => {
            tracing::warn!(error = %e, "an authorization to continue could not be checked: left to the browser");
            None
        }
    }
}

async fn handle(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    raw: &str,
) -> Result<Response, PageError> {
    let issuer = st.config.issuer();
    let Checked {
        request: req,
        app,
        pairs,
    } = match checked(&st, raw).await? {
        Ok(checked) => checked,
        Err(answer) => return Ok(answer),
    };
    let session = signed_in_any(&st, &headers).await?;
    let now = st.service.now();

    match sign_in_need(&req, session.as_ref().map(|(s, _)| s), now) {
        SignInNeed::Ready => {}
        SignInNeed::LoginRequired => {
            let mut q = vec![
                ("error", "login_required"),
                (
                    "error_description",
                    "The user must sign in, and prompt=none forbids showing a page.",
                ),
            ];
            if let Some(s) = &req.state {
                q.push(("state", s));
            }
            q.push(("iss", &issuer));
            return Ok(see_other(&redirect_with(&req.redirect_uri, &q)));
        }
        SignInNeed::SignIn { fresh_after } => {
            let back = return_url(&st, &pairs, fresh_after.map(|t| t.unix_timestamp())).await?;
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair("return_to", &back);
            if let Some(h) = &req.login_hint {
                q.append_pair("username", h);
            }
            return Ok(see_other(&format!("/signin?{}", q.finish())));
        }
    }
    let Some((session, user)) = session else {
        return Err(PageError::Internal("a ready sign-in has no session".into()));
    };
    // R55: a session the registration campaign holds up reaches only the applications
    // where passkeys are registered until it is answered; then this authorization resumes.
    // With prompt=none no page may be shown: the application hears interaction_required.
    if portcullis_domain::policy::campaign::holds_up(&session, &app.app_id) {
        if req.prompt_none {
            let mut q = vec![
                ("error", "interaction_required"),
                (
                    "error_description",
                    "The user must answer a request to add a passkey first, and prompt=none forbids showing a page.",
                ),
            ];
            if let Some(s) = &req.state {
                q.push(("state", s));
            }
            q.push(("iss", &issuer));
            return Ok(see_other(&redirect_with(&req.redirect_uri, &q)));
        }
        let back = return_url(&st, &pairs, None).await?;
        return Ok(see_other(&crate::campaign::page_url(Some(&back))));
    }
    let ctx = request_context(&st, peer, &headers);
    match st
        .service
        .issue_code(&issuer, &req, &app, &session, &user, &ctx)
        .await?
    {
        AuthorizeOutcome::Redirect(to) => Ok(see_other(&to)),
        AuthorizeOutcome::Denied {
            application,
            code,
            policy,
            reason,
            remedy,
            is_loop,
            next,
        } => {
            // Both next steps end in a fresh sign-in that resumes this very authorization.
            let back = return_url(&st, &pairs, Some(now.unix_timestamp())).await?;
            let again = {
                let mut q = url::form_urlencoded::Serializer::new(String::new());
                q.append_pair("return_to", &back);
                q.append_pair("username", user.user_principal_name.as_str());
                format!("/signin?{}", q.finish())
            };
            let actions: Vec<pages::oidc::Action> = match next {
                NextStep::Nothing => vec![],
                NextStep::SignInAgain => vec![pages::oidc::Action {
                    id: "sign-in-again",
                    label: "Sign in again with a method that meets it",
                    href: again,
                }],
                NextStep::RegisterInSecurityInfo => vec![
                    pages::oidc::Action {
                        id: "open-security-info",
                        label: "Add a passkey in Security info",
                        href: "/security-info".into(),
                    },
                    pages::oidc::Action {
                        id: "sign-in-again",
                        label: "I have added one: sign in with it and continue",
                        href: again,
                    },
                ],
            };
            let refusal = pages::oidc::Refusal {
                application: &application,
                code,
                policy: &policy,
                reason: &reason,
                remedy: &remedy,
                is_loop,
                actions: &actions,
            };
            // A native app that signs in without a web view (the Authenticator as a
            // command) asks for the same refusal as data.
            if pages::oidc::wants_json(&headers) {
                return Ok((
                    StatusCode::FORBIDDEN,
                    axum::Json(pages::oidc::access_denied_json(&refusal)),
                )
                    .into_response());
            }
            Ok((StatusCode::FORBIDDEN, pages::access_denied_page(&refusal)).into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_parameters_are_refused_and_unknown_ones_dropped() {
        assert!(parse("client_id=a&client_id=b").is_err());
        let (p, pairs) = parse("client_id=a&prompt=login&scope=openid%20profile&extra=1").unwrap();
        assert_eq!(p.scope.as_deref(), Some("openid profile"));
        assert_eq!(p.prompt.as_deref(), Some("login"));
        assert!(
            pairs.iter().any(|(k, _)| k == "extra"),
            "kept in pairs, dropped by return_url"
        );
    }
}
