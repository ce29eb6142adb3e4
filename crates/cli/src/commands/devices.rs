//! `portcullis devices …`: enroll devices and mark them compliant (the MDM's role).

use clap::Subcommand;
use portcullis_domain::time_fmt::rfc3339;
use uuid::Uuid;

use super::{open, operator, print_json, CliError, CmdResult};
use crate::config::Config;
use portcullis_domain::device::{PropertiesPatch, RawPropertiesPatch};
use portcullis_service::devices::DevicePatch;

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Enroll a device for a user with its P-256 public key (PEM file).
    Add {
        /// The owner (id or UPN).
        #[arg(long)]
        user: String,
        /// Name.
        #[arg(long)]
        name: String,
        /// android, iOS, windows, macOS or linux.
        #[arg(long)]
        platform: String,
        /// The device key's public half, PEM.
        #[arg(long)]
        public_key: std::path::PathBuf,
    },
    /// Mark a device compliant (or not, with --no).
    Compliant {
        /// Device id.
        id: Uuid,
        /// Mark it not compliant.
        #[arg(long)]
        no: bool,
    },
    /// Record what device filters read about a device (only the options given change).
    Set {
        /// Device id.
        id: Uuid,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// AzureAD (joined) or Workplace (registered).
        #[arg(long)]
        trust_type: Option<String>,
        /// Company or Personal.
        #[arg(long)]
        ownership: Option<String>,
        /// Maker.
        #[arg(long)]
        manufacturer: Option<String>,
        /// Model.
        #[arg(long)]
        model: Option<String>,
        /// Operating system version.
        #[arg(long)]
        os_version: Option<String>,
        /// `extensionAttributeN=value` (repeat; an empty value removes it).
        #[arg(long = "attribute")]
        attributes: Vec<String>,
    },
    /// Show a device as JSON.
    Show {
        /// Device id.
        id: Uuid,
    },
    /// Delete a device.
    Delete {
        /// Device id.
        id: Uuid,
    },
    /// List devices.
    List,
}

pub async fn run(cfg: &Config, cmd: Cmd) -> CmdResult {
    let svc = open(cfg).await?;
    match cmd {
        Cmd::Add {
            user,
            name,
            platform,
            public_key,
        } => {
            let pem = std::fs::read_to_string(&public_key)
                .map_err(|e| CliError::Other(format!("{}: {e}", public_key.display())))?;
            let d = svc
                .enroll_device(&operator(), &user, &name, &platform, &pem)
                .await?;
            println!("Device '{}' enrolled ({})", d.display_name, d.id);
        }
        Cmd::Compliant { id, no } => {
            let d = svc.set_device_compliance(&operator(), id, !no).await?;
            println!(
                "{} is {}compliant.",
                d.display_name,
                if d.is_compliant { "" } else { "not " }
            );
        }
        Cmd::Set {
            id,
            name,
            trust_type,
            ownership,
            manufacturer,
            model,
            os_version,
            attributes,
        } => {
            let mut properties = RawPropertiesPatch {
                trust_type: trust_type.map(Some),
                device_ownership: ownership.map(Some),
                manufacturer: manufacturer.map(Some),
                model: model.map(Some),
                operating_system_version: os_version.map(Some),
                ..Default::default()
            };
            for a in attributes {
                let (k, v) = a.split_once('=').ok_or_else(|| {
                    CliError::Other(format!(
                        "--attribute '{a}': write extensionAttributeN=value"
                    ))
                })?;
                properties
                    .extension_attributes
                    .push((k.to_string(), Some(v.to_string())));
            }
            let patch = DevicePatch {
                display_name: name,
                is_compliant: None,
                properties: PropertiesPatch::parse(properties)
                    .map_err(|e| CliError::Other(e.to_string()))?,
            };
            let d = svc.update_device(&operator(), id, patch).await?;
            println!("{} updated.", d.display_name);
        }
        Cmd::Show { id } => return print_json(&svc.device(id).await?),
        Cmd::Delete { id } => {
            svc.delete_device(&operator(), id).await?;
            println!("Device {id} deleted.");
        }
        Cmd::List => {
            for d in svc.devices().await? {
                println!(
                    "{}  {:<24} {:<8} owner {}  {}  enrolled {}",
                    d.id,
                    d.display_name,
                    d.platform.as_str(),
                    d.owner,
                    if d.is_compliant {
                        "compliant"
                    } else {
                        "not compliant"
                    },
                    rfc3339(d.created_at)
                );
            }
        }
    }
    Ok(())
}
