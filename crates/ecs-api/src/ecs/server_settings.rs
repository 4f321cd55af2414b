//! Server settings the ECS API changes in place: `PUT
//! /v1/{project_id}/cloudservers/server-name` (a batch rename) and
//! `GET/PUT /v1/{project_id}/cloudservers/{server_id}/autorecovery`
//! (seed 002 §11.1).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::input::{optional_bool, required_str};
use super::{EcsBody, EcsCall, EcsError, illegal, json_body};
use crate::AppState;

/// A batch rename's `name`: 1 to 64 letters, digits, `_`, `-` and `.`.
const MAX_NAME: usize = 64;

/// `PUT /v1/{project_id}/cloudservers/server-name`: `name`,
/// `servers[].id`, `dry_run` (checks only: 204); `{"response": [{"id"}]}`.
#[utoipa::path(
    put,
    path = "/v1/{project_id}/cloudservers/server-name",
    tag = "ECS servers",
    summary = "Rename servers in a batch",
    request_body(content = Object, description = "`name` and `servers`; `dry_run`.", example = json!({"name": "web", "servers": [{"id": "SERVER_ID"}]})),
    responses(
        (status = 200, description = "`{\"response\": [{\"id\", \"error\"?}]}`", body = Object),
        (status = 204, description = "`dry_run`: the request would be accepted."),
    ),
)]
pub async fn rename(
    State(state): State<AppState>,
    call: EcsCall,
    EcsBody(body): EcsBody,
) -> Result<Response, EcsError> {
    let body = json_body(&body)?;
    let name = required_str(body.get("name"), "name")?;
    if name.chars().count() > MAX_NAME {
        return Err(EcsError::with_message("Ecs.0914", format!("name: at most {MAX_NAME} characters.")));
    }
    if !name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.')) {
        return Err(illegal("name: only letters, digits, underscores (_), hyphens (-) and periods (.) are allowed."));
    }
    let dry_run = optional_bool(body.get("dry_run"), "dry_run")?.unwrap_or(false);
    let list = body.get("servers").and_then(Value::as_array).ok_or_else(|| illegal("servers is required"))?;
    let mut ids: Vec<String> = Vec::with_capacity(list.len());
    for s in list {
        let id = required_str(s.get("id"), "servers[].id")?;
        if ids.iter().any(|i| i == id) {
            return Err(illegal(format!("server {id} is named twice")));
        }
        ids.push(id.to_string());
    }
    state.core.servers_rename(&call.ctx, &ids, name, dry_run).await?;
    if dry_run {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let response: Vec<Value> = ids.iter().map(|id| json!({"id": id})).collect();
    Ok(Json(json!({"response": response})).into_response())
}

/// `GET /v1/{project_id}/cloudservers/{server_id}/autorecovery`.
#[utoipa::path(
    get,
    path = "/v1/{project_id}/cloudservers/{server_id}/autorecovery",
    tag = "ECS server options",
    summary = "Show whether a server recovers automatically",
    responses(
        (status = 200, description = "`{\"support_auto_recovery\": \"true\"|\"false\"}`", body = Object),
    ),
)]
pub async fn auto_recovery(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
) -> Result<Json<Value>, EcsError> {
    let on = state.core.server_auto_recovery(&call.ctx, &id).await?;
    Ok(Json(json!({"support_auto_recovery": on.to_string()})))
}

/// `PUT /v1/{project_id}/cloudservers/{server_id}/autorecovery`:
/// `support_auto_recovery` "true" or "false"; 204.
#[utoipa::path(
    put,
    path = "/v1/{project_id}/cloudservers/{server_id}/autorecovery",
    tag = "ECS server options",
    summary = "Turn a server's automatic recovery on or off",
    request_body(content = Object, description = "`\"true\"` or `\"false\"`.", example = json!({"support_auto_recovery": "true"})),
    responses(
        (status = 204, description = "Done."),
    ),
)]
pub async fn set_auto_recovery(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
    EcsBody(body): EcsBody,
) -> Result<StatusCode, EcsError> {
    let body = json_body(&body)?;
    let on = match body.get("support_auto_recovery") {
        Some(Value::String(s)) if s == "true" => true,
        Some(Value::String(s)) if s == "false" => false,
        Some(v @ Value::Bool(_)) => optional_bool(Some(v), "support_auto_recovery")?.unwrap_or(true),
        _ => return Err(illegal("support_auto_recovery must be \"true\" or \"false\"")),
    };
    state.core.server_auto_recovery_set(&call.ctx, &id, on).await?;
    Ok(StatusCode::NO_CONTENT)
}
