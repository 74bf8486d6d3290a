//! Generates the man pages `keepalived(8)` and `keepalived.conf(5)`.
//!
//! ```sh
//! cargo run -p keepalived --example gen-man             # writes dist/man/keepalived.8, keepalived.conf.5
//! cargo run -p keepalived --example gen-man -- --check  # exit 1 if the committed pages are stale
//! ```
//!
//! * `keepalived(8)` is rendered by clap_mangen from the clap definition
//!   ([`keepalived::cli::Cli`]); each option's description is taken from keepalived's usage text
//!   ([`keepalived::cli::usage`], what `keepalived -h` prints), falling back to the option's doc
//!   comment. Hidden internal flags stay hidden.
//! * `keepalived.conf(5)` lists every keyword of conf-parse's keyword registry
//!   ([`conf_parse::registry::registry`]) by block, with its run-time status: `implemented`
//!   (with the tests that show its effect on a real system), `not supported yet` or `accepted,
//!   no effect here` (with the reason), and its deprecation. The registry is the single source
//!   of truth; `keepalived -t`'s notes and `docs/keywords.md` come from it too.
//!
//! The staleness test (`bins/keepalived/tests/man_pages.rs`) includes this file as a module and
//! compares [`pages`] with `dist/man/`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;

/// Where the pages go, relative to the workspace root.
pub const MAN_DIR: &str = "dist/man";

/// The workspace root (two levels above this package).
pub fn workspace_root() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    p.canonicalize().unwrap_or(p)
}

/// `(file name, contents)` of every page this generator owns.
pub fn pages() -> Result<Vec<(&'static str, Vec<u8>)>, String> {
    Ok(vec![
        ("keepalived.8", keepalived_8()?),
        ("keepalived.conf.5", keepalived_conf_5().into_bytes()),
    ])
}

/// Option descriptions from keepalived's usage text, keyed by long name (or short letter).
fn usage_help() -> Vec<(String, String)> {
    let text = keepalived::cli::usage("keepalived");
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines().skip(1) {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.starts_with('-') && indent <= 6 {
            // "-f, --use-file=FILE          Use the ...": flags, 2+ spaces, text (the text
            // is on the next line when the flags are too long).
            let (flags, desc) = match trimmed.split_once("  ") {
                Some((f, d)) => (f.trim(), d.trim()),
                // A long flag leaves one space before the text at column 31.
                None if line.len() > 31 && line.as_bytes()[30] == b' ' => {
                    (line[..30].trim(), line[31..].trim())
                }
                None => (trimmed, ""),
            };
            let long = flags
                .split([' ', ','])
                .find_map(|w| w.strip_prefix("--"))
                .map(|l| l.split(['=', '[']).next().unwrap_or(l).to_string());
            let short = flags
                .strip_prefix('-')
                .and_then(|s| s.chars().next())
                .filter(|c| *c != '-');
            let key = long.or_else(|| short.map(String::from)).unwrap_or_default();
            out.push((key, desc.to_string()));
        } else if let Some(last) = out.last_mut() {
            if !last.1.is_empty() {
                last.1.push(' ');
            }
            last.1.push_str(trimmed);
        }
    }
    out
}

fn keepalived_command() -> clap::Command {
    let help = usage_help();
    let mut cmd = keepalived::cli::Cli::command()
        .about("Keepalive daemon: VRRP failover and the LVS/IPVS director with health checks (keepalived-rs)")
        .long_about(
            "keepalived-rs is a Rust re-implementation of keepalived 2.x, CLI- and \
             configuration-compatible. The parent process reads the configuration \
             (default /etc/keepalived/keepalived.conf, see keepalived.conf(5)) and starts a VRRP \
             worker when it has vrrp_instance blocks and a health-checker worker when it has \
             virtual_server blocks; it respawns them when they die, reloads on SIGHUP and stops \
             on SIGTERM. With -T (or when called as genhash) it runs the genhash utility.",
        )
        .version(env!("CARGO_PKG_VERSION"));
    let ids: Vec<clap::Id> = cmd.get_arguments().map(|a| a.get_id().clone()).collect();
    for id in ids {
        cmd = cmd.mut_arg(id, |a| {
            let long = a.get_long().map(str::to_string);
            let short = a.get_short().map(String::from);
            let from_usage = help
                .iter()
                .find(|(k, _)| Some(k) == long.as_ref() || Some(k) == short.as_ref())
                .map(|(_, d)| d.clone())
                .filter(|d| !d.is_empty());
            match from_usage {
                Some(d) => a.help(d.clone()).long_help(d),
                None => {
                    // Doc comments read "-f, --use-file=FILE: text."; keep the text.
                    let doc = a.get_help().map(|h| h.to_string()).unwrap_or_default();
                    let text = doc.split_once(": ").map(|(_, t)| t.to_string());
                    match text {
                        Some(t) => a.help(t),
                        None => a,
                    }
                }
            }
        });
    }
    // Hidden internal flags and the catch-all positional stay out of the page.
    let mut shown = clap::Command::new("keepalived")
        .about(cmd.get_about().cloned().unwrap_or_default())
        .long_about(cmd.get_long_about().cloned().unwrap_or_default())
        .version(env!("CARGO_PKG_VERSION"))
        .disable_help_flag(true)
        .disable_version_flag(true);
    for a in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        shown = shown.arg(a.clone());
    }
    shown
}

/// `keepalived(8)`.
pub fn keepalived_8() -> Result<Vec<u8>, String> {
    let man = clap_mangen::Man::new(keepalived_command())
        .section("8")
        .source(format!("keepalived-rs {}", env!("CARGO_PKG_VERSION")))
        .manual("System Administration");
    let mut out = Vec::new();
    man.render(&mut out)
        .map_err(|e| format!("rendering keepalived.8: {e}"))?;
    let mut extra = String::new();
    let sig = |name: &str| keepalived::cli::signum(name).unwrap_or(0);
    let _ = write!(
        extra,
        r#".SH SIGNALS
Signals go to the parent process (its pid is in /run/keepalived.pid); \fBkeepalived \-\-signum=NAME\fR prints the number.
.TP
\fBSIGHUP\fR (RELOAD, {hup})
Re\-read the configuration; a configuration with errors is logged and ignored.
.TP
\fBSIGTERM\fR (STOP, {term})
Stop: release VIPs (unless \-V) and remove the IPVS configuration (unless \-I).
.TP
\fBSIGUSR1\fR (DATA, {usr1})
Write the running configuration to /tmp/keepalived.data.
.TP
\fBSIGUSR2\fR (STATS, {usr2})
Write statistics to /tmp/keepalived.stats.
.TP
\fBSIGRTMIN+2\fR (JSON, {json})
Write the VRRP state as JSON to /tmp/keepalived.json.
.TP
\fBSIGRTMAX\-1\fR (STATS_CLEAR, {clear})
Write statistics, then clear them.
.SH FILES
.TP
/etc/keepalived/keepalived.conf
Default configuration file, see \fBkeepalived.conf\fR(5).
.TP
/run/keepalived.pid, /run/vrrp.pid, /run/checkers.pid
Pid files of the parent and the workers (\-p, \-r, \-c).
.TP
/etc/default/keepalived
DAEMON_ARGS for the systemd unit (dist/systemd/keepalived.service).
.SH EXIT STATUS
.TP
{ok}
Success; with \-t: the configuration is valid.
.TP
{fatal}
Fatal error, or a bad command\-line option.
.TP
{config}
The configuration is invalid (the daemon does not start).
.TP
{perm}
Missing permission.
.TP
{noconf}
The configuration file cannot be read.
.TP
{prog}
Internal program error.
.P
With \-t the status is keepalived 2.2.7\*(Aqs for the worst problem found.
.SH EXTENSIONS
\fB\-\-metrics\-listen\fR=\fIADDR\fR (or \fBmetrics_listen\fR in global_defs) serves Prometheus
/metrics and a /status JSON document, read-only (GET only).
.P
Access control is an allow-list of source networks: \fBmetrics_allow\fR \fINET\fR... in
global_defs (\fIADDR\fR/\fILEN\fR or a bare address, IPv4 or IPv6, repeatable). Without it only
loopback clients are served (a non-loopback listener logs a warning at start). Other clients are
reset right after accept, counted as \fBkeepalived_http_connections_refused_total{{reason="acl"}}\fR.
There is no TLS and no password: put a TLS proxy in front if the network is untrusted.
.P
The listener is bounded: at most 64 connections at once (a sixteenth of RLIMIT_NOFILE if smaller);
when all are taken, the oldest connection not answering a request is closed for the new one, and
when all are answering, the new one is reset. No connection is kept while the parent's descriptors
are within a quarter of RLIMIT_NOFILE of the limit. A request's headers must arrive within 5 s (also
between kept-alive requests) and fit in 8 KiB; buffers are at most 16 KiB; a connection lives at
most 30 s. The listener is set up at start (a reload does not change it).
.P
\-x turns on every SNMP MIB as keepalived does: VRRP\-MIB (RFC 2787), VRRPv3\-MIB (RFC 6527) and
KEEPALIVED\-MIB's global and main VRRP tables are served, its checker part is not yet (a note says
so at start and at \-t). \-A sets the AgentX
master agent's socket over any snmp_socket of the file. There is no BFD subsystem: \-b, \-B
are accepted and ignored.
.SH SEE ALSO
\fBkeepalived.conf\fR(5), \fBlvs\-realserver\fR(8), \fBipvsadm\fR(8)
"#,
        hup = sig("RELOAD"),
        term = sig("STOP"),
        usr1 = sig("DATA"),
        usr2 = sig("STATS"),
        json = sig("JSON"),
        clear = sig("STATS_CLEAR"),
        ok = keepalived::exit::OK,
        fatal = keepalived::exit::FATAL,
        config = keepalived::exit::CONFIG,
        perm = keepalived::exit::MISSING_PERMISSION,
        noconf = keepalived::exit::NO_CONFIG,
        prog = keepalived::exit::PROGRAM_ERROR,
    );
    out.extend_from_slice(extra.as_bytes());
    Ok(out)
}

/// One row of the reference: block path, keyword, status text.
#[derive(Debug, Clone)]
pub struct Row {
    /// Enclosing blocks, outermost first ("" at top level).
    pub block: String,
    /// The keyword.
    pub name: &'static str,
    /// Its shape as text.
    pub shape: &'static str,
    /// Status text (the keyword registry's).
    pub status: String,
    /// The tests that show an implemented keyword's effect.
    pub tests: &'static [&'static str],
}

/// Every keyword by block (a block's own keywords first, then its sub-blocks), with its
/// status from conf-parse's keyword registry ([`conf_parse::registry`]).
pub fn rows() -> Vec<Row> {
    conf_parse::registry::registry()
        .iter()
        .map(|e| Row {
            block: e.block_path(),
            name: e.kw.name,
            shape: e.shape(),
            status: e.status_text(),
            tests: match e.runtime {
                conf_parse::keywords::Runtime::Implemented(t) => t,
                _ => &[],
            },
        })
        .collect()
}

/// roff-escape plain text.
fn esc(s: &str) -> String {
    let mut o = s.replace('\\', "\\\\").replace('-', "\\-");
    if o.starts_with('.') || o.starts_with('\'') {
        o.insert_str(0, "\\&");
    }
    o
}

/// `keepalived.conf(5)`.
pub fn keepalived_conf_5() -> String {
    let rows = rows();
    let total = rows.len();
    let unsupported = rows
        .iter()
        .filter(|r| !r.status.starts_with("implemented"))
        .count();
    let mut s = String::new();
    let _ = write!(
        s,
        r#".ie \n(.g .ds Aq \(aq
.el .ds Aq '
.TH keepalived.conf 5 "" "keepalived\-rs {ver}" "File Formats"
.SH NAME
keepalived.conf \- configuration file of keepalived (keepalived\-rs)
.SH SYNOPSIS
/etc/keepalived/keepalived.conf
.SH DESCRIPTION
keepalived\-rs reads keepalived 2.x configuration files unchanged: blocks
\fIkeyword\fR [\fIargs\fR] {{ ... }}, comments (# and !), include, @id conditional lines,
$VARIABLES and ~SEQ/~LST expansions. Check a file with \fBkeepalived \-t \-f FILE\fR:
problems are reported as FILE:LINE:COL with a hint, and the exit status is keepalived's.
Keywords recognized but not supported yet are reported as notes by \fBkeepalived \-t\fR and
ignored at run time; they never make the check fail.
.P
This page lists every keyword keepalived 2.2.7 knows ({total} entries, {unsupported} of
them not supported yet or accepted with no effect here), by block. For the meaning of each keyword see keepalived's own
keepalived.conf(5) documentation; the semantics are the same.
.SH STATUS
The status of each keyword comes from keepalived\-rs's keyword registry
(crates/conf\-parse/src/keywords/), the same table that produces \fBkeepalived \-t\fR's notes,
the start\-up log's notes, docs/keywords.md and the /status document.
.TP
\fBimplemented\fR
The keyword has its keepalived effect; the named tests show that effect on a real system
(network namespaces, the IPVS VM, or the reference keepalived as peer or oracle).
.TP
\fBnot supported yet\fR
The keyword is recognized and checked as keepalived checks it, but ignored at run time (the
reason is given); \fBkeepalived \-t\fR and the start\-up and reload logs print a located note
for each use.
.TP
\fBaccepted, no effect here\fR
Accepted deliberately without effect in keepalived\-rs (the reason is given); also noted.
.TP
\fBdeprecated, use X\fR / \fBalias of X\fR
As in keepalived: a deprecated spelling (reported) or a silent synonym.
.P
A keyword inside a block that is not supported has the block's status.
"#,
        ver = env!("CARGO_PKG_VERSION"),
    );
    let mut current: Option<String> = None;
    for r in &rows {
        if current.as_deref() != Some(r.block.as_str()) {
            let title = if r.block.is_empty() {
                "TOP LEVEL".to_string()
            } else {
                r.block.clone()
            };
            let _ = writeln!(s, ".SS {}", esc(&title));
            current = Some(r.block.clone());
        }
        let _ = writeln!(s, ".TP");
        if r.shape.is_empty() {
            let _ = writeln!(s, "\\fB{}\\fR", esc(r.name));
        } else {
            let _ = writeln!(s, "\\fB{}\\fR {}", esc(r.name), esc(r.shape));
        }
        if r.tests.is_empty() {
            let _ = writeln!(s, "{}", esc(&r.status));
        } else {
            let _ = writeln!(
                s,
                "{} (shown by {})",
                esc(&r.status),
                esc(&r.tests.join(", "))
            );
        }
    }
    s.push_str(
        ".SH SEE ALSO\n\\fBkeepalived\\fR(8), \\fBlvs\\-realserver\\fR(8), \\fBipvsadm\\fR(8)\n",
    );
    s
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = args.iter().any(|a| a == "--check");
    let dir = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(MAN_DIR));
    let pages = match pages() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("gen-man: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stale = false;
    for (name, body) in pages {
        let path = dir.join(name);
        if check {
            if std::fs::read(&path).ok().as_deref() != Some(body.as_slice()) {
                eprintln!("gen-man: {} is stale", path.display());
                stale = true;
            }
            continue;
        }
        if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &body)) {
            eprintln!("gen-man: writing {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("wrote {}", path.display());
    }
    if stale {
        eprintln!("gen-man: regenerate with `cargo run -p keepalived --example gen-man`");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
