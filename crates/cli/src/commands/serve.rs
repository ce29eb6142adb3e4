//! `portcullis serve`

use portcullis_domain::time_fmt::rfc3339;
use portcullis_server::{serve, shutdown_signal, AppState, ServerConfig};
use std::io::Write;
use std::sync::Arc;
use tracing_subscriber::EnvFilter;

use super::{open, CliError, CmdResult};
use crate::config::{Config, LogFormat};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address and port to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// The URL users reach Portcullis at [default: http://localhost:8080].
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
}

fn init_logs(cfg: &Config) {
    let filter = EnvFilter::try_new(&cfg.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match cfg.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

pub async fn run(cfg: &Config, _args: Args) -> CmdResult {
    init_logs(cfg);
    let public_url = url::Url::parse(&cfg.public_url)
        .map_err(|e| CliError::Other(format!("public_url: {e}")))?;
    let listener = tokio::net::TcpListener::bind(&cfg.listen)
        .await
        .map_err(|e| CliError::Other(format!("cannot listen on {}: {e}", cfg.listen)))?;
    let local = listener
        .local_addr()
        .map_err(|e| CliError::Other(e.to_string()))?;
    let svc = open(cfg).await?;
    tracing::info!(database = ?svc.store().backend(), "store ready");

    let signin_url = public_url
        .join("signin")
        .map(|u| u.to_string())
        .unwrap_or_else(|_| cfg.public_url.clone());
    let mut out = std::io::stdout().lock();
    if let Some(first) = svc.bootstrap(&cfg.organization, &cfg.domain).await? {
        let _ = writeln!(
            out,
            "Portcullis: a new tenant '{}' was created.",
            cfg.organization
        );
        let _ = writeln!(out, "  Sign in at:               {signin_url}");
        let _ = writeln!(
            out,
            "  Administrator:            {}",
            first.user.user_principal_name
        );
        let _ = writeln!(out, "  Temporary Access Pass:    {}", first.code);
        let _ = writeln!(
            out,
            "  (one-time, valid until {}; it is shown only this once.",
            rfc3339(first.pass.expires_at())
        );
        let _ = writeln!(
            out,
            "   Lost it? portcullis tap create --user {})",
            first.user.user_principal_name
        );
    } else {
        let _ = writeln!(out, "Portcullis: sign in at {signin_url}");
    }
    // After bootstrap, which registers the first-party applications without the URL.
    svc.prepare_applications(public_url.as_str()).await?;
    let _ = writeln!(out, "Listening on http://{local}");
    let _ = out.flush();
    drop(out);

    let trusted_proxies = cfg
        .trusted_proxies
        .iter()
        .filter_map(|p| portcullis_domain::conditional_access::location::parse_cidr(p).ok())
        .collect();
    let config = ServerConfig {
        public_url,
        body_limit: cfg.body_limit_bytes,
        trusted_proxies,
        rate_limits: cfg.rate_limit,
        retention: cfg.retention,
    };
    if config.public_url.scheme() == "http" && config.cookie_secure() {
        tracing::warn!("public_url is plain HTTP on a non-local host: browsers will not send the Secure session cookie; serve over HTTPS");
    }
    let rp = portcullis_webauthn::RelyingParty::new(&config.public_url, &cfg.organization)
        .map_err(|e| CliError::Other(format!("public_url: {e}")))?;
    tracing::info!(rp_id = rp.rp_id(), origin = %rp.origin(), "WebAuthn relying party");
    let state = AppState {
        service: svc.clone(),
        config: Arc::new(config),
        rp: Arc::new(rp),
        limits: Arc::new(portcullis_server::rate_limit::Limits::new(&cfg.rate_limit)),
    };
    serve(listener, state, shutdown_signal())
        .await
        .map_err(|e| CliError::Other(format!("server failed: {e}")))?;
    svc.store().close().await;
    tracing::info!("stopped");
    Ok(())
}
