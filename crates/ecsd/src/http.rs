//! ecsd's HTTP/1.1 accept loop: hyper serving the API with the limits a
//! server facing untrusted clients needs, which `axum::serve` lacks.
//!
//! - A connection's requests are timed by phase: its first request head
//!   must arrive within [`HttpLimits::header_timeout`] of the accept; after
//!   each response the connection may wait [`HttpLimits::idle_timeout`] for
//!   the next request's first byte, and that head then has
//!   `header_timeout` to arrive whole. [`Deadlines`] enforces both on the
//!   socket's reads. (hyper's own `header_read_timeout` restarts when a
//!   kept-alive connection goes idle, so it cannot tell an idle client from
//!   a slow one.)
//! - A request body must arrive whole within [`HttpLimits::body_timeout`]
//!   of its head ([`TimedBody`]); the handler then answers 408 in its
//!   dialect's format (`ecs_api::body`).
//! - At most [`HttpLimits::max_connections`] connections are served at
//!   once; further ones wait in the listen backlog, as nginx and Apache
//!   make them wait, rather than being refused.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// How long clients may take, and how many are served at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpLimits {
    /// A request head (request line and headers) must arrive whole within
    /// this, counted from the accept or from the head's first byte.
    pub header_timeout: Duration,
    /// A kept-alive connection with no request in flight is closed after this.
    pub idle_timeout: Duration,
    /// A request body must arrive whole within this, counted from its head.
    pub body_timeout: Duration,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: u32,
}

impl Default for HttpLimits {
    /// hyper's and Apache's header timeout, nginx's keep-alive timeout, a
    /// body deadline that still lets the largest body (a 12 MB signed
    /// request) arrive at 200 KB/s, and a connection cap well above what
    /// one API server meets (the process's open-file limit is raised to
    /// match).
    fn default() -> Self {
        HttpLimits {
            header_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(75),
            body_timeout: Duration::from_secs(60),
            max_connections: 4096,
        }
    }
}

/// The API as a tower service, as `ecs_api::service` builds it.
pub trait ApiService:
    tower::Service<Request, Response = Response, Error = Infallible, Future: Send> + Clone + Send + 'static
{
}

impl<S> ApiService for S where
    S: tower::Service<Request, Response = Response, Error = Infallible, Future: Send> + Clone + Send + 'static
{
}

/// Serves `service` on `listener` until `stop` turns true, then stops
/// accepting, lets requests in flight finish, closes idle connections and
/// returns once every connection is closed.
pub async fn serve(
    listener: TcpListener,
    service: impl ApiService,
    limits: HttpLimits,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let limits = Arc::new(limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections as usize));
    loop {
        // Take a slot before accepting: beyond the cap, connections wait in
        // the kernel's accept queue.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = stopped(&mut stop) => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let service = service.clone();
        let limits = limits.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            serve_connection(stream, service, &limits, stop).await;
            drop(slot);
        });
    }
    drop(listener);
    // Every slot back: every connection has closed.
    let _ = slots.acquire_many(limits.max_connections).await;
    Ok(())
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    // A dropped sender stops the server too.
    let _ = stop.wait_for(|s| *s).await;
}

/// A connection that failed before it was accepted concerns only its
/// client; anything else (out of file descriptors) is worth a pause.
async fn accept_failed(e: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

async fn serve_connection(
    stream: TcpStream,
    service: impl ApiService,
    limits: &HttpLimits,
    mut stop: watch::Receiver<bool>,
) {
    // Responses are written whole; waiting for an ACK before the next one
    // only adds latency on kept-alive connections.
    let _ = stream.set_nodelay(true);
    let phase = Arc::new(Phase::default());
    let requests = phase.clone();
    let io = TokioIo::new(Deadlines::new(stream, phase.clone(), limits));
    let body_timeout = limits.body_timeout;
    let handler = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let in_flight = InFlight::begin(phase.clone());
        phase.body_read.store(http_body::Body::is_end_stream(req.body()), Ordering::Release);
        let deadline = Instant::now() + body_timeout;
        let body_phase = phase.clone();
        let req = req.map(|body| Body::new(TimedBody { body, deadline, sleep: None, phase: body_phase }));
        let service = service.clone();
        let phase = phase.clone();
        async move {
            let mut response = service.oneshot(req).await?;
            if !phase.body_read.load(Ordering::Acquire) {
                // A body refused or broken off is not read to its end, so
                // the connection cannot carry another request: say so, or
                // a client would reuse it while it closes.
                response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok::<_, Infallible>(response.map(|body| Tracked { body, _in_flight: in_flight }))
        }
    });
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, handler);
    tokio::pin!(conn);
    let served = tokio::select! {
        served = conn.as_mut() => served,
        () = stopped(&mut stop) => {
            if !in_flight(&requests) {
                // Idle, or still sending a head: nothing to finish.
                return;
            }
            // Finishes the request in flight, then closes.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = served {
        tracing::debug!(error = %e, "connection ended");
    }
}

/// A connection's phase, shared by its requests and its socket: `count`
/// is even while the connection waits for a request, odd while one is in
/// flight; each request adds 2.
#[derive(Default)]
struct Phase {
    count: AtomicU64,
    /// The connection task, to wake when a response is done: hyper does not
    /// read again by itself, and the idle deadline is armed and polled by
    /// that read.
    reader: Mutex<Option<Waker>>,
    /// Whether the request in flight has had its body read to the end.
    body_read: AtomicBool,
}

fn in_flight(phase: &Phase) -> bool {
    phase.count.load(Ordering::Acquire) % 2 == 1
}

/// A request in flight, until its response is written (or abandoned).
struct InFlight(Arc<Phase>);

impl InFlight {
    fn begin(phase: Arc<Phase>) -> InFlight {
        phase.count.fetch_add(1, Ordering::Release);
        InFlight(phase)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.count.fetch_add(1, Ordering::Release);
        if let Some(reader) = self.0.reader.lock().expect("never poisoned").as_ref() {
            reader.wake_by_ref();
        }
    }
}

/// A connection's socket, failing its reads once the client has taken too
/// long to start or finish a request head. hyper reads whenever it waits
/// for a head, so the deadline is polled exactly while it matters; while a
/// request is in flight reads are not timed here (the body has its own
/// deadline, and a handler may take its time).
struct Deadlines<IO> {
    io: IO,
    phase: Arc<Phase>,
    /// The phase the deadline was set for.
    seen: u64,
    head_started: bool,
    /// Closing: draining the client's input ([`AsyncWrite::poll_shutdown`]).
    lingering: bool,
    deadline: Pin<Box<Sleep>>,
    header_timeout: Duration,
    idle_timeout: Duration,
}

impl<IO> Deadlines<IO> {
    fn new(io: IO, phase: Arc<Phase>, limits: &HttpLimits) -> Self {
        Deadlines {
            io,
            phase,
            seen: 0,
            // The first head is timed from the accept.
            head_started: true,
            lingering: false,
            deadline: Box::pin(tokio::time::sleep(limits.header_timeout)),
            header_timeout: limits.header_timeout,
            idle_timeout: limits.idle_timeout,
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Deadlines<IO> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let phase = this.phase.count.load(Ordering::Acquire);
        if phase % 2 == 1 {
            // In flight.
            return Pin::new(&mut this.io).poll_read(cx, buf);
        }
        {
            let mut reader = this.phase.reader.lock().expect("never poisoned");
            if !reader.as_ref().is_some_and(|r| r.will_wake(cx.waker())) {
                *reader = Some(cx.waker().clone());
            }
        }
        if phase != this.seen {
            // A response is done: the connection idles until the next head starts.
            this.seen = phase;
            this.head_started = false;
            this.deadline.as_mut().reset(Instant::now() + this.idle_timeout);
        }
        if this.deadline.is_elapsed() {
            return Poll::Ready(Err(timed_out(this.head_started)));
        }
        let filled = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if !this.head_started && buf.filled().len() > filled {
                    this.head_started = true;
                    this.deadline.as_mut().reset(Instant::now() + this.header_timeout);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                ready!(this.deadline.as_mut().poll(cx));
                Poll::Ready(Err(timed_out(this.head_started)))
            }
            failed => failed,
        }
    }
}

fn timed_out(head_started: bool) -> io::Error {
    let what = if head_started { "request head not received in time" } else { "idle connection" };
    io::Error::new(io::ErrorKind::TimedOut, what)
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Deadlines<IO> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    /// Closes in two steps, as nginx and Apache do ("lingering close"):
    /// sends FIN, then reads and discards what the client still sends
    /// until it closes too, for at most [`LINGER`]. Closing at once with
    /// unread input (a body refused before it was read: 413, 415) makes
    /// the kernel send a reset, which can destroy the answer before the
    /// client reads it.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(Pin::new(&mut this.io).poll_shutdown(cx))?;
        if !this.lingering {
            this.lingering = true;
            this.deadline.as_mut().reset(Instant::now() + LINGER);
        }
        let mut scratch = [0u8; 4096];
        loop {
            if Instant::now() >= this.deadline.deadline() {
                return Poll::Ready(Ok(()));
            }
            let mut discard = ReadBuf::new(&mut scratch);
            match Pin::new(&mut this.io).poll_read(cx, &mut discard) {
                Poll::Ready(Ok(())) if discard.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(_)) => return Poll::Ready(Ok(())),
                Poll::Pending => {
                    ready!(this.deadline.as_mut().poll(cx));
                    return Poll::Ready(Ok(()));
                }
            }
        }
    }
}

/// How long a closing connection drains what its client still sends.
const LINGER: Duration = Duration::from_secs(2);

/// A request body that fails with [`ecs_api::BodyTimeout`] once its
/// deadline passes. The deadline is total, not between reads: a client
/// trickling a byte every few seconds never trips a between-reads timeout.
struct TimedBody {
    body: Incoming,
    deadline: Instant,
    /// Made at the first wait: most bodies arrive with their head.
    sleep: Option<Pin<Box<Sleep>>>,
    phase: Arc<Phase>,
}

impl http_body::Body for TimedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            let ended = match &frame {
                None => true,
                Some(Ok(_)) => this.body.is_end_stream(),
                Some(Err(_)) => false,
            };
            if ended {
                this.phase.body_read.store(true, Ordering::Release);
            }
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let sleep = this.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        ready!(sleep.as_mut().poll(cx));
        Poll::Ready(Some(Err(ecs_api::BodyTimeout.into())))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A response body that marks its request done when hyper drops it, that
/// is once it is written.
struct Tracked {
    body: Body,
    _in_flight: InFlight,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
