//! LVS and health-check keywords: `virtual_server`, `real_server`, the checkers, `url`, and
//! `bfd_instance`: their shapes and run-time status.
//!
//! Checker tests built from Rust structs (crates/healthcheck/tests/lab.rs) count for a keyword
//! because lvs-director's `model.rs` copies the keyword's typed value into that same field
//! (`ConnOpts`, `CheckParams`, the kind's own struct); the `virtual_server`/`real_server`
//! defaults (`retry`, `connect_timeout`, `virtualhost`, ...) reach the same fields through
//! conf-parse's inheritance.

#[allow(unused_imports)]
use super::{alias, b, dep, s, v, Kw, Release};

/// The lab test that shows alpha, warmup and log_all_failures from a configuration.
const LAB_KW: &[&str] = &["lab_checker_alpha_warmup_log_all_failures"];
/// The VM test that shows SSL_GET's tls_compliant (close_notify or a quiet close), as 2.4.3.
const TLS_COMPLIANT: &[&str] = &["vm_ssl_get_tls_compliant_as_reference"];
/// The lab test that shows FILE_CHECK, hysteresis, helo_name, enable_sni and checker mail.
const LAB_MAIL: &[&str] = &["lab_file_check_hysteresis_sni_helo_and_checker_mail"];
/// The lab tests that show warmup: a non-zero value bounds the first check, 0 checks at once.
const WARMUP: &[&str] = &[
    "lab_checker_alpha_warmup_log_all_failures",
    "lab_vs_weight_warmup_zero_and_delay_before_retry_defaults",
];
/// The tests that show url `regex` and its settings (healthcheck::body_regex documents the
/// differences from PCRE2).
const REGEX_TESTS: &[&str] = &["lab_url_regex_from_config", "lab_http_regex"];
const CONN_TESTS: &[&str] = &["lab_tcp_check"];
const RETRY_TESTS: &[&str] = &[
    "lab_scheduler_detects_failure_and_recovery",
    "lab_vs_weight_warmup_zero_and_delay_before_retry_defaults",
    "vm_nat_failover",
    "vm_dr_failover_and_reference_table",
];
const DELAY_LOOP_TESTS: &[&str] = &["lab_scheduler_detects_failure_and_recovery"];
const TIMEOUT_TESTS: &[&str] = &["lab_tcp_check", "lab_http_bad_servers"];
const VHOST_TESTS: &[&str] = &["lab_http_check"];

/// The `url` block's keywords; SSL_GET's has `tls_compliant` too (keepalived 2.4).
macro_rules! url_keywords {
    ($($extra:expr),* $(,)?) => {
        &[
        s("path").imp(&["lab_http_check", "vm_dr_failover_and_reference_table"]),
        s("digest").imp(&["lab_http_check"]),
        s("status_code").imp(&["lab_http_check", "vm_dr_failover_and_reference_table"]),
        s("virtualhost").imp(&["lab_http_check"]),
        s("regex").imp(REGEX_TESTS),
        s("regex_no_match").imp(REGEX_TESTS),
        s("regex_options").imp(REGEX_TESTS),
        s("regex_min_offset").imp(REGEX_TESTS),
        s("regex_max_offset").imp(REGEX_TESTS),
        s("regex_stack")
            .noop("sizes PCRE2's JIT stack; the regex crate (linear time, no backtracking) needs none"),
            $($extra),*
        ]
    };
}

static URL: &[Kw] = url_keywords!();
static SSL_URL: &[Kw] = url_keywords!(s("tls_compliant")
    .imp(TLS_COMPLIANT)
    .since(Release(2, 4, 0)));

/// The keywords every network checker has (keepalived's `install_checker_common_keywords(true)`),
/// then the checker's own. `$connect_port` differs for PING_CHECK (ICMP has no port).
macro_rules! checker_common {
    ($connect_port:expr; $($extra:expr),* $(,)?) => {
        &[
            s("connect_ip").imp(CONN_TESTS),
            $connect_port,
            s("bindto").imp(CONN_TESTS),
            s("bind_port").imp(CONN_TESTS),
            s("bind_if").imp(CONN_TESTS),
            s("connect_timeout").imp(TIMEOUT_TESTS),
            s("fwmark").imp(CONN_TESTS),
            s("retry").imp(RETRY_TESTS),
            s("delay_before_retry").imp(RETRY_TESTS),
            s("warmup").imp(WARMUP),
            s("delay_loop").imp(DELAY_LOOP_TESTS),
            s("alpha").imp(LAB_KW),
            s("log_all_failures").imp(LAB_KW),
            $($extra),*
        ]
    };
}

const CONNECT_PORT: Kw = s("connect_port").imp(CONN_TESTS);

/// HTTP_GET's and SSL_GET's keywords: SSL_GET's `url` block and its own `tls_compliant`.
macro_rules! http_get_keywords {
    ($url:expr; $($extra:expr),* $(,)?) => {
        checker_common!(
    CONNECT_PORT;
    dep("nb_get_retry", "retry").imp(RETRY_TESTS),
    s("virtualhost").imp(VHOST_TESTS),
    s("http_protocol").imp(&["lab_http_check"]),
    s("enable_sni").imp(LAB_MAIL),
    s("fast_recovery").imp(&["vm_http_url_walk_and_fast_recovery_same_as_reference"]),
    b("url", $url).imp(&["lab_http_check", "lab_ssl_check", "vm_dr_failover_and_reference_table"]),
            $($extra),*
        )
    };
}

static HTTP_GET: &[Kw] = http_get_keywords!(URL;);
static SSL_GET: &[Kw] = http_get_keywords!(
    SSL_URL;
    s("tls_compliant").imp(TLS_COMPLIANT).since(Release(2, 4, 0)),
);
static TCP_CHECK: &[Kw] = checker_common!(CONNECT_PORT;);
static PING_CHECK: &[Kw] = checker_common!(
    s("connect_port").noop("ICMP has no port: keepalived ignores it for PING_CHECK too");
);
static SMTP_HOST: &[Kw] = checker_common!(CONNECT_PORT;);
static SMTP_CHECK: &[Kw] = checker_common!(
    CONNECT_PORT;
    s("helo_name").imp(LAB_MAIL),
    b("host", SMTP_HOST).imp(&["lab_smtp_check_host_blocks"]),
);
static DNS_CHECK: &[Kw] = checker_common!(
    CONNECT_PORT;
    s("type").imp(&["lab_dns_check"]),
    s("name").imp(&["lab_dns_check"]),
);
static UDP_CHECK: &[Kw] = checker_common!(
    CONNECT_PORT;
    s("payload").imp(&["lab_udp_check"]),
    s("require_reply").imp(&["lab_udp_check"]),
    s("min_reply_length").imp(&["lab_udp_check"]),
    s("max_reply_length").imp(&["lab_udp_check"]),
);
static MISC_CHECK: &[Kw] = &[
    s("retry").imp(&["lab_scheduler_detects_failure_and_recovery"]),
    s("delay_before_retry").imp(&["lab_scheduler_detects_failure_and_recovery"]),
    s("warmup").imp(WARMUP),
    s("delay_loop").imp(DELAY_LOOP_TESTS),
    s("alpha").imp(LAB_KW),
    s("log_all_failures").imp(LAB_KW),
    s("misc_path").imp(&["lab_misc_runs_as_user"]),
    s("misc_timeout").imp(&["lab_misc_runs_as_user"]),
    s("misc_dynamic").imp(&["lab_misc_runs_as_user"]),
    s("user").imp(&["lab_misc_runs_as_user"]),
];
static FILE_CHECK: &[Kw] = &[s("track_file").imp(LAB_MAIL), s("weight").imp(LAB_MAIL)];
const BFD_CHECK_VM: &[&str] = &["vm_bfd_check_follows_a_real_session_like_reference"];
static BFD_CHECK: &[Kw] = &[s("name").imp(BFD_CHECK_VM), s("alpha").imp(BFD_CHECK_VM)];

/// Checker block names and their keywords.
pub static CHECKERS: &[Kw] = &[
    b("HTTP_GET", HTTP_GET).imp(&["lab_http_check", "vm_dr_failover_and_reference_table"]),
    b("SSL_GET", SSL_GET).imp(&["lab_ssl_check"]),
    b("TCP_CHECK", TCP_CHECK).imp(&["lab_tcp_check", "vm_nat_failover"]),
    b("MISC_CHECK", MISC_CHECK).imp(&["lab_misc_runs_as_user"]),
    b("SMTP_CHECK", SMTP_CHECK).imp(&["lab_smtp_check"]),
    b("DNS_CHECK", DNS_CHECK).imp(&["lab_dns_check"]),
    b("UDP_CHECK", UDP_CHECK).imp(&["lab_udp_check"]),
    b("PING_CHECK", PING_CHECK).imp(&["lab_ping_check"]),
    b("FILE_CHECK", FILE_CHECK).imp(LAB_MAIL),
    b("BFD_CHECK", BFD_CHECK).imp(BFD_CHECK_VM),
];

static REAL_SERVER: &[Kw] = &[
    s("weight").imp(&[
        "vm_wired_checker_programs_ipvs",
        "vm_wired_vrrp_and_lvs_together_with_reload",
    ]),
    s("lvs_method").imp(VM_KW),
    s("uthreshold").imp(VM_KW),
    s("lthreshold").imp(VM_KW),
    s("inhibit_on_failure").imp(&["vm_inhibit_sorry_quorum"]),
    s("notify_up").imp(&["lab_checker_script_user"]),
    s("notify_down").imp(&["lab_checker_script_user"]),
    s("alpha").imp(LAB_KW),
    s("retry").imp(&["lab_scheduler_detects_failure_and_recovery"]),
    s("delay_before_retry").imp(&["lab_scheduler_detects_failure_and_recovery"]),
    s("warmup").imp(WARMUP),
    s("connect_timeout").imp(TIMEOUT_TESTS),
    s("delay_loop").imp(DELAY_LOOP_TESTS),
    s("smtp_alert").imp(LAB_MAIL),
    s("virtualhost").imp(VHOST_TESTS),
    s("snmp_name").imp(&["vm_snmp_checker_mib_and_traps_as_reference"]),
    CHECKERS[0],
    CHECKERS[1],
    CHECKERS[2],
    CHECKERS[3],
    CHECKERS[4],
    CHECKERS[5],
    CHECKERS[6],
    CHECKERS[7],
    CHECKERS[8],
    CHECKERS[9],
];

/// The vm test that shows the service flags, persistence, methods and sorry server settings in
/// the kernel's table, equal to keepalived's.
const VM_KW: &[&str] = &["vm_keywords_flags_persistence_groups_sorry_same_as_reference"];
/// Keywords inside `virtual_server`.
pub static VIRTUAL_SERVER: &[Kw] = &[
    s("ip_family").imp(VM_KW),
    s("retry").imp(&["lab_scheduler_detects_failure_and_recovery"]),
    s("delay_before_retry").imp(&["lab_scheduler_detects_failure_and_recovery"]),
    s("warmup").imp(WARMUP),
    s("connect_timeout").imp(TIMEOUT_TESTS),
    s("delay_loop").imp(&["vm_dr_failover_and_reference_table", "vm_nat_failover"]),
    s("inhibit_on_failure").imp(&["vm_inhibit_sorry_quorum"]),
    s("lb_algo").imp(&[
        "vm_dr_failover_and_reference_table",
        "vm_reload_sighup_diff_apply",
    ]),
    s("lvs_sched").imp(&[
        "vm_dr_failover_and_reference_table",
        "vm_reload_sighup_diff_apply",
    ]),
    s("hashed").noop("keepalived sets no flag for it either: IPVS hashes every service itself"),
    // On TCP/SCTP it is reset with keepalived's error (lvs_values_are_typed_with_keepalived_rules).
    s("ops").imp(&["vm_keywords_flags_persistence_groups_sorry_same_as_reference"]),
    s("flag-1").imp(VM_KW),
    s("flag-2").imp(VM_KW),
    s("flag-3").imp(VM_KW),
    s("sh-port").imp(VM_KW),
    s("sh-fallback").imp(VM_KW),
    s("mh-port").imp(VM_KW),
    s("mh-fallback").imp(VM_KW),
    s("lb_kind").imp(&[
        "vm_dr_failover_and_reference_table",
        "vm_tun_failover",
        "vm_nat_failover",
    ]),
    s("lvs_method").imp(&[
        "vm_dr_failover_and_reference_table",
        "vm_tun_failover",
        "vm_nat_failover",
    ]),
    s("persistence_engine").imp(VM_KW),
    s("persistence_timeout").imp(VM_KW),
    s("persistence_granularity").imp(VM_KW),
    s("protocol").imp(&["vm_dr_failover_and_reference_table"]),
    s("ha_suspend").imp(VM_KW),
    s("smtp_alert").imp(&["lab_checker_smtp_alert"]),
    s("virtualhost").imp(VHOST_TESTS),
    s("snmp_name").imp(&["vm_snmp_checker_mib_and_traps_as_reference"]),
    s("alpha").imp(LAB_KW),
    s("omega").imp(&["vm_notify_fifo_lines_omega_rs_init_flush_vs_same_as_reference"]),
    s("quorum_up").imp(&["lab_checker_script_user", "vm_inhibit_sorry_quorum"]),
    s("quorum_down").imp(&["lab_checker_script_user", "vm_inhibit_sorry_quorum"]),
    s("quorum").imp(&["lab_checker_smtp_alert"]),
    s("hysteresis").imp(LAB_MAIL),
    s("weight").imp(&["lab_vs_weight_warmup_zero_and_delay_before_retry_defaults"]),
    s("sorry_server").imp(&["vm_inhibit_sorry_quorum"]),
    s("sorry_server_inhibit").imp(VM_KW),
    s("sorry_server_lvs_method").imp(VM_KW),
    b("real_server", REAL_SERVER).imp(&["vm_dr_failover_and_reference_table"]),
];

const BFD_LAB: &[&str] = &[
    "lab_bfd_worker_with_frr_and_track_bfd_like_reference",
    "lab_bfd_worker_with_reference_keepalived_both_directions",
    "lab_bfd_ipv6_with_frr_and_reference",
];
const BFD_TTL: &[&str] = &[
    "lab_bfd_ttl_and_max_hops_across_a_router_like_reference",
    "lab_bfd_ipv6_with_frr_and_reference",
];
const BFD_IDLE: &[&str] = &["lab_bfd_idle_tx_and_passive_like_reference"];
const BFD_EVENTS: &[&str] = &["lab_bfd_weight_and_event_destinations_like_reference"];
pub(super) static BFD_INSTANCE: &[Kw] = &[
    s("source_ip").imp(BFD_LAB),
    s("neighbor_ip").imp(BFD_LAB),
    alias("neighbour_ip", "neighbor_ip"),
    s("min_rx").imp(BFD_LAB),
    s("min_tx").imp(BFD_LAB),
    s("idle_tx").imp(BFD_IDLE),
    s("multiplier").imp(BFD_LAB),
    s("passive").imp(BFD_IDLE),
    s("ttl").imp(BFD_TTL),
    alias("hoplimit", "ttl"),
    s("max_hops").imp(&[
        "lab_bfd_ttl_and_max_hops_across_a_router_like_reference",
        "lab_bfd_multihop_with_frr_across_a_router",
    ]),
    s("multihop").imp(&["lab_bfd_multihop_with_frr_across_a_router"]),
    s("weight").imp(BFD_EVENTS),
    s("vrrp").imp(BFD_EVENTS),
    s("checker").imp(BFD_EVENTS),
];
