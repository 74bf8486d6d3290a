//! Smoke tests of the namespace lab (`testlab::netns`): traffic between lab hosts, processes
//! inside namespaces, captures, cleanup (also after a panic and after a crashed run), parallel
//! labs, timeouts. They need root: run with
//! `cargo test -p system-tests --test lab_smoke -- --include-ignored`.

use std::path::Path;
use std::time::{Duration, Instant};

use testlab::netns::{self, wait_until, Lab, LabError};

/// Whether a process still exists (a zombie counts as gone).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|st| st != "Z" && st != "X"),
        Err(_) => false,
    }
}

fn ns_exists(ns: &str) -> bool {
    Path::new(netns::NETNS_DIR).join(ns).exists()
}

fn two_hosts(tag: &str) -> (Lab, netns::Host, netns::Host) {
    let lab = Lab::new(tag).unwrap();
    let a = lab.host("a").unwrap();
    let b = lab.host("b").unwrap();
    a.add_addr("10.0.0.1/24").unwrap();
    b.add_addr("10.0.0.2/24").unwrap();
    (lab, a, b)
}

// Proves two lab hosts exchange packets over the bridge with IPv4 and with IPv6 (usable at
// once: no DAD wait), and that a failed link (link_down) stops traffic until link_up.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_two_hosts_ping() {
    let (lab, a, b) = two_hosts("ping");
    assert!(lab.name().len() <= 15);
    a.add_addr("fd00::1/64").unwrap();
    b.add_addr("fd00::2/64").unwrap();
    a.sh("busybox ping -c 1 -W 3 10.0.0.2").unwrap();
    b.sh("busybox ping -c 1 -W 3 10.0.0.1").unwrap();
    a.sh("busybox ping6 -c 1 -W 3 fd00::2").unwrap();
    // The address is not "tentative": DAD is off.
    let addrs = b
        .run_ok(&["ip", "-6", "addr", "show", "dev", "eth0"])
        .unwrap();
    assert!(
        addrs.contains("fd00::2/64") && !addrs.contains("tentative"),
        "{addrs}"
    );

    b.link_down("eth0").unwrap();
    let out = a
        .run(&["busybox", "ping", "-c", "1", "-W", "1", "10.0.0.2"])
        .unwrap();
    assert!(
        !out.status.success(),
        "ping must fail while b's link is down"
    );
    b.link_up("eth0").unwrap();
    wait_until(Duration::from_secs(5), || {
        a.run(&["busybox", "ping", "-c", "1", "-W", "1", "10.0.0.2"])
            .is_ok_and(|o| o.status.success())
    })
    .unwrap();
    // The hosts are namespaces of this lab; the host's own namespace is untouched.
    assert!(a.name().starts_with(lab.name()) && ns_exists(a.name()));
    assert_eq!(a.netns_path(), Path::new("/run/netns").join(a.name()));
}

// Proves a process spawned in one namespace (a TCP listener) serves a client in another, its
// output is captured, and a failing `sh` returns an error carrying the command's stderr.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_tcp_listener_answers_client() {
    let (_lab, a, b) = two_hosts("tcp");
    let server = b
        .spawn(&[
            "python3",
            "-u",
            "-c",
            "import socket\n\
             s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
             s.bind(('10.0.0.2', 7000)); s.listen(1); print('listening', flush=True)\n\
             c, peer = s.accept(); data = c.recv(100)\n\
             print('got', data.decode(), 'from', peer[0], flush=True)\n\
             c.sendall(b'pong:' + data); c.close()",
        ])
        .unwrap();
    // Generous: python starts slowly in the emulated VM.
    wait_until(Duration::from_secs(60), || {
        server.output_so_far().contains("listening")
    })
    .unwrap_or_else(|e| panic!("{e}: {}", server.output_so_far()));
    let reply = a
        .run_ok(&[
            "python3",
            "-c",
            "import socket\n\
             s = socket.create_connection(('10.0.0.2', 7000), timeout=5)\n\
             s.sendall(b'ping'); print(s.recv(100).decode())",
        ])
        .unwrap();
    assert_eq!(reply.trim(), "pong:ping");
    let st = server.wait_timeout(Duration::from_secs(5)).unwrap();
    assert!(st.is_some_and(|s| s.success()));
    assert!(server.stdout_so_far().contains("got ping from 10.0.0.1"));

    let err = a.sh("echo oops >&2; exit 3").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, LabError::Command { .. }));
    assert!(msg.contains("oops") && msg.contains("exit code 3"), "{msg}");
}

// Proves the capture helper records traffic of the host's interface into a pcap file that
// read_pcap parses (the ICMP echo request from a to b is in it).
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_capture_records_ping() {
    let (lab, a, _b) = two_hosts("cap");
    let cap = lab.capture("b", "eth0", "icmp").unwrap();
    a.sh("busybox ping -c 2 -W 3 10.0.0.2").unwrap();
    cap.stop(Duration::from_secs(5)).unwrap();
    let pcap = netns::read_pcap(cap.pcap_path().unwrap()).unwrap();
    assert_eq!(pcap.linktype, 1, "Ethernet");
    let echo = pcap.packets.iter().any(|p| {
        let d = &p.data;
        d.len() >= 34 + 8
            && d[12..14] == [0x08, 0x00] // IPv4
            && d[23] == 1 // ICMP
            && d[26..30] == [10, 0, 0, 1]
            && d[30..34] == [10, 0, 0, 2]
            && d[34] == 8 // echo request
    });
    assert!(echo, "no echo request in {} packets", pcap.packets.len());
}

// Proves Drop cleans up after a test that panics: spawned processes (also one that escaped the
// process group with setsid) are killed, namespaces, temp dir and marker file are removed.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_cleanup_after_panic() {
    let (tx, rx) = std::sync::mpsc::channel();
    let res = std::thread::spawn(move || {
        let lab = Lab::new("panic").unwrap();
        let a = lab.host("a").unwrap();
        let p = a.spawn(&["sleep", "1000"]).unwrap();
        let escaped = a.spawn_sh("setsid sleep 1001 & echo $!; wait").unwrap();
        wait_until(Duration::from_secs(5), || {
            !escaped.stdout_so_far().is_empty()
        })
        .unwrap();
        let esc_pid: u32 = escaped.stdout_so_far().trim().parse().unwrap();
        tx.send((
            lab.name().to_string(),
            lab.namespaces(),
            lab.dir().to_path_buf(),
            vec![p.pid(), escaped.pid(), esc_pid],
        ))
        .unwrap();
        panic!("deliberate panic inside a lab test");
    })
    .join();
    assert!(res.is_err(), "the thread must have panicked");
    let (name, nss, dir, pids) = rx.recv().unwrap();
    assert_eq!(nss.len(), 2, "bridge + host: {nss:?}");
    for ns in &nss {
        assert!(!ns_exists(ns), "{ns} left behind");
    }
    for pid in pids {
        wait_until(Duration::from_secs(2), || !alive(pid))
            .unwrap_or_else(|_| panic!("pid {pid} still alive"));
    }
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(!Path::new(netns::MARKER_DIR)
        .join(format!("{name}.pid"))
        .exists());
    assert!(!netns::list_namespaces()
        .iter()
        .any(|n| n.starts_with(&format!("{name}-"))));
}

// Proves the sweep removes namespaces of a lab whose creator died (marker with a dead pid) and
// kills what runs inside, but leaves alone labs of live processes and lab-shaped namespaces
// without a marker.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_sweep_removes_only_stale_labs() {
    let live = Lab::new("live").unwrap();
    let _h = live.host("h").unwrap();
    // A pid that is certainly dead: a child we reaped.
    let mut c = std::process::Command::new("true").spawn().unwrap();
    let dead = c.id();
    c.wait().unwrap();
    let stale = netns::lab_name("stale", dead, 7);
    let unmarked = netns::lab_name("unmk", dead, 8);
    let stale_ns = format!("{stale}-a");
    let unmarked_ns = format!("{unmarked}-a");
    let ip = |args: &[&str]| {
        let st = std::process::Command::new("ip")
            .args(args)
            .status()
            .unwrap();
        assert!(st.success(), "ip {args:?}");
    };
    std::fs::create_dir_all(netns::MARKER_DIR).unwrap();
    std::fs::write(
        Path::new(netns::MARKER_DIR).join(format!("{stale}.pid")),
        format!("{dead} 1\n"),
    )
    .unwrap();
    ip(&["netns", "add", &stale_ns]);
    ip(&["netns", "add", &unmarked_ns]);
    // A process left running inside the stale namespace (as after a crash).
    let orphan = std::process::Command::new("ip")
        .args(["netns", "exec", &stale_ns, "sleep", "1000"])
        .spawn()
        .unwrap();
    let orphan_pid = orphan.id();
    // Wait until it really runs inside the namespace (`ip netns exec` has switched).
    wait_until(Duration::from_secs(5), || {
        std::process::Command::new("ip")
            .args(["netns", "pids", &stale_ns])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&orphan_pid.to_string()))
    })
    .unwrap();

    netns::sweep(false).unwrap();
    assert!(!ns_exists(&stale_ns), "stale namespace not swept");
    assert!(!Path::new(netns::MARKER_DIR)
        .join(format!("{stale}.pid"))
        .exists());
    let mut orphan = orphan;
    let _ = orphan.wait(); // reap: it was SIGKILLed by the sweep
    assert!(!alive(orphan_pid));
    assert!(
        ns_exists(&unmarked_ns),
        "unmarked namespace must be left alone"
    );
    for ns in live.namespaces() {
        assert!(ns_exists(&ns), "live lab namespace {ns} swept");
    }
    ip(&["netns", "del", &unmarked_ns]);
}

// Proves labs created in parallel (same tag, same addresses) get distinct names and
// namespaces and do not see each other's traffic or collide on interface names.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_parallel_labs_do_not_collide() {
    let handles: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                let (lab, a, b) = two_hosts("par");
                // A marker address only this lab's b has.
                b.add_addr(&format!("10.0.1.{}/24", i + 1)).unwrap();
                a.add_addr("10.0.1.100/24").unwrap();
                a.sh(&format!("busybox ping -c 1 -W 3 10.0.1.{}", i + 1))
                    .unwrap();
                for j in 0..4 {
                    if j != i {
                        // Other labs' marker addresses are not reachable from this lab.
                        let o = a
                            .run(&[
                                "busybox",
                                "ping",
                                "-c",
                                "1",
                                "-W",
                                "1",
                                &format!("10.0.1.{}", j + 1),
                            ])
                            .unwrap();
                        assert!(!o.status.success(), "lab {i} reached lab {j}");
                    }
                }
                let names = lab.namespaces();
                // Keep the lab alive until every thread has checked.
                std::thread::sleep(Duration::from_millis(300));
                names
            })
        })
        .collect();
    let mut all: Vec<String> = Vec::new();
    for h in handles {
        all.extend(h.join().unwrap());
    }
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "namespace names collided");
    assert_eq!(n, 12);
    for ns in &all {
        assert!(!ns_exists(ns), "{ns} left behind");
    }
}

// Proves waits time out correctly: wait_until on a condition that never holds inside a lab
// returns Timeout after (not before) the limit, and wait_timeout of a running process returns
// None, then the exit status once it is killed.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_wait_until_times_out() {
    let lab = Lab::new("wait").unwrap();
    let a = lab.host("a").unwrap();
    let p = a.spawn(&["sh", "-c", "echo started; sleep 1000"]).unwrap();
    wait_until(Duration::from_secs(5), || {
        p.stdout_so_far().contains("started")
    })
    .unwrap();
    let t = Instant::now();
    let r = wait_until(Duration::from_millis(300), || {
        p.output_so_far().contains("never printed")
    });
    let el = t.elapsed();
    assert!(matches!(r, Err(LabError::Timeout(_))), "{r:?}");
    assert!(
        el >= Duration::from_millis(300) && el < Duration::from_secs(3),
        "{el:?}"
    );
    assert_eq!(p.wait_timeout(Duration::from_millis(100)).unwrap(), None);
    assert!(p.is_running());
    p.kill();
    assert!(!p.is_running());
    assert!(!alive(p.pid()));
}

/// Re-runs this test binary for one test with `env` set, optionally under `setpriv` as the
/// unprivileged user nobody; returns its stdout+stderr.
fn rerun_self(test: &str, env: &[(&str, &str)], as_nobody: bool) -> String {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = if as_nobody {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&exe);
        c
    } else {
        std::process::Command::new(&exe)
    };
    cmd.args([
        "--exact",
        test,
        "--include-ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("KRS_LAB_SMOKE_CHILD", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "child run failed: {text}");
    text
}

/// In the child run: report what `check_prerequisites` and `Lab::new` say.
fn child_report() {
    match netns::check_prerequisites(false) {
        Ok(f) => println!("CHECK-OK {f:?}"),
        Err(e) => println!("CHECK-ERR {e}"),
    }
    match Lab::new("prq") {
        Ok(l) => println!("LAB-OK {}", l.name()),
        Err(e) => println!("LAB-ERR {e}"),
    }
}

// Proves the "bad input" cases give clear errors and leave nothing behind: as a non-root user
// the lab says it needs root (and how), and without `ip` in PATH it says to install iproute2.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_missing_prerequisites_are_reported() {
    if std::env::var_os("KRS_LAB_SMOKE_CHILD").is_some() {
        child_report();
        return;
    }
    let before = netns::list_namespaces();
    let me = "lab_missing_prerequisites_are_reported";
    let out = rerun_self(me, &[], true);
    assert!(
        out.contains("CHECK-ERR") && out.contains("not root"),
        "{out}"
    );
    assert!(out.contains("LAB-ERR") && out.contains("as root"), "{out}");
    let out = rerun_self(me, &[("PATH", "/nonexistent")], false);
    assert!(
        out.contains("CHECK-ERR") && out.contains("apt-get install iproute2"),
        "{out}"
    );
    assert!(
        out.contains("LAB-ERR") && out.contains("`ip` is not installed"),
        "{out}"
    );
    let after = netns::list_namespaces();
    assert!(
        after
            .iter()
            .all(|n| before.contains(n) || !n.contains("-prq-")),
        "a namespace was left behind: {after:?}"
    );
}

// Proves run_timeout kills a command that hangs and returns Timeout, and returns the output of
// one that finishes; wait_for returns the first value produced.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_run_timeout_and_wait_for() {
    let lab = Lab::new("rto").unwrap();
    let a = lab.host("a").unwrap();
    let t = Instant::now();
    let r = a.run_timeout(&["sleep", "100"], Duration::from_millis(300));
    assert!(matches!(r, Err(LabError::Timeout(_))), "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(5));
    let o = a
        .run_timeout(
            &["sh", "-c", "echo out; echo err >&2; exit 4"],
            Duration::from_secs(10),
        )
        .unwrap();
    assert_eq!(o.status.code(), Some(4));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "err\n");
    let mut n = 0;
    let v = netns::wait_for(Duration::from_secs(5), || {
        n += 1;
        (n >= 3).then_some(n * 10)
    })
    .unwrap();
    assert_eq!(v, 30);
    assert!(matches!(
        netns::wait_for(Duration::from_millis(50), || None::<u8>),
        Err(LabError::Timeout(_))
    ));
}

// Proves recovery from a crashed run: a test process that is SIGKILLed while its lab (with a
// running process inside) exists leaves the namespaces behind, and the sweep then removes them,
// kills what ran inside and removes the lab's temp directory.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_sweep_after_crashed_run() {
    if std::env::var_os("KRS_LAB_SMOKE_CHILD").is_some() {
        let lab = Lab::new("crash").unwrap();
        let a = lab.host("a").unwrap();
        let p = a.spawn(&["sleep", "1000"]).unwrap();
        println!("LAB {} {} {}", lab.name(), lab.dir().display(), p.pid());
        std::thread::sleep(Duration::from_secs(1000));
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new(exe)
        .args([
            "--exact",
            "lab_sweep_after_crashed_run",
            "--include-ignored",
            "--nocapture",
        ])
        .env("KRS_LAB_SMOKE_CHILD", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut rd = std::io::BufReader::new(child.stdout.take().unwrap());
    while !line.starts_with("LAB ") {
        line.clear();
        let n = std::io::BufRead::read_line(&mut rd, &mut line).unwrap();
        assert!(n > 0, "child ended without creating its lab");
    }
    let f: Vec<&str> = line.split_whitespace().collect();
    let (name, dir, sleeper): (&str, &Path, u32) = (f[1], Path::new(f[2]), f[3].parse().unwrap());
    // Crash: no destructor runs.
    child.kill().unwrap();
    child.wait().unwrap();
    let host_ns = format!("{name}-a");
    assert!(
        ns_exists(&host_ns),
        "the crashed run must have left {host_ns}"
    );
    assert!(alive(sleeper));
    netns::sweep(false).unwrap();
    assert!(!ns_exists(&host_ns) && !ns_exists(&format!("{name}-br")));
    wait_until(Duration::from_secs(10), || !alive(sleeper))
        .unwrap_or_else(|e| panic!("sleeper {sleeper} survived the sweep: {e}"));
    assert!(!dir.exists(), "{} left behind", dir.display());
}
