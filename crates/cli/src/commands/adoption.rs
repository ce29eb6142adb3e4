//! `portcullis adoption`: the adoption report (R53) — the daily series, the breakdown, or
//! everything — as the admin center exports it.

use clap::{Args as ClapArgs, ValueEnum};
use portcullis_service::render::adoption as render;
use time::Date;

use super::{open, CliError, CmdResult};
use crate::config::Config;

/// What to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The daily series as CSV.
    Csv,
    /// The breakdown (by group, platform, model, attestation, sync) as CSV.
    BreakdownCsv,
    /// Everything as one JSON document.
    Json,
}

/// `portcullis adoption`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// First day (YYYY-MM-DD, UTC); the tenant's creation when not given.
    #[arg(long)]
    from: Option<String>,
    /// Last day (YYYY-MM-DD, UTC); today when not given.
    #[arg(long)]
    to: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,
}

fn day(flag: &str, s: Option<&str>) -> Result<Option<Date>, CliError> {
    s.map(|s| {
        Date::parse(
            s.trim(),
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .map_err(|_| CliError::Usage(format!("--{flag}: '{s}' is not a date (YYYY-MM-DD)")))
    })
    .transpose()
}

/// Prints the report.
pub async fn run(cfg: &Config, a: Args) -> CmdResult {
    let (from, to) = (day("from", a.from.as_deref())?, day("to", a.to.as_deref())?);
    let svc = open(cfg).await?;
    let r = svc.adoption(from, to).await?;
    match a.format {
        Format::Csv => print!("{}", render::daily_csv(&r)),
        Format::BreakdownCsv => print!("{}", render::breakdown_csv(&r)),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&render::json(&r))
                .map_err(|e| CliError::Other(e.to_string()))?
        ),
    }
    Ok(())
}
