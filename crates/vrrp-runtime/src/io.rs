//! Adverts in and out: the raw sockets and reading them (one `recvmmsg` per readable socket, in
//! the loop's thread), building and sending adverts
//! (through the advert cache), gratuitous ARPs/NAs, and demultiplexing a received packet to its
//! instance after [`vrrp_proto::validate()`].

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::Socket;
use vrrp_proto::auth_hmac::{ReplaySlot, Verdict};
use vrrp_proto::wire::auth_ext::{
    announced_message_len, split_trailer, PseudoHeader, Seq, Trailer, TRAILER_LEN,
};
use vrrp_proto::wire::checksum;
use vrrp_proto::wire::ip::{
    checksum_mode, AhHeader, IpHeader, Ipv4Header, IPV4_HEADER_LEN, VRRP_TOS, VRRP_TTL,
};
use vrrp_proto::wire::{frames, AdvertRepr, IpAdvert};
use vrrp_proto::{validate, validate_basic, Family, Input, Priority, ReceiveContext, RxPacket};

use crate::config::InstanceSpec;
use crate::inbox::Tx;
use crate::instance::{Cx, Instance};
use crate::runtime::{Env, Rt};
use crate::{sock, Metrics, VrrpRuntimeError};

/// Minimum grace after seeing the new master's first advert before a resigning master drops its
/// VIPs (lets the new master install its VIPs and its gratuitous ARPs reach the clients first;
/// the grace is one advert interval, at least this, at most 1 s).
pub(crate) const HANDOVER_GRACE_MIN: Duration = Duration::from_millis(50);

/// Wall-clock time since the Unix epoch (the `auth_hmac` sequence and freshness window).
fn wall_clock() -> Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

/// The IPv6 checksum the kernel computes and checks on a raw socket with `IPV6_CHECKSUM`
/// (keepalived's): the pseudo-header, then the whole payload (an `auth_hmac` trailer
/// included), the checksum field at offset 6 read as zero.
fn v6_payload_checksum(src: IpAddr, dst: IpAddr, payload: &[u8]) -> u16 {
    let acc = checksum::pseudo_header_sum(src, dst, payload.len());
    let acc = checksum::sum(payload.get(..6).unwrap_or(payload), acc);
    let acc = checksum::sum(payload.get(8..).unwrap_or(&[]), acc);
    checksum::fold(acc)
}

/// Rewrites the IPv4 total length of `pkt` and recomputes its header checksum.
fn set_ipv4_total_len(pkt: &mut [u8]) {
    let ihl = pkt.first().map_or(20, |b| usize::from(b & 0x0f) * 4);
    let Ok(tl) = u16::try_from(pkt.len()) else {
        return;
    };
    if pkt.len() < ihl || ihl < 20 {
        return;
    }
    pkt[2..4].copy_from_slice(&tl.to_be_bytes());
    pkt[10..12].copy_from_slice(&[0, 0]);
    let c = checksum::fold(checksum::sum(&pkt[..ihl], 0));
    pkt[10..12].copy_from_slice(&c.to_be_bytes());
}

/// The `auth_hmac` trailer of one advert (`message`: the VRRP message sent from `src`), or
/// `None` when the instance does not sign.
fn hmac_trailer(
    inst: &Instance,
    seq: Option<Seq>,
    src: IpAddr,
    message: &[u8],
) -> Option<[u8; 28]> {
    let h = inst.spec.auth_hmac.as_ref()?;
    let pseudo = PseudoHeader {
        version: inst.spec.version,
        vrid: inst.spec.vrid,
        src,
    };
    h.sign(seq?, &pseudo, message).map(|t| t.to_bytes())
}

/// At most this many batches are read from one readable socket per wake-up (4,096 datagrams:
/// more than its receive buffer holds, so a socket is emptied before the timers run; one still
/// readable after them is reported again by the next wait).
const READ_ROUNDS: usize = 64;

pub(crate) struct SockEntry {
    /// Watched for adverts (false: a VMAC's send-only socket).
    pub(crate) receive: bool,
    pub(crate) ifindex: u32,
    pub(crate) family: Family,
    pub(crate) proto: i32,
    pub(crate) fd: Arc<Socket>,
}

/// The loop's receive buffers, allocated once: a `recvmmsg` batch (IPv4, AH) and one datagram
/// with room for the rebuilt IPv6 header (IPv6: read one by one with their ancillary data).
pub(crate) struct RxBufs {
    pub(crate) batch: netplat::poll::RecvBatch,
    pub(crate) v6: Vec<u8>,
}

impl Default for RxBufs {
    fn default() -> Self {
        RxBufs {
            batch: netplat::poll::RecvBatch::new(),
            v6: vec![0; 40 + netplat::poll::RecvBatch::SLOT_LEN],
        }
    }
}

impl Env {
    /// The loop's wait also watches the receiving sockets not watched yet (sockets are
    /// append-only: a socket's position is its token).
    pub(crate) fn watch_sockets(&mut self, socks: &[SockEntry]) -> Result<(), VrrpRuntimeError> {
        while self.reading < socks.len() {
            let s = &socks[self.reading];
            if s.receive {
                self.rx_watch
                    .watch(&*s.fd, self.reading)
                    .map_err(|e| VrrpRuntimeError::Io {
                        op: "watching a receive socket".into(),
                        source: std::io::Error::other(e.to_string()),
                    })?;
            }
            self.reading += 1;
        }
        Ok(())
    }
}

impl Rt {
    /// Reads what receive socket `sidx` holds (without blocking; at most [`READ_ROUNDS`]
    /// batches) and handles each datagram, stamped when its batch was read.
    pub(crate) fn read_socket(&mut self, sidx: usize, bufs: &mut RxBufs) {
        for _ in 0..READ_ROUNDS {
            let Some(s) = self.io.socks.get(sidx) else {
                return;
            };
            if s.family == Family::V6 {
                let mut n = 0;
                while n < netplat::poll::RecvBatch::SLOTS {
                    let Some(s) = self.io.socks.get(sidx) else {
                        return;
                    };
                    match sock::recv_v6(&s.fd, &mut bufs.v6, true) {
                        Ok(len) => {
                            let at = Instant::now();
                            self.on_packet(sidx, bufs.v6.get(..len).unwrap_or(&[]), at);
                            n += 1;
                        }
                        Err(e) => {
                            if !matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                            ) {
                                log::warn!("VRRP receive: {e}");
                            }
                            return;
                        }
                    }
                }
                continue;
            }
            let n = match bufs.batch.recv(&*s.fd) {
                Ok(n) => n,
                Err(e) => {
                    log::warn!("VRRP receive: {e}");
                    return;
                }
            };
            let at = Instant::now();
            for k in 0..n {
                self.on_packet(sidx, bufs.batch.get(k), at);
            }
            if n < netplat::poll::RecvBatch::SLOTS {
                return;
            }
        }
    }
}

/// The link watch: a thread that sends `Ok(())` whenever the kernel reports a link change or
/// a deleted address,
/// and the error (then ends) if the watch fails. `Err`: link events are unavailable.
/// `queued` coalesces: while one event waits for the loop (which clears it before re-reading
/// the links), further bursts send none (a mass link change is one re-read, not one per burst).
pub(crate) fn spawn_link_watch(
    tx: Tx<Result<(), String>>,
    stop: Arc<AtomicBool>,
    queued: Arc<AtomicBool>,
    rcv_bufs: &conf_parse::RcvBufs,
) -> Result<(std::thread::JoinHandle<()>, Arc<netplat::LinkWatch>), String> {
    // Address deletions too: an instance whose interface loses its source address faults;
    // and route and rule deletions: static ones are restored (keepalived reinstate_static_*).
    let w =
        Arc::new(netplat::LinkWatch::with_deletions(Duration::ZERO).map_err(|e| e.to_string())?);
    set_rcv_bufs(
        "vrrp_netlink_monitor_rcv_bufs",
        rcv_bufs,
        None,
        |size, force| w.set_receive_buffer(size, force),
    );
    let watch = w.clone();
    let h = std::thread::Builder::new()
        .name("vrrp-links".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let ev = match w.wait() {
                    Ok(false) => continue,
                    Ok(true) if queued.swap(true, Ordering::AcqRel) => continue,
                    Ok(true) => Ok(()),
                    Err(e) => Err(e.to_string()),
                };
                let failed = ev.is_err();
                if tx.send(ev).is_err() || failed {
                    return;
                }
            }
        })
        .map_err(|e| e.to_string())?;
    Ok((h, watch))
}

/// keepalived's `vrrp_netlink_{cmd,monitor}_rcv_bufs[_force]`: the receive buffer of one of the
/// worker's netlink sockets, set when configured (at start and at a reload that changes it). A
/// reload that removes the keyword sets the system default (`net.core.rmem_default`) again.
/// Failure is logged, as keepalived does, and the socket keeps its buffer.
pub(crate) fn set_rcv_bufs(
    keyword: &str,
    now: &conf_parse::RcvBufs,
    before: Option<&conf_parse::RcvBufs>,
    set: impl FnOnce(u32, bool) -> Result<(), netplat::Error>,
) {
    let size = match (now.size, before) {
        (_, Some(b)) if b == now => return,
        (Some(size), _) => size,
        // Back to what a new socket gets.
        (None, Some(b)) if b.size.is_some() => {
            std::fs::read_to_string("/proc/sys/net/core/rmem_default")
                .ok()
                .and_then(|v| v.trim().parse::<u32>().ok())
                .map_or(212_992 / 2, |v| v / 2)
        }
        (None, _) => return,
    };
    match set(size, now.force) {
        Ok(()) => log::info!("{keyword}: netlink receive buffer set to {size}"),
        Err(e) => log::info!("{keyword}: cannot set the netlink receive buffer to {size}: {e}"),
    }
}

/// A gratuitous ARP/NA socket on `ifindex`.
pub(crate) fn garp_socket(ifindex: u32) -> Result<netplat::PacketSocket, netplat::Error> {
    netplat::PacketSocket::open(ifindex)
}

/// IP protocol of an instance's socket: AH or VRRP.
pub(crate) fn sock_proto(spec: &InstanceSpec) -> i32 {
    if matches!(spec.auth, vrrp_proto::AuthConfig::Ah(_)) {
        sock::IPPROTO_AH
    } else {
        sock::IPPROTO_VRRP
    }
}

/// The instances' raw sockets (one receiving socket per interface, family and protocol,
/// shared by the instances there; send-only sockets of VMACs), and what goes out of them.
pub(crate) struct Io {
    /// Append-only: an instance and the loop's epoll set refer to a socket by its position.
    pub(crate) socks: Vec<SockEntry>,
    pub(crate) metrics: Arc<Metrics>,
}

impl Io {
    pub(crate) fn send_advert_v6(&self, this: &mut Instance, priority: Priority) {
        // One auth_hmac sequence per advert, shared by its unicast copies.
        let seq = this.spec.auth_hmac.as_ref().and_then(|h| {
            h.mode()
                .signs()
                .then(|| this.hmac_tx.next(wall_clock(), h.anti_replay()))
        });
        let mut trailer: Option<[u8; TRAILER_LEN]> = None;
        let inst = &*this;
        let src = inst.primary;
        let dsts: Vec<IpAddr> = if inst.spec.unicast_peers.is_empty() {
            vec![inst.spec.mcast_group]
        } else {
            inst.spec.unicast_peers.iter().map(|p| p.addr).collect()
        };
        let repr = AdvertRepr {
            vrid: inst.spec.vrid,
            priority,
            interval: inst.spec.interval,
            auth: vrrp_proto::Auth::None,
            addrs: inst.vr.config().vips.clone(),
        };
        for dst in dsts {
            let IpAddr::V6(d6) = dst else { continue };
            let mode = checksum_mode(inst.spec.version, src, dst, false);
            let mut bytes = match repr.to_bytes(mode) {
                Ok(b) => b,
                Err(e) => {
                    log::error!("VRRP_Instance({}) building advert: {e}", inst.spec.name);
                    continue;
                }
            };
            if seq.is_some() {
                if trailer.is_none() {
                    trailer = hmac_trailer(inst, seq, src, &bytes);
                }
                if let Some(t) = &trailer {
                    // Signed, then the checksum over the whole payload as the kernel computes
                    // it for keepalived (IPV6_CHECKSUM).
                    bytes.extend_from_slice(t);
                    let c = v6_payload_checksum(src, dst, &bytes);
                    if let Some(f) = bytes.get_mut(6..8) {
                        f.copy_from_slice(&c.to_be_bytes());
                    }
                }
            }
            let tx = &self.socks[inst.tx_sock];
            let scope =
                if d6.segments()[0] & 0xff0f == 0xff02 || d6.segments()[0] & 0xffc0 == 0xfe80 {
                    tx.ifindex
                } else {
                    0
                };
            let to = std::net::SocketAddrV6::new(d6, 0, 0, scope);
            // A unicast socket was bound with IPV6_FREEBIND (its source may not exist yet):
            // name the source, so nothing leaves from it before it is usable (2.4.3).
            let sent = match inst.primary {
                IpAddr::V6(s6) if !inst.spec.unicast_peers.is_empty() => {
                    sock::send_v6_from(&tx.fd, &bytes, to, s6, tx.ifindex)
                }
                _ => {
                    let sa: socket2::SockAddr = std::net::SocketAddr::V6(to).into();
                    tx.fd.send_to(&bytes, &sa).map(|_| ())
                }
            };
            match sent {
                Ok(_) => self
                    .metrics
                    .sent(&inst.spec.name, priority == Priority::STOP),
                Err(e) => {
                    Metrics::bump(&self.metrics.send_errors);
                    log::debug!("VRRP_Instance({}) send to {dst}: {e}", inst.spec.name);
                }
            }
        }
    }

    /// Sends `this` instance's advert with `priority` to its group or each unicast peer.
    pub(crate) fn send_advert(&self, this: &mut Instance, priority: Priority) {
        let inst = &*this;
        let IpAddr::V4(src) = inst.primary else {
            self.send_advert_v6(this, priority);
            return;
        };
        // auth_hmac: one sequence and one trailer per advert, on every unicast copy; a
        // signed advert is emitted each time (the cache would replay the sequence).
        let seq = this.spec.auth_hmac.as_ref().and_then(|h| {
            h.mode()
                .signs()
                .then(|| this.hmac_tx.next(wall_clock(), h.anti_replay()))
        });
        let mut trailer: Option<[u8; TRAILER_LEN]> = None;
        let inst = &*this;
        let unicast = !inst.spec.unicast_peers.is_empty();
        let ah_key = match inst.spec.auth {
            vrrp_proto::AuthConfig::Ah(k) => Some(k),
            _ => None,
        };

        for k in 0..inst.spec.unicast_peers.len().max(1) {
            let inst = &mut *this;
            let dst = match inst.spec.unicast_peers.get(k) {
                Some(p) => p.addr,
                None => inst.spec.mcast_group,
            };
            let IpAddr::V4(d4) = dst else { continue };
            // Our own IP ident (the kernel would fill a zero one in after we computed the AH
            // ICV, which covers it).
            inst.ip_ident = inst.ip_ident.wrapping_add(1).max(1);
            let ident = inst.ip_ident;
            // The cached advert restamped; an AH advert (its ICV covers the ident and its
            // sequence number moves) is refused by the restamp and emitted again.
            let hit = inst
                .advert_cache
                .iter()
                .position(|c| (c.0, c.1, c.2) == (priority, src, d4))
                .filter(|&x| {
                    seq.is_none()
                        && vrrp_proto::wire::ip::restamp_ipv4_ident(
                            &mut inst.advert_cache[x].3,
                            ident,
                        )
                        .is_ok()
                });
            let slot = match hit {
                Some(x) => x,
                None => {
                    let ah = ah_key.map(|_| {
                        inst.ah_tx_seq = inst.ah_tx_seq.wrapping_add(1);
                        AhHeader {
                            next_header: 112,
                            spi: u32::from(src),
                            seq: inst.ah_tx_seq,
                            icv: [0; 12],
                        }
                    });
                    let pkt = IpAdvert {
                        ip: IpHeader::V4(Ipv4Header {
                            tos: VRRP_TOS,
                            ident,
                            flags_frag: 0,
                            ttl: if unicast {
                                inst.spec.unicast_ttl
                            } else {
                                VRRP_TTL
                            },
                            protocol: 112,
                            src,
                            dst: d4,
                        }),
                        ah,
                        advert: AdvertRepr {
                            vrid: inst.spec.vrid,
                            priority,
                            interval: inst.spec.interval,
                            auth: inst.spec.wire_auth(),
                            addrs: inst.vr.config().vips.clone(),
                        },
                    };
                    // old_unicast_checksum: the multicast group stands in the pseudo-header.
                    let csum_dst = if inst.old_checksum && unicast {
                        IpAddr::V4(inst.spec.mcast_group4)
                    } else {
                        dst
                    };
                    let mode = checksum_mode(
                        inst.spec.version,
                        IpAddr::V4(src),
                        csum_dst,
                        inst.spec.v3_checksum_as_v2,
                    );
                    match pkt.emit(mode, ah_key.as_ref(), unicast) {
                        Ok(mut b) => {
                            if seq.is_some() {
                                let ihl = IPV4_HEADER_LEN;
                                if trailer.is_none() {
                                    trailer = hmac_trailer(
                                        inst,
                                        seq,
                                        IpAddr::V4(src),
                                        b.get(ihl..).unwrap_or(&[]),
                                    );
                                }
                                if let Some(t) = &trailer {
                                    b.extend_from_slice(t);
                                    set_ipv4_total_len(&mut b);
                                }
                            }
                            inst.advert_cache.retain(|c| c.2 != d4);
                            inst.advert_cache.push((priority, src, d4, b));
                            inst.advert_cache.len() - 1
                        }
                        Err(e) => {
                            log::error!("VRRP_Instance({}) building advert: {e}", inst.spec.name);
                            continue;
                        }
                    }
                }
            };
            let inst = &*this;
            let bytes = &inst.advert_cache[slot].3;
            let fd = &self.socks[inst.tx_sock].fd;
            match sock::send_to(fd, bytes, dst) {
                Ok(()) => self
                    .metrics
                    .sent(&inst.spec.name, priority == Priority::STOP),
                Err(e) => {
                    Metrics::bump(&self.metrics.send_errors);
                    log::debug!("VRRP_Instance({}) send to {dst}: {e}", inst.spec.name);
                }
            }
        }
    }

    /// One gratuitous ARP/NA for VIP `addr` of instance `this`, on the VIP's interface with its MAC
    /// (the VMAC's for VIPs on the instance's interface).
    pub(crate) fn send_garp(&self, this: &Instance, addr: IpAddr) {
        let inst = this;
        let dev = inst
            .spec
            .vips
            .iter()
            .chain(&inst.spec.excluded)
            .find(|v| v.addr == addr)
            .and_then(|v| v.dev.as_deref());
        let on_vmac = inst
            .addr_vmacs
            .iter()
            .find(|a| a.spec.addrs.contains(&addr))
            .and_then(|a| Some((a.mac, a.packet.as_ref()?)));
        let (mac, ps) = match on_vmac {
            Some(x) => x,
            None => match dev.and_then(|d| inst.garp_ifs.iter().find(|g| g.0 == d)) {
                Some((_, m, p)) => (*m, p),
                None => match &inst.packet {
                    Some(p) => (inst.mac, p),
                    None => return,
                },
            },
        };
        let frame: Vec<u8> = match addr {
            IpAddr::V4(a) => frames::gratuitous_arp(mac, a).to_vec(),
            IpAddr::V6(a) => frames::unsolicited_na(mac, a, false).to_vec(),
        };
        match ps.send(&frame) {
            Ok(()) => Metrics::bump(&self.metrics.garps_sent),
            Err(e) => log::debug!("VRRP_Instance({}) GARP: {e}", inst.spec.name),
        }
    }
}

impl Instance {
    /// `rep` gratuitous ARPs/NAs for each VIP and excluded VIP of this instance, now or paced
    /// (see [`crate::garp`]).
    pub(crate) fn send_garps(&self, cx: &mut Cx<'_>, rep: u32, now: Instant) {
        let inst = self;
        // (without interface: only the VIPs' `dev`s have a GARP socket)
        if inst.packet.is_none() && !inst.spec.ifname.is_empty() {
            return;
        }
        // Per interface (a VIP's `dev`, else the instance's), in configuration order.
        let mut by_if: Vec<(&str, Vec<IpAddr>)> = Vec::new();
        for v in inst.spec.vips.iter().chain(&inst.spec.excluded) {
            let ifname = v.dev.as_deref().unwrap_or(&inst.spec.ifname);
            match by_if.iter_mut().find(|x| x.0 == ifname) {
                Some(x) => x.1.push(v.addr),
                None => by_if.push((ifname, vec![v.addr])),
            }
        }
        let mut now_out = Vec::new();
        for (ifname, addrs) in by_if {
            now_out.extend(cx.pacers.request(ifname, &inst.spec.name, &addrs, rep, now));
        }
        for a in now_out {
            cx.io.send_garp(self, a);
        }
    }
}

/// The VRRPv3-over-IPv4 checksum of `msg` (its checksum field read as zero) with `src` and
/// `dst` in the pseudo-header.
fn v3_checksum(msg: &[u8], src: IpAddr, dst: IpAddr) -> u16 {
    let mut m = msg.to_vec();
    if m.len() >= 8 {
        m[6..8].copy_from_slice(&[0, 0]);
    }
    let mode = checksum_mode(vrrp_proto::Version::V3, src, dst, false);
    checksum::fold(checksum::sum(&m, mode.seed(m.len())))
}

impl Rt {
    /// `old_unicast_checksum` on receipt (keepalived vrrp_check_packet with
    /// _WITH_UNICAST_CHKSUM_COMPAT_), for unicast VRRPv3 over IPv4 sent to a unicast address:
    /// `None` when there is nothing to do; `Some(Some(packet))` the packet with the checksum
    /// the standard check expects, when it carries the old one and that is accepted (in the
    /// old mode, or on switching to it: "Setting unicast VRRPv3 checksum to old version");
    /// `Some(None)` a checksum error (old mode, no old checksum).
    fn old_checksum(
        &mut self,
        i: crate::instance::InstId,
        pkt: &[u8],
        poff: usize,
        src: IpAddr,
    ) -> Option<Option<Vec<u8>>> {
        let inst = &self.insts[i];
        if inst.spec.family != Family::V4
            || inst.spec.version != vrrp_proto::Version::V3
            || inst.spec.unicast_peers.is_empty()
            || inst.spec.v3_checksum_as_v2
        {
            return None;
        }
        let dst = IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(pkt.get(16..20)?).ok()?));
        let group = IpAddr::V4(inst.spec.mcast_group4);
        if dst == group {
            return None;
        }
        let payload = pkt.get(poff..)?;
        let mlen = announced_message_len(payload, Family::V4)?.min(payload.len());
        let msg = payload.get(..mlen)?;
        let got = u16::from_be_bytes([*msg.get(6)?, *msg.get(7)?]);
        let old_ok = got == v3_checksum(msg, src, group);
        if !inst.old_checksum {
            if inst.spec.old_unicast_checksum.is_some()
                || got == v3_checksum(msg, src, dst)
                || !old_ok
            {
                return None;
            }
            let inst = &mut self.insts[i];
            log::info!(
                "({}) Setting unicast VRRPv3 checksum to old version",
                inst.spec.name
            );
            inst.old_checksum = true;
            inst.advert_cache.clear();
        } else if !old_ok {
            return Some(None);
        }
        let mut fixed = pkt.to_vec();
        let c = v3_checksum(msg, src, dst).to_be_bytes();
        fixed.get_mut(poff + 6..poff + 8)?.copy_from_slice(&c);
        Some(Some(fixed))
    }
}

impl Instance {
    /// keepalived `vrrp_send_vmac_update` (`garp_extra_if`): one gratuitous ARP/NA per
    /// interface, for its first VIP, on each address VMAC of this instance (with `all`, on
    /// each interface) but the instance's own (unless `vmac_xmit_base`).
    pub(crate) fn send_extra_garps(&self, cx: &mut Cx<'_>, now: Instant) {
        let Some(x) = &self.spec.garp_extra_if else {
            return;
        };
        let own = self.vip_if.0.as_str();
        let xmit_base = self.spec.vmac.as_ref().is_some_and(|v| v.xmit_base);
        let mut done: Vec<&str> = Vec::new();
        let mut out = Vec::new();
        for v in self.spec.vips.iter().chain(&self.spec.excluded) {
            let vmac = self
                .addr_vmacs
                .iter()
                .find(|a| a.spec.addrs.contains(&v.addr))
                .map(|a| a.spec.name.as_str());
            let ifname = vmac.or(v.dev.as_deref()).unwrap_or(own);
            if (vmac.is_none() && !x.all) || (ifname == own && !xmit_base) {
                continue;
            }
            if done.contains(&ifname) {
                continue;
            }
            done.push(ifname);
            out.extend(
                cx.pacers
                    .request(ifname, &self.spec.name, &[v.addr], 1, now),
            );
        }
        for a in out {
            cx.io.send_garp(self, a);
        }
    }
}

impl Rt {
    pub(crate) fn on_packet(&mut self, sidx: usize, pkt: &[u8], at: Instant) {
        // keepalived vrrp_read_dispatcher_thread: during vrrp_startup_delay adverts are read
        // and discarded before any check (no counter moves).
        if self.start_delayed(at) {
            return;
        }
        // Find the VRID (IPv4: after the IP header and an optional AH header; IPv6: the
        // rebuilt 40-byte header).
        let Some(&vihl) = pkt.first() else { return };
        let v6 = vihl >> 4 == 6;
        let voff = if v6 {
            40
        } else {
            let ihl = usize::from(vihl & 0x0f) * 4;
            let proto = pkt.get(9).copied().unwrap_or(0);
            if proto == 51 {
                ihl + 24
            } else {
                ihl
            }
        };
        let Some(&vrid) = pkt.get(voff + 1) else {
            self.metrics.reject(None, "packet_len_err");
            return;
        };
        let src = if v6 {
            match pkt.get(8..24).and_then(|b| <[u8; 16]>::try_from(b).ok()) {
                Some(b) => IpAddr::V6(std::net::Ipv6Addr::from(b)),
                None => return,
            }
        } else {
            match pkt.get(12..16) {
                Some(b) => IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])),
                None => return,
            }
        };
        let cached = self.rx_index.get(&(sidx, vrid)).copied().filter(|id| {
            self.insts
                .get(*id)
                .is_some_and(|x| x.sock == sidx && x.spec.vrid.get() == vrid)
        });
        let found = cached.or_else(|| {
            let f = self
                .insts
                .find(|x| x.sock == sidx && x.spec.vrid.get() == vrid);
            if let Some(f) = f {
                self.rx_index.insert((sidx, vrid), f);
            }
            f
        });
        let Some(i) = found else {
            Metrics::bump(&self.metrics.unknown_vrid);
            if self.config.global.log_unknown_vrids {
                // keepalived vrrp_read_dispatcher_thread: every one logged.
                let ifname = self
                    .insts
                    .iter()
                    .find(|x| x.sock == sidx)
                    .map(|x| x.spec.ifname.as_str())
                    .unwrap_or("?");
                log::info!("Unknown VRID({vrid}) received on interface({ifname}). ignoring...");
            }
            return;
        };
        if src == self.insts[i].primary {
            return;
        }
        // auth_hmac: a trailer is there when the payload is the announced message plus the
        // trailer (keepalived's rule); the packet is checked without it, then verified.
        let mut trimmed: Option<Vec<u8>> = None;
        let mut trailer: Option<[u8; TRAILER_LEN]> = None;
        let poff = if v6 { 40 } else { usize::from(vihl & 0x0f) * 4 };
        if self.insts[i].spec.auth_hmac.is_some() {
            let inst = &self.insts[i];
            let payload = pkt.get(poff..).unwrap_or(&[]);
            if let Some(mlen) = announced_message_len(payload, inst.spec.family) {
                if let (_, Some(t)) = split_trailer(payload, mlen) {
                    let mut tb = [0u8; TRAILER_LEN];
                    tb.copy_from_slice(t.into_inner());
                    let mut nb = pkt.get(..poff + mlen).unwrap_or(&[]).to_vec();
                    if v6 {
                        let dst = pkt
                            .get(24..40)
                            .and_then(|b| <[u8; 16]>::try_from(b).ok())
                            .map(|b| IpAddr::V6(std::net::Ipv6Addr::from(b)))
                            .unwrap_or(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED));
                        // The sender's checksum covers the trailer (the kernel's, for
                        // keepalived); checked here, then the message's own put in place
                        // for the checks that follow.
                        let got = payload.get(6..8).map(|b| u16::from_be_bytes([b[0], b[1]]));
                        if got != Some(v6_payload_checksum(src, dst, payload)) {
                            self.metrics
                                .rejected(&inst.spec.name, &vrrp_proto::RxError::Checksum);
                            return;
                        }
                        let mode = checksum_mode(inst.spec.version, src, dst, false);
                        if let Some(msg) = nb.get_mut(poff..) {
                            if msg.len() >= 8 {
                                msg[6..8].copy_from_slice(&[0, 0]);
                                let c = checksum::fold(checksum::sum(msg, mode.seed(msg.len())));
                                msg[6..8].copy_from_slice(&c.to_be_bytes());
                            }
                        }
                    } else {
                        set_ipv4_total_len(&mut nb);
                    }
                    trimmed = Some(nb);
                    trailer = Some(tb);
                }
            }
        }
        if let Some(fixed) = self.old_checksum(i, trimmed.as_deref().unwrap_or(pkt), poff, src) {
            match fixed {
                Some(b) => trimmed = Some(b),
                None => {
                    self.metrics
                        .rejected(&self.insts[i].spec.name, &vrrp_proto::RxError::Checksum);
                    return;
                }
            }
        }
        let pkt: &[u8] = trimmed.as_deref().unwrap_or(pkt);
        let inst = &self.insts[i];
        let peers: Vec<IpAddr> = inst.spec.unicast_peers.iter().map(|p| p.addr).collect();
        let rc = inst.vr.config();
        let n_vips = rc.vips.len();
        let ctx = ReceiveContext {
            version: inst.spec.version,
            family: inst.spec.family,
            vrid: inst.spec.vrid,
            auth: inst.spec.auth,
            advert_interval: inst.spec.interval,
            vips: &rc.vips,
            check_addresses: inst
                .vr
                .check_addresses_for(src, inst.spec.skip_check_adv_addr),
            unicast: !peers.is_empty(),
            unicast_peers: &peers,
            check_unicast_src: inst.spec.check_unicast_src,
            v3_checksum_as_v2: inst.spec.v3_checksum_as_v2,
            ah_last_seq: inst.ah_last_seq,
        };
        let rx = if v6 {
            let dst = pkt
                .get(24..40)
                .and_then(|b| <[u8; 16]>::try_from(b).ok())
                .map(std::net::Ipv6Addr::from)
                .unwrap_or(std::net::Ipv6Addr::UNSPECIFIED);
            let IpAddr::V6(src6) = src else { return };
            RxPacket::Ipv6 {
                payload: pkt.get(40..).unwrap_or(&[]),
                src: src6,
                dst,
                hop_limit: pkt.get(7).copied().unwrap_or(0),
            }
        } else {
            RxPacket::Ipv4(pkt)
        };
        // auth_hmac is verified where keepalived 2.4.3 verifies it: after the basic checks
        // (AH presence, length, TTL, version), before the rest; a trailer that verifies
        // moves the sender's replay mark even if a later check rejects the advert.
        let hmac_rejected = inst.spec.auth_hmac.is_some()
            && validate_basic(rx, &ctx).is_ok()
            && !self.verify_hmac(i, src, pkt.get(poff..).unwrap_or(&[]), trailer.as_ref());
        if hmac_rejected {
            return;
        }
        let inst = &self.insts[i];
        let rc = inst.vr.config();
        let ctx = ReceiveContext {
            version: inst.spec.version,
            family: inst.spec.family,
            vrid: inst.spec.vrid,
            auth: inst.spec.auth,
            advert_interval: inst.spec.interval,
            vips: &rc.vips,
            check_addresses: inst
                .vr
                .check_addresses_for(src, inst.spec.skip_check_adv_addr),
            unicast: !peers.is_empty(),
            unicast_peers: &peers,
            check_unicast_src: inst.spec.check_unicast_src,
            v3_checksum_as_v2: inst.spec.v3_checksum_as_v2,
            ah_last_seq: inst.ah_last_seq,
        };
        match validate(rx, &ctx).and_then(|v| v.to_accepted()) {
            Err(e) => {
                self.metrics.rejected_from(&inst.spec.name, &e, src);
                let name = &inst.spec.name;
                for line in self.rxlog.reject(at, name, e.reason(), || {
                    format!("VRRP_Instance({name}) advert from {src} rejected: {e}")
                }) {
                    log::info!("{line}");
                }
            }
            Ok(acc) => {
                let inst = &self.insts[i];
                // `owner_ignore_adverts` (keepalived 2.4): the address owner drops them all.
                if inst.spec.owner_ignore_adverts && inst.vr.priority().get() == 255 {
                    let name = &inst.spec.name;
                    for line in self.rxlog.reject(at, name, "owner_ignore_adverts", || {
                        format!(
                            "VRRP_Instance({name}) Dropping packet(s) from {src} since we are address owner"
                        )
                    }) {
                        log::info!("{line}");
                    }
                    return;
                }
                // unicast_peer min_ttl / max_ttl.
                if let Some(p) = inst.spec.unicast_peers.iter().find(|p| p.addr == acc.src) {
                    let lo = p.min_ttl.unwrap_or(0);
                    let hi = p.max_ttl.unwrap_or(255);
                    if acc.ttl < lo || acc.ttl > hi {
                        let name = &inst.spec.name;
                        self.metrics.reject(Some(name), "ttl_out_of_range");
                        for line in self.rxlog.reject(at, name, "ttl_out_of_range", || {
                            format!(
                                "VRRP_Instance({name}) TTL {} from {src} not in range [{lo}, {hi}]",
                                acc.ttl
                            )
                        }) {
                            log::info!("{line}");
                        }
                        return;
                    }
                }
                self.metrics.accepted(&inst.spec.name, &acc);
                if acc.addr_list_mismatch {
                    // `skip_check_adv_addr`: the master we follow changed its address list.
                    let name = &inst.spec.name;
                    let (got, ours) = (acc.advert.addrs.len(), n_vips);
                    for line in self.rxlog.reject(at, name, "addr_list_skipped", || {
                        format!(
                            "VRRP_Instance({name}) advert from {src} lists {got} address(es) \
                             differing from our {ours}; accepted (skip_check_adv_addr)"
                        )
                    }) {
                        log::info!("{line}");
                    }
                }
                if let Some(s) = acc.ah_seq {
                    self.insts[i].ah_last_seq = s;
                }
                if self.insts[i].handover_until.is_some()
                    && acc.advert.priority.get() > 0
                    && self.insts[i].handover_drop_at.is_none()
                {
                    let iv = self.insts[i].vr.config().advert_interval.to_duration();
                    let grace = iv.clamp(HANDOVER_GRACE_MIN, Duration::from_secs(1));
                    self.insts[i].handover_drop_at = Some(at + grace);
                    // The bound no longer applies: the new master is there.
                    self.insts[i].handover_until = None;
                }
                self.feed(
                    i,
                    at,
                    Input::Advert {
                        src: acc.src,
                        ttl: acc.ttl,
                        repr: acc.advert,
                    },
                );
                let inst = &self.insts[i];
                self.metrics
                    .set_master(&inst.spec.name, inst.vr.master_addr());
            }
        }
    }

    /// `auth_hmac` verification of an advert instance `i` otherwise accepted: `message` as
    /// received (no trailer), `trailer` if one was there. False: rejected and counted.
    fn verify_hmac(
        &mut self,
        i: crate::instance::InstId,
        src: IpAddr,
        message: &[u8],
        trailer: Option<&[u8; TRAILER_LEN]>,
    ) -> bool {
        let inst = &mut self.insts[i];
        let Some(h) = inst.spec.auth_hmac.as_ref() else {
            return true;
        };
        let pseudo = PseudoHeader {
            version: inst.spec.version,
            vrid: inst.spec.vrid,
            src,
        };
        let view = trailer.map(|t| Trailer::new_unchecked(&t[..]));
        let slot = if inst.spec.unicast_peers.is_empty() {
            ReplaySlot::Multicast(&mut inst.hmac_mcast)
        } else {
            if inst.hmac_peers.len() != inst.spec.unicast_peers.len() {
                inst.hmac_peers
                    .resize(inst.spec.unicast_peers.len(), Default::default());
            }
            // A signed unicast advert must come from a configured peer (its replay anchor).
            match inst.spec.unicast_peers.iter().position(|p| p.addr == src) {
                Some(k) if view.is_some() => ReplaySlot::Unicast(&mut inst.hmac_peers[k]),
                None if view.is_some() => {
                    self.metrics.rejected(
                        &inst.spec.name,
                        &vrrp_proto::RxError::UnknownUnicastSource(src),
                    );
                    return false;
                }
                _ => ReplaySlot::Multicast(&mut inst.hmac_mcast),
            }
        };
        match h.verify(wall_clock(), &pseudo, message, view.as_ref(), slot) {
            Ok(Verdict::Verified {
                skew_warning: true,
                skew: Some(d),
                ..
            }) => {
                log::warn!(
                    "VRRP_Instance({}) authentication clock skew {d} sec from {src} approaching window",
                    inst.spec.name
                );
                true
            }
            Ok(_) => true,
            Err(e) => {
                self.metrics.auth_ext_rejected(&inst.spec.name, &e);
                log::info!("VRRP_Instance({}) advert from {src}: {e}", inst.spec.name);
                false
            }
        }
    }
}
