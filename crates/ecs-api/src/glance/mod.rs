//! The image service (a read-only Glance v2 subset at `/image`): enough for
//! clients to find the images servers boot from (`openstack image list`,
//! `server create --image NAME`). Managing images arrives with the images
//! work; until then the images are the seeded ones.

use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ecs_types::Image;
use serde_json::{Value, json};

use crate::body::BodyError;
use crate::identity::Caller;
use crate::{AppState, BaseUrl};

/// Glance's error answers are plain; clients read the status.
pub(crate) struct GlanceError(StatusCode, String);

impl GlanceError {
    pub(crate) fn not_found() -> Self {
        GlanceError(StatusCode::NOT_FOUND, "The resource could not be found.".into())
    }

    pub(crate) fn method_not_allowed() -> Self {
        GlanceError(StatusCode::METHOD_NOT_ALLOWED, "The method is not allowed for this resource.".into())
    }

    fn bad_request(message: impl Into<String>) -> Self {
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
            E::NotFound { .. } => StatusCode::NOT_FOUND,
            E::Forbidden(_) | E::QuotaExceeded { .. } => StatusCode::FORBIDDEN,
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
        .route("/image/v2/images", get(list))
        .route("/image/v2/images/{id}", get(show))
        .route("/image/v2/images/{id}/tasks", get(tasks))
}

async fn versions(base: BaseUrl) -> impl IntoResponse {
    let href = format!("{}/", base.join("image/v2"));
    let doc = json!({"versions": [
        {"id": "v2.16", "status": "CURRENT", "links": [{"rel": "self", "href": href}]},
    ]});
    (StatusCode::MULTIPLE_CHOICES, Json(doc))
}

fn view(i: &Image) -> Value {
    let t = i.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    json!({
        "id": i.id, "name": i.name, "status": i.status, "visibility": i.visibility, "protected": false,
        "os_hidden": false, "checksum": null, "os_hash_algo": null, "os_hash_value": null,
        "min_ram": i.min_ram_mb, "min_disk": i.min_disk_gb, "owner": i.owner_project_id, "size": i.size_bytes,
        "virtual_size": null, "container_format": i.container_format, "disk_format": i.disk_format,
        "os_type": i.os_type, "created_at": t, "updated_at": t, "tags": [],
        "self": format!("/v2/images/{}", i.id), "file": format!("/v2/images/{}/file", i.id),
        "schema": "/v2/schemas/image",
    })
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
];

/// `limit`, `marker`, `sort_key` and `sort_dir` of a list, checked as
/// Glance's request deserializer checks them.
struct Paging<'q> {
    limit: Option<usize>,
    marker: Option<&'q str>,
    /// Key and ascending, when asked for (else the images' own order).
    sort: Option<(&'q str, bool)>,
}

impl<'q> Paging<'q> {
    fn parse(get: impl Fn(&str) -> Option<&'q str>) -> Result<Paging<'q>> {
        let limit = match get("limit") {
            None => None,
            Some(raw) => {
                let n: i128 =
                    raw.trim().parse().map_err(|_| GlanceError::bad_request("limit param must be an integer"))?;
                if n < 0 {
                    return Err(GlanceError::bad_request("limit param must be positive"));
                }
                Some(usize::try_from(n).unwrap_or(usize::MAX))
            }
        };
        let sort_key = get("sort_key");
        if let Some(key) = sort_key.filter(|k| !SORT_KEYS.contains(k)) {
            let keys = SORT_KEYS.join(", ");
            return Err(GlanceError::bad_request(format!(
                "Invalid sort key: {key}. It must be one of the following: {keys}."
            )));
        }
        let ascending = match get("sort_dir") {
            None | Some("desc") => false,
            Some("asc") => true,
            Some(dir) => return Err(GlanceError::bad_request(format!("Invalid sort direction: {dir}"))),
        };
        let sort =
            (sort_key.is_some() || get("sort_dir").is_some()).then(|| (sort_key.unwrap_or("created_at"), ascending));
        Ok(Paging { limit, marker: get("marker"), sort })
    }

    fn page(&self, mut images: Vec<Value>) -> Result<Vec<Value>> {
        if let Some((key, ascending)) = self.sort {
            images.sort_by(|a, b| {
                let order = match (&a[key], &b[key]) {
                    (Value::Number(x), Value::Number(y)) => {
                        x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(std::cmp::Ordering::Equal)
                    }
                    (x, y) => x.as_str().unwrap_or("").cmp(y.as_str().unwrap_or("")),
                };
                if ascending { order } else { order.reverse() }
            });
        }
        if let Some(marker) = self.marker {
            // Glance looks the marker up as an image: one it cannot find is a 400.
            let at = images
                .iter()
                .position(|i| i["id"] == marker)
                .ok_or_else(|| GlanceError::bad_request(format!("No image found with ID {marker}")))?;
            images.drain(..=at);
        }
        if let Some(limit) = self.limit {
            images.truncate(limit);
        }
        Ok(images)
    }
}

async fn list(State(state): State<AppState>, Caller(ctx): Caller, RawQuery(raw): RawQuery) -> Result<Json<Value>> {
    let q: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|_| GlanceError::bad_request("Malformed query string"))?;
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let paging = Paging::parse(get)?;
    let images: Vec<Value> = state
        .core
        .images(&ctx)
        .await?
        .iter()
        .filter(|i| get("name").is_none_or(|n| n == i.name))
        .filter(|i| get("id").is_none_or(|n| n == i.id))
        .filter(|i| get("status").is_none_or(|n| n == i.status))
        .filter(|i| get("visibility").is_none_or(|n| n == "all" || n == i.visibility))
        .map(view)
        .collect();
    let images = paging.page(images)?;
    Ok(Json(json!({"images": images, "schema": "/v2/schemas/images", "first": "/v2/images"})))
}

async fn visible_image(state: &AppState, ctx: &ecs_types::AuthContext, id: &str) -> Result<Image> {
    let images = state.core.images(ctx).await?;
    images
        .into_iter()
        .find(|i| i.id == id)
        .ok_or_else(|| GlanceError(StatusCode::NOT_FOUND, format!("No image found with ID {id}")))
}

async fn show(State(state): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<Json<Value>> {
    Ok(Json(view(&visible_image(&state, &ctx, &id).await?)))
}

/// `GET /v2/images/{id}/tasks` (Glance 2.12): the import tasks of an
/// image. ecsd's images are made whole (seeded, or by a snapshot), never
/// imported, so the list is empty.
async fn tasks(State(state): State<AppState>, Caller(ctx): Caller, Path(id): Path<String>) -> Result<Json<Value>> {
    visible_image(&state, &ctx, &id).await?;
    Ok(Json(json!({"tasks": []})))
}
