//! keepalived's dump files under `$TMPDIR` (absolute, else /tmp): SIGUSR1 writes
//! `keepalived_parent.data` (parent), `keepalived.data` (VRRP), `keepalived_check.data`
//! (checker); SIGUSR2 writes `keepalived.stats` (VRRP); SIGJSON writes `keepalived.json` (VRRP).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use crate::worker::WorkerKind;

/// Parent's USR1 file.
pub const PARENT_DATA_FILE: &str = "keepalived_parent.data";
/// VRRP USR1 file.
pub const VRRP_DATA_FILE: &str = "keepalived.data";
/// Checker USR1 file.
pub const CHECK_DATA_FILE: &str = "keepalived_check.data";
/// BFD USR1 file.
pub const BFD_DATA_FILE: &str = "keepalived_bfd.data";
/// VRRP USR2 file.
pub const STATS_FILE: &str = "keepalived.stats";
/// VRRP JSON file.
pub const JSON_FILE: &str = "keepalived.json";

/// keepalived's `set_tmp_dir`.
pub fn tmp_dir() -> PathBuf {
    match std::env::var("TMPDIR") {
        Ok(d) if d.starts_with('/') => PathBuf::from(d),
        _ => PathBuf::from("/tmp"),
    }
}

/// USR1 file of a worker.
pub fn data_file(kind: WorkerKind) -> &'static str {
    match kind {
        WorkerKind::Vrrp => VRRP_DATA_FILE,
        WorkerKind::Checker => CHECK_DATA_FILE,
        WorkerKind::Bfd => BFD_DATA_FILE,
    }
}

/// Write `text` to `$TMPDIR/name` (O_NOFOLLOW, 0666 less the umask: keepalived's fopen_safe,
/// 0600 under its default umask 0177), logging failures.
pub fn write(name: &str, text: &str) {
    let path = tmp_dir().join(name);
    let res = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o666)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = res {
        crate::info!("Can't open dump file {} ({e})", path.display());
    }
}
