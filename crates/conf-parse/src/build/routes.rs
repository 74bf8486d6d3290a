//! keepalived's checks of route and rule lines (`virtual_routes`, `static_routes`,
//! `virtual_rules`, `static_rules`; `vrrp/vrrp_iproute.c`, `vrrp/vrrp_iprule.c`): the lines are
//! kept as words for the runtime, the errors `keepalived -t` reports are reported here.

use std::net::IpAddr;

use super::Builder;
use crate::model::*;

/// Route types that may precede the destination.
const ROUTE_TYPES: &[&str] = &[
    "unicast",
    "local",
    "broadcast",
    "multicast",
    "throw",
    "unreachable",
    "prohibit",
    "blackhole",
    "nat",
    "anycast",
];

/// Route keywords followed by one value.
const ROUTE_ARG_KWS: &[&str] = &[
    "src",
    "via",
    "gw",
    "from",
    "tos",
    "dsfield",
    "table",
    "protocol",
    "proto",
    "scope",
    "metric",
    "priority",
    "preference",
    "mtu",
    "advmss",
    "rtt",
    "rttvar",
    "reordering",
    "window",
    "cwnd",
    "ssthresh",
    "realms",
    "rto_min",
    "initcwnd",
    "initrwnd",
    "features",
    "congctl",
    "pref",
    "ttl-propagate",
    "expires",
    "dev",
    "oif",
    "track_group",
    "vrf",
    "quickack",
    "fastopen_no_cookie",
    "hoplimit",
    "or",
];

/// Route keywords without a value.
const ROUTE_FLAGS: &[&str] = &["onlink", "no_track", "lock", "inet", "inet6"];

/// Route keywords after which keepalived parses a sub-syntax we do not check.
const ROUTE_STOP: &[&str] = &["encap", "nexthop", "as"];

/// Rule keywords followed by one value.
const RULE_ARG_KWS: &[&str] = &[
    "from",
    "to",
    "table",
    "lookup",
    "preference",
    "pref",
    "priority",
    "fwmark",
    "tos",
    "dsfield",
    "iif",
    "dev",
    "oif",
    "uidrange",
    "sport",
    "dport",
    "ipproto",
    "realms",
    "goto",
    "suppress_prefixlength",
    "suppress_ifgroup",
    "protocol",
    "track_group",
];

/// Rule keywords without a value.
const RULE_FLAGS: &[&str] = &["not", "l3mdev", "no_track", "inet", "inet6"];

/// An address with an optional prefix length within the family's range.
fn prefix_ok(s: &str) -> Result<IpAddr, String> {
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr: IpAddr = a
        .parse()
        .map_err(|_| format!("VRRP parsed invalid IP {s}. skipping IP..."))?;
    if let Some(l) = len {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        match l.parse::<u32>() {
            Ok(n) if n <= max => {}
            _ => {
                return Err(format!(
                    "Invalid address prefix len {l} for address {s} - using {max}"
                ))
            }
        }
    }
    Ok(addr)
}

/// A routing table: a number, or a name of /etc/iproute2/rt_tables (main, local, default...).
fn table_ok(t: &str) -> bool {
    if t.parse::<u32>().is_ok() || matches!(t, "main" | "local" | "default" | "unspec") {
        return true;
    }
    ["/etc/iproute2/rt_tables", "/usr/share/iproute2/rt_tables"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .any(|text| {
            text.lines().any(|l| {
                let mut w = l.split_whitespace();
                !l.trim_start().starts_with('#') && w.next().is_some() && w.next() == Some(t)
            })
        })
}

impl Builder {
    /// Checks one route line as keepalived's `alloc_route` does.
    pub(super) fn check_route(&mut self, st: &Stmt, vl: &ValueLine) {
        let tmp = Stmt {
            keyword: st.keyword.clone(),
            args: vl.words.clone(),
            body: Body::None,
            loc: vl.loc.clone(),
            end_line: EndLine::default(),
        };
        let w = &vl.words;
        let mut i = 0;
        if w.first().is_some_and(|t| ROUTE_TYPES.contains(&t.as_str())) {
            i = 1;
        }
        let mut have_dest = false;
        while i < w.len() {
            let t = w[i].as_str();
            if ROUTE_STOP.contains(&t) {
                break;
            }
            if ROUTE_FLAGS.contains(&t) {
                i += 1;
                continue;
            }
            if ROUTE_ARG_KWS.contains(&t) {
                let v = w.get(i + 1).map(String::as_str);
                match (t, v) {
                    ("src" | "via" | "gw" | "from" | "or", Some(a))
                        if a.split('/')
                            .next()
                            .and_then(|x| x.parse::<IpAddr>().ok())
                            .is_none() =>
                    {
                        let what = if t == "gw" { "via" } else { t };
                        self.invalid(
                            &tmp,
                            format!("VRRP parsed invalid IP {a}. skipping IP..."),
                            None,
                        );
                        self.invalid(&tmp, format!("invalid route {what} address {a}"), None);
                    }
                    ("table", Some(tb)) if !table_ok(tb) => self.invalid(
                        &tmp,
                        format!("Routing table {tb} not found for route"),
                        None,
                    ),
                    _ => {}
                }
                i += 2;
                continue;
            }
            if have_dest {
                self.invalid(&tmp, format!("unknown route keyword {t}"), None);
                return;
            }
            let d = if t == "default" {
                Ok(None)
            } else {
                prefix_ok(t).map(Some)
            };
            match d {
                Ok(_) => have_dest = true,
                Err(msg) => {
                    self.invalid(&tmp, msg, None);
                    if t.contains('/')
                        && t.split('/')
                            .next()
                            .is_some_and(|a| a.parse::<IpAddr>().is_ok())
                    {
                        have_dest = true;
                    } else {
                        self.invalid(&tmp, format!("unknown route keyword {t}"), None);
                        return;
                    }
                }
            }
            i += 1;
        }
        if !have_dest {
            self.invalid(&tmp, "Route must have a destination".into(), None);
        } else if !w
            .iter()
            .any(|x| matches!(x.as_str(), "dev" | "oif" | "no_track"))
        {
            // keepalived tracks a route through its interface
            let dest = w
                .iter()
                .find(|x| x.parse::<IpAddr>().is_ok() || x.contains('/') || *x == "default")
                .cloned()
                .unwrap_or_default();
            self.fixup(
                &tmp,
                format!(
                    "Warning - cannot track route {dest} with no interface specified, not tracking"
                ),
            );
        }
    }

    /// Checks one rule line as keepalived's `alloc_rule` does.
    pub(super) fn check_rule(&mut self, st: &Stmt, vl: &ValueLine) {
        let tmp = Stmt {
            keyword: st.keyword.clone(),
            args: vl.words.clone(),
            body: Body::None,
            loc: vl.loc.clone(),
            end_line: EndLine::default(),
        };
        let w = &vl.words;
        let mut i = 0;
        let mut have_pref = false;
        while i < w.len() {
            let t = w[i].as_str();
            if RULE_FLAGS.contains(&t) {
                i += 1;
                continue;
            }
            if !RULE_ARG_KWS.contains(&t) {
                self.invalid(&tmp, format!("Unknown rule option {t}"), None);
                return;
            }
            let v = w.get(i + 1).map(String::as_str).unwrap_or_default();
            match t {
                "from" | "to" if v != "all" && prefix_ok(v).is_err() => {
                    self.invalid(
                        &tmp,
                        format!("VRRP parsed invalid IP {v}. skipping IP..."),
                        None,
                    );
                    self.invalid(&tmp, format!("Invalid rule {t} address {v}"), None);
                }
                "table" | "lookup" if !table_ok(v) => {
                    self.invalid(&tmp, format!("Routing table {v} not found for rule"), None)
                }
                "preference" | "pref" | "priority" => have_pref = true,
                _ => {}
            }
            i += 2;
        }
        if !have_pref {
            self.fixup(
                &tmp,
                "Rule has no preference specified - setting to 16384. This is probably not what you want.".into(),
            );
        }
    }
}
