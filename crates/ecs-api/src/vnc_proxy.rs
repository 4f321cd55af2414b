//! The VNC console proxy (Nova's `nova-novncproxy`). The URL
//! `remote-consoles` returns (`…/vnc_auto.html?path=%3Ftoken%3D<token>`)
//! is a page; the page's noVNC opens a WebSocket at `/?token=<token>`
//! (any path, as websockify takes it); the token is checked and the socket
//! is joined to the guest's VNC server, which listens on its host's
//! loopback.

use axum::Router;
use axum::body::Body;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::AppState;

/// The pages nova-novncproxy serves from its noVNC; all three are ours.
const PAGES: [&str; 3] = ["/vnc_auto.html", "/vnc_lite.html", "/vnc.html"];

/// The console page: loads noVNC's `core/rfb.js` from this proxy (the
/// copy vendored for the web console).
const PAGE: &str = include_str!("vnc_console.html");

#[derive(Deserialize)]
struct ConsoleQuery {
    token: Option<String>,
    /// noVNC's convention: the WebSocket's own path and query, `?token=…`.
    path: Option<String>,
}

impl ConsoleQuery {
    /// The token from `?token=` or from inside `?path=`, so that the page's
    /// URL itself also opens the WebSocket.
    fn token(self) -> Option<String> {
        if let Some(token) = self.token.filter(|t| !t.is_empty()) {
            return Some(token);
        }
        let path = self.path?;
        let query = path.split_once('?').map_or(path.as_str(), |(_, q)| q);
        let inner: ConsoleQuery = serde_urlencoded::from_str(query).ok()?;
        inner.token.filter(|t| !t.is_empty())
    }
}

/// The `token` cookie, where noVNC before 1.1 put the token (Nova reads it
/// when the URL has none).
fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == "token" && !value.is_empty())
        .map(|(_, value)| value.to_string())
}

/// The proxy's routes: a WebSocket upgrade at any path, the console page
/// at noVNC's page names.
pub fn router(state: AppState) -> Router {
    Router::new().fallback(serve).with_state(state)
}

async fn serve(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<ConsoleQuery>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match ws {
        Ok(ws) => connect(state, query.token().or_else(|| cookie_token(&headers)), ws).await,
        Err(_) if PAGES.contains(&uri.path()) => match method {
            Method::GET | Method::HEAD => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE).into_response(),
            _ => (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET, HEAD")]).into_response(),
        },
        // noVNC's client, which the page loads from beside it.
        Err(_) if let Some(file) = crate::console::novnc(uri.path(), &method, &headers) => file,
        Err(_) => (StatusCode::NOT_FOUND, "not found: the console is a WebSocket with ?token=\n").into_response(),
    }
}

async fn connect(state: AppState, token: Option<String>, ws: WebSocketUpgrade) -> Response {
    let Some(token) = token else {
        tracing::info!("VNC console refused: no token");
        return refuse(StatusCode::FORBIDDEN);
    };
    let console = match state.core.console_token_open(&token).await {
        Ok(c) => c,
        Err(e) => {
            tracing::info!(error = %e, "VNC console refused");
            return refuse(StatusCode::FORBIDDEN);
        }
    };
    let target = format!("{}:{}", console.host, console.port);
    let guest = match TcpStream::connect(&target).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(server = %console.server_id, %target, error = %e, "the guest's VNC server is unreachable");
            return refuse(StatusCode::BAD_GATEWAY);
        }
    };
    tracing::info!(server = %console.server_id, "VNC console opened");
    // noVNC asks for the `binary` subprotocol; newer clients ask for none.
    ws.protocols(["binary"]).on_upgrade(move |socket| relay(socket, guest))
}

/// A refused upgrade: the status alone, and the connection closed, as
/// websockify drops it. A client that went on to read frames would
/// otherwise wait forever on a kept-alive connection, or read a body as
/// frames.
fn refuse(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
    response
}

/// Copies bytes both ways until either side closes.
async fn relay(mut socket: WebSocket, guest: TcpStream) {
    let (mut from_guest, mut to_guest) = guest.into_split();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        tokio::select! {
            read = from_guest.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if socket.send(Message::Binary(buf[..n].to_vec().into())).await.is_err() {
                        break;
                    }
                }
            },
            message = socket.recv() => match message {
                Some(Ok(Message::Binary(bytes))) => {
                    if to_guest.write_all(&bytes).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Text(text))) => {
                    if to_guest.write_all(text.as_bytes()).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
            },
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}
