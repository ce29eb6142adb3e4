//! `portcullis inventory passkeys`: every passkey (R52) as JSON Lines or CSV, streamed a
//! chunk at a time to standard output or a file — with a progress bar when writing a file to
//! a terminal.

use std::io::{BufWriter, IsTerminal, Write};

use clap::{Args as ClapArgs, Subcommand, ValueEnum};
use portcullis_domain::actor::Actor;
use portcullis_domain::inventory::{Filter, RawFilter};
use portcullis_service::render::inventory as render;

use super::{open, CliError, CmdResult};
use crate::config::Config;

/// `portcullis inventory`.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Every passkey with its user, model, attestation, use, state and whether it can sign
    /// in (R52).
    Passkeys(PasskeysArgs),
    /// Disable every passkey the filters select (R26). Without `--confirm` it prints how many
    /// that is and changes nothing; with `--confirm N` it changes them only if that is still N.
    Disable(ChangeArgs),
    /// Enable every disabled passkey the filters select (R26), confirmed the same way.
    Enable(ChangeArgs),
}

/// `portcullis inventory disable|enable`.
#[derive(ClapArgs, Debug)]
pub struct ChangeArgs {
    #[command(flatten)]
    filters: Filters,
    /// The count printed by a run without it: the change happens only if it still holds.
    #[arg(long, value_name = "N")]
    confirm: Option<u64>,
}

/// The inventory's filters.
#[derive(ClapArgs, Debug)]
pub struct Filters {
    /// Only passkeys of this model (AAGUID).
    #[arg(long)]
    aaguid: Option<String>,
    /// Only models whose name contains this (any case).
    #[arg(long)]
    model: Option<String>,
    /// Only passkeys that can (true) or cannot (false) sign in now.
    #[arg(long)]
    usable: Option<String>,
    /// Only attested (true) or self-reported (false) AAGUIDs.
    #[arg(long)]
    attested: Option<String>,
    /// Only synced (true) or device-bound (false) passkeys.
    #[arg(long)]
    synced: Option<String>,
    /// Only passkeys not used since this date (YYYY-MM-DD) or time (RFC 3339).
    #[arg(long = "unused-since", value_name = "DATE")]
    unused_since: Option<String>,
    /// Only passkeys of members of this group (object id).
    #[arg(long)]
    group: Option<String>,
    /// Only enabled or disabled passkeys.
    #[arg(long)]
    state: Option<String>,
}

impl Filters {
    fn parse(self) -> Result<Filter, CliError> {
        let raw = RawFilter {
            aaguid: self.aaguid.unwrap_or_default(),
            model: self.model.unwrap_or_default(),
            usable: self.usable.unwrap_or_default(),
            attested: self.attested.unwrap_or_default(),
            synced: self.synced.unwrap_or_default(),
            unused_since: self.unused_since.unwrap_or_default(),
            group: self.group.unwrap_or_default(),
            state: self.state.unwrap_or_default(),
        };
        Filter::parse(&raw).map_err(|e| {
            let flag = if e.field == "unusedSince" {
                "unused-since"
            } else {
                e.field
            };
            CliError::Usage(format!("--{flag}: {}", e.message))
        })
    }
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// A header, then one row per passkey.
    Csv,
}

/// `portcullis inventory passkeys`.
#[derive(ClapArgs, Debug)]
pub struct PasskeysArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    format: Format,
    /// Write here instead of standard output.
    #[arg(long, value_name = "FILE")]
    output: Option<std::path::PathBuf>,
    #[command(flatten)]
    filters: Filters,
    /// Also judge each passkey under a proposed Passkey (FIDO2) configuration: a Graph
    /// fido2AuthenticationMethodConfiguration document, applied as a PATCH of the current one.
    #[arg(long, value_name = "FILE")]
    proposed: Option<std::path::PathBuf>,
}

/// Runs `portcullis inventory`.
pub async fn run(cfg: &Config, c: Cmd) -> CmdResult {
    match c {
        Cmd::Passkeys(a) => passkeys(cfg, a).await,
        Cmd::Disable(a) => change(cfg, a, true).await,
        Cmd::Enable(a) => change(cfg, a, false).await,
    }
}

async fn change(cfg: &Config, a: ChangeArgs, disable: bool) -> CmdResult {
    let filter = a.filters.parse()?;
    let svc = open(cfg).await?;
    let actor = Actor::Operator {
        name: "inventory".into(),
    };
    let verb = if disable { "disable" } else { "enable" };
    let Some(n) = a.confirm else {
        let n = svc.passkeys_to_change(&actor, &filter, disable).await?;
        println!("{n} passkeys to {verb}. Run again with --confirm {n} to {verb} them.");
        return Err(CliError::Usage(format!(
            "nothing changed: confirm the count with --confirm {n}"
        )));
    };
    let changed = svc
        .set_passkeys_disabled(&actor, &filter, disable, n)
        .await
        .map_err(|e| match e {
            portcullis_service::passkeys::PasskeyError::Rejected { .. } => {
                CliError::Usage(e.to_string())
            }
            e => CliError::Other(e.to_string()),
        })?;
    println!("{changed} passkeys {verb}d.");
    Ok(())
}

async fn passkeys(cfg: &Config, a: PasskeysArgs) -> CmdResult {
    let filter = a.filters.parse()?;
    let proposed = match &a.proposed {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::Usage(format!("--proposed {}: {e}", path.display())))?;
            Some(serde_json::from_str(&text).map_err(|e| {
                CliError::Usage(format!("--proposed {}: not JSON: {e}", path.display()))
            })?)
        }
    };
    let svc = open(cfg).await?;
    let reader = Actor::Operator {
        name: "inventory".into(),
    };
    let mut scan = svc
        .inventory(&reader, filter, proposed)
        .await
        .map_err(|e| match e {
            portcullis_service::ServiceError::Invalid(_) => CliError::Usage(e.to_string()),
            e => e.into(),
        })?;
    let out: Box<dyn Write> = match &a.output {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .map_err(|e| CliError::Other(format!("cannot write {}: {e}", path.display())))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::with_capacity(1 << 16, out);
    let io = |e: std::io::Error| CliError::Other(format!("writing the inventory: {e}"));
    // A bar only for a file written from a terminal: on a pipe or to standard output it
    // would mix with the data or the log.
    let bar = if a.output.is_some() && std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(scan.upper_bound().await?);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} passkeys read ({per_sec}, {eta} left)",
            )
            .map_err(|e| CliError::Other(e.to_string()))?,
        );
        Some(bar)
    } else {
        None
    };
    let proposal = scan.has_proposal();
    if a.format == Format::Csv {
        out.write_all(render::csv_header(proposal).as_bytes())
            .map_err(io)?;
    }
    let mut written = 0u64;
    let mut chunk = String::new();
    while let Some((rows, read)) = scan.next_rows().await? {
        chunk.clear();
        for r in &rows {
            match a.format {
                Format::Jsonl => chunk.push_str(&render::jsonl_line(r)),
                Format::Csv => render::push_csv_line(&mut chunk, r, proposal),
            }
        }
        out.write_all(chunk.as_bytes()).map_err(io)?;
        written = written.saturating_add(u64::try_from(rows.len()).unwrap_or_default());
        if let Some(b) = &bar {
            b.inc(read);
        }
    }
    out.flush().map_err(io)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Some(path) = &a.output {
        eprintln!("{written} passkeys written to {}", path.display());
    }
    Ok(())
}
