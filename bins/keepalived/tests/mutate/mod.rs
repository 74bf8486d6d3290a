//! Deterministic mutations of keepalived configurations, for the differential `-t` test against
//! the reference keepalived (`conf_mutations.rs`).
//!
//! Bases are the seed configurations (`tests/fixtures/seed-configs/`, a copy of
//! `shared/seed-configs/`), `examples/` and `examples/demo/`, and the [`FIXTURE_BASES`] below
//! (the feature mix of `crates/conf-parse/tests` as whole files: scripts, sync groups, track files,
//! every checker, virtual server groups). Every base is cut into lines; each line knows the stack of
//! blocks it sits in. The generator then produces, for every base:
//!
//! * **per-line mutations** of the statements the base already has: the keyword misspelled, the
//!   value dropped (missing required value), each value replaced by one out of range, of the
//!   wrong kind (`abc` for a number, `10.0.0.300` for an address) or an unknown name (scheduler,
//!   forwarding method, state, script, interface), the line deleted or repeated, a block's `{` or
//!   `}` deleted or an extra `}` added, a block moved to the top level or into `global_defs`;
//! * **probes**: statements inserted at the start of a block of a given kind ([`PROBES`]): every
//!   keyword of that block whose value keepalived checks, with values out of range, of the wrong
//!   kind, unknown names and the value missing, plus keywords and blocks that belong elsewhere
//!   (blocks in the wrong place) and settings that conflict with each other; top-level probes add
//!   incomplete or malformed top-level blocks.
//!
//! The probe table follows keepalived's parsers and checkers (`core/global_parser.c`,
//! `vrrp/vrrp_parser.c`, `vrrp/vrrp.c` (instance validation), `vrrp/vrrp_ipaddress.c`,
//! `vrrp/vrrp_iproute.c`, `vrrp/vrrp_iprule.c`, `vrrp/vrrp_track.c`, `check/check_parser.c`,
//! `check/check_data.c`, `check/check_*.c`, `trackers/track_file.c`): each group of
//! `report_config_error` sites has at least one probe that reaches it.
//!
//! Everything is deterministic: when there are more candidates than `limit`, a fixed-seed
//! splitmix64 shuffle picks which to keep, so every run tests the same files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// One mutated configuration.
#[derive(Debug, Clone)]
pub struct Mutation {
    /// `base:line:class:detail`, unique.
    pub name: String,
    /// The mutation class (for the summary).
    pub class: &'static str,
    /// The mutated configuration text.
    pub text: String,
}

/// A base configuration: (short name, text).
pub type Base = (String, String);

/// Whole-file bases covering the features the seeds lack (as in `crates/conf-parse/tests`).
pub const FIXTURE_BASES: &[(&str, &str)] = &[
    (
        "fixture-vrrp-features",
        "global_defs {
    router_id fx1
    script_user root
    enable_script_security
    vrrp_garp_master_delay 5
    vrrp_version 2
}

vrrp_script chk_a {
    script \"/bin/true\"
    interval 2
    timeout 3
    weight -20
    rise 2
    fall 2
}

vrrp_track_file tf1 {
    file /tmp/krs-track-file
    weight 5
}

vrrp_sync_group SG {
    group {
        VA
        VB
    }
}

vrrp_instance VA {
    state BACKUP
    interface eth0
    virtual_router_id 61
    priority 120
    advert_int 1
    track_interface {
        eth1
    }
    track_script {
        chk_a
    }
    track_file {
        tf1
    }
    virtual_ipaddress {
        192.0.2.61/24 dev eth0 label eth0:1
        2001:db8::61/64 dev eth0
    }
    virtual_routes {
        198.51.100.0/24 via 192.0.2.1 dev eth0
    }
}

vrrp_instance VB {
    state BACKUP
    interface eth1
    virtual_router_id 62
    priority 110
    advert_int 1
    unicast_src_ip 192.0.2.2
    unicast_peer {
        192.0.2.3
    }
    virtual_ipaddress {
        192.0.2.62/24
    }
}
",
    ),
    (
        "fixture-lvs-checkers",
        "global_defs {
    router_id fx2
}

virtual_server_group VSG {
    192.0.2.70 80
    192.0.2.71-75 80
}

virtual_server group VSG {
    delay_loop 5
    lb_algo wrr
    lb_kind DR
    protocol TCP
    real_server 198.51.100.20 80 {
        weight 2
        HTTP_GET {
            url {
                path /health
                status_code 200
            }
            connect_timeout 3
            retry 2
            delay_before_retry 1
        }
    }
}

virtual_server 192.0.2.80 53 {
    delay_loop 10
    lb_algo rr
    lb_kind NAT
    protocol UDP
    real_server 198.51.100.21 53 {
        weight 1
        DNS_CHECK {
            type A
            name example.com
            connect_timeout 2
        }
    }
    real_server 198.51.100.22 53 {
        weight 1
        MISC_CHECK {
            misc_path \"/bin/true\"
            misc_timeout 5
        }
    }
}

virtual_server 192.0.2.81 25 {
    delay_loop 10
    lb_algo lc
    lb_kind TUN
    protocol TCP
    real_server 198.51.100.23 25 {
        weight 1
        SMTP_CHECK {
            helo_name mx.example.com
            connect_timeout 5
        }
    }
    real_server 198.51.100.24 443 {
        weight 1
        SSL_GET {
            url {
                path /
                status_code 200
            }
            connect_timeout 3
        }
    }
}

virtual_server fwmark 7 {
    delay_loop 6
    lb_algo sh
    lb_kind DR
    real_server 198.51.100.25 0 {
        weight 1
        TCP_CHECK {
            connect_port 80
            connect_timeout 3
        }
    }
}
",
    ),
];

/// Probes inserted at the start of every block of kind `.0` (`""` = top level): statement lines
/// (several lines separated by `\n` for a block). Classes: `probe-range` (out of range),
/// `probe-kind` (wrong kind), `probe-name` (unknown name), `probe-missing` (value missing),
/// `probe-place` (keyword/block in the wrong place), `probe-conflict` (conflicting settings),
/// `probe-block` (malformed top-level block), `probe-unknown` (unknown keyword).
pub const PROBES: &[(&str, &str, &[&str])] = &[
    (
        "global_defs",
        "probe-kind",
        &[
            "vrrp_version abc",
            "vrrp_garp_master_delay abc",
            "vrrp_garp_master_repeat abc",
            "vrrp_garp_master_refresh abc",
            "vrrp_garp_lower_prio_repeat abc",
            "vrrp_garp_interval abc",
            "vrrp_gna_interval abc",
            "vrrp_priority abc",
            "checker_priority abc",
            "vrrp_rt_priority abc",
            "smtp_connect_timeout abc",
            "max_auto_priority abc",
            "vrrp_startup_delay abc",
            "vrrp_down_timer_adverts abc",
            "child_wait_time abc",
            "umask abc",
            "random_seed abc",
            "vrrp_rx_bufs_multiplier abc",
            "vrrp_netlink_cmd_rcv_bufs abc",
            "vrrp_cpu_affinity abc",
            "vrrp_rlimit_rttime abc",
            "lvs_netlink_cmd_rcv_bufs abc",
            "vrrp_mcast_group4 bogus",
            "vrrp_mcast_group6 bogus",
            "smtp_server bogus",
            "smtp_server 192.0.2.25 abc",
            "lvs_timeouts tcp abc",
            "vrrp_min_garp bogus",
            "vrrp_garp_lower_prio_delay abc",
            "vrrp_garp_master_refresh_repeat abc",
        ],
    ),
    (
        "global_defs",
        "probe-range",
        &[
            "vrrp_version 4",
            "vrrp_version 1",
            "vrrp_garp_master_delay -1",
            "vrrp_garp_master_repeat 0",
            "vrrp_garp_interval 100000",
            "vrrp_gna_interval -5",
            "vrrp_priority -30",
            "vrrp_priority 200",
            "checker_priority -30",
            "vrrp_rt_priority 0",
            "vrrp_rt_priority 100",
            "smtp_connect_timeout 0",
            "smtp_connect_timeout -5",
            "max_auto_priority 200",
            "max_auto_priority -5",
            "vrrp_startup_delay -1",
            "vrrp_startup_delay 100000",
            "vrrp_down_timer_adverts 0",
            "vrrp_down_timer_adverts 200",
            "child_wait_time -1",
            "umask 0999",
            "vrrp_rx_bufs_multiplier 0",
            "vrrp_cpu_affinity 9999",
            "vrrp_mcast_group4 192.0.2.1",
            "vrrp_mcast_group6 fe80::1",
            "vrrp_mcast_group4 ff02::12",
            "smtp_server 192.0.2.25 70000",
            "lvs_timeouts tcp 99999999999",
            "vrrp_garp_master_refresh -1",
        ],
    ),
    (
        "global_defs",
        "probe-name",
        &[
            "lvs_timeouts bogus 5",
            "lvs_sync_daemon nosuch0",
            "lvs_sync_daemon eth0 BOGUS",
            "lvs_sync_daemon eth0 VI_1 id abc",
            "script_user nosuchuser",
            "default_interface nosuch0",
            "vrrp_rx_bufs_policy bogus",
            "vrrp_lower_prio_no_advert bogus",
            "vrrp_higher_prio_send_advert bogus",
            "checker_log_all_failures bogus",
            "dynamic_interfaces bogus",
            "snmp_socket bogus",
            "vrrp_check_unicast_src bogus",
            "vrrp_skip_check_adv_addr bogus",
        ],
    ),
    (
        "global_defs",
        "probe-missing",
        &[
            "router_id",
            "vrrp_version",
            "vrrp_garp_master_delay",
            "vrrp_mcast_group4",
            "smtp_server",
            "smtp_connect_timeout",
            "notification_email_from",
            "lvs_timeouts",
            "lvs_sync_daemon",
            "script_user",
            "vrrp_priority",
            "max_auto_priority",
            "instance",
            "net_namespace",
            "reload_time_file",
            "notify_fifo",
            "vrrp_notify_fifo",
            "default_interface",
            "umask",
            "vrrp_garp_interval",
        ],
    ),
    (
        "global_defs",
        "probe-place",
        &[
            "priority 100",
            "state MASTER",
            "lb_algo rr",
            "vrrp_instance NESTED {\n    interface eth0\n    virtual_router_id 9\n}",
            "virtual_server 192.0.2.99 80 {\n    lb_algo rr\n}",
            "virtual_ipaddress {\n    192.0.2.99\n}",
            "global_defs {\n    router_id nested\n}",
        ],
    ),
    (
        "global_defs",
        "probe-conflict",
        &[
            "vrrp_strict",
            "vrrp_strict\n    vrrp_version 3",
            "router_id a\n    router_id b",
            "vrrp_version 3\n    vrrp_version 2",
            "enable_script_security\n    script_user nosuchuser",
        ],
    ),
    ("global_defs", "probe-unknown", &["bogus_keyword 1", "routerid x"]),
    (
        "vrrp_instance",
        "probe-range",
        &[
            "virtual_router_id 0",
            "virtual_router_id 256",
            "virtual_router_id -1",
            "priority 0",
            "priority 255",
            "priority 256",
            "priority -5",
            "advert_int 0",
            "advert_int -1",
            "advert_int 256",
            "advert_int 0.001",
            "version 1",
            "version 4",
            "preempt_delay -1",
            "preempt_delay 2000",
            "garp_master_delay -1",
            "garp_master_repeat 0",
            "unicast_ttl 0",
            "unicast_ttl 256",
            "down_timer_adverts 0",
            "down_timer_adverts 200",
            "garp_master_refresh -1",
            "garp_lower_prio_repeat -1",
            "mcast_src_ip 192.0.2.300",
            "unicast_src_ip 300.0.0.1",
            "track_interface {\n        eth0 weight 300\n    }",
            "track_interface {\n        eth0 weight -300\n    }",
            "virtual_ipaddress {\n        192.0.2.300\n    }",
            "virtual_ipaddress {\n        192.0.2.1/33\n    }",
            "virtual_ipaddress {\n        2001:db8::1/129\n    }",
            "virtual_ipaddress_excluded {\n        192.0.2.1/40\n    }",
            "virtual_routes {\n        198.51.100.0/33 via 192.0.2.1\n    }",
            "virtual_rules {\n        from 192.0.2.0/24 table 99999999999\n    }",
            "unicast_peer {\n        192.0.2.300\n    }",
            "kernel_rx_buf_size -1",
        ],
    ),
    (
        "vrrp_instance",
        "probe-kind",
        &[
            "virtual_router_id abc",
            "priority abc",
            "advert_int abc",
            "version abc",
            "preempt_delay abc",
            "garp_master_delay abc",
            "garp_master_repeat abc",
            "garp_master_refresh abc",
            "garp_lower_prio_repeat abc",
            "garp_lower_prio_delay abc",
            "unicast_ttl abc",
            "down_timer_adverts abc",
            "mcast_src_ip bogus",
            "unicast_src_ip bogus",
            "kernel_rx_buf_size abc",
            "track_interface {\n        eth0 weight abc\n    }",
            "track_script {\n        chk_x weight abc\n    }",
            "virtual_ipaddress {\n        bogus\n    }",
            "virtual_ipaddress {\n        192.0.2.1 scope bogus\n    }",
            "virtual_ipaddress {\n        192.0.2.1 bogus_option\n    }",
            "virtual_ipaddress {\n        192.0.2.1 label\n    }",
            "virtual_ipaddress {\n        192.0.2.1 brd bogus\n    }",
            "virtual_routes {\n        bogus\n    }",
            "virtual_routes {\n        198.51.100.0/24 via bogus\n    }",
            "virtual_rules {\n        from bogus table 1\n    }",
            "virtual_rules {\n        from 192.0.2.0/24 table abc\n    }",
            "unicast_peer {\n        bogus\n    }",
            "unicast_peer {\n        192.0.2.9 min_ttl abc\n    }",
            "authentication {\n        auth_type PASS\n        auth_pass\n    }",
            "use_vmac averyveryverylongname1",
            "garp_extra_if abc",
        ],
    ),
    (
        "vrrp_instance",
        "probe-name",
        &[
            "state bogus",
            "state master",
            "state FAULT",
            "interface nosuch0",
            "track_interface {\n        nosuch0\n    }",
            "track_script {\n        nosuch_script\n    }",
            "track_file {\n        nosuch_file\n    }",
            "track_process {\n        nosuch_process\n    }",
            "track_bfd {\n        nosuch_bfd\n    }",
            "virtual_ipaddress {\n        192.0.2.1 dev nosuch0\n    }",
            "virtual_routes {\n        198.51.100.0/24 dev nosuch0\n    }",
            "authentication {\n        auth_type BOGUS\n        auth_pass 1111\n    }",
            "lvs_sync_daemon_interface nosuch0",
            "smtp_alert bogus",
            "strict_mode bogus",
            "notify_master /nonexistent/notify.sh",
            "notify /nonexistent/notify.sh",
            "use_vmac nosuch0 extra",
            "mcast_src_ip 2001:db8::1",
            "unicast_peer {\n        2001:db8::9\n    }",
        ],
    ),
    (
        "vrrp_instance",
        "probe-missing",
        &[
            "state",
            "interface",
            "virtual_router_id",
            "priority",
            "advert_int",
            "version",
            "preempt_delay",
            "mcast_src_ip",
            "unicast_src_ip",
            "notify_master",
            "notify",
            "garp_master_delay",
            "authentication {\n        auth_type\n    }",
            "authentication {\n    }",
            "virtual_ipaddress {\n    }",
            "track_script {\n    }",
            "lvs_sync_daemon_interface",
            "unicast_ttl",
        ],
    ),
    (
        "vrrp_instance",
        "probe-place",
        &[
            "lb_algo rr",
            "router_id x",
            "vrrp_strict",
            "delay_loop 5",
            "real_server 198.51.100.9 80 {\n        weight 1\n    }",
            "TCP_CHECK {\n        connect_timeout 3\n    }",
            "vrrp_instance NESTED {\n        interface eth0\n    }",
            "global_defs {\n        router_id x\n    }",
            "group {\n        VI_1\n    }",
            "script /bin/true",
        ],
    ),
    (
        "vrrp_instance",
        "probe-conflict",
        &[
            "state MASTER\n    nopreempt",
            "state BACKUP\n    priority 255",
            "state MASTER\n    priority 255\n    nopreempt",
            "version 3\n    authentication {\n        auth_type PASS\n        auth_pass 1234\n    }",
            "version 3\n    advert_int 50",
            "version 2\n    advert_int 0.5",
            "authentication {\n        auth_type AH\n        auth_pass 1234\n    }\n    version 3",
            "use_vmac\n    accept",
            "unicast_src_ip 192.0.2.1\n    mcast_src_ip 192.0.2.1",
            "unicast_peer {\n        192.0.2.8\n        2001:db8::8\n    }",
            "priority 100\n    priority 200",
            "state MASTER\n    state BACKUP",
            "virtual_ipaddress {\n        192.0.2.50\n        2001:db8::50\n    }",
            "native_ipv6\n    virtual_ipaddress {\n        192.0.2.51\n    }",
            "preempt_delay 10\n    nopreempt",
            "strict_mode\n    unicast_peer {\n        192.0.2.8\n    }",
            "strict_mode\n    authentication {\n        auth_type PASS\n        auth_pass 1234\n    }",
            "no_accept\n    accept",
        ],
    ),
    (
        "vrrp_instance",
        "probe-unknown",
        &[
            "bogus_keyword 1",
            "priorty 100",
            "virtual_ipaddres {\n        192.0.2.1\n    }",
        ],
    ),
    (
        "vrrp_script",
        "probe-range",
        &[
            "interval 0",
            "interval -1",
            "timeout 0",
            "weight 300",
            "weight -300",
            "rise 0",
            "fall 0",
            "rise -1",
        ],
    ),
    (
        "vrrp_script",
        "probe-kind",
        &[
            "interval abc",
            "timeout abc",
            "weight abc",
            "weight 10 bogus",
            "rise abc",
            "fall abc",
        ],
    ),
    (
        "vrrp_script",
        "probe-missing",
        &["script", "interval", "weight", "user", "timeout"],
    ),
    (
        "vrrp_script",
        "probe-name",
        &["user nosuchuser", "script /nonexistent/check.sh"],
    ),
    ("vrrp_script", "probe-place", &["priority 100", "state MASTER"]),
    (
        "vrrp_sync_group",
        "probe-name",
        &[
            "group {\n        NOSUCH_INSTANCE\n    }",
            "smtp_alert bogus",
            "notify_master /nonexistent/n.sh",
            "track_script {\n        nosuch_script\n    }",
        ],
    ),
    (
        "vrrp_sync_group",
        "probe-missing",
        &["group {\n    }", "notify_master", "notify"],
    ),
    (
        "vrrp_sync_group",
        "probe-place",
        &["priority 100", "interface eth0"],
    ),
    (
        "vrrp_track_file",
        "probe-kind",
        &["weight abc", "weight 300", "init_file bogus_arg x y"],
    ),
    ("vrrp_track_file", "probe-missing", &["file", "weight"]),
    (
        "track_file",
        "probe-kind",
        &["weight abc", "weight 300", "init_file bogus_arg x y"],
    ),
    ("track_file", "probe-missing", &["file", "weight"]),
    (
        "virtual_server",
        "probe-name",
        &[
            "lb_algo bogus",
            "lb_kind bogus",
            "lvs_sched bogus",
            "lvs_method bogus",
            "protocol bogus",
            "persistence_engine bogus",
            "ip_family bogus",
            "sorry_server_lvs_method bogus",
            "lb_kind TUN bogus",
            "lvs_method TUN type bogus",
        ],
    ),
    (
        "virtual_server",
        "probe-range",
        &[
            "persistence_timeout -1",
            "persistence_timeout 99999999999",
            "delay_loop 0",
            "delay_loop -1",
            "persistence_granularity 255.255.255.300",
            "persistence_granularity 129",
            "quorum 0",
            "quorum -1",
            "hysteresis -1",
            "retry -1",
            "delay_before_retry -1",
            "warmup -1",
            "connect_timeout -1",
            "sorry_server 192.0.2.99 70000",
        ],
    ),
    (
        "virtual_server",
        "probe-kind",
        &[
            "persistence_timeout abc",
            "delay_loop abc",
            "persistence_granularity bogus",
            "quorum abc",
            "hysteresis abc",
            "retry abc",
            "delay_before_retry abc",
            "warmup abc",
            "sorry_server bogus 80",
            "sorry_server 192.0.2.99 abc",
            "ha_suspend extra",
            "alpha extra",
            "virtualhost",
            "protocol 6",
        ],
    ),
    (
        "virtual_server",
        "probe-missing",
        &[
            "lb_algo",
            "lb_kind",
            "protocol",
            "delay_loop",
            "persistence_timeout",
            "persistence_granularity",
            "sorry_server",
            "sorry_server 192.0.2.99",
            "quorum_up",
            "quorum",
            "real_server {\n        weight 1\n    }",
            "real_server 198.51.100.30 {\n        weight 1\n    }",
        ],
    ),
    (
        "virtual_server",
        "probe-place",
        &[
            "priority 100",
            "state MASTER",
            "interface eth0",
            "virtual_ipaddress {\n        192.0.2.98\n    }",
            "TCP_CHECK {\n        connect_timeout 3\n    }",
            "virtual_server 192.0.2.97 80 {\n        lb_algo rr\n    }",
            "url {\n        path /\n    }",
            "weight 5",
        ],
    ),
    (
        "virtual_server",
        "probe-conflict",
        &[
            "lb_kind NAT\n    lb_kind DR",
            "lb_algo rr\n    lb_algo wrr",
            "protocol UDP\n    protocol TCP",
            "ops\n    persistence_timeout 30",
            "lb_algo sh\n    sh-port",
            "lb_algo rr\n    sh-port",
            "lb_algo rr\n    mh-fallback",
            "real_server 198.51.100.40 80 {\n        weight 1\n    }\n    real_server 198.51.100.40 80 {\n        weight 2\n    }",
            "real_server 2001:db8::40 80 {\n        weight 1\n    }",
            "sorry_server 2001:db8::41 80",
        ],
    ),
    (
        "virtual_server",
        "probe-unknown",
        &["bogus_keyword 1", "lbalgo rr", "HTTPS_GET {\n    }"],
    ),
    (
        "real_server",
        "probe-range",
        &[
            "weight -1",
            "weight 65536",
            "weight 99999999999",
            "uthreshold -1",
            "lthreshold -1",
            "uthreshold 10\n        lthreshold 20",
            "delay_loop 0",
            "retry -1",
            "connect_timeout 0",
        ],
    ),
    (
        "real_server",
        "probe-kind",
        &[
            "weight abc",
            "uthreshold abc",
            "lthreshold abc",
            "delay_loop abc",
            "retry abc",
            "delay_before_retry abc",
            "warmup abc",
            "inhibit_on_failure bogus",
        ],
    ),
    (
        "real_server",
        "probe-name",
        &[
            "lvs_method bogus",
            "notify_up /nonexistent/up.sh",
            "smtp_alert bogus",
        ],
    ),
    (
        "real_server",
        "probe-missing",
        &["weight", "notify_up", "notify_down", "lvs_method", "retry"],
    ),
    (
        "real_server",
        "probe-place",
        &[
            "lb_algo rr",
            "priority 100",
            "real_server 198.51.100.50 80 {\n            weight 1\n        }",
            "url {\n            path /\n        }",
            "virtual_ipaddress {\n            192.0.2.1\n        }",
        ],
    ),
    (
        "real_server",
        "probe-block",
        &[
            "TCP_CHECK {\n            connect_port 70000\n        }",
            "TCP_CHECK {\n            connect_port abc\n        }",
            "TCP_CHECK {\n            connect_ip bogus\n        }",
            "TCP_CHECK {\n            connect_timeout abc\n        }",
            "TCP_CHECK {\n            connect_timeout 0\n        }",
            "TCP_CHECK {\n            bindto bogus\n        }",
            "TCP_CHECK {\n            bind_port abc\n        }",
            "TCP_CHECK {\n            fwmark abc\n        }",
            "TCP_CHECK {\n            retry abc\n        }",
            "TCP_CHECK {\n            delay_before_retry abc\n        }",
            "TCP_CHECK {\n            warmup abc\n        }",
            "TCP_CHECK {\n            connect_ip 2001:db8::1\n        }",
            "TCP_CHECK {\n            bogus_kw 1\n        }",
            "HTTP_GET {\n            url {\n                path /\n                status_code 999\n            }\n        }",
            "HTTP_GET {\n            url {\n                path /\n                status_code abc\n            }\n        }",
            "HTTP_GET {\n            url {\n                path /\n                digest xyz\n            }\n        }",
            "HTTP_GET {\n            url {\n                path\n            }\n        }",
            "HTTP_GET {\n            url {\n            }\n        }",
            "HTTP_GET {\n        }",
            "HTTP_GET {\n            url {\n                path /\n            }\n            http_protocol 3.0\n        }",
            "HTTP_GET {\n            url {\n                path /\n            }\n            virtualhost\n        }",
            "SSL_GET {\n            url {\n                path /\n                status_code 100-999\n            }\n        }",
            "MISC_CHECK {\n        }",
            "MISC_CHECK {\n            misc_path\n        }",
            "MISC_CHECK {\n            misc_path /bin/true\n            misc_timeout abc\n        }",
            "MISC_CHECK {\n            misc_path /nonexistent/check\n        }",
            "SMTP_CHECK {\n            helo_name\n        }",
            "SMTP_CHECK {\n            host {\n                connect_ip bogus\n            }\n        }",
            "DNS_CHECK {\n            type BOGUS\n        }",
            "DNS_CHECK {\n            name\n        }",
            "UDP_CHECK {\n            payload zz\n        }",
            "UDP_CHECK {\n            require_reply zz\n        }",
            "PING_CHECK {\n            connect_timeout abc\n        }",
            "FILE_CHECK {\n        }",
            "FILE_CHECK {\n            track_file nosuch_file\n        }",
            "BFD_CHECK {\n            name nosuch_bfd\n        }",
            "SCRIPT_CHECK {\n            script /bin/true\n        }",
        ],
    ),
    (
        "url",
        "probe-kind",
        &[
            "status_code 999",
            "status_code abc",
            "digest xyz",
            "digest 0123456789abcdef0123456789abcdeg",
            "path",
            "regex",
            "regex_min_offset abc",
            "virtualhost",
            "bogus_keyword 1",
        ],
    ),
    (
        "TCP_CHECK",
        "probe-kind",
        &[
            "connect_port 70000",
            "connect_port abc",
            "connect_ip bogus",
            "connect_timeout abc",
            "connect_timeout 0",
            "retry abc",
            "nb_get_retry abc",
            "delay_before_retry abc",
            "bindto bogus",
            "bind_if nosuch0",
            "fwmark abc",
            "weight 1",
            "url {\n                path /\n            }",
            "bogus_keyword 1",
            "connect_port",
        ],
    ),
    (
        "HTTP_GET",
        "probe-kind",
        &[
            "connect_port 70000",
            "connect_timeout abc",
            "retry abc",
            "nb_get_retry -1",
            "delay_before_retry abc",
            "http_protocol bogus",
            "virtualhost",
            "warmup abc",
            "enable_sni extra",
            "connect_ip 300.1.1.1",
            "bogus_keyword 1",
        ],
    ),
    (
        "",
        "probe-block",
        &[
            "vrrp_instance EMPTY {\n}",
            "vrrp_instance NOIF {\n    virtual_router_id 77\n    priority 100\n    virtual_ipaddress {\n        192.0.2.77\n    }\n}",
            "vrrp_instance NOVRID {\n    interface eth0\n    virtual_ipaddress {\n        192.0.2.78\n    }\n}",
            "vrrp_instance {\n    interface eth0\n    virtual_router_id 79\n}",
            "vrrp_instance NOVIP {\n    interface eth0\n    virtual_router_id 80\n}",
            "virtual_server 192.0.2.90 80 {\n}",
            "virtual_server bogus 80 {\n}",
            "virtual_server 192.0.2.91 {\n    lb_algo rr\n}",
            "virtual_server 192.0.2.92 abc {\n    lb_algo rr\n}",
            "virtual_server fwmark abc {\n    lb_algo rr\n}",
            "virtual_server fwmark 0 {\n    lb_algo rr\n}",
            "virtual_server {\n    lb_algo rr\n}",
            "virtual_server group NOSUCH {\n    lb_algo rr\n    protocol TCP\n}",
            "virtual_server_group G1 {\n    192.0.2.93 80\n    bogus\n}",
            "virtual_server_group G2 {\n    192.0.2.94-300 80\n}",
            "virtual_server_group G3 {\n    fwmark abc\n}",
            "virtual_server_group {\n    192.0.2.95 80\n}",
            "vrrp_sync_group SGX {\n    group {\n        NOSUCH\n    }\n}",
            "vrrp_sync_group SGY {\n}",
            "vrrp_script {\n    script /bin/true\n}",
            "vrrp_script chk_noscript {\n    interval 2\n}",
            "include /nonexistent/file.conf",
            "include",
            "static_ipaddress {\n    192.0.2.300\n}",
            "static_ipaddress {\n    192.0.2.96/24 dev nosuch0\n}",
            "static_routes {\n    bogus\n}",
            "static_rules {\n    from bogus table 1\n}",
            "vrrp_track_file F {\n}",
            "vrrp_track_process P {\n}",
            "vrrp_track_process P2 {\n    process\n    weight abc\n}",
            "garp_group {\n    garp_interval abc\n}",
            "garp_group {\n    interfaces {\n        nosuch0\n    }\n}",
            "linkbeat_interfaces {\n    nosuch0\n}",
            "bfd_instance B {\n    neighbor_ip bogus\n}",
            "bfd_instance {\n}",
            "global_defs {\n    router_id second\n}",
            "global_defs",
            "vrrp_instance",
            "virtual_server 192.0.2.90 80",
            "{",
            "}",
            "{\n}",
            "\"unterminated",
        ],
    ),
    (
        "",
        "probe-place",
        &[
            "priority 100",
            "lb_algo rr",
            "router_id top",
            "real_server 198.51.100.60 80 {\n    weight 1\n}",
            "virtual_ipaddress {\n    192.0.2.60\n}",
            "TCP_CHECK {\n    connect_timeout 3\n}",
            "url {\n    path /\n}",
            "track_script {\n    chk\n}",
            "authentication {\n    auth_type PASS\n}",
        ],
    ),
    (
        "",
        "probe-unknown",
        &["bogus_keyword 1", "vrrp_instanc VX {\n}", "bogus_block {\n    x 1\n}"],
    ),
];

/// Keywords whose value is a name from a fixed set (their values get `probe-name`-style
/// per-line mutations).
const NAME_KEYWORDS: &[&str] = &[
    "state",
    "lb_algo",
    "lvs_sched",
    "lb_kind",
    "lvs_method",
    "protocol",
    "auth_type",
    "interface",
    "dev",
    "type",
    "persistence_engine",
    "http_protocol",
    "smtp_alert",
];

/// The seed configurations, the examples and [`FIXTURE_BASES`], sorted by name.
pub fn bases(repo: &Path) -> Vec<Base> {
    let mut out = Vec::new();
    for dir in [
        repo.join("tests/fixtures/seed-configs"),
        repo.join("examples"),
        repo.join("examples/demo"),
    ] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "conf"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        for f in files {
            let name = f
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let Ok(text) = std::fs::read_to_string(&f) {
                out.push((name, text));
            }
        }
    }
    for (n, t) in FIXTURE_BASES {
        out.push(((*n).to_string(), (*t).to_string()));
    }
    out
}

/// splitmix64: the fixed-seed generator of the sampling.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// One line of a base: its text, its tokens (comments stripped) and the blocks it sits in.
#[derive(Debug, Clone)]
struct Line {
    text: String,
    tokens: Vec<String>,
    /// Keywords of the enclosing blocks, outermost first (the line's own block excluded).
    stack: Vec<String>,
}

fn tokens(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    for w in line.split_whitespace() {
        if w.starts_with('#') || w.starts_with('!') {
            break;
        }
        out.push(w.to_string());
    }
    out
}

fn lines_of(text: &str) -> Vec<Line> {
    let mut stack: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for l in text.lines() {
        let toks = tokens(l);
        let here = stack.clone();
        for (i, t) in toks.iter().enumerate() {
            if t == "{" {
                let kw = if i > 0 { toks[0].clone() } else { "{".into() };
                stack.push(kw);
            } else if t == "}" {
                stack.pop();
            }
        }
        out.push(Line {
            text: l.to_string(),
            tokens: toks,
            stack: here,
        });
    }
    out
}

/// Index of the line closing the block opened on line `open` (or `open` if none).
fn block_end(lines: &[Line], open: usize) -> usize {
    let mut depth = 0i32;
    for (i, l) in lines.iter().enumerate().skip(open) {
        for t in &l.tokens {
            if t == "{" {
                depth += 1;
            } else if t == "}" {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
        }
    }
    open
}

fn join(lines: &[String]) -> String {
    let mut s = lines.join("\n");
    s.push('\n');
    s
}

fn indent_of(s: &str) -> String {
    s.chars().take_while(|c| c.is_whitespace()).collect()
}

fn is_number(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.') && !s.contains("..")
}

fn is_ipv4ish(s: &str) -> bool {
    s.split('/').next().is_some_and(|a| {
        a.split('.').count() == 4 && a.split('.').all(|p| p.parse::<u32>().is_ok())
    })
}

fn misspell(kw: &str, rng: &mut Rng) -> String {
    let chars: Vec<char> = kw.chars().collect();
    if chars.len() < 3 {
        return format!("{kw}x");
    }
    let mut c = chars.clone();
    match rng.below(3) {
        0 => {
            c.remove(1 + rng.below(chars.len() - 2));
        }
        1 => {
            let i = 1 + rng.below(chars.len() - 2);
            c.swap(i, i - 1);
            if c == chars {
                c.insert(i, 'x');
            }
        }
        _ => {
            let i = 1 + rng.below(chars.len() - 1);
            c.insert(i, 'e');
        }
    }
    c.into_iter().collect()
}

/// All mutations of all bases, in a fixed order; at most `limit` (fixed-seed sample).
pub fn mutations(bases: &[Base], limit: usize) -> Vec<Mutation> {
    let mut rng = Rng::new(0x6b65_6570_616c_6976); // "keepaliv"
    let mut all = Vec::new();
    for (bname, text) in bases {
        let lines = lines_of(text);
        let raw: Vec<String> = lines.iter().map(|l| l.text.clone()).collect();
        let push = |all: &mut Vec<Mutation>,
                    ln: usize,
                    class: &'static str,
                    detail: &str,
                    v: Vec<String>| {
            all.push(Mutation {
                name: format!("{bname}:{}:{class}:{detail}", ln + 1),
                class,
                text: join(&v),
            });
        };
        for (i, l) in lines.iter().enumerate() {
            let Some(kw) = l.tokens.first().cloned() else {
                continue;
            };
            let opens = l.tokens.last().is_some_and(|t| t == "{");
            let ind = indent_of(&l.text);
            if kw == "}" {
                let mut v = raw.clone();
                v.remove(i);
                push(&mut all, i, "missing-brace", "drop }", v);
                let mut v = raw.clone();
                v.insert(i + 1, format!("{ind}}}"));
                push(&mut all, i, "extra-brace", "extra }", v);
                continue;
            }
            // Misspelled keyword.
            {
                let mut v = raw.clone();
                let bad = misspell(&kw, &mut rng);
                v[i] = l.text.replacen(&kw, &bad, 1);
                push(&mut all, i, "misspelled-keyword", &bad, v);
            }
            if opens {
                let end = block_end(&lines, i);
                // The block's `{` missing.
                let mut v = raw.clone();
                v[i] = l.text.replacen('{', "", 1);
                push(&mut all, i, "missing-brace", "drop {", v);
                if end > i {
                    let block: Vec<String> = raw[i..=end].to_vec();
                    // Whole block deleted (required block missing).
                    let mut v = raw.clone();
                    v.drain(i..=end);
                    push(&mut all, i, "missing-required", "delete block", v.clone());
                    if !l.stack.is_empty() {
                        // Moved to the top level.
                        let mut w = v.clone();
                        w.extend(block.iter().map(|s| s.trim_start().to_string()));
                        push(&mut all, i, "wrong-place", "block at top level", w);
                    } else if kw != "global_defs" {
                        // A top-level block inside global_defs (prepended).
                        let mut w = vec!["global_defs {".to_string()];
                        w.extend(block.iter().map(|s| format!("    {s}")));
                        w.push("}".into());
                        w.extend(v.clone());
                        push(&mut all, i, "wrong-place", "block in global_defs", w);
                    }
                    // Block repeated (duplicate instance / real server / ...).
                    let mut w = raw.clone();
                    for (k, s) in block.iter().enumerate() {
                        w.insert(end + 1 + k, s.clone());
                    }
                    push(&mut all, i, "conflict", "block repeated", w);
                    if kw == "vrrp_instance" && l.tokens.len() >= 3 {
                        // Same VRID and interface, another name.
                        let mut w = raw.clone();
                        let mut b2 = block.clone();
                        b2[0] = b2[0].replacen(&l.tokens[1], &format!("{}_DUP", l.tokens[1]), 1);
                        for (k, s) in b2.iter().enumerate() {
                            w.insert(end + 1 + k, s.clone());
                        }
                        push(&mut all, i, "conflict", "same vrid other name", w);
                    }
                }
                continue;
            }
            if l.tokens.len() == 1 && !l.stack.is_empty() {
                // A bare word: an address/name in a list, or a flag keyword.
                let mut v = raw.clone();
                v.remove(i);
                push(&mut all, i, "missing-required", "delete line", v);
                let mut v = raw.clone();
                v.insert(i + 1, l.text.clone());
                push(&mut all, i, "conflict", "line repeated", v);
                let mut v = raw.clone();
                v[i] = format!("{} extra_arg", l.text.trim_end());
                push(&mut all, i, "wrong-kind", "extra arg", v);
                continue;
            }
            // Value missing.
            if l.tokens.len() >= 2 {
                let mut v = raw.clone();
                v[i] = format!("{ind}{kw}");
                push(&mut all, i, "missing-required", "value dropped", v);
            }
            // Line deleted / repeated.
            let mut v = raw.clone();
            v.remove(i);
            push(&mut all, i, "missing-required", "delete line", v);
            let mut v = raw.clone();
            v.insert(i + 1, l.text.clone());
            push(&mut all, i, "conflict", "line repeated", v);
            // Each value replaced.
            for (k, tok) in l.tokens.iter().enumerate().skip(1).take(3) {
                let subst: Vec<(&'static str, String)> = if is_ipv4ish(tok) {
                    vec![
                        (
                            "out-of-range",
                            tok.replacen(tok.split('.').next().unwrap_or("1"), "300", 1),
                        ),
                        ("wrong-kind", "bogus".into()),
                        ("wrong-kind", "2001:db8::99".into()),
                    ]
                } else if is_number(tok) {
                    vec![
                        ("out-of-range", "-1".into()),
                        ("out-of-range", "99999999999".into()),
                        ("out-of-range", "0".into()),
                        ("out-of-range", "256".into()),
                        ("wrong-kind", "abc".into()),
                        ("wrong-kind", "1.5".into()),
                    ]
                } else if k == 1 && NAME_KEYWORDS.contains(&kw.as_str()) {
                    vec![
                        ("unknown-name", "bogus".into()),
                        ("unknown-name", tok.to_lowercase()),
                        ("unknown-name", "nosuch0".into()),
                    ]
                } else {
                    vec![("unknown-name", "nosuch_name".into())]
                };
                for (class, s) in subst {
                    if s == *tok {
                        continue;
                    }
                    let mut toks = l.tokens.clone();
                    toks[k] = s.clone();
                    let mut v = raw.clone();
                    v[i] = format!("{ind}{}", toks.join(" "));
                    push(&mut all, i, class, &format!("{tok}->{s}"), v);
                }
            }
        }
        // Probes at the start of each block of the probe's kind (and top level).
        for (kind, class, probes) in PROBES {
            let sites: Vec<usize> = if kind.is_empty() {
                vec![usize::MAX]
            } else {
                lines
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| {
                        l.tokens.first().is_some_and(|t| t == kind)
                            && l.tokens.last().is_some_and(|t| t == "{")
                    })
                    .map(|(i, _)| i)
                    .collect()
            };
            for site in sites {
                for p in *probes {
                    let mut v = raw.clone();
                    if site == usize::MAX {
                        v.extend(p.lines().map(str::to_string));
                    } else {
                        let ind = format!("{}    ", indent_of(&raw[site]));
                        for (k, pl) in p.lines().enumerate() {
                            let pl = pl.trim_start();
                            // Keep the probe's own relative indentation for readability.
                            v.insert(site + 1 + k, format!("{ind}{pl}"));
                        }
                    }
                    let ln = if site == usize::MAX {
                        raw.len()
                    } else {
                        site + 1
                    };
                    push(&mut all, ln, class, p.lines().next().unwrap_or(""), v);
                }
            }
        }
    }
    // Unique names (a base may yield the same mutation twice).
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all.dedup_by(|a, b| a.text == b.text && a.name == b.name);
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for m in &mut all {
        let n = seen.entry(m.name.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            m.name = format!("{}#{}", m.name, n);
        }
    }
    if all.len() > limit {
        // Fixed-seed Fisher-Yates, then back to name order.
        for i in (1..all.len()).rev() {
            let j = rng.below(i + 1);
            all.swap(i, j);
        }
        all.truncate(limit);
        all.sort_by(|a, b| a.name.cmp(&b.name));
    }
    all
}
