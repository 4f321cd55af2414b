//! Nova's `os-flavor-access`: the projects a private flavor is given to.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::validate::{self, invalid, repr};
use super::{NovaBody, NovaCall, NovaError};
use crate::AppState;

type Result<T> = std::result::Result<T, NovaError>;

fn access_view(flavor_id: &str, projects: &[String]) -> Json<Value> {
    let list: Vec<Value> = projects.iter().map(|p| json!({"flavor_id": flavor_id, "tenant_id": p})).collect();
    Json(json!({"flavor_access": list}))
}

/// `GET /flavors/{id}/os-flavor-access` (admin).
pub async fn index(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<Json<Value>> {
    let projects = state.core.flavor_access_list(&call.ctx, &id).await?;
    Ok(access_view(&id, &projects))
}

/// `POST /flavors/{id}/action`: `addTenantAccess` or `removeTenantAccess`.
pub async fn action(
    State(state): State<AppState>,
    call: NovaCall,
    Path(id): Path<String>,
    NovaBody(body): NovaBody,
) -> Result<Json<Value>> {
    let map = body.as_object().ok_or_else(|| NovaError::bad_request("Malformed request body"))?;
    let Some((name, args)) = map.iter().next().filter(|_| map.len() == 1) else {
        return Err(NovaError::bad_request("Malformed request body"));
    };
    if name != "addTenantAccess" && name != "removeTenantAccess" {
        return Err(NovaError::bad_request(format!("There is no such action: {name}")));
    }
    let f = validate::object(args, name, &["tenant"], &["tenant"])?;
    let path = format!("{name}/tenant");
    let tenant = validate::string(&f["tenant"], &path, 1, 255)?;
    if !tenant.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(invalid(&path, &f["tenant"], format!("{} does not match '^[a-zA-Z0-9-]*$'", repr(&f["tenant"]))));
    }
    let projects = if name == "addTenantAccess" {
        state.core.flavor_access_add(&call.ctx, &id, tenant).await?
    } else {
        state.core.flavor_access_remove(&call.ctx, &id, tenant).await?
    };
    Ok(access_view(&id, &projects))
}
