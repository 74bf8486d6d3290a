//! Test harness: runs our `keepalived` in the foreground (-n -l -G) with pidfiles, dump files
//! ($TMPDIR) and an sd_notify socket inside a private temporary directory.

#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_keepalived");

/// keepalived with test fakes (tests/support/keepalived_fakes.rs): an in-memory IPVS table
/// (this host has none; real IPVS: the vm_ tests), and on request configuration-only workers
/// (`--fake-placeholder-workers`), workers that ignore TERM (`--fake-ignore-term=KIND`), exit
/// early (`--fake-worker-exit=KIND:MS:CODE`) or report VIPs (`--fake-held-vips=IF:ADDR/LEN,..`).
pub const FAKES: &str = env!("CARGO_BIN_EXE_keepalived-fakes");

/// The fake option for configuration-only workers: nothing sends VRRP or adds addresses.
pub const PLACEHOLDER_WORKERS: &str = "--fake-placeholder-workers";

pub const VRRP_AND_LVS: &str = "global_defs {
    router_id test
}
vrrp_instance VI_1 {
    state MASTER
    interface lo
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.10/32
    }
}
virtual_server 192.0.2.10 80 {
    delay_loop 6
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 198.51.100.1 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
        }
    }
}
";

pub const VRRP_ONLY: &str = "vrrp_instance VI_1 {
    state BACKUP
    interface lo
    virtual_router_id 52
    priority 90
    virtual_ipaddress {
        192.0.2.11/32
    }
}
";

pub struct Dir(pub PathBuf);

impl Dir {
    pub fn new(tag: &str) -> Dir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("krs-kd-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct Daemon {
    pub child: Child,
    pub dir: Dir,
    pub notify: UnixDatagram,
    pub log: PathBuf,
}

/// Options for [`Daemon::start_with`].
#[derive(Default)]
pub struct Opts<'a> {
    pub extra_args: Vec<String>,
    pub env: Vec<(&'a str, String)>,
    /// Prefix command (e.g. `ip netns exec NS`).
    pub wrap: Vec<String>,
}

impl Daemon {
    pub fn start(tag: &str, config: &str, extra: &[&str]) -> Daemon {
        Daemon::start_with(
            tag,
            config,
            Opts {
                extra_args: extra.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            },
        )
    }

    pub fn start_with(tag: &str, config: &str, o: Opts<'_>) -> Daemon {
        let dir = Dir::new(tag);
        std::fs::write(dir.path("k.conf"), config).unwrap();
        let sock_path = dir.path("notify.sock");
        let notify = UnixDatagram::bind(&sock_path).unwrap();
        notify
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let log = dir.path("stderr.log");
        let mut argv: Vec<String> = o.wrap.clone();
        // These tests exercise the daemon shell, not IPVS (this host has none): the fakes binary's
        // checker worker programs an in-memory table instead (real IPVS: the vm_wired tests).
        argv.push(FAKES.to_string());
        for a in [
            "-n",
            "-l",
            "-G",
            "-f",
            dir.path("k.conf").to_str().unwrap(),
            "-p",
            dir.path("k.pid").to_str().unwrap(),
            "-r",
            dir.path("v.pid").to_str().unwrap(),
            "-c",
            dir.path("c.pid").to_str().unwrap(),
        ] {
            argv.push(a.to_string());
        }
        argv.extend(o.extra_args.iter().cloned());
        // Network safety: a daemon not confined to a namespace of the test's own (neither wrapped
        // in `ip netns exec` nor given `-s NS`) runs placeholder workers, so nothing sends VRRP
        // or adds addresses on the host's interfaces. Namespaced tests run the real workers.
        if o.wrap.is_empty() && !o.extra_args.iter().any(|a| a == "-s") {
            argv.push(PLACEHOLDER_WORKERS.to_string());
        }
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .env("TMPDIR", &dir.0)
            .env("NOTIFY_SOCKET", &sock_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in &o.env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        Daemon {
            child,
            dir,
            notify,
            log,
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        wait_until(timeout, || self.log_text().contains(needle))
    }

    /// Next sd_notify datagram within `timeout`.
    pub fn next_notify(&self, timeout: Duration) -> Option<String> {
        let end = Instant::now() + timeout;
        let mut buf = [0u8; 4096];
        while Instant::now() < end {
            if let Ok(n) = self.notify.recv(&mut buf) {
                return Some(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
        None
    }

    /// Wait for a notify message containing `needle` (skipping others).
    pub fn wait_notify(&self, needle: &str, timeout: Duration) -> Option<String> {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if let Some(m) = self.next_notify(end - Instant::now()) {
                if m.contains(needle) {
                    return Some(m);
                }
            }
        }
        None
    }

    pub fn pid_in(&self, file: &str) -> Option<i32> {
        std::fs::read_to_string(self.dir.path(file))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    pub fn parent_pid(&self) -> i32 {
        let mut pid = None;
        wait_until(Duration::from_secs(5), || {
            pid = self.pid_in("k.pid");
            pid.is_some()
        });
        pid.expect("parent pidfile written")
    }

    pub fn signal(&self, sig: i32) {
        let st = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.parent_pid().to_string())
            .status()
            .unwrap();
        assert!(st.success());
    }

    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Wait for exit; None on timeout.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if let Some(st) = self.child.try_wait().unwrap() {
                return Some(st.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            if let Some(pid) = self.pid_in("k.pid") {
                let _ = Command::new("kill").arg(pid.to_string()).status();
            }
            if self.wait_exit(Duration::from_secs(8)).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}

/// A network namespace created for one test, deleted on drop.
pub struct Netns(pub String);

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let name = format!("krs-kd{tag}{}", std::process::id() % 100000);
        let _ = Command::new("ip").args(["netns", "del", &name]).status();
        let st = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .unwrap();
        assert!(st.success(), "ip netns add {name}");
        let ns = Netns(name);
        ns.sh(&["ip", "link", "set", "lo", "up"]);
        ns
    }
    pub fn sh(&self, argv: &[&str]) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.0])
            .args(argv)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{argv:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    pub fn wrap(&self) -> Vec<String> {
        vec!["ip".into(), "netns".into(), "exec".into(), self.0.clone()]
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Starts `prog` (ours with `-G`, or the reference) in `host` in the foreground (`-n -l -D -P`)
/// with `dir/keepalived.conf` and its pidfiles in `dir` (the lab tests' usual start).
pub fn start_lab(host: &testlab::netns::Host, dir: &Path, prog: &str) -> testlab::netns::Proc {
    start_lab_args(host, dir, prog, &[])
}

/// [`start_lab`] with more arguments.
pub fn start_lab_args(
    host: &testlab::netns::Host,
    dir: &Path,
    prog: &str,
    extra: &[&str],
) -> testlab::netns::Proc {
    let c = dir.join("keepalived.conf");
    let p = dir.join("k.pid");
    let r = dir.join("v.pid");
    let ch = dir.join("c.pid");
    let mut argv = vec![
        prog,
        "-n",
        "-l",
        "-D",
        "-P",
        "-f",
        c.to_str().expect("utf-8 path"),
        "-p",
        p.to_str().expect("utf-8 path"),
        "-r",
        r.to_str().expect("utf-8 path"),
        "-c",
        ch.to_str().expect("utf-8 path"),
    ];
    argv.extend_from_slice(extra);
    if prog == BIN {
        argv.push("-G");
    }
    host.spawn(&argv).expect("spawn")
}
