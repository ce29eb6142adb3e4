//! `portcullis token`: mints an admin API token for scripting, like Graph Explorer's.

use super::{open, CliError, CmdResult};
use crate::config::Config;

/// Arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The user the token acts for (delegated; the user's directory roles still apply).
    #[arg(long)]
    user: String,
    /// A delegated scope, e.g. Policy.ReadWrite.AuthenticationMethod (repeatable).
    #[arg(long = "scope", required = true)]
    scopes: Vec<String>,
}

/// Prints only the token.
pub async fn run(cfg: &Config, a: Args) -> CmdResult {
    let issuer = url::Url::parse(&cfg.public_url).map_err(|e| CliError::Other(format!("public_url: {e}")))?;
    let token = open(cfg).await?.mint_delegated(issuer.as_str(), &a.user, &a.scopes).await?;
    println!("{token}");
    Ok(())
}
