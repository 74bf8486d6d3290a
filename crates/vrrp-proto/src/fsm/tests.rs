use super::*;
use std::net::Ipv4Addr;

// Proves skip_check_adv_addr only skips the address comparison for the known master while
// Backup (keepalived vrrp_state_backup: master_change || !skip_check_adv_addr).
#[test]
fn check_addresses_rule() {
    let me = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let other = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
    let cfg = RouterConfig::new(Vrid::new(1).unwrap(), Version::V3, me, vec![]);
    let mut r = VirtualRouter::new(cfg);
    let t = Instant::now();
    r.handle(t, Input::Startup);
    assert!(r.check_addresses_for(other, true), "unknown master: check");
    let repr = AdvertRepr {
        vrid: Vrid::new(1).unwrap(),
        priority: Priority(200),
        interval: AdvertInterval::V3(crate::Centisecs(100)),
        auth: crate::Auth::None,
        addrs: vec![],
    };
    r.handle(
        t,
        Input::Advert {
            src: other,
            ttl: 255,
            repr,
        },
    );
    assert!(!r.check_addresses_for(other, true), "same master: skipped");
    assert!(
        r.check_addresses_for(other, false),
        "option off: always check"
    );
    assert!(
        r.check_addresses_for(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3)), true),
        "master changed: check"
    );
}

// Proves the AH sequence bookkeeping: increments per send, keeps the max accepted, syncs
// past a lower-priority sender, and stops before wrapping.
#[test]
fn ah_sequence() {
    let mut s = AhSequence::default();
    assert_eq!(s.next_tx(), Some(1));
    s.accepted(10);
    s.accepted(5);
    assert_eq!(s.last, 10);
    s.sync_from_lower(20);
    assert_eq!(s.next_tx(), Some(22));
    let mut s = AhSequence { last: 0xFFFF_FFFE };
    assert_eq!(s.next_tx(), None);
}

// Proves `delay_start` (vrrp_startup_delay): a backup's Master_Down timer and an address
// owner's 1 µs timer count from the end of the delay, the owner starting as Backup and
// becoming Master only then; a delay already over changes nothing.
#[test]
fn delayed_start_counts_from_the_end_of_the_delay() {
    let me = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let vrid = Vrid::new(7).unwrap();
    let t0 = Instant::now();
    let until = t0 + Duration::from_secs(3);
    let mut b = VirtualRouter::new(RouterConfig::new(vrid, Version::V2, me, vec![]));
    b.delay_start(until);
    b.handle(t0, Input::Startup);
    assert_eq!(b.state(), State::Backup);
    assert_eq!(b.next_deadline(), Some(until + b.master_down_interval()));
    let mut cfg = RouterConfig::new(vrid, Version::V2, me, vec![]);
    cfg.priority = Priority::OWNER;
    let mut o = VirtualRouter::new(cfg.clone());
    o.delay_start(until);
    let a = o.handle(t0, Input::Startup);
    assert_eq!(o.state(), State::Backup);
    assert!(
        !a.iter().any(|x| matches!(x, Action::SendAdvert { .. })),
        "{a:?}"
    );
    assert_eq!(o.next_deadline(), Some(until + Duration::from_micros(1)));
    o.handle(until + Duration::from_micros(1), Input::Timer);
    assert_eq!(o.state(), State::Master);
    let mut late = VirtualRouter::new(cfg);
    late.delay_start(t0);
    late.handle(t0 + Duration::from_millis(1), Input::Startup);
    assert_eq!(late.state(), State::Master);
}

// Proves reconfigure keeps the state: a master with a new priority and interval stays
// master with no transition, advertises the new priority at once and re-arms with the new
// interval; the tracked delta still applies; a backup restarts its down timer from the new
// interval; a fault stays a fault.
#[test]
fn reconfigure_keeps_state() {
    let me = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let vrid = Vrid::new(7).unwrap();
    let mut cfg = RouterConfig::new(vrid, Version::V2, me, vec![]);
    cfg.initial_state = InitialState::Master;
    let t0 = Instant::now();
    let mut m = VirtualRouter::new(cfg.clone());
    m.handle(t0, Input::Startup);
    // `state MASTER` below 255 listens for a Master_Down_Interval first (keepalived 2.2.7).
    let t = t0 + m.master_down_interval();
    m.handle(t, Input::Timer);
    assert_eq!(m.state(), State::Master);
    m.handle(t, Input::PriorityChange(-10));
    let mut new = cfg.clone();
    new.priority = Priority(150);
    new.advert_interval = AdvertInterval::V2Secs(2);
    let t1 = t + Duration::from_millis(500);
    let a = m.reconfigure(t1, new.clone());
    assert_eq!(m.state(), State::Master);
    assert_eq!(m.priority(), Priority(140));
    assert!(a.contains(&Action::SendAdvert {
        priority: Priority(140)
    }));
    assert!(
        !a.iter().any(|x| matches!(x, Action::Notify { .. })),
        "{a:?}"
    );
    assert!(!a.contains(&Action::RemoveVips), "{a:?}");
    assert_eq!(m.next_deadline(), Some(t1 + Duration::from_secs(2)));

    let mut b = VirtualRouter::new(RouterConfig::new(vrid, Version::V2, me, vec![]));
    b.handle(t, Input::Startup);
    assert_eq!(b.state(), State::Backup);
    let a = b.reconfigure(t1, new.clone());
    assert_eq!(b.state(), State::Backup);
    assert!(
        !a.iter().any(|x| matches!(x, Action::Notify { .. })),
        "{a:?}"
    );
    assert_eq!(b.next_deadline(), Some(t1 + b.master_down_interval()));
    assert!(b.master_down_interval() > Duration::from_secs(6));

    let mut f = VirtualRouter::new(RouterConfig::new(vrid, Version::V2, me, vec![]));
    f.handle(t, Input::Fault(true));
    f.handle(t, Input::Startup);
    assert_eq!(f.state(), State::Fault);
    let a = f.reconfigure(t1, new);
    assert_eq!(f.state(), State::Fault);
    assert!(a.iter().all(|x| matches!(x, Action::ArmTimer(_))), "{a:?}");
}

// Proves `timer_expired_backup` (keepalived 2.4's vrrp_thread_timeout_handler): a master
// (v2, 1 s interval) whose last advert went out less than 3 s + Skew_Time(highest other
// priority) ago stays Master; once that has passed it goes Backup without sending an advert,
// removing its VIPs and starting its Master_Down_Timer; a Backup is left alone.
#[test]
fn timer_expired_backup_after_another_could_take_over() {
    let me = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let mut cfg = RouterConfig::new(Vrid::new(1).unwrap(), Version::V2, me, vec![]);
    cfg.priority = Priority(200);
    cfg.advert_interval = AdvertInterval::V2Secs(1);
    let mut r = VirtualRouter::new(cfg);
    let t0 = Instant::now();
    r.handle(t0, Input::Startup);
    let t1 = t0 + r.master_down_interval();
    r.handle(t1, Input::Timer);
    assert_eq!(r.state(), State::Master);
    // Last advert at t1; priority 100's skew is 156/256 s = 609.375 ms.
    let due = t1 + Duration::from_micros(3_609_375);
    assert!(r
        .timer_expired_backup(due - Duration::from_millis(5), 100)
        .is_empty());
    assert_eq!(r.state(), State::Master);
    let a = r.timer_expired_backup(due, 100);
    assert_eq!(r.state(), State::Backup);
    assert!(a.contains(&Action::RemoveVips), "{a:?}");
    assert!(
        !a.iter().any(|x| matches!(x, Action::SendAdvert { .. })),
        "{a:?}"
    );
    assert!(a.iter().any(|x| matches!(
        x,
        Action::Notify {
            to: State::Backup,
            reason: Reason::TimerExpired,
            ..
        }
    )));
    assert_eq!(r.next_deadline(), Some(due + r.master_down_interval()));
    assert!(r
        .timer_expired_backup(due + Duration::from_secs(10), 100)
        .is_empty());
}

/// keepalived's `set_vrrp_backup`: a master whose VIP or route someone deleted goes Backup at
/// once (VIPs removed, no advert) and, with nobody else speaking, takes over again after
/// Skew_Time; a backup is left alone.
#[test]
fn relinquish_goes_backup_then_back_after_skew() {
    let me = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let cfg = || {
        let mut c = RouterConfig::new(Vrid::new(1).unwrap(), Version::V3, me, vec![]);
        c.priority = Priority(100);
        c
    };
    let t0 = Instant::now();
    let mut vr = VirtualRouter::new(cfg());
    vr.handle(t0, Input::Startup);
    let down = vr.next_deadline().expect("backup timer");
    vr.handle(down, Input::Timer);
    assert_eq!(vr.state(), State::Master);
    let t1 = down + Duration::from_millis(300);
    let a = vr.relinquish(t1);
    assert!(a.contains(&Action::RemoveVips), "{a:?}");
    assert!(
        !a.iter().any(|x| matches!(x, Action::SendAdvert { .. })),
        "no advert: {a:?}"
    );
    assert!(a.iter().any(|x| matches!(
        x,
        Action::Notify {
            from: State::Master,
            to: State::Backup,
            reason: Reason::Relinquished
        }
    )));
    assert_eq!(vr.state(), State::Backup);
    assert_eq!(vr.next_deadline(), Some(t1 + vr.skew_time()));
    vr.handle(t1 + vr.skew_time(), Input::Timer);
    assert_eq!(vr.state(), State::Master);
    // Not a master: nothing.
    let mut b = VirtualRouter::new(cfg());
    b.handle(t0, Input::Startup);
    assert!(b.relinquish(t0).is_empty());
    assert_eq!(b.state(), State::Backup);
}
