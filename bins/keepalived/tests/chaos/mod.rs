//! Chaos soak harness (issue #25): 3 VRRP directors in lab namespaces, faults drawn from a seeded
//! RNG, invariants checked continuously from an independent advert recorder and `ip addr`
//! polling (never from the daemons' logs).
//!
//! ```text
//!  a ── eth0 ═ veth ═ d [impairer ns "ia": userspace netem, AF_PACKET relay] u ═ veth ═╗
//!  b ── ... ib ...                                                                       ╠═ br0
//!  c ── ... ic ...                                                                       ║
//!  cl (client, UDP probe of the VIP every 30 ms) ═════════════════════════════════════════╣
//!  rec (recorder: AF_PACKET socket, every VRRP advert on the bridge, timestamped) ══════╝
//! ```
//!
//! This kernel has no `sch_netem`, so loss/delay/jitter/reorder/duplication are applied by a
//! relay thread per director (the impairer namespace sits between the director's `eth0` and the
//! bridge; frames go through it both ways). Link down/up is `ip link set eth0 down` in the
//! director itself (carrier loss: keepalived goes to FAULT).
//!
//! The fault schedule is drawn entirely up front from the seed (`KRS_CHAOS_SEED`), so the same
//! seed gives the same schedule; it is printed with the event trace when a run fails.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::panic,
    clippy::expect_used,
    clippy::needless_range_loop
)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{self, Signal};
use nix::sys::socket::{self as nsock, LinkAddr};
use nix::unistd::Pid;
use testlab::netns::{wait_until, Host, Lab, Proc, BRIDGE};

pub const BIN: &str = env!("CARGO_BIN_EXE_keepalived");
/// Our binary: `KRS_CHAOS_BIN` if set (a long run from a copy, so rebuilding the workspace
/// meanwhile does not replace the binary its processes re-execute), else the built one.
pub fn ours_bin() -> String {
    std::env::var("KRS_CHAOS_BIN").unwrap_or_else(|_| BIN.to_string())
}
pub const REFERENCE: &str = "/usr/sbin/keepalived";
pub const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
const ECHO_PORT: u16 = 9999;
/// LVS variant: the UDP virtual service on the VIP (DR to the real servers), checked with
/// TCP_CHECK on port 80 of each real server.
pub const LVS_PORT: u16 = 9998;
pub const RS_COUNT: usize = 2;
const RS_WEIGHTS: [u32; RS_COUNT] = [1, 2];
/// delay_loop and retry of the TCP_CHECKs: the IPVS table must match the real servers that are
/// up within delay_loop × (retry + 1) of the last change.
pub const DELAY_LOOP: f64 = 2.0;
pub const RETRY: u32 = 1;
/// The issue's bound: delay_loop × (retry + 1).
pub fn ipvs_bound() -> f64 {
    DELAY_LOOP * f64::from(RETRY + 1)
}
/// TCP_CHECK connect_timeout (s).
pub const CONNECT_TIMEOUT: f64 = 1.0;
/// What is enforced: the issue's bound plus the connect timeout of each attempt (retry + 1 of
/// them): in the loaded emulated VM a SYN to a closed port is sometimes not answered by an RST
/// within the timeout, so a failing attempt lasts up to connect_timeout. Changes over the
/// issue's bound alone are counted (`ipvs_over_bound`).
pub fn ipvs_enforced_bound() -> f64 {
    ipvs_bound() + f64::from(RETRY + 1) * CONNECT_TIMEOUT
}
fn rs_addr(r: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, 11 + r as u8)
}
/// Advert interval (s) and the tracked script's weight.
/// 1 s in the lab; 2 s in the emulated VM (`Soak::run` sets it for the LVS variant), where
/// guest stalls of up to ~3 s under host load would otherwise look like dead masters.
static ADVERT_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1000);
fn advert() -> f64 {
    ADVERT_MS.load(Ordering::Relaxed) as f64 / 1000.0
}
/// The tracked script's interval and timeout (s): 1 and keepalived's default in the lab, 2 and 5
/// in the emulated VM (spawning a shell there can take over a second under host load).
fn script_timing() -> (u32, Option<u32>) {
    if ADVERT_MS.load(Ordering::Relaxed) > 1000 {
        (2, Some(5))
    } else {
        (1, None)
    }
}
const SCRIPT_WEIGHT: u8 = 60;
/// Priorities a changed configuration draws from.
const PRIOS: [u8; 6] = [80, 100, 120, 140, 160, 180];
/// Lowest effective priority a node can have (80 - 60): its skew is the largest.
const MIN_EFF_PRIO: u8 = 20;
/// VRRP version 2 Master_Down_Interval = 3 × advert + skew, skew = (256 - prio) / 256 × advert.
pub fn skew(prio: u8) -> f64 {
    (256.0 - f64::from(prio)) / 256.0 * advert()
}
pub fn mdi(prio: u8) -> f64 {
    3.0 * advert() + skew(prio)
}
/// Two holders at once for longer than this is a violation (issue: MDI + 100 ms).
pub fn two_holder_bound() -> f64 {
    mdi(MIN_EFF_PRIO) + 0.1
}
/// After faults stop: one master (the RFC one) within MDI + skew.
pub fn convergence_bound() -> f64 {
    mdi(MIN_EFF_PRIO) + skew(MIN_EFF_PRIO)
}
/// Our VIP lease: Master_Down_Interval (4 adverts) rounded up + 2 s (vrrp-runtime
/// LEASE_MARGIN_SECS); the kernel checks address lifetimes on a timer rounded up to the next
/// second, so the VIP may outlive it by up to 1 s.
pub fn lease_bound() -> f64 {
    (4.0 * advert()).ceil() + f64::from(vrrp_runtime::LEASE_MARGIN_SECS) + 1.0
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Ours,
    Reference,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Kind::Ours => "ours",
            Kind::Reference => "ref",
        }
    }
}

pub fn parse_mode(mode: &str) -> [Kind; 3] {
    match mode {
        "ours" => [Kind::Ours; 3],
        "reference" | "ref" => [Kind::Reference; 3],
        "mixed" => [Kind::Ours, Kind::Reference, Kind::Ours],
        "mixed2" => [Kind::Reference, Kind::Ours, Kind::Reference],
        m => panic!("unknown mode {m} (ours, reference, mixed, mixed2)"),
    }
}

// ---------------------------------------------------------------------------------------------
// Seeded RNG (splitmix64): the schedule depends on nothing else.

#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * (hi - lo)
    }
    pub fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

// ---------------------------------------------------------------------------------------------
// Faults and the schedule

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Parent,
    Worker,
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Impair {
    pub loss_pct: u32,
    pub delay_ms: u32,
    pub jitter_ms: u32,
    pub reorder_pct: u32,
    pub dup_pct: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    LinkDown(usize),
    LinkUp(usize),
    Impair(usize, Impair),
    ClearImpair(usize),
    Stop(usize, Role),
    Cont(usize, Role),
    Kill(usize, Role),
    Restart(usize),
    HupSame(usize),
    HupPrio(usize, u8),
    HupInvalid(usize),
    RestoreConf(usize),
    ScriptFail(usize, bool),
    /// LVS variant: real server `r` stops serving (its listeners closed) / serves again.
    RsDown(usize),
    RsUp(usize),
}

impl Action {
    /// Fault kind for the per-kind counts (undo actions: None).
    pub fn kind(&self) -> Option<&'static str> {
        Some(match self {
            Action::LinkDown(_) => "link down/up",
            Action::Impair(_, i) if i.loss_pct > 0 => "netem loss",
            Action::Impair(_, i) if i.reorder_pct > 0 => "netem reorder",
            Action::Impair(_, i) if i.dup_pct > 0 => "netem duplicate",
            Action::Impair(..) => "netem delay",
            Action::Stop(_, Role::Parent) => "SIGSTOP/CONT parent",
            Action::Stop(_, Role::Worker) => "SIGSTOP/CONT worker",
            Action::Kill(_, Role::Parent) => "SIGKILL parent (+restart)",
            Action::Kill(_, Role::Worker) => "SIGKILL worker",
            Action::HupSame(_) => "SIGHUP unchanged",
            Action::HupPrio(..) => "SIGHUP changed priority",
            Action::HupInvalid(_) => "SIGHUP invalid config",
            Action::ScriptFail(..) => "tracked script flip",
            Action::RsDown(_) => "real server down/up",
            _ => return None,
        })
    }
}

/// The whole fault schedule for `secs` seconds of faults, drawn from `seed` only.
pub fn schedule(seed: u64, secs: f64) -> Vec<(f64, Action)> {
    schedule_with(seed, secs, true)
}

/// The LVS variant's schedule: the VRRP schedule plus real servers going down and up, drawn from
/// a second stream of the same seed (so the VRRP part is the same as without LVS).
pub fn schedule_full(seed: u64, secs: f64, kills: bool, lvs: bool) -> Vec<(f64, Action)> {
    let mut out = schedule_with(seed, secs, kills);
    if lvs {
        let mut rng = Rng::new(seed ^ 0x1a5_1a5);
        let mut busy = [0.0f64; RS_COUNT];
        let mut t = 3.0;
        while t < secs {
            let r = rng.below(RS_COUNT as u64) as usize;
            if busy[r] <= t {
                let d = rng.range(1.0, 12.0);
                out.push((t, Action::RsDown(r)));
                out.push((t + d, Action::RsUp(r)));
                busy[r] = t + d + rng.range(1.0, 8.0);
            }
            t += rng.range(1.0, 5.0);
        }
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        out.retain(|(t, _)| *t < secs);
    }
    out
}

/// The schedule; `kills` false leaves out SIGKILL of the parent or the worker (the leak run:
/// every process lives through the whole run, so its RSS and descriptors compare start/end).
pub fn schedule_with(seed: u64, secs: f64, kills: bool) -> Vec<(f64, Action)> {
    let mut rng = Rng::new(seed);
    let mut out: Vec<(f64, Action)> = Vec::new();
    // Per node, until when each fault class is busy (no overlapping faults of one class).
    let mut link_busy = [0.0f64; 3];
    let mut net_busy = [0.0f64; 3];
    let mut proc_busy = [0.0f64; 3];
    let mut conf_busy = [0.0f64; 3];
    let mut script_fail = [false; 3];
    let mut t = 2.0;
    while t < secs {
        let n = rng.below(3) as usize;
        let k = rng.below(100);
        match k {
            0..=11 if link_busy[n] <= t => {
                let d = rng.range(0.3, 5.0);
                out.push((t, Action::LinkDown(n)));
                out.push((t + d, Action::LinkUp(n)));
                link_busy[n] = t + d + 0.5;
            }
            12..=31 if net_busy[n] <= t => {
                let d = rng.range(2.0, 10.0);
                let imp = match rng.below(4) {
                    0 => Impair {
                        loss_pct: 5 + rng.below(26) as u32,
                        ..Default::default()
                    },
                    1 => Impair {
                        delay_ms: 10 + rng.below(290) as u32,
                        jitter_ms: rng.below(100) as u32,
                        ..Default::default()
                    },
                    2 => Impair {
                        delay_ms: 20 + rng.below(80) as u32,
                        reorder_pct: 10 + rng.below(41) as u32,
                        ..Default::default()
                    },
                    _ => Impair {
                        dup_pct: 5 + rng.below(46) as u32,
                        ..Default::default()
                    },
                };
                out.push((t, Action::Impair(n, imp)));
                out.push((t + d, Action::ClearImpair(n)));
                net_busy[n] = t + d + 0.5;
            }
            32..=47 if proc_busy[n] <= t => {
                let role = if rng.chance(50) {
                    Role::Parent
                } else {
                    Role::Worker
                };
                let d = rng.range(0.5, 8.0);
                out.push((t, Action::Stop(n, role)));
                out.push((t + d, Action::Cont(n, role)));
                proc_busy[n] = t + d + 0.5;
            }
            48..=59 if kills && proc_busy[n] <= t => {
                if rng.chance(40) {
                    let d = rng.range(0.5, 3.0);
                    out.push((t, Action::Kill(n, Role::Parent)));
                    out.push((t + d, Action::Restart(n)));
                    proc_busy[n] = t + d + 2.0;
                } else {
                    out.push((t, Action::Kill(n, Role::Worker)));
                    proc_busy[n] = t + 2.0;
                }
            }
            60..=79 if conf_busy[n] <= t && proc_busy[n] <= t => {
                match rng.below(3) {
                    0 => out.push((t, Action::HupSame(n))),
                    1 => {
                        let p = PRIOS[rng.below(PRIOS.len() as u64) as usize];
                        out.push((t, Action::HupPrio(n, p)));
                    }
                    _ => {
                        let d = rng.range(1.0, 3.0);
                        out.push((t, Action::HupInvalid(n)));
                        out.push((t + d, Action::RestoreConf(n)));
                        conf_busy[n] = t + d;
                        // No kill/restart while the file is invalid (a restart would read it).
                        proc_busy[n] = proc_busy[n].max(t + d + 0.5);
                    }
                }
                conf_busy[n] = conf_busy[n].max(t + 1.0);
                proc_busy[n] = proc_busy[n].max(t + 1.0);
            }
            80..=99 => {
                script_fail[n] = !script_fail[n];
                out.push((t, Action::ScriptFail(n, script_fail[n])));
            }
            _ => {}
        }
        t += rng.range(0.5, 3.0);
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out.retain(|(t, _)| *t < secs);
    out
}

// ---------------------------------------------------------------------------------------------
// Shared observation state

#[derive(Clone, Copy)]
struct Hold {
    on: bool,
    since: Instant,
}

#[derive(Default, Clone, Copy)]
struct Adv {
    /// Last advert with priority > 0 (the sender claims to be master).
    last_master: Option<Instant>,
    last_prio: u8,
    count: u64,
}

#[derive(Default)]
pub struct Figures {
    pub faults: BTreeMap<&'static str, u32>,
    pub violations: Vec<String>,
    /// Violations attributed to the reference keepalived (findings, not failures).
    pub findings: Vec<String>,
    pub worst_two_holders: f64,
    /// When (s since the lab started) the worst two-holder window ended.
    pub worst_two_at: f64,
    pub worst_no_holder: f64,
    pub worst_none_at: f64,
    pub worst_client_gap: f64,
    pub client_sent: u64,
    pub client_replies: u64,
    pub convergence: Option<f64>,
    pub drift: Vec<String>,
    pub adverts: u64,
    /// LVS variant: probes of the virtual service (through the VIP to the real servers).
    pub lvs_sent: u64,
    pub lvs_replies: u64,
    pub lvs_by_rs: BTreeMap<String, u64>,
    /// Real-server changes whose convergence was checked on a director not disturbed by a
    /// fault meanwhile (per director), and the worst convergence time seen.
    pub ipvs_checked: u64,
    pub ipvs_worst: f64,
    pub ipvs_unchecked: u64,
    /// Checked changes that took longer than delay_loop × (retry + 1) (within the enforced
    /// bound, which adds the attempts' connect timeouts).
    pub ipvs_over_bound: u64,
    /// VM variant: guest stalls (count, total and longest, s), discounted from timing bounds.
    pub stall_count: u64,
    pub stall_total: f64,
    pub stall_worst: f64,
}

struct Shared {
    t0: Instant,
    stop: AtomicBool,
    /// Set once the initial election is over: windows are measured from then on.
    armed: AtomicBool,
    holds: Mutex<Vec<Hold>>,
    adv: Mutex<Vec<Adv>>,
    /// Every change of the holder set: (time, holders bitmask).
    holder_log: Mutex<Vec<(Instant, u8)>>,
    trace: Mutex<Vec<String>>,
    fig: Mutex<Figures>,
    kinds: [Kind; 3],
    impair: Vec<Arc<Mutex<Impair>>>,
    /// LVS variant: which real servers serve, and (time, up mask) of the last change.
    rs_up: Vec<Arc<AtomicBool>>,
    rs_change: Mutex<(Instant, u8)>,
    /// Per director: the last time a fault touched it (its table may lag legitimately then),
    /// and whether a process fault is in force.
    disturbed: Mutex<Vec<Instant>>,
    /// VM variant: stalls of the whole guest (a 10 ms sleep of the stall detector that took
    /// over 100 ms: the emulated VM was not scheduled on a loaded host, so no process in it,
    /// ours included, could run): (end, seconds lost). Timing bounds discount them.
    stalls: Mutex<Vec<(Instant, f64)>>,
    discount_stalls: bool,
}

impl Shared {
    /// Marks director `n` disturbed until `extra` from now (its checker may lag legitimately).
    fn disturb(&self, n: usize, extra: Duration) {
        let mut d = self.disturbed.lock().unwrap();
        d[n] = d[n].max(Instant::now() + extra);
    }
    /// Seconds the guest stalled between `a` and `b` (0 unless discounting stalls).
    fn stalled(&self, a: Instant, b: Instant) -> f64 {
        if !self.discount_stalls {
            return 0.0;
        }
        self.stalls
            .lock()
            .unwrap()
            .iter()
            .filter(|(end, _)| *end > a && *end <= b)
            .map(|(_, d)| d)
            .sum()
    }
}

/// VM variant: records guest stalls (see `Shared::stalls`).
fn stall_detector(sh: Arc<Shared>) -> impl FnOnce() + Send {
    move || {
        while !sh.stop.load(Ordering::Relaxed) {
            let t = Instant::now();
            thread::sleep(Duration::from_millis(10));
            let d = t.elapsed().as_secs_f64();
            if d > 0.1 {
                sh.stalls.lock().unwrap().push((Instant::now(), d - 0.01));
                let mut f = sh.fig.lock().unwrap();
                f.stall_total += d - 0.01;
                f.stall_worst = f.stall_worst.max(d - 0.01);
                f.stall_count += 1;
            }
        }
    }
}

impl Shared {
    fn at(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.t0).as_secs_f64()
    }
    fn trace(&self, msg: String) {
        let line = format!("{:9.3} {msg}", self.at(Instant::now()));
        if std::env::var_os("KRS_CHAOS_VERBOSE").is_some() {
            eprintln!("{line}");
        }
        self.trace.lock().unwrap().push(line);
    }
    /// A violation by node `n` (None: global): a failure for ours, a finding for the reference.
    fn violation(&self, n: Option<usize>, msg: String) {
        let reference = match n {
            Some(n) => self.kinds[n] == Kind::Reference,
            None => self.kinds.iter().all(|k| *k == Kind::Reference),
        };
        let line = format!("{:9.3} VIOLATION {msg}", self.at(Instant::now()));
        eprintln!("{line}");
        self.trace.lock().unwrap().push(line.clone());
        let mut f = self.fig.lock().unwrap();
        if reference {
            f.findings.push(line);
        } else {
            f.violations.push(line);
        }
    }
}

const NAMES: [&str; 3] = ["a", "b", "c"];

fn node_addr(n: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, 1 + n as u8)
}

// ---------------------------------------------------------------------------------------------
// Threads: pollers, recorder, impairers, echo servers, client, monitor

fn spawn_in(host: &Host, name: &str, f: impl FnOnce() + Send + 'static) -> thread::JoinHandle<()> {
    let path = host.netns_path();
    let name = name.to_string();
    thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            if let Err(e) = netplat::netns::in_netns(&path, f) {
                eprintln!("thread {name}: {e}");
            }
        })
        .unwrap()
}

fn poller(sh: Arc<Shared>, n: usize) -> impl FnOnce() + Send {
    move || {
        let mut r = netplat::Rtnl::new().expect("rtnl");
        let want = IpAddr::V4(VIP);
        while !sh.stop.load(Ordering::Relaxed) {
            let on = r
                .addresses(None)
                .map(|v| v.iter().any(|a| a.addr == want))
                .unwrap_or(false);
            let now = Instant::now();
            let changed = {
                let mut h = sh.holds.lock().unwrap();
                if h[n].on != on {
                    h[n] = Hold { on, since: now };
                    true
                } else {
                    false
                }
            };
            if changed {
                sh.trace(format!(
                    "ip addr: {} {} the VIP",
                    NAMES[n],
                    if on { "holds" } else { "dropped" }
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

fn packet_socket() -> std::os::fd::OwnedFd {
    let fd = nsock::socket(
        nsock::AddressFamily::Packet,
        nsock::SockType::Raw,
        nsock::SockFlag::SOCK_CLOEXEC,
        nsock::SockProtocol::EthAll,
    )
    .expect("AF_PACKET socket");
    nsock::setsockopt(
        &fd,
        nsock::sockopt::ReceiveTimeout,
        &nix::sys::time::TimeVal::new(0, 50_000),
    )
    .expect("SO_RCVTIMEO");
    fd
}

/// VRRP advert (IPv4 protocol 112) in an Ethernet frame: (source, vrid, priority).
fn parse_advert(frame: &[u8]) -> Option<(Ipv4Addr, u8, u8)> {
    if frame.get(12..14)? != [0x08, 0x00] {
        return None;
    }
    let ip = frame.get(14..)?;
    let ihl = usize::from(ip.first()? & 0x0f) * 4;
    if *ip.get(9)? != 112 {
        return None;
    }
    let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let v = ip.get(ihl..ihl + 3)?;
    Some((src, v[1], v[2]))
}

fn recorder(sh: Arc<Shared>) -> impl FnOnce() + Send {
    move || {
        let fd = packet_socket();
        let mut buf = vec![0u8; 2048];
        while !sh.stop.load(Ordering::Relaxed) {
            let Ok((len, from)) =
                nsock::recvfrom::<LinkAddr>(std::os::fd::AsRawFd::as_raw_fd(&fd), &mut buf)
            else {
                continue;
            };
            if from.is_some_and(|a| a.pkttype() == 4) {
                continue; // PACKET_OUTGOING
            }
            let Some((src, vrid, prio)) = parse_advert(&buf[..len]) else {
                continue;
            };
            if vrid != 51 {
                continue;
            }
            let Some(n) = (0..3).find(|&n| node_addr(n) == src) else {
                continue;
            };
            let now = Instant::now();
            let mut a = sh.adv.lock().unwrap();
            let changed = a[n].last_prio != prio
                || a[n]
                    .last_master
                    .is_none_or(|t| now.duration_since(t).as_secs_f64() > 1.5 * advert());
            a[n].count += 1;
            a[n].last_prio = prio;
            if prio > 0 {
                a[n].last_master = Some(now);
            }
            drop(a);
            if changed {
                sh.trace(format!("advert: {} prio {prio}", NAMES[n]));
            }
        }
    }
}

/// The userspace netem: relays frames between `d` (the director's side) and `u` (the bridge's
/// side), dropping, delaying (with jitter), reordering and duplicating as told.
fn impairer(sh: Arc<Shared>, n: usize, seed: u64) -> impl FnOnce() + Send {
    // In the emulated VM a 2 ms wake-up per relay costs too much CPU: 5 ms there.
    let tick_us = if sh.discount_stalls { 5_000 } else { 2_000 };
    move || {
        let mut r = netplat::Rtnl::new().expect("rtnl");
        let d = r.require_link("td").expect("td").index;
        let u = r.require_link("tu").expect("tu").index;
        let tx_d = netplat::PacketSocket::open(d).expect("tx d");
        let tx_u = netplat::PacketSocket::open(u).expect("tx u");
        let fd = packet_socket();
        nsock::setsockopt(
            &fd,
            nsock::sockopt::ReceiveTimeout,
            &nix::sys::time::TimeVal::new(0, tick_us),
        )
        .expect("SO_RCVTIMEO");
        let mut rng = Rng::new(seed ^ 0x5eed_0000 ^ n as u64);
        let mut queue: Vec<(Instant, Vec<u8>, bool)> = Vec::new();
        let mut buf = vec![0u8; 65536];
        while !sh.stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            queue.sort_by_key(|q| q.0);
            while queue.first().is_some_and(|q| q.0 <= now) {
                let (_, frame, to_u) = queue.remove(0);
                let _ = if to_u { &tx_u } else { &tx_d }.send(&frame);
            }
            let Ok((len, Some(from))) =
                nsock::recvfrom::<LinkAddr>(std::os::fd::AsRawFd::as_raw_fd(&fd), &mut buf)
            else {
                continue;
            };
            if from.pkttype() == 4 {
                continue;
            }
            let to_u = match from.ifindex() as u32 {
                i if i == d => true,
                i if i == u => false,
                _ => continue,
            };
            let mut frame = buf[..len].to_vec();
            fix_l4_checksum(&mut frame);
            let imp = *sh.impair[n].lock().unwrap();
            if imp.loss_pct > 0 && rng.below(100) < u64::from(imp.loss_pct) {
                continue;
            }
            let copies = if imp.dup_pct > 0 && rng.below(100) < u64::from(imp.dup_pct) {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let mut delay = f64::from(imp.delay_ms);
                if imp.jitter_ms > 0 {
                    delay += rng.range(-f64::from(imp.jitter_ms), f64::from(imp.jitter_ms));
                }
                if imp.reorder_pct > 0 && rng.below(100) < u64::from(imp.reorder_pct) {
                    delay = 0.0; // netem: reordered packets go at once, the rest wait
                }
                if delay <= 0.0 {
                    let _ = if to_u { &tx_u } else { &tx_d }.send(&frame);
                } else {
                    queue.push((
                        now + Duration::from_secs_f64(delay / 1000.0),
                        frame.clone(),
                        to_u,
                    ));
                }
            }
        }
    }
}

/// Frames read from a veth with AF_PACKET may carry a partial (offloaded) TCP/UDP checksum:
/// compute it in full before relaying (IPv4 only, which is all this lab sends).
fn fix_l4_checksum(frame: &mut [u8]) {
    if frame.get(12..14) != Some(&[0x08, 0x00][..]) || frame.len() < 34 {
        return;
    }
    let ihl = usize::from(frame[14] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([frame[16], frame[17]]));
    let proto = frame[23];
    let frag = u16::from_be_bytes([frame[20], frame[21]]) & 0x3fff;
    let (l4, end) = (14 + ihl, 14 + total);
    if frag != 0 || end > frame.len() || l4 >= end {
        return;
    }
    let off = match proto {
        6 => 16,
        17 => 6,
        _ => return,
    };
    if l4 + off + 2 > end {
        return;
    }
    frame[l4 + off] = 0;
    frame[l4 + off + 1] = 0;
    let mut sum: u32 = 0;
    let mut add = |b: &[u8]| {
        for c in b.chunks(2) {
            sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
        }
    };
    add(&frame[26..34]);
    add(&[0, proto]);
    add(&((end - l4) as u16).to_be_bytes());
    add(&frame[l4..end]);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let mut c = !(sum as u16);
    if c == 0 && proto == 17 {
        c = 0xffff;
    }
    frame[l4 + off..l4 + off + 2].copy_from_slice(&c.to_be_bytes());
}

fn echo(sh: Arc<Shared>, n: usize) -> impl FnOnce() + Send {
    move || {
        let s = UdpSocket::bind(("0.0.0.0", ECHO_PORT)).expect("echo bind");
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut buf = [0u8; 64];
        while !sh.stop.load(Ordering::Relaxed) {
            if let Ok((_, from)) = s.recv_from(&mut buf) {
                let _ = s.send_to(NAMES[n].as_bytes(), from);
            }
        }
    }
}

/// UDP probe of the VIP every 30 ms; the reply names the director that answered.
fn client(sh: Arc<Shared>) -> impl FnOnce() + Send {
    move || {
        let s = UdpSocket::bind("0.0.0.0:0").expect("client bind");
        s.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
        let to = SocketAddr::from((VIP, ECHO_PORT));
        let mut next = Instant::now();
        let mut last_reply: Option<Instant> = None;
        let mut last_from = String::new();
        let mut buf = [0u8; 64];
        while !sh.stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if now >= next {
                let _ = s.send_to(b"p", to);
                sh.fig.lock().unwrap().client_sent += 1;
                next += Duration::from_millis(30);
            }
            if let Ok(len) = s.recv(&mut buf) {
                let now = Instant::now();
                let who = String::from_utf8_lossy(&buf[..len]).into_owned();
                let mut f = sh.fig.lock().unwrap();
                f.client_replies += 1;
                if let Some(l) = last_reply {
                    let gap = now.duration_since(l).as_secs_f64();
                    f.worst_client_gap = f.worst_client_gap.max(gap);
                }
                drop(f);
                last_reply = Some(now);
                if who != last_from {
                    sh.trace(format!("client: answered by {who}"));
                    last_from = who;
                }
            }
        }
    }
}

/// LVS variant: a real server (in its namespace, the VIP on its `lo` for DR): a TCP listener on
/// port 80 (what the directors' TCP_CHECK connects to) and a UDP echo on the virtual service's
/// port answering with its name, both closed while it is "down" (connections refused, probes
/// unanswered) and bound again when it comes back up.
fn real_server(sh: Arc<Shared>, r: usize) -> impl FnOnce() + Send {
    move || {
        let name = format!("rs{}", r + 1);
        let mut socks: Option<(std::net::TcpListener, UdpSocket)> = None;
        let mut buf = [0u8; 64];
        while !sh.stop.load(Ordering::Relaxed) {
            let up = sh.rs_up[r].load(Ordering::Relaxed);
            if up && socks.is_none() {
                let t = std::net::TcpListener::bind(("0.0.0.0", 80));
                let u = UdpSocket::bind(("0.0.0.0", LVS_PORT));
                if let (Ok(t), Ok(u)) = (t, u) {
                    t.set_nonblocking(true).unwrap();
                    u.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
                    socks = Some((t, u));
                }
            } else if !up && socks.is_some() {
                socks = None;
            }
            match &socks {
                Some((t, u)) => {
                    while let Ok((c, _)) = t.accept() {
                        drop(c);
                    }
                    if let Ok((_, from)) = u.recv_from(&mut buf) {
                        let _ = u.send_to(name.as_bytes(), from);
                    }
                }
                None => thread::sleep(Duration::from_millis(5)),
            }
        }
    }
}

/// LVS variant: a second client probing the virtual service (VIP:LVS_PORT) every 30 ms, each
/// probe from a new socket (a new source port: a new IPVS connection, scheduled afresh, rather
/// than one UDP connection entry pinned to one real server); the reply names the real server.
fn lvs_client(sh: Arc<Shared>) -> impl FnOnce() + Send {
    move || {
        let to = SocketAddr::from((VIP, LVS_PORT));
        let mut next = Instant::now();
        let mut buf = [0u8; 64];
        while !sh.stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if now < next {
                thread::sleep(next - now);
            }
            next += Duration::from_millis(30);
            let s = UdpSocket::bind("0.0.0.0:0").expect("lvs client bind");
            s.set_read_timeout(Some(Duration::from_millis(25))).unwrap();
            let _ = s.send_to(b"p", to);
            sh.fig.lock().unwrap().lvs_sent += 1;
            if let Ok(len) = s.recv(&mut buf) {
                let who = String::from_utf8_lossy(&buf[..len]).into_owned();
                let mut f = sh.fig.lock().unwrap();
                f.lvs_replies += 1;
                *f.lvs_by_rs.entry(who).or_insert(0) += 1;
            }
        }
    }
}

/// The real servers (address, weight) of the virtual service in `ipvsadm -Sn` output.
pub fn parse_ipvs(out: &str) -> Vec<(Ipv4Addr, u32)> {
    let mut v: Vec<(Ipv4Addr, u32)> = out
        .lines()
        .filter(|l| l.starts_with("-a ") && l.contains(&format!("{VIP}:{LVS_PORT}")))
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let rs = w
                .iter()
                .position(|x| *x == "-r")
                .and_then(|i| w.get(i + 1))?;
            let ip: Ipv4Addr = rs.split(':').next()?.parse().ok()?;
            let wt = w
                .iter()
                .position(|x| *x == "-w")
                .and_then(|i| w.get(i + 1))
                .and_then(|x| x.parse().ok())?;
            Some((ip, wt))
        })
        .collect();
    v.sort();
    v
}

fn desired_ipvs(mask: u8) -> Vec<(Ipv4Addr, u32)> {
    (0..RS_COUNT)
        .filter(|r| mask & 1 << r != 0)
        .map(|r| (rs_addr(r), RS_WEIGHTS[r]))
        .collect()
}

/// LVS variant, per director (in its namespace): reads the IPVS table (`ipvsadm -Sn`, the
/// kernel's, not our logs) every 100 ms and checks it reaches the desired table (the real servers
/// that are up, with their weights) within delay_loop × (retry + 1) of the last real-server
/// change. A director touched by a fault that can delay its checker (see `apply`) since 3 s
/// before the change (8 s for a parent kill or restart: the checker starts afresh) is not held
/// to it; such changes are counted as unchecked. Guest stalls are discounted.
fn ipvs_watch(sh: Arc<Shared>, n: usize) -> impl FnOnce() + Send {
    move || {
        let mut done_for: Option<Instant> = None;
        let mut flagged_for: Option<Instant> = None;
        let mut h = ipvs_nl::Handle::new().expect("IPVS netlink (inside the VM)");
        let key = ipvs_nl::ServiceKey::Addr {
            protocol: ipvs_nl::types::Protocol::Udp,
            addr: IpAddr::V4(VIP),
            port: LVS_PORT,
        };
        while !sh.stop.load(Ordering::Relaxed) {
            let Ok(dests) = h.destinations(&key) else {
                thread::sleep(Duration::from_millis(50));
                continue;
            };
            let now = Instant::now();
            let mut table: Vec<(Ipv4Addr, u32)> = dests
                .iter()
                .filter_map(|d| match d.dest.addr {
                    IpAddr::V4(a) => Some((a, d.dest.weight)),
                    IpAddr::V6(_) => None,
                })
                .collect();
            table.sort();
            let (at, mask) = *sh.rs_change.lock().unwrap();
            let clean = sh.disturbed.lock().unwrap()[n] < at && sh.armed.load(Ordering::Relaxed);
            if done_for != Some(at) {
                let waited = now.duration_since(at).as_secs_f64() - sh.stalled(at, now);
                if table == desired_ipvs(mask) {
                    done_for = Some(at);
                    let mut f = sh.fig.lock().unwrap();
                    if clean {
                        f.ipvs_checked += 1;
                        f.ipvs_worst = f.ipvs_worst.max(waited);
                        if waited > ipvs_bound() + IPVS_POLL_SLACK {
                            f.ipvs_over_bound += 1;
                        }
                    } else {
                        f.ipvs_unchecked += 1;
                    }
                    drop(f);
                    if clean
                        && waited > ipvs_enforced_bound() + IPVS_POLL_SLACK
                        && flagged_for != Some(at)
                    {
                        sh.violation(
                            Some(n),
                            format!(
                                "{}: IPVS table reached the desired {:?} only {waited:.3} s after the last real-server change (bound delay_loop × (retry+1) + (retry+1) × connect_timeout = {:.1} s)",
                                NAMES[n],
                                desired_ipvs(mask),
                                ipvs_enforced_bound()
                            ),
                        );
                    }
                    sh.trace(format!(
                        "ipvs: {} table = desired {} after {waited:.3} s",
                        NAMES[n],
                        names_rs(mask)
                    ));
                } else if clean
                    && waited > ipvs_enforced_bound() + IPVS_POLL_SLACK
                    && flagged_for != Some(at)
                {
                    flagged_for = Some(at);
                    sh.violation(
                        Some(n),
                        format!(
                            "{}: IPVS table {table:?} != desired {:?} {waited:.3} s after the last real-server change (bound delay_loop × (retry+1) + (retry+1) × connect_timeout = {:.1} s)",
                            NAMES[n],
                            desired_ipvs(mask),
                            ipvs_enforced_bound()
                        ),
                    );
                }
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The poll period of the IPVS watch (a netlink dump every 50 ms) and the scheduling slack of
/// a loaded VM.
const IPVS_POLL_SLACK: f64 = 0.2;

fn names_rs(mask: u8) -> String {
    let v: Vec<String> = (0..RS_COUNT)
        .filter(|r| mask & 1 << r != 0)
        .map(|r| format!("rs{}", r + 1))
        .collect();
    format!("[{}]", v.join(","))
}

/// Every 10 ms: holder set, two-holder and no-holder windows, VIPs held beyond the lease.
fn monitor(sh: Arc<Shared>) -> impl FnOnce() + Send {
    move || {
        let mut two_since: Option<Instant> = None;
        let mut two_flagged = false;
        let mut none_since: Option<Instant> = None;
        let mut lease_flagged = [None::<Instant>; 3];
        let mut last_mask = 0xffu8;
        while !sh.stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            let holds = sh.holds.lock().unwrap().clone();
            let adv = sh.adv.lock().unwrap().clone();
            let mask = holds
                .iter()
                .enumerate()
                .filter(|(_, h)| h.on)
                .fold(0u8, |m, (i, _)| m | 1 << i);
            if mask != last_mask {
                sh.holder_log.lock().unwrap().push((now, mask));
                last_mask = mask;
            }
            let count = mask.count_ones();
            if count >= 2 {
                let s = *two_since.get_or_insert(now);
                let w = now.duration_since(s).as_secs_f64();
                let mut f = sh.fig.lock().unwrap();
                if w > f.worst_two_holders {
                    f.worst_two_holders = w;
                    f.worst_two_at = sh.at(now);
                }
                drop(f);
                let w_run = w - sh.stalled(s, now);
                if w_run > two_holder_bound() && !two_flagged {
                    two_flagged = true;
                    // Blame the holder that has not advertised for longest (the stale one).
                    let stale = (0..3)
                        .filter(|&i| holds[i].on)
                        .min_by_key(|&i| adv[i].last_master.unwrap_or(sh.t0));
                    sh.violation(
                        stale,
                        format!(
                            "{count} nodes hold the VIP for {w_run:.3} s > MDI+100 ms ({:.3} s); holders {}",
                            two_holder_bound(),
                            names(mask)
                        ),
                    );
                }
            } else {
                two_since = None;
                two_flagged = false;
            }
            if count == 0 && sh.armed.load(Ordering::Relaxed) {
                let s = *none_since.get_or_insert(now);
                let w = now.duration_since(s).as_secs_f64();
                let mut f = sh.fig.lock().unwrap();
                if w > f.worst_no_holder {
                    f.worst_no_holder = w;
                    f.worst_none_at = sh.at(now);
                }
            } else {
                none_since = None;
            }
            for i in 0..3 {
                if !holds[i].on {
                    lease_flagged[i] = None;
                    continue;
                }
                let since_master = match adv[i].last_master {
                    Some(t) if t > holds[i].since => t,
                    _ => holds[i].since,
                };
                let w =
                    now.duration_since(since_master).as_secs_f64() - sh.stalled(since_master, now);
                if w > lease_bound() && lease_flagged[i] != Some(holds[i].since) {
                    lease_flagged[i] = Some(holds[i].since);
                    sh.violation(
                        Some(i),
                        format!(
                            "{} holds the VIP {w:.3} s after its last master advert (lease bound {:.1} s)",
                            NAMES[i],
                            lease_bound()
                        ),
                    );
                }
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

fn names(mask: u8) -> String {
    let v: Vec<&str> = (0..3)
        .filter(|i| mask & 1 << i != 0)
        .map(|i| NAMES[i])
        .collect();
    format!("[{}]", v.join(","))
}

// ---------------------------------------------------------------------------------------------
// Directors

struct Node {
    n: usize,
    kind: Kind,
    host: Host,
    dir: PathBuf,
    proc: Option<Proc>,
    old_procs: Vec<Proc>,
    conf_prio: u8,
    script_fail: bool,
    stopped: Vec<(Role, i32)>,
    /// The parent was killed on purpose (not yet restarted).
    killed: bool,
    worker: Option<i32>,
    /// A worker change is expected (we killed it or its parent).
    worker_change_ok: bool,
    /// LVS variant: the configuration has the virtual server (and the daemon runs its checker).
    lvs: bool,
}

impl Node {
    fn p(&self, f: &str) -> PathBuf {
        self.dir.join(format!("{}.{f}", NAMES[self.n]))
    }
    fn config(&self, prio: u16) -> String {
        let mut c = self.vrrp_config(prio);
        if self.lvs {
            c.push_str(&format!(
                "virtual_server {VIP} {LVS_PORT} {{\n    delay_loop {DELAY_LOOP}\n    lb_algo rr\n    lb_kind DR\n    protocol UDP\n"
            ));
            for r in 0..RS_COUNT {
                c.push_str(&format!(
                    "    real_server {} {LVS_PORT} {{\n        weight {}\n        TCP_CHECK {{\n            connect_port 80\n            connect_timeout {CONNECT_TIMEOUT}\n            retry {RETRY}\n            delay_before_retry 1\n        }}\n    }}\n",
                    rs_addr(r),
                    RS_WEIGHTS[r]
                ));
            }
            c.push_str("}\n");
        }
        c
    }
    fn vrrp_config(&self, prio: u16) -> String {
        format!(
            "global_defs {{\n    router_id {name}\n    script_user root\n}}\n\
vrrp_script chk {{\n    script \"{script}\"\n    interval {interval}\n{timeout}    fall 1\n    rise 1\n    weight -{SCRIPT_WEIGHT}\n}}\n\
vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority {prio}\n    advert_int {adv}\n\
    virtual_ipaddress {{\n        {VIP}/24\n    }}\n    track_script {{\n        chk\n    }}\n}}\n",
            name = NAMES[self.n],
            script = self.p("chk.sh").display(),
            interval = script_timing().0,
            timeout = script_timing()
                .1
                .map(|t| format!("    timeout {t}\n"))
                .unwrap_or_default(),
            adv = advert(),
        )
    }
    fn write_conf(&self, prio: u16) {
        std::fs::write(self.p("conf"), self.config(prio)).unwrap();
    }
    fn eff_prio(&self) -> u8 {
        if self.script_fail {
            self.conf_prio.saturating_sub(SCRIPT_WEIGHT).max(1)
        } else {
            self.conf_prio
        }
    }
    fn start(&mut self) {
        let conf = self.p("conf");
        let pid = self.p("pid");
        let vpid = self.p("vrrp.pid");
        let cpid = self.p("check.pid");
        let ours = ours_bin();
        let prog = match self.kind {
            Kind::Ours => ours.as_str(),
            Kind::Reference => REFERENCE,
        };
        let mut argv = vec![
            prog,
            "-n",
            "-l",
            "-D",
            "-f",
            conf.to_str().unwrap(),
            "-p",
            pid.to_str().unwrap(),
            "-r",
            vpid.to_str().unwrap(),
            "-c",
            cpid.to_str().unwrap(),
        ];
        match (self.kind, self.lvs) {
            (Kind::Ours, _) => argv.push("-G"),
            (Kind::Reference, false) => argv.push("-P"),
            // VRRP and the checker.
            (Kind::Reference, true) => {}
        }
        let p = self.host.spawn(&argv).expect("spawn keepalived");
        if let Some(old) = self.proc.replace(p) {
            self.old_procs.push(old);
        }
        self.killed = false;
    }
    fn parent_pid(&self) -> Option<i32> {
        self.proc
            .as_ref()
            .filter(|p| p.is_running())
            .map(|p| p.pid() as i32)
    }
    /// The parent to send a SIGHUP to. In the emulated VM a (re)started parent takes seconds
    /// to install its signal handlers, and a SIGHUP before that kills it (the default action;
    /// keepalived 2.2.7 too, in its first ~20 ms on the host, ours in its first ~50-200 ms): there,
    /// only a parent whose VRRP worker runs (started after its handlers) is sent one.
    fn hup_pid(&self) -> Option<i32> {
        if self.lvs && self.worker_pid().is_none() {
            return None;
        }
        self.parent_pid()
    }
    fn worker_pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.p("vrrp.pid"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .filter(|p| alive(*p))
    }
    fn pid_of(&self, role: Role) -> Option<i32> {
        match role {
            Role::Parent => self.parent_pid(),
            Role::Worker => self.worker_pid(),
        }
    }
    fn all_output(&self) -> Vec<(String, String)> {
        self.old_procs
            .iter()
            .chain(self.proc.iter())
            .map(|p| (p.cmd().to_string(), p.output_so_far()))
            .collect()
    }
}

fn alive(pid: i32) -> bool {
    signal::kill(Pid::from_raw(pid), None).is_ok()
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
}

fn sig(pid: i32, s: Signal) {
    let _ = signal::kill(Pid::from_raw(pid), s);
}

/// VmRSS (kB) and open descriptors of a process.
fn sample(pid: i32) -> Option<(u64, u64)> {
    let st = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = st
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64;
    Some((rss, fds))
}

#[derive(Clone)]
struct PidSamples {
    label: String,
    /// "ours Parent", "ref Worker"...
    group: String,
    born: f64,
    first: (f64, u64, u64),
    last: (f64, u64, u64),
    max_rss: u64,
    max_fds: u64,
    /// Every sample after start-up (time, RSS kB, fds): the trend between first and last.
    hist: Vec<(f64, u64, u64)>,
}

impl PidSamples {
    /// RSS kB / fds at 0, 25, 50, 75 and 100 % of the measured life.
    fn trend(&self) -> String {
        if self.hist.is_empty() {
            return String::new();
        }
        let v: Vec<String> = [0usize, 1, 2, 3, 4]
            .iter()
            .map(|q| {
                let i = (self.hist.len() - 1) * q / 4;
                let (t, r, f) = self.hist[i];
                format!("{t:.0}s {r}kB/{f}fd")
            })
            .collect();
        v.join(" → ")
    }
}

// ---------------------------------------------------------------------------------------------
// The run

pub struct Soak {
    pub seed: u64,
    pub fault_secs: f64,
    pub kinds: [Kind; 3],
    /// SIGKILL faults drawn (false: the leak run, `KRS_CHAOS_FAULTS=nokill`).
    pub kills: bool,
    /// The VM/LVS variant: a UDP virtual server on the VIP (DR) with two real servers going
    /// down and up, the IPVS-table invariant, a client through the virtual service. Needs
    /// IPVS (inside the project VM).
    pub lvs: bool,
}

impl Soak {
    /// From the environment: KRS_CHAOS_SEED, KRS_CHAOS_SECS, KRS_CHAOS_MODE, with defaults.
    pub fn from_env(seed: u64, secs: f64, mode: &str) -> Soak {
        let seed = std::env::var("KRS_CHAOS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(seed);
        let secs = std::env::var("KRS_CHAOS_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(secs);
        let mode = std::env::var("KRS_CHAOS_MODE").unwrap_or_else(|_| mode.to_string());
        let kills = std::env::var("KRS_CHAOS_FAULTS").map_or(true, |f| f != "nokill");
        Soak {
            seed,
            fault_secs: secs,
            kinds: parse_mode(&mode),
            kills,
            lvs: false,
        }
    }

    pub fn run(&self) -> Figures {
        ADVERT_MS.store(if self.lvs { 2000 } else { 1000 }, Ordering::Relaxed);
        let kinds: Vec<&str> = self.kinds.iter().map(|k| k.tag()).collect();
        eprintln!(
            "chaos soak: seed {} (KRS_CHAOS_SEED), {} s of faults (KRS_CHAOS_SECS), nodes a,b,c = {:?}{}",
            self.seed,
            self.fault_secs,
            kinds,
            if self.kills { "" } else { ", no kills (KRS_CHAOS_FAULTS=nokill)" }
        );
        let sched = schedule_full(self.seed, self.fault_secs, self.kills, self.lvs);
        let lab = Lab::new("chaos").expect("lab");
        let sh = Arc::new(Shared {
            t0: Instant::now(),
            stop: AtomicBool::new(false),
            armed: AtomicBool::new(false),
            holds: Mutex::new(vec![
                Hold {
                    on: false,
                    since: Instant::now()
                };
                3
            ]),
            adv: Mutex::new(vec![Adv::default(); 3]),
            holder_log: Mutex::new(Vec::new()),
            trace: Mutex::new(Vec::new()),
            fig: Mutex::new(Figures::default()),
            kinds: self.kinds,
            impair: (0..3)
                .map(|_| Arc::new(Mutex::new(Impair::default())))
                .collect(),
            rs_up: (0..RS_COUNT)
                .map(|_| Arc::new(AtomicBool::new(true)))
                .collect(),
            rs_change: Mutex::new((Instant::now(), (1u8 << RS_COUNT) - 1)),
            disturbed: Mutex::new(vec![Instant::now(); 3]),
            stalls: Mutex::new(Vec::new()),
            discount_stalls: self.lvs,
        });
        // Topology.
        let mut nodes = Vec::new();
        let mut threads = Vec::new();
        for n in 0..3 {
            let host = lab.host_unplugged(NAMES[n]).expect("director");
            let imp = lab
                .host_unplugged(&format!("i{}", NAMES[n]))
                .expect("impairer");
            imp.ip(&[
                "link",
                "add",
                "name",
                "td",
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                host.name(),
            ])
            .expect("veth");
            imp.attach("tu", BRIDGE).expect("attach u");
            for dev in ["td", "tu"] {
                imp.ip(&["link", "set", "dev", dev, "up", "promisc", "on"])
                    .unwrap();
                let _ = imp.sysctl(&format!("net.ipv6.conf.{dev}.disable_ipv6"), "1");
            }
            host.ip(&["link", "set", "eth0", "up"]).unwrap();
            host.add_addr(&format!("{}/24", node_addr(n))).unwrap();
            let node = Node {
                n,
                kind: self.kinds[n],
                host: host.clone(),
                dir: lab.dir().to_path_buf(),
                proc: None,
                old_procs: Vec::new(),
                conf_prio: [150, 120, 100][n],
                script_fail: false,
                stopped: Vec::new(),
                killed: false,
                worker: None,
                worker_change_ok: true,
                lvs: self.lvs,
            };
            std::fs::write(
                node.p("chk.sh"),
                format!("#!/bin/sh\n[ ! -e {} ]\n", node.p("flag").display()),
            )
            .unwrap();
            std::process::Command::new("chmod")
                .args(["755", node.p("chk.sh").to_str().unwrap()])
                .status()
                .unwrap();
            node.write_conf(u16::from(node.conf_prio));
            threads.push(spawn_in(&imp, "impair", impairer(sh.clone(), n, self.seed)));
            threads.push(spawn_in(&host, "poll", poller(sh.clone(), n)));
            threads.push(spawn_in(&host, "echo", echo(sh.clone(), n)));
            if self.lvs {
                threads.push(spawn_in(&host, "ipvs", ipvs_watch(sh.clone(), n)));
            }
            nodes.push(node);
        }
        if self.lvs {
            for r in 0..RS_COUNT {
                let h = lab.host(&format!("r{}", r + 1)).expect("real server");
                h.add_addr(&format!("{}/24", rs_addr(r))).unwrap();
                // DR: the VIP on lo, never answered for in ARP.
                h.ip(&["addr", "add", &format!("{VIP}/32"), "dev", "lo"])
                    .unwrap();
                for (k, v) in [
                    ("net.ipv4.conf.all.arp_ignore", "1"),
                    ("net.ipv4.conf.all.arp_announce", "2"),
                    ("net.ipv4.conf.eth0.arp_ignore", "1"),
                    ("net.ipv4.conf.eth0.arp_announce", "2"),
                ] {
                    h.sysctl(k, v).unwrap();
                }
                threads.push(spawn_in(&h, "rs", real_server(sh.clone(), r)));
            }
        }
        let cl = lab.host("cl").expect("client");
        cl.add_addr("10.0.0.9/24").unwrap();
        let rec = lab.host("rec").expect("recorder");
        let _ = rec.sysctl("net.ipv6.conf.eth0.disable_ipv6", "1");
        threads.push(spawn_in(&rec, "recorder", recorder(sh.clone())));
        threads.push(spawn_in(&cl, "client", client(sh.clone())));
        if self.lvs {
            threads.push(spawn_in(&cl, "lvs-client", lvs_client(sh.clone())));
        }
        threads.push(thread::spawn(monitor(sh.clone())));
        if self.lvs {
            threads.push(thread::spawn(stall_detector(sh.clone())));
        }

        sh.trace("lab ready: starting the directors".into());
        for nd in nodes.iter_mut() {
            nd.start();
        }
        // Initial election: a (150) holds the VIP.
        let ok = wait_until(Duration::from_secs(if self.lvs { 60 } else { 20 }), || {
            let h = sh.holds.lock().unwrap();
            h[0].on && !h[1].on && !h[2].on
        });
        if ok.is_err() {
            sh.violation(
                None,
                "initial election: a did not become the only holder in 20 s".into(),
            );
        }
        sh.armed.store(true, Ordering::Relaxed);
        let start = Instant::now();
        sh.trace(format!("faults start: {} scheduled actions", sched.len()));
        let mut samples: BTreeMap<i32, PidSamples> = BTreeMap::new();
        let mut last_sample = Instant::now() - Duration::from_secs(10);
        let mut last_settle = start;
        let mut i = 0;
        // Fault phase.
        loop {
            let el = start.elapsed().as_secs_f64();
            while i < sched.len() && sched[i].0 <= el {
                let a = sched[i].1.clone();
                if let Some(k) = a.kind() {
                    *sh.fig.lock().unwrap().faults.entry(k).or_insert(0) += 1;
                }
                apply(&sh, &mut nodes, &a);
                last_settle = Instant::now();
                i += 1;
            }
            check_procs(&sh, &mut nodes);
            if last_sample.elapsed() >= Duration::from_secs(2) {
                last_sample = Instant::now();
                take_samples(&sh, &nodes, &mut samples);
            }
            if el >= self.fault_secs {
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        // Quiet phase: undo whatever is still in force.
        sh.trace("faults stop: restoring links, CONT, restart, valid configs".into());
        for n in 0..3 {
            *sh.impair[n].lock().unwrap() = Impair::default();
            let _ = nodes[n].host.ip(&["link", "set", "eth0", "up"]);
            for (_, pid) in std::mem::take(&mut nodes[n].stopped) {
                sig(pid, Signal::SIGCONT);
            }
        }
        for n in 0..3 {
            if nodes[n].killed || nodes[n].parent_pid().is_none() {
                apply(&sh, &mut nodes, &Action::Restart(n));
            }
            if std::fs::read_to_string(nodes[n].p("conf")).unwrap_or_default()
                != nodes[n].config(u16::from(nodes[n].conf_prio))
            {
                apply(&sh, &mut nodes, &Action::RestoreConf(n));
            }
        }
        let _ = wait_until(Duration::from_secs(10), || {
            nodes.iter().all(|nd| nd.worker_pid().is_some())
        });
        // A script flip or reload just before takes up to one script interval to apply.
        let since = last_settle.elapsed().as_secs_f64();
        let wait = f64::from(script_timing().0) + 0.2;
        if since < wait {
            thread::sleep(Duration::from_secs_f64(wait - since));
        }
        let settle = Instant::now();
        let eff: Vec<u8> = nodes.iter().map(|n| n.eff_prio()).collect();
        let expected = (0..3).max_by_key(|&n| (eff[n], node_addr(n))).unwrap();
        sh.trace(format!(
            "settled: effective priorities a={} b={} c={}: RFC master {}",
            eff[0], eff[1], eff[2], NAMES[expected]
        ));
        let observe = convergence_bound() + 6.0;
        while settle.elapsed().as_secs_f64() < observe {
            check_procs(&sh, &mut nodes);
            if last_sample.elapsed() >= Duration::from_secs(2) {
                last_sample = Instant::now();
                take_samples(&sh, &nodes, &mut samples);
            }
            thread::sleep(Duration::from_millis(20));
        }
        take_samples(&sh, &nodes, &mut samples);
        // LVS: once quiet, every director's IPVS table is the desired one.
        if self.lvs {
            let (_, mask) = *sh.rs_change.lock().unwrap();
            for nd in &nodes {
                let table = parse_ipvs(&nd.host.run_ok(&["ipvsadm", "-Sn"]).unwrap_or_default());
                sh.trace(format!("final IPVS table of {}: {table:?}", NAMES[nd.n]));
                if table != desired_ipvs(mask) {
                    sh.violation(
                        Some(nd.n),
                        format!(
                            "after faults: {} IPVS table {table:?} != desired {:?}",
                            NAMES[nd.n],
                            desired_ipvs(mask)
                        ),
                    );
                }
            }
        }
        // Convergence: the holder set is {expected} from some instant on; when.
        let want = 1u8 << expected;
        let log = sh.holder_log.lock().unwrap().clone();
        let holds_now = log.last().map(|l| l.1) == Some(want);
        let conv_at = log
            .iter()
            .rev()
            .take_while(|l| l.1 == want)
            .last()
            .map(|l| l.0);
        let adv = sh.adv.lock().unwrap().clone();
        let recent = |n: usize| {
            adv[n]
                .last_master
                .is_some_and(|t| t.elapsed().as_secs_f64() < 2.5 * advert())
        };
        let advertisers: Vec<usize> = (0..3).filter(|&n| recent(n)).collect();
        let mut conv_global_ok = true;
        match (holds_now, conv_at) {
            (true, Some(t)) => {
                let c = t.saturating_duration_since(settle).as_secs_f64() - sh.stalled(settle, t);
                sh.fig.lock().unwrap().convergence = Some(c);
                if c > convergence_bound() {
                    conv_global_ok = false;
                    sh.violation(
                        Some(expected),
                        format!(
                            "convergence {c:.3} s > MDI + skew ({:.3} s)",
                            convergence_bound()
                        ),
                    );
                }
            }
            _ => {
                conv_global_ok = false;
                sh.violation(
                    Some(expected),
                    format!(
                        "after faults: holders {} (want only {})",
                        names(log.last().map(|l| l.1).unwrap_or(0)),
                        NAMES[expected]
                    ),
                );
            }
        }
        if advertisers != [expected] || adv[expected].last_prio != eff[expected] {
            conv_global_ok = false;
            sh.violation(
                Some(expected),
                format!(
                    "after faults: adverts from {:?} (want only {} with priority {}; its last advert says {})",
                    advertisers.iter().map(|&n| NAMES[n]).collect::<Vec<_>>(),
                    NAMES[expected],
                    eff[expected],
                    adv[expected].last_prio
                ),
            );
        }
        let _ = conv_global_ok;
        sh.stop.store(true, Ordering::Relaxed);
        for t in threads {
            let _ = t.join();
        }
        // Panics and exits (stderr of every process we started).
        for nd in &nodes {
            for (cmd, out) in nd.all_output() {
                if out.contains("panicked") {
                    let l: Vec<&str> = out.lines().filter(|l| l.contains("panicked")).collect();
                    sh.violation(Some(nd.n), format!("`{cmd}` panicked: {l:?}"));
                }
            }
        }
        // RSS / descriptor drift per process that lived at least 30 s.
        // Per kind of process (ours/ref × parent/worker), over the processes that lived >= 30 s
        // after their first 10 s: how many, the longest-lived one's drift, the range of drifts,
        // the largest RSS seen.
        let mut drift = Vec::new();
        let mut groups: BTreeMap<String, Vec<&PidSamples>> = BTreeMap::new();
        for s in samples.values() {
            if s.last.0 - s.first.0 >= 30.0 {
                groups.entry(s.group.clone()).or_default().push(s);
            }
        }
        let d = |s: &PidSamples| {
            (
                s.last.1 as i64 - s.first.1 as i64,
                s.last.2 as i64 - s.first.2 as i64,
            )
        };
        for (g, v) in &groups {
            let longest = v
                .iter()
                .max_by(|a, b| (a.last.0 - a.first.0).total_cmp(&(b.last.0 - b.first.0)))
                .unwrap();
            let (lr, lf) = d(longest);
            let rss: Vec<i64> = v.iter().map(|s| d(s).0).collect();
            let fds: Vec<i64> = v.iter().map(|s| d(s).1).collect();
            drift.push(format!(
                "{g}: {} processes; longest-lived {:.0} s: RSS {} -> {} kB ({lr:+}), fds {} -> {} ({lf:+}); \
all: RSS drift {:+}..{:+} kB, max RSS {} kB, fd drift {:+}..{:+}; longest-lived trend {}",
                v.len(),
                longest.last.0 - longest.first.0,
                longest.first.1,
                longest.last.1,
                longest.first.2,
                longest.last.2,
                rss.iter().min().unwrap(),
                rss.iter().max().unwrap(),
                v.iter().map(|s| s.max_rss).max().unwrap(),
                fds.iter().min().unwrap(),
                fds.iter().max().unwrap(),
                longest.trend(),
            ));
        }
        if std::env::var_os("KRS_CHAOS_TRACE").is_some() {
            for s in samples.values() {
                eprintln!(
                    "{}: {:.0} s, RSS {} -> {} kB (max {}), fds {} -> {} (max {})",
                    s.label,
                    s.last.0 - s.first.0,
                    s.first.1,
                    s.last.1,
                    s.max_rss,
                    s.first.2,
                    s.last.2,
                    s.max_fds
                );
            }
        }
        let mut f = std::mem::take(&mut *sh.fig.lock().unwrap());
        f.drift = drift;
        f.adverts = adv.iter().map(|a| a.count).sum();
        let trace = sh.trace.lock().unwrap().clone();
        print_summary(self, &f, &sched);
        if !f.violations.is_empty() {
            eprintln!("--- schedule (seed {}):", self.seed);
            for (t, a) in &sched {
                eprintln!("{t:9.3} {a:?}");
            }
            eprintln!("--- event trace (seed {}):", self.seed);
            for l in &trace {
                eprintln!("{l}");
            }
            for nd in &nodes {
                for (cmd, out) in nd.all_output() {
                    let about: Vec<&str> = out
                        .lines()
                        .filter(|l| {
                            let l = l.to_ascii_lowercase();
                            ["worker", "exit", "signal", "panic", "respawn", "restart"]
                                .iter()
                                .any(|w| l.contains(w))
                        })
                        .take(40)
                        .collect();
                    eprintln!("--- {cmd} (lines about workers, exits, signals):");
                    for l in about {
                        eprintln!("{l}");
                    }
                    let tail: Vec<&str> = out.lines().rev().take(30).collect();
                    eprintln!("--- {cmd} (last 30 lines):");
                    for l in tail.iter().rev() {
                        eprintln!("{l}");
                    }
                }
            }
        } else if std::env::var_os("KRS_CHAOS_TRACE").is_some() {
            for l in &trace {
                eprintln!("{l}");
            }
        } else {
            // The trace around the worst windows (what led to them).
            for (what, end, w) in [
                ("two-holder", f.worst_two_at, f.worst_two_holders),
                ("no-holder", f.worst_none_at, f.worst_no_holder),
            ] {
                if w <= 0.0 {
                    continue;
                }
                eprintln!(
                    "--- trace around the worst {what} window ({w:.3} s ending at {end:.3}):"
                );
                for l in &trace {
                    let t: f64 = l
                        .split_whitespace()
                        .next()
                        .and_then(|x| x.parse().ok())
                        .unwrap_or(0.0);
                    if t >= end - w - 8.0 && t <= end + 0.5 {
                        eprintln!("{l}");
                    }
                }
            }
        }
        drop(nodes);
        drop(lab);
        f
    }
}

fn print_summary(s: &Soak, f: &Figures, sched: &[(f64, Action)]) {
    let kinds: Vec<&str> = s.kinds.iter().map(|k| k.tag()).collect();
    eprintln!(
        "=== chaos soak summary: seed {} mode {:?}, {} s of faults, {} actions",
        s.seed,
        kinds,
        s.fault_secs,
        sched.len()
    );
    eprintln!("faults injected by kind:");
    for (k, v) in &f.faults {
        eprintln!("  {k:28} {v}");
    }
    eprintln!("invariant violations (ours): {}", f.violations.len());
    for v in &f.violations {
        eprintln!("  {v}");
    }
    eprintln!("findings (reference keepalived): {}", f.findings.len());
    for v in &f.findings {
        eprintln!("  {v}");
    }
    eprintln!(
        "worst two-holder window: {:.3} s (bound {:.3} s), ending at {:.3}",
        f.worst_two_holders,
        two_holder_bound(),
        f.worst_two_at
    );
    eprintln!(
        "worst no-holder window: {:.3} s, ending at {:.3}",
        f.worst_no_holder, f.worst_none_at
    );
    eprintln!(
        "worst client reply gap: {:.3} s ({} replies / {} probes)",
        f.worst_client_gap, f.client_replies, f.client_sent
    );
    eprintln!(
        "convergence after faults stop: {} (bound {:.3} s)",
        f.convergence
            .map(|c| format!("{c:.3} s"))
            .unwrap_or_else(|| "none".into()),
        convergence_bound()
    );
    eprintln!("adverts recorded: {}", f.adverts);
    if s.lvs {
        eprintln!(
            "LVS: client through the virtual service: {} replies / {} probes, by real server {:?}",
            f.lvs_replies, f.lvs_sent, f.lvs_by_rs
        );
        eprintln!(
            "LVS: IPVS table = desired after a real-server change: {} checked (undisturbed director), worst {:.3} s, {} over delay_loop × (retry+1) = {:.1} s (enforced: + (retry+1) × connect_timeout = {:.1} s); {} on disturbed directors not held to it",
            f.ipvs_checked,
            f.ipvs_worst,
            f.ipvs_over_bound,
            ipvs_bound(),
            ipvs_enforced_bound(),
            f.ipvs_unchecked
        );
        eprintln!(
            "VM guest stalls (discounted from the timing bounds): {} totalling {:.3} s, longest {:.3} s",
            f.stall_count, f.stall_total, f.stall_worst
        );
    }
    eprintln!(
        "RSS/fd drift (processes alive >= 30 s after start-up; per process: KRS_CHAOS_TRACE=1):"
    );
    for d in &f.drift {
        eprintln!("  {d}");
    }
}

fn check_procs(sh: &Shared, nodes: &mut [Node]) {
    for nd in nodes.iter_mut() {
        if !nd.killed {
            if let Some(st) = nd.proc.as_ref().and_then(|p| p.try_status()) {
                let out = nd.proc.as_ref().unwrap().output_so_far();
                let tail: Vec<&str> = out.lines().rev().take(5).collect();
                sh.violation(
                    Some(nd.n),
                    format!(
                        "{} parent exited unexpectedly ({st}): {tail:?}",
                        NAMES[nd.n]
                    ),
                );
                nd.start();
                nd.worker_change_ok = true;
            }
        }
        let w = nd.worker_pid();
        if w != nd.worker && w.is_some() {
            if nd.worker.is_some() && !nd.worker_change_ok {
                sh.violation(
                    Some(nd.n),
                    format!(
                        "{} VRRP worker changed {:?} -> {:?} without a kill",
                        NAMES[nd.n], nd.worker, w
                    ),
                );
            }
            sh.trace(format!("{} VRRP worker pid {:?}", NAMES[nd.n], w));
            nd.worker = w;
            nd.worker_change_ok = false;
        }
    }
}

fn take_samples(sh: &Shared, nodes: &[Node], samples: &mut BTreeMap<i32, PidSamples>) {
    let t = sh.at(Instant::now());
    for nd in nodes {
        for role in [Role::Parent, Role::Worker] {
            let Some(pid) = nd.pid_of(role) else { continue };
            // Skip stopped processes' transient states? No: RSS/fds are valid while stopped.
            let Some((rss, fds)) = sample(pid) else {
                continue;
            };
            let e = samples.entry(pid).or_insert_with(|| PidSamples {
                label: format!("{} {} {:?} pid {pid}", NAMES[nd.n], nd.kind.tag(), role),
                born: t,
                group: format!("{} {:?}", nd.kind.tag(), role),
                first: (t, rss, fds),
                last: (t, rss, fds),
                max_rss: rss,
                max_fds: fds,
                hist: Vec::new(),
            });
            // The first 10 s of a process are its start-up: measure drift from after that.
            if t < e.born + 10.0 {
                e.first = (t, rss, fds);
            } else {
                e.hist.push((t, rss, fds));
            }
            e.last = (t, rss, fds);
            e.max_rss = e.max_rss.max(rss);
            e.max_fds = e.max_fds.max(fds);
        }
    }
}

fn apply(sh: &Shared, nodes: &mut [Node], a: &Action) {
    let mut note = String::new();
    // What may legitimately delay a director's checker (its IPVS table is not held to the bound
    // then): the parent killed and restarted (the checker starts afresh), its link down or
    // lossy (checks fail), a reload. Freezing or killing the VRRP worker, freezing the parent
    // (the checker worker programs IPVS itself), delay/reorder/duplication (within the connect
    // timeout) and priority flips do not.
    match *a {
        Action::Kill(n, Role::Parent) | Action::Restart(n) => sh.disturb(n, Duration::from_secs(8)),
        Action::LinkDown(n)
        | Action::LinkUp(n)
        | Action::ClearImpair(n)
        | Action::HupSame(n)
        | Action::HupPrio(n, _)
        | Action::HupInvalid(n)
        | Action::RestoreConf(n) => sh.disturb(n, Duration::from_secs(3)),
        Action::Impair(n, imp) if imp.loss_pct > 0 => sh.disturb(n, Duration::from_secs(3)),
        _ => {}
    }
    match *a {
        Action::RsDown(r) | Action::RsUp(r) => {
            let up = matches!(a, Action::RsUp(_));
            sh.rs_up[r].store(up, Ordering::Relaxed);
            let mut c = sh.rs_change.lock().unwrap();
            let mask = if up { c.1 | 1 << r } else { c.1 & !(1 << r) };
            *c = (Instant::now(), mask);
        }
        Action::LinkDown(n) => {
            let _ = nodes[n].host.ip(&["link", "set", "eth0", "down"]);
        }
        Action::LinkUp(n) => {
            let _ = nodes[n].host.ip(&["link", "set", "eth0", "up"]);
        }
        Action::Impair(n, imp) => *sh.impair[n].lock().unwrap() = imp,
        Action::ClearImpair(n) => *sh.impair[n].lock().unwrap() = Impair::default(),
        Action::Stop(n, role) => match nodes[n].pid_of(role) {
            Some(pid) => {
                sig(pid, Signal::SIGSTOP);
                nodes[n].stopped.push((role, pid));
                note = format!(" (pid {pid})");
            }
            None => note = " (no such process: skipped)".into(),
        },
        Action::Cont(n, role) => {
            let nd = &mut nodes[n];
            let (mine, rest): (Vec<_>, Vec<_>) =
                nd.stopped.drain(..).partition(|(r, _)| *r == role);
            nd.stopped = rest;
            for (_, pid) in mine {
                sig(pid, Signal::SIGCONT);
                note = format!(" (pid {pid})");
            }
        }
        Action::Kill(n, role) => match nodes[n].pid_of(role) {
            Some(pid) => {
                if role == Role::Parent {
                    nodes[n].killed = true;
                }
                nodes[n].worker_change_ok = true;
                sig(pid, Signal::SIGKILL);
                note = format!(" (pid {pid})");
            }
            None => note = " (no such process: skipped)".into(),
        },
        Action::Restart(n) => {
            let nd = &mut nodes[n];
            if let Some(p) = &nd.proc {
                let _ = p.wait_timeout(Duration::from_secs(2));
            }
            // The old worker dies with its parent (PDEATHSIG TERM); a stopped one cannot act
            // on it until continued.
            if let Some(w) = nd.worker_pid() {
                sig(w, Signal::SIGCONT);
                nd.stopped.retain(|(_, p)| *p != w);
                let gone = wait_until(Duration::from_secs(3), || !alive(w)).is_ok();
                if !gone {
                    sig(w, Signal::SIGKILL);
                    note = format!(" (old worker {w} still alive after 3 s: killed)");
                }
            }
            nd.start();
            nd.worker_change_ok = true;
        }
        Action::HupSame(n) => {
            let nd = &nodes[n];
            nd.write_conf(u16::from(nd.conf_prio));
            match nd.hup_pid() {
                Some(p) => sig(p, Signal::SIGHUP),
                None => note = " (parent not running or starting: no SIGHUP)".into(),
            }
        }
        Action::HupPrio(n, prio) => {
            let nd = &mut nodes[n];
            if nd.hup_pid().is_none() {
                note = " (parent not running or starting: skipped)".into();
            } else {
                nd.conf_prio = prio;
                nd.write_conf(u16::from(prio));
                sig(nd.hup_pid().unwrap(), Signal::SIGHUP);
            }
        }
        Action::HupInvalid(n) => {
            let nd = &nodes[n];
            nd.write_conf(300);
            match nd.hup_pid() {
                Some(p) => sig(p, Signal::SIGHUP),
                None => note = " (parent not running or starting: no SIGHUP)".into(),
            }
        }
        Action::RestoreConf(n) => {
            let nd = &nodes[n];
            nd.write_conf(u16::from(nd.conf_prio));
            match nd.hup_pid() {
                Some(p) => sig(p, Signal::SIGHUP),
                None => note = " (parent not running or starting: no SIGHUP)".into(),
            }
        }
        Action::ScriptFail(n, fail) => {
            let nd = &mut nodes[n];
            nd.script_fail = fail;
            if fail {
                std::fs::write(nd.p("flag"), "").unwrap();
            } else {
                let _ = std::fs::remove_file(nd.p("flag"));
            }
        }
    }
    sh.trace(format!("FAULT {a:?}{note}"));
}
