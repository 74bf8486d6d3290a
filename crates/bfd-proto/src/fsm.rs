//! Sans-IO BFD session (RFC 5880 §6.8, asynchronous mode): time is an input.
//!
//! The caller owns the sockets and the clock: it calls [`Session::handle`] with the current
//! time and an [`Input`] (a deadline passed, a validated packet for this session, an
//! administrative command), performs the returned [`Action`]s, and sleeps until
//! [`Session::next_deadline`].
//!
//! Behaviour (RFC 5880, keepalived where the RFC leaves a choice):
//! - states Down/Init/Up/AdminDown per §6.8.6 (three-way handshake; remote AdminDown or Down
//!   brings an Up session Down with diag 3);
//! - while not Up the advertised and used Desired Min TX is the idle interval, at least 1 s
//!   (§6.8.3; keepalived `idle_tx`, default 1 s); entering Up switches to `desired_min_tx`
//!   with a Poll Sequence (§6.5);
//! - a change of the intervals while Up starts a Poll Sequence; a larger TX interval and a
//!   smaller RX interval only take effect when the Final arrives (§6.8.3);
//! - transmit interval = max(Desired Min TX in use, remote Required Min RX), reduced by a
//!   random 0–25 % (10–25 % when Detect Mult is 1) from a seedable RNG (§6.8.7);
//! - detection time = remote Detect Mult × max(Required Min RX in use, remote Desired Min TX)
//!   (§6.8.4); it expiring in Init/Up takes the session Down with diag 1; a further detection
//!   time without packets in Down forgets the remote (discriminator, auth sequence);
//! - a received Poll is answered at once with Final; passive sessions do not transmit until
//!   the remote has been heard from (§6.8.7); no periodic packets when the remote asks for
//!   demand mode and both are Up, or when its Required Min RX is 0;
//! - administratively down: packets with State AdminDown, diag 7, for one detection time,
//!   then silence; received packets are discarded.

use std::time::{Duration, Instant};

use crate::error::{RxCounters, RxError, WireError};
use crate::validate::Valid;
use crate::wire::auth::{self, AuthKey, RxAuthState};
use crate::wire::{Diag, Repr, State, VERSION};

/// The slowest-start rule: while not Up, Desired Min TX is at least one second (µs).
pub const SLOW_TX_US: u32 = 1_000_000;

/// Session parameters (keepalived `bfd_instance` names in brackets; intervals in µs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// bfd.LocalDiscr: nonzero, unique among the caller's sessions.
    pub local_discriminator: u32,
    /// bfd.DesiredMinTxInterval while Up [`min_tx`, keepalived default 10 ms].
    pub desired_min_tx: u32,
    /// bfd.RequiredMinRxInterval [`min_rx`, default 10 ms]; at least 1.
    pub required_min_rx: u32,
    /// Desired Min TX while not Up [`idle_tx`, default 1 s]; raised to 1 s if lower.
    pub idle_tx: u32,
    /// bfd.DetectMult [`multiplier`, default 5]; at least 1.
    pub detect_mult: u8,
    /// Passive role [`passive`]: no packets until the remote has been heard from.
    pub passive: bool,
    /// Smallest accepted TTL/hop limit (see [`crate::validate::min_rx_ttl`]); `None`: no check.
    pub min_rx_ttl: Option<u8>,
    /// Authentication; `None` discards every packet with the A bit, as keepalived does.
    pub auth: Option<AuthKey>,
    /// Seed for transmit jitter and the initial auth sequence number.
    pub seed: u64,
}

impl SessionConfig {
    /// keepalived's defaults for a session with the given discriminator.
    pub fn keepalived_defaults(local_discriminator: u32) -> Self {
        SessionConfig {
            local_discriminator,
            desired_min_tx: 10_000,
            required_min_rx: 10_000,
            idle_tx: 1_000_000,
            detect_mult: 5,
            passive: false,
            min_rx_ttl: Some(255),
            auth: None,
            seed: u64::from(local_discriminator),
        }
    }
}

/// An input to the session.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// [`Session::next_deadline`] has passed (spurious calls are harmless).
    Timer,
    /// A packet for this session that passed [`crate::validate::validate`], with the
    /// received TTL/hop limit if known.
    Packet {
        /// The validated packet.
        packet: &'a Valid<'a>,
        /// Received TTL or hop limit.
        ttl: Option<u8>,
    },
    /// Take the session administratively down.
    AdminDown,
    /// Return from AdminDown to Down.
    AdminUp,
    /// Change intervals or multiplier (reload); a Poll Sequence follows when Up.
    SetParams {
        /// New Desired Min TX (µs).
        desired_min_tx: u32,
        /// New Required Min RX (µs).
        required_min_rx: u32,
        /// New Detect Mult.
        detect_mult: u8,
    },
}

/// Why the state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateChange {
    /// Previous state.
    pub from: State,
    /// New state.
    pub to: State,
    /// bfd.LocalDiag after the change.
    pub diag: Diag,
}

/// Negotiated timers (for logs and metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// Interval between our packets before jitter (None: not sending periodically).
    pub tx_interval: Option<Duration>,
    /// Our detection time for the remote (None: nothing heard).
    pub detection_time: Option<Duration>,
}

/// Something the caller must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send this packet (encode with [`Session::encode`], which signs it when keyed).
    Transmit(Repr),
    /// The session changed state.
    StateChange(StateChange),
    /// The negotiated transmit interval or detection time changed.
    TimersChanged(Timers),
    /// The packet was discarded (already counted in [`Session::counters`]).
    Dropped(RxError),
}

/// Actions from one input, in order.
pub type Actions = Vec<Action>;

/// Per-session counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Packets transmitted (periodic and Final).
    pub tx_packets: u64,
    /// Of which answers to a Poll.
    pub tx_final: u64,
    /// Received: accepted and per-reason rejections.
    pub rx: RxCounters,
    /// State changes of any kind.
    pub state_changes: u64,
    /// Entries to Up.
    pub up: u64,
    /// Downs because the detection time expired (diag 1).
    pub detect_timeouts: u64,
    /// Downs because the neighbor signalled Down or AdminDown (diag 3).
    pub neighbor_down: u64,
    /// Poll Sequences started.
    pub polls_started: u64,
    /// Poll Sequences terminated by a Final.
    pub polls_completed: u64,
}

/// SplitMix64: small, seedable, deterministic.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi` (`lo <= hi`).
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

fn us(v: u32) -> Duration {
    Duration::from_micros(u64::from(v))
}

/// One BFD session.
#[derive(Debug, Clone)]
pub struct Session {
    cfg: SessionConfig,
    state: State,
    remote_state: State,
    local_diag: Diag,
    remote_discr: u32,
    remote_min_rx: u32,
    remote_desired_min_tx: u32,
    remote_detect_mult: u8,
    remote_demand: bool,
    /// Desired Min TX advertised in our packets.
    adv_tx: u32,
    /// Desired Min TX used for pacing.
    eff_tx: u32,
    /// Required Min RX used for the detection time.
    eff_rx: u32,
    /// Poll Sequence running: our packets carry P.
    poll: bool,
    /// Values carried by the Poll Sequence (applied when Final arrives).
    poll_values: (u32, u32),
    next_tx: Option<Instant>,
    rx_deadline: Option<Instant>,
    admin_tx_until: Option<Instant>,
    timers: Timers,
    rng: Rng,
    xmit_seq: u32,
    rx_auth: RxAuthState,
    counters: Counters,
}

impl Session {
    /// A session in Down; an active session transmits at once (first [`Input::Timer`] at
    /// `now`), a passive one waits for the remote.
    pub fn new(cfg: SessionConfig, now: Instant) -> Self {
        let mut cfg = cfg;
        cfg.idle_tx = cfg.idle_tx.max(SLOW_TX_US);
        cfg.required_min_rx = cfg.required_min_rx.max(1);
        cfg.detect_mult = cfg.detect_mult.max(1);
        let mut rng = Rng(cfg.seed);
        let xmit_seq = rng.next() as u32;
        let mut s = Session {
            cfg,
            state: State::Down,
            remote_state: State::Down,
            local_diag: Diag::None,
            remote_discr: 0,
            remote_min_rx: 1,
            remote_desired_min_tx: 0,
            remote_detect_mult: 0,
            remote_demand: false,
            adv_tx: cfg.idle_tx,
            eff_tx: cfg.idle_tx,
            eff_rx: cfg.required_min_rx,
            poll: false,
            poll_values: (cfg.idle_tx, cfg.required_min_rx),
            next_tx: None,
            rx_deadline: None,
            admin_tx_until: None,
            timers: Timers {
                tx_interval: None,
                detection_time: None,
            },
            rng,
            xmit_seq,
            rx_auth: RxAuthState::default(),
            counters: Counters::default(),
        };
        if s.may_transmit() {
            s.next_tx = Some(now);
        }
        s.timers = s.compute_timers();
        s
    }

    /// bfd.SessionState.
    pub fn state(&self) -> State {
        self.state
    }
    /// bfd.RemoteSessionState.
    pub fn remote_state(&self) -> State {
        self.remote_state
    }
    /// bfd.LocalDiag.
    pub fn local_diag(&self) -> Diag {
        self.local_diag
    }
    /// bfd.LocalDiscr.
    pub fn local_discriminator(&self) -> u32 {
        self.cfg.local_discriminator
    }
    /// bfd.RemoteDiscr (0: not known).
    pub fn remote_discriminator(&self) -> u32 {
        self.remote_discr
    }
    /// Whether a Poll Sequence is running.
    pub fn polling(&self) -> bool {
        self.poll
    }
    /// Negotiated timers.
    pub fn timers(&self) -> Timers {
        self.timers
    }
    /// The configuration in use.
    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }
    /// Counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
    /// Replace the local discriminator (keepalived picks a new random one when an Up session
    /// goes Down; the caller keeps them unique).
    pub fn set_local_discriminator(&mut self, d: u32) {
        if d != 0 {
            self.cfg.local_discriminator = d;
        }
    }

    /// The earliest time [`Input::Timer`] is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        match (self.next_tx, self.rx_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Encode a packet from [`Action::Transmit`] into `buf`, signing it when keyed.
    pub fn encode(&self, repr: &Repr, buf: &mut [u8]) -> Result<usize, WireError> {
        match &self.cfg.auth {
            Some(k) => repr.emit_signed(buf, k.secret()),
            None => repr.emit(buf),
        }
    }

    /// Process one input at `now`.
    pub fn handle(&mut self, now: Instant, input: Input<'_>) -> Actions {
        let mut out = Actions::new();
        match input {
            Input::Timer => self.on_timer(now, &mut out),
            Input::Packet { packet, ttl } => {
                if let Err(e) = self.on_packet(now, packet, ttl, &mut out) {
                    self.counters.rx.reject(&e);
                    out.push(Action::Dropped(e));
                }
            }
            Input::AdminDown => {
                if self.state != State::AdminDown {
                    self.set_state(State::AdminDown, Diag::AdministrativelyDown, &mut out);
                    self.rx_deadline = None;
                    self.poll = false;
                    self.admin_tx_until =
                        Some(now + self.detection_time().unwrap_or(us(self.eff_tx)));
                    self.next_tx = Some(now);
                }
            }
            Input::AdminUp => {
                if self.state == State::AdminDown {
                    self.admin_tx_until = None;
                    self.set_state(State::Down, Diag::None, &mut out);
                    self.next_tx = if self.may_transmit() { Some(now) } else { None };
                }
            }
            Input::SetParams {
                desired_min_tx,
                required_min_rx,
                detect_mult,
            } => {
                let old = (self.cfg.desired_min_tx, self.cfg.required_min_rx);
                self.cfg.desired_min_tx = desired_min_tx;
                self.cfg.required_min_rx = required_min_rx.max(1);
                self.cfg.detect_mult = detect_mult.max(1);
                // Detect Mult travels in every packet; only the intervals need a Poll.
                if old != (self.cfg.desired_min_tx, self.cfg.required_min_rx) {
                    self.retune(now);
                }
            }
        }
        self.refresh_timers(&mut out);
        out
    }

    fn on_timer(&mut self, now: Instant, out: &mut Actions) {
        if let Some(t) = self.rx_deadline {
            if t <= now {
                self.rx_deadline = None;
                match self.state {
                    State::Init | State::Up => {
                        // §6.8.4: the session has gone down; §6.8.1: forget the remote.
                        self.remote_discr = 0;
                        self.counters.detect_timeouts += 1;
                        self.set_state(State::Down, Diag::ControlDetectionTimeExpired, out);
                        // Forget the rest after a further detection time (keepalived reset).
                        self.rx_deadline = self.detection_time().map(|d| now + d);
                    }
                    State::Down => self.forget_remote(),
                    State::AdminDown => {}
                }
                self.reschedule_tx(now);
            }
        }
        if let Some(t) = self.next_tx {
            if t <= now {
                if self.state == State::AdminDown && self.admin_tx_until.is_some_and(|u| now > u) {
                    // One detection time of AdminDown packets sent: fall silent.
                    self.admin_tx_until = None;
                    self.next_tx = None;
                    return;
                }
                if self.may_transmit() {
                    let repr = self.build(false);
                    out.push(Action::Transmit(repr));
                    self.counters.tx_packets += 1;
                    self.next_tx = self.tx_interval().map(|i| now + self.jitter(i));
                } else {
                    self.next_tx = None;
                }
            }
        }
    }

    fn forget_remote(&mut self) {
        self.remote_discr = 0;
        self.remote_state = State::Down;
        self.remote_min_rx = 1;
        self.remote_desired_min_tx = 0;
        self.remote_detect_mult = 0;
        self.remote_demand = false;
        self.rx_auth = RxAuthState::default();
    }

    fn on_packet(
        &mut self,
        now: Instant,
        v: &Valid<'_>,
        ttl: Option<u8>,
        out: &mut Actions,
    ) -> Result<(), RxError> {
        let p = &v.repr;
        if let (Some(min), Some(ttl)) = (self.cfg.min_rx_ttl, ttl) {
            if ttl < min {
                return Err(RxError::Ttl { ttl, min });
            }
        }
        if p.your_discriminator != 0 && p.your_discriminator != self.cfg.local_discriminator {
            return Err(RxError::NoSession(p.your_discriminator));
        }
        match (&p.auth, &self.cfg.auth) {
            (Some(_), None) => return Err(RxError::AuthUnexpected),
            (None, Some(_)) => return Err(RxError::AuthMissing),
            (Some(sec), Some(key)) => {
                auth::verify(v.bytes, sec, key, p.detect_mult, &mut self.rx_auth)?
            }
            (None, None) => {}
        }
        if self.state == State::AdminDown {
            return Err(RxError::AdminDown);
        }
        self.counters.rx.accepted += 1;

        self.remote_discr = p.my_discriminator;
        self.remote_state = p.state;
        self.remote_demand = p.demand;
        self.remote_min_rx = p.required_min_rx;
        self.remote_desired_min_tx = p.desired_min_tx;
        self.remote_detect_mult = p.detect_mult;

        if p.final_ && self.poll {
            self.poll = false;
            self.counters.polls_completed += 1;
            self.eff_tx = self.poll_values.0;
            self.eff_rx = self.poll_values.1;
            if (self.adv_tx, self.cfg.required_min_rx) != self.poll_values {
                self.start_poll();
            }
        }

        if p.state == State::AdminDown {
            if self.state != State::Down {
                self.counters.neighbor_down += 1;
                self.set_state(State::Down, Diag::NeighborSignaledDown, out);
            }
        } else {
            match (self.state, p.state) {
                (State::Down, State::Down) => self.set_state(State::Init, Diag::None, out),
                (State::Down, State::Init) => self.set_state(State::Up, Diag::None, out),
                (State::Init, State::Init | State::Up) => {
                    self.set_state(State::Up, Diag::None, out)
                }
                (State::Up, State::Down) => {
                    self.counters.neighbor_down += 1;
                    self.set_state(State::Down, Diag::NeighborSignaledDown, out)
                }
                _ => {}
            }
        }

        self.rx_deadline = self.detection_time().map(|d| now + d);
        if p.poll {
            let repr = self.build(true);
            out.push(Action::Transmit(repr));
            self.counters.tx_packets += 1;
            self.counters.tx_final += 1;
        }
        self.reschedule_tx(now);
        Ok(())
    }

    /// Move to `to`, adjusting the advertised/used intervals.
    fn set_state(&mut self, to: State, diag: Diag, out: &mut Actions) {
        let from = self.state;
        if from == to {
            return;
        }
        self.state = to;
        self.local_diag = diag;
        self.counters.state_changes += 1;
        if to == State::Up {
            self.counters.up += 1;
            self.adv_tx = self.cfg.desired_min_tx;
            // §6.8.3: a faster rate may be used at once; a slower one waits for the Final.
            if self.adv_tx < self.eff_tx {
                self.eff_tx = self.adv_tx;
            }
            if self.adv_tx != self.cfg.idle_tx {
                self.start_poll();
            }
        } else if from == State::Up {
            // Not Up: back to the idle rate at once, no Poll Sequence.
            self.adv_tx = self.cfg.idle_tx;
            self.eff_tx = self.cfg.idle_tx;
            self.eff_rx = self.cfg.required_min_rx;
            self.poll = false;
        }
        out.push(Action::StateChange(StateChange { from, to, diag }));
    }

    fn start_poll(&mut self) {
        self.poll = true;
        self.poll_values = (self.adv_tx, self.cfg.required_min_rx);
        self.counters.polls_started += 1;
    }

    /// Apply changed configuration: at once when not Up, by Poll Sequence when Up.
    fn retune(&mut self, now: Instant) {
        if self.state == State::Up {
            self.adv_tx = self.cfg.desired_min_tx;
            if self.adv_tx < self.eff_tx {
                self.eff_tx = self.adv_tx;
            }
            if self.cfg.required_min_rx > self.eff_rx {
                self.eff_rx = self.cfg.required_min_rx;
            }
            if !self.poll || (self.adv_tx, self.cfg.required_min_rx) != self.poll_values {
                self.start_poll();
            }
        } else {
            self.eff_rx = self.cfg.required_min_rx;
        }
        self.reschedule_tx(now);
    }

    fn may_transmit(&self) -> bool {
        if self.state == State::AdminDown {
            return self.admin_tx_until.is_some();
        }
        if self.cfg.passive && self.remote_discr == 0 {
            return false;
        }
        if self.remote_min_rx == 0 {
            return false;
        }
        !(self.remote_demand && self.state == State::Up && self.remote_state == State::Up)
    }

    fn tx_interval(&self) -> Option<Duration> {
        if !self.may_transmit() {
            return None;
        }
        Some(us(self.eff_tx.max(self.remote_min_rx)))
    }

    fn detection_time(&self) -> Option<Duration> {
        if self.remote_detect_mult == 0 {
            return None;
        }
        let agreed = u64::from(self.eff_rx.max(self.remote_desired_min_tx));
        Some(Duration::from_micros(
            u64::from(self.remote_detect_mult) * agreed,
        ))
    }

    /// §6.8.7: the interval less 0–25 % (10–25 % with Detect Mult 1).
    fn jitter(&mut self, i: Duration) -> Duration {
        let total = i.as_micros().min(u128::from(u64::MAX)) as u64;
        let lo = if self.cfg.detect_mult == 1 {
            total / 10
        } else {
            0
        };
        let cut = self.rng.range(lo, total / 4);
        Duration::from_micros(total - cut)
    }

    /// Start, stop or bring forward the periodic timer after a change.
    fn reschedule_tx(&mut self, now: Instant) {
        match self.tx_interval() {
            None => {
                if self.state != State::AdminDown {
                    self.next_tx = None;
                }
            }
            Some(i) => {
                let soonest = now + i;
                match self.next_tx {
                    None => self.next_tx = Some(now + self.jitter(i)),
                    Some(t) if t > soonest => self.next_tx = Some(now + self.jitter(i)),
                    Some(_) => {}
                }
            }
        }
    }

    fn compute_timers(&self) -> Timers {
        Timers {
            tx_interval: self.tx_interval(),
            detection_time: self.detection_time(),
        }
    }

    fn refresh_timers(&mut self, out: &mut Actions) {
        let t = self.compute_timers();
        if t != self.timers {
            self.timers = t;
            out.push(Action::TimersChanged(t));
        }
    }

    /// Build our next packet (`final_`: an answer to a Poll, which never carries P).
    fn build(&mut self, final_: bool) -> Repr {
        let auth = self.cfg.auth.map(|k| {
            self.xmit_seq = self.xmit_seq.wrapping_add(1);
            k.section(self.xmit_seq)
        });
        Repr {
            version: VERSION,
            diag: self.local_diag,
            state: self.state,
            poll: self.poll && !final_,
            final_,
            control_plane_independent: false,
            demand: false,
            multipoint: false,
            detect_mult: self.cfg.detect_mult,
            my_discriminator: self.cfg.local_discriminator,
            your_discriminator: self.remote_discr,
            desired_min_tx: self.adv_tx,
            required_min_rx: self.cfg.required_min_rx,
            required_min_echo_rx: 0,
            auth,
        }
    }
}
