#!/bin/sh
# Issue #19 benchmark: BFD sessions at 10 ms x 3, daemon against daemon. For each session
# count N, FRR's bfdd in one namespace (one address) holds N sessions to N addresses of the
# keepalived namespace (10 ms rx/tx, multiplier 3; bfdd tells sessions apart by peer address) with a keepalived in a second namespace: first ours, then the reference
# keepalived 2.2.7 (same run, same configuration, a fresh bfdd each). Once all N sessions are
# Up, for DURATION seconds: CPU time of the daemon's BFD process (utime+stime from
# /proc/PID/stat) and of bfdd, and the Up -> Down transitions (false downs: nothing failed).
#
# Usage (root): benches/bfd_capacity.sh [DURATION_S [N...]]   (default: 60 s, N = 10 50 100 200)
# BIN=path/to/keepalived (default target/release/keepalived, built if missing); REF=path.
# Every 5 s bfdd is asked how many sessions it sees Up (up_at_bfdd: the mean share of sessions
# Up, the same observer for both daemons: a daemon whose sessions stay Down costs less CPU).
# Prints one line per (daemon, N):
#   impl N cpu_ms cpu_pct us_per_session_per_s false_downs up_at_bfdd_pct bfdd_cpu_pct
set -eu
DURATION=${1:-60}
shift 2>/dev/null || true
COUNTS=${*:-10 50 100 200}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REF=${REF:-/usr/sbin/keepalived}
BFDD=${BFDD:-/usr/lib/frr/bfdd}
BIN=${BIN:-$ROOT/target/release/keepalived}
[ -x "$BIN" ] || (cd "$ROOT" && cargo build -q --release -p keepalived)
for x in "$REF" "$BFDD"; do [ -x "$x" ] || { echo "missing $x (apt-get install keepalived frr)" >&2; exit 1; }; done
HZ=$(getconf CLK_TCK)
TAG=kb$$
NA=$TAG-a   # bfdd
NB=$TAG-b   # keepalived
WORK=$(mktemp -d)
chmod 755 "$WORK"
BFDD_PID=""
KA_PID=""
cleanup() {
    [ -n "$KA_PID" ] && kill "$KA_PID" 2>/dev/null || true
    [ -n "$BFDD_PID" ] && kill "$BFDD_PID" 2>/dev/null || true
    sleep 0.5
    for ns in $NA $NB; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

ip netns add $NA
ip netns add $NB
ip -n $NA link add eth0 type veth peer name eth0 netns $NB
ip -n $NA link set lo up
ip -n $NB link set lo up
ip -n $NA link set eth0 up
ip -n $NB link set eth0 up
ip -n $NA addr add 10.77.0.1/16 dev eth0

# count PATTERN FILE: matching lines (0 when the file does not exist yet)
count() {
    c=$(grep -c "$1" "$2" 2>/dev/null) || true
    echo "${c:-0}"
}

# downs_from_up FILE: Up -> Down transitions logged (ours logs every transition, the
# reference only those from Up; sessions by name, "(NAME) Entering STATE state")
downs_from_up() {
    [ -f "$1" ] || { echo 0; return; }
    awk '/\) Entering [A-Za-z]+ state/ {
            m = $0; sub(/ Entering.*/, "", m); sub(/.*\(/, "", m)
            st = $0; sub(/.* Entering /, "", st); sub(/ state.*/, "", st)
            if (st == "Down" && last[m] == "Up") n++
            last[m] = st
         } END { print n + 0 }' "$1"
}

# cpu_ticks PID: utime + stime
cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

our_addr() { # i -> 10.77.(1 + i/250).(i%250 + 1)
    echo "10.77.$((1 + $1 / 250)).$(($1 % 250 + 1))"
}

run() { # impl prog n
    impl=$1 prog=$2 n=$3
    d=$WORK/$impl-$n
    mkdir -p "$d/frr"
    i=0
    {
        echo "bfd"
        while [ $i -lt "$n" ]; do
            echo " peer $(our_addr $i) local-address 10.77.0.1"
            echo "  receive-interval 10"
            echo "  transmit-interval 10"
            echo "  detect-multiplier 3"
            echo " !"
            i=$((i + 1))
        done
        echo "!"
    } > "$d/frr/bfdd.conf"
    i=0
    {
        echo "global_defs {"
        echo "  router_id bfdbench"
        echo "}"
        while [ $i -lt "$n" ]; do
            echo "bfd_instance s$i {"
            echo "  neighbor_ip 10.77.0.1"
            echo "  source_ip $(our_addr $i)"
            echo "  min_rx 10"
            echo "  min_tx 10"
            echo "  multiplier 3"
            echo "}"
            i=$((i + 1))
        done
    } > "$d/keepalived.conf"
    chown -R frr:frr "$d/frr"
    chmod 755 "$d"
    ip -n $NB addr flush dev eth0
    i=0
    while [ $i -lt "$n" ]; do
        echo "addr add $(our_addr $i)/16 dev eth0"
        i=$((i + 1))
    done | ip -n $NB -batch -
    ip netns exec $NA "$BFDD" -u frr -g frr -f "$d/frr/bfdd.conf" -i "$d/frr/bfdd.pid" \
        -z "$d/frr/zserv.api" --bfdctl "$d/frr/bfdd.sock" --vty_socket "$d/frr" \
        > "$d/bfdd.log" 2>&1 &
    BFDD_PID=$!
    extra=""
    [ "$prog" = "$BIN" ] && extra="-G"
    ip netns exec $NB "$prog" -n -l $extra -f "$d/keepalived.conf" -p "$d/main.pid" \
        -r "$d/vrrp.pid" -c "$d/check.pid" -b "$d/bfd.pid" > "$d/ka.log" 2>&1 &
    KA_PID=$!
    # Wait for every session Up (at most 60 s).
    t=0
    while [ "$(count 'Entering Up state' "$d/ka.log")" -lt "$n" ] && [ $t -lt 600 ]; do
        sleep 0.1
        t=$((t + 1))
    done
    up=$(count 'Entering Up state' "$d/ka.log")
    sleep 1
    bpid=$(cat "$d/bfd.pid" 2>/dev/null || echo "$KA_PID")
    downs0=$(downs_from_up "$d/ka.log")
    c0=$(cpu_ticks "$bpid")
    f0=$(cpu_ticks "$BFDD_PID")
    # Every 5 s, how many sessions bfdd sees Up (the same observer for both daemons).
    samples=0 upsum=0 k=0
    while [ $k -lt "$DURATION" ]; do
        s=5
        [ $((DURATION - k)) -lt 5 ] && s=$((DURATION - k))
        sleep "$s"
        k=$((k + s))
        u=$(vtysh --vty_socket "$d/frr" -c "show bfd peers brief" 2>/dev/null | grep -cw up || true)
        samples=$((samples + 1))
        upsum=$((upsum + ${u:-0}))
    done
    c1=$(cpu_ticks "$bpid")
    f1=$(cpu_ticks "$BFDD_PID")
    downs1=$(downs_from_up "$d/ka.log")
    kill "$KA_PID" 2>/dev/null || true
    wait "$KA_PID" 2>/dev/null || true
    KA_PID=""
    kill "$BFDD_PID" 2>/dev/null || true
    wait "$BFDD_PID" 2>/dev/null || true
    BFDD_PID=""
    python3 - "$impl" "$n" "$up" "$c0" "$c1" "$f0" "$f1" "$HZ" "$DURATION" "$downs0" "$downs1" "$upsum" "$samples" <<'PY'
import sys
impl, n, up, c0, c1, f0, f1, hz, dur, d0, d1, upsum, samples = sys.argv[1:]
n, up, hz, dur = int(n), int(up), int(hz), float(dur)
cpu_s = (int(c1) - int(c0)) / hz
bfdd_s = (int(f1) - int(f0)) / hz
up_pct = 100 * int(upsum) / max(int(samples) * n, 1)
print("%-9s N=%-4d cpu=%7.0f ms  cpu=%5.1f %%  %6.1f us/session/s  false_downs=%-5d up_at_bfdd=%5.1f %%  bfdd_cpu=%5.1f %%"
      % (impl, n, cpu_s * 1000, 100 * cpu_s / dur, 1e6 * cpu_s / dur / max(n, 1),
         int(d1) - int(d0), up_pct, 100 * bfdd_s / dur))
PY
    sleep 1
}

echo "BFD 10 ms x 3, ${DURATION} s per run; ours: $BIN; reference: $REF; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for n in $COUNTS; do
    run ours "$BIN" "$n"
    run reference "$REF" "$n"
done
