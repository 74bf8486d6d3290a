//! BFD Control packet (RFC 5880 §4.1): a smoltcp-style view ([`Packet`]) and its high-level
//! representation ([`Repr`]), with the optional authentication section ([`Auth`]).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
//! |                       My Discriminator                        |
//! |                      Your Discriminator                       |
//! |                    Desired Min TX Interval                    |
//! |                   Required Min RX Interval                    |
//! |                 Required Min Echo RX Interval                 |
//! |   Auth Type   |   Auth Len    |    Auth Key/Digest/...        |
//! ```

pub mod auth;

pub use auth::{Auth, AuthType, Password};

use crate::error::WireError;

/// Byte offsets of the fields.
pub mod field {
    /// Version (3 bits) and Diagnostic (5 bits).
    pub const VERS_DIAG: usize = 0;
    /// State (2 bits) and the P F C A D M flags.
    pub const STA_FLAGS: usize = 1;
    /// Detect Mult.
    pub const DETECT_MULT: usize = 2;
    /// Length of the whole control packet in bytes.
    pub const LENGTH: usize = 3;
    /// My Discriminator.
    pub const MY_DISCR: core::ops::Range<usize> = 4..8;
    /// Your Discriminator.
    pub const YOUR_DISCR: core::ops::Range<usize> = 8..12;
    /// Desired Min TX Interval (µs).
    pub const DESIRED_MIN_TX: core::ops::Range<usize> = 12..16;
    /// Required Min RX Interval (µs).
    pub const REQUIRED_MIN_RX: core::ops::Range<usize> = 16..20;
    /// Required Min Echo RX Interval (µs).
    pub const REQUIRED_MIN_ECHO_RX: core::ops::Range<usize> = 20..24;
    /// Start of the optional authentication section.
    pub const AUTH: usize = 24;
}

/// Flag bits in byte [`field::STA_FLAGS`].
pub mod flag {
    /// Poll.
    pub const POLL: u8 = 0x20;
    /// Final.
    pub const FINAL: u8 = 0x10;
    /// Control Plane Independent.
    pub const CPI: u8 = 0x08;
    /// Authentication Present.
    pub const AUTH: u8 = 0x04;
    /// Demand.
    pub const DEMAND: u8 = 0x02;
    /// Multipoint.
    pub const MULTIPOINT: u8 = 0x01;
}

/// Length of the mandatory section.
pub const HEADER_LEN: usize = 24;
/// The only defined version.
pub const VERSION: u8 = 1;
/// UDP destination port for single-hop control packets (RFC 5881).
pub const PORT_SINGLE_HOP: u16 = 3784;
/// UDP destination port for multihop control packets (RFC 5883).
pub const PORT_MULTIHOP: u16 = 4784;
/// Source port range for control packets (RFC 5881 §4).
pub const SOURCE_PORTS: core::ops::RangeInclusive<u16> = 49152..=65535;

/// Session state (2 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// 0.
    AdminDown,
    /// 1.
    Down,
    /// 2.
    Init,
    /// 3.
    Up,
}

impl State {
    /// From the two State bits (only the low two bits are used).
    pub const fn from_bits(b: u8) -> Self {
        match b & 3 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }
    /// The two State bits.
    pub const fn bits(self) -> u8 {
        match self {
            State::AdminDown => 0,
            State::Down => 1,
            State::Init => 2,
            State::Up => 3,
        }
    }
}

impl core::fmt::Display for State {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            State::AdminDown => "AdminDown",
            State::Down => "Down",
            State::Init => "Init",
            State::Up => "Up",
        })
    }
}

/// Diagnostic code (5 bits; RFC 5880 §4.1, values above 8 reserved).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Diag {
    /// 0 No Diagnostic.
    None,
    /// 1 Control Detection Time Expired.
    ControlDetectionTimeExpired,
    /// 2 Echo Function Failed.
    EchoFunctionFailed,
    /// 3 Neighbor Signaled Session Down.
    NeighborSignaledDown,
    /// 4 Forwarding Plane Reset.
    ForwardingPlaneReset,
    /// 5 Path Down.
    PathDown,
    /// 6 Concatenated Path Down.
    ConcatenatedPathDown,
    /// 7 Administratively Down.
    AdministrativelyDown,
    /// 8 Reverse Concatenated Path Down.
    ReverseConcatenatedPathDown,
    /// 9..=31 reserved.
    Reserved(u8),
}

impl Diag {
    /// From the five Diag bits (only the low five bits are used).
    pub const fn from_bits(b: u8) -> Self {
        match b & 0x1f {
            0 => Diag::None,
            1 => Diag::ControlDetectionTimeExpired,
            2 => Diag::EchoFunctionFailed,
            3 => Diag::NeighborSignaledDown,
            4 => Diag::ForwardingPlaneReset,
            5 => Diag::PathDown,
            6 => Diag::ConcatenatedPathDown,
            7 => Diag::AdministrativelyDown,
            8 => Diag::ReverseConcatenatedPathDown,
            n => Diag::Reserved(n),
        }
    }
    /// The Diag value.
    pub const fn bits(self) -> u8 {
        match self {
            Diag::None => 0,
            Diag::ControlDetectionTimeExpired => 1,
            Diag::EchoFunctionFailed => 2,
            Diag::NeighborSignaledDown => 3,
            Diag::ForwardingPlaneReset => 4,
            Diag::PathDown => 5,
            Diag::ConcatenatedPathDown => 6,
            Diag::AdministrativelyDown => 7,
            Diag::ReverseConcatenatedPathDown => 8,
            Diag::Reserved(n) => n,
        }
    }
    /// keepalived's text for the code.
    pub const fn as_str(self) -> &'static str {
        match self {
            Diag::None => "No Diagnostic",
            Diag::ControlDetectionTimeExpired => "Control Detection Time Expired",
            Diag::EchoFunctionFailed => "Echo Function Failed",
            Diag::NeighborSignaledDown => "Neighbor Signaled Session Down",
            Diag::ForwardingPlaneReset => "Forwarding Plane Reset",
            Diag::PathDown => "Path Down",
            Diag::ConcatenatedPathDown => "Concatenated Path Down",
            Diag::AdministrativelyDown => "Administratively Down",
            Diag::ReverseConcatenatedPathDown => "Reverse Concatenated Path Down",
            Diag::Reserved(_) => "Unknown",
        }
    }
}

/// A read/write view of a BFD control packet over a buffer.
///
/// [`Packet::new_checked`] guarantees every accessor is in bounds: the buffer holds the
/// mandatory 24 bytes, the Length field is at least 24 (26 with the A bit) and no larger than
/// the buffer, and an auth section's own length fits inside Length.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap without checks (accessors may panic on a short buffer; use [`Self::new_checked`]
    /// for received data).
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wrap and check lengths (see the type docs).
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// The structural length checks of [`Self::new_checked`].
    pub fn check_len(&self) -> Result<(), WireError> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(WireError::Truncated {
                needed: HEADER_LEN,
                got: b.len(),
            });
        }
        let length = b[field::LENGTH];
        let auth = b[field::STA_FLAGS] & flag::AUTH != 0;
        let min = if auth { HEADER_LEN + 2 } else { HEADER_LEN } as u8;
        if length < min {
            return Err(WireError::LengthTooSmall { length, min });
        }
        if usize::from(length) > b.len() {
            return Err(WireError::LengthExceedsPayload {
                length,
                payload: b.len(),
            });
        }
        if auth {
            let auth_type = b[field::AUTH];
            let len = b[field::AUTH + 1];
            if len < 2 || field::AUTH + usize::from(len) > usize::from(length) {
                return Err(WireError::AuthLength { auth_type, len });
            }
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn u32_at(&self, r: core::ops::Range<usize>) -> u32 {
        let b = &self.buffer.as_ref()[r];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// Version (3 bits).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VERS_DIAG] >> 5
    }
    /// Diagnostic (5 bits).
    pub fn diag(&self) -> Diag {
        Diag::from_bits(self.buffer.as_ref()[field::VERS_DIAG])
    }
    /// State.
    pub fn state(&self) -> State {
        State::from_bits(self.buffer.as_ref()[field::STA_FLAGS] >> 6)
    }
    /// The flag bits (see [`flag`]).
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::STA_FLAGS] & 0x3f
    }
    /// Poll.
    pub fn poll(&self) -> bool {
        self.flags() & flag::POLL != 0
    }
    /// Final.
    pub fn final_(&self) -> bool {
        self.flags() & flag::FINAL != 0
    }
    /// Control Plane Independent.
    pub fn control_plane_independent(&self) -> bool {
        self.flags() & flag::CPI != 0
    }
    /// Authentication Present.
    pub fn auth_present(&self) -> bool {
        self.flags() & flag::AUTH != 0
    }
    /// Demand.
    pub fn demand(&self) -> bool {
        self.flags() & flag::DEMAND != 0
    }
    /// Multipoint.
    pub fn multipoint(&self) -> bool {
        self.flags() & flag::MULTIPOINT != 0
    }
    /// Detect Mult.
    pub fn detect_mult(&self) -> u8 {
        self.buffer.as_ref()[field::DETECT_MULT]
    }
    /// Length field.
    pub fn length(&self) -> u8 {
        self.buffer.as_ref()[field::LENGTH]
    }
    /// My Discriminator.
    pub fn my_discriminator(&self) -> u32 {
        self.u32_at(field::MY_DISCR)
    }
    /// Your Discriminator.
    pub fn your_discriminator(&self) -> u32 {
        self.u32_at(field::YOUR_DISCR)
    }
    /// Desired Min TX Interval (µs).
    pub fn desired_min_tx(&self) -> u32 {
        self.u32_at(field::DESIRED_MIN_TX)
    }
    /// Required Min RX Interval (µs).
    pub fn required_min_rx(&self) -> u32 {
        self.u32_at(field::REQUIRED_MIN_RX)
    }
    /// Required Min Echo RX Interval (µs).
    pub fn required_min_echo_rx(&self) -> u32 {
        self.u32_at(field::REQUIRED_MIN_ECHO_RX)
    }
    /// The control packet as Length says (after [`Self::new_checked`]).
    pub fn packet(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        &b[..usize::from(self.length()).min(b.len())]
    }
    /// The auth section (type, len, ...) if the A bit is set (after [`Self::new_checked`]).
    pub fn auth_section(&self) -> Option<&[u8]> {
        if !self.auth_present() {
            return None;
        }
        let b = self.buffer.as_ref();
        let len = usize::from(*b.get(field::AUTH + 1)?);
        b.get(field::AUTH..field::AUTH + len)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_u32(&mut self, r: core::ops::Range<usize>, v: u32) {
        self.buffer.as_mut()[r].copy_from_slice(&v.to_be_bytes());
    }
    /// Set Version and Diag (values are masked to their bits).
    pub fn set_version_diag(&mut self, version: u8, diag: Diag) {
        self.buffer.as_mut()[field::VERS_DIAG] = (version << 5) | (diag.bits() & 0x1f);
    }
    /// Set State and the flag bits.
    pub fn set_state_flags(&mut self, state: State, flags: u8) {
        self.buffer.as_mut()[field::STA_FLAGS] = (state.bits() << 6) | (flags & 0x3f);
    }
    /// Set Detect Mult.
    pub fn set_detect_mult(&mut self, v: u8) {
        self.buffer.as_mut()[field::DETECT_MULT] = v;
    }
    /// Set Length.
    pub fn set_length(&mut self, v: u8) {
        self.buffer.as_mut()[field::LENGTH] = v;
    }
    /// Set My Discriminator.
    pub fn set_my_discriminator(&mut self, v: u32) {
        self.set_u32(field::MY_DISCR, v);
    }
    /// Set Your Discriminator.
    pub fn set_your_discriminator(&mut self, v: u32) {
        self.set_u32(field::YOUR_DISCR, v);
    }
    /// Set Desired Min TX Interval.
    pub fn set_desired_min_tx(&mut self, v: u32) {
        self.set_u32(field::DESIRED_MIN_TX, v);
    }
    /// Set Required Min RX Interval.
    pub fn set_required_min_rx(&mut self, v: u32) {
        self.set_u32(field::REQUIRED_MIN_RX, v);
    }
    /// Set Required Min Echo RX Interval.
    pub fn set_required_min_echo_rx(&mut self, v: u32) {
        self.set_u32(field::REQUIRED_MIN_ECHO_RX, v);
    }
}

/// High-level representation of a control packet. Full fidelity: every header field and the
/// auth section, so malformed packets can be built for tests; the Length field is derived.
/// [`Repr::parse`] is structural; the RFC 5880 §6.8.6 reception checks are in
/// [`crate::validate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// Version (1).
    pub version: u8,
    /// Diagnostic.
    pub diag: Diag,
    /// State.
    pub state: State,
    /// Poll.
    pub poll: bool,
    /// Final.
    pub final_: bool,
    /// Control Plane Independent.
    pub control_plane_independent: bool,
    /// Demand.
    pub demand: bool,
    /// Multipoint (must be 0).
    pub multipoint: bool,
    /// Detect Mult.
    pub detect_mult: u8,
    /// My Discriminator.
    pub my_discriminator: u32,
    /// Your Discriminator.
    pub your_discriminator: u32,
    /// Desired Min TX Interval (µs).
    pub desired_min_tx: u32,
    /// Required Min RX Interval (µs).
    pub required_min_rx: u32,
    /// Required Min Echo RX Interval (µs).
    pub required_min_echo_rx: u32,
    /// The auth section; `Some` iff the A bit is set.
    pub auth: Option<Auth>,
}

impl Default for Repr {
    /// Version 1, Down, no flags, detect mult 3, all discriminators and intervals 0.
    fn default() -> Self {
        Repr {
            version: VERSION,
            diag: Diag::None,
            state: State::Down,
            poll: false,
            final_: false,
            control_plane_independent: false,
            demand: false,
            multipoint: false,
            detect_mult: 3,
            my_discriminator: 0,
            your_discriminator: 0,
            desired_min_tx: 0,
            required_min_rx: 0,
            required_min_echo_rx: 0,
            auth: None,
        }
    }
}

impl Repr {
    /// Parse a checked view (structural: any version, reserved diag kept as
    /// [`Diag::Reserved`]); fails only on an auth section of unknown type or wrong length.
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<Self, WireError> {
        p.check_len()?;
        let auth = match p.auth_section() {
            Some(sec) => Some(Auth::parse(sec)?),
            None => None,
        };
        Ok(Repr {
            version: p.version(),
            diag: p.diag(),
            state: p.state(),
            poll: p.poll(),
            final_: p.final_(),
            control_plane_independent: p.control_plane_independent(),
            demand: p.demand(),
            multipoint: p.multipoint(),
            detect_mult: p.detect_mult(),
            my_discriminator: p.my_discriminator(),
            your_discriminator: p.your_discriminator(),
            desired_min_tx: p.desired_min_tx(),
            required_min_rx: p.required_min_rx(),
            required_min_echo_rx: p.required_min_echo_rx(),
            auth,
        })
    }

    /// Parse bytes (a UDP payload).
    pub fn parse_bytes(buf: &[u8]) -> Result<Self, WireError> {
        Self::parse(&Packet::new_checked(buf)?)
    }

    /// Bytes [`Self::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.auth.as_ref().map_or(0, Auth::section_len)
    }

    fn flags(&self) -> u8 {
        let mut f = 0;
        for (on, bit) in [
            (self.poll, flag::POLL),
            (self.final_, flag::FINAL),
            (self.control_plane_independent, flag::CPI),
            (self.auth.is_some(), flag::AUTH),
            (self.demand, flag::DEMAND),
            (self.multipoint, flag::MULTIPOINT),
        ] {
            if on {
                f |= bit;
            }
        }
        f
    }

    /// Write into `buf` (at least [`Self::buffer_len`] bytes); returns the length written.
    /// Keyed MD5/SHA1 digests are written as carried in `auth`; use [`Self::emit_signed`] to
    /// compute them.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let len = self.buffer_len();
        if buf.len() < len {
            return Err(WireError::Truncated {
                needed: len,
                got: buf.len(),
            });
        }
        if self.version > 7 {
            return Err(WireError::FieldRange {
                field: "version",
                value: self.version,
            });
        }
        if self.diag.bits() > 31 {
            return Err(WireError::FieldRange {
                field: "diag",
                value: self.diag.bits(),
            });
        }
        let buf = &mut buf[..len];
        if let Some(a) = &self.auth {
            a.emit(&mut buf[field::AUTH..])?;
        }
        let mut p = Packet::new_unchecked(buf);
        p.set_version_diag(self.version, self.diag);
        p.set_state_flags(self.state, self.flags());
        p.set_detect_mult(self.detect_mult);
        // len <= 24 + 28, fits a byte.
        p.set_length(len as u8);
        p.set_my_discriminator(self.my_discriminator);
        p.set_your_discriminator(self.your_discriminator);
        p.set_desired_min_tx(self.desired_min_tx);
        p.set_required_min_rx(self.required_min_rx);
        p.set_required_min_echo_rx(self.required_min_echo_rx);
        Ok(len)
    }

    /// Write into `buf`, computing the keyed MD5/SHA1 digest with `key` (RFC 5880 §6.7.3/6.7.4)
    /// over the finished packet. For other auth types this is [`Self::emit`].
    pub fn emit_signed(&self, buf: &mut [u8], key: &[u8]) -> Result<usize, WireError> {
        let len = self.emit(buf)?;
        auth::sign(&mut buf[..len], key);
        Ok(len)
    }

    /// Emit into a new vector.
    pub fn to_bytes(&self) -> Result<Vec<u8>, WireError> {
        let mut v = vec![0; self.buffer_len()];
        self.emit(&mut v)?;
        Ok(v)
    }
}
