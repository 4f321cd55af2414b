//! The disks attached to a server (§5.6.3, §5.6.4):
//! `/v2.1[/{project_id}]/servers/{server_id}/block_device[/{volume_id}]` as
//! the seed prints them, and `/v1/{project_id}/cloudservers/{server_id}/
//! block_device[/detail|/{volume_id}]` as Huawei's SDK calls them. The
//! volume attachments of Nova's os-volume_attachments, with their size,
//! a PCI address and boot index derived from the device name.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use ecs_types::volume::Volume;
use serde_json::{Value, json};

use super::{EcsCall, EcsError};
use crate::AppState;

/// The disk's position from its device name: `/dev/vda` 0, `/dev/vdb` 1,
/// …, `/dev/vdaa` 26 (the letters after the `vd`/`sd`/`xvd`/`hd` prefix).
fn device_index(device: &str) -> u32 {
    let name = device.rsplit('/').next().unwrap_or_default();
    let Some(letters) = ["xvd", "vd", "sd", "hd"].iter().find_map(|p| name.strip_prefix(p)) else { return 0 };
    let letters = letters.trim_end_matches(|c: char| c.is_ascii_digit());
    if letters.is_empty() || !letters.chars().all(|c| c.is_ascii_lowercase()) {
        return 0;
    }
    letters.chars().fold(0u32, |n, c| n.saturating_mul(26).saturating_add(c as u32 - 'a' as u32 + 1)) - 1
}

fn view(v: &Volume) -> Option<Value> {
    let a = v.attachment.as_ref()?;
    let index = device_index(&a.device);
    Some(json!({
        "serverId": a.server_id,
        "volumeId": v.id,
        "id": v.id,
        "size": v.size_gb,
        "device": a.device,
        // One PCI slot per disk on bus 2, in device order, as in the seed.
        "pciAddress": format!("0000:02:{:02x}.0", (index + 1) % 0x20),
        "bootIndex": index,
        "bus": if a.device.contains("/sd") { "scsi" } else { "virtio" },
    }))
}

/// `attachableQuantity` of a server with `data_disks` data disks attached
/// (for a flavor, with none); `nics` adds `free_nic`.
pub(crate) fn attachable_quantity(data_disks: usize, nics: Option<usize>) -> Value {
    let slots = ecs_core::evs::DiskSlots::with_attached(data_disks);
    let mut out = json!({"free_scsi": slots.free_scsi, "free_blk": slots.free_blk, "free_disk": slots.free_scsi});
    if let Some(nics) = nics {
        out["free_nic"] = json!(nics);
    }
    out
}

/// The server id of either path family (`{id}` under Nova's router).
fn server_id(params: &HashMap<String, String>) -> &str {
    params.get("server_id").or_else(|| params.get("id")).map(String::as_str).unwrap_or_default()
}

async fn attached(state: &AppState, call: &EcsCall, server: &str) -> Result<Vec<Value>, EcsError> {
    let mut volumes = state.core.server_volumes(&call.ctx, server).await?;
    volumes.retain(|v| v.attachment.as_ref().is_some_and(|a| a.server_id == server));
    volumes.sort_by_key(|v| v.attachment.as_ref().map(|a| (device_index(&a.device), a.device.clone())));
    Ok(volumes.iter().filter_map(view).collect())
}

/// `GET …/block_device`: `{"volumeAttachments": [...]}`.
#[utoipa::path(
    get,
    path = "/v1/{project_id}/cloudservers/{server_id}/block_device",
    tag = "ECS disks",
    summary = "List the disks attached to a server (§5.6.3)",
    responses(
        (status = 200, description = "`{\"volumeAttachments\": [{\"id\", \"serverId\", \"volumeId\", \"device\", \"size\", \"bootIndex\", \"pciAddress\"…}], \"attachableQuantity\": {\"free_scsi\", \"free_blk\", \"free_disk\"}}`", body = Object),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    call: EcsCall,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Json<Value>, EcsError> {
    let attachments = attached(&state, &call, server_id(&params)).await?;
    let data_disks = attachments.iter().filter(|a| a["bootIndex"] != 0).count();
    Ok(Json(json!({"volumeAttachments": attachments, "attachableQuantity": attachable_quantity(data_disks, None)})))
}

/// `GET …/block_device/{volume_id}`: `{"volumeAttachment": {...}}`.
#[utoipa::path(
    get,
    path = "/v1/{project_id}/cloudservers/{server_id}/block_device/{volume_id}",
    tag = "ECS disks",
    summary = "Show one disk attached to a server (§5.6.4)",
    responses(
        (status = 200, description = "`{\"volumeAttachment\": {…}}`", body = Object),
    ),
)]
pub async fn show(
    State(state): State<AppState>,
    call: EcsCall,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Json<Value>, EcsError> {
    let server = server_id(&params);
    let volume = params.get("volume_id").map(String::as_str).unwrap_or_default();
    let attachment =
        attached(&state, &call, server).await?.into_iter().find(|a| a["volumeId"] == volume).ok_or_else(|| {
            EcsError::with_message("Ecs.0111", format!("Volume {volume} is not attached to {server}."))
        })?;
    Ok(Json(json!({"volumeAttachment": attachment})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_number_in_order() {
        assert_eq!(device_index("/dev/vda"), 0);
        assert_eq!(device_index("/dev/vdb"), 1);
        assert_eq!(device_index("/dev/sdc"), 2);
        assert_eq!(device_index("/dev/xvdz"), 25);
        assert_eq!(device_index("/dev/vdaa"), 26);
        assert_eq!(device_index("weird"), 0);
    }
}
