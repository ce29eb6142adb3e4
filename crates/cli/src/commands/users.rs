//! `portcullis users …`

use clap::Subcommand;
use serde_json::json;

use super::{open, operator, print_json, CmdResult};
use crate::config::Config;

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Add a user.
    Add {
        /// userPrincipalName (name@domain).
        #[arg(long)]
        upn: String,
        /// Display name [default: the part before the @].
        #[arg(long)]
        display_name: Option<String>,
    },
    /// List users.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one user (by id or userPrincipalName) with groups and roles.
    Show {
        /// Object id or userPrincipalName.
        user: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Disable an account; its sessions end at once.
    Disable {
        /// Object id or userPrincipalName.
        user: String,
    },
    /// Enable a disabled account.
    Enable {
        /// Object id or userPrincipalName.
        user: String,
    },
}

pub async fn run(cfg: &Config, cmd: Cmd) -> CmdResult {
    let svc = open(cfg).await?;
    match cmd {
        Cmd::Add { upn, display_name } => {
            let name =
                display_name.unwrap_or_else(|| upn.split('@').next().unwrap_or(&upn).to_string());
            let u = svc.add_user(&operator(), &upn, &name).await?;
            println!(
                "Added {} ({}), id {}",
                u.user_principal_name, u.display_name, u.id
            );
        }
        Cmd::List { json } => {
            let users = svc.list_users().await?;
            if json {
                return print_json(&users);
            }
            println!(
                "{:<40} {:<28} {:<8} ID",
                "USERPRINCIPALNAME", "DISPLAY NAME", "ENABLED"
            );
            for u in users {
                println!(
                    "{:<40} {:<28} {:<8} {}",
                    u.user_principal_name,
                    u.display_name,
                    if u.account_enabled { "yes" } else { "no" },
                    u.id
                );
            }
        }
        Cmd::Show { user, json } => {
            let (u, groups, roles) = svc.user_details(&user).await?;
            if json {
                return print_json(&json!({"user": u, "memberOf": groups, "roles": roles}));
            }
            println!("userPrincipalName  {}", u.user_principal_name);
            println!("displayName        {}", u.display_name);
            println!("id                 {}", u.id);
            println!("accountEnabled     {}", u.account_enabled);
            println!(
                "created            {}",
                portcullis_domain::time_fmt::rfc3339(u.created_date_time)
            );
            println!(
                "groups             {}",
                groups
                    .iter()
                    .map(|g| g.display_name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            println!(
                "roles              {}",
                roles
                    .iter()
                    .map(|r| r.display_name())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        Cmd::Disable { user } => {
            let u = svc.set_user_enabled(&operator(), &user, false).await?;
            println!(
                "Disabled {}; their sessions were ended.",
                u.user_principal_name
            );
        }
        Cmd::Enable { user } => {
            let u = svc.set_user_enabled(&operator(), &user, true).await?;
            println!("Enabled {}.", u.user_principal_name);
        }
    }
    Ok(())
}
