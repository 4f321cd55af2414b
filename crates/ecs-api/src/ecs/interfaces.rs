//! ECS NICs one by one (seed 002 §5.5, Huawei's NIC management APIs):
//! `GET …/os-interface` and `…/os-interface_extension`, `PUT
//! …/os-interface/{port_id}` (delete_on_termination), `POST
//! …/os-interface/{port_id}/change-network-interface` (a stopped server's
//! primary NIC to another subnet or address), `POST …/changevpc` (a job)
//! and `PUT /v1/{project_id}/cloudservers/nics/{nic_id}` (virtual IPs).

use std::net::Ipv4Addr;

use axum::Json;
use axum::extract::{Extension, Path, State};
use ecs_core::compute::server::InterfaceRequest;
use ecs_types::server::{Server, ServerPort, VmState};
use ecs_types::{Network, Subnet};
use serde_json::{Value, json};

use super::input::{MAX_NICS, find_subnet, optional_bool, optional_str, required_str};
use super::{EcsBody, EcsCall, EcsError, illegal, job_reply, json_body};
use crate::AppState;
use crate::request_id::RequestId;

fn port_state(server: &Server) -> &'static str {
    if server.vm_state == VmState::Active { "ACTIVE" } else { "DOWN" }
}

/// A NIC as `os-interface` shows it; `extended` adds `preserve_on_delete`.
fn attachment(server: &Server, p: &ServerPort, extended: bool) -> Value {
    let mut v = json!({
        "port_state": port_state(server),
        "fixed_ips": [{"subnet_id": p.subnet_id, "ip_address": p.address}],
        "net_id": p.network_id,
        "port_id": p.id,
        "mac_addr": p.mac,
        "delete_on_termination": !p.preserve_on_delete,
        "driver_mode": "virtio",
        "min_rate": 0,
        "multiqueue_num": 1,
        "pci_address": format!("0000:00:{:02x}.0", 3 + p.nic_index),
    });
    if extended {
        v["preserve_on_delete"] = json!(p.preserve_on_delete);
    }
    v
}

fn nics_of(server: &Server, extended: bool) -> Vec<Value> {
    let mut ports: Vec<&ServerPort> = server.ports.iter().collect();
    ports.sort_by_key(|p| p.nic_index);
    ports.into_iter().map(|p| attachment(server, p, extended)).collect()
}

fn free_nics(server: &Server) -> usize {
    MAX_NICS.saturating_sub(server.ports.len())
}

/// `GET /v1/{project_id}/cloudservers/{server_id}/os-interface`.
#[utoipa::path(
    get,
    path = "/v1/{project_id}/cloudservers/{server_id}/os-interface",
    tag = "ECS NICs",
    summary = "List a server's NICs",
    responses(
        (status = 200, description = "`{\"interfaceAttachments\": [{\"port_id\", \"net_id\", \"mac_addr\", \"port_state\", \"fixed_ips\"…}]}`", body = Object),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
) -> Result<Json<Value>, EcsError> {
    let server = state.core.server_get(&call.ctx, &id).await?;
    Ok(Json(json!({
        "interfaceAttachments": nics_of(&server, false),
        "attachableQuantity": {"free_nic": free_nics(&server)},
    })))
}

/// `GET /v1/{project_id}/cloudservers/{server_id}/os-interface_extension`:
/// the NICs and how many more NICs and disks the server takes.
#[utoipa::path(
    get,
    path = "/v1/{project_id}/cloudservers/{server_id}/os-interface_extension",
    tag = "ECS NICs",
    summary = "List a server's NICs and how many more it can take",
    responses(
        (status = 200, description = "`{\"interfaceAttachments\": […], \"attachableQuantity\": {\"free_nic\"}}`", body = Object),
    ),
)]
pub async fn attachable(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
) -> Result<Json<Value>, EcsError> {
    let server = state.core.server_get(&call.ctx, &id).await?;
    let data_disks = server.block_devices.iter().filter(|b| b.boot_index != Some(0)).count();
    let mut attachable = super::block_devices::attachable_quantity(data_disks, Some(free_nics(&server)));
    attachable["free_efi_nic"] = json!(0);
    Ok(Json(json!({"interfaceAttachments": nics_of(&server, true), "attachableQuantity": attachable})))
}

/// `PUT /v1/{project_id}/cloudservers/{server_id}/os-interface/{port_id}`:
/// `interface_attachment.delete_on_termination`; 200, `{}`.
#[utoipa::path(
    put,
    path = "/v1/{project_id}/cloudservers/{server_id}/os-interface/{port_id}",
    tag = "ECS NICs",
    summary = "Change a NIC's security groups or IP settings",
    request_body(content = Object, description = "`interface_attachment`.", example = json!({"interface_attachment": {"security_groups": ["SG_ID"]}})),
    responses(
        (status = 200, description = "`{}`", body = Object),
    ),
)]
pub async fn update(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id, port)): Path<(String, String, String)>,
    EcsBody(body): EcsBody,
) -> Result<Json<Value>, EcsError> {
    let body = json_body(&body)?;
    let args = body
        .get("interface_attachment")
        .filter(|v| v.is_object())
        .ok_or_else(|| illegal("interface_attachment is required"))?;
    let delete = optional_bool(args.get("delete_on_termination"), "delete_on_termination")?
        .ok_or_else(|| illegal("interface_attachment.delete_on_termination is required"))?;
    state.core.server_nic_set_delete_on_termination(&call.ctx, &id, &port, delete).await?;
    Ok(Json(json!({})))
}

/// The subnet a request names (`subnet_id`: as `nics[].subnet_id` reads
/// it), with its network: Ecs.0038 when the caller sees no such subnet.
async fn subnet_named(state: &AppState, call: &EcsCall, subnet_id: &str) -> Result<(Network, Subnet), EcsError> {
    let networks = state.core.networks(&call.ctx).await?;
    find_subnet(state, &networks, subnet_id)
        .await?
        .ok_or_else(|| EcsError::with_message("Ecs.0038", format!("The subnet {subnet_id} does not exist.")))
}

/// An optional IPv4 address field: empty means "any free one".
fn ipv4_field<'a>(v: Option<&'a Value>, field: &str) -> Result<Option<&'a str>, EcsError> {
    let ip = optional_str(v, field)?.filter(|s| !s.is_empty());
    if let Some(ip) = ip
        && ip.parse::<Ipv4Addr>().is_err()
    {
        return Err(illegal(format!("{field} {ip} is not an IPv4 address")));
    }
    Ok(ip)
}

/// An address outside the subnet is this API's Ecs.0039.
fn outside_is_0039(e: ecs_core::Error) -> EcsError {
    match e {
        ecs_core::Error::Invalid(ecs_core::Invalid::FixedIpOutsideNetwork { .. }) => EcsError::new("Ecs.0039"),
        other => other.into(),
    }
}

/// `POST …/os-interface/{port_id}/change-network-interface`: `subnet_id`,
/// `ip_address` (empty: any free one); the NIC as it is now.
#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers/{server_id}/os-interface/{port_id}/change-network-interface",
    tag = "ECS NICs",
    summary = "Move a NIC to another subnet",
    request_body(content = Object, description = "`nic`: `subnet_id`, `ip_address`?, `security_groups`?.", example = json!({"nic": {"subnet_id": "SUBNET_ID"}})),
    responses(
        (status = 200, description = "`{\"port_id\", \"fixed_ips\"…}`", body = Object),
    ),
)]
pub async fn change(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, id, port)): Path<(String, String, String)>,
    EcsBody(body): EcsBody,
) -> Result<Json<Value>, EcsError> {
    let body = json_body(&body)?;
    if !body.is_object() {
        return Err(illegal("request body is illegal."));
    }
    if optional_str(body.get("ipv6_address"), "ipv6_address")?.is_some_and(|v| !v.is_empty()) {
        return Err(illegal("ipv6_address: the NIC has no IPv6 address."));
    }
    let subnet_id = required_str(body.get("subnet_id"), "subnet_id")?;
    let ip = ipv4_field(body.get("ip_address"), "ip_address")?;
    let (network, subnet) = subnet_named(&state, &call, subnet_id).await?;
    let nic =
        state.core.server_nic_change(&call.ctx, &id, &port, &network, &subnet.id, ip).await.map_err(outside_is_0039)?;
    Ok(Json(json!({
        "id": nic.id,
        "subnet_id": subnet_id,
        "ip_address": nic.address,
        "ipv6_address": "",
    })))
}

/// `POST /v1/{project_id}/cloudservers/{server_id}/changevpc`: `vpc_id`,
/// `nic.subnet_id`, `nic.ip_address`, `nic.security_groups`; a job.
#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers/{server_id}/changevpc",
    tag = "ECS NICs",
    summary = "Move a server to another VPC",
    request_body(content = Object, description = "`vpc`: `id`, `subnet_id`, `ip_address`?, `security_groups`?.", example = json!({"vpc": {"id": "VPC_ID", "subnet_id": "SUBNET_ID"}})),
    responses(
        (status = 200, description = "The job doing it.", body = crate::openapi::schemas::JobReply),
    ),
)]
pub async fn change_vpc(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
    EcsBody(body): EcsBody,
) -> Result<Json<Value>, EcsError> {
    let body = json_body(&body)?;
    required_str(body.get("vpc_id"), "vpc_id")?;
    let nic = body.get("nic").filter(|v| v.is_object()).ok_or_else(|| illegal("nic is required"))?;
    let subnet_id = required_str(nic.get("subnet_id"), "nic.subnet_id")?;
    let ip = ipv4_field(nic.get("ip_address"), "nic.ip_address")?;
    match nic.get("security_groups") {
        None | Some(Value::Null) => {}
        Some(Value::Array(groups)) => {
            for g in groups {
                state.core.security_group(&call.ctx, required_str(g.get("id"), "security_groups[].id")?).await?;
            }
        }
        Some(_) => return Err(illegal("nic.security_groups must be a list")),
    }
    state.core.server_get(&call.ctx, &id).await?;
    let (network, subnet) = subnet_named(&state, &call, subnet_id).await?;
    let request =
        InterfaceRequest::Network { net_id: network.id, subnet_id: Some(subnet.id), fixed_ip: ip.map(String::from) };
    let job = state.core.server_change_vpc(&call.ctx, &id, request, &request_id).await.map_err(outside_is_0039)?;
    Ok(job_reply(&job))
}

/// `PUT /v1/{project_id}/cloudservers/nics/{nic_id}`: with `nic.subnet_id`
/// and `nic.ip_address`, binds that virtual IP to the NIC; with both empty
/// (or no `nic`), unbinds the NIC's virtual IPs. `{"port_id"}` of the NIC.
#[utoipa::path(
    put,
    path = "/v1/{project_id}/cloudservers/nics/{nic_id}",
    tag = "ECS NICs",
    summary = "Bind a NIC to a virtual IP (`reverse_binding`)",
    request_body(content = Object, description = "`nic`: `subnet_id`, `ip_address`, `reverse_binding`.", example = json!({"nic": {"subnet_id": "SUBNET_ID", "ip_address": "192.168.0.9", "reverse_binding": false}})),
    responses(
        (status = 200, description = "`{\"port_id\"}`", body = Object),
    ),
)]
pub async fn virtual_ip(
    State(state): State<AppState>,
    call: EcsCall,
    Path((_project, nic_id)): Path<(String, String)>,
    EcsBody(body): EcsBody,
) -> Result<Json<Value>, EcsError> {
    let body = json_body(&body)?;
    if !body.is_object() {
        return Err(illegal("request body is illegal."));
    }
    let nic = match body.get("nic") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v),
        Some(_) => return Err(illegal("nic must be an object")),
    };
    let subnet_id = nic.map(|n| optional_str(n.get("subnet_id"), "nic.subnet_id")).transpose()?.flatten();
    let ip = nic.map(|n| optional_str(n.get("ip_address"), "nic.ip_address")).transpose()?.flatten();
    let reverse = nic.map(|n| optional_bool(n.get("reverse_binding"), "nic.reverse_binding")).transpose()?.flatten();
    let port = match (subnet_id.filter(|s| !s.is_empty()), ip.filter(|s| !s.is_empty())) {
        (None, None) => state.core.nic_virtual_ip_unbind(&call.ctx, &nic_id).await.map_err(super::error::path_nic)?,
        (Some(subnet_id), Some(_)) => {
            let ip = ipv4_field(nic.and_then(|n| n.get("ip_address")), "nic.ip_address")?.expect("not empty");
            let (network, subnet) = subnet_named(&state, &call, subnet_id).await?;
            state
                .core
                .nic_virtual_ip_bind(&call.ctx, &nic_id, &network, &subnet.id, ip, reverse.unwrap_or(false))
                .await
                .map_err(|e| match e {
                    e @ ecs_core::Error::NotFound { .. } => super::error::path_nic(e),
                    other => outside_is_0039(other),
                })?
        }
        _ => return Err(illegal("nic.subnet_id and nic.ip_address go together (both empty: unbind)")),
    };
    Ok(Json(json!({"port_id": port.id})))
}
