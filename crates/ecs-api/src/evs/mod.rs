//! Huawei's EVS API (`huaweicloudsdkevs`): disks under
//! `/v2[.1]/{project_id}/cloudvolumes`, over the core's Cinder volumes (an
//! EVS disk is a volume). Creates, expands and deletes answer jobs, shown
//! by ECS's `GET /v1/{project_id}/jobs/{job_id}` (EVS's ShowJob is the
//! same path).

mod error;

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::extract::{Extension, FromRequest, FromRequestParts, Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ecs_core::cinder::CinderVolumeRequest;
use ecs_core::job::job_id;
use ecs_types::AuthContext;
use ecs_types::volume::Volume;
use serde_json::{Map, Value, json};

pub use error::EvsError;

use crate::identity::Caller;
use crate::request_id::RequestId;
use crate::{AppState, BaseUrl};

/// The largest EVS data disk (GB).
const MAX_SIZE_GB: i64 = 32768;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v2/{project_id}/cloudvolumes", post(create))
        .route("/v2.1/{project_id}/cloudvolumes", post(create))
        .route("/v2/{project_id}/cloudvolumes/detail", get(detail))
        .route("/v2.1/{project_id}/cloudvolumes/detail", get(detail))
        .route("/v2/{project_id}/cloudvolumes/{volume_id}", get(show).put(update).delete(delete))
        .route("/v2/{project_id}/cloudvolumes/{volume_id}/action", post(action))
        .route("/v2.1/{project_id}/cloudvolumes/{volume_id}/action", post(action))
}

/// The caller of an EVS request, acting in the project the path names.
pub struct EvsCall {
    pub ctx: AuthContext,
}

impl FromRequestParts<AppState> for EvsCall {
    type Rejection = EvsError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Caller(ctx) = Caller::from_request_parts(parts, state).await.map_err(|e| {
            if e.status.is_server_error() {
                EvsError::new(e.status, "EVS.5400", e.message)
            } else {
                EvsError::new(StatusCode::UNAUTHORIZED, "EVS.0002", "invalid token!")
            }
        })?;
        let path_project = parts.uri.path().split('/').nth(2).unwrap_or_default();
        if ctx.project_id() != Some(path_project) {
            return Err(EvsError::bad("EVS.0001", "invalid tenant id!"));
        }
        Ok(EvsCall { ctx })
    }
}

/// A JSON object body, refused in EVS's format when it cannot be read.
pub struct EvsBody(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for EvsBody {
    type Rejection = EvsError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = crate::body::read_json_bytes(&parts.headers, body, crate::body::MAX_BODY_BYTES).await?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(o)) => Ok(EvsBody(o)),
            _ => Err(EvsError::bad("EVS.5400", "The request body must be a JSON object.")),
        }
    }
}

fn opt_str<'a>(
    o: &'a Map<String, Value>,
    key: &str,
    max: usize,
    code: &'static str,
) -> Result<Option<&'a str>, EvsError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s)),
        Some(_) => Err(EvsError::bad(code, format!("{key} must be a string of at most {max} characters."))),
    }
}

fn opt_int(o: &Map<String, Value>, key: &str, code: &'static str) -> Result<Option<i64>, EvsError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| EvsError::bad(code, format!("{key} must be an integer."))),
    }
}

/// `POST /v2[.1]/{project_id}/cloudvolumes`: `count` disks, a job.
async fn create(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EvsCall,
    EvsBody(body): EvsBody,
) -> Result<Response, EvsError> {
    let v = body
        .get("volume")
        .and_then(Value::as_object)
        .ok_or_else(|| EvsError::bad("EVS.1008", "null createVolumeReq!"))?;
    if let Some(bss) = body.get("bssParam").and_then(Value::as_object)
        && bss.get("chargingMode").and_then(Value::as_str).is_some_and(|m| m != "postPaid")
    {
        return Err(EvsError::bad("EVS.5400", "Only pay-per-use (postPaid) disks can be made in this account."));
    }
    if opt_str(v, "backup_id", 64, "EVS.1006")?.is_some() {
        return Err(EvsError::bad("EVS.1006", "invalid backup id!"));
    }
    if v.get("multiattach").is_some_and(|m| m == true) || v.get("shareable").is_some_and(|m| m == true || m == "true") {
        return Err(EvsError::bad("EVS.5400", "Shared disks are not supported: a disk attaches to one server."));
    }
    let volume_type = opt_str(v, "volume_type", 64, "EVS.1009")?
        .filter(|t| !t.is_empty())
        .ok_or_else(|| EvsError::bad("EVS.1009", "invalid volumeForCreate! volume_type is required."))?;
    let size = opt_int(v, "size", "EVS.1010")?;
    if size.is_some_and(|s| !(1..=MAX_SIZE_GB).contains(&s)) {
        return Err(EvsError::bad("EVS.1010", format!("invalid volume size! It must be from 1 to {MAX_SIZE_GB} GB.")));
    }
    let count = match opt_int(v, "count", "EVS.1009")? {
        None => 1,
        Some(c) if (1..=ecs_core::evs::MAX_COUNT as i64).contains(&c) => c as usize,
        Some(_) => return Err(EvsError::bad("EVS.1009", "count must be from 1 to 100.")),
    };
    let metadata: BTreeMap<String, String> = match v.get("metadata") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(EvsError::bad("EVS.1009", "metadata values must be strings.")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(EvsError::bad("EVS.1009", "metadata must be an object.")),
    };
    let req = CinderVolumeRequest {
        size_gb: size,
        name: opt_str(v, "name", 64, "EVS.1003")?.unwrap_or_default().to_string(),
        description: opt_str(v, "description", 85, "EVS.1004")?.unwrap_or_default().to_string(),
        availability_zone: opt_str(v, "availability_zone", 64, "EVS.1009")?.map(str::to_string),
        volume_type: Some(volume_type.to_string()),
        snapshot_id: opt_str(v, "snapshot_id", 64, "EVS.1009")?.map(str::to_string),
        source_volid: None,
        image_ref: opt_str(v, "imageRef", 64, "EVS.1009")?.map(str::to_string),
        metadata,
    };
    if req.size_gb.is_none() && req.snapshot_id.is_none() && req.image_ref.is_none() {
        return Err(EvsError::bad("EVS.1010", "invalid volume size! size is required."));
    }
    let (volumes, task) = state.core.evs_volume_create(&call.ctx, req, count, &request_id).await?;
    let ids: Vec<&str> = volumes.iter().map(|v| v.id.as_str()).collect();
    Ok((StatusCode::ACCEPTED, Json(json!({"job_id": job_id(&task), "volume_ids": ids}))).into_response())
}

/// EVS times: ISO 8601 with microseconds, no zone.
fn time(t: ecs_types::Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// `VolumeDetail`, field for field as the SDK reads it.
fn view(v: &Volume, base: &BaseUrl) -> Value {
    let self_link = base.join(&format!("v2/{}/cloudvolumes/{}", v.project_id, v.id));
    let attachments: Vec<Value> = v
        .attachment
        .iter()
        .map(|a| {
            json!({
                "attached_at": time(v.created_at),
                "attachment_id": a.id,
                "device": a.device,
                "host_name": Value::Null,
                "id": v.id,
                "server_id": a.server_id,
                "volume_id": v.id,
            })
        })
        .collect();
    let image_metadata = match &v.image_id {
        Some(image) => json!({"image_id": image}),
        None => json!({}),
    };
    let mut metadata: Map<String, Value> = v.metadata.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    metadata.entry("hw:passthrough").or_insert(json!("false"));
    json!({
        "id": v.id,
        "links": [{"href": self_link, "rel": "self"}],
        "name": v.name,
        "status": v.status,
        "attachments": attachments,
        "availability_zone": v.availability_zone,
        "os-vol-host-attr:host": format!("ecsd#{}", v.volume_type),
        "source_volid": v.source_volid,
        "snapshot_id": v.snapshot_id,
        "description": v.description,
        "created_at": time(v.created_at),
        "updated_at": time(v.created_at),
        "os-vol-tenant-attr:tenant_id": v.project_id,
        "volume_image_metadata": image_metadata,
        "volume_type": v.volume_type,
        "size": v.size_gb,
        "consistencygroup_id": Value::Null,
        "bootable": v.bootable.to_string(),
        "metadata": metadata,
        "encrypted": false,
        "replication_status": "disabled",
        "os-volume-replication:extended_status": Value::Null,
        "os-vol-mig-status-attr:migstat": Value::Null,
        "os-vol-mig-status-attr:name_id": Value::Null,
        "shareable": "false",
        "multiattach": false,
        "user_id": v.user_id,
        "service_type": "EVS",
        "dedicated_storage_id": Value::Null,
        "dedicated_storage_name": Value::Null,
        "tags": {},
        "wwn": format!("6888603000{}", v.id.replace('-', "").get(..22).unwrap_or_default()),
        "enterprise_project_id": "0",
    })
}

/// `GET /v2[.1]/{project_id}/cloudvolumes/detail`: filters and paging.
async fn detail(
    State(state): State<AppState>,
    call: EvsCall,
    base: BaseUrl,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, EvsError> {
    let q: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|_| EvsError::bad("EVS.5400", "Malformed query string."))?;
    let get = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let int = |k: &str, max: usize| -> Result<Option<usize>, EvsError> {
        get(k)
            .map(|v| {
                v.parse::<usize>()
                    .ok()
                    .filter(|n| *n <= max)
                    .ok_or_else(|| EvsError::bad("EVS.5400", format!("{k} must be an integer from 0 to {max}.")))
            })
            .transpose()
    };
    let limit = int("limit", 1000)?.unwrap_or(1000);
    let offset = int("offset", usize::MAX)?.unwrap_or(0);
    let ids: Option<Vec<String>> = get("ids").map(|raw| {
        raw.trim_matches(|c| c == '[' || c == ']')
            .split(',')
            .map(|s| s.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
            .filter(|s| !s.is_empty())
            .collect()
    });
    let metadata: Option<BTreeMap<String, String>> = get("metadata")
        .map(|m| {
            serde_json::from_str(m).map_err(|_| EvsError::bad("EVS.5400", "metadata must be a JSON object of strings."))
        })
        .transpose()?;
    if get("multiattach") == Some("true") {
        // ecsd's disks are never shared.
        return Ok(Json(json!({"count": 0, "volumes": []})));
    }
    let mut all = state.core.cinder_volumes(&call.ctx, false).await?;
    all.retain(|v| {
        get("name").is_none_or(|n| v.name == n)
            && get("status").is_none_or(|s| v.status == s)
            && get("availability_zone").is_none_or(|z| v.availability_zone == z)
            && get("id").is_none_or(|id| v.id == id)
            && get("volume_type_id").is_none_or(|t| v.volume_type == t)
            && get("service_type").is_none_or(|t| t == "EVS")
            && get("server_id").is_none_or(|s| v.attachment.as_ref().is_some_and(|a| a.server_id == s))
            && ids.as_ref().is_none_or(|ids| ids.contains(&v.id))
            && metadata.as_ref().is_none_or(|m| m.iter().all(|(k, val)| v.metadata.get(k) == Some(val)))
    });
    let descending = match get("sort_dir") {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(other) => return Err(EvsError::bad("EVS.5400", format!("sort_dir must be asc or desc, not {other}."))),
    };
    match get("sort_key").unwrap_or("created_at") {
        "created_at" => all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id))),
        "id" => all.sort_by(|a, b| a.id.cmp(&b.id)),
        "status" => all.sort_by(|a, b| (&a.status, &a.id).cmp(&(&b.status, &b.id))),
        "size" => all.sort_by(|a, b| (a.size_gb, &a.id).cmp(&(b.size_gb, &b.id))),
        other => {
            return Err(EvsError::bad(
                "EVS.5400",
                format!("sort_key must be id, status, size or created_at, not {other}."),
            ));
        }
    }
    if descending {
        all.reverse();
    }
    let count = all.len();
    let start = match get("marker") {
        None => offset,
        Some(m) => all
            .iter()
            .position(|v| v.id == m)
            .map(|p| p + 1)
            .ok_or_else(|| EvsError::bad("EVS.5400", format!("marker {m} is not a disk of this list.")))?,
    };
    let page: Vec<&Volume> = all.iter().skip(start).take(limit).collect();
    let mut body = json!({"count": count, "volumes": page.iter().map(|v| view(v, &base)).collect::<Vec<_>>()});
    if start + page.len() < count
        && let Some(last) = page.last()
    {
        let href = base.join(&format!("v2/{}/cloudvolumes/detail?limit={limit}&marker={}", last.project_id, last.id));
        body["volumes_links"] = json!([{"href": href, "rel": "next"}]);
    }
    Ok(Json(body))
}

/// `GET /v2/{project_id}/cloudvolumes/{volume_id}`.
async fn show(
    State(state): State<AppState>,
    call: EvsCall,
    base: BaseUrl,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, EvsError> {
    let v = state.core.evs_volume(&call.ctx, &id).await?;
    Ok(Json(json!({"volume": view(&v, &base)})))
}

/// `PUT /v2/{project_id}/cloudvolumes/{volume_id}`: name, description.
/// The SDK reads the disk's fields at the top level of the answer.
async fn update(
    State(state): State<AppState>,
    call: EvsCall,
    base: BaseUrl,
    Path((_, id)): Path<(String, String)>,
    EvsBody(body): EvsBody,
) -> Result<Json<Value>, EvsError> {
    let v = body.get("volume").and_then(Value::as_object).ok_or_else(|| EvsError::bad("EVS.1001", "null volume!"))?;
    let name = opt_str(v, "name", 64, "EVS.1003")?;
    let description = opt_str(v, "description", 85, "EVS.1004")?;
    if name.is_none() && description.is_none() {
        return Err(EvsError::bad("EVS.1007", "volume name and description can not both be empty!"));
    }
    let updated = state.core.evs_volume_update(&call.ctx, &id, name, description).await?;
    Ok(Json(view(&updated, &base)))
}

/// `DELETE /v2/{project_id}/cloudvolumes/{volume_id}`: a job.
async fn delete(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EvsCall,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, EvsError> {
    let task = state.core.evs_volume_delete(&call.ctx, &id, &request_id).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"job_id": job_id(&task)}))).into_response())
}

/// `POST /v2.1/{project_id}/cloudvolumes/{volume_id}/action`: `os-extend`, a job.
async fn action(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EvsCall,
    Path((_, id)): Path<(String, String)>,
    EvsBody(body): EvsBody,
) -> Result<Response, EvsError> {
    let extend = body
        .get("os-extend")
        .and_then(Value::as_object)
        .ok_or_else(|| EvsError::bad("EVS.1011", "null extendVolumeReq!"))?;
    let new_size = opt_int(extend, "new_size", "EVS.1011")?
        .ok_or_else(|| EvsError::bad("EVS.1011", "os-extend.new_size is required."))?;
    if !(1..=MAX_SIZE_GB).contains(&new_size) {
        return Err(EvsError::bad("EVS.1010", format!("invalid volume size! It must be from 1 to {MAX_SIZE_GB} GB.")));
    }
    let task = state.core.evs_volume_extend(&call.ctx, &id, new_size, &request_id).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"job_id": job_id(&task)}))).into_response())
}
