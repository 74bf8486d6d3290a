//! PING_CHECK: one ICMP / ICMPv6 echo request, up when the matching echo reply arrives within
//! connect_timeout (check_ping.c).
//!
//! Like keepalived we use an unprivileged ICMP datagram socket (`SOCK_DGRAM` + `IPPROTO_ICMP[V6]`:
//! the kernel assigns the identifier, computes the checksum and delivers only our replies). It
//! needs the caller's group in `net.ipv4.ping_group_range`; when that is refused (EACCES/EPERM,
//! the default inside a fresh network namespace) we fall back to a raw socket (root /
//! CAP_NET_RAW), filtering replies by identifier ourselves.

use std::net::{IpAddr, SocketAddr};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::checker::ConnOpts;
use crate::net::{apply_opts, timed};
use crate::result::{Failure, Phase, Status};

const PAYLOAD: &[u8] = b"keepalived-rs ping check 0123456789abcdefghijklmnopq";

/// Internet checksum (RFC 1071).
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Build an echo request (`v6` selects ICMPv6 type 128), checksum filled for IPv4.
pub fn echo_request(v6: bool, id: u16, seq: u16) -> Vec<u8> {
    let mut p = vec![if v6 { 128 } else { 8 }, 0, 0, 0];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(PAYLOAD);
    if !v6 {
        let c = checksum(&p);
        p[2..4].copy_from_slice(&c.to_be_bytes());
    }
    p
}

/// Is `icmp` (starting at the ICMP header) the echo reply for (`id` if Some, `seq`)?
pub fn is_reply(v6: bool, icmp: &[u8], id: Option<u16>, seq: u16) -> bool {
    if icmp.len() < 8 || icmp[0] != if v6 { 129 } else { 0 } || icmp[1] != 0 {
        return false;
    }
    let rid = u16::from_be_bytes([icmp[4], icmp[5]]);
    let rseq = u16::from_be_bytes([icmp[6], icmp[7]]);
    rseq == seq && id.is_none_or(|i| i == rid)
}

fn open(co: &ConnOpts, dst: IpAddr) -> Result<(Socket, bool), Failure> {
    let v6 = dst.is_ipv6();
    let (domain, proto) = if v6 {
        (Domain::IPV6, Protocol::ICMPV6)
    } else {
        (Domain::IPV4, Protocol::ICMPV4)
    };
    let sa = SocketAddr::new(dst, 0);
    let (s, raw) = match Socket::new(domain, Type::DGRAM.cloexec(), Some(proto)) {
        Ok(s) => (s, false),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM)) => {
            let s = Socket::new(domain, Type::RAW.cloexec(), Some(proto)).map_err(|e| {
                Failure::Network {
                    phase: Phase::Setup,
                    errno: e.raw_os_error(),
                    message: format!("ICMP socket (datagram refused, raw failed): {e}"),
                }
            })?;
            (s, true)
        }
        Err(e) => {
            return Err(Failure::Network {
                phase: Phase::Setup,
                errno: e.raw_os_error(),
                message: format!("ICMP socket: {e}"),
            })
        }
    };
    s.set_nonblocking(true).map_err(|e| Failure::Network {
        phase: Phase::Setup,
        errno: e.raw_os_error(),
        message: e.to_string(),
    })?;
    let mut co = co.clone();
    co.bind_port = None;
    apply_opts(&s, &co, &sa)?;
    s.connect(&SockAddr::from(sa))
        .map_err(|e| Failure::from_io(Phase::Connect, &e))?;
    Ok((s, raw))
}

fn seq_and_id() -> (u16, u16) {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(1);
    let r = h.finish();
    ((r & 0xffff) as u16, ((r >> 16) & 0xffff) as u16)
}

pub(crate) async fn check_ping(co: &ConnOpts, dst: IpAddr) -> Status {
    let v6 = dst.is_ipv6();
    let (sock, raw) = match open(co, dst) {
        Ok(x) => x,
        Err(f) => return Status::Down(f),
    };
    // tokio's UdpSocket only issues send(2)/recv(2) on the descriptor, which is what an ICMP
    // datagram or raw socket needs (and keeps this crate free of unsafe registration).
    let std_sock: std::net::UdpSocket = sock.into();
    let fd = match tokio::net::UdpSocket::from_std(std_sock) {
        Ok(fd) => fd,
        Err(e) => return Status::Down(Failure::from_io(Phase::Setup, &e)),
    };
    let (seq, id) = seq_and_id();
    let req = echo_request(v6, id, seq);
    let r = timed(co.connect_timeout, Phase::Receive, async {
        fd.send(&req)
            .await
            .map_err(|e| Failure::from_io(Phase::Send, &e))?;
        let mut buf = vec![0u8; 2048];
        loop {
            let n = fd
                .recv(&mut buf)
                .await
                .map_err(|e| Failure::from_io(Phase::Receive, &e))?;
            let pkt = &buf[..n];
            let icmp = if raw && !v6 {
                let ihl = usize::from(pkt.first().copied().unwrap_or(0) & 0x0f) * 4;
                pkt.get(ihl..).unwrap_or(&[])
            } else {
                pkt
            };
            // The kernel rewrites the identifier of datagram ICMP sockets: only raw ones filter.
            if is_reply(v6, icmp, if raw { Some(id) } else { None }, seq) {
                return Ok(());
            }
        }
    })
    .await;
    match r {
        Ok(()) => Status::Up,
        Err(Failure::Timeout(_)) => Status::Down(Failure::Ping("no echo reply".into())),
        Err(f) => Status::Down(f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the checksum (RFC 1071 example) and echo request/reply recognition.
    #[test]
    fn icmp_codec() {
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
        let req = echo_request(false, 0x1234, 7);
        assert_eq!(checksum(&req), 0, "a packet with its checksum sums to zero");
        let mut reply = req.clone();
        reply[0] = 0;
        assert!(is_reply(false, &reply, Some(0x1234), 7));
        assert!(!is_reply(false, &reply, Some(0x1235), 7));
        assert!(!is_reply(false, &reply, None, 8));
        assert!(!is_reply(false, &req, None, 7));
        let mut r6 = echo_request(true, 1, 2);
        r6[0] = 129;
        assert!(is_reply(true, &r6, None, 2));
        assert!(!is_reply(true, &r6[..5], None, 2));
    }
}
