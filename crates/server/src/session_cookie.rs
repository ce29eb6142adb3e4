//! The session cookie: a random token; the session itself lives in the store.

use axum::http::{header, HeaderMap, HeaderValue};
use portcullis_domain::Timestamp;

/// Cookie name.
pub const NAME: &str = "portcullis_session";

/// The session token in a request's cookies, if any.
pub fn read(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == NAME)
        .map(|(_, v)| v.to_string())
}

/// `Set-Cookie` for a new session: HttpOnly, SameSite=Lax, Secure unless local HTTP.
pub fn set(token: &str, expires_at: Timestamp, now: Timestamp, secure: bool) -> HeaderValue {
    let max_age = (expires_at - now).whole_seconds().max(0);
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{NAME}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{NAME}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")).unwrap_or_else(|_| HeaderValue::from_static(""))
}
