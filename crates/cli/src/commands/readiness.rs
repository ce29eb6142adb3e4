//! `portcullis readiness`: every user, as every persona, against the configuration (R50).
//! Exit status 1 when a finding is a blocker, so a pipeline can gate on it; 2 on usage errors.

use clap::{Args as ClapArgs, ValueEnum};
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
}

/// Runs the analysis and prints it.
pub async fn run(cfg: &Config, a: Args) -> CmdResult {
    let svc = open(cfg).await?;
    let r = svc.readiness(&a.users).await?;
    match a.format {
        Format::Text => print!("{}", report::text(&r)),
        Format::Csv => print!("{}", report::csv(&r)),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report::json(&r))
                .map_err(|e| CliError::Other(e.to_string()))?
        ),
    }
    if report::has_blocker(&r.findings) {
        return Err(CliError::Other(
            "readiness: there are blocker findings (exit status 1)".into(),
        ));
    }
    Ok(())
}
