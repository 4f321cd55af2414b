//! The API node's side of the internal API: agents' heartbeats.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use ecs_core::Core;
use ecs_core::compute::agents::{AgentReport, Connector};

/// What the control plane's internal API serves from.
#[derive(Clone)]
pub struct ControlState {
    pub core: Arc<Core>,
    pub connector: Arc<dyn Connector>,
}

/// The control plane's internal API (without the secret: see [`super::authenticated`]).
pub fn router(state: ControlState) -> Router {
    Router::new().route("/internal/v1/hosts/{name}/heartbeat", post(heartbeat)).with_state(state)
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(serde_json::json!({"error": {"message": message}}))).into_response()
}

async fn heartbeat(State(state): State<ControlState>, Path(name): Path<String>, body: axum::body::Bytes) -> Response {
    let report: AgentReport = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("the heartbeat is not understood: {e}")),
    };
    match state.core.agent_heartbeat(&name, &report, state.connector.as_ref()).await {
        Ok(ack) => {
            if report.fresh {
                // An agent back from a silence may run guests that were
                // deleted or evacuated meanwhile: its host is reconciled.
                // TODO(services): evacuation must have finished moving a
                // server's record before this runs, or the guest is kept.
                let core = state.core.clone();
                tokio::spawn(async move {
                    match core.reconcile_host_named(&name).await {
                        Ok(Some(done)) => tracing::info!(host = %name, ?done, "reconciled a returning agent's host"),
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!(host = %name, error = %e, "reconciling a returning agent's host failed")
                        }
                    }
                });
            }
            (StatusCode::OK, Json(ack)).into_response()
        }
        Err(e @ ecs_core::Error::Invalid(_)) => error(StatusCode::BAD_REQUEST, e.to_string()),
        Err(e) => {
            tracing::warn!(host = %name, error = %e, "recording a heartbeat failed");
            error(StatusCode::SERVICE_UNAVAILABLE, "the heartbeat could not be recorded".into())
        }
    }
}
