//! `/volumes`: create, list, show, update, delete, metadata and actions.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ecs_core::cinder::CinderVolumeRequest;
use ecs_types::volume::Volume;
use serde_json::{Value, json};

use super::{
    Call, CinderBody, CinderError, Paging, Query, Result, Version, boolish, integer, member, opt_str, string_map, time,
};
use crate::{AppState, BaseUrl};

const SORT_KEYS: &[&str] =
    &["id", "name", "status", "size", "created_at", "updated_at", "availability_zone", "bootable", "volume_type"];

fn links(base: &BaseUrl, project: &str, id: &str) -> Value {
    json!([
        {"rel": "self", "href": base.join(&format!("volume/v3/{project}/volumes/{id}"))},
        {"rel": "bookmark", "href": base.join(&format!("volume/{project}/volumes/{id}"))},
    ])
}

/// The attach status a volume's status implies.
pub(super) fn attach_status(v: &Volume) -> &'static str {
    match v.status.as_str() {
        "reserved" => "reserved",
        "attaching" => "attaching",
        "detaching" => "detaching",
        _ if v.attachment.is_some() => "attached",
        _ => "detached",
    }
}

/// A volume as Cinder words it. `shown`: a show or a list, where Cinder's
/// extensions add the admin attributes (`os-vol-*`, admins only) and the
/// image metadata; a create or update answers without them.
pub(super) fn view(v: &Volume, version: Version, admin: bool, shown: bool, base: &BaseUrl) -> Value {
    let attachments: Vec<Value> = v
        .attachment
        .iter()
        .map(|a| {
            json!({
                "id": v.id, "attachment_id": a.id, "volume_id": v.id, "server_id": a.server_id,
                "host_name": null, "device": a.device, "attached_at": time(v.created_at),
            })
        })
        .collect();
    let mut out = json!({
        "id": v.id,
        "name": v.name,
        "description": v.description,
        "status": v.status,
        "size": v.size_gb,
        "availability_zone": v.availability_zone,
        "created_at": time(v.created_at),
        "updated_at": time(v.created_at),
        "volume_type": v.volume_type,
        "snapshot_id": v.snapshot_id,
        "source_volid": v.source_volid,
        "metadata": v.metadata,
        "bootable": if v.bootable { "true" } else { "false" },
        "encrypted": false,
        "multiattach": false,
        "replication_status": null,
        "consistencygroup_id": null,
        "migration_status": null,
        "user_id": v.user_id.clone().unwrap_or_default(),
        "attachments": attachments,
        "links": links(base, &v.project_id, &v.id),
    });
    let o = out.as_object_mut().expect("an object");
    if admin && shown {
        o.insert("os-vol-tenant-attr:tenant_id".into(), json!(v.project_id));
        o.insert("os-vol-host-attr:host".into(), json!(format!("ecsd@sim#{}", v.volume_type)));
        o.insert("os-vol-mig-status-attr:migstat".into(), Value::Null);
        o.insert("os-vol-mig-status-attr:name_id".into(), Value::Null);
    }
    if let Some(image) = v.image_id.as_ref().filter(|_| shown) {
        o.insert("volume_image_metadata".into(), json!({"image_id": image}));
    }
    if version.at_least(13) {
        o.insert("group_id".into(), Value::Null);
    }
    if version.at_least(21) && admin {
        o.insert("provider_id".into(), Value::Null);
    }
    if version.at_least(48) {
        o.insert("shared_targets".into(), json!(false));
        o.insert("service_uuid".into(), Value::Null);
    }
    if version.at_least(61) && admin {
        o.insert("cluster_name".into(), Value::Null);
    }
    if version.at_least(63) {
        o.insert("volume_type_id".into(), Value::Null);
    }
    if version.at_least(64) {
        o.insert("encryption_key_id".into(), Value::Null);
    }
    if version.at_least(65) {
        o.insert("consumes_quota".into(), json!(true));
    }
    out
}

async fn list(state: &AppState, call: &Call, base: &BaseUrl, raw: Option<&str>, detail: bool) -> Result<Json<Value>> {
    let q = Query::parse(raw)?;
    let paging = Paging::parse(&q, SORT_KEYS)?;
    let all_tenants = q.flag("all_tenants")?;
    let metadata: Option<BTreeMap<String, String>> = match q.get("metadata") {
        None => None,
        // Clients send a Python dict's repr or JSON.
        Some(raw) => {
            let json_text = raw.replace('\'', "\"");
            let v: Value = serde_json::from_str(&json_text).map_err(|_| {
                CinderError::bad_request(format!("Invalid input received: Invalid metadata filter {raw}"))
            })?;
            Some(string_map(&v, "metadata")?)
        }
    };
    let bootable = match q.get("bootable") {
        None => None,
        Some(b) => Some(boolish(&json!(b), "bootable")?),
    };
    let admin = call.ctx.is_admin();
    let volumes = state.core.cinder_volumes(&call.ctx, all_tenants).await?;
    let items: Vec<Value> = volumes
        .iter()
        .filter(|v| q.get("name").is_none_or(|n| n == v.name))
        .filter(|v| q.get("status").is_none_or(|s| s == v.status))
        .filter(|v| q.get("availability_zone").is_none_or(|s| s == v.availability_zone))
        .filter(|v| q.get("volume_type").is_none_or(|s| s == v.volume_type))
        .filter(|v| !admin || q.get("project_id").is_none_or(|p| p == v.project_id))
        .filter(|v| bootable.is_none_or(|b| b == v.bootable))
        .filter(|v| metadata.as_ref().is_none_or(|m| m.iter().all(|(k, x)| v.metadata.get(k) == Some(x))))
        .map(|v| view(v, call.version, admin, true, base))
        .collect();
    let (items, cut) = paging.page(items)?;
    let items: Vec<Value> = if detail {
        items
    } else {
        items.into_iter().map(|v| json!({"id": v["id"], "name": v["name"], "links": v["links"]})).collect()
    };
    let mut out = json!({"volumes": items});
    if cut && let Some(last) = out["volumes"].as_array().and_then(|a| a.last()).map(|v| v["id"].clone()) {
        {
            let limit = paging.limit.unwrap_or(0);
            let project = call.ctx.project_id().unwrap_or("");
            let path = if detail { "volumes/detail" } else { "volumes" };
            let href =
                base.join(&format!("volume/v3/{project}/{path}?limit={limit}&marker={}", last.as_str().unwrap_or("")));
            out["volumes_links"] = json!([{"rel": "next", "href": href}]);
        }
    }
    Ok(Json(out))
}

pub async fn index(
    State(state): State<AppState>,
    call: Call,
    base: BaseUrl,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    list(&state, &call, &base, raw.as_deref(), false).await
}

pub async fn detail(
    State(state): State<AppState>,
    call: Call,
    base: BaseUrl,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    list(&state, &call, &base, raw.as_deref(), true).await
}

pub async fn show(
    State(state): State<AppState>,
    call: Call,
    base: BaseUrl,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let v = state.core.volume(&call.ctx, &id).await?;
    Ok(Json(json!({"volume": view(&v, call.version, call.ctx.is_admin(), true, &base)})))
}

pub async fn create(
    State(state): State<AppState>,
    call: Call,
    base: BaseUrl,
    CinderBody(body): CinderBody,
) -> Result<Response> {
    let v = member(&body, "volume")?;
    let size_gb = match v.get("size") {
        None | Some(Value::Null) => None,
        Some(s) => {
            let n = integer(s, "size")?;
            if n < 1 {
                return Err(CinderError::bad_request(format!(
                    "Invalid input received: Volume size '{n}' must be an integer and greater than 0"
                )));
            }
            Some(n)
        }
    };
    let id_of = |key: &str| -> Result<Option<String>> { opt_str(v, key, 255) };
    let image_ref = match id_of("imageRef")? {
        Some(i) => Some(i),
        None => id_of("image_id")?,
    };
    let metadata = match v.get("metadata") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(m) => string_map(m, "metadata")?,
    };
    if v.get("multiattach").is_some_and(|m| m == true) {
        return Err(CinderError::bad_request("Invalid input received: multiattach volumes are not supported."));
    }
    let req = CinderVolumeRequest {
        size_gb,
        name: opt_str(v, "name", 255)?.or(opt_str(v, "display_name", 255)?).unwrap_or_default(),
        description: opt_str(v, "description", 255)?.or(opt_str(v, "display_description", 255)?).unwrap_or_default(),
        availability_zone: opt_str(v, "availability_zone", 255)?,
        volume_type: opt_str(v, "volume_type", 255)?,
        snapshot_id: id_of("snapshot_id")?,
        source_volid: id_of("source_volid")?,
        image_ref,
        metadata,
    };
    if req.size_gb.is_none() && req.snapshot_id.is_none() && req.source_volid.is_none() {
        return Err(CinderError::bad_request("Invalid input received: size is a required property"));
    }
    let created = state.core.cinder_volume_create(&call.ctx, req).await?;
    let body = json!({"volume": view(&created, call.version, call.ctx.is_admin(), false, &base)});
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

pub async fn update(
    State(state): State<AppState>,
    call: Call,
    base: BaseUrl,
    Path(id): Path<String>,
    CinderBody(body): CinderBody,
) -> Result<Json<Value>> {
    let v = member(&body, "volume")?;
    let name = opt_str(v, "name", 255)?.or(opt_str(v, "display_name", 255)?);
    let description = opt_str(v, "description", 255)?.or(opt_str(v, "display_description", 255)?);
    let metadata = match v.get("metadata") {
        None | Some(Value::Null) => None,
        Some(m) => Some(string_map(m, "metadata")?),
    };
    if name.is_none() && description.is_none() && metadata.is_none() {
        return Err(CinderError::bad_request("Invalid input received: Body may not be empty"));
    }
    let updated = state
        .core
        .cinder_volume_update(&call.ctx, &id, name.as_deref(), description.as_deref(), metadata.as_ref(), None)
        .await?;
    Ok(Json(json!({"volume": view(&updated, call.version, call.ctx.is_admin(), false, &base)})))
}

pub async fn delete(
    State(state): State<AppState>,
    call: Call,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<StatusCode> {
    let q = Query::parse(raw.as_deref())?;
    let cascade = q.flag("cascade")?;
    let force = q.flag("force")?;
    state.core.cinder_volume_delete(&call.ctx, &id, cascade, force).await?;
    Ok(StatusCode::ACCEPTED)
}

/// `POST /volumes/{id}/action`: one action per body.
pub async fn action(
    State(state): State<AppState>,
    call: Call,
    Path(id): Path<String>,
    CinderBody(body): CinderBody,
) -> Result<Response> {
    let Some((name, args)) = body.as_object().filter(|o| o.len() == 1).and_then(|o| o.iter().next()) else {
        return Err(CinderError::bad_request("Invalid request body: one action is expected."));
    };
    let ctx = &call.ctx;
    let core = &state.core;
    let arg = |key: &str| args.get(key).filter(|v| !v.is_null());
    let status = match name.as_str() {
        "os-extend" => {
            let new_size =
                arg("new_size").ok_or_else(|| CinderError::bad_request("'new_size' is a required property"))?;
            let new_size = integer(new_size, "new_size")?;
            core.cinder_volume_extend(ctx, &id, new_size, call.version.at_least(42)).await?;
            StatusCode::ACCEPTED
        }
        "os-retype" => {
            let Some(Value::String(t)) = arg("new_type") else {
                return Err(CinderError::bad_request("'new_type' is a required property"));
            };
            if let Some(p) = arg("migration_policy")
                && p != "never"
                && p != "on-demand"
            {
                return Err(CinderError::bad_request(format!("Invalid migration policy {p}")));
            }
            core.cinder_volume_retype(ctx, &id, t).await?;
            StatusCode::ACCEPTED
        }
        "os-set_bootable" => {
            let b = arg("bootable").ok_or_else(|| CinderError::bad_request("'bootable' is a required property"))?;
            let b = boolish(b, "bootable")?;
            core.cinder_volume_update(ctx, &id, None, None, None, Some(b)).await?;
            StatusCode::OK
        }
        "os-reset_status" => {
            const STATUSES: &[&str] = &[
                "available",
                "error",
                "creating",
                "deleting",
                "in-use",
                "attaching",
                "detaching",
                "error_deleting",
                "maintenance",
                "reserved",
                "error_extending",
                "extending",
            ];
            let status = match arg("status") {
                Some(Value::String(s)) if STATUSES.contains(&s.as_str()) => s.clone(),
                Some(s) => return Err(CinderError::bad_request(format!("Invalid input received: Invalid status {s}"))),
                None => {
                    // attach_status / migration_status alone change nothing we keep.
                    if arg("attach_status").is_none() && arg("migration_status").is_none() {
                        return Err(CinderError::bad_request(
                            "Must specify 'status', 'attach_status' or 'migration_status' for update.",
                        ));
                    }
                    core.volume(ctx, &id).await?.status
                }
            };
            core.cinder_volume_reset_status(ctx, &id, &status).await?;
            StatusCode::ACCEPTED
        }
        "os-force_delete" => {
            core.cinder_volume_delete(ctx, &id, false, true).await?;
            StatusCode::ACCEPTED
        }
        "revert" if call.version.at_least(40) => {
            let Some(Value::String(snap)) = arg("snapshot_id") else {
                return Err(CinderError::bad_request("'snapshot_id' is a required property"));
            };
            core.cinder_volume_revert(ctx, &id, snap).await?;
            StatusCode::ACCEPTED
        }
        "os-update_readonly_flag" => {
            core.volume(ctx, &id).await?;
            return Err(CinderError::bad_request("Invalid input received: read-only volumes are not supported."));
        }
        other => {
            core.volume(ctx, &id).await?;
            return Err(CinderError::bad_request(format!("There is no such action: {other}")));
        }
    };
    Ok(status.into_response())
}

// ---- Metadata ----

pub async fn metadata(State(state): State<AppState>, call: Call, Path(id): Path<String>) -> Result<Json<Value>> {
    let v = state.core.volume(&call.ctx, &id).await?;
    Ok(Json(json!({"metadata": v.metadata})))
}

async fn set_metadata(state: &AppState, call: &Call, id: &str, body: &Value, replace: bool) -> Result<Json<Value>> {
    let m = body
        .get("metadata")
        .ok_or_else(|| CinderError::bad_request("Malformed request body: 'metadata' is required."))?;
    let items = string_map(m, "metadata")?;
    let metadata = state.core.cinder_volume_metadata(&call.ctx, id, &items, replace).await?;
    Ok(Json(json!({"metadata": metadata})))
}

pub async fn metadata_merge(
    State(state): State<AppState>,
    call: Call,
    Path(id): Path<String>,
    CinderBody(body): CinderBody,
) -> Result<Json<Value>> {
    set_metadata(&state, &call, &id, &body, false).await
}

pub async fn metadata_replace(
    State(state): State<AppState>,
    call: Call,
    Path(id): Path<String>,
    CinderBody(body): CinderBody,
) -> Result<Json<Value>> {
    set_metadata(&state, &call, &id, &body, true).await
}

pub async fn metadata_item(
    State(state): State<AppState>,
    call: Call,
    Path((id, key)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let v = state.core.volume(&call.ctx, &id).await?;
    match v.metadata.get(&key) {
        Some(value) => Ok(Json(json!({"meta": {key: value}}))),
        None => Err(CinderError::item_not_found(format!("Volume {id} has no metadata with key {key}."))),
    }
}

/// The one `{"meta": {key: value}}` item of a body, whose key is the path's.
pub(super) fn meta_item(body: &Value, key: &str) -> Result<BTreeMap<String, String>> {
    let m = body.get("meta").ok_or_else(|| CinderError::bad_request("Malformed request body: 'meta' is required."))?;
    let items = string_map(m, "meta")?;
    if items.len() != 1 {
        return Err(CinderError::bad_request("Request body contains too many items"));
    }
    if !items.contains_key(key) {
        return Err(CinderError::bad_request("Request body and URI mismatch"));
    }
    Ok(items)
}

pub async fn metadata_item_set(
    State(state): State<AppState>,
    call: Call,
    Path((id, key)): Path<(String, String)>,
    CinderBody(body): CinderBody,
) -> Result<Json<Value>> {
    let items = meta_item(&body, &key)?;
    state.core.cinder_volume_metadata(&call.ctx, &id, &items, false).await?;
    Ok(Json(json!({"meta": items})))
}

pub async fn metadata_item_delete(
    State(state): State<AppState>,
    call: Call,
    Path((id, key)): Path<(String, String)>,
) -> Result<StatusCode> {
    state.core.cinder_volume_metadata_delete(&call.ctx, &id, &key).await?;
    Ok(StatusCode::OK)
}
