//! Applications (service principals), their client secrets and granted permissions.

use portcullis_domain::application::{Application, CustomSecurityAttributes, IdTokenSigning};
use portcullis_domain::directory::FirstPartyApp;
use portcullis_domain::Timestamp;
use sqlx::Row;
use uuid::Uuid;

use crate::bulk::{Cells, Param, Reader};
use crate::row::{flag, ms};
use crate::{Conn, Result, StoreError};

/// An application from its row, whichever driver read it.
pub(crate) fn from_row<R: Cells + ?Sized>(r: &R) -> Result<Application> {
    let app_id = r.text("app_id")?;
    let object_id = r.opt_text("object_id")?;
    let sp_object_id = r.opt_text("sp_object_id")?;
    let uris = r.text("redirect_uris")?;
    let attrs = r.text("attributes")?;
    let alg = r.text("id_token_alg")?;
    Ok(Application {
        // Rows from before migration 0009 get ids at the next start (see `backfill_ids`).
        object_id: object_id.unwrap_or_else(|| app_id.clone()),
        service_principal_id: sp_object_id.unwrap_or_else(|| app_id.clone()),
        display_name: r.text("display_name")?,
        public_client: flag(r, "public_client")?,
        first_party: flag(r, "first_party")?,
        redirect_uris: serde_json::from_str(&uris)
            .map_err(|e| StoreError::Corrupt(format!("redirect_uris of {app_id}: {e}")))?,
        approved_client_app: flag(r, "approved_client_app")?,
        app_protection_policy: flag(r, "app_protection")?,
        custom_security_attributes: serde_json::from_str::<CustomSecurityAttributes>(&attrs)
            .map_err(|e| StoreError::Corrupt(format!("attributes of {app_id}: {e}")))?,
        id_token_signing: IdTokenSigning::from_alg(&alg)
            .ok_or_else(|| StoreError::Corrupt(format!("id_token_alg of {app_id}: '{alg}'")))?,
        app_id,
    })
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Registers an application.
pub async fn insert(c: &mut Conn, app: &Application, now: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO applications (app_id, display_name, public_client, first_party, created_at, object_id, sp_object_id, redirect_uris, attributes, approved_client_app, app_protection, id_token_alg) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&app.app_id)
    .bind(&app.display_name)
    .bind(i64::from(app.public_client))
    .bind(i64::from(app.first_party))
    .bind(ms(now))
    .bind(&app.object_id)
    .bind(&app.service_principal_id)
    .bind(json(&app.redirect_uris)?)
    .bind(json(&app.custom_security_attributes)?)
    .bind(i64::from(app.approved_client_app))
    .bind(i64::from(app.app_protection_policy))
    .bind(app.id_token_signing.alg())
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Saves an application's changeable fields.
pub async fn update(c: &mut Conn, app: &Application) -> Result<()> {
    sqlx::query("UPDATE applications SET display_name = $1, public_client = $2, redirect_uris = $3, attributes = $4, approved_client_app = $5, app_protection = $6, id_token_alg = $7 WHERE app_id = $8")
        .bind(&app.display_name)
        .bind(i64::from(app.public_client))
        .bind(json(&app.redirect_uris)?)
        .bind(json(&app.custom_security_attributes)?)
        .bind(i64::from(app.approved_client_app))
        .bind(i64::from(app.app_protection_policy))
        .bind(app.id_token_signing.alg())
        .bind(&app.app_id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Deletes an application that is not first-party (its grants, secret and permissions go
/// with it); returns whether one was deleted.
pub async fn delete(c: &mut Conn, app_id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM applications WHERE app_id = $1 AND first_party = 0")
        .bind(app_id)
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Every application, by name.
pub async fn list(c: &mut Conn) -> Result<Vec<Application>> {
    let rows = sqlx::query("SELECT * FROM applications ORDER BY display_name, app_id")
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(from_row).collect()
}

/// An application by client id.
pub async fn by_app_id(c: &mut Conn, app_id: &str) -> Result<Option<Application>> {
    let r = sqlx::query(BY_APP_ID)
        .bind(app_id)
        .fetch_optional(&mut *c)
        .await?;
    r.as_ref().map(from_row).transpose()
}

/// [`by_app_id`], through the reader: the lookup of every authorization and token request
/// (on SQLite on the calling thread, with no hand-off to a connection's worker).
pub async fn by_app_id_read(r: &Reader, app_id: &str) -> Result<Option<Application>> {
    let params = vec![Param::Text(app_id.to_string())];
    r.one_row(BY_APP_ID, params, |c: &dyn Cells| from_row(c))
        .await
}

const BY_APP_ID: &str = "SELECT * FROM applications WHERE app_id = $1";

/// An application by its application object id.
pub async fn by_object_id(c: &mut Conn, id: &str) -> Result<Option<Application>> {
    let r = sqlx::query("SELECT * FROM applications WHERE object_id = $1")
        .bind(id)
        .fetch_optional(&mut *c)
        .await?;
    r.as_ref().map(from_row).transpose()
}

/// An application by its service principal's object id.
pub async fn by_service_principal_id(c: &mut Conn, id: &str) -> Result<Option<Application>> {
    let r = sqlx::query("SELECT * FROM applications WHERE sp_object_id = $1")
        .bind(id)
        .fetch_optional(&mut *c)
        .await?;
    r.as_ref().map(from_row).transpose()
}

/// Registers a first-party application if it is missing, and keeps its client type and
/// redirect URIs as this version of Portcullis defines them.
pub async fn ensure_first_party(
    c: &mut Conn,
    app: &FirstPartyApp,
    redirect_uris: &[String],
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO applications (app_id, display_name, public_client, first_party, created_at, object_id, sp_object_id, redirect_uris) VALUES ($1, $2, $3, 1, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(app.app_id)
    .bind(app.display_name)
    .bind(i64::from(app.public_client))
    .bind(ms(now))
    .bind(Uuid::new_v4().to_string())
    .bind(Uuid::new_v4().to_string())
    .bind(json(&redirect_uris)?)
    .execute(&mut *c)
    .await?;
    sqlx::query("UPDATE applications SET public_client = $1, first_party = 1, redirect_uris = $2 WHERE app_id = $3")
        .bind(i64::from(app.public_client))
        .bind(json(&redirect_uris)?)
        .bind(app.app_id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Gives object ids to applications registered before they had any.
pub async fn backfill_ids(c: &mut Conn) -> Result<()> {
    let rows = sqlx::query(
        "SELECT app_id FROM applications WHERE object_id IS NULL OR sp_object_id IS NULL",
    )
    .fetch_all(&mut *c)
    .await?;
    for r in rows {
        let app_id: String = r.try_get("app_id")?;
        sqlx::query("UPDATE applications SET object_id = COALESCE(object_id, $1), sp_object_id = COALESCE(sp_object_id, $2) WHERE app_id = $3")
            .bind(Uuid::new_v4().to_string())
            .bind(Uuid::new_v4().to_string())
            .bind(app_id)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// One client secret of an application (Graph `passwordCredential`), without the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordCredential {
    /// `keyId`.
    pub key_id: Uuid,
    /// The first three characters of the secret (`hint`), empty when unknown.
    pub hint: String,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `startDateTime`.
    pub start_at: Timestamp,
    /// `endDateTime`.
    pub end_at: Timestamp,
}

/// Adds a client secret (its Argon2id hash) to an application's list.
pub async fn add_secret(
    c: &mut Conn,
    app_id: &str,
    cred: &PasswordCredential,
    hash: &str,
    now: Timestamp,
) -> Result<()> {
    sqlx::query("INSERT INTO application_password_credentials (key_id, app_id, secret_hash, hint, display_name, start_at, end_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(cred.key_id.to_string())
        .bind(app_id)
        .bind(hash)
        .bind(&cred.hint)
        .bind(cred.display_name.as_deref())
        .bind(ms(cred.start_at))
        .bind(ms(cred.end_at))
        .bind(ms(now))
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Removes one client secret; returns whether it existed.
pub async fn remove_secret(c: &mut Conn, app_id: &str, key_id: Uuid) -> Result<bool> {
    let done = sqlx::query(
        "DELETE FROM application_password_credentials WHERE app_id = $1 AND key_id = $2",
    )
    .bind(app_id)
    .bind(key_id.to_string())
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

fn credential_from(r: &sqlx::any::AnyRow) -> Result<PasswordCredential> {
    Ok(PasswordCredential {
        key_id: crate::row::uuid(r, "key_id")?,
        hint: r.try_get("hint")?,
        display_name: r.try_get("display_name")?,
        start_at: crate::row::ts(r, "start_at")?,
        end_at: crate::row::ts(r, "end_at")?,
    })
}

/// An application's client secrets, oldest first.
pub async fn secrets(c: &mut Conn, app_id: &str) -> Result<Vec<PasswordCredential>> {
    let rows = sqlx::query(
        "SELECT * FROM application_password_credentials WHERE app_id = $1 ORDER BY created_at, key_id",
    )
    .bind(app_id)
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(credential_from).collect()
}

/// The hashes of an application's secrets valid at `now` whose hint is `hint` (or unknown):
/// the candidates a presented secret is checked against.
pub async fn secret_hashes(
    c: &mut Conn,
    app_id: &str,
    hint: &str,
    now: Timestamp,
) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT secret_hash FROM application_password_credentials WHERE app_id = $1 AND (hint = $2 OR hint = '') AND start_at <= $3 AND end_at > $3")
        .bind(app_id)
        .bind(hint)
        .bind(ms(now))
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(|r| Ok(r.try_get("secret_hash")?)).collect()
}

/// Grants an application permission; returns false when it was already granted.
pub async fn grant_permission(c: &mut Conn, app_id: &str, permission: &str) -> Result<bool> {
    let done = sqlx::query("INSERT INTO application_permissions (app_id, permission) VALUES ($1, $2) ON CONFLICT DO NOTHING").bind(app_id).bind(permission).execute(&mut *c).await?;
    Ok(done.rows_affected() == 1)
}

/// An application's granted permissions.
pub async fn permissions(c: &mut Conn, app_id: &str) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT permission FROM application_permissions WHERE app_id = $1 ORDER BY permission",
    )
    .bind(app_id)
    .fetch_all(&mut *c)
    .await?;
    rows.iter().map(|r| Ok(r.try_get("permission")?)).collect()
}
