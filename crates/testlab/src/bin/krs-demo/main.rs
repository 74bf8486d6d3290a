//! `krs-demo`: the self-contained lab demo behind `scripts/demo.sh` (the README's main command).
//!
//! It builds a namespace lab (see `testlab::netns`) on one bridge, 10.99.0.0/24:
//!
//! ```text
//!   director-a 10.99.0.2  keepalived -f examples/demo/director-a.conf (VRRP prio 150 + LVS-DR)
//!   director-b 10.99.0.3  keepalived -f examples/demo/director-b.conf (VRRP prio 100 + LVS-DR)
//!   rs1        10.99.0.11 lvs-realserver start 10.99.0.10 --iface eth0; python3 -m http.server 80
//!   rs2        10.99.0.12 the same
//!   client     10.99.0.100 one HTTP request to the VIP 10.99.0.10 every 40 ms (new connection)
//! ```
//!
//! and runs the scenario: the VIP comes up on director-a and the client is balanced over rs1 and
//! rs2; director-a's link goes down and director-b takes over (the client-visible outage is the
//! largest gap between two successful replies, compared with VRRP's Master_Down_Interval);
//! director-a's link comes back (it preempts); rs1's web server stops and its HTTP_GET check takes
//! it out of the IPVS table. A summary table follows, then the lab is torn down, also on
//! Ctrl-C/SIGTERM at any moment; labs left behind by a killed run are swept at start.
//!
//! IPVS must exist in the running kernel: `scripts/demo.sh` runs this binary inside the project
//! VM (`krs-vm run`) when the host has none.
//!
//! ```text
//! krs-demo [--check] [--live|--plain] [--keepalived PATH] [--lvs-realserver PATH] [--conf-dir DIR]
//!          [--director-cmd 'SHELL TEMPLATE']
//! ```
//! `--check` (alias `--non-interactive`): plain output, and the machine-readable lines
//! `RESULT <check> pass|fail <detail>` plus `RESULT summary passed=N failed=M`; exit status 1 when
//! a check fails (2 when the lab cannot be built, 128 + the signal when interrupted: 130 for
//! Ctrl-C, 143 for SIGTERM). The `keepalived` used is
//! `--keepalived`, else `$KRS_DEMO_KEEPALIVED`, else the `keepalived` next to this binary.
//! `--director-cmd` (or `$KRS_DEMO_DIRECTOR_CMD`), for development only, replaces the whole
//! keepalived command on the directors by a shell template (`{bin}` = this binary's directory,
//! `{conf}`, `{dir}` = the lab temp dir, `{name}`), e.g.
//! `'{bin}/krs-vrrpd -f {conf} & exec {bin}/krs-lvsd -f {conf}'`.
//! (Internal: `krs-demo client VIP PORT INTERVAL_MS` is the client loop run inside the client
//! namespace.)

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::Signal;
use testlab::netns::{self, Host, Lab, LabError, Proc};

mod scenario;
mod setup;

const VIP: &str = "10.99.0.10";
const PORT: u16 = 80;
const PREFIX: &str = "/24";
/// Client request period.
const CLIENT_INTERVAL_MS: u64 = 40;
/// (lab host, display name, address) of the machines.
const DIRECTORS: [(&str, &str, &str); 2] = [
    ("da", "director-a", "10.99.0.2"),
    ("db", "director-b", "10.99.0.3"),
];
const REALSERVERS: [(&str, &str); 2] = [("rs1", "10.99.0.11"), ("rs2", "10.99.0.12")];
const CLIENT: (&str, &str) = ("client", "10.99.0.100");

#[derive(Debug, thiserror::Error)]
enum DemoError {
    #[error("{0}")]
    Lab(#[from] LabError),
    #[error("interrupted")]
    Interrupted,
    #[error("{0}")]
    Setup(String),
}

type Result<T, E = DemoError> = std::result::Result<T, E>;

struct Opts {
    live: bool,
    /// Shell template replacing the keepalived command on the directors (development):
    /// `{bin}` = this binary's directory, `{conf}`, `{dir}` = the lab temp dir, `{name}`.
    director_cmd: Option<String>,
    keepalived: PathBuf,
    realserver: PathBuf,
    conf_dir: PathBuf,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("client") {
        return client_main(&args[1..]);
    }
    // INT/TERM/HUP only set a flag the scenario polls, so teardown always runs. (Handlers, not a
    // blocked mask: children inherit a signal mask, and keepalived must see our SIGTERM.)
    let stop = Arc::new(AtomicI32::new(0));
    if let Err(e) = catch_signals(Arc::clone(&stop)) {
        eprintln!("krs-demo: cannot install signal handlers: {e}");
        return ExitCode::from(2);
    }
    let opts = match parse_args(&args) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("krs-demo: {msg}");
            return ExitCode::from(2);
        }
    };
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!(
            "krs-demo: must run as root (it creates network namespaces): sudo {}",
            std::env::args().collect::<Vec<_>>().join(" ")
        );
        return ExitCode::from(2);
    }
    if !Path::new("/proc/net/ip_vs").exists() {
        let _ = std::process::Command::new("modprobe").arg("ip_vs").status();
        if !Path::new("/proc/net/ip_vs").exists() {
            eprintln!("krs-demo: this kernel has no IPVS (/proc/net/ip_vs missing, modprobe ip_vs failed); run scripts/demo.sh, which starts the demo inside the project VM");
            return ExitCode::from(2);
        }
    }
    let mut demo = Demo::new(opts, stop);
    let outcome = demo.run();
    demo.finish(outcome)
}

/// Installs INT/TERM/HUP handlers (tokio's, on a helper thread) that store the signal number in
/// `stop`; returns once they are installed.
fn catch_signals(stop: Arc<AtomicI32>) -> std::result::Result<(), String> {
    use tokio::signal::unix::{signal, SignalKind};
    let (tx, rx) = std::sync::mpsc::channel::<std::result::Result<(), String>>();
    std::thread::spawn(move || {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                let _ = tx.send(Err(e.to_string()));
                return;
            }
        };
        rt.block_on(async move {
            let (mut int, mut term, mut hup) = match (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
                signal(SignalKind::hangup()),
            ) {
                (Ok(i), Ok(t), Ok(h)) => (i, t, h),
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                    let _ = tx.send(Err(e.to_string()));
                    return;
                }
            };
            let _ = tx.send(Ok(()));
            loop {
                let (num, name) = tokio::select! {
                    _ = int.recv() => (2, "SIGINT"),
                    _ = term.recv() => (15, "SIGTERM"),
                    _ = hup.recv() => (1, "SIGHUP"),
                };
                eprintln!("\nkrs-demo: {name}: stopping and tearing the lab down...");
                stop.store(num, Ordering::SeqCst);
            }
        });
    });
    rx.recv().map_err(|e| e.to_string())?
}

fn usage() -> &'static str {
    "usage: krs-demo [--check|--non-interactive] [--live|--plain] [--keepalived PATH] [--lvs-realserver PATH] [--conf-dir DIR] [--director-cmd TEMPLATE]"
}

fn parse_args(args: &[String]) -> std::result::Result<Opts, String> {
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    let mut check = false;
    let mut live = std::io::stdout().is_terminal();
    let mut keepalived = std::env::var_os("KRS_DEMO_KEEPALIVED")
        .map(PathBuf::from)
        .unwrap_or_else(|| exe_dir.join("keepalived"));
    let mut realserver = exe_dir.join("lvs-realserver");
    let mut conf_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo");
    let mut director_cmd = std::env::var("KRS_DEMO_DIRECTOR_CMD").ok();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--check" | "--non-interactive" => check = true,
            "--live" => live = true,
            "--plain" => live = false,
            "--keepalived" => keepalived = it.next().ok_or("--keepalived needs a path")?.into(),
            "--lvs-realserver" => {
                realserver = it.next().ok_or("--lvs-realserver needs a path")?.into();
            }
            "--conf-dir" => conf_dir = it.next().ok_or("--conf-dir needs a path")?.into(),
            "--director-cmd" => {
                let t = it.next().ok_or("--director-cmd needs a shell template")?;
                director_cmd = Some(t.clone());
            }
            "-h" | "--help" => return Err(usage().into()),
            other => return Err(format!("unknown argument {other}\n{}", usage())),
        }
    }
    if check {
        live = false;
    }
    for (what, p) in [("keepalived", &keepalived), ("lvs-realserver", &realserver)] {
        if !p.exists() {
            return Err(format!(
                "{what} binary {} not found (build it: cargo build -p {what})",
                p.display()
            ));
        }
    }
    let conf_dir = conf_dir
        .canonicalize()
        .map_err(|e| format!("configuration directory {}: {e}", conf_dir.display()))?;
    let director_cmd = director_cmd.map(|t| t.replace("{bin}", &exe_dir.to_string_lossy()));
    Ok(Opts {
        director_cmd,
        live,
        keepalived,
        realserver,
        conf_dir,
    })
}

// ---------------------------------------------------------------------------------------------
// The client loop (runs inside the client namespace).

fn client_main(args: &[String]) -> ExitCode {
    let (Some(vip), Some(port), Some(ival)) = (args.first(), args.get(1), args.get(2)) else {
        eprintln!("usage: krs-demo client VIP PORT INTERVAL_MS");
        return ExitCode::from(2);
    };
    let (Ok(ip), Ok(port), Ok(ival)) = (
        vip.parse::<std::net::IpAddr>(),
        port.parse::<u16>(),
        ival.parse::<u64>(),
    ) else {
        eprintln!("krs-demo client: bad arguments");
        return ExitCode::from(2);
    };
    let addr = SocketAddr::new(ip, port);
    let mut out = std::io::stdout();
    loop {
        let start = Instant::now();
        let line = match request(addr) {
            Ok(server) => format!("{} ok {server}\n", now_ms()),
            Err(e) => format!("{} fail {e}\n", now_ms()),
        };
        if out
            .write_all(line.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            return ExitCode::from(1);
        }
        let spent = start.elapsed();
        let period = Duration::from_millis(ival);
        if spent < period {
            std::thread::sleep(period - spent);
        }
    }
}

/// One HTTP/1.0 GET on a new connection; returns the server named in the page.
fn request(addr: SocketAddr) -> std::result::Result<String, String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(250))
        .map_err(|e| format!("connect: {}", e.kind()))?;
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(Duration::from_millis(500)))
        .map_err(|e| e.to_string())?;
    s.write_all(format!("GET / HTTP/1.0\r\nHost: {}\r\n\r\n", addr.ip()).as_bytes())
        .map_err(|e| format!("send: {}", e.kind()))?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)
        .map_err(|e| format!("read: {}", e.kind()))?;
    let text = String::from_utf8_lossy(&buf);
    if !text.starts_with("HTTP/1.") || !text.contains(" 200 ") {
        return Err("bad reply".into());
    }
    text.split("served by ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .map(str::to_string)
        .ok_or_else(|| "reply names no server".into())
}

// ---------------------------------------------------------------------------------------------
// The scenario.

#[derive(Debug, Clone, Copy)]
struct Sample {
    t: u64,
    server: Option<usize>,
}

#[derive(Default, Clone, PartialEq)]
struct Snapshot {
    holders: Vec<usize>,
    links: [bool; 2],
    table: Vec<(String, String)>,
    table_of: Option<usize>,
}

struct CheckResult {
    name: &'static str,
    pass: bool,
    detail: String,
}

struct Demo {
    opts: Opts,
    stop: Arc<AtomicI32>,
    t0: Instant,
    lab: Option<Lab>,
    lab_name: String,
    directors: Vec<Host>,
    rs: Vec<Host>,
    web: Vec<Option<Proc>>,
    daemons: Vec<Proc>,
    client: Option<Proc>,
    client_off: u64,
    samples: Vec<Sample>,
    phase: String,
    snap: Snapshot,
    events: VecDeque<String>,
    last_render: Option<Instant>,
    drawn_lines: usize,
    checks: Vec<CheckResult>,
    /// Advert interval and backup priority read from director-b's configuration.
    mdi_ms: u64,
}

impl Demo {
    fn new(opts: Opts, stop: Arc<AtomicI32>) -> Demo {
        Demo {
            opts,
            stop,
            t0: Instant::now(),
            lab: None,
            lab_name: String::new(),
            directors: Vec::new(),
            rs: Vec::new(),
            web: Vec::new(),
            daemons: Vec::new(),
            client: None,
            client_off: 0,
            samples: Vec::new(),
            phase: "setup".into(),
            snap: Snapshot::default(),
            events: VecDeque::new(),
            last_render: None,
            drawn_lines: 0,
            checks: Vec::new(),
            mdi_ms: 0,
        }
    }

    fn elapsed(&self) -> String {
        format!("{:6.1}s", self.t0.elapsed().as_secs_f64())
    }

    /// Logs an event: printed at once in plain mode, kept in the block in live mode.
    fn event(&mut self, msg: impl Into<String>) {
        let line = format!("{} {}", self.elapsed(), msg.into());
        if self.opts.live {
            self.events.push_back(line);
            while self.events.len() > 12 {
                self.events.pop_front();
            }
            self.render(true);
        } else {
            println!("{line}");
        }
    }

    fn interrupted(&self) -> Result<()> {
        if self.stop.load(Ordering::SeqCst) != 0 {
            Err(DemoError::Interrupted)
        } else {
            Ok(())
        }
    }

    fn check(&mut self, name: &'static str, pass: bool, detail: String) {
        self.event(format!(
            "check {name}: {} ({detail})",
            if pass { "PASS" } else { "FAIL" }
        ));
        self.checks.push(CheckResult { name, pass, detail });
    }

    fn run(&mut self) -> Result<()> {
        let removed = netns::sweep(false)?;
        if !removed.is_empty() {
            self.event(format!(
                "removed a previous lab left behind: {}",
                removed.join(" ")
            ));
        }
        self.mdi_ms = master_down_interval_ms(&self.opts.conf_dir.join("director-b.conf"))?;
        self.event(format!(
            "directors run: {} | lvs-realserver: {} | configs: {}",
            self.opts.director_cmd.clone().unwrap_or_else(|| self
                .opts
                .keepalived
                .display()
                .to_string()),
            self.opts.realserver.display(),
            self.opts.conf_dir.display()
        ));
        if std::env::var_os("KRS_IN_VM").is_some() {
            self.event("running inside the project VM (the host kernel has no IPVS)");
        }
        self.build()?;
        self.scenario()
    }

    /// Polls the lab state (VIP holders, IPVS table, client replies) and refreshes the display.
    fn poll(&mut self) {
        let mut snap = Snapshot::default();
        for (i, d) in self.directors.iter().enumerate() {
            // One `ip -n NS -br addr` gives the link state and the addresses:
            // "eth0@if7  UP  10.99.0.2/24 10.99.0.10/24".
            let out = d
                .ip(&["-4", "-br", "addr", "show", "dev", "eth0"])
                .unwrap_or_default();
            let f: Vec<&str> = out.split_whitespace().collect();
            snap.links[i] = f.get(1) == Some(&"UP");
            if f.iter().skip(2).any(|a| a.split('/').next() == Some(VIP)) {
                snap.holders.push(i);
            }
        }
        let table_host = snap
            .holders
            .iter()
            .copied()
            .find(|&i| snap.links[i])
            .or_else(|| snap.holders.first().copied());
        if let Some(i) = table_host {
            snap.table_of = Some(i);
            snap.table = ipvs_table(&self.directors[i]);
        }
        // Client replies.
        if let Some(c) = &self.client {
            let (path, _) = c.log_paths();
            if let Ok(mut f) = std::fs::File::open(path) {
                use std::io::{Seek as _, SeekFrom};
                let mut buf = String::new();
                if f.seek(SeekFrom::Start(self.client_off)).is_ok()
                    && f.read_to_string(&mut buf).is_ok()
                {
                    // Only complete lines.
                    let upto = buf.rfind('\n').map_or(0, |p| p + 1);
                    for line in buf[..upto].lines() {
                        let mut w = line.split_whitespace();
                        let (Some(t), Some(kind)) =
                            (w.next().and_then(|t| t.parse().ok()), w.next())
                        else {
                            continue;
                        };
                        let server = if kind == "ok" {
                            w.next()
                                .and_then(|s| REALSERVERS.iter().position(|r| r.0 == s))
                        } else {
                            None
                        };
                        self.samples.push(Sample { t, server });
                    }
                    self.client_off += upto as u64;
                }
            }
        }
        if snap != self.snap {
            let old = std::mem::replace(&mut self.snap, snap);
            let new = self.snap.clone();
            if old.holders != new.holders {
                self.event(format!("VIP {VIP} now on: {}", holders_text(&new.holders)));
            }
            if old.links != new.links {
                self.event(format!(
                    "links: director-a eth0 {}, director-b eth0 {}",
                    updown(new.links[0]),
                    updown(new.links[1])
                ));
            }
            if old.table != new.table || old.table_of != new.table_of {
                self.event(format!(
                    "IPVS table on {}: {}",
                    new.table_of.map_or("-", |i| DIRECTORS[i].1),
                    table_text(&new.table)
                ));
            }
        }
        self.render(false);
    }

    fn answers_since(&self, since: u64) -> (BTreeMap<&'static str, usize>, usize) {
        let mut m = BTreeMap::new();
        let mut fails = 0;
        for s in self.samples.iter().filter(|s| s.t >= since) {
            match s.server {
                Some(i) => *m.entry(REALSERVERS[i].0).or_insert(0) += 1,
                None => fails += 1,
            }
        }
        (m, fails)
    }

    fn status_lines(&self) -> Vec<String> {
        let (m, fails) = self.answers_since(now_ms().saturating_sub(2000));
        let mut answers: String = m.iter().map(|(k, v)| format!("{k} {v}  ")).collect();
        let _ = write!(answers, "failed {fails}");
        let mut lines = vec![
            format!(
                "── keepalived-rs lab demo ── {} ── {}",
                self.elapsed().trim(),
                self.phase
            ),
            format!(
                "VIP {VIP:<12} holder: {:<22} links: director-a {} director-b {}",
                holders_text(&self.snap.holders),
                updown(self.snap.links[0]),
                updown(self.snap.links[1])
            ),
            format!(
                "IPVS on {:<10}   TCP {VIP}:{PORT} rr",
                self.snap.table_of.map_or("-", |i| DIRECTORS[i].1)
            ),
        ];
        if self.snap.table.is_empty() {
            lines.push("    (no service / no real server)".into());
        }
        for (rs, w) in &self.snap.table {
            lines.push(format!("    -> {rs:<18} Route  weight {w}"));
        }
        lines.push(format!("client replies, last 2 s: {answers}"));
        lines
    }

    fn render(&mut self, force: bool) {
        let now = Instant::now();
        if self.opts.live {
            if !force
                && self
                    .last_render
                    .is_some_and(|t| now.duration_since(t) < Duration::from_millis(200))
            {
                return;
            }
            // Auto-wrap off while drawing: long lines are clipped by the terminal, so the
            // cursor-up count below stays right whatever the terminal width.
            let mut out = String::from("\x1b[?7l");
            if self.drawn_lines > 0 {
                let _ = write!(out, "\x1b[{}A\x1b[J", self.drawn_lines);
            }
            let mut lines = self.status_lines();
            lines.push("── events".into());
            lines.extend(self.events.iter().cloned());
            for l in &lines {
                out.push_str(l);
                out.push('\n');
            }
            out.push_str("\x1b[?7h");
            self.drawn_lines = lines.len();
            print!("{out}");
            let _ = std::io::stdout().flush();
            self.last_render = Some(now);
        } else if !force
            && self.client.is_some()
            && self
                .last_render
                .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1))
        {
            let (m, fails) = self.answers_since(now_ms().saturating_sub(1000));
            let answers: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!(
                "{} status: vip={} ipvs[{}]={} replies(1s): {} fail={fails}",
                self.elapsed(),
                holders_text(&self.snap.holders),
                self.snap.table_of.map_or("-", |i| DIRECTORS[i].1),
                table_text(&self.snap.table),
                answers.join(" ")
            );
            self.last_render = Some(now);
        }
    }

    /// Polls until `cond` holds (Ok(true)) or `timeout` passes (Ok(false)).
    fn wait_cond(
        &mut self,
        timeout: Duration,
        mut cond: impl FnMut(&Demo) -> bool,
    ) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        loop {
            self.interrupted()?;
            self.poll();
            if cond(self) {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Like `wait_cond` for setup steps: a timeout is an error naming `what`.
    fn wait(
        &mut self,
        timeout: Duration,
        what: &str,
        mut cond: impl FnMut(&Demo) -> bool,
    ) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            self.interrupted()?;
            if cond(self) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(DemoError::Setup(format!(
                    "timed out after {timeout:?} waiting for {what}"
                )));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn observe(&mut self, dur: Duration) -> Result<()> {
        self.wait_cond(dur, |_| false).map(|_| ())
    }
}

fn updown(up: bool) -> &'static str {
    if up {
        "UP"
    } else {
        "DOWN"
    }
}

fn holders_text(h: &[usize]) -> String {
    match h {
        [] => "nobody".into(),
        [i] => DIRECTORS[*i].1.into(),
        _ => format!(
            "BOTH ({})",
            h.iter()
                .map(|&i| DIRECTORS[i].1)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn table_text(t: &[(String, String)]) -> String {
    if t.is_empty() {
        return "[]".into();
    }
    let names: Vec<String> = t
        .iter()
        .map(|(a, w)| {
            let n = REALSERVERS
                .iter()
                .find(|r| a.starts_with(&format!("{}:", r.1)))
                .map_or(a.as_str(), |r| r.0);
            format!("{n} w{w}")
        })
        .collect();
    format!("[{}]", names.join(", "))
}

/// Real servers of the VIP service in `ipvsadm -Ln` of `h`: (addr:port, weight).
fn ipvs_table(h: &Host) -> Vec<(String, String)> {
    let Ok(out) = h.run(&["ipvsadm", "-Ln"]) else {
        return Vec::new();
    };
    parse_ipvs(&String::from_utf8_lossy(&out.stdout))
}

/// The real servers of the VIP service in `ipvsadm -Ln` output: (addr:port, weight).
fn parse_ipvs(text: &str) -> Vec<(String, String)> {
    let mut in_svc = false;
    let mut rows = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if line.starts_with("TCP") || line.starts_with("UDP") || line.starts_with("FWM") {
            in_svc = f.get(1) == Some(&format!("{VIP}:{PORT}").as_str());
        } else if in_svc && f.first() == Some(&"->") && f.get(1) != Some(&"RemoteAddress:Port") {
            if let (Some(a), Some(w)) = (f.get(1), f.get(3)) {
                rows.push(((*a).to_string(), (*w).to_string()));
            }
        }
    }
    rows
}

/// Largest gap (ms) between consecutive successful replies, over the successes from the last
/// one before `from` to the last one before `to`, with the time of the reply that ended it.
fn largest_gap(samples: &[Sample], from: u64, to: u64) -> Option<(u64, u64)> {
    let ok: Vec<u64> = samples
        .iter()
        .filter(|s| s.server.is_some())
        .map(|s| s.t)
        .collect();
    let start = ok.iter().rposition(|&t| t < from)?;
    let win: Vec<u64> = ok[start..].iter().copied().filter(|&t| t <= to).collect();
    win.windows(2)
        .map(|w| (w[1].saturating_sub(w[0]), w[1]))
        .max_by_key(|&(gap, _)| gap)
}

/// Master_Down_Interval (RFC 3768/5798) of the backup: 3 × advert_int + skew, skew =
/// (256 − priority) × advert_int / 256, read from its configuration.
fn master_down_interval_ms(conf: &Path) -> Result<u64> {
    let text = std::fs::read_to_string(conf)
        .map_err(|e| DemoError::Setup(format!("{}: {e}", conf.display())))?;
    let value = |key: &str| -> Option<f64> {
        text.lines()
            .map(|l| {
                l.split('!')
                    .next()
                    .unwrap_or("")
                    .split('#')
                    .next()
                    .unwrap_or("")
            })
            .find_map(|l| {
                let mut w = l.split_whitespace();
                (w.next() == Some(key))
                    .then(|| w.next().and_then(|v| v.parse().ok()))
                    .flatten()
            })
    };
    let advert = value("advert_int").unwrap_or(1.0);
    let prio = value("priority").unwrap_or(100.0);
    let ms = 3.0 * advert * 1000.0 + (256.0 - prio) * advert * 1000.0 / 256.0;
    Ok(ms.round() as u64)
}

/// What remains of the lab `name` after teardown: namespaces, processes, marker, temp dir.
fn leftovers(name: &str) -> Vec<String> {
    let mut left = Vec::new();
    let nss: Vec<String> = netns::list_namespaces()
        .into_iter()
        .filter(|n| n.starts_with(name))
        .collect();
    if !nss.is_empty() {
        left.push(format!("namespaces {}", nss.join(" ")));
    }
    let me = std::process::id();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.filter_map(|e| e.ok()) {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if pid == me {
                continue;
            }
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(name) {
                left.push(format!("process {pid}: {}", cmd.trim()));
            }
        }
    }
    let marker = Path::new(netns::MARKER_DIR).join(format!("{name}.pid"));
    if marker.exists() {
        left.push(format!("marker {}", marker.display()));
    }
    let tmp = std::env::temp_dir().join("krs-lab").join(name);
    if tmp.exists() {
        left.push(format!("temp dir {}", tmp.display()));
    }
    left
}

#[cfg(test)]
mod tests;
