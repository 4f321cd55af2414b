//! Slow, idle and badly framed clients, over raw TCP: header, body and
//! idle timeouts, the connection cap, and bodies that break off or
//! declare more than a route takes (issue 14). Timeouts are short here;
//! every wait is bounded generously (three times the timeout) and no test
//! asserts how soon something happens beyond that.

use std::time::Duration;

use ecsd::HttpLimits;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::TestServer;

const SECOND: Duration = Duration::from_secs(1);

/// A server with the given limits (the defaults where `None`).
async fn start(adjust: impl FnOnce(&mut HttpLimits)) -> TestServer {
    TestServer::start_serving(ecs_test_utils::sqlite(), |c| adjust(&mut c.http)).await
}

/// A raw connection, buffered so that pipelined responses are not lost.
type Conn = BufReader<TcpStream>;

async fn connect(server: &TestServer) -> Conn {
    BufReader::new(TcpStream::connect(server.base.trim_start_matches("http://")).await.expect("connects"))
}

/// A response read off a raw connection.
#[derive(Debug)]
struct Raw {
    status: u16,
    /// The server announced it closes the connection after this response.
    closes: bool,
    body: Value,
}

/// Reads one response (with a Content-Length, as ecsd sends them); `None`
/// if the server closed the connection first.
async fn read_response(conn: &mut Conn) -> Option<Raw> {
    let mut status_line = String::new();
    if conn.read_line(&mut status_line).await.unwrap_or(0) == 0 {
        return None;
    }
    let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    let mut length = None;
    let mut closes = false;
    loop {
        let mut line = String::new();
        assert!(conn.read_line(&mut line).await.expect("a header") > 0, "closed mid-head");
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = Some(value.trim().parse::<usize>().expect("a length"));
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("connection")
        {
            closes |= value.trim().eq_ignore_ascii_case("close");
        }
    }
    let mut body = vec![0u8; length.expect("a Content-Length")];
    conn.read_exact(&mut body).await.expect("the whole body");
    let body = serde_json::from_slice(&body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
    Some(Raw { status, closes, body })
}

/// Whether the server closes the connection within `within` (reading and
/// dropping whatever it sends first).
async fn closed_within(stream: &mut Conn, within: Duration) -> bool {
    let closing = async {
        let mut sink = [0u8; 4096];
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    timeout(within, closing).await.is_ok()
}

const VERSIONS: &[u8] = b"GET /identity/v3 HTTP/1.1\r\nHost: ecsd\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_alive_connection_serves_several_requests() {
    let server = start(|_| {}).await;
    let mut stream = connect(&server).await;
    for _ in 0..3 {
        stream.write_all(VERSIONS).await.unwrap();
        let reply = read_response(&mut stream).await.expect("a response on the same connection");
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert!(!reply.closes);
    }
    // A body read to its end leaves the connection usable.
    let body = br#"{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": "wrong"}}}}}"#;
    let head = format!("{KEYSTONE_AUTH}\r\nContent-Length: {}\r\n\r\n", body.len());
    stream.write_all(&[head.as_bytes(), body].concat()).await.unwrap();
    let reply = read_response(&mut stream).await.expect("a response");
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert!(!reply.closes);
    // Pipelined: both answered, in order.
    stream.write_all(&[VERSIONS, VERSIONS].concat()).await.unwrap();
    for _ in 0..2 {
        assert_eq!(read_response(&mut stream).await.expect("pipelined response").status, 200);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_a_request_head_is_disconnected_after_the_header_timeout() {
    let server = start(|l| l.header_timeout = SECOND).await;
    let mut stream = connect(&server).await;
    stream.write_all(b"GET /identity/v3 HT").await.unwrap();
    assert!(closed_within(&mut stream, 3 * SECOND).await, "a half-sent head holds its connection");

    // A connection that sends nothing at all, too.
    let mut silent = connect(&server).await;
    assert!(closed_within(&mut silent, 3 * SECOND).await, "a silent connection stays open");

    // On a kept-alive connection the next head has the same limit, counted from its first byte.
    let mut stream = connect(&server).await;
    stream.write_all(VERSIONS).await.unwrap();
    assert_eq!(read_response(&mut stream).await.unwrap().status, 200);
    stream.write_all(b"GET /identity/v3 HTTP/1.1\r\nHost:").await.unwrap();
    assert!(closed_within(&mut stream, 3 * SECOND).await, "a second half-sent head holds its connection");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickled_body_is_cut_off_after_the_body_timeout() {
    let server = start(|l| l.body_timeout = SECOND).await;
    let stream = connect(&server).await;
    let (mut reader, mut writer) = stream.into_inner().into_split();
    let body = br#"{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin"}}}}}"#;
    let head = format!(
        "POST /identity/v3/auth/tokens HTTP/1.1\r\nHost: ecsd\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    writer.write_all(head.as_bytes()).await.unwrap();
    let trickle = tokio::spawn(async move {
        for byte in body {
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    // 408 in Keystone's format, then the connection closes.
    let mut answer = Vec::new();
    let read = timeout(3 * SECOND, reader.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "a trickled body holds its connection");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":408"#), "{answer}");
    trickle.abort();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connection_is_closed_after_the_idle_timeout() {
    let server = start(|l| l.idle_timeout = SECOND).await;
    let mut stream = connect(&server).await;
    stream.write_all(VERSIONS).await.unwrap();
    assert_eq!(read_response(&mut stream).await.unwrap().status, 200);
    assert!(closed_within(&mut stream, 3 * SECOND).await, "an idle connection stays open");
    server.stop().await;
}

/// The idle wait is the idle timeout's, not the (shorter) header timeout's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connection_outlives_the_header_timeout() {
    let server = start(|l| {
        l.header_timeout = SECOND;
        l.idle_timeout = 30 * SECOND;
    })
    .await;
    let mut stream = connect(&server).await;
    stream.write_all(VERSIONS).await.unwrap();
    assert_eq!(read_response(&mut stream).await.unwrap().status, 200);
    tokio::time::sleep(3 * SECOND).await;
    stream.write_all(VERSIONS).await.unwrap();
    let reply = read_response(&mut stream).await.expect("the idle connection is still served");
    assert_eq!(reply.status, 200);
    server.stop().await;
}

/// Stopping closes idle and half-sent connections instead of waiting for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_does_not_wait_for_idle_clients() {
    let server = start(|_| {}).await;
    let mut idle = connect(&server).await;
    idle.write_all(VERSIONS).await.unwrap();
    assert_eq!(read_response(&mut idle).await.unwrap().status, 200);
    let mut half = connect(&server).await;
    half.write_all(b"GET /identity/v3 HTTP/1.1\r\nHost:").await.unwrap();
    let silent = connect(&server).await;
    timeout(10 * SECOND, server.stop()).await.expect("stops with idle connections open");
    assert!(closed_within(&mut idle, SECOND).await);
    drop((half, silent));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let server = start(|l| l.max_connections = 2).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(&server).await;
        stream.write_all(VERSIONS).await.unwrap();
        assert_eq!(read_response(&mut stream).await.unwrap().status, 200);
        held.push(stream);
    }
    // The third is queued by the kernel but not served…
    let mut third = connect(&server).await;
    third.write_all(VERSIONS).await.unwrap();
    let early = timeout(SECOND, read_response(&mut third)).await;
    assert!(early.is_err(), "served beyond the cap: {early:?}");
    // …until a held one closes.
    drop(held.pop());
    let reply = timeout(10 * SECOND, read_response(&mut third)).await.expect("served once a slot frees");
    assert_eq!(reply.expect("a response").status, 200);
    drop(held);
    server.stop().await;
}

/// A request to send by hand: `head` without its final blank line.
async fn send_raw(server: &TestServer, head: &str, body: &[u8], half_close: bool) -> Raw {
    let mut stream = connect(server).await;
    stream.write_all(format!("{head}\r\n\r\n").as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    if half_close {
        stream.shutdown().await.unwrap();
    }
    // Well within the body timeout: the answer must not wait for it.
    timeout(5 * SECOND, read_response(&mut stream))
        .await
        .unwrap_or_else(|_| panic!("no answer in time to {head}"))
        .expect("a response")
}

const KEYSTONE_AUTH: &str = "POST /identity/v3/auth/tokens HTTP/1.1\r\nHost: ecsd\r\nContent-Type: application/json";

/// A signed (AK/SK) ECS request: its body is read whole before the
/// signature is checked, so framing is judged before the (junk) signature.
const SIGNED_ECS: &str = "POST /v1/any-project/cloudservers HTTP/1.1\r\nHost: ecsd\r\nContent-Type: application/json\r\n\
    Authorization: SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=00";

fn nova_keypairs(token: &str) -> String {
    format!("POST /v2.1/os-keypairs HTTP/1.1\r\nHost: ecsd\r\nContent-Type: application/json\r\nX-Auth-Token: {token}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_length_over_the_limit_is_refused_at_once() {
    // A body timeout far beyond the answer's bound shows the answer does not wait for the body.
    let server = start(|l| l.body_timeout = 60 * SECOND).await;
    let token = server.admin().await.token;
    for length in ["200000", "1000000000", "9223372036854775807"] {
        let nova =
            send_raw(&server, &format!("{}\r\nContent-Length: {length}", nova_keypairs(&token)), b"{\"k", false).await;
        assert_eq!(nova.status, 413, "Nova, Content-Length {length}: {}", nova.body);
        assert_eq!(nova.body["overLimit"]["code"], 413, "{}", nova.body);
        // The unread body leaves the connection unusable: the client must not reuse it.
        assert!(nova.closes, "{nova:?}");
        let keystone = send_raw(&server, &format!("{KEYSTONE_AUTH}\r\nContent-Length: {length}"), b"{\"a", false).await;
        assert_eq!(keystone.status, 413, "Keystone, Content-Length {length}: {}", keystone.body);
        assert_eq!(keystone.body["error"]["code"], 413, "{}", keystone.body);
    }
    // A signed request takes up to 12 MB.
    for length in ["20000000", "9223372036854775807"] {
        let signed = send_raw(&server, &format!("{SIGNED_ECS}\r\nContent-Length: {length}"), b"{\"a", false).await;
        assert_eq!(signed.status, 413, "signed, Content-Length {length}: {}", signed.body);
    }
    server.stop().await;
}

/// A client that sends its whole body after an early refusal still gets
/// the answer: the server drains the body while closing instead of
/// resetting the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_refusal_reaches_a_client_still_sending() {
    let server = start(|_| {}).await;
    let token = server.admin().await.token;
    let body = vec![b' '; 4 << 20];
    for _ in 0..3 {
        let mut conn = connect(&server).await;
        let head = format!("{}\r\nContent-Length: {}\r\n\r\n", nova_keypairs(&token), body.len());
        conn.write_all(head.as_bytes()).await.unwrap();
        conn.write_all(&body).await.expect("the body is taken (and discarded)");
        let reply = timeout(5 * SECOND, read_response(&mut conn)).await.expect("an answer").expect("a response");
        assert_eq!(reply.status, 413, "{}", reply.body);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_off_body_is_a_bad_request() {
    let server = start(|_| {}).await;
    let token = server.admin().await.token;
    let nova = nova_keypairs(&token);
    for head in [nova.as_str(), KEYSTONE_AUTH, SIGNED_ECS] {
        // Shorter than declared, then the client stops sending.
        let short = send_raw(&server, &format!("{head}\r\nContent-Length: 100"), b"{\"keypair\": {", true).await;
        assert_eq!(short.status, 400, "{head}: {}", short.body);
        assert!(short.body.to_string().contains("incomplete"), "{head}: {}", short.body);
        // A chunk size that is not hexadecimal.
        let chunked =
            send_raw(&server, &format!("{head}\r\nTransfer-Encoding: chunked"), b"zz\r\n{}\r\n0\r\n\r\n", false).await;
        assert_eq!(chunked.status, 400, "{head}: {}", chunked.body);
        assert!(chunked.body.to_string().contains("incomplete"), "{head}: {}", chunked.body);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encoded_body_is_an_unsupported_media_type() {
    let server = start(|_| {}).await;
    let token = server.admin().await.token;
    let body = br#"{"keypair": {"name": "k"}}"#;
    for head in [nova_keypairs(&token), KEYSTONE_AUTH.to_string()] {
        let reply = send_raw(
            &server,
            &format!("{head}\r\nContent-Encoding: gzip\r\nContent-Length: {}", body.len()),
            body,
            false,
        )
        .await;
        assert_eq!(reply.status, 415, "{head}: {}", reply.body);
    }
    server.stop().await;
}
