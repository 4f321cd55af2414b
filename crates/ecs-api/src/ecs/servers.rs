//! ShowServer and ListServersDetails of the ECS-native API (DECISIONS.md
//! §2): the same servers as Nova's, rendered as the §8.2 structures the
//! Huawei SDK's `ServerDetail` reads (string-typed flavor fields, port ids
//! on addresses, `sys_tags`, reserved metadata keys).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Extension, Path, RawQuery, State};
use ecs_store::ServerListQuery;
use ecs_types::server::{Server, vm_states_for_status};
use serde_json::{Map, Value, json};

use super::{EcsCall, EcsError, ListQuery};
use crate::AppState;
use crate::request_id::RequestId;
use crate::server_view::{host_id, iso, usage_time};

/// ListServersDetails: 25 a page by default (at most `MAX_LIMIT`).
const DEFAULT_LIMIT: usize = 25;

/// What the view needs besides the server: its group ids and volume devices.
pub(crate) struct Extras {
    host_statuses: ecs_core::service::HostStatuses,
    /// ECS auto-terminate times, by server id.
    auto_terminate: HashMap<String, ecs_types::Timestamp>,
    group_ids: HashMap<String, String>,
    devices: HashMap<String, String>,
    /// Volume sizes in GB by volume id.
    sizes: HashMap<String, i64>,
    /// The VPC of each network that is a VPC subnet.
    vpc_of: HashMap<String, String>,
}

impl Extras {
    /// The VPC a port's network is in (a network in none: its own id).
    fn vpc_of(&self, network_id: &str) -> String {
        self.vpc_of.get(network_id).cloned().unwrap_or_else(|| network_id.to_string())
    }
}

/// The server's addresses by the VPC each NIC is in, as Huawei keys them.
fn addresses(s: &Server, extras: &Extras) -> Value {
    let mut out = Map::new();
    for (i, p) in s.ports.iter().enumerate() {
        let list = out.entry(extras.vpc_of(&p.network_id)).or_insert_with(|| json!([])).as_array_mut().expect("array");
        list.push(json!({
            "version": if p.address.contains(':') { "6" } else { "4" },
            "addr": p.address,
            "OS-EXT-IPS:type": "fixed",
            "OS-EXT-IPS-MAC:mac_addr": p.mac,
            "OS-EXT-IPS:port_id": p.id,
            "primary": i == 0,
        }));
        for (_, address) in s.floating_ips.iter().filter(|(port, _)| port == &p.id) {
            list.push(json!({
                "version": "4", "addr": address, "OS-EXT-IPS:type": "floating",
                "OS-EXT-IPS-MAC:mac_addr": p.mac, "OS-EXT-IPS:port_id": p.id, "primary": false,
            }));
        }
    }
    Value::Object(out)
}

/// The metadata with the reserved keys ECS sets itself (§8.2 Table 8-17).
fn metadata(s: &Server, extras: &Extras) -> Value {
    let mut m: Map<String, Value> = s.metadata.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    let mut reserved = vec![("charging_mode", "0".to_string()), ("metering.resourcetype", "1".to_string())];
    if let Some(p) = s.ports.first() {
        reserved.push(("vpc_id", extras.vpc_of(&p.network_id)));
    }
    if let Some(image) = &s.image_id {
        reserved.push(("metering.image_id", image.clone()));
    }
    if let Some(name) = &s.image_name {
        reserved.push(("image_name", name.clone()));
    }
    for (k, v) in reserved {
        m.entry(k).or_insert(json!(v));
    }
    Value::Object(m)
}

/// `network_interfaces`: each NIC with its addresses, its VPC subnet (the
/// network, as Huawei's VPC API names subnets) and its EIP.
fn network_interfaces(s: &Server) -> Value {
    let nics: Vec<Value> = s
        .ports
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (v6, v4): (Vec<&str>, Vec<&str>) =
                std::iter::once(p.address.as_str()).filter(|a| !a.is_empty()).partition(|a| a.contains(':'));
            let eip = s.floating_ips.iter().find(|(port, _)| port == &p.id).map(|(_, address)| address);
            json!({
                "port_id": p.id,
                "primary": i == 0,
                "ip_addresses": v4,
                "ipv6_addresses": v6,
                "subnet_id": p.network_id,
                "association": eip.map(|a| json!({"public_ip_address": a})),
            })
        })
        .collect();
    json!(nics)
}

pub(crate) fn view(s: &Server, extras: &Extras) -> Value {
    let f = &s.flavor;
    let enterprise_project = s.extend_param.get("enterprise_project_id").and_then(Value::as_str).unwrap_or("0");
    let volumes: Vec<Value> = s
        .volumes
        .iter()
        .map(|(id, dot)| {
            let device = extras.devices.get(id).cloned().unwrap_or_default();
            json!({
                "id": id,
                "delete_on_termination": dot.to_string(),
                "bootIndex": if device == "/dev/vda" { "0" } else { "-1" },
                "device": device,
            })
        })
        .collect();
    let groups: Vec<Value> = s
        .security_groups
        .iter()
        .map(|name| json!({"name": name, "id": extras.group_ids.get(name).cloned().unwrap_or_default()}))
        .collect();
    let mut out = json!({
        "id": s.id,
        "name": s.name,
        "status": s.status(),
        "created": iso(s.created_at),
        "updated": iso(s.updated_at),
        "auto_terminate_time": extras.auto_terminate.get(&s.id).map(|t| iso(*t))
            .unwrap_or_default(),
        "hostId": host_id(&s.project_id, s.host.as_deref()),
        "OS-EXT-SRV-ATTR:host": s.host,
        "OS-EXT-SRV-ATTR:hypervisor_hostname": s.host,
        "OS-EXT-SRV-ATTR:instance_name": format!("instance-{}", &s.id[..8]),
        "OS-EXT-SRV-ATTR:hostname": s.hostname,
        "OS-EXT-SRV-ATTR:reservation_id": s.reservation_id,
        "OS-EXT-SRV-ATTR:launch_index": s.launch_index,
        "OS-EXT-SRV-ATTR:kernel_id": "",
        "OS-EXT-SRV-ATTR:ramdisk_id": "",
        "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
        "OS-EXT-SRV-ATTR:user_data": s.user_data,
        "addresses": addresses(s, extras),
        "key_name": s.key_name,
        // An ECS boots from a system disk made from the image: its id is kept in the metadata.
        "image": {"id": s.image_id.as_deref().or(s.metadata.get("metering.image_id").map(String::as_str)).unwrap_or_default()},
        "flavor": {
            "id": f.id, "name": f.name, "disk": f.disk_gb.to_string(),
            "vcpus": f.vcpus.to_string(), "ram": f.ram_mb.to_string(),
        },
        "security_groups": groups,
        "OS-EXT-STS:task_state": s.task_state.map(|t| t.as_str()),
        "OS-EXT-STS:vm_state": s.vm_state.as_str(),
        "OS-EXT-STS:power_state": s.power_state.code(),
        "OS-EXT-AZ:availability_zone": s.availability_zone.clone().unwrap_or_default(),
        "user_id": s.user_id,
        "tenant_id": s.project_id,
        "OS-DCF:diskConfig": s.disk_config,
        "accessIPv4": s.access_ipv4,
        "accessIPv6": s.access_ipv6,
        "progress": 0,
        "config_drive": if s.config_drive { "True" } else { "" },
        "metadata": metadata(s, extras),
        "OS-SRV-USG:launched_at": usage_time(s.launched_at),
        "OS-SRV-USG:terminated_at": usage_time(s.terminated_at),
        "os-extended-volumes:volumes_attached": volumes,
        "description": s.description.clone().unwrap_or_default(),
        "host_status": extras.host_statuses.of(s).as_str(),
        "locked": s.locked(),
        "tags": s.tags,
        "os:scheduler_hints": s.scheduler_hints,
        "enterprise_project_id": enterprise_project,
        "sys_tags": [{"key": "_sys_enterprise_project_id", "value": enterprise_project}],
        "cpu_options": {},
        // ecsd's one hypervisor (the simulated one stands in for it).
        "hypervisor": {"hypervisor_type": "kvm", "csd_hypervisor": ""},
        "network_interfaces": network_interfaces(s),
    });
    if let Some(fault) = s.fault.as_ref().filter(|_| matches!(s.status(), "ERROR" | "DELETED")) {
        out["fault"] = json!({"code": fault.code, "created": iso(fault.created), "message": fault.message,
            "details": fault.details});
    }
    out
}

/// Looks up what the view shows beyond the server records.
pub(crate) async fn extras(state: &AppState, call: &EcsCall, servers: &[Server]) -> Result<Extras, EcsError> {
    let group_ids = state.core.security_groups(&call.ctx).await?.into_iter().map(|g| (g.name, g.id)).collect();
    let mut devices = HashMap::new();
    let mut sizes = HashMap::new();
    for s in servers.iter().filter(|s| !s.volumes.is_empty()) {
        for v in state.core.server_volumes(&call.ctx, &s.id).await? {
            sizes.insert(v.id.clone(), v.size_gb);
            if let Some(a) = v.attachment {
                devices.insert(v.id, a.device);
            }
        }
    }
    let host_statuses = state.core.host_statuses().await?;
    let auto_terminate = state.core.auto_terminate_times(servers).await?;
    let vpc_of = state.core.vpc_of_networks().await?;
    Ok(Extras { group_ids, devices, host_statuses, auto_terminate, sizes, vpc_of })
}

/// `GET /v1/{project_id}/cloudservers/{server_id}`.
#[utoipa::path(
    get,
    path = "/v1/{project_id}/cloudservers/{server_id}",
    tag = "ECS servers",
    summary = "Show a server",
    responses(
        (status = 200, description = "The server.", body = crate::openapi::schemas::ServerReply),
    ),
)]
pub async fn show(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
) -> Result<Json<Value>, EcsError> {
    let server = state.core.server_get(&call.ctx, &id).await?;
    let extras = extras(&state, &call, std::slice::from_ref(&server)).await?;
    Ok(Json(json!({"server": view(&server, &extras)})))
}

/// ListCloudServers' `CloudServer` (v1.1): the same server, flatter, with
/// integer flavor fields, volume sizes and the billing mode.
fn cloud_view(s: &Server, extras: &Extras) -> Value {
    let f = &s.flavor;
    let detail = view(s, extras);
    let mut addresses = detail["addresses"].clone();
    for entry in
        addresses.as_object_mut().into_iter().flat_map(|m| m.values_mut()).filter_map(Value::as_array_mut).flatten()
    {
        let version = entry["version"].as_str().and_then(|v| v.parse::<i64>().ok()).unwrap_or(4);
        entry["version"] = json!(version);
    }
    let volumes: Vec<Value> = s
        .volumes
        .iter()
        .map(|(id, dot)| {
            let device = extras.devices.get(id).cloned().unwrap_or_default();
            json!({
                "id": id,
                "delete_on_termination": dot,
                "device": device,
                "bootIndex": if device == "/dev/vda" { "0" } else { "-1" },
                "size": extras.sizes.get(id).copied().unwrap_or_default(),
            })
        })
        .collect();
    json!({
        "id": s.id,
        "name": s.name,
        "status": s.status(),
        "tenant_id": s.project_id,
        "user_id": s.user_id,
        "market_info": {"charge_mode": charge_mode(s), "prepaid_info": null},
        "availability_zone": s.availability_zone.clone().unwrap_or_default(),
        "vm_state": s.vm_state.as_str(),
        "task_state": s.task_state.map(|t| t.as_str()).unwrap_or_default(),
        "power_state": s.power_state.code(),
        "created": iso(s.created_at),
        "updated": iso(s.updated_at),
        "launched_at": s.launched_at.map(iso).unwrap_or_default(),
        "in_recycle_bin": false,
        "spod_id": "",
        "description": s.description.clone().unwrap_or_default(),
        "key_name": s.key_name,
        "locked": s.locked(),
        "root_device_name": "/dev/vda",
        "tenancy": "",
        "dedicated_host_id": "",
        "enterprise_project_id": detail["enterprise_project_id"],
        "metadata": detail["metadata"],
        "tags": s.tags,
        "addresses": addresses,
        "security_groups": detail["security_groups"],
        "volumes_attached": volumes,
        "image": detail["image"],
        "flavor": {"id": f.id, "name": f.name, "vcpus": f.vcpus, "ram": f.ram_mb, "disk": f.disk_gb},
        "fault": detail.get("fault"),
        "cpu_options": {},
    })
}

/// How the server is billed: `prePaid` (yearly/monthly, metadata
/// `charging_mode` 1) or `postPaid`.
fn charge_mode(s: &Server) -> &'static str {
    if s.metadata.get("charging_mode").map(String::as_str) == Some("1") { "prePaid" } else { "postPaid" }
}

/// ListCloudServers' page size when `limit` is left out.
const DEFAULT_CLOUD_LIMIT: usize = 50;

/// `GET /v1.1/{project_id}/cloudservers/detail` (ListCloudServers): paged
/// by `marker` (the last id of the page before) and `limit`, with
/// `servers_links` naming the next page and the `request_id`.
#[utoipa::path(
    get,
    path = "/v1.1/{project_id}/cloudservers/detail",
    tag = "ECS servers",
    summary = "List servers (ListCloudServers: marker/limit paging)",
    params(("marker" = Option<String>, Query, description = "The last server id of the page before."), ("limit" = Option<u32>, Query, description = "Servers per page (default 50)."), ("name" = Option<String>, Query), ("status" = Option<String>, Query), ("flavor_name" = Option<String>, Query), ("ip_eq" = Option<String>, Query, description = "An exact fixed IPv4 address."), ("id" = Option<String>, Query, description = "Server ids, comma separated."), ("in_recycle_bin" = Option<bool>, Query)),
    responses(
        (status = 200, description = "A page of servers.", body = crate::openapi::schemas::CloudServerList),
    ),
)]
pub async fn detail_v1_1(
    State(state): State<AppState>,
    base: crate::BaseUrl,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EcsCall,
    Path(project): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, EcsError> {
    let query = ListQuery::parse(raw.as_deref())?;
    let get = |key: &str| query.get(key).filter(|v| !v.is_empty());
    let limit = query.limit()?.unwrap_or(DEFAULT_CLOUD_LIMIT);
    let mut q = ServerListQuery { project_id: call.ctx.project_id().map(String::from), ..Default::default() };
    if let Some(status) = get("status") {
        let (vm, tasks) = vm_states_for_status(status)
            .ok_or_else(|| EcsError::with_message("Ecs.0005", format!("unknown status {status}")))?;
        q.vm_states = Some(vm);
        q.task_states = tasks;
    }
    let tags = |key: &str| get(key).map(|t| t.split(',').map(String::from).collect()).unwrap_or_default();
    q.tags_all = tags("tags");
    q.not_tags_any = tags("not-tags");
    let in_recycle_bin =
        super::input::optional_bool(query.get("in_recycle_bin").map(|v| json!(v)).as_ref(), "in_recycle_bin")?;
    let ids: Vec<&str> = get("id").map(|v| v.split(',').collect()).unwrap_or_default();
    let mut servers =
        if in_recycle_bin == Some(true) { Vec::new() } else { state.core.server_list(&call.ctx, q).await? };
    servers.retain(|s| {
        let zone = s.availability_zone.as_deref().unwrap_or_default();
        get("name").is_none_or(|n| s.name.contains(n))
            && (ids.is_empty() || ids.contains(&s.id.as_str()))
            && get("flavor_name").is_none_or(|f| s.flavor.name == f)
            && get("image_id").is_none_or(|i| {
                s.image_id.as_deref() == Some(i) || s.metadata.get("metering.image_id").map(String::as_str) == Some(i)
            })
            && get("key_name").is_none_or(|k| s.key_name.as_deref() == Some(k))
            && get("availability_zone").is_none_or(|az| zone.contains(az))
            && get("availability_zone_eq").is_none_or(|az| zone == az)
            && get("metadata-key").is_none_or(|k| s.metadata.contains_key(k))
            // `metadata=key|value`
            && get("metadata").is_none_or(|kv| {
                let (k, v) = kv.split_once('|').unwrap_or((kv, ""));
                s.metadata.get(k).is_some_and(|have| v.is_empty() || have == v)
            })
            && get("charging_mode").is_none_or(|m| m == charge_mode(s))
            && get("enterprise_project_id").is_none_or(|ep| {
                ep == "all_granted_eps"
                    || s.extend_param.get("enterprise_project_id").and_then(Value::as_str).unwrap_or("0") == ep
            })
    });
    if let Some(marker) = get("marker") {
        let at = servers
            .iter()
            .position(|s| s.id == marker)
            .ok_or_else(|| EcsError::with_message("Ecs.0005", format!("marker {marker} not found")))?;
        servers.drain(..=at);
    }
    let more = servers.len() > limit;
    servers.truncate(limit);
    let extras = extras(&state, &call, &servers).await?;
    let links = match servers.last().filter(|_| more) {
        Some(last) => json!([{"rel": "next",
            "href": base.join(&format!("v1.1/{project}/cloudservers/detail?limit={limit}&marker={}", last.id))}]),
        None => json!([]),
    };
    Ok(Json(json!({
        "servers": servers.iter().map(|s| cloud_view(s, &extras)).collect::<Vec<_>>(),
        "servers_links": links,
        "request_id": request_id,
    })))
}

/// `GET /v1/{project_id}/cloudservers/detail`: filtered, then paged by
/// `offset` (a page number from 1; 0 is the first page too) and `limit`;
/// `count` is how many match.
#[utoipa::path(
    get,
    path = "/v1/{project_id}/cloudservers/detail",
    tag = "ECS servers",
    summary = "List servers with details (filters: name, status, flavor, ip, tags…; offset/limit)",
    params(("offset" = Option<u32>, Query, description = "The page (from 1)."), ("limit" = Option<u32>, Query, description = "Servers per page, 1 to 1000."), ("name" = Option<String>, Query, description = "A regular expression on the name."), ("status" = Option<String>, Query, description = "`ACTIVE`, `SHUTOFF`, `BUILD`, `ERROR`…"), ("flavor" = Option<String>, Query, description = "A flavor id."), ("ip" = Option<String>, Query, description = "A fixed IPv4 address (regular expression)."), ("tags" = Option<String>, Query, description = "`key=value`; servers with all the tags."), ("reservation_id" = Option<String>, Query, description = "The batch a server was created in."), ("enterprise_project_id" = Option<String>, Query, description = "An enterprise project.")),
    responses(
        (status = 200, description = "The servers.", body = crate::openapi::schemas::ServerList),
    ),
)]
pub async fn detail(
    State(state): State<AppState>,
    call: EcsCall,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, EcsError> {
    let query = ListQuery::parse(raw.as_deref())?;
    let get = |key: &str| query.get(key);
    let limit = query.limit()?.unwrap_or(DEFAULT_LIMIT);
    let page = query.non_negative("offset")?.unwrap_or(1).max(1);
    let mut q = ServerListQuery { project_id: call.ctx.project_id().map(String::from), ..Default::default() };
    if let Some(status) = get("status") {
        let (vm, tasks) = vm_states_for_status(status)
            .ok_or_else(|| EcsError::with_message("Ecs.0005", format!("unknown status {status}")))?;
        q.vm_states = Some(vm);
        q.task_states = tasks;
    }
    q.flavor_id = get("flavor").map(String::from);
    q.reservation_id = get("reservation_id").map(String::from);
    let tags = |key: &str| get(key).map(|t| t.split(',').map(String::from).collect()).unwrap_or_default();
    q.tags_all = tags("tags");
    q.not_tags_any = tags("not-tags");
    let ids: Vec<&str> = get("server_id").map(|v| v.split(',').collect()).unwrap_or_default();
    let mut servers = state.core.server_list(&call.ctx, q).await?;
    servers.retain(|s| {
        get("name").is_none_or(|n| s.name.contains(n))
            && get("ip").is_none_or(|ip| s.ports.iter().any(|p| p.address.contains(ip)))
            && get("ip_eq").is_none_or(|ip| s.ports.iter().any(|p| p.address == ip))
            && (ids.is_empty() || ids.contains(&s.id.as_str()))
    });
    let count = servers.len();
    let page: Vec<Server> = servers.into_iter().skip((page - 1).saturating_mul(limit)).take(limit).collect();
    let extras = extras(&state, &call, &page).await?;
    Ok(Json(json!({"count": count, "servers": page.iter().map(|s| view(s, &extras)).collect::<Vec<_>>()})))
}
