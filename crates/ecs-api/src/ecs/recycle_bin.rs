//! The ECS recycle bin (`/v1/{project_id}/recycle-bin…`): the project's
//! switch and policy, and the servers a delete put there, which can be
//! reverted (the restore task) or deleted for good (a job either way).

use axum::Json;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::input::optional_int;
use super::{EcsBody, EcsCall, EcsError, ListQuery, illegal, job_reply, json_body};
use crate::AppState;
use crate::request_id::RequestId;

/// `GET /v1/{project_id}/recycle-bin`.
#[utoipa::path(
    get,
    path = "/v1/{project_id}/recycle-bin",
    tag = "ECS recycle bin",
    summary = "Show the recycle bin's settings",
    responses(
        (status = 200, description = "`{\"recycle_bin\": {\"switch\": \"on\"|\"off\", \"policy\": {\"recycle_threshold_day\", \"retention_hour\"}}}`", body = Object),
    ),
)]
pub async fn show(State(state): State<AppState>, call: EcsCall) -> Result<Json<Value>, EcsError> {
    let bin = state.core.recycle_bin(&call.ctx).await?;
    Ok(Json(json!({
        "project_id": call.ctx.project_id(),
        "switch": if bin.enabled { "on" } else { "off" },
        "policy": {"recycle_threshold_day": bin.recycle_threshold_day, "retention_hour": bin.retention_hour},
    })))
}

/// `PUT /v1/{project_id}/recycle-bin`: `{"recycle_bin": {"switch": "on"|"off"}}`.
#[utoipa::path(
    put,
    path = "/v1/{project_id}/recycle-bin",
    tag = "ECS recycle bin",
    summary = "Turn the recycle bin on or off",
    request_body(content = Object, description = "`recycle_bin.switch`.", example = json!({"recycle_bin": {"switch": "on"}})),
    responses(
        (status = 204, description = "Done."),
    ),
)]
pub async fn update(State(state): State<AppState>, call: EcsCall, EcsBody(raw): EcsBody) -> Result<Response, EcsError> {
    let body = json_body(&raw)?;
    let switch = body
        .get("recycle_bin")
        .and_then(|b| b.get("switch"))
        .and_then(Value::as_str)
        .ok_or_else(|| illegal("recycle_bin.switch is required"))?;
    let enabled = match switch {
        "on" => true,
        "off" => false,
        other => return Err(illegal(format!("recycle_bin.switch must be on or off, not {other}"))),
    };
    state.core.recycle_bin_switch(&call.ctx, enabled).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `PUT /v1/{project_id}/recycle-bin/policy`:
/// `{"policy": {"retention_hour": …, "recycle_threshold_day": …}}`.
#[utoipa::path(
    put,
    path = "/v1/{project_id}/recycle-bin/policy",
    tag = "ECS recycle bin",
    summary = "Change the recycle bin's policy",
    request_body(content = Object, description = "`policy`: `recycle_threshold_day`, `retention_hour`.", example = json!({"policy": {"recycle_threshold_day": 7, "retention_hour": 24}})),
    responses(
        (status = 200, description = "`{}`", body = Object),
    ),
)]
pub async fn update_policy(
    State(state): State<AppState>,
    call: EcsCall,
    EcsBody(raw): EcsBody,
) -> Result<Json<Value>, EcsError> {
    let body = json_body(&raw)?;
    let policy = body.get("policy").filter(|p| p.is_object()).ok_or_else(|| illegal("policy is required"))?;
    let required = |key: &str| {
        optional_int(policy.get(key), &format!("policy.{key}"))?
            .ok_or_else(|| illegal(format!("policy.{key} is required")))
    };
    let retention = required("retention_hour")?;
    let threshold = required("recycle_threshold_day")?;
    state.core.recycle_bin_policy(&call.ctx, retention, threshold).await?;
    Ok(Json(json!({})))
}

/// `GET /v1/{project_id}/recycle-bin/cloudservers`: the servers in the bin
/// as ServerDetail, filtered by `name` and `availability_zone`, paged by
/// `limit` and `offset`.
#[utoipa::path(
    get,
    path = "/v1/{project_id}/recycle-bin/cloudservers",
    tag = "ECS recycle bin",
    summary = "List the servers in the recycle bin",
    params(("offset" = Option<u32>, Query), ("limit" = Option<u32>, Query), ("name" = Option<String>, Query), ("availability_zone" = Option<String>, Query)),
    responses(
        (status = 200, description = "`{\"servers\": [ServerView…]}`", body = Object),
    ),
)]
pub async fn servers(
    State(state): State<AppState>,
    call: EcsCall,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, EcsError> {
    let query = ListQuery::parse(raw.as_deref())?;
    let limit = query.limit()?.unwrap_or(super::MAX_LIMIT);
    let offset = query.non_negative("offset")?.unwrap_or(0);
    let mut servers = state.core.recycle_bin_servers(&call.ctx).await?;
    servers.retain(|s| query.get("name").is_none_or(|n| s.name.contains(n)));
    if let Some(zone) = query.get("availability_zone") {
        servers.retain(|s| s.availability_zone.as_deref() == Some(zone));
    }
    let page: Vec<_> = servers.into_iter().skip(offset).take(limit).collect();
    let extras = super::servers::extras(&state, &call, &page).await?;
    Ok(Json(json!({"servers": page.iter().map(|s| super::servers::view(s, &extras)).collect::<Vec<_>>()})))
}

/// `POST /v1/{project_id}/recycle-bin/cloudservers/{server_id}/actions/revert`.
#[utoipa::path(
    post,
    path = "/v1/{project_id}/recycle-bin/cloudservers/{server_id}/actions/revert",
    tag = "ECS recycle bin",
    summary = "Restore a server from the recycle bin",
    responses(
        (status = 200, description = "The job doing it.", body = crate::openapi::schemas::JobReply),
    ),
)]
pub async fn revert(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
) -> Result<Json<Value>, EcsError> {
    let task = state.core.recycle_bin_revert(&call.ctx, &id, &request_id).await?;
    Ok(job_reply(&task))
}

/// `DELETE /v1/{project_id}/recycle-bin/cloudservers/{server_id}`.
#[utoipa::path(
    delete,
    path = "/v1/{project_id}/recycle-bin/cloudservers/{server_id}",
    tag = "ECS recycle bin",
    summary = "Delete a server from the recycle bin for good",
    responses(
        (status = 200, description = "The job doing it.", body = crate::openapi::schemas::JobReply),
    ),
)]
pub async fn delete(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
) -> Result<Json<Value>, EcsError> {
    let task = state.core.recycle_bin_delete(&call.ctx, &id, &request_id).await?;
    Ok(job_reply(&task))
}
