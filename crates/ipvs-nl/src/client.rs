//! The blocking IPVS handle: socket, family cache, request/ack/dump loops, batching.

use crate::attr::{CmdAttr, SvcAttr};
use crate::error::{Error, Op, Result};
use crate::message::{decode_datagram, encode_request, IpvsCmd, IpvsMessage, Reply};
use crate::reconcile::{Backend, Operation};
use crate::types::*;
use netlink_packet_core::{NetlinkHeader, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_MULTIPART};
use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr};
use std::os::fd::OwnedFd;
use std::time::Duration;

/// Tunables of a handle.
#[derive(Clone, Debug)]
pub struct HandleOptions {
    /// How long to wait for each reply datagram (SO_RCVTIMEO).
    pub timeout: Duration,
    /// Receive buffer to request (SO_RCVBUFFORCE when permitted, else SO_RCVBUF).
    pub rcvbuf: usize,
    /// Send buffer to request.
    pub sndbuf: usize,
    /// Max bytes of requests packed into one send() of a batch.
    pub batch_bytes: usize,
    /// Max requests in flight in a batch.
    pub batch_requests: usize,
    /// Ack every batched request (true) or only failures plus the last request (false, fewer
    /// replies; per-request errors are still reported by sequence number).
    pub ack_every_request: bool,
    /// Retries of a dump interrupted by a concurrent change (NLM_F_DUMP_INTR).
    pub dump_retries: u32,
    /// Most service dumps merged before a multi-datagram listing is given up as unsettled
    /// (`Error::DumpUnsettled`); see [`Handle::services`].
    pub dump_merge_max: u32,
    /// Consecutive service dumps that must add nothing new before a merged listing is final.
    pub dump_quiet: u32,
}

impl Default for HandleOptions {
    fn default() -> Self {
        HandleOptions {
            timeout: Duration::from_secs(5),
            rcvbuf: 4 << 20,
            sndbuf: 1 << 20,
            batch_bytes: 128 << 10,
            batch_requests: 1024,
            ack_every_request: false,
            dump_retries: 5,
            dump_merge_max: 32,
            dump_quiet: 2,
        }
    }
}

/// A generic netlink socket talking to IPVS in one network namespace.
pub struct Handle {
    sock: Socket,
    /// AF_INET socket for the IPv4 service count of the old sockopt interface.
    info: Option<OwnedFd>,
    port_id: u32,
    family: u16,
    seq: u32,
    rx: Vec<u8>,
    tx: Vec<u8>,
    opts: HandleOptions,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("port_id", &self.port_id)
            .field("family", &self.family)
            .finish()
    }
}

fn io(op: Op) -> impl Fn(std::io::Error) -> Error {
    move |source| Error::Io { op, source }
}

/// Open and bind a generic netlink socket in the calling thread's network namespace.
pub(crate) fn open_socket(opts: &HandleOptions) -> Result<(Socket, u32)> {
    let mut sock = Socket::new(NETLINK_GENERIC).map_err(io(Op::Open))?;
    let addr = sock.bind_auto().map_err(io(Op::Open))?;
    // Best effort: ask the kernel to truncate error payloads (we only need the header) and make
    // buffers large enough for big batches and dumps.
    let _ = sock.set_cap_ack(true);
    let _ = sock.set_ext_ack(false);
    set_bufs(&sock, opts);
    nix::sys::socket::setsockopt(
        &sock,
        nix::sys::socket::sockopt::ReceiveTimeout,
        &nix::sys::time::TimeVal::new(
            opts.timeout.as_secs() as _,
            opts.timeout.subsec_micros() as _,
        ),
    )
    .map_err(|e| Error::Io {
        op: Op::Open,
        source: e.into(),
    })?;
    Ok((sock, addr.port_number()))
}

fn set_bufs(sock: &Socket, opts: &HandleOptions) {
    use nix::sys::socket::{setsockopt, sockopt};
    if setsockopt(sock, sockopt::RcvBufForce, &opts.rcvbuf).is_err() {
        let _ = setsockopt(sock, sockopt::RcvBuf, &opts.rcvbuf);
    }
    if setsockopt(sock, sockopt::SndBufForce, &opts.sndbuf).is_err() {
        let _ = setsockopt(sock, sockopt::SndBuf, &opts.sndbuf);
    }
}

/// The namespace file keepalived opens for `net_namespace_ipvs NAME`: `/var/run/netns/NAME`,
/// or `/proc/1/ns/net` (the default namespace) for an empty name.
pub fn keepalived_namespace_path(name: &str) -> std::path::PathBuf {
    if name.is_empty() {
        std::path::PathBuf::from("/proc/1/ns/net")
    } else {
        std::path::Path::new("/var/run/netns").join(name)
    }
}

impl Handle {
    /// Open a handle in the current network namespace with default options.
    pub fn new() -> Result<Handle> {
        Self::with_options(HandleOptions::default())
    }

    pub fn with_options(opts: HandleOptions) -> Result<Handle> {
        let (sock, port_id) = open_socket(&opts)?;
        Self::from_socket(sock, port_id, crate::sockopt::info_socket(), opts)
    }

    /// Open a handle whose socket lives in the network namespace at `path` (e.g.
    /// `/run/netns/NAME` or `/proc/PID/ns/net`). The socket is created on a short-lived thread
    /// that entered the namespace; the calling thread's namespace is untouched.
    pub fn in_netns(path: impl AsRef<std::path::Path>) -> Result<Handle> {
        Self::in_netns_with_options(path, HandleOptions::default())
    }

    pub fn in_netns_with_options(
        path: impl AsRef<std::path::Path>,
        opts: HandleOptions,
    ) -> Result<Handle> {
        let (sock, port_id, info) = crate::netns::open_socket_in(path.as_ref(), &opts)?;
        Self::from_socket(sock, port_id, info, opts)
    }

    /// Open a handle for keepalived's `net_namespace_ipvs`: `None`, the current namespace;
    /// `Some("")`, the default namespace (that of pid 1); `Some(NAME)`, `/var/run/netns/NAME`
    /// (keepalived's open_ipvs_namespace).
    pub fn for_keepalived_namespace(name: Option<&str>) -> Result<Handle> {
        match name {
            None => Self::new(),
            Some(n) => Self::in_netns(keepalived_namespace_path(n)),
        }
    }

    fn from_socket(
        sock: Socket,
        port_id: u32,
        info: Option<OwnedFd>,
        opts: HandleOptions,
    ) -> Result<Handle> {
        let mut h = Handle {
            sock,
            info,
            port_id,
            family: 0,
            seq: 0,
            rx: Vec::with_capacity(64 << 10),
            tx: Vec::with_capacity(4096),
            opts,
        };
        h.family = h.resolve_family()?;
        Ok(h)
    }

    /// The resolved generic netlink family id of "IPVS" (cached for the handle's life).
    pub fn family_id(&self) -> u16 {
        self.family
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        if self.seq == 0 {
            self.seq = 1;
        }
        self.seq
    }

    fn timeout_err(&self, op: Op) -> Error {
        Error::Timeout {
            op,
            timeout_ms: self.opts.timeout.as_millis() as u64,
        }
    }

    /// Receive one datagram into `self.rx`. Maps EAGAIN to Timeout and ENOBUFS to Overrun.
    fn recv(&mut self, op: Op) -> Result<()> {
        loop {
            self.rx.clear();
            match self.sock.recv(&mut self.rx, libc::MSG_TRUNC) {
                Ok(n) if n > self.rx.capacity() => {
                    return Err(Error::Decode {
                        op,
                        msg: format!("datagram of {n} bytes truncated"),
                    })
                }
                Ok(_) => return Ok(()),
                Err(e) => match e.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    Some(libc::EAGAIN) => return Err(self.timeout_err(op)),
                    Some(libc::ENOBUFS) => return Err(Error::Overrun { op }),
                    _ => return Err(Error::Io { op, source: e }),
                },
            }
        }
    }

    fn send_tx(&mut self, op: Op) -> Result<()> {
        let kernel = SocketAddr::new(0, 0);
        self.sock
            .send_to(&self.tx, &kernel, 0)
            .map_err(io(op))
            .map(|_| ())
    }

    /// Ask the controller for the IPVS family id. ENOENT → `Error::NotAvailable`.
    fn resolve_family(&mut self) -> Result<u16> {
        use netlink_packet_generic::ctrl::{nlas::GenlCtrlAttrs, GenlCtrl, GenlCtrlCmd};
        use netlink_packet_generic::GenlMessage;
        let op = Op::ResolveFamily;
        let seq = self.next_seq();
        let mut nl =
            netlink_packet_core::NetlinkMessage::from(GenlMessage::from_payload(GenlCtrl {
                cmd: GenlCtrlCmd::GetFamily,
                nlas: vec![GenlCtrlAttrs::FamilyName(
                    crate::consts::IPVS_GENL_NAME.to_string(),
                )],
            }));
        nl.header.flags = netlink_packet_core::NLM_F_REQUEST | NLM_F_ACK;
        nl.header.sequence_number = seq;
        nl.finalize();
        self.tx.clear();
        self.tx.resize(nl.buffer_len(), 0);
        nl.serialize(&mut self.tx);
        self.send_tx(op)?;
        let mut family = None;
        loop {
            self.recv(op)?;
            for m in crate::split_datagram(&self.rx) {
                let m = m.map_err(|e| Error::Decode {
                    op,
                    msg: e.to_string(),
                })?;
                if m.sequence_number() != seq {
                    continue;
                }
                match m.message_type() {
                    netlink_packet_core::NLMSG_ERROR => {
                        let code = m
                            .payload()
                            .get(..4)
                            .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                            .ok_or_else(|| Error::Decode {
                                op,
                                msg: "short NLMSG_ERROR".into(),
                            })?;
                        if code == 0 {
                            return family.ok_or(Error::MissingAttribute {
                                op,
                                what: "CTRL_ATTR_FAMILY_ID",
                            });
                        }
                        if -code == libc::ENOENT {
                            return Err(Error::NotAvailable);
                        }
                        return Err(Error::from_errno(op, -code));
                    }
                    netlink_packet_core::NLMSG_DONE => {}
                    _ => {
                        // genlmsghdr (4 bytes) then attributes; find CTRL_ATTR_FAMILY_ID (1).
                        let attrs = m.payload().get(4..).unwrap_or(&[]);
                        for nla in netlink_packet_core::NlasIterator::new(attrs) {
                            let nla = nla.map_err(|e| Error::Decode {
                                op,
                                msg: e.to_string(),
                            })?;
                            if nla.kind() == 1 && nla.value().len() == 2 {
                                family = Some(u16::from_ne_bytes([nla.value()[0], nla.value()[1]]));
                            }
                        }
                    }
                }
            }
        }
    }

    fn matches(&self, h: &NetlinkHeader) -> bool {
        h.port_number == self.port_id || h.port_number == 0
    }

    /// A "doit" request: returns the data messages that preceded the ack.
    fn request(&mut self, op: Op, msg: IpvsMessage) -> Result<Vec<IpvsMessage>> {
        let seq = self.next_seq();
        self.tx.clear();
        encode_request(self.family, NLM_F_ACK, seq, msg, &mut self.tx);
        self.send_tx(op)?;
        let mut data = Vec::new();
        loop {
            self.recv(op)?;
            for item in decode_datagram(&self.rx, self.family) {
                let (h, reply) = match item {
                    Ok(x) => x,
                    Err((Some(h), _)) if h.sequence_number != seq => continue,
                    Err((_, e)) => {
                        return Err(Error::Decode {
                            op,
                            msg: e.to_string(),
                        })
                    }
                };
                if h.sequence_number != seq || !self.matches(&h) {
                    continue; // stale reply of an earlier (timed out) request
                }
                match reply {
                    Reply::Data(m) => data.push(m),
                    Reply::Ack => return Ok(data),
                    Reply::Error(errno) => return Err(Error::from_errno(op, errno)),
                    Reply::Done | Reply::Ignored(_) => {}
                }
            }
        }
    }

    /// A dump request; retries when the kernel flags the dump as interrupted.
    fn dump(&mut self, op: Op, msg: IpvsMessage) -> Result<Vec<IpvsMessage>> {
        self.dump_counted(op, msg).map(|(d, _)| d)
    }

    /// Like `dump`, also returning how many datagrams carried data (1 = the kernel produced the
    /// whole dump in one callback, i.e. atomically).
    fn dump_counted(&mut self, op: Op, msg: IpvsMessage) -> Result<(Vec<IpvsMessage>, usize)> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (data, interrupted, dgrams) = self.dump_once(op, msg.clone())?;
            if !interrupted {
                return Ok((data, dgrams));
            }
            if attempts > self.opts.dump_retries {
                return Err(Error::DumpInterrupted { op, attempts });
            }
        }
    }

    fn dump_once(&mut self, op: Op, msg: IpvsMessage) -> Result<(Vec<IpvsMessage>, bool, usize)> {
        let seq = self.next_seq();
        self.tx.clear();
        encode_request(self.family, NLM_F_DUMP, seq, msg, &mut self.tx);
        self.send_tx(op)?;
        let mut data = Vec::new();
        let mut interrupted = false;
        let mut dgrams = 0;
        loop {
            self.recv(op)?;
            let before = data.len();
            for item in decode_datagram(&self.rx, self.family) {
                let (h, reply) = match item {
                    Ok(x) => x,
                    Err((Some(h), _)) if h.sequence_number != seq => continue,
                    Err((_, e)) => {
                        return Err(Error::Decode {
                            op,
                            msg: e.to_string(),
                        })
                    }
                };
                if h.sequence_number != seq || !self.matches(&h) {
                    continue;
                }
                if h.flags & NLM_F_DUMP_INTR != 0 {
                    interrupted = true;
                }
                // NLMSG_DONE ends the dump; so does an ack without NLM_F_MULTIPART.
                let done = matches!(reply, Reply::Done)
                    || (matches!(reply, Reply::Ack) && h.flags & NLM_F_MULTIPART == 0);
                match reply {
                    Reply::Data(m) => data.push(m),
                    Reply::Error(errno) => return Err(Error::from_errno(op, errno)),
                    _ => {}
                }
                if done {
                    if data.len() > before {
                        dgrams += 1;
                    }
                    return Ok((data, interrupted, dgrams));
                }
            }
            if data.len() > before {
                dgrams += 1;
            }
        }
    }

    fn svc_msg(cmd: IpvsCmd, svc: Vec<SvcAttr>) -> IpvsMessage {
        IpvsMessage::new(cmd, vec![CmdAttr::Service(svc)])
    }

    fn decode_service(op: Op, m: &IpvsMessage) -> Result<Option<ServiceInfo>> {
        for a in &m.attrs {
            if let CmdAttr::Service(s) = a {
                return ServiceInfo::from_attrs(s)
                    .map(Some)
                    .map_err(|what| Error::MissingAttribute { op, what });
            }
        }
        Ok(None)
    }

    // ---- info / config --------------------------------------------------------------------

    /// GET_INFO: version and connection table size.
    pub fn info(&mut self) -> Result<Info> {
        let op = Op::GetInfo;
        let replies = self.request(op, IpvsMessage::new(IpvsCmd::GetInfo, vec![]))?;
        let m = replies.first().ok_or(Error::MissingAttribute {
            op,
            what: "GET_INFO reply",
        })?;
        Info::from_attrs(&m.attrs).map_err(|what| Error::MissingAttribute { op, what })
    }

    /// GET_CONFIG: connection timeouts (`ipvsadm --list --timeout`).
    pub fn timeouts(&mut self) -> Result<Timeouts> {
        let replies = self.request(
            Op::GetTimeouts,
            IpvsMessage::new(IpvsCmd::GetConfig, vec![]),
        )?;
        Ok(replies
            .first()
            .map(|m| Timeouts::from_attrs(&m.attrs))
            .unwrap_or_default())
    }

    /// SET_CONFIG (`ipvsadm --set`); zero fields are left unchanged.
    pub fn set_timeouts(&mut self, t: &Timeouts) -> Result<()> {
        self.request(
            Op::SetTimeouts,
            IpvsMessage::new(IpvsCmd::SetConfig, t.to_attrs()),
        )
        .map(|_| ())
    }

    // ---- services -------------------------------------------------------------------------

    /// Dump all services (with 64-bit stats).
    ///
    /// The kernel resumes a multi-part service dump by position in a hash table shared by all
    /// network namespaces and never flags it interrupted, so a dump spanning several datagrams
    /// can skip entries (when another namespace deletes services between two datagrams) or
    /// repeat them (when it adds). The entries at risk are the same in every dump (those right
    /// after a datagram boundary), so repeating dumps alone does not settle it. Hence:
    /// - a dump that fits in one datagram is atomic and returned as is;
    /// - otherwise dumps are repeated and merged by key until `dump_quiet` dumps in a row bring
    ///   nothing new AND the IPv4 entries number exactly what the kernel counts under its lock
    ///   (`IP_VS_SO_GET_INFO`, see `crate::sockopt`; IPv6 entries rest on the quiet rule alone,
    ///   the kernel counts only IPv4). A merged listing with more IPv4 entries than counted (our
    ///   own table shrank meanwhile) is started afresh;
    /// - if that does not happen within `dump_merge_max` dumps, `Error::DumpUnsettled` is
    ///   returned rather than a table with holes.
    pub fn services(&mut self) -> Result<Vec<ServiceInfo>> {
        let op = Op::GetServices;
        let mut merged: std::collections::BTreeMap<ServiceKey, ServiceInfo> =
            std::collections::BTreeMap::new();
        let mut quiet = 0u32;
        let max = self.opts.dump_merge_max.max(1);
        for _ in 0..max {
            let (msgs, dgrams) =
                self.dump_counted(op, IpvsMessage::new(IpvsCmd::GetService, vec![]))?;
            let mut out = Vec::with_capacity(msgs.len());
            for m in &msgs {
                if let Some(s) = Self::decode_service(op, m)? {
                    out.push(s);
                }
            }
            if dgrams <= 1 {
                return Ok(out);
            }
            let mut new = false;
            for s in out {
                if merged.insert(s.service.key, s).is_none() {
                    new = true;
                }
            }
            quiet = if new { 0 } else { quiet + 1 };
            let v4 = merged
                .keys()
                .filter(|k| k.af() == AddressFamily::Inet)
                .count();
            let counted = self
                .info
                .as_ref()
                .and_then(crate::sockopt::ipv4_services)
                .map(|c| c as usize);
            match counted {
                Some(c) if v4 > c => {
                    merged.clear();
                    quiet = 0;
                    continue;
                }
                Some(c) if v4 < c => continue,
                _ => {}
            }
            if quiet >= self.opts.dump_quiet.max(1) {
                return Ok(merged.into_values().collect());
            }
        }
        Err(Error::DumpUnsettled { op, dumps: max })
    }

    /// GET_SERVICE for one key; `NoSuchService` if absent.
    pub fn service(&mut self, key: &ServiceKey) -> Result<ServiceInfo> {
        let op = Op::GetService;
        let replies = self.request(op, Self::svc_msg(IpvsCmd::GetService, key.to_attrs()))?;
        for m in &replies {
            if let Some(s) = Self::decode_service(op, m)? {
                return Ok(s);
            }
        }
        Err(Error::NoSuchService { op })
    }

    pub fn new_service(&mut self, svc: &Service) -> Result<()> {
        self.request(
            Op::NewService,
            Self::svc_msg(IpvsCmd::NewService, svc.to_attrs()),
        )
        .map(|_| ())
    }

    pub fn update_service(&mut self, svc: &Service) -> Result<()> {
        self.request(
            Op::SetService,
            Self::svc_msg(IpvsCmd::SetService, svc.to_attrs()),
        )
        .map(|_| ())
    }

    pub fn del_service(&mut self, key: &ServiceKey) -> Result<()> {
        self.request(
            Op::DelService,
            Self::svc_msg(IpvsCmd::DelService, key.to_attrs()),
        )
        .map(|_| ())
    }

    /// FLUSH: delete every service.
    pub fn flush(&mut self) -> Result<()> {
        self.request(Op::Flush, IpvsMessage::new(IpvsCmd::Flush, vec![]))
            .map(|_| ())
    }

    /// ZERO: reset counters of one service, or of everything when `None`.
    pub fn zero(&mut self, key: Option<&ServiceKey>) -> Result<()> {
        let attrs = match key {
            Some(k) => vec![CmdAttr::Service(k.to_attrs())],
            None => vec![],
        };
        self.request(Op::Zero, IpvsMessage::new(IpvsCmd::Zero, attrs))
            .map(|_| ())
    }

    // ---- destinations ---------------------------------------------------------------------

    /// Dump the destinations of a service (empty if the service does not exist: the kernel
    /// answers an empty dump).
    pub fn destinations(&mut self, key: &ServiceKey) -> Result<Vec<DestinationInfo>> {
        let op = Op::GetDestinations;
        let msgs = self.dump(op, Self::svc_msg(IpvsCmd::GetDest, key.to_attrs()))?;
        let mut out = Vec::with_capacity(msgs.len());
        for m in &msgs {
            for a in &m.attrs {
                if let CmdAttr::Dest(d) = a {
                    out.push(
                        DestinationInfo::from_attrs(d, key.af())
                            .map_err(|what| Error::MissingAttribute { op, what })?,
                    );
                }
            }
        }
        Ok(out)
    }

    fn dest_msg(cmd: IpvsCmd, key: &ServiceKey, dest: Vec<crate::attr::DestAttr>) -> IpvsMessage {
        IpvsMessage::new(
            cmd,
            vec![CmdAttr::Service(key.to_attrs()), CmdAttr::Dest(dest)],
        )
    }

    pub fn new_destination(&mut self, key: &ServiceKey, d: &Destination) -> Result<()> {
        self.request(
            Op::NewDestination,
            Self::dest_msg(IpvsCmd::NewDest, key, d.to_attrs()),
        )
        .map(|_| ())
    }

    pub fn update_destination(&mut self, key: &ServiceKey, d: &Destination) -> Result<()> {
        self.request(
            Op::SetDestination,
            Self::dest_msg(IpvsCmd::SetDest, key, d.to_attrs()),
        )
        .map(|_| ())
    }

    pub fn del_destination(&mut self, key: &ServiceKey, d: &DestKey) -> Result<()> {
        self.request(
            Op::DelDestination,
            Self::dest_msg(IpvsCmd::DelDest, key, Destination::key_attrs(d)),
        )
        .map(|_| ())
    }

    /// All services with their destinations.
    pub fn table(&mut self) -> Result<Vec<(ServiceInfo, Vec<DestinationInfo>)>> {
        let services = self.services()?;
        let mut out = Vec::with_capacity(services.len());
        for s in services {
            let d = self.destinations(&s.service.key)?;
            out.push((s, d));
        }
        Ok(out)
    }

    // ---- sync daemon ----------------------------------------------------------------------

    pub fn start_daemon(&mut self, d: &SyncDaemon) -> Result<()> {
        if d.mcast_ifn.len() >= 16 {
            return Err(Error::InvalidRequest {
                op: Op::StartDaemon,
                msg: format!("interface name {:?} longer than 15 bytes", d.mcast_ifn),
            });
        }
        self.request(
            Op::StartDaemon,
            IpvsMessage::new(IpvsCmd::NewDaemon, vec![CmdAttr::Daemon(d.to_attrs())]),
        )
        .map(|_| ())
    }

    pub fn stop_daemon(&mut self, state: DaemonState) -> Result<()> {
        self.request(
            Op::StopDaemon,
            IpvsMessage::new(
                IpvsCmd::DelDaemon,
                vec![CmdAttr::Daemon(vec![crate::attr::DaemonAttr::State(
                    state.raw(),
                )])],
            ),
        )
        .map(|_| ())
    }

    /// Running sync daemons (0, 1 or 2 entries).
    pub fn daemons(&mut self) -> Result<Vec<SyncDaemon>> {
        let op = Op::GetDaemons;
        let msgs = self.dump(op, IpvsMessage::new(IpvsCmd::GetDaemon, vec![]))?;
        let mut out = Vec::new();
        for m in &msgs {
            for a in &m.attrs {
                if let CmdAttr::Daemon(d) = a {
                    out.push(
                        SyncDaemon::from_attrs(d)
                            .map_err(|what| Error::MissingAttribute { op, what })?,
                    );
                }
            }
        }
        Ok(out)
    }

    /// Send one request and return the raw reply datagrams up to the ack / NLMSG_DONE (for
    /// capturing golden fixtures and debugging). `dump` selects NLM_F_DUMP.
    pub fn raw_request(&mut self, msg: IpvsMessage, dump: bool) -> Result<Vec<Vec<u8>>> {
        let op = Op::GetServices;
        let seq = self.next_seq();
        self.tx.clear();
        let flags = if dump { NLM_F_DUMP } else { NLM_F_ACK };
        encode_request(self.family, flags, seq, msg, &mut self.tx);
        self.send_tx(op)?;
        let mut out = Vec::new();
        loop {
            self.recv(op)?;
            out.push(self.rx.clone());
            for (h, r) in decode_datagram(&self.rx, self.family).into_iter().flatten() {
                if h.sequence_number == seq
                    && matches!(r, Reply::Done | Reply::Ack | Reply::Error(_))
                {
                    return Ok(out);
                }
            }
        }
    }

    // ---- batching -------------------------------------------------------------------------

    /// Encode one operation as a netlink payload.
    pub fn operation_message(op: &Operation) -> IpvsMessage {
        match op {
            Operation::AddService(s) => Self::svc_msg(IpvsCmd::NewService, s.to_attrs()),
            Operation::EditService(s) => Self::svc_msg(IpvsCmd::SetService, s.to_attrs()),
            Operation::DelService(k) => Self::svc_msg(IpvsCmd::DelService, k.to_attrs()),
            Operation::AddDestination(k, d) => Self::dest_msg(IpvsCmd::NewDest, k, d.to_attrs()),
            Operation::EditDestination(k, d) => Self::dest_msg(IpvsCmd::SetDest, k, d.to_attrs()),
            Operation::DelDestination(k, d) => {
                Self::dest_msg(IpvsCmd::DelDest, k, Destination::key_attrs(d))
            }
        }
    }

    /// Apply many operations with few system calls: requests are packed into large send()s and
    /// the replies read afterwards. One result per operation, in order. `Err` (transport) means
    /// the outcome of the operations in flight is unknown — typically `Overrun`.
    pub fn apply(&mut self, ops: &[Operation]) -> Result<Vec<Result<()>>> {
        let mut results: Vec<Result<()>> = Vec::with_capacity(ops.len());
        let mut i = 0;
        while i < ops.len() {
            // Pack a chunk.
            self.tx.clear();
            let first_seq = self.seq.wrapping_add(1);
            let mut n = 0;
            while i + n < ops.len()
                && n < self.opts.batch_requests
                && (n == 0 || self.tx.len() < self.opts.batch_bytes)
            {
                let seq = self.next_seq();
                let last = i + n + 1 == ops.len()
                    || n + 1 == self.opts.batch_requests
                    || self.tx.len() + 512 >= self.opts.batch_bytes;
                let flags = if self.opts.ack_every_request || last {
                    NLM_F_ACK
                } else {
                    0
                };
                encode_request(
                    self.family,
                    flags,
                    seq,
                    Self::operation_message(&ops[i + n]),
                    &mut self.tx,
                );
                n += 1;
                if last {
                    break;
                }
            }
            let last_seq = self.seq;
            let chunk_op = ops[i].op();
            self.send_tx(chunk_op)?;
            // Collect replies: errors for any seq in the chunk; done when the last one answered.
            let mut chunk: Vec<Option<Result<()>>> = (0..n).map(|_| None).collect();
            let mut finished = false;
            while !finished {
                self.recv(chunk_op)?;
                for item in decode_datagram(&self.rx, self.family) {
                    let Ok((h, reply)) = item else { continue };
                    if !self.matches(&h) {
                        continue;
                    }
                    let idx = h.sequence_number.wrapping_sub(first_seq) as usize;
                    if idx >= n {
                        continue;
                    }
                    let r = match reply {
                        Reply::Ack => Ok(()),
                        Reply::Error(errno) => Err(Error::from_errno(ops[i + idx].op(), errno)),
                        _ => continue,
                    };
                    chunk[idx] = Some(r);
                    if h.sequence_number == last_seq {
                        finished = true;
                    }
                }
            }
            // Requests without an error reply succeeded (the kernel processed them in order
            // before answering the last one).
            results.extend(chunk.into_iter().map(|r| r.unwrap_or(Ok(()))));
            i += n;
        }
        Ok(results)
    }
}

impl Backend for Handle {
    fn services(&mut self) -> Result<Vec<Service>> {
        Ok(Handle::services(self)?
            .into_iter()
            .map(|s| s.service)
            .collect())
    }
    fn destinations(&mut self, key: &ServiceKey) -> Result<Vec<Destination>> {
        Ok(Handle::destinations(self, key)?
            .into_iter()
            .map(|d| d.dest)
            .collect())
    }
    fn apply(&mut self, ops: &[Operation]) -> Result<Vec<Result<()>>> {
        Handle::apply(self, ops)
    }
}
