//! Link-layer (AF_PACKET) transmit socket for gratuitous ARP / unsolicited NA frames.
//!
//! This is the crate's only `unsafe`: neither `socket2` nor `nix` can build a
//! `sockaddr_ll` safely, so the bind call is made through `libc` here. The module is small on
//! purpose: one socket bound to one interface, whole Ethernet frames out.

#![allow(unsafe_code)]

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::error::Error;
use crate::Result;

/// An AF_PACKET/SOCK_RAW socket bound to one interface, for sending complete Ethernet frames.
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: u32,
}

fn last_os(op: &'static str) -> Error {
    Error::Io {
        op: op.to_string(),
        source: std::io::Error::last_os_error(),
    }
}

impl PacketSocket {
    /// Open a transmit-only packet socket bound to interface `ifindex` (protocol 0: nothing is
    /// received).
    pub fn open(ifindex: u32) -> Result<Self> {
        let ifi = i32::try_from(ifindex).map_err(|_| Error::Io {
            op: "packet socket: interface index".to_string(),
            source: std::io::Error::from_raw_os_error(libc::EINVAL),
        })?;
        // SAFETY: plain socket(2) call; the result is checked before use.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(last_os("packet socket"));
        }
        // SAFETY: `raw` is a fresh, valid descriptor we own from here on.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = ifi;
        sll.sll_protocol = 0;
        let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: `sll` is a fully initialised sockaddr_ll of `len` bytes and outlives the call.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast::<libc::sockaddr>(),
                len,
            )
        };
        if rc < 0 {
            return Err(last_os("packet socket bind"));
        }
        Ok(PacketSocket { fd, ifindex })
    }

    /// Interface index the socket is bound to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Send one complete Ethernet frame (destination MAC first).
    pub fn send(&self, frame: &[u8]) -> Result<()> {
        // SAFETY: `frame` is a valid readable buffer of `frame.len()` bytes for the call.
        let n = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast::<libc::c_void>(),
                frame.len(),
                0,
            )
        };
        if n < 0 {
            return Err(last_os("packet socket send"));
        }
        Ok(())
    }
}
