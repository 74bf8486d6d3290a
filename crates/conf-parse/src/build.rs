//! Statement tree → typed [`Config`], with keepalived's value checks and defaults.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::diag::{Code, ConfigErr, Diagnostic, Loc, Severity, Span};
use crate::model::*;

pub(crate) struct Builder {
    pub diags: Vec<Diagnostic>,
    /// Recognized keywords kept as plain statements (see `Parsed::untyped`).
    pub untyped: Vec<Loc>,
}

fn values(st: &Stmt) -> &[ValueLine] {
    match &st.body {
        Body::Values(v) => v,
        _ => &[],
    }
}

fn block(st: &Stmt) -> &[Stmt] {
    match &st.body {
        Body::Block(v) => v,
        _ => &[],
    }
}

fn is_checker(st: &Stmt) -> bool {
    matches!(
        st.keyword.as_ref(),
        "HTTP_GET"
            | "SSL_GET"
            | "TCP_CHECK"
            | "MISC_CHECK"
            | "SMTP_CHECK"
            | "DNS_CHECK"
            | "UDP_CHECK"
            | "PING_CHECK"
            | "FILE_CHECK"
            | "BFD_CHECK"
    )
}

fn span(st: &Stmt) -> &Span {
    &st.loc.0
}

/// Parse keepalived's decimal seconds ("1", "0.5", "2.000001") into microseconds.
pub(crate) fn parse_decimal_us(s: &str) -> Option<u64> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if frac.len() > 6 {
        return None;
    }
    let i: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut f: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    for _ in frac.len()..6 {
        f *= 10;
    }
    i.checked_mul(1_000_000)?.checked_add(f)
}

fn fmt_us(us: u64) -> String {
    crate::print::fmt_duration(Duration::from_micros(us))
}

/// Check mode (`keepalived -t`): drop, after each top-level statement, every part of the
/// model that neither [`Builder::finish`] nor [`crate::system_checks`] reads, so memory
/// stays bounded by what those checks need. The pattern is exhaustive on purpose: a new
/// `Config` field must be classed here as kept (read by a check) or dropped.
pub(crate) fn keep_checked(c: &mut Config) {
    let Config {
        // read: finish_instances (vrrp_version), system checks (enable_script_security)
        global,
        // read: validate (track_script), system checks (scripts exist, security)
        vrrp_scripts: _,
        // read: validate (track_file)
        track_files: _,
        track_processes,
        // read: finish_instances, validate, system checks
        vrrp_instances: _,
        sync_groups,
        garp_groups,
        // read: system checks (dev)
        static_ipaddress: _,
        static_routes,
        static_rules,
        ssl,
        virtual_server_groups,
        virtual_servers,
        bfd_instances,
        extra,
    } = c;
    *track_processes = Vec::new();
    *sync_groups = Vec::new();
    *garp_groups = Vec::new();
    *static_routes = Vec::new();
    *static_rules = Vec::new();
    *ssl = None;
    *virtual_server_groups = Vec::new();
    *virtual_servers = Vec::new();
    *bfd_instances = Vec::new();
    *extra = Vec::new();
    global.extra = Vec::new();
    global.notification_email = Vec::new();
}

impl Builder {
    pub fn new() -> Builder {
        Builder {
            diags: Vec::new(),
            untyped: Vec::new(),
        }
    }

    fn err(&mut self, code: Code, class: ConfigErr, sp: &Span, msg: String) -> Diagnostic {
        Diagnostic::new(Severity::Error, code, class, sp, msg)
    }

    fn emit(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// A recognized keyword kept as a plain statement, not typed: recorded for the registry's
    /// consistency test (the note the operator sees comes from the registry, in the tree).
    fn not_supported(&mut self, st: &Stmt, _ctx: &str) {
        self.untyped.push(st.loc.clone());
    }

    fn arg<'s>(&mut self, st: &'s Stmt, i: usize) -> Option<&'s str> {
        match st.args.get(i) {
            Some(a) => Some(a.as_str()),
            None => {
                let d = self
                    .err(
                        Code::MissingValue,
                        ConfigErr::MissingParameter,
                        span(st),
                        format!("'{}' needs a value", st.keyword),
                    )
                    .with_hint(format!("write `{} VALUE`", st.keyword));
                self.emit(d);
                None
            }
        }
    }

    fn num_err(&mut self, st: &Stmt, s: &str, range: String) {
        let d = self
            .err(
                Code::OutOfRange,
                ConfigErr::InvalidNumber,
                span(st),
                format!("{} '{s}' outside range {range}", st.keyword),
            )
            .with_hint(format!("use a value in {range}"));
        self.emit(d);
    }

    fn bad_num(&mut self, st: &Stmt, s: &str) {
        let d = self.err(
            Code::BadNumber,
            ConfigErr::InvalidNumber,
            span(st),
            format!("{}: '{s}' is not a valid number", st.keyword),
        );
        self.emit(d);
    }

    /// Unsigned integer argument `i` in [min, max].
    fn uint(&mut self, st: &Stmt, i: usize, min: u64, max: u64) -> Option<u64> {
        let s = self.arg(st, i)?;
        match s.parse::<u64>() {
            Ok(v) if v >= min && v <= max => Some(v),
            Ok(_) => {
                self.num_err(st, s, format!("[{min}, {max}]"));
                None
            }
            Err(_) => {
                let digits = s.strip_prefix('-').unwrap_or(s);
                if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
                    self.num_err(st, s, format!("[{min}, {max}]"));
                } else {
                    self.bad_num(st, s);
                }
                None
            }
        }
    }

    fn int(&mut self, st: &Stmt, i: usize, min: i64, max: i64) -> Option<i64> {
        let s = self.arg(st, i)?;
        match s.parse::<i64>() {
            Ok(v) if v >= min && v <= max => Some(v),
            Ok(_) => {
                self.num_err(st, s, format!("[{min}, {max}]"));
                None
            }
            Err(_) => {
                let digits = s.trim_start_matches(['-', '+']);
                if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
                    self.num_err(st, s, format!("[{min}, {max}]"));
                } else {
                    self.bad_num(st, s);
                }
                None
            }
        }
    }

    /// Decimal seconds argument in [min_us, max_us] microseconds.
    fn dur(&mut self, st: &Stmt, i: usize, min_us: u64, max_us: u64) -> Option<Duration> {
        let s = self.arg(st, i)?;
        match parse_decimal_us(s) {
            Some(us) if us >= min_us && us <= max_us => Some(Duration::from_micros(us)),
            Some(_) => {
                self.num_err(
                    st,
                    s,
                    format!("[{}, {}] seconds", fmt_us(min_us), fmt_us(max_us)),
                );
                None
            }
            None => {
                self.bad_num(st, s);
                None
            }
        }
    }

    /// Whole seconds in [min, max].
    fn secs(&mut self, st: &Stmt, i: usize, min: u64, max: u64) -> Option<Duration> {
        self.uint(st, i, min, max).map(Duration::from_secs)
    }

    /// A boolean keyword: bare = true, or on/off/true/false/yes/no.
    fn boolean(&mut self, st: &Stmt) -> Option<bool> {
        let Some(s) = st.args.first() else {
            return Some(true);
        };
        match s.to_ascii_lowercase().as_str() {
            "on" | "true" | "yes" => Some(true),
            "off" | "false" | "no" => Some(false),
            _ => {
                let d = self
                    .err(
                        Code::InvalidValue,
                        ConfigErr::GeneralError,
                        span(st),
                        format!("{}: invalid boolean '{s}'", st.keyword),
                    )
                    .with_hint("use on/off, true/false or yes/no (or the keyword alone for true)");
                self.emit(d);
                None
            }
        }
    }

    fn string(&mut self, st: &Stmt) -> Option<String> {
        self.arg(st, 0).map(str::to_string)
    }

    fn ip(&mut self, st: &Stmt, s: &str) -> Option<IpAddr> {
        match s.parse::<IpAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                let d = self.err(
                    Code::InvalidValue,
                    ConfigErr::GeneralError,
                    span(st),
                    format!("{}: '{s}' is not a valid IP address", st.keyword),
                );
                self.emit(d);
                None
            }
        }
    }

    fn ip_arg(&mut self, st: &Stmt, i: usize) -> Option<IpAddr> {
        let s = self.arg(st, i)?.to_string();
        self.ip(st, &s)
    }

    /// `metrics_allow NET [NET...]`: each `ADDR` or `ADDR/LEN`, IPv4 or IPv6; the host bits
    /// are cleared. Bad words are errors; the good ones are kept.
    fn metrics_allow(&mut self, st: &Stmt, out: &mut Vec<(IpAddr, u8)>) {
        if st.args.is_empty() {
            self.arg(st, 0);
            return;
        }
        for w in &st.args {
            match parse_net(w) {
                Some(n) => out.push(n),
                None => self.invalid(
                    st,
                    format!("metrics_allow: '{w}' is not a network"),
                    Some("write ADDR/LEN, e.g. 10.0.0.0/8 or fd00::/8 (or a bare address)"),
                ),
            }
        }
    }

    fn invalid(&mut self, st: &Stmt, msg: String, hint: Option<&str>) {
        let mut d = self.err(Code::InvalidValue, ConfigErr::GeneralError, span(st), msg);
        if let Some(h) = hint {
            d = d.with_hint(h);
        }
        self.emit(d);
    }

    fn script(&mut self, st: &Stmt) -> Option<Box<Script>> {
        let cmd = self.arg(st, 0)?.to_string();
        Some(Box::new(Script {
            command: cmd,
            user: st.args.get(1).cloned(),
            group: st.args.get(2).cloned(),
        }))
    }

    fn user(&mut self, st: &Stmt) -> Option<(String, Option<String>)> {
        let u = self.arg(st, 0)?.to_string();
        Some((u, st.args.get(1).cloned()))
    }

    /// Add one top-level statement to the model.
    pub fn add_root(&mut self, c: &mut Config, st: &Stmt) {
        match st.keyword.as_ref() {
            "global_defs" => {
                let body = block(st);
                self.global_defs(&mut c.global, body);
            }
            "vrrp_script" => {
                if let Some(s) = self.vrrp_script(st) {
                    c.vrrp_scripts.push(s);
                }
            }
            "track_file" | "vrrp_track_file" => {
                if let Some(s) = self.track_file(st) {
                    c.track_files.push(s);
                }
            }
            "vrrp_track_process" => {
                if let Some(s) = self.track_process(st) {
                    c.track_processes.push(s);
                }
            }
            "vrrp_instance" => {
                if let Some(v) = self.vrrp_instance(st) {
                    c.vrrp_instances.push(v);
                }
            }
            "vrrp_sync_group" => {
                if let Some(g) = self.sync_group(st) {
                    c.sync_groups.push(g);
                }
            }
            "garp_group" => c.garp_groups.push(self.garp_group(st)),
            "static_ipaddress" => {
                for vl in values(st) {
                    if let Some(a) = self.ip_address(vl, st) {
                        c.static_ipaddress.push(a);
                    }
                }
            }
            "static_routes" => c.static_routes.extend(values(st).iter().cloned()),
            "static_rules" => c.static_rules.extend(values(st).iter().cloned()),
            "SSL" => c.ssl = Some(self.ssl(st)),
            "virtual_server_group" => {
                if let Some(g) = self.vsg(st) {
                    c.virtual_server_groups.push(g);
                }
            }
            "virtual_server" => {
                if let Some(v) = self.virtual_server(st) {
                    c.virtual_servers.push(v);
                }
            }
            "bfd_instance" => {
                self.not_supported(st, "the configuration");
                c.bfd_instances.push(st.clone());
            }
            _ => {
                self.not_supported(st, "the configuration");
                c.extra.push(st.clone());
            }
        }
    }

    /// End-of-parse fix-ups and cross checks.
    pub fn finish(&mut self, c: &mut Config) {
        c.virtual_servers.shrink_to_fit();
        c.vrrp_instances.shrink_to_fit();
        self.finish_instances(c);
        self.validate(c);
    }

    /// keepalived's vrrp end-of-instance fix-ups that change values.
    fn finish_instances(&mut self, c: &mut Config) {
        let global_version = c.global.vrrp_version;
        for v in &mut c.vrrp_instances {
            let version = v.version.unwrap_or(global_version);
            if version == 2 && v.advert_int.subsec_micros() != 0 {
                let us = v.advert_int.as_micros();
                let secs = ((us + 500_000) / 1_000_000).max(1) as u64;
                let d = Diagnostic::new(
                    Severity::Error,
                    Code::Semantic,
                    ConfigErr::GeneralError,
                    &v.loc.0,
                    format!(
                        "({}) VRRPv2 advertisement interval {}s must be an integer, rounding to {secs}s",
                        v.name,
                        crate::print::fmt_duration(v.advert_int)
                    ),
                )
                .with_hint("use a whole number of seconds, or `version 3` for sub-second adverts");
                self.emit(d);
                v.advert_int = Duration::from_secs(secs);
            }
        }
    }

    fn global_defs(&mut self, g: &mut GlobalDefs, body: &[Stmt]) {
        for st in body {
            match st.keyword.as_ref() {
                "router_id" => g.router_id = self.string(st),
                "notification_email" => {
                    for vl in values(st) {
                        g.notification_email.extend(vl.words.iter().cloned());
                    }
                }
                "notification_email_from" => g.notification_email_from = self.string(st),
                "smtp_server" => {
                    if let Some(a) = self.string(st) {
                        let port = if st.args.len() > 1 {
                            self.uint(st, 1, 1, 65535).map(|p| p as u16)
                        } else {
                            Some(25)
                        };
                        if let Some(p) = port {
                            g.smtp_server = Some((a, p));
                        }
                    }
                }
                "smtp_helo_name" => g.smtp_helo_name = self.string(st),
                "smtp_connect_timeout" => {
                    if let Some(d) = self.secs(st, 0, 0, u64::from(u32::MAX) / 1_000_000) {
                        g.smtp_connect_timeout = d;
                    }
                }
                "smtp_alert" => g.smtp_alert = self.boolean(st),
                "smtp_alert_vrrp" => g.smtp_alert_vrrp = self.boolean(st),
                "smtp_alert_checker" => g.smtp_alert_checker = self.boolean(st),
                "enable_script_security" => g.enable_script_security = true,
                "script_user" => g.script_user = self.user(st),
                "vrrp_strict" => g.vrrp_strict = true,
                "vrrp_skip_check_adv_addr" => {
                    g.vrrp_skip_check_adv_addr = self.boolean(st).unwrap_or(true)
                }
                "vrrp_check_unicast_src" => g.vrrp_check_unicast_src = true,
                "vrrp_version" => {
                    if let Some(v) = self.int(st, 0, 2, 3) {
                        g.vrrp_version = v as u8;
                    }
                }
                "vrrp_mcast_group4" => match self.ip_arg(st, 0) {
                    Some(IpAddr::V4(a)) if a.is_multicast() => g.vrrp_mcast_group4 = a,
                    Some(_) => self.invalid(
                        st,
                        "vrrp_mcast_group4 must be an IPv4 multicast address".into(),
                        None,
                    ),
                    None => {}
                },
                "vrrp_mcast_group6" => match self.ip_arg(st, 0) {
                    Some(IpAddr::V6(a)) if a.is_multicast() => g.vrrp_mcast_group6 = a,
                    Some(_) => self.invalid(
                        st,
                        "vrrp_mcast_group6 must be an IPv6 multicast address".into(),
                        None,
                    ),
                    None => {}
                },
                "vrrp_garp_master_delay" => {
                    if let Some(d) = self.secs(st, 0, 0, u64::from(u32::MAX) / 1_000_000) {
                        g.vrrp_garp_master_delay = d;
                    }
                }
                "vrrp_garp_master_repeat" => {
                    if let Some(v) = self.uint(st, 0, 0, u64::from(u32::MAX)) {
                        g.vrrp_garp_master_repeat = v as u32;
                    }
                }
                "vrrp_garp_master_refresh" => {
                    if let Some(v) = self.uint(st, 0, 0, u64::from(u32::MAX)) {
                        g.vrrp_garp_master_refresh = (v > 0).then(|| Duration::from_secs(v));
                    }
                }
                "vrrp_garp_master_refresh_repeat" => {
                    if let Some(v) = self.uint(st, 0, 0, u64::from(u32::MAX)) {
                        g.vrrp_garp_master_refresh_repeat = v as u32;
                    }
                }
                "vrrp_garp_lower_prio_delay" => {
                    g.vrrp_garp_lower_prio_delay =
                        self.secs(st, 0, 0, u64::from(u32::MAX) / 1_000_000)
                }
                "vrrp_garp_lower_prio_repeat" => {
                    g.vrrp_garp_lower_prio_repeat =
                        self.uint(st, 0, 0, i32::MAX as u64).map(|v| v as u32)
                }
                "vrrp_garp_interval" => {
                    if let Some(d) = self.dur(st, 0, 1, u64::from(u32::MAX)) {
                        g.vrrp_garp_interval = d;
                    }
                }
                "vrrp_gna_interval" => {
                    if let Some(d) = self.dur(st, 0, 1, u64::from(u32::MAX)) {
                        g.vrrp_gna_interval = d;
                    }
                }
                "vrrp_lower_prio_no_advert" => {
                    g.vrrp_lower_prio_no_advert = self.boolean(st).unwrap_or(true)
                }
                "vrrp_higher_prio_send_advert" => {
                    g.vrrp_higher_prio_send_advert = self.boolean(st).unwrap_or(true)
                }
                "vrrp_down_timer_adverts" => {
                    if let Some(v) = self.uint(st, 0, 1, 100) {
                        g.vrrp_down_timer_adverts = v as u32;
                    }
                }
                "vrrp_startup_delay" => {
                    g.vrrp_startup_delay = self.dur(st, 0, 1000, u64::from(u32::MAX))
                }
                "lvs_sync_daemon" => g.lvs_sync_daemon = self.lvs_sync_daemon(st),
                "lvs_flush" => g.lvs_flush = true,
                "lvs_flush_on_stop" | "lvs_flush_onstop" => g.lvs_flush_on_stop = true,
                "lvs_timeouts" => g.lvs_timeouts = self.lvs_timeouts(st),
                "default_interface" => g.default_interface = self.string(st),
                "dynamic_interfaces" => g.dynamic_interfaces = true,
                "checker_log_all_failures" => {
                    g.checker_log_all_failures = self.boolean(st).unwrap_or(true)
                }
                "no_email_faults" => g.no_email_faults = true,
                "metrics_allow" => self.metrics_allow(st, &mut g.metrics_allow),
                // keepalived-rs's own keywords and ones only a runtime reads: kept as
                // statements (vrrp-runtime: `krs_vip_lease`, `vmac_prefix`, `vmac_addr_prefix`; the daemon:
                // `metrics_listen`).
                "krs_vip_lease" | "metrics_listen" | "vmac_prefix" | "vmac_addr_prefix" => {
                    g.extra.push(st.clone())
                }
                _ => {
                    self.not_supported(st, "global_defs");
                    g.extra.push(st.clone());
                }
            }
        }
    }

    fn lvs_sync_daemon(&mut self, st: &Stmt) -> Option<LvsSyncDaemon> {
        let interface = self.arg(st, 0)?.to_string();
        let vrrp_instance = self.arg(st, 1)?.to_string();
        let mut d = LvsSyncDaemon {
            interface,
            vrrp_instance,
            ..LvsSyncDaemon::default()
        };
        let mut i = 2;
        while i < st.args.len() {
            let key = st.args[i].clone();
            match key.as_str() {
                "id" => d.id = self.uint(st, i + 1, 0, 255).map(|v| v as u8),
                "maxlen" => d.maxlen = self.uint(st, i + 1, 1, 65535 - 20 - 8).map(|v| v as u16),
                "port" => d.port = self.uint(st, i + 1, 1, 65535).map(|v| v as u16),
                "ttl" => d.ttl = self.uint(st, i + 1, 1, 255).map(|v| v as u8),
                "group" => d.group = self.ip_arg(st, i + 1),
                _ => {
                    self.invalid(
                        st,
                        format!("lvs_sync_daemon: unknown option '{key}'"),
                        Some("options are id, maxlen, port, ttl, group"),
                    );
                    i += 1;
                    continue;
                }
            }
            i += 2;
        }
        Some(d)
    }

    fn lvs_timeouts(&mut self, st: &Stmt) -> Option<LvsTimeouts> {
        let mut t = LvsTimeouts::default();
        let mut i = 0;
        while i < st.args.len() {
            let key = st.args[i].clone();
            let v = match key.as_str() {
                "tcp" | "tcpfin" | "udp" => self.uint(st, i + 1, 0, 2_678_400).map(|v| v as u32),
                _ => {
                    self.invalid(
                        st,
                        format!("lvs_timeouts: unknown protocol '{key}'"),
                        Some("use tcp, tcpfin or udp"),
                    );
                    i += 1;
                    continue;
                }
            };
            match key.as_str() {
                "tcp" => t.tcp = v,
                "tcpfin" => t.tcpfin = v,
                _ => t.udp = v,
            }
            i += 2;
        }
        Some(t)
    }

    fn name(&mut self, st: &Stmt) -> Option<String> {
        match st.args.first() {
            Some(n) => Some(n.clone()),
            None => {
                let d = self
                    .err(
                        Code::MissingValue,
                        ConfigErr::MissingParameter,
                        span(st),
                        format!("'{}' needs a name", st.keyword),
                    )
                    .with_hint(format!("write `{} NAME {{`", st.keyword));
                self.emit(d);
                None
            }
        }
    }

    fn weight_words(&mut self, st: &Stmt, i: usize, min: i64, max: i64) -> (Option<i32>, bool) {
        let w = self.int(st, i, min, max).map(|v| v as i32);
        let rev = st.args.get(i + 1).map(String::as_str) == Some("reverse");
        (w, rev)
    }

    fn vrrp_script(&mut self, st: &Stmt) -> Option<VrrpScript> {
        let name = self.name(st)?;
        let mut s = VrrpScript::new(&name);
        s.loc = st.loc.clone();
        for b in block(st) {
            match b.keyword.as_ref() {
                "script" => {
                    if let Some(v) = self.arg(b, 0) {
                        s.script = b.args.join(" ");
                        let _ = v;
                    }
                }
                "interval" => {
                    if let Some(v) = self.uint(b, 0, 0, u64::from(u32::MAX) / 1_000_000) {
                        s.interval = Duration::from_secs(v);
                    }
                }
                "timeout" => s.timeout = self.secs(b, 0, 0, u64::from(u32::MAX) / 1_000_000),
                "weight" => {
                    let (w, r) = self.weight_words(b, 0, -253, 253);
                    if let Some(w) = w {
                        s.weight = w;
                        s.weight_reverse = r;
                    }
                }
                "rise" => {
                    if let Some(v) = self.uint(b, 0, 1, i32::MAX as u64) {
                        s.rise = v as u32;
                    }
                }
                "fall" => {
                    if let Some(v) = self.uint(b, 0, 1, i32::MAX as u64) {
                        s.fall = v as u32;
                    }
                }
                "user" => s.user = self.user(b),
                "init_fail" => s.init_fail = true,
                _ => self.not_supported(b, "vrrp_script"),
            }
        }
        if s.script.is_empty() {
            let d = self.err(
                Code::Semantic,
                ConfigErr::GeneralError,
                span(st),
                format!("vrrp_script {name}: no script specified"),
            );
            self.emit(d);
        }
        Some(s)
    }

    fn track_file(&mut self, st: &Stmt) -> Option<TrackFile> {
        let name = self.name(st)?;
        let mut t = TrackFile {
            name,
            file: String::new(),
            weight: 1,
            weight_reverse: false,
            init_file: None,
            loc: st.loc.clone(),
        };
        for b in block(st) {
            match b.keyword.as_ref() {
                "file" => {
                    if let Some(f) = self.string(b) {
                        t.file = f;
                    }
                }
                "weight" => {
                    let (w, r) = self.weight_words(b, 0, -254, 254);
                    if let Some(w) = w {
                        t.weight = w;
                        t.weight_reverse = r;
                    }
                }
                "init_file" => t.init_file = Some(b.args.clone()),
                _ => self.not_supported(b, "track_file"),
            }
        }
        Some(t)
    }

    fn track_process(&mut self, st: &Stmt) -> Option<TrackProcess> {
        let name = self.name(st)?;
        let mut t = TrackProcess {
            name,
            process: Vec::new(),
            param_match: None,
            weight: 0,
            weight_reverse: false,
            quorum: 1,
            quorum_max: None,
            delay: None,
            terminate_delay: None,
            fork_delay: None,
            full_command: false,
            loc: st.loc.clone(),
        };
        for b in block(st) {
            match b.keyword.as_ref() {
                "process" => {
                    if self.arg(b, 0).is_some() {
                        t.process = b.args.clone();
                    }
                }
                "param_match" => t.param_match = self.string(b),
                "weight" => {
                    let (w, r) = self.weight_words(b, 0, -254, 254);
                    if let Some(w) = w {
                        t.weight = w;
                        t.weight_reverse = r;
                    }
                }
                "quorum" => {
                    if let Some(v) = self.uint(b, 0, 1, 65535) {
                        t.quorum = v as u32;
                    }
                }
                "quorum_max" => t.quorum_max = self.uint(b, 0, 0, 65535).map(|v| v as u32),
                "delay" => t.delay = self.dur(b, 0, 1, 3_600_000_000),
                "terminate_delay" => t.terminate_delay = self.dur(b, 0, 1, 3_600_000_000),
                "fork_delay" => t.fork_delay = self.dur(b, 0, 1, 3_600_000_000),
                "full_command" => t.full_command = true,
                _ => self.not_supported(b, "vrrp_track_process"),
            }
        }
        Some(t)
    }

    fn track_refs(&mut self, st: &Stmt, min: i64, max: i64) -> Vec<TrackRef> {
        let mut out = Vec::new();
        for vl in values(st) {
            let Some(name) = vl.words.first() else {
                continue;
            };
            let mut r = TrackRef {
                name: name.clone(),
                weight: None,
                reverse: false,
                loc: vl.loc.clone(),
            };
            let mut i = 1;
            while i < vl.words.len() {
                match vl.words[i].as_str() {
                    "weight" => {
                        let tmp = Stmt {
                            keyword: format!("{} {} weight", st.keyword, name).into(),
                            args: vl.words[i + 1..].to_vec(),
                            body: Body::None,
                            loc: vl.loc.clone(),
                        };
                        r.weight = self.int(&tmp, 0, min, max).map(|v| v as i32);
                        i += 2;
                    }
                    "reverse" => {
                        r.reverse = true;
                        i += 1;
                    }
                    other => {
                        let d = Diagnostic::new(
                            Severity::Warning,
                            Code::InvalidValue,
                            ConfigErr::GeneralError,
                            &vl.loc.0,
                            format!("{}: unknown option '{other}' for {name}", st.keyword),
                        )
                        .with_hint("options are `weight N [reverse]`");
                        self.emit(d);
                        i += 1;
                    }
                }
            }
            out.push(r);
        }
        out
    }

    fn ip_address(&mut self, vl: &ValueLine, st: &Stmt) -> Option<IpAddress> {
        let first = vl.words.first()?;
        let tmp = Stmt {
            keyword: st.keyword.clone(),
            args: vl.words.clone(),
            body: Body::None,
            loc: vl.loc.clone(),
        };
        let (a, p) = match first.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (first.as_str(), None),
        };
        let addr = self.ip(&tmp, a)?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix_len = match p {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(v) if v <= max => v,
                _ => {
                    self.invalid(
                        &tmp,
                        format!("{}: invalid prefix length '/{p}'", st.keyword),
                        None,
                    );
                    return None;
                }
            },
        };
        let mut ip = IpAddress {
            addr,
            prefix_len,
            brd: None,
            dev: None,
            label: None,
            scope: None,
            peer: None,
            no_track: false,
            preferred_lft: None,
            other: Vec::new(),
            loc: vl.loc.clone(),
        };
        let w = &vl.words;
        let mut i = 1;
        while i < w.len() {
            let key = w[i].as_str();
            let val = w.get(i + 1).cloned();
            let need = |b: &mut Builder| {
                let d = Diagnostic::new(
                    Severity::Error,
                    Code::MissingValue,
                    ConfigErr::MissingParameter,
                    &vl.loc.0,
                    format!("{}: '{key}' needs a value", st.keyword),
                );
                b.emit(d);
            };
            match key {
                "dev" | "label" | "scope" | "brd" | "broadcast" | "peer" | "preferred_lft" => {
                    let Some(v) = val else {
                        need(self);
                        break;
                    };
                    match key {
                        "dev" => ip.dev = Some(v),
                        "label" => ip.label = Some(v),
                        "scope" => ip.scope = Some(v),
                        "preferred_lft" => ip.preferred_lft = Some(v),
                        "brd" | "broadcast" => match v.parse::<Ipv4Addr>() {
                            Ok(b) => ip.brd = Some(b),
                            Err(_) => {
                                self.invalid(&tmp, format!("invalid broadcast address '{v}'"), None)
                            }
                        },
                        _ => {
                            let (pa, pl) = match v.split_once('/') {
                                Some((a, l)) => (a.to_string(), l.parse::<u8>().ok()),
                                None => (v.clone(), None),
                            };
                            if let Some(a) = self.ip(&tmp, &pa) {
                                ip.peer = Some((a, pl));
                            }
                        }
                    }
                    i += 2;
                }
                "no_track" => {
                    ip.no_track = true;
                    i += 1;
                }
                "home" | "-nodad" | "nodad" | "noprefixroute" | "autojoin" | "mngtmpaddr"
                | "use_vmac" => {
                    ip.other.push(key.to_string());
                    i += 1;
                }
                "track_group" => {
                    ip.other.push(key.to_string());
                    if let Some(v) = val {
                        ip.other.push(v);
                    }
                    i += 2;
                }
                _ => {
                    let d = Diagnostic::new(
                        Severity::Warning,
                        Code::InvalidValue,
                        ConfigErr::GeneralError,
                        &vl.loc.0,
                        format!("{}: unknown address option '{key}'", st.keyword),
                    )
                    .with_hint("options are dev, label, brd, scope, peer, no_track, preferred_lft, home, -nodad, noprefixroute, mngtmpaddr, autojoin, use_vmac, track_group");
                    self.emit(d);
                    i += 1;
                }
            }
        }
        Some(ip)
    }

    fn vrrp_instance(&mut self, st: &Stmt) -> Option<VrrpInstance> {
        let name = self.name(st)?;
        let mut v = VrrpInstance::new(&name);
        v.loc = st.loc.clone();
        let ctx = "vrrp_instance";
        for b in block(st) {
            match b.keyword.as_ref() {
                "state" => match self.arg(b, 0) {
                    Some("MASTER") => v.state = VrrpState::Master,
                    Some("BACKUP") => v.state = VrrpState::Backup,
                    Some(o) => {
                        let o = o.to_string();
                        self.invalid(
                            b,
                            format!("unknown state '{o}'"),
                            Some("use MASTER or BACKUP"),
                        )
                    }
                    None => {}
                },
                "interface" => {
                    v.interface = self.string(b);
                    v.interface_loc = b.loc.clone();
                }
                "virtual_router_id" => {
                    v.virtual_router_id = self.uint(b, 0, 1, 255).map(|x| x as u8)
                }
                "priority" => {
                    if let Some(p) = self.uint(b, 0, 1, 255) {
                        v.priority = p as u8;
                    }
                }
                "advert_int" => {
                    if let Some(d) = self.dur(b, 0, 10_000, 255_000_000) {
                        v.advert_int = d;
                    }
                }
                "version" => v.version = self.int(b, 0, 2, 3).map(|x| x as u8),
                "use_vmac" => {
                    v.use_vmac = Some(Vmac {
                        name: b.args.first().cloned(),
                    })
                }
                "vmac_xmit_base" => v.vmac_xmit_base = true,
                "use_vmac_addr" => v.use_vmac_addr = true,
                "mcast_src_ip" => v.mcast_src_ip = self.ip_arg(b, 0),
                "unicast_src_ip" => v.unicast_src_ip = self.ip_arg(b, 0),
                "mcast_dst_ip" => v.mcast_dst_ip = self.ip_arg(b, 0),
                "unicast_peer" => {
                    for vl in values(b) {
                        let tmp = Stmt {
                            keyword: "unicast_peer".into(),
                            args: vl.words.clone(),
                            body: Body::None,
                            loc: vl.loc.clone(),
                        };
                        let Some(addr) = self.ip_arg(&tmp, 0) else {
                            continue;
                        };
                        let mut p = UnicastPeer {
                            addr,
                            min_ttl: None,
                            max_ttl: None,
                            loc: vl.loc.clone(),
                        };
                        let mut i = 1;
                        while i < vl.words.len() {
                            match vl.words[i].as_str() {
                                "min_ttl" => {
                                    p.min_ttl = self.uint(&tmp, i + 1, 0, 255).map(|x| x as u8)
                                }
                                "max_ttl" => {
                                    p.max_ttl = self.uint(&tmp, i + 1, 0, 255).map(|x| x as u8)
                                }
                                o => {
                                    let o = o.to_string();
                                    self.invalid(
                                        &tmp,
                                        format!("unicast_peer: unknown option '{o}'"),
                                        Some("options are min_ttl N, max_ttl N"),
                                    );
                                    i += 1;
                                    continue;
                                }
                            }
                            i += 2;
                        }
                        v.unicast_peer.push(p);
                    }
                }
                "unicast_ttl" => {
                    if let Some(t) = self.uint(b, 0, 0, 255) {
                        v.unicast_ttl = t as u8;
                    }
                }
                "unicast_fault_no_peer" => v.unicast_fault_no_peer = true,
                "check_unicast_src" => v.check_unicast_src = true,
                "virtual_ipaddress" | "virtual_ipaddress_excluded" => {
                    let mut list = Vec::new();
                    for vl in values(b) {
                        if let Some(a) = self.ip_address(vl, b) {
                            list.push(a);
                        }
                    }
                    if b.keyword == "virtual_ipaddress" {
                        v.virtual_ipaddress.extend(list);
                    } else {
                        v.virtual_ipaddress_excluded.extend(list);
                    }
                }
                "virtual_routes" => v.virtual_routes.extend(values(b).iter().cloned()),
                "virtual_rules" => v.virtual_rules.extend(values(b).iter().cloned()),
                "authentication" => v.authentication = self.authentication(b),
                "track_interface" => v.track_interface.extend(self.track_refs(b, -254, 254)),
                "track_script" => v.track_script.extend(self.track_refs(b, -254, 254)),
                "track_file" => v.track_file.extend(self.track_refs(b, -254, 254)),
                "track_process" => v.track_process.extend(self.track_refs(b, -254, 254)),
                "track_bfd" => v.track_bfd.extend(self.track_refs(b, -254, 254)),
                "dont_track_primary" => v.dont_track_primary = true,
                "track_src_ip" => v.track_src_ip = true,
                "accept" => v.accept = Some(true),
                "no_accept" => v.accept = Some(false),
                "preempt" => v.preempt = true,
                "nopreempt" => v.preempt = false,
                "preempt_delay" => {
                    if let Some(d) = self.dur(b, 0, 0, 1_000_000_000) {
                        v.preempt_delay = d;
                    }
                }
                "strict_mode" => v.strict_mode = self.boolean(b),
                "skip_check_adv_addr" => v.skip_check_adv_addr = self.boolean(b),
                "native_ipv6" => v.native_ipv6 = true,
                "promote_secondaries" => v.promote_secondaries = true,
                "garp_master_delay" => {
                    v.garp_master_delay = self.secs(b, 0, 0, u64::from(u32::MAX) / 1_000_000)
                }
                "garp_master_repeat" => {
                    v.garp_master_repeat = self.uint(b, 0, 0, u64::from(u32::MAX)).map(|x| x as u32)
                }
                "garp_master_refresh" => {
                    v.garp_master_refresh = self.secs(b, 0, 0, u64::from(u32::MAX))
                }
                "garp_master_refresh_repeat" => {
                    v.garp_master_refresh_repeat =
                        self.uint(b, 0, 0, u64::from(u32::MAX)).map(|x| x as u32)
                }
                "garp_lower_prio_delay" => {
                    v.garp_lower_prio_delay = self.secs(b, 0, 0, u64::from(u32::MAX) / 1_000_000)
                }
                "garp_lower_prio_repeat" => {
                    v.garp_lower_prio_repeat = self.uint(b, 0, 0, i32::MAX as u64).map(|x| x as u32)
                }
                "lower_prio_no_advert" => v.lower_prio_no_advert = self.boolean(b),
                "higher_prio_send_advert" => v.higher_prio_send_advert = self.boolean(b),
                "down_timer_adverts" => {
                    v.down_timer_adverts = self.uint(b, 0, 1, 100).map(|x| x as u32)
                }
                "notify_master" => v.notify_master = self.script(b),
                "notify_backup" => v.notify_backup = self.script(b),
                "notify_fault" => v.notify_fault = self.script(b),
                "notify_stop" => v.notify_stop = self.script(b),
                "notify_deleted" => v.notify_deleted = self.script(b),
                "notify" => v.notify = self.script(b),
                "notify_master_rx_lower_pri" => v.notify_master_rx_lower_pri = self.script(b),
                "smtp_alert" => v.smtp_alert = self.boolean(b),
                "lvs_sync_daemon_interface" => v.lvs_sync_daemon_interface = self.string(b),
                "debug" => v.debug = self.uint(b, 0, 0, 4).map(|x| x as u8),
                _ => {
                    self.not_supported(b, ctx);
                    v.extra.push(b.clone());
                }
            }
        }
        Some(v)
    }

    fn authentication(&mut self, st: &Stmt) -> Option<Authentication> {
        let mut t = None;
        let mut pass = None;
        for b in block(st) {
            match b.keyword.as_ref() {
                "auth_type" => match self.arg(b, 0) {
                    Some("PASS") => t = Some(AuthType::Pass),
                    Some("AH") => t = Some(AuthType::Ah),
                    Some(o) => {
                        let o = o.to_string();
                        self.invalid(
                            b,
                            format!("unknown auth_type '{o}'"),
                            Some("use PASS or AH"),
                        )
                    }
                    None => {}
                },
                "auth_pass" => {
                    if let Some(p) = self.string(b) {
                        if p.len() > 8 {
                            let d = Diagnostic::new(
                                Severity::Warning,
                                Code::InvalidValue,
                                ConfigErr::GeneralError,
                                span(b),
                                format!(
                                    "auth_pass '{p}' is longer than 8 characters; it is truncated"
                                ),
                            );
                            self.emit(d);
                        }
                        pass = Some(p.chars().take(8).collect::<String>());
                    }
                }
                _ => {}
            }
        }
        t.map(|auth_type| Authentication {
            auth_type,
            auth_pass: pass.unwrap_or_default(),
        })
    }

    fn sync_group(&mut self, st: &Stmt) -> Option<SyncGroup> {
        let name = self.name(st)?;
        let mut g = SyncGroup {
            name,
            loc: st.loc.clone(),
            ..SyncGroup::default()
        };
        for b in block(st) {
            match b.keyword.as_ref() {
                "group" => {
                    for vl in values(b) {
                        g.group.extend(vl.words.iter().cloned());
                    }
                }
                "track_interface" => g.track_interface.extend(self.track_refs(b, -254, 254)),
                "track_script" => g.track_script.extend(self.track_refs(b, -254, 254)),
                "track_file" => g.track_file.extend(self.track_refs(b, -254, 254)),
                "track_process" => g.track_process.extend(self.track_refs(b, -254, 254)),
                "notify_master" => g.notify_master = self.script(b),
                "notify_backup" => g.notify_backup = self.script(b),
                "notify_fault" => g.notify_fault = self.script(b),
                "notify_stop" => g.notify_stop = self.script(b),
                "notify" => g.notify = self.script(b),
                "smtp_alert" => g.smtp_alert = self.boolean(b),
                _ => {
                    self.not_supported(b, "vrrp_sync_group");
                    g.extra.push(b.clone());
                }
            }
        }
        Some(g)
    }

    fn garp_group(&mut self, st: &Stmt) -> GarpGroup {
        let mut g = GarpGroup {
            loc: st.loc.clone(),
            ..GarpGroup::default()
        };
        for b in block(st) {
            match b.keyword.as_ref() {
                "garp_interval" => g.garp_interval = self.dur(b, 0, 1, u64::from(u32::MAX)),
                "gna_interval" => g.gna_interval = self.dur(b, 0, 1, u64::from(u32::MAX)),
                "interface" => {
                    if let Some(i) = self.string(b) {
                        g.interfaces.push(i);
                    }
                }
                "interfaces" => {
                    for vl in values(b) {
                        g.interfaces.extend(vl.words.iter().cloned());
                    }
                }
                _ => {}
            }
        }
        g
    }

    fn ssl(&mut self, st: &Stmt) -> SslConfig {
        let mut s = SslConfig::default();
        for b in block(st) {
            match b.keyword.as_ref() {
                "password" => s.password = self.string(b),
                "ca" => s.ca = self.string(b),
                "certificate" => s.certificate = self.string(b),
                "key" => s.key = self.string(b),
                _ => {}
            }
        }
        s
    }

    fn vsg(&mut self, st: &Stmt) -> Option<VirtualServerGroup> {
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
        Some(g)
    }

    fn lb_kind(&mut self, st: &Stmt) -> Option<LbKind> {
        match self.arg(st, 0)? {
            "NAT" => Some(LbKind::Nat),
            "DR" => Some(LbKind::Dr),
            "TUN" => Some(LbKind::Tun),
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

    fn virtual_server(&mut self, st: &Stmt) -> Option<VirtualServer> {
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
                _ => {}
            }
        }
        for b in body {
            match b.keyword.as_ref() {
                "delay_loop" | "retry" | "delay_before_retry" | "warmup" | "connect_timeout" => {}
                "ip_family" => match self.arg(b, 0) {
                    Some(f @ ("inet" | "inet6")) => vs.ip_family = Some(f.to_string()),
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
                    if let Some(a) = self.string(b) {
                        vs.lb_algo = a;
                        saw_algo = true;
                    }
                }
                "hashed" | "ops" | "flag-1" | "flag-2" | "flag-3" | "sh-port" | "sh-fallback"
                | "mh-port" | "mh-fallback" => {
                    if !vs.sched_flags.iter().any(|f| *f == b.keyword) {
                        vs.sched_flags.push(b.keyword.to_string());
                    }
                }
                "lb_kind" | "lvs_method" => {
                    if let Some(k) = self.lb_kind(b) {
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
                "persistence_granularity" => vs.persistence_granularity = self.string(b),
                "persistence_engine" => vs.persistence_engine = self.string(b),
                "protocol" => {
                    saw_protocol = true;
                    match self.arg(b, 0) {
                        Some("TCP") => vs.protocol = Protocol::Tcp,
                        Some("UDP") => vs.protocol = Protocol::Udp,
                        Some("SCTP") => vs.protocol = Protocol::Sctp,
                        Some(o) => {
                            let o = o.to_string();
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
                "weight" => {
                    if let Some(w) = self.uint(b, 0, 1, i32::MAX as u64) {
                        vs.weight = w as u32;
                    }
                }
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
                "sorry_server_lvs_method" => vs.sorry_server_lvs_method = self.lb_kind(b),
                "real_server" => {
                    if let Some(rs) = self.real_server(b, &vs) {
                        vs.real_servers.push(rs);
                    }
                }
                _ => {
                    self.not_supported(b, "virtual_server");
                    vs.extra.push(b.clone());
                }
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
    fn vs_end(
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
        if vs.real_servers.is_empty() {
            sem(
                self,
                format!("virtual server {name} has no real servers - ignoring"),
                "add a real_server block, or remove the virtual_server",
            );
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

    fn real_server(&mut self, st: &Stmt, vs: &VirtualServer) -> Option<RealServer> {
        let addr = self.ip_arg(st, 0)?;
        let port = if st.args.len() > 1 {
            Some(self.uint(st, 1, 0, 65535)? as u16)
        } else {
            None
        };
        let mut rs = RealServer::new(addr, port);
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
                "lvs_method" => rs.lvs_method = self.lb_kind(b),
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

    fn checker(&mut self, st: &Stmt, rs: &RealServer, vs: &VirtualServer) -> Option<Checker> {
        let kw = st.keyword.as_ref();
        let mut common = CheckerCommon {
            connect_timeout: rs
                .connect_timeout
                .or(vs.connect_timeout)
                .unwrap_or(Duration::from_secs(5)),
            retry: rs
                .retry
                .or(vs.retry)
                .unwrap_or(if kw == "MISC_CHECK" { 0 } else { 1 }),
            delay_before_retry: rs
                .delay_before_retry
                .or(vs.delay_before_retry)
                .unwrap_or(Duration::from_secs(1)),
            warmup: rs.warmup.or(vs.warmup).unwrap_or(Duration::ZERO),
            delay_loop: rs.delay_loop.unwrap_or(vs.delay_loop),
            alpha: rs.alpha.unwrap_or(vs.alpha),
            ..CheckerCommon::default()
        };
        let mut kind = match kw {
            "HTTP_GET" => CheckerKind::Http(Box::default()),
            "SSL_GET" => CheckerKind::Ssl(Box::default()),
            "TCP_CHECK" => CheckerKind::Tcp,
            "MISC_CHECK" => CheckerKind::Misc(Box::default()),
            "SMTP_CHECK" => CheckerKind::Smtp(Box::default()),
            "DNS_CHECK" => CheckerKind::Dns(Box::default()),
            "UDP_CHECK" => CheckerKind::Udp(Box::default()),
            "PING_CHECK" => CheckerKind::Ping,
            "FILE_CHECK" => CheckerKind::File(Box::default()),
            _ => CheckerKind::Bfd(Box::default()),
        };
        let mut extra = Vec::new();
        for b in block(st) {
            match b.keyword.as_ref() {
                "connect_ip" => common.connect_ip = self.ip_arg(b, 0),
                "connect_port" => common.connect_port = self.uint(b, 0, 1, 65535).map(|x| x as u16),
                "bindto" => common.bindto = self.ip_arg(b, 0),
                "bind_port" => common.bind_port = self.uint(b, 0, 1, 65535).map(|x| x as u16),
                "bind_if" => common.bind_if = self.string(b),
                "fwmark" => {
                    common.fwmark = self.uint(b, 0, 0, u64::from(u32::MAX)).map(|x| x as u32)
                }
                "connect_timeout" => {
                    if let Some(d) = self.dur(b, 0, 1, u64::from(u32::MAX)) {
                        common.connect_timeout = d;
                    }
                }
                "retry" | "nb_get_retry" => {
                    if let Some(r) = self.uint(b, 0, 0, u64::from(u32::MAX)) {
                        common.retry = r as u32;
                    }
                }
                "delay_before_retry" => {
                    if let Some(d) = self.dur(b, 0, 0, u64::MAX / 2) {
                        common.delay_before_retry = d;
                    }
                }
                "warmup" => {
                    if let Some(d) = self.dur(b, 0, 0, u64::MAX / 2) {
                        common.warmup = d;
                    }
                }
                "delay_loop" => {
                    if let Some(d) = self.dur(b, 0, 1, u64::MAX / 2) {
                        common.delay_loop = d;
                    }
                }
                "alpha" => common.alpha = self.boolean(b).unwrap_or(true),
                "log_all_failures" => common.log_all_failures = self.boolean(b).unwrap_or(true),
                other => {
                    let handled = match &mut kind {
                        CheckerKind::Http(h) | CheckerKind::Ssl(h) => self.http_kw(h, b),
                        CheckerKind::Misc(m) => self.misc_kw(m, b),
                        CheckerKind::Smtp(s) => match other {
                            "helo_name" => {
                                s.helo_name = self.string(b);
                                true
                            }
                            _ => false,
                        },
                        CheckerKind::Dns(d) => match other {
                            "type" => {
                                d.qtype = self.string(b);
                                true
                            }
                            "name" => {
                                d.name = self.string(b);
                                true
                            }
                            _ => false,
                        },
                        CheckerKind::Udp(u) => match other {
                            "payload" => {
                                u.payload = self.string(b);
                                true
                            }
                            "require_reply" => {
                                u.require_reply = Some(b.args.first().cloned().unwrap_or_default());
                                true
                            }
                            "min_reply_length" => {
                                u.min_reply_length =
                                    self.uint(b, 0, 0, u64::from(u32::MAX)).map(|x| x as u32);
                                true
                            }
                            "max_reply_length" => {
                                u.max_reply_length =
                                    self.uint(b, 0, 0, u64::from(u32::MAX)).map(|x| x as u32);
                                true
                            }
                            _ => false,
                        },
                        CheckerKind::File(f) => match other {
                            "track_file" => {
                                f.track_file = self.string(b).unwrap_or_default();
                                true
                            }
                            "weight" => {
                                let (w, r) = self.weight_words(b, 0, -254, 254);
                                f.weight = w;
                                f.weight_reverse = r;
                                true
                            }
                            _ => false,
                        },
                        CheckerKind::Bfd(f) => match other {
                            "name" => {
                                f.name = self.string(b).unwrap_or_default();
                                true
                            }
                            _ => false,
                        },
                        CheckerKind::Tcp | CheckerKind::Ping => false,
                    };
                    if !handled {
                        self.not_supported(b, kw);
                        extra.push(b.clone());
                    }
                }
            }
        }
        Some(Checker {
            common,
            kind,
            extra,
            loc: st.loc.clone(),
        })
    }

    fn http_kw(&mut self, h: &mut HttpCheck, b: &Stmt) -> bool {
        match b.keyword.as_ref() {
            "virtualhost" => h.virtualhost = self.string(b),
            "http_protocol" => match self.arg(b, 0) {
                Some(p @ ("1.0" | "1.0C" | "1.0K" | "1.1")) => {
                    h.http_protocol = Some(p.to_string())
                }
                Some(o) => {
                    let o = o.to_string();
                    self.invalid(
                        b,
                        format!("unknown http_protocol '{o}'"),
                        Some("use 1.0, 1.0C, 1.0K or 1.1"),
                    )
                }
                None => {}
            },
            "enable_sni" => h.enable_sni = self.boolean(b).unwrap_or(true),
            "fast_recovery" => h.fast_recovery = self.boolean(b).unwrap_or(true),
            "url" => {
                let mut u = UrlCheck::default();
                for ub in block(b) {
                    match ub.keyword.as_ref() {
                        "path" => u.path = self.string(ub).unwrap_or_default(),
                        "digest" => {
                            if let Some(d) = self.string(ub) {
                                if d.len() == 32 && d.chars().all(|c| c.is_ascii_hexdigit()) {
                                    u.digest = Some(d.to_ascii_lowercase());
                                } else {
                                    self.invalid(
                                        ub,
                                        format!("digest '{d}' is not an MD5 hex string"),
                                        Some("32 hex digits, as genhash prints"),
                                    );
                                }
                            }
                        }
                        "status_code" => {
                            for a in ub.args.clone() {
                                let parsed = match a.split_once('-') {
                                    Some((x, y)) => {
                                        x.parse::<u16>().ok().zip(y.parse::<u16>().ok())
                                    }
                                    None => a.parse::<u16>().ok().map(|x| (x, x)),
                                };
                                match parsed {
                                    Some((x, y))
                                        if (100..=599).contains(&x) && (x..=599).contains(&y) =>
                                    {
                                        u.status_codes.push((x, y))
                                    }
                                    _ => self.invalid(
                                        ub,
                                        format!("invalid status_code '{a}'"),
                                        Some("use codes or ranges in 100-599, e.g. 200 301-302"),
                                    ),
                                }
                            }
                            if ub.args.is_empty() {
                                self.arg(ub, 0);
                            }
                        }
                        "virtualhost" => u.virtualhost = self.string(ub),
                        "regex" => u.regex = self.string(ub),
                        "regex_no_match" => u.regex_no_match = true,
                        _ => {
                            self.not_supported(ub, "url");
                            u.extra.push(ub.clone());
                        }
                    }
                }
                h.urls.push(u);
            }
            _ => return false,
        }
        true
    }

    fn misc_kw(&mut self, m: &mut MiscCheck, b: &Stmt) -> bool {
        match b.keyword.as_ref() {
            "misc_path" => m.misc_path = self.string(b).unwrap_or_default(),
            "misc_timeout" => m.misc_timeout = self.secs(b, 0, 0, u64::from(u32::MAX) / 1_000_000),
            "misc_dynamic" => m.misc_dynamic = true,
            "user" => m.user = self.user(b),
            _ => return false,
        }
        true
    }

    /// Cross-block checks keepalived does at the end of parsing.
    fn validate(&mut self, c: &Config) {
        for v in &c.vrrp_instances {
            if v.virtual_router_id.is_none() {
                let d = Diagnostic::new(
                    Severity::Error,
                    Code::Semantic,
                    ConfigErr::GeneralError,
                    &v.loc.0,
                    format!("({}) the virtual router id must be set", v.name),
                )
                .with_hint("add `virtual_router_id N` (1-255), the same on all peers");
                self.emit(d);
            }
            for t in &v.track_script {
                if !c.vrrp_scripts.iter().any(|s| s.name == t.name) {
                    let d = Diagnostic::new(
                        Severity::Warning,
                        Code::Semantic,
                        ConfigErr::GeneralError,
                        &t.loc.0,
                        format!("({}) track_script {} not found, ignoring", v.name, t.name),
                    );
                    self.emit(d);
                }
            }
            for t in &v.track_file {
                if !c.track_files.iter().any(|s| s.name == t.name) {
                    let d = Diagnostic::new(
                        Severity::Warning,
                        Code::Semantic,
                        ConfigErr::GeneralError,
                        &t.loc.0,
                        format!("({}) track_file {} not found, ignoring", v.name, t.name),
                    );
                    self.emit(d);
                }
            }
        }
    }
}

/// `ADDR` or `ADDR/LEN` as (network address with the host bits cleared, LEN).
pub(crate) fn parse_net(w: &str) -> Option<(IpAddr, u8)> {
    let (a, len) = match w.split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u8>().ok()?)),
        None => (w, None),
    };
    match a.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => {
            let len = len.unwrap_or(32);
            if len > 32 {
                return None;
            }
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            Some((IpAddr::V4((u32::from(v4) & mask).into()), len))
        }
        IpAddr::V6(v6) => {
            let len = len.unwrap_or(128);
            if len > 128 {
                return None;
            }
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            Some((IpAddr::V6((u128::from(v6) & mask).into()), len))
        }
    }
}
