#!/bin/bash
# Issue #22 item 4 benchmark: health checks at scale, ours and the reference keepalived 2.2.7 in
# the same run, on this host in two network namespaces.
#
#   benches/hc_scale.sh [KIND [N [WINDOW_S]]]     KIND tcp|http (default tcp), N targets
#                                                   (default 50000), WINDOW_S (default 30)
#
# Namespace "srv" holds ceil(N/100) addresses 10.88.A.B and benches/hc_listen listening on 100
# ports of all of them (N distinct address:port targets). Namespace "cli" runs the daemon with
# one virtual server per 100 real servers (lb_kind NAT), each real server with one TCP_CHECK
# (KIND tcp) or HTTP_GET (url / status_code 200) at delay_loop 1, connect_timeout 2; `-C`
# (checker process only). First ours, then the reference, each with a fresh listener.
#
# Ours is target/release/keepalived-fakes (the daemon with the in-memory IPVS of the tests: this
# kernel has no IPVS; built if missing). The reference /usr/sbin/keepalived runs with
# benches/fake_ipvs.c preloaded (answers its IPVS setsockopt/getsockopt calls with success;
# nothing else is changed). Both get `ulimit -n 1048576`, or the hard limit if lower.
#
# Measured, after WARMUP_S (default 10) seconds, over WINDOW_S seconds:
# * from the listener (independent of the daemons' logs: accept timestamps per target, see
#   hc_listen.rs): connections, targets seen, on-schedule % (interval between two checks of a
#   target ≤ delay_loop + 5 ms, and + 50 ms), lateness p50/p99/p99.9/max, gaps (> 2 s);
# * from /proc of the daemon's checker process (the `-c` pidfile): user and system CPU
#   (utime/stime, clock ticks), µs of user CPU per check (= utime / connections accepted),
#   VmRSS at the end of the window, the most fds it held (sampled every second), and the RSS
#   summed over all of the daemon's processes;
# * "Too many open files" / EMFILE lines in the daemon's log (fd exhaustion);
# * the machine: /proc/loadavg and the share of both cores busy (/proc/stat) in the window.
# * the checker's memory from /proc/PID/smaps_rollup: Rss split into anonymous and file pages,
#   and Pss;
# * PERF=DIR: `perf record -g` of the checker process over the window, `perf report` written to
#   DIR/IMPL-KIND-N.txt (user-space symbols; the profile the CPU figures come from).
# Prints one line per daemon:
#   impl kind N conns on5ms% on50ms% p50us p99us p999us maxus gaps user_s sys_s user_us_per_check
#   rss_kb total_rss_kb max_fds emfile  | load, busy%
set -eu
KIND=${1:-tcp}
N=${2:-50000}
WINDOW=${3:-30}
WARMUP=${WARMUP:-10}
PORTS=100
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REF=${REF:-/usr/sbin/keepalived}
BIN=${BIN:-$ROOT/target/release/keepalived-fakes}
LISTEN=${LISTEN:-$ROOT/target/release/hc_listen}
ONLY=${ONLY:-ours ref}
[ -x "$BIN" ] || (cd "$ROOT" && cargo build -q --release -p keepalived --features test-fakes --bin keepalived-fakes)
[ -x "$LISTEN" ] || (cd "$ROOT" && cargo build -q --release -p benches --bin hc_listen)
TAG=hs$$
CLI=$TAG-c
SRV=$TAG-s
WORK=$(mktemp -d)
chmod 755 "$WORK"
gcc -O2 -shared -fPIC -o "$WORK/fake_ipvs.so" "$ROOT/benches/fake_ipvs.c" -ldl
HZ=$(getconf CLK_TCK)
KA_PID=""
L_PID=""
cleanup() {
    [ -n "$KA_PID" ] && kill "$KA_PID" 2>/dev/null || true
    [ -n "$L_PID" ] && kill "$L_PID" 2>/dev/null || true
    sleep 1
    for ns in $CLI $SRV; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
    [ -n "${KEEP:-}" ] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
# As many descriptors as allowed (this container's hard limit is 20,000: not raisable).
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"

ip netns add $CLI
ip netns add $SRV
ip -n $CLI link add eth0 type veth peer name eth0 netns $SRV
for ns in $CLI $SRV; do
    ip -n $ns link set lo up
    ip -n $ns link set eth0 up
    ip netns exec $ns sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535 \
        net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1
done
ip -n $CLI addr add 10.88.0.1/16 dev eth0
ADDRS=$(( (N + PORTS - 1) / PORTS ))
awk -v n="$ADDRS" 'BEGIN { print "addr add 10.88.0.2/16 dev eth0";
    for (i = 0; i < n; i++) printf "addr add 10.88.%d.%d/16 dev eth0\n", 1 + int(i / 250), i % 250 + 1 }' \
    > "$WORK/addrs"
ip -n $SRV -batch "$WORK/addrs"

# The configuration: real server i is 10.88.(1 + a/250).(a%250 + 1):(20000 + i%100), a = i/100;
# virtual server v (100 real servers each) is 10.99.(v/250).(v%250 + 1):80.
awk -v n="$N" -v kind="$KIND" 'BEGIN {
    print "global_defs {\n  router_id hcscale\n}"
    for (i = 0; i < n; i++) {
        a = int(i / 100)
        if (i % 100 == 0) {
            if (i) print "}"
            printf "virtual_server 10.99.%d.%d 80 {\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n", int(a / 250), a % 250 + 1
        }
        printf "  real_server 10.88.%d.%d %d {\n", 1 + int(a / 250), a % 250 + 1, 20000 + i % 100
        if (kind == "http")
            print "    HTTP_GET {\n      url {\n        path /\n        status_code 200\n      }\n      connect_timeout 2\n    }\n  }"
        else
            print "    TCP_CHECK {\n      connect_timeout 2\n    }\n  }"
    }
    print "}"
}' > "$WORK/keepalived.conf"

# busy_total: "busy total" jiffies of all CPUs from /proc/stat
busy_total() { awk '/^cpu / { b = $2 + $3 + $4 + $7 + $8; print b, b + $5 + $6 }' /proc/stat; }
stat_of() { awk '{ print $14, $15 }' "/proc/$1/stat" 2>/dev/null || echo "0 0"; }
rss_of() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
nfds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

run() { # IMPL
    impl=$1
    d=$WORK/$impl
    mkdir -p "$d"
    chmod 755 "$d"
    http=""
    [ "$KIND" = http ] && http=--http
    ip netns exec $SRV "$LISTEN" --ports $PORTS --warmup "$WARMUP" --window "$WINDOW" $http \
        > "$d/listen.out" 2>&1 &
    L_PID=$!
    for _ in $(seq 100); do grep -q ready "$d/listen.out" 2>/dev/null && break; sleep 0.1; done
    if [ "$impl" = ours ]; then
        ip netns exec $CLI "$BIN" -C -n -l -f "$WORK/keepalived.conf" -p "$d/ka.pid" \
            -c "$d/kac.pid" > "$d/log" 2>&1 &
    else
        ip netns exec $CLI env LD_PRELOAD="$WORK/fake_ipvs.so" "$REF" -C -n -l \
            -f "$WORK/keepalived.conf" -p "$d/ka.pid" -c "$d/kac.pid" > "$d/log" 2>&1 &
    fi
    KA_PID=$!
    for _ in $(seq $((WARMUP * 10 + 100))); do grep -q window-start "$d/listen.out" && break; sleep 0.1; done
    cpid=$(cat "$d/kac.pid" 2>/dev/null || echo 0)
    read -r u0 s0 < <(stat_of "$cpid")
    read -r b0 t0 < <(busy_total)
    P_PID=""
    if [ -n "${PERF:-}" ] && [ "$cpid" != 0 ]; then
        mkdir -p "$PERF"
        perf record -q -g -p "$cpid" -o "$d/perf.data" -- sleep "$WINDOW" > /dev/null 2>&1 &
        P_PID=$!
    fi
    maxfd=0
    for _ in $(seq "$WINDOW"); do
        f=$(nfds "$cpid")
        [ "$f" -gt "$maxfd" ] && maxfd=$f
        grep -q '^report' "$d/listen.out" && break
        sleep 1
    done
    for _ in $(seq 100); do grep -q '^report' "$d/listen.out" && break; sleep 0.1; done
    read -r u1 s1 < <(stat_of "$cpid")
    read -r b1 t1 < <(busy_total)
    rss=$(rss_of "$cpid")
    smaps=$(awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } /^Anonymous:/ { a = $2 } /^Rss_File|^Pss_File/ { }
        END { printf "anon %.1f MB, file %.1f MB, Pss %.1f MB", a / 1024, (r - a) / 1024, p / 1024 }' \
        "/proc/$cpid/smaps_rollup" 2>/dev/null || echo "n/a")
    total=0
    for p in $(ip netns pids $CLI); do total=$((total + $(rss_of "$p"))); done
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    if [ -n "$P_PID" ]; then
        wait "$P_PID" 2>/dev/null || true
        perf report -i "$d/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null \
            | head -150 > "$PERF/$impl-$KIND-$N.txt" || true
        perf report -i "$d/perf.data" --children --sort symbol --stdio -g none 2>/dev/null \
            | head -120 > "$PERF/$impl-$KIND-$N.children.txt" || true
        perf report -i "$d/perf.data" --no-children --sort dso,symbol --stdio -g none \
            --percentage relative 2>/dev/null | grep -v '\[k\]' | head -60 \
            > "$PERF/$impl-$KIND-$N.user.txt" || true
        cp "$d/perf.data" "$PERF/$impl-$KIND-$N.data" 2>/dev/null || true
    fi
    kill "$KA_PID" 2>/dev/null || true
    wait "$KA_PID" 2>/dev/null || true
    wait "$L_PID" 2>/dev/null || true
    KA_PID=""
    L_PID=""
    for _ in $(seq 100); do [ -z "$(ip netns pids $CLI)" ] && break; sleep 0.2; done
    emfile=$(grep -c -i -E 'too many open files|EMFILE' "$d/log" || true)
    rep=$(grep '^report' "$d/listen.out" || echo "report conns=0")
    conns=$(echo "$rep" | sed 's/.*conns=\([0-9]*\).*/\1/')
    g() { echo "$rep" | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
    awk -v impl="$impl" -v kind="$KIND" -v n="$N" -v c="$conns" -v hz="$HZ" \
        -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v rss="$rss" -v tot="$total" -v fd="$maxfd" \
        -v em="$emfile" -v load="$load" -v smaps="$smaps" -v busy=$((b1 - b0)) -v tot_j=$((t1 - t0)) \
        -v on5="$(g on_time_5ms_pct)" -v on50="$(g on_time_50ms_pct)" -v p50="$(g late_p50_us)" \
        -v p99="$(g late_p99_us)" -v p999="$(g late_p999_us)" -v mx="$(g late_max_us)" \
        -v gaps="$(g gaps)" -v tg="$(g targets)" -v w="$(g window_s)" 'BEGIN {
        printf "%-4s %-4s N=%d checks=%d (%.0f/s, targets seen %d) on_time<=5ms %s%% <=50ms %s%% late p50 %sus p99 %sus p99.9 %sus max %sus gaps %s | user %.2fs sys %.2fs user/check %.1fus | checker RSS %.1f MB (%s), all processes %.1f MB, max fds %d, EMFILE lines %d | load %s, cores busy %.0f%%\n",
            impl, kind, n, c, c / (w > 0 ? w : 1), tg, on5, on50, p50, p99, p999, mx, gaps,
            u / hz, s / hz, (c > 0 ? u / hz / c * 1e6 : 0), rss / 1024, smaps, tot / 1024, fd, em,
            load, (tot_j > 0 ? 100 * busy / tot_j : 0) }'
    [ "$conns" -gt 0 ] || { echo "--- $impl log:"; tail -20 "$d/log"; tail -5 "$d/listen.out"; }
}

for impl in $ONLY; do run "$impl"; done
