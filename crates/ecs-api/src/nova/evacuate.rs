//! `POST /servers/{id}/action {"evacuate": …}`: the body by microversion
//! (2.14 drops `onSharedStorage`, 2.29 adds `force`, 2.68 drops it, 2.95
//! leaves the server SHUTOFF), answered 200 as Nova does, with the new
//! admin password only before 2.14.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ecs_core::compute::evacuate::EvacuateRequest;
use serde_json::{Value, json};

use super::validate::{boolean, object, string};
use super::{NovaCall, NovaError};
use crate::AppState;

pub(super) async fn evacuate(
    state: &AppState,
    call: &NovaCall,
    request_id: &str,
    id: &str,
    args: &Value,
) -> Result<Response, NovaError> {
    let v = call.version;
    let (allowed, required): (&[&str], &[&str]) = if !v.at_least(14) {
        (&["host", "onSharedStorage", "adminPass"], &["onSharedStorage"])
    } else if v.at_least(29) && !v.at_least(68) {
        (&["host", "adminPass", "force"], &[])
    } else {
        (&["host", "adminPass"], &[])
    };
    let f = object(args, "evacuate", allowed, required)?;
    let host = f.get("host").map(|h| string(h, "host", 1, 255).map(str::to_string)).transpose()?;
    let admin_pass =
        f.get("adminPass").map(|p| string(p, "adminPass", 0, usize::MAX).map(str::to_string)).transpose()?;
    let shared = match f.get("onSharedStorage") {
        Some(s) => boolean(s, "onSharedStorage")?,
        None => false,
    };
    if shared && admin_pass.is_some() {
        return Err(NovaError::bad_request("admin password can't be changed on existing disk"));
    }
    let force = match f.get("force") {
        Some(b) => boolean(b, "force")?,
        None => false,
    };
    if force && host.is_none() {
        return Err(NovaError::bad_request("Can't force to a non-provided destination"));
    }
    let req = EvacuateRequest { host, admin_pass, force, stop: v.at_least(95) };
    let password = state.core.server_evacuate(&call.ctx, id, req, request_id).await?;
    if v.at_least(14) {
        return Ok(StatusCode::OK.into_response());
    }
    // On shared storage the disk (and its password) is kept: none to show.
    Ok(Json(json!({"adminPass": if shared { None } else { Some(password) }})).into_response())
}
