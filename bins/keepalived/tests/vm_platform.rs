//! Platform keywords that need kernel modules this development kernel lacks (`ipvlan`), inside
//! the project VM, side by side with the reference keepalived 2.2.7 (and 2.4.3):
//! `scripts/vm-test.sh keepalived vm_platform -- --nocapture`.

#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;
use testlab::netns::{wait_until, Host, Lab};

const BIN: &str = env!("CARGO_BIN_EXE_keepalived");
const REFERENCE: &str = "/usr/sbin/keepalived";

fn require_vm() {
    assert!(
        std::env::var_os("KRS_IN_VM").is_some(),
        "this test needs the ipvlan module (KRS_IN_VM unset): run it inside the VM with \
         `scripts/vm-test.sh keepalived vm_platform`"
    );
    assert!(Path::new(REFERENCE).exists(), "{REFERENCE} missing");
}

/// The reference 2.4.3 (scripts/build-reference.sh), if built.
fn reference_243() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/reference/keepalived-2.4.3/bin/keepalived");
    p.exists().then_some(p)
}

const IPVLAN_CONF: &str = "global_defs {
    router_id vmipvlan
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 52
    priority 200
    advert_int 1
    use_ipvlan 10.0.0.9/24
    virtual_ipaddress {
        10.0.0.100/24
    }
}
vrrp_instance VI_2 {
    state MASTER
    interface eth0
    virtual_router_id 53
    priority 200
    advert_int 1
    use_ipvlan ipv_x
    virtual_ipaddress {
        10.0.0.101/24
    }
}
vrrp_instance VI_3 {
    state MASTER
    interface eth0
    virtual_router_id 54
    priority 200
    advert_int 1
    use_ipvlan ipv_v 10.0.0.8
    virtual_ipaddress {
        10.0.0.102/24
    }
}
";

/// `ip -d link show dev` without the index, MAC and queue figures.
fn link_view(host: &Host, dev: &str) -> String {
    let out = host
        .ip(&["-d", "link", "show", "dev", dev])
        .unwrap_or_default();
    out.lines()
        .map(|l| {
            let l = l.trim();
            let l = l.split_once(": ").map_or(l, |(i, r)| {
                if i.chars().all(|c| c.is_ascii_digit()) {
                    r
                } else {
                    l
                }
            });
            let l = l.split(" numtxqueues").next().unwrap_or(l);
            if l.starts_with("link/ether") {
                return String::from("link/ether");
            }
            l.replace(" promiscuity 0  allmulti 0 minmtu 68 maxmtu 65535", "")
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

fn addrs(host: &Host, dev: &str) -> Vec<String> {
    host.ip(&["-4", "-o", "addr", "show", "dev", dev])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let i = w.iter().position(|x| *x == "inet")?;
            // Our VIPs carry a lease (krs_vip_lease: "dynamic"); the reference's are permanent.
            let rest = w[i + 2..].join(" ").replace(" dynamic", "");
            Some(format!(
                "{} {}",
                w.get(i + 1)?,
                rest.split('\\').next()?.trim()
            ))
        })
        .collect()
}

/// What `prog` makes of IPVLAN_CONF with eth0 in interface group 7: per ipvlan its link,
/// addresses and IPv6 switch; the links left after its stop.
#[derive(Debug, PartialEq, Eq)]
struct IpvlanView {
    links: Vec<(String, String, Vec<String>, String)>,
    eth0_addrs: Vec<String>,
    left_after_stop: Vec<String>,
}

fn ipvlan_run(lab: &Lab, tag: &str, prog: &Path) -> IpvlanView {
    let host = lab.host(tag).expect("host");
    host.add_addr("10.0.0.1/24").expect("addr");
    host.ip(&["link", "set", "eth0", "group", "7"])
        .expect("group");
    let dir = lab.dir().join(tag);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("keepalived.conf"), IPVLAN_CONF).expect("conf");
    let s = |n: &str| dir.join(n).to_str().expect("utf-8").to_string();
    let (c, p, r, ch) = (s("keepalived.conf"), s("k.pid"), s("v.pid"), s("c.pid"));
    let prog_s = prog.to_str().expect("utf-8");
    let mut argv = vec![
        prog_s, "-n", "-l", "-D", "-P", "-f", &c, "-p", &p, "-r", &r, "-c", &ch,
    ];
    if prog_s == BIN {
        argv.push("-G");
    }
    let proc = host.spawn(&argv).expect("spawn");
    let devs = ["vrrp.52", "ipv_x", "ipv_v"];
    // VI_1 and VI_3 become MASTER (VIP on their ipvlan) after 3 adverts + skew.
    let settled = wait_until(Duration::from_secs(20), || {
        let all = host.ip(&["-4", "-o", "addr", "show"]).unwrap_or_default();
        all.contains("10.0.0.100/") && all.contains("10.0.0.102/")
    });
    if settled.is_err() {
        panic!("{prog_s}: no VIPs on the ipvlans\n{}", proc.output_so_far());
    }
    std::thread::sleep(Duration::from_secs(2));
    let links = devs
        .iter()
        .map(|d| {
            let v6 = host
                .run_ok(&["cat", &format!("/proc/sys/net/ipv6/conf/{d}/disable_ipv6")])
                .unwrap_or_default()
                .trim()
                .to_string();
            (d.to_string(), link_view(&host, d), addrs(&host, d), v6)
        })
        .collect();
    let eth0_addrs = addrs(&host, "eth0");
    proc.signal(Signal::SIGTERM).expect("term");
    let _ = proc.wait_timeout(Duration::from_secs(15));
    let left = host.ip(&["-o", "link", "show"]).unwrap_or_default();
    let left_after_stop = devs
        .iter()
        .filter(|d| left.contains(&format!(" {d}@")))
        .map(|d| d.to_string())
        .collect();
    let v = IpvlanView {
        links,
        eth0_addrs,
        left_after_stop,
    };
    eprintln!("{prog_s}: {v:#?}\n{}", proc.output_so_far());
    v
}

// Proves use_ipvlan as keepalived 2.2.7 creates it: L2 (bridge) ipvlans named vrrp.VRID or as
// given, up, IPv6 off, the use_ipvlan address on it (scope global, /32 without a prefix); the
// VIPs on the base interface once MASTER (as 2.2.7, which does not move them to the ipvlan);
// an IPv4 use_ipvlan without an address keeps its instance in FAULT (no VIP); all deleted at
// stop.
// Same `ip -d link`/`ip addr`/sysctl view as the reference 2.4.3's; the same as 2.2.7's except
// the interface group (2.2.7 leaves the default group, since 2.3.0 keepalived copies the base
// interface's).
#[test]
#[ignore = "vm: needs the ipvlan module (run inside the VM)"]
fn vm_use_ipvlan_as_reference() {
    require_vm();
    let lab = Lab::new("vipvl").expect("lab");
    let ours = ipvlan_run(&lab, "o", Path::new(BIN));
    let r227 = ipvlan_run(&lab, "r", Path::new(REFERENCE));
    // FAULT: no VIP on ipv_x; VI_1 and VI_3 MASTER with their addresses.
    let l = &ours.links;
    for x in l {
        assert!(x.1.contains("ipvlan  mode l2 bridge"), "{l:?}");
        assert!(x.1.contains("group 7"), "{l:?}");
        assert_eq!(x.3, "1", "IPv6 off: {l:?}");
    }
    assert_eq!(l[0].2, ["10.0.0.9/24 scope global vrrp.52"], "{l:?}");
    assert_eq!(l[1].2, Vec::<String>::new(), "{l:?}");
    assert_eq!(l[2].2, ["10.0.0.8/32 scope global ipv_v"], "{l:?}");
    // The VIPs of VI_1 and VI_3 (MASTER) on the base interface; none of VI_2 (FAULT).
    let e = ours.eth0_addrs.join(" ");
    assert!(
        e.contains("10.0.0.100/24") && e.contains("10.0.0.102/24"),
        "{e}"
    );
    assert!(!e.contains("10.0.0.101/"), "{e}");
    assert!(ours.left_after_stop.is_empty());
    let degroup = |v: &IpvlanView| {
        v.links
            .iter()
            .map(|(d, l, a, s)| {
                (
                    d.clone(),
                    l.replace("group 7", "group default"),
                    a.clone(),
                    s.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        degroup(&ours),
        degroup(&r227),
        "against 2.2.7 (group aside)"
    );
    assert_eq!(ours.eth0_addrs, r227.eth0_addrs);
    assert_eq!(ours.left_after_stop, r227.left_after_stop);
    if let Some(r243) = reference_243() {
        let r = ipvlan_run(&lab, "n", &r243);
        assert_eq!(ours, r, "against 2.4.3");
    } else {
        eprintln!("reference 2.4.3 not built: compared with 2.2.7 only");
    }
}

/// One thread's name, nice value, policy, realtime priority, allowed CPUs, locked memory.
fn thread_view(pid: u32, tid: u32) -> (String, i64, i64, i64, String, bool) {
    let base = format!("/proc/{pid}/task/{tid}");
    let comm = std::fs::read_to_string(format!("{base}/comm")).unwrap_or_default();
    let stat = std::fs::read_to_string(format!("{base}/stat")).unwrap_or_default();
    let rest: Vec<&str> = stat
        .rsplit_once(") ")
        .map_or("", |(_, r)| r)
        .split_whitespace()
        .collect();
    let field = |n: usize| {
        rest.get(n - 3)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(-99)
    };
    let status = std::fs::read_to_string(format!("{base}/status")).unwrap_or_default();
    let line = |k: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let locked = line("VmLck:").trim_end_matches(" kB").trim() != "0";
    (
        comm.trim().to_string(),
        field(19),
        field(41),
        field(40),
        line("Cpus_allowed_list:"),
        locked,
    )
}

type View = (String, i64, i64, i64, String, bool);

/// The checker worker of `prog` with `globals`: its main thread's view, RLIMIT_RTTIME, and
/// its other threads' views.
fn checker_views(lab: &Lab, tag: &str, prog: &str, globals: &str) -> (View, String, Vec<View>) {
    let host = lab.host(tag).expect("host");
    host.add_addr("10.0.0.1/24").expect("addr");
    let dir = lab.dir().join(tag);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("keepalived.conf"),
        format!(
            "global_defs {{\n  router_id vmsched\n{globals}}}\nvirtual_server 10.0.0.100 80 {{\n  \
             protocol TCP\n  lb_algo rr\n  lb_kind NAT\n  real_server 10.0.0.5 80 {{\n    TCP_CHECK {{\n      connect_timeout 1\n    }}\n  }}\n}}\n"
        ),
    )
    .expect("conf");
    let s = |n: &str| dir.join(n).to_str().expect("utf-8").to_string();
    let (c, p, r, ch) = (s("keepalived.conf"), s("k.pid"), s("v.pid"), s("c.pid"));
    let mut argv = vec![
        prog, "-n", "-l", "-D", "-f", &c, "-p", &p, "-r", &r, "-c", &ch,
    ];
    if prog == BIN {
        argv.push("-G");
    }
    let proc = host.spawn(&argv).expect("spawn");
    let pid_of = || {
        std::fs::read_to_string(dir.join("c.pid"))
            .unwrap_or_default()
            .trim()
            .parse::<u32>()
            .unwrap_or(0)
    };
    if wait_until(Duration::from_secs(20), || pid_of() != 0).is_err() {
        panic!("{prog}: no checker pidfile\n{}", proc.output_so_far());
    }
    let pid = pid_of();
    let _ = wait_until(Duration::from_secs(10), || {
        let v = thread_view(pid, pid);
        v.1 != 0 || v.2 != 0 || v.5
    });
    std::thread::sleep(Duration::from_millis(if prog == BIN { 2500 } else { 300 }));
    let main = thread_view(pid, pid);
    let limit = std::fs::read_to_string(format!("/proc/{pid}/limits"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Max realtime timeout"))
        .map(|l| {
            l.split_whitespace()
                .skip(3)
                .take(2)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let others: Vec<View> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
                .filter(|t| *t != pid)
                .map(|t| thread_view(pid, t))
                .collect()
        })
        .unwrap_or_default();
    proc.signal(Signal::SIGTERM).expect("term");
    let _ = proc.wait_timeout(Duration::from_secs(15));
    eprintln!("{prog} [{globals}]: checker {main:?} rttime {limit}; threads {others:?}");
    (main, limit, others)
}

// Proves checker_process_name (and process_names), checker_priority, checker_no_swap,
// checker_cpu_affinity, checker_rt_priority and checker_rlimit_rttime on the checker process
// (it needs IPVS: the VM): /proc/PID/comm, stat, status and limits of the checker are the
// reference 2.2.7's; every thread of ours has the same scheduling. (The realtime limit is 2 s:
// under the VM's emulated CPU a 50 ms limit kills both the reference's checker, at its stop,
// and ours, after its start.)
#[test]
#[ignore = "vm: needs IPVS (run inside the VM)"]
fn vm_checker_process_name_and_scheduling_as_reference() {
    require_vm();
    let lab = Lab::new("vcsch").expect("lab");
    let cases = [
        "  checker_process_name kd_chk\n  checker_priority -4\n  checker_no_swap\n  checker_cpu_affinity 1\n",
        "  process_names\n  checker_rt_priority 20\n  checker_rlimit_rttime 2000000\n",
    ];
    let mut seen = Vec::new();
    for (i, g) in cases.iter().enumerate() {
        let (rv, rl, _) = checker_views(&lab, &format!("r{i}"), REFERENCE, g);
        let (ov, ol, others) = checker_views(&lab, &format!("o{i}"), BIN, g);
        assert_eq!(ov, rv, "[{g}]");
        assert_eq!(ol, rl, "[{g}]");
        for t in &others {
            assert_eq!(
                (t.1, t.2, t.3, &t.4, t.5),
                (ov.1, ov.2, ov.3, &ov.4, ov.5),
                "[{g}]"
            );
        }
        seen.push((rv, rl));
    }
    assert_eq!(
        seen[0].0,
        ("kd_chk".to_string(), -4, 0, 0, "1".to_string(), true)
    );
    assert_eq!(
        (seen[1].0 .0.as_str(), seen[1].0 .2, seen[1].0 .3),
        ("keepalived_lvs", 2, 20)
    );
    assert_eq!(seen[1].1, "1000000 2000000");
}

const VRF_CONF: &str = "global_defs {
    router_id vmvrf
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 52
    priority 200
    advert_int 1
    virtual_ipaddress {
        10.0.0.100/24
    }
}
vrrp_instance VI_2 {
    state MASTER
    interface eth0
    virtual_router_id 53
    priority 200
    advert_int 1
    use_vmac
    virtual_ipaddress {
        10.0.0.101/24
    }
}
";

/// `prog` with VRF_CONF, eth0 enslaved to VRF `vr1` (table 10): the VMAC's master, the routes
/// of table 10 and of the main table once both instances are MASTER.
fn vrf_run(lab: &Lab, tag: &str, prog: &str) -> (bool, String, String) {
    let host = lab.host(tag).expect("host");
    host.ip(&["link", "add", "vr1", "type", "vrf", "table", "10"])
        .expect("vrf");
    host.ip(&["link", "set", "vr1", "up"]).expect("vrf up");
    host.ip(&["link", "set", "eth0", "master", "vr1"])
        .expect("enslave");
    host.add_addr("10.0.0.1/24").expect("addr");
    let dir = lab.dir().join(tag);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("keepalived.conf"), VRF_CONF).expect("conf");
    let s = |n: &str| dir.join(n).to_str().expect("utf-8").to_string();
    let (c, p, r, ch) = (s("keepalived.conf"), s("k.pid"), s("v.pid"), s("c.pid"));
    let mut argv = vec![
        prog, "-n", "-l", "-D", "-P", "-f", &c, "-p", &p, "-r", &r, "-c", &ch,
    ];
    if prog == BIN {
        argv.push("-G");
    }
    let proc = host.spawn(&argv).expect("spawn");
    let settled = wait_until(Duration::from_secs(20), || {
        let all = host.ip(&["-4", "-o", "addr", "show"]).unwrap_or_default();
        all.contains("10.0.0.100/") && all.contains("10.0.0.101/")
    });
    if settled.is_err() {
        panic!("{prog}: no VIPs\n{}", proc.output_so_far());
    }
    std::thread::sleep(Duration::from_secs(1));
    let vmac = host
        .ip(&["-o", "link", "show", "dev", "vrrp.53"])
        .unwrap_or_default();
    let enslaved = vmac.contains(" master vr1 ");
    let t10 = host
        .ip(&["route", "show", "table", "10"])
        .unwrap_or_default();
    let main = host
        .ip(&["route", "show", "table", "main"])
        .unwrap_or_default();
    proc.signal(Signal::SIGTERM).expect("term");
    let _ = proc.wait_timeout(Duration::from_secs(15));
    eprintln!("{prog}: VMAC enslaved {enslaved}\ntable 10:\n{t10}main:\n{main}");
    (enslaved, t10, main)
}

// Proves VRRP on an interface enslaved to a VRF as keepalived 2.2.7 does it: the instance's
// VMAC is enslaved to the same VRF, so the VIPs' routes (on the base interface and on the
// VMAC) are all in the VRF's table and none in the main table; same `ip route` as the
// reference's.
#[test]
#[ignore = "vm: needs the vrf module (run inside the VM)"]
fn vm_vmac_on_vrf_slave_as_reference() {
    require_vm();
    let lab = Lab::new("vvrf").expect("lab");
    let ours = vrf_run(&lab, "o", BIN);
    let reference = vrf_run(&lab, "r", REFERENCE);
    assert_eq!(ours, reference);
    assert!(ours.0, "VMAC in the VRF");
    assert!(
        ours.1.contains("local 10.0.0.101 dev vrrp.53"),
        "{}",
        ours.1
    );
    assert!(ours.1.contains("local 10.0.0.100 dev eth0"), "{}", ours.1);
    assert_eq!(ours.2.trim(), "", "nothing in the main table");
}

/// The configuration of a director at `me` with peer `peer`: a multicast instance (VRID 61)
/// and a unicast one (VRID 62) on eth0, at `prio`.
fn vrf_pair_conf(me: &str, peer: &str, prio: u8) -> String {
    format!(
        "global_defs {{\n    router_id vrfpair\n}}\n\
         vrrp_instance M {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 61\n    \
         priority {prio}\n    advert_int 1\n    virtual_ipaddress {{\n        10.0.0.100/24\n    }}\n}}\n\
         vrrp_instance U {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 62\n    \
         priority {prio}\n    advert_int 1\n    unicast_src_ip {me}\n    unicast_peer {{\n        {peer}\n    }}\n    \
         virtual_ipaddress {{\n        10.0.0.101/24\n    }}\n}}\n"
    )
}

/// A director of the VRF pair: host `tag` with eth0 (address `me`) enslaved to VRF `vr1`
/// (table 10).
fn vrf_host(lab: &Lab, tag: &str, me: &str) -> Host {
    let host = lab.host(tag).expect("host");
    host.ip(&["link", "add", "vr1", "type", "vrf", "table", "10"])
        .expect("vrf");
    host.ip(&["link", "set", "vr1", "up"]).expect("vrf up");
    host.ip(&["link", "set", "eth0", "master", "vr1"])
        .expect("enslave");
    host.add_addr(&format!("{me}/24")).expect("addr");
    host
}

/// Starts `prog` on `host` with `conf` (files under the lab directory, `run` names them).
fn vrf_start(lab: &Lab, host: &Host, run: &str, prog: &str, conf: &str) -> testlab::netns::Proc {
    let dir = lab.dir().join(run);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("keepalived.conf"), conf).expect("conf");
    let s = |n: &str| dir.join(n).to_str().expect("utf-8").to_string();
    let (c, p, r, ch) = (s("keepalived.conf"), s("k.pid"), s("v.pid"), s("c.pid"));
    let mut argv = vec![
        prog, "-n", "-l", "-D", "-P", "-f", &c, "-p", &p, "-r", &r, "-c", &ch,
    ];
    if prog == BIN {
        argv.push("-G");
    }
    host.spawn(&argv).expect("spawn")
}

/// Whether `host` holds both VIPs (on eth0), neither, or one of them.
fn vrf_vips(host: &Host) -> (bool, bool) {
    let a = host
        .ip(&["-4", "-o", "addr", "show", "dev", "eth0"])
        .unwrap_or_default();
    (a.contains("10.0.0.100/"), a.contains("10.0.0.101/"))
}

/// The devices the VRRP raw sockets (protocol 112) in `host` (only keepalived's there) are
/// bound to (`ss -w`: `ADDR%DEV:112`; "-" when unbound), deduplicated and sorted.
fn vrrp_socket_devices(host: &Host) -> Vec<String> {
    let out = host
        .run_ok(&["ss", "-w", "-a", "-n", "-p"])
        .unwrap_or_default();
    let mut devs: Vec<String> = out
        .lines()
        .filter_map(|l| {
            let local = l.split_whitespace().nth(3)?;
            let (addr, port) = local.rsplit_once(':')?;
            (port == "112").then(|| {
                addr.split_once('%')
                    .map_or_else(|| "-".to_string(), |(_, d)| d.to_string())
            })
        })
        .collect();
    devs.sort();
    devs.dedup();
    devs
}

// Proves VRRP between two directors whose interfaces are enslaved to a VRF, ours against the
// reference 2.2.7, multicast (VRID 61) and unicast (VRID 62): keepalived binds its VRRP sockets
// to the enslaved interface (the kernel then routes them in the VRF's table), and so do we
// (`ss -w`: every socket of protocol 112 bound to eth0, none to the VRF device, none unbound);
// ours MASTER with the reference BACKUP (the reference hears our adverts: it stays BACKUP),
// failover to the reference when ours stops (VIPs and their routes in table 10, none in the
// main table), ours BACKUP at a lower priority beside the reference MASTER (we hear its
// adverts), and ours taking over again at a higher priority.
#[test]
#[ignore = "vm: needs the vrf module (run inside the VM)"]
fn vm_vrrp_exchange_between_vrf_slaves_as_reference() {
    require_vm();
    let lab = Lab::new("vvrfx").expect("lab");
    let (oa, ra) = ("10.0.0.1", "10.0.0.2");
    let ours = vrf_host(&lab, "o", oa);
    let refh = vrf_host(&lab, "r", ra);
    let both = |h: &Host| vrf_vips(h) == (true, true);
    let none = |h: &Host| vrf_vips(h) == (false, false);

    // 1. ours MASTER (150), the reference BACKUP (100).
    let o1 = vrf_start(&lab, &ours, "o1", BIN, &vrf_pair_conf(oa, ra, 150));
    let r1 = vrf_start(&lab, &refh, "r1", REFERENCE, &vrf_pair_conf(ra, oa, 100));
    if wait_until(Duration::from_secs(20), || both(&ours)).is_err() {
        panic!("ours never MASTER\n{}", o1.output_so_far());
    }
    // Longer than the reference's Master_Down_Interval (3 x 1 s + skew): it hears us.
    std::thread::sleep(Duration::from_secs(5));
    assert!(both(&ours), "ours lost MASTER\n{}", o1.output_so_far());
    assert!(
        none(&refh),
        "the reference does not hear ours in the VRF\n{}",
        r1.output_so_far()
    );
    let ours_socks = vrrp_socket_devices(&ours);
    let ref_socks = vrrp_socket_devices(&refh);
    let t10 = ours
        .ip(&["route", "show", "vrf", "vr1", "table", "local"])
        .unwrap_or_default();
    let t10 = if t10.trim().is_empty() {
        ours.ip(&["route", "show", "table", "10"])
            .unwrap_or_default()
    } else {
        t10
    };
    let main = ours
        .ip(&["route", "show", "table", "main"])
        .unwrap_or_default();
    eprintln!("sockets ours {ours_socks:?} reference {ref_socks:?}\ntable 10:\n{t10}main:\n{main}");
    assert_eq!(ours_socks, ["eth0"], "ours bound to the slave");
    assert_eq!(ours_socks, ref_socks, "same bindings as the reference");
    assert!(t10.contains("local 10.0.0.100 dev eth0"), "{t10}");
    assert!(t10.contains("local 10.0.0.101 dev eth0"), "{t10}");
    assert_eq!(main.trim(), "", "nothing in the main table");

    // 2. ours stops: the reference takes both over.
    o1.signal(Signal::SIGTERM).expect("term");
    let _ = o1.wait_timeout(Duration::from_secs(15));
    assert!(none(&ours), "ours left its VIPs");
    if wait_until(Duration::from_secs(15), || both(&refh)).is_err() {
        panic!("no failover to the reference\n{}", r1.output_so_far());
    }

    // 3. ours BACKUP (50) beside the reference MASTER: it hears the reference.
    let o2 = vrf_start(&lab, &ours, "o2", BIN, &vrf_pair_conf(oa, ra, 50));
    std::thread::sleep(Duration::from_secs(7));
    assert!(
        none(&ours),
        "ours does not hear the reference in the VRF\n{}",
        o2.output_so_far()
    );
    assert!(
        both(&refh),
        "the reference lost MASTER\n{}",
        r1.output_so_far()
    );
    o2.signal(Signal::SIGTERM).expect("term");
    let _ = o2.wait_timeout(Duration::from_secs(15));

    // 4. ours back at 150: preempts the reference, which goes BACKUP.
    let o3 = vrf_start(&lab, &ours, "o3", BIN, &vrf_pair_conf(oa, ra, 150));
    if wait_until(Duration::from_secs(20), || both(&ours) && none(&refh)).is_err() {
        panic!(
            "ours did not take over\nours: {}\nreference: {}",
            o3.output_so_far(),
            r1.output_so_far()
        );
    }
    o3.signal(Signal::SIGTERM).expect("term");
    let _ = o3.wait_timeout(Duration::from_secs(15));
    r1.signal(Signal::SIGTERM).expect("term");
    let _ = r1.wait_timeout(Duration::from_secs(15));
}

/// A director without `interface` in VRF `vr1` (keepalived 2.4.3's `vrf`): unicast from `me`
/// to `peer`, the VIP on eth0 (the VRF's slave).
fn vrf_no_interface_conf(me: &str, peer: &str, prio: u8) -> String {
    format!(
        "global_defs {{\n    router_id vrfnoif\n}}\n\
         vrrp_instance U {{\n    state BACKUP\n    vrf vr1\n    virtual_router_id 63\n    \
         priority {prio}\n    advert_int 1\n    unicast_src_ip {me}\n    unicast_peer {{\n        {peer}\n    }}\n    \
         virtual_ipaddress {{\n        10.0.0.100/24 dev eth0\n    }}\n}}\n"
    )
}

/// Starts `prog` like [`vrf_start`], ours with `--compat 2.4.3`.
fn vrf_start_243(
    lab: &Lab,
    host: &Host,
    run: &str,
    prog: &str,
    conf: &str,
) -> testlab::netns::Proc {
    let dir = lab.dir().join(run);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("keepalived.conf"), conf).expect("conf");
    let s = |n: &str| dir.join(n).to_str().expect("utf-8").to_string();
    let (c, p, r, ch) = (s("keepalived.conf"), s("k.pid"), s("v.pid"), s("c.pid"));
    let mut argv = vec![
        prog, "-n", "-l", "-D", "-P", "-f", &c, "-p", &p, "-r", &r, "-c", &ch,
    ];
    if prog == BIN {
        argv.extend(["-G", "--compat", "2.4.3"]);
    }
    host.spawn(&argv).expect("spawn")
}

/// The routes of table 10 (the VRF's) and of the main table that mention the VIP 10.0.0.100
/// (the host's own address `me`, their source, written `SELF`).
fn vip_routes(host: &Host, me: &str) -> (String, String) {
    let f = |t: &str| {
        host.ip(&["route", "show", "table", t])
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("10.0.0.100"))
            .map(|l| l.replace(&format!("src {me} "), "src SELF "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    (f("10"), f("main"))
}

// Proves the `vrf` keyword as keepalived 2.4.3 has it (ours under `--compat 2.4.3`; 2.2.7
// refuses every instance without interface): two directors whose eth0 is enslaved to VRF vr1
// (table 10), each with a unicast instance without `interface` and `vrf vr1`, ours and the
// 2.4.3 reference as the pair. Every VRRP socket of ours and of the reference is bound to the
// VRF device (`ss -w`: `ADDR%vr1:112`); ours MASTER with the reference BACKUP (it hears us
// through the VRF), the VIP on eth0 with its routes in table 10 and none in the main table,
// the same under either holder; ours stopping: the reference takes over; ours back at a lower
// priority stays BACKUP (it hears the reference).
#[test]
#[ignore = "vm: needs the vrf module (run inside the VM)"]
fn vm_vrf_instance_without_interface_as_reference_2_4_3() {
    require_vm();
    let r243 =
        reference_243().expect("target/reference/keepalived-2.4.3: scripts/build-reference.sh");
    let r243 = r243.to_str().expect("utf-8 path");
    let lab = Lab::new("vvrfn").expect("lab");
    let (oa, ra) = ("10.0.0.1", "10.0.0.2");
    let ours = vrf_host(&lab, "o", oa);
    let refh = vrf_host(&lab, "r", ra);
    let has = |h: &Host| vrf_vips(h).0;

    // 1. ours MASTER (150), the reference BACKUP (100).
    let o1 = vrf_start_243(&lab, &ours, "o1", BIN, &vrf_no_interface_conf(oa, ra, 150));
    let r1 = vrf_start_243(&lab, &refh, "r1", r243, &vrf_no_interface_conf(ra, oa, 100));
    if wait_until(Duration::from_secs(20), || has(&ours)).is_err() {
        panic!("ours never MASTER\n{}", o1.output_so_far());
    }
    std::thread::sleep(Duration::from_secs(5));
    assert!(has(&ours), "ours lost MASTER\n{}", o1.output_so_far());
    assert!(
        !has(&refh),
        "the reference does not hear ours through the VRF\n{}",
        r1.output_so_far()
    );
    let ours_socks = vrrp_socket_devices(&ours);
    let ref_socks = vrrp_socket_devices(&refh);
    let ours_routes = vip_routes(&ours, oa);
    eprintln!(
        "sockets ours {ours_socks:?} reference {ref_socks:?}\nours: table 10:\n{}\nmain:\n{}",
        ours_routes.0, ours_routes.1
    );
    assert_eq!(ours_socks, ["vr1"], "ours bound to the VRF device");
    assert_eq!(ours_socks, ref_socks, "same bindings as the reference");
    assert!(
        ours_routes.0.contains("local 10.0.0.100 dev eth0"),
        "{}",
        ours_routes.0
    );
    assert_eq!(ours_routes.1, "", "nothing in the main table");

    // 2. ours stops: the reference takes over, with the same routes.
    o1.signal(Signal::SIGTERM).expect("term");
    let _ = o1.wait_timeout(Duration::from_secs(15));
    assert!(!has(&ours), "ours left its VIP");
    if wait_until(Duration::from_secs(15), || has(&refh)).is_err() {
        panic!("no failover to the reference\n{}", r1.output_so_far());
    }
    std::thread::sleep(Duration::from_millis(500));
    let ref_routes = vip_routes(&refh, ra);
    eprintln!(
        "reference: table 10:\n{}\nmain:\n{}",
        ref_routes.0, ref_routes.1
    );
    assert_eq!(
        ours_routes, ref_routes,
        "VIP routes under ours vs the reference"
    );

    // 3. ours BACKUP (50) beside the reference MASTER: it hears the reference.
    let o2 = vrf_start_243(&lab, &ours, "o2", BIN, &vrf_no_interface_conf(oa, ra, 50));
    std::thread::sleep(Duration::from_secs(7));
    assert!(
        !has(&ours),
        "ours does not hear the reference through the VRF\n{}",
        o2.output_so_far()
    );
    assert!(
        has(&refh),
        "the reference lost MASTER\n{}",
        r1.output_so_far()
    );
    o2.signal(Signal::SIGTERM).expect("term");
    let _ = o2.wait_timeout(Duration::from_secs(15));
    r1.signal(Signal::SIGTERM).expect("term");
    let _ = r1.wait_timeout(Duration::from_secs(15));
}

/// A checker configuration with `net_namespace_ipvs {ns}` (the keyword alone for `""`), the
/// virtual server `vip`:80 and two real servers, 10.0.0.5 (answers in the daemon's namespace)
/// and 10.0.0.6 (nothing there).
fn ns_ipvs_conf(ns: &str, vip: &str) -> String {
    let rs = |a: &str| {
        format!(
            "    real_server {a} 80 {{\n        weight 1\n        TCP_CHECK {{\n            connect_timeout 1\n            \
             retry 1\n            delay_before_retry 1\n        }}\n    }}\n"
        )
    };
    format!(
        "net_namespace_ipvs {ns}\nglobal_defs {{\n    router_id vmnsipvs\n}}\n\
         virtual_server {vip} 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n{}{}}}\n",
        rs("10.0.0.5"),
        rs("10.0.0.6")
    )
    .replace("net_namespace_ipvs \n", "net_namespace_ipvs\n")
}

/// `ipvsadm -Sn` lines mentioning `vip` in the namespace `ns` (`None`: the VM's own).
fn ipvs_lines(ns: Option<&Host>, vip: &str) -> Vec<String> {
    let out = match ns {
        Some(h) => h.run_ok(&["ipvsadm", "-Sn"]).unwrap_or_default(),
        None => std::process::Command::new("ipvsadm")
            .arg("-Sn")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default(),
    };
    let mut v: Vec<String> = out
        .lines()
        .filter(|l| l.contains(vip))
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// `prog -C` in `daemon` with `ns_ipvs_conf(ns_name, vip)`: the IPVS lines of `vip` in the
/// IPVS namespace once settled (10.0.0.5 in, 10.0.0.6 out), those in the daemon's own
/// namespace meanwhile, and those left in the IPVS namespace after SIGTERM.
fn ns_ipvs_run(
    lab: &Lab,
    run: &str,
    prog: &str,
    daemon: &Host,
    ipvs_ns: Option<&Host>,
    ns_name: &str,
    vip: &str,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let dir = lab.dir().join(run);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("keepalived.conf"), ns_ipvs_conf(ns_name, vip)).expect("conf");
    let s = |n: &str| dir.join(n).to_str().expect("utf-8").to_string();
    let (c, p, r, ch) = (s("keepalived.conf"), s("k.pid"), s("v.pid"), s("c.pid"));
    let mut argv = vec![
        prog, "-n", "-l", "-D", "-C", "-f", &c, "-p", &p, "-r", &r, "-c", &ch,
    ];
    if prog == BIN {
        argv.push("-G");
    }
    let proc = daemon.spawn(&argv).expect("spawn");
    let good = format!("-a -t {vip}:80 -r 10.0.0.5:80");
    let settled = wait_until(Duration::from_secs(30), || {
        let l = ipvs_lines(ipvs_ns, vip);
        l.iter().any(|x| x.starts_with(&good)) && !l.iter().any(|x| x.contains("10.0.0.6:80"))
    });
    if settled.is_err() {
        panic!(
            "{prog}: IPVS in {ns_name:?} never settled: {:?}\n{}",
            ipvs_lines(ipvs_ns, vip),
            proc.output_so_far()
        );
    }
    // Three more check rounds: 10.0.0.6 stays out, 10.0.0.5 in.
    std::thread::sleep(Duration::from_secs(3));
    let table = ipvs_lines(ipvs_ns, vip);
    let own = daemon.run_ok(&["ipvsadm", "-Sn"]).unwrap_or_default();
    let own: Vec<String> = own
        .lines()
        .filter(|l| l.contains(vip))
        .map(str::to_string)
        .collect();
    proc.signal(Signal::SIGTERM).expect("term");
    let _ = proc.wait_timeout(Duration::from_secs(20));
    let left = ipvs_lines(ipvs_ns, vip);
    eprintln!("{prog} [{ns_name:?}]: {table:#?}\nown namespace {own:?}, left {left:?}");
    (table, own, left)
}

// Proves net_namespace_ipvs as keepalived 2.2.7 does it: the checker programs the IPVS table
// of the named namespace (`ipvsadm -Sn` there: the virtual server with the real server whose
// TCP_CHECK passes) while its checks run from the daemon's own namespace (10.0.0.5 answers
// only there; the IPVS namespace has no route to it), nothing in the daemon's own IPVS table,
// all removed at stop; without a name, the default namespace (the VM's, /proc/1/ns/net). The
// same tables as the reference's, which also runs with our least-privilege profile's
// counterpart (ours keeps CAP_SYS_ADMIN in the checker for the setns).
#[test]
#[ignore = "vm: needs IPVS (run inside the VM)"]
fn vm_net_namespace_ipvs_as_reference() {
    require_vm();
    let lab = Lab::new("vnsip").expect("lab");
    let daemon = lab.host("d").expect("daemon");
    daemon.add_addr("10.0.0.1/24").expect("addr");
    let rs = lab.host("rs").expect("rs");
    rs.add_addr("10.0.0.5/24").expect("addr");
    let listener = rs
        .spawn(&[
            "python3",
            "-u",
            "-m",
            "http.server",
            "80",
            "--bind",
            "10.0.0.5",
        ])
        .expect("listener");
    wait_until(Duration::from_secs(60), || {
        listener.output_so_far().contains("Serving")
    })
    .expect("listener up");
    // The IPVS namespace: no address on the lab segment.
    let ipvs_ns = lab.host("i").expect("ipvs namespace");
    let vip = "10.0.0.100";
    let ours = ns_ipvs_run(&lab, "o", BIN, &daemon, Some(&ipvs_ns), ipvs_ns.name(), vip);
    let reference = ns_ipvs_run(
        &lab,
        "r",
        REFERENCE,
        &daemon,
        Some(&ipvs_ns),
        ipvs_ns.name(),
        vip,
    );
    assert_eq!(
        ours.0,
        [
            format!("-A -t {vip}:80 -s rr"),
            format!("-a -t {vip}:80 -r 10.0.0.5:80 -m -w 1")
        ]
    );
    assert!(
        ours.1.is_empty(),
        "nothing in the daemon's own IPVS: {:?}",
        ours.1
    );
    assert!(ours.2.is_empty(), "removed at stop: {:?}", ours.2);
    assert_eq!(ours, reference);
    // Without a name: the default namespace (the VM's own).
    let vip0 = "10.0.0.101";
    let ours0 = ns_ipvs_run(&lab, "o0", BIN, &daemon, None, "", vip0);
    let ref0 = ns_ipvs_run(&lab, "r0", REFERENCE, &daemon, None, "", vip0);
    assert_eq!(ours0.0.len(), 2, "{:?}", ours0.0);
    assert!(ours0.1.is_empty() && ours0.2.is_empty(), "{ours0:?}");
    assert_eq!(ours0, ref0);
}

const VRF_ROUTES_CONF: &str = "global_defs {
    router_id vmvrfrt
}
static_routes {
    10.9.0.0/24 via 10.0.0.254 vrf vr1
    10.9.1.0/24 via 10.0.0.254 table 20 vrf vr1
    10.9.2.0/24 dev eth0 vrf vr1 table 20
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 57
    priority 200
    advert_int 1
    virtual_ipaddress {
        10.0.0.100/24
    }
    virtual_routes {
        10.8.0.0/24 via 10.0.0.254 vrf vr1
        10.7.0.0/24 dev eth0 vrf vr1
        10.6.0.0/24 via 10.0.0.254 vrf nosuch
    }
}
";

/// `prog` with VRF_ROUTES_CONF, eth0 enslaved to VRF `vr1` (table 10): tables 10, 20 and main
/// once MASTER (the VIP and 10.8.0.0/24 in place), and table 10 after the stop.
fn vrf_routes_run(lab: &Lab, tag: &str, prog: &str) -> (String, String, String, String) {
    let host = vrf_host(lab, tag, "10.0.0.1");
    let proc = vrf_start(lab, &host, tag, prog, VRF_ROUTES_CONF);
    let settled = wait_until(Duration::from_secs(20), || {
        let t = host
            .ip(&["route", "show", "table", "10"])
            .unwrap_or_default();
        t.contains("10.0.0.100") && t.contains("10.8.0.0/24")
    });
    if settled.is_err() {
        panic!("{prog}: no VIP/virtual route\n{}", proc.output_so_far());
    }
    std::thread::sleep(Duration::from_secs(1));
    let show = |t: &str| host.ip(&["route", "show", "table", t]).unwrap_or_default();
    let (t10, t20, main) = (show("10"), show("20"), show("main"));
    proc.signal(Signal::SIGTERM).expect("term");
    let _ = proc.wait_timeout(Duration::from_secs(15));
    let after = show("10");
    eprintln!("{prog}: table 10:\n{t10}table 20:\n{t20}main:\n{main}after stop:\n{after}");
    (t10, t20, main, after)
}

// Proves a route's `vrf NAME` (static_routes and virtual_routes) as keepalived 2.2.7 does it:
// the route goes into the VRF device's table (10), the later of `table`/`vrf` counts (table 20
// when `table` comes last), a route naming no existing VRF is left out; the routes are removed
// at stop (static and virtual). Same `ip route` for tables 10, 20 and main as the reference's.
#[test]
#[ignore = "vm: needs the vrf module (run inside the VM)"]
fn vm_routes_vrf_option_as_reference() {
    require_vm();
    let lab = Lab::new("vvrfr").expect("lab");
    let ours = vrf_routes_run(&lab, "o", BIN);
    let reference = vrf_routes_run(&lab, "r", REFERENCE);
    assert!(
        ours.0
            .contains("10.9.0.0/24 via 10.0.0.254 dev eth0 proto keepalived"),
        "{}",
        ours.0
    );
    assert!(
        ours.0
            .contains("10.9.1.0/24 via 10.0.0.254 dev eth0 proto keepalived"),
        "{}",
        ours.0
    );
    assert!(
        ours.0
            .contains("10.8.0.0/24 via 10.0.0.254 dev eth0 proto keepalived"),
        "{}",
        ours.0
    );
    assert!(
        ours.0.contains("10.7.0.0/24 dev eth0 proto keepalived"),
        "{}",
        ours.0
    );
    assert!(
        ours.1.contains("10.9.2.0/24 dev eth0 proto keepalived"),
        "{}",
        ours.1
    );
    assert!(!ours.0.contains("10.6.0.0"), "{}", ours.0);
    assert_eq!(ours.2.trim(), "", "nothing in the main table");
    assert!(
        !ours.3.contains("proto keepalived"),
        "removed at stop: {}",
        ours.3
    );
    assert_eq!(ours, reference);
}

/// `prog` with an SSL_GET checker (`extra` in its block, `url_extra` in its url) of a real
/// server that is `tests/scripts/tls_close_server.py` in the same namespace (TLS 1.2: it
/// answers, sends its close_notify and reads the client's records, whose types are in clear,
/// until the client closes), until it checked three times: (connections the client closed
/// with a close_notify alert, connections in all).
fn ssl_get_close_notify(
    lab: &Lab,
    tag: &str,
    prog: &str,
    extra: &str,
    url_extra: &str,
) -> (usize, usize) {
    let host = lab.host(tag).expect("host");
    host.add_addr("10.0.0.1/24").expect("addr");
    host.add_addr("10.0.0.11/24").expect("addr");
    let dir = lab.dir().join(tag);
    std::fs::create_dir_all(&dir).expect("dir");
    let s = |n: &str| dir.join(n).to_str().expect("utf-8").to_string();
    let (key, crt) = (s("srv.key"), s("srv.pem"));
    let out = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=rs", "-keyout", &key, "-out", &crt])
        .output()
        .expect("openssl req");
    assert!(out.status.success(), "{out:?}");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/scripts/tls_close_server.py"
    );
    let srv = host
        .spawn(&["python3", script, "10.0.0.11", "443", &crt, &key])
        .expect("server");
    wait_until(Duration::from_secs(10), || {
        srv.stdout_so_far().contains("LISTENING")
    })
    .unwrap_or_else(|_| panic!("server: {}", srv.output_so_far()));
    std::fs::write(
        dir.join("keepalived.conf"),
        format!(
            "virtual_server 10.0.0.100 443 {{\n  delay_loop 1\n  protocol TCP\n  lb_algo rr\n  \
             lb_kind DR\n  real_server 10.0.0.11 443 {{\n    SSL_GET {{\n      connect_timeout 2\n\
             {extra}      url {{\n        path /\n{url_extra}      }}\n    }}\n  }}\n}}\n"
        ),
    )
    .expect("conf");
    let (c, p, r, ch) = (s("keepalived.conf"), s("k.pid"), s("v.pid"), s("c.pid"));
    let mut argv = vec![
        prog, "-n", "-l", "-D", "-C", "-f", &c, "-p", &p, "-r", &r, "-c", &ch,
    ];
    if prog == BIN {
        argv.push("-G");
    }
    let proc = host.spawn(&argv).expect("spawn");
    let verdicts = || -> Vec<String> {
        srv.stdout_so_far()
            .lines()
            .filter(|l| l.starts_with("clean") || l.starts_with("quiet"))
            .map(str::to_string)
            .collect()
    };
    // Three checks (the VM's emulated CPU makes the start slow).
    let _ = wait_until(Duration::from_secs(30), || verdicts().len() >= 3);
    proc.signal(Signal::SIGTERM).expect("term");
    let _ = proc.wait_timeout(Duration::from_secs(15));
    let v = verdicts();
    srv.signal(Signal::SIGTERM).ok();
    let clean = v.iter().filter(|l| l.starts_with("clean")).count();
    eprintln!(
        "{prog} [{}{}]: {v:?}\n{}",
        extra.trim(),
        url_extra.trim(),
        proc.output_so_far()
    );
    (clean, v.len())
}

// Proves SSL_GET `tls_compliant` (keepalived 2.4) as upstream 2.4.3 has it (the checker needs
// IPVS: the VM), against a TLS 1.2 server that ends each answer with its close_notify and
// reads what the client sends until it closes: without the keyword the checker closes its connections quietly (no
// close_notify), with it on the checker or on the url every connection ends with the client's
// close_notify; a url's `tls_compliant false` does not override the checker's. Ours and 2.4.3
// are checked three times in each case and agree.
#[test]
#[ignore = "vm: needs IPVS (run inside the VM)"]
fn vm_ssl_get_tls_compliant_as_reference() {
    require_vm();
    let Some(r243) = reference_243() else {
        panic!("target/reference/keepalived-2.4.3 missing: run scripts/build-reference.sh");
    };
    let r243 = r243.to_str().expect("utf-8").to_string();
    let lab = Lab::new("vtlsc").expect("lab");
    let cases = [
        ("quiet", "", "", false),
        ("checker", "      tls_compliant\n", "", true),
        ("url", "", "        tls_compliant\n", true),
        (
            "url false under checker true",
            "      tls_compliant\n",
            "        tls_compliant false\n",
            true,
        ),
    ];
    for (i, (what, extra, url_extra, notify)) in cases.into_iter().enumerate() {
        let (rn, ra) = ssl_get_close_notify(&lab, &format!("r{i}"), &r243, extra, url_extra);
        let (on, oa) = ssl_get_close_notify(&lab, &format!("o{i}"), BIN, extra, url_extra);
        eprintln!("{what}: close_notify in ours {on}/{oa}, 2.4.3 {rn}/{ra} connections");
        assert!(
            ra >= 3 && oa >= 3,
            "{what}: too few checks: ours {oa}, 2.4.3 {ra}"
        );
        let want = |n: usize| if notify { n } else { 0 };
        assert_eq!((rn, on), (want(ra), want(oa)), "{what}: (2.4.3, ours)");
    }
}
