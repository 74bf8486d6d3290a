//! The optional authentication section (RFC 5880 §4.2–4.4, §6.7): simple password, keyed and
//! meticulous keyed MD5, keyed and meticulous keyed SHA1.
//!
//! keepalived (2.2.7 and 2.4.3) implements none of them: it sends no auth section and discards
//! every packet with the A bit set. A [`crate::fsm::Session`] without an [`AuthKey`] does the
//! same; with one it signs and verifies per RFC 5880 §6.7.

use md5::{Digest as _, Md5};
use sha1::Sha1;

use crate::error::{RxError, WireError};
use crate::wire::field;

/// Auth Type values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthType {
    /// 1 Simple Password.
    SimplePassword,
    /// 2 Keyed MD5.
    KeyedMd5,
    /// 3 Meticulous Keyed MD5.
    MeticulousKeyedMd5,
    /// 4 Keyed SHA1.
    KeyedSha1,
    /// 5 Meticulous Keyed SHA1.
    MeticulousKeyedSha1,
}

impl AuthType {
    /// From the Auth Type byte (0 and 6..=255 are reserved).
    pub const fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => AuthType::SimplePassword,
            2 => AuthType::KeyedMd5,
            3 => AuthType::MeticulousKeyedMd5,
            4 => AuthType::KeyedSha1,
            5 => AuthType::MeticulousKeyedSha1,
            _ => return None,
        })
    }
    /// The Auth Type byte.
    pub const fn as_u8(self) -> u8 {
        match self {
            AuthType::SimplePassword => 1,
            AuthType::KeyedMd5 => 2,
            AuthType::MeticulousKeyedMd5 => 3,
            AuthType::KeyedSha1 => 4,
            AuthType::MeticulousKeyedSha1 => 5,
        }
    }
    /// Meticulous variants need a strictly increasing sequence number.
    pub const fn meticulous(self) -> bool {
        matches!(
            self,
            AuthType::MeticulousKeyedMd5 | AuthType::MeticulousKeyedSha1
        )
    }
    /// Digest length (16 MD5, 20 SHA1, 0 simple password).
    pub const fn digest_len(self) -> usize {
        match self {
            AuthType::SimplePassword => 0,
            AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5 => MD5_LEN,
            AuthType::KeyedSha1 | AuthType::MeticulousKeyedSha1 => SHA1_LEN,
        }
    }
    /// Longest key or password accepted (16, or 20 for SHA1).
    pub const fn max_key_len(self) -> usize {
        match self {
            AuthType::KeyedSha1 | AuthType::MeticulousKeyedSha1 => SHA1_LEN,
            _ => 16,
        }
    }
}

/// MD5 digest length.
pub const MD5_LEN: usize = 16;
/// SHA1 digest length.
pub const SHA1_LEN: usize = 20;
/// Auth Len of a keyed MD5 section.
pub const MD5_SECTION_LEN: u8 = 24;
/// Auth Len of a keyed SHA1 section.
pub const SHA1_SECTION_LEN: u8 = 28;
/// Offset of the digest inside a keyed section (type, len, key id, reserved, sequence).
pub const DIGEST_OFFSET: usize = 8;

/// A secret of 1 to 20 bytes (simple password: at most 16), stored inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Password {
    bytes: [u8; 20],
    len: u8,
}

impl core::fmt::Debug for Password {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Password({} bytes)", self.len)
    }
}

impl Password {
    /// A secret of 1..=20 bytes.
    pub fn new(s: &[u8]) -> Result<Self, WireError> {
        if s.is_empty() || s.len() > SHA1_LEN {
            return Err(WireError::PasswordLength(s.len()));
        }
        let mut bytes = [0; 20];
        bytes[..s.len()].copy_from_slice(s);
        Ok(Password {
            bytes,
            len: s.len() as u8,
        })
    }
    /// The secret.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// A parsed authentication section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Simple Password (1..=16 bytes).
    SimplePassword {
        /// Auth Key ID.
        key_id: u8,
        /// The password.
        password: Password,
    },
    /// Keyed or meticulous keyed MD5.
    Md5 {
        /// Meticulous (type 3) rather than keyed (type 2).
        meticulous: bool,
        /// Auth Key ID.
        key_id: u8,
        /// Sequence Number.
        seq: u32,
        /// Auth Digest.
        digest: [u8; MD5_LEN],
    },
    /// Keyed or meticulous keyed SHA1.
    Sha1 {
        /// Meticulous (type 5) rather than keyed (type 4).
        meticulous: bool,
        /// Auth Key ID.
        key_id: u8,
        /// Sequence Number.
        seq: u32,
        /// Auth Hash.
        digest: [u8; SHA1_LEN],
    },
}

impl Auth {
    /// The Auth Type.
    pub const fn auth_type(&self) -> AuthType {
        match self {
            Auth::SimplePassword { .. } => AuthType::SimplePassword,
            Auth::Md5 {
                meticulous: false, ..
            } => AuthType::KeyedMd5,
            Auth::Md5 { .. } => AuthType::MeticulousKeyedMd5,
            Auth::Sha1 {
                meticulous: false, ..
            } => AuthType::KeyedSha1,
            Auth::Sha1 { .. } => AuthType::MeticulousKeyedSha1,
        }
    }
    /// Auth Key ID.
    pub const fn key_id(&self) -> u8 {
        match self {
            Auth::SimplePassword { key_id, .. }
            | Auth::Md5 { key_id, .. }
            | Auth::Sha1 { key_id, .. } => *key_id,
        }
    }
    /// Sequence number of keyed sections.
    pub const fn seq(&self) -> Option<u32> {
        match self {
            Auth::SimplePassword { .. } => None,
            Auth::Md5 { seq, .. } | Auth::Sha1 { seq, .. } => Some(*seq),
        }
    }
    /// Auth Len of this section.
    pub fn section_len(&self) -> usize {
        match self {
            Auth::SimplePassword { password, .. } => 3 + password.as_bytes().len(),
            Auth::Md5 { .. } => usize::from(MD5_SECTION_LEN),
            Auth::Sha1 { .. } => usize::from(SHA1_SECTION_LEN),
        }
    }

    /// Parse a section (`sec` starts at Auth Type and is exactly Auth Len long, as
    /// [`crate::wire::Packet::auth_section`] returns it).
    pub fn parse(sec: &[u8]) -> Result<Self, WireError> {
        let (ty, len) = match sec {
            [t, l, ..] => (*t, *l),
            _ => {
                return Err(WireError::Truncated {
                    needed: 2,
                    got: sec.len(),
                })
            }
        };
        let bad_len = WireError::AuthLength { auth_type: ty, len };
        if usize::from(len) != sec.len() {
            return Err(bad_len);
        }
        let kind = AuthType::from_u8(ty).ok_or(WireError::AuthType(ty))?;
        let seq_of = |s: &[u8]| u32::from_be_bytes([s[4], s[5], s[6], s[7]]);
        match kind {
            AuthType::SimplePassword => {
                if !(4..=19).contains(&len) {
                    return Err(bad_len);
                }
                Ok(Auth::SimplePassword {
                    key_id: sec[2],
                    password: Password::new(&sec[3..]).map_err(|_| bad_len)?,
                })
            }
            AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5 => {
                if len != MD5_SECTION_LEN {
                    return Err(bad_len);
                }
                let mut digest = [0; MD5_LEN];
                digest.copy_from_slice(&sec[DIGEST_OFFSET..]);
                Ok(Auth::Md5 {
                    meticulous: kind.meticulous(),
                    key_id: sec[2],
                    seq: seq_of(sec),
                    digest,
                })
            }
            AuthType::KeyedSha1 | AuthType::MeticulousKeyedSha1 => {
                if len != SHA1_SECTION_LEN {
                    return Err(bad_len);
                }
                let mut digest = [0; SHA1_LEN];
                digest.copy_from_slice(&sec[DIGEST_OFFSET..]);
                Ok(Auth::Sha1 {
                    meticulous: kind.meticulous(),
                    key_id: sec[2],
                    seq: seq_of(sec),
                    digest,
                })
            }
        }
    }

    /// Write the section at the start of `buf` (reserved byte 0).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let len = self.section_len();
        if buf.len() < len {
            return Err(WireError::Truncated {
                needed: len,
                got: buf.len(),
            });
        }
        buf[0] = self.auth_type().as_u8();
        buf[1] = len as u8;
        buf[2] = self.key_id();
        match self {
            Auth::SimplePassword { password, .. } => {
                let pw = password.as_bytes();
                if pw.len() > 16 {
                    return Err(WireError::PasswordLength(pw.len()));
                }
                buf[3..len].copy_from_slice(pw);
            }
            Auth::Md5 { seq, digest, .. } => {
                buf[3] = 0;
                buf[4..8].copy_from_slice(&seq.to_be_bytes());
                buf[DIGEST_OFFSET..len].copy_from_slice(digest);
            }
            Auth::Sha1 { seq, digest, .. } => {
                buf[3] = 0;
                buf[4..8].copy_from_slice(&seq.to_be_bytes());
                buf[DIGEST_OFFSET..len].copy_from_slice(digest);
            }
        }
        Ok(len)
    }
}

/// A configured authentication key (one per session; RFC 5880 bfd.AuthType plus a key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthKey {
    /// Type used on transmit and required on receive.
    pub auth_type: AuthType,
    /// Key ID used on transmit and required on receive.
    pub key_id: u8,
    secret: Password,
}

impl AuthKey {
    /// A key; the secret must be 1..=16 bytes (1..=20 for SHA1).
    pub fn new(auth_type: AuthType, key_id: u8, secret: &[u8]) -> Result<Self, WireError> {
        if secret.len() > auth_type.max_key_len() {
            return Err(WireError::PasswordLength(secret.len()));
        }
        Ok(AuthKey {
            auth_type,
            key_id,
            secret: Password::new(secret)?,
        })
    }
    /// The secret.
    pub fn secret(&self) -> &[u8] {
        self.secret.as_bytes()
    }

    /// The section to transmit with sequence number `seq` (digest zero until
    /// [`crate::wire::Repr::emit_signed`] fills it).
    pub fn section(&self, seq: u32) -> Auth {
        match self.auth_type {
            AuthType::SimplePassword => Auth::SimplePassword {
                key_id: self.key_id,
                password: self.secret,
            },
            AuthType::KeyedMd5 | AuthType::MeticulousKeyedMd5 => Auth::Md5 {
                meticulous: self.auth_type.meticulous(),
                key_id: self.key_id,
                seq,
                digest: [0; MD5_LEN],
            },
            AuthType::KeyedSha1 | AuthType::MeticulousKeyedSha1 => Auth::Sha1 {
                meticulous: self.auth_type.meticulous(),
                key_id: self.key_id,
                seq,
                digest: [0; SHA1_LEN],
            },
        }
    }
}

/// Receive-side sequence state (bfd.RcvAuthSeq, bfd.AuthSeqKnown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RxAuthState {
    /// Last accepted sequence number.
    pub rcv_seq: u32,
    /// Whether `rcv_seq` is meaningful.
    pub known: bool,
}

/// The digest of `pkt` (a whole control packet with a keyed section) computed with the key in
/// the digest field, per RFC 5880 §6.7.3/§6.7.4. `None` when there is no keyed section.
fn compute(pkt: &[u8], key: &[u8]) -> Option<([u8; SHA1_LEN], usize)> {
    let ty = AuthType::from_u8(*pkt.get(field::AUTH)?)?;
    let dlen = ty.digest_len();
    if dlen == 0 {
        return None;
    }
    let start = field::AUTH + DIGEST_OFFSET;
    let end = start + dlen;
    if pkt.len() < end {
        return None;
    }
    let mut padded = [0u8; SHA1_LEN];
    let k = &key[..key.len().min(dlen)];
    padded[..k.len()].copy_from_slice(k);
    let mut out = [0u8; SHA1_LEN];
    if dlen == MD5_LEN {
        let mut h = Md5::new();
        h.update(&pkt[..start]);
        h.update(&padded[..dlen]);
        h.update(&pkt[end..]);
        out[..MD5_LEN].copy_from_slice(&h.finalize());
    } else {
        let mut h = Sha1::new();
        h.update(&pkt[..start]);
        h.update(&padded[..dlen]);
        h.update(&pkt[end..]);
        out.copy_from_slice(&h.finalize());
    }
    Some((out, dlen))
}

/// Fill the digest of a keyed MD5/SHA1 section in `pkt` (the whole emitted packet). No-op for
/// packets without a keyed section.
pub fn sign(pkt: &mut [u8], key: &[u8]) {
    if let Some((d, dlen)) = compute(pkt, key) {
        let start = field::AUTH + DIGEST_OFFSET;
        pkt[start..start + dlen].copy_from_slice(&d[..dlen]);
    }
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Verify a received packet's auth section against `key` (RFC 5880 §6.7.2–6.7.4). `pkt` is the
/// control packet limited to its Length field; `section` is its parsed section; `detect_mult`
/// the packet's Detect Mult (the sequence window is 3 × Detect Mult). Updates `state` on
/// success only.
pub fn verify(
    pkt: &[u8],
    section: &Auth,
    key: &AuthKey,
    detect_mult: u8,
    state: &mut RxAuthState,
) -> Result<(), RxError> {
    let got = section.auth_type();
    if got != key.auth_type {
        return Err(RxError::AuthTypeMismatch {
            got: got.as_u8(),
            want: key.auth_type.as_u8(),
        });
    }
    if section.key_id() != key.key_id {
        return Err(RxError::AuthKeyId(section.key_id()));
    }
    match section {
        Auth::SimplePassword { password, .. } => {
            if ct_eq(password.as_bytes(), key.secret()) {
                Ok(())
            } else {
                Err(RxError::AuthPassword)
            }
        }
        Auth::Md5 { seq, digest, .. } => {
            check_seq(*seq, got.meticulous(), detect_mult, state)?;
            check_digest(pkt, digest, key)?;
            state.rcv_seq = *seq;
            state.known = true;
            Ok(())
        }
        Auth::Sha1 { seq, digest, .. } => {
            check_seq(*seq, got.meticulous(), detect_mult, state)?;
            check_digest(pkt, digest, key)?;
            state.rcv_seq = *seq;
            state.known = true;
            Ok(())
        }
    }
}

fn check_seq(seq: u32, meticulous: bool, mult: u8, st: &RxAuthState) -> Result<(), RxError> {
    if !st.known {
        return Ok(());
    }
    let ahead = seq.wrapping_sub(st.rcv_seq);
    let window = 3 * u32::from(mult);
    let lo = u32::from(meticulous);
    if ahead < lo || ahead > window {
        return Err(RxError::AuthSequence {
            got: seq,
            last: st.rcv_seq,
        });
    }
    Ok(())
}

fn check_digest(pkt: &[u8], digest: &[u8], key: &AuthKey) -> Result<(), RxError> {
    match compute(pkt, key.secret()) {
        Some((d, dlen)) if ct_eq(&d[..dlen], digest) => Ok(()),
        _ => Err(RxError::AuthDigest),
    }
}
