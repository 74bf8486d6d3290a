//! UDP_CHECK (check_udp.c, layer4.c): send the payload on a connected UDP socket, then
//!
//! * an ICMP error (port unreachable → ECONNREFUSED on the connected socket) is a failure;
//! * silence until connect_timeout is a success unless `require_reply` is set;
//! * a reply is a success, except with `require_reply`: its length must be within
//!   `[min_reply_len, max_reply_len]` and its first min(len, pattern) bytes must match
//!   `reply_data` outside `reply_mask`.
//!
//! keepalived only checks the reply lengths when a reply pattern is given; we check them
//! whenever `require_reply` is set (the keywords' documented intent).

use std::net::SocketAddr;

use crate::checker::{ConnOpts, UdpCheck};
use crate::net::udp_connect;
use crate::result::{Failure, Phase, Status};

/// keepalived's default payload: "keepalived check - " repeated over 32 bytes.
pub fn default_payload() -> Vec<u8> {
    b"keepalived check - "
        .iter()
        .copied()
        .cycle()
        .take(32)
        .collect()
}

/// Judge a received reply against `u` (keepalived's `check_udp_reply`, plus the lengths).
pub fn judge_reply(u: &UdpCheck, reply: &[u8]) -> Result<(), Failure> {
    if !u.require_reply {
        return Ok(());
    }
    let len = reply.len();
    if len < usize::from(u.min_reply_len) {
        return Err(Failure::UdpReply(format!(
            "reply of {len} bytes shorter than {}",
            u.min_reply_len
        )));
    }
    if len > usize::from(u.max_reply_len) {
        return Err(Failure::UdpReply(format!(
            "reply of {len}+ bytes longer than {}",
            u.max_reply_len
        )));
    }
    if let Some(data) = &u.reply_data {
        for (i, (got, want)) in reply.iter().zip(data.iter()).enumerate() {
            let mask = u
                .reply_mask
                .as_ref()
                .and_then(|m| m.get(i).copied())
                .unwrap_or(0);
            if (got ^ want) & !mask != 0 {
                return Err(Failure::UdpReply(format!(
                    "reply byte {i} is {got:#04x}, expected {want:#04x}"
                )));
            }
        }
    }
    Ok(())
}

pub(crate) async fn check_udp(co: &ConnOpts, dst: SocketAddr, u: &UdpCheck) -> Status {
    let sock = match udp_connect(co, dst) {
        Ok(s) => s,
        Err(f) => return Status::Down(f),
    };
    let payload = u.payload.clone().unwrap_or_else(default_payload);
    if let Err(e) = sock.send(&payload).await {
        return Status::Down(Failure::from_io(Phase::Send, &e));
    }
    let mut buf = vec![0u8; usize::from(u.max_reply_len) + 1];
    match tokio::time::timeout(co.connect_timeout, sock.recv(&mut buf)).await {
        Err(_) if u.require_reply => Status::Down(Failure::Timeout(Phase::Receive)),
        Err(_) => Status::Up,
        Ok(Err(e)) => Status::Down(Failure::from_io(Phase::Receive, &e)),
        Ok(Ok(n)) => match judge_reply(u, &buf[..n]) {
            Ok(()) => Status::Up,
            Err(f) => Status::Down(f),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves keepalived's filler payload.
    #[test]
    fn filler() {
        let p = default_payload();
        assert_eq!(p.len(), 32);
        assert_eq!(&p, b"keepalived check - keepalived ch");
    }

    // Proves reply judgement: lengths, pattern prefix comparison, mask wildcards.
    #[test]
    fn reply_rules() {
        let mut u = UdpCheck {
            require_reply: true,
            min_reply_len: 4,
            max_reply_len: 8,
            ..Default::default()
        };
        assert!(judge_reply(&u, b"abcd").is_ok());
        assert!(judge_reply(&u, b"abc").is_err());
        assert!(judge_reply(&u, b"abcdefghi").is_err());
        u.reply_data = Some(b"ab\x00d".to_vec());
        assert!(judge_reply(&u, b"abXdzz").is_err());
        u.reply_mask = Some(vec![0, 0, 0xff, 0]);
        assert!(judge_reply(&u, b"abXdzz").is_ok());
        assert!(judge_reply(&u, b"aXcd").is_err());
        let lax = UdpCheck::default();
        assert!(judge_reply(&lax, b"").is_ok());
    }
}
