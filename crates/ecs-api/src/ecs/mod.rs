//! The ECS-native API (seed 002 chapter 5, seed 001): `/v1/{project_id}/…`
//! and `/v1.1/{project_id}/…`, over the same core as the Nova API.

mod actions;
mod codes;
mod disks;
mod error;
mod jobs;
mod nics;
mod server_actions;
mod servers;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::routing::{delete, get, post};
use axum::{Json, body::Bytes};
use ecs_types::AuthContext;
use serde_json::{Value, json};

pub use error::EcsError;

use crate::AppState;
use crate::identity::Caller;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/{project_id}/jobs/{job_id}", get(jobs::show))
        .route("/v1/{project_id}/cloudservers/action", post(actions::batch))
        .route("/v1/{project_id}/cloudservers/delete", post(actions::delete))
        .route("/v1/{project_id}/cloudservers/detail", get(servers::detail))
        .route("/v1.1/{project_id}/cloudservers/detail", get(servers::detail))
        .route("/v1/{project_id}/cloudservers/{server_id}", get(servers::show))
        // Seed 002 prints reinstallos/changeos under /v2; the Nova project
        // rewrite has taken `/{project_id}` out of `/v2` and `/v2.1` paths.
        .route("/v2/cloudservers/{server_id}/reinstallos", post(server_actions::reinstall))
        .route("/v2.1/cloudservers/{server_id}/reinstallos", post(server_actions::reinstall))
        .route("/v1/{project_id}/cloudservers/{server_id}/reinstallos", post(server_actions::reinstall))
        .route("/v2/cloudservers/{server_id}/changeos", post(server_actions::change_os))
        .route("/v2.1/cloudservers/{server_id}/changeos", post(server_actions::change_os))
        .route("/v1/{project_id}/cloudservers/{server_id}/changeos", post(server_actions::change_os))
        .route("/v1/{project_id}/cloudservers/{server_id}/migrate", post(server_actions::migrate))
        .route("/v1/{project_id}/cloudservers/{server_id}/resize", post(server_actions::resize))
        .route("/v1/{project_id}/cloudservers/{server_id}/nics", post(nics::add))
        .route("/v1/{project_id}/cloudservers/{server_id}/nics/delete", post(nics::delete))
        .route("/v1/{project_id}/cloudservers/{server_id}/attachvolume", post(disks::attach))
        .route("/v1/{project_id}/cloudservers/{server_id}/detachvolume/{volume_id}", delete(disks::detach))
}

/// A request body as JSON; an empty one is the seed's Common.0002.
fn json_body(body: &Bytes) -> Result<Value, EcsError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(EcsError::new("Common.0002"));
    }
    serde_json::from_slice(body).map_err(|_| EcsError::with_message("Ecs.0005", "request body is illegal."))
}

/// Ecs.0005 saying what was wrong.
fn illegal(message: impl Into<String>) -> EcsError {
    EcsError::with_message("Ecs.0005", message)
}

/// The answer of an asynchronous ECS call: the job that is its task.
fn job_reply(task_id: &str) -> Json<Value> {
    Json(json!({"job_id": ecs_core::job::job_id(task_id)}))
}

/// A core error about the server a path names: one the caller cannot see
/// is Ecs.0114 (404), a locked one Ecs.0605, one in a state that forbids
/// the operation Ecs.0100 (by the core error's kind).
fn server_error(e: ecs_core::Error) -> EcsError {
    match e {
        ecs_core::Error::NotFound(m) => EcsError::with_message("Ecs.0114", m),
        ecs_core::Error::Conflict(m) if m.ends_with(" is locked") => EcsError::with_message("Ecs.0605", m),
        other => other.into(),
    }
}

/// An optional boolean field; booleans may come as strings (DECISIONS §9).
fn optional_bool(v: Option<&Value>, field: &str) -> Result<Option<bool>, EcsError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "t" | "true" | "on" | "y" | "yes" | "1" => Ok(Some(true)),
            "f" | "false" | "off" | "n" | "no" | "0" => Ok(Some(false)),
            _ => Err(illegal(format!("{field} must be a boolean"))),
        },
        Some(_) => Err(illegal(format!("{field} must be a boolean"))),
    }
}

/// An optional string field.
fn optional_str<'a>(v: &'a Value, field: &str) -> Result<Option<&'a str>, EcsError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(illegal(format!("{field} must be a string"))),
    }
}

/// A mandatory, non-empty string field.
fn required_str<'a>(v: &'a Value, field: &str) -> Result<&'a str, EcsError> {
    optional_str(v, field)?.filter(|s| !s.is_empty()).ok_or_else(|| illegal(format!("{field} is required")))
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
        // The path's project must be the one the credentials are scoped to
        // (`/v2/{project_id}/…` paths come rewritten, the project aside).
        let path_project = match parts.extensions.get::<crate::nova::PathProject>() {
            Some(p) => p.0.clone(),
            None => parts.uri.path().split('/').nth(2).unwrap_or_default().to_string(),
        };
        let path_project = path_project.as_str();
        if ctx.project_id() != Some(path_project) {
            return Err(EcsError::with_message(
                "Ecs.0003",
                format!("The request is for project {path_project}, the credentials for another."),
            ));
        }
        Ok(EcsCall { ctx })
    }
}
