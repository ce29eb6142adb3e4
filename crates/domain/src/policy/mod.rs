//! The authentication methods policy (SPEC §2) in the Graph shape (graph-api.md §1–2).
//!
//! The types serialise to exactly what Graph returns, so the store keeps them as
//! JSON documents and the API hands them out unchanged.

pub mod authenticator_config;
pub mod campaign;
pub mod fido2;
pub mod method;
pub mod oath_config;
pub mod tap_config;
pub mod targets;

pub use authenticator_config::AuthenticatorConfiguration;
pub use fido2::{Fido2Configuration, KeyRestrictions, PasskeyProfile, PasskeyTypes};
pub use method::{MethodConfiguration, MethodId, MethodState};
pub use oath_config::SoftwareOathConfiguration;
pub use tap_config::TapConfiguration;
pub use targets::{
    ExcludeTarget, GroupLookup, IncludeTarget, Scope, ScopeMiss, TargetError, TargetId, TargetType,
};

/// Why a policy document was refused; each message names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A target is not allowed (R2).
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A field's value is out of range or inconsistent with another field.
    #[error("{field}: {message}")]
    Invalid {
        /// The Graph property name.
        field: &'static str,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// The body does not parse as this configuration.
    #[error("the body is not a valid {kind}: {message}")]
    Shape {
        /// Which configuration was expected.
        kind: &'static str,
        /// The parser's explanation.
        message: String,
    },
}

pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        field,
        message: message.into(),
    }
}
