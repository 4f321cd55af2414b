//! `/os-aggregates` (admin): host aggregates, their hosts and metadata;
//! `uuid` from 2.41. Nova answers 200 to every call, delete included.

use axum::Json;
use axum::extract::{Path, State};
use ecs_core::policy;
use ecs_types::Aggregate;
use serde_json::{Map, Value, json};

use super::validate::{self, invalid, repr};
use super::{Flavour, NovaBody, NovaCall, NovaError};
use crate::AppState;

type Result<T> = std::result::Result<T, NovaError>;

fn time(t: ecs_types::Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

fn view(call: &NovaCall, a: &Aggregate) -> Value {
    let mut v = json!({
        "id": a.id,
        "name": a.name,
        "availability_zone": a.availability_zone(),
        "hosts": a.hosts,
        "metadata": a.metadata,
        "created_at": time(a.created_at),
        "updated_at": a.updated_at.map(time),
        "deleted": false,
        "deleted_at": null,
    });
    if call.version.at_least(41) {
        v["uuid"] = json!(a.uuid);
    }
    v
}

/// The path's id: Nova's `validate_integer`, after the policy check.
fn id_of(call: &NovaCall, raw: &str, rule: &str) -> Result<i64> {
    match raw.parse::<i64>() {
        Ok(id) => Ok(id),
        Err(_) => {
            policy::require_admin(&call.ctx, rule)?;
            Err(NovaError::bad_request("Invalid input received: id must be an integer"))
        }
    }
}

/// Nova's `az_name`: 1–255 characters, no `:`, no leading or trailing
/// whitespace.
fn zone<'a>(v: &'a Value, path: &str) -> Result<&'a str> {
    let s = validate::string(v, path, 1, 255)?;
    if s.contains(':') || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return Err(invalid(path, v, format!("{} is not a 'az_name'", repr(v))));
    }
    Ok(s)
}

/// A name: the legacy v2 API keeps leading and trailing spaces.
fn name<'a>(call: &NovaCall, v: &'a Value, path: &str) -> Result<&'a str> {
    match call.flavour {
        Flavour::Legacy => validate::name_loose(v, path),
        Flavour::V21 => validate::name(v, path),
    }
}

pub async fn index(State(state): State<AppState>, call: NovaCall) -> Result<Json<Value>> {
    let aggs = state.core.aggregates(&call.ctx).await?;
    Ok(Json(json!({"aggregates": aggs.iter().map(|a| view(&call, a)).collect::<Vec<_>>()})))
}

pub async fn show(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<Json<Value>> {
    let id = id_of(&call, &id, "os_compute_api:os-aggregates:show")?;
    Ok(Json(json!({"aggregate": view(&call, &state.core.aggregate(&call.ctx, id).await?)})))
}

pub async fn create(State(state): State<AppState>, call: NovaCall, NovaBody(body): NovaBody) -> Result<Json<Value>> {
    validate::object(&body, "", &["aggregate"], &["aggregate"])?;
    let a = validate::object(&body["aggregate"], "aggregate", &["name", "availability_zone"], &["name"])?;
    let name = name(&call, &a["name"], "name")?;
    let az = match a.get("availability_zone") {
        None | Some(Value::Null) => None,
        Some(z) => Some(zone(z, "availability_zone")?),
    };
    let agg = state.core.aggregate_create(&call.ctx, name, az).await?;
    // Nova's create answers without hosts and metadata.
    let mut v = view(&call, &agg);
    if let Some(o) = v.as_object_mut() {
        o.remove("hosts");
        o.remove("metadata");
    }
    Ok(Json(json!({"aggregate": v})))
}

pub async fn update(
    State(state): State<AppState>,
    call: NovaCall,
    Path(id): Path<String>,
    NovaBody(body): NovaBody,
) -> Result<Json<Value>> {
    let id = id_of(&call, &id, "os_compute_api:os-aggregates:update")?;
    validate::object(&body, "", &["aggregate"], &["aggregate"])?;
    let a = validate::object(&body["aggregate"], "aggregate", &["name", "availability_zone"], &[])?;
    if a.is_empty() {
        return Err(invalid("aggregate", &body["aggregate"], "{} is not valid under any of the given schemas"));
    }
    let name = a.get("name").map(|n| name(&call, n, "name")).transpose()?;
    let az = match a.get("availability_zone") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(z) => Some(Some(zone(z, "availability_zone")?)),
    };
    let agg = state.core.aggregate_update(&call.ctx, id, name, az).await?;
    Ok(Json(json!({"aggregate": view(&call, &agg)})))
}

pub async fn delete(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<()> {
    let id = id_of(&call, &id, "os_compute_api:os-aggregates:delete")?;
    state.core.aggregate_delete(&call.ctx, id).await?;
    Ok(())
}

/// Nova's `fqdn`-ish host name of add_host/remove_host.
fn host<'a>(v: &'a Value, path: &str) -> Result<&'a str> {
    let s = validate::string(v, path, 1, 255)?;
    validate::pattern(v, path, |c| c.is_ascii_alphanumeric() || "-._".contains(c), "^[a-zA-Z0-9-._]*$")?;
    Ok(s)
}

/// set_metadata's map: keys `^[a-zA-Z0-9-_:. ]{1,255}$`, values strings of
/// at most 255 characters or null (remove the key).
fn metadata(v: &Value) -> Result<Vec<(String, Option<String>)>> {
    let map: &Map<String, Value> =
        v.as_object().ok_or_else(|| invalid("metadata", v, format!("{} is not of type 'object'", repr(v))))?;
    let key_ok = |k: &str| {
        (1..=255).contains(&k.chars().count()) && k.chars().all(|c| c.is_ascii_alphanumeric() || "-_:. ".contains(c))
    };
    let mut changes = Vec::with_capacity(map.len());
    for (k, value) in map {
        if !key_ok(k) {
            return Err(invalid(
                "metadata",
                v,
                format!("Additional properties are not allowed ('{k}' was unexpected)"),
            ));
        }
        let path = format!("metadata/{k}");
        match value {
            Value::Null => changes.push((k.clone(), None)),
            Value::String(_) => changes.push((k.clone(), Some(validate::string(value, &path, 0, 255)?.to_string()))),
            other => {
                return Err(invalid(&path, other, format!("{} is not of type 'string', 'null'", repr(other))));
            }
        }
    }
    Ok(changes)
}

pub async fn action(
    State(state): State<AppState>,
    call: NovaCall,
    Path(id): Path<String>,
    NovaBody(body): NovaBody,
) -> Result<Json<Value>> {
    let map = body.as_object().ok_or_else(|| NovaError::bad_request("Malformed request body"))?;
    let Some((action, args)) = map.iter().next() else {
        return Err(NovaError::bad_request("Malformed request body"));
    };
    let rule = format!("os_compute_api:os-aggregates:{action}");
    let id = id_of(&call, &id, &rule)?;
    let agg = match action.as_str() {
        "add_host" | "remove_host" => {
            validate::object(&body, "", &[action], &[action])?;
            let h = validate::object(args, action, &["host"], &["host"])?;
            let host = host(&h["host"], "host")?;
            if action == "add_host" {
                state.core.aggregate_add_host(&call.ctx, id, host).await?
            } else {
                state.core.aggregate_remove_host(&call.ctx, id, host).await?
            }
        }
        "set_metadata" => {
            validate::object(&body, "", &["set_metadata"], &["set_metadata"])?;
            let m = validate::object(args, "set_metadata", &["metadata"], &["metadata"])?;
            state.core.aggregate_set_metadata(&call.ctx, id, metadata(&m["metadata"])?).await?
        }
        other => return Err(NovaError::bad_request(format!("There is no such action: {other}"))),
    };
    Ok(Json(json!({"aggregate": view(&call, &agg)})))
}
