//! Reception checks that need no session (RFC 5880 §6.8.6, in its order, plus keepalived's
//! extra checks selected by [`RxPolicy`]). Session-specific checks (TTL, authentication,
//! AdminDown) are made by [`crate::fsm::Session`]; the session lookup itself is the caller's
//! (by Your Discriminator, or by addresses when it is zero).

use crate::error::{RxError, WireError};
use crate::wire::{field, flag, Diag, Packet, Repr, State, HEADER_LEN, VERSION};

/// Which of keepalived's checks beyond RFC 5880 to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxPolicy {
    /// Length field must equal the UDP payload size (RFC: only `<=`).
    pub exact_length: bool,
    /// Discard packets with both Poll and Final set.
    pub reject_poll_and_final: bool,
    /// Discard packets with a reserved diagnostic (> 8).
    pub reject_reserved_diag: bool,
}

impl RxPolicy {
    /// keepalived 2.2.7 / 2.4.3 (`bfd_check_packet`): all extra checks on.
    pub const KEEPALIVED: RxPolicy = RxPolicy {
        exact_length: true,
        reject_poll_and_final: true,
        reject_reserved_diag: true,
    };
    /// RFC 5880 only.
    pub const RFC5880: RxPolicy = RxPolicy {
        exact_length: false,
        reject_poll_and_final: false,
        reject_reserved_diag: false,
    };
}

impl Default for RxPolicy {
    fn default() -> Self {
        Self::KEEPALIVED
    }
}

/// A packet that passed the session-independent checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Valid<'a> {
    /// The decoded packet.
    pub repr: Repr,
    /// The control packet bytes, limited to its Length field (for digest verification).
    pub bytes: &'a [u8],
}

/// Check a received UDP payload in RFC 5880 §6.8.6 order: version, length, detect mult,
/// multipoint, my discriminator, your discriminator vs state; then keepalived's
/// poll-and-final and diagnostic checks as `policy` says; then the auth section's structure.
pub fn validate<'a>(buf: &'a [u8], policy: &RxPolicy) -> Result<Valid<'a>, RxError> {
    let first = *buf.first().ok_or(WireError::Truncated {
        needed: HEADER_LEN,
        got: 0,
    })?;
    let version = first >> 5;
    if version != VERSION {
        return Err(RxError::Version(version));
    }
    let p = Packet::new_checked(buf)?;
    if policy.exact_length && usize::from(p.length()) != buf.len() {
        return Err(RxError::LengthMismatch {
            length: p.length(),
            payload: buf.len(),
        });
    }
    if p.detect_mult() == 0 {
        return Err(RxError::ZeroDetectMult);
    }
    if p.multipoint() {
        return Err(RxError::Multipoint);
    }
    if p.my_discriminator() == 0 {
        return Err(RxError::ZeroMyDiscriminator);
    }
    if p.your_discriminator() == 0 && !matches!(p.state(), State::Down | State::AdminDown) {
        return Err(RxError::ZeroYourDiscriminator(p.state()));
    }
    if policy.reject_poll_and_final && p.poll() && p.final_() {
        return Err(RxError::PollAndFinal);
    }
    if let Diag::Reserved(d) = p.diag() {
        if policy.reject_reserved_diag {
            return Err(RxError::InvalidDiag(d));
        }
    }
    let repr = Repr::parse(&p)?;
    Ok(Valid {
        repr,
        bytes: &buf[..usize::from(p.length())],
    })
}

/// keepalived's minimum accepted TTL/hop limit for a session sending with `ttl` and accepting
/// `max_hops` hops (`bfd_check_packet_ttl`: discard when `max_hops + rx_ttl < ttl`); `None`
/// when `max_hops` is 255 (no check). Single hop (ttl 255, max_hops 0) gives 255 (RFC 5881 §5).
pub fn min_rx_ttl(ttl: u8, max_hops: u8) -> Option<u8> {
    if max_hops == u8::MAX {
        None
    } else {
        Some(ttl.saturating_sub(max_hops))
    }
}

/// Whether `buf` looks like a BFD control packet at all (version 1 and at least 24 bytes);
/// a cheap pre-filter.
pub fn looks_like_control(buf: &[u8]) -> bool {
    buf.len() >= HEADER_LEN
        && buf[field::VERS_DIAG] >> 5 == VERSION
        && buf[field::STA_FLAGS] & flag::MULTIPOINT == 0
}
