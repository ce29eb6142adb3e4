//! `portcullis serve`

use portcullis_domain::time_fmt::rfc3339;
use portcullis_server::{serve, shutdown_signal, AppParts, AppState, ServerConfig};
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use tracing_subscriber::EnvFilter;

use super::{open, CliError, CmdResult};
use crate::config::{Config, LogFormat};

/// Where the bootstrap pass goes when standard output is not a terminal.
pub const BOOTSTRAP_TAP_FILE: &str = "bootstrap-tap.txt";

/// Writes `text` to a new file readable and writable by this account only (mode 0600 from
/// creation, so there is no moment when others could read it).
fn write_private(path: &std::path::Path, text: &str) -> Result<(), CliError> {
    let fail = |e: std::io::Error| CliError::Other(format!("{}: {e}", path.display()));
    let _ = std::fs::remove_file(path);
    let mut f = {
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        o.open(path).map_err(fail)?
    };
    f.write_all(text.as_bytes()).map_err(fail)?;
    f.sync_all().map_err(fail)
}

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
    // Colour only for a person at a terminal: a pipe or a file gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match cfg.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

pub async fn run(cfg: &Config, _args: Args) -> CmdResult {
    init_logs(cfg);
    portcullis_server::edge::install_panic_report();
    // Held until the server exits: a restore of this data directory waits for no one.
    let _serving = super::backup::hold_while_serving(cfg)?;
    let public_url = url::Url::parse(&cfg.public_url)
        .map_err(|e| CliError::Other(format!("public_url: {e}")))?;
    let listener = tokio::net::TcpListener::bind(&cfg.listen)
        .await
        .map_err(|e| CliError::Other(format!("cannot listen on {}: {e}", cfg.listen)))?;
    let local = listener
        .local_addr()
        .map_err(|e| CliError::Other(e.to_string()))?;
    // The certificate is read before anything else starts: a bad file is a clear error now.
    let tls = match &cfg.tls {
        None => None,
        Some(t) => {
            let tls = portcullis_server::tls::Tls::load(portcullis_server::tls::TlsFiles {
                cert: t.cert_file.clone(),
                key: t.key_file.clone(),
            })
            .map_err(|e| CliError::Other(format!("tls: {e}")))?;
            #[cfg(unix)]
            tls.clone()
                .reload_on_sighup()
                .map_err(|e| CliError::Other(format!("tls: cannot watch SIGHUP: {e}")))?;
            Some(tls)
        }
    };
    let redirect = match cfg.tls.as_ref().and_then(|t| t.redirect_http_from.as_ref()) {
        None => None,
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| CliError::Other(format!("cannot listen on {addr}: {e}")))?,
        ),
    };
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
        // A terminal is the operator's own; a pipe may end in a log collector. There, the
        // pass goes to a file only the operator's account can read, and only its path is shown.
        if std::io::stdout().is_terminal() {
            let _ = writeln!(out, "  Temporary Access Pass:    {}", first.code);
        } else {
            let path = cfg.data_dir.join(BOOTSTRAP_TAP_FILE);
            write_private(&path, &format!("{}\n", first.code))?;
            let _ = writeln!(
                out,
                "  Temporary Access Pass:    in {} (readable only by this account; delete it once used)",
                path.display()
            );
        }
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

    let trusted_proxies: Vec<_> = cfg
        .trusted_proxies
        .iter()
        .filter_map(|p| portcullis_domain::conditional_access::location::parse_cidr(p).ok())
        .collect();
    // A proxy recorded as untrusted and listed now is no longer a finding.
    let forgotten = svc.forget_trusted_forwarders(&trusted_proxies).await?;
    if forgotten > 0 {
        tracing::info!(
            forgotten,
            "proxies recorded as untrusted are now in trusted_proxies: readiness no longer reports them"
        );
    }
    let config = ServerConfig {
        public_url,
        body_limit: cfg.body_limit_bytes,
        trusted_proxies,
        rate_limits: cfg.rate_limit,
        retention: cfg.retention,
        connections: cfg.connections,
    };
    if tls.is_some() && config.public_url.scheme() != "https" {
        tracing::warn!("TLS is on but public_url is not https: browsers reach the origin public_url names, and WebAuthn checks it");
    }
    if config.public_url.scheme() == "http" && config.cookie_secure() {
        tracing::warn!("public_url is plain HTTP on a non-local host: browsers will not send the Secure session cookie; serve over HTTPS");
    }
    let rp = portcullis_webauthn::RelyingParty::new(&config.public_url, &cfg.organization)
        .map_err(|e| CliError::Other(format!("public_url: {e}")))?;
    tracing::info!(rp_id = rp.rp_id(), origin = %rp.origin(), "WebAuthn relying party");
    // `portcullis token` mints with this issuer, so that its tokens are the ones this server
    // accepts. Nodes of one deployment share one public URL; a node started with another
    // changes the issuer for every node's future CLI tokens, so say so.
    let issuer = config.issuer();
    if let Some(before) = svc.recorded_issuer().await?.filter(|b| *b != issuer) {
        tracing::warn!(%before, now = %issuer, "this store's issuer changes: tokens minted by `portcullis token` now carry the new public URL, and servers still answering at the old one refuse them");
    }
    svc.record_issuer(&issuer).await?;
    // Said once everything a client or `portcullis token` relies on is in place: a script that
    // waits for this line and mints a token must not race the issuer's recording.
    let scheme = if tls.is_some() { "https" } else { "http" };
    let _ = writeln!(out, "Listening on {scheme}://{local}");
    let _ = out.flush();
    drop(out);
    let state = AppState::new(AppParts {
        service: svc.clone(),
        config: Arc::new(config),
        rp: Arc::new(rp),
        limits: Arc::new(portcullis_server::rate_limit::Limits::new(&cfg.rate_limit)),
        metrics: Arc::default(),
    });
    // One signal stops both listeners.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let redirecting = redirect.map(|l| {
        let (app, limits) = (
            portcullis_server::tls::redirect_to(state.config.public_url.clone()),
            state.config.connections,
        );
        tokio::spawn(portcullis_server::listen::run(
            l,
            app,
            limits,
            None,
            stopped(stop_rx.clone()),
        ))
    });
    serve(listener, state, tls, stopped(stop_rx))
        .await
        .map_err(|e| CliError::Other(format!("server failed: {e}")))?;
    if let Some(r) = redirecting {
        let _ = r.await;
    }
    svc.store().close().await;
    tracing::info!("stopped");
    Ok(())
}
