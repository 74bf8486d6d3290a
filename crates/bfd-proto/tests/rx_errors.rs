//! Hostile and malformed control packets: each is refused with its own error variant and
//! counter, and none changes the state of an Up session.

// Test code.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use bfd_proto::wire::field;
use bfd_proto::*;

const LOCAL: u32 = 0xaaaa_0001;
const REMOTE: u32 = 0xbbbb_0002;

fn good() -> Repr {
    Repr {
        state: State::Up,
        detect_mult: 3,
        my_discriminator: REMOTE,
        your_discriminator: LOCAL,
        desired_min_tx: 10_000,
        required_min_rx: 10_000,
        ..Repr::default()
    }
}

/// A session brought Up by hand (Down -> Init -> Up).
fn up_session(t0: Instant) -> Session {
    let mut s = Session::new(SessionConfig::keepalived_defaults(LOCAL), t0);
    for st in [State::Down, State::Up] {
        let r = Repr {
            state: st,
            your_discriminator: if st == State::Down { 0 } else { LOCAL },
            ..good()
        };
        let b = r.to_bytes().unwrap();
        let v = validate(&b, &RxPolicy::KEEPALIVED).unwrap();
        s.handle(
            t0,
            Input::Packet {
                packet: &v,
                ttl: Some(255),
            },
        );
    }
    assert_eq!(s.state(), State::Up);
    s
}

fn bytes(f: impl FnOnce(&mut Repr)) -> Vec<u8> {
    let mut r = good();
    f(&mut r);
    r.to_bytes().unwrap()
}

/// Session-independent checks, in RFC 5880 §6.8.6 order, then keepalived's extras.
#[test]
fn validate_rejects_each_reason_distinctly() {
    let mut cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "rx_truncated"),
        ("version 0", bytes(|r| r.version = 0), "rx_version"),
        ("version 2", bytes(|r| r.version = 2), "rx_version"),
        ("23 bytes", bytes(|_| {})[..23].to_vec(), "rx_truncated"),
        (
            "zero mult",
            bytes(|r| r.detect_mult = 0),
            "rx_zero_detect_mult",
        ),
        (
            "multipoint",
            bytes(|r| r.multipoint = true),
            "rx_multipoint",
        ),
        (
            "my discr 0",
            bytes(|r| r.my_discriminator = 0),
            "rx_zero_my_discr",
        ),
        (
            "your discr 0 in Up",
            bytes(|r| r.your_discriminator = 0),
            "rx_zero_your_discr",
        ),
        (
            "your discr 0 in Init",
            bytes(|r| {
                r.your_discriminator = 0;
                r.state = State::Init
            }),
            "rx_zero_your_discr",
        ),
        (
            "poll and final",
            bytes(|r| {
                r.poll = true;
                r.final_ = true
            }),
            "rx_poll_and_final",
        ),
        (
            "diag 9",
            bytes(|r| r.diag = Diag::Reserved(9)),
            "rx_invalid_diag",
        ),
    ];
    let mut b = bytes(|_| {});
    b[field::LENGTH] = 20;
    cases.push(("length 20", b, "rx_length_too_small"));
    let mut b = bytes(|_| {});
    b[field::LENGTH] = 40;
    cases.push(("length beyond payload", b, "rx_length_exceeds_payload"));
    let mut b = bytes(|_| {});
    b.extend_from_slice(&[0; 4]);
    cases.push(("trailing bytes", b, "rx_length_mismatch"));
    // A bit set with Length 24: no room for the auth section.
    let mut b = bytes(|_| {});
    b[field::STA_FLAGS] |= wire::flag::AUTH;
    cases.push(("A bit, no section", b, "rx_length_too_small"));
    // Auth section whose own length runs past Length.
    let mut b = bytes(|r| {
        r.auth = Some(Auth::SimplePassword {
            key_id: 1,
            password: wire::Password::new(b"pw").unwrap(),
        })
    });
    b[field::AUTH + 1] = 10;
    cases.push(("auth len past end", b, "rx_auth_length"));
    // Reserved auth type.
    let mut b = bytes(|r| {
        r.auth = Some(Auth::SimplePassword {
            key_id: 1,
            password: wire::Password::new(b"pw").unwrap(),
        })
    });
    b[field::AUTH] = 7;
    cases.push(("auth type 7", b, "rx_auth_type"));
    // MD5 type with a simple-password-sized section.
    let mut b = bytes(|r| {
        r.auth = Some(Auth::SimplePassword {
            key_id: 1,
            password: wire::Password::new(b"pw").unwrap(),
        })
    });
    b[field::AUTH] = 2;
    cases.push(("md5 wrong len", b, "rx_auth_length"));

    let mut counters = RxCounters::default();
    for (what, b, counter) in &cases {
        let e = validate(b, &RxPolicy::KEEPALIVED).unwrap_err();
        assert_eq!(e.counter(), *counter, "{what}: {e}");
        counters.reject(&e);
    }
    assert_eq!(counters.rejected_total(), cases.len() as u64);
    // The RFC-only policy accepts keepalived's extras.
    for (what, b) in [
        ("poll and final", &cases[9].1),
        ("diag 9", &cases[10].1),
        ("trailing bytes", &cases[13].1),
    ] {
        assert!(validate(b, &RxPolicy::RFC5880).is_ok(), "{what}");
    }
}

/// Session-level refusals (TTL, discriminator, auth, AdminDown): dropped, counted, no state
/// change, no timer change.
#[test]
fn session_refusals_change_nothing() {
    let t0 = Instant::now();
    let mut s = up_session(t0);
    let deadline = s.next_deadline();
    let timers = s.timers();
    let down = bytes(|r| r.state = State::AdminDown);
    let cases: Vec<(Vec<u8>, Option<u8>, &str)> = vec![
        (down.clone(), Some(254), "rx_ttl"),
        (down.clone(), Some(1), "rx_ttl"),
        (
            bytes(|r| {
                r.state = State::Down;
                r.your_discriminator = 0x1234
            }),
            Some(255),
            "rx_no_session",
        ),
        (
            bytes(|r| {
                r.state = State::AdminDown;
                r.auth = Some(Auth::Md5 {
                    meticulous: false,
                    key_id: 1,
                    seq: 1,
                    digest: [0; 16],
                })
            }),
            Some(255),
            "rx_auth_unexpected",
        ),
    ];
    let mut seen = std::collections::BTreeMap::new();
    for (b, ttl, counter) in &cases {
        let v = validate(b, &RxPolicy::KEEPALIVED).unwrap();
        let out = s.handle(
            t0 + Duration::from_millis(1),
            Input::Packet {
                packet: &v,
                ttl: *ttl,
            },
        );
        match out.as_slice() {
            [Action::Dropped(e)] => assert_eq!(e.counter(), *counter),
            other => panic!("{counter}: {other:?}"),
        }
        assert_eq!(s.state(), State::Up);
        assert_eq!(s.next_deadline(), deadline);
        assert_eq!(s.timers(), timers);
        *seen.entry(*counter).or_insert(0u64) += 1;
        assert_eq!(s.counters().rx.get(counter), seen[counter]);
    }
    // Without a TTL (no control message) the check is skipped, like keepalived.
    let v = validate(&down, &RxPolicy::KEEPALIVED).unwrap();
    s.handle(
        t0,
        Input::Packet {
            packet: &v,
            ttl: None,
        },
    );
    assert_eq!(s.state(), State::Down);
    // Multihop: keepalived's ttl/max_hops rule.
    assert_eq!(min_rx_ttl(255, 0), Some(255));
    assert_eq!(min_rx_ttl(64, 10), Some(54));
    assert_eq!(min_rx_ttl(255, 255), None);
}
