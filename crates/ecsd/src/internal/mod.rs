//! The internal API between API nodes and agents (`ecsd agent`, one per
//! compute host): HTTP/2 with prior knowledge and JSON, on listeners of
//! its own, every request authenticated by a shared service secret. User
//! tokens mean nothing here; agents hold no database credentials.
//!
//! - An API node serves `POST /internal/v1/hosts/{name}/heartbeat`
//!   ([`control`]): an agent registers its host and reports its capacity.
//! - An agent serves `POST /internal/v1/hypervisor/{method}` ([`agent`]):
//!   a hypervisor call run on its local driver, refused when its fence
//!   (`x-ecsd-fence`) is older than one already acted on for that guest.
//! - [`remote::RemoteHypervisor`] is the API nodes' driver of an agent's host.

pub mod agent;
pub mod control;
pub mod remote;
pub mod wire;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

/// The header that carries a call's fence (`seq:token`).
pub const FENCE_HEADER: &str = "x-ecsd-fence";
/// The header that carries when the caller gives up (Unix milliseconds):
/// an agent that gets the request later (it was stopped, or cut off)
/// does not act on it, since its caller has moved on.
pub const DEADLINE_HEADER: &str = "x-ecsd-deadline";

/// The shared service secret.
#[derive(Clone)]
pub struct Secret(std::sync::Arc<str>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The shortest secret accepted: guessing it must be hopeless.
pub const MIN_SECRET_LEN: usize = 16;

impl Secret {
    pub fn new(secret: &str) -> anyhow::Result<Secret> {
        if secret.len() < MIN_SECRET_LEN {
            anyhow::bail!("the internal secret must be at least {MIN_SECRET_LEN} characters long");
        }
        if secret.chars().any(|c| c.is_control() || c.is_whitespace()) {
            anyhow::bail!("the internal secret must not contain spaces or control characters");
        }
        Ok(Secret(secret.into()))
    }

    /// The `Authorization` header value that carries it.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }

    /// Whether a request's `Authorization` header carries the secret,
    /// compared in constant time.
    pub fn admits(&self, authorization: Option<&[u8]>) -> bool {
        use subtle::ConstantTimeEq;
        let Some(given) = authorization.and_then(|a| a.strip_prefix(b"Bearer ")) else { return false };
        // Lengths differ: unequal, and the length is no secret worth keeping.
        given.ct_eq(self.0.as_bytes()).into()
    }
}

/// Refuses every request without the secret (401), before any handler.
async fn require_secret(State(secret): State<Secret>, request: Request, next: Next) -> Response {
    let given = request.headers().get(header::AUTHORIZATION).map(|v| v.as_bytes());
    if !secret.admits(given) {
        let body = wire::Reply::Error(wire::WireError::BadRequest { message: "unauthorized".into() });
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    next.run(request).await
}

/// `router` behind the secret.
pub fn authenticated(router: Router, secret: Secret) -> Router {
    router.layer(axum::middleware::from_fn_with_state(secret, require_secret))
}

/// Serves `router` over HTTP/2 with prior knowledge (no HTTP/1.1, no
/// TLS: a private network between the control plane and the hosts)
/// until `stop` turns true.
pub async fn serve(listener: TcpListener, router: Router, mut stop: watch::Receiver<bool>) -> std::io::Result<()> {
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "internal API: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return Ok(());
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let mut stopped = stop.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                router.clone().oneshot(request.map(axum::body::Body::new))
            });
            let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
            builder
                .timer(TokioTimer::new())
                .keep_alive_interval(Some(Duration::from_secs(10)))
                .keep_alive_timeout(Duration::from_secs(20));
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let stopping = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            tokio::select! {
                done = connection.as_mut() => {
                    if let Err(e) = done {
                        tracing::debug!(error = %e, "internal API connection ended");
                    }
                    return;
                }
                () = stopping => {}
            }
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        });
    }
}

/// An HTTP/2 (prior knowledge) client for the internal API.
pub fn client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .http2_prior_knowledge()
        .connect_timeout(Duration::from_secs(3).min(timeout))
        .http2_keep_alive_interval(Duration::from_secs(10))
        .http2_keep_alive_timeout(Duration::from_secs(20))
        .http2_keep_alive_while_idle(true)
        .build()?)
}

/// The host part of a URL (`http://host:port/…` → `host`).
pub fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    (!host.is_empty()).then_some(host)
}

/// Where a listener bound to `addr` is reached: loopback for a wildcard.
pub fn reachable_url(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() { format!("http://127.0.0.1:{}", addr.port()) } else { format!("http://{addr}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_must_match_exactly() {
        assert!(Secret::new("short").is_err());
        assert!(Secret::new("sixteen chars ok").is_err(), "spaces are refused");
        let s = Secret::new("0123456789abcdef").unwrap();
        assert!(s.admits(Some(b"Bearer 0123456789abcdef")));
        for bad in [&b"Bearer 0123456789abcdeF"[..], b"Bearer 0123456789abcde", b"0123456789abcdef", b"Bearer ", b""] {
            assert!(!s.admits(Some(bad)), "{:?}", String::from_utf8_lossy(bad));
        }
        assert!(!s.admits(None));
        assert_eq!(format!("{s:?}"), "Secret(***)");
    }

    #[test]
    fn url_hosts() {
        assert_eq!(url_host("http://10.0.0.2:9000"), Some("10.0.0.2"));
        assert_eq!(url_host("http://h1.example:9000/x"), Some("h1.example"));
        assert_eq!(url_host("http://[::1]:9000"), Some("::1"));
        assert_eq!(url_host("http://h1"), Some("h1"));
        assert_eq!(url_host("http://"), None);
    }
}
