//! The HTTP front ends of ecsd, on one listener:
//!
//! | prefix | dialect | module |
//! | --- | --- | --- |
//! | `/identity/v3`, `/v3`, `/identity` | Keystone v3 subset | [`identity`] |
//! | `/`, `/v2`, `/v2.1` (with or without `/{project_id}`) | OpenStack Nova with microversions | [`nova`] |
//! | `/image` | Glance v2 subset (read-only for now) | `glance` |
//! | `/networking` | Neutron v2.0 subset (networks, subnets, ports) | `neutron` |
//! | `/volume` | Cinder v3 (volumes, types, snapshots, attachments, quotas) | `cinder` |
//! | `/v1/{p}/publicips`, `/v1/{p}/bandwidths`, `/v3/{p}/eip` | Huawei EIP | `eip` |
//! | `/v2[.1]/{p}/cloudvolumes` | Huawei EVS | `evs` |
//! | `/v1/{project_id}/vpcs`, `…/subnets`, `…/security-groups`, `…/ports`… | Huawei Cloud VPC v1 | `vpc` |
//! | `/v1/cloudimages`, `/v2/cloudimages`, `/v2.1/cloudimages` | Huawei IMS | `ims` |
//! | `/admin/v1` | ecsd's own admin APIs (simulator, …) | `admin` |
//! | `/openapi.json` | the OpenAPI document of the ECS-native and admin APIs | [`openapi`] |
//! | `/console/` | the web console's static files (no token) | `console` |
//!
//! Handlers are thin: they parse and validate the request in their
//! dialect's terms, call one core operation and render the result. Each
//! dialect renders errors in exactly one place (its `error` module); the
//! refusals made before any handler (no route, no such method, a path that
//! is not UTF-8, a signed body that cannot be read) go to the dialect of
//! the path as sent, which `dialect` decides.

// serde_json's `json!` recurses per field: the ECS server view has ~50.
#![recursion_limit = "256"]

pub mod admin;
mod body;
mod cinder;
mod console;
mod dialect;
mod eip;
mod evs;
pub use body::BodyTimeout;
pub mod ecs;
mod glance;
pub mod identity;
mod ims;
mod links;
mod neutron;
pub mod nova;
pub mod openapi;
pub mod ops;
pub mod request_id;
mod server_view;
pub mod vnc_proxy;
mod vpc;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::response::IntoResponse;
use ecs_core::Core;
use tower::Layer;

pub use links::BaseUrl;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Region named in the service catalog.
    pub region: String,
    /// Base URL to put in links and the catalog instead of the one the
    /// request came in on (set it behind a proxy that rewrites hosts).
    pub public_url: Option<String>,
    /// Refuse a reader's changes already in the Nova and ECS extractors,
    /// before the body is read, under the route's rule or IAM action (on by
    /// default). The core refuses them in any case; off, it alone does
    /// (the reader sweep test runs both ways).
    pub early_policy_gates: bool,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig { region: "RegionOne".into(), public_url: None, early_policy_gates: true }
    }
}

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    pub core: Arc<Core>,
    pub config: Arc<ApiConfig>,
    /// The simulated hypervisor's controls, when this process runs simulated hosts.
    pub sim: Option<ecs_hypervisor::sim::SimControl>,
}

/// The whole HTTP service: every dialect, request ids and tracing.
///
/// The Nova project-id rewrite must run before routing, so it wraps the
/// router instead of being a router layer.
pub fn service(
    state: AppState,
) -> impl tower::Service<Request, Response = axum::response::Response, Error = std::convert::Infallible, Future = impl Send>
+ Clone
+ Send
+ 'static {
    let metrics = state.core.metrics().cloned();
    let router = routes(&state)
        // A fault scenario's rules on routes, keyed by the matched template.
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), admin::scenario::gate))
        // Refusals before a handler, each in the path's dialect.
        .fallback(dialect::not_found)
        .method_not_allowed_fallback(dialect::method_not_allowed);
    // The route a request matched, for the HTTP metrics.
    let router = if metrics.is_some() { router.layer(axum::middleware::from_fn(ops::stamp_route)) } else { router };
    let router = router.with_state(state.clone());
    let router = axum::middleware::from_fn(dialect::refuse_undecodable_path).layer(router);
    let router = axum::middleware::from_fn(nova::strip_project_from_path).layer(router);
    let router = axum::middleware::from_fn(cinder::strip_project_from_path).layer(router);
    // AK/SK signatures cover the path as sent: check them before the rewrite.
    let router = axum::middleware::from_fn_with_state(state, identity::verify_signature).layer(router);
    // Outermost, so that every answer has a request id, refusals included.
    let router = axum::middleware::from_fn(request_id::tag).layer(router);
    let router = axum::middleware::from_fn(dialect::classify).layer(router);
    // Outside everything: every answer is counted, refusals included.
    axum::middleware::from_fn_with_state(metrics, ops::record).layer(router)
}

/// Every route of every dialect.
fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(ops::router(state.core.metrics().is_some()))
        .merge(identity::router())
        .merge(glance::router())
        .merge(neutron::router())
        .merge(cinder::router())
        .merge(ims::router())
        .merge(nova::router(state.clone()))
        .merge(ecs::router())
        .merge(eip::router())
        .merge(evs::router())
        .merge(vpc::router())
        .merge(admin::router())
        .merge(openapi::router())
        .merge(console::router())
}

/// The route `method` `template` names, as the router spells it (a fault
/// scenario's rule on a route must name one; its parameters may be named
/// otherwise): a path made from the template is routed, and the template
/// it matched compared.
pub async fn route_template(state: &AppState, method: &str, template: &str) -> Option<String> {
    use axum::extract::MatchedPath;
    use tower::ServiceExt;
    let method = axum::http::Method::from_bytes(method.as_bytes()).ok()?;
    let shape = |t: &str| -> Vec<String> {
        t.split('/').map(|s| if s.starts_with('{') { "{}".to_string() } else { s.to_string() }).collect()
    };
    let path = shape(template).join("/").replace("{}", "ecsd-probe");
    // No handler runs: a method the route serves is answered here; a
    // method no handler has (asked second) reaches the 405 and its `Allow`.
    let probe_method = axum::http::Method::from_bytes(b"ECSDPROBE").expect("a token");
    let probe = routes(state)
        .route_layer(axum::middleware::from_fn(|matched: MatchedPath, req: Request, next: axum::middleware::Next| {
            let probing = req.method().as_str() == "ECSDPROBE";
            async move {
                let mut response = if probing { next.run(req).await } else { "".into_response() };
                if let Ok(value) = axum::http::HeaderValue::from_str(matched.as_str()) {
                    response.headers_mut().insert("x-ecsd-matched", value);
                }
                response
            }
        }))
        .with_state(state.clone());
    let ask = |method: axum::http::Method| {
        let probe = probe.clone();
        let path = path.clone();
        async move {
            let request = Request::builder().method(method).uri(path).body(axum::body::Body::empty()).ok()?;
            match probe.oneshot(request).await {
                Ok(response) => Some(response),
                Err(never) => match never {},
            }
        }
    };
    let answer = ask(method.clone()).await?;
    let matched = answer.headers().get("x-ecsd-matched")?.to_str().ok()?.to_string();
    if shape(&matched) != shape(template) {
        return None;
    }
    // Where the layer wraps the route's 405 too (a nested router's), its
    // `Allow` must name the method.
    let refused = ask(probe_method).await?;
    if refused.headers().contains_key("x-ecsd-matched") {
        let allow = refused.headers().get(axum::http::header::ALLOW).and_then(|a| a.to_str().ok()).unwrap_or("");
        if !allow.split(',').any(|m| m.trim().eq_ignore_ascii_case(method.as_str())) {
            return None;
        }
    }
    Some(matched)
}
