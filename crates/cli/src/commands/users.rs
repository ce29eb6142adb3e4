//! `portcullis users …`

use clap::Subcommand;
use serde_json::json;

use super::{open, operator, print_json, CliError, CmdResult};
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
    /// Add many users at once from a JSON Lines file, one object per line with
    /// `userPrincipalName` and optionally `displayName`: all of them or, when one is refused,
    /// none (the error names its line).
    Import {
        /// The JSON Lines file.
        file: std::path::PathBuf,
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
    /// Set a user's password (an administrator's reset), read from the first line of
    /// standard input so that it stays out of the shell history and the process list.
    SetPassword {
        /// Object id or userPrincipalName.
        user: String,
        /// Require a new password at the user's next sign-in.
        #[arg(long)]
        must_change: bool,
    },
}

pub async fn run(cfg: &Config, cmd: Cmd) -> CmdResult {
    let svc = open(cfg).await?;
    match cmd {
        Cmd::SetPassword { user, must_change } => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| CliError::Other(format!("reading the password: {e}")))?;
            let password = line.trim_end_matches(['\r', '\n']);
            let u = svc
                .set_password(&operator(), &user, password, must_change)
                .await
                .map_err(|e| match e {
                    portcullis_service::password::SetPasswordError::Failed(e) => e.into(),
                    e => CliError::Usage(format!("password refused: {e}")),
                })?;
            println!("Password set for {}", u.user_principal_name);
        }
        Cmd::Add { upn, display_name } => {
            let name =
                display_name.unwrap_or_else(|| upn.split('@').next().unwrap_or(&upn).to_string());
            let u = svc.add_user(&operator(), &upn, &name).await?;
            println!(
                "Added {} ({}), id {}",
                u.user_principal_name, u.display_name, u.id
            );
        }
        Cmd::Import { file } => {
            let users = import_lines(&file)?;
            let added = svc.add_users(&operator(), &users).await?;
            println!("Added {} users", added.len());
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

/// One entry of an import file.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ImportEntry {
    user_principal_name: String,
    #[serde(default)]
    display_name: Option<String>,
}

/// The (userPrincipalName, display name) of each non-empty line of `file`.
fn import_lines(file: &std::path::Path) -> Result<Vec<(String, String)>, CliError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| CliError::Usage(format!("{}: {e}", file.display())))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let e: ImportEntry = serde_json::from_str(l)
                .map_err(|e| CliError::Usage(format!("{} line {}: {e}", file.display(), i + 1)))?;
            let name = e.display_name.unwrap_or_else(|| {
                e.user_principal_name
                    .split('@')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            });
            Ok((e.user_principal_name, name))
        })
        .collect()
}
