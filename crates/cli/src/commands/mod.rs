//! One module per command group. Each opens the store, calls a service, prints.

pub mod audit;
pub mod groups;
pub mod passkeys;
pub mod policy;
pub mod roles;
pub mod serve;
pub mod tap;
pub mod users;

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
}

/// Result alias for commands.
pub type CmdResult = Result<(), CliError>;

/// Opens the configured store and the services over it.
pub async fn open(cfg: &Config) -> Result<Service, CliError> {
    let store = Store::open(&cfg.database_url()).await?;
    Ok(Service::new(store, Arc::new(SystemClock), cfg.lockout))
}

/// The operator running the CLI, as the audit log records them.
pub fn operator() -> Actor {
    let name = std::env::var("SUDO_USER").or_else(|_| std::env::var("USER")).unwrap_or_else(|_| "unknown".into());
    Actor::Operator { name }
}

/// Prints a value as pretty JSON.
pub fn print_json(v: &impl serde::Serialize) -> CmdResult {
    let s = serde_json::to_string_pretty(v).map_err(|e| CliError::Other(e.to_string()))?;
    println!("{s}");
    Ok(())
}
