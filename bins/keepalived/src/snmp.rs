//! The SNMP sub-agent of the VRRP worker: an AgentX (RFC 2741, codec in `crates/agentx`)
//! session with the master agent at `snmp_socket` (`unix:PATH`, a plain path, or
//! `tcp:HOST:PORT`; default `unix:/var/agentx/master`), registering VRRP-MIB (RFC 2787,
//! `1.3.6.1.2.1.68`, `enable_snmp_rfcv2`) and VRRPv3-MIB (RFC 6527, `1.3.6.1.2.1.207`,
//! `enable_snmp_rfcv3`); `crate::snmp_vrrp` builds the rows. VRRP-MIB has the values
//! keepalived 2.2.7 gives for the IPv4 VRRPv2 instances that have VIPs:
//! * `vrrpNodeVersion` 2, `vrrpNotificationCntl` enabled(1) with `enable_traps`, else 2;
//! * `vrrpOperTable` indexed by (ifIndex, VRID): the interface's MAC (keepalived reports the
//!   interface's address, not the virtual MAC), state (initialize 1, backup 2, master 3),
//!   admin state up, the configured priority, VIP count, the master's address as last heard
//!   (0.0.0.0 when none, or while master), the interface's primary IPv4 address,
//!   authentication type, advert interval in seconds, preempt (TruthValue), up time (TimeTicks),
//!   protocol ip(1), row status active(1);
//! * `vrrpAssoIpAddrTable`: each VIP, active(1);
//! * the statistics: checksum, version and VRID errors summed, and per instance the counters of
//!   `vrrpRouterStatsTable` from the worker's receive counters.
//!
//! VRRPv3-MIB lists every instance with VIPs (IPv4 and IPv6, VRRPv2 ones too, as Debian's
//! build does), indexed by (ifIndex, VRID, InetAddressType), with the 2.2.7 values described
//! at [`Rfc6527Instance`].
//!
//! With `enable_traps`, an instance becoming master sends vrrpTrapNewMaster (its
//! vrrpOperMasterIpAddr: its own address) and vrrpv3NewMaster (its own address and master
//! reason), and a rejected advert vrrpv3ProtoError, as AgentX Notifys, which the master agent
//! forwards to its trap sinks.
//!
//! The session never blocks the VRRP instances: it runs on the worker's tokio runtime, reads a
//! snapshot of the states and counters per request, and connects again every 5 seconds when
//! the master agent is not there or goes away.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use agentx::{Body, Oid, Pdu, SearchRange, Value, VarBind};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::{error, info};

/// keepalived's default master agent socket.
pub const DEFAULT_SOCKET: &str = "unix:/var/agentx/master";
/// VRRP-MIB.
pub const VRRP_MIB: [u32; 7] = [1, 3, 6, 1, 2, 1, 68];

/// VRRPv3-MIB (RFC 6527).
pub const VRRPV3_MIB: [u32; 7] = [1, 3, 6, 1, 2, 1, 207];
/// KEEPALIVED-MIB's global objects (keepalived's base MIB).
pub const KEEPALIVED_GLOBAL: [u32; 10] = [1, 3, 6, 1, 4, 1, 9586, 100, 5, 1];
/// KEEPALIVED-MIB's VRRP objects.
pub const KEEPALIVED_VRRP: [u32; 10] = [1, 3, 6, 1, 4, 1, 9586, 100, 5, 2];

/// The values the MIB is built from, per request.
pub type Provider = Arc<dyn Fn() -> BTreeMap<Oid, Value> + Send + Sync>;

/// What one instance contributes to VRRP-MIB.
#[derive(Debug, Clone, Default)]
pub struct Rfc2787Instance {
    /// Interface index.
    pub ifindex: u32,
    /// VRID.
    pub vrid: u8,
    /// Interface MAC.
    pub mac: Vec<u8>,
    /// RFC 2787 state (1 initialize, 2 backup, 3 master).
    pub state: i32,
    /// Configured priority.
    pub priority: u8,
    /// VIPs (IPv4), in configuration order.
    pub vips: Vec<Ipv4Addr>,
    /// Interface's primary IPv4 address.
    pub primary: [u8; 4],
    /// The master's address as this instance last heard it (0.0.0.0: none).
    pub master: [u8; 4],
    /// Auth type (1 none, 2 simple text password, 3 IP AH).
    pub auth_type: i32,
    /// Advert interval, seconds.
    pub advert_int: i32,
    /// Preempt.
    pub preempt: bool,
    /// Up time (centiseconds).
    pub uptime: u32,
    /// Per-instance counters: become master, adverts received, interval errors, auth failures,
    /// TTL errors, priority 0 received, priority 0 sent, invalid type, address list errors,
    /// invalid auth type, auth type mismatch, packet length errors.
    pub stats: [u32; 12],
    /// Checksum, version and VRID errors.
    pub errors: [u32; 3],
}

/// VRRP-MIB's variables for `insts` (`traps`: `enable_traps`).
pub fn rfc2787(insts: &[Rfc2787Instance], traps: bool) -> BTreeMap<Oid, Value> {
    let mut m = BTreeMap::new();
    let o = |tail: &[u32]| {
        let mut v = VRRP_MIB.to_vec();
        v.extend_from_slice(tail);
        Oid(v)
    };
    m.insert(o(&[1, 1, 0]), Value::Integer(2));
    m.insert(o(&[1, 2, 0]), Value::Integer(if traps { 1 } else { 2 }));
    let mut errors = [0u32; 3];
    for i in insts {
        let ix = [i.ifindex, u32::from(i.vrid)];
        let col = |c: u32| {
            let mut t = vec![1, 3, 1, c];
            t.extend_from_slice(&ix);
            o(&t)
        };
        m.insert(col(2), Value::OctetString(i.mac.clone()));
        m.insert(col(3), Value::Integer(i.state));
        m.insert(col(4), Value::Integer(1));
        m.insert(col(5), Value::Integer(i32::from(i.priority)));
        m.insert(col(6), Value::Integer(i.vips.len() as i32));
        m.insert(col(7), Value::IpAddress(i.master));
        m.insert(col(8), Value::IpAddress(i.primary));
        m.insert(col(9), Value::Integer(i.auth_type));
        m.insert(col(11), Value::Integer(i.advert_int));
        m.insert(col(12), Value::Integer(if i.preempt { 1 } else { 2 }));
        m.insert(col(13), Value::TimeTicks(i.uptime));
        m.insert(col(14), Value::Integer(1));
        m.insert(col(15), Value::Integer(1));
        for a in &i.vips {
            let mut t = vec![1, 4, 1, 2];
            t.extend_from_slice(&ix);
            t.extend(a.octets().iter().map(|b| u32::from(*b)));
            m.insert(o(&t), Value::Integer(1));
        }
        for (k, v) in i.stats.iter().enumerate() {
            let mut t = vec![2, 4, 1, k as u32 + 1];
            t.extend_from_slice(&ix);
            m.insert(o(&t), Value::Counter32(*v));
        }
        for (e, add) in errors.iter_mut().zip(i.errors) {
            *e = e.wrapping_add(add);
        }
    }
    for (k, v) in errors.iter().enumerate() {
        m.insert(o(&[2, k as u32 + 1, 0]), Value::Counter32(*v));
    }
    m
}

/// What one instance contributes to VRRPv3-MIB (RFC 6527).
#[derive(Debug, Clone, Default)]
pub struct Rfc6527Instance {
    /// Interface index.
    pub ifindex: u32,
    /// VRID.
    pub vrid: u8,
    /// IPv6 instance (InetAddressType ipv6(2), else ipv4(1)).
    pub ipv6: bool,
    /// vrrpv3OperMasterIpAddr: the master's address as last heard (zeros: none), or the
    /// primary address while master.
    pub master: Vec<u8>,
    /// vrrpv3OperPrimaryIpAddr: the interface's primary IPv4 address or IPv6 link-local one.
    pub primary: Vec<u8>,
    /// Interface MAC.
    pub mac: Vec<u8>,
    /// State (1 initialize, 2 backup, 3 master).
    pub state: i32,
    /// Configured priority.
    pub priority: u8,
    /// VIPs (of the instance's family).
    pub vips: Vec<IpAddr>,
    /// Advert interval, centiseconds.
    pub advert_cs: i32,
    /// Preempt.
    pub preempt: bool,
    /// Accept mode.
    pub accept: bool,
    /// Up time (centiseconds; 0 outside backup and master).
    pub uptime: u32,
    /// Times it became master.
    pub become_master: u32,
    /// vrrpv3StatisticsMasterTransitions' reason (0 not master, 1 priority, 2 preempted,
    /// 3 master no response).
    pub master_reason: i32,
    /// Last protocol error (0 none, 1 TTL, 2 version, 3 checksum).
    pub proto_err_reason: i32,
    /// Adverts received, interval errors, TTL errors, priority 0 received, priority 0 sent,
    /// invalid type, address list errors, packet length errors.
    pub stats: [u64; 8],
    /// Checksum, version and VRID errors.
    pub errors: [u64; 3],
}

/// VRRPv3-MIB's variables for `insts` (keepalived 2.2.7 as Debian builds it lists every
/// instance with VIPs there, VRRPv2 ones too).
pub fn rfc6527(insts: &[Rfc6527Instance]) -> BTreeMap<Oid, Value> {
    let mut m = BTreeMap::new();
    let o = |tail: &[u32]| {
        let mut v = VRRPV3_MIB.to_vec();
        v.extend_from_slice(tail);
        Oid(v)
    };
    let mut errors = [0u64; 3];
    for i in insts {
        let ix = [i.ifindex, u32::from(i.vrid), if i.ipv6 { 2 } else { 1 }];
        let col = |table: &[u32], c: u32| {
            let mut t = table.to_vec();
            t.push(c);
            t.extend_from_slice(&ix);
            o(&t)
        };
        let oper = [1, 1, 1, 1];
        m.insert(col(&oper, 3), Value::OctetString(i.master.clone()));
        m.insert(col(&oper, 4), Value::OctetString(i.primary.clone()));
        m.insert(col(&oper, 5), Value::OctetString(i.mac.clone()));
        m.insert(col(&oper, 6), Value::Integer(i.state));
        m.insert(col(&oper, 7), Value::Gauge32(u32::from(i.priority)));
        m.insert(col(&oper, 8), Value::Integer(i.vips.len() as i32));
        m.insert(col(&oper, 9), Value::Integer(i.advert_cs));
        m.insert(
            col(&oper, 10),
            Value::Integer(if i.preempt { 1 } else { 2 }),
        );
        m.insert(col(&oper, 11), Value::Integer(if i.accept { 1 } else { 2 }));
        m.insert(col(&oper, 12), Value::TimeTicks(i.uptime));
        m.insert(col(&oper, 13), Value::Integer(1));
        for a in &i.vips {
            let mut t = vec![1, 1, 2, 1, 2];
            t.extend_from_slice(&ix);
            match a {
                IpAddr::V4(v) => t.extend(v.octets().iter().map(|b| u32::from(*b))),
                IpAddr::V6(v) => t.extend(v.octets().iter().map(|b| u32::from(*b))),
            }
            m.insert(o(&t), Value::Integer(1));
        }
        let st = [1, 2, 5, 1];
        m.insert(col(&st, 1), Value::Counter32(i.become_master));
        m.insert(col(&st, 2), Value::Integer(i.master_reason));
        let [rcvd, int_err, ttl, pri0r, pri0s, inv_type, addr_list, len] = i.stats;
        m.insert(col(&st, 3), Value::Counter64(rcvd));
        m.insert(col(&st, 4), Value::Counter64(int_err));
        m.insert(col(&st, 5), Value::Counter64(ttl));
        m.insert(col(&st, 6), Value::Integer(i.proto_err_reason));
        m.insert(col(&st, 7), Value::Counter64(pri0r));
        m.insert(col(&st, 8), Value::Counter64(pri0s));
        m.insert(col(&st, 9), Value::Counter64(inv_type));
        m.insert(col(&st, 10), Value::Counter64(addr_list));
        m.insert(col(&st, 11), Value::Counter64(len));
        m.insert(col(&st, 12), Value::TimeTicks(0));
        m.insert(
            col(&st, 13),
            Value::Gauge32((i.advert_cs as u32).wrapping_mul(10)),
        );
        for (e, add) in errors.iter_mut().zip(i.errors) {
            *e = e.wrapping_add(add);
        }
    }
    for (k, v) in errors.iter().enumerate() {
        m.insert(o(&[1, 2, k as u32 + 1, 0]), Value::Counter64(*v));
    }
    m.insert(o(&[1, 2, 4, 0]), Value::TimeTicks(0));
    m
}

/// vrrpv3NewMaster for the instance at (`ifindex`, `vrid`, family) whose own address is
/// `addr`, with its master reason (keepalived's `vrrp_rfcv3_snmp_new_master_notify`).
pub fn v3_new_master_trap(
    ifindex: u32,
    vrid: u8,
    ipv6: bool,
    addr: Vec<u8>,
    reason: i32,
) -> Vec<VarBind> {
    let ix = [ifindex, u32::from(vrid), if ipv6 { 2 } else { 1 }];
    let oid = |tail: &[u32]| {
        let mut v = VRRPV3_MIB.to_vec();
        v.extend_from_slice(tail);
        v.extend_from_slice(&ix);
        Oid(v)
    };
    let mut trap = VRRPV3_MIB.to_vec();
    trap.extend_from_slice(&[0, 1]);
    vec![
        VarBind {
            name: Oid(SNMP_TRAP_OID.to_vec()),
            value: Value::ObjectIdentifier(Oid(trap)),
        },
        VarBind {
            name: oid(&[1, 1, 1, 1, 3]),
            value: Value::OctetString(addr),
        },
        VarBind {
            name: oid(&[1, 2, 5, 1, 2]),
            value: Value::Integer(reason),
        },
    ]
}

/// vrrpv3ProtoError for the instance at (`ifindex`, `vrid`, family) with its error type
/// (keepalived's `vrrp_rfcv3_snmp_proto_err_notify`).
pub fn v3_proto_error_trap(ifindex: u32, vrid: u8, ipv6: bool, reason: i32) -> Vec<VarBind> {
    let mut trap = VRRPV3_MIB.to_vec();
    trap.extend_from_slice(&[0, 2]);
    let mut name = VRRPV3_MIB.to_vec();
    name.extend_from_slice(&[
        1,
        2,
        5,
        1,
        6,
        ifindex,
        u32::from(vrid),
        if ipv6 { 2 } else { 1 },
    ]);
    vec![
        VarBind {
            name: Oid(SNMP_TRAP_OID.to_vec()),
            value: Value::ObjectIdentifier(Oid(trap)),
        },
        VarBind {
            name: Oid(name),
            value: Value::Integer(reason),
        },
    ]
}

/// The MIB subtrees the sub-agent may register.
const SUBTREES: [&[u32]; 5] = [
    &VRRP_MIB,
    &VRRPV3_MIB,
    &KEEPALIVED_GLOBAL,
    &KEEPALIVED_VRRP,
    &crate::snmp_checker::KEEPALIVED_CHECK,
];

/// The answer to a `Get` of `r` (exact match).
fn get(mib: &BTreeMap<Oid, Value>, r: &SearchRange) -> VarBind {
    VarBind {
        name: r.start.clone(),
        value: mib.get(&r.start).cloned().unwrap_or(
            if SUBTREES.iter().any(|t| r.start.0.starts_with(t)) {
                Value::NoSuchInstance
            } else {
                Value::NoSuchObject
            },
        ),
    }
}

/// The answer to a `GetNext` of `r`: the first variable after `start` (or at it with
/// `include`) and before `end`.
fn get_next(mib: &BTreeMap<Oid, Value>, r: &SearchRange) -> VarBind {
    use std::ops::Bound;
    let lower = if r.include {
        Bound::Included(&r.start)
    } else {
        Bound::Excluded(&r.start)
    };
    let hit = mib
        .range::<Oid, _>((lower, Bound::Unbounded))
        .next()
        .filter(|(k, _)| r.end.0.is_empty() || **k < r.end);
    match hit {
        Some((k, v)) => VarBind {
            name: k.clone(),
            value: v.clone(),
        },
        None => VarBind {
            name: r.start.clone(),
            value: Value::EndOfMibView,
        },
    }
}

/// The varbinds answering a request PDU (`None`: not a request).
pub fn answer(mib: &BTreeMap<Oid, Value>, body: &Body) -> Option<Vec<VarBind>> {
    Some(match body {
        Body::Get(rs) => rs.iter().map(|r| get(mib, r)).collect(),
        Body::GetNext(rs) => rs.iter().map(|r| get_next(mib, r)).collect(),
        Body::GetBulk {
            non_repeaters,
            max_repetitions,
            ranges,
        } => {
            let n = (*non_repeaters as usize).min(ranges.len());
            let mut out: Vec<VarBind> = ranges[..n].iter().map(|r| get_next(mib, r)).collect();
            let mut cur: Vec<SearchRange> = ranges[n..].to_vec();
            for _ in 0..(*max_repetitions).min(1000) {
                if cur.is_empty() {
                    break;
                }
                let mut all_end = true;
                for r in cur.iter_mut() {
                    let vb = get_next(mib, r);
                    if vb.value != Value::EndOfMibView {
                        all_end = false;
                        r.start = vb.name.clone();
                        r.include = false;
                    }
                    out.push(vb);
                }
                if all_end {
                    break;
                }
            }
            out
        }
        _ => return None,
    })
}

/// A transition: a sync group's (`group`) or an instance's.
#[derive(Debug, Clone)]
pub struct Transition {
    /// Instance or group name.
    pub name: String,
    /// The state entered.
    pub state: vrrp_runtime::State,
    /// A `vrrp_sync_group`'s notification.
    pub group: bool,
}

/// The notifications to send for a transition (each: its varbinds, snmpTrapOID.0 first), in
/// keepalived's order.
pub type TrapProvider = Arc<dyn Fn(&Transition) -> Vec<Vec<VarBind>> + Send + Sync>;

/// Notifications found by polling (protocol errors counted since the last call), called every
/// 100 ms while a session is open.
pub type Poller = Arc<dyn Fn() -> Vec<Vec<VarBind>> + Send + Sync>;

/// snmpTrapOID.0.
pub const SNMP_TRAP_OID: [u32; 11] = [1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0];

/// vrrpTrapNewMaster for the instance at (`ifindex`, `vrid`) whose own address is `addr`
/// (keepalived's `vrrp_rfcv2_snmp_new_master_trap`).
pub fn new_master_trap(ifindex: u32, vrid: u8, addr: Ipv4Addr) -> Vec<VarBind> {
    let mut trap = VRRP_MIB.to_vec();
    trap.extend_from_slice(&[0, 1]);
    let mut master = VRRP_MIB.to_vec();
    master.extend_from_slice(&[1, 3, 1, 7, ifindex, u32::from(vrid)]);
    vec![
        VarBind {
            name: Oid(SNMP_TRAP_OID.to_vec()),
            value: Value::ObjectIdentifier(Oid(trap)),
        },
        VarBind {
            name: Oid(master),
            value: Value::IpAddress(addr.octets()),
        },
    ]
}

/// vrrpTrapAuthFailure for the instance at (`ifindex`, `vrid`): the advert's source
/// (vrrpTrapPacketSrc) and the error (vrrpTrapAuthErrorType: invalidAuthType 1,
/// authTypeMismatch 2, authFailure 3), as keepalived's `vrrp_rfcv2_snmp_auth_err_trap`.
pub fn auth_failure_trap(ifindex: u32, vrid: u8, src: [u8; 4], error: i32) -> Vec<VarBind> {
    let o = |tail: &[u32]| {
        let mut v = VRRP_MIB.to_vec();
        v.extend_from_slice(tail);
        Oid(v)
    };
    let vrid = u32::from(vrid);
    vec![
        VarBind {
            name: Oid(SNMP_TRAP_OID.to_vec()),
            value: Value::ObjectIdentifier(o(&[0, 2])),
        },
        VarBind {
            name: o(&[1, 5, ifindex, vrid]),
            value: Value::IpAddress(src),
        },
        VarBind {
            name: o(&[1, 6, ifindex, vrid]),
            value: Value::Integer(error),
        },
    ]
}

/// The running sub-agent.
#[derive(Debug)]
pub struct Agent {
    stop: mpsc::UnboundedSender<()>,
    masters: mpsc::UnboundedSender<Transition>,
}

impl Agent {
    /// Starts the session task (current tokio runtime).
    pub fn start(
        socket: Option<String>,
        subtrees: Vec<Oid>,
        provider: Provider,
        traps: TrapProvider,
        poll: Poller,
    ) -> Agent {
        let (tx, rx) = mpsc::unbounded_channel();
        let (mtx, mrx) = mpsc::unbounded_channel();
        let socket = socket.unwrap_or_else(|| DEFAULT_SOCKET.to_string());
        let h = Handlers {
            subtrees,
            provider,
            traps,
            poll,
        };
        tokio::spawn(run(socket, h, rx, mrx));
        Agent {
            stop: tx,
            masters: mtx,
        }
    }

    /// A callback for the runtime's transitions (never blocks): each transition to backup,
    /// master or fault is passed to the trap provider (`enable_traps`).
    pub fn transition_sender(&self) -> impl Fn(&str, vrrp_runtime::State) + Send + Sync + 'static {
        let tx = self.masters.clone();
        move |name: &str, s: vrrp_runtime::State| {
            if s != vrrp_runtime::State::Initialize {
                let _ = tx.send(Transition {
                    name: name.to_string(),
                    state: s,
                    group: false,
                });
            }
        }
    }

    /// The same for the sync groups' notifications.
    pub fn group_sender(&self) -> impl Fn(&str, vrrp_runtime::State) + Send + Sync + 'static {
        let tx = self.masters.clone();
        move |name: &str, s: vrrp_runtime::State| {
            let _ = tx.send(Transition {
                name: name.to_string(),
                state: s,
                group: true,
            });
        }
    }

    /// Ends the session.
    pub fn stop(self) {
        let _ = self.stop.send(());
    }
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

async fn connect(socket: &str) -> std::io::Result<Box<dyn Stream>> {
    if let Some(hp) = socket.strip_prefix("tcp:") {
        Ok(Box::new(tokio::net::TcpStream::connect(hp).await?))
    } else {
        let path = socket.strip_prefix("unix:").unwrap_or(socket);
        Ok(Box::new(tokio::net::UnixStream::connect(path).await?))
    }
}

/// What a session serves.
struct Handlers {
    subtrees: Vec<Oid>,
    provider: Provider,
    traps: TrapProvider,
    poll: Poller,
}

async fn run(
    socket: String,
    h: Handlers,
    mut stop: mpsc::UnboundedReceiver<()>,
    mut masters: mpsc::UnboundedReceiver<Transition>,
) {
    let mut logged = false;
    let mut first = true;
    loop {
        let keep = std::mem::replace(&mut first, false);
        tokio::select! {
            _ = stop.recv() => return,
            r = session(&socket, &h, &mut masters, keep) => {
                match r {
                    Ok(()) => info!("SNMP: the master agent at {socket} closed the session"),
                    Err(e) if !logged => {
                        error!("SNMP: AgentX session with {socket}: {e} (retrying every 5 s)");
                        logged = true;
                    }
                    Err(_) => {}
                }
            }
        }
        // Without a session, notifications are lost (as net-snmp's are).
        let sleep = tokio::time::sleep(Duration::from_secs(5));
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = stop.recv() => return,
                _ = &mut sleep => break,
                m = masters.recv() => if m.is_none() { return },
            }
        }
    }
}

async fn read_pdu(s: &mut Box<dyn Stream>, buf: &mut Vec<u8>) -> std::io::Result<Option<Pdu>> {
    loop {
        match Pdu::parse(buf) {
            Ok((p, n)) => {
                buf.drain(..n);
                return Ok(Some(p));
            }
            Err(agentx::Error::Truncated { .. }) => {}
            Err(e) => return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn request(
    s: &mut Box<dyn Stream>,
    buf: &mut Vec<u8>,
    pdu: Pdu,
) -> std::io::Result<(u32, u16)> {
    s.write_all(&pdu.emit()).await?;
    loop {
        let Some(p) = read_pdu(s, buf).await? else {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        };
        if let Body::Response { error, .. } = p.body {
            if p.header.packet_id == pdu.header.packet_id {
                return Ok((p.header.session_id, error));
            }
        }
    }
}

async fn session(
    socket: &str,
    h: &Handlers,
    masters: &mut mpsc::UnboundedReceiver<Transition>,
    keep: bool,
) -> std::io::Result<()> {
    let mut s = connect(socket).await?;
    let mut buf = Vec::new();
    let open = Pdu::new(
        0,
        0,
        1,
        Body::Open {
            timeout: 0,
            id: Oid(vec![1, 3, 6, 1, 4, 1, 9586, 100, 5]),
            descr: b"keepalived-rs VRRP sub-agent".to_vec(),
        },
    );
    let (sid, err) = request(&mut s, &mut buf, open).await?;
    if err != 0 {
        return Err(std::io::Error::other(format!("Open refused ({err})")));
    }
    let mut packet_id = 1u32;
    for t in &h.subtrees {
        packet_id += 1;
        let reg = Pdu::new(
            sid,
            0,
            packet_id,
            Body::Register {
                unregister: false,
                timeout: 0,
                priority: 127,
                range_subid: 0,
                subtree: t.clone(),
                upper_bound: None,
            },
        );
        let (_, err) = request(&mut s, &mut buf, reg).await?;
        if err != 0 {
            return Err(std::io::Error::other(format!(
                "Register of {t} refused ({err})"
            )));
        }
    }
    let names: Vec<String> = h.subtrees.iter().map(|t| t.to_string()).collect();
    info!(
        "SNMP: AgentX session {sid} with {socket}, registered {}",
        names.join(", ")
    );
    // keepalived opens its session before the instances start, so their first transitions
    // are notified: those queued while the agent's first session opened are sent now.
    // Transitions and errors from a time without a session (the master agent gone) are not
    // (keepalived has no session then).
    if !keep {
        while masters.try_recv().is_ok() {}
        let _ = (h.poll)();
    }
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        let notify = |vbs: Vec<VarBind>, packet_id: &mut u32| {
            *packet_id = packet_id.wrapping_add(1);
            Pdu::new(sid, 0, *packet_id, Body::Notify(vbs)).emit()
        };
        let p = tokio::select! {
            p = read_pdu(&mut s, &mut buf) => p?,
            m = masters.recv() => {
                let Some(t) = m else { return Ok(()) };
                for vbs in (h.traps)(&t) {
                    s.write_all(&notify(vbs, &mut packet_id)).await?;
                }
                continue;
            }
            _ = tick.tick() => {
                for vbs in (h.poll)() {
                    s.write_all(&notify(vbs, &mut packet_id)).await?;
                }
                continue;
            }
        };
        let Some(p) = p else {
            return Ok(());
        };
        let varbinds = match &p.body {
            Body::Close { .. } => return Ok(()),
            Body::Response { .. } => continue,
            b => answer(&(h.provider)(), b).unwrap_or_default(),
        };
        let error = if matches!(
            p.body,
            Body::Get(_) | Body::GetNext(_) | Body::GetBulk { .. } | Body::Ping
        ) {
            agentx::res_error::NO_ERROR
        } else {
            agentx::res_error::NOT_WRITABLE
        };
        let mut r = Pdu::new(
            p.header.session_id,
            p.header.transaction_id,
            p.header.packet_id,
            Body::Response {
                sys_uptime: 0,
                error,
                index: 0,
                varbinds,
            },
        );
        r.header.flags = p.header.flags & agentx::flags::NETWORK_BYTE_ORDER;
        s.write_all(&r.emit()).await?;
    }
}

/// The interface facts the VRRP MIBs report.
#[derive(Debug, Clone)]
pub struct IfFacts {
    /// Interface index.
    pub index: u32,
    /// MAC address.
    pub mac: Vec<u8>,
    /// Primary IPv4 address: the first that is no instance's VIP (0.0.0.0: none).
    pub primary: Ipv4Addr,
    /// The first IPv6 link-local address (keepalived's `ifp->sin6_addr`; `::`: none).
    pub link_local: std::net::Ipv6Addr,
    /// Every address on the interface.
    pub addrs: Vec<IpAddr>,
}

/// The facts of interface `ifname`, read from the kernel (`vips`: every instance's VIPs).
pub fn interface_facts(ifname: &str, vips: &[IpAddr]) -> Option<IfFacts> {
    let mut rt = netplat::Rtnl::new().ok()?;
    let link = rt.link_by_name(ifname).ok()??;
    let addrs = rt.addresses(Some(link.index)).ok()?;
    let primary = addrs
        .iter()
        .filter_map(|a| match a.addr {
            IpAddr::V4(v) if !vips.contains(&a.addr) => Some(v),
            _ => None,
        })
        .next()
        .unwrap_or(Ipv4Addr::UNSPECIFIED);
    let link_local = addrs
        .iter()
        .filter_map(|a| match a.addr {
            IpAddr::V6(v) if v.segments()[0] & 0xffc0 == 0xfe80 => Some(v),
            _ => None,
        })
        .next()
        .unwrap_or(std::net::Ipv6Addr::UNSPECIFIED);
    Some(IfFacts {
        index: link.index,
        mac: link.mac,
        primary,
        link_local,
        addrs: addrs.iter().map(|a| a.addr).collect(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn oid(s: &str) -> Oid {
        s.parse().unwrap()
    }

    async fn read_one(s: &mut tokio::net::UnixStream, buf: &mut Vec<u8>) -> Option<Pdu> {
        loop {
            if let Ok((p, n)) = Pdu::parse(buf) {
                buf.drain(..n);
                return Some(p);
            }
            let mut c = [0u8; 4096];
            let n = tokio::time::timeout(Duration::from_secs(3), s.read(&mut c))
                .await
                .ok()?
                .ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&c[..n]);
        }
    }

    fn reply(to: &Pdu, sid: u32) -> Vec<u8> {
        Pdu::new(
            sid,
            to.header.transaction_id,
            to.header.packet_id,
            Body::Response {
                sys_uptime: 0,
                error: 0,
                index: 0,
                varbinds: vec![],
            },
        )
        .emit()
    }

    // Proves a fake master agent sending malformed PDUs neither panics nor wedges the
    // sub-agent: a PDU with a misaligned length, then one whose OID runs past its payload,
    // each end that session; the sub-agent connects again (5 s retry), opens, registers
    // VRRP-MIB and answers a GetNext correctly.
    #[tokio::test]
    async fn fake_master_malformed_pdus() {
        let dir = std::env::temp_dir().join(format!("krs-agentx-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("master");
        let l = tokio::net::UnixListener::bind(&path).unwrap();
        let provider: Provider = Arc::new(|| rfc2787(&[], false));
        let traps: TrapProvider = Arc::new(|_| Vec::new());
        let agent = Agent::start(
            Some(format!("unix:{}", path.display())),
            vec![Oid(VRRP_MIB.to_vec())],
            provider,
            traps,
            Arc::new(Vec::new),
        );

        // 1: misaligned payload length in answer to the Open.
        let (mut c, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        let open = read_one(&mut c, &mut buf).await.unwrap();
        assert!(matches!(open.body, Body::Open { .. }));
        let mut bad = reply(&open, 9);
        bad[16] = 3;
        c.write_all(&bad).await.unwrap();
        assert!(read_one(&mut c, &mut buf).await.is_none(), "session ended");

        // 2: a Get whose OID claims 100 sub-identifiers in a 12-byte payload.
        let (mut c, _) = tokio::time::timeout(Duration::from_secs(8), l.accept())
            .await
            .unwrap()
            .unwrap();
        let mut buf = Vec::new();
        let open = read_one(&mut c, &mut buf).await.unwrap();
        c.write_all(&reply(&open, 9)).await.unwrap();
        let reg = read_one(&mut c, &mut buf).await.unwrap();
        assert!(matches!(reg.body, Body::Register { .. }));
        c.write_all(&reply(&reg, 9)).await.unwrap();
        let mut get = vec![1, 5, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 12, 0, 0, 0];
        get.extend_from_slice(&[100, 2, 0, 0, 1, 0, 0, 0, 68, 0, 0, 0]);
        c.write_all(&get).await.unwrap();
        assert!(read_one(&mut c, &mut buf).await.is_none(), "session ended");

        // 3: a well-behaved master.
        let (mut c, _) = tokio::time::timeout(Duration::from_secs(8), l.accept())
            .await
            .unwrap()
            .unwrap();
        let mut buf = Vec::new();
        let open = read_one(&mut c, &mut buf).await.unwrap();
        c.write_all(&reply(&open, 9)).await.unwrap();
        let reg = read_one(&mut c, &mut buf).await.unwrap();
        c.write_all(&reply(&reg, 9)).await.unwrap();
        let next = Pdu::new(
            9,
            1,
            8,
            Body::GetNext(vec![SearchRange {
                start: Oid(VRRP_MIB.to_vec()),
                include: false,
                end: Oid::default(),
            }]),
        );
        c.write_all(&next.emit()).await.unwrap();
        let r = read_one(&mut c, &mut buf).await.unwrap();
        assert_eq!(r.header.packet_id, 8);
        match r.body {
            Body::Response { varbinds, .. } => {
                assert_eq!(varbinds[0].name, oid("1.3.6.1.2.1.68.1.1.0"));
                assert_eq!(varbinds[0].value, Value::Integer(2));
            }
            b => panic!("{b:?}"),
        }
        agent.stop();
        let _ = std::fs::remove_dir_all(&dir);
    }

    // Proves the walk order and the GetNext/GetBulk/Get answers on a two-instance MIB: columns
    // before rows (the table's lexical order), EndOfMibView past the end, NoSuchInstance for a
    // missing row, the end bound of a range honoured.
    #[test]
    fn walk_and_lookups() {
        let i = |vrid, vips: Vec<Ipv4Addr>| Rfc2787Instance {
            ifindex: 3,
            vrid,
            state: 3,
            priority: 100,
            vips,
            ..Default::default()
        };
        let mib = rfc2787(
            &[
                i(
                    51,
                    vec![Ipv4Addr::new(10, 0, 0, 101), Ipv4Addr::new(10, 0, 0, 100)],
                ),
                i(52, vec![Ipv4Addr::new(10, 0, 0, 102)]),
            ],
            false,
        );
        let next = |s: &str| {
            get_next(
                &mib,
                &SearchRange {
                    start: oid(s),
                    include: false,
                    end: Oid::default(),
                },
            )
        };
        assert_eq!(next("1.3.6.1.2.1.68").name, oid("1.3.6.1.2.1.68.1.1.0"));
        assert_eq!(
            next("1.3.6.1.2.1.68.1.3.1.2.3.51").name,
            oid("1.3.6.1.2.1.68.1.3.1.2.3.52")
        );
        assert_eq!(
            next("1.3.6.1.2.1.68.1.4.1.2.3.51").name,
            oid("1.3.6.1.2.1.68.1.4.1.2.3.51.10.0.0.100")
        );
        assert_eq!(
            next("1.3.6.1.2.1.68.2.4.1.12.3.52").value,
            Value::EndOfMibView
        );
        let bounded = get_next(
            &mib,
            &SearchRange {
                start: oid("1.3.6.1.2.1.68.1.1.0"),
                include: false,
                end: oid("1.3.6.1.2.1.68.1.2.0"),
            },
        );
        assert_eq!(bounded.value, Value::EndOfMibView);
        let g = get(
            &mib,
            &SearchRange {
                start: oid("1.3.6.1.2.1.68.1.3.1.3.3.53"),
                include: false,
                end: Oid::default(),
            },
        );
        assert_eq!(g.value, Value::NoSuchInstance);
        let bulk = answer(
            &mib,
            &Body::GetBulk {
                non_repeaters: 0,
                max_repetitions: 3,
                ranges: vec![SearchRange {
                    start: oid("1.3.6.1.2.1.68.1.3.1.3"),
                    include: false,
                    end: Oid::default(),
                }],
            },
        )
        .unwrap();
        let names: Vec<String> = bulk.iter().map(|v| v.name.to_string()).collect();
        assert_eq!(
            names,
            [
                "1.3.6.1.2.1.68.1.3.1.3.3.51",
                "1.3.6.1.2.1.68.1.3.1.3.3.52",
                "1.3.6.1.2.1.68.1.3.1.4.3.51"
            ]
        );
    }
}
