//! Socket helpers that `socket2` and `nix` do not offer safely.
//!
//! [`disconnect`] dissolves a TCP socket's connection with `connect(AF_UNSPEC)` so the same
//! socket can connect again: neither `socket2` nor `nix` can build an `AF_UNSPEC` address
//! without `unsafe`, so it is built here.

#![allow(unsafe_code)]

use socket2::{SockAddr, SockAddrStorage, Socket};

/// Disconnect `s` (`connect(2)` with an `AF_UNSPEC` address). On a TCP socket the kernel runs
/// `tcp_disconnect`: an established connection is reset (RST, as a close with `SO_LINGER` 0
/// does), a pending connect is abandoned, and the socket returns to the unconnected state with
/// its options kept and its ephemeral port released, ready for another `connect`.
pub fn disconnect(s: &Socket) -> std::io::Result<()> {
    // SAFETY: an all-zero sockaddr_storage is a valid address of family AF_UNSPEC (0); the
    // length covers a whole `struct sockaddr`, within the storage.
    let unspec = unsafe {
        SockAddr::new(
            SockAddrStorage::zeroed(),
            std::mem::size_of::<libc::sockaddr>() as libc::socklen_t,
        )
    };
    s.connect(&unspec)
}
