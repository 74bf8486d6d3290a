//! LVS blocks: `virtual_server_group`, `virtual_server`, `real_server`.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

use super::{block, is_checker, span, values, Builder};
use crate::diag::{Code, ConfigErr, Diagnostic, Severity};
use crate::model::*;

impl Builder {
    pub(super) fn vsg(&mut self, st: &Stmt) -> Option<VirtualServerGroup> {
        let name = self.name(st)?;
        let mut g = VirtualServerGroup {
            name,
            entries: Vec::new(),
            loc: st.loc.clone(),
        };
        for vl in values(st) {
            let tmp = Stmt {
                keyword: "virtual_server_group".into(),
                args: vl.words.clone(),
                body: Body::None,
                loc: vl.loc.clone(),
                end_line: EndLine::default(),
            };
            if vl.words.first().map(String::as_str) == Some("fwmark") {
                if let Some(m) = self.uint(&tmp, 1, 1, u64::from(u32::MAX)) {
                    g.entries.push(VsgEntry::Fwmark(m as u32));
                }
                continue;
            }
            let Some(first) = vl.words.first().cloned() else {
                continue;
            };
            let (a, last) = match first.split_once('-') {
                Some((a, l)) => (a.to_string(), Some(l.to_string())),
                None => (first.clone(), None),
            };
            let Some(start) = self.ip(&tmp, &a) else {
                continue;
            };
            let end = match (&last, start) {
                (None, _) => start,
                (Some(l), IpAddr::V4(s4)) => match l.parse::<u8>() {
                    Ok(x) if x >= s4.octets()[3] => {
                        let o = s4.octets();
                        IpAddr::V4(Ipv4Addr::new(o[0], o[1], o[2], x))
                    }
                    _ => {
                        self.invalid(
                            &tmp,
                            format!("invalid address range '{first}'"),
                            Some("write FIRST-LASTOCTET, e.g. 10.0.0.1-10"),
                        );
                        continue;
                    }
                },
                (Some(l), IpAddr::V6(s6)) => match u16::from_str_radix(l, 16) {
                    Ok(x) if x >= s6.segments()[7] => {
                        let mut seg = s6.segments();
                        seg[7] = x;
                        IpAddr::V6(seg.into())
                    }
                    _ => {
                        self.invalid(&tmp, format!("invalid address range '{first}'"), None);
                        continue;
                    }
                },
            };
            let port = if vl.words.len() > 1 {
                match self.uint(&tmp, 1, 0, 65535) {
                    Some(p) => p as u16,
                    None => continue,
                }
            } else {
                0
            };
            g.entries.push(VsgEntry::Range {
                first: start,
                last: end,
                port,
            });
        }
        // keepalived checks the group once its block is read (reported on its `}`)
        if g.entries.is_empty() {
            let m = format!("virtual server group {} has no entries - removing", g.name);
            self.fixup_at_end(st, &m);
            return None;
        }
        Some(g)
    }

    pub(super) fn lb_kind(&mut self, st: &Stmt, what: &str) -> Option<LbKind> {
        match self.arg(st, 0)? {
            "NAT" => Some(LbKind::Nat),
            "DR" => Some(LbKind::Dr),
            "TUN" => {
                self.tunnel_options(st, what);
                Some(LbKind::Tun)
            }
            o => {
                let o = o.to_string();
                self.invalid(
                    st,
                    format!("unknown forwarding method '{o}'"),
                    Some("use NAT, DR or TUN"),
                );
                None
            }
        }
    }

    /// The tunnel options after `TUN` (keepalived's `svr_forwarding_handler`):
    /// `[type ipip|gue|gre] [port N] [nocsum|csum|remcsum]`. keepalived reports a bad one and
    /// keeps the default ipip tunnel; a valid non-default one is not supported here yet.
    fn tunnel_options(&mut self, st: &Stmt, what: &str) {
        let w = &st.args;
        let (mut ty, mut port, mut csum) = ("ipip", 0u32, "nocsum");
        let mut i = 1;
        while i < w.len() {
            match w[i].as_str() {
                "type" => {
                    let Some(t) = w.get(i + 1) else {
                        self.fixup(st, format!("Missing tunnel type for {what} server."));
                        return;
                    };
                    match t.as_str() {
                        "ipip" => ty = "ipip",
                        "gue" => ty = "gue",
                        "gre" => ty = "gre",
                        _ => {
                            self.fixup(st, format!("Unknown tunnel type {t} for {what} server."));
                            return;
                        }
                    }
                    i += 1;
                }
                "port" => {
                    let Some(p) = w.get(i + 1) else {
                        self.fixup(st, format!("Missing port for {what} server gue tunnel."));
                        return;
                    };
                    match p.parse::<u32>() {
                        Ok(n) if (1..=65535).contains(&n) => port = n,
                        _ => {
                            self.fixup(
                                st,
                                format!("Invalid gue tunnel port {p} for {what} server."),
                            );
                            return;
                        }
                    }
                    i += 1;
                }
                "nocsum" => csum = "nocsum",
                "csum" => csum = "csum",
                "remcsum" => csum = "remcsum",
                o => {
                    let o = o.to_string();
                    self.fixup(st, format!("Invalid tunnel option {o} for {what} server."));
                    return;
                }
            }
            i += 1;
        }
        if (ty == "gue") != (port != 0) {
            self.fixup(
                st,
                "gue tunnels require port, otherwise cannot have port.".into(),
            );
            return;
        }
        if ty == "ipip" && csum != "nocsum" {
            self.fixup(st, "ipip tunnels do not support checksum option.".into());
            return;
        }
        if ty == "gre" && csum == "remcsum" {
            self.fixup(
                st,
                "gre tunnels do not support remote checksum option.".into(),
            );
            return;
        }
        if ty != "ipip" || csum != "nocsum" {
            let d = Diagnostic::new(
                Severity::Note,
                Code::NotSupportedYet,
                ConfigErr::Ok,
                span(st),
                format!(
                    "tunnel type {ty} ({csum}) in {} is recognized, not supported yet: the tunnel is ipip",
                    st.keyword
                ),
            );
            self.emit(d);
        }
    }

    /// keepalived's `pgran_handler`: the family is the virtual server's (its address, else
    /// `ip_family` given before), else IPv4 when the value has a dot.
    pub(super) fn granularity(
        &mut self,
        st: &Stmt,
        key: &VsKey,
        family: Option<IpFamily>,
    ) -> Option<Granularity> {
        let s = self.arg(st, 0)?;
        let v6 = match (key, family) {
            (VsKey::Addr(a, _), _) => a.is_ipv6(),
            (_, Some(f)) => f == IpFamily::Inet6,
            _ => !s.contains('.'),
        };
        let g = if v6 {
            s.parse::<u8>()
                .ok()
                .filter(|b| (1..=128).contains(b))
                .map(Granularity::V6)
        } else {
            inet_aton(s).map(Granularity::V4)
        };
        if g.is_none() {
            let fam = if v6 { "IPv6" } else { "IPv4" };
            let msg = format!("Invalid {fam} persistence_granularity specified - {s}");
            self.invalid(
                st,
                msg,
                Some("an IPv4 netmask (255.255.255.0) or an IPv6 prefix length (1-128)"),
            );
        }
        g
    }

    pub(super) fn virtual_server(&mut self, st: &Stmt) -> Option<VirtualServer> {
        let key = match st.args.first().map(String::as_str) {
            None => {
                self.arg(st, 0);
                return None;
            }
            Some("fwmark") => VsKey::Fwmark(self.uint(st, 1, 1, u64::from(u32::MAX))? as u32),
            Some("group") => VsKey::Group(self.arg(st, 1)?.to_string()),
            Some(_) => {
                let a = self.ip_arg(st, 0)?;
                let port = if st.args.len() > 1 {
                    self.uint(st, 1, 0, 65535)? as u16
                } else {
                    0
                };
                VsKey::Addr(a, port)
            }
        };
        let mut vs = VirtualServer::new(key);
        vs.loc = st.loc.clone();
        let (mut saw_algo, mut saw_protocol, mut saw_kind) = (false, false, false);
        let body = block(st);
        vs.real_servers = Vec::with_capacity(
            body.iter()
                .filter(|b| b.keyword.as_ref() == "real_server")
                .count(),
        );
        // delay_loop and other defaults first: checkers inherit them regardless of order
        for b in body {
            match b.keyword.as_ref() {
                "delay_loop" => {
                    if let Some(d) = self.dur(b, 0, 1, u64::MAX / 2) {
                        vs.delay_loop = d;
                    }
                }
                "retry" => vs.retry = self.uint(b, 0, 1, u64::from(u32::MAX)).map(|x| x as u32),
                "delay_before_retry" => vs.delay_before_retry = self.dur(b, 0, 0, u64::MAX / 2),
                "warmup" => vs.warmup = self.dur(b, 0, 0, u64::MAX / 2),
                "connect_timeout" => vs.connect_timeout = self.dur(b, 0, 1, u64::MAX / 2),
                // keepalived: the default weight of the real servers that set none.
                "weight" => {
                    if let Some(w) = self.uint(b, 0, 1, i32::MAX as u64) {
                        vs.weight = w as u32;
                    }
                }
                _ => {}
            }
        }
        for b in body {
            match b.keyword.as_ref() {
                "delay_loop" | "retry" | "delay_before_retry" | "warmup" | "connect_timeout"
                | "weight" => {}
                "ip_family" => match self.arg(b, 0) {
                    Some("inet") => vs.ip_family = Some(IpFamily::Inet),
                    Some("inet6") => vs.ip_family = Some(IpFamily::Inet6),
                    Some(o) => {
                        let o = o.to_string();
                        self.invalid(
                            b,
                            format!("unknown ip_family '{o}'"),
                            Some("use inet or inet6"),
                        )
                    }
                    None => {}
                },
                "lb_algo" | "lvs_sched" => {
                    if let Some(a) = self.arg(b, 0) {
                        match Scheduler::from_name(a) {
                            Some(s) => {
                                vs.lb_algo = s;
                                saw_algo = true;
                            }
                            None => {
                                let msg = format!("Invalid lvs_scheduler '{a}' - ignoring");
                                self.invalid(
                                    b,
                                    msg,
                                    Some("use rr, wrr, lc, wlc, lblc, sh, mh, dh, fo, ovf, lblcr, sed, nq or twos"),
                                )
                            }
                        }
                    }
                }
                "hashed" | "ops" | "flag-1" | "flag-2" | "flag-3" | "sh-port" | "sh-fallback"
                | "mh-port" | "mh-fallback" => {
                    // keepalived's lbflags_handler: the sh-/mh- words (and `hashed`, which
                    // sets nothing) need the scheduler set before them.
                    let sched = saw_algo.then_some(vs.lb_algo);
                    let f = &mut vs.sched_flags;
                    match (b.keyword.as_ref(), sched) {
                        ("ops", _) => f.ops = true,
                        ("flag-1", _) => f.flag1 = true,
                        ("flag-2", _) => f.flag2 = true,
                        ("flag-3", _) => f.flag3 = true,
                        ("sh-fallback", Some(Scheduler::Sh))
                        | ("mh-fallback", Some(Scheduler::Mh)) => f.flag1 = true,
                        ("sh-port", Some(Scheduler::Sh)) | ("mh-port", Some(Scheduler::Mh)) => {
                            f.flag2 = true
                        }
                        (_, Some(Scheduler::Sh | Scheduler::Mh)) => {}
                        (kw, _) => {
                            let msg = format!("{kw} only applies to sh scheduler - ignoring");
                            self.invalid(b, msg, Some("set `lb_algo sh` (or mh) before the flag"))
                        }
                    }
                }
                "lb_kind" | "lvs_method" => {
                    if let Some(k) = self.lb_kind(b, "virtual") {
                        vs.lb_kind = k;
                        saw_kind = true;
                    }
                }
                "persistence_timeout" => {
                    if b.args.is_empty() {
                        vs.persistence_timeout = Some(360);
                    } else if let Some(t) = self.uint(b, 0, 1, 2_678_400) {
                        vs.persistence_timeout = Some(t as u32);
                    }
                }
                "persistence_granularity" => {
                    vs.persistence_granularity = self.granularity(b, &vs.key, vs.ip_family)
                }
                "persistence_engine" => vs.persistence_engine = self.string(b),
                "protocol" => {
                    saw_protocol = true;
                    // keepalived compares without case
                    match self.arg(b, 0).map(str::to_ascii_uppercase).as_deref() {
                        Some("TCP") => vs.protocol = Protocol::Tcp,
                        Some("UDP") => vs.protocol = Protocol::Udp,
                        Some("SCTP") => vs.protocol = Protocol::Sctp,
                        Some(_) => {
                            let o = b.args.first().cloned().unwrap_or_default();
                            self.invalid(
                                b,
                                format!("unknown protocol '{o}'"),
                                Some("use TCP, UDP or SCTP"),
                            )
                        }
                        None => {}
                    }
                }
                "ha_suspend" => vs.ha_suspend = true,
                "virtualhost" => vs.virtualhost = self.string(b),
                "alpha" => vs.alpha = true,
                "omega" => vs.omega = true,
                "quorum" => {
                    if let Some(q) = self.uint(b, 0, 1, u64::from(u32::MAX)) {
                        vs.quorum = q as u32;
                    }
                }
                "hysteresis" => {
                    if let Some(h) = self.uint(b, 0, 0, u64::from(u32::MAX)) {
                        vs.hysteresis = h as u32;
                    }
                }
                "quorum_up" => vs.quorum_up = self.script(b),
                "quorum_down" => vs.quorum_down = self.script(b),
                "inhibit_on_failure" => vs.inhibit_on_failure = self.boolean(b).unwrap_or(true),
                "smtp_alert" => vs.smtp_alert = self.boolean(b),
                "sorry_server" => {
                    if let Some(a) = self.ip_arg(b, 0) {
                        let port = if b.args.len() > 1 {
                            self.uint(b, 1, 0, 65535).map(|p| p as u16)
                        } else {
                            Some(0)
                        };
                        if let Some(p) = port {
                            vs.sorry_server = Some((a, p));
                        }
                    }
                }
                "sorry_server_inhibit" => vs.sorry_server_inhibit = self.boolean(b).unwrap_or(true),
                "sorry_server_lvs_method" => vs.sorry_server_lvs_method = self.lb_kind(b, "sorry"),
                "snmp_name" => vs.snmp_name = self.string(b),
                "real_server" => {
                    if let Some(rs) = self.real_server(b, &vs) {
                        let vs_v6 = match &vs.key {
                            VsKey::Addr(a, _) => Some(a.is_ipv6()),
                            _ => None,
                        };
                        if vs_v6.is_some_and(|v6| v6 != rs.addr.is_ipv6()) {
                            let msg = format!("Address family of virtual server and real server {} don't match - skipping real server.", rs.addr);
                            self.invalid_at_end(b, &msg);
                        } else {
                            vs.real_servers.push(rs);
                        }
                    }
                }
                _ => {
                    self.not_supported(b, "virtual_server");
                    vs.extra.push(b.clone());
                }
            }
        }
        // keepalived's vs_end_handler: a sorry server of the other family is dropped unless
        // tunnelled (reported on the block's `}`)
        if let Some((sa, _)) = vs.sorry_server {
            let vs_v6 = match &vs.key {
                VsKey::Addr(a, _) => Some(a.is_ipv6()),
                _ => vs.ip_family.map(|f| f == IpFamily::Inet6).or_else(|| {
                    vs.real_servers
                        .iter()
                        .find(|r| r.lvs_method.unwrap_or(vs.lb_kind) != LbKind::Tun)
                        .map(|r| r.addr.is_ipv6())
                }),
            };
            let method = vs.sorry_server_lvs_method.unwrap_or(vs.lb_kind);
            if method != LbKind::Tun && vs_v6.is_some_and(|v6| v6 != sa.is_ipv6()) {
                let m = format!("Address family of virtual server and sorry server {sa} don't match - skipping sorry server.");
                self.fixup_at_end(st, &m);
                vs.sorry_server = None;
            }
        }
        self.vs_end(&mut vs, saw_algo, saw_protocol, saw_kind)?;
        vs.real_servers.shrink_to_fit();
        vs.extra.shrink_to_fit();
        Some(vs)
    }

    /// keepalived's validate_check_config() for one virtual server: defaults it reports
    /// (scheduler, protocol UDP, forwarding NAT), duplicate real servers, empty pools.
    /// Returns None if keepalived would drop the virtual server.
    pub(super) fn vs_end(
        &mut self,
        vs: &mut VirtualServer,
        saw_algo: bool,
        saw_protocol: bool,
        saw_kind: bool,
    ) -> Option<()> {
        let name = match &vs.key {
            VsKey::Addr(a, p) => format!("[{a}]:{p}"),
            VsKey::Fwmark(m) => format!("FWM {m}"),
            VsKey::Group(g) => format!("group {g}"),
        };
        let sp = vs.loc.0.clone();
        let sem = |b: &mut Builder, msg: String, hint: &str| {
            let d = Diagnostic::new(
                Severity::Error,
                Code::Semantic,
                ConfigErr::GeneralError,
                &sp,
                msg,
            )
            .with_hint(hint.to_string());
            b.emit(d);
        };
        if vs.sched_flags.ops && vs.protocol != Protocol::Udp {
            // keepalived resets it and runs: a warning (exit 5 at -t all the same)
            let mut d = Diagnostic::new(
                Severity::Warning,
                Code::Semantic,
                ConfigErr::GeneralError,
                &sp,
                format!("virtual server {name}: one packet scheduling requires UDP - resetting"),
            );
            d.hint = Some("`ops` only applies to UDP services".into());
            self.emit(d);
            vs.sched_flags.ops = false;
        }
        if vs.real_servers.is_empty() {
            let d = Diagnostic::new(
                Severity::Error,
                Code::Semantic,
                ConfigErr::GeneralError,
                &sp,
                format!("virtual server {name} has no real servers - ignoring"),
            )
            .with_hint("add a real_server block, or remove the virtual_server");
            match &vs.key {
                // keepalived says it only when the group exists (known at the end)
                VsKey::Group(g) => self.pending_group_vs.push((g.clone(), d)),
                _ => self.emit(d),
            }
            return None;
        }
        if !saw_algo {
            sem(
                self,
                format!("virtual server {name}: no scheduler set, setting default 'wlc'"),
                "add `lb_algo rr|wrr|lc|wlc|...`",
            );
        }
        if matches!(vs.key, VsKey::Addr(..)) && !saw_protocol {
            sem(
                self,
                format!("virtual server {name}: no protocol set - defaulting to UDP"),
                "add `protocol TCP` (keepalived defaults to UDP here)",
            );
            vs.protocol = Protocol::Udp;
        }
        // keepalived: one packet scheduling only for UDP (on an address; a fwmark is free).
        if let VsKey::Addr(a, p) = &vs.key {
            if vs.sched_flags.ops && vs.protocol != Protocol::Udp {
                let proto = match vs.protocol {
                    Protocol::Tcp => "tcp",
                    Protocol::Sctp => "sctp",
                    Protocol::Udp => "udp",
                };
                sem(
                    self,
                    format!(
                        "Virtual server [{a}]:{proto}:{p}: one packet scheduling requires UDP - resetting"
                    ),
                    "remove `ops`, or use `protocol UDP`",
                );
                vs.sched_flags.ops = false;
            }
        }
        if !saw_kind && vs.real_servers.iter().any(|r| r.lvs_method.is_none()) {
            sem(
                self,
                format!("virtual server {name}: no forwarding method set, setting default NAT"),
                "add `lb_kind NAT|DR|TUN`",
            );
        }
        // a set: a hostile pool of many real servers must not cost quadratic time
        let mut seen: HashSet<(IpAddr, Option<u16>)> =
            HashSet::with_capacity(vs.real_servers.len());
        let mut dups = Vec::new();
        vs.real_servers.retain(|rs| {
            if seen.insert((rs.addr, rs.port)) {
                return true;
            }
            dups.push(Diagnostic::new(
                Severity::Error,
                Code::Semantic,
                ConfigErr::GeneralError,
                &rs.loc.0,
                format!(
                    "VS {name}: real server {} is duplicated - removing second rs",
                    rs.addr
                ),
            ));
            false
        });
        self.diags.append(&mut dups);
        Some(())
    }

    pub(super) fn real_server(&mut self, st: &Stmt, vs: &VirtualServer) -> Option<RealServer> {
        let addr = self.ip_arg(st, 0)?;
        let port = if st.args.len() > 1 {
            Some(self.uint(st, 1, 0, 65535)? as u16)
        } else {
            None
        };
        let mut rs = RealServer::new(addr, port);
        rs.weight = vs.weight;
        rs.loc = st.loc.clone();
        let body = block(st);
        rs.checkers = Vec::with_capacity(body.iter().filter(|b| is_checker(b)).count());
        for b in body {
            match b.keyword.as_ref() {
                "retry" => rs.retry = self.uint(b, 0, 1, u64::from(u32::MAX)).map(|x| x as u32),
                "delay_before_retry" => rs.delay_before_retry = self.dur(b, 0, 0, u64::MAX / 2),
                "warmup" => rs.warmup = self.dur(b, 0, 0, u64::MAX / 2),
                "connect_timeout" => rs.connect_timeout = self.dur(b, 0, 1, u64::MAX / 2),
                "delay_loop" => rs.delay_loop = self.dur(b, 0, 1, u64::MAX / 2),
                _ => {}
            }
        }
        for b in body {
            match b.keyword.as_ref() {
                "retry" | "delay_before_retry" | "warmup" | "connect_timeout" | "delay_loop" => {}
                "weight" => {
                    if let Some(w) = self.uint(b, 0, 0, i32::MAX as u64) {
                        rs.weight = w as u32;
                    }
                }
                "lvs_method" => rs.lvs_method = self.lb_kind(b, "real"),
                "uthreshold" => {
                    rs.uthreshold = self.uint(b, 0, 0, u64::from(u32::MAX)).map(|x| x as u32)
                }
                "lthreshold" => {
                    rs.lthreshold = self.uint(b, 0, 0, u64::from(u32::MAX)).map(|x| x as u32)
                }
                "inhibit_on_failure" => rs.inhibit_on_failure = self.boolean(b),
                "notify_up" => rs.notify_up = self.script(b),
                "notify_down" => rs.notify_down = self.script(b),
                "alpha" => rs.alpha = self.boolean(b),
                "smtp_alert" => rs.smtp_alert = self.boolean(b),
                "virtualhost" => rs.virtualhost = self.string(b),
                "snmp_name" => rs.snmp_name = self.string(b),
                _ if is_checker(b) => {
                    if let Some(c) = self.checker(b, &rs, vs) {
                        rs.checkers.push(c);
                    }
                }
                _ => {
                    self.not_supported(b, "real_server");
                    rs.extra.push(b.clone());
                }
            }
        }
        rs.checkers.shrink_to_fit();
        rs.extra.shrink_to_fit();
        Some(rs)
    }
}

/// glibc's `inet_aton` for the decimal forms: `a.b.c.d`, `a.b.c` (c: 16 bits), `a.b`
/// (b: 24 bits) and `a` (32 bits); hex and octal parts are refused.
pub(crate) fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<u64> = s
        .split('.')
        .map(|p| {
            if p.is_empty()
                || !p.bytes().all(|c| c.is_ascii_digit())
                || (p.len() > 1 && p.starts_with('0'))
            {
                None
            } else {
                p.parse::<u64>().ok()
            }
        })
        .collect::<Option<_>>()?;
    let (last, head) = parts.split_last()?;
    if head.len() > 3 || head.iter().any(|p| *p > 255) {
        return None;
    }
    let bits = 8 * (4 - head.len() as u32);
    if *last >= 1u64 << bits {
        return None;
    }
    let mut v: u64 = 0;
    for p in head {
        v = (v << 8) | p;
    }
    Some(Ipv4Addr::from(((v << bits) | last) as u32))
}
