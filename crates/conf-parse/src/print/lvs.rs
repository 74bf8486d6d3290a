//! Printing of `virtual_server` blocks and their checkers.

use super::*;

pub(super) fn virtual_server(p: &mut P, vs: &VirtualServer) {
    match &vs.key {
        VsKey::Addr(a, port) => p.open(&["virtual_server", &a.to_string(), &port.to_string()]),
        VsKey::Fwmark(m) => p.open(&["virtual_server", "fwmark", &m.to_string()]),
        VsKey::Group(g) => p.open(&["virtual_server", "group", g]),
    }
    if let Some(f) = vs.ip_family {
        p.kv("ip_family", f.name());
    }
    p.dur("delay_loop", vs.delay_loop);
    p.kv("lb_algo", vs.lb_algo.name());
    let f = vs.sched_flags;
    p.flag("ops", f.ops);
    p.flag("flag-1", f.flag1);
    p.flag("flag-2", f.flag2);
    p.flag("flag-3", f.flag3);
    p.kv("lb_kind", lb(vs.lb_kind));
    p.opt_num("persistence_timeout", vs.persistence_timeout);
    match vs.persistence_granularity {
        Some(Granularity::V4(m)) => p.kv("persistence_granularity", &m.to_string()),
        Some(Granularity::V6(b)) => p.num("persistence_granularity", b),
        None => {}
    }
    p.opt_s("persistence_engine", &vs.persistence_engine);
    p.kv(
        "protocol",
        match vs.protocol {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        },
    );
    p.flag("ha_suspend", vs.ha_suspend);
    p.opt_s("virtualhost", &vs.virtualhost);
    p.flag("alpha", vs.alpha);
    p.flag("omega", vs.omega);
    p.num("quorum", vs.quorum);
    p.num("hysteresis", vs.hysteresis);
    p.script("quorum_up", &vs.quorum_up);
    p.script("quorum_down", &vs.quorum_down);
    p.num("weight", vs.weight);
    if vs.inhibit_on_failure {
        p.line(&["inhibit_on_failure"]);
    }
    p.opt_num("retry", vs.retry);
    p.opt_dur("delay_before_retry", vs.delay_before_retry);
    p.opt_dur("warmup", vs.warmup);
    p.opt_dur("connect_timeout", vs.connect_timeout);
    p.opt_bool("smtp_alert", vs.smtp_alert);
    if let Some((a, port)) = &vs.sorry_server {
        p.line(&["sorry_server", &a.to_string(), &port.to_string()]);
    }
    p.flag("sorry_server_inhibit", vs.sorry_server_inhibit);
    if let Some(k) = vs.sorry_server_lvs_method {
        p.kv("sorry_server_lvs_method", lb(k));
    }
    p.opt_s("snmp_name", &vs.snmp_name);
    for rs in &vs.real_servers {
        match rs.port {
            Some(port) => p.open(&["real_server", &rs.addr.to_string(), &port.to_string()]),
            None => p.open(&["real_server", &rs.addr.to_string()]),
        }
        p.num("weight", rs.weight);
        if let Some(k) = rs.lvs_method {
            p.kv("lvs_method", lb(k));
        }
        p.opt_num("uthreshold", rs.uthreshold);
        p.opt_num("lthreshold", rs.lthreshold);
        p.opt_bool("inhibit_on_failure", rs.inhibit_on_failure);
        p.script("notify_up", &rs.notify_up);
        p.script("notify_down", &rs.notify_down);
        p.opt_bool("alpha", rs.alpha);
        p.opt_num("retry", rs.retry);
        p.opt_dur("delay_before_retry", rs.delay_before_retry);
        p.opt_dur("warmup", rs.warmup);
        p.opt_dur("connect_timeout", rs.connect_timeout);
        p.opt_dur("delay_loop", rs.delay_loop);
        p.opt_bool("smtp_alert", rs.smtp_alert);
        p.opt_s("virtualhost", &rs.virtualhost);
        p.opt_s("snmp_name", &rs.snmp_name);
        for c in &rs.checkers {
            checker(p, c);
        }
        p.stmts(&rs.extra);
        p.close();
    }
    p.stmts(&vs.extra);
    p.close();
}

pub(super) fn checker(p: &mut P, c: &Checker) {
    p.open(&[c.kind.keyword()]);
    let m = &c.common;
    let is_misc = matches!(c.kind, CheckerKind::Misc(_));
    let is_conn = !matches!(
        c.kind,
        CheckerKind::Misc(_) | CheckerKind::File(_) | CheckerKind::Bfd(_)
    );
    if is_conn {
        if let Some(a) = m.connect_ip {
            p.kv("connect_ip", &a.to_string());
        }
        p.opt_num("connect_port", m.connect_port);
        if let Some(a) = m.bindto {
            p.kv("bindto", &a.to_string());
        }
        p.opt_num("bind_port", m.bind_port);
        p.opt_s("bind_if", &m.bind_if);
        p.opt_num("fwmark", m.fwmark);
        p.dur("connect_timeout", m.connect_timeout);
    }
    if is_conn || is_misc {
        p.num("retry", m.retry);
        p.dur("delay_before_retry", m.delay_before_retry);
        p.dur("warmup", m.warmup);
        p.dur("delay_loop", m.delay_loop);
        p.kv("alpha", if m.alpha { "on" } else { "off" });
        p.flag("log_all_failures", m.log_all_failures);
    }
    match &c.kind {
        CheckerKind::Http(h) | CheckerKind::Ssl(h) => {
            p.opt_s("virtualhost", &h.virtualhost);
            if let Some(v) = h.http_protocol {
                p.kv("http_protocol", v.name());
            }
            p.flag("enable_sni", h.enable_sni);
            p.flag("fast_recovery", h.fast_recovery);
            p.flag("tls_compliant", h.tls_compliant);
            for u in &h.urls {
                p.open(&["url"]);
                p.kv("path", &u.path);
                if let Some(d) = &u.digest {
                    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
                    p.kv("digest", &hex);
                }
                if !u.status_codes.is_empty() {
                    let mut w = vec!["status_code".to_string()];
                    for (a, b) in &u.status_codes {
                        w.push(if a == b {
                            a.to_string()
                        } else {
                            format!("{a}-{b}")
                        });
                    }
                    let wr: Vec<&str> = w.iter().map(String::as_str).collect();
                    p.line(&wr);
                }
                p.opt_s("virtualhost", &u.virtualhost);
                p.opt_bool("tls_compliant", u.tls_compliant);
                p.opt_s("regex", &u.regex);
                p.flag("regex_no_match", u.regex_no_match);
                if !u.regex_options.is_empty() {
                    let mut w = vec!["regex_options"];
                    w.extend(u.regex_options.iter().map(String::as_str));
                    p.line(&w);
                }
                if u.regex_min_offset != 0 {
                    p.num("regex_min_offset", u.regex_min_offset);
                }
                p.opt_num("regex_max_offset", u.regex_max_offset);
                if let Some((a, b)) = u.regex_stack {
                    p.line(&["regex_stack", &a.to_string(), &b.to_string()]);
                }
                p.stmts(&u.extra);
                p.close();
            }
        }
        CheckerKind::Misc(x) => {
            p.kv("misc_path", &x.misc_path);
            if let Some(t) = x.misc_timeout {
                p.num("misc_timeout", t.as_secs());
            }
            p.flag("misc_dynamic", x.misc_dynamic);
            p.user("user", &x.user);
        }
        CheckerKind::Smtp(s) => {
            p.opt_s("helo_name", &s.helo_name);
            for h in &s.hosts {
                p.open(&["host"]);
                if let Some(a) = h.connect_ip {
                    p.kv("connect_ip", &a.to_string());
                }
                p.opt_num("connect_port", h.connect_port);
                if let Some(a) = h.bindto {
                    p.kv("bindto", &a.to_string());
                }
                p.opt_num("bind_port", h.bind_port);
                p.opt_s("bind_if", &h.bind_if);
                p.opt_num("fwmark", h.fwmark);
                p.opt_dur("connect_timeout", h.connect_timeout);
                p.close();
            }
        }
        CheckerKind::Dns(d) => {
            if let Some(ty) = d.qtype {
                p.kv("type", ty.name());
            }
            p.opt_s("name", &d.name);
        }
        CheckerKind::Udp(u) => {
            if let Some(pl) = &u.payload {
                let h = HexPattern {
                    data: pl.clone(),
                    mask: None,
                };
                p.kv("payload", &h.to_hex());
            }
            if let Some(r) = &u.require_reply {
                if r.data.is_empty() {
                    p.line(&["require_reply"]);
                } else {
                    p.kv("require_reply", &r.to_hex());
                }
            }
            p.opt_num("min_reply_length", u.min_reply_length);
            p.opt_num("max_reply_length", u.max_reply_length);
        }
        CheckerKind::File(f) => {
            p.kv("track_file", &f.track_file);
            if let Some(w) = f.weight {
                let mut v = vec!["weight".to_string()];
                v.extend(weight_words(w, f.weight_reverse));
                let wr: Vec<&str> = v.iter().map(String::as_str).collect();
                p.line(&wr);
            }
        }
        CheckerKind::Bfd(b) => p.kv("name", &b.name),
        CheckerKind::Tcp | CheckerKind::Ping => {}
    }
    p.stmts(&c.extra);
    p.close();
    let _ = write!(String::new(), "");
}
