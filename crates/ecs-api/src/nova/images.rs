//! `/images`: Nova's read-only image proxy (deprecated at 2.36, where it
//! answers 404 as Nova does).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use ecs_types::Image;
use serde_json::{Value, json};

use super::validate::{ListQuery, ListRules, Paging};
use super::{NovaCall, NovaError};
use crate::AppState;

type Result<T> = std::result::Result<T, NovaError>;

/// An image's metadata without ecsd's own keys (`ecsd:file`: where its data is).
fn shown(properties: &std::collections::BTreeMap<String, String>) -> std::collections::BTreeMap<String, String> {
    properties.iter().filter(|(k, _)| !k.starts_with("ecsd:")).map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn view(call: &NovaCall, i: &Image, full: bool) -> Value {
    let mut v = json!({"id": i.id, "name": i.name, "links": call.links.resource("images", &i.id)});
    if full {
        let created = i.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        v["status"] = json!(nova_status(i));
        v["minRam"] = json!(i.min_ram_mb);
        v["minDisk"] = json!(i.min_disk_gb);
        v["progress"] = json!(100);
        v["created"] = json!(created);
        v["updated"] = json!(created);
        v["metadata"] = json!(shown(&i.properties));
        if let Some(server) = i.properties.get("instance_uuid") {
            v["server"] = json!({"id": server, "links": call.links.resource("servers", server)});
        }
        v["OS-EXT-IMG-SIZE:size"] = json!(i.size_bytes);
    }
    v
}

/// Glance's statuses as Nova shows them.
fn nova_status(i: &Image) -> &'static str {
    match i.status.as_str() {
        "active" => "ACTIVE",
        "queued" | "saving" | "importing" => "SAVING",
        "killed" => "ERROR",
        "deleted" | "pending_delete" => "DELETED",
        _ => "UNKNOWN",
    }
}

/// Nova's image proxy pages as Glance does (`limit`, `marker`).
const LIST: ListRules = ListRules {
    paging: Paging::Marker { from: 1 },
    filters: &["name", "status", "changes-since", "server", "type", "minRam", "minDisk", "page_size"],
    strict_from: None,
};

/// The list filters of Nova's image proxy (name, status, minRam, minDisk,
/// changes-since, server, type), then the page asked for.
fn filtered(call: &NovaCall, images: Vec<Image>, raw: Option<&str>) -> Result<Vec<Image>> {
    let list = ListQuery::parse(raw, call.version, &LIST)?;
    let q = &list.params;
    let number = |k: &str| -> Result<Option<i64>> {
        q.get(k)
            .map(|v| v.parse::<i64>().map_err(|_| NovaError::bad_request(format!("Invalid {k} filter [{v}]"))))
            .transpose()
    };
    let (min_ram, min_disk) = (number("minRam")?, number("minDisk")?);
    let since = q
        .get("changes-since")
        .map(|v| {
            chrono::DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|_| NovaError::bad_request(format!("Invalid changes-since value [{v}]")))
        })
        .transpose()?;
    // `server` is a server's id or its link (Nova keeps what follows the
    // last `/`); both it and `type` are properties of snapshots and backups.
    let server = q.get("server").map(|s| s.rsplit('/').next().unwrap_or(s));
    let property = |i: &Image, key: &str, wanted: Option<&str>| {
        wanted.is_none_or(|w| i.properties.get(key).is_some_and(|v| v == w))
    };
    let images = images
        .into_iter()
        .filter(|i| property(i, "instance_uuid", server) && property(i, "image_type", q.get("type")))
        .filter(|i| q.get("name").is_none_or(|n| n == i.name))
        .filter(|i| q.get("status").is_none_or(|st| st.eq_ignore_ascii_case(nova_status(i))))
        .filter(|i| min_ram.is_none_or(|m| i.min_ram_mb >= m))
        .filter(|i| min_disk.is_none_or(|m| i.min_disk_gb >= m))
        .filter(|i| since.is_none_or(|t| i.created_at >= t))
        .collect();
    list.page(images, |i| i.id.clone())
}

async fn visible(state: &AppState, call: &NovaCall) -> Result<Vec<Image>> {
    super::gone_at_236(call)?;
    let images = state.core.images(&call.ctx).await?;
    Ok(images)
}

pub async fn index(State(state): State<AppState>, call: NovaCall, RawQuery(raw): RawQuery) -> Result<Json<Value>> {
    let images = filtered(&call, visible(&state, &call).await?, raw.as_deref())?;
    Ok(Json(json!({"images": images.iter().map(|i| view(&call, i, false)).collect::<Vec<_>>()})))
}

pub async fn detail(State(state): State<AppState>, call: NovaCall, RawQuery(raw): RawQuery) -> Result<Json<Value>> {
    let images = filtered(&call, visible(&state, &call).await?, raw.as_deref())?;
    Ok(Json(json!({"images": images.iter().map(|i| view(&call, i, true)).collect::<Vec<_>>()})))
}

pub async fn show(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<Json<Value>> {
    let images = visible(&state, &call).await?;
    let image = images
        .iter()
        .find(|i| i.id == id)
        .ok_or_else(|| NovaError::new(axum::http::StatusCode::NOT_FOUND, "Image not found."))?;
    Ok(Json(json!({"image": view(&call, image, true)})))
}

pub async fn delete(
    State(state): State<AppState>,
    call: NovaCall,
    Path(id): Path<String>,
) -> Result<axum::http::StatusCode> {
    visible(&state, &call).await?;
    state.core.image_delete(&call.ctx, &id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

pub async fn metadata(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<Json<Value>> {
    visible(&state, &call).await?;
    Ok(Json(json!({"metadata": shown(&state.core.image(&call.ctx, &id).await?.properties)})))
}

fn metadata_body(body: &Value, key: &str) -> Result<std::collections::BTreeMap<String, String>> {
    let map =
        body.get(key).and_then(Value::as_object).ok_or_else(|| NovaError::bad_request("Malformed request body"))?;
    map.iter()
        .map(|(k, v)| {
            let v = v.as_str().ok_or_else(|| NovaError::bad_request(format!("Invalid metadata value for {k}")))?;
            if k.is_empty() || k.len() > 255 || v.len() > 255 {
                return Err(NovaError::bad_request("Invalid metadata: keys and values are 1-255 characters"));
            }
            Ok((k.clone(), v.to_string()))
        })
        .collect()
}

/// `POST` merges, `PUT` replaces.
pub async fn metadata_update(
    State(state): State<AppState>,
    call: NovaCall,
    method: axum::http::Method,
    Path(id): Path<String>,
    super::NovaBody(body): super::NovaBody,
) -> Result<Json<Value>> {
    visible(&state, &call).await?;
    let items = metadata_body(&body, "metadata")?;
    let all = state.core.image_metadata_set(&call.ctx, &id, items, method == axum::http::Method::PUT).await?;
    Ok(Json(json!({"metadata": shown(&all)})))
}

pub async fn metadata_item(
    State(state): State<AppState>,
    call: NovaCall,
    Path((id, key)): Path<(String, String)>,
) -> Result<Json<Value>> {
    visible(&state, &call).await?;
    let image = state.core.image(&call.ctx, &id).await?;
    let value = shown(&image.properties)
        .remove(&key)
        .ok_or_else(|| NovaError::new(axum::http::StatusCode::NOT_FOUND, "Metadata item was not found"))?;
    Ok(Json(json!({"meta": {key: value}})))
}

pub async fn metadata_item_put(
    State(state): State<AppState>,
    call: NovaCall,
    Path((id, key)): Path<(String, String)>,
    super::NovaBody(body): super::NovaBody,
) -> Result<Json<Value>> {
    visible(&state, &call).await?;
    let item = metadata_body(&body, "meta")?;
    if item.len() != 1 || !item.contains_key(&key) {
        return Err(NovaError::bad_request("Request body and URI mismatch"));
    }
    state.core.image_metadata_set(&call.ctx, &id, item.clone(), false).await?;
    Ok(Json(json!({"meta": item})))
}

pub async fn metadata_item_delete(
    State(state): State<AppState>,
    call: NovaCall,
    Path((id, key)): Path<(String, String)>,
) -> Result<axum::http::StatusCode> {
    visible(&state, &call).await?;
    state.core.image_metadata_delete(&call.ctx, &id, &key).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
