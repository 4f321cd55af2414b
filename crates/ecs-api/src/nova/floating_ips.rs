//! `/os-floating-ip-pools` and `/os-floating-ips` (Nova's proxies, gone at 2.36).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ecs_types::FloatingIp;
use serde_json::{Value, json};

use super::validate;
use super::{NovaCall, NovaError, gone_at_236};
use crate::AppState;

type Result<T> = std::result::Result<T, NovaError>;

fn view(f: &FloatingIp) -> Value {
    json!({"id": f.id, "ip": f.address, "fixed_ip": f.fixed_ip, "instance_id": f.server_id, "pool": f.pool})
}

pub async fn pools(State(state): State<AppState>, call: NovaCall) -> Result<Json<Value>> {
    gone_at_236(&call)?;
    let pools = state.core.floating_ip_pools(&call.ctx).await?;
    Ok(Json(json!({"floating_ip_pools": pools.iter().map(|p| json!({"name": p.name})).collect::<Vec<_>>()})))
}

pub async fn index(State(state): State<AppState>, call: NovaCall) -> Result<Json<Value>> {
    gone_at_236(&call)?;
    let ips = state.core.floating_ips(&call.ctx).await?;
    Ok(Json(json!({"floating_ips": ips.iter().map(view).collect::<Vec<_>>()})))
}

pub async fn show(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<Json<Value>> {
    gone_at_236(&call)?;
    Ok(Json(json!({"floating_ip": view(&state.core.floating_ip(&call.ctx, &id).await?)})))
}

/// The body is optional: `{"pool": name}` or nothing (the first pool).
pub async fn create(
    State(state): State<AppState>,
    call: NovaCall,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> Result<Json<Value>> {
    gone_at_236(&call)?;
    let body = crate::body::read_bytes(&headers, body, crate::body::MAX_BODY_BYTES).await?;
    let pool = if body.is_empty() {
        None
    } else {
        let v: Value = serde_json::from_slice(&body).map_err(|_| NovaError::bad_request("Malformed request body"))?;
        match v.get("pool") {
            None | Some(Value::Null) => None,
            Some(p) => Some(validate::string(p, "pool", 1, 255)?.to_string()),
        }
    };
    let f = state.core.floating_ip_allocate(&call.ctx, pool.as_deref()).await?;
    Ok(Json(json!({"floating_ip": view(&f)})))
}

pub async fn delete(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<StatusCode> {
    gone_at_236(&call)?;
    state.core.floating_ip_release(&call.ctx, &id).await?;
    Ok(StatusCode::ACCEPTED)
}
