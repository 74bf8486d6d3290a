//! keepalived-rs director daemon, CLI-compatible with keepalived 2.x (library part of the
//! `keepalived` binary).
//!
//! # Process model
//! One binary, three roles: the parent supervisor (default, [`supervisor`]), a worker
//! (`--worker vrrp|checker`, re-executed by the parent, [`worker`]), and genhash (`-T` or
//! `argv[0]` == "genhash", [`genhash`]). The parent starts a worker only when the configuration
//! needs it (vrrp_instance -> VRRP, virtual_server -> checker; `--all` forces both; `-P`/`-C`
//! restrict), respawns it with keepalived's back-off ([`supervisor::calc_restart_delay`]),
//! stops on a worker's CONFIG/FATAL/MISSING_PERMISSION exit, and with `-R` stops instead of
//! respawning.
//!
//! # Seams for the subsystem authors
//! * **Worker mains**: [`worker::vrrp_worker_main`], [`worker::checker_worker_main`] and
//!   [`worker::bfd_worker_main`] (signature [`worker::WorkerMain`]:
//!   `fn(WorkerContext) -> Pin<Box<dyn Future<Output = i32> + Send>>`). A main receives
//!   [`worker::WorkerEvent`]s (Reload with the new checked config, DumpData/DumpStats/DumpJson
//!   answered with text/JSON that the shell writes to keepalived's file names, ClearStats,
//!   Metrics answered with [`metrics::WorkerMetrics`], Shutdown) and returns the exit status
//!   ([`exit`]). It calls [`worker::ParentLink::ready`] once running.
//! * **VIP hand-back**: the VRRP main calls [`worker::ParentLink::held_vips`] with the complete
//!   set of VIPs it has configured after every change (empty after releasing them). If the
//!   worker dies holding VIPs, the parent removes them at once ([`vip::remove_vips`], via
//!   netplat) before respawning it.
//! * **Metrics**: fill [`metrics::WorkerMetrics`] (VRRP instances: state, priorities,
//!   transitions, adverts sent/received, drops per reason; real servers: up, weight, checks,
//!   failures, last check duration; IPVS service/destination counters). The parent renders
//!   `/metrics` and `/status` ([`http`]) when `--metrics-listen` or `global_defs
//!   { metrics_listen ADDR }` is set.
//! * **Logging**: the `info!`/`error!`/`alert!`/`warning!`/`detail!` macros ([`log`]), already
//!   set up per process (syslog ident `Keepalived_vrrp` / `Keepalived_healthcheckers`).
//! * **Tests** replace parts of the process through [`seams::Seams`] (which main a worker runs,
//!   how the program runs itself again, the IPVS the checker drives): [`real_main`] is
//!   [`real_main_with`] and [`seams::Real`].
//! * Signals reach the worker shell directly too (`kill -USR1 <vrrp pid>` works), so a main
//!   never installs signal handlers itself. Scripts a worker spawns must get `Stdio::null()` for
//!   stdin (the worker's stdin is its control channel).

pub mod addrmon;
pub mod bfd_runtime;
pub mod bfd_worker;
pub mod checker_worker;
pub mod cli;
pub mod config;
pub mod config_save;
pub mod control;
pub mod coredump;
pub mod dbus;
pub mod dump;
pub mod exit;
pub mod genhash;
pub mod http;
pub mod log;
pub mod metrics;
pub mod notify;
pub mod pidfile;
pub mod privileges;
pub mod procsched;
pub mod reload_monitor;
pub mod seams;
pub mod signals;
pub mod snmp;
pub mod snmp_checker;
pub mod snmp_vrrp;
pub mod status_cli;
pub mod supervisor;
pub mod syncd;
pub mod vip;
pub mod vrrp_worker;
pub mod worker;

use std::ffi::OsString;
use std::io::Write;
use std::process::Stdio;
use std::sync::Arc;

use crate::cli::Cli;
use crate::config::{LoadError, Loaded};
use crate::log::LogSettings;
use crate::pidfile::{PidFile, PidPaths};
use crate::seams::Seams;
use crate::worker::WorkerKind;

/// Logging for this process: ident, -S, -G, -l (with -n), -g FILE made per process
/// (`keepalived.log` -> `keepalived_vrrp.log`), relative names under $TMPDIR.
pub fn setup_logging(cli: &Cli, ident: &str, suffix: Option<&str>) {
    let facility = cli
        .log_facility
        .as_deref()
        .and_then(cli::parse_facility)
        .unwrap_or(cli::facility::DAEMON);
    let file = cli.log_file.as_ref().map(|name| {
        let name = if name.is_empty() {
            "keepalived.log"
        } else {
            name
        };
        let full = if name.starts_with('/') {
            std::path::PathBuf::from(name)
        } else {
            dump::tmp_dir().join(name)
        };
        match suffix {
            None => full.display().to_string(),
            Some(sfx) => {
                let stem = full
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let ext = full
                    .extension()
                    .map(|e| format!(".{}", e.to_string_lossy()))
                    .unwrap_or_default();
                full.with_file_name(format!("{stem}_{sfx}{ext}"))
                    .display()
                    .to_string()
            }
        }
    });
    log::init(LogSettings {
        ident: ident.to_string(),
        facility,
        syslog: !cli.no_syslog && cli.config_test.is_none(),
        console: cli.log_console && cli.dont_fork,
        file,
        flush: cli.flush_log_file,
        detail: cli.log_detail,
    });
}

/// The pidfile paths for this command line and configuration.
pub fn pid_paths(cli: &Cli, loaded: &Loaded) -> PidPaths {
    let ns = cli.namespace.clone().or_else(|| loaded.namespace());
    // `use_pid_dir` puts the default pidfiles in /run/keepalived/ as a namespace does.
    let ns = ns.or_else(|| loaded.config().global.use_pid_dir.then(String::new));
    let mut p = PidPaths::resolve(
        cli.pid.as_deref(),
        cli.vrrp_pid.as_deref(),
        cli.checkers_pid.as_deref(),
        loaded.instance().as_deref(),
        ns.as_deref(),
    );
    if let Some(b) = &cli.bfd_pid {
        p.bfd = b.into();
    }
    p
}

fn genhash_dispatch(args: &[OsString]) -> Option<i32> {
    let prog = args
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_else(|| "keepalived".into());
    let base = prog.rsplit('/').next().unwrap_or(&prog).to_string();
    let words: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if base == "genhash" {
        return Some(genhash::run(&prog, true, &words));
    }
    let pos = words.iter().position(|w| w == "-T" || w == "--genhash")?;
    if pos != 0 {
        eprintln!(
            "Warning -- `{}` not used as first option, previous options ignored",
            if words[pos] == "-T" { "-T" } else { "genhash" }
        );
    }
    Some(genhash::run(&prog, false, &words[pos + 1..]))
}

/// keepalived's default umask: S_IXUSR | S_IRWXG | S_IRWXO.
pub const DEFAULT_UMASK: u32 = 0o177;

/// `global_defs umask` from the configuration (read at start and at each reload), unless -u
/// was given: keepalived's umask_handler.
pub fn apply_config_umask(cli: &Cli, config: &conf_parse::Config) {
    let Some(m) = config.global.umask else { return };
    if cli.umask.is_some() {
        info!("umask command line option specified, ignoring config option");
        return;
    }
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(m));
}

/// Everything `main` does; returns the exit status.
pub fn real_main(args: Vec<OsString>) -> i32 {
    real_main_with(args, Arc::new(seams::Real))
}

/// [`real_main`] with the given [`Seams`] (a test binary's fakes).
pub fn real_main_with(args: Vec<OsString>, seams: Arc<dyn Seams>) -> i32 {
    // Every message, including those before `-l`/`-S` are read, goes through the `log` facade.
    log::install();
    // One malloc arena for all threads: the daemon's threads are mostly asleep, and an arena
    // per thread costs idle RSS (see `netplat::mem`).
    netplat::mem::limit_malloc_arenas(1);
    if let Some(code) = genhash_dispatch(&args) {
        return code;
    }
    // A reload or dump request (SIGHUP, SIGUSR1, SIGUSR2, keepalived's SIGJSON and stats-clear
    // signals) that arrives before the handlers are installed must not kill a starting daemon
    // or worker (their default action): ignored until then (the chaos soak found a parent
    // killed by a SIGHUP in its first 50 ms; keepalived 2.2.7 has the same window).
    netplat::process::ignore_until_handled(&[
        libc::SIGHUP,
        libc::SIGUSR1,
        libc::SIGUSR2,
        cli::sig_json(),
        cli::sig_stats_clear(),
    ]);
    let cli = match cli::parse(args.clone()) {
        cli::Parsed::Run(c) => *c,
        cli::Parsed::Exit(code) => return code,
    };
    config::set_snmp_cli(cli.snmp, cli.snmp_agent_socket.clone());
    snmp_checker::set_cli(cli.vrrp_only, cli.check_only, cli.all);
    if let Some(w) = cli.worker.as_deref() {
        return match WorkerKind::from_name(w) {
            Some(kind) => worker::run(&cli, kind, seams),
            None => {
                eprintln!("Unknown worker {w}");
                exit::FATAL
            }
        };
    }
    if let Some(u) = cli.umask.as_deref() {
        match cli::parse_umask(u) {
            Some(m) => {
                nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(m));
            }
            None => eprint!("Invalid --umask option {u}"),
        }
    }
    if let Some(f) = cli.log_facility.as_deref() {
        if cli::parse_facility(f).is_none() {
            eprintln!("Invalid log facility '{f}'");
        }
    }
    if cli.config_test.is_some() {
        return config_test(&cli);
    }
    if let Some(addr) = cli.status.as_deref() {
        return status_cli::run(&cli, addr);
    }
    for o in cli::ignored_options(&cli) {
        eprintln!("keepalived-rs: {o}");
    }
    if cli.daemonized {
        let _ = nix::unistd::setsid();
    }
    setup_logging(&cli, "Keepalived", None);
    for o in cli::ignored_options(&cli) {
        warning!("{o}");
    }
    if cli.umask.is_none() {
        // keepalived's default umask (its umask_val): files it creates are 0600 unless the
        // `umask` keyword or -u says otherwise (pidfiles: 0644 always).
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(DEFAULT_UMASK));
    }
    daemon(cli, args, seams)
}

/// `-t[=LOG_FILE]`: diagnostics to stderr (or appended to LOG_FILE), keepalived's verdict as
/// the exit status; with `-d` the effective configuration (canonical printer) on stdout.
fn config_test(cli: &Cli) -> i32 {
    let file = cli.config_file();
    let opts = config::parse_options(cli.config_id.as_deref(), cli.all_config, cli.compat);
    // -d needs the whole model; plain -t checks block by block in bounded memory (same
    // diagnostics and exit code)
    let (report, parsed) = if cli.dump_conf {
        let parsed = conf_parse::parse_file(&file, &opts);
        let system = conf_parse::system_checks(&parsed.config);
        let exit_code = conf_parse::exit_code(&parsed, &system);
        let report = conf_parse::CheckReport {
            diagnostics: parsed.diagnostics.clone(),
            system,
            exit_code,
        };
        (report, Some(parsed))
    } else {
        (conf_parse::check_file(&file, &opts), None)
    };
    let mut out: Box<dyn Write> = match cli.config_test.as_deref() {
        Some(path) if !path.is_empty() => {
            use std::os::unix::fs::OpenOptionsExt;
            match std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o644)
                .custom_flags(libc::O_NOFOLLOW)
                .open(path)
            {
                Ok(f) => Box::new(f),
                Err(e) => {
                    eprintln!("Unable to open config-test log file {path} - {e}");
                    return exit::FATAL;
                }
            }
        }
        _ => Box::new(std::io::stderr()),
    };
    for d in report.problems() {
        let _ = writeln!(out, "{d}");
    }
    // The keyword registry's notes: what this configuration (and command line) uses that has
    // no effect here.
    for d in report.notes() {
        let _ = writeln!(out, "{d}");
    }
    for o in cli::ignored_options(cli) {
        let _ = writeln!(out, "note: {o}");
    }
    if let Some(parsed) = parsed {
        print!("{}", conf_parse::print(&parsed.config));
    }
    report.exit_code
}

pub(crate) fn enter_namespace(name: &str) -> Result<(), String> {
    let path = format!("/run/netns/{name}");
    let f = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
    nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| format!("setns {name}: {e}"))
}

fn daemon(cli: Cli, args: Vec<OsString>, seams: Arc<dyn Seams>) -> i32 {
    info!("Starting {}", cli::version_string());
    info!(
        "Running on Linux {} {}",
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim(),
        std::fs::read_to_string("/proc/sys/kernel/version")
            .unwrap_or_default()
            .trim()
    );
    let line: Vec<String> = args
        .iter()
        .map(|a| format!("'{}'", a.to_string_lossy()))
        .collect();
    info!("Command line: {}", line.join(" "));
    let stopped = || info!("Stopped {}", cli::version_string());

    let file = cli.config_file();
    let opts = config::parse_options(cli.config_id.as_deref(), cli.all_config, cli.compat);
    let loaded = match config::load(&file, &opts) {
        Ok(l) => l,
        Err(e) => {
            let code = match &e {
                LoadError::Invalid { diagnostics, .. } => {
                    for d in diagnostics.iter().filter(|d| d.counts()) {
                        error!("{d}");
                    }
                    // keepalived stops with NO_CONFIG when an include failed a check
                    if diagnostics
                        .iter()
                        .any(|d| d.code == conf_parse::Code::IncludeCheck)
                    {
                        exit::NO_CONFIG
                    } else {
                        exit::CONFIG
                    }
                }
                _ => exit::NO_CONFIG,
            };
            error!("{e}");
            stopped();
            return code;
        }
    };
    dump::configure(&loaded.config().global);
    for d in loaded.warnings() {
        info!("{d}");
    }
    for d in loaded.notes() {
        warning!("{d}");
    }
    apply_config_umask(&cli, loaded.config());
    procsched::update_name(None, loaded.config().global.process_names.parent.as_deref());
    if cli.dump_conf {
        for l in conf_parse::print(loaded.config()).lines() {
            info!("{l}");
        }
    }
    if let Some(ns) = cli.namespace.clone().or_else(|| loaded.namespace()) {
        if let Err(e) = enter_namespace(&ns) {
            error!("Unable to set network namespace {ns} - exiting ({e})");
            stopped();
            return exit::FATAL;
        }
    }
    let paths = pid_paths(&cli, &loaded);
    // keepalived's use_pid_dir: set by the keyword, an instance or a namespace; the directory
    // is made at the start and removed (when empty) at the stop.
    let pid_dir = loaded.config().global.use_pid_dir
        || loaded.instance().is_some()
        || cli.namespace.is_some()
        || loaded.namespace().is_some();
    if pid_dir
        || [&paths.main, &paths.vrrp, &paths.checkers]
            .iter()
            .any(|p| p.starts_with(pidfile::PID_DIR))
    {
        // 0755 whatever the umask, as keepalived's create_pid_dir (it lifts rwxr-xr-x).
        use nix::sys::stat::{umask, Mode};
        let old = umask(Mode::empty());
        umask(old & !Mode::from_bits_truncate(0o755));
        let _ = std::fs::create_dir_all(pidfile::PID_DIR);
        umask(old);
    }
    // A reload file left by a daemon that died while reading (keepalived: remove_reload_file).
    if let Some(p) = supervisor::reload_file(&cli, &loaded) {
        let _ = std::fs::remove_file(p);
    }
    // keepalived_running(): the parent's and the needed workers' pidfiles.
    let mut checks = vec![&paths.main];
    if !cli.check_only && (cli.all || loaded.has_vrrp()) {
        checks.push(&paths.vrrp);
    }
    if !cli.vrrp_only && (cli.all || loaded.has_checker()) {
        checks.push(&paths.checkers);
    }
    for p in checks {
        if let Some(pid) = pidfile::running(p) {
            info!("daemon is already running");
            eprintln!(
                "keepalived: daemon is already running (pid {pid} holds {}); not starting a second one",
                p.display()
            );
            return exit::OK;
        }
    }
    if !cli.dont_fork && !cli.daemonized {
        // Detach: a copy of ourselves in a new session; this process returns at once.
        let mut cmd = seams.command();
        use std::os::unix::process::CommandExt;
        cmd.arg0(args.first().cloned().unwrap_or_else(|| "keepalived".into()))
            .args(args.iter().skip(1))
            .arg("--daemonized")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        return match cmd.spawn() {
            Ok(_) => exit::OK,
            Err(e) => {
                error!("Unable to daemonize: {e}");
                exit::FATAL
            }
        };
    }
    let mut core_dump = coredump::CoreDump::init(cli.core_dump, cli.core_dump_pattern.as_deref());
    let main_pid = match PidFile::acquire(&paths.main) {
        Ok(p) => p,
        Err(pidfile::PidError::Running { pid, path }) => {
            info!("daemon is already running");
            eprintln!("keepalived: daemon is already running (pid {pid} holds {path}); not starting a second one");
            return exit::OK;
        }
        Err(e) => {
            error!("pidfile_write : Cannot open pidfile: {e}");
            eprintln!("keepalived: {e}");
            stopped();
            return exit::FATAL;
        }
    };
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
    // `--metrics-listen` wins over `global_defs { metrics_listen }` (checked by conf-parse).
    let listen = match cli.metrics_listen.as_deref() {
        Some(l) => match http::parse_listen(l) {
            Some(addr) => Some(addr),
            None => {
                error!("--metrics-listen: bad address '{l}' (want IP:PORT or PORT)");
                None
            }
        },
        None => loaded.metrics_listen(),
    };
    let metrics_allow = loaded.config().global.metrics_allow.clone();
    let restriction = privileges::parent_restriction(loaded.config());
    let code = rt.block_on(async move {
        let sup = supervisor::Supervisor::new(cli, args, loaded, paths, seams);
        if let Some(addr) = listen {
            http::spawn(addr, &metrics_allow, sup.shared()).await;
        }
        // Least privilege (docs/privileges.md): the listener is bound, the namespace entered,
        // no other thread runs yet.
        privileges::apply("Keepalived", restriction);
        sup.run().await
    });
    drop(main_pid);
    if pid_dir {
        // keepalived's remove_pid_dir: only when nothing else is in it.
        let _ = std::fs::remove_dir(pidfile::PID_DIR);
    }
    core_dump.restore();
    stopped();
    code
}

/// Once the process has started (or reloaded): one second later, drop the startup-only
/// pages (the read-only pages of the executable and its libraries, which refault from the
/// page cache as the idle loop runs them again, and the heap's free memory;
/// `netplat::mem`). A no-op outside a tokio runtime.
pub(crate) fn release_startup_memory_soon() {
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        release_startup_memory_after(&rt, std::time::Duration::from_secs(1));
    }
}

static RELEASE_GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// [`release_startup_memory_soon`] after `delay` on the runtime `rt` (callable from any
/// thread); a later request cancels an earlier one still waiting.
pub(crate) fn release_startup_memory_after(
    rt: &tokio::runtime::Handle,
    delay: std::time::Duration,
) {
    use std::sync::atomic::Ordering;
    let generation = RELEASE_GENERATION.fetch_add(1, Ordering::SeqCst) + 1;
    rt.spawn(async move {
        tokio::time::sleep(delay).await;
        if RELEASE_GENERATION.load(Ordering::SeqCst) == generation {
            netplat::mem::release_startup_memory();
        }
    });
}
