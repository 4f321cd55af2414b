//! Huawei Cloud's VPC API (`huaweicloudsdkvpc` v2's paths, `/v1/{project_id}/…`)
//! over the network records the Neutron and Nova APIs show: a VPC is a
//! router with its CIDR; a VPC subnet is a network with its one IPv4 subnet,
//! its `id` the network's (what ECS `nics[].subnet_id` takes); security
//! groups, rules, ports and private IPs are Neutron's. The VPC rules are the
//! core's (`ecs_core::vpc`); errors are the VPC API's (`error`).

mod error;
mod ports;
mod security_groups;
mod v3;
mod vpcs;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::routing::{get, post};
use ecs_types::{AuthContext, Timestamp};
use serde_json::{Map, Value};

pub use error::VpcError;
use error::{Area, InArea};

use crate::AppState;
use crate::identity::Caller;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/{project_id}/vpcs", get(vpcs::list).post(vpcs::create))
        .route("/v1/{project_id}/vpcs/{vpc_id}", get(vpcs::show).put(vpcs::update).delete(vpcs::delete))
        .route("/v1/{project_id}/subnets", get(vpcs::subnets).post(vpcs::subnet_create))
        .route("/v1/{project_id}/subnets/{subnet_id}", get(vpcs::subnet))
        .route(
            "/v1/{project_id}/vpcs/{vpc_id}/subnets/{subnet_id}",
            get(vpcs::subnet_in).put(vpcs::subnet_update).delete(vpcs::subnet_delete),
        )
        .route("/v1/{project_id}/security-groups", get(security_groups::list).post(security_groups::create))
        .route(
            "/v1/{project_id}/security-groups/{security_group_id}",
            get(security_groups::show).delete(security_groups::delete),
        )
        .route("/v1/{project_id}/security-group-rules", get(security_groups::rules).post(security_groups::rule_create))
        .route(
            "/v1/{project_id}/security-group-rules/{rule_id}",
            get(security_groups::rule).delete(security_groups::rule_delete),
        )
        .route("/v1/{project_id}/ports", get(ports::list).post(ports::create))
        .route("/v1/{project_id}/ports/{port_id}", get(ports::show).put(ports::update).delete(ports::delete))
        .route("/v1/{project_id}/privateips", post(ports::private_ip_create))
        .route("/v1/{project_id}/privateips/{privateip_id}", get(ports::private_ip).delete(ports::private_ip_delete))
        .route("/v1/{project_id}/subnets/{subnet_id}/privateips", get(ports::private_ips))
        .route("/v1/{project_id}/quotas", get(ports::quotas))
        .route("/v3/{project_id}/vpc/security-groups", get(v3::groups).post(v3::group_create))
        .route(
            "/v3/{project_id}/vpc/security-groups/{security_group_id}",
            get(v3::group).put(v3::group_update).delete(v3::group_delete),
        )
        .route("/v3/{project_id}/vpc/security-group-rules", get(v3::rules).post(v3::rule_create))
        .route(
            "/v3/{project_id}/vpc/security-group-rules/{security_group_rule_id}",
            get(v3::rule).delete(v3::rule_delete),
        )
}

/// The first segments after `/v1/{project_id}/` that are the VPC API's
/// (and `/v3/{project_id}/vpc/…`).
pub(crate) const PREFIXES: &[&str] =
    &["vpcs", "subnets", "security-groups", "security-group-rules", "ports", "privateips", "quotas"];

/// The caller of a VPC API request: authenticated (token or AK/SK), and
/// acting in the project the path names.
pub struct VpcCall {
    pub ctx: AuthContext,
}

impl FromRequestParts<AppState> for VpcCall {
    type Rejection = VpcError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let shape = shape_of(parts);
        let Caller(ctx) = Caller::from_request_parts(parts, state).await.map_err(|e| {
            shape(if e.status.is_server_error() {
                VpcError::new(e.status, "VPC.0105", e.message)
            } else {
                VpcError::unauthorized(e.message)
            })
        })?;
        let path_project = parts.uri.path().split('/').nth(2).unwrap_or_default();
        if ctx.project_id() != Some(path_project) {
            return Err(shape(VpcError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "VPC.0007",
                "urlTenantId is not equal tokenTenantId",
            )));
        }
        Ok(VpcCall { ctx })
    }
}

/// How a refusal made before the handler is worded: the v3 API's shape
/// under `/v3`, with the request's id.
fn shape_of(parts: &Parts) -> impl Fn(VpcError) -> VpcError + use<> {
    let v3 = parts.uri.path().starts_with("/v3/");
    let request_id = parts.extensions.get::<crate::request_id::RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    move |e| if v3 { e.v3(&request_id) } else { e }
}

/// The largest request body the VPC API reads.
const MAX_BODY_BYTES: usize = 1 << 20;

/// A request body as sent, refused in the VPC API's format when it cannot
/// be read; [`parse`] reads it as JSON for its resource.
pub struct VpcBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for VpcBody {
    type Rejection = VpcError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let shape = shape_of(&parts);
        let bytes = crate::body::read_json_bytes(&parts.headers, body, MAX_BODY_BYTES).await;
        Ok(VpcBody(bytes.map_err(|e| shape(e.into()))?))
    }
}

/// The body's object under `key` (`{"vpc": {…}}`).
pub(crate) fn parse(area: Area, bytes: &[u8], key: &str) -> Result<Map<String, Value>, VpcError> {
    let body: Value =
        serde_json::from_slice(bytes).map_err(|_| VpcError::invalid(area, "The request body is not JSON."))?;
    match body.get(key) {
        Some(Value::Object(o)) => Ok(o.clone()),
        _ => Err(VpcError::invalid(area, format!("The request body needs the object {key}."))),
    }
}

/// A string field; None when absent or null.
pub(crate) fn opt_str<'a>(area: Area, o: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, VpcError> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(VpcError::invalid(area, format!("{field} must be a string."))),
    }
}

pub(crate) fn req_str<'a>(area: Area, o: &'a Map<String, Value>, field: &str) -> Result<&'a str, VpcError> {
    opt_str(area, o, field)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| VpcError::invalid(area, format!("{field} is required.")))
}

pub(crate) fn opt_bool(area: Area, o: &Map<String, Value>, field: &str) -> Result<Option<bool>, VpcError> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(VpcError::invalid(area, format!("{field} must be a boolean."))),
    }
}

pub(crate) fn opt_int(area: Area, o: &Map<String, Value>, field: &str) -> Result<Option<i64>, VpcError> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| VpcError::invalid(area, format!("{field} must be an integer."))),
    }
}

/// A list of strings; None when absent or null.
pub(crate) fn opt_strings(area: Area, o: &Map<String, Value>, field: &str) -> Result<Option<Vec<String>>, VpcError> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(String::from))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| VpcError::invalid(area, format!("{field} must be a list of strings."))),
        Some(_) => Err(VpcError::invalid(area, format!("{field} must be a list of strings."))),
    }
}

/// The most items a page holds.
const MAX_LIMIT: usize = 2000;

/// A list's query string: filters, `limit` and `marker` (an id of the
/// list: the page starts after it).
pub(crate) struct ListQuery(Vec<(String, String)>);

impl ListQuery {
    pub(crate) fn parse(area: Area, raw: Option<&str>) -> Result<Self, VpcError> {
        serde_urlencoded::from_str(raw.unwrap_or(""))
            .map(ListQuery)
            .map_err(|_| VpcError::invalid(area, "Malformed query string."))
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Whether `value` passes the filter `key` (every value given for it
    /// counts: `id=a&id=b`).
    pub(crate) fn matches(&self, key: &str, value: &str) -> bool {
        let mut wanted = self.0.iter().filter(|(k, _)| k == key).peekable();
        wanted.peek().is_none() || wanted.any(|(_, v)| v == value)
    }

    /// One page of `items`, by `limit` and `marker`.
    pub(crate) fn page<T>(&self, area: Area, items: Vec<T>, id: impl Fn(&T) -> &str) -> Result<Vec<T>, VpcError> {
        let limit =
            match self.get("limit") {
                None => MAX_LIMIT,
                Some(l) => l.parse::<usize>().ok().filter(|l| (1..=MAX_LIMIT).contains(l)).ok_or_else(|| {
                    VpcError::invalid(area, format!("limit must be an integer from 1 to {MAX_LIMIT}."))
                })?,
            };
        let start = match self.get("marker") {
            None | Some("") => 0,
            Some(m) => {
                items
                    .iter()
                    .position(|i| id(i) == m)
                    .ok_or_else(|| VpcError::invalid(area, format!("marker {m} is not in the list.")))?
                    + 1
            }
        };
        Ok(items.into_iter().skip(start).take(limit).collect())
    }
}

/// Times as the VPC API writes them (UTC, no zone).
pub(crate) fn time(t: &Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}
