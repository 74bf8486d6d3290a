//! Checks that Wireshark's dissectors accept what we emit: adverts (v2 PASS, v2 AH, v3 IPv4,
//! v3 IPv6, v3 unicast), gratuitous ARP and unsolicited NA are written to a pcap and decoded
//! with `tshark -V`; no malformed packet, bad checksum or expert warning may appear.

// Integration-test helpers (outside #[test] fns) may unwrap/panic: this is test code.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Command;

use vrrp_proto::wire::frames::{gratuitous_arp, unsolicited_na, virtual_mac};
use vrrp_proto::wire::ip::{AhHeader, IpHeader, Ipv4Header, Ipv6Header};
use vrrp_proto::*;

fn v4pkt(auth: Auth, version: Version, dst: Ipv4Addr, prio: u8) -> Vec<u8> {
    let ah = auth == Auth::Ah;
    let src = Ipv4Addr::new(10, 99, 0, 1);
    let p = IpAdvert {
        ip: IpHeader::V4(Ipv4Header {
            tos: 0xc0,
            ident: 7,
            flags_frag: 0,
            ttl: 255,
            protocol: if ah { 51 } else { 112 },
            src,
            dst,
        }),
        ah: ah.then_some(AhHeader {
            next_header: 112,
            spi: u32::from(src),
            seq: 3,
            icv: [0; 12],
        }),
        advert: AdvertRepr {
            vrid: Vrid::new(51).unwrap(),
            priority: Priority(prio),
            interval: match version {
                Version::V2 => AdvertInterval::V2Secs(1),
                Version::V3 => AdvertInterval::V3(Centisecs(100)),
            },
            auth,
            addrs: vec![
                IpAddr::V4(Ipv4Addr::new(10, 99, 0, 100)),
                IpAddr::V4(Ipv4Addr::new(10, 99, 0, 101)),
            ],
        },
    };
    p.emit(
        p.checksum_mode(false),
        Some(&Auth::pad_password(b"key")),
        false,
    )
    .unwrap()
}

fn v6pkt() -> Vec<u8> {
    let p = IpAdvert {
        ip: IpHeader::V6(Ipv6Header {
            traffic_class: 0xc0,
            flow_label: 0,
            hop_limit: 255,
            src: "fe80::1".parse::<Ipv6Addr>().unwrap(),
            dst: "ff02::12".parse::<Ipv6Addr>().unwrap(),
        }),
        ah: None,
        advert: AdvertRepr {
            vrid: Vrid::new(54).unwrap(),
            priority: Priority(100),
            interval: AdvertInterval::V3(Centisecs(100)),
            auth: Auth::None,
            addrs: vec![IpAddr::V6("fd00:99::100".parse().unwrap())],
        },
    };
    p.emit(p.checksum_mode(false), None, false).unwrap()
}

fn eth(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes()); // Ethernet
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&(i as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    out
}

// Proves tshark decodes every kind of packet we emit as VRRP/ARP/ICMPv6 with correct
// checksums and without malformed or expert-warning markers.
#[test]
#[ignore = "lab: needs tshark installed"]
fn lab_tshark_decodes_our_packets() {
    let vmac4 = virtual_mac(Family::V4, Vrid::new(51).unwrap());
    let vmac6 = virtual_mac(Family::V6, Vrid::new(54).unwrap());
    let mcast4 = [0x01, 0x00, 0x5e, 0, 0, 0x12];
    let mcast6 = [0x33, 0x33, 0, 0, 0, 0x12];
    let g = Ipv4Addr::new(224, 0, 0, 18);
    let frames = vec![
        eth(
            mcast4,
            vmac4,
            0x0800,
            &v4pkt(
                Auth::Simple(Auth::pad_password(b"pw42")),
                Version::V2,
                g,
                150,
            ),
        ),
        eth(mcast4, vmac4, 0x0800, &v4pkt(Auth::Ah, Version::V2, g, 120)),
        eth(
            mcast4,
            vmac4,
            0x0800,
            &v4pkt(Auth::None, Version::V3, g, 200),
        ),
        eth(mcast4, vmac4, 0x0800, &v4pkt(Auth::None, Version::V3, g, 0)),
        eth(
            [2, 0, 0, 0, 0x99, 2],
            vmac4,
            0x0800,
            &v4pkt(Auth::None, Version::V3, Ipv4Addr::new(10, 99, 0, 2), 110),
        ),
        eth(mcast6, vmac6, 0x86dd, &v6pkt()),
        gratuitous_arp(vmac4, Ipv4Addr::new(10, 99, 0, 100)).to_vec(),
        unsolicited_na(vmac6, "fd00:99::100".parse().unwrap(), false).to_vec(),
    ];
    let dir = std::env::temp_dir().join(format!("vrrp-proto-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ours.pcap");
    std::fs::write(&path, pcap(&frames)).unwrap();
    let out = Command::new("tshark")
        .args(["-n", "-o", "ip.check_checksum:TRUE", "-r"])
        .arg(&path)
        .args(["-V"])
        .output()
        .expect("run tshark");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if std::env::var_os("KEEP_TSHARK_OUTPUT").is_some() {
        std::fs::write(std::env::temp_dir().join("vrrp-tshark.txt"), &text).unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for bad in [
        "Malformed",
        "incorrect",
        "Bad checksum",
        "[Expert Info (Warning",
        "[Expert Info (Error",
    ] {
        assert!(!text.contains(bad), "tshark reports {bad:?}:\n{text}");
    }
    assert_eq!(
        text.matches("Virtual Router Redundancy Protocol").count(),
        6,
        "{text}"
    );
    assert!(
        text.contains("Gratuitous ARP") || text.contains("Is gratuitous: True"),
        "{text}"
    );
    assert!(text.contains("Neighbor Advertisement"), "{text}");
    // Checksums were actually verified as good.
    assert!(
        text.matches("[Checksum Status: Good]").count() >= 6,
        "{text}"
    );
}
