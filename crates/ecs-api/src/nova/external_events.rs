//! `POST /os-server-external-events` (service role or admin): events other
//! services report about servers, answered per event; 207 when any failed.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ecs_core::compute::external_events::ExternalEvent;
use serde_json::{Value, json};

use super::{NovaBody, NovaCall, NovaError, validate};
use crate::AppState;

const STATUSES: &[&str] = &["failed", "completed", "in-progress"];

/// The event names Nova takes at this microversion.
fn event_names(call: &NovaCall) -> Vec<&'static str> {
    let mut names = vec!["network-changed", "network-vif-plugged", "network-vif-unplugged", "network-vif-deleted"];
    for (since, name) in
        [(51, "volume-extended"), (76, "power-update"), (82, "accelerator-request-bound"), (93, "volume-reimaged")]
    {
        if call.version.at_least(since) {
            names.push(name);
        }
    }
    names
}

pub async fn create(
    State(state): State<AppState>,
    call: NovaCall,
    NovaBody(body): NovaBody,
) -> Result<Response, NovaError> {
    validate::object(&body, "", &["events"], &["events"])?;
    let names = event_names(&call);
    let mut events = Vec::new();
    for item in validate::array(&body["events"], "events", 1)? {
        validate::object(item, "events", &["name", "server_uuid", "status", "tag"], &["name", "server_uuid"])?;
        let name = validate::one_of(&item["name"], "name", &names)?;
        let server_id = validate::uuid(&item["server_uuid"], "server_uuid")?;
        if let Some(status) = item.get("status") {
            validate::one_of(status, "status", STATUSES)?;
        }
        let tag = item.get("tag").map(|t| validate::string(t, "tag", 0, 255)).transpose()?;
        events.push(ExternalEvent { name: name.into(), server_id: server_id.into(), tag: tag.map(String::from) });
    }
    let outcomes = state.core.server_external_events(&call.ctx, &events).await?;
    let all_accepted = outcomes.iter().all(|o| o.accepted());
    // Each event comes back as sent, with what became of it.
    let answered: Vec<Value> = body["events"]
        .as_array()
        .into_iter()
        .flatten()
        .zip(&outcomes)
        .map(|(sent, outcome)| {
            let mut event = sent.clone();
            event["status"] = json!(if outcome.accepted() { "completed" } else { "failed" });
            event["code"] = json!(outcome.code);
            event
        })
        .collect();
    let status = if all_accepted { StatusCode::OK } else { StatusCode::MULTI_STATUS };
    Ok((status, Json(json!({"events": answered}))).into_response())
}
