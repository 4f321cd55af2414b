//! `os-services`: one `nova-compute` service per compute host. From 2.53
//! services are named by UUID and changed with `PUT /os-services/{id}`;
//! before, by host and binary in the body of `PUT /os-services/{action}`
//! (enable, disable, disable-log-reason, and force-down from 2.11).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use ecs_core::service::{Service, ServiceChange};
use serde_json::{Value, json};

use super::validate::{ListQuery, ListRules, Paging, boolean, object, one_of, string};
use super::{NovaBody, NovaCall, NovaError};
use crate::AppState;

type Result<T> = std::result::Result<T, NovaError>;

/// Nova's `index_query_schema` for services (strict from 2.75).
const SERVICE_LIST: ListRules = ListRules { paging: Paging::None, filters: &["host", "binary"], strict_from: Some(75) };

fn render(state: &AppState, call: &NovaCall, s: &Service) -> Value {
    let h = &s.host;
    let mut v = json!({
        "id": if call.version.at_least(53) { json!(h.id) } else { json!(h.number) },
        "binary": s.binary, "host": h.name, "zone": h.availability_zone,
        "status": if h.enabled { "enabled" } else { "disabled" },
        "state": if s.up && !super::hosts::sim_lost(state, h) { "up" } else { "down" },
        "updated_at": super::hosts::time(h.heartbeat_at),
        "disabled_reason": h.disabled_reason,
    });
    if call.version.at_least(11) {
        v["forced_down"] = json!(h.forced_down);
    }
    v
}

pub async fn index(State(state): State<AppState>, call: NovaCall, RawQuery(raw): RawQuery) -> Result<Json<Value>> {
    let query = ListQuery::parse(raw.as_deref(), call.version, &SERVICE_LIST)?;
    let list = state.core.service_list(&call.ctx, query.params.get("host"), query.params.get("binary")).await?;
    Ok(Json(json!({"services": list.iter().map(|s| render(&state, &call, s)).collect::<Vec<_>>()})))
}

/// `disabled_reason`: a string of 1 to 255 characters.
fn reason(body: &Value) -> Result<Option<String>> {
    body.get("disabled_reason").map(|v| string(v, "disabled_reason", 1, 255).map(str::to_string)).transpose()
}

fn forced_down(body: &Value) -> Result<Option<bool>> {
    body.get("forced_down").map(|v| boolean(v, "forced_down")).transpose()
}

pub async fn update(
    State(state): State<AppState>,
    call: NovaCall,
    Path(id): Path<String>,
    NovaBody(body): NovaBody,
) -> Result<Json<Value>> {
    if !call.version.at_least(53) {
        return update_by_host(state, call, id, body).await;
    }
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(NovaError::bad_request(format!("Invalid uuid {id}")));
    }
    object(&body, "", &["status", "disabled_reason", "forced_down"], &[])?;
    let enabled = match body.get("status") {
        Some(v) => Some(one_of(v, "status", &["enabled", "disabled"])? == "enabled"),
        None => None,
    };
    let change = ServiceChange { enabled, disabled_reason: reason(&body)?, forced_down: forced_down(&body)? };
    let service = state.core.service_update(&call.ctx, &id, change).await?;
    Ok(Json(json!({"service": render(&state, &call, &service)})))
}

/// The pre-2.53 actions: the path names the action, the body the service.
async fn update_by_host(state: AppState, call: NovaCall, action: String, body: Value) -> Result<Json<Value>> {
    let force_down = call.version.at_least(11) && action == "force-down";
    if !force_down && !matches!(action.as_str(), "enable" | "disable" | "disable-log-reason") {
        return Err(NovaError::new(StatusCode::NOT_FOUND, "Unknown action"));
    }
    let allowed: &[&str] = if call.version.at_least(11) {
        &["host", "binary", "disabled_reason", "forced_down"]
    } else {
        &["host", "binary", "disabled_reason"]
    };
    object(&body, "", allowed, &["host", "binary"])?;
    let host = string(&body["host"], "host", 1, 255)?.to_string();
    let binary = string(&body["binary"], "binary", 0, usize::MAX)?.to_string();
    let mut change = ServiceChange::default();
    let mut out = json!({"host": host, "binary": binary});
    match action.as_str() {
        "enable" => {
            change.enabled = Some(true);
            out["status"] = json!("enabled");
        }
        "disable" => {
            change.enabled = Some(false);
            out["status"] = json!("disabled");
        }
        "disable-log-reason" => {
            let Some(why) = reason(&body)? else {
                return Err(NovaError::bad_request("Missing disabled reason field"));
            };
            change.enabled = Some(false);
            change.disabled_reason = Some(why.clone());
            out["status"] = json!("disabled");
            out["disabled_reason"] = json!(why);
        }
        _ => {
            let Some(down) = forced_down(&body)? else {
                return Err(NovaError::bad_request("Missing forced_down field"));
            };
            change.forced_down = Some(down);
            out["forced_down"] = json!(down);
        }
    }
    state.core.service_update_by_host(&call.ctx, &host, &binary, change).await?;
    Ok(Json(json!({"service": out})))
}

pub async fn delete(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<StatusCode> {
    let by_number = !call.version.at_least(53);
    if by_number {
        if id.trim().parse::<i64>().is_err() {
            return Err(NovaError::bad_request("Invalid input received: id must be an integer"));
        }
    } else if uuid::Uuid::parse_str(&id).is_err() {
        return Err(NovaError::bad_request(format!("Invalid uuid {id}")));
    }
    state.core.service_delete(&call.ctx, &id, by_number).await?;
    Ok(StatusCode::NO_CONTENT)
}
