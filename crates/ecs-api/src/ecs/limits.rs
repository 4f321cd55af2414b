//! `GET /v1/{project_id}/cloudservers/limits` (§5.7.1): the same absolute
//! limits and usage as Nova's `/limits`, all 19 keys, without the `limits`
//! wrapper and `rate`.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::{EcsCall, EcsError};
use crate::AppState;

#[utoipa::path(
    get,
    path = "/v1/{project_id}/cloudservers/limits",
    tag = "ECS quotas",
    summary = "Show the project's quotas and usage (§5.7.1)",
    responses(
        (status = 200, description = "`{\"absolute\": {\"maxTotalInstances\", \"totalInstancesUsed\", \"maxTotalCores\", \"totalCoresUsed\", \"maxTotalRAMSize\", \"totalRAMUsed\", \"maxServerGroups\"…}}`", body = Object),
    ),
)]
pub async fn show(State(state): State<AppState>, call: EcsCall) -> Result<Json<Value>, EcsError> {
    let project = ecs_core::policy::project_of(&call.ctx)?;
    let absolute = state.core.absolute_limits(project).await?;
    Ok(Json(json!({"absolute": absolute})))
}
