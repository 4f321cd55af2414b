//! The image service: Glance v2 at `/image` — images and their data
//! (upload, staging and `glance-direct` import, download), JSON-patch
//! updates, tags, visibility and members, protection, deactivation.

mod data;
mod views;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use ecs_core::glance::PatchOp;
use serde_json::{Map, Value, json};

use crate::body::BodyError;
use crate::identity::Caller;
use crate::{AppState, BaseUrl};

/// Glance's error answers are plain; clients read the status.
pub(crate) struct GlanceError(pub(crate) StatusCode, pub(crate) String);

impl GlanceError {
    pub(crate) fn not_found() -> Self {
        GlanceError(StatusCode::NOT_FOUND, "The resource could not be found.".into())
    }

    pub(crate) fn method_not_allowed() -> Self {
        GlanceError(StatusCode::METHOD_NOT_ALLOWED, "The method is not allowed for this resource.".into())
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        GlanceError(StatusCode::BAD_REQUEST, message.into())
    }
}

impl From<BodyError> for GlanceError {
    fn from(e: BodyError) -> Self {
        let (status, message) = match e {
            BodyError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large"),
            BodyError::UnsupportedMediaType | BodyError::UnsupportedEncoding => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type")
            }
            BodyError::Incomplete => (StatusCode::BAD_REQUEST, "The request body is incomplete."),
            BodyError::TimedOut => (StatusCode::REQUEST_TIMEOUT, "Timed out reading the request body."),
            BodyError::Malformed => (StatusCode::BAD_REQUEST, "Malformed JSON in request body."),
        };
        GlanceError(status, message.into())
    }
}

impl IntoResponse for GlanceError {
    fn into_response(self) -> Response {
        let title = self.0.canonical_reason().unwrap_or("Error");
        let body = json!({"code": self.0.as_u16(), "title": title, "message": self.1});
        (self.0, Json(body)).into_response()
    }
}

impl From<ecs_core::Error> for GlanceError {
    fn from(e: ecs_core::Error) -> Self {
        use ecs_core::Error as E;
        if let E::Forbidden(ecs_core::Forbidden::Policy { rule }) = &e {
            return GlanceError(StatusCode::FORBIDDEN, format!("You are not authorized to complete {rule} action."));
        }
        let status = match &e {
            E::NotFound { kind: ecs_core::Kind::Image, id } => {
                return GlanceError(StatusCode::NOT_FOUND, format!("No image found with ID {id}"));
            }
            E::NotFound { .. } => StatusCode::NOT_FOUND,
            E::QuotaExceeded { limit, .. } => {
                return GlanceError(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("The request would exceed a limit of {limit} (image properties, tags, members or size)."),
                );
            }
            E::Forbidden(_) => StatusCode::FORBIDDEN,
            E::Invalid(_) => StatusCode::BAD_REQUEST,
            E::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            E::Conflict(_) | E::InvalidState { .. } | E::Locked { .. } => StatusCode::CONFLICT,
            E::Unsupported => StatusCode::NOT_IMPLEMENTED,
            E::NoValidHost { .. } | E::Internal(_) => {
                tracing::error!(error = %e, "internal error");
                return GlanceError(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error".into());
            }
        };
        GlanceError(status, e.to_string())
    }
}

type Result<T> = std::result::Result<T, GlanceError>;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/image", get(versions))
        .route("/image/", get(versions))
        .route("/image/versions", get(versions))
        .route("/image/v2/images", get(list).post(create))
        .route("/image/v2/images/{id}", get(show).patch(update).delete(delete))
        .route("/image/v2/images/{id}/file", get(data::download).put(data::upload))
        .route("/image/v2/images/{id}/stage", put(data::stage))
        .route("/image/v2/images/{id}/import", post(import))
        .route("/image/v2/images/{id}/tags/{tag}", put(tag_add).delete(tag_delete))
        .route("/image/v2/images/{id}/members", get(members).post(member_create))
        .route("/image/v2/images/{id}/members/{member_id}", get(member_show).put(member_update).delete(member_delete))
        .route("/image/v2/images/{id}/actions/deactivate", post(deactivate))
        .route("/image/v2/images/{id}/actions/reactivate", post(reactivate))
        .route("/image/v2/images/{id}/tasks", get(tasks))
        .route("/image/v2/info/import", get(info_import))
        .route("/image/v2/schemas/image", get(schema_image))
        .route("/image/v2/schemas/images", get(schema_images))
        .route("/image/v2/schemas/member", get(schema_member))
        .route("/image/v2/schemas/members", get(schema_members))
}

async fn versions(base: BaseUrl) -> impl IntoResponse {
    let href = format!("{}/", base.join("image/v2"));
    let doc = json!({"versions": [
        {"id": "v2.16", "status": "CURRENT", "links": [{"rel": "self", "href": href}]},
    ]});
    (StatusCode::MULTIPLE_CHOICES, Json(doc))
}

/// The keys Glance sorts images by.
const SORT_KEYS: &[&str] = &[
    "name",
    "status",
    "container_format",
    "disk_format",
    "size",
    "id",
    "created_at",
    "updated_at",
    "min_disk",
    "min_ram",
    "visibility",
    "owner",
];

/// Glance's `limit_param_default` and `api_limit_max`.
const DEFAULT_LIMIT: usize = 25;
const MAX_LIMIT: usize = 1000;

/// `limit`, `marker` and the sort of a list, checked as Glance's request
/// deserializer checks them.
struct Paging<'q> {
    limit: usize,
    marker: Option<&'q str>,
    /// Keys and ascending.
    sort: Vec<(&'q str, bool)>,
}

fn direction(dir: &str) -> Result<bool> {
    match dir {
        "desc" => Ok(false),
        "asc" => Ok(true),
        dir => Err(GlanceError::bad_request(format!("Invalid sort direction: {dir}"))),
    }
}

fn sort_key(key: &str) -> Result<&str> {
    if SORT_KEYS.contains(&key) {
        Ok(key)
    } else {
        let keys = SORT_KEYS.join(", ");
        Err(GlanceError::bad_request(format!("Invalid sort key: {key}. It must be one of the following: {keys}.")))
    }
}

impl<'q> Paging<'q> {
    fn parse(q: &'q [(String, String)]) -> Result<Paging<'q>> {
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let all = |k: &'q str| q.iter().filter(move |(n, _)| n == k).map(|(_, v)| v.as_str());
        let limit = match get("limit") {
            None => DEFAULT_LIMIT,
            Some(raw) => {
                let n: i128 =
                    raw.trim().parse().map_err(|_| GlanceError::bad_request("limit param must be an integer"))?;
                if n < 0 {
                    return Err(GlanceError::bad_request("limit param must be positive"));
                }
                usize::try_from(n).unwrap_or(usize::MAX).min(MAX_LIMIT)
            }
        };
        let mut sort = Vec::new();
        if let Some(spec) = get("sort") {
            if get("sort_key").is_some() || get("sort_dir").is_some() {
                return Err(GlanceError::bad_request(
                    "The 'sort' parameter cannot be combined with 'sort_key' or 'sort_dir'.",
                ));
            }
            for part in spec.split(',') {
                let (key, dir) = part.split_once(':').unwrap_or((part, "desc"));
                sort.push((sort_key(key.trim())?, direction(dir.trim())?));
            }
        } else {
            let keys: Vec<&str> = all("sort_key").collect();
            let dirs: Vec<&str> = all("sort_dir").collect();
            if dirs.len() > 1 && dirs.len() != keys.len() {
                return Err(GlanceError::bad_request("Number of sort dirs does not match the number of sort keys"));
            }
            for d in &dirs {
                direction(d)?;
            }
            for (n, key) in keys.iter().enumerate() {
                let dir = dirs.get(n).or(dirs.first()).copied().unwrap_or("desc");
                sort.push((sort_key(key)?, direction(dir)?));
            }
            if keys.is_empty() {
                sort.push(("created_at", dirs.first().map(|d| direction(d)).transpose()?.unwrap_or(false)));
            }
        }
        if !sort.iter().any(|(k, _)| *k == "id") {
            let last = sort.last().map(|(_, asc)| *asc).unwrap_or(false);
            sort.push(("id", last));
        }
        Ok(Paging { limit, marker: get("marker"), sort })
    }

    /// The page, and whether more follow it.
    fn page(&self, mut images: Vec<Value>) -> Result<(Vec<Value>, bool)> {
        images.sort_by(|a, b| {
            for (key, ascending) in &self.sort {
                let order = match (&a[*key], &b[*key]) {
                    (Value::Number(x), Value::Number(y)) => {
                        x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(std::cmp::Ordering::Equal)
                    }
                    (Value::Null, Value::Null) => std::cmp::Ordering::Equal,
                    (Value::Null, _) => std::cmp::Ordering::Less,
                    (_, Value::Null) => std::cmp::Ordering::Greater,
                    (x, y) => x.as_str().unwrap_or("").cmp(y.as_str().unwrap_or("")),
                };
                let order = if *ascending { order } else { order.reverse() };
                if order != std::cmp::Ordering::Equal {
                    return order;
                }
            }
            std::cmp::Ordering::Equal
        });
        if let Some(marker) = self.marker {
            // Glance looks the marker up as an image: one it cannot find is a 400.
            let at = images
                .iter()
                .position(|i| i["id"] == marker)
                .ok_or_else(|| GlanceError::bad_request(format!("No image found with ID {marker}")))?;
            images.drain(..=at);
        }
        let more = images.len() > self.limit;
        images.truncate(self.limit);
        Ok((images, more))
    }
}

/// A filter value, with Glance's `in:a,b` for several.
fn matches_in(filter: &str, value: &str) -> bool {
    match filter.strip_prefix("in:") {
        Some(list) => list.split(',').any(|v| v.trim().trim_matches('"') == value),
        None => filter == value,
    }
}

/// Query parameters that are not property filters.
const LIST_PARAMS: &[&str] = &[
    "limit",
    "marker",
    "sort",
    "sort_key",
    "sort_dir",
    "id",
    "name",
    "status",
    "visibility",
    "member_status",
    "tag",
    "os_hidden",
    "owner",
    "disk_format",
    "container_format",
    "protected",
    "size_min",
    "size_max",
    "created_at",
    "updated_at",
    "checksum",
    "os_hash_value",
];

fn parse_bool(name: &str, raw: &str) -> Result<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "t" | "y" => Ok(true),
        "false" | "0" | "no" | "off" | "f" | "n" => Ok(false),
        _ => Err(GlanceError::bad_request(format!("Invalid value '{raw}' for '{name}': a boolean is expected"))),
    }
}

fn parse_size(name: &str, raw: &str) -> Result<i64> {
    raw.trim().parse().map_err(|_| GlanceError::bad_request(format!("Invalid value for {name}: {raw}")))
}

async fn list(State(state): State<AppState>, Caller(ctx): Caller, RawQuery(raw): RawQuery) -> Result<Json<Value>> {
    let q: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|_| GlanceError::bad_request("Malformed query string"))?;
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let paging = Paging::parse(&q)?;
    let visibility = get("visibility");
    if let Some(v) = visibility.filter(|v| *v != "all" && !ecs_core::glance::VISIBILITIES.contains(v)) {
        return Err(GlanceError::bad_request(format!("Invalid visibility value: {v}")));
    }
    let member_status = get("member_status").unwrap_or("accepted");
    if member_status != "all" && !ecs_core::glance::MEMBER_STATUSES.contains(&member_status) {
        return Err(GlanceError::bad_request(format!("Invalid status value: {member_status}")));
    }
    let hidden = get("os_hidden").map(|v| parse_bool("os_hidden", v)).transpose()?.unwrap_or(false);
    let protected = get("protected").map(|v| parse_bool("protected", v)).transpose()?;
    let size_min = get("size_min").map(|v| parse_size("size_min", v)).transpose()?;
    let size_max = get("size_max").map(|v| parse_size("size_max", v)).transpose()?;
    let tags: Vec<&str> = q.iter().filter(|(n, _)| n == "tag").map(|(_, v)| v.as_str()).collect();
    let properties: Vec<(&str, &str)> =
        q.iter().filter(|(n, _)| !LIST_PARAMS.contains(&n.as_str())).map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let project = ctx.project_id().map(str::to_string);
    let images: Vec<Value> = state
        .core
        .glance_images(&ctx)
        .await?
        .into_iter()
        .filter(|v| {
            let (g, i) = (&v.image, &v.image.image);
            let own = i.owner_project_id.is_some() && i.owner_project_id == project;
            // What a list shows without a visibility filter: public images,
            // the project's own, shares it took; community ones only when asked.
            let by_visibility = match visibility {
                None => {
                    ctx.is_admin() && i.visibility != "community"
                        || i.visibility == "public"
                        || own
                        || (i.visibility == "shared" && member_status_ok(v, member_status))
                }
                Some("all") => i.visibility != "shared" || own || ctx.is_admin() || member_status_ok(v, member_status),
                Some("shared") => {
                    i.visibility == "shared" && (own || ctx.is_admin() || member_status_ok(v, member_status))
                }
                Some(wanted) => i.visibility == wanted,
            };
            by_visibility
                && g.os_hidden == hidden
                && get("id").is_none_or(|f| matches_in(f, &i.id))
                && get("name").is_none_or(|f| matches_in(f, &i.name))
                && get("status").is_none_or(|f| matches_in(f, &i.status))
                && get("owner").is_none_or(|f| matches_in(f, i.owner_project_id.as_deref().unwrap_or("")))
                && get("disk_format").is_none_or(|f| matches_in(f, &i.disk_format))
                && get("container_format").is_none_or(|f| matches_in(f, &i.container_format))
                && get("checksum").is_none_or(|f| matches_in(f, g.checksum.as_deref().unwrap_or("")))
                && get("os_hash_value").is_none_or(|f| matches_in(f, g.os_hash_value.as_deref().unwrap_or("")))
                && protected.is_none_or(|p| p == g.protected)
                && size_min.is_none_or(|n| i.size_bytes >= n)
                && size_max.is_none_or(|n| i.size_bytes <= n)
                && tags.iter().all(|t| g.tags.iter().any(|have| have == t))
                && properties.iter().all(|(k, want)| i.properties.get(*k).is_some_and(|have| matches_in(want, have)))
        })
        .map(|v| views::image(&v.image))
        .collect();
    let (images, more) = paging.page(images)?;
    let mut doc = json!({"images": images, "schema": "/v2/schemas/images", "first": "/v2/images"});
    if more && let Some(last) = images.last().and_then(|i| i["id"].as_str()) {
        // The same query, from the last image shown.
        let mut next: Vec<(String, String)> = q.iter().filter(|(n, _)| n != "marker").cloned().collect();
        next.push(("marker".into(), last.to_string()));
        let query = serde_urlencoded::to_string(&next).unwrap_or_default();
        doc["next"] = json!(format!("/v2/images?{query}"));
    }
    Ok(Json(doc))
}

fn member_status_ok(v: &ecs_core::glance::VisibleImage, wanted: &str) -> bool {
    v.member_status.as_deref().is_some_and(|s| wanted == "all" || s == wanted)
}

async fn show(State(state): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<Json<Value>> {
    Ok(Json(views::image(&state.core.glance_image(&ctx, &id).await?)))
}

/// A JSON body of at most 112 KiB (whatever JSON content type it names).
async fn json_body(headers: &HeaderMap, body: Body) -> Result<Value> {
    let bytes = crate::body::read_bytes(headers, body, crate::body::MAX_BODY_BYTES).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(GlanceError::bad_request("Body expected in request."));
    }
    serde_json::from_slice(&bytes).map_err(|_| GlanceError::bad_request("Malformed JSON in request body."))
}

fn json_object(value: Value) -> Result<Map<String, Value>> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(GlanceError::bad_request("Request body must be a JSON object.")),
    }
}

/// `POST /v2/images`: 201 with the `queued` image.
async fn create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
        let mime = ct.split(';').next().unwrap_or("").trim();
        if !mime.is_empty() && mime != "application/json" && !mime.ends_with("+json") {
            return Err(BodyError::UnsupportedMediaType.into());
        }
    }
    let body = json_object(json_body(&headers, body).await?)?;
    let image = state.core.glance_image_create(&ctx, &body).await?;
    let location = format!("/v2/images/{}", image.image.id);
    // Glance names the import methods on offer as it answers a create.
    let methods = ecs_core::glance::IMPORT_METHODS.join(",");
    let headers =
        [(header::LOCATION, location), (header::HeaderName::from_static("openstack-image-import-methods"), methods)];
    Ok((StatusCode::CREATED, headers, Json(views::image(&image))).into_response())
}

const PATCH_TYPES: &[&str] =
    &["application/openstack-images-v2.1-json-patch", "application/openstack-images-v2.0-json-patch"];

/// A JSON pointer of one segment (`/name`, `/hw_disk_bus`), unescaped.
fn patch_path(raw: &Value) -> Result<String> {
    let raw = raw.as_str().ok_or_else(|| GlanceError::bad_request("The path of a change must be a string."))?;
    let Some(rest) = raw.strip_prefix('/') else {
        return Err(GlanceError::bad_request(format!("Pointer `{raw}` does not start with \"/\".")));
    };
    if rest.is_empty() || rest.contains('/') {
        return Err(GlanceError::bad_request(format!("Invalid JSON pointer for this resource: '/{rest}'")));
    }
    if rest.contains('~') && rest.replace("~0", "").replace("~1", "").contains('~') {
        return Err(GlanceError::bad_request(format!(
            "Pointer `{raw}` contains \"~\" not part of a recognized escape sequence."
        )));
    }
    Ok(rest.replace("~1", "/").replace("~0", "~"))
}

fn patch_ops(body: Value) -> Result<Vec<PatchOp>> {
    let Value::Array(changes) = body else {
        return Err(GlanceError::bad_request("Request body must be a JSON array of operation objects."));
    };
    let mut ops = Vec::new();
    for change in changes {
        let Value::Object(mut change) = change else {
            return Err(GlanceError::bad_request("Operations must be JSON objects."));
        };
        // 2.1: {"op": "add", "path": "/x", "value": …}; 2.0: {"add": "/x", "value": …}.
        let (op, path) = match change.get("op").cloned() {
            Some(op) => (op.as_str().unwrap_or("").to_string(), change.get("path").cloned().unwrap_or(Value::Null)),
            None => match ["add", "replace", "remove"].into_iter().find(|k| change.contains_key(*k)) {
                Some(k) => (k.to_string(), change[k].clone()),
                None => {
                    return Err(GlanceError::bad_request(
                        "Unable to find `op` in JSON Schema change. It must be one of the following: add, remove, replace.",
                    ));
                }
            },
        };
        let path = patch_path(&path)?;
        let value = change.remove("value");
        let op = match (op.as_str(), value) {
            ("add", Some(v)) => PatchOp::Add(path, v),
            ("replace", Some(v)) => PatchOp::Replace(path, v),
            ("remove", _) => PatchOp::Remove(path),
            ("add" | "replace", None) => {
                return Err(GlanceError::bad_request(format!("Operation \"{op}\" requires a member named \"value\".")));
            }
            _ => {
                return Err(GlanceError::bad_request(format!(
                    "Invalid operation: `{op}`. It must be one of the following: add, remove, replace."
                )));
            }
        };
        ops.push(op);
    }
    Ok(ops)
}

/// `PATCH /v2/images/{id}` with `application/openstack-images-v2.1-json-patch`.
async fn update(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let mime = ct.split(';').next().unwrap_or("").trim().to_string();
    if !PATCH_TYPES.contains(&mime.as_str()) {
        // A caller who may not change the image hears that first.
        state.core.glance_image_changeable(&ctx, &id, "modify_image").await?;
        return Err(GlanceError(StatusCode::UNSUPPORTED_MEDIA_TYPE, format!("Unsupported Content-Type: {mime}")));
    }
    let ops = patch_ops(json_body(&headers, body).await?)?;
    Ok(Json(views::image(&state.core.glance_image_patch(&ctx, &id, &ops).await?)))
}

async fn delete(State(state): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<StatusCode> {
    state.core.glance_image_delete(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v2/images/{id}/import`: `{"method": {"name": "glance-direct"}}`; 202.
async fn import(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode> {
    let body = json_object(json_body(&headers, body).await?)?;
    let method = body
        .get("method")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .ok_or_else(|| GlanceError::bad_request("Import request requires a 'method' field with a 'name'."))?;
    state.core.glance_import(&ctx, &id, method).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn tag_add(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((id, tag)): Path<(String, String)>,
) -> Result<StatusCode> {
    state.core.glance_image_tag(&ctx, &id, &tag, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn tag_delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((id, tag)): Path<(String, String)>,
) -> Result<StatusCode> {
    state.core.glance_image_tag(&ctx, &id, &tag, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn members(State(state): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<Json<Value>> {
    let members: Vec<Value> = state.core.image_members(&ctx, &id).await?.iter().map(views::member).collect();
    Ok(Json(json!({"members": members, "schema": "/v2/schemas/members"})))
}

async fn member_create(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>> {
    let body = json_object(json_body(&headers, body).await?)?;
    let member = body
        .get("member")
        .and_then(Value::as_str)
        .ok_or_else(|| GlanceError::bad_request("Member to be added not specified"))?;
    Ok(Json(views::member(&state.core.image_member_create(&ctx, &id, member).await?)))
}

async fn member_show(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((id, member)): Path<(String, String)>,
) -> Result<Json<Value>> {
    Ok(Json(views::member(&state.core.image_member(&ctx, &id, &member).await?)))
}

async fn member_update(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((id, member)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>> {
    let body = json_object(json_body(&headers, body).await?)?;
    let status =
        body.get("status").and_then(Value::as_str).ok_or_else(|| GlanceError::bad_request("Status not specified"))?;
    Ok(Json(views::member(&state.core.image_member_update(&ctx, &id, &member, status).await?)))
}

async fn member_delete(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path((id, member)): Path<(String, String)>,
) -> Result<StatusCode> {
    state.core.image_member_delete(&ctx, &id, &member).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn deactivate(State(state): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<StatusCode> {
    state.core.glance_image_activation(&ctx, &id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn reactivate(State(state): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<StatusCode> {
    state.core.glance_image_activation(&ctx, &id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v2/images/{id}/tasks` (Glance 2.12): the import tasks of an
/// image. ecsd imports in the request itself and keeps no tasks.
async fn tasks(State(state): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<Json<Value>> {
    state.core.glance_image(&ctx, &id).await?;
    Ok(Json(json!({"tasks": []})))
}

/// `GET /v2/info/import`: the import methods on offer.
async fn info_import(Caller(_ctx): Caller) -> Json<Value> {
    Json(json!({"import-methods": {
        "description": "Import methods available.", "type": "array",
        "value": ecs_core::glance::IMPORT_METHODS,
    }}))
}

async fn schema_image(Caller(_ctx): Caller) -> Json<Value> {
    Json(views::image_schema())
}

async fn schema_images(Caller(_ctx): Caller) -> Json<Value> {
    Json(json!({
        "name": "images",
        "properties": {"images": {"type": "array", "items": views::image_schema()},
            "schema": {"type": "string"}, "first": {"type": "string"}, "next": {"type": "string"}},
        "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"}],
    }))
}

async fn schema_member(Caller(_ctx): Caller) -> Json<Value> {
    Json(views::member_schema())
}

async fn schema_members(Caller(_ctx): Caller) -> Json<Value> {
    Json(json!({
        "name": "members",
        "properties": {"members": {"type": "array", "items": views::member_schema()}, "schema": {"type": "string"}},
        "links": [{"rel": "describedby", "href": "{schema}"}],
    }))
}
