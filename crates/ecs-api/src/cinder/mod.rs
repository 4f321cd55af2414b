//! The block storage service (Cinder v3 at `/volume`, in the catalog as
//! `block-storage` and `volumev3` with the project in the endpoint, as
//! devstack registers it): volumes, volume types, snapshots, attachments
//! (3.27), quota sets and limits, over the volume records Nova's
//! os-volumes and ECS disks use.
//!
//! Requests name the project after `/volume/v3/` (optional from 3.67);
//! [`strip_project_from_path`] takes it out before routing. Microversions
//! are negotiated as Cinder does (`OpenStack-API-Version: volume 3.x`,
//! 3.0 to [`MAX_VERSION`], 406 outside); errors take Cinder's fault body,
//! `{"itemNotFound": {"message", "code"}}`, made in [`CinderError`] alone.

mod other;
mod volumes;

use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ecs_types::AuthContext;
use serde_json::{Value, json};

use crate::body::BodyError;
use crate::identity::{Caller, KeystoneError};
use crate::{AppState, BaseUrl};

/// The highest microversion served: 3.70 (Cinder 2023.1's is 3.71).
pub const MAX_VERSION: u32 = 70;

/// Cinder's fault: `{"<name>": {"message", "code"}}`.
#[derive(Debug)]
pub(crate) struct CinderError(StatusCode, String);

impl CinderError {
    pub(crate) fn not_found() -> Self {
        CinderError(StatusCode::NOT_FOUND, "The resource could not be found.".into())
    }

    pub(crate) fn method_not_allowed() -> Self {
        CinderError(StatusCode::METHOD_NOT_ALLOWED, "The method is not allowed for this resource.".into())
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        CinderError(StatusCode::BAD_REQUEST, message.into())
    }

    /// A fault scenario's answer.
    pub(crate) fn injected(status: StatusCode, message: &str) -> Self {
        CinderError(status, message.into())
    }

    pub(crate) fn item_not_found(message: impl Into<String>) -> Self {
        CinderError(StatusCode::NOT_FOUND, message.into())
    }

    /// Cinder's name for a fault of this status.
    fn name(status: StatusCode) -> &'static str {
        match status.as_u16() {
            400 => "badRequest",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "itemNotFound",
            405 => "badMethod",
            409 => "conflictingRequest",
            413 | 429 => "overLimit",
            415 => "badMediaType",
            501 => "notImplemented",
            503 => "serviceUnavailable",
            _ => "computeFault",
        }
    }
}

impl IntoResponse for CinderError {
    fn into_response(self) -> Response {
        let body = json!({Self::name(self.0): {"message": self.1, "code": self.0.as_u16()}});
        (self.0, Json(body)).into_response()
    }
}

impl From<BodyError> for CinderError {
    fn from(e: BodyError) -> Self {
        let (status, message) = match e {
            BodyError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "Request is too large."),
            BodyError::UnsupportedMediaType | BodyError::UnsupportedEncoding => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Content-Type")
            }
            BodyError::Incomplete => (StatusCode::BAD_REQUEST, "The request body is incomplete."),
            BodyError::TimedOut => (StatusCode::REQUEST_TIMEOUT, "Timed out reading the request body."),
            BodyError::Malformed => (StatusCode::BAD_REQUEST, "Malformed request body"),
        };
        CinderError(status, message.into())
    }
}

impl From<ecs_core::Error> for CinderError {
    fn from(e: ecs_core::Error) -> Self {
        use ecs_core::{Error as E, Forbidden, Resource};
        let status = match &e {
            E::Forbidden(Forbidden::Policy { rule }) => {
                return CinderError(StatusCode::FORBIDDEN, format!("Policy doesn't allow {rule} to be performed."));
            }
            E::QuotaExceeded { resource, requested, used, limit } => {
                let message = match resource {
                    Resource::Gigabytes => format!(
                        "Requested volume or snapshot exceeds allowed gigabytes quota. Requested {requested}G, \
                         quota is {limit}G and {used}G has been consumed."
                    ),
                    Resource::Snapshots => format!("Maximum number of snapshots allowed ({limit}) exceeded"),
                    _ => format!("Maximum number of volumes allowed ({limit}) exceeded for quota 'volumes'."),
                };
                return CinderError(StatusCode::PAYLOAD_TOO_LARGE, message);
            }
            E::NotFound { .. } => StatusCode::NOT_FOUND,
            E::Invalid(_) | E::InvalidState { .. } | E::Locked { .. } => StatusCode::BAD_REQUEST,
            E::Forbidden(_) => StatusCode::FORBIDDEN,
            E::Conflict(_) => StatusCode::CONFLICT,
            E::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            E::Unsupported => StatusCode::NOT_IMPLEMENTED,
            E::NoValidHost { .. } | E::Internal(_) => {
                tracing::error!(error = %e, "internal error");
                let message = "The server has either erred or is incapable of performing the requested operation.";
                return CinderError(StatusCode::INTERNAL_SERVER_ERROR, message.into());
            }
        };
        CinderError(status, e.to_string())
    }
}

/// 401s come from keystonemiddleware, in Keystone's format.
pub(crate) enum Refusal {
    Cinder(CinderError),
    Keystone(KeystoneError),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Cinder(e) => e.into_response(),
            Refusal::Keystone(e) => e.into_response(),
        }
    }
}

impl From<CinderError> for Refusal {
    fn from(e: CinderError) -> Self {
        Refusal::Cinder(e)
    }
}

type Result<T> = std::result::Result<T, CinderError>;

/// The microversion a request asked for (the minor number of 3.x).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Version(pub u32);

impl Version {
    pub(crate) fn at_least(self, minor: u32) -> bool {
        self.0 >= minor
    }
}

/// Parses `OpenStack-API-Version` for the `volume` service.
fn negotiate(parts: &Parts) -> Result<Version> {
    let mut asked = None;
    for value in parts.headers.get_all("openstack-api-version") {
        let text = value.to_str().map_err(|_| CinderError::bad_request("Invalid OpenStack-API-Version header"))?;
        for item in text.split(',') {
            let mut words = item.split_whitespace();
            if words.next().is_some_and(|s| s.eq_ignore_ascii_case("volume")) {
                asked = Some(words.next().unwrap_or("").to_string());
            }
        }
    }
    let Some(asked) = asked else { return Ok(Version(0)) };
    if asked.eq_ignore_ascii_case("latest") {
        return Ok(Version(MAX_VERSION));
    }
    let invalid = || {
        CinderError::bad_request(format!(
            "API Version String {asked} is of invalid format. Must be of format MajorNum.MinorNum."
        ))
    };
    let (major, minor) = asked.split_once('.').ok_or_else(invalid)?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(major) || !digits(minor) || (minor.len() > 1 && minor.starts_with('0')) {
        return Err(invalid());
    }
    let (major, minor): (u32, u32) = (major.parse().map_err(|_| invalid())?, minor.parse().map_err(|_| invalid())?);
    if major != 3 || minor > MAX_VERSION {
        return Err(CinderError(
            StatusCode::NOT_ACCEPTABLE,
            format!("Version {asked} is not supported by the API. Minimum is 3.0 and maximum is 3.{MAX_VERSION}."),
        ));
    }
    Ok(Version(minor))
}

/// Negotiates the version before the handler, and says it in the answer.
async fn versioned(mut req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let version = match negotiate(&parts) {
        Ok(v) => v,
        Err(e) => {
            let mut r = e.into_response();
            r.headers_mut().insert("vary", HeaderValue::from_static("OpenStack-API-Version"));
            return r;
        }
    };
    parts.extensions.insert(version);
    req = Request::from_parts(parts, body);
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("volume 3.{}", version.0)) {
        h.insert("openstack-api-version", v);
    }
    h.insert("vary", HeaderValue::from_static("OpenStack-API-Version"));
    response
}

/// The project a request named after `/volume/v3/`.
#[derive(Debug, Clone)]
pub struct CinderProject(pub String);

/// The collections served under `/volume/v3/`: a first segment that is
/// none of them names a project.
const COLLECTIONS: &[&str] =
    &["volumes", "types", "snapshots", "attachments", "os-quota-sets", "limits", "extensions", "os-availability-zone"];

/// Rewrites `/volume/v3/{project_id}/…` to `/volume/v3/…`, keeping the
/// project as a request extension.
pub async fn strip_project_from_path(mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if let Some(rest) = path.strip_prefix("/volume/v3/") {
        let (segment, tail) = rest.split_once('/').unwrap_or((rest, ""));
        if !segment.is_empty() && !COLLECTIONS.contains(&segment) && !tail.is_empty() {
            let new_path = format!("/volume/v3/{tail}");
            let pq = match req.uri().query() {
                Some(q) => format!("{new_path}?{q}"),
                None => new_path,
            };
            let project = segment.to_string();
            let mut parts = req.uri().clone().into_parts();
            if let Ok(pq) = pq.parse() {
                parts.path_and_query = Some(pq);
                if let Ok(uri) = axum::http::Uri::from_parts(parts) {
                    *req.uri_mut() = uri;
                    req.extensions_mut().insert(CinderProject(project));
                }
            }
        }
    }
    next.run(req).await
}

/// A Cinder call: the caller, the negotiated version.
pub(crate) struct Call {
    pub ctx: AuthContext,
    pub version: Version,
}

impl FromRequestParts<AppState> for Call {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> std::result::Result<Self, Refusal> {
        let Caller(ctx) = Caller::from_request_parts(parts, state).await.map_err(Refusal::Keystone)?;
        if let Some(CinderProject(p)) = parts.extensions.get::<CinderProject>()
            && ctx.project_id() != Some(p.as_str())
        {
            return Err(CinderError::bad_request("Malformed request url").into());
        }
        let version = parts.extensions.get::<Version>().copied().unwrap_or(Version(0));
        Ok(Call { ctx, version })
    }
}

/// A JSON request body, refused in Cinder's format when it cannot be read.
pub(crate) struct CinderBody(pub Value);

impl<S: Send + Sync> axum::extract::FromRequest<S> for CinderBody {
    type Rejection = CinderError;

    async fn from_request(req: Request, _state: &S) -> Result<Self> {
        let (parts, body) = req.into_parts();
        Ok(CinderBody(crate::body::read_json(&parts.headers, body).await?))
    }
}

pub fn router() -> Router<AppState> {
    let api = Router::new()
        .route("/volume/v3/volumes", get(volumes::index).post(volumes::create))
        .route("/volume/v3/volumes/detail", get(volumes::detail))
        .route("/volume/v3/volumes/{id}", get(volumes::show).put(volumes::update).delete(volumes::delete))
        .route("/volume/v3/volumes/{id}/action", post(volumes::action))
        .route(
            "/volume/v3/volumes/{id}/metadata",
            get(volumes::metadata).post(volumes::metadata_merge).put(volumes::metadata_replace),
        )
        .route(
            "/volume/v3/volumes/{id}/metadata/{key}",
            get(volumes::metadata_item).put(volumes::metadata_item_set).delete(volumes::metadata_item_delete),
        )
        .route("/volume/v3/types", get(other::types).post(other::type_create))
        .route("/volume/v3/types/{id}", get(other::type_show).put(other::type_update).delete(other::type_delete))
        .route("/volume/v3/types/{id}/extra_specs", get(other::extra_specs).post(other::extra_specs_set))
        .route(
            "/volume/v3/types/{id}/extra_specs/{key}",
            get(other::extra_spec).put(other::extra_spec_set).delete(other::extra_spec_delete),
        )
        .route("/volume/v3/snapshots", get(other::snapshots).post(other::snapshot_create))
        .route("/volume/v3/snapshots/detail", get(other::snapshots_detail))
        .route(
            "/volume/v3/snapshots/{id}",
            get(other::snapshot).put(other::snapshot_update).delete(other::snapshot_delete),
        )
        .route("/volume/v3/snapshots/{id}/action", post(other::snapshot_action))
        .route(
            "/volume/v3/snapshots/{id}/metadata",
            get(other::snapshot_metadata).post(other::snapshot_metadata_merge).put(other::snapshot_metadata_replace),
        )
        .route(
            "/volume/v3/snapshots/{id}/metadata/{key}",
            get(other::snapshot_metadata_item)
                .put(other::snapshot_metadata_item_set)
                .delete(other::snapshot_metadata_item_delete),
        )
        .route("/volume/v3/attachments", get(other::attachments).post(other::attachment_create))
        .route("/volume/v3/attachments/detail", get(other::attachments_detail))
        .route(
            "/volume/v3/attachments/{id}",
            get(other::attachment).put(other::attachment_update).delete(other::attachment_delete),
        )
        .route("/volume/v3/attachments/{id}/action", post(other::attachment_action))
        .route(
            "/volume/v3/os-quota-sets/{project_id}",
            get(other::quota_set).put(other::quota_update).delete(other::quota_delete),
        )
        .route("/volume/v3/os-quota-sets/{project_id}/defaults", get(other::quota_defaults))
        .route("/volume/v3/limits", get(other::limits))
        .route("/volume/v3/os-availability-zone", get(other::availability_zones))
        .route("/volume/v3/extensions", get(other::extensions))
        .layer(axum::middleware::from_fn(versioned));
    Router::new()
        .route("/volume", get(versions))
        .route("/volume/", get(versions))
        .route("/volume/v3", get(version_v3))
        .route("/volume/v3/", get(version_v3))
        .merge(api)
}

fn version_doc(base: &BaseUrl) -> Value {
    json!({
        "id": "v3.0",
        "status": "CURRENT",
        "version": format!("3.{MAX_VERSION}"),
        "min_version": "3.0",
        "updated": "2023-03-01T00:00:00Z",
        "links": [
            {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
            {"rel": "self", "href": format!("{}/", base.join("volume/v3"))},
        ],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}],
    })
}

/// `GET /volume/`: the versions (300 Multiple Choices, as Cinder).
async fn versions(base: BaseUrl) -> impl IntoResponse {
    (StatusCode::MULTIPLE_CHOICES, Json(json!({"versions": [version_doc(&base)]})))
}

/// `GET /volume/v3/`: the v3 version.
async fn version_v3(base: BaseUrl) -> Json<Value> {
    Json(json!({"versions": [version_doc(&base)]}))
}

/// Cinder's timestamps: `2024-01-02T03:04:05.000000`.
pub(crate) fn time(t: ecs_types::Timestamp) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// The string-to-string map a `metadata` (or `extra_specs`) member must be.
pub(crate) fn string_map(v: &Value, what: &str) -> Result<std::collections::BTreeMap<String, String>> {
    let Some(o) = v.as_object() else {
        return Err(CinderError::bad_request(format!("Invalid input received: {what} must be a dictionary.")));
    };
    let mut out = std::collections::BTreeMap::new();
    for (k, v) in o {
        if k.is_empty() || k.len() > 255 {
            return Err(CinderError::bad_request(format!(
                "Invalid input received: {what} key must be 1 to 255 characters long."
            )));
        }
        let v = match v {
            Value::String(s) => s.clone(),
            _ => {
                return Err(CinderError::bad_request(format!(
                    "Invalid input received: {what} value of {k} must be a string."
                )));
            }
        };
        if v.len() > 255 {
            return Err(CinderError::bad_request(format!(
                "Invalid input received: {what} value of {k} must be at most 255 characters long."
            )));
        }
        out.insert(k.clone(), v);
    }
    Ok(out)
}

/// The body's `key` member, which must be an object.
pub(crate) fn member<'a>(body: &'a Value, key: &str) -> Result<&'a Value> {
    match body.get(key) {
        Some(v) if v.is_object() => Ok(v),
        _ => Err(CinderError::bad_request(format!("Missing required element '{key}' in request body."))),
    }
}

/// An optional string member (null as absent), at most `max` characters.
pub(crate) fn opt_str(o: &Value, key: &str, max: usize) -> Result<Option<String>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s.clone())),
        Some(Value::String(_)) => {
            Err(CinderError::bad_request(format!("Invalid input for field/attribute {key}. {key} is too long.")))
        }
        Some(_) => Err(CinderError::bad_request(format!("Invalid input for field/attribute {key}. Not a string."))),
    }
}

/// Cinder's boolean strings and booleans.
pub(crate) fn boolish(v: &Value, key: &str) -> Result<bool> {
    let s = match v {
        Value::Bool(b) => return Ok(*b),
        Value::String(s) => s.to_ascii_lowercase(),
        _ => String::new(),
    };
    match s.as_str() {
        "true" | "t" | "1" | "yes" | "y" | "on" => Ok(true),
        "false" | "f" | "0" | "no" | "n" | "off" => Ok(false),
        _ => Err(CinderError::bad_request(format!("Invalid value for '{key}': must be a boolean."))),
    }
}

/// An integer member (Cinder takes integer strings too).
pub(crate) fn integer(v: &Value, key: &str) -> Result<i64> {
    let n = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.ok_or_else(|| CinderError::bad_request(format!("Invalid input received: {key} must be an integer.")))
}

/// Query parameters (repeated keys keep the last).
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub(crate) fn parse(raw: Option<&str>) -> Result<Query> {
        let q: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|_| CinderError::bad_request("Invalid query string"))?;
        Ok(Query(q))
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub(crate) fn flag(&self, key: &str) -> Result<bool> {
        match self.get(key) {
            None => Ok(false),
            Some(v) => boolish(&Value::String(v.to_string()), key),
        }
    }
}

/// `limit`, `marker` and the sort of a list, checked as Cinder does.
pub(crate) struct Paging {
    pub limit: Option<usize>,
    pub marker: Option<String>,
    pub sort: Vec<(String, bool)>,
}

impl Paging {
    pub(crate) fn parse(q: &Query, keys: &[&str]) -> Result<Paging> {
        let limit = match q.get("limit") {
            None => None,
            Some(raw) => {
                let n: i128 =
                    raw.trim().parse().map_err(|_| CinderError::bad_request("limit param must be an integer"))?;
                if n < 0 {
                    return Err(CinderError::bad_request("limit param must be positive"));
                }
                Some(usize::try_from(n).unwrap_or(usize::MAX))
            }
        };
        let mut sort = Vec::new();
        if let Some(s) = q.get("sort") {
            if q.get("sort_key").is_some() || q.get("sort_dir").is_some() {
                return Err(CinderError::bad_request(
                    "The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' \
                     parameter.",
                ));
            }
            for item in s.split(',') {
                let (key, dir) = item.split_once(':').unwrap_or((item, "desc"));
                sort.push((key.trim().to_string(), dir_of(dir.trim())?));
            }
        } else if q.get("sort_key").is_some() || q.get("sort_dir").is_some() {
            let key = q.get("sort_key").unwrap_or("created_at");
            sort.push((key.to_string(), dir_of(q.get("sort_dir").unwrap_or("desc"))?));
        }
        for (key, _) in &sort {
            if !keys.contains(&key.as_str()) {
                return Err(CinderError::bad_request(format!("Invalid input received: Invalid sort key {key}")));
            }
        }
        Ok(Paging { limit, marker: q.get("marker").map(str::to_string), sort })
    }

    /// Sorts, skips to after the marker and cuts `items`; `true` when cut
    /// (a next page may exist).
    pub(crate) fn page(&self, mut items: Vec<Value>) -> Result<(Vec<Value>, bool)> {
        if !self.sort.is_empty() {
            items.sort_by(|a, b| {
                for (key, ascending) in &self.sort {
                    let order = match (&a[key], &b[key]) {
                        (Value::Number(x), Value::Number(y)) => {
                            x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(std::cmp::Ordering::Equal)
                        }
                        (x, y) => x.as_str().unwrap_or("").cmp(y.as_str().unwrap_or("")),
                    };
                    let order = if *ascending { order } else { order.reverse() };
                    if order != std::cmp::Ordering::Equal {
                        return order;
                    }
                }
                std::cmp::Ordering::Equal
            });
        }
        if let Some(marker) = &self.marker {
            let at = items
                .iter()
                .position(|i| i["id"] == marker.as_str())
                .ok_or_else(|| CinderError::item_not_found(format!("Marker {marker} could not be found.")))?;
            items.drain(..=at);
        }
        let mut cut = false;
        if let Some(limit) = self.limit {
            cut = items.len() > limit;
            items.truncate(limit);
        }
        Ok((items, cut))
    }
}

fn dir_of(dir: &str) -> Result<bool> {
    match dir {
        "asc" => Ok(true),
        "desc" => Ok(false),
        _ => Err(CinderError::bad_request(format!("Invalid input received: Invalid sort dir {dir}"))),
    }
}
