#![allow(clippy::unwrap_used, clippy::panic)] // test code
//! The shipped unit file and flags file (dist/) fit the binary.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_keepalived");
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

// Proves the unit is Type=notify, reloads with HUP, reads both flag files and runs in the
// foreground (the daemon's sd_notify needs the main pid to stay).
#[test]
fn unit_file_shape() {
    let unit = std::fs::read_to_string(format!("{ROOT}/dist/systemd/keepalived.service")).unwrap();
    for needle in [
        "Type=notify",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "EnvironmentFile=-/etc/default/keepalived",
        "EnvironmentFile=-/etc/sysconfig/keepalived",
        "ExecStart=/usr/sbin/keepalived --dont-fork $DAEMON_ARGS $KEEPALIVED_OPTIONS",
    ] {
        assert!(unit.contains(needle), "{needle} missing");
    }
}

// Proves the example flags file's DAEMON_ARGS are accepted by our command line.
#[test]
fn default_flags_accepted() {
    let script =
        format!(". {ROOT}/dist/default/keepalived; exec {BIN} $DAEMON_ARGS --signum=RELOAD");
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n");
}

/// A /metrics text with every series present (one VRRP instance, one real server, IPVS
/// counters, the endpoint's own counters), as the daemon renders it.
fn full_metrics() -> String {
    use keepalived::metrics::*;
    let mut st = Status {
        implementation: "keepalived-rs".into(),
        version: "0.1.0".into(),
        http: Some(HttpMetrics {
            refused: [("acl".to_string(), 1u64)].into_iter().collect(),
            ..Default::default()
        }),
        ..Default::default()
    };
    st.parent.workers.push(WorkerInfo {
        worker: "vrrp".into(),
        up: true,
        ..Default::default()
    });
    st.workers.insert(
        "vrrp".into(),
        WorkerMetrics {
            vrrp_instances: vec![VrrpInstanceMetrics {
                name: "VI_1".into(),
                interface: "eth0".into(),
                vrid: 51,
                state: VrrpStateMetric::Master,
                drops: [("ip_ttl_err".to_string(), 2u64)].into_iter().collect(),
                auth_ext: [("auth_ext_replay".to_string(), 3u64)]
                    .into_iter()
                    .collect(),
                garp_delay_seconds: 5.0,
                ..Default::default()
            }],
            vrrp_counters: Some(Box::new(VrrpWorkerCounters {
                rejected: [("auth_failure".to_string(), 1u64)].into_iter().collect(),
                scripts: [("chk_nginx".to_string(), true)].into_iter().collect(),
                script_states: [("chk_nginx".to_string(), 1u8)].into_iter().collect(),
                ..Default::default()
            })),
            ..Default::default()
        },
    );
    st.workers.insert(
        "checker".into(),
        WorkerMetrics {
            real_servers: vec![RealServerMetrics {
                virtual_server: "10.0.0.10:80/TCP".into(),
                real_server: "10.0.1.1:80".into(),
                up: true,
                ..Default::default()
            }],
            ipvs_services: vec![IpvsServiceMetrics {
                service: "TCP 10.0.0.10:80".into(),
                ..Default::default()
            }],
            ipvs_destinations: vec![IpvsDestinationMetrics {
                service: "TCP 10.0.0.10:80".into(),
                destination: "10.0.1.1:80".into(),
                ..Default::default()
            }],
            ..Default::default()
        },
    );
    render(&st)
}

fn exported_names(text: &str) -> std::collections::BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .map(String::from)
        .collect()
}

// Proves every query of the shipped Grafana dashboard names at least one metric and only
// metrics the daemon exports.
#[test]
fn grafana_dashboard_queries_name_exported_metrics() {
    let exported = exported_names(&full_metrics());
    let text = std::fs::read_to_string(format!("{ROOT}/dist/grafana/keepalived-rs.json")).unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).unwrap();
    let panels = dash["panels"].as_array().unwrap();
    assert!(panels.len() >= 10);
    let mut n = 0;
    for p in panels {
        for t in p["targets"].as_array().unwrap() {
            let expr = t["expr"].as_str().unwrap();
            let names: Vec<&str> = expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("keepalived_"))
                .collect();
            assert!(!names.is_empty(), "{expr}: names no metric");
            for name in names {
                assert!(
                    exported.contains(name),
                    "{}: {expr}: {name} is not exported",
                    p["title"]
                );
            }
            n += 1;
        }
    }
    assert!(n >= 15, "{n} queries");
}

// Proves /metrics passes Prometheus's own linter (`promtool check metrics`, Debian
// `prometheus`) with every series present.
#[test]
fn promtool_check_metrics() {
    let text = full_metrics();
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = child.unwrap_or_else(|e| {
        panic!("promtool: {e} (apt-get install prometheus; scripts/test-all.sh install does it)")
    });
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// Proves /status, the status page and `keepalived --status` carry no configured secret: a
// configuration with every secret keyword set (VRRP auth_pass for PASS and AH, keepalived
// 2.4's auth_hmac keys in ASCII and hex, the SSL block's password and key, the SMTP server
// and addresses) gives a status (parent notes, the VRRP worker's and the checker's snapshots)
// that contains none of their values.
#[test]
fn status_never_contains_secrets() {
    use keepalived::metrics::*;
    let dir = std::env::temp_dir().join(format!("krs-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("k.conf");
    std::fs::write(
        &conf,
        "global_defs {
    router_id r1
    notification_email {
        Secret-Mailbox-1@example.org
    }
    notification_email_from Secret-From-2@example.org
    smtp_server 192.0.2.77 2525
}
SSL {
    password SecretSslPass3
    key /etc/keepalived/SecretKeyFile4.pem
    certificate /etc/keepalived/cert.pem
}
vrrp_instance VI_PASS {
    state MASTER
    interface lo
    virtual_router_id 51
    priority 100
    authentication {
        auth_type PASS
        auth_pass SecPas5
    }
    virtual_ipaddress {
        192.0.2.10/32
    }
}
vrrp_instance VI_AH {
    state BACKUP
    interface lo
    virtual_router_id 52
    priority 90
    authentication {
        auth_type AH
        auth_pass SecAh6
    }
    virtual_ipaddress {
        192.0.2.11/32
    }
}
vrrp_instance VI_HMAC {
    state BACKUP
    interface lo
    virtual_router_id 53
    priority 80
    auth_hmac {
        key 1 SecretHmacKey8-of-32-bytes-long-ok
        key 2 hex:5ec8e75ec8e75ec8e75ec8e75ec8e75ec8e75ec8e75ec8e75ec8e75ec8e75ec8
        active_key 1
    }
    virtual_ipaddress {
        192.0.2.12/32
    }
}
virtual_server 192.0.2.10 443 {
    delay_loop 6
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 198.51.100.1 443 {
        weight 1
        SSL_GET {
            url {
                path /
                status_code 200
            }
        }
    }
}
",
    )
    .unwrap();
    let loaded =
        keepalived::config::load(&conf, &keepalived::config::parse_options(None, false, None))
            .unwrap_or_else(|e| panic!("{e:?}"));
    let mut st = Status {
        implementation: "keepalived-rs".into(),
        ..Default::default()
    };
    st.parent.config_notes = ConfigNote::from_diagnostics(loaded.notes());
    let rt = vrrp_runtime::Metrics::default();
    let mut seen = keepalived::vrrp_worker::Seen::default();
    seen.transition("VI_PASS", "MASTER");
    seen.transition("VI_AH", "BACKUP");
    seen.transition("VI_HMAC", "BACKUP");
    st.workers.insert(
        "vrrp".into(),
        keepalived::vrrp_worker::worker_metrics_seen(&loaded, &rt, &seen),
    );
    let layout = keepalived::checker_worker::layout(loaded.config());
    let obs = keepalived::checker_worker::Observed::default();
    st.workers
        .insert("checker".into(), obs.status(&layout, &[]));
    let json = serde_json::to_string(&st).unwrap();
    assert!(
        json.contains("VI_PASS") && json.contains("VI_HMAC") && json.contains("198.51.100.1"),
        "{json}"
    );
    let metrics = render(&st);
    for secret in [
        "Secret-Mailbox-1",
        "Secret-From-2",
        "192.0.2.77",
        "SecretSslPass3",
        "SecretKeyFile4",
        "SecPas5",
        "SecAh6",
        "SecretHmacKey8",
        "5ec8e75ec8e7",
    ] {
        for (what, text) in [
            ("/status", &json),
            ("/metrics", &metrics),
            ("/", &keepalived::http::PAGE.to_string()),
            ("--status", &keepalived::status_cli::render(&st, 0.0)),
        ] {
            assert!(!text.contains(secret), "{what} contains {secret}:\n{text}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// Proves docs/metrics.md names only metrics the daemon exports: every `keepalived_*` name in
// the exporters' equivalence table (our column) and in the list of our own metrics is in
// /metrics, and the table's rows without an equivalent are the ones it says are missing.
#[test]
fn metrics_doc_names_exported_metrics() {
    let exported = exported_names(&full_metrics());
    let doc = std::fs::read_to_string(format!("{ROOT}/docs/metrics.md")).unwrap();
    let head = doc
        .split("## What the runtime does not expose yet")
        .next()
        .unwrap();
    let mut rows = 0;
    let mut missing = Vec::new();
    let mut named = 0;
    for line in head.lines() {
        let ours: &str = if line.starts_with("| ") && !line.starts_with("|---") {
            let cols: Vec<&str> = line.split('|').map(str::trim).collect();
            if cols.len() < 4 || cols[1].starts_with("gen2brain") {
                continue;
            }
            rows += 1;
            if cols[3].starts_with("missing") || cols[3].starts_with("not applicable") {
                missing.push(format!("{} {}", cols[1], cols[2]));
            }
            cols[3]
        } else if !line.starts_with('|') {
            line
        } else {
            continue;
        };
        for w in ours.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if w.starts_with("keepalived_") && !w.ends_with('_') {
                named += 1;
                assert!(
                    exported.contains(w),
                    "docs/metrics.md names {w}, not exported"
                );
            }
        }
    }
    assert!(rows >= 25, "{rows} table rows");
    assert!(named >= 50, "{named} names checked");
    assert_eq!(
        missing,
        ["— `keepalived_exporter_check_script_status`"],
        "rows without an equivalent"
    );
}
