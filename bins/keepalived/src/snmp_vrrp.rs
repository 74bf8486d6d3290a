//! The VRRP worker's side of the SNMP sub-agent (`crate::snmp`): which MIBs it registers
//! (`enable_snmp_rfcv2`: VRRP-MIB, RFC 2787; `enable_snmp_rfcv3`: VRRPv3-MIB, RFC 6527), the
//! rows it builds from the configuration, the runtime's states and counters and the kernel's
//! interfaces, and the notifications it sends with `enable_traps` (vrrpTrapNewMaster,
//! vrrpv3NewMaster with its master reason, vrrpv3ProtoError), as keepalived 2.2.7 does.
//!
//! keepalived records why an instance became master (`next_master_reason`): the address owner
//! (priority 255) and an instance that preempted a lower-priority master report preempted(2),
//! one that heard a priority-0 advert priority(1), else masterNoResponse(3). Ours derives the
//! same from the last advert the instance accepted at the moment it becomes master. Protocol
//! errors (TTL, version, checksum) are taken from the runtime's rejection counters, polled
//! every 100 ms: one vrrpv3ProtoError per rejected advert, as keepalived sends one per packet.

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
}

impl Default for SnmpState {
    fn default() -> Self {
        SnmpState {
            start: Instant::now(),
            reasons: BTreeMap::new(),
            proto: BTreeMap::new(),
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
/// vrrpInstanceTable and vrrpAddressTable (rows numbered from 1 in configuration order).
/// Not served yet: the notify script columns, the tracked interface/script/file tables,
/// routes, rules, vrrp_script and the email address table.
fn keepalived_mib(ctx: &Ctx, config: &conf_parse::model::Config) -> BTreeMap<Oid, Value> {
    let mut m = keepalived_globals(config);
    let mut put = |base: &[u32], tail: &[u32], v: Value| {
        let mut o = base.to_vec();
        o.extend_from_slice(tail);
        m.insert(Oid(o), v);
    };
    keepalived_vrrp(ctx, config, &mut put);
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
        put(vr, &col(11), truth(!v.track_interface.is_empty()));
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
/// `enable_traps` and `enable_snmp_rfcv3`).
fn proto_errors(ctx: &Ctx) -> Vec<Vec<VarBind>> {
    let cfg = lock(&ctx.shared).clone();
    let config = cfg.config();
    let g = &config.global.snmp;
    if !g.rfcv3 {
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
