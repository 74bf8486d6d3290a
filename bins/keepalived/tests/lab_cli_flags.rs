//! keepalived 2.2.7's command-line flags whose effect no other test shows, side by side with
//! the reference (issue #24): `-P`, `-C`, `-B` (which child processes run, which pidfiles are
//! written) and `-u` (the mode of the files created). docs/cli.md lists every flag with the
//! test that shows its effect.
//!
//! Run as root: `cargo test -p keepalived --test lab_cli_flags -- --ignored --nocapture`.

#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use nix::sys::signal::Signal;
use testlab::netns::{wait_until, Host, Lab};

const BIN: &str = env!("CARGO_BIN_EXE_keepalived");
const REFERENCE: &str = "/usr/sbin/keepalived";

/// The child processes of `pid` (their count).
fn children(pid: &str) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter(|e| {
            std::fs::read_to_string(e.path().join("stat"))
                .ok()
                .and_then(|s| {
                    let rest = s.rsplit_once(')')?.1.to_string();
                    rest.split_whitespace().nth(1).map(str::to_string)
                })
                .is_some_and(|ppid| ppid == pid)
        })
        .count()
}

/// What `prog` with `flags` runs for a configuration with a VRRP instance and a BFD instance
/// (no virtual server): the pidfiles written (parent, VRRP, checker, BFD), the number of
/// children of the parent, and the mode of the data dump file (`$TMPDIR/keepalived.data`).
fn run(host: &Host, dir: &Path, prog: &str, flags: &[&str]) -> (Vec<&'static str>, usize, u32) {
    for f in ["k.pid", "v.pid", "c.pid", "b.pid", "keepalived.data"] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    let c = dir.join("keepalived.conf");
    let p = |n: &str| dir.join(n).display().to_string();
    let (kp, vp, cp, bp) = (p("k.pid"), p("v.pid"), p("c.pid"), p("b.pid"));
    let tmpdir = format!("TMPDIR={}", dir.display());
    let mut argv = vec![
        "env",
        &tmpdir,
        prog,
        "-n",
        "-l",
        "-D",
        "-f",
        c.to_str().unwrap(),
        "-p",
        &kp,
        "-r",
        &vp,
        "-c",
        &cp,
        "-b",
        &bp,
    ];
    argv.extend_from_slice(flags);
    if prog == BIN {
        argv.push("-G");
    }
    let proc = host.spawn(&argv).expect("spawn");
    let kpid = dir.join("k.pid");
    if wait_until(Duration::from_secs(10), || kpid.exists()).is_err() {
        panic!("{prog} {flags:?}: no pidfile\n{}", proc.output_so_far());
    }
    // Let the children start (and a child with nothing to run go).
    std::thread::sleep(Duration::from_secs(3));
    let parent = std::fs::read_to_string(&kpid)
        .unwrap_or_default()
        .trim()
        .to_string();
    let files: Vec<&'static str> = ["k.pid", "v.pid", "c.pid", "b.pid"]
        .into_iter()
        .filter(|f| dir.join(f).exists())
        .collect();
    let kids = children(&parent);
    // The data dump (SIGUSR1), created with the umask.
    proc.signal(Signal::SIGUSR1).expect("usr1");
    let data = dir.join("keepalived.data");
    let _ = wait_until(Duration::from_secs(5), || data.exists());
    std::thread::sleep(Duration::from_millis(300));
    let mode = std::fs::metadata(&data)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0);
    proc.signal(Signal::SIGTERM).expect("term");
    let _ = proc.wait_timeout(Duration::from_secs(15));
    eprintln!("{prog} {flags:?}: pidfiles {files:?}, {kids} children, data dump {mode:o}");
    (files, kids, mode)
}

// Proves -P, -C, -B and -u as in keepalived 2.2.7, for a configuration with a vrrp_instance and
// a bfd_instance: without flags the VRRP and BFD children run (their pidfiles written); -B
// leaves out BFD; -P leaves out the checker only (BFD still runs, as in 2.2.7); -C (no
// virtual_server) runs BFD only; -u 0027 makes the data dump rw-r----- (default umask 0177:
// rw-------). Same pidfiles, child counts and modes as the reference.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_subsystem_flags_and_umask_as_reference() {
    let lab = Lab::new("cliflg").expect("lab");
    let cases: [&[&str]; 5] = [&[], &["-B"], &["-P"], &["-C"], &["-u", "0027"]];
    let mut all = Vec::new();
    for (name, prog) in [("ref", REFERENCE), ("ours", BIN)] {
        let host = lab.host(name).expect("host");
        host.add_addr("10.0.0.1/24").expect("addr");
        let dir = lab.dir().join(name);
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(
            dir.join("keepalived.conf"),
            "global_defs {\n  router_id lab\n}\nbfd_instance bfd1 {\n  neighbor_ip 10.0.0.2\n}\n\
             vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
             priority 100\n  advert_int 1\n  virtual_ipaddress {\n    10.0.0.100/24\n  }\n}\n",
        )
        .expect("conf");
        let r: Vec<_> = cases.iter().map(|f| run(&host, &dir, prog, f)).collect();
        all.push(r);
    }
    let (theirs, ours) = (&all[0], &all[1]);
    assert_eq!(
        theirs[0].0,
        ["k.pid", "v.pid", "b.pid"],
        "reference, no flag"
    );
    assert_eq!(theirs[1].0, ["k.pid", "v.pid"], "reference, -B");
    assert_eq!(theirs[0].2, 0o600, "reference, default umask");
    assert_eq!(theirs[4].2, 0o640, "reference, -u 0027");
    for (i, f) in cases.iter().enumerate() {
        assert_eq!(ours[i], theirs[i], "{f:?}");
    }
}

/// One run of `prog` under its own mount namespace with a socket bound over /dev/log: the
/// syslog priorities received during the first seconds and the addresses on eth0.
fn syslog_run(host: &Host, dir: &Path, prog: &str, flags: &[&str]) -> (Vec<u32>, String) {
    use std::os::unix::net::UnixDatagram;
    let sock_path = dir.join("log.sock");
    let _ = std::fs::remove_file(&sock_path);
    let sock = UnixDatagram::bind(&sock_path).expect("bind");
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let c = dir.join("keepalived.conf");
    let p = |n: &str| dir.join(n).display().to_string();
    // This system has no /dev/log: a /dev of our own in the mount namespace, with the usual
    // devices and the socket as /dev/log.
    let hostdev = dir.join("hostdev");
    std::fs::create_dir_all(&hostdev).expect("dir");
    let cmd = format!(
        "mount --rbind /dev {h} && mount -t tmpfs tmpfs /dev && \
         for d in null zero urandom random full tty; do touch /dev/$d && mount --bind {h}/$d /dev/$d; done; \
         ln -s /proc/self/fd /dev/fd; touch /dev/log && \
         mount --bind {} /dev/log && exec {prog} -n -f {} -p {} -r {} -c {} {}",
        sock_path.display(),
        c.display(),
        p("k.pid"),
        p("v.pid"),
        p("c.pid"),
        flags.join(" "),
        h = hostdev.display()
    );
    let proc = host
        .spawn(&[
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            &cmd,
        ])
        .expect("spawn");
    let mut pris = Vec::new();
    let end = std::time::Instant::now() + Duration::from_secs(6);
    let mut buf = [0u8; 2048];
    while std::time::Instant::now() < end {
        if let Ok(n) = sock.recv(&mut buf) {
            let s = String::from_utf8_lossy(&buf[..n]).to_string();
            if let Some(v) = s
                .strip_prefix('<')
                .and_then(|r| r.split_once('>'))
                .and_then(|(v, _)| v.parse().ok())
            {
                pris.push(v);
            }
        }
    }
    let addrs = host
        .ip(&["-4", "-o", "addr", "show", "dev", "eth0"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(3).map(str::to_string))
        .collect::<Vec<_>>()
        .join(" ");
    proc.signal(Signal::SIGTERM).expect("term");
    let _ = proc.wait_timeout(Duration::from_secs(15));
    pris.sort_unstable();
    pris.dedup();
    eprintln!("{prog} {flags:?}: syslog priorities {pris:?}, addresses {addrs}");
    (pris, addrs)
}

// Proves -S, -G and -i as in keepalived 2.2.7: with `-S 3` every syslog datagram on /dev/log
// has facility LOG_LOCAL3 (priority 152..159), with -G there is none; `-i n1` keeps the
// `@n1` line of virtual_ipaddress and drops the `@^n1` one, `-i n2` the reverse (the VIP on
// eth0 shows which). Same facilities, same VIPs as the reference.
#[test]
#[ignore = "lab: needs root, network and mount namespaces"]
fn lab_syslog_facility_no_syslog_config_id_as_reference() {
    let lab = Lab::new("clisys").expect("lab");
    let cases: [&[&str]; 2] = [&["-S", "3", "-i", "n1"], &["-S", "3", "-G", "-i", "n2"]];
    let mut all = Vec::new();
    for (name, prog) in [("ref", REFERENCE), ("ours", BIN)] {
        let host = lab.host(name).expect("host");
        host.add_addr("10.0.0.1/24").expect("addr");
        let dir = lab.dir().join(name);
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(
            dir.join("keepalived.conf"),
            "global_defs {\n  router_id lab\n}\n\
             vrrp_instance VI_1 {\n  state MASTER\n  interface eth0\n  virtual_router_id 51\n  \
             priority 100\n  advert_int 1\n  virtual_ipaddress {\n    @n1 10.0.0.100/24\n    \
             @^n1 10.0.0.101/24\n  }\n}\n",
        )
        .expect("conf");
        let r: Vec<_> = cases
            .iter()
            .map(|f| syslog_run(&host, &dir, prog, f))
            .collect();
        all.push(r);
    }
    let (theirs, ours) = (&all[0], &all[1]);
    assert!(
        !theirs[0].0.is_empty() && theirs[0].0.iter().all(|p| (152..160).contains(p)),
        "{theirs:?}"
    );
    assert!(theirs[1].0.is_empty(), "{theirs:?}");
    assert_eq!(theirs[0].1, "10.0.0.1/24 10.0.0.100/24");
    assert_eq!(theirs[1].1, "10.0.0.1/24 10.0.0.101/24");
    for (i, f) in cases.iter().enumerate() {
        // The same facility (the severities differ with the messages each logs).
        let fac = |v: &[u32]| {
            v.iter()
                .map(|p| p / 8)
                .collect::<std::collections::BTreeSet<_>>()
        };
        assert_eq!(fac(&ours[i].0), fac(&theirs[i].0), "{f:?}");
        assert_eq!(ours[i].1, theirs[i].1, "{f:?}");
    }
}
