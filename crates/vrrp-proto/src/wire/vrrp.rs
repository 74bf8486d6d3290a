//! The VRRP message itself (RFC 3768 §5.1 for v2, RFC 5798 §5.1 for v3), smoltcp style:
//! [`Packet`] is a zero-copy view whose accessors cannot panic once [`Packet::new_checked`]
//! succeeded, and [`AdvertRepr`] holds only the semantic fields (count, checksum and padding
//! are derived on emit).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::checksum::{fold, sum, ChecksumMode};
use crate::error::WireError;
use crate::units::{AdvertInterval, Centisecs, Family, Priority, Version, Vrid};

/// Field offsets of the VRRP header.
pub mod field {
    /// Version (high nibble) and type (low nibble).
    pub const VER_TYPE: usize = 0;
    /// Virtual router ID.
    pub const VRID: usize = 1;
    /// Priority.
    pub const PRIORITY: usize = 2;
    /// Count of IP addresses.
    pub const COUNT: usize = 3;
    /// v2: authentication type.
    pub const AUTH_TYPE: usize = 4;
    /// v2: advertisement interval in seconds.
    pub const ADVER_INT_V2: usize = 5;
    /// v3: 4 reserved bits + 12-bit Max Adver Int in centiseconds.
    pub const ADVER_INT_V3: core::ops::Range<usize> = 4..6;
    /// Checksum.
    pub const CHECKSUM: core::ops::Range<usize> = 6..8;
    /// First address.
    pub const ADDRS: usize = 8;
}

/// Length of the fixed VRRP header.
pub const HEADER_LEN: usize = 8;
/// Length of the v2 authentication data trailer.
pub const V2_AUTH_LEN: usize = 8;
/// The 12 bits of [`field::ADVER_INT_V3`] holding Max Adver Int (the top 4 are reserved).
pub const ADVER_INT_V3_MASK: u16 = 0x0fff;
/// The only VRRP packet type (ADVERTISEMENT).
pub const TYPE_ADVERT: u8 = 1;

/// v2 authentication types (RFC 3768 §5.3.6, RFC 2338 for AH).
pub mod auth_type {
    /// No authentication.
    pub const NONE: u8 = 0;
    /// Simple text password.
    pub const SIMPLE: u8 = 1;
    /// IPsec AH (HMAC-MD5-96), RFC 2338.
    pub const AH: u8 = 2;
}

/// A read/write view of a VRRP message.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
    family: Family,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap without checking (accessors may panic on short buffers; use [`Self::new_checked`]).
    #[inline]
    pub const fn new_unchecked(buffer: T, family: Family) -> Self {
        Packet { buffer, family }
    }

    /// Wrap and check the buffer holds the fixed header, `count` addresses of `family` and, for
    /// v2, the 8-byte authentication data; after this no accessor can panic.
    #[inline]
    pub fn new_checked(buffer: T, family: Family) -> Result<Self, WireError> {
        let p = Self::new_unchecked(buffer, family);
        p.check_len()?;
        Ok(p)
    }

    /// The length check [`Self::new_checked`] performs.
    #[inline]
    pub fn check_len(&self) -> Result<(), WireError> {
        let data = self.buffer.as_ref();
        if data.len() < HEADER_LEN {
            return Err(WireError::Truncated {
                needed: HEADER_LEN,
                got: data.len(),
            });
        }
        let needed = self.message_len();
        if data.len() < needed {
            return Err(WireError::Truncated {
                needed,
                got: data.len(),
            });
        }
        Ok(())
    }

    /// Length the message must have according to its count (and v2 auth trailer). Versions
    /// other than 2 are treated as having no trailer.
    #[inline]
    pub fn message_len(&self) -> usize {
        let d = self.buffer.as_ref();
        let count = d.get(field::COUNT).copied().unwrap_or(0) as usize;
        let trailer = if self.version_number() == 2 {
            V2_AUTH_LEN
        } else {
            0
        };
        HEADER_LEN + count * self.family.addr_len() + trailer
    }

    /// Consume, returning the buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }
    /// The address family this view decodes addresses for.
    #[inline]
    pub fn family(&self) -> Family {
        self.family
    }
    /// Version nibble.
    #[inline]
    pub fn version_number(&self) -> u8 {
        self.buffer.as_ref().first().copied().unwrap_or(0) >> 4
    }
    /// Type nibble.
    #[inline]
    pub fn packet_type(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }
    /// VRID octet.
    #[inline]
    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }
    /// Priority.
    #[inline]
    pub fn priority(&self) -> Priority {
        Priority(self.buffer.as_ref()[field::PRIORITY])
    }
    /// Count of addresses.
    #[inline]
    pub fn count(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT]
    }
    /// v2 authentication type octet.
    #[inline]
    pub fn auth_type(&self) -> u8 {
        self.buffer.as_ref()[field::AUTH_TYPE]
    }
    /// v2 interval octet (seconds).
    #[inline]
    pub fn adver_int_v2(&self) -> u8 {
        self.buffer.as_ref()[field::ADVER_INT_V2]
    }
    /// v3 Max Adver Int (12 bits, centiseconds).
    #[inline]
    pub fn adver_int_v3(&self) -> Centisecs {
        Centisecs(be16(&self.buffer.as_ref()[field::ADVER_INT_V3]) & ADVER_INT_V3_MASK)
    }
    /// v3 reserved bits.
    #[inline]
    pub fn reserved_v3(&self) -> u8 {
        self.buffer.as_ref()[field::ADVER_INT_V3.start] >> 4
    }
    /// Checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::CHECKSUM])
    }
    /// The address list bytes.
    #[inline]
    pub fn addr_bytes(&self) -> &[u8] {
        let n = self.count() as usize * self.family.addr_len();
        &self.buffer.as_ref()[field::ADDRS..field::ADDRS + n]
    }
    /// Iterate the addresses.
    #[inline]
    pub fn addrs(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let fam = self.family;
        self.addr_bytes()
            .chunks_exact(fam.addr_len())
            .map(move |c| addr_from(fam, c))
    }
    /// v2 authentication data (8 bytes after the addresses).
    #[inline]
    pub fn auth_data(&self) -> [u8; V2_AUTH_LEN] {
        let start = field::ADDRS + self.count() as usize * self.family.addr_len();
        let mut out = [0u8; V2_AUTH_LEN];
        if let Some(s) = self.buffer.as_ref().get(start..start + V2_AUTH_LEN) {
            out.copy_from_slice(s);
        }
        out
    }
    /// The bytes the checksum covers (the whole message, excluding any padding).
    #[inline]
    pub fn message(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.message_len()]
    }
    /// Verify the checksum under `mode`.
    #[inline]
    pub fn verify_checksum(&self, mode: ChecksumMode) -> bool {
        let m = self.message();
        fold(sum(m, mode.seed(m.len()))) == 0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    #[inline]
    fn set_checksum(&mut self, v: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&v.to_be_bytes());
    }
    /// Recompute and store the checksum under `mode`.
    #[inline]
    pub fn fill_checksum(&mut self, mode: ChecksumMode) {
        self.set_checksum(0);
        let c = {
            let m = self.message();
            fold(sum(m, mode.seed(m.len())))
        };
        self.set_checksum(c);
    }
}

/// A big-endian 16-bit field (`c` is a two-byte field range of a checked buffer).
#[inline]
fn be16(c: &[u8]) -> u16 {
    u16::from_be_bytes([c[0], c[1]])
}

fn addr_from(fam: Family, c: &[u8]) -> IpAddr {
    match fam {
        Family::V4 => {
            let mut o = [0u8; 4];
            o.copy_from_slice(&c[..4]);
            IpAddr::V4(Ipv4Addr::from(o))
        }
        Family::V6 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(&c[..16]);
            IpAddr::V6(Ipv6Addr::from(o))
        }
    }
}

/// v2 authentication carried in the VRRP message (RFC 3768 §5.3.6 / RFC 2338 §5.3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Auth {
    /// Auth type 0 (also the only choice for v3). The 8 trailer bytes (v2) are zero.
    None,
    /// Auth type 1: the password, zero padded to 8 bytes.
    Simple([u8; 8]),
    /// Auth type 2: IPsec AH (in front of the VRRP message) carries the ICV; the VRRP trailer
    /// is zero (as keepalived sends it).
    Ah,
}

impl Auth {
    /// Wire auth type.
    pub const fn type_number(&self) -> u8 {
        match self {
            Auth::None => auth_type::NONE,
            Auth::Simple(_) => auth_type::SIMPLE,
            Auth::Ah => auth_type::AH,
        }
    }
    /// Zero-padded 8-byte key/password from a config string (keepalived truncates to 8).
    pub fn pad_password(pw: &[u8]) -> [u8; 8] {
        let mut out = [0u8; 8];
        let n = pw.len().min(8);
        out[..n].copy_from_slice(&pw[..n]);
        out
    }
}

/// The semantic content of an advertisement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AdvertRepr {
    /// VRID.
    pub vrid: Vrid,
    /// Priority of the sender.
    pub priority: Priority,
    /// Advertisement interval (its variant fixes the version).
    pub interval: AdvertInterval,
    /// v2 authentication (always [`Auth::None`] for v3).
    pub auth: Auth,
    /// The virtual addresses (all of one family).
    pub addrs: Vec<IpAddr>,
}

impl AdvertRepr {
    /// Version (from the interval's type).
    pub fn version(&self) -> Version {
        self.interval.version()
    }

    /// Parse a checked packet. Does not verify the checksum (see [`Packet::verify_checksum`]);
    /// rejects a version other than 2/3, a type other than ADVERT, VRID 0, an unknown v2 auth
    /// type and a non-zero v3 auth trailer cannot exist.
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<Self, WireError> {
        p.check_len()?;
        let version = Version::from_number(p.version_number())
            .ok_or(WireError::Version(p.version_number()))?;
        if p.packet_type() != TYPE_ADVERT {
            return Err(WireError::Type(p.packet_type()));
        }
        let vrid = Vrid::new(p.vrid()).ok_or(WireError::ZeroVrid)?;
        let (interval, auth) = match version {
            Version::V2 => {
                let auth = match p.auth_type() {
                    auth_type::NONE => Auth::None,
                    auth_type::SIMPLE => Auth::Simple(p.auth_data()),
                    auth_type::AH => Auth::Ah,
                    other => return Err(WireError::AuthType(other)),
                };
                (AdvertInterval::V2Secs(p.adver_int_v2()), auth)
            }
            Version::V3 => (AdvertInterval::V3(p.adver_int_v3()), Auth::None),
        };
        Ok(AdvertRepr {
            vrid,
            priority: p.priority(),
            interval,
            auth,
            addrs: p.addrs().collect(),
        })
    }

    /// Bytes [`Self::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        let alen = self.family().addr_len();
        let trailer = if self.version() == Version::V2 {
            V2_AUTH_LEN
        } else {
            0
        };
        HEADER_LEN + self.addrs.len() * alen + trailer
    }

    /// Family of the address list (IPv4 when empty).
    pub fn family(&self) -> Family {
        match self.addrs.first() {
            Some(IpAddr::V6(_)) => Family::V6,
            _ => Family::V4,
        }
    }

    /// Write the message into `buf` (at least [`Self::buffer_len`] bytes) and fill the
    /// checksum under `mode`. Errors when more than 255 addresses, mixed families, or a short
    /// buffer are given.
    pub fn emit(&self, buf: &mut [u8], mode: ChecksumMode) -> Result<usize, WireError> {
        let len = self.buffer_len();
        if buf.len() < len {
            return Err(WireError::Truncated {
                needed: len,
                got: buf.len(),
            });
        }
        let count = u8::try_from(self.addrs.len())
            .map_err(|_| WireError::TooManyAddrs(self.addrs.len()))?;
        let fam = self.family();
        let buf = &mut buf[..len];
        buf[field::VER_TYPE] = (self.version().number() << 4) | TYPE_ADVERT;
        buf[field::VRID] = self.vrid.get();
        buf[field::PRIORITY] = self.priority.get();
        buf[field::COUNT] = count;
        match self.interval {
            AdvertInterval::V2Secs(s) => {
                buf[field::AUTH_TYPE] = self.auth.type_number();
                buf[field::ADVER_INT_V2] = s;
            }
            AdvertInterval::V3(c) => {
                if c.0 > Centisecs::MAX_V3.0 {
                    return Err(WireError::IntervalRange(c.0));
                }
                buf[field::ADVER_INT_V3].copy_from_slice(&c.0.to_be_bytes());
            }
        }
        buf[field::CHECKSUM].fill(0);
        let mut off = field::ADDRS;
        for a in &self.addrs {
            match (fam, a) {
                (Family::V4, IpAddr::V4(v4)) => {
                    let o = v4.octets();
                    buf[off..off + o.len()].copy_from_slice(&o);
                    off += o.len();
                }
                (Family::V6, IpAddr::V6(v6)) => {
                    let o = v6.octets();
                    buf[off..off + o.len()].copy_from_slice(&o);
                    off += o.len();
                }
                _ => return Err(WireError::MixedFamilies),
            }
        }
        if self.version() == Version::V2 {
            let data = match self.auth {
                Auth::None | Auth::Ah => [0u8; V2_AUTH_LEN],
                Auth::Simple(d) => d,
            };
            buf[off..off + V2_AUTH_LEN].copy_from_slice(&data);
        }
        let mut p = Packet::new_unchecked(buf, fam);
        p.fill_checksum(mode);
        Ok(len)
    }

    /// Emit into a new vector.
    pub fn to_bytes(&self, mode: ChecksumMode) -> Result<Vec<u8>, WireError> {
        let mut v = vec![0u8; self.buffer_len()];
        self.emit(&mut v, mode)?;
        Ok(v)
    }
}
