//! The edge every request passes: a body declared larger than allowed is refused before any
//! of it is read (so `Expect: 100-continue` gets 413 at once, not `100 Continue`); an error
//! the router or an extractor answered bare (a 405, a path that does not parse) is given the
//! error shape of the surface it was sent to; and a handler that panics answers a 500 in
//! that shape instead of dropping the connection.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::api::ApiError;
use crate::graph::{finish, gerr};
use crate::route_table::Surface;
use crate::AppState;

/// The request header that carries the request's id inside the server. Whatever a client
/// sends under this name is replaced.
pub const REQUEST_ID: &str = "x-portcullis-request-id";

/// Gives every request an id: in its log lines (the request span), in Graph's error body,
/// and in the `request-id` response header of every answer — so an operator finds the log
/// of the error a user reports.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    if let Ok(v) = axum::http::HeaderValue::from_str(&id) {
        req.headers_mut().insert(REQUEST_ID, v.clone());
        let mut res = next.run(req).await;
        if !res.headers().contains_key("request-id") {
            res.headers_mut().insert("request-id", v);
        }
        return res;
    }
    next.run(req).await
}

/// Which error shape a path's clients read (the route table states the same per route,
/// and a test holds the two together).
pub(crate) fn surface(path: &str) -> Surface {
    if path.starts_with("/v1.0/")
        || path.starts_with("/beta/")
        || path == "/v1.0"
        || path == "/beta"
    {
        Surface::Graph
    } else if path.starts_with("/api/") {
        Surface::Api
    } else if path.contains("/oauth2/")
        || path.starts_with("/oidc/")
        || path.starts_with("/discovery/")
        || path.starts_with("/.well-known/")
    {
        Surface::OAuth
    } else {
        Surface::Page
    }
}

/// `message` with `status`, in the shape `surface` documents.
fn shaped(
    st: &AppState,
    headers: &HeaderMap,
    surface: Surface,
    status: StatusCode,
    message: String,
) -> Response {
    let code = match (status, surface) {
        (StatusCode::PAYLOAD_TOO_LARGE, Surface::Graph) => "Request_BadRequest",
        (StatusCode::PAYLOAD_TOO_LARGE, _) => "bodyTooLarge",
        (StatusCode::NOT_FOUND, Surface::Graph) => "Request_ResourceNotFound",
        (StatusCode::NOT_FOUND, _) => "notFound",
        (StatusCode::METHOD_NOT_ALLOWED, _) => "methodNotAllowed",
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, _) => "unsupportedMediaType",
        (s, _) if s.is_server_error() => "internalError",
        _ => "badRequest",
    };
    match surface {
        Surface::Graph => finish(st, headers, Err(gerr(status, code, message))),
        Surface::Api => ApiError::new(status, code, message).into_response(),
        Surface::OAuth => {
            let error = if status.is_server_error() {
                "server_error"
            } else {
                "invalid_request"
            };
            (
                status,
                axum::Json(json!({"error": error, "error_description": message})),
            )
                .into_response()
        }
        Surface::Page => (status, crate::pages::error_page(status, &message)).into_response(),
    }
}

/// The middleware.
pub async fn edge(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let headers = req.headers().clone();
    let on = surface(&path);
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::try_from(st.config.body_limit).unwrap_or(u64::MAX)) {
        let mut res = shaped(
            &st,
            &headers,
            on,
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The request body is too large: this server accepts at most {} bytes.",
                st.config.body_limit
            ),
        );
        // The body is never read, so the connection cannot carry another request: say so,
        // and the client opens a new one instead of writing into a closed socket.
        res.headers_mut().insert(
            header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
        return res;
    }
    let res = next.run(req).await;
    let (status, bare) = (res.status(), is_bare(&res));
    if !(status.is_client_error() || status.is_server_error()) || !bare {
        return res;
    }
    let (parts, body) = res.into_parts();
    let allow = parts.headers.get(header::ALLOW).cloned();
    let text = match axum::body::to_bytes(body, 16 * 1024).await {
        Ok(b) if !b.is_empty() => String::from_utf8_lossy(&b).into_owned(),
        _ => status.canonical_reason().unwrap_or("Error").to_string(),
    };
    let message = if status.is_server_error() {
        "Something went wrong on our side. Try again in a moment.".to_string()
    } else if status == StatusCode::METHOD_NOT_ALLOWED {
        match allow.as_ref().and_then(|a| a.to_str().ok()) {
            Some(a) => format!("{path} does not answer this method; it answers {a}."),
            None => format!("{path} does not answer this method."),
        }
    } else {
        text
    };
    let mut out = shaped(&st, &headers, on, status, message);
    // Whatever the bare answer said besides its body (Allow, WWW-Authenticate, Retry-After,
    // cookies) it still says.
    for (name, value) in &parts.headers {
        if name == header::SET_COOKIE {
            out.headers_mut().append(name.clone(), value.clone());
        } else if name != header::CONTENT_TYPE
            && name != header::CONTENT_LENGTH
            && !out.headers().contains_key(name)
        {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

/// An answer with no body, or the plain text of an extractor's rejection.
fn is_bare(res: &Response) -> bool {
    let plain = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    let empty = res
        .headers()
        .get(header::CONTENT_LENGTH)
        .is_some_and(|v| v.as_bytes() == b"0");
    plain || empty
}

/// A handler's panic, answered: a bare 500 (the edge gives it its surface's shape, with no
/// detail). The panic report ([`install_panic_report`]) has already logged it, once.
pub fn panicked(_err: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

/// The process's panic report: one log line with the message and where, never a backtrace
/// (with `RUST_BACKTRACE=1` the default report wrote ~46 KB per panic, a log any client
/// able to cause one could flood).
pub fn install_panic_report() {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("a panic");
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(panic = %what, at = %at, "panicked");
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_the_error_shape_their_clients_read() {
        assert_eq!(surface("/v1.0/users"), Surface::Graph);
        assert_eq!(surface("/beta/policies/x"), Surface::Graph);
        assert_eq!(surface("/api/signin/passkey"), Surface::Api);
        assert_eq!(surface("/oauth2/v2.0/token"), Surface::OAuth);
        assert_eq!(surface("/contoso.com/oauth2/v2.0/token"), Surface::OAuth);
        assert_eq!(surface("/.well-known/openid-configuration"), Surface::OAuth);
        assert_eq!(surface("/admin/users"), Surface::Page);
        assert_eq!(surface("/v1.0x"), Surface::Page);
    }

    #[test]
    fn a_panic_becomes_a_bare_500_for_the_edge_to_shape() {
        let res = panicked(Box::new("index out of bounds".to_string()));
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(is_bare(&res));
        let res = panicked(Box::new(7u8));
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
