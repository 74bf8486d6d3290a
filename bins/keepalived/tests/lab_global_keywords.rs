//! global_defs keywords of issue #17 against the reference keepalived 2.2.7, each in a namespace
//! lab: the netlink receive buffers of the VRRP process (`vrrp_netlink_{cmd,monitor}_rcv_bufs`
//! and their `_force` forms), read from the kernel (`ss -f netlink -m`, `/proc/PID/net/netlink`).
//!
//! Run as root: `cargo test -p keepalived --test lab_global_keywords -- --ignored`.

#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;
use testlab::netns::{wait_until, Host, Lab};

mod common;
use common::start_lab as start;

const BIN: &str = env!("CARGO_BIN_EXE_keepalived");
const REFERENCE: &str = "/usr/sbin/keepalived";

fn pid_in(p: &Path) -> Option<u32> {
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

/// The `NETLINK_ROUTE` sockets process `pid` holds: `(subscribed to multicast groups, rb)`,
/// with `rb` the receive buffer the kernel accounts (twice the value set), sorted.
fn route_sockets(host: &Host, pid: u32) -> Vec<(bool, u64)> {
    // Socket inodes of the process.
    let mut inodes = BTreeSet::new();
    if let Ok(rd) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for e in rd.flatten() {
            if let Ok(t) = std::fs::read_link(e.path()) {
                let t = t.to_string_lossy().to_string();
                if let Some(i) = t.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']')) {
                    inodes.insert(i.to_string());
                }
            }
        }
    }
    // inode -> (port id, groups) of the route sockets, in the process's namespace.
    let table = std::fs::read_to_string(format!("/proc/{pid}/net/netlink")).unwrap_or_default();
    let mut ports = BTreeMap::new();
    for l in table.lines().skip(1) {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() >= 10 && f[1] == "0" && inodes.contains(f[9]) {
            let groups = u32::from_str_radix(f[3], 16).unwrap_or(0);
            ports.insert(f[2].parse::<u32>().unwrap_or(0), groups != 0);
        }
    }
    // port id -> rb from sock_diag (`ss -n` prints `PROTO:PORT`, the port id signed; NETLINK_ROUTE is 0).
    let ss = host
        .run_ok(&["ss", "-f", "netlink", "-m", "-n", "-a"])
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut lines = ss.lines().skip(1).peekable();
    while let Some(l) = lines.next() {
        let mut text = l.to_string();
        if !text.contains("skmem:") {
            if let Some(n) = lines.peek() {
                text.push_str(n);
                lines.next();
            }
        }
        let Some(local) = text.split_whitespace().find_map(|w| w.strip_prefix("0:")) else {
            continue;
        };
        let port = match local.parse::<i64>() {
            Ok(p) => p as u32,
            Err(_) => continue,
        };
        let Some(&mon) = ports.get(&port) else {
            continue;
        };
        let rb = text
            .split("rb")
            .nth(1)
            .and_then(|s| s.split(',').next())
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0);
        out.push((mon, rb));
    }
    out.sort();
    out
}

/// What the VRRP process's route sockets look like once running, and after a reload with
/// `second`: `(monitor rb set, command rb set)`, each as a set (ours and the reference may hold
/// a different number of sockets of each kind).
type Bufs = (BTreeSet<u64>, BTreeSet<u64>);

/// A process's route sockets: (subscribed to groups, rb).
type Sockets = [(bool, u64)];

fn split(v: &Sockets) -> Bufs {
    (
        v.iter().filter(|x| x.0).map(|x| x.1).collect(),
        v.iter().filter(|x| !x.0).map(|x| x.1).collect(),
    )
}

fn netlink_bufs(lab: &Lab, tag: &str, prog: &str, first: &str, second: &str) -> (Bufs, Bufs) {
    let host = lab.host(tag).expect("host");
    host.add_addr("10.0.0.1/24").expect("addr");
    let dir: PathBuf = lab.dir().join(tag);
    std::fs::create_dir_all(&dir).expect("dir");
    let conf = |g: &str| {
        format!(
            "global_defs {{\n  router_id {tag}\n{g}}}\n\
             vrrp_instance A {{\n  interface eth0\n  virtual_router_id 51\n  priority 100\n  \
             advert_int 1\n  virtual_ipaddress {{ 10.0.0.100/24 }}\n}}\n"
        )
    };
    std::fs::write(dir.join("keepalived.conf"), conf(first)).expect("conf");
    let d = start(&host, &dir, prog);
    let vpid = dir.join("v.pid");
    let take = |want: &dyn Fn(&Sockets) -> bool| {
        let mut last = Vec::new();
        wait_until(Duration::from_secs(10), || {
            last = pid_in(&vpid)
                .map(|p| route_sockets(&host, p))
                .unwrap_or_default();
            want(&last)
        })
        .ok();
        split(&last)
    };
    let before = take(&|v| v.iter().any(|x| x.0) && v.iter().any(|x| !x.0));
    std::fs::write(dir.join("keepalived.conf"), conf(second)).expect("conf");
    std::thread::sleep(Duration::from_millis(300));
    d.signal(Signal::SIGHUP).expect("hup");
    // After the reload: wait for the buffers to change (or give up after 10 s).
    let after = take(&|v| split(v) != before);
    d.stop(Duration::from_secs(10)).ok();
    d.kill();
    (before, after)
}

#[test]
#[ignore = "needs root and network namespaces (lab test)"]
fn lab_vrrp_netlink_rcv_bufs_as_reference() {
    let lab = Lab::new("nlbuf").expect("lab");
    // Below rmem_max: SO_RCVBUF; then above it with _force (SO_RCVBUFFORCE) for the command
    // socket, a new size for the monitor socket.
    let first = "  vrrp_netlink_cmd_rcv_bufs 300000\n  vrrp_netlink_monitor_rcv_bufs 400000\n";
    let second = "  vrrp_netlink_cmd_rcv_bufs 5000000\n  vrrp_netlink_cmd_rcv_bufs_force\n  \
                  vrrp_netlink_monitor_rcv_bufs 250000\n";
    let ours = netlink_bufs(&lab, "o", BIN, first, second);
    let theirs = netlink_bufs(&lab, "r", REFERENCE, first, second);
    eprintln!("ours {ours:?}\nreference {theirs:?}");
    let expect_first: Bufs = ([800_000].into(), [600_000].into());
    let expect_second: Bufs = ([500_000].into(), [10_000_000].into());
    assert_eq!(
        theirs,
        (expect_first.clone(), expect_second.clone()),
        "reference"
    );
    assert_eq!(ours, (expect_first, expect_second), "ours");
}

fn tshark_fields(pcap: &Path, filter: &str, fields: &[&str]) -> String {
    let mut cmd = std::process::Command::new("tshark");
    cmd.args([
        "-r",
        pcap.to_str().unwrap_or(""),
        "-Y",
        filter,
        "-T",
        "fields",
    ]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("tshark");
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn has_addr(host: &Host, vip: &str) -> bool {
    host.ip(&["-6", "-o", "addr", "show", "dev", "eth0"])
        .map(|s| s.contains(vip))
        .unwrap_or(false)
}

/// An IPv6 instance (VIP fd00::100) with global `vrrp_version 2` and `extra` in the instance,
/// ours (priority 150) and the reference (100) on one segment. Returns the VRRP versions of
/// the adverts each sent (captured for 4 s once ours is master) and whether the reference
/// took over within 6 s of ours stopping.
fn v6_run(lab: &Lab, k: usize, extra: &str) -> (Vec<String>, Vec<String>, bool) {
    let conf = |prio: u8| {
        format!(
            "global_defs {{\n  router_id r{prio}\n  vrrp_version 2\n}}\n\
             vrrp_instance A {{\n  interface eth0\n{extra}\n  virtual_router_id 61\n  \
             priority {prio}\n  advert_int 1\n  virtual_ipaddress {{\n    fd00::100/64\n  }}\n}}\n"
        )
    };
    let (a, b) = (
        lab.host(&format!("a{k}")).expect("host"),
        lab.host(&format!("b{k}")).expect("host"),
    );
    let (da, db) = (
        lab.dir().join(format!("a{k}")),
        lab.dir().join(format!("b{k}")),
    );
    for (h, d, addr, prio) in [(&a, &da, "10.0.0.1/24", 150), (&b, &db, "10.0.0.2/24", 100)] {
        h.add_addr(addr).expect("addr");
        std::fs::create_dir_all(d).expect("dir");
        std::fs::write(d.join("keepalived.conf"), conf(prio)).expect("conf");
    }
    // Link-local addresses usable (no DAD left).
    std::thread::sleep(Duration::from_secs(2));
    let cap = a.capture("eth0", &format!("v6{k}")).expect("capture");
    let pb = start(&b, &db, REFERENCE);
    let pa = start(&a, &da, BIN);
    let master = wait_until(Duration::from_secs(15), || has_addr(&a, "fd00::100"));
    assert!(
        master.is_ok(),
        "case {k}: ours not master\n{}\n{}",
        pa.output_so_far(),
        pb.output_so_far()
    );
    std::thread::sleep(Duration::from_secs(4));
    pa.stop(Duration::from_secs(10)).ok();
    let took_over = wait_until(Duration::from_secs(6), || has_addr(&b, "fd00::100")).is_ok();
    std::thread::sleep(Duration::from_millis(300));
    cap.signal(Signal::SIGINT).ok();
    std::thread::sleep(Duration::from_millis(500));
    let pcap = cap.pcap_path().expect("pcap").to_path_buf();
    let (lla, llb) = (link_local(&a), link_local(&b));
    let versions = |src: &str| {
        let mut v: Vec<String> = tshark_fields(
            &pcap,
            &format!("vrrp && ipv6.src == {src}"),
            &["vrrp.version"],
        )
        .lines()
        .map(|l| l.trim().to_string())
        .collect();
        v.dedup();
        v
    };
    let out = (versions(&lla), versions(&llb), took_over);
    pb.stop(Duration::from_secs(10)).ok();
    pa.kill();
    pb.kill();
    out
}

fn link_local(h: &Host) -> String {
    h.ip(&["-o", "-6", "addr", "show", "dev", "eth0", "scope", "link"])
        .unwrap_or_default()
        .split_whitespace()
        .skip_while(|w| *w != "inet6")
        .nth(1)
        .and_then(|a| a.split('/').next())
        .unwrap_or("")
        .to_string()
}

// Proves the VRRP version of an IPv6 instance and `native_ipv6` as keepalived 2.2.7 decides
// them (vrrp_complete_instance): with global `vrrp_version 2`, an IPv6 instance without its
// own `version` runs VRRPv3, with or without `native_ipv6`; ours and the reference send v3
// adverts, ours (150) is master, the reference backup, and takes over when ours stops. And
// `native_ipv6` with no VIP is a v3 instance without addresses: refused at start by both.
#[test]
#[ignore = "needs root and network namespaces (lab test)"]
fn lab_ipv6_version_and_native_ipv6_as_reference() {
    let lab = Lab::new("v6ver").expect("lab");
    for (k, extra) in ["", "  native_ipv6"].into_iter().enumerate() {
        let (ours, theirs, took_over) = v6_run(&lab, k, extra);
        eprintln!("{extra:?}: ours {ours:?} reference {theirs:?} take-over {took_over}");
        assert_eq!(ours, ["3"], "{extra:?}: ours sends VRRPv3");
        assert_eq!(theirs, ["3"], "{extra:?}: the reference sends VRRPv3");
        assert!(took_over, "{extra:?}: the reference took over");
    }
    // native_ipv6 without a VIP: "No VIP specified; at least one is required" (v3), the
    // daemon does not start.
    let h = lab.host("c").expect("host");
    let mut codes = Vec::new();
    for prog in [BIN, REFERENCE] {
        let d = lab.dir().join(if prog == BIN { "co" } else { "cr" });
        std::fs::create_dir_all(&d).expect("dir");
        std::fs::write(
            d.join("keepalived.conf"),
            "vrrp_instance A {\n  interface eth0\n  native_ipv6\n  virtual_router_id 62\n  \
             priority 100\n  virtual_ipaddress {\n  }\n}\n",
        )
        .expect("conf");
        let p = start(&h, &d, prog);
        let st = p.wait_timeout(Duration::from_secs(15)).expect("wait");
        let running = st.is_none();
        p.kill();
        codes.push((
            running,
            p.output_so_far().contains("at least one is required"),
        ));
    }
    assert_eq!(
        codes,
        [(false, true), (false, true)],
        "ours, reference: stopped, with the reason"
    );
}

/// The `Debug level` lines of the data file `prog` writes at SIGUSR1 (TMPDIR in the lab) for
/// an instance with `extra`.
fn debug_lines(lab: &Lab, tag: &str, prog: &str, extra: &str) -> Vec<String> {
    let host = lab.host(tag).expect("host");
    host.add_addr("10.0.0.1/24").expect("addr");
    let dir = lab.dir().join(tag);
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).expect("dir");
    std::fs::write(
        dir.join("keepalived.conf"),
        format!(
            "vrrp_instance A {{\n  interface eth0\n  virtual_router_id 71\n  priority 100\n{extra}\n  \
             virtual_ipaddress {{\n    10.0.0.100/24\n  }}\n}}\n"
        ),
    )
    .expect("conf");
    let s = |n: &str| dir.join(n).display().to_string();
    let (c, p, r, ch) = (s("keepalived.conf"), s("k.pid"), s("v.pid"), s("c.pid"));
    let mut argv = vec![
        prog, "-n", "-l", "-P", "-f", &c, "-p", &p, "-r", &r, "-c", &ch,
    ];
    if prog == BIN {
        argv.push("-G");
    }
    let mut cmd = host.command(&argv).expect("cmd");
    cmd.env("TMPDIR", &tmp);
    let proc = host.spawn_command(cmd, "kd").expect("spawn");
    wait_until(Duration::from_secs(10), || dir.join("v.pid").exists()).expect("worker");
    std::thread::sleep(Duration::from_millis(1500));
    proc.signal(Signal::SIGUSR1).expect("usr1");
    let data = tmp.join("keepalived.data");
    let mut text = String::new();
    wait_until(Duration::from_secs(5), || {
        text = std::fs::read_to_string(&data).unwrap_or_default();
        text.contains("VRRP Instance")
    })
    .expect("data file");
    proc.stop(Duration::from_secs(10)).ok();
    proc.kill();
    text.lines()
        .filter(|l| l.contains("Debug level"))
        .map(str::to_string)
        .collect()
}

// Proves `debug` in a vrrp_instance as keepalived 2.2.7 has it: its only effect is the
// instance's "Debug level = N" line in the data file written at SIGUSR1 (none without it).
#[test]
#[ignore = "needs root and network namespaces (lab test)"]
fn lab_instance_debug_in_data_file_as_reference() {
    let lab = Lab::new("dbglv").expect("lab");
    for (k, extra) in ["  debug 3", ""].into_iter().enumerate() {
        let ours = debug_lines(&lab, &format!("o{k}"), BIN, extra);
        let theirs = debug_lines(&lab, &format!("r{k}"), REFERENCE, extra);
        eprintln!("{extra:?}: ours {ours:?} reference {theirs:?}");
        assert_eq!(ours, theirs, "{extra:?}");
        assert_eq!(ours.len(), usize::from(!extra.is_empty()), "{extra:?}");
    }
}

// Proves a reload or dump request sent while the daemon starts does not kill it: SIGHUP,
// SIGUSR1 and SIGUSR2 at 0 to 300 ms after its first log line (before its handlers exist, and
// while its workers start), then
// it runs and becomes master. (The chaos soak found a parent killed by a SIGHUP in its first
// 50 ms; keepalived 2.2.7 dies the same way when hit in its first ~20 ms: not compared.)
#[test]
#[ignore = "needs root and network namespaces (lab test)"]
fn lab_signals_during_start_do_not_kill() {
    let lab = Lab::new("sigst").expect("lab");
    let delays = [0u64, 20, 50, 100, 300];
    let sigs = [Signal::SIGHUP, Signal::SIGUSR1, Signal::SIGUSR2];
    let mut cases = Vec::new();
    for (k, sig) in sigs.iter().enumerate() {
        for (j, ms) in delays.iter().enumerate() {
            cases.push((k * delays.len() + j, *sig, *ms));
        }
    }
    let results = std::thread::scope(|s| {
        let hs: Vec<_> = cases
            .iter()
            .map(|&(n, sig, ms)| {
                let lab = &lab;
                s.spawn(move || {
                    let host = lab.host(&format!("h{n}")).expect("host");
                    host.add_addr("10.0.0.1/24").expect("addr");
                    let dir = lab.dir().join(format!("h{n}"));
                    std::fs::create_dir_all(&dir).expect("dir");
                    std::fs::write(
                        dir.join("keepalived.conf"),
                        "vrrp_instance A {\n  interface eth0\n  virtual_router_id 81\n  \
                         priority 100\n  advert_int 1\n  virtual_ipaddress {\n    \
                         10.0.0.100/24\n  }\n}\n",
                    )
                    .expect("conf");
                    let p = start(&host, &dir, BIN);
                    // From its first log line (before it, the process may still be `ip netns
                    // exec` or the loader: no program can handle a signal there).
                    let t0 = std::time::Instant::now();
                    while !p.output_so_far().contains("Starting Keepalived-rs")
                        && t0.elapsed() < Duration::from_secs(10)
                    {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    std::thread::sleep(Duration::from_millis(ms));
                    p.signal(sig).expect("signal");
                    let master = wait_until(Duration::from_secs(15), || {
                        host.ip(&["-4", "-o", "addr", "show", "dev", "eth0"])
                            .is_ok_and(|a| a.contains("10.0.0.100/24"))
                    })
                    .is_ok();
                    let alive = p.try_status().is_none();
                    let log = p.output_so_far();
                    p.stop(Duration::from_secs(10)).ok();
                    p.kill();
                    ((sig, ms), alive && master, log)
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("run"))
            .collect::<Vec<_>>()
    });
    for ((sig, ms), ok, log) in &results {
        assert!(ok, "{sig:?} at {ms} ms: not running as master\n{log}");
    }
}
