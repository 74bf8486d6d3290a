//! The checker worker's side of the SNMP sub-agent (`crate::snmp`): with `enable_snmp_checker`
//! (or `-x`) it registers KEEPALIVED-MIB's checker subtree (`1.3.6.1.4.1.9586.100.5.3`) and
//! the global objects (`...5.1`, which keepalived's checker process then serves instead of the
//! VRRP process), and serves them as keepalived 2.2.7's `check_snmp.c` does:
//! * virtualServerGroupTable and virtualServerGroupMemberTable (fwmark members first, then
//!   the addresses and ranges, as keepalived keeps them in two lists);
//! * virtualServerTable: every column of 2.2.7 (type, group/fwmark/address, protocol,
//!   scheduler, forwarding, status, persistence, delays in seconds and microseconds, quorum
//!   and its scripts, real servers up/total, `snmp_name`) with the IPVS statistics
//!   (connections, packets, bytes, rates, their 64-bit forms) summed over the services the
//!   virtual server stands for;
//! * realServerTable: the sorry server first (realServerType 2), then the real servers in
//!   configuration order, with state, weight, thresholds, notify scripts, failed checkers,
//!   the destination's IPVS counters and `snmp_name`;
//! * lvsSyncDaemon and lvsTimeouts scalars.
//!
//! The statistics are read from IPVS at most every `snmp_vs_stats_update_interval` (virtual
//! servers) and `snmp_rs_stats_update_interval` (real servers; default: the former's), 5 s by
//! default, as keepalived caches them (2.2.7: 5 s for both).
//!
//! With `enable_traps`, realServerStateChange and virtualServerQuorumStateChange are sent
//! where keepalived sends them (the director's `RealServerNotified`/`QuorumNotified`
//! events: a real server's notifications, a quorum's notifications, and at stop), with
//! keepalived's varbinds (column OIDs without an index, the router id last).
//!
//! The session runs on the checker worker's tokio runtime; the health checks run on the
//! director's thread and are never blocked by it.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentx::{Oid, Value, VarBind};
use conf_parse::model::{self as cp, Config};
use ipvs_nl::{DestinationInfo, ServiceInfo, Stats};
use lvs_director::{DirectorEvent, RsId, VsId};

use crate::config::Loaded;
use crate::seams::Ipvs;
use crate::snmp;

/// KEEPALIVED-MIB's checker objects.
pub const KEEPALIVED_CHECK: [u32; 10] = [1, 3, 6, 1, 4, 1, 9586, 100, 5, 3];

/// `-P` (VRRP only), `-C` (checker only), `--all` of the command line, for
/// [`checker_serves_globals`] (bits 1, 2, 4).
static CLI: AtomicU8 = AtomicU8::new(0);

/// Records the command line's `-P`, `-C` and `--all` (the VRRP worker asks whether a checker
/// process serves the global objects).
pub fn set_cli(vrrp_only: bool, check_only: bool, all: bool) {
    let v = u8::from(vrrp_only) | (u8::from(check_only) << 1) | (u8::from(all) << 2);
    CLI.store(v, Ordering::Relaxed);
}

/// keepalived's `vrrp_handles_global_oid`, the other way round: a checker process runs
/// (`running_checker()`) with `enable_snmp_checker`, and so registers the global objects.
pub fn checker_serves_globals(cfg: &Loaded) -> bool {
    let cli = CLI.load(Ordering::Relaxed);
    let runs = cli & 1 == 0 && (cli & 4 != 0 || cfg.has_checker());
    runs && cfg.config().global.snmp.checker
}

/// What the director told us (through its events).
#[derive(Debug, Default)]
pub struct Runtime {
    alive: HashMap<RsId, bool>,
    failed: HashMap<RsId, u32>,
    quorum: HashMap<VsId, bool>,
}

/// IPVS tables read, with when (the statistics' caches).
#[derive(Debug, Default)]
struct StatsCache {
    vs: Option<(Instant, Table)>,
    rs: Option<(Instant, Table)>,
}

/// What the sub-agent's callbacks read.
#[derive(Clone)]
pub struct Ctx {
    /// The configuration in force.
    pub shared: Arc<Mutex<Loaded>>,
    /// The director's states.
    pub runtime: Arc<Mutex<Runtime>>,
    /// The IPVS table.
    pub ipvs: Arc<dyn Ipvs>,
    /// Notifications waiting for the session.
    pub traps: Arc<Mutex<Vec<Vec<VarBind>>>>,
    stats: Arc<Mutex<StatsCache>>,
    /// The configuration in force as the director compiles it (virtual servers, their
    /// services and real servers), computed once per configuration when the MIB or a trap
    /// first needs it: without SNMP the checker process does not hold a second copy of the
    /// director's model (1,000 real servers: about 1 MB).
    compiled: Arc<Mutex<Option<Arc<lvs_director::DirectorConfig>>>>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("snmp_checker::Ctx").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Ctx {
    /// A context for `cfg` on `ipvs`.
    pub fn new(cfg: &Loaded, ipvs: Arc<dyn Ipvs>) -> Ctx {
        Ctx {
            shared: Arc::new(Mutex::new(cfg.clone())),
            runtime: Arc::new(Mutex::new(Runtime::default())),
            ipvs,
            traps: Arc::new(Mutex::new(Vec::new())),
            stats: Arc::new(Mutex::new(StatsCache::default())),
            compiled: Arc::new(Mutex::new(None)),
        }
    }

    /// Publishes the configuration in force.
    fn publish(&self, cfg: &Loaded) {
        *lock(&self.shared) = cfg.clone();
        *lock(&self.compiled) = None;
    }

    /// The configuration in force as the director compiles it.
    fn compiled(&self) -> Arc<lvs_director::DirectorConfig> {
        let mut c = lock(&self.compiled);
        if let Some(dc) = &*c {
            return dc.clone();
        }
        let cfg = lock(&self.shared).clone();
        let dc = Arc::new(lvs_director::compile(cfg.config()).0);
        *c = Some(dc.clone());
        dc
    }

    /// Folds a director event in; with `enable_traps` and the checker MIB on, queues the
    /// notification keepalived sends for it.
    pub fn on_event(&self, e: &DirectorEvent) {
        {
            let mut rt = lock(&self.runtime);
            match e {
                DirectorEvent::RealServer { rs, alive } => {
                    rt.alive.insert(rs.clone(), *alive);
                }
                DirectorEvent::Checked { rs, alive, .. } => {
                    rt.alive.entry(rs.clone()).or_insert(*alive);
                }
                DirectorEvent::FailedCheckers { rs, failed } => {
                    rt.failed.insert(rs.clone(), *failed);
                }
                DirectorEvent::QuorumNotified {
                    vs, up, stopping, ..
                } if !*stopping => {
                    rt.quorum.insert(vs.clone(), *up);
                }
                DirectorEvent::Quorum { vs, up } => {
                    rt.quorum.insert(vs.clone(), *up);
                }
                _ => {}
            }
        }
        if !matches!(
            e,
            DirectorEvent::RealServerNotified { .. } | DirectorEvent::QuorumNotified { .. }
        ) {
            return;
        }
        let cfg = lock(&self.shared).clone();
        let config = cfg.config();
        if !(config.global.snmp.traps && config.global.snmp.checker) {
            return;
        }
        let dc = self.compiled();
        if let Some(t) = trap(config, &dc, e) {
            lock(&self.traps).push(t);
        }
    }

    /// The notifications queued (the session sends them).
    fn drain(&self) -> Vec<Vec<VarBind>> {
        std::mem::take(&mut *lock(&self.traps))
    }

    /// Whether notifications wait to be sent.
    pub fn pending(&self) -> bool {
        !lock(&self.traps).is_empty()
    }
}

/// The running agent and what it was started for (socket, subtrees).
pub type Running = Option<(snmp::Agent, (Option<String>, Vec<Oid>))>;

/// Starts, restarts (another `snmp_socket`) or stops the checker's sub-agent as the (new)
/// configuration says (`enable_snmp_checker`, or `-x`), and publishes the configuration.
pub fn set_snmp(running: &mut Running, cfg: &Loaded, ctx: &Ctx) {
    ctx.publish(cfg);
    let g = &cfg.config().global.snmp;
    let want = g.checker.then(|| {
        (
            g.socket.clone(),
            vec![
                Oid(snmp::KEEPALIVED_GLOBAL.to_vec()),
                Oid(KEEPALIVED_CHECK.to_vec()),
            ],
        )
    });
    if let (Some((_, have)), Some(w)) = (running.as_ref(), want.as_ref()) {
        if have == w {
            return;
        }
    }
    if let Some((a, _)) = running.take() {
        a.stop();
    }
    let Some((sock, subtrees)) = want else {
        return;
    };
    let c = ctx.clone();
    let provider: snmp::Provider = Arc::new(move || mib(&c));
    let traps: snmp::TrapProvider = Arc::new(|_| Vec::new());
    let c = ctx.clone();
    let poll: snmp::Poller = Arc::new(move || c.drain());
    let agent = snmp::Agent::start(sock.clone(), subtrees.clone(), provider, traps, poll);
    *running = Some((agent, (sock, subtrees)));
}

fn oid(base: &[u32], tail: &[u32]) -> Oid {
    let mut o = base.to_vec();
    o.extend_from_slice(tail);
    Oid(o)
}

fn truth(b: bool) -> Value {
    Value::Integer(if b { 1 } else { 2 })
}

fn text(s: &str) -> Value {
    Value::OctetString(s.as_bytes().to_vec())
}

fn ip_bytes(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    }
}

fn addr_type(a: IpAddr) -> Value {
    Value::Integer(if a.is_ipv4() { 1 } else { 2 })
}

fn unsigned(n: u64) -> Value {
    Value::Gauge32(n as u32)
}

/// keepalived's `cmd_str_r`: each word single-quoted (a first word that is a redirection
/// not), separated by spaces; the program is named by its real path, as keepalived resolves
/// it when it reads the configuration (`/bin/true` is `/usr/bin/true`).
fn cmd_str(s: &cp::Script) -> String {
    let mut words = script_runner::split(&s.command).unwrap_or_else(|_| vec![s.command.clone()]);
    if let Some(first) = words.first_mut() {
        if let Ok(p) = std::fs::canonicalize(&*first) {
            *first = p.display().to_string();
        }
    }
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            if i == 0 && (w.starts_with('<') || w.starts_with('>')) {
                w.clone()
            } else {
                format!("'{w}'")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The router id keepalived reports: `router_id`, else the host name.
fn router_id(config: &Config) -> String {
    config.global.router_id.clone().unwrap_or_else(|| {
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default()
    })
}

/// The configured virtual servers the director runs, each with its compiled form.
fn pairs<'a>(
    config: &'a Config,
    dc: &'a lvs_director::DirectorConfig,
) -> Vec<(
    &'a cp::VirtualServer,
    &'a lvs_director::model::VirtualServer,
)> {
    let mut out = Vec::new();
    let mut it = dc.virtual_servers.iter().peekable();
    for c in &config.virtual_servers {
        let Some(v) = it.peek() else { break };
        let same = match (&c.key, &v.id) {
            (cp::VsKey::Addr(a, p), VsId::Addr(b, q, _)) => a == b && p == q,
            (cp::VsKey::Fwmark(m), VsId::Fwmark(n, _)) => m == n,
            (cp::VsKey::Group(g), VsId::Group(h, _)) => g == h,
            _ => false,
        };
        if same {
            out.push((c, *v));
            it.next();
        }
    }
    out
}

/// The configured real servers of `c` the director runs, each with its compiled form.
fn rs_pairs<'a>(
    c: &'a cp::VirtualServer,
    v: &'a lvs_director::model::VirtualServer,
) -> Vec<(&'a cp::RealServer, &'a lvs_director::model::RealServer)> {
    let mut out = Vec::new();
    let mut it = v.real_servers.iter().peekable();
    for r in &c.real_servers {
        let Some(x) = it.peek() else { break };
        if x.id.addr == r.addr && x.id.port == r.port.unwrap_or(0) {
            out.push((r, *x));
            it.next();
        }
    }
    out
}

/// The IPVS counters of a virtual server and of its destinations, summed over its services.
#[derive(Debug, Default, Clone)]
struct VsStats {
    vs: Stats,
    /// Per destination (address, port): counters, active, inactive, persistent.
    dests: Vec<(IpAddr, u16, Stats, u64, u64, u64)>,
}

fn add(a: &mut Stats, b: &Stats) {
    a.conns = a.conns.wrapping_add(b.conns);
    a.inpkts = a.inpkts.wrapping_add(b.inpkts);
    a.outpkts = a.outpkts.wrapping_add(b.outpkts);
    a.inbytes = a.inbytes.wrapping_add(b.inbytes);
    a.outbytes = a.outbytes.wrapping_add(b.outbytes);
    a.cps = a.cps.wrapping_add(b.cps);
    a.inpps = a.inpps.wrapping_add(b.inpps);
    a.outpps = a.outpps.wrapping_add(b.outpps);
    a.inbps = a.inbps.wrapping_add(b.inbps);
    a.outbps = a.outbps.wrapping_add(b.outbps);
}

fn vs_stats(
    v: &lvs_director::model::VirtualServer,
    table: &[(ServiceInfo, Vec<DestinationInfo>)],
) -> VsStats {
    let mut out = VsStats::default();
    for s in &v.services {
        let Some((si, ds)) = table.iter().find(|(si, _)| si.service.key == s.key) else {
            continue;
        };
        add(&mut out.vs, &si.stats);
        for d in ds {
            let (a, p) = (d.dest.addr, d.dest.port);
            let active = u64::from(d.active_conns);
            let inact = u64::from(d.inactive_conns);
            let pers = u64::from(d.persistent_conns);
            match out.dests.iter_mut().find(|x| x.0 == a && x.1 == p) {
                Some(x) => {
                    add(&mut x.2, &d.stats);
                    x.3 += active;
                    x.4 += inact;
                    x.5 += pers;
                }
                None => out.dests.push((a, p, d.stats, active, inact, pers)),
            }
        }
    }
    out
}

/// The destination counters of a real server at `addr`:`port` (port 0: any).
fn dest_of(st: &VsStats, addr: IpAddr, port: u16) -> (Stats, u64, u64, u64) {
    let mut s = Stats::default();
    let (mut a, mut i, mut p) = (0, 0, 0);
    for d in &st.dests {
        if d.0 == addr && (port == 0 || d.1 == port) {
            add(&mut s, &d.2);
            a += d.3;
            i += d.4;
            p += d.5;
        }
    }
    (s, a, i, p)
}

/// The tables to read the virtual servers' and the real servers' counters from, refreshed
/// when older than their intervals.
type Table = Vec<(ServiceInfo, Vec<DestinationInfo>)>;

fn tables(ctx: &Ctx, config: &Config) -> (Table, Table) {
    let vs_int = config
        .global
        .snmp_vs_stats_update_interval
        .unwrap_or(Duration::from_secs(5));
    let rs_int = config
        .global
        .snmp_rs_stats_update_interval
        .unwrap_or(vs_int);
    let mut c = lock(&ctx.stats);
    let now = Instant::now();
    let stale = |e: &Option<(Instant, Table)>, int: Duration| {
        e.as_ref()
            .is_none_or(|(t, _)| now.duration_since(*t) >= int)
    };
    let (sv, sr) = (stale(&c.vs, vs_int), stale(&c.rs, rs_int));
    if sv || sr {
        let t = ctx.ipvs.table();
        if sv {
            c.vs = Some((now, t.clone()));
        }
        if sr {
            c.rs = Some((now, t));
        }
    }
    (
        c.vs.as_ref().map(|x| x.1.clone()).unwrap_or_default(),
        c.rs.as_ref().map(|x| x.1.clone()).unwrap_or_default(),
    )
}

fn secs(d: Duration) -> Value {
    unsigned(d.as_secs())
}

fn usecs(d: Duration) -> Value {
    unsigned(d.as_micros() as u64)
}

/// The IPVS scheduler's number in virtualServerLoadBalancingAlgo.
fn algo(s: cp::Scheduler) -> i32 {
    match s.name() {
        "rr" => 1,
        "wrr" => 2,
        "lc" => 3,
        "wlc" => 4,
        "lblc" => 5,
        "lblcr" => 6,
        "dh" => 7,
        "sh" => 8,
        "sed" => 9,
        "nq" => 10,
        "fo" => 11,
        "ovf" => 12,
        "mh" => 13,
        "twos" => 14,
        _ => 99,
    }
}

fn kind(k: cp::LbKind) -> Value {
    Value::Integer(match k {
        cp::LbKind::Nat => 1,
        cp::LbKind::Dr => 2,
        cp::LbKind::Tun => 3,
    })
}

/// The statistics columns (`c`: connections, packets, bytes, rates, 64-bit forms) at
/// `cols` = [conns, inpkts, outpkts, inbytes, outbytes, cps, inpps, outpps, inbps, outbps,
/// conns64, inpkts64, outpkts64, first rate low/high column].
fn put_stats(put: &mut dyn FnMut(u32, Value), s: &Stats, cols: [u32; 14]) {
    put(cols[0], Value::Gauge32(s.conns as u32));
    put(cols[1], Value::Counter32(s.inpkts as u32));
    put(cols[2], Value::Counter32(s.outpkts as u32));
    put(cols[3], Value::Counter64(s.inbytes));
    put(cols[4], Value::Counter64(s.outbytes));
    put(cols[5], Value::Gauge32(s.cps as u32));
    put(cols[6], Value::Gauge32(s.inpps as u32));
    put(cols[7], Value::Gauge32(s.outpps as u32));
    put(cols[8], Value::Gauge32(s.inbps as u32));
    put(cols[9], Value::Gauge32(s.outbps as u32));
    put(cols[10], Value::Counter64(s.conns));
    put(cols[11], Value::Counter64(s.inpkts));
    put(cols[12], Value::Counter64(s.outpkts));
    // The rate pairs: keepalived 2.2.7 answers each "low" column with the high half of the
    // last 64-bit counter it built (the outpkts just before, a bug of check_snmp.c), each
    // "high" column with the rate's high half.
    let low = (s.outpkts >> 32) as u32;
    for (i, r) in [s.cps, s.inpps, s.outpps, s.inbps, s.outbps]
        .iter()
        .enumerate()
    {
        put(cols[13] + 2 * i as u32, Value::Gauge32(low));
        put(
            cols[13] + 2 * i as u32 + 1,
            Value::Gauge32((r >> 32) as u32),
        );
    }
}

/// KEEPALIVED-MIB's checker subtree and global objects, from the configuration, the
/// director's states and IPVS.
fn mib(ctx: &Ctx) -> BTreeMap<Oid, Value> {
    let cfg = lock(&ctx.shared).clone();
    let config = cfg.config();
    let mut m = crate::snmp_vrrp::keepalived_globals(config);
    m.extend(checker_mib(ctx, config));
    m
}

fn checker_mib(ctx: &Ctx, config: &Config) -> BTreeMap<Oid, Value> {
    let mut m = BTreeMap::new();
    let ck = &KEEPALIVED_CHECK;
    // virtualServerGroupTable, virtualServerGroupMemberTable.
    for (gi, g) in config.virtual_server_groups.iter().enumerate() {
        let gi = gi as u32 + 1;
        m.insert(oid(ck, &[1, 1, 2, gi]), text(&g.name));
        let fw = g
            .entries
            .iter()
            .filter(|e| matches!(e, cp::VsgEntry::Fwmark(_)));
        let ranges = g
            .entries
            .iter()
            .filter(|e| matches!(e, cp::VsgEntry::Range { .. }));
        for (ei, e) in fw.chain(ranges).enumerate() {
            let ix = [gi, ei as u32 + 1];
            let mut put = |c: u32, v: Value| {
                let mut t = vec![2, 1, c];
                t.extend_from_slice(&ix);
                m.insert(oid(ck, &t), v);
            };
            match e {
                cp::VsgEntry::Fwmark(f) => {
                    put(2, Value::Integer(1));
                    put(3, unsigned(u64::from(*f)));
                }
                cp::VsgEntry::Range { first, last, port } => {
                    let range = first != last;
                    put(2, Value::Integer(if range { 3 } else { 2 }));
                    put(4, addr_type(*first));
                    if range {
                        put(6, Value::OctetString(ip_bytes(*first)));
                        put(7, Value::OctetString(ip_bytes(*last)));
                    } else {
                        put(5, Value::OctetString(ip_bytes(*first)));
                    }
                    put(8, unsigned(u64::from(*port)));
                }
            }
        }
    }

    let dc = ctx.compiled();
    let rt = lock(&ctx.runtime);
    let (vs_table, rs_table) = tables(ctx, config);
    let pairs = pairs(config, &dc);
    for (vi, (c, v)) in pairs.iter().enumerate() {
        let vi = vi as u32 + 1;
        let vstats = vs_stats(v, &vs_table);
        let rstats = vs_stats(v, &rs_table);
        let mut put = |col: u32, val: Value| {
            m.insert(oid(ck, &[3, 1, col, vi]), val);
        };
        let addr = match &c.key {
            cp::VsKey::Addr(a, _) => Some(*a),
            _ => None,
        };
        match &c.key {
            cp::VsKey::Group(g) => {
                put(2, Value::Integer(3));
                put(3, text(g));
            }
            cp::VsKey::Fwmark(f) => {
                put(2, Value::Integer(1));
                put(4, unsigned(u64::from(*f)));
            }
            cp::VsKey::Addr(a, p) => {
                put(2, Value::Integer(2));
                put(6, Value::OctetString(ip_bytes(*a)));
                put(7, unsigned(u64::from(*p)));
            }
        }
        let ipv6 = v
            .services
            .first()
            .is_some_and(|s| s.key.af() == ipvs_nl::AddressFamily::Inet6);
        put(5, Value::Integer(if ipv6 { 2 } else { 1 }));
        if !matches!(c.key, cp::VsKey::Fwmark(_)) {
            put(
                8,
                Value::Integer(match c.protocol {
                    cp::Protocol::Tcp => 1,
                    cp::Protocol::Udp => 2,
                    cp::Protocol::Sctp => 3,
                }),
            );
        }
        put(9, Value::Integer(algo(c.lb_algo)));
        put(10, kind(c.lb_kind));
        let in_ipvs = v
            .services
            .iter()
            .any(|s| vs_table.iter().any(|(si, _)| si.service.key == s.key));
        put(11, truth(in_ipvs));
        if let Some(h) = &c.virtualhost {
            put(12, text(h));
        }
        put(13, truth(c.persistence_timeout.is_some()));
        if let Some(t) = c.persistence_timeout {
            put(14, unsigned(u64::from(t)));
        }
        let gran: u32 = match c.persistence_granularity {
            Some(cp::Granularity::V4(a)) => u32::from_ne_bytes(a.octets()),
            Some(cp::Granularity::V6(n)) => u32::from(n),
            None => u32::MAX,
        };
        // keepalived reads the address family of the virtual server's address: a group or
        // fwmark virtual server has none and shows both forms.
        if addr.is_none_or(|a| a.is_ipv4()) {
            put(15, Value::OctetString(gran.to_ne_bytes().to_vec()));
        }
        if addr.is_none_or(|a| a.is_ipv6()) {
            put(51, unsigned(u64::from(gran)));
        }
        put(16, secs(c.delay_loop));
        put(17, truth(c.ha_suspend));
        put(37, truth(c.sched_flags.ops));
        put(18, truth(c.alpha));
        put(19, truth(c.omega));
        let rss = rs_pairs(c, v);
        let alive = |r: &lvs_director::model::RealServer| {
            rt.alive.get(&r.id).copied().unwrap_or_else(|| {
                let alpha =
                    r.checks.iter().any(|c| c.params.alpha) || r.bfd_checks.iter().any(|b| b.alpha);
                !alpha
            })
        };
        put(20, unsigned(rss.len() as u64));
        put(
            21,
            unsigned(rss.iter().filter(|(_, r)| alive(r)).count() as u64),
        );
        put(22, unsigned(u64::from(c.quorum)));
        put(23, truth(rt.quorum.get(&v.id).copied().unwrap_or(true)));
        if let Some(s) = &c.quorum_up {
            put(24, text(&cmd_str(s)));
        }
        if let Some(s) = &c.quorum_down {
            put(25, text(&cmd_str(s)));
        }
        put(26, unsigned(u64::from(c.hysteresis)));
        put_stats(
            &mut put,
            &vstats.vs,
            [27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 38, 39, 40, 41],
        );
        put(52, truth(false));
        put(53, truth(c.sched_flags.flag1));
        put(54, truth(c.sched_flags.flag2));
        put(55, truth(c.sched_flags.flag3));
        put(56, truth(!c.inhibit_on_failure));
        put(57, unsigned(u64::from(c.retry.unwrap_or(0))));
        put(58, secs(c.delay_before_retry.unwrap_or_default()));
        put(59, secs(c.warmup.unwrap_or_default()));
        put(60, Value::Integer(c.weight as i32));
        put(61, truth(c.smtp_alert.unwrap_or(false)));
        put(62, truth(c.sched_flags.flag1));
        put(63, truth(c.sched_flags.flag2));
        put(64, usecs(c.delay_loop));
        put(65, usecs(c.delay_before_retry.unwrap_or_default()));
        put(66, usecs(c.warmup.unwrap_or_default()));
        put(
            67,
            usecs(c.connect_timeout.unwrap_or(Duration::from_secs(5))),
        );
        if c.lb_kind == cp::LbKind::Tun {
            put(68, Value::Integer(1));
        }
        if let Some(n) = &c.snmp_name {
            put(71, text(n));
        }

        // realServerTable: the sorry server first, then the real servers.
        let mut ri = 0u32;
        if let Some((sa, sp)) = c.sorry_server {
            ri += 1;
            let mut put = |col: u32, val: Value| {
                m.insert(oid(ck, &[4, 1, col, vi, ri]), val);
            };
            put(2, Value::Integer(2));
            put(3, addr_type(sa));
            put(4, Value::OctetString(ip_bytes(sa)));
            put(5, unsigned(u64::from(sp)));
            let (s, a, i, p) = dest_of(&rstats, sa, sp);
            put(14, Value::Gauge32(s.conns as u32));
            put(15, unsigned(a));
            put(16, unsigned(i));
            put(17, unsigned(p));
            put_sorry_or_rs_stats(&mut put, &s);
            put(40, kind(c.sorry_server_lvs_method.unwrap_or(c.lb_kind)));
            put(42, truth(false));
            for col in [43, 44, 45, 46] {
                put(col, unsigned(0));
            }
            put(47, truth(false));
            for col in [48, 49, 50, 51] {
                put(col, unsigned(0));
            }
            if c.sorry_server_lvs_method.unwrap_or(c.lb_kind) == cp::LbKind::Tun {
                put(52, Value::Integer(1));
            }
        }
        for (r, x) in &rss {
            ri += 1;
            let mut put = |col: u32, val: Value| {
                m.insert(oid(ck, &[4, 1, col, vi, ri]), val);
            };
            put(2, Value::Integer(1));
            put(3, addr_type(r.addr));
            put(4, Value::OctetString(ip_bytes(r.addr)));
            put(5, unsigned(u64::from(r.port.unwrap_or(0))));
            let up = alive(x);
            put(6, truth(up));
            put(7, Value::Integer(r.weight as i32));
            if let Some(t) = r.uthreshold.filter(|t| *t != 0) {
                put(8, unsigned(u64::from(t)));
            }
            if let Some(t) = r.lthreshold.filter(|t| *t != 0) {
                put(9, unsigned(u64::from(t)));
            }
            put(
                10,
                truth(!r.inhibit_on_failure.unwrap_or(c.inhibit_on_failure)),
            );
            if let Some(s) = &r.notify_up {
                put(11, text(&cmd_str(s)));
            }
            if let Some(s) = &r.notify_down {
                put(12, text(&cmd_str(s)));
            }
            let failed =
                rt.failed
                    .get(&x.id)
                    .copied()
                    .unwrap_or(if up { 0 } else { x.checks.len() as u32 });
            put(13, unsigned(u64::from(failed)));
            let (s, a, i, p) = dest_of(&rstats, x.dest.addr, x.dest.port);
            put(14, Value::Gauge32(s.conns as u32));
            put(15, unsigned(a));
            put(16, unsigned(i));
            put(17, unsigned(p));
            put_sorry_or_rs_stats(&mut put, &s);
            put(40, kind(r.lvs_method.unwrap_or(c.lb_kind)));
            if let Some(h) = &r.virtualhost {
                put(41, text(h));
            }
            // A real server's delays, retry and timeout default to its virtual server's.
            let dbr = r
                .delay_before_retry
                .or(c.delay_before_retry)
                .unwrap_or_default();
            let warmup = r.warmup.or(c.warmup).unwrap_or_default();
            let delay_loop = r.delay_loop.unwrap_or(c.delay_loop);
            put(42, truth(r.alpha.unwrap_or(false)));
            put(43, unsigned(u64::from(r.retry.or(c.retry).unwrap_or(0))));
            put(44, secs(dbr));
            put(45, secs(warmup));
            put(46, secs(delay_loop));
            put(47, truth(r.smtp_alert.unwrap_or(true)));
            put(48, usecs(dbr));
            put(49, usecs(warmup));
            put(50, usecs(delay_loop));
            put(
                51,
                usecs(
                    r.connect_timeout
                        .or(c.connect_timeout)
                        .unwrap_or(Duration::from_secs(5)),
                ),
            );
            if r.lvs_method.unwrap_or(c.lb_kind) == cp::LbKind::Tun {
                put(52, Value::Integer(1));
            }
            if let Some(n) = &r.snmp_name {
                put(55, text(n));
            }
        }
    }
    drop(rt);

    // lvsSyncDaemon, lvsTimeouts.
    let g = &config.global;
    let sd = g.lvs_sync_daemon.as_ref();
    m.insert(oid(ck, &[6, 1, 0]), truth(sd.is_some()));
    if let Some(sd) = sd {
        m.insert(oid(ck, &[6, 2, 0]), text(&sd.interface));
        m.insert(oid(ck, &[6, 3, 0]), text(&sd.vrrp_instance));
        m.insert(
            oid(ck, &[6, 4, 0]),
            Value::Integer(i32::from(sd.id.unwrap_or(0))),
        );
        m.insert(
            oid(ck, &[6, 5, 0]),
            Value::Integer(i32::from(sd.maxlen.unwrap_or(0))),
        );
        m.insert(
            oid(ck, &[6, 6, 0]),
            Value::Integer(i32::from(sd.port.unwrap_or(0))),
        );
        m.insert(
            oid(ck, &[6, 7, 0]),
            Value::Integer(i32::from(sd.ttl.unwrap_or(0))),
        );
        if let Some(a) = sd.group {
            m.insert(oid(ck, &[6, 8, 0]), addr_type(a));
            m.insert(oid(ck, &[6, 9, 0]), Value::OctetString(ip_bytes(a)));
        }
    }
    if let Some(t) = g.lvs_timeouts {
        for (i, v) in [t.tcp, t.tcpfin, t.udp].iter().enumerate() {
            if let Some(v) = v.filter(|v| *v != 0) {
                m.insert(oid(ck, &[7, i as u32 + 1, 0]), Value::Integer(v as i32));
            }
        }
    }
    m
}

/// The destination counters' columns of realServerTable.
fn put_sorry_or_rs_stats(put: &mut dyn FnMut(u32, Value), s: &Stats) {
    put(18, Value::Counter32(s.inpkts as u32));
    put(19, Value::Counter32(s.outpkts as u32));
    put(20, Value::Counter64(s.inbytes));
    put(21, Value::Counter64(s.outbytes));
    put(22, Value::Gauge32(s.cps as u32));
    put(23, Value::Gauge32(s.inpps as u32));
    put(24, Value::Gauge32(s.outpps as u32));
    put(25, Value::Gauge32(s.inbps as u32));
    put(26, Value::Gauge32(s.outbps as u32));
    put(27, Value::Counter64(s.conns));
    put(28, Value::Counter64(s.inpkts));
    put(29, Value::Counter64(s.outpkts));
    let low = (s.outpkts >> 32) as u32;
    for (i, r) in [s.cps, s.inpps, s.outpps, s.inbps, s.outbps]
        .iter()
        .enumerate()
    {
        put(30 + 2 * i as u32, Value::Gauge32(low));
        put(31 + 2 * i as u32, Value::Gauge32((r >> 32) as u32));
    }
}

/// realServerStateChange / virtualServerQuorumStateChange for a director notification event
/// (keepalived's `check_snmp_rs_trap`).
fn trap(
    config: &Config,
    dc: &lvs_director::DirectorConfig,
    e: &DirectorEvent,
) -> Option<Vec<VarBind>> {
    let ck = &KEEPALIVED_CHECK;
    let (vs, rs, up, total) = match e {
        DirectorEvent::RealServerNotified {
            rs,
            alive,
            up,
            total,
        } => (&rs.vs, Some((rs, *alive)), *up, *total),
        DirectorEvent::QuorumNotified {
            vs, alive, total, ..
        } => (vs, None, *alive, *total),
        _ => return None,
    };
    let (c, _) = pairs(config, dc).into_iter().find(|(_, v)| &v.id == vs)?;
    // snmpTrapOID.0: realServerStateChange (5.0.1) or virtualServerQuorumStateChange (5.0.2).
    let mut out = vec![VarBind {
        name: Oid(snmp::SNMP_TRAP_OID.to_vec()),
        value: Value::ObjectIdentifier(oid(ck, &[5, 0, if rs.is_some() { 1 } else { 2 }])),
    }];
    let mut put = |tail: &[u32], value: Value| {
        out.push(VarBind {
            name: oid(ck, tail),
            value,
        })
    };
    if let Some((r, alive)) = rs {
        put(&[4, 1, 3], addr_type(r.addr));
        put(&[4, 1, 4], Value::OctetString(ip_bytes(r.addr)));
        put(&[4, 1, 5], unsigned(u64::from(r.port)));
        put(&[4, 1, 6], truth(alive));
    }
    match &c.key {
        cp::VsKey::Group(g) => {
            put(&[3, 1, 2], Value::Integer(3));
            put(&[3, 1, 3], text(g));
        }
        cp::VsKey::Fwmark(f) => {
            put(&[3, 1, 2], Value::Integer(1));
            put(&[3, 1, 4], unsigned(u64::from(*f)));
        }
        cp::VsKey::Addr(a, p) => {
            put(&[3, 1, 2], Value::Integer(2));
            put(&[3, 1, 5], addr_type(*a));
            put(&[3, 1, 6], Value::OctetString(ip_bytes(*a)));
            put(&[3, 1, 7], unsigned(u64::from(*p)));
        }
    }
    put(&[3, 1, 8], truth(c.protocol == cp::Protocol::Tcp));
    if let DirectorEvent::QuorumNotified { up, stopping, .. } = e {
        put(
            &[3, 1, 23],
            Value::Integer(if *stopping {
                3
            } else if *up {
                1
            } else {
                2
            }),
        );
        put(&[3, 1, 22], unsigned(u64::from(c.quorum)));
    }
    put(&[3, 1, 21], unsigned(u64::from(up)));
    put(&[3, 1, 20], unsigned(u64::from(total)));
    out.push(VarBind {
        name: oid(&snmp::KEEPALIVED_GLOBAL, &[2, 0]),
        value: text(&router_id(config)),
    });
    Some(out)
}
