//! The ECS-native API (seed 002 chapter 5, seed 001): `/v1/{project_id}/…`
//! and `/v1.1/{project_id}/…`, over the same core as the Nova API.

mod actions;
pub(crate) mod block_devices;
pub(crate) mod codes;
mod create;
mod disks;
mod error;
mod flavors;
mod iam;
mod input;
mod interfaces;
pub(crate) mod jobs;
mod launch_templates;
mod limits;
mod nics;
mod passwords;
mod recycle_bin;
mod sales;
mod server_actions;
mod server_edit;
mod server_groups;
mod server_options;
mod server_settings;
mod servers;
mod shared_volumes;
mod tags;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::routing::{delete, get, post, put};
use ecs_store::ClientToken;
use ecs_types::AuthContext;
use serde_json::{Value, json};
use sha2::Digest;

pub use error::EcsError;

use crate::AppState;
use crate::identity::Caller;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/{project_id}/jobs/{job_id}", get(jobs::show))
        .route("/v1/{project_id}/cloudservers", post(create::create_v1))
        .route("/v1.1/{project_id}/cloudservers", post(create::create_v1_1))
        .route("/v1/{project_id}/cloudservers/action", post(actions::batch))
        .route("/v1/{project_id}/cloudservers/delete", post(actions::delete))
        .route("/v1/{project_id}/cloudservers/detail", get(servers::detail))
        .route("/v1.1/{project_id}/cloudservers/detail", get(servers::detail_v1_1))
        .route("/v1/{project_id}/cloudservers/{server_id}", get(servers::show).put(server_edit::update))
        .route("/v1/{project_id}/cloudservers/{server_id}/metadata", post(server_edit::update_metadata))
        .route("/v1/{project_id}/cloudservers/{server_id}/metadata/{key}", delete(server_edit::delete_metadata))
        .route("/v1/{project_id}/cloudservers/{server_id}/console-output", get(server_edit::console_output))
        .route("/v1/{project_id}/cloudservers/flavors", get(flavors::index))
        .route("/v1/{project_id}/cloudservers/limits", get(limits::show))
        .route("/v1/{project_id}/cloudservers/os-server-groups", get(server_groups::index).post(server_groups::create))
        .route(
            "/v1/{project_id}/cloudservers/os-server-groups/{group_id}",
            get(server_groups::show).delete(server_groups::delete),
        )
        .route("/v1/{project_id}/cloudservers/os-server-groups/{group_id}/action", post(server_groups::action))
        .route("/v1/{project_id}/cloudservers/{server_id}/block_device", get(block_devices::list))
        .route("/v1/{project_id}/cloudservers/{server_id}/block_device/detail", get(block_devices::list))
        .route(
            "/v1/{project_id}/cloudservers/{server_id}/block_device/{volume_id}",
            get(block_devices::show).put(server_edit::update_block_device),
        )
        // 2D tags: the seed's `/servers/…` and the SDK's `/cloudservers/…`.
        .route("/v1/{project_id}/servers/tags", get(tags::of_project))
        .route("/v1/{project_id}/cloudservers/tags", get(tags::of_project))
        .route("/v1/{project_id}/servers/resource_instances/action", post(tags::resource_instances))
        .route("/v1/{project_id}/cloudservers/resource_instances/action", post(tags::resource_instances))
        .route("/v1/{project_id}/servers/{server_id}/tags", get(tags::of_server))
        .route("/v1/{project_id}/cloudservers/{server_id}/tags", get(tags::of_server))
        .route("/v1/{project_id}/servers/{server_id}/tags/action", post(tags::action))
        .route("/v1/{project_id}/cloudservers/{server_id}/tags/action", post(tags::action))
        // Seed 002 prints reinstallos/changeos under /v2 (the Nova project
        // rewrite leaves `cloudservers` paths alone).
        .route("/v2/{project_id}/cloudservers/{server_id}/reinstallos", post(server_actions::reinstall))
        .route("/v2.1/{project_id}/cloudservers/{server_id}/reinstallos", post(server_actions::reinstall))
        .route("/v1/{project_id}/cloudservers/{server_id}/reinstallos", post(server_actions::reinstall))
        .route("/v2/{project_id}/cloudservers/{server_id}/changeos", post(server_actions::change_os))
        .route("/v2.1/{project_id}/cloudservers/{server_id}/changeos", post(server_actions::change_os))
        .route("/v1/{project_id}/cloudservers/{server_id}/changeos", post(server_actions::change_os))
        .route("/v1/{project_id}/cloudservers/{server_id}/migrate", post(server_actions::migrate))
        .route("/v1/{project_id}/cloudservers/{server_id}/resize", post(server_actions::resize))
        .route("/v1/{project_id}/cloudservers/{server_id}/nics", post(nics::add))
        .route("/v1/{project_id}/cloudservers/{server_id}/nics/delete", post(nics::delete))
        .route("/v1/{project_id}/cloudservers/{server_id}/attachvolume", post(disks::attach))
        .route("/v1.1/{project_id}/cloudservers/{server_id}/resize", post(server_actions::resize_v1_1))
        .route("/v1/{project_id}/cloudservers/batch-resize", post(server_actions::batch_resize))
        .route("/v1/{project_id}/cloudservers/resize_flavors", get(sales::resize_flavors))
        .route("/v1/{project_id}/cloudservers/flavor-sell-policies", get(sales::sell_policies))
        .route("/v1/{project_id}/cloudservers/flavors/{flavor_id}/resources", get(sales::capacity))
        .route("/v1/{project_id}/availability-zones", get(sales::zones))
        .route("/v1/{project_id}/cloudservers/server-name", put(server_settings::rename))
        .route(
            "/v1/{project_id}/cloudservers/{server_id}/autorecovery",
            get(server_settings::auto_recovery).put(server_settings::set_auto_recovery),
        )
        .route("/v1/{project_id}/cloudservers/{server_id}/os-interface", get(interfaces::list))
        .route("/v1/{project_id}/cloudservers/{server_id}/os-interface_extension", get(interfaces::attachable))
        .route("/v1/{project_id}/cloudservers/{server_id}/os-interface/{port_id}", put(interfaces::update))
        .route(
            "/v1/{project_id}/cloudservers/{server_id}/os-interface/{port_id}/change-network-interface",
            post(interfaces::change),
        )
        .route("/v1/{project_id}/cloudservers/{server_id}/changevpc", post(interfaces::change_vpc))
        .route("/v1/{project_id}/cloudservers/nics/{nic_id}", put(interfaces::virtual_ip))
        .route(
            "/v1/{project_id}/cloudservers/os-server-groups/{group_id}/add_members",
            post(server_groups::add_members),
        )
        .route(
            "/v1/{project_id}/cloudservers/os-server-groups/{group_id}/remove_members",
            post(server_groups::remove_members),
        )
        .route("/v1/{project_id}/cloudservers/{server_id}/detachvolume/{volume_id}", delete(disks::detach))
        // The recycle bin.
        .route("/v1/{project_id}/recycle-bin", get(recycle_bin::show).put(recycle_bin::update))
        .route("/v1/{project_id}/recycle-bin/policy", put(recycle_bin::update_policy))
        .route("/v1/{project_id}/recycle-bin/cloudservers", get(recycle_bin::servers))
        .route("/v1/{project_id}/recycle-bin/cloudservers/{server_id}", delete(recycle_bin::delete))
        .route("/v1/{project_id}/recycle-bin/cloudservers/{server_id}/actions/revert", post(recycle_bin::revert))
        // v3: launch templates and scheduled events.
        .route("/v3/{project_id}/launch-templates", get(launch_templates::list).post(launch_templates::create))
        .route("/v3/{project_id}/launch-templates/{launch_template_id}", delete(launch_templates::delete))
        .route("/v3/{project_id}/launch-template-versions", get(launch_templates::versions))
        .route("/v3/{project_id}/instance-scheduled-events", get(launch_templates::events))
        .route("/v3/{project_id}/instance-scheduled-events/{id}", put(launch_templates::update_event))
        .route("/v3/{project_id}/instance-scheduled-events/{id}/actions/accept", post(launch_templates::accept_event))
        // Per-server options and actions.
        .route(
            "/v1/{project_id}/cloudservers/{server_id}/metadata-options",
            get(server_options::show_metadata_options).put(server_options::update_metadata_options),
        )
        .route(
            "/v1/{project_id}/cloudservers/{server_id}/serial-console-options",
            put(server_options::update_serial_console),
        )
        .route("/v1/{project_id}/cloudservers/{server_id}/actions/serial-console", post(server_options::serial_console))
        .route("/v1/{project_id}/cloudservers/{server_id}/remote_console", post(server_options::remote_console))
        .route(
            "/v1/{project_id}/cloudservers/{server_id}/actions/update-auto-terminate-time",
            post(server_options::update_auto_terminate),
        )
        .route("/v1/{project_id}/cloudservers/{server_id}/actions/redeploy", post(server_options::redeploy))
        .route("/v1/{project_id}/cloudservers/{server_id}/actions/trigger-crash-dump", post(server_options::dump))
        .route("/v1/{project_id}/cloudservers/actions/change-charge-mode", post(server_options::change_charge_mode))
        // Passwords.
        .route("/v1/{project_id}/cloudservers/{server_id}/os-reset-password", put(passwords::reset))
        .route("/v1/{project_id}/cloudservers/os-reset-passwords", put(passwords::batch_reset))
        .route(
            "/v1/{project_id}/cloudservers/{server_id}/os-server-password",
            get(passwords::show).delete(passwords::clear),
        )
        .route("/v1/{project_id}/cloudservers/{server_id}/os-resetpwd-flag", get(passwords::flag))
        // Shared disks, attachments and disk slots.
        .route("/v1/{project_id}/batchaction/attachvolumes/{volume_id}", post(shared_volumes::batch_attach))
        .route("/v1/{project_id}/batchaction/detachvolumes/{volume_id}", post(shared_volumes::batch_detach))
        .route("/v1/{project_id}/cloudservers/{server_id}/os-volume_attachments", get(shared_volumes::attachments))
        .route("/v1/{project_id}/cloudservers/{server_id}/appendvolumequota", get(shared_volumes::appendable))
}

/// The ECS-native routes in the OpenAPI document (`crate::openapi`): each
/// handler here carries its `#[utoipa::path(…)]`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create::create_v1_1,
    servers::detail_v1_1,
    server_actions::resize_v1_1,
    sales::zones,
    shared_volumes::batch_attach,
    shared_volumes::batch_detach,
    create::create_v1,
    actions::batch,
    server_options::change_charge_mode,
    server_actions::batch_resize,
    actions::delete,
    servers::detail,
    sales::sell_policies,
    flavors::index,
    sales::capacity,
    limits::show,
    interfaces::virtual_ip,
    passwords::batch_reset,
    server_groups::index,
    server_groups::create,
    server_groups::delete,
    server_groups::show,
    server_groups::action,
    server_groups::add_members,
    server_groups::remove_members,
    sales::resize_flavors,
    tags::resource_instances,
    server_settings::rename,
    tags::of_project,
    servers::show,
    server_edit::update,
    server_options::redeploy,
    server_options::serial_console,
    server_options::dump,
    server_options::update_auto_terminate,
    shared_volumes::appendable,
    disks::attach,
    server_settings::auto_recovery,
    server_settings::set_auto_recovery,
    block_devices::list,
    block_devices::show,
    server_edit::update_block_device,
    server_actions::change_os,
    interfaces::change_vpc,
    server_edit::console_output,
    disks::detach,
    server_edit::update_metadata,
    server_options::show_metadata_options,
    server_options::update_metadata_options,
    server_edit::delete_metadata,
    server_actions::migrate,
    nics::add,
    nics::delete,
    interfaces::list,
    interfaces::update,
    interfaces::change,
    interfaces::attachable,
    passwords::reset,
    passwords::flag,
    passwords::clear,
    passwords::show,
    shared_volumes::attachments,
    server_actions::reinstall,
    server_options::remote_console,
    server_actions::resize,
    server_options::update_serial_console,
    tags::of_server,
    tags::action,
    jobs::show,
    recycle_bin::show,
    recycle_bin::update,
    recycle_bin::servers,
    recycle_bin::delete,
    recycle_bin::revert,
    recycle_bin::update_policy,
    launch_templates::events,
    launch_templates::update_event,
    launch_templates::accept_event,
    launch_templates::versions,
    launch_templates::list,
    launch_templates::create,
    launch_templates::delete,
))]
pub(crate) struct EcsApi;

/// `(route, documented at)`: routes served by a handler whose annotation
/// names another of its paths; the document repeats the operation there.
pub(crate) const DOCUMENTED_AS: &[(&str, &str)] = &[
    (
        "/v1/{project_id}/cloudservers/{server_id}/block_device/detail",
        "/v1/{project_id}/cloudservers/{server_id}/block_device",
    ),
    ("/v1/{project_id}/servers/resource_instances/action", "/v1/{project_id}/cloudservers/resource_instances/action"),
    ("/v1/{project_id}/servers/tags", "/v1/{project_id}/cloudservers/tags"),
    ("/v1/{project_id}/servers/{server_id}/tags", "/v1/{project_id}/cloudservers/{server_id}/tags"),
    ("/v1/{project_id}/servers/{server_id}/tags/action", "/v1/{project_id}/cloudservers/{server_id}/tags/action"),
    ("/v2.1/{project_id}/cloudservers/{server_id}/changeos", "/v1/{project_id}/cloudservers/{server_id}/changeos"),
    (
        "/v2.1/{project_id}/cloudservers/{server_id}/reinstallos",
        "/v1/{project_id}/cloudservers/{server_id}/reinstallos",
    ),
    ("/v2/{project_id}/cloudservers/{server_id}/changeos", "/v1/{project_id}/cloudservers/{server_id}/changeos"),
    ("/v2/{project_id}/cloudservers/{server_id}/reinstallos", "/v1/{project_id}/cloudservers/{server_id}/reinstallos"),
];

/// Ecs.0005, the seed's answer to a request it cannot use.
pub(crate) fn illegal(message: impl Into<String>) -> EcsError {
    EcsError::with_message("Ecs.0005", message)
}

/// The largest ECS request body: the seed's one size limit, that of AK/SK
/// signed requests (12 MB), so that a signed and a token request agree.
pub const MAX_BODY_BYTES: usize = crate::identity::MAX_SIGNED_BODY_BYTES;

/// An ECS request body as sent (its bytes are hashed for `X-Client-Token`),
/// refused in ECS's format when it cannot be read: too large (413), not
/// JSON by its `Content-Type` or encoded (415), broken off (400).
pub struct EcsBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for EcsBody {
    type Rejection = EcsError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        // A JSON type with a charset is fine: the Huawei SDKs send one.
        Ok(EcsBody(crate::body::read_json_bytes(&parts.headers, body, MAX_BODY_BYTES).await?))
    }
}

/// A JSON request body: none is Common.0002, anything but JSON Ecs.0005.
pub(crate) fn json_body(bytes: &[u8]) -> Result<serde_json::Value, EcsError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(EcsError::new("Common.0002"));
    }
    serde_json::from_slice(bytes).map_err(|_| illegal("request body is illegal."))
}

/// The most items an ECS list page holds (`limit` at most this).
pub(crate) const MAX_LIMIT: usize = 1000;

/// An ECS list route's query string. Its paging parameters are checked
/// here, once for every route: a junk `limit` or `offset` is Ecs.0005,
/// never a default.
pub(crate) struct ListQuery(Vec<(String, String)>);

impl ListQuery {
    pub(crate) fn parse(raw: Option<&str>) -> Result<Self, EcsError> {
        serde_urlencoded::from_str(raw.unwrap_or("")).map(ListQuery).map_err(|_| illegal("Malformed query string"))
    }

    /// The first value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// `limit`: an integer from 1 to [`MAX_LIMIT`].
    pub(crate) fn limit(&self) -> Result<Option<usize>, EcsError> {
        self.get("limit")
            .map(|l| {
                l.parse::<usize>()
                    .ok()
                    .filter(|l| (1..=MAX_LIMIT).contains(l))
                    .ok_or_else(|| illegal(format!("limit must be an integer from 1 to {MAX_LIMIT}")))
            })
            .transpose()
    }

    /// A non-negative integer parameter such as `offset`.
    pub(crate) fn non_negative(&self, key: &str) -> Result<Option<usize>, EcsError> {
        self.get(key)
            .map(|v| v.parse::<usize>().map_err(|_| illegal(format!("{key} must be a non-negative integer"))))
            .transpose()
    }
}

/// `X-Client-Token` (DECISIONS.md §13) with a digest of the request body.
pub fn client_token(headers: &HeaderMap, body: &[u8]) -> Result<Option<ClientToken>, EcsError> {
    let Some(value) = headers.get("X-Client-Token") else { return Ok(None) };
    let token = value
        .to_str()
        .ok()
        .filter(|t| !t.is_empty() && t.len() <= 255)
        .ok_or_else(|| illegal("X-Client-Token must be 1 to 255 visible characters."))?;
    Ok(Some(ClientToken { token: token.to_string(), request_hash: hex::encode(sha2::Sha256::digest(body)) }))
}

/// The answer of an asynchronous ECS call: the job that is its task.
fn job_reply(task_id: &str) -> Json<Value> {
    Json(json!({"job_id": ecs_core::job::job_id(task_id)}))
}

/// The caller of an ECS-native request: authenticated, and acting in the
/// project the path names.
pub struct EcsCall {
    pub ctx: AuthContext,
    /// [`crate::ApiConfig::early_policy_gates`].
    early_gate: bool,
}

impl FromRequestParts<AppState> for EcsCall {
    type Rejection = EcsError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // A bad token or AK/SK signature is the seed's only 401 code,
        // Common.0013 (Huawei's gateway says APIGW.0301, which the seed lacks).
        let Caller(ctx) = Caller::from_request_parts(parts, state).await.map_err(|e| {
            let code = if e.status.is_server_error() { "Common.0001" } else { "Common.0013" };
            EcsError::with_message(code, e.message)
        })?;
        // The path's project must be the one the credentials are scoped to:
        // `/v1/{project_id}/…`, or on the Nova paths (block_device) the
        // project the Nova rewrite took out of the path, if any.
        // (Under Nova's router the path is seen without its `/v2.1` prefix.)
        let path = parts.uri.path();
        let path_project = match parts.extensions.get::<crate::nova::PathProject>() {
            Some(p) => Some(p.0.clone()),
            None if path.starts_with("/servers/") => None,
            None => Some(path.split('/').nth(2).unwrap_or_default().to_string()),
        };
        if let Some(path_project) = path_project
            && ctx.project_id() != Some(path_project.as_str())
        {
            return Err(EcsError::with_message(
                "Ecs.0003",
                format!("The request is for project {path_project}, the credentials for another."),
            ));
        }
        // Roles that only read may not change anything (§9).
        let call = EcsCall { ctx, early_gate: state.config.early_policy_gates };
        match iam::action(&parts.method, path) {
            Some((_, true)) => {}
            Some((action, false)) => call.authorize(action)?,
            // The batch route's body names the action: its handler checks.
            None if path.ends_with("/cloudservers/action") => {}
            None => call.authorize("ecs:cloudServers:update")?,
        }
        Ok(call)
    }
}

impl EcsCall {
    /// Refuses a changing IAM `action` to a caller whose roles only read
    /// (an early gate: the core refuses such a caller in any case).
    pub fn authorize(&self, action: &str) -> Result<(), EcsError> {
        if !self.early_gate || ecs_core::policy::may_write(&self.ctx) {
            Ok(())
        } else {
            Err(error::policy_denied(action))
        }
    }
}
