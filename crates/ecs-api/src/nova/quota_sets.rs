//! `/os-quota-sets/{project_id}` show, detail, defaults, update, delete.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ecs_core::quota::QuotaItem;
use serde_json::{Map, Value, json};

use super::validate::invalid;
use super::{NovaBody, NovaCall, NovaError};
use crate::AppState;

type Result<T> = std::result::Result<T, NovaError>;

/// Whether a resource is shown at this microversion (2.36 dropped the
/// network ones, 2.57 the injected files).
fn shown(call: &NovaCall, name: &str) -> bool {
    match name {
        "fixed_ips" | "floating_ips" | "security_groups" | "security_group_rules" => !call.version.at_least(36),
        "injected_files" | "injected_file_content_bytes" | "injected_file_path_bytes" => !call.version.at_least(57),
        _ => true,
    }
}

fn render(call: &NovaCall, project: &str, items: impl Iterator<Item = (&'static str, Value)>) -> Value {
    let mut set = Map::new();
    set.insert("id".into(), json!(project));
    for (name, v) in items.filter(|(n, _)| shown(call, n)) {
        set.insert(name.into(), v);
    }
    json!({"quota_set": set})
}

fn limits(set: BTreeMap<&'static str, QuotaItem>) -> impl Iterator<Item = (&'static str, Value)> {
    set.into_iter().map(|(n, i)| (n, json!(i.limit)))
}

pub async fn show(State(state): State<AppState>, call: NovaCall, Path(project): Path<String>) -> Result<Json<Value>> {
    let set = state.core.quota_set(&call.ctx, &project).await?;
    Ok(Json(render(&call, &project, limits(set))))
}

pub async fn detail(State(state): State<AppState>, call: NovaCall, Path(project): Path<String>) -> Result<Json<Value>> {
    let set = state.core.quota_set(&call.ctx, &project).await?;
    let items = set.into_iter().map(|(n, i)| (n, json!({"limit": i.limit, "in_use": i.in_use, "reserved": 0})));
    Ok(Json(render(&call, &project, items)))
}

pub async fn defaults(
    State(state): State<AppState>,
    call: NovaCall,
    Path(project): Path<String>,
) -> Result<Json<Value>> {
    let items = state.core.quota_defaults(&project).await?.into_iter().map(|(n, v)| (n, json!(v)));
    Ok(Json(render(&call, &project, items)))
}

pub async fn update(
    State(state): State<AppState>,
    call: NovaCall,
    Path(project): Path<String>,
    NovaBody(body): NovaBody,
) -> Result<Json<Value>> {
    super::validate::object(&body, "", &["quota_set"], &["quota_set"])?;
    let set = body["quota_set"].as_object().ok_or_else(|| {
        invalid("quota_set", &body["quota_set"], format!("{} is not of type 'object'", body["quota_set"]))
    })?;
    let mut force = false;
    let mut values = BTreeMap::new();
    for (name, v) in set {
        if name == "force" {
            force = super::validate::boolean(v, "force")?;
            continue;
        }
        // Nova's schema drops a resource at the version it stops showing it.
        if !shown(&call, name) {
            let problem = format!("Additional properties are not allowed ('{name}' was unexpected)");
            return Err(invalid("quota_set", &body["quota_set"], problem));
        }
        values.insert(name.clone(), super::validate::quota(v, &format!("quota_set/{name}"))?);
    }
    let set = state.core.quota_update(&call.ctx, &project, values, force).await?;
    let mut body = render(&call, &project, limits(set));
    body["quota_set"].as_object_mut().expect("object").remove("id");
    Ok(Json(body))
}

pub async fn delete(State(state): State<AppState>, call: NovaCall, Path(project): Path<String>) -> Result<StatusCode> {
    state.core.quota_reset(&call.ctx, &project).await?;
    Ok(StatusCode::ACCEPTED)
}
