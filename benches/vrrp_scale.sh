#!/bin/sh
# Issue #22 item 1: VRRP at scale, ours and the reference keepalived in the same run.
#
# N VRRPv3 instances (IPv4, one /32 VIP each, VRIDs 1..N/LINKS on each link, at most 255 per
# link) at ADVERT_MS on a master (priority 200) / backup (100) pair. Each of the two daemon
# namespaces has LINKS interfaces, link L on bridge L (bridges in a namespace of their own); a
# third namespace (the recorder) has one port on every bridge and runs benches/vrrp_rec (one
# AF_PACKET socket, kernel receive timestamps). With VMAC=1 every instance has its VMAC (macvlan
# "vm<L>_<VRID>"; adverts go out from it).
#
# For each daemon in IMPLS (default "ours ref", one after the other in the same lab): start
# backup and master (`keepalived -n -l -G -P`), wait until the master logged N "Entering MASTER
# STATE", then WARMUP s, then a window of WINDOW s. Over the window:
#   cpu_m / cpu_b   CPU (utime+stime of every process of the daemon: parent + VRRP worker, all
#                   threads; /proc/PID/stat) as % of one core, master / backup
#   us_adv_m/_b     that CPU time per advert the recorder saw in the window (sent by the
#                   master; received by the backup), in microseconds
#   chg_m / chg_b   "Entering ... STATE" log lines (state changes) in the window
#   the recorder's figures (see vrrp_rec.rs): adverts, gaps_over_2x, gap_p50/p99/max (gaps
#   between consecutive adverts of one router as multiples of ADVERT_MS), src_changes
#   (takeovers seen on the wire), missing (routers never seen)
#   load            the 1-minute load average at the end of the window
#
# Usage (root): benches/vrrp_scale.sh [N [ADVERT_MS [LINKS [WINDOW_S]]]]
#   defaults 250 10 1 30; e.g. `VMAC=1 benches/vrrp_scale.sh 1000 100 4 600`
# BIN=keepalived to test (default target/release/keepalived, built if missing); REF (default
# /usr/sbin/keepalived); OLD=another build of ours (impl "old", e.g. IMPLS="ours old ref");
# IMPLS="ours ref"; WARMUP=10; VMAC=0|1; PERF=1: `perf record -g` the
# backup over the window (perf.data files left in $PERF_DIR, default /tmp). LOGS=DIR: the
# daemons' logs are copied there after each round (<impl>-master.log, <impl>-backup.log).
# Issue #24's loaded director: HOG=K runs K CPU hogs (busy shell loops, ordinary priority) from
# the warm-up to the end of the window; EXTRA_GLOBAL="vrrp_rt_priority 50" adds that line to both
# daemons' global_defs (e.g. realtime scheduling). The recorder's gap figures are then the
# master's advert lateness under load:
#   HOG=6 benches/vrrp_scale.sh 20 100 1 30
#   HOG=6 EXTRA_GLOBAL="vrrp_rt_priority 50" benches/vrrp_scale.sh 20 100 1 30
set -eu
N=${1:-250}
ADVERT_MS=${2:-10}
LINKS=${3:-1}
WINDOW=${4:-30}
WARMUP=${WARMUP:-10}
VMAC=${VMAC:-0}
IMPLS=${IMPLS:-ours ref}
PERF=${PERF:-0}
PERF_DIR=${PERF_DIR:-/tmp}
LOGS=${LOGS:-}
HOG=${HOG:-0}
EXTRA_GLOBAL=${EXTRA_GLOBAL:-}
HOGS=""
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REF=${REF:-/usr/sbin/keepalived}
BIN=${BIN:-$ROOT/target/release/keepalived}
REC=${REC:-$ROOT/target/release/vrrp_rec}
[ -x "$BIN" ] || (cd "$ROOT" && cargo build -q --release -p keepalived)
[ -x "$REC" ] || (cd "$ROOT" && cargo build -q --release -p benches --bin vrrp_rec)
[ -x "$REF" ] || { echo "missing $REF (apt-get install keepalived)" >&2; exit 1; }
PER=$(( (N + LINKS - 1) / LINKS ))
[ "$PER" -le 255 ] || { echo "at most 255 instances per link: use more LINKS" >&2; exit 1; }
HZ=$(getconf CLK_TCK)
TAG=vs$$
NM=$TAG-m
NB=$TAG-b
NR=$TAG-r
NS=$TAG-s
WORK=$(mktemp -d)
chmod 755 "$WORK"
PIDS=""
cleanup() {
    for p in $PIDS $HOGS; do kill "$p" 2>/dev/null || true; done
    sleep 1
    for ns in $NM $NB $NR $NS; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

for ns in $NM $NB $NR $NS; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
done
L=0
while [ $L -lt $LINKS ]; do
    ip -n $NS link add br$L type bridge
    ip -n $NS link set br$L type bridge mcast_snooping 0
    ip -n $NS link set br$L up
    for h in m b r; do
        case $h in m) ns=$NM ;; b) ns=$NB ;; r) ns=$NR ;; esac
        ip -n $NS link add $h$L type veth peer name eth$L netns "$ns"
        ip -n $NS link set $h$L master br$L up
        ip -n "$ns" link set eth$L up
    done
    ip -n $NM addr add 10.$((100 + L)).0.1/16 dev eth$L
    ip -n $NB addr add 10.$((100 + L)).0.2/16 dev eth$L
    ip -n $NR addr add 10.$((100 + L)).0.3/16 dev eth$L
    L=$((L + 1))
done

# conf PRIORITY: the configuration (instances spread over the links)
conf() {
    adv=$(awk "BEGIN{printf \"%.2f\", $ADVERT_MS/1000}")
    echo "global_defs {"
    echo "  router_id $1"
    echo "  vrrp_garp_master_delay 0"
    echo "  vrrp_garp_master_repeat 1"
    [ -n "$EXTRA_GLOBAL" ] && echo "  $EXTRA_GLOBAL"
    echo "}"
    i=0
    while [ $i -lt $N ]; do
        l=$((i / PER))
        v=$((i % PER + 1))
        echo "vrrp_instance VI_${l}_$v {"
        echo "  interface eth$l"
        [ "$VMAC" = 1 ] && echo "  use_vmac vm${l}_$v"
        echo "  virtual_router_id $v"
        echo "  version 3"
        echo "  priority $1"
        echo "  advert_int $adv"
        echo "  virtual_ipaddress {"
        echo "    10.$((100 + l)).$((1 + v / 250)).$((v % 250 + 1))/32"
        echo "  }"
        echo "}"
        i=$((i + 1))
    done
}
conf 200 > "$WORK/master.conf"
conf 100 > "$WORK/backup.conf"

# tree_cpu PID: utime+stime (ticks) of PID and its descendants
tree_cpu() {
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
        {
            line = $0; sub(/^[0-9]+ \(.*\) /, "", line); split(line, f, " "); pid = $1
            ppid[pid] = f[2]; cpu[pid] = f[12] + f[13]
        }
        END {
            total = 0
            for (p in cpu) {
                q = p; n = 0
                while (q != "" && q != root && q != "0" && q != "1" && n < 20) { q = ppid[q]; n++ }
                if (q == root) total += cpu[p]
            }
            print total
        }'
}
tree_pids() {
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
        {
            line = $0; sub(/^[0-9]+ \(.*\) /, "", line); split(line, f, " "); pid = $1; ppid[pid] = f[2]
        }
        END {
            s = ""
            for (p in ppid) {
                q = p; n = 0
                while (q != "" && q != root && q != "0" && q != "1" && n < 20) { q = ppid[q]; n++ }
                if (q == root) s = s (s == "" ? "" : ",") p
            }
            print s
        }'
}
# Log lines: ours "VRRP_Instance(X) BACKUP -> MASTER (...)", keepalived "(X) Entering MASTER STATE".
UP_RE='Entering MASTER STATE\|) [A-Z]* -> MASTER ('
CHG_RE='Entering [A-Z]* STATE\|) [A-Z]* -> [A-Z]* ('
count() {
    c=$(grep -c "$1" "$2" 2>/dev/null) || true
    echo "${c:-0}"
}

echo "# N=$N advert=${ADVERT_MS}ms links=$LINKS vmac=$VMAC window=${WINDOW}s warmup=${WARMUP}s cpus=$(nproc) hogs=$HOG global='$EXTRA_GLOBAL'"
echo "# impl cpu_m% cpu_b% us_adv_m us_adv_b chg_m chg_b | recorder | load"
for impl in $IMPLS; do
    case $impl in ours) exe=$BIN ;; old) exe=$OLD ;; ref) exe=$REF ;; *) echo "unknown impl $impl" >&2; exit 1 ;; esac
    rm -f "$WORK"/*.log
    # Every pidfile of its own, per daemon and round (keepalived refuses to start when one
    # names a live process: a previous round's worker may still be releasing its VMACs).
    pb="-p $WORK/$impl-b.pid -r $WORK/$impl-b.vpid -c $WORK/$impl-b.cpid"
    pm="-p $WORK/$impl-m.pid -r $WORK/$impl-m.vpid -c $WORK/$impl-m.cpid"
    if [ "$impl" = ref ]; then pb="$pb -b $WORK/$impl-b.bpid"; pm="$pm -b $WORK/$impl-m.bpid"; fi
    ip netns exec $NB stdbuf -oL -eL "$exe" -n -l -G -P -f "$WORK/backup.conf" $pb \
        > "$WORK/b.log" 2>&1 &
    PB=$!
    ip netns exec $NM stdbuf -oL -eL "$exe" -n -l -G -P -f "$WORK/master.conf" $pm \
        > "$WORK/m.log" 2>&1 &
    PM=$!
    PIDS="$PB $PM"
    t=0
    while [ "$(count "$UP_RE" "$WORK/m.log")" -lt "$N" ]; do
        sleep 1
        t=$((t + 1))
        if [ $t -gt 180 ]; then
            echo "$impl: master not up after 180 s ($(count "$UP_RE" "$WORK/m.log")/$N)" >&2
            tail -5 "$WORK/m.log" >&2
            break
        fi
    done
    up_s=$t
    for p in $PB $PM; do
        if ! kill -0 $p 2>/dev/null; then
            echo "$impl: a daemon exited:" >&2
            tail -n 5 "$WORK/b.log" "$WORK/m.log" >&2
        fi
    done
    ip netns exec $NR "$REC" --interval-ms "$ADVERT_MS" --warmup "$WARMUP" --window "$WINDOW" \
        --expect "$N" > "$WORK/rec.out" 2>&1 &
    PR=$!
    h=0
    while [ $h -lt "$HOG" ]; do
        sh -c 'while :; do :; done' &
        HOGS="$HOGS $!"
        h=$((h + 1))
    done
    sleep "$WARMUP"
    cm0=$(tree_cpu $PM); cb0=$(tree_cpu $PB)
    sm0=$(count "$CHG_RE" "$WORK/m.log"); sb0=$(count "$CHG_RE" "$WORK/b.log")
    if [ "$PERF" = 1 ]; then
        perf record -q -g -o "$PERF_DIR/vrrp_scale.$impl.backup.perf.data" -p "$(tree_pids $PB)" \
            -- sleep "$WINDOW" > /dev/null 2>&1 &
        PP=$!
    fi
    sleep "$WINDOW"
    cm1=$(tree_cpu $PM); cb1=$(tree_cpu $PB)
    sm1=$(count "$CHG_RE" "$WORK/m.log"); sb1=$(count "$CHG_RE" "$WORK/b.log")
    load=$(cut -d' ' -f1 /proc/loadavg)
    [ "$PERF" = 1 ] && wait $PP 2>/dev/null || true
    wait $PR || true
    for p in $HOGS; do kill "$p" 2>/dev/null || true; done
    HOGS=""
    rec=$(cat "$WORK/rec.out")
    adv=$(echo "$rec" | sed -n 's/.*adverts=\([0-9]*\).*/\1/p')
    [ -n "$adv" ] && [ "$adv" -gt 0 ] || adv=1
    awk -v impl=$impl -v hz=$HZ -v w=$WINDOW -v cm=$((cm1 - cm0)) -v cb=$((cb1 - cb0)) -v adv=$adv \
        -v chm=$((sm1 - sm0)) -v chb=$((sb1 - sb0)) -v rec="$rec" -v load=$load -v up=$up_s 'BEGIN {
        printf "%-4s cpu_m=%.1f%% cpu_b=%.1f%% us_adv_m=%.2f us_adv_b=%.2f chg_m=%d chg_b=%d | %s | up=%ds load=%s\n",
            impl, 100 * cm / hz / w, 100 * cb / hz / w, 1e6 * cm / hz / adv, 1e6 * cb / hz / adv,
            chm, chb, rec, up, load }'
    kill $PM $PB 2>/dev/null || true
    if [ -n "$LOGS" ]; then
        mkdir -p "$LOGS"
        cp "$WORK/m.log" "$LOGS/$impl-master.log"
        cp "$WORK/b.log" "$LOGS/$impl-backup.log"
    fi
    t=0
    while { kill -0 $PM 2>/dev/null || kill -0 $PB 2>/dev/null; } && [ $t -lt 60 ]; do
        sleep 1
        t=$((t + 1))
    done
    kill -9 $PM $PB 2>/dev/null || true
    # The next round starts when nothing of this one is left in the daemons' namespaces.
    t=0
    while [ -n "$(ip netns pids $NM; ip netns pids $NB)" ] && [ $t -lt 30 ]; do
        sleep 1
        t=$((t + 1))
    done
    for ns in $NM $NB; do
        for p in $(ip netns pids "$ns"); do kill -9 "$p" 2>/dev/null || true; done
    done
    PIDS=""
    sleep 2
done
