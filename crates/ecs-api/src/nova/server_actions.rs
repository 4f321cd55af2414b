//! Nova's server actions of issue 18 (shelve, shelveOffload, unshelve,
//! rescue, unrescue, createBackup, restore, trigger_crash_dump) and the
//! server diagnostics and topology views.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ecs_core::compute::actions::{BackupRequest, RescueRequest, UnshelveRequest};
use serde_json::{Value, json};

use super::lifecycle::accepted;
use super::servers::metadata_map;
use super::validate::{self, invalid, repr};
use super::{NovaCall, NovaError};
use crate::AppState;

type Result<T> = std::result::Result<T, NovaError>;

/// The actions of this module, called by the `/servers/{id}/action`
/// dispatcher for any action the others do not handle.
pub(super) async fn action(
    state: &AppState,
    call: &NovaCall,
    request_id: &str,
    id: &str,
    name: &str,
    args: &Value,
) -> Result<Response> {
    let core = &state.core;
    let ctx = &call.ctx;
    let v = call.version;
    match name {
        // Nova's schemas take any value for these.
        "shelve" => {
            core.server_shelve(ctx, id, request_id).await?;
            accepted()
        }
        "shelveOffload" => {
            core.server_shelve_offload(ctx, id, request_id).await?;
            accepted()
        }
        "unshelve" => {
            let req = unshelve_request(v, args)?;
            core.server_unshelve(ctx, id, req, request_id).await?;
            accepted()
        }
        "rescue" => {
            let mut req = RescueRequest { allow_volume_backed: v.at_least(87), ..Default::default() };
            if !args.is_null() {
                let f = validate::object(args, "rescue", &["adminPass", "rescue_image_ref"], &[])?;
                if let Some(p) = f.get("adminPass") {
                    req.admin_pass = Some(validate::string(p, "rescue/adminPass", 0, 255)?.to_string());
                }
                if let Some(r) = f.get("rescue_image_ref") {
                    req.rescue_image_ref = Some(validate::uuid(r, "rescue/rescue_image_ref")?.to_string());
                }
            }
            let admin_pass = core.server_rescue(ctx, id, req, request_id).await?;
            Ok(Json(json!({"adminPass": admin_pass})).into_response())
        }
        "unrescue" => {
            core.server_unrescue(ctx, id, request_id).await?;
            accepted()
        }
        "createBackup" => {
            let f = validate::object(
                args,
                "createBackup",
                &["name", "backup_type", "rotation", "metadata"],
                &["name", "backup_type", "rotation"],
            )?;
            let backup_name = validate::name(&f["name"], "createBackup/name")?.to_string();
            let backup_type = match &f["backup_type"] {
                Value::String(s) => s.clone(),
                other => {
                    return Err(invalid(
                        "createBackup/backup_type",
                        other,
                        format!("{} is not of type 'string'", repr(other)),
                    ));
                }
            };
            let rotation = validate::integer(&f["rotation"], "createBackup/rotation", 0)? as u64;
            let metadata = match f.get("metadata") {
                Some(m) => metadata_map(m, "createBackup/metadata")?,
                None => Default::default(),
            };
            let req = BackupRequest { name: backup_name, backup_type, rotation, metadata };
            let image_id = core.server_backup(ctx, id, req, request_id).await?;
            if v.at_least(45) {
                return Ok((StatusCode::ACCEPTED, Json(json!({"image_id": image_id}))).into_response());
            }
            let location = call.links.resource("images", &image_id)[0]["href"].as_str().unwrap_or_default().to_string();
            Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)]).into_response())
        }
        "restore" => {
            core.server_restore(ctx, id, request_id).await?;
            accepted()
        }
        // 2.17; an action absent at the version is 404, as in Nova.
        "trigger_crash_dump" if v.at_least(17) => {
            if !args.is_null() {
                return Err(invalid("trigger_crash_dump", args, format!("{} is not of type 'null'", repr(args))));
            }
            core.server_trigger_crash_dump(ctx, id, request_id).await?;
            accepted()
        }
        "trigger_crash_dump" => Err(NovaError::not_found()),
        other => Err(NovaError::bad_request(format!("There is no such action: {other}"))),
    }
}

/// The unshelve body as each microversion takes it: anything before 2.77;
/// null or `{"availability_zone": name}` to 2.90; from 2.91 null or an
/// object of `availability_zone` (a string or null) and `host`.
fn unshelve_request(v: super::ApiVersion, args: &Value) -> Result<UnshelveRequest> {
    let mut req = UnshelveRequest::default();
    if !v.at_least(77) || args.is_null() {
        return Ok(req);
    }
    if !v.at_least(91) {
        let f = validate::object(args, "unshelve", &["availability_zone"], &["availability_zone"])?;
        let zone = validate::name(&f["availability_zone"], "unshelve/availability_zone")?;
        req.availability_zone = Some(Some(zone.to_string()));
        return Ok(req);
    }
    let f = validate::object(args, "unshelve", &["availability_zone", "host"], &[])?;
    match f.get("availability_zone") {
        None => {}
        Some(Value::Null) => req.availability_zone = Some(None),
        Some(Value::String(s)) => req.availability_zone = Some(Some(s.clone())),
        Some(other) => {
            return Err(invalid(
                "unshelve/availability_zone",
                other,
                format!("{} is not valid under any of the given schemas", repr(other)),
            ));
        }
    }
    if let Some(h) = f.get("host") {
        let host =
            h.as_str().ok_or_else(|| invalid("unshelve/host", h, format!("{} is not of type 'string'", repr(h))))?;
        req.host = Some(host.to_string());
    }
    Ok(req)
}

/// `GET /servers/{id}/diagnostics` (admin): from 2.48 Nova's standard
/// shape; before it, the driver's own (libvirt's flat keys).
pub async fn diagnostics(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<Json<Value>> {
    let d = state.core.server_diagnostics(&call.ctx, &id).await?;
    let state_name = match d.power_state {
        ecs_types::server::PowerState::Running => "running",
        ecs_types::server::PowerState::Paused => "paused",
        ecs_types::server::PowerState::Shutdown => "shutdown",
        ecs_types::server::PowerState::Crashed => "crashed",
        ecs_types::server::PowerState::Suspended => "suspended",
        _ => "pending",
    };
    if !call.version.at_least(48) {
        let mut out = serde_json::Map::new();
        for cpu in 0..d.vcpus {
            out.insert(format!("cpu{cpu}_time"), json!(d.uptime * 1_000_000_000 / 4));
        }
        out.insert("memory".into(), json!(d.ram_mb * 1024));
        out.insert("memory-actual".into(), json!(d.ram_mb * 1024));
        out.insert("memory-rss".into(), json!(d.ram_mb * 1024 / 4));
        for (i, _) in d.nics.iter().enumerate() {
            for key in ["rx", "rx_drop", "rx_errors", "rx_packets", "tx", "tx_drop", "tx_errors", "tx_packets"] {
                out.insert(format!("tap{i}_{key}"), json!(0));
            }
        }
        let mut devices = vec!["vda".to_string()];
        devices.extend(d.disks.iter().map(|(_, dev, _)| dev.trim_start_matches("/dev/").to_string()));
        for dev in devices {
            for key in ["read", "read_req", "write", "write_req", "errors"] {
                out.insert(format!("{dev}_{key}"), json!(if key == "errors" { -1 } else { 0 }));
            }
        }
        return Ok(Json(Value::Object(out)));
    }
    let cpu_details: Vec<Value> =
        (0..d.vcpus).map(|i| json!({"id": i, "time": d.uptime * 1_000_000_000 / 4, "utilisation": null})).collect();
    let nic_details: Vec<Value> = d
        .nics
        .iter()
        .map(|(_, mac)| {
            json!({"mac_address": mac, "rx_octets": 0, "rx_errors": 0, "rx_drop": 0, "rx_packets": 0,
                "rx_rate": null, "tx_octets": 0, "tx_errors": 0, "tx_drop": 0, "tx_packets": 0, "tx_rate": null})
        })
        .collect();
    let mut disk_details = vec![json!({"read_bytes": 0, "read_requests": 0, "write_bytes": 0,
        "write_requests": 0, "errors_count": -1})];
    disk_details.extend(d.disks.iter().map(
        |_| json!({"read_bytes": 0, "read_requests": 0, "write_bytes": 0, "write_requests": 0, "errors_count": -1}),
    ));
    // 2.48's schema names the drivers Nova has; the simulator stands in for
    // libvirt's (Tempest's schema refuses Nova's own `fake`).
    let driver = "libvirt";
    Ok(Json(json!({
        "state": state_name,
        "driver": driver,
        "hypervisor": if d.driver == "qemu-kvm" { "kvm" } else if d.driver.starts_with("qemu") { "qemu" } else { "fake" },
        "hypervisor_os": "linux",
        "uptime": d.uptime,
        "config_drive": d.server.config_drive,
        "num_cpus": d.vcpus,
        "num_nics": nic_details.len(),
        "num_disks": disk_details.len(),
        "cpu_details": cpu_details,
        "nic_details": nic_details,
        "disk_details": disk_details,
        "memory_details": {"maximum": d.ram_mb, "used": 0},
    })))
}

/// `GET /servers/{id}/topology` (2.78): the NUMA nodes the flavor asks for
/// (`hw:numa_nodes`, one node without it), their CPUs and memory; the
/// host's node numbers (`host_node`) for admins only.
pub async fn topology(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<Json<Value>> {
    if !call.version.at_least(78) {
        return Err(NovaError::not_found());
    }
    let server = state.core.server_topology(&call.ctx, &id).await?;
    let f = &server.flavor;
    let spec = |k: &str| f.extra_specs.get(k).cloned();
    let nodes = spec("hw:numa_nodes").and_then(|n| n.parse::<i64>().ok()).filter(|n| *n > 0).unwrap_or(1);
    let nodes = nodes.min(f.vcpus.max(1));
    let pagesize = spec("hw:mem_page_size").and_then(|p| p.parse::<i64>().ok());
    let admin = call.ctx.is_admin();
    let mut out = Vec::new();
    let mut cpu = 0;
    for node in 0..nodes {
        let cpus_here = f.vcpus / nodes + i64::from(node < f.vcpus % nodes);
        let vcpu_set: Vec<i64> = (cpu..cpu + cpus_here).collect();
        cpu += cpus_here;
        let memory = f.ram_mb / nodes + if node == nodes - 1 { f.ram_mb % nodes } else { 0 };
        let mut n = json!({"memory_mb": memory, "siblings": [], "vcpu_set": vcpu_set});
        if admin {
            n["host_node"] = json!(node);
            n["cpu_pinning"] = json!({});
        }
        out.push(n);
    }
    Ok(Json(json!({"nodes": out, "pagesize_kb": pagesize})))
}
