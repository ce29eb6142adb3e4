//! Timestamp formatting shared by every surface (RFC 3339, UTC, whole seconds).

use crate::Timestamp;
use time::format_description::well_known::Rfc3339;

/// Formats a timestamp as RFC 3339 in UTC with whole seconds, e.g. `2026-01-02T03:04:05Z`.
pub fn rfc3339(t: Timestamp) -> String {
    let t = t
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t);
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// A text that is not an RFC 3339 date-time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{input}' is not an RFC 3339 date-time ({reason})")]
pub struct NotRfc3339 {
    /// The text.
    pub input: String,
    /// What the parser said.
    pub reason: String,
}

/// Parses an RFC 3339 timestamp with `Z` or a numeric offset.
pub fn parse_rfc3339(s: &str) -> Result<Timestamp, NotRfc3339> {
    Timestamp::parse(s.trim(), &Rfc3339).map_err(|e| NotRfc3339 {
        input: s.into(),
        reason: e.to_string(),
    })
}

/// Milliseconds since the Unix epoch (the store's representation).
pub fn to_millis(t: Timestamp) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The inverse of [`to_millis`]; out-of-range values clamp to the epoch.
pub fn from_millis(ms: i64) -> Timestamp {
    Timestamp::from_unix_timestamp_nanos(i128::from(ms).saturating_mul(1_000_000))
        .unwrap_or(Timestamp::UNIX_EPOCH)
}
