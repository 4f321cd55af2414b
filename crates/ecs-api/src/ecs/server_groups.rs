//! ECS groups (§5.10): `/v1/{project_id}/cloudservers/os-server-groups[…]`,
//! the Nova server groups in the ECS-native shape (anti-affinity only on
//! create; add and remove members of existing servers).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use ecs_types::ServerGroup;
use serde_json::{Value, json};

use super::{EcsBody, EcsCall, EcsError, ListQuery, illegal, json_body};
use crate::AppState;

fn view(g: &ServerGroup) -> Value {
    json!({"id": g.id, "name": g.name, "policies": [g.policy], "members": g.members, "metadata": {}})
}

/// `POST /v1/{project_id}/cloudservers/os-server-groups`.
#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers/os-server-groups",
    tag = "ECS server groups",
    summary = "Create a server group (§5.10.1)",
    request_body(content = Object, description = "A name and one policy.", example = json!({"server_group": {"name": "g1", "policies": ["anti-affinity"]}})),
    responses(
        (status = 200, description = "`{\"server_group\": {\"id\", \"name\", \"policies\", \"members\", \"metadata\"}}`", body = Object),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    call: EcsCall,
    EcsBody(body): EcsBody,
) -> Result<Json<Value>, EcsError> {
    let body = json_body(&body)?;
    let g = body.get("server_group").filter(|g| g.is_object()).ok_or_else(|| illegal("server_group is required"))?;
    let name = g.get("name").and_then(Value::as_str).ok_or_else(|| illegal("server_group.name is required"))?;
    if name.trim().is_empty() || name.chars().count() > 255 {
        return Err(illegal("server_group.name must be 1 to 255 characters"));
    }
    match g.get("policies").and_then(Value::as_array).map(Vec::as_slice) {
        Some([p]) if p == "anti-affinity" => {}
        _ => return Err(illegal("server_group.policies must be [\"anti-affinity\"]")),
    }
    let group = state.core.server_group_create(&call.ctx, name, "anti-affinity", None).await?;
    Ok(Json(json!({"server_group": view(&group)})))
}

/// `GET /v1/{project_id}/cloudservers/os-server-groups?limit=&marker=`:
/// with a `limit`, a page after `marker`, and `page_info.next_marker` when
/// more follow.
#[utoipa::path(
    get,
    path = "/v1/{project_id}/cloudservers/os-server-groups",
    tag = "ECS server groups",
    summary = "List server groups (§5.10.5)",
    params(("marker" = Option<String>, Query), ("limit" = Option<u32>, Query)),
    responses(
        (status = 200, description = "`{\"server_groups\": [{\"id\", \"name\", \"policies\", \"members\", \"metadata\"}], \"page_info\"?}`", body = Object),
    ),
)]
pub async fn index(
    State(state): State<AppState>,
    call: EcsCall,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, EcsError> {
    let query = ListQuery::parse(raw.as_deref())?;
    let limit = query.limit()?;
    let marker = query.get("marker");
    if marker.is_some() && limit.is_none() {
        return Err(illegal("marker must be used with limit"));
    }
    let groups = state.core.server_groups(&call.ctx, false).await?;
    let start = match marker {
        None => 0,
        Some(m) => groups.iter().position(|g| g.id == m).ok_or_else(|| illegal(format!("marker {m} not found")))? + 1,
    };
    let rest = &groups[start..];
    let page = &rest[..limit.unwrap_or(rest.len()).min(rest.len())];
    let mut out = json!({"server_groups": page.iter().map(view).collect::<Vec<_>>()});
    if let Some(last) = page.last().filter(|_| page.len() < rest.len()) {
        out["page_info"] = json!({"next_marker": last.id});
    }
    Ok(Json(out))
}

/// `GET /v1/{project_id}/cloudservers/os-server-groups/{id}`.
#[utoipa::path(
    get,
    path = "/v1/{project_id}/cloudservers/os-server-groups/{group_id}",
    tag = "ECS server groups",
    summary = "Show a server group (§5.10.6)",
    responses(
        (status = 200, description = "`{\"server_group\": {…}}`", body = Object),
    ),
)]
pub async fn show(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
) -> Result<Json<Value>, EcsError> {
    let group = state.core.server_group(&call.ctx, &id).await?;
    Ok(Json(json!({"server_group": view(&group)})))
}

/// `DELETE /v1/{project_id}/cloudservers/os-server-groups/{id}`.
#[utoipa::path(
    delete,
    path = "/v1/{project_id}/cloudservers/os-server-groups/{group_id}",
    tag = "ECS server groups",
    summary = "Delete a server group (§5.10.2)",
    responses(
        (status = 204, description = "Done."),
    ),
)]
pub async fn delete(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
) -> Result<StatusCode, EcsError> {
    state.core.server_group_delete(&call.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/{project_id}/cloudservers/os-server-groups/{id}/action`:
/// `add_member` or `remove_member` with `instance_uuid`; 200, no body.
#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers/os-server-groups/{group_id}/action",
    tag = "ECS server groups",
    summary = "Add a server to, or remove one from, a group (§5.10.3/4)",
    request_body(content = Object, description = "`add_member` or `remove_member`.", example = json!({"add_member": {"instance_uuid": "SERVER_ID"}})),
    responses(
        (status = 200, description = "Done."),
    ),
)]
pub async fn action(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
    EcsBody(body): EcsBody,
) -> Result<StatusCode, EcsError> {
    let body = json_body(&body)?;
    let map = body.as_object().filter(|m| m.len() == 1).ok_or_else(|| illegal("request body is illegal."))?;
    let (name, args) = map.iter().next().expect("one entry");
    let server = args
        .get("instance_uuid")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| illegal(format!("{name}.instance_uuid is required")))?;
    let done = match name.as_str() {
        "add_member" => state.core.server_group_add_member(&call.ctx, &id, server).await,
        "remove_member" => state.core.server_group_remove_member(&call.ctx, &id, server).await,
        other => return Err(illegal(format!("unknown action {other}"))),
    };
    done?;
    Ok(StatusCode::OK)
}

/// `POST …/os-server-groups/{id}/add_members` (`add`) and
/// `…/remove_members`: `server_ids`; each server's outcome.
async fn members_batch(
    state: &AppState,
    call: &EcsCall,
    id: &str,
    body: &[u8],
    add: bool,
) -> Result<Json<Value>, EcsError> {
    let body = json_body(body)?;
    let list = body.get("server_ids").and_then(Value::as_array).ok_or_else(|| illegal("server_ids is required"))?;
    let mut ids: Vec<String> = Vec::with_capacity(list.len());
    for s in list {
        let s = s.as_str().filter(|s| !s.is_empty()).ok_or_else(|| illegal("server_ids[] must be server ids"))?;
        if ids.iter().any(|i| i == s) {
            return Err(illegal(format!("server {s} is named twice")));
        }
        ids.push(s.to_string());
    }
    let outcomes = state.core.server_group_members_batch(&call.ctx, id, &ids, add).await?;
    let all_done = outcomes.iter().all(|(_, failure)| failure.is_none());
    let servers: Vec<Value> = outcomes
        .into_iter()
        .map(|(server, failure)| match failure {
            None => json!({"server_id": server, "status": "success", "fail_reason": ""}),
            Some(why) => json!({"server_id": server, "status": "failed", "fail_reason": why}),
        })
        .collect();
    Ok(Json(json!({"status": if all_done { "success" } else { "failed" }, "servers": servers})))
}

#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers/os-server-groups/{group_id}/add_members",
    tag = "ECS server groups",
    summary = "Add servers to a group in a batch",
    request_body(content = Object, description = "The servers.", example = json!({"server_ids": ["SERVER_ID"]})),
    responses(
        (status = 200, description = "`{\"status\": \"success\"|\"failed\", \"servers\": [{\"id\", \"status\", \"error_code\"?}]}`", body = Object),
    ),
)]
pub async fn add_members(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
    EcsBody(body): EcsBody,
) -> Result<Json<Value>, EcsError> {
    members_batch(&state, &call, &id, &body, true).await
}

#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers/os-server-groups/{group_id}/remove_members",
    tag = "ECS server groups",
    summary = "Remove servers from a group in a batch",
    request_body(content = Object, description = "The servers.", example = json!({"server_ids": ["SERVER_ID"]})),
    responses(
        (status = 200, description = "`{\"status\": \"success\"|\"failed\", \"servers\": [{\"id\", \"status\", \"error_code\"?}]}`", body = Object),
    ),
)]
pub async fn remove_members(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
    EcsBody(body): EcsBody,
) -> Result<Json<Value>, EcsError> {
    members_batch(&state, &call, &id, &body, false).await
}
