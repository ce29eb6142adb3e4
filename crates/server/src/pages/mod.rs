//! Server-rendered pages (maud). Markup only: no decisions are made here.

pub mod admin;
mod layout;
pub mod oidc;
pub mod security_info;
pub mod signin;

/// The page script: WebAuthn through the browser's native JSON helpers.
pub const SCRIPT: &str = include_str!("portcullis.js");

pub use layout::{error_page, layout, STYLESHEET};
pub use oidc::{access_denied_page, confirm_sign_out_page, signed_out_page};
