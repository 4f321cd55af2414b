//! The one domain error of ecsd. Lower layers have their own error types
//! (`StoreError`); the API layer maps this enum to HTTP in one place per
//! dialect. Messages are written as Nova words them, since Nova's clients
//! and tests read them.

use ecs_store::StoreError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input that passed the dialect's syntax checks (400).
    #[error("{0}")]
    Invalid(String),
    /// Missing, wrong, expired or revoked credentials (401).
    #[error("{0}")]
    Unauthorized(String),
    /// The caller may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// A policy rule refuses the caller (403): a `reader` asking for a
    /// change, a member asking for an admin's operation. Each dialect words
    /// it its own way around the rule's name (Nova's wording is the default).
    #[error("Policy doesn't allow {rule} to be performed.")]
    PolicyDenied { rule: String },
    /// A quota would be exceeded (403 on Nova paths).
    #[error("{0}")]
    QuotaExceeded(String),
    /// No such thing, or not visible to the caller (404).
    #[error("{0}")]
    NotFound(String),
    /// Clashes with what exists, or the resource's state forbids it (409).
    #[error("{0}")]
    Conflict(String),
    /// A failure of ours, not the caller's (500). The detail is logged,
    /// never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Internal(e.to_string())
    }
}

impl Error {
    /// For a `StoreError::NotFound` that means "the thing the caller named".
    pub fn not_found_or(make: impl FnOnce() -> Error) -> impl FnOnce(StoreError) -> Error {
        move |e| match e {
            StoreError::NotFound => make(),
            other => other.into(),
        }
    }
}
