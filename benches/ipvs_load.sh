#!/usr/bin/env bash
# IPVS programming benchmark, all in ONE VM boot (real IPVS):
#   ours (ipvs-nl reconcile, batched) vs `ipvsadm -R` vs reference keepalived 2.2.7 loading the
#   same N services x D real servers (no checkers); single add/delete latency with the table
#   present; full removal time.
#   benches/ipvs_load.sh [N] [D]        (default 1000 x 10)
set -uo pipefail
N=${1:-1000}
D=${2:-10}
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
if [ "${KRS_IN_VM:-}" != 1 ]; then
    cargo build -q --release -p benches --bin ipvs_load || exit 2
    cargo build -q -p testlab --bin krs-vm || exit 2
    exec "$ROOT/target/debug/krs-vm" run --timeout 1500 -- "$ROOT/benches/ipvs_load.sh" "$N" "$D"
fi

B="$ROOT/target/release/ipvs_load"
W=/tmp/ipvs-bench
mkdir -p $W
TOTAL=$((N * D))
# Every measurement runs in a FRESH network namespace: IPVS keeps deleted destinations in a
# per-namespace trash list that ip_vs_add_dest scans linearly, so re-adding 10,000 destinations
# after a removal in the same namespace is several times slower; fresh namespaces keep runs
# comparable.
NSN=0
fresh() { NSN=$((NSN + 1)); NS=ipvsb$NSN; ip netns add $NS; ip -n $NS link set lo up; }
inns() { ip netns exec "$NS" "$@"; }
# empty the table first, then let the kernel finish tearing the namespace down (it runs
# asynchronously and would steal CPU from the next measurement)
drop() { ip netns exec "$NS" ipvsadm -C; ip netns del "$NS"; sleep 3; }
now_ns() { date +%s%N; }
elapsed_ms() { echo $(( ($(now_ns) - $1) / 1000000 )); }

echo "== IPVS load benchmark: $N services x $D destinations ($((N + TOTAL)) entries), kernel $(uname -r), $(nproc) vCPU"
ipvsadm -C

echo "-- ours: ipvs-nl reconcile from empty (batched, errors-only acks)"
for i in 1 2 3; do fresh; inns $B load "$N" "$D" batch; drop; done
echo "-- ours: batched, ack every request"
fresh; inns $B load "$N" "$D" batch-ackall; drop
echo "-- ours: one request per rule (no batching)"
fresh; inns $B load "$N" "$D" single; drop

echo "-- ipvsadm -R of the same rules"
$B gen-ipvsadm "$N" "$D" > $W/rules
for i in 1 2; do
    fresh
    t=$(now_ns); inns ipvsadm -R < $W/rules; echo "ipvsadm -R ms=$(elapsed_ms $t) ($(inns ipvsadm -Ln | grep -c -- '->') dest lines)"
    drop
done

echo "-- reference keepalived $(keepalived -v 2>&1 | head -1)"
$B gen-keepalived "$N" "$D" > $W/keepalived.conf
keepalived -t -f $W/keepalived.conf >/dev/null 2>&1 || echo "(keepalived -t reported problems)"
for i in 1 2; do
    fresh
    t=$(now_ns)
    # started directly (ip netns exec execs keepalived, so $! is keepalived's parent process)
    ip netns exec "$NS" keepalived -n -l -C -f $W/keepalived.conf -p $W/ka.pid -c $W/ka-c.pid >$W/ka.log 2>&1 &
    KA=$!
    inns $B wait "$N" "$TOTAL" 120
    echo "keepalived load ms=$(elapsed_ms $t) (from exec until the table was complete)"
    t=$(now_ns)
    kill -TERM $KA
    wait $KA 2>/dev/null
    echo "keepalived parent exited after ms=$(elapsed_ms $t) left(services dests)=$(inns $B count)"
    # the checker child may outlive the parent: wait (max 20 s) for every process of the namespace
    while [ -n "$(ip netns pids $NS)" ] && [ "$(elapsed_ms $t)" -lt 20000 ]; do sleep 0.05; done
    echo "keepalived stop ms=$(elapsed_ms $t) left(services dests)=$(inns $B count) still_running=$(ip netns pids $NS | wc -l)"
    for p in $(ip netns pids $NS); do kill -KILL "$p"; done
    rm -f $W/ka.pid $W/ka-c.pid
    drop
done

echo "-- ours: single add/delete latency with the full table present"
fresh; inns $B load "$N" "$D" batch; inns $B latency 1000
echo "-- ours: full removal (reconcile to empty, batched deletes)"
inns $B remove; drop
echo "-- ours: FLUSH"
fresh; inns $B load "$N" "$D" batch >/dev/null; inns $B flush; drop
