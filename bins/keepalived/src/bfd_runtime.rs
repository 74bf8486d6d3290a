//! The BFD worker's runtime: the `bfd_instance`s as [`bfd_proto::Session`]s over UDP, on one
//! thread of their own (keepalived's BFD child process).
//!
//! * **Receive**: one socket per family on UDP 3784 (single hop, RFC 5881) and one on 4784
//!   (multihop, RFC 5883), reading the TTL/hop limit (`IP_RECVTTL`/`IPV6_RECVHOPLIMIT`) and the
//!   destination address (`IP_PKTINFO`/`IPV6_RECVPKTINFO`) from control messages. A packet
//!   passes [`bfd_proto::validate`] (keepalived's checks), then is matched to a session by Your
//!   Discriminator (its source must be the session's neighbor), or — when that is zero — by
//!   (neighbor, local address); the session checks the TTL (`ttl`/`max_hops`, GTSM) itself.
//!   Refusals are counted per reason, never fatal.
//! * **Send**: per session, a socket bound to `source_ip` (or any address) and a random port in
//!   49152–65535 (RFC 5881 §4), TTL/hop limit `ttl` (255 for IPv4, 64 for IPv6 by default, as
//!   keepalived), to the neighbor's port 3784, or 4784 with `multihop` (keepalived 2.4, RFC
//!   5883). A packet with Your Discriminator zero finds its session only on the socket of the
//!   session's kind (keepalived's `find_bfd_by_addr`).
//! * **Discriminators**: random, nonzero, unique; a new one when an Up session goes Down
//!   (keepalived's `set_local_discriminator`).
//! * **Events**: a session entering Up, or leaving Up other than because the peer went
//!   AdminDown, is reported (keepalived's `bfd_event_send`), with the `vrrp`/`checker`
//!   destinations of its `bfd_instance`.
//! * **Reload**: sessions are kept by name; changed intervals or multiplier go to the session
//!   as [`Input::SetParams`] (a Poll Sequence when Up); a changed neighbor, source, TTL or role
//!   restarts the session; removed sessions send AdminDown and go.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

use bfd_proto::{validate, Action, Diag, Input, RxPolicy, Session, SessionConfig, State};
use conf_parse::BfdInstance;
use socket2::{Domain, Protocol, Socket, Type};

/// Errors that stop the BFD runtime (none comes from network input).
#[derive(Debug, thiserror::Error)]
pub enum BfdError {
    /// A socket could not be set up.
    #[error("BFD: {op}: {source}")]
    Socket {
        /// What was being done.
        op: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

fn sock_err(op: impl Into<String>) -> impl FnOnce(std::io::Error) -> BfdError {
    let op = op.into();
    move |source| BfdError::Socket { op, source }
}

/// One session's settings, from its `bfd_instance`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSpec {
    /// `bfd_instance` name.
    pub name: String,
    /// `neighbor_ip`.
    pub neighbor: IpAddr,
    /// `source_ip`.
    pub source: Option<IpAddr>,
    /// TTL / hop limit we send with.
    pub ttl: u8,
    /// `max_hops` (0: single hop).
    pub max_hops: u8,
    /// `multihop`: control packets to and from UDP 4784.
    pub multihop: bool,
    /// Desired Min TX (µs).
    pub min_tx: u32,
    /// Required Min RX (µs).
    pub min_rx: u32,
    /// Idle TX (µs).
    pub idle_tx: u32,
    /// Detect multiplier.
    pub multiplier: u8,
    /// `passive`.
    pub passive: bool,
    /// Events go to the VRRP worker.
    pub to_vrrp: bool,
    /// Events go to the checker worker.
    pub to_checker: bool,
}

fn us(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX).max(1)
}

impl SessionSpec {
    /// From conf-parse's typed instance (None without a neighbor: keepalived drops it).
    pub fn from_instance(b: &BfdInstance) -> Option<SessionSpec> {
        let neighbor = b.neighbor_ip?;
        let ttl = b.ttl.unwrap_or(if neighbor.is_ipv4() { 255 } else { 64 });
        Some(SessionSpec {
            name: b.name.clone(),
            neighbor,
            source: b.source_ip.filter(|s| s.is_ipv4() == neighbor.is_ipv4()),
            ttl,
            max_hops: u8::try_from(b.max_hops.clamp(0, i16::from(ttl))).unwrap_or(0),
            multihop: b.multihop,
            min_tx: us(b.min_tx),
            min_rx: us(b.min_rx),
            idle_tx: us(b.idle_tx),
            multiplier: b.multiplier.max(1),
            passive: b.passive,
            // conf-parse: neither `vrrp` nor `checker` means both.
            to_vrrp: b.vrrp || !b.checker,
            to_checker: b.checker || !b.vrrp,
        })
    }

    /// What only a restart can change (the socket and the session's identity).
    fn identity(&self) -> (IpAddr, Option<IpAddr>, u8, u8, bool, u32, bool) {
        (
            self.neighbor,
            self.source,
            self.ttl,
            self.max_hops,
            self.passive,
            self.idle_tx,
            self.multihop,
        )
    }

    /// The neighbor's control port.
    fn peer_port(&self) -> u16 {
        if self.multihop {
            bfd_proto::wire::PORT_MULTIHOP
        } else {
            bfd_proto::wire::PORT_SINGLE_HOP
        }
    }

    fn session_config(&self, discr: u32, seed: u64) -> SessionConfig {
        SessionConfig {
            local_discriminator: discr,
            desired_min_tx: self.min_tx,
            required_min_rx: self.min_rx,
            idle_tx: self.idle_tx,
            detect_mult: self.multiplier,
            passive: self.passive,
            min_rx_ttl: bfd_proto::min_rx_ttl(self.ttl, self.max_hops),
            auth: None,
            seed,
        }
    }
}

/// The sessions of a configuration (instances without a neighbor are left out).
pub fn specs(cfg: &conf_parse::Config) -> Vec<SessionSpec> {
    cfg.bfd_instances
        .iter()
        .filter_map(SessionSpec::from_instance)
        .collect()
}

/// A state report for the VRRP/checker workers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BfdEvent {
    /// `bfd_instance` name.
    pub name: String,
    /// Up?
    pub up: bool,
    /// For the VRRP worker.
    pub to_vrrp: bool,
    /// For the checker worker.
    pub to_checker: bool,
}

/// Per-session status for metrics and dumps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStatus {
    /// Name.
    pub name: String,
    /// Neighbor.
    pub neighbor: IpAddr,
    /// Local state.
    pub state: State,
    /// Remote state.
    pub remote_state: State,
    /// Local diagnostic.
    pub diag: Diag,
    /// Local discriminator.
    pub local_discriminator: u32,
    /// Remote discriminator (0: none).
    pub remote_discriminator: u32,
    /// Agreed transmit interval.
    pub tx_interval: Option<Duration>,
    /// Detection time.
    pub detection_time: Option<Duration>,
    /// Counters.
    pub counters: bfd_proto::Counters,
}

/// Packets refused before any session saw them, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GlobalRx {
    /// Failed the session-independent checks, by [`RxError::counter`] name.
    pub invalid: BTreeMap<&'static str, u64>,
    /// No session for the discriminator / address pair.
    pub no_session: u64,
    /// Your Discriminator known, but not from that session's neighbor.
    pub wrong_source: u64,
}

struct Sess {
    spec: SessionSpec,
    s: Session,
    tx: Socket,
    peer_port: u16,
    /// Whether the last reported state was Up.
    reported_up: bool,
}

/// Receive sockets: (socket, multihop?).
struct RxSocks(Vec<(Socket, bool)>);

/// Receive buffer asked for on the listening sockets (bytes).
const RX_BUFFER: usize = 4 << 20;

/// Datagrams read from one socket per wake-up, at most (then timers run, then the rest).
const RX_BATCH: usize = 4096;

fn rx_socket(v6: bool, port: u16) -> Result<Socket, BfdError> {
    let what = format!("UDP {} port {port}", if v6 { "IPv6" } else { "IPv4" });
    let s = Socket::new(
        if v6 { Domain::IPV6 } else { Domain::IPV4 },
        Type::DGRAM,
        Some(Protocol::UDP),
    )
    .map_err(sock_err(format!("socket {what}")))?;
    s.set_reuse_address(true)
        .map_err(sock_err(format!("SO_REUSEADDR {what}")))?;
    let fd = s.as_fd();
    use nix::sys::socket::{setsockopt, sockopt};
    let r = if v6 {
        setsockopt(&fd, sockopt::Ipv6V6Only, &true)
            .and_then(|_| setsockopt(&fd, sockopt::Ipv6RecvHopLimit, &true))
            .and_then(|_| setsockopt(&fd, sockopt::Ipv6RecvPacketInfo, &true))
    } else {
        setsockopt(&fd, sockopt::Ipv4RecvTtl, &true)
            .and_then(|_| setsockopt(&fd, sockopt::Ipv4PacketInfo, &true))
    };
    r.map_err(|e| BfdError::Socket {
        op: format!("control messages on {what}"),
        source: e.into(),
    })?;
    let addr: SocketAddr = if v6 {
        (Ipv6Addr::UNSPECIFIED, port).into()
    } else {
        (Ipv4Addr::UNSPECIFIED, port).into()
    };
    // Room for a burst: at 10 ms and hundreds of sessions, a thread delayed by a few tens of
    // ms finds thousands of packets queued (each costs far more than its 24 bytes of buffer);
    // an overflow would drop them and the sessions would time out. Best effort: FORCE needs
    // CAP_NET_ADMIN, plain SO_RCVBUF is capped by net.core.rmem_max.
    if setsockopt(&fd, sockopt::RcvBufForce, &RX_BUFFER).is_err() {
        let _ = setsockopt(&fd, sockopt::RcvBuf, &RX_BUFFER);
    }
    s.bind(&addr.into())
        .map_err(sock_err(format!("bind {what}")))?;
    s.set_nonblocking(true)
        .map_err(sock_err(format!("O_NONBLOCK {what}")))?;
    Ok(s)
}

fn tx_socket(spec: &SessionSpec, rng: &mut u64) -> Result<Socket, BfdError> {
    let v6 = spec.neighbor.is_ipv6();
    let s = Socket::new(
        if v6 { Domain::IPV6 } else { Domain::IPV4 },
        Type::DGRAM,
        Some(Protocol::UDP),
    )
    .map_err(sock_err(format!("BFD_Instance({}) socket", spec.name)))?;
    if v6 {
        s.set_unicast_hops_v6(u32::from(spec.ttl))
    } else {
        s.set_ttl_v4(u32::from(spec.ttl))
    }
    .map_err(sock_err(format!("BFD_Instance({}) TTL", spec.name)))?;
    let local = spec.source.unwrap_or(if v6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    });
    // RFC 5881 §4: a source port in 49152..=65535, unique per session.
    let span =
        u64::from(bfd_proto::wire::SOURCE_PORTS.end() - bfd_proto::wire::SOURCE_PORTS.start()) + 1;
    let mut last = None;
    for _ in 0..64 {
        let port = *bfd_proto::wire::SOURCE_PORTS.start()
            + u16::try_from(next_rand(rng) % span).unwrap_or(0);
        match s.bind(&SocketAddr::new(local, port).into()) {
            Ok(()) => {
                s.set_nonblocking(true)
                    .map_err(sock_err(format!("BFD_Instance({}) O_NONBLOCK", spec.name)))?;
                return Ok(s);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => last = Some(e),
            Err(e) => {
                return Err(BfdError::Socket {
                    op: format!("BFD_Instance({}) bind {local}", spec.name),
                    source: e,
                })
            }
        }
    }
    Err(BfdError::Socket {
        op: format!("BFD_Instance({}) no free source port", spec.name),
        source: last.unwrap_or_else(|| std::io::Error::other("exhausted")),
    })
}

fn next_rand(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn seed() -> u64 {
    let mut b = [0u8; 8];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b))
        .is_ok()
    {
        return u64::from_ne_bytes(b);
    }
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    t ^ u64::from(std::process::id()).rotate_left(32)
}

/// The running sessions and sockets.
pub struct Runtime {
    sessions: Vec<Sess>,
    rx: RxSocks,
    rng: u64,
    /// Packets refused before reaching a session.
    pub global_rx: GlobalRx,
    events: Vec<BfdEvent>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Sockets and sessions for `specs` (every session starts Down).
    pub fn new(specs: &[SessionSpec]) -> Result<Runtime, BfdError> {
        let mut rt = Runtime {
            sessions: Vec::new(),
            rx: RxSocks(Vec::new()),
            rng: seed(),
            global_rx: GlobalRx::default(),
            events: Vec::new(),
        };
        rt.ensure_rx(specs)?;
        let now = Instant::now();
        for sp in specs {
            rt.add(sp.clone(), now)?;
        }
        Ok(rt)
    }

    fn ensure_rx(&mut self, specs: &[SessionSpec]) -> Result<(), BfdError> {
        for v6 in [false, true] {
            if !specs.iter().any(|s| s.neighbor.is_ipv6() == v6) {
                continue;
            }
            for (port, multihop) in [
                (bfd_proto::wire::PORT_SINGLE_HOP, false),
                (bfd_proto::wire::PORT_MULTIHOP, true),
            ] {
                let have = self.rx.0.iter().any(|(s, m)| {
                    *m == multihop
                        && s.local_addr()
                            .ok()
                            .and_then(|a| a.as_socket())
                            .is_some_and(|a| a.is_ipv6() == v6)
                });
                if !have {
                    let s = rx_socket(v6, port)?;
                    self.rx.0.push((s, multihop));
                }
            }
        }
        Ok(())
    }

    fn new_discriminator(&mut self) -> u32 {
        loop {
            let d = (next_rand(&mut self.rng) & 0xffff_ffff) as u32;
            if d != 0 && !self.sessions.iter().any(|s| s.s.local_discriminator() == d) {
                return d;
            }
        }
    }

    fn add(&mut self, spec: SessionSpec, now: Instant) -> Result<(), BfdError> {
        let d = self.new_discriminator();
        let seed = next_rand(&mut self.rng);
        let tx = tx_socket(&spec, &mut self.rng)?;
        let s = Session::new(spec.session_config(d, seed), now);
        log::info!(
            "BFD_Instance({}) Starting session with neighbor {}",
            spec.name,
            spec.neighbor
        );
        let peer_port = spec.peer_port();
        self.sessions.push(Sess {
            spec,
            s,
            tx,
            peer_port,
            reported_up: false,
        });
        // A new session transmits at once (unless passive).
        let i = self.sessions.len() - 1;
        let a = self.sessions[i].s.handle(now, Input::Timer);
        self.perform(i, a);
        Ok(())
    }

    /// Apply a new configuration (see the module doc). Returns errors of sessions that could
    /// not start (the others run).
    pub fn reload(&mut self, specs: &[SessionSpec]) -> Result<(), BfdError> {
        self.ensure_rx(specs)?;
        let now = Instant::now();
        // Removed or restarted: AdminDown to the peer, then gone.
        let mut i = 0;
        while i < self.sessions.len() {
            let keep = specs.iter().any(|n| {
                n.name == self.sessions[i].spec.name
                    && n.identity() == self.sessions[i].spec.identity()
            });
            if keep {
                i += 1;
                continue;
            }
            let a = self.sessions[i].s.handle(now, Input::AdminDown);
            self.perform(i, a);
            let gone = self.sessions.remove(i);
            log::info!("BFD_Instance({}) removed", gone.spec.name);
            if gone.reported_up {
                self.events.push(BfdEvent {
                    name: gone.spec.name.clone(),
                    up: false,
                    to_vrrp: gone.spec.to_vrrp,
                    to_checker: gone.spec.to_checker,
                });
            }
        }
        let mut first_err = None;
        for n in specs {
            match self.sessions.iter().position(|s| s.spec.name == n.name) {
                Some(i) => {
                    let old = &self.sessions[i].spec;
                    if (old.min_tx, old.min_rx, old.multiplier)
                        != (n.min_tx, n.min_rx, n.multiplier)
                    {
                        let a = self.sessions[i].s.handle(
                            now,
                            Input::SetParams {
                                desired_min_tx: n.min_tx,
                                required_min_rx: n.min_rx,
                                detect_mult: n.multiplier,
                            },
                        );
                        self.perform(i, a);
                    }
                    self.sessions[i].spec = n.clone();
                }
                None => {
                    if let Err(e) = self.add(n.clone(), now) {
                        log::error!("{e}");
                        first_err.get_or_insert(e);
                    }
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Events produced since the last call.
    pub fn take_events(&mut self) -> Vec<BfdEvent> {
        std::mem::take(&mut self.events)
    }

    /// Earliest session deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.sessions
            .iter()
            .filter_map(|s| s.s.next_deadline())
            .min()
    }

    /// Run the timers that are due.
    pub fn on_timers(&mut self, now: Instant) {
        for i in 0..self.sessions.len() {
            if self.sessions[i].s.next_deadline().is_some_and(|d| d <= now) {
                let a = self.sessions[i].s.handle(now, Input::Timer);
                self.perform(i, a);
            }
        }
    }

    /// The receive sockets' descriptors.
    pub fn rx_fds(&self) -> Vec<BorrowedFd<'_>> {
        self.rx.0.iter().map(|(s, _)| s.as_fd()).collect()
    }

    /// Read what is queued on receive socket `k` (at most [`RX_BATCH`] datagrams): every packet
    /// that arrived while the thread was away is seen before the timers run, so a late wake-up
    /// does not expire sessions whose packets are waiting.
    pub fn on_readable(&mut self, k: usize) {
        let mut buf = [0u8; 128];
        for _ in 0..RX_BATCH {
            let Some((sock, multihop)) = self.rx.0.get(k) else {
                return;
            };
            let multihop = *multihop;
            let Some(got) = recv(sock, &mut buf) else {
                return;
            };
            self.on_datagram(&buf[..got.len.min(buf.len())], got, multihop);
        }
    }

    fn on_datagram(&mut self, bytes: &[u8], got: Recv, multihop: bool) {
        let now = Instant::now();
        let v = match validate(bytes, &RxPolicy::KEEPALIVED) {
            Ok(v) => v,
            Err(e) => {
                *self.global_rx.invalid.entry(e.counter()).or_insert(0) += 1;
                return;
            }
        };
        let src = canonical(got.from.ip());
        let your = v.repr.your_discriminator;
        let idx = if your != 0 {
            match self
                .sessions
                .iter()
                .position(|s| s.s.local_discriminator() == your)
            {
                Some(i) if self.sessions[i].spec.neighbor == src => Some(i),
                Some(_) => {
                    self.global_rx.wrong_source += 1;
                    return;
                }
                None => None,
            }
        } else {
            self.sessions.iter().position(|s| {
                s.spec.neighbor == src
                    && s.spec.multihop == multihop
                    && match (s.spec.source, got.dst) {
                        (Some(a), Some(d)) => a == canonical(d),
                        _ => true,
                    }
            })
        };
        let Some(i) = idx else {
            self.global_rx.no_session += 1;
            return;
        };
        let a = self.sessions[i].s.handle(
            now,
            Input::Packet {
                packet: &v,
                ttl: got.ttl,
            },
        );
        self.perform(i, a);
    }

    fn perform(&mut self, i: usize, actions: Vec<Action>) {
        let mut new_discr = false;
        for a in actions {
            let Some(ss) = self.sessions.get_mut(i) else {
                return;
            };
            match a {
                Action::Transmit(r) => {
                    let mut out = [0u8; 64];
                    if let Ok(n) = ss.s.encode(&r, &mut out) {
                        let to = SocketAddr::new(ss.spec.neighbor, ss.peer_port);
                        if let Err(e) = ss.tx.send_to(&out[..n], &to.into()) {
                            log::debug!("BFD_Instance({}) sendto {to}: {e}", ss.spec.name);
                        }
                    }
                }
                Action::StateChange(c) => {
                    log::info!(
                        "BFD_Instance({}) Entering {} state (Local diagnostic - {})",
                        ss.spec.name,
                        state_name(c.to),
                        diag_name(c.diag),
                    );
                    if c.to == State::Up && !ss.reported_up {
                        ss.reported_up = true;
                        self.events.push(BfdEvent {
                            name: ss.spec.name.clone(),
                            up: true,
                            to_vrrp: ss.spec.to_vrrp,
                            to_checker: ss.spec.to_checker,
                        });
                    } else if c.from == State::Up && c.to != State::Up {
                        new_discr = true;
                        // keepalived: no event when the neighbor went administratively down.
                        let peer_admin = c.diag == Diag::NeighborSignaledDown
                            && ss.s.remote_state() == State::AdminDown;
                        if ss.reported_up && !peer_admin {
                            ss.reported_up = false;
                            self.events.push(BfdEvent {
                                name: ss.spec.name.clone(),
                                up: false,
                                to_vrrp: ss.spec.to_vrrp,
                                to_checker: ss.spec.to_checker,
                            });
                        }
                    }
                }
                Action::TimersChanged(_) | Action::Dropped(_) => {}
            }
        }
        if new_discr {
            let d = self.new_discriminator();
            if let Some(ss) = self.sessions.get_mut(i) {
                ss.s.set_local_discriminator(d);
            }
        }
    }

    /// Take every session administratively down (stop): AdminDown packets go out once.
    pub fn shutdown(&mut self) {
        let now = Instant::now();
        for i in 0..self.sessions.len() {
            let a = self.sessions[i].s.handle(now, Input::AdminDown);
            self.perform(i, a);
        }
    }

    /// Status of every session.
    pub fn status(&self) -> Vec<SessionStatus> {
        self.sessions
            .iter()
            .map(|s| {
                let t = s.s.timers();
                SessionStatus {
                    name: s.spec.name.clone(),
                    neighbor: s.spec.neighbor,
                    state: s.s.state(),
                    remote_state: s.s.remote_state(),
                    diag: s.s.local_diag(),
                    local_discriminator: s.s.local_discriminator(),
                    remote_discriminator: s.s.remote_discriminator(),
                    tx_interval: t.tx_interval,
                    detection_time: t.detection_time,
                    counters: s.s.counters().clone(),
                }
            })
            .collect()
    }
}

/// Keeps a v4-mapped IPv6 address comparable with IPv4 configuration.
fn canonical(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
        v4 => v4,
    }
}

/// keepalived's state names.
pub fn state_name(s: State) -> &'static str {
    match s {
        State::AdminDown => "AdminDown",
        State::Down => "Down",
        State::Init => "Init",
        State::Up => "Up",
    }
}

/// keepalived's diagnostic names (BFD_DIAG_STR).
pub fn diag_name(d: Diag) -> &'static str {
    match d {
        Diag::None => "No Diagnostic",
        Diag::ControlDetectionTimeExpired => "Control Detection Time Expired",
        Diag::EchoFunctionFailed => "Echo Function Failed",
        Diag::NeighborSignaledDown => "Neighbor Signaled Session Down",
        Diag::ForwardingPlaneReset => "Forwarding Plane Reset",
        Diag::PathDown => "Path Down",
        Diag::ConcatenatedPathDown => "Concatenated Path Down",
        Diag::AdministrativelyDown => "Administratively Down",
        Diag::ReverseConcatenatedPathDown => "Reverse Concatenated Path Down",
        Diag::Reserved(_) => "Reserved",
    }
}

struct Recv {
    len: usize,
    from: SocketAddr,
    dst: Option<IpAddr>,
    ttl: Option<u8>,
}

fn recv(sock: &Socket, buf: &mut [u8]) -> Option<Recv> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrStorage};
    let mut iov = [std::io::IoSliceMut::new(buf)];
    let mut space = nix::cmsg_space!(
        libc::in6_pktinfo,
        libc::c_int,
        libc::in_pktinfo,
        libc::c_int
    );
    let msg = recvmsg::<SockaddrStorage>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_DONTWAIT,
    )
    .ok()?;
    let from: SocketAddr = {
        let a = msg.address?;
        if let Some(v4) = a.as_sockaddr_in() {
            SocketAddr::new(IpAddr::V4(v4.ip()), v4.port())
        } else if let Some(v6) = a.as_sockaddr_in6() {
            SocketAddr::new(IpAddr::V6(v6.ip()), v6.port())
        } else {
            return None;
        }
    };
    let mut dst = None;
    let mut ttl = None;
    if let Ok(cmsgs) = msg.cmsgs() {
        for c in cmsgs {
            match c {
                ControlMessageOwned::Ipv4Ttl(t) => ttl = u8::try_from(t).ok(),
                ControlMessageOwned::Ipv6HopLimit(t) => ttl = u8::try_from(t).ok(),
                ControlMessageOwned::Ipv4PacketInfo(p) => {
                    dst = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(p.ipi_addr.s_addr))))
                }
                ControlMessageOwned::Ipv6PacketInfo(p) => {
                    dst = Some(IpAddr::V6(Ipv6Addr::from(p.ipi6_addr.s6_addr)))
                }
                _ => {}
            }
        }
    }
    Some(Recv {
        len: msg.bytes,
        from,
        dst,
        ttl,
    })
}

/// Commands to the runtime's thread.
#[derive(Debug)]
pub enum Command {
    /// Apply new sessions; the answer says whether all could start.
    Reload(
        Vec<SessionSpec>,
        std::sync::mpsc::Sender<Result<(), String>>,
    ),
    /// Status snapshot.
    Status(std::sync::mpsc::Sender<(Vec<SessionStatus>, GlobalRx)>),
    /// Stop (AdminDown to every peer).
    Shutdown,
}

/// The sending side of the runtime thread's command queue (wakes the thread).
#[derive(Debug, Clone)]
pub struct Handle {
    tx: std::sync::mpsc::Sender<Command>,
    wake: std::sync::Arc<std::os::unix::net::UnixDatagram>,
}

impl Handle {
    /// Queue a command; false when the thread is gone.
    pub fn send(&self, c: Command) -> bool {
        if self.tx.send(c).is_err() {
            return false;
        }
        let _ = self.wake.send(&[1]);
        true
    }
}

/// Start the runtime on its own thread; `on_event` gets every state report. Returns the
/// command handle and the thread (whose result is the runtime's).
pub fn spawn(
    specs: Vec<SessionSpec>,
    on_event: Box<dyn Fn(BfdEvent) + Send>,
) -> Result<(Handle, std::thread::JoinHandle<Result<(), BfdError>>), BfdError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (wake_tx, wake_rx) =
        std::os::unix::net::UnixDatagram::pair().map_err(sock_err("wake socket pair"))?;
    wake_rx
        .set_nonblocking(true)
        .map_err(sock_err("wake socket"))?;
    let mut rt = Runtime::new(&specs)?;
    let h = std::thread::Builder::new()
        .name("bfd".into())
        .spawn(move || run(&mut rt, &rx, &wake_rx, &*on_event))
        .map_err(sock_err("BFD thread"))?;
    Ok((
        Handle {
            tx,
            wake: std::sync::Arc::new(wake_tx),
        },
        h,
    ))
}

fn run(
    rt: &mut Runtime,
    cmds: &std::sync::mpsc::Receiver<Command>,
    wake: &std::os::unix::net::UnixDatagram,
    on_event: &dyn Fn(BfdEvent),
) -> Result<(), BfdError> {
    use nix::poll::{ppoll, PollFd, PollFlags};
    use nix::sys::time::TimeSpec;
    loop {
        for e in rt.take_events() {
            on_event(e);
        }
        let now = Instant::now();
        let wait = rt.next_deadline().map_or(Duration::from_secs(3600), |d| {
            d.saturating_duration_since(now)
        });
        let (ready, woken) = {
            let mut fds: Vec<PollFd<'_>> = rt
                .rx_fds()
                .into_iter()
                .map(|fd| PollFd::new(fd, PollFlags::POLLIN))
                .collect();
            fds.push(PollFd::new(wake.as_fd(), PollFlags::POLLIN));
            let _ = ppoll(&mut fds, Some(TimeSpec::from_duration(wait)), None);
            let ready: Vec<bool> = fds
                .iter()
                .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
                .collect();
            let woken = ready.last().copied().unwrap_or(false);
            (ready, woken)
        };
        for (k, r) in ready.iter().enumerate().take(ready.len().saturating_sub(1)) {
            if *r {
                rt.on_readable(k);
            }
        }
        rt.on_timers(Instant::now());
        if woken {
            let mut b = [0u8; 64];
            while wake.recv(&mut b).is_ok() {}
            while let Ok(c) = cmds.try_recv() {
                match c {
                    Command::Reload(specs, done) => {
                        let r = rt.reload(&specs).map_err(|e| e.to_string());
                        let _ = done.send(r);
                    }
                    Command::Status(reply) => {
                        let _ = reply.send((rt.status(), rt.global_rx.clone()));
                    }
                    Command::Shutdown => {
                        rt.shutdown();
                        for e in rt.take_events() {
                            on_event(e);
                        }
                        return Ok(());
                    }
                }
            }
        }
    }
}
