//! ECS NICs (seed 002 §5.5): `POST …/nics` and `POST …/nics/delete`, one
//! job each with a sub-job per NIC — the NIC's own attach or detach task,
//! whose `entities.nic_id` is the port.

use std::net::Ipv4Addr;

use axum::Json;
use axum::extract::{Extension, Path, State};
use ecs_core::compute::batch::NicOp;
use ecs_core::compute::server::InterfaceRequest;
use serde_json::Value;

use super::EcsBody;
use super::input::{MAX_NICS, find_subnet, optional_str, required_str};
use super::{EcsCall, EcsError, illegal, job_reply, json_body};
use crate::AppState;
use crate::request_id::RequestId;

/// `nics: [...]`, not empty.
fn nic_list(body: &Value) -> Result<&Vec<Value>, EcsError> {
    body.get("nics").and_then(Value::as_array).filter(|l| !l.is_empty()).ok_or_else(|| illegal("nics is required"))
}

/// `POST /v1/{project_id}/cloudservers/{server_id}/nics` (§5.5.1).
#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers/{server_id}/nics",
    tag = "ECS NICs",
    summary = "Add NICs to a server (§5.5.1)",
    request_body(content = Object, description = "`nics`: `subnet_id`, `ip_address`?, `security_groups`?.", example = json!({"nics": [{"subnet_id": "SUBNET_ID", "security_groups": [{"id": "SG_ID"}]}]})),
    responses(
        (status = 200, description = "The job doing it.", body = crate::openapi::schemas::JobReply),
    ),
)]
pub async fn add(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
    EcsBody(body): EcsBody,
) -> Result<Json<Value>, EcsError> {
    let body = json_body(&body)?;
    let list = nic_list(&body)?;
    let server = state.core.server_get(&call.ctx, &id).await?;
    if server.ports.len() + list.len() > MAX_NICS {
        return Err(EcsError::new("Ecs.0050"));
    }
    let networks = state.core.networks(&call.ctx).await?;
    let mut requests = Vec::with_capacity(list.len());
    for nic in list {
        if !nic.is_object() {
            return Err(illegal("nics[] must be objects"));
        }
        let subnet_id = required_str(nic.get("subnet_id"), "subnet_id")?;
        let (network, subnet) = find_subnet(&state, &networks, subnet_id)
            .await?
            .ok_or_else(|| EcsError::with_message("Ecs.0038", format!("The subnet {subnet_id} does not exist.")))?;
        // Security groups must exist; ecsd applies groups per server, not per port.
        match nic.get("security_groups") {
            None | Some(Value::Null) => {}
            Some(Value::Array(groups)) => {
                for g in groups {
                    let group = required_str(g.get("id"), "id")?;
                    state.core.security_group(&call.ctx, group).await?;
                }
            }
            Some(_) => return Err(illegal("security_groups must be a list")),
        }
        let fixed_ip = optional_str(nic.get("ip_address"), "ip_address")?;
        if let Some(ip) = fixed_ip
            && ip.parse::<Ipv4Addr>().is_err()
        {
            return Err(illegal(format!("ip_address {ip} is not an IPv4 address")));
        }
        requests.push(InterfaceRequest::Network {
            net_id: network.id.clone(),
            subnet_id: Some(subnet.id.clone()),
            fixed_ip: fixed_ip.map(String::from),
        });
    }
    // The core checks the addresses (inside the subnet, free, asked once);
    // this API names an address outside its subnet Ecs.0039 itself.
    let job = state.core.nic_job(&call.ctx, &id, NicOp::Attach(requests), &request_id).await.map_err(|e| match e {
        ecs_core::Error::Invalid(ecs_core::Invalid::FixedIpOutsideNetwork { .. }) => EcsError::new("Ecs.0039"),
        other => other.into(),
    })?;
    Ok(job_reply(&job))
}

/// `POST /v1/{project_id}/cloudservers/{server_id}/nics/delete` (§5.5.2):
/// the primary NIC (the server's first) cannot go: 403.
#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers/{server_id}/nics/delete",
    tag = "ECS NICs",
    summary = "Delete NICs from a server (§5.5.2)",
    request_body(content = Object, description = "`nics`: the ports' `id`.", example = json!({"nics": [{"id": "PORT_ID"}]})),
    responses(
        (status = 200, description = "The job doing it.", body = crate::openapi::schemas::JobReply),
    ),
)]
pub async fn delete(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
    EcsBody(body): EcsBody,
) -> Result<Json<Value>, EcsError> {
    let body = json_body(&body)?;
    let list = nic_list(&body)?;
    let server = state.core.server_get(&call.ctx, &id).await?;
    let primary = server.ports.iter().min_by_key(|p| p.nic_index).map(|p| p.id.clone());
    let mut ports = Vec::with_capacity(list.len());
    for nic in list {
        let port = required_str(nic.get("id"), "id")?;
        if !server.ports.iter().any(|p| p.id == port) {
            return Err(EcsError::with_message("Ecs.0085", format!("The ECS has no NIC {port}.")));
        }
        if primary.as_deref() == Some(port) {
            return Err(EcsError::with_message("Ecs.0003", "The primary NIC of an ECS cannot be deleted."));
        }
        if ports.iter().any(|p| p == port) {
            return Err(illegal(format!("NIC {port} is named twice")));
        }
        ports.push(port.to_string());
    }
    let job = state.core.nic_job(&call.ctx, &id, NicOp::Detach(ports), &request_id).await?;
    Ok(job_reply(&job))
}
