//! Reading request bodies ourselves, so that every dialect can answer
//! malformed, oversized, truncated or mistyped bodies in its own error
//! format.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use serde_json::Value;

/// Nova's `max_request_body_size` (112 KiB).
pub const MAX_BODY_BYTES: usize = 114_688;

/// Why a body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// Over the limit: declared in `Content-Length`, or read so far (413).
    TooLarge,
    /// A `Content-Type` that is not JSON (415).
    UnsupportedMediaType,
    /// A `Content-Encoding` other than `identity`: bodies are not
    /// decompressed, so an encoded one cannot be read (415).
    UnsupportedEncoding,
    /// The connection ended or broke before the body did: fewer bytes than
    /// `Content-Length`, or broken chunked framing (400).
    Incomplete,
    /// The client sent the body too slowly (408).
    TimedOut,
    /// Not JSON (400).
    Malformed,
}

/// The error the transport (ecsd's accept loop) ends a request body with
/// when its client did not send it in time; [`read_bytes`] answers it as
/// [`BodyError::TimedOut`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyTimeout;

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl std::error::Error for BodyTimeout {}

/// Reads a whole body of at most `limit` bytes. A declared length over the
/// limit is refused before a byte is read, so a client announcing a huge
/// body gets its answer at once instead of a wait.
pub async fn read_bytes(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, BodyError> {
    if let Some(encoding) = headers.get(header::CONTENT_ENCODING) {
        let encoding = encoding.to_str().unwrap_or("").trim();
        if !encoding.eq_ignore_ascii_case("identity") {
            return Err(BodyError::UnsupportedEncoding);
        }
    }
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| classify(&e))
}

/// Tells a body over the limit from one that came too slowly or broke off
/// (hyper's errors for a short body or broken chunked framing).
pub(crate) fn classify(e: &axum::Error) -> BodyError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return BodyError::TooLarge;
        }
        if err.is::<BodyTimeout>() {
            return BodyError::TimedOut;
        }
        source = err.source();
    }
    BodyError::Incomplete
}

/// Reads the raw bytes of a JSON body (for a caller that also needs them
/// as sent, e.g. to hash them). A missing `Content-Type` is taken as JSON
/// (as Nova does); an explicit non-JSON type is refused.
pub async fn read_json_bytes(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, BodyError> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
        let mime = ct.split(';').next().unwrap_or("").trim();
        if !mime.is_empty() && mime != "application/json" && !mime.ends_with("+json") {
            return Err(BodyError::UnsupportedMediaType);
        }
    }
    read_bytes(headers, body, limit).await
}

/// Reads and parses a JSON body of at most [`MAX_BODY_BYTES`].
pub async fn read_json(headers: &HeaderMap, body: Body) -> Result<Value, BodyError> {
    let bytes = read_json_bytes(headers, body, MAX_BODY_BYTES).await?;
    serde_json::from_slice(&bytes).map_err(|_| BodyError::Malformed)
}
