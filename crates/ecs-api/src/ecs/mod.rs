//! The ECS-native API (seed 002 chapter 5, seed 001): `/v1/{project_id}/…`
//! and `/v1.1/{project_id}/…`, over the same core as the Nova API.

mod actions;
mod codes;
mod create;
mod error;
mod iam;
mod jobs;
mod servers;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::routing::{get, post};
use ecs_store::ClientToken;
use ecs_types::AuthContext;
use sha2::Digest;

pub use error::EcsError;

use crate::AppState;
use crate::identity::Caller;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/{project_id}/jobs/{job_id}", get(jobs::show))
        .route("/v1/{project_id}/cloudservers", post(create::create_v1))
        .route("/v1.1/{project_id}/cloudservers", post(create::create_v1_1))
        .route("/v1/{project_id}/cloudservers/action", post(actions::batch))
        .route("/v1/{project_id}/cloudservers/delete", post(actions::delete))
        .route("/v1/{project_id}/cloudservers/detail", get(servers::detail))
        .route("/v1.1/{project_id}/cloudservers/detail", get(servers::detail))
        .route("/v1/{project_id}/cloudservers/{server_id}", get(servers::show))
}

/// `X-Client-Token` (DECISIONS.md §13) with a digest of the request body.
pub fn client_token(headers: &HeaderMap, body: &[u8]) -> Result<Option<ClientToken>, EcsError> {
    let Some(value) = headers.get("X-Client-Token") else { return Ok(None) };
    let token = value
        .to_str()
        .ok()
        .filter(|t| !t.is_empty() && t.len() <= 255)
        .ok_or_else(|| EcsError::with_message("Ecs.0005", "X-Client-Token must be 1 to 255 visible characters."))?;
    Ok(Some(ClientToken { token: token.to_string(), request_hash: hex::encode(sha2::Sha256::digest(body)) }))
}

/// The caller of an ECS-native request: authenticated, and acting in the
/// project the path names.
pub struct EcsCall {
    pub ctx: AuthContext,
}

impl FromRequestParts<AppState> for EcsCall {
    type Rejection = EcsError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // A bad token or AK/SK signature is the seed's only 401 code,
        // Common.0013 (Huawei's gateway says APIGW.0301, which the seed lacks).
        let Caller(ctx) = Caller::from_request_parts(parts, state).await.map_err(|e| {
            let code = if e.status.is_server_error() { "Common.0001" } else { "Common.0013" };
            EcsError::with_message(code, e.message)
        })?;
        // The path's project must be the one the credentials are scoped to.
        let path_project = parts.uri.path().split('/').nth(2).unwrap_or_default();
        if ctx.project_id() != Some(path_project) {
            return Err(EcsError::with_message(
                "Ecs.0003",
                format!("The request is for project {path_project}, the credentials for another."),
            ));
        }
        // Roles that only read may not change anything (§9).
        let call = EcsCall { ctx };
        let path = parts.uri.path();
        match iam::action(&parts.method, path) {
            Some((_, true)) => {}
            Some((action, false)) => call.authorize(action)?,
            // The batch route's body names the action: its handler checks.
            None if path.ends_with("/cloudservers/action") => {}
            None => call.authorize("ecs:cloudServers:update")?,
        }
        Ok(call)
    }
}

impl EcsCall {
    /// Refuses a changing IAM `action` to a caller whose roles only read.
    pub fn authorize(&self, action: &str) -> Result<(), EcsError> {
        if ecs_core::policy::may_write(&self.ctx) {
            Ok(())
        } else {
            Err(EcsError::with_message("Pdp.0001", format!("Policy does not allow {action} to be performed.")))
        }
    }
}
