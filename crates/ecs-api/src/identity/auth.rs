//! The caller extractor shared by every dialect: an `X-Auth-Token`, or an
//! AK/SK signature (`Authorization: SDK-HMAC-SHA256 …`, as the Huawei
//! Cloud SDKs sign) checked by [`verify_signature`] before routing.

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use ecs_types::AuthContext;

use super::KeystoneError;
use crate::AppState;
use crate::dialect::Dialect;

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
        let token = sole_header(&parts.headers, "x-auth-token")
            .map_err(|_| KeystoneError::unauthorized())?
            .and_then(|v| v.to_str().ok())
            .filter(|t| !t.is_empty())
            .ok_or_else(KeystoneError::unauthorized)?;
        let ctx = state.core.identity.validate(token).await.map_err(KeystoneError::from)?;
        if let Some(credential) = &ctx.application_credential
            && !allowed_by_access_rules(
                &credential.access_rules,
                parts.method.as_str(),
                // The path as routed, before any nested router took its prefix.
                parts.extensions.get::<axum::extract::OriginalUri>().map_or(parts.uri.path(), |o| o.0.path()),
            )
        {
            // keystonemiddleware: a call outside the rules is an invalid token.
            return Err(KeystoneError::unauthorized());
        }
        Ok(Caller(ctx))
    }
}

/// An application credential's access rules, as keystonemiddleware
/// checks them in front of each service: the service type by the path's
/// prefix, the path as the service sees it. Keystone's own API is not
/// limited by them.
fn allowed_by_access_rules(rules: &[ecs_types::AccessRule], method: &str, path: &str) -> bool {
    if rules.is_empty() || path.starts_with("/identity") || path.starts_with("/v3") {
        return true;
    }
    let (services, rest): (&[&str], &str) = if let Some(rest) = path.strip_prefix("/image") {
        (&["image"], rest)
    } else if let Some(rest) = path.strip_prefix("/networking") {
        (&["network"], rest)
    } else if let Some(rest) = path.strip_prefix("/volume") {
        (&["block-storage", "volumev3", "volume"], rest)
    } else {
        (&["compute"], path)
    };
    services.iter().any(|service| ecs_core::identity::access_rules_allow(rules, service, method, rest))
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

/// A header that is sent more than once: an ambiguous credential, refused
/// rather than read as its first (or any) copy.
#[derive(Debug)]
pub(crate) struct Repeated;

/// The one value of header `name`, if sent.
pub(crate) fn sole_header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a HeaderValue>, Repeated> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (first, None) => Ok(first),
        (_, Some(_)) => Err(Repeated),
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
        // Refused in the format of the service called, not Keystone's.
        Err(e) => {
            let Ok(dialect) = Dialect::from_request_parts(&mut parts, &()).await;
            return dialect.body_refused(e);
        }
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
    let outcome = if sole_header(&parts.headers, header::AUTHORIZATION.as_str()).is_err() {
        let e = KeystoneError::unauthorized();
        Err((e.status, e.message))
    } else {
        state.core.authenticate_signed(&signed, ecs_types::clock::now()).await.map_err(|e| {
            let e = KeystoneError::from(e);
            (e.status, e.message)
        })
    };
    parts.extensions.insert(Signed(outcome));
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}
