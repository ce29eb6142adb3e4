//! Configuration: defaults, then a TOML file, then `PORTCULLIS_*` variables, then flags.
//! Unknown keys anywhere are an error that names the key.

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use portcullis_domain::grant::GrantLifetimes;
use portcullis_domain::lockout::LockoutPolicy;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Everything `portcullis` can be configured with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address and port to listen on.
    pub listen: String,
    /// The URL users reach Portcullis at; fixes the origin and the WebAuthn RP ID.
    pub public_url: String,
    /// Where the embedded database lives.
    pub data_dir: PathBuf,
    /// A database URL (`sqlite://…` or `postgres://…`); default: SQLite in `data_dir`.
    pub database: Option<String>,
    /// Organisation name given to a new tenant.
    pub organization: String,
    /// Domain of the first administrator's userPrincipalName in a new tenant.
    pub domain: String,
    /// Log filter (tracing syntax, e.g. `info` or `portcullis=debug`).
    pub log: String,
    /// `text` or `json` logs.
    pub log_format: LogFormat,
    /// Largest request body, in bytes.
    pub body_limit_bytes: usize,
    /// Reverse proxies (CIDR ranges) whose `X-Forwarded-For` gives the client address that
    /// Conditional Access locations and lock-outs see. Empty: the connection's address.
    pub trusted_proxies: Vec<String>,
    /// SQLite durability: `full` (fsync every commit; survives power loss) or `normal`
    /// (survives a process crash, not a power loss; much faster on slow disks).
    pub sqlite_synchronous: SqliteSync,
    /// Wrong-code limits (R13).
    pub lockout: LockoutPolicy,
    /// Per-source limits on anonymous requests (sign-in options, TAP attempts), per minute.
    pub rate_limit: portcullis_server::rate_limit::RateLimits,
    /// Bounds on connections (`max`, `header_read_timeout_seconds`,
    /// `body_read_timeout_seconds`, `idle_timeout_seconds`, `shutdown_grace_seconds`).
    pub connections: portcullis_server::listen::ConnectionLimits,
    /// How long the sign-in log is kept (`sign_in_log_days`).
    pub retention: portcullis_service::housekeeping::Retention,
    /// How long a token grant's refresh family lives at most (R47): `tap_hours` for one
    /// started by a Temporary Access Pass (never past the pass's expiry), `days` otherwise.
    pub grant_lifetime: GrantLifetimes,
    /// PEM file of the root(s) the built-in app attestation service trusts for the
    /// Authenticator AAGUIDs (R4).
    pub app_attestation_root: Option<PathBuf>,
    /// Set false to put the app attestation service in its outage mode (registrations that
    /// need it are refused as retryable, nothing stored).
    pub app_attestation_available: bool,
    /// PEM file of the root(s) an MDS3 BLOB must chain to [default: GlobalSign Root CA – R3
    /// and Root R46, shipped with the binary].
    pub mds_root: Option<PathBuf>,
    /// HTTPS built in: `[tls]` with `cert_file` and `key_file` (PEM; reloaded on SIGHUP) and,
    /// optionally, `redirect_http_from` (ADDRESS:PORT answering plain HTTP with a redirect).
    pub tls: Option<TlsSettings>,
}

/// `[tls]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM: the certificate, then its intermediates.
    pub cert_file: PathBuf,
    /// PEM: its private key.
    pub key_file: PathBuf,
    /// Where plain HTTP is answered with a redirect to the public URL (none by default).
    pub redirect_http_from: Option<String>,
}

/// SQLite's `synchronous` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSync {
    /// fsync every commit.
    Full,
    /// fsync at checkpoints.
    Normal,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line.
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            public_url: "http://localhost:8080".into(),
            data_dir: PathBuf::from("./portcullis-data"),
            database: None,
            organization: "Portcullis".into(),
            domain: "portcullis.local".into(),
            log: "info,webauthn_rs_core=off".into(),
            log_format: LogFormat::Text,
            body_limit_bytes: 64 * 1024,
            trusted_proxies: vec![],
            sqlite_synchronous: SqliteSync::Full,
            lockout: LockoutPolicy::default(),
            grant_lifetime: GrantLifetimes::default(),
            rate_limit: Default::default(),
            connections: Default::default(),
            retention: Default::default(),
            app_attestation_root: None,
            app_attestation_available: true,
            mds_root: None,
            tls: None,
        }
    }
}

/// Values given as command-line flags (highest precedence).
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

/// A configuration that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named with `--config` does not exist.
    #[error("configuration file {0} does not exist")]
    Missing(String),
    /// A key is unknown or a value has the wrong type.
    #[error("configuration error: {0}")]
    Invalid(String),
}

impl Config {
    /// Loads the configuration from the layers, in order of precedence.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            if !f.exists() {
                return Err(ConfigError::Missing(f.display().to_string()));
            }
            fig = fig.merge(Toml::file(f));
        }
        fig = fig
            .merge(Env::prefixed("PORTCULLIS_").split("__"))
            .merge(Serialized::defaults(overrides));
        let cfg: Config = fig.extract().map_err(|e| {
            // One line per problem, each naming the key and where it came from.
            ConfigError::Invalid(
                e.into_iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        cfg.check()?;
        Ok(cfg)
    }

    fn check(&self) -> Result<(), ConfigError> {
        self.listen.parse::<std::net::SocketAddr>().map_err(|_| {
            ConfigError::Invalid(format!(
                "listen: '{}' is not ADDRESS:PORT (for example 127.0.0.1:8080)",
                self.listen
            ))
        })?;
        let url = url::Url::parse(&self.public_url).map_err(|e| {
            ConfigError::Invalid(format!(
                "public_url: '{}' is not a URL ({e})",
                self.public_url
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(ConfigError::Invalid(format!(
                "public_url: '{}' must be an http(s) URL with a host",
                self.public_url
            )));
        }
        if let Some(t) = &self.tls {
            if let Some(r) = &t.redirect_http_from {
                r.parse::<std::net::SocketAddr>().map_err(|_| {
                    ConfigError::Invalid(format!(
                        "tls.redirect_http_from: '{r}' is not ADDRESS:PORT"
                    ))
                })?;
            }
        }
        for p in &self.trusted_proxies {
            portcullis_domain::conditional_access::location::parse_cidr(p)
                .map_err(|e| ConfigError::Invalid(format!("trusted_proxies: {e}")))?;
        }
        if self.body_limit_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "body_limit_bytes: must be at least 1024".into(),
            ));
        }
        let c = &self.connections;
        let day = 24 * 3600;
        if c.max == 0
            || ![
                c.header_read_timeout_seconds,
                c.body_read_timeout_seconds,
                c.idle_timeout_seconds,
                c.shutdown_grace_seconds,
            ]
            .iter()
            .all(|s| (1..=day).contains(s))
        {
            return Err(ConfigError::Invalid(
                "connections: max must be positive, and every timeout from 1 to 86400 seconds"
                    .into(),
            ));
        }
        if self.lockout.max_failures_per_user == 0
            || self.lockout.max_failures_per_source == 0
            || self.lockout.window_seconds == 0
        {
            return Err(ConfigError::Invalid(
                "lockout: limits and window must be positive".into(),
            ));
        }
        if self.rate_limit.sign_in_options_per_minute == 0
            || self.rate_limit.sign_in_answers_per_minute == 0
            || self.rate_limit.tap_attempts_per_minute == 0
            || self.retention.sign_in_log_days == 0
            || self.retention.housekeeping_minutes == 0
        {
            return Err(ConfigError::Invalid(
                "rate_limit and retention: every value must be positive".into(),
            ));
        }
        if !self.grant_lifetime.is_valid() {
            return Err(ConfigError::Invalid(
                "grant_lifetime: tap_hours and days must be positive".into(),
            ));
        }
        Ok(())
    }

    /// The database URL: the configured one, or SQLite in the data directory.
    pub fn database_url(&self) -> String {
        self.database
            .clone()
            .unwrap_or_else(|| portcullis_store::sqlite_url_for(&self.data_dir))
    }
}
