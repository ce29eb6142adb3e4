//! `portcullis logs …`: the audit log and the sign-in log.

use clap::Subcommand;
use portcullis_domain::time_fmt::{parse_rfc3339, rfc3339};
use portcullis_store::{audit, signins};

use super::{open, print_json, CliError, CmdResult};
use crate::config::Config;

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Administrative changes, newest first.
    Audit {
        /// Only entries at or after this time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// Only this activity, e.g. "Add user".
        #[arg(long)]
        activity: Option<String>,
        /// At most this many entries.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        limit: i64,
        /// Print JSON (with before and after).
        #[arg(long)]
        json: bool,
    },
    /// Sign-in attempts, newest first.
    Signins {
        /// At most this many entries.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        limit: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cfg: &Config, cmd: Cmd) -> CmdResult {
    let svc = open(cfg).await?;
    let mut c = svc.store().conn().await?;
    match cmd {
        Cmd::Audit {
            since,
            activity,
            limit,
            json,
        } => {
            let since = since
                .map(|s| parse_rfc3339(&s))
                .transpose()
                .map_err(|e| CliError::Other(format!("--since: {e}")))?;
            let entries = audit::list(
                &mut c,
                &audit::AuditFilter {
                    since,
                    activity,
                    ..Default::default()
                },
                limit,
            )
            .await?;
            if json {
                return print_json(&entries);
            }
            for e in entries {
                println!(
                    "{}  {:<38} {:<28} {} — {}",
                    rfc3339(e.activity_date_time),
                    e.activity_display_name,
                    e.actor_name,
                    e.target_name,
                    e.result_reason
                );
            }
        }
        Cmd::Signins { limit, json } => {
            let events = signins::recent(&mut c, limit).await?;
            if json {
                return print_json(&events);
            }
            for e in events {
                let outcome = e.failure_reason.clone().unwrap_or_else(|| "success".into());
                println!(
                    "{}  {:<32} {:<16} {:<6} {}",
                    rfc3339(e.created_date_time),
                    e.user_principal_name,
                    e.ip_address,
                    e.error_code,
                    outcome
                );
            }
        }
    }
    Ok(())
}
