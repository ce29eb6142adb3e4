//! The functional core of Portcullis.
//!
//! Everything here is plain data and pure decisions: no I/O, no clock reads (the
//! current time is always an argument), no database or HTTP types. The store,
//! the HTTP server and the CLI are thin shells that load data, call these
//! functions, and persist what they return.

// Time and integer arithmetic in decisions is checked or saturating: an input at the edge
// of a type's range (a start date in year 9999, max_age=10^12) is refused or clamped, never
// a panic or a wrapped value.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

/// Gives a type that is text on the wire and typed inside its serde form: written as its
/// `Display` text, read with its `FromStr`, whose error becomes the parse error (and so names
/// what was wrong). One definition for every such type.
macro_rules! serde_as_text {
    ($t:ty) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use serde_as_text;

pub mod access;
pub mod actor;
pub mod adoption;
pub mod application;
pub mod audit;
pub mod authz;
pub mod conditional_access;
pub mod device;
pub mod directory;
pub mod grant;
pub mod inventory;
pub mod lockout;
pub mod metadata;
pub mod oath;
pub mod oidc;
pub mod passkey;
pub mod password;
pub mod phone;
pub mod policy;
pub mod push;
pub mod readiness;
pub mod report;
pub mod session;
pub mod strength;
pub mod tap;
#[cfg(test)]
mod test_support;
pub mod time_fmt;

pub use time::OffsetDateTime as Timestamp;
