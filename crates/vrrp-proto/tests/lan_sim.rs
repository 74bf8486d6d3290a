//! A simulated LAN of N routers (deterministic seeds): adverts are emitted as real IP packets,
//! delayed and dropped at random, validated by each receiver and fed to its state machine.
//! Proves that after the network is quiet exactly one master remains — the highest priority,
//! the highest address on a tie — within the RFC 5798 timing bounds, and that a resigning
//! (priority 0, §6.4.3) or silently dead master is replaced within Skew_Time resp.
//! Master_Down_Interval (§6.4.2).

// Integration-test helpers (outside #[test] fns) may unwrap/panic: this is test code.
#![allow(clippy::unwrap_used, clippy::panic, clippy::type_complexity)]

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use vrrp_proto::wire::ip::{IpHeader, Ipv4Header};
use vrrp_proto::*;

/// The owned result of [`vrrp_proto::validate`] on a whole IP packet, as these tests compare it.
fn validate_packet(bytes: &[u8], ctx: &ReceiveContext<'_>) -> Result<Accepted, RxError> {
    vrrp_proto::validate(RxPacket::Ip(bytes), ctx).and_then(|v| v.to_accepted())
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

struct Net {
    t0: Instant,
    routers: Vec<VirtualRouter>,
    alive: Vec<bool>,
    queue: BinaryHeap<Reverse<(Duration, u64, usize, Vec<u8>)>>,
    seq: u64,
    rng: Rng,
    loss_pct: u64,
    max_delay_ms: u64,
    vips: Vec<IpAddr>,
    version: Version,
    /// (time, router, new state)
    log: Vec<(Duration, usize, State)>,
    ident: u16,
}

fn addr(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, 1 + i as u8)
}

impl Net {
    fn new(seed: u64, prios: &[u8], version: Version) -> Self {
        let vips = vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 200))];
        let routers = prios
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut c = RouterConfig::new(
                    Vrid::new(42).unwrap(),
                    version,
                    IpAddr::V4(addr(i)),
                    vips.clone(),
                );
                c.priority = Priority(*p);
                VirtualRouter::new(c)
            })
            .collect();
        Net {
            t0: Instant::now(),
            routers,
            alive: vec![true; prios.len()],
            queue: BinaryHeap::new(),
            seq: 0,
            rng: Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
            loss_pct: 0,
            max_delay_ms: 5,
            vips,
            version,
            log: Vec::new(),
            ident: 0,
        }
    }

    fn apply(&mut self, now: Duration, i: usize, acts: Actions) {
        for a in acts {
            match a {
                Action::SendAdvert { priority } => {
                    let cfg = self.routers[i].config();
                    self.ident = self.ident.wrapping_add(1);
                    let pkt = IpAdvert {
                        ip: IpHeader::V4(Ipv4Header {
                            tos: 0xc0,
                            ident: self.ident,
                            flags_frag: 0,
                            ttl: 255,
                            protocol: 112,
                            src: addr(i),
                            dst: Ipv4Addr::new(224, 0, 0, 18),
                        }),
                        ah: None,
                        advert: AdvertRepr {
                            vrid: cfg.vrid,
                            priority,
                            interval: cfg.advert_interval,
                            auth: Auth::None,
                            addrs: cfg.vips.clone(),
                        },
                    };
                    let bytes = pkt.emit(pkt.checksum_mode(false), None, false).unwrap();
                    for j in 0..self.routers.len() {
                        if j == i || self.rng.chance(self.loss_pct) {
                            continue;
                        }
                        let d = Duration::from_micros(self.rng.below(self.max_delay_ms * 1000 + 1));
                        self.seq += 1;
                        self.queue
                            .push(Reverse((now + d, self.seq, j, bytes.clone())));
                    }
                }
                Action::Notify { to, .. } => self.log.push((now, i, to)),
                _ => {}
            }
        }
    }

    fn run_until(&mut self, end: Duration) {
        loop {
            let next_timer = (0..self.routers.len())
                .filter(|i| self.alive[*i])
                .filter_map(|i| self.routers[i].next_deadline().map(|d| (d - self.t0, i)))
                .min();
            let next_pkt = self.queue.peek().map(|Reverse((t, ..))| *t);
            let (now, is_timer) = match (next_timer, next_pkt) {
                (Some((t, _)), Some(p)) if t <= p => (t, true),
                (_, Some(p)) => (p, false),
                (Some((t, _)), None) => (t, true),
                (None, None) => break,
            };
            if now > end {
                break;
            }
            if is_timer {
                let (_, i) = next_timer.unwrap();
                let acts = self.routers[i].handle(self.t0 + now, Input::Timer);
                self.apply(now, i, acts);
            } else {
                let Reverse((_, _, j, bytes)) = self.queue.pop().unwrap();
                if !self.alive[j] {
                    continue;
                }
                let cfg = self.routers[j].config().clone();
                let ctx = ReceiveContext {
                    version: self.version,
                    family: Family::V4,
                    vrid: cfg.vrid,
                    auth: AuthConfig::None,
                    advert_interval: cfg.advert_interval,
                    vips: &self.vips,
                    check_addresses: true,
                    unicast: false,
                    unicast_peers: &[],
                    check_unicast_src: false,
                    v3_checksum_as_v2: false,
                    ah_last_seq: 0,
                };
                let acc = validate_packet(&bytes, &ctx).expect("simulated adverts are valid");
                let acts = self.routers[j].handle(
                    self.t0 + now,
                    Input::Advert {
                        src: acc.src,
                        ttl: acc.ttl,
                        repr: acc.advert,
                    },
                );
                self.apply(now, j, acts);
            }
        }
    }

    fn masters(&self) -> Vec<usize> {
        (0..self.routers.len())
            .filter(|i| self.alive[*i] && self.routers[*i].state() == State::Master)
            .collect()
    }

    /// The router that must win among the alive ones: highest priority, then highest address.
    fn expected(&self) -> usize {
        (0..self.routers.len())
            .filter(|i| self.alive[*i])
            .max_by_key(|i| (self.routers[*i].priority(), addr(*i)))
            .unwrap()
    }

    /// After a takeover (not a simultaneous start) an equal-priority Backup with a higher
    /// address does NOT pre-empt (RFC 5798 §6.4.2 accepts adverts with priority >= local), so
    /// any of the highest-priority routers is a correct master; the address only breaks ties
    /// between routers that are Master at the same time (§6.4.3).
    fn acceptable_after_takeover(&self) -> Vec<usize> {
        let best = (0..self.routers.len())
            .filter(|i| self.alive[*i])
            .map(|i| self.routers[i].priority())
            .max();
        (0..self.routers.len())
            .filter(|i| self.alive[*i] && Some(self.routers[*i].priority()) == best)
            .collect()
    }

    fn last_change_after(&self, t: Duration) -> Option<Duration> {
        self.log
            .iter()
            .filter(|(at, ..)| *at >= t)
            .map(|(at, ..)| *at)
            .max()
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn scenario(seed: u64, version: Version) {
    let mut rng = Rng(seed.wrapping_add(12345) | 1);
    let n = 2 + rng.below(5) as usize;
    let choices = [50u8, 100, 100, 150, 200, 254];
    let prios: Vec<u8> = (0..n)
        .map(|_| choices[rng.below(choices.len() as u64) as usize])
        .collect();
    let mut net = Net::new(seed, &prios, version);
    let interval = net.routers[0].config().advert_interval.to_duration();
    for i in 0..n {
        let acts = net.routers[i].handle(net.t0, Input::Startup);
        net.apply(Duration::ZERO, i, acts);
    }
    // Phase 1: lossy, jittery network.
    net.loss_pct = 15;
    net.max_delay_ms = 30;
    net.run_until(secs(20));
    // Phase 2: quiet network. All transitions settle within Master_Down_Interval of the
    // slowest router plus one interval and the delay (RFC 5798 §6.4.2 timing).
    net.loss_pct = 0;
    net.max_delay_ms = 5;
    net.run_until(secs(40));
    let masters = net.masters();
    assert_eq!(
        masters,
        vec![net.expected()],
        "seed {seed} prios {prios:?}: masters {masters:?}"
    );
    let worst_mdi = net
        .routers
        .iter()
        .map(|r| r.master_down_interval())
        .max()
        .unwrap();
    let bound = secs(20) + worst_mdi + interval + Duration::from_millis(10);
    if let Some(t) = net.last_change_after(secs(20)) {
        assert!(t <= bound, "seed {seed}: settled at {t:?}, bound {bound:?}");
    }

    // Phase 3: the master resigns (Shutdown -> priority 0). The next best takes over within
    // its Skew_Time plus delay (§6.4.2 "Priority = 0: set Master_Down_Timer to Skew_Time").
    if n >= 2 {
        let m = masters[0];
        let t_shut = secs(40);
        let acts = net.routers[m].handle(net.t0 + t_shut, Input::Shutdown);
        net.apply(t_shut, m, acts);
        net.alive[m] = false;
        let ok = net.acceptable_after_takeover();
        net.run_until(secs(50));
        let ms = net.masters();
        assert!(
            ms.len() == 1 && ok.contains(&ms[0]),
            "seed {seed}: after resign masters {ms:?}, acceptable {ok:?}"
        );
        let next = ms[0];
        let took = net
            .log
            .iter()
            .find(|(t, i, s)| *t >= t_shut && *i == next && *s == State::Master)
            .map(|(t, ..)| *t);
        let skew = net.routers[next].skew_time();
        let took = took.expect("next best became master");
        assert!(
            took <= t_shut + skew + Duration::from_millis(6),
            "seed {seed}: took over at {took:?} (skew {skew:?})"
        );
    }
    // Phase 4: the new master dies silently; the next takes over within Master_Down_Interval.
    if n >= 3 {
        let m = net.masters()[0];
        let t_dead = secs(50);
        // The last advert from m was at most one interval before t_dead.
        net.alive[m] = false;
        let ok = net.acceptable_after_takeover();
        net.run_until(secs(65));
        let ms = net.masters();
        assert!(
            ms.len() == 1 && ok.contains(&ms[0]),
            "seed {seed}: after silent death masters {ms:?}, acceptable {ok:?}"
        );
        let next = ms[0];
        let took = net
            .log
            .iter()
            .find(|(t, i, s)| *t >= t_dead && *i == next && *s == State::Master)
            .map(|(t, ..)| *t)
            .expect("next became master");
        let mdi = net.routers[next].master_down_interval();
        assert!(
            took <= t_dead + mdi + Duration::from_millis(6),
            "seed {seed}: took over at {took:?} (mdi {mdi:?})"
        );
    }
}

// Proves convergence to exactly one correct master on 200 random v3 LANs (2-6 routers, 15% loss, 0-30 ms delay).
#[test]
fn simulated_lan_v3_converges() {
    for seed in 0..200 {
        scenario(seed, Version::V3);
    }
}

// Proves the same for VRRPv2 timing (1 s interval, seconds-based skew).
#[test]
fn simulated_lan_v2_converges() {
    for seed in 1000..1100 {
        scenario(seed, Version::V2);
    }
}
