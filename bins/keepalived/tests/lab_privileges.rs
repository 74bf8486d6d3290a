//! Least privilege (issue #25, docs/privileges.md): every process of the daemon (parent, VRRP,
//! checker, BFD) and every thread of each holds exactly the documented capabilities after
//! start-up (CapEff, CapPrm, CapBnd, NoNewPrivs of `/proc/<pid>/task/<tid>/status`), and the
//! daemon still works: master with its VIP, a MISC_CHECK script run as `script_user`, reloads.
//!
//! The daemon is the test-fakes build (in-memory IPVS: this kernel has none; everything else is
//! the real code). Run as root:
//! `cargo test -p keepalived --test lab_privileges -- --ignored --nocapture`.

#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use netplat::caps::{cap, CapSet, Status};
use nix::sys::signal::Signal;
use testlab::netns::{wait_until, Host, Lab, Proc};

const FAKES: &str = env!("CARGO_BIN_EXE_keepalived-fakes");
const VIP: &str = "10.0.0.100";
const VIP2: &str = "10.0.0.101";

fn set(caps: &[u8]) -> CapSet {
    CapSet::of(caps)
}

/// The documented sets (docs/privileges.md), for a configuration whose scripts run as a
/// non-root `script_user`: VRRP without scripts, the checker with MISC_CHECK.
fn vrrp_caps() -> CapSet {
    set(&[cap::NET_ADMIN, cap::NET_RAW])
}
fn vrrp_caps_with_scripts() -> CapSet {
    vrrp_caps().union(set(&[cap::SETUID, cap::SETGID, cap::KILL]))
}
fn checker_caps() -> CapSet {
    set(&[
        cap::NET_ADMIN,
        cap::NET_RAW,
        cap::NET_BIND_SERVICE,
        cap::SETUID,
        cap::SETGID,
        cap::KILL,
    ])
}
fn bfd_caps() -> CapSet {
    set(&[cap::NET_ADMIN])
}
fn parent_caps() -> CapSet {
    set(&[cap::NET_ADMIN])
}
/// The parent's bounding set: what any worker may keep (the scheduling keywords' SYS_NICE,
/// SYS_RESOURCE and IPC_LOCK included), plus CAP_SETPCAP (8) with which a worker narrows its
/// own bounding set; of what this test process holds (a container may lack some).
fn parent_bounding() -> CapSet {
    let held = netplat::caps::Status::of(std::process::id())
        .expect("own status")
        .bounding;
    set(&[
        cap::CHOWN,
        cap::KILL,
        cap::SETGID,
        cap::SETUID,
        8,
        cap::NET_BIND_SERVICE,
        cap::NET_ADMIN,
        cap::NET_RAW,
        cap::IPC_LOCK,
        cap::SYS_NICE,
        cap::SYS_RESOURCE,
    ])
    .intersect(held)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Want {
    eff: CapSet,
    bnd: CapSet,
    nnp: bool,
}

/// Every thread of `pid` holds `want` (effective = permitted, bounding, no_new_privs), no
/// inheritable or ambient capability. Returns the thread count.
fn check(name: &str, pid: u32, want: Want) -> usize {
    let threads = Status::of_threads(pid).unwrap_or_else(|e| panic!("{name} {pid}: {e}"));
    assert!(!threads.is_empty(), "{name}: no threads");
    for (tid, st) in &threads {
        eprintln!(
            "{name} pid {pid} tid {tid}: CapEff {} CapPrm {} CapBnd {} NoNewPrivs {}",
            st.effective, st.permitted, st.bounding, st.no_new_privs as u8
        );
        assert_eq!(st.effective, want.eff, "{name} tid {tid} CapEff");
        assert_eq!(st.permitted, want.eff, "{name} tid {tid} CapPrm");
        assert_eq!(st.bounding, want.bnd, "{name} tid {tid} CapBnd");
        assert_eq!(st.no_new_privs, want.nnp, "{name} tid {tid} NoNewPrivs");
        assert_eq!(st.inheritable, CapSet::EMPTY, "{name} tid {tid} CapInh");
        assert_eq!(st.ambient, CapSet::EMPTY, "{name} tid {tid} CapAmb");
    }
    threads.len()
}

fn write_exec(p: &Path, text: &str) {
    std::fs::write(p, text).expect("write");
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A directory root owns and every user can traverse (scripts pass enable_script_security),
/// with `out/` writable by all (the scripts, run as nobody, write there).
fn dirs(lab: &Lab, name: &str) -> (PathBuf, PathBuf) {
    let dir = lab.dir().join(name);
    std::fs::create_dir_all(dir.join("out")).expect("dir");
    let mut p = dir.clone();
    while p != Path::new("/tmp") && p != Path::new("/") {
        let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755));
        if !p.pop() {
            break;
        }
    }
    let out = dir.join("out");
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    (dir, out)
}

/// The script the checker (MISC_CHECK) and VRRP (notify) run: records its own capabilities in
/// `out/NAME.status`, then its uid in `out/NAME.uid`, each renamed into place whole (the test
/// reads them as soon as both exist).
fn script(dir: &Path, out: &Path, name: &str) -> PathBuf {
    let p = dir.join(format!("{name}.sh"));
    write_exec(
        &p,
        &format!(
            "#!/bin/sh\ncat /proc/self/status > {o}/{name}.status.tmp && mv {o}/{name}.status.tmp {o}/{name}.status\n\
             id -u > {o}/{name}.uid.tmp && mv {o}/{name}.uid.tmp {o}/{name}.uid\nexit 0\n",
            o = out.display()
        ),
    );
    p
}

struct Conf<'a> {
    script_user: Option<&'a str>,
    misc: &'a Path,
    vips: &'a [&'a str],
    notify_master: Option<&'a Path>,
}

fn conf(c: &Conf<'_>) -> String {
    let user = c
        .script_user
        .map(|u| format!("  script_user {u}\n  enable_script_security\n"))
        .unwrap_or_default();
    let vips: String = c.vips.iter().map(|v| format!("    {v}/24\n")).collect();
    let notify = c
        .notify_master
        .map(|p| format!("  notify_master {}\n", p.display()))
        .unwrap_or_default();
    format!(
        "global_defs {{\n  router_id priv\n  metrics_listen 127.0.0.1:99\n{user}}}\n\
         bfd_instance b1 {{\n  neighbor_ip 10.0.0.2\n  source_ip 10.0.0.1\n}}\n\
         vrrp_instance VI_1 {{\n  state MASTER\n  interface eth0\n  virtual_router_id 61\n  \
         priority 150\n  advert_int 1\n  virtual_ipaddress {{\n{vips}  }}\n{notify}}}\n\
         virtual_server {VIP} 80 {{\n  delay_loop 1\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n  \
         real_server 10.0.0.2 80 {{\n    weight 1\n    MISC_CHECK {{\n      misc_path {}\n    }}\n  }}\n}}\n",
        c.misc.display()
    )
}

fn start(host: &Host, dir: &Path) -> Proc {
    let s = |n: &str| dir.join(n).to_str().expect("utf-8").to_string();
    let (c, p, r, ch, b) = (s("k.conf"), s("k.pid"), s("v.pid"), s("c.pid"), s("b.pid"));
    host.spawn(&[
        FAKES, "-n", "-l", "-D", "-G", "-f", &c, "-p", &p, "-r", &r, "-c", &ch, "-b", &b,
    ])
    .expect("spawn")
}

fn pid(dir: &Path, file: &str) -> u32 {
    let mut pid = 0;
    wait_until(Duration::from_secs(10), || {
        pid = std::fs::read_to_string(dir.join(file))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        pid != 0
    })
    .unwrap_or_else(|_| panic!("{file} not written"));
    pid
}

fn has(host: &Host, addr: &str) -> bool {
    host.ip(&["-4", "-o", "addr", "show", "dev", "eth0"])
        .map(|s| s.contains(&format!("{addr}/24")))
        .unwrap_or(false)
}

fn read_status(out: &Path, name: &str) -> Option<(u32, Status)> {
    let uid = std::fs::read_to_string(out.join(format!("{name}.uid"))).ok()?;
    let st = std::fs::read_to_string(out.join(format!("{name}.status"))).ok()?;
    Some((uid.trim().parse().ok()?, Status::parse(&st)))
}

fn wait_script(out: &Path, name: &str, p: &Proc) -> (u32, Status) {
    let mut got = None;
    if wait_until(Duration::from_secs(15), || {
        got = read_status(out, name);
        got.is_some()
    })
    .is_err()
    {
        panic!("{name} script did not run\n{}", p.output_so_far());
    }
    got.expect("read")
}

// Proves issue #25's least privilege: with VRRP, a virtual_server with a MISC_CHECK run as
// script_user nobody, and a bfd_instance, the parent and each worker (every thread) hold the
// documented CapEff/CapPrm/CapBnd/NoNewPrivs; the daemon works (master, VIP, the script runs as
// uid 65534 with no capability; /metrics answers on port 99, bound before the parent
// narrowed itself); a reload (SIGHUP) adding a VIP works with the same sets; a
// reload adding the VRRP worker's first script (notify_master) restarts that worker without
// no_new_privs and with the script capabilities, and the script runs as nobody; a reload that
// would run scripts as root, which the narrowed parent cannot give, is rejected.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_privileges_per_worker() {
    let lab = Lab::new("priv").expect("lab");
    let host = lab.host("d").expect("host");
    host.add_addr("10.0.0.1/24").expect("addr");
    let (dir, out) = dirs(&lab, "d");
    let misc = script(&dir, &out, "misc");
    let notify = script(&dir, &out, "notify");
    let base = Conf {
        script_user: Some("nobody"),
        misc: &misc,
        vips: &[VIP],
        notify_master: None,
    };
    std::fs::write(dir.join("k.conf"), conf(&base)).expect("conf");
    let p = start(&host, &dir);
    if wait_until(Duration::from_secs(15), || has(&host, VIP)).is_err() {
        panic!("no VIP\n{}", p.output_so_far());
    }
    let (uid, st) = wait_script(&out, "misc", &p);
    eprintln!(
        "MISC_CHECK script: uid {uid}, CapEff {} CapBnd {} NoNewPrivs {}",
        st.effective, st.bounding, st.no_new_privs as u8
    );
    assert_eq!(uid, 65534, "MISC_CHECK runs as script_user nobody");
    assert_eq!(st.effective, CapSet::EMPTY);
    assert_eq!(st.permitted, CapSet::EMPTY);
    assert_eq!(
        st.bounding,
        checker_caps(),
        "a script inherits the checker's bounding set"
    );

    let (k, v, c, b) = (
        pid(&dir, "k.pid"),
        pid(&dir, "v.pid"),
        pid(&dir, "c.pid"),
        pid(&dir, "b.pid"),
    );
    let parent = Want {
        eff: parent_caps(),
        bnd: parent_bounding(),
        nnp: false,
    };
    let vrrp = Want {
        eff: vrrp_caps(),
        bnd: vrrp_caps(),
        nnp: true,
    };
    let checker = Want {
        eff: checker_caps(),
        bnd: checker_caps(),
        nnp: false,
    };
    let bfd = Want {
        eff: bfd_caps(),
        bnd: bfd_caps(),
        nnp: true,
    };
    let all = |parent: Want, v: u32, vrrp: Want| {
        let n = check("parent", k, parent)
            + check("vrrp", v, vrrp)
            + check("checker", c, checker)
            + check("bfd", b, bfd);
        eprintln!("{n} threads checked");
    };
    all(parent, v, vrrp);
    // The metrics/status listener (a task on the parent's thread, checked above with it) bound
    // port 99 before the parent dropped CAP_NET_BIND_SERVICE, and serves without it.
    let metrics = host
        .run_ok(&[
            "curl",
            "-sS",
            "--max-time",
            "5",
            "http://127.0.0.1:99/metrics",
        ])
        .expect("scrape /metrics");
    assert!(
        metrics.contains("keepalived_vrrp_state{"),
        "/metrics answers: {metrics}"
    );

    // Reload with a second VIP: same processes, same sets.
    std::fs::write(
        dir.join("k.conf"),
        conf(&Conf {
            vips: &[VIP, VIP2],
            ..base
        }),
    )
    .expect("conf");
    p.signal(Signal::SIGHUP).expect("hup");
    if wait_until(Duration::from_secs(10), || has(&host, VIP2)).is_err() {
        panic!("reload did not add {VIP2}\n{}", p.output_so_far());
    }
    assert_eq!(pid(&dir, "v.pid"), v, "the VRRP worker reloaded in place");
    all(parent, v, vrrp);

    // Reload adding notify_master: the VRRP worker (no_new_privs, no script capabilities)
    // is started again, and runs the script as nobody.
    std::fs::write(
        dir.join("k.conf"),
        conf(&Conf {
            vips: &[VIP, VIP2],
            notify_master: Some(&notify),
            ..base
        }),
    )
    .expect("conf");
    p.signal(Signal::SIGHUP).expect("hup");
    let (uid, st) = wait_script(&out, "notify", &p);
    assert_eq!(uid, 65534, "notify_master runs as script_user nobody");
    assert_eq!(st.effective, CapSet::EMPTY);
    let v2 = pid(&dir, "v.pid");
    assert_ne!(v2, v, "the VRRP worker was started again");
    if wait_until(Duration::from_secs(10), || {
        has(&host, VIP) && has(&host, VIP2)
    })
    .is_err()
    {
        panic!("VIPs back after the restart\n{}", p.output_so_far());
    }
    let vrrp_scripts = Want {
        eff: vrrp_caps_with_scripts(),
        bnd: vrrp_caps_with_scripts(),
        nnp: false,
    };
    all(parent, v2, vrrp_scripts);

    // A reload that would run scripts as root (script_user root): the parent narrowed its
    // bounding set at start, so it keeps the running configuration.
    std::fs::write(
        dir.join("k.conf"),
        conf(&Conf {
            script_user: Some("root"),
            vips: &[VIP],
            notify_master: Some(&notify),
            ..base
        }),
    )
    .expect("conf");
    p.signal(Signal::SIGHUP).expect("hup");
    if wait_until(Duration::from_secs(10), || {
        p.output_so_far()
            .contains("Cannot reload: the new configuration may run scripts as root")
    })
    .is_err()
    {
        panic!("root-script reload not rejected\n{}", p.output_so_far());
    }
    std::thread::sleep(Duration::from_secs(1));
    assert!(has(&host, VIP2), "the running configuration stays");
    all(parent, v2, vrrp_scripts);

    p.signal(Signal::SIGTERM).expect("term");
    assert!(p
        .wait_timeout(Duration::from_secs(15))
        .expect("wait")
        .is_some());
    assert!(!has(&host, VIP), "VIP released at stop");
}

// Proves keepalived's script semantics survive: with no script_user (and no keepalived_script
// user) scripts run as root, as keepalived runs them, with every capability — so the checker
// and the parent keep the full bounding set (effective/permitted still narrowed), and the root
// MISC_CHECK script holds all capabilities.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_privileges_root_scripts_keep_bounding_set() {
    let lab = Lab::new("privr").expect("lab");
    let host = lab.host("d").expect("host");
    host.add_addr("10.0.0.1/24").expect("addr");
    let (dir, out) = dirs(&lab, "d");
    let misc = script(&dir, &out, "misc");
    if nix::unistd::User::from_name("keepalived_script")
        .ok()
        .flatten()
        .is_some()
    {
        eprintln!("skipped: a keepalived_script user exists (scripts would not run as root)");
        return;
    }
    std::fs::write(
        dir.join("k.conf"),
        conf(&Conf {
            script_user: None,
            misc: &misc,
            vips: &[VIP],
            notify_master: None,
        }),
    )
    .expect("conf");
    let p = start(&host, &dir);
    // "All": every capability the daemon was started with (this test's bounding set; a
    // container may lack some).
    let all = Status::of(std::process::id()).expect("own status").bounding;
    let (uid, st) = wait_script(&out, "misc", &p);
    assert_eq!(uid, 0, "MISC_CHECK runs as root");
    assert_eq!(st.effective, all, "a root script gets every capability");
    assert_eq!(st.bounding, all);
    check(
        "parent",
        pid(&dir, "k.pid"),
        Want {
            eff: parent_caps(),
            bnd: all,
            nnp: false,
        },
    );
    check(
        "checker",
        pid(&dir, "c.pid"),
        Want {
            eff: checker_caps(),
            bnd: all,
            nnp: false,
        },
    );
    // The VRRP worker runs no script: narrowed bounding set and no_new_privs all the same.
    check(
        "vrrp",
        pid(&dir, "v.pid"),
        Want {
            eff: vrrp_caps(),
            bnd: vrrp_caps(),
            nnp: true,
        },
    );
    check(
        "bfd",
        pid(&dir, "b.pid"),
        Want {
            eff: bfd_caps(),
            bnd: bfd_caps(),
            nnp: true,
        },
    );
    // A reload keeping the root scripts goes through (the parent kept what they need).
    let c0 = pid(&dir, "c.pid");
    p.signal(Signal::SIGHUP).expect("hup");
    if wait_until(Duration::from_secs(10), || {
        p.output_so_far().contains("Reload complete")
    })
    .is_err()
    {
        panic!("reload did not finish\n{}", p.output_so_far());
    }
    assert!(!p.output_so_far().contains("Cannot reload"));
    assert_eq!(pid(&dir, "c.pid"), c0, "the checker reloaded in place");
    p.signal(Signal::SIGTERM).expect("term");
    assert!(p
        .wait_timeout(Duration::from_secs(15))
        .expect("wait")
        .is_some());
}
