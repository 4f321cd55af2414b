//! The network service (a Neutron v2.0 subset at `/networking`): networks,
//! subnets and ports, listed, created and deleted through the core (which
//! decides who may), so that clients can find and make the networks
//! servers attach to (`server create --network NAME`).

use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
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
            E::NotFound { kind, .. } => match kind {
                Kind::Network => (StatusCode::NOT_FOUND, "NetworkNotFound"),
                Kind::Subnet => (StatusCode::NOT_FOUND, "SubnetNotFound"),
                Kind::Port => (StatusCode::NOT_FOUND, "PortNotFound"),
                _ => (StatusCode::NOT_FOUND, "NotFound"),
            },
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
        .route("/networking/v2.0/extensions", get(extensions))
        .route("/networking/v2.0/networks", get(networks).post(create_network))
        .route("/networking/v2.0/networks/{id}", get(network).delete(delete_network))
        .route("/networking/v2.0/subnets", get(subnets).post(create_subnet))
        .route("/networking/v2.0/subnets/{id}", get(subnet).delete(delete_subnet))
        .route("/networking/v2.0/ports", get(ports).post(create_port))
        .route("/networking/v2.0/ports/{id}", get(port).delete(delete_port))
}

async fn versions(base: BaseUrl) -> Json<Value> {
    let href = format!("{}/", base.join("networking/v2.0"));
    Json(json!({"versions": [{"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": href}]}]}))
}

/// No Neutron API extensions are offered (clients ask before using some).
async fn extensions() -> Json<Value> {
    Json(json!({"extensions": []}))
}

struct Query(Vec<(String, String)>);

impl Query {
    fn parse(raw: Option<&str>) -> Result<Query> {
        serde_urlencoded::from_str(raw.unwrap_or(""))
            .map(Query)
            .map_err(|_| NeutronError(StatusCode::BAD_REQUEST, "HTTPBadRequest", "Malformed query string".into()))
    }

    /// Neutron filters: a field may be given several times (any matches).
    fn matches(&self, field: &str, value: &str) -> bool {
        let wanted: Vec<&str> = self.0.iter().filter(|(k, _)| k == field).map(|(_, v)| v.as_str()).collect();
        wanted.is_empty() || wanted.contains(&value)
    }
}

fn network_view(n: &Network, subnets: &[Subnet]) -> Value {
    let t = n.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let project = n.project_id.clone().unwrap_or_default();
    json!({
        "id": n.id, "name": n.name, "status": "ACTIVE", "admin_state_up": true, "shared": n.shared,
        "subnets": subnets.iter().map(|s| s.id.clone()).collect::<Vec<_>>(), "tenant_id": project,
        "project_id": project, "router:external": n.external, "mtu": 1500, "description": "", "tags": [],
        "availability_zones": [], "availability_zone_hints": [], "port_security_enabled": true,
        "ipv4_address_scope": null, "ipv6_address_scope": null, "is_default": false, "revision_number": 1,
        "created_at": t, "updated_at": t,
    })
}

fn subnet_view(s: &Subnet, project: &str) -> Value {
    let t = s.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
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
        "ip_version": s.ip_version, "dns_nameservers": s.dns_nameservers, "enable_dhcp": true,
        "allocation_pools": pool.unwrap_or_else(|| json!([])), "host_routes": [], "tenant_id": project,
        "project_id": project, "description": "", "tags": [], "created_at": t, "updated_at": t,
        "revision_number": 1, "subnetpool_id": null, "ipv6_address_mode": null, "ipv6_ra_mode": null,
    })
}

fn port_view(p: &ServerPort) -> Value {
    let bound = !p.server_id.is_empty();
    json!({
        "id": p.id, "name": p.name, "network_id": p.network_id, "mac_address": p.mac, "admin_state_up": true,
        "status": if bound { "ACTIVE" } else { "DOWN" }, "device_id": p.server_id,
        "device_owner": if bound { "compute:nova" } else { "" }, "tenant_id": p.project_id,
        "project_id": p.project_id, "fixed_ips": [{"subnet_id": p.subnet_id, "ip_address": p.address}],
        "security_groups": [], "description": "", "tags": [], "binding:vnic_type": "normal",
    })
}

fn port_not_found(id: &str) -> NeutronError {
    NeutronError(StatusCode::NOT_FOUND, "PortNotFound", format!("Port {id} could not be found."))
}

/// A core error about the port a path names, in Neutron's words.
fn port_error(id: &str) -> impl Fn(ecs_core::Error) -> NeutronError + '_ {
    move |e| match e {
        ecs_core::Error::NotFound { .. } => port_not_found(id),
        other => other.into(),
    }
}

async fn networks(State(state): State<AppState>, Caller(ctx): Caller, RawQuery(raw): RawQuery) -> Result<Json<Value>> {
    let q = Query::parse(raw.as_deref())?;
    let mut out = Vec::new();
    for n in state.core.networks(&ctx).await? {
        let shared = if n.shared { "True" } else { "False" };
        if q.matches("id", &n.id)
            && q.matches("name", &n.name)
            && (q.matches("shared", shared) || q.matches("shared", &shared.to_lowercase()))
        {
            let subnets = state.core.subnets(&ctx, &n.id).await?;
            out.push(network_view(&n, &subnets));
        }
    }
    Ok(Json(json!({"networks": out})))
}

async fn network(State(state): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<Json<Value>> {
    let n = state.core.networks(&ctx).await?.into_iter().find(|n| n.id == id).ok_or_else(|| {
        NeutronError(StatusCode::NOT_FOUND, "NetworkNotFound", format!("Network {id} could not be found."))
    })?;
    let subnets = state.core.subnets(&ctx, &n.id).await?;
    Ok(Json(json!({"network": network_view(&n, &subnets)})))
}

async fn all_subnets(state: &AppState, ctx: &ecs_types::AuthContext) -> Result<Vec<(Subnet, String)>> {
    let mut out = Vec::new();
    for n in state.core.networks(ctx).await? {
        let project = n.project_id.clone().unwrap_or_default();
        for s in state.core.subnets(ctx, &n.id).await? {
            out.push((s, project.clone()));
        }
    }
    Ok(out)
}

async fn subnets(State(state): State<AppState>, Caller(ctx): Caller, RawQuery(raw): RawQuery) -> Result<Json<Value>> {
    let q = Query::parse(raw.as_deref())?;
    let out: Vec<Value> = all_subnets(&state, &ctx)
        .await?
        .iter()
        .filter(|(s, _)| q.matches("id", &s.id) && q.matches("name", &s.name) && q.matches("network_id", &s.network_id))
        .map(|(s, p)| subnet_view(s, p))
        .collect();
    Ok(Json(json!({"subnets": out})))
}

async fn subnet(State(state): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<Json<Value>> {
    let all = all_subnets(&state, &ctx).await?;
    let (s, p) = all.iter().find(|(s, _)| s.id == id).ok_or_else(|| {
        NeutronError(StatusCode::NOT_FOUND, "SubnetNotFound", format!("Subnet {id} could not be found."))
    })?;
    Ok(Json(json!({"subnet": subnet_view(s, p)})))
}

async fn ports(State(state): State<AppState>, Caller(ctx): Caller, RawQuery(raw): RawQuery) -> Result<Json<Value>> {
    let q = Query::parse(raw.as_deref())?;
    let out: Vec<Value> = state
        .core
        .ports(&ctx)
        .await?
        .iter()
        .filter(|p| {
            q.matches("device_id", &p.server_id) && q.matches("network_id", &p.network_id) && q.matches("id", &p.id)
        })
        .map(port_view)
        .collect();
    Ok(Json(json!({"ports": out})))
}

async fn port(State(state): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<Json<Value>> {
    let port = state.core.port(&ctx, &id).await.map_err(port_error(&id))?;
    Ok(Json(json!({"port": port_view(&port)})))
}

/// `POST /ports`: a port on a network, optionally with a fixed IP, to
/// attach to a server later.
async fn create_port(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>)> {
    let bad = |m: &str| NeutronError(StatusCode::BAD_REQUEST, "HTTPBadRequest", m.to_string());
    let p = body.get("port").and_then(Value::as_object).ok_or_else(|| bad("Resource body required"))?;
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
    let port = state.core.port_create(&ctx, network_id, name, fixed_ip).await?;
    Ok((StatusCode::CREATED, Json(json!({"port": port_view(&port)}))))
}

async fn delete_port(State(state): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<StatusCode> {
    state.core.port_delete(&ctx, &id).await.map_err(port_error(&id))?;
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
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>)> {
    let n = resource(&body, "network")?;
    let name = n.get("name").and_then(Value::as_str).unwrap_or("");
    let shared = n.get("shared").map(|v| v.as_bool().ok_or_else(|| bad_request("shared must be a boolean")));
    let external = n.get("router:external").and_then(Value::as_bool).unwrap_or(false);
    let network = state.core.network_create(&ctx, name, shared.transpose()?.unwrap_or(false), external).await?;
    Ok((StatusCode::CREATED, Json(json!({"network": network_view(&network, &[])}))))
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
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>)> {
    let s = resource(&body, "subnet")?;
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
    let network = state.core.networks(&ctx).await?.into_iter().find(|n| n.id == req.network_id);
    let subnet = state.core.subnet_create(&ctx, req).await?;
    let project = network.and_then(|n| n.project_id).unwrap_or_default();
    Ok((StatusCode::CREATED, Json(json!({"subnet": subnet_view(&subnet, &project)}))))
}

async fn delete_subnet(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let all = all_subnets(&state, &ctx).await?;
    let (s, _) = all.iter().find(|(s, _)| s.id == id).ok_or_else(|| {
        NeutronError(StatusCode::NOT_FOUND, "SubnetNotFound", format!("Subnet {id} could not be found."))
    })?;
    state.core.subnet_delete(&ctx, &s.network_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
