//! Golden bytes of `auth_hmac` adverts sent by upstream keepalived 2.4.3
//! (tests/fixtures/vrrp/hmac_*.hex, made by crates/vrrp-proto/scripts/capture-auth-hmac.sh and
//! pcap-to-fixtures.py): v2 and v3, IPv4 and IPv6, multicast and unicast, key ids 1/2/3/7, hex
//! and ASCII keys, time and monotonic anti-replay, receive-only. Every captured advert is
//! split, verified with the configured key as a receiver of that instance would (replay state
//! carried across the capture), and re-emitted: our trailer and our whole VRRP payload are
//! byte-identical for the same inputs (message, source, sequence).

#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use vrrp_proto::auth_hmac::*;
use vrrp_proto::wire::auth_ext::{announced_message_len, split_trailer, PseudoHeader, TRAILER_LEN};
use vrrp_proto::wire::checksum::{fold, pseudo_header_sum, sum};
use vrrp_proto::wire::vrrp::{AdvertRepr, Packet};
use vrrp_proto::{ChecksumMode, Family, Version, Vrid};

/// The keys of capture-auth-hmac.sh. Its ASCII key is written `correct-horse-battery-staple-243!`
/// there: keepalived's config reader ends the line at the `!` (a comment, even mid-word), so
/// the key 2.4.3 signs with is the 32 bytes before it (with the `!` the tags do not verify).
const KEY1: &str = "hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const KEY2: &str = "correct-horse-battery-staple-243";

fn fixture(name: &str) -> Vec<Vec<u8>> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/vrrp")
        .join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            (0..l.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&l[i..i + 2], 16).unwrap())
                .collect()
        })
        .collect()
}

struct Case {
    file: &'static str,
    version: Version,
    family: Family,
    vrid: u8,
    priority: u8,
    keys: &'static [(u8, &'static str)],
    active: u8,
    mode: Mode,
    /// `None`: the default window (`max(3 × advert_int, 5)`); `Some(None)`: monotonic.
    window: Option<Option<u32>>,
    advert_int: Duration,
    unicast: bool,
}

/// A captured advert: IP source/destination/TTL and the VRRP payload.
struct Captured<'a> {
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    ip_len: usize,
    payload: &'a [u8],
}

fn split_ip(b: &[u8]) -> Captured<'_> {
    match b[0] >> 4 {
        4 => {
            let ihl = usize::from(b[0] & 0x0f) * 4;
            let tot = usize::from(u16::from_be_bytes([b[2], b[3]]));
            assert_eq!(b[9], 112, "protocol VRRP");
            assert_eq!(fold(sum(&b[..ihl], 0)), 0, "IPv4 header checksum");
            Captured {
                src: IpAddr::from(<[u8; 4]>::try_from(&b[12..16]).unwrap()),
                dst: IpAddr::from(<[u8; 4]>::try_from(&b[16..20]).unwrap()),
                ttl: b[8],
                ip_len: tot,
                payload: &b[ihl..tot],
            }
        }
        6 => {
            let plen = usize::from(u16::from_be_bytes([b[4], b[5]]));
            assert_eq!(b[6], 112, "next header VRRP");
            Captured {
                src: IpAddr::from(<[u8; 16]>::try_from(&b[8..24]).unwrap()),
                dst: IpAddr::from(<[u8; 16]>::try_from(&b[24..40]).unwrap()),
                ttl: b[7],
                ip_len: 40 + plen,
                payload: &b[40..40 + plen],
            }
        }
        v => panic!("IP version {v}"),
    }
}

fn config(c: &Case) -> AuthHmac {
    let keys = c
        .keys
        .iter()
        .map(|(id, v)| Key::new(*id, &Key::decode_value(v)).unwrap())
        .collect();
    let anti = match c.window {
        None => AntiReplay::Time {
            window: AntiReplay::default_window(c.advert_int),
        },
        Some(Some(window)) => AntiReplay::Time { window },
        Some(None) => AntiReplay::Monotonic,
    };
    AuthHmac::new(keys, c.active, c.mode, anti).unwrap()
}

/// keepalived's checksum rules with a trailer: IPv4 covers the message only (v3 with the
/// pseudo-header over the message length); IPv6 is the kernel's (IPV6_CHECKSUM), over the
/// whole payload, trailer included.
fn checksum_ok(c: &Case, cap: &Captured<'_>, msg_len: usize) -> bool {
    match c.family {
        Family::V4 => {
            let mode = match c.version {
                Version::V2 => ChecksumMode::MessageOnly,
                Version::V3 => ChecksumMode::PseudoHeader {
                    src: cap.src,
                    dst: cap.dst,
                },
            };
            let m = &cap.payload[..msg_len];
            fold(sum(m, mode.seed(m.len()))) == 0
        }
        Family::V6 => {
            let seed = pseudo_header_sum(cap.src, cap.dst, cap.payload.len());
            fold(sum(cap.payload, seed)) == 0
        }
    }
}

/// Our own emission of the whole VRRP payload for the same inputs: the message from its
/// semantic fields (IPv4; IPv6 v2 has no v2 auth data and is copied), the trailer signed by
/// us with the captured sequence, the checksum by keepalived's rules.
fn emit_payload(c: &Case, cfg: &AuthHmac, cap: &Captured<'_>, msg_len: usize, seq: Seq) -> Vec<u8> {
    let msg = &cap.payload[..msg_len];
    let mut out = if c.family == Family::V4 {
        let p = Packet::new_checked(msg, Family::V4).unwrap();
        let repr = AdvertRepr::parse(&p).unwrap();
        let mode = match c.version {
            Version::V2 => ChecksumMode::MessageOnly,
            Version::V3 => ChecksumMode::PseudoHeader {
                src: cap.src,
                dst: cap.dst,
            },
        };
        repr.to_bytes(mode).unwrap()
    } else {
        let mut m = msg.to_vec();
        m[6] = 0;
        m[7] = 0;
        m
    };
    assert_eq!(out.len(), msg_len);
    out.resize(msg_len + cfg.trailer_len(), 0);
    let pseudo = PseudoHeader {
        version: c.version,
        vrid: Vrid::new(c.vrid).unwrap(),
        src: cap.src,
    };
    cfg.sign_into(seq, &pseudo, &mut out, msg_len).unwrap();
    if c.family == Family::V6 {
        let ck = fold(sum(&out, pseudo_header_sum(cap.src, cap.dst, out.len())));
        out[6..8].copy_from_slice(&ck.to_be_bytes());
    }
    out
}

fn run(c: &Case) {
    let pkts = fixture(c.file);
    assert!(pkts.len() >= 2, "{}: {} packets", c.file, pkts.len());
    let cfg = config(c);
    let pseudo_for = |src| PseudoHeader {
        version: c.version,
        vrid: Vrid::new(c.vrid).unwrap(),
        src,
    };
    let mut unicast_state = ReplayState::default();
    let mut mcast = McastSenders::default();
    let mut zero = 0;
    for (i, bytes) in pkts.iter().enumerate() {
        let what = format!("{} #{i}", c.file);
        let cap = split_ip(bytes);
        assert_eq!(cap.ip_len, bytes.len(), "{what}");
        assert_eq!(cap.payload[0] >> 4, c.version.number(), "{what}");
        assert_eq!(cap.payload[1], c.vrid, "{what}");
        let prio = cap.payload[2];
        assert!(prio == c.priority || prio == 0, "{what}: priority {prio}");
        zero += usize::from(prio == 0);
        assert_eq!(cap.src.is_ipv4(), c.family == Family::V4);
        if !c.unicast {
            assert_eq!(cap.ttl, 255, "{what}");
        }
        let msg_len = announced_message_len(cap.payload, c.family).unwrap();
        assert_eq!(
            cap.payload.len(),
            msg_len + cfg.trailer_len(),
            "{what}: trailer length"
        );
        assert!(checksum_ok(c, &cap, msg_len), "{what}: checksum");
        let (msg, tr) = split_trailer(cap.payload, msg_len);
        let pseudo = pseudo_for(cap.src);
        let Some(t) = tr.as_ref() else {
            // receive-only: nothing signed; the receiver accepts the unsigned advert.
            assert!(!cfg.mode().signs());
            let v = cfg.verify(
                Duration::ZERO,
                &pseudo,
                msg,
                None,
                ReplaySlot::Unicast(&mut unicast_state),
            );
            assert_eq!(v, Ok(Verdict::Unsigned), "{what}");
            assert_eq!(emit_payload(c, &cfg, &cap, msg_len, Seq(0)), cap.payload);
            continue;
        };
        assert_eq!(cap.payload.len() - msg_len, TRAILER_LEN, "{what}");
        assert_eq!(t.ext_type(), 1, "{what}: HMAC-SHA256/128");
        assert_eq!(t.key_id(), c.active, "{what}: active key id");
        assert_eq!(t.reserved(), 0, "{what}");
        // Verified at the capture's own time (the sender's clock), replay state carried.
        let now = Duration::from_secs(u64::from(t.sec()));
        let slot = if c.unicast {
            ReplaySlot::Unicast(&mut unicast_state)
        } else {
            ReplaySlot::Multicast(&mut mcast)
        };
        let v = cfg.verify(now, &pseudo, msg, tr.as_ref(), slot);
        assert!(
            matches!(v, Ok(Verdict::Verified { key_id, seq, .. }) if key_id == c.active && seq == t.seq()),
            "{what}: {v:?}"
        );
        // The same advert again is a replay.
        let again = cfg.verify(
            now,
            &pseudo,
            msg,
            tr.as_ref(),
            ReplaySlot::Unicast(&mut unicast_state.clone()),
        );
        if c.unicast {
            assert!(matches!(again, Err(AuthExtError::Replay { .. })), "{what}");
        }
        // Byte-identical emission: trailer and whole payload.
        let ours = cfg.sign(t.seq(), &pseudo, msg).unwrap();
        assert_eq!(
            &ours.to_bytes()[..],
            &cap.payload[msg_len..],
            "{what}: trailer"
        );
        assert_eq!(
            emit_payload(c, &cfg, &cap, msg_len, t.seq()),
            cap.payload,
            "{what}: payload"
        );
        // Tampered, forged, unknown key, wrong sender: rejected with the right counter.
        let mut bad = cap.payload.to_vec();
        bad[2] ^= 0x40;
        let (m, tb) = split_trailer(&bad, msg_len);
        let r = cfg.verify(
            now,
            &pseudo,
            m,
            tb.as_ref(),
            ReplaySlot::Unicast(&mut ReplayState::default()),
        );
        assert_eq!(r.unwrap_err().counter(), "auth_ext_invalid_hmac", "{what}");
        let other: IpAddr = if cap.src.is_ipv4() {
            "192.0.2.99".parse().unwrap()
        } else {
            "fd00::99".parse().unwrap()
        };
        let r = cfg.verify(
            now,
            &pseudo_for(other),
            msg,
            tr.as_ref(),
            ReplaySlot::Unicast(&mut ReplayState::default()),
        );
        assert_eq!(r.unwrap_err().counter(), "auth_ext_invalid_hmac", "{what}");
        let stranger = AuthHmac::new(
            vec![Key::new(c.active % 255 + 1, &[0x55; 32]).unwrap()],
            c.active % 255 + 1,
            Mode::Enforce,
            cfg.anti_replay(),
        )
        .unwrap();
        let r = stranger.verify(
            now,
            &pseudo,
            msg,
            tr.as_ref(),
            ReplaySlot::Unicast(&mut ReplayState::default()),
        );
        assert_eq!(r, Err(AuthExtError::UnknownKey(c.active)), "{what}");
        if let Some(w) = cfg.anti_replay().window() {
            let late = now + Duration::from_secs(u64::from(w) + 1);
            let r = cfg.verify(
                late,
                &pseudo,
                msg,
                tr.as_ref(),
                ReplaySlot::Unicast(&mut ReplayState::default()),
            );
            assert_eq!(r.unwrap_err().counter(), "auth_ext_stale", "{what}");
        }
        // Truncated by one byte: no trailer found, so `enforce` counts it missing.
        let short = &cap.payload[..cap.payload.len() - 1];
        let (m, tb) = split_trailer(short, msg_len);
        assert!(tb.is_none());
        let r = cfg.verify(
            now,
            &pseudo,
            m,
            None,
            ReplaySlot::Unicast(&mut ReplayState::default()),
        );
        assert_eq!(r.is_ok(), cfg.mode().accepts_unsigned(), "{what}");
    }
    assert!(
        zero >= 1,
        "{}: the shutdown advert is in the capture",
        c.file
    );
}

// Proves VRRPv2 over IPv4 multicast, two VIPs, hex key id 1, default window: verified and
// re-emitted byte-identical (the trailer follows the 8 bytes of v2 auth data).
#[test]
fn golden_hmac_v2_ipv4() {
    run(&Case {
        file: "hmac_v2_ipv4.hex",
        version: Version::V2,
        family: Family::V4,
        vrid: 61,
        priority: 150,
        keys: &[(1, KEY1)],
        active: 1,
        mode: Mode::Enforce,
        window: None,
        advert_int: Duration::from_secs(1),
        unicast: false,
    });
}

// Proves VRRPv3 over IPv4 multicast, 50 cs interval, keys 1 (hex) and 2 (ASCII), signing with
// key 2 (rotation), time window 7 s.
#[test]
fn golden_hmac_v3_ipv4() {
    run(&Case {
        file: "hmac_v3_ipv4.hex",
        version: Version::V3,
        family: Family::V4,
        vrid: 62,
        priority: 200,
        keys: &[(1, KEY1), (2, KEY2)],
        active: 2,
        mode: Mode::Enforce,
        window: Some(Some(7)),
        advert_int: Duration::from_millis(500),
        unicast: false,
    });
}

// Proves VRRPv3 over IPv6 multicast (link-local source, kernel checksum over the trailer
// too), key id 7, monotonic anti-replay.
#[test]
fn golden_hmac_v3_ipv6() {
    run(&Case {
        file: "hmac_v3_ipv6.hex",
        version: Version::V3,
        family: Family::V6,
        vrid: 63,
        priority: 100,
        keys: &[(7, KEY1)],
        active: 7,
        mode: Mode::Enforce,
        window: Some(None),
        advert_int: Duration::from_secs(1),
        unicast: false,
    });
}

// Proves VRRPv2 over IPv6 as keepalived sends it (no v2 auth data over IPv6), signed.
#[test]
fn golden_hmac_v2_ipv6() {
    run(&Case {
        file: "hmac_v2_ipv6.hex",
        version: Version::V2,
        family: Family::V6,
        vrid: 67,
        priority: 130,
        keys: &[(1, KEY1)],
        active: 1,
        mode: Mode::Enforce,
        window: None,
        advert_int: Duration::from_secs(1),
        unicast: false,
    });
}

// Proves VRRPv2 over IPv4 unicast in permissive mode (signs; the peer's replay slot).
#[test]
fn golden_hmac_v2_ipv4_unicast() {
    run(&Case {
        file: "hmac_v2_ipv4_unicast.hex",
        version: Version::V2,
        family: Family::V4,
        vrid: 64,
        priority: 90,
        keys: &[(1, KEY1)],
        active: 1,
        mode: Mode::Permissive,
        window: None,
        advert_int: Duration::from_secs(1),
        unicast: true,
    });
}

// Proves VRRPv3 over IPv4 unicast (v3 pseudo-header checksum to the peer address).
#[test]
fn golden_hmac_v3_ipv4_unicast() {
    run(&Case {
        file: "hmac_v3_ipv4_unicast.hex",
        version: Version::V3,
        family: Family::V4,
        vrid: 65,
        priority: 110,
        keys: &[(1, KEY1)],
        active: 1,
        mode: Mode::Enforce,
        window: None,
        advert_int: Duration::from_secs(1),
        unicast: true,
    });
}

// Proves VRRPv3 over IPv6 unicast (global source, ASCII key id 3).
#[test]
fn golden_hmac_v3_ipv6_unicast() {
    run(&Case {
        file: "hmac_v3_ipv6_unicast.hex",
        version: Version::V3,
        family: Family::V6,
        vrid: 66,
        priority: 120,
        keys: &[(3, KEY2)],
        active: 3,
        mode: Mode::Enforce,
        window: None,
        advert_int: Duration::from_secs(1),
        unicast: true,
    });
}

// Proves `mode receive-only` sends no trailer: the adverts are plain VRRPv3, accepted unsigned.
#[test]
fn golden_hmac_v3_receive_only() {
    run(&Case {
        file: "hmac_v3_receive_only.hex",
        version: Version::V3,
        family: Family::V4,
        vrid: 68,
        priority: 140,
        keys: &[(1, KEY1)],
        active: 1,
        mode: Mode::ReceiveOnly,
        window: None,
        advert_int: Duration::from_secs(1),
        unicast: false,
    });
}
