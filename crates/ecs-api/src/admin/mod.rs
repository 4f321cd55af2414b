//! ecsd's own admin APIs, under `/admin/v1/`: what makes ecsd a cloud
//! emulator rather than a cloud — the simulator's settings and whatever
//! else an operator or a test suite steers the service with. Admin only:
//! another role is refused (403) before anything is read or changed.

mod clock;
mod error;
pub mod scenario;
pub(crate) mod simulator;
mod snapshots;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use ecs_types::AuthContext;
use serde::de::DeserializeOwned;

pub use error::AdminError;

use crate::AppState;
use crate::identity::Caller;

pub fn router() -> Router<AppState> {
    Router::new().merge(simulator::router()).merge(scenario::router()).merge(snapshots::router()).merge(clock::router())
}

/// The admin routes in the OpenAPI document (`crate::openapi`): each
/// handler here carries its `#[utoipa::path(…)]`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    simulator::show,
    simulator::update,
    scenario::show,
    scenario::replace,
    scenario::clear,
    snapshots::create,
    snapshots::list,
    snapshots::show,
    snapshots::remove,
    snapshots::restore,
    clock::show,
    clock::advance,
))]
pub(crate) struct AdminApi;

/// The caller of an admin request, once known to hold the admin role
/// (`rule` names what a refusal cites: `ecsd:admin`).
pub struct AdminCall(pub AuthContext);

impl FromRequestParts<AppState> for AdminCall {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AdminError> {
        let Caller(ctx) = Caller::from_request_parts(parts, state).await.map_err(|e| {
            if e.status.is_server_error() {
                AdminError::new(e.status, "InternalError", e.message)
            } else {
                AdminError::unauthorized()
            }
        })?;
        ecs_core::policy::require_admin(&ctx, "ecsd:admin")?;
        Ok(AdminCall(ctx))
    }
}

/// A typed JSON document; one that does not fit `T` is refused naming the
/// field and the reason (`faults[0].op: unknown variant …`).
pub struct AdminBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for AdminBody<T> {
    type Rejection = AdminError;

    async fn from_request(req: Request, _state: &AppState) -> Result<Self, AdminError> {
        let (parts, body): (Parts, Body) = req.into_parts();
        let bytes = crate::body::read_json_bytes(&parts.headers, body, crate::body::MAX_BODY_BYTES).await?;
        parse_document(&bytes).map(AdminBody)
    }
}

/// Parses a JSON document into `T`, naming the field at fault.
pub fn parse_document<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AdminError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." { String::new() } else { field };
        let reason = e.into_inner();
        AdminError::invalid_document(field, worded(&reason))
    })?;
    de.end().map_err(|e| AdminError::invalid_document("", worded(&e)))?;
    Ok(value)
}

fn worded(e: &serde_json::Error) -> String {
    if e.is_syntax() || e.is_eof() { format!("The request body is not valid JSON: {e}") } else { e.to_string() }
}
