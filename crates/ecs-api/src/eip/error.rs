//! Errors of Huawei's EIP API: `{"code": "VPC.XXXX", "message": ...}`, the
//! EIP reference's shape and codes (EIP was born in the VPC service). The
//! gateway's refusals (no such API) carry APIGW codes in the same body.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use ecs_core::{Conflict, Forbidden, Invalid, Kind};

use crate::body::BodyError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EipError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl EipError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> EipError {
        EipError { status, code, message: message.into() }
    }

    /// A publicip parameter that cannot be used (VPC.0501).
    pub fn invalid(message: impl Into<String>) -> EipError {
        EipError::new(StatusCode::BAD_REQUEST, "VPC.0501", message)
    }

    /// A bandwidth parameter that cannot be used (VPC.0301).
    pub fn bad_bandwidth(message: impl Into<String>) -> EipError {
        EipError::new(StatusCode::BAD_REQUEST, "VPC.0301", message)
    }

    pub fn no_such_api() -> EipError {
        EipError::new(
            StatusCode::NOT_FOUND,
            "APIGW.0101",
            "The API does not exist or has not been published in the environment.",
        )
    }

    pub fn method_not_allowed() -> EipError {
        EipError::new(StatusCode::METHOD_NOT_ALLOWED, "APIGW.0101", "The API does not exist.")
    }

    /// The path's project is not the token's (VPC.0007).
    pub fn other_project() -> EipError {
        EipError::new(StatusCode::BAD_REQUEST, "VPC.0007", "urlTenantId is not equal tokenTenantId")
    }
}

impl IntoResponse for EipError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(json!({"code": self.code, "message": self.message}))).into_response()
    }
}

impl From<BodyError> for EipError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge => {
                EipError::new(StatusCode::PAYLOAD_TOO_LARGE, "APIGW.0201", "Request entity too large.")
            }
            BodyError::UnsupportedMediaType => {
                EipError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "VPC.0501", "Content-Type must be application/json.")
            }
            BodyError::UnsupportedEncoding => {
                EipError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "VPC.0501", "Content-Encoding is not supported.")
            }
            BodyError::Incomplete => EipError::invalid("The request body is incomplete."),
            BodyError::TimedOut => {
                EipError::new(StatusCode::REQUEST_TIMEOUT, "VPC.0501", "Timed out reading the request body.")
            }
            BodyError::Malformed => EipError::invalid("The request body is not valid JSON."),
        }
    }
}

/// The one map from the core's errors to the EIP codes.
impl From<ecs_core::Error> for EipError {
    fn from(e: ecs_core::Error) -> Self {
        use ecs_core::Error as E;
        let message = e.to_string();
        let (status, code) = match &e {
            E::NotFound { kind: Kind::Bandwidth, .. } => (StatusCode::NOT_FOUND, "VPC.0601"),
            E::NotFound { kind: Kind::FreeFloatingIp | Kind::FloatingIpPool, .. } => (StatusCode::CONFLICT, "VPC.0503"),
            E::NotFound { .. } => (StatusCode::NOT_FOUND, "VPC.0504"),
            E::Invalid(Invalid::Unknown { kind: Kind::Port, .. }) => (StatusCode::BAD_REQUEST, "VPC.0508"),
            E::Invalid(_) | E::InvalidState { .. } | E::Locked { .. } | E::NoValidHost { .. } | E::Unsupported => {
                (StatusCode::BAD_REQUEST, "VPC.0501")
            }
            E::QuotaExceeded { .. } => {
                return EipError::new(
                    StatusCode::CONFLICT,
                    "VPC.0304",
                    "Quota exceeded for resources: ['floatingip']. NO QUOTAS for publicip!",
                );
            }
            E::Conflict(Conflict::PortInUse { .. } | Conflict::Other(_)) => (StatusCode::CONFLICT, "VPC.0510"),
            E::Conflict(_) => (StatusCode::CONFLICT, "VPC.0501"),
            E::Forbidden(Forbidden::Policy { rule }) => {
                return EipError::new(
                    StatusCode::FORBIDDEN,
                    "VPC.2201",
                    format!("Policy doesn't allow {rule} to be performed."),
                );
            }
            E::Forbidden(_) => (StatusCode::FORBIDDEN, "VPC.2701"),
            E::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "VPC.0008"),
            E::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                return EipError::new(StatusCode::INTERNAL_SERVER_ERROR, "VPC.0503", "Internal error.");
            }
        };
        EipError::new(status, code, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_take_the_eip_codes() {
        use ecs_core::{Error as E, Resource};
        let cases: Vec<(E, &str, u16)> = vec![
            (E::not_found(Kind::FloatingIp, "x"), "VPC.0504", 404),
            (E::not_found(Kind::Bandwidth, "x"), "VPC.0601", 404),
            (E::quota(Resource::FloatingIps, 1, 10, 10), "VPC.0304", 409),
            (Conflict::PortInUse { id: "p".into() }.into(), "VPC.0510", 409),
            (E::Invalid(Invalid::Unknown { kind: Kind::Port, id: "p".into() }), "VPC.0508", 400),
            (E::invalid("x"), "VPC.0501", 400),
            (E::Forbidden(Forbidden::Policy { rule: "vpc:publicIps:create".into() }), "VPC.2201", 403),
        ];
        for (error, code, status) in cases {
            let e = EipError::from(error);
            assert_eq!((e.code, e.status.as_u16()), (code, status));
        }
    }
}
