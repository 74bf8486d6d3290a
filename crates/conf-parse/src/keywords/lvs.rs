//! LVS and health-check keywords: `virtual_server`, `real_server`, the checkers, `url`, and
//! `bfd_instance`: their shapes and run-time status.

#[allow(unused_imports)]
use super::{alias, b, dep, s, v, Kw};

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

pub(super) static BFD_INSTANCE: &[Kw] = &[
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
