#!/usr/bin/env bash
# Idle footprint: our keepalived vs the reference keepalived, same small VRRP config, same run.
# Three kinds of daemon: ours, ours with `krs_vip_lease off` (the same work as keepalived: no
# VIP-lease renewals) and the reference. COPIES daemons of each kind (default 3) run at once,
# each in its own fresh network namespace (a veth pair "eth0"/"eth1" inside it; VRRP adverts
# never leave the namespace) and each from its own copy of its binary (no daemon shares binary
# pages with another: PSS stays comparable). They are started interleaved and rotated
# (ours nolease ref, nolease ref ours, ref ours nolease, ...): on this kind of machine the
# daemon started first pays 1-2 ms/min more whatever it is (measured with the same binary in
# every slot), so no kind may always start first. Each becomes master after ~3 s. The window
# starts WARMUP seconds after the start (default 12: the steady state; WARMUP=3 includes the
# transition to master and its GARP bursts).
#
# With OLD=PATH a fourth kind runs too: another build of ours (e.g. an earlier commit, built
# with the same release profile) on the same configuration as "ours", for a same-run comparison.
#
# Prints, per daemon and per kind (mean, min, max over the copies), for all processes of a
# daemon: RSS and PSS (kB, /proc/PID/smaps_rollup) at the end, and the CPU used over the window
# as exact on-CPU milliseconds per minute of the live threads (schedstat).
#
#   sudo [WARMUP=S] [COPIES=N] [OLD=PATH] bins/keepalived/scripts/idle-footprint.sh [SECONDS] [OUR_BINARY]
set -euo pipefail
SECS=${1:-60}
OURS=${2:-$(cd "$(dirname "$0")/../../.." && pwd)/target/release/keepalived}
REF=/usr/sbin/keepalived
WARMUP=${WARMUP:-12}
COPIES=${COPIES:-3}
OLD=${OLD:-}
[ -x "$OURS" ] || { echo "build first: cargo build --release -p keepalived ($OURS)"; exit 2; }
[ -x "$REF" ] || { echo "reference keepalived not installed"; exit 2; }
[ -z "$OLD" ] || [ -x "$OLD" ] || { echo "OLD=$OLD is not an executable"; exit 2; }
TMP=$(mktemp -d /tmp/krs-footprint.XXXXXX)
KINDS=(ours nolease ref)
[ -z "$OLD" ] || KINDS+=(old)
NK=${#KINDS[@]}
DAEMONS=()
for ((c = 0; c < COPIES; c++)); do
    for ((k = 0; k < NK; k++)); do
        DAEMONS+=("${KINDS[$(((k + c) % NK))]}-$c")
    done
done
ns_of() { echo "krs-fp$$-$1"; }
cleanup() {
    for d in "${DAEMONS[@]}"; do
        [ -f "$TMP/$d/k.pid" ] && kill "$(cat "$TMP/$d/k.pid")" 2>/dev/null || true
    done
    sleep 3
    for d in "${DAEMONS[@]}"; do ip netns del "$(ns_of "$d")" 2>/dev/null || true; done
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
for d in "${DAEMONS[@]}"; do
    ns=$(ns_of "$d")
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$ns" link add eth0 type veth peer name eth1
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set eth1 up
    ip -n "$ns" addr add 10.0.0.1/24 dev eth0
done
for d in "${DAEMONS[@]}"; do
    mkdir -p "$TMP/$d"
    case $d in
        ours-*) cp "$OURS" "$TMP/$d/keepalived"; conf=$TMP/k.conf ;;
        nolease-*) cp "$OURS" "$TMP/$d/keepalived"; conf=$TMP/nolease.conf ;;
        ref-*) cp "$REF" "$TMP/$d/keepalived"; conf=$TMP/k.conf ;;
        old-*) cp "$OLD" "$TMP/$d/keepalived"; conf=$TMP/k.conf ;;
    esac
    TMPDIR="$TMP/$d" ip netns exec "$(ns_of "$d")" "$TMP/$d/keepalived" -n -G -f "$conf" \
        -p "$TMP/$d/k.pid" -r "$TMP/$d/v.pid" -c "$TMP/$d/c.pid" >/dev/null 2>&1 &
done
sleep "$WARMUP"
pids() { # all processes of a daemon: its parent and the parent's children
    local p; p=$(cat "$TMP/$1/k.pid")
    echo "$p" $(ps -o pid= --ppid "$p")
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
declare -A P N0
for d in "${DAEMONS[@]}"; do P[$d]=$(pids "$d"); N0[$d]=$(oncpu ${P[$d]}); done
sleep "$SECS"
declare -A N1
for d in "${DAEMONS[@]}"; do N1[$d]=$(oncpu ${P[$d]}); done
label() { case $1 in ours) echo ours ;; nolease) echo "ours (lease off)" ;; ref) echo reference ;; old) echo "ours (OLD build)" ;; esac; }
printf 'idle footprint over %ss after %ss (1 vrrp_instance; %s daemons of each kind, all processes of each)\n' \
    "$SECS" "$WARMUP" "$COPIES"
printf '%-20s %5s %6s %9s %9s %14s\n' daemon start procs RSS_kB PSS_kB on_CPU_ms/min
declare -A RS PS CS
i=0
for d in "${DAEMONS[@]}"; do
    i=$((i + 1))
    read -r R S <<<"$(mem ${P[$d]})"
    ms=$(echo "scale=2; (${N1[$d]}-${N0[$d]})*60/($SECS*1000000)" | bc)
    printf '%-20s %5s %6s %9s %9s %14s\n' "$(label "${d%-*}") #${d##*-}" "$i" \
        "$(echo ${P[$d]} | wc -w)" "$R" "$S" "$ms"
    k=${d%-*}
    RS[$k]="${RS[$k]:-} $R"; PS[$k]="${PS[$k]:-} $S"; CS[$k]="${CS[$k]:-} $ms"
done
stats() { # mean min max of the numbers given
    echo "$@" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1; s+=$1} END {printf "%.2f %.2f %.2f", s/NR, a[1], a[NR]}'
}
echo
printf '%-18s %-26s %-26s %-26s\n' kind "RSS_kB mean min max" "PSS_kB mean min max" "on_CPU_ms/min mean min max"
for k in "${KINDS[@]}"; do
    printf '%-18s %-26s %-26s %-26s\n' "$(label "$k")" "$(stats ${RS[$k]})" "$(stats ${PS[$k]})" "$(stats ${CS[$k]})"
done
