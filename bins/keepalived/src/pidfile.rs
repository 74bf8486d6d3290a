//! Pidfiles (`-p`, `-r`, `-c`), with keepalived's default names, held under an exclusive
//! `flock` and an open-file-description write lock (keepalived 2.3.2+'s `F_OFD_SETLK`) for the
//! process's whole life: a second daemon on the same files, ours or keepalived, is refused even
//! if the pid inside was reused. Without a lock (e.g. a pidfile of the C keepalived) we fall back
//! to keepalived's `kill(pid, 0)` test.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, Flock, FlockArg};

/// keepalived's `KEEPALIVED_PID_DIR` (used with an instance name or a namespace).
pub const PID_DIR: &str = "/run/keepalived";

/// Pidfile errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PidError {
    /// Another live process holds the pidfile.
    #[error("{path}: already in use by running process {pid}")]
    Running {
        /// The pidfile.
        path: String,
        /// Its holder (0 when unreadable).
        pid: i32,
    },
    /// Opening/locking/writing failed.
    #[error("pidfile {path}: {op}: {source}")]
    Io {
        /// The pidfile.
        path: String,
        /// What we tried.
        op: &'static str,
        /// Cause.
        source: std::io::Error,
    },
}

/// The three pidfile paths of a daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PidPaths {
    /// Parent (`-p`).
    pub main: PathBuf,
    /// VRRP worker (`-r`).
    pub vrrp: PathBuf,
    /// Checker worker (`-c`).
    pub checkers: PathBuf,
    /// BFD worker (`-b`; set by the caller, default as keepalived's `bfd` pidfile).
    pub bfd: PathBuf,
}

impl PidPaths {
    /// keepalived's rules: explicit options win; with `instance NAME` the files are
    /// `/run/keepalived/{keepalived,vrrp,checkers}_NAME.pid`; with an instance or a network
    /// namespace they live in `/run/keepalived/`; otherwise `/run/{keepalived,vrrp,checkers}.pid`.
    pub fn resolve(
        main: Option<&str>,
        vrrp: Option<&str>,
        checkers: Option<&str>,
        instance: Option<&str>,
        namespace: Option<&str>,
    ) -> PidPaths {
        let make = |explicit: Option<&str>, base: &str| -> PathBuf {
            if let Some(p) = explicit {
                return PathBuf::from(p);
            }
            match (instance, namespace) {
                (Some(i), _) => PathBuf::from(format!("{PID_DIR}/{base}_{i}.pid")),
                (None, Some(_)) => PathBuf::from(format!("{PID_DIR}/{base}.pid")),
                (None, None) => PathBuf::from(format!("/run/{base}.pid")),
            }
        };
        PidPaths {
            main: make(main, "keepalived"),
            vrrp: make(vrrp, "vrrp"),
            checkers: make(checkers, "checkers"),
            bfd: make(None, "bfd"),
        }
    }
}

/// A pidfile we hold (locked); removed when dropped.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    lock: Option<Flock<File>>,
}

fn io(path: &Path, op: &'static str, source: std::io::Error) -> PidError {
    PidError::Io {
        path: path.display().to_string(),
        op,
        source,
    }
}

fn read_pid(f: &mut File) -> i32 {
    let mut s = String::new();
    let _ = f.rewind();
    let _ = f.read_to_string(&mut s);
    s.trim().parse().unwrap_or(0)
}

fn pid_alive(pid: i32) -> bool {
    pid > 0
        && pid != std::process::id() as i32
        && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

impl PidFile {
    /// Create/lock `path` and write our pid. Refuses if another process holds it.
    pub fn acquire(path: &Path) -> Result<PidFile, PidError> {
        // keepalived creates pidfiles 0644 whatever its umask (its default 0177 and a `umask`
        // keyword or -u only narrow other files): the umask's rw-r--r-- bits are lifted for the
        // open (it does the same, around its open).
        use nix::sys::stat::{umask, Mode};
        let old = umask(Mode::empty());
        umask(old & !Mode::from_bits_truncate(0o644));
        let opened = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path);
        umask(old);
        let file = opened.map_err(|e| io(path, "open", e))?;
        let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(l) => l,
            Err((mut f, Errno::EWOULDBLOCK)) => {
                return Err(PidError::Running {
                    path: path.display().to_string(),
                    pid: read_pid(&mut f),
                })
            }
            Err((_, e)) => return Err(io(path, "flock", std::io::Error::from(e))),
        };
        // keepalived 2.3.2+ locks its pidfiles with an open-file-description lock (F_OFD_SETLK),
        // which flock does not see: hold one as well, so each refuses the other.
        match fcntl(&*lock, FcntlArg::F_OFD_SETLK(&whole_file(libc::F_WRLCK))) {
            Ok(_) => {}
            Err(Errno::EAGAIN | Errno::EACCES) => {
                return Err(PidError::Running {
                    path: path.display().to_string(),
                    pid: read_pid(&mut lock),
                })
            }
            Err(e) => return Err(io(path, "F_OFD_SETLK", std::io::Error::from(e))),
        }
        // Unlocked but naming a live process: keepalived's own test (a C keepalived before
        // 2.3.2 holds it).
        let old = read_pid(&mut lock);
        if pid_alive(old) && is_keepalived(old) {
            return Err(PidError::Running {
                path: path.display().to_string(),
                pid: old,
            });
        }
        lock.set_len(0).map_err(|e| io(path, "truncate", e))?;
        lock.rewind().map_err(|e| io(path, "seek", e))?;
        writeln!(lock, "{}", std::process::id()).map_err(|e| io(path, "write", e))?;
        lock.flush().map_err(|e| io(path, "write", e))?;
        Ok(PidFile {
            path: path.to_path_buf(),
            lock: Some(lock),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // Unlink while still holding the lock, so nobody sees an unlocked file with our pid.
        let _ = std::fs::remove_file(&self.path);
        drop(self.lock.take());
    }
}

/// A lock of `kind` (`F_WRLCK`, ...) over the whole file, for the F_OFD_* commands.
fn whole_file(kind: libc::c_int) -> libc::flock {
    libc::flock {
        l_type: kind as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    }
}

fn is_keepalived(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|c| c.trim().starts_with("keepalived") || c.trim().starts_with("genhash"))
        .unwrap_or(false)
}

/// Is a daemon holding `path`? Returns its pid (0 if unknown). A stale file is left alone
/// (keepalived removes it; `acquire` overwrites it).
pub fn running(path: &Path) -> Option<i32> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .ok()?;
    // Write-locked by keepalived 2.3.2+ (an open-file-description lock) or by us.
    let mut probe = whole_file(libc::F_WRLCK);
    if fcntl(&file, FcntlArg::F_OFD_GETLK(&mut probe)).is_ok()
        && probe.l_type != libc::F_UNLCK as libc::c_short
    {
        let mut f = file;
        return Some(read_pid(&mut f));
    }
    match Flock::lock(file, FlockArg::LockSharedNonblock) {
        Ok(mut l) => {
            let pid = read_pid(&mut l);
            (pid_alive(pid) && is_keepalived(pid)).then_some(pid)
        }
        Err((mut f, _)) => Some(read_pid(&mut f)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves keepalived's default pidfile names, with and without an instance name.
    #[test]
    fn default_paths() {
        let p = PidPaths::resolve(None, None, None, None, None);
        assert_eq!(p.main, PathBuf::from("/run/keepalived.pid"));
        assert_eq!(p.vrrp, PathBuf::from("/run/vrrp.pid"));
        assert_eq!(p.checkers, PathBuf::from("/run/checkers.pid"));
        let i = PidPaths::resolve(Some("/x.pid"), None, None, Some("lb1"), None);
        assert_eq!(i.main, PathBuf::from("/x.pid"));
        assert_eq!(i.vrrp, PathBuf::from("/run/keepalived/vrrp_lb1.pid"));
        let n = PidPaths::resolve(None, None, None, None, Some("ns"));
        assert_eq!(n.checkers, PathBuf::from("/run/keepalived/checkers.pid"));
    }

    // Proves a held pidfile is refused to a second holder, reported as running, and removed on drop.
    #[test]
    fn lock_refuses_second_holder() {
        let dir = std::env::temp_dir().join(format!("krs-pid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k.pid");
        let held = PidFile::acquire(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.trim(), std::process::id().to_string());
        match PidFile::acquire(&path) {
            Err(PidError::Running { pid, .. }) => assert_eq!(pid, std::process::id() as i32),
            other => panic!("second acquire: {other:?}"),
        }
        assert_eq!(running(&path), Some(std::process::id() as i32));
        drop(held);
        assert!(!path.exists());
        assert_eq!(running(&path), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
