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
                        None | Some("allow_if_changes") => {}
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

/// The number of online CPUs (keepalived's `sysconf(_SC_NPROCESSORS_ONLN)`), read from
/// `/sys/devices/system/cpu/online` ("0-3,6"); 1 if it can't be read.
pub(crate) fn online_cpus() -> u64 {
    let Ok(s) = std::fs::read_to_string("/sys/devices/system/cpu/online") else {
        return std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    };
    let mut n = 0u64;
    for part in s.trim().split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        if let (Ok(a), Ok(b)) = (a.parse::<u64>(), b.parse::<u64>()) {
            n += b.saturating_sub(a) + 1;
        }
    }
    n.max(1)
}

/// keepalived's umask bit names.
const UMASK_BITS: [(&str, u32); 12] = [
    ("IRUSR", 0o400),
    ("IWUSR", 0o200),
    ("IXUSR", 0o100),
    ("IRWXU", 0o700),
    ("IRGRP", 0o040),
    ("IWGRP", 0o020),
    ("IXGRP", 0o010),
    ("IRWXG", 0o070),
    ("IROTH", 0o004),
    ("IWOTH", 0o002),
    ("IXOTH", 0o001),
    ("IRWXO", 0o007),
];

/// C's `strtol(s, &end, 0)` on a whole word: decimal, `0` octal or `0x` hex, optional sign.
pub(crate) fn strtol0(s: &str) -> Option<i64> {
    let (neg, t) = match s.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else if t.len() > 1 && t.starts_with('0') {
        i64::from_str_radix(&t[1..], 8).ok()?
    } else {
        t.parse::<i64>().ok()?
    };
    if t.is_empty() || t.starts_with(['+', '-']) {
        return None;
    }
    Some(if neg { -v } else { v })
}

impl Builder {
    /// keepalived's `check_true_false` (case-sensitive true/on/yes, false/off/no; bare:
    /// true); `msg` is its error for another word.
    pub(super) fn true_false(&mut self, st: &Stmt, msg: &str) -> Option<bool> {
        match st.args.first().map(String::as_str) {
            None | Some("true" | "on" | "yes") => Some(true),
            Some("false" | "off" | "no") => Some(false),
            Some(_) => {
                self.invalid(st, msg.to_string(), Some("use true/on/yes or false/off/no"));
                None
            }
        }
    }

    /// keepalived's `save_process_name`: truncated to 15 characters with an error.
    fn process_name(&mut self, st: &Stmt, slot: &mut Option<String>) {
        let Some(n) = self.arg(st, 0) else {
            return;
        };
        let n = n.to_string();
        if n.len() > PROCESS_NAME_MAX {
            self.invalid(
                st,
                format!("Process name {n} more than {PROCESS_NAME_MAX} characters, truncating"),
                Some("use at most 15 characters"),
            );
            let mut end = PROCESS_NAME_MAX;
            while !n.is_char_boundary(end) {
                end -= 1;
            }
            *slot = Some(n[..end].to_string());
        } else {
            *slot = Some(n);
        }
    }

    /// `startup_script` / `shutdown_script` (keepalived's `startup_shutdown_script`).
    fn start_stop_script(&mut self, st: &Stmt, kind: &str, slot: &mut Option<Box<Script>>) {
        if slot.is_some() {
            self.invalid(
                st,
                format!("{kind} script already specified"),
                Some("give it once"),
            );
        } else if st.args.is_empty() {
            self.invalid(
                st,
                format!("{kind} script missing"),
                Some("write `KW \"/path args\" [USER [GROUP]]`"),
            );
        } else {
            *slot = self.script(st);
        }
    }

    /// `*_script_timeout` (1..1000 s).
    fn script_timeout(&mut self, st: &Stmt, kind: &str) -> Option<Duration> {
        if st.args.is_empty() {
            self.invalid(
                st,
                format!("{kind}_script_timeout requires value"),
                Some("1..1000 seconds"),
            );
            return None;
        }
        self.secs(st, 0, 1, 1000)
    }

    /// One scheduling keyword of a process (`vrrp_`, `checker_`, `bfd_` prefixed).
    fn sched(&mut self, st: &Stmt, rest: &str, process: &str, s: &mut ProcessSched) -> bool {
        match rest {
            "priority" => {
                // keepalived: a bad value sets the default (0)
                s.priority = if st.args.is_empty() {
                    self.invalid(st, format!("No {process} process priority specified"), None);
                    0
                } else {
                    self.int(st, 0, -20, 19).map_or(0, |v| v as i8)
                };
            }
            "no_swap" => s.no_swap = true,
            "rt_priority" => {
                if st.args.is_empty() {
                    self.invalid(
                        st,
                        format!("No {process} process real-time priority specified"),
                        None,
                    );
                } else if let Some(p) = self.int(st, 0, i64::from(i32::MIN), i64::from(i32::MAX)) {
                    let clamped = p.clamp(1, 99);
                    if clamped != p {
                        let which = if p < 1 {
                            "less than minimum 1 - setting to minimum"
                        } else {
                            "greater than maximum 99 - setting to maximum"
                        };
                        self.invalid(
                            st,
                            format!("{process} process real-time priority {p} {which}"),
                            Some("use 1..99"),
                        );
                    }
                    s.rt_priority = Some(clamped as u8);
                }
            }
            "cpu_affinity" => {
                if st.args.is_empty() {
                    self.invalid(st, format!("No {process} cpu_id set specified"), None);
                    return true;
                }
                let max = online_cpus().saturating_sub(1) as i64;
                let mut set = Vec::new();
                for i in 0..st.args.len() {
                    match self.int(st, i, 0, max) {
                        Some(c) => set.push(c as u16),
                        None => {
                            self.invalid(
                                st,
                                format!(
                                    "Invalid cpu_id:{} specified for {process} process",
                                    st.args[i]
                                ),
                                Some("CPU ids of online CPUs"),
                            );
                            // keepalived clears the set at the first error
                            s.cpu_affinity = None;
                            return true;
                        }
                    }
                }
                set.sort_unstable();
                set.dedup();
                s.cpu_affinity = Some(set);
            }
            "rlimit_rttime" | "rlimit_rtime" => {
                s.rlimit_rttime = self
                    .uint(st, 0, 1, u64::from(u32::MAX))
                    .map(|v| (v as u32).max(2));
                if s.rlimit_rttime.is_none() && !st.args.is_empty() {
                    self.invalid(
                        st,
                        format!("Invalid {process} real-time limit - {}", st.args[0]),
                        None,
                    );
                }
            }
            _ => return false,
        }
        true
    }

    /// `*_rcv_bufs SIZE` / `*_rcv_bufs_force [BOOL]`.
    fn rcv_bufs(&mut self, st: &Stmt, force: bool, what: &str, b: &mut RcvBufs) {
        if force {
            let msg = format!(
                "Invalid value '{}' for global {}_rcv_bufs_force specified",
                st.args.first().map_or("", String::as_str),
                what
            );
            if let Some(v) = self.true_false(st, &msg) {
                b.force = v;
            }
        } else if st.args.is_empty() {
            self.invalid(st, format!("{what}_rcv_bufs size missing"), None);
        } else if let Some(v) = self.uint(st, 0, 0, u64::from(u32::MAX)) {
            // 0: the kernel's default (keepalived ignores it)
            if v > 0 {
                b.size = Some(v as u32);
            }
        }
    }

    /// keepalived's `vrrp_rx_bufs_policy` handler (policies accumulate; size and policy,
    /// or MTU and ADVERT, conflict).
    fn rx_bufs_policy(&mut self, st: &Stmt, cur: &mut Option<RxBufsPolicy>) {
        if st.args.is_empty() {
            self.invalid(st, "vrrp_rx_bufs_policy missing".into(), None);
            return;
        }
        let (mut mtu, mut advert, mut size) = match *cur {
            Some(RxBufsPolicy::Mtu) => (true, false, None),
            Some(RxBufsPolicy::Advert) => (false, true, None),
            Some(RxBufsPolicy::Size(n)) => (false, false, Some(n)),
            None => (false, false, None),
        };
        for w in &st.args {
            if w.eq_ignore_ascii_case("MTU") {
                mtu = true;
            } else if w.eq_ignore_ascii_case("ADVERT") {
                advert = true;
            } else {
                // keepalived reads the first word here, whichever word is bad
                match self.uint(st, 0, 0, u64::from(u32::MAX)) {
                    Some(n) => size = Some(n as u32),
                    None => self.invalid(st, format!("Invalid vrrp_rx_bufs_policy {w}"), None),
                }
            }
        }
        *cur = match (mtu, advert, size) {
            (true | false, _, Some(n)) if mtu || advert => {
                self.invalid(
                    st,
                    "Cannot set vrrp_rx_bufs_policy size and policy, ignoring policy".into(),
                    None,
                );
                Some(RxBufsPolicy::Size(n))
            }
            (_, _, Some(n)) => Some(RxBufsPolicy::Size(n)),
            (true, true, None) => {
                self.invalid(
                    st,
                    "Cannot set both vrrp_rx_bufs_policy MTU and ADVERT, ignoring ADVERT".into(),
                    None,
                );
                Some(RxBufsPolicy::Mtu)
            }
            (true, false, None) => Some(RxBufsPolicy::Mtu),
            (false, true, None) => Some(RxBufsPolicy::Advert),
            (false, false, None) => *cur,
        };
    }

    /// keepalived's `umask_handler`.
    fn umask(&mut self, st: &Stmt) -> Option<u32> {
        let first = self.arg(st, 0)?;
        if first.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            if st.args.len() != 1 {
                self.invalid(st, "Extra parameter(s) to umask option".into(), None);
                return None;
            }
            match strtol0(first) {
                Some(v) if (0..=0o777).contains(&v) => Some(v as u32),
                _ => {
                    let f = first.to_string();
                    self.invalid(
                        st,
                        format!("invalid umask value {f}"),
                        Some("e.g. 022 or IWGRP|IWOTH"),
                    );
                    None
                }
            }
        } else {
            let mut bits = 0u32;
            let mut need_or = false;
            for w in &st.args {
                let mut p = w.as_str();
                while !p.is_empty() {
                    if need_or {
                        if let Some(r) = p.strip_prefix('|') {
                            need_or = false;
                            p = r;
                            continue;
                        }
                        self.invalid(st, format!("Invalid umask syntax {w}"), None);
                        return None;
                    }
                    match UMASK_BITS.iter().find(|(n, _)| p.starts_with(n)) {
                        Some((n, b)) => {
                            bits |= b;
                            p = &p[n.len()..];
                            need_or = true;
                        }
                        None => {
                            self.invalid(st, format!("Unknown umask bit {p}"), None);
                            return None;
                        }
                    }
                }
            }
            if !need_or {
                self.invalid(st, "umask missing bit value".into(), None);
                return None;
            }
            Some(bits)
        }
    }

    /// keepalived's `include_check_set`.
    fn include_check(&mut self, st: &Stmt, cur: Option<IncludeCheck>) -> IncludeCheck {
        if st.args.is_empty() {
            return IncludeCheck {
                read: true,
                matches: true,
                wildcard_match: true,
                brace_match: true,
            };
        }
        let mut c = cur.unwrap_or_default();
        for (i, w) in st.args.iter().enumerate() {
            let (op, name) = match w.as_bytes().first() {
                Some(b'-') => (-1, &w[1..]),
                Some(b'+') => (1, &w[1..]),
                _ => {
                    if i > 0 {
                        self.invalid(
                            st,
                            format!("Duplicate include_check '{w}' specified - ignoring"),
                            None,
                        );
                        continue;
                    }
                    c = IncludeCheck::default();
                    (0, w.as_str())
                }
            };
            let set = |c: &mut IncludeCheck, v: bool| match name {
                "read" => c.read = v,
                "match" => c.matches = v,
                "wildcard_match" => c.wildcard_match = v,
                _ => c.brace_match = v,
            };
            if !matches!(name, "read" | "match" | "wildcard_match" | "brace_match") {
                self.invalid(
                    st,
                    format!("Unknown include_check type '{name}' - ignoring"),
                    Some("read, match, wildcard_match or brace_match"),
                );
                continue;
            }
            match op {
                0 => {
                    c = IncludeCheck {
                        read: true,
                        ..IncludeCheck::default()
                    };
                    set(&mut c, true);
                }
                1 => set(&mut c, true),
                _ => set(&mut c, false),
            }
        }
        c
    }

    /// An nftables table name (keepalived's `check_valid_iptables_ipset_nftables_name`,
    /// NFT_TABLE_MAXNAMELEN 256).
    fn nft_name(&mut self, st: &Stmt, what: &str) -> Option<String> {
        let n = st.args.first()?;
        if n.len() >= 255 {
            self.invalid(
                st,
                format!("VRRP Error : nftables {what} name too long - ignored"),
                None,
            );
            return None;
        }
        if n.is_empty() {
            self.invalid(
                st,
                format!("VRRP Error : nftables {what} name empty - ignored"),
                None,
            );
            return None;
        }
        Some(n.clone())
    }

    /// `global_defs` keywords that no runtime reads yet, typed with keepalived's checks.
    /// False when `st` is not one of them.
    pub(super) fn global_typed(&mut self, g: &mut GlobalDefs, st: &Stmt) -> bool {
        let kw = st.keyword.as_ref();
        let bad_bool = |k: &str, st: &Stmt| {
            format!(
                "Invalid value '{}' for global {k} specified",
                st.args.first().map_or("", String::as_str)
            )
        };
        match kw {
            "process_names" => {
                g.process_names.vrrp = Some("keepalived_vrrp".into());
                g.process_names.checker = Some("keepalived_lvs".into());
                g.process_names.bfd = Some("keepalived_bfd".into());
            }
            "process_name" => self.process_name(st, &mut g.process_names.parent),
            "vrrp_process_name" => self.process_name(st, &mut g.process_names.vrrp),
            "checker_process_name" | "lvs_process_name" => {
                self.process_name(st, &mut g.process_names.checker)
            }
            "bfd_process_name" => self.process_name(st, &mut g.process_names.bfd),
            "startup_script" => self.start_stop_script(st, "startup", &mut g.startup_script),
            "shutdown_script" => self.start_stop_script(st, "shutdown", &mut g.shutdown_script),
            "startup_script_timeout" => {
                if let Some(d) = self.script_timeout(st, "startup") {
                    g.startup_script_timeout = Some(d);
                }
            }
            "shutdown_script_timeout" => {
                if let Some(d) = self.script_timeout(st, "shutdown") {
                    g.shutdown_script_timeout = Some(d);
                }
            }
            "max_auto_priority" => {
                if st.args.is_empty() {
                    g.max_auto_priority = Some(99);
                } else if let Some(v) = self.int(st, 0, -1, 99) {
                    g.max_auto_priority = Some(v as i32);
                }
            }
            "min_auto_priority_delay" => {
                if st.args.is_empty() {
                    self.invalid(
                        st,
                        "min_auto_priority_delay requires delay time".into(),
                        None,
                    );
                } else if let Some(v) = self.uint(st, 0, 1, 10_000_000) {
                    g.min_auto_priority_delay = Some(Duration::from_micros(v));
                }
            }
            "disable_local_igmp" => g.disable_local_igmp = true,
            "vrrp_min_garp" => {
                if let Some(v) = self.true_false(st, "Invalid value for vrrp_min_garp specified") {
                    g.vrrp_min_garp |= v;
                }
            }
            "vrrp_garp_extra_if" | "vrrp_vmac_garp_intvl" => {
                let mut x = GarpExtraIf::default();
                let mut secs = 0;
                for i in 0..st.args.len() {
                    if st.args[i] == "all" {
                        x.all = true;
                    } else {
                        match self.uint(st, i, 1, 86400) {
                            Some(v) => secs = v,
                            None => return true,
                        }
                    }
                }
                if secs == 0 {
                    self.invalid(
                        st,
                        format!("{kw} specified without time - ignoring"),
                        Some("write `KW [all] SECONDS`"),
                    );
                } else {
                    x.interval = Duration::from_secs(secs);
                    g.vrrp_garp_extra_if = Some(x);
                }
            }
            "vrrp_iptables" => {
                // keepalived 2.2.7 (Debian build: nftables, no iptables) reports it and runs
                // with the nftables table `keepalived` at the default priority.
                self.fixup(
                    st,
                    "iptables not supported, using nftables instead. Please replace 'vrrp_iptables and 'vrrp_ipsets' with 'nftables' config option".into(),
                );
                g.nftables.table = Some("keepalived".into());
                g.nftables.priority = None;
            }
            "vrrp_ipsets" => {
                // an unknown keyword to keepalived 2.2.7's Debian build (no libipset)
                let d = self
                    .err(
                        crate::diag::Code::InvalidValue,
                        crate::diag::ConfigErr::UnknownKeyword,
                        super::span(st),
                        "vrrp_ipsets: keepalived 2.2.7 is built without ipset support (Unknown keyword 'vrrp_ipsets')".into(),
                    )
                    .with_hint("use `nftables [TABLE]`");
                self.emit(d);
                g.vrrp_ipsets = Some(st.args.clone());
            }
            "nftables" => {
                if g.nftables.table.is_some() {
                    self.invalid(
                        st,
                        "nftables already specified - ignoring".into(),
                        Some("give it once"),
                    );
                } else if st.args.is_empty() {
                    g.nftables.table = Some("keepalived".into());
                    g.nftables.priority = None;
                } else if let Some(n) = self.nft_name(st, "chain") {
                    g.nftables.table = Some(n);
                    g.nftables.priority = None;
                }
            }
            "nftables_priority" => {
                if let Some(v) = self.int(st, 0, i64::from(i32::MIN), i64::from(i32::MAX)) {
                    g.nftables.priority = Some(v as i32);
                }
            }
            "nftables_ifindex" => g.nftables.ifindex = true,
            "nftables_ipvs" => {
                if g.nftables.ipvs_table.is_some() {
                    self.invalid(
                        st,
                        "ipvs nftables already specified - ignoring".into(),
                        Some("give it once"),
                    );
                } else if st.args.is_empty() {
                    g.nftables.ipvs_table = Some("keepalived_ipvs".into());
                    g.nftables.ipvs_priority = None;
                    g.nftables.ipvs_start_fwmark = None;
                } else if let Some(n) = self.nft_name(st, "ipvs chain") {
                    g.nftables.ipvs_table = Some(n);
                    g.nftables.ipvs_priority = None;
                    g.nftables.ipvs_start_fwmark = None;
                }
            }
            "nftables_ipvs_priority" => {
                if let Some(v) = self.int(st, 0, i64::from(i32::MIN), i64::from(i32::MAX)) {
                    g.nftables.ipvs_priority = Some(v as i32);
                }
            }
            "nftables_ipvs_start_fwmark" => {
                if let Some(v) = self.uint(st, 0, 1, u64::from(u32::MAX)) {
                    g.nftables.ipvs_start_fwmark = Some(v as u32);
                }
            }
            "nftables_counters" => g.nftables.counters = true,
            "vrrp_notify_priority_changes" => {
                if let Some(v) = self.true_false(st, &bad_bool(kw, st)) {
                    g.vrrp_notify_priority_changes = v;
                }
            }
            "fifo_write_vrrp_states_on_reload" => g.fifo_write_vrrp_states_on_reload = true,
            "snmp_socket" => {
                if st.args.len() > 1 {
                    self.invalid(
                        st,
                        "Too many parameters specified for snmp_socket - ignoring".into(),
                        None,
                    );
                } else if st.args.is_empty() {
                    self.invalid(st, "SNMP error : snmp socket name missing".into(), None);
                } else if st.args[0].len() > 4095 {
                    self.invalid(
                        st,
                        "SNMP error : snmp socket name too long - ignored".into(),
                        None,
                    );
                } else if let Some(s) = &g.snmp.socket {
                    let s = s.clone();
                    self.invalid(
                        st,
                        format!("SNMP socket already set to {s} - ignoring"),
                        Some("give it once"),
                    );
                } else {
                    g.snmp.socket = Some(st.args[0].clone());
                }
            }
            "enable_traps" => g.snmp.traps = true,
            "enable_snmp_vrrp" | "enable_snmp_keepalived" => g.snmp.vrrp = true,
            "enable_snmp_rfc" => {
                g.snmp.rfcv2 = true;
                g.snmp.rfcv3 = true;
            }
            "enable_snmp_rfcv2" => g.snmp.rfcv2 = true,
            "enable_snmp_rfcv3" => g.snmp.rfcv3 = true,
            "enable_snmp_checker" => g.snmp.checker = true,
            "enable_dbus" => g.enable_dbus = true,
            "dbus_service_name" => {
                if st.args.is_empty() {
                    self.invalid(st, "dbus_service_name missing - ignoring".into(), None);
                } else {
                    g.dbus_service_name = Some(st.args[0].clone());
                }
            }
            "vrrp_netlink_cmd_rcv_bufs" | "vrrp_netlink_cmd_rcv_bufs_force" => self.rcv_bufs(
                st,
                kw.ends_with("_force"),
                "vrrp_netlink_cmd",
                &mut g.vrrp_netlink_cmd_rcv_bufs,
            ),
            "vrrp_netlink_monitor_rcv_bufs" | "vrrp_netlink_monitor_rcv_bufs_force" => self
                .rcv_bufs(
                    st,
                    kw.ends_with("_force"),
                    "vrrp_netlink_monitor",
                    &mut g.vrrp_netlink_monitor_rcv_bufs,
                ),
            "process_monitor_rcv_bufs" | "process_monitor_rcv_bufs_force" => self.rcv_bufs(
                st,
                kw.ends_with("_force"),
                "process_monitor",
                &mut g.process_monitor_rcv_bufs,
            ),
            "lvs_netlink_cmd_rcv_bufs" | "lvs_netlink_cmd_rcv_bufs_force" => self.rcv_bufs(
                st,
                kw.ends_with("_force"),
                "lvs_netlink_cmd",
                &mut g.lvs_netlink_cmd_rcv_bufs,
            ),
            "lvs_netlink_monitor_rcv_bufs" | "lvs_netlink_monitor_rcv_bufs_force" => self.rcv_bufs(
                st,
                kw.ends_with("_force"),
                "lvs_netlink_monitor",
                &mut g.lvs_netlink_monitor_rcv_bufs,
            ),
            "rs_init_notifies" => {
                if let Some(v) = self.true_false(st, &bad_bool(kw, st)) {
                    g.rs_init_notifies = v;
                }
            }
            "no_checker_emails" => {
                if let Some(v) = self.true_false(st, &bad_bool(kw, st)) {
                    g.no_checker_emails = v;
                }
            }
            "vrrp_rx_bufs_policy" => {
                let mut cur = g.vrrp_rx_bufs_policy;
                self.rx_bufs_policy(st, &mut cur);
                g.vrrp_rx_bufs_policy = cur;
            }
            "vrrp_rx_bufs_multiplier" => {
                if st.args.len() != 1 {
                    self.invalid(st, "Invalid vrrp_rx_bufs_multiplier".into(), None);
                } else if let Some(v) = self.uint(st, 0, 1, u64::from(u32::MAX)) {
                    g.vrrp_rx_bufs_multiplier = Some(v as u32);
                }
            }
            "log_unknown_vrids" => g.log_unknown_vrids = true,
            "umask" => {
                if let Some(m) = self.umask(st) {
                    g.umask = Some(m);
                }
            }
            "random_seed" => {
                if let Some(v) = self.uint(st, 0, 0, u64::from(u32::MAX)) {
                    g.random_seed = Some(v as u32);
                }
            }
            "reload_check_config" => {
                g.reload_check_config = Some(
                    st.args
                        .first()
                        .cloned()
                        .unwrap_or_else(|| "/dev/null".into()),
                )
            }
            "reload_time_file" => {
                if st.args.len() != 1 {
                    self.invalid(
                        st,
                        "reload_time_file invalid".into(),
                        Some("write `reload_time_file FILE`"),
                    );
                } else {
                    g.reload_time_file = Some(st.args[0].clone());
                }
            }
            "reload_repeat" => g.reload_repeat = true,
            "reload_file" => g.reload_file = Some(st.args.first().cloned().unwrap_or_default()),
            "include_check" => g.include_check = Some(self.include_check(st, g.include_check)),
            "config_save_dir" => {
                if let Some(d) = self.arg(st, 0) {
                    g.config_save_dir = Some(d.to_string());
                }
            }
            "tmp_config_directory" => {
                if g.tmp_config_directory.is_some() {
                    self.invalid(
                        st,
                        format!("{kw} already specified - ignoring"),
                        Some("give it once"),
                    );
                } else if st.args.is_empty() {
                    self.invalid(st, format!("{kw} missing directory name"), None);
                } else {
                    g.tmp_config_directory = Some(st.args[0].clone());
                }
            }
            "data_use_instance" => {
                let msg = bad_bool("date_use_instance", st);
                if let Some(v) = self.true_false(st, &msg) {
                    g.data_use_instance = v;
                }
            }
            _ => {
                for (prefix, process) in
                    [("vrrp_", "vrrp"), ("checker_", "checker"), ("bfd_", "bfd")]
                {
                    if let Some(rest) = kw.strip_prefix(prefix) {
                        let mut s = match process {
                            "vrrp" => std::mem::take(&mut g.vrrp_sched),
                            "checker" => std::mem::take(&mut g.checker_sched),
                            _ => std::mem::take(&mut g.bfd_sched),
                        };
                        let done = self.sched(st, rest, process, &mut s);
                        match process {
                            "vrrp" => g.vrrp_sched = s,
                            "checker" => g.checker_sched = s,
                            _ => g.bfd_sched = s,
                        }
                        if done {
                            return true;
                        }
                    }
                }
                return false;
            }
        }
        true
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
