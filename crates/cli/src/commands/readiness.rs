//! `portcullis readiness`: every user, as every persona, against the configuration (R50) or
//! a proposed one (R51). Exit status 1 when a finding is a blocker — with a proposal, when the
//! proposal adds one — so a pipeline can gate on it; 2 on usage errors.

use clap::{Args as ClapArgs, ValueEnum};
use portcullis_service::readiness::Proposal;
use portcullis_service::render::readiness as report;

use super::{open, CliError, CmdResult};
use crate::config::Config;

/// How the report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A readable report.
    Text,
    /// One JSON document.
    Json,
    /// One row per user finding.
    Csv,
}

/// `portcullis readiness`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Only these users (userPrincipalName or id); all users when none is given.
    #[arg(long = "user", value_name = "UPN")]
    users: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// A proposed change (R51): one Graph JSON document — a conditionalAccessPolicy (with an
    /// id it replaces that policy, without one it is added), a
    /// fido2AuthenticationMethodConfiguration or a
    /// temporaryAccessPassAuthenticationMethodConfiguration.
    #[arg(long = "proposed", value_name = "FILE")]
    proposed: Vec<std::path::PathBuf>,
    /// A Conditional Access policy the proposal deletes.
    #[arg(long = "proposed-delete-policy", value_name = "ID")]
    delete_policies: Vec<String>,
}

/// Runs the analysis and prints it.
pub async fn run(cfg: &Config, a: Args) -> CmdResult {
    let mut proposal = Proposal::default();
    for path in &a.proposed {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::Usage(format!("--proposed {}: {e}", path.display())))?;
        let doc = serde_json::from_str(&text).map_err(|e| {
            CliError::Usage(format!("--proposed {}: not JSON: {e}", path.display()))
        })?;
        proposal
            .add(doc)
            .map_err(|e| CliError::Usage(format!("--proposed {}: {e}", path.display())))?;
    }
    for id in &a.delete_policies {
        proposal.delete_policy(id);
    }
    let svc = open(cfg).await?;
    let r = svc
        .readiness(&a.users, Some(&proposal))
        .await
        .map_err(|e| match e {
            // An unknown user or policy, or a proposal that does not hold (an unknown
            // strength, a group that is not a security group), is asked wrongly.
            portcullis_service::ServiceError::NotFound(_) => CliError::Usage(e.to_string()),
            portcullis_service::ServiceError::Invalid(_)
            | portcullis_service::ServiceError::CaPolicy(_)
            | portcullis_service::ServiceError::Policy(_)
                if !proposal.is_empty() =>
            {
                CliError::Usage(e.to_string())
            }
            e => e.into(),
        })?;
    match a.format {
        Format::Text => print!("{}", report::text(&r)),
        Format::Csv => print!("{}", report::csv(&r)),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report::json(&r))
                .map_err(|e| CliError::Other(e.to_string()))?
        ),
    }
    if report::gates(&r) {
        return Err(CliError::Other(match r.delta {
            Some(_) => "readiness: the proposal adds blocker findings (exit status 1)".into(),
            None => "readiness: there are blocker findings (exit status 1)".into(),
        }));
    }
    Ok(())
}
