//! The director's event loop against an in-memory IPVS table: FILE_CHECK results drive
//! real servers out of and back into the table; shutdown releases (or keeps, with -I) our
//! services; reload diff-applies; notify scripts run.

#![allow(clippy::unwrap_used, clippy::panic)] // test helpers outside #[test] fns

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::mpsc as smpsc;
use std::time::{Duration, Instant};

use ipvs_nl::{reconcile, Backend, Scheduler, Scope, Service, ServiceKey, VirtualService};
use lvs_director::{run_with, Control, DirectorEvent, DirectorOptions, SharedMemory};
use tokio::sync::mpsc;

fn parse(text: &str) -> conf_parse::Config {
    let p = conf_parse::parse_str(text, "test.conf", &conf_parse::ParseOptions::default());
    assert!(!p.has_errors(), "{:?}", p.diagnostics);
    p.config
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lvsd-rt-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn conf(dir: &Path, extra_vs: &str) -> String {
    format!(
        r#"
track_file f1 {{ file "{d}/rs1" }}
track_file f2 {{ file "{d}/rs2" }}
virtual_server 10.0.0.100 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    {extra_vs}
    real_server 10.0.0.11 80 {{
        notify_down "/bin/sh -c 'echo down >> {d}/notify'"
        notify_up "/bin/sh -c 'echo up >> {d}/notify'"
        FILE_CHECK {{
            track_file f1
            weight 0
        }}
    }}
    real_server 10.0.0.12 80 {{
        FILE_CHECK {{
            track_file f2
            weight 0
        }}
    }}
}}
"#,
        d = dir.display()
    )
}

fn addrs(mem: &SharedMemory) -> Vec<(IpAddr, u32)> {
    let mut m = mem.clone();
    let t = m.table().unwrap();
    let mut v: Vec<_> = t
        .iter()
        .filter(|v| v.service.key == ServiceKey::tcp("10.0.0.100".parse().unwrap(), 80))
        .flat_map(|v| v.destinations.iter().map(|d| (d.addr, d.weight)))
        .collect();
    v.sort();
    v
}

fn wait(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

struct Running {
    tx: mpsc::UnboundedSender<Control>,
    events: smpsc::Receiver<DirectorEvent>,
    join: std::thread::JoinHandle<Result<(), lvs_director::DirectorError>>,
}

fn start(cfg: conf_parse::Config, mem: SharedMemory, dont_release: bool) -> Running {
    let (tx, rx) = mpsc::unbounded_channel();
    let (etx, erx) = smpsc::channel();
    let etx = std::sync::Mutex::new(etx);
    let opts = DirectorOptions {
        control: Some(rx),
        dont_release_ipvs: dont_release,
        events: Some(std::sync::Arc::new(move |e: &DirectorEvent| {
            let _ = etx.lock().unwrap().send(e.clone());
        })),
        ..Default::default()
    };
    let join = std::thread::spawn(move || run_with(cfg, opts, mem));
    Running {
        tx,
        events: erx,
        join,
    }
}

// Proves the loop end to end on a memory table: initial programming, a failing check removes
// its real server within delay_loop + retry x delay_before_retry (+ slack), notify_down and
// notify_up run, recovery puts it back, a foreign service survives, and shutdown releases only
// our service.
#[test]
fn checks_drive_table_and_shutdown_releases() {
    let d = tmpdir("main");
    std::fs::write(d.join("rs1"), "0").unwrap();
    std::fs::write(d.join("rs2"), "0").unwrap();
    let mem = SharedMemory::default();
    let foreign = ServiceKey::tcp("192.0.2.1".parse().unwrap(), 22);
    reconcile(
        &mut mem.clone(),
        &[VirtualService::new(
            Service::new(foreign, Scheduler::Wlc),
            vec![],
        )],
        &Scope::Full,
    )
    .unwrap();
    let r = start(parse(&conf(&d, "")), mem.clone(), false);
    let both = vec![
        ("10.0.0.11".parse().unwrap(), 1),
        ("10.0.0.12".parse().unwrap(), 1),
    ];
    wait("initial table", Duration::from_secs(5), || {
        addrs(&mem) == both
    });
    // Let the first check of rs1 run (warmup = delay_loop = 1 s) so it is in steady state.
    std::thread::sleep(Duration::from_millis(1200));
    std::fs::write(d.join("rs1"), "1").unwrap();
    let t0 = Instant::now();
    wait("rs1 removed", Duration::from_secs(10), || {
        addrs(&mem).len() == 1
    });
    let took = t0.elapsed();
    // FILE_CHECK: retry 0 → down on the first failure, at most one delay_loop (1 s) later.
    assert!(took < Duration::from_secs(2), "removed after {took:?}");
    assert_eq!(addrs(&mem), vec![("10.0.0.12".parse().unwrap(), 1)]);
    wait("notify_down", Duration::from_secs(5), || {
        std::fs::read_to_string(d.join("notify")).is_ok_and(|s| s == "down\n")
    });
    std::fs::write(d.join("rs1"), "0").unwrap();
    wait("rs1 back", Duration::from_secs(5), || addrs(&mem) == both);
    wait("notify_up", Duration::from_secs(5), || {
        std::fs::read_to_string(d.join("notify")).is_ok_and(|s| s == "down\nup\n")
    });
    let evs: Vec<_> = r.events.try_iter().collect();
    assert!(evs
        .iter()
        .any(|e| matches!(e, DirectorEvent::RealServer { alive: false, .. })));
    assert!(evs
        .iter()
        .any(|e| matches!(e, DirectorEvent::Loaded { check_jobs: 2, .. })));
    r.tx.send(Control::Shutdown).unwrap();
    r.join.join().unwrap().unwrap();
    let keys: Vec<_> = mem
        .clone()
        .table()
        .unwrap()
        .iter()
        .map(|v| v.service.key)
        .collect();
    assert_eq!(
        keys,
        vec![foreign],
        "our service released, the foreign one kept"
    );
    let _ = std::fs::remove_dir_all(&d);
}

// Proves -I (dont_release_ipvs) leaves the table at stop, and lvs_flush_on_stop flushes all.
#[test]
fn dont_release_and_flush_on_stop() {
    let d = tmpdir("stop");
    std::fs::write(d.join("rs1"), "0").unwrap();
    std::fs::write(d.join("rs2"), "0").unwrap();
    let mem = SharedMemory::default();
    let r = start(parse(&conf(&d, "")), mem.clone(), true);
    wait("table", Duration::from_secs(5), || addrs(&mem).len() == 2);
    r.tx.send(Control::Shutdown).unwrap();
    r.join.join().unwrap().unwrap();
    assert_eq!(addrs(&mem).len(), 2, "-I keeps entries");

    let mem = SharedMemory::default();
    let text = format!("global_defs {{ lvs_flush_on_stop }}\n{}", conf(&d, ""));
    let r = start(parse(&text), mem.clone(), false);
    wait("table", Duration::from_secs(5), || addrs(&mem).len() == 2);
    r.tx.send(Control::Shutdown).unwrap();
    r.join.join().unwrap().unwrap();
    assert_eq!(*mem.flushes.lock().unwrap(), 1);
    assert!(mem.clone().table().unwrap().is_empty());
    let _ = std::fs::remove_dir_all(&d);
}

// Proves reload is a diff-apply: a down real server that is unchanged stays down (its checker
// state is kept, no re-add), a changed scheduler is edited in place, a new real server is
// added; nothing else is touched.
#[test]
fn reload_diff_applies() {
    let d = tmpdir("reload");
    std::fs::write(d.join("rs1"), "0").unwrap();
    std::fs::write(d.join("rs2"), "1").unwrap();
    let mem = SharedMemory::default();
    let r = start(parse(&conf(&d, "")), mem.clone(), false);
    wait("rs2 down", Duration::from_secs(5), || {
        addrs(&mem).len() == 1
    });
    let before = mem.table.lock().unwrap().log.len();
    let text = conf(&d, "").replace("lb_algo rr", "lb_algo wrr").replace(
        "    real_server 10.0.0.12 80 {",
        "    real_server 10.0.0.13 80 { weight 4 }\n    real_server 10.0.0.12 80 {",
    );
    r.tx.send(Control::Reload(Box::new(parse(&text)))).unwrap();
    wait("reloaded", Duration::from_secs(5), || {
        addrs(&mem).len() == 2
    });
    let log = mem.table.lock().unwrap().log[before..].to_vec();
    assert_eq!(log.len(), 2, "exactly: edit service, add .13: {log:?}");
    assert!(matches!(log[0], ipvs_nl::Operation::EditService(_)));
    assert!(matches!(&log[1], ipvs_nl::Operation::AddDestination(_, d) if d.weight == 4));
    r.tx.send(Control::Shutdown).unwrap();
    r.join.join().unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&d);
}

// Proves the destinations audit: a destination deleted and another re-weighted behind the
// director's back in a service no check or reload touches are put back by the audit (one
// service: audited every second), and a service deleted behind its back is re-created with its
// destinations at the next reconcile (a reload).
#[test]
fn audit_restores_entries_changed_behind_our_back() {
    let d = tmpdir("audit");
    std::fs::write(d.join("rs1"), "0").unwrap();
    std::fs::write(d.join("rs2"), "0").unwrap();
    let mem = SharedMemory::default();
    let r = start(parse(&conf(&d, "")), mem.clone(), false);
    let both = vec![
        ("10.0.0.11".parse().unwrap(), 1),
        ("10.0.0.12".parse().unwrap(), 1),
    ];
    wait("initial table", Duration::from_secs(5), || {
        addrs(&mem) == both
    });
    let key = ServiceKey::tcp("10.0.0.100".parse().unwrap(), 80);
    {
        let mut t = mem.table.lock().unwrap();
        let dests = &mut t.services.get_mut(&key).unwrap().1;
        let first = *dests.keys().next().unwrap();
        dests.remove(&first);
        for v in dests.values_mut() {
            v.weight = 7;
        }
    }
    assert_ne!(addrs(&mem), both);
    wait("audit restores the table", Duration::from_secs(10), || {
        addrs(&mem) == both
    });
    mem.table.lock().unwrap().services.remove(&key);
    r.tx.send(Control::Reload(Box::new(parse(&conf(&d, "")))))
        .unwrap();
    wait(
        "reload re-creates the service",
        Duration::from_secs(10),
        || addrs(&mem) == both,
    );
    r.tx.send(Control::Shutdown).unwrap();
    r.join.join().unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&d);
}

// Proves ha_suspend: the checkers of a virtual server whose address is not local do not run
// (a failing check there changes nothing), while those of one whose address is local (127.0.0.1)
// do (its failing real server is removed).
#[test]
fn ha_suspend_runs_checkers_only_with_local_address() {
    let d = tmpdir("hasusp");
    std::fs::write(d.join("a"), "0").unwrap();
    std::fs::write(d.join("b"), "0").unwrap();
    let text = format!(
        r#"
track_file fa {{ file "{d}/a" }}
track_file fb {{ file "{d}/b" }}
virtual_server 127.0.0.1 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    ha_suspend
    real_server 10.0.0.11 80 {{ FILE_CHECK {{
        track_file fa
        weight 0
    }} }}
}}
virtual_server 192.0.2.254 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    ha_suspend
    real_server 10.0.0.12 80 {{ FILE_CHECK {{
        track_file fb
        weight 0
    }} }}
}}
"#,
        d = d.display()
    );
    let mem = SharedMemory::default();
    let r = start(parse(&text), mem.clone(), false);
    let n_dests = |mem: &SharedMemory| -> usize {
        mem.clone()
            .table()
            .unwrap()
            .iter()
            .map(|v| v.destinations.len())
            .sum()
    };
    wait("table", Duration::from_secs(5), || n_dests(&mem) == 2);
    std::fs::write(d.join("a"), "1").unwrap();
    std::fs::write(d.join("b"), "1").unwrap();
    wait(
        "local VS's real server removed",
        Duration::from_secs(5),
        || n_dests(&mem) == 1,
    );
    std::thread::sleep(Duration::from_millis(2500));
    let t = mem.clone().table().unwrap();
    let left: Vec<_> = t
        .iter()
        .flat_map(|v| v.destinations.iter().map(|d| d.addr))
        .collect();
    assert_eq!(
        left,
        vec!["10.0.0.12".parse::<IpAddr>().unwrap()],
        "suspended one untouched"
    );
    let loaded: Vec<_> = r
        .events
        .try_iter()
        .filter_map(|e| match e {
            DirectorEvent::Loaded { check_jobs, .. } => Some(check_jobs),
            _ => None,
        })
        .collect();
    assert_eq!(loaded, vec![1], "one check job: the suspended VS has none");
    r.tx.send(Control::Shutdown).unwrap();
    r.join.join().unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&d);
}

// Proves the checker's scripts run through the script runner with keepalived's users, by the
// effective uid each script records (`id -u`): notify_down with no user runs as `script_user`
// (daemon), notify_up with its own `user nobody` as nobody, quorum_down with `root` as root and
// quorum_up (no user) as script_user; the words after the program are its arguments (no shell).
#[test]
#[ignore = "lab: needs root (scripts change uid)"]
fn lab_checker_script_user() {
    let d = tmpdir("user");
    let out = d.join("out");
    std::fs::create_dir(&out).unwrap();
    for p in [&d, &out] {
        std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(&out, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let sh = d.join("who.sh");
    std::fs::write(&sh, format!("#!/bin/sh\nid -u > {}/$1\n", out.display())).unwrap();
    std::fs::set_permissions(&sh, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let uid = |name: &str| {
        let o = std::process::Command::new("id")
            .args(["-u", name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let s = sh.display();
    std::fs::write(d.join("rs1"), "0").unwrap();
    std::fs::write(d.join("rs2"), "0").unwrap();
    let text = format!(
        "global_defs {{\n  script_user daemon\n}}\n{}",
        conf(
            &d,
            &format!("quorum_up \"{s} qup\"\n    quorum_down \"{s} qdown\" root")
        )
    )
    .replace(
        &format!(
            "notify_down \"/bin/sh -c 'echo down >> {}/notify'\"",
            d.display()
        ),
        &format!("notify_down \"{s} down\""),
    )
    .replace(
        &format!(
            "notify_up \"/bin/sh -c 'echo up >> {}/notify'\"",
            d.display()
        ),
        &format!("notify_up \"{s} up\" nobody"),
    );
    assert!(text.contains("who.sh up\" nobody"), "{text}");
    let mem = SharedMemory::default();
    let r = start(parse(&text), mem.clone(), false);
    wait("initial table", Duration::from_secs(5), || {
        addrs(&mem).len() == 2
    });
    std::thread::sleep(Duration::from_millis(1200));
    std::fs::write(d.join("rs1"), "1").unwrap();
    std::fs::write(d.join("rs2"), "1").unwrap();
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap_or_default();
    wait(
        "notify_down and quorum_down",
        Duration::from_secs(10),
        || !read("down").is_empty() && !read("qdown").is_empty(),
    );
    std::fs::write(d.join("rs1"), "0").unwrap();
    std::fs::write(d.join("rs2"), "0").unwrap();
    wait("notify_up and quorum_up", Duration::from_secs(10), || {
        !read("up").is_empty() && !read("qup").is_empty()
    });
    assert_eq!(
        read("down").trim(),
        uid("daemon"),
        "notify_down as script_user"
    );
    assert_eq!(
        read("up").trim(),
        uid("nobody"),
        "notify_up as its own user"
    );
    assert_eq!(
        read("qdown").trim(),
        "0",
        "quorum_down as its own user root"
    );
    assert_eq!(
        read("qup").trim(),
        uid("daemon"),
        "quorum_up as script_user"
    );
    r.tx.send(Control::Shutdown).unwrap();
    r.join.join().unwrap().unwrap();
}
