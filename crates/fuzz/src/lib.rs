//! The fuzz targets of Portcullis, as plain functions over bytes.
//!
//! `fuzz/` (cargo fuzz, libFuzzer) calls each of them from a `fuzz_target!`; the test suite
//! replays every input kept in `fuzz/corpus/<target>/` through the same function, so an input
//! that once crashed stays fixed. A target returns nothing: it fails only by panicking (or
//! by a sanitizer finding), which is what the fuzzer looks for.
//!
//! Inputs with several parts are framed ([`frame::Fields`]): each part but the last is a
//! big-endian `u16` length and its bytes; the last part is the rest.

pub mod frame;
mod graph;
mod webauthn;

pub use graph::{authorize, graph_body, odata, rules, text_fields};
pub use webauthn::{
    assertion, assertion_input, assertion_verifies, contexts as webauthn_contexts, mds_blob,
    mds_blob_verifies, recorded_assertions, recorded_blob, registration, registration_input,
    registration_verifies,
};

/// A target: its name (the directory of its corpus and the cargo fuzz binary) and function.
pub type Target = (&'static str, fn(&[u8]));

/// Every target.
pub const TARGETS: &[Target] = &[
    ("registration", registration),
    ("assertion", assertion),
    ("mds_blob", mds_blob),
    ("graph_body", graph_body),
    ("rules", rules),
    ("odata", odata),
    ("authorize", authorize),
    ("text_fields", text_fields),
];
