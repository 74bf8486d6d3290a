//! Virtual servers, real servers and schedulers.

use super::*;

/// The `SSL` block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SslConfig {
    /// `password`.
    pub password: Option<String>,
    /// `ca`.
    pub ca: Option<String>,
    /// `certificate`.
    pub certificate: Option<String>,
    /// `key`.
    pub key: Option<String>,
}

/// An entry of a `virtual_server_group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VsgEntry {
    /// `IP[-LAST_OCTET_OR_GROUP] PORT`: an address range (first..=last) and a port.
    Range {
        /// First address.
        first: IpAddr,
        /// Last address (== first for a single address).
        last: IpAddr,
        /// Port (0 = any).
        port: u16,
    },
    /// `fwmark N`.
    Fwmark(u32),
}

/// `virtual_server_group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServerGroup {
    /// Name.
    pub name: String,
    /// Entries.
    pub entries: Vec<VsgEntry>,
    /// Where.
    pub loc: Loc,
}

/// What a `virtual_server` is keyed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VsKey {
    /// `virtual_server IP PORT`.
    Addr(IpAddr, u16),
    /// `virtual_server fwmark N`.
    Fwmark(u32),
    /// `virtual_server group NAME`.
    Group(String),
}

/// IPVS forwarding method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LbKind {
    /// NAT / masquerading (keepalived's default).
    #[default]
    Nat,
    /// Direct routing.
    Dr,
    /// IP-in-IP tunnelling.
    Tun,
}

/// Service protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// TCP (default).
    #[default]
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

/// `virtual_server`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServer {
    /// Address / fwmark / group.
    pub key: VsKey,
    /// `ip_family inet|inet6`.
    pub ip_family: Option<IpFamily>,
    /// `delay_loop` (default 60 s).
    pub delay_loop: Duration,
    /// `lb_algo` / `lvs_sched` (default wlc).
    pub lb_algo: Scheduler,
    /// Scheduler flags: `hashed`, `ops`, `flag-1`.., `sh-port`, `sh-fallback`, `mh-port`, `mh-fallback`.
    pub sched_flags: SchedFlags,
    /// `lb_kind` / `lvs_method` (default NAT).
    pub lb_kind: LbKind,
    /// `persistence_timeout` (seconds; bare keyword = 360).
    pub persistence_timeout: Option<u32>,
    /// `persistence_granularity`: an IPv4 netmask or an IPv6 prefix length.
    pub persistence_granularity: Option<Granularity>,
    /// `persistence_engine`.
    pub persistence_engine: Option<String>,
    /// `protocol`.
    pub protocol: Protocol,
    /// `ha_suspend`.
    pub ha_suspend: bool,
    /// `virtualhost` (for HTTP checkers).
    pub virtualhost: Option<String>,
    /// `alpha`.
    pub alpha: bool,
    /// `omega`.
    pub omega: bool,
    /// `quorum` (default 1).
    pub quorum: u32,
    /// `hysteresis` (default 0).
    pub hysteresis: u32,
    /// `quorum_up` script.
    pub quorum_up: Option<Box<Script>>,
    /// `quorum_down` script.
    pub quorum_down: Option<Box<Script>>,
    /// `weight` of the service (used with fwmark groups; default 1).
    pub weight: u32,
    /// `inhibit_on_failure` default for real servers.
    pub inhibit_on_failure: bool,
    /// `retry` default for checkers.
    pub retry: Option<u32>,
    /// `delay_before_retry` default for checkers.
    pub delay_before_retry: Option<Duration>,
    /// `warmup` default for checkers.
    pub warmup: Option<Duration>,
    /// `connect_timeout` default for checkers.
    pub connect_timeout: Option<Duration>,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// `sorry_server IP PORT`.
    pub sorry_server: Option<(IpAddr, u16)>,
    /// `sorry_server_inhibit`.
    pub sorry_server_inhibit: bool,
    /// `sorry_server_lvs_method`.
    pub sorry_server_lvs_method: Option<LbKind>,
    /// `snmp_name`.
    pub snmp_name: Option<String>,
    /// `real_server` blocks.
    pub real_servers: Vec<RealServer>,
    /// Recognized keywords not modelled.
    pub extra: Vec<Stmt>,
    /// Where.
    pub loc: Loc,
}

impl VirtualServer {
    /// A virtual server with keepalived's defaults.
    pub fn new(key: VsKey) -> VirtualServer {
        VirtualServer {
            key,
            ip_family: None,
            delay_loop: Duration::from_secs(60),
            lb_algo: Scheduler::Wlc,
            sched_flags: SchedFlags::default(),
            lb_kind: LbKind::Nat,
            persistence_timeout: None,
            persistence_granularity: None,
            persistence_engine: None,
            protocol: Protocol::Tcp,
            ha_suspend: false,
            virtualhost: None,
            alpha: false,
            omega: false,
            quorum: 1,
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            weight: 1,
            inhibit_on_failure: false,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            connect_timeout: None,
            smtp_alert: None,
            sorry_server: None,
            sorry_server_inhibit: false,
            sorry_server_lvs_method: None,
            snmp_name: None,
            real_servers: Vec::new(),
            extra: Vec::new(),
            loc: Loc::default(),
        }
    }
}

/// `real_server`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServer {
    /// Address.
    pub addr: IpAddr,
    /// Port (None for fwmark services without port).
    pub port: Option<u16>,
    /// `weight` (default 1).
    pub weight: u32,
    /// `lvs_method` override.
    pub lvs_method: Option<LbKind>,
    /// `uthreshold`.
    pub uthreshold: Option<u32>,
    /// `lthreshold`.
    pub lthreshold: Option<u32>,
    /// `inhibit_on_failure` (None = virtual server's).
    pub inhibit_on_failure: Option<bool>,
    /// `notify_up`.
    pub notify_up: Option<Box<Script>>,
    /// `notify_down`.
    pub notify_down: Option<Box<Script>>,
    /// `alpha`.
    pub alpha: Option<bool>,
    /// `retry` default for its checkers.
    pub retry: Option<u32>,
    /// `delay_before_retry` default.
    pub delay_before_retry: Option<Duration>,
    /// `warmup` default.
    pub warmup: Option<Duration>,
    /// `connect_timeout` default.
    pub connect_timeout: Option<Duration>,
    /// `delay_loop` default.
    pub delay_loop: Option<Duration>,
    /// `smtp_alert`.
    pub smtp_alert: Option<bool>,
    /// `virtualhost`.
    pub virtualhost: Option<String>,
    /// `snmp_name`.
    pub snmp_name: Option<String>,
    /// Health checkers.
    pub checkers: Vec<Checker>,
    /// Recognized keywords not modelled.
    pub extra: Vec<Stmt>,
    /// Where.
    pub loc: Loc,
}

impl RealServer {
    /// A real server with keepalived's defaults.
    pub fn new(addr: IpAddr, port: Option<u16>) -> RealServer {
        RealServer {
            addr,
            port,
            weight: 1,
            lvs_method: None,
            uthreshold: None,
            lthreshold: None,
            inhibit_on_failure: None,
            notify_up: None,
            notify_down: None,
            alpha: None,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            connect_timeout: None,
            delay_loop: None,
            smtp_alert: None,
            virtualhost: None,
            snmp_name: None,
            checkers: Vec::new(),
            extra: Vec::new(),
            loc: Loc::default(),
        }
    }
}

/// An IPVS scheduler keepalived accepts (`lvs_schedulers[]` in `check_parser.c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scheduler {
    /// Round robin.
    Rr,
    /// Weighted round robin.
    Wrr,
    /// Least connection.
    Lc,
    /// Weighted least connection (keepalived's default).
    #[default]
    Wlc,
    /// Locality-based least connection.
    Lblc,
    /// Source hashing.
    Sh,
    /// Maglev hashing.
    Mh,
    /// Destination hashing.
    Dh,
    /// Weighted failover.
    Fo,
    /// Weighted overflow.
    Ovf,
    /// Locality-based least connection with replication.
    Lblcr,
    /// Shortest expected delay.
    Sed,
    /// Never queue.
    Nq,
    /// Weighted random twos choice.
    Twos,
}

impl Scheduler {
    /// Every scheduler, in keepalived's order.
    pub const ALL: [Scheduler; 14] = [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Lblc,
        Scheduler::Sh,
        Scheduler::Mh,
        Scheduler::Dh,
        Scheduler::Fo,
        Scheduler::Ovf,
        Scheduler::Lblcr,
        Scheduler::Sed,
        Scheduler::Nq,
        Scheduler::Twos,
    ];

    /// The kernel's (and keepalived's) name.
    pub fn name(self) -> &'static str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Lblc => "lblc",
            Scheduler::Sh => "sh",
            Scheduler::Mh => "mh",
            Scheduler::Dh => "dh",
            Scheduler::Fo => "fo",
            Scheduler::Ovf => "ovf",
            Scheduler::Lblcr => "lblcr",
            Scheduler::Sed => "sed",
            Scheduler::Nq => "nq",
            Scheduler::Twos => "twos",
        }
    }

    /// The scheduler of that exact (case-sensitive) name.
    pub fn from_name(s: &str) -> Option<Scheduler> {
        Scheduler::ALL.into_iter().find(|x| x.name() == s)
    }
}

impl std::fmt::Display for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A virtual server's scheduler flags (`ops`, `flag-1..3`, and the `sh-`/`mh-` aliases of
/// flag-1 (fallback) and flag-2 (port)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SchedFlags {
    /// `ops`: one-packet scheduling.
    pub ops: bool,
    /// `flag-1` (`sh-fallback`, `mh-fallback`).
    pub flag1: bool,
    /// `flag-2` (`sh-port`, `mh-port`).
    pub flag2: bool,
    /// `flag-3`.
    pub flag3: bool,
}
