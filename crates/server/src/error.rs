//! The one place where errors become HTTP responses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_service::ServiceError;

use crate::pages;

/// A failed page request, with the status and the sentence to show.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// Refused by a cross-site check.
    #[error("{0}")]
    Forbidden(String),
    /// No such page or object.
    #[error("{0}")]
    NotFound(String),
    /// The body is larger than allowed.
    #[error("The request is too large.")]
    TooLarge,
    /// R55: the registration campaign holds this session up; it goes to the campaign's
    /// page first, then on to the page given (if any).
    #[error("Add a passkey, or postpone it, before you continue.")]
    RegistrationDue(Option<String>),
    /// The server failed; details are logged, not shown.
    #[error("Something went wrong on our side. Try again in a moment.")]
    Internal(String),
}

impl PageError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RegistrationDue(_) => StatusCode::SEE_OTHER,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<ServiceError> for PageError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound(m) => Self::NotFound(m),
            ServiceError::Forbidden(m) => Self::Forbidden(m.to_string()),
            ServiceError::AppPrivilege(m) => Self::Forbidden(m.to_string()),
            ServiceError::Store(_) | ServiceError::Internal(_) => Self::Internal(e.to_string()),
            other => Self::BadRequest(other.to_string()),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            tracing::error!(%detail, "request failed");
        }
        if let Self::RegistrationDue(back) = &self {
            return axum::response::Redirect::to(&crate::campaign::page_url(back.as_deref()))
                .into_response();
        }
        let status = self.status();
        (status, pages::error_page(status, &self.to_string())).into_response()
    }
}
