//! Errors of the ECS-native API: `{"error": {"code": "Ecs.XXXX", "message": ...}}`
//! with the status the seed's table gives the code.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::codes;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsError {
    pub code: &'static str,
    pub message: String,
    /// Sharper codes under a general one (`details: [{"code": ...}]`).
    pub details: Vec<&'static str>,
    /// A status other than the code's own (a conflict under Ecs.0005).
    status: Option<StatusCode>,
}

impl EcsError {
    /// The error `code` with the seed's message.
    pub fn new(code: &'static str) -> EcsError {
        let message = codes::lookup(code).map(|c| c.message).unwrap_or_default();
        EcsError::with_message(code, message)
    }

    /// The error `code` with a message saying what was wrong.
    pub fn with_message(code: &'static str, message: impl Into<String>) -> EcsError {
        EcsError { code, message: message.into(), details: Vec::new(), status: None }
    }

    /// Adds a sharper code as a detail, as the seed's create errors do.
    pub fn detail(mut self, code: &'static str) -> EcsError {
        self.details.push(code);
        self
    }

    /// A request that contradicts an earlier one (an `X-Client-Token`
    /// used with another body): 409 under the general code.
    pub fn conflict(message: impl Into<String>) -> EcsError {
        EcsError::with_message("Ecs.0005", message).with_status(StatusCode::CONFLICT)
    }

    /// Answers with `status` instead of the code's own.
    pub fn with_status(mut self, status: StatusCode) -> EcsError {
        self.status = Some(status);
        self
    }

    /// A core error as `code` when it is a NotFound (each resource has its
    /// own "does not exist" code), otherwise by its kind.
    pub fn not_found_as(code: &'static str) -> impl Fn(ecs_core::Error) -> EcsError {
        move |e| match e {
            ecs_core::Error::NotFound(message) => EcsError::with_message(code, message),
            other => other.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status.unwrap_or_else(|| {
            codes::lookup(self.code)
                .and_then(|c| StatusCode::from_u16(c.status).ok())
                .unwrap_or(StatusCode::BAD_REQUEST)
        })
    }
}

impl IntoResponse for EcsError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": {"code": self.code, "message": self.message}});
        if !self.details.is_empty() {
            body["error"]["details"] = self.details.iter().map(|c| json!({"code": c})).collect();
        }
        (self.status(), axum::Json(body)).into_response()
    }
}

/// Core errors by kind; callers that know the resource pick a sharper code.
impl From<ecs_core::Error> for EcsError {
    fn from(e: ecs_core::Error) -> Self {
        use ecs_core::Error as E;
        match e {
            E::Invalid(m) => EcsError::with_message("Ecs.0005", m),
            E::Unauthorized(m) => EcsError::with_message("Common.0013", m),
            E::Forbidden(m) => EcsError::with_message("Ecs.0003", m),
            E::PolicyDenied { rule } => policy_denied(&rule),
            E::QuotaExceeded(m) => EcsError::with_message("Ecs.0001", m),
            E::NotFound(m) => EcsError::with_message("Ecs.0114", m),
            E::Conflict(m) => EcsError::with_message("Ecs.0100", m),
            E::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                EcsError::new("Common.0001")
            }
        }
    }
}

/// IAM's refusal of an action (`Pdp.0001`), named by the route's IAM
/// action or, refused by the core, by the core's rule.
pub fn policy_denied(action: &str) -> EcsError {
    EcsError::with_message("Pdp.0001", format!("Policy does not allow {action} to be performed."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_carry_the_seed_status_and_message() {
        assert_eq!(codes::CODES.len(), 162);
        let e = EcsError::new("Ecs.0114");
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
        assert_eq!(e.message, "The ECS does not exist.");
        assert_eq!(EcsError::new("Common.0013").status(), StatusCode::UNAUTHORIZED);
        assert_eq!(EcsError::new("Ecs.0603").status(), StatusCode::NOT_IMPLEMENTED);
        assert_eq!(EcsError::new("Ecs.0005").status(), StatusCode::BAD_REQUEST);
        let mut seen = std::collections::HashSet::new();
        assert!(codes::CODES.iter().all(|c| seen.insert(c.code)), "codes are unique");
    }
}
