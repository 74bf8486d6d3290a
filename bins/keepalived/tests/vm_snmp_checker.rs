//! KEEPALIVED-MIB's checker part (`enable_snmp_checker`, `enable_traps`) against the reference
//! keepalived 2.2.7 on real IPVS, inside the project VM:
//! `scripts/vm-test.sh keepalived vm_snmp_checker`.
//!
//! A namespace lab inside the VM: director `d` runs net-snmp's `snmpd` (`master agentx`, its
//! AgentX socket in the lab directory), `snmptrapd` and the daemon under test; real servers
//! `r1`, `r2` run python HTTP servers checked with TCP_CHECK. The same configuration runs under
//! ours, then under the reference, and the walks and notifications are compared.

#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use nix::sys::signal::Signal;
use testlab::netns::{wait_until, Host, Lab, Proc};

const BIN: &str = env!("CARGO_BIN_EXE_keepalived");
const REFERENCE: &str = "/usr/sbin/keepalived";
const CHECK_MIB: &str = "1.3.6.1.4.1.9586.100.5.3";
const GLOBAL_MIB: &str = "1.3.6.1.4.1.9586.100.5.1";

fn require_vm() {
    assert!(
        std::env::var_os("KRS_IN_VM").is_some(),
        "this test needs real IPVS (KRS_IN_VM unset): run it inside the VM with `scripts/vm-test.sh keepalived vm_snmp_checker`"
    );
}

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
    // Listening once it logs its start (a fixed 0.5 s was not always enough in a loaded VM:
    // the notifications of the daemon's start were then lost for one daemon and not the
    // other).
    let started = wait_until(Duration::from_secs(20), || {
        std::thread::sleep(Duration::from_millis(20));
        p.output_so_far().contains("NET-SNMP version")
    });
    assert!(started.is_ok(), "snmptrapd started:\n{}", p.output_so_far());
    p
}

/// The checker notifications received (sysUpTime.0 left out), in order.
fn traps(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.strip_prefix("TRAP "))
        .filter(|l| l.contains("OID: .1.3.6.1.4.1.9586.100.5.3.5.0."))
        .map(|l| {
            l.split('\t')
                .filter(|v| !v.trim().is_empty() && !v.starts_with(".1.3.6.1.2.1.1.3.0"))
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect()
}

fn walk(host: &Host, oid: &str) -> String {
    let out = host
        .run(&[
            "snmpwalk",
            "-v2c",
            "-c",
            "public",
            "-On",
            "-t",
            "3",
            "127.0.0.1:16161",
            oid,
        ])
        .expect("snmpwalk (apt-get install snmp)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `snmpget` of `oids` (numeric, with their leading dot): the lines.
fn get(host: &Host, oids: &[String]) -> String {
    // No MIB loaded (numeric output): snmpget starts in a fraction of the time.
    let mut argv = vec![
        "snmpget",
        "-m",
        "",
        "-v2c",
        "-c",
        "public",
        "-On",
        "-t",
        "3",
        "127.0.0.1:16161",
    ];
    argv.extend(oids.iter().map(String::as_str));
    let out = host.run(&argv).expect("snmpget (apt-get install snmp)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn listener(h: &Host, addr: &str) -> Proc {
    let p = h
        .spawn(&["python3", "-u", "-m", "http.server", "80", "--bind", addr])
        .expect("python listener");
    wait_until(Duration::from_secs(60), || {
        p.output_so_far().contains("Serving")
    })
    .unwrap_or_else(|_| panic!("listener {addr} did not start: {}", p.output_so_far()));
    p
}

/// A virtual server on an address with a sorry server, a quorum of 2 and `snmp_name`s (r2's
/// weight 2 holds the quorum alone), a virtual server group with an address, a range and a
/// fwmark, and a virtual server on that group without checkers.
fn conf(socket: &str, extra: &str) -> String {
    format!(
        "global_defs {{
    router_id vm
    enable_snmp_checker
    enable_traps
    snmp_socket {socket}
{extra}}}
virtual_server_group G1 {{
    10.0.0.200 80
    10.0.0.201-202 8080
    fwmark 7
}}
virtual_server 10.0.0.100 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 2
    hysteresis 0
    snmp_name web
    quorum_up \"/bin/true up\"
    sorry_server 10.0.0.13 80
    real_server 10.0.0.11 80 {{
        weight 1
        snmp_name first
        uthreshold 100
        TCP_CHECK {{
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }}
    }}
    real_server 10.0.0.12 80 {{
        weight 2
        notify_down \"/bin/true down\"
        TCP_CHECK {{
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }}
    }}
}}
virtual_server group G1 {{
    lb_algo wlc
    lb_kind DR
    protocol TCP
    persistence_timeout 30
    real_server 10.0.0.14 80 {{
        weight 3
    }}
}}
"
    )
}

/// The statistics columns (counters, gauges of connections and rates) compared by type.
fn normalize(w: &str) -> String {
    w.lines()
        .map(|l| {
            let stats = |prefix: &str, cols: std::ops::RangeInclusive<u32>| {
                cols.into_iter()
                    .any(|c| l.starts_with(&format!("{prefix}.{c}.")))
            };
            let vs = stats(".1.3.6.1.4.1.9586.100.5.3.3.1", 27..=50);
            let rs = stats(".1.3.6.1.4.1.9586.100.5.3.4.1", 14..=39);
            let version = l.starts_with(".1.3.6.1.4.1.9586.100.5.1.1.0 ");
            match l.split_once(" = ") {
                Some((k, v)) if vs || rs || version => {
                    format!("{k} = {}", v.split(':').next().unwrap_or(""))
                }
                _ => l.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The number after the type of `oid`'s line in a walk.
fn value(w: &str, oid: &str) -> Option<u64> {
    w.lines()
        .find(|l| l.starts_with(&format!("{oid} = ")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

const VS: &str = ".1.3.6.1.4.1.9586.100.5.3.3.1";
const RS: &str = ".1.3.6.1.4.1.9586.100.5.3.4.1";

struct Run {
    /// Walk with both real servers up, after traffic.
    up: String,
    /// Walk with r2 down.
    down: String,
    /// The checker notifications received from start to stop.
    traps: Vec<String>,
    /// Connections and bytes in of the first virtual server after traffic.
    conns: u64,
    inbytes: u64,
}

/// `prog -C` (checker only) on `text` in `d`, with `extra` options.
fn start_ka(lab: &Lab, d: &Host, prog: &str, tag: &str, text: &str, extra: &[&str]) -> Proc {
    let dir = lab.dir().join(tag);
    std::fs::create_dir_all(&dir).unwrap();
    let cf = dir.join("k.conf");
    std::fs::write(&cf, text).unwrap();
    let p = |n: &str| dir.join(n).display().to_string();
    let mut argv = vec![
        prog.to_string(),
        "-n".into(),
        "-l".into(),
        "-D".into(),
        "-C".into(),
        "-f".into(),
        cf.display().to_string(),
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
    argv.extend(extra.iter().map(|s| s.to_string()));
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    d.spawn(&argv).expect("keepalived")
}

/// Both real servers of the first virtual server up, its quorum held.
fn wait_up(d: &Host, tag: &str, ka: &Proc) -> String {
    let mut w = String::new();
    let oids = [
        format!("{RS}.6.1.2"),
        format!("{RS}.6.1.3"),
        format!("{VS}.23.1"),
    ];
    let up = wait_until(Duration::from_secs(60), || {
        w = get(d, &oids);
        value(&w, &format!("{RS}.6.1.2")) == Some(1)
            && value(&w, &format!("{RS}.6.1.3")) == Some(1)
            && value(&w, &format!("{VS}.23.1")) == Some(1)
    });
    assert!(
        up.is_ok(),
        "{tag}: both real servers up:\n{w}\nlog:\n{}",
        ka.output_so_far()
    );
    w
}

fn stop_ka(ka: &Proc, tag: &str) {
    ka.signal(Signal::SIGTERM).unwrap();
    assert!(
        ka.wait_timeout(Duration::from_secs(30)).unwrap().is_some(),
        "{tag} stops"
    );
}

/// `n` requests through the virtual server from the director (a local client of IPVS): the
/// number answered.
fn requests(d: &Host, n: u32) -> u32 {
    d.sh(&format!(
        "n=0; for i in $(seq {n}); do curl -s -o /dev/null --max-time 3 http://10.0.0.100/ && n=$((n+1)); done; echo $n"
    ))
    .unwrap()
    .trim()
    .parse()
    .unwrap_or(0)
}

/// `n` TCP connections through the virtual server from the director, opened and closed at
/// once (fast: IPVS counts a connection at its first packet): the number established.
fn connects(d: &Host, n: u32) -> u32 {
    d.sh(&format!(
        "exec bash -c 'n=0; for i in $(seq {n}); do exec 3<>/dev/tcp/10.0.0.100/80 && n=$((n+1)); exec 3>&-; done; echo $n'"
    ))
    .unwrap()
    .trim()
    .parse()
    .unwrap_or(0)
}

fn scenario(lab: &Lab, d: &Host, r2: &Host, prog: &str, tag: &str, socket: &str) -> Run {
    let l2 = listener(r2, "10.0.0.12");
    let trapd = start_trapd(d, lab.dir());
    let ka = start_ka(lab, d, prog, tag, &conf(socket, ""), &[]);
    let log = || ka.output_so_far();
    let status = |w: &str, rs: u32| value(w, &format!("{RS}.6.1.{rs}"));
    let mut w = wait_up(d, tag, &ka);
    // Traffic through the virtual server, then the counters once the 5 s cache of the
    // statistics has expired.
    eprintln!(
        "{tag}: {} requests answered through the VIP",
        requests(d, 6)
    );
    std::thread::sleep(Duration::from_secs(6));
    let up_walk = format!("{}{}", walk(d, GLOBAL_MIB), walk(d, CHECK_MIB));
    let conns = value(&up_walk, &format!("{VS}.27.1")).unwrap_or(0);
    let inbytes = value(&up_walk, &format!("{VS}.30.1")).unwrap_or(0);

    l2.signal(Signal::SIGKILL).unwrap();
    let down = wait_until(Duration::from_secs(60), || {
        w = walk(d, CHECK_MIB);
        status(&w, 3) == Some(2) && value(&w, &format!("{VS}.23.1")) == Some(2)
    });
    assert!(down.is_ok(), "{tag}: r2 down:\n{w}\nlog:\n{}", log());
    let down_walk = format!("{}{}", walk(d, GLOBAL_MIB), walk(d, CHECK_MIB));
    stop_ka(&ka, tag);
    std::thread::sleep(Duration::from_secs(2));
    let t = traps(&trapd.output_so_far());
    trapd.signal(Signal::SIGTERM).unwrap();
    let _ = trapd.wait_timeout(Duration::from_secs(5));
    Run {
        up: up_walk,
        down: down_walk,
        traps: t,
        conns,
        inbytes,
    }
}

// Proves KEEPALIVED-MIB's checker part is served as keepalived 2.2.7 serves it, through a real
// net-snmp master agent, with real IPVS: for the same configuration (a virtual server with a
// sorry server, quorum, scripts and snmp_names; a virtual server group with an address, a
// range and a fwmark, and a virtual server on it) the walks of the global objects and of
// 1.3.6.1.4.1.9586.100.5.3 are the reference's line for line — virtualServerGroupTable,
// virtualServerGroupMemberTable, every virtualServerTable and realServerTable column,
// lvsSyncDaemonEnabled — with the IPVS statistics compared by type and checked for
// plausibility (connections and bytes of the requests sent through the VIP), with both real
// servers up and again with r2 down (quorum lost, failed checkers counted); and a real
// server going down sends the same realServerStateChange and virtualServerQuorumStateChange
// to snmptrapd, as do the start and the stop.
#[test]
#[ignore = "vm: needs the IPVS VM, snmpd, snmptrapd and the reference keepalived"]
fn vm_snmp_checker_mib_and_traps_as_reference() {
    require_vm();
    assert!(
        Path::new(REFERENCE).exists(),
        "reference keepalived missing"
    );
    let (lab, d, r2, _snmpd, _l1, socket) = lab("snmpc");

    let ours = scenario(&lab, &d, &r2, BIN, "ours", &socket);
    let theirs = scenario(&lab, &d, &r2, REFERENCE, "ref", &socket);
    eprintln!("reference, up:\n{}", theirs.up);
    eprintln!("reference traps:\n{}", theirs.traps.join("\n"));
    assert_eq!(normalize(&ours.up), normalize(&theirs.up), "walk, both up");
    assert_eq!(
        normalize(&ours.down),
        normalize(&theirs.down),
        "walk, r2 down"
    );
    assert!(
        theirs.up.lines().count() >= 150,
        "the reference's walk is the full MIB:\n{}",
        theirs.up
    );
    for (who, r) in [("ours", &ours), ("reference", &theirs)] {
        assert!(
            r.conns >= 1 && r.inbytes > 0,
            "{who}: connections {} and bytes {} counted",
            r.conns,
            r.inbytes
        );
    }
    assert_eq!(ours.traps, theirs.traps, "notifications");
    assert!(
        theirs
            .traps
            .iter()
            .any(|t| t.contains("OID: .1.3.6.1.4.1.9586.100.5.3.5.0.1")
                && t.contains("9586.100.5.3.4.1.6 = INTEGER: 2")),
        "a realServerStateChange for r2 down: {:?}",
        theirs.traps
    );
    assert!(
        theirs
            .traps
            .iter()
            .any(|t| t.contains("OID: .1.3.6.1.4.1.9586.100.5.3.5.0.2")
                && t.contains("9586.100.5.3.3.1.23 = INTEGER: 2")),
        "a virtualServerQuorumStateChange for the quorum lost: {:?}",
        theirs.traps
    );
}

/// The lab: director `d` with snmpd, real servers `r1` (listening) and `r2` (not yet).
fn lab(name: &str) -> (Lab, Host, Host, Proc, Proc, String) {
    let lab = Lab::new(name).expect("lab");
    let d = lab.host("d").expect("director");
    d.add_addr("10.0.0.1/24").unwrap();
    let r1 = lab.host("r1").expect("r1");
    r1.add_addr("10.0.0.11/24").unwrap();
    let r2 = lab.host("r2").expect("r2");
    r2.add_addr("10.0.0.12/24").unwrap();
    let l1 = listener(&r1, "10.0.0.11");
    let (snmpd, socket) = start_snmpd(&d, lab.dir());
    (lab, d, r2, snmpd, l1, socket)
}

/// The test configuration without any SNMP keyword.
fn bare_conf() -> String {
    conf("x", "")
        .lines()
        .filter(|l| !l.contains("snmp_socket") && !l.contains("enable_"))
        .collect::<Vec<_>>()
        .join("\n")
}

// Proves `-x` (with `-A`, the master agent's socket) serves KEEPALIVED-MIB's checker part as
// keepalived 2.2.7's `-x` does with no SNMP keyword in the file: the walks of the global
// objects and of 1.3.6.1.4.1.9586.100.5.3 are the reference's line for line (statistics
// compared by type), and `enable_traps` stays off (the globals say disabled). Ours only:
// snmpd is restarted and the checker's AgentX session comes back by itself, the real servers
// still up.
#[test]
#[ignore = "vm: needs the IPVS VM, snmpd and the reference keepalived"]
fn vm_snmp_checker_cli_x_as_reference() {
    require_vm();
    assert!(
        Path::new(REFERENCE).exists(),
        "reference keepalived missing"
    );
    let (lab, d, r2, mut snmpd, _l1, socket) = lab("snmpx");
    let _l2 = listener(&r2, "10.0.0.12");
    let text = bare_conf();
    assert!(!text.contains("enable_snmp"), "{text}");
    let mut walks = Vec::new();
    for (prog, tag) in [(BIN, "ours"), (REFERENCE, "ref")] {
        let ka = start_ka(&lab, &d, prog, tag, &text, &["-x", "-A", &socket]);
        wait_up(&d, tag, &ka);
        walks.push(format!("{}{}", walk(&d, GLOBAL_MIB), walk(&d, CHECK_MIB)));
        if prog == BIN {
            // The master agent restarted: the checker's session comes back by itself (the
            // checks go on meanwhile: both real servers still up).
            snmpd.signal(Signal::SIGTERM).unwrap();
            let _ = snmpd.wait_timeout(Duration::from_secs(10));
            snmpd = start_snmpd(&d, lab.dir()).0;
            let back = wait_until(Duration::from_secs(30), || {
                get(&d, &[format!("{VS}.2.1")]).contains("INTEGER: 2")
            });
            assert!(
                back.is_ok(),
                "ours: the checker MIB after snmpd restarted:\n{}",
                ka.output_so_far()
            );
            wait_up(&d, tag, &ka);
        }
        stop_ka(&ka, tag);
    }
    eprintln!("reference:\n{}", walks[1]);
    assert!(walks[1].lines().count() >= 150, "{}", walks[1]);
    assert!(
        walks[1].contains(".1.3.6.1.4.1.9586.100.5.1.4.0 = INTEGER: 2"),
        "traps off"
    );
    assert_eq!(normalize(&walks[0]), normalize(&walks[1]));
}

const REFERENCE_24: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../target/ref-snmp/keepalived-2.4.3/sbin/keepalived"
);

// Proves `snmp_vs_stats_update_interval` and `snmp_rs_stats_update_interval` (keepalived 2.4)
// as upstream 2.4.3 (built with SNMP) has them: with the virtual servers' statistics cached
// for 30 s and the real servers' for 0.5 s, 6 connections through the VIP made after a read show,
// 1.5 s later, in the real servers' connection counts (6 in all) but not yet in the virtual
// server's (the value of the earlier read), under ours as under 2.4.3; with only the virtual
// servers' interval (30 s), the real servers' follows it: neither moves.
#[test]
#[ignore = "vm: needs the IPVS VM, snmpd and keepalived 2.4.3 built with SNMP (target/ref-snmp)"]
fn vm_snmp_stats_update_intervals_as_reference() {
    require_vm();
    assert!(
        Path::new(REFERENCE_24).exists(),
        "{REFERENCE_24} missing: build 2.4.3 with --enable-snmp --enable-snmp-checker"
    );
    let (lab, d, r2, _snmpd, _l1, socket) = lab("snmpi");
    let _l2 = listener(&r2, "10.0.0.12");
    let mut got = Vec::new();
    for (intervals, label) in [
        (
            "    snmp_vs_stats_update_interval 30\n    snmp_rs_stats_update_interval 0.5\n",
            "vs 30 s, rs 0.5 s",
        ),
        (
            "    snmp_vs_stats_update_interval 30\n",
            "vs 30 s, rs as vs",
        ),
    ] {
        let text = conf(&socket, intervals).replace("    enable_traps\n", "");
        let mut row = Vec::new();
        for (prog, tag) in [(BIN, "ours"), (REFERENCE_24, "ref24")] {
            let tag = format!("{tag}-{}", got.len());
            let ka = start_ka(&lab, &d, prog, &tag, &text, &[]);
            wait_up(&d, &tag, &ka);
            // The counters read (caches filled), 6 connections, the counters 1.5 s later.
            let oids: Vec<String> = std::iter::once(format!("{VS}.27.1"))
                .chain((1..=3).map(|i| format!("{RS}.14.1.{i}")))
                .collect();
            let count = |w: &str| {
                let vs = value(w, &oids[0]).unwrap_or(0);
                let rs: u64 = oids[1..].iter().filter_map(|o| value(w, o)).sum();
                (vs, rs)
            };
            let t0 = std::time::Instant::now();
            let (vs0, rs0) = count(&get(&d, &oids));
            let n = connects(&d, 6);
            std::thread::sleep(Duration::from_millis(1500));
            let (vs1, rs1) = count(&get(&d, &oids));
            let took = t0.elapsed();
            eprintln!(
                "{label}, {tag}: {n} connections; VS conns {vs0} -> {vs1}, RS conns {rs0} -> {rs1} ({took:?})"
            );
            assert!(
                took < Duration::from_secs(25),
                "{tag}: {took:?} within 30 s"
            );
            assert_eq!(n, 6, "{tag}: connections established");
            row.push((vs1 - vs0, rs1 - rs0));
            stop_ka(&ka, &tag);
        }
        assert_eq!(
            row[0], row[1],
            "{label}: (VS, RS) connections counted, ours vs 2.4.3"
        );
        got.push(row[0]);
    }
    assert_eq!(got[0], (0, 6), "vs 30 s, rs 0.5 s");
    assert_eq!(got[1], (0, 0), "vs 30 s, rs as vs");
}
