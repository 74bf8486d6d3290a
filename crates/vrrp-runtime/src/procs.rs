//! `vrrp_track_process`: counts the processes matching each tracked definition by reading
//! `/proc` (keepalived's matching rules: the process name from `/proc/PID/stat`, or with
//! `full_command`/`param_match` the command line from `/proc/PID/cmdline`, parameters compared as
//! keepalived's `check_params` does; zombies do not count) and reports when one gains or loses
//! its quorum (`quorum` ≤ count ≤ `quorum_max`), after `fork_delay`/`terminate_delay`
//! (`delay` sets both).
//!
//! keepalived follows processes through the kernel's process-event connector, which only
//! reports to the initial network namespace; this scans `/proc` once a second instead (works in
//! any namespace; a change is seen within a second plus the configured delay).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use conf_parse::TrackProcess;

/// How often `/proc` is scanned.
pub(crate) const SCAN_EVERY: Duration = Duration::from_secs(1);

/// A tracked process definition gained (`up`) or lost its quorum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProcEvent {
    pub name: String,
    pub up: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParamMatch {
    None,
    Exact,
    Partial,
    Initial,
}

/// One definition in matching form.
#[derive(Debug, Clone)]
pub(crate) struct Matcher {
    pub name: String,
    path: String,
    /// Parameters, each followed by a NUL (keepalived's layout).
    params: Vec<u8>,
    param_match: ParamMatch,
    full_command: bool,
    quorum: u32,
    quorum_max: u32,
    fork_delay: Duration,
    terminate_delay: Duration,
}

impl Matcher {
    pub(crate) fn new(t: &TrackProcess) -> Matcher {
        let path = t.process.first().cloned().unwrap_or_default();
        let mut params = Vec::new();
        for p in t.process.iter().skip(1) {
            params.extend_from_slice(p.as_bytes());
            params.push(0);
        }
        let mut param_match = match t.param_match.as_deref() {
            Some("partial") => ParamMatch::Partial,
            Some("initial") => ParamMatch::Initial,
            Some(_) => ParamMatch::Exact,
            None => ParamMatch::None,
        };
        if !params.is_empty() && param_match == ParamMatch::None {
            param_match = ParamMatch::Exact;
        }
        Matcher {
            name: t.name.clone(),
            path,
            params,
            param_match,
            full_command: t.full_command || param_match != ParamMatch::None,
            quorum: t.quorum.max(1),
            quorum_max: t.quorum_max.unwrap_or(u32::MAX),
            fork_delay: t.fork_delay.or(t.delay).unwrap_or_default(),
            terminate_delay: t.terminate_delay.or(t.delay).unwrap_or_default(),
        }
    }

    /// keepalived 2.4.3's `vrrp_json_vprocess_dump` of this definition with `count` matching
    /// processes (`weight` signed by `weight_reverse`; the delay timers are idle when dumped
    /// from a fresh scan).
    pub(crate) fn json(&self, weight: i32, count: u32) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("process".into(), self.name.clone().into());
        if !self.params.is_empty() {
            let p = String::from_utf8_lossy(&self.params);
            m.insert(
                "parameters".into(),
                p.trim_end_matches('\0').replace('\0', " ").into(),
            );
        }
        let pm = match self.param_match {
            ParamMatch::None => "none",
            ParamMatch::Exact => "exact",
            ParamMatch::Partial => "partial",
            ParamMatch::Initial => "initial",
        };
        m.insert("param_match".into(), pm.into());
        m.insert("min_processes".into(), self.quorum.into());
        if self.quorum_max < u32::MAX {
            m.insert("max_processes".into(), self.quorum_max.into());
        }
        m.insert("current_processes".into(), count.into());
        m.insert(
            "have_quorum".into(),
            (count >= self.quorum && count <= self.quorum_max).into(),
        );
        m.insert("weight".into(), weight.into());
        let secs = |d: Duration| crate::json::float(d.as_secs_f64());
        m.insert("terminate_delay".into(), secs(self.terminate_delay));
        m.insert("fork_delay".into(), secs(self.fork_delay));
        m.insert("fork_delay_timer_running".into(), false.into());
        m.insert("terminate_delay_timer_running".into(), false.into());
        m.insert("full_command".into(), self.full_command.into());
        serde_json::Value::Object(m)
    }

    /// keepalived's `check_params`: `args` is the NUL-separated rest of the command line.
    fn check_params(&self, args: &[u8]) -> bool {
        let want = &self.params;
        if self.param_match == ParamMatch::Exact && want.is_empty() && args.is_empty() {
            return true;
        }
        if args.len() < want.len() {
            return false;
        }
        match self.param_match {
            ParamMatch::Exact => args == want.as_slice(),
            _ if want.is_empty() => true,
            ParamMatch::Partial => args.starts_with(want),
            ParamMatch::Initial => want.len() == 1 || args.starts_with(&want[..want.len() - 1]),
            ParamMatch::None => true,
        }
    }

    /// Whether a process with this `comm` (from stat) and `cmdline` matches.
    fn matches(&self, comm: &str, cmdline: Option<&[u8]>) -> bool {
        if self.full_command {
            let Some(cl) = cmdline else { return false };
            let (argv0, rest) = match cl.iter().position(|&b| b == 0) {
                Some(i) => (&cl[..i], &cl[i + 1..]),
                None => (cl, &[][..]),
            };
            if argv0 != self.path.as_bytes() {
                return false;
            }
            self.param_match == ParamMatch::None || self.check_params(rest)
        } else {
            comm == self.path
        }
    }
}

/// Counts the live (non-zombie) processes matching each matcher.
pub(crate) fn scan(matchers: &[Matcher]) -> Vec<u32> {
    let mut counts = vec![0u32; matchers.len()];
    let need_cmdline = matchers.iter().any(|m| m.full_command);
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return counts;
    };
    for ent in dir.flatten() {
        let name = ent.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "PID (comm) S ...": comm may contain ')' — take the last one.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let Some(comm) = stat.get(open + 1..close) else {
            continue;
        };
        if stat.get(close + 2..close + 3) == Some("Z") {
            continue;
        }
        let cmdline = if need_cmdline {
            std::fs::read(format!("/proc/{pid}/cmdline")).ok()
        } else {
            None
        };
        for (k, m) in matchers.iter().enumerate() {
            if m.matches(comm, cmdline.as_deref()) {
                counts[k] = counts[k].saturating_add(1);
            }
        }
    }
    counts
}

/// Quorum state of one definition with its pending delayed change.
struct Quorum {
    up: bool,
    pending: Option<(bool, Instant)>,
}

/// The quorum of each matcher from one scan (no delays): the state at start.
pub(crate) fn initial(matchers: &[Matcher]) -> Vec<bool> {
    scan(matchers)
        .iter()
        .zip(matchers)
        .map(|(&n, m)| n >= m.quorum && n <= m.quorum_max)
        .collect()
}

/// Scans every [`SCAN_EVERY`] on a thread of its own and sends quorum changes (after the
/// delays) until `stop` is set or the receiver is gone. `start` is the state [`initial`] gave.
pub(crate) fn spawn(
    matchers: Vec<Matcher>,
    start: Vec<bool>,
    tx: crate::inbox::Tx<ProcEvent>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("vrrp-track-proc".into())
        .spawn(move || {
            let mut q: Vec<Quorum> = start
                .into_iter()
                .map(|up| Quorum { up, pending: None })
                .collect();
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(SCAN_EVERY);
                let counts = scan(&matchers);
                let now = Instant::now();
                for (k, m) in matchers.iter().enumerate() {
                    let n = counts[k];
                    let want = n >= m.quorum && n <= m.quorum_max;
                    let st = &mut q[k];
                    if want == st.up {
                        st.pending = None;
                        continue;
                    }
                    let delay = if want {
                        m.fork_delay
                    } else {
                        m.terminate_delay
                    };
                    let at = match st.pending {
                        Some((w, at)) if w == want => at,
                        _ => now + delay,
                    };
                    if now >= at {
                        st.up = want;
                        st.pending = None;
                        log::info!(
                            "Track process {} {} quorum ({n} process(es))",
                            m.name,
                            if want { "gained" } else { "lost" }
                        );
                        if tx
                            .send(ProcEvent {
                                name: m.name.clone(),
                                up: want,
                            })
                            .is_err()
                        {
                            return;
                        }
                    } else {
                        st.pending = Some((want, at));
                    }
                }
            }
        })
}

/// The definitions the instances track, by name (unused ones are not scanned for).
pub(crate) fn matchers_for(
    config: &conf_parse::Config,
    used: impl Fn(&str) -> bool,
) -> Vec<Matcher> {
    config
        .track_processes
        .iter()
        .filter(|t| used(&t.name))
        .map(Matcher::new)
        .collect()
}

/// Process names keyed for reload comparison.
pub(crate) fn signature(ms: &[Matcher]) -> BTreeMap<String, String> {
    ms.iter()
        .map(|m| (m.name.clone(), format!("{m:?}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(process: &[&str], param_match: Option<&str>, full: bool) -> TrackProcess {
        let c = conf_parse::parse_str(
            "vrrp_track_process p {\n  process x\n}\n",
            "t.conf",
            &conf_parse::ParseOptions::default(),
        );
        let mut t = c.config.track_processes[0].clone();
        t.process = process.iter().map(|s| s.to_string()).collect();
        t.param_match = param_match.map(String::from);
        t.full_command = full;
        t
    }

    // Proves keepalived's matching: comm by default; the full command line with full_command or
    // parameters; exact, partial (config params are the first complete params) and initial (the
    // last config param may be cut short) as its check_params does.
    #[test]
    fn matching_rules() {
        let m = Matcher::new(&tp(&["haproxy"], None, false));
        assert!(m.matches("haproxy", None));
        assert!(!m.matches("haproxy2", None));
        let m = Matcher::new(&tp(&["/usr/sbin/haproxy"], None, true));
        assert!(m.matches("haproxy", Some(b"/usr/sbin/haproxy\0-f\0/etc/h.cfg\0")));
        assert!(!m.matches("haproxy", Some(b"haproxy\0")));
        let exact = Matcher::new(&tp(&["/bin/x", "-f", "a"], None, false));
        assert!(exact.matches("x", Some(b"/bin/x\0-f\0a\0")));
        assert!(!exact.matches("x", Some(b"/bin/x\0-f\0a\0b\0")));
        assert!(!exact.matches("x", Some(b"/bin/x\0-f\0")));
        let partial = Matcher::new(&tp(&["/bin/x", "-f", "a"], Some("partial"), false));
        assert!(partial.matches("x", Some(b"/bin/x\0-f\0a\0b\0")));
        assert!(!partial.matches("x", Some(b"/bin/x\0-f\0ab\0")));
        let initial = Matcher::new(&tp(&["/bin/x", "-f", "a"], Some("initial"), false));
        assert!(initial.matches("x", Some(b"/bin/x\0-f\0ab\0")));
        assert!(!initial.matches("x", Some(b"/bin/x\0-g\0a\0")));
    }

    // Proves a scan of the real /proc counts this test process by its comm.
    #[test]
    fn scan_counts_ourselves() {
        let comm = std::fs::read_to_string("/proc/self/comm").unwrap_or_default();
        let m = Matcher::new(&tp(&[comm.trim()], None, false));
        assert!(scan(&[m])[0] >= 1);
        let none = Matcher::new(&tp(&["no-such-process-krs"], None, false));
        assert_eq!(scan(&[none])[0], 0);
    }
}
