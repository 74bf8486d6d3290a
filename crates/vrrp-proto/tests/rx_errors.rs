//! One test per receive-validation rejection (RFC 3768 §7.1 / RFC 5798 §7.1 and keepalived's
//! checks): each malformed or hostile advert is rejected with its own reason and counter.

// Integration-test helpers (outside #[test] fns) may unwrap/panic: this is test code.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrrp_proto::wire::checksum::{fold, sum};
use vrrp_proto::wire::ip::{AhHeader, IpHeader, Ipv4Header};
use vrrp_proto::*;

/// The owned result of [`vrrp_proto::validate`] (the view decoded), as these tests compare it.
fn validate(pkt: RxPacket<'_>, ctx: &ReceiveContext<'_>) -> Result<Accepted, RxError> {
    vrrp_proto::validate(pkt, ctx).and_then(|v| v.to_accepted())
}

/// [`validate`] of a whole IP packet.
fn validate_packet(bytes: &[u8], ctx: &ReceiveContext<'_>) -> Result<Accepted, RxError> {
    validate(RxPacket::Ip(bytes), ctx)
}

const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

fn vips() -> Vec<IpAddr> {
    vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100))]
}

fn pkt(version: Version, auth: Auth, dst: Ipv4Addr, ttl: u8) -> IpAdvert {
    IpAdvert {
        ip: IpHeader::V4(Ipv4Header {
            tos: 0xc0,
            ident: 1,
            flags_frag: 0,
            ttl,
            protocol: if auth == Auth::Ah { 51 } else { 112 },
            src: SRC,
            dst,
        }),
        ah: (auth == Auth::Ah).then_some(AhHeader {
            next_header: 112,
            spi: u32::from(SRC),
            seq: 5,
            icv: [0; 12],
        }),
        advert: AdvertRepr {
            vrid: Vrid::new(7).unwrap(),
            priority: Priority(100),
            interval: match version {
                Version::V2 => AdvertInterval::V2Secs(1),
                Version::V3 => AdvertInterval::V3(Centisecs(100)),
            },
            auth,
            addrs: vips(),
        },
    }
}

fn bytes(p: &IpAdvert) -> Vec<u8> {
    p.emit(
        p.checksum_mode(false),
        Some(&Auth::pad_password(b"key")),
        false,
    )
    .unwrap()
}

fn ctx(version: Version, auth: AuthConfig, vips: &[IpAddr]) -> ReceiveContext<'_> {
    ReceiveContext {
        version,
        family: Family::V4,
        vrid: Vrid::new(7).unwrap(),
        auth,
        advert_interval: match version {
            Version::V2 => AdvertInterval::V2Secs(1),
            Version::V3 => AdvertInterval::V3(Centisecs(100)),
        },
        vips,
        check_addresses: true,
        unicast: false,
        unicast_peers: &[],
        check_unicast_src: false,
        v3_checksum_as_v2: false,
        ah_last_seq: 0,
    }
}

/// Rewrite the IPv4 header checksum after editing the header.
fn fix_ip(b: &mut [u8]) {
    b[10] = 0;
    b[11] = 0;
    let c = fold(sum(&b[..20], 0));
    b[10..12].copy_from_slice(&c.to_be_bytes());
}

/// Rewrite the VRRP checksum (message-only or v3 pseudo-header) after editing the message.
fn fix_vrrp(b: &mut [u8], off: usize, v3: bool) {
    b[off + 6] = 0;
    b[off + 7] = 0;
    let msg_len = b.len() - off;
    let seed = if v3 {
        vrrp_proto::wire::checksum::pseudo_header_sum(IpAddr::V4(SRC), IpAddr::V4(GROUP), msg_len)
    } else {
        0
    };
    let c = fold(sum(&b[off..], seed));
    b[off + 6..off + 8].copy_from_slice(&c.to_be_bytes());
}

fn v3ok() -> Vec<u8> {
    bytes(&pkt(Version::V3, Auth::None, GROUP, 255))
}

// Proves a well-formed advert is accepted (baseline for the rejections below).
#[test]
fn baseline_accepted() {
    let v = vips();
    let a = validate_packet(&v3ok(), &ctx(Version::V3, AuthConfig::None, &v)).unwrap();
    assert_eq!(a.src, IpAddr::V4(SRC));
    assert!(!a.addr_list_mismatch && !a.interval_mismatch);
}

// Proves truncated packets (IP header, VRRP header, address list) are rejected as truncated.
#[test]
fn truncated() {
    let v = vips();
    let b = v3ok();
    for n in [0, 10, 19] {
        let e = validate_packet(&b[..n], &ctx(Version::V3, AuthConfig::None, &v)).unwrap_err();
        assert!(matches!(e, RxError::Truncated { .. }), "{n}: {e:?}");
        assert_eq!(e.counter(), "packet_len_err");
    }
    let e = validate_packet(&b[..24], &ctx(Version::V3, AuthConfig::None, &v)).unwrap_err();
    assert!(matches!(e, RxError::Truncated { .. }), "{e:?}");
}

// Proves an IHL below 5 and a bad IPv4 header checksum are rejected as bad IP header.
#[test]
fn bad_ip_header() {
    let v = vips();
    let mut b = v3ok();
    b[0] = 0x44;
    fix_ip(&mut b);
    let e = validate_packet(&b, &ctx(Version::V3, AuthConfig::None, &v)).unwrap_err();
    assert!(matches!(e, RxError::BadIpHeader(_)), "{e:?}");
    let mut b = v3ok();
    b[10] ^= 0xff;
    assert!(matches!(
        validate_packet(&b, &ctx(Version::V3, AuthConfig::None, &v)),
        Err(RxError::BadIpHeader(_))
    ));
}

// Proves a protocol other than VRRP/AH is rejected.
#[test]
fn wrong_protocol() {
    let v = vips();
    let mut b = v3ok();
    b[9] = 17;
    fix_ip(&mut b);
    assert_eq!(
        validate_packet(&b, &ctx(Version::V3, AuthConfig::None, &v)),
        Err(RxError::Protocol(17))
    );
}

// Proves RFC 5798 §7.1: multicast adverts with TTL != 255 are rejected; unicast ones are not
// (keepalived).
#[test]
fn ttl_not_255() {
    let v = vips();
    let b = bytes(&pkt(Version::V3, Auth::None, GROUP, 64));
    let e = validate_packet(&b, &ctx(Version::V3, AuthConfig::None, &v)).unwrap_err();
    assert_eq!(e, RxError::Ttl(64));
    assert_eq!(e.counter(), "ip_ttl_err");
    let uni = Ipv4Addr::new(10, 0, 0, 1);
    let b = bytes(&pkt(Version::V3, Auth::None, uni, 64));
    let mut c = ctx(Version::V3, AuthConfig::None, &v);
    c.unicast = true;
    assert!(validate_packet(&b, &c).is_ok());
}

// Proves a version mismatch is rejected (RFC 5798 §7.1 MUST verify the version).
#[test]
fn version_mismatch() {
    let v = vips();
    let e = validate_packet(&v3ok(), &ctx(Version::V2, AuthConfig::None, &v)).unwrap_err();
    assert!(
        matches!(e, RxError::AddrCountLength { .. } | RxError::Version { .. }),
        "{e:?}"
    );
    // Same length for both versions: craft a v2 message of the v3 length by changing the nibble.
    let mut b = v3ok();
    b[20] = 0x41;
    fix_vrrp(&mut b, 20, true);
    let e = validate_packet(&b, &ctx(Version::V3, AuthConfig::None, &v)).unwrap_err();
    assert_eq!(e, RxError::Version { got: 4, ours: 3 });
    assert_eq!(e.counter(), "version_err");
    // The version is checked before the length its nibble implies (issue 26): versions 0, 1, 3,
    // 4 and 15 on a v2 advert's 20 bytes are version errors, not "address count ... length".
    let mut v2 = bytes(&pkt(Version::V2, Auth::None, GROUP, 255));
    for ver in [0u8, 1, 3, 4, 15] {
        v2[20] = (ver << 4) | 1;
        fix_vrrp(&mut v2, 20, false);
        let e = validate_packet(&v2, &ctx(Version::V2, AuthConfig::None, &v)).unwrap_err();
        assert_eq!(e, RxError::Version { got: ver, ours: 2 }, "version {ver}");
        assert_eq!(e.counter(), "version_err");
    }
}

// Proves a type other than ADVERTISEMENT is rejected.
#[test]
fn wrong_type() {
    let v = vips();
    let mut b = v3ok();
    b[20] = 0x32;
    fix_vrrp(&mut b, 20, true);
    let e = validate_packet(&b, &ctx(Version::V3, AuthConfig::None, &v)).unwrap_err();
    assert_eq!(e, RxError::Type(2));
    assert_eq!(e.counter(), "invalid_type_rcvd");
}

// Proves a bad VRRP checksum is rejected, and the v3_checksum_as_v2 interop switch accepts a
// v3-over-IPv4 checksum computed without the pseudo-header (and, as keepalived, any checksum).
#[test]
fn checksum_and_v3_as_v2() {
    let v = vips();
    let mut b = v3ok();
    b[27] ^= 1;
    let e = validate_packet(&b, &ctx(Version::V3, AuthConfig::None, &v)).unwrap_err();
    assert_eq!(e, RxError::Checksum);
    assert_eq!(e.counter(), "chk_err");
    let p = pkt(Version::V3, Auth::None, GROUP, 255);
    let b = p.emit(ChecksumMode::MessageOnly, None, false).unwrap();
    assert_eq!(
        validate_packet(&b, &ctx(Version::V3, AuthConfig::None, &v)),
        Err(RxError::Checksum)
    );
    let mut c = ctx(Version::V3, AuthConfig::None, &v);
    c.v3_checksum_as_v2 = true;
    assert!(validate_packet(&b, &c).is_ok());
    assert!(
        validate_packet(&v3ok(), &c).is_ok(),
        "standard checksums still accepted"
    );
    // keepalived (2.2.8 to 2.4.3) does not check a v3 checksum at all with the switch.
    let mut bad = v3ok();
    bad[27] ^= 1;
    assert!(
        validate_packet(&bad, &c).is_ok(),
        "any checksum with the switch"
    );
}

// Proves an advert for another VRID is rejected.
#[test]
fn vrid_mismatch() {
    let v = vips();
    let mut c = ctx(Version::V3, AuthConfig::None, &v);
    c.vrid = Vrid::new(8).unwrap();
    let e = validate_packet(&v3ok(), &c).unwrap_err();
    assert_eq!(e, RxError::VridMismatch(7));
    assert_eq!(e.counter(), "vrid_err");
}

// Proves v2 authentication: unknown type, type mismatch, wrong password, AH present/absent
// mismatch, wrong AH key, AH replay and wrong SPI are each rejected with their reason.
#[test]
fn v2_authentication() {
    let v = vips();
    let pass = AuthConfig::Simple(Auth::pad_password(b"secret"));
    let good = bytes(&pkt(
        Version::V2,
        Auth::Simple(Auth::pad_password(b"secret")),
        GROUP,
        255,
    ));
    assert!(validate_packet(&good, &ctx(Version::V2, pass, &v)).is_ok());
    let wrong = bytes(&pkt(
        Version::V2,
        Auth::Simple(Auth::pad_password(b"guess")),
        GROUP,
        255,
    ));
    assert_eq!(
        validate_packet(&wrong, &ctx(Version::V2, pass, &v)),
        Err(RxError::AuthPassword)
    );
    let none = bytes(&pkt(Version::V2, Auth::None, GROUP, 255));
    assert_eq!(
        validate_packet(&none, &ctx(Version::V2, pass, &v)),
        Err(RxError::AuthTypeMismatch { got: 0, ours: 1 })
    );
    let mut bad_type = none.clone();
    bad_type[24] = 9;
    fix_vrrp(&mut bad_type, 20, false);
    let e = validate_packet(&bad_type, &ctx(Version::V2, AuthConfig::None, &v)).unwrap_err();
    assert_eq!(e, RxError::InvalidAuthType(9));
    assert_eq!(e.counter(), "invalid_authtype");

    let key = AuthConfig::Ah(Auth::pad_password(b"key"));
    let ah = bytes(&pkt(Version::V2, Auth::Ah, GROUP, 255));
    let acc = validate_packet(&ah, &ctx(Version::V2, key, &v)).unwrap();
    assert_eq!(acc.ah_seq, Some(5));
    assert_eq!(
        validate_packet(&ah, &ctx(Version::V2, AuthConfig::None, &v)),
        Err(RxError::AuthTypeMismatch { got: 2, ours: 0 })
    );
    assert!(matches!(
        validate_packet(&none, &ctx(Version::V2, key, &v)),
        Err(RxError::AuthTypeMismatch { .. })
    ));
    let other = AuthConfig::Ah(Auth::pad_password(b"nope"));
    assert_eq!(
        validate_packet(&ah, &ctx(Version::V2, other, &v)),
        Err(RxError::AhIcv)
    );
    let mut c = ctx(Version::V2, key, &v);
    c.ah_last_seq = 5;
    assert_eq!(
        validate_packet(&ah, &c),
        Err(RxError::AhReplay { seq: 5, last: 5 })
    );
    // SPI not the source address (ICV recomputed so only the SPI is wrong).
    let mut p = pkt(Version::V2, Auth::Ah, GROUP, 255);
    if let Some(h) = p.ah.as_mut() {
        h.spi = 1;
    }
    let b = bytes(&p);
    assert_eq!(
        validate_packet(&b, &ctx(Version::V2, key, &v)),
        Err(RxError::AhSpi { spi: 1 })
    );
    // Replacing the AH next header.
    let mut p = pkt(Version::V2, Auth::Ah, GROUP, 255);
    if let Some(h) = p.ah.as_mut() {
        h.next_header = 6;
    }
    let b = bytes(&p);
    let e = validate_packet(&b, &ctx(Version::V2, key, &v)).unwrap_err();
    assert_eq!(e, RxError::AhNextHeader(6));
}

// Proves RFC 3768 §7.1: a v2 advert with another interval is discarded.
#[test]
fn v2_interval_mismatch() {
    let v = vips();
    let mut p = pkt(Version::V2, Auth::None, GROUP, 255);
    p.advert.interval = AdvertInterval::V2Secs(3);
    let e = validate_packet(&bytes(&p), &ctx(Version::V2, AuthConfig::None, &v)).unwrap_err();
    assert_eq!(e, RxError::IntervalMismatch { got: 3, ours: 1 });
    // v3: reported, not rejected (RFC 5798 §7.1 SHOULD log).
    let mut p = pkt(Version::V3, Auth::None, GROUP, 255);
    p.advert.interval = AdvertInterval::V3(Centisecs(300));
    let a = validate_packet(&bytes(&p), &ctx(Version::V3, AuthConfig::None, &v)).unwrap();
    assert!(a.interval_mismatch);
}

// Proves the address count must match the length (beyond Ethernet padding), and that the
// padding a short frame carries is tolerated (keepalived).
#[test]
fn count_vs_length_and_padding() {
    let v = vips();
    let mut b = v3ok();
    b[23] = 2; // count 2 but one address present
    fix_vrrp(&mut b, 20, true);
    let e = validate_packet(&b, &ctx(Version::V3, AuthConfig::None, &v)).unwrap_err();
    assert!(
        matches!(e, RxError::AddrCountLength { count: 2, .. }),
        "{e:?}"
    );
    // Ethernet padding to 46 bytes of IP payload area is accepted.
    let mut padded = v3ok();
    padded.resize(46, 0);
    assert!(validate_packet(&padded, &ctx(Version::V3, AuthConfig::None, &v)).is_ok());
    // Trailing garbage that is not padding is rejected.
    let mut long = bytes(&pkt(Version::V3, Auth::None, GROUP, 255));
    long.extend_from_slice(&[0; 3]);
    assert!(validate_packet(&long, &ctx(Version::V3, AuthConfig::None, &v)).is_err());
}

// Proves an advert whose address list differs from ours is rejected as keepalived 2.2.7 does
// ("unexpected ip number count", counted as addr_list_err), a missing address too, and that
// skip_check_adv_addr (check_addresses = false) accepts both, flagging a differing count only.
// (Corrected by issue 26: this used to assert acceptance with the check on.)
#[test]
fn address_list_mismatch_rejected_unless_skipped() {
    let ours = vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 101))];
    let e = validate_packet(&v3ok(), &ctx(Version::V3, AuthConfig::None, &ours)).unwrap_err();
    assert!(
        matches!(e, RxError::AddrMissing(a) if a == ours[0]),
        "{e:?}"
    );
    assert_eq!(e.counter(), "addr_list_err");
    let mut counters = RxCounters::default();
    counters.reject(&e);
    assert_eq!(counters.get("addr_list_err"), 1);
    let mut c = ctx(Version::V3, AuthConfig::None, &ours);
    c.check_addresses = false;
    assert!(!validate_packet(&v3ok(), &c).unwrap().addr_list_mismatch);
    let two = vec![ours[0], IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100))];
    let e = validate_packet(&v3ok(), &ctx(Version::V3, AuthConfig::None, &two)).unwrap_err();
    assert_eq!(e, RxError::AddrCount { got: 1, ours: 2 });
    assert!(
        e.to_string().contains("unexpected ip number count 1"),
        "{e}"
    );
    let mut c = ctx(Version::V3, AuthConfig::None, &two);
    c.check_addresses = false;
    let a = validate_packet(&v3ok(), &c).unwrap();
    assert!(a.addr_list_mismatch, "count differs");
    let mut counters = RxCounters::default();
    counters.accept(&a);
    assert_eq!(counters.addr_list_err, 1);
}

// Proves unicast/multicast mismatch and unknown unicast sources are rejected.
#[test]
fn unicast_rules() {
    let v = vips();
    let mut c = ctx(Version::V3, AuthConfig::None, &v);
    c.unicast = true;
    let e = validate_packet(&v3ok(), &c).unwrap_err();
    assert_eq!(
        e,
        RxError::CastMismatch {
            expected_unicast: true
        }
    );
    let uni = bytes(&pkt(
        Version::V3,
        Auth::None,
        Ipv4Addr::new(10, 0, 0, 1),
        255,
    ));
    let e = validate_packet(&uni, &ctx(Version::V3, AuthConfig::None, &v)).unwrap_err();
    assert_eq!(
        e,
        RxError::CastMismatch {
            expected_unicast: false
        }
    );
    let peers = [IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3))];
    c.unicast_peers = &peers;
    c.check_unicast_src = true;
    let e = validate_packet(&uni, &c).unwrap_err();
    assert_eq!(e, RxError::UnknownUnicastSource(IpAddr::V4(SRC)));
    let peers = [IpAddr::V4(SRC)];
    c.unicast_peers = &peers;
    assert!(validate_packet(&uni, &c).is_ok());
}

// Proves IPv6 socket payloads are validated with the hop limit from ancillary data, and that
// an IPv4 packet given to an IPv6 instance is rejected as a family mismatch.
#[test]
fn ipv6_payload_and_family() {
    let vip6 = vec![IpAddr::V6("fd00::100".parse().unwrap())];
    let src: Ipv6Addr = "fe80::2".parse().unwrap();
    let dst: Ipv6Addr = "ff02::12".parse().unwrap();
    let repr = AdvertRepr {
        vrid: Vrid::new(7).unwrap(),
        priority: Priority(100),
        interval: AdvertInterval::V3(Centisecs(100)),
        auth: Auth::None,
        addrs: vip6.clone(),
    };
    let payload = repr
        .to_bytes(ChecksumMode::PseudoHeader {
            src: IpAddr::V6(src),
            dst: IpAddr::V6(dst),
        })
        .unwrap();
    let mut c = ctx(Version::V3, AuthConfig::None, &vip6);
    c.family = Family::V6;
    assert!(validate(
        RxPacket::Ipv6 {
            payload: &payload,
            src,
            dst,
            hop_limit: 255
        },
        &c
    )
    .is_ok());
    assert_eq!(
        validate(
            RxPacket::Ipv6 {
                payload: &payload,
                src,
                dst,
                hop_limit: 1
            },
            &c
        ),
        Err(RxError::Ttl(1))
    );
    assert_eq!(validate(RxPacket::Ipv4(&v3ok()), &c), Err(RxError::Family));
}
