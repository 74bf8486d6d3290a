//! Errors: structural wire errors ([`WireError`]) and receive-validation rejections
//! ([`RxError`], one variant per reason, each mapping to a counter).

use std::net::IpAddr;

/// A packet could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    /// IP version nibble is not the expected one.
    #[error("IP version {0} unexpected")]
    IpVersion(u8),
    /// IPv4 IHL below 5 words.
    #[error("IPv4 header length {0} invalid")]
    IpHeaderLen(usize),
    /// IPv4 header checksum wrong.
    #[error("IPv4 header checksum invalid")]
    IpChecksum,
    /// IP protocol / next header is neither VRRP nor AH.
    #[error("IP protocol {0} is not VRRP (112) or AH (51)")]
    Protocol(u8),
    /// AH payload length is not the 96-bit ICV layout.
    #[error("AH payload length {0} unsupported (want 4)")]
    AhLength(u8),
    /// VRRP version not 2 or 3.
    #[error("VRRP version {0} unsupported")]
    Version(u8),
    /// VRRP type not ADVERTISEMENT.
    #[error("VRRP type {0} is not ADVERTISEMENT (1)")]
    Type(u8),
    /// VRID 0.
    #[error("VRID 0 is invalid")]
    ZeroVrid,
    /// Unknown v2 authentication type.
    #[error("VRRPv2 auth type {0} unknown")]
    AuthType(u8),
    /// More than 255 addresses on emit.
    #[error("{0} addresses do not fit the 8-bit count")]
    TooManyAddrs(usize),
    /// Mixed IPv4/IPv6 addresses on emit.
    #[error("address list mixes IPv4 and IPv6")]
    MixedFamilies,
    /// v3 interval above the 12-bit field on emit.
    #[error("VRRPv3 interval {0} cs exceeds 4095")]
    IntervalRange(u16),
}

/// Why a received advert was rejected (RFC 3768 §7.1 / RFC 5798 §7.1 order). A rejected
/// advert never changes state. [`RxError::counter`] names the statistic it increments
/// (keepalived's `vrrp_stats` names where one exists).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RxError {
    /// Shorter than the IP header, AH, VRRP header or the address list it announces.
    #[error("packet truncated: need {needed} bytes, got {got}")]
    Truncated {
        /// Needed.
        needed: usize,
        /// Got.
        got: usize,
    },
    /// IPv4 header malformed (IHL < 5, IP version, header checksum).
    #[error("bad IP header: {0}")]
    BadIpHeader(WireError),
    /// IP total length disagrees with what was received (beyond Ethernet padding).
    #[error("IP length {ip_len} does not match received {got}")]
    IpLength {
        /// Claimed by IP header.
        ip_len: usize,
        /// Received.
        got: usize,
    },
    /// Protocol neither VRRP nor AH.
    #[error("IP protocol {0} is not VRRP")]
    Protocol(u8),
    /// Multicast advert with TTL / hop limit other than 255 (RFC 5798 §7.1).
    #[error("TTL/hop limit {0} is not 255")]
    Ttl(u8),
    /// VRRP version differs from ours.
    #[error("wrong VRRP version {got}, expected {ours}")]
    Version {
        /// Received.
        got: u8,
        /// Configured.
        ours: u8,
    },
    /// Not an ADVERTISEMENT.
    #[error("VRRP type {0} is not ADVERTISEMENT")]
    Type(u8),
    /// VRRP checksum wrong.
    #[error("VRRP checksum invalid")]
    Checksum,
    /// VRID is not ours.
    #[error("VRID {0} is not ours")]
    VridMismatch(u8),
    /// Unknown v2 auth type.
    #[error("invalid auth type {0}")]
    InvalidAuthType(u8),
    /// v2 auth type (or AH presence) differs from ours.
    #[error("auth type {got} differs from ours {ours}")]
    AuthTypeMismatch {
        /// Received (51 = AH header present).
        got: u8,
        /// Configured.
        ours: u8,
    },
    /// Simple password mismatch.
    #[error("authentication password mismatch")]
    AuthPassword,
    /// AH ICV mismatch.
    #[error("AH HMAC-MD5-96 mismatch")]
    AhIcv,
    /// AH SPI is not the source address.
    #[error("AH SPI {spi:#x} is not the source address")]
    AhSpi {
        /// SPI received.
        spi: u32,
    },
    /// AH next header is not VRRP (keepalived ignores such packets).
    #[error("AH next header {0} is not VRRP")]
    AhNextHeader(u8),
    /// AH sequence number already seen (replay).
    #[error("AH sequence {seq} not above last {last}")]
    AhReplay {
        /// Received.
        seq: u32,
        /// Last accepted.
        last: u32,
    },
    /// Address count does not match the length (too long, not Ethernet padding).
    #[error("address count {count} does not match length {len}")]
    AddrCountLength {
        /// Count field.
        count: u8,
        /// VRRP length received.
        len: usize,
    },
    /// The advert's address count differs from ours (keepalived 2.2.7: "received an
    /// unexpected ip number count"; discarded unless `skip_check_adv_addr` for the master).
    #[error("unexpected ip number count {got}, expected {ours}")]
    AddrCount {
        /// Count received.
        got: u8,
        /// Our number of virtual addresses.
        ours: usize,
    },
    /// One of our virtual addresses is not in the advert (same count).
    #[error("ip address associated with VRID not present in advert: {0}")]
    AddrMissing(IpAddr),
    /// v2: advert interval differs from ours (RFC 3768 §7.1: MUST discard).
    #[error("advert interval {got}s differs from ours {ours}s")]
    IntervalMismatch {
        /// Received (s).
        got: u8,
        /// Ours (s).
        ours: u8,
    },
    /// Multicast received where unicast configured or vice versa.
    #[error("expected {} packet", if *.expected_unicast { "unicast" } else { "multicast" })]
    CastMismatch {
        /// True when unicast peers are configured.
        expected_unicast: bool,
    },
    /// Unicast source not among the configured peers (`check_unicast_src`).
    #[error("unicast source {0} is not a configured peer")]
    UnknownUnicastSource(IpAddr),
    /// Address family differs from the instance's.
    #[error("address family mismatch")]
    Family,
    /// `auth_hmac` rejected the advert (counted as `auth_ext_*`).
    #[error("auth_hmac: {0}")]
    AuthExt(crate::auth_hmac::AuthExtError),
}

impl From<crate::auth_hmac::AuthExtError> for RxError {
    fn from(e: crate::auth_hmac::AuthExtError) -> Self {
        RxError::AuthExt(e)
    }
}

impl RxError {
    /// A short name of the reason itself (finer than [`RxError::counter`]: a wrong password
    /// and an AH replay share `auth_failure`), for keying log rate limits.
    pub fn reason(&self) -> &'static str {
        match self {
            RxError::Truncated { .. } => "truncated",
            RxError::BadIpHeader(_) => "ip_header",
            RxError::IpLength { .. } => "ip_length",
            RxError::Protocol(_) => "protocol",
            RxError::Ttl(_) => "ttl",
            RxError::Version { .. } => "version",
            RxError::Type(_) => "type",
            RxError::Checksum => "checksum",
            RxError::VridMismatch(_) => "vrid",
            RxError::InvalidAuthType(_) => "invalid_auth_type",
            RxError::AuthTypeMismatch { .. } => "auth_type",
            RxError::AuthPassword => "password",
            RxError::AhIcv => "ah_icv",
            RxError::AhSpi { .. } => "ah_spi",
            RxError::AhNextHeader(_) => "ah_next_header",
            RxError::AhReplay { .. } => "ah_replay",
            RxError::AddrCountLength { .. } => "length",
            RxError::AddrCount { .. } => "addr_count",
            RxError::AddrMissing(_) => "addr_missing",
            RxError::IntervalMismatch { .. } => "interval",
            RxError::CastMismatch { .. } => "cast",
            RxError::UnknownUnicastSource(_) => "unicast_source",
            RxError::Family => "family",
            RxError::AuthExt(e) => e.counter(),
        }
    }

    /// The counter this rejection increments.
    pub fn counter(&self) -> &'static str {
        match self {
            RxError::Truncated { .. }
            | RxError::IpLength { .. }
            | RxError::AddrCountLength { .. } => "packet_len_err",
            RxError::BadIpHeader(_) => "ip_header_err",
            RxError::Protocol(_) | RxError::Family => "ip_proto_err",
            RxError::Ttl(_) => "ip_ttl_err",
            RxError::Version { .. } => "version_err",
            RxError::Type(_) => "invalid_type_rcvd",
            RxError::Checksum => "chk_err",
            RxError::VridMismatch(_) => "vrid_err",
            RxError::InvalidAuthType(_) => "invalid_authtype",
            RxError::AuthTypeMismatch { .. } => "authtype_mismatch",
            RxError::AuthPassword
            | RxError::AhIcv
            | RxError::AhSpi { .. }
            | RxError::AhReplay { .. } => "auth_failure",
            RxError::AhNextHeader(_) => "ah_next_header",
            RxError::IntervalMismatch { .. } => "adver_int_err",
            RxError::CastMismatch { .. } | RxError::AddrCount { .. } | RxError::AddrMissing(_) => {
                "addr_list_err"
            }
            RxError::UnknownUnicastSource(_) => "unknown_unicast_src",
            RxError::AuthExt(e) => e.counter(),
        }
    }
}

/// Per-reason receive counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RxCounters {
    /// Adverts accepted.
    pub advert_rcvd: u64,
    /// Accepted adverts with priority 0.
    pub pri_zero_rcvd: u64,
    /// Accepted adverts whose address list differed (the check skipped for the known master
    /// by `skip_check_adv_addr`; otherwise such an advert is a rejection).
    pub addr_list_err: u64,
    /// Rejections by counter name.
    pub rejected: std::collections::BTreeMap<&'static str, u64>,
}

impl RxCounters {
    /// Count a rejection.
    pub fn reject(&mut self, e: &RxError) {
        *self.rejected.entry(e.counter()).or_insert(0) += 1;
    }
    /// Count an acceptance.
    pub fn accept(&mut self, a: &crate::validate::Accepted) {
        self.advert_rcvd += 1;
        if a.advert.priority.get() == 0 {
            self.pri_zero_rcvd += 1;
        }
        if a.addr_list_mismatch {
            self.addr_list_err += 1;
        }
    }
    /// Count of one rejection counter.
    pub fn get(&self, name: &str) -> u64 {
        self.rejected.get(name).copied().unwrap_or(0)
    }
}
