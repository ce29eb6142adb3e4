//! `portcullis token`: mints an admin API token for scripting, like Graph Explorer's.

use super::{open, CliError, CmdResult};
use crate::config::Config;

/// Arguments: a delegated token (`--user` with `--scope`s) or an app-only one (`--app` with `--role`s).
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["user", "app"])))]
pub struct Args {
    /// The user the token acts for (delegated; the user's directory roles still apply).
    #[arg(long, requires = "scopes")]
    user: Option<String>,
    /// A delegated scope, e.g. Policy.ReadWrite.AuthenticationMethod (repeatable).
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// A registered application's client id (app-only token).
    #[arg(long, requires = "roles", conflicts_with = "user")]
    app: Option<String>,
    /// An application permission, e.g. Policy.Read.All (repeatable).
    #[arg(long = "role")]
    roles: Vec<String>,
}

/// Prints only the token.
pub async fn run(cfg: &Config, a: Args) -> CmdResult {
    let svc = open(cfg).await?;
    // The issuer the server recorded when it started on this store: a token minted with
    // another (a public URL given here and not there) would be refused later.
    let issuer = svc.recorded_issuer().await?.ok_or_else(|| {
        CliError::Other(
            "no server has started on this store yet, so there is no issuer to mint tokens for: start `portcullis serve` once (it records its public URL as the issuer), then mint tokens".into(),
        )
    })?;
    let token = match (&a.user, &a.app) {
        (Some(user), _) => svc.mint_delegated(&issuer, user, &a.scopes).await?,
        (None, Some(app)) => svc.mint_app(&issuer, app, &a.roles).await?,
        (None, None) => {
            return Err(CliError::Other(
                "give --user with --scope, or --app with --role".into(),
            ))
        }
    };
    println!("{token}");
    Ok(())
}
