//! Property tests: Repr roundtrip, no panic on arbitrary bytes, and a session driven by
//! arbitrary inputs never panics and only ever transmits packets that pass the reception checks.

// Test code.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use bfd_proto::wire::Password;
use bfd_proto::*;
use proptest::prelude::*;

fn state() -> impl Strategy<Value = State> {
    (0u8..4).prop_map(State::from_bits)
}

fn auth() -> impl Strategy<Value = Option<Auth>> {
    prop_oneof![
        Just(None),
        (any::<u8>(), proptest::collection::vec(any::<u8>(), 1..=16)).prop_map(|(k, p)| Some(
            Auth::SimplePassword {
                key_id: k,
                password: Password::new(&p).unwrap()
            }
        )),
        (any::<bool>(), any::<u8>(), any::<u32>(), any::<[u8; 16]>()).prop_map(
            |(m, k, s, d)| Some(Auth::Md5 {
                meticulous: m,
                key_id: k,
                seq: s,
                digest: d
            })
        ),
        (any::<bool>(), any::<u8>(), any::<u32>(), any::<[u8; 20]>()).prop_map(
            |(m, k, s, d)| Some(Auth::Sha1 {
                meticulous: m,
                key_id: k,
                seq: s,
                digest: d
            })
        ),
    ]
}

prop_compose! {
    fn repr()(version in 0u8..8, diag in 0u8..32, state in state(),
              flags in any::<[bool; 5]>(), detect_mult in any::<u8>(),
              d in any::<[u32; 5]>(), auth in auth()) -> Repr {
        Repr {
            version, diag: Diag::from_bits(diag), state,
            poll: flags[0], final_: flags[1], control_plane_independent: flags[2],
            demand: flags[3], multipoint: flags[4], detect_mult,
            my_discriminator: d[0], your_discriminator: d[1], desired_min_tx: d[2],
            required_min_rx: d[3], required_min_echo_rx: d[4], auth,
        }
    }
}

#[derive(Debug, Clone)]
enum Step {
    Advance(u32),
    Packet(Repr, Option<u8>),
    Raw(Vec<u8>),
    AdminDown,
    AdminUp,
    SetParams(u32, u32, u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u32..2_000_000).prop_map(Step::Advance),
        4 => (repr(), proptest::option::of(any::<u8>())).prop_map(|(mut r, t)| {
            // Mostly plausible packets addressed to us.
            r.version = 1;
            r.multipoint = false;
            r.detect_mult = r.detect_mult.max(1);
            r.my_discriminator = r.my_discriminator.max(1);
            if r.your_discriminator % 2 == 0 { r.your_discriminator = 7; }
            r.auth = None;
            Step::Packet(r, t)
        }),
        1 => proptest::collection::vec(any::<u8>(), 0..80).prop_map(Step::Raw),
        1 => Just(Step::AdminDown),
        1 => Just(Step::AdminUp),
        1 => (1u32..2_000_000, 0u32..2_000_000, any::<u8>())
            .prop_map(|(a, b, c)| Step::SetParams(a, b, c)),
    ]
}

proptest! {
    /// emit then parse gives the same Repr, and the bytes the same view fields.
    #[test]
    fn repr_roundtrip(r in repr()) {
        let b = r.to_bytes().unwrap();
        prop_assert_eq!(b.len(), r.buffer_len());
        let back = Repr::parse_bytes(&b).unwrap();
        prop_assert_eq!(back, r);
        let p = Packet::new_checked(&b[..]).unwrap();
        prop_assert_eq!(usize::from(p.length()), b.len());
        prop_assert_eq!(p.auth_present(), r.auth.is_some());
    }

    /// Arbitrary bytes never panic any decoder; whatever parses re-emits to a packet that
    /// parses to the same Repr.
    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..96)) {
        let _ = Packet::new_checked(&b[..]).map(|p| (p.auth_section().map(<[u8]>::len), p.packet().len()));
        let _ = validate(&b, &RxPolicy::KEEPALIVED);
        let _ = validate(&b, &RxPolicy::RFC5880);
        if let Ok(r) = Repr::parse_bytes(&b) {
            let again = Repr::parse_bytes(&r.to_bytes().unwrap()).unwrap();
            prop_assert_eq!(again, r);
        }
    }

    /// Bytes that look like a packet (version 1, plausible length) never panic either.
    #[test]
    fn mutated_packets_never_panic(r in repr(), flips in proptest::collection::vec((0usize..64, any::<u8>()), 0..6)) {
        let mut b = r.to_bytes().unwrap();
        for (i, x) in flips { if let Some(v) = b.get_mut(i) { *v ^= x; } }
        if let Ok(v) = validate(&b, &RxPolicy::RFC5880) {
            let key = AuthKey::new(AuthType::KeyedSha1, 1, b"k").unwrap();
            let mut st = RxAuthState::default();
            if let Some(a) = &v.repr.auth {
                let _ = wire::auth::verify(v.bytes, a, &key, v.repr.detect_mult, &mut st);
            }
        }
    }

    /// A session under arbitrary inputs never panics, its deadline never lies in the past after
    /// a timer, and every packet it transmits passes the keepalived reception checks.
    #[test]
    fn session_under_arbitrary_inputs(steps in proptest::collection::vec(step(), 0..60), passive in any::<bool>(), seed in any::<u64>()) {
        let t0 = Instant::now();
        let mut now = t0;
        let cfg = SessionConfig { passive, seed, ..SessionConfig::keepalived_defaults(7) };
        let mut s = Session::new(cfg, t0);
        for st in steps {
            let out = match st {
                Step::Advance(us) => {
                    now += Duration::from_micros(u64::from(us));
                    let mut all = Vec::new();
                    let mut guard = 0;
                    while let Some(d) = s.next_deadline() {
                        if d > now || guard > 10_000 { break; }
                        guard += 1;
                        all.extend(s.handle(d.max(t0), Input::Timer));
                    }
                    all
                }
                Step::Packet(r, ttl) => {
                    let b = r.to_bytes().unwrap();
                    match validate(&b, &RxPolicy::KEEPALIVED) {
                        Ok(v) => s.handle(now, Input::Packet { packet: &v, ttl }),
                        Err(_) => Vec::new(),
                    }
                }
                Step::Raw(b) => match validate(&b, &RxPolicy::KEEPALIVED) {
                    Ok(v) => s.handle(now, Input::Packet { packet: &v, ttl: Some(255) }),
                    Err(_) => Vec::new(),
                },
                Step::AdminDown => s.handle(now, Input::AdminDown),
                Step::AdminUp => s.handle(now, Input::AdminUp),
                Step::SetParams(tx, rx, m) => s.handle(now, Input::SetParams {
                    desired_min_tx: tx, required_min_rx: rx, detect_mult: m,
                }),
            };
            for a in out {
                if let Action::Transmit(r) = a {
                    let mut buf = [0u8; 64];
                    let n = s.encode(&r, &mut buf).unwrap();
                    prop_assert!(validate(&buf[..n], &RxPolicy::KEEPALIVED).is_ok(), "{:?}", r);
                    if r.state != State::Up {
                        prop_assert!(r.desired_min_tx >= 1_000_000);
                    }
                }
            }
        }
    }
}
