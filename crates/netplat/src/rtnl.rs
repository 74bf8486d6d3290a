//! The blocking rtnetlink socket and the request/ack/dump loop.

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR,
    NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use crate::{Error, Result};

/// How many times an interrupted dump (`NLM_F_DUMP_INTR`) is restarted before giving up.
const DUMP_RETRIES: usize = 5;

/// A blocking `NETLINK_ROUTE` socket bound in the network namespace of the thread that
/// created it. Not `Sync`: use one per thread (they are cheap).
pub struct Rtnl {
    socket: Socket,
    seq: u32,
    /// Requests sent without an ACK ([`Rtnl::send_prepared`]): sequence number and what they
    /// did, most recent last, for naming the errors the kernel sends back for them (bounded).
    unacked: std::collections::VecDeque<(u32, std::sync::Arc<str>)>,
    /// Errors for those requests, collected while waiting for other replies.
    late_errors: Vec<Error>,
}

/// How many unacknowledged requests are remembered for naming their errors.
const UNACKED_KEPT: usize = 256;

/// A request serialized once, sent again and again by [`Rtnl::send_prepared`] without waiting
/// for an ACK (e.g. renewing an address's lifetimes: one `send` system call each time).
#[derive(Debug, Clone)]
pub struct Prepared {
    buf: Vec<u8>,
    op: std::sync::Arc<str>,
}

impl Prepared {
    /// `flags`: extra `NLM_F_*` flags (CREATE, REPLACE...); NLM_F_ACK is never set.
    pub(crate) fn new(msg: RouteNetlinkMessage, flags: u16, op: String) -> Prepared {
        Prepared {
            buf: encode(msg, (NLM_F_REQUEST | flags) & !NLM_F_ACK, 0),
            op: op.into(),
        }
    }

    /// What the request does (for messages).
    pub fn op(&self) -> &str {
        &self.op
    }

    /// Prefixes what the request does with `context` (e.g. who sends it), for the errors
    /// reported later.
    pub fn with_context(mut self, context: &str) -> Prepared {
        self.op = format!("{context}: {}", self.op).into();
        self
    }
}

/// One request in wire form.
fn encode(msg: RouteNetlinkMessage, flags: u16, seq: u32) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = seq;
    let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(msg));
    packet.finalize();
    let mut buf = vec![0u8; packet.buffer_len()];
    packet.serialize(&mut buf[..]);
    buf
}

/// The netlink messages of one datagram, in order (split by [`crate::datagram::split_datagram`]). A
/// message that does not decode, or a length that cannot be right, is the last item (an
/// error: what was wrong).
pub(crate) fn messages(
    data: &[u8],
) -> impl Iterator<Item = std::result::Result<NetlinkMessage<RouteNetlinkMessage>, String>> + '_ {
    let mut failed = false;
    crate::datagram::split_datagram(data).map_while(move |m| {
        if failed {
            return None;
        }
        let item =
            m.and_then(|b| NetlinkMessage::<RouteNetlinkMessage>::deserialize(b.into_inner()));
        failed = item.is_err();
        Some(item.map_err(|e| e.to_string()))
    })
}

impl std::fmt::Debug for Rtnl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rtnl").field("seq", &self.seq).finish()
    }
}

impl Rtnl {
    /// Opens and binds a route netlink socket in the current thread's network namespace.
    pub fn new() -> Result<Self> {
        let mut socket =
            Socket::new(NETLINK_ROUTE).map_err(|e| Error::io("open NETLINK_ROUTE socket", e))?;
        socket
            .bind_auto()
            .map_err(|e| Error::io("bind netlink socket", e))?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(|e| Error::io("connect netlink socket", e))?;
        // Extended acks are only used by the kernel to add text; errno is what we keep.
        let _ = socket.set_ext_ack(true);
        Ok(Rtnl {
            socket,
            seq: 1,
            unacked: std::collections::VecDeque::new(),
            late_errors: Vec::new(),
        })
    }

    /// Sets the socket's receive buffer (see [`crate::set_receive_buffer`]).
    pub fn set_receive_buffer(&self, size: u32, force: bool) -> Result<()> {
        crate::set_receive_buffer(&self.socket, size, force)
    }

    /// Sends a prepared request with a fresh sequence number and returns at once: no ACK is
    /// asked for, so success costs one system call. The kernel still answers a failure with
    /// an error message; [`Rtnl::take_late_errors`] collects those.
    pub fn send_prepared(&mut self, p: &Prepared) -> Result<()> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut buf = p.buf.clone();
        // nlmsg_seq: bytes 8..12 of the header, native endian.
        if let Some(b) = buf.get_mut(8..12) {
            b.copy_from_slice(&seq.to_ne_bytes());
        }
        if self.unacked.len() == UNACKED_KEPT {
            self.unacked.pop_front();
        }
        self.unacked.push_back((seq, p.op.clone()));
        self.socket
            .send(&buf, 0)
            .map(|_| ())
            .map_err(|e| Error::io(format!("{}: netlink send", p.op), e))
    }

    /// The errors the kernel returned for requests sent by [`Rtnl::send_prepared`] since the
    /// last call (never blocks).
    pub fn take_late_errors(&mut self) -> Vec<Error> {
        let mut buf: Vec<u8> = Vec::with_capacity(8192);
        loop {
            buf.clear();
            match self.socket.recv(&mut buf, libc::MSG_DONTWAIT) {
                Ok(0) | Err(_) => break,
                Ok(_) => self.note_late(&buf),
            }
        }
        std::mem::take(&mut self.late_errors)
    }

    /// Records the error replies in `data` that answer unacknowledged requests.
    fn note_late(&mut self, data: &[u8]) {
        for reply in messages(data) {
            let Ok(reply) = reply else { return };
            self.note_late_reply(&reply);
        }
    }

    fn note_late_reply(&mut self, reply: &NetlinkMessage<RouteNetlinkMessage>) {
        let seq = reply.header.sequence_number;
        if let NetlinkPayload::Error(err) = &reply.payload {
            if let Some(code) = err.code {
                if let Some(pos) = self.unacked.iter().position(|(s, _)| *s == seq) {
                    let op = self.unacked.remove(pos).map(|(_, op)| op);
                    self.late_errors.push(Error::Kernel {
                        op: op.map(|o| o.to_string()).unwrap_or_default(),
                        errno: code.get().abs(),
                    });
                }
            }
        }
    }

    /// Sends a request that expects an ACK (add/del/set). `flags` are extra `NLM_F_*`
    /// flags (CREATE, EXCL, REPLACE...). Returns the kernel errno as [`Error::Kernel`].
    pub(crate) fn ack(&mut self, msg: RouteNetlinkMessage, flags: u16, op: &str) -> Result<()> {
        self.transact(msg, NLM_F_REQUEST | NLM_F_ACK | flags, op)
            .map(|_| ())
    }

    /// Sends a plain `GET` (no dump) and returns the single reply, if any.
    pub(crate) fn ack_or_reply(
        &mut self,
        msg: RouteNetlinkMessage,
        op: &str,
    ) -> Result<Option<RouteNetlinkMessage>> {
        let (mut msgs, _) = self.transact(msg, NLM_F_REQUEST, op)?;
        Ok(msgs.pop())
    }

    /// Sends a dump request and returns every inner message of the reply. An
    /// interrupted dump (the table changed while the kernel was walking it) is restarted.
    pub(crate) fn dump(
        &mut self,
        msg: RouteNetlinkMessage,
        op: &str,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        let mut last_err = None;
        for _ in 0..DUMP_RETRIES {
            match self.transact(msg.clone(), NLM_F_REQUEST | NLM_F_DUMP, op) {
                Ok((msgs, false)) => return Ok(msgs),
                Ok((_, true)) => {
                    last_err = Some(Error::Kernel {
                        op: format!("{op} (dump interrupted {DUMP_RETRIES} times)"),
                        errno: libc::EINTR,
                    })
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or(Error::Kernel {
            op: op.to_string(),
            errno: libc::EINTR,
        }))
    }

    /// Sends one request and reads until the matching ACK/error (non-dump) or DONE (dump).
    /// Returns the inner messages and whether the dump was flagged as interrupted.
    fn transact(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
        op: &str,
    ) -> Result<(Vec<RouteNetlinkMessage>, bool)> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let buf = encode(msg, flags, seq);
        self.socket
            .send(&buf, 0)
            .map_err(|e| Error::io(format!("{op}: netlink send"), e))?;

        let is_dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let mut out = Vec::new();
        let mut interrupted = false;
        loop {
            let (data, _) = self
                .socket
                .recv_from_full()
                .map_err(|e| Error::io(format!("{op}: netlink recv"), e))?;
            for reply in messages(&data) {
                let reply = reply.map_err(|detail| Error::Decode {
                    op: op.to_string(),
                    detail,
                })?;
                if reply.header.sequence_number != seq {
                    // A stale reply to an earlier request (e.g. after an error mid-dump), or
                    // the error answer to an unacknowledged one (kept).
                    self.note_late_reply(&reply);
                    continue;
                }
                if reply.header.flags & NLM_F_DUMP_INTR != 0 {
                    interrupted = true;
                }
                match reply.payload {
                    NetlinkPayload::Error(err) => {
                        return match err.code {
                            None => Ok((out, interrupted)),
                            Some(code) => Err(Error::Kernel {
                                op: op.to_string(),
                                errno: code.get().abs(),
                            }),
                        };
                    }
                    NetlinkPayload::Done(_) => return Ok((out, interrupted)),
                    NetlinkPayload::InnerMessage(m) => {
                        out.push(m);
                        if !is_dump && flags & NLM_F_ACK == 0 {
                            return Ok((out, interrupted));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}
