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
#       RSS/descriptors compare start vs end; the drift lines give the 0/25/50/75/100 % trend),
#       lvs, lvs-mixed, lvs-mixed2, lvs-reference (the VM/LVS variant, inside the project VM:
#       plus a UDP virtual server on the VIP with two real servers going down/up, the IPVS
#       table checked against the real servers that are up; bins/keepalived/tests/vm_chaos_lvs.rs).
# Prints: faults injected by kind, invariant violations (ours) and findings (reference),
# worst two-holder window, worst no-holder window, worst client reply gap, convergence time
# after the faults stop, RSS/fd drift per process (LVS: replies per real server through the VIP,
# IPVS convergence after real-server changes, VM stalls). Exit status: the test's (0: no
# violation of ours). KRS_CHAOS_VERBOSE=1: live event trace; KRS_CHAOS_TRACE=1: trace at the end.
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
case $MODE in
lvs*)
    case $MODE in
    lvs) MODE=ours ;;
    lvs-*) MODE=${MODE#lvs-} ;;
    esac
    cargo build -q -p testlab --bin krs-vm
    EXE=$(cargo test -q -p keepalived --test vm_chaos_lvs --no-run --message-format=json |
        python3 -c 'import sys, json
for l in sys.stdin:
    try: m = json.loads(l)
    except Exception: continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m.get("profile", {}).get("test"):
        print(m["executable"])' | tail -n 1)
    [ -n "$EXE" ] || { echo "chaos_soak: building vm_chaos_lvs failed" >&2; exit 2; }
    # VM cache: a worktree's target/vm is often a symlink, which the guest cannot follow.
    KRS_VM_DIR=${KRS_VM_DIR:-$(readlink -f "${CARGO_TARGET_DIR:-$ROOT/target}/vm")}
    export KRS_VM_DIR
    T=$(awk "BEGIN { print int($SECS * 2 + 600) }")
    EXTRA=
    [ -n "${KRS_CHAOS_VERBOSE:-}" ] && EXTRA="$EXTRA KRS_CHAOS_VERBOSE=1"
    [ -n "${KRS_CHAOS_TRACE:-}" ] && EXTRA="$EXTRA KRS_CHAOS_TRACE=1"
    cd bins/keepalived
    exec "$ROOT/target/debug/krs-vm" run --timeout "$T" -- /bin/sh -c \
        "cd '$ROOT/bins/keepalived' && CARGO_MANIFEST_DIR='$ROOT/bins/keepalived' \
KRS_CHAOS_SEED=$SEED KRS_CHAOS_SECS=$SECS KRS_CHAOS_MODE=$MODE$EXTRA \
'$EXE' --ignored --exact vm_chaos_soak_lvs --nocapture"
    ;;
leak) MODE=ours; FAULTS=nokill ;;
esac
KRS_CHAOS_SEED=$SEED KRS_CHAOS_SECS=$SECS KRS_CHAOS_MODE=$MODE KRS_CHAOS_FAULTS=$FAULTS \
    cargo test -q -p keepalived --test lab_chaos_soak -- --ignored --exact lab_chaos_soak_custom --nocapture
