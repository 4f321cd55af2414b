//! What the compute hosts look like from the API: `os-availability-zone`
//! (detail for admins), `os-hypervisors` and `os-services` (admins). The
//! hypervisor routes Nova retired keep their microversions: `statistics`
//! and `{id}/uptime` until 2.87, `{pattern}/search` and
//! `{pattern}/servers` until 2.52 (then the list's filters).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use ecs_core::{Kind, policy};
use ecs_types::server::{ComputeHost, Server};
use serde_json::{Map, Value, json};

use super::validate::{ListQuery, ListRules, Paging, QueryParams};
use super::{NovaCall, NovaError};
use crate::AppState;

type Result<T> = std::result::Result<T, NovaError>;

pub(super) fn time(t: ecs_types::Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// Whether the simulator has lost the host (it answers nothing at once,
/// before its heartbeat lapses).
pub(super) fn sim_lost(state: &AppState, h: &ComputeHost) -> bool {
    state.sim.as_ref().is_some_and(|s| s.hosts_down().contains(&h.name))
}

/// Whether the host's service is up (beating, not forced down) and answers.
fn up(state: &AppState, h: &ComputeHost) -> bool {
    state.core.host_is_up(h) && !sim_lost(state, h)
}

pub async fn zones(State(state): State<AppState>, call: NovaCall) -> Result<Json<Value>> {
    let _ = &call;
    // A zone is available while one of its hosts' compute services is
    // enabled (Nova's available and not-available zones).
    let zones: Vec<Value> = state
        .core
        .availability_zones()
        .await?
        .iter()
        .map(|(z, available)| json!({"zoneName": z, "zoneState": {"available": available}, "hosts": null}))
        .collect();
    Ok(Json(json!({"availabilityZoneInfo": zones})))
}

pub async fn zones_detail(State(state): State<AppState>, call: NovaCall) -> Result<Json<Value>> {
    policy::require_admin(&call.ctx, "os_compute_api:os-availability-zone:detail")?;
    let hosts = state.core.compute_hosts().await?;
    let mut by_zone: Map<String, Value> = Map::new();
    for h in &hosts {
        let entry = by_zone.entry(h.availability_zone.clone()).or_insert_with(|| json!({}));
        entry[&h.name] = json!({"nova-compute": {"available": up(&state, h), "active": h.enabled, "updated_at": time(h.heartbeat_at)}});
    }
    let available = |z: &str| hosts.iter().any(|h| h.availability_zone == z && h.enabled);
    let zones: Vec<Value> = by_zone
        .into_iter()
        .map(|(z, members)| json!({"zoneName": z, "zoneState": {"available": available(&z)}, "hosts": members}))
        .collect();
    Ok(Json(json!({"availabilityZoneInfo": zones})))
}

/// The id of a host's hypervisor and service: its UUID from 2.53, before
/// that an integer as Nova's database ids are.
fn host_id(call: &NovaCall, h: &ComputeHost) -> Value {
    if call.version.at_least(53) { json!(h.id) } else { json!(h.number) }
}

/// What the host's CPU looks like (Nova's `cpu_info`): a JSON object
/// from 2.28, the same object as a JSON string before. The model names the
/// driver and, for QEMU, the accelerator (`qemu-kvm`, `qemu-tcg`).
fn cpu_info(call: &NovaCall, h: &ComputeHost) -> Value {
    let model = if h.driver == "sim" { "ecsd-sim".to_string() } else { h.driver.clone() };
    let info = json!({
        "arch": "x86_64", "model": model, "vendor": "ecsd", "features": [],
        "topology": {"cells": 1, "sockets": 1, "cores": h.vcpus, "threads": 1},
    });
    if call.version.at_least(28) { info } else { json!(info.to_string()) }
}

fn hypervisor(call: &NovaCall, state: &AppState, h: &ComputeHost, detail: bool) -> Value {
    let id = host_id(call, h);
    let mut v = json!({
        "id": id,
        "hypervisor_hostname": h.name,
        "state": if up(state, h) { "up" } else { "down" },
        "status": if h.enabled { "enabled" } else { "disabled" },
    });
    if detail {
        // Nova's libvirt driver reports QEMU for KVM and TCG alike.
        v["hypervisor_type"] = json!(if h.driver.starts_with("qemu") { "QEMU" } else { h.driver.as_str() });
        v["hypervisor_version"] = json!(1);
        v["host_ip"] = json!("127.0.0.1");
        v["service"] = json!({"host": h.name, "id": id, "disabled_reason": h.disabled_reason});
        if !call.version.at_least(88) {
            v["vcpus"] = json!(h.vcpus);
            v["memory_mb"] = json!(h.ram_mb);
            v["local_gb"] = json!(h.disk_gb);
            v["vcpus_used"] = json!(h.used_vcpus);
            v["memory_mb_used"] = json!(h.used_ram_mb);
            v["local_gb_used"] = json!(h.used_disk_gb);
            v["running_vms"] = json!(h.running_vms);
            v["free_ram_mb"] = json!(h.ram_mb - h.used_ram_mb);
            v["free_disk_gb"] = json!(h.disk_gb - h.used_disk_gb);
            v["current_workload"] = json!(0);
            v["disk_available_least"] = json!(h.disk_gb - h.used_disk_gb);
            v["cpu_info"] = cpu_info(call, h);
        } else {
            // From 2.88 the detail carries the uptime; a host that does not
            // answer has none.
            v["uptime"] = state.core.host_uptime(&call.ctx, h, up(state, h)).map_or(Value::Null, Value::from);
        }
    }
    v
}

/// A hypervisor with the servers on it (`with_servers`, the pre-2.53
/// `/servers` route): Nova leaves the key out when there are none, until
/// 2.75 where a request for them always gets the list.
fn with_servers(call: &NovaCall, mut v: Value, servers: &[Server]) -> Value {
    if !servers.is_empty() || call.version.at_least(75) {
        v["servers"] = servers.iter().map(|s| json!({"name": s.name, "uuid": s.id})).collect();
    }
    v
}

async fn hosts(state: &AppState, call: &NovaCall) -> Result<Vec<ComputeHost>> {
    policy::require_admin(&call.ctx, "os_compute_api:os-hypervisors:list")?;
    Ok(state.core.compute_hosts().await?)
}

/// Nova's hypervisor list queries: none before 2.33, then strict with
/// `limit`/`marker` (2.53 adds the filters).
fn hypervisor_rules(call: &NovaCall) -> ListRules {
    let filters: &'static [&'static str] =
        if call.version.at_least(53) { &["hypervisor_hostname_pattern", "with_servers"] } else { &[] };
    ListRules { paging: Paging::Marker { from: 33 }, filters, strict_from: Some(33) }
}

/// `with_servers` from 2.53 (a strict boolean), false before.
fn wants_servers(call: &NovaCall, flag: Option<&str>) -> Result<bool> {
    match flag {
        Some(flag) if call.version.at_least(53) => {
            Ok(super::validate::boolean(&Value::String(flag.into()), "with_servers")?)
        }
        _ => Ok(false),
    }
}

/// The hypervisors of a list request, each with its servers when asked.
async fn hypervisor_page(state: &AppState, call: &NovaCall, raw: Option<&str>, detail: bool) -> Result<Vec<Value>> {
    let query = ListQuery::parse(raw, call.version, &hypervisor_rules(call))?;
    let q = &query.params;
    let servers = wants_servers(call, q.get("with_servers"))?;
    let list = match q.get("hypervisor_hostname_pattern").filter(|_| call.version.at_least(53)) {
        Some(pattern) => {
            if q.get("limit").is_some() || q.get("marker").is_some() {
                return Err(NovaError::bad_request(
                    "Paging over hypervisors with the hypervisor_hostname_pattern query parameter is not supported.",
                ));
            }
            state.core.hosts_matching(&call.ctx, "os_compute_api:os-hypervisors:list", pattern).await?
        }
        None => {
            let list = hosts(state, call).await?;
            query.page(list, |h| match host_id(call, h) {
                Value::String(id) => id,
                number => number.to_string(),
            })?
        }
    };
    let mut out = Vec::with_capacity(list.len());
    for h in &list {
        let v = hypervisor(call, state, h, detail);
        out.push(if servers { with_servers(call, v, &state.core.host_servers(&call.ctx, &h.name).await?) } else { v });
    }
    Ok(out)
}

pub async fn hypervisors(
    State(state): State<AppState>,
    call: NovaCall,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    Ok(Json(json!({"hypervisors": hypervisor_page(&state, &call, raw.as_deref(), false).await?})))
}

pub async fn hypervisors_detail(
    State(state): State<AppState>,
    call: NovaCall,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    Ok(Json(json!({"hypervisors": hypervisor_page(&state, &call, raw.as_deref(), true).await?})))
}

/// The hypervisor a path names: by UUID from 2.53 (anything else is a
/// 400), by integer id before (anything else is not found).
async fn hypervisor_by_id(state: &AppState, call: &NovaCall, id: &str) -> Result<ComputeHost> {
    let list = hosts(state, call).await?;
    let not_found = || NovaError::from(ecs_core::Error::not_found(Kind::Hypervisor, id));
    if call.version.at_least(53) {
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(NovaError::bad_request(format!("Invalid uuid {id}")));
        }
        list.into_iter().find(|h| h.id.eq_ignore_ascii_case(id)).ok_or_else(not_found)
    } else {
        let number: i64 = id.trim().parse().map_err(|_| not_found())?;
        list.into_iter().find(|h| h.number == number).ok_or_else(not_found)
    }
}

pub async fn hypervisor_show(
    State(state): State<AppState>,
    call: NovaCall,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    let servers = if call.version.at_least(53) {
        let query = QueryParams::parse(raw.as_deref())?;
        query.only(&["with_servers"])?;
        wants_servers(&call, query.get("with_servers"))?
    } else {
        false
    };
    let h = hypervisor_by_id(&state, &call, &id).await?;
    let mut v = hypervisor(&call, &state, &h, true);
    if servers {
        v = with_servers(&call, v, &state.core.host_servers(&call.ctx, &h.name).await?);
    }
    Ok(Json(json!({"hypervisor": v})))
}

/// `GET /os-hypervisors/{id}/uptime` (until 2.87, when the detail took it).
pub async fn hypervisor_uptime(
    State(state): State<AppState>,
    call: NovaCall,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    served_until(&call, 87)?;
    policy::require_admin(&call.ctx, "os_compute_api:os-hypervisors:uptime")?;
    let h = hypervisor_by_id(&state, &call, &id).await?;
    let mut v = hypervisor(&call, &state, &h, false);
    v["uptime"] = json!(state.core.host_uptime(&call.ctx, &h, up(&state, &h))?);
    Ok(Json(json!({"hypervisor": v})))
}

/// `GET /os-hypervisors/statistics` (until 2.87).
pub async fn hypervisor_statistics(State(state): State<AppState>, call: NovaCall) -> Result<Json<Value>> {
    served_until(&call, 87)?;
    let s = state.core.host_statistics(&call.ctx).await?;
    Ok(Json(json!({"hypervisor_statistics": {
        "count": s.count, "vcpus": s.vcpus, "vcpus_used": s.vcpus_used,
        "memory_mb": s.memory_mb, "memory_mb_used": s.memory_mb_used, "free_ram_mb": s.free_ram_mb,
        "local_gb": s.local_gb, "local_gb_used": s.local_gb_used, "free_disk_gb": s.free_disk_gb,
        "disk_available_least": s.disk_available_least, "running_vms": s.running_vms,
        "current_workload": s.current_workload,
    }})))
}

/// `GET /os-hypervisors/{pattern}/search` (until 2.52, then the
/// `hypervisor_hostname_pattern` filter).
pub async fn hypervisor_search(
    State(state): State<AppState>,
    call: NovaCall,
    Path(pattern): Path<String>,
) -> Result<Json<Value>> {
    served_until(&call, 52)?;
    let list = state.core.hosts_matching(&call.ctx, "os_compute_api:os-hypervisors:search", &pattern).await?;
    Ok(Json(json!({"hypervisors": list.iter().map(|h| hypervisor(&call, &state, h, false)).collect::<Vec<_>>()})))
}

/// `GET /os-hypervisors/{pattern}/servers` (until 2.52, then `with_servers`).
pub async fn hypervisor_servers(
    State(state): State<AppState>,
    call: NovaCall,
    Path(pattern): Path<String>,
) -> Result<Json<Value>> {
    served_until(&call, 52)?;
    let list = state.core.hosts_matching(&call.ctx, "os_compute_api:os-hypervisors:servers", &pattern).await?;
    let mut out = Vec::with_capacity(list.len());
    for h in &list {
        let servers = state.core.host_servers(&call.ctx, &h.name).await?;
        out.push(with_servers(&call, hypervisor(&call, &state, h, false), &servers));
    }
    Ok(Json(json!({"hypervisors": out})))
}

/// The routes Nova retired at a microversion answer 404 after it.
fn served_until(call: &NovaCall, last_minor: u16) -> Result<()> {
    if call.version.at_least(last_minor + 1) { Err(NovaError::not_found()) } else { Ok(()) }
}
