//! Server-rendered pages (maud). Markup only: no decisions are made here.

pub mod admin;
pub mod campaign;
pub mod factors;
mod layout;
pub mod oidc;
pub mod password;
pub mod security_info;
pub mod signin;

/// A refusal's message as a sentence on a page: capitalised, with a full stop.
pub fn sentence(s: &str) -> String {
    let mut c = s.chars();
    let first: String = c
        .next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default();
    if first.ends_with('.') {
        first
    } else {
        format!("{first}.")
    }
}

/// The site's icon: a portcullis, as SVG.
pub const FAVICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#2456c7"/><path d="M7 6h18v20h-3V10h-3v16h-3V10h-3v16h-3V10H7z" fill="#fff"/><path d="M7 14h18v2H7zm0 6h18v2H7z" fill="#fff"/></svg>"##;

/// The page script: WebAuthn through the browser's native JSON helpers.
pub const SCRIPT: &str = include_str!("portcullis.js");

pub use layout::{error_page, layout, STYLESHEET};
pub use oidc::{access_denied_page, confirm_sign_out_page, signed_out_page};
