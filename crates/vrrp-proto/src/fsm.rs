//! The sans-IO VRRP state machine (RFC 5798 §6.4, RFC 3768 §6.4) with keepalived's
//! extensions. Time is an input: the caller passes `now` to [`VirtualRouter::handle`] and calls
//! it with [`Input::Timer`] once `now >= next_deadline()`. Outputs are [`Action`]s the IO shell
//! performs in order.
//!
//! Only adverts that passed [`crate::validate()`] may be given as [`Input::Advert`].

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::units::{
    master_down_interval, skew_time, AdvertInterval, Family, Priority, Version, Vrid,
};
use crate::validate::AuthConfig;
use crate::wire::vrrp::AdvertRepr;

mod sync_group;

pub use sync_group::SyncGroup;

/// Protocol state (RFC 5798 §6.4) plus keepalived's FAULT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Not running (RFC 5798 §6.4.1).
    Initialize,
    /// Backup (RFC 5798 §6.4.2).
    Backup,
    /// Master (RFC 5798 §6.4.3).
    Master,
    /// keepalived FAULT: an interface or tracked object is down; no adverts sent or obeyed.
    Fault,
}

/// Why a transition happened (RFC 6527 `vrrpv3StatisticsNewMasterReason` plus our own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Startup of the instance.
    Startup,
    /// Address owner (priority 255) takes over immediately at startup (RFC 5798 §6.4.1).
    AddressOwner,
    /// `state MASTER` configured (kept for callers; keepalived 2.2.7 and this state machine make
    /// a non-owner listen for a Master_Down_Interval first, so no transition carries it now).
    ConfiguredMaster,
    /// Master_Down_Timer fired: the master stopped advertising.
    MasterNoResponse,
    /// Master_Down_Timer (Skew_Time) fired after a priority-0 advert.
    PriorityZero,
    /// We pre-empted a lower-priority master.
    Preempted,
    /// A higher-priority (or equal priority, higher address) advert was received.
    HigherPriority,
    /// Shutdown.
    Shutdown,
    /// Fault set.
    Fault,
    /// Fault cleared.
    FaultCleared,
    /// Forced by the sync group.
    SyncGroup,
    /// `timer_expired_backup`: this master ran late enough for another to have taken over.
    TimerExpired,
    /// Someone deleted a VIP, virtual route or virtual rule of this master ([`VirtualRouter::relinquish`]).
    Relinquished,
}

/// Which gratuitous ARP / NA burst this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GarpKind {
    /// On becoming master (`garp_master_repeat`).
    BecomeMaster,
    /// Second burst `garp_master_delay` after becoming master.
    MasterDelay,
    /// Periodic refresh (`garp_master_refresh`).
    Refresh,
    /// After a lower-priority advert while master (`garp_lower_prio_repeat`).
    LowerPriority,
    /// Delayed repeat after a lower-priority advert (`garp_lower_prio_delay`).
    LowerPriorityDelay,
}

/// An output for the IO shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send one advertisement with this priority (0 when resigning).
    SendAdvert {
        /// Priority to put in the advert.
        priority: Priority,
    },
    /// Install the virtual addresses (`accept`: whether traffic to them is accepted, RFC 5798
    /// Accept_Mode; keepalived otherwise blocks it).
    AddVips {
        /// Accept_Mode.
        accept: bool,
    },
    /// Remove the virtual addresses.
    RemoveVips,
    /// Send `count` gratuitous ARPs (IPv4) / unsolicited NAs (IPv6) for every VIP, spaced by
    /// the instance's garp/gna interval.
    SendGarp {
        /// Repeats.
        count: u32,
        /// Why.
        kind: GarpKind,
    },
    /// State changed.
    Notify {
        /// Old state.
        from: State,
        /// New state.
        to: State,
        /// Why.
        reason: Reason,
    },
    /// keepalived `notify_master_rx_lower_pri`: a lower-priority advert arrived while master.
    MasterRxLowerPriority {
        /// Sender.
        src: IpAddr,
        /// Its priority.
        priority: Priority,
    },
    /// The next deadline (None: no timer). Emitted at the end of every `handle` call when the
    /// deadline changed; equals [`VirtualRouter::next_deadline`].
    ArmTimer(Option<Instant>),
}

/// Actions from one input, in order.
pub type Actions = Vec<Action>;

/// Gratuitous ARP / NA settings (keepalived names and defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GarpConfig {
    /// `garp_master_delay`: second burst after becoming master (None = no second burst).
    pub master_delay: Option<Duration>,
    /// `garp_master_repeat`: GARPs per burst on becoming master.
    pub master_repeat: u32,
    /// `garp_master_refresh`: periodic refresh while master (None = off).
    pub master_refresh: Option<Duration>,
    /// `garp_master_refresh_repeat`.
    pub master_refresh_repeat: u32,
    /// `garp_lower_prio_delay`: repeat after a lower-priority advert (None = no repeat).
    pub lower_prio_delay: Option<Duration>,
    /// `garp_lower_prio_repeat` (0 = no GARP on lower-priority adverts).
    pub lower_prio_repeat: u32,
}

impl Default for GarpConfig {
    fn default() -> Self {
        GarpConfig {
            master_delay: Some(Duration::from_secs(5)),
            master_repeat: 5,
            master_refresh: None,
            master_refresh_repeat: 1,
            lower_prio_delay: None,
            lower_prio_repeat: 0,
        }
    }
}

/// Initial state requested by the configuration (`state MASTER|BACKUP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InitialState {
    /// Start as backup and wait Master_Down_Interval.
    #[default]
    Backup,
    /// Take over immediately unless a better master is heard (keepalived).
    Master,
}

/// Configuration of one virtual router (one keepalived `vrrp_instance`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterConfig {
    /// VRID.
    pub vrid: Vrid,
    /// Protocol version.
    pub version: Version,
    /// Address family.
    pub family: Family,
    /// Base priority (255 = address owner).
    pub priority: Priority,
    /// Our advertisement interval (typed per version).
    pub advert_interval: AdvertInterval,
    /// Virtual addresses.
    pub vips: Vec<IpAddr>,
    /// Our primary (source) address, used to break priority ties (RFC 5798 §6.4.3).
    pub primary_addr: IpAddr,
    /// Preempt_Mode (false = keepalived `nopreempt`).
    pub preempt: bool,
    /// `preempt_delay`: hold off pre-empting a lower-priority master this long.
    pub preempt_delay: Option<Duration>,
    /// Accept_Mode.
    pub accept: bool,
    /// Master_Down_Interval multiplier (RFC: 3).
    pub down_timer_adverts: u8,
    /// v2 authentication.
    pub auth: AuthConfig,
    /// Master: do not answer a lower-priority advert with an advert.
    pub lower_prio_no_advert: bool,
    /// Master: answer a higher-priority advert with an advert before yielding.
    pub higher_prio_send_advert: bool,
    /// GARP/NA settings.
    pub garp: GarpConfig,
    /// Initial state.
    pub initial_state: InitialState,
}

impl RouterConfig {
    /// A config with keepalived's defaults for the rest.
    pub fn new(vrid: Vrid, version: Version, primary_addr: IpAddr, vips: Vec<IpAddr>) -> Self {
        let family = if primary_addr.is_ipv6() {
            Family::V6
        } else {
            Family::V4
        };
        RouterConfig {
            vrid,
            version,
            family,
            priority: Priority::DEFAULT,
            advert_interval: match version {
                Version::V2 => AdvertInterval::V2Secs(1),
                Version::V3 => AdvertInterval::V3(crate::units::Centisecs(100)),
            },
            vips,
            primary_addr,
            preempt: true,
            preempt_delay: None,
            accept: false,
            down_timer_adverts: 3,
            auth: AuthConfig::None,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            garp: GarpConfig::default(),
            initial_state: InitialState::Backup,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Timers {
    /// Backup: Master_Down_Timer; Master: Adver_Timer.
    main: Option<Instant>,
    garp_delay: Option<Instant>,
    garp_refresh: Option<Instant>,
    garp_lower: Option<Instant>,
}

impl Timers {
    fn next(&self) -> Option<Instant> {
        [
            self.main,
            self.garp_delay,
            self.garp_refresh,
            self.garp_lower,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// One virtual router.
#[derive(Debug, Clone)]
pub struct VirtualRouter {
    cfg: RouterConfig,
    state: State,
    /// Effective priority (base adjusted by tracking).
    priority: Priority,
    /// Master_Adver_Interval (v3 learns it from the master).
    master_adver_int: AdvertInterval,
    timers: Timers,
    /// Why the pending Master_Down_Timer would make us master.
    pending_reason: Reason,
    /// preempt_delay running until this instant.
    preempt_until: Option<Instant>,
    /// Address of the current master (as seen from Backup).
    master_addr: Option<IpAddr>,
    /// Priority of the current master.
    master_priority: Option<Priority>,
    fault: bool,
    tracked_delta: i32,
    /// In a sync group: master-down expiry only records the wish, the group decides.
    in_sync_group: bool,
    wants_master: bool,
    last_armed: Option<Instant>,
    /// `vrrp_startup_delay`: the start's timers count from this instant.
    start_at: Option<Instant>,
}

/// An input to the state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Start the instance (RFC 5798 §6.4.1 Startup event).
    Startup,
    /// Stop the instance (RFC 5798 §6.4.2/§6.4.3 Shutdown event).
    Shutdown,
    /// A validated advert.
    Advert {
        /// Source address.
        src: IpAddr,
        /// TTL / hop limit it arrived with.
        ttl: u8,
        /// The advert.
        repr: AdvertRepr,
    },
    /// `now` reached [`VirtualRouter::next_deadline`].
    Timer,
    /// The total tracked priority delta changed (sum of track weights); the effective
    /// priority is base + delta clamped to 1..=254 (an owner stays 255), as keepalived.
    PriorityChange(i32),
    /// Fault set (true) or cleared (false).
    Fault(bool),
}

impl VirtualRouter {
    /// Build from a config; the router is in `Initialize` until [`Input::Startup`].
    pub fn new(cfg: RouterConfig) -> Self {
        let priority = cfg.priority;
        let mai = cfg.advert_interval;
        VirtualRouter {
            cfg,
            state: State::Initialize,
            priority,
            master_adver_int: mai,
            timers: Timers::default(),
            pending_reason: Reason::MasterNoResponse,
            preempt_until: None,
            master_addr: None,
            master_priority: None,
            fault: false,
            tracked_delta: 0,
            in_sync_group: false,
            wants_master: false,
            last_armed: None,
            start_at: None,
        }
    }

    /// `vrrp_startup_delay`: the next [`Input::Startup`] before `until` goes Backup with its
    /// timer counted from `until` (keepalived's `vrrp_delayed_start_time`): the Master_Down
    /// timer, or 1 µs for an address owner, which therefore becomes master only then.
    pub fn delay_start(&mut self, until: Instant) {
        self.start_at = Some(until);
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }
    /// Configuration.
    pub fn config(&self) -> &RouterConfig {
        &self.cfg
    }
    /// Effective priority.
    pub fn priority(&self) -> Priority {
        self.priority
    }
    /// Master_Adver_Interval currently in use.
    pub fn master_adver_int(&self) -> AdvertInterval {
        self.master_adver_int
    }
    /// Address of the master we follow (Backup only).
    pub fn master_addr(&self) -> Option<IpAddr> {
        self.master_addr
    }
    /// Whether [`crate::ReceiveContext::check_addresses`] should be set for an advert from
    /// `src`: keepalived compares the address list always, except with `skip_check_adv_addr`
    /// when the advert comes from the master we already follow (Backup state).
    pub fn check_addresses_for(&self, src: IpAddr, skip_check_adv_addr: bool) -> bool {
        !(skip_check_adv_addr && self.state == State::Backup && self.master_addr == Some(src))
    }
    /// Whether fault is set.
    pub fn is_fault(&self) -> bool {
        self.fault
    }
    /// The earliest pending deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.next()
    }
    /// Whether the Master_Down_Timer expired while a sync group held us in Backup.
    pub fn wants_master(&self) -> bool {
        self.wants_master
    }
    /// Mark this router as a sync-group member (see [`SyncGroup`]).
    pub fn set_in_sync_group(&mut self, v: bool) {
        self.in_sync_group = v;
    }
    /// Skew_Time with the current priority and Master_Adver_Interval.
    pub fn skew_time(&self) -> Duration {
        skew_time(
            self.cfg.version,
            self.skew_priority(),
            self.master_adver_int,
        )
    }
    /// Master_Down_Interval with the current values.
    pub fn master_down_interval(&self) -> Duration {
        master_down_interval(
            self.cfg.version,
            self.skew_priority(),
            self.master_adver_int,
            self.cfg.down_timer_adverts,
        )
    }
    fn skew_priority(&self) -> Priority {
        if self.cfg.priority == Priority::OWNER {
            Priority::OWNER
        } else {
            self.priority
        }
    }

    /// Feed one input at time `now`; returns the actions to perform in order.
    pub fn handle(&mut self, now: Instant, input: Input) -> Actions {
        let mut out = Vec::new();
        match input {
            Input::Startup => self.on_startup(now, &mut out),
            Input::Shutdown => self.on_shutdown(&mut out),
            Input::Advert { src, ttl: _, repr } => self.on_advert(now, src, &repr, &mut out),
            Input::Timer => self.on_timer(now, &mut out),
            Input::PriorityChange(delta) => self.on_priority(now, delta, &mut out),
            Input::Fault(f) => self.on_fault(now, f, &mut out),
        }
        let next = self.timers.next();
        if next != self.last_armed {
            self.last_armed = next;
            out.push(Action::ArmTimer(next));
        }
        out
    }

    fn transition(&mut self, to: State, reason: Reason, out: &mut Actions) {
        let from = self.state;
        self.state = to;
        out.push(Action::Notify { from, to, reason });
    }

    fn start_backup_timer(&mut self, now: Instant, d: Duration, reason: Reason) {
        self.timers = Timers {
            main: Some(now + d),
            ..Timers::default()
        };
        self.pending_reason = reason;
    }

    // RFC 5798 §6.4.1: Startup.
    fn on_startup(&mut self, now: Instant, out: &mut Actions) {
        if self.state != State::Initialize {
            return;
        }
        if self.fault {
            self.transition(State::Fault, Reason::Fault, out);
            return;
        }
        self.master_adver_int = self.cfg.advert_interval;
        if let Some(until) = self.start_at.take().filter(|t| *t > now) {
            // keepalived vrrp_init_instance_sands: sands = delayed start + the down timer.
            self.transition(State::Backup, Reason::Startup, out);
            if self.cfg.priority == Priority::OWNER {
                self.start_backup_timer(until, Duration::from_micros(1), Reason::AddressOwner);
            } else {
                let d = self.master_down_interval();
                self.start_backup_timer(until, d, Reason::MasterNoResponse);
            }
            return;
        }
        if self.cfg.priority == Priority::OWNER && !self.in_sync_group {
            // §6.4.1: "If the Priority = 255 ... transition to the Master state".
            self.become_master(now, Reason::AddressOwner, out);
        } else if self.cfg.priority == Priority::OWNER {
            // keepalived vrrp_init_state: an owner in a sync group goes Backup with a 1 µs down
            // timer, so it takes over at once unless the group holds it.
            self.transition(State::Backup, Reason::Startup, out);
            self.start_backup_timer(now, Duration::from_micros(1), Reason::AddressOwner);
        } else {
            // §6.4.1: else set Master_Down_Timer to Master_Down_Interval, go Backup. keepalived
            // 2.2.7 does the same for `state MASTER` below 255 (vrrp_init_state: only the owner
            // or a reload's master skips the wait): it listens first, so a restarted backup
            // configured `state MASTER` never claims a VIP another master holds.
            self.transition(State::Backup, Reason::Startup, out);
            let d = self.master_down_interval();
            self.start_backup_timer(now, d, Reason::MasterNoResponse);
        }
    }

    fn become_master(&mut self, now: Instant, reason: Reason, out: &mut Actions) {
        // RFC 5798 §6.4.2 (Master_Down_Timer fires) / §6.4.1: send an ADVERTISEMENT, then
        // broadcast gratuitous ARP / unsolicited NA, set Adver_Timer to Advertisement_Interval.
        self.wants_master = false;
        self.master_adver_int = self.cfg.advert_interval;
        self.master_addr = None;
        self.master_priority = None;
        self.preempt_until = None;
        out.push(Action::SendAdvert {
            priority: self.priority,
        });
        self.transition(State::Master, reason, out);
        out.push(Action::AddVips {
            accept: self.cfg.accept,
        });
        let g = self.cfg.garp;
        if g.master_repeat > 0 {
            out.push(Action::SendGarp {
                count: g.master_repeat,
                kind: GarpKind::BecomeMaster,
            });
        }
        self.timers = Timers {
            main: Some(now + self.cfg.advert_interval.to_duration()),
            garp_delay: g
                .master_delay
                .filter(|_| g.master_repeat > 0)
                .map(|d| now + d),
            garp_refresh: g.master_refresh.map(|d| now + d),
            garp_lower: None,
        };
    }

    fn leave_master(&mut self, out: &mut Actions) {
        out.push(Action::RemoveVips);
        self.timers = Timers::default();
    }

    // RFC 5798 §6.4.2/§6.4.3: Shutdown.
    fn on_shutdown(&mut self, out: &mut Actions) {
        match self.state {
            State::Initialize => {}
            State::Master => {
                // §6.4.3: cancel Adver_Timer, send an ADVERTISEMENT with Priority = 0.
                out.push(Action::SendAdvert {
                    priority: Priority::STOP,
                });
                self.leave_master(out);
                self.transition(State::Initialize, Reason::Shutdown, out);
            }
            State::Backup | State::Fault => {
                // §6.4.2: cancel Master_Down_Timer, transition to Initialize.
                self.timers = Timers::default();
                self.transition(State::Initialize, Reason::Shutdown, out);
            }
        }
        self.wants_master = false;
    }

    fn on_timer(&mut self, now: Instant, out: &mut Actions) {
        let t = self.timers;
        match self.state {
            State::Backup => {
                if t.main.is_some_and(|d| d <= now) {
                    self.timers.main = None;
                    let reason = self.pending_reason;
                    if self.in_sync_group {
                        // The group decides (all members move together).
                        self.wants_master = true;
                    } else {
                        // RFC 5798 §6.4.2: Master_Down_Timer fires -> Master.
                        self.become_master(now, reason, out);
                    }
                }
            }
            State::Master => {
                if t.main.is_some_and(|d| d <= now) {
                    // RFC 5798 §6.4.3: Adver_Timer fires -> send advert, reset timer.
                    out.push(Action::SendAdvert {
                        priority: self.priority,
                    });
                    self.timers.main = Some(now + self.cfg.advert_interval.to_duration());
                }
                if t.garp_delay.is_some_and(|d| d <= now) {
                    self.timers.garp_delay = None;
                    out.push(Action::SendGarp {
                        count: self.cfg.garp.master_repeat,
                        kind: GarpKind::MasterDelay,
                    });
                }
                if t.garp_refresh.is_some_and(|d| d <= now) {
                    out.push(Action::SendGarp {
                        count: self.cfg.garp.master_refresh_repeat,
                        kind: GarpKind::Refresh,
                    });
                    self.timers.garp_refresh = self.cfg.garp.master_refresh.map(|d| now + d);
                }
                if t.garp_lower.is_some_and(|d| d <= now) {
                    self.timers.garp_lower = None;
                    out.push(Action::SendGarp {
                        count: self.cfg.garp.lower_prio_repeat,
                        kind: GarpKind::LowerPriorityDelay,
                    });
                }
            }
            State::Initialize | State::Fault => {}
        }
    }

    fn on_advert(&mut self, now: Instant, src: IpAddr, repr: &AdvertRepr, out: &mut Actions) {
        // Defensive: only our VRID and version (validation already guarantees it).
        if repr.vrid != self.cfg.vrid || repr.version() != self.cfg.version {
            return;
        }
        match self.state {
            State::Backup => self.backup_rx(now, src, repr),
            State::Master => self.master_rx(now, src, repr, out),
            // Initialize / Fault: adverts are not processed.
            State::Initialize | State::Fault => {}
        }
    }

    // RFC 5798 §6.4.2 "If an ADVERTISEMENT is received" in Backup (keepalived vrrp_state_backup).
    fn backup_rx(&mut self, now: Instant, src: IpAddr, repr: &AdvertRepr) {
        if repr.priority == Priority::STOP {
            // §6.4.2: Priority 0 -> set Master_Down_Timer to Skew_Time.
            self.timers.main = Some(now + self.skew_time());
            self.pending_reason = Reason::PriorityZero;
            return;
        }
        let preempt_delay_running = match (self.cfg.preempt_delay, self.preempt_until) {
            (Some(_), None) => true,
            (Some(_), Some(until)) => until > now,
            (None, _) => false,
        };
        if !self.cfg.preempt || repr.priority >= self.priority || preempt_delay_running {
            // §6.4.2: Preempt_Mode false or priority >= local: (v3) set Master_Adver_Interval
            // from the advert, recompute Skew_Time and Master_Down_Interval, reset the timer.
            if let AdvertInterval::V3(_) = repr.interval {
                self.master_adver_int = repr.interval;
            }
            self.master_addr = Some(src);
            self.master_priority = Some(repr.priority);
            if let Some(delay) = self.cfg.preempt_delay {
                if repr.priority >= self.priority {
                    self.preempt_until = None;
                } else if self.preempt_until.is_none() {
                    // keepalived: the delay starts with the first lower-priority advert seen.
                    self.preempt_until = Some(now + delay);
                }
            }
            self.wants_master = false;
            let d = self.master_down_interval();
            self.timers.main = Some(now + d);
            self.pending_reason = Reason::MasterNoResponse;
        } else {
            // §6.4.2: otherwise discard; the Master_Down_Timer keeps running -> we pre-empt.
            self.master_addr = Some(src);
            self.pending_reason = Reason::Preempted;
        }
    }

    // RFC 5798 §6.4.3 "If an ADVERTISEMENT is received" in Master (keepalived vrrp_state_master_rx).
    fn master_rx(&mut self, now: Instant, src: IpAddr, repr: &AdvertRepr, out: &mut Actions) {
        let ours = self.priority;
        let theirs = repr.priority;
        let remote_higher_addr = src > self.cfg.primary_addr;
        let remote_wins = theirs > ours || (theirs == ours && remote_higher_addr);
        if theirs == Priority::STOP {
            // §6.4.3: Priority 0 -> send an ADVERTISEMENT, reset the Adver_Timer.
            out.push(Action::SendAdvert { priority: ours });
            self.timers.main = Some(now + self.cfg.advert_interval.to_duration());
            return;
        }
        if self.cfg.higher_prio_send_advert && remote_wins {
            // keepalived higher_prio_send_advert: tell the winner we exist before yielding
            // (recovers a split brain where the other side never heard us).
            out.push(Action::SendAdvert { priority: ours });
        }
        if theirs == ours && src == self.cfg.primary_addr {
            // Our own address at equal priority: nothing to decide (keepalived warns).
            return;
        }
        if !remote_wins {
            // §6.4.3: lower priority -> discard. keepalived forces a new election by answering
            // with an advert unless lower_prio_no_advert, and refreshes ARP caches with
            // garp_lower_prio_repeat (+ a delayed repeat).
            if !self.cfg.lower_prio_no_advert {
                out.push(Action::SendAdvert { priority: ours });
                self.timers.main = Some(now + self.cfg.advert_interval.to_duration());
            }
            let g = self.cfg.garp;
            if g.lower_prio_repeat > 0 {
                out.push(Action::SendGarp {
                    count: g.lower_prio_repeat,
                    kind: GarpKind::LowerPriority,
                });
                if let Some(d) = g.lower_prio_delay {
                    self.timers.garp_lower = Some(now + d);
                }
            }
            out.push(Action::MasterRxLowerPriority {
                src,
                priority: theirs,
            });
            return;
        }
        // §6.4.3: greater priority, or equal priority and greater primary address: cancel
        // Adver_Timer, (v3) set Master_Adver_Interval, recompute Skew_Time and
        // Master_Down_Interval, start Master_Down_Timer, transition to Backup.
        if let AdvertInterval::V3(_) = repr.interval {
            self.master_adver_int = repr.interval;
        }
        self.leave_master(out);
        self.master_addr = Some(src);
        self.master_priority = Some(theirs);
        self.transition(State::Backup, Reason::HigherPriority, out);
        let d = self.master_down_interval();
        self.start_backup_timer(now, d, Reason::MasterNoResponse);
    }

    /// Base priority adjusted by a tracked delta, clamped to 1..=254 (an owner stays 255).
    fn effective_priority(&self, delta: i32) -> Priority {
        let base = self.cfg.priority;
        if base == Priority::OWNER {
            base
        } else {
            Priority((i32::from(base.get()) + delta).clamp(1, 254) as u8)
        }
    }

    fn on_priority(&mut self, now: Instant, delta: i32, out: &mut Actions) {
        self.tracked_delta = delta;
        let new = self.effective_priority(delta);
        if new == self.priority {
            return;
        }
        self.priority = new;
        if self.state == State::Master {
            // Advertise the new priority at once so a better backup can pre-empt promptly
            // (design choice; keepalived waits for the next Adver_Timer).
            out.push(Action::SendAdvert { priority: new });
            self.timers.main = Some(now + self.cfg.advert_interval.to_duration());
        }
    }

    fn on_fault(&mut self, now: Instant, fault: bool, out: &mut Actions) {
        if fault == self.fault {
            return;
        }
        self.fault = fault;
        match (fault, self.state) {
            (_, State::Initialize) => {}
            (true, State::Master) => {
                // Resign: priority-0 advert (best effort), remove VIPs.
                out.push(Action::SendAdvert {
                    priority: Priority::STOP,
                });
                self.leave_master(out);
                self.wants_master = false;
                self.transition(State::Fault, Reason::Fault, out);
            }
            (true, State::Backup) => {
                self.timers = Timers::default();
                self.wants_master = false;
                self.transition(State::Fault, Reason::Fault, out);
            }
            (false, State::Fault) => {
                self.master_adver_int = self.cfg.advert_interval;
                if self.cfg.priority == Priority::OWNER && !self.in_sync_group {
                    self.become_master(now, Reason::FaultCleared, out);
                } else {
                    self.transition(State::Backup, Reason::FaultCleared, out);
                    let d = self.master_down_interval();
                    self.start_backup_timer(now, d, Reason::MasterNoResponse);
                }
            }
            _ => {}
        }
    }

    /// Reload: take a new configuration and keep the state, as keepalived keeps an instance's
    /// state across a reload (no transition, no notification). The tracked delta stays.
    /// - Master: the new priority is advertised at once and the Adver_Timer (and the GARP
    ///   refresh) restart with the new settings. Adding/removing changed VIPs is the caller's.
    /// - Backup: the Master_Down_Timer restarts from the new interval; a pre-emption wish or
    ///   running `preempt_delay` is dropped (the next advert decides again).
    /// - Fault and Initialize: only the configuration changes.
    pub fn reconfigure(&mut self, now: Instant, cfg: RouterConfig) -> Actions {
        let mut out = Vec::new();
        self.cfg = cfg;
        self.priority = self.effective_priority(self.tracked_delta);
        match self.state {
            State::Master => {
                self.master_adver_int = self.cfg.advert_interval;
                out.push(Action::SendAdvert {
                    priority: self.priority,
                });
                self.timers.main = Some(now + self.cfg.advert_interval.to_duration());
                self.timers.garp_refresh = self.cfg.garp.master_refresh.map(|d| now + d);
            }
            State::Backup => {
                self.master_adver_int = self.cfg.advert_interval;
                self.preempt_until = None;
                self.wants_master = false;
                let d = self.master_down_interval();
                self.start_backup_timer(now, d, Reason::MasterNoResponse);
            }
            State::Fault | State::Initialize => {}
        }
        self.finish(out)
    }

    /// Sync group: force Master now (all members want it).
    pub fn force_master(&mut self, now: Instant) -> Actions {
        let mut out = Vec::new();
        if self.state == State::Backup {
            self.become_master(now, Reason::SyncGroup, &mut out);
        }
        self.finish(out)
    }

    /// keepalived 2.4 `timer_expired_backup` (with nopreempt): called when this router's
    /// process ran late (its loop woke after a timer was due, e.g. it was stopped). A master
    /// whose last advert went out long enough ago for a router of priority `highest_other` to
    /// have taken over (3 x Advertisement_Interval + that router's Skew_Time, keepalived's
    /// `vrrp_thread_timeout_handler`) goes Backup at once, without an advert, its VIPs
    /// removed and its Master_Down_Timer started. Otherwise nothing changes.
    pub fn timer_expired_backup(&mut self, now: Instant, highest_other: u8) -> Actions {
        let mut out = Vec::new();
        if self.state != State::Master {
            return out;
        }
        let adv = self.cfg.advert_interval.to_duration();
        // The Adver_Timer is the last advert sent + Advertisement_Interval.
        let Some(next_advert) = self.timers.main else {
            return out;
        };
        let skew = skew_time(
            self.cfg.version,
            Priority(highest_other),
            self.cfg.advert_interval,
        );
        if now < next_advert.checked_sub(adv).unwrap_or(next_advert) + adv * 3 + skew {
            return out;
        }
        self.leave_master(&mut out);
        self.transition(State::Backup, Reason::TimerExpired, &mut out);
        let d = self.master_down_interval();
        self.start_backup_timer(now, d, Reason::MasterNoResponse);
        self.finish(out)
    }

    /// Someone deleted a VIP, virtual route or virtual rule of this master (keepalived's
    /// `set_vrrp_backup`): a master goes Backup without an advert, its VIPs removed, and its
    /// Master_Down_Timer set to Skew_Time "for a quick transition back to master" (so, alone
    /// on its link, it takes over again and puts them back). Otherwise nothing changes.
    pub fn relinquish(&mut self, now: Instant) -> Actions {
        let mut out = Vec::new();
        if self.state != State::Master {
            return out;
        }
        self.leave_master(&mut out);
        self.transition(State::Backup, Reason::Relinquished, &mut out);
        let d = self.skew_time();
        self.start_backup_timer(now, d, Reason::MasterNoResponse);
        self.finish(out)
    }

    /// Sync group: force Backup now (another member went Backup).
    pub fn force_backup(&mut self, now: Instant) -> Actions {
        let mut out = Vec::new();
        if self.state == State::Master {
            self.leave_master(&mut out);
            self.transition(State::Backup, Reason::SyncGroup, &mut out);
            let d = self.master_down_interval();
            self.start_backup_timer(now, d, Reason::MasterNoResponse);
        } else if self.state == State::Backup && self.wants_master {
            self.wants_master = false;
            let d = self.master_down_interval();
            self.start_backup_timer(now, d, Reason::MasterNoResponse);
        }
        self.finish(out)
    }

    /// Sync group: force Fault (another member faulted); cleared with [`Self::release_fault`].
    pub fn force_fault(&mut self) -> Actions {
        let mut out = Vec::new();
        match self.state {
            State::Master => {
                out.push(Action::SendAdvert {
                    priority: Priority::STOP,
                });
                self.leave_master(&mut out);
                self.transition(State::Fault, Reason::SyncGroup, &mut out);
            }
            State::Backup => {
                self.timers = Timers::default();
                self.transition(State::Fault, Reason::SyncGroup, &mut out);
            }
            _ => {}
        }
        self.wants_master = false;
        self.finish(out)
    }

    /// Sync group: start in a group-imposed Fault (another member waits for its interface),
    /// instead of [`Input::Startup`]; left with [`Self::release_fault`].
    pub fn start_in_fault(&mut self) -> Actions {
        let mut out = Vec::new();
        if self.state == State::Initialize {
            self.start_at = None;
            self.transition(State::Fault, Reason::SyncGroup, &mut out);
        }
        self.finish(out)
    }

    /// Sync group: this member's own fault cleared while another member is still in fault:
    /// the flag is cleared but the member stays in the group-imposed Fault (no transition,
    /// no notification) until [`Self::release_fault`], as keepalived's `try_up_instance`
    /// keeps a member down while its group's `num_member_fault` is not 0.
    pub fn clear_fault_held(&mut self) {
        self.fault = false;
    }

    /// Sync group: leave a group-imposed Fault (no own fault) into Backup.
    pub fn release_fault(&mut self, now: Instant) -> Actions {
        let mut out = Vec::new();
        if self.state == State::Fault && !self.fault {
            self.master_adver_int = self.cfg.advert_interval;
            self.transition(State::Backup, Reason::SyncGroup, &mut out);
            let d = self.master_down_interval();
            self.start_backup_timer(now, d, Reason::MasterNoResponse);
        }
        self.finish(out)
    }

    fn finish(&mut self, mut out: Actions) -> Actions {
        let next = self.timers.next();
        if next != self.last_armed {
            self.last_armed = next;
            out.push(Action::ArmTimer(next));
        }
        out
    }
}

/// IPsec-AH sequence numbers as keepalived keeps them: incremented per advert sent; a new
/// received advert must carry a higher number than the last accepted (replay protection).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AhSequence {
    /// Last sequence number sent or accepted.
    pub last: u32,
}

impl AhSequence {
    /// Sequence number for the next advert we send (keepalived stops at 0xFFFFFFFD: `None`).
    pub fn next_tx(&mut self) -> Option<u32> {
        if self.last > 0xFFFF_FFFD {
            return None;
        }
        self.last += 1;
        Some(self.last)
    }
    /// Record an accepted advert's sequence number (keepalived keeps the maximum).
    pub fn accepted(&mut self, seq: u32) {
        self.last = self.last.max(seq);
    }
    /// keepalived: a Master hearing a lower-priority AH advert continues from its sequence + 1.
    pub fn sync_from_lower(&mut self, seq: u32) {
        self.last = seq.saturating_add(1).max(self.last);
    }
}

#[cfg(test)]
mod tests;
