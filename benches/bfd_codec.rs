//! BFD benchmarks: validate+decode of a control packet (plain and keyed SHA1 with digest
//! verification), emit, and one session step (receive a packet, then the periodic timer) —
//! the per-packet CPU cost that bounds how many 10 ms × 3 sessions one core holds.
//! Run: `cargo bench -p benches --bench bfd_codec`

use std::hint::black_box;
use std::time::{Duration, Instant};

use bfd_proto::*;
use criterion::{criterion_group, criterion_main, Criterion};

fn up(your: u32) -> Repr {
    Repr {
        state: State::Up,
        detect_mult: 3,
        my_discriminator: 0x0bad_cafe,
        your_discriminator: your,
        desired_min_tx: 10_000,
        required_min_rx: 10_000,
        ..Repr::default()
    }
}

fn bench(c: &mut Criterion) {
    let plain = up(1).to_bytes().unwrap();
    c.bench_function("bfd_validate_decode_plain", |b| {
        b.iter(|| validate(black_box(&plain), &RxPolicy::KEEPALIVED).map(|v| v.repr.state))
    });
    c.bench_function("bfd_view_fields_plain", |b| {
        b.iter(|| {
            Packet::new_checked(black_box(&plain[..]))
                .map(|p| (p.state(), p.your_discriminator(), p.desired_min_tx()))
        })
    });
    let mut buf = [0u8; 64];
    let r = up(1);
    c.bench_function("bfd_emit_plain", |b| {
        b.iter(|| black_box(&r).emit(black_box(&mut buf)))
    });

    let key = AuthKey::new(AuthType::KeyedSha1, 1, b"secret").unwrap();
    let signed = Repr {
        auth: Some(key.section(1)),
        ..up(1)
    };
    let n = signed.emit_signed(&mut buf, key.secret()).unwrap();
    let sha = buf[..n].to_vec();
    c.bench_function("bfd_validate_verify_sha1", |b| {
        b.iter(|| {
            let v = validate(black_box(&sha), &RxPolicy::KEEPALIVED).unwrap();
            let mut st = RxAuthState::default();
            wire::auth::verify(v.bytes, &v.repr.auth.unwrap(), &key, 3, &mut st)
        })
    });

    // One Up session: receive a packet, then the periodic transmit, as a worker would.
    let t0 = Instant::now();
    let cfg = SessionConfig {
        detect_mult: 3,
        ..SessionConfig::keepalived_defaults(1)
    };
    let mut s = Session::new(cfg, t0);
    for st in [State::Down, State::Up] {
        let r = Repr {
            state: st,
            your_discriminator: if st == State::Down { 0 } else { 1 },
            final_: st == State::Up,
            ..up(1)
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
    let mut now = t0;
    c.bench_function("bfd_session_rx_then_tx_step", |b| {
        b.iter(|| {
            now += Duration::from_millis(10);
            let v = validate(black_box(&plain), &RxPolicy::KEEPALIVED).unwrap();
            let a = s.handle(
                now,
                Input::Packet {
                    packet: &v,
                    ttl: Some(255),
                },
            );
            let t = s.handle(now + Duration::from_millis(10), Input::Timer);
            let mut n = 0;
            for act in a.iter().chain(&t) {
                if let Action::Transmit(r) = act {
                    n += s.encode(r, &mut buf).unwrap_or(0);
                }
            }
            black_box(n)
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
