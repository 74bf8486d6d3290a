//! `virtual_routes`: routes a master installs with its VIPs and removes when it leaves MASTER,
//! in keepalived's syntax (`ip route`-like words):
//! `[blackhole|unreachable|prohibit] [src IP] [to] DST[/PLEN]|default [via|gw IP] [dev IF]
//! [scope S] [table N] [metric|priority|preference N] [proto N] [no_track]`. As keepalived,
//! the scope is universe unless given (`ip route` would make a direct route scope link).

use std::net::IpAddr;

use netplat::{RouteKind, RouteSpec};

/// keepalived's route protocol (`RTPROT_KEEPALIVED`).
pub(crate) const RTPROT_KEEPALIVED: u8 = 18;

/// One parsed route line; `dev` is resolved to an index when applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VirtualRoute {
    pub spec: RouteSpec,
    pub dev: Option<String>,
    /// `file:line` for messages.
    pub at: crate::located::Located,
}

fn parse_ip(w: &str) -> Result<IpAddr, String> {
    w.parse().map_err(|_| format!("'{w}' is not an IP address"))
}

/// A number in decimal or `0x` hexadecimal, as keepalived reads them; `what` names it in errors.
pub(crate) fn parse_num<T: std::str::FromStr>(what: &str, w: Option<&String>) -> Result<T, String> {
    let w = w.ok_or_else(|| format!("'{what}' needs a value"))?;
    let parsed = match w.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16)
            .ok()
            .and_then(|v| v.to_string().parse().ok()),
        None => w.parse().ok(),
    };
    parsed.ok_or_else(|| format!("'{what} {w}': not a valid number"))
}

/// Parses the words of one `virtual_routes` line.
pub(crate) fn parse(words: &[String]) -> Result<(RouteSpec, Option<String>), String> {
    let mut it = words.iter().peekable();
    let mut kind = RouteKind::Unicast;
    if let Some(w) = it.peek() {
        let k = match w.as_str() {
            "blackhole" => Some(RouteKind::Blackhole),
            "unreachable" => Some(RouteKind::Unreachable),
            "prohibit" => Some(RouteKind::Prohibit),
            _ => None,
        };
        if let Some(k) = k {
            kind = k;
            it.next();
        }
    }
    let mut src = None;
    let mut dst: Option<(IpAddr, u8)> = None;
    let mut via = None;
    let mut dev = None;
    let mut table = None;
    let mut metric = None;
    let mut proto = None;
    let mut scope = netplat::Scope::Universe;
    while let Some(w) = it.next() {
        match w.as_str() {
            "src" => src = Some(parse_ip(it.next().ok_or("'src' needs an address")?)?),
            "via" | "gw" => via = Some(parse_ip(it.next().ok_or("'via' needs an address")?)?),
            "dev" | "oif" => dev = Some(it.next().ok_or("'dev' needs an interface")?.clone()),
            "table" => table = Some(parse_num::<u32>("table", it.next())?),
            "metric" | "priority" | "preference" => metric = Some(parse_num::<u32>(w, it.next())?),
            "proto" | "protocol" => proto = Some(parse_num::<u8>(w, it.next())?),
            "scope" => {
                let v = it.next().ok_or("'scope' needs a value")?;
                scope = match v.as_str() {
                    "host" => netplat::Scope::Host,
                    "link" => netplat::Scope::Link,
                    "site" => netplat::Scope::Site,
                    "nowhere" => netplat::Scope::Nowhere,
                    "global" | "universe" => netplat::Scope::Universe,
                    n => netplat::Scope::Other(
                        n.parse()
                            .map_err(|_| format!("'scope {n}': unknown scope"))?,
                    ),
                };
            }
            "no_track" => {}
            "to" => {
                let d = it.next().ok_or("'to' needs a destination")?;
                dst = Some(parse_prefix(d, "default")?);
            }
            other if dst.is_none() => dst = Some(parse_prefix(other, "default")?),
            other => return Err(format!("unknown route keyword '{other}'")),
        }
    }
    let (dst, plen) = dst.ok_or("no destination")?;
    let mut spec = RouteSpec::new(dst, plen)
        .kind(kind)
        .protocol(proto.unwrap_or(RTPROT_KEEPALIVED))
        .scope(scope);
    if let Some(s) = src {
        spec = spec.src(s);
    }
    if let Some(g) = via {
        spec = spec.via(g);
    }
    if let Some(t) = table {
        spec = spec.table(t);
    }
    if let Some(m) = metric {
        spec = spec.metric(m);
    }
    for a in [src, via].into_iter().flatten() {
        if a.is_ipv4() != dst.is_ipv4() {
            return Err(format!("{a} and {dst} are not of the same family"));
        }
    }
    Ok((spec, dev))
}

/// `ADDR[/LEN]` (a bare address is a host prefix), or `any` (`default` for routes, `all` for
/// rules) for the IPv4 any-prefix.
pub(crate) fn parse_prefix(w: &str, any: &str) -> Result<(IpAddr, u8), String> {
    if w == any {
        return Ok((IpAddr::from([0u8, 0, 0, 0]), 0));
    }
    let (a, p) = match w.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (w, None),
    };
    let ip = parse_ip(a)?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let plen = match p {
        Some(p) => p
            .parse::<u8>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| format!("'{w}': bad prefix length"))?,
        None => max,
    };
    Ok((ip, plen))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    // Proves keepalived's route words: type, src, optional `to`, prefix, via/gw, dev, table,
    // metric, keepalived's protocol by default; and located-ready errors for bad words.
    #[test]
    fn route_words() {
        let (s, dev) = parse(&w(
            "src 10.0.0.100 to 192.0.2.0/24 via 10.0.0.254 dev eth1 table 100 metric 5",
        ))
        .unwrap();
        assert_eq!(dev.as_deref(), Some("eth1"));
        assert_eq!(s.dst, "192.0.2.0".parse::<IpAddr>().unwrap());
        assert_eq!(s.prefix_len, 24);
        assert_eq!(s.gateway, Some("10.0.0.254".parse().unwrap()));
        assert_eq!(s.src, Some("10.0.0.100".parse().unwrap()));
        assert_eq!(
            (s.table, s.metric, s.protocol),
            (100, Some(5), RTPROT_KEEPALIVED)
        );
        let (s, dev) = parse(&w("blackhole 198.51.100.0/24")).unwrap();
        assert_eq!((s.kind, dev), (RouteKind::Blackhole, None));
        assert_eq!(s.scope, Some(netplat::Scope::Universe));
        let (s, _) = parse(&w("192.0.2.0/24 dev eth0 scope link")).unwrap();
        assert_eq!(s.scope, Some(netplat::Scope::Link));
        let (s, _) = parse(&w("default gw 10.0.0.1")).unwrap();
        assert_eq!(s.prefix_len, 0);
        let (s, _) = parse(&w("2001:db8::/64 dev eth0")).unwrap();
        assert_eq!(s.prefix_len, 64);
        assert!(parse(&w("192.0.2.0/24 bogus 3"))
            .unwrap_err()
            .contains("bogus"));
        assert!(parse(&w("192.0.2.0/33")).is_err());
        assert!(parse(&w("via 10.0.0.1"))
            .unwrap_err()
            .contains("destination"));
        assert!(parse(&w("192.0.2.0/24 via fe80::1")).is_err());
        assert!(parse(&w("192.0.2.0/24 metric x")).is_err());
    }
}
