//! `portcullis policy …`: read and change method configurations as Graph JSON.

use clap::Subcommand;
use portcullis_domain::policy::MethodId;
use std::io::Read;
use std::path::PathBuf;

use super::{open, operator, print_json, CliError, CmdResult};
use crate::config::Config;

/// Largest policy document accepted (Graph limits the whole policy to about 20 KB).
const MAX_DOC: u64 = 64 * 1024;

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Print a method configuration (Fido2 or TemporaryAccessPass).
    Show {
        /// Configuration id, any casing.
        method: String,
    },
    /// Change a method configuration with a Graph PATCH body (absent properties keep their values).
    Patch {
        /// Configuration id, any casing.
        method: String,
        /// JSON file with the body, or - for standard input.
        file: PathBuf,
        /// Confirm saving key restrictions that are an enforced allow list with no AAGUID
        /// on it, which refuses every passkey (R5).
        #[arg(long)]
        accept_empty_allow_list: bool,
    },
    /// The Authenticator shortcut (R6): allow passkeys in Microsoft Authenticator, or stop.
    AuthenticatorShortcut {
        /// `on` or `off`.
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
    /// Reset a method configuration to Graph's defaults.
    Reset {
        /// Configuration id, any casing.
        method: String,
    },
}

fn method(s: &str) -> Result<MethodId, CliError> {
    MethodId::parse(s).ok_or_else(|| {
        CliError::Other(format!(
            "unknown method configuration '{s}'; use Fido2 or TemporaryAccessPass"
        ))
    })
}

fn read_doc(file: &PathBuf) -> Result<serde_json::Value, CliError> {
    let mut text = String::new();
    let read = if file.as_os_str() == "-" {
        std::io::stdin().take(MAX_DOC + 1).read_to_string(&mut text)
    } else {
        std::fs::File::open(file).and_then(|f| f.take(MAX_DOC + 1).read_to_string(&mut text))
    };
    read.map_err(|e| CliError::Other(format!("cannot read {}: {e}", file.display())))?;
    if text.len() as u64 > MAX_DOC {
        return Err(CliError::Other(format!(
            "{} is larger than {MAX_DOC} bytes",
            file.display()
        )));
    }
    serde_json::from_str(&text)
        .map_err(|e| CliError::Other(format!("{} is not valid JSON: {e}", file.display())))
}

pub async fn run(cfg: &Config, cmd: Cmd) -> CmdResult {
    match cmd {
        Cmd::Show { method: m } => {
            let id = method(&m)?;
            print_json(&open(cfg).await?.method_configuration(id).await?.to_json())
        }
        Cmd::Patch {
            method: m,
            file,
            accept_empty_allow_list,
        } => {
            let id = method(&m)?;
            let body = read_doc(&file)?;
            let saved = open(cfg)
                .await?
                .patch_method_configuration(&operator(), id, body, accept_empty_allow_list)
                .await?;
            for w in &saved.warnings {
                eprintln!("warning: {w}");
            }
            print_json(&saved.config.to_json())
        }
        Cmd::AuthenticatorShortcut { state } => {
            let svc = open(cfg).await?;
            let portcullis_domain::policy::MethodConfiguration::Fido2(current) =
                svc.method_configuration(MethodId::Fido2).await?
            else {
                return Err(CliError::Other("the Fido2 configuration is missing".into()));
            };
            let next = portcullis_domain::policy::MethodConfiguration::Fido2(
                current.with_authenticator_shortcut(state == "on"),
            );
            // Switching the shortcut off never leaves an enforced empty allow list (R6), and
            // switching it on always adds both AAGUIDs: nothing here needs confirming.
            let saved = svc
                .save_method_configuration(&operator(), next, false)
                .await?;
            for w in &saved.warnings {
                eprintln!("warning: {w}");
            }
            print_json(&saved.config.to_json())
        }
        Cmd::Reset { method: m } => {
            let id = method(&m)?;
            let saved = open(cfg)
                .await?
                .reset_method_configuration(&operator(), id)
                .await?;
            for w in &saved.warnings {
                eprintln!("warning: {w}");
            }
            print_json(&saved.config.to_json())
        }
    }
}
