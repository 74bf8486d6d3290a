//! Printing of `vrrp_instance` blocks.

use super::*;

pub(super) fn instance(p: &mut P, v: &VrrpInstance) {
    p.open(&["vrrp_instance", &v.name]);
    p.kv(
        "state",
        if v.state == VrrpState::Master {
            "MASTER"
        } else {
            "BACKUP"
        },
    );
    // the interfaces a later `interface` replaced, in order (keepalived checks each one)
    for (i, _) in &v.replaced_interfaces {
        p.kv("interface", i);
    }
    p.opt_s("interface", &v.interface);
    p.opt_num("virtual_router_id", v.virtual_router_id);
    p.num("priority", v.priority);
    p.dur("advert_int", v.advert_int);
    p.opt_num("version", v.version);
    if let Some(m) = &v.use_vmac {
        match &m.name {
            Some(n) => p.line(&["use_vmac", n]),
            None => p.line(&["use_vmac"]),
        }
    }
    p.flag("vmac_xmit_base", v.vmac_xmit_base);
    p.flag("use_vmac_addr", v.use_vmac_addr);
    for (k, a) in [
        ("mcast_src_ip", v.mcast_src_ip),
        ("unicast_src_ip", v.unicast_src_ip),
        ("mcast_dst_ip", v.mcast_dst_ip),
    ] {
        if let Some(a) = a {
            p.kv(k, &a.to_string());
        }
    }
    if !v.unicast_peer.is_empty() {
        p.open(&["unicast_peer"]);
        for u in &v.unicast_peer {
            let mut w = vec![u.addr.to_string()];
            if let Some(t) = u.min_ttl {
                w.extend(["min_ttl".into(), t.to_string()]);
            }
            if let Some(t) = u.max_ttl {
                w.extend(["max_ttl".into(), t.to_string()]);
            }
            p.value_line(&w);
        }
        p.close();
    }
    // keepalived rejects `unicast_ttl` without unicast peers: the default is not printed then
    if !v.unicast_peer.is_empty() || v.unicast_ttl != 255 {
        p.num("unicast_ttl", v.unicast_ttl);
    }
    p.flag("unicast_fault_no_peer", v.unicast_fault_no_peer);
    p.flag("check_unicast_src", v.check_unicast_src);
    p.addrs("virtual_ipaddress", &v.virtual_ipaddress);
    p.addrs("virtual_ipaddress_excluded", &v.virtual_ipaddress_excluded);
    p.routes("virtual_routes", &v.virtual_routes);
    p.rules("virtual_rules", &v.virtual_rules);
    if let Some(a) = &v.authentication {
        p.open(&["authentication"]);
        p.kv(
            "auth_type",
            if a.auth_type == AuthType::Pass {
                "PASS"
            } else {
                "AH"
            },
        );
        p.kv("auth_pass", &a.auth_pass);
        p.close();
    }
    if let Some(a) = &v.auth_hmac {
        p.open(&["auth_hmac"]);
        for k in &a.keys {
            p.line(&["key", &k.id.to_string(), &k.value.as_written()]);
        }
        p.opt_num("active_key", a.active_key);
        match a.anti_replay {
            Some(AuthHmacAntiReplay::Time) => p.kv("anti_replay", "time"),
            Some(AuthHmacAntiReplay::Monotonic) => p.kv("anti_replay", "monotonic"),
            None => {}
        }
        p.opt_num("time_window", a.time_window);
        if let Some(m) = a.mode {
            p.kv("mode", m.as_str());
        }
        p.close();
    }
    p.track("track_interface", &v.track_interface);
    p.track("track_script", &v.track_script);
    p.track("track_file", &v.track_file);
    p.track("track_process", &v.track_process);
    p.track("track_bfd", &v.track_bfd);
    p.flag("dont_track_primary", v.dont_track_primary);
    p.flag("track_src_ip", v.track_src_ip);
    match v.accept {
        Some(true) => p.line(&["accept"]),
        Some(false) => p.line(&["no_accept"]),
        None => {}
    }
    p.line(&[if v.preempt { "preempt" } else { "nopreempt" }]);
    p.dur("preempt_delay", v.preempt_delay);
    p.opt_bool("strict_mode", v.strict_mode);
    p.opt_bool("skip_check_adv_addr", v.skip_check_adv_addr);
    p.opt_bool("v3_checksum_as_v2", v.v3_checksum_as_v2);
    p.flag("no_virtual_ipaddress", v.no_virtual_ipaddress);
    p.flag("native_ipv6", v.native_ipv6);
    p.flag("promote_secondaries", v.promote_secondaries);
    if let Some(d) = v.garp_master_delay {
        p.num("garp_master_delay", d.as_secs());
    }
    p.opt_num("garp_master_repeat", v.garp_master_repeat);
    if let Some(d) = v.garp_master_refresh {
        p.num("garp_master_refresh", d.as_secs());
    }
    p.opt_num("garp_master_refresh_repeat", v.garp_master_refresh_repeat);
    if let Some(d) = v.garp_lower_prio_delay {
        p.num("garp_lower_prio_delay", d.as_secs());
    }
    p.opt_num("garp_lower_prio_repeat", v.garp_lower_prio_repeat);
    p.opt_bool("lower_prio_no_advert", v.lower_prio_no_advert);
    p.opt_bool("higher_prio_send_advert", v.higher_prio_send_advert);
    p.opt_bool("owner_ignore_adverts", v.owner_ignore_adverts);
    p.opt_num("down_timer_adverts", v.down_timer_adverts);
    p.opt_num("timer_expired_backup", v.timer_expired_backup);
    p.script("notify_master", &v.notify_master);
    p.script("notify_backup", &v.notify_backup);
    p.script("notify_fault", &v.notify_fault);
    p.script("notify_stop", &v.notify_stop);
    if v.notify_deleted.is_some() {
        p.script("notify_deleted", &v.notify_deleted);
    } else {
        p.flag("notify_deleted", v.notify_deleted_set);
    }
    p.script("notify", &v.notify);
    p.script("notify_master_rx_lower_pri", &v.notify_master_rx_lower_pri);
    p.opt_bool("smtp_alert", v.smtp_alert);
    p.opt_s("lvs_sync_daemon_interface", &v.lvs_sync_daemon_interface);
    p.opt_num("debug", v.debug);
    instance_typed(p, v);
    p.stmts(&v.extra);
    p.close();
}

/// The vrrp_instance keywords no runtime reads yet.
pub(super) fn instance_typed(p: &mut P, v: &VrrpInstance) {
    if let Some(x) = &v.use_ipvlan {
        let mut w = vec!["use_ipvlan".to_string()];
        if let Some(n) = &x.name {
            w.extend(["name".to_string(), n.clone()]);
        }
        if let Some((a, l)) = x.addr {
            w.push(match l {
                Some(l) => format!("{a}/{l}"),
                None => a.to_string(),
            });
        }
        if let Some(m) = x.mode {
            w.push(m.name().to_string());
        }
        let wr: Vec<&str> = w.iter().map(String::as_str).collect();
        p.line(&wr);
    }
    match v.old_unicast_checksum {
        Some(OldUnicastChecksum::Config) => p.line(&["old_unicast_checksum"]),
        Some(OldUnicastChecksum::Never) => p.kv("old_unicast_checksum", "never"),
        None => {}
    }
    p.opt_s("vrf", &v.vrf);
    p.flag("linkbeat_use_polling", v.linkbeat_use_polling);
    p.opt_bool("notify_priority_changes", v.notify_priority_changes);
    if let Some(x) = v.garp_extra_if {
        let secs = x.interval.as_secs().to_string();
        if x.all {
            p.line(&["garp_extra_if", "all", &secs]);
        } else {
            p.line(&["garp_extra_if", &secs]);
        }
    }
    p.opt_num("kernel_rx_buf_size", v.kernel_rx_buf_size);
}
