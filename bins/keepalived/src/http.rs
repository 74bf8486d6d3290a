//! The opt-in observability endpoint (keepalived-rs extension): `GET /metrics` (Prometheus
//! text), `GET /status` (JSON) and `GET /` (the live status page: one self-contained HTML file,
//! no external assets, that redraws itself from `/status` every second), served by hyper on
//! the parent. Neither `/status` nor the page carries a configured secret: they are built from
//! runtime state, addresses and names, never from `authentication`, SSL or SMTP settings. Off unless
//! `--metrics-listen ADDR` or `global_defs { metrics_listen ADDR }`; a bare port binds
//! 127.0.0.1. Read-only: nothing it answers changes any state.
//!
//! It is built to survive a connection storm without hurting the daemon:
//!
//! - **Who may connect**: only sources in `global_defs { metrics_allow NET... }`, or loopback
//!   sources when that is not set. Others are reset right after `accept`.
//! - **How many at once**: at most [`MAX_CONNECTIONS`] (less under a small `RLIMIT_NOFILE`:
//!   a sixteenth of it), held by a semaphore. When all slots are taken, the oldest connection
//!   not answering a request right now (idle, kept alive, or still sending its headers) is
//!   closed to make room: a storm of idle or slow-loris connections cannot lock a scraper
//!   out (the new connection waits at most [`PERMIT_WAIT`] for the evicted one's slot). When
//!   every slot is answering a request, the new connection is reset at once.
//! - **Load on the workers**: answers share the workers' snapshots. One fetch at a time; a
//!   request waiting for it reuses a snapshot whose fetch began after the request arrived, so
//!   an answer is never older than its request, and a storm of requests costs the workers
//!   one snapshot at a time, not one per request.
//! - **Descriptors**: besides the cap, a connection whose descriptor number is within a
//!   quarter of `RLIMIT_NOFILE` of the limit is reset at once (the kernel hands out the lowest
//!   free number, so a high number means that many descriptors are open); `EMFILE`/`ENFILE`
//!   from `accept` pause accepting for [`ACCEPT_PAUSE`] instead of spinning.
//! - **Per connection**: request headers within [`HEADER_TIMEOUT`] (the idle time between
//!   keep-alive requests too) and [`MAX_HEADER_BYTES`]; buffers at most [`MAX_BUF_BYTES`]; the
//!   whole connection within [`CONNECTION_LIFETIME`].
//! - **Counters**: `keepalived_http_*` in `/metrics` (and `http` in `/status`); refusals are
//!   logged at most once per [`REFUSAL_LOG_EVERY`], as a summary.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use crate::metrics::{render, HttpMetrics, Status, WorkerMetrics};
use crate::supervisor::SharedRef;
use crate::{cli, error, info, warning};

/// Most connections served at once.
pub const MAX_CONNECTIONS: usize = 64;
/// Time allowed for a request's headers, counted from the end of the previous response on a
/// kept-alive connection.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest a connection is kept, whatever it does.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(30);
/// Largest request head (request line and headers); larger gets 431.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;
/// Largest read or write buffer of a connection (hyper's minimum is 8 KiB).
pub const MAX_BUF_BYTES: usize = 16 * 1024;
/// How long a new connection may wait for a slot when every slot is serving a request.
pub const PERMIT_WAIT: Duration = Duration::from_millis(200);
/// Pause after `accept` failed for want of descriptors or memory.
pub const ACCEPT_PAUSE: Duration = Duration::from_millis(100);
/// Refusals are summarised in the log at most this often.
pub const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);
const BACKLOG: u32 = 128;

/// `ADDR` as given: `IP:PORT`, `[IPv6]:PORT`, or `PORT` (loopback).
pub fn parse_listen(s: &str) -> Option<SocketAddr> {
    conf_parse::parse_metrics_listen(s)
}

/// The source networks allowed to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    nets: Vec<(IpAddr, u8)>,
}

impl Access {
    /// From `metrics_allow` (network address, prefix length); empty means loopback only.
    pub fn new(configured: &[(IpAddr, u8)]) -> Access {
        let nets = if configured.is_empty() {
            vec![
                (IpAddr::from([127, 0, 0, 0]), 8),
                (IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]), 128),
            ]
        } else {
            configured.to_vec()
        };
        Access { nets }
    }

    /// Whether a client at `ip` may connect (an IPv4-mapped IPv6 source counts as IPv4).
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.nets.iter().any(|&(net, len)| in_net(ip, net, len))
    }

    /// The networks, as `ADDR/LEN` words.
    pub fn describe(&self) -> String {
        let w: Vec<String> = self.nets.iter().map(|(a, l)| format!("{a}/{l}")).collect();
        w.join(" ")
    }
}

fn in_net(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(len.min(128)))
                .unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// The connection cap and descriptor ceiling for a given `RLIMIT_NOFILE` soft limit.
pub fn limits(nofile: u64) -> (usize, u64) {
    let cap = usize::try_from(nofile / 16)
        .unwrap_or(MAX_CONNECTIONS)
        .clamp(1, MAX_CONNECTIONS);
    let ceiling = nofile - (nofile / 4).max(16).min(nofile);
    (cap, ceiling)
}

/// The soft `RLIMIT_NOFILE` of this process (from /proc/self/limits; 1024 if unreadable).
fn nofile_soft() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3).map(str::to_string))
        })
        .and_then(|w| w.parse::<u64>().ok())
        .unwrap_or(1024)
}

/// One served connection, as the eviction list sees it.
struct Conn {
    id: u64,
    /// A request is being answered: from its complete head to the end of its response body
    /// (not evicted meanwhile).
    busy: AtomicBool,
    kill: Notify,
}

/// Marks its connection busy while alive; it travels inside the response body, which hyper
/// drops when the body has been written.
struct Busy(Arc<Conn>);

impl Busy {
    fn new(conn: &Arc<Conn>) -> Busy {
        conn.busy.store(true, Ordering::Relaxed);
        Busy(conn.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.store(false, Ordering::Relaxed);
    }
}

/// A response body that keeps its connection [`Busy`].
struct Body {
    inner: Full<Bytes>,
    _busy: Busy,
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

struct Server {
    shared: SharedRef,
    access: Access,
    slots: Arc<Semaphore>,
    fd_ceiling: u64,
    conns: Mutex<VecDeque<Arc<Conn>>>,
    stats: Mutex<HttpMetrics>,
    refusal_log: Mutex<(Instant, BTreeMap<&'static str, u64>)>,
    builder: http1::Builder,
    /// The last worker snapshots and when their fetch began.
    snapshots: tokio::sync::Mutex<Option<(Instant, Snapshots)>>,
    /// A connection was refused or evicted since the last time every connection closed:
    /// once the burst is over, the pages it touched are dropped again (`netplat::mem`).
    overloaded: AtomicBool,
}

type Snapshots = BTreeMap<String, WorkerMetrics>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Server {
    /// Reset `stream` (RST, no TIME_WAIT) and count it.
    fn refuse(&self, stream: tokio::net::TcpStream, reason: &'static str) {
        let _ = nix::sys::socket::setsockopt(
            &stream,
            nix::sys::socket::sockopt::Linger,
            &libc::linger {
                l_onoff: 1,
                l_linger: 0,
            },
        );
        drop(stream);
        self.overloaded.store(true, Ordering::Relaxed);
        *lock(&self.stats).refused.entry(reason.into()).or_default() += 1;
        let mut log = lock(&self.refusal_log);
        *log.1.entry(reason).or_default() += 1;
        if log.0.elapsed() >= REFUSAL_LOG_EVERY {
            let parts: Vec<String> = log.1.iter().map(|(r, n)| format!("{r} {n}")).collect();
            warning!(
                "metrics endpoint: refused connections ({}) since the last such line",
                parts.join(", ")
            );
            log.1.clear();
            log.0 = Instant::now();
        }
    }

    /// Close the oldest connection not answering a request; false if none.
    fn evict_one(&self) -> bool {
        let mut conns = lock(&self.conns);
        let Some(i) = conns.iter().position(|c| !c.busy.load(Ordering::Relaxed)) else {
            return false;
        };
        if let Some(c) = conns.remove(i) {
            c.kill.notify_one();
        }
        lock(&self.stats).evicted += 1;
        self.overloaded.store(true, Ordering::Relaxed);
        true
    }

    /// A slot for a new connection: a free one, or one an eviction frees (waited for at most
    /// [`PERMIT_WAIT`]); None at once when every slot is answering a request.
    async fn slot(&self) -> Option<OwnedSemaphorePermit> {
        if let Ok(p) = self.slots.clone().try_acquire_owned() {
            return Some(p);
        }
        if !self.evict_one() {
            return None;
        }
        tokio::time::timeout(PERMIT_WAIT, self.slots.clone().acquire_owned())
            .await
            .ok()
            .and_then(Result::ok)
    }

    fn snapshot(&self) -> HttpMetrics {
        let mut h = lock(&self.stats).clone();
        h.connections = lock(&self.conns).len() as u64;
        h
    }
}

/// The workers' snapshots, fetched after `arrived` (see the module notes).
async fn worker_snapshots(server: &Server, arrived: Instant) -> Snapshots {
    let mut last = server.snapshots.lock().await;
    if let Some((began, snaps)) = last.as_ref() {
        if *began >= arrived {
            return snaps.clone();
        }
    }
    let links = match server.shared.lock() {
        Ok(sh) => sh.links.clone(),
        Err(_) => Default::default(),
    };
    let began = Instant::now();
    let mut snaps = Snapshots::new();
    for (name, link) in links {
        if let Some(m) = link.metrics(Duration::from_millis(500)).await {
            snaps.insert(name, m);
        }
    }
    *last = Some((began, snaps.clone()));
    snaps
}

async fn status(server: &Server) -> Status {
    let arrived = Instant::now();
    let parent = match server.shared.lock() {
        Ok(sh) => sh.parent.clone(),
        Err(_) => Default::default(),
    };
    Status {
        implementation: "keepalived-rs".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        parent,
        workers: worker_snapshots(server, arrived).await,
        http: Some(server.snapshot()),
    }
}

/// The live status page (`GET /`): one self-contained HTML file that polls `/status`.
pub const PAGE: &str = include_str!("status_page.html");

/// Content-Security-Policy of every answer: no external assets, no framing, fetches to this
/// listener only.
pub const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
    connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

async fn handle(
    server: Arc<Server>,
    busy: Busy,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let (code, ctype, body) = if req.method() != hyper::Method::GET {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "GET only\n".to_string(),
        )
    } else {
        match req.uri().path() {
            "/metrics" => (
                StatusCode::OK,
                "text/plain; version=0.0.4; charset=utf-8",
                render(&status(&server).await),
            ),
            "/" => (StatusCode::OK, "text/html; charset=utf-8", PAGE.to_string()),
            "/status" => (
                StatusCode::OK,
                "application/json",
                serde_json::to_string_pretty(&status(&server).await).unwrap_or_default(),
            ),
            _ => (
                StatusCode::NOT_FOUND,
                "text/plain",
                format!("{}: /, /metrics or /status\n", cli::version_string()),
            ),
        }
    };
    let mut r = Response::new(Body {
        inner: Full::new(Bytes::from(body)),
        _busy: busy,
    });
    *r.status_mut() = code;
    if let Ok(v) = ctype.parse() {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    // The page loads nothing from elsewhere and talks only to this listener.
    for (k, v) in [
        (hyper::header::CONTENT_SECURITY_POLICY, CSP),
        (hyper::header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (hyper::header::CACHE_CONTROL, "no-store"),
        (hyper::header::X_FRAME_OPTIONS, "DENY"),
    ] {
        if let Ok(v) = v.parse() {
            r.headers_mut().insert(k, v);
        }
    }
    Ok(r)
}

fn bind(addr: SocketAddr) -> io::Result<tokio::net::TcpListener> {
    let sock = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    sock.set_reuseaddr(true)?;
    sock.bind(addr)?;
    sock.listen(BACKLOG)
}

/// Bind and serve in the background. Errors are logged (the daemon keeps running).
pub async fn spawn(addr: SocketAddr, allow: &[(IpAddr, u8)], shared: SharedRef) {
    let listener = match bind(addr) {
        Ok(l) => l,
        Err(e) => {
            error!("metrics endpoint: cannot listen on {addr}: {e}");
            return;
        }
    };
    let access = Access::new(allow);
    let (cap, fd_ceiling) = limits(nofile_soft());
    info!(
        "metrics endpoint listening on http://{addr}/metrics (at most {cap} connections; clients from {})",
        access.describe()
    );
    if allow.is_empty() && !addr.ip().is_loopback() {
        warning!("metrics endpoint: {addr} is not a loopback address but only loopback clients are served: list the scrapers' networks in global_defs metrics_allow");
    }
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_header_size(MAX_HEADER_BYTES)
        .max_buf_size(MAX_BUF_BYTES)
        .writev(true);
    let server = Arc::new(Server {
        shared,
        access,
        slots: Arc::new(Semaphore::new(cap)),
        fd_ceiling,
        conns: Mutex::new(VecDeque::with_capacity(cap)),
        stats: Mutex::new(HttpMetrics {
            max_connections: cap as u64,
            refused: ["acl", "fd", "limit"]
                .into_iter()
                .map(|r| (r.to_string(), 0))
                .collect(),
            ..Default::default()
        }),
        refusal_log: Mutex::new((Instant::now(), BTreeMap::new())),
        overloaded: AtomicBool::new(false),
        builder,
        snapshots: tokio::sync::Mutex::new(None),
    });
    tokio::spawn(accept_loop(listener, server));
}

async fn accept_loop(listener: tokio::net::TcpListener, server: Arc<Server>) {
    let mut next_id = 0u64;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
                ) {
                    *lock(&server.stats).refused.entry("fd".into()).or_default() += 1;
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                }
                continue;
            }
        };
        if !server.access.allows(peer.ip()) {
            server.refuse(stream, "acl");
            continue;
        }
        if u64::try_from(stream.as_raw_fd()).unwrap_or(u64::MAX) >= server.fd_ceiling {
            server.refuse(stream, "fd");
            continue;
        }
        let Some(permit) = server.slot().await else {
            server.refuse(stream, "limit");
            continue;
        };
        next_id += 1;
        let conn = Arc::new(Conn {
            id: next_id,
            busy: AtomicBool::new(false),
            kill: Notify::new(),
        });
        lock(&server.conns).push_back(conn.clone());
        lock(&server.stats).accepted += 1;
        tokio::spawn(serve(server.clone(), conn, stream, permit));
    }
}

async fn serve(
    server: Arc<Server>,
    conn: Arc<Conn>,
    io: tokio::net::TcpStream,
    permit: OwnedSemaphorePermit,
) {
    let svc = {
        let server = server.clone();
        let conn = conn.clone();
        hyper::service::service_fn(move |req| handle(server.clone(), Busy::new(&conn), req))
    };
    let expired = tokio::select! {
        _ = server.builder.serve_connection(TokioIo::new(io), svc) => false,
        () = conn.kill.notified() => false,
        () = tokio::time::sleep(CONNECTION_LIFETIME) => true,
    };
    let idle = {
        let mut conns = lock(&server.conns);
        conns.retain(|c| c.id != conn.id);
        conns.is_empty()
    };
    // The end of an overload burst (a connection storm): give back the pages its code and
    // buffers touched (ordinary scrapes never get here).
    if idle && server.overloaded.swap(false, Ordering::Relaxed) {
        crate::release_startup_memory_soon();
    }
    if expired {
        lock(&server.stats).expired += 1;
    }
    drop(permit);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    // Proves the allow-list: networks of both families, a host network, the loopback default,
    // and an IPv4-mapped IPv6 source (a dual-stack listener) judged as IPv4.
    #[test]
    fn access_matches_networks() {
        let a = Access::new(&[
            (ip("10.0.0.0"), 8),
            (ip("192.0.2.7"), 32),
            (ip("fd00::"), 8),
        ]);
        assert!(a.allows(ip("10.255.1.2")));
        assert!(!a.allows(ip("11.0.0.1")));
        assert!(a.allows(ip("192.0.2.7")));
        assert!(!a.allows(ip("192.0.2.8")));
        assert!(a.allows(ip("fd12::1")));
        assert!(!a.allows(ip("fe80::1")));
        assert!(a.allows(ip("::ffff:10.1.1.1")));
        assert!(!a.allows(ip("127.0.0.1")));
        let d = Access::new(&[]);
        assert!(d.allows(ip("127.0.0.1")) && d.allows(ip("127.9.9.9")) && d.allows(ip("::1")));
        assert!(!d.allows(ip("10.0.0.1")) && !d.allows(ip("::2")));
        assert!(Access::new(&[(ip("0.0.0.0"), 0)]).allows(ip("203.0.113.9")));
    }

    // Proves the connection cap and descriptor ceiling follow RLIMIT_NOFILE: 64 connections
    // and a quarter of the limit in reserve normally, fewer under a small limit, never zero.
    #[test]
    fn limits_follow_nofile() {
        assert_eq!(limits(20_000), (64, 15_000));
        assert_eq!(limits(1024), (64, 768));
        assert_eq!(limits(256), (16, 192));
        assert_eq!(limits(20), (1, 4));
        assert_eq!(limits(0), (1, 0));
    }
}
