#!/usr/bin/env bash
# LVS at scale, all in ONE VM boot (real IPVS), side by side: our keepalived, Debian's reference
# 2.2.7 (/usr/sbin/keepalived) and upstream 2.4.3 (target/reference/keepalived-2.4.3, built by
# scripts/build-reference.sh; the VM runs the host's root read-only, so its shared libraries are
# there). Each daemon runs the same generated keepalived.conf (VS virtual servers, RS real servers
# in total, NAT/wlc, no checkers: every real server is in the table from the start) in a fresh
# network namespace, and for each run the script prints:
#   start_ms   from just before the daemon's exec (`ip netns exec`) to the moment /proc/net/ip_vs
#              holds exactly the configured table (polled every 20 ms by `ipvs_load waitfor`);
#   reload_ms  from just before SIGHUP (the configuration file replaced by one where 1% of the
#              real servers moved to a new address) to /proc/net/ip_vs holding exactly the new
#              table; reload_cpu_ms = CPU time (schedstat, every thread of the daemon's processes)
#              spent in that window, reload_cpu3_ms the same up to 3 s after the SIGHUP;
#   conns      a client in the namespace connecting to the first virtual server (10.10.0.1:80,
#              which the reload leaves unchanged) every ~10 ms from 1 s before the SIGHUP to 1 s
#              after the table matched: ok / failed. The real servers are local addresses (IPVS
#              "local node": the connection is delivered to a local listener), so a failure
#              means the virtual server or all its destinations were missing at that moment;
#   vs0_conns  IPVS' connection counters of that virtual server's destinations (sum) right
#              before the SIGHUP and after the reload: a destination deleted and re-added would
#              restart from 0, so "after >= before" shows they were not touched;
#   stop_ms    from SIGTERM to the last process of the namespace gone (given up after 60 s),
#              left = services and destinations still in /proc/net/ip_vs.
#   benches/lvs_scale.sh [VS] [RS] [RUNS_OURS] [RUNS_REF]   (default 2277 37205 3 1)
#   OLD=/path/to/other/keepalived also runs that build (e.g. before a change) as "ours-old".
#   TIMEOUT=S gives up waiting for a table after S seconds (default 300).
set -uo pipefail
VS=${1:-2277}
RS=${2:-37205}
RUNS_OURS=${3:-3}
RUNS_REF=${4:-1}
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
if [ "${KRS_IN_VM:-}" != 1 ]; then
    cargo build -q --release -p benches --bin ipvs_load || exit 2
    cargo build -q --release -p keepalived --bin keepalived || exit 2
    cargo build -q -p testlab --bin krs-vm || exit 2
    exec "$ROOT/target/debug/krs-vm" run --timeout 3000 -- env OLD="${OLD:-}" TIMEOUT="${TIMEOUT:-300}" "$ROOT/benches/lvs_scale.sh" "$VS" "$RS" "$RUNS_OURS" "$RUNS_REF"
fi

B="$ROOT/target/release/ipvs_load"
OURS="$ROOT/target/release/keepalived"
R243="$ROOT/target/reference/keepalived-2.4.3/bin/keepalived"
W=/tmp/lvs-scale
mkdir -p $W
NSN=0
fresh() { NSN=$((NSN + 1)); NS=lvss$NSN; ip netns add $NS; ip -n $NS link set lo up; }
inns() { ip netns exec "$NS" "$@"; }
drop() { ip netns exec "$NS" ipvsadm -C; ip netns del "$NS"; sleep 3; }
now_ns() { date +%s%N; }
elapsed_ms() { echo $(( ($(now_ns) - $1) / 1000000 )); }
# CPU time (ns) of every thread of the namespace's daemon processes (not the test's python
# client/server, not the ipvs_load poller)
cpu_ns() {
    local p t s=0 a
    for p in $(ip netns pids "$NS"); do
        case "$(cat /proc/$p/comm 2>/dev/null)" in python3 | ipvs_load) continue ;; esac
        for t in /proc/$p/task/*/schedstat; do
            read -r a _ <"$t" 2>/dev/null && s=$((s + a))
        done
    done
    echo $s
}
# connection counters of VS 0's destinations
vs0_conns() { inns ipvsadm -Ln --stats -t 10.10.0.1:80 | awk '$1 == "->" && $2 != "RemoteAddress:Port" {s += $3} END {print s + 0}'; }

cat >$W/server.py <<'EOF'
import selectors, socket
sel = selectors.DefaultSelector()
for port in (80, 8080):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(512); s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
while True:
    for k, _ in sel.select():
        try:
            c, _ = k.fileobj.accept(); c.sendall(b"x"); c.close()
        except OSError:
            pass
EOF
cat >$W/client.py <<'EOF'
import os, socket, sys, time
stop = sys.argv[1]; ok = fail = 0
while not os.path.exists(stop):
    try:
        s = socket.create_connection(("10.10.0.1", 80), timeout=1)
        d = s.recv(1); s.close()
        if d == b"x": ok += 1
        else: fail += 1
    except OSError:
        fail += 1
    time.sleep(0.01)
print(f"{ok} {fail}")
EOF

$B gen-scale "$VS" "$RS" 0 >$W/v0.conf
$B gen-scale "$VS" "$RS" 1 >$W/v1.conf
echo "== LVS at scale: $VS virtual servers x $RS real servers ($((VS + RS)) entries), 1% = $((RS / 100)) real servers moved at reload; kernel $(uname -r), $(nproc) vCPU"
echo "   config $(wc -c <$W/v0.conf) bytes; diff v0/v1: $(diff $W/v0.conf $W/v1.conf | grep -c '^>') lines"

one_run() { # NAME BIN
    local name=$1 bin=$2 t pid start reload cpu0 cpu1 cpu3 c0 c1 conns stop left
    fresh
    # local addresses: VS 0's address and its real servers (10.20.j.1) → IPVS "local node"
    inns ip addr add 10.10.0.1/32 dev lo
    for j in $(seq 0 $((RS / VS))); do inns ip addr add 10.20.$j.1/32 dev lo; done
    inns python3 $W/server.py &
    local srv=$!
    cp $W/v0.conf $W/ka.conf
    rm -f $W/ka.pid $W/ka-c.pid $W/ka-v.pid $W/stop
    t=$(now_ns)
    ip netns exec "$NS" "$bin" -n -l -C -f $W/ka.conf -p $W/ka.pid -c $W/ka-c.pid -r $W/ka-v.pid >$W/$name.log 2>&1 &
    pid=$!
    start=$(inns $B waitfor "$VS" "$RS" 0 "${TIMEOUT:-300}" "$t")
    sleep 3
    inns python3 $W/client.py $W/stop >$W/client.out &
    local cl=$!
    sleep 1
    c0=$(vs0_conns)
    cp $W/v1.conf $W/ka.conf
    cpu0=$(cpu_ns)
    t=$(now_ns)
    kill -HUP $pid
    reload=$(inns $B waitfor "$VS" "$RS" 1 "${TIMEOUT:-300}" "$t")
    cpu1=$(cpu_ns)
    sleep 1
    touch $W/stop
    wait $cl
    conns=$(cat $W/client.out)
    c1=$(vs0_conns)
    while [ "$(elapsed_ms $t)" -lt 3000 ]; do sleep 0.1; done
    cpu3=$(cpu_ns)
    t=$(now_ns)
    kill -TERM $pid
    kill $srv
    wait $srv 2>/dev/null
    # the listener by its pid in the namespace (the recorded run waited on it: stop_ms 60 s)
    for p in $(ip netns pids $NS); do
        [ "$(cat /proc/$p/comm 2>/dev/null)" = python3 ] && kill -KILL "$p"
    done
    while [ -n "$(ip netns pids $NS)" ] && [ "$(elapsed_ms $t)" -lt 60000 ]; do sleep 0.02; done
    stop=$(elapsed_ms $t)
    left=$(inns $B count)
    local rest=""
    for p in $(ip netns pids $NS); do rest="$rest $(cat /proc/$p/comm 2>/dev/null)"; done
    echo "$name start_ms=$start reload_ms=$reload reload_cpu_ms=$(((cpu1 - cpu0) / 1000000)) reload_cpu3_ms=$(((cpu3 - cpu0) / 1000000)) conns(ok failed)=($conns) vs0_conns(before after)=($c0 $c1) stop_ms=$stop left(services dests)=($left) still_running=($rest)"
    for p in $(ip netns pids $NS); do kill -KILL "$p"; done
    wait $pid 2>/dev/null
    drop
}

for i in $(seq 1 "$RUNS_OURS"); do
    one_run ours "$OURS"
    if [ -n "${OLD:-}" ]; then one_run ours-old "$OLD"; fi
done
for i in $(seq 1 "$RUNS_REF"); do
    one_run ref-2.2.7 /usr/sbin/keepalived
    if [ -x "$R243" ]; then one_run ref-2.4.3 "$R243"; else echo "ref-2.4.3: $R243 missing (scripts/build-reference.sh)"; fi
done
