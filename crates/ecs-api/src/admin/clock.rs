//! `/admin/v1/clock`: ecsd's clock, which admins move forward so that
//! time-dependent behaviour (token expiry, reclaim of soft-deleted
//! servers, auto-terminate, shelved offload, simulated latencies) can be
//! tested without waiting.
//!
//! `GET /admin/v1/clock` → `{"clock": {"now": RFC 3339, "offset_seconds": n}}`;
//! `POST /admin/v1/clock/advance` `{"seconds": n}` (a whole number, more
//! than 0, at most a hundred years) → the clock after the advance.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use ecs_core::clock::ClockView;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AdminBody, AdminCall, AdminError};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/v1/clock", get(show)).route("/admin/v1/clock/advance", post(advance))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Advance {
    seconds: u64,
}

#[utoipa::path(
    get,
    path = "/admin/v1/clock",
    tag = "ecsd admin",
    summary = "Show ecsd's clock and how far it was advanced",
    responses((status = 200, description = "`{\"clock\": {\"now\": RFC 3339, \"offset_seconds\"}}`", body = Object)),
)]
pub(crate) async fn show(State(state): State<AppState>, AdminCall(ctx): AdminCall) -> Result<Json<Value>, AdminError> {
    Ok(Json(render(&state.core.clock(&ctx)?)))
}

#[utoipa::path(
    post,
    path = "/admin/v1/clock/advance",
    tag = "ecsd admin",
    summary = "Move ecsd's clock forward (token expiry, job times, reclaim, auto-terminate, shelved offload and simulated latencies follow)",
    request_body(content = Object, description = "`seconds`: a whole number from 1 to a hundred years.", example = json!({"seconds": 86400})),
    responses((status = 200, description = "The clock after the advance: `{\"clock\": {\"now\": RFC 3339, \"offset_seconds\"}}`", body = Object)),
)]
pub(crate) async fn advance(
    State(state): State<AppState>,
    AdminCall(ctx): AdminCall,
    AdminBody(body): AdminBody<Advance>,
) -> Result<Json<Value>, AdminError> {
    let max = ecs_types::clock::MAX_ADVANCE.as_secs();
    if body.seconds == 0 || body.seconds > max {
        return Err(AdminError::invalid_document(
            "seconds",
            format!("The clock only moves forward: seconds must be from 1 to {max}."),
        ));
    }
    let view = state.core.advance_clock(&ctx, std::time::Duration::from_secs(body.seconds)).await?;
    Ok(Json(render(&view)))
}

fn render(view: &ClockView) -> Value {
    json!({"clock": {
        "now": ecs_types::clock::rfc3339(view.now),
        "offset_seconds": view.offset.as_secs(),
    }})
}
