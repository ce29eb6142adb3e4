//! Enrolled devices.

use portcullis_domain::conditional_access::platform::Platform;
use portcullis_domain::device::Device;
use uuid::Uuid;

use crate::bulk::{Cells, Reader};

use crate::row::{flag, ms, ts, uuid};
use crate::{Conn, Result, StoreError};

fn from_row<R: Cells + ?Sized>(r: &R) -> Result<Device> {
    Ok(Device {
        id: uuid(r, "id")?,
        owner: uuid(r, "owner_id")?,
        display_name: r.text("display_name")?,
        platform: {
            let text = r.text("platform")?;
            Platform::parse(&text)
                .ok_or_else(|| StoreError::Corrupt(format!("device platform '{text}'")))?
        },
        is_compliant: flag(r, "is_compliant")?,
        public_key: r.text("public_key")?,
        created_at: ts(r, "created_at")?,
        properties: {
            let text = r.text("properties")?;
            serde_json::from_str(&text)
                .map_err(|e| StoreError::Corrupt(format!("device properties: {e}")))?
        },
    })
}

fn properties_json(d: &Device) -> Result<String> {
    serde_json::to_string(&d.properties).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Enrolls a device.
pub async fn insert(c: &mut Conn, d: &Device) -> Result<()> {
    sqlx::query("INSERT INTO devices (id, owner_id, display_name, platform, is_compliant, public_key, created_at, properties) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(d.id.to_string())
        .bind(d.owner.to_string())
        .bind(&d.display_name)
        .bind(d.platform.as_str())
        .bind(i64::from(d.is_compliant))
        .bind(&d.public_key)
        .bind(ms(d.created_at))
        .bind(properties_json(d)?)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// A device by id.
pub async fn by_id(c: &mut Conn, id: Uuid) -> Result<Option<Device>> {
    let r = sqlx::query("SELECT * FROM devices WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *c)
        .await?;
    r.as_ref().map(from_row).transpose()
}

/// A device by id, for changing it in this transaction: its row is held until commit, so a
/// concurrent change on PostgreSQL waits and then reads this one's result (SQLite's single
/// writer does the same by itself).
pub async fn by_id_for_update(c: &mut Conn, id: Uuid) -> Result<Option<Device>> {
    sqlx::query("UPDATE devices SET id = id WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    by_id(c, id).await
}

/// Every device, oldest first.
pub async fn list(r: &Reader) -> Result<Vec<Device>> {
    r.rows(
        "SELECT * FROM devices ORDER BY created_at, id",
        vec![],
        |r| from_row(r),
    )
    .await
}

/// A user's devices, oldest first.
pub async fn of_owner(c: &mut Conn, owner: Uuid) -> Result<Vec<Device>> {
    let rows = sqlx::query("SELECT * FROM devices WHERE owner_id = $1 ORDER BY created_at, id")
        .bind(owner.to_string())
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Replaces what an administrator may change: name, compliance and properties. Returns
/// whether the device exists.
pub async fn update(c: &mut Conn, d: &Device) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE devices SET display_name = $1, is_compliant = $2, properties = $3 WHERE id = $4",
    )
    .bind(&d.display_name)
    .bind(i64::from(d.is_compliant))
    .bind(properties_json(d)?)
    .bind(d.id.to_string())
    .execute(&mut *c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a device; returns whether it existed.
pub async fn delete(c: &mut Conn, id: Uuid) -> Result<bool> {
    Ok(sqlx::query("DELETE FROM devices WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *c)
        .await?
        .rows_affected()
        == 1)
}
