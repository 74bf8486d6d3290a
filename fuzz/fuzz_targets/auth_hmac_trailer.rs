#![no_main]
//! Fuzz the auth_hmac trailer parser and verifier: the first bytes choose the split point,
//! address family, mode and clock; the rest is a VRRP payload. No panic; anything that
//! parses as a trailer re-emits byte-identical; a verified advert re-signs to the same tag
//! and never verifies twice against one replay mark.
use libfuzzer_sys::fuzz_target;
use std::net::IpAddr;
use std::time::Duration;
use vrrp_proto::auth_hmac::*;
use vrrp_proto::wire::auth_ext::{split_trailer, PseudoHeader, Trailer, TrailerRepr};
use vrrp_proto::{Version, Vrid};

const KEY: [u8; 32] = *b"0123456789abcdef0123456789abcdef";

fuzz_target!(|data: &[u8]| {
    let [a, b, c, payload @ ..] = data else {
        return;
    };
    if let Ok(t) = Trailer::new_checked(payload) {
        if let Ok(r) = TrailerRepr::parse(&t) {
            assert_eq!(&r.to_bytes()[..], &payload[..28]);
        }
    }
    let src: IpAddr = if a & 1 == 0 {
        IpAddr::from([192, 0, 2, 1])
    } else {
        IpAddr::from([0xfe80, 0, 0, 0, 0, 0, 0, 0x10])
    };
    let pseudo = PseudoHeader {
        version: if a & 2 == 0 { Version::V2 } else { Version::V3 },
        vrid: Vrid::new(b | 1).unwrap_or(Vrid::new(1).expect("vrid 1")),
        src,
    };
    let mode = match c % 3 {
        0 => Mode::Enforce,
        1 => Mode::Permissive,
        _ => Mode::ReceiveOnly,
    };
    let anti = if a & 4 == 0 {
        AntiReplay::Monotonic
    } else {
        AntiReplay::Time {
            window: 1 + u32::from(*b),
        }
    };
    let Ok(key) = Key::new(1, &KEY) else { return };
    let Ok(cfg) = AuthHmac::new(vec![key], 1, mode, anti) else {
        return;
    };
    let now = Duration::from_secs(u64::from(u32::from_be_bytes([*a, *b, *c, 0])));
    let msg_len = usize::from(*c) % (payload.len() + 1);
    let (msg, tr) = split_trailer(payload, msg_len);
    let mut state = ReplayState::default();
    let mut table = McastSenders::default();
    let first = cfg.verify(
        now,
        &pseudo,
        msg,
        tr.as_ref(),
        ReplaySlot::Unicast(&mut state),
    );
    let _ = cfg.verify(
        now,
        &pseudo,
        msg,
        tr.as_ref(),
        ReplaySlot::Multicast(&mut table),
    );
    if let (Ok(Verdict::Verified { seq, .. }), Some(t)) = (first, tr.as_ref()) {
        // Only reachable with a genuine tag: re-signing gives it back, a replay is refused.
        if let Some(again) = cfg.sign(seq, &pseudo, msg) {
            assert_eq!(again.tag, t.tag());
        }
        assert!(cfg
            .verify(
                now,
                &pseudo,
                msg,
                tr.as_ref(),
                ReplaySlot::Unicast(&mut state)
            )
            .is_err());
    }
});
