//! Network-namespace lab: hosts on a bridge, processes inside, cleanup on drop/panic.
//!
//! # How the lab works
//!
//! A [`Lab`] is a small virtual LAN built only from network namespaces that the lab itself
//! creates, so nothing a test does can reach the machine's own interfaces:
//!
//! ```text
//!            namespace "<lab>-br"                    namespace "<lab>-a"
//!   ┌───────────────────────────────────┐        ┌─────────────────────┐
//!   │ br0 (bridge, STP off, no snooping)│        │ lo, eth0 10.0.0.1/24│
//!   │   ├── va0 ═══════ veth pair ══════╪════════╪══ eth0              │
//!   │   └── vb1 ═══════ veth pair ══════╪══╗     └─────────────────────┘
//!   └───────────────────────────────────┘  ║     namespace "<lab>-b"
//!                                          ╚═════ eth0 10.0.0.2/24 ...
//! ```
//!
//! * **Names.** A lab is called `krs-<tag>-<pid>-<n>` (pid and a per-process counter in base 36,
//!   the tag cut so that the whole name has at most 15 characters, so it can also serve as an
//!   interface name). Hosts are namespaces `<lab>-<host>`. Two labs never share a name, even
//!   across test binaries running in parallel, and every interface lives inside a lab namespace
//!   (veth pairs are created directly in the bridge namespace with their peer moved straight into
//!   the host namespace), so interface names never collide either.
//! * **Hosts.** [`Lab::host`] creates the namespace, brings `lo` up, disables IPv6 duplicate
//!   address detection (addresses are usable at once) and plugs `eth0` into the lab bridge `br0`.
//!   [`Lab::segment`] adds more bridges (more LANs) and [`Host::attach`] plugs further interfaces
//!   into them.
//! * **Commands.** Everything runs through `ip netns exec <ns> ...` (which `exec`s the command,
//!   so the pid you get is the command's own): [`Host::run`] / [`Host::sh`] /
//!   [`Host::run_timeout`] run to completion, [`Host::spawn`] starts a background [`Proc`] in its
//!   own process group with stdout/stderr captured to files under the lab's temp directory
//!   (`$TMPDIR/krs-lab/<lab>/`); when a test panics, the lab prints the last lines of each
//!   process's output (libtest shows them with the failure). [`wait_until`] / [`wait_for`] poll
//!   a condition every 10 ms with a timeout.
//!   [`Lab::capture`] starts `tcpdump` (or `dumpcap`/`tshark`) writing a classic pcap file that
//!   [`read_pcap`] parses.
//! * **Cleanup.** Dropping the [`Lab`] — also while a test panics, since drops run during
//!   unwinding — kills every spawned process group *and* every process still inside one of the
//!   lab's namespaces (daemons that `setsid` are found with `ip netns pids`), deletes the
//!   namespaces (which destroys the veths and bridges) and removes the temp directory (kept when
//!   `KRS_LAB_KEEP=1`). A run that was killed outright leaves a marker file
//!   `/run/krs-lab/<lab>.pid` holding the creator's pid and start time: the first `Lab::new` of
//!   every process, and `krs-lab sweep`, remove labs whose creator is dead. Namespaces without a
//!   marker are never touched, so the sweep only ever removes lab namespaces.
//!
//! # Requirements and the CLI
//! Root (CAP_SYS_ADMIN + CAP_NET_ADMIN) and iproute2's `ip`; without them `Lab::new` fails with
//! [`LabError::Prerequisite`] saying what is missing and how to get it.
//! `cargo run -p testlab --bin krs-lab -- check` verifies them (it also creates a probe
//! namespace with a veth pair and a bridge), `... -- list` shows labs and whether their creator
//! runs, `... -- sweep` removes stale ones, `... -- demo [N]` builds an N-host lab, pings and
//! prints timings (2 hosts: ~50 ms to create the lab, ~25-65 ms per host, ~60-200 ms teardown
//! on the 2-core dev machine). Lab tests are `#[ignore = "lab: needs root and network
//! namespaces"]` and named `lab_*`; run them with `-- --include-ignored`.
//!
//! ```no_run
//! use std::time::Duration;
//! use testlab::netns::{wait_until, Lab};
//! # fn main() -> Result<(), testlab::netns::LabError> {
//! let lab = Lab::new("demo")?;
//! let a = lab.host("a")?;
//! let b = lab.host("b")?;
//! a.add_addr("10.0.0.1/24")?;
//! b.add_addr("10.0.0.2/24")?;
//! let srv = b.spawn(&["python3", "-m", "http.server", "-b", "10.0.0.2", "8080"])?;
//! wait_until(Duration::from_secs(5), || srv.output_so_far().contains("Serving"))?;
//! a.sh("busybox wget -q -O - http://10.0.0.2:8080/ >/dev/null")?;
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;

mod lab;
mod pcap;
mod sweep;

pub use lab::Lab;
pub use pcap::{parse_pcap, read_pcap, Packet, Pcap};
use sweep::*;
pub use sweep::{list_labs, list_namespaces, sweep, LabInfo};

/// Prefix of every lab (and so of every lab namespace).
pub const PREFIX: &str = "krs-";
/// Longest lab name (an interface name is at most 15 bytes).
pub const MAX_LAB_NAME: usize = 15;
/// Directory of the marker files `<lab>.pid` (content: `<pid> <starttime>`).
pub const MARKER_DIR: &str = "/run/krs-lab";
/// Where `ip netns` keeps its namespace handles.
pub const NETNS_DIR: &str = "/run/netns";
/// Name of the default bridge (in the bridge namespace) and of a host's first interface.
pub const BRIDGE: &str = "br0";
/// How long a capture tool may take to start (generous: the emulated VM is slow).
const CAPTURE_START: Duration = Duration::from_secs(60);
/// Interface of a host on the default bridge.
pub const HOST_IF: &str = "eth0";

/// Errors of the namespace lab. Command failures carry the command line and its stderr.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabError {
    /// A prerequisite is missing (not root, no `ip`, no netns support...).
    #[error("lab prerequisite missing: {what}; {hint}")]
    Prerequisite {
        /// What is missing.
        what: String,
        /// How to get it.
        hint: String,
    },
    /// A command could not be started.
    #[error("cannot start `{cmd}`: {source}")]
    Spawn {
        /// The command line.
        cmd: String,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// A command exited unsuccessfully.
    #[error("`{cmd}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        cmd: String,
        /// Exit status, as text.
        status: String,
        /// Its stderr (trimmed; stdout when stderr is empty).
        stderr: String,
    },
    /// A file-system operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was attempted.
        op: &'static str,
        /// On which path.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// [`wait_until`] (or a wait with a deadline) ran out of time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// A name or argument is not acceptable.
    #[error("bad argument: {0}")]
    BadArg(String),
    /// Sending a signal failed.
    #[error("signal {signal} to {pid}: {errno}")]
    Signal {
        /// The signal.
        signal: String,
        /// The target pid (negative: process group).
        pid: i32,
        /// The error.
        errno: nix::errno::Errno,
    },
    /// A pcap file is malformed.
    #[error("pcap {path}: {reason}")]
    Pcap {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

fn io_err(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> LabError {
    let path = path.into();
    move |source| LabError::Io { op, path, source }
}

type Result<T, E = LabError> = std::result::Result<T, E>;

// ---------------------------------------------------------------------------------------------
// Names

static COUNTER: AtomicU32 = AtomicU32::new(0);
/// The per-process lab counter wraps here (3 base-36 digits).
const COUNTER_WRAP: u32 = 36 * 36 * 36;

/// Lower-case base 36 (compact pids and counters in names).
pub fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

/// Builds a lab name `krs-<tag>-<pid36>-<n36>` of at most [`MAX_LAB_NAME`] characters. The tag
/// keeps only `[a-z0-9]` (lower-cased) and is cut to fit; an empty tag becomes `x`.
pub fn lab_name(tag: &str, pid: u32, n: u32) -> String {
    // Linux pids are < 2^22 (5 base-36 digits); the counter wraps at 36^3 so that even then
    // the tag keeps one character.
    let pid = base36(u64::from(pid));
    let n = base36(u64::from(n % COUNTER_WRAP));
    let room = MAX_LAB_NAME.saturating_sub(PREFIX.len() + pid.len() + n.len() + 2);
    let mut tag: String = tag
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(room.max(1))
        .collect();
    if tag.is_empty() {
        tag.push('x');
    }
    format!("{PREFIX}{tag}-{pid}-{n}")
}

/// Splits a namespace name into `(lab name, creator pid, host part)` if it has the lab shape
/// `krs-<tag>-<pid36>-<n36>[-<host>]`.
pub fn parse_ns_name(ns: &str) -> Option<(String, u32, Option<String>)> {
    let rest = ns.strip_prefix(PREFIX)?;
    let mut parts = rest.splitn(4, '-');
    let tag = parts.next()?;
    let pid = parts.next()?;
    let n = parts.next()?;
    let host = parts.next().map(str::to_string);
    let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    if !ok(tag) || !ok(pid) || !ok(n) || u32::from_str_radix(n, 36).is_err() {
        return None;
    }
    let pid = u32::from_str_radix(pid, 36).ok()?;
    Some((
        format!("{PREFIX}{tag}-{}-{n}", base36(u64::from(pid))),
        pid,
        host,
    ))
}

fn check_host_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 32
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(LabError::BadArg(format!(
            "host/segment name {name:?}: use 1-32 chars of [A-Za-z0-9_-]"
        )));
    }
    Ok(())
}

fn check_ifname(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 15
        || name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace())
    {
        return Err(LabError::BadArg(format!(
            "interface name {name:?}: 1-15 chars, no '/', ':' or spaces"
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Commands

fn cmd_line(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn status_text(st: &ExitStatus) -> String {
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => st.to_string(),
    }
}

fn spawn_err(cmd: &Command, e: io::Error) -> LabError {
    if e.kind() == io::ErrorKind::NotFound && cmd.get_program() == "ip" {
        LabError::Prerequisite {
            what: "iproute2's `ip` is not installed (or not in PATH)".into(),
            hint: "install it with `apt-get install iproute2`".into(),
        }
    } else {
        LabError::Spawn {
            cmd: cmd_line(cmd),
            source: e,
        }
    }
}

/// Runs a command to completion; Err unless it exits 0 (the error holds its stderr).
fn run_ok(cmd: &mut Command) -> Result<Output> {
    cmd.stdin(Stdio::null());
    let out = cmd.output().map_err(|e| spawn_err(cmd, e))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(command_failed(cmd, &out))
    }
}

fn command_failed(cmd: &Command, out: &Output) -> LabError {
    let mut stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if stderr.is_empty() {
        stderr = String::from_utf8_lossy(&out.stdout).trim().to_string();
    }
    LabError::Command {
        cmd: cmd_line(cmd),
        status: status_text(&out.status),
        stderr,
    }
}

fn ip(args: &[&str]) -> Result<Output> {
    run_ok(Command::new("ip").args(args))
}

fn ns_exec_cmd(ns: &str, argv: &[&str]) -> Result<Command> {
    let Some((prog, args)) = argv.split_first() else {
        return Err(LabError::BadArg("empty command".into()));
    };
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns, prog]).args(args);
    Ok(c)
}

/// Writes sysctls (dotted keys) inside a namespace in one `sh` run: /proc/sys/net follows the
/// netns of the writing process.
fn sysctls_in(ns: &str, kv: &[(&str, &str)]) -> Result<()> {
    let mut script = String::from("set -e");
    for (key, value) in kv {
        let ok = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        };
        if !ok(key) || !ok(value) {
            return Err(LabError::BadArg(format!("sysctl {key}={value}")));
        }
        script.push_str(&format!(
            "; echo {value} > /proc/sys/{}",
            key.replace('.', "/")
        ));
    }
    run_ok(&mut ns_exec_cmd(ns, &["sh", "-c", &script])?)?;
    Ok(())
}

fn sysctl_in(ns: &str, key: &str, value: &str) -> Result<()> {
    sysctls_in(ns, &[(key, value)])
}

// ---------------------------------------------------------------------------------------------
// Prerequisites

/// Checks that the lab can work here: root, `ip`, network-namespace support. `probe` also
/// creates and deletes a throw-away namespace. Returns a list of human-readable findings (all
/// fine) or the first missing prerequisite.
pub fn check_prerequisites(probe: bool) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let euid = nix::unistd::geteuid();
    if !euid.is_root() {
        return Err(LabError::Prerequisite {
            what: format!("not root (euid {euid})"),
            hint: "the lab needs CAP_SYS_ADMIN and CAP_NET_ADMIN: run the tests as root \
                   (e.g. `sudo -E cargo test ... -- --include-ignored`)"
                .into(),
        });
    }
    found.push("running as root".to_string());
    let out = ip(&["-V"])?;
    found.push(format!(
        "ip: {}",
        String::from_utf8_lossy(&out.stdout).trim()
    ));
    if !Path::new("/proc/self/ns/net").exists() {
        return Err(LabError::Prerequisite {
            what: "the kernel has no network namespaces (/proc/self/ns/net missing)".into(),
            hint: "use a kernel with CONFIG_NET_NS=y (any Debian kernel has it)".into(),
        });
    }
    found.push("kernel supports network namespaces".to_string());
    if probe {
        let name = format!("{PREFIX}chk-{}", base36(u64::from(std::process::id())));
        let add = ip(&["netns", "add", &name]).map_err(|e| LabError::Prerequisite {
            what: format!("cannot create a network namespace ({e})"),
            hint: "run as real root outside a restricted container (needs CAP_SYS_ADMIN to \
                   mount /run/netns and CAP_NET_ADMIN)"
                .into(),
        });
        add?;
        let res = (|| -> Result<()> {
            ip(&[
                "-n", &name, "link", "add", "kchk0", "type", "veth", "peer", "kchk1",
            ])?;
            ip(&["-n", &name, "link", "add", "kchkbr", "type", "bridge"])?;
            run_ok(&mut ns_exec_cmd(&name, &["true"])?)?;
            Ok(())
        })();
        let _ = ip(&["netns", "del", &name]);
        res.map_err(|e| LabError::Prerequisite {
            what: format!("namespace probe failed ({e})"),
            hint: "the kernel needs veth and bridge support (modules veth, bridge)".into(),
        })?;
        found.push("created a namespace with a veth pair and a bridge".to_string());
    }
    Ok(found)
}

fn prerequisites_once() -> Result<()> {
    type Checked = Option<std::result::Result<(), (String, String)>>;
    static CHECKED: Mutex<Checked> = Mutex::new(None);
    let mut g = lock(&CHECKED);
    if g.is_none() {
        *g = Some(check_prerequisites(false).map(|_| ()).map_err(|e| match e {
            LabError::Prerequisite { what, hint } => (what, hint),
            e => (e.to_string(), String::new()),
        }));
    }
    match g.as_ref() {
        Some(Err((what, hint))) => Err(LabError::Prerequisite {
            what: what.clone(),
            hint: format!("{hint} (see `cargo run -p testlab --bin krs-lab -- check`)"),
        }),
        _ => Ok(()),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

// ---------------------------------------------------------------------------------------------
// The lab

struct ProcEntry {
    pid: u32,
    child: Arc<Mutex<Child>>,
    cmd: String,
    logs: [PathBuf; 2],
}

struct Shared {
    name: String,
    dir: PathBuf,
    namespaces: Mutex<Vec<String>>,
    hosts: Mutex<BTreeMap<String, Host>>,
    segments: Mutex<Vec<String>>,
    /// Bridge-side ports: (host namespace, host ifname) → (port, segment).
    ports: Mutex<BTreeMap<(String, String), (String, String)>>,
    procs: Mutex<Vec<ProcEntry>>,
    veth_count: AtomicU32,
    proc_count: AtomicU32,
}

// ---------------------------------------------------------------------------------------------
// Hosts

/// A host of a lab: one network namespace. Cheap to clone; valid while its [`Lab`] lives.
#[derive(Clone)]
pub struct Host {
    short: String,
    ns: String,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").field("ns", &self.ns).finish()
    }
}

impl Host {
    /// The namespace name (`<lab>-<host>`).
    pub fn name(&self) -> &str {
        &self.ns
    }

    /// The short host name given to [`Lab::host`].
    pub fn host_name(&self) -> &str {
        &self.short
    }

    /// `/run/netns/<ns>` (for `setns`, e.g. `netplat::netns::in_netns`).
    pub fn netns_path(&self) -> PathBuf {
        Path::new(NETNS_DIR).join(&self.ns)
    }

    /// Plugs a new interface `ifname` of this host into the lab segment (bridge) `segment` and
    /// brings it up.
    pub fn attach(&self, ifname: &str, segment: &str) -> Result<()> {
        check_ifname(ifname)?;
        if !lock(&self.shared.segments).iter().any(|s| s == segment) {
            return Err(LabError::BadArg(format!("no segment {segment}")));
        }
        let brns = format!("{}-br", self.shared.name);
        let n = self.shared.veth_count.fetch_add(1, Ordering::Relaxed);
        let port = format!("p{n}");
        ip(&[
            "-n", &brns, "link", "add", &port, "type", "veth", "peer", "name", ifname, "netns",
            &self.ns,
        ])?;
        ip(&["-n", &brns, "link", "set", &port, "master", segment, "up"])?;
        ip(&["-n", &self.ns, "link", "set", ifname, "up"])?;
        lock(&self.shared.ports).insert(
            (self.ns.clone(), ifname.to_string()),
            (port, segment.to_string()),
        );
        Ok(())
    }

    /// Cuts `ifname` off its segment without touching its carrier: the bridge-side port leaves
    /// the bridge but stays up, so the host sees its link up and hears nothing (a partition,
    /// unlike [`Host::link_down`]). [`Host::rejoin`] plugs it back.
    pub fn isolate(&self, ifname: &str) -> Result<()> {
        let (port, _) = self.port_of(ifname)?;
        let brns = format!("{}-br", self.shared.name);
        ip(&["-n", &brns, "link", "set", &port, "nomaster"]).map(|_| ())
    }

    /// Undoes [`Host::isolate`].
    pub fn rejoin(&self, ifname: &str) -> Result<()> {
        let (port, segment) = self.port_of(ifname)?;
        let brns = format!("{}-br", self.shared.name);
        ip(&["-n", &brns, "link", "set", &port, "master", &segment]).map(|_| ())
    }

    fn port_of(&self, ifname: &str) -> Result<(String, String)> {
        lock(&self.shared.ports)
            .get(&(self.ns.clone(), ifname.to_string()))
            .cloned()
            .ok_or_else(|| {
                LabError::BadArg(format!("{ifname} of {} is not on a segment", self.short))
            })
    }

    /// `ip addr add ADDR dev eth0` (IPv6 with `nodad`: usable at once).
    pub fn add_addr(&self, cidr: &str) -> Result<()> {
        self.add_addr_dev(cidr, HOST_IF)
    }

    /// `ip addr add ADDR dev DEV` (IPv6 with `nodad`).
    pub fn add_addr_dev(&self, cidr: &str, dev: &str) -> Result<()> {
        let mut args = vec!["-n", &self.ns, "addr", "add", cidr, "dev", dev];
        if cidr.contains(':') {
            args.push("nodad");
        }
        ip(&args).map(|_| ())
    }

    /// `ip addr del ADDR dev DEV`.
    pub fn del_addr_dev(&self, cidr: &str, dev: &str) -> Result<()> {
        ip(&["-n", &self.ns, "addr", "del", cidr, "dev", dev]).map(|_| ())
    }

    /// `ip link set DEV down` (fail a link).
    pub fn link_down(&self, dev: &str) -> Result<()> {
        ip(&["-n", &self.ns, "link", "set", dev, "down"]).map(|_| ())
    }

    /// `ip link set DEV up`.
    pub fn link_up(&self, dev: &str) -> Result<()> {
        ip(&["-n", &self.ns, "link", "set", dev, "up"]).map(|_| ())
    }

    /// `ip ARGS...` inside this namespace (`ip -n NS ARGS...`); Err unless it exits 0.
    pub fn ip(&self, args: &[&str]) -> Result<String> {
        let mut a = vec!["-n", self.ns.as_str()];
        a.extend_from_slice(args);
        let out = ip(&a)?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Writes a sysctl inside this namespace (`key` dotted, e.g. `net.ipv4.ip_forward`).
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        sysctl_in(&self.ns, key, value)
    }

    /// The MAC address of `dev` (lower-case `aa:bb:..`).
    pub fn mac(&self, dev: &str) -> Result<String> {
        let out = self.ip(&["-o", "link", "show", "dev", dev])?;
        out.split_whitespace()
            .skip_while(|w| *w != "link/ether")
            .nth(1)
            .map(str::to_string)
            .ok_or_else(|| LabError::BadArg(format!("{dev} has no ethernet address")))
    }

    /// A `Command` that runs `argv` inside this namespace (`ip netns exec NS argv...`), for
    /// callers that need env/cwd/stdin control. Start it with [`Host::spawn_command`] to get
    /// cleanup, or run it yourself.
    pub fn command(&self, argv: &[&str]) -> Result<Command> {
        ns_exec_cmd(&self.ns, argv)
    }

    /// Runs `argv` inside the namespace to completion (stdin from /dev/null) and returns its
    /// output whatever the exit status.
    pub fn run(&self, argv: &[&str]) -> Result<Output> {
        let mut c = self.command(argv)?;
        c.stdin(Stdio::null());
        c.output().map_err(|e| spawn_err(&c, e))
    }

    /// Runs `argv` inside the namespace; Err unless it exits 0; returns stdout.
    pub fn run_ok(&self, argv: &[&str]) -> Result<String> {
        let out = run_ok(&mut self.command(argv)?)?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Like [`Host::run`] but kills the command (its process group) and returns
    /// Err(Timeout) if it has not finished within `timeout`.
    pub fn run_timeout(&self, argv: &[&str], timeout: Duration) -> Result<Output> {
        let p = self.spawn(argv)?;
        match p.wait_timeout(timeout)? {
            Some(status) => Ok(Output {
                status,
                stdout: fs::read(&p.out_path).unwrap_or_default(),
                stderr: fs::read(&p.err_path).unwrap_or_default(),
            }),
            None => {
                p.kill();
                Err(LabError::Timeout(timeout))
            }
        }
    }

    /// `sh -c SCRIPT` inside the namespace; Err (with stderr) unless it exits 0; returns stdout.
    pub fn sh(&self, script: &str) -> Result<String> {
        self.run_ok(&["sh", "-c", script])
    }

    /// Starts `argv` in the background inside the namespace, in its own process group, with
    /// stdout/stderr written to `<lab dir>/<prog>-<n>.out|.err`. The lab kills it on drop.
    pub fn spawn(&self, argv: &[&str]) -> Result<Proc> {
        let c = self.command(argv)?;
        let label = argv
            .first()
            .map(|p| {
                Path::new(p)
                    .file_name()
                    .map_or(*p, |f| f.to_str().unwrap_or("proc"))
            })
            .unwrap_or("proc");
        self.spawn_command(c, label)
    }

    /// Starts `sh -c SCRIPT` like [`Host::spawn`].
    pub fn spawn_sh(&self, script: &str) -> Result<Proc> {
        let c = self.command(&["sh", "-c", script])?;
        self.spawn_command(c, "sh")
    }

    /// Starts a prepared command (see [`Host::command`]) like [`Host::spawn`]; `label` names
    /// the output files. stdin is /dev/null unless the command sets it.
    pub fn spawn_command(&self, mut cmd: Command, label: &str) -> Result<Proc> {
        let n = self.shared.proc_count.fetch_add(1, Ordering::Relaxed);
        let safe: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(32)
            .collect();
        let base = self.shared.dir.join(format!("{}-{safe}-{n}", self.short));
        let out_path = base.with_extension("out");
        let err_path = base.with_extension("err");
        let out = fs::File::create(&out_path).map_err(io_err("create", &out_path))?;
        let err = fs::File::create(&err_path).map_err(io_err("create", &err_path))?;
        cmd.stdout(out).stderr(err).process_group(0);
        let child = cmd.spawn().map_err(|e| spawn_err(&cmd, e))?;
        let pid = child.id();
        let child = Arc::new(Mutex::new(child));
        lock(&self.shared.procs).push(ProcEntry {
            pid,
            child: Arc::clone(&child),
            cmd: cmd_line(&cmd),
            logs: [out_path.clone(), err_path.clone()],
        });
        Ok(Proc {
            pid,
            child,
            cmd: cmd_line(&cmd),
            out_path,
            err_path,
            pcap: None,
        })
    }

    /// Starts a packet capture on `dev` (see [`Lab::capture`]).
    pub fn capture(&self, dev: &str, tag: &str) -> Result<Proc> {
        check_ifname(dev)?;
        let n = self.shared.proc_count.load(Ordering::Relaxed);
        let safe: String = tag
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .take(32)
            .collect();
        let pcap = self
            .shared
            .dir
            .join(format!("{}-{safe}-{n}.pcap", self.short));
        let pcap_s = pcap.to_string_lossy().into_owned();
        let tool = capture_tool().ok_or_else(|| LabError::Prerequisite {
            what: "no packet capture tool (tcpdump, dumpcap or tshark)".into(),
            hint: "apt-get install tcpdump (or tshark)".into(),
        })?;
        let argv: Vec<&str> = match tool {
            "tcpdump" => vec!["tcpdump", "-i", dev, "-n", "-U", "-s", "0", "-w", &pcap_s],
            // -P: classic pcap (not pcapng), so read_pcap can parse it.
            t => vec![t, "-i", dev, "-n", "-q", "-P", "-w", &pcap_s],
        };
        let mut p = self.spawn(&argv)?;
        p.pcap = Some(pcap.clone());
        // Ready when the file has its global header and the tool said it started.
        let ready = wait_until(CAPTURE_START, || {
            let size = fs::metadata(&pcap).map(|m| m.len()).unwrap_or(0);
            let says = p.stderr_so_far();
            size >= 24 && (says.contains("listening on") || says.contains("Capturing on"))
                || p.try_status().is_some()
        });
        if let Some(st) = p.try_status() {
            return Err(LabError::Command {
                cmd: p.cmd.clone(),
                status: status_text(&st),
                stderr: p.stderr_so_far().trim().to_string(),
            });
        }
        ready.map_err(|_| LabError::Command {
            cmd: p.cmd.clone(),
            status: format!("capture did not start within {CAPTURE_START:?}"),
            stderr: p.stderr_so_far().trim().to_string(),
        })?;
        Ok(p)
    }
}

fn in_path(prog: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(prog).is_file()))
        || ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
            .iter()
            .any(|d| Path::new(d).join(prog).is_file())
}

/// The capture tool this machine has: `tcpdump`, `dumpcap` or `tshark`.
pub fn capture_tool() -> Option<&'static str> {
    ["tcpdump", "dumpcap", "tshark"]
        .into_iter()
        .find(|t| in_path(t))
}

// ---------------------------------------------------------------------------------------------
// Processes

/// A background process started inside a lab namespace. Dropping a `Proc` does NOT stop it; the
/// lab kills it on drop (or call [`Proc::kill`] / [`Proc::stop`]).
pub struct Proc {
    pid: u32,
    child: Arc<Mutex<Child>>,
    cmd: String,
    out_path: PathBuf,
    err_path: PathBuf,
    pcap: Option<PathBuf>,
}

impl std::fmt::Debug for Proc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proc")
            .field("pid", &self.pid)
            .field("cmd", &self.cmd)
            .finish()
    }
}

impl Proc {
    /// The process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The command line (`ip netns exec NS ...`).
    pub fn cmd(&self) -> &str {
        &self.cmd
    }

    /// Everything written to stdout so far.
    pub fn stdout_so_far(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.out_path).unwrap_or_default()).into_owned()
    }

    /// Everything written to stderr so far.
    pub fn stderr_so_far(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.err_path).unwrap_or_default()).into_owned()
    }

    /// stdout so far followed by stderr so far.
    pub fn output_so_far(&self) -> String {
        let mut s = self.stdout_so_far();
        s.push_str(&self.stderr_so_far());
        s
    }

    /// Paths of the stdout and stderr files.
    pub fn log_paths(&self) -> (&Path, &Path) {
        (&self.out_path, &self.err_path)
    }

    /// The pcap file of a capture started with [`Lab::capture`].
    pub fn pcap_path(&self) -> Option<&Path> {
        self.pcap.as_deref()
    }

    fn pid_i32(&self) -> Result<i32> {
        i32::try_from(self.pid).map_err(|_| LabError::BadArg(format!("pid {}", self.pid)))
    }

    /// Sends `sig` to the process itself (like `kill -SIG PID`).
    pub fn signal(&self, sig: Signal) -> Result<()> {
        let pid = self.pid_i32()?;
        signal::kill(Pid::from_raw(pid), sig).map_err(|errno| LabError::Signal {
            signal: sig.to_string(),
            pid,
            errno,
        })
    }

    /// Sends `sig` to its whole process group (the process and the children it forked, unless
    /// they started their own session).
    pub fn signal_group(&self, sig: Signal) -> Result<()> {
        let pid = self.pid_i32()?;
        signal::killpg(Pid::from_raw(pid), sig).map_err(|errno| LabError::Signal {
            signal: sig.to_string(),
            pid: -pid,
            errno,
        })
    }

    /// SIGKILLs the process group and reaps the process. Best effort, never fails.
    pub fn kill(&self) {
        let _ = self.signal_group(Signal::SIGCONT);
        let _ = self.signal_group(Signal::SIGKILL);
        let mut c = lock(&self.child);
        let _ = c.kill();
        let _ = c.wait();
    }

    /// Graceful stop: SIGTERM to the process group, wait up to `grace`, then SIGKILL. Returns
    /// the exit status. Use it for captures (so the pcap is flushed) and daemons.
    pub fn stop(&self, grace: Duration) -> Result<ExitStatus> {
        if let Some(st) = self.try_status() {
            return Ok(st);
        }
        let _ = self.signal_group(Signal::SIGTERM);
        let _ = self.signal_group(Signal::SIGCONT);
        if let Some(st) = self.wait_timeout(grace)? {
            return Ok(st);
        }
        self.kill();
        let mut c = lock(&self.child);
        c.wait()
            .map_err(io_err("wait for", PathBuf::from(&self.cmd)))
    }

    /// The exit status if it has exited (non-blocking).
    pub fn try_status(&self) -> Option<ExitStatus> {
        lock(&self.child).try_wait().ok().flatten()
    }

    /// Whether it still runs.
    pub fn is_running(&self) -> bool {
        self.try_status().is_none()
    }

    /// Waits up to `dur` for it to exit: `Some(status)` or `None` if it still runs.
    pub fn wait_timeout(&self, dur: Duration) -> Result<Option<ExitStatus>> {
        let deadline = Instant::now() + dur;
        loop {
            let st = lock(&self.child)
                .try_wait()
                .map_err(io_err("wait for", PathBuf::from(&self.cmd)))?;
            if st.is_some() {
                return Ok(st);
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Waiting

fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Polls `f` every 10 ms until it returns `Some(value)` (Ok(value)) or `timeout` passes
/// (Err(Timeout)).
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Result<T> {
    let mut out = None;
    wait_until(timeout, || {
        out = f();
        out.is_some()
    })?;
    out.ok_or(LabError::Timeout(timeout))
}

/// Polls `cond` every 10 ms until it returns true (Ok) or `timeout` passes (Err(Timeout)).
/// `cond` is always evaluated at least once, and once more at the deadline.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return Ok(());
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(LabError::Timeout(timeout));
        }
        thread::sleep(Duration::from_millis(10).min(deadline - now));
    }
}

#[cfg(test)]
mod tests;
