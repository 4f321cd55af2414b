//! `/os-server-groups` (2.13 project/user, 2.15 soft policies, 2.64 policy + rules).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use ecs_types::ServerGroup;
use serde_json::{Value, json};

use super::validate::{self, ListQuery, ListRules, Paging, invalid};
use super::{NovaBody, NovaCall, NovaError};
use crate::AppState;

type Result<T> = std::result::Result<T, NovaError>;

fn view(call: &NovaCall, g: &ServerGroup) -> Value {
    let mut v = json!({"id": g.id, "name": g.name, "members": g.members});
    if call.version.at_least(64) {
        v["policy"] = json!(g.policy);
        v["rules"] = match g.max_server_per_host {
            Some(n) => json!({"max_server_per_host": n}),
            None => json!({}),
        };
    } else {
        v["policies"] = json!([g.policy]);
        v["metadata"] = json!({});
    }
    if call.version.at_least(13) {
        v["project_id"] = json!(g.project_id);
        v["user_id"] = json!(g.user_id);
    }
    v
}

/// Nova's `index_query` (strict from 2.75).
const LIST: ListRules = ListRules { paging: Paging::Offset, filters: &["all_projects"], strict_from: Some(75) };

pub async fn index(State(state): State<AppState>, call: NovaCall, RawQuery(raw): RawQuery) -> Result<Json<Value>> {
    let list = ListQuery::parse(raw.as_deref(), call.version, &LIST)?;
    let all = list
        .params
        .get("all_projects")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes"));
    let groups = list.page(state.core.server_groups(&call.ctx, all).await?, |g| g.id.clone())?;
    Ok(Json(json!({"server_groups": groups.iter().map(|g| view(&call, g)).collect::<Vec<_>>()})))
}

pub async fn show(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<Json<Value>> {
    Ok(Json(json!({"server_group": view(&call, &state.core.server_group(&call.ctx, &id).await?)})))
}

pub async fn create(State(state): State<AppState>, call: NovaCall, NovaBody(body): NovaBody) -> Result<Json<Value>> {
    validate::object(&body, "", &["server_group"], &["server_group"])?;
    let v264 = call.version.at_least(64);
    let (allowed, required): (&[&str], &[&str]) = if v264 {
        (&["name", "policy", "rules"], &["name", "policy"])
    } else {
        (&["name", "policies"], &["name", "policies"])
    };
    let g = validate::object(&body["server_group"], "server_group", allowed, required)?;
    let name = validate::string(&g["name"], "name", 1, 255)?;
    let mut choices = vec!["affinity", "anti-affinity"];
    if call.version.at_least(15) {
        choices.extend(["soft-affinity", "soft-anti-affinity"]);
    }
    let policy = if v264 {
        validate::one_of(&g["policy"], "policy", &choices)?.to_string()
    } else {
        let list =
            g["policies"].as_array().ok_or_else(|| invalid("policies", &g["policies"], "is not of type 'array'"))?;
        if list.len() != 1 {
            return Err(invalid(
                "policies",
                &g["policies"],
                format!("{} is not valid under the given schema", g["policies"]),
            ));
        }
        validate::one_of(&list[0], "policies/0", &choices)?.to_string()
    };
    let max = match g.get("rules") {
        None => None,
        Some(r) => {
            let rules = validate::object(r, "rules", &["max_server_per_host"], &[])?;
            rules.get("max_server_per_host").map(|m| validate::integer(m, "max_server_per_host", 1)).transpose()?
        }
    };
    let group = state.core.server_group_create(&call.ctx, name, &policy, max).await?;
    Ok(Json(json!({"server_group": view(&call, &group)})))
}

pub async fn delete(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<StatusCode> {
    state.core.server_group_delete(&call.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
