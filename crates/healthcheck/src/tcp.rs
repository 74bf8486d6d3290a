//! TCP_CHECK: up when a TCP connection to the destination completes within connect_timeout.

use std::net::SocketAddr;

use crate::checker::ConnOpts;
use crate::net::tcp_connect;
use crate::result::Status;

/// Connect and close. The connection is closed with an RST (SO_LINGER 0), as HAProxy does for
/// its health checks, so 10,000 checks per second leave no TIME_WAIT sockets behind on the
/// director (keepalived closes with a FIN).
pub(crate) async fn check_tcp(co: &ConnOpts, dst: SocketAddr) -> Status {
    match tcp_connect(co, dst).await {
        Ok(stream) => {
            let _ = stream.set_zero_linger();
            drop(stream);
            Status::Up
        }
        Err(f) => Status::Down(f),
    }
}
