//! `portcullis authenticator …`: an Authenticator app as a command (issue 17), for tests,
//! demos and rehearsing a rollout. It keeps its state in a file (the phone's settings, its
//! accounts with their device keys, its TOTP secrets) and speaks the protocol of
//! docs/authenticator-protocol.md to the server, as an app instance would.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use clap::{Args as ClapArgs, Subcommand, ValueEnum};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::CliError;

/// The phone's platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Android.
    Android,
    /// iOS.
    Ios,
}

/// The Android profile the app runs in (R20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// The personal profile.
    Personal,
    /// The work profile.
    Work,
}

/// Options every subcommand takes.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// The app's state file.
    #[arg(long, default_value = "authenticator.json", global = true)]
    state: PathBuf,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Set up the phone: platform, OS version, profile, passkey provider, its name.
    Init {
        /// android or ios.
        #[arg(long, value_enum)]
        platform: Platform,
        /// The OS's major version (Android 14, iOS 17 …).
        #[arg(long)]
        os_version: u32,
        /// The Android profile the app runs in.
        #[arg(long, value_enum, default_value = "personal")]
        profile: Profile,
        /// Whether the app is enabled as the device's passkey provider.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        passkey_provider: bool,
        /// The phone's name, as the account's method shows it.
        #[arg(long, default_value = "Phone")]
        name: String,
        /// Replace an existing state file (its accounts' keys are lost).
        #[arg(long)]
        force: bool,
    },
    /// The phone's settings and accounts.
    Show,
    /// Add a work or school account from Security info's activation link (push approvals).
    AddAccount {
        /// The link (or its QR code's content).
        #[arg(long)]
        link: String,
    },
    /// The pending sign-in requests of an account, waiting up to `--wait` seconds for one.
    Requests {
        /// The account (its userPrincipalName); the only one when omitted.
        #[arg(long)]
        account: Option<String>,
        /// Seconds to wait for a request (at most 25).
        #[arg(long, default_value_t = 0)]
        wait: u64,
    },
    /// Answer the newest pending request with the number the sign-in page shows.
    Approve {
        /// The number shown on the sign-in page.
        #[arg(long)]
        number: u8,
        /// The account (its userPrincipalName); the only one when omitted.
        #[arg(long)]
        account: Option<String>,
        /// Seconds to wait for a request (at most 25).
        #[arg(long, default_value_t = 10)]
        wait: u64,
    },
    /// Deny the newest pending request ("No, it's not me").
    Deny {
        /// The account (its userPrincipalName); the only one when omitted.
        #[arg(long)]
        account: Option<String>,
        /// Seconds to wait for a request (at most 25).
        #[arg(long, default_value_t = 10)]
        wait: u64,
    },
    /// Delete an account in the app: removed from the phone and, its key proving it, from the
    /// user's methods on the server (R25).
    RemoveAccount {
        /// The account (its userPrincipalName); the only one when omitted.
        #[arg(long)]
        account: Option<String>,
    },
    /// Add a TOTP account from the `otpauth://` URI of a QR code.
    AddCode {
        /// The URI.
        #[arg(long)]
        uri: String,
    },
    /// The current code of every TOTP account.
    Codes,
}

/// An account added from an activation link.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Account {
    server: String,
    user_principal_name: String,
    device_id: String,
    /// The device key: PKCS#8 DER, base64url.
    device_key: String,
}

/// A TOTP account.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CodeAccount {
    issuer: String,
    account: String,
    uri: String,
}

/// The app's state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct State {
    platform: Platform,
    os_version: u32,
    profile: Profile,
    passkey_provider: bool,
    name: String,
    #[serde(default)]
    accounts: Vec<Account>,
    #[serde(default)]
    codes: Vec<CodeAccount>,
}

fn load(p: &Path) -> Result<State, CliError> {
    let text = std::fs::read_to_string(p).map_err(|e| {
        CliError::Usage(format!(
            "{}: {e} (run `portcullis authenticator init` first)",
            p.display()
        ))
    })?;
    serde_json::from_str(&text)
        .map_err(|e| CliError::Other(format!("{}: not an app state file: {e}", p.display())))
}

/// Writes the state whole or not at all (a temporary file renamed over it), readable by its
/// owner only: it holds device keys and TOTP secrets.
fn save(p: &Path, s: &State) -> Result<(), CliError> {
    use std::io::Write;
    let text =
        serde_json::to_string_pretty(s).map_err(|e| CliError::Other(format!("state: {e}")))?;
    let err = |e: std::io::Error| CliError::Other(format!("{}: {e}", p.display()));
    let tmp = p.with_extension("tmp");
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(&tmp).map_err(err)?;
    f.write_all(text.as_bytes()).map_err(err)?;
    f.sync_all().map_err(err)?;
    std::fs::rename(&tmp, p).map_err(err)
}

fn out(json: bool, v: &Value, text: &str) {
    if json {
        println!("{v}");
    } else {
        println!("{text}");
    }
}

/// Runs a subcommand (it needs no configuration or store: it is a client of a server).
pub fn run(a: Args) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("portcullis: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(dispatch(a)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Usage(m)) => {
            eprintln!("portcullis authenticator: {m}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("portcullis authenticator: {e}");
            ExitCode::FAILURE
        }
    }
}

fn account<'a>(s: &'a State, upn: Option<&str>) -> Result<&'a Account, CliError> {
    match upn {
        Some(u) => s
            .accounts
            .iter()
            .find(|a| a.user_principal_name.eq_ignore_ascii_case(u))
            .ok_or_else(|| CliError::Usage(format!("no account {u} in this app"))),
        None => match s.accounts.as_slice() {
            [one] => Ok(one),
            [] => Err(CliError::Usage(
                "this app has no account; add-account first".into(),
            )),
            _ => Err(CliError::Usage(
                "this app has several accounts; name one with --account".into(),
            )),
        },
    }
}

fn key(a: &Account) -> Result<SigningKey, CliError> {
    let der = URL_SAFE_NO_PAD
        .decode(&a.device_key)
        .map_err(|_| CliError::Other("the state file's device key is not base64url".into()))?;
    SigningKey::from_pkcs8_der(&der)
        .map_err(|_| CliError::Other("the state file's device key is not a P-256 key".into()))
}

fn sign(k: &SigningKey, message: &str) -> String {
    let sig: DerSignature = k.sign(message.as_bytes());
    URL_SAFE_NO_PAD.encode(sig.as_bytes())
}

/// The server's answers, parsed once.
#[derive(Deserialize)]
struct Refusal {
    error: RefusalBody,
}

#[derive(Deserialize)]
struct RefusalBody {
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Activated {
    device_id: String,
    user_principal_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    id: String,
    app_name: Option<String>,
    location: Option<String>,
    expires_date_time: Option<String>,
}

#[derive(Deserialize)]
struct Requests {
    value: Vec<Request>,
}

#[derive(Deserialize)]
struct Answered {
    state: String,
}

/// POSTs `body`; the answer parsed as `T` when the status is `ok`, else the server's reason.
async fn post<T: serde::de::DeserializeOwned>(
    url: &str,
    body: &Value,
    ok: u16,
) -> Result<T, CliError> {
    let r = reqwest::Client::new()
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| CliError::Other(format!("{url}: {e}")))?;
    let st = r.status().as_u16();
    let bytes = r
        .bytes()
        .await
        .map_err(|e| CliError::Other(format!("{url}: {e}")))?;
    if st != ok {
        let why = serde_json::from_slice::<Refusal>(&bytes)
            .map(|r| r.error.message)
            .unwrap_or_else(|_| "no reason given".into());
        return Err(CliError::Other(format!("the server refused ({st}): {why}")));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| CliError::Other(format!("{url}: an answer this app does not read: {e}")))
}

async fn pending(a: &Account, wait: u64) -> Result<Vec<Request>, CliError> {
    let k = key(a)?;
    let now = portcullis_domain::Timestamp::now_utc().unix_timestamp();
    let sig = sign(&k, &format!("portcullis-poll|{}|{now}", a.device_id));
    let body = json!({"deviceId": a.device_id, "signedAt": now, "signature": sig, "waitSeconds": wait.min(25)});
    let r: Requests = post(
        &format!("{}/api/authenticator/requests", a.server),
        &body,
        200,
    )
    .await?;
    Ok(r.value)
}

async fn answer(
    a: &Account,
    approve: bool,
    number: u8,
    wait: u64,
    json_out: bool,
) -> Result<(), CliError> {
    let found = pending(a, wait).await?;
    let Some(req) = found.last() else {
        return Err(CliError::Other("no pending sign-in request".into()));
    };
    let context = match (req.app_name.as_deref(), req.location.as_deref()) {
        (Some(app), Some(loc)) => format!(" to {app} from {loc}"),
        (Some(app), None) => format!(" to {app}"),
        (None, Some(loc)) => format!(" from {loc}"),
        (None, None) => String::new(),
    };
    let k = key(a)?;
    let id = &req.id;
    let sig = sign(
        &k,
        &format!("portcullis-answer|{id}|{}|{number}", u8::from(approve)),
    );
    let body =
        json!({"deviceId": a.device_id, "approve": approve, "number": number, "signature": sig});
    let r: Answered = post(
        &format!("{}/api/authenticator/requests/{id}", a.server),
        &body,
        200,
    )
    .await?;
    out(
        json_out,
        &json!({"request": id, "appName": req.app_name, "location": req.location, "state": r.state}),
        &format!(
            "Sign-in request{context} for {}: {}",
            a.user_principal_name, r.state
        ),
    );
    if r.state == "deniedWrongNumber" {
        return Err(CliError::Other(
            "the number was not the one the sign-in page shows: the request was denied".into(),
        ));
    }
    Ok(())
}

async fn dispatch(a: Args) -> Result<(), CliError> {
    let path = a.state.as_path();
    match a.cmd {
        Cmd::Init {
            platform,
            os_version,
            profile,
            passkey_provider,
            name,
            force,
        } => {
            if path.exists() && !force {
                return Err(CliError::Usage(format!(
                    "{} exists: its accounts' keys would be lost (--force replaces it)",
                    path.display()
                )));
            }
            let s = State {
                platform,
                os_version,
                profile,
                passkey_provider,
                name,
                accounts: vec![],
                codes: vec![],
            };
            save(path, &s)?;
            out(
                a.json,
                &serde_json::to_value(&s).unwrap_or(Value::Null),
                &format!("App set up in {}", path.display()),
            );
        }
        Cmd::Show => {
            let s = load(path)?;
            // The keys and secrets stay in the file.
            let v = json!({
                "platform": s.platform, "osVersion": s.os_version, "profile": s.profile,
                "passkeyProvider": s.passkey_provider, "name": s.name,
                "accounts": s.accounts.iter().map(|a| json!({"server": a.server, "userPrincipalName": a.user_principal_name, "deviceId": a.device_id})).collect::<Vec<_>>(),
                "codes": s.codes.iter().map(|c| json!({"issuer": c.issuer, "account": c.account})).collect::<Vec<_>>(),
            });
            let text = format!(
                "{:?} {} ({:?} profile), passkey provider {}; accounts: {}; codes: {}",
                s.platform,
                s.os_version,
                s.profile,
                if s.passkey_provider { "on" } else { "off" },
                s.accounts
                    .iter()
                    .map(|a| a.user_principal_name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                s.codes
                    .iter()
                    .map(|c| format!("{} ({})", c.account, c.issuer))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            out(a.json, &v, &text);
        }
        Cmd::AddAccount { link } => {
            let mut s = load(path)?;
            let u = url::Url::parse(&link).map_err(|e| CliError::Usage(format!("--link: {e}")))?;
            let code = u
                .query_pairs()
                .find(|(k, _)| k == "code")
                .map(|(_, v)| v.into_owned())
                .ok_or_else(|| {
                    CliError::Usage("--link has no code: copy it from Security info".into())
                })?;
            let server = u.origin().ascii_serialization();
            let k = SigningKey::random(&mut rand::rngs::OsRng);
            let public = k
                .verifying_key()
                .to_public_key_der()
                .map_err(|e| CliError::Other(format!("device key: {e}")))?;
            let private = k
                .to_pkcs8_der()
                .map_err(|e| CliError::Other(format!("device key: {e}")))?;
            let platform = match s.platform {
                Platform::Android => "android",
                Platform::Ios => "iOS",
            };
            let body = json!({"code": code, "publicKey": URL_SAFE_NO_PAD.encode(public.as_bytes()), "displayName": s.name, "platform": platform});
            let v: Activated =
                post(&format!("{server}/api/authenticator/devices"), &body, 201).await?;
            let upn = v.user_principal_name.clone();
            s.accounts
                .retain(|a| !(a.server == server && a.user_principal_name == upn));
            s.accounts.push(Account {
                server,
                user_principal_name: upn.clone(),
                device_id: v.device_id.clone(),
                device_key: URL_SAFE_NO_PAD.encode(private.as_bytes()),
            });
            save(path, &s)?;
            out(
                a.json,
                &json!({"userPrincipalName": upn, "deviceId": v.device_id, "added": ["microsoftAuthenticatorPush"]}),
                &format!("Added {upn}: sign-in requests (push with number matching)"),
            );
        }
        Cmd::Requests { account: who, wait } => {
            let s = load(path)?;
            let acct = account(&s, who.as_deref())?;
            let found = pending(acct, wait).await?;
            let text = if found.is_empty() {
                "No pending sign-in requests".to_string()
            } else {
                found
                    .iter()
                    .map(|r| {
                        format!(
                            "{} {} {}",
                            r.id,
                            r.app_name.as_deref().unwrap_or("-"),
                            r.location.as_deref().unwrap_or("-")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            out(a.json, &json!({"value": found}), &text);
        }
        Cmd::Approve {
            number,
            account: who,
            wait,
        } => {
            let s = load(path)?;
            answer(account(&s, who.as_deref())?, true, number, wait, a.json).await?;
        }
        Cmd::Deny { account: who, wait } => {
            let s = load(path)?;
            answer(account(&s, who.as_deref())?, false, 0, wait, a.json).await?;
        }
        Cmd::RemoveAccount { account: who } => {
            let mut s = load(path)?;
            let acct = account(&s, who.as_deref())?.clone();
            let k = key(&acct)?;
            let now = portcullis_domain::Timestamp::now_utc().unix_timestamp();
            let sig = sign(&k, &format!("portcullis-remove|{}|{now}", acct.device_id));
            let url = format!(
                "{}/api/authenticator/devices/{}/remove",
                acct.server, acct.device_id
            );
            let r = reqwest::Client::new()
                .post(&url)
                .json(&json!({"signedAt": now, "signature": sig}))
                .send()
                .await
                .map_err(|e| CliError::Other(format!("{url}: {e}")))?;
            // Gone from the server already (an administrator deleted it): the phone forgets it too.
            let st = r.status().as_u16();
            if st != 204 && st != 401 {
                return Err(CliError::Other(format!("the server refused ({st})")));
            }
            s.accounts.retain(|a| a.device_id != acct.device_id);
            save(path, &s)?;
            out(
                a.json,
                &json!({"userPrincipalName": acct.user_principal_name, "removedFromServer": st == 204}),
                &format!(
                    "Removed {} from this phone{}",
                    acct.user_principal_name,
                    if st == 204 {
                        " and from the server"
                    } else {
                        " (the server no longer had it)"
                    }
                ),
            );
        }
        Cmd::AddCode { uri } => {
            let mut s = load(path)?;
            let k = portcullis_domain::oath::parse_key_uri(&uri)
                .map_err(|e| CliError::Usage(e.to_string()))?;
            s.codes
                .retain(|c| !(c.issuer == k.issuer && c.account == k.account));
            s.codes.push(CodeAccount {
                issuer: k.issuer.clone(),
                account: k.account.clone(),
                uri,
            });
            save(path, &s)?;
            out(
                a.json,
                &json!({"issuer": k.issuer, "account": k.account, "added": ["softwareOath"]}),
                &format!("Added {} ({})", k.account, k.issuer),
            );
        }
        Cmd::Codes => {
            let s = load(path)?;
            let now = portcullis_domain::Timestamp::now_utc();
            let mut list = vec![];
            for c in &s.codes {
                let k = portcullis_domain::oath::parse_key_uri(&c.uri)
                    .map_err(|e| CliError::Other(e.to_string()))?;
                list.push(json!({"issuer": c.issuer, "account": c.account, "code": portcullis_service::oath::code_at(&k.secret, now)}));
            }
            let text = list
                .iter()
                .map(|v| {
                    format!(
                        "{} {} {}",
                        v["code"].as_str().unwrap_or_default(),
                        v["account"].as_str().unwrap_or_default(),
                        v["issuer"].as_str().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            out(a.json, &json!({"value": list}), &text);
        }
    }
    Ok(())
}
