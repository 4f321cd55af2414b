//! Errors of Huawei's EVS API: `{"error": {"message": ..., "code": "EVS.XXXX"}}`,
//! the EVS reference's shape. Codes: EVS.0001 (the path's project is not
//! the token's), EVS.0002 (bad token), EVS.0003 (not allowed), EVS.1002
//! (no such disk, 404), EVS.1003/1004 (name, description), EVS.1006
//! (backups), EVS.1008/1009 (no or a bad create body), EVS.1010 (size),
//! EVS.1011 (a bad expand body), EVS.1007 (an update naming nothing) and
//! EVS.5400 for the rest of what cannot be done (a disk's state, a quota:
//! 413, as Cinder answers an over-limit request).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use ecs_core::{Forbidden, Kind};

use crate::body::BodyError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvsError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl EvsError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> EvsError {
        EvsError { status, code, message: message.into() }
    }

    /// A 400 under `code`.
    pub fn bad(code: &'static str, message: impl Into<String>) -> EvsError {
        EvsError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn no_such_api() -> EvsError {
        EvsError::new(
            StatusCode::NOT_FOUND,
            "APIGW.0101",
            "The API does not exist or has not been published in the environment.",
        )
    }

    pub fn method_not_allowed() -> EvsError {
        EvsError::new(StatusCode::METHOD_NOT_ALLOWED, "APIGW.0101", "The API does not exist.")
    }
}

impl IntoResponse for EvsError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(json!({"error": {"message": self.message, "code": self.code}}))).into_response()
    }
}

impl From<BodyError> for EvsError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge => {
                EvsError::new(StatusCode::PAYLOAD_TOO_LARGE, "APIGW.0201", "Request entity too large.")
            }
            BodyError::UnsupportedMediaType => {
                EvsError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "EVS.5400", "Content-Type must be application/json.")
            }
            BodyError::UnsupportedEncoding => {
                EvsError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "EVS.5400", "Content-Encoding is not supported.")
            }
            BodyError::Incomplete => EvsError::bad("EVS.5400", "The request body is incomplete."),
            BodyError::TimedOut => {
                EvsError::new(StatusCode::REQUEST_TIMEOUT, "EVS.5400", "Timed out reading the request body.")
            }
            BodyError::Malformed => EvsError::bad("EVS.5400", "The request body is not valid JSON."),
        }
    }
}

/// The one map from the core's errors to the EVS codes.
impl From<ecs_core::Error> for EvsError {
    fn from(e: ecs_core::Error) -> Self {
        use ecs_core::Error as E;
        let message = e.to_string();
        let (status, code) = match &e {
            // What a create names (a snapshot, a type) is a bad request.
            E::NotFound { kind: Kind::Snapshot | Kind::VolumeType | Kind::Image, .. } => {
                (StatusCode::BAD_REQUEST, "EVS.5400")
            }
            E::NotFound { .. } => (StatusCode::NOT_FOUND, "EVS.1002"),
            E::QuotaExceeded { resource, requested, used, limit } => {
                return EvsError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "EVS.5400",
                    format!("Insufficient quota: {} requested {requested}, {used} used of {limit}.", resource.name()),
                );
            }
            E::Forbidden(Forbidden::Policy { rule }) => {
                return EvsError::new(
                    StatusCode::FORBIDDEN,
                    "EVS.0003",
                    format!("Policy doesn't allow {rule} to be performed."),
                );
            }
            E::Forbidden(_) => (StatusCode::FORBIDDEN, "EVS.0003"),
            E::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "EVS.0002"),
            E::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                return EvsError::new(StatusCode::INTERNAL_SERVER_ERROR, "EVS.5400", "Internal error.");
            }
            _ => (StatusCode::BAD_REQUEST, "EVS.5400"),
        };
        EvsError::new(status, code, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_take_the_evs_codes() {
        use ecs_core::{Error as E, Resource};
        let cases: Vec<(E, &str, u16)> = vec![
            (E::not_found(Kind::Volume, "x"), "EVS.1002", 404),
            (E::not_found(Kind::VolumeType, "x"), "EVS.5400", 400),
            (E::quota(Resource::Gigabytes, 1, 10, 10), "EVS.5400", 413),
            (E::invalid("x"), "EVS.5400", 400),
            (E::Forbidden(Forbidden::Policy { rule: "evs:volumes:create".into() }), "EVS.0003", 403),
        ];
        for (error, code, status) in cases {
            let e = EvsError::from(error);
            assert_eq!((e.code, e.status.as_u16()), (code, status));
        }
    }
}
