#!/usr/bin/env bash
# Idle footprint: our keepalived vs the reference keepalived, same small VRRP config, same run.
# Three daemons: ours, ours with `krs_vip_lease off` (the same work as keepalived: no VIP-lease
# renewals) and the reference. Each runs in its own fresh network namespace (a veth pair
# "eth0"/"eth1" inside it; VRRP adverts never leave the namespace) and becomes master after
# ~3 s. The window starts WARMUP seconds after the start (default 3: the window includes the
# transition to master and its GARP bursts; WARMUP=12 measures the steady state). Prints, for
# all processes of each daemon: RSS and PSS (kB, /proc/PID/smaps_rollup) at the end, and CPU
# used over the window: seconds of utime+stime (10 ms ticks) and exact on-CPU milliseconds of
# the live threads (schedstat).
#
#   sudo [WARMUP=S] bins/keepalived/scripts/idle-footprint.sh [SECONDS] [OUR_BINARY]
set -euo pipefail
SECS=${1:-60}
OURS=${2:-$(cd "$(dirname "$0")/../../.." && pwd)/target/release/keepalived}
REF=/usr/sbin/keepalived
[ -x "$OURS" ] || { echo "build first: cargo build --release -p keepalived ($OURS)"; exit 2; }
[ -x "$REF" ] || { echo "reference keepalived not installed"; exit 2; }
TMP=$(mktemp -d /tmp/krs-footprint.XXXXXX)
WARMUP=${WARMUP:-3}
NS_OURS=krs-fpo$$
NS_NOL=krs-fpn$$
NS_REF=krs-fpr$$
cleanup() {
    for d in ours nolease ref; do
        [ -f "$TMP/$d/k.pid" ] && kill "$(cat "$TMP/$d/k.pid")" 2>/dev/null || true
    done
    sleep 3
    ip netns del "$NS_OURS" 2>/dev/null || true
    ip netns del "$NS_NOL" 2>/dev/null || true
    ip netns del "$NS_REF" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
cat > "$TMP/k.conf" <<'CONF'
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.10/24
    }
}
CONF
{ printf 'global_defs {\n    krs_vip_lease off\n}\n'; cat "$TMP/k.conf"; } > "$TMP/nolease.conf"
for ns in "$NS_OURS" "$NS_NOL" "$NS_REF"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$ns" link add eth0 type veth peer name eth1
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set eth1 up
    ip -n "$ns" addr add 10.0.0.1/24 dev eth0
done
start() { # name ns binary conf
    mkdir -p "$TMP/$1"
    TMPDIR="$TMP/$1" ip netns exec "$2" "$3" -n -G -f "$4" \
        -p "$TMP/$1/k.pid" -r "$TMP/$1/v.pid" -c "$TMP/$1/c.pid" >/dev/null 2>&1 &
}
start ours "$NS_OURS" "$OURS" "$TMP/k.conf"
# A copy of the binary, so the two daemons of ours share no pages (PSS stays comparable).
cp "$OURS" "$TMP/keepalived-nolease"
start nolease "$NS_NOL" "$TMP/keepalived-nolease" "$TMP/nolease.conf"
start ref "$NS_REF" "$REF" "$TMP/k.conf"
sleep "$WARMUP"
pids() { # all processes of a daemon: its parent and the parent's children
    local p; p=$(cat "$TMP/$1/k.pid")
    echo "$p" $(ps -o pid= --ppid "$p")
}
cpu() { # clock ticks used by the given pids
    local t=0 f
    for p in "$@"; do
        f=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null) || continue
        set -- $f
        t=$((t + ${12} + ${13}))
    done
    echo $t
}
oncpu() { # nanoseconds on CPU of the given pids' live threads (/proc/PID/task/*/schedstat: exact,
           # unlike the 10 ms ticks of utime/stime)
    local t=0 f
    for p in "$@"; do
        for f in /proc/"$p"/task/*/schedstat; do
            t=$((t + $(cut -d' ' -f1 "$f" 2>/dev/null || echo 0)))
        done
    done
    echo $t
}
mem() { # kB: RSS PSS summed
    local r=0 s=0
    for p in "$@"; do
        r=$((r + $(awk '/^Rss:/{print $2}' "/proc/$p/smaps_rollup")))
        s=$((s + $(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup")))
    done
    echo "$r $s"
}
HZ=$(getconf CLK_TCK)
NAMES="ours nolease ref"
declare -A P C0 N0
for d in $NAMES; do P[$d]=$(pids $d); C0[$d]=$(cpu ${P[$d]}); N0[$d]=$(oncpu ${P[$d]}); done
sleep "$SECS"
printf 'idle footprint over %ss after %ss (1 vrrp_instance, all processes of each daemon)\n' "$SECS" "$WARMUP"
printf '%-18s %6s %10s %10s %12s %14s\n' daemon procs RSS_kB PSS_kB CPU_s on_CPU_ms
for d in $NAMES; do
    C1=$(cpu ${P[$d]}); N1=$(oncpu ${P[$d]})
    read -r R S <<<"$(mem ${P[$d]})"
    case $d in ours) label=ours ;; nolease) label="ours (lease off)" ;; ref) label=reference ;; esac
    printf '%-18s %6s %10s %10s %12s %14s\n' "$label" "$(echo ${P[$d]} | wc -w)" "$R" "$S" \
        "$(echo "scale=3; ($C1-${C0[$d]})/$HZ" | bc)" \
        "$(echo "scale=1; ($N1-${N0[$d]})/1000000" | bc)"
done
