//! Huawei's EIP API (`huaweicloudsdkeip` v2 and the v3 reads): public IPs
//! and their dedicated bandwidths under `/v1/{project_id}/…`, over the
//! core's floating IPs (an EIP is a floating IP).

mod error;
mod views;

use axum::Json;
use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ecs_core::eip::{BandwidthUpdate, EipRequest, EipUpdate};
use ecs_types::{AuthContext, FloatingIp};
use serde_json::{Map, Value, json};

pub use error::EipError;

use crate::AppState;
use crate::identity::Caller;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/{project_id}/publicips", get(list).post(create))
        .route("/v1/{project_id}/publicips/{publicip_id}", get(show).put(update).delete(delete))
        .route("/v1/{project_id}/bandwidths", get(bandwidths))
        .route("/v1/{project_id}/bandwidths/{bandwidth_id}", get(bandwidth).put(bandwidth_update))
        .route("/v3/{project_id}/eip/publicips", get(list_v3))
        .route("/v3/{project_id}/eip/publicips/{publicip_id}", get(show_v3))
}

/// The caller of an EIP request, acting in the project the path names.
pub struct EipCall {
    pub ctx: AuthContext,
}

impl FromRequestParts<AppState> for EipCall {
    type Rejection = EipError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Caller(ctx) = Caller::from_request_parts(parts, state).await.map_err(|e| {
            if e.status.is_server_error() {
                EipError::new(e.status, "VPC.0503", e.message)
            } else {
                EipError::new(StatusCode::UNAUTHORIZED, "VPC.0008", "Invalid token in the header.")
            }
        })?;
        let path_project = parts.uri.path().split('/').nth(2).unwrap_or_default();
        if ctx.project_id() != Some(path_project) {
            return Err(EipError::other_project());
        }
        Ok(EipCall { ctx })
    }
}

/// A JSON body, refused in EIP's format when it cannot be read.
pub struct EipBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for EipBody {
    type Rejection = EipError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = crate::body::read_json_bytes(&parts.headers, body, crate::body::MAX_BODY_BYTES).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(EipError::invalid("The request body is empty."));
        }
        Ok(EipBody(
            serde_json::from_slice(&bytes).map_err(|_| EipError::invalid("The request body is not valid JSON."))?,
        ))
    }
}

fn object<'a>(
    v: Option<&'a Value>,
    name: &str,
    bad: fn(String) -> EipError,
) -> Result<&'a Map<String, Value>, EipError> {
    v.and_then(Value::as_object).ok_or_else(|| bad(format!("{name} must be an object.")))
}

fn opt_str<'a>(
    o: &'a Map<String, Value>,
    key: &str,
    max: usize,
    bad: fn(String) -> EipError,
) -> Result<Option<&'a str>, EipError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s)),
        Some(_) => Err(bad(format!("{key} must be a string of at most {max} characters."))),
    }
}

fn opt_int(o: &Map<String, Value>, key: &str, bad: fn(String) -> EipError) -> Result<Option<i64>, EipError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| bad(format!("{key} must be an integer."))),
    }
}

fn invalid(m: String) -> EipError {
    EipError::invalid(m)
}

fn bad_bandwidth(m: String) -> EipError {
    EipError::bad_bandwidth(m)
}

fn charge_mode(o: &Map<String, Value>) -> Result<Option<String>, EipError> {
    match opt_str(o, "charge_mode", 36, bad_bandwidth)? {
        None => Ok(None),
        Some(m @ ("traffic" | "bandwidth")) => Ok(Some(m.to_string())),
        Some(m) => Err(EipError::bad_bandwidth(format!("charge_mode must be traffic or bandwidth, not {m}."))),
    }
}

fn check_size(size: i64) -> Result<(), EipError> {
    let max = ecs_core::eip::MAX_BANDWIDTH_SIZE;
    if (1..=max).contains(&size) {
        Ok(())
    } else {
        Err(EipError::bad_bandwidth(format!("Bandwidth size {size} must be from 1 to {max} Mbit/s.")))
    }
}

fn ip_version(o: &Map<String, Value>) -> Result<(), EipError> {
    match opt_int(o, "ip_version", invalid)? {
        None | Some(4) => Ok(()),
        Some(v) => Err(EipError::invalid(format!("ip_version {v} is not supported: only 4 is."))),
    }
}

/// `POST /v1/{project_id}/publicips`.
async fn create(State(state): State<AppState>, call: EipCall, EipBody(body): EipBody) -> Result<Response, EipError> {
    let p = object(body.get("publicip"), "publicip", invalid)?;
    let ip_type = opt_str(p, "type", 36, invalid)?
        .filter(|t| !t.is_empty())
        .ok_or_else(|| EipError::invalid("publicip.type is required."))?;
    ip_version(p)?;
    if opt_str(p, "ip_address", 64, invalid)?.is_some() {
        return Err(EipError::invalid("publicip.ip_address cannot be chosen: the pool assigns the address."));
    }
    let alias = opt_str(p, "alias", 64, invalid)?.map(str::to_string);
    let port_id = opt_str(p, "port_id", 36, invalid)?.filter(|s| !s.is_empty()).map(str::to_string);
    let b = object(body.get("bandwidth"), "bandwidth", bad_bandwidth)?;
    match opt_str(b, "share_type", 36, bad_bandwidth)? {
        Some("PER") => {}
        Some("WHOLE") => {
            let id = opt_str(b, "id", 36, bad_bandwidth)?.unwrap_or_default();
            return Err(ecs_core::Error::not_found(ecs_core::Kind::Bandwidth, id).into());
        }
        _ => return Err(EipError::bad_bandwidth("Bandwidth name or share_type is invalid.")),
    }
    let name = opt_str(b, "name", 64, bad_bandwidth)?
        .filter(|n| !n.is_empty())
        .ok_or_else(|| EipError::bad_bandwidth("Bandwidth name or share_type is invalid."))?;
    let size =
        opt_int(b, "size", bad_bandwidth)?.ok_or_else(|| EipError::bad_bandwidth("bandwidth.size is required."))?;
    check_size(size)?;
    let req = EipRequest {
        ip_type: ip_type.to_string(),
        alias,
        port_id,
        bandwidth_name: name.to_string(),
        bandwidth_size: size,
        bandwidth_charge_mode: charge_mode(b)?,
    };
    let fip = state.core.eip_create(&call.ctx, req).await?;
    Ok(Json(json!({"publicip": views::created(&fip)})).into_response())
}

/// A query string's values: repeated keys kept.
fn query(raw: Option<&str>) -> Result<Vec<(String, String)>, EipError> {
    serde_urlencoded::from_str(raw.unwrap_or("")).map_err(|_| EipError::invalid("Malformed query string."))
}

fn values<'a>(q: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    q.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
}

/// `limit` (1 to 2000) and `marker` (the id after which a page starts).
fn page<T>(items: Vec<T>, q: &[(String, String)], id: impl Fn(&T) -> String) -> Result<Vec<T>, EipError> {
    let limit = match values(q, "limit").first() {
        None => 2000,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=2000).contains(l))
            .ok_or_else(|| EipError::invalid("limit must be an integer from 1 to 2000."))?,
    };
    let start = match values(q, "marker").first() {
        None => 0,
        Some(m) => items
            .iter()
            .position(|i| id(i) == *m)
            .map(|p| p + 1)
            .ok_or_else(|| EipError::invalid(format!("marker {m} is invalid.")))?,
    };
    Ok(items.into_iter().skip(start).take(limit).collect())
}

/// The caller's EIPs filtered by the list query, in id order.
async fn listed(state: &AppState, call: &EipCall, raw: Option<&str>) -> Result<Vec<FloatingIp>, EipError> {
    let q = query(raw)?;
    if let Some(v) = values(&q, "ip_version").first()
        && *v != "4"
        && *v != "6"
    {
        return Err(EipError::invalid("ip_version must be 4 or 6."));
    }
    let mut all = state.core.eips(&call.ctx).await?;
    all.sort_by(|a, b| a.id.cmp(&b.id));
    let keep = |key: &str, value: &dyn Fn(&FloatingIp) -> Option<String>, f: &FloatingIp| {
        let wanted = values(&q, key);
        wanted.is_empty() || value(f).is_some_and(|v| wanted.contains(&v.as_str()))
    };
    let filtered: Vec<FloatingIp> = all
        .into_iter()
        .filter(|_| values(&q, "ip_version").first().is_none_or(|v| *v == "4"))
        .filter(|f| keep("id", &|f| Some(f.id.clone()), f))
        .filter(|f| keep("port_id", &|f| f.port_id.clone(), f))
        .filter(|f| keep("public_ip_address", &|f| Some(f.address.clone()), f))
        .filter(|f| keep("private_ip_address", &|f| f.fixed_ip.clone(), f))
        .collect();
    page(filtered, &q, |f| f.id.clone())
}

/// `GET /v1/{project_id}/publicips`.
async fn list(State(state): State<AppState>, call: EipCall, RawQuery(q): RawQuery) -> Result<Json<Value>, EipError> {
    let eips = listed(&state, &call, q.as_deref()).await?;
    let region = &state.config.region;
    Ok(Json(json!({"publicips": eips.iter().map(|f| views::show(f, region)).collect::<Vec<_>>()})))
}

/// `GET /v1/{project_id}/publicips/{publicip_id}`.
async fn show(
    State(state): State<AppState>,
    call: EipCall,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, EipError> {
    let fip = state.core.eip(&call.ctx, &id).await?;
    Ok(Json(json!({"publicip": views::show(&fip, &state.config.region)})))
}

/// `PUT /v1/{project_id}/publicips/{publicip_id}`: `port_id` binds; a
/// body naming nothing, or `port_id` null or empty, unbinds; `alias` renames.
async fn update(
    State(state): State<AppState>,
    call: EipCall,
    Path((_, id)): Path<(String, String)>,
    EipBody(body): EipBody,
) -> Result<Json<Value>, EipError> {
    let p = object(body.get("publicip"), "publicip", invalid)?;
    ip_version(p)?;
    let alias = opt_str(p, "alias", 64, invalid)?.map(str::to_string);
    let port_id = match p.get("port_id") {
        None if alias.is_none() => Some(None),
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) if s.is_empty() => Some(None),
        Some(Value::String(s)) if s.len() <= 36 => Some(Some(s.clone())),
        Some(_) => return Err(EipError::invalid("port_id must be a port's id.")),
    };
    let fip = state.core.eip_update(&call.ctx, &id, EipUpdate { port_id, alias }).await?;
    Ok(Json(json!({"publicip": views::updated(&fip, &state.config.region)})))
}

/// `DELETE /v1/{project_id}/publicips/{publicip_id}`.
async fn delete(
    State(state): State<AppState>,
    call: EipCall,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, EipError> {
    state.core.eip_delete(&call.ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/{project_id}/bandwidths`: every EIP's dedicated bandwidth.
async fn bandwidths(
    State(state): State<AppState>,
    call: EipCall,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, EipError> {
    let q = query(q.as_deref())?;
    let mut all = state.core.eips(&call.ctx).await?;
    if values(&q, "share_type").first().is_some_and(|t| *t != "PER") {
        all.clear();
    }
    all.sort_by_key(|f| ecs_core::eip::bandwidth_id(&f.id));
    let page = page(all, &q, |f| ecs_core::eip::bandwidth_id(&f.id))?;
    Ok(Json(json!({"bandwidths": page.iter().map(views::bandwidth).collect::<Vec<_>>()})))
}

/// `GET /v1/{project_id}/bandwidths/{bandwidth_id}`.
async fn bandwidth(
    State(state): State<AppState>,
    call: EipCall,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, EipError> {
    let fip = state.core.eip_bandwidth(&call.ctx, &id).await?;
    Ok(Json(json!({"bandwidth": views::bandwidth(&fip)})))
}

/// `PUT /v1/{project_id}/bandwidths/{bandwidth_id}`: `name`, `size`.
async fn bandwidth_update(
    State(state): State<AppState>,
    call: EipCall,
    Path((_, id)): Path<(String, String)>,
    EipBody(body): EipBody,
) -> Result<Json<Value>, EipError> {
    let b = object(body.get("bandwidth"), "bandwidth", bad_bandwidth)?;
    let update = BandwidthUpdate {
        name: opt_str(b, "name", 64, bad_bandwidth)?.map(str::to_string),
        size: opt_int(b, "size", bad_bandwidth)?,
        charge_mode: charge_mode(b)?,
    };
    if let Some(size) = update.size {
        check_size(size)?;
    }
    if update.name.is_none() && update.size.is_none() && update.charge_mode.is_none() {
        return Err(EipError::bad_bandwidth("bandwidth needs name, size or charge_mode."));
    }
    if update.name.as_deref() == Some("") {
        return Err(EipError::bad_bandwidth("Bandwidth name cannot be empty."));
    }
    let fip = state.core.eip_bandwidth_update(&call.ctx, &id, update).await?;
    Ok(Json(json!({"bandwidth": views::bandwidth(&fip)})))
}

/// `GET /v3/{project_id}/eip/publicips`.
async fn list_v3(State(state): State<AppState>, call: EipCall, RawQuery(q): RawQuery) -> Result<Json<Value>, EipError> {
    let eips = listed(&state, &call, q.as_deref()).await?;
    let publicips: Vec<Value> = eips.iter().map(views::v3).collect();
    Ok(Json(json!({"publicips": publicips, "total_count": publicips.len(), "request_id": ""})))
}

/// `GET /v3/{project_id}/eip/publicips/{publicip_id}`.
async fn show_v3(
    State(state): State<AppState>,
    call: EipCall,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, EipError> {
    let fip = state.core.eip(&call.ctx, &id).await?;
    Ok(Json(json!({"publicip": views::v3(&fip), "request_id": ""})))
}
