//! `portcullis ca …` (Conditional Access policies, named locations, custom strengths) and
//! `portcullis whatif`.

use clap::{Args as ClapArgs, Subcommand};
use portcullis_domain::conditional_access::platform::{ClientAppType, Platform};
use portcullis_domain::conditional_access::Policy;
use portcullis_domain::device::{DeviceFacts, DeviceProperty, FILTER_PROPERTIES};
use portcullis_domain::strength::UsedMethod;
use portcullis_service::conditional_access::WhatIf;
use portcullis_service::render::{applied_policies_json, verdict_json};
use serde_json::json;
use uuid::Uuid;

use super::{open, operator, print_json, CliError, CmdResult};
use crate::config::Config;

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Create or replace a policy from a Graph-shaped JSON file (conditionalAccessPolicy).
    Save {
        /// The JSON file.
        file: std::path::PathBuf,
        /// Save even if it would block every Global Administrator (R45).
        #[arg(long)]
        accept_lockout: bool,
    },
    /// List policies as JSON.
    List,
    /// Delete a policy.
    Delete {
        /// Policy id.
        id: String,
    },
    /// Add a named IP location.
    Location {
        /// Name.
        #[arg(long)]
        name: String,
        /// CIDR range (repeat for several).
        #[arg(long = "cidr", required = true)]
        cidrs: Vec<String>,
        /// Mark it trusted.
        #[arg(long)]
        trusted: bool,
    },
    /// Add a custom authentication strength.
    Strength {
        /// Name.
        #[arg(long)]
        name: String,
        /// Allowed combination, e.g. fido2 or temporaryAccessPassOneTime (repeat).
        #[arg(long = "combination", required = true)]
        combinations: Vec<String>,
        /// Allowed passkey AAGUID for fido2 (repeat).
        #[arg(long = "aaguid")]
        aaguids: Vec<Uuid>,
        /// Description.
        #[arg(long, default_value = "")]
        description: String,
    },
}

/// `portcullis whatif`.
#[derive(ClapArgs, Debug)]
pub struct WhatIfArgs {
    /// User id or UPN.
    #[arg(long)]
    user: String,
    /// Application client id.
    #[arg(long, conflicts_with = "action")]
    app: Option<String>,
    /// A user action: registersecurityinfo.
    #[arg(long)]
    action: Option<String>,
    /// Device platform: android, iOS, windows, macOS, linux.
    #[arg(long)]
    platform: Option<String>,
    /// Source IP address.
    #[arg(long)]
    ip: Option<std::net::IpAddr>,
    /// The device is compliant.
    #[arg(long)]
    device_compliant: bool,
    /// A device property for device filters, `name=value` (e.g. `trustType=AzureAD`,
    /// `extensionAttribute1=SAW`; repeat). Any of these, or --device-compliant, describes a
    /// known device; without them the sign-in is from an unknown device.
    #[arg(long = "device")]
    device: Vec<String>,
    /// A native client instead of a browser.
    #[arg(long)]
    native: bool,
    /// A method used: `passkey[:AAGUID[:attested]]` or `tap` (repeat). An AAGUID is
    /// self-reported unless `:attested` says its attestation signed it (R32).
    #[arg(long = "method")]
    methods: Vec<String>,
}

pub async fn run(cfg: &Config, cmd: Cmd) -> CmdResult {
    let svc = open(cfg).await?;
    match cmd {
        Cmd::Save {
            file,
            accept_lockout,
        } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| CliError::Other(format!("{}: {e}", file.display())))?;
            let p: Policy = serde_json::from_str(&text).map_err(|e| {
                CliError::Other(format!(
                    "{}: not a conditionalAccessPolicy: {e}",
                    file.display()
                ))
            })?;
            let saved = svc.save_ca_policy(&operator(), p, accept_lockout).await?;
            println!("Saved policy '{}' ({})", saved.display_name, saved.id);
        }
        Cmd::List => {
            let data = svc.ca_data().await?;
            for (p, why) in data.set.unreadable() {
                eprintln!(
                    "warning: policy '{}' ({}) no longer parses and blocks everyone it could concern: {why}",
                    p.display_name, p.id
                );
            }
            return print_json(&data.policies());
        }
        Cmd::Delete { id } => {
            svc.delete_ca_policy(&operator(), &id).await?;
            println!("Deleted {id}.");
        }
        Cmd::Location {
            name,
            cidrs,
            trusted,
        } => {
            let l = svc
                .add_named_location(&operator(), &name, &cidrs, trusted)
                .await?;
            println!("Named location '{}' ({})", l.display_name, l.id);
        }
        Cmd::Strength {
            name,
            combinations,
            aaguids,
            description,
        } => {
            let s = svc
                .add_strength(
                    &operator(),
                    &name,
                    &description,
                    &combinations,
                    (!aaguids.is_empty()).then_some(aaguids),
                )
                .await?;
            println!("Authentication strength '{}' ({})", s.display_name, s.id);
            for w in svc.strength_warnings(&s).await? {
                eprintln!("warning: {w}");
            }
        }
    }
    Ok(())
}

fn method(m: &str) -> Result<UsedMethod, CliError> {
    let aaguid = |a: &str| {
        Uuid::parse_str(a).map_err(|_| CliError::Other(format!("'{a}' is not an AAGUID")))
    };
    match m.split(':').collect::<Vec<_>>().as_slice() {
        ["tap"] => Ok(UsedMethod::TAP),
        ["passkey"] => Ok(UsedMethod::passkey(None, false)),
        // R32: a described AAGUID is self-reported unless it says it was attested.
        ["passkey", a] => Ok(UsedMethod::passkey(Some(aaguid(a)?), false)),
        ["passkey", a, "attested"] => Ok(UsedMethod::passkey(Some(aaguid(a)?), true)),
        _ => Err(CliError::Other(format!(
            "--method '{m}': use passkey, passkey:AAGUID, passkey:AAGUID:attested or tap"
        ))),
    }
}

/// Prints the applicable policies, their results and reasons, and the outcome (R43).
pub async fn what_if(cfg: &Config, a: WhatIfArgs) -> CmdResult {
    let svc = open(cfg).await?;
    if let Some(act) = a
        .action
        .as_deref()
        .filter(|x| !x.eq_ignore_ascii_case("registersecurityinfo"))
    {
        return Err(CliError::Other(format!(
            "--action '{act}': only registersecurityinfo"
        )));
    }
    if a.app.is_none() && a.action.is_none() {
        return Err(CliError::Other(
            "give --app CLIENT_ID or --action registersecurityinfo".into(),
        ));
    }
    let platform = match &a.platform {
        Some(p) => Some(Platform::parse(p).ok_or_else(|| {
            CliError::Other(format!(
                "--platform '{p}': android, iOS, windows, macOS or linux"
            ))
        })?),
        None => None,
    };
    let q = WhatIf {
        user: a.user,
        application: a.app,
        platform,
        ip: a.ip,
        client_app_type: if a.native {
            ClientAppType::MobileAppsAndDesktopClients
        } else {
            ClientAppType::Browser
        },
        device: device_facts(a.device_compliant, &a.device)?,
        methods: a
            .methods
            .iter()
            .map(|m| method(m))
            .collect::<Result<_, _>>()?,
    };
    let (e, v, data) = svc.what_if(&q).await?;
    let outcome = verdict_json(&v);
    print_json(&json!({"policies": applied_policies_json(&e, data.policies()), "outcome": outcome}))
}

/// The device What If describes, from `--device-compliant` and `--device name=value`.
fn device_facts(compliant: bool, props: &[String]) -> Result<Option<DeviceFacts>, CliError> {
    if !compliant && props.is_empty() {
        return Ok(None);
    }
    let mut facts = DeviceFacts {
        is_compliant: compliant,
        ..Default::default()
    };
    for p in props {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| CliError::Other(format!("--device '{p}': write name=value")))?;
        match DeviceProperty::parse(k) {
            Some(DeviceProperty::IsCompliant) | None => {
                return Err(CliError::Other(format!(
                    "--device '{k}': one of {} (compliance is --device-compliant)",
                    FILTER_PROPERTIES.join(", ")
                )))
            }
            Some(property) => facts.values.insert(property, v.to_string()),
        };
    }
    Ok(Some(facts))
}
