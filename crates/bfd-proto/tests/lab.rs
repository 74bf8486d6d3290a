//! Interop lab: a minimal session loop (test-only harness: two UDP sockets and the sans-IO
//! [`Session`]) inside a network namespace against FRR's bfdd in another. Proves that the
//! session comes Up with a real peer (FRR agrees), that a peer's interval change goes through a
//! Poll Sequence we answer, and that killing the peer is detected within the detection time.
//!
//! Needs root, network namespaces and FRR (`apt-get install frr`); run with
//! `cargo test -p bfd-proto --test lab -- --include-ignored`.

// Test code.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bfd_proto::*;
use testlab::frr::{start_bfdd, BFDD};
use testlab::netns::{wait_until, Host, Lab};

const FRR_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const OUR_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// What the loop shares with the test thread.
#[derive(Debug)]
struct Shared {
    state: State,
    polling: bool,
    timers: Timers,
    counters: Counters,
    changes: Vec<(Instant, StateChange)>,
    dropped: Vec<RxError>,
    /// New intervals for the session (consumed by the loop).
    set_params: Option<(u32, u32, u8)>,
    stop: bool,
}

impl Shared {
    fn new() -> Arc<Mutex<Shared>> {
        Arc::new(Mutex::new(Shared {
            state: State::Down,
            polling: false,
            timers: Timers {
                tx_interval: None,
                detection_time: None,
            },
            counters: Counters::default(),
            changes: Vec::new(),
            dropped: Vec::new(),
            set_params: None,
            stop: false,
        }))
    }
}

/// The harness: receive on 10.0.0.2:3784, send from 10.0.0.2:49152 with TTL 255, run the
/// session until told to stop, publishing its state after every step.
fn session_loop(cfg: SessionConfig, shared: Arc<Mutex<Shared>>) {
    let rx = UdpSocket::bind((OUR_IP, wire::PORT_SINGLE_HOP)).unwrap();
    let tx = UdpSocket::bind((OUR_IP, *wire::SOURCE_PORTS.start())).unwrap();
    tx.set_ttl(255).unwrap();
    let peer = SocketAddr::V4(SocketAddrV4::new(FRR_IP, wire::PORT_SINGLE_HOP));
    let mut s = Session::new(cfg, Instant::now());
    let mut buf = [0u8; 128];
    loop {
        let now = Instant::now();
        let wait = s
            .next_deadline()
            .map_or(Duration::from_millis(20), |d| {
                d.saturating_duration_since(now)
            })
            .clamp(Duration::from_micros(200), Duration::from_millis(20));
        rx.set_read_timeout(Some(wait)).unwrap();
        let mut all = Vec::new();
        let mut dropped = Vec::new();
        if let Ok((n, _from)) = rx.recv_from(&mut buf) {
            match validate(&buf[..n], &RxPolicy::KEEPALIVED) {
                Ok(v) => {
                    all = s.handle(
                        Instant::now(),
                        Input::Packet {
                            packet: &v,
                            ttl: None,
                        },
                    )
                }
                Err(e) => dropped.push(e),
            }
        }
        let now = Instant::now();
        if s.next_deadline().is_some_and(|d| d <= now) {
            all.extend(s.handle(now, Input::Timer));
        }
        let mut sh = shared.lock().unwrap();
        if let Some((tx, rx, m)) = sh.set_params.take() {
            all.extend(s.handle(
                Instant::now(),
                Input::SetParams {
                    desired_min_tx: tx,
                    required_min_rx: rx,
                    detect_mult: m,
                },
            ));
        }
        for a in all {
            match a {
                Action::Transmit(r) => {
                    let mut out = [0u8; 64];
                    let n = s.encode(&r, &mut out).unwrap();
                    let _ = tx.send_to(&out[..n], peer);
                }
                Action::StateChange(c) => sh.changes.push((Instant::now(), c)),
                Action::Dropped(e) => sh.dropped.push(e),
                Action::TimersChanged(_) => {}
            }
        }
        sh.dropped.extend(dropped);
        sh.state = s.state();
        sh.polling = s.polling();
        sh.timers = s.timers();
        sh.counters = s.counters().clone();
        if sh.stop {
            return;
        }
    }
}

fn vtysh(host: &Host, vty: &str, cmds: &[&str]) -> String {
    let mut argv = vec!["vtysh", "--vty_socket", vty];
    for c in cmds {
        argv.push("-c");
        argv.push(c);
    }
    let out = host.run(&argv).unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_session_comes_up_with_frr_bfdd() {
    assert!(
        Path::new(BFDD).exists(),
        "{BFDD} missing: apt-get install frr (the test command's install stage does)"
    );
    let lab = Lab::new("bfd").unwrap();
    let frr = lab.host("frr").unwrap();
    let us = lab.host("us").unwrap();
    frr.add_addr(&format!("{FRR_IP}/24")).unwrap();
    us.add_addr(&format!("{OUR_IP}/24")).unwrap();
    let (bfdd, vty) =
        start_bfdd(&lab, &frr, &OUR_IP.to_string(), &FRR_IP.to_string(), 100).unwrap();

    let cfg = SessionConfig {
        desired_min_tx: 100_000,
        required_min_rx: 100_000,
        detect_mult: 3,
        ..SessionConfig::keepalived_defaults(0x5eed_0001)
    };
    let ns = us.netns_path();
    let shared = Shared::new();
    let sh = Arc::clone(&shared);
    let harness = std::thread::spawn(move || {
        netplat::netns::in_netns(&ns, move || session_loop(cfg, sh)).unwrap()
    });
    let get = |f: &dyn Fn(&Shared) -> bool| f(&shared.lock().unwrap());

    // 1. Up (idle 1 s start, then a Poll Sequence to 100 ms), and stays Up 3 s.
    wait_until(Duration::from_secs(15), || {
        get(&|s| s.state == State::Up && !s.polling)
    })
    .unwrap_or_else(|e| panic!("{e}: {:?}", shared.lock().unwrap()));
    std::thread::sleep(Duration::from_secs(3));
    {
        let s = shared.lock().unwrap();
        assert_eq!(s.state, State::Up, "{s:?}");
        assert_eq!(s.timers.tx_interval, Some(Duration::from_millis(100)));
        assert_eq!(s.timers.detection_time, Some(Duration::from_millis(300)));
        assert!(s.dropped.is_empty(), "{:?}", s.dropped);
        // Down -> Init -> Up, or Down -> Up when FRR is already in Init when it hears us.
        assert!(
            s.changes.iter().all(|(_, c)| c.to != State::Down),
            "{:?}",
            s.changes
        );
    }
    let peers = vtysh(&frr, &vty, &["show bfd peers"]);
    assert!(peers.contains("Status: up"), "{peers}");
    assert!(
        peers.contains(&format!("Remote ID: {}", 0x5eed_0001u32)),
        "{peers}"
    );

    // 2. FRR slows its TX to 300 ms: a Poll Sequence we answer with Final; our detection time
    //    becomes 3 x 300 ms; nobody goes Down.
    let finals_before = get_counters(&shared).tx_final;
    let changes_before = shared.lock().unwrap().changes.len();
    vtysh(
        &frr,
        &vty,
        &[
            "configure terminal",
            "bfd",
            &format!("peer {OUR_IP} local-address {FRR_IP}"),
            "transmit-interval 300",
        ],
    );
    wait_until(Duration::from_secs(5), || {
        get(&|s| s.timers.detection_time == Some(Duration::from_millis(900)))
    })
    .unwrap_or_else(|e| panic!("{e}: {:?}", shared.lock().unwrap()));
    std::thread::sleep(Duration::from_secs(2));
    {
        let s = shared.lock().unwrap();
        assert!(s.counters.tx_final > finals_before, "{:?}", s.counters);
        assert_eq!(s.state, State::Up, "{s:?}");
        assert_eq!(s.changes.len(), changes_before, "{:?}", s.changes);
    }
    let peers = vtysh(&frr, &vty, &["show bfd peers"]);
    assert!(peers.contains("Status: up"), "{peers}");

    // 3. Kill bfdd: Down with diag 1 within the detection time (900 ms) of its last packet
    //    (plus 50 ms for scheduling on a loaded machine).
    bfdd.kill();
    let killed = Instant::now();
    wait_until(Duration::from_secs(3), || get(&|s| s.state == State::Down))
        .unwrap_or_else(|e| panic!("{e}: {:?}", shared.lock().unwrap()));
    shared.lock().unwrap().stop = true;
    harness.join().unwrap();
    let s = shared.lock().unwrap();
    let (at, c) = *s.changes.last().unwrap();
    assert_eq!(c.to, State::Down);
    assert_eq!(c.diag, Diag::ControlDetectionTimeExpired);
    let took = at.duration_since(killed);
    assert!(
        took <= Duration::from_millis(950),
        "detected after {took:?}"
    );
    assert_eq!(s.counters.detect_timeouts, 1);
    eprintln!("FRR bfdd: Up, poll answered, kill detected after {took:?}");
}

fn get_counters(shared: &Arc<Mutex<Shared>>) -> Counters {
    shared.lock().unwrap().counters.clone()
}

fn keepalived_conf(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("keepalived.conf");
    std::fs::write(
        &p,
        format!(
            "global_defs {{\n  router_id krs_bfd_lab\n}}\n\
             bfd_instance us {{\n  neighbor_ip {OUR_IP}\n  source_ip {FRR_IP}\n  \
             min_rx 100\n  min_tx 100\n  multiplier 3\n}}\n"
        ),
    )
    .unwrap();
    p
}

/// The same harness against the reference keepalived 2.2.7's BFD (`bfd_instance`): the
/// session comes Up (keepalived logs Up), a Poll Sequence we start for slower intervals is
/// answered by keepalived's Final, and a frozen keepalived BFD process is detected within the
/// detection time.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_session_comes_up_with_reference_keepalived() {
    const KEEPALIVED: &str = "/usr/sbin/keepalived";
    assert!(
        Path::new(KEEPALIVED).exists(),
        "{KEEPALIVED} missing: apt-get install keepalived"
    );
    let lab = Lab::new("bfdk").unwrap();
    let peer = lab.host("ka").unwrap();
    let us = lab.host("us").unwrap();
    peer.add_addr(&format!("{FRR_IP}/24")).unwrap();
    us.add_addr(&format!("{OUR_IP}/24")).unwrap();
    let dir = lab.dir().to_path_buf();
    let conf = keepalived_conf(&dir);
    let d = dir.to_str().unwrap();
    let ka = peer
        .spawn(&[
            KEEPALIVED,
            "-n",
            "-l",
            "-D",
            "-f",
            conf.to_str().unwrap(),
            "-p",
            &format!("{d}/k.pid"),
            &format!("--vrrp_pid={d}/kv.pid"),
            &format!("--checkers_pid={d}/kc.pid"),
            &format!("--bfd_pid={d}/kb.pid"),
        ])
        .unwrap();

    let cfg = SessionConfig {
        desired_min_tx: 100_000,
        required_min_rx: 100_000,
        detect_mult: 3,
        ..SessionConfig::keepalived_defaults(0x5eed_0002)
    };
    let ns = us.netns_path();
    let shared = Shared::new();
    let sh = Arc::clone(&shared);
    let harness = std::thread::spawn(move || {
        netplat::netns::in_netns(&ns, move || session_loop(cfg, sh)).unwrap()
    });
    let get = |f: &dyn Fn(&Shared) -> bool| f(&shared.lock().unwrap());

    // 1. Up, both sides.
    wait_until(Duration::from_secs(15), || {
        get(&|s| s.state == State::Up && !s.polling)
    })
    .unwrap_or_else(|e| panic!("{e}: {:?}", shared.lock().unwrap()));
    wait_until(Duration::from_secs(5), || {
        ka.output_so_far().contains("(us) Entering Up state")
    })
    .unwrap_or_else(|e| panic!("{e}: {}", ka.output_so_far()));
    std::thread::sleep(Duration::from_secs(2));
    {
        let s = shared.lock().unwrap();
        assert_eq!(s.state, State::Up, "{s:?}");
        assert_eq!(s.timers.detection_time, Some(Duration::from_millis(300)));
        assert!(s.dropped.is_empty(), "{:?}", s.dropped);
    }

    // 2. We slow down to 200 ms TX / 150 ms RX by a Poll Sequence; keepalived answers Final.
    let polls = shared.lock().unwrap().counters.polls_completed;
    shared.lock().unwrap().set_params = Some((200_000, 150_000, 3));
    wait_until(Duration::from_secs(5), || {
        get(&|s| s.counters.polls_completed > polls && !s.polling)
    })
    .unwrap_or_else(|e| panic!("{e}: {:?}", shared.lock().unwrap()));
    std::thread::sleep(Duration::from_secs(2));
    {
        let s = shared.lock().unwrap();
        assert_eq!(s.state, State::Up, "{s:?}");
        assert_eq!(s.timers.tx_interval, Some(Duration::from_millis(200)));
        assert!(
            s.changes.iter().all(|(_, c)| c.to != State::Down),
            "{:?}",
            s.changes
        );
    }
    assert!(
        !ka.output_so_far().contains("Entering Down"),
        "{}",
        ka.output_so_far()
    );

    // 3. Freeze keepalived's BFD child (SIGSTOP to the pid it wrote; a process this test
    //    started): Down, diag 1, within the detection time (3 x max(150 ms, 100 ms)) + 50 ms.
    //    (SIGKILL would not do: keepalived respawns the child, whose Down packet brings us Down
    //    with diag 3 — also correct, but not a detection-time measurement.)
    let bfd_pid: i32 = std::fs::read_to_string(dir.join("kb.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(bfd_pid),
        nix::sys::signal::Signal::SIGSTOP,
    )
    .unwrap();
    let killed = Instant::now();
    wait_until(Duration::from_secs(3), || get(&|s| s.state == State::Down))
        .unwrap_or_else(|e| panic!("{e}: {:?}", shared.lock().unwrap()));
    shared.lock().unwrap().stop = true;
    harness.join().unwrap();
    let s = shared.lock().unwrap();
    let (at, c) = *s.changes.last().unwrap();
    assert_eq!(c.diag, Diag::ControlDetectionTimeExpired);
    let took = at.duration_since(killed);
    assert!(
        took <= Duration::from_millis(500),
        "detected after {took:?}"
    );
    eprintln!("keepalived 2.2.7: Up, our poll answered, frozen peer detected after {took:?}");
    drop(ka);
}
