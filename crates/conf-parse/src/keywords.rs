//! Every keyword keepalived 2.2.7 knows, by block, with its shape (simple, `{}` block of
//! keywords, or `{}` block of values) and deprecation. Built from keepalived's
//! `install_keyword*()` calls (global_parser.c, vrrp_parser.c, check_*.c, bfd_parser.c,
//! track_file.c).

/// The shape of a keyword.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// `keyword args...`
    Simple,
    /// `keyword args... { value lines }` (keepalived's `read_value_block`).
    Values,
    /// `keyword args... { keywords }`.
    Block(&'static [Kw]),
}

/// Deprecation state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Current keyword.
    Current,
    /// Deprecated; keepalived reports it (with its line); use the named replacement.
    Deprecated(&'static str),
    /// Deprecated synonym keepalived accepts silently (or only logs); use the replacement.
    Alias(&'static str),
}

/// One keyword.
#[derive(Debug, Clone, Copy)]
pub struct Kw {
    /// The keyword text.
    pub name: &'static str,
    /// Its shape.
    pub kind: Kind,
    /// Deprecation.
    pub status: Status,
}

const fn s(name: &'static str) -> Kw {
    Kw {
        name,
        kind: Kind::Simple,
        status: Status::Current,
    }
}
const fn v(name: &'static str) -> Kw {
    Kw {
        name,
        kind: Kind::Values,
        status: Status::Current,
    }
}
const fn b(name: &'static str, sub: &'static [Kw]) -> Kw {
    Kw {
        name,
        kind: Kind::Block(sub),
        status: Status::Current,
    }
}
const fn dep(name: &'static str, repl: &'static str) -> Kw {
    Kw {
        name,
        kind: Kind::Simple,
        status: Status::Deprecated(repl),
    }
}
const fn alias(name: &'static str, repl: &'static str) -> Kw {
    Kw {
        name,
        kind: Kind::Simple,
        status: Status::Alias(repl),
    }
}

/// Keywords inside `global_defs`.
pub static GLOBAL_DEFS: &[Kw] = &[
    // keepalived-rs's own keywords (not in keepalived): the VRRP VIP lease and the metrics endpoint.
    s("krs_vip_lease"),
    s("metrics_listen"),
    s("process_names"),
    s("process_name"),
    s("vrrp_process_name"),
    s("checker_process_name"),
    alias("lvs_process_name", "checker_process_name"),
    s("bfd_process_name"),
    s("router_id"),
    s("notification_email_from"),
    s("smtp_server"),
    s("smtp_helo_name"),
    s("smtp_connect_timeout"),
    v("notification_email"),
    s("smtp_alert"),
    s("startup_script"),
    s("startup_script_timeout"),
    s("shutdown_script"),
    s("shutdown_script_timeout"),
    s("max_auto_priority"),
    s("min_auto_priority_delay"),
    s("smtp_alert_vrrp"),
    s("smtp_alert_checker"),
    s("checker_log_all_failures"),
    s("dynamic_interfaces"),
    s("no_email_faults"),
    s("default_interface"),
    s("disable_local_igmp"),
    s("lvs_timeouts"),
    s("lvs_flush"),
    s("lvs_flush_on_stop"),
    alias("lvs_flush_onstop", "lvs_flush_on_stop"),
    s("lvs_sync_daemon"),
    s("vrrp_mcast_group4"),
    s("vrrp_mcast_group6"),
    s("vrrp_garp_master_delay"),
    s("vrrp_garp_master_repeat"),
    s("vrrp_garp_master_refresh"),
    s("vrrp_garp_master_refresh_repeat"),
    s("vrrp_garp_lower_prio_delay"),
    s("vrrp_garp_lower_prio_repeat"),
    s("vrrp_down_timer_adverts"),
    s("vrrp_garp_interval"),
    s("vrrp_gna_interval"),
    s("vrrp_min_garp"),
    s("vrrp_garp_extra_if"),
    dep("vrrp_vmac_garp_intvl", "vrrp_garp_extra_if"),
    s("vrrp_lower_prio_no_advert"),
    s("vrrp_higher_prio_send_advert"),
    s("vrrp_version"),
    s("vrrp_iptables"),
    s("vrrp_ipsets"),
    s("nftables"),
    s("nftables_priority"),
    s("nftables_ifindex"),
    s("nftables_ipvs"),
    s("nftables_ipvs_priority"),
    s("nftables_ipvs_start_fwmark"),
    s("nftables_counters"),
    s("vrrp_check_unicast_src"),
    s("vrrp_skip_check_adv_addr"),
    s("vrrp_strict"),
    s("vrrp_priority"),
    s("vrrp_no_swap"),
    s("vrrp_rt_priority"),
    s("vrrp_cpu_affinity"),
    s("vrrp_rlimit_rttime"),
    alias("vrrp_rlimit_rtime", "vrrp_rlimit_rttime"),
    s("notify_fifo"),
    s("notify_fifo_script"),
    s("vrrp_notify_fifo"),
    s("vrrp_notify_fifo_script"),
    s("vrrp_notify_priority_changes"),
    s("fifo_write_vrrp_states_on_reload"),
    s("lvs_notify_fifo"),
    s("lvs_notify_fifo_script"),
    s("checker_priority"),
    s("checker_no_swap"),
    s("checker_rt_priority"),
    s("checker_cpu_affinity"),
    s("checker_rlimit_rttime"),
    alias("checker_rlimit_rtime", "checker_rlimit_rttime"),
    s("bfd_priority"),
    s("bfd_no_swap"),
    s("bfd_rt_priority"),
    s("bfd_cpu_affinity"),
    s("bfd_rlimit_rttime"),
    alias("bfd_rlimit_rtime", "bfd_rlimit_rttime"),
    s("snmp_socket"),
    s("enable_traps"),
    s("enable_snmp_vrrp"),
    alias("enable_snmp_keepalived", "enable_snmp_vrrp"),
    s("enable_snmp_rfc"),
    s("enable_snmp_rfcv2"),
    s("enable_snmp_rfcv3"),
    s("enable_snmp_checker"),
    s("enable_dbus"),
    s("dbus_service_name"),
    s("script_user"),
    s("enable_script_security"),
    s("vrrp_netlink_cmd_rcv_bufs"),
    s("vrrp_netlink_cmd_rcv_bufs_force"),
    s("vrrp_netlink_monitor_rcv_bufs"),
    s("vrrp_netlink_monitor_rcv_bufs_force"),
    s("process_monitor_rcv_bufs"),
    s("process_monitor_rcv_bufs_force"),
    s("lvs_netlink_cmd_rcv_bufs"),
    s("lvs_netlink_cmd_rcv_bufs_force"),
    s("lvs_netlink_monitor_rcv_bufs"),
    s("lvs_netlink_monitor_rcv_bufs_force"),
    s("rs_init_notifies"),
    s("no_checker_emails"),
    s("vrrp_rx_bufs_policy"),
    s("vrrp_rx_bufs_multiplier"),
    s("vrrp_startup_delay"),
    s("log_unknown_vrids"),
    s("vmac_prefix"),
    s("vmac_addr_prefix"),
    s("umask"),
    s("random_seed"),
    s("reload_check_config"),
    s("reload_time_file"),
    s("reload_repeat"),
    s("reload_file"),
    s("include_check"),
    s("config_save_dir"),
    s("tmp_config_directory"),
    s("data_use_instance"),
];

static TRACK_GROUP: &[Kw] = &[v("group")];

static SYNC_GROUP: &[Kw] = &[
    v("group"),
    v("track_interface"),
    v("track_script"),
    v("track_file"),
    v("track_process"),
    v("track_bfd"),
    s("notify_backup"),
    s("notify_master"),
    s("notify_fault"),
    s("notify_stop"),
    s("notify"),
    s("smtp_alert"),
    dep(
        "global_tracking",
        "track_interface/script/file on the sync group",
    ),
    s("sync_group_tracking_weight"),
    s("notify_priority_changes"),
];

static GARP_GROUP: &[Kw] = &[
    s("garp_interval"),
    s("gna_interval"),
    s("interface"),
    v("interfaces"),
];

static AUTHENTICATION: &[Kw] = &[s("auth_type"), s("auth_pass")];

/// Keywords inside `vrrp_instance`.
pub static VRRP_INSTANCE: &[Kw] = &[
    s("use_vmac"),
    s("use_vmac_addr"),
    s("vmac_xmit_base"),
    s("use_ipvlan"),
    v("unicast_peer"),
    s("unicast_fault_no_peer"),
    s("check_unicast_src"),
    s("old_unicast_checksum"),
    s("native_ipv6"),
    s("state"),
    s("interface"),
    s("vrf"),
    s("dont_track_primary"),
    v("track_interface"),
    v("track_script"),
    v("track_file"),
    v("track_process"),
    v("track_bfd"),
    s("mcast_src_ip"),
    s("unicast_src_ip"),
    s("mcast_dst_ip"),
    s("track_src_ip"),
    s("virtual_router_id"),
    s("unicast_ttl"),
    s("version"),
    s("priority"),
    s("advert_int"),
    v("virtual_ipaddress"),
    v("virtual_ipaddress_excluded"),
    s("promote_secondaries"),
    dep("linkbeat_use_polling", "a linkbeat_interfaces block"),
    v("virtual_routes"),
    v("virtual_rules"),
    s("accept"),
    s("no_accept"),
    s("skip_check_adv_addr"),
    s("strict_mode"),
    s("preempt"),
    s("nopreempt"),
    s("preempt_delay"),
    s("debug"),
    s("notify_backup"),
    s("notify_master"),
    s("notify_fault"),
    s("notify_stop"),
    s("notify_deleted"),
    s("notify"),
    s("notify_master_rx_lower_pri"),
    s("smtp_alert"),
    s("notify_priority_changes"),
    dep(
        "lvs_sync_daemon_interface",
        "lvs_sync_daemon in global_defs",
    ),
    s("garp_master_delay"),
    s("garp_master_refresh"),
    s("garp_master_repeat"),
    s("garp_master_refresh_repeat"),
    s("garp_lower_prio_delay"),
    s("garp_lower_prio_repeat"),
    s("down_timer_adverts"),
    s("garp_extra_if"),
    dep("vmac_garp_intvl", "garp_extra_if"),
    s("lower_prio_no_advert"),
    s("higher_prio_send_advert"),
    s("kernel_rx_buf_size"),
    b("authentication", AUTHENTICATION),
];

static VRRP_SCRIPT: &[Kw] = &[
    s("script"),
    s("interval"),
    s("timeout"),
    s("weight"),
    s("rise"),
    s("fall"),
    s("user"),
    s("init_fail"),
];

static TRACK_PROCESS: &[Kw] = &[
    s("process"),
    s("param_match"),
    s("weight"),
    s("quorum"),
    s("quorum_max"),
    s("delay"),
    s("terminate_delay"),
    s("fork_delay"),
    s("full_command"),
];

static TRACK_FILE: &[Kw] = &[s("file"), s("weight"), s("init_file")];

static SSL: &[Kw] = &[s("password"), s("ca"), s("certificate"), s("key")];

static URL: &[Kw] = &[
    s("path"),
    s("digest"),
    s("status_code"),
    s("virtualhost"),
    s("regex"),
    s("regex_no_match"),
    s("regex_options"),
    s("regex_min_offset"),
    s("regex_max_offset"),
    s("regex_stack"),
];

macro_rules! checker_common {
    ($($extra:expr),* $(,)?) => {
        &[
            s("connect_ip"), s("connect_port"), s("bindto"), s("bind_port"), s("bind_if"),
            s("connect_timeout"), s("fwmark"), s("retry"), s("delay_before_retry"), s("warmup"),
            s("delay_loop"), s("alpha"), s("log_all_failures"), $($extra),*
        ]
    };
}

static HTTP_GET: &[Kw] = checker_common!(
    dep("nb_get_retry", "retry"),
    s("virtualhost"),
    s("http_protocol"),
    s("enable_sni"),
    s("fast_recovery"),
    b("url", URL),
);
static TCP_CHECK: &[Kw] = checker_common!();
static PING_CHECK: &[Kw] = checker_common!();
static SMTP_HOST: &[Kw] = checker_common!();
static SMTP_CHECK: &[Kw] = checker_common!(s("helo_name"), b("host", SMTP_HOST));
static DNS_CHECK: &[Kw] = checker_common!(s("type"), s("name"));
static UDP_CHECK: &[Kw] = checker_common!(
    s("payload"),
    s("require_reply"),
    s("min_reply_length"),
    s("max_reply_length"),
);
static MISC_CHECK: &[Kw] = &[
    s("retry"),
    s("delay_before_retry"),
    s("warmup"),
    s("delay_loop"),
    s("alpha"),
    s("log_all_failures"),
    s("misc_path"),
    s("misc_timeout"),
    s("misc_dynamic"),
    s("user"),
];
static FILE_CHECK: &[Kw] = &[s("track_file"), s("weight")];
static BFD_CHECK: &[Kw] = &[s("name"), s("alpha")];

/// Checker block names and their keywords.
pub static CHECKERS: &[Kw] = &[
    b("HTTP_GET", HTTP_GET),
    b("SSL_GET", HTTP_GET),
    b("TCP_CHECK", TCP_CHECK),
    b("MISC_CHECK", MISC_CHECK),
    b("SMTP_CHECK", SMTP_CHECK),
    b("DNS_CHECK", DNS_CHECK),
    b("UDP_CHECK", UDP_CHECK),
    b("PING_CHECK", PING_CHECK),
    b("FILE_CHECK", FILE_CHECK),
    b("BFD_CHECK", BFD_CHECK),
];

static REAL_SERVER: &[Kw] = &[
    s("weight"),
    s("lvs_method"),
    s("uthreshold"),
    s("lthreshold"),
    s("inhibit_on_failure"),
    s("notify_up"),
    s("notify_down"),
    s("alpha"),
    s("retry"),
    s("delay_before_retry"),
    s("warmup"),
    s("connect_timeout"),
    s("delay_loop"),
    s("smtp_alert"),
    s("virtualhost"),
    s("snmp_name"),
    b("HTTP_GET", HTTP_GET),
    b("SSL_GET", HTTP_GET),
    b("TCP_CHECK", TCP_CHECK),
    b("MISC_CHECK", MISC_CHECK),
    b("SMTP_CHECK", SMTP_CHECK),
    b("DNS_CHECK", DNS_CHECK),
    b("UDP_CHECK", UDP_CHECK),
    b("PING_CHECK", PING_CHECK),
    b("FILE_CHECK", FILE_CHECK),
    b("BFD_CHECK", BFD_CHECK),
];

/// Keywords inside `virtual_server`.
pub static VIRTUAL_SERVER: &[Kw] = &[
    s("ip_family"),
    s("retry"),
    s("delay_before_retry"),
    s("warmup"),
    s("connect_timeout"),
    s("delay_loop"),
    s("inhibit_on_failure"),
    s("lb_algo"),
    s("lvs_sched"),
    s("hashed"),
    s("ops"),
    s("flag-1"),
    s("flag-2"),
    s("flag-3"),
    s("sh-port"),
    s("sh-fallback"),
    s("mh-port"),
    s("mh-fallback"),
    s("lb_kind"),
    s("lvs_method"),
    s("persistence_engine"),
    s("persistence_timeout"),
    s("persistence_granularity"),
    s("protocol"),
    s("ha_suspend"),
    s("smtp_alert"),
    s("virtualhost"),
    s("snmp_name"),
    s("alpha"),
    s("omega"),
    s("quorum_up"),
    s("quorum_down"),
    s("quorum"),
    s("hysteresis"),
    s("weight"),
    s("sorry_server"),
    s("sorry_server_inhibit"),
    s("sorry_server_lvs_method"),
    b("real_server", REAL_SERVER),
];

static BFD_INSTANCE: &[Kw] = &[
    s("source_ip"),
    s("neighbor_ip"),
    alias("neighbour_ip", "neighbor_ip"),
    s("min_rx"),
    s("min_tx"),
    s("idle_tx"),
    s("multiplier"),
    s("passive"),
    s("ttl"),
    alias("hoplimit", "ttl"),
    s("max_hops"),
    s("weight"),
    s("vrrp"),
    s("checker"),
];

/// Top-level keywords.
pub static ROOT: &[Kw] = &[
    s("linkbeat_use_polling"),
    s("net_namespace"),
    s("net_namespace_ipvs"),
    s("namespace_with_ipsets"),
    s("use_pid_dir"),
    s("instance"),
    s("child_wait_time"),
    b("global_defs", GLOBAL_DEFS),
    b("track_group", TRACK_GROUP),
    v("static_ipaddress"),
    v("static_routes"),
    v("static_rules"),
    b("vrrp_sync_group", SYNC_GROUP),
    b("garp_group", GARP_GROUP),
    v("linkbeat_interfaces"),
    b("vrrp_instance", VRRP_INSTANCE),
    b("vrrp_script", VRRP_SCRIPT),
    b("vrrp_track_process", TRACK_PROCESS),
    v("interface_up_down_delays"),
    b("SSL", SSL),
    v("virtual_server_group"),
    b("virtual_server", VIRTUAL_SERVER),
    b("bfd_instance", BFD_INSTANCE),
    b("track_file", TRACK_FILE),
    Kw {
        name: "vrrp_track_file",
        kind: Kind::Block(TRACK_FILE),
        status: Status::Alias("track_file"),
    },
];

/// Look a keyword up in a table.
pub fn find(table: &'static [Kw], name: &str) -> Option<&'static Kw> {
    table.iter().find(|k| k.name == name)
}

/// All distinct keyword names (for suggestions and the "every keyword" test).
pub fn all_names() -> Vec<&'static str> {
    fn walk(t: &'static [Kw], out: &mut Vec<&'static str>, depth: usize) {
        for k in t {
            out.push(k.name);
            if let Kind::Block(sub) = k.kind {
                if depth < 8 {
                    walk(sub, out, depth + 1);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(ROOT, &mut out, 0);
    out.sort_unstable();
    out.dedup();
    out
}

/// Levenshtein distance (small strings).
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// A "did you mean" suggestion for an unknown word at a level: a keyword glued to its
/// value (`auth_typePASS` → `auth_type PASS`), a misspelling, or a keyword that belongs
/// to another block.
pub fn suggest(table: &'static [Kw], word: &str) -> Option<String> {
    if word.len() > 200 {
        return None;
    }
    // glued keyword and value
    let mut best_glued: Option<&Kw> = None;
    for k in table {
        if word.len() > k.name.len()
            && word.starts_with(k.name)
            && best_glued.is_none_or(|b| k.name.len() > b.name.len())
        {
            best_glued = Some(k);
        }
    }
    if let Some(k) = best_glued {
        return Some(format!(
            "did you mean `{} {}`?",
            k.name,
            &word[k.name.len()..]
        ));
    }
    let lw = word.to_ascii_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for k in table {
        let d = distance(&lw, &k.name.to_ascii_lowercase());
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, k.name));
        }
    }
    if let Some((d, name)) = best {
        let limit = (word.chars().count() / 4).clamp(1, 3);
        if d <= limit {
            return Some(format!("did you mean `{name}`?"));
        }
    }
    None
}
