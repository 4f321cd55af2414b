//! ECS password management: one-click reset of one server's password or
//! of a batch's (the guest's password set as Nova's `changePassword`
//! does), the password kept by the metadata service
//! (`os-server-password`), and whether one-click reset is supported.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::input::{check_password, optional_bool, optional_str};
use super::{EcsBody, EcsCall, EcsError, illegal, json_body};
use crate::AppState;
use crate::request_id::RequestId;

/// The most servers one batch reset names.
const MAX_BATCH: usize = 100;

/// `PUT /v1/{project_id}/cloudservers/{server_id}/os-reset-password`:
/// `{"reset-password": {"new_password": …, "is_check_password": bool}}`.
#[utoipa::path(
    put,
    path = "/v1/{project_id}/cloudservers/{server_id}/os-reset-password",
    tag = "ECS passwords",
    summary = "Reset a server's password (`reset-password.new_password`, `is_check_password`)",
    request_body(content = Object, description = "`reset-password`.", example = json!({"reset-password": {"new_password": "Passw0rd!x"}})),
    responses(
        (status = 204, description = "Done."),
    ),
)]
pub async fn reset(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
    EcsBody(raw): EcsBody,
) -> Result<StatusCode, EcsError> {
    let body = json_body(&raw)?;
    let args =
        body.get("reset-password").filter(|v| v.is_object()).ok_or_else(|| illegal("reset-password is required"))?;
    let password = optional_str(args.get("new_password"), "reset-password.new_password")?
        .ok_or_else(|| illegal("reset-password.new_password is required"))?;
    if optional_bool(args.get("is_check_password"), "reset-password.is_check_password")?.unwrap_or(true) {
        check_password(password)?;
    }
    state.core.server_change_password(&call.ctx, &id, password, &request_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /v1/{project_id}/cloudservers/os-reset-passwords`:
/// `{"new_password": …, "dry_run": bool, "servers": [{"id": …}]}`; answers
/// the servers whose password was set (a dry run: those that would be).
#[utoipa::path(
    put,
    path = "/v1/{project_id}/cloudservers/os-reset-passwords",
    tag = "ECS passwords",
    summary = "Reset the passwords of servers in a batch",
    request_body(content = Object, description = "`new_password`, `servers`; `dry_run`.", example = json!({"new_password": "Passw0rd!x", "servers": [{"id": "SERVER_ID"}]})),
    responses(
        (status = 200, description = "`{\"response\": [{\"id\", \"error\"?}]}`", body = Object),
    ),
)]
pub async fn batch_reset(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EcsCall,
    EcsBody(raw): EcsBody,
) -> Result<Json<Value>, EcsError> {
    let body = json_body(&raw)?;
    let dry_run = optional_bool(body.get("dry_run"), "dry_run")?.unwrap_or(false);
    let ids = body
        .get("servers")
        .and_then(Value::as_array)
        .ok_or_else(|| illegal("servers is required"))?
        .iter()
        .map(|s| {
            s.get("id").and_then(Value::as_str).map(String::from).ok_or_else(|| illegal("servers[].id is required"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if ids.is_empty() || ids.len() > MAX_BATCH {
        return Err(illegal(format!("servers must name 1 to {MAX_BATCH} servers")));
    }
    let password = optional_str(body.get("new_password"), "new_password")?;
    let password = match (password, dry_run) {
        (Some(p), _) => {
            check_password(p)?;
            Some(p)
        }
        (None, true) => None,
        (None, false) => return Err(illegal("new_password is required")),
    };
    let password = password.filter(|_| !dry_run);
    let done = state.core.server_batch_change_password(&call.ctx, &ids, password, &request_id).await?;
    let done: Vec<Value> = done.iter().map(|id| json!({"id": id})).collect();
    Ok(Json(json!({"response": done})))
}

/// `GET /v1/{project_id}/cloudservers/{server_id}/os-server-password`.
#[utoipa::path(
    get,
    path = "/v1/{project_id}/cloudservers/{server_id}/os-server-password",
    tag = "ECS passwords",
    summary = "Show a server's encrypted generated password",
    responses(
        (status = 200, description = "`{\"password\": \"…\"}`", body = Object),
    ),
)]
pub async fn show(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
) -> Result<Json<Value>, EcsError> {
    let password = state.core.server_password(&call.ctx, &id).await?;
    Ok(Json(json!({"password": password})))
}

/// `DELETE /v1/{project_id}/cloudservers/{server_id}/os-server-password`.
#[utoipa::path(
    delete,
    path = "/v1/{project_id}/cloudservers/{server_id}/os-server-password",
    tag = "ECS passwords",
    summary = "Clear a server's generated password",
    responses(
        (status = 204, description = "Done."),
    ),
)]
pub async fn clear(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
) -> Result<StatusCode, EcsError> {
    state.core.server_clear_password(&call.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/{project_id}/cloudservers/{server_id}/os-resetpwd-flag`.
#[utoipa::path(
    get,
    path = "/v1/{project_id}/cloudservers/{server_id}/os-resetpwd-flag",
    tag = "ECS passwords",
    summary = "Show whether a server's password can be reset online",
    responses(
        (status = 200, description = "`{\"resetpwd_flag\": \"True\"|\"False\"}`", body = Object),
    ),
)]
pub async fn flag(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
) -> Result<Json<Value>, EcsError> {
    let flag = state.core.server_reset_password_flag(&call.ctx, &id).await?;
    Ok(Json(json!({"resetpwd_flag": if flag { "True" } else { "False" }})))
}
