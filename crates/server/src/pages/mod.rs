//! Server-rendered pages (maud). Markup only: no decisions are made here.

mod layout;
pub mod security_info;
pub mod signin;

/// The page script: WebAuthn through the browser's native JSON helpers.
pub const SCRIPT: &str = include_str!("portcullis.js");

pub use layout::{error_page, layout, STYLESHEET};
