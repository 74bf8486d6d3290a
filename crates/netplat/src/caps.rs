//! Linux capabilities of the calling thread: read and narrow the effective, permitted,
//! inheritable, ambient and bounding sets, and set `no_new_privs`
//! (capabilities(7), prctl(2)).
//!
//! Every set here is per *thread*: a process narrows itself before it starts other threads
//! (threads inherit the creator's sets), or each thread narrows itself. [`Status::of`] reads
//! what `/proc/<pid>/task/<tid>/status` shows, for tests and diagnostics.

#![allow(unsafe_code)]

use std::fmt;

use crate::{Error, Result};

/// A set of capabilities (bit N = capability number N).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CapSet(pub u64);

/// Capability numbers (linux/capability.h) and names, those keepalived-rs reasons about plus
/// the rest for printing.
pub const NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Capability numbers used by keepalived-rs.
pub mod cap {
    /// CAP_CHOWN.
    pub const CHOWN: u8 = 0;
    /// CAP_DAC_OVERRIDE.
    pub const DAC_OVERRIDE: u8 = 1;
    /// CAP_KILL.
    pub const KILL: u8 = 5;
    /// CAP_SETGID.
    pub const SETGID: u8 = 6;
    /// CAP_SETUID.
    pub const SETUID: u8 = 7;
    /// CAP_NET_BIND_SERVICE.
    pub const NET_BIND_SERVICE: u8 = 10;
    /// CAP_NET_ADMIN.
    pub const NET_ADMIN: u8 = 12;
    /// CAP_NET_RAW.
    pub const NET_RAW: u8 = 13;
    /// CAP_IPC_LOCK.
    pub const IPC_LOCK: u8 = 14;
    /// CAP_SYS_PTRACE.
    pub const SYS_PTRACE: u8 = 19;
    /// CAP_SYS_ADMIN.
    pub const SYS_ADMIN: u8 = 21;
    /// CAP_SYS_NICE.
    pub const SYS_NICE: u8 = 23;
    /// CAP_SYS_RESOURCE.
    pub const SYS_RESOURCE: u8 = 24;
}

impl CapSet {
    /// No capability.
    pub const EMPTY: CapSet = CapSet(0);

    /// The set of the given capability numbers.
    pub fn of(caps: &[u8]) -> CapSet {
        CapSet(
            caps.iter()
                .filter(|&&c| c < 64)
                .fold(0, |a, &c| a | (1u64 << c)),
        )
    }
    /// Every capability this kernel knows (0..=cap_last_cap).
    pub fn all() -> CapSet {
        let last = last_cap();
        CapSet(if last >= 63 {
            u64::MAX
        } else {
            (1u64 << (last + 1)) - 1
        })
    }
    /// Whether `c` is in the set.
    pub fn has(self, c: u8) -> bool {
        c < 64 && self.0 & (1u64 << c) != 0
    }
    /// Union.
    pub fn union(self, o: CapSet) -> CapSet {
        CapSet(self.0 | o.0)
    }
    /// Intersection.
    pub fn intersect(self, o: CapSet) -> CapSet {
        CapSet(self.0 & o.0)
    }
    /// Whether every capability of `self` is in `o`.
    pub fn is_subset(self, o: CapSet) -> bool {
        self.0 & !o.0 == 0
    }
    /// The names, in number order (`CAP_N` for numbers without a name here).
    pub fn names(self) -> Vec<String> {
        (0u8..64)
            .filter(|&c| self.has(c))
            .map(|c| {
                NAMES
                    .get(usize::from(c))
                    .map_or_else(|| format!("CAP_{c}"), |n| (*n).to_string())
            })
            .collect()
    }
}

impl fmt::Display for CapSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("(none)");
        }
        if *self == CapSet::all() {
            return f.write_str("(all)");
        }
        f.write_str(&self.names().join(","))
    }
}

/// The highest capability number of this kernel (`/proc/sys/kernel/cap_last_cap`; 40 when
/// unreadable, Linux 5.9+).
pub fn last_cap() -> u8 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse::<u8>().ok())
        .map_or(40, |n| n.min(63))
}

#[repr(C)]
struct Header {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const VERSION_3: u32 = 0x2008_0522;

fn errno_err(op: &str) -> Error {
    Error::Io {
        op: op.to_string(),
        source: std::io::Error::last_os_error(),
    }
}

/// The calling thread's effective, permitted and inheritable sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThreadCaps {
    /// Effective.
    pub effective: CapSet,
    /// Permitted.
    pub permitted: CapSet,
    /// Inheritable.
    pub inheritable: CapSet,
}

/// capget(2) of the calling thread.
pub fn get() -> Result<ThreadCaps> {
    let mut hdr = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: header and a two-element data array as the v3 ABI wants; both outlive the call.
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut hdr as *mut Header, data.as_mut_ptr()) };
    if r != 0 {
        return Err(errno_err("capget"));
    }
    let join =
        |f: fn(&Data) -> u32| CapSet(u64::from(f(&data[0])) | (u64::from(f(&data[1])) << 32));
    Ok(ThreadCaps {
        effective: join(|d| d.effective),
        permitted: join(|d| d.permitted),
        inheritable: join(|d| d.inheritable),
    })
}

/// capset(2) of the calling thread (only narrowing is possible without CAP_SETPCAP).
pub fn set(c: ThreadCaps) -> Result<()> {
    let mut hdr = Header {
        version: VERSION_3,
        pid: 0,
    };
    let split = |s: CapSet| [(s.0 & 0xffff_ffff) as u32, (s.0 >> 32) as u32];
    let (e, p, i) = (split(c.effective), split(c.permitted), split(c.inheritable));
    let data = [
        Data {
            effective: e[0],
            permitted: p[0],
            inheritable: i[0],
        },
        Data {
            effective: e[1],
            permitted: p[1],
            inheritable: i[1],
        },
    ];
    // SAFETY: header and a two-element data array as the v3 ABI wants; both outlive the call.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut Header, data.as_ptr()) };
    if r != 0 {
        return Err(errno_err("capset"));
    }
    Ok(())
}

/// Remove every capability not in `keep` from the calling thread's bounding set
/// (PR_CAPBSET_DROP; needs CAP_SETPCAP in the effective set).
pub fn limit_bounding(keep: CapSet) -> Result<()> {
    for c in 0..=last_cap() {
        if keep.has(c) {
            continue;
        }
        // SAFETY: prctl with integer arguments only.
        let r = unsafe {
            libc::prctl(
                libc::PR_CAPBSET_DROP,
                libc::c_ulong::from(c),
                0 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            )
        };
        if r != 0 {
            return Err(errno_err(&format!("PR_CAPBSET_DROP {c}")));
        }
    }
    Ok(())
}

/// Empty the calling thread's ambient set (PR_CAP_AMBIENT_CLEAR_ALL).
pub fn clear_ambient() -> Result<()> {
    // SAFETY: prctl with integer arguments only.
    let r = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if r != 0 {
        return Err(errno_err("PR_CAP_AMBIENT_CLEAR_ALL"));
    }
    Ok(())
}

/// Set `no_new_privs` on the calling thread (inherited by threads it creates and across
/// execve: set-user-ID bits and file capabilities no longer grant anything).
pub fn set_no_new_privs() -> Result<()> {
    nix::sys::prctl::set_no_new_privs().map_err(|e| Error::Io {
        op: "PR_SET_NO_NEW_PRIVS".into(),
        source: e.into(),
    })
}

/// What the calling thread should keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restriction {
    /// Effective and permitted set.
    pub keep: CapSet,
    /// Bounding set (always includes `keep`).
    pub bounding: CapSet,
    /// Set `no_new_privs`.
    pub no_new_privs: bool,
}

/// Narrow the calling thread: the bounding set to `r.bounding`, the permitted and effective
/// sets to `r.keep`, no inheritable or ambient capability, then `no_new_privs` if asked.
/// Capabilities the thread does not hold are simply absent afterwards (no error).
pub fn restrict(r: Restriction) -> Result<()> {
    let now = get()?;
    let bounding = r.bounding.union(r.keep);
    // The bounding set shrinks while CAP_SETPCAP is still effective.
    if now.effective.has(8) {
        limit_bounding(bounding)?;
    }
    clear_ambient()?;
    let keep = r.keep.intersect(now.permitted);
    set(ThreadCaps {
        effective: keep,
        permitted: keep,
        inheritable: CapSet::EMPTY,
    })?;
    if r.no_new_privs {
        set_no_new_privs()?;
    }
    Ok(())
}

/// The capability lines of `/proc/<pid>/status` (or `/proc/<pid>/task/<tid>/status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Status {
    /// CapInh.
    pub inheritable: CapSet,
    /// CapPrm.
    pub permitted: CapSet,
    /// CapEff.
    pub effective: CapSet,
    /// CapBnd.
    pub bounding: CapSet,
    /// CapAmb.
    pub ambient: CapSet,
    /// NoNewPrivs.
    pub no_new_privs: bool,
}

impl Status {
    /// Parse the text of a `status` file.
    pub fn parse(text: &str) -> Status {
        let mut s = Status::default();
        for line in text.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let v = v.trim();
            let hex = || CapSet(u64::from_str_radix(v, 16).unwrap_or(0));
            match k {
                "CapInh" => s.inheritable = hex(),
                "CapPrm" => s.permitted = hex(),
                "CapEff" => s.effective = hex(),
                "CapBnd" => s.bounding = hex(),
                "CapAmb" => s.ambient = hex(),
                "NoNewPrivs" => s.no_new_privs = v == "1",
                _ => {}
            }
        }
        s
    }
    /// Read `/proc/<pid>/status`.
    pub fn of(pid: u32) -> std::io::Result<Status> {
        Ok(Status::parse(&std::fs::read_to_string(format!(
            "/proc/{pid}/status"
        ))?))
    }
    /// Read the calling thread's `/proc/thread-self/status`.
    pub fn of_this_thread() -> std::io::Result<Status> {
        Ok(Status::parse(&std::fs::read_to_string(
            "/proc/thread-self/status",
        )?))
    }
    /// Read the status of every thread of `pid` (`/proc/<pid>/task/*/status`), by thread id.
    pub fn of_threads(pid: u32) -> std::io::Result<Vec<(u32, Status)>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(format!("/proc/{pid}/task"))? {
            let e = e?;
            let Some(tid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Ok(text) = std::fs::read_to_string(e.path().join("status")) {
                out.push((tid, Status::parse(&text)));
            }
        }
        out.sort_by_key(|(t, _)| *t);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_lines() {
        let s = Status::parse(
            "Name:\tx\nCapInh:\t0000000000000000\nCapPrm:\t0000000000003000\n\
             CapEff:\t0000000000003000\nCapBnd:\t00000000000030c1\nCapAmb:\t0000000000000000\n\
             NoNewPrivs:\t1\n",
        );
        assert_eq!(s.permitted, CapSet::of(&[cap::NET_ADMIN, cap::NET_RAW]));
        assert_eq!(
            s.bounding,
            CapSet::of(&[
                cap::CHOWN,
                cap::SETGID,
                cap::SETUID,
                cap::NET_ADMIN,
                cap::NET_RAW
            ])
        );
        assert!(s.no_new_privs);
        assert_eq!(s.effective.to_string(), "CAP_NET_ADMIN,CAP_NET_RAW");
    }

    #[test]
    fn own_caps_read_back() {
        // capget and /proc/thread-self/status describe the same thread
        let t = get().expect("capget");
        let st = Status::of_this_thread().expect("status");
        assert_eq!(t.effective, st.effective);
        assert_eq!(t.permitted, st.permitted);
        assert_eq!(t.inheritable, st.inheritable);
        assert!(!Status::of_threads(std::process::id())
            .expect("threads")
            .is_empty());
    }

    #[test]
    fn restrict_narrows_only_this_thread() {
        // On a helper thread (capabilities are per thread): keep nothing, no_new_privs.
        let before = get().expect("capget");
        let after = std::thread::spawn(|| {
            restrict(Restriction {
                keep: CapSet::EMPTY,
                bounding: CapSet::EMPTY,
                no_new_privs: true,
            })
            .expect("restrict");
            Status::of_this_thread().expect("status")
        })
        .join()
        .expect("thread");
        assert_eq!(after.effective, CapSet::EMPTY);
        assert_eq!(after.permitted, CapSet::EMPTY);
        assert!(after.no_new_privs);
        if before.effective.has(8) {
            assert_eq!(after.bounding, CapSet::EMPTY);
        }
        // this thread is untouched
        assert_eq!(get().expect("capget"), before);
    }
}
