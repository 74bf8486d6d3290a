//! Printing of `global_defs` and the process-wide settings.

use super::*;

/// The root-level globals (`instance`, `net_namespace`, ...), before `global_defs`.
pub(super) fn root_globals(p: &mut P, g: &GlobalDefs) {
    p.opt_s("instance", &g.instance);
    p.opt_s("net_namespace", &g.net_namespace);
    match g.net_namespace_ipvs.as_deref() {
        Some("") => p.line(&["net_namespace_ipvs"]),
        Some(n) => p.kv("net_namespace_ipvs", n),
        None => {}
    }
    p.flag("namespace_with_ipsets", g.namespace_with_ipsets);
    p.flag("use_pid_dir", g.use_pid_dir);
    p.flag("linkbeat_use_polling", g.linkbeat_use_polling);
    if g.child_wait_time != DEFAULT_CHILD_WAIT_TIME {
        p.num("child_wait_time", g.child_wait_time.as_secs());
    }
}

/// `[PREFIX]notify_fifo` and `[PREFIX]notify_fifo_script`.
pub(super) fn notify_fifo(p: &mut P, prefix: &str, f: &NotifyFifo) {
    if let Some(n) = &f.name {
        let k = format!("{prefix}notify_fifo");
        let mut w = vec![k.as_str(), n.as_str()];
        if let Some((u, g)) = &f.user {
            w.push(u);
            if let Some(g) = g {
                w.push(g);
            }
        }
        p.line(&w);
    }
    p.script(&format!("{prefix}notify_fifo_script"), &f.script);
}

pub(super) fn global(p: &mut P, g: &GlobalDefs) {
    let d = GlobalDefs::default();
    p.open(&["global_defs"]);
    p.opt_s("router_id", &g.router_id);
    if !g.notification_email.is_empty() {
        p.open(&["notification_email"]);
        for e in &g.notification_email {
            p.value_line(std::slice::from_ref(e));
        }
        p.close();
    }
    p.opt_s("notification_email_from", &g.notification_email_from);
    if let Some((s, port)) = &g.smtp_server {
        p.line(&["smtp_server", s, &port.to_string()]);
    }
    p.opt_s("smtp_helo_name", &g.smtp_helo_name);
    p.num("smtp_connect_timeout", g.smtp_connect_timeout.as_secs());
    p.opt_bool("smtp_alert", g.smtp_alert);
    p.opt_bool("smtp_alert_vrrp", g.smtp_alert_vrrp);
    p.opt_bool("smtp_alert_checker", g.smtp_alert_checker);
    p.flag("enable_script_security", g.enable_script_security);
    p.user("script_user", &g.script_user);
    p.flag("vrrp_strict", g.vrrp_strict);
    p.flag("vrrp_skip_check_adv_addr", g.vrrp_skip_check_adv_addr);
    p.flag("vrrp_check_unicast_src", g.vrrp_check_unicast_src);
    p.num("vrrp_version", g.vrrp_version);
    if g.vrrp_mcast_group4 != d.vrrp_mcast_group4 {
        p.kv("vrrp_mcast_group4", &g.vrrp_mcast_group4.to_string());
    }
    if g.vrrp_mcast_group6 != d.vrrp_mcast_group6 {
        p.kv("vrrp_mcast_group6", &g.vrrp_mcast_group6.to_string());
    }
    p.num("vrrp_garp_master_delay", g.vrrp_garp_master_delay.as_secs());
    p.num("vrrp_garp_master_repeat", g.vrrp_garp_master_repeat);
    if let Some(r) = g.vrrp_garp_master_refresh {
        p.num("vrrp_garp_master_refresh", r.as_secs());
    }
    p.num(
        "vrrp_garp_master_refresh_repeat",
        g.vrrp_garp_master_refresh_repeat,
    );
    if let Some(x) = g.vrrp_garp_lower_prio_delay {
        p.num("vrrp_garp_lower_prio_delay", x.as_secs());
    }
    p.opt_num("vrrp_garp_lower_prio_repeat", g.vrrp_garp_lower_prio_repeat);
    if !g.vrrp_garp_interval.is_zero() {
        p.dur("vrrp_garp_interval", g.vrrp_garp_interval);
    }
    if !g.vrrp_gna_interval.is_zero() {
        p.dur("vrrp_gna_interval", g.vrrp_gna_interval);
    }
    p.flag("vrrp_lower_prio_no_advert", g.vrrp_lower_prio_no_advert);
    p.flag(
        "vrrp_higher_prio_send_advert",
        g.vrrp_higher_prio_send_advert,
    );
    p.flag("vrrp_owner_ignore_adverts", g.vrrp_owner_ignore_adverts);
    p.num("vrrp_down_timer_adverts", g.vrrp_down_timer_adverts);
    p.opt_dur("vrrp_startup_delay", g.vrrp_startup_delay);
    if let Some(l) = &g.lvs_sync_daemon {
        let mut w = vec![
            "lvs_sync_daemon".to_string(),
            l.interface.clone(),
            l.vrrp_instance.clone(),
        ];
        if let Some(x) = l.id {
            w.extend(["id".into(), x.to_string()]);
        }
        if let Some(x) = l.maxlen {
            w.extend(["maxlen".into(), x.to_string()]);
        }
        if let Some(x) = l.port {
            w.extend(["port".into(), x.to_string()]);
        }
        if let Some(x) = l.ttl {
            w.extend(["ttl".into(), x.to_string()]);
        }
        if let Some(x) = l.group {
            w.extend(["group".into(), x.to_string()]);
        }
        let wr: Vec<&str> = w.iter().map(String::as_str).collect();
        p.line(&wr);
    }
    p.flag("lvs_flush", g.lvs_flush);
    match g.lvs_flush_on_stop {
        FlushOnStop::No => {}
        FlushOnStop::Vs => p.line(&["lvs_flush_on_stop", "VS"]),
        FlushOnStop::Full => p.line(&["lvs_flush_on_stop"]),
    }
    if let Some(t) = &g.lvs_timeouts {
        let mut w = vec!["lvs_timeouts".to_string()];
        for (k, v) in [("tcp", t.tcp), ("tcpfin", t.tcpfin), ("udp", t.udp)] {
            if let Some(v) = v {
                w.extend([k.to_string(), v.to_string()]);
            }
        }
        let wr: Vec<&str> = w.iter().map(String::as_str).collect();
        p.line(&wr);
    }
    p.opt_s("default_interface", &g.default_interface);
    if g.allow_if_changes {
        p.line(&["dynamic_interfaces", "allow_if_changes"]);
    } else {
        p.flag("dynamic_interfaces", g.dynamic_interfaces);
    }
    p.flag("checker_log_all_failures", g.checker_log_all_failures);
    p.flag("no_email_faults", g.no_email_faults);
    notify_fifo(p, "", &g.notify_fifo);
    notify_fifo(p, "vrrp_", &g.vrrp_notify_fifo);
    notify_fifo(p, "lvs_", &g.lvs_notify_fifo);
    p.opt_s("vmac_prefix", &g.vmac_prefix);
    p.opt_s("vmac_addr_prefix", &g.vmac_addr_prefix);
    if !g.krs_vip_lease {
        p.kv("krs_vip_lease", "off");
    }
    if let Some(a) = g.metrics_listen {
        p.kv("metrics_listen", &a.to_string());
    }
    if !g.metrics_allow.is_empty() {
        let nets: Vec<String> = g
            .metrics_allow
            .iter()
            .map(|(a, l)| format!("{a}/{l}"))
            .collect();
        let mut w = vec!["metrics_allow"];
        w.extend(nets.iter().map(String::as_str));
        p.line(&w);
    }
    global_typed(p, g);
    p.stmts(&g.extra);
    p.close();
}

/// One process's scheduling keywords.
pub(super) fn sched(p: &mut P, prefix: &str, s: &ProcessSched) {
    if s.priority != 0 {
        p.num(&format!("{prefix}_priority"), s.priority);
    }
    p.flag(&format!("{prefix}_no_swap"), s.no_swap);
    p.opt_num(&format!("{prefix}_rt_priority"), s.rt_priority);
    if let Some(set) = &s.cpu_affinity {
        let k = format!("{prefix}_cpu_affinity");
        let ids: Vec<String> = set.iter().map(u16::to_string).collect();
        let mut w = vec![k.as_str()];
        w.extend(ids.iter().map(String::as_str));
        p.line(&w);
    }
    p.opt_num(&format!("{prefix}_rlimit_rttime"), s.rlimit_rttime);
}

pub(super) fn rcv_bufs(p: &mut P, k: &str, b: &RcvBufs) {
    p.opt_num(k, b.size);
    p.flag(&format!("{k}_force"), b.force);
}

/// The `global_defs` keywords no runtime reads yet.
pub(super) fn global_typed(p: &mut P, g: &GlobalDefs) {
    let n = &g.process_names;
    p.opt_s("process_name", &n.parent);
    p.opt_s("vrrp_process_name", &n.vrrp);
    p.opt_s("checker_process_name", &n.checker);
    p.opt_s("bfd_process_name", &n.bfd);
    p.script("startup_script", &g.startup_script);
    if let Some(d) = g.startup_script_timeout {
        p.num("startup_script_timeout", d.as_secs());
    }
    p.script("shutdown_script", &g.shutdown_script);
    if let Some(d) = g.shutdown_script_timeout {
        p.num("shutdown_script_timeout", d.as_secs());
    }
    p.opt_num("max_auto_priority", g.max_auto_priority);
    if let Some(d) = g.min_auto_priority_delay {
        p.num("min_auto_priority_delay", d.as_micros());
    }
    p.flag("disable_local_igmp", g.disable_local_igmp);
    p.flag("vrrp_min_garp", g.vrrp_min_garp);
    if let Some(x) = g.vrrp_garp_extra_if {
        let secs = x.interval.as_secs().to_string();
        if x.all {
            p.line(&["vrrp_garp_extra_if", "all", &secs]);
        } else {
            p.line(&["vrrp_garp_extra_if", &secs]);
        }
    }
    if let Some(sets) = &g.vrrp_ipsets {
        let mut w = vec!["vrrp_ipsets"];
        w.extend(sets.iter().map(String::as_str));
        p.line(&w);
    }
    let nf = &g.nftables;
    // `--compat 2.4.3`: the iptables backend's chains (by default `vrrp_iptables` is the
    // nftables table, written as `nftables NAME`)
    if let Some(c) = &nf.iptables {
        let mut w = vec!["vrrp_iptables", c.input.as_str()];
        w.extend(c.output.as_deref());
        p.line(&w);
    }
    p.opt_s("nftables", &nf.table);
    p.opt_num("nftables_priority", nf.priority);
    p.flag("nftables_ifindex", nf.ifindex);
    p.opt_s("nftables_ipvs", &nf.ipvs_table);
    p.opt_num("nftables_ipvs_priority", nf.ipvs_priority);
    p.opt_num("nftables_ipvs_start_fwmark", nf.ipvs_start_fwmark);
    p.flag("nftables_counters", nf.counters);
    sched(p, "vrrp", &g.vrrp_sched);
    sched(p, "checker", &g.checker_sched);
    sched(p, "bfd", &g.bfd_sched);
    p.flag(
        "vrrp_notify_priority_changes",
        g.vrrp_notify_priority_changes,
    );
    p.flag(
        "fifo_write_vrrp_states_on_reload",
        g.fifo_write_vrrp_states_on_reload,
    );
    p.opt_s("snmp_socket", &g.snmp.socket);
    p.flag("enable_traps", g.snmp.traps);
    p.flag("enable_snmp_vrrp", g.snmp.vrrp);
    p.flag("enable_snmp_rfcv2", g.snmp.rfcv2);
    p.flag("enable_snmp_rfcv3", g.snmp.rfcv3);
    p.flag("enable_snmp_checker", g.snmp.checker);
    p.flag("enable_dbus", g.enable_dbus);
    p.opt_s("dbus_service_name", &g.dbus_service_name);
    p.opt_s("dbus_no_interface_name", &g.dbus_no_interface_name);
    p.flag("use_symlink_paths", g.use_symlink_paths);
    p.opt_dur(
        "snmp_vs_stats_update_interval",
        g.snmp_vs_stats_update_interval,
    );
    p.opt_dur(
        "snmp_rs_stats_update_interval",
        g.snmp_rs_stats_update_interval,
    );
    p.opt_dur("vrrp_delay_after_boot", g.vrrp_delay_after_boot);
    p.opt_num("json_version", g.json_version);
    p.opt_s("iproute_usr_dir", &g.iproute_usr_dir);
    p.opt_s("iproute_etc_dir", &g.iproute_etc_dir);
    rcv_bufs(p, "vrrp_netlink_cmd_rcv_bufs", &g.vrrp_netlink_cmd_rcv_bufs);
    rcv_bufs(
        p,
        "vrrp_netlink_monitor_rcv_bufs",
        &g.vrrp_netlink_monitor_rcv_bufs,
    );
    rcv_bufs(p, "process_monitor_rcv_bufs", &g.process_monitor_rcv_bufs);
    rcv_bufs(p, "lvs_netlink_cmd_rcv_bufs", &g.lvs_netlink_cmd_rcv_bufs);
    rcv_bufs(
        p,
        "lvs_netlink_monitor_rcv_bufs",
        &g.lvs_netlink_monitor_rcv_bufs,
    );
    p.flag("rs_init_notifies", g.rs_init_notifies);
    p.flag("no_checker_emails", g.no_checker_emails);
    match g.vrrp_rx_bufs_policy {
        Some(RxBufsPolicy::Mtu) => p.kv("vrrp_rx_bufs_policy", "MTU"),
        Some(RxBufsPolicy::Advert) => p.kv("vrrp_rx_bufs_policy", "ADVERT"),
        Some(RxBufsPolicy::Size(n)) => p.num("vrrp_rx_bufs_policy", n),
        None => {}
    }
    p.opt_num("vrrp_rx_bufs_multiplier", g.vrrp_rx_bufs_multiplier);
    p.flag("log_unknown_vrids", g.log_unknown_vrids);
    if let Some(m) = g.umask {
        p.kv("umask", &format!("0{m:o}"));
    }
    p.opt_num("random_seed", g.random_seed);
    p.opt_s("reload_check_config", &g.reload_check_config);
    p.opt_s("reload_time_file", &g.reload_time_file);
    p.flag("reload_repeat", g.reload_repeat);
    match g.reload_file.as_deref() {
        Some("") => p.line(&["reload_file"]),
        Some(f) => p.kv("reload_file", f),
        None => {}
    }
    if let Some(c) = g.include_check {
        let mut w = vec!["include_check", "read"];
        for (on, name) in [
            (c.matches, "+match"),
            (c.wildcard_match, "+wildcard_match"),
            (c.brace_match, "+brace_match"),
        ] {
            if on {
                w.push(name);
            }
        }
        if !c.read {
            w.push("-read");
        }
        p.line(&w);
    }
    p.opt_s("config_save_dir", &g.config_save_dir);
    p.opt_s("tmp_config_directory", &g.tmp_config_directory);
    p.flag("data_use_instance", g.data_use_instance);
    p.opt_s("state_dump_file", &g.state_dump_file);
    p.opt_s("stats_dump_file", &g.stats_dump_file);
    p.opt_s("json_dump_file", &g.json_dump_file);
}
