//! 2D tags (§5.9): `{key, value}` pairs over the same server tags as Nova's
//! 1D tags (`key=value`, split at the first `=`; a tag without `=` is a key
//! with the value ""). Served under `/v1/{project_id}/servers/…` as the
//! seed prints and `/v1/{project_id}/cloudservers/…` as the Huawei SDK calls.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ecs_core::compute::tag_pair;
use ecs_store::ServerListQuery;
use ecs_types::server::Server;
use serde_json::{Value, json};

use super::EcsBody;
use super::{EcsCall, EcsError, illegal, json_body};
use crate::AppState;

/// Tags one create request may set (§5.9.3, S001); the total per server
/// is the core's (DECISIONS §5: 50).
const MAX_CREATE: usize = 10;
const MAX_QUERY_LIMIT: u64 = 1000;

fn too_long(what: &str, max: usize) -> EcsError {
    EcsError::with_message("Ecs.0906", format!("tag {what} must be 1 to {max} characters"))
}

fn cjk(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c)
}

/// A create key: 1–36 of `A-Za-z0-9-_` and CJK.
fn create_key(key: &str) -> Result<(), EcsError> {
    if key.is_empty() || key.chars().count() > 36 {
        return Err(too_long("key", 36));
    }
    if !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || cjk(c)) {
        return Err(EcsError::with_message("Ecs.0907", format!("tag key {key} has an invalid character")));
    }
    Ok(())
}

/// A create value: 0–43 of the key's characters and `.`.
fn create_value(value: &str) -> Result<(), EcsError> {
    if value.chars().count() > 43 {
        return Err(EcsError::with_message("Ecs.0906", "tag value must be at most 43 characters"));
    }
    if !value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') || cjk(c)) {
        return Err(EcsError::with_message("Ecs.0907", format!("tag value {value} has an invalid character")));
    }
    Ok(())
}

/// A delete or filter key (1–127 characters) or value (at most 255): any
/// Unicode but control characters, which no stored tag holds.
fn loose(text: &str, what: &str, min: usize, max: usize) -> Result<(), EcsError> {
    let n = text.chars().count();
    if n < min || n > max {
        return Err(too_long(what, max));
    }
    if text.chars().any(char::is_control) {
        return Err(EcsError::with_message("Ecs.0907", format!("tag {what} {text:?} has an invalid character")));
    }
    Ok(())
}

fn string<'a>(v: &'a Value, what: &str) -> Result<&'a str, EcsError> {
    v.as_str().ok_or_else(|| illegal(format!("{what} must be a string")))
}

fn pairs(s: &Server) -> Vec<Value> {
    s.tags
        .iter()
        .map(|t| {
            let (key, value) = tag_pair(t);
            json!({"key": key, "value": value})
        })
        .collect()
}

/// `POST /v1/{project_id}/servers/{server_id}/tags/action`: `create` or
/// `delete`; 204 without a body.
#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers/{server_id}/tags/action",
    tag = "ECS tags",
    summary = "Add or delete tags of a server in a batch (§5.9.3/4)",
    request_body(content = Object, description = "`action` `create` or `delete` and the tags.", example = json!({"action": "create", "tags": [{"key": "env", "value": "dev"}]})),
    responses(
        (status = 204, description = "Done."),
    ),
)]
pub async fn action(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
    EcsBody(body): EcsBody,
) -> Result<StatusCode, EcsError> {
    let body = json_body(&body)?;
    let action = body.get("action").and_then(Value::as_str).ok_or_else(|| illegal("action is required"))?;
    let tags = body.get("tags").and_then(Value::as_array).ok_or_else(|| illegal("tags is required"))?;
    if tags.is_empty() {
        return Err(illegal("tags cannot be empty"));
    }
    let mut keys = BTreeSet::new();
    let mut entries = Vec::new();
    for t in tags {
        let key = string(t.get("key").unwrap_or(&Value::Null), "tags.key")?;
        let value = match t.get("value") {
            None | Some(Value::Null) => None,
            Some(v) => Some(string(v, "tags.value")?),
        };
        if !keys.insert(key) {
            return Err(EcsError::with_message("Ecs.0908", format!("tag key {key} is given twice")));
        }
        entries.push((key, value));
    }
    match action {
        "create" => {
            if entries.len() > MAX_CREATE {
                return Err(EcsError::with_message("Ecs.0905", format!("at most {MAX_CREATE} tags at a time")));
            }
            let mut set = Vec::new();
            for (key, value) in entries {
                let value = value.ok_or_else(|| illegal("tags.value is required"))?;
                create_key(key)?;
                create_value(value)?;
                set.push((key.to_string(), value.to_string()));
            }
            state.core.server_tag_pairs_set(&call.ctx, &id, &set).await?;
        }
        "delete" => {
            let mut doomed = Vec::new();
            for (key, value) in entries {
                loose(key, "key", 1, 127)?;
                if let Some(v) = value {
                    loose(v, "value", 0, 255)?;
                }
                doomed.push((key.to_string(), value.map(String::from)));
            }
            state.core.server_tag_pairs_delete(&call.ctx, &id, &doomed).await?;
        }
        other => return Err(illegal(format!("action must be create or delete, not {other}"))),
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/{project_id}/servers/{server_id}/tags`.
#[utoipa::path(
    get,
    path = "/v1/{project_id}/cloudservers/{server_id}/tags",
    tag = "ECS tags",
    summary = "List a server's tags",
    responses(
        (status = 200, description = "`{\"tags\": [{\"key\", \"value\"}]}`", body = Object),
    ),
)]
pub async fn of_server(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
) -> Result<Json<Value>, EcsError> {
    let server = state.core.server_get(&call.ctx, &id).await?;
    Ok(Json(json!({"tags": pairs(&server)})))
}

async fn project_servers(state: &AppState, call: &EcsCall) -> Result<Vec<Server>, EcsError> {
    let q = ServerListQuery { project_id: call.ctx.project_id().map(String::from), ..Default::default() };
    Ok(state.core.server_list(&call.ctx, q).await?)
}

/// `GET /v1/{project_id}/servers/tags`: every key in the project's servers'
/// tags with its values.
#[utoipa::path(
    get,
    path = "/v1/{project_id}/cloudservers/tags",
    tag = "ECS tags",
    summary = "List the project's server tags (§5.9.5)",
    responses(
        (status = 200, description = "`{\"tags\": [{\"key\", \"values\": [\"…\"]}]}`", body = Object),
    ),
)]
pub async fn of_project(State(state): State<AppState>, call: EcsCall) -> Result<Json<Value>, EcsError> {
    let mut keys: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in project_servers(&state, &call).await? {
        for t in &s.tags {
            let (key, value) = tag_pair(t);
            keys.entry(key.to_string()).or_default().insert(value.to_string());
        }
    }
    let tags: Vec<Value> = keys.into_iter().map(|(key, values)| json!({"key": key, "values": values})).collect();
    Ok(Json(json!({"tags": tags})))
}

/// One `tags`/`not_tags` entry: a key and the values any of which matches
/// (none: any value).
struct TagFilter {
    key: String,
    values: Vec<String>,
}

impl TagFilter {
    fn matches(&self, s: &Server) -> bool {
        s.tags
            .iter()
            .map(|t| tag_pair(t))
            .any(|(k, v)| k == self.key && (self.values.is_empty() || self.values.iter().any(|x| x == v)))
    }
}

/// `tags` or `not_tags`: absent, or a non-empty list of `{key, values}`
/// (a plain string is a key with any value).
fn tag_filters(body: &Value, field: &str) -> Result<Vec<TagFilter>, EcsError> {
    let Some(list) = body.get(field).filter(|v| !v.is_null()) else { return Ok(Vec::new()) };
    let list = list.as_array().filter(|l| !l.is_empty()).ok_or_else(|| illegal(format!("{field} cannot be blank")))?;
    let mut out: Vec<TagFilter> = Vec::new();
    for t in list {
        let (key, values) = match t {
            Value::String(key) => (key.as_str(), Vec::new()),
            Value::Object(o) => {
                let key = string(o.get("key").unwrap_or(&Value::Null), &format!("{field}.key"))?;
                let values = match o.get("values") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(vs)) => {
                        vs.iter().map(|v| string(v, &format!("{field}.values"))).collect::<Result<Vec<_>, _>>()?
                    }
                    Some(_) => return Err(illegal(format!("{field}.values must be a list"))),
                };
                (key, values)
            }
            _ => return Err(illegal(format!("{field} entries must be objects"))),
        };
        loose(key, "key", 1, 127)?;
        for v in &values {
            loose(v, "value", 0, 255)?;
        }
        if out.iter().any(|f| f.key == key) {
            return Err(EcsError::with_message("Ecs.0908", format!("tag key {key} is given twice in {field}")));
        }
        if values.iter().collect::<BTreeSet<_>>().len() != values.len() {
            return Err(EcsError::with_message("Ecs.0908", format!("a value of tag key {key} is given twice")));
        }
        out.push(TagFilter { key: key.to_string(), values: values.into_iter().map(String::from).collect() });
    }
    Ok(out)
}

/// `limit` / `offset`: a non-negative number, as a string (or a number).
fn number(body: &Value, field: &str, default: u64) -> Result<u64, EcsError> {
    let bad = || illegal(format!("{field} must be a non-negative integer"));
    match body.get(field) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::String(s)) => s.trim().parse().map_err(|_| bad()),
        Some(v) => v.as_u64().ok_or_else(bad),
    }
}

/// `POST /v1/{project_id}/servers/resource_instances/action`: `filter`
/// (a page of matching servers with their tags) or `count`.
#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers/resource_instances/action",
    tag = "ECS tags",
    summary = "Query servers by tag (§5.9.2)",
    request_body(content = Object, description = "`action` is `filter` or `count`; `tags`, `matches`, `limit`, `offset`.", example = json!({"action": "filter", "tags": [{"key": "env", "values": ["dev"]}], "limit": "10", "offset": "0"})),
    responses(
        (status = 200, description = "`{\"resources\": [{\"resource_id\", \"resource_name\", \"tags\", \"resource_detail\"}], \"total_count\"}` (count: only `total_count`)", body = Object),
    ),
)]
pub async fn resource_instances(
    State(state): State<AppState>,
    call: EcsCall,
    EcsBody(body): EcsBody,
) -> Result<Json<Value>, EcsError> {
    let body = json_body(&body)?;
    let count_only = match body.get("action").and_then(Value::as_str) {
        Some("filter") => false,
        Some("count") => true,
        _ => return Err(illegal("action must be filter or count")),
    };
    let tags = tag_filters(&body, "tags")?;
    let not_tags = tag_filters(&body, "not_tags")?;
    let (limit, offset) = if count_only {
        (MAX_QUERY_LIMIT, 0)
    } else {
        let limit = number(&body, "limit", MAX_QUERY_LIMIT)?;
        if limit > MAX_QUERY_LIMIT {
            return Err(illegal(format!("limit must be at most {MAX_QUERY_LIMIT}")));
        }
        (limit, number(&body, "offset", 0)?)
    };
    let mut name_match = None;
    if let Some(matches) = body.get("matches").filter(|m| !m.is_null()) {
        let matches = matches.as_array().ok_or_else(|| illegal("matches must be a list"))?;
        for m in matches {
            let key = string(m.get("key").unwrap_or(&Value::Null), "matches.key")?;
            let value = string(m.get("value").unwrap_or(&Value::Null), "matches.value")?;
            if key != "resource_name" {
                return Err(illegal(format!("matches.key must be resource_name, not {key}")));
            }
            if name_match.is_some() {
                return Err(illegal("matches.key resource_name is given twice"));
            }
            if value.is_empty() || value.chars().count() > 255 {
                return Err(illegal("matches.value must be 1 to 255 characters"));
            }
            name_match = Some(value.to_string());
        }
    }
    let mut servers = project_servers(&state, &call).await?;
    servers.retain(|s| {
        tags.iter().all(|f| f.matches(s))
            && !not_tags.iter().any(|f| f.matches(s))
            && name_match.as_deref().is_none_or(|n| s.name.contains(n))
    });
    let total = servers.len();
    if count_only {
        return Ok(Json(json!({"total_count": total})));
    }
    let resources: Vec<Value> = servers
        .iter()
        .skip(offset as usize)
        .take(limit as usize)
        .map(|s| json!({"resource_id": s.id, "resource_detail": null, "tags": pairs(s), "resource_name": s.name}))
        .collect();
    Ok(Json(json!({"resources": resources, "total_count": total})))
}
