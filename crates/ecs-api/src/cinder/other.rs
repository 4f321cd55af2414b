//! Volume types, snapshots, attachments, quota sets, limits, zones.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ecs_core::cinder::CinderSnapshotRequest;
use ecs_types::volume::{Volume, VolumeSnapshot, VolumeType};
use serde_json::{Value, json};

use super::volumes::{attach_status, meta_item};
use super::{
    Call, CinderBody, CinderError, Paging, Query, Result, Version, boolish, integer, member, opt_str, string_map, time,
};
use crate::AppState;

// ---- Volume types ----

fn type_view(t: &VolumeType) -> Value {
    json!({
        "id": t.id, "name": t.name, "description": t.description, "is_public": t.is_public,
        "os-volume-type-access:is_public": t.is_public, "extra_specs": t.extra_specs, "qos_specs_id": null,
    })
}

pub async fn types(State(state): State<AppState>, call: Call, RawQuery(raw): RawQuery) -> Result<Json<Value>> {
    let q = Query::parse(raw.as_deref())?;
    let paging = Paging::parse(&q, &["id", "name", "description", "is_public"])?;
    let public_filter = match q.get("is_public") {
        None | Some("None" | "none") => None,
        Some(p) => Some(boolish(&json!(p), "is_public")?),
    };
    let items: Vec<Value> = state
        .core
        .cinder_types(&call.ctx)
        .await?
        .iter()
        .filter(|t| public_filter.is_none_or(|p| p == t.is_public) || !call.ctx.is_admin())
        .map(type_view)
        .collect();
    let (items, _) = paging.page(items)?;
    Ok(Json(json!({"volume_types": items})))
}

pub async fn type_show(State(state): State<AppState>, call: Call, Path(id): Path<String>) -> Result<Json<Value>> {
    let t = state.core.cinder_type(&call.ctx, &id).await?;
    Ok(Json(json!({"volume_type": type_view(&t)})))
}

pub async fn type_create(
    State(state): State<AppState>,
    call: Call,
    CinderBody(body): CinderBody,
) -> Result<Json<Value>> {
    let t = member(&body, "volume_type")?;
    let name = opt_str(t, "name", 255)?
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| CinderError::bad_request("Invalid input received: name is a required property"))?;
    let description = opt_str(t, "description", 255)?;
    let is_public = match t.get("os-volume-type-access:is_public").or(t.get("is_public")) {
        None | Some(Value::Null) => true,
        Some(v) => boolish(v, "is_public")?,
    };
    let specs = match t.get("extra_specs") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(s) => string_map(s, "extra_specs")?,
    };
    let made = state.core.cinder_type_create(&call.ctx, &name, description, is_public, specs).await?;
    Ok(Json(json!({"volume_type": type_view(&made)})))
}

pub async fn type_update(
    State(state): State<AppState>,
    call: Call,
    Path(id): Path<String>,
    CinderBody(body): CinderBody,
) -> Result<Json<Value>> {
    let t = member(&body, "volume_type")?;
    let name = opt_str(t, "name", 255)?;
    if name.as_ref().is_some_and(|n| n.trim().is_empty()) {
        return Err(CinderError::bad_request("Invalid input received: name must not be empty"));
    }
    let description = opt_str(t, "description", 255)?;
    let is_public = match t.get("is_public") {
        None | Some(Value::Null) => None,
        Some(v) => Some(boolish(v, "is_public")?),
    };
    if name.is_none() && description.is_none() && is_public.is_none() {
        return Err(CinderError::bad_request(
            "Specify volume type name, description, is_public or a combination thereof.",
        ));
    }
    let t = state.core.cinder_type_update(&call.ctx, &id, name, description, is_public).await?;
    Ok(Json(json!({"volume_type": type_view(&t)})))
}

pub async fn type_delete(State(state): State<AppState>, call: Call, Path(id): Path<String>) -> Result<StatusCode> {
    state.core.cinder_type_delete(&call.ctx, &id).await?;
    Ok(StatusCode::ACCEPTED)
}

pub async fn extra_specs(State(state): State<AppState>, call: Call, Path(id): Path<String>) -> Result<Json<Value>> {
    let t = state.core.cinder_type(&call.ctx, &id).await?;
    Ok(Json(json!({"extra_specs": t.extra_specs})))
}

pub async fn extra_specs_set(
    State(state): State<AppState>,
    call: Call,
    Path(id): Path<String>,
    CinderBody(body): CinderBody,
) -> Result<Json<Value>> {
    let specs = body
        .get("extra_specs")
        .ok_or_else(|| CinderError::bad_request("Missing required element 'extra_specs' in request body."))?;
    let specs = string_map(specs, "extra_specs")?;
    state.core.cinder_type_extra_specs(&call.ctx, &id, &specs, None).await?;
    Ok(Json(json!({"extra_specs": specs})))
}

pub async fn extra_spec(
    State(state): State<AppState>,
    call: Call,
    Path((id, key)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let t = state.core.cinder_type(&call.ctx, &id).await?;
    match t.extra_specs.get(&key) {
        Some(v) => Ok(Json(json!({key: v}))),
        None => Err(CinderError::item_not_found(format!("Volume Type {id} has no extra specs with key {key}."))),
    }
}

pub async fn extra_spec_set(
    State(state): State<AppState>,
    call: Call,
    Path((id, key)): Path<(String, String)>,
    CinderBody(body): CinderBody,
) -> Result<Json<Value>> {
    let specs = string_map(&body, "extra_specs")?;
    if specs.len() != 1 {
        return Err(CinderError::bad_request("Request body contains too many items."));
    }
    if !specs.contains_key(&key) {
        return Err(CinderError::bad_request("Request body and URI mismatch"));
    }
    state.core.cinder_type_extra_specs(&call.ctx, &id, &specs, None).await?;
    Ok(Json(json!(specs)))
}

pub async fn extra_spec_delete(
    State(state): State<AppState>,
    call: Call,
    Path((id, key)): Path<(String, String)>,
) -> Result<StatusCode> {
    state.core.cinder_type_extra_specs(&call.ctx, &id, &BTreeMap::new(), Some(&key)).await?;
    Ok(StatusCode::ACCEPTED)
}

// ---- Snapshots ----

fn snapshot_view(s: &VolumeSnapshot, version: Version) -> Value {
    let mut out = json!({
        "id": s.id, "name": s.name, "description": s.description, "status": s.status, "size": s.size_gb,
        "volume_id": s.volume_id, "created_at": time(s.created_at), "updated_at": time(s.created_at),
        "metadata": s.metadata, "os-extended-snapshot-attributes:progress": "100%",
        "os-extended-snapshot-attributes:project_id": s.project_id,
    });
    let o = out.as_object_mut().expect("an object");
    if version.at_least(14) {
        o.insert("group_snapshot_id".into(), Value::Null);
    }
    if version.at_least(41) {
        o.insert("user_id".into(), Value::Null);
    }
    if version.at_least(65) {
        o.insert("consumes_quota".into(), json!(true));
    }
    out
}

async fn snapshot_list(state: &AppState, call: &Call, raw: Option<&str>) -> Result<Json<Value>> {
    let q = Query::parse(raw)?;
    let paging = Paging::parse(&q, &["id", "name", "status", "size", "created_at", "volume_id"])?;
    let all = q.flag("all_tenants")?;
    let items: Vec<Value> = state
        .core
        .cinder_snapshots(&call.ctx, all)
        .await?
        .iter()
        .filter(|s| q.get("name").is_none_or(|n| n == s.name))
        .filter(|s| q.get("status").is_none_or(|n| n == s.status))
        .filter(|s| q.get("volume_id").is_none_or(|n| n == s.volume_id))
        .map(|s| snapshot_view(s, call.version))
        .collect();
    let (items, _) = paging.page(items)?;
    Ok(Json(json!({"snapshots": items})))
}

pub async fn snapshots(State(state): State<AppState>, call: Call, RawQuery(raw): RawQuery) -> Result<Json<Value>> {
    snapshot_list(&state, &call, raw.as_deref()).await
}

pub async fn snapshots_detail(
    State(state): State<AppState>,
    call: Call,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    snapshot_list(&state, &call, raw.as_deref()).await
}

pub async fn snapshot(State(state): State<AppState>, call: Call, Path(id): Path<String>) -> Result<Json<Value>> {
    let s = state.core.snapshot(&call.ctx, &id).await?;
    Ok(Json(json!({"snapshot": snapshot_view(&s, call.version)})))
}

pub async fn snapshot_create(
    State(state): State<AppState>,
    call: Call,
    CinderBody(body): CinderBody,
) -> Result<Response> {
    let s = member(&body, "snapshot")?;
    let volume_id = opt_str(s, "volume_id", 255)?
        .ok_or_else(|| CinderError::bad_request("Invalid input received: volume_id is a required property"))?;
    let force = match s.get("force") {
        None | Some(Value::Null) => false,
        Some(f) => boolish(f, "force")?,
    };
    let metadata = match s.get("metadata") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(m) => string_map(m, "metadata")?,
    };
    let req = CinderSnapshotRequest {
        volume_id,
        name: opt_str(s, "name", 255)?.or(opt_str(s, "display_name", 255)?).unwrap_or_default(),
        description: opt_str(s, "description", 255)?.or(opt_str(s, "display_description", 255)?).unwrap_or_default(),
        force,
        in_use_ok: call.version.at_least(66),
        metadata,
    };
    let made = state.core.cinder_snapshot_create(&call.ctx, req).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"snapshot": snapshot_view(&made, call.version)}))).into_response())
}

pub async fn snapshot_update(
    State(state): State<AppState>,
    call: Call,
    Path(id): Path<String>,
    CinderBody(body): CinderBody,
) -> Result<Json<Value>> {
    let s = member(&body, "snapshot")?;
    let name = opt_str(s, "name", 255)?.or(opt_str(s, "display_name", 255)?);
    let description = opt_str(s, "description", 255)?.or(opt_str(s, "display_description", 255)?);
    let metadata = match s.get("metadata") {
        None | Some(Value::Null) => None,
        Some(m) => Some(string_map(m, "metadata")?),
    };
    if name.is_none() && description.is_none() && metadata.is_none() {
        return Err(CinderError::bad_request("Invalid input received: Body may not be empty"));
    }
    let s = state
        .core
        .cinder_snapshot_update(&call.ctx, &id, name.as_deref(), description.as_deref(), metadata.as_ref())
        .await?;
    Ok(Json(json!({"snapshot": snapshot_view(&s, call.version)})))
}

pub async fn snapshot_delete(State(state): State<AppState>, call: Call, Path(id): Path<String>) -> Result<StatusCode> {
    state.core.snapshot_delete(&call.ctx, &id).await?;
    Ok(StatusCode::ACCEPTED)
}

pub async fn snapshot_action(
    State(state): State<AppState>,
    call: Call,
    Path(id): Path<String>,
    CinderBody(body): CinderBody,
) -> Result<StatusCode> {
    let Some((name, args)) = body.as_object().filter(|o| o.len() == 1).and_then(|o| o.iter().next()) else {
        return Err(CinderError::bad_request("Invalid request body: one action is expected."));
    };
    match name.as_str() {
        "os-reset_status" => {
            let status = match args.get("status") {
                Some(Value::String(s))
                    if ["available", "error", "creating", "deleting", "error_deleting"].contains(&s.as_str()) =>
                {
                    s.clone()
                }
                _ => return Err(CinderError::bad_request("Invalid input received: Invalid status")),
            };
            state.core.cinder_snapshot_reset_status(&call.ctx, &id, &status).await?;
            Ok(StatusCode::ACCEPTED)
        }
        "os-force_delete" => {
            ecs_core::policy::require_admin(&call.ctx, "volume_extension:snapshot_admin_actions:force_delete")?;
            state.core.snapshot_delete(&call.ctx, &id).await?;
            Ok(StatusCode::ACCEPTED)
        }
        other => {
            state.core.snapshot(&call.ctx, &id).await?;
            Err(CinderError::bad_request(format!("There is no such action: {other}")))
        }
    }
}

pub async fn snapshot_metadata(
    State(state): State<AppState>,
    call: Call,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let s = state.core.snapshot(&call.ctx, &id).await?;
    Ok(Json(json!({"metadata": s.metadata})))
}

async fn set_snapshot_metadata(
    state: &AppState,
    call: &Call,
    id: &str,
    body: &Value,
    replace: bool,
) -> Result<Json<Value>> {
    let m = body
        .get("metadata")
        .ok_or_else(|| CinderError::bad_request("Malformed request body: 'metadata' is required."))?;
    let items = string_map(m, "metadata")?;
    let metadata = state.core.cinder_snapshot_metadata(&call.ctx, id, &items, replace, None).await?;
    Ok(Json(json!({"metadata": metadata})))
}

pub async fn snapshot_metadata_merge(
    State(state): State<AppState>,
    call: Call,
    Path(id): Path<String>,
    CinderBody(body): CinderBody,
) -> Result<Json<Value>> {
    set_snapshot_metadata(&state, &call, &id, &body, false).await
}

pub async fn snapshot_metadata_replace(
    State(state): State<AppState>,
    call: Call,
    Path(id): Path<String>,
    CinderBody(body): CinderBody,
) -> Result<Json<Value>> {
    set_snapshot_metadata(&state, &call, &id, &body, true).await
}

pub async fn snapshot_metadata_item(
    State(state): State<AppState>,
    call: Call,
    Path((id, key)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let s = state.core.snapshot(&call.ctx, &id).await?;
    match s.metadata.get(&key) {
        Some(v) => Ok(Json(json!({"meta": {key: v}}))),
        None => Err(CinderError::item_not_found(format!("Snapshot {id} has no metadata with key {key}."))),
    }
}

pub async fn snapshot_metadata_item_set(
    State(state): State<AppState>,
    call: Call,
    Path((id, key)): Path<(String, String)>,
    CinderBody(body): CinderBody,
) -> Result<Json<Value>> {
    let items = meta_item(&body, &key)?;
    state.core.cinder_snapshot_metadata(&call.ctx, &id, &items, false, None).await?;
    Ok(Json(json!({"meta": items})))
}

pub async fn snapshot_metadata_item_delete(
    State(state): State<AppState>,
    call: Call,
    Path((id, key)): Path<(String, String)>,
) -> Result<StatusCode> {
    state.core.cinder_snapshot_metadata(&call.ctx, &id, &BTreeMap::new(), false, Some(&key)).await?;
    Ok(StatusCode::OK)
}

// ---- Attachments (3.27) ----

/// The attachments API starts at 3.27: below, Cinder has no such resource.
fn require_attachments(call: &Call) -> Result<()> {
    if call.version.at_least(27) {
        Ok(())
    } else {
        Err(CinderError::item_not_found("The resource could not be found."))
    }
}

fn attachment_view(v: &Volume, detail: bool) -> Value {
    let a = v.attachment.as_ref().expect("an attached volume");
    let mut out = json!({"id": a.id, "volume_id": v.id, "instance": a.server_id, "status": attach_status(v)});
    if detail {
        let o = out.as_object_mut().expect("an object");
        let connection = match &a.connector {
            Some(_) => json!({
                "driver_volume_type": "local", "attachment_id": a.id, "volume_id": v.id,
                "access_mode": a.attach_mode, "data": {"device_path": a.device},
            }),
            None => json!({}),
        };
        o.insert("attach_mode".into(), json!(a.attach_mode));
        o.insert("attached_at".into(), json!(time(v.created_at)));
        o.insert("detached_at".into(), Value::Null);
        o.insert("connection_info".into(), connection);
    }
    out
}

async fn attachment_list(state: &AppState, call: &Call, raw: Option<&str>, detail: bool) -> Result<Json<Value>> {
    require_attachments(call)?;
    let q = Query::parse(raw)?;
    let paging = Paging::parse(&q, &["id", "volume_id", "instance", "status"])?;
    let all = q.flag("all_tenants")?;
    let items: Vec<Value> = state
        .core
        .cinder_attachments(&call.ctx, all)
        .await?
        .iter()
        .filter(|v| q.get("volume_id").is_none_or(|n| n == v.id))
        .filter(|v| q.get("instance_id").is_none_or(|n| v.attachment.as_ref().is_some_and(|a| a.server_id == n)))
        .map(|v| attachment_view(v, detail))
        .collect();
    let (items, _) = paging.page(items)?;
    Ok(Json(json!({"attachments": items})))
}

pub async fn attachments(State(state): State<AppState>, call: Call, RawQuery(raw): RawQuery) -> Result<Json<Value>> {
    attachment_list(&state, &call, raw.as_deref(), false).await
}

pub async fn attachments_detail(
    State(state): State<AppState>,
    call: Call,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    attachment_list(&state, &call, raw.as_deref(), true).await
}

pub async fn attachment(State(state): State<AppState>, call: Call, Path(id): Path<String>) -> Result<Json<Value>> {
    require_attachments(&call)?;
    let v = state.core.cinder_attachment(&call.ctx, &id).await?;
    Ok(Json(json!({"attachment": attachment_view(&v, true)})))
}

fn connector_of(a: &Value) -> Result<Option<String>> {
    match a.get("connector") {
        None | Some(Value::Null) => Ok(None),
        Some(c) if c.is_object() => Ok(Some(c.to_string())),
        Some(_) => Err(CinderError::bad_request("Invalid input received: connector must be a dictionary.")),
    }
}

pub async fn attachment_create(
    State(state): State<AppState>,
    call: Call,
    CinderBody(body): CinderBody,
) -> Result<Json<Value>> {
    require_attachments(&call)?;
    let a = member(&body, "attachment")?;
    let volume_id = opt_str(a, "volume_uuid", 255)?
        .ok_or_else(|| CinderError::bad_request("Invalid input received: volume_uuid is a required property"))?;
    let instance = opt_str(a, "instance_uuid", 255)?
        .ok_or_else(|| CinderError::bad_request("Invalid input received: instance_uuid is a required property"))?;
    let mode = match opt_str(a, "mode", 2)? {
        None => "rw".to_string(),
        Some(m) if call.version.at_least(54) && (m == "rw" || m == "ro") => m,
        Some(m) => return Err(CinderError::bad_request(format!("Invalid input received: Invalid attach mode {m}"))),
    };
    let connector = connector_of(a)?;
    let v = state.core.cinder_attachment_create(&call.ctx, &volume_id, &instance, connector, &mode).await?;
    Ok(Json(json!({"attachment": attachment_view(&v, true)})))
}

pub async fn attachment_update(
    State(state): State<AppState>,
    call: Call,
    Path(id): Path<String>,
    CinderBody(body): CinderBody,
) -> Result<Json<Value>> {
    require_attachments(&call)?;
    let a = member(&body, "attachment")?;
    let connector = connector_of(a)?
        .ok_or_else(|| CinderError::bad_request("Invalid input received: connector is a required property"))?;
    let v = state.core.cinder_attachment_update(&call.ctx, &id, connector).await?;
    Ok(Json(json!({"attachment": attachment_view(&v, true)})))
}

pub async fn attachment_action(
    State(state): State<AppState>,
    call: Call,
    Path(id): Path<String>,
    CinderBody(body): CinderBody,
) -> Result<StatusCode> {
    require_attachments(&call)?;
    match body.as_object().filter(|o| o.len() == 1).and_then(|o| o.keys().next()) {
        Some(k) if k == "os-complete" && call.version.at_least(44) => {
            state.core.cinder_attachment_complete(&call.ctx, &id).await?;
            Ok(StatusCode::NO_CONTENT)
        }
        Some(other) => Err(CinderError::bad_request(format!("There is no such action: {other}"))),
        None => Err(CinderError::bad_request("Invalid request body: one action is expected.")),
    }
}

pub async fn attachment_delete(
    State(state): State<AppState>,
    call: Call,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    require_attachments(&call)?;
    state.core.cinder_attachment_delete(&call.ctx, &id).await?;
    Ok(Json(json!({"attachments": []})))
}

// ---- Quotas and limits ----

pub async fn quota_set(
    State(state): State<AppState>,
    call: Call,
    Path(project): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    let q = Query::parse(raw.as_deref())?;
    let usage = q.flag("usage")?;
    let set = state.core.cinder_quota_set(&call.ctx, &project).await?;
    let mut out = serde_json::Map::new();
    out.insert("id".into(), json!(project));
    for (name, item) in set {
        let v =
            if usage { json!({"limit": item.limit, "in_use": item.in_use, "reserved": 0}) } else { json!(item.limit) };
        out.insert(name, v);
    }
    Ok(Json(json!({"quota_set": out})))
}

pub async fn quota_defaults(
    State(state): State<AppState>,
    _call: Call,
    Path(project): Path<String>,
) -> Result<Json<Value>> {
    let mut out: serde_json::Map<String, Value> =
        state.core.cinder_quota_defaults().await?.into_iter().map(|(k, v)| (k, json!(v))).collect();
    out.insert("id".into(), json!(project));
    Ok(Json(json!({"quota_set": out})))
}

pub async fn quota_update(
    State(state): State<AppState>,
    call: Call,
    Path(project): Path<String>,
    CinderBody(body): CinderBody,
) -> Result<Json<Value>> {
    let set = member(&body, "quota_set")?;
    let mut values = BTreeMap::new();
    for (k, v) in set.as_object().expect("an object") {
        if k == "tenant_id" || k == "id" {
            continue;
        }
        values.insert(k.clone(), integer(v, k)?);
    }
    let set = state.core.cinder_quota_update(&call.ctx, &project, &values).await?;
    let out: serde_json::Map<String, Value> = set.into_iter().map(|(k, v)| (k, json!(v.limit))).collect();
    Ok(Json(json!({"quota_set": out})))
}

pub async fn quota_delete(
    State(state): State<AppState>,
    call: Call,
    Path(project): Path<String>,
) -> Result<StatusCode> {
    state.core.cinder_quota_delete(&call.ctx, &project).await?;
    Ok(StatusCode::OK)
}

pub async fn limits(State(state): State<AppState>, call: Call) -> Result<Json<Value>> {
    let (l, u) = state.core.cinder_usage(&call.ctx).await?;
    let get = |k: &str| l.get(k).copied().unwrap_or(-1);
    Ok(Json(json!({"limits": {"rate": [], "absolute": {
        "maxTotalVolumes": get("volumes"),
        "maxTotalSnapshots": get("snapshots"),
        "maxTotalVolumeGigabytes": get("gigabytes"),
        "maxTotalBackups": get("backups"),
        "maxTotalBackupGigabytes": get("backup_gigabytes"),
        "totalVolumesUsed": u.volumes,
        "totalGigabytesUsed": u.gigabytes,
        "totalSnapshotsUsed": u.snapshots,
        "totalBackupsUsed": 0,
        "totalBackupGigabytesUsed": 0,
    }}})))
}

pub async fn availability_zones(State(state): State<AppState>, call: Call) -> Result<Json<Value>> {
    let zones = state.core.cinder_zones(&call.ctx).await?;
    let items: Vec<Value> = zones.iter().map(|z| json!({"zoneName": z, "zoneState": {"available": true}})).collect();
    Ok(Json(json!({"availabilityZoneInfo": items})))
}

pub async fn extensions(_call: Call) -> Json<Value> {
    Json(json!({"extensions": []}))
}
