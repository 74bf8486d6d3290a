//! README example: two sessions on a virtual clock come Up over an in-memory "wire", then a
//! control packet is decoded and checked as a worker would. `cargo run -p bfd-proto --example bfd-proto-readme`

use std::time::{Duration, Instant};

use bfd_proto::{validate, Action, Input, RxPolicy, Session, SessionConfig, State};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let t0 = Instant::now();
    // keepalived's defaults: min_tx/min_rx 10 ms, multiplier 5, idle_tx 1 s.
    let mut a = Session::new(SessionConfig::keepalived_defaults(0x1111), t0);
    let mut b = Session::new(SessionConfig::keepalived_defaults(0x2222), t0);
    let mut wire: Vec<(usize, Vec<u8>)> = Vec::new(); // (to, bytes)
    let mut now = t0;
    while now < t0 + Duration::from_secs(3) {
        for (i, s) in [&mut a, &mut b].into_iter().enumerate() {
            // Deliver what is addressed to this session (a worker looks the session up by Your
            // Discriminator, or by address when it is 0).
            let mut actions = Vec::new();
            for (_, bytes) in wire.iter().filter(|(to, _)| *to == i) {
                let valid = validate(bytes, &RxPolicy::KEEPALIVED)?;
                actions.extend(s.handle(
                    now,
                    Input::Packet {
                        packet: &valid,
                        ttl: Some(255),
                    },
                ));
            }
            if s.next_deadline().is_some_and(|d| d <= now) {
                actions.extend(s.handle(now, Input::Timer));
            }
            wire.retain(|(to, _)| *to != i);
            for action in actions {
                match action {
                    Action::Transmit(repr) => {
                        let mut buf = [0u8; 64];
                        let n = s.encode(&repr, &mut buf)?;
                        wire.push((1 - i, buf[..n].to_vec())); // sendto(peer:3784), TTL 255
                    }
                    Action::StateChange(c) => {
                        println!("{:>6?} session {i}: {} -> {}", now - t0, c.from, c.to)
                    }
                    _ => {}
                }
            }
        }
        now += Duration::from_millis(1);
    }
    assert_eq!((a.state(), b.state()), (State::Up, State::Up));
    println!("timers: {:?}", a.timers()); // 10 ms TX, 50 ms detection time
    Ok(())
}
