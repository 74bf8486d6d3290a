//! `global_defs` and its LVS-wide settings (`lvs_sync_daemon`, `lvs_timeouts`).

use std::net::IpAddr;
use std::time::Duration;

use super::{values, Builder};
use crate::model::*;

/// A name (or number) in a colon-separated system database (/etc/passwd, /etc/group).
fn system_name_exists(db: &str, name: &str) -> bool {
    let Ok(text) = std::fs::read_to_string(db) else {
        // no database to look in: do not invent an error
        return true;
    };
    text.lines().any(|l| {
        let mut f = l.split(':');
        let n = f.next();
        let id = f.nth(1);
        n == Some(name) || (name.parse::<u32>().is_ok() && id == Some(name))
    })
}

impl Builder {
    pub(super) fn global_defs(&mut self, g: &mut GlobalDefs, body: &[Stmt]) {
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
                    // Not an address: keepalived resolves it as a host name. Without asking DNS
                    // at parse time, a name is known bad when it is a single label that
                    // /etc/hosts does not have (a dotted name may resolve: accepted).
                    let unresolvable = |a: &&String| {
                        a.parse::<IpAddr>().is_err()
                            && !a.contains('.')
                            && !std::fs::read_to_string("/etc/hosts").is_ok_and(|h| {
                                h.lines().any(|l| {
                                    let l = l.split('#').next().unwrap_or_default();
                                    l.split_whitespace().skip(1).any(|n| n == a.as_str())
                                })
                            })
                    };
                    if let Some(a) = st.args.first().filter(unresolvable) {
                        let port = st.args.get(1).map_or("25", String::as_str);
                        let msg = format!("Invalid smtp server {a} {port}");
                        self.invalid(st, msg, Some("an IP address, then an optional port"));
                    } else if let Some(a) = self.string(st) {
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
                        if d.is_zero() {
                            self.fixup(
                                st,
                                "smtp_conect_timeout must be greater than 0, setting to 1".into(),
                            );
                            g.smtp_connect_timeout = Duration::from_secs(1);
                        } else {
                            g.smtp_connect_timeout = d;
                        }
                    }
                }
                "smtp_alert" => g.smtp_alert = self.boolean(st),
                "smtp_alert_vrrp" => g.smtp_alert_vrrp = self.boolean(st),
                "smtp_alert_checker" => g.smtp_alert_checker = self.boolean(st),
                "enable_script_security" => g.enable_script_security = true,
                "script_user" => {
                    g.script_user = self.user(st);
                    if let Some((u, grp)) = &g.script_user {
                        if !system_name_exists("/etc/passwd", u)
                            || grp
                                .as_deref()
                                .is_some_and(|x| !system_name_exists("/etc/group", x))
                        {
                            self.invalid(
                                st,
                                "Error setting global script uid/gid".into(),
                                Some("a user (and group) of this system"),
                            );
                        }
                    }
                }
                "vrrp_strict" => g.vrrp_strict = true,
                // keepalived 2.2.7 ignores a value here
                "vrrp_skip_check_adv_addr" => {
                    g.vrrp_skip_check_adv_addr = !matches!(
                        st.args.first().map(String::as_str),
                        Some("off" | "false" | "no")
                    )
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
                        if v == 0 {
                            self.fixup(
                                st,
                                "vrrp_garp_master_repeat must be greater than 0, setting to 1"
                                    .into(),
                            );
                        }
                        g.vrrp_garp_master_repeat = v.max(1) as u32;
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
                "vrrp_owner_ignore_adverts" => {
                    if let Some(x) = self.boolean(st) {
                        g.vrrp_owner_ignore_adverts = x;
                    }
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
                "lvs_flush_on_stop" | "lvs_flush_onstop" => {
                    // global_parser.c lvs_flush_on_stop_handler: no word (full) or "VS".
                    match st.args.first().map(String::as_str) {
                        None => g.lvs_flush_on_stop = FlushOnStop::Full,
                        Some("VS") => g.lvs_flush_on_stop = FlushOnStop::Vs,
                        Some(o) => {
                            let o = o.to_string();
                            self.invalid(
                                st,
                                format!("Unknown lvs_flush_on_stop type {o}"),
                                Some("the only type is VS"),
                            )
                        }
                    }
                }
                "lvs_timeouts" => g.lvs_timeouts = self.lvs_timeouts(st),
                "default_interface" => g.default_interface = self.string(st),
                "dynamic_interfaces" => {
                    match st.args.first().map(String::as_str) {
                        None => {}
                        Some("allow_if_changes") => g.allow_if_changes = true,
                        Some(o) => {
                            let o = o.to_string();
                            self.invalid(
                                st,
                                format!("Unknown dynamic_interfaces option '{o}'"),
                                Some("the only option is allow_if_changes"),
                            )
                        }
                    }
                    g.dynamic_interfaces = true
                }
                "checker_log_all_failures" => {
                    g.checker_log_all_failures = self.boolean(st).unwrap_or(true)
                }
                "no_email_faults" => g.no_email_faults = true,
                "metrics_allow" => self.metrics_allow(st, &mut g.metrics_allow),
                "notify_fifo" => self.notify_fifo(st, "", &mut g.notify_fifo),
                "notify_fifo_script" => self.notify_fifo_script(st, "", &mut g.notify_fifo),
                "vrrp_notify_fifo" => self.notify_fifo(st, "vrrp_", &mut g.vrrp_notify_fifo),
                "vrrp_notify_fifo_script" => {
                    self.notify_fifo_script(st, "vrrp_", &mut g.vrrp_notify_fifo)
                }
                "lvs_notify_fifo" => self.notify_fifo(st, "lvs_", &mut g.lvs_notify_fifo),
                "lvs_notify_fifo_script" => {
                    self.notify_fifo_script(st, "lvs_", &mut g.lvs_notify_fifo)
                }
                "vmac_prefix" => self.once(st, "vmac prefix", &mut g.vmac_prefix),
                "vmac_addr_prefix" => self.once(st, "vmac_addr prefix", &mut g.vmac_addr_prefix),
                // keepalived-rs's own keywords.
                "krs_vip_lease" => {
                    if let Some(on) = self.on_off(st) {
                        g.krs_vip_lease = on;
                    }
                }
                "metrics_listen" => {
                    if let Some(s) = self.arg(st, 0) {
                        match parse_metrics_listen(s) {
                            Some(a) => g.metrics_listen = Some(a),
                            None => self.invalid(
                                st,
                                format!("metrics_listen: bad address '{s}'"),
                                Some("write IP:PORT, [IPv6]:PORT or a bare PORT (on 127.0.0.1)"),
                            ),
                        }
                    }
                }
                _ if self.global_typed(g, st) => {}
                _ => {
                    self.global_untyped_checks(st);
                    self.not_supported(st, "global_defs");
                    g.extra.push(st.clone());
                }
            }
        }
    }

    /// A root-level global (keepalived's `install_keyword_root` in `global_parser.c`).
    /// Returns false when `st` is not one.
    pub(super) fn root_global(&mut self, g: &mut GlobalDefs, st: &Stmt) -> bool {
        match st.keyword.as_ref() {
            "instance" => self.once_named(st, "instance", &mut g.instance),
            "net_namespace" => self.once_named(st, "net_namespace", &mut g.net_namespace),
            "net_namespace_ipvs" => {
                if g.net_namespace_ipvs.is_some() {
                    self.duplicate(st, "net_namespace_ipvs");
                } else {
                    // No name: the default namespace.
                    g.net_namespace_ipvs = Some(st.args.first().cloned().unwrap_or_default());
                }
            }
            "namespace_with_ipsets" => g.namespace_with_ipsets = true,
            "use_pid_dir" => g.use_pid_dir = true,
            "linkbeat_use_polling" => g.linkbeat_use_polling = true,
            "child_wait_time" => match st.args.first() {
                Some(s) => match s.parse::<u32>() {
                    Ok(v) => g.child_wait_time = Duration::from_secs(u64::from(v)),
                    Err(_) => self.invalid(
                        st,
                        format!("Invalid child_wait_time {s}"),
                        Some("use whole seconds, 0 to 4294967295"),
                    ),
                },
                None => {
                    self.arg(st, 0);
                }
            },
            _ => return false,
        }
        true
    }

    /// keepalived's `"Duplicate KW definition X - ignoring"`.
    fn duplicate(&mut self, st: &Stmt, kw: &str) {
        let what = st.args.first().map(String::as_str).unwrap_or("");
        self.invalid(
            st,
            format!("Duplicate {kw} definition {what} - ignoring"),
            Some("give it once"),
        );
    }

    /// `KW NAME` given at most once (`instance`, `net_namespace`).
    fn once_named(&mut self, st: &Stmt, kw: &str, slot: &mut Option<String>) {
        if st.args.is_empty() {
            self.invalid(
                st,
                format!("{kw} name missing - ignoring"),
                Some("write `KW NAME`"),
            );
        } else if slot.is_some() {
            self.duplicate(st, kw);
        } else {
            *slot = st.args.first().cloned();
        }
    }

    /// A word given at most once (`vmac_prefix`, `vmac_addr_prefix`): a repeat is ignored
    /// with keepalived's error.
    fn once(&mut self, st: &Stmt, what: &str, slot: &mut Option<String>) {
        let Some(s) = self.arg(st, 0) else {
            return;
        };
        if slot.is_some() {
            self.invalid(
                st,
                format!("{what} has already been specified - ignoring {s}"),
                Some("give it once"),
            );
        } else {
            *slot = Some(s.to_string());
        }
    }

    /// `[PREFIX]notify_fifo PATH [USER [GROUP]]` (keepalived's `notify_fifo()`).
    fn notify_fifo(&mut self, st: &Stmt, prefix: &str, f: &mut NotifyFifo) {
        let Some(name) = st.args.first() else {
            self.invalid(
                st,
                format!("No {prefix}notify_fifo name specified"),
                Some("write `KW /path/to/fifo [USER [GROUP]]`"),
            );
            return;
        };
        if f.name.is_some() {
            self.invalid(
                st,
                format!("{prefix}notify_fifo already specified - ignoring {name}"),
                Some("give it once"),
            );
            return;
        }
        f.name = Some(name.clone());
        f.user = st.args.get(1).map(|u| (u.clone(), st.args.get(2).cloned()));
    }

    /// `[PREFIX]notify_fifo_script CMD [USER [GROUP]]` (keepalived's `notify_fifo_script()`).
    fn notify_fifo_script(&mut self, st: &Stmt, prefix: &str, f: &mut NotifyFifo) {
        if st.args.is_empty() {
            self.invalid(
                st,
                format!("No {prefix}notify_fifo_script specified"),
                Some("write `KW \"/path/to/script args\" [USER [GROUP]]`"),
            );
            return;
        }
        if f.script.is_some() {
            self.invalid(
                st,
                format!(
                    "{prefix}notify_fifo_script already specified - ignoring {}",
                    st.args[0]
                ),
                Some("give it once"),
            );
            return;
        }
        f.script = self.script(st);
    }

    /// `KW [on|off|true|false|yes|no|1|0]` (bare: on).
    fn on_off(&mut self, st: &Stmt) -> Option<bool> {
        match st.args.first().map(|s| s.to_ascii_lowercase()).as_deref() {
            Some("1") => Some(true),
            Some("0") => Some(false),
            _ => self.boolean(st),
        }
    }

    pub(super) fn lvs_sync_daemon(&mut self, st: &Stmt) -> Option<LvsSyncDaemon> {
        let interface = self.arg(st, 0)?.to_string();
        // keepalived 2.2.7 takes the interface alone
        let vrrp_instance = st.args.get(1).cloned().unwrap_or_default();
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

    pub(super) fn lvs_timeouts(&mut self, st: &Stmt) -> Option<LvsTimeouts> {
        if st.args.is_empty() {
            self.invalid(st, "lvs_timeouts requires at least one option".into(), None);
            return None;
        }
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
}
