//! Keystone's error body: `{"error": {"code": 401, "title": "Unauthorized",
//! "message": "..."}}`. Also used for 401s on the Nova paths, since that is
//! what keystonemiddleware answers there.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::body::BodyError;

#[derive(Debug)]
pub struct KeystoneError {
    pub status: StatusCode,
    pub message: String,
}

impl KeystoneError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        KeystoneError { status, message: message.into() }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "The resource could not be found.")
    }

    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "The method is not allowed for the requested URL.")
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ecs_core::identity::UNAUTHORIZED)
    }
}

impl From<ecs_core::Error> for KeystoneError {
    fn from(e: ecs_core::Error) -> Self {
        use ecs_core::Error as E;
        if let E::Forbidden(ecs_core::Forbidden::Policy { rule }) = &e {
            let message = format!("You are not authorized to perform the requested action: {rule}.");
            return Self::new(StatusCode::FORBIDDEN, message);
        }
        let status = match &e {
            E::Invalid(_) => StatusCode::BAD_REQUEST,
            E::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            E::Forbidden(_) | E::QuotaExceeded { .. } => StatusCode::FORBIDDEN,
            E::NotFound { .. } => StatusCode::NOT_FOUND,
            E::Conflict(_) | E::InvalidState { .. } | E::Locked { .. } => StatusCode::CONFLICT,
            E::Unsupported => StatusCode::NOT_IMPLEMENTED,
            E::NoValidHost { .. } | E::Internal(_) => {
                tracing::error!(error = %e, "internal error");
                return Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "An unexpected error prevented the server from fulfilling your request.",
                );
            }
        };
        Self::new(status, e.to_string())
    }
}

impl From<BodyError> for KeystoneError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge => Self::new(StatusCode::PAYLOAD_TOO_LARGE, "Request is too large."),
            BodyError::UnsupportedMediaType => {
                Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Content-Type.")
            }
            BodyError::UnsupportedEncoding => {
                Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Content-Encoding.")
            }
            BodyError::Incomplete => Self::bad_request("The request body is incomplete."),
            BodyError::TimedOut => Self::new(StatusCode::REQUEST_TIMEOUT, "Timed out reading the request body."),
            BodyError::Malformed => Self::bad_request(
                "The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.",
            ),
        }
    }
}

fn title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Request Entity Too Large",
        408 => "Request Timeout",
        415 => "Unsupported Media Type",
        _ => "Internal Server Error",
    }
}

impl IntoResponse for KeystoneError {
    fn into_response(self) -> Response {
        let body =
            json!({"error": {"code": self.status.as_u16(), "title": title(self.status), "message": self.message}});
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert("www-authenticate", HeaderValue::from_static("Keystone uri=\"/identity\""));
        }
        response
    }
}
