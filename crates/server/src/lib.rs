//! The HTTP shell of Portcullis.
//!
//! Handlers parse input, call a service, and render the answer; every decision is
//! made in the domain crate. Errors are mapped to responses once, in [`error`].

mod admin;
pub mod admin_api;
pub mod api;
mod authenticator_api;
mod authenticator_app;
pub mod campaign;
pub mod edge;
pub mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod graph;
mod json;
pub mod listen;
pub mod metrics;
pub mod oidc;
pub mod pages;
mod password_signin;
pub mod rate_limit;
pub mod route_table;
pub mod routes;
pub mod security_info;
pub mod session_cookie;
pub mod tls;

use portcullis_service::Service;
use std::sync::Arc;
use tokio::net::TcpListener;
use url::Url;

/// How the server presents itself.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The externally visible base URL; fixes the origin (and later the WebAuthn RP ID).
    pub public_url: Url,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Proxies whose `X-Forwarded-For` is believed (CIDR ranges); empty: none.
    pub trusted_proxies: Vec<(std::net::IpAddr, u8)>,
    /// Per-source limits on anonymous requests.
    pub rate_limits: rate_limit::RateLimits,
    /// How long what housekeeping deletes is kept.
    pub retention: portcullis_service::housekeeping::Retention,
    /// Bounds on connections: how many, and how long a head, a silence and a shutdown may take.
    pub connections: listen::ConnectionLimits,
}

impl ServerConfig {
    /// The origin (`scheme://host[:port]`) of the public URL.
    pub fn origin(&self) -> String {
        self.public_url.origin().ascii_serialization()
    }

    /// The OpenID Connect issuer: the public URL without a trailing slash, byte for byte the
    /// same in discovery, tokens and the `iss` response parameter.
    pub fn issuer(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_string()
    }

    /// Cookies are `Secure` except when the public URL is plain-HTTP localhost, where
    /// browsers would otherwise drop them during local trials.
    pub fn cookie_secure(&self) -> bool {
        let local = matches!(
            self.public_url.host_str(),
            Some("localhost" | "127.0.0.1" | "[::1]")
        );
        !(self.public_url.scheme() == "http" && local)
    }
}

/// Shared state of every handler, behind one `Arc`: axum clones the state for every
/// extractor and middleware that takes it, several times a request, and a clone of the
/// fields themselves was a score of reference counts each time (issue 18's profile: 3% of a
/// pinned server's samples in cloning and dropping it).
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl AppState {
    /// The state made of `parts`.
    pub fn new(parts: AppParts) -> Self {
        AppState(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;
    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct AppParts {
    /// The services.
    pub service: Service,
    /// Presentation settings.
    pub config: Arc<ServerConfig>,
    /// The WebAuthn relying party (RP ID and origin from the public URL).
    pub rp: Arc<portcullis_webauthn::RelyingParty>,
    /// Per-source rate limiters (this node's).
    pub limits: Arc<rate_limit::Limits>,
    /// This node's metrics (`/metrics`).
    pub metrics: Arc<metrics::Metrics>,
}

/// Serves until `shutdown` resolves, then finishes in-flight requests.
/// With `tls`, over HTTPS only.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    tls: Option<std::sync::Arc<tls::Tls>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Bounded storage: ceremonies, failures and old log entries go on a schedule.
    let (service, retention) = (state.service.clone(), state.config.retention);
    let housekeeping = tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(
            60 * u64::from(retention.housekeeping_minutes.max(1)),
        ));
        loop {
            every.tick().await;
            match service.housekeeping(&retention).await {
                Ok(p) => tracing::debug!(
                    ceremonies = p.ceremonies,
                    failures = p.failures,
                    sign_ins = p.sign_ins,
                    "housekeeping"
                ),
                Err(e) => tracing::warn!(error = %e, "housekeeping failed; it runs again later"),
            }
        }
    });
    let limits = state.config.connections;
    let app = routes::router(state);
    let served = listen::run(listener, app, limits, tls, shutdown).await;
    housekeeping.abort();
    served
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down: finishing requests in flight");
}
