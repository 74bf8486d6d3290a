#![allow(clippy::unwrap_used, clippy::panic)] // test code
//! Every configuration under `examples/` passes `keepalived -t`, ours and the reference
//! keepalived 2.2.7, inside a private network namespace that has the interfaces the examples name
//! (`eth0`, `eth1`), so the interface checks of `-t` see a realistic host.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;

const REFERENCE: &str = "/usr/sbin/keepalived";

fn example_configs() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut out = Vec::new();
    for dir in [root.clone(), root.join("demo")] {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "conf") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn config_test(ns: &Netns, bin: &str, conf: &PathBuf) -> (Option<i32>, String) {
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.0, bin, "-t", "-f"])
        .arg(conf)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

// Proves each example configuration is accepted (exit 0) by our `keepalived -t` and by the
// reference's, and that there is at least one example per common setup.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_examples_pass_config_test_ours_and_reference() {
    assert!(
        std::path::Path::new(REFERENCE).exists(),
        "the reference keepalived is missing: apt-get install keepalived"
    );
    let ns = Netns::new("ex");
    ns.sh(&[
        "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth1",
    ]);
    let confs = example_configs();
    assert!(confs.len() >= 7, "{confs:?}");
    for conf in &confs {
        for bin in [BIN, REFERENCE] {
            let (code, text) = config_test(&ns, bin, conf);
            assert_eq!(code, Some(0), "{bin} -t -f {}:\n{text}", conf.display());
        }
    }
}
