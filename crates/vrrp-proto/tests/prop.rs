//! Property tests: emit/parse round trips, no panics on arbitrary input, and every single-bit
//! corruption of a valid advert is rejected (never reaches the state machine).

// Integration-test helpers (outside #[test] fns) may unwrap/panic: this is test code.
#![allow(clippy::unwrap_used, clippy::panic, clippy::type_complexity)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use vrrp_proto::wire::ip::{checksum_mode, AhHeader, IpHeader, Ipv4Header, Ipv6Header};
use vrrp_proto::wire::vrrp::Packet;
use vrrp_proto::*;

/// The owned result of [`vrrp_proto::validate`] (the view decoded), as these tests compare it.
fn validate(pkt: RxPacket<'_>, ctx: &ReceiveContext<'_>) -> Result<Accepted, RxError> {
    vrrp_proto::validate(pkt, ctx).and_then(|v| v.to_accepted())
}

/// [`validate`] of a whole IP packet.
fn validate_packet(bytes: &[u8], ctx: &ReceiveContext<'_>) -> Result<Accepted, RxError> {
    validate(RxPacket::Ip(bytes), ctx)
}

fn addrs(fam: Family) -> BoxedStrategy<Vec<IpAddr>> {
    match fam {
        Family::V4 => prop::collection::vec(
            any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
            0..=20,
        )
        .boxed(),
        Family::V6 => prop::collection::vec(
            any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
            0..=20,
        )
        .boxed(),
    }
}

fn repr(fam: Family) -> impl Strategy<Value = AdvertRepr> {
    let v2 = (
        1u8..=255,
        any::<u8>(),
        any::<u8>(),
        prop_oneof![
            Just(Auth::None),
            any::<[u8; 8]>().prop_map(Auth::Simple),
            Just(Auth::Ah)
        ],
        addrs(fam),
    )
        .prop_map(|(vrid, prio, int, auth, addrs)| AdvertRepr {
            vrid: Vrid::new(vrid).unwrap(),
            priority: Priority(prio),
            interval: AdvertInterval::V2Secs(int),
            auth,
            addrs,
        });
    let v3 =
        (1u8..=255, any::<u8>(), 0u16..=0x0fff, addrs(fam)).prop_map(|(vrid, prio, int, addrs)| {
            AdvertRepr {
                vrid: Vrid::new(vrid).unwrap(),
                priority: Priority(prio),
                interval: AdvertInterval::V3(Centisecs(int)),
                auth: Auth::None,
                addrs,
            }
        });
    prop_oneof![v2, v3]
}

fn any_family() -> impl Strategy<Value = Family> {
    prop_oneof![Just(Family::V4), Just(Family::V6)]
}

proptest! {
    // Proves parse(emit(r)) == r for the VRRP message and that the emitted checksum verifies
    // (message-only for v2, pseudo-header for v3).
    #[test]
    fn message_roundtrip((fam, r) in any_family().prop_flat_map(|f| (Just(f), repr(f))), src in any::<u128>(), dst in any::<u128>()) {
        let (s, d) = match fam {
            Family::V4 => (IpAddr::V4(Ipv4Addr::from(src as u32)), IpAddr::V4(Ipv4Addr::from(dst as u32))),
            Family::V6 => (IpAddr::V6(Ipv6Addr::from(src)), IpAddr::V6(Ipv6Addr::from(dst))),
        };
        let mode = checksum_mode(r.version(), s, d, false);
        let bytes = r.to_bytes(mode).unwrap();
        let p = Packet::new_checked(&bytes[..], fam).unwrap();
        prop_assert!(p.verify_checksum(mode));
        // Empty address lists decode as the requested family: compare fields.
        let back = AdvertRepr::parse(&p).unwrap();
        prop_assert_eq!(back, r);
    }

    // Proves whole IP packets (IPv4 with/without AH, IPv6) round-trip, and that an emitted
    // packet passes validation for a receiver configured like the sender.
    #[test]
    fn ip_roundtrip_and_validate(
        (fam, mut r) in any_family().prop_flat_map(|f| (Just(f), repr(f))),
        src in any::<u128>(), ident in any::<u16>(), tclass in any::<u8>(), flow in 0u32..0x10_0000,
        seq in 1u32.., key in any::<[u8; 8]>(),
    ) {
        let (ip, dst) = match fam {
            Family::V4 => {
                let s = Ipv4Addr::from(src as u32);
                (IpHeader::V4(Ipv4Header { tos: 0xc0, ident, flags_frag: 0, ttl: 255, protocol: if r.auth == Auth::Ah { 51 } else { 112 }, src: s, dst: Ipv4Addr::new(224, 0, 0, 18) }), IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)))
            }
            Family::V6 => {
                let s = Ipv6Addr::from(src);
                let d = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
                (IpHeader::V6(Ipv6Header { traffic_class: tclass, flow_label: flow, hop_limit: 255, src: s, dst: d }), IpAddr::V6(d))
            }
        };
        // AH only exists for v2 over IPv4.
        if fam == Family::V6 && r.auth == Auth::Ah { r.auth = Auth::None; }
        let ah = (r.auth == Auth::Ah).then_some(AhHeader { next_header: 112, spi: src as u32, seq, icv: [0; 12] });
        let pkt = IpAdvert { ip, ah, advert: r.clone() };
        let mode = checksum_mode(r.version(), ip.src(), dst, false);
        let bytes = pkt.emit(mode, Some(&key), false).unwrap();
        // Restamping the ident of an emitted packet (what a sender does instead of emitting
        // each advert) gives the packet emitted with that ident; AH packets are refused.
        let other = ident.wrapping_add(7);
        let mut restamped = bytes.clone();
        let r2 = vrrp_proto::wire::ip::restamp_ipv4_ident(&mut restamped, other);
        match (&ip, &pkt.ah) {
            (IpHeader::V4(h), None) => {
                prop_assert!(r2.is_ok());
                let again = IpAdvert { ip: IpHeader::V4(Ipv4Header { ident: other, ..*h }), ah: None, advert: r.clone() };
                prop_assert_eq!(&restamped, &again.emit(mode, None, false).unwrap());
            }
            _ => {
                prop_assert!(r2.is_err());
                prop_assert_eq!(&restamped, &bytes);
            }
        }
        let back = IpAdvert::parse(&bytes).unwrap();
        prop_assert_eq!(&back.advert, &r);
        prop_assert_eq!(back.ip, ip);
        let auth = match r.auth { Auth::None => AuthConfig::None, Auth::Simple(p) => AuthConfig::Simple(p), Auth::Ah => AuthConfig::Ah(key) };
        let ctx = ReceiveContext {
            version: r.version(), family: fam, vrid: r.vrid, auth, advert_interval: r.interval,
            vips: &r.addrs, check_addresses: true, unicast: false, unicast_peers: &[],
            check_unicast_src: false, v3_checksum_as_v2: false, ah_last_seq: 0,
        };
        let acc = validate_packet(&bytes, &ctx);
        prop_assert!(acc.is_ok(), "{:?}", acc);
        let acc = acc.unwrap();
        prop_assert!(!acc.addr_list_mismatch);
        prop_assert_eq!(&acc.advert, &r);

        // Every single-bit corruption is rejected: the whole packet for IPv4 (the header
        // checksum covers the header); for IPv6 (no header checksum) the payload length, next
        // header, hop limit and the VRRP message. Traffic class / flow label / addresses of an
        // IPv6 packet are legitimately free (a v2 message-only checksum does not cover them).
        let covered: Vec<usize> = match fam {
            Family::V4 => (0..bytes.len()).collect(),
            Family::V6 => (4..8).chain(40..bytes.len()).collect(),
        };
        for bit in covered.iter().flat_map(|b| (0..8).map(move |i| b * 8 + i)) {
            let mut c = bytes.clone();
            c[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(validate_packet(&c, &ctx).is_err(), "bit {} accepted", bit);
        }
        // Every truncation is rejected.
        for n in 0..bytes.len() {
            prop_assert!(validate_packet(&bytes[..n], &ctx).is_err(), "truncation to {} accepted", n);
        }
    }

    // Proves decoding and validating arbitrary bytes never panics (IPv4 and IPv6 contexts).
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200), first in prop_oneof![Just(0x45u8), Just(0x60u8), any::<u8>()]) {
        let mut b = bytes;
        if !b.is_empty() { b[0] = first; }
        let _ = IpAdvert::parse(&b);
        for fam in [Family::V4, Family::V6] {
            if let Ok(p) = Packet::new_checked(&b[..], fam) {
                let _ = AdvertRepr::parse(&p);
                let _ = p.addrs().count();
                let _ = p.auth_data();
            }
            for version in [Version::V2, Version::V3] {
                let vips = [IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))];
                let ctx = ReceiveContext {
                    version, family: fam, vrid: Vrid::new(1).unwrap(), auth: AuthConfig::Ah([1; 8]),
                    advert_interval: AdvertInterval::V2Secs(1), vips: &vips, check_addresses: true,
                    unicast: false, unicast_peers: &[], check_unicast_src: true, v3_checksum_as_v2: true, ah_last_seq: 0,
                };
                let _ = validate_packet(&b, &ctx);
                let _ = validate(RxPacket::Ipv6 { payload: &b, src: Ipv6Addr::LOCALHOST, dst: Ipv6Addr::LOCALHOST, hop_limit: 255 }, &ctx);
            }
        }
    }
}
