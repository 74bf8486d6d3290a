//! Rendering of the metrics in the Prometheus text exposition format.

use super::*;

fn render_bfd(o: &mut Out, status: &Status) {
    let bfd: Vec<&BfdSessionMetrics> = status
        .workers
        .values()
        .flat_map(|w| w.bfd_sessions.iter())
        .collect();
    type BF = fn(&BfdSessionMetrics) -> f64;
    let series: [(&str, &str, &str, BF); 7] = [
        (
            "keepalived_bfd_state",
            "gauge",
            "BFD session state: 0 admindown, 1 down, 2 init, 3 up.",
            |b| f64::from(b.state_code()),
        ),
        (
            "keepalived_bfd_remote_discriminator",
            "gauge",
            "Remote discriminator (0: none).",
            |b| f64::from(b.remote_discriminator),
        ),
        (
            "keepalived_bfd_tx_interval_seconds",
            "gauge",
            "Agreed transmit interval.",
            |b| b.tx_interval_us as f64 / 1e6,
        ),
        (
            "keepalived_bfd_detection_time_seconds",
            "gauge",
            "Detection time (remote multiplier x agreed receive interval).",
            |b| b.detection_time_us as f64 / 1e6,
        ),
        (
            "keepalived_bfd_state_changes_total",
            "counter",
            "BFD session state changes.",
            |b| b.state_changes as f64,
        ),
        (
            "keepalived_bfd_detection_timeouts_total",
            "counter",
            "Downs because the detection time expired.",
            |b| b.detection_timeouts as f64,
        ),
        (
            "keepalived_bfd_rx_refused_total",
            "counter",
            "Control packets refused by the session.",
            |b| b.rx_refused as f64,
        ),
    ];
    for (name, kind, help, f) in series {
        o.head(name, kind, help);
        for b in &bfd {
            o.val(
                name,
                &[("instance", &b.name), ("neighbor", &b.neighbor)],
                f(b),
            );
        }
    }
}

fn esc(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

struct Out(String);

impl Out {
    fn head(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }
    fn val(&mut self, name: &str, labels: &[(&str, &str)], v: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, lv)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", esc(lv));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {v}");
    }
}

fn render_http(o: &mut Out, h: &HttpMetrics) {
    let gauges: [(&str, &str, u64); 2] = [
        (
            "keepalived_http_connections",
            "Metrics endpoint connections being served.",
            h.connections,
        ),
        (
            "keepalived_http_connections_max",
            "Metrics endpoint cap on connections served at once.",
            h.max_connections,
        ),
    ];
    for (name, help, v) in gauges {
        o.head(name, "gauge", help);
        o.val(name, &[], v as f64);
    }
    let counters: [(&str, &str, u64); 3] = [
        (
            "keepalived_http_connections_accepted_total",
            "Metrics endpoint connections accepted and served.",
            h.accepted,
        ),
        (
            "keepalived_http_connections_evicted_total",
            "Metrics endpoint connections closed to make room (no complete request yet).",
            h.evicted,
        ),
        (
            "keepalived_http_connections_expired_total",
            "Metrics endpoint connections closed at the per-connection time limit.",
            h.expired,
        ),
    ];
    for (name, help, v) in counters {
        o.head(name, "counter", help);
        o.val(name, &[], v as f64);
    }
    let name = "keepalived_http_connections_refused_total";
    o.head(
        name,
        "counter",
        "Metrics endpoint connections closed unserved, per reason (acl, limit, fd).",
    );
    for (reason, n) in &h.refused {
        o.val(name, &[("reason", reason)], *n as f64);
    }
}

/// Render the Prometheus text exposition format (version 0.0.4).
pub fn render(status: &Status) -> String {
    let mut o = Out(String::new());
    let p = &status.parent;
    o.head(
        "keepalived_up",
        "gauge",
        "The daemon answers (1); the third-party exporters' keepalived_up.",
    );
    o.val("keepalived_up", &[], 1.0);
    o.head(
        "keepalived_info",
        "gauge",
        "keepalived-rs build information.",
    );
    o.val(
        "keepalived_info",
        &[
            ("implementation", &status.implementation),
            ("version", &status.version),
        ],
        1.0,
    );
    o.head(
        "keepalived_start_time_seconds",
        "gauge",
        "Unix time the parent process started.",
    );
    o.val("keepalived_start_time_seconds", &[], p.start_time as f64);
    o.head("keepalived_reloads_total", "counter", "Accepted reloads.");
    o.val("keepalived_reloads_total", &[], p.reloads as f64);
    o.head(
        "keepalived_reload_failures_total",
        "counter",
        "Reloads rejected because the new configuration had errors.",
    );
    o.val(
        "keepalived_reload_failures_total",
        &[],
        p.reload_failures as f64,
    );
    o.head(
        "keepalived_last_reload_success_timestamp_seconds",
        "gauge",
        "Unix time of the last accepted (re)load.",
    );
    o.val(
        "keepalived_last_reload_success_timestamp_seconds",
        &[],
        p.last_reload_success as f64,
    );
    o.head(
        "keepalived_config_errors",
        "gauge",
        "Errors found in the last configuration read.",
    );
    o.val("keepalived_config_errors", &[], p.config_errors as f64);
    o.head(
        "keepalived_config_warnings",
        "gauge",
        "Warnings in the running configuration.",
    );
    o.val("keepalived_config_warnings", &[], p.config_warnings as f64);
    o.head("keepalived_worker_up", "gauge", "Worker process running.");
    for w in &p.workers {
        o.val(
            "keepalived_worker_up",
            &[("worker", &w.worker)],
            if w.up { 1.0 } else { 0.0 },
        );
    }
    o.head(
        "keepalived_worker_restarts_total",
        "counter",
        "Worker respawns.",
    );
    for w in &p.workers {
        o.val(
            "keepalived_worker_restarts_total",
            &[("worker", &w.worker)],
            w.restarts as f64,
        );
    }

    if let Some(h) = &status.http {
        render_http(&mut o, h);
    }

    let vrrp: Vec<&VrrpInstanceMetrics> = status
        .workers
        .values()
        .flat_map(|w| w.vrrp_instances.iter())
        .collect();
    let rs: Vec<&RealServerMetrics> = status
        .workers
        .values()
        .flat_map(|w| w.real_servers.iter())
        .collect();
    let svc: Vec<&IpvsServiceMetrics> = status
        .workers
        .values()
        .flat_map(|w| w.ipvs_services.iter())
        .collect();
    let dst: Vec<&IpvsDestinationMetrics> = status
        .workers
        .values()
        .flat_map(|w| w.ipvs_destinations.iter())
        .collect();

    type VF = fn(&VrrpInstanceMetrics) -> f64;
    let vrrp_series: [(&str, &str, &str, VF); 11] = [
        (
            "keepalived_vrrp_state",
            "gauge",
            "VRRP state: 0 init, 1 backup, 2 master, 3 fault, 4 stop.",
            |v| f64::from(v.state.code()),
        ),
        (
            "keepalived_vrrp_priority",
            "gauge",
            "Configured priority.",
            |v| f64::from(v.priority),
        ),
        (
            "keepalived_vrrp_effective_priority",
            "gauge",
            "Priority after tracking.",
            |v| f64::from(v.effective_priority),
        ),
        (
            "keepalived_vrrp_transitions_total",
            "counter",
            "State transitions.",
            |v| v.transitions as f64,
        ),
        (
            "keepalived_vrrp_adverts_sent_total",
            "counter",
            "Adverts sent.",
            |v| v.adverts_sent as f64,
        ),
        (
            "keepalived_vrrp_adverts_received_total",
            "counter",
            "Adverts received.",
            |v| v.adverts_received as f64,
        ),
        (
            "keepalived_vrrp_become_master_total",
            "counter",
            "Transitions to MASTER seen by this VRRP worker.",
            |v| v.become_master as f64,
        ),
        (
            "keepalived_vrrp_release_master_total",
            "counter",
            "Transitions out of MASTER seen by this VRRP worker.",
            |v| v.release_master as f64,
        ),
        (
            "keepalived_vrrp_priority_zero_sent_total",
            "counter",
            "Adverts with priority 0 sent (mastership resigned).",
            |v| v.pri_zero_sent as f64,
        ),
        (
            "keepalived_vrrp_priority_zero_received_total",
            "counter",
            "Adverts with priority 0 received (the master resigned).",
            |v| v.pri_zero_received as f64,
        ),
        (
            "keepalived_vrrp_garp_delay_seconds",
            "gauge",
            "Delay of the second gratuitous ARP / NA burst after becoming master \
             (garp_master_delay).",
            |v| v.garp_delay_seconds,
        ),
    ];
    for (name, kind, help, f) in vrrp_series {
        o.head(name, kind, help);
        for v in &vrrp {
            let vrid = v.vrid.to_string();
            o.val(
                name,
                &[
                    ("instance", &v.name),
                    ("interface", &v.interface),
                    ("vrid", &vrid),
                ],
                f(v),
            );
        }
    }
    o.head(
        "keepalived_vrrp_drops_total",
        "counter",
        "Received VRRP packets dropped, per reason.",
    );
    for v in &vrrp {
        for (reason, n) in &v.drops {
            o.val(
                "keepalived_vrrp_drops_total",
                &[("instance", &v.name), ("reason", reason)],
                *n as f64,
            );
        }
    }
    o.head(
        "keepalived_vrrp_auth_ext_errors_total",
        "counter",
        "Adverts rejected by auth_hmac (keepalived 2.4 auth_ext_* counters), per instance and \
         counter (auth_ext_missing, auth_ext_malformed, auth_ext_unknown_key, \
         auth_ext_invalid_hmac, auth_ext_stale, auth_ext_replay).",
    );
    for v in &vrrp {
        for (reason, n) in &v.auth_ext {
            o.val(
                "keepalived_vrrp_auth_ext_errors_total",
                &[("instance", &v.name), ("counter", reason)],
                *n as f64,
            );
        }
    }

    // Worker-wide VRRP counters (the runtime does not split them per instance).
    let counters: Vec<&VrrpWorkerCounters> = status
        .workers
        .values()
        .filter_map(|w| w.vrrp_counters.as_deref())
        .collect();
    type CF = fn(&VrrpWorkerCounters) -> f64;
    let c_series: [(&str, &str, CF); 5] = [
        (
            "keepalived_vrrp_garp_sent_total",
            "Gratuitous ARPs and unsolicited neighbour adverts sent (all instances).",
            |c| c.garps_sent as f64,
        ),
        (
            "keepalived_vrrp_adverts_rejected_total",
            "Received adverts rejected, any reason (all instances).",
            |c| c.adverts_rejected as f64,
        ),
        (
            "keepalived_vrrp_unknown_vrid_total",
            "Received adverts for a VRID no instance has.",
            |c| c.unknown_vrid as f64,
        ),
        (
            "keepalived_vrrp_vip_errors_total",
            "Virtual address add/remove errors.",
            |c| c.vip_errors as f64,
        ),
        (
            "keepalived_vrrp_send_errors_total",
            "Advert send errors.",
            |c| c.send_errors as f64,
        ),
    ];
    for (name, help, f) in c_series {
        o.head(name, "counter", help);
        for c in &counters {
            o.val(name, &[], f(c));
        }
    }
    let name = "keepalived_vrrp_rx_errors_total";
    o.head(
        name,
        "counter",
        "Received adverts rejected, per keepalived reason (packet_len_err, ip_ttl_err, \
         adver_int_err, invalid_type_rcvd, addr_list_err, invalid_authtype, authtype_mismatch, \
         auth_failure, ...), all instances.",
    );
    for c in &counters {
        for (reason, n) in &c.rejected {
            o.val(name, &[("reason", reason)], *n as f64);
        }
    }

    let name = "keepalived_vrrp_script_status";
    o.head(
        name,
        "gauge",
        "Last result of each running vrrp_script: 1 success, 0 failure.",
    );
    for c in &counters {
        for (script, ok) in &c.scripts {
            o.val(name, &[("name", script)], if *ok { 1.0 } else { 0.0 });
        }
    }
    let name = "keepalived_vrrp_script_state";
    o.head(
        name,
        "gauge",
        "Run state of each running vrrp_script: 0 idle, 1 running, 2 requested termination \
         (timed out, SIGTERM), 3 forcing termination (SIGKILL).",
    );
    for c in &counters {
        for (script, st) in &c.script_states {
            o.val(name, &[("name", script)], f64::from(*st));
        }
    }

    type RF = fn(&RealServerMetrics) -> f64;
    let rs_series: [(&str, &str, &str, RF); 9] = [
        (
            "keepalived_real_server_up",
            "gauge",
            "Real server up.",
            |r| {
                if r.up {
                    1.0
                } else {
                    0.0
                }
            },
        ),
        (
            "keepalived_real_server_weight",
            "gauge",
            "Current weight.",
            |r| f64::from(r.weight),
        ),
        (
            "keepalived_checks_total",
            "counter",
            "Health checks run.",
            |r| r.checks as f64,
        ),
        (
            "keepalived_check_failures_total",
            "counter",
            "Health checks failed.",
            |r| r.check_failures as f64,
        ),
        (
            "keepalived_check_last_duration_seconds",
            "gauge",
            "Duration of the last health check.",
            |r| r.last_check_seconds,
        ),
        (
            "keepalived_real_server_configured_weight",
            "gauge",
            "Configured weight.",
            |r| f64::from(r.configured_weight),
        ),
        (
            "keepalived_real_server_active_connections",
            "gauge",
            "IPVS active connections of the real server.",
            |r| r.active_connections as f64,
        ),
        (
            "keepalived_real_server_inactive_connections",
            "gauge",
            "IPVS inactive connections of the real server.",
            |r| r.inactive_connections as f64,
        ),
        (
            "keepalived_real_server_connections_per_second",
            "gauge",
            "IPVS connection rate of the real server.",
            |r| r.cps as f64,
        ),
    ];
    for (name, kind, help, f) in rs_series {
        o.head(name, kind, help);
        for r in &rs {
            o.val(
                name,
                &[
                    ("virtual_server", &r.virtual_server),
                    ("real_server", &r.real_server),
                ],
                f(r),
            );
        }
    }

    type SF = fn(&IpvsServiceMetrics) -> f64;
    let svc_series: [(&str, &str, SF); 5] = [
        (
            "keepalived_ipvs_service_connections_total",
            "Connections.",
            |s| s.connections as f64,
        ),
        (
            "keepalived_ipvs_service_packets_in_total",
            "Packets in.",
            |s| s.packets_in as f64,
        ),
        (
            "keepalived_ipvs_service_packets_out_total",
            "Packets out.",
            |s| s.packets_out as f64,
        ),
        ("keepalived_ipvs_service_bytes_in_total", "Bytes in.", |s| {
            s.bytes_in as f64
        }),
        (
            "keepalived_ipvs_service_bytes_out_total",
            "Bytes out.",
            |s| s.bytes_out as f64,
        ),
    ];
    for (name, help, f) in svc_series {
        o.head(name, "counter", help);
        for s in &svc {
            o.val(name, &[("service", &s.service)], f(s));
        }
    }
    type DF = fn(&IpvsDestinationMetrics) -> f64;
    let dst_series: [(&str, &str, &str, DF); 7] = [
        (
            "keepalived_ipvs_destination_active_connections",
            "gauge",
            "Active connections.",
            |d| d.active_connections as f64,
        ),
        (
            "keepalived_ipvs_destination_inactive_connections",
            "gauge",
            "Inactive connections.",
            |d| d.inactive_connections as f64,
        ),
        (
            "keepalived_ipvs_destination_connections_total",
            "counter",
            "Connections.",
            |d| d.connections as f64,
        ),
        (
            "keepalived_ipvs_destination_bytes_in_total",
            "counter",
            "Bytes in.",
            |d| d.bytes_in as f64,
        ),
        (
            "keepalived_ipvs_destination_bytes_out_total",
            "counter",
            "Bytes out.",
            |d| d.bytes_out as f64,
        ),
        (
            "keepalived_ipvs_destination_packets_in_total",
            "counter",
            "Packets in.",
            |d| d.packets_in as f64,
        ),
        (
            "keepalived_ipvs_destination_packets_out_total",
            "counter",
            "Packets out.",
            |d| d.packets_out as f64,
        ),
    ];
    for (name, kind, help, f) in dst_series {
        o.head(name, kind, help);
        for d in &dst {
            o.val(
                name,
                &[("service", &d.service), ("destination", &d.destination)],
                f(d),
            );
        }
    }
    render_bfd(&mut o, status);
    o.0
}
