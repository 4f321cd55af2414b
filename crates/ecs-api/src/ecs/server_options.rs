//! Per-server ECS options and actions with no Nova counterpart of their
//! own: metadata options, the serial console's options and URL, the
//! remote (VNC) console, the auto-terminate time, redeploy, crash dump
//! and the billing mode change.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ecs_core::compute::lifecycle::ResizeOptions;
use serde_json::{Value, json};

use super::input::{optional_bool, optional_str};
use super::{EcsBody, EcsCall, EcsError, illegal, job_reply, json_body};
use crate::AppState;
use crate::request_id::RequestId;

/// The earliest and latest auto-terminate time, from now.
const AUTO_TERMINATE_MIN: chrono::Duration = chrono::Duration::minutes(30);
const AUTO_TERMINATE_MAX_DAYS: i64 = 3 * 366;

/// The body's object `key`.
fn object<'a>(body: &'a Value, key: &str) -> Result<&'a Value, EcsError> {
    body.get(key).filter(|v| v.is_object()).ok_or_else(|| illegal(format!("{key} is required")))
}

/// `GET /v1/{project_id}/cloudservers/{server_id}/metadata-options`.
#[utoipa::path(
    get,
    path = "/v1/{project_id}/cloudservers/{server_id}/metadata-options",
    tag = "ECS server options",
    summary = "Show a server's metadata service options",
    responses(
        (status = 200, description = "`{\"http_endpoint\", \"http_tokens\"}`", body = Object),
    ),
)]
pub async fn show_metadata_options(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
) -> Result<Json<Value>, EcsError> {
    let o = state.core.server_options(&call.ctx, &id).await?;
    Ok(Json(json!({"http_endpoint": o.http_endpoint(), "http_tokens": o.http_tokens()})))
}

/// `PUT /v1/{project_id}/cloudservers/{server_id}/metadata-options`:
/// `{"http_endpoint": "enabled"|"disabled", "http_tokens": "optional"|"required"}`.
#[utoipa::path(
    put,
    path = "/v1/{project_id}/cloudservers/{server_id}/metadata-options",
    tag = "ECS server options",
    summary = "Change a server's metadata service options",
    request_body(content = Object, description = "`http_endpoint` (`enabled`/`disabled`), `http_tokens` (`optional`/`required`).", example = json!({"http_endpoint": "enabled", "http_tokens": "required"})),
    responses(
        (status = 204, description = "Done."),
    ),
)]
pub async fn update_metadata_options(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
    EcsBody(raw): EcsBody,
) -> Result<StatusCode, EcsError> {
    let body = json_body(&raw)?;
    if !body.is_object() {
        return Err(illegal("request body is illegal."));
    }
    let endpoint = optional_str(body.get("http_endpoint"), "http_endpoint")?;
    let tokens = optional_str(body.get("http_tokens"), "http_tokens")?;
    if endpoint.is_none() && tokens.is_none() {
        return Err(illegal("http_endpoint or http_tokens is required"));
    }
    state.core.server_set_metadata_options(&call.ctx, &id, endpoint, tokens).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /v1/{project_id}/cloudservers/{server_id}/serial-console-options`:
/// `{"serial_console_options": {"enabled": bool}}`.
#[utoipa::path(
    put,
    path = "/v1/{project_id}/cloudservers/{server_id}/serial-console-options",
    tag = "ECS server options",
    summary = "Turn a server's serial console on or off",
    request_body(content = Object, description = "`serial_console_options.enabled`.", example = json!({"serial_console_options": {"enabled": true}})),
    responses(
        (status = 204, description = "Done."),
    ),
)]
pub async fn update_serial_console(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
    EcsBody(raw): EcsBody,
) -> Result<StatusCode, EcsError> {
    let body = json_body(&raw)?;
    let options = object(&body, "serial_console_options")?;
    let enabled = optional_bool(options.get("enabled"), "serial_console_options.enabled")?
        .ok_or_else(|| illegal("serial_console_options.enabled is required"))?;
    state.core.server_set_serial_console(&call.ctx, &id, enabled).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/{project_id}/cloudservers/{server_id}/actions/serial-console`.
#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers/{server_id}/actions/serial-console",
    tag = "ECS server options",
    summary = "Get a server's serial console URL",
    responses(
        (status = 200, description = "`{\"serial_console\": {\"url\"}}`", body = Object),
    ),
)]
pub async fn serial_console(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
) -> Result<Json<Value>, EcsError> {
    let url = state.core.server_serial_console(&call.ctx, &id).await?;
    Ok(Json(json!({"serial_console": {"url": url}})))
}

/// `POST /v1/{project_id}/cloudservers/{server_id}/remote_console`:
/// `{"remote_console": {"protocol": "vnc", "type": "novnc"}}`, answered
/// with the noVNC proxy's URL.
#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers/{server_id}/remote_console",
    tag = "ECS server options",
    summary = "Get a server's VNC console URL",
    request_body(content = Object, description = "`remote_console`: `protocol` `vnc`, `type` `novnc`.", example = json!({"remote_console": {"protocol": "vnc", "type": "novnc"}})),
    responses(
        (status = 200, description = "`{\"remote_console\": {\"protocol\": \"vnc\", \"type\": \"novnc\", \"url\"}}`", body = Object),
    ),
)]
pub async fn remote_console(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
    EcsBody(raw): EcsBody,
) -> Result<Json<Value>, EcsError> {
    let body = json_body(&raw)?;
    let console = object(&body, "remote_console")?;
    let protocol = optional_str(console.get("protocol"), "remote_console.protocol")?;
    let kind = optional_str(console.get("type"), "remote_console.type")?;
    if protocol != Some("vnc") {
        return Err(illegal("remote_console.protocol must be vnc"));
    }
    if kind != Some("novnc") {
        return Err(illegal("remote_console.type must be novnc"));
    }
    let url = state.core.server_remote_console(&call.ctx, &id, "novnc").await?;
    Ok(Json(json!({"remote_console": {"protocol": "vnc", "type": "novnc", "url": url}})))
}

/// `POST /v1/{project_id}/cloudservers/{server_id}/actions/update-auto-terminate-time`:
/// `{"auto_terminate_time": "yyyy-MM-ddTHH:mm:ssZ"}` (seconds dropped),
/// from 30 minutes to 3 years ahead; `""` clears it.
#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers/{server_id}/actions/update-auto-terminate-time",
    tag = "ECS server options",
    summary = "Set or clear the time a server deletes itself",
    request_body(content = Object, description = "`auto_terminate_time` (RFC 3339, or empty to clear).", example = json!({"auto_terminate_time": "2026-12-31T00:00:00Z"})),
    responses(
        (status = 204, description = "Done."),
    ),
)]
pub async fn update_auto_terminate(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
    EcsBody(raw): EcsBody,
) -> Result<StatusCode, EcsError> {
    use chrono::Timelike;
    let body = json_body(&raw)?;
    let text = match body.get("auto_terminate_time") {
        Some(Value::String(s)) => s.as_str(),
        Some(Value::Null) | None => return Err(illegal("auto_terminate_time is required")),
        Some(_) => return Err(illegal("auto_terminate_time must be a string")),
    };
    let at = if text.is_empty() {
        None
    } else {
        let t = chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|_| illegal("auto_terminate_time must be a UTC time like 2026-12-31T00:00:00Z"))?
            .with_timezone(&chrono::Utc);
        let t = t.with_second(0).and_then(|t| t.with_nanosecond(0)).unwrap_or(t);
        let now = ecs_types::clock::now();
        if t < now + AUTO_TERMINATE_MIN || t > now + chrono::Duration::days(AUTO_TERMINATE_MAX_DAYS) {
            return Err(illegal("auto_terminate_time must be from 30 minutes to 3 years from now"));
        }
        Some(t)
    };
    state.core.server_set_auto_terminate(&call.ctx, &id, at).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/{project_id}/cloudservers/{server_id}/actions/redeploy`: the
/// server moves to another host (a cold migration confirmed by itself);
/// answered with its job.
#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers/{server_id}/actions/redeploy",
    tag = "ECS server options",
    summary = "Redeploy a server to another host",
    request_body(content = Object, description = "`{}` or `{\"dry_run\": true}`.", example = json!({})),
    responses(
        (status = 200, description = "The job doing it.", body = crate::openapi::schemas::JobReply),
    ),
)]
pub async fn redeploy(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
) -> Result<Json<Value>, EcsError> {
    let opts = ResizeOptions { auto_confirm: true, ..Default::default() };
    let task = state.core.server_migrate(&call.ctx, &id, None, opts, &request_id).await?;
    Ok(job_reply(&task))
}

/// `POST /v1/{project_id}/cloudservers/{server_id}/actions/trigger-crash-dump`:
/// an NMI to the guest (Nova's `trigger_crash_dump`).
#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers/{server_id}/actions/trigger-crash-dump",
    tag = "ECS server options",
    summary = "Trigger a crash dump (NMI) in a server",
    request_body(content = Object, description = "`{}`.", example = json!({})),
    responses(
        (status = 200, description = "`{}`", body = Object),
    ),
)]
pub async fn dump(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
) -> Result<Json<Value>, EcsError> {
    state.core.server_trigger_crash_dump(&call.ctx, &id, &request_id).await?;
    Ok(Json(json!({})))
}

/// `POST /v1/{project_id}/cloudservers/actions/change-charge-mode`:
/// `{"server_ids": […], "charge_mode": "prePaid", "prepaid_options": {…}}`.
/// ecsd's accounts are pay-per-use without a payment method: refused so
/// (Ecs.0069) once the request is good.
#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers/actions/change-charge-mode",
    tag = "ECS server options",
    summary = "Change servers' billing mode",
    request_body(content = Object, description = "`charge_mode`, `server_ids`, `period_type`…", example = json!({"charge_mode": "prePaid", "server_ids": ["SERVER_ID"], "period_type": "month", "period_num": 1})),
    responses(
        (status = 204, description = "Done."),
    ),
)]
pub async fn change_charge_mode(
    State(state): State<AppState>,
    call: EcsCall,
    EcsBody(raw): EcsBody,
) -> Result<Response, EcsError> {
    let body = json_body(&raw)?;
    let ids = body
        .get("server_ids")
        .and_then(Value::as_array)
        .ok_or_else(|| illegal("server_ids is required"))?
        .iter()
        .map(|v| v.as_str().map(String::from).ok_or_else(|| illegal("server_ids must be strings")))
        .collect::<Result<Vec<_>, _>>()?;
    match optional_str(body.get("charge_mode"), "charge_mode")? {
        Some("prePaid") => {}
        Some(other) => return Err(illegal(format!("charge_mode must be prePaid, not {other}"))),
        None => return Err(illegal("charge_mode is required")),
    }
    let options = object(&body, "prepaid_options")?;
    match optional_str(options.get("period_type"), "prepaid_options.period_type")? {
        Some("month" | "year") => {}
        _ => return Err(illegal("prepaid_options.period_type must be month or year")),
    }
    optional_bool(body.get("dry_run"), "dry_run")?;
    state.core.server_change_charge_mode(&call.ctx, &ids).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
