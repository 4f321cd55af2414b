//! ECS disks (seed 002 §5.6.1, §5.6.2): attach and detach as jobs — the
//! volume's own attach or detach task.

use axum::Json;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::EcsBody;
use super::input::{optional_bool, optional_str};
use super::{EcsCall, EcsError, illegal, job_reply, json_body};
use crate::AppState;
use crate::request_id::RequestId;

/// The system disk's device on KVM, the only hypervisor ecsd simulates.
const SYSTEM_DISK: &str = "/dev/vda";

/// §5.6.1's device names on a KVM ECS: `/dev/vdX`; `/dev/sdX` (and Xen's
/// `/dev/xvdX`) become `/dev/vdX`. The system disk's name is taken.
pub(crate) fn kvm_device(device: &str) -> Result<String, EcsError> {
    let letters = ["/dev/vd", "/dev/sd", "/dev/xvd"]
        .iter()
        .find_map(|prefix| device.strip_prefix(prefix))
        .filter(|l| (1..=2).contains(&l.len()) && l.chars().all(|c| c.is_ascii_lowercase()))
        .ok_or_else(|| illegal(format!("Invalid device name {device}: /dev/vdX or /dev/sdX is expected.")))?;
    let kvm = format!("/dev/vd{letters}");
    if kvm == SYSTEM_DISK {
        return Err(illegal(format!("{device} is the system disk's device name.")));
    }
    Ok(kvm)
}

/// `POST /v1/{project_id}/cloudservers/{server_id}/attachvolume` (§5.6.1).
#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers/{server_id}/attachvolume",
    tag = "ECS disks",
    summary = "Attach a disk to a server (§5.6.1)",
    request_body(content = Object, description = "`volumeAttachment`: `volumeId`, `device`?, `volume_type`?, `count`?, `hw:passthrough`?; `dry_run`.", example = json!({"volumeAttachment": {"volumeId": "VOLUME_ID", "device": "/dev/sdb"}})),
    responses(
        (status = 200, description = "The job doing it.", body = crate::openapi::schemas::JobReply),
        (status = 202, description = "`dry_run`, or the disk is attached already."),
    ),
)]
pub async fn attach(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
    EcsBody(body): EcsBody,
) -> Result<Response, EcsError> {
    let body = json_body(&body)?;
    let args = body
        .get("volumeAttachment")
        .filter(|v| v.is_object())
        .ok_or_else(|| illegal("volumeAttachment is required"))?;
    let dry_run = optional_bool(body.get("dry_run"), "dry_run")?.unwrap_or(false);
    let device = optional_str(args.get("device"), "device")?.map(kvm_device).transpose()?;
    // SCSI passthrough is a String "true"/"false" here (§5.6.1); ecsd's
    // disks are all VBD, so it is checked and otherwise ignored.
    optional_bool(args.get("hw:passthrough"), "hw:passthrough")?;
    let server = state.core.server_get(&call.ctx, &id).await?;
    let Some(volume_id) = optional_str(args.get("volumeId"), "volumeId")? else {
        // Only a dry run may leave the volume out, to check `volume_type` and `count`.
        if !dry_run {
            return Err(illegal("volumeAttachment.volumeId is required"));
        }
        optional_str(args.get("volume_type"), "volume_type")?
            .ok_or_else(|| illegal("volume_type is required without volumeId"))?;
        match args.get("count") {
            None | Some(Value::Null) => {}
            Some(c) if c.as_u64().is_some_and(|n| n >= 1) => {}
            Some(_) => return Err(illegal("count must be a positive integer")),
        }
        return Ok(StatusCode::ACCEPTED.into_response());
    };
    // The rules are the core's: attached here already is Ecs.0057, a disk
    // missing, attached elsewhere or not available Ecs.0103.
    if dry_run {
        state.core.volume_attach_check(&call.ctx, &server.id, volume_id, device.as_deref()).await?;
        return Ok(StatusCode::ACCEPTED.into_response());
    }
    let (_, task) =
        state.core.volume_attach_start(&call.ctx, &id, volume_id, device.as_deref(), false, &request_id).await?;
    Ok(job_reply(&task).into_response())
}

/// `DELETE /v1/{project_id}/cloudservers/{server_id}/detachvolume/{volume_id}?delete_flag=0|1`
/// (§5.6.2). `delete_flag=1` (forced) detaches the same way: a simulated
/// guest never holds on to a disk. The system disk stays.
#[utoipa::path(
    delete,
    path = "/v1/{project_id}/cloudservers/{server_id}/detachvolume/{volume_id}",
    tag = "ECS disks",
    summary = "Detach a disk from a server (§5.6.2; `delete_flag` 1 forces)",
    params(("delete_flag" = Option<String>, Query, description = "`1` forces the detach of a disk from a running server.")),
    responses(
        (status = 200, description = "The job doing it.", body = crate::openapi::schemas::JobReply),
    ),
)]
pub async fn detach(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EcsCall,
    Path((_project, id, volume_id)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, EcsError> {
    // Read as ECS reads queries, so that junk is refused in ECS's format.
    let query = super::ListQuery::parse(query.as_deref())?;
    match query.get("delete_flag") {
        None | Some("0" | "1") => {}
        Some(other) => return Err(illegal(format!("delete_flag must be 0 or 1, not {other}"))),
    }
    // The core refuses a disk not attached here (Ecs.0111) and the system disk (Ecs.0102).
    let task = state.core.volume_detach(&call.ctx, &id, &volume_id, &request_id).await?;
    Ok(job_reply(&task))
}
