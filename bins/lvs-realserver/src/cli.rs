//! The command line ([`Cli`], clap) and what each command does ([`run`]).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use arp_sysctl::{Error, Mode, ProcSysctl, State};
use clap::{Parser, Subcommand, ValueEnum};

use crate::config;
use crate::realserver::{self, KernelNet, StartRequest};

/// Exit status: success.
const EXIT_OK: u8 = 0;
/// Exit status: a system operation failed (changes were rolled back).
const EXIT_FAILURE: u8 = 1;
/// Exit status: invalid input or usage.
const EXIT_INVALID: u8 = 2;
/// Exit status: `status` found drift.
const EXIT_DRIFT: u8 = 3;
/// Exit status: `status` found nothing started.
const EXIT_NOT_STARTED: u8 = 4;
/// Exit status: permission denied.
const EXIT_PERMISSION: u8 = 5;

const EXIT_CODES_HELP: &str = "\
Exit status:
  0  success (start/stop done or nothing to do; status: active, no drift)
  1  a system operation failed; every change of this run was rolled back
  2  invalid input or usage (not an address, network/broadcast address, VIP already
     a real address of this host, missing interface, bad config file...)
  3  status: drift (a VIP or sysctl was changed behind our back)
  4  status: not started (no saved state)
  5  permission denied (run as root / with CAP_NET_ADMIN)";

/// Prepare this host as an LVS real server (direct routing or IP tunnelling).
///
/// DR: each VIP is added to `lo` (/32 with label lo:rs0; IPv6 /128 nodad) after setting
/// arp_ignore=1 and arp_announce=2 on all, lo and --iface, so the host accepts traffic for
/// the VIP without answering ARP for it. TUN: the VIPs go on tunl0 (ipip), which is brought
/// up, and rp_filter is relaxed on tunl0 and all. The original values of everything changed
/// are saved in the state directory; stop restores exactly them.
#[derive(Debug, Parser)]
#[command(name = "lvs-realserver", version, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// Configuration file used by `start` when no VIP is given on the command line.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where the saved originals live.
    #[arg(long, global = true, value_name = "DIR", default_value = arp_sysctl::state::DEFAULT_STATE_DIR)]
    state_dir: PathBuf,
    /// Print what would change and change nothing.
    #[arg(long, global = true)]
    dry_run: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ModeArg {
    /// Direct routing (VIPs on lo).
    Dr,
    /// IP-in-IP tunnelling (VIPs on tunl0).
    Tun,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Add the VIPs and set the sysctls (idempotent; also repairs drift).
    Start {
        /// VIPs (IPv4 or IPv6). Without any, they are read from --config.
        #[arg(value_name = "VIP")]
        vips: Vec<String>,
        /// Forwarding method [default: dr, or the config file's].
        #[arg(long, value_enum)]
        mode: Option<ModeArg>,
        /// Interface facing the director; gets arp_ignore/arp_announce too.
        #[arg(long, value_name = "IF")]
        iface: Option<String>,
        /// IPv4 address label [default: lo:rs0 / tunl0:rs0].
        #[arg(long)]
        label: Option<String>,
    },
    /// Remove the given VIPs, or everything (restoring every saved original).
    Stop {
        /// VIPs to remove; when the last one goes, everything is restored.
        #[arg(value_name = "VIP")]
        vips: Vec<String>,
    },
    /// Compare the live system with the saved state; non-zero exit on drift.
    Status {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

fn fail(e: &Error) -> u8 {
    eprintln!("lvs-realserver: error: {e}");
    if e.is_permission() {
        eprintln!("lvs-realserver: hint: run as root (needs CAP_NET_ADMIN)");
        EXIT_PERMISSION
    } else if e.is_invalid_input() {
        EXIT_INVALID
    } else {
        EXIT_FAILURE
    }
}

/// Serialises runs that may change things (start/stop) on `<state dir>/lock`, so a
/// `systemctl reload` and a manual run cannot interleave. Held until dropped.
fn lock_state_dir(dir: &Path) -> Result<nix::fcntl::Flock<std::fs::File>, Error> {
    let path = dir.join("lock");
    let err = |detail: String| Error::State {
        path: path.clone(),
        detail,
    };
    std::fs::create_dir_all(dir).map_err(|e| err(format!("create directory: {e}")))?;
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| err(e.to_string()))?;
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| err(format!("lock: {e}")))
}

/// Runs the command; returns the exit status (see `--help`).
pub fn run(cli: &Cli) -> u8 {
    let _lock = match (&cli.command, cli.dry_run) {
        (Command::Status { .. }, _) | (_, true) => None,
        _ => match lock_state_dir(&cli.state_dir) {
            Ok(l) => Some(l),
            Err(e) => return fail(&e),
        },
    };
    match &cli.command {
        Command::Start {
            vips,
            mode,
            iface,
            label,
        } => match build_request(cli, vips, *mode, iface, label) {
            Ok(req) => start(cli, &req),
            Err(e) => fail(&e),
        },
        Command::Stop { vips } => stop(cli, vips),
        Command::Status { json } => status(cli, *json),
    }
}

fn build_request(
    cli: &Cli,
    vips: &[String],
    mode: Option<ModeArg>,
    iface: &Option<String>,
    label: &Option<String>,
) -> Result<StartRequest, Error> {
    let file = if vips.is_empty() {
        let path = cli
            .config
            .clone()
            .unwrap_or_else(|| PathBuf::from(config::DEFAULT_CONFIG));
        Some(config::load(&path)?)
    } else if let Some(p) = &cli.config {
        // Explicit config plus VIPs: the config still supplies mode/iface/label.
        Some(config::load(p)?)
    } else {
        None
    };
    let file = file.unwrap_or_default();
    let mode = match mode {
        Some(ModeArg::Dr) => Mode::Dr,
        Some(ModeArg::Tun) => Mode::Tun,
        None => file.mode.unwrap_or(Mode::Dr),
    };
    Ok(StartRequest {
        mode,
        iface: iface.clone().or(file.iface),
        vips: if vips.is_empty() {
            file.vips
        } else {
            vips.to_vec()
        },
        label: label.clone().or(file.label),
    })
}

fn load_state(dir: &Path) -> Result<Option<State>, Error> {
    State::load(dir)
}

fn start(cli: &Cli, req: &StartRequest) -> u8 {
    let mut sys = ProcSysctl::new();
    let existing = match load_state(&cli.state_dir) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let mut net = match KernelNet::new() {
        Ok(n) => n,
        Err(e) => return fail(&e),
    };
    let mut plan = match realserver::plan_start(&sys, &mut net, req, existing.as_ref()) {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    for n in &plan.notes {
        println!("note: {n}");
    }
    if cli.dry_run {
        if plan.steps.is_empty() {
            println!("dry run: nothing to change");
        }
        for s in &plan.steps {
            println!("would {s}");
        }
        return EXIT_OK;
    }
    if let Err(e) = realserver::apply_start(&mut sys, &mut net, &mut plan) {
        return fail(&e);
    }
    if existing.as_ref() != Some(&plan.state) {
        if let Err(e) = plan.state.save(&cli.state_dir) {
            // Without a record, stop could not restore: undo rather than leave it.
            let e = realserver::undo_start(&mut sys, &mut net, &plan, e);
            return fail(&e);
        }
    }
    for s in &plan.steps {
        println!("{s}");
    }
    if plan.steps.is_empty() {
        println!("already started, nothing to change");
    }
    EXIT_OK
}

fn parse_vips(list: &[String]) -> Result<Vec<IpAddr>, Error> {
    list.iter()
        .map(|s| {
            let t = s.split('/').next().unwrap_or(s);
            t.trim()
                .parse::<IpAddr>()
                .map_err(|_| Error::InvalidInput(format!("{s:?} is not an IP address")))
        })
        .collect()
}

fn stop(cli: &Cli, vips: &[String]) -> u8 {
    let only = if vips.is_empty() {
        None
    } else {
        match parse_vips(vips) {
            Ok(v) => Some(v),
            Err(e) => return fail(&e),
        }
    };
    let state = match load_state(&cli.state_dir) {
        Ok(Some(s)) => s,
        Ok(None) => {
            println!("not started, nothing to stop");
            return EXIT_OK;
        }
        Err(e) => return fail(&e),
    };
    let mut sys = ProcSysctl::new();
    let (steps, keep, notes) = realserver::plan_stop(&sys, &state, only.as_deref());
    for n in &notes {
        println!("note: {n}");
    }
    if cli.dry_run {
        for s in &steps {
            println!("would {s}");
        }
        return EXIT_OK;
    }
    let mut net = match KernelNet::new() {
        Ok(n) => n,
        Err(e) => return fail(&e),
    };
    let errors = realserver::apply_stop(&mut sys, &mut net, &steps);
    for s in &steps {
        if !errors.iter().any(|e| e.starts_with(&s.to_string())) {
            println!("{s}");
        }
    }
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("lvs-realserver: error: {e}");
        }
        eprintln!(
            "lvs-realserver: state kept in {}; fix the cause and run stop again",
            cli.state_dir.display()
        );
        let perm = errors
            .iter()
            .any(|e| e.contains("ermission denied") || e.contains("not permitted"));
        return if perm { EXIT_PERMISSION } else { EXIT_FAILURE };
    }
    let saved = match keep {
        Some(s) => s.save(&cli.state_dir),
        None => State::remove(&cli.state_dir),
    };
    match saved {
        Ok(()) => EXIT_OK,
        Err(e) => fail(&e),
    }
}

fn status(cli: &Cli, json: bool) -> u8 {
    let state = match load_state(&cli.state_dir) {
        Ok(Some(s)) => s,
        Ok(None) => {
            if json {
                println!("{}", serde_json::json!({ "active": false }));
            } else {
                println!("not started (no state in {})", cli.state_dir.display());
            }
            return EXIT_NOT_STARTED;
        }
        Err(e) => return fail(&e),
    };
    let sys = ProcSysctl::new();
    let mut net = match KernelNet::new() {
        Ok(n) => n,
        Err(e) => return fail(&e),
    };
    let report = match realserver::status(&sys, &mut net, &state) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    if json {
        let mut v = serde_json::to_value(&report).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("active".into(), serde_json::Value::Bool(true));
        }
        println!("{v}");
    } else {
        println!(
            "active, mode {}{}",
            report.mode,
            report
                .iface
                .as_deref()
                .map(|i| format!(", iface {i}"))
                .unwrap_or_default()
        );
        for v in &report.vips {
            println!(
                "  vip {}/{} dev {}{}: {}",
                v.vip.addr,
                v.vip.prefix_len,
                v.vip.dev,
                v.vip
                    .label
                    .as_deref()
                    .map(|l| format!(" label {l}"))
                    .unwrap_or_default(),
                if v.present { "present" } else { "MISSING" }
            );
        }
        for s in &report.sysctls {
            let cur = s
                .current
                .map(|c| c.to_string())
                .unwrap_or_else(|| "?".into());
            println!(
                "  {} = {cur} (applied {}, original {}){}",
                s.name,
                s.applied,
                s.original,
                if s.current == Some(s.applied) {
                    ""
                } else {
                    "  DRIFT"
                }
            );
        }
        for l in &report.links {
            println!(
                "  link {}: {}",
                l.name,
                if !l.exists {
                    "GONE"
                } else if l.up {
                    "up"
                } else {
                    "DOWN"
                }
            );
        }
        for d in &report.drift {
            println!("drift: {d}");
        }
    }
    if report.drift.is_empty() {
        EXIT_OK
    } else {
        EXIT_DRIFT
    }
}
