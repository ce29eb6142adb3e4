//! Server-rendered pages (maud). Markup only: no decisions are made here.

mod layout;
pub mod signin;

pub use layout::{error_page, layout, STYLESHEET};
