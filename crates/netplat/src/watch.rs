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
/// `RTMGRP_IPV4_IFADDR` and `RTMGRP_IPV6_IFADDR`: address events.
const RTMGRP_IFADDR: u32 = 0x10 | 0x100;
/// `RTNLGRP_IPV4_ROUTE`, `RTNLGRP_IPV6_ROUTE`, `RTNLGRP_IPV4_RULE`, `RTNLGRP_IPV6_RULE`
/// (`linux/rtnetlink.h`): route and rule events.
const RTNLGRP_IPV4_ROUTE: u32 = 7;
const RTNLGRP_IPV6_ROUTE: u32 = 11;
const RTNLGRP_IPV4_RULE: u32 = 8;
const RTNLGRP_IPV6_RULE: u32 = 19;
/// `RTM_NEWADDR`: an address added or refreshed (not reported by [`LinkWatch::with_address_deletions`]).
const RTM_NEWADDR: u16 = 20;
/// `RTM_NEWROUTE`: a route added or changed (not reported either).
const RTM_NEWROUTE: u16 = 24;
/// `RTM_NEWRULE`: a rule added (not reported either).
const RTM_NEWRULE: u16 = 32;

/// A socket receiving link events (`RTM_NEWLINK`/`RTM_DELLINK`) of the namespace it was made in.
pub struct LinkWatch {
    socket: Socket,
    /// Also address events, of which `RTM_NEWADDR` is ignored.
    addresses: bool,
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
        Self::open(timeout, false)
    }

    /// [`LinkWatch::new`], also reporting deleted addresses (`RTM_DELADDR`, IPv4 and IPv6):
    /// an interface losing the address it sends from. Added or refreshed addresses are not
    /// reported (a VIP lease renewal is one).
    pub fn with_address_deletions(timeout: Duration) -> Result<Self> {
        Self::open(timeout, true)
    }

    /// [`LinkWatch::with_address_deletions`], also reporting deleted routes and rules
    /// (`RTM_DELROUTE`, `RTM_DELRULE`, IPv4 and IPv6): entries a daemon installed and restores
    /// when someone deletes them (keepalived's static routes and rules). Added routes and rules
    /// are not reported.
    pub fn with_deletions(timeout: Duration) -> Result<Self> {
        let w = Self::open(timeout, true)?;
        w.socket
            .add_membership(RTNLGRP_IPV4_ROUTE)
            .and_then(|()| w.socket.add_membership(RTNLGRP_IPV6_ROUTE))
            .and_then(|()| w.socket.add_membership(RTNLGRP_IPV4_RULE))
            .and_then(|()| w.socket.add_membership(RTNLGRP_IPV6_RULE))
            .map_err(|e| Error::io("link event socket: join the route and rule groups", e))?;
        Ok(w)
    }

    fn open(timeout: Duration, addresses: bool) -> Result<Self> {
        let mut socket =
            Socket::new(NETLINK_ROUTE).map_err(|e| Error::io("open NETLINK_ROUTE socket", e))?;
        let groups = if addresses {
            RTMGRP_LINK | RTMGRP_IFADDR
        } else {
            RTMGRP_LINK
        };
        socket
            .bind(&SocketAddr::new(0, groups))
            .map_err(|e| Error::io("bind link event socket", e))?;
        let tv = nix::sys::time::TimeVal::new(timeout.as_secs() as _, timeout.subsec_micros() as _);
        nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::ReceiveTimeout, &tv)
            .map_err(|e| Error::io("link event socket: receive timeout", e.into()))?;
        Ok(LinkWatch { socket, addresses })
    }

    /// Sets the socket's receive buffer (see [`crate::set_receive_buffer`]).
    pub fn set_receive_buffer(&self, size: u32, force: bool) -> Result<()> {
        crate::set_receive_buffer(&self.socket, size, force)
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
                Ok(n) => any |= !self.addresses || !only_additions(&buf[..n.min(buf.len())]),
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

/// Whether every netlink message of this datagram is an `RTM_NEWADDR`, `RTM_NEWROUTE` or
/// `RTM_NEWRULE` (a truncated or malformed datagram counts as something else: the caller
/// re-reads).
fn only_additions(mut b: &[u8]) -> bool {
    let mut seen = false;
    while b.len() >= 16 {
        let len = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize;
        let ty = u16::from_ne_bytes([b[4], b[5]]);
        if !matches!(ty, RTM_NEWADDR | RTM_NEWROUTE | RTM_NEWRULE) || len < 16 {
            return false;
        }
        seen = true;
        let step = (len + 3) & !3;
        if step >= b.len() {
            return true;
        }
        b = &b[step..];
    }
    seen && b.is_empty()
}

impl AsRawFd for LinkWatch {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(ty: u16, len: u32) -> Vec<u8> {
        let mut m = len.to_ne_bytes().to_vec();
        m.extend_from_slice(&ty.to_ne_bytes());
        m.resize(len as usize, 0);
        m
    }

    #[test]
    fn new_addresses_only() {
        assert!(only_additions(&msg(RTM_NEWADDR, 24)));
        let mut two = msg(RTM_NEWADDR, 24);
        two.extend(msg(RTM_NEWADDR, 20));
        assert!(only_additions(&two));
        // RTM_DELADDR, RTM_NEWLINK, a mix, truncated, empty.
        assert!(!only_additions(&msg(21, 24)));
        assert!(!only_additions(&msg(16, 24)));
        let mut mix = msg(RTM_NEWADDR, 24);
        mix.extend(msg(21, 24));
        assert!(!only_additions(&mix));
        assert!(!only_additions(&[0u8; 7]));
        assert!(!only_additions(&[]));
        assert!(!only_additions(&msg(RTM_NEWADDR, 8)));
        // Route and rule additions are not reported; their deletions (25, 33) are.
        let mut adds = msg(RTM_NEWROUTE, 28);
        adds.extend(msg(RTM_NEWRULE, 28));
        assert!(only_additions(&adds));
        assert!(!only_additions(&msg(25, 28)));
        assert!(!only_additions(&msg(33, 28)));
    }
}
