//! Receive validation in RFC order (RFC 3768 §7.1, RFC 5798 §7.1) with keepalived's
//! additions (AH, unicast, `skip_check_adv_addr`). Each rejection is a distinct [`RxError`];
//! a rejected advert must never reach the state machine.

use std::net::{IpAddr, Ipv6Addr};

use crate::error::{RxError, WireError};
use crate::units::{AdvertInterval, Family, Version, Vrid};
use crate::wire::checksum::{IPPROTO_AH, IPPROTO_VRRP};
use crate::wire::ip::{self, ah_field, checksum_mode, AH_LEN, VRRP_TTL};
use crate::wire::vrrp::{auth_type, AdvertRepr, Packet, HEADER_LEN, TYPE_ADVERT};

/// Authentication configured for an instance (v2 only; v3 has none, RFC 5798 §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AuthConfig {
    /// No authentication.
    #[default]
    None,
    /// Simple password, zero padded to 8 bytes.
    Simple([u8; 8]),
    /// IPsec AH with HMAC-MD5-96 keyed by the zero-padded 8-byte password.
    Ah([u8; 8]),
}

impl AuthConfig {
    /// v2 auth type number.
    pub const fn type_number(&self) -> u8 {
        match self {
            AuthConfig::None => auth_type::NONE,
            AuthConfig::Simple(_) => auth_type::SIMPLE,
            AuthConfig::Ah(_) => auth_type::AH,
        }
    }
}

/// What the receiver knows to validate against.
#[derive(Debug, Clone, Copy)]
pub struct ReceiveContext<'a> {
    /// Our version.
    pub version: Version,
    /// Our family.
    pub family: Family,
    /// Our VRID.
    pub vrid: Vrid,
    /// Our authentication.
    pub auth: AuthConfig,
    /// Our advert interval (v2: must match; v3: mismatch is only reported).
    pub advert_interval: AdvertInterval,
    /// Our virtual addresses (for the address-list check).
    pub vips: &'a [IpAddr],
    /// Whether a differing address list rejects the advert ([`RxError::AddrCount`],
    /// [`RxError::AddrMissing`]); keepalived: always unless `skip_check_adv_addr` is set and
    /// the advert comes from the master we already follow (then it is only flagged).
    pub check_addresses: bool,
    /// Unicast peers are configured (TTL check off, destination must be unicast).
    pub unicast: bool,
    /// Configured unicast peers.
    pub unicast_peers: &'a [IpAddr],
    /// Reject unicast sources not in `unicast_peers` (keepalived `check_unicast_src`).
    pub check_unicast_src: bool,
    /// Accept/compute v3-over-IPv4 checksums without the pseudo-header.
    pub v3_checksum_as_v2: bool,
    /// Highest AH sequence number accepted so far (replay protection; 0 initially).
    pub ah_last_seq: u32,
}

/// A received packet as the socket layer hands it over.
#[derive(Debug, Clone, Copy)]
pub enum RxPacket<'a> {
    /// A whole IP packet, IPv4 or IPv6 by its version nibble (captures, tests, fuzzing).
    Ip(&'a [u8]),
    /// IPv4 raw socket: the whole IP packet.
    Ipv4(&'a [u8]),
    /// IPv6 raw socket: the VRRP payload; addresses and hop limit from ancillary data.
    Ipv6 {
        /// The VRRP message.
        payload: &'a [u8],
        /// Source address.
        src: Ipv6Addr,
        /// Destination address.
        dst: Ipv6Addr,
        /// Hop limit (IPV6_RECVHOPLIMIT).
        hop_limit: u8,
    },
}

/// An accepted advert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// TTL / hop limit.
    pub ttl: u8,
    /// The advert.
    pub advert: AdvertRepr,
    /// AH sequence number (to store as the new `ah_last_seq`).
    pub ah_seq: Option<u32>,
    /// Address list differs from ours, accepted because the check was off
    /// (`skip_check_adv_addr` for the known master); counted as `addr_list_err`.
    pub addr_list_mismatch: bool,
    /// v3 interval differs from ours (RFC 5798 §7.1 SHOULD log; not a rejection).
    pub interval_mismatch: bool,
}

/// Ethernet minimum payload: short packets arrive padded (keepalived allows for it).
const ETH_MIN_PAYLOAD: usize = 46;

fn padding_ok(expected: usize, got: usize) -> bool {
    // keepalived: padding to the 60-byte minimum frame, less any 4-byte VLAN tags.
    expected < ETH_MIN_PAYLOAD
        && expected < got
        && got <= ETH_MIN_PAYLOAD
        && (got - expected) % 4 == (ETH_MIN_PAYLOAD - expected) % 4
}

fn wire_to_rx(e: WireError) -> RxError {
    match e {
        WireError::Truncated { needed, got } => RxError::Truncated { needed, got },
        WireError::Protocol(p) => RxError::Protocol(p),
        other => RxError::BadIpHeader(other),
    }
}

/// Resolves [`RxPacket::Ip`] into the IPv4 or IPv6 form.
fn resolve_ip(pkt: RxPacket<'_>) -> Result<RxPacket<'_>, RxError> {
    let RxPacket::Ip(bytes) = pkt else {
        return Ok(pkt);
    };
    if bytes.first().map(|b| b >> 4) != Some(6) {
        return Ok(RxPacket::Ipv4(bytes));
    }
    let (h, layout) = ip::parse_ipv6(bytes).map_err(wire_to_rx)?;
    if layout.ip_total_len > bytes.len() {
        return Err(RxError::IpLength {
            ip_len: layout.ip_total_len,
            got: bytes.len(),
        });
    }
    let payload = bytes
        .get(layout.vrrp_offset..layout.ip_total_len)
        .unwrap_or(&[]);
    Ok(RxPacket::Ipv6 {
        payload,
        src: h.src,
        dst: h.dst,
        hop_limit: h.hop_limit,
    })
}

/// Validates a received advert against `ctx`, in RFC order (the crate's one receive check).
///
/// On success the advert may be given to the state machine: the returned view borrows `pkt`
/// (no allocation); [`AcceptedView::to_accepted`] decodes the owned [`Accepted`]. On failure
/// count [`RxError::counter`] and drop the packet.
pub fn validate<'a>(
    pkt: RxPacket<'a>,
    ctx: &ReceiveContext<'_>,
) -> Result<AcceptedView<'a>, RxError> {
    let b = basic(pkt, ctx)?;
    rest(b, ctx)
}

/// The checks keepalived 2.4.3 runs before it verifies an `auth_hmac` trailer
/// (`vrrp_check_packet`: AH presence, complete message, TTL, version): an advert passing
/// these goes to the HMAC verification, then to [`validate()`] for the rest (v2
/// authentication and interval, type, IP length, checksum, VRID, cast, addresses). So a
/// forged advert with a bad tag and, say, a bad checksum or interval is counted as
/// `auth_ext_invalid_hmac`, as keepalived counts it.
pub fn validate_basic(pkt: RxPacket<'_>, ctx: &ReceiveContext<'_>) -> Result<(), RxError> {
    basic(pkt, ctx).map(|_| ())
}

/// What [`basic`] established.
struct Basic<'a> {
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    ip_info: Option<(&'a [u8], Option<ip::AhHeader>, ip::Layout)>,
    p: Packet<&'a [u8]>,
}

fn basic<'a>(pkt: RxPacket<'a>, ctx: &ReceiveContext<'_>) -> Result<Basic<'a>, RxError> {
    // IP layer.
    let (src, dst, ttl, vrrp_bytes, ip_info) = match resolve_ip(pkt)? {
        // `resolve_ip` leaves no `Ip`; were one left, it is not IPv6.
        RxPacket::Ipv4(bytes) | RxPacket::Ip(bytes) => {
            if ctx.family != Family::V4 {
                return Err(RxError::Family);
            }
            let (h, ah, layout) = ip::parse_ipv4(bytes).map_err(wire_to_rx)?;
            // keepalived checks AH presence against the configuration first.
            let have_ah = h.protocol == IPPROTO_AH;
            let want_ah = matches!(ctx.auth, AuthConfig::Ah(_));
            if have_ah != want_ah {
                return Err(RxError::AuthTypeMismatch {
                    got: if have_ah {
                        auth_type::AH
                    } else {
                        auth_type::NONE
                    },
                    ours: ctx.auth.type_number(),
                });
            }
            let body = bytes.get(layout.vrrp_offset..).unwrap_or(&[]);
            (
                IpAddr::V4(h.src),
                IpAddr::V4(h.dst),
                h.ttl,
                body,
                Some((bytes, ah, layout)),
            )
        }
        RxPacket::Ipv6 {
            payload,
            src,
            dst,
            hop_limit,
        } => {
            if ctx.family != Family::V6 {
                return Err(RxError::Family);
            }
            (IpAddr::V6(src), IpAddr::V6(dst), hop_limit, payload, None)
        }
    };

    // Version first: its nibble decides the layout the length checks below assume, so a
    // foreign version is reported as what it is, not as a length error.
    if let Some(&vt) = vrrp_bytes.first() {
        if vt >> 4 != ctx.version.number() {
            return Err(RxError::Version {
                got: vt >> 4,
                ours: ctx.version.number(),
            });
        }
    }

    // Complete VRRP message present (RFC 5798 §7.1: MUST verify the packet length).
    if vrrp_bytes.len() < HEADER_LEN {
        return Err(RxError::Truncated {
            needed: HEADER_LEN,
            got: vrrp_bytes.len(),
        });
    }
    let pv = Packet::new_unchecked(vrrp_bytes, ctx.family);
    let expected = pv.message_len();
    if vrrp_bytes.len() < expected {
        return Err(RxError::AddrCountLength {
            count: pv.count(),
            len: vrrp_bytes.len(),
        });
    }
    if vrrp_bytes.len() != expected {
        let (exp_total, got_total) = match ip_info {
            Some((bytes, _, layout)) => (layout.vrrp_offset + expected, bytes.len()),
            None => (expected, vrrp_bytes.len()),
        };
        if !padding_ok(exp_total, got_total) {
            return Err(RxError::AddrCountLength {
                count: pv.count(),
                len: vrrp_bytes.len(),
            });
        }
    }
    let p = Packet::new_checked(&vrrp_bytes[..expected], ctx.family).map_err(wire_to_rx)?;

    // TTL / hop limit 255 (RFC 5798 §7.1), not for unicast (keepalived).
    if !ctx.unicast && ttl != VRRP_TTL {
        return Err(RxError::Ttl(ttl));
    }
    Ok(Basic {
        src,
        dst,
        ttl,
        ip_info,
        p,
    })
}

/// The checks after [`basic`] (and after keepalived's `auth_hmac` verification).
fn rest<'a>(b: Basic<'a>, ctx: &ReceiveContext<'_>) -> Result<AcceptedView<'a>, RxError> {
    let Basic {
        src,
        dst,
        ttl,
        ip_info,
        p,
    } = b;
    let mut ah_seq = None;
    if ctx.version == Version::V2 {
        // Authentication (RFC 3768 §7.1 / RFC 2338).
        let at = p.auth_type();
        if at > auth_type::AH {
            return Err(RxError::InvalidAuthType(at));
        }
        if at != ctx.auth.type_number() {
            return Err(RxError::AuthTypeMismatch {
                got: at,
                ours: ctx.auth.type_number(),
            });
        }
        match ctx.auth {
            AuthConfig::None => {}
            AuthConfig::Simple(pw) => {
                if !ct_eq(&p.auth_data(), &pw) {
                    return Err(RxError::AuthPassword);
                }
            }
            AuthConfig::Ah(key) => {
                let Some((bytes, Some(ah), layout)) = ip_info else {
                    return Err(RxError::AuthTypeMismatch {
                        got: at,
                        ours: auth_type::AH,
                    });
                };
                if ah.next_header != IPPROTO_VRRP {
                    return Err(RxError::AhNextHeader(ah.next_header));
                }
                let a = layout.ah_offset.unwrap_or(layout.ip_header_len);
                let icv = ip::ah_icv(
                    &key,
                    &bytes[..layout.ip_header_len],
                    &bytes[a..a + AH_LEN],
                    p.message(),
                    ctx.unicast,
                );
                if !ct_eq(&icv, &bytes[a + ah_field::ICV.start..a + ah_field::ICV.end]) {
                    return Err(RxError::AhIcv);
                }
                if let IpAddr::V4(s) = src {
                    if ah.spi != u32::from(s) {
                        return Err(RxError::AhSpi { spi: ah.spi });
                    }
                }
                if ah.seq <= ctx.ah_last_seq {
                    return Err(RxError::AhReplay {
                        seq: ah.seq,
                        last: ctx.ah_last_seq,
                    });
                }
                ah_seq = Some(ah.seq);
            }
        }
        // RFC 3768 §7.1: MUST verify the Adver Interval matches ours.
        if let AdvertInterval::V2Secs(ours) = ctx.advert_interval {
            if p.adver_int_v2() != ours {
                return Err(RxError::IntervalMismatch {
                    got: p.adver_int_v2(),
                    ours,
                });
            }
        }
    }
    // Type.
    if p.packet_type() != TYPE_ADVERT {
        return Err(RxError::Type(p.packet_type()));
    }
    // IPv4 total length vs received.
    if let Some((bytes, _, layout)) = ip_info {
        if layout.ip_total_len != bytes.len() && !padding_ok(layout.ip_total_len, bytes.len()) {
            return Err(RxError::IpLength {
                ip_len: layout.ip_total_len,
                got: bytes.len(),
            });
        }
    }
    // Checksum (RFC 3768 §7.1 / RFC 5798 §7.1).
    // With `v3_checksum_as_v2` keepalived (2.2.8 to 2.4.3) does not check a received v3
    // checksum at all (vrrp_check_packet: the error is ignored when the flag is set).
    let skip = ctx.v3_checksum_as_v2 && ctx.version == Version::V3;
    let mode = checksum_mode(ctx.version, src, dst, ctx.v3_checksum_as_v2);
    if !skip && !p.verify_checksum(mode) {
        return Err(RxError::Checksum);
    }
    // VRID (RFC 5798 §7.1: MUST verify the VRID is configured on the interface).
    if p.vrid() != ctx.vrid.get() {
        return Err(RxError::VridMismatch(p.vrid()));
    }
    // Unicast vs multicast destination.
    let is_mcast = dst.is_multicast();
    if is_mcast == ctx.unicast {
        return Err(RxError::CastMismatch {
            expected_unicast: ctx.unicast,
        });
    }
    if ctx.unicast && ctx.check_unicast_src && !ctx.unicast_peers.contains(&src) {
        return Err(RxError::UnknownUnicastSource(src));
    }

    // Address list (RFC 3768 §7.1 / RFC 5798 §7.1): keepalived 2.2.7 discards an advert whose
    // address count or addresses differ from ours ("unexpected ip number count"), unless
    // `skip_check_adv_addr` and the advert is from the master we follow; then it is accepted
    // and only flagged. Compared on the raw bytes: every configured VIP must appear.
    // Skipped, only a differing count is flagged (the addresses are not compared).
    let count_differs = usize::from(p.count()) != ctx.vips.len();
    if ctx.check_addresses {
        if count_differs {
            return Err(RxError::AddrCount {
                got: p.count(),
                ours: ctx.vips.len(),
            });
        }
        let list = p.addr_bytes();
        let alen = ctx.family.addr_len();
        let missing = ctx.vips.iter().find(|v| match v {
            IpAddr::V4(a) if alen == 4 => !list.chunks_exact(4).any(|c| c == a.octets()),
            IpAddr::V6(a) if alen == 16 => !list.chunks_exact(16).any(|c| c == a.octets()),
            _ => true,
        });
        if let Some(&v) = missing {
            return Err(RxError::AddrMissing(v));
        }
    }
    let addr_list_mismatch = count_differs;
    let interval_mismatch = match ctx.advert_interval {
        AdvertInterval::V3(a) => ctx.version == Version::V3 && p.adver_int_v3() != a,
        AdvertInterval::V2Secs(_) => false,
    };
    Ok(AcceptedView {
        src,
        dst,
        ttl,
        packet: p,
        ah_seq,
        addr_list_mismatch,
        interval_mismatch,
    })
}

/// An accepted advert still borrowing the receive buffer (no allocation); see
/// [`validate()`]. [`AcceptedView::to_accepted`] makes the owned [`Accepted`].
#[derive(Debug, Clone)]
pub struct AcceptedView<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// TTL / hop limit.
    pub ttl: u8,
    /// The validated VRRP message (exactly its length, padding stripped).
    pub packet: Packet<&'a [u8]>,
    /// AH sequence number.
    pub ah_seq: Option<u32>,
    /// Address list differs from ours, accepted because the check was off.
    pub addr_list_mismatch: bool,
    /// v3 interval differs from ours (reported only).
    pub interval_mismatch: bool,
}

impl AcceptedView<'_> {
    /// Priority of the sender.
    pub fn priority(&self) -> crate::units::Priority {
        self.packet.priority()
    }
    /// Decode into the owned form (allocates the address list).
    pub fn to_accepted(&self) -> Result<Accepted, RxError> {
        let advert = AdvertRepr::parse(&self.packet).map_err(|e| match e {
            WireError::Type(t) => RxError::Type(t),
            WireError::AuthType(t) => RxError::InvalidAuthType(t),
            WireError::ZeroVrid => RxError::VridMismatch(0),
            WireError::Version(v) => RxError::Version { got: v, ours: v },
            other => wire_to_rx(other),
        })?;
        Ok(Accepted {
            src: self.src,
            dst: self.dst,
            ttl: self.ttl,
            advert,
            ah_seq: self.ah_seq,
            addr_list_mismatch: self.addr_list_mismatch,
            interval_mismatch: self.interval_mismatch,
        })
    }
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
