//! A check that cannot create its socket because the process is out of file descriptors
//! (EMFILE) is rescheduled without a state change, as keepalived does ("TCP connect fail to
//! create socket. Rescheduling."), and counted: no check result, no transition, no busy loop.
//! Its own test binary (one process): it uses up every descriptor the process may open.

use std::time::Duration;

use healthcheck::scheduler::{CheckSpec, Scheduler};
use healthcheck::{CheckContext, CheckKind, CheckParams, Checker, Limits, Target};

// Proves: with no descriptor left, a TCP_CHECK job makes no check (checks_run stays 0), sends
// no transition (the real server keeps its initial state), retries once per delay_loop (not in
// a loop: 5 attempts in 5 s) and counts each attempt in checks_without_descriptor. No packet
// is sent (the socket is never created).
#[tokio::test(start_paused = true)]
async fn out_of_descriptors_reschedules_without_state_change() {
    let ctx = CheckContext::new(Limits::default()).unwrap();
    let (s, mut rx) = Scheduler::new(ctx);
    s.report_first_check(true);
    let kind = CheckKind::Tcp;
    let mut params = CheckParams::keepalived_defaults(&kind, Duration::from_secs(1));
    params.warmup = Duration::ZERO;
    let spec = CheckSpec {
        checker: Checker::new(kind),
        target: Target::new("192.0.2.1:9".parse().unwrap()),
        params,
    };
    // Use up the descriptors (the runtime's own are already open).
    let mut hold = Vec::new();
    loop {
        match std::fs::File::open("/dev/null") {
            Ok(f) => hold.push(f),
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e}");
                break;
            }
        }
        assert!(hold.len() < 2_000_000, "no descriptor limit?");
    }
    s.add(1, spec).unwrap();
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let st = s.stats();
    drop(hold);
    assert_eq!(st.checks_run, 0, "no check result without a socket");
    assert_eq!(
        st.checks_without_descriptor, 5,
        "one attempt per delay_loop: {st:?}"
    );
    assert!(rx.try_recv().is_err(), "no transition, no report");
    assert_eq!(s.state(1), Some((true, None)), "state unchanged");
    s.shutdown();
}
