//! The functional core of Portcullis.
//!
//! Everything here is plain data and pure decisions: no I/O, no clock reads (the
//! current time is always an argument), no database or HTTP types. The store,
//! the HTTP server and the CLI are thin shells that load data, call these
//! functions, and persist what they return.

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
