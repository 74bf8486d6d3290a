//! End to end on real IPVS, inside the project VM (`scripts/vm-test.sh lvs-director vm_`).
//!
//! Each test builds its own namespace lab inside the VM (the IPVS table is per network
//! namespace, so tests run in parallel): a director running `krs-lvsd`, real servers prepared
//! with `lvs-realserver` serving a page with `python3 -m http.server`, and a client that `curl`s
//! the VIP. Needs `target/debug/lvs-realserver` (`cargo build -p lvs-realserver`).

#![allow(clippy::unwrap_used, clippy::panic)] // test helpers outside #[test] fns

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use testlab::netns::{wait_until, Host, Lab, Proc};

const VIP: &str = "10.0.0.100";

fn require_vm() {
    assert!(
        std::env::var_os("KRS_IN_VM").is_some(),
        "this test needs real IPVS: run it inside the VM with `scripts/vm-test.sh lvs-director vm_`"
    );
}

fn target_bin(name: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let p = target.join("debug").join(name);
    assert!(
        p.exists(),
        "{} missing: build it first (cargo build -p {name})",
        p.display()
    );
    p
}

fn lvsd() -> String {
    env!("CARGO_BIN_EXE_krs-lvsd").to_string()
}

/// IPVS destinations of the VIP:80 service in `host`'s namespace: address → weight.
fn dests(host: &Host) -> BTreeMap<IpAddr, u32> {
    let mut h = ipvs_nl::Handle::in_netns(host.netns_path()).unwrap();
    let mut out = BTreeMap::new();
    for (s, ds) in h.table().unwrap() {
        if let ipvs_nl::ServiceKey::Addr { port: 80, addr, .. } = s.service.key {
            if addr.to_string() == VIP {
                for d in ds {
                    out.insert(d.dest.addr, d.dest.weight);
                }
            }
        }
    }
    out
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Start a web server on port 80 in `host` answering with `name`; returns once it answers.
fn web(lab: &Lab, host: &Host, name: &str) -> Proc {
    let dir = lab.dir().join(format!("www-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), name).unwrap();
    let p = host
        .spawn(&[
            "python3",
            "-m",
            "http.server",
            "80",
            "--bind",
            "0.0.0.0",
            "--directory",
            dir.to_str().unwrap(),
        ])
        .unwrap();
    wait_until(Duration::from_secs(60), || {
        host.run(&["curl", "-s", "--max-time", "2", "http://127.0.0.1/"])
            .map(|o| String::from_utf8_lossy(&o.stdout) == name)
            .unwrap_or(false)
    })
    .unwrap_or_else(|_| panic!("web server {name} did not come up: {}", p.output_so_far()));
    p
}

/// `n` requests to the VIP from `client`, each on a new connection; the bodies ("" = failed).
fn curl_n(client: &Host, n: usize) -> Vec<String> {
    let script =
        format!("for i in $(seq {n}); do curl -s --max-time 5 http://{VIP}/ || true; echo; done");
    let out = client.sh(&script).unwrap();
    out.lines().map(|l| l.to_string()).collect()
}

fn count(bodies: &[String]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for b in bodies {
        *m.entry(b.clone()).or_insert(0) += 1;
    }
    m
}

/// Prepare a DR real server: address, VIP on lo, ARP sysctls, via our lvs-realserver.
fn dr_real_server(lab: &Lab, name: &str, addr: &str) -> Host {
    real_server(lab, name, addr, "dr")
}

/// Prepare a DR or TUN (`mode`) real server with our lvs-realserver.
fn real_server(lab: &Lab, name: &str, addr: &str, mode: &str) -> Host {
    let h = lab.host(name).unwrap();
    h.add_addr(&format!("{addr}/24")).unwrap();
    let state = lab.dir().join(format!("rs-state-{name}"));
    let rsbin = target_bin("lvs-realserver");
    h.run_ok(&[
        rsbin.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
        "start",
        "--mode",
        mode,
        VIP,
        "--iface",
        "eth0",
    ])
    .unwrap();
    h
}

struct DrLab {
    lab: Lab,
    director: Host,
    client: Host,
    rs: Vec<Host>,
    web: Vec<Option<Proc>>,
}

/// Director 10.0.0.1 (+ VIP on eth0), real servers 10.0.0.11.. (DR, prepared with
/// lvs-realserver, web servers answering "rN"), client 10.0.0.50; all on one LAN.
fn dr_lab(tag: &str, n_rs: usize) -> DrLab {
    rs_lab(tag, n_rs, "dr")
}

/// [`dr_lab`] with real servers in `mode` ("dr" or "tun").
fn rs_lab(tag: &str, n_rs: usize, mode: &str) -> DrLab {
    let lab = Lab::new(tag).unwrap();
    let director = lab.host("d").unwrap();
    director.add_addr("10.0.0.1/24").unwrap();
    director.add_addr(&format!("{VIP}/32")).unwrap();
    let client = lab.host("c").unwrap();
    client.add_addr("10.0.0.50/24").unwrap();
    let mut rs = Vec::new();
    let mut webs = Vec::new();
    for i in 1..=n_rs {
        let h = real_server(&lab, &format!("r{i}"), &format!("10.0.0.{}", 10 + i), mode);
        webs.push(Some(web(&lab, &h, &format!("r{i}"))));
        rs.push(h);
    }
    DrLab {
        lab,
        director,
        client,
        rs,
        web: webs,
    }
}

fn write_conf(lab: &Lab, name: &str, text: &str) -> PathBuf {
    let p = lab.dir().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn start_lvsd(d: &Host, conf: &std::path::Path) -> Proc {
    d.spawn(&[&lvsd(), "-f", conf.to_str().unwrap()]).unwrap()
}

/// Wait for `cond` on the director's table; returns the time it took. Panics after `limit`.
fn wait_table(
    d: &Host,
    what: &str,
    limit: Duration,
    lvsd: &Proc,
    cond: impl Fn(&BTreeMap<IpAddr, u32>) -> bool,
) -> Duration {
    let t0 = Instant::now();
    let mut last = BTreeMap::new();
    while t0.elapsed() < limit {
        last = dests(d);
        if cond(&last) {
            return t0.elapsed();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!(
        "{what}: not reached within {limit:?}; table {last:?}\nkrs-lvsd output:\n{}",
        lvsd.output_so_far()
    );
}

/// `ipvsadm -Sn` in a namespace.
fn ipvsadm_save(h: &Host) -> String {
    h.run_ok(&["ipvsadm", "-Sn"]).unwrap()
}

/// Run the reference keepalived (checker only) on `conf` in `h` and return its `ipvsadm -Sn`
/// once the table holds `n_dests` destinations; then stop it.
fn reference_table(lab: &Lab, h: &Host, conf: &std::path::Path, n_dests: usize) -> String {
    reference_table_when(lab, h, conf, &format!("{n_dests} destinations"), |s| {
        s.lines().filter(|l| l.starts_with("-a ")).count() == n_dests
    })
}

/// Run the reference keepalived (checker only) on `conf` in `h` until its `ipvsadm -Sn`
/// satisfies `done` (and still does 500 ms later); return that table and stop it.
fn reference_table_when(
    lab: &Lab,
    h: &Host,
    conf: &std::path::Path,
    what: &str,
    done: impl Fn(&str) -> bool,
) -> String {
    let dir = lab.dir();
    let pid = |n: &str| dir.join(n).to_str().unwrap().to_string();
    let k = h
        .spawn(&[
            "/usr/sbin/keepalived",
            "-n",
            "-l",
            "-C",
            "-f",
            conf.to_str().unwrap(),
            "-p",
            &pid("ka.pid"),
            "-c",
            &pid("ka-checkers.pid"),
            "-r",
            &pid("ka-vrrp.pid"),
        ])
        .unwrap();
    let t0 = Instant::now();
    loop {
        let s = ipvsadm_save(h);
        if done(&s) {
            // Let it settle (it programs services and destinations in separate steps).
            std::thread::sleep(Duration::from_millis(500));
            let s2 = ipvsadm_save(h);
            if done(&s2) {
                k.stop(Duration::from_secs(20)).ok();
                // Its own stop removes the service; wait so the namespace is clean again.
                wait_until(Duration::from_secs(30), || !ipvsadm_save(h).contains("-A ")).ok();
                return s2;
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(90),
            "reference keepalived did not reach {what}: {s}\n{}",
            k.output_so_far()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn dr_conf(extra_vs: &str, rs_extra: &[&str]) -> String {
    let mut s = format!(
        "virtual_server {VIP} 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n{extra_vs}\n"
    );
    for (i, extra) in rs_extra.iter().enumerate() {
        s.push_str(&format!(
            r#"    real_server 10.0.0.{} 80 {{
        weight 1
        {extra}
        HTTP_GET {{
            url {{
              path /
              status_code 200
            }}
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }}
    }}
"#,
            11 + i
        ));
    }
    s.push_str("}\n");
    s
}

// Proves the seeds' LVS-DR setup end to end on real IPVS: both real servers answer through the
// VIP; a stopped web server is removed within delay_loop + retry x delay_before_retry + 1 s
// (1 + 1x1 + 1 = 3 s, measured from the stop) and all requests then go to the other; restarted,
// it comes back and both answer again; our `ipvsadm -Sn` equals the reference keepalived's for
// the same config in the same namespace; SIGTERM releases the service.
#[test]
#[ignore = "vm: needs the IPVS VM"]
fn vm_dr_failover_and_reference_table() {
    require_vm();
    let mut l = dr_lab("lvsdr", 2);
    let conf = write_conf(&l.lab, "dr.conf", &dr_conf("", &["", ""]));
    let d = start_lvsd(&l.director, &conf);
    wait_table(
        &l.director,
        "initial table",
        Duration::from_secs(60),
        &d,
        |t| t.len() == 2,
    );
    let ours = ipvsadm_save(&l.director);
    let c = count(&curl_n(&l.client, 8));
    assert_eq!(c.get("r1"), Some(&4), "rr over both: {c:?}");
    assert_eq!(c.get("r2"), Some(&4), "rr over both: {c:?}");

    // Give the checkers a steady state (first checks run within warmup = delay_loop).
    std::thread::sleep(Duration::from_secs(2));
    let w1 = l.web[0].take().unwrap();
    w1.kill();
    let took = wait_table(
        &l.director,
        "r1 removed",
        Duration::from_secs(30),
        &d,
        |t| !t.contains_key(&ip("10.0.0.11")),
    );
    eprintln!("DR: r1 removed {took:?} after its web server stopped");
    assert!(
        took <= Duration::from_secs(3),
        "removal took {took:?} > delay_loop + retry x delay_before_retry + 1 s = 3 s"
    );
    let c = count(&curl_n(&l.client, 6));
    assert_eq!(c.get("r2"), Some(&6), "all answered by r2: {c:?}");

    l.web[0] = Some(web(&l.lab, &l.rs[0], "r1"));
    let back = wait_table(&l.director, "r1 back", Duration::from_secs(30), &d, |t| {
        t.len() == 2
    });
    eprintln!("DR: r1 back {back:?} after its web server answered again");
    let c = count(&curl_n(&l.client, 8));
    assert_eq!(c.get("r1"), Some(&4), "both again: {c:?}");

    // SIGTERM: the service is released.
    d.signal(nix::sys::signal::Signal::SIGTERM).unwrap();
    wait_until(Duration::from_secs(30), || {
        !ipvsadm_save(&l.director).contains("-A ")
    })
    .unwrap_or_else(|_| panic!("service not released: {}", d.output_so_far()));

    let reference = reference_table(&l.lab, &l.director, &conf, 2);
    assert_eq!(ours, reference, "ipvsadm -Sn: ours vs keepalived 2.2.7");
    assert!(ours.contains(&format!("-A -t {VIP}:80 -s rr")), "{ours}");
}

// Proves inhibit_on_failure (a failed real server stays with weight 0 instead of being
// removed), sorry_server when all real servers are down (and requests are then answered by it),
// quorum_down / quorum_up scripts (quorum_up also at start, as keepalived: every virtual
// server starts without quorum), and recovery; and the reference keepalived programs the
// same table for this configuration.
#[test]
#[ignore = "vm: needs the IPVS VM"]
fn vm_inhibit_sorry_quorum() {
    require_vm();
    let mut l = dr_lab("lvsso", 2);
    // The sorry server: a third DR host answering "sorry".
    let s = dr_real_server(&l.lab, "s", "10.0.0.20");
    let _sorry_web = web(&l.lab, &s, "sorry");
    let marks = l.lab.dir().join("quorum.log");
    let m = marks.to_str().unwrap();
    let extra = format!(
        "    sorry_server 10.0.0.20 80\n    quorum_up \"/bin/sh -c 'echo up >> {m}'\"\n    quorum_down \"/bin/sh -c 'echo down >> {m}'\"\n"
    );
    let conf = write_conf(
        &l.lab,
        "sorry.conf",
        &dr_conf(&extra, &["inhibit_on_failure", ""]),
    );
    let d = start_lvsd(&l.director, &conf);
    wait_table(&l.director, "initial", Duration::from_secs(60), &d, |t| {
        t.len() == 2
    });
    let ours = ipvsadm_save(&l.director);
    std::thread::sleep(Duration::from_secs(2));

    l.web[0].take().unwrap().kill();
    let took = wait_table(
        &l.director,
        "r1 inhibited",
        Duration::from_secs(30),
        &d,
        |t| t.get(&ip("10.0.0.11")) == Some(&0),
    );
    assert!(took <= Duration::from_secs(3), "inhibit took {took:?}");
    assert_eq!(dests(&l.director).len(), 2, "inhibited, not removed");
    let c = count(&curl_n(&l.client, 4));
    assert_eq!(
        c.get("r2"),
        Some(&4),
        "weight 0 gets no new connections: {c:?}"
    );

    l.web[1].take().unwrap().kill();
    wait_table(&l.director, "sorry in", Duration::from_secs(30), &d, |t| {
        t.get(&ip("10.0.0.20")) == Some(&1) && !t.contains_key(&ip("10.0.0.12"))
    });
    let ours_down = ipvsadm_save(&l.director);
    let c = count(&curl_n(&l.client, 4));
    assert_eq!(c.get("sorry"), Some(&4), "sorry server answers: {c:?}");
    wait_until(Duration::from_secs(20), || {
        std::fs::read_to_string(&marks).is_ok_and(|s| s == "up\ndown\n")
    })
    .unwrap_or_else(|_| panic!("quorum_down did not run: {}", d.output_so_far()));

    l.web[1] = Some(web(&l.lab, &l.rs[1], "r2"));
    wait_table(&l.director, "sorry out", Duration::from_secs(30), &d, |t| {
        !t.contains_key(&ip("10.0.0.20")) && t.get(&ip("10.0.0.12")) == Some(&1)
    });
    wait_until(Duration::from_secs(20), || {
        std::fs::read_to_string(&marks).is_ok_and(|s| s == "up\ndown\nup\n")
    })
    .unwrap_or_else(|_| panic!("quorum_up did not run: {}", d.output_so_far()));
    let c = count(&curl_n(&l.client, 4));
    assert_eq!(c.get("r2"), Some(&4), "{c:?}");

    l.web[0] = Some(web(&l.lab, &l.rs[0], "r1"));
    d.signal(nix::sys::signal::Signal::SIGTERM).unwrap();
    wait_until(Duration::from_secs(30), || {
        !ipvsadm_save(&l.director).contains("-A ")
    })
    .unwrap_or_else(|_| panic!("service not released: {}", d.output_so_far()));
    let reference = reference_table(&l.lab, &l.director, &conf, 2);
    assert_eq!(ours, reference, "ipvsadm -Sn: ours vs keepalived 2.2.7");

    // All real servers down: the reference must program the same inhibited + sorry table.
    for w in l.web.iter_mut() {
        if let Some(p) = w.take() {
            p.kill();
        }
    }
    let reference_down =
        reference_table_when(&l.lab, &l.director, &conf, "the sorry server in use", |s| {
            s.contains("-r 10.0.0.20:80") && !s.contains("-r 10.0.0.12:80")
        });
    assert_eq!(
        ours_down, reference_down,
        "all down (inhibit + sorry): ours vs keepalived 2.2.7"
    );
}

// Proves LVS-TUN end to end: real servers prepared with `lvs-realserver start --mode tun`
// (VIP on tunl0), IPIP destinations; failover within delay_loop + retry x delay_before_retry
// + 1 s and recovery; the same table as the reference keepalived.
#[test]
#[ignore = "vm: needs the IPVS VM"]
fn vm_tun_failover() {
    require_vm();
    let mut l = rs_lab("lvstun", 2, "tun");
    let conf = write_conf(
        &l.lab,
        "tun.conf",
        &dr_conf("", &["", ""]).replace("lb_kind DR", "lb_kind TUN"),
    );
    let d = start_lvsd(&l.director, &conf);
    wait_table(&l.director, "initial", Duration::from_secs(60), &d, |t| {
        t.len() == 2
    });
    let ours = ipvsadm_save(&l.director);
    assert!(
        ours.contains("-r 10.0.0.11:80 -i"),
        "tunnel forwarding: {ours}"
    );
    let c = count(&curl_n(&l.client, 8));
    assert_eq!((c.get("r1"), c.get("r2")), (Some(&4), Some(&4)), "{c:?}");
    std::thread::sleep(Duration::from_secs(2));
    l.web[1].take().unwrap().kill();
    let took = wait_table(
        &l.director,
        "r2 removed",
        Duration::from_secs(30),
        &d,
        |t| !t.contains_key(&ip("10.0.0.12")),
    );
    eprintln!("TUN: r2 removed {took:?} after its web server stopped");
    assert!(took <= Duration::from_secs(3), "removal took {took:?}");
    let c = count(&curl_n(&l.client, 4));
    assert_eq!(c.get("r1"), Some(&4), "{c:?}");
    l.web[1] = Some(web(&l.lab, &l.rs[1], "r2"));
    wait_table(&l.director, "r2 back", Duration::from_secs(30), &d, |t| {
        t.len() == 2
    });
    d.signal(nix::sys::signal::Signal::SIGTERM).unwrap();
    wait_until(Duration::from_secs(30), || {
        !ipvsadm_save(&l.director).contains("-A ")
    })
    .unwrap_or_else(|_| panic!("service not released: {}", d.output_so_far()));
    let reference = reference_table(&l.lab, &l.director, &conf, 2);
    assert_eq!(ours, reference, "ipvsadm -Sn: ours vs keepalived 2.2.7");
}

// Proves reload on the real kernel is a diff-apply: SIGHUP with one real server added and the
// scheduler changed edits the service in place and adds only the new destination (the kept
// destination's connection counters survive), and `lvs_timeouts` reach the kernel.
#[test]
#[ignore = "vm: needs the IPVS VM"]
fn vm_reload_sighup_diff_apply() {
    require_vm();
    let l = dr_lab("lvsrl", 2);
    let base = dr_conf("", &["", ""]);
    // First config: only r1.
    let one = dr_conf("", &[""]);
    let conf_text =
        format!("global_defs {{\n    lvs_timeouts tcp 1234 tcpfin 56 udp 78\n}}\n{one}");
    let conf = write_conf(&l.lab, "reload.conf", &conf_text);
    let d = start_lvsd(&l.director, &conf);
    wait_table(&l.director, "r1 only", Duration::from_secs(60), &d, |t| {
        t.len() == 1
    });
    let mut h = ipvs_nl::Handle::in_netns(l.director.netns_path()).unwrap();
    let t = h.timeouts().unwrap();
    assert_eq!(
        (t.tcp, t.tcp_fin, t.udp),
        (1234, 56, 78),
        "lvs_timeouts applied"
    );
    // A connection through r1 so its counters are non-zero.
    assert_eq!(curl_n(&l.client, 1), vec!["r1".to_string()]);
    let conns_before = |h: &mut ipvs_nl::Handle| -> u64 {
        h.table()
            .unwrap()
            .iter()
            .flat_map(|(_, ds)| ds.iter())
            .filter(|d| d.dest.addr == ip("10.0.0.11"))
            .map(|d| d.stats.conns)
            .sum()
    };
    // The kernel folds per-CPU counters into these stats periodically (about every 2 s).
    let mut c0 = 0;
    wait_until(Duration::from_secs(15), || {
        c0 = conns_before(&mut h);
        c0 >= 1
    })
    .unwrap_or_else(|_| panic!("r1 never counted the connection"));
    let new_text = format!(
        "global_defs {{\n    lvs_timeouts tcp 1234 tcpfin 56 udp 78\n}}\n{}",
        base.replace("lb_algo rr", "lb_algo wrr")
    );
    std::fs::write(&conf, new_text).unwrap();
    d.signal(nix::sys::signal::Signal::SIGHUP).unwrap();
    wait_table(&l.director, "r2 added", Duration::from_secs(30), &d, |t| {
        t.len() == 2
    });
    let s = ipvsadm_save(&l.director);
    assert!(s.contains("-s wrr"), "scheduler edited: {s}");
    assert!(
        conns_before(&mut h) >= c0,
        "r1 kept (not re-created): its counters survive"
    );
    d.signal(nix::sys::signal::Signal::SIGTERM).unwrap();
    wait_until(Duration::from_secs(30), || {
        !ipvsadm_save(&l.director).contains("-A ")
    })
    .unwrap_or_else(|_| panic!("service not released: {}", d.output_so_far()));
}

// Proves LVS-NAT end to end: director with a front LAN (VIP) and a back LAN to the real
// servers (their default route via the director), failover within the bound and recovery,
// and the same table as the reference keepalived.
#[test]
#[ignore = "vm: needs the IPVS VM"]
fn vm_nat_failover() {
    require_vm();
    let lab = Lab::new("lvsnat").unwrap();
    lab.segment("back").unwrap();
    let d = lab.host("d").unwrap();
    d.add_addr("10.0.0.1/24").unwrap();
    d.add_addr(&format!("{VIP}/32")).unwrap();
    d.attach("eth1", "back").unwrap();
    d.add_addr_dev("10.1.0.1/24", "eth1").unwrap();
    d.sysctl("net.ipv4.ip_forward", "1").unwrap();
    let client = lab.host("c").unwrap();
    client.add_addr("10.0.0.50/24").unwrap();
    let mut rs = Vec::new();
    let mut webs = Vec::new();
    for i in 1..=2 {
        let h = lab.host_unplugged(&format!("r{i}")).unwrap();
        h.attach("eth0", "back").unwrap();
        h.add_addr(&format!("10.1.0.{}/24", 10 + i)).unwrap();
        h.ip(&["route", "add", "default", "via", "10.1.0.1"])
            .unwrap();
        webs.push(Some(web(&lab, &h, &format!("r{i}"))));
        rs.push(h);
    }
    let text = format!(
        r#"virtual_server {VIP} 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.1.0.11 80 {{
        TCP_CHECK {{ connect_timeout 1 retry 1 delay_before_retry 1 }}
    }}
    real_server 10.1.0.12 80 {{
        TCP_CHECK {{ connect_timeout 1 retry 1 delay_before_retry 1 }}
    }}
}}
"#
    );
    let conf = write_conf(&lab, "nat.conf", &text);
    let p = start_lvsd(&d, &conf);
    wait_table(&d, "initial", Duration::from_secs(60), &p, |t| t.len() == 2);
    let ours = ipvsadm_save(&d);
    let c = count(&curl_n(&client, 8));
    assert_eq!((c.get("r1"), c.get("r2")), (Some(&4), Some(&4)), "{c:?}");
    std::thread::sleep(Duration::from_secs(2));
    webs[0].take().unwrap().kill();
    let took = wait_table(&d, "r1 removed", Duration::from_secs(30), &p, |t| {
        !t.contains_key(&ip("10.1.0.11"))
    });
    eprintln!("NAT: r1 removed {took:?} after its web server stopped");
    assert!(took <= Duration::from_secs(3), "removal took {took:?}");
    let c = count(&curl_n(&client, 4));
    assert_eq!(c.get("r2"), Some(&4), "{c:?}");
    webs[0] = Some(web(&lab, &rs[0], "r1"));
    wait_table(&d, "r1 back", Duration::from_secs(30), &p, |t| t.len() == 2);
    let c = count(&curl_n(&client, 8));
    assert_eq!(c.get("r1"), Some(&4), "{c:?}");
    p.signal(nix::sys::signal::Signal::SIGTERM).unwrap();
    wait_until(Duration::from_secs(30), || {
        !ipvsadm_save(&d).contains("-A ")
    })
    .unwrap_or_else(|_| panic!("service not released: {}", p.output_so_far()));
    let reference = reference_table(&lab, &d, &conf, 2);
    assert_eq!(ours, reference, "ipvsadm -Sn: ours vs keepalived 2.2.7");
}
