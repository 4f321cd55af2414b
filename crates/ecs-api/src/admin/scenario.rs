//! `/admin/v1/scenario`: the fault scenario (`ecs_hypervisor::scenario`) —
//! `PUT` loads one (replacing the last; counters start at zero and timed
//! rules count from then), `GET` shows its rules with how often each met
//! its trigger and fired and what is pending, `DELETE` clears it. The same
//! document is loaded at start by `ecsd serve --scenario FILE`
//! ([`load_file`]). Also the HTTP hook of the rules on routes ([`gate`]).

use std::path::Path;

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use ecs_hypervisor::scenario::{Effect, Scenario, ScenarioReport, Trigger};

#[allow(unused_imports)] // the OpenAPI examples
use serde_json::json;

use super::{AdminBody, AdminCall, AdminError};
use crate::AppState;
use crate::dialect::Dialect;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/v1/scenario", get(show).put(replace).delete(clear))
}

#[utoipa::path(
    get,
    path = "/admin/v1/scenario",
    tag = "ecsd admin",
    summary = "Show the fault scenario: its rules, how often each met its trigger and fired, what is pending",
    responses(
        (status = 200, description = "`{\"rules\": [{\"rule\", \"seen\", \"fired\", \"pending\", \"due_in_ms\"?}], \"loaded_ms_ago\"?}`", body = Object),
    ),
)]
pub(crate) async fn show(State(state): State<AppState>, _: AdminCall) -> Json<ScenarioReport> {
    Json(state.core.scenarios.report())
}

#[utoipa::path(
    put,
    path = "/admin/v1/scenario",
    tag = "ecsd admin",
    summary = "Load a fault scenario, replacing the one loaded (counters restart, timed rules count from now)",
    request_body(content = Object, description = "`rules`: each a trigger (`op` [+ `host`], `request` + `flavor`/`image`/`server_name`, `route`, `after_ms`) and an effect (`fail`, `latency_ms`, `no_valid_host`, `error` [+ `message`], `status`, `host_down`, `host_up`), with `nth`/`every`/`times`.", example = json!({"rules": [{"op": "create", "host": "sim-host-1", "nth": 3, "no_valid_host": true}, {"op": "reboot", "latency_ms": 30000}, {"after_ms": 10000, "host_down": "sim-host-1"}, {"request": "create", "flavor": "s3.large.2", "error": "Ecs.0023"}, {"route": "GET /v2.1/servers/{server_id}", "every": 5, "status": 503}]})),
    responses(
        (status = 200, description = "The scenario as loaded, with its counters.", body = Object),
    ),
)]
pub(crate) async fn replace(
    State(state): State<AppState>,
    _: AdminCall,
    AdminBody(mut scenario): AdminBody<Scenario>,
) -> Result<Json<ScenarioReport>, AdminError> {
    check(&state, &mut scenario).await.map_err(|p| AdminError::invalid_document(p.field, p.reason))?;
    install(&state, scenario);
    Ok(Json(state.core.scenarios.report()))
}

#[utoipa::path(
    delete,
    path = "/admin/v1/scenario",
    tag = "ecsd admin",
    summary = "Clear the fault scenario (pending timed rules are cancelled)",
    responses((status = 204, description = "Cleared.")),
)]
pub(crate) async fn clear(State(state): State<AppState>, _: AdminCall) -> StatusCode {
    state.core.scenarios.clear();
    StatusCode::NO_CONTENT
}

/// What the document's own parse cannot check: that a route is one of
/// ecsd's, that an error code is one of the ECS codes.
pub struct Problem {
    /// The field's path (`rules[2].route`).
    pub field: String,
    pub reason: String,
    /// The value at fault, to find it in a file.
    pub value: String,
}

/// Route templates are taken as the router spells them (`{id}` for a
/// rule's `{flavor_id}`).
pub async fn check(state: &AppState, scenario: &mut Scenario) -> Result<(), Problem> {
    for (i, rule) in scenario.rules.iter_mut().enumerate() {
        if let Trigger::Route(key) = rule.trigger.clone() {
            if let Some(template) = crate::route_template(state, &key.method, &key.template).await {
                rule.set_route_template(template);
                continue;
            }
            return Err(Problem {
                field: format!("rules[{i}].route"),
                reason: format!(
                    "no route `{key}`: name a method and the path template as routed (Nova paths without the \
                     project id, e.g. `GET /v2.1/servers/{{server_id}}`)"
                ),
                value: key.to_string(),
            });
        }
        if let Effect::Error { code, .. } = &rule.effect
            && crate::ecs::codes::lookup(code).is_none()
        {
            return Err(Problem {
                field: format!("rules[{i}].error"),
                reason: format!("`{code}` is not an ECS error code (seed 002's table, e.g. Ecs.0023)"),
                value: code.clone(),
            });
        }
    }
    Ok(())
}

/// Makes `scenario` the loaded one and starts its timed rules.
pub fn install(state: &AppState, scenario: Scenario) {
    for timed in state.core.scenarios.install(scenario) {
        let scenarios = state.core.scenarios.clone();
        let state = state.clone();
        tokio::spawn(async move {
            // On ecsd's clock: an admin's advance brings a timed rule forward.
            ecs_types::clock::sleep(timed.after).await;
            if !scenarios.fire_timed(&timed) {
                return;
            }
            let Some(sim) = &state.sim else {
                tracing::warn!("a scenario's timed rule needs simulated hosts; this ecsd has none");
                return;
            };
            match &timed.effect {
                Effect::HostDown(host) => {
                    tracing::info!(%host, "scenario: host goes down");
                    sim.set_host_down(host, true);
                }
                Effect::HostUp(host) => {
                    tracing::info!(%host, "scenario: host comes back");
                    let mut settings = sim.settings();
                    settings.hosts_down.retain(|h| h != host);
                    super::simulator::apply(&state, sim, &settings);
                }
                _ => {}
            }
        });
    }
}

/// Loads a scenario file at start: one that does not parse or does not
/// hold together is refused with the file, line, column, field and reason.
pub async fn load_file(state: &AppState, path: &Path) -> Result<(), String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
    let at = |e: &serde_json::Error, field: &str| {
        // serde_json ends its message with the place; it is said first instead.
        let reason = e.to_string();
        let reason = reason.rsplit_once(" at line ").map_or(reason.as_str(), |(r, _)| r).to_string();
        let syntax = e.is_syntax() || e.is_eof();
        let field = if syntax || field.is_empty() || field == "." { String::new() } else { format!("{field}: ") };
        format!("{shown}:{}:{}: {field}{reason}", e.line(), e.column())
    };
    let mut de = serde_json::Deserializer::from_str(&text);
    let mut scenario: Scenario =
        serde_path_to_error::deserialize(&mut de).map_err(|e| at(e.inner(), &e.path().to_string()))?;
    de.end().map_err(|e| at(&e, ""))?;
    if let Err(p) = check(state, &mut scenario).await {
        let (line, column) = ecs_hypervisor::scenario::locate(&text, &p.value).unwrap_or((0, 0));
        return Err(format!("{shown}:{line}:{column}: {}: {}", p.field, p.reason));
    }
    let rules = scenario.rules.len();
    install(state, scenario);
    tracing::info!(file = %shown, rules, "fault scenario loaded");
    Ok(())
}

/// The rules on routes: counts each routed request by method and matched
/// template and answers for the route's dialect when one fires.
pub(crate) async fn gate(
    State(state): State<AppState>,
    matched: MatchedPath,
    dialect: Dialect,
    req: Request,
    next: Next,
) -> Response {
    if let Some(status) = state.core.scenarios.on_route(req.method().as_str(), matched.as_str()) {
        return dialect.injected(StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE));
    }
    next.run(req).await
}
