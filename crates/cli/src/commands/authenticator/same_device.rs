//! The app signed in (docs/authenticator-protocol.md, part 2): it signs in to the
//! *Authenticator application* through the OpenID Connect provider — a public client with
//! PKCE, its user agent giving the platform, so Conditional Access applies to it as to the
//! real app — then adds a passkey same-device (R15), signs in with it from the current
//! profile (R20), or deletes it (R25).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::SigningKey;
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey};
use portcullis_domain::device::REGISTRATION_BINDING;
use portcullis_domain::directory::{AUTHENTICATOR_APP, SECURITY_INFO_APP};
use portcullis_service::secrets::new_token;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::passkey;
use super::state::{key, other_profile, Account, CodeAccount, PasskeyAccount, State};
use super::CliError;

/// How the app's user proves who they are.
pub(super) enum Proof<'a> {
    /// A Temporary Access Pass (onboarding).
    Tap(&'a str),
    /// A password, then the code the sign-in asks for: `code`, or the app's own codes for
    /// the account.
    Password {
        /// The password.
        password: &'a str,
        /// The code to give when asked (else the app's own).
        code: Option<&'a str>,
    },
    /// A passkey this app holds.
    Passkey(&'a PasskeyAccount),
}

#[derive(Deserialize)]
struct Step {
    step: String,
    #[serde(default)]
    pending: String,
}

/// The app, signed in to the Authenticator application.
pub(super) struct SignedIn {
    server: String,
    http: reqwest::Client,
    token: String,
    /// Registering security info proves the enrolled phone too (bound to registration).
    registration_proof: Option<String>,
}

/// The server's error shape, with a Conditional Access refusal's extra fields.
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: String,
    message: String,
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    remedy: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

/// Why a step failed: the server refused it, or something else.
pub(super) enum Failure {
    /// The server's refusal: what to tell the user.
    Refused {
        /// The text, with the refusal's stable code as its reference.
        text: String,
    },
    /// Anything else.
    Cli(CliError),
}

impl From<CliError> for Failure {
    fn from(e: CliError) -> Self {
        Failure::Cli(e)
    }
}

impl From<Failure> for CliError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Refused { text } => CliError::Other(text),
            Failure::Cli(e) => e,
        }
    }
}

/// What a refusal tells the user: the reason, and where the server gave them, the policy,
/// why retrying will not help, and the remedy — as the pages say them.
fn refusal(what: &str, status: u16, body: &[u8]) -> Failure {
    let Ok(ErrorBody { error: e }) = serde_json::from_slice::<ErrorBody>(body) else {
        return Failure::Cli(CliError::Other(format!("{what} was refused ({status})")));
    };
    let mut text = format!("{what} was refused: {}", e.message);
    if let Some(p) = e.policy.filter(|p| !p.is_empty()) {
        text.push_str(&format!("\nPolicy: {p}"));
    }
    if let Some(n) = e.note {
        text.push_str(&format!("\n{n}"));
    }
    if let Some(r) = e.remedy.filter(|r| !r.is_empty()) {
        text.push_str(&format!("\nWhat would fix it: {r}"));
    }
    if !e.code.is_empty() {
        text.push_str(&format!("\nReference: {}", e.code));
    }
    Failure::Refused { text }
}

fn net(url: &str) -> impl Fn(reqwest::Error) -> CliError + '_ {
    move |e| CliError::Other(format!("{url}: {e}"))
}

/// Sends `req`; the answer as `T` when the status is `ok`, else the refusal.
async fn call<T: serde::de::DeserializeOwned>(
    what: &str,
    req: reqwest::RequestBuilder,
    ok: u16,
) -> Result<T, Failure> {
    let r = req
        .send()
        .await
        .map_err(|e| CliError::Other(format!("{what}: {e}")))?;
    let st = r.status().as_u16();
    let bytes = r
        .bytes()
        .await
        .map_err(|e| CliError::Other(format!("{what}: {e}")))?;
    if st != ok {
        return Err(refusal(what, st, &bytes));
    }
    if bytes.is_empty() {
        return serde_json::from_value(Value::Null)
            .map_err(|e| CliError::Other(format!("{what}: {e}")).into());
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        CliError::Other(format!("{what}: an answer this app does not read: {e}")).into()
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Ceremony {
    ceremony_id: String,
    public_key: Value,
}

#[derive(Deserialize)]
struct Tokens {
    access_token: String,
}

/// Signs in to the Authenticator application as `upn` at `server`.
pub(super) async fn sign_in(
    state: &State,
    server: &str,
    upn: &str,
    proof: Proof<'_>,
) -> Result<SignedIn, Failure> {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(state.user_agent())
        .build()
        .map_err(|e| CliError::Other(format!("HTTP client: {e}")))?;
    match proof {
        Proof::Tap(code) => {
            let url = format!("{server}/signin/tap");
            let r = http
                .post(&url)
                .form(&[("username", upn), ("code", code)])
                .send()
                .await
                .map_err(net(&url))?;
            if r.status().as_u16() != 303 {
                return Err(CliError::Other(format!(
                    "the Temporary Access Pass was refused ({}): check the code, its start time and whether it was already used",
                    r.status().as_u16()
                ))
                .into());
            }
        }
        Proof::Password { password, code } => {
            let step: Step = call(
                "the password",
                http.post(format!("{server}/signin/password"))
                    .header("accept", "application/json")
                    .form(&[("username", upn), ("password", password)]),
                200,
            )
            .await?;
            match step.step.as_str() {
                "signedIn" => {}
                "code" => {
                    let code = match code {
                        Some(c) => c.to_string(),
                        None => own_code(state, upn)?,
                    };
                    let done: Step = call(
                        "the code",
                        http.post(format!("{server}/signin/code"))
                            .header("accept", "application/json")
                            .form(&[("pending", step.pending.as_str()), ("code", code.as_str())]),
                        200,
                    )
                    .await?;
                    if done.step != "signedIn" {
                        return Err(unfinished(&done.step).into());
                    }
                }
                other => return Err(unfinished(other).into()),
            }
        }
        Proof::Passkey(p) => {
            let o: Ceremony = call(
                "the passkey sign-in",
                http.post(format!("{server}/api/signin/passkey/options"))
                    .json(&json!({"username": upn})),
                200,
            )
            .await?;
            let cred = passkey::get(
                &o.public_key,
                server,
                &p.credential_id,
                &p.key,
                &p.user_handle,
            )?;
            let _: Value = call(
                "the passkey sign-in",
                http.post(format!("{server}/api/signin/passkey"))
                    .json(&json!({"ceremonyId": o.ceremony_id, "credential": cred})),
                200,
            )
            .await?;
        }
    }
    let verifier = new_token();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let expected_state = new_token();
    let redirect = AUTHENTICATOR_APP.redirect_uri.unwrap_or_default();
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", AUTHENTICATOR_APP.app_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid profile")
        .append_pair("state", &expected_state)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .finish();
    let url = format!("{server}/oauth2/v2.0/authorize?{query}");
    let mut req = http.get(&url).header("accept", "application/json");
    // An enrolled phone proves its device key, so that a compliant device counts.
    if let Some(e) = &state.enrolment {
        if let Some(proof) = e.proof(AUTHENTICATOR_APP.app_id, &challenge)? {
            req = req.header("x-portcullis-device-proof", proof);
        }
    }
    let r = req.send().await.map_err(net(&url))?;
    let st = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if st != 303 {
        let body = r.bytes().await.unwrap_or_default();
        return Err(refusal("Signing in to the Authenticator", st, &body));
    }
    if location.starts_with('/') {
        return Err(CliError::Other(format!(
            "the server asks for another sign-in first ({location}): sign in again with a method it accepts"
        ))
        .into());
    }
    let back = url::Url::parse(&location)
        .map_err(|e| CliError::Other(format!("the sign-in sent the app to '{location}': {e}")))?;
    let param = |k: &str| {
        back.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    if let Some(e) = param("error") {
        return Err(CliError::Other(format!(
            "Signing in to the Authenticator was refused: {e}: {}",
            param("error_description").unwrap_or_default()
        ))
        .into());
    }
    if param("state").as_deref() != Some(expected_state.as_str()) {
        return Err(CliError::Other(
            "the sign-in answered another request (state does not match)".into(),
        )
        .into());
    }
    let code = param("code").ok_or_else(|| {
        Failure::Cli(CliError::Other(format!(
            "the sign-in returned no code: {location}"
        )))
    })?;
    let t: Tokens = call(
        "the token request",
        http.post(format!("{server}/oauth2/v2.0/token")).form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
            ("client_id", AUTHENTICATOR_APP.app_id),
            ("code_verifier", verifier.as_str()),
        ]),
        200,
    )
    .await?;
    let registration_proof = match &state.enrolment {
        Some(e) => e.proof(SECURITY_INFO_APP.app_id, REGISTRATION_BINDING)?,
        None => None,
    };
    Ok(SignedIn {
        server: server.to_string(),
        http,
        token: t.access_token,
        registration_proof,
    })
}

/// The app's own current code for `upn`, when it holds codes for that account.
fn own_code(state: &State, upn: &str) -> Result<String, CliError> {
    let c = state
        .codes
        .iter()
        .find(|c| c.account.eq_ignore_ascii_case(upn))
        .ok_or_else(|| {
            CliError::Usage(format!(
                "the sign-in asks for a code and this app holds none for {upn}: pass --code"
            ))
        })?;
    let k = portcullis_domain::oath::parse_key_uri(&c.uri)
        .map_err(|e| CliError::Other(format!("the state file's codes: {e}")))?;
    Ok(portcullis_service::oath::code_at(
        &k.secret,
        portcullis_domain::Timestamp::now_utc(),
    ))
}

fn unfinished(step: &str) -> CliError {
    CliError::Other(match step {
        "newPassword" => "your password must be changed first: sign in on the web, choose a new one, then add the account again".into(),
        "push" => "this sign-in asks for a push approval, which this app answers only for accounts already added: use --code or a Temporary Access Pass".into(),
        other => format!("the sign-in stopped at a step this app does not take ({other})"),
    })
}

impl SignedIn {
    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        let r = self
            .http
            .post(format!("{}{path}", self.server))
            .bearer_auth(&self.token);
        match &self.registration_proof {
            Some(p) => r.header("x-portcullis-device-proof", p),
            None => r,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Finished {
    passkey: Value,
    added: Vec<String>,
    not_added: Vec<Value>,
    #[serde(default)]
    push: Option<PushAdded>,
    #[serde(default)]
    codes: Option<CodesGiven>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PushAdded {
    device_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CodesGiven {
    token: String,
    key_uri: String,
}

/// R15: adds a passkey same-device and every other method the server turns on; the
/// state gains the passkey, the push account and the codes. Returns what to print.
pub(super) async fn add_passkey(
    s: &mut State,
    server: &str,
    upn: &str,
    proof: Proof<'_>,
) -> Result<Value, CliError> {
    // R19: a phone that cannot hold the passkey is refused before anything is created.
    s.phone()
        .unmet()
        .map_err(|u| CliError::Other(format!("{u} [{}]", u.code())))?;
    let Some(attestation) = s.attestation.clone() else {
        return Err(CliError::Usage(
            "this app has no app attestation key: run `init` or `settings` with --app-attestation"
                .into(),
        ));
    };
    let app = sign_in(s, server, upn, proof).await?;
    let phone = s.phone_json();
    let o: Ceremony = call(
        "Adding the passkey",
        app.post("/api/authenticator/passkeys/options")
            .json(&json!({"phone": phone})),
        200,
    )
    .await?;
    let created = passkey::create(&o.public_key, server, s.platform, &attestation)?;
    // The app's one device key per account: kept if push was added before.
    let existing = s
        .accounts
        .iter()
        .find(|a| a.server == server && a.user_principal_name.eq_ignore_ascii_case(upn))
        .cloned();
    let device_key = match &existing {
        Some(a) => key(a)?,
        None => SigningKey::random(&mut rand::rngs::OsRng),
    };
    let public = device_key
        .verifying_key()
        .to_public_key_der()
        .map_err(|e| CliError::Other(format!("device key: {e}")))?;
    let f: Finished = call(
        "Adding the passkey",
        app.post("/api/authenticator/passkeys").json(&json!({
            "ceremonyId": o.ceremony_id, "credential": created.credential, "phone": phone,
            "deviceKey": URL_SAFE_NO_PAD.encode(public.as_bytes()),
        })),
        201,
    )
    .await?;
    let passkey_id = f
        .passkey
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    s.passkeys.push(PasskeyAccount {
        server: server.to_string(),
        user_principal_name: upn.to_string(),
        profile: s.current_profile(),
        passkey_id,
        rp_id: created.rp_id,
        credential_id: created.credential_id,
        user_handle: created.user_handle,
        key: created.key,
    });
    let mut added = f.added;
    let mut not_added = f.not_added;
    if let Some(push) = f.push {
        let private = device_key
            .to_pkcs8_der()
            .map_err(|e| CliError::Other(format!("device key: {e}")))?;
        s.accounts
            .retain(|a| !(a.server == server && a.user_principal_name.eq_ignore_ascii_case(upn)));
        s.accounts.push(Account {
            server: server.to_string(),
            user_principal_name: upn.to_string(),
            device_id: push.device_id,
            device_key: URL_SAFE_NO_PAD.encode(private.as_bytes()),
        });
    }
    if let Some(codes) = f.codes {
        // Confirmed with the first code, as a QR code scanned on Security info is.
        let k = portcullis_domain::oath::parse_key_uri(&codes.key_uri)
            .map_err(|e| CliError::Other(format!("the server's codes: {e}")))?;
        let code =
            portcullis_service::oath::code_at(&k.secret, portcullis_domain::Timestamp::now_utc());
        let confirmed: Result<Value, CliError> = call(
            "Turning on codes",
            app.post("/api/authenticator/codes")
                .json(&json!({"token": codes.token, "code": code})),
            201,
        )
        .await
        .map_err(CliError::from);
        match confirmed {
            Ok(_) => {
                added.push("softwareOath".into());
                s.codes
                    .retain(|c| !(c.issuer == k.issuer && c.account == k.account));
                s.codes.push(CodeAccount {
                    issuer: k.issuer,
                    account: k.account,
                    uri: codes.key_uri,
                });
            }
            Err(e) => {
                not_added.push(json!({"method": "softwareOath", "reason": e.to_string()}));
            }
        }
    }
    Ok(json!({
        "userPrincipalName": upn, "profile": s.current_profile(),
        "passkey": f.passkey, "added": added, "notAdded": not_added,
    }))
}

/// The passkey of `upn` this app can use here: one made in the current profile (R20).
pub(super) fn usable_passkey<'a>(
    s: &'a State,
    upn: Option<&str>,
) -> Result<&'a PasskeyAccount, CliError> {
    let of_user =
        |p: &&PasskeyAccount| upn.is_none_or(|u| p.user_principal_name.eq_ignore_ascii_case(u));
    let here = s.current_profile();
    let mut mine = s.passkeys.iter().filter(of_user);
    if let Some(p) = mine.clone().find(|p| p.profile == here) {
        return Ok(p);
    }
    match (mine.next(), here) {
        (Some(p), Some(here)) => match p.profile {
            Some(made_in) => Err(CliError::Other(other_profile(made_in, here))),
            None => Err(CliError::Other(
                "this passkey is not in this profile".into(),
            )),
        },
        _ => Err(CliError::Usage(match upn {
            Some(u) => format!("this app holds no passkey for {u}: add-passkey first"),
            None => "this app holds no passkey: add-passkey first".into(),
        })),
    }
}

/// Signs in with the passkey of the current profile; what to print.
pub(super) async fn sign_in_with_passkey(s: &State, upn: Option<&str>) -> Result<Value, CliError> {
    let p = usable_passkey(s, upn)?;
    sign_in(s, &p.server, &p.user_principal_name, Proof::Passkey(p)).await?;
    Ok(json!({"userPrincipalName": p.user_principal_name, "profile": p.profile, "signedIn": true}))
}

/// R25: deletes the passkey of the current profile in the app: from the phone, and from
/// the user's methods on the server (signed in with that very passkey).
pub(super) async fn delete_passkey(s: &mut State, upn: Option<&str>) -> Result<Value, CliError> {
    let p = usable_passkey(s, upn)?.clone();
    let app = match sign_in(s, &p.server, &p.user_principal_name, Proof::Passkey(&p)).await {
        Ok(app) => app,
        // The server will not take it (an administrator deleted or disabled it, R25, R26):
        // the phone forgets it all the same, and says why the server did not.
        Err(Failure::Refused { text, .. }) => {
            s.passkeys.retain(|q| q.credential_id != p.credential_id);
            return Ok(json!({
                "userPrincipalName": p.user_principal_name, "profile": p.profile,
                "removedFromServer": false, "server": text,
            }));
        }
        Err(e) => return Err(e.into()),
    };
    let _: Value = call(
        "Deleting the passkey",
        app.post(&format!(
            "/api/authenticator/passkeys/{}/delete",
            p.passkey_id
        )),
        204,
    )
    .await?;
    s.passkeys.retain(|q| q.credential_id != p.credential_id);
    Ok(
        json!({"userPrincipalName": p.user_principal_name, "profile": p.profile, "removedFromServer": true}),
    )
}
