#!/usr/bin/env bash
# Idle footprint: our keepalived vs the reference keepalived, same small VRRP config, same run.
# Each daemon runs in its own fresh network namespace (a veth pair "eth0"/"eth1" inside it; VRRP
# adverts never leave the namespace). Prints, for all processes of each daemon: RSS and PSS
# (kB, /proc/PID/smaps_rollup) at the end, and CPU used over the window: seconds of utime+stime
# (10 ms ticks) and exact on-CPU milliseconds of the live threads (schedstat).
#
#   sudo bins/keepalived/scripts/idle-footprint.sh [SECONDS] [OUR_BINARY]
set -euo pipefail
SECS=${1:-60}
OURS=${2:-$(cd "$(dirname "$0")/../../.." && pwd)/target/release/keepalived}
REF=/usr/sbin/keepalived
[ -x "$OURS" ] || { echo "build first: cargo build --release -p keepalived ($OURS)"; exit 2; }
[ -x "$REF" ] || { echo "reference keepalived not installed"; exit 2; }
TMP=$(mktemp -d /tmp/krs-footprint.XXXXXX)
NS_OURS=krs-fpo$$
NS_REF=krs-fpr$$
cleanup() {
    for d in ours ref; do
        [ -f "$TMP/$d/k.pid" ] && kill "$(cat "$TMP/$d/k.pid")" 2>/dev/null || true
    done
    sleep 1
    ip netns del "$NS_OURS" 2>/dev/null || true
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
for ns in "$NS_OURS" "$NS_REF"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$ns" link add eth0 type veth peer name eth1
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set eth1 up
    ip -n "$ns" addr add 10.0.0.1/24 dev eth0
done
start() { # name ns binary
    mkdir -p "$TMP/$1"
    TMPDIR="$TMP/$1" ip netns exec "$2" "$3" -n -G -f "$TMP/k.conf" \
        -p "$TMP/$1/k.pid" -r "$TMP/$1/v.pid" -c "$TMP/$1/c.pid" >/dev/null 2>&1 &
}
start ours "$NS_OURS" "$OURS"
start ref "$NS_REF" "$REF"
sleep 3
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
P_OURS=$(pids ours); P_REF=$(pids ref)
C0_OURS=$(cpu $P_OURS); C0_REF=$(cpu $P_REF)
N0_OURS=$(oncpu $P_OURS); N0_REF=$(oncpu $P_REF)
sleep "$SECS"
C1_OURS=$(cpu $P_OURS); C1_REF=$(cpu $P_REF)
N1_OURS=$(oncpu $P_OURS); N1_REF=$(oncpu $P_REF)
read -r R_OURS S_OURS <<<"$(mem $P_OURS)"
read -r R_REF S_REF <<<"$(mem $P_REF)"
printf 'idle footprint over %ss (1 vrrp_instance, all processes of each daemon)\n' "$SECS"
printf '%-10s %6s %10s %10s %12s %14s\n' daemon procs RSS_kB PSS_kB CPU_s on_CPU_ms
printf '%-10s %6s %10s %10s %12s %14s\n' ours "$(echo $P_OURS | wc -w)" "$R_OURS" "$S_OURS" \
    "$(echo "scale=3; ($C1_OURS-$C0_OURS)/$HZ" | bc)" \
    "$(echo "scale=1; ($N1_OURS-$N0_OURS)/1000000" | bc)"
printf '%-10s %6s %10s %10s %12s %14s\n' reference "$(echo $P_REF | wc -w)" "$R_REF" "$S_REF" \
    "$(echo "scale=3; ($C1_REF-$C0_REF)/$HZ" | bc)" \
    "$(echo "scale=1; ($N1_REF-$N0_REF)/1000000" | bc)"
