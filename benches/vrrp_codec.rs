//! VRRP codec benchmarks: decode+validate and emit of 1-VIP and 20-VIP VRRPv3 adverts over
//! IPv4 (target: decode+validate of a 1-VIP advert under 50 ns).
//! Run: `cargo bench -p benches --bench vrrp_codec`

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{criterion_group, criterion_main, Criterion};
use vrrp_proto::wire::ip::{IpHeader, Ipv4Header};
use vrrp_proto::*;

fn advert(n: u8) -> (IpAdvert, Vec<IpAddr>) {
    let vips: Vec<IpAddr> = (0..n)
        .map(|i| IpAddr::V4(Ipv4Addr::new(10, 0, 1, i)))
        .collect();
    let pkt = IpAdvert {
        ip: IpHeader::V4(Ipv4Header {
            tos: 0xc0,
            ident: 1,
            flags_frag: 0,
            ttl: 255,
            protocol: 112,
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(224, 0, 0, 18),
        }),
        ah: None,
        advert: AdvertRepr {
            vrid: Vrid::new(51).unwrap(),
            priority: Priority(100),
            interval: AdvertInterval::V3(Centisecs(100)),
            auth: Auth::None,
            addrs: vips.clone(),
        },
    };
    (pkt, vips)
}

fn bench(c: &mut Criterion) {
    for n in [1u8, 20] {
        let (pkt, vips) = advert(n);
        let mode = pkt.checksum_mode(false);
        let bytes = pkt.emit(mode, None, false).unwrap();
        let ctx = ReceiveContext {
            version: Version::V3,
            family: Family::V4,
            vrid: Vrid::new(51).unwrap(),
            auth: AuthConfig::None,
            advert_interval: AdvertInterval::V3(Centisecs(100)),
            vips: &vips,
            check_addresses: true,
            unicast: false,
            unicast_peers: &[],
            check_unicast_src: false,
            v3_checksum_as_v2: false,
            ah_last_seq: 0,
        };
        assert!(validate(RxPacket::Ipv4(&bytes), &ctx).is_ok());
        // Zero-copy: parse + all RFC checks, result borrows the buffer (what the target is about).
        c.bench_function(&format!("v3_ipv4_{n}vip_decode_validate_view"), |b| {
            b.iter(|| {
                validate(RxPacket::Ipv4(black_box(&bytes)), black_box(&ctx)).map(|v| v.priority())
            })
        });
        // Owned: the same plus decoding into AdvertRepr (allocates the address list).
        c.bench_function(&format!("v3_ipv4_{n}vip_decode_validate_owned"), |b| {
            b.iter(|| {
                validate(RxPacket::Ipv4(black_box(&bytes)), black_box(&ctx))
                    .and_then(|v| v.to_accepted())
            })
        });
        let mut buf = vec![0u8; pkt.advert.buffer_len()];
        c.bench_function(&format!("v3_ipv4_{n}vip_emit_vrrp_into_buf"), |b| {
            b.iter(|| black_box(&pkt.advert).emit(black_box(&mut buf), mode))
        });
        c.bench_function(&format!("v3_ipv4_{n}vip_emit_ip_packet_vec"), |b| {
            b.iter(|| black_box(&pkt).emit(mode, None, false))
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
