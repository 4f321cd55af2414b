//! The network service (a Neutron v2.0 subset at `/networking`): networks,
//! subnets and ports, listed, created and deleted through the core (which
//! decides who may), so that clients can find and make the networks
//! servers attach to (`server create --network NAME`).
//!
//! Bodies are read by [`NeutronBody`] and their attributes checked by
//! [`attributes`]; list queries (filters, `limit`, `marker`, `sort_key`,
//! `sort_dir`) by [`Query`].

mod attributes;
mod floating_ips;
mod quotas;
mod routers;
mod security_groups;

use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use ecs_core::neutron::NeutronView;
use ecs_types::neutron::NeutronAttrs;
use ecs_types::server::ServerPort;
use ecs_types::{Network, Subnet};
use serde_json::{Value, json};

use crate::body::BodyError;
use crate::identity::Caller;
use crate::{AppState, BaseUrl};

/// Neutron's fault body: `{"NeutronError": {"type", "message", "detail"}}`.
pub(crate) struct NeutronError(StatusCode, &'static str, String);

impl NeutronError {
    pub(crate) fn not_found() -> Self {
        NeutronError(StatusCode::NOT_FOUND, "HTTPNotFound", "The resource could not be found.".into())
    }

    /// neutron-lib's `InvalidInput` (a value no converter takes).
    fn invalid_input(message: impl std::fmt::Display) -> Self {
        NeutronError(StatusCode::BAD_REQUEST, "InvalidInput", format!("Invalid input for operation: {message}."))
    }

    /// neutron-lib's `BadRequest` about one part of the request.
    fn bad(part: &str, message: impl std::fmt::Display) -> Self {
        NeutronError(StatusCode::BAD_REQUEST, "BadRequest", format!("Bad {part} request: {message}."))
    }

    /// A fault scenario's answer (`HTTPServiceUnavailable` for a 503).
    pub(crate) fn injected(status: StatusCode, message: &str) -> Self {
        let kind = if status == StatusCode::SERVICE_UNAVAILABLE { "HTTPServiceUnavailable" } else { "HTTPError" };
        NeutronError(status, kind, message.into())
    }

    pub(crate) fn method_not_allowed() -> Self {
        let message = "The server could not comply with the request: the method is not allowed for this resource.";
        NeutronError(StatusCode::METHOD_NOT_ALLOWED, "HTTPMethodNotAllowed", message.into())
    }
}

/// Bodies Neutron cannot read, as its API layer answers them.
impl From<BodyError> for NeutronError {
    fn from(e: BodyError) -> Self {
        let (status, kind, message) = match e {
            BodyError::TooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, "HTTPRequestEntityTooLarge", "Request is too large.")
            }
            BodyError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "HTTPUnsupportedMediaType", "Unsupported Content-Type")
            }
            BodyError::UnsupportedEncoding => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "HTTPUnsupportedMediaType", "Unsupported Content-Encoding")
            }
            BodyError::Incomplete => (StatusCode::BAD_REQUEST, "HTTPBadRequest", "The request body is incomplete."),
            BodyError::TimedOut => {
                (StatusCode::REQUEST_TIMEOUT, "HTTPRequestTimeout", "Timed out reading the request body.")
            }
            BodyError::Malformed => (StatusCode::BAD_REQUEST, "HTTPBadRequest", "Malformed request body"),
        };
        NeutronError(status, kind, message.into())
    }
}

impl IntoResponse for NeutronError {
    fn into_response(self) -> Response {
        let body = json!({"NeutronError": {"type": self.1, "message": self.2, "detail": ""}});
        (self.0, Json(body)).into_response()
    }
}

impl From<ecs_core::Error> for NeutronError {
    fn from(e: ecs_core::Error) -> Self {
        use ecs_core::{Conflict, Error as E, Forbidden, Invalid, Kind};
        let (status, kind) = match &e {
            E::Forbidden(Forbidden::Policy { rule }) => {
                let message = format!("(rule:{rule}) is disallowed by policy");
                return NeutronError(StatusCode::FORBIDDEN, "PolicyNotAuthorized", message);
            }
            E::NotFound { kind, id } => {
                let (kind, message) = match kind {
                    Kind::Network => ("NetworkNotFound", e.to_string()),
                    Kind::Subnet => ("SubnetNotFound", e.to_string()),
                    Kind::Port => ("PortNotFound", e.to_string()),
                    Kind::SecurityGroup | Kind::SecurityGroupName { .. } => {
                        ("SecurityGroupNotFound", format!("Security group {id} does not exist"))
                    }
                    Kind::SecurityGroupRule => {
                        ("SecurityGroupRuleNotFound", format!("Security group rule {id} does not exist"))
                    }
                    Kind::FloatingIp => ("FloatingIPNotFound", format!("Floating IP {id} could not be found")),
                    Kind::Router => ("RouterNotFound", e.to_string()),
                    Kind::RouterInterface { by_subnet: true, .. } => {
                        ("RouterInterfaceNotFoundForSubnet", e.to_string())
                    }
                    Kind::RouterInterface { .. } => ("RouterInterfaceNotFound", e.to_string()),
                    Kind::ExternalGateway { .. } => ("ExternalGatewayForFloatingIPNotFound", e.to_string()),
                    _ => ("NotFound", e.to_string()),
                };
                return NeutronError(StatusCode::NOT_FOUND, kind, message);
            }
            E::Invalid(Invalid::Neutron { fault, message }) => {
                return NeutronError(StatusCode::BAD_REQUEST, fault, message.clone());
            }
            E::Conflict(Conflict::Neutron { fault, message }) => {
                return NeutronError(StatusCode::CONFLICT, fault, message.clone());
            }
            // Neutron's own faults for the address and port clashes.
            E::Invalid(Invalid::FixedIpInUse { ip }) => {
                let message = format!("IP address {ip} already allocated in subnet");
                return NeutronError(StatusCode::CONFLICT, "IpAddressAlreadyAllocated", message);
            }
            E::Invalid(Invalid::NoFixedIpLeft) => {
                let message = "No more IP addresses available on network.".to_string();
                return NeutronError(StatusCode::CONFLICT, "IpAddressGenerationFailure", message);
            }
            E::Conflict(Conflict::PortInUse { id }) => {
                let message = format!("Port {id} is in use by a server.");
                return NeutronError(StatusCode::CONFLICT, "PortInUse", message);
            }
            E::Invalid(_) => (StatusCode::BAD_REQUEST, "BadRequest"),
            E::Forbidden(_) => (StatusCode::FORBIDDEN, "PolicyNotAuthorized"),
            E::Conflict(_) | E::InvalidState { .. } | E::Locked { .. } => (StatusCode::CONFLICT, "Conflict"),
            E::QuotaExceeded { .. } => (StatusCode::CONFLICT, "OverQuota"),
            E::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "Unauthorized"),
            E::Unsupported => (StatusCode::NOT_IMPLEMENTED, "NotImplemented"),
            E::NoValidHost { .. } | E::Internal(_) => {
                tracing::error!(error = %e, "internal error");
                return NeutronError(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", "Request failed".into());
            }
        };
        NeutronError(status, kind, e.to_string())
    }
}

type Result<T> = std::result::Result<T, NeutronError>;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/networking", get(versions))
        .route("/networking/", get(versions))
        .route("/networking/v2.0/extensions", get(quotas::extensions))
        .route("/networking/v2.0/extensions/{alias}", get(quotas::extension))
        .route("/networking/v2.0/networks", get(networks).post(create_network))
        .route("/networking/v2.0/networks/{id}", get(network).put(update_network).delete(delete_network))
        .route("/networking/v2.0/subnets", get(subnets).post(create_subnet))
        .route("/networking/v2.0/subnets/{id}", get(subnet).put(update_subnet).delete(delete_subnet))
        .route("/networking/v2.0/ports", get(ports).post(create_port))
        .route("/networking/v2.0/ports/{id}", get(port).put(update_port).delete(delete_port))
        .route("/networking/v2.0/security-groups", get(security_groups::list).post(security_groups::create))
        .route(
            "/networking/v2.0/security-groups/{id}",
            get(security_groups::show).put(security_groups::update).delete(security_groups::delete),
        )
        .route("/networking/v2.0/security-group-rules", get(security_groups::rules).post(security_groups::rule_create))
        .route(
            "/networking/v2.0/security-group-rules/{id}",
            get(security_groups::rule).delete(security_groups::rule_delete),
        )
        .route("/networking/v2.0/routers", get(routers::list).post(routers::create))
        .route("/networking/v2.0/routers/{id}", get(routers::show).put(routers::update).delete(routers::delete))
        .route("/networking/v2.0/routers/{id}/add_router_interface", put(routers::add_interface))
        .route("/networking/v2.0/routers/{id}/remove_router_interface", put(routers::remove_interface))
        .route("/networking/v2.0/floatingips", get(floating_ips::list).post(floating_ips::create))
        .route(
            "/networking/v2.0/floatingips/{id}",
            get(floating_ips::show).put(floating_ips::update).delete(floating_ips::delete),
        )
        .route("/networking/v2.0/quotas", get(quotas::list))
        .route("/networking/v2.0/quotas/{id}", get(quotas::show).put(quotas::update).delete(quotas::reset))
        .route("/networking/v2.0/quotas/{id}/default", get(quotas::defaults))
        .route("/networking/v2.0/quotas/{id}/details.json", get(quotas::details))
        .route("/networking/v2.0/quotas/{id}/details", get(quotas::details))
}

async fn versions(base: BaseUrl) -> Json<Value> {
    let href = format!("{}/", base.join("networking/v2.0"));
    Json(json!({"versions": [{"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": href}]}]}))
}

/// A JSON request body, refused in Neutron's format when it cannot be read.
pub(crate) struct NeutronBody(Value);

impl<S: Send + Sync> axum::extract::FromRequest<S> for NeutronBody {
    type Rejection = NeutronError;

    async fn from_request(req: axum::extract::Request, _state: &S) -> Result<Self> {
        let (parts, body) = req.into_parts();
        Ok(NeutronBody(crate::body::read_json(&parts.headers, body).await?))
    }
}

/// One kind of listed resource: what it may be sorted by, and how a
/// marker that names none of them is answered.
struct Listed {
    sort_keys: &'static [&'static str],
    not_found: fn(&str) -> NeutronError,
}

const NETWORKS: Listed = Listed {
    sort_keys: &["id", "name", "status", "admin_state_up", "shared", "mtu", "tenant_id", "project_id"],
    not_found: network_not_found,
};
const SUBNETS: Listed = Listed {
    sort_keys: &[
        "id",
        "name",
        "network_id",
        "cidr",
        "ip_version",
        "gateway_ip",
        "enable_dhcp",
        "tenant_id",
        "project_id",
    ],
    not_found: subnet_not_found,
};
const PORTS: Listed = Listed {
    sort_keys: &[
        "id",
        "name",
        "network_id",
        "admin_state_up",
        "mac_address",
        "device_id",
        "device_owner",
        "status",
        "tenant_id",
        "project_id",
    ],
    not_found: port_not_found,
};

struct Query(Vec<(String, String)>);

impl Query {
    fn parse(raw: Option<&str>) -> Result<Query> {
        serde_urlencoded::from_str(raw.unwrap_or(""))
            .map(Query)
            .map_err(|_| NeutronError(StatusCode::BAD_REQUEST, "HTTPBadRequest", "Malformed query string".into()))
    }

    fn all(&self, key: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, v)| k == key && !v.is_empty()).map(|(_, v)| v.as_str()).collect()
    }

    /// `limit` as Neutron reads it (`api_common._get_limit_param`): an
    /// integer 0 or greater, 0 meaning none.
    fn limit(&self) -> Result<Option<usize>> {
        let Some((_, raw)) = self.0.iter().find(|(k, _)| k == "limit") else { return Ok(None) };
        let digits = raw.trim().strip_prefix('+').unwrap_or(raw.trim());
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            let message = format!("Limit must be an integer 0 or greater and not '{raw}'");
            return Err(NeutronError::bad("limit", message));
        }
        // Larger than any list: no limit.
        Ok(Some(digits.parse::<usize>().unwrap_or(usize::MAX)).filter(|n| *n > 0))
    }

    /// `sort_key`/`sort_dir` pairs as `api_common.get_sorts` reads them:
    /// as many of each, known keys, `asc` or `desc`.
    fn sorts(&self, listed: &Listed) -> Result<Vec<(String, bool)>> {
        let (keys, dirs) = (self.all("sort_key"), self.all("sort_dir"));
        if keys.len() != dirs.len() {
            return Err(bad_request("The number of sort_keys and sort_dirs must be same"));
        }
        let absent: Vec<&str> = keys.iter().copied().filter(|k| !listed.sort_keys.contains(k)).collect();
        if !absent.is_empty() {
            return Err(bad_request(format!("{absent:?} is invalid attribute for sort_keys")));
        }
        let invalid: Vec<&str> = dirs.iter().copied().filter(|d| !matches!(*d, "asc" | "desc")).collect();
        if !invalid.is_empty() {
            return Err(bad_request(format!(
                "{invalid:?} is invalid value for sort_dirs, valid value is 'asc' and 'desc'"
            )));
        }
        Ok(keys.iter().zip(dirs).map(|(k, d)| (k.to_string(), d == "asc")).collect())
    }

    /// The page of `items` (views, filtered) the query asks for: sorted,
    /// after the `marker` (which must be one of them, as Neutron looks it
    /// up), at most `limit`.
    fn page(&self, mut items: Vec<Value>, listed: &Listed) -> Result<Vec<Value>> {
        let sorts = self.sorts(listed)?;
        let limit = self.limit()?;
        if !sorts.is_empty() {
            items.sort_by(|a, b| {
                sorts
                    .iter()
                    .map(|(key, asc)| {
                        let order = compare(&a[key], &b[key]);
                        if *asc { order } else { order.reverse() }
                    })
                    .find(|o| o.is_ne())
                    .unwrap_or_else(|| compare(&a["id"], &b["id"]))
            });
        }
        if let Some((_, marker)) = self.0.iter().find(|(k, _)| k == "marker") {
            let at = items.iter().position(|i| i["id"] == marker.as_str()).ok_or_else(|| (listed.not_found)(marker))?;
            items.drain(..=at);
        }
        if let Some(limit) = limit {
            items.truncate(limit);
        }
        Ok(items)
    }

    /// The owner filter, by either of the names Neutron takes for it
    /// (`project_id`, or the older `tenant_id` that Tempest sends).
    fn owned_by(&self, project: &str) -> bool {
        self.matches("project_id", project) && self.matches("tenant_id", project)
    }

    /// Neutron filters: a field may be given several times (any matches).
    fn matches(&self, field: &str, value: &str) -> bool {
        let wanted: Vec<&str> = self.0.iter().filter(|(k, _)| k == field).map(|(_, v)| v.as_str()).collect();
        wanted.is_empty() || wanted.contains(&value)
    }
}

/// Orders two attribute values of one kind (strings, numbers, booleans).
fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x.as_f64().unwrap_or(0.0).partial_cmp(&y.as_f64().unwrap_or(0.0)).unwrap_or(std::cmp::Ordering::Equal)
        }
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Null, Value::Null) => std::cmp::Ordering::Equal,
        (Value::Null, _) => std::cmp::Ordering::Less,
        (_, Value::Null) => std::cmp::Ordering::Greater,
        _ => a.to_string().cmp(&b.to_string()),
    }
}

/// Neutron's time format.
pub(crate) fn stamp(t: &ecs_types::Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// When a resource was last changed (its creation if never).
fn updated(created: &ecs_types::Timestamp, a: &NeutronAttrs) -> String {
    stamp(a.updated_at.as_ref().unwrap_or(created))
}

fn network_view(n: &Network, subnets: &[Subnet], a: &NeutronAttrs) -> Value {
    let t = stamp(&n.created_at);
    let project = n.project_id.clone().unwrap_or_default();
    json!({
        "id": n.id, "name": n.name, "status": "ACTIVE", "admin_state_up": a.admin_state_up, "shared": n.shared,
        "subnets": subnets.iter().map(|s| s.id.clone()).collect::<Vec<_>>(), "tenant_id": project,
        "project_id": project, "router:external": n.external, "mtu": 1500, "description": a.description, "tags": [],
        "availability_zones": [], "availability_zone_hints": [], "port_security_enabled": true,
        "ipv4_address_scope": null, "ipv6_address_scope": null, "is_default": false,
        "revision_number": a.revision_number + 1, "created_at": t, "updated_at": updated(&n.created_at, a),
    })
}

fn subnet_view(s: &Subnet, project: &str, a: &NeutronAttrs) -> Value {
    let t = stamp(&s.created_at);
    let pool = if s.allocation_pools.is_empty() {
        s.cidr.parse::<ipnet::IpNet>().ok().and_then(|net| {
            let mut hosts = net.hosts();
            let first = hosts.find(|ip| Some(ip.to_string()) != s.gateway_ip)?;
            let last = net.hosts().last()?;
            Some(json!([{"start": first.to_string(), "end": last.to_string()}]))
        })
    } else {
        Some(json!(s.allocation_pools.iter().map(|(a, b)| json!({"start": a, "end": b})).collect::<Vec<_>>()))
    };
    json!({
        "id": s.id, "name": s.name, "network_id": s.network_id, "cidr": s.cidr, "gateway_ip": s.gateway_ip,
        "ip_version": s.ip_version, "dns_nameservers": s.dns_nameservers, "enable_dhcp": a.enable_dhcp,
        "allocation_pools": pool.unwrap_or_else(|| json!([])), "host_routes": [], "tenant_id": project,
        "project_id": project, "description": a.description, "tags": [], "created_at": t,
        "updated_at": updated(&s.created_at, a), "revision_number": a.revision_number + 1, "subnetpool_id": null, "ipv6_address_mode": null, "ipv6_ra_mode": null,
    })
}

fn port_view(p: &ServerPort, a: &NeutronAttrs, groups: &[String]) -> Value {
    let bound = !p.server_id.is_empty();
    let owned = bound || !a.device_owner.is_empty();
    let (device_id, device_owner) =
        if bound { (p.server_id.as_str(), "compute:nova") } else { (a.device_id.as_str(), a.device_owner.as_str()) };
    let pairs: Vec<Value> =
        a.allowed_address_pairs.iter().map(|(ip, mac)| json!({"ip_address": ip, "mac_address": mac})).collect();
    json!({
        "id": p.id, "name": p.name, "network_id": p.network_id, "mac_address": p.mac,
        "admin_state_up": a.admin_state_up, "status": if owned && a.admin_state_up { "ACTIVE" } else { "DOWN" },
        "device_id": device_id, "device_owner": device_owner, "tenant_id": p.project_id,
        "project_id": p.project_id, "fixed_ips": [{"subnet_id": p.subnet_id, "ip_address": p.address}],
        "security_groups": groups, "allowed_address_pairs": pairs, "description": a.description, "tags": [],
        "binding:vnic_type": "normal", "port_security_enabled": true, "revision_number": a.revision_number + 1,
        "extra_dhcp_opts": [],
    })
}

/// A port as shown, with what the view knows of it.
async fn shown_port(state: &AppState, view: &NeutronView, p: &ServerPort) -> Result<Value> {
    let groups = state.core.port_security_group_ids(view, p).await?;
    Ok(port_view(p, &view.attrs(&p.id), &groups))
}

fn network_not_found(id: &str) -> NeutronError {
    NeutronError(StatusCode::NOT_FOUND, "NetworkNotFound", format!("Network {id} could not be found."))
}

fn subnet_not_found(id: &str) -> NeutronError {
    NeutronError(StatusCode::NOT_FOUND, "SubnetNotFound", format!("Subnet {id} could not be found."))
}

fn port_not_found(id: &str) -> NeutronError {
    NeutronError(StatusCode::NOT_FOUND, "PortNotFound", format!("Port {id} could not be found."))
}

/// A core error about the port a path names, in Neutron's words.
fn port_error(id: &str) -> impl Fn(ecs_core::Error) -> NeutronError + '_ {
    move |e| match e {
        ecs_core::Error::NotFound { kind: ecs_core::Kind::Port, .. } => port_not_found(id),
        other => other.into(),
    }
}

async fn networks(State(state): State<AppState>, Caller(ctx): Caller, RawQuery(raw): RawQuery) -> Result<Json<Value>> {
    let q = Query::parse(raw.as_deref())?;
    let mut out = Vec::new();
    // Booleans as Neutron takes them in a query: `True` or `true`.
    let flag = |field: &str, value: bool| {
        let text = if value { "True" } else { "False" };
        q.matches(field, text) || q.matches(field, &text.to_lowercase())
    };
    let view = state.core.neutron_view().await?;
    for n in state.core.neutron_networks(&ctx).await? {
        if q.matches("id", &n.id)
            && q.matches("name", &n.name)
            && flag("shared", n.shared)
            && flag("router:external", n.external)
            && q.owned_by(n.project_id.as_deref().unwrap_or_default())
        {
            let subnets = state.core.neutron_subnets(&ctx, &n.id).await?;
            out.push(network_view(&n, &subnets, &view.attrs(&n.id)));
        }
    }
    Ok(Json(json!({"networks": q.page(out, &NETWORKS)?})))
}

async fn network(State(state): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<Json<Value>> {
    let n = state
        .core
        .neutron_networks(&ctx)
        .await?
        .into_iter()
        .find(|n| n.id == id)
        .ok_or_else(|| network_not_found(&id))?;
    let subnets = state.core.neutron_subnets(&ctx, &n.id).await?;
    let attrs = state.core.neutron_view().await?.attrs(&n.id);
    Ok(Json(json!({"network": network_view(&n, &subnets, &attrs)})))
}

async fn all_subnets(state: &AppState, ctx: &ecs_types::AuthContext) -> Result<Vec<(Subnet, String)>> {
    let mut out = Vec::new();
    for n in state.core.neutron_networks(ctx).await? {
        let project = n.project_id.clone().unwrap_or_default();
        for s in state.core.neutron_subnets(ctx, &n.id).await? {
            out.push((s, project.clone()));
        }
    }
    Ok(out)
}

async fn subnets(State(state): State<AppState>, Caller(ctx): Caller, RawQuery(raw): RawQuery) -> Result<Json<Value>> {
    let q = Query::parse(raw.as_deref())?;
    let view = state.core.neutron_view().await?;
    let out: Vec<Value> = all_subnets(&state, &ctx)
        .await?
        .iter()
        .filter(|(s, _)| {
            q.matches("id", &s.id)
                && q.matches("name", &s.name)
                && q.matches("network_id", &s.network_id)
                && q.matches("cidr", &s.cidr)
        })
        .map(|(s, p)| subnet_view(s, p, &view.attrs(&s.id)))
        .collect();
    Ok(Json(json!({"subnets": q.page(out, &SUBNETS)?})))
}

async fn subnet(State(state): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<Json<Value>> {
    let all = all_subnets(&state, &ctx).await?;
    let (s, p) = all.iter().find(|(s, _)| s.id == id).ok_or_else(|| subnet_not_found(&id))?;
    let attrs = state.core.neutron_view().await?.attrs(&s.id);
    Ok(Json(json!({"subnet": subnet_view(s, p, &attrs)})))
}

async fn ports(State(state): State<AppState>, Caller(ctx): Caller, RawQuery(raw): RawQuery) -> Result<Json<Value>> {
    let q = Query::parse(raw.as_deref())?;
    let view = state.core.neutron_view().await?;
    let mut out = Vec::new();
    for p in state.core.ports(&ctx).await? {
        let shown = shown_port(&state, &view, &p).await?;
        let text = |k: &str| shown[k].as_str().unwrap_or_default().to_string();
        if q.matches("device_id", &text("device_id"))
            && q.matches("device_owner", &text("device_owner"))
            && q.matches("network_id", &p.network_id)
            && q.matches("id", &p.id)
            && q.matches("name", &p.name)
            && q.matches("mac_address", &p.mac)
        {
            out.push(shown);
        }
    }
    Ok(Json(json!({"ports": q.page(out, &PORTS)?})))
}

async fn port(State(state): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<Json<Value>> {
    let port = state.core.port(&ctx, &id).await.map_err(port_error(&id))?;
    let view = state.core.neutron_view().await?;
    Ok(Json(json!({"port": shown_port(&state, &view, &port).await?})))
}

/// `POST /ports`: a port on a network, optionally with a fixed IP, to
/// attach to a server later.
async fn create_port(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    NeutronBody(body): NeutronBody,
) -> Result<(StatusCode, Json<Value>)> {
    let bad = |m: &str| NeutronError(StatusCode::BAD_REQUEST, "HTTPBadRequest", m.to_string());
    let p = resource(&body, "port")?;
    attributes::check_create(p, attributes::PORT)?;
    let network_id = p.get("network_id").and_then(Value::as_str).ok_or_else(|| bad("network_id is required"))?;
    let name = p.get("name").and_then(Value::as_str).unwrap_or("");
    let fixed_ip = p
        .get("fixed_ips")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(|f| f.get("ip_address"))
        .and_then(Value::as_str);
    if let Some(ip) = fixed_ip
        && ip.parse::<std::net::IpAddr>().is_err()
    {
        return Err(bad(&format!("Invalid input for fixed_ips: '{ip}' is not a valid IP address")));
    }
    let attrs = NeutronAttrs {
        description: attributes::text_of(p, "description").unwrap_or_default(),
        admin_state_up: p.get("admin_state_up").map(attributes::boolean).transpose()?.unwrap_or(true),
        allowed_address_pairs: attributes::address_pairs(p)?
            .unwrap_or_default()
            .into_iter()
            .map(|(ip, mac)| (ip, mac.unwrap_or_default()))
            .collect(),
        device_owner: attributes::text_of(p, "device_owner").unwrap_or_default(),
        device_id: attributes::text_of(p, "device_id").unwrap_or_default(),
        ..Default::default()
    };
    let groups = attributes::id_list(p, "security_groups")?;
    let port = state.core.neutron_port_create(&ctx, network_id, name, fixed_ip, groups, attrs.clone()).await?;
    // Pairs without a MAC take the port's.
    if attrs.allowed_address_pairs.iter().any(|(_, mac)| mac.is_empty()) {
        let update = ecs_core::neutron::PortUpdate {
            allowed_address_pairs: attributes::address_pairs(p)?,
            ..Default::default()
        };
        state.core.port_update(&ctx, &port.id, update).await?;
    }
    let view = state.core.neutron_view().await?;
    Ok((StatusCode::CREATED, Json(json!({"port": shown_port(&state, &view, &port).await?}))))
}

async fn delete_port(State(state): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<StatusCode> {
    state.core.neutron_port_delete(&ctx, &id).await.map_err(port_error(&id))?;
    Ok(StatusCode::NO_CONTENT)
}

fn bad_request(message: impl Into<String>) -> NeutronError {
    NeutronError(StatusCode::BAD_REQUEST, "HTTPBadRequest", message.into())
}

/// The object under `key` of a request body.
fn resource<'a>(body: &'a Value, key: &str) -> Result<&'a serde_json::Map<String, Value>> {
    body.get(key).and_then(Value::as_object).ok_or_else(|| bad_request("Resource body required"))
}

async fn create_network(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    NeutronBody(body): NeutronBody,
) -> Result<(StatusCode, Json<Value>)> {
    let n = resource(&body, "network")?;
    attributes::check_create(n, attributes::NETWORK)?;
    let name = n.get("name").and_then(Value::as_str).unwrap_or("");
    let flag = |key: &str| n.get(key).map(attributes::boolean).transpose().map(Option::unwrap_or_default);
    let network = state.core.network_create(&ctx, name, flag("shared")?, flag("router:external")?).await?;
    let attrs = NeutronAttrs {
        description: attributes::text_of(n, "description").unwrap_or_default(),
        admin_state_up: n.get("admin_state_up").map(attributes::boolean).transpose()?.unwrap_or(true),
        ..Default::default()
    };
    state.core.neutron_attrs_init(&network.id, &attrs).await?;
    Ok((StatusCode::CREATED, Json(json!({"network": network_view(&network, &[], &attrs)}))))
}

async fn delete_network(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    state.core.network_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn create_subnet(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    NeutronBody(body): NeutronBody,
) -> Result<(StatusCode, Json<Value>)> {
    let s = resource(&body, "subnet")?;
    attributes::check_create(s, attributes::SUBNET)?;
    let text = |k: &str| s.get(k).and_then(Value::as_str).map(String::from);
    if let Some(v) = s.get("ip_version")
        && v != 4
    {
        return Err(bad_request("Invalid input for operation: only IPv4 subnets are supported."));
    }
    let pools = match s.get("allocation_pools") {
        None => Vec::new(),
        Some(list) => list
            .as_array()
            .ok_or_else(|| bad_request("allocation_pools must be a list"))?
            .iter()
            .map(|p| {
                let part = |k: &str| p.get(k).and_then(Value::as_str).map(String::from);
                part("start").zip(part("end")).ok_or_else(|| bad_request("an allocation pool needs start and end"))
            })
            .collect::<Result<Vec<_>>>()?,
    };
    let req = ecs_core::network::SubnetRequest {
        network_id: text("network_id").ok_or_else(|| bad_request("network_id is required"))?,
        name: text("name").unwrap_or_default(),
        cidr: text("cidr").ok_or_else(|| bad_request("cidr is required"))?,
        gateway_ip: s.get("gateway_ip").map(|g| g.as_str().map(String::from)),
        dns_nameservers: s
            .get("dns_nameservers")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|d| d.as_str().map(String::from)).collect())
            .unwrap_or_default(),
        allocation_pools: pools,
    };
    let attrs = NeutronAttrs {
        description: text("description").unwrap_or_default(),
        enable_dhcp: s.get("enable_dhcp").map(attributes::boolean).transpose()?.unwrap_or(true),
        ..Default::default()
    };
    let network = state.core.networks(&ctx).await?.into_iter().find(|n| n.id == req.network_id);
    let subnet = state.core.subnet_create(&ctx, req).await?;
    state.core.neutron_attrs_init(&subnet.id, &attrs).await?;
    let project = network.and_then(|n| n.project_id).unwrap_or_default();
    Ok((StatusCode::CREATED, Json(json!({"subnet": subnet_view(&subnet, &project, &attrs)}))))
}

async fn delete_subnet(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let all = all_subnets(&state, &ctx).await?;
    let (s, _) = all.iter().find(|(s, _)| s.id == id).ok_or_else(|| subnet_not_found(&id))?;
    state.core.subnet_delete(&ctx, &s.network_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn update_network(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    NeutronBody(body): NeutronBody,
) -> Result<Json<Value>> {
    let n = resource(&body, "network")?;
    attributes::check_update(n, attributes::NETWORK, &["name", "description", "admin_state_up", "router:external"])?;
    let flag = |key: &str| n.get(key).map(attributes::boolean).transpose();
    let update = ecs_core::neutron::NetworkUpdate {
        name: attributes::text_of(n, "name"),
        description: attributes::text_of(n, "description"),
        admin_state_up: flag("admin_state_up")?,
        external: flag("router:external")?,
    };
    let network = state.core.network_update(&ctx, &id, update).await?;
    let subnets = state.core.neutron_subnets(&ctx, &id).await?;
    let attrs = state.core.neutron_view().await?.attrs(&id);
    Ok(Json(json!({"network": network_view(&network, &subnets, &attrs)})))
}

async fn update_subnet(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    NeutronBody(body): NeutronBody,
) -> Result<Json<Value>> {
    let s = resource(&body, "subnet")?;
    attributes::check_update(s, attributes::SUBNET, &["name", "description", "enable_dhcp", "dns_nameservers"])?;
    let dns = match s.get("dns_nameservers") {
        None => None,
        Some(Value::Array(a)) => Some(
            a.iter()
                .map(|d| d.as_str().map(String::from).ok_or_else(|| bad_request("dns_nameservers must be strings")))
                .collect::<Result<Vec<_>>>()?,
        ),
        Some(_) => return Err(bad_request("Invalid input for dns_nameservers. Reason: not a list.")),
    };
    let update = ecs_core::neutron::SubnetUpdate {
        name: attributes::text_of(s, "name"),
        description: attributes::text_of(s, "description"),
        enable_dhcp: s.get("enable_dhcp").map(attributes::boolean).transpose()?,
        dns_nameservers: dns,
    };
    state.core.subnet_update(&ctx, &id, update).await?;
    subnet(State(state), Caller(ctx), Path(id)).await
}

async fn update_port(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    NeutronBody(body): NeutronBody,
) -> Result<Json<Value>> {
    let p = resource(&body, "port")?;
    attributes::check_update(
        p,
        attributes::PORT,
        &[
            "name",
            "description",
            "admin_state_up",
            "security_groups",
            "allowed_address_pairs",
            "fixed_ips",
            "port_security_enabled",
            "binding:vnic_type",
        ],
    )?;
    let fixed_ip = match p.get("fixed_ips") {
        None => None,
        Some(Value::Array(list)) if list.len() == 1 => {
            let ip = list[0].get("ip_address").and_then(Value::as_str).ok_or_else(|| {
                bad_request("Invalid input for fixed_ips. Reason: only one fixed IP with an ip_address is supported.")
            })?;
            if ip.parse::<std::net::IpAddr>().is_err() {
                return Err(NeutronError::invalid_input(format!("'{ip}' is not a valid IP address")));
            }
            Some(ip.to_string())
        }
        Some(_) => {
            return Err(bad_request(
                "Invalid input for fixed_ips. Reason: only one fixed IP with an ip_address is supported.",
            ));
        }
    };
    let update = ecs_core::neutron::PortUpdate {
        name: attributes::text_of(p, "name"),
        description: attributes::text_of(p, "description"),
        admin_state_up: p.get("admin_state_up").map(attributes::boolean).transpose()?,
        security_groups: attributes::id_list(p, "security_groups")?,
        allowed_address_pairs: attributes::address_pairs(p)?,
        fixed_ip,
    };
    state.core.port_update(&ctx, &id, update).await.map_err(port_error(&id))?;
    port(State(state), Caller(ctx), Path(id)).await
}
