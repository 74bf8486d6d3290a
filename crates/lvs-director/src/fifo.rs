//! The checker's notify FIFOs (`notify_fifo`, `lvs_notify_fifo`), as keepalived's
//! `notify_fifo_open`/`notify_fifo_close` (lib/notify.c) and `notify_fifo_rs`/`notify_fifo_vs`
//! (check/ipwrapper.c):
//!
//! * a missing FIFO is created (mode 0644, chowned to the `USER [GROUP]` given after its path)
//!   and removed again at stop; an existing one is used as is and left;
//! * its `*_notify_fifo_script` is started first, with the FIFO's path as last argument, and
//!   runs until the checker stops (it gets SIGTERM before the stop notifications, as
//!   keepalived's `script_killall`: lines written at stop reach only other readers);
//! * the FIFO is opened read-write and non-blocking (a missing reader never blocks us);
//! * every line goes to both FIFOs: `RS [10.0.0.2]:tcp:80 [10.0.0.1]:tcp:80 UP`,
//!   `VS [10.0.0.1]:tcp:80 DOWN`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::time::Duration;

use crate::model::NotifyFifo;

/// How long a FIFO reader script may take to see the end of its FIFO at stop before it is
/// terminated (keepalived's readers get SIGTERM when the checker process dies).
const READER_GRACE: Duration = Duration::from_secs(2);

struct Open {
    spec: NotifyFifo,
    file: File,
    created: bool,
    reader: Option<tokio::process::Child>,
}

/// The open FIFOs of the checker.
#[derive(Default)]
pub(crate) struct Fifos {
    open: Vec<Open>,
}

impl Fifos {
    /// Create (if missing), start the reader script of, and open each FIFO. Must run inside
    /// the tokio runtime (the reader scripts are tokio children).
    pub fn open(specs: &[NotifyFifo]) -> Fifos {
        let mut open = Vec::new();
        for spec in specs {
            let path = spec.path.as_str();
            let mode = nix::sys::stat::Mode::from_bits_truncate(0o644);
            let created = match nix::unistd::mkfifo(path, mode) {
                Ok(()) => {
                    if let Some(o) = &spec.owner {
                        script_runner::chown_fifo(path, o);
                    }
                    true
                }
                Err(nix::errno::Errno::EEXIST) => false,
                Err(_) => {
                    log::info!("Unable to create {}notify fifo {path}", spec.kind);
                    continue;
                }
            };
            let reader = spec.script.as_ref().and_then(|s| match s.prepare() {
                Ok(p) => match p.command(std::slice::from_ref(&spec.path)).spawn() {
                    Ok(c) => Some(c),
                    Err(e) => {
                        log::error!("{}notify_fifo_script `{}`: {e}", spec.kind, s.command);
                        None
                    }
                },
                Err(e) => {
                    log::error!(
                        "{}notify_fifo_script `{}` not run: {e}",
                        spec.kind,
                        s.command
                    );
                    None
                }
            });
            match OpenOptions::new()
                .read(true)
                .write(true)
                .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOFOLLOW)
                .open(path)
            {
                Ok(file) => open.push(Open {
                    spec: spec.clone(),
                    file,
                    created,
                    reader,
                }),
                Err(e) => {
                    log::info!(
                        "Unable to open {}notify fifo {path} - errno {}",
                        spec.kind,
                        e.raw_os_error().unwrap_or(0)
                    );
                    if created {
                        let _ = std::fs::remove_file(path);
                    }
                }
            }
        }
        Fifos { open }
    }

    /// Write one line (with its newline) to every FIFO; a full FIFO drops it, as keepalived's
    /// non-blocking `write` does.
    pub fn write(&mut self, line: &str) {
        for o in &mut self.open {
            if let Err(e) = o.file.write_all(line.as_bytes()) {
                log::debug!("{}notify fifo {}: {e}", o.spec.kind, o.spec.path);
            }
        }
    }

    /// SIGTERM every reader script's process group (keepalived's `script_killall` at stop,
    /// before the stop notifications).
    pub fn terminate_readers(&mut self) {
        for o in &self.open {
            if let Some(pg) = o
                .reader
                .as_ref()
                .and_then(|r| r.id())
                .and_then(|id| i32::try_from(id).ok())
            {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pg),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
        }
    }

    /// Remove the FIFOs we created (first, so a reader that reopens in a loop cannot), close
    /// them, and give each reader script [`READER_GRACE`] to finish before terminating it.
    pub async fn close(&mut self) {
        let mut readers = Vec::new();
        for o in self.open.drain(..) {
            if o.created {
                let _ = std::fs::remove_file(&o.spec.path);
            }
            drop(o.file);
            if let Some(r) = o.reader {
                readers.push(r);
            }
        }
        for mut r in readers {
            if tokio::time::timeout(READER_GRACE, r.wait()).await.is_err() {
                if let Some(pg) = r.id().and_then(|id| i32::try_from(id).ok()) {
                    let _ = nix::sys::signal::killpg(
                        nix::unistd::Pid::from_raw(pg),
                        nix::sys::signal::Signal::SIGTERM,
                    );
                }
                let _ = tokio::time::timeout(READER_GRACE, r.wait()).await;
            }
        }
    }
}
