//! Typed routes, rules and scopes: the lines of `virtual_routes`, `static_routes`,
//! `virtual_rules` and `static_rules`, and the `scope` of an address, as keepalived's
//! `alloc_route`/`alloc_rule`/`alloc_ipaddress` read them (names of `/etc/iproute2/rt_*`
//! resolved to numbers at parse time, as keepalived does). The runtime maps these values to
//! netlink requests; it parses nothing.

use std::fmt;
use std::net::IpAddr;

use crate::diag::Loc;

/// keepalived's route and rule protocol (`RTPROT_KEEPALIVED`).
pub const RTPROT_KEEPALIVED: u8 = 18;

/// An address or route scope (`RT_SCOPE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Scope {
    /// `global` (0, `RT_SCOPE_UNIVERSE`): keepalived's default.
    #[default]
    Global,
    /// `site` (200).
    Site,
    /// `link` (253).
    Link,
    /// `host` (254).
    Host,
    /// `nowhere` (255).
    Nowhere,
    /// Any other number (a name of `/etc/iproute2/rt_scopes`, resolved).
    Other(u8),
}

impl Scope {
    /// The scope with number `n`.
    pub fn from_number(n: u8) -> Scope {
        match n {
            0 => Scope::Global,
            200 => Scope::Site,
            253 => Scope::Link,
            254 => Scope::Host,
            255 => Scope::Nowhere,
            n => Scope::Other(n),
        }
    }

    /// Its number (`RT_SCOPE_*`).
    pub fn number(self) -> u8 {
        match self {
            Scope::Global => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
            Scope::Other(n) => n,
        }
    }
}

impl fmt::Display for Scope {
    /// keepalived's built-in name, else the number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Global => f.write_str("global"),
            Scope::Site => f.write_str("site"),
            Scope::Link => f.write_str("link"),
            Scope::Host => f.write_str("host"),
            Scope::Nowhere => f.write_str("nowhere"),
            Scope::Other(n) => write!(f, "{n}"),
        }
    }
}

/// A route's type (`RTN_*`, keepalived's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum RouteType {
    /// `unicast` (1): the default.
    #[default]
    Unicast,
    /// `local` (2).
    Local,
    /// `broadcast`/`brd` (3).
    Broadcast,
    /// `anycast` (4).
    Anycast,
    /// `multicast` (5).
    Multicast,
    /// `blackhole` (6).
    Blackhole,
    /// `unreachable` (7).
    Unreachable,
    /// `prohibit` (8).
    Prohibit,
    /// `throw` (9).
    Throw,
    /// `nat` (10).
    Nat,
    /// `xresolve` (11).
    Xresolve,
    /// Another number.
    Other(u8),
}

impl RouteType {
    const NAMES: [(&'static str, RouteType); 12] = [
        ("local", RouteType::Local),
        ("nat", RouteType::Nat),
        ("broadcast", RouteType::Broadcast),
        ("brd", RouteType::Broadcast),
        ("anycast", RouteType::Anycast),
        ("multicast", RouteType::Multicast),
        ("prohibit", RouteType::Prohibit),
        ("unreachable", RouteType::Unreachable),
        ("blackhole", RouteType::Blackhole),
        ("xresolve", RouteType::Xresolve),
        ("unicast", RouteType::Unicast),
        ("throw", RouteType::Throw),
    ];

    /// keepalived's `find_rttables_rtntype`: a name, or a number up to 255 (C `strtoul`
    /// syntax).
    pub fn parse(s: &str) -> Option<RouteType> {
        if let Some((_, t)) = Self::NAMES.iter().find(|(n, _)| *n == s) {
            return Some(*t);
        }
        if s.starts_with('-') {
            return None;
        }
        crate::build::strtoul_all(s)
            .filter(|n| *n <= 255)
            .map(|n| RouteType::from_number(n as u8))
    }

    /// The type with number `n`.
    pub fn from_number(n: u8) -> RouteType {
        match n {
            1 => RouteType::Unicast,
            2 => RouteType::Local,
            3 => RouteType::Broadcast,
            4 => RouteType::Anycast,
            5 => RouteType::Multicast,
            6 => RouteType::Blackhole,
            7 => RouteType::Unreachable,
            8 => RouteType::Prohibit,
            9 => RouteType::Throw,
            10 => RouteType::Nat,
            11 => RouteType::Xresolve,
            n => RouteType::Other(n),
        }
    }

    /// Its number (`RTN_*`).
    pub fn number(self) -> u8 {
        match self {
            RouteType::Unicast => 1,
            RouteType::Local => 2,
            RouteType::Broadcast => 3,
            RouteType::Anycast => 4,
            RouteType::Multicast => 5,
            RouteType::Blackhole => 6,
            RouteType::Unreachable => 7,
            RouteType::Prohibit => 8,
            RouteType::Throw => 9,
            RouteType::Nat => 10,
            RouteType::Xresolve => 11,
            RouteType::Other(n) => n,
        }
    }
}

impl fmt::Display for RouteType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Self::NAMES.iter().find(|(_, t)| t == self) {
            Some((n, _)) => f.write_str(n),
            None => write!(f, "{}", self.number()),
        }
    }
}

/// One line of `virtual_routes`/`static_routes`:
/// `[TYPE] [to] DST[/LEN]|default [inet|inet6] [src IP] [via|gw IP] [dev|oif IF] [table T]
/// [metric|priority|preference N] [protocol P] [scope S] [no_track]`. The options keepalived
/// knows that are not supported yet (metrics such as `mtu`, `nexthop`, `encap`, ...) get a
/// warning and the route is left out of the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The type (`unicast` unless given).
    pub kind: RouteType,
    /// Destination (`default` is the family's any-address with length 0).
    pub dst: IpAddr,
    /// Destination prefix length.
    pub prefix_len: u8,
    /// `src`: preferred source address.
    pub src: Option<IpAddr>,
    /// `via`/`gw`: gateway.
    pub via: Option<IpAddr>,
    /// `dev`/`oif`: output interface.
    pub dev: Option<String>,
    /// `table` (254, main, unless given).
    pub table: u32,
    /// `vrf NAME` (after any `table`): the route goes into that VRF device's table, looked up
    /// when it is installed (keepalived looks it up when it reads the configuration).
    pub vrf: Option<String>,
    /// `metric`/`priority`/`preference`.
    pub metric: Option<u32>,
    /// The protocol installed: keepalived's (18) unless `no_track` and `protocol P`.
    pub protocol: u8,
    /// `scope` (global unless given, as keepalived: not `ip route`'s choice).
    pub scope: Scope,
    /// `scope` was given (keepalived then shows it: `format_iproute`).
    pub scope_given: bool,
    /// `protocol` was given (keepalived shows the protocol of a `no_track` route only then).
    pub protocol_given: bool,
    /// `no_track`.
    pub no_track: bool,
    /// `track_group NAME` (`static_routes` only; a group defined above, and a `dev`): the
    /// group's instances track the route's interface.
    pub track_group: Option<String>,
    /// Where.
    pub loc: Loc,
}

impl Route {
    /// IPv6 route.
    pub fn is_v6(&self) -> bool {
        self.dst.is_ipv6()
    }
}

/// What a rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleAction {
    /// `table`/`lookup T`.
    Table(u32),
    /// `goto PREF`.
    Goto(u32),
    /// `blackhole`.
    Blackhole,
    /// `unreachable`.
    Unreachable,
    /// `prohibit`.
    Prohibit,
}

/// One line of `virtual_rules`/`static_rules`: `[inet|inet6] [from P] [to P] [tos|dsfield T]
/// [fwmark M[/K]] [iif|dev IF] [oif IF] [preference|priority|order N] [protocol P] [no_track]
/// (table|lookup T | goto N | [type] blackhole|unreachable|prohibit)`. The options keepalived
/// knows that are not supported yet (`not`, `realms`, `uidrange`, `sport`, `nop`, ...) get a
/// warning and the rule is left out of the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// IPv6 rule (from the addresses or `inet6`; IPv4 otherwise).
    pub v6: bool,
    /// `from` prefix (`all`: none).
    pub from: Option<(IpAddr, u8)>,
    /// `to` prefix.
    pub to: Option<(IpAddr, u8)>,
    /// `tos`/`dsfield`.
    pub tos: u8,
    /// `fwmark MARK[/MASK]`.
    pub fwmark: Option<(u32, Option<u32>)>,
    /// `iif`/`dev`.
    pub iif: Option<String>,
    /// `oif`.
    pub oif: Option<String>,
    /// `preference`: given, else keepalived's count down from 16384 per family.
    pub priority: u32,
    /// The action.
    pub action: RuleAction,
    /// The protocol installed: keepalived's (18) unless `no_track` (then `protocol P`, or 0).
    pub protocol: u8,
    /// `no_track`.
    pub no_track: bool,
    /// `track_group NAME` (`static_rules` only; a group defined above, and an `iif`): the
    /// group's instances track the rule's input interface.
    pub track_group: Option<String>,
    /// Where.
    pub loc: Loc,
}
