//! OpenID Connect decisions (SPEC §6): which authorization requests are valid, whether the
//! user must sign in (again), what the tokens say about how they signed in.

use crate::application::Application;
use crate::session::{AuthMethod, Session};
use crate::strength::BUILT_IN;
use crate::Timestamp;
use time::Duration;

/// Scopes Portcullis understands.
pub const SUPPORTED_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];
/// How long an authorization code lives.
pub const CODE_LIFETIME: Duration = Duration::minutes(5);
/// How long an access or ID token lives.
pub const TOKEN_LIFETIME: Duration = Duration::hours(1);
/// How long a refresh token lives (each use rotates it).
pub const REFRESH_LIFETIME: Duration = Duration::days(14);
/// Longest `state`/`nonce` accepted.
pub const STATE_MAX: usize = 1024;

/// The raw parameters of an authorization request.
#[derive(Debug, Clone, Default)]
pub struct AuthorizeParams {
    /// `client_id`.
    pub client_id: Option<String>,
    /// `redirect_uri`.
    pub redirect_uri: Option<String>,
    /// `response_type`.
    pub response_type: Option<String>,
    /// `response_mode`.
    pub response_mode: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// `code_challenge`.
    pub code_challenge: Option<String>,
    /// `code_challenge_method`.
    pub code_challenge_method: Option<String>,
    /// `prompt`.
    pub prompt: Option<String>,
    /// `max_age` (seconds), unparsed.
    pub max_age: Option<String>,
    /// `login_hint`.
    pub login_hint: Option<String>,
    /// Portcullis' own marker: the user must have authenticated at or after this instant
    /// (unix seconds); set when a `prompt=login` request is sent to the sign-in page.
    pub login_after: Option<String>,
}

/// A request that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// The application.
    pub client_id: String,
    /// Where the code goes.
    pub redirect_uri: String,
    /// Granted scopes, in request order.
    pub scopes: Vec<String>,
    /// Echoed back.
    pub state: Option<String>,
    /// Put into the ID token.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// `prompt=none`: never show a page.
    pub prompt_none: bool,
    /// Authentication must be at least this recent.
    pub max_age: Option<Duration>,
    /// Authentication must have happened at or after this instant (`prompt=login`).
    pub login_after: Option<Timestamp>,
    /// `prompt=login` as asked (the shell turns it into `login_after`).
    pub prompt_login: bool,
    /// Suggested user name.
    pub login_hint: Option<String>,
}

/// Why an authorization request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// The client or redirect URI cannot be trusted: show an error page, never redirect.
    NoRedirect(String),
    /// Tell the client (RFC 6749 §4.1.2.1): redirect with `error` and `error_description`.
    Redirect {
        /// Where.
        redirect_uri: String,
        /// The request's `state`.
        state: Option<String>,
        /// RFC 6749 error code.
        error: &'static str,
        /// Human text.
        description: String,
    },
}

fn one_line(s: &Option<String>) -> Option<String> {
    s.as_ref()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Validates an authorization request against the application it names (`None` when no
/// such application exists). The client and redirect URI are checked first and exactly:
/// until both hold, nothing may redirect.
pub fn validate_authorize(
    app: Option<&Application>,
    p: &AuthorizeParams,
) -> Result<AuthorizeRequest, AuthorizeError> {
    let Some(client_id) = one_line(&p.client_id) else {
        return Err(AuthorizeError::NoRedirect(
            "The request has no client_id.".into(),
        ));
    };
    let Some(app) = app.filter(|a| a.app_id == client_id) else {
        return Err(AuthorizeError::NoRedirect(format!(
            "No application with client id '{}' is registered.",
            client_id.chars().take(80).collect::<String>()
        )));
    };
    let redirect_uri = match (one_line(&p.redirect_uri), app.redirect_uris.as_slice()) {
        (Some(r), _) if app.accepts_redirect_uri(&r) => r,
        (Some(r), _) => {
            return Err(AuthorizeError::NoRedirect(format!(
                "The redirect URI '{}' is not registered for '{}'. It must match a registered URI exactly.",
                r.chars().take(200).collect::<String>(),
                app.display_name
            )))
        }
        // Without one, the only registered URI is used (OAuth 2.0 §3.1.2.3).
        (None, [only]) => only.clone(),
        (None, _) => return Err(AuthorizeError::NoRedirect("The request has no redirect_uri.".into())),
    };
    let state = p.state.clone().filter(|s| !s.is_empty());
    let fail = |error: &'static str, description: String| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        error,
        description,
    };
    if state.as_ref().is_some_and(|s| s.len() > STATE_MAX)
        || p.nonce.as_ref().is_some_and(|s| s.len() > STATE_MAX)
    {
        return Err(fail(
            "invalid_request",
            format!("state and nonce may be at most {STATE_MAX} characters."),
        ));
    }
    match p.response_type.as_deref() {
        Some("code") => {}
        Some(other) => {
            return Err(fail(
                "unsupported_response_type",
                format!("Only response_type=code is supported, not '{other}'."),
            ))
        }
        None => return Err(fail("invalid_request", "response_type is required.".into())),
    }
    if let Some(mode) = p.response_mode.as_deref().filter(|m| *m != "query") {
        return Err(fail(
            "invalid_request",
            format!("Only response_mode=query is supported, not '{mode}'."),
        ));
    }
    let mut scopes: Vec<String> = vec![];
    for s in p.scope.as_deref().unwrap_or("").split_whitespace() {
        if !SUPPORTED_SCOPES.contains(&s) {
            return Err(fail(
                "invalid_scope",
                format!(
                    "The scope '{s}' is not supported; use {}.",
                    SUPPORTED_SCOPES.join(", ")
                ),
            ));
        }
        if !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_string());
        }
    }
    if !scopes.iter().any(|s| s == "openid") {
        return Err(fail(
            "invalid_scope",
            "The scope must include 'openid'.".into(),
        ));
    }
    let code_challenge = one_line(&p.code_challenge);
    match (&code_challenge, p.code_challenge_method.as_deref()) {
        (None, _) if app.public_client => {
            return Err(fail(
                "invalid_request",
                format!(
                    "'{}' is a public client: PKCE (code_challenge with S256) is required.",
                    app.display_name
                ),
            ))
        }
        (None, Some(_)) => {
            return Err(fail(
                "invalid_request",
                "code_challenge_method was sent without code_challenge.".into(),
            ))
        }
        (None, None) | (Some(_), Some("S256")) => {}
        (Some(_), Some(m)) => {
            return Err(fail(
                "invalid_request",
                format!("code_challenge_method must be S256, not '{m}'."),
            ))
        }
        (Some(_), None) => {
            return Err(fail(
                "invalid_request",
                "code_challenge_method must be S256 (plain is not accepted).".into(),
            ))
        }
    }
    if let Some(c) = &code_challenge {
        if c.len() != 43
            || !c
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        {
            return Err(fail(
                "invalid_request",
                "code_challenge must be the base64url SHA-256 of the verifier (43 characters)."
                    .into(),
            ));
        }
    }
    let prompts: Vec<&str> = p
        .prompt
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    if let Some(bad) = prompts
        .iter()
        .find(|x| !matches!(**x, "none" | "login" | "consent" | "select_account"))
    {
        return Err(fail(
            "invalid_request",
            format!("prompt '{bad}' is not supported."),
        ));
    }
    let prompt_none = prompts.contains(&"none");
    if prompt_none && prompts.len() > 1 {
        return Err(fail(
            "invalid_request",
            "prompt=none cannot be combined with other values.".into(),
        ));
    }
    let max_age = match one_line(&p.max_age) {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(secs) if secs >= 0 => Some(Duration::seconds(secs)),
            _ => {
                return Err(fail(
                    "invalid_request",
                    "max_age must be a non-negative number of seconds.".into(),
                ))
            }
        },
    };
    let login_after = one_line(&p.login_after)
        .and_then(|v| v.parse::<i64>().ok())
        .and_then(|s| Timestamp::from_unix_timestamp(s).ok());
    Ok(AuthorizeRequest {
        client_id,
        redirect_uri,
        scopes,
        state,
        nonce: p.nonce.clone().filter(|s| !s.is_empty()),
        code_challenge,
        prompt_none,
        max_age,
        login_after,
        prompt_login: prompts.contains(&"login"),
        login_hint: one_line(&p.login_hint).map(|h| h.chars().take(256).collect()),
    })
}

/// What the authorization endpoint does about the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInNeed {
    /// The session is fine: go on to the access decision.
    Ready,
    /// Send the user to the sign-in page; after it, authentication must be at or after
    /// `fresh_after` (when set).
    SignIn {
        /// Required freshness.
        fresh_after: Option<Timestamp>,
    },
    /// `prompt=none` and the user would have to sign in: `login_required`.
    LoginRequired,
}

/// Decides whether the request can use the current session (SSO) or needs a sign-in.
/// `prompt=login` with no `login_after` yet asks for a fresh sign-in from `now`.
pub fn sign_in_need(
    req: &AuthorizeRequest,
    session: Option<&Session>,
    now: Timestamp,
) -> SignInNeed {
    let mut fresh_after = req.login_after.map(|t| t.min(now));
    if req.prompt_login && fresh_after.is_none() {
        fresh_after = Some(now);
    }
    if let Some(max) = req.max_age {
        let bound = now.saturating_sub(max);
        fresh_after = Some(fresh_after.map_or(bound, |f| f.max(bound)));
    }
    let fresh_enough = |s: &Session| fresh_after.is_none_or(|f| s.auth_time >= f);
    match session {
        Some(s) if s.is_live(now) && fresh_enough(s) => SignInNeed::Ready,
        _ if req.prompt_none => SignInNeed::LoginRequired,
        // A fresh sign-in would satisfy max_age; only prompt=login and login_after need a bound.
        _ => SignInNeed::SignIn {
            fresh_after: fresh_after.filter(|_| req.prompt_login || req.login_after.is_some()),
        },
    }
}

/// RP-initiated sign-out without asking the user: only with an unexpired ID token of the
/// user signed in here (or of anyone, when nobody is). A hint for another user, or an old
/// one lying in some log, is no proof the user wants to be signed out: they are asked.
pub fn sign_out_at_once(
    hint_sub: Option<&str>,
    hint_exp: Option<i64>,
    signed_in_user: Option<uuid::Uuid>,
    now: Timestamp,
) -> bool {
    let (Some(sub), Some(exp)) = (hint_sub, hint_exp) else {
        return false;
    };
    let current = exp > now.unix_timestamp();
    let same_user = signed_in_user.is_none_or(|u| u.to_string() == sub);
    current && same_user
}

/// The `amr` values (RFC 8176 where one fits) for the methods used in a session.
pub fn amr(methods: &[AuthMethod]) -> Vec<&'static str> {
    let mut out = vec![];
    for m in methods {
        let v: &[&str] = match m {
            // A passkey proves possession and user verification in one gesture.
            AuthMethod::Passkey => &["fido", "hwk", "user"],
            AuthMethod::TemporaryAccessPass => &["tap"],
            AuthMethod::Password => &["pwd"],
            // RFC 8176: a one-time password.
            AuthMethod::SoftwareOath => &["otp"],
            // A device key the app holds proved the approval.
            AuthMethod::AuthenticatorPush => &["swk"],
        };
        for x in v {
            if !out.contains(x) {
                out.push(*x);
            }
        }
    }
    if crate::session::is_mfa(methods) {
        out.push("mfa");
    }
    out
}

/// The ids of the built-in strengths (R30) that the methods used satisfy (R32). Built-ins
/// restrict no AAGUID, so the passkey's model does not matter here.
pub fn satisfied_builtin_strengths(methods: &[AuthMethod]) -> Vec<&'static str> {
    let used: Vec<_> = methods.iter().map(|m| m.as_used(None, false)).collect();
    BUILT_IN
        .iter()
        .zip(crate::strength::built_in())
        .filter(|(_, s)| s.satisfied_by(&used))
        .map(|(b, _)| b.id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::CustomSecurityAttributes;
    use time::macros::datetime;
    use uuid::Uuid;

    fn app(public: bool) -> Application {
        Application {
            app_id: "client-1".into(),
            object_id: "o".into(),
            service_principal_id: "s".into(),
            display_name: "App".into(),
            public_client: public,
            first_party: false,
            redirect_uris: vec![
                "https://app.example/cb".into(),
                "https://app.example/other".into(),
            ],
            approved_client_app: false,
            app_protection_policy: false,
            custom_security_attributes: CustomSecurityAttributes::new(),
            id_token_signing: Default::default(),
        }
    }

    fn params() -> AuthorizeParams {
        AuthorizeParams {
            client_id: Some("client-1".into()),
            redirect_uri: Some("https://app.example/cb".into()),
            response_type: Some("code".into()),
            scope: Some("openid profile".into()),
            state: Some("s1".into()),
            nonce: Some("n1".into()),
            code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
            code_challenge_method: Some("S256".into()),
            ..Default::default()
        }
    }

    #[test]
    fn unknown_client_or_unregistered_redirect_never_redirects() {
        assert!(matches!(
            validate_authorize(None, &params()),
            Err(AuthorizeError::NoRedirect(_))
        ));
        let a = app(false);
        let mut p = params();
        p.redirect_uri = Some("https://evil.example/cb".into());
        assert!(matches!(
            validate_authorize(Some(&a), &p),
            Err(AuthorizeError::NoRedirect(_))
        ));
        p.redirect_uri = Some("https://app.example/cb/".into());
        assert!(matches!(
            validate_authorize(Some(&a), &p),
            Err(AuthorizeError::NoRedirect(_))
        ));
        p.redirect_uri = None;
        assert!(
            matches!(
                validate_authorize(Some(&a), &p),
                Err(AuthorizeError::NoRedirect(_))
            ),
            "two URIs registered: the request must name one"
        );
    }

    #[test]
    fn public_clients_must_use_pkce_s256() {
        let a = app(true);
        let mut p = params();
        assert!(validate_authorize(Some(&a), &p).is_ok());
        p.code_challenge_method = Some("plain".into());
        assert!(matches!(
            validate_authorize(Some(&a), &p),
            Err(AuthorizeError::Redirect {
                error: "invalid_request",
                ..
            })
        ));
        p.code_challenge = None;
        p.code_challenge_method = None;
        assert!(matches!(
            validate_authorize(Some(&a), &p),
            Err(AuthorizeError::Redirect {
                error: "invalid_request",
                ..
            })
        ));
        assert!(
            validate_authorize(Some(&app(false)), &p).is_ok(),
            "confidential clients may omit PKCE"
        );
    }

    #[test]
    fn scope_response_type_and_prompt_errors_redirect_with_state() {
        let a = app(false);
        let mut p = params();
        p.scope = Some("profile".into());
        match validate_authorize(Some(&a), &p) {
            Err(AuthorizeError::Redirect {
                error,
                state,
                redirect_uri,
                ..
            }) => {
                assert_eq!(
                    (error, state.as_deref(), redirect_uri.as_str()),
                    ("invalid_scope", Some("s1"), "https://app.example/cb")
                )
            }
            other => panic!("{other:?}"),
        }
        let mut p = params();
        p.response_type = Some("token".into());
        assert!(matches!(
            validate_authorize(Some(&a), &p),
            Err(AuthorizeError::Redirect {
                error: "unsupported_response_type",
                ..
            })
        ));
        let mut p = params();
        p.prompt = Some("none login".into());
        assert!(matches!(
            validate_authorize(Some(&a), &p),
            Err(AuthorizeError::Redirect {
                error: "invalid_request",
                ..
            })
        ));
        let mut p = params();
        p.max_age = Some("-3".into());
        assert!(matches!(
            validate_authorize(Some(&a), &p),
            Err(AuthorizeError::Redirect {
                error: "invalid_request",
                ..
            })
        ));
    }

    fn session(auth_time: Timestamp) -> Session {
        Session {
            id: Uuid::nil(),
            user_id: Uuid::nil(),
            auth_time,
            methods: vec![AuthMethod::Passkey],
            expires_at: auth_time + Duration::hours(8),
            passkey_aaguid: None,
            passkey_attested: false,
            credential_id: None,
            campaign_pending: false,
        }
    }

    #[test]
    fn sso_prompt_login_and_max_age() {
        let now = datetime!(2026-11-21 12:00 UTC);
        let a = app(false);
        let req = validate_authorize(Some(&a), &params()).unwrap();
        let s = session(now - Duration::minutes(30));
        assert_eq!(
            sign_in_need(&req, Some(&s), now),
            SignInNeed::Ready,
            "SSO reuses the session"
        );
        assert_eq!(
            sign_in_need(&req, None, now),
            SignInNeed::SignIn { fresh_after: None }
        );
        let mut p = params();
        p.prompt = Some("login".into());
        let login = validate_authorize(Some(&a), &p).unwrap();
        assert_eq!(
            sign_in_need(&login, Some(&s), now),
            SignInNeed::SignIn {
                fresh_after: Some(now)
            }
        );
        p.login_after = Some(now.unix_timestamp().to_string());
        let back = validate_authorize(Some(&a), &p).unwrap();
        assert_eq!(
            sign_in_need(&back, Some(&session(now)), now + Duration::seconds(20)),
            SignInNeed::Ready,
            "a sign-in after the marker satisfies prompt=login"
        );
        let mut p = params();
        p.max_age = Some("600".into());
        let aged = validate_authorize(Some(&a), &p).unwrap();
        assert!(
            matches!(
                sign_in_need(&aged, Some(&s), now),
                SignInNeed::SignIn { .. }
            ),
            "30 minutes is older than max_age=600"
        );
        assert_eq!(
            sign_in_need(&aged, Some(&session(now - Duration::minutes(5))), now),
            SignInNeed::Ready
        );
        let mut p = params();
        p.prompt = Some("none".into());
        let none = validate_authorize(Some(&a), &p).unwrap();
        assert_eq!(sign_in_need(&none, None, now), SignInNeed::LoginRequired);
    }

    #[test]
    fn amr_and_strengths_say_how_the_user_signed_in() {
        assert!(amr(&[AuthMethod::Passkey]).contains(&"fido"));
        assert!(amr(&[AuthMethod::Passkey]).contains(&"mfa"));
        assert_eq!(amr(&[AuthMethod::TemporaryAccessPass]), vec!["tap", "mfa"]);
        let phishing_resistant = "00000000-0000-0000-0000-000000000004";
        assert!(satisfied_builtin_strengths(&[AuthMethod::Passkey]).contains(&phishing_resistant));
        assert_eq!(
            satisfied_builtin_strengths(&[AuthMethod::TemporaryAccessPass]),
            vec!["00000000-0000-0000-0000-000000000002"],
            "a TAP is MFA, not passwordless or phishing-resistant"
        );
        // A password is one factor; with the app's code it is MFA (RFC 8176 names).
        assert_eq!(amr(&[AuthMethod::Password]), vec!["pwd"]);
        let both = [AuthMethod::Password, AuthMethod::SoftwareOath];
        assert_eq!(amr(&both), vec!["pwd", "otp", "mfa"]);
        assert_eq!(
            satisfied_builtin_strengths(&both),
            vec!["00000000-0000-0000-0000-000000000002"]
        );
        assert!(satisfied_builtin_strengths(&[AuthMethod::Password]).is_empty());
    }

    #[test]
    fn sign_out_at_once_only_with_a_current_hint_of_the_signed_in_user() {
        let now = time::macros::datetime!(2026-06-01 12:00 UTC);
        let me = uuid::Uuid::from_u128(1);
        let sub = me.to_string();
        let later = now.unix_timestamp() + 60;
        assert!(sign_out_at_once(Some(&sub), Some(later), Some(me), now));
        assert!(sign_out_at_once(Some(&sub), Some(later), None, now));
        assert!(!sign_out_at_once(
            Some("someone-else"),
            Some(later),
            Some(me),
            now
        ));
        assert!(
            !sign_out_at_once(Some(&sub), Some(now.unix_timestamp() - 1), Some(me), now),
            "an expired hint asks first"
        );
        assert!(!sign_out_at_once(None, None, Some(me), now));
    }
}
