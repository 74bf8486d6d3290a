//! The SNMP sub-agent (`global_defs { enable_snmp_rfcv2; snmp_socket ... }`) against the
//! reference keepalived 2.2.7, through net-snmp's `snmpd` as the AgentX master agent (started by
//! the test in a lab namespace, `master agentx`, its AgentX socket in the lab directory) and
//! `snmpwalk` as the manager.
//!
//! Run: `cargo test -p keepalived --test lab_snmp -- --ignored --nocapture`

#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use nix::sys::signal::Signal;
use testlab::netns::{wait_until, Host, Lab, Proc};

const BIN: &str = env!("CARGO_BIN_EXE_keepalived");
const REFERENCE: &str = "/usr/sbin/keepalived";
const VRRP_MIB: &str = "1.3.6.1.2.1.68";

fn start_snmpd(host: &Host, dir: &Path) -> (Proc, String) {
    let sock = dir.join("agentx.sock");
    let conf = dir.join("snmpd.conf");
    std::fs::write(
        &conf,
        format!(
            "master agentx\nagentXSocket unix:{}\nagentXPerms 0700 0700\nagentaddress udp:127.0.0.1:16161\nrocommunity public 127.0.0.1\ntrap2sink 127.0.0.1:16162 public\n",
            sock.display()
        ),
    )
    .unwrap();
    let p = host
        .spawn(&[
            "snmpd",
            "-f",
            "-Lo",
            "-C",
            "-c",
            conf.to_str().unwrap(),
            "-p",
            dir.join("snmpd.pid").to_str().unwrap(),
        ])
        .expect("snmpd (apt-get install snmpd)");
    wait_until(Duration::from_secs(10), || sock.exists()).expect("AgentX socket");
    (p, format!("unix:{}", sock.display()))
}

fn walk(host: &Host) -> String {
    let out = host
        .run(&[
            "snmpwalk",
            "-v2c",
            "-c",
            "public",
            "-On",
            "-t",
            "2",
            "127.0.0.1:16161",
            VRRP_MIB,
        ])
        .expect("snmpwalk (apt-get install snmp)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Times compared by type only; with `counters`, counters too (they move while adverts flow).
fn normalize(w: &str, counters: bool) -> String {
    w.lines()
        .map(|l| {
            if let Some(i) = l.find("= Timeticks:") {
                format!("{}= Timeticks", &l[..i])
            } else if let (true, Some(i)) = (counters, l.find("= Counter32:")) {
                format!("{}= Counter32", &l[..i])
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `vrrpOperState` of VRID `vrid` in a walk.
fn state(w: &str, vrid: u32) -> Option<i32> {
    w.lines()
        .find(|l| {
            l.starts_with(".1.3.6.1.2.1.68.1.3.1.3.") && l.contains(&format!(".{vrid} = INTEGER:"))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// VI_1 (IPv4, VRRPv2), VI_2 (IPv4, VRRPv3 unless `v2`), VI_6 (IPv6): VRRP-MIB lists the
/// IPv4 VRRPv2 instances only.
fn conf(socket: &str, v2: bool) -> String {
    let version = if v2 { 2 } else { 3 };
    format!(
        "global_defs {{\n    router_id lab\n    enable_snmp_rfcv2\n    snmp_socket {socket}\n}}\n\
vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    advert_int 1\n    virtual_ipaddress {{\n        10.0.0.101/24\n        10.0.0.100/24\n    }}\n}}\n\
vrrp_instance VI_2 {{\n    state BACKUP\n    version {version}\n    interface eth0\n    virtual_router_id 52\n    priority 90\n    advert_int 2\n    nopreempt\n    virtual_ipaddress {{\n        10.0.0.102/24\n    }}\n}}\n\
vrrp_instance VI_6 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 53\n    priority 100\n    advert_int 1\n    virtual_ipaddress {{\n        fd00::100/64\n    }}\n}}\n"
    )
}

const PEER_CONF: &str = "global_defs {\n    router_id peer\n}\nvrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority 200\n    advert_int 1\n    virtual_ipaddress {\n        10.0.0.101/24\n        10.0.0.100/24\n    }\n}\n";

fn start(host: &Host, dir: &Path, tag: &str, prog: &str, text: &str) -> Proc {
    let d = dir.join(tag);
    std::fs::create_dir_all(&d).unwrap();
    let conf = d.join("keepalived.conf");
    std::fs::write(&conf, text).unwrap();
    let p = |n: &str| d.join(n).display().to_string();
    let mut argv = vec![
        prog.to_string(),
        "-n".into(),
        "-l".into(),
        "-D".into(),
        "-P".into(),
        "-f".into(),
        conf.display().to_string(),
        "-p".into(),
        p("main.pid"),
        "-r".into(),
        p("vrrp.pid"),
        "-c".into(),
        p("check.pid"),
    ];
    if prog == BIN {
        argv.push("-G".into());
    }
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    host.spawn(&argv).expect("keepalived")
}

fn wait_walk(
    host: &Host,
    what: &str,
    log: &dyn Fn() -> String,
    f: impl Fn(&str) -> bool,
) -> String {
    let mut last = String::new();
    if wait_until(Duration::from_secs(20), || {
        last = walk(host);
        f(&last)
    })
    .is_err()
    {
        panic!("{what}: not seen in the walk:\n{last}\nlog:\n{}", log());
    }
    last
}

/// Master alone, then backup under a higher-priority peer: the two walks.
fn scenario(
    lab: &Lab,
    a: &Host,
    p: &Host,
    socket: &str,
    prog: &str,
    tag: &str,
) -> (String, String) {
    let d = start(a, lab.dir(), tag, prog, &conf(socket, false));
    let log = || d.output_so_far();
    let master = wait_walk(a, "VI_1 master", &log, |w| state(w, 51) == Some(3));
    let peer = start(p, lab.dir(), &format!("peer-{tag}"), REFERENCE, PEER_CONF);
    let backup = wait_walk(a, "VI_1 backup under the peer", &log, |w| {
        state(w, 51) == Some(2) && w.contains("68.1.3.1.7.") && w.contains("IpAddress: 10.0.0.2")
    });
    peer.signal(Signal::SIGTERM).unwrap();
    peer.wait_timeout(Duration::from_secs(10)).unwrap();
    d.signal(Signal::SIGTERM).unwrap();
    assert!(d.wait_timeout(Duration::from_secs(15)).unwrap().is_some());
    (master, backup)
}

// Proves VRRP-MIB (RFC 2787) is served as keepalived 2.2.7 serves it, through a real net-snmp
// master agent: for the same configuration (an IPv4 VRRPv2 instance with two VIPs, and a
// VRRPv3 and an IPv6 one that the MIB leaves out) the walk of 1.3.6.1.2.1.68 is the
// reference's line for line — node version, notification
// control, every vrrpOperTable column (interface MAC, state, priority, VIP count, master and
// primary addresses, auth type, interval, preempt, protocol, row status), the associated
// addresses in address order and the statistics — with both instances master alone (up times
// compared by type), and again with VI_1 backup under a higher-priority peer (its master's
// address reported; counters compared by type, adverts received counted). Then, ours only,
// two VRRPv2 instances: both rows listed (nopreempt: TruthValue false), and a Get answered;
// snmpd is restarted and the sub-agent's session comes back by itself.
#[test]
#[ignore = "lab: needs root, network namespaces, snmpd and the reference keepalived"]
fn lab_snmp_vrrp_mib_walk_as_reference() {
    assert!(
        Path::new(REFERENCE).exists(),
        "reference keepalived missing"
    );
    let lab = Lab::new("snmp").expect("lab");
    let a = lab.host("a").unwrap();
    a.add_addr("10.0.0.1/24").unwrap();
    let p = lab.host("p").unwrap();
    p.add_addr("10.0.0.2/24").unwrap();
    let (snmpd, socket) = start_snmpd(&a, lab.dir());

    let (ref_master, ref_backup) = scenario(&lab, &a, &p, &socket, REFERENCE, "ref");
    let (our_master, our_backup) = scenario(&lab, &a, &p, &socket, BIN, "ours");
    eprintln!("reference, master:\n{ref_master}\nreference, backup:\n{ref_backup}");
    assert!(ref_master.lines().count() >= 30, "{ref_master}");
    assert_eq!(normalize(&our_master, false), normalize(&ref_master, false));
    assert_eq!(normalize(&our_backup, true), normalize(&ref_backup, true));
    let rcvd = our_backup
        .lines()
        .find(|l| l.starts_with(".1.3.6.1.2.1.68.2.4.1.2.") && l.contains(".51 = "))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0);
    assert!(
        rcvd > 0,
        "adverts received by VI_1 as backup:\n{our_backup}"
    );

    // Two IPv4 VRRPv2 instances on one interface: ours lists both rows and answers a Get of
    // the second (keepalived 2.2.7 lists only the first in vrrpOperTable and
    // vrrpRouterStatsTable, and answers noSuchInstance to Gets of their columns, so this part
    // is not compared).
    let d = start(&a, lab.dir(), "ours-2", BIN, &conf(&socket, true));
    let log = || d.output_so_far();
    let w = wait_walk(&a, "VI_1 and VI_2 master", &log, |w| {
        state(w, 51) == Some(3) && state(w, 52) == Some(3)
    });
    let row = w
        .lines()
        .find(|l| l.starts_with(".1.3.6.1.2.1.68.1.3.1.3.") && l.contains(".52 = "))
        .and_then(|l| l.split(' ').next())
        .unwrap()
        .to_string();
    let got = a
        .run_ok(&[
            "snmpget",
            "-v2c",
            "-c",
            "public",
            "-On",
            "127.0.0.1:16161",
            &row,
        ])
        .unwrap();
    assert!(got.contains("INTEGER: 3"), "{got}");
    assert!(w.contains(".52 = INTEGER: 90"), "VI_2 priority row:\n{w}");
    assert!(
        w.lines()
            .any(|l| l.starts_with(".1.3.6.1.2.1.68.1.3.1.12.") && l.ends_with(".52 = INTEGER: 2")),
        "VI_2 nopreempt: vrrpOperPreemptMode false(2):\n{w}"
    );
    // The master agent restarts: the sub-agent opens a new session by itself.
    snmpd.signal(Signal::SIGTERM).unwrap();
    snmpd.wait_timeout(Duration::from_secs(10)).unwrap();
    let _ = std::fs::remove_file(lab.dir().join("agentx.sock"));
    let (_snmpd2, _) = start_snmpd(&a, lab.dir());
    let t0 = std::time::Instant::now();
    wait_walk(
        &a,
        "VRRP-MIB back after the master agent restarted",
        &log,
        |w| state(w, 51) == Some(3) && state(w, 52) == Some(3),
    );
    eprintln!(
        "VRRP-MIB served again {:?} after snmpd restarted",
        t0.elapsed()
    );
    assert!(d.is_running());
    d.signal(Signal::SIGTERM).unwrap();
    assert!(d.wait_timeout(Duration::from_secs(15)).unwrap().is_some());
}

/// snmptrapd on 127.0.0.1:16162 of `host`, printing each notification's varbinds on a line.
fn start_trapd(host: &Host, dir: &Path) -> Proc {
    let conf = dir.join("snmptrapd.conf");
    std::fs::write(&conf, "disableAuthorization yes\n").unwrap();
    let p = host
        .spawn(&[
            "snmptrapd",
            "-f",
            "-Lo",
            "-On",
            "-C",
            "-c",
            conf.to_str().unwrap(),
            "-F",
            "TRAP %V\\t%v\\n",
            "udp:127.0.0.1:16162",
        ])
        .expect("snmptrapd (apt-get install snmptrapd)");
    std::thread::sleep(Duration::from_millis(500));
    p
}

/// The varbinds of the received VRRP-MIB notifications (not snmpd's own coldStart), sysUpTime.0
/// left out.
fn traps(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.strip_prefix("TRAP "))
        .filter(|l| l.contains("OID: .1.3.6.1.2.1.68.0."))
        .map(|l| {
            l.split('\t')
                .filter(|v| !v.trim().is_empty() && !v.starts_with(".1.3.6.1.2.1.1.3.0"))
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect()
}

// Proves `enable_traps` with `enable_snmp_rfcv2`: an instance becoming master sends
// vrrpTrapNewMaster (RFC 2787) with its vrrpOperMasterIpAddr, through net-snmp's master agent
// to a trap receiver (snmptrapd), exactly as keepalived 2.2.7 sends it; the VRRPv3 and IPv6
// instances send none.
#[test]
#[ignore = "lab: needs root, network namespaces, snmpd, snmptrapd and the reference keepalived"]
fn lab_snmp_new_master_trap_as_reference() {
    assert!(
        Path::new(REFERENCE).exists(),
        "reference keepalived missing"
    );
    let lab = Lab::new("snmpt").expect("lab");
    let a = lab.host("a").unwrap();
    a.add_addr("10.0.0.1/24").unwrap();
    let (_snmpd, socket) = start_snmpd(&a, lab.dir());
    let text = conf(&socket, false).replace(
        "    enable_snmp_rfcv2\n",
        "    enable_snmp_rfcv2\n    enable_traps\n",
    );
    let mut got = Vec::new();
    for (prog, tag) in [(REFERENCE, "ref"), (BIN, "ours")] {
        let trapd = start_trapd(&a, lab.dir());
        let d = start(&a, lab.dir(), tag, prog, &text);
        let log = || d.output_so_far();
        wait_walk(&a, "VI_1 master", &log, |w| state(w, 51) == Some(3));
        if wait_until(Duration::from_secs(10), || {
            !traps(&trapd.output_so_far()).is_empty()
        })
        .is_err()
        {
            panic!(
                "{tag}: no notification received:\n{}\nlog:\n{}",
                trapd.output_so_far(),
                log()
            );
        }
        // VI_2 (VRRPv3) and VI_6 (IPv6) become master too: nothing more may arrive.
        std::thread::sleep(Duration::from_secs(8));
        got.push(traps(&trapd.output_so_far()));
        d.signal(Signal::SIGTERM).unwrap();
        assert!(d.wait_timeout(Duration::from_secs(15)).unwrap().is_some());
        trapd.stop(Duration::from_secs(2)).ok();
    }
    eprintln!("reference: {:?}\nours:      {:?}", got[0], got[1]);
    assert_eq!(got[0].len(), 1, "{:?}", got[0]);
    assert!(got[0][0].contains(".1.3.6.1.2.1.68.0.1"), "{:?}", got[0]);
    assert_eq!(got[1], got[0]);
}
