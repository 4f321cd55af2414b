//! `/extensions` (what is served, by the aliases clients check) and
//! Neutron's quotas (`/quotas/{project_id}`, its defaults and details).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::{NeutronBody, NeutronError, Result, bad_request};
use crate::AppState;
use crate::identity::Caller;

/// (alias, name, description) of the extensions served.
const EXTENSIONS: &[(&str, &str, &str)] = &[
    ("allowed-address-pairs", "Allowed Address Pairs", "Provides allowed address pairs"),
    ("external-net", "Neutron external network", "Adds external network attribute to network resource."),
    (
        "ext-gw-mode",
        "Neutron L3 Configurable external gateway mode",
        "Extension of the router abstraction for specifying whether SNAT should occur on the external gateway",
    ),
    ("net-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
    ("quotas", "Quota management support", "Expose functions for quotas management per project"),
    ("quota_details", "Quota details management support", "Expose functions for quotas usage statistics per project"),
    (
        "router",
        "Neutron L3 Router",
        "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway.",
    ),
    ("security-group", "security-group", "The security groups extension."),
    ("standard-attr-description", "standard-attr-description", "Extension to add descriptions to standard attributes"),
    (
        "standard-attr-revisions",
        "Resource revision numbers",
        "This extension will display the revision number of neutron resources.",
    ),
    (
        "standard-attr-timestamp",
        "Resource timestamps",
        "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes.",
    ),
    ("project-id", "project_id field enabled", "Extension that indicates that project_id field is enabled."),
];

fn extension_view((alias, name, description): &(&str, &str, &str)) -> Value {
    json!({"alias": alias, "name": name, "description": description, "updated": "2013-01-01T10:00:00-00:00",
        "links": []})
}

pub(super) async fn extensions() -> Json<Value> {
    Json(json!({"extensions": EXTENSIONS.iter().map(extension_view).collect::<Vec<_>>()}))
}

pub(super) async fn extension(Path(alias): Path<String>) -> Result<Json<Value>> {
    let e = EXTENSIONS.iter().find(|(a, _, _)| *a == alias).ok_or_else(|| {
        NeutronError(StatusCode::NOT_FOUND, "HTTPNotFound", format!("Extension with alias {alias} does not exist"))
    })?;
    Ok(Json(json!({"extension": extension_view(e)})))
}

fn limits(q: &std::collections::BTreeMap<&'static str, (i64, i64)>) -> Map<String, Value> {
    q.iter().map(|(k, (limit, _))| (k.to_string(), json!(limit))).collect()
}

/// `GET /quotas`: the caller's project's quotas (Neutron lists those set).
pub(super) async fn list(State(state): State<AppState>, Caller(ctx): Caller) -> Result<Json<Value>> {
    let Some(project) = ctx.project_id().map(String::from) else { return Ok(Json(json!({"quotas": []}))) };
    let q = state.core.neutron_quota(&ctx, &project).await?;
    let mut shown = limits(&q);
    shown.insert("project_id".into(), json!(project));
    shown.insert("tenant_id".into(), json!(project));
    Ok(Json(json!({"quotas": [shown]})))
}

pub(super) async fn show(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let q = state.core.neutron_quota(&ctx, &id).await?;
    Ok(Json(json!({"quota": limits(&q)})))
}

pub(super) async fn defaults(Path(_id): Path<String>) -> Json<Value> {
    let q: Map<String, Value> =
        ecs_core::neutron::QUOTA_DEFAULTS.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    Json(json!({"quota": q}))
}

pub(super) async fn details(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let q = state.core.neutron_quota(&ctx, &id).await?;
    let shown: Map<String, Value> = q
        .iter()
        .map(|(k, (limit, used))| (k.to_string(), json!({"limit": limit, "used": used, "reserved": 0})))
        .collect();
    Ok(Json(json!({"quota": shown})))
}

pub(super) async fn update(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    NeutronBody(body): NeutronBody,
) -> Result<Json<Value>> {
    let q = body.get("quota").and_then(Value::as_object).ok_or_else(|| bad_request("Resource body required"))?;
    let mut wanted = Vec::new();
    for (name, value) in q {
        let limit = match value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| NeutronError::invalid_input(format!("'{value}' is not an integer")))?;
        wanted.push((name.clone(), limit));
    }
    state.core.neutron_quota_update(&ctx, &id, &wanted).await?;
    show(State(state), Caller(ctx), Path(id)).await
}

pub(super) async fn reset(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    state.core.neutron_quota_reset(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
