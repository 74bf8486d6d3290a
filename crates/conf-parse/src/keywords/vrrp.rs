//! VRRP keywords: `vrrp_instance`, `vrrp_sync_group`, `garp_group`, `track_group`, `vrrp_script`,
//! `vrrp_track_process`, `track_file`: their shapes and run-time status.

#[allow(unused_imports)]
use super::{alias, b, dep, s, v, Kw, Release};

pub(super) static TRACK_GROUP: &[Kw] = &[v("group").imp(&["lab_track_group_same_as_reference"])];

pub(super) static SYNC_GROUP: &[Kw] = &[
    v("group").imp(&["lab_sync_group_moves_together"]),
    v("track_interface").imp(&["lab_sync_group_tracking_and_notify_fault"]),
    v("track_script").imp(&["lab_sync_group_level_tracking"]),
    v("track_file").imp(&["lab_sync_group_tracking_and_notify_fault"]),
    v("track_process").imp(&["lab_sync_group_tracking_and_notify_fault"]),
    v("track_bfd").imp(&[
        "lab_bfd_worker_with_frr_and_track_bfd_like_reference",
        "lab_bfd_track_bfd_in_sync_group_like_reference",
    ]),
    s("notify_backup").imp(&["lab_sync_group_notify"]),
    s("notify_master").imp(&["lab_sync_group_notify"]),
    s("notify_fault").imp(&["lab_sync_group_tracking_and_notify_fault"]),
    s("notify_stop").imp(&["lab_sync_group_notify"]),
    s("notify").imp(&["lab_sync_group_notify"]),
    s("smtp_alert").imp(&["lab_sync_group_smtp_alert_and_no_email_faults_same_as_reference"]),
    dep(
        "global_tracking",
        "track_interface/script/file on the sync group",
    )
    .imp(&["lab_sync_group_tracking_weight_same_as_reference"]),
    s("sync_group_tracking_weight").imp(&["lab_sync_group_tracking_weight_same_as_reference"]),
    s("notify_priority_changes").imp(&["lab_sync_group_notify_priority_changes_same_as_reference"]),
];

pub(super) static GARP_GROUP: &[Kw] = &[
    s("garp_interval").imp(&["lab_interop_garp_group_pacing_same_as_reference"]),
    s("gna_interval").imp(&["lab_garp_gna_interval_pacing_same_as_reference"]),
    s("interface").imp(&["lab_interop_garp_group_pacing_same_as_reference"]),
    v("interfaces").imp(&["lab_garp_gna_interval_pacing_same_as_reference"]),
];

static AUTHENTICATION: &[Kw] = &[
    s("auth_type").imp(&[
        "lab_interop_v2_pass_ours_master",
        "lab_interop_v2_ah_both_roles",
    ]),
    s("auth_pass").imp(&[
        "lab_interop_v2_pass_ours_master",
        "lab_hostile_adverts_counted_and_ignored",
    ]),
];

/// The lab tests of `auth_hmac` against keepalived 2.4.3.
const HMAC_TESTS: &[&str] = &[
    "lab_hmac_interop_v2_multicast_both_roles",
    "lab_hmac_interop_v2_unicast_both_roles",
    "lab_hmac_interop_v3_unicast_both_roles",
    "lab_hmac_interop_v3_ipv6_multicast_both_roles",
    "lab_hmac_interop_v3_ipv6_unicast_both_roles",
    "lab_hmac_wrong_key_rejected_no_state_change",
    "lab_hmac_forged_replayed_truncated_counted_like_reference",
];

/// `auth_hmac { }` (keepalived 2.4.3 vrrp_parser.c).
static AUTH_HMAC: &[Kw] = &[
    s("key")
        .imp(&[
            "lab_hmac_interop_v2_multicast_both_roles",
            "lab_hmac_key_rotation_by_reload_keeps_master",
        ])
        .since(Release::V2_4_0),
    s("active_key")
        .imp(&[
            "lab_hmac_interop_v2_multicast_both_roles",
            "lab_hmac_key_rotation_by_reload_keeps_master",
        ])
        .since(Release::V2_4_0),
    s("time_window")
        .imp(&["lab_hmac_time_window_and_monotonic_like_reference"])
        .since(Release::V2_4_0),
    s("anti_replay")
        .imp(&["lab_hmac_time_window_and_monotonic_like_reference"])
        .since(Release::V2_4_0),
    s("mode")
        .imp(&[
            "lab_hmac_permissive_accepts_unsigned_like_reference",
            "lab_hmac_receive_only_sends_unsigned_like_reference",
        ])
        .since(Release::V2_4_0),
];

/// Keywords inside `vrrp_instance`.
pub static VRRP_INSTANCE: &[Kw] = &[
    s("use_vmac").imp(&[
        "lab_use_vmac",
        "lab_interop_use_vmac_same_as_reference",
        "lab_interop_use_vmac_nftables_same_as_reference",
        "lab_use_vmac_nftables_killed_run_same_as_reference",
    ]),
    s("use_vmac_addr").imp(&["lab_interop_use_vmac_addr_same_as_reference"]),
    s("vmac_xmit_base").imp(&["lab_vmac_xmit_base_same_as_reference"]),
    s("use_ipvlan").imp(&["vm_use_ipvlan_as_reference"]),
    v("unicast_peer").imp(&["lab_unicast_failover", "lab_interop_unicast_both_roles"]),
    s("unicast_fault_no_peer").imp(&["lab_unicast_fault_no_peer_same_as_reference"]),
    s("check_unicast_src").imp(&["lab_hostile_adverts_counted_and_ignored"]),
    s("old_unicast_checksum").imp(&["lab_old_unicast_checksum_same_as_reference"]),
    s("native_ipv6").imp(&["lab_ipv6_version_and_native_ipv6_as_reference"]),
    s("state").imp(&["lab_instance_state_mcast_and_garp_settings"]),
    s("interface").imp(&["lab_v2_election_and_link_down_failover"]),
    s("vrf").imp(&[
        "vm_vrf_instance_without_interface_as_reference_2_4_3",
        "lab_instance_without_interface_refused_as_reference",
        "lab_default_interface_and_no_interface_verdicts_as_reference",
    ]),
    s("dont_track_primary").imp(&["lab_dont_track_primary_same_as_reference"]),
    v("track_interface").imp(&["lab_track_interface_fault"]),
    v("track_script").imp(&["lab_track_script_moves_vip"]),
    v("track_file").imp(&["lab_track_file_fault"]),
    v("track_process").imp(&["lab_track_process_fault"]),
    v("track_bfd").imp(&[
        "lab_bfd_worker_with_frr_and_track_bfd_like_reference",
        "lab_bfd_link_down_and_veth_deleted_like_reference",
        "lab_bfd_weight_and_event_destinations_like_reference",
    ]),
    s("mcast_src_ip").imp(&["lab_instance_state_mcast_and_garp_settings"]),
    s("unicast_src_ip").imp(&["lab_unicast_failover", "lab_interop_unicast_both_roles"]),
    s("mcast_dst_ip").imp(&["lab_instance_state_mcast_and_garp_settings"]),
    s("track_src_ip").noop(
        "keepalived 2.2.7 and 2.4.3 show no effect: deleting the configured source address \
         leaves the master as it is, with or without it (lab_track_src_ip_same_as_reference)",
    ),
    s("virtual_router_id").imp(&[
        "lab_v2_election_and_link_down_failover",
        "lab_hostile_adverts_counted_and_ignored",
    ]),
    s("unicast_ttl").imp(&["lab_unicast_ttl_same_as_reference"]),
    s("version").imp(&["lab_v3_fast_failover", "lab_interop_v3_both_roles"]),
    s("priority").imp(&[
        "lab_v2_election_and_link_down_failover",
        "lab_wired_hup_changed_priority_applies",
    ]),
    s("advert_int").imp(&[
        "lab_v3_fast_failover",
        "lab_hostile_adverts_counted_and_ignored",
    ]),
    v("virtual_ipaddress").imp(&["lab_v2_election_and_link_down_failover"]),
    v("virtual_ipaddress_excluded").imp(&["lab_interop_use_vmac_addr_same_as_reference"]),
    s("promote_secondaries").imp(&["lab_promote_secondaries_same_as_reference"]),
    dep("linkbeat_use_polling", "a linkbeat_interfaces block")
        .imp(&["lab_linkbeat_polling_same_as_reference"]),
    v("virtual_routes").imp(&[
        "lab_virtual_routes_follow_master",
        "lab_interop_virtual_routes_same_as_reference",
        "lab_interop_typed_routes_and_rules_same_as_reference",
    ]),
    v("virtual_rules").imp(&[
        "lab_virtual_routes_follow_master",
        "lab_interop_virtual_routes_same_as_reference",
        "lab_interop_typed_routes_and_rules_same_as_reference",
    ]),
    s("accept").imp(&["lab_interop_strict_accept_v3_reaches_vip"]),
    s("no_accept").imp(&["lab_interop_nftables_settings_same_as_reference"]),
    s("skip_check_adv_addr").imp(&["lab_adv_addr_check_and_skip_same_as_reference"]),
    s("no_virtual_ipaddress")
        .imp(&[
            "lab_no_virtual_ipaddress_like_reference",
            "lab_compat_levels_match_reference_verdicts",
        ])
        .since(Release(2, 2, 8)),
    s("v3_checksum_as_v2")
        .imp(&["lab_v3_checksum_as_v2_like_reference"])
        .since(Release(2, 2, 8)),
    s("strict_mode").imp(&[
        "lab_interop_strict_nftables_same_as_reference",
        "lab_interop_strict_link_local_vips_same_as_reference",
    ]),
    s("preempt").imp(&["lab_v2_sigstop_failover_and_lease_expiry"]),
    s("nopreempt").imp(&["lab_nopreempt"]),
    s("preempt_delay").imp(&["lab_preempt_delay_same_as_reference"]),
    s("debug").imp(&["lab_instance_debug_in_data_file_as_reference"]),
    s("notify_backup").imp(&["lab_notify_scripts_and_fifo"]),
    s("notify_master").imp(&["lab_notify_scripts_and_fifo"]),
    s("notify_fault").imp(&["lab_track_file_fault"]),
    s("notify_stop").imp(&["lab_notify_scripts_and_fifo"]),
    s("notify_deleted").imp(&["lab_notify_deleted_same_as_reference"]),
    s("notify").imp(&["lab_notify_scripts_and_fifo"]),
    s("notify_master_rx_lower_pri").imp(&["lab_notify_master_rx_lower_pri_same_as_reference"]),
    s("smtp_alert").imp(&["lab_smtp_alert_mail"]),
    s("notify_priority_changes")
        .imp(&["lab_vrrp_fifo_scripts_priority_changes_reload_same_as_reference"]),
    dep(
        "lvs_sync_daemon_interface",
        "lvs_sync_daemon in global_defs",
    )
    .imp(&["vm_wired_lvs_sync_daemon_follows_vrrp"]),
    s("garp_master_delay").imp(&["lab_instance_state_mcast_and_garp_settings"]),
    s("garp_master_refresh").imp(&["lab_instance_state_mcast_and_garp_settings"]),
    s("garp_master_repeat").imp(&["lab_instance_state_mcast_and_garp_settings"]),
    s("garp_master_refresh_repeat").imp(&["lab_instance_state_mcast_and_garp_settings"]),
    s("garp_lower_prio_delay").imp(&["lab_master_rx_lower_higher_prio_same_as_reference"]),
    s("garp_lower_prio_repeat").imp(&["lab_master_rx_lower_higher_prio_same_as_reference"]),
    s("down_timer_adverts").imp(&["lab_down_timer_adverts_same_as_reference"]),
    s("timer_expired_backup")
        .imp(&["lab_timer_expired_backup_like_reference"])
        .since(Release(2, 4, 0)),
    s("thread_timer_expired")
        .imp(&["lab_timer_expired_backup_like_reference"])
        .since(Release(2, 4, 0)),
    s("garp_extra_if").imp(&["lab_min_garp_and_garp_extra_if_same_as_reference"]),
    dep("vmac_garp_intvl", "garp_extra_if")
        .imp(&["lab_min_garp_and_garp_extra_if_same_as_reference"]),
    s("lower_prio_no_advert").imp(&["lab_master_rx_lower_higher_prio_same_as_reference"]),
    s("higher_prio_send_advert").imp(&["lab_master_rx_lower_higher_prio_same_as_reference"]),
    s("owner_ignore_adverts")
        .imp(&[
            "lab_owner_ignore_adverts_like_reference",
            "lab_compat_levels_match_reference_verdicts",
        ])
        .since(Release(2, 4, 0)),
    s("kernel_rx_buf_size").imp(&["lab_rx_bufs_same_as_reference"]),
    b("authentication", AUTHENTICATION).imp(&[
        "lab_interop_v2_pass_ours_master",
        "lab_interop_v2_ah_both_roles",
    ]),
    b("auth_hmac", AUTH_HMAC)
        .imp(HMAC_TESTS)
        .since(Release::V2_4_0),
];

pub(super) static VRRP_SCRIPT: &[Kw] = &[
    s("script").imp(&["lab_track_script_moves_vip"]),
    s("interval").imp(&["lab_track_script_moves_vip"]),
    s("timeout").imp(&["lab_vrrp_script_timeout_rise_fall"]),
    s("weight").imp(&["lab_track_script_moves_vip"]),
    s("rise").imp(&["lab_vrrp_script_timeout_rise_fall"]),
    s("fall").imp(&["lab_vrrp_script_timeout_rise_fall"]),
    s("user").imp(&["lab_script_user"]),
    s("init_fail").imp(&["lab_vrrp_script_init_fail_same_as_reference"]),
];

pub(super) static TRACK_PROCESS: &[Kw] = &[
    s("process").imp(&["lab_track_process_fault"]),
    s("param_match").imp(&["lab_track_process_parameters"]),
    s("weight").imp(&["lab_track_process_fault"]),
    s("quorum").imp(&["lab_track_process_parameters"]),
    s("quorum_max").imp(&["lab_track_process_parameters"]),
    s("delay").imp(&["lab_track_process_parameters"]),
    s("terminate_delay").imp(&["lab_track_process_parameters"]),
    s("fork_delay").imp(&["lab_track_process_parameters"]),
    s("full_command").imp(&["lab_track_process_parameters"]),
];

pub(super) static TRACK_FILE: &[Kw] = &[
    s("file").imp(&["lab_track_file_fault"]),
    s("weight").imp(&["lab_track_file_fault"]),
    s("init_file").imp(&["lab_track_file_init_file_same_as_reference"]),
];
