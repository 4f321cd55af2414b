//! The VNC console proxy (Nova's `nova-novncproxy`): a noVNC client
//! opens a WebSocket at `/?token=<token>` (the URL `remote-consoles`
//! returns names it in its `path`); the token is checked and the socket is
//! joined to the guest's VNC server, which listens on its host's loopback.
//! The noVNC pages themselves are not served: any noVNC (or websockify
//! client) pointed at this address works.

use axum::Router;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::AppState;

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// The proxy's routes: a WebSocket upgrade at any path.
pub fn router(state: AppState) -> Router {
    Router::new().fallback(connect).with_state(state)
}

async fn connect(
    State(state): State<AppState>,
    Query(query): Query<TokenQuery>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(ws) = ws else {
        return (StatusCode::BAD_REQUEST, "a WebSocket connection with ?token= is expected\n").into_response();
    };
    let Some(token) = query.token else {
        return (StatusCode::FORBIDDEN, "no console token\n").into_response();
    };
    let console = match state.core.console_token_open(&token).await {
        Ok(c) => c,
        Err(e) => return (StatusCode::FORBIDDEN, format!("{e}\n")).into_response(),
    };
    let target = format!("{}:{}", console.host, console.port);
    let guest = match TcpStream::connect(&target).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(server = %console.server_id, %target, error = %e, "the guest's VNC server is unreachable");
            return (StatusCode::BAD_GATEWAY, "the console is not reachable\n").into_response();
        }
    };
    tracing::info!(server = %console.server_id, "VNC console opened");
    // noVNC asks for the `binary` subprotocol; newer clients ask for none.
    ws.protocols(["binary"]).on_upgrade(move |socket| relay(socket, guest))
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
