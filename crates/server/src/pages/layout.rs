//! The frame every page shares, and the error page.

use axum::http::StatusCode;
use maud::{html, Markup, DOCTYPE};

/// The site stylesheet, served from `/static/portcullis.css` (the CSP allows no inline styles).
pub const STYLESHEET: &str = r#"
:root { color-scheme: light dark; --accent: #2456c7; --on-accent: #fff; --bad: #b3261e; --ok: #1e7b34; }
/* Dark mode: colours that keep text at WCAG AA (4.5:1) on the dark canvas. */
@media (prefers-color-scheme: dark) { :root { --accent: #8ab4f8; --on-accent: #0b1b3a; --bad: #f2b8b5; --ok: #8fdc9f; } a { color: var(--accent); } }
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: Canvas; color: CanvasText; }
main { max-width: 28rem; margin: 8vh auto; padding: 2rem; border: 1px solid #8884; border-radius: 12px; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
.brand { font-weight: 600; letter-spacing: .02em; color: var(--accent); margin-bottom: 1.25rem; }
label { display: block; margin: .75rem 0 .25rem; font-weight: 500; }
input[type=text], input[type=password] { width: 100%; padding: .55rem .7rem; font: inherit; border: 1px solid #8888; border-radius: 6px; }
button { margin-top: 1.25rem; padding: .55rem 1.2rem; font: inherit; border: 0; border-radius: 6px; background: var(--accent); color: var(--on-accent); cursor: pointer; }
.notice { padding: .75rem 1rem; border-radius: 8px; margin: 1rem 0; }
.notice.error { border: 1px solid var(--bad); color: var(--bad); }
.notice.ok { border: 1px solid var(--ok); color: var(--ok); }
.muted { opacity: .85; font-size: .9rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
ul.methods { list-style: none; padding: 0; }
li.method, li.factor { border: 1px solid #8884; border-radius: 8px; padding: .75rem 1rem; margin: .5rem 0; }
li.method form, li.factor form { display: inline; }
.usable { color: var(--ok); font-size: .9rem; }
button.secondary { background: transparent; color: var(--bad); border: 1px solid var(--bad); margin-top: .5rem; padding: .3rem .8rem; }
button.link { background: none; color: var(--accent); padding: 0; margin: 0; text-decoration: underline; }
details { margin-top: 1rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dt { font-weight: 500; }
/* The admin center: navigation beside a wide page; one column on a phone. */
body.admin main { max-width: none; margin: 0; border: 0; border-radius: 0; padding: 1rem 1.5rem 3rem; }
.admin-top { display: flex; flex-wrap: wrap; justify-content: space-between; gap: .5rem; padding: .6rem 1.5rem; border-bottom: 1px solid #8884; }
.admin-top .brand { margin: 0; }
.admin-shell { display: flex; flex-wrap: wrap; align-items: flex-start; }
.admin-nav { flex: 0 0 14rem; padding: 1rem; }
.admin-nav ul { list-style: none; margin: 0; padding: 0; }
.admin-nav a { display: block; padding: .4rem .6rem; border-radius: 6px; color: inherit; text-decoration: none; }
.admin-nav a[aria-current=page] { background: #2456c722; font-weight: 600; }
.admin-nav a:focus-visible, .admin-main a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.admin-main { flex: 1 1 30rem; min-width: 0; max-width: 72rem; }
@media (max-width: 700px) { .admin-nav { flex-basis: 100%; padding: .5rem 1rem; } .admin-nav li { display: inline-block; } }
.crumbs { font-size: .9rem; opacity: .8; margin: 0 0 .5rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
caption { text-align: left; font-weight: 500; padding: .25rem 0; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #8884; vertical-align: top; }
.admin-main { overflow-x: auto; }
fieldset { border: 1px solid #8884; border-radius: 8px; margin: 1rem 0; padding: .5rem 1rem 1rem; }
fieldset.inner { margin: .75rem 0; }
fieldset.actions { border: 0; padding: 0; }
legend { font-weight: 600; padding: 0 .3rem; }
.check { display: flex; align-items: center; gap: .5rem; margin: .5rem 0; }
.check label { margin: 0; }
.field select, textarea { font: inherit; padding: .4rem .6rem; border: 1px solid #8888; border-radius: 6px; }
textarea { width: 100%; }
.inline { display: flex; gap: .5rem; flex-wrap: wrap; align-items: center; }
.inline input { flex: 1 1 20rem; width: auto; }
.inline button { margin-top: 0; }
.field-error { color: var(--bad); margin: .25rem 0 0; font-weight: 500; }
.notice.info { border: 1px solid #8888; }
li.warning { margin: .25rem 0; }
.tabs { display: flex; gap: 1rem; margin: .5rem 0; }
.mono { font-family: ui-monospace, monospace; font-size: .9rem; }
button.secondary-action { background: transparent; color: var(--accent); border: 1px solid var(--accent); }
button.danger { background: var(--bad); color: var(--on-accent); }
button:disabled { opacity: .5; cursor: not-allowed; }
fieldset.actions button { margin-right: .5rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
a.button-link { display: inline-block; padding: .45rem 1rem; border-radius: 6px; background: var(--accent); color: var(--on-accent); text-decoration: none; }
form.rename { margin: .5rem 0; }
form.rename label { margin: .25rem 0; font-weight: 400; }
form.filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: flex-end; }
form.filters label { margin: 0 0 .2rem; }
form.filters button { margin-top: 0; }
.filter input, .filter select { font: inherit; padding: .4rem .6rem; border: 1px solid #8888; border-radius: 6px; }
.before-after { display: flex; flex-wrap: wrap; gap: 1rem; }
.before-after pre { max-width: 34rem; overflow-x: auto; font-size: .85rem; }
.pager { margin: 1rem 0; }
.cards { display: flex; flex-wrap: wrap; gap: 1rem; }
.card { flex: 1 1 18rem; border: 1px solid #8884; border-radius: 10px; padding: .5rem 1rem 1rem; }
.card h2 { margin-top: .5rem; }
.big { font-size: 2rem; font-weight: 600; margin: .25rem 0; }
#impact { border-top: 2px solid #8884; margin-top: 1.5rem; }
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
                link rel="icon" href="/static/favicon.svg" type="image/svg+xml";
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
