//! Ports and private IPs (a private IP is a port on a VPC subnet), and the
//! project's VPC quotas.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use ecs_core::neutron::{NeutronView, PortUpdate};
use ecs_types::neutron::NeutronAttrs;
use ecs_types::server::ServerPort;
use serde_json::{Map, Value, json};

use super::{Area, InArea, ListQuery, VpcBody, VpcCall, VpcError, opt_bool, opt_str, opt_strings, parse, req_str};
use crate::AppState;

type Reply = Result<Json<Value>, VpcError>;

/// Who holds a port: its server, or what its attributes name.
fn owner(p: &ServerPort, a: &NeutronAttrs) -> (String, String) {
    if p.server_id.is_empty() {
        (a.device_id.clone(), a.device_owner.clone())
    } else {
        (p.server_id.clone(), "compute:nova".to_string())
    }
}

fn port_view(p: &ServerPort, a: &NeutronAttrs, groups: &[String]) -> Value {
    let (device_id, device_owner) = owner(p, a);
    let pairs: Vec<Value> =
        a.allowed_address_pairs.iter().map(|(ip, mac)| json!({"ip_address": ip, "mac_address": mac})).collect();
    let host = format!("host-{}", p.address.replace('.', "-"));
    json!({
        "id": p.id, "name": p.name, "network_id": p.network_id, "admin_state_up": a.admin_state_up,
        "mac_address": p.mac, "fixed_ips": [{"ip_address": p.address, "subnet_id": p.subnet_id}],
        "device_id": device_id, "device_owner": device_owner, "tenant_id": p.project_id,
        "status": if device_owner.is_empty() { "DOWN" } else { "ACTIVE" },
        "security_groups": groups, "allowed_address_pairs": pairs, "extra_dhcp_opts": [],
        "binding:vnic_type": "normal",
        "dns_assignment": [{"hostname": host, "ip_address": p.address, "fqdn": format!("{host}.")}],
        "dns_name": "", "binding:vif_details": {"primary_interface": p.nic_index == 0, "port_filter": true},
        "binding:profile": {}, "instance_id": if p.server_id.is_empty() { "" } else { p.server_id.as_str() },
        "instance_type": if p.server_id.is_empty() { "" } else { "ECS" }, "port_security_enabled": true,
        "zone_id": "", "enable_efi": false, "ipv6_bandwidth_id": "",
    })
}

async fn shown(state: &AppState, view: &NeutronView, p: &ServerPort) -> Result<Value, VpcError> {
    let groups = state.core.port_security_group_ids(view, p).await.area(Area::Port)?;
    Ok(port_view(p, &view.attrs(&p.id), &groups))
}

pub(super) async fn list(State(state): State<AppState>, call: VpcCall, RawQuery(raw): RawQuery) -> Reply {
    let q = ListQuery::parse(Area::Port, raw.as_deref())?;
    let view = state.core.neutron_view().await.area(Area::Port)?;
    let project = call.ctx.project_id().unwrap_or_default().to_string();
    let ports: Vec<ServerPort> = state
        .core
        .ports(&call.ctx)
        .await
        .area(Area::Port)?
        .into_iter()
        .filter(|p| {
            let (device_id, device_owner) = owner(p, &view.attrs(&p.id));
            p.project_id == project
                && q.matches("id", &p.id)
                && q.matches("name", &p.name)
                && q.matches("network_id", &p.network_id)
                && q.matches("mac_address", &p.mac)
                && q.matches("device_id", &device_id)
                && q.matches("device_owner", &device_owner)
        })
        .collect();
    let page = q.page(Area::Port, ports, |p| &p.id)?;
    let mut out = Vec::with_capacity(page.len());
    for p in &page {
        out.push(shown(&state, &view, p).await?);
    }
    Ok(Json(json!({"ports": out})))
}

pub(super) async fn show(
    State(state): State<AppState>,
    call: VpcCall,
    Path((_project, id)): Path<(String, String)>,
) -> Reply {
    let p = state.core.port(&call.ctx, &id).await.area(Area::Port)?;
    let view = state.core.neutron_view().await.area(Area::Port)?;
    Ok(Json(json!({"port": shown(&state, &view, &p).await?})))
}

/// (ip_address, mac_address) pairs; no MAC: the port's.
type AddressPairs = Vec<(String, Option<String>)>;

/// `allowed_address_pairs: [{"ip_address", "mac_address"?}]`.
fn address_pairs(o: &Map<String, Value>) -> Result<Option<AddressPairs>, VpcError> {
    let a = Area::Port;
    match o.get("allowed_address_pairs") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                let pair = i.as_object().ok_or_else(|| VpcError::invalid(a, "allowed_address_pairs[] are objects."))?;
                let ip = req_str(a, pair, "ip_address")?;
                ip.parse::<ipnet::IpNet>()
                    .map(|_| ())
                    .or_else(|_| ip.parse::<std::net::IpAddr>().map(|_| ()))
                    .map_err(|_| VpcError::invalid(a, format!("ip_address {ip} is not an address.")))?;
                Ok((ip.to_string(), opt_str(a, pair, "mac_address")?.map(String::from)))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(VpcError::invalid(a, "allowed_address_pairs must be a list.")),
    }
}

pub(super) async fn create(State(state): State<AppState>, call: VpcCall, VpcBody(body): VpcBody) -> Reply {
    let a = Area::Port;
    let o = parse(a, &body, "port")?;
    let network_id = req_str(a, &o, "network_id")?;
    let name = opt_str(a, &o, "name")?.unwrap_or_default();
    let fixed_ip = match o.get("fixed_ips") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) if items.len() <= 1 => match items.first() {
            None => None,
            Some(Value::Object(f)) => opt_str(a, f, "ip_address")?.map(String::from),
            Some(_) => return Err(VpcError::invalid(a, "fixed_ips[] are objects.")),
        },
        Some(_) => return Err(VpcError::invalid(a, "fixed_ips must be a list of at most one address.")),
    };
    let groups = opt_strings(a, &o, "security_groups")?;
    let attrs = NeutronAttrs {
        admin_state_up: opt_bool(a, &o, "admin_state_up")?.unwrap_or(true),
        device_owner: opt_str(a, &o, "device_owner")?.unwrap_or_default().to_string(),
        allowed_address_pairs: Vec::new(),
        ..Default::default()
    };
    let pairs = address_pairs(&o)?;
    let core = &state.core;
    let mut p =
        core.neutron_port_create(&call.ctx, network_id, name, fixed_ip.as_deref(), groups, attrs).await.area(a)?;
    if pairs.is_some() {
        let u = PortUpdate { allowed_address_pairs: pairs, ..Default::default() };
        p = core.port_update(&call.ctx, &p.id, u).await.area(a)?;
    }
    let view = core.neutron_view().await.area(a)?;
    Ok(Json(json!({"port": shown(&state, &view, &p).await?})))
}

pub(super) async fn update(
    State(state): State<AppState>,
    call: VpcCall,
    Path((_project, id)): Path<(String, String)>,
    VpcBody(body): VpcBody,
) -> Reply {
    let a = Area::Port;
    let o = parse(a, &body, "port")?;
    let u = PortUpdate {
        name: opt_str(a, &o, "name")?.map(String::from),
        security_groups: opt_strings(a, &o, "security_groups")?,
        allowed_address_pairs: address_pairs(&o)?,
        ..Default::default()
    };
    let p = state.core.port_update(&call.ctx, &id, u).await.area(a)?;
    let view = state.core.neutron_view().await.area(a)?;
    Ok(Json(json!({"port": shown(&state, &view, &p).await?})))
}

pub(super) async fn delete(
    State(state): State<AppState>,
    call: VpcCall,
    Path((_project, id)): Path<(String, String)>,
) -> Result<StatusCode, VpcError> {
    state.core.neutron_port_delete(&call.ctx, &id).await.area(Area::Port)?;
    Ok(StatusCode::NO_CONTENT)
}

// --- private IPs -------------------------------------------------------------

fn private_ip_view(p: &ServerPort, a: &NeutronAttrs) -> Value {
    let (_, device_owner) = owner(p, a);
    json!({
        "id": p.id, "status": if device_owner.is_empty() { "DOWN" } else { "ACTIVE" },
        "subnet_id": p.network_id, "tenant_id": p.project_id, "device_owner": device_owner,
        "ip_address": p.address,
    })
}

pub(super) async fn private_ip_create(State(state): State<AppState>, call: VpcCall, VpcBody(body): VpcBody) -> Reply {
    let a = Area::PrivateIp;
    let body: Value =
        serde_json::from_slice(&body).map_err(|_| VpcError::invalid(a, "The request body is not JSON."))?;
    let items = body
        .get("privateips")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty() && l.len() <= 20)
        .ok_or_else(|| VpcError::invalid(a, "privateips must be a list of 1 to 20 objects."))?;
    let mut wanted = Vec::new();
    for item in items {
        let o = item.as_object().ok_or_else(|| VpcError::invalid(a, "privateips[] are objects."))?;
        let subnet = req_str(a, o, "subnet_id")?.to_string();
        let ip = opt_str(a, o, "ip_address")?.filter(|i| !i.is_empty()).map(String::from);
        wanted.push((subnet, ip));
    }
    let mut out = Vec::new();
    for (subnet, ip) in wanted {
        let p = state.core.vpc_private_ip_create(&call.ctx, &subnet, ip.as_deref()).await.area(a)?;
        out.push(private_ip_view(&p, &NeutronAttrs::default()));
    }
    Ok(Json(json!({"privateips": out})))
}

pub(super) async fn private_ips(
    State(state): State<AppState>,
    call: VpcCall,
    Path((_project, subnet_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Reply {
    let a = Area::PrivateIp;
    let q = ListQuery::parse(a, raw.as_deref())?;
    let ports = state.core.vpc_private_ips(&call.ctx, &subnet_id).await.area(Area::Subnet)?;
    let view = state.core.neutron_view().await.area(a)?;
    let page = q.page(a, ports, |p| &p.id)?;
    Ok(Json(json!({"privateips": page.iter().map(|p| private_ip_view(p, &view.attrs(&p.id))).collect::<Vec<_>>()})))
}

pub(super) async fn private_ip(
    State(state): State<AppState>,
    call: VpcCall,
    Path((_project, id)): Path<(String, String)>,
) -> Reply {
    let a = Area::PrivateIp;
    let p = state.core.port(&call.ctx, &id).await.area(a)?;
    let view = state.core.neutron_view().await.area(a)?;
    Ok(Json(json!({"privateip": private_ip_view(&p, &view.attrs(&p.id))})))
}

pub(super) async fn private_ip_delete(
    State(state): State<AppState>,
    call: VpcCall,
    Path((_project, id)): Path<(String, String)>,
) -> Result<StatusCode, VpcError> {
    state.core.neutron_port_delete(&call.ctx, &id).await.area(Area::PrivateIp)?;
    Ok(StatusCode::NO_CONTENT)
}

// --- quotas ------------------------------------------------------------------

/// The VPC API's resource types, by Neutron's quota names.
const QUOTA_TYPES: &[(&str, &str)] = &[
    ("vpc", "router"),
    ("subnet", "network"),
    ("securityGroup", "security_group"),
    ("securityGroupRule", "security_group_rule"),
    ("publicIp", "floatingip"),
    ("port", "port"),
];

/// `GET /v1/{project_id}/quotas[?type=…]`.
pub(super) async fn quotas(State(state): State<AppState>, call: VpcCall, RawQuery(raw): RawQuery) -> Reply {
    let a = Area::Quota;
    let q = ListQuery::parse(a, raw.as_deref())?;
    let project = call.ctx.project_id().unwrap_or_default().to_string();
    let usage = state.core.neutron_quota(&call.ctx, &project).await.area(a)?;
    let resources: Vec<Value> = QUOTA_TYPES
        .iter()
        .filter(|(t, _)| q.matches("type", t))
        .filter_map(|(t, neutron)| {
            usage.get(neutron).map(|(limit, used)| json!({"type": t, "used": used, "quota": limit, "min": 0}))
        })
        .collect();
    Ok(Json(json!({"quotas": {"resources": resources}})))
}
