//! `/images`: Nova's read-only image proxy (deprecated at 2.36, where it
//! answers 404 as Nova does).

use axum::Json;
use axum::extract::{Path, State};
use ecs_types::Image;
use serde_json::{Value, json};

use super::{NovaCall, NovaError};
use crate::AppState;

type Result<T> = std::result::Result<T, NovaError>;

fn view(call: &NovaCall, i: &Image, full: bool) -> Value {
    let mut v = json!({"id": i.id, "name": i.name, "links": call.links.resource("images", &i.id)});
    if full {
        let created = i.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        v["status"] = json!(i.status.to_uppercase());
        v["minRam"] = json!(i.min_ram_mb);
        v["minDisk"] = json!(i.min_disk_gb);
        v["progress"] = json!(100);
        v["created"] = json!(created);
        v["updated"] = json!(created);
        v["metadata"] = json!({});
        v["OS-EXT-IMG-SIZE:size"] = json!(i.size_bytes);
    }
    v
}

async fn visible(state: &AppState, call: &NovaCall) -> Result<Vec<Image>> {
    if call.version.at_least(36) {
        return Err(NovaError::not_found());
    }
    let images = state.core.images(&call.ctx).await?;
    Ok(images)
}

pub async fn index(State(state): State<AppState>, call: NovaCall) -> Result<Json<Value>> {
    let images = visible(&state, &call).await?;
    Ok(Json(json!({"images": images.iter().map(|i| view(&call, i, false)).collect::<Vec<_>>()})))
}

pub async fn detail(State(state): State<AppState>, call: NovaCall) -> Result<Json<Value>> {
    let images = visible(&state, &call).await?;
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
