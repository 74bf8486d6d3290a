#![allow(clippy::unwrap_used)]
use super::*;

fn oid(s: &str) -> Oid {
    s.parse().unwrap()
}

// Proves the header is read in the byte order its flag says, and that short, non-version-1
// and misaligned headers are refused without panicking.
#[test]
fn header_byte_orders_and_refusals() {
    let mut be = vec![1, 13, flags::NETWORK_BYTE_ORDER, 0];
    for v in [7u32, 8, 9, 0] {
        be.extend_from_slice(&v.to_be_bytes());
    }
    let h = Header::parse(&be).unwrap();
    assert_eq!((h.session_id, h.transaction_id, h.packet_id), (7, 8, 9));
    let (p, n) = Pdu::parse(&be).unwrap();
    assert_eq!((p.body, n), (Body::Ping, 20));
    assert!(matches!(
        Header::parse(&be[..19]),
        Err(Error::Truncated { have: 19, need: 20 })
    ));
    let mut v2 = be.clone();
    v2[0] = 2;
    assert!(matches!(Header::parse(&v2), Err(Error::Malformed(_))));
    let mut odd = be.clone();
    odd[19] = 3;
    assert!(matches!(Header::parse(&odd), Err(Error::Malformed(_))));
    // A payload announced but not there yet: read more.
    let mut more = be.clone();
    more[19] = 8;
    assert!(matches!(Pdu::parse(&more), Err(Error::Truncated { .. })));
}

// Proves a response with every value type survives emit -> parse in both byte orders, and
// that the internet prefix is compressed as net-snmp does.
#[test]
fn response_round_trip_all_types() {
    let vbs = vec![
        VarBind {
            name: oid("1.3.6.1.2.1.68.1.1.0"),
            value: Value::Integer(-2),
        },
        VarBind {
            name: oid("1.3.6.1.2.1.68.1.3.1.2.3.51"),
            value: Value::OctetString(vec![0xfa, 0xce, 0x0b, 0x09, 0xbf]),
        },
        VarBind {
            name: oid("1.2"),
            value: Value::Null,
        },
        VarBind {
            name: oid("1.3.6.1.6.3.1.1.4.1.0"),
            value: Value::ObjectIdentifier(oid("1.3.6.1.4.1.9586.100.5.2.0.1")),
        },
        VarBind {
            name: oid("1.3.6.1.2.1.68.1.3.1.7.3.51"),
            value: Value::IpAddress([192, 0, 2, 1]),
        },
        VarBind {
            name: oid("1.3.6.1.2.1.68.2.1.0"),
            value: Value::Counter32(u32::MAX),
        },
        VarBind {
            name: oid("1.3.6.1.2.1.68.2.2.0"),
            value: Value::Gauge32(5),
        },
        VarBind {
            name: oid("1.3.6.1.2.1.68.1.3.1.13.3.51"),
            value: Value::TimeTicks(12345),
        },
        VarBind {
            name: oid("1.3.6.1.4.1.9586.1"),
            value: Value::Opaque(vec![1, 2, 3]),
        },
        VarBind {
            name: oid("1.3.6.1.4.1.9586.2"),
            value: Value::Counter64(0x0102_0304_0506_0708),
        },
        VarBind {
            name: oid("1.3.6.1.4.1.9586.3"),
            value: Value::NoSuchObject,
        },
        VarBind {
            name: oid("1.3.6.1.4.1.9586.4"),
            value: Value::NoSuchInstance,
        },
        VarBind {
            name: oid("1.3.6.1.4.1.9586.5"),
            value: Value::EndOfMibView,
        },
    ];
    for bo in [0, flags::NETWORK_BYTE_ORDER] {
        let mut p = Pdu::new(
            3,
            4,
            5,
            Body::Response {
                sys_uptime: 0,
                error: 0,
                index: 0,
                varbinds: vbs.clone(),
            },
        );
        p.header.flags = bo;
        let bytes = p.emit();
        let (q, n) = Pdu::parse(&bytes).unwrap();
        assert_eq!(n, bytes.len());
        assert_eq!(q.body, p.body);
        assert_eq!(q.emit(), bytes);
    }
    let p = Pdu::new(
        0,
        0,
        0,
        Body::Register {
            unregister: false,
            timeout: 0,
            priority: 127,
            range_subid: 0,
            subtree: oid("1.3.6.1.2.1.68"),
            upper_bound: None,
        },
    );
    let b = p.emit();
    // n_subid 2, prefix 2 (mib-2), then 68 and nothing else.
    assert_eq!(&b[24..28], &[2, 2, 0, 0]);
}

proptest::proptest! {
    // Proves parsing arbitrary bytes never panics and never claims more bytes than given.
    #[test]
    fn parse_arbitrary_bytes(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
        if let Ok((_, n)) = Pdu::parse(&b) {
            proptest::prop_assert!(n <= b.len());
        }
    }

    // Proves GetNext ranges survive emit -> parse.
    #[test]
    fn get_next_round_trip(
        start in proptest::collection::vec(0u32..100_000, 0..20),
        end in proptest::collection::vec(0u32..100_000, 0..20),
        include: bool,
    ) {
        let p = Pdu::new(1, 2, 3, Body::GetNext(vec![SearchRange {
            start: Oid(start), include, end: Oid(end),
        }]));
        let (q, _) = Pdu::parse(&p.emit()).unwrap();
        proptest::prop_assert_eq!(q.body, p.body);
    }
}
