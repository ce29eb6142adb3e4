//! `portcullis keys …`: the token signing keys.

use clap::Subcommand;
use portcullis_domain::time_fmt::rfc3339;

use super::{open, operator, CmdResult};
use crate::config::Config;

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// List signing keys: id, algorithm, created, retired.
    List,
    /// Make new keys: published (JWKS) now, signing after the pre-publication period, when
    /// the current keys retire. Retired keys stay published and verifying until every token
    /// they signed has expired.
    Rotate {
        /// Seconds the new keys are published before they sign [default: 600, twice the
        /// JWKS cache lifetime].
        #[arg(long, value_name = "SECONDS", conflicts_with = "immediately")]
        prepublish_seconds: Option<u32>,
        /// The new keys sign at once (the current key is compromised). Clients that cached
        /// the JWKS refuse new tokens until they fetch it again.
        #[arg(long)]
        immediately: bool,
    },
}

pub async fn run(cfg: &Config, cmd: Cmd) -> CmdResult {
    let svc = open(cfg).await?;
    match cmd {
        Cmd::List => {
            for k in svc.signing_keys().await? {
                let now = time::OffsetDateTime::now_utc();
                let retired = match k.retired_at {
                    Some(r) if r <= now => format!("retired {}", rfc3339(r)),
                    Some(r) => format!("signing until {}", rfc3339(r)),
                    None if k.activates_at > now => {
                        format!("published, signing from {}", rfc3339(k.activates_at))
                    }
                    None => "current".into(),
                };
                println!(
                    "{}  {}  created {}  {}",
                    k.kid,
                    k.alg,
                    rfc3339(k.created_at),
                    retired
                );
            }
        }
        Cmd::Rotate {
            prepublish_seconds,
            immediately,
        } => {
            let prepublish = match (immediately, prepublish_seconds) {
                (true, _) => time::Duration::ZERO,
                (false, Some(s)) => time::Duration::seconds(i64::from(s)),
                (false, None) => portcullis_service::keys::PREPUBLICATION,
            };
            let cache = portcullis_service::keys::JWKS_MAX_AGE;
            if !immediately && prepublish < cache {
                eprintln!(
                    "warning: clients may cache the JWKS for {} seconds; keys that sign sooner may be refused by those that have not fetched it again",
                    cache.whole_seconds()
                );
            }
            let r = svc.rotate_signing_keys(&operator(), prepublish).await?;
            println!("New signing keys: {}", r.kids.join(", "));
            println!(
                "  Published now (JWKS); they sign from {}, when the current keys retire.",
                rfc3339(r.activates_at)
            );
            println!(
                "  Retired keys stay published for {} minutes more, until their tokens expire.",
                portcullis_service::keys::RETIRED_KEY_GRACE.whole_minutes()
            );
        }
    }
    Ok(())
}
