//! Property tests of the auth_hmac trailer codec and verification: parse/emit round trip,
//! sign→verify for any message, key, source and sequence (v2/v3, IPv4/IPv6), any tampered
//! byte rejected, no panic on arbitrary input, the send sequence and the replay mark only grow.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::IpAddr;
use std::time::Duration;

use proptest::prelude::*;
use vrrp_proto::auth_hmac::*;
use vrrp_proto::wire::auth_ext::{split_trailer, PseudoHeader, Trailer, TrailerRepr, TRAILER_LEN};
use vrrp_proto::{Version, Vrid};

fn src() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u8; 16]>().prop_map(IpAddr::from),
    ]
}

fn pseudo() -> impl Strategy<Value = PseudoHeader> {
    (any::<bool>(), 1u8..=255, src()).prop_map(|(v3, vrid, src)| PseudoHeader {
        version: if v3 { Version::V3 } else { Version::V2 },
        vrid: Vrid::new(vrid).unwrap(),
        src,
    })
}

fn key() -> impl Strategy<Value = (u8, Vec<u8>)> {
    (
        1u8..=255,
        proptest::collection::vec(any::<u8>(), KEY_MIN..=KEY_MAX),
    )
}

fn cfg(id: u8, k: &[u8], mode: Mode) -> AuthHmac {
    AuthHmac::new(
        vec![Key::new(id, k).unwrap()],
        id,
        mode,
        AntiReplay::Monotonic,
    )
    .unwrap()
}

proptest! {
    #[test]
    fn trailer_round_trip(b in any::<[u8; TRAILER_LEN]>()) {
        let t = Trailer::new_checked(&b[..]).unwrap();
        let r = TrailerRepr::parse(&t).unwrap();
        prop_assert_eq!(r.to_bytes(), b);
        let mut out = [0u8; TRAILER_LEN];
        r.emit(&mut Trailer::new_checked(&mut out[..]).unwrap()).unwrap();
        prop_assert_eq!(out, b);
        prop_assert_eq!(r.seq, Seq::from_parts(t.sec(), t.subsec(), t.ctr()));
    }

    #[test]
    fn short_trailer_is_an_error(b in proptest::collection::vec(any::<u8>(), 0..TRAILER_LEN)) {
        prop_assert!(Trailer::new_checked(&b[..]).is_err());
    }

    #[test]
    fn sign_then_verify(
        p in pseudo(),
        (id, k) in key(),
        msg in proptest::collection::vec(any::<u8>(), 8..120),
        seq in any::<u64>(),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let c = cfg(id, &k, Mode::Enforce);
        let mut buf = msg.clone();
        buf.resize(msg.len() + TRAILER_LEN, 0);
        prop_assert_eq!(c.sign_into(Seq(seq), &p, &mut buf, msg.len()).unwrap(), TRAILER_LEN);
        let (m, t) = split_trailer(&buf, msg.len());
        let now = Duration::ZERO;
        let v = c.verify(now, &p, m, t.as_ref(), ReplaySlot::Unicast(&mut ReplayState::default()));
        prop_assert_eq!(v, Ok(Verdict::Verified { key_id: id, seq: Seq(seq), skew: None, skew_warning: false }));
        // Any flipped bit outside the VRRP checksum field is rejected.
        let i = flip.index(buf.len());
        let mut bad = buf.clone();
        bad[i] ^= 1 << bit;
        let (m, t) = split_trailer(&bad, msg.len());
        let r = c.verify(now, &p, m, t.as_ref(), ReplaySlot::Unicast(&mut ReplayState::default()));
        if i == 6 || i == 7 {
            prop_assert!(r.is_ok());
        } else {
            prop_assert!(r.is_err(), "flip at {} accepted", i);
        }
    }

    #[test]
    fn verify_never_panics(
        p in pseudo(),
        payload in proptest::collection::vec(any::<u8>(), 0..100),
        mlen in 0usize..100,
        now in any::<u64>(),
        mode in prop_oneof![Just(Mode::Enforce), Just(Mode::Permissive), Just(Mode::ReceiveOnly)],
        window in proptest::option::of(WINDOW_MIN..=WINDOW_MAX),
    ) {
        let anti = window.map_or(AntiReplay::Monotonic, |window| AntiReplay::Time { window });
        let c = AuthHmac::new(vec![Key::new(1, &[3u8; 32]).unwrap()], 1, mode, anti).unwrap();
        let (m, t) = split_trailer(&payload, mlen);
        let mut table = McastSenders::default();
        let r = c.verify(Duration::from_secs(now), &p, m, t.as_ref(), ReplaySlot::Multicast(&mut table));
        // A random tag essentially never verifies; without a trailer only the mode decides.
        match t {
            None => prop_assert_eq!(r.is_ok(), mode.accepts_unsigned()),
            Some(_) => prop_assert!(r.is_err()),
        }
    }

    #[test]
    fn send_sequence_grows_monotonic(
        start in any::<u64>(),
        clocks in proptest::collection::vec((any::<u32>(), 0u32..1_000_000_000), 1..20),
    ) {
        let mut s = SendSequence::starting_at(Seq(start));
        let mut last = Seq(start);
        for (sec, ns) in clocks {
            let n = s.next(Duration::new(u64::from(sec), ns), AntiReplay::Monotonic);
            prop_assert!(n.after(last));
            last = n;
        }
    }

    #[test]
    fn replay_mark_accepts_only_growth(seqs in proptest::collection::vec(any::<u64>(), 1..30)) {
        let mut st = ReplayState::default();
        let mut accepted: Vec<Seq> = Vec::new();
        for s in seqs {
            let ok = st.accept(Seq(s), Duration::ZERO, AntiReplay::Monotonic).is_ok();
            let expect = accepted.last().is_none_or(|l| Seq(s).after(*l));
            prop_assert_eq!(ok, expect);
            if ok {
                accepted.push(Seq(s));
            }
        }
    }

    #[test]
    fn decode_hex_key_value(k in proptest::collection::vec(any::<u8>(), 1..80)) {
        let hex: String = k.iter().map(|b| format!("{b:02X}")).collect();
        prop_assert_eq!(Key::decode_value(&format!("hex:{hex}")), k.clone());
        let spaced: Vec<String> = k.iter().map(|b| format!("{b:02x}")).collect();
        prop_assert_eq!(Key::decode_value(&format!("hex:{}", spaced.join(" "))), k);
    }
}
