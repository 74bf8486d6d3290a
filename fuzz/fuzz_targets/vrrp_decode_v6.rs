#![no_main]
//! Fuzz the IPv6 advert decoder and validator (full packets and socket payloads): no panic,
//! and anything that parses re-emits to the same value.
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv6Addr};
use vrrp_proto::*;

fuzz_target!(|data: &[u8]| {
    let vips = [IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x100))];
    for version in [Version::V2, Version::V3] {
        let ctx = ReceiveContext {
            version,
            family: Family::V6,
            vrid: Vrid::new(1).unwrap_or(Vrid::new(1).unwrap()),
            auth: AuthConfig::None,
            advert_interval: match version {
                Version::V2 => AdvertInterval::V2Secs(1),
                Version::V3 => AdvertInterval::V3(Centisecs(100)),
            },
            vips: &vips,
            check_addresses: true,
            unicast: false,
            unicast_peers: &[],
            check_unicast_src: false,
            v3_checksum_as_v2: false,
            ah_last_seq: 0,
        };
        let _ = validate(RxPacket::Ip(data), &ctx).and_then(|v| v.to_accepted());
        let _ = validate(
            RxPacket::Ipv6 {
                payload: data,
                src: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1),
                dst: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
                hop_limit: 255,
            },
            &ctx,
        )
        .and_then(|v| v.to_accepted());
    }
    if let Ok(p) = vrrp_proto::wire::vrrp::Packet::new_checked(data, Family::V6) {
        let _ = p.addrs().count();
        let _ = AdvertRepr::parse(&p);
    }
    if let Ok(p) = IpAdvert::parse(data) {
        if p.ip.family() == Family::V6 && p.advert.family() == Family::V6
            || p.advert.addrs.is_empty()
        {
            if let Ok(bytes) = p.emit(p.checksum_mode(false), None, false) {
                let again = IpAdvert::parse(&bytes).expect("re-emitted packet parses");
                assert_eq!(again, p);
            }
        }
    }
});
