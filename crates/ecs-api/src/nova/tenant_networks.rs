//! `/os-tenant-networks` (below 2.36): the networks the project can use,
//! in the shape Nova gives them over Neutron (`cidr` is the string "None",
//! as Nova has always answered). Creating and deleting them went with
//! nova-network: 410.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ecs_types::Network;
use serde_json::{Value, json};

use super::{NovaCall, NovaError};
use crate::AppState;

type Result<T> = std::result::Result<T, NovaError>;

fn render(n: &Network) -> Value {
    json!({"id": n.id, "cidr": "None", "label": n.name})
}

pub async fn index(State(state): State<AppState>, call: NovaCall) -> Result<Json<Value>> {
    super::gone_at_236(&call)?;
    let networks = state.core.networks(&call.ctx).await?;
    Ok(Json(json!({"networks": networks.iter().map(render).collect::<Vec<_>>()})))
}

pub async fn show(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<Json<Value>> {
    super::gone_at_236(&call)?;
    let networks = state.core.networks(&call.ctx).await?;
    let n = networks
        .iter()
        .find(|n| n.id == id)
        .ok_or_else(|| NovaError::new(StatusCode::NOT_FOUND, "Network not found"))?;
    Ok(Json(json!({"network": render(n)})))
}

/// Create and delete, removed with nova-network in Nova 21.0.0.
pub async fn removed(_authenticated: NovaCall) -> NovaError {
    NovaError::new(StatusCode::GONE, "This resource is no longer available.  No forwarding address is given.")
}
