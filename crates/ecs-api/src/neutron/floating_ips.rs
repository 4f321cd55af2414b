//! `/floatingips`: the floating IPs Nova's os-floating-ips and the ECS
//! EIPs show, allocated on an external network and associated with a port
//! that a router joins to that network.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use ecs_core::neutron::NeutronView;
use ecs_types::FloatingIp;
use ecs_types::server::ServerPort;
use serde_json::{Value, json};

use super::{Listed, NeutronBody, NeutronError, Query, Result, attributes, bad_request, resource};
use crate::AppState;
use crate::identity::Caller;

const FLOATING_IPS: Listed = Listed {
    sort_keys: &[
        "id",
        "floating_ip_address",
        "floating_network_id",
        "fixed_ip_address",
        "port_id",
        "router_id",
        "status",
        "tenant_id",
        "project_id",
    ],
    not_found: |id| {
        NeutronError(StatusCode::NOT_FOUND, "FloatingIPNotFound", format!("Floating IP {id} could not be found"))
    },
};

fn fip_view(f: &FloatingIp, view: &NeutronView, ports: &[ServerPort]) -> Value {
    let attrs = view.attrs(&f.id);
    let router = view.router_of(f, ports);
    json!({
        "id": f.id, "floating_ip_address": f.address, "floating_network_id": f.network_id,
        "port_id": f.port_id, "fixed_ip_address": f.fixed_ip, "router_id": router,
        "status": if f.port_id.is_some() { "ACTIVE" } else { "DOWN" }, "tenant_id": f.project_id,
        "project_id": f.project_id, "description": attrs.description, "tags": [], "port_forwardings": [],
        "qos_policy_id": null, "dns_name": "", "dns_domain": "", "revision_number": attrs.revision_number,
    })
}

async fn context(state: &AppState) -> Result<(NeutronView, Vec<ServerPort>)> {
    let view = state.core.neutron_view().await?;
    let ports = state.core.store_ports_for_neutron().await?;
    Ok((view, ports))
}

pub(super) async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    let q = Query::parse(raw.as_deref())?;
    let (view, ports) = context(&state).await?;
    let out: Vec<Value> = state
        .core
        .neutron_floating_ips(&ctx)
        .await?
        .iter()
        .map(|f| fip_view(f, &view, &ports))
        .filter(|v| {
            let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            ["id", "floating_ip_address", "floating_network_id", "port_id", "fixed_ip_address", "router_id", "status"]
                .iter()
                .all(|k| q.matches(k, &text(k)))
                && q.owned_by(&text("project_id"))
        })
        .collect();
    Ok(Json(json!({"floatingips": q.page(out, &FLOATING_IPS)?})))
}

pub(super) async fn show(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let f = state.core.floating_ip(&ctx, &id).await?;
    let (view, ports) = context(&state).await?;
    Ok(Json(json!({"floatingip": fip_view(&f, &view, &ports)})))
}

pub(super) async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    NeutronBody(body): NeutronBody,
) -> Result<(StatusCode, Json<Value>)> {
    let f = resource(&body, "floatingip")?;
    attributes::check_create(f, attributes::FLOATINGIP)?;
    let network = attributes::nullable_text(f, "floating_network_id")?.flatten().ok_or_else(|| {
        bad_request("Failed to parse request. Required attribute 'floating_network_id' not specified")
    })?;
    if f.get("floating_ip_address").is_some_and(|v| !v.is_null()) || f.get("subnet_id").is_some_and(|v| !v.is_null()) {
        return Err(bad_request("Bad floatingip request: choosing floating_ip_address or subnet_id is not supported."));
    }
    let port = attributes::nullable_text(f, "port_id")?.flatten();
    let fixed = attributes::nullable_text(f, "fixed_ip_address")?.flatten();
    let description = attributes::text_of(f, "description").unwrap_or_default();
    let fip =
        state.core.neutron_floating_ip_create(&ctx, &network, port.as_deref(), fixed.as_deref(), &description).await?;
    let (view, ports) = context(&state).await?;
    Ok((StatusCode::CREATED, Json(json!({"floatingip": fip_view(&fip, &view, &ports)}))))
}

pub(super) async fn update(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    NeutronBody(body): NeutronBody,
) -> Result<Json<Value>> {
    let f = resource(&body, "floatingip")?;
    attributes::check_update(
        f,
        attributes::FLOATINGIP,
        &["port_id", "fixed_ip_address", "description", "qos_policy_id"],
    )?;
    let port = attributes::nullable_text(f, "port_id")?;
    let fixed = attributes::nullable_text(f, "fixed_ip_address")?.flatten();
    let description = attributes::text_of(f, "description");
    let fip = state
        .core
        .neutron_floating_ip_update(
            &ctx,
            &id,
            port.as_ref().map(|p| p.as_deref()),
            fixed.as_deref(),
            description.as_deref(),
        )
        .await?;
    let (view, ports) = context(&state).await?;
    Ok(Json(json!({"floatingip": fip_view(&fip, &view, &ports)})))
}

pub(super) async fn delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    state.core.neutron_floating_ip_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
