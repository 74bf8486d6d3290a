//! Raw IP protocol 112 sockets: one per (interface, family), used both to receive (bound to
//! the interface, joined to the VRRP group) and to send (IPv4: we build the whole IP header,
//! TTL 255, TOS 0xC0; own multicast not looped back).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};

use crate::VrrpRuntimeError;

/// IP protocol of VRRP.
pub(crate) const IPPROTO_VRRP: i32 = 112;
/// IP protocol of IPsec AH (v2 AH authentication: the advert arrives inside AH).
pub(crate) const IPPROTO_AH: i32 = 51;

fn io(op: String) -> impl FnOnce(std::io::Error) -> VrrpRuntimeError {
    move |source| VrrpRuntimeError::Io { op, source }
}

/// Open the IPv4 socket of IP protocol `proto` (112 or 51) for `ifname` (index `ifindex`)
/// and join `groups` on it.
pub(crate) fn open_v4(
    ifname: &str,
    ifindex: u32,
    proto: i32,
    groups: &[Ipv4Addr],
) -> Result<Socket, VrrpRuntimeError> {
    let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(proto)))
        .map_err(io(format!("raw IPv4 socket for {ifname}")))?;
    s.bind_device(Some(ifname.as_bytes()))
        .map_err(io(format!("SO_BINDTODEVICE {ifname}")))?;
    s.set_header_included_v4(true)
        .map_err(io(format!("IP_HDRINCL on {ifname}")))?;
    s.set_multicast_loop_v4(false)
        .map_err(io(format!("IP_MULTICAST_LOOP off on {ifname}")))?;
    s.set_multicast_ttl_v4(255)
        .map_err(io(format!("IP_MULTICAST_TTL on {ifname}")))?;
    for g in groups {
        s.join_multicast_v4_n(g, &InterfaceIndexOrAddress::Index(ifindex))
            .map_err(io(format!("join {g} on {ifname}")))?;
    }
    // Plenty of room for bursts of adverts from many routers.
    let _ = s.set_recv_buffer_size(1 << 20);
    // Read without blocking by the VRRP loop when its epoll set reports it readable.
    Ok(s)
}

/// Binds `s` to the local address `src` (an instance without interface: only the adverts sent
/// to its unicast_src_ip reach it, as keepalived binds its read socket).
pub(crate) fn bind_src(s: &Socket, src: IpAddr) -> Result<(), VrrpRuntimeError> {
    s.bind(&SocketAddr::new(src, 0).into())
        .map_err(io(format!("bind unicast_src {src}")))
}

/// Send a complete packet (IPv4: with header) to `dst`.
pub(crate) fn send_to(s: &Socket, pkt: &[u8], dst: IpAddr) -> std::io::Result<()> {
    let sa: SockAddr = match dst {
        IpAddr::V4(a) => SocketAddr::V4(SocketAddrV4::new(a, 0)).into(),
        IpAddr::V6(a) => SocketAddr::V6(std::net::SocketAddrV6::new(a, 0, 0, 0)).into(),
    };
    s.send_to(pkt, &sa).map(|_| ())
}

/// Send an IPv6 VRRP message to `dst` from `src` on interface `ifindex` (IPV6_PKTINFO, as
/// keepalived sends): the kernel refuses it (EINVAL) while `src` is not a local, non-tentative
/// address.
pub(crate) fn send_v6_from(
    s: &Socket,
    pkt: &[u8],
    dst: std::net::SocketAddrV6,
    src: std::net::Ipv6Addr,
    ifindex: u32,
) -> std::io::Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, SockaddrIn6};
    use std::os::fd::AsRawFd;
    let info = nix::libc::in6_pktinfo {
        ipi6_addr: nix::libc::in6_addr {
            s6_addr: src.octets(),
        },
        ipi6_ifindex: ifindex,
    };
    let to = SockaddrIn6::from(dst);
    sendmsg(
        s.as_raw_fd(),
        &[std::io::IoSlice::new(pkt)],
        &[ControlMessage::Ipv6PacketInfo(&info)],
        MsgFlags::empty(),
        Some(&to),
    )
    .map(|_| ())
    .map_err(std::io::Error::from)
}

/// Open the IPv6 socket for `ifname`: bound to the link-local `src` (the advert source),
/// hop limit 255 (unicast and multicast), traffic class 0xC0, own multicast not looped back,
/// hop limit and packet info delivered as ancillary data, joined to `groups`. With `freebind`
/// (a unicast instance: keepalived 2.3.3's IPV6_FREEBIND) the bind succeeds before `src` is
/// on the system.
pub(crate) fn open_v6(
    ifname: &str,
    ifindex: u32,
    src: std::net::Ipv6Addr,
    groups: &[std::net::Ipv6Addr],
    freebind: bool,
) -> Result<Socket, VrrpRuntimeError> {
    use nix::sys::socket::{setsockopt, sockopt};
    let s = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::from(IPPROTO_VRRP)))
        .map_err(io(format!("raw IPv6 socket for {ifname}")))?;
    s.bind_device(Some(ifname.as_bytes()))
        .map_err(io(format!("SO_BINDTODEVICE {ifname}")))?;
    let scope = if src.segments()[0] & 0xffc0 == 0xfe80 {
        ifindex
    } else {
        0
    };
    if freebind {
        s.set_freebind_v6(true)
            .map_err(io(format!("IPV6_FREEBIND on {ifname}")))?;
    }
    s.bind(&SocketAddr::V6(std::net::SocketAddrV6::new(src, 0, 0, scope)).into())
        .map_err(io(format!("bind {src} on {ifname}")))?;
    if freebind {
        // Only the bind is free: sends name their source ([`send_v6_from`]), which the kernel
        // refuses while it is not a usable local address, as keepalived's send socket (no
        // IPV6_FREEBIND) is refused.
        s.set_freebind_v6(false)
            .map_err(io(format!("IPV6_FREEBIND off on {ifname}")))?;
    }
    s.set_multicast_hops_v6(255)
        .map_err(io(format!("IPV6_MULTICAST_HOPS on {ifname}")))?;
    s.set_unicast_hops_v6(255)
        .map_err(io(format!("IPV6_UNICAST_HOPS on {ifname}")))?;
    s.set_multicast_loop_v6(false)
        .map_err(io(format!("IPV6_MULTICAST_LOOP on {ifname}")))?;
    s.set_multicast_if_v6(ifindex)
        .map_err(io(format!("IPV6_MULTICAST_IF on {ifname}")))?;
    s.set_tclass_v6(0xc0)
        .map_err(io(format!("IPV6_TCLASS on {ifname}")))?;
    setsockopt(&s, sockopt::Ipv6RecvHopLimit, &true).map_err(|e| VrrpRuntimeError::Io {
        op: format!("IPV6_RECVHOPLIMIT on {ifname}"),
        source: e.into(),
    })?;
    setsockopt(&s, sockopt::Ipv6RecvPacketInfo, &true).map_err(|e| VrrpRuntimeError::Io {
        op: format!("IPV6_RECVPKTINFO on {ifname}"),
        source: e.into(),
    })?;
    for g in groups {
        s.join_multicast_v6(g, ifindex)
            .map_err(io(format!("join {g} on {ifname}")))?;
    }
    let _ = s.set_recv_buffer_size(1 << 20);
    Ok(s)
}

/// Receive one IPv6 VRRP message and rebuild a whole IPv6 packet in `buf` (40-byte header with
/// the source, destination and hop limit from the ancillary data, then the payload) so the
/// receive path handles both families alike; the packet's length. With `nowait`,
/// `WouldBlock` when none is queued.
pub(crate) fn recv_v6(s: &Socket, buf: &mut [u8], nowait: bool) -> std::io::Result<usize> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrIn6};
    use std::io::IoSliceMut;
    use std::os::fd::AsRawFd;
    let mut cmsg = nix::cmsg_space!(nix::libc::in6_pktinfo, nix::libc::c_int);
    let flags = if nowait {
        MsgFlags::MSG_DONTWAIT
    } else {
        MsgFlags::empty()
    };
    let (head, body) = buf.split_at_mut(40.min(buf.len()));
    let (n, src, dst, hops) = {
        let mut iov = [IoSliceMut::new(body)];
        let r = recvmsg::<SockaddrIn6>(s.as_raw_fd(), &mut iov, Some(&mut cmsg), flags)
            .map_err(std::io::Error::from)?;
        let mut dst = std::net::Ipv6Addr::UNSPECIFIED;
        let mut hops = 0u8;
        if let Ok(it) = r.cmsgs() {
            for c in it {
                match c {
                    ControlMessageOwned::Ipv6PacketInfo(pi) => {
                        dst = std::net::Ipv6Addr::from(pi.ipi6_addr.s6_addr);
                    }
                    ControlMessageOwned::Ipv6HopLimit(h) => {
                        hops = u8::try_from(h).unwrap_or(0);
                    }
                    _ => {}
                }
            }
        }
        let src = r
            .address
            .map(|a| a.ip())
            .unwrap_or(std::net::Ipv6Addr::UNSPECIFIED);
        (r.bytes, src, dst, hops)
    };
    let pl = u16::try_from(n).unwrap_or(u16::MAX);
    let mut h = [0u8; 40];
    h[0] = 0x60;
    h[4..6].copy_from_slice(&pl.to_be_bytes());
    h[6] = 112;
    h[7] = hops;
    h[8..24].copy_from_slice(&src.octets());
    h[24..40].copy_from_slice(&dst.octets());
    let hl = head.len();
    head.copy_from_slice(&h[..hl]);
    Ok(hl + n)
}
