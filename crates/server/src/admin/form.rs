//! A posted HTML form as its fields, in order, repeated names kept (a list of checkboxes
//! posts one `name=value` per checked box, which `axum::Form` cannot read into a list).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::PageError;

/// The fields of an `application/x-www-form-urlencoded` body.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fields(Vec<(String, String)>);

impl Fields {
    /// Parses a body.
    pub fn parse(body: &[u8]) -> Fields {
        Fields(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, trimmed.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.trim())
    }

    /// Whether `name` was posted with `value` (a checked box, a chosen radio or option).
    pub fn is(&self, name: &str, value: &str) -> bool {
        self.0.iter().any(|(k, v)| k == name && v == value)
    }

    /// Every value of `name`, trimmed, blanks skipped.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }
}

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !form {
            return Err(PageError::BadRequest(
                "Send this form as application/x-www-form-urlencoded.".into(),
            )
            .into_response());
        }
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                PageError::TooLarge.into_response()
            } else {
                PageError::BadRequest(format!("The form could not be read: {}", e.body_text()))
                    .into_response()
            }
        })?;
        Ok(Fields::parse(&body))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn repeated_names_are_kept_in_order_and_blanks_skipped() {
        let f = super::Fields::parse(b"aaguid=a&x=1&aaguid=+b+&aaguid=&ok=on");
        assert_eq!(f.all("aaguid").collect::<Vec<_>>(), vec!["a", "b"]);
        assert_eq!(f.get("x"), "1");
        assert_eq!(f.get("missing"), "");
        assert!(f.is("ok", "on") && !f.is("ok", "off"));
    }
}
