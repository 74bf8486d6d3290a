//! Client-visible outage benchmark: ours (krs-vrrpd) vs the reference keepalived, side by side.
//!
//! For each failure (link down, SIGSTOP, SIGTERM) and timing (v2/1 s, v3/100 ms, v3/10 ms) a lab
//! with two directors (priorities 150/100) and a client is built; the client probes the VIP over
//! UDP every 2 ms (scripts/probe.py, an echo server runs on both directors); the master is failed
//! 1 s into the probe; the largest gap between replies and the lost probes are printed.
//!
//! Run as root: `cargo run -p vrrp-runtime --example outage_bench [-- ROUNDS [FILTER]]`
//! (FILTER: e.g. "v3/100ms SIGTERM" runs that row only; the rounds of each row are interleaved
//! across the columns, and with more than one round the median gap is printed too)
//! (build krs-vrrpd first: `cargo build -p vrrp-runtime --bin krs-vrrpd`).
//! With `OLD_KRS_VRRPD=PATH` a third column runs that krs-vrrpd (e.g. an earlier commit's build
//! with the same profile) in the same run; `NO_REFERENCE=1` leaves the reference's column out.

use std::path::PathBuf;
use std::time::Duration;

use nix::sys::signal::Signal;
use testlab::netns::{wait_until, Host, Lab, Proc};

const VIP: &str = "10.0.0.10";
const PROBE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/probe.py");

#[derive(Clone, Copy, PartialEq)]
enum Impl {
    Ours,
    Reference,
    /// The krs-vrrpd of `OLD_KRS_VRRPD`.
    Old,
}

#[derive(Clone, Copy)]
enum Failure {
    LinkDown,
    Stop,
    Term,
}

fn krs_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // target/debug/examples/outage_bench -> target/debug/krs-vrrpd
    exe.parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("krs-vrrpd"))
        .unwrap_or_default()
}

fn conf(prio: u8, version: u8, advert: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n  interface eth0\n  virtual_router_id 42\n  priority {prio}\n  version {version}\n  advert_int {advert}\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
    )
}

fn has_vip(h: &Host) -> bool {
    h.run(&["ip", "-o", "-4", "addr", "show", "dev", "eth0"])
        .map(|o| String::from_utf8_lossy(&o.stdout).contains(&format!(" {VIP}/")))
        .unwrap_or(false)
}

fn start(lab: &Lab, h: &Host, imp: Impl, conf_text: &str) -> Option<Proc> {
    let name = h.host_name().to_string();
    let c = lab.dir().join(format!("{name}.conf"));
    std::fs::write(&c, conf_text).ok()?;
    let cs = c.to_str()?.to_string();
    match imp {
        Impl::Ours => {
            let bin = krs_bin();
            h.spawn(&[bin.to_str()?, "-f", &cs]).ok()
        }
        Impl::Old => {
            let bin = std::env::var("OLD_KRS_VRRPD").ok()?;
            h.spawn(&[&bin, "-f", &cs]).ok()
        }
        Impl::Reference => {
            let p1 = lab.dir().join(format!("{name}.pid"));
            let p2 = lab.dir().join(format!("{name}.vrrp.pid"));
            h.spawn(&[
                "/usr/sbin/keepalived",
                "-n",
                "-l",
                "-D",
                "-P",
                "-f",
                &cs,
                "-p",
                p1.to_str()?,
                "-r",
                p2.to_str()?,
            ])
            .ok()
        }
    }
}

/// One measurement: (max gap ms, lost probes) or an error text.
fn measure(imp: Impl, failure: Failure, version: u8, advert: &str) -> Result<(f64, u64), String> {
    let lab = Lab::new("bench").map_err(|e| e.to_string())?;
    let mk = |n: &str, a: &str| -> Result<Host, String> {
        let h = lab.host(n).map_err(|e| e.to_string())?;
        h.add_addr(a).map_err(|e| e.to_string())?;
        Ok(h)
    };
    let a = mk("a", "10.0.0.1/24")?;
    let b = mk("b", "10.0.0.2/24")?;
    let c = mk("c", "10.0.0.100/24")?;
    for h in [&a, &b] {
        h.spawn(&["python3", PROBE, "--echo", "9000"])
            .map_err(|e| e.to_string())?;
    }
    let pa = start(&lab, &a, imp, &conf(150, version, advert)).ok_or("start a")?;
    let _pb = start(&lab, &b, imp, &conf(100, version, advert)).ok_or("start b")?;
    wait_until(Duration::from_secs(15), || has_vip(&a) && !has_vip(&b))
        .map_err(|_| "a never became the only master".to_string())?;
    // Warm up (ARP, python start) and check the VIP answers before measuring.
    let warm = c
        .run(&["python3", PROBE, VIP, "9000", "0.3", "2"])
        .map_err(|e| e.to_string())?;
    if !String::from_utf8_lossy(&warm.stdout).contains("\"received\": ") {
        return Err("warm-up probe failed".into());
    }
    let run_s = if advert == "1" { 7 } else { 4 };
    let probe = c
        .spawn(&["python3", PROBE, VIP, "9000", &run_s.to_string(), "2"])
        .map_err(|e| e.to_string())?;
    std::thread::sleep(Duration::from_millis(1000));
    match failure {
        Failure::LinkDown => a.link_down("eth0").map_err(|e| e.to_string())?,
        Failure::Stop => pa
            .signal_group(Signal::SIGSTOP)
            .map_err(|e| e.to_string())?,
        Failure::Term => pa.signal(Signal::SIGTERM).map_err(|e| e.to_string())?,
    }
    probe
        .wait_timeout(Duration::from_secs(run_s + 5))
        .map_err(|e| e.to_string())?;
    let out = probe.stdout_so_far();
    let v: serde_json::Value = out
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| format!("no probe output: {out}"))?;
    if matches!(failure, Failure::Stop) {
        let _ = pa.signal_group(Signal::SIGCONT);
    }
    Ok((
        v["max_gap_ms"].as_f64().unwrap_or(f64::NAN),
        v["lost"].as_u64().unwrap_or(0),
    ))
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1);
    // Optional filter: only rows whose "timing failure" contains this text.
    let only = std::env::args().nth(2).unwrap_or_default();
    let timings = [
        (2u8, "1", "v2/1s"),
        (3, "0.1", "v3/100ms"),
        (3, "0.01", "v3/10ms"),
    ];
    let failures = [
        (Failure::LinkDown, "link-down"),
        (Failure::Stop, "SIGSTOP"),
        (Failure::Term, "SIGTERM"),
    ];
    let mut impls = vec![Impl::Ours];
    let mut head = format!(
        "{:<10} {:<10} {:>22}",
        "timing", "failure", "ours gap ms (lost)"
    );
    if std::env::var_os("NO_REFERENCE").is_none() {
        impls.push(Impl::Reference);
        head.push_str(&format!(" {:>22}", "keepalived gap ms (lost)"));
    }
    if std::env::var_os("OLD_KRS_VRRPD").is_some() {
        impls.push(Impl::Old);
        head.push_str(&format!(" {:>22}", "old gap ms (lost)"));
    }
    println!("{head}");
    for (ver, adv, tname) in timings {
        for (f, fname) in failures {
            if !format!("{tname} {fname}").contains(&only) {
                continue;
            }
            // Rounds interleaved across the columns: a change of the machine's load during the
            // run hits every column alike.
            let mut parts: Vec<Vec<String>> = vec![Vec::new(); impls.len()];
            let mut gaps: Vec<Vec<f64>> = vec![Vec::new(); impls.len()];
            for _ in 0..rounds {
                for (k, &imp) in impls.iter().enumerate() {
                    match measure(imp, f, ver, adv) {
                        Ok((g, l)) => {
                            parts[k].push(format!("{g:.0} ({l})"));
                            gaps[k].push(g);
                        }
                        Err(e) => parts[k].push(format!("err: {e}")),
                    }
                }
            }
            let cells: Vec<String> = parts
                .iter()
                .zip(&mut gaps)
                .map(|(p, g)| {
                    let mut c = p.join(", ");
                    if g.len() > 1 {
                        g.sort_by(f64::total_cmp);
                        c.push_str(&format!(" [median {:.0}]", g[g.len() / 2]));
                    }
                    c
                })
                .collect();
            let row: String = cells.iter().map(|c| format!(" {c:>22}")).collect();
            println!("{tname:<10} {fname:<10}{row}");
        }
    }
}
