//! `portcullis verify-registration`: explains offline why a registration response is
//! accepted or refused — the same checks as the server's registration, with user
//! verification reported (and required only with `--require-uv`).

use base64::Engine;
use portcullis_domain::metadata::{builtin_name, parse_import};
use portcullis_domain::passkey::{decide_registration, RegistrationFacts};
use portcullis_domain::policy::{MethodConfiguration, MethodId, TargetId};
use portcullis_domain::time_fmt::parse_rfc3339;
use portcullis_webauthn::{
    verify_trust, AttestationKind, RelyingParty, RootEntry, RootScope, TrustRoots, TrustVerdict,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;
use uuid::Uuid;

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The relying party id the response must be for.
    #[arg(long)]
    rp_id: String,
    /// The origin the response must come from (e.g. https://login.contoso.com).
    #[arg(long)]
    origin: String,
    /// The challenge that was issued, base64url.
    #[arg(long)]
    challenge: String,
    /// The response: the JSON of PublicKeyCredential.toJSON().
    #[arg(long)]
    response: PathBuf,
    /// A Fido2 method configuration in the Graph shape; without it attestation is not enforced.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Metadata: a FIDO metadata statement, an array of them, or an {aaguid: name} list.
    #[arg(long)]
    metadata: Option<PathBuf>,
    /// Verify certificates as of this time (RFC 3339) [default: now].
    #[arg(long)]
    at: Option<String>,
    /// Refuse a response without user verification.
    #[arg(long)]
    require_uv: bool,
}

fn usage(msg: String) -> ExitCode {
    eprintln!("portcullis verify-registration: {msg}");
    ExitCode::from(2)
}

fn read(path: &Path, what: &str) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{what} {}: {e}", path.display()))?;
    if meta.len() > 16 * 1024 * 1024 {
        return Err(format!("{what} {} is larger than 16 MiB", path.display()));
    }
    std::fs::read_to_string(path).map_err(|e| format!("{what} {}: {e}", path.display()))
}

/// One reason a registration was refused, and the check it failed.
#[derive(serde::Serialize)]
struct Reason {
    check: &'static str,
    code: String,
    message: String,
}

fn reason(check: &'static str, code: &str, message: impl Into<String>) -> Reason {
    Reason {
        check,
        code: code.into(),
        message: message.into(),
    }
}

/// What `verify-registration` prints.
#[derive(serde::Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct Report {
    accepted: bool,
    fmt: Option<String>,
    aaguid: Option<Uuid>,
    model: Option<String>,
    attestation: Option<AttestationKind>,
    trusted: bool,
    aaguid_attested: bool,
    uv: Option<bool>,
    reasons: Vec<Reason>,
}

fn check_of(code: &str) -> &'static str {
    match code {
        "originMismatch" => "origin",
        "rpIdMismatch" => "rpId",
        "challengeMismatch" => "challenge",
        "wrongCeremony" => "clientData",
        "userNotVerified" | "userNotPresent" => "userVerification",
        "attestationUntrusted" => "certificateChain",
        // The chain may be sound; what fails is the format's binding of the AAGUID.
        "aaguidNotAttestable" => "attestation",
        c if c.starts_with("malformed") => "format",
        "badSignature" | "attestationInvalid" => "signature",
        _ => "attestation",
    }
}

/// Runs the check and prints one JSON object. Exit 0 accepted, 1 refused, 2 usage error.
pub fn run(a: &Args) -> ExitCode {
    let origin = match url::Url::parse(&a.origin) {
        Ok(u) => u,
        Err(e) => return usage(format!("--origin '{}': {e}", a.origin)),
    };
    let challenge = match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(
        a.challenge
            .trim()
            .trim_end_matches('=')
            .replace('+', "-")
            .replace('/', "_"),
    ) {
        Ok(c) => c,
        Err(e) => return usage(format!("--challenge is not base64url: {e}")),
    };
    let at = match a.at.as_deref().map(parse_rfc3339).transpose() {
        Ok(t) => t.map(SystemTime::from).unwrap_or_else(SystemTime::now),
        Err(e) => return usage(format!("--at: {e}")),
    };
    let response: Value = match read(&a.response, "--response")
        .and_then(|t| serde_json::from_str(&t).map_err(|e| format!("--response is not JSON: {e}")))
    {
        Ok(v) => v,
        Err(e) => return usage(e),
    };
    let policy = match &a.policy {
        None => None,
        Some(p) => match read(p, "--policy")
            .and_then(|t| {
                serde_json::from_str::<Value>(&t).map_err(|e| format!("--policy is not JSON: {e}"))
            })
            .and_then(|v| {
                MethodConfiguration::from_json(MethodId::Fido2, v)
                    .map_err(|e| format!("--policy: {e}"))
            }) {
            Ok(MethodConfiguration::Fido2(c)) => Some(c),
            Ok(_) => return usage("--policy must be a Fido2 configuration".into()),
            Err(e) => return usage(e),
        },
    };
    let metadata = match &a.metadata {
        None => vec![],
        Some(p) => match read(p, "--metadata")
            .and_then(|t| parse_import(&t).map_err(|e| format!("--metadata: {e}")))
        {
            Ok(m) => m,
            Err(e) => return usage(e),
        },
    };

    let rp = RelyingParty::danger_with_origin(&a.rp_id, &origin, "verify-registration");
    let state = match rp.danger_state_for_foreign_challenge(&challenge) {
        Ok(s) => s,
        Err(e) => return usage(e.to_string()),
    };
    let mut out = Report::default();
    let mut reasons = vec![];
    match rp.finish_registration(&response, &state, at) {
        Err(e) => reasons.push(reason(check_of(e.code), e.code, e.message)),
        Ok(cred) => {
            let entry = metadata.iter().find(|m| m.aaguid == cred.aaguid);
            let model = entry
                .map(|m| m.name.clone())
                .or_else(|| builtin_name(cred.aaguid).map(str::to_string));
            let roots: Vec<Vec<u8>> = entry
                .map(|m| {
                    m.roots
                        .iter()
                        .filter_map(|r| {
                            base64::engine::general_purpose::STANDARD
                                .decode(r.split_whitespace().collect::<String>())
                                .ok()
                        })
                        .collect()
                })
                .unwrap_or_default();
            let any_model: Vec<Vec<u8>> = metadata
                .iter()
                .filter(|m| m.aaguid.is_nil())
                .flat_map(|m| {
                    m.roots.iter().filter_map(|r| {
                        base64::engine::general_purpose::STANDARD
                            .decode(r.split_whitespace().collect::<String>())
                            .ok()
                    })
                })
                .collect();
            let verdict = verify_trust(
                &cred,
                &TrustRoots::new(&[
                    RootEntry {
                        scope: RootScope::Model(cred.aaguid),
                        name: model.clone().unwrap_or_default(),
                        roots,
                    },
                    RootEntry {
                        scope: RootScope::AnyModel,
                        name: "roots trusted for every model".into(),
                        roots: any_model,
                    },
                ]),
                at,
            );
            let trusted = verdict.is_trusted();
            out.fmt = Some(cred.fmt.clone());
            out.aaguid = Some(cred.aaguid);
            out.model = model.clone();
            out.attestation = Some(cred.attestation);
            out.trusted = trusted;
            out.aaguid_attested = verdict.aaguid_attested();
            out.uv = Some(cred.user_verified);
            if a.require_uv && !cred.user_verified {
                reasons.push(reason("userVerification", "userNotVerified", "The authenticator did not verify the user (UV flag not set), and --require-uv was given."));
            }
            if let Some(cfg) = &policy {
                let member_of: Vec<Uuid> = cfg
                    .include_targets
                    .iter()
                    .filter_map(|t| match t.id {
                        TargetId::Group(g) => Some(g),
                        TargetId::AllUsers => None,
                    })
                    .collect();
                let facts = RegistrationFacts {
                    aaguid: cred.aaguid,
                    has_chain: cred.attestation.has_chain(),
                    trusted,
                    aaguid_attested: verdict.aaguid_attested(),
                    self_attested: cred.attestation == AttestationKind::SelfAttestation,
                    synced: cred.backup_eligible,
                };
                if let Err(r) = decide_registration(cfg, &member_of, &facts) {
                    let check = match r.code() {
                        "attestationUntrusted" | "aaguidNotAttested" => "certificateChain",
                        _ => "policy",
                    };
                    let detail = match &verdict {
                        TrustVerdict::Untrusted(why) if check == "certificateChain" => {
                            format!("{r} ({why})")
                        }
                        _ => r.to_string(),
                    };
                    reasons.push(reason(check, r.code(), detail));
                }
            }
        }
    }
    let accepted = reasons.is_empty();
    out.accepted = accepted;
    out.reasons = reasons;
    println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    if accepted {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
