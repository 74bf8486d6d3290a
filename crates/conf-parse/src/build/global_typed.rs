//! `global_defs` keywords typed with keepalived's checks: process names and scheduling, receive
//! buffers, umask, `include_check`, nftables names, the metrics allow list.

use std::net::IpAddr;
use std::time::Duration;

use super::Builder;
use crate::model::*;

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
    pub(super) fn process_name(&mut self, st: &Stmt, slot: &mut Option<String>) {
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
    pub(super) fn start_stop_script(
        &mut self,
        st: &Stmt,
        kind: &str,
        slot: &mut Option<Box<Script>>,
    ) {
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
    pub(super) fn script_timeout(&mut self, st: &Stmt, kind: &str) -> Option<Duration> {
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
    pub(super) fn sched(
        &mut self,
        st: &Stmt,
        rest: &str,
        process: &str,
        s: &mut ProcessSched,
    ) -> bool {
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
    pub(super) fn rcv_bufs(&mut self, st: &Stmt, force: bool, what: &str, b: &mut RcvBufs) {
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
    pub(super) fn rx_bufs_policy(&mut self, st: &Stmt, cur: &mut Option<RxBufsPolicy>) {
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
    pub(super) fn umask(&mut self, st: &Stmt) -> Option<u32> {
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
    pub(super) fn include_check(&mut self, st: &Stmt, cur: Option<IncludeCheck>) -> IncludeCheck {
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
    pub(super) fn nft_name(&mut self, st: &Stmt, what: &str) -> Option<String> {
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
                    // keepalived: one gratuitous ARP/NA and no repeat, without overwriting
                    // the parameters already set (those still at their defaults).
                    if v {
                        if g.vrrp_garp_master_repeat == 5 {
                            g.vrrp_garp_master_repeat = 1;
                        }
                        if g.vrrp_garp_master_refresh_repeat == 1 {
                            g.vrrp_garp_master_refresh_repeat = 0;
                        }
                        if g.vrrp_garp_master_delay == Duration::from_secs(5) {
                            g.vrrp_garp_master_delay = Duration::ZERO;
                        }
                    }
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
            "vrrp_iptables" if self.iptables_build() => self.vrrp_iptables(g, st),
            "vrrp_ipsets" if self.iptables_build() => {
                g.vrrp_ipsets = Some(st.args.clone());
                self.vrrp_ipsets(g, st);
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
                    .with_hint(
                        "use `nftables [TABLE]`, or `--compat 2.4.3` for keepalived 2.4.3's iptables/ipset backend",
                    );
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
            "dbus_no_interface_name" => {
                if st.args.is_empty() {
                    self.invalid(st, "dbus_no_interface_name missing - ignoring".into(), None);
                } else {
                    g.dbus_no_interface_name = Some(st.args[0].clone());
                }
            }
            "use_symlink_paths" => {
                let msg = match st.args.first() {
                    Some(a) => format!("Invalid value '{a}' for global use_symlink_path specified"),
                    None => String::new(),
                };
                if let Some(v) = self.true_false(st, &msg) {
                    g.use_symlink_paths = v;
                }
            }
            "snmp_vs_stats_update_interval" | "snmp_rs_stats_update_interval" => {
                // global_parser.c: 1 ms to 30 s; both handlers print the "vs" message.
                match self.dur(st, 0, 1000, 30_000_000) {
                    Some(d) if kw == "snmp_vs_stats_update_interval" => {
                        g.snmp_vs_stats_update_interval = Some(d)
                    }
                    Some(d) => g.snmp_rs_stats_update_interval = Some(d),
                    None => {
                        let a = st.args.first().cloned().unwrap_or_default();
                        self.invalid(
                            st,
                            format!("snmp stats vs update interval '{a}' invalid - ignoring"),
                            Some("1 ms to 30 seconds"),
                        )
                    }
                }
            }
            "vrrp_delay_after_boot" => match self.dur(st, 0, 1000, u64::from(u32::MAX)) {
                Some(d) => g.vrrp_delay_after_boot = Some(d),
                None => {
                    let a = st.args.first().cloned().unwrap_or_default();
                    self.invalid(st, format!("vrrp_delay_after_boot '{a}' is invalid"), None)
                }
            },
            "json_version" => {
                if st.args.is_empty() {
                    self.invalid(st, "json_version requires version".into(), None);
                } else if let Some(v) = self.uint(st, 0, 1, 2) {
                    g.json_version = Some(v as u32);
                } else {
                    self.invalid(st, "Invalid JSON version".into(), Some("1 or 2"));
                }
            }
            "iproute_usr_dir" | "iproute_etc_dir" => {
                if st.args.len() != 1 {
                    self.invalid(st, format!("{kw} requires path"), Some("one directory"));
                } else if kw == "iproute_usr_dir" {
                    g.iproute_usr_dir = Some(st.args[0].clone());
                    super::routes::set_iproute_dir(false, &st.args[0]);
                } else {
                    g.iproute_etc_dir = Some(st.args[0].clone());
                    super::routes::set_iproute_dir(true, &st.args[0]);
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
            "state_dump_file" | "stats_dump_file" | "json_dump_file" => {
                // keepalived 2.4.3: exactly one non-empty word, else the keyword is ignored.
                if st.args.len() != 1 || st.args[0].is_empty() {
                    self.invalid(st, format!("{kw} requires a non-empty path"), None);
                } else {
                    let v = Some(st.args[0].clone());
                    match kw {
                        "state_dump_file" => g.state_dump_file = v,
                        "stats_dump_file" => g.stats_dump_file = v,
                        _ => g.json_dump_file = v,
                    }
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
    pub(super) fn metrics_allow(&mut self, st: &Stmt, out: &mut Vec<(IpAddr, u8)>) {
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

/// keepalived 2.4.3 built with iptables and libipset (`--compat 2.4.3`): `vrrp_iptables` and
/// `vrrp_ipsets` as its `global_parser.c` reads them.
impl Builder {
    /// Whether `vrrp_iptables`/`vrrp_ipsets` are read as a 2.4.3 iptables build reads them.
    fn iptables_build(&self) -> bool {
        self.compat
            .is_some_and(|c| c >= crate::keywords::Release::V2_4_3)
    }

    /// `check_valid_iptables_ipset_nftables_name`: `max` is XT_EXTENSION_MAXNAMELEN (29) or
    /// IPSET_MAXNAMELEN (32).
    fn fw_name_ok(&mut self, st: &Stmt, i: usize, max: usize, ty: &str, what: &str) -> bool {
        let n = st.args.get(i).map_or(0, |a| a.len());
        if n + 1 >= max {
            self.fixup(
                st,
                format!("VRRP Error : {ty} {what} name too long - ignored"),
            );
            return false;
        }
        if n == 0 {
            self.fixup(st, format!("VRRP Error : {ty} {what} name empty - ignored"));
            return false;
        }
        true
    }

    fn vrrp_iptables(&mut self, g: &mut GlobalDefs, st: &Stmt) {
        if g.nftables.iptables.is_some() {
            self.fixup(st, "iptables already specified - ignoring".into());
            return;
        }
        let Some(input) = st.args.first() else {
            g.nftables.iptables = Some(IptablesChains {
                input: "INPUT".into(),
                output: Some("OUTPUT".into()),
            });
            return;
        };
        if !self.fw_name_ok(st, 0, 29, "iptables", "in chain") {
            return;
        }
        let mut chains = IptablesChains {
            input: input.clone(),
            output: None,
        };
        if let Some(out) = st.args.get(1) {
            if self.fw_name_ok(st, 1, 29, "iptables", "out chain") {
                if out == input {
                    // keepalived only logs it, and then has no iptables at all
                    let d = crate::diag::Diagnostic::new(
                        crate::diag::Severity::Warning,
                        crate::diag::Code::InvalidValue,
                        crate::diag::ConfigErr::Ok,
                        super::span(st),
                        "vrrp_iptables: chain names cannot be the same".to_string(),
                    );
                    self.emit(d);
                    return;
                }
                chains.output = Some(out.clone());
            }
        }
        g.nftables.iptables = Some(chains);
    }

    fn vrrp_ipsets(&mut self, g: &mut GlobalDefs, st: &Stmt) {
        g.nftables.ipsets = IpsetsSetting::Unset;
        if st.args.is_empty() {
            g.nftables.ipsets = IpsetsSetting::Disabled;
            return;
        }
        let what = [
            "address",
            "IPv6 address",
            "IPv6 address_iface",
            "IGMP",
            "MLD",
            "ND",
        ];
        for (i, w) in what.iter().enumerate().take(st.args.len()) {
            if !self.fw_name_ok(st, i, 32, "ipset", w) {
                return;
            }
        }
        let n = IpsetNames::derive(&st.args);
        let all = [&n.addr4, &n.addr6, &n.if6, &n.igmp, &n.mld, &n.nd];
        for (i, a) in all.iter().enumerate() {
            if all[i + 1..].contains(a) {
                self.fixup(st, format!("vrrp_ipsets: set name {a} used more than once"));
                return;
            }
        }
        g.nftables.ipsets = IpsetsSetting::Names(n);
    }
}
