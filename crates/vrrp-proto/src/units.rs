//! Typed protocol units. An advert interval is never a bare integer whose unit depends on the
//! VRRP version: v2 carries whole seconds (RFC 3768 §5.3.7), v3 carries 12-bit centiseconds
//! (RFC 5798 §5.2.7); both convert to [`Duration`].

use core::fmt;
use std::time::Duration;

/// VRRP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// VRRPv2, RFC 3768 (IPv4 only in the RFC; keepalived also runs it over IPv6).
    V2,
    /// VRRPv3, RFC 5798 / RFC 9568.
    V3,
}

impl Version {
    /// The 4-bit version number on the wire.
    pub const fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
    /// Version from its wire number.
    pub const fn from_number(n: u8) -> Option<Self> {
        match n {
            2 => Some(Version::V2),
            3 => Some(Version::V3),
            _ => None,
        }
    }
}

/// Address family a virtual router runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    /// Length of one address on the wire.
    pub const fn addr_len(self) -> usize {
        match self {
            Family::V4 => 4,
            Family::V6 => 16,
        }
    }
}

/// Centiseconds (hundredths of a second), the VRRPv3 interval unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Centisecs(pub u16);

impl Centisecs {
    /// The largest value the 12-bit VRRPv3 field can carry (40.95 s).
    pub const MAX_V3: Centisecs = Centisecs(0x0fff);
    /// As a duration.
    pub const fn to_duration(self) -> Duration {
        Duration::from_millis(self.0 as u64 * 10)
    }
    /// From a duration, rounding down to whole centiseconds; `None` if it does not fit in u16.
    pub fn from_duration(d: Duration) -> Option<Self> {
        u16::try_from(d.as_millis() / 10).ok().map(Centisecs)
    }
}

impl fmt::Display for Centisecs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}s", self.0 / 100, self.0 % 100)
    }
}

/// A VRRP priority (RFC 5798 §5.2.4): 255 = address owner, 0 = master stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Priority(pub u8);

impl Priority {
    /// Priority 0: the master is resigning (RFC 5798 §5.2.4).
    pub const STOP: Priority = Priority(0);
    /// Priority 255: the router owns the virtual addresses.
    pub const OWNER: Priority = Priority(255);
    /// keepalived's default priority.
    pub const DEFAULT: Priority = Priority(100);
    /// Raw value.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Virtual router identifier, 1..=255 (RFC 5798 §5.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vrid(u8);

impl Vrid {
    /// `None` for 0, which is not a valid VRID.
    pub const fn new(v: u8) -> Option<Self> {
        if v == 0 {
            None
        } else {
            Some(Vrid(v))
        }
    }
    /// Raw value.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Vrid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The advertisement interval as carried by one protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdvertInterval {
    /// VRRPv2: whole seconds, 8 bits (RFC 3768 §5.3.7).
    V2Secs(u8),
    /// VRRPv3: centiseconds, 12 bits (RFC 5798 §5.2.7).
    V3(Centisecs),
}

impl AdvertInterval {
    /// The interval as a duration.
    pub const fn to_duration(self) -> Duration {
        match self {
            AdvertInterval::V2Secs(s) => Duration::from_secs(s as u64),
            AdvertInterval::V3(c) => c.to_duration(),
        }
    }
    /// The interval in centiseconds (exact for both versions).
    pub const fn centisecs(self) -> u32 {
        match self {
            AdvertInterval::V2Secs(s) => s as u32 * 100,
            AdvertInterval::V3(c) => c.0 as u32,
        }
    }
    /// The version this interval belongs to.
    pub const fn version(self) -> Version {
        match self {
            AdvertInterval::V2Secs(_) => Version::V2,
            AdvertInterval::V3(_) => Version::V3,
        }
    }
    /// Build the interval for `version` from a duration (v2 rounds down to seconds, v3 to
    /// centiseconds; v3 is clamped to the 12-bit field). `None` if out of range or zero.
    pub fn from_duration(version: Version, d: Duration) -> Option<Self> {
        match version {
            Version::V2 => u8::try_from(d.as_secs())
                .ok()
                .filter(|s| *s > 0)
                .map(AdvertInterval::V2Secs),
            Version::V3 => Centisecs::from_duration(d)
                .filter(|c| c.0 > 0 && c.0 <= Centisecs::MAX_V3.0)
                .map(AdvertInterval::V3),
        }
    }
}

/// Skew_Time for `version` (RFC 3768 §6.1: (256-Priority)/256 s; RFC 5798 §6.1:
/// ((256-Priority) * Master_Adver_Interval)/256). keepalived computes both in microseconds
/// with integer arithmetic; we do the same so timers match the reference to the microsecond.
pub fn skew_time(
    version: Version,
    priority: Priority,
    master_adver_int: AdvertInterval,
) -> Duration {
    let p = 256u64 - priority.0 as u64;
    match version {
        Version::V2 => Duration::from_micros(p * 1_000_000 / 256),
        // keepalived: (p * centisecs * 625) / 16 microseconds == p * cs * 10000 / 256
        Version::V3 => Duration::from_micros(p * master_adver_int.centisecs() as u64 * 625 / 16),
    }
}

/// Master_Down_Interval = down_timer_adverts * Master_Adver_Interval + Skew_Time
/// (RFC 5798 §6.1 uses 3; keepalived's `down_timer_adverts` makes the multiplier configurable).
pub fn master_down_interval(
    version: Version,
    priority: Priority,
    master_adver_int: AdvertInterval,
    down_timer_adverts: u8,
) -> Duration {
    master_adver_int.to_duration() * u32::from(down_timer_adverts)
        + skew_time(version, priority, master_adver_int)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Proves skew time follows RFC 3768 §6.1 for v2 (seconds-based, independent of the interval).
    #[test]
    fn skew_v2() {
        let d = skew_time(Version::V2, Priority(100), AdvertInterval::V2Secs(3));
        assert_eq!(d, Duration::from_micros(156 * 1_000_000 / 256));
    }

    // Proves skew time follows RFC 5798 §6.1 for v3 (scaled by Master_Adver_Interval).
    #[test]
    fn skew_v3() {
        let d = skew_time(
            Version::V3,
            Priority(100),
            AdvertInterval::V3(Centisecs(100)),
        );
        assert_eq!(d, Duration::from_micros(609_375)); // 156/256 s
        let d = skew_time(
            Version::V3,
            Priority(100),
            AdvertInterval::V3(Centisecs(50)),
        );
        assert_eq!(d, Duration::from_micros(304_687));
    }

    // Proves Master_Down_Interval = 3*interval + skew (RFC 5798 §6.1) with down_timer_adverts=3.
    #[test]
    fn master_down() {
        let d = master_down_interval(
            Version::V3,
            Priority(200),
            AdvertInterval::V3(Centisecs(100)),
            3,
        );
        assert_eq!(
            d,
            Duration::from_secs(3) + Duration::from_micros(56 * 10_000 * 100 / 256)
        );
    }

    // Proves interval conversions are typed per version and reject out-of-range values.
    #[test]
    fn interval_conv() {
        assert_eq!(
            AdvertInterval::V2Secs(2).to_duration(),
            Duration::from_secs(2)
        );
        assert_eq!(
            AdvertInterval::V3(Centisecs(150)).to_duration(),
            Duration::from_millis(1500)
        );
        assert_eq!(
            AdvertInterval::from_duration(Version::V3, Duration::from_secs(41)),
            None
        );
        assert_eq!(
            AdvertInterval::from_duration(Version::V2, Duration::from_millis(500)),
            None
        );
        assert_eq!(Vrid::new(0), None);
    }
}
