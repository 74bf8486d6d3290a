//! Verdict equality with the reference keepalived 2.2.7: for every seed configuration,
//! `keepalived -t -f FILE` and our library (parse + system checks + exit-code mapping)
//! agree on the exit code and on the set of line numbers flagged.
//!
//! Runs unprivileged (the reference `-t` works without root); needs /usr/sbin/keepalived.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const REFERENCE: &str = "/usr/sbin/keepalived";

fn seed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed-configs")
}

fn seeds() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(seed_dir())
        .expect("seed-configs directory")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    v.sort();
    v
}

/// Reference verdict: exit code and the line numbers in "(FILE: Line N)" / "(Line N)".
fn reference(file: &Path) -> (i32, BTreeSet<u32>) {
    let out = Command::new(REFERENCE)
        .args(["-t", "-l", "-D", "-f"])
        .arg(file)
        .output()
        .expect("run the reference keepalived");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = BTreeSet::new();
    for l in text.lines() {
        if let Some(i) = l.find("Line ") {
            let digits: String = l[i + 5..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse() {
                lines.insert(n);
            }
        }
    }
    (out.status.code().unwrap_or(-1), lines)
}

/// Our verdict through the same path `keepalived -t` will take.
fn ours(file: &Path) -> (i32, BTreeSet<u32>, String) {
    let opts = conf_parse::ParseOptions::default();
    let parsed = conf_parse::parse_file(file, &opts);
    let sys = conf_parse::system_checks(&parsed.config);
    let code = conf_parse::exit_code(&parsed, &sys);
    let mut lines = BTreeSet::new();
    let mut text = String::new();
    for d in parsed.diagnostics.iter().chain(&sys) {
        if d.counts() {
            text.push_str(&format!("{d}\n"));
            if d.code.reference_has_line() && d.span.line > 0 {
                lines.insert(d.span.line);
            }
        }
    }
    (code, lines, text)
}

/// Every seed config: same exit code, same flagged lines as the reference.
#[test]
fn seed_configs_same_verdict_as_reference() {
    assert!(
        Path::new(REFERENCE).exists(),
        "the reference keepalived is needed at {REFERENCE}"
    );
    let seeds = seeds();
    assert!(
        seeds.len() >= 9,
        "expected the seed configs, found {}",
        seeds.len()
    );
    let mut failures = Vec::new();
    for f in &seeds {
        let (rc, rl) = reference(f);
        let (oc, ol, text) = ours(f);
        if rc != oc || rl != ol {
            failures.push(format!(
                "{}: reference exit {rc} lines {rl:?}; ours exit {oc} lines {ol:?}\n{text}",
                f.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "verdict mismatches:\n{}",
        failures.join("\n")
    );
}

/// Hand-made mistakes beyond the seeds: same verdict as the reference too.
#[test]
fn crafted_configs_same_verdict_as_reference() {
    let dir = std::env::temp_dir().join(format!("conf-verdicts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cases: &[(&str, &str)] = &[
        ("unknown-global", "global_defs {\n  router_id X\n  foo_bar 1\n}\n"),
        (
            "vrid-range",
            "vrrp_instance V {\n  interface eth0\n  virtual_router_id 300\n  priority 100\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n",
        ),
        (
            "extra-brace",
            "vrrp_instance V {\n  interface eth0\n  virtual_router_id 30\n  priority 100\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n}\n",
        ),
        (
            "missing-brace",
            "vrrp_instance V {\n  interface eth0\n  virtual_router_id 30\n  virtual_ipaddress {\n    10.0.0.1\n  }\n",
        ),
        (
            "missing-include",
            "include /nonexistent/x.conf\nvrrp_instance V {\n  interface eth0\n  virtual_router_id 30\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n",
        ),
        (
            "clean",
            "global_defs {\n  router_id ok\n}\nvrrp_instance V {\n  state MASTER\n  interface eth0\n  virtual_router_id 30\n  priority 150\n  advert_int 0.5\n  virtual_ipaddress {\n    10.0.0.1/24 dev eth0\n  }\n}\n",
        ),
        (
            "vs-unset-defaults-and-duplicate-rs",
            "virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    weight 1\n  }\n  real_server 10.0.0.2 80 {\n    weight 2\n  }\n}\n",
        ),
        (
            "vs-no-real-servers",
            "virtual_server 10.0.0.1 80 {\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n}\n",
        ),
        (
            "vs-clean",
            "virtual_server 10.0.0.1 80 {\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n  real_server 10.0.0.2 80 {\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }\n}\n",
        ),
        (
            "loopback",
            "vrrp_instance V {\n  interface lo\n  virtual_router_id 3\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n",
        ),
        (
            "tcp-check-nb-get-retry-and-deprecated-synonym",
            "global_defs {\n  lvs_flush_onstop\n}\nvirtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    TCP_CHECK {\n      nb_get_retry 3\n    }\n    HTTP_GET {\n      url {\n        path /\n      }\n      nb_get_retry 2\n    }\n  }\n}\n",
        ),
        (
            "static-route-rule-track-group",
            "track_group TG {\n  group {\n    V\n  }\n}\nstatic_routes {\n  10.77.0.0/24 via 192.0.2.254 dev lo track_group TG\n  10.78.0.0/24 via 192.0.2.254 track_group TG\n  10.79.0.0/24 dev lo track_group NOPE\n  10.81.0.0/24 dev lo track_group TG track_group TG\n}\nstatic_rules {\n  from 10.79.0.0/24 iif lo preference 100 table 100 track_group TG\n  from 10.80.0.0/24 preference 101 table 100 track_group TG\n  from 10.82.0.0/24 iif lo preference 102 table 100 track_group NOPE\n}\nvrrp_instance V {\n  interface lo\n  virtual_router_id 3\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n",
        ),
        (
            "priority-range",
            "vrrp_instance V {\n  interface eth0\n  virtual_router_id 3\n  priority 256\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n",
        ),
    ];
    let mut failures = Vec::new();
    for (name, text) in cases {
        let f = dir.join(format!("{name}.conf"));
        std::fs::write(&f, text).expect("write case");
        let (rc, rl) = reference(&f);
        let (oc, ol, ours_text) = ours(&f);
        if rc != oc || rl != ol {
            failures.push(format!(
                "{name}: reference exit {rc} lines {rl:?}; ours exit {oc} lines {ol:?}\n{ours_text}"
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        failures.is_empty(),
        "verdict mismatches:\n{}",
        failures.join("\n")
    );
}
