//! Nova's fault body: `{"<faultName>": {"code": 404, "message": "..."}}`.
//! Every error on the Nova paths is rendered here.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::body::BodyError;
use crate::identity::KeystoneError;

#[derive(Debug)]
pub struct NovaError {
    pub status: StatusCode,
    pub message: String,
}

impl NovaError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        NovaError { status, message: message.into() }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "The resource could not be found.")
    }

    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "The method specified is not allowed for this resource.")
    }
}

/// Nova's fault names by status (`nova.api.openstack.wsgi.Fault`); a
/// status it does not name (406 among them) is a `computeFault`.
fn fault_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "badRequest",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "itemNotFound",
        405 => "badMethod",
        409 => "conflictingRequest",
        413 | 429 => "overLimit",
        415 => "badMediaType",
        501 => "notImplemented",
        503 => "serviceUnavailable",
        _ => "computeFault",
    }
}

impl IntoResponse for NovaError {
    fn into_response(self) -> Response {
        let body = json!({fault_name(self.status): {"code": self.status.as_u16(), "message": self.message}});
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<ecs_core::Error> for NovaError {
    fn from(e: ecs_core::Error) -> Self {
        use ecs_core::Error as E;
        let status = match &e {
            // A fault scenario's refusal keeps the status of the ECS code it names.
            E::Invalid(ecs_core::Invalid::Injected { code, .. }) => crate::ecs::codes::lookup(code)
                .and_then(|c| StatusCode::from_u16(c.status).ok())
                .unwrap_or(StatusCode::BAD_REQUEST),
            E::Invalid(_) => StatusCode::BAD_REQUEST,
            E::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            E::Forbidden(_) | E::QuotaExceeded { .. } => StatusCode::FORBIDDEN,
            E::NotFound { .. } => StatusCode::NOT_FOUND,
            E::Conflict(_) | E::InvalidState { .. } | E::Locked { .. } => StatusCode::CONFLICT,
            // Nova's NoValidHost reaches a caller only as a fault; synchronously it is a 500.
            E::NoValidHost { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            E::Unsupported => StatusCode::NOT_IMPLEMENTED,
            E::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                return Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Unexpected API Error. Please report this at https://bugs.launchpad.net/nova/ and attach the Nova API log if possible.",
                );
            }
        };
        Self::new(status, e.to_string())
    }
}

impl From<BodyError> for NovaError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge => Self::new(StatusCode::PAYLOAD_TOO_LARGE, "Request is too large."),
            BodyError::UnsupportedMediaType => {
                Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Content-Type")
            }
            BodyError::UnsupportedEncoding => {
                Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Content-Encoding")
            }
            BodyError::Incomplete => Self::bad_request("The request body is incomplete"),
            BodyError::TimedOut => Self::new(StatusCode::REQUEST_TIMEOUT, "Timed out reading the request body"),
            BodyError::Malformed => Self::bad_request("Malformed request body"),
        }
    }
}

/// A 401 on a Nova path is keystonemiddleware's, in Keystone's format.
pub enum NovaRejection {
    Auth(KeystoneError),
    Nova(NovaError),
}

impl IntoResponse for NovaRejection {
    fn into_response(self) -> Response {
        match self {
            NovaRejection::Auth(e) => e.into_response(),
            NovaRejection::Nova(e) => e.into_response(),
        }
    }
}
