//! `portcullis groups …`

use clap::Subcommand;

use super::{open, operator, print_json, CmdResult};
use crate::config::Config;

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Add a group (a security group unless --non-security).
    Add {
        /// Display name (unique).
        name: String,
        /// Create a non-security group (it cannot be a policy target).
        #[arg(long)]
        non_security: bool,
    },
    /// List groups.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Group membership.
    #[command(subcommand)]
    Members(MembersCmd),
}

#[derive(Subcommand, Debug)]
pub enum MembersCmd {
    /// Add a user to a group.
    Add {
        /// Group id or name.
        #[arg(long)]
        group: String,
        /// User id or userPrincipalName.
        #[arg(long)]
        user: String,
    },
    /// List a group's members.
    List {
        /// Group id or name.
        #[arg(long)]
        group: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cfg: &Config, cmd: Cmd) -> CmdResult {
    let svc = open(cfg).await?;
    match cmd {
        Cmd::Add { name, non_security } => {
            let g = svc.add_group(&operator(), &name, !non_security).await?;
            println!(
                "Added {} group '{}', id {}",
                if g.security_enabled {
                    "security"
                } else {
                    "non-security"
                },
                g.display_name,
                g.id
            );
        }
        Cmd::List { json } => {
            let groups = svc.list_groups().await?;
            if json {
                return print_json(&groups);
            }
            println!("{:<32} {:<9} ID", "NAME", "SECURITY");
            for g in groups {
                println!(
                    "{:<32} {:<9} {}",
                    g.display_name,
                    if g.security_enabled { "yes" } else { "no" },
                    g.id
                );
            }
        }
        Cmd::Members(MembersCmd::Add { group, user }) => {
            if svc.add_member(&operator(), &group, &user).await? {
                println!("Added {user} to {group}.");
            } else {
                println!("{user} is already a member of {group}; nothing changed.");
            }
        }
        Cmd::Members(MembersCmd::List { group, json }) => {
            let (g, members) = svc.group_members(&group).await?;
            if json {
                return print_json(&members);
            }
            println!("Members of '{}' ({}):", g.display_name, members.len());
            for u in members {
                println!("  {}  {}", u.user_principal_name, u.display_name);
            }
        }
    }
    Ok(())
}
