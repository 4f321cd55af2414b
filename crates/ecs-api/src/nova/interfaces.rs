//! `/servers/{id}/os-interface` (NICs), `/servers/{id}/ips` and the
//! `/os-networks` proxy (below 2.36).

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use ecs_core::compute::server::InterfaceRequest;
use ecs_types::server::ServerPort;
use serde_json::{Map, Value, json};

use super::validate::{self, invalid};
use super::{NovaBody, NovaCall, NovaError};
use crate::AppState;
use crate::request_id::RequestId;

type Result<T> = std::result::Result<T, NovaError>;

fn attachment(call: &NovaCall, p: &ServerPort) -> Value {
    let mut v = json!({
        "port_state": "ACTIVE",
        "fixed_ips": [{"subnet_id": p.subnet_id, "ip_address": p.address}],
        "port_id": p.id,
        "net_id": p.network_id,
        "mac_addr": p.mac,
    });
    if call.version.at_least(70) {
        v["tag"] = Value::Null;
    }
    v
}

pub async fn index(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<Json<Value>> {
    let ports = state.core.interfaces(&call.ctx, &id).await?;
    Ok(Json(json!({"interfaceAttachments": ports.iter().map(|p| attachment(&call, p)).collect::<Vec<_>>()})))
}

pub async fn show(
    State(state): State<AppState>,
    call: NovaCall,
    Path((id, port_id)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let ports = state.core.interfaces(&call.ctx, &id).await?;
    let port = ports
        .iter()
        .find(|p| p.id == port_id)
        .ok_or_else(|| NovaError::new(StatusCode::NOT_FOUND, format!("Port {port_id} could not be found.")))?;
    Ok(Json(json!({"interfaceAttachment": attachment(&call, port)})))
}

pub async fn create(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: NovaCall,
    Path(id): Path<String>,
    NovaBody(body): NovaBody,
) -> Result<Json<Value>> {
    validate::object(&body, "", &["interfaceAttachment"], &["interfaceAttachment"])?;
    let mut allowed = vec!["net_id", "port_id", "fixed_ips"];
    if call.version.at_least(49) {
        allowed.push("tag");
    }
    let a = validate::object(&body["interfaceAttachment"], "interfaceAttachment", &allowed, &[])?;
    // Device tags are checked, not kept (no metadata service shows them).
    a.get("tag").map(|t| validate::tag(t, "interfaceAttachment/tag")).transpose()?;
    let text = |k: &str| -> Result<Option<String>> {
        a.get(k).map(|v| validate::string(v, k, 1, 255).map(String::from)).transpose()
    };
    let fixed_ip = match a.get("fixed_ips") {
        None => None,
        Some(list) => {
            let items = list.as_array().ok_or_else(|| invalid("fixed_ips", list, "is not of type 'array'"))?;
            if items.len() > 1 {
                return Err(invalid("fixed_ips", list, format!("{list} is too long")));
            }
            match items.first() {
                None => None,
                Some(item) => {
                    // UStack also sends `subnet_id` beside the address.
                    let f = validate::object(item, "fixed_ips/0", &["ip_address", "subnet_id"], &[])?;
                    let ip = f.get("ip_address").map(|v| validate::string(v, "ip_address", 1, 64)).transpose()?;
                    if let Some(ip) = ip
                        && ip.parse::<std::net::IpAddr>().is_err()
                    {
                        return Err(invalid(
                            "fixed_ips/0/ip_address",
                            &json!(ip),
                            format!("'{ip}' is not a 'ip-address'"),
                        ));
                    }
                    ip.map(String::from)
                }
            }
        }
    };
    let req = match (text("net_id")?, text("port_id")?) {
        (Some(_), Some(_)) => {
            return Err(NovaError::bad_request("Must not input both network_id and port_id"));
        }
        (None, Some(port)) => {
            if fixed_ip.is_some() {
                return Err(NovaError::bad_request("Must input network_id when request IP address"));
            }
            InterfaceRequest::Port(port)
        }
        (Some(net_id), None) => InterfaceRequest::Network { net_id, subnet_id: None, fixed_ip },
        (None, None) => {
            // Nova picks the project's only network (external ones are floating IP pools).
            let networks = state.core.networks(&call.ctx).await?;
            let internal: Vec<_> = networks.into_iter().filter(|n| !n.external).collect();
            match internal.as_slice() {
                [only] => InterfaceRequest::Network { net_id: only.id.clone(), subnet_id: None, fixed_ip },
                _ => return Err(NovaError::bad_request("Must input network_id when request IP address")),
            }
        }
    };
    let port = state.core.interface_attach(&call.ctx, &id, req, &request_id).await?;
    Ok(Json(json!({"interfaceAttachment": attachment(&call, &port)})))
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: NovaCall,
    Path((id, port_id)): Path<(String, String)>,
) -> Result<StatusCode> {
    state.core.interface_detach(&call.ctx, &id, &port_id, &request_id).await?;
    Ok(StatusCode::ACCEPTED)
}

fn addresses_by_network(ports: &[ServerPort]) -> Map<String, Value> {
    let mut out = Map::new();
    for p in ports {
        let version = if p.address.contains(':') { 6 } else { 4 };
        let entry = json!({"version": version, "addr": p.address});
        out.entry(p.network_name.clone()).or_insert_with(|| json!([])).as_array_mut().expect("array").push(entry);
    }
    out
}

pub async fn ips(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<Json<Value>> {
    let server = state.core.server_get(&call.ctx, &id).await?;
    Ok(Json(json!({"addresses": addresses_by_network(&server.ports)})))
}

pub async fn ips_of_network(
    State(state): State<AppState>,
    call: NovaCall,
    Path((id, network)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let server = state.core.server_get(&call.ctx, &id).await?;
    let by_network = addresses_by_network(&server.ports);
    let addresses = by_network
        .get(&network)
        .ok_or_else(|| NovaError::new(StatusCode::NOT_FOUND, "Instance is not a member of specified network"))?;
    Ok(Json(json!({ network: addresses })))
}

/// Nova's os-networks view of a network (Neutron-backed: the first subnet's
/// facts, the rest null).
async fn network_view(state: &AppState, ctx: &ecs_types::AuthContext, n: &ecs_types::Network) -> Result<Value> {
    let subnets = state.core.subnets(ctx, &n.id).await?;
    let first = subnets.first();
    let net = first.and_then(|s| s.cidr.parse::<ipnet::Ipv4Net>().ok());
    Ok(json!({
        "id": n.id, "label": n.name,
        "cidr": first.map(|s| s.cidr.clone()),
        "netmask": net.map(|n| n.netmask().to_string()),
        "gateway": first.and_then(|s| s.gateway_ip.clone()),
        "broadcast": net.map(|n| n.broadcast().to_string()),
        "dns1": first.and_then(|s| s.dns_nameservers.first().cloned()),
        "dns2": first.and_then(|s| s.dns_nameservers.get(1).cloned()),
        "cidr_v6": null, "gateway_v6": null, "netmask_v6": null,
    }))
}

pub async fn networks(State(state): State<AppState>, call: NovaCall) -> Result<Json<Value>> {
    super::gone_at_236(&call)?;
    let mut out = Vec::new();
    for n in state.core.networks(&call.ctx).await? {
        out.push(network_view(&state, &call.ctx, &n).await?);
    }
    Ok(Json(json!({"networks": out})))
}

pub async fn network(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<Json<Value>> {
    super::gone_at_236(&call)?;
    let n = state
        .core
        .networks(&call.ctx)
        .await?
        .into_iter()
        .find(|n| n.id == id)
        .ok_or_else(|| NovaError::new(StatusCode::NOT_FOUND, format!("Network {id} could not be found.")))?;
    Ok(Json(json!({"network": network_view(&state, &call.ctx, &n).await?})))
}
