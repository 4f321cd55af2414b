//! Security groups and their rules, as the VPC API's v1 paths show
//! Neutron's (the same groups Nova and ECS servers are in).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use ecs_core::neutron::NeutronRule;
use ecs_types::{SecurityGroup, SecurityGroupRule};
use serde_json::{Value, json};

use super::{Area, InArea, ListQuery, VpcBody, VpcCall, VpcError, opt_int, opt_str, parse, req_str};
use crate::AppState;

type Reply = Result<Json<Value>, VpcError>;

pub(super) fn rule_view(r: &SecurityGroupRule, project: &str) -> Value {
    json!({
        "id": r.id, "description": "", "security_group_id": r.group_id, "direction": r.direction,
        "ethertype": r.ethertype, "protocol": r.protocol, "port_range_min": r.from_port,
        "port_range_max": r.to_port, "remote_ip_prefix": r.cidr, "remote_group_id": r.remote_group_id,
        "remote_address_group_id": null, "tenant_id": project,
    })
}

fn group_view(g: &SecurityGroup) -> Value {
    json!({
        "id": g.id, "name": g.name, "description": g.description, "vpc_id": "", "enterprise_project_id": "0",
        "security_group_rules": g.rules.iter().map(|r| rule_view(r, &g.project_id)).collect::<Vec<_>>(),
    })
}

/// The caller's own groups (an admin's too: the VPC API is per project).
async fn own_groups(state: &AppState, call: &VpcCall) -> Result<Vec<SecurityGroup>, VpcError> {
    let project = call.ctx.project_id().unwrap_or_default().to_string();
    Ok(state
        .core
        .neutron_security_groups(&call.ctx)
        .await
        .area(Area::SecurityGroup)?
        .into_iter()
        .filter(|g| g.project_id == project)
        .collect())
}

pub(super) async fn list(State(state): State<AppState>, call: VpcCall, RawQuery(raw): RawQuery) -> Reply {
    let q = ListQuery::parse(Area::SecurityGroup, raw.as_deref())?;
    let groups = own_groups(&state, &call).await?;
    let page = q.page(Area::SecurityGroup, groups, |g| &g.id)?;
    Ok(Json(json!({"security_groups": page.iter().map(group_view).collect::<Vec<_>>()})))
}

pub(super) async fn show(
    State(state): State<AppState>,
    call: VpcCall,
    Path((_project, id)): Path<(String, String)>,
) -> Reply {
    let g = state.core.security_group(&call.ctx, &id).await.area(Area::SecurityGroup)?;
    Ok(Json(json!({"security_group": group_view(&g)})))
}

pub(super) async fn create(State(state): State<AppState>, call: VpcCall, VpcBody(body): VpcBody) -> Reply {
    let a = Area::SecurityGroup;
    let o = parse(a, &body, "security_group")?;
    let name = req_str(a, &o, "name")?;
    if let Some(vpc_id) = opt_str(a, &o, "vpc_id")?.filter(|v| !v.is_empty()) {
        state.core.vpc(&call.ctx, vpc_id).await.area(Area::Vpc)?;
    }
    let g = state.core.vpc_security_group_create(&call.ctx, name, "").await.area(a)?;
    Ok(Json(json!({"security_group": group_view(&g)})))
}

pub(super) async fn delete(
    State(state): State<AppState>,
    call: VpcCall,
    Path((_project, id)): Path<(String, String)>,
) -> Result<StatusCode, VpcError> {
    state.core.neutron_security_group_delete(&call.ctx, &id).await.area(Area::SecurityGroup)?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn rules(State(state): State<AppState>, call: VpcCall, RawQuery(raw): RawQuery) -> Reply {
    let q = ListQuery::parse(Area::Rule, raw.as_deref())?;
    let project = call.ctx.project_id().unwrap_or_default().to_string();
    let rules: Vec<(SecurityGroupRule, String)> = state
        .core
        .neutron_rules(&call.ctx)
        .await
        .area(Area::Rule)?
        .into_iter()
        .filter(|(r, owner)| {
            *owner == project
                && q.matches("security_group_id", &r.group_id)
                && q.matches("remote_ip_prefix", r.cidr.as_deref().unwrap_or_default())
        })
        .collect();
    let page = q.page(Area::Rule, rules, |(r, _)| &r.id)?;
    Ok(Json(json!({"security_group_rules": page.iter().map(|(r, p)| rule_view(r, p)).collect::<Vec<_>>()})))
}

pub(super) async fn rule(
    State(state): State<AppState>,
    call: VpcCall,
    Path((_project, id)): Path<(String, String)>,
) -> Reply {
    let (r, project) = state.core.neutron_rule(&call.ctx, &id).await.area(Area::Rule)?;
    Ok(Json(json!({"security_group_rule": rule_view(&r, &project)})))
}

pub(super) async fn rule_create(State(state): State<AppState>, call: VpcCall, VpcBody(body): VpcBody) -> Reply {
    let a = Area::Rule;
    let o = parse(a, &body, "security_group_rule")?;
    let text = |field| opt_str(a, &o, field).map(|v| v.filter(|s| !s.is_empty()).map(String::from));
    let req = NeutronRule {
        security_group_id: req_str(a, &o, "security_group_id")?.to_string(),
        direction: req_str(a, &o, "direction")?.to_string(),
        ethertype: text("ethertype")?,
        protocol: text("protocol")?,
        port_range_min: opt_int(a, &o, "port_range_min")?,
        port_range_max: opt_int(a, &o, "port_range_max")?,
        remote_ip_prefix: text("remote_ip_prefix")?,
        remote_group_id: text("remote_group_id")?,
    };
    if text("remote_address_group_id")?.is_some() {
        return Err(VpcError::invalid(a, "remote_address_group_id is not supported."));
    }
    let r = state.core.neutron_rule_create(&call.ctx, req).await.area(a)?;
    let project = call.ctx.project_id().unwrap_or_default();
    Ok(Json(json!({"security_group_rule": rule_view(&r, project)})))
}

pub(super) async fn rule_delete(
    State(state): State<AppState>,
    call: VpcCall,
    Path((_project, id)): Path<(String, String)>,
) -> Result<StatusCode, VpcError> {
    state.core.neutron_rule_delete(&call.ctx, &id).await.area(Area::Rule)?;
    Ok(StatusCode::NO_CONTENT)
}
