//! `/os-volumes`, `/os-snapshots` (Nova's proxies, gone at 2.36) and
//! `/servers/{id}/os-volume_attachments`.

use axum::Json;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use ecs_core::volume::VolumeRequest;
use ecs_types::volume::{Volume, VolumeSnapshot};
use serde_json::{Map, Value, json};

use super::validate::{self, ListQuery, ListRules, Paging, invalid};
use super::{NovaBody, NovaCall, NovaError, gone_at_236};
use crate::AppState;
use crate::request_id::RequestId;

type Result<T> = std::result::Result<T, NovaError>;

fn time(t: ecs_types::Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

fn volume_view(v: &Volume) -> Value {
    // Nova shows an unattached volume with one empty attachment.
    let attachments = match &v.attachment {
        Some(a) => json!([{"id": v.id, "volumeId": v.id, "serverId": a.server_id, "device": a.device}]),
        None => json!([{}]),
    };
    json!({
        "id": v.id, "status": v.status, "size": v.size_gb, "availabilityZone": v.availability_zone,
        "createdAt": time(v.created_at), "attachments": attachments, "displayName": v.name,
        "displayDescription": v.description, "volumeType": v.volume_type, "snapshotId": v.snapshot_id,
        "metadata": {},
    })
}

fn snapshot_view(s: &VolumeSnapshot) -> Value {
    json!({
        "id": s.id, "volumeId": s.volume_id, "status": s.status, "size": s.size_gb,
        "createdAt": time(s.created_at), "displayName": s.name, "displayDescription": s.description,
    })
}

fn body_of<'a>(body: &'a Value, key: &str) -> Result<&'a Map<String, Value>> {
    validate::object(body, "", &[key], &[key])?;
    body[key].as_object().ok_or_else(|| invalid(key, &body[key], format!("{} is not of type 'object'", body[key])))
}

fn opt_text(m: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => Ok(Some(validate::string(v, key, 0, 255)?.to_string())),
    }
}

/// The volume and snapshot proxies page with Nova's `common.limited`.
const PROXY_LIST: ListRules = ListRules { paging: Paging::Offset, filters: &[], strict_from: None };

/// Attachments: Nova's `index_query` (strict from 2.75).
const ATTACHMENT_LIST: ListRules = ListRules { paging: Paging::Offset, filters: &[], strict_from: Some(75) };

pub async fn index(State(state): State<AppState>, call: NovaCall, RawQuery(raw): RawQuery) -> Result<Json<Value>> {
    gone_at_236(&call)?;
    let list = ListQuery::parse(raw.as_deref(), call.version, &PROXY_LIST)?;
    let volumes = list.page(state.core.volumes(&call.ctx).await?, |v| v.id.clone())?;
    Ok(Json(json!({"volumes": volumes.iter().map(volume_view).collect::<Vec<_>>()})))
}

pub async fn show(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<Json<Value>> {
    gone_at_236(&call)?;
    Ok(Json(json!({"volume": volume_view(&state.core.volume(&call.ctx, &id).await?)})))
}

pub async fn create(State(state): State<AppState>, call: NovaCall, NovaBody(body): NovaBody) -> Result<Json<Value>> {
    gone_at_236(&call)?;
    let v = body_of(&body, "volume")?;
    let size = v.get("size").ok_or_else(|| invalid("volume", &body["volume"], "'size' is a required property"))?;
    let req = VolumeRequest {
        size_gb: validate::integer(size, "size", 1)?,
        name: opt_text(v, "display_name")?.unwrap_or_default(),
        description: opt_text(v, "display_description")?.unwrap_or_default(),
        availability_zone: opt_text(v, "availability_zone")?,
        volume_type: opt_text(v, "volume_type")?,
        snapshot_id: opt_text(v, "snapshot_id")?,
    };
    let volume = state.core.volume_create(&call.ctx, req).await?;
    Ok(Json(json!({"volume": volume_view(&volume)})))
}

pub async fn delete(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<StatusCode> {
    gone_at_236(&call)?;
    state.core.volume_delete(&call.ctx, &id).await?;
    Ok(StatusCode::ACCEPTED)
}

pub async fn snapshots(State(state): State<AppState>, call: NovaCall, RawQuery(raw): RawQuery) -> Result<Json<Value>> {
    gone_at_236(&call)?;
    let query = ListQuery::parse(raw.as_deref(), call.version, &PROXY_LIST)?;
    let list = query.page(state.core.snapshots(&call.ctx).await?, |s| s.id.clone())?;
    Ok(Json(json!({"snapshots": list.iter().map(snapshot_view).collect::<Vec<_>>()})))
}

pub async fn snapshot(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<Json<Value>> {
    gone_at_236(&call)?;
    Ok(Json(json!({"snapshot": snapshot_view(&state.core.snapshot(&call.ctx, &id).await?)})))
}

pub async fn snapshot_create(
    State(state): State<AppState>,
    call: NovaCall,
    NovaBody(body): NovaBody,
) -> Result<Json<Value>> {
    gone_at_236(&call)?;
    let s = body_of(&body, "snapshot")?;
    let volume_id = s
        .get("volume_id")
        .ok_or_else(|| invalid("snapshot", &body["snapshot"], "'volume_id' is a required property"))?;
    let volume_id = validate::string(volume_id, "volume_id", 1, 255)?;
    let force = s.get("force").map(|f| validate::boolean(f, "force")).transpose()?.unwrap_or(false);
    let name = opt_text(s, "display_name")?.unwrap_or_default();
    let description = opt_text(s, "display_description")?.unwrap_or_default();
    let snapshot = state.core.snapshot_create(&call.ctx, volume_id, &name, &description, force).await?;
    Ok(Json(json!({"snapshot": snapshot_view(&snapshot)})))
}

pub async fn snapshot_delete(
    State(state): State<AppState>,
    call: NovaCall,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    gone_at_236(&call)?;
    state.core.snapshot_delete(&call.ctx, &id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// An attachment as GET lists and shows it.
fn attachment_view(call: &NovaCall, v: &Volume) -> Value {
    let a = v.attachment.as_ref();
    let mut out = json!({
        "id": v.id, "volumeId": v.id, "serverId": a.map(|a| a.server_id.clone()), "device": a.map(|a| a.device.clone()),
    });
    if call.version.at_least(70) {
        out["tag"] = Value::Null;
    }
    if call.version.at_least(79) {
        out["delete_on_termination"] = json!(a.is_some_and(|a| a.delete_on_termination));
    }
    if call.version.at_least(89) {
        out.as_object_mut().expect("object").remove("id");
        out["attachment_id"] = json!(a.map(|a| a.id.clone()));
        out["bdm_uuid"] = json!(a.map(|a| a.id.clone()));
    }
    out
}

pub async fn attachments(
    State(state): State<AppState>,
    call: NovaCall,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    let list = ListQuery::parse(raw.as_deref(), call.version, &ATTACHMENT_LIST)?;
    let volumes = list.page(state.core.server_volumes(&call.ctx, &id).await?, |v| v.id.clone())?;
    Ok(Json(json!({"volumeAttachments": volumes.iter().map(|v| attachment_view(&call, v)).collect::<Vec<_>>()})))
}

pub async fn attachment(
    State(state): State<AppState>,
    call: NovaCall,
    Path((id, volume_id)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let volumes = state.core.server_volumes(&call.ctx, &id).await?;
    let v = volumes.iter().find(|v| v.id == volume_id).ok_or_else(|| {
        NovaError::new(StatusCode::NOT_FOUND, format!("Instance {id} is not attached to volume {volume_id}."))
    })?;
    Ok(Json(json!({"volumeAttachment": attachment_view(&call, v)})))
}

pub async fn attach(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: NovaCall,
    Path(id): Path<String>,
    NovaBody(body): NovaBody,
) -> Result<Json<Value>> {
    let mut allowed = vec!["volumeId", "device"];
    if call.version.at_least(49) {
        allowed.push("tag");
    }
    if call.version.at_least(79) {
        allowed.push("delete_on_termination");
    }
    validate::object(&body, "", &["volumeAttachment"], &["volumeAttachment"])?;
    let a = validate::object(&body["volumeAttachment"], "volumeAttachment", &allowed, &["volumeId"])?;
    let volume_id = validate::string(&a["volumeId"], "volumeId", 1, 255)?;
    // Device tags are checked, not kept (no metadata service shows them).
    a.get("tag").map(|t| validate::tag(t, "volumeAttachment/tag")).transpose()?;
    let device = match a.get("device") {
        None | Some(Value::Null) => None,
        Some(d) => {
            let d = validate::string(d, "device", 1, 255)?;
            if !d.starts_with("/dev/") {
                return Err(invalid(
                    "device",
                    &json!(d),
                    format!("'{d}' does not match '(^/dev/x{{0,1}}[a-z]{{0,1}}d{{0,1}})([a-z]+)[0-9]*$'"),
                ));
            }
            Some(d)
        }
    };
    let dot = a.get("delete_on_termination").map(|d| validate::boolean(d, "delete_on_termination")).transpose()?;
    state.core.volume_attach(&call.ctx, &id, volume_id, device, dot.unwrap_or(false), &request_id).await?;
    let volume = state.core.volume(&call.ctx, volume_id).await?;
    Ok(Json(json!({"volumeAttachment": created_view(&call, &volume)})))
}

/// An attachment as POST answers it: Nova keeps `id` there and does not
/// add 2.89's `attachment_id` and `bdm_uuid`.
fn created_view(call: &NovaCall, v: &Volume) -> Value {
    let mut out = attachment_view(call, v);
    if let Value::Object(map) = &mut out {
        map.remove("attachment_id");
        map.remove("bdm_uuid");
        map.insert("id".to_string(), json!(v.id));
    }
    out
}

pub async fn detach(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: NovaCall,
    Path((id, volume_id)): Path<(String, String)>,
) -> Result<StatusCode> {
    state.core.volume_detach(&call.ctx, &id, &volume_id, &request_id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// `PUT`: swap the volume (admin), or change delete_on_termination (2.85).
pub async fn update(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: NovaCall,
    Path((id, volume_id)): Path<(String, String)>,
    NovaBody(body): NovaBody,
) -> Result<StatusCode> {
    let mut allowed = vec!["volumeId"];
    if call.version.at_least(85) {
        allowed.extend(["delete_on_termination", "id", "serverId", "device", "tag"]);
    }
    validate::object(&body, "", &["volumeAttachment"], &["volumeAttachment"])?;
    let a = validate::object(&body["volumeAttachment"], "volumeAttachment", &allowed, &["volumeId"])?;
    let new = validate::string(&a["volumeId"], "volumeId", 1, 255)?;
    a.get("tag").map(|t| validate::tag(t, "volumeAttachment/tag")).transpose()?;
    let dot = a.get("delete_on_termination").map(|d| validate::boolean(d, "delete_on_termination")).transpose()?;
    state.core.volume_attachment_update(&call.ctx, &id, &volume_id, new, dot, &request_id).await?;
    Ok(StatusCode::ACCEPTED)
}
