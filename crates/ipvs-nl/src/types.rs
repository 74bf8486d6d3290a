//! Domain types (what a director programs and reads back) and their conversion to and from the
//! attribute enums.

use crate::attr::{CmdAttr, DaemonAttr, DestAttr, FlagsMask, StatsAttr, SvcAttr};
use crate::consts::*;
use netlink_packet_core::DefaultNla;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Address family of a service or destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AddressFamily {
    Inet,
    Inet6,
}

impl AddressFamily {
    pub fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        }
    }
    pub fn raw(self) -> u16 {
        match self {
            AddressFamily::Inet => AF_INET,
            AddressFamily::Inet6 => AF_INET6,
        }
    }
    pub fn from_raw(af: u16) -> Option<Self> {
        match af {
            AF_INET => Some(AddressFamily::Inet),
            AF_INET6 => Some(AddressFamily::Inet6),
            _ => None,
        }
    }
}

/// Transport protocol of a virtual service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
    Other(u16),
}

impl Protocol {
    pub fn raw(self) -> u16 {
        match self {
            Protocol::Tcp => libc::IPPROTO_TCP as u16,
            Protocol::Udp => libc::IPPROTO_UDP as u16,
            Protocol::Sctp => libc::IPPROTO_SCTP as u16,
            Protocol::Other(p) => p,
        }
    }
    pub fn from_raw(p: u16) -> Self {
        match i32::from(p) {
            libc::IPPROTO_TCP => Protocol::Tcp,
            libc::IPPROTO_UDP => Protocol::Udp,
            libc::IPPROTO_SCTP => Protocol::Sctp,
            _ => Protocol::Other(p),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::Tcp => f.write_str("TCP"),
            Protocol::Udp => f.write_str("UDP"),
            Protocol::Sctp => f.write_str("SCTP"),
            Protocol::Other(p) => write!(f, "PROTO{p}"),
        }
    }
}

/// Identity of a virtual service: protocol/address/port, or firewall mark (+ family).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceKey {
    Addr {
        protocol: Protocol,
        addr: IpAddr,
        port: u16,
    },
    Fwmark {
        af: AddressFamily,
        mark: u32,
    },
}

impl ServiceKey {
    pub fn tcp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr,
            port,
        }
    }
    pub fn udp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr,
            port,
        }
    }
    pub fn fwmark(af: AddressFamily, mark: u32) -> Self {
        ServiceKey::Fwmark { af, mark }
    }
    pub fn af(&self) -> AddressFamily {
        match self {
            ServiceKey::Addr { addr, .. } => AddressFamily::of(addr),
            ServiceKey::Fwmark { af, .. } => *af,
        }
    }

    pub(crate) fn to_attrs(self) -> Vec<SvcAttr> {
        let mut v = vec![SvcAttr::Af(self.af().raw())];
        match self {
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => {
                v.push(SvcAttr::Protocol(protocol.raw()));
                v.push(SvcAttr::Addr(addr16(&addr).to_vec()));
                v.push(SvcAttr::Port(port));
            }
            ServiceKey::Fwmark { mark, .. } => v.push(SvcAttr::Fwmark(mark)),
        }
        v
    }
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr {
                protocol,
                addr: IpAddr::V6(a),
                port,
            } => write!(f, "{protocol} [{a}]:{port}"),
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => write!(f, "{protocol} {addr}:{port}"),
            ServiceKey::Fwmark { af, mark } => match af {
                AddressFamily::Inet => write!(f, "FWM {mark}"),
                AddressFamily::Inet6 => write!(f, "FWM {mark} IPv6"),
            },
        }
    }
}

/// `union nf_inet_addr` bytes: IPv4 in the first 4 bytes, the rest zero.
pub(crate) fn addr16(a: &IpAddr) -> [u8; 16] {
    let mut b = [0u8; 16];
    match a {
        IpAddr::V4(v4) => b[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => b = v6.octets(),
    }
    b
}

fn addr_from(raw: &[u8], af: AddressFamily) -> Option<IpAddr> {
    match af {
        AddressFamily::Inet => {
            let b: [u8; 4] = raw.get(..4)?.try_into().ok()?;
            Some(IpAddr::V4(Ipv4Addr::from(b)))
        }
        AddressFamily::Inet6 => {
            let b: [u8; 16] = raw.get(..16)?.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(b)))
        }
    }
}

/// Scheduler name. Unknown names are kept as text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scheduler {
    Rr,
    Wrr,
    Lc,
    Wlc,
    Lblc,
    Lblcr,
    Dh,
    Sh,
    Sed,
    Nq,
    Fo,
    Ovf,
    Mh,
    Twos,
    Other(String),
}

impl Scheduler {
    pub fn name(&self) -> &str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Lblc => "lblc",
            Scheduler::Lblcr => "lblcr",
            Scheduler::Dh => "dh",
            Scheduler::Sh => "sh",
            Scheduler::Sed => "sed",
            Scheduler::Nq => "nq",
            Scheduler::Fo => "fo",
            Scheduler::Ovf => "ovf",
            Scheduler::Mh => "mh",
            Scheduler::Twos => "twos",
            Scheduler::Other(s) => s,
        }
    }
    pub fn from_name(s: &str) -> Self {
        match s {
            "rr" => Scheduler::Rr,
            "wrr" => Scheduler::Wrr,
            "lc" => Scheduler::Lc,
            "wlc" => Scheduler::Wlc,
            "lblc" => Scheduler::Lblc,
            "lblcr" => Scheduler::Lblcr,
            "dh" => Scheduler::Dh,
            "sh" => Scheduler::Sh,
            "sed" => Scheduler::Sed,
            "nq" => Scheduler::Nq,
            "fo" => Scheduler::Fo,
            "ovf" => Scheduler::Ovf,
            "mh" => Scheduler::Mh,
            "twos" => Scheduler::Twos,
            other => Scheduler::Other(other.to_string()),
        }
    }
    /// All schedulers shipped with Linux.
    pub const KNOWN: [Scheduler; 14] = [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Lblc,
        Scheduler::Lblcr,
        Scheduler::Dh,
        Scheduler::Sh,
        Scheduler::Sed,
        Scheduler::Nq,
        Scheduler::Fo,
        Scheduler::Ovf,
        Scheduler::Mh,
        Scheduler::Twos,
    ];
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scheduler {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Scheduler::from_name(s))
    }
}

/// Virtual service flags (`IP_VS_SVC_F_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ServiceFlags(pub u32);

impl ServiceFlags {
    pub const PERSISTENT: ServiceFlags = ServiceFlags(IP_VS_SVC_F_PERSISTENT);
    /// Set by the kernel on every hashed (i.e. live) service; never sent.
    pub const HASHED: ServiceFlags = ServiceFlags(IP_VS_SVC_F_HASHED);
    pub const ONEPACKET: ServiceFlags = ServiceFlags(IP_VS_SVC_F_ONEPACKET);
    pub const SCHED1: ServiceFlags = ServiceFlags(IP_VS_SVC_F_SCHED1);
    pub const SCHED2: ServiceFlags = ServiceFlags(IP_VS_SVC_F_SCHED2);
    pub const SCHED3: ServiceFlags = ServiceFlags(IP_VS_SVC_F_SCHED3);
    pub const SH_FALLBACK: ServiceFlags = ServiceFlags(IP_VS_SVC_F_SCHED1);
    pub const SH_PORT: ServiceFlags = ServiceFlags(IP_VS_SVC_F_SCHED2);
    pub const MH_FALLBACK: ServiceFlags = ServiceFlags(IP_VS_SVC_F_SCHED1);
    pub const MH_PORT: ServiceFlags = ServiceFlags(IP_VS_SVC_F_SCHED2);

    pub const fn empty() -> Self {
        ServiceFlags(0)
    }
    pub const fn contains(self, other: ServiceFlags) -> bool {
        self.0 & other.0 == other.0
    }
    pub const fn union(self, other: ServiceFlags) -> Self {
        ServiceFlags(self.0 | other.0)
    }
    /// The flags a user configures (everything but HASHED).
    pub const fn configurable(self) -> Self {
        ServiceFlags(self.0 & !IP_VS_SVC_F_HASHED)
    }
}

impl std::ops::BitOr for ServiceFlags {
    type Output = ServiceFlags;
    fn bitor(self, rhs: Self) -> Self {
        self.union(rhs)
    }
}

/// A virtual service's configuration (identity + scheduling parameters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub key: ServiceKey,
    pub scheduler: Scheduler,
    /// As read back this includes HASHED; it is never sent and ignored by comparisons.
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (meaningful with `PERSISTENT`).
    pub timeout: u32,
    /// Persistence granularity: for IPv4 the mask as a big-endian integer (0xffff_ff00 is /24);
    /// for IPv6 the prefix length (1..=128).
    pub netmask: u32,
    /// Persistence engine (e.g. "sip").
    pub pe_name: Option<String>,
}

impl Service {
    /// A service with `ipvsadm`'s defaults: no flags, no persistence, full netmask.
    pub fn new(key: ServiceKey, scheduler: Scheduler) -> Self {
        let netmask = match key.af() {
            AddressFamily::Inet => u32::MAX,
            AddressFamily::Inet6 => 128,
        };
        Service {
            key,
            scheduler,
            flags: ServiceFlags::empty(),
            timeout: 0,
            netmask,
            pe_name: None,
        }
    }
    /// Make the service persistent with `timeout` seconds.
    pub fn persistent(mut self, timeout: u32) -> Self {
        self.flags = self.flags | ServiceFlags::PERSISTENT;
        self.timeout = timeout;
        self
    }
    pub fn with_flags(mut self, flags: ServiceFlags) -> Self {
        self.flags = self.flags | flags;
        self
    }

    /// Same configuration as `other` (HASHED ignored).
    pub fn same_config(&self, other: &Service) -> bool {
        self.key == other.key
            && self.scheduler == other.scheduler
            && self.flags.configurable() == other.flags.configurable()
            && self.timeout == other.timeout
            && self.netmask == other.netmask
            && self.pe_name.as_deref().unwrap_or("") == other.pe_name.as_deref().unwrap_or("")
    }

    fn netmask_bytes(&self) -> [u8; 4] {
        match self.key.af() {
            AddressFamily::Inet => self.netmask.to_be_bytes(),
            AddressFamily::Inet6 => self.netmask.to_ne_bytes(),
        }
    }

    /// Full attribute set for NEW_SERVICE / SET_SERVICE (the shape ipvsadm sends).
    pub(crate) fn to_attrs(&self) -> Vec<SvcAttr> {
        let mut v = self.key.to_attrs();
        v.push(SvcAttr::SchedName(self.scheduler.name().to_string()));
        if let Some(pe) = self.pe_name.as_ref().filter(|p| !p.is_empty()) {
            v.push(SvcAttr::PeName(pe.clone()));
        }
        v.push(SvcAttr::Flags(FlagsMask {
            flags: self.flags.configurable().0,
            mask: u32::MAX,
        }));
        v.push(SvcAttr::Timeout(self.timeout));
        v.push(SvcAttr::Netmask(self.netmask_bytes()));
        v
    }
}

/// Traffic counters and rates (64-bit; filled from STATS64 when the kernel sends it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    pub inbps: u64,
    pub outbps: u64,
}

impl Stats {
    fn from_attrs(attrs: &[StatsAttr]) -> Stats {
        let mut s = Stats::default();
        for a in attrs {
            let (k, v) = match a {
                StatsAttr::U32(k, v) => (*k, u64::from(*v)),
                StatsAttr::U64(k, v) => (*k, *v),
                _ => continue,
            };
            let slot = match k {
                IPVS_STATS_ATTR_CONNS => &mut s.conns,
                IPVS_STATS_ATTR_INPKTS => &mut s.inpkts,
                IPVS_STATS_ATTR_OUTPKTS => &mut s.outpkts,
                IPVS_STATS_ATTR_INBYTES => &mut s.inbytes,
                IPVS_STATS_ATTR_OUTBYTES => &mut s.outbytes,
                IPVS_STATS_ATTR_CPS => &mut s.cps,
                IPVS_STATS_ATTR_INPPS => &mut s.inpps,
                IPVS_STATS_ATTR_OUTPPS => &mut s.outpps,
                IPVS_STATS_ATTR_INBPS => &mut s.inbps,
                IPVS_STATS_ATTR_OUTBPS => &mut s.outbps,
                _ => continue,
            };
            *slot = v;
        }
        s
    }
}

/// A service as read from the kernel: configuration, counters, and unknown attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceInfo {
    pub service: Service,
    pub stats: Stats,
    /// True when the kernel sent 64-bit stats (`IPVS_SVC_ATTR_STATS64`).
    pub stats64: bool,
    /// Attributes this crate does not know, kept verbatim.
    pub unknown: Vec<DefaultNla>,
}

impl ServiceInfo {
    /// Build from the attributes nested in `IPVS_CMD_ATTR_SERVICE`; `None` names the missing part.
    pub fn from_attrs(attrs: &[SvcAttr]) -> Result<ServiceInfo, &'static str> {
        let (mut af, mut proto, mut addr, mut port, mut fwmark) = (None, None, None, None, None);
        let (mut sched, mut flags, mut timeout, mut netmask, mut pe) = (None, 0, 0, None, None);
        let (mut stats32, mut stats64) = (None, None);
        let mut unknown = Vec::new();
        for a in attrs {
            match a {
                SvcAttr::Af(v) => af = Some(*v),
                SvcAttr::Protocol(v) => proto = Some(*v),
                SvcAttr::Addr(v) => addr = Some(v.as_slice()),
                SvcAttr::Port(v) => port = Some(*v),
                SvcAttr::Fwmark(v) => fwmark = Some(*v),
                SvcAttr::SchedName(v) => sched = Some(v.as_str()),
                SvcAttr::Flags(f) => flags = f.flags & f.mask,
                SvcAttr::Timeout(v) => timeout = *v,
                SvcAttr::Netmask(v) => netmask = Some(*v),
                SvcAttr::Stats(v) => stats32 = Some(v.as_slice()),
                SvcAttr::PeName(v) => pe = Some(v.clone()),
                SvcAttr::Stats64(v) => stats64 = Some(v.as_slice()),
                SvcAttr::Other(n) => unknown.push(n.clone()),
            }
        }
        let af = AddressFamily::from_raw(af.ok_or("service address family")?)
            .ok_or("a known service address family")?;
        let key = match fwmark {
            Some(mark) if mark != 0 => ServiceKey::Fwmark { af, mark },
            _ => ServiceKey::Addr {
                protocol: Protocol::from_raw(proto.ok_or("service protocol")?),
                addr: addr_from(addr.ok_or("service address")?, af).ok_or("a valid address")?,
                port: port.ok_or("service port")?,
            },
        };
        let netmask = match (netmask, af) {
            (Some(b), AddressFamily::Inet) => u32::from_be_bytes(b),
            (Some(b), AddressFamily::Inet6) => u32::from_ne_bytes(b),
            (None, AddressFamily::Inet) => u32::MAX,
            (None, AddressFamily::Inet6) => 128,
        };
        let stats = match (stats64, stats32) {
            (Some(s), _) | (None, Some(s)) => Stats::from_attrs(s),
            _ => Stats::default(),
        };
        Ok(ServiceInfo {
            service: Service {
                key,
                scheduler: Scheduler::from_name(sched.unwrap_or("none")),
                flags: ServiceFlags(flags),
                timeout,
                netmask,
                pe_name: pe.filter(|p| !p.is_empty()),
            },
            stats,
            stats64: stats64.is_some(),
            unknown,
        })
    }
}

/// Tunnel encapsulation type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TunnelType {
    Ipip,
    Gue,
    Gre,
    Other(u8),
}

impl TunnelType {
    pub fn raw(self) -> u8 {
        match self {
            TunnelType::Ipip => IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
            TunnelType::Gue => IP_VS_CONN_F_TUNNEL_TYPE_GUE,
            TunnelType::Gre => IP_VS_CONN_F_TUNNEL_TYPE_GRE,
            TunnelType::Other(v) => v,
        }
    }
    pub fn from_raw(v: u8) -> Self {
        match v {
            IP_VS_CONN_F_TUNNEL_TYPE_IPIP => TunnelType::Ipip,
            IP_VS_CONN_F_TUNNEL_TYPE_GUE => TunnelType::Gue,
            IP_VS_CONN_F_TUNNEL_TYPE_GRE => TunnelType::Gre,
            v => TunnelType::Other(v),
        }
    }
}

/// Tunnel encapsulation flags (`IP_VS_TUNNEL_ENCAP_FLAG_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TunnelFlags(pub u16);

impl TunnelFlags {
    pub const NOCSUM: TunnelFlags = TunnelFlags(IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM);
    pub const CSUM: TunnelFlags = TunnelFlags(IP_VS_TUNNEL_ENCAP_FLAG_CSUM);
    pub const REMCSUM: TunnelFlags = TunnelFlags(IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM);
}

/// Tunnel parameters of a tunnelled destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tunnel {
    pub kind: TunnelType,
    /// Destination UDP port for GUE (host order); 0 otherwise.
    pub port: u16,
    pub flags: TunnelFlags,
}

impl Tunnel {
    pub const IPIP: Tunnel = Tunnel {
        kind: TunnelType::Ipip,
        port: 0,
        flags: TunnelFlags(0),
    };
}

/// Forwarding method of a destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Forward {
    /// NAT.
    Masq,
    Local,
    Tunnel(Tunnel),
    /// Direct routing ("gatewaying").
    Route,
    Bypass,
    Other(u32),
}

impl Forward {
    pub fn raw(&self) -> u32 {
        match self {
            Forward::Masq => IP_VS_CONN_F_MASQ,
            Forward::Local => IP_VS_CONN_F_LOCALNODE,
            Forward::Tunnel(_) => IP_VS_CONN_F_TUNNEL,
            Forward::Route => IP_VS_CONN_F_DROUTE,
            Forward::Bypass => IP_VS_CONN_F_BYPASS,
            Forward::Other(v) => *v,
        }
    }
    /// ipvsadm's column name.
    pub fn name(&self) -> &'static str {
        match self {
            Forward::Masq => "Masq",
            Forward::Local => "Local",
            Forward::Tunnel(_) => "Tunnel",
            Forward::Route => "Route",
            Forward::Bypass => "Bypass",
            Forward::Other(_) => "Unknown",
        }
    }
}

/// Identity of a destination within its service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DestKey {
    pub addr: IpAddr,
    pub port: u16,
}

/// A real server's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    pub addr: IpAddr,
    pub port: u16,
    pub forward: Forward,
    pub weight: u32,
    pub upper_threshold: u32,
    pub lower_threshold: u32,
}

impl Destination {
    /// A destination with weight 1, no thresholds.
    pub fn new(addr: IpAddr, port: u16, forward: Forward) -> Self {
        Destination {
            addr,
            port,
            forward,
            weight: 1,
            upper_threshold: 0,
            lower_threshold: 0,
        }
    }
    pub fn with_weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }
    pub fn key(&self) -> DestKey {
        DestKey {
            addr: self.addr,
            port: self.port,
        }
    }

    /// Full attribute set for NEW_DEST / SET_DEST.
    pub(crate) fn to_attrs(&self) -> Vec<DestAttr> {
        let mut v = vec![
            DestAttr::Addr(addr16(&self.addr).to_vec()),
            DestAttr::Port(self.port),
            DestAttr::FwdMethod(self.forward.raw()),
            DestAttr::Weight(self.weight),
        ];
        if let Forward::Tunnel(t) = &self.forward {
            v.push(DestAttr::TunType(t.kind.raw()));
            v.push(DestAttr::TunPort(t.port));
            v.push(DestAttr::TunFlags(t.flags.0));
        }
        v.push(DestAttr::UThresh(self.upper_threshold));
        v.push(DestAttr::LThresh(self.lower_threshold));
        v.push(DestAttr::AddrFamily(AddressFamily::of(&self.addr).raw()));
        v
    }

    /// Identifying attributes only (DEL_DEST).
    pub(crate) fn key_attrs(key: &DestKey) -> Vec<DestAttr> {
        vec![
            DestAttr::Addr(addr16(&key.addr).to_vec()),
            DestAttr::Port(key.port),
            DestAttr::AddrFamily(AddressFamily::of(&key.addr).raw()),
        ]
    }
}

/// A destination as read from the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestinationInfo {
    pub dest: Destination,
    pub active_conns: u32,
    pub inactive_conns: u32,
    pub persistent_conns: u32,
    pub stats: Stats,
    pub stats64: bool,
    pub unknown: Vec<DefaultNla>,
}

impl DestinationInfo {
    /// Build from the attributes nested in `IPVS_CMD_ATTR_DEST`. `svc_af` is used when the kernel
    /// omits `IPVS_DEST_ATTR_ADDR_FAMILY` (kernels before 4.3).
    pub fn from_attrs(
        attrs: &[DestAttr],
        svc_af: AddressFamily,
    ) -> Result<DestinationInfo, &'static str> {
        let (mut addr, mut port, mut fwd, mut weight, mut u, mut l) = (None, None, None, 0, 0, 0);
        let (mut act, mut inact, mut pers, mut af) = (0, 0, 0, None);
        let (mut tt, mut tp, mut tf) = (0u8, 0u16, 0u16);
        let (mut stats32, mut stats64) = (None, None);
        let mut unknown = Vec::new();
        for a in attrs {
            match a {
                DestAttr::Addr(v) => addr = Some(v.as_slice()),
                DestAttr::Port(v) => port = Some(*v),
                DestAttr::FwdMethod(v) => fwd = Some(*v),
                DestAttr::Weight(v) => weight = *v,
                DestAttr::UThresh(v) => u = *v,
                DestAttr::LThresh(v) => l = *v,
                DestAttr::ActiveConns(v) => act = *v,
                DestAttr::InactConns(v) => inact = *v,
                DestAttr::PersistConns(v) => pers = *v,
                DestAttr::Stats(v) => stats32 = Some(v.as_slice()),
                DestAttr::AddrFamily(v) => af = Some(*v),
                DestAttr::Stats64(v) => stats64 = Some(v.as_slice()),
                DestAttr::TunType(v) => tt = *v,
                DestAttr::TunPort(v) => tp = *v,
                DestAttr::TunFlags(v) => tf = *v,
                DestAttr::Other(n) => unknown.push(n.clone()),
            }
        }
        let af = match af {
            Some(raw) => AddressFamily::from_raw(raw).ok_or("a known destination family")?,
            None => svc_af,
        };
        let fwd = fwd.ok_or("destination forwarding method")? & IP_VS_CONN_F_FWD_MASK;
        let forward = match fwd {
            IP_VS_CONN_F_MASQ => Forward::Masq,
            IP_VS_CONN_F_LOCALNODE => Forward::Local,
            IP_VS_CONN_F_TUNNEL => Forward::Tunnel(Tunnel {
                kind: TunnelType::from_raw(tt),
                port: tp,
                flags: TunnelFlags(tf),
            }),
            IP_VS_CONN_F_DROUTE => Forward::Route,
            IP_VS_CONN_F_BYPASS => Forward::Bypass,
            v => Forward::Other(v),
        };
        let stats = match (stats64, stats32) {
            (Some(s), _) | (None, Some(s)) => Stats::from_attrs(s),
            _ => Stats::default(),
        };
        Ok(DestinationInfo {
            dest: Destination {
                addr: addr_from(addr.ok_or("destination address")?, af)
                    .ok_or("a valid destination address")?,
                port: port.ok_or("destination port")?,
                forward,
                weight,
                upper_threshold: u,
                lower_threshold: l,
            },
            active_conns: act,
            inactive_conns: inact,
            persistent_conns: pers,
            stats,
            stats64: stats64.is_some(),
            unknown,
        })
    }
}

/// GET_INFO: IPVS version and connection hash table size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    pub version: u32,
    pub conn_tab_size: u32,
}

impl Info {
    /// "1.2.1"
    pub fn version_string(&self) -> String {
        format!(
            "{}.{}.{}",
            (self.version >> 16) & 0xff,
            (self.version >> 8) & 0xff,
            self.version & 0xff
        )
    }
    pub fn from_attrs(attrs: &[CmdAttr]) -> Result<Info, &'static str> {
        let mut version = None;
        let mut size = None;
        for a in attrs {
            match a {
                CmdAttr::InfoVersion(v) => version = Some(*v),
                CmdAttr::InfoConnTabSize(v) => size = Some(*v),
                _ => {}
            }
        }
        Ok(Info {
            version: version.ok_or("IPVS_INFO_ATTR_VERSION")?,
            conn_tab_size: size.ok_or("IPVS_INFO_ATTR_CONN_TAB_SIZE")?,
        })
    }
}

/// Connection timeouts in seconds (`ipvsadm --set tcp tcpfin udp`). On set, 0 leaves a value
/// unchanged (kernel semantics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcp_fin: u32,
    pub udp: u32,
}

impl Timeouts {
    pub fn from_attrs(attrs: &[CmdAttr]) -> Timeouts {
        let mut t = Timeouts::default();
        for a in attrs {
            match a {
                CmdAttr::TimeoutTcp(v) => t.tcp = *v,
                CmdAttr::TimeoutTcpFin(v) => t.tcp_fin = *v,
                CmdAttr::TimeoutUdp(v) => t.udp = *v,
                _ => {}
            }
        }
        t
    }
    pub(crate) fn to_attrs(self) -> Vec<CmdAttr> {
        let mut v = Vec::new();
        if self.tcp != 0 {
            v.push(CmdAttr::TimeoutTcp(self.tcp));
        }
        if self.tcp_fin != 0 {
            v.push(CmdAttr::TimeoutTcpFin(self.tcp_fin));
        }
        if self.udp != 0 {
            v.push(CmdAttr::TimeoutUdp(self.udp));
        }
        v
    }
}

/// Sync daemon role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonState {
    Master,
    Backup,
}

impl DaemonState {
    pub fn raw(self) -> u32 {
        match self {
            DaemonState::Master => IP_VS_STATE_MASTER,
            DaemonState::Backup => IP_VS_STATE_BACKUP,
        }
    }
}

/// Connection synchronisation daemon configuration/status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncDaemon {
    pub state: DaemonState,
    pub mcast_ifn: String,
    pub syncid: u32,
    /// Max sync message payload (kernel default when None/0).
    pub maxlen: Option<u16>,
    pub mcast_group: Option<IpAddr>,
    pub mcast_port: Option<u16>,
    pub mcast_ttl: Option<u8>,
}

impl SyncDaemon {
    pub fn new(state: DaemonState, mcast_ifn: &str, syncid: u32) -> Self {
        SyncDaemon {
            state,
            mcast_ifn: mcast_ifn.to_string(),
            syncid,
            maxlen: None,
            mcast_group: None,
            mcast_port: None,
            mcast_ttl: None,
        }
    }
    pub(crate) fn to_attrs(&self) -> Vec<DaemonAttr> {
        let mut v = vec![
            DaemonAttr::State(self.state.raw()),
            DaemonAttr::McastIfn(self.mcast_ifn.clone()),
            DaemonAttr::SyncId(self.syncid),
        ];
        if let Some(m) = self.maxlen {
            v.push(DaemonAttr::SyncMaxlen(m));
        }
        match self.mcast_group {
            Some(IpAddr::V4(a)) => v.push(DaemonAttr::McastGroup(a)),
            Some(IpAddr::V6(a)) => v.push(DaemonAttr::McastGroup6(a)),
            None => {}
        }
        if let Some(p) = self.mcast_port {
            v.push(DaemonAttr::McastPort(p));
        }
        if let Some(t) = self.mcast_ttl {
            v.push(DaemonAttr::McastTtl(t));
        }
        v
    }
    pub fn from_attrs(attrs: &[DaemonAttr]) -> Result<SyncDaemon, &'static str> {
        let mut d = SyncDaemon::new(DaemonState::Master, "", 0);
        let mut state = None;
        for a in attrs {
            match a {
                DaemonAttr::State(s) => state = Some(*s),
                DaemonAttr::McastIfn(s) => d.mcast_ifn = s.clone(),
                DaemonAttr::SyncId(v) => d.syncid = *v,
                DaemonAttr::SyncMaxlen(v) => d.maxlen = Some(*v),
                DaemonAttr::McastGroup(a) => d.mcast_group = Some(IpAddr::V4(*a)),
                DaemonAttr::McastGroup6(a) => d.mcast_group = Some(IpAddr::V6(*a)),
                DaemonAttr::McastPort(v) => d.mcast_port = Some(*v),
                DaemonAttr::McastTtl(v) => d.mcast_ttl = Some(*v),
                DaemonAttr::Other(_) => {}
            }
        }
        d.state = match state.ok_or("IPVS_DAEMON_ATTR_STATE")? {
            IP_VS_STATE_MASTER => DaemonState::Master,
            IP_VS_STATE_BACKUP => DaemonState::Backup,
            _ => return Err("a known daemon state"),
        };
        Ok(d)
    }
}

/// A virtual service with its destinations: the unit of desired and actual state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualService {
    pub service: Service,
    pub destinations: Vec<Destination>,
}

impl VirtualService {
    pub fn new(service: Service, destinations: Vec<Destination>) -> Self {
        VirtualService {
            service,
            destinations,
        }
    }
}

#[cfg(test)]
mod tests;
