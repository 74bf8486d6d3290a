#!/bin/sh
# Issue #25 chaos soak, long run: three directors (ours, the reference keepalived 2.2.7, or
# mixed) under MINUTES of seeded faults (link down/up, userspace netem loss/delay/reorder/
# duplicate, SIGSTOP/SIGCONT and SIGKILL of the parent or the VRRP worker, SIGHUP with an
# unchanged/changed/invalid configuration, tracked-script flips), invariants checked from an
# independent advert recorder and `ip addr` polling (bins/keepalived/tests/chaos/mod.rs).
#
# Usage (root): benches/chaos_soak.sh [MINUTES [SEED [MODE]]]   (default 30, 1, ours)
# MODE: ours (ours x 3), reference (2.2.7 x 3), mixed (ours, ref, ours), mixed2 (ref, ours, ref),
#       leak (ours x 3 without SIGKILL faults: every process lives through the whole run, so its
#       RSS/descriptors compare start vs end; the drift lines give the 0/25/50/75/100 % trend).
# Prints: faults injected by kind, invariant violations (ours) and findings (reference),
# worst two-holder window, worst no-holder window, worst client reply gap, convergence time
# after the faults stop, RSS/fd drift per process. Exit status: the test's (0: no violation of
# ours). KRS_CHAOS_VERBOSE=1: live event trace; KRS_CHAOS_TRACE=1: trace at the end.
# Builds the test with your cargo settings (export the same CARGO_PROFILE_* as your last build
# to avoid a rebuild).
set -eu
MINUTES=${1:-30}
SEED=${2:-1}
MODE=${3:-ours}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SECS=$(awk "BEGIN { print $MINUTES * 60 }")
FAULTS=all
if [ "$MODE" = leak ]; then MODE=ours; FAULTS=nokill; fi
KRS_CHAOS_SEED=$SEED KRS_CHAOS_SECS=$SECS KRS_CHAOS_MODE=$MODE KRS_CHAOS_FAULTS=$FAULTS \
    cargo test -q -p keepalived --test lab_chaos_soak -- --ignored --exact lab_chaos_soak_custom --nocapture
