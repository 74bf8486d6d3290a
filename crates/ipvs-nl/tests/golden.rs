//! Golden-byte tests: replies captured from the kernel in the IPVS VM (examples/ipvs_capture.rs,
//! Debian 6.1 kernel) decode to the table that was programmed, and re-encode byte for byte.

// Test code: helpers outside #[test] fns may unwrap/panic too.
#![allow(clippy::unwrap_used, clippy::panic)]

use ipvs_nl::attr::CmdAttr;
use ipvs_nl::message::{decode_datagram, encode_request, IpvsCmd, IpvsMessage, Reply};
use ipvs_nl::*;
use netlink_packet_core::Emitable;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Family id as the kernel wrote it in the first message.
fn family(buf: &[u8]) -> u16 {
    u16::from_ne_bytes([buf[4], buf[5]])
}

fn data(name: &str) -> Vec<IpvsMessage> {
    let buf = fixture(name);
    decode_datagram(&buf, family(&buf))
        .into_iter()
        .filter_map(|r| match r.unwrap().1 {
            Reply::Data(m) => Some(m),
            _ => None,
        })
        .collect()
}

// Proves: the service dump decodes to the three programmed services with their exact
// parameters (IPv4 persistence + /24 mask, IPv6 sh flags, fwmark mh) and 64-bit stats present.
#[test]
fn golden_dump_services() {
    let msgs = data("dump_services.0.bin");
    assert_eq!(msgs.len(), 3);
    let mut svcs: Vec<ServiceInfo> = msgs
        .iter()
        .map(|m| match &m.attrs[0] {
            CmdAttr::Service(s) => ServiceInfo::from_attrs(s).unwrap(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    svcs.sort_by_key(|s| s.service.key);
    let v4 = ServiceKey::tcp("192.0.2.10".parse().unwrap(), 80);
    let s = svcs.iter().find(|s| s.service.key == v4).unwrap();
    assert_eq!(s.service.scheduler, Scheduler::Wrr);
    assert_eq!(s.service.timeout, 300);
    assert_eq!(s.service.netmask, 0xffff_ff00);
    assert!(s.service.flags.contains(ServiceFlags::PERSISTENT));
    assert!(s.service.flags.contains(ServiceFlags::HASHED));
    assert!(s.stats64);
    let v6 = ServiceKey::udp("fd00::10".parse().unwrap(), 53);
    let s = svcs.iter().find(|s| s.service.key == v6).unwrap();
    assert_eq!(s.service.scheduler, Scheduler::Sh);
    assert_eq!(s.service.netmask, 128);
    assert!(s
        .service
        .flags
        .contains(ServiceFlags::SH_PORT | ServiceFlags::SH_FALLBACK));
    let fw = ServiceKey::fwmark(AddressFamily::Inet, 7);
    let s = svcs.iter().find(|s| s.service.key == fw).unwrap();
    assert_eq!(s.service.scheduler, Scheduler::Mh);
    // the second datagram is NLMSG_DONE
    let done = fixture("dump_services.1.bin");
    assert!(matches!(
        decode_datagram(&done, family(&done))[0].as_ref().unwrap().1,
        Reply::Done
    ));
}

// Proves: destination dump decodes masq + GUE tunnel (port, csum flag), weights, family.
#[test]
fn golden_dump_dests() {
    let msgs = data("dump_dests_v4.0.bin");
    let mut dests: Vec<DestinationInfo> = msgs
        .iter()
        .map(|m| match &m.attrs[0] {
            CmdAttr::Dest(d) => DestinationInfo::from_attrs(d, AddressFamily::Inet).unwrap(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    dests.sort_by_key(|d| d.dest.key());
    assert_eq!(
        dests[0].dest,
        Destination::new("10.0.0.2".parse().unwrap(), 8080, Forward::Masq).with_weight(3)
    );
    assert_eq!(
        dests[1].dest,
        Destination::new(
            "10.0.0.3".parse().unwrap(),
            80,
            Forward::Tunnel(Tunnel {
                kind: TunnelType::Gue,
                port: 6080,
                flags: TunnelFlags::CSUM
            })
        )
    );
    assert!(dests[0].stats64);
}

// Proves: GET_INFO / GET_CONFIG replies decode (version 1.2.1, default timeouts 900/120/300).
#[test]
fn golden_info_and_config() {
    let m = &data("get_info.0.bin")[0];
    assert_eq!(m.cmd, IpvsCmd::SetInfo);
    let attrs = &m.attrs;
    assert!(attrs.contains(&CmdAttr::InfoVersion(0x010201)));
    assert!(attrs.contains(&CmdAttr::InfoConnTabSize(4096)));
    let m = &data("get_config.0.bin")[0];
    assert_eq!(m.cmd, IpvsCmd::SetConfig);
    assert!(m.attrs.contains(&CmdAttr::TimeoutTcp(900)));
    assert!(m.attrs.contains(&CmdAttr::TimeoutTcpFin(120)));
    assert!(m.attrs.contains(&CmdAttr::TimeoutUdp(300)));
    // the ack that follows a GET
    let ack = fixture("get_info.1.bin");
    assert!(matches!(
        decode_datagram(&ack, family(&ack))[0].as_ref().unwrap().1,
        Reply::Ack
    ));
}

// Proves: an NLMSG_ERROR reply (adding an existing service) decodes to errno 17 (EEXIST) and maps
// to the typed error carrying the operation.
#[test]
fn golden_error_eexist() {
    let buf = fixture("error_eexist.0.bin");
    let (_, r) = decode_datagram(&buf, family(&buf)).remove(0).unwrap();
    assert_eq!(r, Reply::Error(17));
    assert!(matches!(
        Error::from_errno(Op::NewService, 17),
        Error::Exists { op: Op::NewService }
    ));
}

// Proves: the sync daemon dump decodes (master on lo, syncid 5, kernel defaults for the rest).
#[test]
fn golden_dump_daemons() {
    let m = &data("dump_daemons.0.bin")[0];
    let CmdAttr::Daemon(d) = &m.attrs[0] else {
        panic!()
    };
    assert!(d.contains(&ipvs_nl::attr::DaemonAttr::State(1)));
    assert!(d.contains(&ipvs_nl::attr::DaemonAttr::McastIfn("lo".into())));
    assert!(d.contains(&ipvs_nl::attr::DaemonAttr::SyncId(5)));
}

// Proves: every captured data message re-encodes to exactly the kernel's bytes (attribute codec is
// lossless, including stats widths and strings).
#[test]
fn golden_reencode_exact() {
    for name in [
        "dump_services.0.bin",
        "dump_dests_v4.0.bin",
        "get_info.0.bin",
        "get_config.0.bin",
        "dump_daemons.0.bin",
    ] {
        let buf = fixture(name);
        let fam = family(&buf);
        let mut off = 0;
        for item in decode_datagram(&buf, fam) {
            let (h, r) = item.unwrap();
            let len = h.length as usize;
            let orig = &buf[off..off + len];
            if let Reply::Data(m) = r {
                let mut out = Vec::new();
                encode_request(fam, 0, h.sequence_number, m.clone(), &mut out);
                // compare payload (genl header + attributes); nlmsghdr flags/port differ
                assert_eq!(&out[16..16 + len - 16], &orig[16..], "{name}");
                assert_eq!(m.buffer_len() + 20, len, "{name}");
            }
            off += (len + 3) & !3;
        }
    }
}

// Proves: the NEW_SERVICE request has the shape ipvsadm sends (AF, PROTOCOL, 16-byte ADDR, PORT
// in network order, SCHED_NAME NUL-terminated, FLAGS {flags, mask=~0} without HASHED, TIMEOUT,
// NETMASK in network order) — byte-exact.
#[test]
fn golden_new_service_request() {
    let svc = Service {
        flags: ServiceFlags::PERSISTENT | ServiceFlags::HASHED,
        netmask: 0xffff_ff00,
        timeout: 300,
        ..Service::new(
            ServiceKey::tcp("192.0.2.10".parse().unwrap(), 80),
            Scheduler::Wrr,
        )
    };
    let msg = Handle::operation_message(&Operation::AddService(svc));
    let mut out = Vec::new();
    encode_request(0x20, netlink_packet_core::NLM_F_ACK, 7, msg, &mut out);
    #[rustfmt::skip]
    let expect: Vec<u8> = [
        &[104, 0, 0, 0, 0x20, 0, 5, 0, 7, 0, 0, 0, 0, 0, 0, 0][..], // nlmsghdr
        &[1, 1, 0, 0],                                               // NEW_SERVICE v1
        &[84, 0, 1, 0],                                              // SERVICE nest
        &[6, 0, 1, 0, 2, 0, 0, 0],                                   // AF_INET
        &[6, 0, 2, 0, 6, 0, 0, 0],                                   // TCP
        &[20, 0, 3, 0, 192, 0, 2, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], // ADDR
        &[6, 0, 4, 0, 0, 80, 0, 0],                                  // PORT be16
        &[8, 0, 6, 0, b'w', b'r', b'r', 0],                          // SCHED_NAME
        &[12, 0, 7, 0, 1, 0, 0, 0, 255, 255, 255, 255],              // FLAGS
        &[8, 0, 8, 0, 44, 1, 0, 0],                                  // TIMEOUT 300
        &[8, 0, 9, 0, 255, 255, 255, 0],                             // NETMASK
    ]
    .concat();
    assert_eq!(out, expect);
}
