//! `portcullis roles …`

use clap::Subcommand;
use portcullis_domain::directory::DirectoryRole;

use super::{open, operator, CliError, CmdResult};
use crate::config::Config;

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Give a user a directory role.
    Assign {
        /// User id or userPrincipalName.
        #[arg(long)]
        user: String,
        /// Role name (e.g. "Authentication Administrator") or template id.
        #[arg(long)]
        role: String,
    },
    /// List the roles Portcullis knows, with their template ids.
    List,
}

pub async fn run(cfg: &Config, cmd: Cmd) -> CmdResult {
    match cmd {
        Cmd::List => {
            for r in DirectoryRole::ALL {
                println!("{:<42} {}", r.display_name(), r.template_id());
            }
        }
        Cmd::Assign { user, role } => {
            let r = DirectoryRole::parse(&role).ok_or_else(|| {
                CliError::Other(format!(
                    "unknown role '{role}'; known roles: {}",
                    DirectoryRole::ALL.map(|r| r.display_name()).join(", ")
                ))
            })?;
            let svc = open(cfg).await?;
            if svc.assign_role(&operator(), &user, r).await? {
                println!("{user} now holds {r}.");
            } else {
                println!("{user} already holds {r}; nothing changed.");
            }
        }
    }
    Ok(())
}
