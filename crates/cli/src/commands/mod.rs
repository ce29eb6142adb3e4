//! One module per command group. Each opens the store, calls a service, prints.

pub mod adoption;
pub mod apps;
pub mod audit;
pub mod authenticator;
pub mod backup;
pub mod ca;
pub mod devices;
pub mod groups;
pub mod inventory;
pub mod keys;
pub mod metadata;
pub mod passkeys;
pub mod policy;
pub mod readiness;
pub mod roles;
pub mod serve;
pub mod tap;
pub mod token;
pub mod users;
pub mod verify;

use portcullis_domain::actor::Actor;
use portcullis_service::{Service, ServiceError, SystemClock};
use portcullis_store::{Store, StoreError};
use std::sync::Arc;

use crate::config::Config;

/// Why a command failed; printed as one line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// From the services.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// From the store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Anything else worth a sentence.
    #[error("{0}")]
    Other(String),
    /// The command was asked wrongly (exit status 2, as for a flag clap refuses).
    #[error("{0}")]
    Usage(String),
}

/// Result alias for commands.
pub type CmdResult = Result<(), CliError>;

/// Opens the configured store and the services over it.
pub async fn open(cfg: &Config) -> Result<Service, CliError> {
    let durability = match cfg.sqlite_synchronous {
        crate::config::SqliteSync::Full => portcullis_store::Durability::Full,
        crate::config::SqliteSync::Normal => portcullis_store::Durability::Normal,
    };
    let store = Store::open_with(&cfg.database_url(), durability).await?;
    let roots = match &cfg.app_attestation_root {
        Some(path) => pem_certificates(path)?,
        None => vec![],
    };
    let app = portcullis_service::attestation::RootAppAttestation::new(
        roots,
        cfg.app_attestation_available,
    );
    Ok(Service::new(store, Arc::new(SystemClock), cfg.lockout)
        .with_grant_lifetimes(cfg.grant_lifetime)
        .with_app_attestation(Arc::new(app)))
}

/// The DER certificates in a PEM file.
fn pem_certificates(path: &std::path::Path) -> Result<Vec<Vec<u8>>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Other(format!("app_attestation_root {}: {e}", path.display())))?;
    let out = portcullis_webauthn::mds::pem_to_der(&text);
    if out.is_empty() {
        return Err(CliError::Other(format!(
            "app_attestation_root {} holds no PEM certificate",
            path.display()
        )));
    }
    Ok(out)
}

/// The operator running the CLI, as the audit log records them.
pub fn operator() -> Actor {
    let name = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into());
    Actor::Operator { name }
}

/// Prints a value as pretty JSON.
pub fn print_json(v: &impl serde::Serialize) -> CmdResult {
    let s = serde_json::to_string_pretty(v).map_err(|e| CliError::Other(e.to_string()))?;
    println!("{s}");
    Ok(())
}
