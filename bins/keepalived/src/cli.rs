//! The keepalived 2.x command line (keepalived/core/main.c `parse_cmdline`), parsed with clap
//! and reported the way keepalived's getopt loop reports: `Unknown option -Z`,
//! `Missing parameter for option --use-file`, exit status 1.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::builder::NonEmptyStringValueParser;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgAction, Parser};

use crate::exit;

/// keepalived's default configuration file.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/keepalived/keepalived.conf";

/// Every option keepalived 2.2.7 (Debian build) accepts, plus our own extensions
/// (`--metrics-listen`) and hidden internal flags (worker re-exec).
#[derive(Parser, Debug, Clone, Default)]
#[command(
    name = "keepalived",
    disable_help_flag = true,
    disable_version_flag = true,
    disable_help_subcommand = true,
    dont_collapse_args_in_usage = true
)]
pub struct Cli {
    /// -f, --use-file=FILE: configuration file.
    #[arg(short = 'f', long = "use-file", value_name = "FILE", value_parser = NonEmptyStringValueParser::new())]
    pub use_file: Option<String>,
    /// -P, --vrrp: only run the VRRP subsystem.
    #[arg(short = 'P', long = "vrrp")]
    pub vrrp_only: bool,
    /// -C, --check: only run the health-checker subsystem.
    #[arg(short = 'C', long = "check")]
    pub check_only: bool,
    /// -B, --no_bfd: do not run the BFD worker.
    #[arg(short = 'B', long = "no_bfd")]
    pub no_bfd: bool,
    /// --all: run every worker even without configuration for it.
    #[arg(long = "all")]
    pub all: bool,
    /// -l, --log-console.
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,
    /// -D, --log-detail (twice: extra detail).
    #[arg(short = 'D', long = "log-detail", action = ArgAction::Count)]
    pub log_detail: u8,
    /// -S, --log-facility=([0-7]|local[0-7]|user|daemon).
    #[arg(short = 'S', long = "log-facility", value_parser = NonEmptyStringValueParser::new())]
    pub log_facility: Option<String>,
    /// -g, --log-file[=FILE] (default $TMPDIR/keepalived.log), one file per process.
    #[arg(short = 'g', long = "log-file", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub log_file: Option<String>,
    /// --flush-log-file.
    #[arg(long = "flush-log-file")]
    pub flush_log_file: bool,
    /// -G, --no-syslog.
    #[arg(short = 'G', long = "no-syslog")]
    pub no_syslog: bool,
    /// -u, --umask=MASK.
    #[arg(short = 'u', long = "umask", value_parser = NonEmptyStringValueParser::new())]
    pub umask: Option<String>,
    /// -X, --release-vips.
    #[arg(short = 'X', long = "release-vips")]
    pub release_vips: bool,
    /// -V, --dont-release-vrrp.
    #[arg(short = 'V', long = "dont-release-vrrp")]
    pub dont_release_vrrp: bool,
    /// -I, --dont-release-ipvs.
    #[arg(short = 'I', long = "dont-release-ipvs")]
    pub dont_release_ipvs: bool,
    /// -R, --dont-respawn.
    #[arg(short = 'R', long = "dont-respawn")]
    pub dont_respawn: bool,
    /// -n, --dont-fork.
    #[arg(short = 'n', long = "dont-fork")]
    pub dont_fork: bool,
    /// -d, --dump-conf.
    #[arg(short = 'd', long = "dump-conf")]
    pub dump_conf: bool,
    /// -p, --pid=FILE.
    #[arg(short = 'p', long = "pid", value_parser = NonEmptyStringValueParser::new())]
    pub pid: Option<String>,
    /// -r, --vrrp_pid=FILE.
    #[arg(short = 'r', long = "vrrp_pid", value_parser = NonEmptyStringValueParser::new())]
    pub vrrp_pid: Option<String>,
    /// -c, --checkers_pid=FILE.
    #[arg(short = 'c', long = "checkers_pid", value_parser = NonEmptyStringValueParser::new())]
    pub checkers_pid: Option<String>,
    /// -a, --address-monitoring.
    #[arg(short = 'a', long = "address-monitoring")]
    pub address_monitoring: bool,
    /// -b, --bfd_pid=FILE: the BFD worker's pidfile.
    #[arg(short = 'b', long = "bfd_pid", value_parser = NonEmptyStringValueParser::new())]
    pub bfd_pid: Option<String>,
    /// -x, --snmp: enable the SNMP subsystem (every `enable_snmp_*`).
    #[arg(short = 'x', long = "snmp")]
    pub snmp: bool,
    /// -A, --snmp-agent-socket=FILE: the master agent's socket (over `snmp_socket`).
    #[arg(short = 'A', long = "snmp-agent-socket", value_parser = NonEmptyStringValueParser::new())]
    pub snmp_agent_socket: Option<String>,
    /// -s, --namespace=NAME.
    #[arg(short = 's', long = "namespace", value_parser = NonEmptyStringValueParser::new())]
    pub namespace: Option<String>,
    /// -m, --core-dump.
    #[arg(short = 'm', long = "core-dump")]
    pub core_dump: bool,
    /// -M, --core-dump-pattern[=PATN].
    #[arg(short = 'M', long = "core-dump-pattern", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub core_dump_pattern: Option<String>,
    /// -e, --all-config.
    #[arg(short = 'e', long = "all-config")]
    pub all_config: bool,
    /// -i, --config-id id.
    #[arg(short = 'i', long = "config-id", value_parser = NonEmptyStringValueParser::new())]
    pub config_id: Option<String>,
    /// --signum=SIGFUNC.
    #[arg(long = "signum", value_parser = NonEmptyStringValueParser::new())]
    pub signum: Option<String>,
    /// -t, --config-test[=LOG_FILE].
    #[arg(short = 't', long = "config-test", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub config_test: Option<String>,
    /// --config-fd (keepalived internal; accepted and ignored).
    #[arg(long = "config-fd", hide = true)]
    pub config_fd: Option<String>,
    /// -v, --version.
    #[arg(short = 'v', long = "version")]
    pub version: bool,
    /// -h, --help.
    #[arg(short = 'h', long = "help")]
    pub help: bool,
    /// keepalived-rs: serve Prometheus /metrics and /status JSON on ADDR (PORT alone binds
    /// 127.0.0.1). Overrides global_defs `metrics_listen`.
    #[arg(long = "metrics-listen", value_name = "ADDR", value_parser = NonEmptyStringValueParser::new())]
    pub metrics_listen: Option<String>,
    /// keepalived-rs: judge the configuration as keepalived LEVEL would (2.2.7 or 2.4.3): a
    /// keyword introduced after LEVEL is an unknown keyword, reported as that release reports
    /// one. Default: the union (every keyword of every release known).
    #[arg(long = "compat", value_name = "LEVEL", value_parser = parse_compat)]
    pub compat: Option<conf_parse::keywords::Release>,
    /// keepalived-rs: print the running daemon's live state (VRRP instances, virtual and real
    /// servers, recent events) read from its metrics listener (ADDR, else `--metrics-listen`,
    /// else the configuration's `metrics_listen`), then exit.
    #[arg(long = "status", value_name = "ADDR", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub status: Option<String>,
    /// Internal: run as the `vrrp` or `checker` worker (the parent re-executes itself).
    #[arg(long = "worker", hide = true)]
    pub worker: Option<String>,
    /// Internal: we are the detached daemon copy (no second fork).
    #[arg(long = "daemonized", hide = true)]
    pub daemonized: bool,
    /// Non-option words (keepalived prints them as unexpected and carries on).
    #[arg(hide = true)]
    pub rest: Vec<String>,
}

/// `--compat LEVEL`.
fn parse_compat(s: &str) -> Result<conf_parse::keywords::Release, String> {
    conf_parse::keywords::Release::parse_level(s).ok_or_else(|| {
        let levels: Vec<String> = conf_parse::keywords::Release::LEVELS
            .iter()
            .map(|r| r.to_string())
            .collect();
        format!("'{s}' is not a compatibility level ({})", levels.join(", "))
    })
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Parsed {
    /// Run (daemon, config test, dump...).
    Run(Box<Cli>),
    /// Already answered (help, version, signum, bad option): exit with this status.
    Exit(i32),
}

/// Parse keepalived's command line. Messages go to stderr (stdout for unexpected arguments and
/// `--signum`) exactly like keepalived's.
pub fn parse(args: Vec<OsString>) -> Parsed {
    let prog = args
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_else(|| "keepalived".to_string());
    // getopt's optional arguments (`t::`, `g::`, `M::`) follow a short option attached
    // (`-M/tmp/core.%p`); clap takes them after `=` only: spell such a word the long way.
    let args: Vec<OsString> = args
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let Some(w) = a.to_str().filter(|_| i > 0) else {
                return a;
            };
            let long = match w.get(..2) {
                Some("-t") => "--config-test",
                Some("-g") => "--log-file",
                Some("-M") => "--core-dump-pattern",
                _ => return a,
            };
            match w.get(2..) {
                Some(v) if !v.is_empty() => OsString::from(format!("{long}={v}")),
                _ => a,
            }
        })
        .collect();
    // getopt reports every unknown option and carries on; clap stops at the first. Drop each
    // unknown word we can find and parse again, so all of them are reported, as keepalived does.
    let mut work = args.clone();
    let mut bad = false;
    let cli = loop {
        match Cli::try_parse_from(work.iter()) {
            Ok(c) => break Some(c),
            Err(e) => {
                bad = true;
                let unknown = match (e.kind(), e.get(ContextKind::InvalidArg)) {
                    (ErrorKind::UnknownArgument, Some(ContextValue::String(s))) => s.clone(),
                    _ => {
                        report_clap_error(&e, &args);
                        break None;
                    }
                };
                // The word as typed: `--other=1` for clap's `--other`.
                let pos = work.iter().skip(1).position(|a| {
                    let a = a.to_string_lossy();
                    a == unknown || a.starts_with(&format!("{unknown}="))
                });
                match pos {
                    Some(i) => {
                        eprintln!("Unknown option {}", work[i + 1].to_string_lossy());
                        work.remove(i + 1);
                    }
                    None => {
                        report_clap_error(&e, &args);
                        break None;
                    }
                }
            }
        }
    };
    let Some(cli) = cli else {
        return Parsed::Exit(exit::FATAL);
    };
    if cli.version {
        eprint!("{}", version_block());
        return Parsed::Exit(exit::OK);
    }
    if cli.help {
        eprint!("{}", usage(&prog));
        return Parsed::Exit(exit::OK);
    }
    if let Some(name) = &cli.signum {
        return match signum(name) {
            Some(n) => {
                println!("{n}");
                Parsed::Exit(exit::OK)
            }
            None => {
                eprintln!("Unknown sigfunc {name}");
                Parsed::Exit(exit::FATAL)
            }
        };
    }
    if !cli.rest.is_empty() {
        let mut s = String::from("Unexpected argument(s): ");
        for a in &cli.rest {
            s.push_str(a);
            s.push(' ');
        }
        println!("{s}");
    }
    if bad {
        return Parsed::Exit(exit::FATAL);
    }
    Parsed::Run(Box::new(cli))
}

fn report_clap_error(e: &clap::Error, args: &[OsString]) {
    let invalid = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => String::new(),
    };
    match e.kind() {
        ErrorKind::UnknownArgument => {
            // keepalived prints the whole word as typed (`--other=1`).
            let name = invalid.clone();
            if name.is_empty() {
                eprintln!("Unknown option");
            } else {
                eprintln!("Unknown option {name}");
            }
        }
        ErrorKind::InvalidValue | ErrorKind::NoEquals | ErrorKind::TooFewValues => {
            eprintln!(
                "Missing parameter for option {}",
                option_as_typed(&invalid, args)
            );
        }
        ErrorKind::ArgumentConflict | ErrorKind::TooManyValues => {
            eprintln!("Unexpected argument(s): {invalid}");
        }
        _ => {
            // Anything else clap finds: its own message, first line only.
            let msg = e.to_string();
            let first = msg.lines().next().unwrap_or("invalid command line");
            eprintln!("{}", first.trim_start_matches("error: "));
        }
    }
}

/// clap renders the offending arg as `--use-file <FILE>` or `-f <FILE>`; keepalived names it
/// the way the user typed it (`-f` or `--use-file`).
fn option_as_typed(rendered: &str, args: &[OsString]) -> String {
    let head = rendered.split([' ', '=']).next().unwrap_or(rendered);
    let long = head.strip_prefix("--").map(str::to_string);
    let short = long
        .as_deref()
        .and_then(short_for_long)
        .or_else(|| head.strip_prefix('-').and_then(|s| s.chars().next()));
    if let Some(l) = &long {
        let typed_long = args.iter().skip(1).any(|a| {
            let a = a.to_string_lossy();
            a == format!("--{l}") || a.starts_with(&format!("--{l}="))
        });
        if typed_long || short.is_none() {
            return format!("--{l}");
        }
    }
    match short {
        Some(c) => format!("-{c}"),
        None => head.to_string(),
    }
}

fn short_for_long(long: &str) -> Option<char> {
    Some(match long {
        "use-file" => 'f',
        "log-facility" => 'S',
        "umask" => 'u',
        "pid" => 'p',
        "vrrp_pid" => 'r',
        "checkers_pid" => 'c',
        "bfd_pid" => 'b',
        "snmp-agent-socket" => 'A',
        "namespace" => 's',
        "config-id" => 'i',
        _ => return None,
    })
}

/// keepalived's `get_signum` (lib/signals.c), Debian build (JSON enabled, no TDUMP).
pub fn signum(name: &str) -> Option<i32> {
    Some(match name {
        "STOP" => libc::SIGTERM,
        "RELOAD" => libc::SIGHUP,
        "DATA" => libc::SIGUSR1,
        "STATS" => libc::SIGUSR2,
        "STATS_CLEAR" => sig_stats_clear(),
        "JSON" => sig_json(),
        _ => return None,
    })
}

/// keepalived's SIGJSON (SIGRTMIN + 2).
pub fn sig_json() -> i32 {
    libc::SIGRTMIN() + 2
}

/// keepalived's SIGSTATS_CLEAR (SIGRTMAX - 1).
pub fn sig_stats_clear() -> i32 {
    libc::SIGRTMAX() - 1
}

/// syslog facility codes (LOG_* >> 3).
pub mod facility {
    /// LOG_USER.
    pub const USER: u8 = 1;
    /// LOG_DAEMON.
    pub const DAEMON: u8 = 3;
    /// LOG_LOCAL0.
    pub const LOCAL0: u8 = 16;
}

/// `-S`: `0`-`7` and `local0`-`local7` select LOG_LOCALn; `user`, `daemon` by name.
pub fn parse_facility(s: &str) -> Option<u8> {
    let num = s.strip_prefix("local").unwrap_or(s);
    if let Ok(n) = num.parse::<u8>() {
        if n <= 7 && !num.starts_with('+') {
            return Some(facility::LOCAL0 + n);
        }
        return None;
    }
    match s {
        "user" => Some(facility::USER),
        "daemon" => Some(facility::DAEMON),
        _ => None,
    }
}

/// `-u`: strtoll base 0 (0 prefix octal, 0x hex), within 0777.
pub fn parse_umask(s: &str) -> Option<u32> {
    let v = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()?
    } else if s.len() > 1 && s.starts_with('0') {
        u32::from_str_radix(&s[1..], 8).ok()?
    } else {
        s.parse::<u32>().ok()?
    };
    (v & !0o777 == 0).then_some(v)
}

impl Cli {
    /// The configuration file to read.
    pub fn config_file(&self) -> PathBuf {
        PathBuf::from(self.use_file.as_deref().unwrap_or(DEFAULT_CONFIG_FILE))
    }
}

/// Our version string (first line of `-v`, and of the Starting/Stopped log lines).
pub fn version_string() -> String {
    format!(
        "Keepalived-rs v{} (keepalived-rs, compatible with Keepalived v2.2.7)",
        env!("CARGO_PKG_VERSION")
    )
}

fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn distro() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    let line = text.lines().find(|l| l.starts_with("PRETTY_NAME="))?;
    Some(line["PRETTY_NAME=".len()..].trim_matches('"').to_string())
}

/// The `-v` block, keepalived's layout.
pub fn version_block() -> String {
    let mut s = String::new();
    s.push_str(&version_string());
    s.push_str("\n\nCopyright(C) keepalived-rs authors; a Rust re-implementation of Keepalived\n");
    s.push_str("(Keepalived: Copyright(C) 2001-2022 Alexandre Cassen, <acassen@gmail.com>)\n\n");
    s.push_str(&format!(
        "Built with Rust for {} {}\n",
        std::env::consts::OS,
        std::env::consts::ARCH
    ));
    s.push_str(&format!(
        "Running on Linux {} {}\n",
        read_trim("/proc/sys/kernel/osrelease"),
        read_trim("/proc/sys/kernel/version")
    ));
    if let Some(d) = distro() {
        s.push_str(&format!("Distro: {d}\n"));
    }
    s.push('\n');
    s.push_str("Config options:  LVS VRRP VRRP_AUTH JSON SYSTEMD_NOTIFY METRICS\n\n");
    s.push_str("System options:  FLOCK_PIDFILES\n");
    s
}

/// Command-line options keepalived-rs accepts for compatibility but does not act on, each with
/// the registry's wording ("not supported yet: why"). Printed at `-t` and logged at start, so an
/// operator's unit file never silently loses an option's effect.
pub fn ignored_options(_cli: &Cli) -> Vec<&'static str> {
    // -x/--snmp is not listed: it turns on VRRP-MIB, VRRPv3-MIB and all of KEEPALIVED-MIB
    // as keepalived's does (lab_snmp_cli_options_as_reference,
    // vm_snmp_checker_cli_x_as_reference).
    // -A/--snmp-agent-socket is not listed: it sets the master agent socket as keepalived's
    // does, over any snmp_socket of the file (lab_snmp_cli_options_as_reference).
    // -X/--release-vips is not listed: the VRRP runtime always removes an instance's VIPs when
    // it leaves MASTER, a transition from a reload (SIGHUP) included, which is what -X asks of
    // keepalived (lab_release_vips_on_reload_as_reference; 2.2.7 does it without -X as well).
    // -a/--address-monitoring is not listed: the VRRP and checker workers log the addresses
    // the kernel reports as keepalived's (lab_address_monitoring_as_reference).
    // -m/--core-dump and -M/--core-dump-pattern are not listed: RLIMIT_CORE and
    // kernel.core_pattern as keepalived's core_dump_init (lab_core_dump_options_as_reference).
    Vec::new()
}

/// keepalived's usage text (options this build supports).
pub fn usage(prog: &str) -> String {
    format!(
        "Usage: {prog} [OPTION...]
  -f, --use-file=FILE          Use the specified configuration file
                                default '{DEFAULT_CONFIG_FILE}'
  -P, --vrrp                   Only run with VRRP subsystem
  -C, --check                  Only run with Health-checker subsystem
  -B, --no_bfd                 Don't run BFD subsystem
      --all                    Force all child processes to run, even if have no configuration
  -l, --log-console            Log messages to local console
  -D, --log-detail             Detailed log messages
  -S, --log-facility=([0-7]|local[0-7]|user|daemon)
                               Set syslog facility to LOG_LOCAL[0-7], user or daemon (default)
  -g, --log-file=FILE          Also log to FILE (default $TMPDIR/keepalived.log)
      --flush-log-file         Flush log file on write
  -G, --no-syslog              Don't log via syslog
  -u, --umask=MASK             umask for file creation (in numeric form)
  -X, --release-vips           Drop VIP on transition from signal.
  -V, --dont-release-vrrp      Don't remove VRRP VIPs and VROUTEs on daemon stop
  -I, --dont-release-ipvs      Don't remove IPVS topology on daemon stop
  -R, --dont-respawn           Don't respawn child processes
  -n, --dont-fork              Don't fork the daemon process
  -d, --dump-conf              Dump the configuration data
  -p, --pid=FILE               Use specified pidfile for parent process
  -r, --vrrp_pid=FILE          Use specified pidfile for VRRP child process
  -T, --genhash                Enter into genhash utility mode (this should be the first option used).
  -c, --checkers_pid=FILE      Use specified pidfile for checkers child process
  -a, --address-monitoring     Report all address additions/deletions notified via netlink
  -x, --snmp                   Enable SNMP subsystem
  -A, --snmp-agent-socket=FILE Use the specified socket for master agent
  -s, --namespace=NAME         Run in network namespace NAME (overrides config)
  -m, --core-dump              Produce core dump if terminate abnormally
  -M, --core-dump-pattern=PATN Also set /proc/sys/kernel/core_pattern to PATN (default 'core')
  -e, --all-config             Error if any configuration file missing (same as includet)
  -i, --config-id id           Skip any configuration lines beginning '@' that don't match id
                                or any lines beginning @^ that do match.
                                The config-id defaults to the node name if option not used
      --signum=SIGFUNC         Return signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON
  -t, --config-test[=LOG_FILE] Check the configuration for obvious errors, output to
                                stderr by default
      --metrics-listen=ADDR    keepalived-rs: serve Prometheus /metrics and /status on ADDR
                                (a bare PORT binds 127.0.0.1)
      --compat=LEVEL           keepalived-rs: judge the configuration as keepalived LEVEL
                                (2.2.7 or 2.4.3) would: newer keywords are unknown
                                (default: the keywords of every release are known)
      --status[=ADDR]          keepalived-rs: show the running daemon's VRRP instances,
                                virtual/real servers and recent events (read from its
                                metrics listener: ADDR, --metrics-listen or metrics_listen)
  -v, --version                Display the version number
  -h, --help                   Display this help message
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Parsed {
        parse(args.iter().map(OsString::from).collect())
    }

    fn run(args: &[&str]) -> Cli {
        match p(args) {
            Parsed::Run(c) => *c,
            Parsed::Exit(code) => panic!("exited {code} for {args:?}"),
        }
    }

    // Proves short and long spellings (attached, separate, `=`) land in the same fields.
    #[test]
    fn short_and_long_forms() {
        let a = run(&[
            "keepalived",
            "-f",
            "/x.conf",
            "-p",
            "/p",
            "-r/r",
            "--checkers_pid=/c",
        ]);
        assert_eq!(a.use_file.as_deref(), Some("/x.conf"));
        assert_eq!(a.pid.as_deref(), Some("/p"));
        assert_eq!(a.vrrp_pid.as_deref(), Some("/r"));
        assert_eq!(a.checkers_pid.as_deref(), Some("/c"));
        let b = run(&["keepalived", "--use-file", "/y", "-lnDD", "-PR", "--all"]);
        assert_eq!(b.use_file.as_deref(), Some("/y"));
        assert!(b.log_console && b.dont_fork && b.vrrp_only && b.dont_respawn && b.all);
        assert_eq!(b.log_detail, 2);
    }

    // Proves -t and -g take an optional value only when attached (getopt `t::`).
    #[test]
    fn optional_values() {
        assert_eq!(run(&["k", "-t"]).config_test.as_deref(), Some(""));
        assert_eq!(
            run(&["k", "--config-test=/l"]).config_test.as_deref(),
            Some("/l")
        );
        assert_eq!(run(&["k", "-g"]).log_file.as_deref(), Some(""));
        assert_eq!(
            run(&["k", "--log-file=/a.log"]).log_file.as_deref(),
            Some("/a.log")
        );
        assert_eq!(run(&["k"]).config_test, None);
        // Attached to the short option, as getopt's `M::`.
        assert_eq!(
            run(&["k", "-M/tmp/core.%p"]).core_dump_pattern.as_deref(),
            Some("/tmp/core.%p")
        );
        assert_eq!(run(&["k", "-M"]).core_dump_pattern.as_deref(), Some(""));
        assert_eq!(run(&["k", "-t/l"]).config_test.as_deref(), Some("/l"));
    }

    // Proves unknown options and missing/empty parameters exit with keepalived's status 1.
    #[test]
    fn bad_options_exit_1() {
        assert!(matches!(p(&["k", "--bogus"]), Parsed::Exit(1)));
        assert!(matches!(p(&["k", "-Z"]), Parsed::Exit(1)));
        assert!(matches!(p(&["k", "-f"]), Parsed::Exit(1)));
        assert!(matches!(p(&["k", "--use-file="]), Parsed::Exit(1)));
    }

    // Proves --signum values equal keepalived's on Linux/glibc (checked against the reference).
    #[test]
    fn signums() {
        assert_eq!(signum("STOP"), Some(15));
        assert_eq!(signum("RELOAD"), Some(1));
        assert_eq!(signum("DATA"), Some(10));
        assert_eq!(signum("STATS"), Some(12));
        assert_eq!(signum("JSON"), Some(36));
        assert_eq!(signum("STATS_CLEAR"), Some(63));
        assert_eq!(signum("TDUMP"), None);
    }

    // Proves -S accepts the same spellings as keepalived and rejects others.
    #[test]
    fn facilities() {
        assert_eq!(parse_facility("0"), Some(16));
        assert_eq!(parse_facility("7"), Some(23));
        assert_eq!(parse_facility("local3"), Some(19));
        assert_eq!(parse_facility("daemon"), Some(3));
        assert_eq!(parse_facility("user"), Some(1));
        assert_eq!(parse_facility("8"), None);
        assert_eq!(parse_facility("kern"), None);
    }

    // Proves -u reads numbers like strtoll(.., 0) and rejects bits outside 0777.
    #[test]
    fn umasks() {
        assert_eq!(parse_umask("022"), Some(0o22));
        assert_eq!(parse_umask("18"), Some(18));
        assert_eq!(parse_umask("0x12"), Some(0x12));
        assert_eq!(parse_umask("01777"), None);
        assert_eq!(parse_umask("abc"), None);
    }
}
