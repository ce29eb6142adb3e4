//! The use cases of Portcullis, shared by the HTTP server and the CLI.
//!
//! Each operation loads what it needs from the store, asks the pure domain for a
//! decision, and persists the outcome together with its audit entry in one
//! transaction. Nothing here knows about HTTP or terminals.

pub mod apps;
pub mod attestation;
pub mod bootstrap;
pub mod clock;
pub mod directory;
pub mod error;
pub mod passkeys;
pub mod policy;
pub mod secrets;
pub mod sessions;
pub mod tap;
pub mod tokens;

use portcullis_domain::lockout::LockoutPolicy;
use portcullis_store::Store;
use std::sync::Arc;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::ServiceError;

/// Result alias.
pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// Where a request came from, for rate limiting and the sign-in log.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// Source address.
    pub source: String,
    /// User agent, trimmed.
    pub user_agent: String,
}

/// The services over one store.
#[derive(Clone)]
pub struct Service {
    store: Store,
    clock: Arc<dyn Clock>,
    secrets: secrets::Secrets,
    lockout: LockoutPolicy,
    app_attestation: Arc<dyn attestation::AppAttestation>,
}

impl Service {
    /// Services over `store`, reading time from `clock`.
    pub fn new(store: Store, clock: Arc<dyn Clock>, lockout: LockoutPolicy) -> Self {
        let app_attestation = Arc::new(attestation::RootAppAttestation::new(vec![], true));
        Service { store, clock, secrets: secrets::Secrets::new(), lockout, app_attestation }
    }

    /// The same services with another app attestation service (R4).
    pub fn with_app_attestation(mut self, app: Arc<dyn attestation::AppAttestation>) -> Self {
        self.app_attestation = app;
        self
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The current time, from the clock this service was given.
    pub fn now(&self) -> portcullis_domain::Timestamp {
        self.clock.now()
    }
}
