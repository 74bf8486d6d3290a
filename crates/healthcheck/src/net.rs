//! Socket setup shared by the network checkers: bindto/bind_port, bind_if (SO_BINDTODEVICE),
//! fwmark (SO_MARK), non-blocking connect with a timeout.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::net::{TcpStream, UdpSocket};

use crate::checker::ConnOpts;
use crate::result::{Failure, Phase};

fn setup_err(what: &str, e: &std::io::Error) -> Failure {
    Failure::Network {
        phase: Phase::Setup,
        errno: e.raw_os_error(),
        message: format!("{what}: {e}"),
    }
}

/// Run `fut` with a timeout; `Timeout(phase)` when it expires.
pub(crate) async fn timed<T>(
    dur: Duration,
    phase: Phase,
    fut: impl Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(dur, fut).await {
        Ok(r) => r,
        Err(_) => Err(Failure::Timeout(phase)),
    }
}

/// Create a socket for `dst` with the connection options applied (SO_MARK, SO_BINDTODEVICE,
/// bind), non-blocking, close-on-exec.
pub(crate) fn make_socket(
    co: &ConnOpts,
    dst: &SocketAddr,
    ty: Type,
    proto: Protocol,
) -> Result<Socket, Failure> {
    let domain = Domain::for_address(*dst);
    // SOCK_NONBLOCK at creation (Socket::new adds SOCK_CLOEXEC): no extra fcntl calls.
    let s =
        Socket::new(domain, ty.nonblocking(), Some(proto)).map_err(|e| setup_err("socket", &e))?;
    apply_opts(&s, co, dst)?;
    Ok(s)
}

/// Apply SO_MARK, SO_BINDTODEVICE and bindto/bind_port to `s`.
pub(crate) fn apply_opts(s: &Socket, co: &ConnOpts, dst: &SocketAddr) -> Result<(), Failure> {
    if let Some(mark) = co.fwmark {
        if mark != 0 {
            s.set_mark(mark).map_err(|e| setup_err("SO_MARK", &e))?;
        }
    }
    if let Some(ifname) = &co.bind_if {
        s.bind_device(Some(ifname.as_bytes()))
            .map_err(|e| setup_err(&format!("SO_BINDTODEVICE {ifname}"), &e))?;
    }
    if co.bindto.is_some() || co.bind_port.is_some() {
        let ip = match co.bindto {
            Some(ip) => ip,
            None if dst.is_ipv4() => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            None => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        if ip.is_ipv4() != dst.is_ipv4() {
            return Err(Failure::Network {
                phase: Phase::Setup,
                errno: None,
                message: format!("bindto {ip} does not match the family of {dst}"),
            });
        }
        let local = SocketAddr::new(ip, co.bind_port.unwrap_or(0));
        if co.bind_port.is_some() {
            // Several checks of the same source port may overlap with TIME_WAIT.
            let _ = s.set_reuse_address(true);
        }
        s.bind(&SockAddr::from(local))
            .map_err(|e| setup_err(&format!("bind {local}"), &e))?;
    }
    Ok(())
}

/// Connect a TCP stream to `dst` within `co.connect_timeout`.
pub(crate) async fn tcp_connect(co: &ConnOpts, dst: SocketAddr) -> Result<TcpStream, Failure> {
    let s = make_socket(co, &dst, Type::STREAM, Protocol::TCP)?;
    connect_socket(co, s, dst).await
}

async fn connect_socket(co: &ConnOpts, s: Socket, dst: SocketAddr) -> Result<TcpStream, Failure> {
    let std: std::net::TcpStream = s.into();
    let sock = tokio::net::TcpSocket::from_std_stream(std);
    timed(co.connect_timeout, Phase::Connect, async {
        sock.connect(dst)
            .await
            .map_err(|e| Failure::from_io(Phase::Connect, &e))
    })
    .await
}

/// Idle, unconnected TCP sockets for TCP_CHECK, so that a check does not create and destroy a
/// socket (and its file, inode and dentry) every time: a check takes a socket, connects it,
/// and [`TcpPool::put`]s it back after `connect(AF_UNSPEC)` reset the connection. Only sockets
/// without per-checker options (bindto, bind_port, bind_if, fwmark) are pooled. The sockets
/// are not registered with any runtime while idle, so the pool can be shared freely.
#[derive(Debug, Default)]
pub(crate) struct TcpPool {
    /// Index 0: IPv4, 1: IPv6.
    idle: Mutex<[Vec<Socket>; 2]>,
}

impl TcpPool {
    /// Idle sockets kept per address family (more are closed): enough for the checks that
    /// complete at the same moment, not a descriptor per real server.
    const MAX_IDLE: usize = 64;

    fn slot(dst: &SocketAddr) -> usize {
        usize::from(dst.is_ipv6())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, [Vec<Socket>; 2]> {
        // Nothing is held across a panic but a Vec of sockets.
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Can checks with these options use pooled sockets?
    pub(crate) fn eligible(co: &ConnOpts) -> bool {
        co.bindto.is_none()
            && co.bind_port.is_none()
            && co.bind_if.is_none()
            && co.fwmark.unwrap_or(0) == 0
    }

    fn take(&self, dst: &SocketAddr) -> Option<Socket> {
        self.lock()[Self::slot(dst)].pop()
    }

    /// Return `s`, connected to `dst` or not: it is disconnected first (an established
    /// connection is reset) and closed instead if that fails or the pool is full.
    pub(crate) fn put(&self, dst: &SocketAddr, s: Socket) {
        if crate::sock::disconnect(&s).is_err() {
            return;
        }
        let mut idle = self.lock();
        let v = &mut idle[Self::slot(dst)];
        if v.len() < Self::MAX_IDLE {
            v.push(s);
        }
    }
}

/// [`tcp_connect`] with a socket from `pool` (or a new one when it is empty). The caller gives
/// the socket back with [`TcpPool::put`] (a stream that failed to connect is closed).
pub(crate) async fn tcp_connect_pooled(
    pool: &TcpPool,
    co: &ConnOpts,
    dst: SocketAddr,
) -> Result<TcpStream, Failure> {
    let s = match pool.take(&dst) {
        Some(s) => s,
        None => make_socket(co, &dst, Type::STREAM, Protocol::TCP)?,
    };
    connect_socket(co, s, dst).await
}

/// A connected UDP socket to `dst`.
pub(crate) fn udp_connect(co: &ConnOpts, dst: SocketAddr) -> Result<UdpSocket, Failure> {
    let s = make_socket(co, &dst, Type::DGRAM, Protocol::UDP)?;
    s.connect(&SockAddr::from(dst))
        .map_err(|e| Failure::from_io(Phase::Connect, &e))?;
    let std: std::net::UdpSocket = s.into();
    UdpSocket::from_std(std).map_err(|e| setup_err("tokio UdpSocket", &e))
}
