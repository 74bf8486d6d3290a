#!/usr/bin/env bash
# Where the LVS daemon spends a start and a reload of 2,277 VS x 37,205 RS, in the VM: perf -a (499 Hz) of both
# windows, then the samples per process and per symbol of the daemon's processes. Run from the host (builds first):
#   benches/lvs_scale_perf.sh            (K=/path/to/keepalived for another build)
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
if [ "${KRS_IN_VM:-}" != 1 ]; then
    cargo build -q --release -p benches --bin ipvs_load || exit 2
    cargo build -q --release -p keepalived --bin keepalived || exit 2
    cargo build -q -p testlab --bin krs-vm || exit 2
    exec "$ROOT/target/debug/krs-vm" run --timeout 600 -- env K="${K:-}" "$ROOT/benches/lvs_scale_perf.sh"
fi
B=$ROOT/target/release/ipvs_load
K=${K:-$ROOT/target/release/keepalived}
W=/tmp/lp; mkdir -p $W
$B gen-scale 2277 37205 0 >$W/v0.conf
$B gen-scale 2277 37205 1 >$W/v1.conf
ip netns add lp; ip -n lp link set lo up
cp $W/v0.conf $W/ka.conf
t=$(date +%s%N)
perf record -q -a -g -F 499 -o $W/start.data -- sleep 12 >/dev/null 2>&1 &
pp=$!
ip netns exec lp $K -n -l -C -f $W/ka.conf -p $W/ka.pid -c $W/ka-c.pid -r $W/ka-v.pid >$W/ka.log 2>&1 &
pid=$!
echo "start_ms=$(ip netns exec lp $B waitfor 2277 37205 0 120 $t)"
wait $pp
sleep 2
cp $W/v1.conf $W/ka.conf
perf record -q -a -g -F 499 -o $W/reload.data -- sleep 8 >/dev/null 2>&1 &
pp=$!
sleep 0.5
t=$(date +%s%N)
kill -HUP $pid
echo "reload_ms=$(ip netns exec lp $B waitfor 2277 37205 1 120 $t)"
wait $pp
kill -TERM $pid; wait $pid
ip netns exec lp ipvsadm -C; ip netns del lp
for f in start reload; do
  echo "=== $f by process"
  perf report -i $W/$f.data --no-children --sort pid,comm -g none -n --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -12
  echo "=== $f by symbol (daemon processes)"
  perf report -i $W/$f.data --no-children --comm keepalived,lvs-director,conf-lexer,tokio-runtime-w --sort comm,sym -g none -n --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -45
done
