//! Errors: structural wire errors ([`WireError`]) and reception rejections ([`RxError`], one
//! variant per reason, each mapping to a counter name via [`RxError::counter`]).

use crate::wire::State;

/// A control packet could not be decoded or encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Buffer shorter than the structure needs.
    #[error("truncated: need {needed} bytes, got {got}")]
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// The Length field is below the mandatory section (24, or 26 with the A bit).
    #[error("length field {length} below minimum {min}")]
    LengthTooSmall {
        /// The Length field.
        length: u8,
        /// Minimum for this packet.
        min: u8,
    },
    /// The Length field is larger than the UDP payload.
    #[error("length field {length} exceeds payload of {payload} bytes")]
    LengthExceedsPayload {
        /// The Length field.
        length: u8,
        /// Bytes received.
        payload: usize,
    },
    /// The authentication section's own length does not fit the packet, or is wrong for its
    /// type (simple password 4..=19, MD5 24, SHA1 28).
    #[error("auth section of type {auth_type} has invalid length {len}")]
    AuthLength {
        /// Auth Type field.
        auth_type: u8,
        /// Auth Len field.
        len: u8,
    },
    /// Auth type 0 or above 5 (reserved).
    #[error("auth type {0} is reserved")]
    AuthType(u8),
    /// A simple password must be 1 to 16 bytes.
    #[error("simple password length {0} not in 1..=16")]
    PasswordLength(usize),
    /// The A bit and the presence of an auth section disagree on emit.
    #[error("auth-present flag and auth section disagree")]
    AuthFlagMismatch,
    /// Diag above 31 or version above 7 does not fit its field on emit.
    #[error("{field} value {value} does not fit its bits")]
    FieldRange {
        /// Field name.
        field: &'static str,
        /// Value.
        value: u8,
    },
}

/// Why a received control packet was discarded (RFC 5880 §6.8.6 order, then keepalived's
/// additional checks, then the per-session TTL and authentication checks). A discarded packet
/// never changes session state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RxError {
    /// Empty or shorter than 24 bytes, or an auth section that does not fit.
    #[error("malformed: {0}")]
    Wire(#[from] WireError),
    /// Version is not 1.
    #[error("version {0} is not 1")]
    Version(u8),
    /// Length field disagrees with the received payload size (keepalived's strict check; RFC
    /// 5880 only requires Length <= payload).
    #[error("length field {length} != payload of {payload} bytes")]
    LengthMismatch {
        /// Length field.
        length: u8,
        /// Payload size.
        payload: usize,
    },
    /// Detect Mult is zero.
    #[error("detect multiplier is zero")]
    ZeroDetectMult,
    /// Multipoint (M) bit set.
    #[error("multipoint bit set")]
    Multipoint,
    /// My Discriminator is zero.
    #[error("my discriminator is zero")]
    ZeroMyDiscriminator,
    /// Your Discriminator is zero while State is neither Down nor AdminDown.
    #[error("your discriminator is zero in state {0}")]
    ZeroYourDiscriminator(State),
    /// Your Discriminator names no session (the caller's lookup failed).
    #[error("your discriminator {0:#010x} matches no session")]
    NoSession(u32),
    /// Both Poll and Final set (keepalived rejects it).
    #[error("both poll and final set")]
    PollAndFinal,
    /// Diagnostic code above 8 (keepalived rejects it).
    #[error("diagnostic {0} is not defined")]
    InvalidDiag(u8),
    /// Received TTL/hop limit below the session's minimum (GTSM, RFC 5881 §5 / keepalived
    /// `max_hops`).
    #[error("ttl {ttl} below minimum {min}")]
    Ttl {
        /// Received TTL or hop limit.
        ttl: u8,
        /// Smallest accepted.
        min: u8,
    },
    /// The A bit is set but the session uses no authentication (keepalived: every
    /// authenticated packet is discarded, it implements none).
    #[error("authentication present but not configured")]
    AuthUnexpected,
    /// The session uses authentication but the A bit is clear.
    #[error("authentication configured but absent")]
    AuthMissing,
    /// Auth type differs from the configured one.
    #[error("auth type {got} but {want} configured")]
    AuthTypeMismatch {
        /// Received.
        got: u8,
        /// Configured.
        want: u8,
    },
    /// Auth Key ID differs from the configured one.
    #[error("auth key id {0} unknown")]
    AuthKeyId(u8),
    /// Simple password wrong.
    #[error("simple password mismatch")]
    AuthPassword,
    /// Keyed MD5/SHA1 digest wrong.
    #[error("auth digest mismatch")]
    AuthDigest,
    /// Sequence number outside the window (replay).
    #[error("auth sequence {got} outside window starting at {last}")]
    AuthSequence {
        /// Received.
        got: u32,
        /// Last accepted.
        last: u32,
    },
    /// Packet arrived for a session in AdminDown (discarded per RFC 5880 §6.8.6).
    #[error("session is AdminDown")]
    AdminDown,
}

impl RxError {
    /// The counter this rejection increments (stable names for metrics).
    pub fn counter(&self) -> &'static str {
        match self {
            RxError::Wire(WireError::Truncated { .. }) => "rx_truncated",
            RxError::Wire(WireError::LengthTooSmall { .. }) => "rx_length_too_small",
            RxError::Wire(WireError::LengthExceedsPayload { .. }) => "rx_length_exceeds_payload",
            RxError::Wire(WireError::AuthLength { .. }) => "rx_auth_length",
            RxError::Wire(WireError::AuthType(_)) => "rx_auth_type",
            RxError::Wire(_) => "rx_malformed",
            RxError::Version(_) => "rx_version",
            RxError::LengthMismatch { .. } => "rx_length_mismatch",
            RxError::ZeroDetectMult => "rx_zero_detect_mult",
            RxError::Multipoint => "rx_multipoint",
            RxError::ZeroMyDiscriminator => "rx_zero_my_discr",
            RxError::ZeroYourDiscriminator(_) => "rx_zero_your_discr",
            RxError::NoSession(_) => "rx_no_session",
            RxError::PollAndFinal => "rx_poll_and_final",
            RxError::InvalidDiag(_) => "rx_invalid_diag",
            RxError::Ttl { .. } => "rx_ttl",
            RxError::AuthUnexpected => "rx_auth_unexpected",
            RxError::AuthMissing => "rx_auth_missing",
            RxError::AuthTypeMismatch { .. } => "rx_auth_type_mismatch",
            RxError::AuthKeyId(_) => "rx_auth_key_id",
            RxError::AuthPassword => "rx_auth_password",
            RxError::AuthDigest => "rx_auth_digest",
            RxError::AuthSequence { .. } => "rx_auth_sequence",
            RxError::AdminDown => "rx_admin_down",
        }
    }
}

/// Per-reason reception counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RxCounters {
    /// Packets accepted.
    pub accepted: u64,
    /// Rejections by counter name ([`RxError::counter`]).
    pub rejected: std::collections::BTreeMap<&'static str, u64>,
}

impl RxCounters {
    /// Count a rejection.
    pub fn reject(&mut self, e: &RxError) {
        *self.rejected.entry(e.counter()).or_insert(0) += 1;
    }
    /// Count of one rejection counter.
    pub fn get(&self, name: &str) -> u64 {
        self.rejected.get(name).copied().unwrap_or(0)
    }
    /// Sum of all rejections.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
}
