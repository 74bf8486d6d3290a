//! `auth_hmac` codec and verification against the vectors of draft-cassen-vrrp-auth-hmac's
//! appendix (the ones keepalived 2.4.3's test/auth_hmac_test.c checks), and the behaviours that
//! test pins down: tampering, pseudo-header binding, freshness window, replay, send sequence.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use vrrp_proto::auth_hmac::*;
use vrrp_proto::wire::auth_ext::{
    field, split_trailer, PseudoHeader, Trailer, TrailerRepr, TRAILER_LEN,
};
use vrrp_proto::{RxError, Version, Vrid};

const KEY: [u8; 32] = [
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
];
const IPV4_VEC: &str = "3133c80100644402c0000264010100006800000080000000\
                        1b84bc4e8e43892dc6d98448f8ee2265";
const IPV6_VEC: &str = "3133c8010064a2e9fe800000000000000000000000000100\
                        010100006800000080000000c8c56146ebfd66ee10ec4d8186461b78";
const MSG4_LEN: usize = 12;
const MSG6_LEN: usize = 24;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn pseudo(src: &str, vrid: u8) -> PseudoHeader {
    PseudoHeader {
        version: Version::V3,
        vrid: Vrid::new(vrid).unwrap(),
        src: ip(src),
    }
}

fn cfg(anti_replay: AntiReplay) -> AuthHmac {
    AuthHmac::new(
        vec![Key::new(1, &KEY).unwrap()],
        1,
        Mode::Enforce,
        anti_replay,
    )
    .unwrap()
}

fn now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
}

/// Verify an image of `mlen` message bytes plus trailer with a fresh replay state.
fn verify(
    c: &AuthHmac,
    at: Duration,
    p: &PseudoHeader,
    img: &[u8],
    mlen: usize,
    st: &mut ReplayState,
) -> Result<Verdict, AuthExtError> {
    let (msg, tr) = split_trailer(img, mlen);
    c.verify(at, p, msg, tr.as_ref(), ReplaySlot::Unicast(st))
}

#[test]
fn appendix_vectors_verify_and_sign_identically() {
    let c = cfg(AntiReplay::Monotonic);
    for (img, mlen, src) in [
        (hex(IPV4_VEC), MSG4_LEN, "198.51.100.10"),
        (hex(IPV6_VEC), MSG6_LEN, "fe80::10"),
    ] {
        assert_eq!(img.len(), mlen + TRAILER_LEN);
        let p = pseudo(src, 51);
        let v = verify(&c, now(), &p, &img, mlen, &mut ReplayState::default()).unwrap();
        assert!(
            matches!(
                v,
                Verdict::Verified {
                    key_id: 1,
                    skew: None,
                    ..
                }
            ),
            "{v:?}"
        );
        // Our sender, given the same sequence, writes the identical trailer.
        let t = Trailer::new_checked(&img[mlen..]).unwrap();
        let seq = t.seq();
        assert_eq!(seq, Seq::from_parts(0x6800_0000, 0x8000, 0));
        let mut out = img[..mlen].to_vec();
        out.resize(mlen + TRAILER_LEN, 0xee);
        assert_eq!(c.sign_into(seq, &p, &mut out, mlen).unwrap(), TRAILER_LEN);
        assert_eq!(out, img, "{src}");
        // The repr round trip is exact.
        let r = TrailerRepr::parse(&t).unwrap();
        assert_eq!(&r.to_bytes()[..], &img[mlen..]);
    }
}

#[test]
fn tampering_one_byte() {
    let img = hex(IPV6_VEC);
    let c = cfg(AntiReplay::Monotonic);
    let p = pseudo("fe80::10", 51);
    let tr = |f: usize| MSG6_LEN + f;
    let cases: [(&str, usize, Option<&str>); 10] = [
        ("priority", 2, Some("auth_ext_invalid_hmac")),
        ("advert interval", 5, Some("auth_ext_invalid_hmac")),
        ("checksum", 6, None),
        ("vip", 8 + 15, Some("auth_ext_invalid_hmac")),
        ("ext type", tr(field::EXT_TYPE), Some("auth_ext_malformed")),
        ("key id", tr(field::KEY_ID), Some("auth_ext_unknown_key")),
        (
            "reserved",
            tr(field::RESERVED.start),
            Some("auth_ext_malformed"),
        ),
        (
            "seconds",
            tr(field::SEC.start),
            Some("auth_ext_invalid_hmac"),
        ),
        (
            "counter",
            tr(field::CTR.start),
            Some("auth_ext_invalid_hmac"),
        ),
        ("hmac", tr(field::HMAC.start), Some("auth_ext_invalid_hmac")),
    ];
    for (what, off, want) in cases {
        let mut b = img.clone();
        b[off] ^= 0x01;
        let got = verify(&c, now(), &p, &b, MSG6_LEN, &mut ReplayState::default());
        assert_eq!(got.err().map(|e| e.counter()), want, "tampered {what}");
    }
    // The pseudo-header binds the source address and the VRID (and version and family).
    for p in [
        pseudo("fe80::20", 51),
        pseudo("fe80::10", 52),
        PseudoHeader {
            version: Version::V2,
            ..pseudo("fe80::10", 51)
        },
    ] {
        let e = verify(&c, now(), &p, &img, MSG6_LEN, &mut ReplayState::default()).unwrap_err();
        assert!(
            matches!(e, AuthExtError::InvalidHmac { key_id: 1 }),
            "{p:?}"
        );
    }
    // A different key under the same id fails the HMAC, not the key lookup.
    let other = AuthHmac::new(
        vec![Key::new(1, &[7u8; 32]).unwrap()],
        1,
        Mode::Enforce,
        AntiReplay::Monotonic,
    )
    .unwrap();
    let e = verify(
        &other,
        now(),
        &p,
        &img,
        MSG6_LEN,
        &mut ReplayState::default(),
    )
    .unwrap_err();
    assert_eq!(e.counter(), "auth_ext_invalid_hmac");
    // Into RxError, keeping the counter.
    assert_eq!(RxError::from(e).counter(), "auth_ext_invalid_hmac");
}

#[test]
fn ipv6_checksum_written_after_signing_does_not_matter() {
    // keepalived signs with the checksum field zero, the kernel fills it (IPV6_CHECKSUM over
    // the whole payload, trailer included) afterwards; the HMAC reads the field as zero.
    let c = cfg(AntiReplay::Time { window: 5 });
    let p = pseudo("fe80::10", 51);
    let mut img = hex(IPV6_VEC);
    img[6] = 0;
    img[7] = 0;
    let t = now();
    let seq = SendSequence::default().next(t, c.anti_replay());
    c.sign_into(seq, &p, &mut img, MSG6_LEN).unwrap();
    img[6] = 0xab;
    img[7] = 0xcd;
    let mut st = ReplayState::default();
    assert!(matches!(
        verify(&c, t, &p, &img, MSG6_LEN, &mut st),
        Ok(Verdict::Verified {
            skew: Some(0),
            skew_warning: false,
            ..
        })
    ));
    // Replayed to the same receiver: rejected; the same copy at a second peer: accepted.
    assert!(matches!(
        verify(&c, t, &p, &img, MSG6_LEN, &mut st),
        Err(AuthExtError::Replay { .. })
    ));
    assert!(verify(&c, t, &p, &img, MSG6_LEN, &mut ReplayState::default()).is_ok());
}

#[test]
fn freshness_window() {
    let c = cfg(AntiReplay::Time { window: 5 });
    let p = pseudo("fe80::10", 51);
    let mut img = hex(IPV6_VEC);
    let t = now();
    for (offset, stale) in [
        (-100i64, true),
        (100, true),
        (-6, true),
        (6, true),
        (-5, false),
        (5, false),
        (3, false),
    ] {
        let at = Duration::from_secs((t.as_secs() as i64 + offset) as u64);
        let seq = Seq::from_clock(t);
        c.sign_into(seq, &p, &mut img, MSG6_LEN).unwrap();
        let r = verify(&c, at, &p, &img, MSG6_LEN, &mut ReplayState::default());
        if stale {
            assert_eq!(
                r,
                Err(AuthExtError::Stale {
                    skew: offset as i32,
                    window: 5
                }),
                "{offset}"
            );
        } else {
            let Ok(Verdict::Verified {
                skew, skew_warning, ..
            }) = r
            else {
                panic!("{offset}: {r:?}")
            };
            assert_eq!(skew, Some(offset as i32));
            // Warned once past half the window (5 / 2 = 2 s).
            assert_eq!(skew_warning, offset.abs() > 2, "{offset}");
        }
    }
    // Stale is decided before the key lookup and the HMAC (a garbage tag is still "stale").
    let mut b = img.clone();
    b[MSG6_LEN + field::KEY_ID] = 9;
    let at = t + Duration::from_secs(100);
    assert!(matches!(
        verify(&c, at, &p, &b, MSG6_LEN, &mut ReplayState::default()),
        Err(AuthExtError::Stale { .. })
    ));
    // Monotonic mode has no window.
    let m = cfg(AntiReplay::Monotonic);
    assert!(verify(&m, at, &p, &img, MSG6_LEN, &mut ReplayState::default()).is_ok());
}

#[test]
fn send_sequence() {
    let t = Duration::new(1_800_000_000, 500_000_000);
    let w = AntiReplay::Time { window: 5 };
    let mut s = SendSequence::default();
    let a = s.next(t, w);
    assert_eq!(a, Seq::from_parts(1_800_000_000, 0x8000, 0));
    // Same clock reading: the counter grows.
    assert_eq!(s.next(t, w), Seq(a.0 + 1));
    assert_eq!(s.next(t, w), Seq(a.0 + 2));
    // The clock moves: back to the clock.
    let t2 = t + Duration::from_millis(20);
    assert_eq!(s.next(t2, w), Seq::from_clock(t2));
    // Time mode: a value stranded an hour ahead restarts from the clock.
    let mut s = SendSequence::starting_at(Seq::from_parts(1_800_003_600, 0, 0));
    assert_eq!(s.next(t, w), Seq::from_clock(t));
    // ... but not when only the window ahead.
    let mut s = SendSequence::starting_at(Seq::from_parts(1_800_000_005, 0, 0));
    assert_eq!(s.next(t, w), Seq::from_parts(1_800_000_005, 0, 1));
    // Monotonic keeps strict growth.
    let mut s = SendSequence::starting_at(Seq::from_parts(1_800_003_600, 0, 0));
    assert_eq!(
        s.next(t, AntiReplay::Monotonic),
        Seq::from_parts(1_800_003_600, 0, 1)
    );
    // The counter carries into the timestamp, and the 64-bit field wraps.
    let mut s = SendSequence::starting_at(Seq::from_parts(1_900_000_000, 0xffff, 0xffff));
    assert_eq!(
        s.next(t, AntiReplay::Monotonic),
        Seq::from_parts(1_900_000_001, 0, 0)
    );
    assert!(Seq(0).after(Seq(u64::MAX)));
    assert!(!Seq(u64::MAX).after(Seq(0)));
}

#[test]
fn replay_mark() {
    let t = Duration::from_secs(1_800_000_000);
    let w = AntiReplay::Time { window: 5 };
    let mut st = ReplayState::default();
    let s1 = Seq::from_parts(1_800_000_000, 0, 0);
    st.accept(s1, t, w).unwrap();
    assert_eq!(
        st.accept(s1, t, w),
        Err(AuthExtError::Replay {
            seq: s1.0,
            last: s1.0
        })
    );
    assert!(st.accept(Seq(s1.0 - 1), t, w).is_err());
    st.accept(Seq(s1.0 + 1), t, w).unwrap();
    // A mark stranded an hour in the future expires in time mode ...
    let mut st = ReplayState::default();
    st.accept(
        Seq::from_parts(1_800_003_600, 0, 0),
        t,
        AntiReplay::Monotonic,
    )
    .unwrap();
    st.accept(s1, t, w).unwrap();
    assert_eq!(st.last(), Some(s1));
    // ... and is kept in monotonic mode.
    let mut st = ReplayState::default();
    st.accept(
        Seq::from_parts(1_800_007_200, 0, 0),
        t,
        AntiReplay::Monotonic,
    )
    .unwrap();
    assert!(st.accept(s1, t, AntiReplay::Monotonic).is_err());
}

#[test]
fn multicast_senders_lru() {
    let c = cfg(AntiReplay::Monotonic);
    let mut table = McastSenders::default();
    let base = hex(IPV6_VEC);
    let t = now();
    let sign = |src: &str, seq: u64| {
        let mut b = base.clone();
        c.sign_into(Seq(seq), &pseudo(src, 51), &mut b, MSG6_LEN)
            .unwrap();
        b
    };
    let check = |table: &mut McastSenders, src: &str, img: &[u8]| {
        let (m, tr) = split_trailer(img, MSG6_LEN);
        c.verify(
            t,
            &pseudo(src, 51),
            m,
            tr.as_ref(),
            ReplaySlot::Multicast(table),
        )
    };
    let old = sign("fe80::1", 10);
    assert!(check(&mut table, "fe80::1", &old).is_ok());
    assert!(check(&mut table, "fe80::1", &old).is_err());
    // A forged advert from a fifth source does not take a slot (the HMAC fails first).
    let mut forged = sign("fe80::9", 1);
    forged[MSG6_LEN + field::HMAC.start] ^= 1;
    assert!(check(&mut table, "fe80::9", &forged).is_err());
    assert_eq!(table.senders().count(), 1);
    // Four more genuine senders evict the least recently used (fe80::1).
    for s in ["fe80::2", "fe80::3", "fe80::4", "fe80::5"] {
        assert!(check(&mut table, s, &sign(s, 5)).is_ok());
    }
    assert_eq!(table.senders().count(), MCAST_SENDERS);
    assert!(table.senders().all(|(a, _)| a != ip("fe80::1")));
    // fe80::1's mark is gone: its old advert is accepted again (the window would stop it
    // in time mode).
    assert!(check(&mut table, "fe80::1", &old).is_ok());
}

#[test]
fn modes_and_missing_trailer() {
    let p = pseudo("192.0.2.1", 7);
    let img = hex(IPV4_VEC);
    for (mode, missing_ok, signs) in [
        (Mode::Enforce, false, true),
        (Mode::Permissive, true, true),
        (Mode::ReceiveOnly, true, false),
    ] {
        let c = AuthHmac::new(
            vec![Key::new(1, &KEY).unwrap()],
            1,
            mode,
            AntiReplay::Monotonic,
        )
        .unwrap();
        let r = verify(
            &c,
            now(),
            &p,
            &img[..MSG4_LEN],
            MSG4_LEN,
            &mut ReplayState::default(),
        );
        if missing_ok {
            assert_eq!(r, Ok(Verdict::Unsigned));
        } else {
            assert_eq!(r, Err(AuthExtError::Missing));
            assert_eq!(r.unwrap_err().counter(), "auth_ext_missing");
        }
        assert_eq!(c.trailer_len() == TRAILER_LEN, signs);
        let mut buf = img.clone();
        let before = buf.clone();
        let n = c.sign_into(Seq(1), &p, &mut buf, MSG4_LEN).unwrap();
        assert_eq!(n == TRAILER_LEN, signs);
        if !signs {
            assert_eq!(buf, before, "receive-only leaves the buffer untouched");
        }
        assert_eq!(mode.signs(), signs);
    }
    // A trailer is recognised only at exactly message + 28 bytes.
    assert!(split_trailer(&img, MSG4_LEN).1.is_some());
    assert!(split_trailer(&img[..img.len() - 1], MSG4_LEN).1.is_none());
    assert!(split_trailer(&img[..MSG4_LEN + 2], MSG4_LEN).1.is_none());
}

#[test]
fn keys_and_config() {
    assert_eq!(Key::new(0, &KEY), Err(KeyError::IdZero));
    assert_eq!(Key::new(1, &[0; 31]), Err(KeyError::Length(31)));
    assert_eq!(Key::new(1, &[0; 65]), Err(KeyError::Length(65)));
    assert!(Key::new(255, &[0; 64]).is_ok());
    assert_eq!(
        Key::decode_value("hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
        KEY.to_vec()
    );
    assert_eq!(Key::decode_value("hex:00 01\t0A f"), vec![0, 1, 10, 15]);
    assert_eq!(Key::decode_value("hex:0g"), Vec::<u8>::new());
    assert_eq!(Key::decode_value("hex:"), Vec::<u8>::new());
    assert_eq!(Key::decode_value("passphrase"), b"passphrase".to_vec());
    assert!(!format!("{:?}", Key::new(1, &KEY).unwrap()).contains("31"));
    let k = |id| Key::new(id, &KEY).unwrap();
    assert_eq!(
        AuthHmac::new(vec![k(1), k(1)], 1, Mode::Enforce, AntiReplay::Monotonic),
        Err(ConfigError::DuplicateKey(1))
    );
    assert_eq!(
        AuthHmac::new(vec![k(1)], 2, Mode::Enforce, AntiReplay::Monotonic),
        Err(ConfigError::NoActiveKey(2))
    );
    assert_eq!(
        AuthHmac::new(vec![k(1)], 1, Mode::Enforce, AntiReplay::Time { window: 0 }),
        Err(ConfigError::Window(0))
    );
    assert_eq!(
        AuthHmac::new(
            vec![k(1)],
            1,
            Mode::Enforce,
            AntiReplay::Time { window: 301 }
        ),
        Err(ConfigError::Window(301))
    );
    for (int_ms, w) in [(1000, 5), (100, 5), (2500, 6), (3000, 9), (200_000, 300)] {
        assert_eq!(
            AntiReplay::default_window(Duration::from_millis(int_ms)),
            w,
            "{int_ms}"
        );
    }
    // Make-before-break: a receiver with keys 1 and 2 verifies either; sending uses active.
    let both = AuthHmac::new(
        vec![k(1), Key::new(2, &[9u8; 40]).unwrap()],
        2,
        Mode::Enforce,
        AntiReplay::Monotonic,
    )
    .unwrap();
    let p = pseudo("fe80::10", 51);
    let img = hex(IPV6_VEC);
    assert!(verify(
        &both,
        now(),
        &p,
        &img,
        MSG6_LEN,
        &mut ReplayState::default()
    )
    .is_ok());
    let t = both.sign(Seq(5), &p, &img[..MSG6_LEN]).unwrap();
    assert_eq!(t.key_id, 2);
    let mut b = img[..MSG6_LEN].to_vec();
    b.extend_from_slice(&t.to_bytes());
    assert!(verify(&both, now(), &p, &b, MSG6_LEN, &mut ReplayState::default()).is_ok());
    assert_eq!(
        verify(
            &cfg(AntiReplay::Monotonic),
            now(),
            &p,
            &b,
            MSG6_LEN,
            &mut ReplayState::default()
        ),
        Err(AuthExtError::UnknownKey(2))
    );
}

#[test]
fn counters() {
    let mut c = AuthExtCounters::default();
    for e in [
        AuthExtError::Missing,
        AuthExtError::Malformed {
            ext_type: 2,
            reserved: 0,
        },
        AuthExtError::UnknownKey(3),
        AuthExtError::InvalidHmac { key_id: 1 },
        AuthExtError::Stale { skew: 9, window: 5 },
        AuthExtError::Replay { seq: 1, last: 2 },
        AuthExtError::Replay { seq: 1, last: 2 },
    ] {
        c.count(&e);
        assert!(AuthExtError::COUNTERS.contains(&e.counter()));
    }
    let by: Vec<_> = c.by_name().into_iter().map(|(_, n)| n).collect();
    assert_eq!(by, vec![1, 1, 1, 2, 1, 1]);
    let names: Vec<_> = c.by_name().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, AuthExtError::COUNTERS.to_vec());
}
