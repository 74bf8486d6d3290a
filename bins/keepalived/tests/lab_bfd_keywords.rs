//! Namespace-lab tests of the BFD worker's keywords and of its behaviour on the wire, each side
//! by side with the reference keepalived 2.2.7 (`/usr/sbin/keepalived`, BFD built in) and/or
//! FRR's bfdd: link down and veth deleted, IPv6 sessions, `ttl`/`max_hops` across a router,
//! `idle_tx` and `passive`, `weight` (bfd_instance and track_bfd) and the `vrrp`/`checker`
//! destinations, hostile control packets.
//!
//! Detection bounds are RFC 5880's detection time (multiplier × agreed interval) plus 10 ms.
//!
//! Run: `cargo test -p keepalived --test lab_bfd_keywords -- --include-ignored --test-threads=1`

#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::Signal;
use testlab::frr::{start_bfdd_conf, start_bfdd_peers, BFDD};
use testlab::netns::{read_pcap, wait_until, Host, Lab, Proc};

const BIN: &str = env!("CARGO_BIN_EXE_keepalived");
const REFERENCE: &str = "/usr/sbin/keepalived";

fn now_epoch() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
}

fn need(frr: bool) {
    assert!(
        Path::new(REFERENCE).exists(),
        "{REFERENCE} missing: apt-get install keepalived"
    );
    if frr {
        assert!(
            Path::new(BFDD).exists(),
            "{BFDD} missing: apt-get install frr"
        );
    }
}

struct Daemon {
    proc: Proc,
    bfd_pid: PathBuf,
    tmp: PathBuf,
}

/// Start `prog` (ours or the reference) in `host` with `conf`, its dump files under its own
/// `$TMPDIR`.
fn start(host: &Host, dir: &Path, tag: &str, prog: &str, conf: &str) -> Daemon {
    let f = dir.join(format!("{tag}.conf"));
    std::fs::write(&f, conf).unwrap();
    let p = |x: &str| dir.join(format!("{tag}.{x}.pid"));
    let tmp = dir.join(format!("{tag}.tmp"));
    std::fs::create_dir_all(&tmp).unwrap();
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
    let mut cmd = host.command(&a).unwrap();
    cmd.env("TMPDIR", &tmp);
    Daemon {
        proc: host.spawn_command(cmd, tag).unwrap(),
        bfd_pid,
        tmp,
    }
}

fn pid_of(path: &Path) -> i32 {
    std::fs::read_to_string(path)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Wait until `needle` occurs at least `n` times in the daemon's output (polled every 1 ms);
/// returns the wall-clock time it was seen.
fn seen_n(d: &Proc, needle: &str, n: usize, timeout: Duration) -> Duration {
    let end = Instant::now() + timeout;
    loop {
        if d.output_so_far().matches(needle).count() >= n {
            return now_epoch();
        }
        if Instant::now() >= end {
            panic!(
                "{needle:?} not seen {n} times in {timeout:?}:\n{}",
                d.output_so_far()
            );
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// BFD transitions of session `name` to Up, Down or AdminDown with the local diagnostic of a
/// Down: the reference logs "(NAME) Entering Down state (Local diagnostic - X, Remote ...)",
/// ours "BFD_Instance(NAME) Entering Down state (Local diagnostic - X)".
fn bfd_transitions(log: &str, name: &str) -> Vec<String> {
    let key = format!("({name}) Entering ");
    log.lines()
        .filter_map(|l| {
            let i = l.find(&key)?;
            let rest = &l[i + key.len()..];
            let state = rest.split_whitespace().next()?;
            if !matches!(state, "Up" | "Down" | "AdminDown") {
                return None;
            }
            let diag = rest
                .split_once("Local diagnostic - ")
                .map(|(_, d)| d.split([',', ')']).next().unwrap_or("").to_string());
            Some(match diag {
                Some(d) if state == "Down" => format!("Down ({d})"),
                _ => state.to_string(),
            })
        })
        .collect()
}

/// VRRP states of instance `inst` in the order a daemon logged them (the reference's
/// "(VI_1) Entering X STATE", ours "VRRP_Instance(VI_1) A -> X (...)").
fn vrrp_states(log: &str, inst: &str) -> Vec<String> {
    let theirs = format!("({}) entering ", inst.to_ascii_lowercase());
    let ours = format!("VRRP_Instance({inst}) ");
    log.lines()
        .filter_map(|l| {
            let low = l.to_ascii_lowercase();
            if let Some(i) = low.find(&theirs) {
                let rest = &l[i + theirs.len()..];
                return Some(rest.split_whitespace().next()?.to_ascii_uppercase());
            }
            let i = l.find(&ours)?;
            let rest = &l[i + ours.len()..];
            let (_, to) = rest.split_once(" -> ")?;
            Some(to.split_whitespace().next()?.to_string())
        })
        .collect()
}

fn vrrp_in(d: &Proc, inst: &str, state: &str, timeout: Duration) {
    wait_until(timeout, || {
        vrrp_states(&d.output_so_far(), inst)
            .last()
            .map(String::as_str)
            == Some(state)
    })
    .unwrap_or_else(|_| panic!("{inst} not {state} in {timeout:?}:\n{}", d.output_so_far()));
}

/// One IP packet of a capture.
#[derive(Debug, Clone)]
struct Frame {
    ts: Duration,
    src: IpAddr,
    dst: IpAddr,
    /// TTL / hop limit.
    ttl: u8,
    proto: u8,
    /// UDP destination port (0 if not UDP).
    dport: u16,
    /// Transport payload (after the UDP header for UDP, the whole L4 payload else).
    payload: Vec<u8>,
}

fn frames(pcap: &Path) -> Vec<Frame> {
    let p = read_pcap(pcap).unwrap();
    p.packets
        .iter()
        .filter_map(|f| {
            let d = &f.data;
            let et = u16::from_be_bytes([*d.get(12)?, *d.get(13)?]);
            let (src, dst, ttl, proto, l4) = match et {
                0x0800 => {
                    let ihl = usize::from(d.get(14)? & 0x0f) * 4;
                    let s: [u8; 4] = d.get(26..30)?.try_into().ok()?;
                    let t: [u8; 4] = d.get(30..34)?.try_into().ok()?;
                    (IpAddr::from(s), IpAddr::from(t), d[22], d[23], 14 + ihl)
                }
                0x86dd => {
                    let s: [u8; 16] = d.get(22..38)?.try_into().ok()?;
                    let t: [u8; 16] = d.get(38..54)?.try_into().ok()?;
                    (IpAddr::from(s), IpAddr::from(t), d[21], d[20], 54)
                }
                _ => return None,
            };
            let (dport, payload) = if proto == 17 {
                let dp = u16::from_be_bytes([*d.get(l4 + 2)?, *d.get(l4 + 3)?]);
                (dp, d.get(l4 + 8..)?.to_vec())
            } else {
                (0, d.get(l4..)?.to_vec())
            };
            Some(Frame {
                ts: f.ts,
                src,
                dst,
                ttl,
                proto,
                dport,
                payload,
            })
        })
        .collect()
}

/// BFD control packets (UDP to 3784) from `src` to `dst`.
fn bfd_from<'a>(fs: &'a [Frame], src: &str, dst: &str) -> Vec<&'a Frame> {
    let (s, d): (IpAddr, IpAddr) = (src.parse().unwrap(), dst.parse().unwrap());
    fs.iter()
        .filter(|f| f.proto == 17 && f.dport == 3784 && f.src == s && f.dst == d)
        .collect()
}

/// Our BFD worker's dump (SIGUSR1 to the parent): per session the text block, plus the
/// global refusal lines.
fn our_dump(d: &Daemon) -> String {
    let file = d.tmp.join("keepalived_bfd.data");
    let _ = std::fs::remove_file(&file);
    d.proc.signal(Signal::SIGUSR1).unwrap();
    wait_until(Duration::from_secs(5), || {
        std::fs::read_to_string(&file).is_ok_and(|s| s.contains("Refused before a session"))
    })
    .unwrap_or_else(|_| panic!("no BFD dump in {}", file.display()));
    std::fs::read_to_string(&file).unwrap()
}

/// The dump's block of session `name`.
fn session_block<'a>(dump: &'a str, name: &str) -> &'a str {
    let start = dump
        .find(&format!(" BFD Instance = {name}\n"))
        .unwrap_or_else(|| panic!("no session {name} in dump:\n{dump}"));
    let rest = &dump[start + 1..];
    let end = rest
        .find(" BFD Instance = ")
        .or_else(|| rest.find(" Refused before a session"))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// `key = N` counters of a dump text (e.g. "refused rx_ttl = 3" -> {"refused rx_ttl": 3}).
fn counters(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.trim().rsplit_once(" = ")?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

fn hex_field(block: &str, key: &str) -> u32 {
    let i = block
        .find(key)
        .unwrap_or_else(|| panic!("{key} in {block}"));
    let v = &block[i + key.len()..];
    let v = v.trim_start_matches("0x");
    u32::from_str_radix(&v[..8], 16).unwrap()
}

fn stop(d: &Daemon) -> String {
    let log = d.proc.output_so_far();
    let _ = d.proc.signal(Signal::SIGTERM);
    let _ = d.proc.wait_timeout(Duration::from_secs(10));
    if std::env::var_os("LAB_BFD_SHOW").is_some() {
        eprintln!("--- log:\n{log}");
    }
    log
}

fn bfd_block(name: &str, body: &str) -> String {
    format!("bfd_instance {name} {{\n{body}}}\n")
}

const FAST: &str = "  min_rx 100\n  min_tx 100\n  multiplier 3\n";

// ---------------------------------------------------------------------------------------------
// Link down / veth deleted

/// A session to FRR's bfdd tracked by a VRRP instance (weight 0), for ours and the reference
/// in turn: (1) the peer's link set down: our session goes Down with "Control Detection Time
/// Expired" within 3 × 100 ms + 10 ms of the peer's last packet (capture) and the instance
/// goes to FAULT; link up: Up and MASTER again; (2) our own link down: Down with the same
/// diagnostic (within 310 ms of the link going down), FAULT; up again: Up, MASTER; (3) the
/// peer's veth deleted: Down, FAULT. The BFD (state, diagnostic) sequence and the VRRP state
/// sequence are the reference's.
#[test]
#[ignore = "lab: needs root, network namespaces, FRR and the reference keepalived"]
fn lab_bfd_link_down_and_veth_deleted_like_reference() {
    need(true);
    let mut runs = Vec::new();
    for (tag, prog) in [("ours", BIN), ("reference", REFERENCE)] {
        let lab = Lab::new("bfdl").unwrap();
        let frr = lab.host("frr").unwrap();
        let us = lab.host("us").unwrap();
        frr.add_addr("10.0.0.1/24").unwrap();
        us.add_addr("10.0.0.2/24").unwrap();
        let (_bfdd, _) =
            start_bfdd_peers(&lab, &frr, &[("10.0.0.2", "10.0.0.1")], 100, 100).unwrap();
        let cap = us.capture("eth0", "bfd").unwrap();
        let conf = format!(
            "global_defs {{\n  router_id bfdl\n}}\n{}\
             vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 61\n  \
             priority 100\n  advert_int 1\n  virtual_ipaddress {{\n    10.0.0.100/24\n  }}\n  \
             track_bfd {{\n    nh\n  }}\n}}\n",
            bfd_block(
                "nh",
                &format!("  neighbor_ip 10.0.0.1\n  source_ip 10.0.0.2\n{FAST}")
            )
        );
        let d = start(&us, lab.dir(), tag, prog, &conf);
        let up = "(nh) Entering Up state";
        let down = "(nh) Entering Down state";
        seen_n(&d.proc, up, 1, Duration::from_secs(20));
        vrrp_in(&d.proc, "VI_1", "MASTER", Duration::from_secs(20));
        std::thread::sleep(Duration::from_secs(1));

        // 1. The peer's link down.

        frr.link_down("eth0").unwrap();
        let e1 = now_epoch();
        let down1 = seen_n(&d.proc, down, 1, Duration::from_secs(5));
        vrrp_in(&d.proc, "VI_1", "FAULT", Duration::from_secs(5));
        frr.link_up("eth0").unwrap();
        seen_n(&d.proc, up, 2, Duration::from_secs(20));
        vrrp_in(&d.proc, "VI_1", "MASTER", Duration::from_secs(20));
        std::thread::sleep(Duration::from_secs(1));

        // 2. Our link down.
        let t2 = now_epoch();
        us.link_down("eth0").unwrap();
        let e2 = now_epoch();
        let down2 = seen_n(&d.proc, down, 2, Duration::from_secs(5));
        vrrp_in(&d.proc, "VI_1", "FAULT", Duration::from_secs(5));
        us.link_up("eth0").unwrap();
        seen_n(&d.proc, up, 3, Duration::from_secs(20));
        vrrp_in(&d.proc, "VI_1", "MASTER", Duration::from_secs(20));
        std::thread::sleep(Duration::from_secs(1));

        // 3. The peer's veth deleted.
        let t3 = now_epoch();
        frr.ip(&["link", "del", "eth0"]).unwrap();
        let e3 = now_epoch();
        let down3 = seen_n(&d.proc, down, 3, Duration::from_secs(5));
        vrrp_in(&d.proc, "VI_1", "FAULT", Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(300));
        let _ = cap.stop(Duration::from_secs(2));
        let fs = frames(cap.pcap_path().unwrap());
        let last_peer = bfd_from(&fs, "10.0.0.1", "10.0.0.2")
            .iter()
            .filter(|f| f.ts < down1)
            .map(|f| f.ts)
            .next_back()
            .unwrap();
        let took1 = down1.saturating_sub(last_peer);
        let after = |t: Duration, d: Duration| d.saturating_sub(t);
        eprintln!(
            "{tag}: peer link down: Down {took1:?} after the peer's last packet ({:?} after the \
             command returned); our link down: Down {:?} after; peer veth deleted: Down {:?} after",
            after(e1, down1),
            after(e2, down2),
            after(e3, down3)
        );
        if tag == "ours" {
            // RFC 5880: detection time 3 × 100 ms, measured from the last packet received; the
            // link commands come after the last packet, so their delays are shorter still.
            assert!(took1 <= Duration::from_millis(310), "{took1:?}");
            for (what, t, e, dn) in [("our link", t2, e2, down2), ("peer veth", t3, e3, down3)] {
                // The last packet came before the command returned (e): Down at most the
                // detection time after it; and at least the detection time less one interval
                // (bfdd's 100 ms, up to 25 % shorter) after the command started (t): nothing
                // else took the session down.
                assert!(
                    after(e, dn) <= Duration::from_millis(310),
                    "{what}: Down {:?} after the command returned",
                    after(e, dn)
                );
                assert!(
                    after(t, dn) >= Duration::from_millis(190),
                    "{what}: Down {:?} after the command started",
                    after(t, dn)
                );
            }
        }
        let log = stop(&d);
        runs.push((tag, bfd_transitions(&log, "nh"), vrrp_states(&log, "VI_1")));
    }
    eprintln!("{runs:#?}");
    let cdte = "Down (Control Detection Time Expired)";
    let expect_bfd = ["Up", cdte, "Up", cdte, "Up", cdte];
    assert_eq!(runs[0].1, expect_bfd, "{runs:?}");
    assert_eq!(runs[0].1, runs[1].1, "BFD sequences differ: {runs:?}");
    assert_eq!(runs[0].2, runs[1].2, "VRRP sequences differ: {runs:?}");
}

// ---------------------------------------------------------------------------------------------
// IPv6

/// IPv6 sessions: ours (fd00::2) to FRR's bfdd (fd00::1) with `hoplimit 255` (bfdd drops
/// single-hop packets below 255) and to the reference keepalived (fd00::3) with the default
/// hop limit 64, the reference to bfdd too. All Up; our packets leave with hop limit 255 and 64
/// (the reference's likewise); the reference's BFD frozen: our session to it goes Down within
/// 3 × 100 ms + 10 ms of its last packet; bfdd killed: ours to it Down within 310 ms, the
/// reference's too.
#[test]
#[ignore = "lab: needs root, network namespaces, FRR and the reference keepalived"]
fn lab_bfd_ipv6_with_frr_and_reference() {
    need(true);
    let lab = Lab::new("bfd6").unwrap();
    let frr = lab.host("frr").unwrap();
    let us = lab.host("us").unwrap();
    let ka = lab.host("ka").unwrap();
    frr.add_addr("fd00::1/64").unwrap();
    us.add_addr("fd00::2/64").unwrap();
    ka.add_addr("fd00::3/64").unwrap();
    let (bfdd, _) = start_bfdd_peers(
        &lab,
        &frr,
        &[("fd00::2", "fd00::1"), ("fd00::3", "fd00::1")],
        100,
        100,
    )
    .unwrap();
    let cap = us.capture("eth0", "bfd6").unwrap();
    let conf = |me: &str, other: &str| {
        format!(
            "global_defs {{\n  router_id bfd6\n}}\n{}{}",
            bfd_block(
                "f6",
                &format!("  neighbor_ip fd00::1\n  source_ip {me}\n  hoplimit 255\n{FAST}")
            ),
            bfd_block(
                "k6",
                &format!("  neighbor_ip {other}\n  source_ip {me}\n{FAST}")
            )
        )
    };
    let r = start(
        &ka,
        lab.dir(),
        "ref",
        REFERENCE,
        &conf("fd00::3", "fd00::2"),
    );
    let o = start(&us, lab.dir(), "ours", BIN, &conf("fd00::2", "fd00::3"));
    for d in [&o, &r] {
        seen_n(
            &d.proc,
            "(f6) Entering Up state",
            1,
            Duration::from_secs(20),
        );
        seen_n(
            &d.proc,
            "(k6) Entering Up state",
            1,
            Duration::from_secs(20),
        );
    }
    std::thread::sleep(Duration::from_secs(1));

    // The reference's BFD frozen.
    let rpid = nix::unistd::Pid::from_raw(pid_of(&r.bfd_pid));
    nix::sys::signal::kill(rpid, Signal::SIGSTOP).unwrap();
    let k6_down = seen_n(
        &o.proc,
        "(k6) Entering Down state",
        1,
        Duration::from_secs(5),
    );
    nix::sys::signal::kill(rpid, Signal::SIGCONT).unwrap();
    seen_n(
        &o.proc,
        "(k6) Entering Up state",
        2,
        Duration::from_secs(20),
    );
    std::thread::sleep(Duration::from_secs(1));

    // bfdd killed.
    bfdd.kill();
    let f6_down = seen_n(
        &o.proc,
        "(f6) Entering Down state",
        1,
        Duration::from_secs(5),
    );
    seen_n(
        &r.proc,
        "(f6) Entering Down state",
        1,
        Duration::from_secs(5),
    );
    std::thread::sleep(Duration::from_millis(300));
    let _ = cap.stop(Duration::from_secs(2));
    let fs = frames(cap.pcap_path().unwrap());
    let last_before = |src: &str, t: Duration| {
        bfd_from(&fs, src, "fd00::2")
            .iter()
            .filter(|f| f.ts < t)
            .map(|f| f.ts)
            .next_back()
            .unwrap()
    };
    let took_k6 = k6_down.saturating_sub(last_before("fd00::3", k6_down));
    let took_f6 = f6_down.saturating_sub(last_before("fd00::1", f6_down));
    let hops = |src: &str, dst: &str| {
        let mut v: Vec<u8> = bfd_from(&fs, src, dst).iter().map(|f| f.ttl).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    eprintln!(
        "reference frozen -> ours Down after {took_k6:?}; bfdd killed -> ours Down after \
         {took_f6:?}; hop limits ours->bfdd {:?}, ours->reference {:?}, reference->ours {:?}",
        hops("fd00::2", "fd00::1"),
        hops("fd00::2", "fd00::3"),
        hops("fd00::3", "fd00::2")
    );
    assert_eq!(hops("fd00::2", "fd00::1"), [255]);
    assert_eq!(hops("fd00::2", "fd00::3"), [64]);
    assert_eq!(hops("fd00::3", "fd00::2"), [64], "the reference's default");
    assert!(took_k6 <= Duration::from_millis(310), "{took_k6:?}");
    assert!(took_f6 <= Duration::from_millis(310), "{took_f6:?}");
    stop(&o);
    stop(&r);
}

// ---------------------------------------------------------------------------------------------
// ttl / max_hops across a router

/// Ours (10.0.0.x) and the reference (10.0.1.1) one router apart (TTL 255 arrives as 254),
/// the same four sessions mirrored on both: `plain` (max_hops 0: the GTSM check refuses 254,
/// never Up on either side; ours counts the refusals as `rx_ttl`, the reference logs
/// "Packet ttl(254) < 255"), `hop1` (`max_hops 1`: Up), `ttl254` (`ttl 254` + `max_hops 1`: Up,
/// sent with TTL 254, received as 253), `nocheck` (`max_hops -1`: no check, Up).
#[test]
#[ignore = "lab: needs root, network namespaces and the reference keepalived"]
fn lab_bfd_ttl_and_max_hops_across_a_router_like_reference() {
    need(false);
    let lab = Lab::new("bfdh").unwrap();
    lab.segment("s2").unwrap();
    let r = lab.host("r").unwrap();
    r.attach("eth1", "s2").unwrap();
    r.add_addr("10.0.0.254/24").unwrap();
    r.add_addr_dev("10.0.1.254/24", "eth1").unwrap();
    r.sysctl("net.ipv4.ip_forward", "1").unwrap();
    let us = lab.host("us").unwrap();
    for a in ["10.0.0.2/24", "10.0.0.3/24", "10.0.0.4/24", "10.0.0.5/24"] {
        us.add_addr(a).unwrap();
    }
    us.ip(&["route", "add", "10.0.1.0/24", "via", "10.0.0.254"])
        .unwrap();
    let ka = lab.host_unplugged("ka").unwrap();
    ka.attach("eth0", "s2").unwrap();
    ka.add_addr("10.0.1.1/24").unwrap();
    ka.ip(&["route", "add", "10.0.0.0/24", "via", "10.0.1.254"])
        .unwrap();
    let cap = us.capture("eth0", "hops").unwrap();
    let sessions = [
        ("plain", "10.0.0.2", ""),
        ("hop1", "10.0.0.3", "  max_hops 1\n"),
        ("ttl254", "10.0.0.4", "  ttl 254\n  max_hops 1\n"),
        ("nocheck", "10.0.0.5", "  max_hops -1\n"),
    ];
    let conf = |ours: bool| {
        let mut s = String::from("global_defs {\n  router_id bfdh\n}\n");
        for (name, addr, extra) in sessions {
            let (nbr, src) = if ours {
                ("10.0.1.1", addr)
            } else {
                (addr, "10.0.1.1")
            };
            s.push_str(&bfd_block(
                name,
                &format!("  neighbor_ip {nbr}\n  source_ip {src}\n{FAST}{extra}"),
            ));
        }
        s
    };
    let rk = start(&ka, lab.dir(), "ref", REFERENCE, &conf(false));
    let o = start(&us, lab.dir(), "ours", BIN, &conf(true));
    for name in ["hop1", "ttl254", "nocheck"] {
        for d in [&o, &rk] {
            seen_n(
                &d.proc,
                &format!("({name}) Entering Up state"),
                1,
                Duration::from_secs(20),
            );
        }
    }
    // `plain` stays Down on both sides for 3 s more (packets flow at 1 s while Down).
    std::thread::sleep(Duration::from_secs(3));
    let dump = our_dump(&o);
    let plain = counters(session_block(&dump, "plain"));
    let _ = cap.stop(Duration::from_secs(2));
    let fs = frames(cap.pcap_path().unwrap());
    let ttls = |src: &str, dst: &str| {
        let mut v: Vec<u8> = bfd_from(&fs, src, dst).iter().map(|f| f.ttl).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let ol = stop(&o);
    let rl = stop(&rk);
    eprintln!(
        "plain counters: {plain:?}\nTTLs ours->ref {:?} {:?}, ref->ours {:?} {:?}",
        ttls("10.0.0.2", "10.0.1.1"),
        ttls("10.0.0.4", "10.0.1.1"),
        ttls("10.0.1.1", "10.0.0.2"),
        ttls("10.0.1.1", "10.0.0.4")
    );
    for (who, log) in [("ours", &ol), ("reference", &rl)] {
        assert!(
            !log.contains("(plain) Entering Up state"),
            "{who}: plain came Up:\n{log}"
        );
    }
    assert!(
        plain.get("refused rx_ttl").copied().unwrap_or(0) >= 2,
        "our TTL refusals: {plain:?}"
    );
    assert!(
        rl.contains("Packet ttl(254) < 255 - discarding"),
        "the reference's GTSM log:\n{rl}"
    );
    // Sent with the configured TTL (seen here before the router), received one lower.
    assert_eq!(ttls("10.0.0.2", "10.0.1.1"), [255]);
    assert_eq!(ttls("10.0.0.4", "10.0.1.1"), [254]);
    assert_eq!(ttls("10.0.1.1", "10.0.0.2"), [254]);
    assert_eq!(ttls("10.0.1.1", "10.0.0.4"), [253]);
}

/// `multihop` (keepalived 2.4, RFC 5883) with FRR's bfdd one router away (bfdd's `peer ...
/// multihop`; the 2.4.3 reference is built without BFD, so bfdd is the peer): `mh`
/// (`multihop`, `max_hops 1`) comes Up, its packets go to UDP 4784 both ways and none to 3784;
/// `mh0` (`multihop`, max_hops 0) stays Down, its packets at TTL 254 refused by the GTSM check
/// keepalived applies to multihop sessions too (`rx_ttl`); bfdd killed: `mh` Down within
/// 3 × 100 ms + 10 ms of bfdd's last packet.
#[test]
#[ignore = "lab: needs root, network namespaces and FRR"]
fn lab_bfd_multihop_with_frr_across_a_router() {
    assert!(
        Path::new(BFDD).exists(),
        "{BFDD} missing: apt-get install frr"
    );
    let lab = Lab::new("bfdm").unwrap();
    lab.segment("s2").unwrap();
    let r = lab.host("r").unwrap();
    r.attach("eth1", "s2").unwrap();
    r.add_addr("10.0.0.254/24").unwrap();
    r.add_addr_dev("10.0.1.254/24", "eth1").unwrap();
    r.sysctl("net.ipv4.ip_forward", "1").unwrap();
    let us = lab.host("us").unwrap();
    us.add_addr("10.0.0.2/24").unwrap();
    us.add_addr("10.0.0.3/24").unwrap();
    us.ip(&["route", "add", "10.0.1.0/24", "via", "10.0.0.254"])
        .unwrap();
    let frr = lab.host_unplugged("frr").unwrap();
    frr.attach("eth0", "s2").unwrap();
    frr.add_addr("10.0.1.1/24").unwrap();
    frr.ip(&["route", "add", "10.0.0.0/24", "via", "10.0.1.254"])
        .unwrap();
    let mut bconf = String::from("bfd\n");
    for peer in ["10.0.0.2", "10.0.0.3"] {
        bconf.push_str(&format!(
            " peer {peer} multihop local-address 10.0.1.1\n  receive-interval 100\n  \
             transmit-interval 100\n  detect-multiplier 3\n !\n"
        ));
    }
    bconf.push_str("!\n");
    let (bfdd, _) = testlab::frr::start_bfdd_conf(&lab, &frr, "frr", &bconf).unwrap();
    let cap = us.capture("eth0", "mh").unwrap();
    let conf = format!(
        "global_defs {{\n  router_id bfdm\n}}\n{}{}",
        bfd_block(
            "mh",
            &format!(
                "  neighbor_ip 10.0.1.1\n  source_ip 10.0.0.2\n  multihop\n  max_hops 1\n{FAST}"
            )
        ),
        bfd_block(
            "mh0",
            &format!("  neighbor_ip 10.0.1.1\n  source_ip 10.0.0.3\n  multihop\n{FAST}")
        )
    );
    let o = start(&us, lab.dir(), "ours", BIN, &conf);
    seen_n(
        &o.proc,
        "(mh) Entering Up state",
        1,
        Duration::from_secs(20),
    );
    std::thread::sleep(Duration::from_secs(3));
    let dump = our_dump(&o);
    let mh0 = counters(session_block(&dump, "mh0"));
    eprintln!("{}", session_block(&dump, "mh"));
    bfdd.kill();
    let down = seen_n(
        &o.proc,
        "(mh) Entering Down state",
        1,
        Duration::from_secs(5),
    );
    std::thread::sleep(Duration::from_millis(300));
    let _ = cap.stop(Duration::from_secs(2));
    let fs = frames(cap.pcap_path().unwrap());
    let udp = |src: &str, dst: &str, port: u16| {
        let (s, d): (IpAddr, IpAddr) = (src.parse().unwrap(), dst.parse().unwrap());
        fs.iter()
            .filter(|f| f.proto == 17 && f.dport == port && f.src == s && f.dst == d)
            .map(|f| f.ts)
            .collect::<Vec<_>>()
    };
    let last_peer = udp("10.0.1.1", "10.0.0.2", 4784)
        .into_iter()
        .rfind(|t| *t < down)
        .expect("bfdd's packets to 4784");
    let took = down.saturating_sub(last_peer);
    let gaps: Vec<Duration> = udp("10.0.1.1", "10.0.0.2", 4784)
        .windows(2)
        .map(|w| w[1] - w[0])
        .collect();
    eprintln!("bfdd's gaps: {gaps:?}");
    let log = stop(&o);
    eprintln!(
        "mh: bfdd killed -> Down after {took:?}; packets ours->bfdd 4784: {}, 3784: {}; \
         bfdd->ours 4784: {}; mh0 counters {mh0:?}",
        udp("10.0.0.2", "10.0.1.1", 4784).len(),
        udp("10.0.0.2", "10.0.1.1", 3784).len(),
        udp("10.0.1.1", "10.0.0.2", 4784).len()
    );
    assert!(udp("10.0.0.2", "10.0.1.1", 4784).len() >= 10);
    assert!(udp("10.0.0.2", "10.0.1.1", 3784).is_empty());
    assert!(udp("10.0.0.3", "10.0.1.1", 3784).is_empty());
    assert!(!log.contains("(mh0) Entering Up state"), "{log}");
    assert!(
        mh0.get("refused rx_ttl").copied().unwrap_or(0) >= 2,
        "mh0: {mh0:?}"
    );
    assert!(took <= Duration::from_millis(310), "{took:?}");
}

// ---------------------------------------------------------------------------------------------
// idle_tx and passive

/// Ours (10.0.0.2/.12) and the reference (10.0.0.3/.13) with the same two sessions to
/// 10.0.0.1, where no BFD runs yet: `idle` (`idle_tx 2000`) sends while Down every 2 s less
/// a jitter of at most 25 % — ours like the reference; `quiet` (`passive`) sends nothing.
/// Then bfdd starts on 10.0.0.1: both sessions of both daemons come Up (the passive ones
/// answer) and `idle` sends at the 100 ms agreed interval.
#[test]
#[ignore = "lab: needs root, network namespaces, FRR and the reference keepalived"]
fn lab_bfd_idle_tx_and_passive_like_reference() {
    need(true);
    let lab = Lab::new("bfdi").unwrap();
    let p = lab.host("p").unwrap();
    let us = lab.host("us").unwrap();
    let ka = lab.host("ka").unwrap();
    p.add_addr("10.0.0.1/24").unwrap();
    us.add_addr("10.0.0.2/24").unwrap();
    us.add_addr("10.0.0.12/24").unwrap();
    ka.add_addr("10.0.0.3/24").unwrap();
    ka.add_addr("10.0.0.13/24").unwrap();
    let cap = p.capture("eth0", "idle").unwrap();
    let conf = |a: &str, b: &str| {
        format!(
            "global_defs {{\n  router_id bfdi\n}}\n{}{}",
            bfd_block(
                "idle",
                &format!("  neighbor_ip 10.0.0.1\n  source_ip {a}\n  idle_tx 2000\n{FAST}")
            ),
            bfd_block(
                "quiet",
                &format!("  neighbor_ip 10.0.0.1\n  source_ip {b}\n  passive\n{FAST}")
            )
        )
    };
    let o = start(&us, lab.dir(), "ours", BIN, &conf("10.0.0.2", "10.0.0.12"));
    let r = start(
        &ka,
        lab.dir(),
        "ref",
        REFERENCE,
        &conf("10.0.0.3", "10.0.0.13"),
    );
    std::thread::sleep(Duration::from_secs(9));
    let t_bfdd = now_epoch();
    let (_bfdd, _) = start_bfdd_peers(
        &lab,
        &p,
        &[
            ("10.0.0.2", "10.0.0.1"),
            ("10.0.0.12", "10.0.0.1"),
            ("10.0.0.3", "10.0.0.1"),
            ("10.0.0.13", "10.0.0.1"),
        ],
        100,
        100,
    )
    .unwrap();
    for d in [&o, &r] {
        seen_n(
            &d.proc,
            "(idle) Entering Up state",
            1,
            Duration::from_secs(20),
        );
        seen_n(
            &d.proc,
            "(quiet) Entering Up state",
            1,
            Duration::from_secs(20),
        );
    }
    std::thread::sleep(Duration::from_secs(2));
    let _ = cap.stop(Duration::from_secs(2));
    let fs = frames(cap.pcap_path().unwrap());
    // Gaps between Down packets (state 1 in the second byte's top bits) before bfdd started.
    let idle_gaps = |src: &str| {
        let ts: Vec<Duration> = bfd_from(&fs, src, "10.0.0.1")
            .iter()
            .filter(|f| f.ts < t_bfdd && f.payload.get(1).map(|b| b >> 6) == Some(1))
            .map(|f| f.ts)
            .collect();
        ts.windows(2).map(|w| w[1] - w[0]).collect::<Vec<_>>()
    };
    let before = |src: &str| {
        bfd_from(&fs, src, "10.0.0.1")
            .iter()
            .filter(|f| f.ts < t_bfdd)
            .count()
    };
    let up_gaps = |src: &str| {
        let ts: Vec<Duration> = bfd_from(&fs, src, "10.0.0.1")
            .iter()
            .filter(|f| f.payload.get(1).map(|b| b >> 6) == Some(3))
            .map(|f| f.ts)
            .collect();
        let g: Vec<Duration> = ts.windows(2).map(|w| w[1] - w[0]).collect();
        g.iter().sum::<Duration>() / u32::try_from(g.len().max(1)).unwrap()
    };
    let (og, rg) = (idle_gaps("10.0.0.2"), idle_gaps("10.0.0.3"));
    eprintln!(
        "idle gaps ours {og:?}\nidle gaps reference {rg:?}\npassive packets before the peer: \
         ours {}, reference {}; mean Up gaps ours {:?} reference {:?}",
        before("10.0.0.12"),
        before("10.0.0.13"),
        up_gaps("10.0.0.2"),
        up_gaps("10.0.0.3")
    );
    for (who, g) in [("ours", &og), ("reference", &rg)] {
        assert!(g.len() >= 3, "{who}: {g:?}");
        for x in g {
            // 2000 ms less 0-25 % jitter (RFC 5880 §6.8.7), ±10 ms of capture timing.
            assert!(
                *x >= Duration::from_millis(1490) && *x <= Duration::from_millis(2010),
                "{who}: idle gap {x:?} in {g:?}"
            );
        }
    }
    assert_eq!(before("10.0.0.12"), 0, "our passive session sent");
    assert_eq!(
        before("10.0.0.13"),
        0,
        "the reference's passive session sent"
    );
    for who in ["10.0.0.2", "10.0.0.3"] {
        assert!(up_gaps(who) <= Duration::from_millis(110), "{who}");
    }
    stop(&o);
    stop(&r);
}

// ---------------------------------------------------------------------------------------------
// weight, vrrp/checker

/// VRRP priorities on the wire follow BFD sessions as the reference's do, with three sessions
/// to bfdd: `w` (`weight -20`) tracked by VI_1 with its default weight and by VI_2 with
/// `track_bfd { w weight 30 }`; `c` (`checker`: events for the checker only) tracked by VI_3 —
/// the VRRP process does not know it, so VI_3 is not tracking anything; `v` (`vrrp`) tracked by
/// VI_4 with weight 0 (FAULT when down). bfdd killed: the advertised priority sequences per
/// VRID are equal for ours and the reference: VI_1 100 -> 80, VI_2 130 -> 100, VI_3 100,
/// VI_4 100 then gone (FAULT).
#[test]
#[ignore = "lab: needs root, network namespaces, FRR and the reference keepalived"]
fn lab_bfd_weight_and_event_destinations_like_reference() {
    need(true);
    let mut runs = Vec::new();
    for (tag, prog) in [("ours", BIN), ("reference", REFERENCE)] {
        let lab = Lab::new("bfdw").unwrap();
        let frr = lab.host("frr").unwrap();
        let us = lab.host("us").unwrap();
        frr.add_addr("10.0.0.1/24").unwrap();
        for a in ["10.0.0.2/24", "10.0.0.12/24", "10.0.0.22/24"] {
            us.add_addr(a).unwrap();
        }
        let (bfdd, _) = start_bfdd_peers(
            &lab,
            &frr,
            &[
                ("10.0.0.2", "10.0.0.1"),
                ("10.0.0.12", "10.0.0.1"),
                ("10.0.0.22", "10.0.0.1"),
            ],
            100,
            100,
        )
        .unwrap();
        let cap = us.capture("eth0", "vrrp").unwrap();
        let mut conf = String::from("global_defs {\n  router_id bfdw\n}\n");
        for (name, src, extra) in [
            ("w", "10.0.0.2", "  weight -20\n"),
            ("c", "10.0.0.12", "  checker\n"),
            ("v", "10.0.0.22", "  vrrp\n"),
        ] {
            conf.push_str(&bfd_block(
                name,
                &format!("  neighbor_ip 10.0.0.1\n  source_ip {src}\n{FAST}{extra}"),
            ));
        }
        for (i, track) in [(1, "w"), (2, "w weight 30"), (3, "c"), (4, "v")] {
            conf.push_str(&format!(
                "vrrp_instance VI_{i} {{\n  state BACKUP\n  interface eth0\n  \
                 virtual_router_id {}\n  priority 100\n  advert_int 1\n  \
                 virtual_ipaddress {{\n    10.0.0.{}/24\n  }}\n  track_bfd {{\n    {track}\n  }}\n}}\n",
                60 + i,
                100 + i
            ));
        }
        let d = start(&us, lab.dir(), tag, prog, &conf);
        for n in ["w", "c", "v"] {
            seen_n(
                &d.proc,
                &format!("({n}) Entering Up state"),
                1,
                Duration::from_secs(20),
            );
        }
        for i in 1..=4 {
            vrrp_in(
                &d.proc,
                &format!("VI_{i}"),
                "MASTER",
                Duration::from_secs(20),
            );
        }
        std::thread::sleep(Duration::from_secs(2));
        bfdd.kill();
        vrrp_in(&d.proc, "VI_4", "FAULT", Duration::from_secs(5));
        std::thread::sleep(Duration::from_secs(3));
        let _ = cap.stop(Duration::from_secs(2));
        let fs = frames(cap.pcap_path().unwrap());
        // Per VRID, the advertised priorities, consecutive repeats folded.
        let mut prios: BTreeMap<u8, Vec<u8>> = BTreeMap::new();
        for f in fs.iter().filter(|f| f.proto == 112) {
            let (Some(&vrid), Some(&prio)) = (f.payload.get(1), f.payload.get(2)) else {
                continue;
            };
            let v = prios.entry(vrid).or_default();
            if v.last() != Some(&prio) {
                v.push(prio);
            }
        }
        let log = stop(&d);
        runs.push((
            tag,
            prios,
            vrrp_states(&log, "VI_3"),
            vrrp_states(&log, "VI_4"),
        ));
    }
    eprintln!("{runs:#?}");
    let ours = &runs[0].1;
    assert_eq!(
        ours.get(&61).map(Vec::as_slice),
        Some(&[100u8, 80][..]),
        "{runs:?}"
    );
    assert_eq!(
        ours.get(&62).map(Vec::as_slice),
        Some(&[130u8, 100][..]),
        "{runs:?}"
    );
    assert_eq!(
        ours.get(&63).map(Vec::as_slice),
        Some(&[100u8][..]),
        "{runs:?}"
    );
    assert_eq!(
        ours.get(&64).and_then(|v| v.first()),
        Some(&100u8),
        "{runs:?}"
    );
    assert_eq!(
        runs[0].1, runs[1].1,
        "priorities differ from the reference's"
    );
    assert_eq!(runs[0].2, runs[1].2, "VI_3 states differ");
    assert_eq!(runs[0].3, runs[1].3, "VI_4 states differ");
}

// ---------------------------------------------------------------------------------------------
// Hostile packets

/// A BFD control packet: version, state, flags, detect mult, Length field, discriminators,
/// then `extra` bytes (an auth section).
#[allow(clippy::too_many_arguments)]
fn control(
    version: u8,
    state: u8,
    flags: u8,
    mult: u8,
    length: Option<u8>,
    my: u32,
    your: u32,
    extra: &[u8],
) -> Vec<u8> {
    let mut b = vec![version << 5, (state << 6) | flags, mult, 0];
    b.extend_from_slice(&my.to_be_bytes());
    b.extend_from_slice(&your.to_be_bytes());
    b.extend_from_slice(&100_000u32.to_be_bytes());
    b.extend_from_slice(&100_000u32.to_be_bytes());
    b.extend_from_slice(&0u32.to_be_bytes());
    b.extend_from_slice(extra);
    b[3] = length.unwrap_or(u8::try_from(b.len()).unwrap());
    b
}

/// Send `pkts` (each `times` times) from inside `host`'s namespace, from `src`, with `ttl`,
/// to `dst`:3784.
fn send_from(host: &Host, src: &str, ttl: u32, dst: &str, pkts: &[Vec<u8>], times: usize) {
    let ns = host.netns_path();
    let src: IpAddr = src.parse().unwrap();
    let dst: SocketAddr = SocketAddr::new(dst.parse().unwrap(), 3784);
    let pkts = pkts.to_vec();
    std::thread::spawn(move || {
        let f = std::fs::File::open(&ns).unwrap();
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).unwrap();
        s.bind(&SocketAddr::new(src, 0).into()).unwrap();
        s.set_ttl_v4(ttl).unwrap();
        for _ in 0..times {
            for p in &pkts {
                s.send_to(p, &dst.into()).unwrap();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    })
    .join()
    .unwrap();
}

/// Ours (10.0.0.2) and the reference (10.0.0.4) each Up with FRR's bfdd (10.0.0.1) at
/// 100 ms × 3; hostile packets at both, from bfdd's own address: bad version, Length field
/// beyond the payload, zero detect multiplier, multipoint, zero My Discriminator, an unknown
/// Your Discriminator, a correct Down packet with TTL 254 (it would take the session down if
/// accepted), a correct AdminDown with an authentication section (none configured); and, at
/// ours only, a correct Down packet from another host (10.0.0.3). Our session does not change
/// state, ours counts each refusal by reason and keeps running; the reference discards the
/// same (its -D log). Last, the forged Down from 10.0.0.3 is also sent to the reference, to
/// show what it does (it finds sessions by discriminator alone).
#[test]
#[ignore = "lab: needs root, network namespaces, FRR and the reference keepalived"]
fn lab_bfd_hostile_packets_counted_no_state_change() {
    need(true);
    let lab = Lab::new("bfdx").unwrap();
    let frr = lab.host("frr").unwrap();
    let us = lab.host("us").unwrap();
    let x = lab.host("x").unwrap();
    let ka = lab.host("ka").unwrap();
    frr.add_addr("10.0.0.1/24").unwrap();
    us.add_addr("10.0.0.2/24").unwrap();
    x.add_addr("10.0.0.3/24").unwrap();
    ka.add_addr("10.0.0.4/24").unwrap();
    let (_bfdd, _) = start_bfdd_peers(
        &lab,
        &frr,
        &[("10.0.0.2", "10.0.0.1"), ("10.0.0.4", "10.0.0.1")],
        100,
        100,
    )
    .unwrap();
    let cap = ka.capture("eth0", "hostile").unwrap();
    let conf = |src: &str| {
        format!(
            "global_defs {{\n  router_id bfdx\n}}\n{}",
            bfd_block(
                "nh",
                &format!("  neighbor_ip 10.0.0.1\n  source_ip {src}\n{FAST}")
            )
        )
    };
    let o = start(&us, lab.dir(), "ours", BIN, &conf("10.0.0.2"));
    let r = start(&ka, lab.dir(), "ref", REFERENCE, &conf("10.0.0.4"));
    seen_n(
        &o.proc,
        "(nh) Entering Up state",
        1,
        Duration::from_secs(20),
    );
    seen_n(
        &r.proc,
        "(nh) Entering Up state",
        1,
        Duration::from_secs(20),
    );
    std::thread::sleep(Duration::from_secs(1));
    let d0 = our_dump(&o);
    let b0 = session_block(&d0, "nh");
    let ours_d = hex_field(b0, "Local discriminator = ");
    let bfdd_d = hex_field(b0, "remote discriminator = ");
    // The reference's pair, from its packets to bfdd.
    let _ = cap.stop(Duration::from_secs(2));
    let fs = frames(cap.pcap_path().unwrap());
    let last = bfd_from(&fs, "10.0.0.4", "10.0.0.1")
        .into_iter()
        .next_back()
        .expect("the reference's packets")
        .payload
        .clone();
    let ref_d = u32::from_be_bytes(last[4..8].try_into().unwrap());
    let bfdd_rd = u32::from_be_bytes(last[8..12].try_into().unwrap());
    let g0 = counters(&d0);
    let s0 = counters(b0);
    let (o_lines, r_lines) = (
        o.proc.output_so_far().matches("(nh) Entering").count(),
        r.proc.output_so_far().matches("(nh) Entering").count(),
    );

    // (sender's discriminator, receiver's) as the receiver sees them.
    let hostile = |my: u32, your: u32| {
        let pw = [1u8, 7, 1, b's', b'e', b'c', b'r'];
        vec![
            control(0, 3, 0, 3, None, my, your, &[]),        // version 0
            control(1, 3, 0, 3, Some(40), my, your, &[]),    // Length beyond payload
            control(1, 3, 0, 0, None, my, your, &[]),        // detect mult 0
            control(1, 3, 0x01, 3, None, my, your, &[]),     // multipoint
            control(1, 3, 0, 3, None, 0, your, &[]),         // My Discriminator 0
            control(1, 3, 0, 3, None, my, 0x0bad_cafe, &[]), // unknown Your Discriminator
            control(1, 0, 0x04, 3, None, my, your, &pw),     // AdminDown with auth
        ]
    };
    let down = |my: u32, your: u32| vec![control(1, 1, 0, 3, None, my, your, &[])];
    let n = 10;
    send_from(
        &frr,
        "10.0.0.1",
        255,
        "10.0.0.2",
        &hostile(bfdd_d, ours_d),
        n,
    );
    send_from(&frr, "10.0.0.1", 254, "10.0.0.2", &down(bfdd_d, ours_d), n);
    send_from(&x, "10.0.0.3", 255, "10.0.0.2", &down(bfdd_d, ours_d), n);
    send_from(
        &frr,
        "10.0.0.1",
        255,
        "10.0.0.4",
        &hostile(bfdd_rd, ref_d),
        n,
    );
    send_from(&frr, "10.0.0.1", 254, "10.0.0.4", &down(bfdd_rd, ref_d), n);
    std::thread::sleep(Duration::from_secs(1));

    let d1 = our_dump(&o);
    let (g1, s1) = (counters(&d1), counters(session_block(&d1, "nh")));
    let delta = |a: &BTreeMap<String, u64>, b: &BTreeMap<String, u64>, k: &str| {
        b.get(k).copied().unwrap_or(0) - a.get(k).copied().unwrap_or(0)
    };
    let ol = o.proc.output_so_far();
    let rl = r.proc.output_so_far();
    eprintln!("our dump after:\n{d1}");
    assert_eq!(
        ol.matches("(nh) Entering").count(),
        o_lines,
        "ours changed:\n{ol}"
    );
    assert!(o.proc.is_running());
    let n = n as u64;
    for k in [
        "invalid rx_version",
        "invalid rx_length_exceeds_payload",
        "invalid rx_zero_detect_mult",
        "invalid rx_multipoint",
        "invalid rx_zero_my_discr",
    ] {
        assert_eq!(delta(&g0, &g1, k), n, "{k}:\n{d1}");
    }
    let global = |d: &str, key: &str| {
        d.lines()
            .find_map(|l| {
                let (_, v) = l.split_once(key)?;
                v.split(',').next()?.trim().parse::<u64>().ok()
            })
            .unwrap()
    };
    assert_eq!(
        global(&d1, "no session ") - global(&d0, "no session "),
        n,
        "{d1}"
    );
    assert_eq!(
        global(&d1, "wrong source ") - global(&d0, "wrong source "),
        n,
        "{d1}"
    );
    assert_eq!(delta(&s0, &s1, "refused rx_ttl"), n, "{d1}");
    assert_eq!(delta(&s0, &s1, "refused rx_auth_unexpected"), n, "{d1}");
    // The reference discarded the same (logged at -D).
    for what in [
        "Packet is of unsupported version: 0",
        "Packet size mismatch: length field: 40 bytes",
        "Packet 'detection multiplier' field is zero",
        "Packet has 'multipoint' flag",
        "Packet 'my discriminator' field is zero",
        "your discriminator field is 0x0badcafe",
        "Packet ttl(254) < 255 - discarding",
        "auth bit is set",
    ] {
        assert!(rl.contains(what), "reference log lacks {what:?}:\n{rl}");
    }
    let ref_changed = rl.matches("(nh) Entering").count() > r_lines;
    eprintln!(
        "reference during the hostile packets: {}",
        if ref_changed {
            "its session changed state"
        } else {
            "no state change"
        }
    );

    // For the record: the forged Down from another host, at the reference.
    let before = r.proc.output_so_far().matches("(nh) Entering").count();
    send_from(&x, "10.0.0.3", 255, "10.0.0.4", &down(bfdd_rd, ref_d), 1);
    std::thread::sleep(Duration::from_millis(500));
    let rl = r.proc.output_so_far();
    eprintln!(
        "reference after one Down with the right discriminators from 10.0.0.3: {}",
        if rl.matches("(nh) Entering").count() > before {
            "its session went Down (it matches by discriminator alone)"
        } else {
            "no state change"
        }
    );
    stop(&o);
    stop(&r);
}

// ---------------------------------------------------------------------------------------------
// track_bfd in a vrrp_sync_group

/// Lines written to the FIFO `path` (created here), read by a thread that holds it open
/// read-write (so the open never blocks and the daemon's restarts do not end it).
fn fifo_lines(path: &Path) -> std::sync::Arc<std::sync::Mutex<Vec<String>>> {
    use std::io::BufRead;
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let l = lines.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(f).lines() {
            let Ok(line) = line else { break };
            l.lock().unwrap().push(line);
        }
    });
    lines
}

/// The FIFO lines about `name` ("INSTANCE \"VI_1\" MASTER 100", "GROUP \"G\" FAULT 0").
fn fifo_of(lines: &[String], name: &str) -> Vec<String> {
    let key = format!("\"{name}\"");
    lines
        .iter()
        .filter(|l| l.split_whitespace().nth(1) == Some(key.as_str()))
        .cloned()
        .collect()
}

/// `track_bfd` in a `vrrp_sync_group` of two instances (neither tracks the session itself),
/// for ours and the reference in turn: once both are MASTER, (1) FRR's bfdd killed: the session
/// goes Down, both members go FAULT and the group notifies FAULT; bfdd started again: Up, both
/// MASTER, the group MASTER; (2) the peer's link down: FAULT again, link up: MASTER again. The
/// `vrrp_notify_fifo` lines from the steady state on, per instance and for the group, and the
/// logged VRRP state sequences are the reference's: in particular no member leaves FAULT on
/// its own while the other still waits for the session (no FAULT -> BACKUP -> FAULT flap), and
/// the group's lines carry priority 0 (`GROUP "G" FAULT 0`).
#[test]
#[ignore = "lab: needs root, network namespaces, FRR and the reference keepalived"]
fn lab_bfd_track_bfd_in_sync_group_like_reference() {
    need(true);
    let mut runs = Vec::new();
    for (tag, prog) in [("ours", BIN), ("reference", REFERENCE)] {
        let lab = Lab::new("bfdg").unwrap();
        let frr = lab.host("frr").unwrap();
        let us = lab.host("us").unwrap();
        frr.add_addr("10.0.0.1/24").unwrap();
        us.add_addr("10.0.0.2/24").unwrap();
        let bfdd_conf = "bfd\n peer 10.0.0.2 local-address 10.0.0.1\n  receive-interval 100\n  \
                         transmit-interval 100\n  detect-multiplier 3\n !\n!\n";
        let (bfdd, _) = start_bfdd_conf(&lab, &frr, "frr", bfdd_conf).unwrap();
        let fifo = lab.dir().join(format!("{tag}.fifo"));
        let lines = fifo_lines(&fifo);
        let mut conf = format!(
            "global_defs {{\n  router_id bfdg\n  vrrp_notify_fifo {}\n}}\n{}\
             vrrp_sync_group G {{\n  group {{\n    VI_1\n    VI_2\n  }}\n  \
             track_bfd {{\n    nh\n  }}\n}}\n",
            fifo.display(),
            bfd_block(
                "nh",
                &format!("  neighbor_ip 10.0.0.1\n  source_ip 10.0.0.2\n{FAST}")
            )
        );
        for i in 1..=2 {
            conf.push_str(&format!(
                "vrrp_instance VI_{i} {{\n  state BACKUP\n  interface eth0\n  \
                 virtual_router_id {}\n  priority 100\n  advert_int 1\n  \
                 virtual_ipaddress {{\n    10.0.0.{}/24\n  }}\n}}\n",
                70 + i,
                110 + i
            ));
        }
        let d = start(&us, lab.dir(), tag, prog, &conf);
        let up = "(nh) Entering Up state";
        let down = "(nh) Entering Down state";
        let both = |state: &str| {
            for i in ["VI_1", "VI_2"] {
                vrrp_in(&d.proc, i, state, Duration::from_secs(20));
            }
        };
        let group_is = |state: &str| {
            let want = format!("GROUP \"G\" {state} 0");
            wait_until(Duration::from_secs(10), || {
                fifo_of(&lines.lock().unwrap(), "G").last() == Some(&want)
            })
            .unwrap_or_else(|_| panic!("{tag}: no {want:?}: {:?}", lines.lock().unwrap()));
        };
        seen_n(&d.proc, up, 1, Duration::from_secs(20));
        both("MASTER");
        group_is("MASTER");
        std::thread::sleep(Duration::from_secs(1));
        let steady = lines.lock().unwrap().len();

        // 1. bfdd killed, then started again.
        bfdd.kill();
        seen_n(&d.proc, down, 1, Duration::from_secs(5));
        both("FAULT");
        group_is("FAULT");
        std::thread::sleep(Duration::from_secs(1));
        let (bfdd2, _) = start_bfdd_conf(&lab, &frr, "frr2", bfdd_conf).unwrap();
        seen_n(&d.proc, up, 2, Duration::from_secs(20));
        both("MASTER");
        group_is("MASTER");
        std::thread::sleep(Duration::from_secs(1));

        // 2. The peer's link down, then up.
        frr.link_down("eth0").unwrap();
        seen_n(&d.proc, down, 2, Duration::from_secs(5));
        both("FAULT");
        group_is("FAULT");
        std::thread::sleep(Duration::from_secs(1));
        frr.link_up("eth0").unwrap();
        seen_n(&d.proc, up, 3, Duration::from_secs(20));
        both("MASTER");
        group_is("MASTER");
        std::thread::sleep(Duration::from_secs(1));
        let log = stop(&d);
        bfdd2.kill();
        let all = lines.lock().unwrap().clone();
        let tail = all[steady..].to_vec();
        eprintln!("{tag}: FIFO lines:\n{}", all.join("\n"));
        runs.push((
            tag,
            fifo_of(&tail, "VI_1"),
            fifo_of(&tail, "VI_2"),
            fifo_of(&tail, "G"),
            vrrp_states(&log, "VI_1"),
            vrrp_states(&log, "VI_2"),
            bfd_transitions(&log, "nh"),
        ));
    }
    eprintln!("{runs:#?}");
    let (o, r) = (&runs[0], &runs[1]);
    // Both members FAULT and back, twice, and the group with them.
    for (i, seq) in [("VI_1", &o.1), ("VI_2", &o.2)] {
        let states: Vec<&str> = seq
            .iter()
            .filter_map(|l| l.split_whitespace().nth(2))
            .filter(|s| *s != "BACKUP")
            .collect();
        assert_eq!(
            states,
            ["FAULT", "MASTER", "FAULT", "MASTER", "STOP"],
            "{i}: {seq:?}"
        );
    }
    let g: Vec<&str> =
        o.3.iter()
            .filter_map(|l| l.split_whitespace().nth(2))
            .filter(|s| *s != "BACKUP")
            .collect();
    assert_eq!(
        g,
        ["FAULT", "MASTER", "FAULT", "MASTER", "STOP"],
        "group: {:?}",
        o.3
    );
    assert_eq!(o.1, r.1, "VI_1 notify lines differ: {runs:?}");
    assert_eq!(o.2, r.2, "VI_2 notify lines differ: {runs:?}");
    assert_eq!(o.3, r.3, "group notify lines differ: {runs:?}");
    assert_eq!(o.4, r.4, "VI_1 states differ: {runs:?}");
    assert_eq!(o.5, r.5, "VI_2 states differ: {runs:?}");
    assert_eq!(o.6, r.6, "BFD transitions differ: {runs:?}");
}
