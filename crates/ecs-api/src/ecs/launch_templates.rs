//! ECS v3 launch templates (`/v3/{project_id}/launch-templates`,
//! `/v3/{project_id}/launch-template-versions`) and scheduled events
//! (`/v3/{project_id}/instance-scheduled-events`, of which ecsd raises
//! none: the list is empty, and an event named by id does not exist).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ecs_core::compute::ecs_native::{NewLaunchTemplate, VersionFilter};
use serde_json::{Value, json};

use super::input::{optional_bool, optional_str};
use super::{EcsBody, EcsCall, EcsError, ListQuery, illegal, json_body};
use crate::AppState;
use crate::server_view::iso;

/// The most items a v3 page holds by default.
const DEFAULT_LIMIT: usize = 100;

/// The values of `key`, given repeated or comma-separated.
fn many(raw: Option<&str>, key: &str) -> Vec<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or("")).unwrap_or_default();
    pairs
        .into_iter()
        .filter(|(k, _)| k == key)
        .flat_map(|(_, v)| v.split(',').map(String::from).collect::<Vec<_>>())
        .collect()
}

/// A page from `marker` (the id of the last item of the page before) of at
/// most `limit` items, with its `page_info`.
fn page<T>(items: Vec<T>, id: impl Fn(&T) -> &str, query: &ListQuery) -> Result<(Vec<T>, Value), EcsError> {
    let limit = query.limit()?.unwrap_or(DEFAULT_LIMIT);
    let start = match query.get("marker") {
        Some(marker) => {
            items.iter().position(|t| id(t) == marker).ok_or_else(|| illegal(format!("marker {marker} not found")))? + 1
        }
        None => 0,
    };
    let previous = start.checked_sub(1).map(|i| id(&items[i]).to_string());
    let more = items.len() > start + limit;
    let page: Vec<T> = items.into_iter().skip(start).take(limit).collect();
    let next = if more { page.last().map(|t| id(t).to_string()) } else { None };
    Ok((page, json!({"next_marker": next, "previous_marker": previous})))
}

/// `POST /v3/{project_id}/launch-templates`: `{"launch_template": {"name",
/// "description", "version_description", "template_data": {…}}, "dry_run"}`.
#[utoipa::path(
    post,
    path = "/v3/{project_id}/launch-templates",
    tag = "ECS launch templates",
    summary = "Create a launch template",
    request_body(content = Object, description = "`launch_template`: `name`, `template_data` (`flavor_id`, `image_id`…); `dry_run`.", example = json!({"launch_template": {"name": "lt1", "template_data": {"flavor_id": "s6.small.1", "image_id": "IMAGE_ID"}}})),
    responses(
        (status = 200, description = "`{\"launch_template_id\"}`", body = Object),
        (status = 202, description = "`dry_run`: the request would be accepted."),
    ),
)]
pub async fn create(State(state): State<AppState>, call: EcsCall, EcsBody(raw): EcsBody) -> Result<Response, EcsError> {
    let body = json_body(&raw)?;
    let t =
        body.get("launch_template").filter(|t| t.is_object()).ok_or_else(|| illegal("launch_template is required"))?;
    let name = optional_str(t.get("name"), "launch_template.name")?
        .ok_or_else(|| illegal("launch_template.name is required"))?;
    let text = |key: &str| -> Result<String, EcsError> {
        let v = optional_str(t.get(key), &format!("launch_template.{key}"))?.unwrap_or_default();
        if v.chars().count() > 255 {
            return Err(illegal(format!("launch_template.{key} is longer than 255 characters")));
        }
        Ok(v.to_string())
    };
    let data = match t.get("template_data") {
        None | Some(Value::Null) => json!({}),
        Some(v @ Value::Object(_)) => v.clone(),
        Some(_) => return Err(illegal("launch_template.template_data must be an object")),
    };
    for key in ["flavor_id", "name", "description", "availability_zone_id"] {
        optional_str(data.get(key), &format!("template_data.{key}"))?;
    }
    for key in ["security_group_ids", "network_interfaces", "block_device_mappings", "tag_options"] {
        if !matches!(data.get(key), None | Some(Value::Null | Value::Array(_))) {
            return Err(illegal(format!("template_data.{key} must be a list")));
        }
    }
    let new = NewLaunchTemplate {
        name: name.to_string(),
        description: text("description")?,
        version_description: text("version_description")?,
        template_data: data,
    };
    if optional_bool(body.get("dry_run"), "dry_run")?.unwrap_or(false) {
        ecs_core::policy::authorize_write(&call.ctx, "ecs:launchTemplates:create")?;
        return Ok((StatusCode::ACCEPTED, Json(json!({}))).into_response());
    }
    let id = state.core.launch_template_create(&call.ctx, new).await?;
    Ok(Json(json!({"launch_template_id": id})).into_response())
}

/// `GET /v3/{project_id}/launch-templates`: filtered by `launch_template_id`
/// and `name` (each repeatable), paged by `limit` and `marker`.
#[utoipa::path(
    get,
    path = "/v3/{project_id}/launch-templates",
    tag = "ECS launch templates",
    summary = "List launch templates",
    params(("marker" = Option<String>, Query), ("limit" = Option<u32>, Query), ("name" = Option<String>, Query), ("launch_template_id" = Option<String>, Query)),
    responses(
        (status = 200, description = "`{\"launch_templates\": [{\"id\", \"name\", \"default_version\", \"latest_version\"…}], \"page_info\"}`", body = Object),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    call: EcsCall,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, EcsError> {
    let query = ListQuery::parse(raw.as_deref())?;
    let (ids, names) = (many(raw.as_deref(), "launch_template_id"), many(raw.as_deref(), "name"));
    let mut templates = state.core.launch_templates(&call.ctx).await?;
    templates
        .retain(|t| (ids.is_empty() || ids.contains(&t.row.id)) && (names.is_empty() || names.contains(&t.row.name)));
    let (page, info) = page(templates, |t| &t.row.id, &query)?;
    let views: Vec<Value> = page
        .iter()
        .map(|t| {
            json!({
                "id": t.row.id, "name": t.row.name, "description": t.row.description,
                "created_at": iso(t.row.created_at), "updated_at": iso(t.row.updated_at),
                "default_version": t.row.default_version, "latest_version": t.row.latest_version,
            })
        })
        .collect();
    Ok(Json(json!({"launch_templates": views, "page_info": info})))
}

/// `GET /v3/{project_id}/launch-template-versions`: filtered by
/// `launch_template_id`, `image_id`, `flavor_id` and `version` (repeatable),
/// paged by `limit` and `marker`.
#[utoipa::path(
    get,
    path = "/v3/{project_id}/launch-template-versions",
    tag = "ECS launch templates",
    summary = "List launch template versions",
    params(("launch_template_id" = Option<String>, Query), ("image_id" = Option<String>, Query), ("flavor_id" = Option<String>, Query), ("marker" = Option<String>, Query), ("limit" = Option<u32>, Query)),
    responses(
        (status = 200, description = "`{\"launch_template_versions\": […], \"page_info\"}`", body = Object),
    ),
)]
pub async fn versions(
    State(state): State<AppState>,
    call: EcsCall,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, EcsError> {
    let query = ListQuery::parse(raw.as_deref())?;
    let versions = many(raw.as_deref(), "version")
        .iter()
        .map(|v| v.parse::<i64>().map_err(|_| illegal(format!("version must be an integer, not {v}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let filter = VersionFilter {
        launch_template_id: query.get("launch_template_id").map(String::from),
        image_id: query.get("image_id").map(String::from),
        flavor_id: query.get("flavor_id").map(String::from),
        versions,
    };
    let found = state.core.launch_template_versions(&call.ctx, &filter).await?;
    let (page, info) = page(found, |v| &v.row.id, &query)?;
    let views: Vec<Value> = page
        .iter()
        .map(|v| {
            json!({
                "launch_template_id": v.row.template_id, "version_id": v.row.id,
                "version_number": v.row.version_number, "version_description": v.row.description,
                "created_at": iso(v.row.created_at), "template_data": v.template_data,
            })
        })
        .collect();
    Ok(Json(json!({"launch_template_versions": views, "page_info": info})))
}

/// `DELETE /v3/{project_id}/launch-templates/{launch_template_id}`.
#[utoipa::path(
    delete,
    path = "/v3/{project_id}/launch-templates/{launch_template_id}",
    tag = "ECS launch templates",
    summary = "Delete a launch template",
    responses(
        (status = 204, description = "Done."),
    ),
)]
pub async fn delete(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
) -> Result<StatusCode, EcsError> {
    state.core.launch_template_delete(&call.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v3/{project_id}/instance-scheduled-events`: ecsd raises none.
#[utoipa::path(
    get,
    path = "/v3/{project_id}/instance-scheduled-events",
    tag = "ECS scheduled events",
    summary = "List scheduled events of the project's servers",
    responses(
        (status = 200, description = "`{\"events\": [{\"id\"…}], \"page_info\"}`", body = Object),
    ),
)]
pub async fn events(
    State(state): State<AppState>,
    call: EcsCall,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, EcsError> {
    let query = ListQuery::parse(raw.as_deref())?;
    query.limit()?;
    let events = state.core.scheduled_events(&call.ctx).await?;
    let (page, _) = page(events, |e| &e.id, &query)?;
    Ok(Json(json!({"events": page.iter().map(|e| json!({"id": e.id})).collect::<Vec<_>>(), "page_info": {}})))
}

/// The body of an event update or accept: `not_before`, an ISO 8601 time
/// (required for an update).
fn not_before(raw: &[u8], required: bool) -> Result<(), EcsError> {
    if raw.iter().all(u8::is_ascii_whitespace) && !required {
        return Ok(());
    }
    let body = json_body(raw)?;
    match optional_str(body.get("not_before"), "not_before")? {
        Some(t) if chrono::DateTime::parse_from_rfc3339(t).is_err() => {
            Err(illegal("not_before must be a time like 2025-07-09T10:40:00Z"))
        }
        None if required => Err(illegal("not_before is required")),
        _ => Ok(()),
    }
}

/// `PUT /v3/{project_id}/instance-scheduled-events/{id}`.
#[utoipa::path(
    put,
    path = "/v3/{project_id}/instance-scheduled-events/{id}",
    tag = "ECS scheduled events",
    summary = "Reschedule a scheduled event",
    request_body(content = Object, description = "`not_before`.", example = json!({"not_before": "2026-12-05T00:00:00Z"})),
    responses(
        (status = 204, description = "Done."),
    ),
)]
pub async fn update_event(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
    EcsBody(raw): EcsBody,
) -> Result<StatusCode, EcsError> {
    not_before(&raw, true)?;
    state.core.scheduled_event_act(&call.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v3/{project_id}/instance-scheduled-events/{id}/actions/accept`.
#[utoipa::path(
    post,
    path = "/v3/{project_id}/instance-scheduled-events/{id}/actions/accept",
    tag = "ECS scheduled events",
    summary = "Accept a scheduled event",
    request_body(content = Object, description = "`not_before`?.", example = json!({})),
    responses(
        (status = 204, description = "Done."),
    ),
)]
pub async fn accept_event(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
    EcsBody(raw): EcsBody,
) -> Result<StatusCode, EcsError> {
    not_before(&raw, false)?;
    state.core.scheduled_event_act(&call.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
