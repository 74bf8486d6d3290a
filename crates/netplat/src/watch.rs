//! Link change notifications: a `NETLINK_ROUTE` socket joined to the `RTNLGRP_LINK` multicast
//! group, so a daemon can wait for link events instead of dumping links on a timer (keepalived
//! does the same). The contents of the events are not decoded: callers re-read the links they
//! care about when [`LinkWatch::wait`] says something happened.

use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use crate::{Error, Result};

/// `RTMGRP_LINK` from `linux/rtnetlink.h` (the legacy group bitmask for `RTNLGRP_LINK`).
const RTMGRP_LINK: u32 = 1;

/// A socket receiving link events (`RTM_NEWLINK`/`RTM_DELLINK`) of the namespace it was made in.
pub struct LinkWatch {
    socket: Socket,
}

impl std::fmt::Debug for LinkWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkWatch")
            .field("fd", &self.socket.as_raw_fd())
            .finish()
    }
}

impl LinkWatch {
    /// Opens a socket subscribed to link events of the current namespace; [`LinkWatch::wait`]
    /// blocks at most `timeout` (so a reader thread can notice it should stop), or until an
    /// event comes when `timeout` is zero.
    pub fn new(timeout: Duration) -> Result<Self> {
        let mut socket =
            Socket::new(NETLINK_ROUTE).map_err(|e| Error::io("open NETLINK_ROUTE socket", e))?;
        socket
            .bind(&SocketAddr::new(0, RTMGRP_LINK))
            .map_err(|e| Error::io("bind link event socket", e))?;
        let tv = nix::sys::time::TimeVal::new(timeout.as_secs() as _, timeout.subsec_micros() as _);
        nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::ReceiveTimeout, &tv)
            .map_err(|e| Error::io("link event socket: receive timeout", e.into()))?;
        Ok(LinkWatch { socket })
    }

    /// Waits up to the timeout for link events and reads every pending one. `Ok(true)` if
    /// anything arrived, including a receive-buffer overrun (`ENOBUFS`: events were lost, so the
    /// caller must re-read anyway); `Ok(false)` on timeout.
    pub fn wait(&self) -> Result<bool> {
        // Events are not decoded, so a datagram larger than this is simply truncated.
        let mut buf = [0u8; 4096];
        let mut flags = 0;
        let mut any = false;
        loop {
            match self.socket.recv(&mut &mut buf[..], flags) {
                Ok(_) => any = true,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => any = true,
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    return Ok(any)
                }
                Err(e) => return Err(Error::io("link event socket: recv", e)),
            }
            // Something came: collect the rest of the burst without waiting.
            flags = libc::MSG_DONTWAIT;
        }
    }
}

impl AsRawFd for LinkWatch {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}
