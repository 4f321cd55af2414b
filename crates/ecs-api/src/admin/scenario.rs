//! `/admin/v1/scenario`: the fault scenario (`ecs_hypervisor::scenario`) —
//! `PUT` loads one (replacing the last; counters start at zero and timed
//! rules count from then), `GET` shows its rules with how often each met
//! its trigger and fired and what is pending, `DELETE` clears it. The same
//! document, in JSON or YAML ([`parse`]), is loaded at start by
//! `ecsd serve --scenario FILE` ([`load_file`]). Also the HTTP hook of the
//! rules on routes ([`gate`]).

use std::path::Path;

use axum::extract::{FromRequest, MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use ecs_hypervisor::scenario::{Effect, Scenario, ScenarioReport, Trigger};

#[allow(unused_imports)] // the OpenAPI examples
use serde_json::json;

use super::{AdminCall, AdminError};
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
    request_body(
        description = "JSON, or the same document in YAML under `Content-Type: application/yaml`. `rules`: each a trigger (`op` [+ `host`], `request` + `flavor`/`image`/`server_name`, `route`, `after_ms`) and an effect (`fail`, `latency_ms`, `no_valid_host`, `error` [+ `message`], `status`, `host_down`, `host_up`), with `nth`/`every`/`times`.",
        content((Object = "application/json", example = json!({"rules": [{"op": "create", "host": "sim-host-1", "nth": 3, "no_valid_host": true}, {"op": "reboot", "latency_ms": 30000}, {"after_ms": 10000, "host_down": "sim-host-1"}, {"request": "create", "flavor": "s3.large.2", "error": "Ecs.0023"}, {"route": "GET /v2.1/servers/{server_id}", "every": 5, "status": 503}]})), (Object = "application/yaml")),
    ),
    responses(
        (status = 200, description = "The scenario as loaded, with its counters.", body = Object),
    ),
)]
pub(crate) async fn replace(
    State(state): State<AppState>,
    _: AdminCall,
    ScenarioDocument(mut scenario): ScenarioDocument,
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
    let mut scenario = parse(&text, Format::of_path(path)).map_err(|e| format!("{shown}:{e}"))?;
    if let Err(p) = check(state, &mut scenario).await {
        let (line, column) = ecs_hypervisor::scenario::locate(&text, &p.value).unwrap_or((0, 0));
        return Err(format!("{shown}:{line}:{column}: {}: {}", p.field, p.reason));
    }
    let rules = scenario.rules.len();
    install(state, scenario);
    tracing::info!(file = %shown, rules, "fault scenario loaded");
    Ok(())
}

/// What a scenario is written in: JSON, or YAML (a file named `.yaml` or
/// `.yml`, a request body of a YAML media type).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Format {
    Json,
    Yaml,
}

impl Format {
    fn of_path(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("yaml") || ext.eq_ignore_ascii_case("yml") => Format::Yaml,
            _ => Format::Json,
        }
    }

    /// `application/yaml` (RFC 9512) and the older `application/x-yaml`,
    /// `text/yaml`; anything else is left to the JSON body rules.
    fn of_request(headers: &HeaderMap) -> Format {
        let mime = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let mime = mime.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match mime.as_str() {
            "application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml" => Format::Yaml,
            _ => Format::Json,
        }
    }
}

/// Where and why a scenario document does not parse.
#[derive(Debug)]
pub(crate) struct ParseError {
    /// 1-based; 0 where the parser knows no place.
    pub line: usize,
    pub column: usize,
    /// The field's path (`rules[1].op`), empty for a syntax error.
    pub field: String,
    pub reason: String,
}

impl std::fmt::Display for ParseError {
    /// `LINE:COLUMN: FIELD: REASON`, to follow a file's name.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: ", self.line, self.column)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.reason)
    }
}

/// Parses a scenario document, naming the place and field at fault.
pub(crate) fn parse(text: &str, format: Format) -> Result<Scenario, ParseError> {
    // Both parsers end their messages with the place; it is said first instead.
    fn reason_of(message: String) -> String {
        message.rsplit_once(" at line ").map_or(message.as_str(), |(r, _)| r).to_string()
    }
    fn field_of(path: &serde_path_to_error::Path) -> String {
        let field = path.to_string();
        if field == "." { String::new() } else { field }
    }
    match format {
        Format::Json => {
            let json = |e: &serde_json::Error, field: String| {
                let syntax = e.is_syntax() || e.is_eof();
                ParseError {
                    line: e.line(),
                    column: e.column(),
                    field: if syntax { String::new() } else { field },
                    reason: reason_of(e.to_string()),
                }
            };
            let mut de = serde_json::Deserializer::from_str(text);
            let scenario =
                serde_path_to_error::deserialize(&mut de).map_err(|e| json(e.inner(), field_of(e.path())))?;
            de.end().map_err(|e| json(&e, String::new()))?;
            Ok(scenario)
        }
        Format::Yaml => {
            let de = serde_yaml_ng::Deserializer::from_str(text);
            serde_path_to_error::deserialize(de).map_err(|e| {
                let field = field_of(e.path());
                let inner = e.into_inner();
                let (line, column) = inner.location().map_or((0, 0), |l| (l.line(), l.column()));
                let mut reason = reason_of(inner.to_string());
                // The YAML parser names the field (or the part of its path it
                // knows) itself as well.
                if let Some((head, rest)) = reason.split_once(": ")
                    && !head.contains(' ')
                    && field.starts_with(head)
                {
                    reason = rest.to_string();
                }
                ParseError { line, column, field, reason }
            })
        }
    }
}

/// The body of `PUT /admin/v1/scenario`: a JSON document, or YAML under a
/// YAML media type.
pub(crate) struct ScenarioDocument(Scenario);

impl FromRequest<AppState> for ScenarioDocument {
    type Rejection = AdminError;

    async fn from_request(req: Request, _state: &AppState) -> Result<Self, AdminError> {
        let (parts, body) = req.into_parts();
        if Format::of_request(&parts.headers) == Format::Json {
            let bytes = crate::body::read_json_bytes(&parts.headers, body, crate::body::MAX_BODY_BYTES).await?;
            return super::parse_document(&bytes).map(ScenarioDocument);
        }
        let bytes = crate::body::read_bytes(&parts.headers, body, crate::body::MAX_BODY_BYTES).await?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| AdminError::invalid_document("", "The request body is not UTF-8 text."))?;
        parse(text, Format::Yaml).map(ScenarioDocument).map_err(|e| {
            let reason = format!("{} (line {}, column {})", e.reason, e.line, e.column);
            AdminError::invalid_document(e.field, reason)
        })
    }
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
