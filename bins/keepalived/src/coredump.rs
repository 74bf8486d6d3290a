//! `-m`/`--core-dump` and `-M`/`--core-dump-pattern[=PATN]`, as keepalived 2.2.7's
//! `core_dump_init` (keepalived/core/main.c):
//!
//! * `-m` (and `-M`): `RLIMIT_CORE` unlimited (soft and hard) for the daemon and its workers;
//!   scripts start with the limit the daemon started with (`set_child_rlimit`);
//! * `-M`: opens `/proc/sys/kernel/core_pattern`, reads the pattern in force, writes PATN
//!   (default `core`) through the same descriptor, and writes the saved pattern back when the
//!   daemon stops. The same system calls as keepalived's `update_core_dump_pattern`: under the
//!   kernel's default `kernel.sysctl_writes_strict = 1` a write after the read lands past the
//!   end of the string and leaves the pattern as it was, with keepalived as with us.

use std::io::{Read, Write};

use crate::info;

/// Environment variable a worker learns the scripts' `RLIMIT_CORE` from ("SOFT HARD").
pub const CHILD_CORE_ENV: &str = "KEEPALIVED_RS_CHILD_RLIMIT_CORE";

const CORE_PATTERN: &str = "/proc/sys/kernel/core_pattern";
/// The kernel's `CORENAME_MAX_SIZE`.
const CORENAME_MAX_SIZE: u64 = 128;

/// What `-M` changed, to undo at the stop.
#[derive(Debug, Default)]
pub struct CoreDump {
    orig_pattern: Option<Vec<u8>>,
}

/// keepalived's `update_core_dump_pattern` at the start: the pattern read (`None` on failure,
/// logged as keepalived does).
fn set_pattern(pattern: &str) -> Option<Vec<u8>> {
    let r = (|| -> std::io::Result<Vec<u8>> {
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(CORE_PATTERN)?;
        let mut orig = Vec::new();
        (&mut f)
            .take(CORENAME_MAX_SIZE - 1)
            .read_to_end(&mut orig)?;
        f.write_all(pattern.as_bytes())?;
        Ok(orig)
    })();
    match r {
        Ok(orig) => Some(orig),
        Err(_) => {
            info!("Unable to read/write core_pattern");
            None
        }
    }
}

impl CoreDump {
    /// Applies `-m`/`-M` (`pattern`: `Some("")` for a bare `-M`).
    pub fn init(core_dump: bool, pattern: Option<&str>) -> CoreDump {
        let mut out = CoreDump::default();
        if let Some(p) = pattern {
            out.orig_pattern = set_pattern(if p.is_empty() { "core" } else { p });
        }
        if core_dump || pattern.is_some() {
            match netplat::process::rlimit_core() {
                Err(_) => info!("Failed to get core file size"),
                Ok((soft, hard)) => {
                    let inf = netplat::process::RLIM_INFINITY;
                    if netplat::process::set_rlimit_core(inf, inf).is_err() {
                        info!("Failed to set core file size");
                    } else {
                        script_runner::set_child_core_limit(soft, hard);
                        // The workers are this program executed again: they read it at start.
                        std::env::set_var(CHILD_CORE_ENV, format!("{soft} {hard}"));
                    }
                }
            }
        }
        out
    }

    /// At the stop: the saved pattern written back (a fresh descriptor, no read).
    pub fn restore(&mut self) {
        if let Some(orig) = self.orig_pattern.take() {
            let r = std::fs::OpenOptions::new()
                .write(true)
                .open(CORE_PATTERN)
                .and_then(|mut f| f.write_all(&orig));
            if r.is_err() {
                info!("Unable to read/write core_pattern");
            }
        }
    }
}

/// In a worker: the scripts' `RLIMIT_CORE` the parent set (nothing without `-m`/`-M`).
pub fn worker_init() {
    let Ok(v) = std::env::var(CHILD_CORE_ENV) else {
        return;
    };
    let mut it = v.split_whitespace().map(str::parse::<u64>);
    if let (Some(Ok(soft)), Some(Ok(hard))) = (it.next(), it.next()) {
        script_runner::set_child_core_limit(soft, hard);
    }
}

impl Drop for CoreDump {
    fn drop(&mut self) {
        self.restore();
    }
}
