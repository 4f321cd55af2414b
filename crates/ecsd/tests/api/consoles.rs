//! Consoles as a noVNC client and Tempest see them: the console URL is a
//! page, its WebSocket speaks RFB (a simulated guest has a VNC server of
//! its own), a bad token is refused and the connection closed, and the
//! console output's `length` counts lines as Nova does.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::{Session, TestServer, both};

async fn boot(s: &Session<'_>, name: &str) -> String {
    s.boot_on_network(name).await
}

/// A server with its VNC console proxy listening.
async fn start_with_proxy() -> TestServer {
    TestServer::start_serving(ecs_test_utils::sqlite(), |c| {
        c.vnc_proxy_listen = Some("127.0.0.1:0".parse().unwrap());
        // Console URLs point at this proxy.
        c.novncproxy_base_url_given = false;
    })
    .await
}

/// `remote-consoles`' URL: `http://PROXY/vnc_auto.html?path=%3Ftoken%3DTOKEN`,
/// as (the URL, the proxy's address, the token).
async fn console_url(s: &Session<'_>, id: &str) -> (String, String, String) {
    let body = json!({"remote_console": {"protocol": "vnc", "type": "novnc"}});
    let r = s.post(&format!("/v2.1/servers/{id}/remote-consoles"), Some("2.6"), &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let url = r.body["remote_console"]["url"].as_str().unwrap().to_string();
    let (page, path) = url.split_once("?path=").unwrap();
    assert!(page.ends_with("/vnc_auto.html"), "{url}");
    let proxy = page.trim_start_matches("http://").split('/').next().unwrap().to_string();
    let token = path.strip_prefix("%3Ftoken%3D").unwrap().to_string();
    (url, proxy, token)
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next binary frame, within a few seconds.
async fn frame(ws: &mut Ws) -> Vec<u8> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame in time")
            .expect("the socket is open")
            .expect("a frame");
        match message {
            Message::Binary(bytes) => return bytes.to_vec(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a binary frame, got {other:?}"),
        }
    }
}

async fn send(ws: &mut Ws, bytes: &[u8]) {
    ws.send(Message::Binary(bytes.to_vec().into())).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_url_is_a_novnc_page_whose_websocket_speaks_rfb() {
    let server = start_with_proxy().await;
    let demo = server.demo().await;
    let id = boot(&demo, "console-1").await;
    let (url, proxy, token) = console_url(&demo, &id).await;

    // The page, at each of noVNC's page names.
    let page = reqwest::get(&url).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    for part in ["<html", "</html>", "noVNC", "<script", "core/rfb.js"] {
        assert!(html.contains(part), "{part} missing from {html}");
    }
    for name in ["vnc_lite.html", "vnc.html"] {
        assert_eq!(reqwest::get(format!("http://{proxy}/{name}")).await.unwrap().status(), 200, "{name}");
    }
    let post = reqwest::Client::new().post(&url).send().await.unwrap();
    assert_eq!((post.status().as_u16(), post.headers()["allow"].to_str().unwrap()), (405, "GET, HEAD"));
    // noVNC's client, vendored, beside the page (as in nova-novncproxy).
    let rfb = reqwest::get(format!("http://{proxy}/core/rfb.js")).await.unwrap();
    assert_eq!(rfb.status(), 200);
    assert!(rfb.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert_eq!(reqwest::get(format!("http://{proxy}/core/no-such.js")).await.unwrap().status(), 404);
    assert_eq!(reqwest::get(format!("http://{proxy}/?token={token}")).await.unwrap().status(), 404);

    // The WebSocket, as noVNC opens it: each RFB 3.8 message in a frame.
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{proxy}/?token={token}")).await.unwrap();
    assert_eq!(frame(&mut ws).await, b"RFB 003.008\n");
    send(&mut ws, b"RFB 003.008\n").await;
    assert_eq!(frame(&mut ws).await, [1, 1], "one security type: None");
    send(&mut ws, &[1]).await;
    assert_eq!(frame(&mut ws).await, [0, 0, 0, 0], "security passed");
    send(&mut ws, &[1]).await;
    let init = frame(&mut ws).await;
    assert_eq!(&init[..4], &[4, 0, 3, 0], "1024x768");
    assert_eq!(init[4], 32, "32 bits per pixel");
    assert_eq!(u32::from_be_bytes(init[20..24].try_into().unwrap()) as usize, init.len() - 24);
    assert_eq!(&init[24..], b"console-1", "the desktop is named after the server");
    // A full update of the screen in RRE: one blank rectangle.
    send(&mut ws, &[2, 0, 0, 1, 0, 0, 0, 2]).await;
    send(&mut ws, &[3, 0, 0, 0, 0, 0, 4, 0, 3, 0]).await;
    let update = frame(&mut ws).await;
    assert_eq!(update, [0, 0, 0, 1, 0, 0, 0, 0, 4, 0, 3, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]);

    // The page's own URL opens the WebSocket too.
    let at_page = url.replace("http://", "ws://");
    let (mut second, _) = tokio_tungstenite::connect_async(at_page).await.unwrap();
    assert_eq!(frame(&mut second).await, b"RFB 003.008\n");

    // And so does noVNC's older way: the token in a cookie.
    let mut request = format!("ws://{proxy}/websockify").into_client_request().unwrap();
    request.headers_mut().insert("cookie", format!("lang=en; token={token}").parse().unwrap());
    let (mut third, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(frame(&mut third).await, b"RFB 003.008\n");

    // The console goes with the server.
    assert_eq!(demo.delete(&format!("/v2.1/servers/{id}"), None).await.status, 204);
    demo.wait_server(&id, |r| r.status == 404).await;
    let end = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("the session ends");
    assert!(matches!(end, None | Some(Ok(Message::Close(_))) | Some(Err(_))), "{end:?}");
    server.stop().await;
}

/// A WebSocket upgrade with a bad token is answered 403 with no body and
/// the connection closed: a client reading frames next sees the end
/// (Tempest's `test_novnc_bad_token` hung on a kept-alive connection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_is_refused_and_the_connection_closed() {
    let server = start_with_proxy().await;
    let demo = server.demo().await;
    let id = boot(&demo, "console-2").await;
    let (_, proxy, token) = console_url(&demo, &id).await;
    for path in [format!("/?token=bad{token}"), "/?token=".into(), "/vnc_auto.html?path=%3Ftoken%3Dbad".into()] {
        let mut tcp = tokio::net::TcpStream::connect(&proxy).await.unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {proxy}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: binary\r\n\r\n"
        );
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut response))
            .await
            .unwrap_or_else(|_| panic!("{path}: the proxy kept the connection open"))
            .unwrap();
        let response = String::from_utf8(response).unwrap();
        assert!(response.starts_with("HTTP/1.1 403"), "{path}: {response}");
        assert!(response.ends_with("\r\n\r\n"), "{path}: no body to be read as frames: {response:?}");
    }
    server.stop().await;
}

async fn output(s: &Session<'_>, id: &str, length: Value) -> String {
    let r =
        s.post(&format!("/v2.1/servers/{id}/action"), None, &json!({"os-getConsoleOutput": {"length": length}})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["output"].as_str().unwrap().to_string()
}

/// `length` is the number of pieces between newlines at the log's end, as
/// Nova cuts it: the final newline's empty piece is one of them.
async fn console_output_length_counts_as_nova(server: &TestServer) {
    let demo = server.demo().await;
    let id = boot(&demo, "console-3").await;
    let full = output(&demo, &id, Value::Null).await;
    assert!(full.ends_with('\n') && full.lines().count() > 3, "{full}");
    let three = output(&demo, &id, json!(3)).await;
    assert_eq!(three.split('\n').count(), 3, "{three:?}");
    assert!(full.ends_with(&three), "the tail is the end of the log");
    assert_eq!(output(&demo, &id, json!("3")).await, three);
    assert_eq!(output(&demo, &id, json!(0)).await, "");
    assert_eq!(output(&demo, &id, json!(-1)).await, full);
}
both!(console_output_length_counts_as_nova);
