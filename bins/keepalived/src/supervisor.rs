//! The parent process: starts the workers the configuration needs, respawns them with
//! keepalived's back-off, removes a dead VRRP worker's VIPs at once, handles TERM/INT (stop),
//! HUP (check the new configuration, then forward), USR1/USR2/JSON/STATS_CLEAR dumps, and
//! talks to systemd.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::{mpsc, oneshot};

use crate::cli::{self, Cli};
use crate::config::{self, LoadError, Loaded};
use crate::control::{encode, HeldVip, ToParent, ToWorker};
use crate::metrics::{ParentMetrics, WorkerInfo, WorkerMetrics};
use crate::pidfile::PidPaths;
use crate::seams::Seams;
use crate::signals::{recv, DaemonSignals};
use crate::worker::WorkerKind;
use crate::{alert, dump, error, exit, info, notify, vip, warning};

/// Environment variable naming the parent's pid for a worker (a worker whose parent changed
/// before it started exits at once).
pub const PARENT_PID_ENV: &str = "KEEPALIVED_RS_PARENT_PID";

/// The binary to re-execute for a worker. After a package upgrade replaced it, the link reads
/// `PATH (deleted)`: like keepalived, use the new file at PATH; failing that, the old image
/// through /proc/self/exe.
pub fn self_exe() -> std::path::PathBuf {
    match std::env::current_exe() {
        Ok(p) => {
            let s = p.to_string_lossy();
            match s.strip_suffix(" (deleted)") {
                Some(orig) if std::path::Path::new(orig).exists() => orig.into(),
                Some(_) => "/proc/self/exe".into(),
                None => p,
            }
        }
        Err(_) => "/proc/self/exe".into(),
    }
}

/// keepalived's `calc_restart_delay`: a worker that ran more than 60 s restarts at once;
/// otherwise the delay is the previous "next" delay (0 the first time), and the next one
/// becomes 1, then doubles, capped at 60 s. Returns the delay in seconds.
pub fn calc_restart_delay(ran_for: Duration, next_delay: &mut u64) -> u64 {
    if ran_for >= Duration::from_secs(60) {
        *next_delay = 0;
        return 0;
    }
    let delay = *next_delay;
    *next_delay = if delay == 0 {
        1
    } else if delay > 30 {
        60
    } else {
        delay * 2
    };
    delay
}

/// A worker's link as seen from the parent: send control messages, await metrics answers.
#[derive(Debug)]
pub struct WorkerLink {
    writer: tokio::sync::Mutex<OwnedWriteHalf>,
    pending: Mutex<BTreeMap<u64, oneshot::Sender<WorkerMetrics>>>,
    next_id: Mutex<u64>,
}

impl WorkerLink {
    async fn send(&self, msg: &ToWorker) -> bool {
        let mut w = self.writer.lock().await;
        w.write_all(&encode(msg)).await.is_ok()
    }

    /// Ask the worker for a metrics snapshot (None on timeout or a dead worker).
    pub async fn metrics(&self, timeout: Duration) -> Option<WorkerMetrics> {
        let id = {
            let mut n = self.next_id.lock().ok()?;
            *n += 1;
            *n
        };
        let (tx, rx) = oneshot::channel();
        self.pending.lock().ok()?.insert(id, tx);
        if !self.send(&ToWorker::MetricsRequest { id }).await {
            return None;
        }
        let r = tokio::time::timeout(timeout, rx).await.ok()?.ok();
        if let Ok(mut p) = self.pending.lock() {
            p.remove(&id);
        }
        r
    }
}

/// State shared with the HTTP endpoint.
#[derive(Debug, Default)]
pub struct Shared {
    /// Parent view.
    pub parent: ParentMetrics,
    /// Live worker links.
    pub links: BTreeMap<String, Arc<WorkerLink>>,
}

/// Handle on the shared state.
pub type SharedRef = Arc<Mutex<Shared>>;

#[derive(Debug)]
enum Ev {
    Msg(WorkerKind, u32, ToParent),
    Exited(WorkerKind, u32, ExitStatus),
}

#[derive(Debug)]
struct Slot {
    kind: WorkerKind,
    pid: Option<u32>,
    started: Instant,
    started_unix: u64,
    next_delay: u64,
    restarts: u64,
    respawn_at: Option<Instant>,
    held_vips: Vec<HeldVip>,
    link: Option<Arc<WorkerLink>>,
    reloading: bool,
    awaiting_ready: bool,
}

impl Slot {
    fn new(kind: WorkerKind) -> Slot {
        Slot {
            kind,
            pid: None,
            started: Instant::now(),
            started_unix: 0,
            next_delay: 0,
            restarts: 0,
            respawn_at: None,
            held_vips: Vec::new(),
            link: None,
            reloading: false,
            awaiting_ready: false,
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The parent supervisor.
pub struct Supervisor {
    cli: Cli,
    /// How a worker is started (this program again, or a test's).
    seams: Arc<dyn Seams>,
    args: Vec<OsString>,
    loaded: Loaded,
    paths: PidPaths,
    slots: BTreeMap<WorkerKind, Slot>,
    ev_tx: mpsc::UnboundedSender<Ev>,
    ev_rx: mpsc::UnboundedReceiver<Ev>,
    shared: SharedRef,
    sent_ready: bool,
    reload_queued: bool,
    reload_started: Option<Instant>,
    stopping: bool,
    /// BFD sessions as the BFD worker last reported them: (up, for VRRP, for the checker).
    bfd_states: BTreeMap<String, (bool, bool, bool)>,
    /// The BFD states must be relayed to the VRRP and checker workers.
    bfd_dirty: bool,
    /// `reload_time_file`: the scheduled reload.
    reload_mon: crate::reload_monitor::ReloadMonitor,
    /// `config_save_dir` once set (kept when a reload drops it, as keepalived) and the number
    /// of the next saved copy.
    save_dir: Option<std::path::PathBuf>,
    save_num: u32,
    /// `tmp_config_directory`: the consolidated copy of the configuration in an unnamed file
    /// there (keepalived's `conf_copy` on disk instead of a memfd).
    tmp_copy: Option<std::fs::File>,
}

impl Supervisor {
    /// A supervisor for an accepted configuration. `args` is our command line (re-used for
    /// the workers).
    pub fn new(
        cli: Cli,
        args: Vec<OsString>,
        loaded: Loaded,
        paths: PidPaths,
        seams: Arc<dyn Seams>,
    ) -> Supervisor {
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Mutex::new(Shared {
            parent: ParentMetrics {
                pid: std::process::id(),
                start_time: unix_now(),
                config_file: loaded.file.display().to_string(),
                last_reload_success: unix_now(),
                config_warnings: loaded.warnings().count() as u64,
                config_notes: crate::metrics::ConfigNote::from_diagnostics(loaded.notes()),
                events: vec![crate::metrics::EventInfo {
                    at: crate::metrics::now(),
                    kind: "config".into(),
                    text: format!(
                        "configuration loaded: {} warning(s), {} note(s)",
                        loaded.warnings().count(),
                        loaded.notes().count()
                    ),
                }],
                ..Default::default()
            },
            links: BTreeMap::new(),
        }));
        Supervisor {
            cli,
            seams,
            args,
            loaded,
            paths,
            slots: BTreeMap::new(),
            ev_tx,
            ev_rx,
            shared,
            sent_ready: false,
            reload_queued: false,
            reload_started: None,
            stopping: false,
            bfd_states: BTreeMap::new(),
            bfd_dirty: false,
            reload_mon: Default::default(),
            save_dir: None,
            save_num: 0,
            tmp_copy: None,
        }
    }

    /// The state the HTTP endpoint reads.
    pub fn shared(&self) -> SharedRef {
        self.shared.clone()
    }

    /// keepalived's running_vrrp()/running_checker() with -P/-C/--all.
    fn wanted(&self, kind: WorkerKind) -> bool {
        match kind {
            WorkerKind::Vrrp => !self.cli.check_only && (self.cli.all || self.loaded.has_vrrp()),
            WorkerKind::Checker => {
                !self.cli.vrrp_only && (self.cli.all || self.loaded.has_checker())
            }
            // keepalived's running_bfd(): not with -B; otherwise when bfd_instances exist.
            WorkerKind::Bfd => {
                !self.cli.no_bfd && (self.cli.all || !self.loaded.config().bfd_instances.is_empty())
            }
        }
    }

    fn publish(&self) {
        let Ok(mut sh) = self.shared.lock() else {
            return;
        };
        sh.parent.workers = self
            .slots
            .values()
            .map(|s| WorkerInfo {
                worker: s.kind.name().to_string(),
                up: s.pid.is_some(),
                pid: s.pid.unwrap_or(0),
                restarts: s.restarts,
                started_at: s.started_unix,
            })
            .collect();
        sh.links = self
            .slots
            .values()
            .filter_map(|s| s.link.clone().map(|l| (s.kind.name().to_string(), l)))
            .collect();
    }

    fn start_worker(&mut self, kind: WorkerKind) {
        let slot = self.slots.entry(kind).or_insert_with(|| Slot::new(kind));
        slot.respawn_at = None;
        let (parent_end, child_end) = match std::os::unix::net::UnixStream::pair() {
            Ok(p) => p,
            Err(e) => {
                error!("{} child process: socketpair error({e})", kind.title());
                return;
            }
        };
        let mut cmd = tokio::process::Command::from(self.seams.command());
        cmd.arg0(
            self.args
                .first()
                .cloned()
                .unwrap_or_else(|| "keepalived".into()),
        )
        .args(self.args.iter().skip(1))
        .arg("--worker")
        .arg(kind.name())
        .env(PARENT_PID_ENV, std::process::id().to_string())
        .env_remove(notify::NOTIFY_SOCKET)
        .stdin(Stdio::from(OwnedFd::from(child_end)))
        .kill_on_drop(false);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                error!("{} child process: fork error({e})", kind.title());
                return;
            }
        };
        let pid = child.id().unwrap_or(0);
        let _ = parent_end.set_nonblocking(true);
        let link = match tokio::net::UnixStream::from_std(parent_end) {
            Ok(stream) => {
                let (rd, wr) = stream.into_split();
                let link = Arc::new(WorkerLink {
                    writer: tokio::sync::Mutex::new(wr),
                    pending: Mutex::new(BTreeMap::new()),
                    next_id: Mutex::new(0),
                });
                let l2 = link.clone();
                let tx = self.ev_tx.clone();
                let reader = tokio::spawn(async move {
                    let mut lines = BufReader::new(rd).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        match serde_json::from_str::<ToParent>(&line) {
                            Ok(ToParent::Metrics { id, metrics }) => {
                                let waiter = l2.pending.lock().ok().and_then(|mut p| p.remove(&id));
                                if let Some(w) = waiter {
                                    let _ = w.send(metrics);
                                }
                            }
                            Ok(m) => {
                                let _ = tx.send(Ev::Msg(kind, pid, m));
                            }
                            Err(_) => {}
                        }
                    }
                });
                let tx = self.ev_tx.clone();
                tokio::spawn(async move {
                    let status = child.wait().await;
                    // Let the reader drain what the worker said last (its VIP list) before
                    // the exit is handled; a grandchild holding the socket must not block us.
                    let _ = tokio::time::timeout(Duration::from_millis(100), reader).await;
                    if let Ok(st) = status {
                        let _ = tx.send(Ev::Exited(kind, pid, st));
                    }
                });
                Some(link)
            }
            Err(e) => {
                error!("{} child process: control channel: {e}", kind.title());
                let tx = self.ev_tx.clone();
                tokio::spawn(async move {
                    if let Ok(st) = child.wait().await {
                        let _ = tx.send(Ev::Exited(kind, pid, st));
                    }
                });
                None
            }
        };
        let slot = self.slots.entry(kind).or_insert_with(|| Slot::new(kind));
        slot.pid = Some(pid);
        slot.started = Instant::now();
        slot.started_unix = unix_now();
        slot.link = link;
        slot.awaiting_ready = true;
        if kind != WorkerKind::Bfd {
            // A (re)started VRRP/checker worker learns the sessions' current states.
            self.bfd_dirty = true;
        }
        info!("Starting {} child process, pid={pid}", kind.title());
        self.publish();
    }

    fn signal_worker(&self, kind: WorkerKind, sig: nix::sys::signal::Signal) -> bool {
        match self.slots.get(&kind).and_then(|s| s.pid) {
            Some(pid) => {
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig).is_ok()
            }
            None => false,
        }
    }

    async fn control(&self, kind: WorkerKind, msg: ToWorker) {
        if let Some(l) = self.slots.get(&kind).and_then(|s| s.link.clone()) {
            l.send(&msg).await;
        }
    }

    /// SIGHUP: the running workers read the file while this process reads and checks it
    /// ([`ToWorker::PrepareReload`]); the SIGHUP they get once it is accepted uses that read.
    /// A configuration of 37,000 real servers takes as long to read as the rest of the reload.
    async fn prepare_reload(&self) {
        if self.reload_started.is_some() {
            return;
        }
        for kind in [WorkerKind::Vrrp, WorkerKind::Checker, WorkerKind::Bfd] {
            if self.slots.get(&kind).is_some_and(|s| s.pid.is_some()) {
                self.control(kind, ToWorker::PrepareReload).await;
            }
        }
    }

    fn maybe_ready(&mut self) {
        let waiting = self
            .slots
            .values()
            .any(|s| s.pid.is_some() && s.awaiting_ready);
        if !self.sent_ready && !waiting {
            self.sent_ready = true;
            // keepalived's parent (config_notify.c) once every child has read its
            // configuration (the checker: with its IPVS table applied).
            if self.slots.values().any(|s| s.pid.is_some()) {
                info!("Startup complete");
            }
            notify::ready();
            crate::release_startup_memory_soon();
        }
    }

    fn reload_finished_check(&mut self) {
        if self.reload_started.is_some() && !self.slots.values().any(|s| s.reloading) {
            self.reload_started = None;
            // keepalived's parent's line once every child has reloaded (config_notify.c).
            info!("Reload complete");
            notify::ready();
            crate::release_startup_memory_soon();
            if self.reload_queued {
                self.reload_queued = false;
                self.reload();
            }
        }
    }

    /// keepalived's `start_validate_reload_conf_child`: this program with the command line
    /// it was started with plus `--config-test=CHECK` (CHECK truncated first), at most 5 s,
    /// with the `reload_file` there meanwhile. `false` (logged as keepalived does) when the
    /// check failed.
    fn validate_reload(&mut self, check: &str) -> bool {
        if let Err(e) = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(check)
        {
            if e.kind() != std::io::ErrorKind::NotFound {
                info!(
                    "truncate of config check log {check} failed ({}) - {e}",
                    e.raw_os_error().unwrap_or(0)
                );
            }
        }
        if self.cli.log_detail > 0 {
            info!("validate conf before Reload");
        }
        let rf = reload_file(&self.cli, &self.loaded);
        if let Some(p) = &rf {
            create_reload_file(p);
        }
        let mut cmd = std::process::Command::new(self_exe());
        cmd.args(
            self.args
                .iter()
                .skip(1)
                .filter(|a| a.to_str() != Some("--daemonized")),
        )
        .arg(format!("--config-test={check}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        let status = match cmd.spawn() {
            Ok(mut child) => {
                let deadline = Instant::now() + Duration::from_secs(5);
                loop {
                    match child.try_wait() {
                        Ok(Some(st)) => break Some(st),
                        Ok(None) if Instant::now() < deadline => {
                            std::thread::sleep(Duration::from_millis(10))
                        }
                        _ => {
                            let _ = child.kill();
                            let _ = child.wait();
                            info!("Process 'config check' timed out");
                            break None;
                        }
                    }
                }
            }
            Err(e) => {
                info!("Could not run config-test ({e})");
                None
            }
        };
        if let Some(p) = &rf {
            let _ = std::fs::remove_file(p);
        }
        match status {
            Some(st) if st.success() => true,
            Some(st) if st.code().is_some() => {
                info!("New config failed validation, see {check} for details");
                false
            }
            _ => false,
        }
    }

    /// SIGHUP: parse and check the new configuration; a bad one is rejected with its located
    /// diagnostics and the running configuration stays. A good one is forwarded (HUP).
    pub fn reload(&mut self) {
        if self.reload_started.is_some() {
            self.reload_queued = true;
            info!("Reload already in progress, queued");
            return;
        }
        info!("Reloading ...");
        let opts = config::parse_options(
            self.cli.config_id.as_deref(),
            self.cli.all_config,
            self.cli.compat,
        );
        // reload_check_config: the new configuration is checked by `keepalived -t` first.
        if let Some(check) = self.loaded.config().global.reload_check_config.clone() {
            if !self.validate_reload(&check) {
                return;
            }
        }
        // keepalived stops the reload monitor for the reload and starts it again from the
        // configuration running after it (the new one, or the old one when refused).
        self.reload_mon.stop();
        self.reload_load(&opts);
        self.start_reload_monitor();
    }

    /// `config_save_dir`: the copy of the configuration just read (`dir`: its
    /// `config_save_dir` when it was accepted).
    fn save_config(&mut self, dir: Option<String>) {
        if let Some(d) = dir {
            match crate::config_save::check_dir(&d, true) {
                Ok(p) => self.save_dir = Some(p),
                Err(e) => error!("{e}"),
            }
        }
        if let Some(dir) = &self.save_dir {
            crate::config_save::save_parent(dir, self.save_num, &self.loaded.file);
            self.save_num += 1;
        }
    }

    /// `tmp_config_directory`: the unnamed copy there, (re)written with the configuration just
    /// read.
    fn write_tmp_copy(&mut self) {
        use std::io::{Seek, Write};
        use std::os::unix::fs::OpenOptionsExt;
        if self.tmp_copy.is_none() {
            let Some(dir) = self.loaded.config().global.tmp_config_directory.clone() else {
                return;
            };
            match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .mode(0o600)
                .custom_flags(libc::O_TMPFILE | libc::O_EXCL)
                .open(&dir)
            {
                Ok(f) => self.tmp_copy = Some(f),
                Err(e) => {
                    let n = e.raw_os_error().unwrap_or(0);
                    error!(
                        "Cannot open config directory {dir} for writing, errno {n} - {}",
                        nix::errno::Errno::from_raw(n).desc()
                    );
                    return;
                }
            }
        }
        let text = crate::config_save::consolidated(&self.loaded.file);
        if let Some(f) = self.tmp_copy.as_mut() {
            let res = f
                .set_len(0)
                .and_then(|()| f.rewind())
                .and_then(|()| f.write_all(text.as_bytes()));
            if let Err(e) = res {
                info!("Failed to write the config copy file ({e})");
            }
        }
    }

    fn start_reload_monitor(&mut self) {
        let g = &self.loaded.config().global;
        self.reload_mon
            .start(g.reload_time_file.as_deref(), g.reload_repeat);
    }

    /// The reload after the checks of `reload_check_config`.
    fn reload_load(&mut self, opts: &conf_parse::ParseOptions) {
        let new = match config::load(&self.loaded.file, opts) {
            Ok(n) => {
                self.save_config(n.config().global.config_save_dir.clone());
                n
            }
            Err(e) => {
                self.save_config(None);
                let count = match &e {
                    LoadError::Invalid {
                        diagnostics, count, ..
                    } => {
                        for d in diagnostics.iter().filter(|d| d.counts()) {
                            error!("{d}");
                        }
                        *count as u64
                    }
                    _ => 1,
                };
                error!("{e}");
                error!("Reload failed: new configuration rejected, running configuration kept");
                if let Ok(mut sh) = self.shared.lock() {
                    sh.parent.reload_failures += 1;
                    sh.parent.config_errors = count;
                    crate::metrics::push_event(
                        &mut sh.parent.events,
                        "reload",
                        format!("reload rejected: {count} error(s), running configuration kept"),
                    );
                }
                return;
            }
        };
        let mut unsupported = false;
        if new.instance() != self.loaded.instance() {
            info!("Cannot change instance name at a reload - please restart keepalived");
            unsupported = true;
        }
        if new.namespace() != self.loaded.namespace() {
            info!("Cannot change network namespace at a reload - please restart keepalived");
            unsupported = true;
        }
        if new.config().global.net_namespace_ipvs != self.loaded.config().global.net_namespace_ipvs
        {
            info!("Cannot change IPVS network namespace at a reload - please restart keepalived");
            unsupported = true;
        }
        if new.config().global.tmp_config_directory
            != self.loaded.config().global.tmp_config_directory
        {
            info!("Cannot change config_directory at a reload - please restart keepalived");
            unsupported = true;
        }
        if let Some(why) = crate::privileges::reload_blocker(new.config()) {
            info!("Cannot reload: {why} - please restart keepalived");
            unsupported = true;
        }
        if unsupported {
            if let Ok(mut sh) = self.shared.lock() {
                sh.parent.reload_failures += 1;
                crate::metrics::push_event(
                    &mut sh.parent.events,
                    "reload",
                    "reload rejected: instance, namespace or privileges changed (restart needed)"
                        .into(),
                );
            }
            return;
        }
        for d in new.warnings() {
            info!("{d}");
        }
        for d in new.notes() {
            warning!("{d}");
        }
        if let Ok(mut sh) = self.shared.lock() {
            sh.parent.reloads += 1;
            sh.parent.config_errors = 0;
            sh.parent.config_warnings = new.warnings().count() as u64;
            sh.parent.config_notes = crate::metrics::ConfigNote::from_diagnostics(new.notes());
            sh.parent.last_reload_success = unix_now();
            crate::metrics::push_event(
                &mut sh.parent.events,
                "reload",
                format!(
                    "reload accepted: {} warning(s), {} note(s)",
                    new.warnings().count(),
                    new.notes().count()
                ),
            );
        }
        crate::procsched::update_name(
            Some(self.loaded.config().global.process_names.parent.as_deref()),
            new.config().global.process_names.parent.as_deref(),
        );
        self.loaded = new;
        self.write_tmp_copy();
        crate::apply_config_umask(&self.cli, self.loaded.config());
        crate::dump::configure(&self.loaded.config().global);
        notify::reloading();
        self.reload_started = Some(Instant::now());
        for kind in [WorkerKind::Bfd, WorkerKind::Vrrp, WorkerKind::Checker] {
            let running = self.slots.get(&kind).is_some_and(|s| s.pid.is_some());
            let pending = self
                .slots
                .get(&kind)
                .is_some_and(|s| s.respawn_at.is_some());
            if running {
                if self.signal_worker(kind, nix::sys::signal::Signal::SIGHUP) {
                    if let Some(s) = self.slots.get_mut(&kind) {
                        s.reloading = true;
                    }
                }
            } else if !pending && self.wanted(kind) {
                self.start_worker(kind);
            }
        }
        self.reload_finished_check();
    }

    fn parent_data(&self) -> String {
        let mut s = String::from("------< Global definitions >------\n");
        s.push_str(&format!(" Implementation = {}\n", cli::version_string()));
        s.push_str(&format!(" Config file = {}\n", self.loaded.file.display()));
        s.push_str(&format!(
            " Network namespace = {}\n",
            self.loaded
                .namespace()
                .unwrap_or_else(|| "(default)".into())
        ));
        s.push_str(&format!(
            " Instance name = {}\n",
            self.loaded.instance().unwrap_or_else(|| "(none)".into())
        ));
        s.push_str(&format!(
            " Child wait time = {} secs\n",
            self.loaded.child_wait_time().as_secs()
        ));
        s.push_str(&format!(" Parent pid = {}\n", std::process::id()));
        s.push_str(&format!(
            " Parent pidfile = {}\n",
            self.paths.main.display()
        ));
        s.push_str("------< Workers >------\n");
        for slot in self.slots.values() {
            s.push_str(&format!(
                " {} worker: pid {} restarts {} held VIPs {}\n",
                slot.kind.name(),
                slot.pid
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "-".into()),
                slot.restarts,
                slot.held_vips.len()
            ));
        }
        if let Ok(sh) = self.shared.lock() {
            s.push_str(&format!(
                " Reloads = {}, rejected reloads = {}\n",
                sh.parent.reloads, sh.parent.reload_failures
            ));
        }
        s.push_str("------< Configuration (canonical) >------\n");
        s.push_str(&conf_parse::print(self.loaded.config()));
        s
    }

    /// Handle a worker's exit. Returns Some(exit status) when the parent must stop.
    fn on_exit(&mut self, kind: WorkerKind, pid: u32, status: ExitStatus) -> Option<i32> {
        use std::os::unix::process::ExitStatusExt;
        let slot = self.slots.get_mut(&kind)?;
        if slot.pid != Some(pid) {
            return None;
        }
        slot.pid = None;
        slot.link = None;
        slot.awaiting_ready = false;
        let was_reloading = std::mem::take(&mut slot.reloading);
        if kind == WorkerKind::Bfd {
            // Its sessions are gone with it: every tracked BFD is down until it is Up again.
            for st in self.bfd_states.values_mut() {
                st.0 = false;
            }
            self.bfd_dirty = true;
        }
        let slot = self.slots.get_mut(&kind)?;
        let vips = std::mem::take(&mut slot.held_vips);
        let ran_for = slot.started.elapsed();
        // The dead worker's VIPs go first, before anything else (a backup is taking over).
        if !vips.is_empty() {
            let failures = vip::remove_vips(&vips);
            info!(
                "{} child process({pid}) exited holding {} VIP(s): removed{}",
                kind.title(),
                vips.len(),
                if failures.is_empty() {
                    String::new()
                } else {
                    format!(" with failures: {}", failures.join("; "))
                }
            );
        }
        let name = kind.ident();
        let code = status.code();
        if let Some(c) = code {
            if exit::is_permanent(c) {
                info!(
                    "{name} exited with permanent error {}. Terminating",
                    exit::permanent_name(c)
                );
                notify::errno(if c == exit::MISSING_PERMISSION {
                    libc::EPERM
                } else {
                    libc::EINVAL
                });
                self.publish();
                return Some(c);
            }
            if c != 0 {
                info!("{name} exited with status {c}");
            }
        } else if let Some(sig) = status.signal() {
            info!("{name} exited due to signal {sig}");
        }
        if was_reloading {
            self.reload_finished_check();
        }
        if self.stopping {
            self.publish();
            return None;
        }
        if self.cli.dont_respawn {
            alert!("{} child process({pid}) died: Exiting", kind.title());
            self.publish();
            return Some(exit::OK);
        }
        alert!("{} child process({pid}) died: Respawning", kind.title());
        let slot = self.slots.get_mut(&kind)?;
        let delay = calc_restart_delay(ran_for, &mut slot.next_delay);
        slot.restarts += 1;
        if ran_for < Duration::from_secs(60) {
            // keepalived logs this for every quick death, "delayed 0 seconds" included.
            info!(
                "Restart of {} process delayed {delay} seconds to limit respawn rate",
                kind.title()
            );
        }
        if delay == 0 {
            self.start_worker(kind);
        } else {
            slot.respawn_at = Some(Instant::now() + Duration::from_secs(delay));
            self.publish();
        }
        None
    }

    fn on_msg(&mut self, kind: WorkerKind, pid: u32, msg: ToParent) {
        let Some(slot) = self.slots.get_mut(&kind) else {
            return;
        };
        if slot.pid != Some(pid) {
            return;
        }
        match msg {
            ToParent::Ready => {
                slot.awaiting_ready = false;
                self.maybe_ready();
            }
            ToParent::Reloaded { ok, error } => {
                if !ok {
                    error!(
                        "{} worker could not apply the new configuration: {}",
                        kind.name(),
                        error.unwrap_or_default()
                    );
                }
                slot.reloading = false;
                self.reload_finished_check();
            }
            ToParent::HeldVips { vips } => slot.held_vips = vips,
            ToParent::Bfd {
                name,
                up,
                vrrp,
                checker,
            } => {
                self.bfd_states.insert(name, (up, vrrp, checker));
                self.bfd_dirty = true;
            }
            ToParent::Metrics { .. } => {}
        }
    }

    /// Relay the BFD states to the VRRP and checker workers (each gets the sessions whose
    /// `bfd_instance` sends it events), as keepalived's BFD process writes to its pipes.
    async fn relay_bfd(&mut self) {
        if !std::mem::take(&mut self.bfd_dirty) {
            return;
        }
        for (kind, pick) in [
            (
                WorkerKind::Vrrp,
                (|s: &(bool, bool, bool)| s.1) as fn(&(bool, bool, bool)) -> bool,
            ),
            (WorkerKind::Checker, |s: &(bool, bool, bool)| s.2),
        ] {
            let states: BTreeMap<String, bool> = self
                .bfd_states
                .iter()
                .filter(|(_, s)| pick(s))
                .map(|(n, s)| (n.clone(), s.0))
                .collect();
            self.control(kind, ToWorker::BfdStates { states }).await;
        }
    }

    /// Stop: TERM to workers, wait child_wait_time, then KILL.
    async fn stop(&mut self) {
        info!("Stopping");
        notify::stopping();
        self.stopping = true;
        let mut waiting = 0;
        for kind in [WorkerKind::Checker, WorkerKind::Vrrp, WorkerKind::Bfd] {
            if self.signal_worker(kind, nix::sys::signal::Signal::SIGTERM) {
                waiting += 1;
            }
        }
        let deadline = tokio::time::Instant::now() + self.loaded.child_wait_time();
        while waiting > 0 {
            match tokio::time::timeout_at(deadline, self.ev_rx.recv()).await {
                Ok(Some(Ev::Exited(k, pid, st))) => {
                    let live = self.slots.get(&k).is_some_and(|s| s.pid == Some(pid));
                    if live {
                        waiting -= 1;
                        let _ = self.on_exit(k, pid, st);
                    }
                }
                Ok(Some(Ev::Msg(k, pid, m))) => self.on_msg(k, pid, m),
                Ok(None) | Err(_) => break,
            }
        }
        for kind in [WorkerKind::Checker, WorkerKind::Vrrp, WorkerKind::Bfd] {
            if self.slots.get(&kind).is_some_and(|s| s.pid.is_some()) {
                info!(
                    "{} process failed to die - forcing termination",
                    kind.name()
                );
                self.signal_worker(kind, nix::sys::signal::Signal::SIGKILL);
            }
        }
        // Reap the killed ones (and remove a killed VRRP worker's VIPs unless -V).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while self.slots.values().any(|s| s.pid.is_some()) {
            match tokio::time::timeout_at(deadline, self.ev_rx.recv()).await {
                Ok(Some(Ev::Exited(k, pid, st))) => {
                    if self.cli.dont_release_vrrp {
                        if let Some(s) = self.slots.get_mut(&k) {
                            s.held_vips.clear();
                        }
                    }
                    let _ = self.on_exit(k, pid, st);
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        for p in [&self.paths.vrrp, &self.paths.checkers, &self.paths.bfd] {
            if crate::pidfile::running(p).is_none() && p.exists() {
                let _ = std::fs::remove_file(p);
            }
        }
    }

    /// keepalived's `startup_script`/`shutdown_script` (run by the parent only: before the
    /// children start / after they stopped, never at a reload), as the script's own
    /// `user [group]`, else `script_user`, else `keepalived_script`/root as for every script.
    /// At the timeout (default 10 s) its process group gets SIGTERM, SIGKILL 2 s later, and
    /// keepalived goes on (starts / exits) as it does.
    async fn start_stop_script(&self, startup: bool) {
        let g = &self.loaded.config().global;
        let (script, timeout) = if startup {
            (&g.startup_script, g.startup_script_timeout)
        } else {
            (&g.shutdown_script, g.shutdown_script_timeout)
        };
        let Some(script) = script else { return };
        let kind = if startup { "startup" } else { "shutdown" };
        let policy = script_runner::Policy {
            script_user: g.script_user.clone(),
            security: g.enable_script_security,
            keep_symlinks: g.use_symlink_paths,
            pins: Default::default(),
        };
        let own = script.user.as_deref().map(|u| (u, script.group.as_deref()));
        let prepared = match policy.prepare(&script.command, own) {
            Ok(p) => p,
            Err(e) => {
                error!("Call of {kind} script {} failed: {e}", script.command);
                return;
            }
        };
        if self.cli.log_detail > 0 {
            info!("Running {kind} script {}", prepared.line());
        }
        let timeout = timeout.unwrap_or(Duration::from_secs(10));
        match prepared.run(&[], Some(timeout)).await {
            script_runner::Outcome::Exited(0) if self.cli.log_detail > 0 => {
                info!("{kind} script script succeeded");
            }
            script_runner::Outcome::Exited(0) => {}
            // keepalived's wording ("startup script script failed, status 3").
            script_runner::Outcome::Exited(c) => info!("{kind} script script failed, status {c}"),
            script_runner::Outcome::TimedOut => info!("{kind} script timed out"),
            script_runner::Outcome::Failed(e) => {
                info!("Call of {kind} script {} failed: {e}", prepared.line())
            }
            // Killed by a signal (keepalived logs nothing).
            _ => {}
        }
    }

    /// Run until stopped; returns the exit status.
    pub async fn run(mut self) -> i32 {
        let mut sigs = DaemonSignals::install();
        let _ = nix::sys::prctl::set_child_subreaper(true);
        self.save_config(self.loaded.config().global.config_save_dir.clone());
        self.write_tmp_copy();
        self.start_stop_script(true).await;
        let mut any = false;
        for kind in [WorkerKind::Bfd, WorkerKind::Checker, WorkerKind::Vrrp] {
            if self.wanted(kind) {
                self.start_worker(kind);
                any = true;
            }
        }
        if !any {
            info!("Warning - keepalived has no configuration to run");
        }
        self.publish();
        self.maybe_ready();
        self.start_reload_monitor();
        let mut exit_code = exit::OK;
        loop {
            self.relay_bfd().await;
            let next_respawn = self.slots.values().filter_map(|s| s.respawn_at).min();
            let respawn_sleep = async {
                match next_respawn {
                    Some(t) => tokio::time::sleep_until(t.into()).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = recv(&mut sigs.term) => break,
                _ = recv(&mut sigs.int) => break,
                _ = recv(&mut sigs.hup) => {
                    self.prepare_reload().await;
                    self.reload();
                }
                due = self.reload_mon.next() => {
                    if due == crate::reload_monitor::Due::Reload {
                        self.reload();
                    }
                }
                _ = recv(&mut sigs.usr1) => {
                    info!("Printing parent data for process({}) on signal", std::process::id());
                    dump::write_data("_parent", &self.parent_data());
                    for k in [WorkerKind::Vrrp, WorkerKind::Checker, WorkerKind::Bfd] {
                        self.signal_worker(k, nix::sys::signal::Signal::SIGUSR1);
                    }
                }
                _ = recv(&mut sigs.usr2) => {
                    self.signal_worker(WorkerKind::Vrrp, nix::sys::signal::Signal::SIGUSR2);
                }
                _ = recv(&mut sigs.json) => self.control(WorkerKind::Vrrp, ToWorker::DumpJson).await,
                _ = recv(&mut sigs.clear) => self.control(WorkerKind::Vrrp, ToWorker::ClearStats).await,
                ev = self.ev_rx.recv() => match ev {
                    Some(Ev::Exited(k, pid, st)) => {
                        if let Some(code) = self.on_exit(k, pid, st) {
                            exit_code = code;
                            break;
                        }
                    }
                    Some(Ev::Msg(k, pid, m)) => self.on_msg(k, pid, m),
                    None => break,
                },
                _ = respawn_sleep => {
                    let now = Instant::now();
                    let due: Vec<WorkerKind> = self
                        .slots
                        .values()
                        .filter(|s| s.respawn_at.is_some_and(|t| t <= now))
                        .map(|s| s.kind)
                        .collect();
                    for k in due {
                        self.start_worker(k);
                    }
                }
            }
        }
        self.stop().await;
        self.start_stop_script(false).await;
        exit_code
    }
}

/// `reload_file [FILE]` of a configuration: FILE, or keepalived's default
/// (`/run/keepalived/keepalived[_INSTANCE].reload` with an instance, a namespace or
/// `use_pid_dir`, else `/run/keepalived.reload`).
pub fn reload_file(cli: &Cli, loaded: &Loaded) -> Option<std::path::PathBuf> {
    let f = loaded.config().global.reload_file.as_deref()?;
    if !f.is_empty() {
        return Some(f.into());
    }
    let dir = crate::pidfile::PID_DIR;
    Some(match loaded.instance() {
        Some(i) => format!("{dir}/keepalived_{i}.reload").into(),
        None if loaded.config().global.use_pid_dir
            || cli.namespace.is_some()
            || loaded.namespace().is_some() =>
        {
            format!("{dir}/keepalived.reload").into()
        }
        None => "/run/keepalived.reload".into(),
    })
}

/// keepalived's `create_reload_file`: an empty file, rw-r--r-- whatever the umask.
fn create_reload_file(p: &std::path::Path) {
    use nix::sys::stat::{umask, Mode};
    use std::os::unix::fs::OpenOptionsExt;
    let old = umask(Mode::empty());
    umask(old & !Mode::from_bits_truncate(0o044));
    let r = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(p);
    umask(old);
    if let Err(e) = r {
        info!(
            "Failed to create reload file ({}) {} - {e}",
            p.display(),
            e.raw_os_error().unwrap_or(0)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the respawn back-off sequence equals keepalived's calc_restart_delay:
    // 0 (first quick death restarts at once), 1, 2, 4, 8, 16, 32, 60, 60; a worker that
    // lived 60 s or more restarts at once and resets the sequence.
    #[test]
    fn backoff_sequence() {
        let quick = Duration::from_secs(1);
        let mut next = 0;
        let seq: Vec<u64> = (0..9)
            .map(|_| calc_restart_delay(quick, &mut next))
            .collect();
        assert_eq!(seq, vec![0, 1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(calc_restart_delay(Duration::from_secs(60), &mut next), 0);
        assert_eq!(next, 0);
        assert_eq!(calc_restart_delay(quick, &mut next), 0);
        assert_eq!(calc_restart_delay(quick, &mut next), 1);
    }
}
