//! `/servers/{id}/metadata` (N39–N44) and `/servers/{id}/tags` (N62–N67, 2.26+).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::validate::{self, invalid};
use super::{NovaBody, NovaCall, NovaError};
use crate::AppState;

type Result<T> = std::result::Result<T, NovaError>;

/// Keys 1–255 characters, values strings of at most 255.
fn items(body: &Value, key: &str) -> Result<BTreeMap<String, String>> {
    validate::object(body, "", &[key], &[key])?;
    let map = body[key]
        .as_object()
        .ok_or_else(|| invalid(key, &body[key], format!("{} is not of type 'object'", body[key])))?;
    map.iter()
        .map(|(k, v)| {
            if k.is_empty() || k.chars().count() > 255 {
                return Err(invalid(
                    key,
                    &body[key],
                    format!("'{k}' does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{{1,255}}$'"),
                ));
            }
            let v = v.as_str().ok_or_else(|| invalid(key, &body[key], format!("{v} is not of type 'string'")))?;
            if v.chars().count() > 255 {
                return Err(invalid(key, &body[key], format!("'{v}' is too long")));
            }
            Ok((k.clone(), v.to_string()))
        })
        .collect()
}

pub async fn index(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<Json<Value>> {
    Ok(Json(json!({"metadata": state.core.server_get(&call.ctx, &id).await?.metadata})))
}

pub async fn update(
    State(state): State<AppState>,
    call: NovaCall,
    Path(id): Path<String>,
    NovaBody(body): NovaBody,
) -> Result<Json<Value>> {
    let all = state.core.server_metadata_set(&call.ctx, &id, items(&body, "metadata")?, false).await?;
    Ok(Json(json!({"metadata": all})))
}

pub async fn replace(
    State(state): State<AppState>,
    call: NovaCall,
    Path(id): Path<String>,
    NovaBody(body): NovaBody,
) -> Result<Json<Value>> {
    let all = state.core.server_metadata_set(&call.ctx, &id, items(&body, "metadata")?, true).await?;
    Ok(Json(json!({"metadata": all})))
}

pub async fn show(
    State(state): State<AppState>,
    call: NovaCall,
    Path((id, key)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let server = state.core.server_get(&call.ctx, &id).await?;
    let value = server
        .metadata
        .get(&key)
        .ok_or_else(|| NovaError::new(StatusCode::NOT_FOUND, "Metadata item was not found"))?;
    Ok(Json(json!({"meta": {key: value}})))
}

pub async fn put(
    State(state): State<AppState>,
    call: NovaCall,
    Path((id, key)): Path<(String, String)>,
    NovaBody(body): NovaBody,
) -> Result<Json<Value>> {
    let item = items(&body, "meta")?;
    if item.len() > 1 {
        return Err(NovaError::bad_request("Request body contains too many items"));
    }
    if !item.contains_key(&key) {
        return Err(NovaError::bad_request("Request body and URI mismatch"));
    }
    state.core.server_metadata_set(&call.ctx, &id, item.clone(), false).await?;
    Ok(Json(json!({"meta": item})))
}

pub async fn delete(
    State(state): State<AppState>,
    call: NovaCall,
    Path((id, key)): Path<(String, String)>,
) -> Result<StatusCode> {
    state.core.server_metadata_delete(&call.ctx, &id, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn tags_gate(call: &NovaCall) -> Result<()> {
    if call.version.at_least(26) { Ok(()) } else { Err(NovaError::not_found()) }
}

/// A tag named by the path, in Nova's words for it.
fn check_tag(tag: &str) -> Result<()> {
    match validate::tag_problem(tag) {
        None => Ok(()),
        Some(problem) => Err(NovaError::bad_request(format!(
            "Tag '{}' is invalid. It must be a non empty string without characters '/' and ','. Validation error \
             message: {problem}",
            tag.escape_debug()
        ))),
    }
}

pub async fn tags(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<Json<Value>> {
    tags_gate(&call)?;
    Ok(Json(json!({"tags": state.core.server_get(&call.ctx, &id).await?.tags})))
}

pub async fn tags_replace(
    State(state): State<AppState>,
    call: NovaCall,
    Path(id): Path<String>,
    NovaBody(body): NovaBody,
) -> Result<Json<Value>> {
    tags_gate(&call)?;
    validate::object(&body, "", &["tags"], &["tags"])?;
    let list = body["tags"].as_array().ok_or_else(|| invalid("tags", &body["tags"], "is not of type 'array'"))?;
    let mut tags = Vec::new();
    for t in list {
        tags.push(validate::tag(t, "tags")?.to_string());
    }
    let tags = state.core.server_tags_set(&call.ctx, &id, tags).await?;
    Ok(Json(json!({"tags": tags})))
}

pub async fn tags_delete(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<StatusCode> {
    tags_gate(&call)?;
    state.core.server_tags_set(&call.ctx, &id, Vec::new()).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn tag_check(
    State(state): State<AppState>,
    call: NovaCall,
    Path((id, tag)): Path<(String, String)>,
) -> Result<StatusCode> {
    tags_gate(&call)?;
    let server = state.core.server_get(&call.ctx, &id).await?;
    if server.tags.contains(&tag) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(NovaError::new(StatusCode::NOT_FOUND, format!("Tag {tag} not found")))
    }
}

/// `PUT /servers/{id}/tags/{tag}`: 201 with a Location when new, 204 when present.
pub async fn tag_add(
    State(state): State<AppState>,
    call: NovaCall,
    Path((id, tag)): Path<(String, String)>,
) -> Result<Response> {
    tags_gate(&call)?;
    check_tag(&tag)?;
    if state.core.server_tag_add(&call.ctx, &id, &tag).await? {
        // Percent-encoded: a header holds no raw user text.
        let server = call.links.resource("servers", &id)[0]["href"].as_str().unwrap_or_default().to_string();
        let location = format!("{server}/tags/{}", urlencoding::encode(&tag));
        Ok((StatusCode::CREATED, [(header::LOCATION, location)]).into_response())
    } else {
        Ok(StatusCode::NO_CONTENT.into_response())
    }
}

pub async fn tag_delete(
    State(state): State<AppState>,
    call: NovaCall,
    Path((id, tag)): Path<(String, String)>,
) -> Result<StatusCode> {
    tags_gate(&call)?;
    state.core.server_tag_delete(&call.ctx, &id, &tag).await?;
    Ok(StatusCode::NO_CONTENT)
}
