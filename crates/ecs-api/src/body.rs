//! Reading JSON request bodies ourselves, so that every dialect can answer
//! malformed, oversized or mistyped bodies in its own error format.

use axum::body::Body;
use axum::http::{HeaderMap, header};
use serde_json::Value;

/// Nova's `max_request_body_size` (112 KiB).
pub const MAX_BODY_BYTES: usize = 114_688;

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    TooLarge,
    UnsupportedMediaType,
    Malformed,
}

/// Reads a JSON body. A missing `Content-Type` is taken as JSON (as Nova
/// does); an explicit non-JSON type is refused.
pub async fn read_json(headers: &HeaderMap, body: Body) -> Result<Value, BodyError> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
        let mime = ct.split(';').next().unwrap_or("").trim();
        if !mime.is_empty() && mime != "application/json" && !mime.ends_with("+json") {
            return Err(BodyError::UnsupportedMediaType);
        }
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| BodyError::TooLarge)?;
    serde_json::from_slice(&bytes).map_err(|_| BodyError::Malformed)
}
