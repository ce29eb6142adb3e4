//! `portcullis devices …`: enroll devices and mark them compliant (the MDM's role).

use clap::Subcommand;
use portcullis_domain::time_fmt::rfc3339;
use uuid::Uuid;

use super::{open, operator, CliError, CmdResult};
use crate::config::Config;

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
        Cmd::List => {
            for d in svc.devices().await? {
                println!(
                    "{}  {:<24} {:<8} owner {}  {}  enrolled {}",
                    d.id,
                    d.display_name,
                    d.platform,
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
