//! WebAuthn ceremonies for Portcullis, on `webauthn-rs-core`.
//!
//! This crate never parses CBOR, COSE, X.509 or TPM structures itself and never checks a
//! signature itself: `webauthn-rs-core` does, and for what the library does not take — the
//! FIDO metadata BLOB, and the `android-safetynet` and SHA-1 `tpm` statements it refuses
//! outright — `jsonwebtoken`, `ring`, `x509-parser` and `tpm2-protocol` do (see
//! `statement`); assertion signatures are verified with `ring`, the library performing
//! every other check (see `assertion`). It sets the options Portcullis requires (R17), turns the results into plain
//! facts (AAGUID, statement format, attestation type, flags) for the policy engine, and
//! names every failure with a stable code and a sentence a person can act on.

mod assertion;
mod binding;
pub mod ceremony;
pub mod error;
mod jws;
pub mod mds;
mod okp;
mod safetynet;
mod statement;
mod tpm;
pub mod trust;

pub use ceremony::{
    Assertion, AttestationKind, NewCredential, RegistrationResponse, RelyingParty, Reported,
};
pub use error::CeremonyError;
pub use mds::{verify_blob, BlobCheck, MdsBlob, MdsError, Staleness, MDS_SIGNER};
pub use trust::{verify_trust, RootEntry, RootScope, TrustRoots, TrustVerdict};
pub use webauthn_rs_core::proto::{
    AuthenticationState, Credential, PublicKeyCredential, RegisterPublicKeyCredential,
    RegistrationState,
};
