//! Process name and scheduling (keepalived's `lib/process.c` and `set_process_name`): the
//! `process_name`/`*_process_name`, `*_priority`, `*_rt_priority`, `*_rlimit_rttime`,
//! `*_no_swap` and `*_cpu_affinity` keywords.
//!
//! keepalived's processes are single-threaded, so its calls on "the process" act on its one
//! thread. Ours run a few threads (the runtime's, the tokio blocking pool); the per-thread
//! calls here take a thread id, and [`threads`] lists the process's threads so that a caller
//! can apply a setting to all of them.
#![allow(unsafe_code)]

use crate::{Error, Result};

/// Linux's `SCHED_RESET_ON_FORK` flag: children (scripts) start with normal scheduling.
const SCHED_RESET_ON_FORK: libc::c_int = 0x4000_0000;

fn last_os(op: impl Into<String>) -> Error {
    Error::io(op, std::io::Error::last_os_error())
}

/// The calling thread's name (`prctl(PR_SET_NAME)`, `/proc/PID/comm` for the main thread);
/// at most 15 bytes are kept by the kernel.
pub fn set_thread_name(name: &str) -> Result<()> {
    let c = std::ffi::CString::new(name)
        .map_err(|_| Error::Invalid(format!("process name {name:?} contains NUL")))?;
    nix::sys::prctl::set_name(&c).map_err(|e| Error::io("prctl(PR_SET_NAME)", e.into()))
}

/// The thread ids of this process (`/proc/self/task`).
pub fn threads() -> Result<Vec<i32>> {
    let rd =
        std::fs::read_dir("/proc/self/task").map_err(|e| Error::io("read /proc/self/task", e))?;
    let mut out: Vec<i32> = rd
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    out.sort_unstable();
    Ok(out)
}

/// The nice value of thread `tid` (0: the caller).
pub fn nice(tid: i32) -> Result<i32> {
    // SAFETY: plain system calls on integers; errno is reset first because -1 is a valid
    // answer of getpriority.
    unsafe {
        *libc::__errno_location() = 0;
        let v = libc::getpriority(libc::PRIO_PROCESS, tid as libc::id_t);
        if v == -1 && *libc::__errno_location() != 0 {
            return Err(last_os(format!("getpriority({tid})")));
        }
        Ok(v)
    }
}

/// Sets the nice value of thread `tid` (0: the caller): `setpriority(PRIO_PROCESS)`.
pub fn set_nice(tid: i32, value: i32) -> Result<()> {
    // SAFETY: plain system call on integers.
    let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, value) };
    if r == -1 {
        return Err(last_os(format!("setpriority({tid}, {value})")));
    }
    Ok(())
}

/// Realtime round-robin scheduling at `priority` (1..99) for thread `tid`, with
/// `SCHED_RESET_ON_FORK` as keepalived sets it; `None`: back to `SCHED_OTHER`.
pub fn set_realtime(tid: i32, priority: Option<u8>) -> Result<()> {
    let (policy, prio) = match priority {
        Some(p) => (libc::SCHED_RR | SCHED_RESET_ON_FORK, libc::c_int::from(p)),
        None => (libc::SCHED_OTHER, 0),
    };
    let sp = libc::sched_param {
        sched_priority: prio,
    };
    // SAFETY: `sp` is a valid sched_param for the duration of the call.
    let r = unsafe { libc::sched_setscheduler(tid, policy, &sp) };
    if r == -1 {
        return Err(last_os(format!(
            "sched_setscheduler({tid}, {policy:#x}, {prio})"
        )));
    }
    Ok(())
}

/// Restricts thread `tid` to the CPUs `cpus`.
pub fn set_affinity(tid: i32, cpus: &[u16]) -> Result<()> {
    let mut set = nix::sched::CpuSet::new();
    for &c in cpus {
        set.set(usize::from(c))
            .map_err(|e| Error::io(format!("CPU {c}"), e.into()))?;
    }
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(tid), &set)
        .map_err(|e| Error::io(format!("sched_setaffinity({tid})"), e.into()))
}

/// `RLIMIT_RTTIME` of the process: `soft`/`hard` microseconds of realtime CPU without a
/// blocking system call.
pub fn set_rlimit_rttime(soft: u64, hard: u64) -> Result<()> {
    let lim = libc::rlimit {
        rlim_cur: soft as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    // SAFETY: `lim` is a valid rlimit for the duration of the call.
    let r = unsafe { libc::setrlimit(libc::RLIMIT_RTTIME, &lim) };
    if r == -1 {
        return Err(last_os("setrlimit(RLIMIT_RTTIME)"));
    }
    Ok(())
}

/// `RLIM_INFINITY` as the `u64` the rlimit functions here take and return.
#[allow(clippy::unnecessary_cast)] // rlim_t is u64 here, not on every target
pub const RLIM_INFINITY: u64 = libc::RLIM_INFINITY as u64;

/// `RLIMIT_CORE` of the process: (soft, hard) bytes ([`RLIM_INFINITY`]: unlimited).
pub fn rlimit_core() -> Result<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for the duration of the call.
    let r = unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut lim) };
    if r == -1 {
        return Err(last_os("getrlimit(RLIMIT_CORE)"));
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is u64 here, not on every target
    Ok((lim.rlim_cur as u64, lim.rlim_max as u64))
}

/// Sets `RLIMIT_CORE` of the process (keepalived's `-m`).
pub fn set_rlimit_core(soft: u64, hard: u64) -> Result<()> {
    let lim = libc::rlimit {
        rlim_cur: soft as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    // SAFETY: `lim` is a valid rlimit for the duration of the call.
    let r = unsafe { libc::setrlimit(libc::RLIMIT_CORE, &lim) };
    if r == -1 {
        return Err(last_os("setrlimit(RLIMIT_CORE)"));
    }
    Ok(())
}

/// The process `cmd` starts gets `RLIMIT_CORE` (soft, hard), set between fork and exec
/// (keepalived's `set_child_rlimit`: scripts run with the limit the daemon started with).
pub fn child_rlimit_core(cmd: &mut std::process::Command, soft: u64, hard: u64) {
    use std::os::unix::process::CommandExt;
    let lim = libc::rlimit {
        rlim_cur: soft as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    // SAFETY: the closure only calls setrlimit (async-signal-safe) on a value it owns; a
    // failure leaves the inherited limit, as keepalived's child does.
    unsafe {
        cmd.pre_exec(move || {
            libc::setrlimit(libc::RLIMIT_CORE, &lim);
            Ok(())
        });
    }
}

/// Makes `cmd`'s child start with only descriptors 0, 1 and 2 (keepalived 2.3.4 calls
/// `close_range()` before exec'ing a script): every descriptor from 3 up is marked close-on-exec
/// in the child just before exec (`close_range(3, ~0, CLOSE_RANGE_CLOEXEC)`; on a kernel
/// without it, `FD_CLOEXEC` on each descriptor below the open-files limit), so nothing the
/// daemon inherited or opened without the flag reaches the program. Marking instead of closing
/// keeps std's own exec-error pipe working.
pub fn child_close_fds(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // Read before the fork: getrlimit is not needed in the child.
    let max = {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes only into `lim`, which we own.
        let r = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
        if r == 0 {
            lim.rlim_cur.min(1 << 16) as libc::c_int
        } else {
            1024
        }
    };
    // SAFETY: the closure calls only close_range/fcntl (async-signal-safe system calls) on
    // integers; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            let r = libc::syscall(
                libc::SYS_close_range,
                3 as libc::c_uint,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            );
            if r != 0 {
                for fd in 3..max {
                    libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                }
            }
            Ok(())
        });
    }
}

/// `mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)` (keepalived's `*_no_swap`); `false`:
/// `munlockall`.
pub fn lock_memory(lock: bool) -> Result<()> {
    // SAFETY: plain system calls without pointers.
    let r = unsafe {
        if lock {
            libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE | libc::MCL_ONFAULT)
        } else {
            libc::munlockall()
        }
    };
    if r == -1 {
        return Err(last_os(if lock { "mlockall" } else { "munlockall" }));
    }
    Ok(())
}

/// Ignores `signals` (`SIG_IGN`) until a handler is installed for them: a daemon's first
/// moments, before its signal handlers exist, when the default action of SIGHUP/SIGUSR1/
/// SIGUSR2 would kill it (a reload or dump request sent while it starts). Installing a handler
/// later (tokio's) replaces `SIG_IGN`, and handlers do not survive `exec`, so programs started
/// after that get the default dispositions back.
pub fn ignore_until_handled(signals: &[i32]) {
    for &s in signals {
        // SAFETY: SIG_IGN is no handler (nothing runs in signal context); the signal numbers
        // are the caller's constants, an invalid one is an EINVAL we ignore.
        unsafe {
            libc::signal(s, libc::SIG_IGN);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_lists_self() {
        let t = threads().expect("threads");
        assert!(t.contains(&(std::process::id() as i32)));
    }

    #[test]
    fn nice_reads_and_sets_own_thread() {
        // Raising one's own nice value needs no privilege.
        let tid = nix::unistd::gettid().as_raw();
        let before = nice(tid).expect("nice");
        let h = std::thread::spawn(|| {
            let me = nix::unistd::gettid().as_raw();
            set_nice(me, 19).expect("set");
            nice(me).expect("nice")
        });
        assert_eq!(h.join().expect("join"), 19);
        assert_eq!(nice(tid).expect("nice"), before);
    }
}
