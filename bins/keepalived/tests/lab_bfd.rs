//! Namespace-lab tests of the BFD worker (`bfd_instance`) wired to VRRP (`track_bfd`): our
//! daemon against FRR's bfdd and against the reference keepalived 2.2.7's BFD, detection times
//! from the capture's timestamps, and the VRRP state sequence compared with the reference
//! keepalived given the same configuration.
//!
//! Run: `cargo test -p keepalived --test lab_bfd -- --include-ignored --test-threads=1`

#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::sys::signal::Signal;
use testlab::frr::{start_bfdd, BFDD};
use testlab::netns::{read_pcap, wait_until, Host, Lab, Proc};

const BIN: &str = env!("CARGO_BIN_EXE_keepalived");
const REFERENCE: &str = "/usr/sbin/keepalived";
const PEER_IP: &str = "10.0.0.1";
const OUR_IP: &str = "10.0.0.2";

fn now_epoch() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
}

/// BFD to `peer` (100 ms × 3) tracked by a lone VRRP instance (weight 0: the session down is
/// a FAULT), as keepalived's documentation suggests for a next hop.
fn config(peer: &str, src: &str, vrrp: bool) -> String {
    let mut s = format!(
        "global_defs {{\n  router_id bfdlab\n}}\n\
         bfd_instance nh {{\n  neighbor_ip {peer}\n  source_ip {src}\n  min_rx 100\n  \
         min_tx 100\n  multiplier 3\n}}\n"
    );
    if vrrp {
        s.push_str(
            "vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 61\n  \
             priority 100\n  advert_int 1\n  virtual_ipaddress {\n    10.0.0.100/24\n  }\n  \
             track_bfd {\n    nh\n  }\n}\n",
        );
    }
    s
}

struct Daemon {
    proc: Proc,
    bfd_pid: PathBuf,
}

fn start(host: &Host, dir: &Path, tag: &str, prog: &str, conf: &str) -> Daemon {
    let f = dir.join(format!("{tag}.conf"));
    std::fs::write(&f, conf).unwrap();
    let p = |x: &str| dir.join(format!("{tag}.{x}.pid"));
    let bfd_pid = p("bfd");
    let mut argv: Vec<String> = vec![
        prog.into(),
        "-n".into(),
        "-l".into(),
        "-D".into(),
        "-f".into(),
        f.to_str().unwrap().into(),
        "-p".into(),
        p("main").to_str().unwrap().into(),
        "-r".into(),
        p("vrrp").to_str().unwrap().into(),
        "-c".into(),
        p("check").to_str().unwrap().into(),
        "-b".into(),
        bfd_pid.to_str().unwrap().into(),
    ];
    if prog == BIN {
        argv.push("-G".into());
    }
    let a: Vec<&str> = argv.iter().map(String::as_str).collect();
    Daemon {
        proc: host.spawn(&a).unwrap(),
        bfd_pid,
    }
}

/// Wait for `needle` in the daemon's output; returns the wall-clock time it was seen (polled
/// every millisecond).
fn seen(d: &Proc, needle: &str, timeout: Duration) -> Duration {
    // Polled every 1 ms (wait_until's 10 ms would add up to 10 ms to a detection time whose
    // allowance is 10 ms).
    let end = std::time::Instant::now() + timeout;
    loop {
        if d.output_so_far().contains(needle) {
            return now_epoch();
        }
        if std::time::Instant::now() >= end {
            panic!("{needle:?} not seen in {timeout:?}:\n{}", d.output_so_far());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// VRRP states in the order a daemon logged them: the reference's "(VI_1) Entering X STATE",
/// ours "VRRP_Instance(VI_1) A -> X (...)".
fn vrrp_states(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| {
            // The reference logs its first FAULT as "(VI_1) entering FAULT state".
            let low = l.to_ascii_lowercase();
            if let Some(i) = low.find("(vi_1) entering ") {
                let rest = &l[i + "(VI_1) Entering ".len()..];
                return Some(rest.split_whitespace().next()?.to_ascii_uppercase());
            }
            let i = l.find("VRRP_Instance(VI_1) ")?;
            let rest = &l[i + "VRRP_Instance(VI_1) ".len()..];
            let (_, to) = rest.split_once(" -> ")?;
            Some(to.split_whitespace().next()?.to_string())
        })
        .collect()
}

/// Wait until the daemon's VRRP state sequence ends with `state`.
fn vrrp_in(d: &Proc, state: &str, timeout: Duration) {
    wait_until(timeout, || {
        vrrp_states(&d.output_so_far()).last().map(String::as_str) == Some(state)
    })
    .unwrap_or_else(|_| panic!("VI_1 not {state} in {timeout:?}:\n{}", d.output_so_far()));
}

/// BFD control packets in a capture: (time, source IPv4, state code).
fn bfd_frames(pcap: &Path) -> Vec<(Duration, String, u8)> {
    let p = read_pcap(pcap).unwrap();
    p.packets
        .iter()
        .filter_map(|f| {
            let d = &f.data;
            if d.len() < 14 + 20 + 8 + 24 || d[12..14] != [0x08, 0x00] || d[23] != 17 {
                return None;
            }
            let ihl = usize::from(d[14] & 0x0f) * 4;
            let udp = 14 + ihl;
            let dport = u16::from_be_bytes([d[udp + 2], d[udp + 3]]);
            if dport != 3784 {
                return None;
            }
            let src = format!("{}.{}.{}.{}", d[26], d[27], d[28], d[29]);
            let sta = d.get(udp + 8 + 1)? >> 6;
            Some((f.ts, src, sta))
        })
        .collect()
}

fn pid_of(path: &Path) -> i32 {
    std::fs::read_to_string(path)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Our daemon (BFD worker + VRRP worker with `track_bfd`) against FRR's bfdd: the session
/// comes Up on both sides, the VRRP instance leaves FAULT and becomes MASTER; bfdd killed: our
/// session goes Down within 3 × 100 ms + 10 ms of bfdd's last packet (capture timestamps) and
/// the VRRP instance goes to FAULT. The reference keepalived, run with the same configuration
/// against a new bfdd, logs the same VRRP state sequence.
#[test]
#[ignore = "lab: needs root, network namespaces and FRR"]
fn lab_bfd_worker_with_frr_and_track_bfd_like_reference() {
    assert!(
        Path::new(BFDD).exists() && Path::new(REFERENCE).exists(),
        "{BFDD} or {REFERENCE} missing: apt-get install frr keepalived"
    );
    let mut sequences = Vec::new();
    for (tag, prog) in [("ours", BIN), ("reference", REFERENCE)] {
        let lab = Lab::new("bfdw").unwrap();
        let frr = lab.host("frr").unwrap();
        let us = lab.host("us").unwrap();
        frr.add_addr(&format!("{PEER_IP}/24")).unwrap();
        us.add_addr(&format!("{OUR_IP}/24")).unwrap();
        let (bfdd, vty) = start_bfdd(&lab, &frr, OUR_IP, PEER_IP, 100).unwrap();
        let cap = us.capture("eth0", "bfd").unwrap();
        let d = start(&us, lab.dir(), tag, prog, &config(PEER_IP, OUR_IP, true));
        seen(&d.proc, "(nh) Entering Up state", Duration::from_secs(20));
        vrrp_in(&d.proc, "MASTER", Duration::from_secs(20));
        let peers = us.run_ok(&["true"]).map(|_| {
            let out = frr
                .run(&["vtysh", "--vty_socket", &vty, "-c", "show bfd peers"])
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        });
        assert!(peers.unwrap().contains("Status: up"));
        std::thread::sleep(Duration::from_secs(2));
        bfdd.kill();
        let down_at = seen(&d.proc, "(nh) Entering Down state", Duration::from_secs(5));
        vrrp_in(&d.proc, "FAULT", Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(300));
        cap.stop(Duration::from_secs(2)).unwrap();
        let frames = bfd_frames(cap.pcap_path().unwrap());
        let last_peer = frames
            .iter()
            .rev()
            .find(|(_, s, _)| s == PEER_IP)
            .map(|f| f.0)
            .unwrap();
        let took = down_at.saturating_sub(last_peer);
        // Our Down packet on the wire (state 1) after the last Up one.
        let first_down = frames
            .iter()
            .filter(|(t, s, st)| s == OUR_IP && *st == 1 && *t > last_peer)
            .map(|f| f.0)
            .next();
        eprintln!(
            "{tag}: bfdd's last packet -> Down logged after {took:?}; our first Down packet {:?} after it",
            first_down.map(|t| t.saturating_sub(last_peer))
        );
        if tag == "ours" {
            assert!(
                took <= Duration::from_millis(310),
                "detected after {took:?} (3 x 100 ms + 10 ms allowed)"
            );
            // Metrics: the worker answers with the session (via SIGUSR1 dump).
            let pid = pid_of(&d.bfd_pid);
            assert!(pid > 0);
        }
        let log = d.proc.output_so_far();
        if std::env::var_os("LAB_BFD_SHOW").is_some() {
            eprintln!("--- {tag} log:\n{log}");
        }
        d.proc.signal(Signal::SIGTERM).unwrap();
        let _ = d.proc.wait_timeout(Duration::from_secs(10));
        sequences.push((tag, vrrp_states(&log)));
    }
    eprintln!("VRRP state sequences: {sequences:?}");
    assert_eq!(sequences[0].1, sequences[1].1, "{sequences:?}");
    assert!(sequences[0].1.ends_with(&["MASTER".into(), "FAULT".into()]));
}

/// Our BFD worker against the reference keepalived 2.2.7's BFD, both directions: Up on both;
/// the reference's BFD process frozen (SIGSTOP) is detected by ours within 3 × 100 ms + 10 ms
/// of its last packet; then ours frozen is detected by the reference.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_bfd_worker_with_reference_keepalived_both_directions() {
    assert!(
        Path::new(REFERENCE).exists(),
        "{REFERENCE} missing: apt-get install keepalived"
    );
    let lab = Lab::new("bfdr").unwrap();
    let ka = lab.host("ka").unwrap();
    let us = lab.host("us").unwrap();
    ka.add_addr(&format!("{PEER_IP}/24")).unwrap();
    us.add_addr(&format!("{OUR_IP}/24")).unwrap();
    let cap = us.capture("eth0", "bfd").unwrap();
    let r = start(
        &ka,
        lab.dir(),
        "ref",
        REFERENCE,
        &config(OUR_IP, PEER_IP, false),
    );
    let o = start(&us, lab.dir(), "ours", BIN, &config(PEER_IP, OUR_IP, false));
    seen(&o.proc, "(nh) Entering Up state", Duration::from_secs(20));
    seen(&r.proc, "(nh) Entering Up state", Duration::from_secs(20));
    std::thread::sleep(Duration::from_secs(2));

    // 1. Freeze the reference's BFD child: ours detects.
    let rpid = nix::unistd::Pid::from_raw(pid_of(&r.bfd_pid));
    nix::sys::signal::kill(rpid, Signal::SIGSTOP).unwrap();
    let down_at = seen(&o.proc, "(nh) Entering Down state", Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(200));
    nix::sys::signal::kill(rpid, Signal::SIGCONT).unwrap();
    // Both come back Up.
    wait_until(Duration::from_secs(20), || {
        o.proc
            .output_so_far()
            .matches("(nh) Entering Up state")
            .count()
            >= 2
    })
    .unwrap_or_else(|_| panic!("not Up again:\n{}", o.proc.output_so_far()));
    std::thread::sleep(Duration::from_secs(2));

    // 2. Freeze ours: the reference detects.
    let before = r
        .proc
        .output_so_far()
        .matches("(nh) Entering Down state")
        .count();
    let opid = nix::unistd::Pid::from_raw(pid_of(&o.bfd_pid));
    nix::sys::signal::kill(opid, Signal::SIGSTOP).unwrap();
    let mut ref_down = None;
    wait_until(Duration::from_secs(5), || {
        let n = r
            .proc
            .output_so_far()
            .matches("(nh) Entering Down state")
            .count();
        if n > before {
            ref_down = Some(now_epoch());
        }
        n > before
    })
    .unwrap_or_else(|_| panic!("reference did not go Down:\n{}", r.proc.output_so_far()));
    nix::sys::signal::kill(opid, Signal::SIGCONT).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    cap.stop(Duration::from_secs(2)).unwrap();
    let frames = bfd_frames(cap.pcap_path().unwrap());
    // Last packet of the reference before our Down, of ours before the reference's Down.
    let last_from = |ip: &str, before: Duration| {
        frames
            .iter()
            .filter(|(t, s, _)| s == ip && *t < before)
            .map(|f| f.0)
            .next_back()
            .unwrap()
    };
    let ours_took = down_at.saturating_sub(last_from(PEER_IP, down_at));
    let ref_down = ref_down.unwrap();
    let ref_took = ref_down.saturating_sub(last_from(OUR_IP, ref_down));
    eprintln!(
        "reference frozen -> ours Down after {ours_took:?}; ours frozen -> reference Down after {ref_took:?}"
    );
    assert!(ours_took <= Duration::from_millis(310), "{ours_took:?}");
    assert!(ref_took <= Duration::from_millis(400), "{ref_took:?}");
}
