//! The v3 security group API (`/v3/{project_id}/vpc/security-groups…`,
//! `huaweicloudsdkvpc.v3`): the same groups and rules, rules' ports as
//! `multiport`, every answer and error with its `request_id`.

use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::{Json, response::IntoResponse, response::Response};
use ecs_core::neutron::NeutronRule;
use ecs_types::{SecurityGroup, SecurityGroupRule};
use serde_json::{Value, json};

use super::{Area, InArea, ListQuery, VpcBody, VpcCall, VpcError, opt_str, parse, req_str};
use crate::AppState;
use crate::request_id::RequestId;

type Reply = Result<Json<Value>, VpcError>;

fn rule_view(r: &SecurityGroupRule, project: &str) -> Value {
    let multiport = match (r.from_port, r.to_port) {
        (Some(a), Some(b)) if a == b => Some(a.to_string()),
        (Some(a), Some(b)) => Some(format!("{a}-{b}")),
        (Some(a), None) => Some(a.to_string()),
        _ => None,
    };
    let prefix = r.cidr.clone().or_else(|| {
        r.remote_group_id.is_none().then(|| if r.ethertype == "IPv6" { "::/0" } else { "0.0.0.0/0" }.to_string())
    });
    json!({
        "id": r.id, "description": "", "security_group_id": r.group_id, "direction": r.direction,
        "protocol": r.protocol.clone().unwrap_or_default(), "ethertype": r.ethertype,
        "multiport": multiport.unwrap_or_default(), "action": "allow", "priority": 1,
        "remote_group_id": r.remote_group_id.clone().unwrap_or_default(),
        "remote_ip_prefix": prefix.unwrap_or_default(), "remote_address_group_id": "",
        "created_at": null, "updated_at": null, "project_id": project, "enabled": true,
    })
}

fn group_view(g: &SecurityGroup, with_rules: bool) -> Value {
    let mut v = json!({
        "id": g.id, "name": g.name, "description": g.description, "project_id": g.project_id,
        "created_at": null, "updated_at": null, "enterprise_project_id": "0", "tags": [],
    });
    if with_rules {
        v["security_group_rules"] = g.rules.iter().map(|r| rule_view(r, &g.project_id)).collect();
    }
    v
}

/// `multiport`: a port or a range (`22`, `22-80`); lists are not supported.
fn port_range(rid: &str, multiport: Option<&str>) -> Result<(Option<i64>, Option<i64>), VpcError> {
    let Some(m) = multiport.filter(|m| !m.is_empty()) else { return Ok((None, None)) };
    let bad = || VpcError::invalid(Area::Rule, format!("multiport {m} is not a port or a range.")).v3(rid);
    let port = |p: &str| p.trim().parse::<i64>().map_err(|_| bad());
    match m.split_once('-') {
        None => {
            let p = port(m)?;
            Ok((Some(p), Some(p)))
        }
        Some((a, b)) => Ok((Some(port(a)?), Some(port(b)?))),
    }
}

fn own_project(call: &VpcCall) -> String {
    call.ctx.project_id().unwrap_or_default().to_string()
}

pub(super) async fn groups(
    State(state): State<AppState>,
    Extension(RequestId(rid)): Extension<RequestId>,
    call: VpcCall,
    RawQuery(raw): RawQuery,
) -> Reply {
    let a = Area::SecurityGroup;
    let q = ListQuery::parse(a, raw.as_deref()).map_err(|e| e.v3(&rid))?;
    let project = own_project(&call);
    let groups: Vec<SecurityGroup> = state
        .core
        .neutron_security_groups(&call.ctx)
        .await
        .area(a)
        .map_err(|e| e.v3(&rid))?
        .into_iter()
        .filter(|g| {
            g.project_id == project
                && q.matches("id", &g.id)
                && q.matches("name", &g.name)
                && q.matches("description", &g.description)
        })
        .collect();
    let page = q.page(a, groups, |g| &g.id).map_err(|e| e.v3(&rid))?;
    let views: Vec<Value> = page.iter().map(|g| group_view(g, false)).collect();
    let page_info = json!({"previous_marker": page.first().map(|g| g.id.clone()).unwrap_or_default(),
        "current_count": page.len()});
    Ok(Json(json!({"request_id": rid, "security_groups": views, "page_info": page_info})))
}

pub(super) async fn group(
    State(state): State<AppState>,
    Extension(RequestId(rid)): Extension<RequestId>,
    call: VpcCall,
    Path((_project, id)): Path<(String, String)>,
) -> Reply {
    let g = state.core.security_group(&call.ctx, &id).await.area(Area::SecurityGroup).map_err(|e| e.v3(&rid))?;
    Ok(Json(json!({"request_id": rid, "security_group": group_view(&g, true)})))
}

pub(super) async fn group_create(
    State(state): State<AppState>,
    Extension(RequestId(rid)): Extension<RequestId>,
    call: VpcCall,
    VpcBody(body): VpcBody,
) -> Reply {
    let a = Area::SecurityGroup;
    let v3 = |e: VpcError| e.v3(&rid);
    let o = parse(a, &body, "security_group").map_err(v3)?;
    let name = req_str(a, &o, "name").map_err(v3)?;
    let description = opt_str(a, &o, "description").map_err(v3)?.unwrap_or_default();
    let g = state.core.vpc_security_group_create(&call.ctx, name, description).await.area(a).map_err(v3)?;
    Ok(Json(json!({"request_id": rid, "security_group": group_view(&g, true)})))
}

pub(super) async fn group_update(
    State(state): State<AppState>,
    Extension(RequestId(rid)): Extension<RequestId>,
    call: VpcCall,
    Path((_project, id)): Path<(String, String)>,
    VpcBody(body): VpcBody,
) -> Reply {
    let a = Area::SecurityGroup;
    let v3 = |e: VpcError| e.v3(&rid);
    let o = parse(a, &body, "security_group").map_err(v3)?;
    let name = opt_str(a, &o, "name").map_err(v3)?;
    let description = opt_str(a, &o, "description").map_err(v3)?;
    let g = state.core.neutron_security_group_update(&call.ctx, &id, name, description).await.area(a).map_err(v3)?;
    Ok(Json(json!({"request_id": rid, "security_group": group_view(&g, true)})))
}

pub(super) async fn group_delete(
    State(state): State<AppState>,
    Extension(RequestId(rid)): Extension<RequestId>,
    call: VpcCall,
    Path((_project, id)): Path<(String, String)>,
) -> Response {
    match state.core.neutron_security_group_delete(&call.ctx, &id).await.area(Area::SecurityGroup) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.v3(&rid).into_response(),
    }
}

pub(super) async fn rules(
    State(state): State<AppState>,
    Extension(RequestId(rid)): Extension<RequestId>,
    call: VpcCall,
    RawQuery(raw): RawQuery,
) -> Reply {
    let a = Area::Rule;
    let v3 = |e: VpcError| e.v3(&rid);
    let q = ListQuery::parse(a, raw.as_deref()).map_err(v3)?;
    let project = own_project(&call);
    let rules: Vec<(SecurityGroupRule, String)> = state
        .core
        .neutron_rules(&call.ctx)
        .await
        .area(a)
        .map_err(v3)?
        .into_iter()
        .filter(|(r, owner)| {
            *owner == project
                && q.matches("id", &r.id)
                && q.matches("security_group_id", &r.group_id)
                && q.matches("direction", &r.direction)
                && q.matches("ethertype", &r.ethertype)
                && q.matches("protocol", r.protocol.as_deref().unwrap_or_default())
        })
        .collect();
    let page = q.page(a, rules, |(r, _)| &r.id).map_err(v3)?;
    let views: Vec<Value> = page.iter().map(|(r, p)| rule_view(r, p)).collect();
    let page_info = json!({"previous_marker": page.first().map(|(r, _)| r.id.clone()).unwrap_or_default(),
        "current_count": page.len()});
    Ok(Json(json!({"request_id": rid, "security_group_rules": views, "page_info": page_info})))
}

pub(super) async fn rule(
    State(state): State<AppState>,
    Extension(RequestId(rid)): Extension<RequestId>,
    call: VpcCall,
    Path((_project, id)): Path<(String, String)>,
) -> Reply {
    let (r, project) = state.core.neutron_rule(&call.ctx, &id).await.area(Area::Rule).map_err(|e| e.v3(&rid))?;
    Ok(Json(json!({"request_id": rid, "security_group_rule": rule_view(&r, &project)})))
}

pub(super) async fn rule_create(
    State(state): State<AppState>,
    Extension(RequestId(rid)): Extension<RequestId>,
    call: VpcCall,
    VpcBody(body): VpcBody,
) -> Reply {
    let a = Area::Rule;
    let v3 = |e: VpcError| e.v3(&rid);
    let o = parse(a, &body, "security_group_rule").map_err(v3)?;
    let text = |field| opt_str(a, &o, field).map(|v| v.filter(|s| !s.is_empty()).map(String::from)).map_err(v3);
    if text("action")?.is_some_and(|action| action != "allow") {
        return Err(v3(VpcError::invalid(a, "Only allow rules are supported.")));
    }
    if text("remote_address_group_id")?.is_some() {
        return Err(v3(VpcError::invalid(a, "remote_address_group_id is not supported.")));
    }
    let (min, max) = port_range(&rid, text("multiport")?.as_deref())?;
    let req = NeutronRule {
        security_group_id: req_str(a, &o, "security_group_id").map_err(v3)?.to_string(),
        direction: req_str(a, &o, "direction").map_err(v3)?.to_string(),
        ethertype: text("ethertype")?,
        protocol: text("protocol")?,
        port_range_min: min,
        port_range_max: max,
        remote_ip_prefix: text("remote_ip_prefix")?,
        remote_group_id: text("remote_group_id")?,
    };
    let r = state.core.neutron_rule_create(&call.ctx, req).await.area(a).map_err(v3)?;
    Ok(Json(json!({"request_id": rid, "security_group_rule": rule_view(&r, &own_project(&call))})))
}

pub(super) async fn rule_delete(
    State(state): State<AppState>,
    Extension(RequestId(rid)): Extension<RequestId>,
    call: VpcCall,
    Path((_project, id)): Path<(String, String)>,
) -> Response {
    match state.core.neutron_rule_delete(&call.ctx, &id).await.area(Area::Rule) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.v3(&rid).into_response(),
    }
}
