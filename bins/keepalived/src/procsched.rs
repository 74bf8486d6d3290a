//! Process names and scheduling of the daemon's processes, as keepalived 2.2.7 sets them
//! (`set_process_name`, `set_process_priorities`, `restore_priority`,
//! `set_process_cpu_affinity` in its `lib/process.c`):
//!
//! * `process_name` names the parent, `vrrp_process_name`/`checker_process_name`/
//!   `bfd_process_name` (or `process_names`) the workers (`/proc/PID/comm`);
//! * `*_rt_priority P`: `SCHED_RR` at P with `SCHED_RESET_ON_FORK` (scripts run normally), and
//!   `RLIMIT_RTTIME` soft = `*_rlimit_rttime`/2, hard = `*_rlimit_rttime` (default 10000 µs);
//!   a soft-limit SIGXCPU is logged as keepalived does;
//! * else `*_priority N`: nice N;
//! * `*_no_swap`: `mlockall(MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT)`;
//! * `*_cpu_affinity`: the CPU set.
//!
//! * `max_auto_priority`/`min_auto_priority_delay`: when a timer of a worker fires more than
//!   the delay (default 1 s) late, the worker goes realtime (`SCHED_RR` 1, then one more
//!   each time, up to the maximum), as keepalived's scheduler does (`increment_process_priority`).
//!
//! keepalived's worker is one thread; ours has a few, so every setting is applied to each of
//! the worker's threads once it is ready (and again after a reload): threads created by a
//! realtime thread do not inherit the realtime policy (`SCHED_RESET_ON_FORK`).

use conf_parse::{Config, ProcessSched};
use netplat::process;

use crate::worker::WorkerKind;
use crate::{info, warning};

/// keepalived's `RT_RLIMIT_DEFAULT` (µs).
pub const RT_RLIMIT_DEFAULT: u32 = 10_000;

/// keepalived's `min_auto_priority_delay` default (1 s).
pub const AUTO_PRIORITY_DELAY_DEFAULT: std::time::Duration = std::time::Duration::from_secs(1);

/// `max_auto_priority`/`min_auto_priority_delay` in force (keepalived: `max_rt_priority`,
/// `min_auto_priority_delay`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoPriority {
    /// The highest realtime priority the worker raises itself to.
    pub max: u8,
    /// Lateness above which it raises it.
    pub min_delay: std::time::Duration,
}

/// The automatic realtime priority of the configuration; `None` when `max_auto_priority` is
/// absent, 0 or -1 (keepalived: disabled).
pub fn auto_priority(cfg: &Config) -> Option<AutoPriority> {
    let max = cfg.global.max_auto_priority.filter(|m| *m > 0)?;
    Some(AutoPriority {
        max: u8::try_from(max.min(99)).unwrap_or(99),
        min_delay: cfg
            .global
            .min_auto_priority_delay
            .unwrap_or(AUTO_PRIORITY_DELAY_DEFAULT),
    })
}

/// keepalived's "A thread timer expired S.UUUUUU seconds ago".
pub fn late_line(late: std::time::Duration) -> String {
    format!(
        "A thread timer expired {}.{:06} seconds ago",
        late.as_secs(),
        late.subsec_micros()
    )
}

/// The configured name of a worker (`None`: keepalived leaves the forked name).
pub fn worker_name(kind: WorkerKind, cfg: &Config) -> Option<&str> {
    let n = &cfg.global.process_names;
    match kind {
        WorkerKind::Vrrp => n.vrrp.as_deref(),
        WorkerKind::Checker => n.checker.as_deref(),
        WorkerKind::Bfd => n.bfd.as_deref(),
    }
}

/// A worker's scheduling keywords.
pub fn worker_sched(kind: WorkerKind, cfg: &Config) -> &ProcessSched {
    match kind {
        WorkerKind::Vrrp => &cfg.global.vrrp_sched,
        WorkerKind::Checker => &cfg.global.checker_sched,
        WorkerKind::Bfd => &cfg.global.bfd_sched,
    }
}

/// keepalived's `set_process_name`: `None` is "keepalived".
pub fn set_name(name: Option<&str>) {
    let name = name.unwrap_or("keepalived");
    if process::set_thread_name(name).is_err() {
        info!("Failed to set process name '{name}'");
    }
}

/// At a start (`prev` None) or a reload: the name when it is set (start) or changed (reload).
pub fn update_name(prev: Option<Option<&str>>, new: Option<&str>) {
    match prev {
        None if new.is_some() => set_name(new),
        Some(old) if old != new => set_name(new),
        _ => {}
    }
}

/// The scheduling state this process has set (keepalived's `cur_rt_priority`, ...) and the
/// threads it was applied to.
#[derive(Debug, Default)]
pub struct Applied {
    cur: Option<ProcessSched>,
    rt: Option<u8>,
    nice: i32,
    locked: bool,
    threads: std::collections::BTreeSet<i32>,
}

impl Applied {
    /// The per-thread settings of `s` on thread `tid`.
    fn thread(&self, tid: i32, s: &ProcessSched, what: &str, reset_rt: bool) {
        if let Some(p) = s.rt_priority {
            if let Err(e) = process::set_realtime(tid, Some(p)) {
                warning!("child process: cannot raise priority ({e})");
            }
        } else {
            if reset_rt {
                if let Err(e) = process::set_realtime(tid, None) {
                    warning!("child process: cannot reset realtime scheduling ({e})");
                }
            }
            let nice = i32::from(s.priority);
            if process::nice(tid).map_or(true, |n| n != nice) {
                if let Err(e) = process::set_nice(tid, nice) {
                    info!("Unable to set process priority to {nice} - {e}");
                }
            }
        }
        if let Some(cpus) = s.cpu_affinity.as_deref().filter(|c| !c.is_empty()) {
            if let Err(e) = process::set_affinity(tid, cpus) {
                warning!("unable to set cpu affinity to {what} process ({e})");
            }
        }
    }

    /// Applies `s` (process `what`: "vrrp", "checker", "bfd") to every thread, keepalived's
    /// `set_process_priorities` at the start and `restore_priority` at a reload.
    pub fn apply(&mut self, s: &ProcessSched, what: &str) {
        // A realtime priority raised automatically before the first application stays
        // (keepalived resets it only at a reload, which applies again).
        let raised;
        let s = if self.cur.is_none() && self.rt > s.rt_priority {
            let mut x = s.clone();
            x.rt_priority = self.rt;
            raised = x;
            &raised
        } else {
            s
        };
        let reset_rt = self.rt.is_some() && s.rt_priority.is_none();
        let tids = process::threads().unwrap_or_default();
        for &t in &tids {
            self.thread(t, s, what, reset_rt);
        }
        self.threads = tids.into_iter().collect();
        if let Some(p) = s.rt_priority {
            let r = u64::from(s.rlimit_rttime.unwrap_or(RT_RLIMIT_DEFAULT));
            if self.rt != Some(p) && process::set_rlimit_rttime(r / 2, r).is_err() {
                warning!("child process cannot set realtime rlimit");
            }
        }
        self.rt = s.rt_priority;
        self.nice = i32::from(s.priority);
        if s.no_swap != self.locked {
            match process::lock_memory(s.no_swap) {
                Err(e) => info!("Unable to lock process in memory - {e}"),
                Ok(()) => self.locked = s.no_swap,
            }
        }
        self.cur = Some(s.clone());
    }

    /// keepalived's `increment_process_priority`: realtime at `SCHED_RR`'s lowest priority
    /// (1) when not yet realtime (with the worker's RLIMIT_RTTIME), else one more, up to
    /// `max`; on every thread. Returns the new priority (`None`: already at `max`).
    pub fn raise_realtime(&mut self, max: u8, what: &str) -> Option<u8> {
        let next = match self.rt {
            Some(p) if p >= max => return None,
            Some(p) => p + 1,
            None => 1,
        };
        let mut s = self.cur.clone().unwrap_or_default();
        if self.rt.is_none() {
            let r = u64::from(s.rlimit_rttime.unwrap_or(RT_RLIMIT_DEFAULT));
            if process::set_rlimit_rttime(r / 2, r).is_err() {
                warning!("child process cannot set realtime rlimit");
            }
        }
        s.rt_priority = Some(next);
        let tids = process::threads().unwrap_or_default();
        for &t in &tids {
            self.thread(t, &s, what, false);
        }
        self.threads = tids.into_iter().collect();
        self.rt = Some(next);
        self.cur = Some(s);
        info!("Set realtime priority {next}");
        Some(next)
    }

    /// Threads started since (the runtime's helper threads: a thread created by a realtime
    /// thread starts with normal scheduling) get the settings too.
    pub fn cover_new_threads(&mut self, what: &str) {
        let Some(s) = self.cur.clone() else { return };
        let tids = process::threads().unwrap_or_default();
        for &t in &tids {
            if !self.threads.contains(&t) {
                self.thread(t, &s, what, false);
            }
        }
        self.threads = tids.into_iter().collect();
    }
}

/// keepalived's `log_sigxcpu` line for a worker.
pub fn sigxcpu_line(kind: WorkerKind) -> String {
    let (p, k) = match kind {
        WorkerKind::Vrrp => ("VRRP", "vrrp"),
        WorkerKind::Checker => ("Checker", "checker"),
        WorkerKind::Bfd => ("BFD", "bfd"),
    };
    format!("{p} process has used too much CPU time, {k}_rlimit_rttime may need to be increased")
}
