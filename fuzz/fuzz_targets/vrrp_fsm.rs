#![no_main]
//! Drive the VRRP state machine (and a sync group) with fuzzed inputs and times; check it
//! never panics and its invariants hold after every step:
//! - VIPs are installed exactly while Master (AddVips/RemoveVips bookkeeping);
//! - Notify.from is the previous state and Notify.to the new one;
//! - Backup/Master always have a deadline (unless held by a sync group), Initialize/Fault none;
//! - after a Timer input no expired deadline remains;
//! - ArmTimer always reports next_deadline().
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};
use vrrp_proto::*;

fn input(b: &[u8]) -> Input {
    let src = IpAddr::V4(Ipv4Addr::new(10, 0, 0, b[2] % 8));
    match b[0] % 8 {
        0 => Input::Startup,
        1 => Input::Shutdown,
        2 | 3 => Input::Advert {
            src,
            ttl: 255,
            repr: AdvertRepr {
                vrid: Vrid::new(7).unwrap_or(Vrid::new(1).unwrap()),
                priority: Priority(b[1]),
                interval: AdvertInterval::V3(Centisecs(u16::from(b[3]) * 4 + 1)),
                auth: Auth::None,
                addrs: vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100))],
            },
        },
        4 | 5 => Input::Timer,
        6 => Input::PriorityChange(i32::from(b[1] as i8) * 3),
        _ => Input::Fault(b[1] & 1 == 1),
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let t0 = Instant::now();
    let mut cfg = RouterConfig::new(
        Vrid::new(7).unwrap_or(Vrid::new(1).unwrap()),
        Version::V3,
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 4)),
        vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100))],
    );
    cfg.priority = Priority(data[0].max(1));
    cfg.preempt = data[1] & 1 == 0;
    cfg.preempt_delay = (data[1] & 2 != 0).then(|| Duration::from_millis(u64::from(data[2]) * 50));
    cfg.lower_prio_no_advert = data[1] & 4 != 0;
    cfg.higher_prio_send_advert = data[1] & 8 != 0;
    cfg.garp.lower_prio_repeat = u32::from(data[1] >> 6);
    cfg.garp.lower_prio_delay = (data[1] & 16 != 0).then(|| Duration::from_millis(700));
    cfg.garp.master_refresh = (data[1] & 32 != 0).then(|| Duration::from_millis(1300));
    cfg.down_timer_adverts = 1 + data[3] % 5;
    cfg.initial_state = if data[3] & 0x80 != 0 {
        InitialState::Master
    } else {
        InitialState::Backup
    };
    let mut r = VirtualRouter::new(cfg.clone());
    let mut now = t0;
    let mut vips = false;
    for chunk in data[4..].chunks_exact(5) {
        now += Duration::from_millis(u64::from(chunk[4]) * 20);
        let inp = input(chunk);
        let is_timer = inp == Input::Timer;
        if is_timer {
            if let Some(d) = r.next_deadline() {
                now = now.max(d);
            }
        }
        let before = r.state();
        let acts = r.handle(now, inp);
        let mut st = before;
        for a in &acts {
            match a {
                Action::AddVips { .. } => vips = true,
                Action::RemoveVips => vips = false,
                Action::Notify { from, to, .. } => {
                    assert_eq!(*from, st);
                    assert_ne!(from, to);
                    st = *to;
                }
                Action::ArmTimer(t) => assert_eq!(*t, r.next_deadline()),
                _ => {}
            }
        }
        assert_eq!(st, r.state());
        assert_eq!(
            vips,
            r.state() == State::Master,
            "VIPs installed iff Master"
        );
        match r.state() {
            State::Backup | State::Master => assert!(r.next_deadline().is_some()),
            State::Initialize | State::Fault => assert!(r.next_deadline().is_none()),
        }
        if is_timer {
            // Servicing the timer leaves only future deadlines.
            if let Some(d) = r.next_deadline() {
                assert!(d > now, "expired deadline left after Timer");
            }
        }
    }
    // Sync group with two members driven by the same bytes.
    let mut b = cfg.clone();
    b.vrid = Vrid::new(8).unwrap_or(Vrid::new(1).unwrap());
    let mut g = SyncGroup::new(vec![VirtualRouter::new(cfg), VirtualRouter::new(b)]);
    let mut now = t0;
    for chunk in data[4..].chunks_exact(5) {
        now += Duration::from_millis(u64::from(chunk[4]) * 20);
        let idx = usize::from(chunk[2] & 1);
        let _ = g.handle(now, idx, input(chunk));
        let states = g.states();
        // Outside transients the members agree on Fault.
        if g.members().iter().any(|m| m.is_fault()) {
            assert!(states
                .iter()
                .all(|s| *s == State::Fault || *s == State::Initialize));
        }
    }
});
