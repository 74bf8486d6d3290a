//! systemd `Type=notify` messages over `$NOTIFY_SOCKET` (a unix datagram socket; a leading
//! `@` names an abstract socket). keepalived sends READY=1 (with MAINPID) once the workers have
//! read their configuration, RELOADING=1 when a reload starts, STOPPING=1 when stopping, and
//! ERRNO= when a worker fails permanently. We also send READY=1 again when a reload completes,
//! as systemd expects after RELOADING=1.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// The environment variable systemd sets.
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";

/// Send one notification; silently nothing when not run by systemd.
pub fn notify(msg: &str) {
    let Ok(path) = std::env::var(NOTIFY_SOCKET) else {
        return;
    };
    let addr = if let Some(name) = path.strip_prefix('@') {
        SocketAddr::from_abstract_name(name.as_bytes())
    } else {
        SocketAddr::from_pathname(&path)
    };
    let (Ok(addr), Ok(sock)) = (addr, UnixDatagram::unbound()) else {
        return;
    };
    // Never block the daemon on a receiver that does not read (a full datagram queue).
    let _ = sock.set_nonblocking(true);
    if let Err(e) = sock.send_to_addr(msg.as_bytes(), &addr) {
        crate::info!("sd_notify to {path} failed: {e}");
    }
}

/// READY=1 with our pid.
pub fn ready() {
    notify(&format!("READY=1\nMAINPID={}", std::process::id()));
}

/// RELOADING=1.
pub fn reloading() {
    notify("RELOADING=1");
}

/// STOPPING=1.
pub fn stopping() {
    notify("STOPPING=1");
}

/// ERRNO=n.
pub fn errno(n: i32) {
    notify(&format!("ERRNO={n}"));
}
