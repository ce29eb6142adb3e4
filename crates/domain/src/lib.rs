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

pub mod access;
pub mod actor;
pub mod application;
pub mod audit;
pub mod authz;
pub mod conditional_access;
pub mod device;
pub mod directory;
pub mod grant;
pub mod lockout;
pub mod metadata;
pub mod oidc;
pub mod passkey;
pub mod policy;
pub mod report;
pub mod session;
pub mod strength;
pub mod tap;
pub mod time_fmt;

pub use time::OffsetDateTime as Timestamp;
