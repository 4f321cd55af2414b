//! Image data: `PUT /file` and `PUT /stage` stream the body to disk as it
//! arrives (never held whole in memory), `GET /file` streams the file back.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body::Frame;
use http_body_util::BodyExt;
use tokio::sync::mpsc;

use super::{GlanceError, Result};
use crate::AppState;
use crate::body::{BodyError, classify};
use crate::identity::Caller;

/// Glance takes image data only as `application/octet-stream` (a missing
/// type is let through, as curl's `-T` sends none).
fn check_octet_stream(headers: &HeaderMap) -> Result<()> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
        if ct.split(';').next().unwrap_or("").trim() != "application/octet-stream" {
            return Err(GlanceError(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Content-Type".into()));
        }
    }
    if let Some(encoding) = headers.get(header::CONTENT_ENCODING)
        && !encoding.to_str().unwrap_or("").trim().eq_ignore_ascii_case("identity")
    {
        return Err(BodyError::UnsupportedEncoding.into());
    }
    Ok(())
}

async fn receive(
    state: &AppState,
    ctx: &ecs_types::AuthContext,
    id: &str,
    headers: &HeaderMap,
    body: Body,
    stage: bool,
) -> Result<()> {
    if let Err(refused) = check_octet_stream(headers) {
        // A caller who may not upload hears that first.
        state.core.glance_image_changeable(ctx, id, "upload_image").await?;
        return Err(refused);
    }
    let mut upload = state.core.glance_upload(ctx, id, stage).await?;
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| GlanceError::from(classify(&e)))?;
        if let Ok(data) = frame.into_data()
            && !data.is_empty()
        {
            upload.write(data).await?;
        }
    }
    // Dropped unfinished on any error above: the partial file goes and the
    // image is queued again.
    upload.finish().await?;
    Ok(())
}

/// `PUT /v2/images/{id}/file`: `queued` → `saving` → `active`.
pub(super) async fn upload(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode> {
    receive(&state, &ctx, &id, &headers, body, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /v2/images/{id}/stage` (interoperable import): `queued` → `uploading`.
pub(super) async fn stage(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode> {
    receive(&state, &ctx, &id, &headers, body, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A response body read from a file by a blocking thread, a few chunks ahead.
struct FileBody {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, Self::Error>>> {
        self.rx.poll_recv(cx).map(|chunk| chunk.map(|r| r.map(Frame::data)))
    }
}

const CHUNK: usize = 1 << 20;

/// `GET /v2/images/{id}/file`: the data, with `Content-MD5`; 204 without data.
pub(super) async fn download(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    Path(id): Path<String>,
) -> Result<Response> {
    let Some(file) = state.core.glance_image_file(&ctx, &id).await? else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let opened = std::fs::File::open(&file.path).map_err(|_| GlanceError(StatusCode::NO_CONTENT, String::new()));
    let Ok(mut f) = opened else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let (tx, rx) = mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        loop {
            let mut buf = vec![0u8; CHUNK];
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    let mut response = Body::new(FileBody { rx }).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(file.size));
    if let Some(md5) = file.checksum.as_deref().and_then(|c| HeaderValue::from_str(c).ok()) {
        headers.insert("content-md5", md5);
    }
    Ok(response)
}
