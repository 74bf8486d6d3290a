#![allow(clippy::unwrap_used, clippy::panic)] // test harness code: failing loudly is the point
//! Top-level and global keywords the daemon shell acts on, in a private network namespace:
//! `net_namespace`, `instance`, `child_wait_time` and `global_defs { metrics_listen }` taken from
//! the configuration (not from command-line options).

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const T: Duration = Duration::from_secs(10);

/// The daemon, stopped (TERM, then KILL) if the test fails before it does.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill").arg(self.0.id().to_string()).status();
            if !wait_until(Duration::from_secs(8), || {
                self.0.try_wait().ok().flatten().is_some()
            }) {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
    }
}

// Proves the configuration's top-level keywords take effect, with no pidfile or namespace
// option on the command line: `net_namespace NS` puts the daemon and its workers in NS (and the
// `metrics_listen` endpoint is served on NS's loopback), `instance NAME` names the pidfiles
// `/run/keepalived/{keepalived,vrrp}_NAME.pid` (keepalived's rule), and `child_wait_time 1`
// makes the parent kill a worker that ignores TERM after 1 s (not the default 5 s), then exit
// 0 and remove its pidfiles.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_top_level_namespace_instance_metrics_child_wait() {
    let ns = Netns::new("tl");
    let name = format!("krstl{}", std::process::id() % 100000);
    let dir = Dir::new("toplevel");
    let conf = format!(
        "net_namespace {}\ninstance {name}\nchild_wait_time 1\nglobal_defs {{\n    metrics_listen 127.0.0.1:9652\n}}\n{VRRP_ONLY}",
        ns.0
    );
    std::fs::write(dir.path("k.conf"), &conf).unwrap();
    let log = dir.path("stderr.log");
    let mut child = Running(
        Command::new(FAKES)
            .args(["-n", "-l", "-G", "-f", dir.path("k.conf").to_str().unwrap()])
            // Placeholder workers: the test is about the daemon shell, not VRRP; the VRRP one
            // ignores TERM (child_wait_time).
            .args([PLACEHOLDER_WORKERS, "--fake-ignore-term=vrrp"])
            .env("TMPDIR", &dir.0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    let main_pid = format!("/run/keepalived/keepalived_{name}.pid");
    let vrrp_pid = format!("/run/keepalived/vrrp_{name}.pid");
    let read_pid =
        |p: &str| -> Option<i32> { std::fs::read_to_string(p).ok()?.trim().parse().ok() };
    assert!(
        wait_until(T, || read_pid(&main_pid).is_some()
            && read_pid(&vrrp_pid).is_some()),
        "instance-named pidfiles {main_pid}, {vrrp_pid}; log:\n{}",
        log_text()
    );
    let (parent, worker) = (read_pid(&main_pid).unwrap(), read_pid(&vrrp_pid).unwrap());
    assert_eq!(
        parent as u32,
        child.0.id(),
        "{main_pid} holds the daemon's pid"
    );
    let want = std::fs::metadata(format!("/run/netns/{}", ns.0))
        .unwrap()
        .ino();
    for pid in [parent, worker] {
        let got = std::fs::metadata(format!("/proc/{pid}/ns/net"))
            .unwrap()
            .ino();
        assert_eq!(got, want, "pid {pid} not in {}", ns.0);
    }
    // metrics_listen from global_defs, served inside the namespace.
    let mut text = String::new();
    assert!(
        wait_until(T, || {
            text = Command::new("ip")
                .args(["netns", "exec", &ns.0, "curl", "-sS", "--max-time", "2"])
                .arg("http://127.0.0.1:9652/metrics")
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            text.contains("keepalived_worker_up")
        }),
        "metrics in {}: {text}\nlog:\n{}",
        ns.0,
        log_text()
    );
    // child_wait_time 1: the worker ignoring TERM is killed after about 1 s.
    let t0 = Instant::now();
    let st = Command::new("kill")
        .args(["-TERM", &parent.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let mut code = None;
    wait_until(T, || {
        code = child.0.try_wait().unwrap().map(|s| s.code().unwrap_or(-1));
        code.is_some()
    });
    let took = t0.elapsed();
    assert_eq!(code, Some(0), "{}", log_text());
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(
        took < Duration::from_secs(4),
        "killed after child_wait_time 1, not 5 s: {took:?}"
    );
    let l = log_text();
    assert!(l.contains("failed to die - forcing termination"), "{l}");
    assert!(!Path::new(&format!("/proc/{worker}")).exists());
    assert!(!Path::new(&main_pid).exists(), "{main_pid} removed");
    assert!(!Path::new(&vrrp_pid).exists(), "{vrrp_pid} removed");
}
