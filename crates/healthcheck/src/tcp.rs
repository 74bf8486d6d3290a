//! TCP_CHECK: up when a TCP connection to the destination completes within connect_timeout.

use std::net::SocketAddr;

use crate::checker::ConnOpts;
use crate::net::{tcp_connect, tcp_connect_pooled, TcpPool};
use crate::result::Status;

/// Connect and close. The connection is closed with an RST, as HAProxy does for its health
/// checks, so 10,000 checks per second leave no TIME_WAIT sockets behind on the director
/// (keepalived closes with a FIN). Without per-checker socket options the socket comes from
/// `pool` and goes back to it: the RST is then sent by `connect(AF_UNSPEC)` (the kernel's
/// `tcp_disconnect`), which leaves the socket ready for the next check.
pub(crate) async fn check_tcp(pool: &TcpPool, co: &ConnOpts, dst: SocketAddr) -> Status {
    if !TcpPool::eligible(co) {
        return match tcp_connect(co, dst).await {
            Ok(stream) => {
                let _ = stream.set_zero_linger();
                drop(stream);
                Status::Up
            }
            Err(f) => Status::Down(f),
        };
    }
    match tcp_connect_pooled(pool, co, dst).await {
        Ok(stream) => {
            // into_std fails only if the stream cannot be deregistered; it is closed then.
            if let Ok(std) = stream.into_std() {
                pool.put(&dst, std.into());
            }
            Status::Up
        }
        Err(f) => Status::Down(f),
    }
}
