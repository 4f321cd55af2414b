//! `os-hosts` (until 2.42, when Nova moved it to os-services and
//! os-hypervisors): the compute hosts by name, what each holds, enabling
//! them; maintenance mode and power actions answer 501 as on a libvirt
//! cloud.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use ecs_core::host::HostPowerAction;
use serde_json::{Value, json};

use super::validate::{QueryParams, invalid, object, one_of};
use super::{NovaBody, NovaCall, NovaError};
use crate::AppState;

type Result<T> = std::result::Result<T, NovaError>;

/// Nova serves os-hosts up to 2.42 and 404s it from 2.43.
fn served(call: &NovaCall) -> Result<()> {
    if call.version.at_least(43) { Err(NovaError::not_found()) } else { Ok(()) }
}

/// `GET /os-hosts[?zone=]`: the enabled compute services' hosts, a blank
/// zone meaning every zone.
pub async fn index(State(state): State<AppState>, call: NovaCall, RawQuery(raw): RawQuery) -> Result<Json<Value>> {
    served(&call)?;
    let query = QueryParams::parse(raw.as_deref())?;
    let zone = query.get("zone").filter(|z| !z.is_empty());
    let hosts = state.core.host_list_enabled(&call.ctx, zone).await?;
    let hosts: Vec<Value> =
        hosts.iter().map(|h| json!({"host_name": h.name, "service": "compute", "zone": h.availability_zone})).collect();
    Ok(Json(json!({"hosts": hosts})))
}

fn resource(host: &str, project: &str, cpu: i64, memory_mb: i64, disk_gb: i64) -> Value {
    json!({"resource": {"host": host, "project": project, "cpu": cpu, "memory_mb": memory_mb, "disk_gb": disk_gb}})
}

/// `GET /os-hosts/{name}`: the host's capacity, its claims now, what its
/// servers' flavors add up to, and that per project.
pub async fn show(State(state): State<AppState>, call: NovaCall, Path(name): Path<String>) -> Result<Json<Value>> {
    served(&call)?;
    let r = state.core.host_resources(&call.ctx, &name).await?;
    let h = &r.host;
    let mut rows = vec![
        resource(&name, "(total)", h.vcpus, h.ram_mb, h.disk_gb),
        resource(&name, "(used_now)", h.used_vcpus, h.used_ram_mb, h.used_disk_gb),
        resource(&name, "(used_max)", r.used_max.vcpus, r.used_max.ram_mb, r.used_max.disk_gb),
    ];
    for (project, u) in &r.by_project {
        rows.push(resource(&name, project, u.vcpus, u.ram_mb, u.disk_gb));
    }
    Ok(Json(json!({"host": rows})))
}

const SWITCH: &[&str] = &["enable", "disable", "Enable", "Disable", "ENABLE", "DISABLE"];

/// `PUT /os-hosts/{name}` with `status` and/or `maintenance_mode`.
pub async fn update(
    State(state): State<AppState>,
    call: NovaCall,
    Path(name): Path<String>,
    NovaBody(body): NovaBody,
) -> Result<Json<Value>> {
    served(&call)?;
    let map = object(&body, "", &["status", "maintenance_mode"], &[])?;
    let switch = |key: &str| -> Result<Option<bool>> {
        map.get(key).map(|v| Ok(one_of(v, key, SWITCH)?.eq_ignore_ascii_case("enable"))).transpose()
    };
    let (status, maintenance) = (switch("status")?, switch("maintenance_mode")?);
    if status.is_none() && maintenance.is_none() {
        return Err(invalid("", &body, format!("{body} is not valid under any of the given schemas")));
    }
    let mut result = json!({"host": name});
    if let Some(enabled) = status {
        result["status"] = json!(state.core.host_set_enabled(&call.ctx, &name, enabled).await?);
    }
    if let Some(on) = maintenance {
        result["maintenance_mode"] = json!(state.core.host_maintenance(&call.ctx, &name, on).await?);
    }
    Ok(Json(result))
}

async fn power(state: AppState, call: NovaCall, name: String, action: HostPowerAction) -> Result<Json<Value>> {
    served(&call)?;
    let outcome = state.core.host_power(&call.ctx, &name, action).await?;
    Ok(Json(json!({"host": name, "power_action": outcome})))
}

pub async fn startup(State(state): State<AppState>, call: NovaCall, Path(name): Path<String>) -> Result<Json<Value>> {
    power(state, call, name, HostPowerAction::Startup).await
}

pub async fn shutdown(State(state): State<AppState>, call: NovaCall, Path(name): Path<String>) -> Result<Json<Value>> {
    power(state, call, name, HostPowerAction::Shutdown).await
}

pub async fn reboot(State(state): State<AppState>, call: NovaCall, Path(name): Path<String>) -> Result<Json<Value>> {
    power(state, call, name, HostPowerAction::Reboot).await
}
