//! Routes: add, delete, list (`ip route`).

use std::net::IpAddr;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use netlink_packet_route::{
    route::{
        RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope,
        RouteType,
    },
    AddressFamily, RouteNetlinkMessage,
};

use crate::{Error, Result, Rtnl};

/// The main routing table.
pub const RT_TABLE_MAIN: u32 = 254;
/// The local routing table (local/broadcast routes the kernel adds for addresses).
pub const RT_TABLE_LOCAL: u32 = 255;

/// Route type (`RTN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RouteKind {
    /// Normal route via a gateway or direct.
    #[default]
    Unicast,
    /// Deliver locally.
    Local,
    /// Silently drop.
    Blackhole,
    /// Drop with ICMP unreachable.
    Unreachable,
    /// Drop with ICMP prohibited.
    Prohibit,
    /// Something else (reported only).
    Other(u8),
}

impl RouteKind {
    fn to_nl(self) -> RouteType {
        match self {
            RouteKind::Unicast => RouteType::Unicast,
            RouteKind::Local => RouteType::Local,
            RouteKind::Blackhole => RouteType::BlackHole,
            RouteKind::Unreachable => RouteType::Unreachable,
            RouteKind::Prohibit => RouteType::Prohibit,
            RouteKind::Other(n) => RouteType::from(n),
        }
    }
    fn from_nl(t: RouteType) -> Self {
        match t {
            RouteType::Unicast => RouteKind::Unicast,
            RouteType::Local => RouteKind::Local,
            RouteType::BlackHole => RouteKind::Blackhole,
            RouteType::Unreachable => RouteKind::Unreachable,
            RouteType::Prohibit => RouteKind::Prohibit,
            other => RouteKind::Other(u8::from(other)),
        }
    }
}

/// A route to add or delete: `ip route add DST/PLEN [via GW] [dev OIF] [src SRC]
/// [metric M] [table T] [proto P] [type T]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteSpec {
    /// Destination network address.
    pub dst: IpAddr,
    /// Destination prefix length (0 = default route).
    pub prefix_len: u8,
    /// Gateway.
    pub gateway: Option<IpAddr>,
    /// Output interface index.
    pub oif: Option<u32>,
    /// Preferred source address.
    pub src: Option<IpAddr>,
    /// Metric / priority.
    pub metric: Option<u32>,
    /// Routing table (default [`RT_TABLE_MAIN`]).
    pub table: u32,
    /// `RTPROT_*` protocol number (default 4 = static; keepalived uses 18).
    pub protocol: u8,
    /// Route type.
    pub kind: RouteKind,
    /// Scope; `None`: `ip route`'s choice (host for local routes, link for direct unicast
    /// routes, universe otherwise).
    pub scope: Option<crate::Scope>,
}

impl RouteSpec {
    /// A unicast route to `dst/prefix_len` in the main table, protocol static.
    pub fn new(dst: IpAddr, prefix_len: u8) -> Self {
        RouteSpec {
            dst,
            prefix_len,
            gateway: None,
            oif: None,
            src: None,
            metric: None,
            table: RT_TABLE_MAIN,
            protocol: 4,
            kind: RouteKind::Unicast,
            scope: None,
        }
    }
    /// Sets the scope.
    pub fn scope(mut self, s: crate::Scope) -> Self {
        self.scope = Some(s);
        self
    }
    /// Sets the gateway.
    pub fn via(mut self, gw: IpAddr) -> Self {
        self.gateway = Some(gw);
        self
    }
    /// Sets the output interface.
    pub fn dev(mut self, index: u32) -> Self {
        self.oif = Some(index);
        self
    }
    /// Sets the preferred source.
    pub fn src(mut self, src: IpAddr) -> Self {
        self.src = Some(src);
        self
    }
    /// Sets the metric.
    pub fn metric(mut self, m: u32) -> Self {
        self.metric = Some(m);
        self
    }
    /// Sets the table.
    pub fn table(mut self, t: u32) -> Self {
        self.table = t;
        self
    }
    /// Sets the route type.
    pub fn kind(mut self, k: RouteKind) -> Self {
        self.kind = k;
        self
    }
    /// Sets the protocol number.
    pub fn protocol(mut self, p: u8) -> Self {
        self.protocol = p;
        self
    }

    fn validate(&self) -> Result<()> {
        let max = if self.dst.is_ipv4() { 32 } else { 128 };
        if self.prefix_len > max {
            return Err(Error::Invalid(format!(
                "prefix length {} > {max} for {}",
                self.prefix_len, self.dst
            )));
        }
        for a in [self.gateway, self.src].into_iter().flatten() {
            if a.is_ipv4() != self.dst.is_ipv4() {
                return Err(Error::Invalid(format!(
                    "{a} is not of the same family as {}",
                    self.dst
                )));
            }
        }
        Ok(())
    }

    fn to_message(&self, for_delete: bool) -> RouteMessage {
        let mut msg = RouteMessage::default();
        msg.header.address_family = if self.dst.is_ipv4() {
            AddressFamily::Inet
        } else {
            AddressFamily::Inet6
        };
        msg.header.destination_prefix_length = self.prefix_len;
        msg.header.table = if self.table < 256 {
            self.table as u8
        } else {
            RouteHeader::RT_TABLE_UNSPEC
        };
        msg.header.protocol = RouteProtocol::from(self.protocol);
        msg.header.kind = self.kind.to_nl();
        msg.header.scope = if for_delete {
            RouteScope::NoWhere
        } else if let Some(sc) = self.scope {
            sc.to_route_scope()
        } else if self.kind == RouteKind::Local {
            RouteScope::Host
        } else if self.gateway.is_none() && self.kind == RouteKind::Unicast {
            RouteScope::Link
        } else {
            RouteScope::Universe
        };
        msg.attributes
            .push(RouteAttribute::Destination(RouteAddress::from(self.dst)));
        if let Some(g) = self.gateway {
            msg.attributes
                .push(RouteAttribute::Gateway(RouteAddress::from(g)));
        }
        if let Some(o) = self.oif {
            msg.attributes.push(RouteAttribute::Oif(o));
        }
        if let Some(s) = self.src {
            msg.attributes
                .push(RouteAttribute::PrefSource(RouteAddress::from(s)));
        }
        if let Some(m) = self.metric {
            msg.attributes.push(RouteAttribute::Priority(m));
        }
        msg.attributes.push(RouteAttribute::Table(self.table));
        msg
    }

    fn describe(&self, verb: &str) -> String {
        let mut s = format!("{verb} route {}/{}", self.dst, self.prefix_len);
        if let Some(g) = self.gateway {
            s.push_str(&format!(" via {g}"));
        }
        if let Some(o) = self.oif {
            s.push_str(&format!(" dev ifindex {o}"));
        }
        s.push_str(&format!(" table {}", self.table));
        s
    }
}

/// A route as reported by `RTM_GETROUTE` (the fields this project uses).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Route {
    /// Destination (the unspecified address for a default route).
    pub dst: IpAddr,
    /// Destination prefix length.
    pub prefix_len: u8,
    /// Gateway.
    pub gateway: Option<IpAddr>,
    /// Output interface.
    pub oif: Option<u32>,
    /// Preferred source.
    pub src: Option<IpAddr>,
    /// Metric.
    pub metric: Option<u32>,
    /// Table.
    pub table: u32,
    /// Protocol number.
    pub protocol: u8,
    /// Type.
    pub kind: RouteKind,
}

fn route_addr(a: RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(v6)),
        _ => None,
    }
}

fn parse_route(msg: RouteMessage) -> Option<Route> {
    let unspecified = match msg.header.address_family {
        AddressFamily::Inet => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        AddressFamily::Inet6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        _ => return None,
    };
    let mut r = Route {
        dst: unspecified,
        prefix_len: msg.header.destination_prefix_length,
        gateway: None,
        oif: None,
        src: None,
        metric: None,
        table: u32::from(msg.header.table),
        protocol: u8::from(msg.header.protocol),
        kind: RouteKind::from_nl(msg.header.kind),
    };
    for attr in msg.attributes {
        match attr {
            RouteAttribute::Destination(a) => {
                if let Some(ip) = route_addr(a) {
                    r.dst = ip;
                }
            }
            RouteAttribute::Gateway(a) => r.gateway = route_addr(a),
            RouteAttribute::PrefSource(a) => r.src = route_addr(a),
            RouteAttribute::Oif(o) => r.oif = Some(o),
            RouteAttribute::Priority(p) => r.metric = Some(p),
            RouteAttribute::Table(t) => r.table = t,
            _ => {}
        }
    }
    Some(r)
}

impl Rtnl {
    /// Adds a route; errno `EEXIST` when an identical one exists.
    pub fn add_route(&mut self, spec: &RouteSpec) -> Result<()> {
        spec.validate()?;
        self.ack(
            RouteNetlinkMessage::NewRoute(spec.to_message(false)),
            NLM_F_CREATE | NLM_F_EXCL,
            &spec.describe("add"),
        )
    }

    /// Adds or replaces a route (`ip route replace`).
    pub fn replace_route(&mut self, spec: &RouteSpec) -> Result<()> {
        spec.validate()?;
        self.ack(
            RouteNetlinkMessage::NewRoute(spec.to_message(false)),
            NLM_F_CREATE | NLM_F_REPLACE,
            &spec.describe("replace"),
        )
    }

    /// Deletes a route; errno `ESRCH` when no route matches.
    pub fn del_route(&mut self, spec: &RouteSpec) -> Result<()> {
        spec.validate()?;
        self.ack(
            RouteNetlinkMessage::DelRoute(spec.to_message(true)),
            0,
            &spec.describe("delete"),
        )
    }

    /// All routes of one family (`true` = IPv4) in every table.
    pub fn routes(&mut self, ipv4: bool) -> Result<Vec<Route>> {
        let mut msg = RouteMessage::default();
        msg.header.address_family = if ipv4 {
            AddressFamily::Inet
        } else {
            AddressFamily::Inet6
        };
        let msgs = self.dump(RouteNetlinkMessage::GetRoute(msg), "dump routes")?;
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewRoute(r) => parse_route(r),
                _ => None,
            })
            .collect())
    }
}
