//! IP addresses: list, add, replace, delete (`ip address`).

use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use netlink_packet_route::{
    address::{
        AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope, CacheInfo,
    },
    AddressFamily, RouteNetlinkMessage,
};

use crate::{Error, Prepared, Result, Rtnl, IFNAME_MAX};

/// Address scope (`RT_SCOPE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Scope {
    /// `global`: usable from anywhere (the default).
    #[default]
    Universe,
    /// `site` (IPv6 site-local, obsolete).
    Site,
    /// `link`: valid on this link only.
    Link,
    /// `host`: valid inside this host only (127.0.0.1).
    Host,
    /// `nowhere`.
    Nowhere,
    /// Any other numeric scope.
    Other(u8),
}

impl Scope {
    fn to_nl(self) -> AddressScope {
        match self {
            Scope::Universe => AddressScope::Universe,
            Scope::Site => AddressScope::Site,
            Scope::Link => AddressScope::Link,
            Scope::Host => AddressScope::Host,
            Scope::Nowhere => AddressScope::Nowhere,
            Scope::Other(n) => AddressScope::Other(n),
        }
    }
    /// The same scope for a route (`RT_SCOPE_*` share the values of address scopes).
    pub(crate) fn to_route_scope(self) -> netlink_packet_route::route::RouteScope {
        netlink_packet_route::route::RouteScope::from(u8::from(self.to_nl()))
    }
    fn from_nl(s: AddressScope) -> Self {
        match s {
            AddressScope::Universe => Scope::Universe,
            AddressScope::Site => Scope::Site,
            AddressScope::Link => Scope::Link,
            AddressScope::Host => Scope::Host,
            AddressScope::Nowhere => Scope::Nowhere,
            AddressScope::Other(n) => Scope::Other(n),
            _ => Scope::Other(u8::from(s)),
        }
    }
}

/// Address flags (`IFA_F_*`), as a plain bit set so callers do not depend on the
/// netlink crate's types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct AddrFlags(pub u32);

impl AddrFlags {
    /// `IFA_F_SECONDARY` (IPv4 secondary / IPv6 temporary).
    pub const SECONDARY: AddrFlags = AddrFlags(0x01);
    /// `IFA_F_NODAD`: skip IPv6 duplicate address detection.
    pub const NODAD: AddrFlags = AddrFlags(0x02);
    /// `IFA_F_OPTIMISTIC`.
    pub const OPTIMISTIC: AddrFlags = AddrFlags(0x04);
    /// `IFA_F_DADFAILED`.
    pub const DADFAILED: AddrFlags = AddrFlags(0x08);
    /// `IFA_F_DEPRECATED`.
    pub const DEPRECATED: AddrFlags = AddrFlags(0x20);
    /// `IFA_F_TENTATIVE`: IPv6 DAD still running.
    pub const TENTATIVE: AddrFlags = AddrFlags(0x40);
    /// `IFA_F_PERMANENT`.
    pub const PERMANENT: AddrFlags = AddrFlags(0x80);
    /// `IFA_F_NOPREFIXROUTE`: do not create the prefix route.
    pub const NOPREFIXROUTE: AddrFlags = AddrFlags(0x200);
    /// `IFA_F_MCAUTOJOIN`.
    pub const MCAUTOJOIN: AddrFlags = AddrFlags(0x400);

    /// No flags.
    pub const fn empty() -> Self {
        AddrFlags(0)
    }
    /// True when every bit of `other` is set.
    pub const fn contains(self, other: AddrFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for AddrFlags {
    type Output = AddrFlags;
    fn bitor(self, rhs: AddrFlags) -> AddrFlags {
        AddrFlags(self.0 | rhs.0)
    }
}

/// What to add or delete: `ip addr add ADDR/PREFIX [peer P] [broadcast B] [label L]
/// [scope S] [valid_lft V preferred_lft P] [nodad] [noprefixroute] dev IFINDEX`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AddressSpec {
    /// Interface index.
    pub index: u32,
    /// The local address.
    pub addr: IpAddr,
    /// Prefix length (32/128 for a host address).
    pub prefix_len: u8,
    /// Point-to-point peer (`IFA_ADDRESS` when different from the local address).
    pub peer: Option<IpAddr>,
    /// IPv4 broadcast address.
    pub broadcast: Option<Ipv4Addr>,
    /// IPv4 label (`lo:0` style, at most 15 bytes, must start with the device name).
    pub label: Option<String>,
    /// Scope.
    pub scope: Scope,
    /// Valid lifetime in seconds (`None` = forever).
    pub valid_lft: Option<u32>,
    /// Preferred lifetime in seconds (`None` = forever).
    pub preferred_lft: Option<u32>,
    /// Flags such as [`AddrFlags::NODAD`] and [`AddrFlags::NOPREFIXROUTE`].
    pub flags: AddrFlags,
    /// Route metric of the prefix route (`IFA_RT_PRIORITY`).
    pub metric: Option<u32>,
}

impl AddressSpec {
    /// A spec with global scope, no label, infinite lifetimes and no flags.
    pub fn new(index: u32, addr: IpAddr, prefix_len: u8) -> Self {
        AddressSpec {
            index,
            addr,
            prefix_len,
            peer: None,
            broadcast: None,
            label: None,
            scope: Scope::Universe,
            valid_lft: None,
            preferred_lft: None,
            flags: AddrFlags::empty(),
            metric: None,
        }
    }
    /// Sets the label.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }
    /// Sets the scope.
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }
    /// Sets the IPv4 broadcast address.
    pub fn broadcast(mut self, b: Ipv4Addr) -> Self {
        self.broadcast = Some(b);
        self
    }
    /// Sets the point-to-point peer.
    pub fn peer(mut self, p: IpAddr) -> Self {
        self.peer = Some(p);
        self
    }
    /// Adds flags.
    pub fn flags(mut self, f: AddrFlags) -> Self {
        self.flags = self.flags | f;
        self
    }
    /// Sets valid and preferred lifetimes (seconds).
    pub fn lifetimes(mut self, valid: u32, preferred: u32) -> Self {
        self.valid_lft = Some(valid);
        self.preferred_lft = Some(preferred);
        self
    }
    /// Sets the prefix route metric.
    pub fn metric(mut self, m: u32) -> Self {
        self.metric = Some(m);
        self
    }

    fn validate(&self) -> Result<()> {
        let max = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix_len > max {
            return Err(Error::Invalid(format!(
                "prefix length {} is larger than {max} for {}",
                self.prefix_len, self.addr
            )));
        }
        if let Some(l) = &self.label {
            if self.addr.is_ipv6() {
                return Err(Error::Invalid("IPv6 addresses have no label".into()));
            }
            if l.is_empty() || l.len() > IFNAME_MAX {
                return Err(Error::Invalid(format!(
                    "label {l:?} must be 1-{IFNAME_MAX} bytes"
                )));
            }
        }
        if self.broadcast.is_some() && self.addr.is_ipv6() {
            return Err(Error::Invalid("IPv6 addresses have no broadcast".into()));
        }
        if let Some(p) = self.peer {
            if p.is_ipv4() != self.addr.is_ipv4() {
                return Err(Error::Invalid("peer and address families differ".into()));
            }
        }
        Ok(())
    }

    fn to_message(&self, full: bool) -> AddressMessage {
        let mut msg = AddressMessage::default();
        msg.header.family = if self.addr.is_ipv4() {
            AddressFamily::Inet
        } else {
            AddressFamily::Inet6
        };
        msg.header.prefix_len = self.prefix_len;
        msg.header.index = self.index;
        msg.header.scope = self.scope.to_nl();
        // The header carries the low 8 flag bits; IFA_FLAGS carries all 32.
        msg.header.flags = AddressHeaderFlags::from_bits_retain((self.flags.0 & 0xff) as u8);
        msg.attributes.push(AddressAttribute::Local(self.addr));
        msg.attributes
            .push(AddressAttribute::Address(self.peer.unwrap_or(self.addr)));
        if let Some(l) = &self.label {
            msg.attributes.push(AddressAttribute::Label(l.clone()));
        }
        if !full {
            return msg;
        }
        if let Some(b) = self.broadcast {
            msg.attributes.push(AddressAttribute::Broadcast(b));
        }
        if self.flags.0 != 0 {
            msg.attributes
                .push(AddressAttribute::Flags(AddressFlags::from_bits_retain(
                    self.flags.0,
                )));
        }
        if self.valid_lft.is_some() || self.preferred_lft.is_some() {
            let mut ci = CacheInfo::default();
            ci.ifa_valid = self.valid_lft.unwrap_or(u32::MAX);
            ci.ifa_preferred = self.preferred_lft.unwrap_or(u32::MAX);
            msg.attributes.push(AddressAttribute::CacheInfo(ci));
        }
        if let Some(m) = self.metric {
            msg.attributes.push(AddressAttribute::RoutePriority(m));
        }
        msg
    }

    fn describe(&self, verb: &str) -> String {
        let mut s = format!(
            "{verb} address {}/{} dev ifindex {}",
            self.addr, self.prefix_len, self.index
        );
        if let Some(l) = &self.label {
            s.push_str(&format!(" label {l}"));
        }
        s
    }
}

/// An address as reported by `RTM_GETADDR`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Address {
    /// Interface index.
    pub index: u32,
    /// Local address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// Point-to-point peer, when it differs from the local address.
    pub peer: Option<IpAddr>,
    /// IPv4 broadcast.
    pub broadcast: Option<Ipv4Addr>,
    /// IPv4 label (the kernel reports the device name when none was set).
    pub label: Option<String>,
    /// Scope.
    pub scope: Scope,
    /// All `IFA_F_*` flags.
    pub flags: AddrFlags,
    /// Valid lifetime (`u32::MAX` = forever), when reported.
    pub valid_lft: Option<u32>,
    /// Preferred lifetime (`u32::MAX` = forever), when reported.
    pub preferred_lft: Option<u32>,
}

impl Address {
    /// The [`AddressSpec`] that deletes exactly this address.
    pub fn to_spec(&self) -> AddressSpec {
        let mut s = AddressSpec::new(self.index, self.addr, self.prefix_len);
        s.peer = self.peer;
        s.label = if self.addr.is_ipv4() {
            self.label.clone()
        } else {
            None
        };
        s.scope = self.scope;
        s
    }
}

fn parse_address(msg: AddressMessage) -> Option<Address> {
    let mut local = None;
    let mut address = None;
    let mut out = Address {
        index: msg.header.index,
        addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        prefix_len: msg.header.prefix_len,
        peer: None,
        broadcast: None,
        label: None,
        scope: Scope::from_nl(msg.header.scope),
        flags: AddrFlags(u32::from(msg.header.flags.bits())),
        valid_lft: None,
        preferred_lft: None,
    };
    for attr in msg.attributes {
        match attr {
            AddressAttribute::Local(a) => local = Some(a),
            AddressAttribute::Address(a) => address = Some(a),
            AddressAttribute::Label(l) => out.label = Some(l),
            AddressAttribute::Broadcast(b) => out.broadcast = Some(b),
            AddressAttribute::Flags(f) => out.flags = AddrFlags(f.bits()),
            AddressAttribute::CacheInfo(ci) => {
                out.valid_lft = Some(ci.ifa_valid);
                out.preferred_lft = Some(ci.ifa_preferred);
            }
            _ => {}
        }
    }
    match (local, address) {
        (Some(l), Some(a)) => {
            out.addr = l;
            if a != l {
                out.peer = Some(a);
            }
        }
        (Some(l), None) => out.addr = l,
        (None, Some(a)) => out.addr = a,
        (None, None) => return None,
    }
    Some(out)
}

impl Rtnl {
    /// All addresses (both families) of the namespace, optionally only those of one link.
    pub fn addresses(&mut self, index: Option<u32>) -> Result<Vec<Address>> {
        let msgs = self.dump(
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            "dump addresses",
        )?;
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) => parse_address(a),
                _ => None,
            })
            .filter(|a| index.is_none_or(|i| a.index == i))
            .collect())
    }

    /// Adds an address; fails with errno `EEXIST` when it is already there.
    pub fn add_address(&mut self, spec: &AddressSpec) -> Result<()> {
        spec.validate()?;
        self.ack(
            RouteNetlinkMessage::NewAddress(spec.to_message(true)),
            NLM_F_CREATE | NLM_F_EXCL,
            &spec.describe("add"),
        )
    }

    /// Adds or updates an address (`ip addr replace`), e.g. to refresh lifetimes.
    pub fn replace_address(&mut self, spec: &AddressSpec) -> Result<()> {
        spec.validate()?;
        self.ack(
            RouteNetlinkMessage::NewAddress(spec.to_message(true)),
            NLM_F_CREATE | NLM_F_REPLACE,
            &spec.describe("replace"),
        )
    }

    /// [`Rtnl::replace_address`] prepared for [`Rtnl::send_prepared`]: sent without waiting
    /// for the ACK (renewing a lease with one system call).
    pub fn prepare_replace_address(spec: &AddressSpec) -> Result<Prepared> {
        spec.validate()?;
        Ok(Prepared::new(
            RouteNetlinkMessage::NewAddress(spec.to_message(true)),
            NLM_F_CREATE | NLM_F_REPLACE,
            spec.describe("replace"),
        ))
    }

    /// Deletes an address; fails with errno `EADDRNOTAVAIL` when it is not there.
    /// When `spec.label` is set, only an address with that label matches (IPv4).
    pub fn del_address(&mut self, spec: &AddressSpec) -> Result<()> {
        spec.validate()?;
        self.ack(
            RouteNetlinkMessage::DelAddress(spec.to_message(false)),
            0,
            &spec.describe("delete"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the request carries what `ip addr add` would send: local+address, label,
    // 32-bit flags (nodad), lifetimes in IFA_CACHEINFO, and the low flag byte in the header.
    #[test]
    fn message_fields() {
        let s = AddressSpec::new(7, "fd00::5".parse().unwrap(), 128)
            .flags(AddrFlags::NODAD | AddrFlags::NOPREFIXROUTE)
            .lifetimes(10, 5);
        let m = s.to_message(true);
        assert_eq!(m.header.family, AddressFamily::Inet6);
        assert_eq!((m.header.index, m.header.prefix_len), (7, 128));
        assert_eq!(m.header.flags.bits(), 0x02);
        assert!(m
            .attributes
            .contains(&AddressAttribute::Flags(AddressFlags::from_bits_retain(
                0x202
            ))));
        assert!(m.attributes.iter().any(|a| matches!(a,
            AddressAttribute::CacheInfo(c) if c.ifa_valid == 10 && c.ifa_preferred == 5)));
        // A delete carries only the identifying attributes.
        let d = AddressSpec::new(1, "192.0.2.1".parse().unwrap(), 32)
            .label("lo:x")
            .broadcast("192.0.2.1".parse().unwrap());
        let m = d.to_message(false);
        assert_eq!(m.attributes.len(), 3);
    }

    // Proves invalid specs are refused before reaching the kernel.
    #[test]
    fn validation() {
        let v6: IpAddr = "fd00::5".parse().unwrap();
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(AddressSpec::new(1, v4, 33).validate().is_err());
        assert!(AddressSpec::new(1, v6, 129).validate().is_err());
        assert!(AddressSpec::new(1, v6, 64)
            .label("lo:x")
            .validate()
            .is_err());
        assert!(AddressSpec::new(1, v4, 32)
            .label("lo:0123456789abc")
            .validate()
            .is_err());
        assert!(AddressSpec::new(1, v4, 32).peer(v6).validate().is_err());
        assert!(AddressSpec::new(1, v4, 32)
            .label("lo:rs0")
            .validate()
            .is_ok());
    }
}

/// An address added (`RTM_NEWADDR`, also a refresh or a flag change) or removed
/// (`RTM_DELADDR`), as the kernel announces it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AddrEvent {
    /// `RTM_NEWADDR`.
    pub added: bool,
    /// The netlink port id of the socket whose request caused it (0: the kernel's own).
    pub sender: u32,
    /// The address.
    pub address: Address,
}

/// A socket receiving the address events (IPv4 and IPv6) of the namespace it was made in:
/// keepalived's netlink reflector for `-a`/`--address-monitoring`.
pub struct AddrWatch {
    socket: netlink_sys::Socket,
}

impl std::fmt::Debug for AddrWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddrWatch").finish()
    }
}

/// `RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR`.
const RTMGRP_IFADDR: u32 = 0x10 | 0x100;

impl AddrWatch {
    /// Subscribes to the address events of the current namespace.
    pub fn new() -> Result<Self> {
        let mut socket = netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_ROUTE)
            .map_err(|e| Error::io("open NETLINK_ROUTE socket", e))?;
        socket
            .bind(&netlink_sys::SocketAddr::new(0, RTMGRP_IFADDR))
            .map_err(|e| Error::io("bind address event socket", e))?;
        Ok(AddrWatch { socket })
    }

    /// Waits for the next datagram of events and decodes it (an overrun, `ENOBUFS`, is an
    /// empty list: events were lost).
    pub fn recv(&self) -> Result<Vec<AddrEvent>> {
        let mut buf = vec![0u8; 65536];
        let n = loop {
            match self.socket.recv(&mut &mut buf[..], 0) {
                Ok(n) => break n.min(buf.len()),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => return Ok(Vec::new()),
                Err(e) => return Err(Error::io("address event socket: recv", e)),
            }
        };
        Ok(crate::rtnl::messages(&buf[..n])
            .filter_map(|m| m.ok())
            .filter_map(|m| {
                let sender = m.header.port_number;
                match m.payload {
                    netlink_packet_core::NetlinkPayload::InnerMessage(
                        RouteNetlinkMessage::NewAddress(a),
                    ) => parse_address(a).map(|address| AddrEvent {
                        added: true,
                        sender,
                        address,
                    }),
                    netlink_packet_core::NetlinkPayload::InnerMessage(
                        RouteNetlinkMessage::DelAddress(a),
                    ) => parse_address(a).map(|address| AddrEvent {
                        added: false,
                        sender,
                        address,
                    }),
                    _ => None,
                }
            })
            .collect())
    }
}

/// The netlink port ids of this process's own `NETLINK_ROUTE` sockets in the current
/// namespace (`/proc/self/net/netlink` rows whose inode is one of `/proc/self/fd`'s sockets).
pub fn own_route_ports() -> Vec<u32> {
    let inodes: std::collections::HashSet<String> = std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.filter_map(|e| {
                let l = std::fs::read_link(e.ok()?.path()).ok()?;
                let l = l.to_str()?;
                Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
            })
            .collect()
        })
        .unwrap_or_default();
    std::fs::read_to_string("/proc/self/net/netlink")
        .unwrap_or_default()
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
            (f.len() >= 10 && f[1] == "0" && inodes.contains(f[9]))
                .then(|| f[2].parse::<u32>().ok())
                .flatten()
        })
        .collect()
}
