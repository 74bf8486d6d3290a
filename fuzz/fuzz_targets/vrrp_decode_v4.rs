#![no_main]
//! Fuzz the IPv4 advert decoder and validator: no panic on any input, and anything that parses
//! re-emits to bytes that parse to the same value.
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr};
use vrrp_proto::*;

fuzz_target!(|data: &[u8]| {
    let vips = [IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100))];
    let peers = [IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))];
    for (version, auth, interval) in [
        (Version::V2, AuthConfig::None, AdvertInterval::V2Secs(1)),
        (
            Version::V2,
            AuthConfig::Simple(*b"secret\0\0"),
            AdvertInterval::V2Secs(1),
        ),
        (
            Version::V2,
            AuthConfig::Ah(*b"key\0\0\0\0\0"),
            AdvertInterval::V2Secs(1),
        ),
        (
            Version::V3,
            AuthConfig::None,
            AdvertInterval::V3(Centisecs(100)),
        ),
    ] {
        for unicast in [false, true] {
            let ctx = ReceiveContext {
                version,
                family: Family::V4,
                vrid: Vrid::new(data.get(21).copied().unwrap_or(1).max(1))
                    .unwrap_or(Vrid::new(1).unwrap()),
                auth,
                advert_interval: interval,
                vips: &vips,
                check_addresses: true,
                unicast,
                unicast_peers: &peers,
                check_unicast_src: unicast,
                v3_checksum_as_v2: unicast,
                ah_last_seq: 0,
            };
            let _ = validate(RxPacket::Ipv4(data), &ctx).and_then(|v| v.to_accepted());
        }
    }
    if let Ok(p) = IpAdvert::parse(data) {
        if p.ip.family() == Family::V4 {
            let mode = p.checksum_mode(false);
            if let Ok(bytes) = p.emit(mode, None, false) {
                let again = IpAdvert::parse(&bytes).expect("re-emitted packet parses");
                assert_eq!(again, p);
            }
        }
    }
});
