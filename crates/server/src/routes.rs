//! Routes and handlers.

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::{Form, Json, Router};
use portcullis_domain::tap::TapRefusal;
use portcullis_service::tap::SignInError;
use portcullis_service::RequestContext;
use serde::Deserialize;
use std::net::SocketAddr;
use tower_http::trace::TraceLayer;

use crate::error::PageError;
use crate::pages::{self, signin};
use crate::route_table::{route_table, Pipe};
use crate::{api, oidc, security_info};
use crate::{session_cookie, AppState};
use portcullis_service::oidc::USERINFO_PATH;

route_table! {
    /// The routes of the pages, the pages' API, the admin API, OAuth and the operators'
    /// endpoints (the admin center's are [`crate::admin::ROUTES`]).
    pub const ROUTES;
    fn table_router;
    "/healthz" => Page, Anyone { Get healthz };
    "/readyz" => Page, Anyone { Get readyz };
    "/metrics" => Page, Anyone { Get crate::metrics::scrape };
    "/" => Page, Anyone { Get home };
    "/signin" => Page, Anyone { Get signin_form };
    "/signin/tap" => Page, Anyone { Post signin_tap };
    "/signin/password" => Page, Anyone {
        Get crate::password_signin::form,
        Post crate::password_signin::submit,
    };
    "/signin/code" => Page, Anyone { Post crate::password_signin::code };
    "/signin/password/new" => Page, Anyone { Post crate::password_signin::new_password };
    "/signin/push" => Page, Anyone { Post crate::password_signin::push };
    "/me" => Page, SignedIn { Get me };
    "/signout" => Page, Anyone { Post signout };
    "/registration-campaign" => Page, SignedIn { Get crate::campaign::page };
    "/registration-campaign/snooze" => Page, SignedIn { Post crate::campaign::snooze };
    "/static/portcullis.css" => Page, Anyone { Get stylesheet };
    "/static/portcullis.js" => Page, Anyone { Get script };
    "/favicon.ico" => Page, Anyone { Get favicon };
    "/static/favicon.svg" => Page, Anyone { Get favicon };
    "/security-info" => Page, SignedIn { Get security_info::pages::security_info };
    "/security-info/passkeys/{id}/delete" => Page, SignedIn {
        Get security_info::pages::confirm_delete_passkey,
        Post security_info::pages::delete_passkey,
    };
    "/security-info/passkeys/{id}/rename" => Page, SignedIn {
        Post security_info::pages::rename_passkey
    };
    "/security-info/callback" => Page, Anyone { Get security_info::callback };
    "/security-info/authenticator-app" => Page, SignedIn {
        Get security_info::factors::begin,
        Post security_info::factors::confirm,
    };
    "/security-info/authenticator-app/{id}/delete" => Page, SignedIn {
        Post security_info::factors::delete
    };
    "/security-info/authenticator" => Page, SignedIn {
        Get security_info::factors::begin_authenticator
    };
    "/security-info/authenticator/{id}/delete" => Page, SignedIn {
        Post security_info::factors::delete_authenticator
    };
    "/authenticator/activate" => Page, Anyone { Get security_info::factors::open_in_app };
    security_info::pages::ADD_ACCOUNT_PATH => Page, Anyone {
        Get security_info::factors::open_add_in_app
    };
    "/security-info/password" => Page, SignedIn {
        Get security_info::factors::password_form,
        Post security_info::factors::change_password,
    };
    "/api/passkeys/registration/options" => Api, SignedIn { Post api::registration_options };
    "/api/passkeys/registration" => Api, SignedIn { Post api::register };
    "/api/signin/passkey/options" => Api, Anyone { Post api::sign_in_options };
    "/api/signin/passkey" => Api, Anyone { Post api::sign_in };
    "/api/authenticator/devices" => Api, Anyone { Post crate::authenticator_api::activate };
    "/api/authenticator/devices/{id}/remove" => Api, Anyone { Post crate::authenticator_api::remove };
    "/api/authenticator/requests" => Api, Anyone { Post crate::authenticator_api::poll };
    "/api/authenticator/requests/{id}" => Api, Anyone { Post crate::authenticator_api::answer };
    "/api/authenticator/passkeys/options" => Api, Bearer {
        Post crate::authenticator_app::options
    };
    "/api/authenticator/passkeys" => Api, Bearer { Post crate::authenticator_app::finish };
    "/api/authenticator/passkeys/{id}/delete" => Api, Bearer {
        Post crate::authenticator_app::delete
    };
    "/api/authenticator/codes" => Api, Bearer { Post crate::authenticator_app::confirm_codes };
    "/api/admin/readiness" => Api, Bearer { Post crate::admin_api::readiness };
    "/api/admin/inventory/passkeys" => Api, Bearer { Get crate::admin_api::inventory };
    "/.well-known/openid-configuration" => OAuth, Anyone { Get oidc::discovery };
    oidc::JWKS_PATH => OAuth, Anyone { Get oidc::jwks };
    oidc::AUTHORIZE_PATH => OAuth, Anyone {
        Get oidc::authorize::get,
        Post oidc::authorize::post,
    };
    oidc::TOKEN_PATH => OAuth, Anyone { Post oidc::token::token };
    "/{tenant}/oauth2/v2.0/token" => OAuth, Anyone { Post oidc::token::token };
    USERINFO_PATH => OAuth, Bearer {
        Get oidc::userinfo::userinfo,
        Post oidc::userinfo::userinfo,
    };
    oidc::LOGOUT_PATH => OAuth, Anyone {
        Get oidc::userinfo::logout_get,
        Post oidc::userinfo::logout_post,
    };
    "/v1.0/{*path}" => Graph, Bearer { Any crate::graph::dispatch };
    "/beta/{*path}" => Graph, Bearer { Any crate::graph::dispatch };
}

/// Every route of the server, with the layers every request passes.
pub fn router(state: AppState) -> Router {
    let limit = state.config.body_limit;
    let body_timeout =
        std::time::Duration::from_secs(state.config.connections.body_read_timeout_seconds);
    table_router()
        .merge(crate::admin::table_router())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        // A body must arrive within its time once the head has (slow-body slowloris).
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                crate::listen::body_deadline(body_timeout, req, next)
            },
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            crate::edge::panicked,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::edge::edge,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::count,
        ))
        .layer(axum::middleware::map_response(security_headers))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            // Every log line a request causes carries its id (JSON logs: span.request_id).
            let id = req
                .headers()
                .get(crate::edge::REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            tracing::info_span!("request", request_id = %id, method = %req.method(), uri = %redacted_uri(req.uri()))
        }))
        .layer(axum::middleware::from_fn(crate::edge::request_id))
        .with_state(state)
}

/// Query parameters whose values are secrets or bearer material: never in a log line.
const SECRET_PARAMETERS: [&str; 8] = [
    "code",
    "id_token_hint",
    "refresh_token",
    "access_token",
    "client_secret",
    "code_verifier",
    "login_after",
    "id_token",
];

/// A request URI as logs show it: each secret parameter's value replaced by `REDACTED`, in
/// the URI itself and in the page it returns to (`return_to` carries an authorize URL).
pub(crate) fn redacted_uri(uri: &axum::http::Uri) -> String {
    match uri.query() {
        Some(query) => format!("{}?{}", uri.path(), redacted_query(query, 1)),
        None => uri.path().to_string(),
    }
}

fn redacted_query(query: &str, depth: u8) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if SECRET_PARAMETERS.iter().any(|s| k.eq_ignore_ascii_case(s)) {
            q.append_pair(&k, "REDACTED");
        } else if k.eq_ignore_ascii_case("return_to") {
            let inner = match v.split_once('?') {
                Some((path, query)) if depth > 0 => {
                    format!("{path}?{}", redacted_query(query, depth.saturating_sub(1)))
                }
                Some((path, _)) => format!("{path}?REDACTED"),
                None => v.into_owned(),
            };
            q.append_pair(&k, &inner);
        } else {
            q.append_pair(&k, &v);
        }
    }
    q.finish()
}

#[cfg(test)]
mod redaction_tests {
    #[test]
    fn secret_query_parameters_are_redacted_in_logs() {
        let uri: axum::http::Uri =
            "/security-info/callback?code=SECRET1&state=s&id_token_hint=SECRET2&Refresh_Token=SECRET3"
                .parse()
                .unwrap();
        let logged = super::redacted_uri(&uri);
        assert!(!logged.contains("SECRET"), "{logged}");
        assert!(
            logged.contains("state=s") && logged.contains("code=REDACTED"),
            "{logged}"
        );
        assert_eq!(super::redacted_uri(&"/me".parse().unwrap()), "/me");
        let nested: axum::http::Uri =
            "/signin?return_to=%2Foauth2%2Fv2.0%2Fauthorize%3Fclient_id%3Dc%26login_after%3DSECRET4%26state%3Ds"
                .parse()
                .unwrap();
        let logged = super::redacted_uri(&nested);
        assert!(!logged.contains("SECRET"), "{logged}");
        assert!(logged.contains("client_id%3Dc"), "{logged}");
    }
}

async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    // Not `no-referrer`: with it Chromium sends `Origin: null` on form posts, which the
    // same-origin check below must refuse.
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// `GET /healthz`: the process answers (liveness).
async fn healthz() -> Response {
    Json(serde_json::json!({"status": "ok"})).into_response()
}

/// `GET /readyz`: the store answers and holds every migration this build knows
/// (readiness: a load balancer sends requests here only then).
async fn readyz(State(st): State<AppState>) -> Response {
    let store = st.service.store();
    let unavailable = |why: &str| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "unavailable", "database": why})),
        )
            .into_response()
    };
    if let Err(e) = store.ping().await {
        tracing::error!(error = %e, "readiness: database unreachable");
        return unavailable("unreachable");
    }
    match store.migrations_applied().await {
        Ok(true) => Json(serde_json::json!({"status": "ok"})).into_response(),
        Ok(false) => unavailable("migrations differ from this build's"),
        Err(e) => {
            tracing::error!(error = %e, "readiness: migrations unreadable");
            unavailable("unreachable")
        }
    }
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        pages::STYLESHEET,
    )
        .into_response()
}

async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        pages::FAVICON,
    )
        .into_response()
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        pages::SCRIPT,
    )
        .into_response()
}

/// The signed-in session behind the request's cookie, if any, for everything but Security
/// info, sign-out and the campaign's own page: a session the registration campaign
/// interrupted is sent to that page instead (R55).
pub(crate) async fn signed_in(
    st: &AppState,
    headers: &HeaderMap,
) -> Result<
    Option<(
        portcullis_domain::session::Session,
        portcullis_domain::directory::User,
    )>,
    PageError,
> {
    let s = signed_in_any(st, headers).await?;
    if s.as_ref().is_some_and(|(s, _)| s.campaign_pending) {
        return Err(PageError::RegistrationDue(None));
    }
    Ok(s)
}

/// The signed-in session behind the request's cookie, if any, whatever the registration
/// campaign asks: for Security info (where the user registers), sign-out and the campaign.
pub(crate) async fn signed_in_any(
    st: &AppState,
    headers: &HeaderMap,
) -> Result<
    Option<(
        portcullis_domain::session::Session,
        portcullis_domain::directory::User,
    )>,
    PageError,
> {
    match session_cookie::read(headers) {
        Some(t) => Ok(st.service.session(&t).await?),
        None => Ok(None),
    }
}

/// Says once, in the log, that requests carry `X-Forwarded-For` from a peer outside
/// `trusted_proxies`: behind a reverse proxy that is not listed, every user shares the
/// proxy's address, so one person's wrong codes lock everyone out of the pass sign-in. The
/// store records the peer (hourly at most), and readiness reports it.
fn warn_untrusted_proxy(st: &AppState, peer: SocketAddr) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let trusted = st.config.trusted_proxies.iter().any(|(a, l)| {
        portcullis_domain::conditional_access::location::cidr_contains(*a, *l, peer.ip())
    });
    if trusted {
        return;
    }
    // Recorded for readiness, at most once an hour a peer (on a monotonic clock), for up to
    // 64 peers a process: enough for any set of proxies, bounded against anything else.
    static RECORDED: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, std::time::Instant>>,
    > = std::sync::OnceLock::new();
    let ip = peer.ip().to_canonical();
    let due = RECORDED
        .get_or_init(Default::default)
        .lock()
        .map(|mut seen| {
            let now = std::time::Instant::now();
            match seen.get(&ip) {
                Some(at) if now.duration_since(*at) < std::time::Duration::from_secs(3600) => false,
                None if seen.len() >= 64 => false,
                _ => {
                    seen.insert(ip, now);
                    true
                }
            }
        })
        .unwrap_or(false);
    if due {
        let service = st.service.clone();
        tokio::spawn(async move {
            if let Err(e) = service.record_untrusted_forwarder(ip).await {
                tracing::warn!(error = %e, "recording an untrusted forwarder failed");
            }
        });
    }
    if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::warn!(
            peer = %peer.ip(),
            "requests arrive with X-Forwarded-For from {}, which trusted_proxies does not list: the header is ignored, and every client behind that proxy counts as one source (rate limits and lock-outs are shared). If it is your reverse proxy, add it to trusted_proxies.",
            peer.ip()
        );
    }
}

/// Source address and user agent of a request.
pub(crate) fn request_context(
    st: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> RequestContext {
    // Repeated header lines are one list, in order (RFC 9110 §5.3); each line goes as bytes, so
    // a line that is not text is an unreadable hop where it stands (see `client_ip`).
    let forwarded: Vec<&[u8]> = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(HeaderValue::as_bytes)
        .collect();
    if !forwarded.is_empty() {
        warn_untrusted_proxy(st, peer);
    }
    RequestContext {
        source: portcullis_domain::conditional_access::location::client_ip(
            peer.ip(),
            &forwarded,
            &st.config.trusted_proxies,
        ),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(512)
            .collect(),
        device_proof: headers
            .get("x-portcullis-device-proof")
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.len() <= 300)
            .map(str::to_string),
    }
}

/// An address no route answers: a bare 404, which the edge gives the shape of the surface
/// the address belongs to (a page, or Graph's, the API's or OAuth's JSON).
async fn not_found() -> (StatusCode, &'static str) {
    (StatusCode::NOT_FOUND, "Nothing is at this address.")
}

async fn home(State(st): State<AppState>, headers: HeaderMap) -> Result<Redirect, PageError> {
    Ok(Redirect::to(if signed_in(&st, &headers).await?.is_some() {
        "/me"
    } else {
        "/signin"
    }))
}

#[derive(Deserialize)]
struct SigninQuery {
    username: Option<String>,
    return_to: Option<String>,
}

/// A page of this site to return to after signing in: a path, never another origin
/// (`//host`, `/\host`) and never a scheme, so the sign-in page is no open redirect.
pub(crate) fn safe_return_to(s: Option<&str>) -> Option<String> {
    let s = s?.trim();
    let ok = s.starts_with('/')
        && !s.starts_with("//")
        && !s.contains('\\')
        && s.len() <= 4096
        && !s.chars().any(|c| c.is_control());
    ok.then(|| s.to_string())
}

async fn signin_form(
    State(st): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<SigninQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let q = query.map(|q| q.0).unwrap_or(SigninQuery {
        username: None,
        return_to: None,
    });
    let username: String = q
        .username
        .unwrap_or_default()
        .trim()
        .chars()
        .take(200)
        .collect();
    // R23: a user whose preferred method is a passkey goes straight to the passkey prompt —
    // in a browser where they signed in with one, so that the page tells nobody else.
    let hint = session_cookie::read_named(&headers, session_cookie::PASSKEY_HINT);
    let passkey_first = !username.is_empty()
        && st
            .service
            .prefers_passkey(&username, hint.as_deref())
            .await?;
    Ok(signin::signin_page_for(
        &username,
        None,
        passkey_first,
        safe_return_to(q.return_to.as_deref()).as_deref(),
    )
    .into_response())
}

#[derive(Deserialize)]
struct TapForm {
    username: String,
    code: String,
    return_to: Option<String>,
}

/// Refuses a state-changing request sent from another site (login CSRF and friends).
pub(crate) fn check_same_origin(headers: &HeaderMap, st: &AppState) -> Result<(), PageError> {
    let cross = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site");
    let origin_ok = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|o| o == st.config.origin());
    if cross || !origin_ok {
        return Err(PageError::Forbidden(
            "This form was submitted from another site, so it was refused.".into(),
        ));
    }
    Ok(())
}

pub(crate) fn form_error(r: FormRejection) -> PageError {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        PageError::TooLarge
    } else {
        PageError::BadRequest(format!("The form could not be read: {}", r.body_text()))
    }
}

fn refusal_status(r: &TapRefusal) -> StatusCode {
    match r {
        TapRefusal::MalformedUsername => StatusCode::BAD_REQUEST,
        TapRefusal::LockedOut { .. } => StatusCode::TOO_MANY_REQUESTS,
        TapRefusal::AccountDisabled
        | TapRefusal::MethodDisabled
        | TapRefusal::NotInScope(_)
        | TapRefusal::MultiUseBlocked => StatusCode::FORBIDDEN,
        _ => StatusCode::UNAUTHORIZED,
    }
}

async fn signin_tap(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<TapForm>, FormRejection>,
) -> Result<Response, PageError> {
    check_same_origin(&headers, &st)?;
    let ctx = request_context(&st, peer, &headers);
    // Every attempt costs an Argon2 hash and may write a failure: each source is rate-limited
    // before any of that, on top of the wrong-code lock-out (R13).
    if let Err(wait) = st
        .limits
        .tap_attempts
        .take(&ctx.source_key(), std::time::Instant::now())
    {
        let secs = crate::rate_limit::retry_after_secs(wait);
        let res = (
            StatusCode::TOO_MANY_REQUESTS,
            signin::signin_page(
                "",
                Some(&format!(
                    "Too many sign-in attempts from your network; try again in {secs} seconds."
                )),
                None,
            ),
        )
            .into_response();
        return Ok(crate::rate_limit::with_retry_after(res, secs));
    }
    let Form(form) = form.map_err(form_error)?;
    let return_to = safe_return_to(form.return_to.as_deref());
    match st
        .service
        .sign_in_with_tap(&form.username, &form.code, &ctx)
        .await
    {
        Ok(s) => {
            let now = st.service.now();
            let cookie = session_cookie::set(
                &s.token,
                s.session.expires_at,
                now,
                st.config.cookie_secure(),
            );
            let to = return_to.as_deref().unwrap_or("/me");
            let to = if s.session.campaign_pending {
                crate::campaign::page_url(Some(to))
            } else {
                to.to_string()
            };
            Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&to)).into_response())
        }
        Err(SignInError::Refused(r)) => {
            let mut res = (
                refusal_status(&r),
                signin::signin_page(
                    form.username.trim(),
                    Some(&portcullis_service::render::tap_refusal(&r)),
                    return_to.as_deref(),
                ),
            )
                .into_response();
            if let TapRefusal::LockedOut { until } = &r {
                let secs = (*until - st.service.now()).whole_seconds().max(1);
                if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            Ok(res)
        }
        Err(SignInError::Failed(e)) => Err(e.into()),
    }
}

async fn me(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    let Some(token) = session_cookie::read(&headers) else {
        return Ok(Redirect::to("/signin").into_response());
    };
    match st.service.session(&token).await? {
        Some((session, _)) if session.campaign_pending => {
            Err(PageError::RegistrationDue(Some("/me".into())))
        }
        Some((session, user)) => Ok(signin::signed_in_page(&user, &session).into_response()),
        None => Ok((
            [(
                header::SET_COOKIE,
                session_cookie::clear(st.config.cookie_secure()),
            )],
            Redirect::to("/signin"),
        )
            .into_response()),
    }
}

async fn signout(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    check_same_origin(&headers, &st)?;
    if let Some(token) = session_cookie::read(&headers) {
        st.service.sign_out(&token).await?;
    }
    let secure = st.config.cookie_secure();
    Ok((
        AppendHeaders([
            (header::SET_COOKIE, session_cookie::clear(secure)),
            (header::SET_COOKIE, security_info::clear_cookie(secure)),
        ]),
        Redirect::to("/signin"),
    )
        .into_response())
}
