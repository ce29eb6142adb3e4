//! `portcullis tap …`

use clap::Subcommand;
use portcullis_domain::tap::IssueRequest;
use portcullis_domain::time_fmt::{parse_rfc3339, rfc3339};

use super::{open, operator, CliError, CmdResult};
use crate::config::Config;

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Create a pass for a user (replacing theirs); the code is printed once.
    Create {
        /// User id or userPrincipalName.
        #[arg(long)]
        user: String,
        /// Lifetime in minutes [default: the policy's default].
        #[arg(long, value_name = "N")]
        lifetime_minutes: Option<i64>,
        /// One-time pass (consumed by its first sign-in).
        #[arg(long, conflicts_with = "multi_use")]
        once: bool,
        /// Multi-use pass (refused when the policy requires one-time passes).
        #[arg(long)]
        multi_use: bool,
        /// When the pass becomes usable (RFC 3339) [default: now].
        #[arg(long, value_name = "TIME")]
        start: Option<String>,
    },
    /// Show a user's pass (never the code).
    Show {
        /// User id or userPrincipalName.
        #[arg(long)]
        user: String,
    },
    /// Delete a user's pass.
    Delete {
        /// User id or userPrincipalName.
        #[arg(long)]
        user: String,
    },
}

pub async fn run(cfg: &Config, cmd: Cmd) -> CmdResult {
    let svc = open(cfg).await?;
    match cmd {
        Cmd::Create {
            user,
            lifetime_minutes,
            once,
            multi_use,
            start,
        } => {
            let start_at = start
                .map(|s| parse_rfc3339(&s))
                .transpose()
                .map_err(|e| CliError::Other(format!("--start: {e}")))?;
            let is_usable_once = if once {
                Some(true)
            } else if multi_use {
                Some(false)
            } else {
                None
            };
            let p = svc
                .create_tap(
                    &operator(),
                    &user,
                    IssueRequest {
                        start_at,
                        lifetime_minutes,
                        is_usable_once,
                    },
                )
                .await?;
            println!(
                "Temporary Access Pass for {}: {}",
                p.user.user_principal_name, p.code
            );
            println!(
                "  {} · usable from {} until {} ({} minutes)",
                if p.pass.is_usable_once {
                    "one-time"
                } else {
                    "multi-use"
                },
                rfc3339(p.pass.start_at),
                rfc3339(p.pass.expires_at()),
                p.pass.lifetime_minutes
            );
            println!("  The code is shown only now; only its hash is stored.");
        }
        Cmd::Show { user } => match svc.tap_for(&operator(), &user).await? {
            None => println!("{user} has no Temporary Access Pass."),
            Some(v) => {
                println!("id                 {}", v.pass.id);
                println!("created            {}", rfc3339(v.pass.created_at));
                println!("usable from        {}", rfc3339(v.pass.start_at));
                println!("expires            {}", rfc3339(v.pass.expires_at()));
                println!("one-time           {}", v.pass.is_usable_once);
                println!("usability          {:?}", v.usability);
            }
        },
        Cmd::Delete { user } => {
            svc.delete_tap(&operator(), &user).await?;
            println!("Deleted the Temporary Access Pass of {user}.");
        }
    }
    Ok(())
}
