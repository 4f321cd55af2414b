//! `/os-simulator` (an ecsd extension, admin only): read and change how the
//! simulated hypervisor behaves — per-operation latency, injected
//! failures, hosts that have disappeared — in one JSON document
//! (`ecs_hypervisor::sim::SimSettings`).

use axum::Json;
use axum::extract::State;
use ecs_core::policy;
use ecs_hypervisor::sim::SimSettings;
use serde_json::{Value, json};

use super::{NovaBody, NovaCall, NovaError};
use crate::AppState;

type Result<T> = std::result::Result<T, NovaError>;

fn control(state: &AppState) -> Result<&ecs_hypervisor::sim::SimControl> {
    state.sim.as_ref().ok_or_else(|| NovaError::bad_request("This ecsd does not run simulated hosts."))
}

pub async fn show(State(state): State<AppState>, call: NovaCall) -> Result<Json<Value>> {
    policy::require_admin(&call.ctx, "ecsd:simulator")?;
    Ok(Json(json!({"simulator": control(&state)?.settings()})))
}

pub async fn update(State(state): State<AppState>, call: NovaCall, NovaBody(body): NovaBody) -> Result<Json<Value>> {
    policy::require_admin(&call.ctx, "ecsd:simulator")?;
    let control = control(&state)?;
    let settings: SimSettings = serde_json::from_value(body.get("simulator").cloned().unwrap_or(Value::Null))
        .map_err(|e| NovaError::bad_request(format!("Invalid simulator settings: {e}")))?;
    crate::admin::simulator::apply(&state, control, &settings);
    Ok(Json(json!({"simulator": control.settings()})))
}
