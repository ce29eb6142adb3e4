//! Enrolled devices.

use portcullis_domain::device::Device;
use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

use crate::row::{flag, ms, ts, uuid};
use crate::{Conn, Result};

fn from_row(r: &AnyRow) -> Result<Device> {
    Ok(Device {
        id: uuid(r, "id")?,
        owner: uuid(r, "owner_id")?,
        display_name: r.try_get("display_name")?,
        platform: r.try_get("platform")?,
        is_compliant: flag(r, "is_compliant")?,
        public_key: r.try_get("public_key")?,
        created_at: ts(r, "created_at")?,
    })
}

/// Enrolls a device.
pub async fn insert(c: &mut Conn, d: &Device) -> Result<()> {
    sqlx::query("INSERT INTO devices (id, owner_id, display_name, platform, is_compliant, public_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(d.id.to_string())
        .bind(d.owner.to_string())
        .bind(&d.display_name)
        .bind(&d.platform)
        .bind(i64::from(d.is_compliant))
        .bind(&d.public_key)
        .bind(ms(d.created_at))
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

/// Every device, oldest first.
pub async fn list(c: &mut Conn) -> Result<Vec<Device>> {
    let rows = sqlx::query("SELECT * FROM devices ORDER BY created_at, id")
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Marks a device compliant or not; returns whether it exists.
pub async fn set_compliant(c: &mut Conn, id: Uuid, compliant: bool) -> Result<bool> {
    let done = sqlx::query("UPDATE devices SET is_compliant = $1 WHERE id = $2")
        .bind(i64::from(compliant))
        .bind(id.to_string())
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected() == 1)
}
