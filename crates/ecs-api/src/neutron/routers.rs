//! `/routers`: a gateway on an external network (`external_gateway_info`)
//! and interfaces on subnets, which floating IPs need.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use ecs_core::neutron::{InterfaceInfo, RouterUpdate};
use ecs_types::neutron::Router;
use serde_json::{Map, Value, json};

use super::{Listed, NeutronBody, NeutronError, Query, Result, attributes, bad_request, resource, stamp};
use crate::AppState;
use crate::identity::Caller;

const ROUTERS: Listed = Listed {
    sort_keys: &["id", "name", "status", "admin_state_up", "tenant_id", "project_id"],
    not_found: |id| NeutronError(StatusCode::NOT_FOUND, "RouterNotFound", format!("Router {id} could not be found")),
};

fn router_view(r: &Router) -> Value {
    let t = stamp(&r.created_at);
    let gateway =
        r.gateway_network_id.as_ref().map(|n| json!({"network_id": n, "enable_snat": true, "external_fixed_ips": []}));
    json!({
        "id": r.id, "name": r.name, "description": r.description, "status": "ACTIVE",
        "admin_state_up": r.admin_state_up, "external_gateway_info": gateway, "tenant_id": r.project_id,
        "project_id": r.project_id, "routes": [], "distributed": false, "ha": false, "flavor_id": null,
        "availability_zones": [], "availability_zone_hints": [], "tags": [], "revision_number": 0,
        "created_at": t, "updated_at": t,
    })
}

/// `external_gateway_info`: absent (unchanged), null or `{}` (none), or
/// `{"network_id": ...}`.
fn gateway(r: &Map<String, Value>) -> Result<Option<Option<String>>> {
    match r.get("external_gateway_info") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::Object(info)) if info.is_empty() => Ok(Some(None)),
        Some(Value::Object(info)) => {
            if let Some(extra) = info
                .keys()
                .find(|k| !matches!(k.as_str(), "network_id" | "enable_snat" | "external_fixed_ips" | "qos_policy_id"))
            {
                return Err(NeutronError::invalid_input(format!(
                    "Validation of dictionary's keys failed. Expected keys: {{'network_id'}} Provided keys: {{'{extra}'}}"
                )));
            }
            match info.get("network_id") {
                Some(Value::String(id)) => Ok(Some(Some(id.clone()))),
                _ => Err(NeutronError::invalid_input(
                    "Validation of dictionary's keys failed. Expected keys: {'network_id'}",
                )),
            }
        }
        Some(_) => Err(NeutronError::invalid_input("external_gateway_info must be a dictionary")),
    }
}

pub(super) async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    let q = Query::parse(raw.as_deref())?;
    let out: Vec<Value> = state
        .core
        .routers(&ctx)
        .await?
        .iter()
        .filter(|r| q.matches("id", &r.id) && q.matches("name", &r.name) && q.owned_by(&r.project_id))
        .map(router_view)
        .collect();
    Ok(Json(json!({"routers": q.page(out, &ROUTERS)?})))
}

pub(super) async fn show(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let r = state.core.router(&ctx, &id).await?;
    Ok(Json(json!({"router": router_view(&r)})))
}

pub(super) async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    NeutronBody(body): NeutronBody,
) -> Result<(StatusCode, Json<Value>)> {
    let r = resource(&body, "router")?;
    attributes::check_create(r, attributes::ROUTER)?;
    let name = attributes::text_of(r, "name").unwrap_or_default();
    let description = attributes::text_of(r, "description").unwrap_or_default();
    let admin = r.get("admin_state_up").map(attributes::boolean).transpose()?.unwrap_or(true);
    let gw = gateway(r)?.flatten();
    let router = state.core.router_create(&ctx, &name, &description, admin, gw.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(json!({"router": router_view(&router)}))))
}

pub(super) async fn update(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    NeutronBody(body): NeutronBody,
) -> Result<Json<Value>> {
    let r = resource(&body, "router")?;
    attributes::check_update(
        r,
        attributes::ROUTER,
        &["name", "description", "admin_state_up", "external_gateway_info", "routes"],
    )?;
    if let Some(routes) = r.get("routes")
        && routes.as_array().is_none_or(|a| !a.is_empty())
    {
        return Err(bad_request("Invalid input for routes: extra routes are not supported."));
    }
    let update = RouterUpdate {
        name: attributes::text_of(r, "name"),
        description: attributes::text_of(r, "description"),
        admin_state_up: r.get("admin_state_up").map(attributes::boolean).transpose()?,
        gateway_network_id: gateway(r)?,
    };
    let router = state.core.router_update(&ctx, &id, update).await?;
    Ok(Json(json!({"router": router_view(&router)})))
}

pub(super) async fn delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    state.core.router_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body of `add_router_interface`/`remove_router_interface`: a
/// `subnet_id` or a `port_id`.
fn interface_body(body: &Value) -> Result<(Option<String>, Option<String>)> {
    let b = body.as_object().ok_or_else(|| bad_request("Resource body required"))?;
    let id = |k: &str| match b.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(NeutronError::invalid_input(format!("'{other}' is not a valid UUID"))),
    };
    Ok((id("subnet_id")?, id("port_id")?))
}

fn interface_view(i: &InterfaceInfo) -> Value {
    json!({
        "id": i.router.id, "tenant_id": i.router.project_id, "project_id": i.router.project_id,
        "port_id": i.port.id, "subnet_id": i.port.subnet_id, "subnet_ids": [i.port.subnet_id],
        "network_id": i.port.network_id,
    })
}

pub(super) async fn add_interface(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    NeutronBody(body): NeutronBody,
) -> Result<Json<Value>> {
    let (subnet, port) = interface_body(&body)?;
    let info = state.core.router_interface_add(&ctx, &id, subnet.as_deref(), port.as_deref()).await?;
    Ok(Json(interface_view(&info)))
}

pub(super) async fn remove_interface(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    NeutronBody(body): NeutronBody,
) -> Result<Json<Value>> {
    let (subnet, port) = interface_body(&body)?;
    let info = state.core.router_interface_remove(&ctx, &id, subnet.as_deref(), port.as_deref()).await?;
    Ok(Json(interface_view(&info)))
}
