//! The canonical printer: `parse_str(&print(&c)).config == c` for every model the parser
//! can produce (values containing `$NAME` of a defined parameter excepted: keepalived's
//! substitution ignores quotes, so such text cannot be written back verbatim).

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;

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
    if let Some(p) = &a.preferred_lft {
        w.push("preferred_lft".into());
        w.push(p.clone());
    }
    w.extend(a.other.iter().cloned());
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

/// The root-level globals (`instance`, `net_namespace`, ...), before `global_defs`.
fn root_globals(p: &mut P, g: &GlobalDefs) {
    p.opt_s("instance", &g.instance);
    p.opt_s("net_namespace", &g.net_namespace);
    match g.net_namespace_ipvs.as_deref() {
        Some("") => p.line(&["net_namespace_ipvs"]),
        Some(n) => p.kv("net_namespace_ipvs", n),
        None => {}
    }
    p.flag("namespace_with_ipsets", g.namespace_with_ipsets);
    p.flag("use_pid_dir", g.use_pid_dir);
    p.flag("linkbeat_use_polling", g.linkbeat_use_polling);
    if g.child_wait_time != DEFAULT_CHILD_WAIT_TIME {
        p.num("child_wait_time", g.child_wait_time.as_secs());
    }
}

/// `[PREFIX]notify_fifo` and `[PREFIX]notify_fifo_script`.
fn notify_fifo(p: &mut P, prefix: &str, f: &NotifyFifo) {
    if let Some(n) = &f.name {
        let k = format!("{prefix}notify_fifo");
        let mut w = vec![k.as_str(), n.as_str()];
        if let Some((u, g)) = &f.user {
            w.push(u);
            if let Some(g) = g {
                w.push(g);
            }
        }
        p.line(&w);
    }
    p.script(&format!("{prefix}notify_fifo_script"), &f.script);
}

fn global(p: &mut P, g: &GlobalDefs) {
    let d = GlobalDefs::default();
    p.open(&["global_defs"]);
    p.opt_s("router_id", &g.router_id);
    if !g.notification_email.is_empty() {
        p.open(&["notification_email"]);
        for e in &g.notification_email {
            p.value_line(std::slice::from_ref(e));
        }
        p.close();
    }
    p.opt_s("notification_email_from", &g.notification_email_from);
    if let Some((s, port)) = &g.smtp_server {
        p.line(&["smtp_server", s, &port.to_string()]);
    }
    p.opt_s("smtp_helo_name", &g.smtp_helo_name);
    p.num("smtp_connect_timeout", g.smtp_connect_timeout.as_secs());
    p.opt_bool("smtp_alert", g.smtp_alert);
    p.opt_bool("smtp_alert_vrrp", g.smtp_alert_vrrp);
    p.opt_bool("smtp_alert_checker", g.smtp_alert_checker);
    p.flag("enable_script_security", g.enable_script_security);
    p.user("script_user", &g.script_user);
    p.flag("vrrp_strict", g.vrrp_strict);
    p.flag("vrrp_skip_check_adv_addr", g.vrrp_skip_check_adv_addr);
    p.flag("vrrp_check_unicast_src", g.vrrp_check_unicast_src);
    p.num("vrrp_version", g.vrrp_version);
    if g.vrrp_mcast_group4 != d.vrrp_mcast_group4 {
        p.kv("vrrp_mcast_group4", &g.vrrp_mcast_group4.to_string());
    }
    if g.vrrp_mcast_group6 != d.vrrp_mcast_group6 {
        p.kv("vrrp_mcast_group6", &g.vrrp_mcast_group6.to_string());
    }
    p.num("vrrp_garp_master_delay", g.vrrp_garp_master_delay.as_secs());
    p.num("vrrp_garp_master_repeat", g.vrrp_garp_master_repeat);
    if let Some(r) = g.vrrp_garp_master_refresh {
        p.num("vrrp_garp_master_refresh", r.as_secs());
    }
    p.num(
        "vrrp_garp_master_refresh_repeat",
        g.vrrp_garp_master_refresh_repeat,
    );
    if let Some(x) = g.vrrp_garp_lower_prio_delay {
        p.num("vrrp_garp_lower_prio_delay", x.as_secs());
    }
    p.opt_num("vrrp_garp_lower_prio_repeat", g.vrrp_garp_lower_prio_repeat);
    if !g.vrrp_garp_interval.is_zero() {
        p.dur("vrrp_garp_interval", g.vrrp_garp_interval);
    }
    if !g.vrrp_gna_interval.is_zero() {
        p.dur("vrrp_gna_interval", g.vrrp_gna_interval);
    }
    p.flag("vrrp_lower_prio_no_advert", g.vrrp_lower_prio_no_advert);
    p.flag(
        "vrrp_higher_prio_send_advert",
        g.vrrp_higher_prio_send_advert,
    );
    p.flag("vrrp_owner_ignore_adverts", g.vrrp_owner_ignore_adverts);
    p.num("vrrp_down_timer_adverts", g.vrrp_down_timer_adverts);
    p.opt_dur("vrrp_startup_delay", g.vrrp_startup_delay);
    if let Some(l) = &g.lvs_sync_daemon {
        let mut w = vec![
            "lvs_sync_daemon".to_string(),
            l.interface.clone(),
            l.vrrp_instance.clone(),
        ];
        if let Some(x) = l.id {
            w.extend(["id".into(), x.to_string()]);
        }
        if let Some(x) = l.maxlen {
            w.extend(["maxlen".into(), x.to_string()]);
        }
        if let Some(x) = l.port {
            w.extend(["port".into(), x.to_string()]);
        }
        if let Some(x) = l.ttl {
            w.extend(["ttl".into(), x.to_string()]);
        }
        if let Some(x) = l.group {
            w.extend(["group".into(), x.to_string()]);
        }
        let wr: Vec<&str> = w.iter().map(String::as_str).collect();
        p.line(&wr);
    }
    p.flag("lvs_flush", g.lvs_flush);
    match g.lvs_flush_on_stop {
        FlushOnStop::No => {}
        FlushOnStop::Vs => p.line(&["lvs_flush_on_stop", "VS"]),
        FlushOnStop::Full => p.line(&["lvs_flush_on_stop"]),
    }
    if let Some(t) = &g.lvs_timeouts {
        let mut w = vec!["lvs_timeouts".to_string()];
        for (k, v) in [("tcp", t.tcp), ("tcpfin", t.tcpfin), ("udp", t.udp)] {
            if let Some(v) = v {
                w.extend([k.to_string(), v.to_string()]);
            }
        }
        let wr: Vec<&str> = w.iter().map(String::as_str).collect();
        p.line(&wr);
    }
    p.opt_s("default_interface", &g.default_interface);
    p.flag("dynamic_interfaces", g.dynamic_interfaces);
    p.flag("checker_log_all_failures", g.checker_log_all_failures);
    p.flag("no_email_faults", g.no_email_faults);
    notify_fifo(p, "", &g.notify_fifo);
    notify_fifo(p, "vrrp_", &g.vrrp_notify_fifo);
    notify_fifo(p, "lvs_", &g.lvs_notify_fifo);
    p.opt_s("vmac_prefix", &g.vmac_prefix);
    p.opt_s("vmac_addr_prefix", &g.vmac_addr_prefix);
    if !g.krs_vip_lease {
        p.kv("krs_vip_lease", "off");
    }
    if let Some(a) = g.metrics_listen {
        p.kv("metrics_listen", &a.to_string());
    }
    if !g.metrics_allow.is_empty() {
        let nets: Vec<String> = g
            .metrics_allow
            .iter()
            .map(|(a, l)| format!("{a}/{l}"))
            .collect();
        let mut w = vec!["metrics_allow"];
        w.extend(nets.iter().map(String::as_str));
        p.line(&w);
    }
    global_typed(p, g);
    p.stmts(&g.extra);
    p.close();
}

fn instance(p: &mut P, v: &VrrpInstance) {
    p.open(&["vrrp_instance", &v.name]);
    p.kv(
        "state",
        if v.state == VrrpState::Master {
            "MASTER"
        } else {
            "BACKUP"
        },
    );
    // the interfaces a later `interface` replaced, in order (keepalived checks each one)
    for (i, _) in &v.replaced_interfaces {
        p.kv("interface", i);
    }
    p.opt_s("interface", &v.interface);
    p.opt_num("virtual_router_id", v.virtual_router_id);
    p.num("priority", v.priority);
    p.dur("advert_int", v.advert_int);
    p.opt_num("version", v.version);
    if let Some(m) = &v.use_vmac {
        match &m.name {
            Some(n) => p.line(&["use_vmac", n]),
            None => p.line(&["use_vmac"]),
        }
    }
    p.flag("vmac_xmit_base", v.vmac_xmit_base);
    p.flag("use_vmac_addr", v.use_vmac_addr);
    for (k, a) in [
        ("mcast_src_ip", v.mcast_src_ip),
        ("unicast_src_ip", v.unicast_src_ip),
        ("mcast_dst_ip", v.mcast_dst_ip),
    ] {
        if let Some(a) = a {
            p.kv(k, &a.to_string());
        }
    }
    if !v.unicast_peer.is_empty() {
        p.open(&["unicast_peer"]);
        for u in &v.unicast_peer {
            let mut w = vec![u.addr.to_string()];
            if let Some(t) = u.min_ttl {
                w.extend(["min_ttl".into(), t.to_string()]);
            }
            if let Some(t) = u.max_ttl {
                w.extend(["max_ttl".into(), t.to_string()]);
            }
            p.value_line(&w);
        }
        p.close();
    }
    // keepalived rejects `unicast_ttl` without unicast peers: the default is not printed then
    if !v.unicast_peer.is_empty() || v.unicast_ttl != 255 {
        p.num("unicast_ttl", v.unicast_ttl);
    }
    p.flag("unicast_fault_no_peer", v.unicast_fault_no_peer);
    p.flag("check_unicast_src", v.check_unicast_src);
    p.addrs("virtual_ipaddress", &v.virtual_ipaddress);
    p.addrs("virtual_ipaddress_excluded", &v.virtual_ipaddress_excluded);
    p.routes("virtual_routes", &v.virtual_routes);
    p.rules("virtual_rules", &v.virtual_rules);
    if let Some(a) = &v.authentication {
        p.open(&["authentication"]);
        p.kv(
            "auth_type",
            if a.auth_type == AuthType::Pass {
                "PASS"
            } else {
                "AH"
            },
        );
        p.kv("auth_pass", &a.auth_pass);
        p.close();
    }
    if let Some(a) = &v.auth_hmac {
        p.open(&["auth_hmac"]);
        for k in &a.keys {
            p.line(&["key", &k.id.to_string(), &k.value.as_written()]);
        }
        p.opt_num("active_key", a.active_key);
        match a.anti_replay {
            Some(AuthHmacAntiReplay::Time) => p.kv("anti_replay", "time"),
            Some(AuthHmacAntiReplay::Monotonic) => p.kv("anti_replay", "monotonic"),
            None => {}
        }
        p.opt_num("time_window", a.time_window);
        if let Some(m) = a.mode {
            p.kv("mode", m.as_str());
        }
        p.close();
    }
    p.track("track_interface", &v.track_interface);
    p.track("track_script", &v.track_script);
    p.track("track_file", &v.track_file);
    p.track("track_process", &v.track_process);
    p.track("track_bfd", &v.track_bfd);
    p.flag("dont_track_primary", v.dont_track_primary);
    p.flag("track_src_ip", v.track_src_ip);
    match v.accept {
        Some(true) => p.line(&["accept"]),
        Some(false) => p.line(&["no_accept"]),
        None => {}
    }
    p.line(&[if v.preempt { "preempt" } else { "nopreempt" }]);
    p.dur("preempt_delay", v.preempt_delay);
    p.opt_bool("strict_mode", v.strict_mode);
    p.opt_bool("skip_check_adv_addr", v.skip_check_adv_addr);
    p.opt_bool("v3_checksum_as_v2", v.v3_checksum_as_v2);
    p.flag("no_virtual_ipaddress", v.no_virtual_ipaddress);
    p.flag("native_ipv6", v.native_ipv6);
    p.flag("promote_secondaries", v.promote_secondaries);
    if let Some(d) = v.garp_master_delay {
        p.num("garp_master_delay", d.as_secs());
    }
    p.opt_num("garp_master_repeat", v.garp_master_repeat);
    if let Some(d) = v.garp_master_refresh {
        p.num("garp_master_refresh", d.as_secs());
    }
    p.opt_num("garp_master_refresh_repeat", v.garp_master_refresh_repeat);
    if let Some(d) = v.garp_lower_prio_delay {
        p.num("garp_lower_prio_delay", d.as_secs());
    }
    p.opt_num("garp_lower_prio_repeat", v.garp_lower_prio_repeat);
    p.opt_bool("lower_prio_no_advert", v.lower_prio_no_advert);
    p.opt_bool("higher_prio_send_advert", v.higher_prio_send_advert);
    p.opt_bool("owner_ignore_adverts", v.owner_ignore_adverts);
    p.opt_num("down_timer_adverts", v.down_timer_adverts);
    p.script("notify_master", &v.notify_master);
    p.script("notify_backup", &v.notify_backup);
    p.script("notify_fault", &v.notify_fault);
    p.script("notify_stop", &v.notify_stop);
    if v.notify_deleted.is_some() {
        p.script("notify_deleted", &v.notify_deleted);
    } else {
        p.flag("notify_deleted", v.notify_deleted_set);
    }
    p.script("notify", &v.notify);
    p.script("notify_master_rx_lower_pri", &v.notify_master_rx_lower_pri);
    p.opt_bool("smtp_alert", v.smtp_alert);
    p.opt_s("lvs_sync_daemon_interface", &v.lvs_sync_daemon_interface);
    p.opt_num("debug", v.debug);
    instance_typed(p, v);
    p.stmts(&v.extra);
    p.close();
}

fn virtual_server(p: &mut P, vs: &VirtualServer) {
    match &vs.key {
        VsKey::Addr(a, port) => p.open(&["virtual_server", &a.to_string(), &port.to_string()]),
        VsKey::Fwmark(m) => p.open(&["virtual_server", "fwmark", &m.to_string()]),
        VsKey::Group(g) => p.open(&["virtual_server", "group", g]),
    }
    if let Some(f) = vs.ip_family {
        p.kv("ip_family", f.name());
    }
    p.dur("delay_loop", vs.delay_loop);
    p.kv("lb_algo", vs.lb_algo.name());
    let f = vs.sched_flags;
    p.flag("ops", f.ops);
    p.flag("flag-1", f.flag1);
    p.flag("flag-2", f.flag2);
    p.flag("flag-3", f.flag3);
    p.kv("lb_kind", lb(vs.lb_kind));
    p.opt_num("persistence_timeout", vs.persistence_timeout);
    match vs.persistence_granularity {
        Some(Granularity::V4(m)) => p.kv("persistence_granularity", &m.to_string()),
        Some(Granularity::V6(b)) => p.num("persistence_granularity", b),
        None => {}
    }
    p.opt_s("persistence_engine", &vs.persistence_engine);
    p.kv(
        "protocol",
        match vs.protocol {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        },
    );
    p.flag("ha_suspend", vs.ha_suspend);
    p.opt_s("virtualhost", &vs.virtualhost);
    p.flag("alpha", vs.alpha);
    p.flag("omega", vs.omega);
    p.num("quorum", vs.quorum);
    p.num("hysteresis", vs.hysteresis);
    p.script("quorum_up", &vs.quorum_up);
    p.script("quorum_down", &vs.quorum_down);
    p.num("weight", vs.weight);
    if vs.inhibit_on_failure {
        p.line(&["inhibit_on_failure"]);
    }
    p.opt_num("retry", vs.retry);
    p.opt_dur("delay_before_retry", vs.delay_before_retry);
    p.opt_dur("warmup", vs.warmup);
    p.opt_dur("connect_timeout", vs.connect_timeout);
    p.opt_bool("smtp_alert", vs.smtp_alert);
    if let Some((a, port)) = &vs.sorry_server {
        p.line(&["sorry_server", &a.to_string(), &port.to_string()]);
    }
    p.flag("sorry_server_inhibit", vs.sorry_server_inhibit);
    if let Some(k) = vs.sorry_server_lvs_method {
        p.kv("sorry_server_lvs_method", lb(k));
    }
    p.opt_s("snmp_name", &vs.snmp_name);
    for rs in &vs.real_servers {
        match rs.port {
            Some(port) => p.open(&["real_server", &rs.addr.to_string(), &port.to_string()]),
            None => p.open(&["real_server", &rs.addr.to_string()]),
        }
        p.num("weight", rs.weight);
        if let Some(k) = rs.lvs_method {
            p.kv("lvs_method", lb(k));
        }
        p.opt_num("uthreshold", rs.uthreshold);
        p.opt_num("lthreshold", rs.lthreshold);
        p.opt_bool("inhibit_on_failure", rs.inhibit_on_failure);
        p.script("notify_up", &rs.notify_up);
        p.script("notify_down", &rs.notify_down);
        p.opt_bool("alpha", rs.alpha);
        p.opt_num("retry", rs.retry);
        p.opt_dur("delay_before_retry", rs.delay_before_retry);
        p.opt_dur("warmup", rs.warmup);
        p.opt_dur("connect_timeout", rs.connect_timeout);
        p.opt_dur("delay_loop", rs.delay_loop);
        p.opt_bool("smtp_alert", rs.smtp_alert);
        p.opt_s("virtualhost", &rs.virtualhost);
        p.opt_s("snmp_name", &rs.snmp_name);
        for c in &rs.checkers {
            checker(p, c);
        }
        p.stmts(&rs.extra);
        p.close();
    }
    p.stmts(&vs.extra);
    p.close();
}

fn checker(p: &mut P, c: &Checker) {
    p.open(&[c.kind.keyword()]);
    let m = &c.common;
    let is_misc = matches!(c.kind, CheckerKind::Misc(_));
    let is_conn = !matches!(
        c.kind,
        CheckerKind::Misc(_) | CheckerKind::File(_) | CheckerKind::Bfd(_)
    );
    if is_conn {
        if let Some(a) = m.connect_ip {
            p.kv("connect_ip", &a.to_string());
        }
        p.opt_num("connect_port", m.connect_port);
        if let Some(a) = m.bindto {
            p.kv("bindto", &a.to_string());
        }
        p.opt_num("bind_port", m.bind_port);
        p.opt_s("bind_if", &m.bind_if);
        p.opt_num("fwmark", m.fwmark);
        p.dur("connect_timeout", m.connect_timeout);
    }
    if is_conn || is_misc {
        p.num("retry", m.retry);
        p.dur("delay_before_retry", m.delay_before_retry);
        p.dur("warmup", m.warmup);
        p.dur("delay_loop", m.delay_loop);
        p.kv("alpha", if m.alpha { "on" } else { "off" });
        p.flag("log_all_failures", m.log_all_failures);
    }
    match &c.kind {
        CheckerKind::Http(h) | CheckerKind::Ssl(h) => {
            p.opt_s("virtualhost", &h.virtualhost);
            if let Some(v) = h.http_protocol {
                p.kv("http_protocol", v.name());
            }
            p.flag("enable_sni", h.enable_sni);
            p.flag("fast_recovery", h.fast_recovery);
            for u in &h.urls {
                p.open(&["url"]);
                p.kv("path", &u.path);
                if let Some(d) = &u.digest {
                    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
                    p.kv("digest", &hex);
                }
                if !u.status_codes.is_empty() {
                    let mut w = vec!["status_code".to_string()];
                    for (a, b) in &u.status_codes {
                        w.push(if a == b {
                            a.to_string()
                        } else {
                            format!("{a}-{b}")
                        });
                    }
                    let wr: Vec<&str> = w.iter().map(String::as_str).collect();
                    p.line(&wr);
                }
                p.opt_s("virtualhost", &u.virtualhost);
                p.opt_s("regex", &u.regex);
                p.flag("regex_no_match", u.regex_no_match);
                if !u.regex_options.is_empty() {
                    let mut w = vec!["regex_options"];
                    w.extend(u.regex_options.iter().map(String::as_str));
                    p.line(&w);
                }
                if u.regex_min_offset != 0 {
                    p.num("regex_min_offset", u.regex_min_offset);
                }
                p.opt_num("regex_max_offset", u.regex_max_offset);
                if let Some((a, b)) = u.regex_stack {
                    p.line(&["regex_stack", &a.to_string(), &b.to_string()]);
                }
                p.stmts(&u.extra);
                p.close();
            }
        }
        CheckerKind::Misc(x) => {
            p.kv("misc_path", &x.misc_path);
            if let Some(t) = x.misc_timeout {
                p.num("misc_timeout", t.as_secs());
            }
            p.flag("misc_dynamic", x.misc_dynamic);
            p.user("user", &x.user);
        }
        CheckerKind::Smtp(s) => {
            p.opt_s("helo_name", &s.helo_name);
            for h in &s.hosts {
                p.open(&["host"]);
                if let Some(a) = h.connect_ip {
                    p.kv("connect_ip", &a.to_string());
                }
                p.opt_num("connect_port", h.connect_port);
                if let Some(a) = h.bindto {
                    p.kv("bindto", &a.to_string());
                }
                p.opt_num("bind_port", h.bind_port);
                p.opt_s("bind_if", &h.bind_if);
                p.opt_num("fwmark", h.fwmark);
                p.opt_dur("connect_timeout", h.connect_timeout);
                p.close();
            }
        }
        CheckerKind::Dns(d) => {
            if let Some(ty) = d.qtype {
                p.kv("type", ty.name());
            }
            p.opt_s("name", &d.name);
        }
        CheckerKind::Udp(u) => {
            if let Some(pl) = &u.payload {
                let h = HexPattern {
                    data: pl.clone(),
                    mask: None,
                };
                p.kv("payload", &h.to_hex());
            }
            if let Some(r) = &u.require_reply {
                if r.data.is_empty() {
                    p.line(&["require_reply"]);
                } else {
                    p.kv("require_reply", &r.to_hex());
                }
            }
            p.opt_num("min_reply_length", u.min_reply_length);
            p.opt_num("max_reply_length", u.max_reply_length);
        }
        CheckerKind::File(f) => {
            p.kv("track_file", &f.track_file);
            if let Some(w) = f.weight {
                let mut v = vec!["weight".to_string()];
                v.extend(weight_words(w, f.weight_reverse));
                let wr: Vec<&str> = v.iter().map(String::as_str).collect();
                p.line(&wr);
            }
        }
        CheckerKind::Bfd(b) => p.kv("name", &b.name),
        CheckerKind::Tcp | CheckerKind::Ping => {}
    }
    p.stmts(&c.extra);
    p.close();
    let _ = write!(String::new(), "");
}

/// One process's scheduling keywords.
fn sched(p: &mut P, prefix: &str, s: &ProcessSched) {
    if s.priority != 0 {
        p.num(&format!("{prefix}_priority"), s.priority);
    }
    p.flag(&format!("{prefix}_no_swap"), s.no_swap);
    p.opt_num(&format!("{prefix}_rt_priority"), s.rt_priority);
    if let Some(set) = &s.cpu_affinity {
        let k = format!("{prefix}_cpu_affinity");
        let ids: Vec<String> = set.iter().map(u16::to_string).collect();
        let mut w = vec![k.as_str()];
        w.extend(ids.iter().map(String::as_str));
        p.line(&w);
    }
    p.opt_num(&format!("{prefix}_rlimit_rttime"), s.rlimit_rttime);
}

fn rcv_bufs(p: &mut P, k: &str, b: &RcvBufs) {
    p.opt_num(k, b.size);
    p.flag(&format!("{k}_force"), b.force);
}

/// The `global_defs` keywords no runtime reads yet.
fn global_typed(p: &mut P, g: &GlobalDefs) {
    let n = &g.process_names;
    p.opt_s("process_name", &n.parent);
    p.opt_s("vrrp_process_name", &n.vrrp);
    p.opt_s("checker_process_name", &n.checker);
    p.opt_s("bfd_process_name", &n.bfd);
    p.script("startup_script", &g.startup_script);
    if let Some(d) = g.startup_script_timeout {
        p.num("startup_script_timeout", d.as_secs());
    }
    p.script("shutdown_script", &g.shutdown_script);
    if let Some(d) = g.shutdown_script_timeout {
        p.num("shutdown_script_timeout", d.as_secs());
    }
    p.opt_num("max_auto_priority", g.max_auto_priority);
    if let Some(d) = g.min_auto_priority_delay {
        p.num("min_auto_priority_delay", d.as_micros());
    }
    p.flag("disable_local_igmp", g.disable_local_igmp);
    p.flag("vrrp_min_garp", g.vrrp_min_garp);
    if let Some(x) = g.vrrp_garp_extra_if {
        let secs = x.interval.as_secs().to_string();
        if x.all {
            p.line(&["vrrp_garp_extra_if", "all", &secs]);
        } else {
            p.line(&["vrrp_garp_extra_if", &secs]);
        }
    }
    if let Some(sets) = &g.vrrp_ipsets {
        let mut w = vec!["vrrp_ipsets"];
        w.extend(sets.iter().map(String::as_str));
        p.line(&w);
    }
    let nf = &g.nftables;
    p.opt_s("nftables", &nf.table);
    p.opt_num("nftables_priority", nf.priority);
    p.flag("nftables_ifindex", nf.ifindex);
    p.opt_s("nftables_ipvs", &nf.ipvs_table);
    p.opt_num("nftables_ipvs_priority", nf.ipvs_priority);
    p.opt_num("nftables_ipvs_start_fwmark", nf.ipvs_start_fwmark);
    p.flag("nftables_counters", nf.counters);
    sched(p, "vrrp", &g.vrrp_sched);
    sched(p, "checker", &g.checker_sched);
    sched(p, "bfd", &g.bfd_sched);
    p.flag(
        "vrrp_notify_priority_changes",
        g.vrrp_notify_priority_changes,
    );
    p.flag(
        "fifo_write_vrrp_states_on_reload",
        g.fifo_write_vrrp_states_on_reload,
    );
    p.opt_s("snmp_socket", &g.snmp.socket);
    p.flag("enable_traps", g.snmp.traps);
    p.flag("enable_snmp_vrrp", g.snmp.vrrp);
    p.flag("enable_snmp_rfcv2", g.snmp.rfcv2);
    p.flag("enable_snmp_rfcv3", g.snmp.rfcv3);
    p.flag("enable_snmp_checker", g.snmp.checker);
    p.flag("enable_dbus", g.enable_dbus);
    p.opt_s("dbus_service_name", &g.dbus_service_name);
    rcv_bufs(p, "vrrp_netlink_cmd_rcv_bufs", &g.vrrp_netlink_cmd_rcv_bufs);
    rcv_bufs(
        p,
        "vrrp_netlink_monitor_rcv_bufs",
        &g.vrrp_netlink_monitor_rcv_bufs,
    );
    rcv_bufs(p, "process_monitor_rcv_bufs", &g.process_monitor_rcv_bufs);
    rcv_bufs(p, "lvs_netlink_cmd_rcv_bufs", &g.lvs_netlink_cmd_rcv_bufs);
    rcv_bufs(
        p,
        "lvs_netlink_monitor_rcv_bufs",
        &g.lvs_netlink_monitor_rcv_bufs,
    );
    p.flag("rs_init_notifies", g.rs_init_notifies);
    p.flag("no_checker_emails", g.no_checker_emails);
    match g.vrrp_rx_bufs_policy {
        Some(RxBufsPolicy::Mtu) => p.kv("vrrp_rx_bufs_policy", "MTU"),
        Some(RxBufsPolicy::Advert) => p.kv("vrrp_rx_bufs_policy", "ADVERT"),
        Some(RxBufsPolicy::Size(n)) => p.num("vrrp_rx_bufs_policy", n),
        None => {}
    }
    p.opt_num("vrrp_rx_bufs_multiplier", g.vrrp_rx_bufs_multiplier);
    p.flag("log_unknown_vrids", g.log_unknown_vrids);
    if let Some(m) = g.umask {
        p.kv("umask", &format!("0{m:o}"));
    }
    p.opt_num("random_seed", g.random_seed);
    p.opt_s("reload_check_config", &g.reload_check_config);
    p.opt_s("reload_time_file", &g.reload_time_file);
    p.flag("reload_repeat", g.reload_repeat);
    match g.reload_file.as_deref() {
        Some("") => p.line(&["reload_file"]),
        Some(f) => p.kv("reload_file", f),
        None => {}
    }
    if let Some(c) = g.include_check {
        let mut w = vec!["include_check", "read"];
        for (on, name) in [
            (c.matches, "+match"),
            (c.wildcard_match, "+wildcard_match"),
            (c.brace_match, "+brace_match"),
        ] {
            if on {
                w.push(name);
            }
        }
        if !c.read {
            w.push("-read");
        }
        p.line(&w);
    }
    p.opt_s("config_save_dir", &g.config_save_dir);
    p.opt_s("tmp_config_directory", &g.tmp_config_directory);
    p.flag("data_use_instance", g.data_use_instance);
}

/// The vrrp_instance keywords no runtime reads yet.
fn instance_typed(p: &mut P, v: &VrrpInstance) {
    if let Some(x) = &v.use_ipvlan {
        let mut w = vec!["use_ipvlan".to_string()];
        if let Some(n) = &x.name {
            w.extend(["name".to_string(), n.clone()]);
        }
        if let Some((a, l)) = x.addr {
            w.push(match l {
                Some(l) => format!("{a}/{l}"),
                None => a.to_string(),
            });
        }
        if let Some(m) = x.mode {
            w.push(m.name().to_string());
        }
        let wr: Vec<&str> = w.iter().map(String::as_str).collect();
        p.line(&wr);
    }
    match v.old_unicast_checksum {
        Some(OldUnicastChecksum::Config) => p.line(&["old_unicast_checksum"]),
        Some(OldUnicastChecksum::Never) => p.kv("old_unicast_checksum", "never"),
        None => {}
    }
    p.opt_s("vrf", &v.vrf);
    p.flag("linkbeat_use_polling", v.linkbeat_use_polling);
    p.opt_bool("notify_priority_changes", v.notify_priority_changes);
    if let Some(x) = v.garp_extra_if {
        let secs = x.interval.as_secs().to_string();
        if x.all {
            p.line(&["garp_extra_if", "all", &secs]);
        } else {
            p.line(&["garp_extra_if", &secs]);
        }
    }
    p.opt_num("kernel_rx_buf_size", v.kernel_rx_buf_size);
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
