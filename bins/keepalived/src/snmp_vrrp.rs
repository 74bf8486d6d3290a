//! The VRRP worker's side of the SNMP sub-agent (`crate::snmp`): which MIBs it registers
//! (`enable_snmp_rfcv2`: VRRP-MIB, RFC 2787; `enable_snmp_rfcv3`: VRRPv3-MIB, RFC 6527), the
//! rows it builds from the configuration, the runtime's states and counters and the kernel's
//! interfaces, and the notifications it sends with `enable_traps` (vrrpTrapNewMaster,
//! vrrpTrapAuthFailure, vrrpv3NewMaster with its master reason, vrrpv3ProtoError), as
//! keepalived 2.2.7 does.
//!
//! keepalived records why an instance became master (`next_master_reason`): the address owner
//! (priority 255) and an instance that preempted a lower-priority master report preempted(2),
//! one that heard a priority-0 advert priority(1), else masterNoResponse(3). Ours derives the
//! same from the last advert the instance accepted at the moment it becomes master. Protocol
//! errors (TTL, version, checksum) are taken from the runtime's rejection counters, polled
//! every 100 ms: one vrrpv3ProtoError per rejected advert, as keepalived sends one per packet;
//! authentication failures likewise (one vrrpTrapAuthFailure per advert, with the source of the
//! last one the runtime rejected).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use agentx::{Oid, Value, VarBind};
use vrrp_runtime::{InstanceStatus, Metrics, State};

use crate::config::Loaded;
use crate::snmp::{self, IfFacts};
use crate::vrrp_worker::{lock_seen, DbusCallback, Seen};

/// What the sub-agent remembers across requests and sessions.
#[derive(Debug)]
pub struct SnmpState {
    /// When the VRRP worker started (the instances' up time counts from it).
    start: Instant,
    /// Per instance: why it last became master (RFC 6527's vrrpv3StatisticsMasterReason).
    reasons: BTreeMap<String, i32>,
    /// Per instance: the TTL, version and checksum error counts last seen, and the last
    /// protocol error (vrrpv3StatisticsProtoErrReason).
    proto: BTreeMap<String, ([u64; 3], i32)>,
    /// Per instance: the invalid auth type, auth type mismatch and auth failure counts last
    /// seen (RFC 2787's vrrpTrapAuthFailure).
    auth: BTreeMap<String, [u64; 3]>,
}

impl Default for SnmpState {
    fn default() -> Self {
        SnmpState {
            start: Instant::now(),
            reasons: BTreeMap::new(),
            proto: BTreeMap::new(),
            auth: BTreeMap::new(),
        }
    }
}

/// What the sub-agent's callbacks read.
#[derive(Clone)]
pub struct Ctx {
    /// The configuration in force.
    pub shared: Arc<Mutex<Loaded>>,
    /// The runtime's states and counters.
    pub metrics: Arc<Metrics>,
    /// Transitions seen.
    pub seen: Arc<Mutex<Seen>>,
    /// The transition callback slot the agent fills.
    pub slot: Arc<Mutex<Option<DbusCallback>>>,
    /// The sync group notification slot the agent fills.
    pub group_slot: Arc<Mutex<Option<DbusCallback>>>,
    /// Reasons and protocol errors.
    pub state: Arc<Mutex<SnmpState>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The running agent and what it was started for (socket, subtrees).
pub type Running = Option<(snmp::Agent, (Option<String>, Vec<Oid>))>;

/// Starts, restarts (another `snmp_socket` or other MIBs) or stops the SNMP sub-agent as the
/// (new) configuration says, and publishes the configuration it reads.
pub fn set_snmp(running: &mut Running, cfg: &Loaded, ctx: &Ctx) {
    *lock(&ctx.shared) = cfg.clone();
    let g = &cfg.config().global.snmp;
    let mut subtrees = Vec::new();
    if g.rfcv2 {
        subtrees.push(Oid(snmp::VRRP_MIB.to_vec()));
    }
    if g.rfcv3 {
        subtrees.push(Oid(snmp::VRRPV3_MIB.to_vec()));
    }
    if g.vrrp {
        // keepalived's VRRP process serves the global objects unless a checker process with
        // enable_snmp_checker does (vrrp_handles_global_oid).
        if !crate::snmp_checker::checker_serves_globals(cfg) {
            subtrees.push(Oid(snmp::KEEPALIVED_GLOBAL.to_vec()));
        }
        subtrees.push(Oid(snmp::KEEPALIVED_VRRP.to_vec()));
    }
    let want = (!subtrees.is_empty()).then(|| (g.socket.clone(), subtrees));
    if let (Some((_, have)), Some(w)) = (running.as_ref(), want.as_ref()) {
        if have == w {
            return;
        }
    }
    if let Some((a, _)) = running.take() {
        lock(&ctx.slot).take();
        lock(&ctx.group_slot).take();
        a.stop();
    }
    let Some((sock, subtrees)) = want else {
        return;
    };
    let c = ctx.clone();
    let provider: snmp::Provider = Arc::new(move || mib(&c));
    let c = ctx.clone();
    let traps: snmp::TrapProvider = Arc::new(move |t: &snmp::Transition| {
        if t.group {
            group_traps(&c, &t.name, t.state)
        } else {
            transition_traps(&c, &t.name, t.state)
        }
    });
    let c = ctx.clone();
    let poll: snmp::Poller = Arc::new(move || proto_errors(&c));
    let agent = snmp::Agent::start(sock.clone(), subtrees.clone(), provider, traps, poll);
    *lock(&ctx.group_slot) = Some(Box::new(agent.group_sender()));
    let fwd = agent.transition_sender();
    let c = ctx.clone();
    *lock(&ctx.slot) = Some(Box::new(move |name: &str, s: State| {
        if s == State::Master {
            let reason = master_reason(&c, name);
            lock(&c.state).reasons.insert(name.to_string(), reason);
        }
        fwd(name, s);
    }));
    *running = Some((agent, (sock, subtrees)));
}

/// Why instance `name` becomes master now (see the module doc).
fn master_reason(ctx: &Ctx, name: &str) -> i32 {
    let cfg = lock(&ctx.shared).clone();
    let Some(v) = cfg.config().vrrp_instances.iter().find(|v| v.name == name) else {
        return 3;
    };
    if v.priority == 255 {
        return 2;
    }
    let st = ctx.metrics.statuses();
    let st = st.get(name);
    match st.and_then(|s| s.last_advert_from) {
        Some((_, 0)) => 1,
        Some((_, p)) if v.preempt && st.is_some_and(|s| p < s.priority) => 2,
        _ => 3,
    }
}

/// One instance as the MIBs see it.
struct Row<'a> {
    v: &'a conf_parse::model::VrrpInstance,
    id: vrrp_runtime::plan::Identity,
    facts: IfFacts,
    status: Option<InstanceStatus>,
    version: u8,
}

impl Row<'_> {
    fn rej(&self, k: &str) -> u64 {
        self.status
            .as_ref()
            .and_then(|s| s.rx.rejected.get(k).copied())
            .unwrap_or(0)
    }
}

/// The instances with VIPs, with their interfaces' facts, in configuration order.
fn rows<'a>(config: &'a conf_parse::model::Config, metrics: &Metrics) -> Vec<Row<'a>> {
    let st = metrics.statuses();
    let all_vips: Vec<IpAddr> = config
        .vrrp_instances
        .iter()
        .flat_map(|v| v.virtual_ipaddress.iter().map(|a| a.addr))
        .collect();
    let mut out = Vec::new();
    for id in vrrp_runtime::plan::desired(config).identities() {
        let Some(v) = config.vrrp_instances.iter().find(|v| v.name == id.name) else {
            continue;
        };
        if v.virtual_ipaddress.is_empty() {
            continue;
        }
        let Some(facts) = snmp::interface_facts(&id.ifname, &all_vips) else {
            continue;
        };
        out.push(Row {
            v,
            version: v.effective_version(config.global.vrrp_version),
            status: st.get(&v.name).cloned(),
            id,
            facts,
        });
    }
    out
}

/// The MIBs in force, from the configuration, the runtime and the kernel.
fn mib(ctx: &Ctx) -> BTreeMap<Oid, Value> {
    let cfg = lock(&ctx.shared).clone();
    let config = cfg.config();
    let seen = lock_seen(&ctx.seen).clone();
    let rows = rows(config, &ctx.metrics);
    let mut m = BTreeMap::new();
    if config.global.snmp.rfcv2 {
        m.extend(rfc2787_mib(&rows, &seen, config.global.snmp.traps));
    }
    if config.global.snmp.rfcv3 {
        m.extend(rfc6527_mib(ctx, config, &rows, &seen));
    }
    if config.global.snmp.vrrp {
        m.extend(keepalived_mib(ctx, config));
    }
    m
}

/// keepalived's state numbers in KEEPALIVED-MIB (init 0, backup 1, master 2, fault 3).
fn ka_state(s: Option<State>) -> i32 {
    match s {
        Some(State::Backup) => 1,
        Some(State::Master) => 2,
        Some(State::Fault) => 3,
        _ => 0,
    }
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

/// KEEPALIVED-MIB's global objects and VRRP tables as keepalived 2.2.7 serves them:
/// the scalars of `global_defs`, vrrpSyncGroupTable, vrrpSyncGroupMemberTable,
/// vrrpInstanceTable and vrrpAddressTable (rows numbered from 1 in configuration order), and
/// the rest in [`keepalived_mib_more`]. Not served: vrrpRouteNextHopTable (ours has no
/// `nexthop` routes).
fn keepalived_mib(ctx: &Ctx, config: &conf_parse::model::Config) -> BTreeMap<Oid, Value> {
    let mut m = keepalived_globals(config);
    let mut put = |base: &[u32], tail: &[u32], v: Value| {
        let mut o = base.to_vec();
        o.extend_from_slice(tail);
        m.insert(Oid(o), v);
    };
    keepalived_vrrp(ctx, config, &mut put);
    m.extend(keepalived_mib_more(ctx, config));
    m
}

/// KEEPALIVED-MIB's global objects (served by the VRRP worker, or by the checker worker
/// with `enable_snmp_checker`).
pub fn keepalived_globals(config: &conf_parse::model::Config) -> BTreeMap<Oid, Value> {
    let mut m = BTreeMap::new();
    let mut put = |base: &[u32], tail: &[u32], v: Value| {
        let mut o = base.to_vec();
        o.extend_from_slice(tail);
        m.insert(Oid(o), v);
    };
    let gl = &snmp::KEEPALIVED_GLOBAL;
    let g = &config.global;
    put(
        gl,
        &[1, 0],
        text(&format!("Keepalived-rs v{}", env!("CARGO_PKG_VERSION"))),
    );
    if let Some(r) = &g.router_id {
        put(gl, &[2, 0], text(r));
    }
    let smtp: Option<IpAddr> = g.smtp_server.as_ref().and_then(|(h, _)| h.parse().ok());
    put(
        gl,
        &[3, 1, 0],
        Value::Integer(if matches!(smtp, Some(IpAddr::V4(_))) {
            1
        } else {
            2
        }),
    );
    put(
        gl,
        &[3, 2, 0],
        Value::OctetString(smtp.map(ip_bytes).unwrap_or_else(|| vec![0; 4])),
    );
    put(
        gl,
        &[3, 3, 0],
        Value::Gauge32(if g.smtp_server.is_some() {
            g.smtp_connect_timeout.as_secs() as u32
        } else {
            0
        }),
    );
    if let Some(f) = &g.notification_email_from {
        put(gl, &[3, 4, 0], text(f));
    }
    put(
        gl,
        &[3, 6, 0],
        Value::Gauge32(g.smtp_server.as_ref().map(|s| u32::from(s.1)).unwrap_or(0)),
    );
    put(gl, &[3, 7, 0], truth(!g.no_email_faults));
    let tri = |o: Option<bool>| Value::Integer(o.map(|b| if b { 1 } else { 2 }).unwrap_or(3));
    put(gl, &[3, 8, 0], tri(g.smtp_alert));
    put(gl, &[3, 9, 0], tri(g.smtp_alert_vrrp));
    put(gl, &[3, 10, 0], tri(g.smtp_alert_checker));
    put(gl, &[4, 0], truth(g.snmp.traps));
    put(
        gl,
        &[5, 0],
        Value::Integer(if g.linkbeat_use_polling { 2 } else { 1 }),
    );
    put(gl, &[6, 0], truth(g.lvs_flush));
    put(gl, &[7, 0], Value::Integer(1));
    put(gl, &[8, 0], text(g.net_namespace.as_deref().unwrap_or("")));
    put(gl, &[9, 0], truth(g.enable_dbus));
    put(gl, &[10, 0], truth(g.dynamic_interfaces));
    put(
        gl,
        &[11, 0],
        Value::Integer(match g.lvs_flush_on_stop {
            conf_parse::model::FlushOnStop::Full => 1,
            conf_parse::model::FlushOnStop::Vs => 3,
            conf_parse::model::FlushOnStop::No => 2,
        }),
    );
    m
}

/// Puts a value at (base, tail).
type Put<'a> = dyn FnMut(&[u32], &[u32], Value) + 'a;

/// KEEPALIVED-MIB's VRRP tables.
fn keepalived_vrrp(ctx: &Ctx, config: &conf_parse::model::Config, put: &mut Put<'_>) {
    let g = &config.global;
    let vr = &snmp::KEEPALIVED_VRRP;
    let st = ctx.metrics.statuses();
    let state_of = |name: &str| st.get(name).map(|s| s.state);
    for (gi, sg) in config.sync_groups.iter().enumerate() {
        let gi = gi as u32 + 1;
        put(vr, &[1, 1, 2, gi], text(&sg.name));
        let states: Vec<Option<State>> = sg.group.iter().map(|n| state_of(n)).collect();
        let gs = if states.contains(&Some(State::Fault)) {
            Some(State::Fault)
        } else if !states.is_empty() && states.iter().all(|s| *s == Some(State::Master)) {
            Some(State::Master)
        } else if states
            .iter()
            .all(|s| matches!(s, Some(State::Master | State::Backup)))
        {
            Some(State::Backup)
        } else {
            None
        };
        put(vr, &[1, 1, 3, gi], Value::Integer(ka_state(gs)));
        put(vr, &[1, 1, 4, gi], truth(sg.smtp_alert.unwrap_or(false)));
        let notify = sg.notify_master.is_some()
            || sg.notify_backup.is_some()
            || sg.notify_fault.is_some()
            || sg.notify_stop.is_some()
            || sg.notify.is_some();
        put(vr, &[1, 1, 5, gi], truth(notify));
        put(vr, &[1, 1, 10, gi], truth(sg.sync_group_tracking_weight));
        for (mi, name) in sg.group.iter().enumerate() {
            put(vr, &[2, 1, 2, gi, mi as u32 + 1], text(name));
        }
    }
    // static_ipaddress rows are instance 0, set, not advertised.
    let mut addr_rows: Vec<(
        u32,
        u32,
        conf_parse::model::IpAddress,
        bool,
        Option<String>,
        bool,
    )> = config
        .static_ipaddress
        .iter()
        .enumerate()
        .map(|(ai, a)| (0, ai as u32 + 1, a.clone(), false, None, true))
        .collect();
    for (ii, v) in config.vrrp_instances.iter().enumerate() {
        let ii = ii as u32 + 1;
        let col = |c: u32| [3, 1, c, ii];
        let version = v.effective_version(g.vrrp_version);
        let s = state_of(&v.name);
        let ipv6 = v
            .virtual_ipaddress
            .first()
            .map(|a| a.addr.is_ipv6())
            .unwrap_or(false);
        put(vr, &col(2), text(&v.name));
        put(
            vr,
            &col(3),
            Value::Gauge32(u32::from(v.virtual_router_id.unwrap_or(0))),
        );
        put(vr, &col(4), Value::Integer(ka_state(s)));
        put(
            vr,
            &col(5),
            Value::Integer(match v.state {
                conf_parse::model::VrrpState::Master => 2,
                conf_parse::model::VrrpState::Backup => 1,
            }),
        );
        put(vr, &col(6), Value::Integer(ka_state(s)));
        put(vr, &col(7), Value::Integer(i32::from(v.priority)));
        put(
            vr,
            &col(8),
            Value::Integer(i32::from(
                st.get(&v.name).map(|x| x.priority).unwrap_or(v.priority),
            )),
        );
        put(vr, &col(9), truth(s == Some(State::Master)));
        if let Some(i) = &v.interface {
            put(vr, &col(10), text(i));
        }
        put(
            vr,
            &col(12),
            Value::Gauge32(if version == 2 {
                v.advert_int.as_secs() as u32
            } else {
                (v.advert_int.as_millis() / 10) as u32
            }),
        );
        put(vr, &col(13), truth(v.preempt));
        put(
            vr,
            &col(14),
            Value::Gauge32(v.preempt_delay.as_secs() as u32),
        );
        let auth = if version == 2 {
            match v.authentication.as_ref().map(|a| &a.auth_type) {
                None => 0,
                Some(conf_parse::model::AuthType::Pass) => 1,
                Some(conf_parse::model::AuthType::Ah) => 2,
            }
        } else {
            0
        };
        put(vr, &col(15), Value::Integer(auth));
        let syncd = g
            .lvs_sync_daemon
            .as_ref()
            .filter(|d| d.vrrp_instance == v.name);
        put(vr, &col(16), truth(syncd.is_some()));
        if let Some(d) = syncd {
            put(vr, &col(17), text(&d.interface));
        }
        if let Some(sg) = config
            .sync_groups
            .iter()
            .find(|sg| sg.group.contains(&v.name))
        {
            put(vr, &col(18), text(&sg.name));
        }
        put(
            vr,
            &col(19),
            Value::Gauge32(
                v.garp_master_delay
                    .unwrap_or(g.vrrp_garp_master_delay)
                    .as_secs() as u32,
            ),
        );
        put(
            vr,
            &col(20),
            truth(
                v.smtp_alert
                    .or(g.smtp_alert_vrrp)
                    .or(g.smtp_alert)
                    .unwrap_or(false),
            ),
        );
        let notify = v.notify_master.is_some()
            || v.notify_backup.is_some()
            || v.notify_fault.is_some()
            || v.notify_stop.is_some()
            || v.notify_deleted.is_some()
            || v.notify_master_rx_lower_pri.is_some()
            || v.notify.is_some();
        put(vr, &col(21), truth(notify));
        let acc = if version == 3 {
            let strict = v.strict_mode.unwrap_or(g.vrrp_strict);
            let owner = v.priority == 255;
            if v.accept.unwrap_or(owner || !strict) {
                1
            } else {
                2
            }
        } else {
            0
        };
        put(vr, &col(27), Value::Integer(acc));
        put(vr, &col(28), truth(v.promote_secondaries));
        put(vr, &col(29), truth(v.linkbeat_use_polling));
        put(vr, &col(30), Value::Integer(i32::from(version)));
        put(vr, &col(33), truth(v.notify_deleted_set));
        if v.unicast_peer.is_empty() {
            let mc: IpAddr = v.mcast_dst_ip.unwrap_or(if ipv6 {
                IpAddr::V6(g.vrrp_mcast_group6)
            } else {
                IpAddr::V4(g.vrrp_mcast_group4)
            });
            put(
                vr,
                &col(34),
                Value::Integer(if mc.is_ipv6() { 2 } else { 1 }),
            );
            put(vr, &col(35), Value::OctetString(ip_bytes(mc)));
        }
        // vrrpAddressTable: the VIPs, then the excluded ones. keepalived 2.2.7 reports only
        // the first instance's VIPs as advertised (its iterator never sets the flag again).
        let master = s == Some(State::Master);
        let adv = v.virtual_ipaddress.iter().map(|a| (a, ii == 1));
        let exc = v.virtual_ipaddress_excluded.iter().map(|a| (a, false));
        for (ai, (a, advertised)) in adv.chain(exc).enumerate() {
            addr_rows.push((
                ii,
                ai as u32 + 1,
                a.clone(),
                advertised,
                v.interface.clone(),
                master,
            ));
        }
    }
    for (ii, ai, a, advertised, iface, set) in addr_rows {
        let dev = a.dev.clone().or(iface).unwrap_or_default();
        let col = |c: u32| [6, 1, c, ii, ai];
        put(
            vr,
            &col(2),
            Value::Integer(if a.addr.is_ipv6() { 2 } else { 1 }),
        );
        put(vr, &col(3), Value::OctetString(ip_bytes(a.addr)));
        if a.addr.is_ipv4() {
            put(
                vr,
                &col(4),
                Value::OctetString(a.brd.map(|b| b.octets()).unwrap_or([0; 4]).to_vec()),
            );
        }
        put(vr, &col(5), Value::Gauge32(u32::from(a.prefix_len)));
        let scope = match a.scope.map(|s| s.number()).unwrap_or(0) {
            0 => 14,
            254 => 1,
            253 => 2,
            200 => 5,
            _ => 0,
        };
        put(vr, &col(6), Value::Integer(scope));
        let facts = snmp::interface_facts(&dev, &[]);
        if let Some(f) = &facts {
            put(vr, &col(7), Value::Integer(f.index as i32));
        }
        put(vr, &col(8), text(&dev));
        if let Some(l) = &a.label {
            put(vr, &col(9), text(l));
        }
        // keepalived's `set`: it installed the address (an address the kernel refused, or a
        // backup's VIP, is not set).
        let present = facts.as_ref().is_some_and(|f| f.addrs.contains(&a.addr));
        put(vr, &col(10), truth(set && present));
        put(vr, &col(11), truth(advertised));
        if let Some((p, _)) = a.peer {
            put(vr, &col(12), Value::OctetString(ip_bytes(p)));
        }
    }
}

/// The tracking keepalived 2.2.7 keeps for an instance (`vrrp_complete_instance`): its own
/// interface is not tracked; a sync group member (unless `sync_group_tracking_weight`) and an
/// address owner run no floating priority: a weighted interface becomes unweighted (the
/// owner stops tracking it), weighted scripts are dropped, a file at its default weight is
/// unweighted and a weighted one dropped.
struct Tracking<'a> {
    /// Interfaces: name, weight, reverse.
    ifs: Vec<(&'a str, i32, bool)>,
    /// Scripts: name, weight, reverse.
    scripts: Vec<(&'a str, i32, bool)>,
    /// `track_file` blocks tracked.
    files: Vec<&'a conf_parse::model::TrackFile>,
    /// BFD instances tracked.
    bfds: Vec<&'a conf_parse::model::BfdInstance>,
}

/// The BFD instances keepalived's VRRP process tracks (`vrrp_track_bfds`): all but those
/// whose events go only to the checker process.
fn vrrp_bfds(config: &conf_parse::model::Config) -> Vec<&conf_parse::model::BfdInstance> {
    config
        .bfd_instances
        .iter()
        .filter(|b| b.vrrp || !b.checker)
        .collect()
}

/// The BFD instances `refs` names (once each), as keepalived's `alloc_track_bfd` keeps them:
/// with their effective weight.
fn track_bfds<'a>(
    config: &'a conf_parse::model::Config,
    refs: &[conf_parse::model::TrackRef],
) -> Vec<(&'a conf_parse::model::BfdInstance, i32)> {
    let all = vrrp_bfds(config);
    let mut out: Vec<(&conf_parse::model::BfdInstance, i32)> = Vec::new();
    for t in refs {
        let Some(b) = all.iter().find(|b| b.name == t.name) else {
            continue;
        };
        if out.iter().any(|(x, _)| x.name == b.name) {
            continue;
        }
        out.push((b, t.weight.unwrap_or(b.weight)));
    }
    out
}

fn tracking<'a>(
    config: &'a conf_parse::model::Config,
    v: &'a conf_parse::model::VrrpInstance,
) -> Tracking<'a> {
    let group = config
        .sync_groups
        .iter()
        .find(|g| g.group.contains(&v.name));
    let sync_no_weight = group.is_some_and(|g| !g.sync_group_tracking_weight);
    let owner = v.priority == 255;
    let strip = sync_no_weight || owner;
    let ifs = v
        .track_interface
        .iter()
        .filter(|t| v.interface.as_deref() != Some(t.name.as_str()))
        .filter_map(|t| {
            let w = t.weight.unwrap_or(0);
            match (strip && w != 0, sync_no_weight) {
                (false, _) => Some((t.name.as_str(), w, t.reverse)),
                (true, true) => Some((t.name.as_str(), 0, t.reverse)),
                (true, false) => None,
            }
        })
        .collect();
    let scripts = v
        .track_script
        .iter()
        .filter_map(|t| {
            let s = config.vrrp_scripts.iter().find(|s| s.name == t.name)?;
            let (w, r) = match t.weight {
                Some(w) => (w, t.reverse),
                None => (s.weight, s.weight_reverse),
            };
            (!strip || w == 0).then_some((s.name.as_str(), w, r))
        })
        .collect();
    let files = v
        .track_file
        .iter()
        .filter_map(|t| {
            let f = config.track_files.iter().find(|f| f.name == t.name)?;
            let w = t.weight.unwrap_or(f.weight);
            (!strip || w == 0 || w == 1).then_some(f)
        })
        .collect();
    let bfds = track_bfds(config, &v.track_bfd)
        .into_iter()
        .filter(|(_, w)| !strip || *w == 0)
        .map(|(b, _)| b)
        .collect();
    Tracking {
        ifs,
        scripts,
        files,
        bfds,
    }
}

/// A sync group's tracked scripts and files (`track_script`, `track_file`): those defined.
fn group_scripts<'a>(
    config: &'a conf_parse::model::Config,
    g: &'a conf_parse::model::SyncGroup,
) -> Vec<(&'a str, i32, bool)> {
    g.track_script
        .iter()
        .filter_map(|t| {
            let s = config.vrrp_scripts.iter().find(|s| s.name == t.name)?;
            Some(match t.weight {
                Some(w) => (s.name.as_str(), w, t.reverse),
                None => (s.name.as_str(), s.weight, s.weight_reverse),
            })
        })
        .collect()
}

/// A member of sync group `g` is an address owner (priority 255).
fn group_has_owner(config: &conf_parse::model::Config, g: &conf_parse::model::SyncGroup) -> bool {
    g.group.iter().any(|m| {
        config
            .vrrp_instances
            .iter()
            .any(|v| v.name == *m && v.priority == 255)
    })
}

fn group_files<'a>(
    config: &'a conf_parse::model::Config,
    g: &'a conf_parse::model::SyncGroup,
) -> Vec<&'a conf_parse::model::TrackFile> {
    g.track_file
        .iter()
        .filter_map(|t| config.track_files.iter().find(|f| f.name == t.name))
        .collect()
}

/// keepalived's path for a script's program (`check_script_secure`): a bare name searched in
/// `PATH`, then the real path, keeping the name as written when it is the same file under
/// another name (`/bin/sh` is `/usr/bin/sh`, not `/usr/bin/dash`).
fn script_program(argv0: &str) -> String {
    use std::os::unix::fs::MetadataExt;
    if argv0.starts_with('<') || argv0.starts_with('>') {
        return argv0.to_string();
    }
    let mut path = argv0.to_string();
    if !path.contains('/') {
        let search =
            std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/bin:/usr/bin".to_string());
        if let Some(found) = search
            .split(':')
            .map(|d| {
                if d.is_empty() {
                    argv0.to_string()
                } else {
                    format!("{d}/{argv0}")
                }
            })
            .find(|c| std::fs::metadata(c).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0))
        {
            path = found;
        }
    }
    let Ok(real) = std::fs::canonicalize(&path) else {
        return path;
    };
    let real = real.to_string_lossy().into_owned();
    let name = |p: &str| p.rsplit('/').next().unwrap_or("").to_string();
    if name(&real) == name(&path) {
        return real;
    }
    let dir = &real[..real.len() - name(&real).len()];
    let kept = format!("{dir}{}", name(&path));
    let same = match (std::fs::metadata(&real), std::fs::metadata(&kept)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    };
    if same {
        kept
    } else {
        real
    }
}

/// A script's command as keepalived shows it (`cmd_str_r`): each word in single quotes (not
/// escaped), a leading redirection-only word bare.
fn cmd_str(command: &str) -> String {
    let mut argv = script_runner::split(command).unwrap_or_default();
    if let Some(a) = argv.first_mut() {
        *a = script_program(a);
    }
    argv.iter()
        .enumerate()
        .map(|(i, a)| {
            if i == 0 && (a.starts_with('<') || a.starts_with('>')) {
                a.clone()
            } else {
                format!("'{a}'")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// keepalived's `snmp_scope`.
fn snmp_scope(n: u8) -> i32 {
    match n {
        0 => 14,
        254 => 1,
        253 => 2,
        200 => 5,
        _ => 0,
    }
}

/// The value a tracked file holds (keepalived's `last_status`: `strtol(buf, NULL, 0)` of its
/// first 127 bytes, 0 when it cannot be read).
fn file_status(path: &str) -> i64 {
    let Ok(b) = std::fs::read(path) else {
        return 0;
    };
    let t = String::from_utf8_lossy(&b[..b.len().min(127)]).into_owned();
    let t = t.trim_start();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits) = if let Some(h) = t.strip_prefix("0x").or(t.strip_prefix("0X")) {
        (16, h)
    } else if t.starts_with('0') && t.len() > 1 {
        (8, &t[1..])
    } else {
        (10, t)
    };
    let end = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    let v = i64::from_str_radix(&digits[..end], radix).unwrap_or(0);
    if neg {
        -v
    } else {
        v
    }
}

/// The rest of KEEPALIVED-MIB as keepalived 2.2.7 serves it: the email address table, the
/// notify script columns of the sync group and instance tables, the tracked interface,
/// script, file and BFD tables of instances and sync groups, vrrpScriptTable, vrrpFileTable,
/// vrrpBfdTable, vrrpRouteTable and vrrpRuleTable (static ones as instance 0).
fn keepalived_mib_more(ctx: &Ctx, config: &conf_parse::model::Config) -> BTreeMap<Oid, Value> {
    let mut m = BTreeMap::new();
    let mut put = |base: &[u32], tail: &[u32], v: Value| {
        let mut o = base.to_vec();
        o.extend_from_slice(tail);
        m.insert(Oid(o), v);
    };
    let gl = &snmp::KEEPALIVED_GLOBAL;
    for (i, e) in config.global.notification_email.iter().enumerate() {
        put(gl, &[3, 5, 1, 2, i as u32 + 1], text(e));
    }
    let vr = &snmp::KEEPALIVED_VRRP;
    let script =
        |s: &Option<Box<conf_parse::model::Script>>| s.as_ref().map(|s| text(&cmd_str(&s.command)));
    let mut used_scripts: Vec<&str> = Vec::new();
    let mut used_files: Vec<&str> = Vec::new();
    for (gi, g) in config.sync_groups.iter().enumerate() {
        let gi = gi as u32 + 1;
        for (c, s) in [
            (6, &g.notify_master),
            (7, &g.notify_backup),
            (8, &g.notify_fault),
            (9, &g.notify),
            (11, &g.notify_stop),
        ] {
            if let Some(v) = script(s) {
                put(vr, &[1, 1, c, gi], v);
            }
        }
        // keepalived clears the weights of a group with an address owner among its members.
        let owner = group_has_owner(config, g);
        for (k, t) in g.track_interface.iter().enumerate() {
            let ix = [gi, k as u32 + 1];
            put(vr, &[14, 1, 1, ix[0], ix[1]], text(&t.name));
            let w = if owner { 0 } else { t.weight.unwrap_or(0) };
            put(vr, &[14, 1, 2, ix[0], ix[1]], Value::Integer(w));
            put(vr, &[14, 1, 3, ix[0], ix[1]], truth(t.reverse));
        }
        for (k, (name, w, r)) in group_scripts(config, g).into_iter().enumerate() {
            let k = k as u32 + 1;
            let w = if owner { 0 } else { w };
            put(vr, &[15, 1, 2, gi, k], text(name));
            put(vr, &[15, 1, 3, gi, k], Value::Integer(w));
            put(vr, &[15, 1, 4, gi, k], truth(r));
            used_scripts.push(name);
        }
        for (k, (b, _)) in track_bfds(config, &g.track_bfd).into_iter().enumerate() {
            let k = k as u32 + 1;
            put(vr, &[19, 1, 2, gi, k], text(&b.name));
            put(vr, &[19, 1, 3, gi, k], Value::Integer(b.weight));
            put(vr, &[19, 1, 4, gi, k], truth(b.weight_reverse));
        }
        for (k, f) in group_files(config, g).into_iter().enumerate() {
            let k = k as u32 + 1;
            put(vr, &[16, 1, 2, gi, k], text(&f.name));
            put(vr, &[16, 1, 3, gi, k], Value::Integer(f.weight));
            put(vr, &[16, 1, 4, gi, k], truth(f.weight_reverse));
            used_files.push(&f.name);
        }
    }
    let st = ctx.metrics.statuses();
    let master = |name: &str| st.get(name).is_some_and(|s| s.state == State::Master);
    let ifindex = |dev: &str| snmp::interface_facts(dev, &[]).map(|f| f.index as i32);
    // Routes and rules: static ones (instance 0, set), then each instance's (set while master).
    let mut routes: Vec<(u32, u32, &conf_parse::model::Route, bool)> = config
        .static_routes
        .iter()
        .enumerate()
        .map(|(k, r)| (0, k as u32 + 1, r, true))
        .collect();
    let mut rules: Vec<(u32, u32, &conf_parse::model::Rule, bool)> = config
        .static_rules
        .iter()
        .enumerate()
        .map(|(k, r)| (0, k as u32 + 1, r, true))
        .collect();
    for (ii, v) in config.vrrp_instances.iter().enumerate() {
        let ii = ii as u32 + 1;
        for (c, s) in [
            (22, &v.notify_master),
            (23, &v.notify_backup),
            (24, &v.notify_fault),
            (25, &v.notify_stop),
            (26, &v.notify),
            (31, &v.notify_master_rx_lower_pri),
            (32, &v.notify_deleted),
        ] {
            if let Some(x) = script(s) {
                put(vr, &[3, 1, c, ii], x);
            }
        }
        let t = tracking(config, v);
        put(vr, &[3, 1, 11, ii], truth(!t.ifs.is_empty()));
        for (k, (name, w, r)) in t.ifs.iter().enumerate() {
            let k = k as u32 + 1;
            put(vr, &[4, 1, 1, ii, k], text(name));
            put(vr, &[4, 1, 2, ii, k], Value::Integer(*w));
            put(vr, &[4, 1, 3, ii, k], truth(*r));
        }
        for (k, (name, w, r)) in t.scripts.iter().enumerate() {
            let k = k as u32 + 1;
            put(vr, &[5, 1, 2, ii, k], text(name));
            put(vr, &[5, 1, 3, ii, k], Value::Integer(*w));
            put(vr, &[5, 1, 4, ii, k], truth(*r));
            used_scripts.push(name);
        }
        for (k, f) in t.files.iter().enumerate() {
            let k = k as u32 + 1;
            put(vr, &[12, 1, 2, ii, k], text(&f.name));
            put(vr, &[12, 1, 3, ii, k], Value::Integer(f.weight));
            put(vr, &[12, 1, 4, ii, k], truth(f.weight_reverse));
            used_files.push(&f.name);
        }
        for (k, b) in t.bfds.iter().enumerate() {
            let k = k as u32 + 1;
            put(vr, &[17, 1, 2, ii, k], text(&b.name));
            put(vr, &[17, 1, 3, ii, k], Value::Integer(b.weight));
            put(vr, &[17, 1, 4, ii, k], truth(b.weight_reverse));
        }
        let set = master(&v.name);
        routes.extend(
            v.virtual_routes
                .iter()
                .enumerate()
                .map(|(k, r)| (ii, k as u32 + 1, r, set)),
        );
        rules.extend(
            v.virtual_rules
                .iter()
                .enumerate()
                .map(|(k, r)| (ii, k as u32 + 1, r, set)),
        );
    }
    let family = |a: IpAddr| Value::Integer(if a.is_ipv6() { 2 } else { 1 });
    for (ii, k, r, set) in routes {
        let col = |c: u32| [7, 1, c, ii, k];
        put(vr, &col(2), Value::Integer(if r.is_v6() { 2 } else { 1 }));
        put(vr, &col(3), Value::OctetString(ip_bytes(r.dst)));
        put(vr, &col(4), Value::Gauge32(u32::from(r.prefix_len)));
        if let Some(g) = r.via {
            put(vr, &col(5), Value::OctetString(ip_bytes(g)));
        }
        if let Some(s) = r.src {
            put(vr, &col(7), Value::OctetString(ip_bytes(s)));
        }
        put(vr, &col(8), Value::Gauge32(r.metric.unwrap_or(0)));
        put(vr, &col(9), Value::Integer(snmp_scope(r.scope.number())));
        use conf_parse::model::RouteType as T;
        let kind = match r.kind {
            T::Blackhole => 3,
            T::Anycast => 4,
            T::Multicast => 5,
            T::Broadcast => 6,
            T::Unreachable => 7,
            T::Prohibit => 8,
            T::Throw => 9,
            T::Nat => 10,
            T::Xresolve => 11,
            _ => 1,
        };
        put(vr, &col(10), Value::Integer(kind));
        if let Some(d) = &r.dev {
            if let Some(i) = ifindex(d) {
                put(vr, &col(11), Value::Integer(i));
            }
            put(vr, &col(12), text(d));
        }
        put(vr, &col(13), Value::Gauge32(r.table));
        put(vr, &col(14), truth(set));
        put(vr, &col(18), Value::Integer(i32::from(r.protocol) + 1));
        put(vr, &col(19), truth(false));
        put(vr, &col(20), truth(false));
    }
    for (ii, k, r, set) in rules {
        let col = |c: u32| [8, 1, c, ii, k];
        let dir = match (r.to.is_some(), r.from.is_some()) {
            (true, true) => "both",
            (true, false) => "to",
            (false, true) => "from",
            (false, false) => "",
        };
        put(vr, &col(2), text(dir));
        if let Some((a, len)) = r.to.or(r.from) {
            put(vr, &col(3), family(a));
            put(vr, &col(4), Value::OctetString(ip_bytes(a)));
            put(vr, &col(5), Value::Gauge32(u32::from(len)));
        }
        use conf_parse::model::RuleAction as A;
        if let A::Table(t) = r.action {
            put(vr, &col(6), Value::Gauge32(t));
        }
        put(vr, &col(7), truth(set));
        put(vr, &col(8), truth(false));
        if let Some((a, len)) = r.to {
            put(vr, &col(9), family(a));
            put(vr, &col(10), Value::OctetString(ip_bytes(a)));
            put(vr, &col(11), Value::Gauge32(u32::from(len)));
        }
        if let Some((a, len)) = r.from {
            put(vr, &col(12), family(a));
            put(vr, &col(13), Value::OctetString(ip_bytes(a)));
            put(vr, &col(14), Value::Gauge32(u32::from(len)));
        }
        put(vr, &col(15), Value::Gauge32(u32::from(r.tos)));
        if let Some((mark, mask)) = r.fwmark {
            put(vr, &col(16), Value::Gauge32(mark));
            if let Some(mask) = mask {
                put(vr, &col(17), Value::Gauge32(mask));
            }
        }
        if let Some(i) = &r.iif {
            put(vr, &col(20), text(i));
        }
        if let Some(o) = &r.oif {
            put(vr, &col(21), text(o));
        }
        if let A::Goto(t) = r.action {
            put(vr, &col(22), Value::Gauge32(t));
        }
        let action = match r.action {
            A::Table(_) => 1,
            A::Goto(_) => 2,
            A::Blackhole => 6,
            A::Unreachable => 7,
            A::Prohibit => 8,
        };
        put(vr, &col(23), Value::Integer(action));
        if let A::Table(t) = r.action {
            put(vr, &col(24), Value::Gauge32(t));
        }
        if r.priority != 0 {
            put(vr, &col(25), Value::Gauge32(r.priority));
        }
    }
    // vrrpScriptTable and vrrpFileTable: the scripts and files something tracks (keepalived
    // forgets the others), in configuration order.
    let results = ctx.metrics.script_results();
    let scripts = config
        .vrrp_scripts
        .iter()
        .filter(|s| used_scripts.contains(&s.name.as_str()));
    for (k, s) in scripts.enumerate() {
        let k = k as u32 + 1;
        put(vr, &[9, 1, 2, k], text(&s.name));
        put(vr, &[9, 1, 3, k], text(&cmd_str(&s.script)));
        put(
            vr,
            &[9, 1, 4, k],
            Value::Integer(s.interval.as_secs() as i32),
        );
        put(vr, &[9, 1, 5, k], Value::Integer(s.weight));
        let result = match results.get(&s.name) {
            Some(true) => 3,
            Some(false) => 2,
            None => 1,
        };
        put(vr, &[9, 1, 6, k], Value::Integer(result));
        put(vr, &[9, 1, 7, k], Value::Gauge32(s.rise));
        put(vr, &[9, 1, 8, k], Value::Gauge32(s.fall));
        put(vr, &[9, 1, 9, k], truth(s.weight_reverse));
    }
    let bfd_up = ctx.metrics.bfd_states();
    for (k, b) in vrrp_bfds(config).into_iter().enumerate() {
        let k = k as u32 + 1;
        put(vr, &[18, 1, 2, k], text(&b.name));
        let up = bfd_up.get(&b.name).copied().unwrap_or(false);
        put(vr, &[18, 1, 3, k], Value::Integer(i32::from(up)));
        put(vr, &[18, 1, 4, k], Value::Integer(b.weight));
        put(vr, &[18, 1, 5, k], truth(b.weight_reverse));
    }
    let files = config
        .track_files
        .iter()
        .filter(|f| used_files.contains(&f.name.as_str()));
    for (k, f) in files.enumerate() {
        let k = k as u32 + 1;
        let path = std::fs::canonicalize(&f.file)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| f.file.clone());
        put(vr, &[13, 1, 2, k], text(&f.name));
        put(
            vr,
            &[13, 1, 4, k],
            Value::Integer(file_status(&path) as i32),
        );
        put(vr, &[13, 1, 3, k], text(&path));
        put(vr, &[13, 1, 5, k], Value::Integer(f.weight));
        put(vr, &[13, 1, 6, k], truth(f.weight_reverse));
    }
    m
}

/// VRRP-MIB (RFC 2787): the IPv4 VRRPv2 instances with VIPs, as keepalived lists them.
fn rfc2787_mib(rows: &[Row<'_>], seen: &Seen, traps: bool) -> BTreeMap<Oid, Value> {
    let mut out = Vec::new();
    for r in rows {
        if r.id.ipv6 || r.version != 2 {
            continue;
        }
        let v = r.v;
        let rx = r.status.as_ref().map(|s| s.rx.clone()).unwrap_or_default();
        let state = r.status.as_ref().map(|s| s.state);
        out.push(snmp::Rfc2787Instance {
            ifindex: r.facts.index,
            vrid: r.id.vrid,
            mac: r.facts.mac.clone(),
            state: match state {
                Some(State::Master) => 3,
                Some(State::Backup) => 2,
                _ => 1,
            },
            priority: v.priority,
            vips: v
                .virtual_ipaddress
                .iter()
                .filter_map(|a| match a.addr {
                    IpAddr::V4(x) => Some(x),
                    IpAddr::V6(_) => None,
                })
                .collect(),
            primary: r.facts.primary.octets(),
            master: match r.status.as_ref().and_then(|s| s.master) {
                Some(IpAddr::V4(a)) if state != Some(State::Master) => a.octets(),
                _ => [0; 4],
            },
            auth_type: match v.authentication.as_ref().map(|a| &a.auth_type) {
                None => 1,
                Some(conf_parse::model::AuthType::Pass) => 2,
                Some(conf_parse::model::AuthType::Ah) => 3,
            },
            advert_int: v.advert_int.as_secs() as i32,
            preempt: v.preempt,
            uptime: 0,
            stats: [
                seen.master_counts.get(&v.name).map(|c| c.0).unwrap_or(0) as u32,
                rx.advert_rcvd as u32,
                r.rej("adver_int_err") as u32,
                r.rej("auth_failure") as u32,
                r.rej("ip_ttl_err") as u32,
                rx.pri_zero_rcvd as u32,
                0,
                r.rej("invalid_type_rcvd") as u32,
                (rx.addr_list_err as u32).wrapping_add(r.rej("addr_list_err") as u32),
                r.rej("invalid_authtype") as u32,
                r.rej("authtype_mismatch") as u32,
                r.rej("packet_len_err") as u32,
            ],
            errors: [
                r.rej("chk_err") as u32,
                r.rej("version_err") as u32,
                r.rej("vrid_err") as u32,
            ],
        });
    }
    snmp::rfc2787(&out, traps)
}

/// keepalived's accept mode: `accept`/`no_accept`, else on unless strict (the owner always);
/// strict VRRPv2 instances lose it.
fn accept(config: &conf_parse::model::Config, r: &Row<'_>) -> bool {
    let v = r.v;
    let strict = v.strict_mode.unwrap_or(config.global.vrrp_strict);
    let owner = v.priority == 255;
    let a = v.accept.unwrap_or(owner || !strict);
    if a && !owner && strict && r.version == 2 {
        return false;
    }
    a
}

/// The address keepalived sends from: `unicast_src_ip`, else the interface's primary IPv4 or
/// IPv6 link-local address.
fn own_addr(r: &Row<'_>) -> Vec<u8> {
    match (r.v.unicast_src_ip, r.id.ipv6) {
        (Some(IpAddr::V4(a)), false) => a.octets().to_vec(),
        (Some(IpAddr::V6(a)), true) => a.octets().to_vec(),
        (_, false) => r.facts.primary.octets().to_vec(),
        (_, true) => r.facts.link_local.octets().to_vec(),
    }
}

/// VRRPv3-MIB (RFC 6527): every instance with VIPs (Debian's 2.2.7 lists the VRRPv2 ones
/// too), IPv4 and IPv6.
fn rfc6527_mib(
    ctx: &Ctx,
    config: &conf_parse::model::Config,
    rows: &[Row<'_>],
    seen: &Seen,
) -> BTreeMap<Oid, Value> {
    let state = lock(&ctx.state);
    let uptime = (state.start.elapsed().as_millis() / 10).min(u128::from(u32::MAX)) as u32;
    let mut out = Vec::new();
    for r in rows {
        let v = r.v;
        let rx = r.status.as_ref().map(|s| s.rx.clone()).unwrap_or_default();
        let st = r.status.as_ref().map(|s| s.state);
        let primary = if r.id.ipv6 {
            r.facts.link_local.octets().to_vec()
        } else {
            r.facts.primary.octets().to_vec()
        };
        let master = match (st, r.status.as_ref().and_then(|s| s.master)) {
            (Some(State::Master), _) => primary.clone(),
            (_, Some(IpAddr::V4(a))) if !r.id.ipv6 => a.octets().to_vec(),
            (_, Some(IpAddr::V6(a))) if r.id.ipv6 => a.octets().to_vec(),
            _ => vec![0; if r.id.ipv6 { 16 } else { 4 }],
        };
        out.push(snmp::Rfc6527Instance {
            ifindex: r.facts.index,
            vrid: r.id.vrid,
            ipv6: r.id.ipv6,
            master,
            primary,
            mac: r.facts.mac.clone(),
            state: match st {
                Some(State::Master) => 3,
                Some(State::Backup) => 2,
                _ => 1,
            },
            priority: v.priority,
            vips: v.virtual_ipaddress.iter().map(|a| a.addr).collect(),
            advert_cs: (v.advert_int.as_millis() / 10) as i32,
            preempt: v.preempt,
            accept: accept(config, r),
            uptime: if matches!(st, Some(State::Master | State::Backup)) {
                uptime
            } else {
                0
            },
            become_master: seen.master_counts.get(&v.name).map(|c| c.0).unwrap_or(0) as u32,
            master_reason: state.reasons.get(&v.name).copied().unwrap_or(0),
            proto_err_reason: state.proto.get(&v.name).map(|p| p.1).unwrap_or(0),
            stats: [
                rx.advert_rcvd,
                r.rej("adver_int_err"),
                r.rej("ip_ttl_err"),
                rx.pri_zero_rcvd,
                r.status.as_ref().map(|s| s.pri_zero_sent).unwrap_or(0),
                r.rej("invalid_type_rcvd"),
                rx.addr_list_err.wrapping_add(r.rej("addr_list_err")),
                r.rej("packet_len_err"),
            ],
            errors: [r.rej("chk_err"), r.rej("version_err"), r.rej("vrid_err")],
        });
    }
    snmp::rfc6527(&out)
}

/// The notifications for instance `name` entering state `s` (`enable_traps`), in
/// keepalived's order: KEEPALIVED-MIB's vrrpInstanceStateChange (`enable_snmp_vrrp`), then on
/// becoming master RFC 2787's vrrpTrapNewMaster (IPv4 VRRPv2 instances, `enable_snmp_rfcv2`)
/// and RFC 6527's vrrpv3NewMaster (`enable_snmp_rfcv3`).
fn transition_traps(ctx: &Ctx, name: &str, s: State) -> Vec<Vec<VarBind>> {
    let cfg = lock(&ctx.shared).clone();
    let config = cfg.config();
    let g = &config.global.snmp;
    if !g.traps {
        return Vec::new();
    }
    let mut out = Vec::new();
    if g.vrrp {
        if let Some(v) = config.vrrp_instances.iter().find(|v| v.name == name) {
            out.push(instance_state_trap(config, v, s));
        }
    }
    if s != State::Master {
        return out;
    }
    let rows = rows(config, &ctx.metrics);
    let Some(r) = rows.iter().find(|r| r.v.name == name) else {
        return out;
    };
    if g.rfcv2 && !r.id.ipv6 && r.version == 2 {
        let own = match r.v.unicast_src_ip {
            Some(IpAddr::V4(a)) => a,
            _ => r.facts.primary,
        };
        out.push(snmp::new_master_trap(r.facts.index, r.id.vrid, own));
    }
    if g.rfcv3 {
        let reason = lock(&ctx.state).reasons.get(name).copied().unwrap_or(0);
        out.push(snmp::v3_new_master_trap(
            r.facts.index,
            r.id.vrid,
            r.id.ipv6,
            own_addr(r),
            reason,
        ));
    }
    out
}

/// KEEPALIVED-MIB's vrrpSyncGroupStateChange for group `name` entering `s` (`enable_traps`
/// and `enable_snmp_vrrp`; keepalived's `vrrp_snmp_group_trap`): the group's name and state
/// (their column OIDs without an index) and the router id.
fn group_traps(ctx: &Ctx, name: &str, s: State) -> Vec<Vec<VarBind>> {
    let cfg = lock(&ctx.shared).clone();
    let config = cfg.config();
    let g = &config.global.snmp;
    if !g.traps || !g.vrrp {
        return Vec::new();
    }
    let vr = &snmp::KEEPALIVED_VRRP;
    let oid = |base: &[u32], tail: &[u32]| {
        let mut o = base.to_vec();
        o.extend_from_slice(tail);
        Oid(o)
    };
    vec![vec![
        VarBind {
            name: Oid(snmp::SNMP_TRAP_OID.to_vec()),
            value: Value::ObjectIdentifier(oid(vr, &[10, 0, 1])),
        },
        VarBind {
            name: oid(vr, &[1, 1, 2]),
            value: text(name),
        },
        VarBind {
            name: oid(vr, &[1, 1, 3]),
            value: Value::Integer(ka_state(Some(s))),
        },
        VarBind {
            name: oid(&snmp::KEEPALIVED_GLOBAL, &[2, 0]),
            value: text(&router_id(config)),
        },
    ]]
}

/// The router id keepalived reports: `router_id`, else the host name.
fn router_id(config: &conf_parse::model::Config) -> String {
    config.global.router_id.clone().unwrap_or_else(|| {
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default()
    })
}

/// KEEPALIVED-MIB's vrrpInstanceStateChange (keepalived's `vrrp_snmp_instance_trap`): the
/// instance's name, state and initial state (their column OIDs without an index) and the
/// router id.
fn instance_state_trap(
    config: &conf_parse::model::Config,
    v: &conf_parse::model::VrrpInstance,
    s: State,
) -> Vec<VarBind> {
    let vr = &snmp::KEEPALIVED_VRRP;
    let oid = |base: &[u32], tail: &[u32]| {
        let mut o = base.to_vec();
        o.extend_from_slice(tail);
        Oid(o)
    };
    vec![
        VarBind {
            name: Oid(snmp::SNMP_TRAP_OID.to_vec()),
            value: Value::ObjectIdentifier(oid(vr, &[10, 0, 2])),
        },
        VarBind {
            name: oid(vr, &[3, 1, 2]),
            value: text(&v.name),
        },
        VarBind {
            name: oid(vr, &[3, 1, 4]),
            value: Value::Integer(ka_state(Some(s))),
        },
        VarBind {
            name: oid(vr, &[3, 1, 5]),
            value: Value::Integer(match v.state {
                conf_parse::model::VrrpState::Master => 2,
                conf_parse::model::VrrpState::Backup => 1,
            }),
        },
        VarBind {
            name: oid(&snmp::KEEPALIVED_GLOBAL, &[2, 0]),
            value: text(&router_id(config)),
        },
    ]
}

/// Protocol errors (TTL 1, version 2, checksum 3) counted since the last call: records each
/// instance's last one and returns a vrrpv3ProtoError per rejected advert (with
/// `enable_traps` and `enable_snmp_rfcv3`); and a vrrpTrapAuthFailure per advert that failed
/// authentication (with `enable_traps` and `enable_snmp_rfcv2`).
fn proto_errors(ctx: &Ctx) -> Vec<Vec<VarBind>> {
    let cfg = lock(&ctx.shared).clone();
    let config = cfg.config();
    let g = &config.global.snmp;
    if !g.rfcv3 && !g.rfcv2 {
        return Vec::new();
    }
    let st = ctx.metrics.statuses();
    let mut out = Vec::new();
    let mut state = lock(&ctx.state);
    let mut facts: BTreeMap<String, Option<IfFacts>> = BTreeMap::new();
    for id in vrrp_runtime::plan::desired(config).identities() {
        let Some(v) = config.vrrp_instances.iter().find(|v| v.name == id.name) else {
            continue;
        };
        if v.virtual_ipaddress.is_empty() {
            continue;
        }
        let rej = |k: &str| {
            st.get(&v.name)
                .and_then(|s| s.rx.rejected.get(k).copied())
                .unwrap_or(0)
        };
        // vrrpTrapAuthFailure (keepalived's `vrrp_rfcv2_snmp_auth_err_trap`): IPv4 VRRPv2
        // instances, one per advert failing authentication, with its source and the error
        // (invalidAuthType 1, authTypeMismatch 2, authFailure 3).
        let version = v.version.unwrap_or(config.global.vrrp_version);
        if g.rfcv2 && !id.ipv6 && version == 2 {
            let now = [
                rej("invalid_authtype"),
                rej("authtype_mismatch"),
                rej("auth_failure"),
            ];
            let last = state.auth.insert(v.name.clone(), now).unwrap_or([0; 3]);
            let src = match st.get(&v.name).and_then(|s| s.last_rejected_from) {
                Some(IpAddr::V4(a)) => a.octets(),
                _ => [0; 4],
            };
            for (k, (n, l)) in now.iter().zip(last).enumerate() {
                if !g.traps || *n <= l {
                    continue;
                }
                let f = facts
                    .entry(id.ifname.clone())
                    .or_insert_with(|| snmp::interface_facts(&id.ifname, &[]));
                if let Some(f) = f {
                    for _ in 0..(n - l).min(100) {
                        out.push(snmp::auth_failure_trap(f.index, id.vrid, src, k as i32 + 1));
                    }
                }
            }
        }
        if !g.rfcv3 {
            continue;
        }
        let now = [rej("ip_ttl_err"), rej("version_err"), rej("chk_err")];
        let e = state.proto.entry(v.name.clone()).or_insert(([0; 3], 0));
        for (k, (n, last)) in now.iter().zip(e.0).enumerate() {
            if *n <= last {
                continue;
            }
            let reason = k as i32 + 1;
            e.1 = reason;
            if !g.traps {
                continue;
            }
            let f = facts
                .entry(id.ifname.clone())
                .or_insert_with(|| snmp::interface_facts(&id.ifname, &[]));
            if let Some(f) = f {
                for _ in 0..(n - last).min(100) {
                    out.push(snmp::v3_proto_error_trap(f.index, id.vrid, id.ipv6, reason));
                }
            }
        }
        e.0 = now;
    }
    out
}
