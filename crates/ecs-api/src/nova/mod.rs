//! The OpenStack Nova compute API.
//!
//! Served at `/v2.1` (microversions) and `/v2` (none), each with or
//! without a `/{project_id}` segment. The project segment is taken out of
//! the path before routing ([`strip_project_from_path`]) and checked
//! against the token's project by [`NovaCall`], answering as Nova does
//! (400 "Malformed request URL") on a mismatch.

mod aggregates;
mod error;
mod evacuate;
mod extensions;
mod external_events;
mod flavor_access;
mod flavors;
mod floating_ips;
mod hosts;
mod images;
mod interfaces;
mod keypairs;
mod lifecycle;
mod limits;
mod metadata;
pub mod microversion;
mod migrations;
mod os_hosts;
mod quota_classes;
mod quota_sets;
mod security_groups;
mod server_actions;
mod server_groups;
mod servers;
mod services;
mod simulator;
mod tenant_networks;
mod usage;
mod usage_audit;
pub mod validate;
mod volumes;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use ecs_types::AuthContext;
use serde_json::{Value, json};

pub use error::{NovaError, NovaRejection};
pub use microversion::{ApiVersion, Flavour, MAX_VERSION, MIN_VERSION};

use crate::identity::Caller;
use crate::{AppState, BaseUrl};

/// Whether a path segment after the version is a project id: Nova's
/// `{project_id:[0-9a-f-]+}` route token (hex, dashes: ecsd's and Keystone's
/// ids). Anything else (`os-simulator`, `servers`, a typo) is a route or a 404.
fn is_project_segment(segment: &str) -> bool {
    !segment.is_empty() && segment.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f' | b'-'))
}

/// The project id a request named in its path.
#[derive(Debug, Clone)]
pub struct PathProject(pub String);

/// Rewrites `/v2.1/{project_id}/…` (and `/v2/…`) to `/v2.1/…`, keeping the
/// project id as a request extension.
pub async fn strip_project_from_path(mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let rewritten = ["/v2.1/", "/v2/"].iter().find_map(|prefix| {
        let rest = path.strip_prefix(prefix)?;
        let (segment, tail) = rest.split_once('/').unwrap_or((rest, ""));
        // ECS's `/v2/{project_id}/cloudservers/…` and EVS's
        // `/v2[.1]/{project_id}/cloudvolumes/…` paths are routed as sent.
        let ecs_path = ["cloudservers", "cloudvolumes"]
            .iter()
            .any(|s| tail == *s || tail.strip_prefix(s).is_some_and(|t| t.starts_with('/')));
        if !is_project_segment(segment) || ecs_path {
            return None;
        }
        // `/v2.1/{project_id}[/]` is the version document, as Nova's routes
        // repeat every route (the empty one too) under the project.
        let new_path =
            if tail.is_empty() { prefix.trim_end_matches('/').to_string() } else { format!("{prefix}{tail}") };
        Some((segment.to_string(), new_path))
    });
    if let Some((project, new_path)) = rewritten {
        let pq = match req.uri().query() {
            Some(q) => format!("{new_path}?{q}"),
            None => new_path,
        };
        let mut parts = req.uri().clone().into_parts();
        if let Ok(pq) = pq.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = axum::http::Uri::from_parts(parts) {
                *req.uri_mut() = uri;
                req.extensions_mut().insert(PathProject(project));
            }
        }
    }
    next.run(req).await
}

pub fn router(_state: AppState) -> Router<AppState> {
    let api = Router::new()
        .route("/flavors", get(flavors::index).post(flavors::create))
        .route("/flavors/detail", get(flavors::detail))
        .route("/flavors/{id}", get(flavors::show).put(flavors::update).delete(flavors::delete))
        .route("/flavors/{id}/os-extra_specs", get(flavors::extra_specs_index).post(flavors::extra_specs_create))
        .route("/flavors/{id}/os-flavor-access", get(flavor_access::index))
        .route("/flavors/{id}/action", post(flavor_access::action))
        .route("/os-simple-tenant-usage", get(usage::index))
        .route("/os-simple-tenant-usage/{tenant_id}", get(usage::show))
        .route(
            "/flavors/{id}/os-extra_specs/{key}",
            get(flavors::extra_spec_show).put(flavors::extra_spec_update).delete(flavors::extra_spec_delete),
        )
        .route("/os-keypairs", get(keypairs::index).post(keypairs::create))
        .route("/os-keypairs/{name}", get(keypairs::show).delete(keypairs::delete))
        .route("/images", get(images::index))
        .route("/images/detail", get(images::detail))
        .route("/images/{id}", get(images::show).delete(images::delete))
        .route(
            "/images/{id}/metadata",
            get(images::metadata).post(images::metadata_update).put(images::metadata_update),
        )
        .route(
            "/images/{id}/metadata/{key}",
            get(images::metadata_item).put(images::metadata_item_put).delete(images::metadata_item_delete),
        )
        .route("/limits", get(limits::show))
        .route("/os-server-groups", get(server_groups::index).post(server_groups::create))
        .route("/os-server-groups/{id}", get(server_groups::show).delete(server_groups::delete))
        .route("/os-aggregates", get(aggregates::index).post(aggregates::create))
        .route("/os-aggregates/{id}", get(aggregates::show).put(aggregates::update).delete(aggregates::delete))
        .route("/os-aggregates/{id}/action", post(aggregates::action))
        .route("/os-availability-zone", get(hosts::zones))
        .route("/os-availability-zone/detail", get(hosts::zones_detail))
        .route("/os-hypervisors", get(hosts::hypervisors))
        .route("/os-hypervisors/detail", get(hosts::hypervisors_detail))
        .route("/os-hypervisors/statistics", get(hosts::hypervisor_statistics))
        .route("/os-hypervisors/{id}", get(hosts::hypervisor_show))
        .route("/os-hypervisors/{id}/uptime", get(hosts::hypervisor_uptime))
        .route("/os-hypervisors/{id}/search", get(hosts::hypervisor_search))
        .route("/os-hypervisors/{id}/servers", get(hosts::hypervisor_servers))
        .route("/os-services", get(services::index))
        .route("/os-services/{id}", put(services::update).delete(services::delete))
        .route("/os-hosts", get(os_hosts::index))
        .route("/os-hosts/{name}", get(os_hosts::show).put(os_hosts::update))
        .route("/os-hosts/{name}/startup", get(os_hosts::startup))
        .route("/os-hosts/{name}/shutdown", get(os_hosts::shutdown))
        .route("/os-hosts/{name}/reboot", get(os_hosts::reboot))
        .route("/os-quota-sets/{project}", get(quota_sets::show).put(quota_sets::update).delete(quota_sets::delete))
        .route("/os-quota-sets/{project}/detail", get(quota_sets::detail))
        .route("/os-quota-sets/{project}/defaults", get(quota_sets::defaults))
        .route("/extensions", get(extensions::index))
        .route("/extensions/{alias}", get(extensions::show))
        .route("/os-instance_usage_audit_log", get(usage_audit::index))
        .route("/os-instance_usage_audit_log/{before}", get(usage_audit::show))
        .route("/os-quota-class-sets/{class}", get(quota_classes::show).put(quota_classes::update))
        .route("/servers/{id}/metadata", get(metadata::index).post(metadata::update).put(metadata::replace))
        .route("/servers/{id}/metadata/{key}", get(metadata::show).put(metadata::put).delete(metadata::delete))
        .route("/servers/{id}/tags", get(metadata::tags).put(metadata::tags_replace).delete(metadata::tags_delete))
        .route("/servers/{id}/tags/{tag}", get(metadata::tag_check).put(metadata::tag_add).delete(metadata::tag_delete))
        .route("/os-floating-ip-pools", get(floating_ips::pools))
        .route("/os-floating-ips", get(floating_ips::index).post(floating_ips::create))
        .route("/os-floating-ips/{id}", get(floating_ips::show).delete(floating_ips::delete))
        .route("/os-volumes", get(volumes::index).post(volumes::create))
        .route("/os-volumes/detail", get(volumes::index))
        .route("/os-volumes/{id}", get(volumes::show).delete(volumes::delete))
        .route("/os-snapshots", get(volumes::snapshots).post(volumes::snapshot_create))
        .route("/os-snapshots/detail", get(volumes::snapshots))
        .route("/os-snapshots/{id}", get(volumes::snapshot).delete(volumes::snapshot_delete))
        .route("/servers/{id}/os-volume_attachments", get(volumes::attachments).post(volumes::attach))
        // ECS-native (§5.6.3/§5.6.4) on the Nova paths, with ECS errors.
        .route("/servers/{id}/block_device", get(crate::ecs::block_devices::list))
        .route("/servers/{id}/block_device/{volume_id}", get(crate::ecs::block_devices::show))
        .route(
            "/servers/{id}/os-volume_attachments/{volume_id}",
            get(volumes::attachment).put(volumes::update).delete(volumes::detach),
        )
        .route("/os-security-groups", get(security_groups::index).post(security_groups::create))
        .route(
            "/os-security-groups/{id}",
            get(security_groups::show).put(security_groups::update).delete(security_groups::delete),
        )
        .route("/os-security-group-rules", post(security_groups::rule_create))
        .route("/os-security-group-rules/{id}", axum::routing::delete(security_groups::rule_delete))
        .route("/servers/{id}/os-security-groups", get(security_groups::of_server))
        .route("/os-networks", get(interfaces::networks))
        .route("/os-tenant-networks", get(tenant_networks::index).post(tenant_networks::removed))
        .route("/os-tenant-networks/{id}", get(tenant_networks::show).delete(tenant_networks::removed))
        .route("/os-networks/{id}", get(interfaces::network))
        .route("/servers/{id}/ips", get(interfaces::ips))
        .route("/servers/{id}/ips/{network}", get(interfaces::ips_of_network))
        .route("/servers/{id}/os-interface", get(interfaces::index).post(interfaces::create))
        .route("/servers/{id}/os-interface/{port_id}", get(interfaces::show).delete(interfaces::delete))
        .route("/servers", get(servers::index).post(servers::create))
        // Nova's boot-from-volume door is the same create.
        .route("/os-volumes_boot", post(servers::create))
        .route("/servers/detail", get(servers::detail_list))
        .route("/servers/{id}", get(servers::show).put(servers::update).delete(servers::delete))
        .route("/servers/{id}/action", post(servers::action))
        .route("/servers/{id}/os-server-password", get(lifecycle::password).delete(lifecycle::password_clear))
        .route("/servers/{id}/remote-consoles", post(lifecycle::remote_console))
        .route("/os-console-auth-tokens/{token}", get(lifecycle::console_auth_token))
        .route("/servers/{id}/os-instance-actions", get(servers::actions_index))
        .route("/servers/{id}/diagnostics", get(server_actions::diagnostics))
        .route("/servers/{id}/topology", get(server_actions::topology))
        .route("/os-migrations", get(migrations::index))
        .route("/servers/{id}/migrations", get(migrations::server_index))
        .route("/servers/{id}/migrations/{migration_id}", get(migrations::server_show).delete(migrations::server_abort))
        .route("/servers/{id}/migrations/{migration_id}/action", post(migrations::server_action))
        .route("/servers/{id}/os-instance-actions/{request_id}", get(servers::actions_show))
        .route("/os-simulator", get(simulator::show).put(simulator::update))
        .route("/os-server-external-events", post(external_events::create))
        // The ECS routes under `/v2.1/cloudservers` fall through here too.
        .fallback(crate::dialect::not_found)
        .method_not_allowed_fallback(crate::dialect::method_not_allowed);
    Router::new()
        .route("/", get(root_versions))
        .route("/v2.1", get(version_v21))
        .route("/v2.1/", get(version_v21))
        .route("/v2", get(version_v2))
        .route("/v2/", get(version_v2))
        .nest("/v2.1", api.clone().layer(axum::middleware::from_fn(microversion::v21)))
        .nest("/v2", api.layer(axum::middleware::from_fn(microversion::legacy)))
        // Seed 002 §6.3.11 prints the monitoring action without a version or project.
        .nest(
            "/v1.0",
            Router::new()
                .route("/servers/{id}/action", post(lifecycle::v10_action))
                .fallback(crate::dialect::not_found)
                .layer(axum::middleware::from_fn(microversion::legacy)),
        )
}

/// The proxy APIs (images, networks, volumes, security groups, floating
/// IPs) that Nova removed at 2.36 answer 404 from there on.
pub(crate) fn gone_at_236(call: &NovaCall) -> Result<(), NovaError> {
    if call.version.at_least(36) { Err(NovaError::not_found()) } else { Ok(()) }
}

// --- version documents ------------------------------------------------------

fn version_entry(base: &BaseUrl, v21: bool) -> Value {
    if v21 {
        json!({
            "id": "v2.1", "status": "CURRENT", "version": MAX_VERSION.to_string(),
            "min_version": MIN_VERSION.to_string(), "updated": "2013-07-23T11:33:21Z",
            "links": [{"rel": "self", "href": format!("{}/", base.join("v2.1"))}],
        })
    } else {
        json!({
            "id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
            "updated": "2011-01-21T11:33:21Z",
            "links": [{"rel": "self", "href": format!("{}/", base.join("v2"))}],
        })
    }
}

async fn root_versions(base: BaseUrl) -> Json<Value> {
    Json(json!({"versions": [version_entry(&base, false), version_entry(&base, true)]}))
}

fn version_document(base: &BaseUrl, v21: bool) -> Json<Value> {
    let mut v = version_entry(base, v21);
    if let Some(links) = v["links"].as_array_mut() {
        links.push(json!({"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}));
    }
    v["media-types"] = json!([{
        "base": "application/json",
        "type": format!("application/vnd.openstack.compute+json;version={}", if v21 { "2.1" } else { "2" }),
    }]);
    Json(json!({"version": v}))
}

async fn version_v21(base: BaseUrl) -> Json<Value> {
    version_document(&base, true)
}

async fn version_v2(base: BaseUrl) -> Json<Value> {
    version_document(&base, false)
}

// --- the per-request context --------------------------------------------------

/// How to build links in this request's style (Nova mirrors the caller's
/// use of a project id and of `/v2` vs `/v2.1`).
#[derive(Debug, Clone)]
pub struct Links {
    base: BaseUrl,
    version_prefix: &'static str,
    project: Option<String>,
}

impl Links {
    fn path(&self, rest: &str) -> String {
        match &self.project {
            Some(p) => format!("{p}/{rest}"),
            None => rest.to_string(),
        }
    }

    /// `self` and `bookmark` links of one resource.
    pub fn resource(&self, collection: &str, id: &str) -> Value {
        let rest = self.path(&format!("{collection}/{id}"));
        json!([
            {"rel": "self", "href": self.base.join(&format!("{}/{rest}", self.version_prefix))},
            {"rel": "bookmark", "href": self.base.join(&rest)},
        ])
    }

    /// The `next` link of a page, when the page is full.
    pub fn next(&self, collection: &str, query: &validate::QueryParams, marker: &str) -> Value {
        let rest = self.path(collection);
        json!([{
            "rel": "next",
            "href": format!("{}?{}", self.base.join(&format!("{}/{rest}", self.version_prefix)), query.with_marker(marker)),
        }])
    }
}

/// Everything a Nova handler needs about the caller: who (validated
/// token), which microversion, and how to build links.
pub struct NovaCall {
    pub ctx: AuthContext,
    pub version: ApiVersion,
    pub flavour: Flavour,
    pub links: Links,
}

impl FromRequestParts<AppState> for NovaCall {
    type Rejection = NovaRejection;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Caller(ctx) = Caller::from_request_parts(parts, state).await.map_err(NovaRejection::Auth)?;
        let path_project = parts.extensions.get::<PathProject>().map(|p| p.0.clone());
        if let Some(p) = &path_project {
            let scoped = ctx.project_id().unwrap_or("");
            if p != scoped {
                return Err(NovaRejection::Nova(NovaError::bad_request(format!(
                    "Malformed request URL: URL's project_id '{p}' doesn't match Context's project_id '{scoped}'"
                ))));
            }
        }
        if state.config.early_policy_gates
            && !matches!(parts.method, Method::GET | Method::HEAD)
            && !called_by_services(parts.uri.path())
            && !ecs_core::policy::may_write(&ctx)
        {
            let rule = policy_rule(&parts.method, parts.uri.path());
            return Err(NovaRejection::Nova(NovaError::new(
                StatusCode::FORBIDDEN,
                format!("Policy doesn't allow {rule} to be performed."),
            )));
        }
        let version = parts.extensions.get::<ApiVersion>().copied().unwrap_or(MIN_VERSION);
        let flavour = parts.extensions.get::<Flavour>().copied().unwrap_or(Flavour::V21);
        let base = BaseUrl::from_headers(&parts.headers, state.config.public_url.as_deref());
        let version_prefix = match flavour {
            Flavour::Legacy => "v2",
            Flavour::V21 => "v2.1",
        };
        Ok(NovaCall { ctx, version, flavour, links: Links { base, version_prefix, project: path_project } })
    }
}

/// Routes other services call (Nova's `service_or_admin` rules): the
/// core's check is their whole policy, the project writers' gate does not
/// apply.
fn called_by_services(path: &str) -> bool {
    path.trim_end_matches('/').ends_with("/os-server-external-events")
}

/// The Nova policy rule a changing request is refused under, named as
/// Nova names them: `os_compute_api:servers:create`, `...:servers:action`.
fn policy_rule(method: &Method, path: &str) -> String {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).skip(1).collect();
    let resource = segments.first().copied().unwrap_or("servers");
    let verb = match (method.as_str(), segments.last()) {
        (_, Some(&"action")) => "action",
        ("POST", _) => "create",
        ("DELETE", _) => "delete",
        _ => "update",
    };
    format!("os_compute_api:{resource}:{verb}")
}

/// A JSON request body, read and parsed with Nova's error answers.
pub struct NovaBody(pub Value);

impl<S: Send + Sync> axum::extract::FromRequest<S> for NovaBody {
    type Rejection = NovaError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        Ok(NovaBody(crate::body::read_json(&parts.headers, body).await?))
    }
}
