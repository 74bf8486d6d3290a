//! Scenario tests on a virtual clock: two sessions talking over a simulated link (1 ms one-way
//! delay, can be cut), every packet encoded to bytes and validated as a worker would.

// Test code: unwrap/panic on a broken scenario is the point.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use bfd_proto::*;

const DELAY: Duration = Duration::from_millis(1);

struct Sim {
    t0: Instant,
    now: Instant,
    s: [Session; 2],
    /// In flight: (arrival, to, bytes).
    wire: Vec<(Instant, usize, Vec<u8>)>,
    link_up: bool,
    /// (time since t0, session index, change).
    changes: Vec<(Duration, usize, StateChange)>,
    /// (time since t0, sender, packet).
    sent: Vec<(Duration, usize, Repr)>,
    /// Rejections seen by each side.
    dropped: Vec<(usize, RxError)>,
}

impl Sim {
    fn new(a: SessionConfig, b: SessionConfig) -> Sim {
        let t0 = Instant::now();
        Sim {
            t0,
            now: t0,
            s: [Session::new(a, t0), Session::new(b, t0)],
            wire: Vec::new(),
            link_up: true,
            changes: Vec::new(),
            sent: Vec::new(),
            dropped: Vec::new(),
        }
    }

    fn apply(&mut self, i: usize, out: Actions) {
        for a in out {
            match a {
                Action::Transmit(r) => {
                    let mut buf = [0u8; 64];
                    let n = self.s[i].encode(&r, &mut buf).unwrap();
                    self.sent.push((self.now - self.t0, i, r));
                    if self.link_up {
                        self.wire.push((self.now + DELAY, 1 - i, buf[..n].to_vec()));
                    }
                }
                Action::StateChange(c) => self.changes.push((self.now - self.t0, i, c)),
                Action::Dropped(e) => self.dropped.push((i, e)),
                Action::TimersChanged(_) => {}
            }
        }
    }

    fn input(&mut self, i: usize, input: Input<'_>) {
        let out = self.s[i].handle(self.now, input);
        self.apply(i, out);
    }

    /// Run until `t0 + until`.
    fn run(&mut self, until: Duration) {
        let end = self.t0 + until;
        loop {
            let mut next: Option<(Instant, Option<usize>, usize)> = None;
            for (k, (t, _, _)) in self.wire.iter().enumerate() {
                if next.is_none_or(|(n, _, _)| *t < n) {
                    next = Some((*t, Some(k), 0));
                }
            }
            for i in 0..2 {
                if let Some(t) = self.s[i].next_deadline() {
                    if next.is_none_or(|(n, _, _)| t < n) {
                        next = Some((t, None, i));
                    }
                }
            }
            let Some((t, pkt, i)) = next else { break };
            if t > end {
                break;
            }
            self.now = self.now.max(t);
            match pkt {
                Some(k) => {
                    let (_, to, bytes) = self.wire.remove(k);
                    match validate(&bytes, &RxPolicy::KEEPALIVED) {
                        Ok(v) => {
                            let out = self.s[to].handle(
                                self.now,
                                Input::Packet {
                                    packet: &v,
                                    ttl: Some(255),
                                },
                            );
                            self.apply(to, out);
                        }
                        Err(e) => self.dropped.push((to, e)),
                    }
                }
                None => self.input(i, Input::Timer),
            }
        }
        self.now = self.now.max(end);
    }

    fn first_change(&self, i: usize, to: State, after: Duration) -> Option<(Duration, Diag)> {
        self.changes
            .iter()
            .find(|(t, k, c)| *k == i && c.to == to && *t >= after)
            .map(|(t, _, c)| (*t, c.diag))
    }

    fn cut(&mut self) {
        self.link_up = false;
        self.wire.clear();
    }
}

fn cfg(discr: u32) -> SessionConfig {
    SessionConfig::keepalived_defaults(discr)
}

/// Two active sessions with keepalived's defaults come Up by the three-way handshake, switch
/// from the 1 s idle rate to 10 ms by a Poll Sequence each, and stay Up for 60 s with the
/// expected packet rate (10 ms less 0–25 % jitter) and no false Down.
#[test]
fn two_sessions_come_up_and_stay_up() {
    let mut sim = Sim::new(cfg(0x1111), cfg(0x2222));
    sim.run(Duration::from_secs(3));
    for i in 0..2 {
        assert_eq!(sim.s[i].state(), State::Up, "side {i}");
        let (t, _) = sim.first_change(i, State::Up, Duration::ZERO).unwrap();
        assert!(t < Duration::from_millis(1100), "up after {t:?}");
        assert_eq!(sim.s[i].counters().polls_started, 1);
        assert_eq!(sim.s[i].counters().polls_completed, 1);
        assert!(!sim.s[i].polling());
        assert_eq!(
            sim.s[i].timers().tx_interval,
            Some(Duration::from_millis(10))
        );
        assert_eq!(
            sim.s[i].timers().detection_time,
            Some(Duration::from_millis(50))
        );
    }
    assert_eq!(sim.s[0].remote_discriminator(), 0x2222);
    let before = sim.s[0].counters().tx_packets;
    sim.run(Duration::from_secs(63));
    let n = sim.s[0].counters().tx_packets - before;
    assert!((6000..=8000).contains(&n), "{n} packets in 60 s");
    assert_eq!(sim.changes.len(), 4, "{:?}", sim.changes);
    assert!(sim.dropped.is_empty(), "{:?}", sim.dropped);
    // While not Up every packet said 1 s Desired Min TX (RFC 5880 §6.8.3).
    for (_, _, r) in &sim.sent {
        if r.state != State::Up {
            assert_eq!(r.desired_min_tx, 1_000_000);
        }
        assert!(!(r.poll && r.final_));
    }
}

/// Cutting the link is detected by both sides within the detection time (5 × 10 ms): Down with
/// diag 1 no later than 50 ms after the last packet got through; restoring it brings the
/// session Up again.
#[test]
fn link_cut_detected_within_detection_time_and_recovers() {
    let mut sim = Sim::new(cfg(1), cfg(2));
    sim.run(Duration::from_secs(3));
    let cut = sim.now - sim.t0;
    sim.cut();
    sim.run(Duration::from_secs(4));
    for i in 0..2 {
        let (t, diag) = sim.first_change(i, State::Down, cut).unwrap();
        assert_eq!(diag, Diag::ControlDetectionTimeExpired);
        let took = t - cut;
        assert!(
            took <= Duration::from_millis(50) && took >= Duration::from_millis(40),
            "side {i} detected after {took:?}"
        );
        assert_eq!(sim.s[i].counters().detect_timeouts, 1);
        assert_eq!(sim.s[i].remote_discriminator(), 0);
        // Back to the idle rate.
        assert_eq!(sim.s[i].timers().tx_interval, Some(Duration::from_secs(1)));
    }
    sim.link_up = true;
    let back = sim.now - sim.t0;
    sim.run(Duration::from_secs(8));
    for i in 0..2 {
        let (t, _) = sim.first_change(i, State::Up, back).unwrap();
        assert!(t - back < Duration::from_millis(2100), "{:?}", t - back);
        assert_eq!(sim.s[i].state(), State::Up);
    }
}

/// Changing the intervals while Up goes through a Poll Sequence the other side answers: the
/// slower TX (50 ms) takes effect only after the Final, the peer's detection time follows, and
/// nobody goes Down.
#[test]
fn interval_change_by_poll_sequence() {
    let mut sim = Sim::new(cfg(1), cfg(2));
    sim.run(Duration::from_secs(3));
    sim.input(
        0,
        Input::SetParams {
            desired_min_tx: 50_000,
            required_min_rx: 20_000,
            detect_mult: 3,
        },
    );
    assert!(sim.s[0].polling());
    // Until the Final, A still transmits at 10 ms.
    assert_eq!(
        sim.s[0].timers().tx_interval,
        Some(Duration::from_millis(10))
    );
    let t = sim.now - sim.t0;
    sim.run(Duration::from_secs(5));
    assert!(!sim.s[0].polling());
    assert_eq!(sim.s[0].counters().polls_completed, 2);
    assert!(sim.s[1].counters().tx_final >= 2);
    assert_eq!(
        sim.s[0].timers().tx_interval,
        Some(Duration::from_millis(50))
    );
    // B: detection time 3 × max(10 ms, 50 ms); B sends at max(10 ms, A's 20 ms RX).
    assert_eq!(
        sim.s[1].timers().detection_time,
        Some(Duration::from_millis(150))
    );
    assert_eq!(
        sim.s[1].timers().tx_interval,
        Some(Duration::from_millis(20))
    );
    assert!(sim.first_change(0, State::Down, t).is_none());
    assert!(sim.first_change(1, State::Down, t).is_none());
    // The P packets A sent carried the new values; F answers never carried P.
    let polls: Vec<_> = sim
        .sent
        .iter()
        .filter(|(st, i, r)| *st >= t && *i == 0 && r.poll)
        .collect();
    assert!(!polls.is_empty());
    assert!(polls.iter().all(|(_, _, r)| r.desired_min_tx == 50_000));
}

/// A passive session sends nothing until it hears from the remote, then comes Up; two passive
/// sessions stay silent.
#[test]
fn passive_mode() {
    let passive = SessionConfig {
        passive: true,
        ..cfg(2)
    };
    let mut sim = Sim::new(cfg(1), passive);
    assert_eq!(sim.s[1].next_deadline(), None);
    sim.run(Duration::from_secs(3));
    let first_b = sim.sent.iter().find(|(_, i, _)| *i == 1).unwrap();
    let first_a = sim.sent.iter().find(|(_, i, _)| *i == 0).unwrap();
    assert!(first_b.0 > first_a.0);
    assert_eq!(sim.s[1].state(), State::Up);
    assert_eq!(sim.s[0].state(), State::Up);

    let mut sim = Sim::new(
        passive,
        SessionConfig {
            passive: true,
            ..cfg(3)
        },
    );
    sim.run(Duration::from_secs(10));
    assert!(sim.sent.is_empty());
}

/// AdminDown: packets with State AdminDown and diag 7 for about one detection time, then
/// silence; the peer goes Down with diag 3; received packets are discarded and counted;
/// AdminUp brings the session back Up.
#[test]
fn admin_down_and_up() {
    let mut sim = Sim::new(cfg(1), cfg(2));
    sim.run(Duration::from_secs(3));
    let t = sim.now - sim.t0;
    sim.input(0, Input::AdminDown);
    assert_eq!(sim.s[0].state(), State::AdminDown);
    sim.run(Duration::from_secs(5));
    let (_, diag) = sim.first_change(1, State::Down, t).unwrap();
    assert_eq!(diag, Diag::NeighborSignaledDown);
    let admin: Vec<_> = sim
        .sent
        .iter()
        .filter(|(st, i, _)| *st >= t && *i == 0)
        .collect();
    assert!(!admin.is_empty());
    assert!(admin
        .iter()
        .all(|(_, _, r)| r.state == State::AdminDown && r.diag == Diag::AdministrativelyDown));
    let last = admin.last().unwrap().0;
    assert!(last - t <= Duration::from_millis(60), "{:?}", last - t);
    assert!(sim.s[0].counters().rx.get("rx_admin_down") > 0);
    assert_eq!(sim.s[1].counters().neighbor_down, 1);
    let t = sim.now - sim.t0;
    sim.input(0, Input::AdminUp);
    sim.run(Duration::from_secs(9));
    assert!(sim.first_change(0, State::Up, t).is_some());
    assert_eq!(sim.s[1].state(), State::Up);
}

/// Jitter: intervals lie in [75 %, 100 %] of the negotiated interval ([75 %, 90 %] with Detect
/// Mult 1), and the same seed gives the same schedule.
#[test]
fn jitter_bounds_and_determinism() {
    for mult in [5u8, 1] {
        let run = |seed: u64| {
            let c = SessionConfig {
                detect_mult: mult,
                seed,
                ..cfg(1)
            };
            let mut sim = Sim::new(
                c,
                SessionConfig {
                    seed: seed + 1,
                    ..cfg(2)
                },
            );
            sim.run(Duration::from_secs(5));
            sim.sent
                .iter()
                .filter(|(t, i, r)| {
                    *i == 0 && r.state == State::Up && !r.final_ && *t > Duration::from_secs(3)
                })
                .map(|(t, _, _)| *t)
                .collect::<Vec<_>>()
        };
        let a = run(7);
        assert_eq!(a, run(7));
        assert_ne!(a, run(8));
        let hi = if mult == 1 { 9_000 } else { 10_000 };
        for w in a.windows(2) {
            let d = (w[1] - w[0]).as_micros();
            assert!((7_500..=hi).contains(&d), "mult {mult}: {d} us");
        }
    }
}

/// RFC 5880 authentication between two of our sessions: keyed MD5 and meticulous SHA1 come
/// Up; a wrong key is dropped as a digest mismatch and the session never comes Up; a
/// keyed session facing one without auth is refused on both sides.
#[test]
fn authentication_between_sessions() {
    for ty in [
        AuthType::SimplePassword,
        AuthType::KeyedMd5,
        AuthType::MeticulousKeyedMd5,
        AuthType::KeyedSha1,
        AuthType::MeticulousKeyedSha1,
    ] {
        let key = AuthKey::new(ty, 9, b"secret").unwrap();
        let a = SessionConfig {
            auth: Some(key),
            ..cfg(1)
        };
        let b = SessionConfig {
            auth: Some(key),
            ..cfg(2)
        };
        let mut sim = Sim::new(a, b);
        sim.run(Duration::from_secs(3));
        assert_eq!(sim.s[0].state(), State::Up, "{ty:?}");
        assert_eq!(sim.s[1].state(), State::Up, "{ty:?}");
        assert!(sim.dropped.is_empty(), "{ty:?}: {:?}", sim.dropped);

        let wrong = AuthKey::new(ty, 9, b"other").unwrap();
        let mut sim = Sim::new(
            a,
            SessionConfig {
                auth: Some(wrong),
                ..cfg(2)
            },
        );
        sim.run(Duration::from_secs(3));
        assert_eq!(sim.s[1].state(), State::Down);
        let want = if ty == AuthType::SimplePassword {
            "rx_auth_password"
        } else {
            "rx_auth_digest"
        };
        assert!(sim.s[1].counters().rx.get(want) > 0, "{ty:?}");
    }
    let key = AuthKey::new(AuthType::KeyedSha1, 1, b"k").unwrap();
    let mut sim = Sim::new(
        SessionConfig {
            auth: Some(key),
            ..cfg(1)
        },
        cfg(2),
    );
    sim.run(Duration::from_secs(3));
    assert_eq!(sim.s[0].state(), State::Down);
    assert!(sim.s[1].counters().rx.get("rx_auth_unexpected") > 0);
    assert!(sim.s[0].counters().rx.get("rx_auth_missing") > 0);
}

/// A replayed meticulous-MD5 packet (same sequence number) is refused.
#[test]
fn meticulous_replay_refused() {
    let key = AuthKey::new(AuthType::MeticulousKeyedMd5, 3, b"pw").unwrap();
    let t0 = Instant::now();
    let mut a = Session::new(
        SessionConfig {
            auth: Some(key),
            ..cfg(1)
        },
        t0,
    );
    let mut b = Session::new(
        SessionConfig {
            auth: Some(key),
            ..cfg(2)
        },
        t0,
    );
    let out = a.handle(t0, Input::Timer);
    let Some(Action::Transmit(r)) = out.first() else {
        panic!("{out:?}")
    };
    let mut buf = [0u8; 64];
    let n = a.encode(r, &mut buf).unwrap();
    let v = validate(&buf[..n], &RxPolicy::KEEPALIVED).unwrap();
    let first = b.handle(
        t0,
        Input::Packet {
            packet: &v,
            ttl: None,
        },
    );
    assert!(!first.iter().any(|a| matches!(a, Action::Dropped(_))));
    let again = b.handle(
        t0,
        Input::Packet {
            packet: &v,
            ttl: None,
        },
    );
    assert!(matches!(
        again.as_slice(),
        [Action::Dropped(RxError::AuthSequence { .. })]
    ));
    assert_eq!(b.counters().rx.get("rx_auth_sequence"), 1);
}
