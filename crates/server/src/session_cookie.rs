//! Cookies: the single-sign-on session cookie (a random token; the session lives in the
//! store) and the Security info app's own cookies. All are HttpOnly and SameSite=Lax, and
//! Secure unless the server is plain-HTTP localhost.

use axum::http::{header, HeaderMap, HeaderValue};
use portcullis_domain::Timestamp;

/// The session cookie's name.
pub const NAME: &str = "portcullis_session";

/// The cookie a browser keeps after a passkey sign-in so that, there only, the sign-in page
/// goes straight to the passkey prompt for that name (R23).
pub const PASSKEY_HINT: &str = "portcullis_passkey_hint";

/// How long a browser keeps the passkey hint (400 days, the longest browsers keep a cookie).
pub const PASSKEY_HINT_MAX_AGE: i64 = 400 * 24 * 3600;

/// The value of cookie `name` in a request, if any.
pub fn read_named(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// `Set-Cookie` for `name=value` on `path` for `max_age` seconds.
pub fn set_named(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        max_age.max(0)
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The session token in a request's cookies, if any.
pub fn read(headers: &HeaderMap) -> Option<String> {
    read_named(headers, NAME)
}

/// `Set-Cookie` for a new session.
pub fn set(token: &str, expires_at: Timestamp, now: Timestamp, secure: bool) -> HeaderValue {
    set_named(NAME, token, "/", (expires_at - now).whole_seconds(), secure)
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear(secure: bool) -> HeaderValue {
    set_named(NAME, "", "/", 0, secure)
}
