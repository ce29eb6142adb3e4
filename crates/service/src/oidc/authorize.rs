//! The authorization endpoint's use cases: check a request, and issue a code to a signed-in
//! user once the access decision allows it.

use portcullis_domain::application::Application;
use portcullis_domain::conditional_access::remedy::Verdict;
use portcullis_domain::directory::User;
use portcullis_domain::grant::grant_end;
use portcullis_domain::oidc::{
    sign_in_need, validate_authorize, AuthorizeError, AuthorizeParams, AuthorizeRequest,
    SignInNeed, CODE_LIFETIME,
};
use portcullis_domain::session::{AuthMethod, Session};
use portcullis_store::oauth::{self, CodeRecord, Grant};
use portcullis_store::write::{Batch, Write};
use portcullis_store::{applications, signins};
use uuid::Uuid;

use crate::secrets::{new_token, token_key};
use crate::{RequestContext, Result, Service};

/// What the authorization endpoint does after a signed-in user's request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeOutcome {
    /// Send the browser back to the application with a code.
    Redirect(String),
    /// The access decision refused: tell the user why; no code, no redirect.
    Denied {
        /// The application's name.
        application: String,
        /// Stable code.
        code: &'static str,
        /// The policy that refused, when one did.
        policy: String,
        /// The reason.
        reason: String,
        /// What would fix it.
        remedy: String,
        /// The only remedy is blocked by the same requirement (R44).
        is_loop: bool,
        /// What the page offers to do next.
        next: NextStep,
    },
}

/// What a refusal page offers (R18).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Nothing the user can do from here.
    Nothing,
    /// Sign in again with a method the user holds (step-up), then continue.
    SignInAgain,
    /// Register a method in Security info (wizard mode: a sign-in's interrupt mode offers no
    /// passkeys), then sign in again with it and continue.
    RegisterInSecurityInfo,
}

/// `uri` with query parameters appended (it may already have a query).
pub fn redirect_with(uri: &str, params: &[(&str, &str)]) -> String {
    if params.is_empty() {
        // No `?` with nothing after it.
        return uri.to_string();
    }
    match url::Url::parse(uri) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
            }
            u.to_string()
        }
        // Registered URIs were validated as absolute; this is never reached in practice.
        Err(_) => uri.to_string(),
    }
}

impl Service {
    /// Loads the application a request names and validates the request against it.
    pub async fn check_authorize(
        &self,
        p: &AuthorizeParams,
    ) -> Result<std::result::Result<(AuthorizeRequest, Application), AuthorizeError>> {
        let app = match p
            .client_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.len() <= 64)
        {
            Some(id) => applications::by_app_id_read(self.store().reader(), id).await?,
            None => None,
        };
        Ok(match (validate_authorize(app.as_ref(), p), app) {
            (Ok(r), Some(a)) => Ok((r, a)),
            (Err(e), _) => Err(e),
            (Ok(_), None) => Err(AuthorizeError::NoRedirect(
                "No such application is registered.".into(),
            )),
        })
    }

    /// Issues an authorization code to a signed-in user, if the access decision allows it.
    /// The sign-in log entry, the grant and the code (hashed) are committed together, so a
    /// code is never issued unlogged nor a sign-in logged as allowed without its code; a
    /// refusal's entry is committed alone.
    pub async fn issue_code(
        &self,
        issuer: &str,
        req: &AuthorizeRequest,
        app: &Application,
        session: &Session,
        user: &User,
        ctx: &RequestContext,
    ) -> Result<AuthorizeOutcome> {
        match self
            .decide_code(issuer, req, app, session, user, ctx)
            .await?
        {
            CodeDecision::Issue(issued) => {
                // The sign-in's log entry, the grant and its code, committed together with
                // whatever else is being committed at that moment (group commit on SQLite,
                // issue 18).
                let batch: Batch<std::convert::Infallible> =
                    issued.writes.into_iter().fold(Batch::new(), Batch::then);
                self.store().commit_batch(batch).await?;
                Ok(AuthorizeOutcome::Redirect(issued.redirect))
            }
            CodeDecision::Refuse { logged, outcome } => {
                let batch: Batch<std::convert::Infallible> = Batch::new().then(logged);
                self.store().commit_batch(batch).await?;
                if let AuthorizeOutcome::Denied {
                    application,
                    policy,
                    is_loop,
                    next: NextStep::Nothing,
                    ..
                } = &outcome
                {
                    tracing::info!(user = %user.user_principal_name, app = %application, %policy, is_loop, "authorization refused by Conditional Access");
                }
                Ok(outcome)
            }
        }
    }

    /// The access decision on an authorization request, and what answering it writes —
    /// nothing of it committed yet: [`Service::issue_code`] commits it alone, a passkey
    /// sign-in that continues the request commits it with the sign-in's own writes.
    pub(crate) async fn decide_code(
        &self,
        issuer: &str,
        req: &AuthorizeRequest,
        app: &Application,
        session: &Session,
        user: &User,
        ctx: &RequestContext,
    ) -> Result<CodeDecision> {
        let now = self.now();
        // The device proof is bound to this request: its PKCE challenge, else its state.
        let binding = req
            .code_challenge
            .as_deref()
            .or(req.state.as_deref())
            .unwrap_or("");
        let proved = self
            .proved_device(user.id, ctx.device_proof.as_deref(), &app.app_id, binding)
            .await?;
        let device = proved.as_ref().map(|d| d.facts());
        let (decision, ca) = self
            .access_decision(user, session, app, ctx, device.as_ref())
            .await?;
        let logged = signins::append_write(&self.app_sign_in_event(
            user,
            app,
            session,
            ctx,
            &decision,
            ca.policies(),
        ));
        if let Some(d) = crate::render::denial(&decision.verdict) {
            let next = match decision.verdict {
                Verdict::StepUp { .. } => NextStep::SignInAgain,
                Verdict::RegisterFirst { .. } => NextStep::RegisterInSecurityInfo,
                _ => NextStep::Nothing,
            };
            return Ok(CodeDecision::Refuse {
                logged,
                outcome: AuthorizeOutcome::Denied {
                    application: app.display_name.clone(),
                    code: d.code,
                    policy: d.policy,
                    reason: d.reason,
                    remedy: d.remedy,
                    is_loop: d.is_loop,
                    next,
                },
            });
        }
        // R47: the grant ends when the pass that started it does, or after its family lifetime.
        let tap_expires = match session.credential_id {
            Some(id) if session.methods.contains(&AuthMethod::TemporaryAccessPass) => {
                let mut c = self.store().conn().await?;
                portcullis_store::tap::for_user(&mut c, user.id)
                    .await?
                    .filter(|p| p.pass.id == id)
                    .map(|p| p.pass.expires_at())
            }
            _ => None,
        };
        let grant = Grant {
            // Time-ordered (v7), as sessions are: an authorization's grant lands on its
            // index's last page. It is no capability: codes and refresh tokens are found by
            // their hashes, and the id reaches only signed access tokens (`gid`).
            id: Uuid::now_v7(),
            client_id: app.app_id.clone(),
            user_id: user.id,
            session_id: session.id,
            scope: req.scopes.join(" "),
            auth_time: session.auth_time,
            methods: session.methods.clone(),
            created_at: now,
            revoked_at: None,
            revoked_reason: None,
            ends_at: Some(grant_end(session, tap_expires, &self.grant_lifetimes, now)),
            source: ctx.source,
            user_agent: ctx.user_agent.clone(),
            device_id: proved.map(|d| d.id),
        };
        let code = new_token();
        let record = CodeRecord {
            grant_id: grant.id,
            redirect_uri: req.redirect_uri.clone(),
            nonce: req.nonce.clone(),
            code_challenge: req.code_challenge.clone(),
            expires_at: now + CODE_LIFETIME,
        };
        let mut params = vec![("code", code.as_str())];
        if let Some(s) = &req.state {
            params.push(("state", s));
        }
        // RFC 9207: the issuer in the response defends against mix-up attacks.
        params.push(("iss", issuer));
        Ok(CodeDecision::Issue(CodeIssued {
            writes: vec![
                logged,
                oauth::insert_grant_write(&grant)?,
                oauth::insert_code_write(&token_key(&code), &record),
            ],
            redirect: redirect_with(&req.redirect_uri, &params),
        }))
    }
}

/// What answering an authorization request comes to, before anything is committed.
pub(crate) enum CodeDecision {
    /// Allowed: a code for the application.
    Issue(CodeIssued),
    /// Refused: the log entry that says why, and what to tell the user.
    Refuse {
        /// The refusal's sign-in log entry.
        logged: Write,
        /// The refusal.
        outcome: AuthorizeOutcome,
    },
}

/// A code the access decision allowed, not yet committed.
pub(crate) struct CodeIssued {
    /// The sign-in log entry, the grant and the code (hashed): kept together or not at all.
    pub(crate) writes: Vec<Write>,
    /// The application's redirect URI with the code, the state and the issuer: to be
    /// answered only once the writes are durable.
    pub(crate) redirect: String,
}

/// An authorization request checked against its application ([`Service::check_authorize`],
/// with `login_after` verified): what a passkey sign-in may continue, so that the browser
/// goes from the passkey's answer straight to the application.
#[derive(Debug, Clone)]
pub struct Continuation {
    /// The issuer the code is answered as (RFC 9207).
    pub issuer: String,
    /// The request.
    pub request: AuthorizeRequest,
    /// Its application.
    pub app: Application,
}

impl Continuation {
    /// Whether the request goes straight to the access decision with `session`, as the
    /// authorization endpoint would send it: the session is fresh enough for it (`prompt`,
    /// `max_age`, `login_after`) and no registration campaign holds it up. Otherwise the
    /// browser goes to the request, which answers as it always does.
    pub(crate) fn ready_for(&self, session: &Session, now: portcullis_domain::Timestamp) -> bool {
        let held = portcullis_domain::policy::campaign::holds_up(session, &self.app.app_id);
        let fresh = matches!(
            sign_in_need(&self.request, Some(session), now),
            SignInNeed::Ready
        );
        fresh && !held
    }
}

/// The claims of a `login_after` value: when the sign-in it asks for must be no older than,
/// for which authorization request (so it cannot be moved to another one, of this client or
/// any other).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct LoginAfter {
    iss: String,
    aud: String,
    exp: i64,
    /// The bound (unix seconds).
    lat: i64,
    /// SHA-256 of the authorization request's parameters (`login_after` aside), sorted and
    /// form-encoded: client, redirect URI, scope, state, nonce, PKCE challenge, prompt…
    req: String,
}

/// What a `login_after` value's audience is.
const LOGIN_AFTER_AUDIENCE: &str = "portcullis:login_after";

/// The digest a `login_after` value is bound to: every parameter but `login_after` itself,
/// in a canonical order.
fn request_digest(params: &[(String, String)]) -> String {
    use base64::Engine as _;
    let mut sorted: Vec<&(String, String)> =
        params.iter().filter(|(k, _)| k != "login_after").collect();
    sorted.sort();
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in sorted {
        form.append_pair(k, v);
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, form.finish().as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

impl Service {
    /// A signed `login_after` for resuming the authorization request of `params` after a
    /// sign-in at or after `t`: the bound travels in the URL the browser carries, so it is
    /// signed — an edited or removed bound could otherwise cancel `prompt=login` — and bound
    /// to that one request, so it cannot stand in for the fresh sign-in of another.
    pub async fn login_after_token(
        &self,
        issuer: &str,
        params: &[(String, String)],
        t: i64,
    ) -> Result<String> {
        let now = self.now().unix_timestamp();
        self.sign_jwt(
            crate::keys::Alg::Es256,
            &LoginAfter {
                iss: issuer.into(),
                aud: LOGIN_AFTER_AUDIENCE.into(),
                exp: now.saturating_add(3600),
                lat: t,
                req: request_digest(params),
            },
        )
        .await
    }

    /// The bound of a `login_after` value this server signed for the authorization request
    /// of `params`, if it is one.
    pub async fn verify_login_after(
        &self,
        issuer: &str,
        params: &[(String, String)],
        token: &str,
    ) -> Result<Option<i64>> {
        let want = request_digest(params);
        Ok(self
            .verify_jwt::<LoginAfter>(token, issuer, LOGIN_AFTER_AUDIENCE)
            .await?
            .ok()
            .filter(|c| c.req == want)
            .map(|c| c.lat))
    }
}
