//! The caller extractor shared by every dialect: an `X-Auth-Token`, or an
//! AK/SK signature (`Authorization: SDK-HMAC-SHA256 …`, as the Huawei
//! Cloud SDKs sign) checked by [`verify_signature`] before routing.

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ecs_types::AuthContext;

use super::KeystoneError;
use crate::AppState;

/// The largest body of a signed request (seed 002: AK/SK authentication
/// takes bodies up to 12 MB). The body must be read whole to check its hash.
pub const MAX_SIGNED_BODY_BYTES: usize = 12 * 1024 * 1024;

/// A caller whose token or signature is valid.
#[derive(Debug, Clone)]
pub struct Caller(pub AuthContext);

/// The outcome of checking a signed request, left in its extensions by
/// [`verify_signature`] for [`Caller`] to answer in the path's dialect.
#[derive(Debug, Clone)]
struct Signed(Result<AuthContext, (StatusCode, String)>);

impl Caller {
    pub async fn from_parts(parts: &Parts, state: &AppState) -> Result<Caller, KeystoneError> {
        if let Some(Signed(outcome)) = parts.extensions.get::<Signed>() {
            return match outcome {
                Ok(ctx) => Ok(Caller(ctx.clone())),
                Err((status, message)) => Err(KeystoneError::new(*status, message.clone())),
            };
        }
        let token = parts
            .headers
            .get("x-auth-token")
            .and_then(|v| v.to_str().ok())
            .filter(|t| !t.is_empty())
            .ok_or_else(KeystoneError::unauthorized)?;
        let ctx = state.core.identity.validate(token).await.map_err(KeystoneError::from)?;
        Ok(Caller(ctx))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = KeystoneError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let caller = Caller::from_parts(parts, state).await?;
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

/// Is this request signed with one of the SDK's algorithms? (Only
/// `SDK-HMAC-SHA256` is verified; the others are refused.)
fn is_signed(req: &Request) -> bool {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("SDK-") || v.starts_with("V11-HMAC-"))
}

/// Checks the AK/SK signature of a signed request over its method, path
/// and query as sent (so this runs before any path rewriting), headers and
/// body. The body is read (up to [`MAX_SIGNED_BODY_BYTES`]) and handed on
/// unchanged. Requests without a signature pass untouched.
pub async fn verify_signature(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !is_signed(&req) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let bytes = match crate::body::read_bytes(&parts.headers, body, MAX_SIGNED_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(e) => return KeystoneError::from(e).into_response(),
    };
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let signed = ecs_core::signing::SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &headers,
        body: &bytes,
    };
    let outcome = state.core.authenticate_signed(&signed, chrono::Utc::now()).await.map_err(|e| {
        let e = KeystoneError::from(e);
        (e.status, e.message)
    });
    parts.extensions.insert(Signed(outcome));
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}
