//! OpenID Connect conformance against the real binary with a real relying-party library,
//! the `openidconnect` crate: discovery → authorize (the user signs in with a passkey from a
//! software authenticator) → code + PKCE → tokens → ID token validation (JWKS signature,
//! iss, aud, nonce, at_hash) → userinfo → refresh; then single sign-on and key rotation.
//! By concept, in modules: the refusals that must never redirect and `prompt`/`max_age`
//! (`prompts`), RP-initiated sign-out (`sign_out`), and the passkey answer that continues its
//! authorization (`continuation`).

// A test crate: a failed assumption is a failed test (the product denies these, Cargo.toml).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    RedirectUrl, RefreshToken, Scope, TokenResponse,
};
use portcullis_testkit::softkey::{Quirks, SoftKey};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{cli, client, sign_in, Server};

const ADMIN: &str = "admin@portcullis.local";
const CB: &str = "http://127.0.0.1:8765/callback";

async fn post(c: &reqwest::Client, s: &Server, path: &str, body: &Value) -> Value {
    post_to(c, &s.url(path), body).await
}

async fn post_to(c: &reqwest::Client, url: &str, body: &Value) -> Value {
    let r = c.post(url).json(body).send().await.expect("POST");
    assert!(r.status().is_success(), "{url}: {}", r.status());
    r.json().await.expect("JSON")
}

/// The administrator with a passkey registered (after a TAP sign-in, as on Security info).
async fn admin_with_passkey(s: &Server) -> SoftKey {
    let c = client();
    assert_eq!(
        sign_in(&c, s, ADMIN, s.tap.as_deref().expect("bootstrap pass"))
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let mut key = SoftKey::new("01020304-0506-0708-0102-030405060708");
    support::open_security_info(&c, s).await;
    let o = post(&c, s, "/api/passkeys/registration/options", &json!({})).await;
    let cred = key.register(&o["publicKey"], &s.origin(), &Quirks::default());
    post(
        &c,
        s,
        "/api/passkeys/registration",
        &json!({"ceremonyId": o["ceremonyId"], "credential": cred}),
    )
    .await;
    key
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Plays the browser and the sign-in page: follows the authorize URL; when sent to the
/// sign-in page, signs in with the passkey, sending where the page goes back to, and goes
/// where the answer says — straight to the application when the sign-in continued the
/// authorization, else back to authorize. Returns the final redirect to the application.
async fn browse_to_app(
    s: &Server,
    browser: &reqwest::Client,
    authorize: &str,
    key: &mut SoftKey,
) -> String {
    let r = browser.get(authorize).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let mut to = location(&r);
    if to.starts_with("/signin?") {
        let back = return_to(&to);
        let answer = sign_in_returning(s, browser, key, Some(&back)).await;
        to = answer["redirect"].as_str().unwrap().to_string();
        if to.starts_with('/') {
            let r = browser
                .get(format!("{}{to}", s.origin()))
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                StatusCode::SEE_OTHER,
                "back at authorize after signing in"
            );
            to = location(&r);
        }
    }
    to
}

/// The `return_to` of a sign-in page's URL.
fn return_to(signin: &str) -> String {
    url::Url::parse(&format!("http://x{signin}"))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "return_to")
        .map(|(_, v)| v.into_owned())
        .expect("return_to")
}

/// A username-first passkey sign-in of the administrator, as the sign-in page makes it
/// (the browser stays on the public origin, where its cookie lives): the answer.
async fn sign_in_returning(
    s: &Server,
    browser: &reqwest::Client,
    key: &mut SoftKey,
    back: Option<&str>,
) -> Value {
    let o = post_to(
        browser,
        &format!("{}/api/signin/passkey/options", s.origin()),
        &json!({"username": ADMIN}),
    )
    .await;
    let cred = key.assert(&o["publicKey"], &s.origin(), &Quirks::default());
    post_to(
        browser,
        &format!("{}/api/signin/passkey", s.origin()),
        &json!({"ceremonyId": o["ceremonyId"], "credential": cred, "returnTo": back}),
    )
    .await
}

/// The ID token of `tokens`, verified by `v` (signature by the published keys, iss, aud,
/// nonce, exp), with its `at_hash` checked against the access token: its claims.
fn verified_id_token(
    tokens: &openidconnect::core::CoreTokenResponse,
    v: &openidconnect::core::CoreIdTokenVerifier<'_>,
    nonce: &Nonce,
) -> openidconnect::core::CoreIdTokenClaims {
    let id_token = tokens.id_token().expect("an ID token");
    let id = id_token
        .claims(v, nonce)
        .expect("signature via JWKS, iss, aud, nonce, exp")
        .clone();
    let at_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(v).unwrap(),
    )
    .unwrap();
    assert_eq!(id.access_token_hash(), Some(&at_hash), "at_hash");
    id
}

fn query(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn claims(jwt: &str) -> Value {
    use base64::Engine;
    let body = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body)
            .unwrap(),
    )
    .unwrap()
}

/// `s` as a query value (form encoding).
fn urlenc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn register_app(dir: &std::path::Path, public: bool) -> (String, Option<String>) {
    register_app_with(dir, public, &[])
}

/// `register_app` with more `apps add` arguments.
fn register_app_with(
    dir: &std::path::Path,
    public: bool,
    extra: &[&str],
) -> (String, Option<String>) {
    let mut args = vec![
        "apps",
        "add",
        "--name",
        "Conformance RP",
        "--redirect-uri",
        CB,
    ];
    if public {
        args.push("--public");
    }
    args.extend_from_slice(extra);
    let (st, out, err) = cli(dir, None, &args);
    assert_eq!(st, 0, "{err}");
    let id = out
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().last())
        .unwrap()
        .to_string();
    let secret = out
        .lines()
        .find(|l| l.starts_with("Client secret:"))
        .and_then(|l| l.split_whitespace().last())
        .map(str::to_string);
    (id, secret)
}

#[tokio::test]
async fn openidconnect_crate_code_flow_with_passkey_pkce_userinfo_refresh_and_key_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), None).await;
    let mut key = admin_with_passkey(&s).await;
    let (client_id, secret) = register_app(dir.path(), false);
    // The library's own advice: no redirects on the back channel.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let issuer = IssuerUrl::new(s.origin()).unwrap();
    let meta = CoreProviderMetadata::discover_async(issuer.clone(), &http)
        .await
        .expect("discovery: issuer byte-exact, JSON, required fields");
    let rp = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(client_id.clone()),
        secret.map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(CB.into()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = client();
    let back = browse_to_app(&s, &browser, auth_url.as_str(), &mut key).await;
    assert!(back.starts_with(CB), "{back}");
    let q = query(&back);
    assert_eq!(q["state"], *csrf.secret());
    assert_eq!(q["iss"], s.origin(), "RFC 9207 issuer in the response");

    let tokens = rp
        .exchange_code(AuthorizationCode::new(q["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code + PKCE → tokens");
    let id = verified_id_token(&tokens, &rp.id_token_verifier(), &nonce);
    let amr: Vec<String> = id
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|a| a.as_str().to_string())
        .collect();
    assert!(
        amr.contains(&"fido".to_string()) && amr.contains(&"mfa".to_string()),
        "{amr:?}"
    );
    assert!(id.auth_time().is_some());
    let raw = claims(&tokens.id_token().unwrap().to_string());
    assert!(
        raw["authentication_strengths"]
            .as_array()
            .unwrap()
            .contains(&json!("00000000-0000-0000-0000-000000000004")),
        "a passkey is phishing-resistant MFA: {raw}"
    );

    let info: openidconnect::core::CoreUserInfoClaims = rp
        .user_info(tokens.access_token().clone(), Some(id.subject().clone()))
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.preferred_username().map(|u| u.as_str()), Some(ADMIN));

    let refresh = tokens
        .refresh_token()
        .expect("offline_access gives a refresh token")
        .clone();
    let refreshed = rp
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        refresh.secret(),
        "refresh tokens rotate"
    );
    let reuse = rp
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&http)
        .await;
    assert!(reuse.is_err(), "a used refresh token is refused");
    let family = rp
        .exchange_refresh_token(&RefreshToken::new(
            refreshed.refresh_token().unwrap().secret().clone(),
        ))
        .unwrap()
        .request_async(&http)
        .await;
    assert!(family.is_err(), "…and its whole family is revoked");

    // Key rotation (after a fresh authorization: the reuse above revoked the first one's
    // tokens), with pre-publication: `rp` holds the JWKS it fetched at discovery, before the
    // rotation, and never fetches it again. The browser is still signed in, so these
    // authorizations need no sign-in (SSO).
    let before = sso_tokens(&rp, &browser, &http).await;
    let old_kid = claims_header_kid(&before.0.to_string());
    let (st, out, err) = cli(
        dir.path(),
        None,
        &["keys", "rotate", "--prepublish-seconds", "4"],
    );
    assert_eq!(st, 0, "{err}");
    assert!(out.contains("they sign from"), "{out}");
    // Until the new keys activate, tokens carry the old key: the client's cached JWKS, from
    // before the rotation, still verifies every token it is given.
    let during = sso_tokens(&rp, &browser, &http).await;
    assert_eq!(claims_header_kid(&during.0.to_string()), old_kid);
    during
        .0
        .claims(&rp.id_token_verifier(), &during.2)
        .expect("a JWKS cached before the rotation verifies tokens issued during pre-publication");
    // A client that refreshes its cache meanwhile (as max-age asks) gets the new keys before
    // they sign.
    let meta = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .unwrap();
    let rp2 = CoreClient::from_provider_metadata(meta, rp.client_id().clone(), None);
    tokio::time::sleep(std::time::Duration::from_millis(4500)).await;
    before
        .0
        .claims(&rp2.id_token_verifier(), &before.2)
        .expect("a token from before the rotation still validates");
    let still = http
        .get(s.url("/oidc/userinfo"))
        .bearer_auth(&before.1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        still.status(),
        StatusCode::OK,
        "and still works at userinfo"
    );
    let after = sso_tokens(&rp, &browser, &http).await;
    assert_ne!(
        claims_header_kid(&after.0.to_string()),
        old_kid,
        "new tokens are signed by the new key once it is active"
    );
    after
        .0
        .claims(&rp2.id_token_verifier(), &after.2)
        .expect("the JWKS fetched during pre-publication verifies the new key's tokens");
    // The client that never refreshed cannot: what an immediate rotation would do to every
    // client with a cached JWKS.
    assert!(
        after.0.claims(&rp.id_token_verifier(), &after.2).is_err(),
        "a JWKS cached before the rotation does not know the new key"
    );
}

type SsoTokens = (openidconnect::core::CoreIdToken, String, Nonce);
type DiscoveredClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// One more authorization in an already signed-in browser: (ID token, access token, nonce).
async fn sso_tokens(
    rp: &DiscoveredClient,
    browser: &reqwest::Client,
    http: &reqwest::Client,
) -> SsoTokens {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, _, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();
    let r = browser.get(auth_url.as_str()).send().await.unwrap();
    let code = query(&location(&r))["code"].clone();
    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(http)
        .await
        .unwrap();
    (
        tokens.id_token().unwrap().clone(),
        tokens.access_token().secret().clone(),
        nonce,
    )
}

fn claims_header_kid(jwt: &str) -> String {
    use base64::Engine;
    let head: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwt.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    head["kid"].as_str().unwrap().to_string()
}

#[path = "oidc_conformance/continuation.rs"]
mod continuation;
#[path = "oidc_conformance/id_token_signing.rs"]
mod id_token_signing;
#[path = "oidc_conformance/prompts.rs"]
mod prompts;
#[path = "oidc_conformance/sign_out.rs"]
mod sign_out;
