//! `/admin/v1/snapshots`: named snapshots of the whole running service
//! (every table, and the simulated hosts' guests), kept in memory, and the
//! reset to one — what a test suite calls between tests
//! (`ecs_core::snapshot`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use ecs_core::snapshot::SnapshotInfo;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AdminBody, AdminCall, AdminError};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/v1/snapshots", get(list).post(create))
        .route("/admin/v1/snapshots/{name}", get(show).delete(remove))
        .route("/admin/v1/snapshots/{name}/restore", post(restore))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateSnapshot {
    name: SnapshotName,
}

/// 1 to 64 letters, digits, `.`, `_` or `-`: it is a path segment.
#[derive(Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct SnapshotName(String);

impl TryFrom<String> for SnapshotName {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        let valid = (1..=64).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if valid {
            Ok(SnapshotName(name))
        } else {
            Err(format!("{name:?} is not a snapshot name (1 to 64 letters, digits, '.', '_' or '-')"))
        }
    }
}

fn render(info: SnapshotInfo) -> Json<Value> {
    Json(json!({ "snapshot": info }))
}

#[utoipa::path(
    post,
    path = "/admin/v1/snapshots",
    tag = "ecsd admin",
    summary = "Take a named snapshot of the whole service (every table and the simulated hosts' guests)",
    request_body(content = Object, description = "`name`: 1 to 64 letters, digits, `.`, `_` or `-`.", example = json!({"name": "clean"})),
    responses(
        (status = 201, description = "`{\"snapshot\": {\"name\", \"created_at\", \"schema_version\", \"tables\": {table: rows}, \"rows\", \"guests\"}}`", body = Object),
        (status = 409, description = "A snapshot of that name exists, or running tasks did not finish.", body = crate::openapi::schemas::AdminErrorBody),
    ),
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    AdminCall(ctx): AdminCall,
    AdminBody(body): AdminBody<CreateSnapshot>,
) -> Result<(StatusCode, Json<Value>), AdminError> {
    let info = state.core.state_snapshot_create(&ctx, &body.name.0).await?;
    Ok((StatusCode::CREATED, render(info)))
}

#[utoipa::path(
    get,
    path = "/admin/v1/snapshots",
    tag = "ecsd admin",
    summary = "List the snapshots this process holds",
    responses((status = 200, description = "`{\"snapshots\": […]}`", body = Object)),
)]
pub(crate) async fn list(State(state): State<AppState>, AdminCall(ctx): AdminCall) -> Result<Json<Value>, AdminError> {
    let snapshots = state.core.state_snapshot_list(&ctx)?;
    Ok(Json(json!({ "snapshots": snapshots })))
}

#[utoipa::path(
    get,
    path = "/admin/v1/snapshots/{name}",
    tag = "ecsd admin",
    summary = "Show a snapshot",
    params(("name" = String, Path, description = "The snapshot's name.")),
    responses(
        (status = 200, description = "`{\"snapshot\": {\"name\", \"created_at\", \"schema_version\", \"tables\": {table: rows}, \"rows\", \"guests\"}}`", body = Object),
        (status = 404, description = "No such snapshot.", body = crate::openapi::schemas::AdminErrorBody),
    ),
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    AdminCall(ctx): AdminCall,
    Path(name): Path<String>,
) -> Result<Json<Value>, AdminError> {
    Ok(render(state.core.state_snapshot_get(&ctx, &name)?))
}

#[utoipa::path(
    delete,
    path = "/admin/v1/snapshots/{name}",
    tag = "ecsd admin",
    summary = "Forget a snapshot",
    params(("name" = String, Path, description = "The snapshot's name.")),
    responses(
        (status = 204, description = "Forgotten."),
        (status = 404, description = "No such snapshot.", body = crate::openapi::schemas::AdminErrorBody),
    ),
)]
pub(crate) async fn remove(
    State(state): State<AppState>,
    AdminCall(ctx): AdminCall,
    Path(name): Path<String>,
) -> Result<StatusCode, AdminError> {
    state.core.state_snapshot_delete(&ctx, &name)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Resets the service to the snapshot; answers it once the reset is done.
#[utoipa::path(
    post,
    path = "/admin/v1/snapshots/{name}/restore",
    tag = "ecsd admin",
    summary = "Reset the whole service to a snapshot (tasks are quiesced first)",
    params(("name" = String, Path, description = "The snapshot's name.")),
    responses(
        (status = 200, description = "`{\"snapshot\": {\"name\", \"created_at\", \"schema_version\", \"tables\": {table: rows}, \"rows\", \"guests\"}}`", body = Object),
        (status = 404, description = "No such snapshot.", body = crate::openapi::schemas::AdminErrorBody),
        (status = 409, description = "Running tasks did not finish.", body = crate::openapi::schemas::AdminErrorBody),
    ),
)]
pub(crate) async fn restore(
    State(state): State<AppState>,
    AdminCall(ctx): AdminCall,
    Path(name): Path<String>,
) -> Result<Json<Value>, AdminError> {
    let silent = state.sim.as_ref().map(|s| s.hosts_down()).unwrap_or_default();
    Ok(render(state.core.state_snapshot_restore(&ctx, &name, &silent).await?))
}
