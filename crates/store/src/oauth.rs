//! OAuth grants, authorization codes and refresh tokens. Codes and refresh tokens are kept
//! under the SHA-256 of their value; taking one is a single `UPDATE … RETURNING`, so two
//! nodes can never both redeem it.

use portcullis_domain::session::AuthMethod;
use portcullis_domain::Timestamp;
use uuid::Uuid;

use crate::bulk::{Cells, Param};
use crate::row::{ms, opt_ts, ts, uuid};
use crate::write::{Batch, Outcome, Write};
use crate::{Conn, Result, Store, StoreError};

/// One authorization of one client by one user in one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Id (the `gid` claim of the access tokens it issues).
    pub id: Uuid,
    /// The application.
    pub client_id: String,
    /// The user.
    pub user_id: Uuid,
    /// The single-sign-on session it came from.
    pub session_id: Uuid,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// When the user authenticated.
    pub auth_time: Timestamp,
    /// How.
    pub methods: Vec<AuthMethod>,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// Why, as the code that revoked it wrote (`signed out`, `its pass was deleted`, …).
    pub revoked_reason: Option<String>,
    /// Its absolute end (R47); `None` for grants made before ends were recorded.
    pub ends_at: Option<Timestamp>,
    /// The sign-in's source address, if known.
    pub source: Option<std::net::IpAddr>,
    /// The sign-in's user agent.
    pub user_agent: String,
    /// The enrolled device that proved its key at the sign-in, if one did.
    pub device_id: Option<Uuid>,
}

pub(crate) fn grant_from<R: Cells + ?Sized>(r: &R) -> Result<Grant> {
    let methods = r.text("methods")?;
    Ok(Grant {
        id: uuid(r, "id")?,
        client_id: r.text("client_id")?,
        user_id: uuid(r, "user_id")?,
        session_id: uuid(r, "session_id")?,
        scope: r.text("scope")?,
        auth_time: ts(r, "auth_time")?,
        methods: serde_json::from_str(&methods)
            .map_err(|e| StoreError::Corrupt(format!("grant methods: {e}")))?,
        created_at: ts(r, "created_at")?,
        revoked_at: opt_ts(r, "revoked_at")?,
        revoked_reason: r.opt_text("revoked_reason")?,
        ends_at: opt_ts(r, "ends_at")?,
        // An address that does not parse was never written by this code: read as unknown.
        source: r.opt_text("source")?.and_then(|s| s.parse().ok()),
        user_agent: r.text("user_agent")?,
        device_id: r
            .opt_text("device_id")?
            .map(|d| {
                Uuid::parse_str(&d)
                    .map_err(|_| StoreError::Corrupt(format!("grant device_id '{d}'")))
            })
            .transpose()?,
    })
}

/// Stores a grant.
pub async fn insert_grant(c: &mut Conn, g: &Grant) -> Result<()> {
    insert_grant_write(g)?.run(c).await?;
    Ok(())
}

/// [`insert_grant`] as a write of a batch.
pub fn insert_grant_write(g: &Grant) -> Result<Write> {
    Ok(Write::new(
        "INSERT INTO oauth_grants (id, client_id, user_id, session_id, scope, auth_time, methods, created_at, revoked_at, ends_at, source, user_agent, device_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10, $11, $12)",
        vec![
            Param::Text(g.id.to_string()),
            Param::Text(g.client_id.clone()),
            Param::Text(g.user_id.to_string()),
            Param::Text(g.session_id.to_string()),
            Param::Text(g.scope.clone()),
            Param::Int(ms(g.auth_time)),
            Param::Text(
                serde_json::to_string(&g.methods).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            ),
            Param::Int(ms(g.created_at)),
            Param::int_or_null(g.ends_at.map(ms)),
            Param::text_or_null(g.source.map(|s| s.to_string())),
            Param::Text(g.user_agent.clone()),
            Param::text_or_null(g.device_id.map(|d| d.to_string())),
        ],
    ))
}

/// A grant by id, revoked or not.
pub async fn grant(c: &mut Conn, id: Uuid) -> Result<Option<Grant>> {
    let r = sqlx::query(GRANT)
        .bind(id.to_string())
        .fetch_optional(&mut *c)
        .await?;
    r.as_ref().map(grant_from).transpose()
}

/// A grant by id, as the reader reads it with what its tokens are minted from
/// ([`crate::token_reads`]).
pub(crate) const GRANT: &str = "SELECT * FROM oauth_grants WHERE id = $1";

/// Revokes a grant (idempotent); returns whether this call revoked it.
pub async fn revoke_grant(c: &mut Conn, id: Uuid, reason: &str, now: Timestamp) -> Result<bool> {
    let done = sqlx::query("UPDATE oauth_grants SET revoked_at = $1, revoked_reason = $2 WHERE id = $3 AND revoked_at IS NULL").bind(ms(now)).bind(reason).bind(id.to_string()).execute(&mut *c).await?;
    Ok(done.rows_affected() == 1)
}

/// Revokes every grant that came from a session (sign-out ends them all).
pub async fn revoke_session_grants(
    c: &mut Conn,
    session_id: Uuid,
    reason: &str,
    now: Timestamp,
) -> Result<u64> {
    let done = sqlx::query("UPDATE oauth_grants SET revoked_at = $1, revoked_reason = $2 WHERE session_id = $3 AND revoked_at IS NULL")
        .bind(ms(now))
        .bind(reason)
        .bind(session_id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected())
}

/// An authorization code as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    /// The grant it starts.
    pub grant_id: Uuid,
    /// The redirect URI of the authorization request (the token request must repeat it).
    pub redirect_uri: String,
    /// For the ID token.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// Expiry.
    pub expires_at: Timestamp,
}

/// What taking a code or refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken<T> {
    /// Unused until now; it is now used.
    Fresh(T),
    /// It was used before: a replay. Carries the grant it belongs to.
    Reused(Uuid),
    /// No such value.
    Unknown,
}

/// Stores a code under its hash.
pub async fn insert_code(c: &mut Conn, code_hash: &str, r: &CodeRecord) -> Result<()> {
    insert_code_write(code_hash, r).run(c).await?;
    Ok(())
}

/// [`insert_code`] as a write of a batch.
pub fn insert_code_write(code_hash: &str, r: &CodeRecord) -> Write {
    Write::new(
        "INSERT INTO oauth_codes (code_hash, grant_id, redirect_uri, nonce, code_challenge, expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6, NULL)",
        vec![
            Param::Text(code_hash.to_string()),
            Param::Text(r.grant_id.to_string()),
            Param::Text(r.redirect_uri.clone()),
            Param::text_or_null(r.nonce.clone()),
            Param::text_or_null(r.code_challenge.clone()),
            Param::Int(ms(r.expires_at)),
        ],
    )
}

/// Marks a code used and returns it, or says it was used before or never existed. Marking
/// it is a batch (on SQLite committed with the writes waiting beside it: group commit); the
/// code is read after it. Call it holding no connection of the pool: on SQLite the batch
/// waits for the write gate, whose holder may be waiting for a connection.
pub async fn take_code(
    store: &Store,
    code_hash: &str,
    now: Timestamp,
) -> Result<Taken<CodeRecord>> {
    let taken = Batch::new().must_change(
        Write::new(
            "UPDATE oauth_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL",
            vec![Param::Int(ms(now)), Param::Text(code_hash.to_string())],
        ),
        (),
    );
    let fresh = store.commit_batch(taken).await? == Outcome::Committed;
    let read = store
        .reader()
        .one_row(
            "SELECT grant_id, redirect_uri, nonce, code_challenge, expires_at FROM oauth_codes WHERE code_hash = $1",
            vec![Param::Text(code_hash.to_string())],
            |r: &dyn Cells| {
                Ok(CodeRecord {
                    grant_id: uuid(r, "grant_id")?,
                    redirect_uri: r.text("redirect_uri")?,
                    nonce: r.opt_text("nonce")?,
                    code_challenge: r.opt_text("code_challenge")?,
                    expires_at: ts(r, "expires_at")?,
                })
            },
        )
        .await?;
    Ok(match read {
        Some(r) if fresh => Taken::Fresh(r),
        Some(r) => Taken::Reused(r.grant_id),
        None => Taken::Unknown,
    })
}

/// Stores a refresh token under its hash.
pub async fn insert_refresh(
    c: &mut Conn,
    token_hash: &str,
    grant_id: Uuid,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<()> {
    sqlx::query("INSERT INTO oauth_refresh_tokens (token_hash, grant_id, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, NULL)")
        .bind(token_hash)
        .bind(grant_id.to_string())
        .bind(ms(now))
        .bind(ms(expires_at))
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Marks a refresh token used (it rotates) and returns (grant, expiry), or says it was used
/// before or never existed.
pub async fn take_refresh(
    c: &mut Conn,
    token_hash: &str,
    now: Timestamp,
) -> Result<Taken<(Uuid, Timestamp)>> {
    let r = sqlx::query("UPDATE oauth_refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL RETURNING grant_id, expires_at").bind(ms(now)).bind(token_hash).fetch_optional(&mut *c).await?;
    if let Some(r) = r {
        return Ok(Taken::Fresh((uuid(&r, "grant_id")?, ts(&r, "expires_at")?)));
    }
    let used = sqlx::query("SELECT grant_id FROM oauth_refresh_tokens WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_optional(&mut *c)
        .await?;
    Ok(match used {
        Some(r) => Taken::Reused(uuid(&r, "grant_id")?),
        None => Taken::Unknown,
    })
}
