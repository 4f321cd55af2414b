//! Batch actions answered with a job: `POST /v1/{project_id}/cloudservers/action`
//! (§5.3: `os-start`, `os-stop` SOFT/HARD, `reboot` SOFT/HARD) and
//! `POST /v1/{project_id}/cloudservers/delete` (§5.1.2).

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::HeaderMap;
use ecs_core::compute::batch::BatchOp;
use serde_json::Value;

use super::EcsBody;
use super::{EcsCall, EcsError, illegal};
use crate::AppState;
use crate::request_id::RequestId;

/// `servers: [{"id": …}, …]`.
fn server_ids(args: &Value) -> Result<Vec<String>, EcsError> {
    let list = args.get("servers").and_then(Value::as_array).ok_or_else(|| illegal("servers is required"))?;
    list.iter()
        .map(|s| {
            s.get("id").and_then(Value::as_str).map(String::from).ok_or_else(|| illegal("servers[].id is required"))
        })
        .collect()
}

/// `type`: SOFT or HARD; `default` when absent (stop) or an error (reboot).
fn hard(args: &Value, default: Option<bool>) -> Result<bool, EcsError> {
    match super::input::optional_str(args.get("type"), "type")? {
        Some("HARD") => Ok(true),
        Some("SOFT") => Ok(false),
        None => default.ok_or_else(|| illegal("type is required")),
        Some(other) => Err(illegal(format!("type must be SOFT or HARD, not {other}"))),
    }
}

#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers/action",
    tag = "ECS server actions",
    summary = "Start, stop or reboot servers in a batch (§5.3)",
    request_body(content = crate::openapi::schemas::BatchActionRequest, description = "One action and its servers."),
    responses(
        (status = 200, description = "The job doing it.", body = crate::openapi::schemas::JobReply),
    ),
)]
pub async fn batch(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EcsCall,
    headers: HeaderMap,
    EcsBody(raw): EcsBody,
) -> Result<Json<Value>, EcsError> {
    let token = super::client_token(&headers, &raw)?;
    let body: Value = super::json_body(&raw)?;
    let map = body.as_object().filter(|m| m.len() == 1).ok_or_else(|| illegal("request body is illegal."))?;
    let (name, args) = map.iter().next().expect("one entry");
    let action = match name.as_str() {
        "os-start" => "ecs:cloudServers:start",
        "os-stop" => "ecs:cloudServers:stop",
        _ => "ecs:cloudServers:reboot",
    };
    call.authorize(action)?;
    let op = match name.as_str() {
        "os-start" => BatchOp::Start,
        "os-stop" => BatchOp::Stop { force: hard(args, Some(false))? },
        "reboot" => BatchOp::Reboot { hard: hard(args, None)? },
        other => return Err(illegal(format!("unknown action {other}"))),
    };
    start(&state, &call, &server_ids(args)?, op, token, &request_id).await
}

/// `POST /v1/{project_id}/cloudservers/delete`.
#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers/delete",
    tag = "ECS servers",
    summary = "Delete servers in a batch (§5.1.2)",
    request_body(content = crate::openapi::schemas::DeleteServersRequest, description = "The servers to delete."),
    responses(
        (status = 200, description = "The job doing it.", body = crate::openapi::schemas::JobReply),
    ),
)]
pub async fn delete(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EcsCall,
    headers: HeaderMap,
    EcsBody(raw): EcsBody,
) -> Result<Json<Value>, EcsError> {
    let token = super::client_token(&headers, &raw)?;
    let body: Value = super::json_body(&raw)?;
    let flag = |key: &str| match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(illegal(format!("{key} must be a boolean"))),
    };
    let op = BatchOp::Delete {
        delete_volume: flag("delete_volume")?.unwrap_or(false),
        delete_publicip: flag("delete_publicip")?,
    };
    start(&state, &call, &server_ids(&body)?, op, token, &request_id).await
}

async fn start(
    state: &AppState,
    call: &EcsCall,
    ids: &[String],
    op: BatchOp,
    token: Option<ecs_store::ClientToken>,
    request_id: &str,
) -> Result<Json<Value>, EcsError> {
    let task = state.core.batch(&call.ctx, ids, op, token.as_ref(), request_id).await?;
    Ok(super::job_reply(&task))
}
