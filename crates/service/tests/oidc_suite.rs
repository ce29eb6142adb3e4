//! The OpenID Connect provider's rules on both backends, with a clock the tests move:
//! codes work once (reuse revokes what the first use produced), PKCE, expiry, client
//! authentication, refresh rotation with reuse detection, audiences, sign-out, key rotation.

// A test crate: a failed assumption is a failed test (the product denies these, Cargo.toml).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use portcullis_domain::actor::Actor;
use portcullis_domain::lockout::LockoutPolicy;
use portcullis_domain::oidc::{AuthorizeParams, AuthorizeRequest};
use portcullis_domain::Timestamp;
use portcullis_service::apps::NewApplication;
use portcullis_service::oidc::{AuthorizeOutcome, ClientAuth, OAuthError, TokenSet};
use portcullis_service::tap::SignedIn;
use portcullis_service::tokens::TokenError;
use portcullis_service::{ManualClock, RequestContext, Service};
use portcullis_testkit::{both, TestStore};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use time::macros::datetime;
use time::Duration;

const T0: Timestamp = datetime!(2026-06-01 12:00 UTC);
const ISS: &str = "https://id.contoso.test";
const CB: &str = "https://app.contoso.test/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn ctx() -> RequestContext {
    RequestContext {
        source: "10.0.0.1".parse().ok(),
        user_agent: "test".into(),
        ..Default::default()
    }
}

struct World {
    svc: Service,
    clock: Arc<ManualClock>,
    signed_in: SignedIn,
    client_id: String,
    secret: String,
}

async fn world(t: &TestStore) -> World {
    let clock = Arc::new(ManualClock::new(T0));
    let svc = Service::new(t.store.clone(), clock.clone(), LockoutPolicy::default());
    let pass = svc
        .bootstrap("Contoso", "contoso.com")
        .await
        .unwrap()
        .unwrap();
    let signed_in = svc
        .sign_in_with_tap(pass.user.user_principal_name.as_str(), &pass.code, &ctx())
        .await
        .unwrap();
    let op = Actor::Operator {
        name: "test".into(),
    };
    let spec = NewApplication {
        display_name: "Payroll".into(),
        redirect_uris: vec![CB.into()],
        issue_secret: true,
        ..Default::default()
    };
    let (app, secret) = svc.add_application(&op, spec).await.unwrap();
    World {
        svc,
        clock,
        signed_in,
        client_id: app.app_id,
        secret: secret.unwrap(),
    }
}

fn params(client_id: &str, pkce: bool, scope: &str) -> AuthorizeParams {
    AuthorizeParams {
        client_id: Some(client_id.into()),
        redirect_uri: Some(CB.into()),
        response_type: Some("code".into()),
        scope: Some(scope.into()),
        state: Some("st".into()),
        nonce: Some("nonce-1".into()),
        code_challenge: pkce.then(|| B64.encode(Sha256::digest(VERIFIER.as_bytes()))),
        code_challenge_method: pkce.then(|| "S256".to_string()),
        ..Default::default()
    }
}

impl World {
    fn auth(&self) -> ClientAuth {
        ClientAuth::Secret(self.client_id.clone(), self.secret.clone())
    }

    /// Runs the authorization endpoint's service calls for the signed-in user; returns the code.
    async fn code(&self, pkce: bool, scope: &str) -> String {
        self.code_as(&self.signed_in, pkce, scope).await
    }

    /// The same for another sign-in.
    async fn code_as(&self, s: &SignedIn, pkce: bool, scope: &str) -> String {
        let (req, app): (AuthorizeRequest, _) = self
            .svc
            .check_authorize(&params(&self.client_id, pkce, scope))
            .await
            .unwrap()
            .unwrap();
        let AuthorizeOutcome::Redirect(to) = self
            .svc
            .issue_code(ISS, &req, &app, &s.session, &s.user, &ctx())
            .await
            .unwrap()
        else {
            panic!("the access decision allows everyone for now")
        };
        let url = url::Url::parse(&to).unwrap();
        assert!(to.starts_with(CB), "{to}");
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(
            (q["state"].as_str(), q["iss"].as_str()),
            ("st", ISS),
            "state echoed, issuer named (RFC 9207)"
        );
        q["code"].clone()
    }

    async fn exchange(&self, code: &str, verifier: Option<&str>) -> Result<TokenSet, OAuthError> {
        self.svc
            .exchange_code(ISS, &self.auth(), code, Some(CB), verifier, &ctx())
            .await
            .unwrap()
    }

    /// The refresh-token grant for this client.
    async fn refresh(&self, token: Option<&str>) -> Result<TokenSet, OAuthError> {
        self.svc
            .refresh(ISS, &self.auth(), token.unwrap_or_default(), None, &ctx())
            .await
            .unwrap()
    }

    async fn userinfo(&self, access: &str) -> Result<serde_json::Value, TokenError> {
        self.svc.userinfo(ISS, access).await.unwrap()
    }
}

fn claims(jwt: &str) -> serde_json::Value {
    let body = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&B64.decode(body).unwrap()).unwrap()
}

#[tokio::test]
async fn code_flow_tokens_claims_userinfo_and_refresh_rotation() {
    for t in both().await {
        let w = world(&t).await;
        let code = w.code(true, "openid profile offline_access").await;
        let tokens = w.exchange(&code, Some(VERIFIER)).await.unwrap();
        let id = claims(&tokens.id_token);
        assert_eq!(id["iss"], ISS);
        assert_eq!(id["aud"], w.client_id.as_str());
        assert_eq!(id["nonce"], "nonce-1");
        assert_eq!(id["sub"], w.signed_in.user.id.to_string());
        assert_eq!(
            id["amr"],
            serde_json::json!(["tap", "mfa"]),
            "{}: a TAP sign-in says so",
            t.name
        );
        assert_eq!(
            id["authentication_strengths"],
            serde_json::json!(["00000000-0000-0000-0000-000000000002"]),
            "a TAP is MFA, not phishing-resistant"
        );
        assert_eq!(id["auth_time"], T0.unix_timestamp());
        let expected_at_hash = B64.encode(&Sha256::digest(tokens.access_token.as_bytes())[..16]);
        assert_eq!(id["at_hash"], expected_at_hash.as_str());
        let info = w.userinfo(&tokens.access_token).await.unwrap();
        assert_eq!(
            info["preferred_username"],
            w.signed_in.user.user_principal_name.as_str(),
            "{}",
            t.name
        );

        // Refresh rotates; the old token presented again revokes the family.
        let first = tokens
            .refresh_token
            .clone()
            .expect("offline_access gives a refresh token");
        let second = w
            .svc
            .refresh(ISS, &w.auth(), &first, None, &ctx())
            .await
            .unwrap()
            .unwrap();
        let second_rt = second.refresh_token.clone().unwrap();
        assert_ne!(second_rt, first);
        let narrowed = w
            .svc
            .refresh(ISS, &w.auth(), &second_rt, Some("openid email"), &ctx())
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(
            narrowed.error, "invalid_scope",
            "a refresh cannot widen the grant"
        );
        let reuse = w
            .svc
            .refresh(ISS, &w.auth(), &first, None, &ctx())
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(reuse.error, "invalid_grant", "{}", t.name);
        assert!(
            reuse.description.contains("already used"),
            "{}",
            reuse.description
        );
        let third = second.refresh_token.unwrap();
        let after = w
            .svc
            .refresh(ISS, &w.auth(), &third, None, &ctx())
            .await
            .unwrap();
        assert!(
            after.is_err(),
            "{}: every token of the family is revoked after a reuse",
            t.name
        );
        assert!(
            w.userinfo(&second.access_token).await.is_err(),
            "{}: access tokens of the family too",
            t.name
        );
    }
}

#[tokio::test]
async fn code_reuse_is_refused_and_revokes_the_first_tokens() {
    for t in both().await {
        let w = world(&t).await;
        let code = w.code(false, "openid offline_access").await;
        let first = w.exchange(&code, None).await.unwrap();
        assert!(w.userinfo(&first.access_token).await.is_ok());
        let again = w.exchange(&code, None).await.unwrap_err();
        assert_eq!(again.error, "invalid_grant", "{}", t.name);
        assert!(
            w.userinfo(&first.access_token).await.is_err(),
            "{}: tokens from the first use are revoked",
            t.name
        );
        assert!(w
            .svc
            .refresh(
                ISS,
                &w.auth(),
                first.refresh_token.as_deref().unwrap(),
                None,
                &ctx()
            )
            .await
            .unwrap()
            .is_err());
    }
}

#[tokio::test]
async fn pkce_expiry_redirect_and_client_authentication() {
    for t in both().await {
        let w = world(&t).await;
        // PKCE: missing verifier, wrong verifier, verifier without a challenge.
        let code = w.code(true, "openid").await;
        assert_eq!(
            w.exchange(&code, None).await.unwrap_err().error,
            "invalid_grant",
            "{}: PKCE verifier missing",
            t.name
        );
        let code = w.code(true, "openid").await;
        let wrong = "x".repeat(43);
        assert_eq!(
            w.exchange(&code, Some(&wrong)).await.unwrap_err().error,
            "invalid_grant",
            "{}: wrong verifier",
            t.name
        );
        let code = w.code(false, "openid").await;
        assert_eq!(
            w.exchange(&code, Some(VERIFIER)).await.unwrap_err().error,
            "invalid_grant",
            "a verifier for a code without a challenge"
        );

        // An expired code (the clock moves past the 5 minutes).
        let code = w.code(true, "openid").await;
        w.clock.advance(Duration::minutes(5) + Duration::seconds(1));
        let e = w.exchange(&code, Some(VERIFIER)).await.unwrap_err();
        assert_eq!(e.error, "invalid_grant", "{}", t.name);
        assert!(e.description.contains("expired"), "{}", e.description);

        // The redirect URI must repeat the authorization request's.
        let code = w.code(false, "openid").await;
        let e = w
            .svc
            .exchange_code(
                ISS,
                &w.auth(),
                &code,
                Some("https://app.contoso.test/other"),
                None,
                &ctx(),
            )
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(e.error, "invalid_grant");

        // Client authentication: wrong secret, no secret for a confidential client, unknown client.
        let code = w.code(false, "openid").await;
        let bad = ClientAuth::Secret(w.client_id.clone(), "not-the-secret".into());
        assert_eq!(
            w.svc
                .exchange_code(ISS, &bad, &code, Some(CB), None, &ctx())
                .await
                .unwrap()
                .unwrap_err()
                .error,
            "invalid_client",
            "{}",
            t.name
        );
        let none = ClientAuth::Id(w.client_id.clone());
        assert_eq!(
            w.svc
                .exchange_code(ISS, &none, &code, Some(CB), None, &ctx())
                .await
                .unwrap()
                .unwrap_err()
                .error,
            "invalid_client"
        );
        // The code was not burnt by failed client authentication.
        assert!(w.exchange(&code, None).await.is_ok(), "{}", t.name);
    }
}

#[tokio::test]
async fn userinfo_accepts_only_its_own_audience_and_sign_out_revokes() {
    for t in both().await {
        let w = world(&t).await;
        let code = w.code(false, "openid profile offline_access").await;
        let tokens = w.exchange(&code, None).await.unwrap();
        // An admin API token (audience Graph) and the ID token (audience the client) are refused.
        let graph = w
            .svc
            .mint_delegated(
                ISS,
                w.signed_in.user.user_principal_name.as_str(),
                &["User.Read".into()],
            )
            .await
            .unwrap();
        assert!(
            matches!(w.userinfo(&graph).await, Err(TokenError::Invalid(m)) if m.contains("Audience") || m.contains("aud")),
            "{}",
            t.name
        );
        assert!(
            w.userinfo(&tokens.id_token).await.is_err(),
            "{}: an ID token is not an access token",
            t.name
        );
        // A token signed by someone else: flip the signature.
        let mut forged = tokens.access_token.clone();
        forged.push('A');
        assert!(w.userinfo(&forged).await.is_err());
        // An access token past its hour.
        w.clock.advance(Duration::minutes(61));
        assert!(
            matches!(
                w.userinfo(&tokens.access_token).await,
                Err(TokenError::Expired)
            ),
            "{}",
            t.name
        );
        w.clock.set(T0);
        // Sign-out ends the session's grants: refresh and access tokens stop working.
        w.svc.sign_out(&w.signed_in.token).await.unwrap();
        assert!(
            w.userinfo(&tokens.access_token).await.is_err(),
            "{}",
            t.name
        );
        assert_eq!(
            w.svc
                .refresh(
                    ISS,
                    &w.auth(),
                    tokens.refresh_token.as_deref().unwrap(),
                    None,
                    &ctx()
                )
                .await
                .unwrap()
                .unwrap_err()
                .error,
            "invalid_grant"
        );
    }
}

#[tokio::test]
async fn key_rotation_keeps_old_tokens_valid_until_they_expire() {
    for t in both().await {
        let w = world(&t).await;
        let code = w.code(false, "openid").await;
        let before = w.exchange(&code, None).await.unwrap();
        let old_kid = jsonwebtoken::decode_header(&before.id_token)
            .unwrap()
            .kid
            .unwrap();
        let jwks = w.svc.jwks().await.unwrap();
        let kids = |j: &serde_json::Value| {
            j["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["kid"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert!(kids(&jwks).contains(&old_kid));
        let mut algs = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["alg"].as_str().unwrap())
            .collect::<Vec<_>>();
        algs.sort_unstable();
        assert_eq!(
            algs,
            vec!["ES256", "RS256"],
            "RS256 for OIDC, ES256 for the admin API"
        );

        w.clock.advance(Duration::minutes(10));
        let rotation = w
            .svc
            .rotate_signing_keys(
                &Actor::Operator {
                    name: "test".into(),
                },
                portcullis_service::keys::PREPUBLICATION,
            )
            .await
            .unwrap();
        let new = rotation.kids.clone();
        // Pre-published: the new keys are in the JWKS at once, yet the old key still signs,
        // so a client whose cached JWKS predates the rotation verifies every token it gets.
        let published = kids(&w.svc.jwks().await.unwrap());
        assert!(
            new.iter().all(|k| published.contains(k)) && published.contains(&old_kid),
            "{}: the new keys are published before they sign: {published:?}",
            t.name
        );
        let code = w.code(false, "openid").await;
        let during = w.exchange(&code, None).await.unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&during.id_token)
                .unwrap()
                .kid
                .unwrap(),
            old_kid,
            "{}: the old key signs until the new ones activate",
            t.name
        );
        assert_eq!(
            rotation.activates_at,
            portcullis_service::clock::Clock::now(&*w.clock)
                + portcullis_service::keys::PREPUBLICATION
        );
        w.clock.advance(portcullis_service::keys::PREPUBLICATION);
        let code = w.code(false, "openid").await;
        let after = w.exchange(&code, None).await.unwrap();
        let new_kid = jsonwebtoken::decode_header(&after.id_token)
            .unwrap()
            .kid
            .unwrap();
        assert!(
            new.contains(&new_kid) && new_kid != old_kid,
            "{}: once active, new tokens are signed by the new key",
            t.name
        );
        let published = kids(&w.svc.jwks().await.unwrap());
        assert!(
            published.contains(&old_kid) && published.contains(&new_kid),
            "{}: both published",
            t.name
        );
        assert!(
            w.userinfo(&before.access_token).await.is_ok(),
            "{}: a token from before the rotation still works",
            t.name
        );

        // Once every token of the old key has expired, the key is no longer published or accepted.
        // The grace runs from the old key's last signature (the new keys' activation), not
        // from the rotation: 70 minutes after the rotation it is still published.
        w.clock.advance(Duration::minutes(60));
        assert!(
            kids(&w.svc.jwks().await.unwrap()).contains(&old_kid),
            "{}: published for the grace after it stopped signing",
            t.name
        );
        w.clock.advance(Duration::minutes(6));
        let published = kids(&w.svc.jwks().await.unwrap());
        assert!(
            !published.contains(&old_kid) && published.contains(&new_kid),
            "{}: {published:?}",
            t.name
        );
        assert!(w.userinfo(&before.access_token).await.is_err());

        // An immediate rotation (a compromised key): the newest keys sign at once.
        let urgent = w
            .svc
            .rotate_signing_keys(
                &Actor::Operator {
                    name: "test".into(),
                },
                Duration::ZERO,
            )
            .await
            .unwrap();
        let code = w.code(false, "openid").await;
        let now_signed = w.exchange(&code, None).await.unwrap();
        assert!(urgent.kids.contains(
            &jsonwebtoken::decode_header(&now_signed.id_token)
                .unwrap()
                .kid
                .unwrap()
        ));
    }
}

/// R47: a grant ends with what started it. From a TAP sign-in it ends when the pass does, or
/// after the TAP family lifetime if sooner (ID tokens included); every refresh re-runs the
/// access decision — a deleted pass, a Conditional Access policy that now blocks the
/// application, a disabled account each end it, with the reason.
#[tokio::test]
async fn r47_a_grant_ends_with_its_tap_and_every_refresh_rechecks_access() {
    let op = Actor::Operator {
        name: "test".into(),
    };
    for t in both().await {
        let w = world(&t).await;
        let upn = w.signed_in.user.user_principal_name.to_string();
        let pass = w.svc.tap_for(&op, &upn).await.unwrap().unwrap().pass;
        let end = (T0 + Duration::hours(24)).min(pass.expires_at());

        // The ID token and the refresh family never outlive the end.
        let tokens = w
            .exchange(&w.code(false, "openid offline_access").await, None)
            .await
            .unwrap();
        let exp = claims(&tokens.id_token)["exp"].as_i64().unwrap();
        assert!(exp <= end.unix_timestamp(), "{}", t.name);
        w.clock.set(end - Duration::minutes(30));
        let later = w
            .refresh(tokens.refresh_token.as_deref())
            .await
            .expect("refreshed before the end");
        assert!(
            claims(&later.id_token)["exp"].as_i64().unwrap() <= end.unix_timestamp(),
            "{}: capped at the end, not an hour from now",
            t.name
        );
        assert!(later.expires_in <= 30 * 60);
        w.clock.set(end);
        let ended = w.refresh(later.refresh_token.as_deref()).await.unwrap_err();
        assert_eq!(ended.error, "invalid_grant", "{}", t.name);
        assert!(
            ended.description.contains("ended at"),
            "{}",
            ended.description
        );

        // A deleted pass ends a grant it started at once; the next refresh says why.
        w.clock.set(T0 + Duration::minutes(1));
        let tokens = w
            .exchange(&w.code(false, "openid offline_access").await, None)
            .await
            .unwrap();
        w.svc.delete_tap(&op, &upn).await.unwrap();
        let gone = w
            .refresh(tokens.refresh_token.as_deref())
            .await
            .unwrap_err();
        assert!(
            gone.description.contains("its pass was deleted"),
            "{}: {}",
            t.name,
            gone.description
        );
    }
}

#[tokio::test]
async fn r47_a_refresh_is_refused_when_conditional_access_now_blocks_or_the_account_is_disabled() {
    let op = Actor::Operator {
        name: "test".into(),
    };
    for t in both().await {
        let w = world(&t).await;
        let upn = w.signed_in.user.user_principal_name.to_string();
        let first = w
            .exchange(&w.code(false, "openid offline_access").await, None)
            .await
            .unwrap();
        let second = w
            .exchange(&w.code(false, "openid offline_access").await, None)
            .await
            .unwrap();
        // Nothing changed: the refresh goes through.
        let first = w.refresh(first.refresh_token.as_deref()).await.unwrap();
        let policy = serde_json::from_value(serde_json::json!({
            "displayName": "Payroll closed", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": [w.client_id]}, "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "builtInControls": ["block"]}
        }))
        .unwrap();
        w.svc.save_ca_policy(&op, policy, true).await.unwrap();
        let blocked = w.refresh(first.refresh_token.as_deref()).await.unwrap_err();
        assert!(
            blocked.description.contains("Payroll closed"),
            "{}: the refusal names the policy: {}",
            t.name,
            blocked.description
        );
        w.svc.set_user_enabled(&op, &upn, false).await.unwrap();
        let disabled = w
            .refresh(second.refresh_token.as_deref())
            .await
            .unwrap_err();
        assert_eq!(disabled.error, "invalid_grant", "{}", t.name);
        assert!(
            disabled.description.contains("The account is disabled"),
            "{}: the refusal says why: {}",
            t.name,
            disabled.description
        );
    }
}

/// R47 with issue 12: what a pass opened ends the moment the pass does — deleted, replaced by
/// a new one, or revoked because its user became an administrator — not at the next refresh:
/// the session is gone and an access token of its grant is refused at once.
#[tokio::test]
async fn r47_what_a_pass_opened_ends_when_the_pass_is_deleted_replaced_or_its_user_promoted() {
    use portcullis_domain::directory::DirectoryRole;
    use portcullis_domain::tap::IssueRequest;
    let op = Actor::Operator {
        name: "test".into(),
    };
    for t in both().await {
        let w = world(&t).await;
        let upn = w.signed_in.user.user_principal_name.to_string();
        let tokens = w
            .exchange(&w.code(false, "openid").await, None)
            .await
            .unwrap();
        assert!(w.userinfo(&tokens.access_token).await.is_ok());
        w.svc.delete_tap(&op, &upn).await.unwrap();
        assert!(
            w.userinfo(&tokens.access_token).await.is_err(),
            "{}: deleted",
            t.name
        );
        assert!(w.svc.session(&w.signed_in.token).await.unwrap().is_none());

        w.svc.add_user(&op, "ivy@contoso.com", "Ivy").await.unwrap();
        let ivy_signs_in = || async {
            let pass = w
                .svc
                .create_tap(
                    &op,
                    "ivy@contoso.com",
                    IssueRequest {
                        is_usable_once: Some(false),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            let signed = w
                .svc
                .sign_in_with_tap("ivy@contoso.com", &pass.code, &ctx())
                .await
                .unwrap();
            let tokens = w
                .exchange(&w.code_as(&signed, false, "openid").await, None)
                .await
                .unwrap();
            assert!(w.userinfo(&tokens.access_token).await.is_ok());
            (signed, tokens)
        };
        let (first, first_tokens) = ivy_signs_in().await;
        let (second, second_tokens) = ivy_signs_in().await;
        assert!(
            w.userinfo(&first_tokens.access_token).await.is_err()
                && w.svc.session(&first.token).await.unwrap().is_none(),
            "{}: replaced",
            t.name
        );
        w.svc
            .assign_role(&op, "ivy@contoso.com", DirectoryRole::GlobalAdministrator)
            .await
            .unwrap();
        assert!(
            w.userinfo(&second_tokens.access_token).await.is_err()
                && w.svc.session(&second.token).await.unwrap().is_none(),
            "{}: promoted",
            t.name
        );
    }
}

/// R15's API takes only the Authenticator app's own token, and only from a sign-in under ten
/// minutes old: a code caught by another app claiming the redirect later, or an old token,
/// adds no method; nor does another client's token (an ended session: the HTTP suite).
#[tokio::test]
async fn the_authenticator_api_takes_only_the_apps_own_fresh_live_sign_in() {
    use portcullis_domain::directory::AUTHENTICATOR_APP;
    for t in both().await {
        let w = world(&t).await;
        let redirect = AUTHENTICATOR_APP.redirect_uri.unwrap();
        let app_token = || async {
            let p = AuthorizeParams {
                client_id: Some(AUTHENTICATOR_APP.app_id.into()),
                redirect_uri: Some(redirect.into()),
                response_type: Some("code".into()),
                scope: Some("openid".into()),
                code_challenge: Some(B64.encode(Sha256::digest(VERIFIER.as_bytes()))),
                code_challenge_method: Some("S256".into()),
                ..Default::default()
            };
            let (req, app) = w.svc.check_authorize(&p).await.unwrap().unwrap();
            let AuthorizeOutcome::Redirect(to) = w
                .svc
                .issue_code(
                    ISS,
                    &req,
                    &app,
                    &w.signed_in.session,
                    &w.signed_in.user,
                    &ctx(),
                )
                .await
                .unwrap()
            else {
                panic!("no policy refuses the app here")
            };
            let code = url::Url::parse(&to)
                .unwrap()
                .query_pairs()
                .find(|(k, _)| k == "code")
                .unwrap()
                .1
                .into_owned();
            w.svc
                .exchange_code(
                    ISS,
                    &ClientAuth::Id(AUTHENTICATOR_APP.app_id.into()),
                    &code,
                    Some(redirect),
                    Some(VERIFIER),
                    &ctx(),
                )
                .await
                .unwrap()
                .unwrap()
                .access_token
        };
        let caller = |token: String| {
            let svc = &w.svc;
            async move { svc.authenticator_app_caller(ISS, &token).await.unwrap() }
        };
        let token = app_token().await;
        let (session, user) = caller(token.clone()).await.unwrap();
        assert_eq!(
            (session.id, user.id),
            (w.signed_in.session.id, w.signed_in.user.id)
        );
        // Another client's token, for the same user and session.
        let other = w
            .exchange(&w.code(true, "openid").await, Some(VERIFIER))
            .await;
        let other = other.unwrap().access_token;
        assert!(matches!(caller(other).await, Err(TokenError::Invalid(_))));
        // The sign-in behind the token ages past ten minutes (the token itself lives on).
        w.clock.advance(Duration::minutes(11));
        assert!(matches!(
            caller(token).await,
            Err(TokenError::Invalid(m)) if m.contains("10 minutes")
        ));
    }
}

/// What the token endpoint refuses on a code's facts: a code presented by another client
/// gives nothing (and the rightful client gets nothing from it afterwards); a code whose
/// user was disabled after it was issued gives nothing.
#[tokio::test]
async fn a_code_presented_by_another_client_or_for_a_disabled_user_gives_no_tokens() {
    for t in both().await {
        let w = world(&t).await;
        let op = Actor::Operator {
            name: "test".into(),
        };
        let (other, other_secret) = w
            .svc
            .add_application(
                &op,
                NewApplication {
                    display_name: "Intruder".into(),
                    redirect_uris: vec![CB.into()],
                    issue_secret: true,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let code = w.code(false, "openid").await;
        let e = w
            .svc
            .exchange_code(
                ISS,
                &ClientAuth::Secret(other.app_id.clone(), other_secret.unwrap()),
                &code,
                Some(CB),
                None,
                &ctx(),
            )
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(e.error, "invalid_grant", "{}", t.name);
        assert!(
            e.description.contains("another client"),
            "{}",
            e.description
        );
        let e = w.exchange(&code, None).await.unwrap_err();
        assert_eq!(
            e.error, "invalid_grant",
            "{}: and the rightful client gets nothing from it either",
            t.name
        );

        let code = w.code(false, "openid").await;
        w.svc
            .set_user_enabled(&op, &w.signed_in.user.id.to_string(), false)
            .await
            .unwrap();
        let e = w.exchange(&code, None).await.unwrap_err();
        assert_eq!(
            e.error, "invalid_grant",
            "{}: a disabled user's code gives no tokens",
            t.name
        );
    }
}
