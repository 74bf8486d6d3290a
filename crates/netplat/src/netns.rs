//! Running code inside another network namespace.
//!
//! `setns(CLONE_NEWNET)` changes the namespace of the calling *thread*. To leave the
//! caller untouched, [`in_netns`] spawns a short-lived thread, moves it into the target
//! namespace and runs the closure there. Sockets opened by the closure (e.g. an
//! [`crate::Rtnl`]) stay bound to that namespace even after the thread ends.

use std::path::{Path, PathBuf};

use nix::sched::{setns, CloneFlags};

use crate::{Error, Result};

/// Path of a named namespace created by `ip netns add NAME`.
pub fn named_netns_path(name: &str) -> PathBuf {
    Path::new("/run/netns").join(name)
}

/// Runs `f` on a helper thread that joined the network namespace at `ns_path`
/// (`/run/netns/NAME` or `/proc/PID/ns/net`) and returns its result.
pub fn in_netns<F, R>(ns_path: &Path, f: F) -> Result<R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    let file = std::fs::File::open(ns_path)
        .map_err(|e| Error::io(format!("open namespace {}", ns_path.display()), e))?;
    std::thread::scope(|s| {
        let handle = s.spawn(move || -> Result<R> {
            setns(&file, CloneFlags::CLONE_NEWNET).map_err(|e| {
                Error::io(
                    format!("setns({})", ns_path.display()),
                    std::io::Error::from_raw_os_error(e as i32),
                )
            })?;
            Ok(f())
        });
        handle.join().map_err(|_| Error::ThreadPanicked)?
    })
}
