//! The `auth_hmac` authentication trailer of keepalived 2.4.3 (draft-cassen-vrrp-auth-hmac):
//! 28 bytes appended after the VRRP message (after the v2 authentication data), for VRRPv2 and
//! v3, IPv4 and IPv6.
//!
//! ```text
//!  0               1               2               3
//!  +---------------+---------------+-------------------------------+
//!  |   ext_type    |    key_id     |        reserved (0)           |
//!  +---------------+---------------+-------------------------------+
//!  |              seconds (UTC since the Unix epoch)               |
//!  +-------------------------------+-------------------------------+
//!  |   subseconds (1/65536 s)      |          counter              |
//!  +-------------------------------+-------------------------------+
//!  |                                                               |
//!  +            HMAC-SHA256 truncated to 128 bits                  +
//!  |                        (16 bytes)                             |
//!  +---------------------------------------------------------------+
//! ```
//!
//! The HMAC covers a 20-byte pseudo-header ([`PseudoHeader`]: family 4/6, VRRP version, VRID,
//! zero, source address zero-padded to 16 bytes), then the VRRP message with its checksum field
//! read as zero, then the first 12 trailer bytes, then 16 zero bytes in place of the tag. The IP
//! header is not covered (so the TTL and, for unicast, the destination may differ per copy).
//!
//! smoltcp style: [`Trailer`] is a view whose accessors cannot panic once
//! [`Trailer::new_checked`] succeeded; [`TrailerRepr`] holds the semantic fields.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::WireError;
use crate::units::{Family, Version, Vrid};

use std::net::IpAddr;

/// Field offsets of the trailer.
pub mod field {
    use core::ops::Range;
    /// Scheme identifier ([`super::EXT_TYPE_HMAC_SHA256`]).
    pub const EXT_TYPE: usize = 0;
    /// Key id selecting the verifying key (1..=255).
    pub const KEY_ID: usize = 1;
    /// Reserved, zero on send; a non-zero value is malformed.
    pub const RESERVED: Range<usize> = 2..4;
    /// UTC seconds since the Unix epoch (the high 32 bits of the sequence).
    pub const SEC: Range<usize> = 4..8;
    /// Binary fraction of a second, 1/65536 s (bits 16..32 of the sequence).
    pub const SUBSEC: Range<usize> = 8..10;
    /// Tie breaker within one timestamp (the low 16 bits of the sequence).
    pub const CTR: Range<usize> = 10..12;
    /// The truncated HMAC.
    pub const HMAC: Range<usize> = 12..28;
}

/// Length of the trailer.
pub const TRAILER_LEN: usize = 28;
/// Length of the truncated HMAC-SHA256 tag.
pub const TAG_LEN: usize = 16;
/// The trailer bytes in front of the tag (covered by the HMAC as sent).
pub const PREFIX_LEN: usize = field::HMAC.start;
/// Scheme 1: HMAC-SHA256 truncated to 128 bits (the only one keepalived 2.4.3 defines).
pub const EXT_TYPE_HMAC_SHA256: u8 = 1;
/// Length of the pseudo-header bound into the HMAC.
pub const PSEUDO_LEN: usize = 20;
/// Offset of the VRRP checksum field, read as zero by the HMAC.
const CHECKSUM: core::ops::Range<usize> = super::vrrp::field::CHECKSUM;

/// The 64-bit time-based sequence number: seconds (32) | subseconds (16) | counter (16),
/// ordered with RFC 1982 serial number arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Seq(pub u64);

impl Seq {
    /// Assemble from the three wire fields.
    pub const fn from_parts(sec: u32, subsec: u16, ctr: u16) -> Self {
        Seq(((sec as u64) << 32) | ((subsec as u64) << 16) | ctr as u64)
    }
    /// A clock reading (time since the Unix epoch) with the counter cleared, as keepalived's
    /// `clock_seq()`: the seconds truncated to 32 bits, `nanos * 2^16 / 10^9` as subseconds.
    pub fn from_clock(since_epoch: core::time::Duration) -> Self {
        let sec = since_epoch.as_secs() as u32; // wraps in 2106 like the wire field
        let subsec = ((u64::from(since_epoch.subsec_nanos()) << 16) / 1_000_000_000) as u16;
        Seq::from_parts(sec, subsec, 0)
    }
    /// Seconds field.
    pub const fn sec(self) -> u32 {
        (self.0 >> 32) as u32
    }
    /// Subseconds field.
    pub const fn subsec(self) -> u16 {
        (self.0 >> 16) as u16
    }
    /// Counter field.
    pub const fn ctr(self) -> u16 {
        self.0 as u16
    }
    /// RFC 1982 "after": `self - other`, read as signed, is positive.
    pub const fn after(self, other: Seq) -> bool {
        (self.0.wrapping_sub(other.0) as i64) > 0
    }
}

/// A read/write view of the 28-byte trailer.
#[derive(Debug, Clone)]
pub struct Trailer<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Trailer<T> {
    /// Wrap without checking (accessors may panic on short buffers; use [`Self::new_checked`]).
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Self {
        Trailer { buffer }
    }
    /// Wrap and check the buffer holds [`TRAILER_LEN`] bytes; after this no accessor panics.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let t = Self::new_unchecked(buffer);
        t.check_len()?;
        Ok(t)
    }
    /// The length check [`Self::new_checked`] performs.
    #[inline]
    pub fn check_len(&self) -> Result<(), WireError> {
        let got = self.buffer.as_ref().len();
        if got < TRAILER_LEN {
            return Err(WireError::Truncated {
                needed: TRAILER_LEN,
                got,
            });
        }
        Ok(())
    }
    /// Consume, returning the buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }
    /// Scheme identifier.
    #[inline]
    pub fn ext_type(&self) -> u8 {
        self.buffer.as_ref()[field::EXT_TYPE]
    }
    /// Key id.
    #[inline]
    pub fn key_id(&self) -> u8 {
        self.buffer.as_ref()[field::KEY_ID]
    }
    /// Reserved field.
    #[inline]
    pub fn reserved(&self) -> u16 {
        let d = &self.buffer.as_ref()[field::RESERVED];
        u16::from_be_bytes([d[0], d[1]])
    }
    /// Seconds field.
    #[inline]
    pub fn sec(&self) -> u32 {
        let d = &self.buffer.as_ref()[field::SEC];
        u32::from_be_bytes([d[0], d[1], d[2], d[3]])
    }
    /// Subseconds field.
    #[inline]
    pub fn subsec(&self) -> u16 {
        let d = &self.buffer.as_ref()[field::SUBSEC];
        u16::from_be_bytes([d[0], d[1]])
    }
    /// Counter field.
    #[inline]
    pub fn ctr(&self) -> u16 {
        let d = &self.buffer.as_ref()[field::CTR];
        u16::from_be_bytes([d[0], d[1]])
    }
    /// The 64-bit sequence number.
    #[inline]
    pub fn seq(&self) -> Seq {
        Seq::from_parts(self.sec(), self.subsec(), self.ctr())
    }
    /// The 12 bytes in front of the tag.
    #[inline]
    pub fn prefix(&self) -> &[u8] {
        &self.buffer.as_ref()[..PREFIX_LEN]
    }
    /// The truncated HMAC.
    #[inline]
    pub fn tag(&self) -> &[u8] {
        &self.buffer.as_ref()[field::HMAC]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Trailer<T> {
    /// Set the scheme identifier.
    #[inline]
    pub fn set_ext_type(&mut self, v: u8) {
        self.buffer.as_mut()[field::EXT_TYPE] = v;
    }
    /// Set the key id.
    #[inline]
    pub fn set_key_id(&mut self, v: u8) {
        self.buffer.as_mut()[field::KEY_ID] = v;
    }
    /// Set the reserved field.
    #[inline]
    pub fn set_reserved(&mut self, v: u16) {
        self.buffer.as_mut()[field::RESERVED].copy_from_slice(&v.to_be_bytes());
    }
    /// Set the three sequence fields.
    #[inline]
    pub fn set_seq(&mut self, s: Seq) {
        let b = self.buffer.as_mut();
        b[field::SEC].copy_from_slice(&s.sec().to_be_bytes());
        b[field::SUBSEC].copy_from_slice(&s.subsec().to_be_bytes());
        b[field::CTR].copy_from_slice(&s.ctr().to_be_bytes());
    }
    /// Set the tag.
    #[inline]
    pub fn set_tag(&mut self, tag: &[u8; TAG_LEN]) {
        self.buffer.as_mut()[field::HMAC].copy_from_slice(tag);
    }
}

/// The semantic content of a trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TrailerRepr {
    /// Scheme identifier.
    pub ext_type: u8,
    /// Key id.
    pub key_id: u8,
    /// Reserved field (zero on send; kept so a parse/emit round trip is exact).
    pub reserved: u16,
    /// Sequence number.
    pub seq: Seq,
    /// Truncated HMAC.
    pub tag: [u8; TAG_LEN],
}

impl TrailerRepr {
    /// Parse a trailer (structure only: the scheme, reserved field and tag are judged by
    /// [`crate::auth_hmac::AuthHmac::verify`]).
    pub fn parse<T: AsRef<[u8]>>(t: &Trailer<T>) -> Result<Self, WireError> {
        t.check_len()?;
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(t.tag());
        Ok(TrailerRepr {
            ext_type: t.ext_type(),
            key_id: t.key_id(),
            reserved: t.reserved(),
            seq: t.seq(),
            tag,
        })
    }
    /// Bytes [`Self::emit`] writes.
    pub const fn buffer_len(&self) -> usize {
        TRAILER_LEN
    }
    /// Write into a checked view.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, t: &mut Trailer<T>) -> Result<(), WireError> {
        t.check_len()?;
        t.set_ext_type(self.ext_type);
        t.set_key_id(self.key_id);
        t.set_reserved(self.reserved);
        t.set_seq(self.seq);
        t.set_tag(&self.tag);
        Ok(())
    }
    /// The 12 trailer bytes in front of the tag.
    pub fn prefix(&self) -> [u8; PREFIX_LEN] {
        let mut b = [0u8; TRAILER_LEN];
        let mut t = Trailer::new_unchecked(&mut b[..]);
        t.set_ext_type(self.ext_type);
        t.set_key_id(self.key_id);
        t.set_reserved(self.reserved);
        t.set_seq(self.seq);
        let mut p = [0u8; PREFIX_LEN];
        p.copy_from_slice(&b[..PREFIX_LEN]);
        p
    }
    /// Emit into a new array.
    pub fn to_bytes(&self) -> [u8; TRAILER_LEN] {
        let mut b = [0u8; TRAILER_LEN];
        b[..PREFIX_LEN].copy_from_slice(&self.prefix());
        b[field::HMAC].copy_from_slice(&self.tag);
        b
    }
}

/// The pseudo-header bound into the HMAC: it ties the tag to the address family, the VRRP
/// version, the VRID and the sender's source address (the IP header itself is not covered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PseudoHeader {
    /// VRRP version of the instance.
    pub version: Version,
    /// VRID of the instance.
    pub vrid: Vrid,
    /// Source address of the advert (the sender's; the family follows from it).
    pub src: IpAddr,
}

impl PseudoHeader {
    /// Address family (from the source address).
    pub fn family(&self) -> Family {
        match self.src {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
    /// The 20 bytes: family (4 or 6), version, VRID, zero, then the address, zero padded.
    pub fn to_bytes(&self) -> [u8; PSEUDO_LEN] {
        let mut b = [0u8; PSEUDO_LEN];
        b[1] = self.version.number();
        b[2] = self.vrid.get();
        match self.src {
            IpAddr::V4(a) => {
                b[0] = 4;
                b[4..8].copy_from_slice(&a.octets());
            }
            IpAddr::V6(a) => {
                b[0] = 6;
                b[4..20].copy_from_slice(&a.octets());
            }
        }
        b
    }
}

/// The full (untruncated) HMAC-SHA256 over the draft's input: `pseudo`, the VRRP `message`
/// (header, addresses, v2 auth data; no trailer) with its checksum field read as zero, the
/// trailer `prefix`, and 16 zero bytes for the tag. A `message` shorter than the VRRP header
/// is hashed as it is (it can then never verify against a real sender's tag).
pub fn hmac_sha256(
    key: &[u8],
    pseudo: &[u8; PSEUDO_LEN],
    message: &[u8],
    prefix: &[u8; PREFIX_LEN],
) -> Hmac<Sha256> {
    // HMAC accepts keys of any length (longer than the block are hashed, as keepalived does).
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => <Hmac<Sha256> as Mac>::new(&Default::default()),
    };
    mac.update(pseudo);
    if message.len() >= CHECKSUM.end {
        mac.update(&message[..CHECKSUM.start]);
        mac.update(&[0u8; 2]);
        mac.update(&message[CHECKSUM.end..]);
    } else {
        mac.update(message);
    }
    mac.update(prefix);
    mac.update(&[0u8; TAG_LEN]);
    mac
}

/// The 128-bit tag a sender puts in the trailer.
pub fn compute_tag(
    key: &[u8],
    pseudo: &[u8; PSEUDO_LEN],
    message: &[u8],
    prefix: &[u8; PREFIX_LEN],
) -> [u8; TAG_LEN] {
    let full = hmac_sha256(key, pseudo, message, prefix)
        .finalize()
        .into_bytes();
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(&full[..TAG_LEN]);
    tag
}

/// Constant-time check of a received `tag` (hmac's `verify_truncated_left`, backed by
/// `subtle`). A tag of the wrong length never verifies.
pub fn verify_tag(
    key: &[u8],
    pseudo: &[u8; PSEUDO_LEN],
    message: &[u8],
    prefix: &[u8; PREFIX_LEN],
    tag: &[u8],
) -> bool {
    tag.len() == TAG_LEN
        && hmac_sha256(key, pseudo, message, prefix)
            .verify_truncated_left(tag)
            .is_ok()
}

/// Length of the VRRP message a payload's header announces, as keepalived reads it
/// (`expected_vrrp_pkt_len`): 8 + count × address length, plus the 8-byte v2 authentication
/// data over IPv4 only (keepalived sends and expects VRRPv2 over IPv6 without it). `None` when
/// the payload is shorter than the VRRP header.
pub fn announced_message_len(payload: &[u8], family: Family) -> Option<usize> {
    let vf = *payload.get(super::vrrp::field::VER_TYPE)?;
    let count = usize::from(*payload.get(super::vrrp::field::COUNT)?);
    if payload.len() < super::vrrp::HEADER_LEN {
        return None;
    }
    let auth = if vf >> 4 == 2 && family == Family::V4 {
        super::vrrp::V2_AUTH_LEN
    } else {
        0
    };
    Some(super::vrrp::HEADER_LEN + count * family.addr_len() + auth)
}

/// Split a received VRRP payload (IPv4: after the IP header and any AH; IPv6: the socket
/// payload) into the message and the trailer, as keepalived does: a trailer is present exactly
/// when the payload is `message_len` + [`TRAILER_LEN`] bytes long (Ethernet padding cannot
/// reach that size). `message_len` is what the header announces ([`announced_message_len`]).
pub fn split_trailer(payload: &[u8], message_len: usize) -> (&[u8], Option<Trailer<&[u8]>>) {
    if payload.len() == message_len + TRAILER_LEN {
        let (m, t) = payload.split_at(message_len);
        (m, Some(Trailer::new_unchecked(t)))
    } else {
        (payload, None)
    }
}
