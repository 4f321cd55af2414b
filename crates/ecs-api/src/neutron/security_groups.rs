//! `/security-groups` and `/security-group-rules`: the groups Nova's
//! os-security-groups shows, with Neutron's rules (direction, ethertype,
//! protocols by name or number, port ranges, remote prefix or group).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use ecs_core::neutron::NeutronRule;
use ecs_types::{SecurityGroup, SecurityGroupRule};
use serde_json::{Value, json};

use super::{Listed, NeutronBody, NeutronError, Query, Result, attributes, resource};
use crate::AppState;
use crate::identity::Caller;

const GROUPS: Listed = Listed {
    sort_keys: &["id", "name", "description", "tenant_id", "project_id"],
    not_found: |id| {
        NeutronError(StatusCode::NOT_FOUND, "SecurityGroupNotFound", format!("Security group {id} does not exist"))
    },
};

const RULES: Listed = Listed {
    sort_keys: &[
        "id",
        "direction",
        "ethertype",
        "protocol",
        "port_range_min",
        "port_range_max",
        "remote_ip_prefix",
        "remote_group_id",
        "security_group_id",
        "tenant_id",
        "project_id",
    ],
    not_found: |id| {
        NeutronError(
            StatusCode::NOT_FOUND,
            "SecurityGroupRuleNotFound",
            format!("Security group rule {id} does not exist"),
        )
    },
};

pub(super) fn rule_view(r: &SecurityGroupRule, project: &str) -> Value {
    json!({
        "id": r.id, "security_group_id": r.group_id, "direction": r.direction, "ethertype": r.ethertype,
        "protocol": r.protocol, "port_range_min": r.from_port, "port_range_max": r.to_port,
        "remote_ip_prefix": r.cidr, "remote_group_id": r.remote_group_id, "remote_address_group_id": null,
        "normalized_cidr": r.cidr.as_deref().and_then(|c| c.parse::<ipnet::IpNet>().ok()).map(|n| n.trunc().to_string()),
        "tenant_id": project, "project_id": project, "description": "", "tags": [], "revision_number": 0,
        "created_at": null, "updated_at": null,
    })
}

fn group_view(g: &SecurityGroup) -> Value {
    json!({
        "id": g.id, "name": g.name, "description": g.description, "tenant_id": g.project_id,
        "project_id": g.project_id, "stateful": true, "shared": false, "tags": [], "revision_number": 0,
        "security_group_rules": g.rules.iter().map(|r| rule_view(r, &g.project_id)).collect::<Vec<_>>(),
    })
}

pub(super) async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    let q = Query::parse(raw.as_deref())?;
    let out: Vec<Value> = state
        .core
        .neutron_security_groups(&ctx)
        .await?
        .iter()
        .filter(|g| q.matches("id", &g.id) && q.matches("name", &g.name) && q.owned_by(&g.project_id))
        .map(group_view)
        .collect();
    Ok(Json(json!({"security_groups": q.page(out, &GROUPS)?})))
}

pub(super) async fn show(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    // Listing first makes the caller's `default` group, as Neutron does on any call.
    state.core.security_groups(&ctx).await?;
    let g = state.core.security_group(&ctx, &id).await?;
    Ok(Json(json!({"security_group": group_view(&g)})))
}

pub(super) async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    NeutronBody(body): NeutronBody,
) -> Result<(StatusCode, Json<Value>)> {
    let g = resource(&body, "security_group")?;
    attributes::check_create(g, attributes::SECURITY_GROUP)?;
    let name = attributes::text_of(g, "name").unwrap_or_default();
    let description = attributes::text_of(g, "description").unwrap_or_default();
    let group = state.core.neutron_security_group_create(&ctx, &name, &description).await?;
    Ok((StatusCode::CREATED, Json(json!({"security_group": group_view(&group)}))))
}

pub(super) async fn update(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    NeutronBody(body): NeutronBody,
) -> Result<Json<Value>> {
    let g = resource(&body, "security_group")?;
    attributes::check_update(g, attributes::SECURITY_GROUP, &["name", "description", "stateful"])?;
    let name = attributes::text_of(g, "name");
    let description = attributes::text_of(g, "description");
    let group = state.core.neutron_security_group_update(&ctx, &id, name.as_deref(), description.as_deref()).await?;
    Ok(Json(json!({"security_group": group_view(&group)})))
}

pub(super) async fn delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    state.core.neutron_security_group_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn rules(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>> {
    let q = Query::parse(raw.as_deref())?;
    let out: Vec<Value> = state
        .core
        .neutron_rules(&ctx)
        .await?
        .iter()
        .filter(|(r, _)| {
            q.matches("id", &r.id)
                && q.matches("security_group_id", &r.group_id)
                && q.matches("direction", &r.direction)
                && q.matches("ethertype", &r.ethertype)
                && q.matches("protocol", r.protocol.as_deref().unwrap_or_default())
        })
        .map(|(r, p)| rule_view(r, p))
        .collect();
    Ok(Json(json!({"security_group_rules": q.page(out, &RULES)?})))
}

pub(super) async fn rule(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let (r, project) = state.core.neutron_rule(&ctx, &id).await?;
    Ok(Json(json!({"security_group_rule": rule_view(&r, &project)})))
}

pub(super) async fn rule_create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    NeutronBody(body): NeutronBody,
) -> Result<(StatusCode, Json<Value>)> {
    let r = resource(&body, "security_group_rule")?;
    attributes::check_create(r, attributes::SECURITY_GROUP_RULE)?;
    let string = |name: &str| -> Result<Option<String>> {
        match attributes::nullable_text(r, name)? {
            Some(v) => Ok(v),
            None => Ok(None),
        }
    };
    let security_group_id = string("security_group_id")?.ok_or_else(|| {
        super::bad_request("Failed to parse request. Required attribute 'security_group_id' not specified")
    })?;
    let direction = string("direction")?
        .ok_or_else(|| super::bad_request("Failed to parse request. Required attribute 'direction' not specified"))?;
    // Protocols may come as numbers.
    let protocol = match r.get("protocol") {
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => string("protocol")?,
    };
    let req = NeutronRule {
        security_group_id,
        direction,
        ethertype: string("ethertype")?,
        protocol,
        port_range_min: attributes::integer(r, "port_range_min")?,
        port_range_max: attributes::integer(r, "port_range_max")?,
        remote_ip_prefix: string("remote_ip_prefix")?,
        remote_group_id: string("remote_group_id")?,
    };
    let group = req.security_group_id.clone();
    let rule = state.core.neutron_rule_create(&ctx, req).await?;
    let project = state.core.security_group(&ctx, &group).await?.project_id;
    Ok((StatusCode::CREATED, Json(json!({"security_group_rule": rule_view(&rule, &project)}))))
}

pub(super) async fn rule_delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    state.core.neutron_rule_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
