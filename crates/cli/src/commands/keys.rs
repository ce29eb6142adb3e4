//! `portcullis keys …`: the token signing keys.

use clap::Subcommand;
use portcullis_domain::time_fmt::rfc3339;

use super::{open, operator, CmdResult};
use crate::config::Config;

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// List signing keys: id, algorithm, created, retired.
    List,
    /// Retire the current keys and make new ones. Retired keys stay published (JWKS) and
    /// verifying until every token they signed has expired.
    Rotate,
}

pub async fn run(cfg: &Config, cmd: Cmd) -> CmdResult {
    let svc = open(cfg).await?;
    match cmd {
        Cmd::List => {
            for k in svc.signing_keys().await? {
                let retired = k
                    .retired_at
                    .map(rfc3339)
                    .unwrap_or_else(|| "current".into());
                println!(
                    "{}  {}  created {}  {}",
                    k.kid,
                    k.alg,
                    rfc3339(k.created_at),
                    retired
                );
            }
        }
        Cmd::Rotate => {
            let kids = svc.rotate_signing_keys(&operator()).await?;
            println!("New signing keys: {}", kids.join(", "));
            println!(
                "  Retired keys stay published for {} minutes, until their tokens expire.",
                portcullis_service::keys::RETIRED_KEY_GRACE.whole_minutes()
            );
        }
    }
    Ok(())
}
