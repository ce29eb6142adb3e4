//! The frame every page shares, and the error page.

use axum::http::StatusCode;
use maud::{html, Markup, DOCTYPE};

/// The site stylesheet, served from `/static/portcullis.css` (the CSP allows no inline styles).
pub const STYLESHEET: &str = r#"
:root { color-scheme: light dark; --accent: #2456c7; --bad: #b3261e; --ok: #1e7b34; }
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: Canvas; color: CanvasText; }
main { max-width: 28rem; margin: 8vh auto; padding: 2rem; border: 1px solid #8884; border-radius: 12px; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
.brand { font-weight: 600; letter-spacing: .02em; color: var(--accent); margin-bottom: 1.25rem; }
label { display: block; margin: .75rem 0 .25rem; font-weight: 500; }
input[type=text], input[type=password] { width: 100%; padding: .55rem .7rem; font: inherit; border: 1px solid #8888; border-radius: 6px; }
button { margin-top: 1.25rem; padding: .55rem 1.2rem; font: inherit; border: 0; border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
.notice { padding: .75rem 1rem; border-radius: 8px; margin: 1rem 0; }
.notice.error { border: 1px solid var(--bad); color: var(--bad); }
.notice.ok { border: 1px solid var(--ok); color: var(--ok); }
.muted { opacity: .75; font-size: .9rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
ul.methods { list-style: none; padding: 0; }
li.method { border: 1px solid #8884; border-radius: 8px; padding: .75rem 1rem; margin: .5rem 0; }
li.method form { display: inline; }
.usable { color: var(--ok); font-size: .9rem; }
button.secondary { background: transparent; color: var(--bad); border: 1px solid var(--bad); margin-top: .5rem; padding: .3rem .8rem; }
button.link { background: none; color: var(--accent); padding: 0; margin: 0; text-decoration: underline; }
details { margin-top: 1rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dt { font-weight: 500; }
"#;

/// Wraps a page body.
pub fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Portcullis" }
                link rel="stylesheet" href="/static/portcullis.css";
            }
            body {
                main {
                    div.brand { "Portcullis" }
                    (body)
                }
            }
        }
    }
}

/// A page that explains an error.
pub fn error_page(status: StatusCode, message: &str) -> Markup {
    let title = status.canonical_reason().unwrap_or("Error");
    layout(
        title,
        html! {
            h1 { (title) }
            p.notice.error role="alert" id="error" { (message) }
            p { a href="/signin" { "Back to sign-in" } }
        },
    )
}
