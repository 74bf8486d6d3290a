#!/bin/sh
# Checker-worker benchmark, ours (krs-lvsd) vs the reference (keepalived 2.2.7 -C), same run:
# N real servers with TCP_CHECK at delay_loop 1 s against listeners in a namespace; prints the
# CPU seconds per 1,000 checks of each (all processes of the director namespace, from
# /proc/PID/stat over the measuring window). Must run INSIDE the IPVS VM (keepalived's checker
# needs IPVS; the table is programmed in the director namespace):
#
#   cargo build --release -p lvs-director
#   target/debug/krs-vm run --timeout 900 -- crates/lvs-director/scripts/bench-checkers.sh 1000 20
#
# Arguments: N (default 1000; multiple of 100) and the window in seconds (default 20).
# Namespaces: lvsb-srv (10.9.0.11.. listening on ports 20000..20099) and lvsb-dir (10.9.0.1), a
# veth pair between them; both are created here and deleted at the end. Nothing leaves them.
set -eu
N=${1:-1000}
WIN=${2:-20}
HERE=$(cd "$(dirname "$0")/../../.." && pwd)
LVSD=$HERE/target/release/krs-lvsd
[ -x "$LVSD" ] || LVSD=$HERE/target/debug/krs-lvsd
[ -n "${KRS_IN_VM:-}" ] || { echo "run inside the VM (see header)" >&2; exit 2; }
ADDRS=$((N / 100))
T=$(mktemp -d)
cleanup() {
    for ns in lvsb-dir lvsb-srv; do
        for p in $(ip netns pids $ns 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
        ip netns del $ns 2>/dev/null || true
    done
    rm -rf "$T"
}
trap cleanup EXIT
ip netns add lvsb-srv
ip netns add lvsb-dir
ip link add lvsb0 netns lvsb-dir type veth peer name eth0 netns lvsb-srv
ip -n lvsb-dir addr add 10.9.0.1/16 dev lvsb0
ip -n lvsb-dir link set lvsb0 up
ip -n lvsb-dir link set lo up
ip -n lvsb-srv link set eth0 up
ip -n lvsb-srv link set lo up
i=0
while [ $i -lt "$ADDRS" ]; do
    ip -n lvsb-srv addr add 10.9.1.$((i + 1))/16 dev eth0
    i=$((i + 1))
done
ip netns exec lvsb-dir sh -c 'ulimit -n 65536; true'
# Listeners: one asyncio process accepting and closing on 100 ports (all addresses).
cat > "$T/listen.py" <<'PY'
import asyncio, socket
async def main():
    async def h(r, w):
        w.close()
    for p in range(20000, 20100):
        await asyncio.start_server(h, "0.0.0.0", p, backlog=1024)
    await asyncio.Event().wait()
asyncio.run(main())
PY
ip netns exec lvsb-srv sh -c "ulimit -n 65536; exec python3 $T/listen.py" &
# Python starts slowly under emulation: wait for all 100 listening ports.
k=0
while [ "$(ip netns exec lvsb-srv ss -ltnH | grep -c ':20[0-9][0-9][0-9] ')" -lt 100 ] && [ $k -lt 300 ]; do
    sleep 0.5; k=$((k + 1))
done
{
    echo "virtual_server 10.9.0.100 80 {"
    echo "  delay_loop 1"
    echo "  lb_algo rr"
    echo "  lb_kind NAT"
    echo "  protocol TCP"
    a=1
    while [ $a -le "$ADDRS" ]; do
        p=20000
        while [ $p -lt 20100 ]; do
            echo "  real_server 10.9.1.$a $p { TCP_CHECK { connect_timeout 3 } }"
            p=$((p + 1))
        done
        a=$((a + 1))
    done
    echo "}"
} > "$T/bench.conf"

ticks() { # sum of utime+stime (clock ticks) of all processes in lvsb-dir
    s=0
    for p in $(ip netns pids lvsb-dir); do
        v=$(awk '{print $14 + $15}' /proc/$p/stat 2>/dev/null || echo 0)
        s=$((s + v))
    done
    echo $s
}
HZ=$(getconf CLK_TCK)
measure() { # NAME CMD...
    name=$1; shift
    ip netns exec lvsb-dir sh -c "ulimit -n 65536; exec \"\$@\"" sh "$@" >"$T/$name.log" 2>&1 &
    # Wait until the table is programmed, then for the jittered start (warmup = delay_loop).
    k=0
    while [ "$(ip netns exec lvsb-dir ipvsadm -Ln | grep -c '\-> 10.9.1')" -lt "$N" ] && [ $k -lt 600 ]; do
        sleep 0.5; k=$((k + 1))
    done
    sleep 3
    t0=$(ticks); s0=$(date +%s.%N)
    sleep "$WIN"
    t1=$(ticks); s1=$(date +%s.%N)
    down=$(ip netns exec lvsb-dir ipvsadm -Ln | grep -c '\-> 10.9.1' || true)
    for p in $(ip netns pids lvsb-dir); do kill -TERM "$p" 2>/dev/null || true; done
    sleep 3
    for p in $(ip netns pids lvsb-dir); do kill -9 "$p" 2>/dev/null || true; done
    ip netns exec lvsb-dir ipvsadm -C
    echo "$name: $(grep -c -i 'disabling\|removing service' "$T/$name.log" || true) down transitions logged; sample:"
    grep -i 'disabling\|removing service' "$T/$name.log" | head -3 || true
    python3 - "$name" "$N" "$t0" "$t1" "$s0" "$s1" "$HZ" "$down" <<'PY'
import sys
name, n, t0, t1, s0, s1, hz, present = sys.argv[1:]
cpu = (int(t1) - int(t0)) / int(hz)
wall = float(s1) - float(s0)
checks = int(n) * wall  # delay_loop 1 s: N checks per second
print(f"{name}: N={n} window={wall:.1f}s cpu={cpu:.2f}s checks~{checks:.0f} "
      f"cpu_per_1000_checks={1000*cpu/checks*1000:.1f}ms real_servers_in_table={present}")
PY
}
measure ours "$LVSD" -f "$T/bench.conf"
measure reference /usr/sbin/keepalived -n -l -C -f "$T/bench.conf" -p "$T/k.pid" -c "$T/kc.pid" -r "$T/kr.pid"
