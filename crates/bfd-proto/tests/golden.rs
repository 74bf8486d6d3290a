//! Golden bytes from real peers: FRR's bfdd (8.4, Debian 12) and the reference keepalived
//! (2.2.7, Debian, --enable-bfd) talking to each other, captured by
//! `scripts/capture-peers.sh` and turned into `tests/fixtures/frr-keepalived.tsv` by
//! `scripts/pcap-to-fixtures.sh` (tshark's own field decode beside each payload).

// Test code: unwrap/panic on a broken fixture is the point.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use bfd_proto::*;

const FIXTURE: &str = include_str!("fixtures/frr-keepalived.tsv");
const FRR: &str = "10.98.0.1";
const KEEPALIVED: &str = "10.98.0.2";

struct Line {
    frame: u32,
    time: Duration,
    src: String,
    ttl: u8,
    sta: u8,
    diag: u8,
    flags: u8,
    mult: u8,
    my: u32,
    your: u32,
    min_tx: u32,
    min_rx: u32,
    echo: u32,
    bytes: Vec<u8>,
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn num(s: &str) -> u32 {
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).unwrap(),
        None => s.parse().unwrap(),
    }
}

fn lines() -> Vec<Line> {
    FIXTURE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 14, "{l}");
            Line {
                frame: num(f[0]),
                time: Duration::from_secs_f64(f[1].parse().unwrap()),
                src: f[2].to_string(),
                ttl: num(f[3]) as u8,
                sta: num(f[4]) as u8,
                diag: num(f[5]) as u8,
                flags: num(f[6]) as u8,
                mult: num(f[7]) as u8,
                my: num(f[8]),
                your: num(f[9]),
                min_tx: num(f[10]),
                min_rx: num(f[11]),
                echo: num(f[12]),
                bytes: hex(f[13]),
            }
        })
        .collect()
}

fn frame(n: u32) -> Line {
    lines().into_iter().find(|l| l.frame == n).unwrap()
}

/// Every captured packet parses to what tshark decoded, passes the keepalived and the RFC
/// reception checks, and re-emits to the identical bytes.
#[test]
fn captured_packets_parse_as_tshark_decodes_and_reemit_identically() {
    let all = lines();
    assert!(all.iter().any(|l| l.src == FRR) && all.iter().any(|l| l.src == KEEPALIVED));
    for l in &all {
        let p = Packet::new_checked(&l.bytes[..]).unwrap();
        assert_eq!(p.state().bits(), l.sta, "frame {}", l.frame);
        assert_eq!(p.diag().bits(), l.diag, "frame {}", l.frame);
        // tshark's bfd.flags is the whole second byte (state bits included).
        assert_eq!(l.bytes[1], l.flags, "frame {}", l.frame);
        assert_eq!(p.detect_mult(), l.mult);
        assert_eq!(p.my_discriminator(), l.my);
        assert_eq!(p.your_discriminator(), l.your);
        assert_eq!(p.desired_min_tx(), l.min_tx);
        assert_eq!(p.required_min_rx(), l.min_rx);
        assert_eq!(p.required_min_echo_rx(), l.echo);
        assert_eq!(l.ttl, 255, "single hop: sent with TTL 255");
        for policy in [RxPolicy::KEEPALIVED, RxPolicy::RFC5880] {
            let v = validate(&l.bytes, &policy).unwrap();
            assert_eq!(v.bytes, &l.bytes[..]);
            assert_eq!(v.repr.to_bytes().unwrap(), l.bytes, "frame {}", l.frame);
        }
        let r = Repr::parse_bytes(&l.bytes).unwrap();
        assert_eq!(r.auth, None);
        assert!(!r.multipoint && !r.demand && !r.control_plane_independent);
    }
}

/// Specific packets of the exchange decode to the expected meaning.
#[test]
fn key_packets_have_the_expected_meaning() {
    // keepalived's first packet: Down, Your Discriminator 0, idle 1 s TX, echo 0.
    let r = Repr::parse_bytes(&frame(1).bytes).unwrap();
    assert_eq!((r.state, r.your_discriminator), (State::Down, 0));
    assert_eq!((r.desired_min_tx, r.required_min_rx), (1_000_000, 100_000));
    // FRR answers Init (advertising 1 s RX and 50 ms echo while not Up).
    let r = Repr::parse_bytes(&frame(2).bytes).unwrap();
    assert_eq!(r.state, State::Init);
    assert_eq!(r.required_min_echo_rx, 50_000);
    // Both start a Poll Sequence on Up and answer with Final.
    for (n, p, f) in [
        (3, true, false),
        (4, true, false),
        (5, false, true),
        (6, false, true),
    ] {
        let r = Repr::parse_bytes(&frame(n).bytes).unwrap();
        assert_eq!((r.state, r.poll, r.final_), (State::Up, p, f), "frame {n}");
    }
    // FRR's interval change to 200 ms goes by Poll.
    let r = Repr::parse_bytes(&frame(130).bytes).unwrap();
    assert!(r.poll && r.desired_min_tx == 200_000);
    // FRR shutdown: AdminDown; keepalived goes Down with diag 3 and a new discriminator.
    let r = Repr::parse_bytes(&frame(185).bytes).unwrap();
    assert_eq!(r.state, State::AdminDown);
    let r = Repr::parse_bytes(&frame(186).bytes).unwrap();
    assert_eq!((r.state, r.diag), (State::Down, Diag::NeighborSignaledDown));
    assert_ne!(r.my_discriminator, frame(1).my);
}

fn keepalived_side_config() -> SessionConfig {
    // The capture's bfd_instance: min_rx 100, min_tx 100, idle_tx 1000, multiplier 3.
    SessionConfig {
        desired_min_tx: 100_000,
        required_min_rx: 100_000,
        idle_tx: 1_000_000,
        detect_mult: 3,
        ..SessionConfig::keepalived_defaults(frame(1).my)
    }
}

fn sent(actions: &[Action]) -> Vec<Vec<u8>> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Transmit(r) => Some(r.to_bytes().unwrap()),
            _ => None,
        })
        .collect()
}

/// Replays FRR's side of the capture into our session configured as the reference keepalived
/// was: every packet our session sends is byte-identical to the one keepalived sent at that
/// point (initial Down, Up with Poll, Final, steady Up, Down diag 3 after FRR's AdminDown, and
/// Your Discriminator cleared one detection time later).
#[test]
fn session_replaying_frr_sends_keepalived_bytes() {
    let t0 = Instant::now();
    let mut s = Session::new(keepalived_side_config(), t0);
    // Startup: immediate first packet, Down (keepalived frame 1).
    assert_eq!(s.next_deadline(), Some(t0));
    let out = s.handle(t0, Input::Timer);
    assert_eq!(sent(&out), vec![frame(1).bytes]);

    let feed = |s: &mut Session, n: u32| {
        let l = frame(n);
        let v = validate(&l.bytes, &RxPolicy::KEEPALIVED).unwrap();
        s.handle(
            t0 + l.time,
            Input::Packet {
                packet: &v,
                ttl: Some(l.ttl),
            },
        )
    };
    let tick = |s: &mut Session| {
        let t = s.next_deadline().unwrap();
        (t, s.handle(t, Input::Timer))
    };

    // FRR Init -> we go Up at once and start a Poll Sequence; the next periodic packet is
    // keepalived's frame 3 (Up, P, 100 ms).
    let out = feed(&mut s, 2);
    assert!(out.contains(&Action::StateChange(StateChange {
        from: State::Down,
        to: State::Up,
        diag: Diag::None,
    })));
    assert_eq!(s.state(), State::Up);
    let (_, out) = tick(&mut s);
    assert_eq!(sent(&out), vec![frame(3).bytes]);
    // FRR's Poll is answered at once with keepalived's frame 5 (F, no P).
    let out = feed(&mut s, 4);
    assert_eq!(sent(&out), vec![frame(5).bytes]);
    assert!(s.polling());
    // FRR's Final ends our Poll Sequence; then steady Up packets (keepalived frame 8).
    let out = feed(&mut s, 6);
    assert!(sent(&out).is_empty());
    assert!(!s.polling());
    assert_eq!(s.counters().polls_completed, 1);
    let (_, out) = tick(&mut s);
    assert_eq!(sent(&out), vec![frame(8).bytes]);
    assert_eq!(
        s.timers().detection_time,
        Some(Duration::from_millis(300)),
        "3 x max(100 ms, 100 ms)"
    );
    // FRR's interval change (P, 200 ms) is answered with Final (same bytes as frame 5) and
    // our detection time follows FRR's slower TX.
    let out = feed(&mut s, 130);
    assert_eq!(sent(&out), vec![frame(5).bytes]);
    assert_eq!(s.timers().detection_time, Some(Duration::from_millis(600)));
    feed(&mut s, 134);
    // FRR AdminDown -> Down, diag 3. keepalived then picks a new discriminator (the worker's
    // job here); our next packet is keepalived's frame 186.
    let out = feed(&mut s, 185);
    assert!(out.contains(&Action::StateChange(StateChange {
        from: State::Up,
        to: State::Down,
        diag: Diag::NeighborSignaledDown,
    })));
    s.set_local_discriminator(frame(186).my);
    let (_, out) = tick(&mut s);
    assert_eq!(sent(&out), vec![frame(186).bytes]);
    // One detection time (600 ms) later the remote is forgotten: keepalived's frame 187.
    let mut last = Vec::new();
    while last.is_empty() || last[0] != frame(187).bytes {
        let (t, out) = tick(&mut s);
        assert!(t < t0 + frame(185).time + Duration::from_secs(3));
        let b = sent(&out);
        if !b.is_empty() {
            last = b;
        }
    }
    assert_eq!(s.remote_discriminator(), 0);
    assert_eq!(s.counters().neighbor_down, 1);
    assert_eq!(s.counters().rx.rejected_total(), 0);
}

/// Keyed MD5 and meticulous SHA1 digests equal an independent computation (Python hashlib
/// over the packet with the zero-padded key in the digest field, RFC 5880 §6.7.3/§6.7.4), and
/// verify; one flipped bit fails. (Neither FRR 8.4 nor keepalived implement BFD auth, so there
/// is no peer capture for them.)
#[test]
fn auth_digests_match_independent_computation() {
    let base = Repr {
        state: State::Up,
        detect_mult: 5,
        my_discriminator: 0x0102_0304,
        your_discriminator: 0x0a0b_0c0d,
        desired_min_tx: 10_000,
        required_min_rx: 10_000,
        ..Repr::default()
    };
    for (ty, want) in [
        (AuthType::KeyedMd5, "927d80636c238257d82d99470ceab233"),
        (
            AuthType::MeticulousKeyedSha1,
            "8c5b679f7ec3dadf59d7d51cdafc940e88abef8d",
        ),
    ] {
        let key = AuthKey::new(ty, 5, b"secret").unwrap();
        let r = Repr {
            auth: Some(key.section(0x1000)),
            ..base
        };
        let mut buf = [0u8; 64];
        let n = r.emit_signed(&mut buf, key.secret()).unwrap();
        let digest = &buf[32..n];
        assert_eq!(digest, &hex(want)[..], "{ty:?}");
        let v = validate(&buf[..n], &RxPolicy::KEEPALIVED).unwrap();
        let mut st = RxAuthState::default();
        let sec = v.repr.auth.unwrap();
        wire::auth::verify(v.bytes, &sec, &key, 5, &mut st).unwrap();
        assert_eq!((st.known, st.rcv_seq), (true, 0x1000));
        buf[12] ^= 1;
        let v = validate(&buf[..n], &RxPolicy::KEEPALIVED).unwrap();
        let mut st = RxAuthState::default();
        assert_eq!(
            wire::auth::verify(v.bytes, &sec, &key, 5, &mut st),
            Err(RxError::AuthDigest)
        );
    }
}
