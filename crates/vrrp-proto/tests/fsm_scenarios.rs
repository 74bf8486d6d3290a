//! Scenario tests for the state machine with a virtual clock. Each test names the behaviour it
//! proves and the RFC 5798 section (or keepalived feature) it follows.

// Integration-test helpers (outside #[test] fns) may unwrap/panic: this is test code.
#![allow(clippy::unwrap_used, clippy::panic, clippy::type_complexity)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use vrrp_proto::fsm::GarpKind;
use vrrp_proto::*;

/// The owned result of [`vrrp_proto::validate`] on a whole IP packet, as these tests compare it.
fn validate_packet(bytes: &[u8], ctx: &ReceiveContext<'_>) -> Result<Accepted, RxError> {
    vrrp_proto::validate(RxPacket::Ip(bytes), ctx).and_then(|v| v.to_accepted())
}

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}
fn vip() -> Vec<IpAddr> {
    vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100))]
}
fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

fn cfg(version: Version, prio: u8, me: u8) -> RouterConfig {
    let mut c = RouterConfig::new(Vrid::new(7).unwrap(), version, ip(me), vip());
    c.priority = Priority(prio);
    c
}

fn adv(version: Version, prio: u8, interval_cs: u16) -> AdvertRepr {
    AdvertRepr {
        vrid: Vrid::new(7).unwrap(),
        priority: Priority(prio),
        interval: match version {
            Version::V2 => AdvertInterval::V2Secs((interval_cs / 100) as u8),
            Version::V3 => AdvertInterval::V3(Centisecs(interval_cs)),
        },
        auth: Auth::None,
        addrs: vip(),
    }
}

fn advert_in(src: IpAddr, repr: AdvertRepr) -> Input {
    Input::Advert {
        src,
        ttl: 255,
        repr,
    }
}

struct Clock {
    t0: Instant,
}
impl Clock {
    fn new() -> Self {
        Clock { t0: Instant::now() }
    }
    fn at(&self, d: Duration) -> Instant {
        self.t0 + d
    }
}

/// Run Timer inputs until `until` (inclusive), collecting actions.
fn run_until(r: &mut VirtualRouter, until: Instant) -> Vec<(Instant, Action)> {
    let mut out = Vec::new();
    while let Some(d) = r.next_deadline() {
        if d > until {
            break;
        }
        for a in r.handle(d, Input::Timer) {
            out.push((d, a));
        }
    }
    out
}

fn notifies(acts: &[Action]) -> Vec<(State, State, Reason)> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Notify { from, to, reason } => Some((*from, *to, *reason)),
            _ => None,
        })
        .collect()
}

fn become_master_v3(c: &Clock, prio: u8) -> VirtualRouter {
    let mut r = VirtualRouter::new(cfg(Version::V3, prio, 1));
    r.handle(c.at(ms(0)), Input::Startup);
    run_until(&mut r, c.at(ms(5000)));
    assert_eq!(r.state(), State::Master);
    r
}

// RFC 5798 §6.4.1 + §6.4.2: a non-owner starts in Backup with Master_Down_Timer =
// 3*Master_Adver_Interval + Skew_Time and, hearing nothing, becomes Master exactly then,
// sending an advert first, then installing VIPs and sending GARPs.
#[test]
fn startup_backup_then_master_after_master_down_interval_v3() {
    let c = Clock::new();
    let mut r = VirtualRouter::new(cfg(Version::V3, 100, 1));
    let acts = r.handle(c.at(ms(0)), Input::Startup);
    assert_eq!(
        notifies(&acts),
        vec![(State::Initialize, State::Backup, Reason::Startup)]
    );
    // skew = (256-100)*100cs/256 = 0.609375 s
    let expect = c.at(ms(3000) + us(609_375));
    assert_eq!(r.next_deadline(), Some(expect));
    assert!(acts.contains(&Action::ArmTimer(Some(expect))));
    // A spurious early Timer input changes nothing.
    let early = r.handle(expect - us(1), Input::Timer);
    assert!(notifies(&early).is_empty());
    assert_eq!(r.state(), State::Backup);
    let acts = r.handle(expect, Input::Timer);
    assert_eq!(
        acts[0],
        Action::SendAdvert {
            priority: Priority(100)
        }
    );
    assert_eq!(
        acts[1],
        Action::Notify {
            from: State::Backup,
            to: State::Master,
            reason: Reason::MasterNoResponse
        }
    );
    assert_eq!(acts[2], Action::AddVips { accept: false });
    assert_eq!(
        acts[3],
        Action::SendGarp {
            count: 5,
            kind: GarpKind::BecomeMaster
        }
    );
    // §6.4.2: Adver_Timer set to Advertisement_Interval.
    assert_eq!(r.next_deadline(), Some(expect + ms(1000)));
}

// RFC 3768 §6.1: v2 skew is (256-Priority)/256 seconds, independent of the interval.
#[test]
fn skew_time_v2_independent_of_interval() {
    let c = Clock::new();
    let mut k = cfg(Version::V2, 200, 1);
    k.advert_interval = AdvertInterval::V2Secs(3);
    let mut r = VirtualRouter::new(k);
    r.handle(c.at(ms(0)), Input::Startup);
    assert_eq!(
        r.next_deadline(),
        Some(c.at(ms(9000) + us(56 * 1_000_000 / 256)))
    );
}

// RFC 5798 §6.1: v3 skew scales with Master_Adver_Interval; keepalived down_timer_adverts
// replaces the 3 in Master_Down_Interval.
#[test]
fn skew_v3_scaled_and_down_timer_adverts() {
    let c = Clock::new();
    let mut k = cfg(Version::V3, 100, 1);
    k.advert_interval = AdvertInterval::V3(Centisecs(50));
    k.down_timer_adverts = 5;
    let mut r = VirtualRouter::new(k);
    r.handle(c.at(ms(0)), Input::Startup);
    // 5 * 0.5 s + 156*50cs/256 = 2.5 s + 0.3046875 s
    assert_eq!(r.next_deadline(), Some(c.at(ms(2500) + us(304_687))));
}

// RFC 5798 §6.4.2: a v3 Backup sets Master_Adver_Interval from the advert and recomputes
// Skew_Time and Master_Down_Interval with it.
#[test]
fn v3_backup_learns_master_interval() {
    let c = Clock::new();
    let mut r = VirtualRouter::new(cfg(Version::V3, 100, 1));
    r.handle(c.at(ms(0)), Input::Startup);
    r.handle(c.at(ms(500)), advert_in(ip(2), adv(Version::V3, 200, 200)));
    assert_eq!(r.master_adver_int(), AdvertInterval::V3(Centisecs(200)));
    // 3*2 s + 156*200cs/256 = 6 s + 1.21875 s
    assert_eq!(
        r.next_deadline(),
        Some(c.at(ms(500) + ms(6000) + us(1_218_750)))
    );
    assert_eq!(r.master_addr(), Some(ip(2)));
}

// RFC 5798 §6.4.1: the address owner (priority 255) becomes Master immediately at startup.
#[test]
fn owner_becomes_master_at_startup() {
    let c = Clock::new();
    let mut r = VirtualRouter::new(cfg(Version::V3, 255, 1));
    let acts = r.handle(c.at(ms(0)), Input::Startup);
    assert_eq!(r.state(), State::Master);
    assert_eq!(
        acts[0],
        Action::SendAdvert {
            priority: Priority::OWNER
        }
    );
    assert_eq!(
        notifies(&acts),
        vec![(State::Initialize, State::Master, Reason::AddressOwner)]
    );
    // Tracking never lowers an owner (keepalived).
    r.handle(c.at(ms(10)), Input::PriorityChange(-50));
    assert_eq!(r.priority(), Priority::OWNER);
}

// keepalived 2.2.7 `state MASTER` below priority 255: Backup with the full Master_Down_Interval
// (vrrp_init_state), like any backup; only the owner takes over at once. (Corrected by issue 26:
// this used to assert a takeover after 1 µs.)
#[test]
fn configured_master_below_owner_listens_first() {
    let c = Clock::new();
    let mut k = cfg(Version::V3, 100, 1);
    k.initial_state = InitialState::Master;
    let mut r = VirtualRouter::new(k);
    let acts = r.handle(c.at(ms(0)), Input::Startup);
    assert_eq!(
        notifies(&acts),
        vec![(State::Initialize, State::Backup, Reason::Startup)]
    );
    let mdi = r.master_down_interval();
    assert_eq!(r.next_deadline(), Some(c.at(ms(0)) + mdi));
    // A higher-priority master heard meanwhile keeps it Backup, sending nothing.
    let acts = r.handle(c.at(ms(500)), advert_in(ip(2), adv(Version::V3, 200, 100)));
    assert!(
        !acts
            .iter()
            .any(|a| matches!(a, Action::SendAdvert { .. } | Action::SendGarp { .. })),
        "{acts:?}"
    );
    assert_eq!(r.state(), State::Backup);
    // Alone, it takes over once the interval runs out.
    let mut k = cfg(Version::V3, 100, 1);
    k.initial_state = InitialState::Master;
    let mut r = VirtualRouter::new(k);
    r.handle(c.at(ms(0)), Input::Startup);
    let acts = r.handle(c.at(ms(0)) + mdi, Input::Timer);
    assert_eq!(
        notifies(&acts),
        vec![(State::Backup, State::Master, Reason::MasterNoResponse)]
    );
}

// RFC 5798 §6.4.2: Backup receiving Priority 0 sets Master_Down_Timer to Skew_Time and
// takes over then.
#[test]
fn backup_priority_zero_skew_takeover() {
    let c = Clock::new();
    let mut r = VirtualRouter::new(cfg(Version::V3, 100, 1));
    r.handle(c.at(ms(0)), Input::Startup);
    r.handle(c.at(ms(100)), advert_in(ip(2), adv(Version::V3, 200, 100)));
    r.handle(c.at(ms(1100)), advert_in(ip(2), adv(Version::V3, 0, 100)));
    assert_eq!(r.next_deadline(), Some(c.at(ms(1100) + us(609_375))));
    let acts = run_until(&mut r, c.at(ms(2000)));
    let acts: Vec<Action> = acts.into_iter().map(|(_, a)| a).collect();
    assert_eq!(
        notifies(&acts),
        vec![(State::Backup, State::Master, Reason::PriorityZero)]
    );
}

// RFC 5798 §6.4.3: a Master shutting down sends Priority 0 and removes its VIPs; §6.4.2: a
// Backup just stops its timer.
#[test]
fn shutdown_master_sends_priority_zero_backup_silent() {
    let c = Clock::new();
    let mut r = become_master_v3(&c, 100);
    let acts = r.handle(c.at(ms(6000)), Input::Shutdown);
    assert_eq!(
        acts[0],
        Action::SendAdvert {
            priority: Priority::STOP
        }
    );
    assert_eq!(acts[1], Action::RemoveVips);
    assert_eq!(
        notifies(&acts),
        vec![(State::Master, State::Initialize, Reason::Shutdown)]
    );
    assert_eq!(r.next_deadline(), None);

    let mut b = VirtualRouter::new(cfg(Version::V3, 100, 1));
    b.handle(c.at(ms(0)), Input::Startup);
    let acts = b.handle(c.at(ms(10)), Input::Shutdown);
    assert!(!acts.iter().any(|a| matches!(a, Action::SendAdvert { .. })));
    assert_eq!(b.state(), State::Initialize);
    assert_eq!(b.next_deadline(), None);
}

// RFC 5798 §6.4.2 with Preempt_Mode true: a lower-priority advert is discarded (timer not
// reset), so the higher-priority Backup pre-empts when its Master_Down_Timer fires.
#[test]
fn preempt_lower_priority_master() {
    let c = Clock::new();
    let mut r = VirtualRouter::new(cfg(Version::V3, 150, 1));
    r.handle(c.at(ms(0)), Input::Startup);
    let deadline = r.next_deadline().unwrap();
    for t in (100..3000).step_by(1000) {
        r.handle(c.at(ms(t)), advert_in(ip(2), adv(Version::V3, 100, 100)));
        assert_eq!(
            r.next_deadline(),
            Some(deadline),
            "lower-priority advert must not reset the timer"
        );
    }
    let acts: Vec<Action> = run_until(&mut r, deadline)
        .into_iter()
        .map(|(_, a)| a)
        .collect();
    assert_eq!(
        notifies(&acts),
        vec![(State::Backup, State::Master, Reason::Preempted)]
    );
}

// RFC 5798 §6.4.2 with Preempt_Mode false (keepalived nopreempt): any advert resets the timer;
// a higher-priority Backup never pre-empts a live master.
#[test]
fn nopreempt_never_preempts_live_master() {
    let c = Clock::new();
    let mut k = cfg(Version::V3, 150, 1);
    k.preempt = false;
    let mut r = VirtualRouter::new(k);
    r.handle(c.at(ms(0)), Input::Startup);
    for t in (100..20_000).step_by(1000) {
        r.handle(c.at(ms(t)), advert_in(ip(2), adv(Version::V3, 100, 100)));
        run_until(&mut r, c.at(ms(t + 999)));
        assert_eq!(r.state(), State::Backup);
    }
    // When the master goes silent, it does take over.
    run_until(&mut r, c.at(ms(30_000)));
    assert_eq!(r.state(), State::Master);
}

// keepalived preempt_delay: the first lower-priority advert starts the delay; until it
// expires adverts are accepted (timer reset); afterwards they are discarded and we pre-empt.
#[test]
fn preempt_delay_holds_then_preempts() {
    let c = Clock::new();
    let mut k = cfg(Version::V3, 150, 1);
    k.preempt_delay = Some(Duration::from_secs(10));
    let mut r = VirtualRouter::new(k);
    r.handle(c.at(ms(0)), Input::Startup);
    let mut became = None;
    for t in (1000..30_000).step_by(1000) {
        let acts: Vec<Action> = run_until(&mut r, c.at(ms(t) - us(1)))
            .into_iter()
            .map(|(_, a)| a)
            .collect();
        if !notifies(&acts).is_empty() {
            became = Some(t);
            break;
        }
        r.handle(c.at(ms(t)), advert_in(ip(2), adv(Version::V3, 100, 100)));
    }
    let t = became.expect("pre-empted eventually");
    // Delay starts at 1 s, ends at 11 s; the advert at 12 s is the first discarded; the timer
    // armed by the 11 s advert (accepted, 11 s is not > 11 s) fires at 11 s + 3.41 s.
    assert!((14_000..=15_000).contains(&t), "pre-empted at {t} ms");
    assert_eq!(r.state(), State::Master);
}

// RFC 5798 §6.4.3: Master receiving a higher priority advert goes Backup, removes VIPs and
// starts Master_Down_Timer (with the advert's interval, v3).
#[test]
fn master_yields_to_higher_priority() {
    let c = Clock::new();
    let mut r = become_master_v3(&c, 100);
    let acts = r.handle(c.at(ms(6000)), advert_in(ip(2), adv(Version::V3, 200, 300)));
    assert!(acts.contains(&Action::RemoveVips));
    assert!(!acts.iter().any(|a| matches!(a, Action::SendAdvert { .. })));
    assert_eq!(
        notifies(&acts),
        vec![(State::Master, State::Backup, Reason::HigherPriority)]
    );
    assert_eq!(r.master_adver_int(), AdvertInterval::V3(Centisecs(300)));
    assert_eq!(
        r.next_deadline(),
        Some(c.at(ms(6000) + ms(9000) + us(156 * 300 * 10_000 / 256)))
    );
}

// RFC 5798 §6.4.3: equal priority is broken by the higher primary address: the Master yields
// to a higher address and keeps mastership against a lower one.
#[test]
fn equal_priority_tie_broken_by_address() {
    let c = Clock::new();
    let mut r = VirtualRouter::new(cfg(Version::V3, 100, 5));
    r.handle(c.at(ms(0)), Input::Startup);
    run_until(&mut r, c.at(ms(4000)));
    assert_eq!(r.state(), State::Master);
    r.handle(c.at(ms(4100)), advert_in(ip(3), adv(Version::V3, 100, 100)));
    assert_eq!(r.state(), State::Master, "lower address loses");
    r.handle(c.at(ms(4200)), advert_in(ip(9), adv(Version::V3, 100, 100)));
    assert_eq!(r.state(), State::Backup, "higher address wins");
}

// keepalived (split-brain recovery): a Master hearing a lower priority answers with an advert
// (forcing the other to Backup) unless lower_prio_no_advert, sends garp_lower_prio_repeat
// GARPs now and again after garp_lower_prio_delay, and raises notify_master_rx_lower_pri.
#[test]
fn lower_priority_advert_handling() {
    let c = Clock::new();
    let mut r = become_master_v3(&c, 200);
    let acts = r.handle(c.at(ms(6000)), advert_in(ip(2), adv(Version::V3, 100, 100)));
    assert_eq!(
        acts[0],
        Action::SendAdvert {
            priority: Priority(200)
        }
    );
    assert!(acts.contains(&Action::MasterRxLowerPriority {
        src: ip(2),
        priority: Priority(100)
    }));
    assert!(!acts.iter().any(|a| matches!(a, Action::SendGarp { .. })));
    assert_eq!(r.state(), State::Master);

    let mut k = cfg(Version::V3, 200, 1);
    k.lower_prio_no_advert = true;
    k.garp.lower_prio_repeat = 3;
    k.garp.lower_prio_delay = Some(Duration::from_secs(2));
    k.garp.master_delay = None;
    let mut r = VirtualRouter::new(k);
    r.handle(c.at(ms(0)), Input::Startup);
    run_until(&mut r, c.at(ms(3500)));
    assert_eq!(r.state(), State::Master);
    let acts = r.handle(c.at(ms(3600)), advert_in(ip(2), adv(Version::V3, 100, 100)));
    assert!(
        !acts.iter().any(|a| matches!(a, Action::SendAdvert { .. })),
        "lower_prio_no_advert"
    );
    assert!(acts.contains(&Action::SendGarp {
        count: 3,
        kind: GarpKind::LowerPriority
    }));
    let later: Vec<Action> = run_until(&mut r, c.at(ms(5600)))
        .into_iter()
        .map(|(_, a)| a)
        .collect();
    assert!(later.contains(&Action::SendGarp {
        count: 3,
        kind: GarpKind::LowerPriorityDelay
    }));
}

// keepalived higher_prio_send_advert: the Master answers a higher-priority advert with one of
// its own before going Backup.
#[test]
fn higher_prio_send_advert() {
    let c = Clock::new();
    let mut k = cfg(Version::V3, 100, 1);
    k.higher_prio_send_advert = true;
    let mut r = VirtualRouter::new(k);
    r.handle(c.at(ms(0)), Input::Startup);
    run_until(&mut r, c.at(ms(4000)));
    let acts = r.handle(c.at(ms(4100)), advert_in(ip(2), adv(Version::V3, 200, 100)));
    assert_eq!(
        acts[0],
        Action::SendAdvert {
            priority: Priority(100)
        }
    );
    assert_eq!(r.state(), State::Backup);
}

// RFC 5798 §6.4.3: Master receiving Priority 0 sends an advert at once and resets Adver_Timer.
#[test]
fn master_answers_priority_zero() {
    let c = Clock::new();
    let mut r = become_master_v3(&c, 100);
    let acts = r.handle(c.at(ms(6000)), advert_in(ip(2), adv(Version::V3, 0, 100)));
    assert_eq!(
        acts[0],
        Action::SendAdvert {
            priority: Priority(100)
        }
    );
    assert_eq!(r.next_deadline().map(|d| d >= c.at(ms(6000))), Some(true));
    assert_eq!(r.state(), State::Master);
}

// RFC 5798 §6.4.3 Adver_Timer + keepalived garp_master_delay / garp_master_refresh: the
// Master advertises every interval, repeats GARPs once after the delay and refreshes them
// periodically; Accept_Mode is carried in AddVips.
#[test]
fn master_periodic_adverts_and_garps() {
    let c = Clock::new();
    let mut k = cfg(Version::V3, 100, 1);
    k.accept = true;
    k.garp.master_delay = Some(Duration::from_secs(5));
    k.garp.master_repeat = 2;
    k.garp.master_refresh = Some(Duration::from_secs(7));
    k.garp.master_refresh_repeat = 1;
    let mut r = VirtualRouter::new(k);
    r.handle(c.at(ms(0)), Input::Startup);
    let acts = run_until(&mut r, c.at(ms(13_700)));
    let adverts = acts
        .iter()
        .filter(|(_, a)| matches!(a, Action::SendAdvert { .. }))
        .count();
    // master at 3.609 s, then 10 more adverts up to 13.609 s
    assert_eq!(adverts, 11);
    assert!(acts
        .iter()
        .any(|(_, a)| *a == Action::AddVips { accept: true }));
    let t_master = c.at(ms(3000) + us(609_375));
    assert!(acts.contains(&(
        t_master + ms(5000),
        Action::SendGarp {
            count: 2,
            kind: GarpKind::MasterDelay
        }
    )));
    assert!(acts.contains(&(
        t_master + ms(7000),
        Action::SendGarp {
            count: 1,
            kind: GarpKind::Refresh
        }
    )));
}

// Tracked priority: effective = base + delta clamped to 1..=254; a Master advertises the new
// priority at once so a better Backup pre-empts (RFC 5798 §6.4.2 pre-emption).
#[test]
fn tracked_priority_change() {
    let c = Clock::new();
    let mut r = become_master_v3(&c, 150);
    let acts = r.handle(c.at(ms(6000)), Input::PriorityChange(-100));
    assert_eq!(
        acts[0],
        Action::SendAdvert {
            priority: Priority(50)
        }
    );
    assert_eq!(r.priority(), Priority(50));
    r.handle(c.at(ms(6100)), Input::PriorityChange(-1000));
    assert_eq!(r.priority(), Priority(1));
    r.handle(c.at(ms(6200)), Input::PriorityChange(1000));
    assert_eq!(r.priority(), Priority(254));
    // A Backup (prio 120) hearing the lowered master (50) discards and pre-empts.
    let mut b = VirtualRouter::new(cfg(Version::V3, 120, 2));
    b.handle(c.at(ms(0)), Input::Startup);
    b.handle(c.at(ms(100)), advert_in(ip(1), adv(Version::V3, 50, 100)));
    run_until(&mut b, c.at(ms(4000)));
    assert_eq!(b.state(), State::Master);
}

// keepalived FAULT: a Master faulting resigns (priority 0, VIPs removed); adverts are ignored
// in Fault; clearing goes to Backup with a full Master_Down_Interval.
#[test]
fn fault_set_and_clear() {
    let c = Clock::new();
    let mut r = become_master_v3(&c, 100);
    let acts = r.handle(c.at(ms(6000)), Input::Fault(true));
    assert_eq!(
        acts[0],
        Action::SendAdvert {
            priority: Priority::STOP
        }
    );
    assert_eq!(acts[1], Action::RemoveVips);
    assert_eq!(r.state(), State::Fault);
    assert_eq!(r.next_deadline(), None);
    assert!(r
        .handle(c.at(ms(6100)), advert_in(ip(2), adv(Version::V3, 200, 100)))
        .is_empty());
    assert_eq!(r.state(), State::Fault);
    let acts = r.handle(c.at(ms(7000)), Input::Fault(false));
    assert_eq!(
        notifies(&acts),
        vec![(State::Fault, State::Backup, Reason::FaultCleared)]
    );
    assert_eq!(
        r.next_deadline(),
        Some(c.at(ms(7000) + ms(3000) + us(609_375)))
    );
    // Startup while faulted goes straight to Fault.
    let mut f = VirtualRouter::new(cfg(Version::V3, 100, 1));
    f.handle(c.at(ms(0)), Input::Fault(true));
    f.handle(c.at(ms(0)), Input::Startup);
    assert_eq!(f.state(), State::Fault);
}

// Bad input: an advert that fails validation is never handed to the FSM, and adverts for
// another VRID/version handed in anyway are ignored without a state change.
#[test]
fn rejected_adverts_never_change_state() {
    let c = Clock::new();
    let mut r = become_master_v3(&c, 100);
    let deadline = r.next_deadline();
    let mut other = adv(Version::V3, 250, 100);
    other.vrid = Vrid::new(8).unwrap();
    assert!(r.handle(c.at(ms(6000)), advert_in(ip(2), other)).is_empty());
    assert!(r
        .handle(c.at(ms(6000)), advert_in(ip(2), adv(Version::V2, 250, 100)))
        .is_empty());
    assert_eq!(r.state(), State::Master);
    assert_eq!(r.next_deadline(), deadline);
    // A corrupted higher-priority advert is rejected by validation (checksum).
    let pkt = IpAdvert {
        ip: wire::IpHeader::V4(wire::Ipv4Header {
            tos: 0xc0,
            ident: 1,
            flags_frag: 0,
            ttl: 255,
            protocol: 112,
            src: Ipv4Addr::new(10, 0, 0, 2),
            dst: Ipv4Addr::new(224, 0, 0, 18),
        }),
        ah: None,
        advert: adv(Version::V3, 250, 100),
    };
    let mut bytes = pkt.emit(pkt.checksum_mode(false), None, false).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    let vips = vip();
    let ctx = ReceiveContext {
        version: Version::V3,
        family: Family::V4,
        vrid: Vrid::new(7).unwrap(),
        auth: AuthConfig::None,
        advert_interval: AdvertInterval::V3(Centisecs(100)),
        vips: &vips,
        check_addresses: true,
        unicast: false,
        unicast_peers: &[],
        check_unicast_src: false,
        v3_checksum_as_v2: false,
        ah_last_seq: 0,
    };
    assert_eq!(validate_packet(&bytes, &ctx), Err(RxError::Checksum));
}

fn group(c: &Clock, prios: [u8; 2]) -> SyncGroup {
    let mut a = cfg(Version::V3, prios[0], 1);
    a.vrid = Vrid::new(7).unwrap();
    let mut b = cfg(Version::V3, prios[1], 1);
    b.vrid = Vrid::new(8).unwrap();
    let mut g = SyncGroup::new(vec![VirtualRouter::new(a), VirtualRouter::new(b)]);
    g.handle(c.at(ms(0)), 0, Input::Startup);
    g.handle(c.at(ms(0)), 1, Input::Startup);
    g
}

fn run_group(g: &mut SyncGroup, until: Instant) {
    while let Some(d) = g.next_deadline() {
        if d > until {
            break;
        }
        g.handle(d, 0, Input::Timer);
    }
}

// keepalived vrrp_sync_group: members go Master together — the first member whose timer
// fires waits until every member wants Master.
#[test]
fn sync_group_masters_together() {
    let c = Clock::new();
    let mut g = group(&c, [200, 100]);
    // Member 0 (prio 200) fires at 3.21 s, member 1 at 3.61 s.
    run_group(&mut g, c.at(ms(3400)));
    assert_eq!(g.states(), vec![State::Backup, State::Backup]);
    assert!(g.members()[0].wants_master());
    run_group(&mut g, c.at(ms(3700)));
    assert_eq!(g.states(), vec![State::Master, State::Master]);
}

// Sync group: one member yielding to a higher priority takes the whole group to Backup.
#[test]
fn sync_group_backup_together() {
    let c = Clock::new();
    let mut g = group(&c, [100, 100]);
    run_group(&mut g, c.at(ms(4000)));
    assert_eq!(g.states(), vec![State::Master, State::Master]);
    let mut a = adv(Version::V3, 200, 100);
    a.vrid = Vrid::new(8).unwrap();
    let acts = g.handle(c.at(ms(4100)), 1, advert_in(ip(9), a));
    assert_eq!(g.states(), vec![State::Backup, State::Backup]);
    assert!(acts.contains(&(0, Action::RemoveVips)));
    assert!(acts.contains(&(1, Action::RemoveVips)));
}

// Sync group: one member's fault faults the group; clearing it brings all back to Backup.
#[test]
fn sync_group_fault_together() {
    let c = Clock::new();
    let mut g = group(&c, [100, 100]);
    run_group(&mut g, c.at(ms(4000)));
    g.handle(c.at(ms(4100)), 0, Input::Fault(true));
    assert_eq!(g.states(), vec![State::Fault, State::Fault]);
    g.handle(c.at(ms(5000)), 0, Input::Fault(false));
    assert_eq!(g.states(), vec![State::Backup, State::Backup]);
    run_group(&mut g, c.at(ms(9000)));
    assert_eq!(g.states(), vec![State::Master, State::Master]);
}
