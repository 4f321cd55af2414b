//! The changes of one server the Huawei SDK makes on the ECS-native paths:
//! UpdateServer (`PUT /v1/{project_id}/cloudservers/{server_id}`),
//! UpdateServerMetadata / DeleteServerMetadata
//! (`POST …/metadata`, `DELETE …/metadata/{key}`), ShowServerConsoleOutput
//! (`GET …/console-output?length=`) and UpdateServerBlockDevice
//! (`PUT …/block_device/{volume_id}`), over the same core calls as Nova's.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use ecs_store::ServerEdit;
use ecs_types::server::Server;
use serde_json::{Map, Value, json};

use super::input::{optional_bool, optional_str};
use super::{EcsBody, EcsCall, EcsError, ListQuery, illegal, json_body};
use crate::request_id::RequestId;
use crate::server_view::{host_id, iso};
use crate::{AppState, BaseUrl};

/// The most characters of a server name (§5.1.1, v1.1) and description.
const MAX_NAME: usize = 128;
const MAX_DESCRIPTION: usize = 85;

fn object<'a>(v: &'a Value, field: &str) -> Result<&'a Map<String, Value>, EcsError> {
    v.as_object().ok_or_else(|| illegal(format!("{field} must be an object.")))
}

/// UpdateServerResult: the server as it is after the change.
fn update_view(base: &BaseUrl, s: &Server) -> Value {
    let project = &s.project_id;
    let link = |path: String| {
        json!([
            {"rel": "self", "href": base.join(&format!("v2.1/{project}/{path}"))},
            {"rel": "bookmark", "href": base.join(&format!("{project}/{path}"))},
        ])
    };
    let mut addresses = Map::new();
    for p in &s.ports {
        let list = addresses.entry(p.network_id.clone()).or_insert_with(|| json!([]));
        if let Some(list) = list.as_array_mut() {
            list.push(json!({"version": if p.address.contains(':') { 6 } else { 4 }, "addr": p.address}));
        }
    }
    json!({
        "id": s.id,
        "name": s.name,
        "status": s.status(),
        "tenant_id": s.project_id,
        "user_id": s.user_id,
        "image": s.image_id.as_deref().or(s.metadata.get("metering.image_id").map(String::as_str)).unwrap_or_default(),
        "accessIPv4": s.access_ipv4,
        "accessIPv6": s.access_ipv6,
        "metadata": s.metadata,
        "addresses": addresses,
        "created": iso(s.created_at),
        "updated": iso(s.updated_at),
        "hostId": host_id(&s.project_id, s.host.as_deref()),
        "flavor": {"id": s.flavor.id, "links": link(format!("flavors/{}", s.flavor.id))},
        "OS-DCF:diskConfig": s.disk_config,
        "progress": 0,
        "links": link(format!("servers/{}", s.id)),
        "locked": s.locked(),
        "description": s.description.clone().unwrap_or_default(),
        "tags": s.tags,
        "OS-EXT-SRV-ATTR:user_data": s.user_data,
        "OS-EXT-SRV-ATTR:hostname": s.hostname,
    })
}

/// `PUT /v1/{project_id}/cloudservers/{server_id}`: `name`, `description`
/// and `hostname` (the others the SDK offers are Huawei's hardware options).
#[utoipa::path(
    put,
    path = "/v1/{project_id}/cloudservers/{server_id}",
    tag = "ECS servers",
    summary = "Change a server's name, description, hostname or user data",
    request_body(content = crate::openapi::schemas::UpdateServerRequest, description = "The fields to change."),
    responses(
        (status = 200, description = "The server, updated.", body = Object),
    ),
)]
pub async fn update(
    State(state): State<AppState>,
    base: BaseUrl,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
    EcsBody(bytes): EcsBody,
) -> Result<Json<Value>, EcsError> {
    let body = json_body(&bytes)?;
    let server = object(body.get("server").ok_or_else(|| illegal("server is required."))?, "server")?;
    let mut edit = ServerEdit::default();
    if let Some(name) = optional_str(server.get("name"), "name")? {
        let ok = (1..=MAX_NAME).contains(&name.chars().count())
            && name.chars().all(|c| c.is_alphanumeric() || "-_.".contains(c));
        if !ok {
            return Err(EcsError::with_message(
                "Ecs.0914",
                format!("name: 1 to {MAX_NAME} letters, digits, underscores (_), hyphens (-) and periods (.)."),
            ));
        }
        edit.name = Some(name.to_string());
    }
    if let Some(description) = optional_str(server.get("description"), "description")? {
        if description.chars().count() > MAX_DESCRIPTION || description.contains(['<', '>']) {
            return Err(illegal(format!("description: at most {MAX_DESCRIPTION} characters, no < or >.")));
        }
        edit.description = Some(Some(description.to_string()));
    }
    if let Some(hostname) = optional_str(server.get("hostname"), "hostname")? {
        let ok = (1..=64).contains(&hostname.len())
            && hostname.chars().all(|c| c.is_ascii_alphanumeric() || "-.".contains(c))
            && !hostname.starts_with(['-', '.'])
            && !hostname.ends_with(['-', '.']);
        if !ok {
            return Err(illegal("hostname: 1 to 64 letters, digits, hyphens (-) and periods (.)."));
        }
        edit.hostname = Some(hostname.to_string());
    }
    let server = state.core.server_edit(&call.ctx, &id, edit).await?;
    Ok(Json(json!({"server": update_view(&base, &server)})))
}

/// `POST …/metadata`: sets the keys given (the others stay); answers with
/// all the server's metadata.
#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers/{server_id}/metadata",
    tag = "ECS servers",
    summary = "Set metadata keys of a server",
    request_body(content = crate::openapi::schemas::Metadata, description = "Keys to set (others are kept)."),
    responses(
        (status = 200, description = "All the server's user metadata.", body = crate::openapi::schemas::Metadata),
    ),
)]
pub async fn update_metadata(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
    EcsBody(bytes): EcsBody,
) -> Result<Json<Value>, EcsError> {
    let body = json_body(&bytes)?;
    let metadata = object(body.get("metadata").ok_or_else(|| illegal("metadata is required."))?, "metadata")?;
    let items = metadata
        .iter()
        .map(|(k, v)| {
            let v = v.as_str().ok_or_else(|| illegal(format!("metadata.{k} must be a string.")))?;
            if k.is_empty() || k.chars().count() > 255 || v.chars().count() > 255 {
                return Err(illegal("metadata: keys of 1 to 255 characters, values of at most 255."));
            }
            Ok((k.clone(), v.to_string()))
        })
        .collect::<Result<BTreeMap<_, _>, EcsError>>()?;
    let all = state.core.server_metadata_set(&call.ctx, &id, items, false).await?;
    Ok(Json(json!({"metadata": all})))
}

/// `DELETE …/metadata/{key}`: 204.
#[utoipa::path(
    delete,
    path = "/v1/{project_id}/cloudservers/{server_id}/metadata/{key}",
    tag = "ECS servers",
    summary = "Delete one metadata key",
    responses(
        (status = 204, description = "Done."),
    ),
)]
pub async fn delete_metadata(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id, key)): Path<(String, String, String)>,
) -> Result<StatusCode, EcsError> {
    state.core.server_metadata_delete(&call.ctx, &id, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET …/console-output[?length=n]`: the last `length` lines (all without).
#[utoipa::path(
    get,
    path = "/v1/{project_id}/cloudservers/{server_id}/console-output",
    tag = "ECS servers",
    summary = "Read a server's console log",
    params(("length" = Option<u32>, Query, description = "The last lines to show (all without).")),
    responses(
        (status = 200, description = "`{\"output\": \"…\"}`", body = Object, example = json!({"output": "login:"})),
    ),
)]
pub async fn console_output(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, EcsError> {
    let query = ListQuery::parse(raw.as_deref())?;
    let length = query.non_negative("length")?;
    let output = state.core.server_console_output(&call.ctx, &id, length).await?;
    Ok(Json(json!({"output": output})))
}

/// `PUT …/block_device/{volume_id}`: `{"block_device":
/// {"delete_on_termination": bool}}`, the one attribute it changes; 204.
#[utoipa::path(
    put,
    path = "/v1/{project_id}/cloudservers/{server_id}/block_device/{volume_id}",
    tag = "ECS disks",
    summary = "Change an attached disk (delete_on_termination)",
    request_body(content = Object, description = "The setting.", example = json!({"block_device": {"delete_on_termination": true}})),
    responses(
        (status = 204, description = "Done."),
    ),
)]
pub async fn update_block_device(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EcsCall,
    Path((_project, id, volume)): Path<(String, String, String)>,
    EcsBody(bytes): EcsBody,
) -> Result<StatusCode, EcsError> {
    let body = json_body(&bytes)?;
    let device = object(body.get("block_device").ok_or_else(|| illegal("block_device is required."))?, "block_device")?;
    let dot = optional_bool(device.get("delete_on_termination"), "delete_on_termination")?
        .ok_or_else(|| illegal("block_device.delete_on_termination is required."))?;
    // The system disk's is not to be changed (Ecs.0005); another server's disk is not attached here (Ecs.0111).
    state.core.data_disk_delete_on_termination(&call.ctx, &id, &volume, dot, &request_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
