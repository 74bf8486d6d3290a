//! The IP layer around an advert: IPv4 header (keepalived sends it itself with IP_HDRINCL),
//! IPv6 header (built by the kernel; parsed for captures and tests), and the IPsec AH header
//! keepalived inserts for v2 `auth_type AH` (RFC 2402 layout, HMAC-MD5-96, SPI = source
//! address, sequence number incremented per advert).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hmac::{Hmac, Mac};
use md5::Md5;

use super::checksum::{fold, sum, ChecksumMode, IPPROTO_AH, IPPROTO_VRRP};
use super::vrrp::{AdvertRepr, Packet};
use crate::error::WireError;
use crate::units::{Family, Version};

/// IPv4 header field offsets.
pub mod ipv4_field {
    /// Version and IHL.
    pub const VER_IHL: usize = 0;
    /// DSCP/ECN (TOS).
    pub const TOS: usize = 1;
    /// Total length.
    pub const LENGTH: core::ops::Range<usize> = 2..4;
    /// Identification.
    pub const IDENT: core::ops::Range<usize> = 4..6;
    /// Flags and fragment offset.
    pub const FLG_OFF: core::ops::Range<usize> = 6..8;
    /// Time to live.
    pub const TTL: usize = 8;
    /// Protocol.
    pub const PROTOCOL: usize = 9;
    /// Header checksum.
    pub const CHECKSUM: core::ops::Range<usize> = 10..12;
    /// Source.
    pub const SRC: core::ops::Range<usize> = 12..16;
    /// Destination.
    pub const DST: core::ops::Range<usize> = 16..20;
}

/// IPsec AH field offsets (RFC 2402 §2).
pub mod ah_field {
    /// Next header.
    pub const NEXT_HEADER: usize = 0;
    /// Payload length in 32-bit words minus 2.
    pub const PAYLOAD_LEN: usize = 1;
    /// Security parameters index.
    pub const SPI: core::ops::Range<usize> = 4..8;
    /// Sequence number.
    pub const SEQ: core::ops::Range<usize> = 8..12;
    /// Integrity check value (HMAC-MD5 truncated to 96 bits).
    pub const ICV: core::ops::Range<usize> = 12..24;
}

/// IPv4 header length without options.
pub const IPV4_HEADER_LEN: usize = 20;
/// IPv6 fixed header length.
pub const IPV6_HEADER_LEN: usize = 40;
/// Length of the AH header keepalived sends (fixed part + 96-bit ICV).
pub const AH_LEN: usize = 24;
/// AH payload length field value for a 96-bit ICV ((24 / 4) - 2).
pub const AH_PAYLOAD_LEN: u8 = 4;
/// TTL / hop limit VRRP requires (RFC 5798 §5.1.1.3 / §5.1.2.3).
pub const VRRP_TTL: u8 = 255;
/// keepalived's TOS for adverts (network control).
pub const VRRP_TOS: u8 = 0xc0;
/// IPv4 VRRP multicast group.
pub const MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// IPv6 VRRP multicast group.
pub const MCAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// The semantic IPv4 header of an advert (no options: IHL 5 on emit; options are skipped on
/// parse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Header {
    /// TOS octet (keepalived: 0xc0).
    pub tos: u8,
    /// Identification (keepalived increments it per advert).
    pub ident: u16,
    /// Flags + fragment offset as on the wire.
    pub flags_frag: u16,
    /// TTL.
    pub ttl: u8,
    /// Protocol (112 VRRP, or 51 when AH follows).
    pub protocol: u8,
    /// Source.
    pub src: Ipv4Addr,
    /// Destination.
    pub dst: Ipv4Addr,
}

/// The semantic IPv6 header of an advert (next header must be VRRP; no extension headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Header {
    /// Traffic class.
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
    /// Hop limit.
    pub hop_limit: u8,
    /// Source.
    pub src: Ipv6Addr,
    /// Destination.
    pub dst: Ipv6Addr,
}

/// IPsec AH header as keepalived sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AhHeader {
    /// Next header (112).
    pub next_header: u8,
    /// SPI (keepalived: the source IPv4 address).
    pub spi: u32,
    /// Sequence number (anti-replay; keepalived starts at 1 and increments per advert).
    pub seq: u32,
    /// HMAC-MD5-96 integrity check value.
    pub icv: [u8; 12],
}

/// Either IP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpHeader {
    /// IPv4.
    V4(Ipv4Header),
    /// IPv6.
    V6(Ipv6Header),
}

impl IpHeader {
    /// Source address.
    pub fn src(&self) -> IpAddr {
        match self {
            IpHeader::V4(h) => IpAddr::V4(h.src),
            IpHeader::V6(h) => IpAddr::V6(h.src),
        }
    }
    /// Destination address.
    pub fn dst(&self) -> IpAddr {
        match self {
            IpHeader::V4(h) => IpAddr::V4(h.dst),
            IpHeader::V6(h) => IpAddr::V6(h.dst),
        }
    }
    /// TTL / hop limit.
    pub fn ttl(&self) -> u8 {
        match self {
            IpHeader::V4(h) => h.ttl,
            IpHeader::V6(h) => h.hop_limit,
        }
    }
    /// Family.
    pub fn family(&self) -> Family {
        match self {
            IpHeader::V4(_) => Family::V4,
            IpHeader::V6(_) => Family::V6,
        }
    }
}

/// Where the pieces of a received IP packet carrying an advert are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// IP header length (IPv4 IHL*4 or 40).
    pub ip_header_len: usize,
    /// Offset of the AH header, if any.
    pub ah_offset: Option<usize>,
    /// Offset of the VRRP message.
    pub vrrp_offset: usize,
    /// Total length the IP header claims (IPv4 total length / 40 + IPv6 payload length).
    pub ip_total_len: usize,
}

#[inline]
fn be16(d: &[u8], r: core::ops::Range<usize>) -> u16 {
    let mut o = [0u8; 2];
    o.copy_from_slice(&d[r]);
    u16::from_be_bytes(o)
}
#[inline]
fn be32(d: &[u8], r: core::ops::Range<usize>) -> u32 {
    let mut o = [0u8; 4];
    o.copy_from_slice(&d[r]);
    u32::from_be_bytes(o)
}
fn v4(d: &[u8], r: core::ops::Range<usize>) -> Ipv4Addr {
    Ipv4Addr::from(be32(d, r))
}
fn v6(d: &[u8], start: usize) -> Ipv6Addr {
    let mut o = [0u8; 16];
    o.copy_from_slice(&d[start..start + 16]);
    Ipv6Addr::from(o)
}

/// Parse an IPv4 header (and AH if the protocol is 51). Checks version, IHL, the header
/// checksum and that the buffer holds the headers; does not look at the VRRP message.
#[inline]
pub fn parse_ipv4(d: &[u8]) -> Result<(Ipv4Header, Option<AhHeader>, Layout), WireError> {
    if d.len() < IPV4_HEADER_LEN {
        return Err(WireError::Truncated {
            needed: IPV4_HEADER_LEN,
            got: d.len(),
        });
    }
    if d[ipv4_field::VER_IHL] >> 4 != 4 {
        return Err(WireError::IpVersion(d[0] >> 4));
    }
    let ihl = usize::from(d[ipv4_field::VER_IHL] & 0x0f) * 4;
    if ihl < IPV4_HEADER_LEN {
        return Err(WireError::IpHeaderLen(ihl));
    }
    if d.len() < ihl {
        return Err(WireError::Truncated {
            needed: ihl,
            got: d.len(),
        });
    }
    if fold(sum(&d[..ihl], 0)) != 0 {
        return Err(WireError::IpChecksum);
    }
    let h = Ipv4Header {
        tos: d[ipv4_field::TOS],
        ident: be16(d, ipv4_field::IDENT),
        flags_frag: be16(d, ipv4_field::FLG_OFF),
        ttl: d[ipv4_field::TTL],
        protocol: d[ipv4_field::PROTOCOL],
        src: v4(d, ipv4_field::SRC),
        dst: v4(d, ipv4_field::DST),
    };
    let total = usize::from(be16(d, ipv4_field::LENGTH));
    let (ah, ah_offset, vrrp_offset) = match h.protocol {
        IPPROTO_VRRP => (None, None, ihl),
        IPPROTO_AH => {
            let a = d.get(ihl..ihl + AH_LEN).ok_or(WireError::Truncated {
                needed: ihl + AH_LEN,
                got: d.len(),
            })?;
            if a[ah_field::PAYLOAD_LEN] != AH_PAYLOAD_LEN {
                return Err(WireError::AhLength(a[ah_field::PAYLOAD_LEN]));
            }
            let mut icv = [0u8; 12];
            icv.copy_from_slice(&a[ah_field::ICV]);
            let ah = AhHeader {
                next_header: a[ah_field::NEXT_HEADER],
                spi: be32(a, ah_field::SPI),
                seq: be32(a, ah_field::SEQ),
                icv,
            };
            (Some(ah), Some(ihl), ihl + AH_LEN)
        }
        p => return Err(WireError::Protocol(p)),
    };
    Ok((
        h,
        ah,
        Layout {
            ip_header_len: ihl,
            ah_offset,
            vrrp_offset,
            ip_total_len: total,
        },
    ))
}

/// Parse an IPv6 header whose next header is VRRP.
pub fn parse_ipv6(d: &[u8]) -> Result<(Ipv6Header, Layout), WireError> {
    if d.len() < IPV6_HEADER_LEN {
        return Err(WireError::Truncated {
            needed: IPV6_HEADER_LEN,
            got: d.len(),
        });
    }
    if d[0] >> 4 != 6 {
        return Err(WireError::IpVersion(d[0] >> 4));
    }
    let vtf = be32(d, 0..4);
    if d[6] != IPPROTO_VRRP {
        return Err(WireError::Protocol(d[6]));
    }
    let h = Ipv6Header {
        traffic_class: ((vtf >> 20) & 0xff) as u8,
        flow_label: vtf & 0x000f_ffff,
        hop_limit: d[7],
        src: v6(d, 8),
        dst: v6(d, 24),
    };
    let plen = usize::from(be16(d, 4..6));
    Ok((
        h,
        Layout {
            ip_header_len: IPV6_HEADER_LEN,
            ah_offset: None,
            vrrp_offset: IPV6_HEADER_LEN,
            ip_total_len: IPV6_HEADER_LEN + plen,
        },
    ))
}

/// HMAC-MD5-96 ICV over the IPv4 header with mutable fields zeroed (TOS, flags/fragment,
/// checksum; TTL too when `unicast`, as keepalived does), the AH header with the ICV zeroed,
/// and the VRRP message — keepalived's `vrrp_in_chk_ipsecah` / `vrrp_update_pkt`.
pub fn ah_icv(key: &[u8; 8], ip_header: &[u8], ah: &[u8], vrrp: &[u8], unicast: bool) -> [u8; 12] {
    let mut mac = match <Hmac<Md5> as Mac>::new_from_slice(key) {
        Ok(m) => m,
        // HMAC accepts keys of any length; this branch cannot be taken.
        Err(_) => return [0u8; 12],
    };
    let mut ip = [0u8; 60];
    let n = ip_header.len().min(60);
    ip[..n].copy_from_slice(&ip_header[..n]);
    if n >= IPV4_HEADER_LEN {
        ip[ipv4_field::TOS] = 0;
        ip[ipv4_field::FLG_OFF].copy_from_slice(&[0, 0]);
        ip[ipv4_field::CHECKSUM].copy_from_slice(&[0, 0]);
        if unicast {
            ip[ipv4_field::TTL] = 0;
        }
    }
    mac.update(&ip[..n]);
    let mut a = [0u8; AH_LEN];
    let m = ah.len().min(AH_LEN);
    a[..m].copy_from_slice(&ah[..m]);
    a[ah_field::ICV].copy_from_slice(&[0u8; 12]);
    mac.update(&a);
    mac.update(vrrp);
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; 12];
    out.copy_from_slice(&full[..12]);
    out
}

/// A whole advert as an IP packet: IP header, optional AH, VRRP message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IpAdvert {
    /// IP header.
    pub ip: IpHeader,
    /// AH header (v2 over IPv4 with AH authentication only).
    pub ah: Option<AhHeader>,
    /// The advert.
    pub advert: AdvertRepr,
}

impl IpAdvert {
    /// Parse a whole IPv4 or IPv6 packet (by the version nibble). Checks structure only: no
    /// TTL, VRRP checksum or authentication check (that is [`crate::validate()`]).
    pub fn parse(d: &[u8]) -> Result<Self, WireError> {
        let (ip, ah, layout) = match d.first().map(|b| b >> 4) {
            Some(4) => {
                let (h, ah, l) = parse_ipv4(d)?;
                (IpHeader::V4(h), ah, l)
            }
            Some(6) => {
                let (h, l) = parse_ipv6(d)?;
                (IpHeader::V6(h), None, l)
            }
            Some(v) => return Err(WireError::IpVersion(v)),
            None => return Err(WireError::Truncated { needed: 1, got: 0 }),
        };
        let end = layout.ip_total_len.min(d.len());
        let body = d.get(layout.vrrp_offset..end).ok_or(WireError::Truncated {
            needed: layout.vrrp_offset,
            got: end,
        })?;
        let pkt = Packet::new_checked(body, ip.family())?;
        let advert = AdvertRepr::parse(&pkt)?;
        Ok(IpAdvert { ip, ah, advert })
    }

    /// The checksum mode for this packet: v2 message-only; v3 pseudo-header over this packet's
    /// addresses unless `v3_checksum_as_v2` (IPv4 only).
    #[inline]
    pub fn checksum_mode(&self, v3_checksum_as_v2: bool) -> ChecksumMode {
        checksum_mode(
            self.advert.version(),
            self.ip.src(),
            self.ip.dst(),
            v3_checksum_as_v2,
        )
    }

    /// Emit the whole packet. The IPv4 header checksum, lengths and the VRRP checksum are
    /// computed; with AH and `ah_key` the ICV is computed (keepalived's rules, `unicast` zeroes
    /// the TTL in the ICV input), without a key the stored ICV is written.
    pub fn emit(
        &self,
        mode: ChecksumMode,
        ah_key: Option<&[u8; 8]>,
        unicast: bool,
    ) -> Result<Vec<u8>, WireError> {
        let vlen = self.advert.buffer_len();
        match &self.ip {
            IpHeader::V4(h) => {
                let ah_len = if self.ah.is_some() { AH_LEN } else { 0 };
                let total = IPV4_HEADER_LEN + ah_len + vlen;
                let mut out = vec![0u8; total];
                out[ipv4_field::VER_IHL] = 0x45;
                out[ipv4_field::TOS] = h.tos;
                let tl = u16::try_from(total)
                    .map_err(|_| WireError::TooManyAddrs(self.advert.addrs.len()))?;
                out[ipv4_field::LENGTH].copy_from_slice(&tl.to_be_bytes());
                out[ipv4_field::IDENT].copy_from_slice(&h.ident.to_be_bytes());
                out[ipv4_field::FLG_OFF].copy_from_slice(&h.flags_frag.to_be_bytes());
                out[ipv4_field::TTL] = h.ttl;
                out[ipv4_field::PROTOCOL] = if self.ah.is_some() {
                    IPPROTO_AH
                } else {
                    IPPROTO_VRRP
                };
                out[ipv4_field::SRC].copy_from_slice(&h.src.octets());
                out[ipv4_field::DST].copy_from_slice(&h.dst.octets());
                let c = fold(sum(&out[..IPV4_HEADER_LEN], 0));
                out[ipv4_field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
                let voff = IPV4_HEADER_LEN + ah_len;
                self.advert.emit(&mut out[voff..], mode)?;
                if let Some(ah) = &self.ah {
                    let a = IPV4_HEADER_LEN;
                    out[a + ah_field::NEXT_HEADER] = ah.next_header;
                    out[a + ah_field::PAYLOAD_LEN] = AH_PAYLOAD_LEN;
                    out[a + ah_field::SPI.start..a + ah_field::SPI.end]
                        .copy_from_slice(&ah.spi.to_be_bytes());
                    out[a + ah_field::SEQ.start..a + ah_field::SEQ.end]
                        .copy_from_slice(&ah.seq.to_be_bytes());
                    let icv = match ah_key {
                        Some(k) => ah_icv(k, &out[..a], &out[a..voff], &out[voff..], unicast),
                        None => ah.icv,
                    };
                    out[a + ah_field::ICV.start..a + ah_field::ICV.end].copy_from_slice(&icv);
                }
                Ok(out)
            }
            IpHeader::V6(h) => {
                let mut out = vec![0u8; IPV6_HEADER_LEN + vlen];
                let vtf = (6u32 << 28)
                    | (u32::from(h.traffic_class) << 20)
                    | (h.flow_label & 0x000f_ffff);
                out[0..4].copy_from_slice(&vtf.to_be_bytes());
                let pl = u16::try_from(vlen)
                    .map_err(|_| WireError::TooManyAddrs(self.advert.addrs.len()))?;
                out[4..6].copy_from_slice(&pl.to_be_bytes());
                out[6] = IPPROTO_VRRP;
                out[7] = h.hop_limit;
                out[8..24].copy_from_slice(&h.src.octets());
                out[24..40].copy_from_slice(&h.dst.octets());
                self.advert.emit(&mut out[IPV6_HEADER_LEN..], mode)?;
                Ok(out)
            }
        }
    }
}

/// Rewrites the IP identification of an emitted IPv4 packet without AH (whose ICV would
/// cover it) and recomputes its header checksum: a sender keeps one emitted advert and
/// restamps it for each send. Fails, leaving `packet` alone, on anything but a plain IPv4 header
/// (version 4, IHL 5) or an AH packet.
pub fn restamp_ipv4_ident(packet: &mut [u8], ident: u16) -> Result<(), WireError> {
    let Some(h) = packet.get_mut(..IPV4_HEADER_LEN) else {
        return Err(WireError::Truncated {
            needed: IPV4_HEADER_LEN,
            got: packet.len(),
        });
    };
    if h[ipv4_field::VER_IHL] >> 4 != 4 {
        return Err(WireError::IpVersion(h[ipv4_field::VER_IHL] >> 4));
    }
    let ihl = usize::from(h[ipv4_field::VER_IHL] & 0x0f) * 4;
    if ihl != IPV4_HEADER_LEN || h[ipv4_field::PROTOCOL] == IPPROTO_AH {
        return Err(WireError::IpHeaderLen(ihl));
    }
    h[ipv4_field::IDENT].copy_from_slice(&ident.to_be_bytes());
    h[ipv4_field::CHECKSUM].copy_from_slice(&[0, 0]);
    let c = fold(sum(h, 0));
    h[ipv4_field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
    Ok(())
}

/// Checksum mode for an advert of `version` between `src` and `dst`.
#[inline]
pub fn checksum_mode(
    version: Version,
    src: IpAddr,
    dst: IpAddr,
    v3_checksum_as_v2: bool,
) -> ChecksumMode {
    match version {
        Version::V2 => ChecksumMode::MessageOnly,
        Version::V3 if v3_checksum_as_v2 && src.is_ipv4() => ChecksumMode::MessageOnly,
        Version::V3 => ChecksumMode::PseudoHeader { src, dst },
    }
}
