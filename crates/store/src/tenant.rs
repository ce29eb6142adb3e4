//! The tenant record, written once by the first start.

use portcullis_domain::Timestamp;
use sqlx::Row;
use uuid::Uuid;

use crate::row::{ms, ts, uuid};
use crate::{Conn, Result};

/// The tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Tenant id.
    pub id: Uuid,
    /// Organisation name.
    pub display_name: String,
    /// Default domain of userPrincipalNames.
    pub domain: String,
    /// When it was bootstrapped.
    pub created_at: Timestamp,
    /// The first Global Administrator.
    pub bootstrap_admin_id: Option<Uuid>,
}

/// Creates the tenant unless one exists; returns whether this call created it.
/// The single-row primary key makes concurrent first starts race safely.
pub async fn create_if_absent(c: &mut Conn, t: &Tenant) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO tenant (singleton, tenant_id, display_name, domain, created_at, bootstrap_admin_id) VALUES (1, $1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(t.id.to_string())
    .bind(&t.display_name)
    .bind(&t.domain)
    .bind(ms(t.created_at))
    .bind(t.bootstrap_admin_id.map(|u| u.to_string()))
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The tenant, if bootstrapped.
pub async fn get(c: &mut Conn) -> Result<Option<Tenant>> {
    let Some(r) = sqlx::query("SELECT * FROM tenant WHERE singleton = 1")
        .fetch_optional(&mut *c)
        .await?
    else {
        return Ok(None);
    };
    let admin: Option<String> = r.try_get("bootstrap_admin_id")?;
    Ok(Some(Tenant {
        id: uuid(&r, "tenant_id")?,
        display_name: r.try_get("display_name")?,
        domain: r.try_get("domain")?,
        created_at: ts(&r, "created_at")?,
        bootstrap_admin_id: admin.and_then(|a| Uuid::parse_str(&a).ok()),
    }))
}

/// Records the issuer the server's tokens carry (its public URL), as `serve` starts.
pub async fn set_issuer(c: &mut Conn, issuer: &str) -> Result<()> {
    sqlx::query("UPDATE tenant SET issuer = $1 WHERE singleton = 1")
        .bind(issuer)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// The issuer the last started server recorded, if any.
pub async fn issuer(c: &mut Conn) -> Result<Option<String>> {
    Ok(sqlx::query("SELECT issuer FROM tenant WHERE singleton = 1")
        .fetch_optional(&mut *c)
        .await?
        .map(|r| r.try_get::<Option<String>, _>("issuer"))
        .transpose()?
        .flatten())
}

/// The server secret `name`: the stored one, or `fresh` stored now if there is none (of
/// concurrent first calls on any nodes, one value wins and every caller gets it).
pub async fn server_secret(c: &mut Conn, name: &str, fresh: &str) -> Result<String> {
    sqlx::query("INSERT INTO server_secrets (name, secret) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(name)
        .bind(fresh)
        .execute(&mut *c)
        .await?;
    let r = sqlx::query("SELECT secret FROM server_secrets WHERE name = $1")
        .bind(name)
        .fetch_one(&mut *c)
        .await?;
    Ok(r.try_get("secret")?)
}
