//! VRRP keywords: `vrrp_instance`, `vrrp_sync_group`, `garp_group`, `track_group`, `vrrp_script`,
//! `vrrp_track_process`, `track_file`: their shapes and run-time status.

#[allow(unused_imports)]
use super::{alias, b, dep, s, v, Kw};

pub(super) static TRACK_GROUP: &[Kw] = &[v("group")];

pub(super) static SYNC_GROUP: &[Kw] = &[
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

pub(super) static GARP_GROUP: &[Kw] = &[
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

pub(super) static VRRP_SCRIPT: &[Kw] = &[
    s("script"),
    s("interval"),
    s("timeout"),
    s("weight"),
    s("rise"),
    s("fall"),
    s("user"),
    s("init_fail"),
];

pub(super) static TRACK_PROCESS: &[Kw] = &[
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

pub(super) static TRACK_FILE: &[Kw] = &[s("file"), s("weight"), s("init_file")];
