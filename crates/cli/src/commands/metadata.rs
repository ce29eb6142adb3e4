//! `portcullis metadata …`: authenticator names and attestation roots (R7).

use clap::Subcommand;
use std::io::Read;
use std::path::PathBuf;

use super::{open, operator, print_json, CliError, CmdResult};
use crate::config::Config;

/// Largest metadata document accepted.
const MAX_DOC: u64 = 16 * 1024 * 1024;

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Import a FIDO metadata statement (JSON), an array of them, or an {"aaguid": "name"} list.
    Import {
        /// The file, or - for standard input.
        file: PathBuf,
        /// A CRL (PEM or DER) for the certificates of an MDS3 BLOB's chain, as its
        /// certificates' CRL distribution points name them (repeat).
        #[arg(long = "crl")]
        crls: Vec<PathBuf>,
        /// Import an MDS3 BLOB whose nextUpdate has passed. A newer BLOB exists and may
        /// revoke what this one trusts: for an offline import of an old BLOB on purpose.
        #[arg(long)]
        allow_stale: bool,
    },
    /// Show what is known about a model.
    Show {
        /// The AAGUID.
        aaguid: String,
    },
}

pub async fn run(cfg: &Config, cmd: Cmd) -> CmdResult {
    match cmd {
        Cmd::Import {
            file,
            crls,
            allow_stale,
        } => {
            let mut text = String::new();
            let read = if file.as_os_str() == "-" {
                std::io::stdin().take(MAX_DOC + 1).read_to_string(&mut text)
            } else {
                std::fs::File::open(&file)
                    .and_then(|f| f.take(MAX_DOC + 1).read_to_string(&mut text))
            };
            read.map_err(|e| CliError::Other(format!("cannot read {}: {e}", file.display())))?;
            if text.len() as u64 > MAX_DOC {
                return Err(CliError::Other(format!(
                    "{} is larger than {MAX_DOC} bytes",
                    file.display()
                )));
            }
            let roots = match &cfg.mds_root {
                Some(p) => {
                    let pem = std::fs::read_to_string(p)
                        .map_err(|e| CliError::Other(format!("mds_root {}: {e}", p.display())))?;
                    portcullis_webauthn::mds::pem_to_der(&pem)
                }
                None => portcullis_webauthn::mds::globalsign_roots(),
            };
            let mut crl_ders = vec![];
            for p in &crls {
                let bytes = std::fs::read(p)
                    .map_err(|e| CliError::Other(format!("--crl {}: {e}", p.display())))?;
                match std::str::from_utf8(&bytes) {
                    Ok(pem) if pem.contains("-----BEGIN X509 CRL") => {
                        crl_ders.extend(portcullis_webauthn::mds::pem_blocks(pem, "X509 CRL"))
                    }
                    _ => crl_ders.push(bytes),
                }
            }
            let trust = portcullis_service::attestation::MdsTrust {
                roots,
                crls: crl_ders,
                staleness: if allow_stale {
                    portcullis_webauthn::Staleness::DangerAcceptStale
                } else {
                    portcullis_webauthn::Staleness::Refuse
                },
            };
            let report = open(cfg)
                .await?
                .import_metadata(&operator(), &text, &trust)
                .await?;
            for e in &report.entries {
                println!(
                    "{}  {}  ({} attestation root(s))",
                    e.aaguid,
                    e.name,
                    e.roots.len()
                );
            }
            println!("Imported {} entries.", report.entries.len());
            if let Some(n) = report.next_update {
                println!("The BLOB's signature and chain verified; nextUpdate {n}.");
            }
            Ok(())
        }
        Cmd::Show { aaguid } => {
            let id = uuid::Uuid::parse_str(aaguid.trim())
                .map_err(|_| CliError::Other(format!("'{aaguid}' is not an AAGUID")))?;
            match open(cfg).await?.metadata_for(id).await? {
                Some(e) => print_json(&e),
                None => Err(CliError::Other(format!(
                    "nothing is known about AAGUID {id}"
                ))),
            }
        }
    }
}
