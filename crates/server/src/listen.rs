//! Accepting connections with bounds (R60): at most `max` open at once (a full house is
//! logged, and the next connection waits for one to close), a request head must arrive
//! within `header_read_timeout_seconds` and its body within `body_read_timeout_seconds`
//! (slowloris, and its slow-body variant), a connection with no traffic for
//! `idle_timeout_seconds` is closed, and a shutdown drains in-flight requests for at most
//! `shutdown_grace_seconds` — a client that sent half a request line cannot hold it open.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::ConnectInfo;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// The bounds, from the configuration's `[connections]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionLimits {
    /// Connections open at once.
    pub max: usize,
    /// Seconds a client has to send a request's head.
    pub header_read_timeout_seconds: u64,
    /// Seconds a client has to send a request's body, once its head arrived (a body sent a
    /// byte a minute would otherwise hold its connection forever).
    pub body_read_timeout_seconds: u64,
    /// Seconds a connection may carry nothing before it is closed.
    pub idle_timeout_seconds: u64,
    /// Seconds a shutdown waits for requests in flight.
    pub shutdown_grace_seconds: u64,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max: 1024,
            header_read_timeout_seconds: 10,
            body_read_timeout_seconds: 30,
            idle_timeout_seconds: 60,
            shutdown_grace_seconds: 10,
        }
    }
}

/// A TCP stream that fails once nothing has been read or written for `idle`.
struct Idle {
    io: TcpStream,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl Idle {
    fn new(io: TcpStream, idle: Duration) -> Self {
        Idle {
            io,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
        }
    }

    fn progressed(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + self.idle);
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

fn timed_out() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::TimedOut, "connection idle")
}

impl AsyncRead for Idle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.progressed();
                }
                Poll::Ready(r)
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for Idle {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match Pin::new(&mut self.io).poll_write(cx, data) {
            Poll::Ready(Ok(n)) => {
                self.progressed();
                Poll::Ready(Ok(n))
            }
            Poll::Ready(e) => Poll::Ready(e),
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A connection's byte stream: plain TCP or TLS over it.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Serves `app` on `listener` within `limits` until `shutdown` resolves, then drains. With
/// `tls`, every connection is a TLS one; its handshake must end within the request-head
/// timeout.
pub async fn run(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    tls: Option<Arc<crate::tls::Tls>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    let mut last_full: Option<Instant> = None;
    let mut last_accept_error: Option<Instant> = None;
    loop {
        let slot = match slots.clone().try_acquire_owned() {
            Ok(s) => s,
            Err(_) => {
                if last_full.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                    last_full = Some(Instant::now());
                    tracing::warn!(max = limits.max, "the connection limit is reached: new connections wait until one closes (connections.max)");
                }
                tokio::select! {
                    s = slots.clone().acquire_owned() => match s { Ok(s) => s, Err(_) => break },
                    () = &mut shutdown => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionAborted => continue,
                Err(e) => {
                    // Out of descriptors, say: log it (once a minute), let connections close,
                    // try again.
                    if last_accept_error.is_none_or(|t: Instant| t.elapsed() > Duration::from_secs(60)) {
                        last_accept_error = Some(Instant::now());
                        tracing::error!(error = %e, "accepting a connection failed; retrying");
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(
            app.clone()
                .layer(axum::Extension(ConnectInfo::<SocketAddr>(peer)))
                .map_request(|req: axum::http::Request<hyper::body::Incoming>| {
                    req.map(axum::body::Body::new)
                }),
        );
        let (mut stop, done) = (stop_rx.clone(), done_rx.clone());
        let acceptor = tls.as_ref().map(|t| t.acceptor());
        tokio::spawn(async move {
            let head = Duration::from_secs(limits.header_read_timeout_seconds);
            let mut builder = http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(head);
            let idle = Idle::new(stream, Duration::from_secs(limits.idle_timeout_seconds));
            let io: Box<dyn Io> = match acceptor {
                None => Box::new(idle),
                Some(a) => match tokio::time::timeout(head, a.accept(idle)).await {
                    Ok(Ok(s)) => Box::new(s),
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        drop((slot, done));
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake did not end in time");
                        drop((slot, done));
                        return;
                    }
                },
            };
            let io = TokioIo::new(io);
            let mut conn = pin!(builder.serve_connection(io, service).with_upgrades());
            loop {
                tokio::select! {
                    r = conn.as_mut() => {
                        if let Err(e) = r {
                            tracing::debug!(%peer, error = %e, "connection ended");
                        }
                        break;
                    }
                    changed = stop.changed() => {
                        conn.as_mut().graceful_shutdown();
                        if changed.is_err() { break; }
                    }
                }
            }
            drop((slot, done));
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(done_rx);
    let grace = Duration::from_secs(limits.shutdown_grace_seconds);
    if tokio::time::timeout(grace, done_tx.closed()).await.is_err() {
        tracing::warn!(
            seconds = limits.shutdown_grace_seconds,
            "shutdown: requests still in flight after the grace period are cut off"
        );
    }
    Ok(())
}

/// A request body that must end by a deadline set when its head arrived: a body trickled a
/// byte at a time (each byte resetting any per-read timeout) still ends. It also tells
/// whether it was read to its end ([`BodyDeadline::read_to_end`]).
pub struct BodyDeadline {
    inner: axum::body::Body,
    deadline: Pin<Box<Sleep>>,
    ended: Arc<std::sync::atomic::AtomicBool>,
}

impl BodyDeadline {
    /// `inner`, to end within `within`.
    pub fn new(inner: axum::body::Body, within: Duration) -> Self {
        let ended = hyper::body::Body::is_end_stream(&inner);
        BodyDeadline {
            inner,
            deadline: Box::pin(tokio::time::sleep(within)),
            ended: Arc::new(std::sync::atomic::AtomicBool::new(ended)),
        }
    }

    /// Whether the body has been read to its end (or had none), readable after the body
    /// itself is gone.
    pub fn read_to_end(&self) -> Arc<std::sync::atomic::AtomicBool> {
        Arc::clone(&self.ended)
    }
}

impl hyper::body::Body for BodyDeadline {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(axum::Error::new(
                "the request body did not arrive in time",
            ))));
        }
        let frame = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(frame, Poll::Ready(None)) || hyper::body::Body::is_end_stream(&self.inner) {
            self.ended.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        hyper::body::Body::is_end_stream(&self.inner)
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::Body::size_hint(&self.inner)
    }
}

/// The request body under its deadline; an answer given before the body was read to its
/// end (a refusal that needed none of it) says `Connection: close`, since the unread rest
/// stands between this answer and the connection's next request — a client that reused the
/// connection would see it reset.
pub async fn body_deadline(
    within: Duration,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut ended = None;
    let req = req.map(|b| {
        let body = BodyDeadline::new(b, within);
        ended = Some(body.read_to_end());
        axum::body::Body::new(body)
    });
    let mut res = next.run(req).await;
    if ended.is_some_and(|e| !e.load(std::sync::atomic::Ordering::Relaxed)) {
        res.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    res
}
