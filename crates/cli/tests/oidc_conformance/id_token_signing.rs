//! How ID tokens are signed is the administrator's setting on the application (OpenID
//! Connect's `id_token_signed_response_alg`): RS256 by default, ES256 when set. A relying
//! party that allows ES256 verifies those tokens with the published key set; nothing a client
//! sends changes its application's algorithm, and a tag the server does not know is refused.

use super::*;
use openidconnect::core::CoreJwsSigningAlgorithm;
use std::str::FromStr;

/// The `alg` of a compact JWS's header.
fn header_alg(jwt: &str) -> String {
    use base64::Engine;
    let head: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwt.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    head["alg"].as_str().unwrap().to_string()
}

/// A refresh at the token endpoint as a raw form, with `extra` parameters: the new ID token
/// and refresh token.
async fn refresh_raw(
    http: &reqwest::Client,
    s: &Server,
    client: (&str, &str),
    refresh: &str,
    extra: &[(&str, &str)],
) -> (String, String) {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh),
        ("client_id", client.0),
        ("client_secret", client.1),
    ];
    form.extend_from_slice(extra);
    let r = http
        .post(s.url("/oauth2/v2.0/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    (
        v["id_token"].as_str().unwrap().to_string(),
        v["refresh_token"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn an_application_set_to_es256_gets_es256_id_tokens_and_no_request_picks_the_algorithm() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), None).await;
    let mut key = admin_with_passkey(&s).await;
    let (client_id, secret) = register_app_with(dir.path(), false, &["--id-token-alg", "es256"]);
    let secret = secret.expect("a confidential client's secret");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let meta = CoreProviderMetadata::discover_async(IssuerUrl::new(s.origin()).unwrap(), &http)
        .await
        .expect("discovery");
    let offered = meta.id_token_signing_alg_values_supported().to_vec();
    assert_eq!(
        offered,
        [
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            CoreJwsSigningAlgorithm::EcdsaP256Sha256
        ],
        "discovery offers both"
    );
    let rp = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(client_id.clone()),
        Some(ClientSecret::new(secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(CB.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, _, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();
    let back = browse_to_app(&s, &client(), auth_url.as_str(), &mut key).await;
    let tokens = rp
        .exchange_code(AuthorizationCode::new(query(&back)["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code + PKCE → tokens");
    let id_token = tokens.id_token().expect("an ID token");
    assert_eq!(header_alg(&id_token.to_string()), "ES256");
    // A verifier that takes ES256 alone: the token really is signed so.
    let es256 = rp
        .id_token_verifier()
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    verified_id_token(&tokens, &es256, &nonce);

    // Access tokens are ES256 too, with the same key: an ID token is still no access token,
    // neither at userinfo nor at Graph.
    for url in [
        s.url("/oidc/userinfo"),
        s.url(&format!("/v1.0/applications/{client_id}")),
    ] {
        let r = http
            .get(&url)
            .bearer_auth(id_token.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{url}");
    }

    // A client cannot choose: registration metadata sent with a request changes nothing.
    let refresh = tokens.refresh_token().unwrap().secret().clone();
    let (id1, refresh) = refresh_raw(
        &http,
        &s,
        (&client_id, &secret),
        &refresh,
        &[("id_token_signed_response_alg", "RS256")],
    )
    .await;
    assert_eq!(header_alg(&id1), "ES256", "refreshed tokens keep ES256");

    // The administrator's setting, on Graph: the application's tags.
    let graph = support::token(
        dir.path(),
        None,
        &s.origin(),
        ADMIN,
        &["Application.ReadWrite.All"],
    );
    let app_url = s.url(&format!("/v1.0/applications/{client_id}"));
    let tags = |v: &Value| v["tags"].clone();
    let got: Value = http
        .get(&app_url)
        .bearer_auth(&graph)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tags(&got), json!(["PortcullisIdTokenES256"]));
    // A tag it does not keep is refused in Graph's error shape and changes nothing.
    let r = http
        .patch(&app_url)
        .bearer_auth(&graph)
        .json(&json!({"tags": ["PortcullisIdTokenES512"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let e: Value = r.json().await.unwrap();
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("PortcullisIdTokenES512"),
        "{e}"
    );
    let (id2, refresh) = refresh_raw(&http, &s, (&client_id, &secret), &refresh, &[]).await;
    assert_eq!(
        header_alg(&id2),
        "ES256",
        "the refused change changed nothing"
    );
    // Without the tag, the application is back on RS256, whatever the client asks.
    let r = http
        .patch(&app_url)
        .bearer_auth(&graph)
        .json(&json!({"tags": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (id3, _) = refresh_raw(
        &http,
        &s,
        (&client_id, &secret),
        &refresh,
        &[("id_token_signed_response_alg", "ES256")],
    )
    .await;
    assert_eq!(header_alg(&id3), "RS256");
    let rs256 = openidconnect::core::CoreIdToken::from_str(&id3).unwrap();
    rs256
        .claims(&rp.id_token_verifier(), |_: Option<&Nonce>| Ok(()))
        .expect("the default relying party verifies the RS256 token");
}
