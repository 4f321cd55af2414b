//! `/os-security-groups`, `/os-security-group-rules` (both gone at 2.36, as
//! in Nova) and `/servers/{id}/os-security-groups`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ecs_core::security_group::RuleRequest;
use ecs_types::{SecurityGroup, SecurityGroupRule};
use serde_json::{Map, Value, json};

use super::{NovaBody, NovaCall, NovaError, gone_at_236};
use crate::AppState;

type Result<T> = std::result::Result<T, NovaError>;

fn rule_view(r: &SecurityGroupRule, groups: &[SecurityGroup]) -> Value {
    let group = match &r.remote_group_id {
        Some(id) => groups
            .iter()
            .find(|g| &g.id == id)
            .map(|g| json!({"name": g.name, "tenant_id": g.project_id}))
            .unwrap_or_else(|| json!({})),
        None => json!({}),
    };
    json!({
        "id": r.id,
        "parent_group_id": r.group_id,
        "ip_protocol": r.protocol,
        "from_port": r.from_port,
        "to_port": r.to_port,
        "ip_range": r.cidr.as_ref().map(|c| json!({"cidr": c})).unwrap_or_else(|| json!({})),
        "group": group,
    })
}

fn group_view(g: &SecurityGroup, groups: &[SecurityGroup]) -> Value {
    json!({
        "id": g.id,
        "name": g.name,
        "description": g.description,
        "tenant_id": g.project_id,
        // Nova shows the ingress rules only (its Neutron proxy does the same).
        "rules": g.rules.iter().filter(|r| r.direction == "ingress").map(|r| rule_view(r, groups)).collect::<Vec<_>>(),
    })
}

/// Nova's checks of a group's name or description.
fn property(body: &Map<String, Value>, key: &str) -> Result<String> {
    let v = body.get(key).ok_or_else(|| NovaError::bad_request(format!("Security group {key} is required")))?;
    let s =
        v.as_str().ok_or_else(|| NovaError::bad_request(format!("Security group {key} is not a string or unicode")))?;
    if key == "name" && s.trim().is_empty() {
        return Err(NovaError::bad_request(format!("Security group {key} is a blank string")));
    }
    if s.chars().count() > 255 {
        return Err(NovaError::bad_request(format!("Security group {key} should not be greater than 255 characters.")));
    }
    Ok(s.to_string())
}

/// Nova's `validate_id`: a group or rule id in a path must look like a
/// uuid (Neutron's ids) before it is looked up.
fn path_id(id: &str) -> Result<&str> {
    match uuid::Uuid::try_parse(id) {
        Ok(_) => Ok(id),
        Err(_) => Err(NovaError::bad_request("Security group id should be uuid")),
    }
}

fn group_body(body: &Value) -> Result<&Map<String, Value>> {
    body.get("security_group")
        .and_then(Value::as_object)
        .ok_or_else(|| NovaError::bad_request("Malformed request body"))
}

/// Nova's `index_query`: `common.limited` paging, `all_tenants`.
const LIST: super::validate::ListRules = super::validate::ListRules {
    paging: super::validate::Paging::Offset,
    filters: &["all_tenants"],
    strict_from: None,
};

pub async fn index(
    State(state): State<AppState>,
    call: NovaCall,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Result<Json<Value>> {
    gone_at_236(&call)?;
    let list = super::validate::ListQuery::parse(raw.as_deref(), call.version, &LIST)?;
    // Nova: the parameter's presence asks for every project's, whatever its value.
    let all_tenants = list.params.get("all_tenants").is_some();
    let groups = state.core.security_group_list(&call.ctx, all_tenants).await?;
    let page = list.page(groups.clone(), |g| g.id.clone())?;
    Ok(Json(json!({"security_groups": page.iter().map(|g| group_view(g, &groups)).collect::<Vec<_>>()})))
}

pub async fn show(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<Json<Value>> {
    gone_at_236(&call)?;
    let group = state.core.security_group(&call.ctx, path_id(&id)?).await?;
    let groups = state.core.security_groups(&call.ctx).await?;
    Ok(Json(json!({"security_group": group_view(&group, &groups)})))
}

pub async fn create(State(state): State<AppState>, call: NovaCall, NovaBody(body): NovaBody) -> Result<Json<Value>> {
    gone_at_236(&call)?;
    let g = group_body(&body)?;
    let (name, description) = (property(g, "name")?, property(g, "description")?);
    let group = state.core.security_group_create(&call.ctx, &name, &description).await?;
    let groups = state.core.security_groups(&call.ctx).await?;
    Ok(Json(json!({"security_group": group_view(&group, &groups)})))
}

pub async fn update(
    State(state): State<AppState>,
    call: NovaCall,
    Path(id): Path<String>,
    NovaBody(body): NovaBody,
) -> Result<Json<Value>> {
    gone_at_236(&call)?;
    let g = group_body(&body)?;
    let (name, description) = (property(g, "name")?, property(g, "description")?);
    let group = state.core.security_group_update(&call.ctx, path_id(&id)?, &name, &description).await?;
    let groups = state.core.security_groups(&call.ctx).await?;
    Ok(Json(json!({"security_group": group_view(&group, &groups)})))
}

pub async fn delete(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<StatusCode> {
    gone_at_236(&call)?;
    state.core.security_group_delete(&call.ctx, path_id(&id)?).await?;
    Ok(StatusCode::ACCEPTED)
}

/// A port number as Nova takes it: an integer or a string of one.
fn port(v: Option<&Value>, key: &str) -> Result<Option<i64>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| NovaError::bad_request(format!("Invalid {key}"))),
        Some(Value::String(s)) => {
            s.parse::<i64>().map(Some).map_err(|_| NovaError::bad_request(format!("{key} must be an integer.")))
        }
        Some(_) => Err(NovaError::bad_request(format!("{key} must be an integer."))),
    }
}

/// A rule's text field: absent or null is not given; any other type is
/// refused with `wrong(value)`, never read as "not given" (a `"cidr": 0`
/// taken as absent would open the rule to 0.0.0.0/0).
fn rule_text(r: &Map<String, Value>, key: &str, wrong: impl FnOnce(&Value) -> NovaError) -> Result<Option<String>> {
    match r.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(wrong(other)),
    }
}

/// A group id in a rule, as Nova's schema takes it: a string in uuid
/// format (null or absent: not given).
fn rule_group_id(r: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    let wrong = |v: &Value, why: String| super::validate::invalid(key, v, why);
    match r.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if uuid::Uuid::try_parse(s).is_ok() => Ok(Some(s.clone())),
        Some(v @ Value::String(s)) => Err(wrong(v, format!("'{s}' is not a 'uuid'"))),
        Some(v) => Err(wrong(v, format!("{v} is not of type 'string'"))),
    }
}

pub async fn rule_create(
    State(state): State<AppState>,
    call: NovaCall,
    NovaBody(body): NovaBody,
) -> Result<Json<Value>> {
    gone_at_236(&call)?;
    let r = body
        .get("security_group_rule")
        .and_then(Value::as_object)
        .ok_or_else(|| NovaError::bad_request("Malformed request body"))?;
    let req = RuleRequest {
        parent_group_id: rule_group_id(r, "parent_group_id")?.ok_or_else(|| {
            let rule = Value::Object(r.clone());
            super::validate::invalid("security_group_rule", &rule, "'parent_group_id' is a required property")
        })?,
        ip_protocol: rule_text(r, "ip_protocol", |v| NovaError::bad_request(format!("Invalid IP protocol {v}.")))?,
        from_port: port(r.get("from_port"), "from_port")?,
        to_port: port(r.get("to_port"), "to_port")?,
        cidr: rule_text(r, "cidr", |v| NovaError::bad_request(format!("Invalid cidr {v}.")))?,
        group_id: rule_group_id(r, "group_id")?,
    };
    let rule = state.core.security_group_rule_create(&call.ctx, req).await?;
    let groups = state.core.security_groups(&call.ctx).await?;
    Ok(Json(json!({"security_group_rule": rule_view(&rule, &groups)})))
}

pub async fn rule_delete(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<StatusCode> {
    gone_at_236(&call)?;
    state.core.security_group_rule_delete(&call.ctx, path_id(&id)?).await?;
    Ok(StatusCode::ACCEPTED)
}

pub async fn of_server(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<Json<Value>> {
    let groups = state.core.server_security_groups(&call.ctx, &id).await?;
    Ok(Json(json!({"security_groups": groups.iter().map(|g| group_view(g, &groups)).collect::<Vec<_>>()})))
}
