//! `auth_hmac` (keepalived 2.4.3, draft-cassen-vrrp-auth-hmac): keys, modes, the send
//! sequence, the replay window and receive verification, sans IO (the wall clock is an input).
//!
//! The wire side (trailer view, pseudo-header, tag computation) is in
//! [`crate::wire::auth_ext`]. Verification follows keepalived's `vrrp_auth_hmac_check` order:
//! malformed trailer, stale timestamp (time mode, before the costly HMAC), unknown key id,
//! HMAC (constant time), replay (only after the HMAC verified, so forged data never moves the
//! high-water mark). Each rejection is a distinct [`AuthExtError`] naming its counter.

use core::time::Duration;
use std::net::IpAddr;

use crate::error::WireError;
use crate::wire::auth_ext::{
    self, PseudoHeader, Trailer, TrailerRepr, EXT_TYPE_HMAC_SHA256, TAG_LEN, TRAILER_LEN,
};

pub use crate::wire::auth_ext::Seq;

/// Shortest key (bytes): keeps a 128-bit margin under a quantum search.
pub const KEY_MIN: usize = 32;
/// Longest key (bytes).
pub const KEY_MAX: usize = 64;
/// Smallest configurable freshness window (s).
pub const WINDOW_MIN: u32 = 1;
/// Largest freshness window (s).
pub const WINDOW_MAX: u32 = 300;
/// Lower bound of a window derived from the advert interval (s).
pub const WINDOW_FLOOR: u32 = 5;
/// Multicast senders tracked per instance for replay protection (LRU).
pub const MCAST_SENDERS: usize = 4;

/// Why a received advert failed `auth_hmac` (one counter each, keepalived's
/// `auth_ext_*` statistics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthExtError {
    /// No trailer while the mode is `enforce`.
    #[error("missing authentication trailer")]
    Missing,
    /// Scheme other than the configured one, or a non-zero reserved field.
    #[error("malformed authentication trailer (ext_type {ext_type}, reserved {reserved:#06x})")]
    Malformed {
        /// Scheme received.
        ext_type: u8,
        /// Reserved field received.
        reserved: u16,
    },
    /// The key id names no configured key.
    #[error("unknown authentication key id {0}")]
    UnknownKey(u8),
    /// The tag does not verify with the key the id names.
    #[error("invalid authentication HMAC (key id {key_id})")]
    InvalidHmac {
        /// Key id used.
        key_id: u8,
    },
    /// `anti_replay time`: the timestamp is outside the freshness window.
    #[error("stale authentication trailer, clock skew {skew} s exceeds window {window} s")]
    Stale {
        /// Our clock minus the sender's, seconds.
        skew: i32,
        /// The window, seconds.
        window: u32,
    },
    /// The sequence does not grow past the sender's high-water mark.
    #[error("replayed authentication trailer (sequence {seq:#x}, last {last:#x})")]
    Replay {
        /// Received.
        seq: u64,
        /// Last accepted from this sender.
        last: u64,
    },
}

impl AuthExtError {
    /// The statistic this rejection increments (keepalived's `vrrp_stats` names).
    pub const fn counter(&self) -> &'static str {
        match self {
            AuthExtError::Missing => "auth_ext_missing",
            AuthExtError::Malformed { .. } => "auth_ext_malformed",
            AuthExtError::UnknownKey(_) => "auth_ext_unknown_key",
            AuthExtError::InvalidHmac { .. } => "auth_ext_invalid_hmac",
            AuthExtError::Stale { .. } => "auth_ext_stale",
            AuthExtError::Replay { .. } => "auth_ext_replay",
        }
    }
    /// Every counter name, in keepalived's order.
    pub const COUNTERS: [&'static str; 6] = [
        "auth_ext_invalid_hmac",
        "auth_ext_malformed",
        "auth_ext_missing",
        "auth_ext_replay",
        "auth_ext_stale",
        "auth_ext_unknown_key",
    ];
}

/// A key cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Key ids are 1..=255.
    #[error("key id 0 is invalid (1 to 255)")]
    IdZero,
    /// Key material outside [`KEY_MIN`]..=[`KEY_MAX`] bytes (0 for an undecodable value).
    #[error("key length {0} not in range [{KEY_MIN}, {KEY_MAX}]")]
    Length(usize),
}

/// The configuration cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Two keys with one id.
    #[error("duplicate auth_hmac key id {0}")]
    DuplicateKey(u8),
    /// `active_key` names no configured key (keepalived then disables the extension).
    #[error("auth_hmac active_key {0} is not defined")]
    NoActiveKey(u8),
    /// `time_window` outside [`WINDOW_MIN`]..=[`WINDOW_MAX`].
    #[error("auth_hmac time_window {0} must be between {WINDOW_MIN} and {WINDOW_MAX} seconds")]
    Window(u32),
}

/// A configured key, addressed by id for make-before-break rotation. `Debug` does not show
/// the material; it is overwritten on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    id: u8,
    material: Vec<u8>,
}

impl core::fmt::Debug for Key {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .field("len", &self.material.len())
            .finish_non_exhaustive()
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        self.material.fill(0);
        core::hint::black_box(&self.material);
    }
}

impl Key {
    /// A key with id 1..=255 and 32..=64 bytes of material.
    pub fn new(id: u8, material: &[u8]) -> Result<Self, KeyError> {
        if id == 0 {
            return Err(KeyError::IdZero);
        }
        if !(KEY_MIN..=KEY_MAX).contains(&material.len()) {
            return Err(KeyError::Length(material.len()));
        }
        Ok(Key {
            id,
            material: material.to_vec(),
        })
    }
    /// Key id.
    pub fn id(&self) -> u8 {
        self.id
    }
    /// Key material.
    pub fn material(&self) -> &[u8] {
        &self.material
    }
    /// Decode a key value as keepalived does (inline or the content of a `file:`): `hex:`
    /// then hex digits (spaces and tabs skipped; a lone digit before a space or the end is one
    /// byte), otherwise the ASCII bytes themselves. An invalid hex digit yields no bytes (which
    /// then fails the length check, as in keepalived). `file:` is resolved by the caller.
    pub fn decode_value(value: &str) -> Vec<u8> {
        match value.strip_prefix("hex:") {
            Some(hex) => decode_hex(hex).unwrap_or_default(),
            None => value.as_bytes().to_vec(),
        }
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// keepalived's `read_hex_str` without wildcards.
fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len().div_ceil(2));
    let mut i = 0;
    loop {
        while matches!(b.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        let Some(&c) = b.get(i) else { break };
        i += 1;
        let mut v = hex_val(c)?;
        if let Some(&c2) = b.get(i) {
            if c2 != b' ' {
                i += 1;
                v = (v << 4) | hex_val(c2)?;
            }
        }
        out.push(v);
    }
    if out.is_empty() {
        None
    } else {
        Some(out)
    }
}

/// `mode`: who signs and what is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Verifies a present trailer, sends none, accepts unsigned adverts (migration step 1).
    ReceiveOnly,
    /// Signs, accepts unsigned adverts (migration step 2).
    Permissive,
    /// Signs and requires a valid trailer (the default).
    #[default]
    Enforce,
}

impl Mode {
    /// keepalived's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::ReceiveOnly => "receive-only",
            Mode::Permissive => "permissive",
            Mode::Enforce => "enforce",
        }
    }
    /// Whether adverts are signed.
    pub const fn signs(self) -> bool {
        !matches!(self, Mode::ReceiveOnly)
    }
    /// Whether an advert without a trailer is accepted.
    pub const fn accepts_unsigned(self) -> bool {
        !matches!(self, Mode::Enforce)
    }
}

/// `anti_replay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AntiReplay {
    /// `time` (the default): a freshness window in seconds plus per-sender growth; needs
    /// clocks agreeing on UTC within the window.
    Time {
        /// `time_window`, seconds.
        window: u32,
    },
    /// `monotonic`: per-sender growth only.
    Monotonic,
}

impl AntiReplay {
    /// The window keepalived derives when `time_window` is not set:
    /// `max(3 × advert_int in whole seconds, 5)`, at most 300.
    pub fn default_window(advert_int: Duration) -> u32 {
        let secs = u32::try_from(advert_int.as_secs()).unwrap_or(u32::MAX);
        secs.saturating_mul(3).clamp(WINDOW_FLOOR, WINDOW_MAX)
    }
    /// The window in time mode.
    pub const fn window(self) -> Option<u32> {
        match self {
            AntiReplay::Time { window } => Some(window),
            AntiReplay::Monotonic => None,
        }
    }
}

/// Our clock minus the sender's seconds, in 32-bit wrapping arithmetic (as keepalived).
fn skew(now: Duration, sec: u32) -> i32 {
    (now.as_secs() as u32).wrapping_sub(sec) as i32
}

fn outside(delta: i32, window: u32) -> bool {
    i64::from(delta).abs() > i64::from(window)
}

/// The sender's sequence state: the last 64-bit sequence emitted (not persisted; a restarted
/// sender stays monotonic as long as its clock advanced across the restart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SendSequence {
    last: Seq,
}

impl SendSequence {
    /// Start from a given last value (keepalived starts from zero).
    pub const fn starting_at(last: Seq) -> Self {
        SendSequence { last }
    }
    /// The last sequence emitted.
    pub const fn last(&self) -> Seq {
        self.last
    }
    /// The next sequence at wall-clock time `now` (since the Unix epoch): the clock reading
    /// when it is after the last value, else the last value plus one (carrying into the
    /// timestamp); in time mode a last value stranded more than the window ahead of the clock
    /// (a corrected clock step) restarts from the clock.
    pub fn next(&mut self, now: Duration, anti_replay: AntiReplay) -> Seq {
        let clk = Seq::from_clock(now);
        if clk.after(self.last) {
            self.last = clk;
            return clk;
        }
        let ahead = self.last.sec().wrapping_sub(clk.sec()) as i32;
        self.last = match anti_replay {
            AntiReplay::Time { window } if i64::from(ahead) > i64::from(window) => clk,
            _ => Seq(self.last.0.wrapping_add(1)),
        };
        self.last
    }
}

/// A sender's anti-replay high-water mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplayState {
    last: Option<Seq>,
}

impl ReplayState {
    /// The last accepted sequence.
    pub const fn last(&self) -> Option<Seq> {
        self.last
    }
    /// Accept `seq` if it grows past the mark (RFC 1982 order) and raise the mark. In time
    /// mode (`now` and `window` given) a mark outside the window around `now` is first
    /// forgotten, which recovers a sender reset after a clock step.
    pub fn accept(
        &mut self,
        seq: Seq,
        now: Duration,
        anti_replay: AntiReplay,
    ) -> Result<(), AuthExtError> {
        if let (Some(last), AntiReplay::Time { window }) = (self.last, anti_replay) {
            if outside(skew(now, last.sec()), window) {
                self.last = None;
            }
        }
        if let Some(last) = self.last {
            if !seq.after(last) {
                return Err(AuthExtError::Replay {
                    seq: seq.0,
                    last: last.0,
                });
            }
        }
        self.last = Some(seq);
        Ok(())
    }
}

/// Per-instance multicast replay table: multicast has no configured peer list to anchor the
/// state on, so up to [`MCAST_SENDERS`] source addresses are tracked, least recently used
/// evicted. Only consulted once a tag verified, so forged sources cannot churn it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct McastSenders {
    slots: [Option<(IpAddr, ReplayState, u32)>; MCAST_SENDERS],
    lru_clock: u32,
}

impl McastSenders {
    fn tick(&mut self) -> u32 {
        self.lru_clock = self.lru_clock.wrapping_add(1);
        if self.lru_clock == 0 {
            self.lru_clock = 1;
        }
        self.lru_clock
    }
    /// The replay state of `src`, allocating (or evicting the least recently used) a slot.
    pub fn state_for(&mut self, src: IpAddr) -> &mut ReplayState {
        let rank = self.tick();
        let idx = match self
            .slots
            .iter()
            .position(|s| matches!(s, Some((a, _, _)) if *a == src))
        {
            Some(i) => i,
            None => {
                let victim = self
                    .slots
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, s)| s.as_ref().map_or(0, |(_, _, r)| *r))
                    .map_or(0, |(i, _)| i);
                if let Some(s) = self.slots.get_mut(victim) {
                    *s = Some((src, ReplayState::default(), rank));
                }
                victim
            }
        };
        // `idx` is in range and the slot is occupied: both branches above ensure it.
        let slot = &mut self.slots[idx % MCAST_SENDERS];
        let entry = slot.get_or_insert((src, ReplayState::default(), rank));
        entry.2 = rank;
        &mut entry.1
    }
    /// Senders currently tracked.
    pub fn senders(&self) -> impl Iterator<Item = (IpAddr, ReplayState)> + '_ {
        self.slots.iter().flatten().map(|(a, s, _)| (*a, *s))
    }
}

/// Where the replay state of the sender lives.
#[derive(Debug)]
pub enum ReplaySlot<'a> {
    /// Unicast: the state of the configured peer the source matched (keepalived rejects a
    /// source that is no configured peer before verifying).
    Unicast(&'a mut ReplayState),
    /// Multicast: the instance's table, keyed by the pseudo-header's source address.
    Multicast(&'a mut McastSenders),
}

/// The outcome of a successful check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No trailer, accepted because the mode is `receive-only` or `permissive`.
    Unsigned,
    /// Trailer verified.
    Verified {
        /// Key id that verified.
        key_id: u8,
        /// Sequence accepted.
        seq: Seq,
        /// Clock skew in seconds (time mode).
        skew: Option<i32>,
        /// The skew passed half the window: keepalived warns to fix NTP.
        skew_warning: bool,
    },
}

/// An instance's `auth_hmac` configuration (validated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthHmac {
    keys: Vec<Key>,
    active_key: u8,
    ext_type: u8,
    mode: Mode,
    anti_replay: AntiReplay,
}

impl AuthHmac {
    /// Validate: distinct key ids, `active_key` defined, window within range.
    pub fn new(
        keys: Vec<Key>,
        active_key: u8,
        mode: Mode,
        anti_replay: AntiReplay,
    ) -> Result<Self, ConfigError> {
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|o| o.id == k.id) {
                return Err(ConfigError::DuplicateKey(k.id));
            }
        }
        if !keys.iter().any(|k| k.id == active_key) {
            return Err(ConfigError::NoActiveKey(active_key));
        }
        if let AntiReplay::Time { window } = anti_replay {
            if !(WINDOW_MIN..=WINDOW_MAX).contains(&window) {
                return Err(ConfigError::Window(window));
            }
        }
        Ok(AuthHmac {
            keys,
            active_key,
            ext_type: EXT_TYPE_HMAC_SHA256,
            mode,
            anti_replay,
        })
    }
    /// The keys.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }
    /// The key with `id`.
    pub fn find_key(&self, id: u8) -> Option<&Key> {
        self.keys.iter().find(|k| k.id == id)
    }
    /// The signing key id.
    pub fn active_key(&self) -> u8 {
        self.active_key
    }
    /// The scheme.
    pub fn ext_type(&self) -> u8 {
        self.ext_type
    }
    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }
    /// The replay protection.
    pub fn anti_replay(&self) -> AntiReplay {
        self.anti_replay
    }
    /// Bytes the trailer adds to a sent advert (0 in `receive-only`).
    pub fn trailer_len(&self) -> usize {
        if self.mode.signs() {
            TRAILER_LEN
        } else {
            0
        }
    }

    /// The trailer for a VRRP `message` (header, addresses, v2 auth data; its checksum field
    /// is ignored) sent from `pseudo.src` with sequence `seq`, or `None` in `receive-only`.
    /// One trailer serves every unicast copy (the destination is not covered).
    pub fn sign(&self, seq: Seq, pseudo: &PseudoHeader, message: &[u8]) -> Option<TrailerRepr> {
        if !self.mode.signs() {
            return None;
        }
        let mut t = TrailerRepr {
            ext_type: self.ext_type,
            key_id: self.active_key,
            reserved: 0,
            seq,
            tag: [0u8; TAG_LEN],
        };
        // A missing active key leaves a zero tag every receiver rejects (cannot happen after
        // `new`).
        if let Some(k) = self.find_key(self.active_key) {
            t.tag = auth_ext::compute_tag(&k.material, &pseudo.to_bytes(), message, &t.prefix());
        }
        Some(t)
    }

    /// Sign in place: `buf[..message_len]` holds the VRRP message, the trailer is written at
    /// `buf[message_len..]`. Returns the bytes written (0 in `receive-only`).
    pub fn sign_into(
        &self,
        seq: Seq,
        pseudo: &PseudoHeader,
        buf: &mut [u8],
        message_len: usize,
    ) -> Result<usize, WireError> {
        let needed = message_len + self.trailer_len();
        if buf.len() < needed {
            return Err(WireError::Truncated {
                needed,
                got: buf.len(),
            });
        }
        let (msg, rest) = buf.split_at_mut(message_len);
        match self.sign(seq, pseudo, msg) {
            Some(t) => {
                let mut view = Trailer::new_checked(&mut rest[..TRAILER_LEN])?;
                t.emit(&mut view)?;
                Ok(TRAILER_LEN)
            }
            None => Ok(0),
        }
    }

    /// Check a received advert at wall-clock time `now`: `message` is the VRRP message as
    /// received (without the trailer), `trailer` what [`auth_ext::split_trailer`] found,
    /// `pseudo` the instance's version and VRID with the packet's source address. Raises the
    /// sender's replay mark only when everything verified.
    pub fn verify(
        &self,
        now: Duration,
        pseudo: &PseudoHeader,
        message: &[u8],
        trailer: Option<&Trailer<&[u8]>>,
        replay: ReplaySlot<'_>,
    ) -> Result<Verdict, AuthExtError> {
        let Some(tr) = trailer else {
            return if self.mode.accepts_unsigned() {
                Ok(Verdict::Unsigned)
            } else {
                Err(AuthExtError::Missing)
            };
        };
        let repr = TrailerRepr::parse(tr).map_err(|_| AuthExtError::Malformed {
            ext_type: 0,
            reserved: 0,
        })?;
        if repr.ext_type != self.ext_type || repr.reserved != 0 {
            return Err(AuthExtError::Malformed {
                ext_type: repr.ext_type,
                reserved: repr.reserved,
            });
        }
        // Shed stale timestamps before the digest (they are not yet authenticated: this only
        // rejects, it never grants trust).
        let mut skew_secs = None;
        if let AntiReplay::Time { window } = self.anti_replay {
            let d = skew(now, repr.seq.sec());
            skew_secs = Some(d);
            if outside(d, window) {
                return Err(AuthExtError::Stale { skew: d, window });
            }
        }
        let key = self
            .find_key(repr.key_id)
            .ok_or(AuthExtError::UnknownKey(repr.key_id))?;
        if !auth_ext::verify_tag(
            &key.material,
            &pseudo.to_bytes(),
            message,
            &repr.prefix(),
            &repr.tag,
        ) {
            return Err(AuthExtError::InvalidHmac {
                key_id: repr.key_id,
            });
        }
        let state = match replay {
            ReplaySlot::Unicast(s) => s,
            ReplaySlot::Multicast(t) => t.state_for(pseudo.src),
        };
        state.accept(repr.seq, now, self.anti_replay)?;
        let skew_warning = match (skew_secs, self.anti_replay.window()) {
            (Some(d), Some(w)) => i64::from(d).abs() > i64::from(w / 2),
            _ => false,
        };
        Ok(Verdict::Verified {
            key_id: repr.key_id,
            seq: repr.seq,
            skew: skew_secs,
            skew_warning,
        })
    }
}

/// Per-instance `auth_ext_*` counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuthExtCounters {
    /// `auth_ext_invalid_hmac`.
    pub invalid_hmac: u64,
    /// `auth_ext_malformed`.
    pub malformed: u64,
    /// `auth_ext_missing`.
    pub missing: u64,
    /// `auth_ext_replay`.
    pub replay: u64,
    /// `auth_ext_stale`.
    pub stale: u64,
    /// `auth_ext_unknown_key`.
    pub unknown_key: u64,
}

impl AuthExtCounters {
    /// Count a rejection.
    pub fn count(&mut self, e: &AuthExtError) {
        let c = match e {
            AuthExtError::Missing => &mut self.missing,
            AuthExtError::Malformed { .. } => &mut self.malformed,
            AuthExtError::UnknownKey(_) => &mut self.unknown_key,
            AuthExtError::InvalidHmac { .. } => &mut self.invalid_hmac,
            AuthExtError::Stale { .. } => &mut self.stale,
            AuthExtError::Replay { .. } => &mut self.replay,
        };
        *c += 1;
    }
    /// The counters by name, in [`AuthExtError::COUNTERS`] order.
    pub fn by_name(&self) -> [(&'static str, u64); 6] {
        [
            ("auth_ext_invalid_hmac", self.invalid_hmac),
            ("auth_ext_malformed", self.malformed),
            ("auth_ext_missing", self.missing),
            ("auth_ext_replay", self.replay),
            ("auth_ext_stale", self.stale),
            ("auth_ext_unknown_key", self.unknown_key),
        ]
    }
}
