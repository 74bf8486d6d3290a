//! The canonical printer: `parse_str(&print(&c)).config == c` for every model the parser
//! can produce (values containing `$NAME` of a defined parameter excepted: keepalived's
//! substitution ignores quotes, so such text cannot be written back verbatim).

mod global;
mod lvs;
mod vrrp;

use global::*;
use lvs::*;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;
use vrrp::*;

use crate::model::*;

/// Seconds as keepalived reads them: "5", "0.5", "1.000001".
pub fn fmt_duration(d: Duration) -> String {
    let us = d.as_micros();
    let secs = us / 1_000_000;
    let frac = us % 1_000_000;
    if frac == 0 {
        secs.to_string()
    } else {
        let f = format!("{frac:06}");
        format!("{secs}.{}", f.trim_end_matches('0'))
    }
}

/// Quote a word if the lexer would not read it back as one word.
pub fn quote(w: &str) -> String {
    let needs = w.is_empty()
        || w.starts_with("include")
        || w.chars().any(|c| {
            c.is_whitespace() || matches!(c, '"' | '\'' | '#' | '!' | '{' | '}' | '\\' | '@' | '~')
        });
    if !needs {
        return w.to_string();
    }
    let mut s = String::with_capacity(w.len() + 2);
    s.push('"');
    for c in w.chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('"');
    s
}

struct P {
    out: String,
    depth: usize,
}

impl P {
    fn line(&mut self, words: &[&str]) {
        for _ in 0..self.depth {
            self.out.push_str("    ");
        }
        let mut first = true;
        for w in words {
            if !first {
                self.out.push(' ');
            }
            // the keyword itself is never quoted
            if first {
                self.out.push_str(w);
            } else {
                self.out.push_str(&quote(w));
            }
            first = false;
        }
        self.out.push('\n');
    }
    fn value_line(&mut self, words: &[String]) {
        for _ in 0..self.depth {
            self.out.push_str("    ");
        }
        let q: Vec<String> = words.iter().map(|w| quote(w)).collect();
        self.out.push_str(&q.join(" "));
        self.out.push('\n');
    }
    fn open(&mut self, words: &[&str]) {
        for _ in 0..self.depth {
            self.out.push_str("    ");
        }
        let mut first = true;
        for w in words {
            if !first {
                self.out.push(' ');
                self.out.push_str(&quote(w));
            } else {
                self.out.push_str(w);
            }
            first = false;
        }
        self.out.push_str(" {\n");
        self.depth += 1;
    }
    fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        for _ in 0..self.depth {
            self.out.push_str("    ");
        }
        self.out.push_str("}\n");
    }
    fn kv(&mut self, k: &str, v: &str) {
        self.line(&[k, v]);
    }
    fn opt_s(&mut self, k: &str, v: &Option<String>) {
        if let Some(v) = v {
            self.kv(k, v);
        }
    }
    fn flag(&mut self, k: &str, v: bool) {
        if v {
            self.line(&[k]);
        }
    }
    fn opt_bool(&mut self, k: &str, v: Option<bool>) {
        if let Some(b) = v {
            self.kv(k, if b { "on" } else { "off" });
        }
    }
    fn dur(&mut self, k: &str, d: Duration) {
        self.kv(k, &fmt_duration(d));
    }
    fn opt_dur(&mut self, k: &str, d: Option<Duration>) {
        if let Some(d) = d {
            self.dur(k, d);
        }
    }
    fn num<T: ToString>(&mut self, k: &str, n: T) {
        self.kv(k, &n.to_string());
    }
    fn opt_num<T: ToString>(&mut self, k: &str, n: Option<T>) {
        if let Some(n) = n {
            self.num(k, n);
        }
    }
    fn script(&mut self, k: &str, s: &Option<Box<Script>>) {
        if let Some(s) = s {
            let mut w = vec![k, s.command.as_str()];
            if let Some(u) = &s.user {
                w.push(u);
                if let Some(g) = &s.group {
                    w.push(g);
                }
            }
            self.line(&w);
        }
    }
    fn user(&mut self, k: &str, u: &Option<(String, Option<String>)>) {
        if let Some((u, g)) = u {
            match g {
                Some(g) => self.line(&[k, u, g]),
                None => self.line(&[k, u]),
            }
        }
    }
    fn routes(&mut self, k: &str, list: &[Route]) {
        if list.is_empty() {
            return;
        }
        self.open(&[k]);
        for r in list {
            self.value_line(&route_words(r));
        }
        self.close();
    }
    fn rules(&mut self, k: &str, list: &[Rule]) {
        if list.is_empty() {
            return;
        }
        self.open(&[k]);
        for r in list {
            self.value_line(&rule_words(r));
        }
        self.close();
    }
    fn stmts(&mut self, stmts: &[Stmt]) {
        for s in stmts {
            self.stmt(s);
        }
    }
    fn stmt(&mut self, s: &Stmt) {
        let mut w: Vec<&str> = vec![s.keyword.as_ref()];
        w.extend(s.args.iter().map(String::as_str));
        match &s.body {
            Body::None => self.line(&w),
            Body::Block(b) => {
                self.open(&w);
                self.stmts(b);
                self.close();
            }
            Body::Values(v) => {
                self.open(&w);
                for l in v {
                    self.value_line(&l.words);
                }
                self.close();
            }
        }
    }
    fn track(&mut self, k: &str, refs: &[TrackRef]) {
        if refs.is_empty() {
            return;
        }
        self.open(&[k]);
        for r in refs {
            let mut w = vec![r.name.clone()];
            if let Some(x) = r.weight {
                w.push("weight".into());
                w.push(x.to_string());
            }
            if r.reverse {
                w.push("reverse".into());
            }
            self.value_line(&w);
        }
        self.close();
    }
    fn addrs(&mut self, k: &str, list: &[IpAddress]) {
        if list.is_empty() {
            return;
        }
        self.open(&[k]);
        for a in list {
            self.value_line(&ip_words(a));
        }
        self.close();
    }
}

fn route_words(r: &Route) -> Vec<String> {
    let mut w = Vec::new();
    if r.kind != RouteType::Unicast {
        w.push(r.kind.to_string());
    }
    w.push(format!("{}/{}", r.dst, r.prefix_len));
    let mut kv = |k: &str, v: String| {
        w.push(k.to_string());
        w.push(v);
    };
    if let Some(a) = r.src {
        kv("src", a.to_string());
    }
    if let Some(a) = r.via {
        kv("via", a.to_string());
    }
    if let Some(d) = &r.dev {
        kv("dev", d.clone());
    }
    if r.table != 254 {
        kv("table", r.table.to_string());
    }
    if let Some(v) = &r.vrf {
        kv("vrf", v.clone());
    }
    if let Some(m) = r.metric {
        kv("metric", m.to_string());
    }
    if r.scope != Scope::Global {
        kv("scope", r.scope.to_string());
    }
    if r.no_track && r.protocol != RTPROT_KEEPALIVED {
        kv("protocol", r.protocol.to_string());
    }
    if r.no_track {
        w.push("no_track".into());
    }
    if let Some(g) = &r.track_group {
        w.push("track_group".into());
        w.push(g.clone());
    }
    w
}

fn rule_words(r: &Rule) -> Vec<String> {
    let mut w = Vec::new();
    if r.v6 {
        w.push("inet6".to_string());
    }
    let mut kv = |k: &str, v: String| {
        w.push(k.to_string());
        w.push(v);
    };
    if let Some((a, l)) = r.from {
        kv("from", format!("{a}/{l}"));
    }
    if let Some((a, l)) = r.to {
        kv("to", format!("{a}/{l}"));
    }
    if r.tos != 0 {
        kv("tos", r.tos.to_string());
    }
    match r.fwmark {
        Some((m, Some(k))) => kv("fwmark", format!("{m}/{k}")),
        Some((m, None)) => kv("fwmark", m.to_string()),
        None => {}
    }
    if let Some(i) = &r.iif {
        kv("iif", i.clone());
    }
    if let Some(o) = &r.oif {
        kv("oif", o.clone());
    }
    kv("preference", r.priority.to_string());
    match r.action {
        RuleAction::Table(t) => kv("table", t.to_string()),
        RuleAction::Goto(t) => kv("goto", t.to_string()),
        RuleAction::Blackhole => w.push("blackhole".into()),
        RuleAction::Unreachable => w.push("unreachable".into()),
        RuleAction::Prohibit => w.push("prohibit".into()),
    }
    if r.no_track && r.protocol != 0 {
        w.push("protocol".into());
        w.push(r.protocol.to_string());
    }
    if r.no_track {
        w.push("no_track".into());
    }
    if let Some(g) = &r.track_group {
        w.push("track_group".into());
        w.push(g.clone());
    }
    w
}

fn ip_words(a: &IpAddress) -> Vec<String> {
    let mut w = vec![format!("{}/{}", a.addr, a.prefix_len)];
    if let Some(b) = a.brd {
        w.push("brd".into());
        w.push(b.to_string());
    }
    if let Some(d) = &a.dev {
        w.push("dev".into());
        w.push(d.clone());
    }
    if let Some(s) = &a.scope {
        w.push("scope".into());
        w.push(s.to_string());
    }
    if let Some(l) = &a.label {
        w.push("label".into());
        w.push(l.clone());
    }
    if let Some((p, l)) = &a.peer {
        w.push("peer".into());
        w.push(match l {
            Some(l) => format!("{p}/{l}"),
            None => p.to_string(),
        });
    }
    if a.no_track {
        w.push("no_track".into());
    }
    if let Some(p) = a.preferred_lft {
        w.push("preferred_lft".into());
        w.push(if p == u32::MAX {
            "forever".into()
        } else {
            p.to_string()
        });
    }
    for (on, word) in [
        (a.flags.home, "home"),
        (a.flags.dad, "-nodad"),
        (a.flags.mngtmpaddr, "mngtmpaddr"),
        (a.flags.noprefixroute, "noprefixroute"),
        (a.flags.autojoin, "autojoin"),
        (a.use_vmac, "use_vmac"),
    ] {
        if on {
            w.push(word.into());
        }
    }
    if let Some(g) = &a.track_group {
        w.push("track_group".into());
        w.push(g.clone());
    }
    w
}

fn lb(k: LbKind) -> &'static str {
    match k {
        LbKind::Nat => "NAT",
        LbKind::Dr => "DR",
        LbKind::Tun => "TUN",
    }
}

fn weight_words(w: i32, rev: bool) -> Vec<String> {
    let mut v = vec![w.to_string()];
    if rev {
        v.push("reverse".into());
    }
    v
}

/// Print a configuration in canonical keepalived.conf syntax.
pub fn print(c: &Config) -> String {
    let mut p = P {
        out: String::new(),
        depth: 0,
    };
    root_globals(&mut p, &c.global);
    global(&mut p, &c.global);
    p.addrs("static_ipaddress", &c.static_ipaddress);
    p.routes("static_routes", &c.static_routes);
    p.rules("static_rules", &c.static_rules);
    for s in &c.vrrp_scripts {
        p.open(&["vrrp_script", &s.name]);
        if !s.script.is_empty() {
            p.kv("script", &s.script);
        }
        p.num("interval", s.interval.as_secs());
        if let Some(t) = s.timeout {
            p.num("timeout", t.as_secs());
        }
        let mut w = vec!["weight".to_string()];
        w.extend(weight_words(s.weight, s.weight_reverse));
        let wr: Vec<&str> = w.iter().map(String::as_str).collect();
        p.line(&wr);
        p.num("rise", s.rise);
        p.num("fall", s.fall);
        p.user("user", &s.user);
        p.flag("init_fail", s.init_fail);
        p.close();
    }
    for t in &c.track_files {
        p.open(&["track_file", &t.name]);
        if !t.file.is_empty() {
            p.kv("file", &t.file);
        }
        let mut w = vec!["weight".to_string()];
        w.extend(weight_words(t.weight, t.weight_reverse));
        let wr: Vec<&str> = w.iter().map(String::as_str).collect();
        p.line(&wr);
        if let Some(i) = &t.init_file {
            let mut w = vec!["init_file"];
            w.extend(i.iter().map(String::as_str));
            p.line(&w);
        }
        p.close();
    }
    for t in &c.track_processes {
        p.open(&["vrrp_track_process", &t.name]);
        if !t.process.is_empty() {
            let mut w = vec!["process"];
            w.extend(t.process.iter().map(String::as_str));
            p.line(&w);
        }
        p.opt_s("param_match", &t.param_match);
        let mut w = vec!["weight".to_string()];
        w.extend(weight_words(t.weight, t.weight_reverse));
        let wr: Vec<&str> = w.iter().map(String::as_str).collect();
        p.line(&wr);
        p.num("quorum", t.quorum);
        p.opt_num("quorum_max", t.quorum_max);
        p.opt_dur("delay", t.delay);
        p.opt_dur("terminate_delay", t.terminate_delay);
        p.opt_dur("fork_delay", t.fork_delay);
        p.flag("full_command", t.full_command);
        p.close();
    }
    for g in &c.garp_groups {
        p.open(&["garp_group"]);
        p.opt_dur("garp_interval", g.garp_interval);
        p.opt_dur("gna_interval", g.gna_interval);
        if !g.interfaces.is_empty() {
            p.open(&["interfaces"]);
            for i in &g.interfaces {
                p.value_line(std::slice::from_ref(&i.name));
            }
            p.close();
        }
        p.close();
    }
    for v in &c.vrrp_instances {
        instance(&mut p, v);
    }
    for g in &c.sync_groups {
        p.open(&["vrrp_sync_group", &g.name]);
        if !g.group.is_empty() {
            p.open(&["group"]);
            for n in &g.group {
                p.value_line(std::slice::from_ref(n));
            }
            p.close();
        }
        p.track("track_interface", &g.track_interface);
        p.track("track_script", &g.track_script);
        p.track("track_file", &g.track_file);
        p.track("track_process", &g.track_process);
        p.script("notify_master", &g.notify_master);
        p.script("notify_backup", &g.notify_backup);
        p.script("notify_fault", &g.notify_fault);
        p.script("notify_stop", &g.notify_stop);
        p.script("notify", &g.notify);
        p.opt_bool("smtp_alert", g.smtp_alert);
        p.track("track_bfd", &g.track_bfd);
        p.flag("sync_group_tracking_weight", g.sync_group_tracking_weight);
        p.opt_bool("notify_priority_changes", g.notify_priority_changes);
        p.stmts(&g.extra);
        p.close();
    }
    if let Some(s) = &c.ssl {
        p.open(&["SSL"]);
        p.opt_s("password", &s.password);
        p.opt_s("ca", &s.ca);
        p.opt_s("certificate", &s.certificate);
        p.opt_s("key", &s.key);
        p.close();
    }
    for g in &c.virtual_server_groups {
        p.open(&["virtual_server_group", &g.name]);
        for e in &g.entries {
            match e {
                VsgEntry::Fwmark(m) => p.value_line(&["fwmark".into(), m.to_string()]),
                VsgEntry::Range { first, last, port } => {
                    let a = if first == last {
                        first.to_string()
                    } else {
                        match last {
                            IpAddr::V4(l) => format!("{first}-{}", l.octets()[3]),
                            IpAddr::V6(l) => format!("{first}-{:x}", l.segments()[7]),
                        }
                    };
                    p.value_line(&[a, port.to_string()]);
                }
            }
        }
        p.close();
    }
    for vs in &c.virtual_servers {
        virtual_server(&mut p, vs);
    }
    top_typed(&mut p, c);
    p.stmts(&c.extra);
    p.out
}

/// Milliseconds as keepalived's BFD intervals read them ("10", "1.5").
fn fmt_ms(d: Duration) -> String {
    let us = d.as_micros();
    let (ms, frac) = (us / 1000, us % 1000);
    if frac == 0 {
        ms.to_string()
    } else {
        let f = format!("{frac:03}");
        format!("{ms}.{}", f.trim_end_matches('0'))
    }
}

/// The top-level blocks no runtime reads yet.
fn top_typed(p: &mut P, c: &Config) {
    for g in &c.track_groups {
        p.open(&["track_group", &g.name]);
        if !g.group.is_empty() {
            p.open(&["group"]);
            for n in &g.group {
                p.value_line(std::slice::from_ref(n));
            }
            p.close();
        }
        p.close();
    }
    if !c.linkbeat_interfaces.is_empty() {
        p.open(&["linkbeat_interfaces"]);
        for l in &c.linkbeat_interfaces {
            let mut w = vec![l.name.clone()];
            if let Some(k) = l.kind {
                w.push(k.name().to_string());
            }
            p.value_line(&w);
        }
        p.close();
    }
    if !c.interface_up_down_delays.is_empty() {
        p.open(&["interface_up_down_delays"]);
        for d in &c.interface_up_down_delays {
            p.value_line(&[d.name.clone(), fmt_duration(d.down), fmt_duration(d.up)]);
        }
        p.close();
    }
    for b in &c.bfd_instances {
        p.open(&["bfd_instance", &b.name]);
        if let Some(a) = b.neighbor_ip {
            p.kv("neighbor_ip", &a.to_string());
        }
        if let Some(a) = b.source_ip {
            p.kv("source_ip", &a.to_string());
        }
        p.kv("min_rx", &fmt_ms(b.min_rx));
        p.kv("min_tx", &fmt_ms(b.min_tx));
        p.kv("idle_tx", &fmt_ms(b.idle_tx));
        p.num("multiplier", b.multiplier);
        p.flag("passive", b.passive);
        p.opt_num("ttl", b.ttl);
        p.num("max_hops", b.max_hops);
        p.flag("multihop", b.multihop);
        let w = b.weight.to_string();
        if b.weight_reverse {
            p.line(&["weight", &w, "reverse"]);
        } else {
            p.kv("weight", &w);
        }
        p.flag("vrrp", b.vrrp);
        p.flag("checker", b.checker);
        p.close();
    }
}
