//! Server-side session records; the cookie carries a random token whose hash is the key.

use portcullis_domain::directory::User;
use portcullis_domain::session::{AuthMethod, Session};
use portcullis_domain::Timestamp;
use uuid::Uuid;

use crate::bulk::{Cells, Param, Query, Reader};
use crate::row::{ms, ts, uuid};
use crate::write::Write;
use crate::{directory, Conn, Result, StoreError};

/// Stores a new session under the hash of its token.
pub async fn insert(c: &mut Conn, token_hash: &str, s: &Session, now: Timestamp) -> Result<()> {
    insert_write(token_hash, s, now)?.run(c).await?;
    Ok(())
}

/// [`insert`] as a write of a batch.
pub fn insert_write(token_hash: &str, s: &Session, now: Timestamp) -> Result<Write> {
    let methods =
        serde_json::to_string(&s.methods).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Write::new(
        "INSERT INTO sessions (token_hash, id, user_id, auth_time, methods, created_at, expires_at, revoked_at, passkey_aaguid, passkey_attested, credential_id, campaign_pending) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, $10, $11)",
        vec![
            Param::Text(token_hash.to_string()),
            Param::Text(s.id.to_string()),
            Param::Text(s.user_id.to_string()),
            Param::Int(ms(s.auth_time)),
            Param::Text(methods),
            Param::Int(ms(now)),
            Param::Int(ms(s.expires_at)),
            Param::text_or_null(s.passkey_aaguid.map(|a| a.to_string())),
            Param::Int(i64::from(s.passkey_attested)),
            Param::text_or_null(s.credential_id.map(|a| a.to_string())),
            Param::Int(i64::from(s.campaign_pending)),
        ],
    ))
}

/// The unrevoked session with this token hash (expiry is the caller's decision).
pub async fn by_token_hash(c: &mut Conn, token_hash: &str) -> Result<Option<Session>> {
    let r = sqlx::query("SELECT * FROM sessions WHERE token_hash = $1 AND revoked_at IS NULL")
        .bind(token_hash)
        .fetch_optional(&mut *c)
        .await?;
    r.as_ref().map(from_row).transpose()
}

/// The unrevoked session with this token hash and its user (`None` if the account is
/// gone), in one read: what every signed-in request starts with. On SQLite on the calling
/// thread, on PostgreSQL in one round trip (see [`Reader::many`]).
pub async fn with_user(r: &Reader, token_hash: &str) -> Result<Option<(Session, Option<User>)>> {
    enum Fact {
        Session(Box<Session>),
        User(Box<User>),
    }
    const LIVE: &str = "FROM sessions WHERE token_hash = $1 AND revoked_at IS NULL";
    let key = || vec![Param::Text(token_hash.to_string())];
    let queries = vec![
        Query {
            sql: format!("SELECT * {LIVE}"),
            params: key(),
            parse: |c: &dyn Cells| Ok(Fact::Session(Box::new(from_row(c)?))),
        },
        Query {
            sql: format!("SELECT * FROM users WHERE id = (SELECT user_id {LIVE})"),
            params: key(),
            parse: |c: &dyn Cells| Ok(Fact::User(Box::new(directory::user_from(c)?))),
        },
    ];
    let (mut session, mut user) = (None, None);
    for fact in r.many(queries).await?.into_iter().flatten() {
        match fact {
            Fact::Session(s) => session = Some(*s),
            Fact::User(u) => user = Some(*u),
        }
    }
    Ok(session.map(|s| (s, user)))
}

/// A session by its id, revoked or not, with when it was revoked (R47: a refresh asks what
/// signed its grant in).
pub async fn by_id(c: &mut Conn, id: Uuid) -> Result<Option<(Session, Option<Timestamp>)>> {
    let r = sqlx::query("SELECT * FROM sessions WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *c)
        .await?;
    r.as_ref()
        .map(|r| Ok((from_row(r)?, crate::row::opt_ts(r, "revoked_at")?)))
        .transpose()
}

fn from_row<R: Cells + ?Sized>(r: &R) -> Result<Session> {
    let methods = r.text("methods")?;
    let methods: Vec<AuthMethod> = serde_json::from_str(&methods)
        .map_err(|e| StoreError::Corrupt(format!("session methods: {e}")))?;
    let aaguid = r.opt_text("passkey_aaguid")?;
    let passkey_aaguid = aaguid
        .map(|a| {
            Uuid::parse_str(&a)
                .map_err(|_| StoreError::Corrupt(format!("session passkey_aaguid '{a}'")))
        })
        .transpose()?;
    let credential = r.opt_text("credential_id")?;
    let credential_id = credential
        .map(|a| {
            Uuid::parse_str(&a)
                .map_err(|_| StoreError::Corrupt(format!("session credential_id '{a}'")))
        })
        .transpose()?;
    Ok(Session {
        id: uuid(r, "id")?,
        user_id: uuid(r, "user_id")?,
        auth_time: ts(r, "auth_time")?,
        methods,
        expires_at: ts(r, "expires_at")?,
        passkey_aaguid,
        passkey_attested: crate::row::flag(r, "passkey_attested")?,
        credential_id,
        campaign_pending: crate::row::flag(r, "campaign_pending")?,
    })
}

/// Revokes a session by token hash.
pub async fn revoke(c: &mut Conn, token_hash: &str, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL")
        .bind(ms(now))
        .bind(token_hash)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Revokes every session of a user (e.g. when the account is disabled).
pub async fn revoke_user(c: &mut Conn, user: Uuid, now: Timestamp) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
    )
    .bind(ms(now))
    .bind(user.to_string())
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected())
}

/// Revokes every live session of a user but `keep` (the one making a change, if any); returns
/// their ids, for their grants to end with them.
pub async fn revoke_user_except(
    c: &mut Conn,
    user: Uuid,
    keep: Option<Uuid>,
    now: Timestamp,
) -> Result<Vec<Uuid>> {
    let rows = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL RETURNING id",
    )
    .bind(ms(now))
    .bind(user.to_string())
    .bind(keep.unwrap_or_else(Uuid::nil).to_string())
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(|r| uuid(r, "id")).collect()
}

/// Revokes the user's live sessions but `keep` that a password alone signed in; returns
/// their ids.
pub async fn revoke_password_only(
    c: &mut Conn,
    user: Uuid,
    keep: Option<Uuid>,
    now: Timestamp,
) -> Result<Vec<Uuid>> {
    // Written as `insert_write` writes a password-only sign-in's methods.
    let password_only = serde_json::to_string(&[AuthMethod::Password])
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let rows = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL AND methods = $4 RETURNING id",
    )
    .bind(ms(now))
    .bind(user.to_string())
    .bind(keep.unwrap_or_else(Uuid::nil).to_string())
    .bind(password_only)
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(|r| uuid(r, "id")).collect()
}

/// Revokes the live sessions a credential (a pass, a passkey) of `owner` signed in; returns
/// their ids. The owner finds them through the sessions' index (user, credential).
pub async fn revoke_by_credential(
    c: &mut Conn,
    owner: Uuid,
    credential_id: Uuid,
    now: Timestamp,
) -> Result<Vec<Uuid>> {
    // One statement: a session the credential signs in between a read and a write could
    // otherwise be revoked without its id being returned (and its grants kept).
    let rows = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND credential_id = $3 AND revoked_at IS NULL RETURNING id",
    )
    .bind(ms(now))
    .bind(owner.to_string())
    .bind(credential_id.to_string())
    .fetch_all(&mut *c)
    .await?;
    let ids = rows
        .iter()
        .map(|r| uuid(r, "id"))
        .collect::<Result<Vec<_>>>()?;
    Ok(ids)
}
