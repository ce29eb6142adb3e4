//! `portcullis authenticator …`: an Authenticator app as a command (issue 17), for tests,
//! demos and rehearsing a rollout. It keeps its state in a file (the phone's settings, its
//! accounts with their device keys, its TOTP secrets) and speaks the protocol of
//! docs/authenticator-protocol.md to the server, as an app instance would.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use clap::{Args as ClapArgs, Subcommand};
use p256::ecdsa::SigningKey;
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::CliError;

mod passkey;
mod push;
mod same_device;
mod state;

use push::{answer, pending, post, Activated};
use state::{
    account, key, load, save, sign, Account, AppAttestation, CodeAccount, Platform, Profile, State,
};

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
        /// A PEM file with the app attestation key (PKCS#8) and its certificate chain, leaf
        /// first: what the server's app attestation root vouches for. Needed to add passkeys.
        #[arg(long)]
        app_attestation: Option<PathBuf>,
        /// Replace an existing state file (its accounts' keys are lost).
        #[arg(long)]
        force: bool,
    },
    /// Change the phone's settings: update the system, switch the Android profile the app
    /// runs in, turn the passkey provider on or off, give the app its attestation key.
    Settings {
        /// The OS's major version.
        #[arg(long)]
        os_version: Option<u32>,
        /// The Android profile the app runs in.
        #[arg(long, value_enum)]
        profile: Option<Profile>,
        /// Whether the app is enabled as the device's passkey provider.
        #[arg(long, action = clap::ArgAction::Set)]
        passkey_provider: Option<bool>,
        /// A PEM file with the app attestation key and its certificate chain.
        #[arg(long)]
        app_attestation: Option<PathBuf>,
        /// The device id device management gave this phone (after enrolling the key that
        /// `device-key` prints): sign-ins then prove the phone's possession of it.
        #[arg(long)]
        enrolled_device: Option<uuid::Uuid>,
    },
    /// The phone's device identity key (made on first use), PEM, for the administrator to
    /// enrol (`portcullis devices add --public-key`).
    DeviceKey,
    /// Add a work or school account same-device (R15): sign in to the Authenticator with a
    /// Temporary Access Pass, create a passkey in the current profile, and turn on every
    /// other Authenticator method the policy allows (push, codes).
    AddPasskey {
        /// Security info's same-device link (or its QR code's content): the server and the
        /// account.
        #[arg(long, conflicts_with_all = ["server", "upn"])]
        link: Option<String>,
        /// The server's public URL (as users reach it).
        #[arg(long, required_unless_present = "link", requires = "upn")]
        server: Option<String>,
        /// The account's userPrincipalName.
        #[arg(long, required_unless_present = "link", requires = "server")]
        upn: Option<String>,
        /// The Temporary Access Pass.
        #[arg(
            long,
            required_unless_present = "password_stdin",
            conflicts_with = "password_stdin"
        )]
        tap: Option<String>,
        /// Sign in with a password read from the first line of standard input instead, then
        /// the code the sign-in asks for.
        #[arg(long)]
        password_stdin: bool,
        /// The code to give after the password (else the app's own codes for the account).
        #[arg(long, requires = "password_stdin")]
        code: Option<String>,
    },
    /// Sign in to the Authenticator with the account's passkey from the current profile.
    SignIn {
        /// The account (its userPrincipalName); the only one when omitted.
        #[arg(long)]
        account: Option<String>,
    },
    /// Delete the account's passkey of the current profile in the app: from the phone and
    /// from the user's sign-in methods on the server (R25).
    DeletePasskey {
        /// The account (its userPrincipalName); the only one when omitted.
        #[arg(long)]
        account: Option<String>,
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

async fn dispatch(a: Args) -> Result<(), CliError> {
    let path = a.state.as_path();
    match a.cmd {
        Cmd::Init {
            platform,
            os_version,
            profile,
            passkey_provider,
            name,
            app_attestation,
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
                passkeys: vec![],
                attestation: app_attestation
                    .as_deref()
                    .map(read_attestation)
                    .transpose()?,
                enrolment: None,
            };
            save(path, &s)?;
            out(
                a.json,
                &serde_json::to_value(&s).unwrap_or(Value::Null),
                &format!("App set up in {}", path.display()),
            );
        }
        Cmd::Settings {
            os_version,
            profile,
            passkey_provider,
            app_attestation,
            enrolled_device,
        } => {
            let mut s = load(path)?;
            if let Some(id) = enrolled_device {
                let Some(e) = s.enrolment.as_mut() else {
                    return Err(CliError::Usage(
                        "this phone has no device key yet: run device-key and enrol it first"
                            .into(),
                    ));
                };
                e.device_id = Some(id);
            }
            if let Some(v) = os_version {
                s.os_version = v;
            }
            if let Some(p) = profile {
                if s.platform == Platform::Ios {
                    return Err(CliError::Usage(
                        "--profile is for Android: iOS has no work and personal profiles".into(),
                    ));
                }
                s.profile = p;
            }
            if let Some(p) = passkey_provider {
                s.passkey_provider = p;
            }
            if let Some(f) = app_attestation {
                s.attestation = Some(read_attestation(&f)?);
            }
            save(path, &s)?;
            let phone = s.phone_json();
            out(
                a.json,
                &phone,
                &format!(
                    "{} {:?} {}{}, passkey provider {}",
                    s.name,
                    s.platform,
                    s.os_version,
                    s.current_profile()
                        .map(|p| format!(" ({p:?} profile)"))
                        .unwrap_or_default(),
                    if s.passkey_provider { "on" } else { "off" }
                ),
            );
        }
        Cmd::DeviceKey => {
            let mut s = load(path)?;
            let e = match s.enrolment.clone() {
                Some(e) => e,
                None => {
                    let e = state::Enrolment::new()?;
                    s.enrolment = Some(e.clone());
                    save(path, &s)?;
                    e
                }
            };
            let pem = e.public_pem()?;
            out(
                a.json,
                &json!({"publicKey": pem, "deviceId": e.device_id}),
                pem.trim_end(),
            );
        }
        Cmd::AddPasskey {
            link,
            server,
            upn,
            tap,
            password_stdin,
            code,
        } => {
            let mut s = load(path)?;
            let (server, upn) = match (link, server, upn) {
                (Some(link), _, _) => from_link(&link)?,
                (None, Some(server), Some(upn)) => (server_origin(&server)?, upn),
                _ => return Err(CliError::Usage("--link, or --server and --upn".into())),
            };
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| CliError::Other(format!("standard input: {e}")))?;
                Some(line.trim_end_matches(['\r', '\n']).to_string())
            } else {
                None
            };
            let proof = match (&tap, &password) {
                (Some(t), _) => same_device::Proof::Tap(t),
                (None, Some(p)) => same_device::Proof::Password {
                    password: p,
                    code: code.as_deref(),
                },
                (None, None) => {
                    return Err(CliError::Usage("--tap or --password-stdin".into()));
                }
            };
            let v = same_device::add_passkey(&mut s, &server, &upn, proof).await;
            // What was added is kept even when a later step failed.
            save(path, &s)?;
            let v = v?;
            let list = |k: &str| {
                v.get(k)
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .map(|m| match m {
                                Value::String(m) => m.clone(),
                                m => format!(
                                    "{} ({})",
                                    m.get("method").and_then(Value::as_str).unwrap_or_default(),
                                    m.get("reason").and_then(Value::as_str).unwrap_or_default()
                                ),
                            })
                            .collect::<Vec<_>>()
                            .join("; ")
                    })
                    .unwrap_or_default()
            };
            out(
                a.json,
                &v,
                &format!(
                    "Added a passkey for {upn} in Microsoft Authenticator{}.\nTurned on: {}\nNot turned on: {}",
                    s.current_profile()
                        .map(|p| format!(" ({p:?} profile)"))
                        .unwrap_or_default(),
                    list("added"),
                    match list("notAdded") {
                        l if l.is_empty() => "nothing".into(),
                        l => l,
                    }
                ),
            );
        }
        Cmd::SignIn { account: who } => {
            let s = load(path)?;
            let v = same_device::sign_in_with_passkey(&s, who.as_deref()).await?;
            out(
                a.json,
                &v,
                &format!(
                    "Signed in to Microsoft Authenticator as {} with the passkey",
                    v.get("userPrincipalName")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                ),
            );
        }
        Cmd::DeletePasskey { account: who } => {
            let mut s = load(path)?;
            let v = same_device::delete_passkey(&mut s, who.as_deref()).await?;
            save(path, &s)?;
            let upn = v
                .get("userPrincipalName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let text = match v.get("server").and_then(Value::as_str) {
                Some(why) => format!("Deleted {upn}'s passkey from this phone. The server had already removed it: {why}"),
                None => format!("Deleted {upn}'s passkey from this phone and from the account's sign-in methods"),
            };
            out(a.json, &v, &text);
        }
        Cmd::Show => {
            let s = load(path)?;
            // The keys and secrets stay in the file.
            let v = json!({
                "platform": s.platform, "osVersion": s.os_version, "profile": s.profile,
                "passkeyProvider": s.passkey_provider, "name": s.name,
                "accounts": s.accounts.iter().map(|a| json!({"server": a.server, "userPrincipalName": a.user_principal_name, "deviceId": a.device_id})).collect::<Vec<_>>(),
                "codes": s.codes.iter().map(|c| json!({"issuer": c.issuer, "account": c.account})).collect::<Vec<_>>(),
                "passkeys": s.passkeys.iter().map(|p| json!({"server": p.server, "userPrincipalName": p.user_principal_name, "profile": p.profile, "passkeyId": p.passkey_id})).collect::<Vec<_>>(),
                "appAttestation": s.attestation.is_some(),
            });
            let text = format!(
                "{:?} {} ({:?} profile), passkey provider {}; accounts: {}; codes: {}; passkeys: {}",
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
                s.passkeys
                    .iter()
                    .map(|p| match p.profile {
                        Some(pr) => format!("{} ({pr:?} profile)", p.user_principal_name),
                        None => p.user_principal_name.clone(),
                    })
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
            let platform = s.phone().platform.as_str();
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

fn read_attestation(f: &Path) -> Result<AppAttestation, CliError> {
    let text = std::fs::read_to_string(f)
        .map_err(|e| CliError::Usage(format!("--app-attestation {}: {e}", f.display())))?;
    AppAttestation::from_pem(&text)
}

/// The server's origin (scheme, host, port): what passkeys are made for.
fn server_origin(server: &str) -> Result<String, CliError> {
    let u = url::Url::parse(server).map_err(|e| CliError::Usage(format!("--server: {e}")))?;
    if !matches!(u.scheme(), "https" | "http") {
        return Err(CliError::Usage("--server must be an https:// URL".into()));
    }
    Ok(u.origin().ascii_serialization())
}

/// The server and the account a same-device link names.
fn from_link(link: &str) -> Result<(String, String), CliError> {
    let u = url::Url::parse(link).map_err(|e| CliError::Usage(format!("--link: {e}")))?;
    let upn = u
        .query_pairs()
        .find(|(k, _)| k == "upn")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| {
            CliError::Usage("--link names no account: copy it from Security info".into())
        })?;
    Ok((server_origin(link)?, upn))
}
