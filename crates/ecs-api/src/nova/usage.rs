//! Nova's `os-simple-tenant-usage`: what each project's servers used in a
//! period (`start`, `end`), in hours of vCPUs, RAM and disk; 2.40 pages
//! through the servers with `limit` and `marker`.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use chrono::NaiveDateTime;
use ecs_types::Timestamp;
use ecs_types::server::Server;
use serde_json::{Map, Value, json};

use super::validate::QueryParams;
use super::{NovaCall, NovaError};
use crate::AppState;

type Result<T> = std::result::Result<T, NovaError>;

/// A time as Python's `isoformat` writes a naive one.
fn iso(t: Timestamp) -> String {
    if t.timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
    }
}

/// `start`/`end` in the three forms Nova takes; absent: now.
fn when(q: &QueryParams, name: &str) -> Result<Timestamp> {
    let Some(raw) = q.get(name).filter(|v| !v.is_empty()) else { return Ok(ecs_types::clock::now()) };
    for fmt in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, fmt) {
            return Ok(t.and_utc());
        }
    }
    Err(NovaError::bad_request("Invalid datetime string: Datetime is in invalid format"))
}

struct Window {
    start: Timestamp,
    stop: Timestamp,
    detailed: bool,
    limit: Option<usize>,
    marker: Option<String>,
    paged: bool,
}

fn window(call: &NovaCall, q: &QueryParams) -> Result<Window> {
    let start = when(q, "start")?;
    let mut stop = when(q, "end")?;
    if start >= stop {
        return Err(NovaError::bad_request("Invalid start time. The start time cannot occur after the end time."));
    }
    stop = stop.min(ecs_types::clock::now());
    let paged = call.version.at_least(40);
    let (limit, marker) = if paged {
        (q.limit()?.map(|l| l.min(1000) as usize), q.get("marker").map(String::from))
    } else {
        (None, None)
    };
    Ok(Window { start, stop, detailed: q.get("detailed") == Some("1"), limit: limit.or(Some(1000)), marker, paged })
}

fn server_usage(s: &Server, w: &Window) -> Value {
    let launched = s.launched_at.unwrap_or(s.created_at);
    let from = launched.max(w.start);
    let to = s.terminated_at.map_or(w.stop, |t| t.min(w.stop));
    let hours = ((to - from).num_milliseconds().max(0) as f64) / 3_600_000.0;
    let ended = s.terminated_at;
    let uptime = match ended {
        Some(e) => (e - launched).num_seconds(),
        None => (ecs_types::clock::now() - launched).num_seconds(),
    };
    json!({
        "instance_id": s.id,
        "name": s.name,
        "hours": hours,
        "memory_mb": s.flavor.ram_mb,
        "local_gb": s.flavor.disk_gb + s.flavor.ephemeral_gb,
        "vcpus": s.flavor.vcpus,
        "tenant_id": s.project_id,
        "flavor": s.flavor.name,
        "started_at": iso(launched),
        "ended_at": ended.map(iso),
        "state": if ended.is_some() { "terminated" } else { s.vm_state.as_str() },
        "uptime": uptime,
    })
}

/// The usages of `servers`, one summary per project in order of first appearance.
fn summaries(servers: &[Server], w: &Window, detailed: bool) -> Vec<Value> {
    let mut order: Vec<String> = Vec::new();
    let mut by_project: Map<String, Value> = Map::new();
    for s in servers {
        let u = server_usage(s, w);
        let hours = u["hours"].as_f64().unwrap_or(0.0);
        let entry = by_project.entry(s.project_id.clone()).or_insert_with(|| {
            order.push(s.project_id.clone());
            let mut summary = json!({
                "tenant_id": s.project_id,
                "total_local_gb_usage": 0.0,
                "total_vcpus_usage": 0.0,
                "total_memory_mb_usage": 0.0,
                "total_hours": 0.0,
                "start": iso(w.start),
                "stop": iso(w.stop),
            });
            if detailed {
                summary["server_usages"] = json!([]);
            }
            summary
        });
        let add = |e: &mut Value, key: &str, by: f64| {
            e[key] = json!(e[key].as_f64().unwrap_or(0.0) + by);
        };
        add(entry, "total_local_gb_usage", (s.flavor.disk_gb + s.flavor.ephemeral_gb) as f64 * hours);
        add(entry, "total_vcpus_usage", s.flavor.vcpus as f64 * hours);
        add(entry, "total_memory_mb_usage", s.flavor.ram_mb as f64 * hours);
        add(entry, "total_hours", hours);
        if detailed && let Some(list) = entry["server_usages"].as_array_mut() {
            list.push(u);
        }
    }
    order.into_iter().filter_map(|p| by_project.remove(&p)).collect()
}

/// `GET /os-simple-tenant-usage` (admin): every project's usage.
pub async fn index(State(state): State<AppState>, call: NovaCall, RawQuery(raw): RawQuery) -> Result<Json<Value>> {
    let q = QueryParams::parse(raw.as_deref())?;
    let w = window(&call, &q)?;
    let servers = state.core.usage_servers(&call.ctx, None, w.start, w.stop, w.marker.as_deref(), w.limit).await?;
    let mut body = json!({"tenant_usages": summaries(&servers, &w, w.detailed)});
    if w.paged
        && let (Some(limit), Some(last)) = (w.limit, servers.last())
        && servers.len() == limit
    {
        body["tenant_usages_links"] = call.links.next("os-simple-tenant-usage", &q, &last.id);
    }
    Ok(Json(body))
}

/// `GET /os-simple-tenant-usage/{tenant_id}`: one project's usage, per server.
pub async fn show(
    State(state): State<AppState>,
    call: NovaCall,
    Path(tenant): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    let q = QueryParams::parse(raw.as_deref())?;
    let w = window(&call, &q)?;
    let servers =
        state.core.usage_servers(&call.ctx, Some(&tenant), w.start, w.stop, w.marker.as_deref(), w.limit).await?;
    let usage = summaries(&servers, &w, true).into_iter().next().unwrap_or_else(|| json!({}));
    let mut body = json!({"tenant_usage": usage});
    if w.paged
        && let (Some(limit), Some(last)) = (w.limit, servers.last())
        && servers.len() == limit
    {
        body["tenant_usage_links"] = call.links.next(&format!("os-simple-tenant-usage/{tenant}"), &q, &last.id);
    }
    Ok(Json(body))
}
