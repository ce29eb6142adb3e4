//! The app's state file: the phone's settings, its accounts with their device keys, its
//! passkeys per Android profile, its TOTP secrets.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use clap::ValueEnum;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::DecodePrivateKey;
use serde::{Deserialize, Serialize};
use std::path::Path;

use portcullis_domain::conditional_access::platform::Platform as DomainPlatform;
use portcullis_domain::passkey::AndroidProfile;
use portcullis_domain::phone::Phone;

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

/// An account added from an activation link.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Account {
    pub(super) server: String,
    pub(super) user_principal_name: String,
    pub(super) device_id: String,
    /// The device key: PKCS#8 DER, base64url.
    pub(super) device_key: String,
}

/// A TOTP account.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CodeAccount {
    pub(super) issuer: String,
    pub(super) account: String,
    pub(super) uri: String,
}

/// The app's state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct State {
    pub(super) platform: Platform,
    pub(super) os_version: u32,
    pub(super) profile: Profile,
    pub(super) passkey_provider: bool,
    pub(super) name: String,
    #[serde(default)]
    pub(super) accounts: Vec<Account>,
    #[serde(default)]
    pub(super) codes: Vec<CodeAccount>,
    /// Passkeys, each in the profile it was made in (R20).
    #[serde(default)]
    pub(super) passkeys: Vec<PasskeyAccount>,
    /// The app's own attestation key and certificate chain (App Attest / Play Integrity in
    /// the real app); without it, the app cannot make passkeys.
    #[serde(default)]
    pub(super) attestation: Option<AppAttestation>,
    /// The phone's enrolment with the organisation's device management, when it has one.
    #[serde(default)]
    pub(super) enrolment: Option<Enrolment>,
}

/// The phone's device identity for device management: a P-256 key (PKCS#8 DER, base64url)
/// whose public half the administrator enrols, and the device id they got. With an id, the
/// app proves possession of the key when it signs in, so a compliant device counts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Enrolment {
    pub(super) key: String,
    pub(super) device_id: Option<uuid::Uuid>,
}

impl Enrolment {
    /// A new device identity.
    pub(super) fn new() -> Result<Enrolment, CliError> {
        use p256::pkcs8::EncodePrivateKey;
        let k = SigningKey::random(&mut rand::rngs::OsRng);
        let der = k
            .to_pkcs8_der()
            .map_err(|e| CliError::Other(format!("device identity key: {e}")))?;
        Ok(Enrolment {
            key: URL_SAFE_NO_PAD.encode(der.as_bytes()),
            device_id: None,
        })
    }

    fn signing_key(&self) -> Result<SigningKey, CliError> {
        let der = URL_SAFE_NO_PAD.decode(&self.key).map_err(|_| {
            CliError::Other("the state file's device identity key is not base64url".into())
        })?;
        SigningKey::from_pkcs8_der(&der).map_err(|_| {
            CliError::Other("the state file's device identity key is not a P-256 key".into())
        })
    }

    /// The public key, PEM, as the administrator enrols it.
    pub(super) fn public_pem(&self) -> Result<String, CliError> {
        use p256::pkcs8::{EncodePublicKey, LineEnding};
        self.signing_key()?
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| CliError::Other(format!("device identity key: {e}")))
    }

    /// The `X-Portcullis-Device-Proof` header for a sign-in of `client_id` bound to
    /// `binding` (the PKCE challenge), when the phone is enrolled.
    pub(super) fn proof(&self, client_id: &str, binding: &str) -> Result<Option<String>, CliError> {
        let Some(id) = self.device_id else {
            return Ok(None);
        };
        let at = portcullis_domain::Timestamp::now_utc().unix_timestamp();
        let msg = portcullis_domain::device::proof_message(id, client_id, binding, at);
        Ok(Some(format!(
            "{id}.{at}.{}",
            sign(&self.signing_key()?, &msg)
        )))
    }
}

/// A passkey the app holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PasskeyAccount {
    pub(super) server: String,
    pub(super) user_principal_name: String,
    /// The Android profile it was made in; `None` on iOS.
    pub(super) profile: Option<Profile>,
    /// The server's id for it (to delete it there).
    pub(super) passkey_id: String,
    pub(super) rp_id: String,
    pub(super) credential_id: String,
    pub(super) user_handle: String,
    /// Its private key: PKCS#8 DER, base64url.
    pub(super) key: String,
}

/// The app attestation key and its certificate chain (leaf first), DER, base64url.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AppAttestation {
    key: String,
    chain: Vec<String>,
}

impl AppAttestation {
    /// Reads a PEM file holding the key (`PRIVATE KEY`, PKCS#8) and the chain
    /// (`CERTIFICATE`, leaf first).
    pub(super) fn from_pem(text: &str) -> Result<AppAttestation, CliError> {
        let keys = portcullis_webauthn::mds::pem_blocks(text, "PRIVATE KEY");
        let chain = portcullis_webauthn::mds::pem_to_der(text);
        let (Some(key), false) = (keys.first(), chain.is_empty()) else {
            return Err(CliError::Usage(
                "--app-attestation must hold a PRIVATE KEY (PKCS#8) and its CERTIFICATE chain, leaf first".into(),
            ));
        };
        SigningKey::from_pkcs8_der(key).map_err(|_| {
            CliError::Usage("--app-attestation's key must be a P-256 PKCS#8 key".into())
        })?;
        Ok(AppAttestation {
            key: URL_SAFE_NO_PAD.encode(key),
            chain: chain.iter().map(|c| URL_SAFE_NO_PAD.encode(c)).collect(),
        })
    }

    /// The key.
    pub(super) fn signing_key(&self) -> Result<SigningKey, CliError> {
        let der = URL_SAFE_NO_PAD.decode(&self.key).map_err(|_| {
            CliError::Other("the state file's attestation key is not base64url".into())
        })?;
        SigningKey::from_pkcs8_der(&der).map_err(|_| {
            CliError::Other("the state file's attestation key is not a P-256 key".into())
        })
    }

    /// The chain, DER.
    pub(super) fn chain(&self) -> Result<Vec<Vec<u8>>, CliError> {
        self.chain
            .iter()
            .map(|c| {
                URL_SAFE_NO_PAD.decode(c).map_err(|_| {
                    CliError::Other("the state file's attestation chain is not base64url".into())
                })
            })
            .collect()
    }
}

impl Profile {
    fn domain(self) -> AndroidProfile {
        match self {
            Profile::Personal => AndroidProfile::Personal,
            Profile::Work => AndroidProfile::Work,
        }
    }
}

impl State {
    /// The profile the app runs in now: Android's, none on iOS.
    pub(super) fn current_profile(&self) -> Option<Profile> {
        (self.platform == Platform::Android).then_some(self.profile)
    }

    /// The phone as the server reads it (R19, R20).
    pub(super) fn phone(&self) -> Phone {
        Phone {
            platform: match self.platform {
                Platform::Android => DomainPlatform::Android,
                Platform::Ios => DomainPlatform::Ios,
            },
            os_major: self.os_version,
            profile: self.current_profile().map(Profile::domain),
            passkey_provider: self.passkey_provider,
            name: self.name.clone(),
        }
    }

    /// The phone as the app sends it.
    pub(super) fn phone_json(&self) -> serde_json::Value {
        let p = self.phone();
        serde_json::json!({
            "platform": p.platform.as_str(), "osVersion": p.os_major.to_string(),
            "profile": p.profile.map(|p| p.as_str()), "passkeyProvider": p.passkey_provider,
            "name": p.name,
        })
    }

    /// The user agent the app's requests carry: its platform and system, as the real app's
    /// web view does, so Conditional Access reads the platform (an unverified signal).
    pub(super) fn user_agent(&self) -> String {
        match self.platform {
            Platform::Android => format!(
                "Mozilla/5.0 (Linux; Android {}; {}) PortcullisAuthenticator/1.0",
                self.os_version, self.name
            ),
            Platform::Ios => format!(
                "Mozilla/5.0 (iPhone; CPU iPhone OS {}_0 like Mac OS X) PortcullisAuthenticator/1.0",
                self.os_version
            ),
        }
    }
}

/// R20: what `profile` explains about a passkey made in `made_in`.
pub(super) fn other_profile(made_in: Profile, here: Profile) -> String {
    portcullis_domain::phone::other_profile_explanation(made_in.domain(), here.domain())
}

pub(super) fn load(p: &Path) -> Result<State, CliError> {
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
pub(super) fn save(p: &Path, s: &State) -> Result<(), CliError> {
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

pub(super) fn account<'a>(s: &'a State, upn: Option<&str>) -> Result<&'a Account, CliError> {
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

pub(super) fn key(a: &Account) -> Result<SigningKey, CliError> {
    let der = URL_SAFE_NO_PAD
        .decode(&a.device_key)
        .map_err(|_| CliError::Other("the state file's device key is not base64url".into()))?;
    SigningKey::from_pkcs8_der(&der)
        .map_err(|_| CliError::Other("the state file's device key is not a P-256 key".into()))
}

pub(super) fn sign(k: &SigningKey, message: &str) -> String {
    let sig: DerSignature = k.sign(message.as_bytes());
    URL_SAFE_NO_PAD.encode(sig.as_bytes())
}
