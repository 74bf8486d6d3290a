//! The SNMP sub-agent of the VRRP worker (`global_defs { enable_snmp_rfcv2 }`): an AgentX
//! (RFC 2741, codec in `crates/agentx`) session with the master agent at `snmp_socket`
//! (`unix:PATH`, a plain path, or `tcp:HOST:PORT`; default `unix:/var/agentx/master`), serving
//! VRRP-MIB (RFC 2787, `1.3.6.1.2.1.68`) for the IPv4 VRRPv2 instances that have VIPs, with the
//! values keepalived 2.2.7 gives:
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
//! With `enable_traps`, an instance becoming master sends vrrpTrapNewMaster (its
//! vrrpOperMasterIpAddr: its own address) as an AgentX Notify, which the master agent forwards
//! to its trap sinks.
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

/// The answer to a `Get` of `r` (exact match).
fn get(mib: &BTreeMap<Oid, Value>, r: &SearchRange) -> VarBind {
    VarBind {
        name: r.start.clone(),
        value: mib
            .get(&r.start)
            .cloned()
            .unwrap_or(if r.start.0.starts_with(&VRRP_MIB) {
                Value::NoSuchInstance
            } else {
                Value::NoSuchObject
            }),
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

/// The varbinds of the notification to send when instance `.0` becomes master (`None`: none),
/// snmpTrapOID.0 first.
pub type TrapProvider = Arc<dyn Fn(&str) -> Option<Vec<VarBind>> + Send + Sync>;

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

/// The running sub-agent.
#[derive(Debug)]
pub struct Agent {
    stop: mpsc::UnboundedSender<()>,
    masters: mpsc::UnboundedSender<String>,
}

impl Agent {
    /// Starts the session task (current tokio runtime).
    pub fn start(socket: Option<String>, provider: Provider, traps: TrapProvider) -> Agent {
        let (tx, rx) = mpsc::unbounded_channel();
        let (mtx, mrx) = mpsc::unbounded_channel();
        let socket = socket.unwrap_or_else(|| DEFAULT_SOCKET.to_string());
        tokio::spawn(run(socket, provider, traps, rx, mrx));
        Agent {
            stop: tx,
            masters: mtx,
        }
    }

    /// A callback for the runtime's transitions (never blocks): becoming master sends the
    /// notifications (`enable_traps`).
    pub fn transition_sender(&self) -> impl Fn(&str, vrrp_runtime::State) + Send + Sync + 'static {
        let tx = self.masters.clone();
        move |name: &str, s: vrrp_runtime::State| {
            if s == vrrp_runtime::State::Master {
                let _ = tx.send(name.to_string());
            }
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

async fn run(
    socket: String,
    provider: Provider,
    traps: TrapProvider,
    mut stop: mpsc::UnboundedReceiver<()>,
    mut masters: mpsc::UnboundedReceiver<String>,
) {
    let mut logged = false;
    loop {
        tokio::select! {
            _ = stop.recv() => return,
            r = session(&socket, &provider, &traps, &mut masters) => {
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
    provider: &Provider,
    traps: &TrapProvider,
    masters: &mut mpsc::UnboundedReceiver<String>,
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
    let reg = Pdu::new(
        sid,
        0,
        2,
        Body::Register {
            unregister: false,
            timeout: 0,
            priority: 127,
            range_subid: 0,
            subtree: Oid(VRRP_MIB.to_vec()),
            upper_bound: None,
        },
    );
    let (_, err) = request(&mut s, &mut buf, reg).await?;
    if err != 0 {
        return Err(std::io::Error::other(format!(
            "Register of VRRP-MIB refused ({err})"
        )));
    }
    info!("SNMP: AgentX session {sid} with {socket}, VRRP-MIB registered");
    // Transitions from before the session: not notified (keepalived has no session then).
    while masters.try_recv().is_ok() {}
    let mut packet_id = 2u32;
    loop {
        let p = tokio::select! {
            p = read_pdu(&mut s, &mut buf) => p?,
            m = masters.recv() => {
                let Some(name) = m else { return Ok(()) };
                if let Some(vbs) = traps(&name) {
                    packet_id = packet_id.wrapping_add(1);
                    let n = Pdu::new(sid, 0, packet_id, Body::Notify(vbs));
                    s.write_all(&n.emit()).await?;
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
            b => answer(&provider(), b).unwrap_or_default(),
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

/// The interface facts VRRP-MIB reports: index, MAC, primary IPv4 address (the first IPv4
/// address that is no instance's VIP), read from the kernel.
pub fn interface_facts(ifname: &str, vips: &[IpAddr]) -> Option<(u32, Vec<u8>, Ipv4Addr)> {
    let mut rt = netplat::Rtnl::new().ok()?;
    let link = rt.link_by_name(ifname).ok()??;
    let primary = rt
        .addresses(Some(link.index))
        .ok()?
        .into_iter()
        .filter_map(|a| match a.addr {
            IpAddr::V4(v) if !vips.contains(&a.addr) => Some(v),
            _ => None,
        })
        .next()
        .unwrap_or(Ipv4Addr::UNSPECIFIED);
    Some((link.index, link.mac, primary))
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
        let traps: TrapProvider = Arc::new(|_| None);
        let agent = Agent::start(Some(format!("unix:{}", path.display())), provider, traps);

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
