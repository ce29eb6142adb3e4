//! The use cases of Portcullis, shared by the HTTP server and the CLI.
//!
//! Each operation loads what it needs from the store, asks the pure domain for a
//! decision, and persists the outcome together with its audit entry in one
//! transaction. Nothing here knows about HTTP or terminals.

pub mod adoption;
pub mod apps;
pub mod attestation;
pub mod bootstrap;
pub mod campaign;
pub mod clock;
pub mod conditional_access;
pub mod devices;
pub mod directory;
pub mod error;
pub mod forwarders;
pub mod health;
pub mod housekeeping;
pub mod inventory;
pub mod keys;
pub mod oath;
pub mod oidc;
pub mod passkeys;
pub mod password;
pub mod policy;
pub mod preview;
pub mod push;
pub mod readiness;
pub mod render;
mod sealed;
pub mod secrets;
pub mod sessions;
pub mod strengths;
pub mod tap;
pub mod tokens;
pub mod version;

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
    /// Source address; `None` when a trusted proxy forwarded it unreadably (never the proxy).
    pub source: Option<std::net::IpAddr>,
    /// User agent, trimmed.
    pub user_agent: String,
    /// `X-Portcullis-Device-Proof`, when the client sent one: an enrolled device proving its
    /// key (checked by [`Service::proved_device`], never taken on trust).
    pub device_proof: Option<String>,
}

impl RequestContext {
    /// The source address as logs show it (`unknown` when it is not known).
    pub fn source_text(&self) -> String {
        self.source
            .map_or_else(|| "unknown".to_string(), |ip| ip.to_string())
    }

    /// The key per-source lock-outs count under (R13): the address, an IPv6 address's /64.
    pub fn source_key(&self) -> String {
        portcullis_domain::lockout::source_key(self.source)
    }

    /// A sign-in log entry for an attempt from this request; `failure` is
    /// (error number, stable code, the sentence the user was shown).
    pub fn sign_in_event(
        &self,
        now: portcullis_domain::Timestamp,
        user_id: Option<uuid::Uuid>,
        upn: &str,
        method: &str,
        failure: Option<(i64, &str, String)>,
    ) -> portcullis_store::signins::SignInEvent {
        portcullis_store::signins::SignInEvent {
            id: String::new(),
            created_date_time: now,
            user_id,
            user_principal_name: upn.to_lowercase(),
            method: method.into(),
            ip_address: self.source_text(),
            user_agent: self.user_agent.chars().take(512).collect(),
            error_code: failure.as_ref().map_or(0, |f| f.0),
            failure_code: failure.as_ref().map(|f| f.1.to_string()),
            failure_reason: failure.map(|f| f.2),
            app_id: None,
            app_display_name: None,
            conditional_access_status: None,
            applied_conditional_access_policies: None,
            passkey_aaguid: None,
            passkey_attested: None,
            passkey_client: None,
        }
    }
}

/// The services over one store.
#[derive(Clone)]
pub struct Service {
    store: Store,
    clock: Arc<dyn Clock>,
    secrets: secrets::Secrets,
    lockout: LockoutPolicy,
    grant_lifetimes: portcullis_domain::grant::GrantLifetimes,
    app_attestation: Arc<dyn attestation::AppAttestation>,
    key_cache: keys::KeyCache,
    ca_cache: conditional_access::CaCache,
    summary_cache: health::SummaryCache,
    /// The key of decoy credential ids (read from the store once).
    decoy_key: Arc<tokio::sync::OnceCell<ring::hmac::Key>>,
    /// The key sign-in ceremonies are sealed with (read from the store once).
    sealing_key: Arc<tokio::sync::OnceCell<passkeys::SealingKey>>,
    /// The key authenticator app secrets are sealed with (read from the store once).
    oath_key: Arc<tokio::sync::OnceCell<sealed::SealingKey>>,
}

impl Service {
    /// Services over `store`, reading time from `clock`.
    pub fn new(store: Store, clock: Arc<dyn Clock>, lockout: LockoutPolicy) -> Self {
        let app_attestation = Arc::new(attestation::RootAppAttestation::new(vec![], true));
        Service {
            store,
            clock,
            secrets: secrets::Secrets::new(),
            lockout,
            grant_lifetimes: Default::default(),
            app_attestation,
            key_cache: keys::KeyCache::default(),
            ca_cache: conditional_access::CaCache::default(),
            summary_cache: health::SummaryCache::default(),
            decoy_key: Arc::default(),
            sealing_key: Arc::default(),
            oath_key: Arc::default(),
        }
    }

    /// The same services with other grant lifetimes (R47).
    pub fn with_grant_lifetimes(mut self, l: portcullis_domain::grant::GrantLifetimes) -> Self {
        self.grant_lifetimes = l;
        self
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
