//! `portcullis apps …`: applications, their client secrets and granted permissions.

use clap::Subcommand;

use super::{open, operator, CmdResult};
use crate::config::Config;

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Register an application; a confidential one's client secret is printed once.
    Add {
        /// Display name.
        #[arg(long)]
        name: String,
        /// A public client (no secret), e.g. a mobile or desktop app.
        #[arg(long)]
        public: bool,
    },
    /// List applications with their granted permissions.
    List,
    /// Grant an application permission (an app role in its tokens), e.g. Policy.Read.All.
    Grant {
        /// Client id.
        #[arg(long)]
        app: String,
        /// Permission name.
        #[arg(long)]
        permission: String,
    },
}

pub async fn run(cfg: &Config, cmd: Cmd) -> CmdResult {
    let svc = open(cfg).await?;
    match cmd {
        Cmd::Add { name, public } => {
            let (app, secret) = svc.add_application(&operator(), &name, public).await?;
            println!("Application '{}' registered, client id {}", app.display_name, app.app_id);
            if let Some(s) = secret {
                println!("Client secret: {s}");
                println!("  The secret is shown only now; only its hash is stored.");
            }
        }
        Cmd::List => {
            for (a, perms) in svc.applications().await? {
                let kind = if a.first_party { "first-party" } else if a.public_client { "public" } else { "confidential" };
                println!("{}  {:<28} {:<12} {}", a.app_id, a.display_name, kind, perms.join(" "));
            }
        }
        Cmd::Grant { app, permission } => {
            if svc.grant_app_permission(&operator(), &app, &permission).await? {
                println!("Granted {permission} to {app}.");
            } else {
                println!("{app} already has {permission}; nothing changed.");
            }
        }
    }
    Ok(())
}
