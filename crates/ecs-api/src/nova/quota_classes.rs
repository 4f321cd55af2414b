//! `/os-quota-class-sets/{class}` show and update. Only the `default`
//! class means anything: its limits are the defaults of every project
//! without limits of its own.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Map, Value, json};

use super::validate::{object, quota};
use super::{NovaBody, NovaCall, NovaError};
use crate::AppState;

type Result<T> = std::result::Result<T, NovaError>;

const NETWORK: &[&str] = &["fixed_ips", "floating_ips", "security_groups", "security_group_rules"];
const INJECTED: &[&str] = &["injected_files", "injected_file_content_bytes", "injected_file_path_bytes"];
const SERVER_GROUPS: &[&str] = &["server_groups", "server_group_members"];
/// Every resource a class sets (Nova's `_quota_resources`).
const RESOURCES: &[&str] = &[
    "instances",
    "cores",
    "ram",
    "metadata_items",
    "key_pairs",
    "fixed_ips",
    "floating_ips",
    "security_groups",
    "security_group_rules",
    "injected_files",
    "injected_file_content_bytes",
    "injected_file_path_bytes",
    "server_groups",
    "server_group_members",
];

/// The resources a class set names at this microversion: 2.50 added the
/// server groups and dropped the network ones, 2.57 dropped the injected
/// files.
fn named(call: &NovaCall, name: &str) -> bool {
    if call.version.at_least(57) && INJECTED.contains(&name) {
        return false;
    }
    if call.version.at_least(50) { !NETWORK.contains(&name) } else { !SERVER_GROUPS.contains(&name) }
}

fn render(call: &NovaCall, class: Option<&str>, limits: BTreeMap<&'static str, i64>) -> Value {
    let mut set = Map::new();
    if let Some(class) = class {
        set.insert("id".into(), json!(class));
    }
    for (name, limit) in limits.into_iter().filter(|(n, _)| named(call, n)) {
        set.insert(name.into(), json!(limit));
    }
    json!({"quota_class_set": set})
}

pub async fn show(State(state): State<AppState>, call: NovaCall, Path(class): Path<String>) -> Result<Json<Value>> {
    let limits = state.core.quota_class(&call.ctx, &class).await?;
    Ok(Json(render(&call, Some(&class), limits)))
}

pub async fn update(
    State(state): State<AppState>,
    call: NovaCall,
    Path(class): Path<String>,
    NovaBody(body): NovaBody,
) -> Result<Json<Value>> {
    object(&body, "", &["quota_class_set"], &["quota_class_set"])?;
    // Before 2.50 the update takes the server group limits though the show leaves them out.
    let accepted: Vec<&str> =
        RESOURCES.iter().copied().filter(|n| named(&call, n) || !call.version.at_least(50)).collect();
    let set = object(&body["quota_class_set"], "quota_class_set", &accepted, &[])?;
    let mut values = BTreeMap::new();
    for (name, v) in set {
        values.insert(name.clone(), quota(v, &format!("quota_class_set/{name}"))?);
    }
    let limits = state.core.quota_class_update(&call.ctx, &class, values).await?;
    Ok(Json(render(&call, None, limits)))
}
