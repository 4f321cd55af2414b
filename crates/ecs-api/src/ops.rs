//! What operators and their tools read, without a token (as Prometheus
//! scrapes and load balancers probe): `GET /metrics` (Prometheus'
//! OpenMetrics text), `GET /healthz` (the process serves) and
//! `GET /readyz` (the database is reachable, its migrations applied, the
//! task engine running). And the two layers that count HTTP requests.

use std::sync::Arc;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ecs_core::metrics::{CONTENT_TYPE, Metrics, UNMATCHED_ROUTE};
use serde_json::json;

use crate::AppState;

/// `/healthz`, `/readyz`, and `/metrics` unless instrumentation is off
/// (then `/metrics` is a 404 like any unknown path).
pub fn router(metrics: bool) -> Router<AppState> {
    let router = Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz));
    if metrics { router.route("/metrics", get(scrape)) } else { router }
}

/// Live: answers while the process serves.
async fn healthz() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

/// Ready: 200, or 503 with the reason.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.core.readiness().await {
        Ok(()) => axum::Json(json!({"status": "ready"})).into_response(),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({"status": "not ready", "reason": reason})))
            .into_response(),
    }
}

async fn scrape(State(state): State<AppState>) -> Response {
    match state.core.metrics_render().await {
        Ok(Some(text)) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Ok(None) => crate::dialect::Dialect::Unknown.not_found(),
        Err(e) => {
            tracing::warn!(error = %e, "reading the metrics failed");
            let message = "The metrics could not be read.";
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({"error": {"code": 503, "message": message}})))
                .into_response()
        }
    }
}

/// Inside the router: puts the matched route's template on the answer,
/// for [`record`] outside the rewrites to label the request with.
pub async fn stamp_route(matched: Option<MatchedPath>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    if let Some(matched) = matched {
        response.extensions_mut().insert(matched);
    }
    response
}

/// Outermost: counts and times every request by route template (or
/// "unmatched", never the path as sent), method and status.
pub async fn record(State(metrics): State<Option<Arc<Metrics>>>, req: Request, next: Next) -> Response {
    let Some(metrics) = metrics else { return next.run(req).await };
    let started = std::time::Instant::now();
    let method = method_label(req.method());
    let response = next.run(req).await;
    let route = response.extensions().get::<MatchedPath>().map_or(UNMATCHED_ROUTE, |m| m.as_str());
    metrics.http_request(route, method, response.status().as_u16(), started.elapsed());
    response
}

/// The method as a label: one of HTTP's, or "other" (never a client's invention).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
