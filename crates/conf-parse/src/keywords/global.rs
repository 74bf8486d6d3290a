//! `global_defs` and the other global blocks (`SSL`): keywords and their run-time status.

#[allow(unused_imports)]
use super::{alias, b, dep, s, v, Kw, Release};

/// Why the ipset keywords stay unsupported.
/// The VM test comparing the `nftables_ipvs` ruleset and IPVS table with the reference.
const NFT_IPVS: &[&str] = &["vm_nftables_ipvs_ranges_same_as_reference"];
/// The VRRP worker's netlink receive buffers, read from the kernel for ours and the reference.
const NL_BUFS: &str = "lab_vrrp_netlink_rcv_bufs_as_reference";
const NO_PROC_MON_SOCKET: &str = "keepalived sizes its process-event (proc connector) socket; \
    ours has none: vrrp_track_process counts processes by reading /proc, so no event can be lost";
const NO_LVS_RTNL_SOCKET: &str = "keepalived sizes the checker's rtnetlink sockets; ours has \
    none (the checker watches no address or link events; its IPVS generic-netlink socket asks \
    for 4 MiB)";
/// The VM test comparing the checker's FIFO lines, omega and lvs_flush_on_stop VS with the
/// reference.
const VM_NOTIFY: &str = "vm_notify_fifo_lines_omega_rs_init_flush_vs_same_as_reference";

/// Keywords inside `global_defs`.
pub static GLOBAL_DEFS: &[Kw] = &[
    // keepalived-rs's own keywords (not in keepalived): the VRRP VIP lease and the metrics endpoint.
    s("krs_vip_lease").imp(&["lab_lease_off_by_config", "lab_lease_ipv6_vip"]),
    s("metrics_listen").imp(&["lab_top_level_namespace_instance_metrics_child_wait"]),
    s("metrics_allow").imp(&["lab_metrics_allow"]),
    s("process_names").imp(&["lab_process_names_and_scheduling_as_reference"]),
    s("process_name").imp(&["lab_process_names_and_scheduling_as_reference"]),
    s("vrrp_process_name").imp(&["lab_process_names_and_scheduling_as_reference"]),
    s("checker_process_name").imp(&["vm_checker_process_name_and_scheduling_as_reference"]),
    alias("lvs_process_name", "checker_process_name"),
    s("bfd_process_name").imp(&["lab_bfd_process_name_and_scheduling_as_reference"]),
    s("router_id").imp(&["lab_smtp_alert_mail", "lab_checker_smtp_alert"]),
    s("notification_email_from").imp(&["lab_smtp_alert_mail", "lab_checker_smtp_alert"]),
    s("smtp_server").imp(&["lab_smtp_alert_mail", "lab_checker_smtp_alert"]),
    s("smtp_helo_name").imp(&["lab_smtp_alert_mail", "lab_checker_smtp_alert"]),
    s("smtp_connect_timeout").imp(&["lab_file_check_hysteresis_sni_helo_and_checker_mail"]),
    v("notification_email").imp(&["lab_smtp_alert_mail", "lab_checker_smtp_alert"]),
    s("smtp_alert").imp(&[
        "lab_global_smtp_alert_same_as_reference",
        "lab_global_smtp_alert_checker",
    ]),
    s("startup_script").imp(&["lab_startup_shutdown_scripts_as_reference"]),
    s("startup_script_timeout").imp(&["lab_startup_shutdown_scripts_as_reference"]),
    s("shutdown_script").imp(&["lab_startup_shutdown_scripts_as_reference"]),
    s("shutdown_script_timeout").imp(&["lab_startup_shutdown_scripts_as_reference"]),
    s("max_auto_priority").imp(&["lab_max_auto_priority_as_reference"]),
    s("min_auto_priority_delay").imp(&["lab_max_auto_priority_as_reference"]),
    s("smtp_alert_vrrp").imp(&["lab_global_smtp_alert_same_as_reference"]),
    s("smtp_alert_checker").imp(&["lab_file_check_hysteresis_sni_helo_and_checker_mail"]),
    s("checker_log_all_failures").imp(&["lab_checker_alpha_warmup_log_all_failures"]),
    s("dynamic_interfaces").imp(&[
        "lab_allow_if_changes_same_as_reference",
        "lab_dynamic_interfaces_fault_and_recovery_as_reference",
        "lab_missing_interface_without_dynamic_interfaces_refuses_start",
        "lab_sync_group_member_interface_recreated_as_reference",
    ]),
    s("no_email_faults").imp(&["lab_sync_group_smtp_alert_and_no_email_faults_same_as_reference"]),
    s("default_interface").imp(&[
        "lab_static_ipaddress_default_interface_same_as_reference",
        "lab_default_interface_and_no_interface_verdicts_as_reference",
    ]),
    s("disable_local_igmp").imp(&[
        "lab_disable_local_igmp_same_as_reference",
        "lab_interop_use_vmac_nftables_same_as_reference",
    ]),
    s("lvs_timeouts").imp(&["vm_reload_sighup_diff_apply"]),
    s("lvs_flush").imp(&["vm_keywords_flags_persistence_groups_sorry_same_as_reference"]),
    s("lvs_flush_on_stop").imp(&[
        "vm_keywords_flags_persistence_groups_sorry_same_as_reference",
        VM_NOTIFY,
    ]),
    alias("lvs_flush_onstop", "lvs_flush_on_stop"),
    s("lvs_sync_daemon").imp(&["vm_wired_lvs_sync_daemon_follows_vrrp"]),
    s("vrrp_mcast_group4").imp(&["lab_global_vrrp_defaults_on_the_wire"]),
    s("vrrp_mcast_group6").imp(&["lab_mcast_group6_same_as_reference"]),
    s("vrrp_garp_master_delay").imp(&["lab_global_vrrp_defaults_on_the_wire"]),
    s("vrrp_garp_master_repeat").imp(&[
        "lab_global_vrrp_defaults_on_the_wire",
        "lab_interop_garp_group_pacing_same_as_reference",
    ]),
    s("vrrp_garp_master_refresh").imp(&["lab_global_vrrp_defaults_on_the_wire"]),
    s("vrrp_garp_master_refresh_repeat").imp(&["lab_global_vrrp_defaults_on_the_wire"]),
    s("vrrp_garp_lower_prio_delay").imp(&["lab_master_rx_lower_higher_prio_same_as_reference"]),
    s("vrrp_garp_lower_prio_repeat").imp(&["lab_master_rx_lower_higher_prio_same_as_reference"]),
    s("vrrp_down_timer_adverts").imp(&["lab_down_timer_adverts_same_as_reference"]),
    s("vrrp_garp_interval").imp(&["lab_garp_gna_interval_pacing_same_as_reference"]),
    s("vrrp_gna_interval").imp(&["lab_garp_gna_interval_pacing_same_as_reference"]),
    s("vrrp_min_garp").imp(&["lab_min_garp_and_garp_extra_if_same_as_reference"]),
    s("vrrp_garp_extra_if").imp(&["lab_min_garp_and_garp_extra_if_same_as_reference"]),
    dep("vrrp_vmac_garp_intvl", "vrrp_garp_extra_if")
        .imp(&["lab_min_garp_and_garp_extra_if_same_as_reference"]),
    s("vrrp_lower_prio_no_advert").imp(&["lab_master_rx_lower_higher_prio_same_as_reference"]),
    s("vrrp_higher_prio_send_advert").imp(&["lab_master_rx_lower_higher_prio_same_as_reference"]),
    s("vrrp_owner_ignore_adverts")
        .imp(&["lab_owner_ignore_adverts_like_reference"])
        .since(Release(2, 4, 0)),
    s("vrrp_version").imp(&["lab_global_vrrp_defaults_on_the_wire"]),
    s("vrrp_iptables").imp(&[
        "lab_interop_vrrp_iptables_is_nftables_same_as_reference",
        "lab_strict_iptables_ipsets_same_as_reference",
        "lab_strict_iptables_rules_per_vip_same_as_reference",
        "lab_iptables_named_chains_sets_and_accept_same_as_reference",
        "lab_iptables_keyword_verdicts_same_as_reference",
        "lab_iptables_killed_run_leftovers_same_as_reference",
        "lab_address_owner_has_no_firewall_as_reference",
        "lab_iptables_use_vmac_same_as_reference",
        "lab_iptables_use_vmac_killed_run_same_as_reference",
        "lab_iptables_use_vmac_other_family_and_disable_local_igmp_same_as_reference",
        "lab_iptables_address_vmacs_same_as_reference",
    ]),
    s("vrrp_ipsets").imp(&[
        "lab_strict_iptables_ipsets_same_as_reference",
        "lab_strict_iptables_rules_per_vip_same_as_reference",
        "lab_iptables_named_chains_sets_and_accept_same_as_reference",
        "lab_iptables_keyword_verdicts_same_as_reference",
        "lab_iptables_killed_run_leftovers_same_as_reference",
        "lab_address_owner_has_no_firewall_as_reference",
        "lab_iptables_use_vmac_same_as_reference",
        "lab_iptables_use_vmac_killed_run_same_as_reference",
        "lab_iptables_use_vmac_other_family_and_disable_local_igmp_same_as_reference",
        "lab_iptables_address_vmacs_same_as_reference",
    ]),
    s("nftables").imp(&["lab_interop_nftables_settings_same_as_reference"]),
    s("nftables_priority").imp(&["lab_interop_nftables_settings_same_as_reference"]),
    s("nftables_ifindex").imp(&[
        "lab_interop_strict_link_local_vips_same_as_reference",
        "lab_interop_nftables_settings_same_as_reference",
    ]),
    s("nftables_ipvs").imp(NFT_IPVS),
    s("nftables_ipvs_priority").imp(NFT_IPVS),
    s("nftables_ipvs_start_fwmark").imp(NFT_IPVS),
    s("nftables_counters").imp(&["lab_interop_nftables_settings_same_as_reference"]),
    s("vrrp_check_unicast_src").imp(&["lab_global_check_unicast_src"]),
    s("vrrp_skip_check_adv_addr").imp(&["lab_adv_addr_check_and_skip_same_as_reference"]),
    s("vrrp_strict").imp(&[
        "lab_interop_strict_nftables_same_as_reference",
        "lab_strict_mode_config_test_verdicts_same_as_reference",
        "lab_strict_nftables_leftover_of_killed_run_cleaned",
        "lab_strict_mode_received_adverts_same_as_reference",
        "lab_interop_strict_link_local_vips_same_as_reference",
    ]),
    s("vrrp_priority").imp(&["lab_process_names_and_scheduling_as_reference"]),
    s("vrrp_no_swap").imp(&["lab_process_names_and_scheduling_as_reference"]),
    s("vrrp_rt_priority").imp(&["lab_process_names_and_scheduling_as_reference"]),
    s("vrrp_cpu_affinity").imp(&["lab_process_names_and_scheduling_as_reference"]),
    s("vrrp_rlimit_rttime").imp(&["lab_process_names_and_scheduling_as_reference"]),
    alias("vrrp_rlimit_rtime", "vrrp_rlimit_rttime"),
    s("notify_fifo").imp(&[
        "lab_notify_scripts_and_fifo",
        "lab_sync_group_notify",
        VM_NOTIFY,
    ]),
    s("notify_fifo_script").imp(&[
        VM_NOTIFY,
        "lab_vrrp_fifo_scripts_priority_changes_reload_same_as_reference",
    ]),
    s("vrrp_notify_fifo").imp(&["lab_vrrp_notify_fifo_same_as_reference"]),
    s("vrrp_notify_fifo_script")
        .imp(&["lab_vrrp_fifo_scripts_priority_changes_reload_same_as_reference"]),
    s("vrrp_notify_priority_changes")
        .imp(&["lab_vrrp_fifo_scripts_priority_changes_reload_same_as_reference"]),
    s("fifo_write_vrrp_states_on_reload")
        .imp(&["lab_vrrp_fifo_scripts_priority_changes_reload_same_as_reference"]),
    s("lvs_notify_fifo").imp(&[VM_NOTIFY]),
    s("lvs_notify_fifo_script").imp(&[VM_NOTIFY]),
    s("checker_priority").imp(&["vm_checker_process_name_and_scheduling_as_reference"]),
    s("checker_no_swap").imp(&["vm_checker_process_name_and_scheduling_as_reference"]),
    s("checker_rt_priority").imp(&["vm_checker_process_name_and_scheduling_as_reference"]),
    s("checker_cpu_affinity").imp(&["vm_checker_process_name_and_scheduling_as_reference"]),
    s("checker_rlimit_rttime").imp(&["vm_checker_process_name_and_scheduling_as_reference"]),
    alias("checker_rlimit_rtime", "checker_rlimit_rttime"),
    s("bfd_priority").imp(&["lab_bfd_process_name_and_scheduling_as_reference"]),
    s("bfd_no_swap").imp(&["lab_bfd_process_name_and_scheduling_as_reference"]),
    s("bfd_rt_priority").imp(&["lab_bfd_process_name_and_scheduling_as_reference"]),
    s("bfd_cpu_affinity").imp(&["lab_bfd_process_name_and_scheduling_as_reference"]),
    s("bfd_rlimit_rttime").imp(&["lab_bfd_process_name_and_scheduling_as_reference"]),
    alias("bfd_rlimit_rtime", "bfd_rlimit_rttime"),
    s("snmp_socket").imp(&["lab_snmp_vrrp_mib_walk_as_reference"]),
    s("enable_traps").imp(&[
        "lab_snmp_keepalived_instance_traps_as_reference",
        "lab_snmp_new_master_trap_as_reference",
        "lab_snmp_vrrpv3_traps_as_reference",
        "lab_snmp_auth_failure_trap_as_reference",
        "vm_snmp_checker_mib_and_traps_as_reference",
    ]),
    s("enable_snmp_vrrp").imp(&[
        "lab_snmp_keepalived_mib_vrrp_as_reference",
        "lab_snmp_keepalived_mib_tracking_routes_as_reference",
        "lab_snmp_keepalived_mib_owner_group_as_reference",
    ]),
    alias("enable_snmp_keepalived", "enable_snmp_vrrp"),
    s("enable_snmp_rfc").imp(&["lab_snmp_vrrpv3_traps_as_reference"]),
    s("enable_snmp_rfcv2").imp(&["lab_snmp_vrrp_mib_walk_as_reference"]),
    s("enable_snmp_rfcv3").imp(&[
        "lab_snmp_vrrpv3_mib_walk_as_reference",
        "lab_snmp_vrrpv3_traps_as_reference",
    ]),
    s("enable_snmp_checker").imp(&[
        "vm_snmp_checker_mib_and_traps_as_reference",
        "vm_snmp_checker_cli_x_as_reference",
    ]),
    s("enable_dbus").imp(&[
        "lab_dbus_service_as_reference",
        "lab_dbus_service_name_and_bus_restart",
    ]),
    s("dbus_service_name").imp(&["lab_dbus_service_name_and_bus_restart"]),
    s("dbus_no_interface_name")
        .imp(&["lab_dbus_no_interface_name_as_reference_2_4_3"])
        .since(Release(2, 4, 0)),
    s("script_user").imp(&["lab_script_user"]),
    s("enable_script_security").imp(&["lab_enable_script_security_refuses_insecure_vrrp_script"]),
    s("vrrp_netlink_cmd_rcv_bufs").imp(&[NL_BUFS]),
    s("vrrp_netlink_cmd_rcv_bufs_force").imp(&[NL_BUFS]),
    s("vrrp_netlink_monitor_rcv_bufs").imp(&[NL_BUFS]),
    s("vrrp_netlink_monitor_rcv_bufs_force").imp(&[NL_BUFS]),
    s("process_monitor_rcv_bufs").noop(NO_PROC_MON_SOCKET),
    s("process_monitor_rcv_bufs_force").noop(NO_PROC_MON_SOCKET),
    s("lvs_netlink_cmd_rcv_bufs").noop(NO_LVS_RTNL_SOCKET),
    s("lvs_netlink_cmd_rcv_bufs_force").noop(NO_LVS_RTNL_SOCKET),
    s("lvs_netlink_monitor_rcv_bufs").noop(NO_LVS_RTNL_SOCKET),
    s("lvs_netlink_monitor_rcv_bufs_force").noop(NO_LVS_RTNL_SOCKET),
    s("rs_init_notifies").imp(&[VM_NOTIFY, "vm_notify_fifo_at_reload_same_as_reference"]),
    s("no_checker_emails").imp(&["lab_no_checker_emails"]),
    s("vrrp_rx_bufs_policy").imp(&["lab_rx_bufs_same_as_reference"]),
    s("vrrp_rx_bufs_multiplier").imp(&["lab_rx_bufs_same_as_reference"]),
    s("vrrp_startup_delay").imp(&["lab_vrrp_startup_delay_same_as_reference"]),
    s("vrrp_delay_after_boot").imp(&["lab_vrrp_delay_after_boot_like_reference"])
        .since(Release(2, 4, 0)),
    // Release-2.3.0.md: "Add global keyword use_symlink_paths".
    s("use_symlink_paths")
        .imp(&["lab_use_symlink_paths_as_reference"])
        .since(Release(2, 3, 0)),
    s("iproute_usr_dir").imp(&["lab_iproute_dirs_name_tables_like_reference"])
        .since(Release(2, 4, 0)),
    s("iproute_etc_dir").imp(&["lab_iproute_dirs_name_tables_like_reference"])
        .since(Release(2, 4, 0)),
    // Release-2.2.8.md: "adds a json_version 2".
    s("json_version")
        .imp(&["lab_json_version_as_reference"])
        .since(Release(2, 2, 8)),
    s("snmp_vs_stats_update_interval")
        .imp(&["vm_snmp_stats_update_intervals_as_reference"])
        .since(Release(2, 4, 0)),
    s("snmp_rs_stats_update_interval")
        .imp(&["vm_snmp_stats_update_intervals_as_reference"])
        .since(Release(2, 4, 0)),
    s("log_unknown_vrids").imp(&["lab_log_unknown_vrids_same_as_reference"]),
    s("vmac_prefix").imp(&["lab_vmac_prefix_names_the_vmacs"]),
    s("vmac_addr_prefix").imp(&["lab_vmac_prefix_names_the_vmacs"]),
    s("umask").imp(&["lab_umask_file_modes_as_reference"]),
    s("random_seed").noop("keepalived 2.2.7 stores it while parsing but seeds ${_RANDOM} before reading each configuration and forgets the seed there, so it never takes effect: the same here (lab_random_seed_no_effect_as_reference)"),
    s("reload_check_config").imp(&["lab_reload_file_and_check_config_as_reference"]),
    s("reload_time_file").imp(&["lab_reload_time_file_as_reference"]),
    s("reload_repeat").imp(&["lab_reload_repeat_as_reference"]),
    s("reload_file").imp(&["lab_reload_file_and_check_config_as_reference"]),
    s("include_check").imp(&["lab_include_check_like_reference"]),
    s("config_save_dir").imp(&["lab_config_save_dir_as_reference"]),
    s("tmp_config_directory").imp(&["lab_tmp_config_directory_as_reference"]),
    s("data_use_instance").imp(&["lab_dump_file_names_as_reference"]),
    s("state_dump_file")
        .imp(&["lab_dump_file_names_as_reference"])
        .since(Release(2, 4, 0)),
    s("stats_dump_file")
        .noop("keepalived 2.4.3 stores and prints it but writes keepalived.stats in the temporary directory regardless (lab_dump_file_names_as_reference)")
        .since(Release(2, 4, 0)),
    s("json_dump_file")
        .noop("keepalived 2.4.3 stores and prints it but writes keepalived.json in the temporary directory regardless (lab_dump_file_names_as_reference)")
        .since(Release(2, 4, 0)),
];

const SSL_TESTS: &[&str] = &["lab_ssl_block_client_certificate"];

pub(super) static SSL: &[Kw] = &[
    s("password").imp(SSL_TESTS),
    s("ca").imp(SSL_TESTS),
    s("certificate").imp(SSL_TESTS),
    s("key").imp(SSL_TESTS),
];
