//! Asynchronous ECS server operations answered with a job (seed 002 §5.2):
//! `reinstallos`, `changeos` (the server's rebuild), `migrate` and
//! `resize` (the server's resize task, confirmed by itself).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ecs_core::compute::lifecycle::{OsReinstall, RebuildRequest, ResizeOptions};
use ecs_types::server::Server;
use serde_json::Value;

use super::EcsBody;
use super::input::{check_password, check_user_data, optional_bool, optional_int, optional_str, required_str};
use super::{EcsCall, EcsError, illegal, job_reply, json_body};
use crate::AppState;
use crate::request_id::RequestId;

/// The object a body holds under `key`.
fn object_arg<'a>(body: &'a Value, key: &str) -> Result<&'a Value, EcsError> {
    body.get(key).filter(|v| v.is_object()).ok_or_else(|| illegal(format!("{key} is required")))
}

/// `metadata.user_data`: base64 of at most 32 KB.
fn user_data(args: &Value) -> Result<Option<String>, EcsError> {
    let metadata = match args.get("metadata") {
        None | Some(Value::Null) => return Ok(None),
        Some(m @ Value::Object(_)) => m,
        Some(_) => return Err(illegal("metadata must be an object")),
    };
    let Some(text) = optional_str(metadata.get("user_data"), "user_data")? else { return Ok(None) };
    check_user_data(text, "metadata.user_data")?;
    Ok(Some(text.to_string()))
}

/// The image the server's system disk was made from.
fn own_image(server: &Server) -> Option<String> {
    server.image_id.clone().or_else(|| {
        server
            .block_devices
            .iter()
            .find(|b| b.boot_index == Some(0) && b.source_type == "image")
            .and_then(|b| b.uuid.clone())
    })
}

/// `POST /v2/{project_id}/cloudservers/{server_id}/reinstallos` (§5.2.1).
#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers/{server_id}/reinstallos",
    tag = "ECS server actions",
    summary = "Reinstall a server's OS from its image (§5.2.1)",
    request_body(content = Object, description = "`os-reinstall`: `adminpass` or `keyname`, `userid`, `metadata.user_data`, `mode`.", example = json!({"os-reinstall": {"adminpass": "Passw0rd!", "metadata": {"user_data": "IyEvYmluL2Jhc2g="}}})),
    responses(
        (status = 200, description = "The job doing it.", body = crate::openapi::schemas::JobReply),
    ),
)]
pub async fn reinstall(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EcsCall,
    Path(path): Path<Vec<(String, String)>>,
    EcsBody(body): EcsBody,
) -> Result<Json<Value>, EcsError> {
    os_rebuild(&state, &call, &server_id(&path)?, &body, false, &request_id).await
}

/// `POST /v2/{project_id}/cloudservers/{server_id}/changeos` (§5.2.2).
#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers/{server_id}/changeos",
    tag = "ECS server actions",
    summary = "Change a server's OS to another image (§5.2.2)",
    request_body(content = Object, description = "`os-change`: `imageid`, `adminpass` or `keyname`, `userid`, `metadata.user_data`, `mode`.", example = json!({"os-change": {"imageid": "IMAGE_ID", "keyname": "kp1"}})),
    responses(
        (status = 200, description = "The job doing it.", body = crate::openapi::schemas::JobReply),
    ),
)]
pub async fn change_os(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EcsCall,
    Path(path): Path<Vec<(String, String)>>,
    EcsBody(body): EcsBody,
) -> Result<Json<Value>, EcsError> {
    os_rebuild(&state, &call, &server_id(&path)?, &body, true, &request_id).await
}

/// The `server_id` of a path that may or may not still name its project.
fn server_id(path: &[(String, String)]) -> Result<String, EcsError> {
    path.iter().find(|(k, _)| k == "server_id").map(|(_, v)| v.clone()).ok_or_else(|| illegal("no server id"))
}

/// Reinstall (the server's own image) or change (`imageid`) the OS: the
/// server's rebuild (DECISIONS §7 for the login and `mode` rules).
async fn os_rebuild(
    state: &AppState,
    call: &EcsCall,
    id: &str,
    body: &Bytes,
    change: bool,
    request_id: &str,
) -> Result<Json<Value>, EcsError> {
    let body = json_body(body)?;
    let args = object_arg(&body, if change { "os-change" } else { "os-reinstall" })?;
    let server = state.core.server_get(&call.ctx, id).await?;
    let key_name = optional_str(args.get("keyname"), "keyname")?.filter(|k| !k.is_empty());
    let admin_pass = optional_str(args.get("adminpass"), "adminpass")?;
    // `userid` names whose key pair `keyname` is; the key pairs a rebuild
    // injects are the server owner's (as Nova's rebuild looks them up).
    optional_str(args.get("userid"), "userid")?;
    let user_data = user_data(args)?;
    let stop_running = match optional_str(args.get("mode"), "mode")? {
        None => false,
        Some("withStopServer") => true,
        Some(other) => return Err(illegal(format!("mode must be withStopServer, not {other}"))),
    };
    if key_name.is_none() && admin_pass.is_none() && user_data.is_none() {
        return Err(illegal("One login method is required: keyname, adminpass or metadata.user_data."));
    }
    if let Some(p) = admin_pass {
        check_password(p)?;
    }
    if let Some(name) = key_name {
        state.core.server_owner_keypair(&call.ctx, &server.id, name).await.map_err(|e| match e {
            ecs_core::Error::NotFound { .. } => {
                EcsError::with_message("Ecs.0314", format!("The key pair {name} does not exist."))
            }
            other => other.into(),
        })?;
    }
    let image_ref = if change {
        let image_id = required_str(args.get("imageid"), "imageid")?;
        let image = state.core.image(&call.ctx, image_id).await?;
        if image.status != "active" {
            return Err(EcsError::new("Ecs.0032"));
        }
        image.id
    } else {
        own_image(&server).ok_or_else(|| EcsError::with_message("Ecs.0031", "The ECS has no image to reinstall."))?
    };
    let req = RebuildRequest {
        image_ref,
        admin_pass: admin_pass.map(String::from),
        key_name: key_name.map(|k| Some(k.to_string())),
        user_data: user_data.map(Some),
        // The system disk is made anew from the image, whatever backs it.
        reimage_boot_volume: true,
        os_reinstall: Some(OsReinstall { stop_running, change }),
        ..Default::default()
    };
    let rebuilt = state.core.server_rebuild(&call.ctx, id, req, request_id).await?;
    Ok(job_reply(&rebuilt.task_id))
}

/// `POST /v1/{project_id}/cloudservers/{server_id}/resize` (§5.2.4): a
/// stopped server only; the resize confirms itself.
#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers/{server_id}/resize",
    tag = "ECS server actions",
    summary = "Change a server's flavor (§5.2.4)",
    request_body(content = Object, description = "`resize`: `flavorRef`, `extendparam.isAutoPay`, `mode`; `dry_run`.", example = json!({"resize": {"flavorRef": "s6.large.2"}})),
    responses(
        (status = 200, description = "The job doing it.", body = crate::openapi::schemas::JobReply),
        (status = 202, description = "`dry_run`: the request would be accepted."),
    ),
)]
pub async fn resize(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
    EcsBody(body): EcsBody,
) -> Result<Response, EcsError> {
    resize_server(&state, &call, &id, &body, false, &request_id).await
}

/// `POST /v1.1/{project_id}/cloudservers/{server_id}/resize` (Huawei's
/// ResizeServer): v1's, with `mode: withStopServer` for a running server
/// (resized as it runs), and the prepaid-only `extendparam.isAutoPay`
/// checked and unused (a pay-per-use resize has no order: a job only).
#[utoipa::path(
    post,
    path = "/v1.1/{project_id}/cloudservers/{server_id}/resize",
    tag = "ECS server actions",
    summary = "Change a server's flavor, v1.1 (prePaid aware)",
    request_body(content = Object, description = "`resize`: `flavorRef`, `extendparam.isAutoPay`, `cpu_options`; `dry_run`.", example = json!({"resize": {"flavorRef": "s6.large.2"}})),
    responses(
        (status = 200, description = "The job doing it.", body = crate::openapi::schemas::JobReply),
        (status = 202, description = "`dry_run`: the request would be accepted."),
    ),
)]
pub async fn resize_v1_1(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
    EcsBody(body): EcsBody,
) -> Result<Response, EcsError> {
    resize_server(&state, &call, &id, &body, true, &request_id).await
}

/// `resize.mode`: `withStopServer` lets a running server be resized.
fn resize_mode(args: &Value) -> Result<bool, EcsError> {
    match optional_str(args.get("mode"), "mode")? {
        None | Some("") => Ok(false),
        Some("withStopServer") => Ok(true),
        Some(other) => Err(illegal(format!("mode must be withStopServer, not {other}"))),
    }
}

/// `resize.cpu_options` (`hw:cpu_threads` 1 or 2) and, v1.1,
/// `extendparam.isAutoPay` ("true"/"false"): checked, nothing to do.
fn resize_extras(args: &Value) -> Result<(), EcsError> {
    match args.get("cpu_options") {
        None | Some(Value::Null) => {}
        Some(o @ Value::Object(_)) => {
            if let Some(t) = optional_int(o.get("hw:cpu_threads"), "hw:cpu_threads")?
                && !(1..=2).contains(&t)
            {
                return Err(illegal("cpu_options.hw:cpu_threads must be 1 or 2"));
            }
        }
        Some(_) => return Err(illegal("cpu_options must be an object")),
    }
    match args.get("extendparam") {
        None | Some(Value::Null) => {}
        Some(e @ Value::Object(_)) => match optional_str(e.get("isAutoPay"), "isAutoPay")? {
            None | Some("true" | "false") => {}
            Some(other) => return Err(illegal(format!("extendparam.isAutoPay must be true or false, not {other}"))),
        },
        Some(_) => return Err(illegal("extendparam must be an object")),
    }
    Ok(())
}

async fn resize_server(
    state: &AppState,
    call: &EcsCall,
    id: &str,
    body: &Bytes,
    v1_1: bool,
    request_id: &str,
) -> Result<Response, EcsError> {
    let body = json_body(body)?;
    let args = object_arg(&body, "resize")?;
    let flavor_ref = required_str(args.get("flavorRef"), "flavorRef")?;
    let dry_run = optional_bool(body.get("dry_run"), "dry_run")?.unwrap_or(false);
    let with_stop = if v1_1 {
        resize_extras(args)?;
        resize_mode(args)?
    } else {
        false
    };
    if optional_str(args.get("dedicated_host_id"), "dedicated_host_id")?.is_some_and(|d| !d.is_empty()) {
        return Err(illegal("dedicated_host_id: a resize onto a dedicated host is not supported."));
    }
    let server = state.core.server_get(&call.ctx, id).await?;
    let flavor = state.core.flavor_get(&call.ctx, flavor_ref).await?;
    if flavor.id == server.flavor.id {
        return Err(EcsError::new("Ecs.0810"));
    }
    if dry_run {
        return Ok(StatusCode::ACCEPTED.into_response());
    }
    let opts = ResizeOptions { stopped_only: !with_stop, auto_confirm: true, ..Default::default() };
    let task = state.core.server_resize(&call.ctx, id, &flavor.id, opts, request_id).await?;
    Ok(job_reply(&task).into_response())
}

/// `POST /v1/{project_id}/cloudservers/batch-resize`: `resize.flavorRef`,
/// `resize.servers[].id`, `mode`; one job, a sub-job per server.
#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers/batch-resize",
    tag = "ECS server actions",
    summary = "Change the flavor of servers in a batch",
    request_body(content = Object, description = "`flavorRef`, `servers`, `dry_run`.", example = json!({"flavorRef": "s6.large.2", "servers": [{"id": "SERVER_ID"}]})),
    responses(
        (status = 200, description = "The job doing it.", body = crate::openapi::schemas::JobReply),
    ),
)]
pub async fn batch_resize(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EcsCall,
    EcsBody(body): EcsBody,
) -> Result<Json<Value>, EcsError> {
    let body = json_body(&body)?;
    let args = object_arg(&body, "resize")?;
    let flavor_ref = required_str(args.get("flavorRef"), "flavorRef")?;
    resize_extras(args)?;
    let with_stop = resize_mode(args)?;
    let list = args.get("servers").and_then(Value::as_array).ok_or_else(|| illegal("resize.servers is required"))?;
    let mut ids: Vec<String> = Vec::with_capacity(list.len());
    for s in list {
        let id = required_str(s.get("id"), "servers[].id")?;
        if ids.iter().any(|i| i == id) {
            return Err(illegal(format!("server {id} is named twice")));
        }
        ids.push(id.to_string());
    }
    let job = state.core.servers_resize(&call.ctx, &ids, flavor_ref, !with_stop, &request_id).await?;
    Ok(job_reply(&job))
}

/// `POST /v1/{project_id}/cloudservers/{server_id}/migrate` (§5.2.3): a
/// cold migration of a stopped server to another host of the public pool
/// (the server's resize to its own flavor, confirmed by itself), or with
/// `dedicated_host_id` to that dedicated host of the project (unknown or
/// another project's: the seed's code; the one it is on: Ecs.0221). With
/// no other host to take it the job fails with Ecs.0319.
#[utoipa::path(
    post,
    path = "/v1/{project_id}/cloudservers/{server_id}/migrate",
    tag = "ECS server actions",
    summary = "Cold-migrate a server (§5.2.3)",
    request_body(content = Object, description = "`migrate`, optionally to `dedicated_host_id`.", example = json!({"migrate": {}})),
    responses(
        (status = 200, description = "The job doing it.", body = crate::openapi::schemas::JobReply),
    ),
)]
pub async fn migrate(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: EcsCall,
    Path((_project, id)): Path<(String, String)>,
    EcsBody(body): EcsBody,
) -> Result<Json<Value>, EcsError> {
    let body = json_body(&body)?;
    let args = match body.get("migrate") {
        Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v),
        _ => return Err(illegal("migrate is required (null or an object)")),
    };
    state.core.server_get(&call.ctx, &id).await?;
    let deh = args.map(|a| optional_str(a.get("dedicated_host_id"), "dedicated_host_id")).transpose()?.flatten();
    let opts = ResizeOptions { stopped_only: true, auto_confirm: true, ..Default::default() };
    let task = state.core.server_migrate(&call.ctx, &id, deh, opts, &request_id).await?;
    Ok(job_reply(&task))
}
