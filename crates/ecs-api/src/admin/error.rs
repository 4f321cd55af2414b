//! Errors of ecsd's own admin APIs (`/admin/v1/…`):
//! `{"error": {"code": "InvalidDocument", "message": "…", "field": "faults[0].op"}}`,
//! `field` only where one part of a document is at fault.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::body::BodyError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The path of the offending field in the request's document.
    pub field: Option<String>,
}

impl AdminError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> AdminError {
        AdminError { status, code, message: message.into(), field: None }
    }

    pub fn bad_request(message: impl Into<String>) -> AdminError {
        AdminError::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    /// A document that does not parse or does not hold together: `field`
    /// names where (`faults[2].op`; empty for the document as a whole).
    pub fn invalid_document(field: impl Into<String>, reason: impl Into<String>) -> AdminError {
        let field = field.into();
        AdminError {
            status: StatusCode::BAD_REQUEST,
            code: "InvalidDocument",
            message: reason.into(),
            field: (!field.is_empty()).then_some(field),
        }
    }

    pub fn not_found(message: impl Into<String>) -> AdminError {
        AdminError::new(StatusCode::NOT_FOUND, "NotFound", message)
    }

    pub fn conflict(message: impl Into<String>) -> AdminError {
        AdminError::new(StatusCode::CONFLICT, "Conflict", message)
    }

    pub fn no_such_api() -> AdminError {
        AdminError::not_found("The resource could not be found.")
    }

    pub fn method_not_allowed() -> AdminError {
        AdminError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The method is not allowed for this resource.",
        )
    }

    pub fn unauthorized() -> AdminError {
        AdminError::new(StatusCode::UNAUTHORIZED, "Unauthorized", "The request you have made requires authentication.")
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(field) = self.field {
            error["field"] = json!(field);
        }
        (self.status, axum::Json(json!({"error": error}))).into_response()
    }
}

impl From<BodyError> for AdminError {
    fn from(e: BodyError) -> Self {
        let (status, message) = match e {
            BodyError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large."),
            BodyError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "The request body must be application/json.")
            }
            BodyError::UnsupportedEncoding => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "Content-Encoding is not supported.")
            }
            BodyError::Incomplete => (StatusCode::BAD_REQUEST, "The request body is incomplete."),
            BodyError::TimedOut => (StatusCode::REQUEST_TIMEOUT, "Timed out reading the request body."),
            BodyError::Malformed => return AdminError::invalid_document("", "The request body is not valid JSON."),
        };
        let code = if status == StatusCode::BAD_REQUEST { "BadRequest" } else { "UnsupportedRequest" };
        AdminError::new(status, code, message)
    }
}

/// The one map from the core's errors to the admin API's.
impl From<ecs_core::Error> for AdminError {
    fn from(e: ecs_core::Error) -> Self {
        use ecs_core::Error as E;
        let message = e.to_string();
        let (status, code) = match &e {
            E::NotFound { .. } => (StatusCode::NOT_FOUND, "NotFound"),
            E::Invalid(_) => (StatusCode::BAD_REQUEST, "BadRequest"),
            E::InvalidState { .. } | E::Locked { .. } | E::Conflict(_) => (StatusCode::CONFLICT, "Conflict"),
            E::QuotaExceeded { .. } | E::NoValidHost { .. } => (StatusCode::CONFLICT, "Conflict"),
            E::Forbidden(ecs_core::Forbidden::Policy { rule }) => {
                return AdminError::new(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    format!("Policy doesn't allow {rule} to be performed."),
                );
            }
            E::Forbidden(_) => (StatusCode::FORBIDDEN, "Forbidden"),
            E::Unauthorized(_) => return AdminError::unauthorized(),
            E::Unsupported => (StatusCode::NOT_IMPLEMENTED, "NotImplemented"),
            E::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                return AdminError::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", "Internal error.");
            }
        };
        AdminError::new(status, code, message)
    }
}
