//! The `X-Auth-Token` extractor shared by every dialect.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use ecs_types::AuthContext;

use super::KeystoneError;
use crate::AppState;

/// A caller whose token is valid.
#[derive(Debug, Clone)]
pub struct Caller(pub AuthContext);

impl Caller {
    pub async fn from_parts(parts: &Parts, state: &AppState) -> Result<Caller, KeystoneError> {
        let token = parts
            .headers
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .filter(|t| !t.is_empty())
            .ok_or_else(KeystoneError::unauthorized)?;
        let ctx = state.core.identity.validate(token).await.map_err(KeystoneError::from)?;
        Ok(Caller(ctx))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = KeystoneError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let caller = Caller::from_parts(parts, state).await?;
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}
