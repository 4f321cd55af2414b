//! `/admin/v1/simulator` (and Nova's `/v2.1/os-simulator`, the same
//! settings wrapped in `{"simulator": …}`): read and change how the
//! simulated hypervisor behaves — per-operation latency, injected failures,
//! hosts that have disappeared — as one document
//! (`ecs_hypervisor::sim::SimSettings`).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use ecs_hypervisor::sim::{SimControl, SimSettings};

use super::{AdminBody, AdminCall, AdminError};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/v1/simulator", get(show).put(update))
}

#[utoipa::path(
    get,
    path = "/admin/v1/simulator",
    tag = "ecsd admin",
    summary = "Show the simulated hypervisor's settings",
    responses(
        (status = 200, description = "The settings in force.", body = SimSettings),
        (status = 409, description = "This ecsd runs no simulated hosts.", body = crate::openapi::schemas::AdminErrorBody),
    ),
)]
pub(crate) async fn show(State(state): State<AppState>, _: AdminCall) -> Result<Json<SimSettings>, AdminError> {
    let control = state.sim.as_ref().ok_or_else(no_simulator)?;
    Ok(Json(control.settings()))
}

#[utoipa::path(
    put,
    path = "/admin/v1/simulator",
    tag = "ecsd admin",
    summary = "Replace the simulated hypervisor's settings (latency, injected faults, hosts down)",
    request_body(content = SimSettings, description = "The whole settings document; a missing part is empty.",
        example = json!({"latency_ms": {"spawn": 500}, "faults": [{"host": "sim-1", "op": "spawn", "times": 1, "message": "no room"}], "hosts_down": []})),
    responses(
        (status = 200, description = "The settings now in force.", body = SimSettings),
        (status = 409, description = "This ecsd runs no simulated hosts.", body = crate::openapi::schemas::AdminErrorBody),
    ),
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    _: AdminCall,
    AdminBody(settings): AdminBody<SimSettings>,
) -> Result<Json<SimSettings>, AdminError> {
    let control = state.sim.as_ref().ok_or_else(no_simulator)?;
    apply(&state, control, &settings);
    Ok(Json(control.settings()))
}

fn no_simulator() -> AdminError {
    AdminError::conflict("This ecsd does not run simulated hosts.")
}

/// Applies `settings`; a host that came back may hold guests whose
/// servers went meanwhile, so the guests are reconciled then.
pub(crate) fn apply(state: &AppState, control: &SimControl, settings: &SimSettings) {
    let was_down = control.hosts_down();
    control.apply(settings);
    if was_down.iter().any(|h| !settings.hosts_down.contains(h)) {
        let core = state.core.clone();
        tokio::spawn(async move {
            if let Err(e) = core.reconcile_guests().await {
                tracing::warn!(error = %e, "reconciling guests failed");
            }
        });
    }
}
