//! Every response carries the request's id in `x-openstack-request-id` and
//! `X-Compute-Request-Id` (as Nova sends both) and in `X-Request-Id` (as
//! Huawei's gateway sends it), refusals before any route included, and
//! every log line of the request carries it too.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The id of the request being served (`req-<uuid>`), for handlers that
/// record it (instance actions, jobs).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub async fn tag(mut req: Request, next: Next) -> Response {
    // Reads and changes draw from two streams (`ecs_types::random`): with
    // `--seed`, however often a client polls, the ids of its changing
    // requests (recorded in jobs and instance actions) stay the same.
    #[allow(clippy::if_same_then_else)] // two call sites: two streams
    let id = if req.method().is_safe() { ecs_types::random::uuid() } else { ecs_types::random::uuid() };
    let id = format!("req-{id}");
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    async move {
        let started = std::time::Instant::now();
        let mut response = next.run(req).await;
        let status = response.status();
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), elapsed_us = started.elapsed().as_micros() as u64, "served");
        } else {
            tracing::info!(status = status.as_u16(), elapsed_us = started.elapsed().as_micros() as u64, "served");
        }
        if let Ok(value) = HeaderValue::from_str(&id) {
            let headers = response.headers_mut();
            headers.insert("x-openstack-request-id", value.clone());
            headers.insert("x-request-id", value.clone());
            headers.insert("x-compute-request-id", value);
        }
        response
    }
    .instrument(span)
    .await
}
