//! Huawei's Image Management Service (IMS) over the Glance image records:
//! `GET /v2/cloudimages` (the list, with IMS's filters and `__`-prefixed
//! attributes), `POST /v2/cloudimages/action` (a private image of a
//! server's system disk or of a volume, as a job that
//! `GET /v1/{project_id}/jobs/{job_id}` shows) and `PATCH
//! /v2/cloudimages/{image_id}`. Deleting goes through the Glance-style
//! `DELETE /v2/images/{image_id}` the IMS SDK calls (`glance_delete_image`),
//! which the Nova image proxy serves on the same records.

mod error;
mod views;

use std::cmp::Ordering;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::routing::{get, patch, post};
use ecs_core::glance::PatchOp;
use ecs_core::ims::PrivateImage;
use ecs_types::AuthContext;
use serde_json::{Map, Value, json};

pub use error::ImsError;
use error::codes;

use crate::AppState;
use crate::identity::Caller;
use crate::request_id::RequestId;

type Result<T> = std::result::Result<T, ImsError>;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v2/cloudimages", get(list))
        .route("/v2/cloudimages/action", post(create))
        .route("/v2.1/cloudimages/action", post(create))
        .route("/v2/cloudimages/{image_id}", patch(update))
        .route("/v1/cloudimages/quota", get(quota))
        .route("/v1/cloudimages/job/{job_id}", get(job))
}

/// The caller of an IMS request (a token or an AK/SK signature); bad
/// credentials are the gateway's 401.
pub struct ImsCall(pub AuthContext);

impl FromRequestParts<AppState> for ImsCall {
    type Rejection = ImsError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let Caller(ctx) = Caller::from_request_parts(parts, state).await.map_err(|e| {
            if e.status.is_server_error() {
                ImsError::new(e.status, "IMG.0500", e.message)
            } else {
                ImsError::unauthorized(e.message)
            }
        })?;
        Ok(ImsCall(ctx))
    }
}

/// The request's JSON body; none is IMG.0007, anything but JSON IMG.0001.
async fn json_body(headers: &HeaderMap, body: Body) -> Result<Value> {
    let bytes = crate::body::read_json_bytes(headers, body, crate::body::MAX_BODY_BYTES).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ImsError::bad(codes::EMPTY_BODY, "The request body is empty."));
    }
    serde_json::from_slice(&bytes).map_err(|_| ImsError::format("The request message format is invalid."))
}

/// The most images one page holds; IMS's default page.
const MAX_LIMIT: usize = 1000;
const DEFAULT_LIMIT: usize = 500;

/// The keys IMS sorts by.
const SORT_KEYS: &[&str] = &["created_at", "name", "container_format", "disk_format", "status", "id", "size"];

/// Query parameters that are not attribute filters.
const NOT_FILTERS: &[&str] = &[
    "limit",
    "marker",
    "sort_key",
    "sort_dir",
    "tag",
    "member_status",
    "created_at",
    "updated_at",
    "architecture",
    // Every image boots on every flavor ecsd has (min_ram aside).
    "flavor_id",
];

const IMAGETYPES: &[&str] = &["gold", "private", "shared", "market"];

fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Ordering::Equal),
        _ => a.as_str().unwrap_or("").cmp(b.as_str().unwrap_or("")),
    }
}

/// A view attribute as the string a query names it by.
fn as_query_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `GET /v2/cloudimages`: the images the project may use — public
/// (`gold`), its own (`private`) and those shared with it that it
/// accepted (`shared`) — filtered by any attribute of the view.
async fn list(State(state): State<AppState>, ImsCall(ctx): ImsCall, RawQuery(raw): RawQuery) -> Result<Json<Value>> {
    let q: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|_| ImsError::format("The query string is invalid."))?;
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let limit = match get("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| ImsError::format(format!("limit must be an integer from 1 to {MAX_LIMIT}.")))?,
    };
    let sort_key = get("sort_key").unwrap_or("created_at");
    if !SORT_KEYS.contains(&sort_key) {
        return Err(ImsError::format(format!("The sort_key {sort_key} is invalid.")));
    }
    let ascending = match get("sort_dir").unwrap_or("desc") {
        "asc" => true,
        "desc" => false,
        other => return Err(ImsError::format(format!("The sort_dir {other} is invalid."))),
    };
    if let Some(t) = get("__imagetype").filter(|t| !IMAGETYPES.contains(t)) {
        return Err(ImsError::bad(codes::IMAGETYPE, format!("The imagetype {t} is invalid.")));
    }
    let member_status = get("member_status").unwrap_or("accepted");
    let tags: Vec<&str> = q.iter().filter(|(n, _)| n == "tag").map(|(_, v)| v.as_str()).collect();
    let architecture = get("architecture");
    if let Some(a) = architecture.filter(|a| !matches!(*a, "x86" | "arm")) {
        return Err(ImsError::format(format!("The architecture {a} is invalid: x86 or arm.")));
    }
    let filters: Vec<(&str, &str)> = q
        .iter()
        // `all_granted_eps`: every enterprise project (there is one).
        .filter(|(n, v)| !(NOT_FILTERS.contains(&n.as_str()) || n == "enterprise_project_id" && v == "all_granted_eps"))
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let project = ctx.project_id();
    let mut images: Vec<Value> = state
        .core
        .glance_images(&ctx)
        .await?
        .into_iter()
        .filter(|v| {
            let i = &v.image.image;
            let own = i.owner_project_id.is_some() && i.owner_project_id.as_deref() == project;
            let listed = match i.visibility.as_str() {
                "public" => true,
                "community" => own,
                _ => own || ctx.is_admin() || v.member_status.as_deref().is_some_and(|s| s == member_status),
            };
            listed && !v.image.os_hidden && tags.iter().all(|t| v.image.tags.iter().any(|have| have == t))
        })
        .map(|v| views::image(&v.image, project))
        .filter(|view| {
            let arm = view["__support_arm"] == "true";
            architecture.is_none_or(|a| (a == "arm") == arm)
                && filters
                    .iter()
                    .all(|(key, want)| view.get(*key).and_then(as_query_text).is_some_and(|have| have == *want))
        })
        .collect();
    images.sort_by(|a, b| {
        let order = compare(&a[sort_key], &b[sort_key]).then_with(|| compare(&a["id"], &b["id"]));
        if ascending { order } else { order.reverse() }
    });
    if let Some(marker) = get("marker") {
        let at = images
            .iter()
            .position(|i| i["id"] == marker)
            .ok_or_else(|| ImsError::format(format!("The marker {marker} is not an image of this list.")))?;
        images.drain(..=at);
    }
    let more = images.len() > limit;
    images.truncate(limit);
    let mut doc = json!({"images": images, "schema": "/v2/schemas/images", "first": "/v2/cloudimages"});
    if more && let Some(last) = images.last().and_then(|i| i["id"].as_str()) {
        let mut next: Vec<(String, String)> = q.iter().filter(|(n, _)| n != "marker").cloned().collect();
        next.push(("marker".into(), last.to_string()));
        doc["next"] = json!(format!("/v2/cloudimages?{}", serde_urlencoded::to_string(&next).unwrap_or_default()));
        doc["page_info"] = json!({"next_marker": last});
    }
    Ok(Json(doc))
}

fn text<'a>(body: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(ImsError::format(format!("{key} must be a string."))),
    }
}

fn integer(body: &Map<String, Value>, key: &str) -> Result<Option<i64>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .filter(|n| *n >= 0)
            .map(Some)
            .ok_or_else(|| ImsError::format(format!("{key} must be a non-negative integer."))),
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(ImsError::bad(codes::NO_NAME, "The image name is not specified."));
    }
    if name.chars().count() > 128 {
        return Err(ImsError::bad(codes::NAME_TOO_LONG, "The image name contains more than 128 characters."));
    }
    Ok(())
}

fn check_description(description: &str) -> Result<()> {
    if description.chars().count() > 1024 {
        return Err(ImsError::bad(codes::DESCRIPTION_TOO_LONG, "The description contains more than 1024 characters."));
    }
    Ok(())
}

/// The image's tags: `tags` (`key.value` strings) and `image_tags`
/// (`{"key", "value"}`), as IMS writes both.
fn tags_of(body: &Map<String, Value>) -> Result<Vec<String>> {
    let mut tags = Vec::new();
    match body.get("tags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for t in list {
                tags.push(t.as_str().ok_or_else(|| ImsError::format("tags must be strings."))?.to_string());
            }
        }
        Some(_) => return Err(ImsError::format("tags must be a list.")),
    }
    match body.get("image_tags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for t in list {
                let key = t.get("key").and_then(Value::as_str).ok_or_else(|| ImsError::format("A tag needs a key."))?;
                match t.get("value").and_then(Value::as_str).filter(|v| !v.is_empty()) {
                    Some(value) => tags.push(format!("{key}.{value}")),
                    None => tags.push(key.to_string()),
                }
            }
        }
        Some(_) => return Err(ImsError::format("image_tags must be a list.")),
    }
    Ok(tags)
}

/// `POST /v2/cloudimages/action`: a private image of a server's system
/// disk (`instance_id`) or of a volume (`volume_id`); `{"job_id"}`.
async fn create(
    State(state): State<AppState>,
    ImsCall(ctx): ImsCall,
    axum::Extension(RequestId(request_id)): axum::Extension<RequestId>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>> {
    let Value::Object(body) = json_body(&headers, body).await? else {
        return Err(ImsError::format("The request body must be a JSON object."));
    };
    let name = text(&body, "name")?.unwrap_or("");
    check_name(name)?;
    let description = text(&body, "description")?;
    if let Some(d) = description {
        check_description(d)?;
    }
    let mut properties = std::collections::BTreeMap::new();
    if let Some(v) = text(&body, "os_version")? {
        properties.insert("__os_version".to_string(), v.to_string());
    }
    if let Some(max_ram) = integer(&body, "max_ram")? {
        properties.insert("max_ram".to_string(), max_ram.to_string());
    }
    for key in ["enterprise_project_id", "hw_firmware_type"] {
        if let Some(v) = text(&body, key)? {
            properties.insert(key.to_string(), v.to_string());
        }
    }
    if let Some(arch) = text(&body, "architecture")? {
        let arch = match arch {
            "x86" => "x86_64",
            "arm" => "aarch64",
            other => return Err(ImsError::format(format!("The architecture {other} is invalid."))),
        };
        properties.insert("architecture".to_string(), arch.to_string());
    }
    let req = PrivateImage {
        name: name.to_string(),
        description: description.map(str::to_string),
        tags: tags_of(&body)?,
        min_ram_mb: integer(&body, "min_ram")?,
        properties,
    };
    if body.get("data_images").is_some_and(|d| d.as_array().is_some_and(|d| !d.is_empty())) {
        return Err(ImsError::format("Data disk images (data_images) are not supported: create them from volumes."));
    }
    if text(&body, "image_url")?.is_some() {
        return Err(ImsError::format("Importing image files (image_url) is not supported."));
    }
    let job = match (text(&body, "instance_id")?, text(&body, "volume_id")?) {
        (Some(_), Some(_)) => return Err(ImsError::format("Give instance_id or volume_id, not both.")),
        (Some(server), None) => state.core.ims_image_from_server(&ctx, server, req, &request_id).await?,
        (None, Some(volume)) => state.core.ims_image_from_volume(&ctx, volume, req, &request_id).await?,
        (None, None) => return Err(ImsError::bad(codes::NO_SOURCE, "The ECS ID is not specified.")),
    };
    Ok(Json(json!({"job_id": ecs_core::job::job_id(&job.task_id)})))
}

/// The attributes IMS updates that Glance keeps as integers.
const INTEGERS: &[&str] = &["min_ram", "min_disk"];

/// One change of an IMS update (`{"op", "path", "value"}`, the value a
/// string as the SDK types it) as a Glance patch operation.
fn patch_op(change: &Value) -> Result<PatchOp> {
    let op = change.get("op").and_then(Value::as_str).ok_or_else(|| ImsError::format("A change needs an op."))?;
    let path = change.get("path").and_then(Value::as_str).ok_or_else(|| ImsError::format("A change needs a path."))?;
    let key = path
        .strip_prefix('/')
        .filter(|k| !k.is_empty() && !k.contains('/'))
        .ok_or_else(|| ImsError::format(format!("The path {path} is invalid.")))?
        .to_string();
    if op == "remove" {
        return Ok(PatchOp::Remove(key));
    }
    if !matches!(op, "add" | "replace") {
        return Err(ImsError::format(format!("The op {op} is invalid: add, replace or remove.")));
    }
    let raw = change.get("value").ok_or_else(|| ImsError::format(format!("The change of {path} needs a value.")))?;
    let value = match (key.as_str(), raw) {
        (k, Value::String(s)) if INTEGERS.contains(&k) => {
            json!(s.trim().parse::<i64>().map_err(|_| ImsError::format(format!("{k} must be an integer.")))?)
        }
        ("protected", Value::String(s)) => {
            json!(s.parse::<bool>().map_err(|_| ImsError::format("protected must be true or false."))?)
        }
        ("name", Value::String(s)) => {
            check_name(s)?;
            raw.clone()
        }
        ("__description", Value::String(s)) => {
            check_description(s)?;
            raw.clone()
        }
        (k, Value::Number(n)) if !INTEGERS.contains(&k) => json!(n.to_string()),
        (k, Value::Bool(b)) if k != "protected" => json!(b.to_string()),
        _ => raw.clone(),
    };
    // IMS replaces an attribute the image does not have yet: Glance's `add`.
    Ok(PatchOp::Add(key, value))
}

/// `PATCH /v2/cloudimages/{image_id}`: `[{"op", "path", "value"}]`; the
/// image as it is after.
async fn update(
    State(state): State<AppState>,
    ImsCall(ctx): ImsCall,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>> {
    let changes = match json_body(&headers, body).await? {
        Value::Array(changes) => changes,
        change @ Value::Object(_) => vec![change],
        _ => return Err(ImsError::format("The request body must be a list of changes.")),
    };
    if changes.is_empty() {
        return Err(ImsError::bad(codes::EMPTY_BODY, "The request body is empty."));
    }
    let ops = changes.iter().map(patch_op).collect::<Result<Vec<_>>>()?;
    let image = state.core.glance_image_patch(&ctx, &id, &ops).await?;
    Ok(Json(views::image(&image, ctx.project_id())))
}

/// `GET /v1/cloudimages/quota`: the project's private images against
/// IMS's default quota.
async fn quota(State(state): State<AppState>, ImsCall(ctx): ImsCall) -> Result<Json<Value>> {
    const IMAGE_QUOTA: usize = 100;
    let project = ctx.project_id();
    let used = state
        .core
        .glance_images(&ctx)
        .await?
        .iter()
        .filter(|v| v.image.image.owner_project_id.is_some() && v.image.image.owner_project_id.as_deref() == project)
        .count();
    Ok(Json(json!({"quotas": {"resources": [
        {"type": "image", "used": used, "quota": IMAGE_QUOTA, "min": 1, "max": IMAGE_QUOTA},
    ]}})))
}

/// `GET /v1/cloudimages/job/{job_id}` (ShowJobProgress): the job as
/// `GET /v1/{project_id}/jobs/{job_id}` shows it.
async fn job(State(state): State<AppState>, ImsCall(ctx): ImsCall, Path(id): Path<String>) -> Result<Json<Value>> {
    let job = state.core.job(&ctx, &id).await?;
    Ok(Json(crate::ecs::jobs::view(&job.task, &job.sub_jobs, job.task.parent_id.is_some())))
}
