//! `portcullis passkeys …`: a user's passkeys, usable or why not, and removing one.

use clap::Subcommand;
use portcullis_domain::time_fmt::rfc3339;
use portcullis_service::render::passkey_refusal;
use serde_json::json;

use super::{open, operator, print_json, CliError, CmdResult};
use crate::config::Config;

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// List a user's passkeys with model, AAGUID, dates and whether each can sign in.
    List {
        /// User id or userPrincipalName.
        #[arg(long)]
        user: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Disable a passkey (R26): kept, and refused at sign-in until enabled again.
    Disable {
        /// User id or userPrincipalName.
        #[arg(long)]
        user: String,
        /// Passkey (method) id.
        #[arg(long)]
        id: String,
    },
    /// Enable a disabled passkey again (R26).
    Enable {
        /// User id or userPrincipalName.
        #[arg(long)]
        user: String,
        /// Passkey (method) id.
        #[arg(long)]
        id: String,
    },
    /// Remove a passkey from the server (the user must also remove it from the device).
    Delete {
        /// User id or userPrincipalName.
        #[arg(long)]
        user: String,
        /// Passkey (method) id.
        #[arg(long)]
        id: String,
    },
}

pub async fn run(cfg: &Config, cmd: Cmd) -> CmdResult {
    let svc = open(cfg).await?;
    let fail = |e: portcullis_service::passkeys::PasskeyError| CliError::Other(e.to_string());
    let cmd_kind = match &cmd {
        Cmd::Disable { .. } => Kind::Disable,
        _ => Kind::Other,
    };
    match cmd {
        Cmd::List {
            user,
            json: as_json,
        } => {
            let (u, views) = svc
                .passkeys_for_admin(&operator(), &user)
                .await
                .map_err(fail)?;
            if as_json {
                let rows: Vec<_> = views
                    .iter()
                    .map(|v| {
                        let p = &v.stored.passkey;
                        json!({"id": p.id, "displayName": p.display_name, "aaGuid": p.aaguid, "aaGuidAttested": p.attested, "model": v.model, "createdDateTime": rfc3339(p.created_at),
                               "lastUsedDateTime": p.last_used_at.map(rfc3339), "device": p.device, "deviceProfile": p.device_profile,
                               "client": v.stored.client,
                               "usable": v.usable.is_ok(), "reason": v.usable.as_ref().err().map(passkey_refusal), "flaggedClone": p.flagged_clone})
                    })
                    .collect();
                return print_json(&rows);
            }
            println!("Passkeys of {} ({}):", u.user_principal_name, views.len());
            for v in views {
                let p = &v.stored.passkey;
                let state = match &v.usable {
                    Ok(()) => "usable".to_string(),
                    Err(r) => format!("NOT usable: {}", passkey_refusal(r)),
                };
                println!(
                    "  {}  {:<24} {} {} ({})  {}",
                    p.id,
                    p.display_name,
                    p.aaguid,
                    if p.attested {
                        "attested"
                    } else {
                        "self-reported"
                    },
                    v.model.as_deref().unwrap_or("unknown model"),
                    state
                );
            }
        }
        Cmd::Disable { user, id } | Cmd::Enable { user, id } => {
            let disable = matches!(cmd_kind, Kind::Disable);
            let id = uuid::Uuid::parse_str(&id)
                .map_err(|_| CliError::Usage(format!("'{id}' is not a passkey id")))?;
            let changed = svc
                .set_passkey_disabled(&operator(), &user, id, disable)
                .await
                .map_err(fail)?;
            let state = if disable { "disabled" } else { "enabled" };
            if changed {
                println!("Passkey {id} of {user} is {state}.");
            } else {
                println!("Passkey {id} of {user} already was {state}: nothing changed.");
            }
        }
        Cmd::Delete { user, id } => {
            let id = uuid::Uuid::parse_str(&id)
                .map_err(|_| CliError::Other(format!("'{id}' is not a passkey id")))?;
            svc.admin_delete_passkey(&operator(), &user, id)
                .await
                .map_err(fail)?;
            println!("Removed passkey {id} of {user} from the server. Ask them to remove it from their device too.");
        }
    }
    Ok(())
}

enum Kind {
    Disable,
    Other,
}
