//! The one socket call `socket2` and `nix` do not offer safely (the crate's only `unsafe`).
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
pub(crate) fn disconnect(s: &Socket) -> std::io::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::disconnect;

    // Proves the TCP socket reuse cycle of `disconnect` in a lab namespace (loopback of the
    // namespace): connect, disconnect (the peer sees a reset, not a FIN), connect again on the
    // same socket, with no stale error reported for the new connection (the disconnect leaves
    // ECONNRESET pending until the next connect), and a refused connect after a disconnect is
    // reported as refused.
    #[test]
    #[ignore = "lab: needs root and network namespaces"]
    fn lab_tcp_disconnect_reuse() {
        use socket2::{Domain, Protocol, SockAddr, Socket, Type};
        use std::io::Read;
        let lab = testlab::netns::Lab::new("hcdisc").unwrap();
        let h = lab.host("a").unwrap();
        let ns = h.netns_path();
        std::thread::spawn(move || {
            // This thread only: it joins the lab namespace.
            let f = std::fs::File::open(&ns).unwrap();
            nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = l.local_addr().unwrap();
            let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
            for _ in 0..3 {
                s.connect(&SockAddr::from(addr)).unwrap();
                assert!(
                    s.take_error().unwrap().is_none(),
                    "no stale error after reconnect"
                );
                disconnect(&s).unwrap();
                let (mut peer, _) = l.accept().unwrap();
                let mut b = [0u8; 1];
                let e = peer.read(&mut b).unwrap_err();
                assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset);
            }
            drop(l);
            let e = s.connect(&SockAddr::from(addr)).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
        })
        .join()
        .unwrap();
    }
}
