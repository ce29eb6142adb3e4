//! R53: the records adoption is reconstructed from — every passkey ever registered (deleted
//! ones too) a chunk at a time in (user, passkey) order, when each user was created, and the
//! sign-in log summed per day and per user.

use portcullis_domain::passkey::Passkey;
use portcullis_domain::Timestamp;
use uuid::Uuid;

use crate::bulk::{Param, Reader};
use crate::passkeys::passkey_from_row;
use crate::row::{ms, opt_ts, ts, uuid};
use crate::Result;

/// A passkey with when it was deleted and when it was disabled.
pub type Lived = (Passkey, Option<Timestamp>, Option<Timestamp>);

/// Every user with when they were created, in id order.
pub async fn users(r: &Reader) -> Result<Vec<(Uuid, Timestamp)>> {
    r.rows(
        "SELECT id, created_at FROM users ORDER BY id",
        vec![],
        |r| Ok((uuid(r, "id")?, ts(r, "created_at")?)),
    )
    .await
}

/// Up to `limit` passkeys after `after` in (user, passkey) order, deleted ones included.
pub async fn lives(r: &Reader, after: Option<(Uuid, Uuid)>, limit: i64) -> Result<Vec<Lived>> {
    let (u, p) = after.map_or((String::new(), String::new()), |(u, p)| {
        (u.to_string(), p.to_string())
    });
    r.rows(
        "SELECT id, user_id, credential_id, aaguid, display_name, fmt, attested, synced, created_at, last_used_at, sign_count, device, device_profile, flagged_clone, disabled_at, deleted_at FROM passkeys WHERE (user_id, id) > ($1, $2) ORDER BY user_id, id LIMIT $3",
        vec![Param::Text(u), Param::Text(p), Param::Int(limit)],
        |r| {
            Ok((
                passkey_from_row(r)?,
                opt_ts(r, "deleted_at")?,
                opt_ts(r, "disabled_at")?,
            ))
        },
    )
    .await
}

/// Each user's first successful passkey sign-in ever.
pub async fn first_passkey_sign_ins(r: &Reader) -> Result<Vec<Timestamp>> {
    r.rows("SELECT MIN(at) AS first FROM sign_in_log WHERE method = 'passkey' AND error_code = 0 AND app_id IS NULL AND user_id IS NOT NULL GROUP BY user_id", vec![], |r| ts(r, "first"))
        .await
}

/// Successful interactive sign-ins (not an application's single sign-on) in
/// [`from`, `to`), as (days since 1970-01-01, method, count).
pub async fn sign_ins_per_day(
    r: &Reader,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<(i64, String, i64)>> {
    r.rows("SELECT at / 86400000 AS day, method, COUNT(*) AS n FROM sign_in_log WHERE error_code = 0 AND app_id IS NULL AND at >= $1 AND at < $2 GROUP BY at / 86400000, method",
        vec![Param::Int(ms(from)), Param::Int(ms(to))],
        |r| Ok((r.int("day")?, r.text("method")?, r.int("n")?)))
        .await
}

/// Each user's successful interactive sign-ins in [`from`, `to`), as (with a passkey, with a
/// Temporary Access Pass).
pub async fn sign_ins_per_user(
    r: &Reader,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<(i64, i64)>> {
    r.rows("SELECT CAST(SUM(CASE WHEN method = 'passkey' THEN 1 ELSE 0 END) AS BIGINT) AS pk, CAST(SUM(CASE WHEN method = 'temporaryAccessPass' THEN 1 ELSE 0 END) AS BIGINT) AS tap FROM sign_in_log WHERE error_code = 0 AND app_id IS NULL AND user_id IS NOT NULL AND at >= $1 AND at < $2 GROUP BY user_id",
        vec![Param::Int(ms(from)), Param::Int(ms(to))],
        |r| Ok((r.int("pk")?, r.int("tap")?)))
        .await
}
