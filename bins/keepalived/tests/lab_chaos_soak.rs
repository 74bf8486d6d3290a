//! Chaos soak (issue #25): three directors, one VRRP instance, a client probing the VIP, an
//! independent advert recorder and `ip addr` polling, and a seeded fault injector (link
//! down/up, userspace netem loss/delay/reorder/duplicate, SIGSTOP/SIGCONT and SIGKILL of the
//! parent or the VRRP worker, SIGHUP with an unchanged/changed/invalid configuration, tracked
//! script flips). See `tests/chaos/mod.rs` for the invariants and their bounds.
//!
//! CI: fixed seeds, bounded runs. Long runs: `benches/chaos_soak.sh MINUTES SEED MODE`, or
//! `KRS_CHAOS_SEED=N KRS_CHAOS_SECS=S KRS_CHAOS_MODE=ours|mixed|mixed2|reference cargo test -p
//! keepalived --test lab_chaos_soak -- --ignored lab_chaos_soak_custom --nocapture`.
//! `KRS_CHAOS_FAULTS=nokill` leaves the SIGKILL faults out (the leak run).
//! `KRS_CHAOS_VERBOSE=1` prints the event trace live; a failing run prints the seed, the
//! schedule and the trace (the same seed gives the same schedule).

#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod chaos;

use chaos::Soak;

fn assert_clean(s: &Soak, f: &chaos::Figures) {
    assert!(
        f.violations.is_empty(),
        "chaos soak seed {}: {} invariant violations (replay: KRS_CHAOS_SEED={} KRS_CHAOS_SECS={}):\n{}",
        s.seed,
        f.violations.len(),
        s.seed,
        s.fault_secs,
        f.violations.join("\n")
    );
    assert!(
        f.faults.values().sum::<u32>() >= 5,
        "too few faults: {:?}",
        f.faults
    );
    assert!(f.client_replies > 0, "the client never got an answer");
}

// Proves three of our daemons keep the invariants through 60 s of faults with seed 1: never two
// VIP holders beyond MDI + 100 ms, no VIP on a non-master beyond its lease, the RFC master
// alone within MDI + skew once faults stop, no panic or unexpected exit.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_chaos_soak_ours() {
    let s = Soak::from_env(1, 60.0, "ours");
    let f = s.run();
    assert_clean(&s, &f);
}

// Proves the same with the reference keepalived 2.2.7 as node b among two of ours (seed 2,
// 40 s): violations of our nodes fail, the reference's are reported as findings.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_chaos_soak_mixed_with_reference() {
    let s = Soak::from_env(2, 40.0, "mixed");
    let f = s.run();
    assert_clean(&s, &f);
}

// The reference keepalived 2.2.7 in all three roles (seed 3, 30 s): its violations are
// findings (printed), not failures; the run itself must complete and inject faults.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_chaos_soak_reference_findings() {
    let s = Soak::from_env(3, 30.0, "reference");
    let f = s.run();
    assert!(f.violations.is_empty(), "{:?}", f.violations);
    assert!(f.faults.values().sum::<u32>() >= 5);
}

// Long runs from the environment (benches/chaos_soak.sh): KRS_CHAOS_SEED, KRS_CHAOS_SECS,
// KRS_CHAOS_MODE; defaults seed 1, 60 s, ours.
#[test]
#[ignore = "lab: needs root and network namespaces"]
fn lab_chaos_soak_custom() {
    let s = Soak::from_env(1, 60.0, "ours");
    let f = s.run();
    if s.kinds.iter().all(|k| *k == chaos::Kind::Reference) {
        assert!(f.violations.is_empty());
    } else {
        assert_clean(&s, &f);
    }
}

// Proves the replay promise: the fault schedule is a function of the seed alone (same seed,
// same schedule; another seed, another one), and 10 minutes of it draw every fault kind.
#[test]
fn chaos_schedule_is_deterministic_and_covers_every_kind() {
    let a = chaos::schedule(42, 600.0);
    assert_eq!(a, chaos::schedule(42, 600.0));
    assert_ne!(a, chaos::schedule(43, 600.0));
    let kinds: std::collections::BTreeSet<&str> = a.iter().filter_map(|(_, x)| x.kind()).collect();
    assert_eq!(kinds.len(), 13, "{kinds:?}");
}

// Proves the leak-run schedule keeps every fault kind but the kills (its processes live
// through the run, so start/end RSS and descriptors compare).
#[test]
fn chaos_nokill_schedule_has_no_kills() {
    let a = chaos::schedule_with(42, 600.0, false);
    let kinds: std::collections::BTreeSet<&str> = a.iter().filter_map(|(_, x)| x.kind()).collect();
    assert!(a
        .iter()
        .all(|(_, x)| !matches!(x, chaos::Action::Kill(..) | chaos::Action::Restart(_))));
    assert_eq!(kinds.len(), 11, "{kinds:?}");
}
