//! HTTPS without a proxy (R60): WebAuthn needs a secure origin anywhere but localhost, and
//! many deployments have nothing in front. The certificate chain and key are PEM files named
//! in the configuration; a SIGHUP reads them again, and connections from then on get the
//! new certificate — a renewal needs no restart. A reload that fails (a missing file, a key
//! that does not match) is logged and the certificate in use stays.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// Why a certificate could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or holds no PEM block of the kind wanted.
    #[error("{path}: {why}")]
    File {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        why: String,
    },
    /// rustls refused the pair (a key that does not match the certificate, say).
    #[error("the certificate and key cannot be used: {0}")]
    Refused(#[from] rustls::Error),
}

/// The certificate chain file and its private key file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM: the server's certificate first, then its intermediates.
    pub cert: PathBuf,
    /// PEM: the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The TLS configuration in use, replaced whole by a successful reload.
pub struct Tls {
    files: TlsFiles,
    current: RwLock<Arc<rustls::ServerConfig>>,
}

fn file_error(path: &Path, why: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        path: path.to_path_buf(),
        why: why.to_string(),
    }
}

fn build(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| file_error(&files.cert, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(&files.cert, e))?;
    if chain.is_empty() {
        return Err(file_error(&files.cert, "no CERTIFICATE block"));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| file_error(&files.key, e))?;
    // One crypto stack: ring, as for WebAuthn and the MDS path validation.
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(chain, key)?;
    // The server speaks HTTP/1.1 only (listen.rs).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

impl Tls {
    /// Loads the files; an error names the file and what is wrong with it.
    pub fn load(files: TlsFiles) -> Result<Arc<Tls>, TlsError> {
        let config = build(&files)?;
        Ok(Arc::new(Tls {
            files,
            current: RwLock::new(config),
        }))
    }

    /// Reads the files again; on success, new connections get the new certificate. On
    /// failure the one in use stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let config = build(&self.files)?;
        match self.current.write() {
            Ok(mut c) => *c = config,
            Err(poisoned) => *poisoned.into_inner() = config,
        }
        Ok(())
    }

    /// An acceptor with the configuration in use now.
    pub fn acceptor(&self) -> TlsAcceptor {
        let config = match self.current.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        TlsAcceptor::from(config)
    }

    /// Reloads on every SIGHUP, logging the outcome, for as long as the process runs.
    #[cfg(unix)]
    pub fn reload_on_sighup(self: Arc<Self>) -> std::io::Result<tokio::task::JoinHandle<()>> {
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        Ok(tokio::spawn(async move {
            while hup.recv().await.is_some() {
                match self.reload() {
                    Ok(()) => tracing::info!(
                        cert = %self.files.cert.display(),
                        "SIGHUP: TLS certificate reloaded; new connections use it"
                    ),
                    Err(e) => tracing::error!(
                        error = %e,
                        "SIGHUP: the TLS certificate could not be reloaded; the one in use stays"
                    ),
                }
            }
        }))
    }
}

/// The plain-HTTP listener's application when TLS is on (`tls.redirect_http_from`): every
/// request is sent, with its path and query, to the same place under the public URL (308,
/// so a POST stays a POST). Nothing else is served over plain HTTP.
pub fn redirect_to(public_url: url::Url) -> axum::Router {
    use axum::response::IntoResponse;
    axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let public_url = public_url.clone();
        async move {
            // The path and query are set on the public URL, never joined to it: a path such
            // as `/http:evil.example` must not become another origin.
            let mut to = public_url.clone();
            let base = public_url.path().trim_end_matches('/').to_string();
            to.set_path(&format!("{base}{}", uri.path()));
            to.set_query(uri.query());
            (
                axum::http::StatusCode::PERMANENT_REDIRECT,
                [(axum::http::header::LOCATION, to.to_string())],
            )
                .into_response()
        }
    })
}
