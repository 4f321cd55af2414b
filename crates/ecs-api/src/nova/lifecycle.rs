//! Server actions that change what a server is (resize, rebuild,
//! passwords, key pairs), the UStack extras, remote consoles and console
//! auth tokens.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ecs_core::compute::lifecycle::{RebuildRequest, ResizeOptions};
use serde_json::{Value, json};

use super::servers::{
    access_ip, hostname_param, image_ref_param, metadata_map, personality_param, rebuild_view, user_data_param,
};
use super::validate::{self, invalid};
use super::{NovaBody, NovaCall, NovaError};
use crate::AppState;
use crate::request_id::RequestId;

type Result<T> = std::result::Result<T, NovaError>;

pub(super) fn accepted() -> Result<Response> {
    Ok(StatusCode::ACCEPTED.into_response())
}

/// An action without arguments: null or `{}`.
pub(super) fn no_args(name: &str, args: &Value) -> Result<()> {
    if args.is_null() || args.as_object().is_some_and(|m| m.is_empty()) {
        Ok(())
    } else {
        Err(invalid(name, args, format!("{args} is not of type 'null'")))
    }
}

/// The actions of this module, called by the `/servers/{id}/action`
/// dispatcher for any action it does not handle itself.
pub(super) async fn action(
    state: &AppState,
    call: &NovaCall,
    request_id: &str,
    id: &str,
    name: &str,
    args: &Value,
) -> Result<Response> {
    let core = &state.core;
    let ctx = &call.ctx;
    let v = call.version;
    match name {
        // Seed 002 §6.3.3: soft by default; `type: HARD` forces. UStack's
        // `os-shutdown` is the soft one.
        "os-stop" | "os-shutdown" => {
            let force = if name == "os-stop" && args.as_object().is_some_and(|m| !m.is_empty()) {
                let f = validate::object(args, name, &["type"], &[])?;
                match f.get("type") {
                    Some(t) => validate::one_of(t, "os-stop/type", &["SOFT", "HARD", "soft", "hard"])?
                        .eq_ignore_ascii_case("hard"),
                    None => false,
                }
            } else {
                no_args(name, args)?;
                false
            };
            core.server_stop(ctx, id, force, request_id).await?;
            accepted()
        }
        "resize" => {
            let f = validate::object(args, "resize", &["flavorRef", "OS-DCF:diskConfig"], &["flavorRef"])?;
            let flavor_ref = match &f["flavorRef"] {
                Value::Number(n) => n.to_string(),
                other => validate::string(other, "flavorRef", 1, 255)?.to_string(),
            };
            let auto_disk_config = match f.get("OS-DCF:diskConfig") {
                Some(d) => validate::one_of(d, "OS-DCF:diskConfig", &["AUTO", "MANUAL"])? == "AUTO",
                None => false,
            };
            let flavor_id = flavor_ref.rsplit('/').next().unwrap_or(&flavor_ref).to_string();
            let opts = ResizeOptions { auto_disk_config, ..Default::default() };
            core.server_resize(ctx, id, &flavor_id, opts, request_id).await?;
            accepted()
        }
        "confirmResize" | "revertResize" => {
            no_args(name, args)?;
            let confirm = name == "confirmResize";
            core.server_finish_resize(ctx, id, confirm, request_id).await?;
            // Nova answers a confirm with 204 and a revert with 202.
            Ok(if confirm { StatusCode::NO_CONTENT } else { StatusCode::ACCEPTED }.into_response())
        }
        "rebuild" => rebuild(state, call, request_id, id, args).await,
        "evacuate" => super::evacuate::evacuate(state, call, request_id, id, args).await,
        "changePassword" => {
            let f = validate::object(args, "changePassword", &["adminPass"], &["adminPass"])?;
            let password = validate::string(&f["adminPass"], "adminPass", 0, 255)?;
            core.server_change_password(ctx, id, password, request_id).await?;
            accepted()
        }
        "attachKeypairs" | "detachKeypairs" => {
            let f = validate::object(args, name, &["key_names"], &["key_names"])?;
            let list = f["key_names"]
                .as_array()
                .ok_or_else(|| invalid("key_names", &f["key_names"], "is not of type 'array'"))?;
            if list.is_empty() {
                return Err(invalid("key_names", &f["key_names"], "[] is too short"));
            }
            let names = list
                .iter()
                .enumerate()
                .map(|(i, n)| validate::string(n, &format!("key_names/{i}"), 1, 255).map(String::from))
                .collect::<Result<Vec<_>>>()?;
            core.server_keypairs(ctx, id, &names, name == "attachKeypairs", request_id).await?;
            accepted()
        }
        // The per-protocol console actions, replaced by remote-consoles at 2.6.
        "os-getVNCConsole" | "os-getSPICEConsole" | "os-getRDPConsole" | "os-getSerialConsole" if !v.at_least(6) => {
            let f = validate::object(args, name, &["type"], &["type"])?;
            let console_type = validate::string(&f["type"], &format!("{name}/type"), 1, 255)?;
            let url = core.server_remote_console(ctx, id, console_type).await?;
            Ok(Json(json!({"console": {"type": console_type, "url": url}})).into_response())
        }
        // Gone from 2.6 on: Nova answers an action absent at the version with 404.
        "os-getVNCConsole" | "os-getSPICEConsole" | "os-getRDPConsole" | "os-getSerialConsole" => {
            Err(NovaError::not_found())
        }
        "monitorMetrics" => {
            // huaweicloudsdkecs types the argument as a string: it sends "".
            if args.as_str() != Some("") {
                no_args(name, args)?;
            }
            core.server_monitor(ctx, id, request_id).await?;
            accepted()
        }
        "migrate" | "os-migrateLive" => super::migrations::action(state, call, request_id, id, name, args).await,
        other => super::server_actions::action(state, call, request_id, id, other, args).await,
    }
}

/// `rebuild` (§6.3.6): 202 with the server as it now is and its new password.
async fn rebuild(state: &AppState, call: &NovaCall, request_id: &str, id: &str, args: &Value) -> Result<Response> {
    let v = call.version;
    let mut allowed = vec![
        "imageRef",
        "name",
        "metadata",
        "adminPass",
        "OS-DCF:diskConfig",
        "accessIPv4",
        "accessIPv6",
        "preserve_ephemeral",
    ];
    if !v.at_least(57) {
        allowed.push("personality");
    }
    for (min, field) in
        [(19, "description"), (54, "key_name"), (57, "user_data"), (63, "trusted_image_certificates"), (90, "hostname")]
    {
        if v.at_least(min) {
            allowed.push(field);
        }
    }
    let f = validate::object(args, "rebuild", &allowed, &["imageRef"])?;
    let image_ref =
        image_ref_param(&f["imageRef"])?.ok_or_else(|| NovaError::bad_request("Invalid imageRef provided."))?;
    let nullable_text = |key: &str, max: usize| -> Result<Option<Option<String>>> {
        Ok(match f.get(key) {
            None => None,
            Some(Value::Null) => Some(None),
            Some(x) => Some(Some(validate::string(x, key, 0, max)?.to_string())),
        })
    };
    let req = RebuildRequest {
        image_ref,
        name: f.get("name").map(|n| validate::name(n, "name").map(String::from)).transpose()?,
        metadata: f.get("metadata").map(|m| metadata_map(m, "metadata")).transpose()?,
        admin_pass: f
            .get("adminPass")
            .map(|p| validate::string(p, "adminPass", 0, 255).map(String::from))
            .transpose()?,
        access_ipv4: f.get("accessIPv4").map(|a| access_ip(a, "accessIPv4")).transpose()?,
        access_ipv6: f.get("accessIPv6").map(|a| access_ip(a, "accessIPv6")).transpose()?,
        disk_config: f
            .get("OS-DCF:diskConfig")
            .map(|d| validate::one_of(d, "OS-DCF:diskConfig", &["AUTO", "MANUAL"]).map(String::from))
            .transpose()?,
        preserve_ephemeral: f
            .get("preserve_ephemeral")
            .map(|p| validate::boolean(p, "preserve_ephemeral"))
            .transpose()?
            .unwrap_or(false),
        description: nullable_text("description", 255)?,
        key_name: nullable_text("key_name", 255)?,
        user_data: f.get("user_data").map(user_data_param).transpose()?,
        injected_files: f.get("personality").map(personality_param).transpose()?.unwrap_or_default(),
        hostname: f.get("hostname").map(|h| hostname_param(v, h)).transpose()?,
        reimage_boot_volume: v.at_least(93),
        os_reinstall: None,
    };
    if let Some(certs) = f.get("trusted_image_certificates")
        && !certs.is_null()
    {
        return Err(NovaError::bad_request(
            "Image certificate validation is not supported when booting from volume or with this hypervisor.",
        ));
    }
    let rebuilt = state.core.server_rebuild(&call.ctx, id, req, request_id).await?;
    let mut view =
        super::servers::real_host_status(state, rebuild_view(call, &rebuilt.server), &rebuilt.server).await?;
    view["adminPass"] = json!(rebuilt.admin_pass);
    Ok((StatusCode::ACCEPTED, Json(json!({"server": view}))).into_response())
}

/// `GET /servers/{id}/os-server-password`.
pub async fn password(State(state): State<AppState>, call: NovaCall, Path(id): Path<String>) -> Result<Json<Value>> {
    let password = state.core.server_password(&call.ctx, &id).await?;
    Ok(Json(json!({"password": password})))
}

/// `DELETE /servers/{id}/os-server-password`.
pub async fn password_clear(
    State(state): State<AppState>,
    call: NovaCall,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    state.core.server_clear_password(&call.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /servers/{id}/remote-consoles` (2.6+).
pub async fn remote_console(
    State(state): State<AppState>,
    call: NovaCall,
    Path(id): Path<String>,
    NovaBody(body): NovaBody,
) -> Result<Json<Value>> {
    if !call.version.at_least(6) {
        return Err(NovaError::not_found());
    }
    validate::object(&body, "", &["remote_console"], &["remote_console"])?;
    let f = validate::object(&body["remote_console"], "remote_console", &["protocol", "type"], &["protocol", "type"])?;
    let mut protocols = vec!["vnc", "spice", "rdp", "serial"];
    if call.version.at_least(8) {
        protocols.push("mks");
    }
    let protocol = validate::one_of(&f["protocol"], "remote_console/protocol", &protocols)?;
    let types = ["novnc", "xvpvnc", "rdp-html5", "spice-html5", "serial", "webmks", "spice-direct"];
    let console_type = validate::one_of(&f["type"], "remote_console/type", &types)?;
    let matches = match protocol {
        "vnc" => matches!(console_type, "novnc" | "xvpvnc"),
        "spice" => matches!(console_type, "spice-html5" | "spice-direct"),
        "rdp" => console_type == "rdp-html5",
        "serial" => console_type == "serial",
        _ => console_type == "webmks",
    };
    if !matches {
        return Err(NovaError::bad_request(format!(
            "Invalid input received: Unsupported console type {console_type} for protocol {protocol}"
        )));
    }
    let url = state.core.server_remote_console(&call.ctx, &id, console_type).await?;
    Ok(Json(json!({"remote_console": {"protocol": protocol, "type": console_type, "url": url}})))
}

/// `GET /os-console-auth-tokens/{token}` (admin).
pub async fn console_auth_token(
    State(state): State<AppState>,
    call: NovaCall,
    Path(token): Path<String>,
) -> Result<Json<Value>> {
    let t = state.core.console_auth_token(&call.ctx, &token).await?;
    // Before 2.31 only RDP consoles could be looked up.
    if !call.version.at_least(31) && t.console_type != "rdp-html5" {
        return Err(NovaError::bad_request("The requested console type details are not accessible"));
    }
    Ok(Json(json!({"console": {
        "instance_uuid": t.server_id,
        "host": t.host,
        "port": t.port,
        "internal_access_path": t.internal_access_path,
    }})))
}

/// `POST /v1.0/servers/{id}/action` (§6.3.11): only `monitorMetrics` lives there.
pub async fn v10_action(
    State(state): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    call: NovaCall,
    Path(id): Path<String>,
    NovaBody(body): NovaBody,
) -> Result<Response> {
    match body.as_object().filter(|m| m.len() == 1).and_then(|m| m.get("monitorMetrics")) {
        Some(args) => action(&state, &call, &request_id, &id, "monitorMetrics", args).await,
        None => Err(NovaError::bad_request("Malformed request body")),
    }
}
