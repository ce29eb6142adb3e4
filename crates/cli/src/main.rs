//! `portcullis`: run the identity provider, or administer its directory and policy.

mod commands;
mod config;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

use commands::{
    apps, audit, ca, devices, groups, keys, metadata, passkeys, policy, roles, serve, tap, users,
};

/// Portcullis: a self-hosted identity provider for phishing-resistant sign-in with passkeys.
#[derive(Parser, Debug)]
#[command(name = "portcullis", version, about, propagate_version = true)]
pub struct Cli {
    /// A TOML configuration file (keys as in the README); PORTCULLIS_* variables and flags override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory of the embedded database [default: ./portcullis-data].
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL (sqlite://PATH or postgres://…) [default: SQLite in the data directory].
    #[arg(long, global = true, value_name = "URL")]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server; on first start, bootstrap the tenant and print a pass for its administrator.
    Serve(serve::Args),
    /// Directory users.
    #[command(subcommand)]
    Users(users::Cmd),
    /// Directory groups and their members.
    #[command(subcommand)]
    Groups(groups::Cmd),
    /// Directory role assignments.
    #[command(subcommand)]
    Roles(roles::Cmd),
    /// Temporary Access Passes.
    #[command(subcommand)]
    Tap(tap::Cmd),
    /// Authenticator metadata: names and attestation roots by AAGUID.
    #[command(subcommand)]
    Metadata(metadata::Cmd),
    /// Applications: register, client secrets, granted permissions.
    #[command(subcommand)]
    Apps(apps::Cmd),
    /// Conditional Access: policies, named locations, custom strengths.
    #[command(subcommand)]
    Ca(ca::Cmd),
    /// Devices: enroll, mark compliant (the MDM's role).
    #[command(subcommand)]
    Devices(devices::Cmd),
    /// What If: which policies apply to a sign-in and what the outcome is (R43).
    Whatif(ca::WhatIfArgs),
    /// Token signing keys: list, rotate.
    #[command(subcommand)]
    Keys(keys::Cmd),
    /// Users' passkeys.
    #[command(subcommand)]
    Passkeys(passkeys::Cmd),
    /// The authentication methods policy (Graph-shaped JSON).
    #[command(subcommand)]
    Policy(policy::Cmd),
    /// Mint an admin API token for a user (prints only the token).
    Token(commands::token::Args),
    /// Explain offline why a registration response is accepted or refused.
    VerifyRegistration(commands::verify::Args),
    /// The audit log and the sign-in log.
    #[command(subcommand)]
    Logs(audit::Cmd),
    /// Readiness: every user, as every persona — who cannot get in, where, why, and the fix
    /// (R50). Exit status 1 when a finding is a blocker.
    Readiness(commands::readiness::Args),
    /// Copy the embedded database while the server runs (R60).
    Backup(commands::backup::BackupArgs),
    /// Put a backup in place of the embedded database (the server stopped).
    Restore(commands::backup::RestoreArgs),
    /// Passkey adoption over time, rebuilt from the records (R53), as CSV or JSON.
    Adoption(commands::adoption::Args),
    /// Inventories, streamed as JSON Lines or CSV (R52).
    #[command(subcommand)]
    Inventory(commands::inventory::Cmd),
    /// An Authenticator app as a command: add an account from Security info's link, approve
    /// sign-in requests with the number shown, show TOTP codes (docs/authenticator-protocol.md).
    Authenticator(commands::authenticator::Args),
}

/// mimalloc for every Rust allocation (SQLite and aws-lc keep the C library's malloc).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Offline: needs no configuration, store or runtime.
    if let Command::VerifyRegistration(a) = &cli.command {
        return commands::verify::run(a);
    }
    // A client of a server: needs no configuration or store either.
    if let Command::Authenticator(a) = cli.command {
        return commands::authenticator::run(a);
    }
    let overrides = config::Overrides {
        data_dir: cli.data_dir.clone(),
        database: cli.database.clone(),
        listen: match &cli.command {
            Command::Serve(a) => a.listen.clone(),
            _ => None,
        },
        public_url: match &cli.command {
            Command::Serve(a) => a.public_url.clone(),
            _ => None,
        },
    };
    let cfg = match config::Config::load(cli.config.as_deref(), &overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("portcullis: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("portcullis: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Command::Serve(a) => serve::run(&cfg, a).await,
            Command::Users(c) => users::run(&cfg, c).await,
            Command::Groups(c) => groups::run(&cfg, c).await,
            Command::Roles(c) => roles::run(&cfg, c).await,
            Command::Tap(c) => tap::run(&cfg, c).await,
            Command::Keys(c) => keys::run(&cfg, c).await,
            Command::Ca(c) => ca::run(&cfg, c).await,
            Command::Devices(c) => devices::run(&cfg, c).await,
            Command::Whatif(a) => ca::what_if(&cfg, a).await,
            Command::Passkeys(c) => passkeys::run(&cfg, c).await,
            Command::Apps(c) => apps::run(&cfg, c).await,
            Command::Metadata(c) => metadata::run(&cfg, c).await,
            Command::Policy(c) => policy::run(&cfg, c).await,
            Command::Logs(c) => audit::run(&cfg, c).await,
            Command::Token(a) => commands::token::run(&cfg, a).await,
            Command::Readiness(a) => commands::readiness::run(&cfg, a).await,
            Command::Inventory(c) => commands::inventory::run(&cfg, c).await,
            Command::Adoption(a) => commands::adoption::run(&cfg, a).await,
            Command::Backup(a) => commands::backup::backup(&cfg, a).await,
            Command::Restore(a) => commands::backup::restore(&cfg, a).await,
            // Handled before configuration is loaded: it needs no store.
            // Both ran above, before any configuration was read.
            Command::VerifyRegistration(_) | Command::Authenticator(_) => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portcullis: {e}");
            match e {
                commands::CliError::Usage(_) => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}
