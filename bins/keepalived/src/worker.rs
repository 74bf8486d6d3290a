//! The worker process shell. The parent re-executes this binary with `--worker vrrp`,
//! `--worker checker` or `--worker bfd`; the shell sets up logging, its pidfile, the control
//! channel (stdin), signals and the configuration, then runs the subsystem's *worker main*
//! ([`WorkerMain`]: `fn(WorkerContext) -> WorkerFuture`).
//!
//! A worker main owns its event loop. It receives everything from outside as
//! [`WorkerEvent`]s on `ctx.events` (reload with the new, already checked configuration,
//! dump requests answered with text the shell writes to keepalived's file names, metrics
//! requests, shutdown) and reports through `ctx.link` ([`ParentLink::ready`],
//! [`ParentLink::held_vips`]). It returns the process exit status (use [`crate::exit`]: a
//! CONFIG/FATAL/MISSING_PERMISSION status stops the whole daemon instead of a respawn).
//!
//! The mains are wired to the runtimes: [`crate::vrrp_worker`] (vrrp-runtime),
//! [`crate::checker_worker`] (lvs-director) and [`crate::bfd_worker`], each running its
//! runtime on its own thread. Which main runs is the process's [`Seams`] choice (tests
//! replace it; see [`crate::seams`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};

use conf_parse::ProcessSched;

use crate::cli::Cli;
use crate::config::{self, Loaded};
use crate::control::{encode, HeldVip, ToParent, ToWorker};
use crate::exit;
use crate::metrics::WorkerMetrics;
use crate::pidfile::PidFile;
use crate::seams::{Ipvs, Seams};
use crate::signals::{recv, DaemonSignals};
use crate::{dump, error, info, warning};

/// Which subsystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkerKind {
    /// VRRP.
    Vrrp,
    /// Health checkers + IPVS.
    Checker,
    /// BFD sessions.
    Bfd,
}

impl WorkerKind {
    /// `--worker` value and metrics label.
    pub fn name(self) -> &'static str {
        match self {
            WorkerKind::Vrrp => "vrrp",
            WorkerKind::Checker => "checker",
            WorkerKind::Bfd => "bfd",
        }
    }
    /// Parse a `--worker` value.
    pub fn from_name(s: &str) -> Option<WorkerKind> {
        match s {
            "vrrp" => Some(WorkerKind::Vrrp),
            "checker" | "check" => Some(WorkerKind::Checker),
            "bfd" => Some(WorkerKind::Bfd),
            _ => None,
        }
    }
    /// keepalived's syslog ident (PROG_VRRP / PROG_CHECK).
    pub fn ident(self) -> &'static str {
        match self {
            WorkerKind::Vrrp => "Keepalived_vrrp",
            WorkerKind::Checker => "Keepalived_healthcheckers",
            WorkerKind::Bfd => "Keepalived_bfd",
        }
    }
    /// Name used in keepalived's parent log lines ("VRRP child process(..) died").
    pub fn title(self) -> &'static str {
        match self {
            WorkerKind::Vrrp => "VRRP",
            WorkerKind::Checker => "Healthcheck",
            WorkerKind::Bfd => "BFD",
        }
    }
    /// Suffix of the per-process log file (`-g`).
    pub fn log_suffix(self) -> &'static str {
        match self {
            WorkerKind::Vrrp => "vrrp",
            WorkerKind::Checker => "check",
            WorkerKind::Bfd => "bfd",
        }
    }
}

/// Flags a worker main needs from the command line.
#[derive(Debug, Clone, Default)]
pub struct WorkerOptions {
    /// -V: leave VIPs/routes on stop.
    pub dont_release_vrrp: bool,
    /// -I: leave IPVS on stop.
    pub dont_release_ipvs: bool,
    /// -X: drop VIPs on transition from signal.
    pub release_vips: bool,
    /// -a: log address changes.
    pub address_monitoring: bool,
    /// -D count.
    pub detail: u8,
    /// BFD session states relayed from the BFD worker (`track_bfd`, `BFD_CHECK`).
    pub bfd_states: Option<tokio::sync::watch::Receiver<std::collections::BTreeMap<String, bool>>>,
}

/// What the outside asks of a worker main.
#[derive(Debug)]
#[non_exhaustive]
pub enum WorkerEvent {
    /// SIGHUP: apply `config` as a diff (unchanged instances/real servers keep their state).
    /// Answer `Err(reason)` to keep running the old configuration.
    Reload {
        /// The new configuration (already parsed and free of errors).
        config: Loaded,
        /// Result.
        done: oneshot::Sender<Result<(), String>>,
    },
    /// SIGUSR1: text for `keepalived.data` (VRRP) / `keepalived_check.data` (checker).
    DumpData {
        /// The text.
        reply: oneshot::Sender<String>,
    },
    /// SIGUSR2 (VRRP): text for `keepalived.stats`.
    DumpStats {
        /// The text.
        reply: oneshot::Sender<String>,
    },
    /// SIGJSON (VRRP): the value written to `keepalived.json`.
    DumpJson {
        /// The value.
        reply: oneshot::Sender<serde_json::Value>,
    },
    /// SIGSTATS_CLEAR (VRRP): zero the statistics.
    ClearStats,
    /// A metrics snapshot for /metrics and /status.
    Metrics {
        /// The snapshot.
        reply: oneshot::Sender<WorkerMetrics>,
    },
    /// SIGTERM/SIGINT or parent gone: leave (release VIPs unless -V, IPVS unless -I) and return.
    Shutdown,
}

/// Messages from the worker main to the parent.
#[derive(Debug, Clone)]
pub struct ParentLink {
    tx: mpsc::UnboundedSender<ToParent>,
}

impl ParentLink {
    /// The configuration is read and the worker runs (the parent sends READY=1 to systemd
    /// once every started worker said so).
    pub fn ready(&self) {
        let _ = self.tx.send(ToParent::Ready);
    }
    /// Report the complete set of VIPs configured by this worker now (call after every
    /// change, including an empty set after releasing them).
    pub fn held_vips(&self, vips: Vec<HeldVip>) {
        let _ = self.tx.send(ToParent::HeldVips { vips });
    }
    /// BFD worker: a session's state change for the VRRP and/or checker workers.
    pub fn bfd_event(&self, name: String, up: bool, vrrp: bool, checker: bool) {
        let _ = self.tx.send(ToParent::Bfd {
            name,
            up,
            vrrp,
            checker,
        });
    }
}

/// Everything a worker main gets.
#[derive(Debug)]
pub struct WorkerContext {
    /// Which worker.
    pub kind: WorkerKind,
    /// The configuration at start.
    pub config: Loaded,
    /// Command-line flags.
    pub options: WorkerOptions,
    /// Events from the shell.
    pub events: mpsc::Receiver<WorkerEvent>,
    /// Reports to the parent.
    pub link: ParentLink,
    /// The IPVS the checker and `lvs_sync_daemon` drive.
    pub ipvs: Arc<dyn Ipvs>,
}

/// A worker main's future; resolves to the process exit status.
pub type WorkerFuture = Pin<Box<dyn Future<Output = i32> + Send>>;

/// The entry point of a subsystem.
pub type WorkerMain = fn(WorkerContext) -> WorkerFuture;

/// The runtimes' main for a kind (what [`crate::seams::Real`] runs).
pub fn worker_main_for(kind: WorkerKind) -> WorkerMain {
    match kind {
        WorkerKind::Vrrp => vrrp_worker_main,
        WorkerKind::Checker => checker_worker_main,
        WorkerKind::Bfd => bfd_worker_main,
    }
}

/// VRRP worker main: the VRRP runtime on its own thread ([`crate::vrrp_worker`]).
pub fn vrrp_worker_main(ctx: WorkerContext) -> WorkerFuture {
    Box::pin(crate::vrrp_worker::main(ctx))
}

/// BFD worker main: the BFD sessions on their own thread ([`crate::bfd_worker`]).
pub fn bfd_worker_main(ctx: WorkerContext) -> WorkerFuture {
    Box::pin(crate::bfd_worker::main(ctx))
}

/// Checker worker main: the LVS director on its own thread ([`crate::checker_worker`]).
pub fn checker_worker_main(ctx: WorkerContext) -> WorkerFuture {
    Box::pin(crate::checker_worker::main(ctx))
}

/// Run a worker process (called from main for `--worker KIND`). Returns the exit status.
pub fn run(cli: &Cli, kind: WorkerKind, seams: Arc<dyn Seams>) -> i32 {
    crate::setup_logging(cli, kind.ident(), Some(kind.log_suffix()));
    // The parent is our lifeline: TERM when it dies (keepalived: PR_SET_PDEATHSIG).
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM);
    if let Ok(p) = std::env::var(crate::supervisor::PARENT_PID_ENV) {
        if p != nix::unistd::getppid().to_string() {
            return exit::OK;
        }
    }
    let opts = config::parse_options(cli.config_id.as_deref(), cli.all_config, cli.compat);
    let loaded = match config::load(&cli.config_file(), &opts) {
        Ok(l) => l,
        Err(e) => {
            error!("{e}");
            return exit::CONFIG;
        }
    };
    dump::configure(&loaded.config().global);
    crate::coredump::worker_init();
    crate::procsched::update_name(None, crate::procsched::worker_name(kind, loaded.config()));
    // Least privilege: keep only what this worker needs, before any other thread starts
    // (capabilities are per thread; threads inherit them) and before the pidfile tells the
    // world we run (signals may follow at once). docs/privileges.md.
    let profile = crate::privileges::profile(loaded.config(), kind);
    crate::privileges::apply(
        &format!("{} child process", kind.title()),
        crate::privileges::worker_restriction(kind, profile),
    );
    let paths = crate::pid_paths(cli, &loaded);
    let pid_path = match kind {
        WorkerKind::Vrrp => paths.vrrp,
        WorkerKind::Checker => paths.checkers,
        WorkerKind::Bfd => paths.bfd,
    };
    let _pidfile = match PidFile::acquire(&pid_path) {
        Ok(p) => p,
        Err(e) => {
            error!("{} child process: {e}", kind.title());
            return exit::FATAL;
        }
    };
    if cli.address_monitoring {
        crate::addrmon::start(kind);
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!("tokio runtime: {e}");
            return exit::FATAL;
        }
    };
    let (bfd_tx, bfd_rx) = tokio::sync::watch::channel(std::collections::BTreeMap::new());
    let options = WorkerOptions {
        bfd_states: Some(bfd_rx),
        dont_release_vrrp: cli.dont_release_vrrp,
        dont_release_ipvs: cli.dont_release_ipvs,
        release_vips: cli.release_vips,
        address_monitoring: cli.address_monitoring,
        detail: cli.log_detail,
    };
    rt.block_on(shell(cli, kind, loaded, options, &*seams, bfd_tx, profile))
}

async fn shell(
    cli: &Cli,
    kind: WorkerKind,
    loaded: Loaded,
    options: WorkerOptions,
    seams: &dyn Seams,
    bfd_tx: tokio::sync::watch::Sender<std::collections::BTreeMap<String, bool>>,
    profile: crate::privileges::Profile,
) -> i32 {
    // Control channel: our stdin is the worker end of the parent's socketpair. Keep it on a
    // close-on-exec descriptor and put /dev/null on fd 0, so scripts the runtimes spawn
    // (notify, track, MISC_CHECK) neither read our control messages nor keep the channel
    // open after we die (the parent sees EOF only when every copy is closed).
    let stdin_fd = match std::os::fd::AsFd::as_fd(&std::io::stdin()).try_clone_to_owned() {
        Ok(fd) => fd,
        Err(e) => {
            error!("control channel: dup stdin: {e}");
            return exit::FATAL;
        }
    };
    if let Ok(null) = std::fs::File::open("/dev/null") {
        if let Err(e) = nix::unistd::dup2_stdin(&null) {
            error!("control channel: /dev/null on stdin: {e}");
        }
    }
    let std_stream = std::os::unix::net::UnixStream::from(stdin_fd);
    let _ = std_stream.set_nonblocking(true);
    let control = tokio::net::UnixStream::from_std(std_stream).ok();
    let (up_tx, mut up_rx) = mpsc::unbounded_channel::<ToParent>();
    // The scheduling keywords of the configuration in force, applied to every thread once the
    // worker is ready or reloaded (keepalived: at the end of start_vrrp/start_check).
    let sched_cfg = Arc::new(std::sync::Mutex::new(
        crate::procsched::worker_sched(kind, loaded.config()).clone(),
    ));
    let sched_for_writer = Arc::clone(&sched_cfg);
    let (sched_tx, mut sched_rx) = tokio::sync::watch::channel::<Option<ProcessSched>>(None);
    // max_auto_priority / min_auto_priority_delay of the configuration in force (a reload
    // starts again from the configured scheduling, as keepalived's reset_process_priorities).
    let auto_cfg = Arc::new(std::sync::Mutex::new(crate::procsched::auto_priority(
        loaded.config(),
    )));
    let auto_for_sched = Arc::clone(&auto_cfg);
    tokio::spawn(async move {
        use tokio::time::Instant;
        let mut applied = crate::procsched::Applied::default();
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        // The lateness probe: a timer of ours fired more than min_auto_priority_delay after
        // its time (keepalived checks its earliest timer whenever epoll returns).
        let auto = |a: &Arc<std::sync::Mutex<Option<crate::procsched::AutoPriority>>>| {
            a.lock().map(|g| *g).unwrap_or(None)
        };
        let period = |a: Option<crate::procsched::AutoPriority>| {
            a.map_or(std::time::Duration::from_secs(1), |a| {
                (a.min_delay / 2).clamp(
                    std::time::Duration::from_millis(10),
                    std::time::Duration::from_millis(500),
                )
            })
        };
        let mut probe_at = Instant::now() + period(auto(&auto_for_sched));
        loop {
            let probing = auto(&auto_for_sched).is_some();
            tokio::select! {
                r = sched_rx.changed() => {
                    if r.is_err() {
                        break;
                    }
                    let s = sched_rx.borrow_and_update().clone();
                    if let Some(s) = s {
                        // After the start-up memory release (1 s after Ready/Reloaded): that
                        // burst of CPU must not count against a realtime RLIMIT_RTTIME.
                        tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
                        applied.apply(&s, kind.name());
                    }
                    probe_at = Instant::now() + period(auto(&auto_for_sched));
                }
                _ = tick.tick() => {
                    applied.cover_new_threads(kind.name());
                    if !probing {
                        probe_at = Instant::now() + period(auto(&auto_for_sched));
                    }
                }
                _ = tokio::time::sleep_until(probe_at), if probing => {
                    let a = auto(&auto_for_sched);
                    if let Some(a) = a {
                        let late = Instant::now().saturating_duration_since(probe_at);
                        if late > a.min_delay {
                            info!("{}", crate::procsched::late_line(late));
                            applied.raise_realtime(a.max, kind.name());
                        }
                    }
                    probe_at = Instant::now() + period(a);
                }
            }
        }
    });
    let mut cur_name = crate::procsched::worker_name(kind, loaded.config()).map(str::to_string);
    if let Ok(mut xcpu) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(libc::SIGXCPU))
    {
        tokio::spawn(async move {
            while xcpu.recv().await.is_some() {
                info!("{}", crate::procsched::sigxcpu_line(kind));
            }
        });
    }
    let (down_tx, mut down_rx) = mpsc::unbounded_channel::<Option<ToWorker>>();
    if let Some(stream) = control {
        let (rd, mut wr) = stream.into_split();
        tokio::spawn(async move {
            while let Some(msg) = up_rx.recv().await {
                if matches!(msg, ToParent::Ready | ToParent::Reloaded { ok: true, .. }) {
                    let s = sched_for_writer
                        .lock()
                        .map(|s| s.clone())
                        .unwrap_or_default();
                    let _ = sched_tx.send(Some(s));
                }
                if wr.write_all(&encode(&msg)).await.is_err() {
                    break;
                }
                // Started or reloaded: the configuration-reading code is no longer needed.
                if matches!(msg, ToParent::Ready | ToParent::Reloaded { .. }) {
                    crate::release_startup_memory_soon();
                }
            }
        });
        let down = down_tx.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(rd).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(m) = serde_json::from_str::<ToWorker>(&line) {
                    let _ = down.send(Some(m));
                }
            }
            // EOF: the parent is gone.
            let _ = down.send(None);
        });
    }
    let link = ParentLink { tx: up_tx };
    let (ev_tx, ev_rx) = mpsc::channel::<WorkerEvent>(16);
    let ipvs = seams.ipvs();
    ipvs.set_namespace(loaded.config().global.net_namespace_ipvs.clone());
    let ctx = WorkerContext {
        kind,
        config: loaded.clone(),
        options,
        events: ev_rx,
        link: link.clone(),
        ipvs,
    };
    let mut main_task = tokio::spawn(seams.worker_main(ctx));

    let mut sigs = DaemonSignals::install();
    let cfg_file = cli.config_file();
    let popts = config::parse_options(cli.config_id.as_deref(), cli.all_config, cli.compat);
    let mut shutting_down = false;
    // config_save_dir: the data dumped before and after each reload.
    let mut save_dir = worker_save_dir(loaded.config(), None);
    let mut save_num = 0u32;
    // The file read ahead of a reload (ToWorker::PrepareReload): the file's identity when the
    // read began, and the read.
    let mut staged: Option<(Option<FileStamp>, StagedRead)> = None;
    loop {
        tokio::select! {
            r = &mut main_task => {
                return r.unwrap_or(exit::PROGRAM_ERROR);
            }
            _ = recv(&mut sigs.term) => shutdown(&ev_tx, &mut shutting_down).await,
            _ = recv(&mut sigs.int) => shutdown(&ev_tx, &mut shutting_down).await,
            _ = recv(&mut sigs.hup) => {
                if let Some(d) = &save_dir {
                    save_num += 1;
                    if let Some(text) = dump_text(&ev_tx).await {
                        crate::config_save::save_worker(d, save_process(kind), save_num, false, &text);
                    }
                }
                // The read begun at the parent's PrepareReload, when the file is still the one
                // it read (same inode, size and modification time); otherwise a read now.
                let read = match staged.take() {
                    Some((Some(stamp), h)) if FileStamp::of(&cfg_file).as_ref() == Some(&stamp) => {
                        crate::detail!("Reload: using the configuration read ahead");
                        match h.await {
                            Ok(r) => r,
                            Err(_) => config::load(&cfg_file, &popts),
                        }
                    }
                    Some((_, h)) => {
                        h.abort();
                        config::load(&cfg_file, &popts)
                    }
                    None => config::load(&cfg_file, &popts),
                };
                let res = match read {
                    Ok(new) if !profile.covers(crate::privileges::profile(new.config(), kind)) => {
                        // It needs capabilities (or the absence of no_new_privs) this process
                        // gave up at start: a new process runs it.
                        warning!(
                            "Reload: the new configuration needs privileges the {} process dropped at start (scripts, scripts as root or a FIFO owner): restarting it",
                            kind.title()
                        );
                        shutdown(&ev_tx, &mut shutting_down).await;
                        continue;
                    }
                    Ok(new) => {
                        save_dir = worker_save_dir(new.config(), save_dir.take());
                        let naming = dump::DataNaming::of(&new.config().global);
                        if let Ok(mut s) = sched_cfg.lock() {
                            *s = crate::procsched::worker_sched(kind, new.config()).clone();
                        }
                        if let Ok(mut a) = auto_cfg.lock() {
                            *a = crate::procsched::auto_priority(new.config());
                        }
                        let name = crate::procsched::worker_name(kind, new.config());
                        crate::procsched::update_name(Some(cur_name.as_deref()), name);
                        cur_name = name.map(str::to_string);
                        let (tx, rx) = oneshot::channel();
                        if ev_tx.send(WorkerEvent::Reload { config: new, done: tx }).await.is_err() {
                            Err("worker main gone".to_string())
                        } else {
                            let r = rx.await.unwrap_or_else(|_| Err("reload dropped".to_string()));
                            if r.is_ok() {
                                dump::set_naming(naming);
                            }
                            r
                        }
                    }
                    Err(e) => Err(e.to_string()),
                };
                if let Err(e) = &res {
                    error!("Reload failed: {e}");
                }
                if let Some(d) = &save_dir {
                    if let Some(text) = dump_text(&ev_tx).await {
                        crate::config_save::save_worker(d, save_process(kind), save_num, true, &text);
                    }
                }
                let _ = link.tx.send(ToParent::Reloaded { ok: res.is_ok(), error: res.err() });
            }
            _ = recv(&mut sigs.usr1) => {
                let (tx, rx) = oneshot::channel();
                if ev_tx.send(WorkerEvent::DumpData { reply: tx }).await.is_ok() {
                    if let Ok(text) = rx.await {
                        dump::write_data(dump::data_suffix(kind), &text);
                    }
                }
            }
            _ = recv(&mut sigs.usr2) => if kind == WorkerKind::Vrrp { dump_stats(&ev_tx).await },
            _ = recv(&mut sigs.json) => if kind == WorkerKind::Vrrp { dump_json(&ev_tx).await },
            _ = recv(&mut sigs.clear) => { let _ = ev_tx.send(WorkerEvent::ClearStats).await; }
            m = down_rx.recv() => match m {
                Some(Some(ToWorker::MetricsRequest { id })) => {
                    let (tx, rx) = oneshot::channel();
                    if ev_tx.send(WorkerEvent::Metrics { reply: tx }).await.is_ok() {
                        let metrics = rx.await.unwrap_or_default();
                        let _ = link.tx.send(ToParent::Metrics { id, metrics });
                    }
                }
                Some(Some(ToWorker::DumpJson)) => if kind == WorkerKind::Vrrp { dump_json(&ev_tx).await },
                Some(Some(ToWorker::ClearStats)) => { let _ = ev_tx.send(WorkerEvent::ClearStats).await; }
                Some(Some(ToWorker::BfdStates { states })) => { bfd_tx.send_replace(states); }
                Some(Some(ToWorker::PrepareReload)) => {
                    let stamp = FileStamp::of(&cfg_file);
                    let (f, o) = (cfg_file.clone(), popts.clone());
                    staged = Some((stamp, tokio::task::spawn_blocking(move || config::load(&f, &o))));
                }
                Some(None) | None => {
                    if !shutting_down {
                        info!("parent process gone, stopping");
                    }
                    shutdown(&ev_tx, &mut shutting_down).await;
                }
            },
        }
    }
}

/// A configuration read begun at the parent's [`ToWorker::PrepareReload`].
type StagedRead = tokio::task::JoinHandle<Result<Loaded, config::LoadError>>;

/// What tells a configuration file was not replaced or written since: inode, size, mtime.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp(u64, u64, u64, i64, i64);

impl FileStamp {
    fn of(path: &std::path::Path) -> Option<FileStamp> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        Some(FileStamp(
            m.dev(),
            m.ino(),
            m.size(),
            m.mtime(),
            m.mtime_nsec(),
        ))
    }
}

async fn shutdown(ev: &mpsc::Sender<WorkerEvent>, shutting_down: &mut bool) {
    if !*shutting_down {
        *shutting_down = true;
        let _ = ev.send(WorkerEvent::Shutdown).await;
    }
}

async fn dump_stats(ev: &mpsc::Sender<WorkerEvent>) {
    let (tx, rx) = oneshot::channel();
    if ev.send(WorkerEvent::DumpStats { reply: tx }).await.is_ok() {
        if let Ok(text) = rx.await {
            dump::write(dump::STATS_FILE, &text);
        }
    }
}

async fn dump_json(ev: &mpsc::Sender<WorkerEvent>) {
    let (tx, rx) = oneshot::channel();
    if ev.send(WorkerEvent::DumpJson { reply: tx }).await.is_ok() {
        // Null: no VRRP instance, and keepalived writes no file then.
        if let Ok(v) = rx
            .await
            .map_err(|_| ())
            .and_then(|v| if v.is_null() { Err(()) } else { Ok(v) })
        {
            let text = serde_json::to_string(&v).unwrap_or_default();
            dump::write(dump::JSON_FILE, &text);
        }
    }
}

/// keepalived's process name in the `config_save_dir` dump files.
fn save_process(kind: WorkerKind) -> &'static str {
    match kind {
        WorkerKind::Vrrp => "vrrp",
        WorkerKind::Checker => "check",
        WorkerKind::Bfd => "bfd",
    }
}

/// A worker's `config_save_dir` after reading `config`: the directory it names (which must
/// exist, else keepalived's error is logged), else the one in use before.
fn worker_save_dir(
    config: &conf_parse::Config,
    before: Option<std::path::PathBuf>,
) -> Option<std::path::PathBuf> {
    match config.global.config_save_dir.as_deref() {
        Some(d) => match crate::config_save::check_dir(d, false) {
            Ok(p) => Some(p),
            Err(e) => {
                error!("{e}");
                before
            }
        },
        None => before,
    }
}

/// The worker main's SIGUSR1 data text.
async fn dump_text(ev_tx: &mpsc::Sender<WorkerEvent>) -> Option<String> {
    let (tx, rx) = oneshot::channel();
    ev_tx.send(WorkerEvent::DumpData { reply: tx }).await.ok()?;
    rx.await.ok()
}
