//! Internet checksum (RFC 1071) and the VRRP pseudo-headers.

use std::net::IpAddr;

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;
/// IP protocol number of the IPsec Authentication Header.
pub const IPPROTO_AH: u8 = 51;

/// One's-complement sum of `data` added to `acc` (partially folded, never overflows).
#[inline]
pub fn sum(data: &[u8], acc: u32) -> u32 {
    // 32-bit words into a 64-bit accumulator, then fold: same result as 16-bit words
    // (RFC 1071 §2 (B): the sum is independent of word size modulo end-around carry).
    let mut wide = u64::from(acc);
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        wide += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    let rest = words.remainder();
    let mut pairs = rest.chunks_exact(2);
    for c in &mut pairs {
        wide += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = pairs.remainder() {
        wide += u64::from(*last) << 8;
    }
    while wide > 0xffff_ffff {
        wide = (wide & 0xffff_ffff) + (wide >> 32);
    }
    let mut v = wide as u32;
    // Keep headroom for callers that add small values.
    while v > 0x00ff_ffff {
        v = (v & 0xffff) + (v >> 16);
    }
    v
}

/// Fold a 32-bit accumulator into the 16-bit one's-complement checksum (complemented).
#[inline]
pub fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// Pseudo-header sum for VRRPv3 (RFC 5798 §5.2.8): IPv4 (RFC 768 style) or IPv6 (RFC 8200 §8.1)
/// with next header 112. Mixed families contribute nothing (callers never mix them).
#[inline]
pub fn pseudo_header_sum(src: IpAddr, dst: IpAddr, len: usize) -> u32 {
    let len = len as u32;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let acc = sum(&s.octets(), 0);
            let acc = sum(&d.octets(), acc);
            acc.wrapping_add(u32::from(IPPROTO_VRRP))
                .wrapping_add(len & 0xffff)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let acc = sum(&s.octets(), 0);
            let acc = sum(&d.octets(), acc);
            acc.wrapping_add(len >> 16)
                .wrapping_add(len & 0xffff)
                .wrapping_add(u32::from(IPPROTO_VRRP))
        }
        _ => 0,
    }
}

/// How the VRRP checksum is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumMode {
    /// Over the VRRP message only (VRRPv2, RFC 3768 §5.3.8; and VRRPv3-over-IPv4 with
    /// keepalived's `v3_checksum_as_v2` interop switch).
    MessageOnly,
    /// Including the IP pseudo-header with these source/destination addresses (VRRPv3,
    /// RFC 5798 §5.2.8).
    PseudoHeader {
        /// IP source address.
        src: IpAddr,
        /// IP destination address used in the pseudo-header.
        dst: IpAddr,
    },
}

impl ChecksumMode {
    /// Checksum accumulator seed for a message of `len` bytes.
    #[inline]
    pub fn seed(self, len: usize) -> u32 {
        match self {
            ChecksumMode::MessageOnly => 0,
            ChecksumMode::PseudoHeader { src, dst } => pseudo_header_sum(src, dst, len),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves the RFC 1071 example sums correctly (including an odd trailing byte).
    #[test]
    fn rfc1071_example() {
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(&data, 0)), !0xddf2);
        assert_eq!(fold(sum(&[0xff], 0)), !0xff00);
    }
}
