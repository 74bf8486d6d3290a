#![no_main]
//! Fuzz the BFD control packet decoder, the reception checks and a session fed with whatever
//! passes them: no panic on any input; anything that parses re-emits to bytes that parse to the
//! same value; the session only ever transmits packets that pass the reception checks.
use bfd_proto::*;
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let _ = Packet::new_checked(data).map(|p| p.auth_section().map(<[u8]>::len));
    let _ = validate(data, &RxPolicy::RFC5880);
    if let Ok(r) = Repr::parse_bytes(data) {
        let again = Repr::parse_bytes(&r.to_bytes().expect("parsed repr emits"))
            .expect("re-emitted packet parses");
        assert_eq!(again, r);
    }
    // Feed the input, cut into packets, to a session (the first byte of each chunk is the
    // chunk length and the time step in ms), with and without authentication.
    for auth in [
        None,
        AuthKey::new(AuthType::MeticulousKeyedSha1, 1, b"key").ok(),
    ] {
        let t0 = Instant::now();
        let mut now = t0;
        let cfg = SessionConfig {
            auth,
            ..SessionConfig::keepalived_defaults(7)
        };
        let mut s = Session::new(cfg, t0);
        let mut rest = data;
        while let Some((&n, tail)) = rest.split_first() {
            let n = usize::from(n % 64).min(tail.len());
            let (chunk, tail) = tail.split_at(n);
            rest = tail;
            now += Duration::from_millis(u64::from(n as u8 % 32));
            let mut out = match validate(chunk, &RxPolicy::KEEPALIVED) {
                Ok(v) => s.handle(
                    now,
                    Input::Packet {
                        packet: &v,
                        ttl: Some(255),
                    },
                ),
                Err(_) => Vec::new(),
            };
            while let Some(d) = s.next_deadline() {
                if d > now {
                    break;
                }
                out.extend(s.handle(d, Input::Timer));
            }
            for a in out {
                if let Action::Transmit(r) = a {
                    let mut buf = [0u8; 64];
                    let len = s.encode(&r, &mut buf).expect("own packet encodes");
                    assert!(validate(&buf[..len], &RxPolicy::KEEPALIVED).is_ok());
                }
            }
        }
    }
});
