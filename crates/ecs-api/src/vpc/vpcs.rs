//! VPCs and VPC subnets.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use ecs_core::vpc::{VpcSubnet, VpcSubnetRequest, VpcSubnetUpdate};
use ecs_types::neutron::Vpc;
use serde_json::{Value, json};

use super::{
    Area, InArea, ListQuery, VpcBody, VpcCall, VpcError, opt_bool, opt_str, opt_strings, parse, req_str, time,
};
use crate::AppState;

type Reply = Result<Json<Value>, VpcError>;

fn vpc_view(v: &Vpc) -> Value {
    json!({
        "id": v.id, "name": v.name, "description": v.description, "cidr": v.cidr, "status": "OK",
        "routes": [], "enterprise_project_id": "0", "tenant_id": v.project_id,
        "created_at": time(&v.created_at), "updated_at": time(&v.updated_at),
        "block_service_endpoint_states": "off", "enable_network_address_usage_metrics": false,
    })
}

pub(super) async fn list(State(state): State<AppState>, call: VpcCall, RawQuery(raw): RawQuery) -> Reply {
    let q = ListQuery::parse(Area::Vpc, raw.as_deref())?;
    let vpcs: Vec<Vpc> =
        state.core.vpcs(&call.ctx).await.area(Area::Vpc)?.into_iter().filter(|v| q.matches("id", &v.id)).collect();
    let page = q.page(Area::Vpc, vpcs, |v| &v.id)?;
    Ok(Json(json!({"vpcs": page.iter().map(vpc_view).collect::<Vec<_>>()})))
}

pub(super) async fn show(
    State(state): State<AppState>,
    call: VpcCall,
    Path((_project, id)): Path<(String, String)>,
) -> Reply {
    let v = state.core.vpc(&call.ctx, &id).await.area(Area::Vpc)?;
    Ok(Json(json!({"vpc": vpc_view(&v)})))
}

pub(super) async fn create(State(state): State<AppState>, call: VpcCall, VpcBody(body): VpcBody) -> Reply {
    let o = parse(Area::Vpc, &body, "vpc")?;
    let name = opt_str(Area::Vpc, &o, "name")?.unwrap_or_default();
    let description = opt_str(Area::Vpc, &o, "description")?.unwrap_or_default();
    let cidr = opt_str(Area::Vpc, &o, "cidr")?.unwrap_or_default();
    let v = state.core.vpc_create(&call.ctx, name, description, cidr).await.area(Area::Vpc)?;
    Ok(Json(json!({"vpc": vpc_view(&v)})))
}

pub(super) async fn update(
    State(state): State<AppState>,
    call: VpcCall,
    Path((_project, id)): Path<(String, String)>,
    VpcBody(body): VpcBody,
) -> Reply {
    let o = parse(Area::Vpc, &body, "vpc")?;
    let name = opt_str(Area::Vpc, &o, "name")?;
    let description = opt_str(Area::Vpc, &o, "description")?;
    let cidr = opt_str(Area::Vpc, &o, "cidr")?;
    match o.get("routes") {
        None | Some(Value::Null) => {}
        Some(Value::Array(routes)) if routes.is_empty() => {}
        Some(_) => return Err(VpcError::invalid(Area::Vpc, "routes are not supported: only an empty list.")),
    }
    let v = state.core.vpc_update(&call.ctx, &id, name, description, cidr).await.area(Area::Vpc)?;
    Ok(Json(json!({"vpc": vpc_view(&v)})))
}

pub(super) async fn delete(
    State(state): State<AppState>,
    call: VpcCall,
    Path((_project, id)): Path<(String, String)>,
) -> Result<StatusCode, VpcError> {
    state.core.vpc_delete(&call.ctx, &id).await.area(Area::Vpc)?;
    Ok(StatusCode::NO_CONTENT)
}

// --- subnets ---------------------------------------------------------------

fn subnet_view(s: &VpcSubnet) -> Value {
    let dns = &s.subnet.dns_nameservers;
    json!({
        "id": s.network.id, "name": s.network.name, "description": s.description, "cidr": s.subnet.cidr,
        "gateway_ip": s.subnet.gateway_ip.clone().unwrap_or_default(), "ipv6_enable": false, "cidr_v6": "",
        "gateway_ip_v6": "", "dhcp_enable": s.dhcp_enable,
        "primary_dns": dns.first().cloned().unwrap_or_default(),
        "secondary_dns": dns.get(1).cloned().unwrap_or_default(), "dnsList": dns,
        "availability_zone": s.availability_zone, "vpc_id": s.vpc_id, "status": "ACTIVE",
        "neutron_network_id": s.network.id, "neutron_subnet_id": s.subnet.id, "neutron_subnet_id_v6": "",
        "extra_dhcp_opts": [], "scope": "center",
        "tenant_id": s.network.project_id.clone().unwrap_or_default(),
        "created_at": time(&s.network.created_at), "updated_at": time(&s.updated_at),
        "enable_network_address_usage_metrics": false, "available_ip_address_count": s.available_ips,
    })
}

/// `primary_dns`, `secondary_dns` and `dns_list` as one list (None: none given).
fn dns_of(o: &serde_json::Map<String, Value>) -> Result<Option<Vec<String>>, VpcError> {
    let primary = opt_str(Area::Subnet, o, "primary_dns")?.filter(|d| !d.is_empty());
    let secondary = opt_str(Area::Subnet, o, "secondary_dns")?.filter(|d| !d.is_empty());
    if let Some(list) = opt_strings(Area::Subnet, o, "dnsList")? {
        return Ok(Some(list));
    }
    if secondary.is_some() && primary.is_none() {
        return Err(VpcError::invalid(Area::Subnet, "secondary_dns needs primary_dns."));
    }
    Ok(primary.map(|p| [Some(p), secondary].into_iter().flatten().map(String::from).collect()))
}

pub(super) async fn subnets(State(state): State<AppState>, call: VpcCall, RawQuery(raw): RawQuery) -> Reply {
    let q = ListQuery::parse(Area::Subnet, raw.as_deref())?;
    let vpc_id = q.get("vpc_id").filter(|v| !v.is_empty());
    let list = state.core.vpc_subnets(&call.ctx, vpc_id).await.area(Area::Subnet)?;
    let page = q.page(Area::Subnet, list, |s| &s.network.id)?;
    Ok(Json(json!({"subnets": page.iter().map(subnet_view).collect::<Vec<_>>()})))
}

pub(super) async fn subnet(
    State(state): State<AppState>,
    call: VpcCall,
    Path((_project, id)): Path<(String, String)>,
) -> Reply {
    let s = state.core.vpc_subnet(&call.ctx, &id).await.area(Area::Subnet)?;
    Ok(Json(json!({"subnet": subnet_view(&s)})))
}

/// `GET /v1/{project_id}/vpcs/{vpc_id}/subnets/{subnet_id}`: a subnet of that VPC.
pub(super) async fn subnet_in(
    State(state): State<AppState>,
    call: VpcCall,
    Path((_project, vpc_id, id)): Path<(String, String, String)>,
) -> Reply {
    state.core.vpc(&call.ctx, &vpc_id).await.area(Area::Vpc)?;
    let s = state.core.vpc_subnet(&call.ctx, &id).await.area(Area::Subnet)?;
    if s.vpc_id != vpc_id {
        return Err(VpcError::core(Area::Subnet, ecs_core::Error::not_found(ecs_core::Kind::Network, id)));
    }
    Ok(Json(json!({"subnet": subnet_view(&s)})))
}

pub(super) async fn subnet_create(State(state): State<AppState>, call: VpcCall, VpcBody(body): VpcBody) -> Reply {
    let a = Area::Subnet;
    let o = parse(a, &body, "subnet")?;
    if opt_bool(a, &o, "ipv6_enable")? == Some(true) {
        return Err(VpcError::invalid(a, "IPv6 subnets are not supported."));
    }
    let req = VpcSubnetRequest {
        vpc_id: req_str(a, &o, "vpc_id")?.to_string(),
        name: req_str(a, &o, "name")?.to_string(),
        description: opt_str(a, &o, "description")?.unwrap_or_default().to_string(),
        cidr: req_str(a, &o, "cidr")?.to_string(),
        gateway_ip: req_str(a, &o, "gateway_ip")?.to_string(),
        dhcp_enable: opt_bool(a, &o, "dhcp_enable")?,
        dns: dns_of(&o)?.unwrap_or_default(),
        availability_zone: opt_str(a, &o, "availability_zone")?.map(String::from),
    };
    let s = state.core.vpc_subnet_create(&call.ctx, req).await.area(a)?;
    Ok(Json(json!({"subnet": subnet_view(&s)})))
}

pub(super) async fn subnet_update(
    State(state): State<AppState>,
    call: VpcCall,
    Path((_project, vpc_id, id)): Path<(String, String, String)>,
    VpcBody(body): VpcBody,
) -> Reply {
    let a = Area::Subnet;
    let o = parse(a, &body, "subnet")?;
    let u = VpcSubnetUpdate {
        name: opt_str(a, &o, "name")?.map(String::from),
        description: opt_str(a, &o, "description")?.map(String::from),
        dhcp_enable: opt_bool(a, &o, "dhcp_enable")?,
        dns: dns_of(&o)?,
    };
    let s = state.core.vpc_subnet_update(&call.ctx, &vpc_id, &id, u).await.area(a)?;
    // Huawei answers an update with the subnet's id and status only.
    Ok(Json(json!({"subnet": {"id": s.network.id, "status": "ACTIVE"}})))
}

pub(super) async fn subnet_delete(
    State(state): State<AppState>,
    call: VpcCall,
    Path((_project, vpc_id, id)): Path<(String, String, String)>,
) -> Result<StatusCode, VpcError> {
    state.core.vpc_subnet_delete(&call.ctx, &vpc_id, &id).await.area(Area::Subnet)?;
    Ok(StatusCode::NO_CONTENT)
}
