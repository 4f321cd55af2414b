//! Errors of the IMS API as Huawei's Image Management Service words them:
//! `{"error": {"code": "IMG.XXXX", "message": ...}}` (IMS's codes are
//! `IMG.`-prefixed; its error-code table gives them 400 unless noted),
//! and the API gateway's own refusals (no such API, bad signature) in the
//! same body.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use ecs_core::{Forbidden, Kind};

use crate::body::BodyError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImsError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

/// IMS's codes ecsd answers with, and their table's messages.
pub(crate) mod codes {
    /// The request message format is invalid.
    pub const FORMAT: &str = "IMG.0001";
    /// The image name contains more than 128 characters.
    pub const NAME_TOO_LONG: &str = "IMG.0002";
    /// The description contains more than 1024 characters.
    pub const DESCRIPTION_TOO_LONG: &str = "IMG.0004";
    /// The ECS does not exist.
    pub const NO_SERVER: &str = "IMG.0005";
    /// The request body is empty.
    pub const EMPTY_BODY: &str = "IMG.0007";
    /// The ECS cannot be used to create an image because it has in-progress tasks.
    pub const SERVER_BUSY: &str = "IMG.0010";
    /// The ECS ID is not specified (nor a volume, nor a file).
    pub const NO_SOURCE: &str = "IMG.0012";
    /// The image name is not specified.
    pub const NO_NAME: &str = "IMG.0013";
    /// The imagetype is invalid.
    pub const IMAGETYPE: &str = "IMG.0024";
    /// The image is unavailable: answered (404) for an image that does
    /// not exist or that the caller may not see.
    pub const NO_IMAGE: &str = "IMG.0046";
}

impl ImsError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ImsError {
        ImsError { status, code, message: message.into() }
    }

    /// A 400 under `code`.
    pub fn bad(code: &'static str, message: impl Into<String>) -> ImsError {
        ImsError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// IMG.0001 with what was wrong.
    pub fn format(message: impl Into<String>) -> ImsError {
        ImsError::bad(codes::FORMAT, message)
    }

    /// No API at this path: the gateway's APIGW.0101 (404).
    pub fn no_such_api() -> ImsError {
        ImsError::new(
            StatusCode::NOT_FOUND,
            "APIGW.0101",
            "The API does not exist or has not been published in the environment.",
        )
    }

    pub fn method_not_allowed() -> ImsError {
        ImsError::new(StatusCode::METHOD_NOT_ALLOWED, "APIGW.0101", "The API does not exist.")
    }

    /// Bad or missing credentials: the gateway's APIGW.0301 (401).
    pub fn unauthorized(message: impl Into<String>) -> ImsError {
        ImsError::new(StatusCode::UNAUTHORIZED, "APIGW.0301", message)
    }
}

impl IntoResponse for ImsError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(json!({"error": {"code": self.code, "message": self.message}}))).into_response()
    }
}

impl From<BodyError> for ImsError {
    fn from(e: BodyError) -> Self {
        let (status, message) = match e {
            BodyError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "Request entity too large."),
            BodyError::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "Content-Type must be JSON."),
            BodyError::UnsupportedEncoding => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "Content-Encoding is not supported.")
            }
            BodyError::Incomplete => (StatusCode::BAD_REQUEST, "The request body is incomplete."),
            BodyError::TimedOut => (StatusCode::REQUEST_TIMEOUT, "Timed out reading the request body."),
            BodyError::Malformed => (StatusCode::BAD_REQUEST, "The request message format is invalid."),
        };
        ImsError::new(status, codes::FORMAT, message)
    }
}

/// The one map from the core's errors to IMS's codes.
impl From<ecs_core::Error> for ImsError {
    fn from(e: ecs_core::Error) -> Self {
        use ecs_core::Error as E;
        let message = e.to_string();
        match &e {
            E::NotFound { kind: Kind::Server, .. } => ImsError::bad(codes::NO_SERVER, "The ECS does not exist."),
            E::NotFound { kind: Kind::Image, id } => {
                ImsError::new(StatusCode::NOT_FOUND, codes::NO_IMAGE, format!("The image {id} does not exist."))
            }
            E::NotFound { kind: Kind::Job, id } => {
                ImsError::new(StatusCode::NOT_FOUND, codes::FORMAT, format!("The job {id} does not exist."))
            }
            E::NotFound { .. } => ImsError::bad(codes::FORMAT, message),
            E::InvalidState { .. } | E::Locked { .. } => ImsError::bad(codes::SERVER_BUSY, message),
            E::QuotaExceeded { .. } => ImsError::bad(codes::FORMAT, message),
            E::Forbidden(Forbidden::Policy { rule }) => ImsError::new(
                StatusCode::FORBIDDEN,
                "Pdp.0001",
                format!("Policy does not allow {rule} to be performed."),
            ),
            E::Forbidden(_) => ImsError::new(StatusCode::FORBIDDEN, codes::FORMAT, message),
            E::Unauthorized(_) => ImsError::unauthorized(message),
            E::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                ImsError::new(StatusCode::INTERNAL_SERVER_ERROR, "IMG.0500", "Internal server error.")
            }
            E::Conflict(_) => ImsError::new(StatusCode::CONFLICT, codes::FORMAT, message),
            E::Invalid(_) | E::NoValidHost { .. } | E::Unsupported => ImsError::bad(codes::FORMAT, message),
        }
    }
}
