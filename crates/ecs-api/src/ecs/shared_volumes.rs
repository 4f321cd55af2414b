//! ECS operations on disks beside attach/detach: the shared-disk batch
//! attach and detach, a server's volume attachments, how many more disks
//! it takes, and a disk's delete_on_termination (`block_device` PUT).

use axum::Json;
use axum::extract::{Extension, Path, State};
use serde_json::{Value, json};

use super::disks::kvm_device;
use super::input::{optional_str, required_str};
use super::{EcsBody, EcsCall, EcsError, illegal, job_reply, json_body};
use crate::AppState;
use crate::request_id::RequestId;

/// `POST /v1/{project_id}/batchaction/attachvolumes/{volume_id}`:
/// `{"serverinfo": [{"server_id", "device"}]}`, a job.
#[utoipa::path(
    post,
    path = "/v1/{project_id}/batchaction/attachvolumes/{volume_id}",
    tag = "ECS disks",
    summary = "Attach a shared disk to servers in a batch",
    request_body(content = Object, description = "`serverinfo`: `server_id`, `device`?.", example = json!({"serverinfo": [{"server_id": "SERVER_ID"}]})),
    responses(
        (status = 200, description = "The job doing it.", body = crate::openapi::schemas::JobReply),
    ),
)]
pub async fn batch_attach(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EcsCall,
    Path((_project, volume_id)): Path<(String, String)>,
    EcsBody(body): EcsBody,
) -> Result<Json<Value>, EcsError> {
    let body = json_body(&body)?;
    let servers = body.get("serverinfo").and_then(Value::as_array).ok_or_else(|| illegal("serverinfo is required"))?;
    let servers = servers
        .iter()
        .map(|s| {
            let server = required_str(s.get("server_id"), "serverinfo[].server_id")?;
            let device = optional_str(s.get("device"), "serverinfo[].device")?.map(kvm_device).transpose()?;
            Ok((server.to_string(), device))
        })
        .collect::<Result<Vec<_>, EcsError>>()?;
    let task = state.core.volume_attach_servers(&call.ctx, &volume_id, &servers, &request_id).await?;
    Ok(job_reply(&task))
}

/// `POST /v1/{project_id}/batchaction/detachvolumes/{volume_id}`:
/// `{"serverinfo": [server_id…]}` (or `[{"server_id"}]`), a job.
#[utoipa::path(
    post,
    path = "/v1/{project_id}/batchaction/detachvolumes/{volume_id}",
    tag = "ECS disks",
    summary = "Detach a shared disk from servers in a batch",
    request_body(content = Object, description = "`serverinfo`: `server_id`.", example = json!({"serverinfo": [{"server_id": "SERVER_ID"}]})),
    responses(
        (status = 200, description = "The job doing it.", body = crate::openapi::schemas::JobReply),
    ),
)]
pub async fn batch_detach(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EcsCall,
    Path((_project, volume_id)): Path<(String, String)>,
    EcsBody(body): EcsBody,
) -> Result<Json<Value>, EcsError> {
    let body = json_body(&body)?;
    let servers = body.get("serverinfo").and_then(Value::as_array).ok_or_else(|| illegal("serverinfo is required"))?;
    let servers = servers
        .iter()
        .map(|s| match s {
            Value::String(id) if !id.is_empty() => Ok(id.clone()),
            Value::Object(_) => required_str(s.get("server_id"), "serverinfo[].server_id").map(str::to_string),
            _ => Err(illegal("serverinfo[] must be server ids")),
        })
        .collect::<Result<Vec<_>, EcsError>>()?;
    let task = state.core.volume_detach_servers(&call.ctx, &volume_id, &servers, &request_id).await?;
    Ok(job_reply(&task))
}

/// `GET /v1/{project_id}/cloudservers/{server_id}/os-volume_attachments`.
#[utoipa::path(
    get,
    path = "/v1/{project_id}/cloudservers/{server_id}/os-volume_attachments",
    tag = "ECS disks",
    summary = "List a server's disk attachments",
    responses(
        (status = 200, description = "`{\"volumeAttachments\": [{\"id\", \"serverId\", \"volumeId\", \"device\"}]}`", body = Object),
    ),
)]
pub async fn attachments(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, server_id)): Path<(String, String)>,
) -> Result<Json<Value>, EcsError> {
    let volumes = state.core.server_volumes(&call.ctx, &server_id).await?;
    let attachments: Vec<Value> = volumes
        .iter()
        .filter_map(|v| v.attachment.as_ref().map(|a| (v, a)))
        .map(|(v, a)| json!({"device": a.device, "id": v.id, "serverId": a.server_id, "volumeId": v.id}))
        .collect();
    Ok(Json(json!({"volumeAttachments": attachments})))
}

/// `GET /v1/{project_id}/cloudservers/{server_id}/appendvolumequota`.
#[utoipa::path(
    get,
    path = "/v1/{project_id}/cloudservers/{server_id}/appendvolumequota",
    tag = "ECS disks",
    summary = "Show how many more disks a server can take",
    responses(
        (status = 200, description = "`{\"free_scsi\", \"free_blk\", \"count\"}`", body = Object),
    ),
)]
pub async fn appendable(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, server_id)): Path<(String, String)>,
) -> Result<Json<Value>, EcsError> {
    let slots = state.core.server_disk_slots(&call.ctx, &server_id).await?;
    Ok(Json(json!({"free_scsi": slots.free_scsi, "free_blk": slots.free_blk, "count": slots.free()})))
}
