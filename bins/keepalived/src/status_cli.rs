//! `keepalived --status[=ADDR]` (keepalived-rs extension): the running daemon's live state in
//! a terminal, as tables in the style of `ipvsadm -Ln` — the same information as the status
//! page (`GET /`): VRRP instances (state, priorities, VIPs, master, last transition, tracking,
//! counters), virtual servers with their real servers (health, weight, last check, latency,
//! reason, connections, rates) and the recent events.
//!
//! It reads `/status` from the daemon's metrics listener: `ADDR` if given, else
//! `--metrics-listen`, else `global_defs { metrics_listen }` of the configuration file (`-f`,
//! default `/etc/keepalived/keepalived.conf`). Like the daemon it enters `-s NAME` (or the
//! configuration's `net_namespace`) first, where the listener is. keepalived 2.2.7 and 2.4.3
//! have no option named `--status` or starting with it, so nothing clashes.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::cli::Cli;
use crate::exit;
use crate::metrics::{EventInfo, Status, VrrpStateMetric};

/// How long connecting and reading may take.
const TIMEOUT: Duration = Duration::from_secs(3);
/// Largest answer read (a director with thousands of real servers stays well below).
const MAX_ANSWER: u64 = 64 * 1024 * 1024;
/// Events shown (newest first).
const EVENTS_SHOWN: usize = 15;

/// Why the state could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// No listener address anywhere.
    #[error("no metrics listener configured: the daemon serves its state only with global_defs {{ metrics_listen ADDR }} or --metrics-listen ADDR (give the same to --status=ADDR)")]
    NoListener,
    /// The address given does not parse.
    #[error("bad address '{0}' (want IP:PORT or PORT)")]
    BadAddress(String),
    /// `-s NAME` could not be entered.
    #[error("namespace {0}")]
    Namespace(String),
    /// Connection or read failed.
    #[error("cannot read http://{addr}/status: {source} (is keepalived running with its metrics listener there?)")]
    Io {
        /// Where.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Not a 200 answer.
    #[error("http://{addr}/status answered: {line}")]
    Http {
        /// Where.
        addr: SocketAddr,
        /// The status line.
        line: String,
    },
    /// The body is not our `/status` JSON.
    #[error("http://{addr}/status is not keepalived-rs status JSON: {source}")]
    Json {
        /// Where.
        addr: SocketAddr,
        /// Why.
        source: serde_json::Error,
    },
}

/// The listener address `--status` reads, and the namespace to enter first.
fn target(cli: &Cli, given: &str) -> Result<(SocketAddr, Option<String>), StatusError> {
    let parse = |s: &str| crate::http::parse_listen(s).ok_or(StatusError::BadAddress(s.into()));
    let explicit = if !given.is_empty() {
        Some(parse(given)?)
    } else if let Some(l) = cli.metrics_listen.as_deref() {
        Some(parse(l)?)
    } else {
        None
    };
    // The configuration is read (errors and all) only for what it says about the listener.
    let parsed = conf_parse::parse_file(
        &cli.config_file(),
        &crate::config::parse_options(cli.config_id.as_deref(), cli.all_config, cli.compat),
    );
    let g = &parsed.config.global;
    let ns = cli.namespace.clone().or_else(|| g.net_namespace.clone());
    let addr = explicit
        .or(g.metrics_listen)
        .ok_or(StatusError::NoListener)?;
    Ok((addr, ns))
}

/// GET `/status` from `addr` (HTTP/1.0, one request, connection closed by the server).
pub fn fetch(addr: SocketAddr) -> Result<Status, StatusError> {
    let io = |source| StatusError::Io { addr, source };
    let mut s = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(io)?;
    s.set_read_timeout(Some(TIMEOUT)).map_err(io)?;
    s.set_write_timeout(Some(TIMEOUT)).map_err(io)?;
    s.write_all(b"GET /status HTTP/1.0\r\nHost: keepalived\r\nAccept: application/json\r\n\r\n")
        .map_err(io)?;
    let mut raw = Vec::new();
    s.take(MAX_ANSWER).read_to_end(&mut raw).map_err(io)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| StatusError::Http {
            addr,
            line: "no complete answer".into(),
        })?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let line = head.lines().next().unwrap_or("").to_string();
    if line.split_whitespace().nth(1) != Some("200") {
        return Err(StatusError::Http { addr, line });
    }
    serde_json::from_slice(&raw[split + 4..]).map_err(|source| StatusError::Json { addr, source })
}

fn state_name(s: VrrpStateMetric) -> &'static str {
    match s {
        VrrpStateMetric::Init => "INIT",
        VrrpStateMetric::Backup => "BACKUP",
        VrrpStateMetric::Master => "MASTER",
        VrrpStateMetric::Fault => "FAULT",
        VrrpStateMetric::Stop => "STOP",
    }
}

/// Local wall-clock time of a Unix time, and how long ago it was from `now`.
fn when(t: f64, now: f64) -> String {
    if t <= 0.0 {
        return "-".into();
    }
    let secs = t.floor() as i64;
    let local = chrono::DateTime::from_timestamp(secs, 0)
        .map(|d| {
            d.with_timezone(&chrono::Local)
                .format("%H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|| format!("{t:.0}"));
    format!("{local} ({:.0} s ago)", (now - t).max(0.0))
}

/// The tables, as `keepalived --status` prints them; `now` is the current Unix time.
pub fn render(s: &Status, now: f64) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let p = &s.parent;
    let _ = writeln!(
        o,
        "{} {} pid {} config {} reloads {} (rejected {}) warnings {}",
        s.implementation,
        s.version,
        p.pid,
        p.config_file,
        p.reloads,
        p.reload_failures,
        p.config_warnings
    );
    for w in &p.workers {
        let _ = writeln!(
            o,
            "  worker {:<8} {:<4} pid {:<8} restarts {}",
            w.worker,
            if w.up { "up" } else { "down" },
            w.pid,
            w.restarts
        );
    }
    for n in &p.config_notes {
        let _ = writeln!(o, "  note {}: {} ({})", n.location, n.message, n.status);
    }

    let insts: Vec<_> = s
        .workers
        .values()
        .flat_map(|w| w.vrrp_instances.iter())
        .collect();
    let scripts: std::collections::BTreeMap<&str, bool> = s
        .workers
        .values()
        .filter_map(|w| w.vrrp_counters.as_deref())
        .flat_map(|c| c.scripts.iter().map(|(n, ok)| (n.as_str(), *ok)))
        .collect();
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "VRRP Instance        Interface  VRID State  Prio Eff  Master                         AdvSent  AdvRcvd  Trans"
    );
    let _ = writeln!(o, "  -> VirtualAddress");
    for v in &insts {
        let _ = writeln!(
            o,
            "{:<20} {:<10} {:<4} {:<6} {:<4} {:<4} {:<30} {:<8} {:<8} {}",
            v.name,
            v.interface,
            v.vrid,
            state_name(v.state),
            v.priority,
            v.effective_priority,
            v.master.as_deref().unwrap_or("-"),
            v.adverts_sent,
            v.adverts_received,
            v.transitions
        );
        for a in &v.vips {
            let _ = writeln!(o, "  -> {a}");
        }
        if let Some(t) = &v.last_transition {
            let _ = writeln!(
                o,
                "  last transition {} -> {} at {}: {}",
                t.from,
                t.to,
                when(t.at, now),
                t.reason
            );
        }
        if !v.tracking.is_empty() {
            let t: Vec<String> = v
                .tracking
                .iter()
                .map(
                    |t| match t.strip_prefix("script ").and_then(|n| scripts.get(n)) {
                        Some(true) => format!("{t} (ok)"),
                        Some(false) => format!("{t} (failing)"),
                        None => t.clone(),
                    },
                )
                .collect();
            let _ = writeln!(o, "  tracking {}", t.join(", "));
        }
        if !v.drops.is_empty() {
            let d: Vec<String> = v.drops.iter().map(|(k, n)| format!("{k} {n}")).collect();
            let _ = writeln!(o, "  receive errors {}", d.join(", "));
        }
    }

    let rss: Vec<_> = s
        .workers
        .values()
        .flat_map(|w| w.real_servers.iter())
        .collect();
    let mut vss: Vec<(String, Option<bool>)> = s
        .workers
        .values()
        .flat_map(|w| w.virtual_servers.iter())
        .map(|v| (v.name.clone(), v.quorum_up))
        .collect();
    for r in &rss {
        if !vss.iter().any(|(n, _)| *n == r.virtual_server) {
            vss.push((r.virtual_server.clone(), None));
        }
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "Virtual Server                          Quorum");
    let _ = writeln!(
        o,
        "  -> RealServer                  Health  Weight(Conf) LastCheck Latency   ActiveConn InActConn CPS      InBPS    OutBPS   Since / Reason"
    );
    for (name, quorum) in &vss {
        let q = match quorum {
            Some(true) => "up",
            Some(false) => "lost",
            None => "-",
        };
        let _ = writeln!(o, "{name:<39} {q}");
        for r in rss.iter().filter(|r| r.virtual_server == *name) {
            let health = match (r.checked, r.up) {
                (false, _) => "unknown",
                (true, true) => "up",
                (true, false) => "down",
            };
            let latency = if r.last_check_seconds > 0.0 {
                format!("{:.1}ms", r.last_check_seconds * 1000.0)
            } else {
                "-".into()
            };
            let last = if r.last_check.is_empty() {
                "-"
            } else {
                &r.last_check
            };
            let mut tail = when(r.since, now);
            if !r.reason.is_empty() {
                tail.push_str(" / ");
                tail.push_str(&r.reason);
            }
            let _ = writeln!(
                o,
                "  -> {:<26} {:<7} {:<12} {:<9} {:<9} {:<10} {:<9} {:<8} {:<8} {:<8} {}",
                r.real_server,
                health,
                format!("{}({})", r.weight, r.configured_weight),
                last,
                latency,
                r.active_connections,
                r.inactive_connections,
                r.cps,
                r.in_bps,
                r.out_bps,
                tail
            );
        }
    }

    let mut events: Vec<&EventInfo> = p
        .events
        .iter()
        .chain(s.workers.values().flat_map(|w| w.events.iter()))
        .collect();
    events.sort_by(|a, b| b.at.total_cmp(&a.at));
    let _ = writeln!(o);
    let _ = writeln!(o, "Recent events (newest first)");
    for e in events.iter().take(EVENTS_SHOWN) {
        let _ = writeln!(o, "  {:<22} {:<11} {}", when(e.at, now), e.kind, e.text);
    }
    o
}

/// `keepalived --status[=ADDR]`: print the tables; 0 when shown, 1 (keepalived's FATAL) when
/// the daemon could not be asked.
pub fn run(cli: &Cli, given: &str) -> i32 {
    let shown = target(cli, given).and_then(|(addr, ns)| {
        if let Some(ns) = ns {
            crate::enter_namespace(&ns).map_err(StatusError::Namespace)?;
        }
        fetch(addr)
    });
    match shown {
        Ok(st) => {
            print!("{}", render(&st, crate::metrics::now()));
            exit::OK
        }
        Err(e) => {
            eprintln!("keepalived --status: {e}");
            exit::FATAL
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::metrics::*;

    // Proves the table carries what the page shows: instances with state, priorities, master,
    // VIPs, counters and last transition; virtual servers with each real server's health,
    // weights, last check, latency, connections and reason; events newest first.
    #[test]
    fn render_shows_instances_real_servers_and_events() {
        let mut st = Status {
            implementation: "keepalived-rs".into(),
            version: "9.9".into(),
            ..Default::default()
        };
        st.parent.pid = 42;
        st.parent.events.push(EventInfo {
            at: 100.0,
            kind: "reload".into(),
            text: "reloaded".into(),
        });
        let w = WorkerMetrics {
            vrrp_instances: vec![VrrpInstanceMetrics {
                name: "VI_1".into(),
                interface: "eth0".into(),
                vrid: 51,
                state: VrrpStateMetric::Backup,
                priority: 100,
                effective_priority: 90,
                adverts_sent: 3,
                adverts_received: 17,
                vips: vec!["10.0.0.100/24".into()],
                master: Some("10.0.0.2 (priority 200)".into()),
                last_transition: Some(TransitionInfo {
                    from: "INIT".into(),
                    to: "BACKUP".into(),
                    at: 150.0,
                    reason: "start-up".into(),
                }),
                tracking: vec!["script chk".into()],
                ..Default::default()
            }],
            real_servers: vec![RealServerMetrics {
                virtual_server: "10.0.0.100:80".into(),
                real_server: "10.0.1.1:80".into(),
                up: false,
                checked: true,
                weight: 0,
                configured_weight: 3,
                last_check: "failed".into(),
                last_check_seconds: 0.0021,
                reason: "connection refused".into(),
                active_connections: 5,
                ..Default::default()
            }],
            events: vec![EventInfo {
                at: 200.0,
                kind: "vrrp".into(),
                text: "VI_1: INIT -> BACKUP".into(),
            }],
            ..Default::default()
        };
        let mut w = w;
        w.vrrp_counters = Some(Box::new(VrrpWorkerCounters {
            scripts: [("chk".to_string(), false)].into_iter().collect(),
            ..Default::default()
        }));
        st.workers.insert("vrrp".into(), w);
        let out = super::render(&st, 300.0);
        let line = out.lines().find(|l| l.starts_with("VI_1")).unwrap_or("");
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            words,
            [
                "VI_1",
                "eth0",
                "51",
                "BACKUP",
                "100",
                "90",
                "10.0.0.2",
                "(priority",
                "200)",
                "3",
                "17",
                "0"
            ],
            "{out}"
        );
        assert!(out.contains("  -> 10.0.0.100/24\n"), "{out}");
        assert!(out.contains("last transition INIT -> BACKUP at "), "{out}");
        assert!(out.contains("tracking script chk (failing)"), "{out}");
        let rs = out
            .lines()
            .find(|l| l.contains("10.0.1.1:80"))
            .unwrap_or("");
        let words: Vec<&str> = rs.split_whitespace().collect();
        assert_eq!(
            &words[..9],
            [
                "->",
                "10.0.1.1:80",
                "down",
                "0(3)",
                "failed",
                "2.1ms",
                "5",
                "0",
                "0"
            ],
            "{out}"
        );
        assert!(rs.ends_with("/ connection refused"), "{out}");
        assert!(out.contains("\n10.0.0.100:80 "), "{out}");
        let ev = out.find("VI_1: INIT -> BACKUP").unwrap_or(usize::MAX);
        let rl = out.find("reloaded").unwrap_or(0);
        assert!(ev < rl, "newest first:\n{out}");
    }
}
