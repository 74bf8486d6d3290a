//! Golden bytes: the AgentX traffic of keepalived 2.2.7 with net-snmp's snmpd as master agent
//! (captured with strace; `tests/fixtures/keepalived-2.2.7-agentx.txt`).

#![allow(clippy::unwrap_used, clippy::panic)]

use agentx::{flags, Body, Oid, Pdu, Value};

fn capture() -> Vec<(bool, Vec<u8>)> {
    include_str!("fixtures/keepalived-2.2.7-agentx.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (dir, hex) = l.split_once(' ').unwrap();
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            (dir == "send", bytes)
        })
        .collect()
}

// Proves every PDU of the capture parses whole and is emitted back byte for byte (both
// directions, little-endian as net-snmp writes on x86, empty default contexts included).
#[test]
fn capture_round_trips_byte_for_byte() {
    let c = capture();
    assert!(c.len() > 100, "{} PDUs", c.len());
    for (i, (_, b)) in c.iter().enumerate() {
        let (p, n) = Pdu::parse(b).unwrap_or_else(|e| panic!("PDU {i}: {e}"));
        assert_eq!(n, b.len(), "PDU {i} length");
        assert!(
            !matches!(p.body, Body::Other(_)),
            "PDU {i} type {}",
            p.header.pdu_type
        );
        assert_eq!(&p.emit(), b, "PDU {i} re-emitted");
    }
}

// Proves the fields read from keepalived's session: its Open (net-snmp's sub-agent id and
// text), the master's answer (session id), a Register of a KEEPALIVED-MIB column, and the
// master's Get of two VRRP-MIB columns answered with noSuchInstance.
#[test]
fn capture_fields() {
    let c = capture();
    let (open, _) = Pdu::parse(&c[0].1).unwrap();
    assert!(c[0].0);
    assert_eq!(open.header.flags & flags::NETWORK_BYTE_ORDER, 0);
    match &open.body {
        Body::Open { descr, .. } => assert_eq!(descr, b"Net-SNMP AgentX sub-agent"),
        b => panic!("{b:?}"),
    }
    let (resp, _) = Pdu::parse(&c[1].1).unwrap();
    assert!(!c[1].0);
    assert!(matches!(resp.body, Body::Response { error: 0, .. }));
    assert_eq!(resp.header.session_id, 7);
    let (reg, _) = Pdu::parse(&c[2].1).unwrap();
    match &reg.body {
        Body::Register {
            priority, subtree, ..
        } => {
            assert_eq!(*priority, 127);
            assert_eq!(
                subtree,
                &"1.3.6.1.4.1.9586.100.5.1.1".parse::<Oid>().unwrap()
            );
        }
        b => panic!("{b:?}"),
    }
    assert_eq!(reg.context.as_deref(), Some(&[][..]));
    let get = c
        .iter()
        .map(|(_, b)| Pdu::parse(b).unwrap().0)
        .find(|p| matches!(p.body, Body::Get(_)))
        .unwrap();
    match &get.body {
        Body::Get(r) => {
            assert_eq!(r.len(), 2);
            assert_eq!(
                r[0].start,
                "1.3.6.1.2.1.68.1.3.1.3.3.51".parse::<Oid>().unwrap()
            );
        }
        b => panic!("{b:?}"),
    }
    let answer = c
        .iter()
        .map(|(_, b)| Pdu::parse(b).unwrap().0)
        .find(|p| {
            p.header.packet_id == get.header.packet_id && matches!(p.body, Body::Response { .. })
        })
        .unwrap();
    match answer.body {
        Body::Response { varbinds, .. } => {
            assert!(varbinds.iter().all(|v| v.value == Value::NoSuchInstance))
        }
        b => panic!("{b:?}"),
    }
}
